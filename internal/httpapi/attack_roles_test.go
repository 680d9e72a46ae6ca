package httpapi_test

import (
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"
	"github.com/gatehouse-auth/gatehouse/internal/sso/saml/samltest"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// TestAttackMemberTriesAdminActions: a plain member of the organization
// (level 1, freshly signed in) tries every action that needs an admin, on
// the API and through the settings pages' forms; each is refused and
// nothing changes.
func TestAttackMemberTriesAdminActions(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine store.Engine) {
		a := newAttackTarget(t, engine, serverOptions{})
		enableTOTP(t, a.owner, time.Now())
		_, me := a.owner.send("GET", "/api/users/@me/", "", false)
		ownerUUID := me["uuid"].(string)
		P := fmt.Sprint(a.projectID)
		metadata := samltest.NewIdP("https://evil.example/idp", 0).Metadata("https://evil.example/sso")
		sk := "/api/projects/" + P + "/project_secret_api_keys/"
		for _, org := range []string{a.orgID, "@current"} {
			domain := "/api/organizations/" + org + "/domains/" + a.domainID + "/"
			for _, r := range []attackRequest{
				{"PATCH", "/api/organizations/" + org + "/", `{"name":"Taken"}`},
				{"POST", "/api/organizations/" + org + "/invites/", `{"target_email":"planted@example.com","level":8}`},
				{"POST", "/api/organizations/" + org + "/invites/", `{"target_email":"planted@example.com"}`},
				{"DELETE", "/api/organizations/" + org + "/invites/" + a.inviteID + "/", ""},
				{"POST", "/api/organizations/" + org + "/domains/", `{"domain":"planted.example"}`},
				{"PATCH", domain, `{"jit_provisioning_enabled":true}`},
				{"POST", domain + "verify/", ""},
				{"PATCH", domain + "saml/", `{"allow_idp_initiated":true}`},
				{"POST", domain + "saml_metadata/", `{"metadata":` + atkJSON(metadata) + `}`},
				{"DELETE", domain, ""},
			} {
				resp, body := a.member.send(r.method, r.path, r.body, true)
				wantRefused(t, r.String(), resp, body, 403)
			}
		}
		for _, r := range []attackRequest{
			{"PATCH", "/api/projects/" + P + "/reset_token/", "{}"},
			{"PATCH", "/api/projects/" + P + "/rotate_secret_token/", "{}"},
			{"PATCH", "/api/projects/" + P + "/delete_secret_token_backup/", "{}"},
			{"POST", sk, `{"label":"planted","scopes":["feature_flag:read"]}`},
			{"PATCH", sk + a.secretKeyID + "/", `{"label":"taken"}`},
			{"POST", sk + a.secretKeyID + "/roll/", ""},
			{"DELETE", sk + a.secretKeyID + "/", ""},
			{"POST", "/api/users/" + ownerUUID + "/two_factor_reset/", ""},
		} {
			resp, body := a.member.send(r.method, r.path, r.body, true)
			wantRefused(t, r.String(), resp, body, 403)
		}
		// The domains settings page's forms, with the member's own token.
		_, html := a.member.page("GET", "/settings", nil)
		token := formToken(t, html)
		for _, r := range []struct {
			path string
			form url.Values
		}{
			{"/settings/domains", url.Values{"domain": {"planted.example"}}},
			{"/settings/domains/" + a.domainID + "/verify", nil},
			{"/settings/domains/" + a.domainID + "/policy", url.Values{"jit_provisioning_enabled": {"on"}}},
			{"/settings/domains/" + a.domainID + "/saml", url.Values{"saml_entity_id": {"https://evil.example/idp"}}},
			{"/settings/domains/" + a.domainID + "/delete", nil},
		} {
			form := url.Values{httpauth.CSRFFormField: {token}}
			for k, v := range r.form {
				form[k] = v
			}
			if resp, _ := a.member.page("POST", r.path, form); resp.StatusCode != 403 {
				t.Errorf("form %s: %d, want 403", r.path, resp.StatusCode)
			}
		}
		if _, st := a.owner.send("GET", "/api/users/@me/two_factor_status/", "", false); st["is_enabled"] != true {
			t.Errorf("the owner's 2FA: %v", st)
		}
		a.wantUnchanged(t)
	})
}
