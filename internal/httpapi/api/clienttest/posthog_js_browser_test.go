package clienttest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/testenv"
)

// networkLog records, per request of the page, its URL, method, status
// and any failure, from the DevTools network events.
type networkLog struct {
	mu       sync.Mutex
	requests map[network.RequestID]*loggedRequest
	order    []network.RequestID
}

type loggedRequest struct {
	url, method, failure string
	status               int64
	kind                 network.ResourceType
	// gzip is true when the body starts with gzip's magic bytes.
	gzip bool
}

func (l *networkLog) event(ev any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	get := func(id network.RequestID) *loggedRequest {
		r, ok := l.requests[id]
		if !ok {
			r = &loggedRequest{}
			l.requests[id] = r
			l.order = append(l.order, id)
		}
		return r
	}
	switch e := ev.(type) {
	case *network.EventRequestWillBeSent:
		r := get(e.RequestID)
		r.url, r.method, r.kind = e.Request.URL, e.Request.Method, e.Type
		for _, part := range e.Request.PostDataEntries {
			if b := part.Bytes; len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b {
				r.gzip = true
			}
		}
	case *network.EventResponseReceived:
		get(e.RequestID).status = e.Response.Status
	case *network.EventLoadingFailed:
		r := get(e.RequestID)
		r.failure = e.ErrorText
		if e.CorsErrorStatus != nil {
			r.failure += " (CORS " + string(e.CorsErrorStatus.CorsError) + ")"
		}
	}
}

// to lists the requests whose URL starts with prefix.
func (l *networkLog) to(prefix string) []loggedRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []loggedRequest
	for _, id := range l.order {
		if r := l.requests[id]; strings.HasPrefix(r.url, prefix) {
			out = append(out, *r)
		}
	}
	return out
}

// posthogJSPage is the test page: posthog-js from its npm dist file,
// pointed at Gatehouse, sending a custom event and an identify once loaded.
const posthogJSPage = `<!doctype html>
<html><head><meta charset="utf-8"><title>posthog-js test</title>
<script>
// Count the /flags answers, so that a person's flags are read only from
// the answer to their own request (installed before posthog-js loads,
// which calls window.fetch).
var flagsAnswers = 0
var pageFetch = window.fetch
window.fetch = function (url) {
  var p = pageFetch.apply(this, arguments)
  if (String(url).indexOf('/flags/') >= 0) p.then(function () { flagsAnswers++ }, function () {})
  return p
}
// flagsFor identifies as id with the person properties and resolves with
// posthog-js's value of every key once /flags has answered for them.
window.flagsFor = function (id, props, keys) {
  return new Promise(function (resolve) {
    var target = flagsAnswers + 1
    posthog.setPersonPropertiesForFlags(props, false)
    var off = posthog.onFeatureFlags(function () {
      if (flagsAnswers < target || posthog.get_distinct_id() !== id) return
      var out = {}
      keys.forEach(function (k) { var v = posthog.getFeatureFlag(k, { send_event: false }); out[k] = v === undefined ? false : v })
      if (typeof off === 'function') setTimeout(off, 0)
      resolve(out)
    })
    posthog.identify(id)
  })
}
</script>
<script src="/posthog.js"></script>
<script>
posthog.init(%q, {
  api_host: %q,
  persistence: 'memory',
  autocapture: false,
  disable_session_recording: true,
  capture_pageview: true,
  capture_pageleave: true,
  // posthog-js drops the events of browsers it takes for bots, headless
  // Chromium included.
  opt_out_useragent_filter: true,
  loaded: function (ph) {
    ph.capture('js custom event', { n: 1 })
    ph.identify('js-user', { email: 'js@example.com' })
    window.__phLoaded = true
  },
})
</script></head><body><p>posthog-js against Gatehouse</p></body></html>`

// TestPostHogJSBrowser loads the official posthog-js (npm, the version in
// testdata/posthog-js) in headless Chromium on a page of another origin,
// pointed at Gatehouse: the page load fetches the remote config and
// /flags, sends $pageview, a custom event and an identify (gzip bodies),
// and $pageleave when the page goes away; for 20 people its flag values
// match the test's own PostHog hashing. Every request the
// library makes is answered 2xx, as the browser's network log shows, and
// the events are in the store.
func TestPostHogJSBrowser(t *testing.T) {
	t.Parallel()
	testenv.Slow(t, "loads posthog-js in headless chromium")
	dist, err := filepath.Abs(filepath.Join("testdata", "posthog-js", "node_modules", "posthog-js", "dist", "array.full.no-external.js"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dist); err != nil {
		testenv.Unavailable(t, "node", "posthog-js is not installed: cd internal/httpapi/api/clienttest/testdata/posthog-js && npm ci")
	}
	ctx := apitest.NewBrowserContext(t)
	ts := apitest.NewServer(t, store.SQLite, apitest.Options{})
	b := apitest.OwnerBrowser(t, ts)
	apitest.CreateFlag(t, b, ts.Project.ID, `{"key":"js-flag","filters":{"groups":[{"rollout_percentage":100}]}}`)

	// The page is served from another origin (localhost against
	// Gatehouse's 127.0.0.1), so every API call is cross-origin.
	mux := http.NewServeMux()
	mux.HandleFunc("/posthog.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/javascript")
		http.ServeFile(w, r, dist)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if r.URL.Path == "/next" {
			fmt.Fprint(w, `<!doctype html><title>next</title><p>next page</p>`)
			return
		}
		fmt.Fprintf(w, posthogJSPage, ts.Project.APIToken, ts.URL)
	})
	pages := httptest.NewServer(mux)
	t.Cleanup(pages.Close)
	pageBase := strings.Replace(pages.URL, "127.0.0.1", "localhost", 1)

	log := &networkLog{requests: map[network.RequestID]*loggedRequest{}}
	if err := chromedp.Listen(ctx, log.event); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(pageBase+"/")); err != nil {
		t.Fatal(err)
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(40 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if cond() {
				return
			}
		}
		t.Fatalf("%s: timed out; requests to Gatehouse: %+v (server log: %s)", what, log.to(ts.URL), apitest.LastLines(ts.Logs.String(), 5))
	}
	waitFor("posthog-js loaded", func() bool {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__phLoaded === true`))
		return err == nil && ok
	})
	events := func() map[string]int {
		evs, err := ts.Store.EventsOfProject(context.Background(), ts.Project.ID, 1000)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]int{}
		for _, e := range evs {
			seen[e.Name]++
		}
		return seen
	}
	waitFor("page view, custom event and identify stored", func() bool {
		s := events()
		return s["$pageview"] > 0 && s["js custom event"] > 0 && s["$identify"] > 0
	})
	// Person by person, posthog-js shows /flags' answers, which agree
	// with the test's own implementation of PostHog's rules.
	ids, props := apitest.RefPeople(20)
	var keys []string
	for _, rf := range apitest.RefFlags {
		keys = append(keys, rf.Flag.Key)
	}
	for _, rf := range apitest.RefFlags {
		apitest.CreateFlag(t, b, ts.Project.ID, rf.Flag.Json())
	}
	for _, id := range ids {
		call := fmt.Sprintf(`flagsFor(%s, %s, %s)`, mustJSON(t, id), mustJSON(t, props[id]), mustJSON(t, keys))
		got, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]any](call, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		for _, rf := range apitest.RefFlags {
			if want := fmt.Sprint(apitest.RefEvaluate(rf.Flag, id, props[id], false)); fmt.Sprint(got[rf.Flag.Key]) != want {
				t.Errorf("%s %s: posthog-js %v, reference %s", id, rf.Flag.Key, got[rf.Flag.Key], want)
			}
		}
	}

	// Leaving the page sends $pageleave from the unload handler (a request
	// the browser completes after the page is gone).
	if err := chromedp.Do(ctx, chromedp.Navigate(pageBase+"/next")); err != nil {
		t.Fatal(err)
	}
	waitFor("$pageleave stored", func() bool { return events()["$pageleave"] > 0 })

	reqs := log.to(ts.URL)
	var config, flags, gzipped bool
	for _, r := range reqs {
		if r.failure != "" || r.status < 200 || r.status > 299 {
			t.Errorf("%s %s: status %d %s", r.method, r.url, r.status, r.failure)
		}
		config = config || strings.Contains(r.url, "/array/"+ts.Project.APIToken+"/config")
		flags = flags || strings.Contains(r.url, "/flags/")
		gzipped = gzipped || (r.gzip && strings.Contains(r.url, "/e/"))
	}
	if !config || !flags || !gzipped {
		t.Fatalf("config %v, flags %v, gzip %v; requests: %+v", config, flags, gzipped, reqs)
	}
	t.Logf("%d requests to Gatehouse, all 2xx; events %v", len(reqs), events())
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
