package saml

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/sso/saml/samltest"
)

// An uploaded URL is fetched once: https only and never from a
// non-public address outside DEBUG; a document that is neither XML nor a
// URL is told it must be XML.
func TestMetadataURL(t *testing.T) {
	idp := samltest.NewIdP(testIdPID, 0).Metadata("https://idp.acme.example/sso")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/samlmetadata+xml")
		w.Write([]byte(idp))
	}))
	defer srv.Close()
	tlsSrv := httptest.NewTLSServer(srv.Config.Handler)
	defer tlsSrv.Close()

	for _, doc := range []string{"hello", "https://idp.example.com/metadata <x>", ""} {
		if u := metadataURL([]byte(doc)); u != nil {
			t.Errorf("%q taken for a URL", doc)
		}
	}
	u := metadataURL([]byte("  " + srv.URL + "/metadata\n"))
	if u == nil {
		t.Fatal("a pasted URL was not recognised")
	}
	if _, err := FetchMetadata(context.Background(), u, false); err == nil || !strings.Contains(err.Error(), "must be https") {
		t.Errorf("plain http outside DEBUG: %v", err)
	}
	if _, err := FetchMetadata(context.Background(), metadataURL([]byte(tlsSrv.URL)), false); err == nil || !strings.Contains(err.Error(), "non-public address") {
		t.Errorf("loopback outside DEBUG: %v", err)
	}
	doc, err := FetchMetadata(context.Background(), u, true)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ParseMetadata(doc); err != nil || got.SSOURL != "https://idp.acme.example/sso" {
		t.Fatalf("fetched metadata: %+v %v", got, err)
	}
	if _, err := ParseMetadata([]byte("https://idp.example.com/metadata")); err == nil || !strings.Contains(err.Error(), "must be the identity provider's metadata XML") {
		t.Errorf("text upload: %v", err)
	}
	if _, err := ParseMetadata([]byte("  ")); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("empty upload: %v", err)
	}
}
