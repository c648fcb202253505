// Small behaviours of plain forms, kept out of the HTML so the Content-Security-Policy
// can forbid inline script: a select with data-autosubmit submits its form on change; a
// form with data-workspace goes to that workspace's path.
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches && target.matches("select[data-autosubmit]") && target.form) {
      target.form.submit();
    }
  });
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-workspace]")) { return; }
    event.preventDefault();
    location.href = "/t/" + encodeURIComponent(form.elements.ws.value.trim()) + "/";
  });
})();
