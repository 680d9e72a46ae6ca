package apitest

import (
	"fmt"
	"testing"
)

// memberUUIDs lists the organization's members as b sees them, by email.
func MemberUUIDs(t *testing.T, b *Browser) map[string]string {
	t.Helper()
	resp, body := b.Send("GET", "/api/organizations/@current/members/", "", false)
	if resp.StatusCode != 200 {
		t.Fatalf("members: %d %v", resp.StatusCode, body)
	}
	out := map[string]string{}
	for _, item := range body["results"].([]any) {
		u := item.(map[string]any)["user"].(map[string]any)
		out[u["email"].(string)] = u["uuid"].(string)
	}
	return out
}

func SetLevel(b *Browser, uuid string, level int) (int, map[string]any) {
	resp, body := b.Send("PATCH", "/api/organizations/@current/members/"+uuid+"/", fmt.Sprintf(`{"level":%d}`, level), true)
	return resp.StatusCode, body
}
