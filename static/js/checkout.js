// Checkout of a walk-in sale: picking a client in the page's own lookup reloads the page with
// ?customer= (no client, no sale).
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    const row = event.target.closest("[data-checkout-pick] [data-pick-customer]");
    if (!row) return;
    event.preventDefault();
    window.location.search = "?customer=" + encodeURIComponent(row.dataset.pickCustomer);
  });
})();
