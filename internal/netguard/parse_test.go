package netguard

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func mustPrefixes(t testing.TB, list string) []netip.Prefix {
	t.Helper()
	ps, err := ParsePrefixes(list)
	if err != nil {
		t.Fatalf("ParsePrefixes(%q): %v", list, err)
	}
	return ps
}

func TestParsePrefixes(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []string
		wantErr string // substring naming the bad item; "" means no error
	}{
		{name: "empty", in: "", want: nil},
		{name: "only separators and spaces", in: " , ,, \t,", want: nil},
		{name: "v4 address", in: "10.0.0.1", want: []string{"10.0.0.1/32"}},
		{name: "v6 address", in: "2001:db8::1", want: []string{"2001:db8::1/128"}},
		{name: "v4 block", in: "192.168.0.0/16", want: []string{"192.168.0.0/16"}},
		{name: "v6 block", in: "2001:db8::/32", want: []string{"2001:db8::/32"}},
		{name: "v4 host bits masked", in: "192.168.3.4/16", want: []string{"192.168.0.0/16"}},
		{name: "v6 host bits masked", in: "2001:db8:1:2::5/48", want: []string{"2001:db8:1::/48"}},
		{name: "zero-length blocks", in: "0.0.0.0/0,::/0", want: []string{"0.0.0.0/0", "::/0"}},
		{name: "zone dropped from bare address", in: "fe80::1%eth0", want: []string{"fe80::1/128"}},
		{name: "mapped address kept as IPv6", in: "::ffff:1.2.3.4", want: []string{"::ffff:1.2.3.4/128"}},
		{
			name: "whitespace and empty items",
			in:   "  10.0.0.1 ,, 192.168.0.0/16\t,\n2001:db8::/32 , ",
			want: []string{"10.0.0.1/32", "192.168.0.0/16", "2001:db8::/32"},
		},
		{name: "octet out of range", in: "10.0.0.300", wantErr: `"10.0.0.300" is not an IP address or CIDR block`},
		{name: "bad item named among good ones", in: "10.0.0.1, nope ,10.0.0.2", wantErr: `"nope" is not an IP address or CIDR block`},
		{name: "v4 with port", in: "1.2.3.4:80", wantErr: `"1.2.3.4:80"`},
		{name: "bracketed v6 with port", in: "[::1]:80", wantErr: `"[::1]:80"`},
		{name: "prefix length too long v4", in: "10.0.0.0/33", wantErr: `"10.0.0.0/33"`},
		{name: "prefix length too long v6", in: "::/129", wantErr: `"::/129"`},
		{name: "negative prefix length", in: "10.0.0.0/-1", wantErr: `"10.0.0.0/-1"`},
		{name: "empty prefix length", in: "10.0.0.0/", wantErr: `"10.0.0.0/"`},
		{name: "zone in prefix", in: "fe80::1%eth0/64", wantErr: `"fe80::1%eth0/64"`},
		{name: "garbage", in: "localhost", wantErr: `"localhost"`},
		{name: "leading zeros", in: "010.0.0.1", wantErr: `"010.0.0.1"`},
		{name: "range syntax", in: "10.0.0.1-10.0.0.5", wantErr: `"10.0.0.1-10.0.0.5"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePrefixes(tt.in)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("ParsePrefixes(%q) = %v, want error containing %q", tt.in, got, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParsePrefixes(%q) error = %q, want it to contain %q", tt.in, err, tt.wantErr)
				}
				if got != nil {
					t.Fatalf("ParsePrefixes(%q) returned %v alongside an error", tt.in, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParsePrefixes(%q): unexpected error %v", tt.in, err)
			}
			var gotStr []string
			for _, p := range got {
				gotStr = append(gotStr, p.String())
			}
			if !slices.Equal(gotStr, tt.want) {
				t.Fatalf("ParsePrefixes(%q) = %q, want %q", tt.in, gotStr, tt.want)
			}
		})
	}
}

func TestParsePrefixesErrorExactMessage(t *testing.T) {
	_, err := ParsePrefixes("10.0.0.300")
	const want = `"10.0.0.300" is not an IP address or CIDR block`
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %q", err, want)
	}
}
