package store

// GenerationConnPID is the server process of the connection that reads the
// auth generation on PostgreSQL, or 0 when there is none open.
func GenerationConnPID(s *Store) uint32 {
	if s.pgGen == nil {
		return 0
	}
	s.pgGen.mu.Lock()
	defer s.pgGen.mu.Unlock()
	if s.pgGen.conn == nil {
		return 0
	}
	return s.pgGen.conn.PID()
}
