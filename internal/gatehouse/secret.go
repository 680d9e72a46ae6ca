package gatehouse

import "log/slog"

// Secret is a string that must never be logged: passwords, keys, tokens.
// Its String, GoString and LogValue hide the value, so passing a Secret to a
// logger or a format verb by accident prints a placeholder.
type Secret string

const redacted = "[REDACTED]"

// String hides the secret.
func (Secret) String() string { return redacted }

// GoString hides the secret from %#v.
func (Secret) GoString() string { return redacted }

// LogValue hides the secret from log/slog.
func (Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalText hides the secret from encoders that would otherwise print it.
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// Reveal returns the secret's value, for the few places that need it.
func (s Secret) Reveal() string { return string(s) }
