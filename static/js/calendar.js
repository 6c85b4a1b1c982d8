// Day calendar: a click on an empty slot opens the booking dialog (one delegated listener, so
// a full day of slots costs no per-cell handlers); the shared dialog opens when htmx fills it
// and closes when the server answers with the "closeDialog" trigger.
(function () {
  "use strict";
  const dialogEl = document.getElementById("dialog");
  if (!dialogEl) return;
  const dialog = bootstrap.Modal.getOrCreateInstance(dialogEl);

  document.addEventListener("click", function (event) {
    const slot = event.target.closest(".cal-slot");
    if (!slot) return;
    const column = slot.closest(".cal-col");
    const grid = slot.closest("[data-book-url]");
    if (!grid.dataset.bookUrl) return;  // this role may not book
    const params = new URLSearchParams({ date: grid.dataset.date, time: slot.dataset.time, staff: column.dataset.staff });
    if (grid.dataset.customer) params.set("customer", grid.dataset.customer);
    htmx.ajax("GET", grid.dataset.bookUrl + "?" + params.toString(), { target: "#dialog-content" });
  });

  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target.id === "dialog-content") dialog.show();
  });
  document.body.addEventListener("closeDialog", function () { dialog.hide(); });
  // A closed dialog leaves nothing behind (no stale form answering to ids later). Cleared in the
  // next task: the modal has no fade, so "closeDialog" hides it synchronously while htmx is still
  // dispatching the response's other triggers ("showMessage") on the form inside it.
  dialogEl.addEventListener("hidden.bs.modal", function () {
    setTimeout(function () { document.getElementById("dialog-content").innerHTML = ""; });
  });
  document.body.addEventListener("showMessage", function (event) {
    const box = document.getElementById("flash");
    if (!box) return;
    box.textContent = event.detail.value;
    box.classList.remove("d-none");
    clearTimeout(box._timer);
    box._timer = setTimeout(function () { box.classList.add("d-none"); }, 6000);
  });
  // The client lookup inside a dialog: picking a row fills the hidden customer field.
  document.addEventListener("click", function (event) {
    const row = event.target.closest("[data-pick-customer]");
    if (!row) return;
    event.preventDefault();
    const form = row.closest("form");
    form.querySelector("[name=customer]").value = row.dataset.pickCustomer;
    form.querySelector("[data-picked]").textContent = row.dataset.label;
    form.querySelector("[data-picked]").classList.remove("d-none");
    row.closest(".lookup-results").innerHTML = "";
    form.querySelector("[name=customer]").dispatchEvent(new Event("change", { bubbles: true }));
  });
})();
