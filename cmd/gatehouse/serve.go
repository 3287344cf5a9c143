package main

import (
	"context"
	"errors"
	"io"
)

// runServe starts the HTTP server and serves until ctx ends.
func runServe(_ context.Context, _ []string, _ func(string) string, _, _ io.Writer) error {
	return errors.New("not yet")
}
