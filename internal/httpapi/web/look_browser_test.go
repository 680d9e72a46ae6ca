package web_test

import (
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"
	"github.com/gatehouse-auth/gatehouse/internal/testenv"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// TestBrowserPagesFitTheScreen loads the login page, home and the
// security-activity table at desktop and phone widths in headless
// Chromium: nothing is wider than the window (tables scroll inside their
// card), the copy buttons show, and the navigation bar is there.
func TestBrowserPagesFitTheScreen(t *testing.T) {
	t.Parallel()
	testenv.Slow(t, "drives headless chromium at two screen sizes")
	ctx := apitest.NewBrowserContext(t)
	ts := apitest.NewServer(t, store.SQLite, apitest.Options{SiteURL: "http://localhost:{port}"})
	base := strings.Replace(ts.URL, "127.0.0.1", "localhost", 1)
	step := apitest.Steps(t, ctx)
	fits := func(what string) { t.Helper(); apitest.NoSidewaysScroll(t, ctx, what) }
	for _, width := range []int64{1280, 390} {
		height := map[int64]int64{1280: 900, 390: 844}[width]
		name := map[int64]string{1280: "desktop", 390: "phone"}[width]
		step(name+": login page",
			chromedp.EmulateViewport(width, height),
			chromedp.Navigate(base+"/login"),
			chromedp.WaitVisible(`form[action="/login"]`),
			chromedp.WaitVisible(`#passkey-divider`), // the "or" between password and passkey
		)
		fits(name + " login")
		step(name+": log in",
			chromedp.SendKeys(`#email`, "owner@example.com"),
			chromedp.SendKeys(`#password`, apitest.OwnerPassword),
			chromedp.Submit(`form[action="/login"]`),
			chromedp.WaitVisible(`#project-token`),
			chromedp.WaitVisible(`button[data-copy="project-token"]`),
			chromedp.WaitVisible(`button[data-copy="capture-example"]`),
			chromedp.WaitVisible(`nav.mainnav a[href="/account"]`),
		)
		token, err := chromedp.Run(ctx, chromedp.Text(`#project-token`))
		if err != nil || token != ts.Project.APIToken {
			t.Fatalf("%s: token on home %q (%v)", name, token, err)
		}
		fits(name + " home")
		step(name+": security activity",
			chromedp.Navigate(base+"/settings/security"),
			chromedp.WaitVisible(`table.audit`),
		)
		count, err := chromedp.Run(ctx, chromedp.Text(`.audit-count`))
		if err != nil || strings.HasPrefix(count, "1 events") {
			t.Errorf("%s: event count %q (%v)", name, count, err)
		}
		fits(name + " security activity")
		// Every other page a signed-in person uses opens in the layout,
		// with the navigation bar, and fits the window.
		for _, page := range []struct{ path, ready string }{
			{"/settings", `form[action="/settings/profile"]`},
			{"/settings/two_factor", `form[action="/settings/two_factor/setup"]`},
			{"/settings/passkeys", `main h1`},
			{"/settings/domains", `form[action="/settings/domains"]`},
			{"/settings/audit_log", `main h1`},
			{"/account", `form[action="/account/profile"]`},
			{"/account/keys", `form[action="/account/keys"]`},
			{"/project", `#project-token, code`},
			{"/organization", `form[action="/organization/invites"]`},
		} {
			step(name+": "+page.path,
				chromedp.Navigate(base+page.path),
				chromedp.WaitVisible(page.ready),
				chromedp.WaitVisible(`nav.mainnav a[href="/organization"]`),
			)
			fits(name + " " + page.path)
		}
		step(name+": log out",
			chromedp.Submit(`form[action="/logout"]`),
			chromedp.WaitVisible(`form[action="/login"]`),
		)
		notice, err := chromedp.Run(ctx, chromedp.Text(`.notice`))
		if err != nil || notice != "You are logged out." {
			t.Fatalf("%s: after logout %q (%v)", name, notice, err)
		}
	}

	// The signup form's strength meter shows the server's verdict as the
	// person types.
	step("strength meter",
		chromedp.Navigate(base+"/signup"),
		chromedp.WaitVisible(`#password`),
		chromedp.SendKeys(`#password`, "password123"),
		chromedp.WaitVisible(`#password-strength`),
	)
	weak, err := chromedp.Run(ctx, chromedp.Text(`#password-strength .strength-text`))
	if err != nil || !strings.Contains(weak, "common") {
		t.Fatalf("meter for a weak password: %q (%v)", weak, err)
	}
	fits("signup")
	// An element with the hidden attribute stays hidden whatever display
	// the stylesheet gives its kind (buttons are inline-block).
	display, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => { const b = document.createElement("button"); b.hidden = true; document.body.append(b); return getComputedStyle(b).display })()`))
	if err != nil || display != "none" {
		t.Fatalf("a hidden button is displayed as %q (%v)", display, err)
	}
}
