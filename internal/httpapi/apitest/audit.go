package apitest

// auditResults returns the types of a page's events, newest first.
func AuditTypes(body map[string]any) []string {
	var out []string
	for _, r := range body["results"].([]any) {
		out = append(out, r.(map[string]any)["type"].(string))
	}
	return out
}

func FindAudit(body map[string]any, typ string) map[string]any {
	for _, r := range body["results"].([]any) {
		if ev := r.(map[string]any); ev["type"] == typ {
			return ev
		}
	}
	return nil
}
