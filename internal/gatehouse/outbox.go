package gatehouse

import "time"

// The states of an OutboxMessage.
const (
	// OutboxPending is a message waiting to be sent, or to be retried.
	OutboxPending = "pending"
	// OutboxSent is a message the mail server accepted.
	OutboxSent = "sent"
	// OutboxFailed is a message given up on after too many attempts.
	OutboxFailed = "failed"
)

// OutboxMessage is one email in the outbox: waiting to be sent, sent, or
// given up on. Its Text and HTML may carry secrets (password reset links),
// so they are never logged.
type OutboxMessage struct {
	ID      int64
	To      string
	Subject string
	Text    string
	HTML    string // optional; when set the email is multipart/alternative
	// Status is OutboxPending, OutboxSent or OutboxFailed.
	Status        string
	Attempts      int
	NextAttemptAt time.Time
	CreatedAt     time.Time
	SentAt        *time.Time // set once sent
	LastError     string     // why the last attempt failed
}
