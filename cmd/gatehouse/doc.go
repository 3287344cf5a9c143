// Command gatehouse runs the Gatehouse access-control service (`gatehouse
// serve`) and is its command-line client (`gatehouse check ...`). It is
// wiring only: it reads settings, opens the adapters and hands each the
// others it needs; the rules live in the packages it wires.
//
//   - main.go: main, then run, which sends `serve` to runServe and
//     everything else to runCLI.
//   - config.go: the settings of `gatehouse serve`, from flags and
//     GATEHOUSE_* variables read through an injected getenv, checked at
//     start with messages that say what to do (config_test.go).
//   - serve.go: runServe opens SpiceDB (embedded or remote), the audit
//     trail and tracing (tracing.go), then serve listens, writes the
//     schema, starts the audit consumer and loads the demo data, and
//     shuts down gracefully when the context ends.
//   - cli.go: the client's framework: the commands() table, global and
//     per-command flags, parsing, usage, exit codes. Each noun has its own
//     file that registers its rows and runs them: cli_check.go (check,
//     explain; why in cli_why.go), cli_lookup.go, cli_schema.go,
//     cli_rel.go, cli_audit.go, cli_org.go (with access),
//     cli_designation.go, cli_contractor.go, cli_cr.go, cli_exception.go,
//     cli_substantial.go and cli_ready.go; cli_output.go holds the
//     printing they share, cli_dryrun.go the --dry-run of every write
//     (X7), tls.go the trust of a private CA.
//
// It may import every package of Gatehouse (the root vocabulary,
// workflow, server, spicedb, audit, console, dryrun, schema, seed,
// client), SpiceDB's server package for its tracing setup, and
// OpenTelemetry; no package imports it.
package main
