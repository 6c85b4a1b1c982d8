// Header search. `/` anywhere (outside a field or an open dialog) puts the cursor in the box.
// Enter: one client matches → their card opens; several or none → the client list for what was
// typed (a result still on its way is waited for). ↓ from the box moves into the results, ↑/↓
// move between them, Esc closes. "Quick add" under a search that found nobody opens the walk-in
// dialog (static/js/dialogs.js) with what was typed, where the header offers it.
(function () {
  "use strict";
  const box = document.getElementById("header-search");
  const results = document.getElementById("header-search-results");
  if (!box || !results) return;
  const items = () => Array.from(results.querySelectorAll("a.search-result"));
  const matches = () => Array.from(results.querySelectorAll("a.search-result[data-customer]"));

  // Which query the shown results answer (the box keeps typing while a request is out).
  let sentQ = null;
  let shownQ = null;
  let enterPending = false;
  box.addEventListener("htmx:configRequest", () => { sentQ = box.value.trim(); });
  results.addEventListener("htmx:afterSettle", () => {
    shownQ = sentQ;
    if (enterPending) enter();
  });

  function enter() {
    const q = box.value.trim();
    if (shownQ !== q || box.classList.contains("htmx-request")) {
      enterPending = true;
      if (!box.classList.contains("htmx-request")) htmx.trigger(box, "search");
      return;
    }
    enterPending = false;
    const found = matches();
    if (found.length === 1) window.location.href = found[0].href;
    else box.form.requestSubmit();
  }

  box.addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown" && items().length) { e.preventDefault(); items()[0].focus(); }
    if (e.key === "Escape") { results.innerHTML = ""; }
    if (e.key === "Enter" && box.value.trim()) { e.preventDefault(); enter(); }
  });
  results.addEventListener("keydown", (e) => {
    const list = items();
    const i = list.indexOf(document.activeElement);
    if (e.key === "ArrowDown" && i < list.length - 1) { e.preventDefault(); list[i + 1].focus(); }
    if (e.key === "ArrowUp") { e.preventDefault(); (i > 0 ? list[i - 1] : box).focus(); }
    if (e.key === "Escape") { results.innerHTML = ""; box.focus(); }
  });
  results.addEventListener("click", (e) => {
    const link = e.target.closest("#search-quick-add");
    const walkIn = document.querySelector("#quick-add-button[data-dialog-url]");
    if (!link || !walkIn || !window.salonDialog) return;
    e.preventDefault();
    const typed = new URL(link.href, window.location.href).searchParams.get("name") || "";
    results.innerHTML = "";
    window.salonDialog.open(walkIn.dataset.dialogUrl + "?name=" + encodeURIComponent(typed));
  });
  document.addEventListener("click", (e) => {
    if (!results.contains(e.target) && e.target !== box) results.innerHTML = "";
  });
  document.addEventListener("keydown", (e) => {
    if (e.key !== "/" || e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented) return;
    const t = e.target;
    if (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName)) return;
    if (document.querySelector(".modal.show, dialog[open]")) return;
    e.preventDefault();
    box.focus();
    box.select();
  });
})();
