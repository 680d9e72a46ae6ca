// Gatehouse passkeys: the browser side of WebAuthn for the settings page
// (add, verify, rename, delete, passkeys as second factor), "Sign in with a
// passkey" on the login page, and the passkey second step. It talks to the
// same JSON API as any client; the server keeps every challenge.
(function () {
  "use strict";
  if (!window.PublicKeyCredential || !navigator.credentials) return;

  function fromB64url(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }
  function toB64url(buf) {
    var bytes = new Uint8Array(buf), bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function csrfToken() {
    var m = document.cookie.match(/(?:^|;\s*)posthog_csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }
  function api(method, path, body) {
    var headers = { "Content-Type": "application/json" };
    var token = csrfToken();
    if (token) headers["X-CSRFToken"] = token;
    return fetch(path, {
      method: method, headers: headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (r) {
      return r.text().then(function (t) {
        var data = null;
        try { data = t ? JSON.parse(t) : null; } catch (e) { data = null; }
        return { ok: r.ok, status: r.status, data: data };
      });
    });
  }
  function failure(res) {
    var d = res.data || {};
    return new Error(d.error || d.detail || "Something went wrong (" + res.status + ").");
  }
  function creationOptions(o) {
    o.challenge = fromB64url(o.challenge);
    o.user.id = fromB64url(o.user.id);
    (o.excludeCredentials || []).forEach(function (c) { c.id = fromB64url(c.id); });
    return o;
  }
  function requestOptions(o) {
    o.challenge = fromB64url(o.challenge);
    (o.allowCredentials || []).forEach(function (c) { c.id = fromB64url(c.id); });
    return o;
  }
  function attestationJSON(cred) {
    var r = cred.response;
    return {
      id: cred.id, rawId: toB64url(cred.rawId), type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment || undefined,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response: {
        clientDataJSON: toB64url(r.clientDataJSON), attestationObject: toB64url(r.attestationObject),
        transports: r.getTransports ? r.getTransports() : []
      }
    };
  }
  function assertionJSON(cred) {
    var r = cred.response;
    return {
      id: cred.id, rawId: toB64url(cred.rawId), type: cred.type,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response: {
        clientDataJSON: toB64url(r.clientDataJSON), authenticatorData: toB64url(r.authenticatorData),
        signature: toB64url(r.signature), userHandle: r.userHandle ? toB64url(r.userHandle) : null
      }
    };
  }
  // begin asks the server for options; run answers them in the browser.
  function ceremony(beginPath, completePath, create, extra) {
    return api("POST", beginPath, {}).then(function (res) {
      if (!res.ok) throw failure(res);
      var o = res.data;
      return create
        ? navigator.credentials.create({ publicKey: creationOptions(o) })
        : navigator.credentials.get({ publicKey: requestOptions(o) });
    }).then(function (cred) {
      if (!cred) throw new Error("No passkey was chosen.");
      var body = create ? attestationJSON(cred) : assertionJSON(cred);
      if (extra) body = extra(body);
      return api("POST", completePath, body);
    }).then(function (res) {
      if (!res.ok) throw failure(res);
      return res.data;
    });
  }

  var status = document.getElementById("passkey-status");
  function show(msg) {
    if (status) { status.textContent = msg; status.hidden = false; }
  }
  function fail(err) {
    show(err && err.name === "NotAllowedError" ? "The passkey request was cancelled or timed out." : (err && err.message) || String(err));
  }
  function go(path) { window.location.assign(path); }

  // Settings page.
  var add = document.getElementById("passkey-add");
  if (add) {
    add.hidden = false;
    add.addEventListener("submit", function (e) {
      e.preventDefault();
      var label = (document.getElementById("passkey-label") || {}).value || "";
      ceremony("/api/webauthn/register/begin/", "/api/webauthn/register/complete/", true, function (body) {
        body.label = label.trim() || "Passkey";
        return body;
      }).then(function (data) {
        // Proof of possession: the new passkey signs once before it counts.
        var id = data.credential_id;
        return ceremony("/api/webauthn/credentials/" + id + "/verify/", "/api/webauthn/credentials/" + id + "/verify_complete/", false);
      }).then(function () { go("/settings/passkeys?done=added"); }, fail);
    });
  }
  Array.prototype.forEach.call(document.querySelectorAll("[data-passkey-verify]"), function (b) {
    b.hidden = false;
    b.addEventListener("click", function () {
      var id = b.getAttribute("data-passkey-verify");
      ceremony("/api/webauthn/credentials/" + id + "/verify/", "/api/webauthn/credentials/" + id + "/verify_complete/", false)
        .then(function () { go("/settings/passkeys?done=verified"); }, fail);
    });
  });
  Array.prototype.forEach.call(document.querySelectorAll("form[data-passkey-rename]"), function (f) {
    f.addEventListener("submit", function (e) {
      e.preventDefault();
      var id = f.getAttribute("data-passkey-rename");
      api("PATCH", "/api/webauthn/credentials/" + id + "/", { label: f.querySelector("input").value }).then(function (res) {
        if (!res.ok) throw failure(res);
        go("/settings/passkeys?done=renamed");
      }).catch(fail);
    });
  });
  Array.prototype.forEach.call(document.querySelectorAll("[data-passkey-delete]"), function (b) {
    b.addEventListener("click", function () {
      // A destructive action asks first: the first click arms the button.
      if (!b.hasAttribute("data-armed")) {
        b.setAttribute("data-armed", "");
        b.textContent = "Click again to delete";
        return;
      }
      api("DELETE", "/api/webauthn/credentials/" + b.getAttribute("data-passkey-delete") + "/").then(function (res) {
        if (!res.ok) throw failure(res);
        go("/settings/passkeys?done=deleted");
      }).catch(fail);
    });
  });
  var toggle = document.getElementById("passkey-2fa");
  if (toggle) {
    toggle.addEventListener("click", function () {
      var on = toggle.getAttribute("data-enabled") !== "true";
      api("PATCH", "/api/users/@me/", { passkeys_enabled_for_2fa: on }).then(function (res) {
        if (!res.ok) throw failure(res);
        go("/settings/passkeys?done=" + (on ? "2fa_on" : "2fa_off"));
      }).catch(fail);
    });
  }

  // Login page: passwordless.
  var login = document.getElementById("passkey-login");
  if (login) {
    login.hidden = false;
    var divider = document.getElementById("passkey-divider");
    if (divider) divider.hidden = false;
    login.addEventListener("click", function () {
      ceremony("/api/webauthn/login/begin/", "/api/webauthn/login/complete/", false)
        .then(function () { go(login.getAttribute("data-next") || "/"); }, fail);
    });
  }

  // Second step: a passkey instead of a code.
  var second = document.getElementById("passkey-second-factor");
  if (second) {
    api("GET", "/api/login/2fa/passkey/methods/").then(function (res) {
      if (res.ok && res.data && res.data.has_passkeys) {
        second.hidden = false;
        var divider = document.getElementById("passkey-divider");
        if (divider) divider.hidden = false;
      }
    });
    second.addEventListener("click", function () {
      var remember = document.getElementById("remember");
      ceremony("/api/login/2fa/passkey/begin/", "/api/login/token/", false, function (body) {
        return { credential_id: body.rawId, response: body.response, remember: !!(remember && remember.checked) };
      }).then(function () { go(second.getAttribute("data-next") || "/"); }, fail);
    });
  }
})();
