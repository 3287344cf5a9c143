package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/gatehouse-authz/gatehouse/client"
)

// exceptionCommands registers the exception commands: who may file a
// kind of request that is authorised when filed (C6).
func exceptionCommands() []*command {
	return []*command{
		{
			name: "exception grant", args: "<org> <user> <kind> [target]", summary: "let a user file one kind of request, authorised when filed (main contacts, C6)",
			writes: true, minArgs: 3, maxArgs: 4, needsActor: true, flags: func(fs *flag.FlagSet, c *cliConfig) {
				reasonFlag(fs, c)
				fs.StringVar(&c.expires, "expires", "", "the exception ends at this `time` (RFC 3339)")
			}, run: runExceptionGrant,
		},
		{
			name: "exception revoke", args: "<org> <user> <kind>", summary: "revoke an exception",
			writes: true, minArgs: 3, maxArgs: 3, needsActor: true, run: runExceptionRevoke,
		},
		{
			name: "exception list", args: "<org>", summary: "list an organisation's exceptions (main contacts and provider staff)",
			minArgs: 1, maxArgs: 1, needsActor: true, flags: pageFlags, run: runExceptionList,
		},
	}
}

func runExceptionGrant(ctx context.Context, c *client.Client, inv invocation, out io.Writer) (int, error) {
	req := client.GrantExceptionRequest{User: inv.args[1], Kind: inv.args[2], ExpiresAt: inv.cfg.expires, Reason: inv.cfg.reason}
	if len(inv.args) > 3 {
		req.Target = inv.args[3]
	}
	e, err := c.GrantException(ctx, inv.args[0], req)
	if err != nil {
		return exitError, err
	}
	return exitOK, emit(out, inv.cfg, e, func(w io.Writer) {
		fmt.Fprintf(w, "%s may file %s", e.User, e.Kind)
		if e.Target != "" {
			fmt.Fprintf(w, " on %s", e.Target)
		}
		if e.ExpiresAt != "" {
			fmt.Fprintf(w, " until %s", e.ExpiresAt)
		}
		fmt.Fprintf(w, ", authorised when filed\n")
	})
}

func runExceptionRevoke(ctx context.Context, c *client.Client, inv invocation, out io.Writer) (int, error) {
	w, err := c.RevokeException(ctx, inv.args[0], inv.args[1], inv.args[2])
	if err != nil {
		return exitError, err
	}
	return exitOK, printToken(out, inv.cfg, w)
}

func runExceptionList(ctx context.Context, c *client.Client, inv invocation, out io.Writer) (int, error) {
	l, err := c.ListExceptions(ctx, inv.args[0], client.ListExceptionsOptions{Limit: inv.cfg.pageSize, Cursor: inv.cfg.cursor})
	if err != nil {
		return exitError, err
	}
	return exitOK, emit(out, inv.cfg, l, func(w io.Writer) {
		if len(l.Exceptions) == 0 {
			fmt.Fprintln(w, "no exceptions")
			return
		}
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "USER\tKIND\tTARGET\tEXPIRES")
		for _, e := range l.Exceptions {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.User, e.Kind, dash(e.Target), dash(e.ExpiresAt))
		}
		_ = tw.Flush()
		printMore(w, l.Cursor)
	})
}
