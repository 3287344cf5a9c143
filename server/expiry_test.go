package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestExpiringRoles_T5 (issue 21, item 4) proves T5 through the HTTP API
// on the seeded brightcis: a cis_processor granted with expiresAt opens
// contractor c1 and is a member, listed with the expiry; a second after
// it, with no write in between, they are neither, at every consistency,
// and the member list leaves them out. owner, security_admin and
// alternate_security_admin refuse an expiry (422 naming T5), and an expiry
// in the past or not RFC 3339 is 400 naming expiresAt; none changes
// anything. It runs in every shape.
func TestExpiringRoles_T5(t *testing.T) {
	a := MustSeededAPI(t)
	const org, owner, tina = "brightcis", "user:olivia", "user:tina"
	grantPath := func(user, role string) string {
		return "/v1/organisations/" + org + "/members/" + strings.TrimPrefix(user, "user:") + "/roles/" + role
	}
	later := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)

	t.Run("T5_owner_SA_and_ASA_never_expire", func(t *testing.T) {
		for _, role := range []string{"owner", "security_admin", "alternate_security_admin"} {
			before := a.snapshot()
			a.mustRefuse(t, a.Do("PUT", grantPath("user:adam", role), owner, map[string]any{"expiresAt": later}),
				refusal{status: http.StatusUnprocessableEntity, code: "rule_violation", rule: "T5", field: "expiresAt"}, before)
		}
	})
	t.Run("T5_X3_an_expiry_in_the_past_or_malformed_is_refused", func(t *testing.T) {
		for _, at := range []string{"2020-01-01T00:00:00Z", "tomorrow"} {
			before := a.snapshot()
			a.mustRefuse(t, a.Do("PUT", grantPath(tina, "cis_processor"), owner, map[string]any{"expiresAt": at}),
				refusal{status: http.StatusBadRequest, code: "invalid_argument", field: "expiresAt"}, before)
		}
	})

	expires := time.Now().Add(3 * time.Second).UTC().Truncate(time.Second).Add(time.Second)
	r := a.Do("PUT", grantPath(tina, "cis_processor"), owner, map[string]any{"expiresAt": expires.Format(time.RFC3339), "reason": "three seconds of help"})
	if r.Status != http.StatusNoContent {
		t.Fatalf("granting an expiring cis_processor: %d %s", r.Status, r.Raw)
	}
	if !a.Allowed("contractor:c1", "view", tina) || !a.Allowed("organisation:"+org, "member", tina) {
		t.Fatal("tina may not view c1, or is no member, before her role expires")
	}
	if m := listedMember(t, a, org, owner, tina); m == nil {
		t.Fatal("tina is not listed before her role expires")
	} else if exp, _ := m["expiresAt"].(map[string]any); exp["cis_processor"] != expires.Format(time.RFC3339) {
		t.Errorf("tina listed as %v, want cis_processor until %s", m, expires.Format(time.RFC3339))
	}
	if m := listedMember(t, a, org, owner, "user:carla"); m == nil || m["expiresAt"] != nil {
		t.Errorf("carla, whose role never expires, listed as %v: want no expiresAt", m)
	}

	time.Sleep(time.Until(expires.Add(time.Second)))

	// Every consistency a caller can ask for, and none.
	for _, c := range []map[string]any{nil, {"minimizeLatency": true}, {"fullyConsistent": true}} {
		for _, q := range []struct{ resource, permission string }{{"contractor:c1", "view"}, {"organisation:" + org, "member"}} {
			body := map[string]any{"resource": q.resource, "permission": q.permission, "subject": tina}
			if c != nil {
				body["consistency"] = c
			}
			r := a.Do("POST", "/v1/check", "", body)
			if r.Status != http.StatusOK || r.Body["allowed"] != false {
				t.Errorf("%s#%s (%v) a second after the expiry: %d %s; want denied", q.resource, q.permission, c, r.Status, r.Raw)
			}
		}
	}
	if m := listedMember(t, a, org, owner, tina); m != nil {
		t.Errorf("the member list still shows tina after her role expired: %v", m)
	}
}

// listedMember is user's entry in GET /v1/organisations/{org}/members as
// actor sees it, or nil when user is not listed.
func listedMember(t *testing.T, a *API, org, actor, user string) map[string]any {
	t.Helper()
	r := a.Do("GET", "/v1/organisations/"+org+"/members", actor, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("listing %s's members: %d %s", org, r.Status, r.Raw)
	}
	list, _ := r.Body["members"].([]any)
	for _, e := range list {
		if m, _ := e.(map[string]any); m["user"] == user {
			return m
		}
	}
	return nil
}
