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

func HandleUpdateMe(d httpauth.Auth) http.Handler {
	return httpauth.RequireUser(d, func(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) {
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
			httpauth.WriteError(w, r, err)
			return
		}
		if a.APIKey != nil {
			if err := keyProfileChange(in.Email != nil || in.Password != nil || in.CurrentPassword != nil, in.PasskeysEnabledFor2FA != nil); err != nil {
				httpauth.WriteError(w, r, err)
				return
			}
		}
		if err := switchCurrent(r, d, a, in.SetCurrentOrganization, in.SetCurrentTeam); err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		if err := requestEmailChange(r, d, a, in.Email); err != nil {
			httpauth.WriteError(w, r, err)
			return
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
		changed, err := d.Accounts.UpdateProfile(r.Context(), a.User, a.Session, gatehouse.HashSessionKey(a.SessionKey), ch, time.Now())
		if err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		if changed {
			httpauth.QueueMail(r, d, mail.PasswordChangedNotice(a.User.Email))
			d.Logger.LogAttrs(r.Context(), slog.LevelInfo, "password changed", slog.String("user", a.User.UUID), slog.String("client", httpauth.ClientIP(r)))
		}
		if in.PasskeysEnabledFor2FA != nil {
			if d.Passkeys == nil {
				httpauth.WriteError(w, r, gatehouse.Invalid("no_passkeys", "passkeys_enabled_for_2fa", "Passkeys are not available on this instance."))
				return
			}
			changed, err := d.Passkeys.SetTwoFactor(r.Context(), a.User, a.Session, *in.PasskeysEnabledFor2FA)
			if err != nil {
				httpauth.WriteError(w, r, err)
				return
			}
			if changed {
				notePasskeyTwoFactor(r, d, a.User, *in.PasskeysEnabledFor2FA)
			}
		}
		p, err := d.Accounts.Profile(r.Context(), a.User)
		if err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		out := meJSON(p, a.Session)
		twoFactorFields(r, d, a.User, out)
		httpauth.WriteJSON(w, http.StatusOK, out)
	})
}

func HandleLoginSessions(d httpauth.Auth) http.Handler {
	return httpauth.RequireUser(d, func(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) {
		list, err := d.Accounts.LoginSessions(r.Context(), a.User.ID, time.Now())
		if err != nil {
			httpauth.WriteError(w, r, err)
			return
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
	})
}

func HandleRevokeSession(d httpauth.Auth) http.Handler {
	return httpauth.RequireUser(d, func(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) {
		if err := d.Accounts.RevokeSession(r.Context(), a.User.ID, a.Session, r.PathValue("id"), time.Now()); err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func HandleRevokeOthers(d httpauth.Auth) http.Handler {
	return httpauth.RequireUser(d, func(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) {
		n, err := d.Accounts.RevokeOtherSessions(r.Context(), a.User.ID, a.Session, gatehouse.HashSessionKey(a.SessionKey), time.Now())
		if err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		httpauth.WriteJSON(w, http.StatusOK, map[string]int64{"revoked_count": n})
	})
}
