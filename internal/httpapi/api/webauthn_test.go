package api_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/api"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"

	"github.com/google/uuid"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// A software authenticator: P-256 keys made here, attestation and
// assertion objects built by hand, so the API tests can also build every
// kind of wrong answer.

func wantPasskeyError(t *testing.T, what string, status int, body map[string]any) {
	t.Helper()
	if status != 400 || body["error"] == nil || body["error"] == "" {
		t.Fatalf("%s: want 400 {\"error\"}, got %d %v", what, status, body)
	}
}

func TestPasskeyRegisterVerifyAndLogin(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		owner := apitest.OwnerBrowser(t, ts)

		o := apitest.Begin(t, owner, "/api/webauthn/register/begin/", true)
		handle, _ := apitest.B64.DecodeString(o.User.ID)
		wantHandle := uuid.MustParse(ts.User.UUID)
		var algs []int
		for _, p := range o.PubKeyCredParams {
			algs = append(algs, p.Alg)
		}
		if o.RP.ID != apitest.TestRPID || string(handle) != string(wantHandle[:]) || o.User.Name != "owner@example.com" ||
			o.AuthenticatorSelection.ResidentKey != "required" || o.AuthenticatorSelection.UserVerification != "required" ||
			fmt.Sprint(algs) != "[-36 -7 -8]" || o.Timeout != 300000 {
			t.Fatalf("creation options: %+v", o)
		}
		if owner.Cookie(api.WebAuthnCookie) == "" {
			t.Fatal("no challenge cookie")
		}
		cred, body := apitest.NewCredential(t, o, apitest.Answer{})
		resp, out := owner.Send("POST", "/api/webauthn/register/complete/", body, true)
		if resp.StatusCode != 200 || out["success"] != true {
			t.Fatalf("register: %d %v", resp.StatusCode, out)
		}
		id := out["credential_id"].(string)
		// The same registration answer again: the challenge is gone.
		resp, out = owner.Send("POST", "/api/webauthn/register/complete/", body, true)
		wantPasskeyError(t, "replayed registration", resp.StatusCode, out)

		// Not verified yet: cannot sign in.
		anon := apitest.NewBrowser(t, ts)
		status, out := apitest.PasskeyLogin(t, anon, cred, apitest.Answer{})
		wantPasskeyError(t, "unverified passkey login", status, out)

		code, list := owner.List("/api/webauthn/credentials/")
		if code != 200 || len(list) != 1 || list[0]["verified"] != false || list[0]["label"] != "Passkey" || list[0]["authenticator_type"] != "hybrid" {
			t.Fatalf("list: %d %v", code, list)
		}
		v := apitest.Begin(t, owner, "/api/webauthn/credentials/"+id+"/verify/", true)
		resp, out = owner.Send("POST", "/api/webauthn/credentials/"+id+"/verify_complete/", cred.Assertion(t, v.Challenge, apitest.Answer{}), true)
		if resp.StatusCode != 200 || out["verified"] != true {
			t.Fatalf("verify: %d %v", resp.StatusCode, out)
		}
		// The registered passkey is now excluded from new registrations.
		if o2 := apitest.Begin(t, owner, "/api/webauthn/register/begin/", true); len(o2.ExcludeCredentials) != 1 {
			t.Fatalf("exclude list: %+v", o2.ExcludeCredentials)
		}

		lo := apitest.Begin(t, anon, "/api/webauthn/login/begin/", false)
		if len(lo.AllowCredentials) != 0 || lo.UserVerification != "required" || lo.RPID != apitest.TestRPID {
			t.Fatalf("login options: %+v", lo)
		}
		good := cred.Assertion(t, lo.Challenge, apitest.Answer{})
		resp, out = anon.Send("POST", "/api/webauthn/login/complete/", good, false)
		if resp.StatusCode != 200 || out["success"] != true {
			t.Fatalf("passkey login: %d %v", resp.StatusCode, out)
		}
		resp, me := anon.Send("GET", "/api/users/@me/", "", false)
		if resp.StatusCode != 200 || me["email"] != "owner@example.com" {
			t.Fatalf("@me after passkey login: %d %v", resp.StatusCode, me)
		}
		// Replay of the exact assertion, in the same browser and in another.
		resp, out = anon.Send("POST", "/api/webauthn/login/complete/", good, false)
		wantPasskeyError(t, "replayed assertion", resp.StatusCode, out)
		other := apitest.NewBrowser(t, ts)
		apitest.Begin(t, other, "/api/webauthn/login/begin/", false)
		resp, out = other.Send("POST", "/api/webauthn/login/complete/", good, false)
		wantPasskeyError(t, "replayed assertion with a fresh challenge", resp.StatusCode, out)

		// A sign counter that goes backwards is refused and logged.
		back := uint32(1)
		status, out = apitest.PasskeyLogin(t, apitest.NewBrowser(t, ts), cred, apitest.Answer{Count: &back})
		wantPasskeyError(t, "counter going backwards", status, out)
		if !strings.Contains(ts.Logs.String(), "sign counter did not increase") {
			t.Fatal("refused counter not logged")
		}
		cred.Count = 10
		if status, out = apitest.PasskeyLogin(t, apitest.NewBrowser(t, ts), cred, apitest.Answer{}); status != 200 {
			t.Fatalf("login after a refused counter: %d %v", status, out)
		}
		code, list = owner.List("/api/webauthn/credentials/")
		if code != 200 || list[0]["verified"] != true || list[0]["last_used_at"] == nil {
			t.Fatalf("list after use: %v", list)
		}
	})
}

func TestPasskeyAssertionAttacks(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		clock := apitest.NewClock()
		ts := apitest.NewServer(t, engine, apitest.Options{Now: clock.Now})
		owner := apitest.OwnerBrowser(t, ts)
		cred, _ := apitest.RegisterPasskey(t, owner, "laptop")
		member := apitest.JoinByInvite(t, ts, owner, "ada@example.com", 1)
		memberCred, _ := apitest.RegisterPasskey(t, member, "phone")

		unknown := uuid.New()
		evil, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		for _, tc := range []struct {
			name string
			a    apitest.Answer
			body func(challenge string) string
		}{
			{"malformed JSON", apitest.Answer{}, func(string) string { return `{"rawId":` }},
			{"not an assertion", apitest.Answer{}, func(string) string { return `{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{}}` }},
			{"garbage authenticator data", apitest.Answer{}, func(c string) string {
				return strings.Replace(cred.Assertion(t, c, apitest.Answer{}), `"authenticatorData":"`, `"authenticatorData":"AAAA`, 1)
			}},
			{"cross-origin", apitest.Answer{Origin: "https://evil.example.com"}, nil},
			{"origin with another port", apitest.Answer{Origin: "https://gatehouse.example.com:8443"}, nil},
			{"wrong RP ID", apitest.Answer{RpID: "evil.example.com"}, nil},
			{"create instead of get", apitest.Answer{Typ: "webauthn.create"}, nil},
			{"another challenge", apitest.Answer{Challenge: apitest.B64.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))}, nil},
			{"no user verification", apitest.Answer{Flags: 0x01}, nil},
			{"unknown user handle", apitest.Answer{UserHandle: unknown[:]}, nil},
			{"no user handle", apitest.Answer{NoHandle: true}, nil},
			{"credential of another user", apitest.Answer{UserHandle: memberCred.UserHandle}, nil},
			{"id differs from rawId", apitest.Answer{Id: apitest.B64.EncodeToString(memberCred.Id)}, nil},
			{"signed by another key", apitest.Answer{SignWith: evil}, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				// Every failure counts toward the lockout (see
				// TestPasskeyFailuresCountTowardLockout); start each case
				// with clean counters so the answer shows the failure.
				if _, err := ts.Store.DB().Exec(`DELETE FROM rate_counters`); err != nil {
					t.Fatal(err)
				}
				b := apitest.NewBrowser(t, ts)
				o := apitest.Begin(t, b, "/api/webauthn/login/begin/", false)
				body := ""
				if tc.body != nil {
					body = tc.body(o.Challenge)
				} else {
					body = cred.Assertion(t, o.Challenge, tc.a)
				}
				resp, out := b.Send("POST", "/api/webauthn/login/complete/", body, false)
				wantPasskeyError(t, tc.name, resp.StatusCode, out)
				if b.Cookie(httpauth.SessionCookie) != "" {
					t.Fatal("a session cookie was set")
				}
			})
		}
		// The member's own passkey, presented as the member, works.
		if status, out := apitest.PasskeyLogin(t, apitest.NewBrowser(t, ts), memberCred, apitest.Answer{}); status != 200 {
			t.Fatalf("member login: %d %v", status, out)
		}

		// An expired challenge (5 minutes) is refused.
		b := apitest.NewBrowser(t, ts)
		o := apitest.Begin(t, b, "/api/webauthn/login/begin/", false)
		clock.Add(5*time.Minute + time.Second)
		resp, out := b.Send("POST", "/api/webauthn/login/complete/", cred.Assertion(t, o.Challenge, apitest.Answer{}), false)
		wantPasskeyError(t, "expired challenge", resp.StatusCode, out)
		// No challenge cookie at all.
		resp, out = apitest.NewBrowser(t, ts).Send("POST", "/api/webauthn/login/complete/", cred.Assertion(t, o.Challenge, apitest.Answer{}), false)
		wantPasskeyError(t, "no challenge", resp.StatusCode, out)
		// Another site cannot drive the anonymous endpoints.
		if resp, _ := apitest.NewBrowser(t, ts).Send("POST", "/api/webauthn/login/begin/", "{}", false, "Origin", "https://evil.example.com"); resp.StatusCode != 403 {
			t.Fatalf("cross-site begin: %d", resp.StatusCode)
		}
	})
}

// Failed passkey logins count toward the lockout of the user's email and
// address: after five, even a correct assertion is refused with the
// lockout answer.
func TestPasskeyFailuresCountTowardLockout(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		owner := apitest.OwnerBrowser(t, ts)
		cred, _ := apitest.RegisterPasskey(t, owner, "laptop")
		evil, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		for i := 0; i < 4; i++ {
			status, out := apitest.PasskeyLogin(t, apitest.NewBrowser(t, ts), cred, apitest.Answer{SignWith: evil})
			wantPasskeyError(t, "bad signature", status, out)
		}
		status, out := apitest.PasskeyLogin(t, apitest.NewBrowser(t, ts), cred, apitest.Answer{SignWith: evil})
		if status != 403 || out["code"] != "too_many_failed_attempts" {
			t.Fatalf("fifth failure: %d %v", status, out)
		}
		status, out = apitest.PasskeyLogin(t, apitest.NewBrowser(t, ts), cred, apitest.Answer{})
		if status != 403 || out["code"] != "too_many_failed_attempts" {
			t.Fatalf("good assertion while locked: %d %v", status, out)
		}
		// The password login of the same email is locked too.
		if resp, body := apitest.NewBrowser(t, ts).Login("owner@example.com", apitest.OwnerPassword); resp.StatusCode != 403 || body["code"] != "too_many_failed_attempts" {
			t.Fatalf("password login while locked: %d %v", resp.StatusCode, body)
		}
	})
}

func TestPasskeyRegistrationAttacks(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		clock := apitest.NewClock()
		ts := apitest.NewServer(t, engine, apitest.Options{Now: clock.Now})
		owner := apitest.OwnerBrowser(t, ts)
		for _, tc := range []struct {
			name string
			a    apitest.Answer
		}{
			{"cross-origin", apitest.Answer{Origin: "https://evil.example.com"}},
			{"wrong RP ID", apitest.Answer{RpID: "evil.example.com"}},
			{"get instead of create", apitest.Answer{Typ: "webauthn.get"}},
			{"no user verification", apitest.Answer{Flags: 0x01}},
			{"RS256 key", apitest.Answer{Alg: -257}},
			{"ES384 key", apitest.Answer{Alg: -35}},
			{"id differs from rawId", apitest.Answer{Id: apitest.B64.EncodeToString([]byte("another credential id 0123456789"))}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				o := apitest.Begin(t, owner, "/api/webauthn/register/begin/", true)
				_, body := apitest.NewCredential(t, o, tc.a)
				resp, out := owner.Send("POST", "/api/webauthn/register/complete/", body, true)
				wantPasskeyError(t, tc.name, resp.StatusCode, out)
			})
		}
		if code, list := owner.List("/api/webauthn/credentials/"); code != 200 || len(list) != 0 {
			t.Fatalf("refused registrations were stored: %v", list)
		}
		// CSRF and session are required.
		if resp, _ := owner.Send("POST", "/api/webauthn/register/begin/", "{}", false); resp.StatusCode != 403 {
			t.Fatalf("begin without CSRF: %d", resp.StatusCode)
		}
		if resp, _ := apitest.NewBrowser(t, ts).Send("POST", "/api/webauthn/register/begin/", "{}", false); resp.StatusCode != 401 {
			t.Fatalf("anonymous begin: %d", resp.StatusCode)
		}
		// A registration challenge does not answer a login, nor the other
		// way round.
		o := apitest.Begin(t, owner, "/api/webauthn/register/begin/", true)
		cred, _ := apitest.NewCredential(t, o, apitest.Answer{})
		if resp, out := owner.Send("POST", "/api/webauthn/login/complete/", cred.Assertion(t, o.Challenge, apitest.Answer{}), false); resp.StatusCode != 400 {
			t.Fatalf("registration challenge used for login: %d %v", resp.StatusCode, out)
		}
		o = apitest.Begin(t, owner, "/api/webauthn/register/begin/", true)
		_, body := apitest.NewCredential(t, o, apitest.Answer{})
		// Another user's registration challenge does not fit this user.
		member := apitest.JoinByInvite(t, ts, owner, "ada@example.com", 1)
		member.SetCookie(api.WebAuthnCookie, owner.Cookie(api.WebAuthnCookie))
		resp, out := member.Send("POST", "/api/webauthn/register/complete/", body, true)
		wantPasskeyError(t, "another user's challenge", resp.StatusCode, out)
		// An old session cannot add passkeys.
		clock.Add(3 * time.Hour)
		if resp, out := owner.Send("POST", "/api/webauthn/register/begin/", "{}", true); resp.StatusCode != 403 {
			t.Fatalf("begin with a 3-hour-old session: %d %v", resp.StatusCode, out)
		}
	})
}

func TestPasskeyManagement(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		owner := apitest.OwnerBrowser(t, ts)
		_, id := apitest.RegisterPasskey(t, owner, "laptop")
		member := apitest.JoinByInvite(t, ts, owner, "ada@example.com", 1)
		base := "/api/webauthn/credentials/"

		resp, out := owner.Send("PATCH", base+id+"/", `{"label":"  work laptop "}`, true)
		if resp.StatusCode != 200 || out["label"] != "work laptop" {
			t.Fatalf("rename: %d %v", resp.StatusCode, out)
		}
		for _, label := range []string{`""`, `"   "`, apitest.MustJSONString(strings.Repeat("x", 201))} {
			resp, out := owner.Send("PATCH", base+id+"/", `{"label":`+label+`}`, true)
			wantPasskeyError(t, "label "+label[:2], resp.StatusCode, out)
		}
		if resp, out := owner.Send("PATCH", base+id+"/", `{"label":"`+strings.Repeat("é", 200)+`"}`, true); resp.StatusCode != 200 {
			t.Fatalf("200-character label: %d %v", resp.StatusCode, out)
		}
		// Another user sees none of it.
		for _, req := range [][2]string{{"PATCH", `{"label":"mine"}`}, {"DELETE", ""}} {
			resp, out := member.Send(req[0], base+id+"/", req[1], true)
			if resp.StatusCode != 404 || out["error"] != "Credential not found." {
				t.Fatalf("%s of another user's passkey: %d %v", req[0], resp.StatusCode, out)
			}
		}
		if resp, _ := member.Send("POST", base+id+"/verify/", "{}", true); resp.StatusCode != 404 {
			t.Fatalf("verify of another user's passkey: %d", resp.StatusCode)
		}
		if code, list := member.List(base); code != 200 || len(list) != 0 {
			t.Fatalf("member list: %v", list)
		}
		if resp, _ := owner.Send("DELETE", base+id+"/", "", false); resp.StatusCode != 403 {
			t.Fatalf("delete without CSRF: %d", resp.StatusCode)
		}
		if resp, _ := owner.Send("DELETE", base+id+"/", "", true); resp.StatusCode != 204 {
			t.Fatalf("delete: %d", resp.StatusCode)
		}
		if resp, out := owner.Send("DELETE", base+id+"/", "", true); resp.StatusCode != 404 || out["error"] != "Credential not found." {
			t.Fatalf("delete again: %d %v", resp.StatusCode, out)
		}
		if resp, out := owner.Send("DELETE", base+"nope/", "", true); resp.StatusCode != 404 {
			t.Fatalf("delete nope: %d %v", resp.StatusCode, out)
		}
	})
}

// Passkeys as second factor: enabling needs a verified passkey; a password
// login then asks for one, answered through /api/login/token/; deleting
// the last passkey turns passkey 2FA off.
func TestPasskeySecondFactor(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		owner := apitest.OwnerBrowser(t, ts)
		if resp, out := owner.Send("PATCH", "/api/users/@me/", `{"passkeys_enabled_for_2fa":true}`, true); resp.StatusCode != 400 || out["code"] != "no_passkeys" {
			t.Fatalf("2FA without passkeys: %d %v", resp.StatusCode, out)
		}
		cred, id := apitest.RegisterPasskey(t, owner, "laptop")
		resp, me := owner.Send("PATCH", "/api/users/@me/", `{"passkeys_enabled_for_2fa":true}`, true)
		if resp.StatusCode != 200 || me["is_2fa_enabled"] != true || me["passkeys_enabled_for_2fa"] != true {
			t.Fatalf("enable passkey 2FA: %d %v", resp.StatusCode, me)
		}
		if _, st := owner.Send("GET", "/api/users/@me/two_factor_status/", "", false); st["is_enabled"] != true || st["method"] != "passkey" || st["has_passkeys"] != true {
			t.Fatalf("status: %v", st)
		}

		b := apitest.NewBrowser(t, ts)
		if resp, out := b.Send("GET", "/api/login/2fa/passkey/methods/", "", false); resp.StatusCode != 401 {
			t.Fatalf("methods without a pending login: %d %v", resp.StatusCode, out)
		}
		if resp, out := b.Login("owner@example.com", apitest.OwnerPassword); resp.StatusCode != 401 || out["code"] != "2fa_required" {
			t.Fatalf("password login: %d %v", resp.StatusCode, out)
		}
		if resp, out := b.Send("GET", "/api/login/2fa/passkey/methods/", "", false); resp.StatusCode != 200 || out["has_passkeys"] != true || out["has_totp"] != false {
			t.Fatalf("methods: %d %v", resp.StatusCode, out)
		}
		if resp, out := b.Send("POST", "/api/login/token/", `{"token":"123456"}`, false); resp.StatusCode != 400 || out["code"] != "2fa_invalid" {
			t.Fatalf("a code without TOTP: %d %v", resp.StatusCode, out)
		}
		o := apitest.Begin(t, b, "/api/login/2fa/passkey/begin/", false)
		if len(o.AllowCredentials) != 1 || o.AllowCredentials[0].ID != apitest.B64.EncodeToString(cred.Id) || o.UserVerification != "required" {
			t.Fatalf("2FA options: %+v", o)
		}
		tokenBody := func(assertion string) string {
			var a map[string]any
			json.Unmarshal([]byte(assertion), &a)
			out, _ := json.Marshal(map[string]any{"credential_id": a["rawId"], "response": a["response"]})
			return string(out)
		}
		// Wrong answers first: cross-origin, then another challenge.
		resp, out := b.Send("POST", "/api/login/token/", tokenBody(cred.Assertion(t, o.Challenge, apitest.Answer{Origin: "https://evil.example.com"})), false)
		if resp.StatusCode != 400 || out["code"] != "2fa_invalid" {
			t.Fatalf("cross-origin second step: %d %v", resp.StatusCode, out)
		}
		o = apitest.Begin(t, b, "/api/login/2fa/passkey/begin/", false)
		good := tokenBody(cred.Assertion(t, o.Challenge, apitest.Answer{}))
		resp, out = b.Send("POST", "/api/login/token/", good, false)
		if resp.StatusCode != 200 || out["success"] != true {
			t.Fatalf("passkey second step: %d %v", resp.StatusCode, out)
		}
		if resp, me := b.Send("GET", "/api/users/@me/", "", false); resp.StatusCode != 200 || me["email"] != "owner@example.com" {
			t.Fatalf("@me after the second step: %d", resp.StatusCode)
		}
		// The same assertion cannot finish another pending login.
		c := apitest.NewBrowser(t, ts)
		c.Login("owner@example.com", apitest.OwnerPassword)
		apitest.Begin(t, c, "/api/login/2fa/passkey/begin/", false)
		if resp, out := c.Send("POST", "/api/login/token/", good, false); resp.StatusCode != 400 {
			t.Fatalf("replayed second step: %d %v", resp.StatusCode, out)
		}
		// A passwordless login needs no second step.
		if status, out := apitest.PasskeyLogin(t, apitest.NewBrowser(t, ts), cred, apitest.Answer{}); status != 200 {
			t.Fatalf("passwordless with passkey 2FA: %d %v", status, out)
		}

		// Deleting the last passkey turns passkey 2FA off.
		if resp, _ := owner.Send("DELETE", "/api/webauthn/credentials/"+id+"/", "", true); resp.StatusCode != 204 {
			t.Fatalf("delete: %d", resp.StatusCode)
		}
		if _, me := owner.Send("GET", "/api/users/@me/", "", false); me["is_2fa_enabled"] != false || me["passkeys_enabled_for_2fa"] != false {
			t.Fatalf("after deleting the last passkey: %v", me)
		}
		if resp, out := apitest.NewBrowser(t, ts).Login("owner@example.com", apitest.OwnerPassword); resp.StatusCode != 200 {
			t.Fatalf("password login after passkey 2FA ended: %d %v", resp.StatusCode, out)
		}
		found := false
		for _, m := range ts.Mail.Messages() {
			found = found || strings.Contains(m.Subject, "disabled 2FA")
		}
		if !found {
			t.Fatal("no notice that 2FA was turned off")
		}
	})
}

// SSO enforcement on the user's domain refuses passkey registration and
// passkey login.
func TestPasskeysUnderSSOEnforcement(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		owner := apitest.OwnerBrowser(t, ts)
		grace := apitest.JoinByInvite(t, ts, owner, "grace@acme.example", 1)
		cred, _ := apitest.RegisterPasskey(t, grace, "laptop")
		apitest.EnforceSAML(t, ts, owner)

		status, out := apitest.PasskeyLogin(t, apitest.NewBrowser(t, ts), cred, apitest.Answer{})
		if status != 400 || out["error"] != "You can only login with SSO for this account." {
			t.Fatalf("passkey login under SSO enforcement: %d %v", status, out)
		}
		resp, out := grace.Send("POST", "/api/webauthn/register/begin/", "{}", true)
		if resp.StatusCode != 400 || out["code"] != "sso_enforced" || !strings.Contains(out["detail"].(string), "requires SSO") {
			t.Fatalf("register under SSO enforcement: %d %v", resp.StatusCode, out)
		}
	})
}
