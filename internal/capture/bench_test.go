package capture

import (
	"bytes"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
)

// nodeBatch builds a /batch body shaped like the ones posthog-node sends.
func nodeBatch(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"api_key":"phc_bench0123456789abcdefghijklmnopqrstuvwxyzABCD","batch":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"distinct_id":"user-%d","event":"order_completed","properties":{"$lib":"posthog-node","$lib_version":"4.2.1","$geoip_disable":true,`+
			`"order_id":"ord_%08d","revenue":%d.99,"currency":"EUR","coupon":null,"items":[{"sku":"sku-1","qty":2,"price":4.5},{"sku":"sku-2","qty":1,"price":%d.49}],`+
			`"$groups":{"company":"acme-%d"},"plan":"pro","note":"caf\u00e9 \"quoted\" text"},"type":"capture","library":"posthog-node","library_version":"4.2.1",`+
			`"timestamp":"2024-05-01T10:00:%02d.%03dZ","uuid":"0190a1b2-c3d4-7e5f-8a9b-%012x"}`,
			i%37, i, 10+i, i%7, i%5, i%60, i, i)
	}
	b.WriteString(`],"sent_at":"2024-05-01T10:01:00.000Z"}`)
	return []byte(b.String())
}

func TestNodeBatchDecodes(t *testing.T) {
	body := nodeBatch(100)
	b := mustDecode(t, newReq(t, "POST", "/batch", body, "application/json"), EndpointBatch)
	if len(b.Events) != 100 || b.SentAt == "" || b.Events[99].UUID != "0190a1b2-c3d4-7e5f-8a9b-000000000063" {
		t.Fatalf("got %d events, %+v", len(b.Events), b.Events[99])
	}
}

func BenchmarkDecodeBatch100(b *testing.B) {
	body := nodeBatch(100)
	cases := []struct {
		name string
		body []byte
	}{
		{"plain", body},
		{"gzip", gz(b, body)},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			// Throughput is reported against the uncompressed JSON size.
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				r := httptest.NewRequest("POST", "/batch", bytes.NewReader(c.body))
				r.Header.Set("Content-Type", "application/json")
				batch, err := Decode(r, EndpointBatch)
				if err != nil || len(batch.Events) != 100 {
					b.Fatalf("Decode: %v", err)
				}
			}
		})
	}
}
