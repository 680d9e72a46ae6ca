package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeOSV(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestBuildLaysOutTheDatabase(t *testing.T) {
	src := t.TempDir()
	writeOSV(t, src, "GO-2026-0001.json", `{"id":"GO-2026-0001","modified":"2026-01-02T03:04:05Z","affected":[
		{"package":{"name":"example.com/a","ecosystem":"Go"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.2.3"}]}]},
		{"package":{"name":"example.com/a","ecosystem":"Go"}},
		{"package":{"name":"stdlib","ecosystem":"Go"}}]}`)
	writeOSV(t, src, "GO-2025-0009.json", `{"id":"GO-2025-0009","modified":"2025-05-05T00:00:00Z","affected":[{"package":{"name":"example.com/a"}}]}`)
	writeOSV(t, src, "README.md", "not an entry")
	out := filepath.Join(t.TempDir(), "db")
	n, err := build(src, out, time.Time{})
	if err != nil || n != 2 {
		t.Fatalf("build: %d %v", n, err)
	}
	var modules []moduleMeta
	raw, _ := os.ReadFile(filepath.Join(out, "index", "modules.json"))
	if err := json.Unmarshal(raw, &modules); err != nil {
		t.Fatal(err)
	}
	if len(modules) != 2 || modules[0].Path != "example.com/a" || len(modules[0].Vulns) != 2 ||
		modules[0].Vulns[0].ID != "GO-2025-0009" || modules[0].Vulns[1].ID != "GO-2026-0001" ||
		modules[1].Path != "stdlib" || len(modules[1].Vulns) != 1 {
		t.Fatalf("modules.json: %s", raw)
	}
	if db, _ := os.ReadFile(filepath.Join(out, "index", "db.json")); strings.TrimSpace(string(db)) != `{"modified":"2026-01-02T03:04:05Z"}` {
		t.Fatalf("db.json: %s", db)
	}
	if entry, _ := os.ReadFile(filepath.Join(out, "ID", "GO-2026-0001.json")); !strings.Contains(string(entry), `"fixed":"1.2.3"`) {
		t.Fatalf("entry copied as %s", entry)
	}
	// An existing database is not overwritten.
	if _, err := build(src, out, time.Time{}); err == nil {
		t.Fatal("built over an existing database")
	}
}

func TestBuildRefusesMisnamedEntries(t *testing.T) {
	src := t.TempDir()
	writeOSV(t, src, "GO-2026-0002.json", `{"id":"GO-2026-0003","affected":[]}`)
	out := filepath.Join(t.TempDir(), "db")
	if _, err := build(src, out, time.Time{}); err == nil || !strings.Contains(err.Error(), "<id>.json") {
		t.Fatalf("misnamed entry: %v", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatalf("a failed build left %s", out)
	}
	if _, err := build(t.TempDir(), out, time.Time{}); err == nil {
		t.Fatal("an empty source built a database")
	}
}
