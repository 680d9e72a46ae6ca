package gatehouse

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"strings"
	"time"
)

// KnownDeviceWindow is how long a device stays known after its last
// sign-in: a sign-in from a device not seen for this long is "new".
const KnownDeviceWindow = 30 * 24 * time.Hour

// DeviceStore remembers the devices a user signed in from.
type DeviceStore interface {
	// SeeDevice records a sign-in and returns the previous one (zero time
	// when the device was never seen).
	SeeDevice(ctx context.Context, userID int64, fingerprint string, now time.Time) (time.Time, error)
}

// DeviceFingerprint identifies a device loosely, as PostHog's notice does:
// the client's network (/24 for IPv4, /48 for IPv6) and browser family, so
// a new DHCP lease or a browser update is not a new device.
func DeviceFingerprint(clientIP, userAgent string) string {
	network := "unknown"
	if addr, err := netip.ParseAddr(clientIP); err == nil {
		addr = addr.Unmap()
		bits := 48
		if addr.Is4() {
			bits = 24
		}
		if p, err := addr.Prefix(bits); err == nil {
			network = p.String()
		}
	}
	sum := sha256.Sum256([]byte(network + "|" + BrowserFamily(userAgent)))
	return hex.EncodeToString(sum[:])
}

// BrowserFamily names the browser of a User-Agent ("Firefox", "Chrome", …).
func BrowserFamily(ua string) string {
	for _, b := range []struct{ token, name string }{
		{"Edg/", "Edge"}, {"OPR/", "Opera"}, {"Firefox/", "Firefox"}, {"Chrome/", "Chrome"}, {"Safari/", "Safari"}, {"curl/", "curl"},
	} {
		if strings.Contains(ua, b.token) {
			return b.name
		}
	}
	return "Unknown browser"
}

// OperatingSystem names the system of a User-Agent ("Linux", "iOS", …), or
// "" when it cannot tell.
func OperatingSystem(ua string) string {
	for _, o := range []struct{ token, name string }{
		{"Android", "Android"}, {"iPhone", "iOS"}, {"iPad", "iOS"}, {"Windows", "Windows"}, {"Mac OS X", "macOS"}, {"CrOS", "ChromeOS"}, {"Linux", "Linux"},
	} {
		if strings.Contains(ua, o.token) {
			return o.name
		}
	}
	return ""
}
