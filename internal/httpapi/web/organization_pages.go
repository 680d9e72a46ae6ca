package web

import (
	"html/template"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/mail"
)

// The organization page (issue 16 point 4): the current organization's
// members (level, second factor, sign-in provider, last login) with the
// admins' level change, removal and second-factor reset; invites (create,
// copy the link, revoke, the pending list); the security settings
// (enforce_2fa, members_can_use_personal_api_keys, the session length);
// a link to the domains and SAML page. Every action calls the service
// method the JSON API calls (api.Members, api.Invites, api.Organizations,
// api.TwoFactor.Reset), so its permissions are the service's: the page
// only hides the controls a member cannot use.

func init() {
	pageTemplates["organization"] = template.Must(template.ParseFS(templateFS, "templates/layout.html", "templates/organization.html"))
}

// OrganizationPage is what organization.html shows.
type OrganizationPage struct {
	Layout
	Form
	// Done names the action just done (a marker for tests and scripts).
	Done    string
	Name    string
	IsAdmin bool
	IsOwner bool
	// Section errors: an error about a form that is about no one field.
	InviteError, SecurityError string
	Members                    []memberView
	Invites                    []inviteView
	// MembersCount is how many members the organization has.
	MembersCount int
	// Security settings, as saved (or as just submitted after an error).
	Enforce2FA, MembersCanUseKeys bool
}

func (*OrganizationPage) template() string { return "organization" }

type memberView struct {
	UUID, Email, Name, Level, LastLogin string
	LevelValue                          int
	TwoFactor, SocialAuth, Self         bool
	// Manageable: the viewer is an admin and this is someone else.
	Manageable bool
}

type inviteView struct {
	ID, Email, Level, Created, Expires, Link string
}

// OrganizationPages serves the organization page.
type OrganizationPages struct {
	Auth          *httpauth.Auth // CSRF tokens, mail
	Organizations *gatehouse.OrganizationService
	Members       *gatehouse.MemberService
	Invites       *gatehouse.InviteService
	TwoFactor     *gatehouse.TwoFactorService
}

var organizationNotices = map[string]string{
	"level":    "The member's level was changed.",
	"remove":   "The member was removed from the organization.",
	"reset2fa": "The member's two-factor authentication was reset. They were emailed.",
	"invite":   "Invite sent. You can also copy its link below and send it yourself.",
	"revoke":   "The invite was revoked.",
	"security": "Security settings saved.",
}

// organizationFields are the page's inputs, across its forms, as the
// services name them.
var organizationFields = []string{"target_email", "first_name", "level", "name", "session_cookie_age"}

// maxPageMembers is how many members the page lists.
const maxPageMembers = 500

// Page shows the current organization.
func (h *OrganizationPages) Page(w http.ResponseWriter, r *http.Request) error {
	a := signedIn(w, r, "/organization")
	if a == nil {
		return nil
	}
	data := &OrganizationPage{}
	data.Notice, data.Done = doneNotice(r, organizationNotices)
	h.render(w, r, a, http.StatusOK, data)
	return nil
}

func (h *OrganizationPages) render(w http.ResponseWriter, r *http.Request, a *httpauth.Caller, status int, data *OrganizationPage) {
	data.CSRFToken = sessionCSRFToken(w, r, h.Auth, a)
	org, level, err := h.Organizations.Organization(r.Context(), a.User, gatehouse.CurrentOrganization)
	if err != nil {
		status, _, data.Error = pageError(w, r, err)
		renderPage(w, r, status, data)
		return
	}
	data.Name = org.Name
	data.IsAdmin, data.IsOwner = level >= gatehouse.LevelAdmin, level >= gatehouse.LevelOwner
	if data.Values == nil {
		data.Values = map[string]string{}
	}
	if _, kept := data.Values["name"]; !kept { // not a refused security form: the saved settings
		data.Values["name"] = org.Name
		if org.SessionCookieAge != nil {
			data.Values["session_cookie_age"] = strconv.Itoa(*org.SessionCookieAge)
		}
		data.Enforce2FA, data.MembersCanUseKeys = org.Enforce2FA, org.MembersCanUsePersonalAPIKeys
	}
	if !data.IsAdmin && (data.InviteError != "" || data.SecurityError != "") { // their forms are not shown
		data.Error, data.InviteError, data.SecurityError = data.InviteError+data.SecurityError, "", ""
	}
	members, count, err := h.Members.Members(r.Context(), a.User, gatehouse.CurrentOrganization, maxPageMembers, 0)
	if err != nil {
		status, _, data.Error = pageError(w, r, err)
	}
	data.MembersCount, data.Members = count, nil
	for _, m := range members {
		v := memberView{UUID: m.User.UUID, Email: m.User.Email, Name: strings.TrimSpace(m.User.FirstName + " " + m.User.LastName),
			Level: m.Level.String(), LevelValue: int(m.Level), LastLogin: pageTime(m.LastLoginAt), TwoFactor: m.TwoFactor,
			SocialAuth: m.HasSocialAuth, Self: m.User.ID == a.User.ID}
		v.Manageable = data.IsAdmin && !v.Self && m.Level <= level
		data.Members = append(data.Members, v)
	}
	data.Invites = nil
	if data.IsAdmin {
		invites, err := h.Invites.List(r.Context(), a.User, gatehouse.CurrentOrganization)
		if err != nil {
			status, _, data.Error = pageError(w, r, err)
		}
		for _, inv := range invites {
			data.Invites = append(data.Invites, inviteView{ID: inv.ID, Email: inv.TargetEmail, Level: inv.Level.String(),
				Created: pageTime(inv.CreatedAt), Expires: pageTime(inv.ExpiresAt), Link: h.inviteLink(inv.ID)})
		}
	}
	renderPage(w, r, status, data)
}

// inviteLink is the signup link an invite's email carries.
func (h *OrganizationPages) inviteLink(id string) string {
	link := "/signup/" + id
	if h.Auth.SiteURL != nil {
		link = strings.TrimSuffix(h.Auth.SiteURL.String(), "/") + link
	}
	return link
}

// fail shows err on the organization page: next to its field among the
// page's inputs, else above the form it came from (section), else at the
// top.
func (h *OrganizationPages) fail(w http.ResponseWriter, r *http.Request, a *httpauth.Caller, data *OrganizationPage, section string, err error) error {
	return onPage(err, data, organizationFields...).drawnBy(func(status int) {
		switch section {
		case "invite":
			data.InviteError, data.Error = data.Error, ""
		case "security":
			data.SecurityError, data.Error = data.Error, ""
		}
		h.render(w, r, a, status, data)
	})
}

func (h *OrganizationPages) done(w http.ResponseWriter, r *http.Request, what string) error {
	http.Redirect(w, r, "/organization?done="+what, http.StatusSeeOther)
	return nil
}

// SetLevel changes a member's level.
func (h *OrganizationPages) SetLevel(w http.ResponseWriter, r *http.Request) error {
	a, err := consoleFormCaller(w, r, "/organization")
	if a == nil {
		return err
	}
	n, _ := strconv.Atoi(r.PostForm.Get("level"))
	level, err := gatehouse.ParseMembershipLevel(n)
	if err == nil {
		var m *gatehouse.Member
		if m, err = h.Members.SetLevel(r.Context(), a.User, a.Session, gatehouse.CurrentOrganization, r.PathValue("uuid"), level); err == nil {
			httpauth.Logger(r.Context()).LogAttrs(r.Context(), slog.LevelInfo, "membership level changed", slog.String("by", a.User.UUID), slog.String("user", m.User.UUID),
				slog.String("organization", gatehouse.CurrentOrganization), slog.String("level", strconv.Itoa(int(level))))
		}
	}
	if err != nil {
		return h.fail(w, r, a, &OrganizationPage{}, "", err)
	}
	return h.done(w, r, "level")
}

// RemoveMember removes a member from the organization (the page asks
// first).
func (h *OrganizationPages) RemoveMember(w http.ResponseWriter, r *http.Request) error {
	a, err := consoleFormCaller(w, r, "/organization")
	if a == nil {
		return err
	}
	m, err := h.Members.RemoveMember(r.Context(), a.User, a.Session, gatehouse.CurrentOrganization, r.PathValue("uuid"))
	if err != nil {
		return h.fail(w, r, a, &OrganizationPage{}, "", err)
	}
	httpauth.Logger(r.Context()).LogAttrs(r.Context(), slog.LevelInfo, "member removed", slog.String("by", a.User.UUID), slog.String("user", m.User.UUID),
		slog.String("organization", gatehouse.CurrentOrganization))
	return h.done(w, r, "remove")
}

// ResetTwoFactor resets a member's second factor, as an admin may when
// they lost it (the page asks first); the member is emailed.
func (h *OrganizationPages) ResetTwoFactor(w http.ResponseWriter, r *http.Request) error {
	a, err := consoleFormCaller(w, r, "/organization")
	if a == nil {
		return err
	}
	target, err := h.TwoFactor.AdminReset(r.Context(), a.User, a.Session, r.PathValue("uuid"))
	if err != nil {
		return h.fail(w, r, a, &OrganizationPage{}, "", err)
	}
	httpauth.Logger(r.Context()).LogAttrs(r.Context(), slog.LevelInfo, "2fa reset by admin", slog.String("user", target.UUID), slog.String("admin", a.User.UUID),
		slog.String("client", httpauth.ClientIP(r)))
	httpauth.QueueMail(r, *h.Auth, mail.TwoFactorResetNotice(target.Email, a.User.Email))
	return h.done(w, r, "reset2fa")
}

// Invite invites someone by email and mails them the link.
func (h *OrganizationPages) Invite(w http.ResponseWriter, r *http.Request) error {
	a, err := consoleFormCaller(w, r, "/organization")
	if a == nil {
		return err
	}
	email, first, levelText := r.PostForm.Get("target_email"), r.PostForm.Get("first_name"), r.PostForm.Get("level")
	data := &OrganizationPage{Form: Form{Values: map[string]string{"target_email": email, "first_name": first, "level": levelText}}}
	level, _ := strconv.Atoi(levelText)
	inv, org, err := h.Invites.Create(r.Context(), a.User, gatehouse.CurrentOrganization,
		gatehouse.NewInvite{TargetEmail: email, FirstName: first, Level: gatehouse.MembershipLevel(level)})
	if err != nil {
		return h.fail(w, r, a, data, "invite", err)
	}
	inviter := a.User.FirstName
	if inviter == "" {
		inviter = a.User.Email
	}
	httpauth.QueueMail(r, *h.Auth, mail.InviteNotice(inv.TargetEmail, inviter, a.User.Email, org.Name, h.inviteLink(inv.ID)))
	return h.done(w, r, "invite")
}

// RevokeInvite withdraws an invite (the page asks first).
func (h *OrganizationPages) RevokeInvite(w http.ResponseWriter, r *http.Request) error {
	a, err := consoleFormCaller(w, r, "/organization")
	if a == nil {
		return err
	}
	if err := h.Invites.Delete(r.Context(), a.User, gatehouse.CurrentOrganization, r.PathValue("id")); err != nil {
		return h.fail(w, r, a, &OrganizationPage{}, "", err)
	}
	return h.done(w, r, "revoke")
}

// Security saves the organization's name and security settings.
func (h *OrganizationPages) Security(w http.ResponseWriter, r *http.Request) error {
	a, err := consoleFormCaller(w, r, "/organization")
	if a == nil {
		return err
	}
	name, age := r.PostForm.Get("name"), strings.TrimSpace(r.PostForm.Get("session_cookie_age"))
	enforce, keys := r.PostForm.Get("enforce_2fa") == "on", r.PostForm.Get("members_can_use_personal_api_keys") == "on"
	data := &OrganizationPage{Form: Form{Values: map[string]string{"name": name, "session_cookie_age": age}}, Enforce2FA: enforce, MembersCanUseKeys: keys}
	ch := gatehouse.OrganizationChange{Name: &name, Enforce2FA: &enforce, MembersCanUsePersonalAPIKeys: &keys}
	if age == "" {
		ch.ClearSessionCookieAge = true
	} else {
		seconds, err := strconv.Atoi(age)
		if err != nil {
			return h.fail(w, r, a, data, "security", gatehouse.Invalid("invalid", "session_cookie_age", "A valid integer is required."))
		}
		ch.SessionCookieAge = &seconds
	}
	if _, _, err := h.Organizations.UpdateOrganization(r.Context(), a.User, a.Session, gatehouse.CurrentOrganization, ch); err != nil {
		return h.fail(w, r, a, data, "security", err)
	}
	return h.done(w, r, "security")
}
