// Gatehouse password-strength meter: a new-password input with
// data-strength="ID" shows the server's rating (zxcvbn's score and
// feedback, from POST /api/users/password_strength/) in the element ID as
// the user types. The server checks the password again when the form is
// posted, so the form works the same without this script.
(function () {
  "use strict";
  var labels = ["Very weak", "Weak", "Fair", "Strong", "Very strong"];
  var inputs = document.querySelectorAll("input[data-strength]");
  Array.prototype.forEach.call(inputs, function (input) {
    var box = document.getElementById(input.getAttribute("data-strength"));
    if (!box) return;
    var meter = box.querySelector("meter");
    var text = box.querySelector(".strength-text");
    var timer = null, seq = 0;
    // The person's own words (email, names) count against the password:
    // from the same form (signup), or from #strength-context (settings).
    var known = document.getElementById("strength-context");
    function context(name) {
      var el = input.form && input.form.elements[name];
      if (el && el.value) return el.value;
      return (known && known.getAttribute("data-" + name.replace("_", "-"))) || "";
    }
    function check() {
      var value = input.value;
      var mine = ++seq;
      if (!value) { box.hidden = true; return; }
      fetch("/api/users/password_strength/", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        credentials: "same-origin",
        body: JSON.stringify({ password: value, email: context("email"), first_name: context("first_name"), last_name: context("last_name") })
      }).then(function (r) { return r.ok ? r.json() : null; }).then(function (body) {
        if (!body || mine !== seq) return;
        meter.value = body.score;
        var words = labels[body.score] || "";
        if (!body.acceptable && body.detail) words += ": " + body.detail;
        else if (body.feedback && body.feedback.warning) words += ": " + body.feedback.warning;
        text.textContent = words;
        box.hidden = false;
      }).catch(function () {});
    }
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(check, 250);
    });
  });
})();
