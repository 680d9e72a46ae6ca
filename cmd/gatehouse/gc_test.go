package main

import (
	"runtime/debug"
	"testing"
)

// serve uses its GC default only when the operator set no GOGC.
func TestServeGCDefault(t *testing.T) {
	t.Parallel()
	prev := debug.SetGCPercent(100)
	defer debug.SetGCPercent(prev)

	setGCDefault(func(string) string { return "" })
	if got := debug.SetGCPercent(100); got != serveGCPercent {
		t.Fatalf("without GOGC the GC percent is %d, want %d", got, serveGCPercent)
	}
	setGCDefault(func(k string) string {
		if k == "GOGC" {
			return "150"
		}
		return ""
	})
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("with GOGC set, serve changed the GC percent to %d", got)
	}
}
