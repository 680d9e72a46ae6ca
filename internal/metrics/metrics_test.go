package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

func scrape(t *testing.T, r *Registry) string {
	t.Helper()
	var b strings.Builder
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestTextFormat(t *testing.T) {
	r := NewRegistry()
	c := r.NewCounterVec("x_total", "Things\nwith a \\ in help.", "a", "b")
	c.Inc("1", `quote " back \ new
line`)
	c.Add(2.5, "1", "plain")
	h := r.NewHistogramVec("lat_seconds", "Latency.", []float64{0.1, 1}, "route")
	h.Observe(0.05, "/x")
	h.Observe(0.1, "/x") // on a bound: counted in that bucket (le)
	h.Observe(3, "/x")
	r.NewGaugeFunc("g", "A gauge.", func() float64 { return 7 })
	got := scrape(t, r)
	want := `# HELP x_total Things\nwith a \\ in help.
# TYPE x_total counter
x_total{a="1",b="quote \" back \\ new\nline"} 1
x_total{a="1",b="plain"} 2.5
# HELP lat_seconds Latency.
# TYPE lat_seconds histogram
lat_seconds_bucket{route="/x",le="0.1"} 2
lat_seconds_bucket{route="/x",le="1"} 2
lat_seconds_bucket{route="/x",le="+Inf"} 3
lat_seconds_sum{route="/x"} 3.15
lat_seconds_count{route="/x"} 3
# HELP g A gauge.
# TYPE g gauge
g 7
`
	if got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestWrongLabelCountPanics(t *testing.T) {
	r := NewRegistry()
	c := r.NewCounterVec("y_total", "Y.", "a")
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	c.Inc("1", "2")
}

func TestConcurrentIncrements(t *testing.T) {
	r := NewRegistry()
	c := r.NewCounterVec("z_total", "Z.", "k")
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 1000; j++ {
				c.Inc("k")
				_ = scrape(t, r)
			}
		}()
	}
	wg.Wait()
	if v := c.Value("k"); v != 8000 {
		t.Fatalf("value %v, want 8000", v)
	}
}

// TestLabelValuesAreBounded: whatever callers pass, the label values come
// from a fixed set, so the number of series cannot grow with input.
func TestLabelValuesAreBounded(t *testing.T) {
	before := keyAuths.Value("other", "success")
	KeyAuth("cookie; DROP TABLE")
	KeyAuth("header")
	if keyAuths.Value("other", "success") != before+1 {
		t.Fatal("an unknown transport is not counted as other")
	}
	Login("password", "success")
	Login("weird\nmethod", "whatever")
	if logins.Value("other", "other") < 1 {
		t.Fatal("unknown login labels not mapped to other")
	}
}

func TestMiddlewareLabelsByPattern(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	mux.HandleFunc("POST /slow", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTooManyRequests) })
	// A middleware between the two copies the request, as netguard does.
	copying := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { next.ServeHTTP(w, r.WithContext(r.Context())) })
	}
	blocking := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("X-Block") != "" {
				http.Error(w, "no", http.StatusForbidden)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	h := Middleware(blocking(copying(Route(mux))))
	before := httpRequests.Value("/items/{id}", "GET", "200")
	beforeThrottled := httpThrottled.Value("/slow")
	beforeBlocked := httpRequests.Value(unrouted, "GET", "403")
	for _, p := range []string{"/items/1", "/items/2", "/items/secret-token-abc"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", p, nil))
	}
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/slow", nil))
	req := httptest.NewRequest("GET", "/items/3", nil)
	req.Header.Set("X-Block", "1")
	h.ServeHTTP(httptest.NewRecorder(), req)

	if got := httpRequests.Value("/items/{id}", "GET", "200"); got != before+3 {
		t.Fatalf("requests by pattern: %v, want %v", got, before+3)
	}
	if httpThrottled.Value("/slow") != beforeThrottled+1 {
		t.Fatal("429 not counted as throttled")
	}
	if httpRequests.Value(unrouted, "GET", "403") != beforeBlocked+1 {
		t.Fatal("a request refused before routing is not counted as unrouted")
	}
	if httpDuration.Count("/items/{id}", "GET") < 3 {
		t.Fatal("latency not observed")
	}
	out := scrape(t, Default)
	if strings.Contains(out, "secret-token-abc") || strings.Contains(out, "/items/1") {
		t.Fatal("a raw path became a label")
	}
}

func TestHandler(t *testing.T) {
	SetVersion("v1.2.3")
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("%d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	for _, want := range []string{`gatehouse_build_info{version="v1.2.3"} 1`, "# TYPE gatehouse_http_request_duration_seconds histogram", "go_goroutines "} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Fatalf("no %q in:\n%s", want, rec.Body.String())
		}
	}
	rec = httptest.NewRecorder()
	Handler().ServeHTTP(rec, httptest.NewRequest("POST", "/metrics", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("POST: %d", rec.Code)
	}
}
