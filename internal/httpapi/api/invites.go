package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/mail"
)

func inviteJSON(inv *gatehouse.Invite, now time.Time) map[string]any {
	var createdBy any
	if inv.CreatedByUUID != "" {
		createdBy = map[string]any{"uuid": inv.CreatedByUUID, "email": inv.CreatedByEmail}
	}
	return map[string]any{
		"id": inv.ID, "target_email": inv.TargetEmail, "first_name": inv.FirstName, "level": int(inv.Level),
		"created_at": inv.CreatedAt.Format(time.RFC3339), "created_by": createdBy, "is_expired": inv.Expired(now),
		"organization_id": inv.OrganizationID,
	}
}

// Invites serves organization invites
// (/api/organizations/{org}/invites) and invite signup
// (/api/signup/{invite}).
type Invites struct {
	Auth    *httpauth.Auth
	Invites *gatehouse.InviteService
	// Accounts reads the profile an invite signup answers with.
	Accounts *gatehouse.AccountService
}

// Create answers POST /api/organizations/{org}/invites: it invites an
// email address to the organization and mails it the link.
func (h *Invites) Create(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) error {
	var in struct {
		TargetEmail string `json:"target_email"`
		FirstName   string `json:"first_name"`
		Level       int    `json:"level"`
	}
	if err := httpauth.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	inv, org, err := h.Invites.Create(r.Context(), a.User, r.PathValue("org"),
		gatehouse.NewInvite{TargetEmail: in.TargetEmail, FirstName: in.FirstName, Level: gatehouse.MembershipLevel(in.Level)})
	if err != nil {
		return err
	}
	inviter := a.User.FirstName
	if inviter == "" {
		inviter = a.User.Email
	}
	link := "/signup/" + inv.ID
	if h.Auth.SiteURL != nil {
		link = strings.TrimSuffix(h.Auth.SiteURL.String(), "/") + link
	}
	httpauth.QueueMail(r, *h.Auth, mail.InviteNotice(inv.TargetEmail, inviter, a.User.Email, org.Name, link))
	httpauth.WriteJSON(w, http.StatusCreated, inviteJSON(inv, time.Now()))
	return nil
}

// List answers GET /api/organizations/{org}/invites: the organization's
// pending invites, one page.
func (h *Invites) List(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) error {
	list, err := h.Invites.List(r.Context(), a.User, r.PathValue("org"))
	if err != nil {
		return err
	}
	now := time.Now()
	out := make([]map[string]any, 0, len(list))
	for i := range list {
		out = append(out, inviteJSON(&list[i], now))
	}
	paginated(w, r, *h.Auth, out)
	return nil
}

// Delete answers DELETE /api/organizations/{org}/invites/{id}: it
// withdraws an invite.
func (h *Invites) Delete(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) error {
	if err := h.Invites.Delete(r.Context(), a.User, r.PathValue("org"), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// Info answers GET /api/signup/{invite}: a pending invite, shown to the
// person holding its link.
func (h *Invites) Info(w http.ResponseWriter, r *http.Request) error {
	inv, org, err := h.Invites.Lookup(r.Context(), r.PathValue("invite"))
	if err != nil {
		return err
	}
	httpauth.WriteJSON(w, http.StatusOK, map[string]any{
		"id": inv.ID, "target_email": inv.TargetEmail, "first_name": inv.FirstName, "organization_name": org.Name,
	})
	return nil
}

// Signup answers POST /api/signup/{invite}: it creates the invitee's
// account from the invite and signs them in. A signed-in user instead
// joins the invite's organization with their existing account (the invite
// must be addressed to their email); then no name or password is needed.
func (h *Invites) Signup(w http.ResponseWriter, r *http.Request) error {
	if a := httpauth.CallerFrom(r.Context()); a != nil {
		if err := h.Invites.JoinWithInvite(r.Context(), r.PathValue("invite"), a.User); err != nil {
			return err
		}
		h.writeSignup(w, r, a.User)
		return nil
	}
	var in struct {
		FirstName string  `json:"first_name"`
		LastName  string  `json:"last_name"`
		Password  *string `json:"password"`
	}
	if err := httpauth.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	if in.Password == nil {
		in.Password = new(string)
	}
	var user *gatehouse.User
	err := httpauth.WithSignupThrottle(r, *h.Auth, func() (err error) {
		user, err = h.Invites.SignupWithInvite(r.Context(), r.PathValue("invite"), in.FirstName, in.LastName, gatehouse.Secret(*in.Password))
		return err
	})
	if err != nil {
		return err
	}
	if _, err := httpauth.StartSession(w, r, *h.Auth, user, httpauth.LoginStep{Method: "password", NewAccount: true}); err != nil {
		return err
	}
	// The invite does not prove the address: a mailed link does.
	httpauth.SendVerification(r, *h.Auth, user)
	h.writeSignup(w, r, user)
	return nil
}

// writeSignup answers an invite signup or join with the user and the
// organization and project they now work in.
func (h *Invites) writeSignup(w http.ResponseWriter, r *http.Request, user *gatehouse.User) {
	out := map[string]any{
		"id": user.ID, "uuid": user.UUID, "email": user.Email, "first_name": user.FirstName, "last_name": user.LastName,
		"is_email_verified": user.IsEmailVerified, "redirect_url": "/", "organization": nil, "team": nil,
	}
	if p, err := h.Accounts.Profile(r.Context(), user); err == nil {
		if p.Organization != nil {
			out["organization"] = map[string]any{"id": p.Organization.ID, "name": p.Organization.Name}
		}
		if p.Project != nil {
			out["team"] = map[string]any{"id": p.Project.ID, "api_token": p.Project.APIToken}
		}
	}
	httpauth.WriteJSON(w, http.StatusCreated, out)
}
