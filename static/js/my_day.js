// The stylist's day (templates/appointments/my_day.html). A <details data-focus-on-open> is the
// Start of a client with safety warnings: opening it hides its summary (the button tapped) and
// shows the reason field, which takes the focus so the keyboard and screen readers follow.
(function () {
  "use strict";

  function focusReason(details) {
    const field = details.querySelector("input:not([type=hidden]), textarea, select");
    if (field) field.focus();
  }

  document.addEventListener(
    "toggle",
    function (event) {
      const details = event.target;
      if (details.matches && details.matches("details[data-focus-on-open]") && details.open) {
        focusReason(details);
      }
    },
    true // toggle does not bubble
  );
  // Opened by the page itself (a Start refused for want of a reason): the same focus.
  const opened = document.querySelector("details[data-focus-on-open][open]");
  if (opened) focusReason(opened);
})();
