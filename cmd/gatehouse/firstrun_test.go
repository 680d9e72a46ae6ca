package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// TestEveryCommandHasHelp: every subcommand answers --help with a
// description and examples on stdout and exit code 0, even when the
// environment is invalid.
func TestEveryCommandHasHelp(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"serve", "--help"}, {"migrate", "-h"}, {"createuser", "--help"}, {"two-factor-reset", "--help"},
		{"domain", "verify", "--help"}, {"domain", "--help"}, {"outbox", "--help"}, {"generate-secret", "--help"}, {"version", "--help"},
		{"help", "createuser"},
	} {
		out, stderr, code := runCmd(t, baseEnv("DEBUG=maybe"), args...)
		if code != 0 || !strings.Contains(out, "Usage: gatehouse") || !strings.Contains(out, "Examples:") {
			t.Errorf("%v: exit %d\n%s\n%s", args, code, out, stderr)
		}
	}
	if out, _, _ := runCmd(t, baseEnv(), "createuser", "--help"); !strings.Contains(out, "-init") || !strings.Contains(out, "-data-dir") {
		t.Errorf("createuser --help lacks its flags:\n%s", out)
	}
}

// runIn runs the binary with dir as the working directory.
func runIn(t *testing.T, dir string, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir, cmd.Env = dir, env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return out.String(), ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), 0
}

// TestCreateUserRefusesANewDatabaseSilently: run where there is no
// database and without --data-dir, createuser would make an account no
// server sees; it refuses unless --init is given.
func TestCreateUserRefusesANewDatabaseSilently(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := baseEnv("SECRET_KEY=" + testKey)
	args := []string{"createuser", "--email", "ops@example.com", "--password", "correct horse battery staple", "--organization", "Ops"}
	out, code := runIn(t, dir, env, args...)
	if code != 2 || !strings.Contains(out, "--init") {
		t.Fatalf("without a database: exit %d\n%s", code, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", store.SQLiteFile)); !os.IsNotExist(err) {
		t.Fatalf("a database was created: %v", err)
	}
	if out, code := runIn(t, dir, env, append(args, "--init")...); code != 0 {
		t.Fatalf("--init: exit %d\n%s", code, out)
	}
	// With the database there, no flag is needed.
	if out, code := runIn(t, dir, env, "createuser", "--email", "two@example.com", "--password", "correct horse battery staple", "--organization", "Two"); code != 0 {
		t.Fatalf("existing database: exit %d\n%s", code, out)
	}
}

// TestOutboxShowPrintsOneMessage: --show ID prints a message's text, links
// included; an unknown ID fails.
func TestOutboxShowPrintsOneMessage(t *testing.T) {
	t.Parallel()
	env, dir, opts := engineEnv(t, store.SQLite)
	st, err := store.Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	id, err := st.EnqueueMail(context.Background(), gatehouse.OutboxMessage{To: "ada@example.com", Subject: "Reset your password",
		Text: "https://gatehouse.example.com/reset/token-789", Status: gatehouse.OutboxPending})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	out, stderr, code := runCmd(t, env, "outbox", "--data-dir", dir, "--show", fmt.Sprint(id))
	if code != 0 || !strings.Contains(out, "ada@example.com") || !strings.Contains(out, "/reset/token-789") {
		t.Fatalf("show: %d\n%s\n%s", code, out, stderr)
	}
	if _, stderr, code := runCmd(t, env, "outbox", "--data-dir", dir, "--show", "999"); code != 1 || !strings.Contains(stderr, "no message 999") {
		t.Fatalf("unknown id: %d %s", code, stderr)
	}
}

// TestFirstRunLogs: a first run in DEBUG without email logs the signup URL
// to open, warns that --addr's port is not SITE_URL's, and writes each
// queued email's text (here a reset link) to the log.
func TestFirstRunLogs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startServer(t, baseEnv("DEBUG=1"), dir)
	if !strings.Contains(s.logs.String(), "http://localhost:8000/signup") {
		t.Fatalf("no signup URL:\n%s", s.logs.String())
	}
	if !strings.Contains(s.logs.String(), "but SITE_URL names port 8000") {
		t.Fatalf("no port warning:\n%s", s.logs.String())
	}
	post := func(path, body string) *http.Response {
		req, _ := http.NewRequest("POST", "http://"+s.addr+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := post("/api/signup/", `{"first_name":"Ada","email":"ada@example.com","password":"correct horse battery staple"}`); resp.StatusCode != 201 {
		t.Fatalf("signup: %d", resp.StatusCode)
	}
	if resp := post("/api/reset/", `{"email":"ada@example.com"}`); resp.StatusCode != 204 {
		t.Fatalf("reset request: %d", resp.StatusCode)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(s.logs.String(), "/reset/") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	<-s.done
	if !strings.Contains(s.logs.String(), "http://localhost:8000/reset/") {
		t.Fatalf("the reset link is not in the DEBUG log:\n%s", s.logs.String())
	}
}
