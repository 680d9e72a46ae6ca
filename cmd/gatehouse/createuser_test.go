package main

import (
	"context"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/storetest"
)

// TestCreateUserVouchesForEmail: the operator who runs createuser vouches
// for the address, so the owner's email is verified (and a later single
// sign-on links instead of claiming the account); --unverified leaves it
// awaiting verification.
func TestCreateUserVouchesForEmail(t *testing.T) {
	t.Parallel()
	for _, engine := range storetest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel() // each engine has its own database and server
			env, dir, opts := engineEnv(t, engine)
			createUser(t, env, dir)
			out, stderr, code := runCmd(t, env, "createuser", "--data-dir", dir, "--email", "later@example.com", "--password", "correct horse battery staple", "--organization", "Later", "--unverified")
			if code != 0 {
				t.Fatalf("createuser --unverified: %d\n%s\n%s", code, out, stderr)
			}
			ctx := context.Background()
			st, err := store.Open(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			for email, want := range map[string]bool{"ops@example.com": true, "later@example.com": false} {
				u, err := st.UserByEmail(ctx, email)
				if err != nil {
					t.Fatal(err)
				}
				if u.IsEmailVerified == nil || *u.IsEmailVerified != want {
					t.Errorf("%s: is_email_verified = %v, want %v", email, u.IsEmailVerified, want)
				}
			}
		})
	}
}
