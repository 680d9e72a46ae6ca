package api

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"sort"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/mail"
)

// Account serves the signed-in user's account: PATCH /api/users/@me and
// the login sessions under /api/users/@me/login_sessions.
type Account struct {
	Auth     *httpauth.Auth
	Accounts *gatehouse.AccountService
	// Members switches the current organization and project.
	Members *gatehouse.MemberService
	// Lifecycle runs email changes; nil: they are not available.
	Lifecycle *gatehouse.AccountLifecycle
	// Passkeys sets passkeys as the second factor; nil: no passkeys.
	Passkeys *gatehouse.PasskeyService
	// TwoFactor tells the answer whether 2FA is on; nil: no 2FA.
	TwoFactor *gatehouse.TwoFactorService
}

// Update answers PATCH /api/users/@me: the profile, the password, the
// passkey second factor, the current organization and project, and an
// email change.
func (h *Account) Update(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) error {
	var in struct {
		FirstName       *string `json:"first_name"`
		LastName        *string `json:"last_name"`
		Password        *string `json:"password"`
		CurrentPassword *string `json:"current_password"`
		// PasskeysEnabledFor2FA makes passkeys the second factor.
		PasskeysEnabledFor2FA *bool `json:"passkeys_enabled_for_2fa"`
		// SetCurrentOrganization and SetCurrentTeam switch the
		// current organization and project (members.go).
		SetCurrentOrganization *string          `json:"set_current_organization"`
		SetCurrentTeam         *json.RawMessage `json:"set_current_team"`
		// Email asks for an email change (account_lifecycle.go).
		Email *string `json:"email"`
	}
	if err := httpauth.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	if a.APIKey != nil {
		if err := keyProfileChange(in.Email != nil || in.Password != nil || in.CurrentPassword != nil, in.PasskeysEnabledFor2FA != nil); err != nil {
			return err
		}
	}
	if err := switchCurrent(r, h.Members, a, in.SetCurrentOrganization, in.SetCurrentTeam); err != nil {
		return err
	}
	if err := h.requestEmailChange(r, a, in.Email); err != nil {
		return err
	}
	ch := gatehouse.ProfileChange{FirstName: in.FirstName, LastName: in.LastName, ClientIP: httpauth.ClientIP(r)}
	if in.Password != nil {
		pw := gatehouse.Secret(*in.Password)
		ch.Password = &pw
	}
	if in.CurrentPassword != nil {
		cur := gatehouse.Secret(*in.CurrentPassword)
		ch.CurrentPassword = &cur
	}
	changed, err := h.Accounts.UpdateProfile(r.Context(), a.User, a.Session, gatehouse.HashSessionKey(a.SessionKey), ch, time.Now())
	if err != nil {
		return err
	}
	if changed {
		httpauth.QueueMail(r, *h.Auth, mail.PasswordChangedNotice(a.User.Email))
		httpauth.Logger(r.Context()).LogAttrs(r.Context(), slog.LevelInfo, "password changed", slog.String("user", a.User.UUID), slog.String("client", httpauth.ClientIP(r)))
	}
	if in.PasskeysEnabledFor2FA != nil {
		if h.Passkeys == nil {
			return gatehouse.Invalid("no_passkeys", "passkeys_enabled_for_2fa", "Passkeys are not available on this instance.")
		}
		changed, err := h.Passkeys.SetTwoFactor(r.Context(), a.User, a.Session, *in.PasskeysEnabledFor2FA)
		if err != nil {
			return err
		}
		if changed {
			notePasskeyTwoFactor(r, *h.Auth, a.User, *in.PasskeysEnabledFor2FA)
		}
	}
	p, err := h.Accounts.Profile(r.Context(), a.User)
	if err != nil {
		return err
	}
	out := meJSON(p, a.Session)
	twoFactorFields(r, h.TwoFactor, h.Passkeys, a.User, out)
	httpauth.WriteJSON(w, http.StatusOK, out)
	return nil
}

// ListSessions answers GET /api/users/@me/login_sessions: the user's
// active sessions, the current one first.
func (h *Account) ListSessions(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) error {
	list, err := h.Accounts.LoginSessions(r.Context(), a.User.ID, time.Now())
	if err != nil {
		return err
	}
	sort.SliceStable(list, func(i, j int) bool {
		return list[i].PublicID == a.Session.PublicID && list[j].PublicID != a.Session.PublicID
	})
	out := make([]map[string]any, 0, len(list))
	for _, s := range list {
		out = append(out, map[string]any{
			"id": s.PublicID, "created_at": s.CreatedAt.Format(time.RFC3339), "last_activity": s.LastActivityAt.Format(time.RFC3339),
			"ip": s.ClientIP, "location": nil, "device": httpauth.ShortUserAgent(s.UserAgent), "login_method": s.LoginMethod,
			"is_current": s.PublicID == a.Session.PublicID,
		})
	}
	httpauth.WriteJSON(w, http.StatusOK, out)
	return nil
}

// RevokeSession answers DELETE /api/users/@me/login_sessions/{id}: it ends
// one of the user's sessions.
func (h *Account) RevokeSession(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) error {
	if err := h.Accounts.RevokeSession(r.Context(), a.User.ID, a.Session, r.PathValue("id"), time.Now()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// RevokeOtherSessions answers POST
// /api/users/@me/login_sessions/revoke_others: it ends every session of
// the user but the current one.
func (h *Account) RevokeOtherSessions(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) error {
	n, err := h.Accounts.RevokeOtherSessions(r.Context(), a.User.ID, a.Session, gatehouse.HashSessionKey(a.SessionKey), time.Now())
	if err != nil {
		return err
	}
	httpauth.WriteJSON(w, http.StatusOK, map[string]int64{"revoked_count": n})
	return nil
}
