package apitest

import (
	"context"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gatehouse-auth/gatehouse/internal/testenv"
)

// newBrowserContext starts headless Debian chromium with a fresh profile,
// or skips (fails in CI) when it is not installed.
func NewBrowserContext(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		testenv.Unavailable(t, "chromium", "install Debian's chromium (apt-get install chromium) to run the browser tests")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	return ctx
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
