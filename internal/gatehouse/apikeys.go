package gatehouse

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// PersonalAPIKey is a user's key for programs (PostHog's PersonalAPIKey).
// Only its hash (SecureValue) and a display mask are stored; the plaintext
// is shown once, when the key is made or rolled.
type PersonalAPIKey struct {
	ID          string
	UserID      int64
	Label       string
	MaskValue   string
	SecureValue string // "sha256$<hex>" or a legacy PBKDF2 hash
	// Scopes are "<object>:<action>" or "*"; empty means a legacy key that
	// may do everything.
	Scopes []string
	// ScopedTeams and ScopedOrganizations, when not empty, limit the key
	// to those projects and organizations.
	ScopedTeams         []int64
	ScopedOrganizations []string
	CreatedAt           time.Time
	LastUsedAt          time.Time // zero: never used
	LastRolledAt        time.Time // zero: never rolled
	// QueryUses counts requests that sent the key in the query string,
	// which leaks it into logs and histories.
	QueryUses int64
}

// MaxPersonalAPIKeys is how many personal API keys one user may hold.
const MaxPersonalAPIKeys = 10

// APIKeyInactivityExpiry is how long a key may go unused before it stops
// working (counted from last_used_at, or created_at when never used).
const APIKeyInactivityExpiry = 365 * 24 * time.Hour

// apiKeyUseInterval is how stale last_used_at may get before a use
// rewrites it; between writes the hot path only reads.
const apiKeyUseInterval = time.Hour

// maxKeyLength bounds what is hashed and looked up; longer strings are no
// key of ours.
const maxKeyLength = 300

// KeyTransport says where a request carried its key.
type KeyTransport int

// The places a personal API key is read from, in the order they are tried.
const (
	KeyInHeader KeyTransport = iota // Authorization: Bearer
	KeyInBody                       // personal_api_key in the JSON or form body
	KeyInQuery                      // personal_api_key in the query string
)

// Where names the transport as PostHog's error detail does.
func (t KeyTransport) Where() string {
	switch t {
	case KeyInBody:
		return "body"
	case KeyInQuery:
		return "query string"
	}
	return "Authorization header"
}

// ErrKeyLimit is returned by stores when the user already has
// MaxPersonalAPIKeys keys.
var ErrKeyLimit = errors.New("personal API key limit reached")

// APIKeyStore is what personal API keys need from storage.
type APIKeyStore interface {
	// CreatePersonalAPIKey inserts k unless its user already has max keys
	// (ErrKeyLimit), atomically.
	CreatePersonalAPIKey(ctx context.Context, k *PersonalAPIKey, max int) error
	PersonalAPIKeysOfUser(ctx context.Context, userID int64) ([]PersonalAPIKey, error)
	// PersonalAPIKeyByID finds one of the user's keys (ErrNotFound).
	PersonalAPIKeyByID(ctx context.Context, userID int64, id string) (*PersonalAPIKey, error)
	// PersonalAPIKeyByHash finds the key with this secure value and its
	// user in one indexed lookup (ErrNotFound).
	PersonalAPIKeyByHash(ctx context.Context, secureValue string) (*PersonalAPIKey, *User, error)
	// HasLegacyPersonalAPIKeyHashes reports whether any key still has a
	// PBKDF2 hash, so lookups of unknown keys skip PBKDF2 when none does.
	HasLegacyPersonalAPIKeyHashes(ctx context.Context) (bool, error)
	UpdatePersonalAPIKey(ctx context.Context, k *PersonalAPIKey) error
	// RollPersonalAPIKey replaces the key's secure value and mask and sets
	// last_rolled_at (ErrNotFound).
	RollPersonalAPIKey(ctx context.Context, userID int64, id, secureValue, mask string, now time.Time) error
	DeletePersonalAPIKey(ctx context.Context, userID int64, id string) (bool, error)
	// UpgradePersonalAPIKeyHash rewrites a legacy hash to newValue if the
	// row still holds oldValue.
	UpgradePersonalAPIKeyHash(ctx context.Context, id, oldValue, newValue string) error
	// TouchPersonalAPIKey sets last_used_at to now when it is older than
	// staleBefore (or unset), and counts a query-string use when viaQuery.
	TouchPersonalAPIKey(ctx context.Context, id string, now, staleBefore time.Time, viaQuery bool) error
	MembershipsOfUser(ctx context.Context, userID int64) ([]Membership, error)
	ProjectByID(ctx context.Context, id int64) (*Project, error)
}

// HashSlots runs CPU-heavy hashing with bounded concurrency;
// *password.Hasher satisfies it.
type HashSlots interface {
	Run(ctx context.Context, fn func()) error
}

// APIKeyService creates, manages and authenticates personal API keys.
type APIKeyService struct {
	Store APIKeyStore
	Now   func() time.Time
	// LegacyHashes runs the PBKDF2 of legacy key lookups, so that strings
	// presented as keys cost bounded CPU; nil: one at a time.
	LegacyHashes HashSlots
	// Generation reads the auth generation, under which legacy lookup
	// misses are remembered for requests that do not carry it; nil: only
	// requests that carry it reuse misses.
	Generation GenerationSource

	queryUses  atomic.Uint64
	legacyRuns atomic.Uint64
	// legacyMisses remembers, briefly and under one auth generation, the
	// strings whose legacy hashes matched nothing.
	legacyMisses missCache
	oneSlot      chan struct{}
	oneSlotInit  sync.Once
	// keys holds keys and their users loaded under the request's auth
	// generation (see gencache.go), by hash.
	keys genCache[string, authenticatedKey]
	// keyNets remembers the networks keys were recently used from, for
	// the audit log's "used from a new address" (audit.go).
	keyNets keyNetworks
	// expired remembers the expired keys whose refusal was recorded
	// (audit.go).
	expired expiredKeys
}

// authenticatedKey is a cached key lookup.
type authenticatedKey struct {
	key  PersonalAPIKey
	user User
}

func (s *APIKeyService) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// QueryTransportUses counts, since start, the requests authenticated by a
// key sent in the query string (for the metrics endpoint).
func (s *APIKeyService) QueryTransportUses() uint64 { return s.queryUses.Load() }

// NewAPIKey is the input for creating or updating a key. Nil fields of an
// update are left alone.
type NewAPIKey struct {
	Label               *string
	Scopes              *[]string
	ScopedTeams         *[]int64
	ScopedOrganizations *[]string
}

// CreatedAPIKey is a new or rolled key with its plaintext, which is known
// only now.
type CreatedAPIKey struct {
	Key   *PersonalAPIKey
	Value Secret
}

func errKeyLimit() *Error {
	return Invalid("invalid_input", "", "You can only have %d personal API keys. Remove an existing key before creating a new one.", MaxPersonalAPIKeys)
}

// Create makes a key for user. Scopes are required.
func (s *APIKeyService) Create(ctx context.Context, user *User, in NewAPIKey) (*CreatedAPIKey, error) {
	k := &PersonalAPIKey{ID: RandomToken(20), UserID: user.ID, CreatedAt: s.now()}
	if in.Label == nil {
		return nil, Invalid("required", "label", "This field is required.")
	}
	if in.Scopes == nil {
		return nil, Invalid("required", "scopes", "This field is required.")
	}
	if err := s.apply(ctx, user, k, in); err != nil {
		return nil, err
	}
	value := NewPersonalAPIKey()
	k.SecureValue, k.MaskValue = HashToken(value), MaskToken(value)
	ctx = WithAuditEvents(ctx, AuditEvent{Type: AuditPersonalKeyCreated, SubjectUUID: user.UUID, Target: personalKeyTarget(k),
		Changes: []AuditChange{{Field: "scopes", Old: nil, New: k.Scopes}}})
	err := s.Store.CreatePersonalAPIKey(ctx, k, MaxPersonalAPIKeys)
	if errors.Is(err, ErrKeyLimit) {
		return nil, errKeyLimit()
	}
	if err != nil {
		return nil, fmt.Errorf("creating personal API key: %w", err)
	}
	return &CreatedAPIKey{Key: k, Value: value}, nil
}

// apply validates in and copies it onto k.
func (s *APIKeyService) apply(ctx context.Context, user *User, k *PersonalAPIKey, in NewAPIKey) error {
	if in.Label != nil {
		label := strings.TrimSpace(*in.Label)
		if label == "" {
			return Invalid("blank", "label", "This field may not be blank.")
		}
		if utf8.RuneCountInString(label) > 40 {
			return Invalid("max_length", "label", "Ensure this field has no more than 40 characters.")
		}
		k.Label = label
	}
	if in.Scopes != nil {
		scopes, err := ValidateScopes(*in.Scopes)
		if err != nil {
			return err
		}
		k.Scopes = scopes
	}
	if in.ScopedOrganizations != nil || in.ScopedTeams != nil {
		ms, err := s.Store.MembershipsOfUser(ctx, user.ID)
		if err != nil {
			return err
		}
		member := map[string]bool{}
		for _, m := range ms {
			member[m.OrganizationID] = true
		}
		if in.ScopedOrganizations != nil {
			orgs := []string{}
			for _, id := range *in.ScopedOrganizations {
				if _, err := uuid.Parse(id); err != nil {
					return Invalid("invalid_input", "scoped_organizations", "Invalid organization UUID")
				}
				if !member[id] {
					return Invalid("invalid_input", "scoped_organizations", "You must be a member of all organizations that you are scoping the key to.")
				}
				orgs = append(orgs, id)
			}
			k.ScopedOrganizations = orgs
		}
		if in.ScopedTeams != nil {
			teams := []int64{}
			for _, id := range *in.ScopedTeams {
				p, err := s.Store.ProjectByID(ctx, id)
				if errors.Is(err, ErrNotFound) || (err == nil && !member[p.OrganizationID]) {
					return Invalid("invalid_input", "scoped_teams", "You must be a member of all teams that you are scoping the key to.")
				}
				if err != nil {
					return err
				}
				teams = append(teams, id)
			}
			k.ScopedTeams = teams
		}
	}
	return nil
}

// List returns the user's keys, newest first.
func (s *APIKeyService) List(ctx context.Context, user *User) ([]PersonalAPIKey, error) {
	return s.Store.PersonalAPIKeysOfUser(ctx, user.ID)
}

// Get returns one of the user's keys; NotFound for anyone else's.
func (s *APIKeyService) Get(ctx context.Context, user *User, id string) (*PersonalAPIKey, error) {
	k, err := s.Store.PersonalAPIKeyByID(ctx, user.ID, id)
	if errors.Is(err, ErrNotFound) {
		return nil, NotFound()
	}
	return k, err
}

// Update changes a key's label, scopes or scoping.
func (s *APIKeyService) Update(ctx context.Context, user *User, id string, in NewAPIKey) (*PersonalAPIKey, error) {
	k, err := s.Get(ctx, user, id)
	if err != nil {
		return nil, err
	}
	old := *k
	if err := s.apply(ctx, user, k, in); err != nil {
		return nil, err
	}
	ctx = WithAuditEvents(ctx, AuditEvent{Type: AuditPersonalKeyChanged, SubjectUUID: user.UUID, Target: personalKeyTarget(k),
		Changes: personalKeyChanges(&old, k)})
	if err := s.Store.UpdatePersonalAPIKey(ctx, k); err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, NotFound()
		}
		return nil, err
	}
	return k, nil
}

// Roll gives a key a new secret; the old one stops working at once.
func (s *APIKeyService) Roll(ctx context.Context, user *User, id string) (*CreatedAPIKey, error) {
	value := NewPersonalAPIKey()
	now := s.now()
	ctx = WithAuditEvents(ctx, AuditEvent{Type: AuditPersonalKeyRolled, SubjectUUID: user.UUID, Target: AuditTarget{Type: "personal_api_key", ID: id}})
	err := s.Store.RollPersonalAPIKey(ctx, user.ID, id, HashToken(value), MaskToken(value), now)
	if errors.Is(err, ErrNotFound) {
		return nil, NotFound()
	}
	if err != nil {
		return nil, err
	}
	k, err := s.Get(ctx, user, id)
	if err != nil {
		return nil, err
	}
	// Another roll may have landed between ours and the read: report what
	// this call made.
	k.SecureValue, k.MaskValue, k.LastRolledAt = HashToken(value), MaskToken(value), now
	return &CreatedAPIKey{Key: k, Value: value}, nil
}

// Delete removes one of the user's keys.
func (s *APIKeyService) Delete(ctx context.Context, user *User, id string) error {
	ctx = WithAuditEvents(ctx, AuditEvent{Type: AuditPersonalKeyDeleted, SubjectUUID: user.UUID, Target: AuditTarget{Type: "personal_api_key", ID: id}})
	ok, err := s.Store.DeletePersonalAPIKey(ctx, user.ID, id)
	if err != nil {
		return err
	}
	if !ok {
		return NotFound()
	}
	return nil
}

// ErrInvalidAPIKey returns the 401 for a key that matches nothing.
func ErrInvalidAPIKey(where KeyTransport) *Error {
	return &Error{Kind: KindUnauthenticated, Code: "authentication_failed",
		Detail: "Personal API key found in request " + where.Where() + " is invalid."}
}

// ErrExpiredAPIKey returns the 401 for a key unused for a year.
func ErrExpiredAPIKey() *Error {
	return &Error{Kind: KindUnauthenticated, Code: "authentication_failed",
		Detail: "Personal API key has expired because it was not used for 365 days. Create a new key."}
}

// Authenticate resolves a presented key to its active user. A string
// shaped like a checksummed key with a wrong checksum is refused without a
// lookup. A current key costs one indexed read, and a write at most once an
// hour (last_used_at), or on each query-string use (the counter).
func (s *APIKeyService) Authenticate(ctx context.Context, raw string, where KeyTransport) (*User, *PersonalAPIKey, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" || len(raw) > maxKeyLength || CheckTokenChecksum(raw) != nil {
		return nil, nil, ErrInvalidAPIKey(where)
	}
	key := Secret(raw)
	hash := HashToken(key)
	var (
		k    *PersonalAPIKey
		user *User
		err  error
	)
	if hit, ok := s.keys.get(ctx, hash); ok {
		k, user = &hit.key, &hit.user // copies of the cached values
	} else {
		k, user, err = s.Store.PersonalAPIKeyByHash(ctx, hash)
		if errors.Is(err, ErrNotFound) && !HasTokenChecksum(raw) && LooksLikeLegacyKey(raw) {
			k, user, err = s.legacyLookup(ctx, key, hash)
		}
		if errors.Is(err, ErrNotFound) {
			return nil, nil, ErrInvalidAPIKey(where)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("personal API key lookup: %w", err)
		}
		s.keys.put(ctx, hash, authenticatedKey{key: *k, user: *user})
	}
	if !user.IsActive {
		return nil, nil, ErrInvalidAPIKey(where)
	}
	now := s.now()
	since := k.LastUsedAt
	if since.IsZero() {
		since = k.CreatedAt
	}
	if now.Sub(since) > APIKeyInactivityExpiry {
		s.noteExpiredKey(ctx, k, user) // audit log
		return nil, nil, ErrExpiredAPIKey()
	}
	if where == KeyInQuery {
		s.queryUses.Add(1)
		k.QueryUses++
	}
	if where == KeyInQuery || k.LastUsedAt.IsZero() || now.Sub(k.LastUsedAt) > apiKeyUseInterval {
		if err := s.Store.TouchPersonalAPIKey(ctx, k.ID, now, now.Add(-apiKeyUseInterval), where == KeyInQuery); err != nil {
			// Best effort: the key is valid, its use just went unrecorded
			// (the next request tries again).
			bookkeepingFailed(ctx, bookkeepingAPIKeyUse, err)
		} else if k.LastUsedAt.IsZero() || now.Sub(k.LastUsedAt) > apiKeyUseInterval {
			k.LastUsedAt = now
			// Last-use bookkeeping does not move the generation: keep the
			// cached copy current so the next request does not write again.
			s.keys.put(ctx, hash, authenticatedKey{key: *k, user: *user})
		}
	}
	s.noteKeyUse(ctx, k, user) // audit log
	return user, k, nil
}

// LooksLikeLegacyKey reports whether s has the shape of a personal API
// key PostHog made before keys carried a checksum: an optional phx_
// prefix, then 32 to 49 characters of base62 (random values of 32 or 35
// bytes written in base 62 or 57). Only such strings are worth the PBKDF2
// of a legacy lookup.
func LooksLikeLegacyKey(s string) bool {
	body := strings.TrimPrefix(s, PrefixPersonalKey)
	if len(body) < 32 || len(body) > 49 {
		return false
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// LegacyHashRuns counts, since start, the PBKDF2 hashes legacy key
// lookups have computed (for metrics and tests).
func (s *APIKeyService) LegacyHashRuns() uint64 { return s.legacyRuns.Load() }

// legacyMissTTL is how long a legacy lookup miss is remembered. A key
// stored meanwhile moves the auth generation, which forgets every miss.
const legacyMissTTL = time.Minute

// legacyHash computes key's legacy hash at the given iteration count in a
// bounded hashing slot, or returns "" when known, once the slot is held,
// says the work is no longer needed.
func (s *APIKeyService) legacyHash(ctx context.Context, key Secret, iterations int, known func() bool) (string, error) {
	var out string
	fn := func() {
		if known() {
			return
		}
		s.legacyRuns.Add(1)
		out = LegacyKeyHash(key, iterations)
	}
	if s.LegacyHashes != nil {
		return out, s.LegacyHashes.Run(ctx, fn)
	}
	s.oneSlotInit.Do(func() { s.oneSlot = make(chan struct{}, 1) })
	select {
	case s.oneSlot <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-s.oneSlot }()
	fn()
	return out, nil
}

// missGeneration is the auth generation a miss is recorded under: the
// request's, else a fresh read; ok is false when neither is available.
func (s *APIKeyService) missGeneration(ctx context.Context) (int64, bool) {
	if gen, ok := authGeneration(ctx); ok {
		return gen, true
	}
	if s.Generation == nil {
		return 0, false
	}
	gen, err := s.Generation.AuthGeneration(ctx)
	return gen, err == nil
}

// legacyLookup tries the PBKDF2 forms of key, when any key still has one,
// and upgrades the match to sha256$. A miss is remembered briefly under
// the current auth generation, so a repeated string costs no PBKDF2.
func (s *APIKeyService) legacyLookup(ctx context.Context, key Secret, hash string) (*PersonalAPIKey, *User, error) {
	any, err := s.Store.HasLegacyPersonalAPIKeyHashes(ctx)
	if err != nil {
		return nil, nil, err
	}
	if !any {
		return nil, nil, ErrNotFound
	}
	// The generation is read before the lookups: a key stored after it
	// moves the generation, so the miss recorded below is never used
	// against it.
	gen, cacheable := s.missGeneration(ctx)
	if cacheable && s.legacyMisses.has(gen, hash, s.now()) {
		return nil, nil, ErrNotFound
	}
	for _, it := range LegacyKeyIterations {
		// Requests for the same string that queued for the slot find the
		// miss the first one recorded.
		legacy, err := s.legacyHash(ctx, key, it, func() bool { return cacheable && s.legacyMisses.has(gen, hash, s.now()) })
		if err != nil {
			return nil, nil, err
		}
		if legacy == "" {
			return nil, nil, ErrNotFound
		}
		k, user, err := s.Store.PersonalAPIKeyByHash(ctx, legacy)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		if err := s.Store.UpgradePersonalAPIKeyHash(ctx, k.ID, legacy, hash); err != nil {
			// Best effort: the legacy hash still matches next time.
			bookkeepingFailed(ctx, bookkeepingAPIKeyHashUpgrade, err)
			return k, user, nil
		}
		k.SecureValue = hash
		return k, user, nil
	}
	if cacheable {
		s.legacyMisses.add(gen, hash, s.now().Add(legacyMissTTL))
	}
	return nil, nil, ErrNotFound
}

// missCache remembers lookup misses, by hash, until an expiry time and
// only under one auth generation. It is bounded like the other caches.
type missCache struct {
	mu  sync.Mutex
	gen int64
	m   map[string]time.Time
}

func (c *missCache) has(gen int64, hash string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return false
	}
	until, ok := c.m[hash]
	return ok && now.Before(until)
}

func (c *missCache) add(gen int64, hash string, until time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen < c.gen {
		return
	}
	if gen != c.gen || c.m == nil || len(c.m) >= maxCacheEntries {
		c.gen, c.m = gen, make(map[string]time.Time)
	}
	c.m[hash] = until
}

func constantTimeEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

func personalKeyTarget(k *PersonalAPIKey) AuditTarget {
	return AuditTarget{Type: "personal_api_key", ID: k.ID, Label: k.Label}
}

// personalKeyChanges lists what an update changed on a key (never its
// secret, which an update cannot change).
func personalKeyChanges(old, k *PersonalAPIKey) []AuditChange {
	var out []AuditChange
	if old.Label != k.Label {
		out = append(out, AuditChange{Field: "label", Old: old.Label, New: k.Label})
	}
	if !slices.Equal(old.Scopes, k.Scopes) {
		out = append(out, AuditChange{Field: "scopes", Old: old.Scopes, New: k.Scopes})
	}
	if !slices.Equal(old.ScopedOrganizations, k.ScopedOrganizations) {
		out = append(out, AuditChange{Field: "scoped_organizations", Old: old.ScopedOrganizations, New: k.ScopedOrganizations})
	}
	if !slices.Equal(old.ScopedTeams, k.ScopedTeams) {
		out = append(out, AuditChange{Field: "scoped_teams", Old: old.ScopedTeams, New: k.ScopedTeams})
	}
	return out
}
