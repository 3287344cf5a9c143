package main

import (
	"context"
	"fmt"
	"io"
)

// runCLI runs the command-line client; it returns the exit code.
func runCLI(_ context.Context, args []string, _ func(string) string, _, stderr io.Writer) int {
	fmt.Fprintf(stderr, "gatehouse: unknown command %q (try: gatehouse serve)\n", args)
	return 2
}
