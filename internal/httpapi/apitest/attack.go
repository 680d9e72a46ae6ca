package apitest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// attackTarget is one organization's world, built through the API: the
// owner and a member, and one object of every kind an attacker aims at.
type AttackTarget struct {
	Ts             *Server
	Owner, Member  *Browser
	OrgID          string
	ProjectID      int64
	FlagID         string
	OwnerKeyID     string // the owner's personal API key
	OwnerKey       string // its value
	SecretKeyID    string // a project secret key
	InviteID       string
	DomainID       string
	OwnerSessionID string // the owner's login session
	PasskeyID      string // the owner's passkey
	MemberUUID     string
	ProjectToken   string
}

// newAttackTarget builds the target organization on a fresh server.
func NewAttackTarget(t *testing.T, engine store.Engine, o Options) *AttackTarget {
	t.Helper()
	ts := NewServer(t, engine, o)
	owner := OwnerBrowser(t, ts)
	a := &AttackTarget{Ts: ts, Owner: owner, OrgID: ts.User.CurrentOrganizationID, ProjectID: ts.Project.ID, ProjectToken: ts.Project.APIToken}
	a.Member = JoinByInvite(t, ts, owner, "member@example.com", 1)
	_, me := a.Member.Send("GET", "/api/users/@me/", "", false)
	a.MemberUUID, _ = me["uuid"].(string)
	flag := CreateFlag(t, owner, a.ProjectID, `{"key":"target-flag","name":"Target","filters":{"groups":[{"properties":[],"rollout_percentage":100}]}}`)
	a.FlagID = fmt.Sprint(int64(flag["id"].(float64)))
	key := CreateKey(t, owner, map[string]any{"label": "owner key", "scopes": []string{"*"}})
	a.OwnerKeyID, a.OwnerKey = key["id"].(string), key["value"].(string)
	resp, sk := owner.Send("POST", fmt.Sprintf("/api/projects/%d/project_secret_api_keys/", a.ProjectID), `{"label":"sdk","scopes":["feature_flag:read"]}`, true)
	if resp.StatusCode != 201 {
		t.Fatalf("project secret key: %d %v", resp.StatusCode, sk)
	}
	a.SecretKeyID = sk["id"].(string)
	a.InviteID = MustInvite(t, owner, "invitee@example.com", 1)
	a.DomainID, _ = AddDomain(t, owner, "target.example")
	code, sessions := owner.List("/api/users/@me/login_sessions/")
	if code != 200 || len(sessions) == 0 {
		t.Fatalf("owner sessions: %d %v", code, sessions)
	}
	a.OwnerSessionID = sessions[0]["id"].(string)
	_, a.PasskeyID = RegisterPasskey(t, owner, "Owner passkey")
	return a
}

// wantUnchanged fails unless every object of the target is still there as
// it was built, and the owner is still signed in.
func (a *AttackTarget) WantUnchanged(t *testing.T) {
	t.Helper()
	o := a.Owner
	P := fmt.Sprint(a.ProjectID)
	if resp, p := o.Send("GET", "/api/projects/"+P+"/", "", false); resp.StatusCode != 200 || p["api_token"] != a.ProjectToken {
		t.Errorf("project: %d %v", resp.StatusCode, p)
	}
	if resp, f := o.Send("GET", "/api/projects/"+P+"/feature_flags/"+a.FlagID+"/", "", false); resp.StatusCode != 200 || f["name"] != "Target" || f["deleted"] != false {
		t.Errorf("flag: %d %v", resp.StatusCode, f)
	}
	if code, flags := AtkList(o, "/api/projects/"+P+"/feature_flags/"); code != 200 || len(flags) != 1 {
		t.Errorf("flags: %d %v", code, flags)
	}
	if resp, k := KeyRequest(t, a.Ts, "GET", "/api/users/@me/", a.OwnerKey, ""); resp.StatusCode != 200 {
		t.Errorf("the owner's key stopped working: %d %v", resp.StatusCode, k)
	}
	if resp, k := o.Send("GET", "/api/personal_api_keys/"+a.OwnerKeyID+"/", "", false); resp.StatusCode != 200 || k["label"] != "owner key" {
		t.Errorf("personal key: %d %v", resp.StatusCode, k)
	}
	if code, keys := AtkList(o, "/api/projects/"+P+"/project_secret_api_keys/"); code != 200 || len(keys) != 1 || keys[0]["id"] != a.SecretKeyID || keys[0]["label"] != "sdk" {
		t.Errorf("project secret keys: %d %v", code, keys)
	}
	if resp, org := o.Send("GET", "/api/organizations/"+a.OrgID+"/", "", false); resp.StatusCode != 200 || org["name"] != "Acme" {
		t.Errorf("organization: %d %v", resp.StatusCode, org)
	}
	if code, invites := AtkList(o, "/api/organizations/"+a.OrgID+"/invites/"); code != 200 || len(invites) != 1 || invites[0]["id"] != a.InviteID {
		t.Errorf("invites: %d %v", code, invites)
	}
	if code, domains := AtkList(o, "/api/organizations/"+a.OrgID+"/domains/"); code != 200 || len(domains) != 1 || domains[0]["id"] != a.DomainID ||
		domains[0]["jit_provisioning_enabled"] != false || domains[0]["saml_entity_id"] != nil && domains[0]["saml_entity_id"] != "" {
		t.Errorf("domains: %d %v", code, domains)
	}
	if code, sessions := AtkList(o, "/api/users/@me/login_sessions/"); code != 200 || !slices.ContainsFunc(sessions, func(s map[string]any) bool { return s["id"] == a.OwnerSessionID }) {
		t.Errorf("the owner's login session: %d %v", code, sessions)
	}
	if code, passkeys := AtkList(o, "/api/webauthn/credentials/"); code != 200 || len(passkeys) != 1 || passkeys[0]["label"] != "Owner passkey" {
		t.Errorf("passkeys: %d %v", code, passkeys)
	}
}

// atkList GETs a list, bare or paginated ({"results": [...]}).
func AtkList(b *Browser, path string) (int, []map[string]any) {
	b.T.Helper()
	resp, body := b.Page("GET", path, nil)
	var out []map[string]any
	if json.Unmarshal([]byte(body), &out) != nil {
		var page struct {
			Results []map[string]any `json:"results"`
		}
		json.Unmarshal([]byte(body), &page)
		out = page.Results
	}
	return resp.StatusCode, out
}

// wantRefused fails unless the answer has one of the statuses and
// PostHog's error shape ({type, code, detail, attr}, or {error} where
// PostHog's passkey endpoints use it).
func WantRefused(t *testing.T, what string, resp *http.Response, body map[string]any, statuses ...int) {
	t.Helper()
	if !slices.Contains(statuses, resp.StatusCode) {
		t.Errorf("%s: status %d %v, want one of %v", what, resp.StatusCode, body, statuses)
		return
	}
	if e, ok := body["error"].(string); ok && e != "" {
		return // the passkey endpoints answer {"error": ...}, as PostHog's do
	}
	for _, k := range []string{"type", "code", "detail"} {
		if _, ok := body[k]; !ok {
			t.Errorf("%s: %d answer %v lacks %q", what, resp.StatusCode, body, k)
			return
		}
	}
}

// attackRequest is one request an attacker sends.
type AttackRequest struct {
	Method, Path, Body string
}

func (r AttackRequest) String() string { return r.Method + " " + r.Path }

// atkJSON renders a value as a JSON string literal.
func AtkJSON(s string) string { return MustJSONString(s) }
