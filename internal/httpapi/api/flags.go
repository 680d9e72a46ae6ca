package api

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"

	"github.com/gatehouse-auth/gatehouse/internal/capture"
	"github.com/gatehouse-auth/gatehouse/internal/featureflag"
	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// LocalEvalRoute is what the local-evaluation routes declare about keys:
// feature_flag scopes, and a project chosen by the path, else ?token=,
// else the user's current project.
var LocalEvalRoute = httpauth.KeyRoute{Object: "feature_flag", ProjectByToken: true}

// projectOfPath is the {project} of the path: a numeric ID or @current.
// It returns 0 when the segment is neither.
func projectOfPath(r *http.Request, u *gatehouse.User) int64 {
	ref := r.PathValue("project")
	if ref == "@current" {
		return u.CurrentProjectID
	}
	id, err := strconv.ParseInt(ref, 10, 64)
	if err != nil || id <= 0 {
		return 0
	}
	return id
}

// Flags serves the feature-flag API (/api/projects/{project}/feature_flags,
// to a session or a personal key with feature_flag scopes), the flag
// definitions server SDKs evaluate locally, and the public /flags and
// /decide.
type Flags struct {
	Auth  *httpauth.Auth
	Flags *gatehouse.FlagService
	// AuthGeneration lets requests authenticated by a project secret be
	// served from the services' caches (gatehouse/gencache.go).
	AuthGeneration gatehouse.GenerationSource

	// definitions are the encoded local-evaluation answers, per project.
	definitions gatehouse.GenerationCache[int64, localEvalDoc]
}

// memberProject resolves the path's project for a signed-in member: a
// path naming no project is not found.
func (h *Flags) memberProject(r *http.Request, c *httpauth.Caller) (int64, error) {
	id := projectOfPath(r, c.User)
	if id == 0 {
		return 0, gatehouse.NotFound()
	}
	p, err := h.Flags.ProjectForMember(r.Context(), c.User, id)
	if err != nil {
		return 0, err
	}
	return p.ID, nil
}

func flagIDOfPath(r *http.Request) int64 {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0
	}
	return id
}

// flagJSON is a flag as PostHog's feature-flag serializer writes it.
func flagJSON(f *gatehouse.FeatureFlag) map[string]any {
	var createdBy any
	if f.CreatedByUUID != "" {
		createdBy = map[string]any{"id": f.CreatedByID, "uuid": f.CreatedByUUID, "distinct_id": f.CreatedByUUID, "email": f.CreatedByEmail,
			"first_name": f.CreatedByFirstName, "last_name": f.CreatedByLastName, "is_email_verified": nil, "hedgehog_config": nil, "role_at_organization": nil}
	}
	var rollout any
	simple := len(f.Filters.Groups) == 1 && len(f.Filters.Groups[0].Properties) == 0 && f.Filters.Multivariate == nil
	if simple && f.Filters.Groups[0].RolloutPercentage != nil {
		rollout = *f.Filters.Groups[0].RolloutPercentage
	}
	out := map[string]any{
		"id": f.ID, "team_id": f.ProjectID, "name": f.Name, "key": f.Key, "filters": f.Filters,
		"deleted": f.Deleted, "active": f.Active, "created_by": createdBy,
		"created_at": f.CreatedAt.Format(time.RFC3339Nano), "updated_at": f.UpdatedAt.Format(time.RFC3339Nano),
		"version": f.Version, "ensure_experience_continuity": false, "is_simple_flag": simple,
		"rollout_percentage": rollout, "has_encrypted_payloads": false, "evaluation_runtime": "all", "tags": []string{},
		"is_remote_configuration": f.RemoteConfiguration,
	}
	addFlagParity(out, f)
	return out
}

// flagInputJSON is the body of a create or PATCH.
type flagInputJSON struct {
	Key     *string          `json:"key"`
	Name    *string          `json:"name"`
	Active  *bool            `json:"active"`
	Filters *json.RawMessage `json:"filters"`
	Deleted *bool            `json:"deleted"`
	Version *int             `json:"version"`

	RemoteConfiguration *bool `json:"is_remote_configuration"`
}

func (in flagInputJSON) toInput() (gatehouse.FlagInput, error) {
	out := gatehouse.FlagInput{Key: in.Key, Name: in.Name, Active: in.Active, Deleted: in.Deleted, Version: in.Version, RemoteConfiguration: in.RemoteConfiguration}
	if in.Filters != nil && string(*in.Filters) != "null" {
		var f featureflag.Filters
		d := json.NewDecoder(bytes.NewReader(*in.Filters))
		if err := d.Decode(&f); err != nil {
			return out, gatehouse.Invalid("invalid_input", "filters", "Filters are not valid: %s", httpauth.JsonProblem(err))
		}
		out.Filters = &f
	}
	return out, nil
}

// List answers GET /api/projects/{project}/feature_flags: the project's
// flags, newest first, filtered (flagListFilter), one page of them.
func (h *Flags) List(w http.ResponseWriter, r *http.Request, c *httpauth.Caller) error {
	pid, err := h.memberProject(r, c)
	if err != nil {
		return err
	}
	list, err := h.Flags.List(r.Context(), pid)
	if err != nil {
		return err
	}
	keep := flagListFilter(r)
	results := make([]map[string]any, 0, len(list))
	// Newest first, as PostHog orders by -created_at.
	for i := len(list) - 1; i >= 0; i-- {
		if keep(&list[i]) {
			results = append(results, flagJSON(&list[i]))
		}
	}
	paginated(w, r, *h.Auth, results)
	return nil
}

// Create answers POST /api/projects/{project}/feature_flags.
func (h *Flags) Create(w http.ResponseWriter, r *http.Request, c *httpauth.Caller) error {
	pid, err := h.memberProject(r, c)
	if err != nil {
		return err
	}
	var body flagInputJSON
	if err := httpauth.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	in, err := body.toInput()
	if err != nil {
		return err
	}
	f, err := h.Flags.Create(r.Context(), c.User, pid, in)
	if err != nil {
		return err
	}
	httpauth.WriteJSON(w, http.StatusCreated, flagJSON(f))
	return nil
}

// Get answers GET /api/projects/{project}/feature_flags/{id}.
func (h *Flags) Get(w http.ResponseWriter, r *http.Request, c *httpauth.Caller) error {
	pid, err := h.memberProject(r, c)
	if err != nil {
		return err
	}
	f, err := h.Flags.Get(r.Context(), pid, flagIDOfPath(r))
	if err != nil {
		return err
	}
	httpauth.WriteJSON(w, http.StatusOK, flagJSON(f))
	return nil
}

// Update answers PATCH /api/projects/{project}/feature_flags/{id};
// {"deleted": true} soft-deletes the flag.
func (h *Flags) Update(w http.ResponseWriter, r *http.Request, c *httpauth.Caller) error {
	pid, err := h.memberProject(r, c)
	if err != nil {
		return err
	}
	var body flagInputJSON
	if err := httpauth.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	in, err := body.toInput()
	if err != nil {
		return err
	}
	f, err := h.Flags.Update(r.Context(), pid, flagIDOfPath(r), in)
	if err != nil {
		return err
	}
	httpauth.WriteJSON(w, http.StatusOK, flagJSON(f))
	return nil
}

// Delete answers DELETE /api/projects/{project}/feature_flags/{id} as
// PostHog does, which never hard-deletes a flag: an empty 405 (PATCH
// {"deleted": true} soft-deletes).
func (h *Flags) Delete(w http.ResponseWriter, r *http.Request, c *httpauth.Caller) error {
	if _, err := h.memberProject(r, c); err != nil {
		return err
	}
	w.Header().Set("Allow", "GET, PUT, PATCH, HEAD, OPTIONS")
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusMethodNotAllowed)
	return nil
}

func errWrongProject() error {
	return &gatehouse.Error{Kind: gatehouse.KindPermissionDenied, Code: "permission_denied",
		Detail: "This key does not belong to the requested project."}
}

// localEvalAuth decides which project's flag definitions a local-evaluation
// request may read (docs/posthog-compat.md#local-evaluation). It accepts, in this order:
//
//  1. a project secret (phs_…, the primary or the backup) as
//     "Authorization: Bearer phs_…": the project is the secret's; a
//     {project} in the path or a ?token=phc_… must name that same project;
//  2. a personal API key with feature_flag:read (see below);
//  3. a signed-in session of a member of the project's organization.
//
// For 2 and 3 the project is the path's {project}, else the one whose
// public token is ?token=, else the user's current project, and the user
// must be a member of its organization.
//
// auth is needed for the personal-key rules (httpauth.RequestTarget).
func localEvalAuth(r *http.Request, auth *httpauth.Auth, flags *gatehouse.FlagService) (projectID int64, err error) {
	ctx := r.Context()
	if tok, ok := httpauth.BearerToken(r); ok && strings.HasPrefix(tok, gatehouse.PrefixProjectSecret) {
		p, err := flags.ProjectBySecret(ctx, gatehouse.Secret(tok))
		if err != nil {
			return 0, err
		}
		if ref := r.PathValue("project"); ref != "" && ref != "@current" && ref != strconv.FormatInt(p.ID, 10) {
			return 0, errWrongProject()
		}
		if t := r.URL.Query().Get("token"); t != "" && subtle.ConstantTimeCompare([]byte(t), []byte(p.APIToken)) != 1 {
			return 0, errWrongProject()
		}
		return p.ID, nil
	}
	a := httpauth.CallerFrom(ctx)
	if a == nil {
		return 0, httpauth.ErrNotAuthenticated()
	}
	// A personal API key was authenticated by withSession
	// (serveWithAPIKey), which resolved the same target with
	// requestTarget and applied every key rule to it: scopes, scoped
	// projects and organizations, the organization's switch for member
	// keys, and membership.
	t, _, err := httpauth.RequestTarget(r, *auth, a.User, LocalEvalRoute)
	if err != nil {
		return 0, err
	}
	if t.Organization == nil || t.ProjectID == 0 {
		return 0, gatehouse.NotFound()
	}
	return t.ProjectID, nil
}

// definitionJSON is a flag as local evaluation serves it (PostHog's
// minimal feature-flag serializer).
func definitionJSON(f *gatehouse.FeatureFlag) map[string]any {
	return map[string]any{
		"id": f.ID, "team_id": f.ProjectID, "name": f.Name, "key": f.Key, "filters": f.Filters,
		"deleted": false, "active": f.Active, "ensure_experience_continuity": false,
		"has_encrypted_payloads": false, "version": f.Version, "evaluation_runtime": "all", "evaluation_tags": []string{},
	}
}

// localEvalDoc is an encoded local-evaluation answer and its ETag.
type localEvalDoc struct {
	body []byte
	etag string
}

// Definitions answers GET …/feature_flags/local_evaluation: the flag
// definitions server SDKs evaluate locally, with an ETag so that an
// unchanged set costs a 304 (mount it with httpauth.Bearer). Requests
// authenticated by a key reuse the document encoded under the same auth
// generation (flags are part of it), so the hot path encodes nothing.
func (h *Flags) Definitions(w http.ResponseWriter, r *http.Request) error {
	if tok, ok := httpauth.BearerToken(r); ok && strings.HasPrefix(tok, gatehouse.PrefixProjectSecret) && httpauth.CallerFrom(r.Context()) == nil {
		r = r.WithContext(gatehouse.WithAuthGeneration(r.Context(), h.AuthGeneration))
	}
	projectID, err := localEvalAuth(r, h.Auth, h.Flags)
	if err != nil {
		return err
	}
	doc, ok := h.definitions.Get(r.Context(), projectID)
	if !ok {
		defs, err := h.Flags.Definitions(r.Context(), projectID)
		if err != nil {
			if gatehouse.IsUnavailable(err) {
				return err
			}
			httpauth.Logger(r.Context()).Error("local evaluation failed", "error", err.Error())
			httpauth.WriteJSON(w, http.StatusInternalServerError, map[string]string{"type": "server_error", "code": "unexpected_error", "detail": "An unexpected error occurred"})
			return nil
		}
		doc = encodeLocalEval(defs)
		h.definitions.Put(r.Context(), projectID, doc)
	}
	hdr := w.Header()
	hdr.Set("ETag", doc.etag)
	hdr.Set("Cache-Control", "private, no-cache")
	hdr.Add("Vary", "Authorization")
	if etagMatches(r.Header.Get("If-None-Match"), doc.etag) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	hdr.Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(doc.body)
	return nil
}

// encodeLocalEval encodes the local-evaluation answer for defs and its
// ETag, a digest of the bytes.
func encodeLocalEval(defs []gatehouse.FeatureFlag) localEvalDoc {
	list := make([]map[string]any, len(defs))
	for i := range defs {
		list[i] = definitionJSON(&defs[i])
	}
	body := httpauth.EncodeJSON(map[string]any{"flags": list, "group_type_mapping": map[string]string{}, "cohorts": map[string]any{}})
	sum := sha256.Sum256(body)
	return localEvalDoc{body: body, etag: `"` + hex.EncodeToString(sum[:16]) + `"`}
}

// etagMatches implements If-None-Match: "*", or any listed tag equal to
// etag (weak comparison, so W/"x" matches "x").
func etagMatches(header, etag string) bool {
	if header == "" {
		return false
	}
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

// maxFlagsBody bounds /flags and /decide bodies (as capture's /e).
const maxFlagsBody = 2 << 20

// parseFlagsRequest reads the token, distinct id, person properties and
// flag keys of a /flags or /decide request from its body (JSON, base64,
// gzip, lz-string, form data=) or, for a GET without data=, the query.
func parseFlagsRequest(r *http.Request) (gatehouse.FlagsRequest, error) {
	var req gatehouse.FlagsRequest
	var fields map[string]any
	if r.Method == http.MethodGet && r.URL.Query().Get("data") == "" {
		q := r.URL.Query()
		fields = map[string]any{"token": q.Get("token"), "distinct_id": q.Get("distinct_id")}
	} else {
		body, err := capture.DecodeBody(r, maxFlagsBody)
		if err != nil {
			var ce *capture.Error
			if errors.As(err, &ce) && ce.Status == http.StatusRequestEntityTooLarge {
				return req, &gatehouse.Error{Kind: gatehouse.KindTooLarge, Code: "request_too_large", Detail: "Request body is too large."}
			}
			return req, &gatehouse.Error{Kind: gatehouse.KindMalformed, Code: "parse_error", Detail: "Malformed request data: " + err.Error()}
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(&fields); err != nil || fields == nil {
			return req, &gatehouse.Error{Kind: gatehouse.KindMalformed, Code: "parse_error", Detail: "Malformed request data: the payload must be a JSON object."}
		}
	}
	for _, name := range []string{"token", "$token", "api_key"} {
		if s, ok := fields[name].(string); ok && s != "" {
			req.Token = s
			break
		}
	}
	switch id := fields["distinct_id"].(type) {
	case string:
		req.DistinctID = id
	case json.Number:
		req.DistinctID = id.String()
	}
	if props, ok := fields["person_properties"].(map[string]any); ok {
		req.PersonProperties = props
	}
	if keys, ok := fields["flag_keys"].([]any); ok {
		for _, k := range keys {
			if s, ok := k.(string); ok {
				req.FlagKeys = append(req.FlagKeys, s)
			}
		}
	}
	return req, nil
}

// Evaluate answers POST /flags (and GET), a public endpoint that
// evaluates a project's active flags for one person: the v2 detail shape
// for ?v=2 and above, the legacy maps otherwise.
func (h *Flags) Evaluate(w http.ResponseWriter, r *http.Request) error {
	return h.evaluate(w, r, false)
}

// Decide answers POST /decide (and GET), /flags's older form: v1 (a list
// of enabled keys), v2 (enabled flags), v3 (all flags and payloads) and
// v4+ (the detail shape).
func (h *Flags) Decide(w http.ResponseWriter, r *http.Request) error {
	return h.evaluate(w, r, true)
}

// evaluate serves /flags, or /decide when decide is set.
func (h *Flags) evaluate(w http.ResponseWriter, r *http.Request, decide bool) error {
	captureCORS(w, r)
	switch r.Method {
	case http.MethodOptions:
		w.WriteHeader(http.StatusOK)
		return nil
	case http.MethodGet, http.MethodPost:
	default:
		w.Header().Set("Allow", "GET, POST, OPTIONS")
		return &gatehouse.Error{Kind: gatehouse.KindMethodNotAllowed, Code: "method_not_allowed", Detail: `Method "` + r.Method + `" not allowed.`}
	}
	req, err := parseFlagsRequest(r)
	if err != nil {
		return err
	}
	evals, err := h.Flags.Evaluate(r.Context(), req)
	if err != nil {
		return err
	}
	version, _ := strconv.Atoi(r.URL.Query().Get("v"))
	var out map[string]any
	switch {
	case decide && version <= 1:
		enabled := []string{}
		for _, e := range evals {
			if e.Result.Enabled {
				enabled = append(enabled, e.Flag.Key)
			}
		}
		out = map[string]any{"featureFlags": enabled}
	case decide && version == 2:
		enabled := map[string]any{}
		for _, e := range evals {
			if e.Result.Enabled {
				enabled[e.Flag.Key] = e.Result.Value()
			}
		}
		out = map[string]any{"featureFlags": enabled}
	case version >= 2 && !(decide && version == 3):
		out = detailedFlags(evals, !decide && version >= 4)
	default:
		out = legacyFlags(evals)
	}
	if !decide && r.URL.Query().Get("config") == "true" {
		// config=true adds the project's remote-config document.
		active := false
		for _, e := range evals {
			active = active || e.Flag.Active
		}
		for k, v := range projectConfigJSON(req.Token, active) {
			if _, taken := out[k]; !taken {
				out[k] = v
			}
		}
	}
	out["errorsWhileComputingFlags"] = false
	out["requestId"] = gatehouse.NewUUID()
	if decide {
		out["config"] = map[string]bool{"enable_collect_everything": true}
		out["isAuthenticated"] = false
		out["supportedCompression"] = []string{"gzip", "gzip-js"}
		out["toolbarParams"] = map[string]any{}
		out["sessionRecording"] = false
		out["siteApps"] = []any{}
	}
	httpauth.WriteJSON(w, http.StatusOK, out)
	return nil
}

// legacyFlags is the v1 shape: every flag's value, and the payloads of
// the enabled ones.
func legacyFlags(evals []gatehouse.Evaluation) map[string]any {
	values := map[string]any{}
	payloads := map[string]any{}
	for _, e := range evals {
		values[e.Flag.Key] = e.Result.Value()
		if p := e.Flag.Definition().Payload(e.Result); p != "" {
			payloads[e.Flag.Key] = p
		}
	}
	return map[string]any{"featureFlags": values, "featureFlagPayloads": payloads}
}

// detailedFlags is the v2 shape: per flag, its value, the reason and
// metadata (payloads are JSON text in a string). typed adds what /flags
// v4 clients read first: each flag's value as one typed field, false,
// true or the variant key.
func detailedFlags(evals []gatehouse.Evaluation, typed bool) map[string]any {
	detail := map[string]any{}
	for _, e := range evals {
		res := e.Result
		var variant, payload, condition any
		if res.Variant != "" {
			variant = res.Variant
		}
		if p := e.Flag.Definition().Payload(res); p != "" {
			payload = p
		}
		if res.ConditionIndex >= 0 {
			condition = res.ConditionIndex
		}
		record := map[string]any{
			"key": e.Flag.Key, "enabled": res.Enabled, "variant": variant,
			"reason":   map[string]any{"code": res.Reason, "condition_index": condition, "description": res.Description()},
			"metadata": map[string]any{"id": e.Flag.ID, "version": e.Flag.Version, "description": e.Flag.Name, "payload": payload},
		}
		if typed {
			record["value"] = res.Value()
		}
		detail[e.Flag.Key] = record
	}
	return map[string]any{"flags": detail, "evaluatedAt": time.Now().UnixMilli()}
}

// flagListFilter is the flag list's ?search= (case-insensitive, in the
// key or the name), ?active= ("true" the active flags, "STALE" the stale
// ones, which Gatehouse cannot tell without usage data, so none, anything
// else the inactive ones) and ?type= (boolean, multivariant,
// remote_config; experiment matches none: Gatehouse has no experiments).
func flagListFilter(r *http.Request) func(*gatehouse.FeatureFlag) bool {
	q := r.URL.Query()
	search := strings.ToLower(q.Get("search"))
	active, hasActive := q.Get("active"), q.Has("active")
	typ := q.Get("type")
	return func(f *gatehouse.FeatureFlag) bool {
		if search != "" && !strings.Contains(strings.ToLower(f.Key), search) && !strings.Contains(strings.ToLower(f.Name), search) {
			return false
		}
		if hasActive {
			switch active {
			case "true":
				if !f.Active {
					return false
				}
			case "STALE":
				return false
			default:
				if f.Active {
					return false
				}
			}
		}
		multivariate := f.Filters.Multivariate != nil && len(f.Filters.Multivariate.Variants) > 0
		switch typ {
		case "boolean":
			return !multivariate && !f.RemoteConfiguration
		case "multivariant":
			return multivariate
		case "remote_config":
			return f.RemoteConfiguration
		case "experiment":
			return false
		}
		return true
	}
}
