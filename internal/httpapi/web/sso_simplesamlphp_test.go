package web_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"html"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/testenv"
)

// sspWWW is where Debian's simplesamlphp package keeps its web root.
const sspWWW = "/usr/share/simplesamlphp/www"

// startSimpleSAMLphp runs SimpleSAMLphp from Debian as an IdP on a
// loopback port with PHP's built-in server and this package's private
// configuration (testdata/simplesamlphp), or skips (fails when
// GATEHOUSE_TEST_REQUIRE lists simplesamlphp), serving the service provider
// spEntity (Gatehouse's SITE_URL). It returns the IdP's base URL.
func startSimpleSAMLphp(t *testing.T, spEntity string) string {
	t.Helper()
	php, err := exec.LookPath("php")
	if err != nil {
		testenv.Unavailable(t, "simplesamlphp", "php is not on PATH: apt-get install simplesamlphp php-cli php-xml")
	}
	if _, err := os.Stat(filepath.Join(sspWWW, "saml2", "idp", "SSOService.php")); err != nil {
		testenv.Unavailable(t, "simplesamlphp", "apt-get install simplesamlphp php-cli php-xml")
	}
	dir := t.TempDir()
	for _, d := range []string{"cert", "log", "data", "tmp", "sessions"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	writeIdPKeyPair(t, filepath.Join(dir, "cert"))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	confDir, err := filepath.Abs(filepath.Join("testdata", "simplesamlphp"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, php, "-S", "127.0.0.1:"+strconv.Itoa(port), "-t", sspWWW)
	cmd.Dir = sspWWW
	cmd.Env = append(os.Environ(), "SIMPLESAMLPHP_CONFIG_DIR="+confDir, "GATEHOUSE_SSP_DIR="+dir, "GATEHOUSE_SSP_BASE="+base,
		"GATEHOUSE_SSP_SALT="+apitest.RandomHex(16), "GATEHOUSE_SSP_SP_ENTITY="+spEntity)
	logFile, err := os.Create(filepath.Join(dir, "php.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
		logFile.Close()
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "php.log"))
			t.Logf("SimpleSAMLphp log (errors):\n%s", grepLines(string(b), "ERR", "Caused"))
		}
	})
	for range 100 {
		if resp, err := http.Get(base + "/saml2/idp/metadata.php"); err == nil {
			resp.Body.Close()
			return base
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("SimpleSAMLphp did not start")
	return ""
}

func grepLines(s string, subs ...string) string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		for _, sub := range subs {
			if strings.Contains(sc.Text(), sub) {
				out = append(out, sc.Text())
				break
			}
		}
	}
	return strings.Join(out, "\n")
}

// writeIdPKeyPair writes the IdP's signing key and self-signed certificate.
func writeIdPKeyPair(t *testing.T, dir string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "simplesamlphp-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "idp.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(filepath.Join(dir, "idp.key"), pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600)
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([\w\[\]]+)" value="([^"]*)"`)

func hiddenFields(page string) url.Values {
	v := url.Values{}
	for _, m := range hiddenInput.FindAllStringSubmatch(page, -1) {
		v.Set(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	return v
}

// sspSignIn follows start (a SimpleSAMLphp URL) to its login form, signs
// in as ada and returns the fields of the auto-posting response page.
func sspSignIn(t *testing.T, b *apitest.Browser, start string) url.Values {
	t.Helper()
	follow := &http.Client{Jar: b.Jar}
	resp, err := follow.Get(start)
	if err != nil {
		t.Fatal(err)
	}
	page := apitest.SamlBody(t, resp)
	if !strings.Contains(page, `name="password"`) {
		t.Fatalf("no login form at %s:\n%s", resp.Request.URL, page)
	}
	form := hiddenFields(page)
	form.Set("username", "ada")
	form.Set("password", "ada-password")
	resp, err = follow.PostForm(resp.Request.URL.String(), form)
	if err != nil {
		t.Fatal(err)
	}
	page = apitest.SamlBody(t, resp)
	fields := hiddenFields(page)
	if fields.Get("SAMLResponse") == "" {
		t.Fatalf("no SAMLResponse after signing in (%s):\n%s", resp.Request.URL, page)
	}
	return fields
}

func postACS(t *testing.T, ts *apitest.Server, b *apitest.Browser, fields url.Values) *http.Response {
	t.Helper()
	resp, err := b.Client.PostForm(ts.URL+"/complete/saml/", fields)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// SimpleSAMLphp from Debian, a real IdP nobody here wrote, against
// Gatehouse: SP-initiated login with JIT provisioning and the LDAP-style
// attributes (uid, mail, givenName, sn) mapped, replay refused,
// IdP-initiated login (refused until allowed, then with RelayState = the
// domain id), and enforcement of SAML refusing the password.
func TestRealSimpleSAMLphp(t *testing.T) {
	t.Parallel()
	testenv.Slow(t, "runs SimpleSAMLphp, a real SAML IdP, under php -S")
	idp := startSimpleSAMLphp(t, apitest.TestSiteURL)
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		owner := apitest.OwnerBrowser(t, ts)
		resp, err := http.Get(idp + "/saml2/idp/metadata.php")
		if err != nil {
			t.Fatal(err)
		}
		domainID := apitest.SamlDomain(t, ts, owner, apitest.SamlBody(t, resp))
		optsPath := "/api/organizations/@current/domains/" + domainID + "/saml/"
		if resp, body := owner.Send("PATCH", optsPath, `{"attribute_mapping":{"uid":["uid"],"email":["mail"],"first_name":["givenName"],"last_name":["sn"]}}`, true); resp.StatusCode != 200 {
			t.Fatalf("mapping: %d %v", resp.StatusCode, body)
		}

		// SP-initiated: JIT, names from givenName and sn.
		ada := apitest.NewBrowser(t, ts)
		resp, _ = ada.Send("GET", "/login/saml/?email=ada%40acme.example", "", false)
		fields := sspSignIn(t, ada, resp.Header.Get("Location"))
		if fields.Get("RelayState") != domainID {
			t.Fatalf("RelayState %q, want the domain id", fields.Get("RelayState"))
		}
		if resp := postACS(t, ts, ada, fields); resp.Header.Get("Location") != "/" {
			t.Fatalf("SP-initiated: %s\n%s", resp.Header.Get("Location"), grepLines(ts.Logs.String(), "refused"))
		}
		r, me := ada.Send("GET", "/api/users/@me/", "", false)
		if r.StatusCode != 200 || me["email"] != "ada@acme.example" || me["first_name"] != "Ada" || me["last_name"] != "Lovelace" {
			t.Fatalf("me: %d %v", r.StatusCode, me)
		}
		spFields := fields

		// IdP-initiated, with RelayState = the domain id.
		unsolicited := idp + "/saml2/idp/SSOService.php?" + url.Values{"spentityid": {apitest.TestSiteURL}, "RelayState": {domainID}}.Encode()
		eve := apitest.NewBrowser(t, ts)
		fields = sspSignIn(t, eve, unsolicited)
		if code := apitest.ErrorCodeOf(postACS(t, ts, eve, fields)); code != "saml_idp_initiated" {
			t.Fatalf("IdP-initiated while disallowed: %q", code)
		}
		if resp, _ := owner.Send("PATCH", optsPath, `{"allow_idp_initiated":true}`, true); resp.StatusCode != 200 {
			t.Fatalf("allow IdP-initiated: %d", resp.StatusCode)
		}
		ada2 := apitest.NewBrowser(t, ts)
		fields = sspSignIn(t, ada2, unsolicited)
		if resp := postACS(t, ts, ada2, fields); resp.Header.Get("Location") != "/" {
			t.Fatalf("IdP-initiated: %s\n%s", resp.Header.Get("Location"), grepLines(ts.Logs.String(), "refused"))
		}
		if status, email := ada2.Me(); status != 200 || email != "ada@acme.example" {
			t.Fatalf("IdP-initiated me: %d %s", status, email)
		}
		// An IdP-initiated response is accepted once; so is the SP-initiated
		// one, even now that responses without a request cookie are allowed.
		if code := apitest.ErrorCodeOf(postACS(t, ts, apitest.NewBrowser(t, ts), fields)); code != "saml_invalid_response" {
			t.Fatalf("IdP-initiated replay: %q", code)
		}
		if code := apitest.ErrorCodeOf(postACS(t, ts, apitest.NewBrowser(t, ts), spFields)); code != "saml_invalid_response" {
			t.Fatalf("SP-initiated replay: %q", code)
		}
		if n := len(apitest.LogLines(ts, `"code":"saml_invalid_response"`, "a replayed assertion")); n < 1 {
			t.Fatalf("no replay logged:\n%s", grepLines(ts.Logs.String(), "refused"))
		}

		// Enforcement: the password path is closed, SAML still works.
		if resp, body := owner.Send("PATCH", "/api/organizations/@current/domains/"+domainID+"/", `{"sso_enforcement":"saml"}`, true); resp.StatusCode != 200 {
			t.Fatalf("enforce: %d %v", resp.StatusCode, body)
		}
		if resp, body := apitest.NewBrowser(t, ts).Login("ada@acme.example", apitest.GoodPassword); resp.StatusCode != 400 || body["code"] != "sso_enforced" {
			t.Fatalf("password under enforcement: %d %v", resp.StatusCode, body)
		}
		ada3 := apitest.NewBrowser(t, ts)
		resp, _ = ada3.Send("GET", "/login/saml/?email=ada%40acme.example", "", false)
		if resp := postACS(t, ts, ada3, sspSignIn(t, ada3, resp.Header.Get("Location"))); resp.Header.Get("Location") != "/" {
			t.Fatalf("SAML under enforcement: %s", resp.Header.Get("Location"))
		}
	})
}

// In headless Chromium, a user who opens Gatehouse at 127.0.0.1 while
// SITE_URL names localhost signs in through SimpleSAMLphp: the sign-in
// page moves the browser to localhost first, so the SAML request cookie is
// there when the IdP posts back (before, the login failed as
// "IdP-initiated").
func TestBrowserSimpleSAMLphpFromAnotherHost(t *testing.T) {
	t.Parallel()
	testenv.Slow(t, "runs SimpleSAMLphp under php -S and drives headless chromium through it")
	ctx := apitest.NewBrowserContext(t)
	ts := apitest.NewServer(t, store.SQLite, apitest.Options{SiteURL: "http://localhost:{port}"})
	site := strings.Replace(ts.URL, "127.0.0.1", "localhost", 1)
	idp := startSimpleSAMLphp(t, site)
	owner := apitest.OwnerBrowser(t, ts)
	resp, err := http.Get(idp + "/saml2/idp/metadata.php")
	if err != nil {
		t.Fatal(err)
	}
	domainID := apitest.SamlDomain(t, ts, owner, apitest.SamlBody(t, resp))
	if resp, body := owner.Send("PATCH", "/api/organizations/@current/domains/"+domainID+"/saml/",
		`{"attribute_mapping":{"uid":["uid"],"email":["mail"],"first_name":["givenName"],"last_name":["sn"]}}`, true); resp.StatusCode != 200 {
		t.Fatalf("mapping: %d %v", resp.StatusCode, body)
	}
	if err := chromedp.Do(ctx,
		chromedp.Navigate(ts.URL+"/login/saml/?email=ada@acme.example"), // 127.0.0.1
		chromedp.WaitVisible(`input[name="username"]`),
		chromedp.SendKeys(`input[name="username"]`, "ada"),
		chromedp.SendKeys(`input[name="password"]`, "ada-password"),
		chromedp.Submit(`input[name="username"]`),
		chromedp.WaitVisible(`form[action="/logout"]`),
	); err != nil {
		t.Fatalf("SAML login from 127.0.0.1: %v\n%s", err, grepLines(ts.Logs.String(), "refused"))
	}
	home, err := chromedp.Run(ctx, chromedp.Text(`main`))
	if err != nil || !strings.Contains(home, "ada@acme.example") {
		t.Fatalf("home after SAML login: %q %v", home, err)
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil || !strings.HasPrefix(loc, site) {
		t.Fatalf("ended at %q, want SITE_URL's host %s (%v)", loc, site, err)
	}
}
