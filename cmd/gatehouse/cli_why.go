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
	printPaths(w, res, "\n")
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

// printPaths prints each chain that grants a check, one relationship a
// line, after sep; a chain that ends on its own says until when (T5).
func printPaths(w io.Writer, res *client.Explanation, sep string) {
	for i, p := range res.Paths {
		fmt.Fprintf(w, "%spath %d", sep, i+1)
		if i < len(res.PathsUntil) && res.PathsUntil[i].Until != nil {
			fmt.Fprintf(w, " (until %s)", *res.PathsUntil[i].Until)
		}
		fmt.Fprintln(w, ":")
		for _, r := range p {
			fmt.Fprintf(w, "  %s\n", r)
		}
	}
}

// printGrantors prints who may make a change, the permission they hold
// and the endpoint that makes it, each holder who holds it only until a
// role expires with when (T5); nothing when no endpoint does.
func printGrantors(w io.Writer, label string, g *client.Grantors) {
	if g == nil {
		return
	}
	subjects := make([]string, len(g.Subjects))
	for i, s := range g.Subjects {
		subjects[i] = s
		if t, ok := g.Until[s]; ok {
			subjects[i] += " (until " + t + ")"
		}
	}
	who := orNone(subjects)
	if g.More {
		who += " and others"
	}
	fmt.Fprintf(w, "    %s: %s (%s on %s, %s)\n", label, who, g.Permission, g.On, g.Endpoint)
}
