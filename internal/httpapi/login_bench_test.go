package httpapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/password"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// BenchmarkArgon2idVerify is one serial verification of a stored argon2id
// hash (m=19456 KiB, t=2, p=1): the hash time that bounds login throughput.
// bench/login.sh reads its ns/op to compute the ceiling, cores ÷ hash time.
func BenchmarkArgon2idVerify(b *testing.B) {
	pw := gatehouse.Secret(apitest.OwnerPassword)
	stored := password.Hash(pw)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ok, _, err := password.Verify(pw, stored)
		if err != nil || !ok {
			b.Fatalf("verify: ok=%v err=%v", ok, err)
		}
	}
}

// BenchmarkArgon2idVerifyParallel runs verifications on every core at
// once with no server: ns/op is wall time per verification across all
// cores. Serial ns/op ÷ (cores × this) is how much of the ceiling the hash
// engine itself reaches on this machine; bench/login.sh prints it beside
// the server's figure, so the server's own overhead can be told apart
// from the machine's (cores sharing caches and memory bandwidth).
func BenchmarkArgon2idVerifyParallel(b *testing.B) {
	pw := gatehouse.Secret(apitest.OwnerPassword)
	stored := password.Hash(pw)
	b.SetParallelism(max(1, runtime.NumCPU()/runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if ok, _, err := password.Verify(pw, stored); err != nil || !ok {
				b.Errorf("verify: ok=%v err=%v", ok, err)
				return
			}
		}
	})
}

// hashTime times n serial verifications and returns the mean.
func hashTime(b *testing.B, n int) time.Duration {
	b.Helper()
	pw := gatehouse.Secret(apitest.OwnerPassword)
	stored := password.Hash(pw)
	password.Verify(pw, stored) // warm up
	start := time.Now()
	for i := 0; i < n; i++ {
		if ok, _, err := password.Verify(pw, stored); err != nil || !ok {
			b.Fatalf("verify: ok=%v err=%v", ok, err)
		}
	}
	return time.Since(start) / time.Duration(n)
}

// BenchmarkPasswordLogin posts the right password to /api/login/ through a
// real server on SQLite with about 2×NumCPU logins in flight, so every
// hashing slot stays busy. Each success also writes a session row. It
// reports logins/s beside the ceiling set by the hash measured in the same
// run (NumCPU ÷ one serial verification) and the percentage reached.
func BenchmarkPasswordLogin(b *testing.B) {
	h := hashTime(b, 20)
	ceiling := float64(runtime.NumCPU()) / h.Seconds()

	ts := apitest.NewServer(b, store.SQLite, apitest.Options{PasswordCost: password.DefaultCost})
	body, _ := json.Marshal(map[string]string{"email": "owner@example.com", "password": apitest.OwnerPassword})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4 * runtime.NumCPU()}}
	var busy atomic.Int64
	// RunParallel starts parallelism×GOMAXPROCS goroutines.
	b.SetParallelism(max(1, 2*runtime.NumCPU()/runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	start := time.Now()
	cpu0 := readCPU()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Post(ts.URL+"/api/login/", "application/json", bytes.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			switch resp.StatusCode {
			case http.StatusOK:
			case http.StatusServiceUnavailable:
				busy.Add(1)
			default:
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	elapsed := time.Since(start).Seconds()
	cpu1 := readCPU()
	b.StopTimer()
	logins := float64(int64(b.N)-busy.Load()) / elapsed
	b.ReportMetric(logins, "logins/s")
	b.ReportMetric(ceiling, "ceiling_logins/s")
	b.ReportMetric(100*logins/ceiling, "pct_of_ceiling")
	b.ReportMetric(float64(h.Microseconds())/1000, "hash_ms")
	if n := busy.Load(); n > 0 {
		b.ReportMetric(float64(n), "busy_503s")
	}
	if cpu0.ok && cpu1.ok {
		// Cores this process used (server, hashing and client) and cores
		// other processes took meanwhile: on a shared machine the ceiling
		// is only reachable when the second figure is near zero.
		self := (cpu1.self - cpu0.self) / elapsed
		b.ReportMetric(self, "proc_cores")
		b.ReportMetric(max(0, (cpu1.busy-cpu0.busy)/elapsed-self), "other_cores")
	}
}

// cpuTimes are CPU seconds used by this process and by the whole machine
// (Linux /proc; ok is false elsewhere).
type cpuTimes struct {
	self, busy float64
	ok         bool
}

func readCPU() cpuTimes {
	const hz = 100 // USER_HZ
	stat, err1 := os.ReadFile("/proc/self/stat")
	all, err2 := os.ReadFile("/proc/stat")
	if err1 != nil || err2 != nil {
		return cpuTimes{}
	}
	// Fields after the parenthesised command: utime and stime are the 12th
	// and 13th.
	s := string(stat)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	line, _, _ := strings.Cut(string(all), "\n")
	g := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	if len(f) < 13 || len(g) < 9 || g[0] != "cpu" {
		return cpuTimes{}
	}
	num := func(x string) float64 { v, _ := strconv.ParseFloat(x, 64); return v }
	busy := num(g[1]) + num(g[2]) + num(g[3]) + num(g[6]) + num(g[7]) + num(g[8])
	return cpuTimes{self: (num(f[11]) + num(f[12])) / hz, busy: busy / hz, ok: true}
}
