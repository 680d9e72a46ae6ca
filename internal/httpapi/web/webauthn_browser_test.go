package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"
	"github.com/gatehouse-auth/gatehouse/internal/testenv"

	"github.com/chromedp/cdproto/cdp"
	cdpwebauthn "github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// addVirtualAuthenticator gives the browser a platform passkey
// authenticator (ctap2, internal transport, resident keys, user
// verification) that answers without a person: AutomaticPresenceSimulation
// must be on or create() waits forever.
func addVirtualAuthenticator() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, cdpwebauthn.Enable, cdpwebauthn.EnableParams{}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, t, cdpwebauthn.AddVirtualAuthenticator, cdpwebauthn.AddVirtualAuthenticatorParams{
			Options: &cdpwebauthn.VirtualAuthenticatorOptions{
				Protocol: cdpwebauthn.AuthenticatorProtocolCtap2, Ctap2version: cdpwebauthn.Ctap2versionCtap21,
				Transport: cdpwebauthn.AuthenticatorTransportInternal, HasResidentKey: true, HasUserVerification: true,
				IsUserVerified: true, AutomaticPresenceSimulation: true,
			}})
		return err
	})
}

// TestBrowserPasskeys drives the passkey pages in headless Chromium with
// the DevTools virtual authenticator, on http://localhost:PORT with RP ID
// localhost: add a passkey (registration and its proof of possession),
// rename it, make it the second factor, log out, sign in with it alone,
// sign in with the password and the passkey as second step, and delete it.
func TestBrowserPasskeys(t *testing.T) {
	t.Parallel()
	testenv.Slow(t, "drives headless chromium with a virtual authenticator")
	ctx := apitest.NewBrowserContext(t)
	ts := apitest.NewServer(t, store.SQLite, apitest.Options{SiteURL: "http://localhost:{port}"})
	base := strings.Replace(ts.URL, "127.0.0.1", "localhost", 1)

	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v (server log: %s)", what, err, apitest.LastLines(ts.Logs.String(), 5))
		}
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("reading %s: %v", sel, err)
		}
		return v
	}
	// wantNotice waits for the page the script goes to after an action,
	// whose notice says want. The previous page may still show an older
	// notice, and navigation may interrupt a read: both are retried.
	wantNotice := func(what, want string) {
		t.Helper()
		got := ""
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector(".notice, #passkey-status:not([hidden])") || {}).textContent || ""`))
			if err == nil {
				got = v
			}
			if strings.Contains(got, want) {
				return
			}
		}
		t.Fatalf("%s: notice %q, want %q (server log: %s)", what, got, want, apitest.LastLines(ts.Logs.String(), 5))
	}
	logout := func() {
		t.Helper()
		step("log out",
			chromedp.Navigate(base+"/"),
			chromedp.WaitVisible(`form[action="/logout"]`),
			chromedp.Submit(`form[action="/logout"]`),
			chromedp.WaitVisible(`form[action="/login"]`),
		)
	}

	step("log in with the password",
		chromedp.Navigate(base+"/login"),
		addVirtualAuthenticator(),
		chromedp.WaitVisible(`#email`),
		chromedp.SendKeys(`#email`, "owner@example.com"),
		chromedp.SendKeys(`#password`, apitest.OwnerPassword),
		chromedp.Submit(`form[action="/login"]`),
		chromedp.WaitVisible(`form[action="/logout"]`),
	)
	step("add and verify a passkey",
		chromedp.Navigate(base+"/settings"),
		chromedp.Click(`a[href="/settings/passkeys"]`),
		chromedp.WaitVisible(`#passkey-add`),
		chromedp.SendKeys(`#passkey-label`, "Laptop"),
		// A click, not Submit: form.submit() skips the script's handler.
		chromedp.Click(`#passkey-add button`),
	)
	wantNotice("add", "added and verified")
	if row := text(`#passkey-list tbody`); !strings.Contains(row, "Verified") || !strings.Contains(row, "platform") {
		t.Fatalf("passkey row: %q", row)
	}
	step("rename it",
		chromedp.SetValue(`form[data-passkey-rename] input`, "Work laptop"),
		chromedp.Click(`form[data-passkey-rename] button`),
	)
	wantNotice("rename", "renamed")
	step("make passkeys the second factor", chromedp.Click(`#passkey-2fa`))
	wantNotice("2FA on", "now your second factor")

	logout()
	step("sign in with the passkey alone",
		chromedp.WaitVisible(`#passkey-login`),
		chromedp.Click(`#passkey-login`),
		chromedp.WaitVisible(`form[action="/logout"]`),
	)
	if home := text(`main`); !strings.Contains(home, "owner@example.com") {
		t.Fatalf("home after passkey login: %q", home)
	}

	logout()
	step("password, then the passkey as second step",
		chromedp.SendKeys(`#email`, "owner@example.com"),
		chromedp.SendKeys(`#password`, apitest.OwnerPassword),
		chromedp.Submit(`form[action="/login"]`),
		chromedp.WaitVisible(`#passkey-second-factor`),
		chromedp.Click(`#passkey-second-factor`),
		chromedp.WaitVisible(`form[action="/logout"]`),
	)

	step("delete the passkey",
		chromedp.Navigate(base+"/settings/passkeys"),
		chromedp.WaitVisible(`[data-passkey-delete]`),
		chromedp.Click(`[data-passkey-delete]`),
		chromedp.WaitVisible(`[data-passkey-delete][data-armed]`), // asks first
		chromedp.Click(`[data-passkey-delete]`),
	)
	wantNotice("delete", "deleted")
	step("the list is empty", chromedp.WaitVisible(`#passkey-none`))

	keys, err := ts.Store.Passkeys(context.Background(), ts.User.ID)
	if err != nil || len(keys) != 0 {
		t.Fatalf("passkeys left: %v %v", keys, err)
	}
	if on, _ := ts.Store.PasskeyTwoFactor(context.Background(), ts.User.ID); on {
		t.Fatal("passkey 2FA still on after deleting the last passkey")
	}
	var labels []string
	for _, line := range strings.Split(ts.Logs.String(), "\n") {
		if strings.Contains(line, `"msg":"login"`) && strings.Contains(line, `"method":"passkey"`) {
			labels = append(labels, line)
		}
	}
	if len(labels) != 1 {
		t.Fatalf("want one passkey login in the log, got %d", len(labels))
	}
}
