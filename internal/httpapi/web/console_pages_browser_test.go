package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/testenv"
)

// TestBrowserConsolePagesFitAPhone opens the account, keys, project and
// organization pages in headless Chromium at a phone's size (390×844),
// each with content (a key shown once, a member, an invite, a secret
// key), and checks that none scrolls sideways.
func TestBrowserConsolePagesFitAPhone(t *testing.T) {
	t.Parallel()
	testenv.Slow(t, "drives headless chromium through the console pages")
	ctx := apitest.NewBrowserContext(t)
	ts := apitest.NewServer(t, store.SQLite, apitest.Options{SiteURL: "http://localhost:{port}"})
	base := strings.Replace(ts.URL, "127.0.0.1", "localhost", 1)
	owner := apitest.OwnerBrowser(t, ts)
	apitest.JoinByInvite(t, ts, owner, "a.member.with.a.long.address@example.com", 1)
	apitest.MustInvite(t, owner, "someone.invited@example.com", 1)
	apitest.CreateKey(t, owner, map[string]any{"label": "a key with a forty-character long label", "scopes": []string{"user:read", "project:read", "organization:read"}})

	step := apitest.Steps(t, ctx)
	step("log in at a phone's size",
		chromedp.EmulateViewport(390, 844),
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(`#email`),
		chromedp.SendKeys(`#email`, "owner@example.com"),
		chromedp.SendKeys(`#password`, apitest.OwnerPassword),
		chromedp.Submit(`form[action="/login"]`),
		chromedp.WaitVisible(`form[action="/logout"]`),
	)
	step("create a project secret key",
		chromedp.Navigate(base+"/project"),
		chromedp.WaitVisible(`form[action="/project/keys"]`),
		chromedp.SendKeys(`form[action="/project/keys"] #label`, "server"),
		chromedp.Click(`input[value="feature_flag:read"]`),
		chromedp.Submit(`form[action="/project/keys"]`),
		chromedp.WaitVisible(`#new-key-value`),
	)
	overflow := func(page string) { t.Helper(); apitest.NoSidewaysScroll(t, ctx, page+" at 390×844") }
	overflow("/project with a new secret key")
	for _, p := range []struct{ path, ready string }{
		{"/account", `form[action="/account/delete"]`},
		{"/account/keys", `form[action="/account/keys"]`},
		{"/project", `#project-token`},
		{"/organization", `form[action="/organization/security"]`},
	} {
		step("open "+p.path, chromedp.Navigate(base+p.path), chromedp.WaitReady(p.ready))
		overflow(p.path)
	}
	step("create a personal key",
		chromedp.Navigate(base+"/account/keys"),
		chromedp.WaitVisible(`form[action="/account/keys"]`),
		chromedp.SendKeys(`form[action="/account/keys"] #label`, "phone"),
		chromedp.Click(`input[value="*"]`),
		chromedp.Submit(`form[action="/account/keys"]`),
		chromedp.WaitVisible(`#new-key-value`),
	)
	overflow("/account/keys with a new key")
}
