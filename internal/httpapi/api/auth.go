package api

import (
	"net/http"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// Sessions serves signing in and out: /api/login, /api/login/precheck,
// /api/logout, /logout, and the signed-in user's GET /api/users/@me.
type Sessions struct {
	Auth     *httpauth.Auth
	Sessions *gatehouse.AuthService
	Accounts *gatehouse.AccountService
	// Domains answers which sign-in method an email's domain enforces;
	// nil: none does.
	Domains *gatehouse.DomainService
	// TwoFactor and Passkeys tell @me whether 2FA and passkey 2FA are
	// on; nil: not available.
	TwoFactor *gatehouse.TwoFactorService
	Passkeys  *gatehouse.PasskeyService

	// me holds GET /api/users/@me's answers to key-authenticated
	// requests (see Me).
	me gatehouse.GenerationCache[int64, []byte]
}

// Login answers POST /api/login: it signs in with email and password. It
// does not authenticate the session the request may carry (so it needs no
// CSRF token, as PostHog's login does not without a session); that
// session, if any, is ended and replaced.
func (h *Sessions) Login(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if err := httpauth.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	if _, err := httpauth.PasswordLogin(w, r, *h.Auth, in.Email, gatehouse.Secret(in.Password)); err != nil {
		return err
	}
	httpauth.WriteJSON(w, http.StatusOK, map[string]bool{"success": true})
	return nil
}

// Precheck answers POST /api/login/precheck: whether the email's domain
// enforces a sign-in method, and whether SAML is available to it.
func (h *Sessions) Precheck(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Email string `json:"email"`
	}
	if err := httpauth.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	if _, err := gatehouse.NormalizeEmail(in.Email); err != nil {
		return err
	}
	var enforced any
	saml := false
	if h.Domains != nil {
		provider, err := h.Domains.EnforcedProvider(r.Context(), in.Email)
		if err != nil {
			return err
		}
		if provider != "" {
			enforced = provider
		}
		if saml, err = h.Domains.SAMLAvailable(r.Context(), in.Email); err != nil {
			return err
		}
	}
	out := map[string]any{"sso_enforcement": enforced, "saml_available": saml}
	if p, ok := enforced.(string); ok {
		out["sso_provider_name"] = httpauth.ProviderName(*h.Auth, p) // what the page calls it
	}
	httpauth.WriteJSON(w, http.StatusOK, out)
	return nil
}

// Logout answers POST /api/logout: it ends the session server-side, clears
// the cookie and answers JSON.
func (h *Sessions) Logout(w http.ResponseWriter, r *http.Request) error {
	if err := httpauth.EndSession(w, r, *h.Auth); err != nil {
		return err
	}
	httpauth.WriteJSON(w, http.StatusOK, map[string]bool{"success": true})
	return nil
}

// Me answers GET /api/users/@me. A key-authenticated request (no session,
// so nothing time-dependent in the answer) reuses the bytes encoded for
// the same user under the same auth generation: everything the answer
// shows is auth state, so any change to it moves the generation and the
// next request encodes afresh.
func (h *Sessions) Me(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) error {
	if a.Session == nil {
		if body, ok := h.me.Get(r.Context(), a.User.ID); ok {
			httpauth.WriteJSONBytes(w, http.StatusOK, body)
			return nil
		}
	}
	p, err := h.Accounts.Profile(r.Context(), a.User)
	if err != nil {
		return err
	}
	if a.Session != nil {
		httpauth.EnsureCSRFCookie(w, r, *h.Auth, a.SessionKey, time.Until(a.Session.ExpiresAt).Round(time.Second))
	}
	out := meJSON(p, a.Session)
	if !twoFactorFields(r, h.TwoFactor, h.Passkeys, a.User, out) || a.Session != nil {
		httpauth.WriteJSON(w, http.StatusOK, out)
		return nil
	}
	body := httpauth.EncodeJSON(out)
	h.me.Put(r.Context(), a.User.ID, body)
	httpauth.WriteJSONBytes(w, http.StatusOK, body)
	return nil
}

// meBody is GET /api/users/@me's answer. A struct rather than a map: the
// key-authenticated hot path encodes it on every request, and its fields
// are in key order, so the bytes are those of the sorted map it replaced.
type meBody struct {
	DateJoined                string          `json:"date_joined"`
	Email                     string          `json:"email"`
	FirstName                 string          `json:"first_name"`
	HasPassword               bool            `json:"has_password"`
	Is2FAEnabled              bool            `json:"is_2fa_enabled"`
	IsActive                  bool            `json:"is_active"`
	IsEmailVerified           *bool           `json:"is_email_verified"`
	IsStaff                   bool            `json:"is_staff"`
	LastName                  string          `json:"last_name"`
	Organization              *meOrganization `json:"organization"`
	Organizations             []meMembership  `json:"organizations"`
	PasskeysEnabledFor2FA     *bool           `json:"passkeys_enabled_for_2fa,omitempty"`
	SensitiveSessionExpiresAt *string         `json:"sensitive_session_expires_at"`
	Team                      *meTeam         `json:"team"`
	UUID                      string          `json:"uuid"`
	meParity
}

type meOrganization struct {
	Enforce2FA                   bool   `json:"enforce_2fa"`
	ID                           string `json:"id"`
	MembersCanUsePersonalAPIKeys bool   `json:"members_can_use_personal_api_keys"`
	MembershipLevel              *int   `json:"membership_level,omitempty"`
	Name                         string `json:"name"`
	SessionCookieAge             *int   `json:"session_cookie_age"`
}

type meMembership struct {
	ID              string `json:"id"`
	MembershipLevel int    `json:"membership_level"`
}

type meTeam struct {
	APIToken     string `json:"api_token"`
	ID           int64  `json:"id"`
	Name         string `json:"name"`
	Organization string `json:"organization"`
}

func meJSON(p *gatehouse.Profile, s *gatehouse.Session) *meBody {
	u := p.User
	out := &meBody{
		UUID: u.UUID, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName,
		IsStaff: u.IsStaff, IsActive: u.IsActive, IsEmailVerified: u.IsEmailVerified,
		HasPassword: u.PasswordHash != "", DateJoined: u.CreatedAt.Format(time.RFC3339),
		Organizations: make([]meMembership, 0, len(p.Memberships)),
		meParity:      newMeParity(u),
	}
	if s != nil {
		at := s.CreatedAt.Add(httpauth.SensitiveActionAge).UTC().Format(time.RFC3339)
		out.SensitiveSessionExpiresAt = &at
	}
	if o := p.Organization; o != nil {
		out.Organization = &meOrganization{ID: o.ID, Name: o.Name, Enforce2FA: o.Enforce2FA,
			MembersCanUsePersonalAPIKeys: o.MembersCanUsePersonalAPIKeys, SessionCookieAge: o.SessionCookieAge}
		if p.Membership != nil {
			level := int(p.Membership.Level)
			out.Organization.MembershipLevel = &level
		}
	}
	if t := p.Project; t != nil {
		out.Team = &meTeam{ID: t.ID, Name: t.Name, APIToken: t.APIToken, Organization: t.OrganizationID}
	}
	for _, m := range p.Memberships {
		out.Organizations = append(out.Organizations, meMembership{ID: m.OrganizationID, MembershipLevel: int(m.Level)})
	}
	return out
}
