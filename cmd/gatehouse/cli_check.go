package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/gatehouse-authz/gatehouse/client"
)

// checkCommands registers check, explain and why: whether a subject
// holds a permission, and through which relationships.
func checkCommands() []*command {
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
	}
}

// checkFlags are the flags of check, explain and why.
func checkFlags(fs *flag.FlagSet, cfg *cliConfig) {
	consistencyFlags(fs, cfg)
	fs.BoolVar(&cfg.failDenied, "fail-denied", false, "exit 1 when the permission is denied")
	fs.StringVar(&cfg.context, "context", "", "caveat context as a JSON `object`")
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
		printPaths(w, res, "")
	})
	return deniedCode(inv.cfg, res.Allowed), err
}
