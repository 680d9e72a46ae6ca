// Command loadgen is Gatehouse's load driver. It sends a bounded number of
// requests for a bounded time from many connections to a server on this
// machine and prints throughput and latency percentiles. It refuses any
// target that is not a loopback address.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	target := flag.String("url", "http://127.0.0.1:8000/batch/", "URL to load (loopback only)")
	conns := flag.Int("c", 32, "concurrent connections")
	duration := flag.Duration("d", 10*time.Second, "how long to run")
	maxRequests := flag.Int64("n", 5_000_000, "stop after this many requests")
	mode := flag.String("mode", "capture", "capture (POST batches of -events events), login (POST -email and -password as JSON) or get (plain GET)")
	token := flag.String("token", "", "project API token for capture mode")
	events := flag.Int("events", 100, "events per capture batch")
	email := flag.String("email", "", "account email for login mode")
	password := flag.String("password", "", "account password for login mode")
	header := flag.String("H", "", "extra header 'Name: value' sent with every request")
	label := flag.String("label", "", "name printed with the result")
	asJSON := flag.Bool("json", false, "print the result as JSON")
	flag.Parse()

	u, err := url.Parse(*target)
	if err != nil {
		fail("bad -url: %v", err)
	}
	if !isLoopback(u.Hostname()) {
		fail("refusing to load %q: only loopback addresses (127.0.0.0/8, ::1, localhost) may be targets", u.Hostname())
	}
	switch *mode {
	case "capture":
		if *token == "" {
			fail("-token is required in capture mode")
		}
	case "login":
		if *email == "" || *password == "" {
			fail("-email and -password are required in login mode")
		}
	case "get":
	default:
		fail("unknown -mode %q (capture, login or get)", *mode)
	}
	var loginBody []byte
	if *mode == "login" {
		loginBody, _ = json.Marshal(map[string]string{"email": *email, "password": *password})
	}

	transport := &http.Transport{MaxIdleConnsPerHost: *conns, MaxConnsPerHost: *conns, DisableCompression: true}
	client := &http.Client{Transport: transport, Timeout: 30 * time.Second}
	var hName, hValue string
	if *header != "" {
		for i := 0; i < len(*header); i++ {
			if (*header)[i] == ':' {
				hName, hValue = (*header)[:i], trimSpace((*header)[i+1:])
				break
			}
		}
	}

	var sent, okCount, failed atomic.Int64
	var mu sync.Mutex
	var latencies []time.Duration
	statuses := map[int]int64{} // non-2xx answers by status code
	var transportErrors int64
	deadline := time.Now().Add(*duration)
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < *conns; w++ {
		wg.Add(1)
		go func(worker int) {
			defer wg.Done()
			local := make([]time.Duration, 0, 4096)
			localStatus := map[int]int64{}
			var localErrors int64
			seq := 0
			for time.Now().Before(deadline) && sent.Add(1) <= *maxRequests {
				seq++
				var req *http.Request
				switch *mode {
				case "capture":
					req, _ = http.NewRequest("POST", *target, bytes.NewReader(batch(*token, *events, worker, seq)))
					req.Header.Set("Content-Type", "application/json")
				case "login":
					// No cookie jar: every request is a fresh sign-in.
					req, _ = http.NewRequest("POST", *target, bytes.NewReader(loginBody))
					req.Header.Set("Content-Type", "application/json")
				default:
					req, _ = http.NewRequest("GET", *target, nil)
				}
				if hName != "" {
					req.Header.Set(hName, hValue)
				}
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					localErrors++
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				local = append(local, time.Since(t0))
				if resp.StatusCode >= 200 && resp.StatusCode < 300 {
					okCount.Add(1)
				} else {
					failed.Add(1)
					localStatus[resp.StatusCode]++
				}
			}
			mu.Lock()
			latencies = append(latencies, local...)
			for code, n := range localStatus {
				statuses[code] += n
			}
			transportErrors += localErrors
			mu.Unlock()
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	slices.Sort(latencies)
	pct := func(p float64) float64 {
		if len(latencies) == 0 {
			return 0
		}
		return float64(latencies[min(len(latencies)-1, int(p*float64(len(latencies))))].Microseconds()) / 1000
	}
	res := map[string]any{
		"label": *label, "requests_ok": okCount.Load(), "requests_failed": failed.Load(), "seconds": elapsed,
		"requests_per_s": float64(okCount.Load()) / elapsed, "p50_ms": pct(0.50), "p99_ms": pct(0.99), "connections": *conns,
	}
	byStatus := map[string]int64{}
	codes := make([]int, 0, len(statuses))
	for code, n := range statuses {
		byStatus[fmt.Sprint(code)] = n
		codes = append(codes, code)
	}
	slices.Sort(codes)
	res["failed_by_status"] = byStatus
	res["transport_errors"] = transportErrors
	if *mode == "capture" {
		res["events_per_s"] = float64(okCount.Load()) * float64(*events) / elapsed
	}
	if *asJSON {
		json.NewEncoder(os.Stdout).Encode(res)
		return
	}
	fmt.Printf("%-24s %10.0f req/s", *label, res["requests_per_s"])
	if v, ok := res["events_per_s"]; ok {
		fmt.Printf(" %12.0f events/s", v)
	}
	fmt.Printf("  p50 %.2f ms  p99 %.2f ms  ok %d failed %d", res["p50_ms"], res["p99_ms"], okCount.Load(), failed.Load())
	for _, code := range codes {
		fmt.Printf("  %d:%d", code, statuses[code])
	}
	if transportErrors > 0 {
		fmt.Printf("  errors:%d", transportErrors)
	}
	fmt.Println()
}

// run tells this run's event uuids from every other run's: without it a
// run would send again the uuids of the run before (the warm-up, say),
// and measure a server skipping stored events, not storing new ones.
var run = rand.Uint32()

// batch builds a posthog-node style /batch body with unique event uuids:
// worker, run, sequence number and index in the batch (version 7 and
// variant bits set, so they parse as uuids).
func batch(token string, n, worker, seq int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"api_key":%q,"batch":[`, token)
	now := time.Now().UTC().Format(time.RFC3339Nano)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"event":"page viewed","distinct_id":"user-%d","uuid":"%08x-%04x-7%03x-8%03x-%012x","timestamp":%q,"type":"capture","library":"loadgen","properties":{"$current_url":"https://example.com/pricing","$browser":"Chrome","plan":"pro","$lib":"posthog-node","$lib_version":"5.0.0"}}`,
			i%50, worker, run&0xffff, run>>16&0xfff, run>>28, uint64(seq)<<16|uint64(i), now)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func trimSpace(s string) string {
	for len(s) > 0 && s[0] == ' ' {
		s = s[1:]
	}
	return s
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "loadgen: "+format+"\n", args...)
	os.Exit(2)
}
