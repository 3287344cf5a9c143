package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/gatehouse-authz/gatehouse/client"
)

// readyCommands registers ready: whether the server is ready, for
// health checks and scripts.
func readyCommands() []*command {
	return []*command{
		{
			name: "ready", args: "", summary: "exit 0 once the server is ready (GET /readyz); for health checks and scripts",
			minArgs: 0, maxArgs: 0, flags: func(fs *flag.FlagSet, c *cliConfig) {
				fs.DurationVar(&c.wait, "wait", 0, "keep asking for up to this `duration` (0: ask once)")
			}, run: runReady,
		},
	}
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
