package web_test

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/web"
	"github.com/gatehouse-auth/gatehouse/internal/sso/saml"
	"github.com/gatehouse-auth/gatehouse/internal/sso/saml/samltest"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

var (
	formAction = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
	formInput  = regexp.MustCompile(`<input type="hidden" name="(\w+)" value="([^"]*)"`)
)

// postForm submits the HTML form in page (the IdP's) with extra fields,
// to actionOverride when given, and returns the response.
func postForm(t *testing.T, c *http.Client, page, actionOverride string, extra url.Values) *http.Response {
	t.Helper()
	m := formAction.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no form in:\n%s", page)
	}
	action := html.UnescapeString(m[1])
	if actionOverride != "" {
		action = actionOverride
	}
	v := url.Values{}
	for _, in := range formInput.FindAllStringSubmatch(page, -1) {
		v.Set(in[1], html.UnescapeString(in[2]))
	}
	for k, vs := range extra {
		v[k] = vs
	}
	resp, err := c.PostForm(action, v)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// idpLogin follows a /login/saml/ redirect to the IdP, signs in there and
// returns the IdP's auto-posting response page.
func idpLogin(t *testing.T, b *apitest.Browser, email string) (responsePage string) {
	t.Helper()
	resp, _ := b.Send("GET", "/login/saml/?email="+url.QueryEscape(email), "", false)
	if resp.StatusCode != 302 {
		t.Fatalf("begin: %d", resp.StatusCode)
	}
	loc := resp.Header.Get("Location")
	if !strings.Contains(loc, "SAMLRequest=") || !strings.Contains(loc, "RelayState=") {
		t.Fatalf("begin redirect: %s", loc)
	}
	resp, err := b.Client.Get(loc)
	if err != nil {
		t.Fatal(err)
	}
	loginForm := apitest.SamlBody(t, resp)
	resp = postForm(t, b.Client, loginForm, "", url.Values{"user": {"ada"}, "password": {"ada's password"}})
	page := apitest.SamlBody(t, resp)
	if !strings.Contains(page, `name="SAMLResponse"`) {
		t.Fatalf("IdP login: %d\n%s", resp.StatusCode, page)
	}
	return page
}

// acsCookie is the browser's pending-request cookie (its path is the ACS).
func acsCookie(b *apitest.Browser) string {
	u, _ := url.Parse(b.Ts.URL + saml.ACSPath)
	for _, c := range b.Jar.Cookies(u) {
		if c.Name == web.SAMLRequestCookie {
			return c.Value
		}
	}
	return ""
}

// A real IdP (crewjam's samlidp) completes an SP-initiated login: the
// user is provisioned just in time, signed in, and the same response
// cannot be used again, not even with the request cookie copied.
func TestSAMLLoginWithRealIdP(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		owner := apitest.OwnerBrowser(t, ts)
		idp := apitest.StartCrewjamIdP(t)
		resp, err := owner.Client.Get(ts.URL + "/api/saml/metadata/")
		if err != nil || resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/xml") {
			t.Fatalf("SP metadata: %v %v", resp, err)
		}
		idp.Register(t, apitest.SamlBody(t, resp))
		domainID := apitest.SamlDomain(t, ts, owner, idp.Metadata(t))

		ada := apitest.NewBrowser(t, ts)
		page := idpLogin(t, ada, "ada@acme.example")
		requestCookie := acsCookie(ada)
		if requestCookie == "" {
			t.Fatal("no pending-request cookie")
		}
		// The IdP posts to SITE_URL's ACS; this test server lives elsewhere.
		resp = postForm(t, ada.Client, page, ts.URL+"/complete/saml/", nil)
		if resp.StatusCode != 302 || resp.Header.Get("Location") != "/" {
			t.Fatalf("ACS: %d %s\n%s", resp.StatusCode, resp.Header.Get("Location"), ts.Logs.String())
		}
		resp.Body.Close()
		r, me := ada.Send("GET", "/api/users/@me/", "", false)
		if r.StatusCode != 200 || me["email"] != "ada@acme.example" || me["first_name"] != "Ada" || me["is_email_verified"] != true || me["has_password"] != false {
			t.Fatalf("me: %d %v", r.StatusCode, me)
		}
		if acsCookie(ada) != "" {
			t.Fatal("the pending-request cookie outlived its response")
		}
		// Replayed, even by someone who copied the request cookie.
		eve := apitest.NewBrowser(t, ts)
		eve.SetCookie(web.SAMLRequestCookie, requestCookie)
		resp = postForm(t, eve.Client, page, ts.URL+"/complete/saml/", nil)
		if code := apitest.ErrorCodeOf(resp); resp.StatusCode != 302 || code != "saml_invalid_response" || eve.Cookie("sessionid") != "" {
			t.Fatalf("replay: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		if !strings.Contains(ts.Logs.String(), "a replayed assertion") {
			t.Fatal("the replay was not logged")
		}
		// Without the cookie the response answers nobody's request.
		resp = postForm(t, apitest.NewBrowser(t, ts).Client, page, ts.URL+"/complete/saml/", nil)
		if code := apitest.ErrorCodeOf(resp); code != "saml_idp_initiated" {
			t.Fatalf("without the request cookie: %s", resp.Header.Get("Location"))
		}
		// A second login of the same user finds the link.
		ada2 := apitest.NewBrowser(t, ts)
		resp = postForm(t, ada2.Client, idpLogin(t, ada2, "ada@acme.example"), ts.URL+"/complete/saml/", nil)
		if resp.StatusCode != 302 || resp.Header.Get("Location") != "/" {
			t.Fatalf("second login: %s", resp.Header.Get("Location"))
		}
		var links int
		if err := ts.Store.DB().QueryRow(apitest.Rebind(engine, `SELECT COUNT(*) FROM social_links WHERE provider = 'saml' AND uid = ?`), domainID+":ada").Scan(&links); err != nil || links != 1 {
			t.Fatalf("saml link rows: %d %v", links, err)
		}
	})
}

// Crafted responses through the real ACS: IdP-initiated logins only when
// the domain allows them, attribute overrides, emails outside the
// organization's domains, bad RelayState, replays, and hostile documents.
func TestSAMLACSRules(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		owner := apitest.OwnerBrowser(t, ts)
		idp := samltest.NewIdP("https://idp.acme.example/metadata", 0)
		domainID := apitest.SamlDomain(t, ts, owner, idp.Metadata("https://idp.acme.example/sso"))
		site, acs := "https://gatehouse.example.com", "https://gatehouse.example.com/complete/saml/"
		unsolicited := func(attrs map[string]string) string {
			return idp.Build(samltest.Response{Audience: site, Destination: acs, Attributes: attrs})
		}
		grace := map[string]string{"name_id": "g-1", "email": "grace@acme.example", "first_name": "Grace"}

		if code := apitest.ErrorCodeOf(apitest.CraftedACS(t, ts, apitest.NewBrowser(t, ts), domainID, unsolicited(grace))); code != "saml_idp_initiated" {
			t.Fatalf("IdP-initiated while disallowed: %q", code)
		}
		optsPath := "/api/organizations/@current/domains/" + domainID + "/saml/"
		if resp, body := owner.Send("PATCH", optsPath, `{"allow_idp_initiated":true}`, true); resp.StatusCode != 200 || body["allow_idp_initiated"] != true {
			t.Fatalf("allow IdP-initiated: %d %v", resp.StatusCode, body)
		}
		enc := unsolicited(grace)
		b := apitest.NewBrowser(t, ts)
		if resp := apitest.CraftedACS(t, ts, b, domainID, enc); resp.StatusCode != 302 || resp.Header.Get("Location") != "/" || b.Cookie("sessionid") == "" {
			t.Fatalf("IdP-initiated while allowed: %s\n%s", resp.Header.Get("Location"), ts.Logs.String())
		}
		if code := apitest.ErrorCodeOf(apitest.CraftedACS(t, ts, apitest.NewBrowser(t, ts), domainID, enc)); code != "saml_invalid_response" {
			t.Fatalf("replay: %q", code)
		}

		for name, c := range map[string]struct{ relay, enc, code string }{
			"unknown RelayState":   {"00000000-0000-0000-0000-000000000000", unsolicited(grace), "invalid_relay_state"},
			"empty RelayState":     {"", unsolicited(grace), "invalid_relay_state"},
			"email outside domain": {domainID, unsolicited(map[string]string{"name_id": "x", "email": "owner@example.com"}), "saml_email_domain"},
			"no uid":               {domainID, unsolicited(map[string]string{"employeeNumber": "7", "email": "lin@acme.example"}), "required"},
			"wrong audience":       {domainID, idp.Build(samltest.Response{Audience: "https://other.example", Destination: acs, Attributes: grace}), "saml_invalid_response"},
			"unsigned":             {domainID, idp.Build(samltest.Response{Audience: site, Destination: acs, Attributes: grace, Unsigned: true}), "saml_invalid_response"},
			"another key": {domainID, samltest.NewIdP("https://idp.acme.example/metadata", 1).Build(samltest.Response{Audience: site, Destination: acs, Attributes: grace}),
				"saml_invalid_response"},
			"not base64": {domainID, "<<<", "saml_invalid_response"},
		} {
			b := apitest.NewBrowser(t, ts)
			resp := apitest.CraftedACS(t, ts, b, c.relay, c.enc)
			if code := apitest.ErrorCodeOf(resp); code != c.code || b.Cookie("sessionid") != "" {
				t.Errorf("%s: %q (%s), want %q", name, code, resp.Header.Get("Location"), c.code)
			}
		}

		// Per-domain attribute names, tried before the defaults.
		if resp, body := owner.Send("PATCH", optsPath, `{"attribute_mapping":{"uid":["employeeNumber"]}}`, true); resp.StatusCode != 200 {
			t.Fatalf("mapping: %d %v", resp.StatusCode, body)
		}
		b = apitest.NewBrowser(t, ts)
		if resp := apitest.CraftedACS(t, ts, b, domainID, unsolicited(map[string]string{"employeeNumber": "7", "email": "lin@acme.example", "full_name": "Lin Yu"})); resp.Header.Get("Location") != "/" {
			t.Fatalf("mapped uid: %s", resp.Header.Get("Location"))
		}
		if _, me := b.Send("GET", "/api/users/@me/", "", false); me["email"] != "lin@acme.example" || me["first_name"] != "Lin" {
			t.Fatalf("mapped user: %v", me)
		}
		if resp, body := owner.Send("PATCH", optsPath, `{"attribute_mapping":{"shoe_size":["x"]}}`, true); resp.StatusCode != 400 || body["attr"] != "saml_attribute_mapping" {
			t.Fatalf("unknown field: %d %v", resp.StatusCode, body)
		}

		// A DEFLATE bomb posted to the ACS is cut off, not inflated.
		bomb := deflateBombBase64(t)
		if code := apitest.ErrorCodeOf(apitest.CraftedACS(t, ts, apitest.NewBrowser(t, ts), domainID, bomb)); code != "saml_invalid_response" {
			t.Fatalf("bomb: %q", code)
		}
		// And the redirect binding (GET) goes through the same parser.
		resp, err := apitest.NewBrowser(t, ts).Client.Get(ts.URL + "/complete/saml/?" + url.Values{"SAMLResponse": {bomb}, "RelayState": {domainID}}.Encode())
		if err != nil || apitest.ErrorCodeOf(resp) != "saml_invalid_response" {
			t.Fatalf("bomb by GET: %v %v", resp, err)
		}
	})
}

// deflateBombBase64 is ~38 MiB of XML-looking bytes, deflated and
// base64-encoded into well under the ACS's size limit.
func deflateBombBase64(t *testing.T) string {
	t.Helper()
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestCompression)
	chunk := bytes.Repeat([]byte("<a>"), 1<<16)
	for range 200 { // ~38 MiB inflated
		w.Write(chunk)
	}
	w.Close()
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// Start of a login: a missing email or a domain without SAML goes back to
// the login page with a code.
func TestSAMLBeginErrors(t *testing.T) {
	t.Parallel()
	ts := apitest.NewServer(t, store.SQLite, apitest.Options{})
	for q, code := range map[string]string{"": "missing_email", "?email=ada@nowhere.example": "saml_not_configured"} {
		resp, _ := apitest.NewBrowser(t, ts).Send("GET", "/login/saml/"+q, "", false)
		if resp.StatusCode != 302 || apitest.ErrorCodeOf(resp) != code {
			t.Errorf("%q: %d %s", q, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	// The login page names the problem.
	resp, err := http.Get(ts.URL + "/login?error_code=saml_not_configured")
	if page := apitest.SamlBody(t, resp); err != nil || !strings.Contains(page, "SAML not configured for this user.") {
		t.Fatalf("login page: %v\n%s", err, page)
	}
}

// The SP metadata is for organization admins; the upload and options
// endpoints for admins of the domain's organization.
func TestSAMLMetadataPermissions(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		owner := apitest.OwnerBrowser(t, ts)
		idp := samltest.NewIdP("https://idp.acme.example/metadata", 0)
		domainID := apitest.SamlDomain(t, ts, owner, idp.Metadata("https://idp.acme.example/sso"))
		for _, path := range []string{"/api/saml/metadata/", "/api/saml/metadata/" + domainID + "/"} {
			resp, err := owner.Client.Get(ts.URL + path)
			body := apitest.SamlBody(t, resp)
			if err != nil || resp.StatusCode != 200 || !strings.Contains(body, `entityID="https://gatehouse.example.com"`) ||
				!strings.Contains(body, `Location="https://gatehouse.example.com/complete/saml/"`) {
				t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
			}
		}
		if resp, _ := apitest.NewBrowser(t, ts).Send("GET", "/api/saml/metadata/", "", false); resp.StatusCode != 401 {
			t.Fatalf("anonymous: %d", resp.StatusCode)
		}
		member := apitest.NewBrowser(t, ts)
		if resp, body := member.Send("POST", "/api/signup/"+apitest.MustInvite(t, owner, "mia@example.com", 1)+"/", apitest.InviteSignupBody("Mia", apitest.GoodPassword), false); resp.StatusCode != 201 {
			t.Fatalf("member signup: %d %v", resp.StatusCode, body)
		}
		resp, body := member.Send("GET", "/api/saml/metadata/", "", false)
		if resp.StatusCode != 403 || body["detail"] != "You need to be an administrator or owner to access this resource." {
			t.Fatalf("member metadata: %d %v", resp.StatusCode, body)
		}
		base := "/api/organizations/@current/domains/" + domainID + "/"
		if resp, _ := member.Send("POST", base+"saml_metadata/", idp.Metadata("https://evil.example/sso"), true); resp.StatusCode != 403 {
			t.Fatalf("member upload: %d", resp.StatusCode)
		}
		if resp, _ := member.Send("PATCH", base+"saml/", `{"allow_idp_initiated":true}`, true); resp.StatusCode != 403 {
			t.Fatalf("member options: %d", resp.StatusCode)
		}
		if resp, body := member.Send("GET", base+"saml/", "", false); resp.StatusCode != 200 || body["allow_idp_initiated"] != false {
			t.Fatalf("member reads options: %d %v", resp.StatusCode, body)
		}
		// Bad metadata is refused with a reason; JSON-wrapped metadata works.
		if resp, body := owner.Send("POST", base+"saml_metadata/", `<x/>`, true, "Content-Type", "text/xml"); resp.StatusCode != 400 || body["code"] != "invalid_metadata" {
			t.Fatalf("bad metadata: %d %v", resp.StatusCode, body)
		}
		other := samltest.NewIdP("https://idp2.acme.example", 1)
		js := `{"metadata":` + jsonString(other.Metadata("https://idp2.acme.example/sso")) + `}`
		if resp, body := owner.Send("POST", base+"saml_metadata/", js, true); resp.StatusCode != 200 || body["saml_entity_id"] != "https://idp2.acme.example" ||
			body["saml_acs_url"] != "https://idp2.acme.example/sso" || body["saml_x509_cert"] != other.CertBase64() {
			t.Fatalf("JSON metadata: %d %v", resp.StatusCode, body)
		}
	})
}
