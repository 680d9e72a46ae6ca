// Command screenshots regenerates docs/screenshots: it starts a throwaway
// Gatehouse (the binary given by -bin, SQLite in a temporary directory,
// listening on 127.0.0.1 only), creates two accounts with createuser (one
// with two-factor authentication), signs in with headless Chromium and
// saves a PNG of every page at 1280×900 (desktop) and 390×844 (phone),
// plus the home page in dark mode. scripts/screenshots.sh builds and runs
// it.
//
// The PNGs are reduced to at most 256 colours so that the committed set
// stays small.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/gatehouse-auth/gatehouse/internal/mfa"
)

const (
	ownerEmail = "ada@example.com"
	twoFAEmail = "grace@example.com"
	password   = "compiler cobol navy 1906"
)

// viewport is one screen size the pages are shot at.
type viewport struct {
	name          string
	width, height int64
}

var viewports = []viewport{{"desktop", 1280, 900}, {"phone", 390, 844}}

// shot is one page to capture: its file name, its path, and what must be
// on it before the picture is taken.
type shot struct {
	name, path, ready string
}

// anonymousShots are taken signed out.
var anonymousShots = []shot{
	{"login", "/login", `form[action="/login"]`},
	{"signup", "/signup", `form[action="/signup"]`},
	{"reset", "/reset", `form[action="/reset"]`},
	{"not-found", "/no-such-page", `main h1`},
}

// signedInShots are taken as the owner. Pages that do not exist yet (404)
// are skipped with a note, except the not-found page itself.
var signedInShots = []shot{
	{"home", "/", `#project-token`},
	{"project", "/project", `main h1`},
	{"organization", "/organization", `main h1`},
	{"account", "/account", `main h1`},
	{"settings", "/settings", `main h1`},
	{"two-factor", "/settings/two_factor", `main h1`},
	{"passkeys", "/settings/passkeys", `main h1`},
	{"domains", "/settings/domains", `main h1`},
	{"security-activity", "/settings/security", `main h1`},
	{"audit-log", "/settings/audit_log", `main h1`},
	{"not-found-signed-in", "/no-such-page", `main h1`},
}

func main() {
	bin := flag.String("bin", "", "the gatehouse binary to run (go build ./cmd/gatehouse)")
	out := flag.String("out", "docs/screenshots", "where the PNGs go")
	chromium := flag.String("chromium", "chromium", "the Chromium binary")
	flag.Parse()
	if *bin == "" {
		log.Fatal("screenshots: -bin is required")
	}
	if err := run(*bin, *out, *chromium); err != nil {
		log.Fatal("screenshots: ", err)
	}
}

func run(bin, out, chromiumPath string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	tmp, err := os.MkdirTemp("", "gatehouse-screenshots-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}

	port, err := freePort()
	if err != nil {
		return err
	}
	site := "http://localhost:" + strconv.Itoa(port)
	secret, err := exec.CommandContext(ctx, bin, "generate-secret").Output()
	if err != nil {
		return fmt.Errorf("generate-secret: %w", err)
	}
	dataDir := filepath.Join(tmp, "data")
	env := append(os.Environ(), "SECRET_KEY="+strings.TrimSpace(string(secret)), "SITE_URL="+site, "GATEHOUSE_DATA_DIR="+dataDir,
		"DEBUG=1", "MULTI_ORG_ENABLED=1", "DATABASE_URL=", "REDIS_URL=", "EMAIL_HOST=")
	for _, u := range []struct{ email, org string }{{ownerEmail, "Analytical Engines"}, {twoFAEmail, "Harvard Mark I"}} {
		cmd := exec.CommandContext(ctx, bin, "createuser", "--data-dir", dataDir, "--init", "--email", u.email, "--password", password, "--organization", u.org)
		cmd.Env = env
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("createuser %s: %v\n%s", u.email, err, b)
		}
	}
	var serverLog bytes.Buffer
	server := exec.CommandContext(ctx, bin, "serve", "--addr", "127.0.0.1:"+strconv.Itoa(port))
	server.Env = env
	server.Stdout, server.Stderr = &serverLog, &serverLog
	if err := server.Start(); err != nil {
		return err
	}
	defer func() {
		server.Process.Signal(os.Interrupt)
		server.Wait()
	}()
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	if err := waitHealthy(ctx, base); err != nil {
		return fmt.Errorf("%w\n%s", err, serverLog.String())
	}
	if err := prepare(base, site); err != nil {
		return err
	}

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.UserDataDir(filepath.Join(tmp, "chromium")),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("font-render-hinting", "none"),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()

	total := 0
	save := func(name string) error {
		raw, err := chromedp.Run(bctx, chromedp.CaptureScreenshot())
		if err != nil {
			return err
		}
		small, err := shrinkPNG(raw)
		if err != nil {
			return err
		}
		total += len(small)
		fmt.Printf("%-36s %6d bytes\n", name+".png", len(small))
		return os.WriteFile(filepath.Join(out, name+".png"), small, 0o644)
	}
	visit := func(v viewport, s shot) error {
		resp, err := chromedp.Run(bctx, chromedp.NavigateResponse(site+s.path))
		if err != nil {
			return fmt.Errorf("%s: %w", s.path, err)
		}
		if resp.Status == http.StatusNotFound && !strings.HasPrefix(s.name, "not-found") {
			fmt.Printf("%-36s skipped: %s answers 404\n", v.name+"-"+s.name+".png", s.path)
			return nil
		}
		if err := chromedp.Do(bctx, chromedp.WaitVisible(s.ready), settle()); err != nil {
			return fmt.Errorf("%s: %w", s.path, err)
		}
		return save(v.name + "-" + s.name)
	}
	logIn := func(email string, then ...chromedp.Action[chromedp.Void]) []chromedp.Action[chromedp.Void] {
		return append([]chromedp.Action[chromedp.Void]{
			chromedp.Navigate(site + "/login"),
			chromedp.WaitVisible(`#email`),
			chromedp.SendKeys(`#email`, email),
			chromedp.SendKeys(`#password`, password),
			chromedp.Submit(`form[action="/login"]`),
		}, then...)
	}
	logOut := []chromedp.Action[chromedp.Void]{
		chromedp.Navigate(site + "/"),
		chromedp.WaitVisible(`form[action="/logout"]`),
		chromedp.Submit(`form[action="/logout"]`),
		chromedp.WaitVisible(`form[action="/login"]`),
		settle(),
	}

	for _, v := range viewports {
		if err := chromedp.Do(bctx, chromedp.EmulateViewport(v.width, v.height), colorScheme("light")); err != nil {
			return err
		}
		for _, s := range anonymousShots {
			if err := visit(v, s); err != nil {
				return err
			}
		}
		// The second login step, as the user with two-factor authentication.
		if err := chromedp.Do(bctx, logIn(twoFAEmail, chromedp.WaitVisible(`#step-indicator`), settle())...); err != nil {
			return fmt.Errorf("second step: %w", err)
		}
		if err := save(v.name + "-login-step-2"); err != nil {
			return err
		}
		if err := chromedp.Do(bctx, chromedp.Navigate(site+"/login"), chromedp.WaitVisible(`#email`)); err != nil {
			return err
		}

		if err := chromedp.Do(bctx, logIn(ownerEmail, chromedp.WaitVisible(`#project-token`))...); err != nil {
			return fmt.Errorf("log in: %w", err)
		}
		for _, s := range signedInShots {
			if err := visit(v, s); err != nil {
				return err
			}
		}
		if v.name == "desktop" {
			if err := chromedp.Do(bctx, colorScheme("dark"), chromedp.Navigate(site+"/"), chromedp.WaitVisible(`#project-token`), settle()); err != nil {
				return err
			}
			if err := save(v.name + "-home-dark"); err != nil {
				return err
			}
			if err := chromedp.Do(bctx, colorScheme("light")); err != nil {
				return err
			}
		}
		if err := chromedp.Do(bctx, logOut...); err != nil {
			return fmt.Errorf("log out: %w", err)
		}
		if err := save(v.name + "-logged-out"); err != nil {
			return err
		}
	}
	fmt.Printf("%d bytes in %s\n", total, out)
	return nil
}

// settle waits for the page's scripts and fonts to finish drawing.
func settle() chromedp.Action[chromedp.Void] {
	return chromedp.Sleep(300 * time.Millisecond)
}

// colorScheme emulates prefers-color-scheme.
func colorScheme(scheme string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}})
		return err
	})
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func waitHealthy(ctx context.Context, base string) error {
	for {
		resp, err := http.Get(base + "/_health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return errors.New("the server did not become healthy")
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// prepare gives the pages something to show: two-factor authentication
// for the second user, a domain for the owner's organization.
func prepare(base, site string) error {
	call := func(c *http.Client, method, path, body string) (map[string]any, error) {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", site)
		u, _ := req.URL.Parse(base)
		for _, ck := range c.Jar.Cookies(u) {
			if ck.Name == "posthog_csrftoken" {
				req.Header.Set("X-CSRFToken", ck.Value)
			}
		}
		resp, err := c.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var out map[string]any
		json.Unmarshal(raw, &out)
		if resp.StatusCode >= 300 {
			return out, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, raw)
		}
		return out, nil
	}
	client := func(email string) (*http.Client, error) {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar}
		_, err := call(c, "POST", "/api/login/", `{"email":"`+email+`","password":"`+password+`"}`)
		return c, err
	}
	grace, err := client(twoFAEmail)
	if err != nil {
		return err
	}
	setup, err := call(grace, "GET", "/api/users/@me/two_factor_start_setup/", "")
	if err != nil {
		return err
	}
	secret, err := mfa.DecodeSecret(fmt.Sprint(setup["secret"]))
	if err != nil {
		return err
	}
	if _, err := call(grace, "POST", "/api/users/@me/two_factor_validate/", `{"token":"`+mfa.Code(secret, mfa.Step(time.Now()))+`"}`); err != nil {
		return err
	}
	ada, err := client(ownerEmail)
	if err != nil {
		return err
	}
	_, err = call(ada, "POST", "/api/organizations/@current/domains/", `{"domain":"analytical-engines.example"}`)
	return err
}

// shrinkPNG re-encodes a screenshot with at most 256 colours: the most
// frequent ones, every other pixel taking the nearest of them. Page
// screenshots are mostly flat colour, so this loses little but
// antialiasing shades and makes the file several times smaller.
func shrinkPNG(raw []byte) ([]byte, error) {
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	b := img.Bounds()
	counts := map[color.RGBA]int{}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			counts[color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)]++
		}
	}
	colors := make([]color.RGBA, 0, len(counts))
	for c := range counts {
		colors = append(colors, c)
	}
	sort.Slice(colors, func(i, j int) bool {
		if counts[colors[i]] != counts[colors[j]] {
			return counts[colors[i]] > counts[colors[j]]
		}
		ci, cj := colors[i], colors[j]
		return uint32(ci.R)<<16|uint32(ci.G)<<8|uint32(ci.B) < uint32(cj.R)<<16|uint32(cj.G)<<8|uint32(cj.B)
	})
	if len(colors) > 256 {
		colors = colors[:256]
	}
	palette := make(color.Palette, len(colors))
	for i, c := range colors {
		palette[i] = c
	}
	index := map[color.RGBA]uint8{}
	out := image.NewPaletted(b, palette)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			i, ok := index[c]
			if !ok {
				i = uint8(palette.Index(c))
				index[c] = i
			}
			out.SetColorIndex(x, y, i)
		}
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&buf, out); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
