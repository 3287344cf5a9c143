package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse/client"
)

// Exit codes of the command-line client, in grep's manner: a script tells
// "denied" from "could not ask".
const (
	exitOK     = 0
	exitDenied = 1
	exitError  = 2
)

// cliConfig is what the flags and GATEHOUSE_* variables say.
type cliConfig struct {
	url, apiKey, actor string
	caCert             string
	json               bool
	failDenied         bool
	atLeast            string
	fullyConsistent    bool
	minimizeLatency    bool
	context            string
	reason             string
	name               string
	pageSize           int
	previousBecomesAlt bool
	wait               time.Duration
	// The flags of the change-request, exception, designation, contractor
	// and substantial commands.
	note, status, cursor  string
	awaitingMe            bool
	security, charge      bool
	legalReason, category string
	title, description    string
	target, expires       string
	adminOnly             bool
	// csv asks access for the CSV export.
	csv bool
	// dryRun tries a write without making it (X7).
	dryRun bool
	// set names the flags given on the command line, for the commands that
	// tell "not given" from "given empty or false" (contractor patch,
	// cr file --legal-reason).
	set map[string]bool
}

// consistency returns the consistency the flags ask for, nil for the default.
func (c cliConfig) consistency() (*client.Consistency, error) {
	n := 0
	for _, set := range []bool{c.atLeast != "", c.fullyConsistent, c.minimizeLatency} {
		if set {
			n++
		}
	}
	switch {
	case n > 1:
		return nil, usagef("choose one of --consistency-at-least, --consistency-full and --consistency-min-latency")
	case c.atLeast != "":
		return client.AtLeastAsFresh(c.atLeast), nil
	case c.fullyConsistent:
		return client.FullyConsistent(), nil
	case c.minimizeLatency:
		return client.MinimizeLatency(), nil
	}
	return nil, nil
}

// caveatContext parses --context, a JSON object.
func (c cliConfig) caveatContext() (map[string]any, error) {
	if c.context == "" {
		return nil, nil
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(c.context), &m); err != nil {
		return nil, usagef("--context must be a JSON object: %v", err)
	}
	return m, nil
}

// command is one subcommand: its words ("rel touch"), its arguments, the
// flags it adds to the global ones, and what it does.
type command struct {
	name    string
	args    string
	summary string
	// minArgs and maxArgs bound the positional arguments (maxArgs -1: any).
	minArgs, maxArgs int
	// hidden leaves an alias out of the usage.
	hidden bool
	// needsActor refuses to run without --actor or GATEHOUSE_ACTOR.
	needsActor bool
	// writes marks a command that changes something: it takes --dry-run.
	writes bool
	flags  func(*flag.FlagSet, *cliConfig)
	// validate, if set, refuses flags that parse but do not make sense
	// together (a required --reason left out), before anything is sent.
	validate func(cliConfig) error
	run      func(ctx context.Context, c *client.Client, inv invocation, out io.Writer) (int, error)
}

// invocation is a parsed command line, ready to run.
type invocation struct {
	cmd  *command
	args []string
	cfg  cliConfig
}

// errHelp asks for the usage text, on stdout, with exit 0.
var errHelp = errors.New("help requested")

// usageError is a command line that does not parse; the usage follows it.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// usagef returns a *usageError with the formatted message.
func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// commands lists every subcommand of the client, in the order the usage
// shows them; each noun's file registers its own.
func commands() []*command {
	return slices.Concat(
		checkCommands(),
		lookupCommands(),
		schemaCommands(),
		relCommands(),
		auditCommands(),
		orgCommands(),
		designationCommands(),
		contractorCommands(),
		crCommands(),
		exceptionCommands(),
		substantialCommands(),
		readyCommands(),
	)
}

// runCLI runs the command-line client; it returns the exit code.
func runCLI(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cmds := commands()
	inv, err := parseCLI(cmds, args, getenv)
	var ue *usageError
	switch {
	case errors.Is(err, errHelp):
		printUsage(stdout, cmds, inv.cmd)
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "gatehouse: %s\n\n", ue.msg)
		printUsage(stderr, cmds, inv.cmd)
		return exitError
	case err != nil:
		fmt.Fprintln(stderr, "gatehouse:", err)
		return exitError
	}
	opts := []client.Option{client.WithUserAgent("gatehouse-cli")}
	if inv.cfg.actor != "" {
		opts = append(opts, client.WithActor(inv.cfg.actor))
	}
	if inv.cfg.caCert != "" {
		hc, err := trustingClient(inv.cfg.caCert)
		if err != nil {
			fmt.Fprintln(stderr, "gatehouse:", err)
			return exitError
		}
		opts = append(opts, client.WithHTTPClient(hc))
	}
	c := client.New(inv.cfg.url, inv.cfg.apiKey, opts...)
	run := inv.cmd.run
	if inv.cfg.dryRun {
		run = runDry
	}
	code, err := run(ctx, c, inv, stdout)
	if err != nil {
		fmt.Fprintln(stderr, "gatehouse:", describe(err))
		if errors.As(err, &ue) {
			return exitError
		}
		if code == exitOK {
			code = exitError
		}
	}
	return code
}

// parseCLI reads the global flags, the command words, then the command's
// arguments and flags, which may come in any order
// (`check contractor:c1 view user:alice --json`).
func parseCLI(cmds []*command, args []string, getenv func(string) string) (invocation, error) {
	cfg := cliConfig{
		url:    getenv("GATEHOUSE_URL"),
		apiKey: getenv("GATEHOUSE_API_KEY"),
		actor:  getenv("GATEHOUSE_ACTOR"),
		caCert: getenv("GATEHOUSE_CA_CERT"),
	}
	if cfg.url == "" {
		cfg.url = defaultURL(getenv("GATEHOUSE_ADDR"))
		if getenv("GATEHOUSE_TLS_CERT") != "" {
			// The server beside us serves HTTPS (the image's health check).
			cfg.url = "https://" + strings.TrimPrefix(cfg.url, "http://")
		}
	}
	global := newFlagSet("gatehouse")
	globalFlags(global, &cfg)
	if err := global.Parse(args); err != nil {
		return invocation{}, flagError(err)
	}
	rest := global.Args()
	if len(rest) == 0 {
		return invocation{}, usagef("no command given")
	}
	if rest[0] == "help" {
		inv := invocation{}
		if len(rest) > 1 {
			inv.cmd, _ = findCommand(cmds, rest[1:])
		}
		return inv, errHelp
	}
	cmd, n := findCommand(cmds, rest)
	if cmd == nil {
		return invocation{}, usagef("unknown command %q", strings.Join(rest[:min(len(rest), 2)], " "))
	}
	inv := invocation{cmd: cmd}
	fs := newFlagSet("gatehouse " + cmd.name)
	commandFlags(fs, cmd, &cfg)
	pos, err := parseInterspersed(fs, rest[n:])
	if err != nil {
		return inv, flagError(err)
	}
	cfg.set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { cfg.set[f.Name] = true })
	if len(pos) < cmd.minArgs || (cmd.maxArgs >= 0 && len(pos) > cmd.maxArgs) {
		return inv, usagef("%s takes %s", cmd.name, argsText(cmd))
	}
	if cmd.needsActor && cfg.actor == "" {
		return inv, usagef("%s acts for a person: pass --actor <user> or set GATEHOUSE_ACTOR", cmd.name)
	}
	if cmd.validate != nil {
		if err := cmd.validate(cfg); err != nil {
			return inv, err
		}
	}
	if _, err := cfg.consistency(); err != nil {
		return inv, err
	}
	if _, err := cfg.caveatContext(); err != nil {
		return inv, err
	}
	inv.args, inv.cfg = pos, cfg
	return inv, nil
}

// flagError turns an error of the flag package into errHelp or a usage error.
func flagError(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return errHelp
	}
	return usagef("%v", err)
}

// defaultURL is where a server started with the same environment listens:
// GATEHOUSE_ADDR's port on loopback (so that `gatehouse ready` in the
// image checks the server beside it), else http://127.0.0.1:8080.
func defaultURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return "http://127.0.0.1:8080"
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// findCommand matches the longest command name at the start of words and
// returns it with the number of words it took.
func findCommand(cmds []*command, words []string) (*command, int) {
	var best *command
	n := 0
	for _, c := range cmds {
		name := strings.Fields(c.name)
		if len(name) > len(words) || len(name) <= n {
			continue
		}
		match := true
		for i, w := range name {
			if words[i] != w && (i != 0 || alias(words[i]) != w) {
				match = false
				break
			}
		}
		if match {
			best, n = c, len(name)
		}
	}
	return best, n
}

// alias maps zed's long group names to ours.
func alias(w string) string {
	switch w {
	case "relationship", "relationships":
		return "rel"
	case "organisation", "organization":
		return "org"
	case "change-request", "change-requests", "changerequest":
		return "cr"
	case "exceptions":
		return "exception"
	case "contractors":
		return "contractor"
	}
	return w
}

// parseInterspersed parses flags that may stand before, between or after
// the positional arguments; "--" ends the flags.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		// The flag package stops at "--" (consumed) or at the first
		// positional; only in the second case may more flags follow.
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// globalFlags are accepted before the command and among its arguments.
func globalFlags(fs *flag.FlagSet, cfg *cliConfig) {
	fs.StringVar(&cfg.url, "url", cfg.url, "Gatehouse base URL (GATEHOUSE_URL)")
	fs.StringVar(&cfg.actor, "actor", cfg.actor, "the person admin commands act for, `user:<id>` (GATEHOUSE_ACTOR)")
	fs.BoolVar(&cfg.json, "json", cfg.json, "print the answer as JSON")
	fs.StringVar(&cfg.caCert, "ca-cert", cfg.caCert, "PEM `file` of the CA certificates to trust for HTTPS (GATEHOUSE_CA_CERT)")
}

// commandFlags are the flags cmd accepts: the global ones, --dry-run on a
// write, and its own.
func commandFlags(fs *flag.FlagSet, cmd *command, cfg *cliConfig) {
	globalFlags(fs, cfg)
	if cmd.writes {
		fs.BoolVar(&cfg.dryRun, "dry-run", false, "write nothing: print the relationships it would touch or delete and who would gain or lose which permission (X7)")
	}
	if cmd.flags != nil {
		cmd.flags(fs, cfg)
	}
}

// consistencyFlags are zed's names for how fresh a read must be.
func consistencyFlags(fs *flag.FlagSet, cfg *cliConfig) {
	fs.StringVar(&cfg.atLeast, "consistency-at-least", "", "read at least as fresh as this `zedToken`")
	fs.BoolVar(&cfg.fullyConsistent, "consistency-full", false, "read at SpiceDB's newest revision")
	fs.BoolVar(&cfg.minimizeLatency, "consistency-min-latency", false, "read as fast as possible, maybe a few seconds stale")
}

func reasonFlag(fs *flag.FlagSet, cfg *cliConfig) {
	fs.StringVar(&cfg.reason, "reason", "", "why, for the audit trail")
}

// pageFlags page the change-request and exception lists.
func pageFlags(fs *flag.FlagSet, cfg *cliConfig) {
	fs.IntVar(&cfg.pageSize, "limit", 0, "at most `n` items (0: the server's 1000)")
	fs.StringVar(&cfg.cursor, "cursor", "", "continue the list from the `cursor` a previous page printed")
}

// needReason refuses the command without a non-blank --reason.
func needReason(name string) func(cliConfig) error {
	return func(c cliConfig) error {
		if strings.TrimSpace(c.reason) == "" {
			return usagef("%s needs --reason", name)
		}
		return nil
	}
}

func argsText(c *command) string {
	if c.args == "" {
		return "no arguments"
	}
	return "arguments " + c.args
}

// printUsage prints the whole usage, or one command's when cmd is set.
func printUsage(w io.Writer, cmds []*command, cmd *command) {
	if cmd != nil {
		fmt.Fprintf(w, "Usage: gatehouse %s %s [flags]\n\n%s\n\nFlags:\n", cmd.name, cmd.args, cmd.summary)
		fs := newFlagSet(cmd.name)
		cfg := cliConfig{}
		commandFlags(fs, cmd, &cfg)
		fs.SetOutput(w)
		fs.PrintDefaults()
		return
	}
	fmt.Fprint(w, `Usage: gatehouse <command> [arguments] [flags]

The command-line client of a Gatehouse server, configured by GATEHOUSE_URL
(default http://127.0.0.1:8080, or the port of GATEHOUSE_ADDR when that is
set), GATEHOUSE_API_KEY and, for the commands that
change an organisation, GATEHOUSE_ACTOR (or --actor). GATEHOUSE_CA_CERT (or
--ca-cert) names a PEM file of CA certificates to trust for HTTPS. Every
command takes --url, --actor, --ca-cert and --json; every command that
writes takes --dry-run, which prints what it would change and writes
nothing. Exit status: 0 done (or allowed), 1 denied (check, explain and why
with --fail-denied), 2 error.

Commands:
`)
	for _, c := range cmds {
		if !c.hidden {
			fmt.Fprintf(w, "  %s %s\n      %s\n", c.name, c.args, c.summary)
		}
	}
	fmt.Fprint(w, `  serve
      run the Gatehouse server (gatehouse serve -h lists its settings)

Run "gatehouse help <command>" for a command's flags.
`)
}

// describe words an error for a person at a terminal.
func describe(err error) string {
	var e *client.Error
	if !errors.As(err, &e) {
		return err.Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s (HTTP %d): %s", e.Code, e.Status, e.Message)
	if e.Field != "" {
		fmt.Fprintf(&b, " [field %s]", e.Field)
	}
	if e.Permission != "" {
		fmt.Fprintf(&b, " [missing permission %s]", e.Permission)
	}
	if e.Rule != "" && !strings.Contains(e.Message, e.Rule) {
		fmt.Fprintf(&b, " [rule %s]", e.Rule)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " [retry after %s]", e.RetryAfter)
	}
	return b.String()
}
