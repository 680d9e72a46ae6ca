package main

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// The server sweeps expired rows as it starts (and every sweepInterval).
func TestServeSweepsExpiredSessions(t *testing.T) {
	t.Parallel()
	env, dir, opts := engineEnv(t, store.SQLite)
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
	_, hash := gatehouse.NewSessionKey()
	old := time.Now().Add(-48 * time.Hour).UTC()
	if err := st.CreateSession(ctx, hash, &gatehouse.Session{PublicID: gatehouse.NewUUID(), UserID: u.ID, CreatedAt: old, LastActivityAt: old,
		ExpiresAt: old.Add(time.Hour), LoginMethod: "password"}); err != nil {
		t.Fatal(err)
	}
	startServer(t, env, dir)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := st.SessionByKeyHash(ctx, hash); err != nil {
			return // swept
		}
		if time.Now().After(deadline) {
			t.Fatal("the expired session was not swept at start-up")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
