package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/instance"
)

// cmdDomain runs `gatehouse domain verify --domain D [--force]`: check the
// domain's DNS challenge now, or with --force mark it verified without DNS,
// for operators who cannot publish TXT records.
func cmdDomain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && wantsHelp(args[:1]) {
		printHelp(helpOutput, "domain verify", nil)
		return nil
	}
	if len(args) == 0 || args[0] != "verify" {
		return exitError{code: 2, msg: "usage: gatehouse domain verify --domain D [--force]"}
	}
	var domain string
	var force bool
	cfg, err := loadConfig("domain verify", args[1:], stderr, false, func(fs *flag.FlagSet) {
		fs.StringVar(&domain, "domain", "", "the organization domain, e.g. example.com (required)")
		fs.BoolVar(&force, "force", false, "mark the domain verified without checking DNS")
	})
	if err != nil {
		return err
	}
	if domain == "" {
		return exitError{code: 2, msg: "gatehouse domain verify: --domain is required"}
	}
	logger := newLogger(cfg, stderr)
	st, err := openStore(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer st.Close()
	svc := &gatehouse.DomainService{Store: st, Resolver: instance.DNSResolver(cfg.DNSResolver), Logger: logger}
	var d *gatehouse.OrganizationDomain
	if force {
		d, err = svc.ForceVerify(ctx, domain)
	} else {
		d, err = svc.CheckDNS(ctx, domain)
	}
	if e, ok := gatehouse.AsError(err); ok && e.Kind == gatehouse.KindNotFound {
		return exitError{code: 1, msg: fmt.Sprintf("gatehouse domain verify: no organization has claimed %q", domain)}
	}
	if err != nil {
		return err
	}
	if !d.IsVerified() {
		return exitError{code: 1, msg: fmt.Sprintf("gatehouse domain verify: %s is not verified: publish a TXT record at %s with the value %s, or use --force",
			d.Domain, gatehouse.DomainChallengeRecord(d.Domain), d.VerificationChallenge)}
	}
	fmt.Fprintf(stdout, "Domain %s is verified (organization %s).\n", d.Domain, d.OrganizationID)
	return nil
}
