package web_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi/web"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/mfa"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

var (
	totpSecretRE  = regexp.MustCompile(`<code id="totp-secret" class="secret">([A-Z2-7]{4}(?: [A-Z2-7]{1,4})*)</code>`)
	backupCodeRE  = regexp.MustCompile(`<li><code>([^<]+)</code></li>`)
	forgetFormRE  = regexp.MustCompile(`action="/settings/two_factor/devices/([0-9a-f-]{36})/forget"`)
	recentAuthMsg = "This action requires you to be recently authenticated."
)

// setupThroughPages starts TOTP set-up on /settings/two_factor and returns
// the secret shown on the page and the page.
func setupThroughPages(t *testing.T, b *apitest.Browser) ([]byte, string) {
	t.Helper()
	resp, page := b.PageForm(httpauth.TwoFactorSetupPage, httpauth.TwoFactorSetupPage+"/setup", nil)
	m := totpSecretRE.FindStringSubmatch(page)
	if resp.StatusCode != 200 || m == nil {
		t.Fatalf("set-up: %d\n%s", resp.StatusCode, page)
	}
	secret, err := mfa.DecodeSecret(m[1])
	if err != nil {
		t.Fatal(err)
	}
	return secret, page
}

func confirmThroughPages(b *apitest.Browser, secret []byte, code string) (*http.Response, string) {
	b.T.Helper()
	return b.PageForm(httpauth.TwoFactorSetupPage, httpauth.TwoFactorSetupPage+"/confirm", url.Values{"token": {code}, "secret": {mfa.EncodeSecret(secret)}})
}

func backupCodesOf(page string) []string {
	var out []string
	for _, m := range backupCodeRE.FindAllStringSubmatch(page, -1) {
		out = append(out, m[1])
	}
	return out
}

func TestTwoFactorSettingsPage(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		clock := apitest.NewClock()
		ts := apitest.NewServer(t, engine, apitest.Options{Now: clock.Now})
		if resp, _ := apitest.NewBrowser(t, ts).Page("GET", httpauth.TwoFactorSetupPage, nil); resp.StatusCode != 302 || resp.Header.Get("Location") != "/login?next="+httpauth.TwoFactorSetupPage {
			t.Fatalf("anonymous: %d %v", resp.StatusCode, resp.Header)
		}
		b := apitest.OwnerBrowser(t, ts)
		resp, page := b.Page("GET", httpauth.TwoFactorSetupPage, nil)
		if resp.StatusCode != 200 || !strings.Contains(page, "is <strong>off</strong>") || !strings.Contains(page, `action="/settings/two_factor/setup"`) ||
			!strings.HasPrefix(resp.Header.Get("Content-Security-Policy"), "default-src 'self'") || resp.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("status page: %d %v\n%s", resp.StatusCode, resp.Header, page)
		}
		if _, settings := b.Page("GET", "/settings", nil); !strings.Contains(settings, `href="/settings/two_factor"`) {
			t.Fatal("no link from /settings")
		}
		// Forms without the CSRF token are refused.
		for _, p := range []string{"/setup", "/confirm", "/backup_codes", "/disable", "/devices/forget"} {
			if resp, _ := b.Page("POST", httpauth.TwoFactorSetupPage+p, url.Values{"token": {"123456"}}); resp.StatusCode != 403 {
				t.Fatalf("%s without CSRF: %d", p, resp.StatusCode)
			}
		}

		secret, page := setupThroughPages(t, b)
		// The QR code is drawn here, from the otpauth URI of that secret.
		svg, err := web.QRSVG(mfa.URI(secret, gatehouse.TOTPIssuer, "owner@example.com"))
		if err != nil || !strings.Contains(page, string(svg)) || strings.Contains(page, "<img") {
			t.Fatalf("QR code missing or not the secret's (%v):\n%s", err, page)
		}
		// A wrong code is shown next to the field, with the same secret.
		resp, page = confirmThroughPages(b, secret, mfa.Code(secret, mfa.Step(clock.Now())+5))
		shown := totpSecretRE.FindStringSubmatch(page)
		if resp.StatusCode != 400 || !strings.Contains(page, `id="token-error">Invalid authentication code`) || shown == nil || strings.ReplaceAll(shown[1], " ", "") != mfa.EncodeSecret(secret) {
			t.Fatalf("wrong code: %d\n%s", resp.StatusCode, page)
		}
		// A posted "secret" is only shown if it is one.
		resp, page = b.PageForm(httpauth.TwoFactorSetupPage, httpauth.TwoFactorSetupPage+"/confirm", url.Values{"token": {"000000"}, "secret": {`<script>alert(1)</script>`}})
		if resp.StatusCode != 400 || strings.Contains(page, "alert(1)") || strings.Contains(page, `id="totp-secret"`) {
			t.Fatalf("forged secret field: %d\n%s", resp.StatusCode, page)
		}
		if len(apitest.MailsWithSubject(ts, "You've enabled 2FA protection")) != 0 {
			t.Fatal("enabled before a right code")
		}
		resp, page = confirmThroughPages(b, secret, clock.Code(secret))
		codes := backupCodesOf(page)
		if resp.StatusCode != 200 || len(codes) != 10 || !strings.Contains(page, "shown only once") {
			t.Fatalf("confirm: %d %v\n%s", resp.StatusCode, codes, page)
		}
		if len(apitest.MailsWithSubject(ts, "You've enabled 2FA protection")) != 1 {
			t.Fatal("no 2FA-enabled email")
		}
		// The codes are never shown again, only their number.
		_, page = b.Page("GET", httpauth.TwoFactorSetupPage, nil)
		if !strings.Contains(page, "is <strong>on</strong>") || !strings.Contains(page, "10 of 10 backup codes left") || strings.Contains(page, codes[0]) {
			t.Fatalf("status after set-up:\n%s", page)
		}
		// The set-up is spent: confirming again is refused.
		clock.Add(30 * time.Second)
		if resp, page := confirmThroughPages(b, secret, clock.Code(secret)); resp.StatusCode != 400 || !strings.Contains(page, "setup session expired") {
			t.Fatalf("second confirm: %d\n%s", resp.StatusCode, page)
		}

		// New backup codes replace the old ones.
		resp, page = b.PageForm(httpauth.TwoFactorSetupPage, httpauth.TwoFactorSetupPage+"/backup_codes", nil)
		fresh := backupCodesOf(page)
		if resp.StatusCode != 200 || len(fresh) != 10 || fresh[0] == codes[0] {
			t.Fatalf("regenerate: %d %v\n%s", resp.StatusCode, fresh, page)
		}
		login := apitest.NewBrowser(t, ts)
		login.Login("owner@example.com", apitest.OwnerPassword)
		if resp, body := login.Token(codes[0]); resp.StatusCode != 400 {
			t.Fatalf("old backup code after regenerating: %d %v", resp.StatusCode, body)
		}

		// Past two hours, the sensitive actions are refused with the rule's message.
		clock.Add(2*time.Hour + time.Minute)
		_, page = b.Page("GET", httpauth.TwoFactorSetupPage, nil)
		if !strings.Contains(page, `id="reauth"`) {
			t.Fatalf("no re-authentication notice:\n%s", page)
		}
		for _, p := range []string{"/backup_codes", "/disable"} {
			resp, page := b.PageForm(httpauth.TwoFactorSetupPage, httpauth.TwoFactorSetupPage+p, nil)
			if resp.StatusCode != 403 || !strings.Contains(page, recentAuthMsg) || len(backupCodesOf(page)) != 0 {
				t.Fatalf("%s on an old session: %d\n%s", p, resp.StatusCode, page)
			}
		}
		if _, page := b.Page("GET", httpauth.TwoFactorSetupPage, nil); !strings.Contains(page, "is <strong>on</strong>") {
			t.Fatal("an old session turned 2FA off")
		}

		// A fresh sign-in turns it off.
		b2 := apitest.OwnerBrowserWith2FA(t, ts, secret, clock)
		resp, _ = b2.PageForm(httpauth.TwoFactorSetupPage, httpauth.TwoFactorSetupPage+"/disable", nil)
		if resp.StatusCode != 303 || resp.Header.Get("Location") != httpauth.TwoFactorSetupPage+"?done=disabled" {
			t.Fatalf("disable: %d %v", resp.StatusCode, resp.Header)
		}
		if _, page := b2.Page("GET", resp.Header.Get("Location"), nil); !strings.Contains(page, "is <strong>off</strong>") || !strings.Contains(page, "was turned off") {
			t.Fatalf("after disabling:\n%s", page)
		}
		if len(apitest.MailsWithSubject(ts, "You've disabled 2FA protection")) != 1 {
			t.Fatal("no 2FA-disabled email")
		}
		// An old session cannot start a set-up either: no secret is shown.
		// (The page offers no set-up form then; post it as a stale tab would.)
		resp, page = b.Page("POST", httpauth.TwoFactorSetupPage+"/setup", url.Values{httpauth.CSRFFormField: {b.Cookie(httpauth.CSRFCookie)}})
		if resp.StatusCode != 403 || !strings.Contains(page, recentAuthMsg) || strings.Contains(page, `id="totp-secret"`) {
			t.Fatalf("set-up on an old session: %d\n%s", resp.StatusCode, page)
		}
	})
}

func TestLoginSecondStepPages(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		clock := apitest.NewClock()
		ts := apitest.NewServer(t, engine, apitest.Options{Now: clock.Now})
		secret, codes := apitest.EnableTOTP(t, apitest.OwnerBrowser(t, ts), clock.Now())
		loginForm := func(b *apitest.Browser, next string) *http.Response {
			t.Helper()
			fields := url.Values{"email": {"owner@example.com"}, "password": {apitest.OwnerPassword}}
			if next != "" {
				fields.Set("next", next)
			}
			resp, _ := b.PageForm("/login", "/login", fields)
			return resp
		}
		if resp, _ := apitest.NewBrowser(t, ts).Page("GET", "/login/token", nil); resp.StatusCode != 303 || !strings.HasPrefix(resp.Header.Get("Location"), "/login?message=") {
			t.Fatalf("code page without a pending login: %d %v", resp.StatusCode, resp.Header)
		}

		b := apitest.NewBrowser(t, ts)
		resp := loginForm(b, "/settings")
		if resp.StatusCode != 303 || resp.Header.Get("Location") != "/login/token?next=%2Fsettings" || b.Cookie("sessionid") != "" || b.Cookie(httpauth.PendingLoginCookie) == "" {
			t.Fatalf("password step: %d %v", resp.StatusCode, resp.Header)
		}
		resp, page := b.Page("GET", resp.Header.Get("Location"), nil)
		if resp.StatusCode != 200 || !strings.Contains(page, `name="token"`) || !strings.Contains(page, `name="next" value="/settings"`) {
			t.Fatalf("code page: %d\n%s", resp.StatusCode, page)
		}
		if resp, _ := b.Page("POST", "/login/token", url.Values{"token": {clock.Code(secret)}}); resp.StatusCode != 403 {
			t.Fatalf("code without CSRF: %d", resp.StatusCode)
		}
		submitCode := func(b *apitest.Browser, code string) (*http.Response, string) {
			t.Helper()
			resp, page := b.Page("GET", "/login/token", nil)
			if resp.StatusCode != 200 {
				t.Fatalf("code page: %d", resp.StatusCode)
			}
			return b.Page("POST", "/login/token", url.Values{httpauth.CSRFFormField: {apitest.FormToken(t, page)}, "token": {code}, "next": {"/settings"}, "remember": {"on"}})
		}
		// Wrong codes, a replay of the set-up code and junk: next to the field.
		for _, bad := range []string{mfa.Code(secret, mfa.Step(clock.Now())+3), clock.Code(secret), "abc", ""} {
			resp, page := submitCode(b, bad)
			if resp.StatusCode != 400 || !strings.Contains(page, `id="token-error">`) || b.Cookie("sessionid") != "" {
				t.Fatalf("code %q: %d\n%s", bad, resp.StatusCode, page)
			}
		}
		resp, _ = submitCode(b, mfa.Code(secret, mfa.Step(clock.Now())+1))
		if resp.StatusCode != 303 || resp.Header.Get("Location") != "/settings" || b.Cookie("sessionid") == "" || apitest.SetCookieHeader(resp, httpauth.RememberCookiePrefix) == "" {
			t.Fatalf("right code: %d %v", resp.StatusCode, resp.Header)
		}
		if resp, _ := b.Page("GET", "/settings", nil); resp.StatusCode != 200 {
			t.Fatalf("settings after the second step: %d", resp.StatusCode)
		}
		// The remembered browser skips the step next time.
		_, home := b.Page("GET", "/", nil)
		b.Page("POST", "/logout", url.Values{httpauth.CSRFFormField: {apitest.FormToken(t, home)}})
		if resp := loginForm(b, ""); resp.StatusCode != 303 || resp.Header.Get("Location") != "/" {
			t.Fatalf("remembered browser: %d %v", resp.StatusCode, resp.Header)
		}

		// A backup code works once and is reported by email.
		c := apitest.NewBrowser(t, ts)
		loginForm(c, "")
		resp, _ = submitCode(c, " "+strings.ToUpper(codes[2])+" ")
		if resp.StatusCode != 303 || c.Cookie("sessionid") == "" {
			t.Fatalf("backup code: %d %v", resp.StatusCode, resp.Header)
		}
		if m := apitest.MailsWithSubject(ts, "A backup code was used for your account"); len(m) != 1 {
			t.Fatalf("backup-code emails: %d", len(m))
		}
		c2 := apitest.NewBrowser(t, ts)
		loginForm(c2, "")
		if resp, page := submitCode(c2, codes[2]); resp.StatusCode != 400 || !strings.Contains(page, `id="token-error">Invalid authentication code`) {
			t.Fatalf("spent backup code: %d\n%s", resp.StatusCode, page)
		}

		// The second step expires 600 s after the password step.
		clock.Add(time.Minute)
		e := apitest.NewBrowser(t, ts)
		loginForm(e, "/settings")
		clock.Add(601 * time.Second)
		resp, _ = submitCode(e, clock.Code(secret))
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != 303 || loc.Path != "/login" || !strings.Contains(loc.Query().Get("message"), "expired") || loc.Query().Get("next") != "/settings" ||
			e.Cookie(httpauth.PendingLoginCookie) != "" {
			t.Fatalf("expired: %d %v", resp.StatusCode, resp.Header)
		}
		if resp, page := e.Page("GET", loc.String(), nil); !strings.Contains(page, "Login attempt has expired") {
			t.Fatalf("login page after expiry: %d\n%s", resp.StatusCode, page)
		}

		// Ten attempts a minute, then the throttle message at the top.
		clock.Add(time.Minute)
		f := apitest.NewBrowser(t, ts)
		loginForm(f, "")
		wrong := mfa.Code(secret, mfa.Step(clock.Now())+7)
		for i := 0; i < 10; i++ {
			if resp, _ := submitCode(f, wrong); resp.StatusCode != 400 {
				t.Fatalf("attempt %d: %d", i+1, resp.StatusCode)
			}
		}
		resp, page = submitCode(f, clock.Code(secret))
		if resp.StatusCode != 429 || !strings.Contains(page, `id="form-error">Request was throttled.`) || resp.Header.Get("Retry-After") == "" || f.Cookie("sessionid") != "" {
			t.Fatalf("throttled: %d %v\n%s", resp.StatusCode, resp.Header, page)
		}
	})
}

func TestEmailMFAPages(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		clock := apitest.NewClock()
		ts := apitest.NewServer(t, engine, apitest.Options{Now: clock.Now, EmailMFA: true})
		login := func(b *apitest.Browser) (*http.Response, string) {
			t.Helper()
			return b.PageForm("/login", "/login", url.Values{"email": {"owner@example.com"}, "password": {apitest.OwnerPassword}})
		}
		b := apitest.NewBrowser(t, ts)
		resp, page := login(b)
		if resp.StatusCode != 200 || !strings.Contains(page, "Check your email") || !strings.Contains(page, `action="/login/email-mfa/resend"`) ||
			b.Cookie("sessionid") != "" || b.Cookie(httpauth.PendingLoginCookie) == "" {
			t.Fatalf("password step: %d\n%s", resp.StatusCode, page)
		}
		email, token := apitest.EmailMFAToken(t, ts)
		landing := "/login/email-mfa?" + url.Values{"email": {email}, "token": {token}}.Encode()

		// The link's page asks for a click; fetching it spends nothing.
		phone := apitest.NewBrowser(t, ts)
		for i := 0; i < 2; i++ {
			resp, page = phone.Page("GET", landing, nil)
			if resp.StatusCode != 200 || !strings.Contains(page, `action="/login/email-mfa"`) || !strings.Contains(page, `value="`+html.EscapeString(token)+`"`) || phone.Cookie("sessionid") != "" {
				t.Fatalf("landing page: %d\n%s", resp.StatusCode, page)
			}
		}
		if resp, page := phone.Page("GET", "/login/email-mfa?email=owner%40example.com", nil); resp.StatusCode != 400 || strings.Contains(page, `action="/login/email-mfa"`) {
			t.Fatalf("link without token: %d\n%s", resp.StatusCode, page)
		}
		if resp, _ := phone.Page("POST", "/login/email-mfa", url.Values{"email": {email}, "token": {token}}); resp.StatusCode != 403 {
			t.Fatalf("without CSRF: %d", resp.StatusCode)
		}
		resp, page = phone.PageForm(landing, "/login/email-mfa", url.Values{"email": {email}, "token": {apitest.FlipLast(token)}})
		if resp.StatusCode != 400 || !strings.Contains(page, "invalid or has expired") || phone.Cookie("sessionid") != "" {
			t.Fatalf("tampered token: %d\n%s", resp.StatusCode, page)
		}
		// Completed in another browser than the password step.
		resp, _ = phone.PageForm(landing, "/login/email-mfa", url.Values{"email": {email}, "token": {token}})
		if resp.StatusCode != 303 || resp.Header.Get("Location") != "/" || phone.Cookie("sessionid") == "" || apitest.SetCookieHeader(resp, httpauth.RememberCookiePrefix) == "" {
			t.Fatalf("email MFA: %d %v", resp.StatusCode, resp.Header)
		}
		if resp, _ := phone.Page("GET", "/settings", nil); resp.StatusCode != 200 {
			t.Fatalf("signed in: %d", resp.StatusCode)
		}
		if resp, _ := apitest.NewBrowser(t, ts).PageForm(landing, "/login/email-mfa", url.Values{"email": {email}, "token": {token}}); resp.StatusCode != 400 {
			t.Fatalf("reused link: %d", resp.StatusCode)
		}

		// Resending needs the pending login of this browser.
		resp, _ = apitest.NewBrowser(t, ts).PageForm("/login", "/login/email-mfa/resend", nil)
		if resp.StatusCode != 303 || !strings.HasPrefix(resp.Header.Get("Location"), "/login?message=") {
			t.Fatalf("resend without a pending login: %d %v", resp.StatusCode, resp.Header)
		}
		clock.Add(time.Hour)
		r := apitest.NewBrowser(t, ts)
		login(r) // the first link this hour
		before := len(apitest.MailsWithSubject(ts, "Confirm your sign-in to Gatehouse"))
		for i := 2; i <= 5; i++ {
			resp, page := r.PageForm("/login", "/login/email-mfa/resend", nil)
			if resp.StatusCode != 200 || !strings.Contains(page, "We sent a new link") {
				t.Fatalf("resend %d: %d\n%s", i, resp.StatusCode, page)
			}
		}
		if n := len(apitest.MailsWithSubject(ts, "Confirm your sign-in to Gatehouse")) - before; n != 4 {
			t.Fatalf("%d links resent", n)
		}
		resp, page = r.PageForm("/login", "/login/email-mfa/resend", nil)
		if resp.StatusCode != 429 || !strings.Contains(page, `id="form-error">Request was throttled.`) {
			t.Fatalf("6th link in an hour: %d\n%s", resp.StatusCode, page)
		}
		_, token = apitest.EmailMFAToken(t, ts)
		if resp, _ := r.PageForm(landing, "/login/email-mfa", url.Values{"email": {email}, "token": {token}}); resp.StatusCode != 303 {
			t.Fatalf("newest link: %d", resp.StatusCode)
		}
	})
}

func TestTrustedDevicesPage(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		clock := apitest.NewClock()
		ts := apitest.NewServer(t, engine, apitest.Options{Now: clock.Now})
		secret, _ := apitest.EnableTOTP(t, apitest.OwnerBrowser(t, ts), clock.Now())
		a := apitest.OwnerBrowserWith2FA(t, ts, secret, clock)
		b := apitest.OwnerBrowserWith2FA(t, ts, secret, clock)
		deviceOf := func(b *apitest.Browser) string {
			u, _ := url.Parse(ts.URL)
			for _, c := range b.Jar.Cookies(u) {
				if id, ok := strings.CutPrefix(c.Name, httpauth.RememberCookiePrefix); ok {
					return id
				}
			}
			t.Fatalf("no remember cookie in %v", b.Jar.Cookies(u))
			return ""
		}
		_, page := a.Page("GET", httpauth.TwoFactorSetupPage, nil)
		ids := forgetFormRE.FindAllStringSubmatch(page, -1)
		if len(ids) != 2 || strings.Count(page, "(this browser)") != 1 {
			t.Fatalf("devices: %v\n%s", ids, page)
		}
		if resp, _ := a.Page("POST", httpauth.TwoFactorSetupPage+"/devices/"+deviceOf(b)+"/forget", url.Values{}); resp.StatusCode != 403 {
			t.Fatalf("forget without CSRF: %d", resp.StatusCode)
		}
		resp, page := a.PageForm(httpauth.TwoFactorSetupPage, httpauth.TwoFactorSetupPage+"/devices/"+gatehouse.NewUUID()+"/forget", nil)
		if resp.StatusCode != 404 || !strings.Contains(page, "Trusted device not found.") {
			t.Fatalf("unknown device: %d\n%s", resp.StatusCode, page)
		}
		resp, _ = a.PageForm(httpauth.TwoFactorSetupPage, httpauth.TwoFactorSetupPage+"/devices/"+deviceOf(b)+"/forget", nil)
		if resp.StatusCode != 303 || resp.Header.Get("Location") != httpauth.TwoFactorSetupPage+"?done=forget_device" || apitest.SetCookieHeader(resp, httpauth.RememberCookiePrefix) != "" {
			t.Fatalf("forget b: %d %v", resp.StatusCode, resp.Header)
		}
		b.Send("POST", "/api/logout/", "", true)
		if resp, body := b.Login("owner@example.com", apitest.OwnerPassword); resp.StatusCode != 401 || body["code"] != "2fa_required" {
			t.Fatalf("forgotten browser skipped the step: %d %v", resp.StatusCode, body)
		}
		if _, page := a.Page("GET", httpauth.TwoFactorSetupPage, nil); len(forgetFormRE.FindAllString(page, -1)) != 1 || !strings.Contains(page, "(this browser)") {
			t.Fatalf("after forgetting one:\n%s", page)
		}
		aID := deviceOf(a)
		resp, _ = a.PageForm(httpauth.TwoFactorSetupPage, httpauth.TwoFactorSetupPage+"/devices/forget", nil)
		if resp.StatusCode != 303 || !strings.Contains(apitest.SetCookieHeader(resp, httpauth.RememberCookiePrefix+aID+"="), "Max-Age=0") {
			t.Fatalf("forget all: %d %v", resp.StatusCode, resp.Header)
		}
		if _, page := a.Page("GET", httpauth.TwoFactorSetupPage+"?done=forget_devices", nil); !strings.Contains(page, `id="no-trusted-devices"`) || !strings.Contains(page, "No browser is trusted any more") {
			t.Fatalf("after forgetting all:\n%s", page)
		}
	})
}

func TestTwoFactorPageUnderEnforcement(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		clock := apitest.NewClock()
		ts := apitest.NewServer(t, engine, apitest.Options{Now: clock.Now})
		b := apitest.OwnerBrowser(t, ts)
		old := apitest.OwnerBrowser(t, ts)
		apitest.Enforce2FA(t, ts)
		if resp, _ := b.Page("GET", "/settings", nil); resp.StatusCode != 302 || resp.Header.Get("Location") != httpauth.TwoFactorSetupPage {
			t.Fatalf("settings under enforcement: %d %v", resp.StatusCode, resp.Header)
		}
		resp, page := b.Page("GET", httpauth.TwoFactorSetupPage, nil)
		if resp.StatusCode != 200 || !strings.Contains(page, "requires two-factor authentication. Set it up") {
			t.Fatalf("set-up page under enforcement: %d\n%s", resp.StatusCode, page)
		}
		secret, _ := setupThroughPages(t, b)
		if resp, page := confirmThroughPages(b, secret, clock.Code(secret)); resp.StatusCode != 200 || len(backupCodesOf(page)) != 10 {
			t.Fatalf("confirm under enforcement: %d\n%s", resp.StatusCode, page)
		}
		if resp, _ := b.Page("GET", "/settings", nil); resp.StatusCode != 200 {
			t.Fatalf("settings after set-up: %d", resp.StatusCode)
		}
		// A session that never passed 2FA is told to log in again.
		resp, page = old.Page("GET", httpauth.TwoFactorSetupPage, nil)
		if resp.StatusCode != 200 || !strings.Contains(page, "this session did not pass it") || !strings.Contains(page, `action="/logout"`) {
			t.Fatalf("unverified session: %d\n%s", resp.StatusCode, page)
		}
	})
}

// The key typed by hand is shown in groups of four, and the backup codes,
// shown once, can be copied or saved as a file (the buttons appear with
// the script; the codes stay selectable text without it).
func TestTwoFactorSetupAids(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		b := apitest.OwnerBrowser(t, ts)
		secret, page := setupThroughPages(t, b)
		grouped := regexp.MustCompile(`<code id="totp-secret" class="secret">([A-Z2-7]{4} )+[A-Z2-7]{1,4}</code>`)
		if !grouped.MatchString(page) || !strings.Contains(page, `data-copy="totp-secret"`) {
			t.Fatalf("secret not grouped by four with a copy button:\n%s", page)
		}
		clock := mfa.Code(secret, mfa.Step(time.Now()))
		resp, page := confirmThroughPages(b, secret, clock)
		if resp.StatusCode != 200 || len(backupCodeRE.FindAllStringSubmatch(page, -1)) != 10 {
			t.Fatalf("confirm: %d\n%s", resp.StatusCode, page)
		}
		for _, want := range []string{`id="backup-code-list"`, `data-copy="backup-code-list"`, `data-download="backup-code-list"`, `data-filename="gatehouse-backup-codes.txt"`, `src="/static/copy.js"`} {
			if !strings.Contains(page, want) {
				t.Errorf("backup codes page lacks %s", want)
			}
		}
		if js := b.Get("/static/copy.js"); js.StatusCode != 200 {
			t.Errorf("copy.js: %d", js.StatusCode)
		}
	})
}
