package web

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"

	"github.com/gatehouse-auth/gatehouse/internal/cookies"
	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/mail"
)

// The account page (issue 16 point 4): the name, the email change (a
// link mailed to the new address, as PATCH /api/users/@me {"email"}
// does), the password, links to the second factor, passkeys, keys,
// linked providers and sessions, and account deletion (as DELETE
// /api/users/@me), each through the service the JSON API calls.

// AccountPage is what account.html shows.
type AccountPage struct {
	Layout
	Form
	// Done names the action just done (a marker for tests and scripts).
	Done  string
	Email string
	// PendingEmail is the address an email change waits to confirm.
	PendingEmail string
	// EmailChangeAvailable: this instance can mail the confirmation.
	EmailChangeAvailable bool
	// Section errors: an error about a form that is about no one field.
	EmailError, PasswordError, DeleteError string
}

func (*AccountPage) template() string { return "account" }

// AccountDeletedPage is what account_deleted.html shows.
type AccountDeletedPage struct {
	Layout
	Email string
}

func (*AccountDeletedPage) template() string { return "account_deleted" }

var accountNotices = map[string]string{
	"profile":  "Your name was saved.",
	"email":    "We sent a confirmation link to your new address. Your email changes when you open it.",
	"password": "Your password was changed. Your other sessions were signed out.",
}

// accountFields are the account page's inputs, across its forms.
var accountFields = []string{"first_name", "last_name", "email", "current_password", "password", "confirm_email"}

// Account shows the account page.
func (h *AccountPages) Account(w http.ResponseWriter, r *http.Request) error {
	a := signedIn(w, r, "/account")
	if a == nil {
		return nil
	}
	data := &AccountPage{}
	data.Notice, data.Done = doneNotice(r, accountNotices)
	h.renderAccount(w, r, a, http.StatusOK, data)
	return nil
}

func (h *AccountPages) renderAccount(w http.ResponseWriter, r *http.Request, a *httpauth.Caller, status int, data *AccountPage) {
	data.CSRFToken = sessionCSRFToken(w, r, h.Auth, a)
	data.Email, data.PendingEmail, data.EmailChangeAvailable = a.User.Email, a.User.PendingEmail, h.Lifecycle != nil
	if data.Values == nil {
		data.Values = map[string]string{}
	}
	if _, kept := data.Values["first_name"]; !kept {
		data.Values["first_name"], data.Values["last_name"] = a.User.FirstName, a.User.LastName
	}
	renderPage(w, r, status, data)
}

// failAccount shows err on the account page: next to its field, else
// above the form it came from (section), else at the top.
func (h *AccountPages) failAccount(w http.ResponseWriter, r *http.Request, a *httpauth.Caller, data *AccountPage, section string, err error) error {
	return onPage(err, data, accountFields...).drawnBy(func(status int) {
		switch section {
		case "email":
			data.EmailError, data.Error = data.Error, ""
		case "password":
			data.PasswordError, data.Error = data.Error, ""
		case "delete":
			data.DeleteError, data.Error = data.Error, ""
		}
		h.renderAccount(w, r, a, status, data)
	})
}

// Profile saves the name.
func (h *AccountPages) Profile(w http.ResponseWriter, r *http.Request) error {
	a, err := consoleFormCaller(w, r, "/account")
	if a == nil {
		return err
	}
	first, last := r.PostForm.Get("first_name"), r.PostForm.Get("last_name")
	if _, err := h.Accounts.UpdateProfile(r.Context(), a.User, a.Session, gatehouse.HashSessionKey(a.SessionKey),
		gatehouse.ProfileChange{FirstName: &first, LastName: &last}, time.Now()); err != nil {
		return h.failAccount(w, r, a, &AccountPage{Form: Form{Values: map[string]string{"first_name": first, "last_name": last}}}, "", err)
	}
	http.Redirect(w, r, "/account?done=profile", http.StatusSeeOther)
	return nil
}

// ChangeEmail asks for an email change: a link to the new address, a
// notice to the current one.
func (h *AccountPages) ChangeEmail(w http.ResponseWriter, r *http.Request) error {
	a, err := consoleFormCaller(w, r, "/account")
	if a == nil {
		return err
	}
	email := r.PostForm.Get("email")
	data := &AccountPage{Form: Form{Values: map[string]string{"email": email}}}
	if h.Lifecycle == nil {
		return h.failAccount(w, r, a, data, "email", gatehouse.Invalid("email_not_available", "email", "Email changes are not available on this instance."))
	}
	ch, err := h.Lifecycle.RequestEmailChange(r.Context(), a.User, a.Session, email)
	if err != nil {
		if e, ok := httpauth.DomainError(err); ok && e.Attr == "" && e.Kind == gatehouse.KindInvalid {
			e.Attr = "email" // an address the service refuses is about the field
		}
		return h.failAccount(w, r, a, data, "email", err)
	}
	if ch != nil {
		link := strings.TrimSuffix(h.Auth.SiteURL.String(), "/") + "/verify_email/" + url.PathEscape(a.User.UUID) + "/" + ch.Token
		httpauth.QueueMail(r, *h.Auth, mail.EmailChangeLinkNotice(a.User.Email, ch.NewEmail, link))
		httpauth.QueueMail(r, *h.Auth, mail.EmailChangeRequestedNotice(a.User.Email, ch.NewEmail))
		httpauth.Logger(r.Context()).LogAttrs(r.Context(), slog.LevelInfo, "email change requested", slog.String("user", a.User.UUID), slog.String("client", httpauth.ClientIP(r)))
	}
	http.Redirect(w, r, "/account?done=email", http.StatusSeeOther)
	return nil
}

// ChangePassword changes the password, as the settings page does.
func (h *AccountPages) ChangePassword(w http.ResponseWriter, r *http.Request) error {
	a, err := consoleFormCaller(w, r, "/account")
	if a == nil {
		return err
	}
	current, next := gatehouse.Secret(r.PostForm.Get("current_password")), gatehouse.Secret(r.PostForm.Get("password"))
	changed, err := h.Accounts.UpdateProfile(r.Context(), a.User, a.Session, gatehouse.HashSessionKey(a.SessionKey),
		gatehouse.ProfileChange{Password: &next, CurrentPassword: &current, ClientIP: httpauth.ClientIP(r)}, time.Now())
	if changed {
		httpauth.QueueMail(r, *h.Auth, mail.PasswordChangedNotice(a.User.Email))
	}
	if err != nil {
		return h.failAccount(w, r, a, &AccountPage{}, "password", err)
	}
	http.Redirect(w, r, "/account?done=password", http.StatusSeeOther)
	return nil
}

// DeleteAccount deletes the signed-in user's account once they typed its
// email to confirm, and signs the browser out.
func (h *AccountPages) DeleteAccount(w http.ResponseWriter, r *http.Request) error {
	a, err := consoleFormCaller(w, r, "/account")
	if a == nil {
		return err
	}
	data := &AccountPage{}
	if !strings.EqualFold(strings.TrimSpace(r.PostForm.Get("confirm_email")), a.User.Email) {
		data.Errors = map[string]string{"confirm_email": "Type your email address to confirm."}
		h.renderAccount(w, r, a, http.StatusBadRequest, data)
		return nil
	}
	if h.Lifecycle == nil {
		return h.failAccount(w, r, a, data, "delete", gatehouse.NotFound())
	}
	if err := h.Lifecycle.DeleteAccount(r.Context(), a.User, a.Session); err != nil {
		return h.failAccount(w, r, a, data, "delete", err)
	}
	httpauth.QueueMail(r, *h.Auth, mail.AccountDeletedNotice(a.User.Email))
	httpauth.Logger(r.Context()).LogAttrs(r.Context(), slog.LevelInfo, "account deleted", slog.String("user", a.User.UUID), slog.String("client", httpauth.ClientIP(r)))
	h.Auth.Cookies.Clear(w, httpauth.SessionCookie, cookies.Options{})
	renderPage(w, r, http.StatusOK, &AccountDeletedPage{Email: a.User.Email})
	return nil
}
