package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/gatehouse-authz/gatehouse/client"
)

// The change-request, exception and always-substantial commands (rules
// C1-C18). Each prints the request's state after the call, or with --json
// the server's answer as it came.

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

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
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
		ID: inv.args[1], Kind: inv.args[2],
		SubstantialSecurity: inv.cfg.security, SubstantialCharge: inv.cfg.charge,
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

// printMore tells how to ask for the next page of a list.
func printMore(w io.Writer, cursor string) {
	if cursor != "" {
		fmt.Fprintf(w, "more: --cursor %s\n", cursor)
	}
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

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
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

func runSubstantialSet(ctx context.Context, c *client.Client, inv invocation, out io.Writer) (int, error) {
	w, err := c.SetAlwaysSubstantial(ctx, inv.args[0], inv.args[1], inv.cfg.target, client.SubstantialRequest{Security: inv.cfg.security, Charge: inv.cfg.charge})
	if err != nil {
		return exitError, err
	}
	return exitOK, printToken(out, inv.cfg, w)
}

func runSubstantialUnset(ctx context.Context, c *client.Client, inv invocation, out io.Writer) (int, error) {
	w, err := c.UnsetAlwaysSubstantial(ctx, inv.args[0], inv.args[1], inv.cfg.target)
	if err != nil {
		return exitError, err
	}
	return exitOK, printToken(out, inv.cfg, w)
}
