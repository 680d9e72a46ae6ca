package httpapi_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"

	"github.com/gatehouse-auth/gatehouse/internal/store/storetest"
)

// captureBody is a posthog-node style batch of n events with unique uuids.
func captureBody(token string, n int, seq int64) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"api_key":%q,"batch":[`, token)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"event":"page viewed","distinct_id":"user-%d","uuid":"01900000-%04x-7000-8000-%012x","timestamp":"2026-11-23T10:00:00Z","properties":{"$current_url":"https://example.com/pricing","$browser":"Chrome","plan":"pro","$lib":"posthog-node"}}`,
			i%50, (seq>>32)&0xffff, (seq&0xffffffff)<<12|int64(i))
	}
	b.WriteString("]}")
	return b.Bytes()
}

// benchPost drives url with parallel clients posting 100-event batches and
// reports events/s.
func benchPost(b *testing.B, url, token string) {
	b.Helper()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var seq atomic.Int64
	b.SetParallelism(8) // 16 clients on 2 cores
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Post(url, "application/json", bytes.NewReader(captureBody(token, 100, seq.Add(1))))
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
	b.ReportMetric(float64(b.N)*100/time.Since(start).Seconds(), "events/s")
}

// BenchmarkCaptureBatch100 measures /batch/ with 100-event batches on each
// engine beside a bare net/http handler that only reads the body, in the
// same run: the ratio is Gatehouse's cost over the HTTP floor.
func BenchmarkCaptureBatch100(b *testing.B) {
	b.Run("bare-net-http", func(b *testing.B) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"status":1}`))
		}))
		defer srv.Close()
		benchPost(b, srv.URL+"/batch/", "phc_x")
	})
	for _, engine := range storetest.Engines {
		b.Run(string(engine), func(b *testing.B) {
			ts := apitest.NewServer(b, engine, apitest.Options{})
			benchPost(b, ts.URL+"/batch/", ts.Project.APIToken)
		})
	}
}
