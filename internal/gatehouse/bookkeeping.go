package gatehouse

import (
	"context"
	"log/slog"
)

// The bookkeeping writes: records of use that no security decision waits
// for. Each is best effort (bookkeepingFailed).
const (
	bookkeepingAPIKeyUse           = "api_key_last_used"
	bookkeepingAPIKeyHashUpgrade   = "api_key_hash_upgrade"
	bookkeepingPasswordHashUpgrade = "password_hash_upgrade"
	bookkeepingProjectKeyUse       = "project_key_last_used"
	bookkeepingKnownDevice         = "known_device"
	bookkeepingRememberedDevice    = "remembered_device_last_used"
)

// CountBookkeepingFailure counts one failed bookkeeping write by its name.
// The domain imports no adapter, so cmd/gatehouse points it at the metrics
// counter (gatehouse_bookkeeping_failures_total) before serving; it does
// nothing by default.
var CountBookkeepingFailure = func(write string) {}

// bookkeepingFailed records that a bookkeeping write failed (a full disk,
// a database that timed out): it is logged and counted
// (gatehouse_bookkeeping_failures_total), and the request it belongs to
// still answers. An authorized request never fails because its use could
// not be written down; a write that guards security (lockout counters,
// one-time codes, a passkey's sign counter) is never treated this way.
func bookkeepingFailed(ctx context.Context, write string, err error) {
	CountBookkeepingFailure(write)
	slog.Default().LogAttrs(ctx, slog.LevelWarn, "bookkeeping write failed; the request goes on",
		slog.String("write", write), slog.String("error", err.Error()))
}
