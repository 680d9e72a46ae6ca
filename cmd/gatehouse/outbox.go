package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// cmdOutbox lists the email outbox: what was sent, what waits, what failed.
// Bodies are not listed (they hold reset links); --show ID prints one
// message with its text, for an operator without email configured to
// hand a link on.
func cmdOutbox(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var limit int
	var show int64
	cfg, err := loadConfig("outbox", args, stderr, false, func(fs *flag.FlagSet) {
		fs.IntVar(&limit, "limit", 50, "how many messages to list, newest first")
		fs.Int64Var(&show, "show", 0, "print the message with this ID, text included")
	})
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg, newLogger(cfg, stderr))
	if err != nil {
		return err
	}
	defer st.Close()
	if show != 0 {
		return showMail(ctx, st, show, stdout)
	}
	msgs, err := st.ListMail(ctx, limit)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCREATED\tSTATUS\tATTEMPTS\tTO\tSUBJECT\tLAST ERROR")
	for _, m := range msgs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%s\t%s\n", m.ID, m.CreatedAt.UTC().Format(time.RFC3339), m.Status, m.Attempts, m.To, m.Subject, m.LastError)
	}
	return tw.Flush()
}

// showMail prints one outbox message with its text.
func showMail(ctx context.Context, st *store.Store, id int64, stdout io.Writer) error {
	m, err := st.MailByID(ctx, id)
	if errors.Is(err, gatehouse.ErrNotFound) {
		return exitError{code: 1, msg: fmt.Sprintf("gatehouse outbox: no message %d", id)}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "ID:       %d\nCreated:  %s\nStatus:   %s\nAttempts: %d\nTo:       %s\nSubject:  %s\n",
		m.ID, m.CreatedAt.UTC().Format(time.RFC3339), m.Status, m.Attempts, m.To, m.Subject)
	if m.LastError != "" {
		fmt.Fprintf(stdout, "Error:    %s\n", m.LastError)
	}
	if m.Text == "" {
		fmt.Fprintln(stdout, "\n(no text: a message's body is removed once it is sent)")
		return nil
	}
	fmt.Fprintf(stdout, "\n%s\n", m.Text)
	return nil
}
