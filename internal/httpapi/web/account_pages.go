package web

import (
	_ "embed"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// The account's personal API keys page (issue 16 point 4): the keys with
// their scopes, scoping and last use; a form that makes one (scopes as
// read/write checkboxes per object, optionally limited to one
// organization or project); its value shown once, on the page that
// answers the creation or the roll, never again; roll and delete. Every
// action calls the APIKeyService method /api/personal_api_keys calls, with
// the same recent-sign-in rule for writes.

func init() {
	for _, name := range []string{"account", "account_keys", "account_deleted"} {
		pageTemplates[name] = template.Must(template.ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
	}
}

// CopyValueScript adds a "Copy" button to the values a page shows once
// (elements with data-copy); the pages work without it.
//
//go:embed static/copy_value.js
var CopyValueScript []byte

// keyScopeObjects are the objects the key form offers, with what each
// covers: the objects Gatehouse's own routes check (routes.go).
var keyScopeObjects = []struct{ Object, Label string }{
	{"user", "Your user: profile, keys"},
	{"organization", "Organizations and their domains"},
	{"organization_member", "Members and invites"},
	{"project", "Projects, tokens and secret keys"},
	{"feature_flag", "Feature flags"},
}

// AccountKeysPage is what account_keys.html shows.
type AccountKeysPage struct {
	Layout
	Form
	// Done names the action just done (a marker for tests and scripts).
	Done string
	// NewKey is the key just created or rolled, with its value: shown
	// this once.
	NewKey *newKeyView
	// CreateError is an error about the create form that is about no one
	// field (a stale sign-in, the key limit).
	CreateError string
	Keys        []personalKeyView
	// Scopes are the form's checkboxes, one row per object.
	Scopes []scopeRow
	// AllAccess is the "*" checkbox's state.
	AllAccess bool
	// Organizations and Projects are the scoping choices.
	Organizations []choiceView
	Projects      []choiceView
}

func (*AccountKeysPage) template() string { return "account_keys" }

type newKeyView struct {
	Label, Value string
	Rolled       bool
}

type personalKeyView struct {
	ID, Label, Mask, Scopes, Scoping, Created, LastUsed string
	QueryUses                                           int64
}

type scopeRow struct {
	Object, Label string
	Read, Write   bool
}

type choiceView struct {
	Value, Label string
	Selected     bool
}

// AccountPages serves the account's pages: /account and its keys.
type AccountPages struct {
	Auth          *httpauth.Auth // CSRF tokens, mail, cookies
	Accounts      *gatehouse.AccountService
	APIKeys       *gatehouse.APIKeyService
	Members       *gatehouse.MemberService
	Organizations *gatehouse.OrganizationService
	// Lifecycle runs email changes and account deletion; nil: neither is
	// available.
	Lifecycle *gatehouse.AccountLifecycle
}

var accountKeyNotices = map[string]string{"delete": "The key was deleted. Programs using it can no longer sign in with it."}

// keyFields are the create form's inputs, as the service names them.
var keyFields = []string{"label", "scopes", "scoped_organizations", "scoped_teams"}

// Keys shows the personal API keys page.
func (h *AccountPages) Keys(w http.ResponseWriter, r *http.Request) error {
	a := signedIn(w, r, "/account/keys")
	if a == nil {
		return nil
	}
	data := &AccountKeysPage{}
	data.Notice, data.Done = doneNotice(r, accountKeyNotices)
	h.renderKeys(w, r, a, http.StatusOK, data)
	return nil
}

// renderKeys draws the keys page with what data holds (kept values,
// errors, a new key's value).
func (h *AccountPages) renderKeys(w http.ResponseWriter, r *http.Request, a *httpauth.Caller, status int, data *AccountKeysPage) {
	data.CSRFToken = sessionCSRFToken(w, r, h.Auth, a)
	chosen := formScopes(data.Values)
	data.AllAccess = chosen["*"]
	data.Scopes = data.Scopes[:0]
	for _, o := range keyScopeObjects {
		if gatehouse.ValidScopeObject(o.Object) {
			data.Scopes = append(data.Scopes, scopeRow{Object: o.Object, Label: o.Label, Read: chosen[o.Object+":read"], Write: chosen[o.Object+":write"]})
		}
	}
	orgNames := map[string]string{}
	orgs, _, err := h.Members.Organizations(r.Context(), a.User)
	if err != nil {
		status, _, data.Error = pageError(w, r, err)
	}
	data.Organizations = nil
	for _, o := range orgs {
		orgNames[o.ID] = o.Name
		data.Organizations = append(data.Organizations, choiceView{Value: o.ID, Label: o.Name, Selected: data.Values["scoped_organizations"] == o.ID})
	}
	projectNames := map[int64]string{}
	projects, err := h.Organizations.Projects(r.Context(), a.User)
	if err != nil {
		status, _, data.Error = pageError(w, r, err)
	}
	data.Projects = nil
	for _, p := range projects {
		id := strconv.FormatInt(p.ID, 10)
		projectNames[p.ID] = p.Name
		label := p.Name
		if n := orgNames[p.OrganizationID]; n != "" && len(orgs) > 1 {
			label = n + " / " + p.Name
		}
		data.Projects = append(data.Projects, choiceView{Value: id, Label: label, Selected: data.Values["scoped_teams"] == id})
	}
	keys, err := h.APIKeys.List(r.Context(), a.User)
	if err != nil {
		status, _, data.Error = pageError(w, r, err)
	}
	data.Keys = nil
	for _, k := range keys {
		v := personalKeyView{ID: k.ID, Label: k.Label, Mask: k.MaskValue, Created: pageTime(k.CreatedAt), LastUsed: pageTime(k.LastUsedAt), QueryUses: k.QueryUses}
		if len(k.Scopes) == 0 || (len(k.Scopes) == 1 && k.Scopes[0] == "*") {
			v.Scopes = "All access"
		} else {
			v.Scopes = strings.Join(k.Scopes, ", ")
		}
		var scoping []string
		for _, id := range k.ScopedOrganizations {
			scoping = append(scoping, "organization "+nameOr(orgNames[id], id))
		}
		for _, id := range k.ScopedTeams {
			scoping = append(scoping, "project "+nameOr(projectNames[id], strconv.FormatInt(id, 10)))
		}
		if len(scoping) == 0 {
			v.Scoping = "All your organizations and projects"
		} else {
			v.Scoping = strings.Join(scoping, ", ")
		}
		data.Keys = append(data.Keys, v)
	}
	renderPage(w, r, status, data)
}

func nameOr(name, id string) string {
	if name == "" {
		return id
	}
	return name
}

// pageTime is how the console pages show a moment; the zero time is
// "Never".
func pageTime(t time.Time) string {
	if t.IsZero() {
		return "Never"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// CreateKey makes a personal API key from the form and shows its value
// this once.
func (h *AccountPages) CreateKey(w http.ResponseWriter, r *http.Request) error {
	a, err := consoleFormCaller(w, r, "/account/keys")
	if a == nil {
		return err
	}
	label := r.PostForm.Get("label")
	scopes := r.PostForm["scopes"]
	org, team := r.PostForm.Get("scoped_organizations"), r.PostForm.Get("scoped_teams")
	data := &AccountKeysPage{Form: Form{Values: map[string]string{"label": label, "scopes": strings.Join(scopes, " "),
		"scoped_organizations": org, "scoped_teams": team}}}
	fail := func(err error) error {
		return onPage(err, data, keyFields...).drawnBy(func(status int) {
			data.CreateError, data.Error = data.Error, ""
			h.renderKeys(w, r, a, status, data)
		})
	}
	// Every field's error at once; a key without scopes would be a key
	// that may do everything, so the page asks for one.
	errs := map[string]string{}
	if strings.TrimSpace(label) == "" {
		errs["label"] = "Give the key a label, to recognize it later."
	}
	if len(scopes) == 0 {
		errs["scopes"] = "Choose at least one scope."
	}
	if len(errs) > 0 {
		data.Errors = errs
		h.renderKeys(w, r, a, http.StatusBadRequest, data)
		return nil
	}
	if err := gatehouse.RequireRecentAuth(a.Session, time.Now()); err != nil {
		return fail(err)
	}
	in := gatehouse.NewAPIKey{Label: &label, Scopes: &scopes}
	if org != "" {
		in.ScopedOrganizations = &[]string{org}
	}
	if team != "" {
		id, err := strconv.ParseInt(team, 10, 64)
		if err != nil {
			return fail(gatehouse.Invalid("invalid_input", "scoped_teams", "Choose a project from the list."))
		}
		in.ScopedTeams = &[]int64{id}
	}
	created, err := h.APIKeys.Create(r.Context(), a.User, in)
	if err != nil {
		return fail(err)
	}
	h.renderKeys(w, r, a, http.StatusOK, &AccountKeysPage{Done: "create", NewKey: &newKeyView{Label: created.Key.Label, Value: created.Value.Reveal()}})
	return nil
}

// RollKey gives a key a new value and shows it this once.
func (h *AccountPages) RollKey(w http.ResponseWriter, r *http.Request) error {
	a, err := consoleFormCaller(w, r, "/account/keys")
	if a == nil {
		return err
	}
	data := &AccountKeysPage{}
	fail := func(err error) error {
		return onPage(err, data).drawnBy(func(status int) { h.renderKeys(w, r, a, status, data) })
	}
	if err := gatehouse.RequireRecentAuth(a.Session, time.Now()); err != nil {
		return fail(err)
	}
	rolled, err := h.APIKeys.Roll(r.Context(), a.User, r.PathValue("id"))
	if err != nil {
		return fail(err)
	}
	data.Done = "roll"
	data.NewKey = &newKeyView{Label: rolled.Key.Label, Value: rolled.Value.Reveal(), Rolled: true}
	h.renderKeys(w, r, a, http.StatusOK, data)
	return nil
}

// DeleteKey deletes a key (the page asks first).
func (h *AccountPages) DeleteKey(w http.ResponseWriter, r *http.Request) error {
	a, err := consoleFormCaller(w, r, "/account/keys")
	if a == nil {
		return err
	}
	data := &AccountKeysPage{}
	fail := func(err error) error {
		return onPage(err, data).drawnBy(func(status int) { h.renderKeys(w, r, a, status, data) })
	}
	if err := gatehouse.RequireRecentAuth(a.Session, time.Now()); err != nil {
		return fail(err)
	}
	if err := h.APIKeys.Delete(r.Context(), a.User, r.PathValue("id")); err != nil {
		return fail(err)
	}
	http.Redirect(w, r, "/account/keys?done=delete", http.StatusSeeOther)
	return nil
}

// doneNotice is the notice of the ?done= code a page was sent back with,
// and that code, both empty when notices has no such code (so an
// arbitrary ?done= shows nothing).
func doneNotice(r *http.Request, notices map[string]string) (notice, done string) {
	done = r.URL.Query().Get("done")
	if notice = notices[done]; notice == "" {
		return "", ""
	}
	return notice, done
}

// formScopes is the set of scopes a key form posted (kept between tries).
func formScopes(values map[string]string) map[string]bool {
	chosen := map[string]bool{}
	for _, s := range strings.Fields(values["scopes"]) {
		chosen[s] = true
	}
	return chosen
}

// signedIn is the caller of a page only a signed-in browser may see; for
// anyone else (no session, or a personal API key) it sends the browser to
// the login page, which comes back to next, and returns nil.
func signedIn(w http.ResponseWriter, r *http.Request, next string) *httpauth.Caller {
	a := httpauth.CallerFrom(r.Context())
	if a == nil || a.Session == nil {
		status := http.StatusFound
		if r.Method == http.MethodPost {
			status = http.StatusSeeOther
		}
		http.Redirect(w, r, "/login?next="+next, status)
		return nil
	}
	return a
}

// consoleFormCaller is the signed-in caller of a console form post (whose
// CSRF token Auth.Session has checked), with the form parsed. Without a
// session it redirects to the login page at back and returns nil; an
// unreadable form is returned as the error.
func consoleFormCaller(w http.ResponseWriter, r *http.Request, back string) (*httpauth.Caller, error) {
	a := signedIn(w, r, back)
	if a == nil {
		return nil, nil
	}
	if err := httpauth.ParseFormBody(w, r); err != nil {
		return nil, errFormUnreadable
	}
	return a, nil
}
