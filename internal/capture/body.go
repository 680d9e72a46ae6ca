package capture

import "net/http"

// DecodeBody returns the JSON payload of a request that uses capture's
// encodings without being an event batch (PostHog's /flags and /decide):
// the body, a form's data= field or the query's data=, undone from gzip,
// lz-string or base64 as the compression hint or the bytes say. Errors are
// *Error (400 undecodable, 413 over limit).
func DecodeBody(r *http.Request, limit int64) (payload []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			payload, err = nil, decodeError("malformed request")
		}
	}()
	raw, comp, _, e := extractPayload(r, limit)
	if e != nil {
		return nil, e
	}
	data, e := decodePayload(raw, comp, EndpointEvent, limit)
	if e != nil {
		return nil, e
	}
	return data, nil
}
