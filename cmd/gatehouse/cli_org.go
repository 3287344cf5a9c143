package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gatehouse-authz/gatehouse/client"
)

// orgCommands registers the org commands (an organisation, its members
// and their roles) and access, the review of who holds what in one,
// which the usage lists after org members.
func orgCommands() []*command {
	return []*command{
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
			writes: true, minArgs: 1, maxArgs: 1, needsActor: true, flags: reasonFlag, run: runOrgDelete,
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
			writes: true, minArgs: 3, maxArgs: 3, needsActor: true, flags: reasonFlag, run: runOrgRevoke,
		},
		{
			name: "org remove", args: "<id> <user>", summary: "remove a member with all their roles, designations and exceptions",
			writes: true, minArgs: 2, maxArgs: 2, needsActor: true, flags: reasonFlag, run: runOrgRemove,
		},
	}
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

func runOrgDelete(ctx context.Context, c *client.Client, inv invocation, out io.Writer) (int, error) {
	w, err := c.DeleteOrganisation(ctx, inv.args[0], inv.cfg.reason)
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
	w, err := c.RemoveMember(ctx, inv.args[0], inv.args[1], inv.cfg.reason)
	if err != nil {
		return exitError, err
	}
	return exitOK, printToken(out, inv.cfg, w)
}

func runOrgRevoke(ctx context.Context, c *client.Client, inv invocation, out io.Writer) (int, error) {
	w, err := c.RevokeRole(ctx, inv.args[0], inv.args[1], inv.args[2], inv.cfg.reason)
	if err != nil {
		return exitError, err
	}
	return exitOK, printToken(out, inv.cfg, w)
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
