package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"syscall"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/store"
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
