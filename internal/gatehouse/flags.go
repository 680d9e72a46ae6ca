package gatehouse

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-auth/gatehouse/internal/featureflag"
)

// FeatureFlag is a stored feature flag of a project.
type FeatureFlag struct {
	ID        int64
	ProjectID int64
	Key       string
	Name      string
	Active    bool
	Filters   featureflag.Filters
	Deleted   bool
	// CreatedByID is 0 when the creator's account is gone; stores fill
	// CreatedByUUID and CreatedByEmail when reading.
	CreatedByID    int64
	CreatedByUUID  string
	CreatedByEmail string
	// CreatedByFirstName and CreatedByLastName are the creator's names
	// when reading ("" when the account is gone).
	CreatedByFirstName string
	CreatedByLastName  string
	CreatedAt          time.Time
	UpdatedAt          time.Time
	// Version counts saves, starting at 1; an update that names the
	// version it read fails if someone saved in between.
	Version int
	// RemoteConfiguration marks a flag whose "true" payload server SDKs
	// fetch as configuration (the remote_config endpoint serves only
	// these flags).
	RemoteConfiguration bool
}

// Definition is the flag as the evaluator sees it.
func (f *FeatureFlag) Definition() *featureflag.Flag {
	return &featureflag.Flag{ID: f.ID, Key: f.Key, Name: f.Name, Active: f.Active, Version: f.Version, Filters: f.Filters}
}

// ErrVersionConflict is returned by stores when an update names a version
// that is no longer current.
var ErrVersionConflict = errors.New("version conflict")

// FlagStore is what feature flags need from storage.
type FlagStore interface {
	// CreateFeatureFlag stores f and fills its ID, times and version
	// (ErrConflict when the project has a live flag with the key).
	CreateFeatureFlag(ctx context.Context, f *FeatureFlag) error
	// FeatureFlagByID finds a project's flag that is not deleted.
	FeatureFlagByID(ctx context.Context, projectID, id int64) (*FeatureFlag, error)
	// FeatureFlags lists a project's flags that are not deleted, oldest
	// first.
	FeatureFlags(ctx context.Context, projectID int64) ([]FeatureFlag, error)
	// UpdateFeatureFlag saves f's key, name, active and filters if its
	// version is still f.Version, and bumps the version
	// (ErrVersionConflict, ErrConflict on a duplicate key, ErrNotFound).
	UpdateFeatureFlag(ctx context.Context, f *FeatureFlag) error
	// DeleteFeatureFlag soft-deletes a flag and reports whether it existed.
	DeleteFeatureFlag(ctx context.Context, projectID, id int64, now time.Time) (bool, error)
	// ProjectBySecretTokenHash finds the project whose primary or backup
	// secret token has the hash (ErrNotFound otherwise).
	ProjectBySecretTokenHash(ctx context.Context, hash string) (*Project, error)
	// ProjectSecretAPIKeyByHash finds a project secret API key (docs/posthog-compat.md#project-secret-api-keys) by
	// the hash of its value.
	ProjectSecretAPIKeyByHash(ctx context.Context, hash string) (*ProjectSecretAPIKey, error)
	// TouchProjectSecretAPIKey records a use of the key.
	TouchProjectSecretAPIKey(ctx context.Context, id string, now time.Time) error
	ProjectByID(ctx context.Context, id int64) (*Project, error)
	ProjectByAPIToken(ctx context.Context, token string) (*Project, error)
	MembershipsOfUser(ctx context.Context, userID int64) ([]Membership, error)
}

// FlagService manages feature flags and evaluates them.
type FlagService struct {
	Store FlagStore
	Now   func() time.Time
	// Generation, when set, lets Evaluate answer from memory while the
	// auth generation, which every change to projects and flags moves,
	// stands still: /flags is called for every page a person views, and
	// each call would otherwise read the project and all its flags.
	Generation GenerationSource

	// bySecret, byToken and definitions cache ProjectBySecret's
	// team-secret lookups, Evaluate's project lookups and Definitions
	// under the request's auth generation (gencache.go).
	bySecret    genCache[string, Project]
	byToken     genCache[string, Project]
	definitions genCache[int64, []FeatureFlag]
}

func (s *FlagService) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// FlagInput is a create or a partial update: nil fields are left alone.
type FlagInput struct {
	Key     *string
	Name    *string
	Active  *bool
	Filters *featureflag.Filters
	// Deleted true soft-deletes, as PostHog's PATCH {"deleted": true} does.
	Deleted *bool
	// Version, when set, must be the flag's current version.
	Version *int
	// RemoteConfiguration sets is_remote_configuration.
	RemoteConfiguration *bool
}

// maxFlagNameLength bounds a flag's name (PostHog's is unbounded text; a
// limit keeps rows small).
const maxFlagNameLength = 4000

// ProjectForMember returns the project if user belongs to its organization,
// and NotFound otherwise, so that outsiders cannot tell which projects exist.
func (s *FlagService) ProjectForMember(ctx context.Context, user *User, projectID int64) (*Project, error) {
	p, err := s.Store.ProjectByID(ctx, projectID)
	if errors.Is(err, ErrNotFound) {
		return nil, NotFound()
	}
	if err != nil {
		return nil, err
	}
	level, err := membershipLevel(ctx, s.Store, user.ID, p.OrganizationID)
	if err != nil {
		return nil, err
	}
	if level == 0 {
		return nil, NotFound()
	}
	return p, nil
}

// List returns a project's flags.
func (s *FlagService) List(ctx context.Context, projectID int64) ([]FeatureFlag, error) {
	return s.Store.FeatureFlags(ctx, projectID)
}

// Get returns one of a project's flags.
func (s *FlagService) Get(ctx context.Context, projectID, id int64) (*FeatureFlag, error) {
	f, err := s.Store.FeatureFlagByID(ctx, projectID, id)
	if errors.Is(err, ErrNotFound) {
		return nil, NotFound()
	}
	return f, err
}

// Create validates and stores a new flag.
func (s *FlagService) Create(ctx context.Context, user *User, projectID int64, in FlagInput) (*FeatureFlag, error) {
	if in.Key == nil {
		return nil, Invalid("required", "key", "This field is required.")
	}
	// A new flag needs a condition set; an edit may leave none (PostHog
	// allows that for scheduled changes).
	if in.Filters != nil && len(in.Filters.Groups) == 0 {
		return nil, Invalid("invalid_input", "filters", "Feature flags must have at least one condition set (group).")
	}
	f := &FeatureFlag{ProjectID: projectID, Active: true, CreatedByID: user.ID, CreatedByUUID: user.UUID, CreatedByEmail: user.Email,
		CreatedByFirstName: user.FirstName, CreatedByLastName: user.LastName}
	if err := applyFlagInput(f, in); err != nil {
		return nil, err
	}
	if err := s.Store.CreateFeatureFlag(ctx, f); err != nil {
		return nil, flagStoreError(err)
	}
	return f, nil
}

// Update applies a partial change to a flag. Deleted true soft-deletes.
func (s *FlagService) Update(ctx context.Context, projectID, id int64, in FlagInput) (*FeatureFlag, error) {
	f, err := s.Get(ctx, projectID, id)
	if err != nil {
		return nil, err
	}
	if in.Version != nil && *in.Version != f.Version {
		return nil, errFlagEdited()
	}
	if in.Deleted != nil && *in.Deleted {
		if _, err := s.Store.DeleteFeatureFlag(ctx, projectID, id, s.now()); err != nil {
			return nil, err
		}
		f.Deleted = true
		return f, nil
	}
	if err := applyFlagInput(f, in); err != nil {
		return nil, err
	}
	if err := s.Store.UpdateFeatureFlag(ctx, f); err != nil {
		return nil, flagStoreError(err)
	}
	return f, nil
}

// RemoteConfigPayload returns the "true" payload (JSON text, "" when
// there is none) of the project's live flag named by ref, a numeric ID or
// a key, if that flag is marked as remote configuration; NotFound
// otherwise.
func (s *FlagService) RemoteConfigPayload(ctx context.Context, projectID int64, ref string) (string, error) {
	list, err := s.Store.FeatureFlags(ctx, projectID)
	if err != nil {
		return "", err
	}
	id, _ := strconv.ParseInt(ref, 10, 64)
	for i := range list {
		f := &list[i]
		if (id > 0 && f.ID == id) || (id <= 0 && f.Key == ref) {
			if !f.RemoteConfiguration {
				break
			}
			return f.Filters.Payloads["true"], nil
		}
	}
	return "", NotFound()
}

// Delete soft-deletes a flag.
func (s *FlagService) Delete(ctx context.Context, projectID, id int64) error {
	ok, err := s.Store.DeleteFeatureFlag(ctx, projectID, id, s.now())
	if err != nil {
		return err
	}
	if !ok {
		return NotFound()
	}
	return nil
}

func errFlagEdited() *Error {
	return &Error{Kind: KindConflict, Code: "conflict", Attr: "version",
		Detail: "The feature flag was updated by someone else since you loaded it. Reload it and try again."}
}

func flagStoreError(err error) error {
	switch {
	case errors.Is(err, ErrConflict):
		return Invalid("unique", "key", "There is already a feature flag with this key.")
	case errors.Is(err, ErrVersionConflict):
		return errFlagEdited()
	case errors.Is(err, ErrNotFound):
		return NotFound()
	}
	return err
}

func applyFlagInput(f *FeatureFlag, in FlagInput) error {
	if in.Key != nil {
		if err := featureflag.ValidateKey(*in.Key); err != nil {
			return asInvalid(err)
		}
		f.Key = *in.Key
	}
	if in.Name != nil {
		if utf8.RuneCountInString(*in.Name) > maxFlagNameLength {
			return Invalid("max_length", "name", "Ensure this field has no more than %d characters.", maxFlagNameLength)
		}
		f.Name = *in.Name
	}
	if in.Active != nil {
		f.Active = *in.Active
	}
	if in.RemoteConfiguration != nil {
		f.RemoteConfiguration = *in.RemoteConfiguration
	}
	if in.Filters != nil {
		filters := *in.Filters
		if err := featureflag.ValidateFilters(&filters); err != nil {
			return asInvalid(err)
		}
		f.Filters = filters
	}
	return nil
}

func asInvalid(err error) error {
	var ve *featureflag.ValidationError
	if errors.As(err, &ve) {
		return &Error{Kind: KindInvalid, Code: ve.Code, Attr: ve.Attr, Detail: ve.Detail}
	}
	return err
}

// errInvalidProjectToken is the 401 for /flags without a known project
// token.
func errInvalidProjectToken() *Error {
	return &Error{Kind: KindUnauthenticated, Code: "invalid_api_key",
		Detail: "Project API key invalid. You can find your project API key in your PostHog project settings."}
}

// projectSecretPattern is the shape PostHog accepts for a project secret
// in the Authorization header.
var projectSecretPattern = regexp.MustCompile(`^phs_[a-zA-Z0-9]+$`)

// LooksLikeProjectSecret reports whether a bearer token is a project secret
// (phs_…) rather than another kind of key.
func LooksLikeProjectSecret(token string) bool { return projectSecretPattern.MatchString(token) }

// ProjectBySecret resolves a project secret (the primary or the backup)
// to its project. The lookup is by hash; the hash found is compared again
// in constant time.
func (s *FlagService) ProjectBySecret(ctx context.Context, secret Secret) (*Project, error) {
	invalid := &Error{Kind: KindUnauthenticated, Code: "authentication_failed",
		Detail: "Project secret API key found in request Authorization header is invalid."}
	if !LooksLikeProjectSecret(secret.Reveal()) {
		return nil, invalid
	}
	hash := HashToken(secret)
	if hit, ok := s.bySecret.get(ctx, hash); ok {
		return &hit, nil
	}
	p, err := s.Store.ProjectBySecretTokenHash(ctx, hash)
	if errors.Is(err, ErrNotFound) {
		return s.projectBySecretAPIKey(ctx, hash, invalid)
	}
	if err != nil {
		return nil, err
	}
	primary := subtle.ConstantTimeCompare([]byte(hash), []byte(p.SecretTokenHash))
	backup := subtle.ConstantTimeCompare([]byte(hash), []byte(p.SecretTokenBackupHash))
	if primary|backup != 1 {
		return nil, invalid
	}
	s.bySecret.put(ctx, hash, *p)
	return p, nil
}

// projectBySecretAPIKey resolves a project secret API key (docs/posthog-compat.md#project-secret-api-keys) that
// carries feature_flag:read, recording its use at most hourly.
func (s *FlagService) projectBySecretAPIKey(ctx context.Context, hash string, invalid *Error) (*Project, error) {
	k, err := s.Store.ProjectSecretAPIKeyByHash(ctx, hash)
	if errors.Is(err, ErrNotFound) {
		return nil, invalid
	}
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare([]byte(hash), []byte(k.SecureValue)) != 1 {
		return nil, invalid
	}
	if !slices.Contains(k.Scopes, "feature_flag:read") && !slices.Contains(k.Scopes, "feature_flag:write") {
		return nil, &Error{Kind: KindPermissionDenied, Code: "permission_denied",
			Detail: "API key missing required scope 'feature_flag:read'"}
	}
	if now := s.now(); now.Sub(k.LastUsedAt) >= time.Hour {
		if err := s.Store.TouchProjectSecretAPIKey(ctx, k.ID, now); err != nil {
			bookkeepingFailed(ctx, bookkeepingProjectKeyUse, err)
		}
	}
	return s.Store.ProjectByID(ctx, k.ProjectID)
}

// ProjectByToken finds the project whose public token is token; an
// unknown token is NotFound.
func (s *FlagService) ProjectByToken(ctx context.Context, token string) (*Project, error) {
	p, err := s.Store.ProjectByAPIToken(ctx, token)
	if errors.Is(err, ErrNotFound) {
		return nil, NotFound()
	}
	return p, err
}

// Definitions returns the project's flags for local evaluation: every flag
// that is not deleted, active or not (SDKs evaluate inactive ones to false).
func (s *FlagService) Definitions(ctx context.Context, projectID int64) ([]FeatureFlag, error) {
	if hit, ok := s.definitions.get(ctx, projectID); ok {
		return hit, nil
	}
	list, err := s.Store.FeatureFlags(ctx, projectID)
	if err == nil {
		s.definitions.put(ctx, projectID, list)
	}
	return list, err
}

// FlagsRequest is a /flags (or /decide) evaluation request.
type FlagsRequest struct {
	Token      string
	DistinctID string
	// PersonProperties are the properties the client sent, decoded with
	// UseNumber.
	PersonProperties map[string]any
	// FlagKeys, when not empty, limits the answer to these flags.
	FlagKeys []string
}

// Evaluation is one flag's result for a request.
type Evaluation struct {
	Flag   *FeatureFlag
	Result featureflag.Result
}

// Evaluate answers /flags: the active flags of the project whose public
// token is in the request, evaluated for the distinct id. Gatehouse stores
// no persons, so the properties are those the request carries (with
// distinct_id added, as the SDKs add it for local evaluation).
func (s *FlagService) Evaluate(ctx context.Context, req FlagsRequest) ([]Evaluation, error) {
	token := strings.TrimSpace(req.Token)
	if token == "" {
		return nil, errInvalidProjectToken()
	}
	if _, has := authGeneration(ctx); !has && s.Generation != nil {
		ctx = WithAuthGeneration(ctx, s.Generation)
	}
	p, err := projectByToken(ctx, &s.byToken, s.Store.ProjectByAPIToken, token)
	if errors.Is(err, ErrNotFound) {
		return nil, errInvalidProjectToken()
	}
	if err != nil {
		return nil, fmt.Errorf("flags: finding project: %w", err)
	}
	if req.DistinctID == "" {
		return nil, Invalid("missing_distinct_id", "distinct_id", "Decide requires a distinct_id.")
	}
	all, err := s.Definitions(ctx, p.ID)
	if err != nil {
		return nil, fmt.Errorf("flags: loading flags: %w", err)
	}
	props := req.PersonProperties
	if _, ok := props["distinct_id"]; !ok {
		props = make(map[string]any, len(req.PersonProperties)+1)
		for k, v := range req.PersonProperties {
			props[k] = v
		}
		props["distinct_id"] = req.DistinctID
	}
	out := make([]Evaluation, 0, len(all))
	for i := range all {
		if !all[i].Active || (len(req.FlagKeys) > 0 && !slices.Contains(req.FlagKeys, all[i].Key)) {
			continue
		}
		f := all[i] // the list may be the cache's: hand out a copy
		out = append(out, Evaluation{Flag: &f, Result: featureflag.Evaluate(f.Definition(), req.DistinctID, props)})
	}
	return out, nil
}
