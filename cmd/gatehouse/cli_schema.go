package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/gatehouse-authz/gatehouse/client"
)

// schemaCommands registers schema: the SpiceDB schema the server wrote.
func schemaCommands() []*command {
	return []*command{
		{
			name: "schema", args: "", summary: "print the SpiceDB schema",
			minArgs: 0, maxArgs: 0, run: runSchema,
		},
		{
			name: "schema read", args: "", summary: "print the SpiceDB schema (zed's name)",
			minArgs: 0, maxArgs: 0, hidden: true, run: runSchema,
		},
	}
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
