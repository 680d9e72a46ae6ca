package httpapi_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/store/storetest"
)

// benchGet drives url with 32 parallel clients sending GETs with the given
// header and reports requests/s.
func benchGet(b *testing.B, url, header, value string) {
	b.Helper()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.SetParallelism(max(1, 32/runtime.GOMAXPROCS(0))) // 32 clients
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest("GET", url, nil)
			req.Header.Set(header, value)
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}

// BenchmarkKeyAuthenticated measures the key-authenticated hot paths, GET
// /api/users/@me with a personal API key and local evaluation with the
// project secret, on each engine beside a bare net/http handler in the
// same run (bench/keys.sh does the same with the load driver).
func BenchmarkKeyAuthenticated(b *testing.B) {
	b.Run("bare-net-http", func(b *testing.B) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"status":1}`))
		}))
		defer srv.Close()
		benchGet(b, srv.URL+"/api/users/@me/", "Authorization", "Bearer phx_bare")
	})
	for _, engine := range storetest.Engines {
		ts := apitest.NewServer(b, engine, apitest.Options{})
		keys := &gatehouse.APIKeyService{Store: ts.Store}
		label, scopes := "bench", []string{"user:read", "feature_flag:read"}
		created, err := keys.Create(context.Background(), ts.User, gatehouse.NewAPIKey{Label: &label, Scopes: &scopes})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(string(engine)+"/me", func(b *testing.B) {
			benchGet(b, ts.URL+"/api/users/@me/", "Authorization", "Bearer "+created.Value.Reveal())
		})
		b.Run(string(engine)+"/local-evaluation", func(b *testing.B) {
			benchGet(b, ts.URL+"/api/feature_flag/local_evaluation?token="+ts.Project.APIToken, "Authorization", "Bearer "+ts.Secret.Reveal())
		})
	}
}
