// Gatehouse copy buttons: a button with data-copy="ID" copies the text of
// the element with that id. Without this script the buttons stay hidden
// and the text can be selected by hand.
(function () {
  "use strict";
  var buttons = document.querySelectorAll("button[data-copy]");
  Array.prototype.forEach.call(buttons, function (button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source || !navigator.clipboard) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(source.textContent.trim()).then(function () {
        var label = button.textContent;
        button.textContent = "Copied";
        setTimeout(function () { button.textContent = label; }, 1500);
      }, function () {
        button.textContent = "Select and copy";
      });
    });
  });
})();

// A button with data-download="ID" (and data-filename) saves the text of
// the element with that id, one line per list item, as a file.
(function () {
  "use strict";
  var buttons = document.querySelectorAll("button[data-download]");
  Array.prototype.forEach.call(buttons, function (button) {
    var source = document.getElementById(button.getAttribute("data-download"));
    if (!source || !window.Blob || !window.URL) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      var items = source.querySelectorAll("li");
      var lines = items.length ? Array.prototype.map.call(items, function (li) { return li.textContent.trim(); }) : [source.textContent.trim()];
      var url = URL.createObjectURL(new Blob([lines.join("\n") + "\n"], { type: "text/plain" }));
      var a = document.createElement("a");
      a.href = url;
      a.download = button.getAttribute("data-filename") || "download.txt";
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
    });
  });
})();
