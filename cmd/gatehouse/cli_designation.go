package main

import (
	"context"
	"io"

	"github.com/gatehouse-authz/gatehouse/client"
)

// designationCommands registers designation set and unset: a team
// member's designations.
func designationCommands() []*command {
	return []*command{
		{
			name: "designation set", args: "<org> <user> <designation>", summary: "designate a team member (main_contact, ...; verified_director and unavailable_contact: staff, with --reason)",
			writes: true, minArgs: 3, maxArgs: 3, needsActor: true, flags: reasonFlag, run: runDesignation(false),
		},
		{
			name: "designation unset", args: "<org> <user> <designation>", summary: "take a designation away",
			writes: true, minArgs: 3, maxArgs: 3, needsActor: true, flags: reasonFlag, run: runDesignation(true),
		},
	}
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
