package config

import (
	"strings"
	"testing"
	"time"
)

func TestAuditLogSettings(t *testing.T) {
	c, err := Load(env())
	if err != nil {
		t.Fatal(err)
	}
	if c.AuditLogStream != "" || c.AuditLogRetention != 365*24*time.Hour {
		t.Fatalf("defaults: %q %v", c.AuditLogStream, c.AuditLogRetention)
	}
	for _, v := range []string{"stdout", "file:/var/log/gatehouse-audit.jsonl"} {
		c, err := Load(env("AUDIT_LOG_STREAM", v, "AUDIT_LOG_RETENTION_DAYS", "30"))
		if err != nil || c.AuditLogStream != v || c.AuditLogRetention != 30*24*time.Hour {
			t.Fatalf("AUDIT_LOG_STREAM=%s: %+v, %v", v, c, err)
		}
	}
	for _, kv := range [][2]string{{"AUDIT_LOG_STREAM", "stderr"}, {"AUDIT_LOG_STREAM", "file:relative.jsonl"},
		{"AUDIT_LOG_RETENTION_DAYS", "0"}, {"AUDIT_LOG_RETENTION_DAYS", "a year"}} {
		_, err := Load(env(kv[0], kv[1]))
		if err == nil || !strings.Contains(err.Error(), kv[0]) {
			t.Fatalf("%s=%s: %v", kv[0], kv[1], err)
		}
	}
}
