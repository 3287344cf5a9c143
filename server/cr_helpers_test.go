package server_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse"
)

// The change-request helpers speak the API of api.md, section "Change
// requests", against the demo organisation globex of seed/seed.go.

// fileCR files body in org as actor.
func (a *API) fileCR(org, actor string, body any) Response {
	a.t.Helper()
	return a.Do("POST", "/v1/organisations/"+org+"/change-requests", actor, body)
}

// mustFile files a request in globex as actor and fails unless it is created.
func (a *API) mustFile(actor string, body map[string]any) Response {
	a.t.Helper()
	r := a.fileCR("globex", actor, body)
	if r.Status != http.StatusCreated {
		a.t.Fatalf("filing %v as %s: %d %s", body, actor, r.Status, r.Raw)
	}
	return r
}

// getCR reads the change request id as actor.
func (a *API) getCR(actor, id string) Response {
	a.t.Helper()
	return a.Do("GET", "/v1/change-requests/"+id, actor, nil)
}

// authorise authorises (or approves) id as actor with a note.
func (a *API) authorise(actor, id, note string) Response {
	a.t.Helper()
	return a.Do("POST", "/v1/change-requests/"+id+"/authorise", actor, map[string]any{"note": note})
}

// Delete deletes relationships straight from the Store, as test setup (see Touch).
func (a *API) Delete(rels ...string) {
	a.t.Helper()
	a.setUp(gatehouse.Delete, rels)
}

// snapshot lists every relationship a change-request endpoint could touch:
// change requests, kinds, targets and the organisations, sorted.
func (a *API) snapshot() []string {
	a.t.Helper()
	var out []string
	for _, typ := range []string{"organisation", "contractor", "invoice", "change_request", "change_kind", "change_target", "platform"} {
		out = append(out, a.readAll("resourceType="+typ)...)
	}
	slices.Sort(out)
	return out
}

// strs turns a JSON array of strings into a []string (nil and missing are empty).
func strs(v any) []string {
	out := []string{}
	list, _ := v.([]any)
	for _, s := range list {
		str, _ := s.(string)
		out = append(out, str)
	}
	return out
}

// state is what a change-request answer says about who must act.
type state struct {
	status, tier string
	authorisers  []string
	needed       []string
}

// wantState fails unless r has the HTTP status code and the state w.
func wantState(t *testing.T, r Response, code int, w state) {
	t.Helper()
	if r.Status != code {
		t.Fatalf("status %d, want %d: %s", r.Status, code, r.Raw)
	}
	got := state{
		status: str(r.Body["status"]), tier: str(r.Body["tier"]),
		authorisers: strs(r.Body["authorisers"]), needed: strs(r.Body["approvalsNeeded"]),
	}
	if w.authorisers == nil {
		w.authorisers = []string{}
	}
	if w.needed == nil {
		w.needed = []string{}
	}
	if got.status != w.status || got.tier != w.tier || !slices.Equal(got.authorisers, w.authorisers) || !slices.Equal(got.needed, w.needed) {
		t.Fatalf("state\n got: %+v\nwant: %+v\nbody: %s", got, w, r.Raw)
	}
}

func str(v any) string { s, _ := v.(string); return s }

// refusal is the error answer a refused request must get; empty fields are not checked.
type refusal struct {
	status                        int
	code, permission, rule, field string
}

// mustRefuse fails unless r is the refusal w and no relationship changed
// since before was taken (X3).
func (a *API) mustRefuse(t *testing.T, r Response, w refusal, before []string) {
	t.Helper()
	if r.Status != w.status || (w.code != "" && r.ErrorCode() != w.code) {
		t.Fatalf("got %d %q, want %d %q: %s", r.Status, r.ErrorCode(), w.status, w.code, r.Raw)
	}
	for _, f := range []struct{ name, got, want string }{
		{"permission", r.ErrorPermission(), w.permission},
		{"rule", r.ErrorRule(), w.rule},
		{"field", r.ErrorField(), w.field},
	} {
		if f.want != "" && f.got != f.want {
			t.Errorf("error.%s = %q, want %q: %s", f.name, f.got, f.want, r.Raw)
		}
	}
	if w.rule != "" && !strings.Contains(r.errField("message"), w.rule) {
		t.Errorf("message %q does not name rule %s", r.errField("message"), w.rule)
	}
	if after := a.snapshot(); !slices.Equal(before, after) {
		t.Errorf("a refused request changed relationships:\nbefore: %s\nafter:  %s", strings.Join(before, " "), strings.Join(after, " "))
	}
}

// cr builds a filing body: id, kind, then optional key/value pairs.
func cr(id, kind string, kv ...any) map[string]any {
	b := map[string]any{"id": id, "kind": kind}
	for i := 0; i+1 < len(kv); i += 2 {
		b[kv[i].(string)] = kv[i+1]
	}
	return b
}
