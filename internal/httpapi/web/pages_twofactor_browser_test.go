package web_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"
	"github.com/gatehouse-auth/gatehouse/internal/testenv"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse-auth/gatehouse/internal/mfa"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// TestBrowserTwoFactor drives the two-factor pages in headless Chromium:
// sign up, turn on TOTP from the settings page with the secret read off
// the page, log out, and log in again with a code the test computes; the
// browser is then remembered and skips the step.
func TestBrowserTwoFactor(t *testing.T) {
	t.Parallel()
	testenv.Slow(t, "drives headless chromium through 2FA set-up and the second step")
	ctx := apitest.NewBrowserContext(t)
	ts := apitest.NewServer(t, store.SQLite, apitest.Options{Empty: true, SiteURL: "http://localhost:{port}"})
	base := strings.Replace(ts.URL, "127.0.0.1", "localhost", 1)

	step := apitest.Steps(t, ctx)
	read := func(what string, a chromedp.Action[string]) string {
		t.Helper()
		v, err := chromedp.Run(ctx, a)
		if err != nil {
			t.Fatalf("reading %s: %v", what, err)
		}
		return v
	}
	const email = "katherine@example.com"
	logIn := func(what string, then string) {
		t.Helper()
		step(what,
			chromedp.Navigate(base+"/login"),
			chromedp.WaitVisible(`#email`),
			chromedp.SendKeys(`#email`, email),
			chromedp.SendKeys(`#password`, apitest.GoodPassword),
			chromedp.Submit(`form[action="/login"]`),
			chromedp.WaitVisible(then),
		)
	}
	logOut := func() {
		t.Helper()
		step("log out",
			chromedp.Navigate(base+"/"),
			chromedp.WaitVisible(`form[action="/logout"]`),
			chromedp.Submit(`form[action="/logout"]`),
			chromedp.WaitVisible(`form[action="/login"]`),
		)
	}

	step("sign up",
		chromedp.Navigate(base+"/signup"),
		chromedp.WaitVisible(`#first_name`),
		chromedp.SendKeys(`#first_name`, "Katherine"),
		chromedp.SendKeys(`#last_name`, "Johnson"),
		chromedp.SendKeys(`#email`, email),
		chromedp.SendKeys(`#password`, apitest.GoodPassword),
		chromedp.SendKeys(`#organization_name`, "NASA"),
		chromedp.Submit(`form[action="/signup"]`),
		chromedp.WaitVisible(`form[action="/logout"]`),
	)
	step("open the 2FA page from the settings",
		chromedp.Navigate(base+"/settings"),
		chromedp.WaitVisible(`a[href="/settings/two_factor"]`),
		chromedp.Click(`a[href="/settings/two_factor"]`),
		chromedp.WaitVisible(`form[action="/settings/two_factor/setup"]`),
	)
	step("start set-up",
		chromedp.Submit(`form[action="/settings/two_factor/setup"]`),
		chromedp.WaitVisible(`#totp-secret`),
		chromedp.WaitVisible(`.qr svg`),
	)
	secret, err := mfa.DecodeSecret(read("the secret", chromedp.Text(`#totp-secret`)))
	if err != nil || len(secret) == 0 {
		t.Fatalf("secret on the page: %v", err)
	}
	step("confirm with a code",
		chromedp.SendKeys(`#token`, mfa.Code(secret, mfa.Step(time.Now()))),
		chromedp.Submit(`form[action="/settings/two_factor/confirm"]`),
		chromedp.WaitVisible(`#backup-codes`),
	)
	codes := read("the backup codes", chromedp.Text(`#backup-codes ul`))
	step("back to the status",
		chromedp.Click(`#backup-codes a`),
		chromedp.WaitVisible(`#backup-remaining`),
	)
	status := read("the status", chromedp.Text(`#status`))

	logOut()
	logIn("password step", `#token`)
	loc, err := url.Parse(read("the second step's address", chromedp.Location()))
	if err != nil || loc.Path != "/login/token" {
		t.Fatalf("after the password: %v %v", loc, err)
	}
	// The set-up used this step's code: the next step's is within the
	// tolerance and not a replay.
	step("second step, remembering the browser",
		chromedp.WaitVisible(`#step-indicator`),
		chromedp.SendKeys(`#token`, mfa.Code(secret, mfa.Step(time.Now())+1)),
		chromedp.Click(`#remember`),
		chromedp.Submit(`form[action="/login/token"]`),
		chromedp.WaitVisible(`form[action="/logout"]`),
	)
	home := read("home", chromedp.Text(`main`))

	logOut()
	logIn("remembered browser", `form[action="/logout"]`)

	if n := len(strings.Fields(codes)); n != 10 {
		t.Fatalf("%d backup codes shown: %q", n, codes)
	}
	if !strings.Contains(status, "is on") || !strings.Contains(status, "10 of 10 backup codes left") {
		t.Fatalf("status after set-up: %q", status)
	}
	if !strings.Contains(home, email) {
		t.Fatalf("home after the second step: %q", home)
	}
}
