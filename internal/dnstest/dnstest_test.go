package dnstest_test

import (
	"context"
	"net"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/dnstest"
)

func TestServerAnswersTXT(t *testing.T) {
	s, err := dnstest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.SetTXT("_posthog-challenge.acme.example", "abc", "second")
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, s.Addr)
	}}
	got, err := r.LookupTXT(context.Background(), "_posthog-challenge.ACME.example")
	if err != nil || len(got) != 2 || got[0] != "abc" || got[1] != "second" {
		t.Fatalf("TXT = %q, %v", got, err)
	}
	if _, err := r.LookupTXT(context.Background(), "_posthog-challenge.other.example"); err == nil {
		t.Fatal("an unknown name must not resolve")
	} else if dnsErr, ok := err.(*net.DNSError); !ok || !dnsErr.IsNotFound {
		t.Fatalf("unknown name: %v, want not found", err)
	}
}
