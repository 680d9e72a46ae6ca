package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/storetest"
)

// BenchmarkSessionCreateAudited measures, side by side on each engine,
// the write a sign-in makes (a new session) without and with its
// login.succeeded event in the same transaction: the audit log's cost per
// sign-in, before the password hash that dominates a sign-in's time.
func BenchmarkSessionCreateAudited(b *testing.B) {
	for _, engine := range storetest.Engines {
		s := storetest.Open(b, engine)
		_, _, user := newOwnerTB(b, s)
		for _, audited := range []bool{false, true} {
			name := string(engine) + "/plain"
			if audited {
				name = string(engine) + "/audited"
			}
			b.Run(name, func(b *testing.B) {
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						_, hash := gatehouse.NewSessionKey()
						now := time.Now()
						sess := &gatehouse.Session{PublicID: gatehouse.NewUUID(), UserID: user.ID, CreatedAt: now, LastActivityAt: now,
							ExpiresAt: now.Add(time.Hour), LoginMethod: "password"}
						ctx := context.Background()
						if audited {
							ctx = gatehouse.WithAuditEvents(ctx, gatehouse.AuditEvent{Type: gatehouse.AuditLoginSucceeded,
								Actor: gatehouse.AuditUser(user), SubjectUUID: user.UUID, Target: gatehouse.AuditTarget{Type: "session", ID: sess.PublicID}})
						}
						if err := s.CreateSession(ctx, hash, sess); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		}
	}
}

// BenchmarkAuditRefusal is the cost a refused sign-in pays to record its
// event: a queue hand-off, never a wait for the database.
func BenchmarkAuditRefusal(b *testing.B) {
	s := storetest.Open(b, store.SQLite)
	ev := gatehouse.AuditEvent{Type: gatehouse.AuditLoginFailed, Outcome: gatehouse.AuditFailure, Reason: "invalid_credentials"}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			s.RecordAuditRefusal(context.Background(), ev)
		}
	})
	b.StopTimer()
	s.FlushAudit(context.Background())
}

func newOwnerTB(tb testing.TB, s *store.Store) (*gatehouse.Organization, *gatehouse.Project, *gatehouse.User) {
	tb.Helper()
	org := &gatehouse.Organization{ID: gatehouse.NewUUID(), Name: "Acme"}
	secret := gatehouse.NewProjectSecret()
	project := &gatehouse.Project{Name: "Default project", APIToken: gatehouse.NewProjectToken(),
		SecretTokenHash: gatehouse.HashToken(secret), SecretTokenMask: gatehouse.MaskToken(secret)}
	user := &gatehouse.User{UUID: gatehouse.NewUUID(), Email: "bench@example.com", PasswordHash: "argon2id$fake", IsActive: true}
	if err := s.CreateOrganizationWithOwner(context.Background(), org, project, user); err != nil {
		tb.Fatal(err)
	}
	return org, project, user
}
