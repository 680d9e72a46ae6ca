package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/storetest"
)

// ownerKey signs in as the createuser account and makes a personal API
// key with scopes, returning its value.
func ownerKey(t *testing.T, addr string, scopes ...string) string {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, err := c.Post("http://"+addr+"/api/login/", "application/json",
		strings.NewReader(`{"email":"ops@example.com","password":"correct horse battery staple"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	csrf := ""
	for _, ck := range resp.Cookies() {
		if ck.Name == "posthog_csrftoken" {
			csrf = ck.Value
		}
	}
	body, _ := json.Marshal(map[string]any{"label": "load", "scopes": scopes})
	req, _ := http.NewRequest("POST", "http://"+addr+"/api/personal_api_keys/", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRFToken", csrf)
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != 201 {
		t.Fatalf("creating a key: %d %v", resp.StatusCode, out)
	}
	return out["value"].(string)
}

// TestAuditEventsSurviveSIGKILL creates invites from several clients,
// kills the server with SIGKILL in the middle, and checks that every
// invite that was committed has its audit event and every event its
// invite (the two commit together), that every acknowledged invite is
// there, and that the chain verifies.
func TestAuditEventsSurviveSIGKILL(t *testing.T) {
	t.Parallel()
	for _, engine := range storetest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel() // each engine has its own database and server
			env, dir, opts := engineEnv(t, engine)
			createUser(t, env, dir)
			s := startServer(t, env, dir)
			key := ownerKey(t, s.addr, "organization_member:write")

			var acked sync.Map
			var n atomic.Int64
			stop := make(chan struct{})
			var wg sync.WaitGroup
			client := &http.Client{Timeout: 5 * time.Second}
			for w := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; ; i++ {
						select {
						case <-stop:
							return
						default:
						}
						email := fmt.Sprintf("load-%d-%d@example.com", w, i)
						req, _ := http.NewRequest("POST", "http://"+s.addr+"/api/organizations/@current/invites/",
							strings.NewReader(`{"target_email":"`+email+`"}`))
						req.Header.Set("Authorization", "Bearer "+key)
						req.Header.Set("Content-Type", "application/json")
						resp, err := client.Do(req)
						if err != nil {
							continue
						}
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode == 201 {
							acked.Store(email, true)
							n.Add(1)
						}
					}
				}()
			}
			for n.Load() < 60 {
				time.Sleep(5 * time.Millisecond)
			}
			s.cmd.Process.Signal(syscall.SIGKILL)
			<-s.done
			close(stop)
			wg.Wait()

			st, err := store.Open(context.Background(), opts)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			u, err := st.UserByEmail(context.Background(), "ops@example.com")
			if err != nil {
				t.Fatal(err)
			}
			invites, err := st.ListPendingInvites(context.Background(), u.CurrentOrganizationID, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			events, _, err := st.AuditEvents(context.Background(), gatehouse.AuditFilter{Type: gatehouse.AuditInviteCreated, Limit: 1_000_000})
			if err != nil {
				t.Fatal(err)
			}
			stored, recorded := map[string]bool{}, map[string]bool{}
			for _, inv := range invites {
				stored[inv.TargetEmail] = true
			}
			for _, ev := range events {
				recorded[ev.Target.Label] = true
			}
			for email := range stored {
				if !recorded[email] {
					t.Errorf("the invite for %s committed without its audit event", email)
				}
			}
			for email := range recorded {
				if !stored[email] {
					t.Errorf("the audit event for %s committed without its invite", email)
				}
			}
			missing := 0
			acked.Range(func(k, _ any) bool {
				if !stored[k.(string)] {
					missing++
				}
				return true
			})
			t.Logf("%s: %d invites acknowledged, %d stored, %d events", engine, n.Load(), len(stored), len(events))
			if missing > 0 {
				t.Fatalf("%d acknowledged invites lost", missing)
			}
			out, stderr, code := runCmd(t, env, "audit", "verify", "--data-dir", dir)
			if code != 0 || !strings.Contains(out, "audit log OK") {
				t.Fatalf("audit verify after SIGKILL: %d\n%s\n%s", code, out, stderr)
			}
		})
	}
}

// `gatehouse audit verify` names a tampered event; `gatehouse audit
// export` prints the range as JSON lines; AUDIT_LOG_STREAM=file: gets the
// same lines as they are written.
func TestAuditCommands(t *testing.T) {
	t.Parallel()
	for _, engine := range storetest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel() // each engine has its own database and server
			env, dir, opts := engineEnv(t, engine)
			stream := filepath.Join(t.TempDir(), "audit.jsonl")
			env = append(env, "AUDIT_LOG_STREAM=file:"+stream)
			createUser(t, env, dir)
			s := startServer(t, env, dir)
			key := ownerKey(t, s.addr, "organization_member:write")
			for i := range 3 {
				req, _ := http.NewRequest("POST", "http://"+s.addr+"/api/organizations/@current/invites/",
					strings.NewReader(fmt.Sprintf(`{"target_email":"cmd-%d@example.com"}`, i)))
				req.Header.Set("Authorization", "Bearer "+key)
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != 201 {
					t.Fatalf("invite %d: %d", i, resp.StatusCode)
				}
			}
			s.cmd.Process.Signal(syscall.SIGTERM)
			<-s.done

			out, stderr, code := runCmd(t, env, "audit", "export", "--data-dir", dir, "--since", "2000-01-01", "--format", "jsonl")
			if code != 0 {
				t.Fatalf("export: %d %s", code, stderr)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			// The sign-in, the key, three invites and the key's first use
			// from this address.
			invites, editSeq := 0, int64(0)
			for i, l := range lines {
				var line gatehouse.AuditLine
				if err := json.Unmarshal([]byte(l), &line); err != nil || line.Version != 1 || line.MAC == "" || line.Seq != int64(i+1) {
					t.Fatalf("exported line %d: %s (%v)", i, l, err)
				}
				if line.Type == "invite.created" {
					invites++
					if line.Target.Label == "cmd-1@example.com" {
						editSeq = line.Seq
					}
				}
			}
			if invites != 3 || editSeq == 0 {
				t.Fatalf("exported %d invite events:\n%s", invites, out)
			}
			// The stream has the same lines (in commit order, which may
			// differ from seq order between concurrent writers).
			streamed, err := os.ReadFile(stream)
			got := strings.Split(strings.TrimSpace(string(streamed)), "\n")
			slices.Sort(got)
			want := slices.Clone(lines)
			slices.Sort(want)
			if err != nil || !slices.Equal(got, want) {
				t.Fatalf("the stream file differs from the export (%v):\n%s\n---\n%s", err, streamed, out)
			}
			if out, _, _ := runCmd(t, env, "audit", "export", "--data-dir", dir, "--since", time.Now().Add(time.Hour).Format(time.RFC3339)); out != "" {
				t.Fatalf("export of the future printed %q", out)
			}
			wantOK := fmt.Sprintf("%d events, 1 to %d", len(lines), len(lines))
			if out, _, code := runCmd(t, env, "audit", "verify", "--data-dir", dir); code != 0 || !strings.Contains(out, wantOK) {
				t.Fatalf("verify: %d %s, want %s", code, out, wantOK)
			}

			st, err := store.Open(context.Background(), opts)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if _, err := st.DB().Exec(`UPDATE audit_log SET body = REPLACE(body, 'cmd-1@', 'cmd-9@') WHERE seq = ` + fmt.Sprint(editSeq)); err != nil {
				t.Fatal(err)
			}
			_, stderr, code = runCmd(t, env, "audit", "verify", "--data-dir", dir)
			if code != 1 || !strings.Contains(stderr, fmt.Sprintf("event %d altered", editSeq)) {
				t.Fatalf("verify of an edited event: %d %s", code, stderr)
			}
		})
	}
}
