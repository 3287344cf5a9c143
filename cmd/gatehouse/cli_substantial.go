package main

import (
	"context"
	"flag"
	"io"

	"github.com/gatehouse-authz/gatehouse/client"
)

// substantialCommands registers substantial set and unset: the kinds,
// or targets, declared always substantial (C15).
func substantialCommands() []*command {
	return []*command{
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
	}
}

func targetFlag(fs *flag.FlagSet, cfg *cliConfig) {
	fs.StringVar(&cfg.target, "target", "", "narrow it to one `target` (page:pricing)")
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
