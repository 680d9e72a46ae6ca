package apitest

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"
)

// page fetches a page and returns its response and HTML.
func (b *Browser) Page(method, path string, form url.Values) (*http.Response, string) {
	b.T.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, b.Ts.URL+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(b.Extra); i += 2 {
		req.Header.Set(b.Extra[i], b.Extra[i+1])
	}
	resp, err := b.Client.Do(req)
	if err != nil {
		b.T.Fatal(err)
	}
	defer resp.Body.Close()
	html, _ := io.ReadAll(resp.Body)
	return resp, string(html)
}

// formToken is the hidden CSRF field of a rendered form.
func FormToken(t *testing.T, html string) string {
	t.Helper()
	m := csrfFieldRE.FindStringSubmatch(html)
	if m == nil {
		t.Fatalf("no csrfmiddlewaretoken field in:\n%s", html)
	}
	return m[1]
}

// submit loads the form page at formPath and posts fields to postPath with
// the form's CSRF token, as a browser does.
func (b *Browser) Submit(formPath, postPath string, fields map[string]string) (*http.Response, string) {
	b.T.Helper()
	resp, html := b.Page("GET", formPath, nil)
	if resp.StatusCode != 200 {
		b.T.Fatalf("GET %s: %d", formPath, resp.StatusCode)
	}
	form := url.Values{httpauth.CSRFFormField: {FormToken(b.T, html)}}
	for k, v := range fields {
		form.Set(k, v)
	}
	return b.Page("POST", postPath, form)
}

var csrfFieldRE = regexp.MustCompile(`name="csrfmiddlewaretoken" value="([^"]+)"`)
