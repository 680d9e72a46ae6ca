package metrics

import "net/http"

// StatusRecorder remembers the status code and size of a response, for
// the request metrics and the request log.
type StatusRecorder struct {
	http.ResponseWriter
	// Status is the first status code written; 0 until the handler
	// writes a header or a body.
	Status int
	// Bytes counts the body bytes written.
	Bytes int
}

// WriteHeader records the first status code and passes it on.
func (s *StatusRecorder) WriteHeader(code int) {
	if s.Status == 0 {
		s.Status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

// Write records an implicit 200 and the bytes written.
func (s *StatusRecorder) Write(b []byte) (int, error) {
	if s.Status == 0 {
		s.Status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.Bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *StatusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
