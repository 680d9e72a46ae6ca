package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/gatehouse-auth/gatehouse/internal/config"
	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/password"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

func cmdCreateUser(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	var email, pw, org, first, last string
	var pwStdin, staff, unverifiedEmail, initDB bool
	var flags *flag.FlagSet
	cfg, err := loadConfig("createuser", args, stderr, false, func(fs *flag.FlagSet) {
		flags = fs
		fs.BoolVar(&initDB, "init", false, "create a new SQLite database when the data directory has none")
		fs.StringVar(&email, "email", "", "the owner's email address (required)")
		fs.StringVar(&pw, "password", "", "the owner's password (or use --password-stdin)")
		fs.BoolVar(&pwStdin, "password-stdin", false, "read the password from the first line of standard input")
		fs.StringVar(&org, "organization", "", "the organization's name (required)")
		fs.StringVar(&first, "first-name", "", "the owner's first name")
		fs.StringVar(&last, "last-name", "", "the owner's last name")
		fs.BoolVar(&staff, "staff", false, "make the user instance staff")
		fs.BoolVar(&unverifiedEmail, "unverified", false, "leave the email unverified (by default the operator vouches for it, so a single sign-on with this address links to the account instead of taking it over)")
	})
	if err != nil {
		return err
	}
	if pwStdin {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && line == "" {
			return exitError{code: 2, msg: "gatehouse createuser: could not read a password from standard input"}
		}
		pw = strings.TrimRight(line, "\r\n")
	}
	if email == "" || pw == "" || org == "" {
		return exitError{code: 2, msg: "gatehouse createuser: --email, --password (or --password-stdin) and --organization are required"}
	}
	if err := checkDatabaseExists(cfg, flags, initDB); err != nil {
		return err
	}
	logger := newLogger(cfg, stderr)
	st, err := openStore(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer st.Close()
	accounts := &gatehouse.AccountService{Store: st, HashPassword: password.Hash, CheckPassword: password.CheckStrength}
	created, err := accounts.CreateOrganizationWithOwner(ctx, gatehouse.NewOwner{
		Email: email, Password: gatehouse.Secret(pw), FirstName: first, LastName: last, OrganizationName: org, IsStaff: staff,
		Verified: !unverifiedEmail, Unverified: unverifiedEmail,
	})
	if err != nil {
		if e, ok := gatehouse.AsError(err); ok {
			return exitError{code: 1, msg: fmt.Sprintf("gatehouse createuser: %s: %s", e.Attr, e.Detail)}
		}
		return err
	}
	fmt.Fprintf(stdout, "Created organization %q (%s) with owner %s (%s).\n", created.Organization.Name, created.Organization.ID, created.User.Email, created.User.UUID)
	fmt.Fprintf(stdout, "Project %q (id %d)\n", created.Project.Name, created.Project.ID)
	fmt.Fprintf(stdout, "  project API token (public): %s\n", created.Project.APIToken)
	fmt.Fprintf(stdout, "  project secret token:       %s\n", created.ProjectSecret.Reveal())
	fmt.Fprintln(stdout, "The secret token is shown only now; Gatehouse stores only its hash.")
	return nil
}

// checkDatabaseExists refuses to create a SQLite database silently: an
// operator who runs createuser from another directory than the server's
// would otherwise make an account in a new, unused database. Naming the
// directory (--data-dir, or GATEHOUSE_DATA_DIR other than the default)
// or passing --init allows a new one.
func checkDatabaseExists(cfg *config.Config, fs *flag.FlagSet, initDB bool) error {
	if initDB || cfg.DatabaseURL.Reveal() != "" || cfg.DataDir != config.DefaultDataDir {
		return nil
	}
	named := false
	fs.Visit(func(f *flag.Flag) { named = named || f.Name == "data-dir" })
	if named {
		return nil
	}
	path := filepath.Join(cfg.DataDir, store.SQLiteFile)
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	return exitError{code: 2, msg: "gatehouse createuser: there is no database at " + path + ".\n" +
		"Pass --data-dir with the directory the server uses, or --init to create a new database there."}
}
