package saml

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"
)

// MetadataFetchTimeout bounds the one fetch of an IdP's metadata URL.
const MetadataFetchTimeout = 10 * time.Second

// metadataURL returns the URL when an uploaded "document" is only an
// http(s) URL (an admin pasted the IdP's metadata address), else nil.
func metadataURL(doc []byte) *url.URL {
	s := string(bytes.TrimSpace(doc))
	if len(s) > 2048 || bytes.ContainsAny([]byte(s), "<> \n\t") {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil
	}
	return u
}

// FetchMetadata gets an IdP's metadata from its URL, once: https only
// unless allowPlain (DEBUG), at most MaxMetadata bytes, within
// MetadataFetchTimeout, and, unless allowPlain, never from a loopback,
// private or link-local address (an organization admin must not make the
// server probe its own network).
func FetchMetadata(ctx context.Context, u *url.URL, allowPlain bool) ([]byte, error) {
	if u.Scheme != "https" && !allowPlain {
		return nil, errors.New("the metadata URL must be https")
	}
	dialer := &net.Dialer{Timeout: MetadataFetchTimeout}
	if !allowPlain {
		dialer.Control = func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return err
			}
			if a := ap.Addr().Unmap(); !a.IsGlobalUnicast() || a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() {
				return fmt.Errorf("the metadata URL resolves to a non-public address (%s)", a)
			}
			return nil
		}
	}
	client := &http.Client{
		Timeout:   MetadataFetchTimeout,
		Transport: &http.Transport{DialContext: dialer.DialContext, TLSHandshakeTimeout: MetadataFetchTimeout, ResponseHeaderTimeout: MetadataFetchTimeout},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 3 {
				return errors.New("too many redirects")
			}
			if req.URL.Scheme != "https" && !allowPlain {
				return errors.New("the metadata URL redirects to a non-https address")
			}
			return nil
		},
	}
	ctx, cancel := context.WithTimeout(ctx, MetadataFetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/samlmetadata+xml, application/xml, text/xml")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("the metadata URL could not be fetched: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the metadata URL answered %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxMetadata+1))
	if err != nil {
		return nil, fmt.Errorf("the metadata URL could not be read: %v", err)
	}
	if len(body) > MaxMetadata {
		return nil, fmt.Errorf("the metadata at the URL is larger than %d bytes", MaxMetadata)
	}
	return body, nil
}
