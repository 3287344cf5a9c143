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
			name: "why", args: "<resource> <permission> <subject>", summary: "explain a check: the chains that grant it or, when denied, each way it could be granted, what it lacks and who may write it, and what blocks it by rule",
			minArgs: 3, maxArgs: 3, flags: checkFlags, run: runWhy,
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
			writes: true, minArgs: 1, maxArgs: -1, flags: reasonFlag, run: runRelWrite(false),
		},
		{
			name: "rel delete", args: "<resource> <relation> <subject> | <relationship>...", summary: "delete relationships, atomically",
			writes: true, minArgs: 1, maxArgs: -1, flags: reasonFlag, run: runRelWrite(true),
		},
		{
			name: "audit", args: "<organisation>", summary: "list the audit trail of an organisation, newest first",
			minArgs: 1, maxArgs: 1, flags: func(fs *flag.FlagSet, c *cliConfig) { fs.IntVar(&c.pageSize, "limit", 0, "at most `n` events") }, run: runAudit,
		},
		{
			name: "org create", args: "<id> [name]", summary: "create an organisation owned by the actor",
			writes: true, minArgs: 1, maxArgs: 2, needsActor: true, flags: func(fs *flag.FlagSet, c *cliConfig) { fs.StringVar(&c.name, "name", "", "display `name`") }, run: runOrgCreate,
		},
		{
			name: "org get", args: "<id>", summary: "show an organisation",
			minArgs: 1, maxArgs: 1, needsActor: true, run: runOrgGet,
		},
		{
			name: "org delete", args: "<id>", summary: "delete an organisation and everything in it (owner only)",
			writes: true, minArgs: 1, maxArgs: 1, needsActor: true, run: runOrgDelete,
		},
		{
			name: "org members", args: "<id>", summary: "list the members with their roles and designations",
			minArgs: 1, maxArgs: 1, needsActor: true, run: runOrgMembers,
		},
		{
			name: "access", args: "<org> [user]", summary: "who holds what, with the roles and designations that grant it: every member (view_reports holders and staff), or one person with their latest changes",
			minArgs: 1, maxArgs: 2, needsActor: true, flags: func(fs *flag.FlagSet, c *cliConfig) {
				fs.BoolVar(&c.csv, "csv", false, "print the whole review as CSV (user,permission,object,via,until), every page")
				fs.IntVar(&c.pageSize, "limit", 0, "at most `n` members a page (0: the server's 50; at most 200)")
				fs.StringVar(&c.cursor, "cursor", "", "continue the review from the `cursor` a previous page printed")
			}, run: runAccess,
		},
		{
			name: "org edit", args: "<id> [name]", summary: "change an organisation's details: its name (edit_details holders)",
			writes: true, minArgs: 1, maxArgs: 2, needsActor: true, flags: func(fs *flag.FlagSet, c *cliConfig) { fs.StringVar(&c.name, "name", "", "the new display `name`") }, run: runOrgEdit,
		},
		{
			name: "org transfer", args: "<id> <user>", summary: "transfer ownership to a team member (owner only)",
			writes: true, minArgs: 2, maxArgs: 2, needsActor: true, flags: reasonFlag, run: runOrgTransfer,
		},
		{
			name: "org grant", args: "<id> <user> <role>", summary: "give a member a role",
			writes: true, minArgs: 3, maxArgs: 3, needsActor: true, flags: func(fs *flag.FlagSet, c *cliConfig) {
				reasonFlag(fs, c)
				fs.BoolVar(&c.previousBecomesAlt, "previous-becomes-alternate", false, "with security_admin: the outgoing SA becomes the ASA")
				fs.StringVar(&c.expires, "expires", "", "the role lapses on its own at this `time` (RFC 3339; T5: not owner, security_admin or alternate_security_admin)")
			}, run: runOrgGrant,
		},
		{
			name: "org revoke", args: "<id> <user> <role>", summary: "take a role away from a member",
			writes: true, minArgs: 3, maxArgs: 3, needsActor: true, run: runOrgRevoke,
		},
		{
			name: "org remove", args: "<id> <user>", summary: "remove a member with all their roles, designations and exceptions",
			writes: true, minArgs: 2, maxArgs: 2, needsActor: true, run: runOrgRemove,
		},
		{
			name: "designation set", args: "<org> <user> <designation>", summary: "designate a team member (main_contact, ...; verified_director and unavailable_contact: staff, with --reason)",
			writes: true, minArgs: 3, maxArgs: 3, needsActor: true, flags: reasonFlag, run: runDesignation(false),
		},
		{
			name: "designation unset", args: "<org> <user> <designation>", summary: "take a designation away",
			writes: true, minArgs: 3, maxArgs: 3, needsActor: true, flags: reasonFlag, run: runDesignation(true),
		},
		{
			name: "contractor create", args: "<org> <id> [name]", summary: "create a contractor, admin-only with --admin-only",
			writes: true, minArgs: 2, maxArgs: 3, needsActor: true, flags: func(fs *flag.FlagSet, c *cliConfig) {
				fs.StringVar(&c.name, "name", "", "display `name`")
				fs.BoolVar(&c.adminOnly, "admin-only", false, "visible only to the owner, SA, ASA and administrators (K2)")
			}, run: runContractorCreate,
		},
		{
			name: "contractor patch", args: "<id>", summary: "rename a contractor or change its admin-only flag",
			writes: true, minArgs: 1, maxArgs: 1, needsActor: true, flags: func(fs *flag.FlagSet, c *cliConfig) {
				fs.StringVar(&c.name, "name", "", "the new display `name`")
				fs.BoolVar(&c.adminOnly, "admin-only", false, "--admin-only or --admin-only=false")
			}, validate: func(c cliConfig) error {
				if !c.set["name"] && !c.set["admin-only"] {
					return usagef("contractor patch changes --name, --admin-only or both")
				}
				return nil
			}, run: runContractorPatch,
		},
		{
			name: "contractor delete", args: "<id>", summary: "delete a contractor",
			writes: true, minArgs: 1, maxArgs: 1, needsActor: true, run: runContractorDelete,
		},
		{
			name: "cr file", args: "<org> <id> <kind> [target]", summary: "file a change request of a kind (standard, public_facing, configuration, ...: domain.md C2)",
			writes: true, minArgs: 3, maxArgs: 4, needsActor: true, flags: func(fs *flag.FlagSet, c *cliConfig) {
				fs.BoolVar(&c.security, "substantial-security", false, "a substantial security impact: needs a security approval (C10)")
				fs.BoolVar(&c.charge, "substantial-charge", false, "a substantial additional charge: needs a charge approval (C11)")
				fs.StringVar(&c.legalReason, "legal-reason", "", "provider staff: a legally mandated change, and why (C12)")
			}, run: runCRFile,
		},
		{
			name: "cr get", args: "<id>", summary: "show a change request's current state",
			minArgs: 1, maxArgs: 1, needsActor: true, run: runCRGet,
		},
		{
			name: "cr list", args: "<org>", summary: "list the change requests the actor may view; --awaiting-me: those they may decide now",
			minArgs: 1, maxArgs: 1, needsActor: true, flags: func(fs *flag.FlagSet, c *cliConfig) {
				fs.StringVar(&c.status, "status", "", "only this `status`: authorised, pending, blocked, rejected or withdrawn")
				fs.BoolVar(&c.awaitingMe, "awaiting-me", false, "only the open requests the actor may authorise or approve now (C14)")
				pageFlags(fs, c)
			}, run: runCRList,
		},
		{
			name: "cr authorise", args: "<id>", summary: "authorise, or approve, everything still needed that the actor may give",
			writes: true, minArgs: 1, maxArgs: 1, needsActor: true, flags: noteFlag, run: runCRAuthorise,
		},
		{
			name: "cr authorize", args: "<id>", summary: "authorise (American spelling)",
			writes: true, minArgs: 1, maxArgs: 1, needsActor: true, hidden: true, flags: noteFlag, run: runCRAuthorise,
		},
		{
			name: "cr reject", args: "<id>", summary: "reject an open change request, with --reason (C13)",
			writes: true, minArgs: 1, maxArgs: 1, needsActor: true, flags: reasonFlag, validate: needReason("cr reject"), run: runCRReject,
		},
		{
			name: "cr withdraw", args: "<id>", summary: "withdraw one's own open change request (C13)",
			writes: true, minArgs: 1, maxArgs: 1, needsActor: true, flags: reasonFlag, run: runCRWithdraw,
		},
		{
			name: "cr flag", args: "<id>", summary: "raise the substantial-security and/or substantial-charge flag of an open request (C15)",
			writes: true, minArgs: 1, maxArgs: 1, needsActor: true, flags: func(fs *flag.FlagSet, c *cliConfig) {
				fs.BoolVar(&c.security, "security", false, "raise substantialSecurity: needs a security approval (C10)")
				fs.BoolVar(&c.charge, "charge", false, "raise substantialCharge: needs a charge approval (C11)")
			}, validate: func(c cliConfig) error {
				if !c.security && !c.charge {
					return usagef("cr flag raises --security, --charge or both")
				}
				return nil
			}, run: runCRFlag,
		},
		{
			name: "cr override", args: "<id>", summary: "provider staff: authorise on mitigating circumstances, pending a second staff member (C18)",
			writes: true, minArgs: 1, maxArgs: 1, needsActor: true, flags: func(fs *flag.FlagSet, c *cliConfig) {
				reasonFlag(fs, c)
				fs.StringVar(&c.category, "category", "", "the kind of circumstance (`category`): outage, say")
			}, validate: func(c cliConfig) error {
				if c.category == "" || c.reason == "" {
					return usagef("cr override needs --category and --reason")
				}
				return nil
			}, run: runCROverride,
		},
		{
			name: "cr confirm", args: "<id>", summary: "provider staff: confirm another staff member's override (C18)",
			writes: true, minArgs: 1, maxArgs: 1, needsActor: true, run: runCRConfirm,
		},
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
		{
			name: "substantial set", args: "<org> <kind>", summary: "declare a kind (or, with --target, one target of it) always substantial (C15)",
			writes: true, minArgs: 2, maxArgs: 2, needsActor: true, flags: func(fs *flag.FlagSet, c *cliConfig) {
				targetFlag(fs, c)
				fs.BoolVar(&c.security, "security", false, "requests of it are flagged substantialSecurity")
				fs.BoolVar(&c.charge, "charge", false, "requests of it are flagged substantialCharge")
			}, validate: func(c cliConfig) error {
				if !c.security && !c.charge {
					return usagef("substantial set declares --security, --charge or both (substantial unset lifts a declaration)")
				}
				return nil
			}, run: runSubstantialSet,
		},
		{
			name: "substantial unset", args: "<org> <kind>", summary: "lift an always-substantial declaration",
			writes: true, minArgs: 2, maxArgs: 2, needsActor: true, flags: targetFlag, run: runSubstantialUnset,
		},
		{
			name: "ready", args: "", summary: "exit 0 once the server is ready (GET /readyz); for health checks and scripts",
			minArgs: 0, maxArgs: 0, flags: func(fs *flag.FlagSet, c *cliConfig) {
				fs.DurationVar(&c.wait, "wait", 0, "keep asking for up to this `duration` (0: ask once)")
			}, run: runReady,
		},
	}
}

func noteFlag(fs *flag.FlagSet, cfg *cliConfig) {
	fs.StringVar(&cfg.note, "note", "", "a note, recorded as the reason in the audit trail")
}

func targetFlag(fs *flag.FlagSet, cfg *cliConfig) {
	fs.StringVar(&cfg.target, "target", "", "narrow it to one `target` (page:pricing)")
}

// pageFlags page the change-request and exception lists.
func pageFlags(fs *flag.FlagSet, cfg *cliConfig) {
	fs.IntVar(&cfg.pageSize, "limit", 0, "at most `n` items (0: the server's 1000)")
	fs.StringVar(&cfg.cursor, "cursor", "", "continue the list from the `cursor` a previous page printed")
}

// needReason refuses the command without a non-blank --reason.
func needReason(name string) func(cliConfig) error {
	return func(c cliConfig) error {
		if strings.TrimSpace(c.reason) == "" {
			return usagef("%s needs --reason", name)
		}
		return nil
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
			roles := make([]string, len(m.Roles))
			for i, r := range m.Roles {
				roles[i] = r
				if at := m.ExpiresAt[r]; at != "" {
					roles[i] += " until " + at
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", m.User, orDash(roles), orDash(m.Designations))
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
	if inv.cfg.expires != "" {
		at, err := time.Parse(time.RFC3339, inv.cfg.expires)
		if err != nil {
			return exitError, usagef("--expires %q is not an RFC 3339 time, such as 2027-01-31T00:00:00Z", inv.cfg.expires)
		}
		opts = append(opts, client.ExpiresAt(at))
	}
	w, err := c.GrantRole(ctx, inv.args[0], inv.args[1], inv.args[2], opts...)
	if err != nil {
		return exitError, err
	}
	return exitOK, printToken(out, inv.cfg, w)
}

func runOrgEdit(ctx context.Context, c *client.Client, inv invocation, out io.Writer) (int, error) {
	name := inv.cfg.name
	if len(inv.args) > 1 {
		name = inv.args[1]
	}
	if name == "" {
		return exitError, usagef("org edit needs the new name: org edit <id> <name>, or --name")
	}
	o, err := c.EditOrganisation(ctx, inv.args[0], client.EditOrganisationRequest{Name: name})
	if err != nil {
		return exitError, err
	}
	return exitOK, emit(out, inv.cfg, o, func(w io.Writer) { printOrganisation(w, o) })
}

func runOrgRemove(ctx context.Context, c *client.Client, inv invocation, out io.Writer) (int, error) {
	w, err := c.RemoveMember(ctx, inv.args[0], inv.args[1])
	if err != nil {
		return exitError, err
	}
	return exitOK, printToken(out, inv.cfg, w)
}

func runDesignation(unset bool) func(context.Context, *client.Client, invocation, io.Writer) (int, error) {
	return func(ctx context.Context, c *client.Client, inv invocation, out io.Writer) (int, error) {
		do := c.SetDesignation
		if unset {
			do = c.UnsetDesignation
		}
		w, err := do(ctx, inv.args[0], inv.args[1], inv.args[2], inv.cfg.reason)
		if err != nil {
			return exitError, err
		}
		return exitOK, printToken(out, inv.cfg, w)
	}
}

func printContractor(w io.Writer, k *client.Contractor) {
	fmt.Fprintf(w, "id:           %s\nname:         %s\norganisation: %s\nadmin-only:   %t\n", k.ID, k.Name, k.Organisation, k.AdminOnly)
}

func runContractorCreate(ctx context.Context, c *client.Client, inv invocation, out io.Writer) (int, error) {
	name := inv.cfg.name
	if len(inv.args) > 2 {
		name = inv.args[2]
	}
	k, err := c.CreateContractor(ctx, inv.args[0], client.Contractor{ID: inv.args[1], Name: name, AdminOnly: inv.cfg.adminOnly})
	if err != nil {
		return exitError, err
	}
	return exitOK, emit(out, inv.cfg, k, func(w io.Writer) { printContractor(w, k) })
}

func runContractorPatch(ctx context.Context, c *client.Client, inv invocation, out io.Writer) (int, error) {
	var p client.ContractorPatch
	if inv.cfg.set["name"] {
		p.Name = &inv.cfg.name
	}
	if inv.cfg.set["admin-only"] {
		p.AdminOnly = &inv.cfg.adminOnly
	}
	k, err := c.PatchContractor(ctx, inv.args[0], p)
	if err != nil {
		return exitError, err
	}
	return exitOK, emit(out, inv.cfg, k, func(w io.Writer) { printContractor(w, k) })
}

func runContractorDelete(ctx context.Context, c *client.Client, inv invocation, out io.Writer) (int, error) {
	w, err := c.DeleteContractor(ctx, inv.args[0])
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

func runAccess(ctx context.Context, c *client.Client, inv invocation, out io.Writer) (int, error) {
	org := inv.args[0]
	switch {
	case len(inv.args) == 2 && inv.cfg.csv:
		return exitError, usagef("access --csv exports every member; leave out the user")
	case len(inv.args) == 2:
		m, err := c.MemberAccess(ctx, org, inv.args[1])
		if err != nil {
			return exitError, err
		}
		return exitOK, emit(out, inv.cfg, m, func(w io.Writer) {
			printAccess(w, m.Access, m.Truncated)
			fmt.Fprintln(w, "\nrecent changes:")
			if len(m.RecentChanges) == 0 {
				fmt.Fprintln(w, "-")
			}
			for _, e := range m.RecentChanges {
				fmt.Fprintf(w, "%s  %s  %s\n", e.At.UTC().Format(time.RFC3339), e.Action, strings.Join(e.Changes, ", "))
			}
		})
	case inv.cfg.csv:
		if err := c.AccessCSV(ctx, org, out); err != nil {
			return exitError, err
		}
		return exitOK, nil
	}
	r, err := c.Access(ctx, org, inv.cfg.pageSize, inv.cfg.cursor)
	if err != nil {
		return exitError, err
	}
	return exitOK, emit(out, inv.cfg, r, func(w io.Writer) {
		printAccess(w, r.Access, r.Truncated)
		printMore(w, r.Cursor)
	})
}

// printAccess prints access rows as a table: who, what, on what, through
// which relationships, until when.
func printAccess(w io.Writer, rows []client.Access, truncated bool) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "USER\tPERMISSION\tON\tVIA\tUNTIL")
	for _, r := range rows {
		until := "-"
		if r.Until != nil {
			until = *r.Until
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.User, r.Permission, r.On, orDash(r.Via), until)
	}
	_ = tw.Flush()
	if truncated {
		fmt.Fprintln(w, "truncated: only the first 100 contractors and 100 invoices were weighed")
	}
}
