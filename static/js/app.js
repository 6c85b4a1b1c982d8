// Behaviour and computed styles for every page. The Content-Security-Policy allows no inline
// script, no on*= handler and no style="" attribute, so the markup states its intent in data
// attributes and this file acts on them:
//   data-autosubmit          a <select> or <input>: submit its form when it changes
//   data-confirm="question"  a <form>: ask before submitting
//   data-print               a button: print the page
//   data-close-dialog        a button inside a <dialog>: remove the dialog
//   data-bg="#1a2b3c"        background colour (tag badges, stylist swatches); a badge's text
//                            turns black or white, whichever contrasts more with it (>= 4.5:1)
//   data-staff-colour="#…"   the --staff custom property (calendar column, week, my day)
//   data-top / data-height   absolute position in CSS px (calendar blocks and shading)
// Styles are set through element.style (CSSOM), which CSP permits; a value the browser cannot
// parse is simply ignored, so a stored colour can never smuggle in other CSS.
(function () {
  "use strict";

  function each(root, selector, fn) {
    if (root.nodeType !== 1 && root.nodeType !== 9) return;
    if (root.matches && root.matches(selector)) fn(root);
    const found = root.querySelectorAll(selector);
    for (let i = 0; i < found.length; i++) fn(found[i]);
  }

  // WCAG relative luminance of a computed "rgb(r, g, b)" colour; null if it is not one.
  function luminance(rgb) {
    const m = /^rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(rgb);
    if (!m) return null;
    const c = [m[1], m[2], m[3]].map(function (v) {
      const x = v / 255;
      return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  }

  // A stored tag colour may be pale (gold, pink): white text on it would be unreadable.
  function readableText(el) {
    if (!el.textContent.trim()) return;
    const l = luminance(getComputedStyle(el).backgroundColor);
    if (l === null) return;
    el.style.color = (l + 0.05) / 0.05 >= 1.05 / (l + 0.05) ? "#000" : "#fff";
  }

  function paint(root) {
    each(root, "[data-top]", function (el) {
      el.style.top = el.dataset.top + "px";
      el.style.height = el.dataset.height + "px";
    });
    each(root, "[data-bg]", function (el) {
      el.style.backgroundColor = el.dataset.bg;
      readableText(el);
    });
    each(root, "[data-staff-colour]", function (el) { el.style.setProperty("--staff", el.dataset.staffColour); });
  }

  paint(document);
  // htmx fires afterSwap synchronously, before the browser paints the new content (htmx:load
  // comes ~20 ms later, after settling, which would show unplaced blocks for a frame).
  document.addEventListener("htmx:afterSwap", function (event) { paint(event.target); });
  document.addEventListener("htmx:oobAfterSwap", function (event) { paint(event.target); });

  document.addEventListener("change", function (event) {
    const el = event.target;
    if (el.matches && el.matches("[data-autosubmit]") && el.form) el.form.submit();
  });
  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (form.matches && form.matches("[data-confirm]") && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });
  document.addEventListener("click", function (event) {
    if (!event.target.closest) return;
    if (event.target.closest("[data-print]")) window.print();
    const closer = event.target.closest("[data-close-dialog]");
    if (closer && closer.closest("dialog")) closer.closest("dialog").remove();
  });
})();
