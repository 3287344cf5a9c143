package main

import (
	"context"
	"io"
	"strings"

	"github.com/gatehouse-authz/gatehouse/client"
)

// relCommands registers rel read, touch and delete: relationships, as
// zed names them.
func relCommands() []*command {
	return []*command{
		{
			name: "rel read", args: "<resource|resource-type> [relation] [subject]", summary: "list relationships",
			minArgs: 1, maxArgs: 3, run: runRelRead,
		},
		{
			name: "rel touch", args: "<resource> <relation> <subject> | <relationship>...", summary: "create or update relationships, atomically",
			writes: true, minArgs: 1, maxArgs: -1, flags: reasonFlag, run: runRelWrite(false),
		},
		{
			name: "rel delete", args: "<resource> <relation> <subject> | <relationship>...", summary: "delete relationships, atomically",
			writes: true, minArgs: 1, maxArgs: -1, flags: reasonFlag, run: runRelWrite(true),
		},
	}
}

// relFilter reads zed's `rel read <resource|type> [relation] [subject]`.
func relFilter(args []string) client.RelationshipFilter {
	var f client.RelationshipFilter
	if strings.Contains(args[0], ":") {
		f.Resource = args[0]
	} else {
		f.ResourceType = args[0]
	}
	if len(args) > 1 {
		f.Relation = args[1]
	}
	if len(args) > 2 {
		f.Subject = args[2]
	}
	return f
}

func runRelRead(ctx context.Context, c *client.Client, inv invocation, out io.Writer) (int, error) {
	res, err := c.ReadRelationships(ctx, relFilter(inv.args))
	if err != nil {
		return exitError, err
	}
	return exitOK, emit(out, inv.cfg, res, func(w io.Writer) { printLines(w, res.Relationships) })
}

// relationships reads the arguments of rel touch and rel delete: zed's
// `<resource> <relation> <subject>`, or whole relationships
// (`organisation:acme#administrator@user:bob`).
func relationships(args []string) ([]string, error) {
	if len(args) == 3 && !strings.Contains(args[0], "#") {
		return []string{args[0] + "#" + args[1] + "@" + args[2]}, nil
	}
	for _, a := range args {
		if !strings.Contains(a, "#") || !strings.Contains(a, "@") {
			return nil, usagef("%q is not a relationship resource#relation@subject (or give <resource> <relation> <subject>)", a)
		}
	}
	return args, nil
}

func runRelWrite(del bool) func(context.Context, *client.Client, invocation, io.Writer) (int, error) {
	return func(ctx context.Context, c *client.Client, inv invocation, out io.Writer) (int, error) {
		rels, err := relationships(inv.args)
		if err != nil {
			return exitError, err
		}
		req := client.WriteRelationshipsRequest{Touch: rels, Reason: inv.cfg.reason}
		if del {
			req = client.WriteRelationshipsRequest{Delete: rels, Reason: inv.cfg.reason}
		}
		res, err := c.WriteRelationships(ctx, req)
		if err != nil {
			return exitError, err
		}
		return exitOK, printToken(out, inv.cfg, res)
	}
}
