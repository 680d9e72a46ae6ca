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

func HandleCreateInvite(d httpauth.Auth) http.Handler {
	return httpauth.RequireUser(d, func(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) {
		var in struct {
			TargetEmail string `json:"target_email"`
			FirstName   string `json:"first_name"`
			Level       int    `json:"level"`
		}
		if err := httpauth.DecodeJSON(w, r, &in); err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		inv, org, err := d.Invites.Create(r.Context(), a.User, r.PathValue("org"),
			gatehouse.NewInvite{TargetEmail: in.TargetEmail, FirstName: in.FirstName, Level: gatehouse.MembershipLevel(in.Level)})
		if err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		inviter := a.User.FirstName
		if inviter == "" {
			inviter = a.User.Email
		}
		link := "/signup/" + inv.ID
		if d.SiteURL != nil {
			link = strings.TrimSuffix(d.SiteURL.String(), "/") + link
		}
		httpauth.QueueMail(r, d, mail.InviteNotice(inv.TargetEmail, inviter, a.User.Email, org.Name, link))
		httpauth.WriteJSON(w, http.StatusCreated, inviteJSON(inv, time.Now()))
	})
}

func HandleListInvites(d httpauth.Auth) http.Handler {
	return httpauth.RequireUser(d, func(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) {
		list, err := d.Invites.List(r.Context(), a.User, r.PathValue("org"))
		if err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		now := time.Now()
		out := make([]map[string]any, 0, len(list))
		for i := range list {
			out = append(out, inviteJSON(&list[i], now))
		}
		paginated(w, r, d, out)
	})
}

func HandleDeleteInvite(d httpauth.Auth) http.Handler {
	return httpauth.RequireUser(d, func(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) {
		if err := d.Invites.Delete(r.Context(), a.User, r.PathValue("org"), r.PathValue("id")); err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// handleInviteInfo shows a pending invite to the person holding its link.
func HandleInviteInfo(d httpauth.Auth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inv, org, err := d.Invites.Lookup(r.Context(), r.PathValue("invite"))
		if err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		httpauth.WriteJSON(w, http.StatusOK, map[string]any{
			"id": inv.ID, "target_email": inv.TargetEmail, "first_name": inv.FirstName, "organization_name": org.Name,
		})
	})
}

// handleInviteSignup creates the invitee's account from the invite and
// signs them in. A signed-in user instead joins the invite's organization
// with their existing account (the invite must be addressed to their
// email); then no name or password is needed.
func HandleInviteSignup(d httpauth.Auth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a := httpauth.CallerFrom(r.Context()); a != nil {
			if err := d.Invites.JoinWithInvite(r.Context(), r.PathValue("invite"), a.User); err != nil {
				httpauth.WriteError(w, r, err)
				return
			}
			writeInviteSignup(w, r, d, a.User)
			return
		}
		var in struct {
			FirstName string  `json:"first_name"`
			LastName  string  `json:"last_name"`
			Password  *string `json:"password"`
		}
		if err := httpauth.DecodeJSON(w, r, &in); err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		if in.Password == nil {
			in.Password = new(string)
		}
		var user *gatehouse.User
		err := httpauth.WithSignupThrottle(r, d, func() (err error) {
			user, err = d.Invites.SignupWithInvite(r.Context(), r.PathValue("invite"), in.FirstName, in.LastName, gatehouse.Secret(*in.Password))
			return err
		})
		if err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		if err := httpauth.SignIn(w, r, d, user, "password"); err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		// The invite does not prove the address: a mailed link does.
		httpauth.SendVerification(r, d, user)
		writeInviteSignup(w, r, d, user)
	})
}

// writeInviteSignup answers an invite signup or join with the user and the
// organization and project they now work in.
func writeInviteSignup(w http.ResponseWriter, r *http.Request, d httpauth.Auth, user *gatehouse.User) {
	out := map[string]any{
		"id": user.ID, "uuid": user.UUID, "email": user.Email, "first_name": user.FirstName, "last_name": user.LastName,
		"is_email_verified": user.IsEmailVerified, "redirect_url": "/", "organization": nil, "team": nil,
	}
	if p, err := d.Accounts.Profile(r.Context(), user); err == nil {
		if p.Organization != nil {
			out["organization"] = map[string]any{"id": p.Organization.ID, "name": p.Organization.Name}
		}
		if p.Project != nil {
			out["team"] = map[string]any{"id": p.Project.ID, "api_token": p.Project.APIToken}
		}
	}
	httpauth.WriteJSON(w, http.StatusCreated, out)
}
