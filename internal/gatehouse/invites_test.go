package gatehouse

import (
	"testing"
	"time"
)

func TestNewInviteIDIsRandomV4(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 100; i++ {
		id := NewInviteID()
		if len(id) != 36 || id[14] != '4' || seen[id] {
			t.Fatalf("invite id %q", id)
		}
		seen[id] = true
	}
}

func TestInvitePending(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		inv  Invite
		want bool
	}{
		{"fresh", Invite{ExpiresAt: now.Add(InviteTTL)}, true},
		{"expires now", Invite{ExpiresAt: now}, false},
		{"expired", Invite{ExpiresAt: now.Add(-time.Second)}, false},
		{"used", Invite{ExpiresAt: now.Add(time.Hour), UsedAt: now.Add(-time.Minute)}, false},
	} {
		if got := tc.inv.Pending(now); got != tc.want {
			t.Errorf("%s: Pending = %v, want %v", tc.name, got, tc.want)
		}
	}
}
