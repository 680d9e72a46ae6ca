// Command gatehouse is Gatehouse's single binary: the server and the
// operator's tools. Run `gatehouse help` for the subcommands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `gatehouse — authentication and access security for PostHog-compatible stacks

Usage:
  gatehouse serve [--addr localhost:8000] [--data-dir ./data]   run the server (applies migrations)
        [--metrics-addr 127.0.0.1:9102]                           also serve Prometheus /metrics there
  gatehouse migrate [--data-dir ./data]                           apply database migrations and exit
  gatehouse generate-secret                                       print a new SECRET_KEY
  gatehouse createuser --email E --password P --organization O    create an organization, its default
                                                                  project and its owner
  gatehouse two-factor-reset --email E                           remove a user's 2FA (TOTP, backup codes,
                                                                  trusted devices) and email them
  gatehouse domain verify --domain D [--force]                   check an organization domain's DNS challenge
                                                                  now, or mark it verified without DNS
  gatehouse outbox [--limit 50] [--show ID]                      list queued, sent and failed emails, or
                                                                  print one with its text
  gatehouse audit verify                                         check the audit log's hash chain; names
                                                                  the first altered, removed or inserted event
  gatehouse audit export --since 2026-01-02 [--until …] [--format jsonl]
                                                                  print audit events as JSON lines
  gatehouse version                                               print the version

Every command takes --help for its flags and examples.
Configuration comes from the environment with PostHog's names (SECRET_KEY, DEBUG,
DATABASE_URL, ALLOWED_IP_BLOCKS, …); see the README.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	var exit exitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		if exit.msg != "" {
			fmt.Fprintln(os.Stderr, exit.msg)
		}
		os.Exit(exit.code)
	default:
		fmt.Fprintln(os.Stderr, "gatehouse:", err)
		os.Exit(1)
	}
}

// exitError ends the process with a code and an optional message.
type exitError struct {
	code int
	msg  string
}

func (e exitError) Error() string { return e.msg }

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitError{code: 2}
	}
	helpOutput = stdout
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		return cmdServe(ctx, rest, stderr)
	case "migrate":
		return cmdMigrate(ctx, rest, stdout, stderr)
	case "generate-secret":
		if wantsHelp(rest) {
			printHelp(stdout, cmd, nil)
			return nil
		}
		return cmdGenerateSecret(stdout)
	case "createuser":
		return cmdCreateUser(ctx, rest, stdin, stdout, stderr)
	case "outbox":
		return cmdOutbox(ctx, rest, stdout, stderr)
	case "domain":
		return cmdDomain(ctx, rest, stdout, stderr)
	case "two-factor-reset":
		return cmdTwoFactorReset(ctx, rest, stdout, stderr)
	case "audit":
		return cmdAudit(ctx, rest, stdout, stderr)
	case "version", "--version":
		if wantsHelp(rest) {
			printHelp(stdout, "version", nil)
			return nil
		}
		fmt.Fprintln(stdout, "gatehouse", versionString())
		return nil
	case "help", "-h", "--help":
		if len(rest) > 0 {
			if _, ok := helps[strings.Join(rest, " ")]; ok {
				printHelp(stdout, strings.Join(rest, " "), nil)
				return nil
			}
		}
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprintf(stderr, "gatehouse: unknown command %q\n\n%s", cmd, usage)
		return exitError{code: 2}
	}
}

func versionString() string {
	v := version
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " (" + s.Value[:12] + ")"
			}
		}
		v += " " + info.GoVersion
	}
	return v
}
