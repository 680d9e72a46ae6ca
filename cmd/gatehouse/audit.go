package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/config"
	"github.com/gatehouse-auth/gatehouse/internal/secretkey"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// configureAudit gives the store the audit log's signing key (derived
// from SECRET_KEY) and its stream (AUDIT_LOG_STREAM). Without a usable
// SECRET_KEY nothing that records an audit event can be changed: the store
// refuses the write rather than leave the change unrecorded.
// The stream's file stays open for the life of the process.
func configureAudit(cfg *config.Config, st *store.Store) error {
	keyring, _, err := secretkey.Resolve(secretkey.Settings{
		Key: cfg.SecretKey, Fallbacks: cfg.SecretKeyFallbacks, Development: cfg.Debug || cfg.Test, DataDir: cfg.DataDir,
	})
	if err != nil {
		return nil
	}
	opts := store.AuditOptions{Signer: keyring.For(secretkey.PurposeAuditLog)}
	switch s := cfg.AuditLogStream; {
	case s == "stdout":
		opts.Stream = lineWriter(os.Stdout)
	case strings.HasPrefix(s, "file:"):
		f, err := os.OpenFile(strings.TrimPrefix(s, "file:"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return fmt.Errorf("gatehouse: AUDIT_LOG_STREAM: %w", err)
		}
		opts.Stream = lineWriter(f)
	}
	st.SetAudit(opts)
	return nil
}

// lineWriter writes each line whole, with its newline, in one write, so
// lines from concurrent requests never interleave.
func lineWriter(w io.Writer) func(line []byte) {
	var mu sync.Mutex
	return func(line []byte) {
		b := make([]byte, 0, len(line)+1)
		b = append(append(b, line...), '\n')
		mu.Lock()
		w.Write(b)
		mu.Unlock()
	}
}

// cmdAudit runs `gatehouse audit verify` and `gatehouse audit export`.
func cmdAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "verify" && args[0] != "export") {
		return exitError{code: 2, msg: "usage: gatehouse audit verify | gatehouse audit export --since 2026-01-02 [--until …] [--format jsonl]"}
	}
	var since, until, format string
	cfg, err := loadConfig("audit "+args[0], args[1:], stderr, false, func(fs *flag.FlagSet) {
		if args[0] == "export" {
			fs.StringVar(&since, "since", "", "first time to export: a date (2026-01-02, UTC) or an RFC 3339 time (required)")
			fs.StringVar(&until, "until", "", "export events before this date or time (default: all)")
			fs.StringVar(&format, "format", "jsonl", "output format (jsonl: one JSON object per line)")
		}
	})
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg, newLogger(cfg, stderr))
	if err != nil {
		return err
	}
	defer st.Close()
	if args[0] == "verify" {
		v, err := st.VerifyAudit(ctx)
		if err != nil {
			return err
		}
		if v.Problem != nil {
			return exitError{code: 1, msg: "gatehouse audit verify: FAILED at " + v.Problem.String()}
		}
		if v.Events == 0 {
			fmt.Fprintf(stdout, "audit log OK: no events stored (chain head at %d)\n", v.Last)
		} else {
			fmt.Fprintf(stdout, "audit log OK: %d events, %d to %d\n", v.Events, v.First, v.Last)
		}
		return nil
	}
	if format != "jsonl" {
		return exitError{code: 2, msg: "gatehouse audit export: --format must be jsonl"}
	}
	from, err := parseAuditTime("--since", since, true)
	if err != nil {
		return err
	}
	to, err := parseAuditTime("--until", until, false)
	if err != nil {
		return err
	}
	return st.ExportAudit(ctx, from, to, func(line []byte) error {
		_, err := stdout.Write(append(line, '\n'))
		return err
	})
}

func parseAuditTime(flagName, v string, required bool) (time.Time, error) {
	if v == "" {
		if required {
			return time.Time{}, exitError{code: 2, msg: "gatehouse audit export: " + flagName + " is required"}
		}
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	return time.Time{}, exitError{code: 2, msg: "gatehouse audit export: " + flagName + " must be a date (2026-01-02) or an RFC 3339 time"}
}
