// The ops admin's periodic task form (django-celery-beat's inline script, kept out of the
// HTML for the Content-Security-Policy): the chosen crontab's meaning in words under it.
(function () {
  "use strict";
  var script = document.currentScript;
  var data = document.getElementById("readable-crontabs");
  var select = document.getElementById("id_crontab");
  var translation = document.querySelector(".field-crontab_translation");
  if (translation) { translation.style.display = "none"; }
  if (!data || !select) { return; }
  var readable = JSON.parse(data.textContent);
  select.addEventListener("change", function () {
    var help = document.querySelector(".field-crontab .help");
    if (!help) { return; }
    help.replaceChildren(
      document.createTextNode(script.dataset.crontabHelp || ""),
      document.createElement("br"),
      document.createTextNode("Translation: " + (readable[select.value] || ""))
    );
  });
})();
