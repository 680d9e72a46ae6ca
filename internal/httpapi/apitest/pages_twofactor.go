package apitest

import (
	"net/http"
	"net/url"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"
)

// pageForm posts fields with the CSRF token of the page at formPath,
// which must answer 200.
func (b *Browser) PageForm(formPath, postPath string, fields url.Values) (*http.Response, string) {
	b.T.Helper()
	resp, page := b.Page("GET", formPath, nil)
	if resp.StatusCode != 200 {
		b.T.Fatalf("GET %s: %d", formPath, resp.StatusCode)
	}
	form := url.Values{httpauth.CSRFFormField: {FormToken(b.T, page)}}
	for k, v := range fields {
		form[k] = v
	}
	return b.Page("POST", postPath, form)
}
