package main

import (
	"context"
	"fmt"
	"io"

	"github.com/gatehouse-authz/gatehouse/client"
)

// runWhy explains a check (X6): when allowed, the chains that grant it, as
// explain prints them; when denied, the summary and then each way the
// permission could be granted, with the relationships it lacks (and who
// may write them) and what blocks it (by rule, and who may lift it). It
// exits as check does.
func runWhy(ctx context.Context, c *client.Client, inv invocation, out io.Writer) (int, error) {
	res, err := c.Explain(ctx, checkRequest(inv))
	if err != nil {
		return exitError, err
	}
	err = emit(out, inv.cfg, res, func(w io.Writer) { printWhy(w, res) })
	return deniedCode(inv.cfg, res.Allowed), err
}

func printWhy(w io.Writer, res *client.Explanation) {
	if res.Allowed {
		fmt.Fprintln(w, "allowed")
	} else {
		fmt.Fprintln(w, "denied")
	}
	if res.Summary != "" {
		fmt.Fprintln(w, res.Summary)
	}
	for i, p := range res.Paths {
		fmt.Fprintf(w, "\npath %d:\n", i+1)
		for _, r := range p {
			fmt.Fprintf(w, "  %s\n", r)
		}
	}
	for i, way := range res.WhyNot {
		fmt.Fprintf(w, "\nway %d: %s\n", i+1, way.Via)
		for _, m := range way.Missing {
			fmt.Fprintf(w, "  missing %s\n", m.Relationship)
			printGrantors(w, "who may write it", m.Grantors)
		}
		for _, b := range way.BlockedBy {
			fmt.Fprintf(w, "  blocked by %s", b.Relation)
			switch {
			case b.Rule != "" && b.Reason != "":
				fmt.Fprintf(w, " (%s: %s)", b.Rule, b.Reason)
			case b.Rule != "" || b.Reason != "":
				fmt.Fprintf(w, " (%s%s)", b.Rule, b.Reason)
			}
			fmt.Fprintln(w)
			printGrantors(w, "who may lift it", b.Lift)
		}
	}
	if res.Truncated {
		fmt.Fprintln(w, "\ntruncated: the search stopped at its bounds (32 levels, 3 s, 100 ways); there may be more")
	}
}

// printGrantors prints who may make a change, the permission they hold
// and the endpoint that makes it; nothing when no endpoint does.
func printGrantors(w io.Writer, label string, g *client.Grantors) {
	if g == nil {
		return
	}
	who := orNone(g.Subjects)
	if g.More {
		who += " and others"
	}
	fmt.Fprintf(w, "    %s: %s (%s on %s, %s)\n", label, who, g.Permission, g.On, g.Endpoint)
}
