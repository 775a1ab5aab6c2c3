// Ticket detail: confirmations before consequential actions; the reason field is shown only for
// moves that need one (rejecting, reopening).
"use strict";
(function () {
  document.querySelectorAll("[data-confirm]").forEach(function (button) {
    button.addEventListener("click", function (event) {
      if (!window.confirm(button.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });
  var select = document.getElementById("status-select");
  var reason = document.getElementById("reason-field");
  if (!select || !reason) { return; }
  function update() {
    var option = select.options[select.selectedIndex];
    var needed = option && option.getAttribute("data-needs-reason") === "yes";
    reason.hidden = !needed;
    reason.querySelector("textarea").required = needed;
  }
  select.addEventListener("change", update);
  update();
})();
