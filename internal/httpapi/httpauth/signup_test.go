package httpauth

import (
	"testing"
	"time"
)

func TestWaitInWords(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "1 second"},
		{300 * time.Millisecond, "1 second"},
		{time.Second, "1 second"},
		{42 * time.Second, "42 seconds"},
		{59*time.Second + 600*time.Millisecond, "1 minute"},
		{90 * time.Second, "2 minutes"},
		{5 * time.Minute, "5 minutes"},
		{5*time.Minute + 20*time.Second, "5 minutes"},
		{59*time.Minute + 40*time.Second, "1 hour"},
		{23*time.Hour + 10*time.Minute, "23 hours"},
		{24*time.Hour - time.Second, "24 hours"},
		{47 * time.Hour, "47 hours"},
		{72 * time.Hour, "3 days"},
	} {
		if got := waitInWords(tc.d); got != tc.want {
			t.Errorf("waitInWords(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}
