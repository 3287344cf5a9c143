package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/gatehouse-authz/gatehouse/client"
)

// auditCommands registers audit: an organisation's audit trail.
func auditCommands() []*command {
	return []*command{
		{
			name: "audit", args: "<organisation>", summary: "list the audit trail of an organisation, newest first",
			minArgs: 1, maxArgs: 1, flags: func(fs *flag.FlagSet, c *cliConfig) { fs.IntVar(&c.pageSize, "limit", 0, "at most `n` events") }, run: runAudit,
		},
	}
}

func runAudit(ctx context.Context, c *client.Client, inv invocation, out io.Writer) (int, error) {
	res, err := c.Audit(ctx, client.AuditQuery{Organisation: inv.args[0], Limit: inv.cfg.pageSize})
	if err != nil {
		return exitError, err
	}
	return exitOK, emit(out, inv.cfg, res, func(w io.Writer) {
		for _, e := range res.Events {
			actor := e.Actor
			if actor == "" {
				actor = "-"
			}
			fmt.Fprintf(w, "%s  %s  %s", e.At.Format("2006-01-02T15:04:05Z07:00"), actor, e.Action)
			if e.Reason != "" {
				fmt.Fprintf(w, "  (%s)", e.Reason)
			}
			fmt.Fprintln(w)
			for _, ch := range e.Changes {
				fmt.Fprintf(w, "    %s\n", ch)
			}
		}
	})
}
