// The dashboard: choosing a store shows it at once (the Show button does the same without
// scripts). No inline scripts: the Content-Security-Policy forbids them.
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field.matches && field.matches("select[data-autosubmit]") && field.form) {
      field.form.requestSubmit();
    }
  });
})();
