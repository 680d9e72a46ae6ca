package gatehouse

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// EmailChangeTTL is how long an email-change confirmation link works.
const EmailChangeTTL = 24 * time.Hour

// emailChangePrefix starts every email-change token, which shares the
// verification link (/verify_email/<uuid>/<token>) with signup
// verification.
const emailChangePrefix = "ec-"

// IsEmailChangeToken reports whether token is an email-change token rather
// than a signup-verification one.
func IsEmailChangeToken(token string) bool { return strings.HasPrefix(token, emailChangePrefix) }

// LifecycleStore is what email changes and account deletion need from
// storage.
type LifecycleStore interface {
	UserByUUID(ctx context.Context, uuid string) (*User, error)
	UserByEmail(ctx context.Context, email string) (*User, error)
	// PendingEmail is the address a change waits to confirm ("" for none)
	// and when it was requested (unix milliseconds).
	PendingEmail(ctx context.Context, userID int64) (email string, requestedAt int64, err error)
	SetPendingEmail(ctx context.Context, userID int64, email string, requestedAt int64) error
	// ConfirmEmailChange makes the pending address the email (verified)
	// if the user still has oldEmail and that very request pending;
	// ErrNotFound when not (used or replaced meanwhile), ErrConflict when
	// another account has the address.
	ConfirmEmailChange(ctx context.Context, userID int64, oldEmail, newEmail string, requestedAt int64) error
	DeleteUserSessions(ctx context.Context, userID int64, exceptKeyHash string) (int64, error)
	SocialLinksOfUser(ctx context.Context, userID int64) ([]SocialLink, error)
	// DeleteAccount deletes the user with everything that is theirs
	// (sessions, keys, passkeys, second factors, trusted devices, social
	// links) and the organizations they are the only member of;
	// ErrLastOwner when they are the only owner of an organization that
	// has other members.
	DeleteAccount(ctx context.Context, userID int64) error
	MembershipsOfUser(ctx context.Context, userID int64) ([]Membership, error)
}

// AccountLifecycle changes a user's email address (confirmed by a link to
// the new address) and deletes accounts.
type AccountLifecycle struct {
	Store LifecycleStore
	// Key signs email-change tokens.
	Key Signer
	// SSO refuses changes onto or off a domain that enforces single
	// sign-on; nil: not checked.
	SSO EmailSSOPolicy
	Now func() time.Time
}

func (s *AccountLifecycle) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// errSessionOnly refuses email and password changes made with a key.
func errSessionOnly() *Error {
	return &Error{Kind: KindPermissionDenied, Code: "permission_denied",
		Detail: "You can only change your email or password from the app, not with an API key or token."}
}

// EmailChange is a requested change: the token for the confirmation link
// and the address it goes to.
type EmailChange struct {
	NewEmail string
	Token    string
}

// RequestEmailChange records newEmail as the user's pending address and
// returns the token of the link to mail there; nil when newEmail is the
// current address (in any case). The email itself changes only when the
// link is used. It needs a session with a recent sign-in, and refuses an
// address of another account or one whose domain enforces SSO.
func (s *AccountLifecycle) RequestEmailChange(ctx context.Context, u *User, sess *Session, newEmail string) (*EmailChange, error) {
	if sess == nil {
		return nil, errSessionOnly()
	}
	email, err := NormalizeEmail(newEmail)
	if err != nil {
		return nil, err
	}
	if strings.EqualFold(email, u.Email) {
		return nil, nil
	}
	if err := RequireRecentAuth(sess, s.now()); err != nil {
		return nil, err
	}
	if other, err := s.Store.UserByEmail(ctx, email); err == nil && other.ID != u.ID {
		return nil, Invalid("unique", "email", "There is already an account with this email address.")
	} else if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	if err := s.checkSSOMove(ctx, u.Email, email); err != nil {
		return nil, err
	}
	at := s.now().UnixMilli()
	ev := AccountEvent(AuditEmailChangeRequested, u)
	ev.Changes = []AuditChange{{Field: "email", Old: u.Email, New: email}}
	ctx = WithAuditEvents(ctx, ev)
	if err := s.Store.SetPendingEmail(ctx, u.ID, email, at); err != nil {
		return nil, fmt.Errorf("storing pending email: %w", err)
	}
	token := emailChangePrefix + strconv.FormatInt(at, 36) + "-" + hex.EncodeToString(s.Key.Sign(emailChangeMessage(u, email, at)))
	return &EmailChange{NewEmail: email, Token: token}, nil
}

// EmailSSOPolicy tells, for an address, the sign-in method its domain
// enforces and the organization that enforces it ("", "" when none).
// *DomainService satisfies it.
type EmailSSOPolicy interface {
	EnforcingOrganization(ctx context.Context, email string) (orgID, provider string, err error)
}

// checkSSOMove refuses an email change off a domain that enforces SSO (it
// would escape the enforcement) or onto one (the account would bypass the
// provider's provisioning), except between two domains one organization
// enforces with the same method.
func (s *AccountLifecycle) checkSSOMove(ctx context.Context, current, next string) error {
	if s.SSO == nil {
		return nil
	}
	curOrg, curProvider, err := s.SSO.EnforcingOrganization(ctx, current)
	if err != nil {
		return err
	}
	nextOrg, nextProvider, err := s.SSO.EnforcingOrganization(ctx, next)
	if err != nil {
		return err
	}
	switch {
	case curProvider == "" && nextProvider == "":
		return nil
	case curProvider != "" && nextProvider != "" && curOrg == nextOrg && curProvider == nextProvider:
		return nil
	case curProvider != "":
		return Invalid("sso_enforced_current_email", "email", "Your current email domain enforces single sign-on (%s): its address cannot be changed here.", curProvider)
	default:
		return Invalid("sso_enforced_new_email", "email", "That email domain enforces single sign-on (%s): sign in with it instead.", nextProvider)
	}
}

// emailChangeMessage binds a token to the user, their current address,
// the pending one and the request, so that it dies once used, or when the
// email changes or another change is requested.
func emailChangeMessage(u *User, pending string, at int64) []byte {
	return []byte(fmt.Sprintf("email-change\x00%d\x00%s\x00%s\x00%d", u.ID, strings.ToLower(u.Email), strings.ToLower(pending), at))
}

func errInvalidEmailChange() *Error {
	return Invalid("invalid_token", "token", "This verification token is invalid or has expired.")
}

// ConfirmedEmailChange is the outcome of a used link.
type ConfirmedEmailChange struct {
	User     *User // with the new, verified email
	OldEmail string
	// SocialLinks are the user's social sign-in links, kept as they are
	// though they were made with the old address.
	SocialLinks []SocialLink
	// SessionsEnded is how many sessions the change ended.
	SessionsEnded int64
}

// ConfirmEmailChange uses an email-change link: within EmailChangeTTL, for
// the change still pending, once. The email becomes the new address,
// verified; every session of the user ends (the caller signs the
// confirming browser in afresh).
func (s *AccountLifecycle) ConfirmEmailChange(ctx context.Context, userUUID, token string) (*ConfirmedEmailChange, error) {
	u, err := s.Store.UserByUUID(ctx, userUUID)
	if errors.Is(err, ErrNotFound) {
		return nil, errInvalidEmailChange()
	}
	if err != nil {
		return nil, err
	}
	atText, macHex, ok := strings.Cut(strings.TrimPrefix(token, emailChangePrefix), "-")
	at, err1 := strconv.ParseInt(atText, 36, 64)
	mac, err2 := hex.DecodeString(macHex)
	if !IsEmailChangeToken(token) || !ok || err1 != nil || err2 != nil || len(atText) > 13 || !u.IsActive {
		return nil, errInvalidEmailChange()
	}
	pending, pendingAt, err := s.Store.PendingEmail(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	requested := time.UnixMilli(at)
	if pending == "" || pendingAt != at || s.now().Sub(requested) > EmailChangeTTL || requested.After(s.now().Add(time.Minute)) {
		return nil, errInvalidEmailChange()
	}
	if !s.Key.Verify(emailChangeMessage(u, pending, at), mac) {
		return nil, errInvalidEmailChange()
	}
	// Enforcement may have begun since the request.
	if err := s.checkSSOMove(ctx, u.Email, pending); err != nil {
		return nil, err
	}
	ev := AccountEvent(AuditEmailChangeConfirmed, u)
	ev.Changes = []AuditChange{{Field: "email", Old: u.Email, New: pending}}
	err = s.Store.ConfirmEmailChange(WithAuditEvents(ctx, ev), u.ID, u.Email, pending, at)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, errInvalidEmailChange()
	case errors.Is(err, ErrConflict):
		return nil, Invalid("email_taken", "email", "Another account now uses this email address. Start the change again with a different address.")
	case err != nil:
		return nil, err
	}
	out := &ConfirmedEmailChange{OldEmail: u.Email}
	verified := true
	u.Email, u.IsEmailVerified = pending, &verified
	out.User = u
	if out.SessionsEnded, err = s.Store.DeleteUserSessions(ctx, u.ID, ""); err != nil {
		return nil, err
	}
	if out.SocialLinks, err = s.Store.SocialLinksOfUser(ctx, u.ID); err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteAccount deletes the signed-in user's account. It needs a session
// with a recent sign-in, and refuses the only owner of an organization
// with other members: they transfer ownership first.
func (s *AccountLifecycle) DeleteAccount(ctx context.Context, u *User, sess *Session) error {
	if sess == nil {
		return &Error{Kind: KindUnauthenticated, Code: "not_authenticated", Detail: "Authentication credentials were not provided."}
	}
	if err := RequireRecentAuth(sess, s.now()); err != nil {
		return err
	}
	// The deletion is recorded in every organization the account was in
	// (its own log goes with it).
	memberships, err := s.Store.MembershipsOfUser(ctx, u.ID)
	if err != nil {
		return err
	}
	events := []AuditEvent{AccountEvent(AuditAccountDeleted, u)}
	for _, m := range memberships {
		ev := AccountEvent(AuditAccountDeleted, u)
		ev.OrganizationID = m.OrganizationID
		events = append(events, ev)
	}
	err = s.Store.DeleteAccount(WithAuditEvents(ctx, events...), u.ID)
	if errors.Is(err, ErrLastOwner) {
		return &Error{Kind: KindConflict, Code: "conflict",
			Detail: "Cannot delete the only owner of an organization that has other members. Make another member owner first."}
	}
	return err
}
