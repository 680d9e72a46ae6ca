package httpauth

import (
	"regexp"
	"strings"
	"testing"
)

// bearerCredential answers as PostHog's pattern `^Bearer\s+(\S.+)$` (and
// a trim of the match) does, on a corpus of edge cases and on fuzzed input.
func FuzzBearerCredentialMatchesThePattern(f *testing.F) {
	pattern := regexp.MustCompile(`^Bearer\s+(\S.+)$`)
	for _, s := range []string{"", "Bearer", "Bearer ", "Bearer x", "Bearer xy", "Bearer  xy ", "bearer xy", "Bearerxy",
		"Bearer\txy", "Bearer \nxy", "Bearer x\ny", "Bearer é", "Bearer éé", "Bearer \u00a0x", "Basic xy", " Bearer xy",
		"Bearer phx_abc def", "Bearer \f\r\vxy", "Bearer \xff\xfe", "Bearer x\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		want, wantOK := "", false
		if m := pattern.FindStringSubmatch(h); m != nil {
			want, wantOK = strings.TrimSpace(m[1]), true
		}
		got, ok := bearerCredential(h)
		if got != want || ok != wantOK {
			t.Fatalf("bearerCredential(%q) = %q, %v; the pattern gives %q, %v", h, got, ok, want, wantOK)
		}
	})
}
