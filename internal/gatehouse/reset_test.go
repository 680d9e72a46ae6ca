package gatehouse_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/secretkey"
)

// memResetStore is a one-user gatehouse.ResetStore.
type memResetStore struct {
	user        *gatehouse.User
	requestedAt *time.Time
}

func (m *memResetStore) UserByEmail(_ context.Context, email string) (*gatehouse.User, error) {
	if strings.EqualFold(email, m.user.Email) {
		return m.user, nil
	}
	return nil, gatehouse.ErrNotFound
}

func (m *memResetStore) UserByUUID(_ context.Context, uuid string) (*gatehouse.User, error) {
	if uuid == m.user.UUID {
		return m.user, nil
	}
	return nil, gatehouse.ErrNotFound
}

func (m *memResetStore) SetPasswordResetRequestedAt(_ context.Context, id int64, at time.Time) error {
	if id != m.user.ID {
		return gatehouse.ErrNotFound
	}
	at = at.Truncate(time.Millisecond)
	m.requestedAt = &at
	return nil
}

func (m *memResetStore) PasswordResetRequestedAt(context.Context, int64) (time.Time, bool, error) {
	if m.requestedAt == nil {
		return time.Time{}, false, nil
	}
	return *m.requestedAt, true, nil
}

func (m *memResetStore) CompletePasswordReset(_ context.Context, _ int64, expected time.Time, expectedHash, hash gatehouse.Secret) ([]string, bool, error) {
	if m.requestedAt == nil || !m.requestedAt.Equal(expected) || m.user.PasswordHash != expectedHash {
		return nil, false, nil
	}
	m.requestedAt = nil
	m.user.PasswordHash = hash
	return nil, true, nil
}

var linkPattern = regexp.MustCompile(`https://gh\.example\.com/reset/([0-9a-f-]{36})/([0-9a-z]+-[0-9a-f]{64})\n`)

type resetFixture struct {
	store *memResetStore
	now   time.Time
	mails []string
}

func newResetFixture() *resetFixture {
	return &resetFixture{store: &memResetStore{user: &gatehouse.User{ID: 7, UUID: gatehouse.NewUUID(), Email: "Ada@Example.com",
		PasswordHash: "argon2$old", IsActive: true}}, now: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
}

func (f *resetFixture) service(secret string, fallbacks ...string) *gatehouse.ResetService {
	return &gatehouse.ResetService{Store: f.store, Key: secretkey.NewKeyring(secret, fallbacks...).For(secretkey.PurposePasswordReset),
		SiteURL: "https://gh.example.com/", Now: func() time.Time { return f.now },
		HashPassword: func(_ context.Context, pw gatehouse.Secret) (gatehouse.Secret, error) { return "test$" + pw, nil },
		Notify:       func(_ context.Context, _, _, text string) error { f.mails = append(f.mails, text); return nil }}
}

func (f *resetFixture) request(t *testing.T, s *gatehouse.ResetService) string {
	t.Helper()
	n := len(f.mails)
	if err := s.Request(context.Background(), f.store.user.Email, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	s.Wait()
	if len(f.mails) != n+1 {
		t.Fatalf("%d emails", len(f.mails)-n)
	}
	m := linkPattern.FindStringSubmatch(f.mails[n])
	if m == nil || m[1] != f.store.user.UUID {
		t.Fatalf("no link in %q", f.mails[n])
	}
	return m[2]
}

func isInvalidToken(err error) bool {
	e, ok := gatehouse.AsError(err)
	return ok && e.Code == "invalid_token" && e.Attr == "token"
}

const (
	oldKey = "old-secret-key-0123456789abcdefghijklmnop"
	newKey = "new-secret-key-0123456789abcdefghijklmnop"
)

func TestResetTokenFallbackKeys(t *testing.T) {
	f := newResetFixture()
	tok := f.request(t, f.service(oldKey))
	ctx := context.Background()
	if err := f.service(newKey, oldKey).Validate(ctx, f.store.user.UUID, tok); err != nil {
		t.Fatalf("token signed with a fallback key refused: %v", err)
	}
	if err := f.service(newKey).Validate(ctx, f.store.user.UUID, tok); !isInvalidToken(err) {
		t.Fatalf("token accepted after its key was dropped: %v", err)
	}
}

func TestResetTokenInvalidation(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, f *resetFixture, tok string) string // returns the token to check
	}{
		{"valid", func(t *testing.T, f *resetFixture, tok string) string { return tok }},
		{"23h59m59s later", func(t *testing.T, f *resetFixture, tok string) string {
			f.now = f.now.Add(24*time.Hour - time.Second)
			return tok
		}},
		{"expired", func(t *testing.T, f *resetFixture, tok string) string {
			f.now = f.now.Add(24*time.Hour + time.Second)
			return tok
		}},
		{"password changed", func(t *testing.T, f *resetFixture, tok string) string {
			f.store.user.PasswordHash = "argon2$new"
			return tok
		}},
		{"email changed", func(t *testing.T, f *resetFixture, tok string) string {
			f.store.user.Email = "ada@other.example.com"
			return tok
		}},
		{"email case changed", func(t *testing.T, f *resetFixture, tok string) string {
			f.store.user.Email = "ada@example.com"
			return tok
		}},
		{"no pending reset", func(t *testing.T, f *resetFixture, tok string) string { f.store.requestedAt = nil; return tok }},
		{"newer request", func(t *testing.T, f *resetFixture, tok string) string {
			f.now = f.now.Add(time.Millisecond)
			f.request(t, f.service(newKey))
			return tok
		}},
		{"newer request in the same millisecond", func(t *testing.T, f *resetFixture, tok string) string {
			f.request(t, f.service(newKey))
			return tok
		}},
		{"truncated", func(t *testing.T, f *resetFixture, tok string) string { return tok[:len(tok)-2] }},
		{"timestamp changed", func(t *testing.T, f *resetFixture, tok string) string { return "1" + tok }},
		{"upper-case mac", func(t *testing.T, f *resetFixture, tok string) string { return strings.ToUpper(tok) }},
		{"no dash", func(t *testing.T, f *resetFixture, tok string) string { return strings.Replace(tok, "-", "", 1) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newResetFixture()
			tok := f.request(t, f.service(newKey))
			tok = tc.change(t, f, tok)
			err := f.service(newKey).Validate(ctx, f.store.user.UUID, tok)
			valid := tc.name == "valid" || tc.name == "23h59m59s later" || tc.name == "email case changed"
			if valid && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !valid && !isInvalidToken(err) {
				t.Fatalf("accepted or wrong error: %v", err)
			}
		})
	}
}

func TestResetCompleteOnce(t *testing.T) {
	ctx := context.Background()
	f := newResetFixture()
	s := f.service(newKey)
	tok := f.request(t, s)
	if _, err := s.Complete(ctx, f.store.user.UUID, tok, "short"); err == nil {
		t.Fatal("short password accepted")
	}
	u, err := s.Complete(ctx, f.store.user.UUID, tok, "a perfectly fine passphrase")
	if err != nil || u.Email != "Ada@Example.com" {
		t.Fatalf("complete: %v %v", u, err)
	}
	if f.store.user.PasswordHash != "test$a perfectly fine passphrase" || f.store.requestedAt != nil {
		t.Fatalf("store not updated: %+v", f.store)
	}
	if _, err := s.Complete(ctx, f.store.user.UUID, tok, "another fine passphrase"); !isInvalidToken(err) {
		t.Fatalf("token reused: %v", err)
	}
	if len(f.mails) != 2 || !strings.Contains(f.mails[1], "was just changed") {
		t.Fatalf("emails: %q", f.mails)
	}
}

func TestResetRequestUnknownAndInactive(t *testing.T) {
	ctx := context.Background()
	f := newResetFixture()
	s := f.service(newKey)
	if err := s.Request(ctx, "nobody@example.com", ""); err != nil {
		t.Fatal(err)
	}
	f.store.user.IsActive = false
	if err := s.Request(ctx, f.store.user.Email, ""); err != nil {
		t.Fatal(err)
	}
	if len(f.mails) != 0 || f.store.requestedAt != nil {
		t.Fatalf("unknown or inactive email acted on: %q", f.mails)
	}
	if err := s.Request(ctx, "not an email", ""); err == nil {
		t.Fatal("invalid email accepted")
	}
}

func TestResetThrottledError(t *testing.T) {
	f := newResetFixture()
	s := f.service(newKey)
	s.Throttle = func(context.Context, string) (bool, time.Duration, error) { return false, 1500 * time.Millisecond, nil }
	err := s.Request(context.Background(), f.store.user.Email, "")
	e, ok := gatehouse.AsError(err)
	if !ok || e.Kind != gatehouse.KindThrottled || e.RetryAfter != 2 || e.Detail != "Request was throttled. Expected available in 2 seconds." {
		t.Fatalf("%v", err)
	}
	if len(f.mails) != 0 {
		t.Fatal("throttled request sent email")
	}
}

// callLog is a gatehouse.ResetStore that records which methods are called.
type callLog struct {
	gatehouse.ResetStore
	calls []string
}

func (c *callLog) UserByEmail(ctx context.Context, email string) (*gatehouse.User, error) {
	c.calls = append(c.calls, "UserByEmail")
	return c.ResetStore.UserByEmail(ctx, email)
}

func (c *callLog) SetPasswordResetRequestedAt(ctx context.Context, id int64, at time.Time) error {
	c.calls = append(c.calls, "SetPasswordResetRequestedAt")
	return c.ResetStore.SetPasswordResetRequestedAt(ctx, id, at)
}

func (c *callLog) PasswordResetRequestedAt(ctx context.Context, id int64) (time.Time, bool, error) {
	c.calls = append(c.calls, "PasswordResetRequestedAt")
	return c.ResetStore.PasswordResetRequestedAt(ctx, id)
}

// A reset request does the same work before it is answered for a known,
// an inactive and an unknown email (so its timing reveals no account): the
// record of the request and the email of a known one come after.
func TestResetRequestSameWorkBeforeAnswer(t *testing.T) {
	var before []string
	for _, tc := range []struct {
		name, email string
		active      bool
		mails       int
	}{
		{"known", "Ada@Example.com", true, 1},
		{"inactive", "Ada@Example.com", false, 0},
		{"unknown", "nobody@example.com", true, 0},
	} {
		f := newResetFixture()
		f.store.user.IsActive = tc.active
		log := &callLog{ResetStore: f.store}
		s := f.service(oldKey)
		s.Store = log
		throttled := 0
		s.Throttle = func(context.Context, string) (bool, time.Duration, error) { throttled++; return true, 0, nil }
		var later []func()
		s.After = func(work func()) { later = append(later, work) }
		if err := s.Request(context.Background(), tc.email, "192.0.2.1"); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got := strings.Join(log.calls, ",")
		if len(f.mails) != 0 || throttled != 1 || got != "UserByEmail" {
			t.Fatalf("%s: before the answer: calls %q, %d emails, %d throttle counts", tc.name, got, len(f.mails), throttled)
		}
		before = append(before, got)
		for _, work := range later {
			work()
		}
		if len(f.mails) != tc.mails {
			t.Fatalf("%s: %d emails after the answer, want %d", tc.name, len(f.mails), tc.mails)
		}
		if tc.mails == 1 && (f.store.requestedAt == nil || !strings.Contains(f.mails[0], "/reset/"+f.store.user.UUID+"/")) {
			t.Fatalf("%s: request not recorded or no link: %v %q", tc.name, f.store.requestedAt, f.mails)
		}
	}
	if before[0] != before[1] || before[1] != before[2] {
		t.Fatalf("work before the answer differs: %q", before)
	}
}
