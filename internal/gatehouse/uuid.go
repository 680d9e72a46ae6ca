package gatehouse

import "github.com/google/uuid"

// NewUUID returns a new time-ordered UUID (version 7) as lower-case text,
// used for users, organizations and events the client sent without one.
func NewUUID() string {
	u, err := uuid.NewV7()
	if err != nil {
		panic("gatehouse: uuid: " + err.Error())
	}
	return u.String()
}
