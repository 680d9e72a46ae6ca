// Gatehouse login page: when the email's domain enforces single sign-on,
// hide the password field and say how to sign in instead. The page works
// without this script: the server answers a password post for such an
// email with the same notice.
(function () {
  "use strict";
  var email = document.getElementById("email");
  var area = document.getElementById("password-area");
  var notice = document.getElementById("sso-notice");
  var provider = document.getElementById("sso-provider");
  if (!email || !area || !notice || !provider) return;
  var last = null;
  function check() {
    var value = email.value.trim();
    if (value === last || value.indexOf("@") < 1) return;
    last = value;
    fetch("/api/login/precheck/", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email: value }),
      credentials: "same-origin"
    }).then(function (r) { return r.ok ? r.json() : null; }).then(function (body) {
      if (!body || email.value.trim() !== value) return;
      var enforced = body.sso_enforcement;
      area.hidden = !!enforced;
      notice.hidden = !enforced;
      provider.textContent = body.sso_provider_name || enforced || "";
      var link = document.getElementById("sso-link");
      if (link && enforced) {
        link.href = "/login/" + encodeURIComponent(enforced) + "/?email=" + encodeURIComponent(value);
      }
      // SAML offered but not enforced: show it beside the password.
      var saml = document.getElementById("saml-login");
      var samlLink = document.getElementById("saml-link");
      if (saml && samlLink) {
        saml.hidden = !(body.saml_available && !enforced);
        samlLink.href = "/login/saml/?email=" + encodeURIComponent(value);
      }
    }).catch(function () {});
  }
  email.addEventListener("change", check);
  email.addEventListener("blur", check);
  if (email.value) check();
})();
