package main

import (
	"context"
	"fmt"
	"io"

	"github.com/gatehouse-authz/gatehouse/client"
)

// dryRunNote ends a dry run's answer for a person.
const dryRunNote = "dry run: nothing was written"

// runDry runs a writing command with --dry-run (X7): its write goes with
// ?dryRun=true, what the command would print is dropped, and the server's
// answer is printed instead: the relationships it would touch or delete,
// then who would gain or lose which permission.
func runDry(ctx context.Context, c *client.Client, inv invocation, out io.Writer) (int, error) {
	dr, err := c.DryRun(func(c *client.Client) error {
		_, err := inv.cmd.run(ctx, c, inv, io.Discard)
		return err
	})
	if err != nil {
		return exitError, err
	}
	return exitOK, emit(out, inv.cfg, dr, func(w io.Writer) { printDryRun(w, dr) })
}

func printDryRun(w io.Writer, dr *client.DryRun) {
	for _, ch := range dr.Changes {
		fmt.Fprintf(w, "would %s\n", ch)
	}
	if len(dr.Changes) == 0 {
		fmt.Fprintln(w, "would change no relationship")
	}
	for _, e := range dr.Effects {
		verb := "loses"
		if e.Change == "gained" {
			verb = "gains"
		}
		fmt.Fprintf(w, "%s %s %s on %s\n", e.Subject, verb, e.Permission, e.On)
	}
	switch {
	case dr.EffectsTruncated:
		fmt.Fprintln(w, "effects left out: the organisations it touches are too large to compare (X7's bounds)")
	case len(dr.Effects) == 0:
		fmt.Fprintln(w, "no one would gain or lose a permission")
	}
	fmt.Fprintln(w, dryRunNote)
}
