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

// TestAttackMemberTriesAdminActions: a plain member of the organization
// (level 1, freshly signed in) tries every action that needs an admin, on
// the API and through the settings pages' forms; each is refused and
// nothing changes.
func TestAttackMemberTriesAdminActions(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		a := apitest.NewAttackTarget(t, engine, apitest.Options{})
		apitest.EnableTOTP(t, a.Owner, time.Now())
		_, me := a.Owner.Send("GET", "/api/users/@me/", "", false)
		ownerUUID := me["uuid"].(string)
		P := fmt.Sprint(a.ProjectID)
		metadata := samltest.NewIdP("https://evil.example/idp", 0).Metadata("https://evil.example/sso")
		sk := "/api/projects/" + P + "/project_secret_api_keys/"
		for _, org := range []string{a.OrgID, "@current"} {
			domain := "/api/organizations/" + org + "/domains/" + a.DomainID + "/"
			for _, r := range []apitest.AttackRequest{
				{Method: "PATCH", Path: "/api/organizations/" + org + "/", Body: `{"name":"Taken"}`},
				{Method: "POST", Path: "/api/organizations/" + org + "/invites/", Body: `{"target_email":"planted@example.com","level":8}`},
				{Method: "POST", Path: "/api/organizations/" + org + "/invites/", Body: `{"target_email":"planted@example.com"}`},
				{Method: "DELETE", Path: "/api/organizations/" + org + "/invites/" + a.InviteID + "/", Body: ""},
				{Method: "POST", Path: "/api/organizations/" + org + "/domains/", Body: `{"domain":"planted.example"}`},
				{Method: "PATCH", Path: domain, Body: `{"jit_provisioning_enabled":true}`},
				{Method: "POST", Path: domain + "verify/", Body: ""},
				{Method: "PATCH", Path: domain + "saml/", Body: `{"allow_idp_initiated":true}`},
				{Method: "POST", Path: domain + "saml_metadata/", Body: `{"metadata":` + apitest.AtkJSON(metadata) + `}`},
				{Method: "DELETE", Path: domain, Body: ""},
			} {
				resp, body := a.Member.Send(r.Method, r.Path, r.Body, true)
				apitest.WantRefused(t, r.String(), resp, body, 403)
			}
		}
		for _, r := range []apitest.AttackRequest{
			{Method: "PATCH", Path: "/api/projects/" + P + "/reset_token/", Body: "{}"},
			{Method: "PATCH", Path: "/api/projects/" + P + "/rotate_secret_token/", Body: "{}"},
			{Method: "PATCH", Path: "/api/projects/" + P + "/delete_secret_token_backup/", Body: "{}"},
			{Method: "POST", Path: sk, Body: `{"label":"planted","scopes":["feature_flag:read"]}`},
			{Method: "PATCH", Path: sk + a.SecretKeyID + "/", Body: `{"label":"taken"}`},
			{Method: "POST", Path: sk + a.SecretKeyID + "/roll/", Body: ""},
			{Method: "DELETE", Path: sk + a.SecretKeyID + "/", Body: ""},
			{Method: "POST", Path: "/api/users/" + ownerUUID + "/two_factor_reset/", Body: ""},
		} {
			resp, body := a.Member.Send(r.Method, r.Path, r.Body, true)
			apitest.WantRefused(t, r.String(), resp, body, 403)
		}
		// The domains settings page's forms, with the member's own token.
		_, html := a.Member.Page("GET", "/settings", nil)
		token := apitest.FormToken(t, html)
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
