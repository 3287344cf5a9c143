package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/gatehouse-authz/gatehouse/client"
)

// The printing the commands share: JSON or a person's text, tokens, pages.

// emit prints v as JSON with --json, and through human otherwise.
func emit(out io.Writer, cfg cliConfig, v any, human func(io.Writer)) error {
	if cfg.json {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(v); err != nil {
			return fmt.Errorf("write JSON: %w", err)
		}
		return nil
	}
	human(out)
	return nil
}

// printToken prints the ZedToken of a write, as zed does.
func printToken(out io.Writer, cfg cliConfig, w *client.WriteResult) error {
	return emit(out, cfg, w, func(o io.Writer) { fmt.Fprintln(o, w.ZedToken) })
}

func printLines(w io.Writer, lines []string) {
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
}

// printMore tells how to ask for the next page of a list.
func printMore(w io.Writer, cursor string) {
	if cursor != "" {
		fmt.Fprintf(w, "more: --cursor %s\n", cursor)
	}
}

func orDash(s []string) string {
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, ",")
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
