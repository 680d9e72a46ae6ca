package apitest

import "encoding/json"

func TokenBody(code string) string {
	raw, _ := json.Marshal(map[string]string{"token": code})
	return string(raw)
}
