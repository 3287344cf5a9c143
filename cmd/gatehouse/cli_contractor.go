package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/gatehouse-authz/gatehouse/client"
)

// contractorCommands registers contractor create, patch and delete.
func contractorCommands() []*command {
	return []*command{
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
			writes: true, minArgs: 1, maxArgs: 1, needsActor: true, flags: reasonFlag, run: runContractorDelete,
		},
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
	w, err := c.DeleteContractor(ctx, inv.args[0], inv.cfg.reason)
	if err != nil {
		return exitError, err
	}
	return exitOK, printToken(out, inv.cfg, w)
}
