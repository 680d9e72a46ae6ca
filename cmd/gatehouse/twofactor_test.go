package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/storetest"
)

func TestTwoFactorResetCommand(t *testing.T) {
	t.Parallel()
	for _, engine := range storetest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel() // each engine has its own database and server
			env, dir, opts := engineEnv(t, engine)
			createUser(t, env, dir)
			ctx := context.Background()
			st, err := store.Open(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			u, err := st.UserByEmail(ctx, "ops@example.com")
			if err != nil {
				t.Fatal(err)
			}
			if err := st.EnableTOTP(ctx, u.ID, []byte("sealed"), 1, []string{"h1", "h2"}, time.Now()); err != nil {
				t.Fatal(err)
			}

			_, stderr, code := runCmd(t, env, "two-factor-reset", "--data-dir", dir)
			if code != 2 || !strings.Contains(stderr, "--email is required") {
				t.Fatalf("without --email: %d %s", code, stderr)
			}
			_, stderr, code = runCmd(t, env, "two-factor-reset", "--data-dir", dir, "--email", "nobody@example.com")
			if code != 1 || !strings.Contains(stderr, "no user") {
				t.Fatalf("unknown email: %d %s", code, stderr)
			}
			out, stderr, code := runCmd(t, env, "two-factor-reset", "--data-dir", dir, "--email", "OPS@example.com")
			if code != 0 || !strings.Contains(out, "Removed the 2FA of ops@example.com") {
				t.Fatalf("reset: %d\n%s\n%s", code, out, stderr)
			}
			if _, err := st.TOTPDevice(ctx, u.ID); err != gatehouse.ErrNotFound {
				t.Fatalf("device after reset: %v", err)
			}
			if n, _ := st.CountBackupCodes(ctx, u.ID); n != 0 {
				t.Fatalf("%d backup codes after reset", n)
			}
			out, _, _ = runCmd(t, env, "outbox", "--data-dir", dir)
			if !strings.Contains(out, "Your 2FA was reset by an administrator") {
				t.Fatalf("no email queued:\n%s", out)
			}
		})
	}
}
