package web_test

import (
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"
	"github.com/gatehouse-auth/gatehouse/internal/testenv"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// TestBrowserSignupLogoutLogin drives the real pages in headless Chromium:
// sign up, log out, fail a login, log in, change the password in
// settings, and log in with the new one.
func TestBrowserSignupLogoutLogin(t *testing.T) {
	t.Parallel()
	testenv.Slow(t, "drives headless chromium through signup, logout and login")
	ctx := apitest.NewBrowserContext(t)
	ts := apitest.NewServer(t, store.SQLite, apitest.Options{Empty: true, SiteURL: "http://localhost:{port}"})
	// localhost is a secure context, so the Secure session cookie works
	// over plain http here as it does over https in production.
	base := strings.Replace(ts.URL, "127.0.0.1", "localhost", 1)

	step := apitest.Steps(t, ctx)
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("reading %s: %v", sel, err)
		}
		return v
	}
	step("sign up",
		chromedp.Navigate(base+"/signup"),
		chromedp.WaitVisible(`#first_name`),
		chromedp.SendKeys(`#first_name`, "Grace"),
		chromedp.SendKeys(`#last_name`, "Hopper"),
		chromedp.SendKeys(`#email`, "grace@example.com"),
		chromedp.SendKeys(`#password`, apitest.GoodPassword),
		chromedp.SendKeys(`#organization_name`, "Navy"),
		chromedp.Submit(`form[action="/signup"]`),
		chromedp.WaitVisible(`form[action="/logout"]`),
	)
	home := text(`main`)
	step("log out",
		chromedp.Submit(`form[action="/logout"]`),
		chromedp.WaitVisible(`form[action="/login"]`),
	)
	step("wrong password",
		chromedp.SendKeys(`#email`, "grace@example.com"),
		chromedp.SendKeys(`#password`, "not the password"),
		chromedp.Submit(`form[action="/login"]`),
		chromedp.WaitVisible(`#form-error`),
	)
	loginError := text(`#form-error`)
	step("log in",
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(`#email`),
		chromedp.SendKeys(`#email`, "grace@example.com"),
		chromedp.SendKeys(`#password`, apitest.GoodPassword),
		chromedp.Submit(`form[action="/login"]`),
		chromedp.WaitVisible(`form[action="/logout"]`),
	)
	afterLogin := text(`main`)
	newPassword := "lighthouse keeper 7 oranges"
	step("change the password in settings",
		chromedp.Navigate(base+"/settings"),
		chromedp.WaitVisible(`#current_password`),
		chromedp.SendKeys(`#current_password`, apitest.GoodPassword),
		chromedp.SendKeys(`#password`, newPassword),
		chromedp.Submit(`form[action="/settings/password"]`),
		chromedp.WaitVisible(`.notice`),
	)
	notice := text(`.notice`)
	step("log out and in with the new password",
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(`form[action="/logout"]`),
		chromedp.Submit(`form[action="/logout"]`),
		chromedp.WaitVisible(`form[action="/login"]`),
		chromedp.SendKeys(`#email`, "grace@example.com"),
		chromedp.SendKeys(`#password`, newPassword),
		chromedp.Submit(`form[action="/login"]`),
		chromedp.WaitVisible(`form[action="/logout"]`),
	)
	if !strings.Contains(notice, "password was changed") {
		t.Fatalf("settings notice: %q", notice)
	}
	if resp, _ := apitest.NewBrowser(t, ts).Login("grace@example.com", apitest.GoodPassword); resp.StatusCode != 400 {
		t.Fatalf("the old password still works after the change: %d", resp.StatusCode)
	}
	if !strings.Contains(home, "grace@example.com") {
		t.Fatalf("home after signup: %q", home)
	}
	if !strings.Contains(loginError, "Invalid email or password") {
		t.Fatalf("wrong-password message: %q", loginError)
	}
	if !strings.Contains(afterLogin, "grace@example.com") {
		t.Fatalf("home after login: %q", afterLogin)
	}
}
