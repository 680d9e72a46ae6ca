package httpapi

import (
	"net/http"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/api"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi/web"
)

// mount is the mux being built and what personal API keys may do on each
// of its routes.
type mount struct {
	mux  *http.ServeMux
	keys map[string]httpauth.KeyRoute
}

// route mounts h at pattern. Personal API keys are refused there (403
// "This action does not support Personal API Key access").
func (m mount) route(pattern string, h http.Handler) { m.mux.Handle(pattern, h) }

// key mounts h at pattern, where a personal API key may call it as kr
// says: with kr.Object's read scope for safe methods and its write scope
// otherwise, within the key's organizations and projects.
func (m mount) key(pattern string, kr httpauth.KeyRoute, h http.Handler) {
	m.keys[pattern] = kr
	m.mux.Handle(pattern, h)
}

// scope is a key rule: object's read or write scope.
func scope(object string) httpauth.KeyRoute { return httpauth.KeyRoute{Object: object} }

// routes is the mount table: every route Gatehouse serves, how its caller
// is authenticated (User: signed in, else 401; Session: the caller if
// any; SignInEndpoint: sets the session cookie, so same-site JSON only;
// web.Handler: a page that shows its errors) and, for key routes, the
// scope a personal API key needs. Each handler struct is built once with
// only its services. Paths are mounted without a trailing slash:
// stripTrailingSlash makes "/e/" reach "/e".
func routes(m mount, d Deps, auth *httpauth.Auth) {
	page := func(h web.Handler) http.Handler { return auth.Session(h.Serve) } // a page that knows its caller

	// --- operators and SDKs (no session, no key) ---
	health := &api.Health{Database: d.Database, Redis: d.Redis}
	m.route("GET /_health", httpauth.Handler(health.Live))
	m.route("GET /_readyz", httpauth.Handler(health.Ready))

	capture := &api.Capture{Capture: d.Capture}
	for _, path := range []string{"/e", "/i/v0/e", "/capture", "/track", "/engage", "/batch", "/i/v0/ai/batch"} {
		m.route(path, httpauth.Handler(capture.Ingest))
	}
	m.route("/i/v1/analytics/events", httpauth.Handler(capture.IngestV1))

	flags := &api.Flags{Auth: auth, Flags: d.Flags, AuthGeneration: d.AuthGeneration}
	config := &api.RemoteConfig{Auth: auth, Flags: d.Flags, AuthGeneration: d.AuthGeneration}
	m.route("/flags", httpauth.Handler(flags.Evaluate))
	m.route("/decide", httpauth.Handler(flags.Decide))
	m.route("/array/{token}/config", httpauth.Handler(config.Config))
	m.route("/array/{token}/config.js", httpauth.Handler(config.Script))

	// --- signing in ---
	sessions := &api.Sessions{Auth: auth, Sessions: d.Sessions, Accounts: d.Accounts, Domains: d.Domains, TwoFactor: d.TwoFactor, Passkeys: d.Passkeys}
	m.route("POST /api/login", httpauth.SignInEndpoint(*auth, httpauth.Handler(sessions.Login)))
	m.route("POST /api/login/precheck", httpauth.Handler(sessions.Precheck))
	m.route("POST /api/logout", auth.Session(sessions.Logout))

	twoFactor := &api.TwoFactor{Auth: auth, TwoFactor: d.TwoFactor}
	m.route("POST /api/login/token", httpauth.SignInEndpoint(*auth, httpauth.Handler(twoFactor.CompleteLogin)))
	m.route("POST /api/login/email-mfa", httpauth.SignInEndpoint(*auth, httpauth.Handler(twoFactor.CompleteEmailLogin)))
	m.route("POST /api/login/email-mfa/resend", httpauth.Handler(twoFactor.ResendEmailLogin))

	webAuthn := &api.WebAuthn{Auth: auth, Passkeys: d.Passkeys, Sessions: d.Sessions, TwoFactor: d.TwoFactor}
	m.route("POST /api/webauthn/login/begin", httpauth.Handler(webAuthn.BeginLogin))
	m.route("POST /api/webauthn/login/complete", httpauth.SignInEndpoint(*auth, httpauth.Handler(webAuthn.CompleteLogin)))
	m.route("GET /api/login/2fa/passkey/methods", httpauth.Handler(webAuthn.TwoFactorMethods))
	m.route("POST /api/login/2fa/passkey/begin", httpauth.Handler(webAuthn.BeginTwoFactor))

	signup := &api.Signup{Auth: auth, Verifier: d.Verifier}
	verification := &api.EmailVerification{Auth: auth, Verifier: d.Verifier, Mail: d.Mail}
	invites := &api.Invites{Auth: auth, Invites: d.Invites, Accounts: d.Accounts}
	m.route("POST /api/signup", httpauth.SignInEndpoint(*auth, httpauth.Handler(signup.Create)))
	m.route("GET /api/signup/{invite}", httpauth.Handler(invites.Info))
	m.route("POST /api/signup/{invite}", httpauth.SignInEndpoint(*auth, auth.Session(invites.Signup)))
	m.route("POST /api/users/verify_email", httpauth.SignInEndpoint(*auth, httpauth.Handler(verification.Verify)))
	m.route("POST /api/users/request_email_verification", httpauth.Handler(verification.Request))

	reset := &api.PasswordReset{Reset: d.Reset}
	m.route("POST /api/reset", httpauth.Handler(reset.Request))
	m.route("GET /api/reset/{uuid}", httpauth.Handler(reset.Validate))
	m.route("POST /api/reset/{uuid}", httpauth.Handler(reset.Complete))

	social := &web.SocialLogin{Auth: auth, Sessions: d.Sessions, SSO: d.SSO, SocialProviders: d.SocialProviders, Keys: d.Keys, Limiter: d.Limiter}
	m.route("GET /login/{backend}", social.Flow(social.Begin))
	m.route("POST /connect/{backend}", auth.Session(social.Flow(social.Connect)))
	m.route("GET /complete/{backend}", social.Flow(social.Complete))
	m.route("POST /complete/{backend}", social.Flow(social.Complete))
	m.route("POST /api/social_signup", httpauth.SignInEndpoint(*auth, httpauth.Handler(social.Signup)))
	m.route("GET /organization/confirm-creation", web.Handler(social.ConfirmCreation))
	m.route("POST /organization/confirm-creation", web.Handler(social.ConfirmCreationForm))

	samlLogin := &web.SAMLLogin{Auth: auth, SAML: d.SAML, SSO: d.SSO, Keys: d.Keys}
	m.route("GET /login/saml", samlLogin.Flow(samlLogin.Begin))
	m.route("GET /complete/saml", samlLogin.Flow(samlLogin.Complete))
	m.route("POST /complete/saml", samlLogin.Flow(samlLogin.Complete))
	m.route("GET /api/saml/metadata", auth.User(samlLogin.Metadata))
	m.route("GET /api/saml/metadata/{domain}", auth.User(samlLogin.Metadata))

	// --- the signed-in user ---
	me := &api.Account{Auth: auth, Accounts: d.Accounts, Members: d.Members, Lifecycle: d.Lifecycle, Passkeys: d.Passkeys, TwoFactor: d.TwoFactor}
	lifecycle := &api.Lifecycle{Auth: auth, Lifecycle: d.Lifecycle}
	m.key("GET /api/users/@me", scope("user"), auth.User(sessions.Me))
	m.key("PATCH /api/users/@me", scope("user"), auth.User(me.Update)) // not email, password or 2FA: api.keyProfileChange
	m.route("DELETE /api/users/@me", auth.User(lifecycle.Delete))
	m.route("GET /api/users/@me/login_sessions", auth.User(me.ListSessions))
	m.route("DELETE /api/users/@me/login_sessions/{id}", auth.User(me.RevokeSession))
	m.route("POST /api/users/@me/login_sessions/revoke_others", auth.User(me.RevokeOtherSessions))

	for _, p := range []string{"two_factor_start_setup", "start_2fa_setup"} {
		m.route("GET /api/users/@me/"+p, auth.User(twoFactor.StartSetup))
	}
	for _, p := range []string{"two_factor_validate", "validate_2fa"} {
		m.route("POST /api/users/@me/"+p, auth.User(twoFactor.Validate))
	}
	m.route("GET /api/users/@me/two_factor_status", auth.User(twoFactor.Status))
	m.route("POST /api/users/@me/two_factor_backup_codes", auth.User(twoFactor.RegenerateBackupCodes))
	m.route("POST /api/users/@me/two_factor_disable", auth.User(twoFactor.Disable))
	m.route("GET /api/users/@me/trusted_devices", auth.User(twoFactor.TrustedDevices))
	m.route("DELETE /api/users/@me/trusted_devices", auth.User(twoFactor.ForgetDevices))
	m.route("DELETE /api/users/@me/trusted_devices/{id}", auth.User(twoFactor.ForgetDevice))
	m.route("POST /api/users/{uuid}/two_factor_reset", auth.User(twoFactor.Reset))

	m.route("POST /api/webauthn/register/begin", auth.User(webAuthn.BeginRegistration))
	m.route("POST /api/webauthn/register/complete", auth.User(webAuthn.CompleteRegistration))
	m.route("GET /api/webauthn/credentials", auth.User(webAuthn.List))
	m.route("PATCH /api/webauthn/credentials/{id}", auth.User(webAuthn.Rename))
	m.route("DELETE /api/webauthn/credentials/{id}", auth.User(webAuthn.Delete))
	m.route("POST /api/webauthn/credentials/{id}/verify", auth.User(webAuthn.BeginVerify))
	m.route("POST /api/webauthn/credentials/{id}/verify_complete", auth.User(webAuthn.CompleteVerify))

	socialAccounts := &api.SocialAccounts{SSO: d.SSO}
	m.route("GET "+web.SocialAccountsPath, auth.User(socialAccounts.List))
	m.route("DELETE "+web.SocialAccountsPath+"/{id}", auth.User(socialAccounts.Unlink))
	m.route("POST /disconnect/{backend}", auth.User(socialAccounts.Disconnect))
	m.route("POST /disconnect/{backend}/{id}", auth.User(socialAccounts.Disconnect))

	keys := &api.APIKeys{APIKeys: d.APIKeys}
	m.route("GET /api/personal_api_keys", auth.User(keys.List))
	m.route("POST /api/personal_api_keys", auth.User(keys.Create))
	m.key("GET /api/personal_api_keys/{id}", httpauth.KeyRoute{Self: true}, auth.User(keys.Get)) // a key may read itself
	m.route("PATCH /api/personal_api_keys/{id}", auth.User(keys.Update))
	m.route("PUT /api/personal_api_keys/{id}", auth.User(keys.Update))
	m.route("DELETE /api/personal_api_keys/{id}", auth.User(keys.Delete))
	m.route("POST /api/personal_api_keys/{id}/roll", auth.User(keys.Roll))

	// --- organizations ---
	members := &api.Members{Auth: auth, Members: d.Members}
	organizations := &api.Organizations{Organizations: d.Organizations}
	m.key("GET /api/organizations", scope("organization"), auth.User(members.ListOrganizations))
	m.key("GET /api/organizations/{org}", scope("organization"), auth.User(organizations.Get))
	m.key("PATCH /api/organizations/{org}", scope("organization"), auth.User(organizations.Update))
	m.key("GET /api/organizations/{org}/projects", scope("project"), auth.User(members.ListProjects))
	m.key("GET /api/organizations/{org}/members", scope("organization_member"), auth.User(members.List))
	m.key("GET /api/organizations/{org}/members/{user}", scope("organization_member"), auth.User(members.Get))
	m.key("PATCH /api/organizations/{org}/members/{user}", scope("organization_member"), auth.User(members.Update))
	m.key("PUT /api/organizations/{org}/members/{user}", scope("organization_member"), auth.User(members.Update))
	m.key("DELETE /api/organizations/{org}/members/{user}", scope("organization_member"), auth.User(members.Delete))
	m.key("GET /api/organizations/{org}/invites", scope("organization_member"), auth.User(invites.List))
	m.key("POST /api/organizations/{org}/invites", scope("organization_member"), auth.User(invites.Create))
	m.key("DELETE /api/organizations/{org}/invites/{id}", scope("organization_member"), auth.User(invites.Delete))

	domains := &api.Domains{Auth: auth, Domains: d.Domains}
	m.key("GET /api/organizations/{org}/domains", scope("organization"), auth.User(domains.List))
	m.key("POST /api/organizations/{org}/domains", scope("organization"), auth.User(domains.Create))
	m.key("GET /api/organizations/{org}/domains/{id}", scope("organization"), auth.User(domains.Get))
	m.key("PATCH /api/organizations/{org}/domains/{id}", scope("organization"), auth.User(domains.Update))
	m.key("DELETE /api/organizations/{org}/domains/{id}", scope("organization"), auth.User(domains.Delete))
	m.key("POST /api/organizations/{org}/domains/{id}/verify", scope("organization"), auth.User(domains.Verify))
	samlAdmin := &api.SAML{SAML: d.SAML}
	m.route("POST /api/organizations/{org}/domains/{id}/saml_metadata", auth.User(samlAdmin.UploadMetadata))
	m.route("GET /api/organizations/{org}/domains/{id}/saml", auth.User(samlAdmin.Options))
	m.route("PATCH /api/organizations/{org}/domains/{id}/saml", auth.User(samlAdmin.UpdateOptions))

	if d.Audit != nil {
		audit := &api.Audit{Auth: auth, Audit: d.Audit}
		m.key("GET /api/organizations/{org}/audit_log", scope("audit_log"), auth.User(audit.OrganizationLog))
		m.key("GET /api/users/@me/audit_log", scope("audit_log"), auth.User(audit.AccountLog))
	}

	// --- projects (PostHog's two names for them) and their flags ---
	projects := &api.Projects{Auth: auth, Organizations: d.Organizations}
	localEvaluation := auth.Session(httpauth.Bearer(flags.Definitions))
	for _, p := range api.ProjectPrefixes {
		m.key("GET "+p, httpauth.KeyRoute{Object: "project", CurrentOrg: true}, auth.User(projects.List))
		m.key("GET "+p+"/{project}", scope("project"), auth.User(projects.Get))
		m.key("PATCH "+p+"/{project}/reset_token", scope("project"), auth.User(projects.ResetToken))
		m.key("PATCH "+p+"/{project}/rotate_secret_token", scope("project"), auth.User(projects.RotateSecret))
		m.key("PATCH "+p+"/{project}/delete_secret_token_backup", scope("project"), auth.User(projects.DeleteSecretBackup))
		m.key("GET "+p+"/{project}/project_secret_api_keys", scope("project"), auth.User(projects.ListKeys))
		m.key("POST "+p+"/{project}/project_secret_api_keys", scope("project"), auth.User(projects.CreateKey))
		m.key("GET "+p+"/{project}/project_secret_api_keys/{id}", scope("project"), auth.User(projects.GetKey))
		m.key("PATCH "+p+"/{project}/project_secret_api_keys/{id}", scope("project"), auth.User(projects.UpdateKey))
		m.key("DELETE "+p+"/{project}/project_secret_api_keys/{id}", scope("project"), auth.User(projects.DeleteKey))
		m.key("POST "+p+"/{project}/project_secret_api_keys/{id}/roll", scope("project"), auth.User(projects.RollKey))

		f := p + "/{project}/feature_flags"
		m.key("GET "+f, scope("feature_flag"), auth.User(flags.List))
		m.key("POST "+f, scope("feature_flag"), auth.User(flags.Create))
		m.key("GET "+f+"/{id}", scope("feature_flag"), auth.User(flags.Get))
		m.key("PATCH "+f+"/{id}", scope("feature_flag"), auth.User(flags.Update))
		m.key("DELETE "+f+"/{id}", scope("feature_flag"), auth.User(flags.Delete))
		m.key("GET "+f+"/local_evaluation", api.LocalEvalRoute, localEvaluation)
		m.key("GET "+f+"/{id}/remote_config", api.LocalEvalRoute, auth.Session(httpauth.Bearer(config.Payload)))
	}
	m.key("GET /api/feature_flag/local_evaluation", api.LocalEvalRoute, localEvaluation)
	m.key("GET /flags/definitions", api.LocalEvalRoute, localEvaluation)

	// --- pages ---
	pages := &web.Pages{Auth: auth, Sessions: d.Sessions, Accounts: d.Accounts, Members: d.Members, Invites: d.Invites, Reset: d.Reset,
		Verifier: d.Verifier, Domains: d.Domains, SSO: d.SSO, SocialProviders: d.SocialProviders, SAMLAvailable: d.SAML != nil}
	m.route("GET /static/gatehouse.css", web.HandleStatic("text/css; charset=utf-8", web.Stylesheet))
	m.route("GET /static/login.js", web.HandleStatic("text/javascript; charset=utf-8", web.LoginScript))
	m.route("GET /static/webauthn.js", web.HandleStatic("text/javascript; charset=utf-8", web.WebauthnScript))
	m.route("GET /{$}", page(pages.Home))
	m.route("GET /login", web.Handler(pages.Login))
	m.route("POST /login", web.Handler(pages.LoginForm))
	m.route("GET /signup", web.Handler(pages.Signup))
	m.route("POST /signup", web.Handler(pages.SignupForm))
	m.route("GET /signup/{invite}", page(pages.Invite))
	m.route("POST /signup/{invite}", page(pages.InviteForm))
	m.route("GET /verify_email/{uuid}/{token}", web.Handler(pages.VerifyEmail))
	m.route("POST /verify_email/{uuid}/{token}", web.Handler(pages.VerifyEmailForm))
	m.route("GET /reset", web.Handler(pages.ResetRequest))
	m.route("POST /reset", web.Handler(pages.ResetRequestForm))
	m.route("GET /reset/{uuid}/{token}", web.Handler(pages.ResetPassword))
	m.route("POST /reset/{uuid}/{token}", web.Handler(pages.ResetPasswordForm))
	m.route("GET /settings", page(pages.Settings))
	m.route("POST /settings/profile", page(pages.Profile))
	m.route("POST /settings/password", page(pages.Password))
	m.route("POST /settings/sessions/{id}/revoke", page(pages.RevokeSession))

	twoFactorPages := &web.TwoFactorPages{Auth: auth, TwoFactor: d.TwoFactor}
	m.route("GET /login/token", web.Handler(twoFactorPages.LoginToken))
	m.route("POST /login/token", web.Handler(twoFactorPages.LoginTokenForm))
	m.route("GET /login/email-mfa", web.Handler(twoFactorPages.EmailMFA))
	m.route("POST /login/email-mfa", web.Handler(twoFactorPages.EmailMFAForm))
	m.route("POST /login/email-mfa/resend", web.Handler(twoFactorPages.EmailMFAResend))
	tf := httpauth.TwoFactorSetupPage
	m.route("GET "+tf, page(twoFactorPages.Page))
	m.route("POST "+tf+"/setup", page(twoFactorPages.Setup))
	m.route("POST "+tf+"/confirm", page(twoFactorPages.Confirm))
	m.route("POST "+tf+"/backup_codes", page(twoFactorPages.BackupCodes))
	m.route("POST "+tf+"/disable", page(twoFactorPages.Disable))
	m.route("POST "+tf+"/devices/{id}/forget", page(twoFactorPages.ForgetDevice))
	m.route("POST "+tf+"/devices/forget", page(twoFactorPages.ForgetDevices))

	passkeyPages := &web.PasskeyPages{Auth: auth, Passkeys: d.Passkeys, Domains: d.Domains}
	m.route("GET /settings/passkeys", page(passkeyPages.Page))

	domainPages := &web.DomainPages{Auth: auth, Accounts: d.Accounts, Domains: d.Domains, SAML: d.SAML}
	m.route("GET /settings/domains", page(domainPages.Page))
	m.route("POST /settings/domains", page(domainPages.Add))
	m.route("POST /settings/domains/{id}/verify", page(domainPages.Verify))
	m.route("POST /settings/domains/{id}/policy", page(domainPages.Policy))
	m.route("POST /settings/domains/{id}/saml", page(domainPages.SAMLSettings))
	m.route("POST /settings/domains/{id}/delete", page(domainPages.Delete))

	if d.Audit != nil {
		auditPages := &web.AuditPages{Auth: auth, Accounts: d.Accounts, Audit: d.Audit}
		m.route("GET /settings/audit_log", page(auditPages.OrganizationLog))
		m.route("GET /settings/security", page(auditPages.AccountLog))
	}

	// --- console pages: account, project, organization (issue 16 point 4) ---
	m.route("GET /static/copy_value.js", web.HandleStatic("text/javascript; charset=utf-8", web.CopyValueScript))
	accountPages := &web.AccountPages{Auth: auth, Accounts: d.Accounts, APIKeys: d.APIKeys, Members: d.Members, Organizations: d.Organizations, Lifecycle: d.Lifecycle}
	m.route("GET /account", page(accountPages.Account))
	m.route("POST /account/profile", page(accountPages.Profile))
	m.route("POST /account/email", page(accountPages.ChangeEmail))
	m.route("POST /account/password", page(accountPages.ChangePassword))
	m.route("POST /account/delete", page(accountPages.DeleteAccount))
	m.route("GET /account/keys", page(accountPages.Keys))
	m.route("POST /account/keys", page(accountPages.CreateKey))
	m.route("POST /account/keys/{id}/roll", page(accountPages.RollKey))
	m.route("POST /account/keys/{id}/delete", page(accountPages.DeleteKey))
	projectPages := &web.ProjectPages{Auth: auth, Organizations: d.Organizations}
	m.route("GET /project", page(projectPages.Page))
	m.route("POST /project/reset_token", page(projectPages.ResetToken))
	m.route("POST /project/keys", page(projectPages.CreateKey))
	m.route("POST /project/keys/{id}/roll", page(projectPages.RollKey))
	m.route("POST /project/keys/{id}/delete", page(projectPages.DeleteKey))
	organizationPages := &web.OrganizationPages{Auth: auth, Organizations: d.Organizations, Members: d.Members, Invites: d.Invites, TwoFactor: d.TwoFactor}
	m.route("GET /organization", page(organizationPages.Page))
	m.route("POST /organization/members/{uuid}/level", page(organizationPages.SetLevel))
	m.route("POST /organization/members/{uuid}/remove", page(organizationPages.RemoveMember))
	m.route("POST /organization/members/{uuid}/reset_2fa", page(organizationPages.ResetTwoFactor))
	m.route("POST /organization/invites", page(organizationPages.Invite))
	m.route("POST /organization/invites/{id}/revoke", page(organizationPages.RevokeInvite))
	m.route("POST /organization/security", page(organizationPages.Security))

	// --- pages: layout, logout, not found, scripts ---
	m.route("POST /logout", page(pages.Logout))
	m.route("GET /static/copy.js", web.HandleStatic("text/javascript; charset=utf-8", web.CopyScript))
	m.route("GET /static/strength.js", web.HandleStatic("text/javascript; charset=utf-8", web.StrengthScript))
	strength := &web.PasswordStrength{Auth: auth}
	m.route("POST /api/users/password_strength", httpauth.Handler(strength.Check))
	m.route("/", web.NotFound(httpauth.HandleNotFound(), auth))
}
