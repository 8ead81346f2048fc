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

  // <form data-compare-picker>: its submit button is enabled only with exactly two ticked records.
  function countPicked(picker) {
    const n = picker.querySelectorAll("input[name=r]:checked").length;
    const submit = picker.querySelector("[data-compare-submit]");
    const hint = picker.querySelector("[data-compare-hint]");
    if (submit) submit.disabled = n !== 2;
    if (hint) hint.textContent = n === 2 ? "" : `Tick exactly two records (${n} ticked).`;
  }

  // <textarea id="x" data-limit="N"> with <… data-counts="x">: "n / N" as you type, marked .over past N.
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
})();
