package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// commandHelp is what `gatehouse <command> --help` prints around the
// command's flags.
type commandHelp struct {
	usage       string
	description string
	examples    []string
}

// helps describes every subcommand.
var helps = map[string]commandHelp{
	"serve": {"gatehouse serve [flags]",
		"Runs the server: applies pending migrations, then serves the API, the pages and event capture on --addr.\n" +
			"On a first run (no account yet) the log prints the URL that creates the first account.",
		[]string{"DEBUG=1 gatehouse serve                      # development: key generated in ./data, http://localhost:8000",
			"SECRET_KEY=… SITE_URL=https://auth.example.com IS_BEHIND_PROXY=1 gatehouse serve --addr 0.0.0.0:8000"}},
	"migrate": {"gatehouse migrate [flags]",
		"Applies pending database migrations and exits; serve applies them too.",
		[]string{"gatehouse migrate --data-dir /var/lib/gatehouse", "DATABASE_URL=postgres://gatehouse@db/gatehouse gatehouse migrate"}},
	"createuser": {"gatehouse createuser --email E --password P --organization O [flags]",
		"Creates an organization, its default project and its owner, and prints the project's tokens.\n" +
			"With SQLite it refuses to create a new database unless --data-dir names the server's directory or --init is given.",
		[]string{"gatehouse createuser --data-dir ./data --email ops@example.com --password-stdin --organization Acme < pw.txt",
			"gatehouse createuser --init --email ops@example.com --password 'correct horse battery staple' --organization Acme"}},
	"two-factor-reset": {"gatehouse two-factor-reset --email E [flags]",
		"Removes a user's second factor (TOTP, backup codes, trusted devices) and emails them that it was removed.",
		[]string{"gatehouse two-factor-reset --email ada@example.com"}},
	"domain verify": {"gatehouse domain verify --domain D [--force] [flags]",
		"Checks an organization domain's DNS challenge now, or with --force marks it verified without DNS.",
		[]string{"gatehouse domain verify --domain example.com", "gatehouse domain verify --domain example.com --force"}},
	"outbox": {"gatehouse outbox [--limit N] [--show ID] [flags]",
		"Lists queued, sent and failed emails without their bodies; --show ID prints one message with its text\n" +
			"(links included; a sent message's body is already removed).",
		[]string{"gatehouse outbox --limit 20", "gatehouse outbox --show 42"}},
	"generate-secret": {"gatehouse generate-secret",
		"Prints a new random SECRET_KEY.",
		[]string{"SECRET_KEY=$(gatehouse generate-secret)"}},
	"version": {"gatehouse version", "Prints the version.", []string{"gatehouse version"}},
}

// wantsHelp reports whether args ask for help before any "--".
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

// helpOutput receives --help texts; run points it at its stdout.
var helpOutput io.Writer = os.Stdout

// printHelp writes name's help, with fs's flags when fs is not nil.
func printHelp(w io.Writer, name string, fs *flag.FlagSet) {
	h := helps[name]
	fmt.Fprintf(w, "Usage: %s\n\n%s\n", h.usage, h.description)
	if fs != nil {
		fmt.Fprintln(w, "\nFlags:")
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
	fmt.Fprintf(w, "\nExamples:\n  %s\n", strings.Join(h.examples, "\n  "))
}
