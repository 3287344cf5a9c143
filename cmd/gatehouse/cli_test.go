package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse/client"
)

// env returns a getenv that knows only vars.
func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestParseCLI(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		wantCmd  string
		wantArgs []string
		check    func(t *testing.T, cfg cliConfig)
		wantErr  string
	}{
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
		{name: "no_command", args: nil, wantErr: "no command given"},
		{name: "unknown_command", args: []string{"frobnicate"}, wantErr: `unknown command "frobnicate"`},
		{name: "unknown_subcommand", args: []string{"org", "frobnicate"}, wantErr: `unknown command "org frobnicate"`},
		{name: "too_few_args", args: []string{"check", "contractor:c1", "view"}, wantErr: "check takes arguments <resource> <permission> <subject>"},
		{name: "too_many_args", args: []string{"org", "get", "a", "b", "--actor", "u"}, wantErr: "org get takes arguments <id>"},
		{name: "unknown_flag", args: []string{"check", "a:b", "view", "user:c", "--frob"}, wantErr: "flag provided but not defined: -frob"},
		{name: "org_needs_actor", args: []string{"org", "create", "acme"}, wantErr: "pass --actor <user> or set GATEHOUSE_ACTOR"},
		{name: "two_consistencies", args: []string{"check", "a:b", "view", "user:c", "--consistency-full", "--consistency-min-latency"}, wantErr: "choose one of"},
		{name: "bad_context", args: []string{"check", "a:b", "view", "user:c", "--context", "[1]"}, wantErr: "--context must be a JSON object"},
		{name: "help", args: []string{"help", "check"}, wantErr: errHelp.Error()},
		{name: "dash_h", args: []string{"check", "-h"}, wantErr: errHelp.Error()},
	}
	for _, tt := range tests {
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

func TestRunCLIExitCodes(t *testing.T) {
	type answer = struct {
		status int
		body   string
	}
	tests := []struct {
		name       string
		args       []string
		answers    map[string]answer
		wantCode   int
		wantOut    string
		wantErrOut string
	}{
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
		{"usage_error", []string{"check"}, nil, exitError, "", "gatehouse: check takes arguments"},
	}
	for _, tt := range tests {
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
	for _, want := range []string{"lookup resources", "rel touch", "org transfer", "GATEHOUSE_API_KEY"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("usage lacks %q:\n%s", want, out.String())
		}
	}
}
