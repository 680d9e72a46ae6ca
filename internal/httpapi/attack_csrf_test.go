package httpapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// TestAttackCSRFVariants: an unsafe request of a signed-in browser needs
// the CSRF token of its own cookie (header or form field) and, when the
// browser names an Origin, this site's: a missing token, another
// browser's token, a short token, a token in the query string, a foreign
// or "null" Origin, and a same-site Referer alone are all refused with
// 403 csrf_failed, on the JSON API and on HTML forms, and change nothing.
func TestAttackCSRFVariants(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		a := apitest.NewAttackTarget(t, engine, apitest.Options{})
		owner := a.Owner
		token := owner.Cookie(httpauth.CSRFCookie)
		otherToken := apitest.NewBrowser(t, a.Ts)
		otherToken.Page("GET", "/login", nil)
		foreign := otherToken.Cookie(httpauth.CSRFCookie)
		if token == "" || foreign == "" || foreign == token {
			t.Fatalf("tokens %q %q", token, foreign)
		}
		site := "https://gatehouse.example.com"
		targets := []apitest.AttackRequest{
			{Method: "PATCH", Path: "/api/users/@me/", Body: `{"first_name":"Pwned"}`},
			{Method: "POST", Path: "/api/personal_api_keys/", Body: `{"label":"planted","scopes":["*"]}`},
			{Method: "PATCH", Path: "/api/projects/@current/feature_flags/" + a.FlagID + "/", Body: `{"deleted":true}`},
			{Method: "PATCH", Path: "/api/organizations/@current/", Body: `{"name":"Taken"}`},
			{Method: "DELETE", Path: "/api/webauthn/credentials/" + a.PasskeyID + "/", Body: ""},
		}
		for _, v := range []struct {
			name   string
			header []string
		}{
			{"no token", nil},
			{"another browser's token", []string{"X-CSRFToken", foreign}},
			{"token with a foreign Origin", []string{"X-CSRFToken", token, "Origin", "https://evil.example"}},
			{"token with a look-alike Origin", []string{"X-CSRFToken", token, "Origin", site + ".evil.example"}},
			{"token with Origin null", []string{"X-CSRFToken", token, "Origin", "null"}},
			{"token with the site over http", []string{"X-CSRFToken", token, "Origin", "http://gatehouse.example.com"}},
			{"same-site Referer alone", []string{"Referer", site + "/settings"}},
			{"same-site Origin alone", []string{"Origin", site}},
			{"empty token", []string{"X-CSRFToken", ""}},
		} {
			for _, r := range targets {
				resp, body := owner.Send(r.Method, r.Path, r.Body, false, v.header...)
				apitest.WantRefused(t, v.name+": "+r.String(), resp, body, 403)
				if body["code"] != "csrf_failed" {
					t.Errorf("%s: %s: code %v", v.name, r, body["code"])
				}
			}
		}
		// A token in the query string does not count.
		resp, body := owner.Send("PATCH", "/api/users/@me/?csrfmiddlewaretoken="+url.QueryEscape(token), `{"first_name":"Pwned"}`, false)
		apitest.WantRefused(t, "token in the query string", resp, body, 403)
		// A short token the attacker planted in both places.
		short := apitest.NewBrowser(t, a.Ts)
		short.Login("owner@example.com", apitest.OwnerPassword)
		short.SetCookie(httpauth.CSRFCookie, "0123456789")
		resp, body = short.Send("PATCH", "/api/users/@me/", `{"first_name":"Pwned"}`, false, "X-CSRFToken", "0123456789")
		apitest.WantRefused(t, "short planted token", resp, body, 403)

		// HTML forms: the settings profile form.
		form := func(fields url.Values, header ...string) *http.Response {
			req, _ := http.NewRequest("POST", a.Ts.URL+"/settings/profile", strings.NewReader(fields.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for i := 0; i+1 < len(header); i += 2 {
				req.Header.Set(header[i], header[i+1])
			}
			resp, err := owner.Client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp
		}
		profile := url.Values{"first_name": {"Pwned"}, "last_name": {"Pwned"}}
		with := func(tok string) url.Values {
			v := url.Values{httpauth.CSRFFormField: {tok}}
			for k, x := range profile {
				v[k] = x
			}
			return v
		}
		for _, f := range []struct {
			name   string
			fields url.Values
			header []string
		}{
			{"form without a token", profile, nil},
			{"form with another browser's token", with(foreign), nil},
			{"form with a foreign Origin", with(token), []string{"Origin", "https://evil.example"}},
			{"form with a same-site Referer alone", profile, []string{"Referer", site + "/settings"}},
		} {
			if resp := form(f.fields, f.header...); resp.StatusCode != 403 {
				t.Errorf("%s: %d, want 403", f.name, resp.StatusCode)
			}
		}
		if _, me := owner.Send("GET", "/api/users/@me/", "", false); me["first_name"] == "Pwned" || me["last_name"] == "Pwned" {
			t.Errorf("the profile changed: %v", me)
		}
		if code, keys := apitest.AtkList(owner, "/api/personal_api_keys/"); code != 200 || len(keys) != 1 {
			t.Errorf("personal keys: %d %v", code, keys)
		}
		a.WantUnchanged(t)
		// The control: the right token and Origin do work.
		if resp, me := owner.Send("PATCH", "/api/users/@me/", `{"first_name":"Ada"}`, true, "Origin", site); resp.StatusCode != 200 || me["first_name"] != "Ada" {
			t.Errorf("control: %d %v", resp.StatusCode, me)
		}
	})
}
