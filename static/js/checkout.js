// Checkout page.
// - A walk-in sale: picking a client in the page's own lookup reloads the page with ?customer=
//   (no client, no sale).
// - Split payments: the totals (#totals, re-rendered by htmx from the server's quote after every
//   change) carry data-paid and data-remaining. What is left to pay goes into the payment row
//   the page filled itself (data-autofilled: the whole amount in cash at first), or else into
//   the first empty amount; typing in an amount makes it the desk's own. The filled amount is a
//   change like any other, so the server recomputes the totals and the balance reads zero.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    const row = event.target.closest("[data-checkout-pick] [data-pick-customer]");
    if (!row) return;
    event.preventDefault();
    window.location.search = "?customer=" + encodeURIComponent(row.dataset.pickCustomer);
  });

  function cents(value) {
    const n = parseFloat(String(value || "").trim());
    return isFinite(n) ? Math.round(n * 100) : 0;
  }

  function amountInputs() {
    return Array.prototype.slice.call(document.querySelectorAll("#checkout-payments input[name$='-amount']"));
  }

  document.addEventListener("input", function (event) {
    const el = event.target;
    if (el.matches && el.matches("#checkout-payments input[name$='-amount']")) delete el.dataset.autofilled;
  });

  function fillRemaining() {
    const totals = document.getElementById("totals");
    if (!totals || totals.dataset.remaining === undefined) return;
    const inputs = amountInputs();
    const typed = inputs.reduce(function (sum, input) { return sum + cents(input.value); }, 0);
    // The answer is for amounts that have changed since: the next answer will do.
    if (typed !== cents(totals.dataset.paid)) return;
    const remaining = cents(totals.dataset.remaining);
    if (remaining === 0) return;
    let target = inputs.find(function (input) { return input.dataset.autofilled; });
    if (!target && remaining > 0) target = inputs.find(function (input) { return input.value.trim() === ""; });
    if (!target) return;
    const value = cents(target.value) + remaining;
    if (value > 0) {
      target.value = (value / 100).toFixed(2);
      target.dataset.autofilled = "1";
    } else {
      target.value = "";
      delete target.dataset.autofilled;
    }
    target.dispatchEvent(new Event("change", { bubbles: true }));
  }

  document.addEventListener("htmx:afterSettle", function (event) {
    const target = event.detail && event.detail.target;
    if (event.target.id === "totals" || (target && target.id === "totals")) fillRemaining();
  });
})();
