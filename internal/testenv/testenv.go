// Package testenv tells tests which outside services they may use. A test
// that needs PostgreSQL, Redis, a browser or node skips with a clear message
// when the service is not configured, unless GATEHOUSE_TEST_REQUIRE names it
// (CI sets it), in which case the skip becomes a failure.
package testenv

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// Required reports whether GATEHOUSE_TEST_REQUIRE lists the service.
func Required(service string) bool {
	return slices.Contains(strings.Split(os.Getenv("GATEHOUSE_TEST_REQUIRE"), ","), service)
}

// Unavailable skips the test, or fails it when the service is required.
func Unavailable(t testing.TB, service, why string) {
	t.Helper()
	if Required(service) {
		t.Fatalf("%s is required (GATEHOUSE_TEST_REQUIRE) but unavailable: %s", service, why)
	}
	t.Skipf("skipping: %s unavailable: %s", service, why)
}

// PostgresURL returns GATEHOUSE_TEST_DATABASE_URL or skips.
func PostgresURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("GATEHOUSE_TEST_DATABASE_URL")
	if u == "" {
		Unavailable(t, "postgres", "set GATEHOUSE_TEST_DATABASE_URL=postgres://… to run the PostgreSQL tests")
	}
	return u
}

// RedisURL returns GATEHOUSE_TEST_REDIS_URL or skips.
func RedisURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("GATEHOUSE_TEST_REDIS_URL")
	if u == "" {
		Unavailable(t, "redis", "set GATEHOUSE_TEST_REDIS_URL=redis://… to run the Redis tests")
	}
	return u
}

// Slow marks a test that takes more than about five seconds and says why
// (a real browser, a real identity provider, a binary killed mid-load, a
// deliberately expensive hash). `go test -short` skips it; CI runs it.
func Slow(t testing.TB, why string) {
	t.Helper()
	if testing.Short() {
		t.Skip("slow: " + why)
	}
}
