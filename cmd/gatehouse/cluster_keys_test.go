package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/sso/saml/samltest"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/testenv"
)

// keyCall sends a request with a personal API key through the proxy.
func (c *cluster) keyCall(t *testing.T, path, key string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", c.proxy.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestClusterKeyRevocationAndThrottles: a personal API key deleted through
// one instance fails on the very next request on every instance, and a
// throttle counts requests whichever instance they reach.
func TestClusterKeyRevocationAndThrottles(t *testing.T) {
	t.Parallel()
	testenv.Slow(t, "runs several real server processes on one database")
	c := startCluster(t, 3)
	code, body, set := c.call(t, "POST", "/api/login", `{"email":"ops@example.com","password":"correct horse battery staple"}`, nil)
	if code != 200 {
		t.Fatalf("login: %d %s", code, body)
	}
	jar := map[string]string{"sessionid": set["sessionid"], csrfCookieName: set[csrfCookieName]}
	code, body, _ = c.call(t, "POST", "/api/personal_api_keys/", `{"label":"ci","scopes":["user:read"]}`, jar)
	var created struct {
		ID    string `json:"id"`
		Value string `json:"value"`
	}
	if code != 201 || json.Unmarshal([]byte(body), &created) != nil || created.Value == "" {
		t.Fatalf("create key: %d %s", code, body)
	}
	for i := range 3 {
		if code := c.keyCall(t, "/api/users/@me/", created.Value); code != 200 {
			t.Fatalf("key on request %d: %d", i, code)
		}
	}
	// Every instance now listens for auth changes and answers key requests
	// from memory (internal/store/pglisten.go): the revocation below must
	// still fail the key on the very next request to each.
	c.waitListening(t, created.Value)
	if code, body, _ := c.call(t, "DELETE", "/api/personal_api_keys/"+created.ID+"/", "", jar); code != 204 {
		t.Fatalf("delete key: %d %s", code, body)
	}
	for i := range 3 {
		if code := c.keyCall(t, "/api/users/@me/", created.Value); code != 401 {
			t.Fatalf("deleted key, request %d after the delete: %d, want 401 on every instance", i, code)
		}
	}

	// Password-reset requests: 3 per hour per email, counted in Redis
	// whichever instance answers.
	email := fmt.Sprintf("reset-%d@example.com", rand.Int64())
	var codes []int
	for range 5 {
		code, _, _ := c.call(t, "POST", "/api/reset/", `{"email":"`+email+`"}`, nil)
		codes = append(codes, code)
	}
	if fmt.Sprint(codes) != "[204 204 204 429 429]" {
		t.Fatalf("reset requests across instances: %v", codes)
	}
}

// TestClusterInstanceStopsMidLoad: clients capture events through the
// proxy while one instance is killed; every event that was acknowledged is
// in the database afterwards.
func TestClusterInstanceStopsMidLoad(t *testing.T) {
	t.Parallel()
	testenv.Slow(t, "runs several real server processes on one database")
	c := startCluster(t, 3)
	load := startCaptureLoad(c.proxy.URL+"/batch/", c.token, 6)
	load.waitAcked(300)
	victim := c.servers[1]
	victim.cmd.Process.Signal(syscall.SIGKILL)
	<-victim.done
	load.waitAcked(300) // the other two keep acknowledging
	load.finish()

	st, err := store.Open(context.Background(), c.storeOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	acked, missing := load.missing(t, st, c.token)
	t.Logf("%d events acknowledged through the proxy, %d missing after killing one of three instances", acked, missing)
	if missing > 0 {
		t.Fatalf("%d acknowledged events lost", missing)
	}
}

// storeOptions opens the cluster's database from the test side.
func (c *cluster) storeOptions(t *testing.T) store.Options {
	t.Helper()
	for _, kv := range c.env {
		if url, ok := strings.CutPrefix(kv, "DATABASE_URL="); ok {
			return store.Options{DatabaseURL: url, DataDir: c.dir}
		}
	}
	t.Fatal("the cluster runs without DATABASE_URL")
	return store.Options{}
}

// TestClusterSAMLReplay: a signed SAML response accepted by one instance
// is refused by every other: the assertion-ID cache is the shared
// database, not an instance's memory.
func TestClusterSAMLReplay(t *testing.T) {
	t.Parallel()
	testenv.Slow(t, "runs several real server processes on one database")
	c := startCluster(t, 3)
	ctx := context.Background()
	st, err := store.Open(ctx, c.storeOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	owner, err := st.UserByEmail(ctx, "ops@example.com")
	if err != nil {
		t.Fatal(err)
	}
	idp := samltest.NewIdP("https://idp.acme.example/metadata", 0)
	now := time.Now()
	domainID := gatehouse.NewUUID()
	if err := st.CreateDomain(ctx, &gatehouse.OrganizationDomain{ID: domainID, OrganizationID: owner.CurrentOrganizationID, Domain: "acme.example",
		VerificationChallenge: "c", VerifiedAt: &now, JITProvisioningEnabled: true, SAMLEntityID: "https://idp.acme.example/metadata",
		SAMLACSURL: "https://idp.acme.example/sso", SAMLX509Cert: idp.CertBase64(), CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.DB().ExecContext(ctx, `UPDATE organization_domains SET saml_allow_idp_initiated = TRUE WHERE id = $1`, domainID); err != nil {
		t.Fatal(err)
	}
	resp := idp.Build(samltest.Response{Audience: "https://gatehouse.example.com", Destination: "https://gatehouse.example.com/complete/saml/",
		Attributes: map[string]string{"name_id": "g-1", "email": "grace@acme.example", "first_name": "Grace"}})
	post := func() (int, string, string) {
		form := url.Values{"SAMLResponse": {resp}, "RelayState": {domainID}}
		req, _ := http.NewRequest("POST", c.proxy.URL+"/complete/saml/", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := http.DefaultTransport.RoundTrip(req) // no redirects followed
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		session := ""
		for _, ck := range res.Cookies() {
			if ck.Name == "sessionid" {
				session = ck.Value
			}
		}
		return res.StatusCode, res.Header.Get("Location"), session
	}
	if code, loc, session := post(); code != 302 || loc != "/" || session == "" {
		t.Fatalf("first use: %d %s session=%v", code, loc, session != "")
	}
	for i := range 2 { // the next two requests reach the two other instances
		if code, loc, session := post(); code != 302 || !strings.Contains(loc, "error_code=saml_invalid_response") || session != "" {
			t.Fatalf("replay %d on another instance: %d %s session=%v", i, code, loc, session != "")
		}
	}
}

// waitListening sends key requests until every instance has registered
// its auth generation listener.
func (c *cluster) waitListening(t *testing.T, key string) {
	t.Helper()
	var databaseURL string
	for _, kv := range c.env {
		if v, ok := strings.CutPrefix(kv, "DATABASE_URL="); ok {
			databaseURL = v
		}
	}
	db, err := sql.Open("pgx", databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i := 0; ; i++ {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM auth_generation_listeners WHERE lease_until > now()`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n >= len(c.servers) {
			return
		}
		if i == 500 {
			t.Fatalf("%d of %d instances listen for auth changes", n, len(c.servers))
		}
		if code := c.keyCall(t, "/api/users/@me/", key); code != 200 {
			t.Fatalf("key while the instances start listening: %d", code)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
