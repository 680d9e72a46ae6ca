package web

import "testing"

func TestSafeNext(t *testing.T) {
	for next, want := range map[string]string{
		"/": "/", "/a/b?c=d#e": "/a/b?c=d#e", "//x": "/", "/\\x": "/", "\\\\x": "/", "x": "/",
		"javascript:alert(1)": "/", "/\r\n/x": "/", "": "/", "/%2F%2Fx": "/%2F%2Fx",
	} {
		if got := safeNext(next); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", next, got, want)
		}
	}
}
