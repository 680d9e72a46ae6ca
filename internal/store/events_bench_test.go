package store_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/storetest"
)

// benchEventProperties is one event object as capture stores it (the
// whole object as received, about 450 bytes).
var benchEventProperties = []byte(`{"event":"page viewed","distinct_id":"user-1234","uuid":"0194f1c2-7a3b-7000-8000-00000000abcd",` +
	`"timestamp":"2026-11-23T10:00:00.000Z","type":"capture","library":"posthog-node","properties":{` +
	`"$current_url":"https://example.com/pricing?utm_source=newsletter","$browser":"Chrome","$browser_version":131,` +
	`"$os":"Mac OS X","$device_type":"Desktop","$referrer":"https://www.google.com/","plan":"pro","seats":12,` +
	`"$lib":"posthog-node","$lib_version":"5.0.0","$session_id":"0194f1c2-7a3b-7000-8000-00000000ef01"}}`)

// BenchmarkInsertEventsPostgres measures what capture costs per stored
// event on PostgreSQL: eight writers each storing 100-event writes with
// unique uuids, as the /batch endpoint does under load. Beside the time
// per event it reports the CPU per event of this process (gh-cpu-ns,
// which includes making the events) and of the store's PostgreSQL
// backends (pg-cpu-ns, read from /proc; the WAL writer and other shared
// server processes are not counted). Commits are not flushed
// (Options.Unsynced), so the figures are the CPU of the write path, not
// the disk's.
func BenchmarkInsertEventsPostgres(b *testing.B) {
	const perWrite = 100
	opts := storetest.Options(b, store.Postgres) // skips without PostgreSQL
	opts.Unsynced = true
	suffix := make([]byte, 4)
	rand.Read(suffix)
	app := "gatehouse_bench_" + hex.EncodeToString(suffix)
	u, err := url.Parse(opts.DatabaseURL)
	if err != nil {
		b.Fatal(err)
	}
	q := u.Query()
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	opts.DatabaseURL = u.String()
	ctx := context.Background()
	s, err := store.Open(ctx, opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	_, project, _ := newOwnerTB(b, s)

	run := binary.BigEndian.Uint32(suffix)
	var writers atomic.Uint32
	write := func(writer uint32, seq int) error {
		evs := make([]gatehouse.Event, perWrite)
		received := time.Now().UTC()
		for i := range evs {
			evs[i] = gatehouse.Event{ProjectID: project.ID, Name: "page viewed", DistinctID: "user-" + strconv.Itoa(i),
				UUID:      fmt.Sprintf("%08x-%04x-7000-8000-%012x", run, writer, seq*perWrite+i),
				Timestamp: "2026-11-23T10:00:00.000Z", Properties: benchEventProperties, ReceivedAt: received}
		}
		n, err := s.InsertEvents(ctx, evs)
		if err == nil && n != perWrite {
			err = fmt.Errorf("stored %d of %d new events", n, perWrite)
		}
		return err
	}
	// Concurrent writes first, so the backends measured below mostly
	// exist before the clock starts (one that starts later counts whole).
	warm := make(chan error)
	for range 8 {
		go func() { warm <- write(writers.Add(1), 0) }()
	}
	for range 8 {
		if err := <-warm; err != nil {
			b.Fatal(err)
		}
	}

	b.SetParallelism(4) // 8 writers on 2 cores
	pg0 := backendCPU(b, s.DB(), app)
	gh0 := processCPU()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		writer := writers.Add(1)
		for seq := 1; pb.Next(); seq++ {
			if err := write(writer, seq); err != nil {
				b.Error(err)
				return
			}
		}
	})
	elapsed := time.Since(start)
	b.StopTimer()
	gh := processCPU() - gh0
	pg := backendCPU(b, s.DB(), app).since(pg0)
	events := float64(b.N * perWrite)
	b.ReportMetric(float64(elapsed.Nanoseconds())/events, "ns/event")
	b.ReportMetric(float64(gh.Nanoseconds())/events, "gh-cpu-ns/event")
	b.ReportMetric(float64(pg.Nanoseconds())/events, "pg-cpu-ns/event")
}

// cpuByPID is the CPU time each process has used.
type cpuByPID map[int]time.Duration

// since is the CPU used after earlier: all of a process's time when it
// was not there yet.
func (c cpuByPID) since(earlier cpuByPID) time.Duration {
	var total time.Duration
	for pid, t := range c {
		total += t - earlier[pid]
	}
	return total
}

// backendCPU reads the CPU time of the PostgreSQL backends whose
// application_name is app from /proc, so only when the server runs on
// this machine; elsewhere it reports none.
func backendCPU(b *testing.B, db *sql.DB, app string) cpuByPID {
	b.Helper()
	rows, err := db.Query(`SELECT pid FROM pg_stat_activity WHERE application_name = $1`, app)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	out := cpuByPID{}
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			b.Fatal(err)
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// Fields after the command (which may hold spaces), from field 3:
		// utime and stime are fields 14 and 15, in clock ticks (100 Hz).
		_, rest, _ := strings.Cut(string(stat), ") ")
		f := strings.Fields(rest)
		if len(f) < 13 {
			continue
		}
		utime, _ := strconv.ParseInt(f[11], 10, 64)
		stime, _ := strconv.ParseInt(f[12], 10, 64)
		out[pid] = time.Duration(utime+stime) * 10 * time.Millisecond
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	return out
}

// processCPU is the CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
