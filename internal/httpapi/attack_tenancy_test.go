package httpapi_test

import (
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"
	"github.com/gatehouse-auth/gatehouse/internal/sso/saml/samltest"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// crossOrgRequests are the requests on the target's organization-owned
// objects, addressed by their ids; otherProject is the attacker's own
// project, used to pair it with the target's object ids.
func crossOrgRequests(a *apitest.AttackTarget, otherProject int64) []apitest.AttackRequest {
	evilMetadata := samltest.NewIdP("https://evil.example/idp", 0).Metadata("https://evil.example/sso")
	P := fmt.Sprint(a.ProjectID)
	Q := fmt.Sprint(otherProject)
	O := a.OrgID
	var rs []apitest.AttackRequest
	add := func(method, path, body string) {
		rs = append(rs, apitest.AttackRequest{Method: method, Path: path, Body: body})
	}
	for _, prefix := range []string{"/api/projects/", "/api/environments/"} {
		add("GET", prefix+P+"/", "")
		add("PATCH", prefix+P+"/reset_token/", "{}")
		add("PATCH", prefix+P+"/rotate_secret_token/", "{}")
		add("PATCH", prefix+P+"/delete_secret_token_backup/", "{}")
		add("GET", prefix+P+"/feature_flags/", "")
		add("POST", prefix+P+"/feature_flags/", `{"key":"planted","filters":{"groups":[{"rollout_percentage":100}]}}`)
		for _, proj := range []string{P, Q} {
			add("GET", prefix+proj+"/feature_flags/"+a.FlagID+"/", "")
			add("PATCH", prefix+proj+"/feature_flags/"+a.FlagID+"/", `{"name":"taken"}`)
			add("PATCH", prefix+proj+"/feature_flags/"+a.FlagID+"/", `{"deleted":true}`) // flags are soft-deleted
		}
	}
	add("GET", "/api/projects/"+P+"/project_secret_api_keys/", "")
	add("POST", "/api/projects/"+P+"/project_secret_api_keys/", `{"label":"planted","scopes":["feature_flag:read"]}`)
	for _, proj := range []string{P, Q} {
		base := "/api/projects/" + proj + "/project_secret_api_keys/" + a.SecretKeyID + "/"
		add("GET", base, "")
		add("PATCH", base, `{"label":"taken"}`)
		add("POST", base+"roll/", "")
		add("DELETE", base, "")
	}
	add("GET", "/api/organizations/"+O+"/", "")
	add("PATCH", "/api/organizations/"+O+"/", `{"name":"Taken"}`)
	add("GET", "/api/organizations/"+O+"/invites/", "")
	add("POST", "/api/organizations/"+O+"/invites/", `{"target_email":"planted@example.com"}`)
	for _, org := range []string{O, "@current"} {
		add("DELETE", "/api/organizations/"+org+"/invites/"+a.InviteID+"/", "")
	}
	add("GET", "/api/organizations/"+O+"/domains/", "")
	add("POST", "/api/organizations/"+O+"/domains/", `{"domain":"planted.example"}`)
	for _, org := range []string{O, "@current"} {
		base := "/api/organizations/" + org + "/domains/" + a.DomainID + "/"
		add("GET", base, "")
		add("PATCH", base, `{"jit_provisioning_enabled":true}`)
		add("POST", base+"verify/", "")
		add("GET", base+"saml/", "")
		add("PATCH", base+"saml/", `{"saml_entity_id":"https://evil.example"}`)
		add("POST", base+"saml_metadata/", `{"metadata":`+apitest.AtkJSON(evilMetadata)+`}`)
		add("DELETE", base, "")
	}
	return rs
}

// TestAttackCrossOrganizationByID: a user of another organization reaches
// none of this organization's projects, flags, project secret keys,
// invites, domains or settings by naming their ids, alone or paired with
// an id of the attacker's own organization; nothing changes.
func TestAttackCrossOrganizationByID(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		a := apitest.NewAttackTarget(t, engine, apitest.Options{})
		attacker, otherProject := apitest.Outsider(t, a.Ts)
		for _, r := range crossOrgRequests(a, otherProject.ID) {
			resp, body := attacker.Send(r.Method, r.Path, r.Body, true)
			apitest.WantRefused(t, r.String(), resp, body, 403, 404)
		}
		a.WantUnchanged(t)
	})
}

// TestAttackOtherUsersObjectsByID: a user reaches none of another user's
// personal API keys, login sessions or passkeys by id, whether the other
// user is in the same organization or not, and cannot reset the 2FA of a
// user of another organization; nothing changes.
func TestAttackOtherUsersObjectsByID(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		a := apitest.NewAttackTarget(t, engine, apitest.Options{})
		apitest.EnableTOTP(t, a.Member, time.Now())
		stranger, _ := apitest.Outsider(t, a.Ts)
		for name, attacker := range map[string]*apitest.Browser{"member of the same organization": a.Member, "user of another organization": stranger} {
			key := "/api/personal_api_keys/" + a.OwnerKeyID + "/"
			passkey := "/api/webauthn/credentials/" + a.PasskeyID + "/"
			for _, r := range []apitest.AttackRequest{
				{Method: "GET", Path: key, Body: ""},
				{Method: "PATCH", Path: key, Body: `{"label":"taken"}`},
				{Method: "PUT", Path: key, Body: `{"label":"taken","scopes":["*"]}`},
				{Method: "POST", Path: key + "roll/", Body: ""},
				{Method: "DELETE", Path: key, Body: ""},
				{Method: "DELETE", Path: "/api/users/@me/login_sessions/" + a.OwnerSessionID + "/", Body: ""},
				{Method: "PATCH", Path: passkey, Body: `{"label":"taken"}`},
				{Method: "POST", Path: passkey + "verify/", Body: "{}"},
				{Method: "DELETE", Path: passkey, Body: ""},
			} {
				resp, body := attacker.Send(r.Method, r.Path, r.Body, true)
				apitest.WantRefused(t, name+": "+r.String(), resp, body, 403, 404)
			}
			// The settings page's revoke form with the attacker's own
			// valid form token.
			_, html := attacker.Page("GET", "/settings", nil)
			form := url.Values{httpauth.CSRFFormField: {apitest.FormToken(t, html)}}
			attacker.Page("POST", "/settings/sessions/"+a.OwnerSessionID+"/revoke", form)
		}
		resp, body := stranger.Send("POST", "/api/users/"+a.MemberUUID+"/two_factor_reset/", "", true)
		apitest.WantRefused(t, "2FA reset of a user in another organization", resp, body, 403, 404)
		if _, st := a.Member.Send("GET", "/api/users/@me/two_factor_status/", "", false); st["is_enabled"] != true {
			t.Errorf("the member's 2FA: %v", st)
		}
		a.WantUnchanged(t)
	})
}
