package apitest

import "encoding/json"

func SignupBody(email, pw string) string {
	b, _ := json.Marshal(map[string]string{"first_name": "Grace", "last_name": "Hopper", "email": email, "password": pw})
	return string(b)
}

const GoodPassword = "compiler cobol navy 1906"
