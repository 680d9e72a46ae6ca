package capture

import (
	"bytes"
	"compress/gzip"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

func FuzzDecode(f *testing.F) {
	var gzBuf bytes.Buffer
	zw := gzip.NewWriter(&gzBuf)
	_, _ = zw.Write([]byte(samplePayload))
	_ = zw.Close()

	f.Add([]byte(samplePayload), "", "application/json", uint8(EndpointEvent))
	f.Add(gzBuf.Bytes(), "gzip", "text/plain", uint8(EndpointBatch))
	f.Add([]byte(CompressToBase64(samplePayload)), "lz64", "text/plain", uint8(EndpointEvent))
	f.Add([]byte(b64(samplePayload)), "base64", "", uint8(EndpointEngage))
	f.Add([]byte(b64(b64(samplePayload))), "", "", uint8(EndpointEvent))
	f.Add(form("data", b64(samplePayload), "compression", "b64"), "", "application/x-www-form-urlencoded", uint8(EndpointEvent))
	f.Add(form("data", CompressToBase64(samplePayload)), "lz-string", "application/x-www-form-urlencoded", uint8(EndpointEvent))
	f.Add([]byte(`{"api_key":"tok","batch":[{"event":"e","distinct_id":1,"uuid":"0190A1B2-C3D4-7E5F-8A9B-0C1D2E3F4A5B"}],"sent_at":"x","historical_migration":true}`), "", "", uint8(EndpointBatch))
	f.Add([]byte(`{"$set":{"a":"\ud800"},"distinct_id":"d","token":"t"}`), "", "", uint8(EndpointEngage))
	f.Add([]byte(`[{"event":"e","distinct_id":"d","token":"a"},{"event":"e","distinct_id":"d","token":"b"}]`), "", "", uint8(EndpointEvent))
	f.Add([]byte("\x1f\x8b\x08"), "", "", uint8(EndpointEvent))
	f.Add([]byte("[]"), "", "", uint8(3))

	f.Fuzz(func(t *testing.T, body []byte, comp, contentType string, ep uint8) {
		method := "POST"
		if ep&0x80 != 0 {
			method = "GET"
		}
		target := "/e?compression=" + url.QueryEscape(comp)
		if method == "GET" {
			target += "&data=" + url.QueryEscape(string(body))
			body = nil
		}
		r := httptest.NewRequest(method, target, bytes.NewReader(body))
		if contentType != "" {
			r.Header.Set("Content-Type", contentType)
		}
		endpoint := Endpoint(ep & 0x7f % 4) // 3 is not a defined endpoint: must behave like events
		b, err := Decode(r, endpoint)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T is not *Error: %v", err, err)
			}
			switch e.Status {
			case http.StatusBadRequest, http.StatusUnauthorized, http.StatusRequestEntityTooLarge:
			default:
				t.Fatalf("status %d: %q", e.Status, e.Message)
			}
			if e.Message == "" || len(e.Message) > 200 {
				t.Fatalf("bad message length %d: %q", len(e.Message), e.Message)
			}
			if b != nil {
				t.Fatal("batch returned with an error")
			}
			return
		}
		checkBatch(t, b)
	})
}
