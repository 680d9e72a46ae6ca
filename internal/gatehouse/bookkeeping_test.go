package gatehouse_test

import (
	"bufio"
	"context"
	"errors"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/metrics"
	"github.com/gatehouse-auth/gatehouse/internal/password"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/storetest"
)

// errDiskFull is what every bookkeeping write of failingBookkeeping returns.
var errDiskFull = errors.New("could not extend file: No space left on device")

// failingBookkeeping is a real store whose bookkeeping writes fail, as on
// a full disk; every other call reaches the store.
type failingBookkeeping struct{ *store.Store }

func (failingBookkeeping) TouchPersonalAPIKey(context.Context, string, time.Time, time.Time, bool) error {
	return errDiskFull
}

func (failingBookkeeping) SeeDevice(context.Context, int64, string, time.Time) (time.Time, error) {
	return time.Time{}, errDiskFull
}

// Count failures in the metrics registry, as serve does.
func init() { gatehouse.CountBookkeepingFailure = metrics.BookkeepingFailed }

// bookkeepingFailures reads gatehouse_bookkeeping_failures_total{write}.
func bookkeepingFailures(t *testing.T, write string) float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	metrics.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	sc := bufio.NewScanner(rec.Body)
	prefix := `gatehouse_bookkeeping_failures_total{write="` + write + `"} `
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), prefix); ok {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	return 0
}

// TestBookkeepingFailureDoesNotFailTheRequest: when recording a use fails
// (the first use of a new key on a full disk, the device of a login), the
// key still authenticates and the login still signs in; the failure is
// counted, and the login that cannot tell whether its device is known
// sends the new-device notice.
func TestBookkeepingFailureDoesNotFailTheRequest(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			st := storetest.Open(t, engine)
			hasher := password.NewHasher(0, 0)
			accounts := &gatehouse.AccountService{Store: st, HashPassword: password.Hash, CheckPassword: password.CheckStrength, Passwords: hasher}
			created, err := accounts.CreateOrganizationWithOwner(ctx, gatehouse.NewOwner{
				Email: "ada@example.com", Password: "correct horse battery", OrganizationName: "Acme"})
			if err != nil {
				t.Fatal(err)
			}
			failing := failingBookkeeping{st}

			keys := &gatehouse.APIKeyService{Store: failing}
			label, scopes := "ci", []string{"*"}
			key, err := keys.Create(ctx, created.User, gatehouse.NewAPIKey{Label: &label, Scopes: &scopes})
			if err != nil {
				t.Fatal(err)
			}
			before := bookkeepingFailures(t, "api_key_last_used")
			user, _, err := keys.Authenticate(ctx, key.Value.Reveal(), gatehouse.KeyInHeader)
			if err != nil || user.ID != created.User.ID {
				t.Fatalf("first use of a new key with last_used_at unwritable: %v", err)
			}
			if got := bookkeepingFailures(t, "api_key_last_used"); got != before+1 {
				t.Fatalf("failed last_used_at write counted %v times, want 1", got-before)
			}

			auth := &gatehouse.AuthService{Store: st, Passwords: hasher, SessionAge: time.Hour, Devices: failing}
			before = bookkeepingFailures(t, "known_device")
			res, err := auth.Login(ctx, gatehouse.LoginInput{Email: "ada@example.com", Password: "correct horse battery",
				ClientIP: "192.0.2.1", UserAgent: "Mozilla/5.0 Firefox/130.0"})
			if err != nil || res.SessionKey == "" {
				t.Fatalf("login with the known-device write failing: %v", err)
			}
			if !res.NewDevice {
				t.Fatal("a login whose device could not be checked must send the new-device notice")
			}
			if got := bookkeepingFailures(t, "known_device"); got != before+1 {
				t.Fatalf("failed known-device write counted %v times, want 1", got-before)
			}
		})
	}
}
