// Weekly hours editor (templates/accounts/week_grid.html): "Same as the day before" copies the
// previous weekday's periods into this one; "Clear" empties a day (closed, or a day off).
(function () {
  "use strict";
  function inputs(row) {
    return Array.prototype.slice.call(row.querySelectorAll(".period input"));
  }
  document.addEventListener("click", function (event) {
    if (!event.target.closest) return;
    const copy = event.target.closest("[data-copy-previous]");
    const clear = event.target.closest("[data-clear-day]");
    const row = (copy || clear) && (copy || clear).closest("[data-week-day]");
    if (!row) return;
    const mine = inputs(row);
    if (copy) {
      const before = row.previousElementSibling ? inputs(row.previousElementSibling) : [];
      mine.forEach(function (input, n) { input.value = n < before.length ? before[n].value : ""; });
    } else {
      mine.forEach(function (input) { input.value = ""; });
    }
    if (mine.length) mine[0].focus();
  });
})();
