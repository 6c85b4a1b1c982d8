// Day calendar: a click on an empty slot opens the booking dialog (one delegated listener, so a
// full day of slots costs no per-cell handlers). The dialog itself, the toast and the client
// lookup are static/js/dialogs.js's (every page has them). After a booking the server names the
// new appointment ("appointmentBooked"): once the grid has refreshed, its block is shown and marked.
(function () {
  "use strict";
  if (!document.getElementById("dialog")) return;

  document.addEventListener("click", function (event) {
    const slot = event.target.closest(".cal-slot");
    if (!slot) return;
    const column = slot.closest(".cal-col");
    const grid = slot.closest("[data-book-url]");
    if (!grid.dataset.bookUrl) return;  // this role may not book
    const params = new URLSearchParams({ date: grid.dataset.date, time: slot.dataset.time, staff: column.dataset.staff });
    if (grid.dataset.customer) params.set("customer", grid.dataset.customer);
    window.salonDialog.open(grid.dataset.bookUrl + "?" + params.toString());
  });

  let booked = null;
  document.body.addEventListener("appointmentBooked", function (event) {
    booked = String(event.detail.value);
  });
  document.body.addEventListener("htmx:afterSettle", function (event) {
    if (!booked || event.detail.target.id !== "calendar-grid") return;
    const block = document.querySelector('.appt[data-appointment="' + booked + '"]');
    booked = null;
    if (!block) return;
    block.classList.add("appt-new");
    block.scrollIntoView({ block: "nearest", inline: "nearest" });
    setTimeout(function () { block.classList.remove("appt-new"); }, 4000);
  });
})();
