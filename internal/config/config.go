// Package config reads Gatehouse's configuration from the environment, once,
// into a Config struct, using PostHog's variable names. Every value is
// validated at start-up: a value that cannot be parsed is an error that names
// the variable and the form it expects.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/netguard"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
)

// Config is every setting Gatehouse reads from its environment.
type Config struct {
	Debug bool // DEBUG
	Test  bool // TEST

	Addr    string // GATEHOUSE_ADDR, overridden by serve --addr
	DataDir string // GATEHOUSE_DATA_DIR, overridden by --data-dir
	// MetricsAddr (METRICS_ADDR, overridden by serve --metrics-addr) is
	// where /metrics is served, apart from the public port; empty: nowhere.
	MetricsAddr string

	SecretKey          gatehouse.Secret   // SECRET_KEY; checked by package secretkey
	SecretKeySet       bool               // whether SECRET_KEY was present at all
	SecretKeyFallbacks []gatehouse.Secret // SECRET_KEY_FALLBACKS

	SecureCookies bool     // SECURE_COOKIES, default true unless DEBUG or TEST
	SiteURL       *url.URL // SITE_URL, default http://localhost:8000

	SAML SAMLSettings // SAML_SP_ORGANIZATION, SAML_SP_CONTACT_EMAIL, SAML_CLOCK_SKEW

	AllowedIPBlocks []netip.Prefix // ALLOWED_IP_BLOCKS
	TrustedProxies  []netip.Prefix // TRUSTED_PROXIES
	TrustAllProxies bool           // TRUST_ALL_PROXIES
	IsBehindProxy   bool           // IS_BEHIND_PROXY

	SessionCookieAge time.Duration // SESSION_COOKIE_AGE (seconds), default 90 days
	AxesFailureLimit int           // AXES_FAILURE_LIMIT, default 5
	AxesCooloffTime  time.Duration // AXES_COOLOFF_TIME (minutes), default 30

	DatabaseURL gatehouse.Secret // DATABASE_URL; may hold a password
	RedisURL    gatehouse.Secret // REDIS_URL; may hold a password

	Email Email
	// EmailMFAEnabled (EMAIL_MFA_ENABLED, default on when EMAIL_HOST is
	// set) mails users without TOTP a sign-in link after their password.
	EmailMFAEnabled bool

	MultiOrgEnabled bool           // MULTI_ORG_ENABLED: anyone may sign up a new organization
	SignupRate      ratelimit.Rate // SIGNUP_RATE, signups per client address, default 5/day
	// DNSResolver (DNS_RESOLVER, host:port) is the DNS server domain
	// verification asks; empty means the system resolver.
	DNSResolver string
	// SocialProviders are the configured social login backends
	// (SOCIAL_AUTH_*, see social.go).
	SocialProviders []SocialProvider

	// DatabaseTimeout (DATABASE_STATEMENT_TIMEOUT) bounds every PostgreSQL
	// call: the server's statement and lock timeouts, connecting, and the
	// wait for an answer. A frozen database then gives a quick 503.
	DatabaseTimeout time.Duration
	// DatabasePoolSize (DATABASE_POOL_SIZE) bounds the PostgreSQL
	// connections one instance opens (and SQLite's readers); each
	// PostgreSQL instance holds one more for the auth-generation read.
	DatabasePoolSize int
	// RedisTimeout (REDIS_TIMEOUT) bounds connecting to Redis and each
	// read and write.
	RedisTimeout time.Duration
	// ShutdownGrace (SHUTDOWN_GRACE) is how long requests in flight get to
	// finish after SIGTERM.
	ShutdownGrace time.Duration

	// AuditLogStream (AUDIT_LOG_STREAM) also writes each audit event as a
	// JSON line: "stdout", or "file:/path" (appended); empty: database only.
	AuditLogStream string
	// AuditLogRetention (AUDIT_LOG_RETENTION_DAYS, default 365) is how long
	// audit events are kept; the sweep deletes whole older days.
	AuditLogRetention time.Duration
}

// Email is the outbound mail configuration (EMAIL_*).
type Email struct {
	Host        string           // EMAIL_HOST; empty means email is not configured
	Port        int              // EMAIL_PORT, default 25
	User        string           // EMAIL_HOST_USER
	Password    gatehouse.Secret // EMAIL_HOST_PASSWORD
	UseTLS      bool             // EMAIL_USE_TLS (STARTTLS)
	UseSSL      bool             // EMAIL_USE_SSL (implicit TLS)
	DefaultFrom string           // EMAIL_DEFAULT_FROM
}

// Defaults that are not zero values. DefaultAddr and DefaultSiteURL name
// the same host and port, so that a first run opens where it listens.
const (
	DefaultAddr             = "localhost:8000"
	DefaultDataDir          = "./data"
	DefaultSiteURL          = "http://localhost:8000"
	DefaultSessionCookieAge = 90 * 24 * time.Hour
	DefaultAxesFailureLimit = 5
	DefaultAxesCooloffTime  = 30 * time.Minute
	DefaultDatabaseTimeout  = 5 * time.Second
	DefaultDatabasePoolSize = 16
	DefaultRedisTimeout     = 2 * time.Second
	DefaultShutdownGrace    = 25 * time.Second
	DefaultAuditRetention   = 365 * 24 * time.Hour
)

// FromEnviron reads the process environment.
func FromEnviron() (*Config, error) { return Load(os.LookupEnv) }

// Load reads the configuration through lookup (os.LookupEnv in production, a
// map in tests). All problems are reported together.
func Load(lookup func(string) (string, bool)) (*Config, error) {
	p := parser{lookup: lookup}
	c := &Config{}
	c.Debug = p.boolean("DEBUG", false)
	c.Test = p.boolean("TEST", false)
	c.Addr = p.str("GATEHOUSE_ADDR", DefaultAddr)
	c.DataDir = p.str("GATEHOUSE_DATA_DIR", DefaultDataDir)
	c.MetricsAddr = p.str("METRICS_ADDR", "")
	if err := CheckListenAddr(c.MetricsAddr); err != nil {
		p.fail("METRICS_ADDR", "%v", err)
	}

	key, ok := lookup("SECRET_KEY")
	c.SecretKey, c.SecretKeySet = gatehouse.Secret(key), ok
	for _, k := range p.list("SECRET_KEY_FALLBACKS") {
		c.SecretKeyFallbacks = append(c.SecretKeyFallbacks, gatehouse.Secret(k))
	}

	c.SecureCookies = p.boolean("SECURE_COOKIES", !c.Debug && !c.Test)
	c.SiteURL = p.siteURL("SITE_URL", DefaultSiteURL)

	c.AllowedIPBlocks = p.prefixes("ALLOWED_IP_BLOCKS")
	c.TrustedProxies = p.prefixes("TRUSTED_PROXIES")
	c.TrustAllProxies = p.boolean("TRUST_ALL_PROXIES", false)
	c.IsBehindProxy = p.boolean("IS_BEHIND_PROXY", false)

	c.SessionCookieAge = time.Duration(p.positiveInt("SESSION_COOKIE_AGE", int(DefaultSessionCookieAge/time.Second))) * time.Second
	c.AxesFailureLimit = p.positiveInt("AXES_FAILURE_LIMIT", DefaultAxesFailureLimit)
	c.AxesCooloffTime = time.Duration(p.positiveInt("AXES_COOLOFF_TIME", int(DefaultAxesCooloffTime/time.Minute))) * time.Minute

	c.DatabaseURL = gatehouse.Secret(p.databaseURL("DATABASE_URL"))
	c.RedisURL = gatehouse.Secret(p.redisURL("REDIS_URL"))
	c.DatabaseTimeout = p.duration("DATABASE_STATEMENT_TIMEOUT", DefaultDatabaseTimeout)
	c.DatabasePoolSize = p.positiveInt("DATABASE_POOL_SIZE", DefaultDatabasePoolSize)
	c.RedisTimeout = p.duration("REDIS_TIMEOUT", DefaultRedisTimeout)
	c.ShutdownGrace = p.duration("SHUTDOWN_GRACE", DefaultShutdownGrace)
	c.AuditLogStream = p.auditStream("AUDIT_LOG_STREAM")
	c.AuditLogRetention = time.Duration(p.positiveInt("AUDIT_LOG_RETENTION_DAYS", int(DefaultAuditRetention/(24*time.Hour)))) * 24 * time.Hour

	c.Email = Email{
		Host:        p.str("EMAIL_HOST", ""),
		Port:        p.port("EMAIL_PORT", 25),
		User:        p.str("EMAIL_HOST_USER", ""),
		Password:    gatehouse.Secret(p.str("EMAIL_HOST_PASSWORD", "")),
		UseTLS:      p.boolean("EMAIL_USE_TLS", false),
		UseSSL:      p.boolean("EMAIL_USE_SSL", false),
		DefaultFrom: p.str("EMAIL_DEFAULT_FROM", "root@localhost"),
	}
	c.EmailMFAEnabled = p.boolean("EMAIL_MFA_ENABLED", c.Email.Host != "")
	if c.EmailMFAEnabled && c.Email.Host == "" {
		p.fail("EMAIL_MFA_ENABLED", "email MFA needs outbound email: set EMAIL_HOST, or set EMAIL_MFA_ENABLED=false")
	}
	c.MultiOrgEnabled = p.boolean("MULTI_ORG_ENABLED", false)
	c.DNSResolver = p.str("DNS_RESOLVER", "")
	if c.DNSResolver != "" {
		if _, _, err := net.SplitHostPort(c.DNSResolver); err != nil {
			p.fail("DNS_RESOLVER", "must be host:port, e.g. 1.1.1.1:53")
		}
	}
	c.SignupRate = p.rate("SIGNUP_RATE", "5/day")
	c.SocialProviders = p.socialProviders()
	c.SAML = p.samlSettings(c.SiteURL)
	if c.Email.UseTLS && c.Email.UseSSL {
		p.fail("EMAIL_USE_TLS", "EMAIL_USE_TLS and EMAIL_USE_SSL are mutually exclusive; set at most one")
	}
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	return c, nil
}

// Warnings returns the start-up warnings for settings that are valid but
// probably wrong.
func (c *Config) Warnings() []string {
	var w []string
	// Browsers treat http://localhost and loopback addresses as secure
	// contexts and send Secure cookies there; any other http host loses
	// them.
	if c.SecureCookies && c.SiteURL.Scheme == "http" && !loopbackHost(c.SiteURL.Hostname()) {
		w = append(w, "SECURE_COOKIES is true but SITE_URL is http:// on "+c.SiteURL.Hostname()+": browsers will not send the session cookie and logins will fail; serve over https or set SECURE_COOKIES=false for local use")
	}
	if !c.SecureCookies && !c.Debug && !c.Test {
		w = append(w, "SECURE_COOKIES is false outside DEBUG/TEST: session cookies can travel over plain http")
	}
	if c.IsBehindProxy && len(c.TrustedProxies) == 0 && !c.TrustAllProxies {
		w = append(w, "IS_BEHIND_PROXY is set but neither TRUSTED_PROXIES nor TRUST_ALL_PROXIES is: requests that came through the proxy will not have a known client address")
	}
	if c.TrustAllProxies && !c.IsBehindProxy {
		w = append(w, "TRUST_ALL_PROXIES has no effect without IS_BEHIND_PROXY")
	}
	return w
}

// loopbackHost reports whether host is localhost (or a name under
// .localhost) or a loopback address.
func loopbackHost(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// CheckListenAddr accepts "" (off) or a host:port to listen on, such as
// 127.0.0.1:9102 or :9102.
func CheckListenAddr(addr string) error {
	if addr == "" {
		return nil
	}
	_, port, err := net.SplitHostPort(addr)
	if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 0 || n > 65535 {
		return fmt.Errorf("expected host:port to listen on, such as 127.0.0.1:9102 or :9102, got %q", addr)
	}
	return nil
}

// EmailConfigured reports whether outbound email is set up.
func (c *Config) EmailConfigured() bool { return c.Email.Host != "" }

type parser struct {
	lookup func(string) (string, bool)
	errs   []error
}

func (p *parser) fail(name, format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf("%s: "+format, append([]any{name}, args...)...))
}

func (p *parser) str(name, def string) string {
	v, ok := p.lookup(name)
	if !ok {
		return def
	}
	return strings.TrimSpace(v)
}

// boolean parses the way PostHog's str_to_bool does, but refuses anything
// it does not recognise instead of treating it as false.
func (p *parser) boolean(name string, def bool) bool {
	v, ok := p.lookup(name)
	if !ok || strings.TrimSpace(v) == "" {
		return def
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "t", "yes", "y", "on":
		return true
	case "0", "false", "f", "no", "n", "off":
		return false
	}
	p.fail(name, "expected a boolean (true/false, 1/0, yes/no, on/off), got %q", v)
	return def
}

func (p *parser) positiveInt(name string, def int) int {
	v, ok := p.lookup(name)
	if !ok || strings.TrimSpace(v) == "" {
		return def
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n <= 0 {
		p.fail(name, "expected a positive whole number, got %q", v)
		return def
	}
	return n
}

// duration reads a positive time span: seconds ("5", "2.5") or a Go
// duration ("500ms", "1m30s").
func (p *parser) duration(name string, def time.Duration) time.Duration {
	v, ok := p.lookup(name)
	v = strings.TrimSpace(v)
	if !ok || v == "" {
		return def
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if d := time.Duration(secs * float64(time.Second)); secs > 0 && secs < 1e6 && d > 0 {
			return d
		}
	} else if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return d
	}
	p.fail(name, "expected a positive number of seconds (e.g. 5 or 2.5) or a duration such as 500ms or 1m, got %q", v)
	return def
}

func (p *parser) port(name string, def int) int {
	n := p.positiveInt(name, def)
	if n > 65535 {
		p.fail(name, "expected a port number from 1 to 65535, got %d", n)
		return def
	}
	return n
}

func (p *parser) list(name string) []string {
	v, ok := p.lookup(name)
	if !ok {
		return nil
	}
	var out []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func (p *parser) prefixes(name string) []netip.Prefix {
	v, ok := p.lookup(name)
	if !ok {
		return nil
	}
	blocks, err := netguard.ParsePrefixes(v)
	if err != nil {
		p.fail(name, "expected comma-separated IP addresses or CIDR blocks (e.g. 10.0.0.0/8,2001:db8::/32): %v", err)
		return nil
	}
	return blocks
}

func (p *parser) rate(name, def string) ratelimit.Rate {
	v := p.str(name, def)
	if v == "" {
		v = def
	}
	r, err := ratelimit.ParseRate(v)
	if err != nil {
		p.fail(name, "expected a rate such as 5/day, 10/hour or 6/20minutes, got %q", v)
		r, _ = ratelimit.ParseRate(def)
	}
	return r
}

func (p *parser) siteURL(name, def string) *url.URL {
	v := strings.TrimRight(p.str(name, def), "/")
	if v == "" {
		v = def
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.fail(name, "expected an absolute http:// or https:// URL such as https://auth.example.com, got %q", v)
		u, _ = url.Parse(def)
	}
	return u
}

func (p *parser) databaseURL(name string) string {
	v := p.str(name, "")
	if v == "" {
		return ""
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		p.fail(name, "expected a postgres://user:password@host:port/database URL (leave it unset for the embedded SQLite)")
		return ""
	}
	return v
}

func (p *parser) redisURL(name string) string {
	v := p.str(name, "")
	if v == "" {
		return ""
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "unix") {
		p.fail(name, "expected a redis://[user:password@]host:port[/db] URL")
		return ""
	}
	return v
}

// auditStream accepts "", "stdout" or "file:<absolute path>".
func (p *parser) auditStream(name string) string {
	v := p.str(name, "")
	if v == "" || v == "stdout" {
		return v
	}
	if path, ok := strings.CutPrefix(v, "file:"); ok && strings.HasPrefix(path, "/") {
		return v
	}
	p.fail(name, "must be stdout or file:/absolute/path, not %q", v)
	return ""
}
