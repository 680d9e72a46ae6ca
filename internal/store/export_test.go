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

// GenerationLease is how long a write waits at most for an instance that
// does not acknowledge a new auth generation.
const GenerationLease = genLease

// AuthTables are the tables whose changes move the auth generation, as
// the store knows them.
var AuthTables = authTables

// MayMoveAuthGeneration reports whether a statement outside a transaction
// makes its writer wait for acknowledgements.
var MayMoveAuthGeneration = mayMoveAuthGeneration

// GenerationListenerPID is the server process of the connection that
// listens for auth generation changes, or 0 when there is none.
func GenerationListenerPID(s *Store) uint32 {
	if s.listen == nil {
		return 0
	}
	return s.listen.pid.Load()
}

// GenerationFromMemory reports whether s answers the auth generation from
// memory now (and starts its listener if it has not).
func GenerationFromMemory(s *Store) bool {
	_, ok := s.KnownAuthGeneration()
	return ok
}

// PauseGenerationListener stops s's listener at its next step, until
// resume is called; paused reports whether it has stopped there.
func PauseGenerationListener(s *Store) (paused func() bool, resume func()) {
	s.listen.hold.Lock()
	return s.listen.paused.Load, s.listen.hold.Unlock
}

// EventCopyConflicts counts groups of events whose COPY met a stored uuid
// and that were written again skipping duplicates.
func EventCopyConflicts(s *Store) int64 { return s.eventCopyConflicts.Load() }
