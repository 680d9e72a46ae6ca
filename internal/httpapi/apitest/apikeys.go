package apitest

import (
	"database/sql"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// keyRequest calls the API with key in the Authorization header and no
// cookies.
func KeyRequest(t *testing.T, ts *Server, method, path, key, body string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp, out
}

// createKey makes a personal API key as b and returns the response body.
func CreateKey(t *testing.T, b *Browser, body map[string]any) map[string]any {
	t.Helper()
	raw, _ := json.Marshal(body)
	resp, out := b.Send("POST", "/api/personal_api_keys/", string(raw), true)
	if resp.StatusCode != 201 {
		t.Fatalf("creating key %v: %d %v", body, resp.StatusCode, out)
	}
	return out
}

func MustKey(t *testing.T, b *Browser, scopes ...string) string {
	t.Helper()
	if scopes == nil {
		scopes = []string{"*"}
	}
	return CreateKey(t, b, map[string]any{"label": "test", "scopes": scopes})["value"].(string)
}

func WantDenied(t *testing.T, what string, resp *http.Response, body map[string]any, status int, detail string) {
	t.Helper()
	if resp.StatusCode != status || body["detail"] != detail {
		t.Fatalf("%s: got %d %v, want %d %q", what, resp.StatusCode, body, status, detail)
	}
}

// dumpDatabase returns every value of every table as text.
func DumpDatabase(t *testing.T, db *sql.DB) []byte {
	t.Helper()
	var out []byte
	for _, table := range []string{"personal_api_keys", "project_secret_api_keys", "projects", "users", "sessions", "organizations"} {
		rows, err := db.Query("SELECT * FROM " + table)
		if err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]sql.RawBytes, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				out = append(append(out, v...), '\n')
			}
		}
		rows.Close()
	}
	return out
}
