package apitest

import "encoding/json"

// list GETs a JSON array.
func (b *Browser) List(path string) (int, []map[string]any) {
	b.T.Helper()
	resp, body := b.Page("GET", path, nil)
	var out []map[string]any
	if json.Unmarshal([]byte(body), &out) != nil {
		// A paginated collection: its results.
		var page struct {
			Results []map[string]any `json:"results"`
		}
		json.Unmarshal([]byte(body), &page)
		out = page.Results
	}
	return resp.StatusCode, out
}
