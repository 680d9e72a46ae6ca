package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// cmdOutbox lists the email outbox: what was sent, what waits, what failed.
// Bodies are not printed (they hold reset links).
func cmdOutbox(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var limit int
	var dataDir string
	fs := flag.NewFlagSet("outbox", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&limit, "limit", 50, "how many messages to list, newest first")
	fs.StringVar(&dataDir, "data-dir", "", "directory of the SQLite database (env GATEHOUSE_DATA_DIR)")
	if err := fs.Parse(args); err != nil {
		return exitError{code: 2}
	}
	var cfgArgs []string
	if dataDir != "" {
		cfgArgs = []string{"--data-dir", dataDir}
	}
	cfg, err := loadConfig("outbox", cfgArgs, stderr, false)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg, newLogger(cfg, stderr))
	if err != nil {
		return err
	}
	defer st.Close()
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
