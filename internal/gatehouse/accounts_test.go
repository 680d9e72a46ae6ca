package gatehouse

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

type memAccounts struct {
	AccountStore // methods the test does not use panic
	emails       map[string]bool
	calls        int
}

func (m *memAccounts) CreateOrganizationWithOwner(ctx context.Context, org *Organization, p *Project, u *User) error {
	m.calls++
	if m.emails[u.Email] {
		return fmt.Errorf("insert: %w", ErrConflict)
	}
	m.emails[u.Email] = true
	return nil
}

func TestCreateOrganizationWithOwnerValidates(t *testing.T) {
	store := &memAccounts{emails: map[string]bool{"taken@example.com": true}}
	svc := &AccountService{Store: store, HashPassword: func(s Secret) Secret { return "hashed:" + s }}
	for _, tc := range []struct {
		name      string
		in        NewOwner
		code      string
		attr      string
		wantStore bool
	}{
		{"no email", NewOwner{Password: "long enough pw"}, "required", "email", false},
		{"bad email", NewOwner{Email: "not-an-email", Password: "long enough pw"}, "invalid_input", "email", false},
		{"display name email", NewOwner{Email: "Bob <bob@example.com>", Password: "long enough pw"}, "invalid_input", "email", false},
		{"short password", NewOwner{Email: "a@example.com", Password: "short"}, "password_too_short", "password", false},
		{"taken", NewOwner{Email: "taken@example.com", Password: "long enough pw"}, "unique", "email", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := store.calls
			_, err := svc.CreateOrganizationWithOwner(context.Background(), tc.in)
			e, ok := AsError(err)
			if !ok || e.Kind != KindInvalid || e.Code != tc.code || e.Attr != tc.attr {
				t.Fatalf("got %v, want %s on %s", err, tc.code, tc.attr)
			}
			if (store.calls > before) != tc.wantStore {
				t.Fatalf("store called=%v, want %v", store.calls > before, tc.wantStore)
			}
		})
	}
	out, err := svc.CreateOrganizationWithOwner(context.Background(), NewOwner{Email: " new@example.com ", Password: "long enough pw", FirstName: "Ann"})
	if err != nil {
		t.Fatal(err)
	}
	if out.User.Email != "new@example.com" || out.User.PasswordHash != "hashed:long enough pw" || out.Organization.Name != "Ann" ||
		!out.User.IsActive || out.Project.SecretTokenHash != HashToken(out.ProjectSecret) || !out.Organization.MembersCanUsePersonalAPIKeys {
		t.Fatalf("unexpected result: %+v %+v %+v", out.User, out.Organization, out.Project)
	}
	policy := errors.New("too guessable")
	svc.CheckPassword = func(Secret, ...string) error { return policy }
	if _, err := svc.CreateOrganizationWithOwner(context.Background(), NewOwner{Email: "p@example.com", Password: "password1"}); !errors.Is(err, policy) {
		t.Fatalf("policy not applied: %v", err)
	}
}
