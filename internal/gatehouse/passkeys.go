package gatehouse

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"
)

// Passkey numbers (docs/posthog-compat.md#passkeys).
const (
	// PasskeyChallengeTTL is how long a WebAuthn challenge waits for its
	// answer; it is also the timeout the browser is given.
	PasskeyChallengeTTL = 5 * time.Minute
	// PasskeyLabelMax bounds a passkey's label, in characters.
	PasskeyLabelMax = 200
	// PasskeyDefaultLabel names a passkey registered without a label.
	PasskeyDefaultLabel = "Passkey"
	// PasskeyRPName is the relying party's name authenticators show.
	PasskeyRPName = "Gatehouse"
	// PasskeyFailureCode marks the failures of a WebAuthn ceremony, which
	// the webauthn endpoints answer as PostHog's do: 400 {"error": detail}.
	PasskeyFailureCode = "webauthn_failed"
)

// The ceremonies a challenge is issued for; a challenge answers only its
// own.
const (
	ceremonyRegister     = "register"
	ceremonyVerify       = "verify"
	ceremonyLogin        = "login"
	ceremonySecondFactor = "2fa"
)

// passkeyAlgorithms are the only public-key algorithms offered and
// accepted: ES512, ES256, EdDSA (docs/posthog-compat.md#passkeys).
var passkeyAlgorithms = []protocol.CredentialParameter{
	{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.AlgES512},
	{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.AlgES256},
	{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.AlgEdDSA},
}

// Passkey is a user's WebAuthn credential. CredentialID is the
// authenticator's id for it; ID the database id the API uses. Only a
// verified passkey (proof of possession done) signs anyone in.
type Passkey struct {
	ID              int64
	UserID          int64
	CredentialID    []byte
	Label           string
	PublicKey       []byte // COSE
	Algorithm       int64
	SignCount       uint32
	Transports      []string
	Verified        bool
	BackupEligible  bool
	BackupState     bool
	AAGUID          []byte
	AttestationType string
	CreatedAt       time.Time
	LastUsedAt      *time.Time
}

// AuthenticatorType is how PostHog describes a passkey from its transports:
// platform, hybrid, hardware or unknown.
func (p *Passkey) AuthenticatorType() string {
	has := map[string]bool{}
	for _, t := range p.Transports {
		has[t] = true
	}
	switch {
	case has["hybrid"]:
		return "hybrid"
	case has["internal"]:
		return "platform"
	case has["usb"] || has["nfc"] || has["ble"]:
		return "hardware"
	}
	return "unknown"
}

// PasskeyChallenge is a WebAuthn challenge waiting for its answer. Ceremony
// is go-webauthn's session data (challenge, RP ID, allowed credentials,
// algorithms) as JSON; UserID is 0 for a passwordless login, where the
// authenticator names the user; CredentialRef is the passkey a proof of
// possession is about.
type PasskeyChallenge struct {
	Purpose       string
	UserID        int64
	CredentialRef int64
	Ceremony      []byte
	ExpiresAt     time.Time
}

// PasskeyStore is what passkeys need from storage.
type PasskeyStore interface {
	UserByID(ctx context.Context, id int64) (*User, error)
	UserByUUID(ctx context.Context, uuid string) (*User, error)

	// CreatePasskey stores p and sets its ID; a credential id already
	// registered (to anyone) is ErrConflict.
	CreatePasskey(ctx context.Context, p *Passkey) error
	// Passkeys lists the user's passkeys, oldest first.
	Passkeys(ctx context.Context, userID int64) ([]Passkey, error)
	// Passkey finds one of the user's passkeys, or ErrNotFound.
	Passkey(ctx context.Context, userID, id int64) (*Passkey, error)
	// UsePasskey records a signature with counter signCount, only when it
	// moves the stored counter forward (or both are 0, for authenticators
	// without a counter), and marks the passkey verified when verify is
	// set. It reports whether it did: of two uses of one counter value,
	// one wins.
	UsePasskey(ctx context.Context, id int64, signCount uint32, backupState, verify bool, at time.Time) (bool, error)
	RenamePasskey(ctx context.Context, userID, id int64, label string) (bool, error)
	// DeletePasskey removes one of the user's passkeys; when no verified
	// passkey is left, passkey 2FA is turned off in the same transaction
	// (twoFactorOff reports it was on).
	DeletePasskey(ctx context.Context, userID, id int64) (deleted, twoFactorOff bool, err error)

	// EnablePasskeyTwoFactor turns passkey 2FA on when the user has a
	// verified passkey, and reports whether it is on.
	EnablePasskeyTwoFactor(ctx context.Context, userID int64, at time.Time) (bool, error)
	// DisablePasskeyTwoFactor turns it off and reports whether it was on.
	DisablePasskeyTwoFactor(ctx context.Context, userID int64) (bool, error)
	PasskeyTwoFactor(ctx context.Context, userID int64) (bool, error)

	SaveWebAuthnChallenge(ctx context.Context, keyHash string, c *PasskeyChallenge) error
	// ConsumeWebAuthnChallenge deletes and returns the unexpired challenge
	// of keyHash for purpose, or ErrNotFound: of concurrent answers, one
	// gets it.
	ConsumeWebAuthnChallenge(ctx context.Context, keyHash, purpose string, now time.Time) (*PasskeyChallenge, error)
}

// PasskeyService registers, verifies and manages passkeys and signs people
// in with them, passwordless or as a second factor.
type PasskeyService struct {
	// flags caches TwoFactorFlag under the request's auth generation.
	flags genCache[int64, bool]

	Store PasskeyStore
	// RP is the relying party: RP ID the SITE_URL host, exactly one
	// expected origin; build the service with NewPasskeyService.
	RP *webauthn.WebAuthn
	// SSO refuses passkeys to emails whose domain enforces SSO.
	SSO SSOPolicy
	// Guard is the login lockout; failed passkey logins count toward it.
	Guard LoginGuard
	// Logger records refused sign counters; nil: none.
	Logger *slog.Logger
	Now    func() time.Time
}

// PasskeyRelyingParty returns the RP ID and the one expected origin for
// the site's URL (docs/posthog-compat.md#passkeys): the host name, and scheme://host with the port
// unless it is 80 or 443.
func PasskeyRelyingParty(site *url.URL) (rpID, origin string) {
	if site == nil || site.Hostname() == "" {
		return "localhost", "http://localhost"
	}
	rpID = strings.ToLower(site.Hostname())
	origin = strings.ToLower(site.Scheme) + "://" + rpID
	if p := site.Port(); p != "" && p != "80" && p != "443" {
		origin += ":" + p
	}
	return rpID, origin
}

// NewPasskeyService builds the relying party for site (SITE_URL).
func NewPasskeyService(st PasskeyStore, site *url.URL) (*PasskeyService, error) {
	rpID, origin := PasskeyRelyingParty(site)
	rp, err := webauthn.New(&webauthn.Config{
		RPID: rpID, RPDisplayName: PasskeyRPName, RPOrigins: []string{origin},
		AttestationPreference: protocol.PreferNoAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey: protocol.ResidentKeyRequirementRequired, RequireResidentKey: protocol.ResidentKeyRequired(),
			UserVerification: protocol.VerificationRequired,
		},
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: PasskeyChallengeTTL, TimeoutUVD: PasskeyChallengeTTL},
			Registration: webauthn.TimeoutConfig{Timeout: PasskeyChallengeTTL, TimeoutUVD: PasskeyChallengeTTL},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("passkeys: relying party %q: %w", rpID, err)
	}
	return &PasskeyService{Store: st, RP: rp}, nil
}

func (s *PasskeyService) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// passkeyFailure is a failed ceremony: 400 {"error": detail}.
func passkeyFailure(detail string, cause error) *Error {
	return &Error{Kind: KindInvalid, Code: PasskeyFailureCode, Detail: detail, Err: cause}
}

func errPasskeyNotFound() *Error {
	return &Error{Kind: KindNotFound, Code: "not_found", Detail: "Credential not found."}
}

func errChallengeGone() *Error {
	return passkeyFailure("No passkey challenge is waiting, or it expired. Please try again.", nil)
}

// webauthnUser is a user as go-webauthn sees it: the user handle is the 16
// bytes of the UUID.
type webauthnUser struct {
	u     *User
	creds []webauthn.Credential
}

func (w *webauthnUser) WebAuthnID() []byte {
	id, err := uuid.Parse(w.u.UUID)
	if err != nil {
		return []byte(w.u.UUID)
	}
	return id[:]
}
func (w *webauthnUser) WebAuthnName() string { return w.u.Email }
func (w *webauthnUser) WebAuthnDisplayName() string {
	if n := strings.TrimSpace(w.u.FirstName + " " + w.u.LastName); n != "" {
		return n
	}
	return w.u.Email
}
func (w *webauthnUser) WebAuthnCredentials() []webauthn.Credential { return w.creds }

// credential is p as go-webauthn checks an assertion against it.
func (p *Passkey) credential() webauthn.Credential {
	transports := make([]protocol.AuthenticatorTransport, len(p.Transports))
	for i, t := range p.Transports {
		transports[i] = protocol.AuthenticatorTransport(t)
	}
	return webauthn.Credential{ID: p.CredentialID, PublicKey: p.PublicKey, AttestationType: p.AttestationType, Transport: transports,
		Flags:         webauthn.CredentialFlags{UserPresent: true, UserVerified: true, BackupEligible: p.BackupEligible, BackupState: p.BackupState},
		Authenticator: webauthn.Authenticator{AAGUID: p.AAGUID, SignCount: p.SignCount}}
}

// userFor is u with the given passkeys (verifiedOnly: only those that may
// sign in).
func userFor(u *User, keys []Passkey, verifiedOnly bool) *webauthnUser {
	w := &webauthnUser{u: u}
	for i := range keys {
		if !verifiedOnly || keys[i].Verified {
			w.creds = append(w.creds, keys[i].credential())
		}
	}
	return w
}

// userHandleOf is the user handle for a user UUID.
func userHandleOf(u *User) []byte { return (&webauthnUser{u: u}).WebAuthnID() }

func (s *PasskeyService) checkSSO(ctx context.Context, u *User) (enforced bool, err error) {
	if s.SSO == nil {
		return false, nil
	}
	p, err := s.SSO.EnforcedProvider(ctx, u.Email)
	return p != "", err
}

// issue stores the ceremony under a new key and returns the key for the
// challenge cookie. (Expired challenges are refused when answered and
// swept by the server's periodic Store.Sweep.)
func (s *PasskeyService) issue(ctx context.Context, purpose string, userID, ref int64, sd *webauthn.SessionData) (Secret, error) {
	now := s.now()
	sd.Expires = time.Time{} // the store's expiry is the one that counts
	ceremony, err := json.Marshal(sd)
	if err != nil {
		return "", err
	}
	key, hash := NewSessionKey()
	if err := s.Store.SaveWebAuthnChallenge(ctx, hash, &PasskeyChallenge{Purpose: purpose, UserID: userID, CredentialRef: ref,
		Ceremony: ceremony, ExpiresAt: now.Add(PasskeyChallengeTTL)}); err != nil {
		return "", err
	}
	return key, nil
}

// consume takes the challenge of key for purpose: it works once, within
// PasskeyChallengeTTL.
func (s *PasskeyService) consume(ctx context.Context, key, purpose string) (*PasskeyChallenge, *webauthn.SessionData, error) {
	if key == "" || len(key) > 128 {
		return nil, nil, errChallengeGone()
	}
	c, err := s.Store.ConsumeWebAuthnChallenge(ctx, HashSessionKey(key), purpose, s.now())
	if errors.Is(err, ErrNotFound) {
		return nil, nil, errChallengeGone()
	}
	if err != nil {
		return nil, nil, err
	}
	var sd webauthn.SessionData
	if err := json.Unmarshal(c.Ceremony, &sd); err != nil {
		return nil, nil, fmt.Errorf("passkeys: reading the stored ceremony: %w", err)
	}
	return c, &sd, nil
}

// BeginRegistration offers the creation options for a new passkey of u
// (discoverable, user verification required, ES512/ES256/EdDSA), excluding
// the passkeys u already has verified. It needs a recent sign-in and no
// SSO enforcement on the user's domain. The key goes in the challenge
// cookie.
func (s *PasskeyService) BeginRegistration(ctx context.Context, u *User, sess *Session) (*protocol.PublicKeyCredentialCreationOptions, Secret, error) {
	if err := RequireRecentAuth(sess, s.now()); err != nil {
		return nil, "", err
	}
	if enforced, err := s.checkSSO(ctx, u); err != nil {
		return nil, "", err
	} else if enforced {
		return nil, "", Invalid("sso_enforced", "", "Passkeys can't be added because your organization requires SSO.")
	}
	keys, err := s.Store.Passkeys(ctx, u.ID)
	if err != nil {
		return nil, "", err
	}
	wu := userFor(u, keys, true)
	creation, sd, err := s.RP.BeginRegistration(wu, webauthn.WithCredentialParameters(passkeyAlgorithms),
		webauthn.WithExclusions(webauthn.Credentials(wu.creds).CredentialDescriptors()),
		webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired))
	if err != nil {
		return nil, "", fmt.Errorf("passkeys: registration options: %w", err)
	}
	key, err := s.issue(ctx, ceremonyRegister, u.ID, 0, sd)
	if err != nil {
		return nil, "", err
	}
	return &creation.Response, key, nil
}

// validLabel trims a label and checks its length (1 to 200 characters).
func validLabel(label string) (string, error) {
	label = strings.TrimSpace(label)
	if n := utf8.RuneCountInString(label); n < 1 || n > PasskeyLabelMax || !utf8.ValidString(label) {
		return "", passkeyFailure(fmt.Sprintf("Label must be between 1 and %d characters.", PasskeyLabelMax), nil)
	}
	return label, nil
}

// FinishRegistration checks the browser's attestation (body: the
// PublicKeyCredential JSON) against the challenge of key and stores the new
// passkey, not yet verified: a proof of possession (BeginVerify) makes it
// usable.
func (s *PasskeyService) FinishRegistration(ctx context.Context, u *User, key string, body []byte, label string) (*Passkey, error) {
	if label == "" {
		label = PasskeyDefaultLabel
	}
	label, err := validLabel(label)
	if err != nil {
		return nil, err
	}
	c, sd, err := s.consume(ctx, key, ceremonyRegister)
	if err != nil {
		return nil, err
	}
	if c.UserID != u.ID {
		return nil, errChallengeGone()
	}
	if enforced, err := s.checkSSO(ctx, u); err != nil {
		return nil, err
	} else if enforced {
		return nil, Invalid("sso_enforced", "", "Passkeys can't be added because your organization requires SSO.")
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(body)
	if err != nil {
		return nil, passkeyFailure("The passkey response could not be read.", err)
	}
	keys, err := s.Store.Passkeys(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	cred, err := s.RP.CreateCredential(userFor(u, keys, true), *sd, parsed)
	if err != nil {
		return nil, passkeyFailure("Passkey registration failed.", err)
	}
	if !cred.Flags.UserVerified {
		return nil, passkeyFailure("Passkey registration failed: user verification is required.", nil)
	}
	alg, err := coseAlgorithm(cred.PublicKey)
	if err != nil {
		return nil, passkeyFailure("Passkey registration failed.", err)
	}
	transports := []string{}
	for _, t := range cred.Transport {
		if ts := string(t); ts != "" && len(ts) <= 32 && len(transports) < 8 {
			transports = append(transports, ts)
		}
	}
	p := &Passkey{UserID: u.ID, CredentialID: cred.ID, Label: label, PublicKey: cred.PublicKey, Algorithm: alg,
		SignCount: cred.Authenticator.SignCount, Transports: transports, BackupEligible: cred.Flags.BackupEligible,
		BackupState: cred.Flags.BackupState, AAGUID: cred.Authenticator.AAGUID, AttestationType: cred.AttestationType, CreatedAt: s.now()}
	ctx = WithAuditEvents(ctx, withTarget(AccountEvent(AuditPasskeyAdded, u), "passkey", "", label)) // audit log
	if err := s.Store.CreatePasskey(ctx, p); err != nil {
		if errors.Is(err, ErrConflict) {
			return nil, passkeyFailure("This passkey is already registered.", nil)
		}
		return nil, err
	}
	return p, nil
}

// coseAlgorithm reads the algorithm of a COSE public key.
func coseAlgorithm(key []byte) (int64, error) {
	var pk webauthncose.PublicKeyData
	if err := webauthncbor.Unmarshal(key, &pk); err != nil {
		return 0, err
	}
	return pk.Algorithm, nil
}

// assertionFor begins an assertion limited to keys and stores it for
// purpose.
func (s *PasskeyService) assertionFor(ctx context.Context, u *User, keys []Passkey, purpose string, ref int64) (*protocol.PublicKeyCredentialRequestOptions, Secret, error) {
	wu := userFor(u, keys, false)
	assertion, sd, err := s.RP.BeginLogin(wu, webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, "", fmt.Errorf("passkeys: request options: %w", err)
	}
	key, err := s.issue(ctx, purpose, u.ID, ref, sd)
	if err != nil {
		return nil, "", err
	}
	return &assertion.Response, key, nil
}

// BeginVerify offers request options limited to one of u's passkeys, for
// the proof of possession that makes it usable.
func (s *PasskeyService) BeginVerify(ctx context.Context, u *User, id int64) (*protocol.PublicKeyCredentialRequestOptions, Secret, error) {
	p, err := s.Store.Passkey(ctx, u.ID, id)
	if errors.Is(err, ErrNotFound) {
		return nil, "", errPasskeyNotFound()
	}
	if err != nil {
		return nil, "", err
	}
	return s.assertionFor(ctx, u, []Passkey{*p}, ceremonyVerify, p.ID)
}

// FinishVerify checks the assertion of passkey id against the challenge
// of key and marks the passkey verified.
func (s *PasskeyService) FinishVerify(ctx context.Context, u *User, id int64, key string, body []byte) (*Passkey, error) {
	c, sd, err := s.consume(ctx, key, ceremonyVerify)
	if err != nil {
		return nil, err
	}
	if c.UserID != u.ID || c.CredentialRef != id {
		return nil, errChallengeGone()
	}
	p, err := s.Store.Passkey(ctx, u.ID, id)
	if errors.Is(err, ErrNotFound) {
		return nil, errPasskeyNotFound()
	}
	if err != nil {
		return nil, err
	}
	if _, err := s.checkAssertion(ctx, u, []Passkey{*p}, sd, body, true); err != nil {
		return nil, err
	}
	return s.Store.Passkey(ctx, u.ID, id)
}

// parseAssertion reads an assertion body. go-webauthn refuses an id that
// differs from rawId; the check is repeated here so that no caller relies
// on it.
func parseAssertion(body []byte) (*protocol.ParsedCredentialAssertionData, error) {
	var head struct {
		ID    string                    `json:"id"`
		RawID protocol.URLEncodedBase64 `json:"rawId"`
	}
	if err := json.Unmarshal(body, &head); err != nil {
		return nil, passkeyFailure("The passkey response could not be read.", err)
	}
	if head.ID == "" || len(head.RawID) == 0 {
		return nil, passkeyFailure("The passkey response lacks its credential id.", nil)
	}
	if id, err := protocol.URLEncodedBase64.MarshalJSON(head.RawID); err != nil || string(id) != `"`+head.ID+`"` {
		return nil, passkeyFailure("The passkey response's id does not match its rawId.", nil)
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(body)
	if err != nil {
		return nil, passkeyFailure("The passkey response could not be read.", err)
	}
	return parsed, nil
}

// checkAssertion verifies an assertion (body) against the ceremony sd and
// u's keys, refuses a sign counter that does not move forward (logged), and
// records the use. verify marks the passkey verified.
func (s *PasskeyService) checkAssertion(ctx context.Context, u *User, keys []Passkey, sd *webauthn.SessionData, body []byte, verify bool) (*Passkey, error) {
	parsed, err := parseAssertion(body)
	if err != nil {
		return nil, err
	}
	if len(parsed.Response.UserHandle) > 0 && !bytes.Equal(parsed.Response.UserHandle, userHandleOf(u)) {
		return nil, passkeyFailure("Passkey authentication failed.", errors.New("user handle of another user"))
	}
	cred, err := s.RP.ValidateLogin(userFor(u, keys, false), *sd, parsed)
	if err != nil {
		return nil, passkeyFailure("Passkey authentication failed.", err)
	}
	return s.recordUse(ctx, u, keys, cred, verify)
}

// recordUse finds the passkey go-webauthn accepted, refuses a cloned one
// (sign counter not moving forward) and stores the new counter.
func (s *PasskeyService) recordUse(ctx context.Context, u *User, keys []Passkey, cred *webauthn.Credential, verify bool) (*Passkey, error) {
	var p *Passkey
	for i := range keys {
		if bytes.Equal(keys[i].CredentialID, cred.ID) {
			p = &keys[i]
		}
	}
	if p == nil {
		return nil, passkeyFailure("Passkey authentication failed.", errors.New("credential not among the user's"))
	}
	if cred.Authenticator.CloneWarning {
		s.counterRefused(ctx, u, p, cred.Authenticator.SignCount)
		return nil, passkeyFailure("Passkey authentication failed.", errors.New("sign counter did not increase"))
	}
	ok, err := s.Store.UsePasskey(ctx, p.ID, cred.Authenticator.SignCount, cred.Flags.BackupState, verify, s.now())
	if err != nil {
		return nil, err
	}
	if !ok { // a concurrent use with the same or a later counter
		s.counterRefused(ctx, u, p, cred.Authenticator.SignCount)
		return nil, passkeyFailure("Passkey authentication failed.", errors.New("sign counter did not increase"))
	}
	return p, nil
}

func (s *PasskeyService) counterRefused(ctx context.Context, u *User, p *Passkey, got uint32) {
	if s.Logger != nil {
		s.Logger.LogAttrs(ctx, slog.LevelWarn, "passkey refused: sign counter did not increase (possible cloned authenticator)",
			slog.String("user", u.UUID), slog.Int64("passkey", p.ID), slog.Uint64("stored_count", uint64(p.SignCount)), slog.Uint64("received_count", uint64(got)))
	}
}

// List returns u's passkeys, oldest first.
func (s *PasskeyService) List(ctx context.Context, u *User) ([]Passkey, error) {
	keys, err := s.Store.Passkeys(ctx, u.ID)
	if keys == nil {
		keys = []Passkey{}
	}
	return keys, err
}

// Rename changes the label of one of u's passkeys.
func (s *PasskeyService) Rename(ctx context.Context, u *User, id int64, label string) (*Passkey, error) {
	label, err := validLabel(label)
	if err != nil {
		return nil, err
	}
	ok, err := s.Store.RenamePasskey(ctx, u.ID, id, label)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errPasskeyNotFound()
	}
	return s.Store.Passkey(ctx, u.ID, id)
}

// Delete removes one of u's passkeys; it needs a recent sign-in. Deleting
// the last verified passkey turns passkey 2FA off (twoFactorOff).
func (s *PasskeyService) Delete(ctx context.Context, u *User, sess *Session, id int64) (twoFactorOff bool, err error) {
	if err := RequireRecentAuth(sess, s.now()); err != nil {
		return false, err
	}
	ctx = WithAuditEvents(ctx, withTarget(AccountEvent(AuditPasskeyRemoved, u), "passkey", strconv.FormatInt(id, 10), "")) // audit log
	deleted, off, err := s.Store.DeletePasskey(ctx, u.ID, id)
	if err != nil {
		return false, err
	}
	if !deleted {
		return false, errPasskeyNotFound()
	}
	return off, nil
}

// BeginLogin offers the request options of a passwordless login: no
// allowed credentials (the authenticator offers its discoverable ones),
// user verification required.
func (s *PasskeyService) BeginLogin(ctx context.Context) (*protocol.PublicKeyCredentialRequestOptions, Secret, error) {
	assertion, sd, err := s.RP.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, "", fmt.Errorf("passkeys: request options: %w", err)
	}
	key, err := s.issue(ctx, ceremonyLogin, 0, 0, sd)
	if err != nil {
		return nil, "", err
	}
	return &assertion.Response, key, nil
}

func errPasskeyLogin(cause error) *Error {
	return passkeyFailure("Passkey authentication failed.", cause)
}

// FinishLogin checks a passwordless login's assertion against the
// challenge of key. The user comes from the user handle; the lockout is
// checked for their email and address, SSO enforcement refuses them, and
// only a verified passkey of that very user, with a sign counter moving
// forward, signs them in. Every failure after the user is known counts
// toward the lockout.
func (s *PasskeyService) FinishLogin(ctx context.Context, key string, body []byte, clientIP string) (*User, error) {
	_, sd, err := s.consume(ctx, key, ceremonyLogin)
	if err != nil {
		return nil, err
	}
	parsed, err := parseAssertion(body)
	if err != nil {
		return nil, s.loginFailed(ctx, "", clientIP, err)
	}
	handle := parsed.Response.UserHandle
	if len(handle) == 0 {
		return nil, s.loginFailed(ctx, "", clientIP, passkeyFailure("The passkey response lacks its user handle.", nil))
	}
	var u *User
	if id, err := uuid.FromBytes(handle); err == nil {
		u, err = s.Store.UserByUUID(ctx, id.String())
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, err
		}
	}
	if u == nil {
		return nil, s.loginFailed(ctx, "", clientIP, errPasskeyLogin(errors.New("unknown user handle")))
	}
	if s.Guard != nil {
		if err := s.Guard.Check(ctx, u.Email, clientIP); err != nil {
			return nil, err
		}
	}
	if enforced, err := s.checkSSO(ctx, u); err != nil {
		return nil, err
	} else if enforced {
		return nil, passkeyFailure("You can only login with SSO for this account.", nil)
	}
	if !u.IsActive {
		return nil, s.loginFailed(ctx, u.Email, clientIP, errPasskeyLogin(errors.New("inactive user")))
	}
	keys, err := s.Store.Passkeys(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	verified := userFor(u, keys, true)
	_, cred, err := s.RP.ValidatePasskeyLogin(func(rawID, userHandle []byte) (webauthn.User, error) {
		if !bytes.Equal(userHandle, handle) {
			return nil, errors.New("user handle changed")
		}
		return verified, nil
	}, *sd, parsed)
	if err != nil {
		return nil, s.loginFailed(ctx, u.Email, clientIP, errPasskeyLogin(err))
	}
	if _, err := s.recordUse(ctx, u, keys, cred, false); err != nil {
		return nil, s.loginFailed(ctx, u.Email, clientIP, err)
	}
	if s.Guard != nil {
		if err := s.Guard.Succeeded(ctx, u.Email, clientIP); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// loginFailed counts a failed passkey login toward the lockout and returns
// the lockout error when this failure reached it, else cause.
func (s *PasskeyService) loginFailed(ctx context.Context, email, clientIP string, cause error) error {
	if s.Guard != nil {
		if err := s.Guard.Failed(ctx, email, clientIP); err != nil {
			return err
		}
	}
	return cause
}

// --- passkeys as second factor ---

// TwoFactorEnabled reports whether u's passkeys are a second factor:
// passkeys_enabled_for_2fa is on and a verified passkey exists.
func (s *PasskeyService) TwoFactorEnabled(ctx context.Context, userID int64) (bool, error) {
	on, err := s.Store.PasskeyTwoFactor(ctx, userID)
	if err != nil || !on {
		return false, err
	}
	return s.HasVerified(ctx, userID)
}

// TwoFactorFlag reports passkeys_enabled_for_2fa as set.
func (s *PasskeyService) TwoFactorFlag(ctx context.Context, userID int64) (bool, error) {
	if on, ok := s.flags.get(ctx, userID); ok {
		return on, nil
	}
	on, err := s.Store.PasskeyTwoFactor(ctx, userID)
	if err == nil {
		s.flags.put(ctx, userID, on)
	}
	return on, err
}

// HasVerified reports whether the user has a verified passkey.
func (s *PasskeyService) HasVerified(ctx context.Context, userID int64) (bool, error) {
	keys, err := s.Store.Passkeys(ctx, userID)
	if err != nil {
		return false, err
	}
	for _, k := range keys {
		if k.Verified {
			return true, nil
		}
	}
	return false, nil
}

// SetTwoFactor sets passkeys_enabled_for_2fa; it needs a recent sign-in,
// and turning it on needs a verified passkey. changed reports a change.
func (s *PasskeyService) SetTwoFactor(ctx context.Context, u *User, sess *Session, enabled bool) (changed bool, err error) {
	was, err := s.Store.PasskeyTwoFactor(ctx, u.ID)
	if err != nil || was == enabled {
		return false, err
	}
	if err := RequireRecentAuth(sess, s.now()); err != nil {
		return false, err
	}
	if !enabled {
		return s.Store.DisablePasskeyTwoFactor(ctx, u.ID)
	}
	on, err := s.Store.EnablePasskeyTwoFactor(ctx, u.ID, s.now())
	if err != nil {
		return false, err
	}
	if !on {
		return false, Invalid("no_passkeys", "passkeys_enabled_for_2fa", "You need at least one verified passkey to use passkeys for 2FA.")
	}
	return true, nil
}

// BeginSecondFactor offers request options limited to u's verified
// passkeys, for the second step of a password login.
func (s *PasskeyService) BeginSecondFactor(ctx context.Context, u *User) (*protocol.PublicKeyCredentialRequestOptions, Secret, error) {
	keys, err := s.Store.Passkeys(ctx, u.ID)
	if err != nil {
		return nil, "", err
	}
	var usable []Passkey
	for _, k := range keys {
		if k.Verified {
			usable = append(usable, k)
		}
	}
	if len(usable) == 0 {
		return nil, "", Invalid("no_passkeys", "", "This account has no passkey to use as second factor.")
	}
	return s.assertionFor(ctx, u, usable, ceremonySecondFactor, 0)
}

// FinishSecondFactor checks the second step's assertion against the
// challenge of key: a verified passkey of u, sign counter moving forward.
func (s *PasskeyService) FinishSecondFactor(ctx context.Context, u *User, key string, body []byte) error {
	c, sd, err := s.consume(ctx, key, ceremonySecondFactor)
	if err != nil {
		return err
	}
	if c.UserID != u.ID {
		return errChallengeGone()
	}
	keys, err := s.Store.Passkeys(ctx, u.ID)
	if err != nil {
		return err
	}
	var usable []Passkey
	for _, k := range keys {
		if k.Verified {
			usable = append(usable, k)
		}
	}
	// The event commits with the passkey's new sign counter (recordUse).
	ctx = WithAuditEvents(ctx, secondFactorEvent(u, "passkey")) // audit log
	_, err = s.checkAssertion(ctx, u, usable, sd, body, false)
	return err
}
