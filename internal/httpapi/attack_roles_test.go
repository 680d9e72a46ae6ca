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
	ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		a := NewAttackTarget(t, engine, Options{})
		EnableTOTP(t, a.Owner, time.Now())
		_, me := a.Owner.Send("GET", "/api/users/@me/", "", false)
		ownerUUID := me["uuid"].(string)
		P := fmt.Sprint(a.ProjectID)
		metadata := samltest.NewIdP("https://evil.example/idp", 0).Metadata("https://evil.example/sso")
		sk := "/api/projects/" + P + "/project_secret_api_keys/"
		for _, org := range []string{a.OrgID, "@current"} {
			domain := "/api/organizations/" + org + "/domains/" + a.DomainID + "/"
			for _, r := range []AttackRequest{
				{"PATCH", "/api/organizations/" + org + "/", `{"name":"Taken"}`},
				{"POST", "/api/organizations/" + org + "/invites/", `{"target_email":"planted@example.com","level":8}`},
				{"POST", "/api/organizations/" + org + "/invites/", `{"target_email":"planted@example.com"}`},
				{"DELETE", "/api/organizations/" + org + "/invites/" + a.InviteID + "/", ""},
				{"POST", "/api/organizations/" + org + "/domains/", `{"domain":"planted.example"}`},
				{"PATCH", domain, `{"jit_provisioning_enabled":true}`},
				{"POST", domain + "verify/", ""},
				{"PATCH", domain + "saml/", `{"allow_idp_initiated":true}`},
				{"POST", domain + "saml_metadata/", `{"metadata":` + AtkJSON(metadata) + `}`},
				{"DELETE", domain, ""},
			} {
				resp, body := a.Member.Send(r.Method, r.Path, r.Body, true)
				WantRefused(t, r.String(), resp, body, 403)
			}
		}
		for _, r := range []AttackRequest{
			{"PATCH", "/api/projects/" + P + "/reset_token/", "{}"},
			{"PATCH", "/api/projects/" + P + "/rotate_secret_token/", "{}"},
			{"PATCH", "/api/projects/" + P + "/delete_secret_token_backup/", "{}"},
			{"POST", sk, `{"label":"planted","scopes":["feature_flag:read"]}`},
			{"PATCH", sk + a.SecretKeyID + "/", `{"label":"taken"}`},
			{"POST", sk + a.SecretKeyID + "/roll/", ""},
			{"DELETE", sk + a.SecretKeyID + "/", ""},
			{"POST", "/api/users/" + ownerUUID + "/two_factor_reset/", ""},
		} {
			resp, body := a.Member.Send(r.Method, r.Path, r.Body, true)
			WantRefused(t, r.String(), resp, body, 403)
		}
		// The domains settings page's forms, with the member's own token.
		_, html := a.Member.Page("GET", "/settings", nil)
		token := FormToken(t, html)
		for _, r := range []struct {
			path string
			form url.Values
		}{
			{"/settings/domains", url.Values{"domain": {"planted.example"}}},
			{"/settings/domains/" + a.DomainID + "/verify", nil},
			{"/settings/domains/" + a.DomainID + "/policy", url.Values{"jit_provisioning_enabled": {"on"}}},
			{"/settings/domains/" + a.DomainID + "/saml", url.Values{"saml_entity_id": {"https://evil.example/idp"}}},
			{"/settings/domains/" + a.DomainID + "/delete", nil},
		} {
			form := url.Values{httpauth.CSRFFormField: {token}}
			for k, v := range r.form {
				form[k] = v
			}
			if resp, _ := a.Member.Page("POST", r.path, form); resp.StatusCode != 403 {
				t.Errorf("form %s: %d, want 403", r.path, resp.StatusCode)
			}
		}
		if _, st := a.Owner.Send("GET", "/api/users/@me/two_factor_status/", "", false); st["is_enabled"] != true {
			t.Errorf("the owner's 2FA: %v", st)
		}
		a.WantUnchanged(t)
	})
}
