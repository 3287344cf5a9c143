package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/client"
)

// env returns a getenv that knows only vars.
func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// parseCLICase is one command line of TestParseCLI and what it parses to.
type parseCLICase struct {
	name     string
	args     []string
	env      map[string]string
	wantCmd  string
	wantArgs []string
	check    func(t *testing.T, cfg cliConfig)
	wantErr  string
}

// parseCLICases are the command lines TestParseCLI parses.
var parseCLICases = []parseCLICase{
	{
		name: "check_with_defaults", args: []string{"check", "contractor:c1", "view", "user:alice"},
		wantCmd: "check", wantArgs: []string{"contractor:c1", "view", "user:alice"},
		check: func(t *testing.T, cfg cliConfig) {
			if cfg.url != "http://127.0.0.1:8080" || cfg.json || cfg.failDenied {
				t.Errorf("cfg = %+v", cfg)
			}
		},
	},
	{
		name: "check_flags_after_args", args: []string{"check", "contractor:c1", "view", "user:alice", "--fail-denied", "--json"},
		wantCmd: "check", wantArgs: []string{"contractor:c1", "view", "user:alice"},
		check: func(t *testing.T, cfg cliConfig) {
			if !cfg.failDenied || !cfg.json {
				t.Errorf("cfg = %+v, want fail-denied and json", cfg)
			}
		},
	},
	{
		name: "flags_between_args", args: []string{"check", "contractor:c1", "--consistency-at-least", "tok", "view", "user:alice"},
		wantCmd: "check", wantArgs: []string{"contractor:c1", "view", "user:alice"},
		check: func(t *testing.T, cfg cliConfig) {
			if cons, _ := cfg.consistency(); cons == nil || cons.AtLeastAsFresh != "tok" {
				t.Errorf("consistency = %+v", cons)
			}
		},
	},
	{
		name: "global_flags_before_command_and_env", args: []string{"--url", "http://gh:9000", "schema"},
		env:     map[string]string{"GATEHOUSE_URL": "http://env:1", "GATEHOUSE_API_KEY": "k", "GATEHOUSE_ACTOR": "user:ann"},
		wantCmd: "schema", wantArgs: nil,
		check: func(t *testing.T, cfg cliConfig) {
			if cfg.url != "http://gh:9000" || cfg.apiKey != "k" || cfg.actor != "user:ann" {
				t.Errorf("cfg = %+v", cfg)
			}
		},
	},
	{
		name: "env_url", args: []string{"schema", "read"}, env: map[string]string{"GATEHOUSE_URL": "http://env:1"},
		wantCmd: "schema read",
		check: func(t *testing.T, cfg cliConfig) {
			if cfg.url != "http://env:1" {
				t.Errorf("url = %q", cfg.url)
			}
		},
	},
	{
		name: "url_from_gatehouse_addr", args: []string{"ready"}, env: map[string]string{"GATEHOUSE_ADDR": "0.0.0.0:9090"},
		wantCmd: "ready",
		check: func(t *testing.T, cfg cliConfig) {
			if cfg.url != "http://127.0.0.1:9090" {
				t.Errorf("url = %q", cfg.url)
			}
		},
	},
	{
		name: "actor_flag_overrides_env", args: []string{"org", "get", "acme", "--actor", "user:bob"}, env: map[string]string{"GATEHOUSE_ACTOR": "user:ann"},
		wantCmd: "org get", wantArgs: []string{"acme"},
		check: func(t *testing.T, cfg cliConfig) {
			if cfg.actor != "user:bob" {
				t.Errorf("actor = %q", cfg.actor)
			}
		},
	},
	{
		name: "lookup_resources", args: []string{"lookup", "resources", "contractor", "view", "user:alice"},
		wantCmd: "lookup resources", wantArgs: []string{"contractor", "view", "user:alice"},
	},
	{
		name: "lookup_subjects", args: []string{"lookup", "subjects", "organisation:acme", "manage_members", "user"},
		wantCmd: "lookup subjects", wantArgs: []string{"organisation:acme", "manage_members", "user"},
	},
	{
		name: "zed_long_group_name", args: []string{"relationship", "touch", "organisation:acme#administrator@user:bob", "--reason", "hired"},
		wantCmd: "rel touch", wantArgs: []string{"organisation:acme#administrator@user:bob"},
		check: func(t *testing.T, cfg cliConfig) {
			if cfg.reason != "hired" {
				t.Errorf("reason = %q", cfg.reason)
			}
		},
	},
	{
		name: "double_dash_ends_flags", args: []string{"rel", "delete", "--", "-x#y@z"},
		wantCmd: "rel delete", wantArgs: []string{"-x#y@z"},
	},
	{
		name: "org_grant_sa", args: []string{"org", "grant", "acme", "bob", "security_admin", "--previous-becomes-alternate", "--actor=alice"},
		wantCmd: "org grant", wantArgs: []string{"acme", "bob", "security_admin"},
		check: func(t *testing.T, cfg cliConfig) {
			if !cfg.previousBecomesAlt || cfg.actor != "alice" {
				t.Errorf("cfg = %+v", cfg)
			}
		},
	},
	{
		name: "cr_reject_reason_after_id", args: []string{"cr", "reject", "cr1", "--reason", "frozen", "--actor", "tom"},
		wantCmd: "cr reject", wantArgs: []string{"cr1"},
		check: func(t *testing.T, cfg cliConfig) {
			if cfg.reason != "frozen" {
				t.Errorf("reason = %q", cfg.reason)
			}
		},
	},
	{
		name: "change_request_long_name_and_american_spelling", args: []string{"change-request", "authorize", "cr1", "--note", "ok", "--actor", "mia"},
		wantCmd: "cr authorize", wantArgs: []string{"cr1"},
	},
	{
		name: "contractor_patch_tells_false_from_absent", args: []string{"contractor", "patch", "c9", "--admin-only=false", "--actor", "adam"},
		wantCmd: "contractor patch", wantArgs: []string{"c9"},
		check: func(t *testing.T, cfg cliConfig) {
			if !cfg.set["admin-only"] || cfg.adminOnly || cfg.set["name"] {
				t.Errorf("set = %v, adminOnly = %t", cfg.set, cfg.adminOnly)
			}
		},
	},
	{name: "cr_reject_needs_reason", args: []string{"cr", "reject", "cr1", "--actor", "tom"}, wantErr: "cr reject needs --reason"},
	{name: "cr_flag_needs_a_flag", args: []string{"cr", "flag", "cr1", "--actor", "fiona"}, wantErr: "cr flag raises --security, --charge or both"},
	{name: "cr_override_needs_category_and_reason", args: []string{"cr", "override", "cr1", "--reason", "x", "--actor", "stella"}, wantErr: "cr override needs --category and --reason"},
	{name: "contractor_patch_needs_a_change", args: []string{"contractor", "patch", "c9", "--actor", "adam"}, wantErr: "contractor patch changes --name, --admin-only or both"},
	{name: "substantial_set_needs_a_flag", args: []string{"substantial", "set", "globex", "service", "--actor", "grace"}, wantErr: "substantial set declares --security, --charge or both"},
	{name: "cr_needs_actor", args: []string{"cr", "list", "globex"}, wantErr: "cr list acts for a person"},
	{name: "cr_file_too_few_args", args: []string{"cr", "file", "globex", "cr1", "--actor", "pat"}, wantErr: "cr file takes arguments <org> <id|-> <kind> [target]"},
	{name: "no_command", args: nil, wantErr: "no command given"},
	{name: "unknown_command", args: []string{"frobnicate"}, wantErr: `unknown command "frobnicate"`},
	{name: "unknown_subcommand", args: []string{"org", "frobnicate"}, wantErr: `unknown command "org frobnicate"`},
	{name: "too_few_args", args: []string{"check", "contractor:c1", "view"}, wantErr: "check takes arguments <resource> <permission> <subject>"},
	{name: "too_many_args", args: []string{"org", "get", "a", "b", "--actor", "u"}, wantErr: "org get takes arguments <id>"},
	{name: "unknown_flag", args: []string{"check", "a:b", "view", "user:c", "--frob"}, wantErr: "flag provided but not defined: -frob"},
	{name: "org_needs_actor", args: []string{"org", "create", "acme"}, wantErr: "pass --actor <user> or set GATEHOUSE_ACTOR"},
	{name: "two_consistencies", args: []string{"check", "a:b", "view", "user:c", "--consistency-full", "--consistency-min-latency"}, wantErr: "choose one of"},
	{name: "bad_context", args: []string{"check", "a:b", "view", "user:c", "--context", "[1]"}, wantErr: "--context must be a JSON object"},
	{name: "dry_run_only_on_writes", args: []string{"check", "a:b", "view", "user:c", "--dry-run"}, wantErr: "flag provided but not defined: -dry-run"},
	{
		name: "dry_run_on_a_write", args: []string{"org", "remove", "brightcis", "carla", "--dry-run", "--actor", "olivia"},
		wantCmd: "org remove", wantArgs: []string{"brightcis", "carla"},
		check: func(t *testing.T, cfg cliConfig) {
			if !cfg.dryRun {
				t.Error("dryRun not set")
			}
		},
	},
	{
		name: "why", args: []string{"why", "contractor:c3", "view", "user:carla", "--fail-denied"},
		wantCmd: "why", wantArgs: []string{"contractor:c3", "view", "user:carla"},
	},
	{name: "help", args: []string{"help", "check"}, wantErr: errHelp.Error()},
	{name: "dash_h", args: []string{"check", "-h"}, wantErr: errHelp.Error()},
}

func TestParseCLI(t *testing.T) {
	for _, tt := range parseCLICases {
		t.Run(tt.name, func(t *testing.T) {
			inv, err := parseCLI(commands(), tt.args, env(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if inv.cmd.name != tt.wantCmd || !reflect.DeepEqual(inv.args, tt.wantArgs) {
				t.Errorf("parsed %q %q, want %q %q", inv.cmd.name, inv.args, tt.wantCmd, tt.wantArgs)
			}
			if tt.check != nil {
				tt.check(t, inv.cfg)
			}
		})
	}
}

func TestRelationshipsArgs(t *testing.T) {
	tests := []struct {
		args    []string
		want    []string
		wantErr bool
	}{
		{[]string{"organisation:acme", "administrator", "user:bob"}, []string{"organisation:acme#administrator@user:bob"}, false},
		{
			[]string{"organisation:acme#administrator@user:bob", "contractor:c1#organisation@organisation:acme"},
			[]string{"organisation:acme#administrator@user:bob", "contractor:c1#organisation@organisation:acme"},
			false,
		},
		{[]string{"organisation:acme", "administrator"}, nil, true},
	}
	for _, tt := range tests {
		got, err := relationships(tt.args)
		if (err != nil) != tt.wantErr || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("relationships(%q) = %q, %v", tt.args, got, err)
		}
	}
}

// MustFakeServer answers the CLI's requests from a table of path to
// (status, body) and records the requests it saw.
func MustFakeServer(tb testing.TB, answers map[string]struct {
	status int
	body   string
}, seen *[]*http.Request, bodies *[]string,
) string {
	tb.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		*seen = append(*seen, r)
		*bodies = append(*bodies, string(b))
		a, ok := answers[r.Method+" "+r.URL.Path]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"error":{"code":"not_found","message":"no route"}}`)
			return
		}
		w.WriteHeader(a.status)
		_, _ = io.WriteString(w, a.body)
	}))
	tb.Cleanup(srv.Close)
	return srv.URL
}

// answer is what the fake server answers a route with.
type answer = struct {
	status int
	body   string
}

// exitCodeCase is one command of TestRunCLIExitCodes: the fake server's
// answers, and what the command prints and exits with.
type exitCodeCase struct {
	name       string
	args       []string
	answers    map[string]answer
	wantCode   int
	wantOut    string
	wantErrOut string
}

// exitCodeCases are the commands TestRunCLIExitCodes runs.
var exitCodeCases = []exitCodeCase{
	{
		"allowed",
		[]string{"check", "contractor:c1", "view", "user:alice", "--fail-denied"},
		map[string]answer{"POST /v1/check": {200, `{"allowed":true,"zedToken":"z"}`}},
		exitOK, "true\n", "",
	},
	{
		"denied_without_fail_denied",
		[]string{"check", "contractor:c1", "view", "user:mallory"},
		map[string]answer{"POST /v1/check": {200, `{"allowed":false}`}},
		exitOK, "false\n", "",
	},
	{
		"denied_with_fail_denied",
		[]string{"check", "contractor:c1", "view", "user:mallory", "--fail-denied"},
		map[string]answer{"POST /v1/check": {200, `{"allowed":false}`}},
		exitDenied, "false\n", "",
	},
	{
		"caveated",
		[]string{"check", "contractor:c1", "view", "user:alice", "--fail-denied"},
		map[string]answer{"POST /v1/check": {200, `{"allowed":false,"conditional":true,"missingContext":["now"]}`}},
		exitDenied, "caveated, missing context: now\n", "",
	},
	{
		"json",
		[]string{"check", "contractor:c1", "view", "user:alice", "--json"},
		map[string]answer{"POST /v1/check": {200, `{"allowed":true,"zedToken":"z"}`}},
		exitOK, "{\n  \"allowed\": true,\n  \"zedToken\": \"z\"\n}\n", "",
	},
	{
		"server_error_names_field",
		[]string{"check", "contractor:c1", "view", "user:alice"},
		map[string]answer{"POST /v1/check": {400, `{"error":{"code":"invalid_argument","message":"bad","field":"subject"}}`}},
		exitError, "",
		"gatehouse: invalid_argument (HTTP 400): bad [field subject]\n",
	},
	{
		"forbidden_names_permission",
		[]string{"org", "delete", "acme", "--actor", "bob"},
		map[string]answer{"DELETE /v1/organisations/acme": {403, `{"error":{"code":"permission_denied","message":"user:bob lacks delete","permission":"delete"}}`}},
		exitError, "",
		"gatehouse: permission_denied (HTTP 403): user:bob lacks delete [missing permission delete]\n",
	},
	{
		"lookup_resources_lines",
		[]string{"lookup", "resources", "contractor", "view", "user:alice"},
		map[string]answer{"POST /v1/lookup/resources": {200, `{"resources":["contractor:c1","contractor:c2"]}`}},
		exitOK, "contractor:c1\ncontractor:c2\n", "",
	},
	{
		"rel_touch_prints_token",
		[]string{"rel", "touch", "organisation:acme", "administrator", "user:bob"},
		map[string]answer{"POST /v1/relationships": {200, `{"zedToken":"ztok"}`}},
		exitOK, "ztok\n", "",
	},
	{
		"why_denied_with_fail_denied_X6",
		[]string{"why", "contractor:c3", "view", "user:carla", "--fail-denied"},
		map[string]answer{"POST /v1/explain": {200, `{"allowed":false,"paths":[],"summary":"carla may not view contractor:c3: the contractor is admin-only (K2).","whyNot":[{"via":"organisation->view_unflagged_contractors->cis_processor","blockedBy":[{"relation":"contractor:c3#admin_only","rule":"K2","reason":"the contractor is admin-only","lift":{"endpoint":"PATCH /v1/contractors/c3","permission":"manage_contractors","on":"organisation:brightcis","subjects":["user:adam"],"more":true}}]}],"truncated":true}`}},
		exitDenied,
		"denied\ncarla may not view contractor:c3: the contractor is admin-only (K2).\n\n" +
			"way 1: organisation->view_unflagged_contractors->cis_processor\n" +
			"  blocked by contractor:c3#admin_only (K2: the contractor is admin-only)\n" +
			"    who may lift it: user:adam and others (manage_contractors on organisation:brightcis, PATCH /v1/contractors/c3)\n" +
			"\ntruncated: the search stopped at its bounds (32 levels, 3 s, 100 ways); there may be more\n",
		"",
	},
	{
		"why_allowed",
		[]string{"why", "contractor:c1", "view", "user:carla", "--fail-denied"},
		map[string]answer{"POST /v1/explain": {200, `{"allowed":true,"paths":[["organisation:brightcis#cis_processor@user:carla","contractor:c1#organisation@organisation:brightcis"]]}`}},
		exitOK, "allowed\n\npath 1:\n  organisation:brightcis#cis_processor@user:carla\n  contractor:c1#organisation@organisation:brightcis\n", "",
	},
	{
		"why_says_until_T5",
		[]string{"why", "contractor:c3", "view", "user:bill"},
		map[string]answer{"POST /v1/explain": {200, `{"allowed":false,"paths":[],"summary":"bill may not view contractor:c3.","whyNot":[{"via":"organisation->view_unflagged_contractors->cis_processor","blockedBy":[{"relation":"contractor:c3#admin_only","rule":"K2","reason":"the contractor is admin-only","lift":{"endpoint":"PATCH /v1/contractors/c3","permission":"manage_contractors","on":"organisation:brightcis","subjects":["user:adam","user:carla"],"until":{"user:carla":"2027-01-31T00:00:00Z"}}}]}]}`}},
		exitOK,
		"denied\nbill may not view contractor:c3.\n\n" +
			"way 1: organisation->view_unflagged_contractors->cis_processor\n" +
			"  blocked by contractor:c3#admin_only (K2: the contractor is admin-only)\n" +
			"    who may lift it: user:adam, user:carla (until 2027-01-31T00:00:00Z) (manage_contractors on organisation:brightcis, PATCH /v1/contractors/c3)\n",
		"",
	},
	{
		"explain_path_until_T5",
		[]string{"explain", "contractor:c3", "view", "user:carla"},
		map[string]answer{"POST /v1/explain": {200, `{"allowed":true,"paths":[["organisation:brightcis#administrator@user:carla[expiration:2027-01-31T00:00:00Z]","contractor:c3#organisation@organisation:brightcis"]],"pathsUntil":[{"until":"2027-01-31T00:00:00Z","expiring":[{"relationship":"organisation:brightcis#administrator@user:carla[expiration:2027-01-31T00:00:00Z]","until":"2027-01-31T00:00:00Z"}]}]}`}},
		exitOK, "true\npath 1 (until 2027-01-31T00:00:00Z):\n  organisation:brightcis#administrator@user:carla[expiration:2027-01-31T00:00:00Z]\n  contractor:c3#organisation@organisation:brightcis\n", "",
	},
	{
		"dry_run_prints_changes_and_effects_X7",
		[]string{"org", "remove", "brightcis", "carla", "--dry-run", "--actor", "olivia"},
		map[string]answer{"DELETE /v1/organisations/brightcis/members/carla": {200, `{"dryRun":true,"changes":["delete organisation:brightcis#cis_processor@user:carla"],"effects":[{"subject":"user:carla","permission":"view","on":"contractor:c1","change":"lost"},{"subject":"user:tina","permission":"view","on":"contractor:c1","change":"gained"}]}`}},
		exitOK, "would delete organisation:brightcis#cis_processor@user:carla\nuser:carla loses view on contractor:c1\nuser:tina gains view on contractor:c1\n" + dryRunNote + "\n", "",
	},
	{
		"dry_run_truncated_effects_json",
		[]string{"org", "delete", "acme", "--dry-run", "--actor", "alice", "--json"},
		map[string]answer{"DELETE /v1/organisations/acme": {200, `{"dryRun":true,"changes":["delete organisation:acme#owner@user:alice"],"effects":[],"effectsTruncated":true}`}},
		exitOK, "{\n  \"dryRun\": true,\n  \"changes\": [\n    \"delete organisation:acme#owner@user:alice\"\n  ],\n  \"effects\": [],\n  \"effectsTruncated\": true\n}\n", "",
	},
	{"usage_error", []string{"check"}, nil, exitError, "", "gatehouse: check takes arguments"},
}

func TestRunCLIExitCodes(t *testing.T) {
	for _, tt := range exitCodeCases {
		t.Run(tt.name, func(t *testing.T) {
			var seen []*http.Request
			var bodies []string
			url := MustFakeServer(t, tt.answers, &seen, &bodies)
			var out, errOut bytes.Buffer
			code := runCLI(t.Context(), tt.args, env(map[string]string{"GATEHOUSE_URL": url, "GATEHOUSE_API_KEY": "k"}), &out, &errOut)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d (stderr %q)", code, tt.wantCode, errOut.String())
			}
			if out.String() != tt.wantOut {
				t.Errorf("stdout = %q, want %q", out.String(), tt.wantOut)
			}
			if !strings.HasPrefix(errOut.String(), tt.wantErrOut) || (tt.wantErrOut == "" && errOut.Len() > 0) {
				t.Errorf("stderr = %q, want prefix %q", errOut.String(), tt.wantErrOut)
			}
			for _, r := range seen {
				if r.Header.Get("Authorization") != "Bearer k" {
					t.Errorf("Authorization = %q", r.Header.Get("Authorization"))
				}
			}
		})
	}
}

func TestRunCLISendsWhatItWasGiven(t *testing.T) {
	var seen []*http.Request
	var bodies []string
	url := MustFakeServer(t, map[string]struct {
		status int
		body   string
	}{"POST /v1/organisations": {201, `{"id":"acme","name":"Acme Ltd","owner":"user:alice"}`}}, &seen, &bodies)
	var out, errOut bytes.Buffer
	code := runCLI(t.Context(), []string{"org", "create", "acme", "Acme Ltd"}, env(map[string]string{"GATEHOUSE_URL": url, "GATEHOUSE_ACTOR": "alice"}), &out, &errOut)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if got := seen[0].Header.Get(client.ActorHeader); got != "user:alice" {
		t.Errorf("actor header = %q", got)
	}
	var body map[string]string
	if err := json.Unmarshal([]byte(bodies[0]), &body); err != nil || body["id"] != "acme" || body["name"] != "Acme Ltd" {
		t.Errorf("body = %s (%v)", bodies[0], err)
	}
	if !strings.Contains(out.String(), "owner: user:alice") {
		t.Errorf("stdout = %q", out.String())
	}
}

func TestHelpGoesToStdout(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := runCLI(t.Context(), []string{"help"}, env(nil), &out, &errOut); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{
		"lookup resources", "rel touch", "org transfer", "GATEHOUSE_API_KEY", "org edit", "cr file", "cr list", "cr reject", "cr withdraw",
		"cr flag", "cr override", "cr confirm", "exception grant", "exception list", "designation set", "contractor patch", "substantial set",
		"why", "--dry-run",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("usage lacks %q:\n%s", want, out.String())
		}
	}
}

// pendingCR is the fake server's answer for an open change request.
const pendingCR = `{"id":"cr1","organisation":"globex","kind":"public_facing","target":"page:pricing","requester":"user:pat","substantialSecurity":false,"substantialCharge":false,"legalMandate":false,"status":"pending","tier":"main_contact","authorisers":["user:mia","user:tom"],"approvalsNeeded":["authorisation"],"authorisedBy":[],"zedToken":"zt"}`

// lifecycleCase is one command of TestLifecycleCommands: the route the
// fake server answers, its answer, and what the command must send and print.
type lifecycleCase struct {
	name           string
	args           []string
	route          string // method and path answered
	status         int
	answer         string
	wantQuery      string
	wantBody       string // JSON, or "" for none
	wantOut        []string
	wantOutExactly string
}

// lifecycleCases are the commands TestLifecycleCommands runs.
var lifecycleCases = []lifecycleCase{
	{
		name: "cr_file", args: []string{"cr", "file", "globex", "cr1", "public_facing", "page:pricing", "--substantial-charge"},
		route: "POST /v1/organisations/globex/change-requests", status: 201, answer: pendingCR,
		wantBody: `{"id":"cr1","kind":"public_facing","target":"page:pricing","substantialCharge":true}`,
		wantOut:  []string{"status:      pending", "authorisers: user:mia, user:tom", "needs:       authorisation"},
	},
	{
		name: "cr_file_legal", args: []string{"cr", "file", "globex", "cr2", "service", "--legal-reason", "court order"},
		route: "POST /v1/organisations/globex/change-requests", status: 201, answer: `{"id":"cr2","status":"authorised","tier":"none","legalMandate":true}`,
		wantBody: `{"id":"cr2","kind":"service","legalReason":"court order"}`,
		wantOut:  []string{"flags:       legal mandate", "authorisers: none"},
	},
	{
		name: "cr_get_json", args: []string{"cr", "get", "cr1", "--json"},
		route: "GET /v1/change-requests/cr1", status: 200, answer: `{"id":"cr1","status":"pending"}`,
		wantOutExactly: "{\n  \"id\": \"cr1\",\n  \"organisation\": \"\",\n  \"kind\": \"\",\n  \"requester\": \"\",\n  \"substantialSecurity\": false,\n  \"substantialCharge\": false,\n  \"legalMandate\": false,\n  \"status\": \"pending\",\n  \"tier\": \"\",\n  \"authorisers\": null,\n  \"approvalsNeeded\": null,\n  \"authorisedBy\": null,\n  \"zedToken\": \"\"\n}\n",
	},
	{
		name: "cr_list_awaiting_me", args: []string{"cr", "list", "globex", "--awaiting-me", "--status", "pending", "--limit", "2"},
		route: "GET /v1/organisations/globex/change-requests", status: 200, answer: `{"changeRequests":[` + pendingCR + `],"cursor":"c2"}`,
		wantQuery: "awaiting=me&limit=2&status=pending",
		wantOut:   []string{"ID   KIND           TARGET        REQUESTER  STATUS   NEEDS          AUTHORISERS", "cr1  public_facing  page:pricing  user:pat   pending  authorisation  user:mia,user:tom", "more: --cursor c2"},
	},
	{
		name: "cr_authorise_with_note", args: []string{"cr", "authorise", "cr1", "--note", "fine"},
		route: "POST /v1/change-requests/cr1/authorise", status: 200, answer: `{"id":"cr1","status":"authorised","tier":"none","authorisedBy":["user:mia"]}`,
		wantBody: `{"note":"fine"}`, wantOut: []string{"status:        authorised", "authorised by: user:mia"},
	},
	{
		name: "cr_reject", args: []string{"cr", "reject", "cr1", "--reason", "frozen"},
		route: "POST /v1/change-requests/cr1/reject", status: 200,
		answer:   `{"id":"cr1","status":"rejected","tier":"none","closedBy":"user:tom","closedAt":"2026-01-15T09:30:00Z","reason":"frozen"}`,
		wantBody: `{"reason":"frozen"}`, wantOut: []string{"status:      rejected", "closed by:   user:tom", "closed at:   2026-01-15T09:30:00Z", "reason:      frozen"},
	},
	{
		name: "cr_withdraw", args: []string{"cr", "withdraw", "cr1"},
		route: "POST /v1/change-requests/cr1/withdraw", status: 200, answer: `{"id":"cr1","status":"withdrawn","closedBy":"user:pat"}`,
		wantBody: `{}`, wantOut: []string{"status:      withdrawn"},
	},
	{
		name: "cr_flag", args: []string{"cr", "flag", "cr1", "--charge"},
		route: "POST /v1/change-requests/cr1/flags", status: 200, answer: `{"id":"cr1","status":"pending","substantialCharge":true,"approvalsNeeded":["authorisation","charge"]}`,
		wantBody: `{"substantialCharge":true}`, wantOut: []string{"flags:       substantial charge", "needs:       authorisation, charge"},
	},
	{
		name: "cr_override", args: []string{"cr", "override", "cr1", "--category", "outage", "--reason", "status page"},
		route: "POST /v1/change-requests/cr1/override", status: 200, answer: `{"id":"cr1","status":"pending","overrideBy":"user:stella","overrideCategory":"outage","overrideReason":"status page"}`,
		wantBody: `{"category":"outage","reason":"status page"}`, wantOut: []string{"override by:  user:stella (outage: status page)", "confirmed by: not yet"},
	},
	{
		name: "cr_confirm", args: []string{"cr", "confirm", "cr1"},
		route: "POST /v1/change-requests/cr1/override/confirm", status: 200, answer: `{"id":"cr1","status":"authorised","overrideBy":"user:stella","overrideConfirmedBy":"user:sue"}`,
		wantOut: []string{"confirmed by: user:sue"},
	},
	{
		name: "exception_grant", args: []string{"exception", "grant", "globex", "pat", "public_facing", "page:pricing", "--expires", "2030-01-01T00:00:00Z"},
		route: "POST /v1/organisations/globex/exceptions", status: 201, answer: `{"organisation":"globex","user":"user:pat","kind":"public_facing","target":"page:pricing","expiresAt":"2030-01-01T00:00:00Z"}`,
		wantBody:       `{"user":"user:pat","kind":"public_facing","target":"page:pricing","expiresAt":"2030-01-01T00:00:00Z"}`,
		wantOutExactly: "user:pat may file public_facing on page:pricing until 2030-01-01T00:00:00Z, authorised when filed\n",
	},
	{
		name: "exception_revoke", args: []string{"exception", "revoke", "globex", "user:pat", "public_facing"},
		route: "DELETE /v1/organisations/globex/exceptions/pat/public_facing", status: 204, wantOutExactly: "ztok\n",
	},
	{
		name: "exception_list", args: []string{"exception", "list", "globex"},
		route: "GET /v1/organisations/globex/exceptions", status: 200, answer: `{"exceptions":[{"user":"user:pat","kind":"public_facing"}]}`,
		wantOutExactly: "USER      KIND           TARGET  EXPIRES\nuser:pat  public_facing  -       -\n",
	},
	{
		name: "designation_set_with_reason", args: []string{"designation", "set", "globex", "mia", "unavailable_contact", "--reason", "on leave"},
		route: "PUT /v1/organisations/globex/members/mia/designations/unavailable_contact", status: 204,
		wantBody: `{"reason":"on leave"}`, wantOutExactly: "ztok\n",
	},
	{
		name: "designation_unset", args: []string{"designation", "unset", "globex", "mia", "unavailable_contact"},
		route: "DELETE /v1/organisations/globex/members/mia/designations/unavailable_contact", status: 204, wantOutExactly: "ztok\n",
	},
	{
		name: "contractor_create", args: []string{"contractor", "create", "brightcis", "c9", "Quiet Works", "--admin-only"},
		route: "POST /v1/organisations/brightcis/contractors", status: 201, answer: `{"id":"c9","name":"Quiet Works","adminOnly":true,"organisation":"brightcis"}`,
		wantBody: `{"id":"c9","name":"Quiet Works","adminOnly":true}`, wantOut: []string{"admin-only:   true"},
	},
	{
		name: "contractor_patch_only_what_is_given", args: []string{"contractor", "patch", "c9", "--admin-only=false"},
		route: "PATCH /v1/contractors/c9", status: 200, answer: `{"id":"c9","name":"Quiet Works","adminOnly":false,"organisation":"brightcis"}`,
		wantBody: `{"adminOnly":false}`, wantOut: []string{"admin-only:   false"},
	},
	{
		name: "contractor_delete", args: []string{"contractor", "delete", "c9"},
		route: "DELETE /v1/contractors/c9", status: 204, wantOutExactly: "ztok\n",
	},
	{
		name: "org_edit", args: []string{"org", "edit", "globex", "Globex Group"},
		route: "PATCH /v1/organisations/globex", status: 200, answer: `{"id":"globex","name":"Globex Group","owner":"user:grace"}`,
		wantBody: `{"name":"Globex Group"}`, wantOutExactly: "id:    globex\nname:  Globex Group\nowner: user:grace\n",
	},
	{
		name: "org_grant_expires_T5", args: []string{"org", "grant", "brightcis", "tina", "cis_processor", "--expires", "2027-01-31T00:00:00Z"},
		route: "PUT /v1/organisations/brightcis/members/tina/roles/cis_processor", status: 204,
		wantBody: `{"expiresAt":"2027-01-31T00:00:00Z"}`, wantOutExactly: "ztok\n",
	},
	{
		name: "org_members_show_expiry_T5", args: []string{"org", "members", "brightcis"},
		route: "GET /v1/organisations/brightcis/members", status: 200,
		answer:  `{"members":[{"user":"user:carla","roles":["cis_processor"],"designations":[]},{"user":"user:tina","roles":["billing_manager","cis_processor"],"designations":["main_contact"],"expiresAt":{"cis_processor":"2027-01-31T00:00:00Z"}}]}`,
		wantOut: []string{"USER ROLES DESIGNATIONS", "user:carla cis_processor -", "user:tina billing_manager,cis_processor until 2027-01-31T00:00:00Z main_contact"},
	},
	{
		name: "access_page", args: []string{"access", "brightcis", "--limit", "1"},
		route: "GET /v1/organisations/brightcis/access", status: 200, wantQuery: "limit=1",
		answer:  `{"access":[{"user":"user:adam","permission":"edit_details","on":"organisation:brightcis","via":["organisation:brightcis#administrator@user:adam"],"until":null}],"cursor":"YWRhbQ","truncated":false}`,
		wantOut: []string{"USER PERMISSION ON VIA UNTIL", "user:adam edit_details organisation:brightcis organisation:brightcis#administrator@user:adam -", "more: --cursor YWRhbQ"},
	},
	{
		name: "access_csv", args: []string{"access", "brightcis", "--csv"},
		route: "GET /v1/organisations/brightcis/access", status: 200,
		answer:         "user,permission,object,via,until\nuser:adam,view,contractor:c1,organisation:brightcis#administrator@user:adam,\n",
		wantOutExactly: "user,permission,object,via,until\nuser:adam,view,contractor:c1,organisation:brightcis#administrator@user:adam,\n",
	},
	{
		name: "access_one_person", args: []string{"access", "brightcis", "carla"},
		route: "GET /v1/organisations/brightcis/members/carla/access", status: 200,
		answer:  `{"user":"user:carla","access":[{"user":"user:carla","permission":"view","on":"contractor:c1","via":["organisation:brightcis#cis_processor@user:carla"],"until":"2027-01-31T00:00:00Z"}],"truncated":false,"recentChanges":[{"at":"2026-02-01T10:00:00Z","actor":"user:carla","action":"file_change_request","changes":["touch change_request:cr1#requester@user:carla"],"zedToken":"z"}]}`,
		wantOut: []string{"user:carla view contractor:c1 organisation:brightcis#cis_processor@user:carla 2027-01-31T00:00:00Z", "recent changes:", "2026-02-01T10:00:00Z file_change_request touch change_request:cr1#requester@user:carla"},
	},
	{
		name: "org_remove", args: []string{"org", "remove", "globex", "pat"},
		route: "DELETE /v1/organisations/globex/members/pat", status: 204, wantOutExactly: "ztok\n",
	},
	{
		name: "substantial_set_on_a_target", args: []string{"substantial", "set", "globex", "public_facing", "--target", "page:pricing", "--security"},
		route: "PUT /v1/organisations/globex/substantial/public_facing", status: 204,
		wantQuery: "target=page%3Apricing", wantBody: `{"security":true}`, wantOutExactly: "ztok\n",
	},
	{
		name: "substantial_unset", args: []string{"substantial", "unset", "globex", "access_permissions"},
		route: "DELETE /v1/organisations/globex/substantial/access_permissions", status: 204, wantOutExactly: "ztok\n",
	},
}

// TestLifecycleCommands: each command of a request's life, and the admin
// commands added with it, sends its method, path, query and body for the
// actor, and prints the answer for a person or, with --json, as it came.
func TestLifecycleCommands(t *testing.T) {
	for _, tt := range lifecycleCases {
		t.Run(tt.name, func(t *testing.T) {
			var got *http.Request
			var body string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				got, body = r, string(b)
				if r.Method+" "+r.URL.EscapedPath() != tt.route {
					w.WriteHeader(http.StatusNotFound)
					_, _ = io.WriteString(w, `{"error":{"code":"not_found","message":"no route"}}`)
					return
				}
				w.Header().Set(client.ZedTokenHeader, "ztok")
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.answer)
			}))
			t.Cleanup(srv.Close)
			var out, errOut bytes.Buffer
			code := runCLI(t.Context(), tt.args, env(map[string]string{"GATEHOUSE_URL": srv.URL, "GATEHOUSE_API_KEY": "k", "GATEHOUSE_ACTOR": "alan"}), &out, &errOut)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, errOut.String())
			}
			if got.Header.Get(client.ActorHeader) != "user:alan" {
				t.Errorf("actor header = %q", got.Header.Get(client.ActorHeader))
			}
			if got.URL.RawQuery != tt.wantQuery {
				t.Errorf("query = %q, want %q", got.URL.RawQuery, tt.wantQuery)
			}
			if !sameJSON(t, body, tt.wantBody) {
				t.Errorf("body = %s, want %s", body, tt.wantBody)
			}
			if tt.wantOutExactly != "" && out.String() != tt.wantOutExactly {
				t.Errorf("stdout = %q, want %q", out.String(), tt.wantOutExactly)
			}
			// Columns align on the longest label, so runs of spaces count as one.
			squeeze := func(s string) string { return strings.Join(strings.Fields(s), " ") }
			for _, want := range tt.wantOut {
				if !strings.Contains(squeeze(out.String()), squeeze(want)) {
					t.Errorf("stdout lacks %q:\n%s", want, out.String())
				}
			}
		})
	}
}

// sameJSON says a and b are the same JSON value, or both empty.
func sameJSON(t *testing.T, a, b string) bool {
	t.Helper()
	if a == "" || b == "" {
		return a == b
	}
	var x, y any
	if err := json.Unmarshal([]byte(a), &x); err != nil {
		t.Errorf("%s: %v", a, err)
		return false
	}
	if err := json.Unmarshal([]byte(b), &y); err != nil {
		t.Errorf("%s: %v", b, err)
		return false
	}
	return reflect.DeepEqual(x, y)
}

// TestLifecycleErrors: a refusal of the new commands is printed with the
// rule it names, and exits 2.
func TestLifecycleErrors(t *testing.T) {
	var seen []*http.Request
	var bodies []string
	url := MustFakeServer(t, map[string]struct {
		status int
		body   string
	}{"POST /v1/change-requests/cr1/authorise": {409, `{"error":{"code":"conflict","message":"change request cr1 is rejected","rule":"C13"}}`}}, &seen, &bodies)
	var out, errOut bytes.Buffer
	code := runCLI(t.Context(), []string{"cr", "authorise", "cr1", "--actor", "mia"}, env(map[string]string{"GATEHOUSE_URL": url}), &out, &errOut)
	if code != exitError || out.Len() > 0 {
		t.Errorf("exit %d, stdout %q", code, out.String())
	}
	if want := "gatehouse: conflict (HTTP 409): change request cr1 is rejected [rule C13]\n"; errOut.String() != want {
		t.Errorf("stderr = %q, want %q", errOut.String(), want)
	}
}

// TestEveryWriteTakesDryRun: a command takes --dry-run exactly when it
// sends a write (anything but a GET or a checking POST), and with it every
// request it sends carries dryRun=true and what it prints is the dry run.
func TestEveryWriteTakesDryRun(t *testing.T) {
	reads := map[string]bool{"/v1/check": true, "/v1/check/bulk": true, "/v1/lookup/resources": true, "/v1/lookup/subjects": true, "/v1/explain": true}
	for _, cmd := range commands() {
		t.Run(strings.ReplaceAll(cmd.name, " ", "_"), func(t *testing.T) {
			var wrote, undry bool
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				if r.Method != http.MethodGet && !reads[r.URL.Path] {
					wrote = true
					undry = undry || r.URL.Query().Get("dryRun") != "true"
				}
				_, _ = io.WriteString(w, `{"dryRun":true,"changes":["touch a:b#r@user:c"],"effects":[]}`)
			}))
			t.Cleanup(srv.Close)
			args := strings.Fields(cmd.name)
			for range cmd.minArgs {
				args = append(args, "a:b#r@user:c")
			}
			// Enough flags to pass each command's own validation.
			fs := newFlagSet(cmd.name)
			commandFlags(fs, cmd, &cliConfig{})
			for f, v := range map[string]string{"reason": "r", "category": "c", "security": "true", "name": "n"} {
				if fs.Lookup(f) != nil {
					args = append(args, "--"+f+"="+v)
				}
			}
			vars := map[string]string{"GATEHOUSE_URL": srv.URL, "GATEHOUSE_ACTOR": "alan"}
			code, _, errOut := cli(t, vars, args...)
			if code != exitOK {
				t.Fatalf("%q: exit %d: %s", args, code, errOut)
			}
			if wrote != cmd.writes {
				t.Fatalf("sends a write: %t; marked writes: %t", wrote, cmd.writes)
			}
			if !cmd.writes {
				return
			}
			wrote, undry = false, false
			code, out, errOut := cli(t, vars, append(args, "--dry-run")...)
			if code != exitOK || !wrote || undry || out != "would touch a:b#r@user:c\nno one would gain or lose a permission\n"+dryRunNote+"\n" {
				t.Errorf("--dry-run: exit %d, wrote %t, a request without dryRun=true %t, stdout %q, stderr %q", code, wrote, undry, out, errOut)
			}
		})
	}
}

// MustGatehouse starts `gatehouse serve` in this process (embedded
// SpiceDB, memory datastore, the seed's demo data) on a free port and
// returns the CLI's environment for it; the server stops when tb ends.
func MustGatehouse(tb testing.TB) map[string]string {
	tb.Helper()
	l, err := (&net.ListenConfig{}).Listen(tb.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	const key = "cli-test-key-0123456789abcdef"
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve"}, env(map[string]string{"GATEHOUSE_ADDR": addr, "GATEHOUSE_API_KEYS": "cli=" + key}), &stdout, &stderr)
	}()
	tb.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			tb.Error("gatehouse serve did not stop within 30s")
		}
	})
	base := "http://" + addr
	for deadline := time.Now().Add(60 * time.Second); ; {
		req, _ := http.NewRequestWithContext(tb.Context(), http.MethodGet, base+"/readyz", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("gatehouse serve not ready in 60s:\n%s", stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	return map[string]string{"GATEHOUSE_URL": base, "GATEHOUSE_API_KEY": key}
}

// cli runs the command line against vars and returns its exit code and
// output.
func cli(t *testing.T, vars map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = runCLI(t.Context(), args, env(vars), &out, &errOut)
	return code, out.String(), errOut.String()
}

// TestWhyAndDryRunOnTheSeed runs why (X6) and --dry-run (X7) against a
// real Gatehouse holding the seed.
func TestWhyAndDryRunOnTheSeed(t *testing.T) {
	vars := MustGatehouse(t)

	t.Run("why_K2_admin_only_hidden_from_cis_processor", func(t *testing.T) {
		code, out, errOut := cli(t, vars, "why", "contractor:c3", "view", "user:carla", "--fail-denied")
		if code != exitDenied {
			t.Errorf("exit %d, want %d (stderr %q)", code, exitDenied, errOut)
		}
		for _, want := range []string{
			"denied\n",
			"blocked by contractor:c3#admin_only (K2: ",
			"missing organisation:brightcis#administrator@user:carla",
			"who may write it: ",
			"(manage_members on organisation:brightcis, PUT /v1/organisations/brightcis/members/carla/roles/administrator)",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("why lacks %q:\n%s", want, out)
			}
		}
		if code, _, _ := cli(t, vars, "why", "contractor:c3", "view", "user:carla"); code != exitOK {
			t.Errorf("without --fail-denied: exit %d, want 0 as check", code)
		}
	})

	t.Run("why_allowed_prints_the_paths", func(t *testing.T) {
		code, out, errOut := cli(t, vars, "why", "contractor:c1", "view", "user:carla", "--fail-denied")
		if code != exitOK || !strings.HasPrefix(out, "allowed\n") || !strings.Contains(out, "path 1:\n") ||
			!strings.Contains(out, "organisation:brightcis#cis_processor@user:carla") {
			t.Errorf("exit %d:\n%s%s", code, out, errOut)
		}
	})

	t.Run("why_json_is_the_answer", func(t *testing.T) {
		code, out, _ := cli(t, vars, "why", "contractor:c3", "view", "user:carla", "--json")
		if code != exitOK || !strings.Contains(out, `"whyNot": [`) || !strings.Contains(out, `"rule": "K2"`) || !strings.Contains(out, `"summary": "`) {
			t.Errorf("exit %d:\n%s", code, out)
		}
	})

	t.Run("dry_run_remove_carla_writes_nothing_X7", func(t *testing.T) {
		code, out, errOut := cli(t, vars, "org", "remove", "brightcis", "carla", "--dry-run", "--actor", "olivia")
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		for _, want := range []string{
			"would delete organisation:brightcis#cis_processor@user:carla\n",
			"user:carla loses view on contractor:c1\n",
			dryRunNote + "\n",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("dry run lacks %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, "user:carla loses view on contractor:c3") {
			t.Errorf("carla never saw c3 (K2), yet loses it:\n%s", out)
		}
		if code, out, _ := cli(t, vars, "check", "contractor:c1", "view", "user:carla", "--fail-denied", "--consistency-full"); code != exitOK || out != "true\n" {
			t.Errorf("after the dry run carla's view of c1: exit %d %q, want true", code, out)
		}
		if _, out, _ := cli(t, vars, "org", "members", "brightcis", "--actor", "olivia"); !strings.Contains(out, "user:carla") {
			t.Errorf("after the dry run carla is no longer a member:\n%s", out)
		}
	})

	t.Run("dry_run_refused_as_for_real", func(t *testing.T) {
		code, out, errOut := cli(t, vars, "org", "remove", "brightcis", "adam", "--dry-run", "--actor", "carla")
		if code != exitError || out != "" || !strings.Contains(errOut, "HTTP 403") {
			t.Errorf("exit %d, stdout %q, stderr %q; want the 403 of the real write", code, out, errOut)
		}
	})
}
