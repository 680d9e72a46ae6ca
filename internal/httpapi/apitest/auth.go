package apitest

import (
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
)

const OwnerPassword = "correct horse battery"

// browser is a client with a cookie jar, like a person's browser.
type Browser struct {
	T      *testing.T
	Ts     *Server
	Client *http.Client
	Jar    http.CookieJar
	Extra  []string // headers sent with every request
}

func NewBrowser(t *testing.T, ts *Server) *Browser {
	jar, _ := cookiejar.New(nil)
	return &Browser{T: t, Ts: ts, Jar: jar, Client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *Browser) Cookie(name string) string {
	u, _ := url.Parse(b.Ts.URL)
	for _, c := range b.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

func (b *Browser) SetCookie(name, value string) {
	u, _ := url.Parse(b.Ts.URL)
	b.Jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/"}})
}

// send makes a request; csrf adds the X-CSRFToken header from the cookie.
func (b *Browser) Send(method, path, body string, csrf bool, header ...string) (*http.Response, map[string]any) {
	b.T.Helper()
	req, _ := http.NewRequest(method, b.Ts.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if csrf {
		req.Header.Set("X-CSRFToken", b.Cookie("posthog_csrftoken"))
	}
	header = append(append([]string{}, b.Extra...), header...)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := b.Client.Do(req)
	if err != nil {
		b.T.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp, out
}

func (b *Browser) Login(email, pw string) (*http.Response, map[string]any) {
	b.T.Helper()
	body, _ := json.Marshal(map[string]string{"email": email, "password": pw})
	return b.Send("POST", "/api/login/", string(body), false)
}
