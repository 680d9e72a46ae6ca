package httpapi

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"sort"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/mail"
)

// addAccountRoutes registers the signed-in user's account endpoints.
func addAccountRoutes(mux *http.ServeMux, d Deps) {
	mux.Handle("PATCH /api/users/@me", handleUpdateMe(d))
	mux.Handle("GET /api/users/@me/login_sessions", handleLoginSessions(d))
	mux.Handle("DELETE /api/users/@me/login_sessions/{id}", handleRevokeSession(d))
	mux.Handle("POST /api/users/@me/login_sessions/revoke_others", handleRevokeOthers(d))
}

func handleUpdateMe(d Deps) http.Handler {
	return requireUser(d, func(w http.ResponseWriter, r *http.Request, a *authInfo) {
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
		if err := decodeJSON(w, r, &in); err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		if a.apiKey != nil {
			if err := keyProfileChange(in.Email != nil || in.Password != nil || in.CurrentPassword != nil, in.PasskeysEnabledFor2FA != nil); err != nil {
				writeError(w, r, d.Logger, err)
				return
			}
		}
		if err := switchCurrent(r, d, a, in.SetCurrentOrganization, in.SetCurrentTeam); err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		if err := requestEmailChange(r, d, a, in.Email); err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		ch := gatehouse.ProfileChange{FirstName: in.FirstName, LastName: in.LastName, ClientIP: clientIP(r)}
		if in.Password != nil {
			pw := gatehouse.Secret(*in.Password)
			ch.Password = &pw
		}
		if in.CurrentPassword != nil {
			cur := gatehouse.Secret(*in.CurrentPassword)
			ch.CurrentPassword = &cur
		}
		changed, err := d.Accounts.UpdateProfile(r.Context(), a.user, a.session, gatehouse.HashSessionKey(a.sessionKey), ch, time.Now())
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		if changed {
			queueMail(r, d, mail.PasswordChangedNotice(a.user.Email))
			d.Logger.LogAttrs(r.Context(), slog.LevelInfo, "password changed", slog.String("user", a.user.UUID), slog.String("client", clientIP(r)))
		}
		if in.PasskeysEnabledFor2FA != nil {
			if d.Passkeys == nil {
				writeError(w, r, d.Logger, gatehouse.Invalid("no_passkeys", "passkeys_enabled_for_2fa", "Passkeys are not available on this instance."))
				return
			}
			changed, err := d.Passkeys.SetTwoFactor(r.Context(), a.user, a.session, *in.PasskeysEnabledFor2FA)
			if err != nil {
				writeError(w, r, d.Logger, err)
				return
			}
			if changed {
				notePasskeyTwoFactor(r, d, a.user, *in.PasskeysEnabledFor2FA)
			}
		}
		p, err := d.Accounts.Profile(r.Context(), a.user)
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		out := meJSON(p, a.session)
		twoFactorFields(r, d, a.user, out)
		writeJSON(w, http.StatusOK, out)
	})
}

// queueMail queues a notification; a failure is logged, never returned:
// an email must not fail the request that caused it.
func queueMail(r *http.Request, d Deps, m mail.Message) {
	if d.Mail == nil {
		return
	}
	if err := d.Mail.Queue(r.Context(), m); err != nil {
		d.Logger.LogAttrs(r.Context(), slog.LevelError, "queueing email failed", slog.String("subject", m.Subject), slog.String("error", err.Error()))
	}
}

func handleLoginSessions(d Deps) http.Handler {
	return requireUser(d, func(w http.ResponseWriter, r *http.Request, a *authInfo) {
		list, err := d.Accounts.LoginSessions(r.Context(), a.user.ID, time.Now())
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		sort.SliceStable(list, func(i, j int) bool {
			return list[i].PublicID == a.session.PublicID && list[j].PublicID != a.session.PublicID
		})
		out := make([]map[string]any, 0, len(list))
		for _, s := range list {
			out = append(out, map[string]any{
				"id": s.PublicID, "created_at": s.CreatedAt.Format(time.RFC3339), "last_activity": s.LastActivityAt.Format(time.RFC3339),
				"ip": s.ClientIP, "location": nil, "device": shortUserAgent(s.UserAgent), "login_method": s.LoginMethod,
				"is_current": s.PublicID == a.session.PublicID,
			})
		}
		writeJSON(w, http.StatusOK, out)
	})
}

func handleRevokeSession(d Deps) http.Handler {
	return requireUser(d, func(w http.ResponseWriter, r *http.Request, a *authInfo) {
		if err := d.Accounts.RevokeSession(r.Context(), a.user.ID, a.session, r.PathValue("id"), time.Now()); err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func handleRevokeOthers(d Deps) http.Handler {
	return requireUser(d, func(w http.ResponseWriter, r *http.Request, a *authInfo) {
		n, err := d.Accounts.RevokeOtherSessions(r.Context(), a.user.ID, a.session, gatehouse.HashSessionKey(a.sessionKey), time.Now())
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]int64{"revoked_count": n})
	})
}

// shortUserAgent names the browser and system of a User-Agent, e.g.
// "Firefox on Linux".
func shortUserAgent(ua string) string {
	if system := gatehouse.OperatingSystem(ua); system != "" {
		return gatehouse.BrowserFamily(ua) + " on " + system
	}
	return gatehouse.BrowserFamily(ua)
}
