// The colour theme: "light", "dark", or no choice (follow the system's preference, which base.css
// reads with prefers-color-scheme). Loaded in <head> without defer, so the remembered choice is on
// <html data-theme> before the first paint and the page never flashes the other palette; it is a
// file because the Content-Security-Policy allows no inline script.
"use strict";

(function () {
  const KEY = "floniks-theme";
  const CHOICES = ["system", "light", "dark"]; // the order the toggle cycles through
  const root = document.documentElement;

  function remembered() {
    try {
      const value = window.localStorage.getItem(KEY);
      return value === "light" || value === "dark" ? value : "system";
    } catch (e) {
      return "system"; // storage refused (privacy settings): follow the system
    }
  }

  function apply(choice) {
    if (choice === "system") delete root.dataset.theme;
    else root.dataset.theme = choice;
  }

  function remember(choice) {
    try {
      if (choice === "system") window.localStorage.removeItem(KEY);
      else window.localStorage.setItem(KEY, choice);
    } catch (e) {
      // Not remembered; the choice still holds on this page.
    }
  }

  let current = remembered();
  apply(current);

  // <button data-theme-toggle>: the next choice. The listener sits on the document, since the
  // button does not exist yet while this runs.
  document.addEventListener("click", (e) => {
    const button = e.target instanceof Element ? e.target.closest("[data-theme-toggle]") : null;
    if (!button) return;
    current = CHOICES[(CHOICES.indexOf(current) + 1) % CHOICES.length];
    remember(current);
    apply(current);
  });

  // A choice made in another tab applies here too.
  window.addEventListener("storage", (e) => {
    if (e.key === KEY || e.key === null) {
      current = remembered();
      apply(current);
    }
  });
})();
