package httpapi_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/api"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/google/uuid"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// A software authenticator: P-256 keys made here, attestation and
// assertion objects built by hand, so the API tests can also build every
// kind of wrong answer.

var b64 = base64.RawURLEncoding

const testOrigin = "https://gatehouse.example.com"
const testRPID = "gatehouse.example.com"

type softCredential struct {
	id         []byte
	key        *ecdsa.PrivateKey
	userHandle []byte
	count      uint32
}

// ceremonyOptions is what the begin endpoints answer, as far as the
// authenticator reads it.
type ceremonyOptions struct {
	Challenge string `json:"challenge"`
	RPID      string `json:"rpId"`
	RP        struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"rp"`
	User struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"user"`
	PubKeyCredParams []struct {
		Alg int `json:"alg"`
	} `json:"pubKeyCredParams"`
	AuthenticatorSelection struct {
		ResidentKey      string `json:"residentKey"`
		UserVerification string `json:"userVerification"`
	} `json:"authenticatorSelection"`
	UserVerification string `json:"userVerification"`
	AllowCredentials []struct {
		ID string `json:"id"`
	} `json:"allowCredentials"`
	ExcludeCredentials []struct {
		ID string `json:"id"`
	} `json:"excludeCredentials"`
	Timeout int `json:"timeout"`
}

// begin calls a begin endpoint and decodes its options.
func Begin(t *testing.T, b *Browser, path string, csrf bool) ceremonyOptions {
	t.Helper()
	resp, body := b.Send("POST", path, "{}", csrf)
	if resp.StatusCode != 200 {
		t.Fatalf("%s: %d %v", path, resp.StatusCode, body)
	}
	raw, _ := json.Marshal(body)
	var o ceremonyOptions
	if err := json.Unmarshal(raw, &o); err != nil || o.Challenge == "" {
		t.Fatalf("%s: options %s: %v", path, raw, err)
	}
	return o
}

// answer shapes one authenticator answer; the zero value is a correct one.
type Answer struct {
	Origin     string
	RpID       string
	Challenge  string
	Typ        string
	Flags      byte // 0: UP|UV
	Alg        int
	Count      *uint32
	UserHandle []byte // nil: the credential's
	NoHandle   bool
	Id         string // "" : the credential id
	SignWith   *ecdsa.PrivateKey
}

func (a Answer) OrDefault(cred *softCredential, challenge, typ string) Answer {
	if a.Origin == "" {
		a.Origin = testOrigin
	}
	if a.RpID == "" {
		a.RpID = testRPID
	}
	if a.Challenge == "" {
		a.Challenge = challenge
	}
	if a.Typ == "" {
		a.Typ = typ
	}
	if a.Flags == 0 {
		a.Flags = 0x01 | 0x04
	}
	if a.Alg == 0 {
		a.Alg = -7
	}
	if a.Id == "" && cred != nil {
		a.Id = b64.EncodeToString(cred.id)
	}
	return a
}

func clientData(typ, challenge, origin string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": origin, "crossOrigin": false})
	return b
}

func authData(rpID string, flags byte, count uint32, attested []byte) []byte {
	h := sha256.Sum256([]byte(rpID))
	out := append([]byte{}, h[:]...)
	out = append(out, flags)
	out = binary.BigEndian.AppendUint32(out, count)
	return append(out, attested...)
}

func coseKey(t *testing.T, pub *ecdsa.PublicKey, alg int) []byte {
	t.Helper()
	raw, err := pub.Bytes() // 0x04 | X | Y
	if err != nil {
		t.Fatal(err)
	}
	b, err := webauthncbor.Marshal(map[int]any{1: 2, 3: alg, -1: 1, -2: raw[1:33], -3: raw[33:65]})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// newCredential makes a key pair and the registration answer for o.
func newCredential(t *testing.T, o ceremonyOptions, a Answer) (*softCredential, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 32)
	rand.Read(id)
	handle, _ := b64.DecodeString(o.User.ID)
	cred := &softCredential{id: id, key: key, userHandle: handle}
	return cred, registrationBody(t, cred, o, a)
}

func registrationBody(t *testing.T, cred *softCredential, o ceremonyOptions, a Answer) string {
	t.Helper()
	a = a.OrDefault(cred, o.Challenge, "webauthn.create")
	attested := make([]byte, 16) // AAGUID: zero
	attested = binary.BigEndian.AppendUint16(attested, uint16(len(cred.id)))
	attested = append(attested, cred.id...)
	attested = append(attested, coseKey(t, &cred.key.PublicKey, a.Alg)...)
	obj, err := webauthncbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": authData(a.RpID, a.Flags|0x40, 0, attested)})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"id": a.Id, "rawId": b64.EncodeToString(cred.id), "type": "public-key",
		"response": map[string]any{"clientDataJSON": b64.EncodeToString(clientData(a.Typ, a.Challenge, a.Origin)),
			"attestationObject": b64.EncodeToString(obj), "transports": []string{"internal", "hybrid"}}})
	return string(body)
}

// assertion signs the answer to request options with challenge; the
// counter moves forward unless a.count says otherwise.
func (c *softCredential) assertion(t *testing.T, challenge string, a Answer) string {
	t.Helper()
	a = a.OrDefault(c, challenge, "webauthn.get")
	count := c.count + 1
	if a.Count != nil {
		count = *a.Count
	}
	c.count = count
	ad := authData(a.RpID, a.Flags, count, nil)
	cd := clientData(a.Typ, a.Challenge, a.Origin)
	h := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, ad...), h[:]...))
	key := c.key
	if a.SignWith != nil {
		key = a.SignWith
	}
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	resp := map[string]any{"clientDataJSON": b64.EncodeToString(cd), "authenticatorData": b64.EncodeToString(ad), "signature": b64.EncodeToString(sig)}
	handle := c.userHandle
	if a.UserHandle != nil {
		handle = a.UserHandle
	}
	if !a.NoHandle {
		resp["userHandle"] = b64.EncodeToString(handle)
	}
	body, _ := json.Marshal(map[string]any{"id": a.Id, "rawId": b64.EncodeToString(c.id), "type": "public-key", "response": resp})
	return string(body)
}

// registerPasskey registers and verifies a passkey for the signed-in b.
func RegisterPasskey(t *testing.T, b *Browser, label string) (*softCredential, string) {
	t.Helper()
	o := Begin(t, b, "/api/webauthn/register/begin/", true)
	cred, body := newCredential(t, o, Answer{})
	body = strings.Replace(body, `{`, `{"label":`+MustJSONString(label)+`,`, 1)
	resp, out := b.Send("POST", "/api/webauthn/register/complete/", body, true)
	if resp.StatusCode != 200 || out["success"] != true {
		t.Fatalf("register complete: %d %v", resp.StatusCode, out)
	}
	id := out["credential_id"].(string)
	v := Begin(t, b, "/api/webauthn/credentials/"+id+"/verify/", true)
	if len(v.AllowCredentials) != 1 || v.AllowCredentials[0].ID != b64.EncodeToString(cred.id) || v.UserVerification != "required" {
		t.Fatalf("verify options: %+v", v)
	}
	resp, out = b.Send("POST", "/api/webauthn/credentials/"+id+"/verify_complete/", cred.assertion(t, v.Challenge, Answer{}), true)
	if resp.StatusCode != 200 || out["verified"] != true {
		t.Fatalf("verify complete: %d %v", resp.StatusCode, out)
	}
	return cred, id
}

func MustJSONString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// passkeyLogin runs a passwordless login in b with cred, shaped by a.
func PasskeyLogin(t *testing.T, b *Browser, cred *softCredential, a Answer) (int, map[string]any) {
	t.Helper()
	o := Begin(t, b, "/api/webauthn/login/begin/", false)
	resp, body := b.Send("POST", "/api/webauthn/login/complete/", cred.assertion(t, o.Challenge, a), false)
	return resp.StatusCode, body
}

func wantPasskeyError(t *testing.T, what string, status int, body map[string]any) {
	t.Helper()
	if status != 400 || body["error"] == nil || body["error"] == "" {
		t.Fatalf("%s: want 400 {\"error\"}, got %d %v", what, status, body)
	}
}

func TestPasskeyRegisterVerifyAndLogin(t *testing.T) {
	ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := NewServer(t, engine, Options{})
		owner := OwnerBrowser(t, ts)

		o := Begin(t, owner, "/api/webauthn/register/begin/", true)
		handle, _ := b64.DecodeString(o.User.ID)
		wantHandle := uuid.MustParse(ts.User.UUID)
		var algs []int
		for _, p := range o.PubKeyCredParams {
			algs = append(algs, p.Alg)
		}
		if o.RP.ID != testRPID || string(handle) != string(wantHandle[:]) || o.User.Name != "owner@example.com" ||
			o.AuthenticatorSelection.ResidentKey != "required" || o.AuthenticatorSelection.UserVerification != "required" ||
			fmt.Sprint(algs) != "[-36 -7 -8]" || o.Timeout != 300000 {
			t.Fatalf("creation options: %+v", o)
		}
		if owner.Cookie(api.WebAuthnCookie) == "" {
			t.Fatal("no challenge cookie")
		}
		cred, body := newCredential(t, o, Answer{})
		resp, out := owner.Send("POST", "/api/webauthn/register/complete/", body, true)
		if resp.StatusCode != 200 || out["success"] != true {
			t.Fatalf("register: %d %v", resp.StatusCode, out)
		}
		id := out["credential_id"].(string)
		// The same registration answer again: the challenge is gone.
		resp, out = owner.Send("POST", "/api/webauthn/register/complete/", body, true)
		wantPasskeyError(t, "replayed registration", resp.StatusCode, out)

		// Not verified yet: cannot sign in.
		anon := NewBrowser(t, ts)
		status, out := PasskeyLogin(t, anon, cred, Answer{})
		wantPasskeyError(t, "unverified passkey login", status, out)

		code, list := owner.List("/api/webauthn/credentials/")
		if code != 200 || len(list) != 1 || list[0]["verified"] != false || list[0]["label"] != "Passkey" || list[0]["authenticator_type"] != "hybrid" {
			t.Fatalf("list: %d %v", code, list)
		}
		v := Begin(t, owner, "/api/webauthn/credentials/"+id+"/verify/", true)
		resp, out = owner.Send("POST", "/api/webauthn/credentials/"+id+"/verify_complete/", cred.assertion(t, v.Challenge, Answer{}), true)
		if resp.StatusCode != 200 || out["verified"] != true {
			t.Fatalf("verify: %d %v", resp.StatusCode, out)
		}
		// The registered passkey is now excluded from new registrations.
		if o2 := Begin(t, owner, "/api/webauthn/register/begin/", true); len(o2.ExcludeCredentials) != 1 {
			t.Fatalf("exclude list: %+v", o2.ExcludeCredentials)
		}

		lo := Begin(t, anon, "/api/webauthn/login/begin/", false)
		if len(lo.AllowCredentials) != 0 || lo.UserVerification != "required" || lo.RPID != testRPID {
			t.Fatalf("login options: %+v", lo)
		}
		good := cred.assertion(t, lo.Challenge, Answer{})
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
		other := NewBrowser(t, ts)
		Begin(t, other, "/api/webauthn/login/begin/", false)
		resp, out = other.Send("POST", "/api/webauthn/login/complete/", good, false)
		wantPasskeyError(t, "replayed assertion with a fresh challenge", resp.StatusCode, out)

		// A sign counter that goes backwards is refused and logged.
		back := uint32(1)
		status, out = PasskeyLogin(t, NewBrowser(t, ts), cred, Answer{Count: &back})
		wantPasskeyError(t, "counter going backwards", status, out)
		if !strings.Contains(ts.Logs.String(), "sign counter did not increase") {
			t.Fatal("refused counter not logged")
		}
		cred.count = 10
		if status, out = PasskeyLogin(t, NewBrowser(t, ts), cred, Answer{}); status != 200 {
			t.Fatalf("login after a refused counter: %d %v", status, out)
		}
		code, list = owner.List("/api/webauthn/credentials/")
		if code != 200 || list[0]["verified"] != true || list[0]["last_used_at"] == nil {
			t.Fatalf("list after use: %v", list)
		}
	})
}

func TestPasskeyAssertionAttacks(t *testing.T) {
	ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		clock := NewClock()
		ts := NewServer(t, engine, Options{Now: clock.now})
		owner := OwnerBrowser(t, ts)
		cred, _ := RegisterPasskey(t, owner, "laptop")
		member := JoinByInvite(t, ts, owner, "ada@example.com", 1)
		memberCred, _ := RegisterPasskey(t, member, "phone")

		unknown := uuid.New()
		evil, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		for _, tc := range []struct {
			name string
			a    Answer
			body func(challenge string) string
		}{
			{"malformed JSON", Answer{}, func(string) string { return `{"rawId":` }},
			{"not an assertion", Answer{}, func(string) string { return `{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{}}` }},
			{"garbage authenticator data", Answer{}, func(c string) string {
				return strings.Replace(cred.assertion(t, c, Answer{}), `"authenticatorData":"`, `"authenticatorData":"AAAA`, 1)
			}},
			{"cross-origin", Answer{Origin: "https://evil.example.com"}, nil},
			{"origin with another port", Answer{Origin: "https://gatehouse.example.com:8443"}, nil},
			{"wrong RP ID", Answer{RpID: "evil.example.com"}, nil},
			{"create instead of get", Answer{Typ: "webauthn.create"}, nil},
			{"another challenge", Answer{Challenge: b64.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))}, nil},
			{"no user verification", Answer{Flags: 0x01}, nil},
			{"unknown user handle", Answer{UserHandle: unknown[:]}, nil},
			{"no user handle", Answer{NoHandle: true}, nil},
			{"credential of another user", Answer{UserHandle: memberCred.userHandle}, nil},
			{"id differs from rawId", Answer{Id: b64.EncodeToString(memberCred.id)}, nil},
			{"signed by another key", Answer{SignWith: evil}, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				// Every failure counts toward the lockout (see
				// TestPasskeyFailuresCountTowardLockout); start each case
				// with clean counters so the answer shows the failure.
				if _, err := ts.Store.DB().Exec(`DELETE FROM rate_counters`); err != nil {
					t.Fatal(err)
				}
				b := NewBrowser(t, ts)
				o := Begin(t, b, "/api/webauthn/login/begin/", false)
				body := ""
				if tc.body != nil {
					body = tc.body(o.Challenge)
				} else {
					body = cred.assertion(t, o.Challenge, tc.a)
				}
				resp, out := b.Send("POST", "/api/webauthn/login/complete/", body, false)
				wantPasskeyError(t, tc.name, resp.StatusCode, out)
				if b.Cookie(httpauth.SessionCookie) != "" {
					t.Fatal("a session cookie was set")
				}
			})
		}
		// The member's own passkey, presented as the member, works.
		if status, out := PasskeyLogin(t, NewBrowser(t, ts), memberCred, Answer{}); status != 200 {
			t.Fatalf("member login: %d %v", status, out)
		}

		// An expired challenge (5 minutes) is refused.
		b := NewBrowser(t, ts)
		o := Begin(t, b, "/api/webauthn/login/begin/", false)
		clock.add(5*time.Minute + time.Second)
		resp, out := b.Send("POST", "/api/webauthn/login/complete/", cred.assertion(t, o.Challenge, Answer{}), false)
		wantPasskeyError(t, "expired challenge", resp.StatusCode, out)
		// No challenge cookie at all.
		resp, out = NewBrowser(t, ts).Send("POST", "/api/webauthn/login/complete/", cred.assertion(t, o.Challenge, Answer{}), false)
		wantPasskeyError(t, "no challenge", resp.StatusCode, out)
		// Another site cannot drive the anonymous endpoints.
		if resp, _ := NewBrowser(t, ts).Send("POST", "/api/webauthn/login/begin/", "{}", false, "Origin", "https://evil.example.com"); resp.StatusCode != 403 {
			t.Fatalf("cross-site begin: %d", resp.StatusCode)
		}
	})
}

// Failed passkey logins count toward the lockout of the user's email and
// address: after five, even a correct assertion is refused with the
// lockout answer.
func TestPasskeyFailuresCountTowardLockout(t *testing.T) {
	ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := NewServer(t, engine, Options{})
		owner := OwnerBrowser(t, ts)
		cred, _ := RegisterPasskey(t, owner, "laptop")
		evil, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		for i := 0; i < 4; i++ {
			status, out := PasskeyLogin(t, NewBrowser(t, ts), cred, Answer{SignWith: evil})
			wantPasskeyError(t, "bad signature", status, out)
		}
		status, out := PasskeyLogin(t, NewBrowser(t, ts), cred, Answer{SignWith: evil})
		if status != 403 || out["code"] != "too_many_failed_attempts" {
			t.Fatalf("fifth failure: %d %v", status, out)
		}
		status, out = PasskeyLogin(t, NewBrowser(t, ts), cred, Answer{})
		if status != 403 || out["code"] != "too_many_failed_attempts" {
			t.Fatalf("good assertion while locked: %d %v", status, out)
		}
		// The password login of the same email is locked too.
		if resp, body := NewBrowser(t, ts).Login("owner@example.com", OwnerPassword); resp.StatusCode != 403 || body["code"] != "too_many_failed_attempts" {
			t.Fatalf("password login while locked: %d %v", resp.StatusCode, body)
		}
	})
}

func TestPasskeyRegistrationAttacks(t *testing.T) {
	ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		clock := NewClock()
		ts := NewServer(t, engine, Options{Now: clock.now})
		owner := OwnerBrowser(t, ts)
		for _, tc := range []struct {
			name string
			a    Answer
		}{
			{"cross-origin", Answer{Origin: "https://evil.example.com"}},
			{"wrong RP ID", Answer{RpID: "evil.example.com"}},
			{"get instead of create", Answer{Typ: "webauthn.get"}},
			{"no user verification", Answer{Flags: 0x01}},
			{"RS256 key", Answer{Alg: -257}},
			{"ES384 key", Answer{Alg: -35}},
			{"id differs from rawId", Answer{Id: b64.EncodeToString([]byte("another credential id 0123456789"))}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				o := Begin(t, owner, "/api/webauthn/register/begin/", true)
				_, body := newCredential(t, o, tc.a)
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
		if resp, _ := NewBrowser(t, ts).Send("POST", "/api/webauthn/register/begin/", "{}", false); resp.StatusCode != 401 {
			t.Fatalf("anonymous begin: %d", resp.StatusCode)
		}
		// A registration challenge does not answer a login, nor the other
		// way round.
		o := Begin(t, owner, "/api/webauthn/register/begin/", true)
		cred, _ := newCredential(t, o, Answer{})
		if resp, out := owner.Send("POST", "/api/webauthn/login/complete/", cred.assertion(t, o.Challenge, Answer{}), false); resp.StatusCode != 400 {
			t.Fatalf("registration challenge used for login: %d %v", resp.StatusCode, out)
		}
		o = Begin(t, owner, "/api/webauthn/register/begin/", true)
		_, body := newCredential(t, o, Answer{})
		// Another user's registration challenge does not fit this user.
		member := JoinByInvite(t, ts, owner, "ada@example.com", 1)
		member.SetCookie(api.WebAuthnCookie, owner.Cookie(api.WebAuthnCookie))
		resp, out := member.Send("POST", "/api/webauthn/register/complete/", body, true)
		wantPasskeyError(t, "another user's challenge", resp.StatusCode, out)
		// An old session cannot add passkeys.
		clock.add(3 * time.Hour)
		if resp, out := owner.Send("POST", "/api/webauthn/register/begin/", "{}", true); resp.StatusCode != 403 {
			t.Fatalf("begin with a 3-hour-old session: %d %v", resp.StatusCode, out)
		}
	})
}

func TestPasskeyManagement(t *testing.T) {
	ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := NewServer(t, engine, Options{})
		owner := OwnerBrowser(t, ts)
		_, id := RegisterPasskey(t, owner, "laptop")
		member := JoinByInvite(t, ts, owner, "ada@example.com", 1)
		base := "/api/webauthn/credentials/"

		resp, out := owner.Send("PATCH", base+id+"/", `{"label":"  work laptop "}`, true)
		if resp.StatusCode != 200 || out["label"] != "work laptop" {
			t.Fatalf("rename: %d %v", resp.StatusCode, out)
		}
		for _, label := range []string{`""`, `"   "`, MustJSONString(strings.Repeat("x", 201))} {
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
	ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := NewServer(t, engine, Options{})
		owner := OwnerBrowser(t, ts)
		if resp, out := owner.Send("PATCH", "/api/users/@me/", `{"passkeys_enabled_for_2fa":true}`, true); resp.StatusCode != 400 || out["code"] != "no_passkeys" {
			t.Fatalf("2FA without passkeys: %d %v", resp.StatusCode, out)
		}
		cred, id := RegisterPasskey(t, owner, "laptop")
		resp, me := owner.Send("PATCH", "/api/users/@me/", `{"passkeys_enabled_for_2fa":true}`, true)
		if resp.StatusCode != 200 || me["is_2fa_enabled"] != true || me["passkeys_enabled_for_2fa"] != true {
			t.Fatalf("enable passkey 2FA: %d %v", resp.StatusCode, me)
		}
		if _, st := owner.Send("GET", "/api/users/@me/two_factor_status/", "", false); st["is_enabled"] != true || st["method"] != "passkey" || st["has_passkeys"] != true {
			t.Fatalf("status: %v", st)
		}

		b := NewBrowser(t, ts)
		if resp, out := b.Send("GET", "/api/login/2fa/passkey/methods/", "", false); resp.StatusCode != 401 {
			t.Fatalf("methods without a pending login: %d %v", resp.StatusCode, out)
		}
		if resp, out := b.Login("owner@example.com", OwnerPassword); resp.StatusCode != 401 || out["code"] != "2fa_required" {
			t.Fatalf("password login: %d %v", resp.StatusCode, out)
		}
		if resp, out := b.Send("GET", "/api/login/2fa/passkey/methods/", "", false); resp.StatusCode != 200 || out["has_passkeys"] != true || out["has_totp"] != false {
			t.Fatalf("methods: %d %v", resp.StatusCode, out)
		}
		if resp, out := b.Send("POST", "/api/login/token/", `{"token":"123456"}`, false); resp.StatusCode != 400 || out["code"] != "2fa_invalid" {
			t.Fatalf("a code without TOTP: %d %v", resp.StatusCode, out)
		}
		o := Begin(t, b, "/api/login/2fa/passkey/begin/", false)
		if len(o.AllowCredentials) != 1 || o.AllowCredentials[0].ID != b64.EncodeToString(cred.id) || o.UserVerification != "required" {
			t.Fatalf("2FA options: %+v", o)
		}
		tokenBody := func(assertion string) string {
			var a map[string]any
			json.Unmarshal([]byte(assertion), &a)
			out, _ := json.Marshal(map[string]any{"credential_id": a["rawId"], "response": a["response"]})
			return string(out)
		}
		// Wrong answers first: cross-origin, then another challenge.
		resp, out := b.Send("POST", "/api/login/token/", tokenBody(cred.assertion(t, o.Challenge, Answer{Origin: "https://evil.example.com"})), false)
		if resp.StatusCode != 400 || out["code"] != "2fa_invalid" {
			t.Fatalf("cross-origin second step: %d %v", resp.StatusCode, out)
		}
		o = Begin(t, b, "/api/login/2fa/passkey/begin/", false)
		good := tokenBody(cred.assertion(t, o.Challenge, Answer{}))
		resp, out = b.Send("POST", "/api/login/token/", good, false)
		if resp.StatusCode != 200 || out["success"] != true {
			t.Fatalf("passkey second step: %d %v", resp.StatusCode, out)
		}
		if resp, me := b.Send("GET", "/api/users/@me/", "", false); resp.StatusCode != 200 || me["email"] != "owner@example.com" {
			t.Fatalf("@me after the second step: %d", resp.StatusCode)
		}
		// The same assertion cannot finish another pending login.
		c := NewBrowser(t, ts)
		c.Login("owner@example.com", OwnerPassword)
		Begin(t, c, "/api/login/2fa/passkey/begin/", false)
		if resp, out := c.Send("POST", "/api/login/token/", good, false); resp.StatusCode != 400 {
			t.Fatalf("replayed second step: %d %v", resp.StatusCode, out)
		}
		// A passwordless login needs no second step.
		if status, out := PasskeyLogin(t, NewBrowser(t, ts), cred, Answer{}); status != 200 {
			t.Fatalf("passwordless with passkey 2FA: %d %v", status, out)
		}

		// Deleting the last passkey turns passkey 2FA off.
		if resp, _ := owner.Send("DELETE", "/api/webauthn/credentials/"+id+"/", "", true); resp.StatusCode != 204 {
			t.Fatalf("delete: %d", resp.StatusCode)
		}
		if _, me := owner.Send("GET", "/api/users/@me/", "", false); me["is_2fa_enabled"] != false || me["passkeys_enabled_for_2fa"] != false {
			t.Fatalf("after deleting the last passkey: %v", me)
		}
		if resp, out := NewBrowser(t, ts).Login("owner@example.com", OwnerPassword); resp.StatusCode != 200 {
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
	ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := NewServer(t, engine, Options{})
		owner := OwnerBrowser(t, ts)
		grace := JoinByInvite(t, ts, owner, "grace@acme.example", 1)
		cred, _ := RegisterPasskey(t, grace, "laptop")
		EnforceSAML(t, ts, owner)

		status, out := PasskeyLogin(t, NewBrowser(t, ts), cred, Answer{})
		if status != 400 || out["error"] != "You can only login with SSO for this account." {
			t.Fatalf("passkey login under SSO enforcement: %d %v", status, out)
		}
		resp, out := grace.Send("POST", "/api/webauthn/register/begin/", "{}", true)
		if resp.StatusCode != 400 || out["code"] != "sso_enforced" || !strings.Contains(out["detail"].(string), "requires SSO") {
			t.Fatalf("register under SSO enforcement: %d %v", resp.StatusCode, out)
		}
	})
}
