package mail

import (
	"strconv"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// noticeTimeLayout is how a notice writes the time of what it reports.
const noticeTimeLayout = "January 2, 2006 at 15:04 UTC"

// noticeNow is the current time as notices write it.
func noticeNow() string { return time.Now().UTC().Format(noticeTimeLayout) }

// PasswordChangedNotice is the notice of a password change from settings.
func PasswordChangedNotice(email string) Message {
	return Message{To: email, Subject: "Your Gatehouse password was changed",
		Text: "The password of your account " + email + " was changed at " + noticeNow() +
			". Every other session was signed out.\n\nIf this was not you, reset your password now and contact your administrator."}
}

// EmailChangeLinkNotice carries the confirmation link of an email change
// to the new address.
func EmailChangeLinkNotice(currentEmail, newEmail, link string) Message {
	return Message{To: newEmail, Subject: "Confirm your new email address for Gatehouse",
		Text: "Someone signed in as " + currentEmail + " asked to change the account's email address to " + newEmail + ".\n\n" +
			"Confirm it by opening this link within 24 hours (it works once):\n\n" + link +
			"\n\nUntil then the address stays " + currentEmail + ". If you did not ask for this, ignore this message."}
}

// EmailChangeRequestedNotice tells the current address that a change to
// newEmail was asked for.
func EmailChangeRequestedNotice(currentEmail, newEmail string) Message {
	return Message{To: currentEmail, Subject: "Your Gatehouse email address is about to change",
		Text: "At " + noticeNow() + " someone signed in to your account " + currentEmail +
			" asked to change its email address to " + newEmail + ". The change happens only when the link sent to the new address is used.\n\n" +
			"If this was not you, change your password now and contact your administrator."}
}

// EmailChangedNotice tells the old address that the change is done;
// keptSocialLinks says whether the account still has social sign-in links
// made under the old address.
func EmailChangedNotice(oldEmail, newEmail string, keptSocialLinks bool) Message {
	text := "The email address of your Gatehouse account was changed from " + oldEmail + " to " + newEmail + " at " +
		noticeNow() + ". Every session was signed out."
	if keptSocialLinks {
		text += "\n\nThe account's social sign-in links are kept; they were made while the address was " + oldEmail + "."
	}
	return Message{To: oldEmail, Subject: "Your Gatehouse email address was changed",
		Text: text + "\n\nIf this was not you, contact your administrator now."}
}

// AccountDeletedNotice confirms a deletion to the deleted account's address.
func AccountDeletedNotice(email string) Message {
	return Message{To: email, Subject: "Your Gatehouse account was deleted",
		Text: "The Gatehouse account " + email + " was deleted at " + noticeNow() +
			", with its sessions, personal API keys, passkeys, two-factor settings, trusted devices and social sign-in links.\n\n" +
			"If this was not you, contact your administrator."}
}

// NewDeviceNotice is the notice of a sign-in from a device not seen
// lately: at is when the session began, browser a short description of its
// user agent, loginMethod the session's method ("password" or empty for
// email and password).
func NewDeviceNotice(email string, at time.Time, clientIP, browser, loginMethod string) Message {
	if clientIP == "" {
		clientIP = "unknown"
	}
	method := "Email/password"
	if loginMethod != "password" && loginMethod != "" {
		method = loginMethod
	}
	return Message{To: email, Subject: "A new device logged into your account", Text: "Your account " + email + " was signed in to from a new device.\n\n" +
		"Time: " + at.UTC().Format(noticeTimeLayout) + "\n" +
		"IP address: " + clientIP + "\n" +
		"Browser: " + browser + "\n" +
		"Login method: " + method + "\n\n" +
		"If this was you, there is nothing to do. If not, change your password now and sign out your other sessions in your account settings."}
}

// InviteNotice invites to into orgName; inviter is the inviter's name (or
// email when they have none), link the sign-up page of the invite.
func InviteNotice(to, inviter, inviterEmail, orgName, link string) Message {
	return Message{To: to, Subject: inviter + " invited you to " + orgName + " on Gatehouse",
		Text: inviter + " (" + inviterEmail + ") invited you to join " + orgName + " on Gatehouse.\n\n" +
			"Create your account here:\n\n" + link + "\n\nThe invite expires in 3 days.\n"}
}

// VerificationNotice carries the link that verifies an account's address.
func VerificationNotice(email, link string) Message {
	return Message{To: email, Subject: "Verify your email address for Gatehouse",
		Text: "Confirm that " + email + " is your email address by opening this link within 24 hours:\n\n" + link +
			"\n\nIf you did not sign up, ignore this message."}
}

// SocialLinkedNotice is the notice that a sign-in method was linked (A.4):
// backend is its id, providerName what users call it.
func SocialLinkedNotice(email, backend, providerName string) Message {
	return Message{To: email, Subject: "A new sign-in method was linked to your account",
		Text: "A " + providerName + " account (" + backend + ") was linked to your account " + email + ": it can now be used to sign in.\n\n" +
			"If this was you, there is nothing to do. If not, remove it in your account settings and change your password."}
}

// SocialTakeoverNotice tells the owner of an address that signing in
// through providerName took over an account registered with it but never
// verified, and what that revoked (key labels, never values).
func SocialTakeoverNotice(email, providerName string, revokedKeyLabels []string) Message {
	return Message{To: email, Subject: "Your Gatehouse account was taken over by a single sign-on",
		Text: "Someone signed in with " + providerName + " as " + email + ". The Gatehouse account registered with this address had never verified it, " +
			"so whoever set it up before may have known its password: the sign-in took the account over, that password no longer works and every session was signed out.\n\n" +
			gatehouse.RevokedAccessText(revokedKeyLabels) +
			"If this was you, sign in with " + providerName + " from now on, or set a new password with \"Forgot password\". If not, contact your administrator at once.\n"}
}

// EmailMFANotice carries the sign-in link of email MFA.
func EmailMFANotice(email, link string) Message {
	return Message{To: email, Subject: "Confirm your sign-in to Gatehouse",
		Text: "Someone signed in to " + email + " with the right password. To finish signing in, open this link within 15 minutes:\n\n" + link +
			"\n\nThe link works once. If this was not you, change your password now: someone knows it."}
}

// TwoFactorResetNotice is the notice that an administrator removed a
// user's second factors; by names who did it. The API and the command line
// send it.
func TwoFactorResetNotice(email, by string) Message {
	return twoFactorNotice(email, "Your 2FA was reset by an administrator",
		"The two-factor authentication of your account "+email+" was reset by "+by+". Your authenticator, backup codes and trusted devices were removed; "+
			"set up 2FA again from your account settings.\n\nIf you did not ask for this, contact your administrator.")
}

// TwoFactorEnabledNotice is the notice that TOTP was turned on.
func TwoFactorEnabledNotice(email string) Message {
	return twoFactorNotice(email, "You've enabled 2FA protection",
		"Two-factor authentication is now on for your account "+email+". Signing in will ask for a code from your authenticator app.\n\n"+
			"If this was not you, reset your password now and contact your administrator.")
}

// TwoFactorDisabledNotice is the notice that TOTP was turned off.
func TwoFactorDisabledNotice(email string) Message {
	return twoFactorNotice(email, "You've disabled 2FA protection",
		"Two-factor authentication was turned off for your account "+email+". Your backup codes and trusted devices were removed.\n\n"+
			"If this was not you, reset your password now, turn 2FA back on and contact your administrator.")
}

// PasskeyTwoFactorEnabledNotice is the notice that passkeys became a
// second factor.
func PasskeyTwoFactorEnabledNotice(email string) Message {
	return twoFactorNotice(email, "You've enabled 2FA protection",
		"Passkeys are now a second factor for your account "+email+". Signing in with a password will ask for one of your passkeys.\n\n"+
			"If this was not you, reset your password now and contact your administrator.")
}

// PasskeyTwoFactorDisabledNotice is the notice that passkeys stopped being
// a second factor.
func PasskeyTwoFactorDisabledNotice(email string) Message {
	return twoFactorNotice(email, "You've disabled 2FA protection",
		"Passkeys are no longer a second factor for your account "+email+".\n\n"+
			"If this was not you, reset your password now, turn 2FA back on and contact your administrator.")
}

// BackupCodeUsedNotice is the notice of a sign-in with a backup code from
// clientIP.
func BackupCodeUsedNotice(email, clientIP string) Message {
	return twoFactorNotice(email, "A backup code was used for your account",
		"One of the backup codes of your account "+email+" was just used to sign in (IP address "+clientIP+"). That code no longer works.\n\n"+
			"If this was not you, reset your password and 2FA now.")
}

// TwoFactorFailuresNotice is the notice of count repeated wrong
// second-step codes, the last from clientIP.
func TwoFactorFailuresNotice(email string, count int64, clientIP string) Message {
	return twoFactorNotice(email, "Repeated wrong 2FA codes for your account",
		"Someone signed in to your account "+email+" with the right password, then entered a wrong two-factor code "+
			strconv.FormatInt(count, 10)+" times (last from IP address "+clientIP+"). Further codes are now delayed.\n\n"+
			"If this was not you, someone knows your password: change it now and review your trusted devices.")
}

// twoFactorNotice appends the time to a two-factor notice.
func twoFactorNotice(email, subject, text string) Message {
	return Message{To: email, Subject: subject, Text: text + "\n\nTime: " + noticeNow()}
}
