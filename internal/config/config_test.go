package config

import (
	"strings"
	"testing"
	"time"
)

func env(kv ...string) func(string) (string, bool) {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestDefaults(t *testing.T) {
	c, err := Load(env())
	if err != nil {
		t.Fatal(err)
	}
	if c.Debug || c.Test || !c.SecureCookies || c.Addr != DefaultAddr || c.DataDir != DefaultDataDir ||
		c.SiteURL.String() != DefaultSiteURL || c.SessionCookieAge != 90*24*time.Hour || c.AxesFailureLimit != 5 ||
		c.AxesCooloffTime != 30*time.Minute || c.DatabaseURL != "" || c.EmailConfigured() || c.Email.Port != 25 || c.MetricsAddr != "" {
		t.Fatalf("unexpected defaults: %+v", c)
	}
}

func TestSecureCookiesDefault(t *testing.T) {
	for _, tc := range []struct {
		env  []string
		want bool
	}{
		{nil, true},
		{[]string{"DEBUG", "1"}, false},
		{[]string{"TEST", "true"}, false},
		{[]string{"DEBUG", "1", "SECURE_COOKIES", "true"}, true},
		{[]string{"SECURE_COOKIES", "false"}, false},
		{[]string{"SECURE_COOKIES", "no"}, false},
		{[]string{"DEBUG", "false"}, true},
	} {
		c, err := Load(env(tc.env...))
		if err != nil {
			t.Fatal(err)
		}
		if c.SecureCookies != tc.want {
			t.Errorf("%v: SecureCookies=%v, want %v", tc.env, c.SecureCookies, tc.want)
		}
	}
}

func TestUnparsableValuesNameTheVariable(t *testing.T) {
	for _, tc := range []struct{ name, value, want string }{
		{"DEBUG", "maybe", "expected a boolean"},
		{"SECURE_COOKIES", "sure", "expected a boolean"},
		{"TRUST_ALL_PROXIES", "all", "expected a boolean"},
		{"IS_BEHIND_PROXY", "2", "expected a boolean"},
		{"ALLOWED_IP_BLOCKS", "10.0.0.0/8,not-an-ip", "not-an-ip"},
		{"TRUSTED_PROXIES", "10.0.0.1:80", "10.0.0.1:80"},
		{"SESSION_COOKIE_AGE", "two weeks", "positive whole number"},
		{"SESSION_COOKIE_AGE", "-5", "positive whole number"},
		{"AXES_FAILURE_LIMIT", "0", "positive whole number"},
		{"AXES_COOLOFF_TIME", "1.5", "positive whole number"},
		{"SITE_URL", "localhost:8000", "absolute http"},
		{"SITE_URL", "ftp://x", "absolute http"},
		{"DATABASE_URL", "mysql://u:pw@h/db", "postgres://"},
		{"REDIS_URL", "localhost:6379", "redis://"},
		{"EMAIL_PORT", "70000", "port number"},
		{"SIGNUP_RATE", "lots", "rate such as"},
		{"MULTI_ORG_ENABLED", "sometimes", "expected a boolean"},
		{"METRICS_ADDR", "9102", "host:port"},
		{"METRICS_ADDR", "127.0.0.1:http", "host:port"},
		{"METRICS_ADDR", "127.0.0.1:99999", "host:port"},
		{"DATABASE_STATEMENT_TIMEOUT", "0", "positive number of seconds"},
		{"REDIS_TIMEOUT", "-1s", "positive number of seconds"},
		{"SHUTDOWN_GRACE", "soon", "positive number of seconds"},
	} {
		t.Run(tc.name+"="+tc.value, func(t *testing.T) {
			_, err := Load(env(tc.name, tc.value))
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.HasPrefix(err.Error(), tc.name+": ") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q should start with %s and mention %q", err, tc.name, tc.want)
			}
		})
	}
}

func TestAllErrorsReportedTogether(t *testing.T) {
	_, err := Load(env("DEBUG", "x", "TEST", "zz"))
	if err == nil || !strings.Contains(err.Error(), "DEBUG") || !strings.Contains(err.Error(), "TEST") {
		t.Fatalf("want both variables named, got %v", err)
	}
}

func TestDatabaseURLErrorHidesPassword(t *testing.T) {
	_, err := Load(env("DATABASE_URL", "mysql://user:hunter2hunter2@db/x"))
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("error must not echo the URL: %v", err)
	}
}

func TestProxyAndIPSettings(t *testing.T) {
	c, err := Load(env("ALLOWED_IP_BLOCKS", " 10.0.0.0/8, 2001:db8::/32 ,192.168.1.7", "TRUSTED_PROXIES", "10.1.0.0/16,10.2.0.1",
		"IS_BEHIND_PROXY", "yes", "TRUST_ALL_PROXIES", "0"))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.AllowedIPBlocks) != 3 || len(c.TrustedProxies) != 2 || !c.IsBehindProxy || c.TrustAllProxies {
		t.Fatalf("%+v", c)
	}
	if c.AllowedIPBlocks[2].String() != "192.168.1.7/32" {
		t.Fatalf("bare address parsed as %v", c.AllowedIPBlocks[2])
	}
}

func TestWarnings(t *testing.T) {
	has := func(ws []string, sub string) bool {
		for _, w := range ws {
			if strings.Contains(w, sub) {
				return true
			}
		}
		return false
	}
	c, _ := Load(env("SITE_URL", "http://gatehouse.example.com"))
	if !has(c.Warnings(), "SITE_URL is http://") {
		t.Fatalf("no warning for secure cookies over http: %q", c.Warnings())
	}
	c, _ = Load(env("SITE_URL", "https://gatehouse.example.com", "SECURE_COOKIES", "false"))
	if !has(c.Warnings(), "SECURE_COOKIES is false outside DEBUG") {
		t.Fatalf("no warning for insecure cookies in production: %q", c.Warnings())
	}
	c, _ = Load(env("SITE_URL", "https://gatehouse.example.com", "IS_BEHIND_PROXY", "1"))
	if !has(c.Warnings(), "IS_BEHIND_PROXY") {
		t.Fatalf("no warning for a proxy without trusted proxies: %q", c.Warnings())
	}
	c, _ = Load(env("SITE_URL", "https://gatehouse.example.com"))
	if len(c.Warnings()) != 0 {
		t.Fatalf("unexpected warnings for a good production config: %q", c.Warnings())
	}
	c, _ = Load(env("DEBUG", "1"))
	if len(c.Warnings()) != 0 {
		t.Fatalf("unexpected warnings for the development defaults: %q", c.Warnings())
	}
}

func TestMetricsAddr(t *testing.T) {
	for _, v := range []string{"127.0.0.1:9102", ":9102", "[::1]:9102", "0.0.0.0:0"} {
		c, err := Load(env("METRICS_ADDR", v))
		if err != nil || c.MetricsAddr != v {
			t.Fatalf("%q: %v %q", v, err, c.MetricsAddr)
		}
	}
}

func TestDependencyTimeoutsAndShutdownGrace(t *testing.T) {
	c, err := Load(env())
	if err != nil {
		t.Fatal(err)
	}
	if c.DatabaseTimeout != DefaultDatabaseTimeout || c.RedisTimeout != DefaultRedisTimeout || c.ShutdownGrace != DefaultShutdownGrace ||
		c.DatabasePoolSize != DefaultDatabasePoolSize {
		t.Fatalf("defaults: %v %v %v %v", c.DatabaseTimeout, c.RedisTimeout, c.ShutdownGrace, c.DatabasePoolSize)
	}
	c, err = Load(env("DATABASE_STATEMENT_TIMEOUT", "2.5", "REDIS_TIMEOUT", "500ms", "SHUTDOWN_GRACE", "1m", "DATABASE_POOL_SIZE", "40"))
	if err != nil {
		t.Fatal(err)
	}
	if c.DatabaseTimeout != 2500*time.Millisecond || c.RedisTimeout != 500*time.Millisecond || c.ShutdownGrace != time.Minute ||
		c.DatabasePoolSize != 40 {
		t.Fatalf("parsed: %v %v %v %v", c.DatabaseTimeout, c.RedisTimeout, c.ShutdownGrace, c.DatabasePoolSize)
	}
	for _, bad := range []string{"0", "-3", "many"} {
		if _, err := Load(env("DATABASE_POOL_SIZE", bad)); err == nil || !strings.Contains(err.Error(), "DATABASE_POOL_SIZE") {
			t.Fatalf("DATABASE_POOL_SIZE=%s: %v", bad, err)
		}
	}
}
