package gatehouse

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// EventStore is what event ingestion needs from storage.
type EventStore interface {
	ProjectByAPIToken(ctx context.Context, token string) (*Project, error)
	// InsertEvents stores events durably, skipping ones already stored
	// (same project and uuid), and returns how many were new.
	InsertEvents(ctx context.Context, events []Event) (int, error)
}

// CaptureService accepts events for a project identified by its public
// token.
type CaptureService struct {
	Store EventStore
	Now   func() time.Time
	// Generation, when set, lets Ingest answer which project a token
	// names from memory while the auth generation, which every change to
	// projects moves, stands still: one shared generation read instead of
	// a project query per request. Nil: every request queries the project.
	Generation GenerationSource

	projects genCache[string, Project]
}

// ErrUnknownProjectToken is the cause of the error Ingest returns for a
// well-formed token that belongs to no project.
var ErrUnknownProjectToken = errors.New("no project has this token")

// Ingest stores events for the project whose API token is token. Events
// without a UUID get a fresh one. When Ingest returns nil every event is
// durably stored (or was already stored from an earlier send).
func (c *CaptureService) Ingest(ctx context.Context, token string, events []Event) error {
	project, err := c.project(ctx, token)
	if errors.Is(err, ErrNotFound) {
		return &Error{Kind: KindUnauthenticated, Code: "invalid_api_key", Detail: "API key is not valid: no project has this token", Err: ErrUnknownProjectToken}
	}
	if err != nil {
		return fmt.Errorf("capture: finding project: %w", err)
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	received := now().UTC()
	for i := range events {
		events[i].ProjectID = project.ID
		events[i].ReceivedAt = received
		if events[i].UUID == "" {
			events[i].UUID = NewUUID()
		}
	}
	if _, err := c.Store.InsertEvents(ctx, events); err != nil {
		return fmt.Errorf("capture: storing events: %w", err)
	}
	return nil
}

// project finds the project whose public token is token, from the cache
// when the auth generation has not moved since it was loaded.
func (c *CaptureService) project(ctx context.Context, token string) (*Project, error) {
	if c.Generation == nil {
		return c.Store.ProjectByAPIToken(ctx, token)
	}
	if _, has := authGeneration(ctx); !has {
		ctx = WithAuthGeneration(ctx, c.Generation)
	}
	return projectByToken(ctx, &c.projects, c.Store.ProjectByAPIToken, token)
}

// projectByToken finds the project whose public token is token with find,
// or in cache while the auth generation in ctx stands still.
func projectByToken(ctx context.Context, cache *genCache[string, Project], find func(context.Context, string) (*Project, error), token string) (*Project, error) {
	if p, ok := cache.get(ctx, token); ok {
		return &p, nil
	}
	p, err := find(ctx, token)
	if err != nil {
		return nil, err
	}
	cache.put(ctx, token, *p)
	return p, nil
}
