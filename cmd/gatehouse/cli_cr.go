package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/gatehouse-authz/gatehouse/client"
)

// crCommands registers the change-request commands (rules C1-C18). Each
// prints the request's state after the call, or with --json the server's
// answer as it came.
func crCommands() []*command {
	return []*command{
		{
			name: "cr file", args: "<org> <id|-> <kind> [target]", summary: "file a change request of a kind (standard, public_facing, configuration, ...: domain.md C2); id - lets the server make one",
			writes: true, minArgs: 3, maxArgs: 4, needsActor: true, flags: func(fs *flag.FlagSet, c *cliConfig) {
				fs.StringVar(&c.title, "title", "", "a one-line title (at most 120 bytes)")
				fs.StringVar(&c.description, "description", "", "what the change is and why (at most 500 bytes)")
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
	}
}

func noteFlag(fs *flag.FlagSet, cfg *cliConfig) {
	fs.StringVar(&cfg.note, "note", "", "a note, recorded as the reason in the audit trail")
}

// printChangeRequest prints a request's state, one field a line, leaving
// out what it does not carry.
func printChangeRequest(w io.Writer, cr *client.ChangeRequest) {
	tw := tabwriter.NewWriter(w, 0, 4, 1, ' ', 0)
	line := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", k, v)
		}
	}
	list := func(k string, v []string) {
		if len(v) > 0 {
			line(k, strings.Join(v, ", "))
		}
	}
	line("id", cr.ID)
	line("title", cr.Title)
	line("description", strings.ReplaceAll(cr.Description, "\n", " "))
	line("organisation", cr.Organisation)
	line("kind", cr.Kind)
	line("target", cr.Target)
	line("requester", cr.Requester)
	var flags []string
	for _, f := range []struct {
		on   bool
		name string
	}{{cr.SubstantialSecurity, "substantial security"}, {cr.SubstantialCharge, "substantial charge"}, {cr.LegalMandate, "legal mandate"}} {
		if f.on {
			flags = append(flags, f.name)
		}
	}
	list("flags", flags)
	line("status", cr.Status)
	line("tier", cr.Tier)
	fmt.Fprintf(tw, "authorisers:\t%s\n", orNone(cr.Authorisers))
	fmt.Fprintf(tw, "needs:\t%s\n", orNone(cr.ApprovalsNeeded))
	list("blocked on", cr.BlockedOn)
	list("authorised by", cr.AuthorisedBy)
	list("security approved by", cr.SecurityApprovedBy)
	list("charge approved by", cr.ChargeApprovedBy)
	list("configuration approved by", cr.ConfigurationApprovedBy)
	list("spending approved by", cr.SpendApprovedBy)
	line("about", cr.TargetUser)
	if cr.OverrideBy != "" {
		line("override by", fmt.Sprintf("%s (%s: %s)", cr.OverrideBy, cr.OverrideCategory, cr.OverrideReason))
		line("confirmed by", orNoneYet(cr.OverrideConfirmedBy))
	}
	line("closed by", cr.ClosedBy)
	if cr.ClosedAt != nil {
		line("closed at", cr.ClosedAt.Format("2006-01-02T15:04:05Z07:00"))
	}
	line("reason", cr.Reason)
	_ = tw.Flush()
}

func orNoneYet(s string) string {
	if s == "" {
		return "not yet"
	}
	return s
}

// emitCR prints a request's state, or with --json the answer.
func emitCR(out io.Writer, cfg cliConfig, cr *client.ChangeRequest) error {
	return emit(out, cfg, cr, func(w io.Writer) { printChangeRequest(w, cr) })
}

func runCRFile(ctx context.Context, c *client.Client, inv invocation, out io.Writer) (int, error) {
	req := client.NewChangeRequest{
		ID: inv.args[1], Kind: inv.args[2], Title: inv.cfg.title, Description: inv.cfg.description,
		SubstantialSecurity: inv.cfg.security, SubstantialCharge: inv.cfg.charge,
	}
	if req.ID == "-" {
		req.ID = "" // the server makes one
	}
	if len(inv.args) > 3 {
		req.Target = inv.args[3]
	}
	if inv.cfg.set["legal-reason"] {
		// Sent as given, blank too: the server says why a blank one is refused (C12).
		req.LegalReason = &inv.cfg.legalReason
	}
	cr, err := c.FileChangeRequest(ctx, inv.args[0], req)
	if err != nil {
		return exitError, err
	}
	return exitOK, emitCR(out, inv.cfg, cr)
}

func runCRGet(ctx context.Context, c *client.Client, inv invocation, out io.Writer) (int, error) {
	cr, err := c.GetChangeRequest(ctx, inv.args[0])
	if err != nil {
		return exitError, err
	}
	return exitOK, emitCR(out, inv.cfg, cr)
}

func runCRList(ctx context.Context, c *client.Client, inv invocation, out io.Writer) (int, error) {
	l, err := c.ListChangeRequests(ctx, inv.args[0], client.ListChangeRequestsOptions{
		Status: inv.cfg.status, AwaitingMe: inv.cfg.awaitingMe, Limit: inv.cfg.pageSize, Cursor: inv.cfg.cursor,
	})
	if err != nil {
		return exitError, err
	}
	return exitOK, emit(out, inv.cfg, l, func(w io.Writer) {
		if len(l.ChangeRequests) == 0 {
			fmt.Fprintln(w, "no change requests")
			return
		}
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tKIND\tTARGET\tREQUESTER\tSTATUS\tNEEDS\tAUTHORISERS")
		for _, cr := range l.ChangeRequests {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", cr.ID, cr.Kind, dash(cr.Target), cr.Requester, cr.Status, orDash(cr.ApprovalsNeeded), orDash(cr.Authorisers))
		}
		_ = tw.Flush()
		printMore(w, l.Cursor)
	})
}

func runCRAuthorise(ctx context.Context, c *client.Client, inv invocation, out io.Writer) (int, error) {
	cr, err := c.AuthoriseChangeRequest(ctx, inv.args[0], inv.cfg.note)
	if err != nil {
		return exitError, err
	}
	return exitOK, emitCR(out, inv.cfg, cr)
}

func runCRReject(ctx context.Context, c *client.Client, inv invocation, out io.Writer) (int, error) {
	cr, err := c.RejectChangeRequest(ctx, inv.args[0], inv.cfg.reason)
	if err != nil {
		return exitError, err
	}
	return exitOK, emitCR(out, inv.cfg, cr)
}

func runCRWithdraw(ctx context.Context, c *client.Client, inv invocation, out io.Writer) (int, error) {
	cr, err := c.WithdrawChangeRequest(ctx, inv.args[0], inv.cfg.reason)
	if err != nil {
		return exitError, err
	}
	return exitOK, emitCR(out, inv.cfg, cr)
}

func runCRFlag(ctx context.Context, c *client.Client, inv invocation, out io.Writer) (int, error) {
	cr, err := c.RaiseFlags(ctx, inv.args[0], client.FlagsRequest{SubstantialSecurity: inv.cfg.security, SubstantialCharge: inv.cfg.charge})
	if err != nil {
		return exitError, err
	}
	return exitOK, emitCR(out, inv.cfg, cr)
}

func runCROverride(ctx context.Context, c *client.Client, inv invocation, out io.Writer) (int, error) {
	cr, err := c.OverrideChangeRequest(ctx, inv.args[0], inv.cfg.category, inv.cfg.reason)
	if err != nil {
		return exitError, err
	}
	return exitOK, emitCR(out, inv.cfg, cr)
}

func runCRConfirm(ctx context.Context, c *client.Client, inv invocation, out io.Writer) (int, error) {
	cr, err := c.ConfirmOverride(ctx, inv.args[0])
	if err != nil {
		return exitError, err
	}
	return exitOK, emitCR(out, inv.cfg, cr)
}
