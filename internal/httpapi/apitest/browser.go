package apitest

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gatehouse-auth/gatehouse/internal/testenv"
)

// browser is the headless chromium the browser tests of one test process
// share: starting one costs more CPU than most tests spend in it. Each
// test gets a tab in a browser context of its own (NewBrowserContext),
// which shares no cookies, storage or cache with the others, as a fresh
// profile would not.
var browser struct {
	mu     sync.Mutex
	ctx    context.Context // the browser's first tab; done when it has exited
	cancel func()
	dir    string // its user-data directory
}

// NewBrowserContext returns a tab of headless Debian chromium in a fresh
// browser context (no cookies, storage or cache), closed at the end of t,
// or skips (fails in CI) when chromium is not installed.
func NewBrowserContext(t *testing.T) context.Context {
	t.Helper()
	parent, err := sharedBrowser()
	if errors.Is(err, errNoChromium) {
		testenv.Unavailable(t, "chromium", "install Debian's chromium-headless-shell (apt-get install chromium-headless-shell) to run the browser tests")
	}
	if err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	ctx, cancelCtx := chromedp.NewContext(parent, chromedp.WithNewBrowserContext())
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx() })
	return ctx
}

// sharedBrowser returns the first tab of the shared browser, starting it
// (again, if it has exited) when needed.
func sharedBrowser() (context.Context, error) {
	browser.mu.Lock()
	defer browser.mu.Unlock()
	if browser.ctx != nil && browser.ctx.Err() == nil {
		return browser.ctx, nil
	}
	closeBrowserLocked()
	path, err := chromiumPath()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "gatehouse-chromium-")
	if err != nil {
		return nil, err
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(dir),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-breakpad", true),
		chromedp.Flag("disable-client-side-phishing-detection", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("password-store", "basic"),
		// One renderer process for every site instead of one per site:
		// the tests visit two hosts at once (an IdP and Gatehouse, or
		// localhost and 127.0.0.1), and isolating them is not what they test.
		chromedp.Flag("disable-features", "Translate,site-per-process,IsolateOrigins"),
		chromedp.Flag("disable-site-isolation-trials", true),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		cancelCtx()
		cancelAlloc()
		os.RemoveAll(dir)
		return nil, err
	}
	browser.ctx, browser.dir = ctx, dir
	browser.cancel = func() { cancelCtx(); cancelAlloc() }
	return ctx, nil
}

// chromiumPath finds Debian's chromium-headless-shell, the headless
// browser without the browser's own interface (tab strip, menus, which
// chromium's headless mode still runs as web pages of their own: about
// two thirds of its CPU in these tests), or else Debian's chromium. Both
// are the same Blink and V8.
func chromiumPath() (string, error) {
	for _, name := range []string{"chromium-headless-shell", "chromium"} {
		if path, err := exec.LookPath(name); err == nil {
			return path, nil
		}
	}
	return "", errNoChromium
}

// errNoChromium is returned by sharedBrowser when chromium is not
// installed; NewBrowserContext turns it into a skip.
var errNoChromium = errors.New("chromium is not installed")

// CloseBrowser stops the shared browser, if one was started, and removes
// its profile. TestMain of a package with browser tests calls it after
// the tests have run.
func CloseBrowser() {
	browser.mu.Lock()
	defer browser.mu.Unlock()
	closeBrowserLocked()
}

func closeBrowserLocked() {
	if browser.cancel != nil {
		browser.cancel()
	}
	if browser.dir != "" {
		os.RemoveAll(browser.dir)
	}
	browser.ctx, browser.cancel, browser.dir = nil, nil, ""
}

// Steps returns the step function of a browser test: it runs actions in
// ctx and fails t, naming the step, when one of them fails.
func Steps(t *testing.T, ctx context.Context) func(what string, actions ...chromedp.Action[chromedp.Void]) {
	return func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
}

// NoSidewaysScroll fails t (naming what) when the page shown in ctx is
// wider than its window, and names the element that sticks out furthest,
// to say what to fix.
func NoSidewaysScroll(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(function () {
		var w = document.documentElement.clientWidth;
		if (document.documentElement.scrollWidth <= w) return "";
		var worst = null, right = w;
		document.querySelectorAll("body *").forEach(function (e) {
			var r = e.getBoundingClientRect().right;
			if (r > right) { right = r; worst = e; }
		});
		return document.documentElement.scrollWidth + " > " + w + (worst ? ": " + worst.tagName.toLowerCase() + (worst.id ? "#" + worst.id : "") + (worst.className ? "." + worst.className : "") : "");
	})()`))
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if got != "" {
		t.Errorf("%s scrolls sideways: %s", what, got)
	}
}

// RunTests runs the end-to-end tests of a package; its TestMain calls
// it. The tests may run two to a core, since they mostly wait on
// databases, browsers, sockets and the processes they start; the browser
// they shared is stopped at the end.
func RunTests(m *testing.M) int {
	testenv.RaiseParallelism(2)
	code := m.Run()
	CloseBrowser()
	return code
}
