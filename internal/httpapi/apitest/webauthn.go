package apitest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"strings"
	"testing"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
)

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

func (a Answer) OrDefault(cred *SoftCredential, challenge, typ string) Answer {
	if a.Origin == "" {
		a.Origin = testOrigin
	}
	if a.RpID == "" {
		a.RpID = TestRPID
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
		a.Id = B64.EncodeToString(cred.Id)
	}
	return a
}

// registerPasskey registers and verifies a passkey for the signed-in b.
func RegisterPasskey(t *testing.T, b *Browser, label string) (*SoftCredential, string) {
	t.Helper()
	o := Begin(t, b, "/api/webauthn/register/begin/", true)
	cred, body := NewCredential(t, o, Answer{})
	body = strings.Replace(body, `{`, `{"label":`+MustJSONString(label)+`,`, 1)
	resp, out := b.Send("POST", "/api/webauthn/register/complete/", body, true)
	if resp.StatusCode != 200 || out["success"] != true {
		t.Fatalf("register complete: %d %v", resp.StatusCode, out)
	}
	id := out["credential_id"].(string)
	v := Begin(t, b, "/api/webauthn/credentials/"+id+"/verify/", true)
	if len(v.AllowCredentials) != 1 || v.AllowCredentials[0].ID != B64.EncodeToString(cred.Id) || v.UserVerification != "required" {
		t.Fatalf("verify options: %+v", v)
	}
	resp, out = b.Send("POST", "/api/webauthn/credentials/"+id+"/verify_complete/", cred.Assertion(t, v.Challenge, Answer{}), true)
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
func PasskeyLogin(t *testing.T, b *Browser, cred *SoftCredential, a Answer) (int, map[string]any) {
	t.Helper()
	o := Begin(t, b, "/api/webauthn/login/begin/", false)
	resp, body := b.Send("POST", "/api/webauthn/login/complete/", cred.Assertion(t, o.Challenge, a), false)
	return resp.StatusCode, body
}

var B64 = base64.RawURLEncoding

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

// NewCredential makes a key pair and the registration answer for o.
func NewCredential(t *testing.T, o ceremonyOptions, a Answer) (*SoftCredential, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 32)
	rand.Read(id)
	handle, _ := B64.DecodeString(o.User.ID)
	cred := &SoftCredential{Id: id, Key: key, UserHandle: handle}
	return cred, registrationBody(t, cred, o, a)
}

type SoftCredential struct {
	Id         []byte
	Key        *ecdsa.PrivateKey
	UserHandle []byte
	Count      uint32
}

// assertion signs the answer to request options with challenge; the
// counter moves forward unless a.count says otherwise.
func (c *SoftCredential) Assertion(t *testing.T, challenge string, a Answer) string {
	t.Helper()
	a = a.OrDefault(c, challenge, "webauthn.get")
	count := c.Count + 1
	if a.Count != nil {
		count = *a.Count
	}
	c.Count = count
	ad := authData(a.RpID, a.Flags, count, nil)
	cd := clientData(a.Typ, a.Challenge, a.Origin)
	h := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, ad...), h[:]...))
	key := c.Key
	if a.SignWith != nil {
		key = a.SignWith
	}
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	resp := map[string]any{"clientDataJSON": B64.EncodeToString(cd), "authenticatorData": B64.EncodeToString(ad), "signature": B64.EncodeToString(sig)}
	handle := c.UserHandle
	if a.UserHandle != nil {
		handle = a.UserHandle
	}
	if !a.NoHandle {
		resp["userHandle"] = B64.EncodeToString(handle)
	}
	body, _ := json.Marshal(map[string]any{"id": a.Id, "rawId": B64.EncodeToString(c.Id), "type": "public-key", "response": resp})
	return string(body)
}

const testOrigin = "https://gatehouse.example.com"

const TestRPID = "gatehouse.example.com"

func authData(rpID string, flags byte, count uint32, attested []byte) []byte {
	h := sha256.Sum256([]byte(rpID))
	out := append([]byte{}, h[:]...)
	out = append(out, flags)
	out = binary.BigEndian.AppendUint32(out, count)
	return append(out, attested...)
}

func clientData(typ, challenge, origin string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": origin, "crossOrigin": false})
	return b
}

func registrationBody(t *testing.T, cred *SoftCredential, o ceremonyOptions, a Answer) string {
	t.Helper()
	a = a.OrDefault(cred, o.Challenge, "webauthn.create")
	attested := make([]byte, 16) // AAGUID: zero
	attested = binary.BigEndian.AppendUint16(attested, uint16(len(cred.Id)))
	attested = append(attested, cred.Id...)
	attested = append(attested, coseKey(t, &cred.Key.PublicKey, a.Alg)...)
	obj, err := webauthncbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": authData(a.RpID, a.Flags|0x40, 0, attested)})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"id": a.Id, "rawId": B64.EncodeToString(cred.Id), "type": "public-key",
		"response": map[string]any{"clientDataJSON": B64.EncodeToString(clientData(a.Typ, a.Challenge, a.Origin)),
			"attestationObject": B64.EncodeToString(obj), "transports": []string{"internal", "hybrid"}}})
	return string(body)
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
