package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/mail"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/testenv"
)

// preClaim plays the admin who accepts his own invite to victim's address
// and plants a personal API key and a trusted device in the new account.
// It returns the admin's browser signed in as that account, the account
// and the key's value.
func preClaim(t *testing.T, ts *apitest.Server, victim string) (*apitest.Browser, *gatehouse.User, string) {
	t.Helper()
	owner := apitest.OwnerBrowser(t, ts)
	id := apitest.MustInvite(t, owner, victim, 0)
	attacker := apitest.NewBrowser(t, ts)
	resp, body := attacker.Send("POST", "/api/signup/"+id+"/", apitest.InviteSignupBody("Mallory", apitest.GoodPassword), false)
	if resp.StatusCode != 201 || body["is_email_verified"] != false {
		t.Fatalf("accepting the invite: %d %v", resp.StatusCode, body)
	}
	if resp, me := attacker.Send("GET", "/api/users/@me/", "", false); resp.StatusCode != 200 || me["is_email_verified"] != false {
		t.Fatalf("the accepted invite verified the email: %d %v", resp.StatusCode, me)
	}
	key := apitest.CreateKey(t, attacker, map[string]any{"label": "backdoor", "scopes": []string{"*"}})["value"].(string)
	if resp, _ := apitest.KeyRequest(t, ts, "GET", "/api/users/@me/", key, ""); resp.StatusCode != 200 {
		t.Fatalf("the planted key does not work to begin with: %d", resp.StatusCode)
	}
	u, err := ts.Store.UserByEmail(context.Background(), victim)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	if err := ts.Store.CreateRememberedDevice(context.Background(), &gatehouse.RememberedDevice{ID: gatehouse.NewUUID(), UserID: u.ID,
		TokenHash: "planted", PasswordMark: "m", CreatedAt: now, ExpiresAt: now.Add(time.Hour), LastUsedAt: now}); err != nil {
		t.Fatal(err)
	}
	// A passkey and an authenticator would let the holder back in, or lock
	// the owner out at the second step.
	if err := ts.Store.CreatePasskey(context.Background(), &gatehouse.Passkey{UserID: u.ID, CredentialID: []byte("planted-credential"),
		Label: "mallory", PublicKey: []byte{1}, Algorithm: -7, Verified: true, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := ts.Store.EnableTOTP(context.Background(), u.ID, []byte("sealed"), 0, []string{"code-hash"}, now); err != nil {
		t.Fatal(err)
	}
	return attacker, u, key
}

// wantAccessRevoked checks that the pre-claimed account kept nothing of its
// previous holder: the key, the session and the trusted device are gone,
// and one notice to the address named the key by label (never value).
func wantAccessRevoked(t *testing.T, ts *apitest.Server, attacker *apitest.Browser, u *gatehouse.User, key, subject string) {
	t.Helper()
	if resp, body := apitest.KeyRequest(t, ts, "GET", "/api/users/@me/", key, ""); resp.StatusCode != 401 {
		t.Fatalf("the planted key still works: %d %v", resp.StatusCode, body)
	}
	if resp, _ := attacker.Send("GET", "/api/users/@me/", "", false); resp.StatusCode != 401 {
		t.Fatalf("the admin's session in the account survived: %d", resp.StatusCode)
	}
	ctx := context.Background()
	if devs, err := ts.Store.RememberedDevices(ctx, u.ID); err != nil || len(devs) != 0 {
		t.Fatalf("trusted devices survived: %v %v", devs, err)
	}
	// The address was never verified: what its holder enrolled goes too.
	if pks, err := ts.Store.Passkeys(ctx, u.ID); err != nil || len(pks) != 0 {
		t.Fatalf("planted passkeys survived: %v %v", pks, err)
	}
	if _, err := ts.Store.TOTPDevice(ctx, u.ID); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("planted authenticator survived: %v", err)
	}
	if n, err := ts.Store.CountBackupCodes(ctx, u.ID); err != nil || n != 0 {
		t.Fatalf("planted backup codes survived: %d %v", n, err)
	}
	var notices []mail.Message
	for _, m := range ts.Mail.Messages() {
		if m.Subject == subject && strings.EqualFold(m.To, u.Email) {
			notices = append(notices, m)
		}
	}
	if len(notices) != 1 || !strings.Contains(notices[0].Text, "  - backdoor\n") || strings.Contains(notices[0].Text, key) {
		t.Fatalf("revocation notice: %+v", notices)
	}
}

// Accepting an invite does not verify the email; only the mailed link does.
func TestAttackInviteAcceptanceDoesNotVerifyEmail(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{VerifyEmail: true})
		attacker, u, _ := preClaim(t, ts, "victim@example.com")
		links := apitest.VerificationLinks(t, ts)
		if len(links) != 1 || links[0] == nil || links[0][1] != u.UUID {
			t.Fatalf("verification links after accepting the invite: %v", links)
		}
		// Signed in as before, but a later password sign-in waits for the link.
		if resp, body := apitest.NewBrowser(t, ts).Login("victim@example.com", apitest.GoodPassword); resp.StatusCode != 400 || body["code"] != "not_verified" {
			t.Fatalf("password login of the unverified invitee: %d %v", resp.StatusCode, body)
		}
		links = apitest.VerificationLinks(t, ts)
		resp, body := attacker.Send("POST", "/api/users/verify_email/", apitest.VerifyBody(links[len(links)-1][1], links[len(links)-1][2]), true)
		if resp.StatusCode != 200 {
			t.Fatalf("using the mailed link: %d %v", resp.StatusCode, body)
		}
		if resp, me := attacker.Send("GET", "/api/users/@me/", "", false); resp.StatusCode != 200 || me["is_email_verified"] != true {
			t.Fatalf("after the mailed link: %d %v", resp.StatusCode, me)
		}
	})
}

// Accepting an invite through the signup page does not verify the email
// either; a verification link is mailed.
func TestAttackInvitePageAcceptanceDoesNotVerifyEmail(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{VerifyEmail: true})
		path := "/signup/" + apitest.MustInvite(t, apitest.OwnerBrowser(t, ts), "victim@example.com", 0)
		b := apitest.NewBrowser(t, ts)
		if resp, _ := b.Submit(path, path, map[string]string{"first_name": "Mallory", "password": apitest.GoodPassword}); resp.StatusCode != 303 {
			t.Fatalf("accepting the invite on its page: %d", resp.StatusCode)
		}
		if resp, me := b.Send("GET", "/api/users/@me/", "", false); resp.StatusCode != 200 || me["email"] != "victim@example.com" || me["is_email_verified"] != false {
			t.Fatalf("after the invite page: %d %v", resp.StatusCode, me)
		}
		if links := apitest.VerificationLinks(t, ts); len(links) != 1 || links[0] == nil {
			t.Fatalf("verification links: %v", links)
		}
	})
}

// A password reset by the address's owner revokes every session, personal
// API key and trusted device of the account, and mails the revoked labels.
func TestAttackInvitePreClaimEndsWithPasswordReset(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		attacker, u, key := preClaim(t, ts, "victim@example.com")
		// The real owner resets the password from the emailed link.
		resp, _ := apitest.NewBrowser(t, ts).Send("POST", "/api/reset/", `{"email":"victim@example.com"}`, false)
		if resp.StatusCode != 204 {
			t.Fatalf("reset request: %d", resp.StatusCode)
		}
		msgs := ts.Mail.Messages()
		match := apitest.ResetLinkPattern.FindStringSubmatch(msgs[len(msgs)-1].Text)
		if match == nil || match[1] != u.UUID {
			t.Fatalf("no reset link for the victim: %+v", msgs[len(msgs)-1])
		}
		if status, body := apitest.CompleteReset(t, ts, u.UUID, match[2], "a brand new passphrase 77"); status != 200 {
			t.Fatalf("reset: %d %v", status, body)
		}
		wantAccessRevoked(t, ts, attacker, u, key, "Your Gatehouse password was changed")
		if resp, _ := apitest.NewBrowser(t, ts).Login("victim@example.com", apitest.GoodPassword); resp.StatusCode == 200 {
			t.Fatal("the admin's password still works")
		}
		// The owner's own session in the organization is untouched.
		if resp, _ := apitest.OwnerBrowser(t, ts).Send("GET", "/api/users/@me/", "", false); resp.StatusCode != 200 {
			t.Fatalf("owner: %d", resp.StatusCode)
		}
	})
}

// SSO by the address's owner takes over an account made by accepting an
// invite (its email is unverified): the password stops working and every
// session, personal API key and trusted device is revoked, with a notice.
func TestAttackInvitePreClaimEndsWithSSOTakeover(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		idp := apitest.NewIdP(t)
		ts := apitest.NewServer(t, engine, apitest.Options{Social: apitest.SocialProviders(idp)})
		attacker, u, key := preClaim(t, ts, "victim@example.com")
		owner := apitest.NewBrowser(t, ts)
		idp.SignInAs(apitest.IdpUser{Sub: "victim-1", Email: "victim@example.com", Verified: true, Name: "Victor Im"})
		apitest.WantLocation(t, owner.SocialLogin("/login/google-oauth2/"), "/")
		if status, email := owner.Me(); status != 200 || email != "victim@example.com" {
			t.Fatalf("SSO sign-in of the owner: %d %s", status, email)
		}
		wantAccessRevoked(t, ts, attacker, u, key, "Your Gatehouse account was taken over by a single sign-on")
		if resp, _ := apitest.NewBrowser(t, ts).Login("victim@example.com", apitest.GoodPassword); resp.StatusCode == 200 {
			t.Fatal("the admin's password still works after the takeover")
		}
		// A verified account is not taken over again: a second sign-in
		// sends no further notice and keeps the owner's session.
		idp.SignInAs(apitest.IdpUser{Sub: "victim-1", Email: "victim@example.com", Verified: true, Name: "Victor Im"})
		apitest.WantLocation(t, apitest.NewBrowser(t, ts).SocialLogin("/login/google-oauth2/"), "/")
		if status, _ := owner.Me(); status != 200 {
			t.Fatalf("the owner's session ended on a later sign-in: %d", status)
		}
	})
}

// forEachCounters runs fn on both engines with database counters, and on
// SQLite with Redis counters under a prefix of the test's own.
func forEachCounters(t *testing.T, fn func(t *testing.T, engine store.Engine, counters ratelimit.Counters)) {
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) { fn(t, engine, nil) })
	t.Run("redis", func(t *testing.T) {
		opt, err := redis.ParseURL(testenv.RedisURL(t))
		if err != nil {
			t.Fatal(err)
		}
		c := redis.NewClient(opt)
		prefix := "gatehouse:test:" + t.Name() + ":" + apitest.StoretestSuffix(t) + ":"
		t.Cleanup(func() {
			if keys, _ := c.Keys(context.Background(), prefix+"*").Result(); len(keys) > 0 {
				c.Del(context.Background(), keys...)
			}
			c.Close()
		})
		r := ratelimit.NewRedis(c)
		r.Prefix = prefix
		fn(t, store.SQLite, r)
	})
}

// Refused signups do not use up SIGNUP_RATE; successful ones do, and the
// refusal says the wait in words.
func TestAttackSignupThrottleCountsOnlySuccesses(t *testing.T) {
	t.Parallel()
	forEachCounters(t, func(t *testing.T, engine store.Engine, counters ratelimit.Counters) {
		ts := apitest.NewServer(t, engine, apitest.Options{Empty: true, MultiOrg: true, SignupRate: "2/day", Counters: counters})
		for i := 0; i < 5; i++ {
			resp, body := apitest.NewBrowser(t, ts).Send("POST", "/api/signup", apitest.SignupBody("first@example.com", "password"), false)
			if resp.StatusCode != 400 || body["attr"] != "password" {
				t.Fatalf("weak password %d: %d %v", i, resp.StatusCode, body)
			}
		}
		// The first account of the instance can still be created; a taken
		// email is refused and not counted either; then the limit holds.
		for i, email := range []string{"ok0@example.com", "ok0@example.com", "ok0@example.com", "ok1@example.com"} {
			resp, body := apitest.NewBrowser(t, ts).Send("POST", "/api/signup", apitest.SignupBody(email, apitest.GoodPassword), false)
			if taken := i == 1 || i == 2; (taken && resp.StatusCode != 400) || (!taken && resp.StatusCode != 201) {
				t.Fatalf("signup %d (%s) after refusals: %d %v", i, email, resp.StatusCode, body)
			}
		}
		resp, body := apitest.NewBrowser(t, ts).Send("POST", "/api/signup", apitest.SignupBody("third@example.com", apitest.GoodPassword), false)
		if resp.StatusCode != 429 || body["type"] != "throttled_error" || resp.Header.Get("Retry-After") == "" ||
			body["detail"] != "Too many accounts were created from your network. Please try again in 24 hours." {
			t.Fatalf("third successful signup: %d %v %v", resp.StatusCode, body, resp.Header)
		}
		if _, err := ts.Store.UserByEmail(context.Background(), "third@example.com"); !errors.Is(err, gatehouse.ErrNotFound) {
			t.Fatalf("the throttled signup created an account: %v", err)
		}
	})
}

// Concurrent successful signups from one address never exceed SIGNUP_RATE
// on one instance.
func TestAttackSignupThrottleConcurrentSuccesses(t *testing.T) {
	t.Parallel()
	forEachCounters(t, func(t *testing.T, engine store.Engine, counters ratelimit.Counters) {
		ts := apitest.NewServer(t, engine, apitest.Options{Empty: true, MultiOrg: true, SignupRate: "3/day", Counters: counters})
		const n = 8
		codes := make(chan int, n)
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, _ := apitest.NewBrowser(t, ts).Send("POST", "/api/signup", apitest.SignupBody(fmt.Sprintf("c%d@example.com", i), apitest.GoodPassword), false)
				codes <- resp.StatusCode
			}()
		}
		wg.Wait()
		close(codes)
		count := map[int]int{}
		for c := range codes {
			count[c]++
		}
		if count[201] != 3 || count[429] != n-3 {
			t.Fatalf("statuses %v, want 3 created and %d throttled", count, n-3)
		}
	})
}
