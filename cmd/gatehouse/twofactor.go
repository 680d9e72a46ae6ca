package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/mail"
)

// cmdTwoFactorReset removes a user's second factors (TOTP, backup codes,
// trusted devices) for an operator, when the user lost their phone and no
// organization admin can help, and emails the user.
func cmdTwoFactorReset(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var email string
	cfg, err := loadConfig("two-factor-reset", args, stderr, false, func(fs *flag.FlagSet) {
		fs.StringVar(&email, "email", "", "the user's email address (required)")
	})
	if err != nil {
		return err
	}
	if email == "" {
		return exitError{code: 2, msg: "gatehouse two-factor-reset: --email is required"}
	}
	logger := newLogger(cfg, stderr)
	st, err := openStore(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer st.Close()
	tf := &gatehouse.TwoFactorService{Store: st}
	u, had, err := tf.OperatorReset(ctx, email)
	if errors.Is(err, gatehouse.ErrNotFound) {
		return exitError{code: 1, msg: fmt.Sprintf("gatehouse two-factor-reset: no user with email %q", email)}
	}
	if err != nil {
		return err
	}
	if err := newMailer(cfg, st, logger).Queue(ctx, mail.TwoFactorResetNotice(u.Email, "an operator of this Gatehouse instance")); err != nil {
		logger.Error("queueing the 2FA reset email failed", "error", err)
	}
	logger.Info("2fa reset by operator", "user", u.UUID)
	if had {
		fmt.Fprintf(stdout, "Removed the 2FA of %s (%s): TOTP, backup codes and trusted devices. They were emailed.\n", u.Email, u.UUID)
	} else {
		fmt.Fprintf(stdout, "%s (%s) had no TOTP; any backup codes and trusted devices were removed.\n", u.Email, u.UUID)
	}
	return nil
}
