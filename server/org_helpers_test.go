package server_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// The organisation tests build their teams through the API of api.md,
// section "Organisations", on an empty Gatehouse (MustAPI).

// orgRoles are the roles of domain.md in its order; orgTeam gives each to its own user.
func orgRoles() []string {
	return []string{
		"owner", "security_admin", "alternate_security_admin", "administrator",
		"it_manager", "it_admin", "finance_admin", "billing_manager", "cis_processor",
	}
}

// orgStaff is the provider staff member every orgTeam's API knows.
const orgStaff = "user:stella"

// orgTeam is an organisation made through the API, with one user per role.
type orgTeam struct {
	a  *API
	id string
}

// newOrgTeam creates organisation id as its owner and has the owner grant
// every other role to a user of its own, named "<id>-<role>".
func newOrgTeam(t *testing.T, a *API, id string) orgTeam {
	t.Helper()
	a.Touch("platform:provider#staff@" + orgStaff)
	tm := orgTeam{a: a, id: id}
	orgWant(t, a.Do("POST", "/v1/organisations", tm.user("owner"), map[string]any{"id": id, "name": "Org " + id}), http.StatusCreated)
	for _, role := range orgRoles()[1:] {
		orgWant(t, tm.grant(tm.user("owner"), tm.user(role), role), http.StatusNoContent)
	}
	return tm
}

// user is the user of tm who holds role ("user:<id>-<role>"), or any
// other name made unique to tm.
func (tm orgTeam) user(name string) string { return "user:" + tm.id + "-" + name }

// path is /v1/organisations/<id> followed by rest.
func (tm orgTeam) path(rest string) string { return "/v1/organisations/" + tm.id + rest }

// memberPath is the path of user (user:<id> or bare) in tm, followed by rest.
func (tm orgTeam) memberPath(user, rest string) string {
	return tm.path("/members/" + strings.TrimPrefix(user, "user:") + rest)
}

// grant puts role on user as actor.
func (tm orgTeam) grant(actor, user, role string) Response {
	tm.a.t.Helper()
	return tm.a.Do("PUT", tm.memberPath(user, "/roles/"+role), actor, nil)
}

// revoke deletes role from user as actor.
func (tm orgTeam) revoke(actor, user, role string) Response {
	tm.a.t.Helper()
	return tm.a.Do("DELETE", tm.memberPath(user, "/roles/"+role), actor, nil)
}

// designate puts (or, with del, deletes) designation on user as actor.
func (tm orgTeam) designate(actor, user, designation string, del bool) Response {
	tm.a.t.Helper()
	method := "PUT"
	if del {
		method = "DELETE"
	}
	var body any
	if !del && (designation == "verified_director" || designation == "unavailable_contact") {
		body = map[string]any{"reason": "provider staff checked: " + designation} // C7, C9: staff say why
	}
	return tm.a.Do(method, tm.memberPath(user, "/designations/"+designation), actor, body)
}

// contractor creates contractor id in tm as the owner.
func (tm orgTeam) contractor(t *testing.T, id string, adminOnly bool) {
	t.Helper()
	orgWant(t, tm.a.Do("POST", tm.path("/contractors"), tm.user("owner"), map[string]any{"id": id, "name": "Contractor " + id, "adminOnly": adminOnly}), http.StatusCreated)
}

// holders lists who holds relation on tm's organisation, sorted.
func (tm orgTeam) holders(relation string) []string {
	tm.a.t.Helper()
	r := tm.a.Do("GET", "/v1/relationships?resource=organisation:"+tm.id+"&relation="+relation, "", nil)
	if r.Status != http.StatusOK {
		tm.a.t.Fatalf("reading %s of %s: %d %s", relation, tm.id, r.Status, r.Raw)
	}
	var out []string
	for _, s := range strs(r.Body["relationships"]) {
		_, sub, _ := strings.Cut(s, "@")
		out = append(out, sub)
	}
	slices.Sort(out)
	return out
}

// orgWant fails the test at once unless r has status.
func orgWant(t *testing.T, r Response, status int) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Raw)
	}
}

// orgAudit reads the audit trail of org (newest first), filtered by query ("&actor=...").
func orgAudit(t *testing.T, a *API, org, query string) []map[string]any {
	t.Helper()
	r := a.Do("GET", "/v1/audit?organisation="+org+"&limit=1000"+query, "", nil)
	orgWant(t, r, http.StatusOK)
	var out []map[string]any
	for _, e := range r.Body["events"].([]any) {
		out = append(out, e.(map[string]any))
	}
	return out
}
