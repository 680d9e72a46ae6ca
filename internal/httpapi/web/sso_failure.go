package web

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/sso/oauth"
)

// ssoFailure is one refused single sign-on (social or SAML). It is logged
// once, at WARN (ERROR for an internal fault), with the provider, the
// reason in words and what the identity provider itself said; the browser
// goes to /login?error_code=<Code>&provider=<backend>, whose page says
// what to do. Tokens, codes and assertions are never part of it.
type ssoFailure struct {
	Provider string // the backend ("saml" for SAML)
	Code     string // the error_code the page turns into words
	Reason   string // what went wrong, in words
	// IdPError and IdPDescription are the provider's OAuth2 error and
	// error_description, when it sent them.
	IdPError, IdPDescription string
	Err                      error // the underlying cause, for the log
	internal                 bool
	// linking: a signed-in user was linking an account; they go back to
	// the settings page.
	linking bool
}

func (f *ssoFailure) Error() string { return "sso login refused: " + f.Code + ": " + f.Reason }

// linked marks f as the failure of a signed-in user linking an account.
func (f *ssoFailure) linked(linking bool) *ssoFailure {
	f.linking = linking
	return f
}

// ssoFlow serves a step of a browser SSO flow, whose failures are
// redirects rather than error pages: a *ssoFailure step returns is logged
// and the browser sent back with its code (failSSO); any other error is
// returned to httpauth's writer.
func ssoFlow(providers *oauth.Registry, step httpauth.Handler) httpauth.Handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		err := step(w, r)
		var f *ssoFailure
		if errors.As(err, &f) {
			failSSO(w, r, providers, f)
			return nil
		}
		return err
	}
}

// ssoFailureOf turns a pipeline or provider error into a failure.
func ssoFailureOf(provider string, err error) *ssoFailure {
	f := &ssoFailure{Provider: provider, Err: err}
	e, ok := gatehouse.AsError(err)
	if !ok || e.Kind == gatehouse.KindInternal {
		f.Code, f.Reason, f.internal = "sso_error", "an internal error", true
		return f
	}
	f.Code, f.Reason, f.Err = e.Code, e.Detail, e.Err
	if e.Attr != "" {
		f.Reason += " (" + e.Attr + ")"
	}
	var te *oauth.TokenError
	if errors.As(err, &te) {
		f.IdPError, f.IdPDescription = te.Code, te.Description
	}
	return f
}

// failSSO logs f and sends the browser to the login page (or, for a
// signed-in user linking an account, the settings page) with its code.
func failSSO(w http.ResponseWriter, r *http.Request, providers *oauth.Registry, f *ssoFailure) {
	attrs := []slog.Attr{slog.String("provider", clipLog(f.Provider, 64)), slog.String("code", f.Code), slog.String("reason", f.Reason)}
	if f.IdPError != "" || f.IdPDescription != "" {
		attrs = append(attrs, slog.String("idp_error", clipLog(f.IdPError, 100)), slog.String("idp_error_description", clipLog(f.IdPDescription, 300)))
	}
	if f.Err != nil {
		attrs = append(attrs, slog.String("cause", clipLog(f.Err.Error(), 1000)))
	}
	attrs = append(attrs, slog.String("client", httpauth.ClientIP(r)))
	level := slog.LevelWarn
	if f.internal {
		level = slog.LevelError
	}
	httpauth.Logger(r.Context()).LogAttrs(r.Context(), level, "sso login refused", attrs...)
	target := "/login?"
	if f.linking {
		target = "/settings?"
	}
	q := url.Values{"error_code": {f.Code}}
	if f.Provider != "" && (f.Provider == "saml" || providers.Configured(f.Provider)) {
		q.Set("provider", f.Provider)
	}
	http.Redirect(w, r, target+q.Encode(), http.StatusFound)
}

func clipLog(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// idpErrorCode maps the error an identity provider sent back to the
// callback (RFC 6749 and OpenID Connect error codes) to ours.
func idpErrorCode(e string) string {
	switch e {
	case "access_denied", "login_required", "consent_required", "interaction_required", "account_selection_required":
		return "access_denied"
	case "unauthorized_client", "invalid_client":
		return "sso_client_rejected"
	case "invalid_request", "invalid_scope", "unsupported_response_type", "invalid_request_uri", "invalid_request_object",
		"request_not_supported", "request_uri_not_supported", "registration_not_supported":
		return "sso_request_rejected"
	case "server_error", "temporarily_unavailable":
		return "sso_provider_error"
	}
	return "sso_provider_refused"
}

// providerLabel is what a message calls the provider of a failed sign-in:
// a configured provider's display name, else "your identity provider".
func providerLabel(providers *oauth.Registry, backend string) string {
	if p, ok := providers.Get(backend); ok && p.DisplayName() != "" {
		return p.DisplayName()
	}
	return "your identity provider"
}

// ssoErrorMessage is the login and settings pages' text for error_code,
// naming the provider of the ?provider= query when it is configured.
func ssoErrorMessage(providers *oauth.Registry, code, backend string) string {
	m := socialErrorMessage(code)
	if !strings.Contains(m, "{provider}") {
		return m
	}
	m = strings.ReplaceAll(m, "{provider}", providerLabel(providers, backend))
	r, n := utf8.DecodeRuneInString(m)
	return string(unicode.ToUpper(r)) + m[n:]
}
