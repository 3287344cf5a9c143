package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gatehouse-authz/gatehouse/client"
)

// commands lists every subcommand of the client, in the order the usage
// shows them.
func commands() []*command {
	return []*command{
		{
			name: "check", args: "<resource> <permission> <subject>", summary: "check a permission: prints true, false or caveated",
			minArgs: 3, maxArgs: 3, flags: checkFlags, run: runCheck,
		},
		{
			name: "explain", args: "<resource> <permission> <subject>", summary: "check a permission and print the relationship chains that grant it",
			minArgs: 3, maxArgs: 3, flags: checkFlags, run: runExplain,
		},
		{
			name: "lookup resources", args: "<resource-type> <permission> <subject>", summary: "list the resources a subject holds a permission on",
			minArgs: 3, maxArgs: 3, flags: lookupFlags, run: runLookupResources,
		},
		{
			name: "lookup subjects", args: "<resource> <permission> <subject-type>[#relation]", summary: "list the subjects that hold a permission on a resource",
			minArgs: 3, maxArgs: 3, flags: lookupFlags, run: runLookupSubjects,
		},
		{
			name: "schema", args: "", summary: "print the SpiceDB schema",
			minArgs: 0, maxArgs: 0, run: runSchema,
		},
		{
			name: "schema read", args: "", summary: "print the SpiceDB schema (zed's name)",
			minArgs: 0, maxArgs: 0, hidden: true, run: runSchema,
		},
		{
			name: "rel read", args: "<resource|resource-type> [relation] [subject]", summary: "list relationships",
			minArgs: 1, maxArgs: 3, run: runRelRead,
		},
		{
			name: "rel touch", args: "<resource> <relation> <subject> | <relationship>...", summary: "create or update relationships, atomically",
			minArgs: 1, maxArgs: -1, flags: reasonFlag, run: runRelWrite(false),
		},
		{
			name: "rel delete", args: "<resource> <relation> <subject> | <relationship>...", summary: "delete relationships, atomically",
			minArgs: 1, maxArgs: -1, flags: reasonFlag, run: runRelWrite(true),
		},
		{
			name: "audit", args: "<organisation>", summary: "list the audit trail of an organisation, newest first",
			minArgs: 1, maxArgs: 1, flags: func(fs *flag.FlagSet, c *cliConfig) { fs.IntVar(&c.pageSize, "limit", 0, "at most `n` events") }, run: runAudit,
		},
		{
			name: "org create", args: "<id> [name]", summary: "create an organisation owned by the actor",
			minArgs: 1, maxArgs: 2, needsActor: true, flags: func(fs *flag.FlagSet, c *cliConfig) { fs.StringVar(&c.name, "name", "", "display `name`") }, run: runOrgCreate,
		},
		{
			name: "org get", args: "<id>", summary: "show an organisation",
			minArgs: 1, maxArgs: 1, needsActor: true, run: runOrgGet,
		},
		{
			name: "org delete", args: "<id>", summary: "delete an organisation and everything in it (owner only)",
			minArgs: 1, maxArgs: 1, needsActor: true, run: runOrgDelete,
		},
		{
			name: "org members", args: "<id>", summary: "list the members with their roles and designations",
			minArgs: 1, maxArgs: 1, needsActor: true, run: runOrgMembers,
		},
		{
			name: "org transfer", args: "<id> <user>", summary: "transfer ownership to a team member (owner only)",
			minArgs: 2, maxArgs: 2, needsActor: true, run: runOrgTransfer,
		},
		{
			name: "org grant", args: "<id> <user> <role>", summary: "give a member a role",
			minArgs: 3, maxArgs: 3, needsActor: true, flags: func(fs *flag.FlagSet, c *cliConfig) {
				fs.BoolVar(&c.previousBecomesAlt, "previous-becomes-alternate", false, "with security_admin: the outgoing SA becomes the ASA")
			}, run: runOrgGrant,
		},
		{
			name: "ready", args: "", summary: "exit 0 once the server is ready (GET /readyz); for health checks and scripts",
			minArgs: 0, maxArgs: 0, flags: func(fs *flag.FlagSet, c *cliConfig) {
				fs.DurationVar(&c.wait, "wait", 0, "keep asking for up to this `duration` (0: ask once)")
			}, run: runReady,
		},
		{
			name: "org revoke", args: "<id> <user> <role>", summary: "take a role away from a member",
			minArgs: 3, maxArgs: 3, needsActor: true, run: runOrgRevoke,
		},
	}
}

func lookupFlags(fs *flag.FlagSet, cfg *cliConfig) {
	consistencyFlags(fs, cfg)
	fs.StringVar(&cfg.context, "context", "", "caveat context as a JSON `object`")
	fs.IntVar(&cfg.pageSize, "page-size", 0, "resources per request, up to 1000 (0: the server's choice)")
}

// emit prints v as JSON with --json, and through human otherwise.
func emit(out io.Writer, cfg cliConfig, v any, human func(io.Writer)) error {
	if cfg.json {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(v); err != nil {
			return fmt.Errorf("write JSON: %w", err)
		}
		return nil
	}
	human(out)
	return nil
}

// checkRequest builds the check of check and explain from the arguments.
func checkRequest(inv invocation) client.CheckRequest {
	cons, _ := inv.cfg.consistency()
	ctx, _ := inv.cfg.caveatContext()
	return client.CheckRequest{Resource: inv.args[0], Permission: inv.args[1], Subject: inv.args[2], Context: ctx, Consistency: cons}
}

// deniedCode is the exit code of a check that did not allow.
func deniedCode(cfg cliConfig, allowed bool) int {
	if !allowed && cfg.failDenied {
		return exitDenied
	}
	return exitOK
}

func runCheck(ctx context.Context, c *client.Client, inv invocation, out io.Writer) (int, error) {
	res, err := c.Check(ctx, checkRequest(inv))
	if err != nil {
		return exitError, err
	}
	err = emit(out, inv.cfg, res, func(w io.Writer) {
		switch {
		case res.Allowed:
			fmt.Fprintln(w, "true")
		case res.Conditional:
			fmt.Fprintf(w, "caveated, missing context: %s\n", strings.Join(res.MissingContext, ", "))
		default:
			fmt.Fprintln(w, "false")
		}
	})
	return deniedCode(inv.cfg, res.Allowed), err
}

func runExplain(ctx context.Context, c *client.Client, inv invocation, out io.Writer) (int, error) {
	res, err := c.Explain(ctx, checkRequest(inv))
	if err != nil {
		return exitError, err
	}
	err = emit(out, inv.cfg, res, func(w io.Writer) {
		fmt.Fprintln(w, res.Allowed)
		for i, p := range res.Paths {
			fmt.Fprintf(w, "path %d:\n", i+1)
			for _, r := range p {
				fmt.Fprintf(w, "  %s\n", r)
			}
		}
	})
	return deniedCode(inv.cfg, res.Allowed), err
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

func runSchema(ctx context.Context, c *client.Client, inv invocation, out io.Writer) (int, error) {
	s, err := c.Schema(ctx)
	if err != nil {
		return exitError, err
	}
	return exitOK, emit(out, inv.cfg, map[string]string{"schema": s}, func(w io.Writer) {
		fmt.Fprint(w, s)
		if !strings.HasSuffix(s, "\n") {
			fmt.Fprintln(w)
		}
	})
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

func printOrganisation(w io.Writer, o *client.Organisation) {
	fmt.Fprintf(w, "id:    %s\nname:  %s\nowner: %s\n", o.ID, o.Name, o.Owner)
}

func runOrgCreate(ctx context.Context, c *client.Client, inv invocation, out io.Writer) (int, error) {
	name := inv.cfg.name
	if len(inv.args) > 1 {
		name = inv.args[1]
	}
	if name == "" {
		name = inv.args[0]
	}
	o, err := c.CreateOrganisation(ctx, inv.args[0], name)
	if err != nil {
		return exitError, err
	}
	return exitOK, emit(out, inv.cfg, o, func(w io.Writer) { printOrganisation(w, o) })
}

func runOrgGet(ctx context.Context, c *client.Client, inv invocation, out io.Writer) (int, error) {
	o, err := c.GetOrganisation(ctx, inv.args[0])
	if err != nil {
		return exitError, err
	}
	return exitOK, emit(out, inv.cfg, o, func(w io.Writer) { printOrganisation(w, o) })
}

// printToken prints the ZedToken of a write, as zed does.
func printToken(out io.Writer, cfg cliConfig, w *client.WriteResult) error {
	return emit(out, cfg, w, func(o io.Writer) { fmt.Fprintln(o, w.ZedToken) })
}

func runOrgDelete(ctx context.Context, c *client.Client, inv invocation, out io.Writer) (int, error) {
	w, err := c.DeleteOrganisation(ctx, inv.args[0])
	if err != nil {
		return exitError, err
	}
	return exitOK, printToken(out, inv.cfg, w)
}

func runOrgMembers(ctx context.Context, c *client.Client, inv invocation, out io.Writer) (int, error) {
	ms, err := c.Members(ctx, inv.args[0])
	if err != nil {
		return exitError, err
	}
	return exitOK, emit(out, inv.cfg, map[string]any{"members": ms}, func(w io.Writer) {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "USER\tROLES\tDESIGNATIONS")
		for _, m := range ms {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", m.User, orDash(m.Roles), orDash(m.Designations))
		}
		_ = tw.Flush()
	})
}

func runOrgTransfer(ctx context.Context, c *client.Client, inv invocation, out io.Writer) (int, error) {
	res, err := c.TransferOwnership(ctx, inv.args[0], inv.args[1], inv.cfg.reason)
	if err != nil {
		return exitError, err
	}
	return exitOK, emit(out, inv.cfg, res, func(w io.Writer) { fmt.Fprintf(w, "owner: %s\n", res.Owner) })
}

func runOrgGrant(ctx context.Context, c *client.Client, inv invocation, out io.Writer) (int, error) {
	var opts []client.GrantOption
	if inv.cfg.previousBecomesAlt {
		opts = append(opts, client.PreviousBecomesAlternate())
	}
	if inv.cfg.reason != "" {
		opts = append(opts, client.WithReason(inv.cfg.reason))
	}
	w, err := c.GrantRole(ctx, inv.args[0], inv.args[1], inv.args[2], opts...)
	if err != nil {
		return exitError, err
	}
	return exitOK, printToken(out, inv.cfg, w)
}

func runOrgRevoke(ctx context.Context, c *client.Client, inv invocation, out io.Writer) (int, error) {
	w, err := c.RevokeRole(ctx, inv.args[0], inv.args[1], inv.args[2])
	if err != nil {
		return exitError, err
	}
	return exitOK, printToken(out, inv.cfg, w)
}

// runReady asks GET /readyz, every half second until --wait has passed.
func runReady(ctx context.Context, c *client.Client, inv invocation, out io.Writer) (int, error) {
	deadline := time.Now().Add(inv.cfg.wait)
	for {
		err := c.Ready(ctx)
		if err == nil {
			return exitOK, emit(out, inv.cfg, map[string]bool{"ready": true}, func(w io.Writer) { fmt.Fprintln(w, "ready") })
		}
		if time.Now().After(deadline) {
			return exitError, err
		}
		t := time.NewTimer(500 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return exitError, errors.Join(ctx.Err(), err)
		case <-t.C:
		}
	}
}

func printLines(w io.Writer, lines []string) {
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
}

func orDash(s []string) string {
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, ",")
}
