package password

import (
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

func TestCheckStrength(t *testing.T) {
	for _, tc := range []struct {
		pw     string
		inputs []string
		code   string
		detail string
	}{
		{"short", nil, "password_too_short", "at least 8 characters"},
		{"password", nil, "password_too_weak", "This is a top-10 common password."},
		{"Password1", nil, "password_too_weak", ""},
		{"asdfghjkl;'", nil, "password_too_weak", "Straight rows of keys are easy to guess."},
		{"lovelace-ada", []string{"ada@example.com"}, "password_too_weak", "Add another word or two."},
		{"correct horse battery staple", nil, "", ""},
		{"Vq8#mZ2!pL", nil, "", ""},
	} {
		err := CheckStrength(gatehouse.Secret(tc.pw), tc.inputs...)
		if tc.code == "" {
			if err != nil {
				t.Errorf("%q refused: %v", tc.pw, err)
			}
			continue
		}
		e, ok := gatehouse.AsError(err)
		if !ok || e.Code != tc.code || e.Attr != "password" || e.Kind != gatehouse.KindInvalid {
			t.Errorf("%q: got %v, want %s", tc.pw, err, tc.code)
			continue
		}
		if e.Detail == "" || !strings.Contains(e.Detail, tc.detail) {
			t.Errorf("%q: detail %q should contain %q", tc.pw, e.Detail, tc.detail)
		}
	}
}
