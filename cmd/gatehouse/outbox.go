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
	cfg, err := loadConfig("outbox", args, stderr, false, func(fs *flag.FlagSet) {
		fs.IntVar(&limit, "limit", 50, "how many messages to list, newest first")
	})
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
