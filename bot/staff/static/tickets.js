// Ticket list: changing a filter runs the search at once (the 조회 button still works without JS).
"use strict";
(function () {
  var form = document.getElementById("ticket-filters");
  if (!form) { return; }
  form.querySelectorAll("select, input[type=checkbox]").forEach(function (field) {
    field.addEventListener("change", function () { form.submit(); });
  });
})();
