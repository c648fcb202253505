// Keyboard shortcuts of the review flow (shown on the page): 1-5 rate, y/n label,
// g/o/b quick verdict, c comment, e correction, Enter save, j/k next/previous, Esc leaves
// a text box. Keys typed into a text box stay there. On an item already judged the verdict
// keys do nothing until "Change my verdict" is open: changing a verdict is deliberate.
(function () {
  "use strict";
  var form = document.getElementById("verdict");
  if (!form) { return; }
  function typing(el) {
    return el && (el.tagName === "TEXTAREA" || (el.tagName === "INPUT" && el.type === "text") ||
      (el.tagName === "INPUT" && !el.type));
  }
  function pick(name, value) {
    var input = form.querySelector('input[name="' + name + '"][value="' + value + '"]');
    if (input) { input.checked = true; input.focus(); }
  }
  function go(id) {
    var link = document.getElementById(id);
    if (link) { location.href = link.href; }
  }
  // One verdict per page: a second tap while the first is on its way sends nothing.
  form.addEventListener("submit", function (event) {
    if (form.dataset.sent) { event.preventDefault(); return; }
    form.dataset.sent = "1";
  });
  window.addEventListener("pageshow", function () { delete form.dataset.sent; });  // Back
  var change = document.getElementById("change");
  var barChange = document.getElementById("bar-change");
  if (change && barChange) {
    barChange.addEventListener("click", function () { change.open = true; });
  }
  document.addEventListener("keydown", function (event) {
    var el = document.activeElement;
    if (event.key === "Escape" && typing(el)) { el.blur(); return; }
    if (typing(el) || event.ctrlKey || event.metaKey || event.altKey) { return; }
    var key = event.key;
    if (change && !change.open) {
      if (key === "j" || key === "ArrowRight") { go("go-next"); }
      else if (key === "k" || key === "ArrowLeft") { go("go-prev"); }
      else if (key === "Enter" && !(el && /^(A|BUTTON|SUMMARY)$/.test(el.tagName))) { go("go-open"); }
      else { return; }
      event.preventDefault();
      return;
    }
    if (/^[1-5]$/.test(key)) { pick("stars", key); }
    else if (key === "y") { pick("label", "positive"); }
    else if (key === "n") { pick("label", "negative"); }
    else if (key === "g") { document.getElementById("thumb-good").click(); }
    else if (key === "o") { document.getElementById("thumb-ok").click(); }
    else if (key === "b") { document.getElementById("thumb-bad").click(); }
    else if (key === "c") { document.getElementById("comment").focus(); }
    else if (key === "e") { document.getElementById("correction").focus(); }
    else if (key === "j" || key === "ArrowRight") { go("go-next"); }
    else if (key === "k" || key === "ArrowLeft") { go("go-prev"); }
    else if (key === "Enter" && !(el && /^(A|BUTTON|SUMMARY)$/.test(el.tagName))) {
      form.requestSubmit(document.getElementById("save"));
    } else { return; }
    event.preventDefault();
  });
})();
