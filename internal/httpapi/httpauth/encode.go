package httpauth

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// maxJSONBody bounds API request bodies.
const maxJSONBody = 1 << 20

// decodeJSON reads a JSON object body into v. An empty body decodes as {}.
// A string that is not clean text (input.go) is refused with its field.
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	body := http.MaxBytesReader(w, r.Body, maxJSONBody)
	data, err := io.ReadAll(body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return &gatehouse.Error{Kind: gatehouse.KindTooLarge, Code: "request_too_large", Detail: "Request body is too large."}
		}
		return &gatehouse.Error{Kind: gatehouse.KindMalformed, Code: "parse_error", Detail: "Could not read the request body."}
	}
	if strings.TrimSpace(string(data)) == "" {
		data = []byte("{}")
	}
	if err := json.Unmarshal(data, v); err != nil {
		return &gatehouse.Error{Kind: gatehouse.KindMalformed, Code: "parse_error", Detail: "JSON parse error - " + JsonProblem(err)}
	}
	return CheckJSONText(data)
}

// jsonProblem describes a JSON error without echoing the input.
func JsonProblem(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return "invalid JSON"
	case errors.As(err, &typ):
		return "field " + typ.Field + " has the wrong type"
	}
	return "invalid JSON"
}
