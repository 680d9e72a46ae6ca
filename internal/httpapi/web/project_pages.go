package web

import (
	"html/template"
	"net/http"
	"strings"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// The project page (issue 16 point 4): the current project's name and
// public phc_ token with a copy button, the token reset, and the
// project's secret API keys (made with their scopes, their value shown
// once; rolled; deleted; last use). Members read it; admins change it.
// Every action calls the OrganizationService method the JSON API's
// api.Projects calls, so the permissions (admin, recent sign-in) are the
// service's.

func init() {
	pageTemplates["project"] = template.Must(template.ParseFS(templateFS, "templates/layout.html", "templates/project.html"))
}

// projectKeyScopes are the scopes a project secret key may have, as the
// create form offers them.
var projectKeyScopes = []struct{ Scope, Label string }{
	{"feature_flag:read", "Feature flags: local evaluation by server SDKs"},
	{"endpoint:read", "Endpoints: read"},
}

// ProjectPage is what project.html shows.
type ProjectPage struct {
	Layout
	Form
	// Done names the action just done (a marker for tests and scripts).
	Done         string
	Name, Token  string
	Organization string
	IsAdmin      bool
	// NewKey is the secret key just created or rolled, with its value:
	// shown this once.
	NewKey *newKeyView
	// CreateError is an error about the create form that is about no one
	// field (not recent sign-in, the key limit).
	CreateError string
	Keys        []projectKeyView
	Scopes      []projectScopeView
}

func (*ProjectPage) template() string { return "project" }

type projectKeyView struct {
	ID, Label, Mask, Scopes, Created, LastUsed string
}

type projectScopeView struct {
	Scope, Label string
	Checked      bool
}

// ProjectPages serves the project page.
type ProjectPages struct {
	Auth          *httpauth.Auth // CSRF tokens
	Organizations *gatehouse.OrganizationService
}

var projectNotices = map[string]string{
	"reset":  "The project token was reset. Update it wherever you capture events: the old one no longer works.",
	"delete": "The secret key was deleted.",
}

// Page shows the current project.
func (h *ProjectPages) Page(w http.ResponseWriter, r *http.Request) error {
	a := signedIn(w, r, "/project")
	if a == nil {
		return nil
	}
	data := &ProjectPage{}
	data.Notice, data.Done = doneNotice(r, projectNotices)
	h.render(w, r, a, http.StatusOK, data)
	return nil
}

func (h *ProjectPages) render(w http.ResponseWriter, r *http.Request, a *httpauth.Caller, status int, data *ProjectPage) {
	data.CSRFToken = sessionCSRFToken(w, r, h.Auth, a)
	chosen := formScopes(data.Values)
	data.Scopes = nil
	for _, s := range projectKeyScopes {
		data.Scopes = append(data.Scopes, projectScopeView{Scope: s.Scope, Label: s.Label, Checked: chosen[s.Scope]})
	}
	p, level, err := h.Organizations.Project(r.Context(), a.User, gatehouse.CurrentProject)
	if err != nil {
		status, _, data.Error = pageError(w, r, err)
		renderPage(w, r, status, data)
		return
	}
	data.Name, data.Token, data.IsAdmin = p.Name, p.APIToken, level >= gatehouse.LevelAdmin
	if !data.IsAdmin && data.CreateError != "" { // no create form to show it above
		data.Error, data.CreateError = data.CreateError, ""
	}
	if org, _, err := h.Organizations.Organization(r.Context(), a.User, p.OrganizationID); err == nil {
		data.Organization = org.Name
	}
	keys, err := h.Organizations.ProjectSecretKeys(r.Context(), a.User, gatehouse.CurrentProject)
	if err != nil {
		status, _, data.Error = pageError(w, r, err)
	}
	data.Keys = nil
	for _, k := range keys {
		data.Keys = append(data.Keys, projectKeyView{ID: k.ID, Label: k.Label, Mask: k.MaskValue, Scopes: strings.Join(k.Scopes, ", "),
			Created: pageTime(k.CreatedAt), LastUsed: pageTime(k.LastUsedAt)})
	}
	renderPage(w, r, status, data)
}

// fail shows err on the project page: next to its field for the create
// form's fields, else at the top (or above the create form).
func (h *ProjectPages) fail(w http.ResponseWriter, r *http.Request, a *httpauth.Caller, data *ProjectPage, err error, createForm bool) error {
	return onPage(err, data, "label", "scopes").drawnBy(func(status int) {
		if createForm {
			data.CreateError, data.Error = data.Error, ""
		}
		h.render(w, r, a, status, data)
	})
}

// ResetToken gives the project a new public token.
func (h *ProjectPages) ResetToken(w http.ResponseWriter, r *http.Request) error {
	a, err := consoleFormCaller(w, r, "/project")
	if a == nil {
		return err
	}
	if _, err := h.Organizations.ResetProjectToken(r.Context(), a.User, a.Session, gatehouse.CurrentProject); err != nil {
		return h.fail(w, r, a, &ProjectPage{}, err, false)
	}
	http.Redirect(w, r, "/project?done=reset", http.StatusSeeOther)
	return nil
}

// CreateKey makes a project secret key and shows its value this once.
func (h *ProjectPages) CreateKey(w http.ResponseWriter, r *http.Request) error {
	a, err := consoleFormCaller(w, r, "/project")
	if a == nil {
		return err
	}
	label, scopes := r.PostForm.Get("label"), r.PostForm["scopes"]
	data := &ProjectPage{Form: Form{Values: map[string]string{"label": label, "scopes": strings.Join(scopes, " ")}}}
	errs := map[string]string{}
	if strings.TrimSpace(label) == "" {
		errs["label"] = "Give the key a label, to recognize it later."
	}
	if len(scopes) == 0 {
		errs["scopes"] = "Choose at least one scope."
	}
	if len(errs) > 0 {
		data.Errors = errs
		h.render(w, r, a, http.StatusBadRequest, data)
		return nil
	}
	k, value, err := h.Organizations.CreateProjectSecretKey(r.Context(), a.User, a.Session, gatehouse.CurrentProject, label, scopes)
	if err != nil {
		return h.fail(w, r, a, data, err, true)
	}
	h.render(w, r, a, http.StatusOK, &ProjectPage{Done: "create", NewKey: &newKeyView{Label: k.Label, Value: value.Reveal()}})
	return nil
}

// RollKey gives a secret key a new value and shows it this once.
func (h *ProjectPages) RollKey(w http.ResponseWriter, r *http.Request) error {
	a, err := consoleFormCaller(w, r, "/project")
	if a == nil {
		return err
	}
	k, value, err := h.Organizations.RollProjectSecretKey(r.Context(), a.User, a.Session, gatehouse.CurrentProject, r.PathValue("id"))
	if err != nil {
		return h.fail(w, r, a, &ProjectPage{}, err, false)
	}
	h.render(w, r, a, http.StatusOK, &ProjectPage{Done: "roll", NewKey: &newKeyView{Label: k.Label, Value: value.Reveal(), Rolled: true}})
	return nil
}

// DeleteKey deletes a secret key (the page asks first).
func (h *ProjectPages) DeleteKey(w http.ResponseWriter, r *http.Request) error {
	a, err := consoleFormCaller(w, r, "/project")
	if a == nil {
		return err
	}
	if err := h.Organizations.DeleteProjectSecretKey(r.Context(), a.User, a.Session, gatehouse.CurrentProject, r.PathValue("id")); err != nil {
		return h.fail(w, r, a, &ProjectPage{}, err, false)
	}
	http.Redirect(w, r, "/project?done=delete", http.StatusSeeOther)
	return nil
}
