package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/gatehouse-authz/gatehouse/client"
)

// lookupCommands registers lookup resources and lookup subjects: who
// holds a permission on what.
func lookupCommands() []*command {
	return []*command{
		{
			name: "lookup resources", args: "<resource-type> <permission> <subject>", summary: "list the resources a subject holds a permission on",
			minArgs: 3, maxArgs: 3, flags: lookupFlags, run: runLookupResources,
		},
		{
			name: "lookup subjects", args: "<resource> <permission> <subject-type>[#relation]", summary: "list the subjects that hold a permission on a resource",
			minArgs: 3, maxArgs: 3, flags: lookupFlags, run: runLookupSubjects,
		},
	}
}

func lookupFlags(fs *flag.FlagSet, cfg *cliConfig) {
	consistencyFlags(fs, cfg)
	fs.StringVar(&cfg.context, "context", "", "caveat context as a JSON `object`")
	fs.IntVar(&cfg.pageSize, "page-size", 0, "resources per request, up to 1000 (0: the server's choice)")
}

func runLookupResources(ctx context.Context, c *client.Client, inv invocation, out io.Writer) (int, error) {
	cons, _ := inv.cfg.consistency()
	cctx, _ := inv.cfg.caveatContext()
	req := client.LookupResourcesRequest{
		ResourceType: inv.args[0], Permission: inv.args[1], Subject: inv.args[2],
		Context: cctx, Limit: client.PageSize(inv.cfg.pageSize), Consistency: cons,
	}
	resources := []string{}
	for r, err := range c.AllResources(ctx, req) {
		if err != nil {
			return exitError, err
		}
		if !inv.cfg.json {
			fmt.Fprintln(out, r)
		}
		resources = append(resources, r)
	}
	if inv.cfg.json {
		return exitOK, emit(out, inv.cfg, map[string]any{"resources": resources}, nil)
	}
	return exitOK, nil
}

func runLookupSubjects(ctx context.Context, c *client.Client, inv invocation, out io.Writer) (int, error) {
	cons, _ := inv.cfg.consistency()
	cctx, _ := inv.cfg.caveatContext()
	typ, rel, _ := strings.Cut(inv.args[2], "#")
	res, err := c.LookupSubjects(ctx, client.LookupSubjectsRequest{
		Resource: inv.args[0], Permission: inv.args[1], SubjectType: typ, SubjectRelation: rel,
		Context: cctx, Consistency: cons,
	})
	if err != nil {
		return exitError, err
	}
	return exitOK, emit(out, inv.cfg, res, func(w io.Writer) { printLines(w, res.Subjects) })
}
