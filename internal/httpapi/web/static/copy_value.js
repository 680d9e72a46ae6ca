// Gatehouse console: a "Copy" button beside each value shown once (an
// element with data-copy). Without this script the value is still shown,
// selectable, in a read-only field.
(function () {
  "use strict";
  var buttons = document.querySelectorAll("button[data-copy-for]");
  Array.prototype.forEach.call(buttons, function (button) {
    var field = document.getElementById(button.getAttribute("data-copy-for"));
    if (!field || !navigator.clipboard) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      var value = field.value !== undefined ? field.value : field.textContent;
      navigator.clipboard.writeText(value).then(function () {
        button.textContent = "Copied";
        setTimeout(function () { button.textContent = "Copy"; }, 2000);
      });
    });
  });
  var selectable = document.querySelectorAll("input[data-copy]");
  Array.prototype.forEach.call(selectable, function (input) {
    input.addEventListener("focus", function () { input.select(); });
  });
})();
