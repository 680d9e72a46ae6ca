package httpapi_test

// The attack suite: HTTP-level tests that try an attack on a running server
// (both engines) and check that it is refused and changes nothing. Each test
// is named TestAttack<Rule> after the rule it checks. Index, by rule:
//
// attack_tenancy_test.go — one organization's objects are out of reach of another's users
//   TestAttackCrossOrganizationByID        projects, flags, project secret keys, invites, domains and
//                                          the organization itself, by id from another organization
//   TestAttackOtherUsersObjectsByID        personal API keys, login sessions and passkeys of another
//                                          user; 2FA reset of a user in another organization
// attack_roles_test.go — admin-only actions need admin
//   TestAttackMemberTriesAdminActions      every admin-only action tried as a plain member
// attack_scopes_test.go — a personal API key does only what its scopes say
//   TestAttackKeyScopes                    no scope for the resource, :read trying :write,
//                                          scoped_teams / scoped_organizations reaching another
//                                          project or organization, actions keys may not do
// attack_csrf_test.go — a signed-in browser's unsafe request needs the CSRF token and this site's Origin
//   TestAttackCSRFVariants                 missing token, token of another cookie, wrong Origin,
//                                          Referer alone, on API calls and on HTML forms
// attack_redirect_test.go — redirects after sign-in stay on this site
//   TestAttackOpenRedirect                 //evil, /\evil, https:evil, %2F%2Fevil, javascript:,
//                                          encoded CR/LF on every next/redirect parameter
// attack_proxy_test.go — the client address comes from the peer unless a trusted proxy says otherwise
//   TestAttackForwardedHeaderSpoofing      X-Forwarded-For, Forwarded, X-Real-IP with and without
//                                          a trusted proxy
//   TestAttackAllowListPathTricks          /api/../e, //e, /E, /e%2F..%2Fapi, trailing dots: the
//                                          allow-list cannot be walked around through a capture path
// attack_replay_test.go — single-use secrets work once
//   TestAttackReplaySingleUseTokens        reset token, invite, verification link, TOTP code, backup
//                                          code used twice
//   TestAttackRaceSingleUseTokens          the same single-use token sent at once by many clients:
//                                          exactly one wins
//
// The fixes of the security review (TestAttackIndexIsComplete keeps this
// index complete):
//
// attack_access_test.go — key scoping, the allow-list's exemptions, enforced 2FA
//   TestAttackKeyScopingOnFlagRoutes, TestAttackKeyScopingOnEveryKeyRoute,
//   TestAttackLegacyKeyHashAmplification, TestAttackAllowListExemptionNarrow,
//   TestAttackExemptPathIgnoresCredentials, TestAttackTwoFactorEnforcedPerTargetOrganization
// attack_integrity_test.go — invites, verification, signup throttle
//   TestAttackInviteAcceptanceDoesNotVerifyEmail, TestAttackInvitePageAcceptanceDoesNotVerifyEmail,
//   TestAttackInvitePreClaimEndsWithPasswordReset,
//   TestAttackInvitePreClaimEndsWithSSOTakeover, TestAttackSignupThrottleCountsOnlySuccesses,
//   TestAttackSignupThrottleConcurrentSuccesses
// attack_lifecycle_test.go — account deletion
//   TestAttackAccountDeletion
// attack_lockout_test.go — password guesses are bounded per (email, address) and per account
//   TestAttackLockoutConcurrentGuesses, TestAttackLockoutBurstWithRightPassword,
//   TestAttackLockoutIPv6Rotation, TestAttackLockoutAccountCeiling,
//   TestAttackLockoutCurrentPassword, TestAttackLockoutConcurrentGuessesTwoInstances
// attack_members_test.go — membership changes take effect on the next request
//   TestAttackRemovedMemberLosesAccessAtOnce, TestAttackDemotedAdminLosesAdminAtOnce
// attack_twofactor_test.go — second-factor guessing is slowed down
//   TestAttackTOTPGuessing
// attack_web_test.go — login CSRF, session-bound CSRF tokens, page input
//   TestAttackLoginCSRFOriginVariants, TestAttackLoginCSRFEverySignInEndpoint,
//   TestAttackLoginCSRFBodyType, TestAttackCSRFTokenBoundToSession,
//   TestAttackInjectedNotice, TestAttackBadBytes
