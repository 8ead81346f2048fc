// Floniks page behaviour, wired by data attributes. The Content-Security-Policy allows no inline
// script or on*= handler, so everything a page does in the browser besides htmx lives here.
// Listeners sit on the document, so content htmx swaps in later works without re-wiring.
"use strict";

(function () {
  // <select data-reload-with="version">: choosing reloads the page with ?version=<value>.
  function reloadWith(select) {
    const query = new URLSearchParams({ [select.dataset.reloadWith]: select.value });
    window.location.search = "?" + query.toString();
  }

  // <input type="file" data-preview="img-id">: show the chosen image before uploading it.
  function preview(input) {
    const img = document.getElementById(input.dataset.preview);
    if (!img) return;
    if (img.dataset.objectUrl) URL.revokeObjectURL(img.dataset.objectUrl);
    const file = input.files && input.files[0];
    if (!file) {
      img.hidden = true;
      img.removeAttribute("src");
      return;
    }
    img.dataset.objectUrl = URL.createObjectURL(file); // a blob: URL, allowed by img-src
    img.src = img.dataset.objectUrl;
    img.hidden = false;
  }

  // <form data-compare-picker>: its submit button is enabled only with two to four ticked records
  // (the compare page shows at most four).
  function countPicked(picker) {
    const n = picker.querySelectorAll("input[name=r]:checked").length;
    const fits = n >= 2 && n <= 4;
    const submit = picker.querySelector("[data-compare-submit]");
    const hint = picker.querySelector("[data-compare-hint]");
    if (submit) submit.disabled = !fits;
    if (hint) hint.textContent = fits ? "" : `Tick two to four records (${n} ticked).`;
  }

  // <textarea or input id="x" data-limit="N"> with <… data-counts="x">: "n / N" as you type, marked .over past N.
  // Counted in code points after dropping the ends' whitespace, as the server counts (Python's len of
  // the stripped text).
  const numbers = new Intl.NumberFormat("en");
  function count(field) {
    const counter = document.querySelector(`[data-counts="${field.id}"]`);
    if (!counter) return;
    const n = Array.from(field.value.trim()).length;
    const limit = Number(field.dataset.limit);
    counter.textContent = `${numbers.format(n)} / ${numbers.format(limit)}`;
    counter.classList.toggle("over", n > limit);
  }
  function countAll(root) {
    root.querySelectorAll("[data-limit]").forEach(count);
  }
  document.addEventListener("DOMContentLoaded", () => countAll(document));
  // htmx:load fires for every piece of content htmx swaps in (a refused form comes back this way).
  document.addEventListener("htmx:load", (e) => {
    if (e.target instanceof Element) countAll(e.target);
  });
  document.addEventListener("input", (e) => {
    if (e.target instanceof HTMLElement && e.target.matches("[data-limit]")) count(e.target);
  });

  document.addEventListener("change", (e) => {
    const target = e.target;
    if (!(target instanceof HTMLElement)) return;
    if (target.matches("select[data-reload-with]")) reloadWith(target);
    else if (target.matches("input[type=file][data-preview]")) preview(target);
    else if (target.matches("input[type=file][data-submit-on-choose]")) target.form?.requestSubmit();
    else if (target.matches("input[name=r]")) {
      const picker = target.closest("[data-compare-picker]");
      if (picker) countPicked(picker);
    }
  });

  // <button data-copy="text">: puts the text on the clipboard (a record's full sha256), says so briefly.
  document.addEventListener("click", (e) => {
    const button = e.target instanceof HTMLElement ? e.target.closest("button[data-copy]") : null;
    if (!button || !navigator.clipboard) return;
    navigator.clipboard.writeText(button.dataset.copy).then(() => {
      const word = button.textContent;
      button.textContent = "copied";
      setTimeout(() => { button.textContent = word; }, 1200);
    });
  });

  // The compare page's wipe and overlay: <input type=range data-wipe> inside [data-wipe-box] sets
  // --wipe (where the divider is, 0-100%), <input type=range data-overlay> inside [data-overlay-box]
  // sets --overlay (the top image's opacity, 0-1); base.css draws the clip and the opacity from them.
  // element.style.setProperty is CSSOM, which the CSP allows (a style= attribute it would refuse).
  function slide(input) {
    if (input.matches("[data-wipe]")) {
      input.closest("[data-wipe-box]")?.style.setProperty("--wipe", `${Number(input.value)}%`);
    } else if (input.matches("[data-overlay]")) {
      input.closest("[data-overlay-box]")?.style.setProperty("--overlay", String(Number(input.value) / 100));
    }
  }
  function slideAll(root) {
    root.querySelectorAll("input[data-wipe], input[data-overlay]").forEach(slide);
  }
  // A slider's value survives Back and a reload; the picture follows it.
  document.addEventListener("DOMContentLoaded", () => slideAll(document));
  window.addEventListener("pageshow", () => slideAll(document));
  document.addEventListener("input", (e) => {
    if (e.target instanceof HTMLInputElement && e.target.matches("[data-wipe], [data-overlay]")) slide(e.target);
  });
  // Dragging on the wiped image moves the divider too: the slider follows the pointer.
  function dragTo(layers, e) {
    const slider = layers.closest("[data-wipe-box]")?.querySelector("input[data-wipe]");
    const box = layers.getBoundingClientRect();
    if (!slider || box.width === 0) return;
    slider.value = String(Math.round(Math.min(100, Math.max(0, ((e.clientX - box.left) / box.width) * 100))));
    slide(slider);
  }
  document.addEventListener("pointerdown", (e) => {
    const layers = e.target instanceof Element ? e.target.closest("[data-wipe-drag]") : null;
    if (!layers) return;
    e.preventDefault(); // no image drag-and-drop
    layers.setPointerCapture(e.pointerId);
    dragTo(layers, e);
  });
  document.addEventListener("pointermove", (e) => {
    const layers = e.target instanceof Element ? e.target.closest("[data-wipe-drag]") : null;
    if (layers && layers.hasPointerCapture(e.pointerId)) dragTo(layers, e);
  });

  // <form data-warn-unsaved>: warn before leaving with edits that were neither saved nor published.
  let dirty = null;
  document.addEventListener("input", (e) => {
    const form = e.target instanceof HTMLElement ? e.target.closest("form[data-warn-unsaved]") : null;
    if (form) dirty = form;
  });
  document.addEventListener("submit", (e) => {
    if (dirty && e.target === dirty) dirty = null;
  });
  window.addEventListener("beforeunload", (e) => {
    if (dirty && document.body.contains(dirty)) {
      e.preventDefault();
      e.returnValue = "";
    }
  });

  // <form data-drop-zone> with a file input: a file dropped anywhere on it is put in the input and
  // the form submitted (htmx sends it when the form says hx-post).
  function dropZone(e) {
    return e.target instanceof Element ? e.target.closest("form[data-drop-zone]") : null;
  }
  ["dragenter", "dragover"].forEach((type) =>
    document.addEventListener(type, (e) => {
      const zone = dropZone(e);
      if (!zone) return;
      e.preventDefault(); // without this the browser opens the file instead of dropping it here
      zone.classList.add("dragging");
    }),
  );
  document.addEventListener("dragleave", (e) => dropZone(e)?.classList.remove("dragging"));
  document.addEventListener("drop", (e) => {
    const zone = dropZone(e);
    if (!zone || !e.dataTransfer || !e.dataTransfer.files.length) return;
    e.preventDefault();
    zone.classList.remove("dragging");
    const input = zone.querySelector("input[type=file]");
    if (!input) return;
    input.files = e.dataTransfer.files;
    zone.requestSubmit();
  });
})();
