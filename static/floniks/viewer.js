// The full-screen image viewer. An image marked <img data-viewer data-full="<original URL>"
// [data-caption="…"]> opens, on click (or Enter), its original in a modal <dialog>: zoom with the
// buttons, + and - (0 fits), the mouse wheel or a double click (fit ↔ 100 %); drag to pan when
// zoomed; ← and → go to the previous and next marked image of the page; Escape closes.
// No inline script or style may run (Content-Security-Policy): the dialog is built here, its look is
// in base.css, and sizes are set through the CSSOM (element.style), which the policy allows.
// Listeners sit on the document, so images htmx swaps in later open too.
"use strict";

(function () {
  const STEP = 1.25; // one zoom step: +25 %
  const MOST = 8; // 800 %: beyond, pixels are only bigger squares
  const SELECTOR = "img[data-viewer]";

  let dialog = null;
  let parts = null;
  let images = []; // the marked images of the page when the viewer opened, in page order
  let index = 0;
  let opener = null; // focus goes back to the image that opened the viewer
  // scale null = fit the screen (never enlarged past 100 %); x, y = pan offset in CSS pixels.
  const view = { scale: null, x: 0, y: 0 };
  let drag = null;

  function button(label, title, action) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "ghost small";
    b.textContent = label;
    b.title = title;
    b.setAttribute("aria-label", title);
    b.dataset.viewerAction = action;
    return b;
  }

  function build() {
    dialog = document.createElement("dialog");
    dialog.className = "viewer";
    dialog.dataset.testid = "viewer";
    dialog.setAttribute("aria-label", "Image viewer");
    const bar = document.createElement("div");
    bar.className = "viewer-bar";
    const caption = document.createElement("span");
    caption.className = "viewer-caption";
    const position = document.createElement("span");
    position.className = "viewer-position";
    position.dataset.testid = "viewer-position";
    const zoom = document.createElement("span");
    zoom.className = "viewer-zoom";
    zoom.dataset.testid = "viewer-zoom";
    const original = document.createElement("a");
    original.className = "button ghost small";
    original.textContent = "Original";
    original.title = "Open the original in a new tab";
    original.target = "_blank";
    original.rel = "noopener";
    original.dataset.testid = "viewer-original";
    const tools = document.createElement("div");
    tools.className = "viewer-tools";
    tools.append(
      button("←", "Previous image (←)", "previous"),
      button("→", "Next image (→)", "next"),
      button("−", "Zoom out (-)", "out"),
      zoom,
      button("+", "Zoom in (+)", "in"),
      button("Fit", "Fit the screen (0)", "fit"),
      button("100 %", "Actual size", "actual"),
      original,
      button("✕", "Close (Escape)", "close"),
    );
    // The dialog focuses its autofocus element when it opens: the close button, not "previous".
    tools.lastElementChild.autofocus = true;
    bar.append(caption, position, tools);
    const stage = document.createElement("div");
    stage.className = "viewer-stage";
    const img = document.createElement("img");
    img.className = "viewer-image";
    img.draggable = false;
    img.dataset.testid = "viewer-image";
    stage.append(img);
    dialog.append(bar, stage);
    document.body.append(dialog);
    parts = { caption, position, zoom, original, stage, img };

    dialog.addEventListener("click", (e) => {
      const action = e.target instanceof Element && e.target.closest("[data-viewer-action]");
      if (action) act(action.dataset.viewerAction);
    });
    dialog.addEventListener("keydown", onKey);
    dialog.addEventListener("close", () => {
      parts.img.removeAttribute("src");
      if (opener && opener.isConnected) opener.focus();
      opener = null;
    });
    img.addEventListener("load", () => render());
    stage.addEventListener("wheel", onWheel, { passive: false });
    stage.addEventListener("dblclick", (e) => {
      if (e.target === img) act(zoomedIn() ? "fit" : "actual");
    });
    img.addEventListener("pointerdown", startDrag);
    img.addEventListener("pointermove", moveDrag);
    img.addEventListener("pointerup", endDrag);
    img.addEventListener("pointercancel", endDrag);
    window.addEventListener("resize", () => {
      if (dialog.open) render();
    });
  }

  function natural() {
    return { w: parts.img.naturalWidth || 1, h: parts.img.naturalHeight || 1 };
  }

  function fitScale() {
    const { w, h } = natural();
    const box = parts.stage.getBoundingClientRect();
    return Math.min(1, box.width / w, box.height / h);
  }

  function scale() {
    return view.scale === null ? fitScale() : view.scale;
  }

  function zoomedIn() {
    return view.scale !== null && view.scale > fitScale() + 1e-6;
  }

  // Keep the image over the stage: no panning past its edges, none at all when it fits.
  function clamp() {
    const { w, h } = natural();
    const s = scale();
    const box = parts.stage.getBoundingClientRect();
    const maxX = Math.max(0, (w * s - box.width) / 2);
    const maxY = Math.max(0, (h * s - box.height) / 2);
    view.x = Math.min(maxX, Math.max(-maxX, view.x));
    view.y = Math.min(maxY, Math.max(-maxY, view.y));
  }

  function render() {
    if (!parts.img.complete || !parts.img.naturalWidth) return;
    const { w, h } = natural();
    const s = scale();
    clamp();
    parts.img.style.width = `${w * s}px`;
    parts.img.style.height = `${h * s}px`;
    parts.img.style.transform = `translate(${view.x}px, ${view.y}px)`;
    parts.img.classList.toggle("pannable", zoomedIn());
    parts.zoom.textContent = `${Math.round(s * 100)} %`;
  }

  // Zoom to `next` (a scale, or null to fit) keeping the point under (px, py) — relative to the
  // stage's centre — where it is, so the wheel zooms towards the pointer.
  function zoomTo(next, px = 0, py = 0) {
    const before = scale();
    const fit = fitScale();
    let target = next === null ? fit : Math.min(MOST, Math.max(fit, next));
    if (Math.abs(target - fit) < 1e-6) target = fit;
    const ratio = target / before;
    view.x = px - (px - view.x) * ratio;
    view.y = py - (py - view.y) * ratio;
    view.scale = target === fit ? null : target;
    render();
  }

  function show(i) {
    index = (i + images.length) % images.length;
    const source = images[index];
    view.scale = null;
    view.x = 0;
    view.y = 0;
    parts.img.style.width = "";
    parts.img.style.height = "";
    parts.img.style.transform = "";
    const full = source.dataset.full || source.currentSrc || source.src;
    parts.img.alt = source.alt || "";
    parts.img.src = full;
    parts.original.href = full;
    parts.caption.textContent = source.dataset.caption || source.alt || "";
    parts.position.textContent = images.length > 1 ? `${index + 1} / ${images.length}` : "";
    dialog.querySelectorAll('[data-viewer-action="previous"], [data-viewer-action="next"]').forEach((b) => {
      b.hidden = images.length < 2;
    });
    render();
  }

  function open(source) {
    if (!dialog) build();
    images = Array.from(document.querySelectorAll(SELECTOR)).filter((el) => el.closest("dialog") === null);
    opener = source;
    if (!dialog.open) dialog.showModal();
    show(Math.max(0, images.indexOf(source)));
  }

  function act(action) {
    switch (action) {
      case "previous":
        if (images.length > 1) show(index - 1);
        break;
      case "next":
        if (images.length > 1) show(index + 1);
        break;
      case "in":
        zoomTo(scale() * STEP);
        break;
      case "out":
        zoomTo(scale() / STEP);
        break;
      case "fit":
        zoomTo(null);
        break;
      case "actual":
        zoomTo(1);
        break;
      case "close":
        dialog.close();
        break;
    }
  }

  const KEYS = { ArrowLeft: "previous", ArrowRight: "next", "+": "in", "=": "in", "-": "out", _: "out", 0: "fit" };
  function onKey(e) {
    // Escape is the dialog's own (its cancel event closes it); arrows in a focused link stay ours too.
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    const action = KEYS[e.key];
    if (!action) return;
    e.preventDefault();
    act(action);
  }

  function onWheel(e) {
    e.preventDefault();
    const box = parts.stage.getBoundingClientRect();
    const px = e.clientX - box.left - box.width / 2;
    const py = e.clientY - box.top - box.height / 2;
    zoomTo(e.deltaY < 0 ? scale() * STEP : scale() / STEP, px, py);
  }

  function startDrag(e) {
    if (!zoomedIn() || e.button !== 0) return;
    e.preventDefault();
    drag = { id: e.pointerId, x: e.clientX - view.x, y: e.clientY - view.y };
    parts.img.setPointerCapture(e.pointerId);
    parts.img.classList.add("dragging");
  }

  function moveDrag(e) {
    if (!drag || e.pointerId !== drag.id) return;
    view.x = e.clientX - drag.x;
    view.y = e.clientY - drag.y;
    render();
  }

  function endDrag(e) {
    if (!drag || e.pointerId !== drag.id) return;
    drag = null;
    parts.img.classList.remove("dragging");
  }

  function viewable(target) {
    return target instanceof Element ? target.closest(SELECTOR) : null;
  }

  document.addEventListener("click", (e) => {
    const source = viewable(e.target);
    // A click with a modifier keeps its usual meaning (a new tab for an image inside a link).
    if (!source || e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    open(source);
  });
  document.addEventListener("keydown", (e) => {
    const source = viewable(e.target);
    if (source && (e.key === "Enter" || e.key === " ")) {
      e.preventDefault();
      open(source);
    }
  });

  // Make each marked image reachable from the keyboard and say what it does.
  function mark(root) {
    const found = Array.from(root.querySelectorAll(SELECTOR));
    if (root instanceof Element && root.matches(SELECTOR)) found.push(root);
    found.forEach((img) => {
      if (!img.hasAttribute("tabindex")) img.tabIndex = 0;
      if (!img.title) img.title = "View full screen";
    });
  }
  document.addEventListener("DOMContentLoaded", () => mark(document));
  document.addEventListener("htmx:load", (e) => {
    if (e.target instanceof Element) mark(e.target);
  });
})();
