package apitest

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// logLines returns the JSON log lines that contain every one of parts.
func LogLines(ts *Server, parts ...string) []string {
	var out []string
	for _, line := range strings.Split(ts.Logs.String(), "\n") {
		ok := line != ""
		for _, p := range parts {
			ok = ok && strings.Contains(line, p)
		}
		if ok {
			out = append(out, line)
		}
	}
	return out
}

// loginPage renders the login page at location (a /login?… redirect).
func LoginPage(t *testing.T, ts *Server, location string) string {
	t.Helper()
	resp, err := http.Get(ts.URL + location)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
