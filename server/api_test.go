package server_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
)

// TestBadInput_X3 sends malformed, unknown, missing, oversized and wrongly
// addressed input to every endpoint of the checking and relationship API;
// each answer names the status, code and field, and nothing is written (X3).
func TestBadInput_X3(t *testing.T) {
	a := MustSeededAPI(t)
	before := a.Relationships("organisation:acme")
	big := `{"resource":"contractor:c1","permission":"view","subject":"user:` + strings.Repeat("a", 1<<20) + `"}`
	check := func(res, perm, sub string) map[string]any {
		return map[string]any{"resource": res, "permission": perm, "subject": sub}
	}
	cases := []struct {
		name, method, path string
		body               any
		status             int
		code, field        string
	}{
		{"check malformed JSON", "POST", "/v1/check", `{"resource":`, 400, "invalid_argument", "body"},
		{"check empty body", "POST", "/v1/check", ``, 400, "invalid_argument", "body"},
		{"check unknown field", "POST", "/v1/check", `{"resource":"contractor:c1","permission":"view","subject":"user:a","colour":1}`, 400, "invalid_argument", "colour"},
		{"check wrong field type", "POST", "/v1/check", `{"resource":1,"permission":"view","subject":"user:a"}`, 400, "invalid_argument", "resource"},
		{"check two values", "POST", "/v1/check", `{"resource":"contractor:c1","permission":"view","subject":"user:a"}{}`, 400, "invalid_argument", "body"},
		{"check missing resource", "POST", "/v1/check", map[string]any{"permission": "view", "subject": "user:a"}, 400, "invalid_argument", "resource"},
		{"check missing permission", "POST", "/v1/check", map[string]any{"resource": "contractor:c1", "subject": "user:a"}, 400, "invalid_argument", "permission"},
		{"check missing subject", "POST", "/v1/check", map[string]any{"resource": "contractor:c1", "permission": "view"}, 400, "invalid_argument", "subject"},
		{"check resource without id", "POST", "/v1/check", check("contractor", "view", "user:a"), 400, "invalid_argument", "resource"},
		{"check resource bad id", "POST", "/v1/check", check("contractor:c.1", "view", "user:a"), 400, "invalid_argument", "resource"},
		{"check resource wildcard", "POST", "/v1/check", check("contractor:*", "view", "user:a"), 400, "invalid_argument", "resource"},
		{"check subject wildcard", "POST", "/v1/check", check("contractor:c1", "view", "user:*"), 400, "invalid_argument", "subject"},
		{"check subject bad relation", "POST", "/v1/check", check("contractor:c1", "view", "organisation:acme#Owner"), 400, "invalid_argument", "subject"},
		{"check unknown resource type", "POST", "/v1/check", check("spaceship:s1", "view", "user:a"), 400, "invalid_argument", "resource"},
		{"check unknown permission", "POST", "/v1/check", check("contractor:c1", "fly", "user:a"), 400, "invalid_argument", "permission"},
		{"check bad permission name", "POST", "/v1/check", check("contractor:c1", "View!", "user:a"), 400, "invalid_argument", "permission"},
		{"check unknown subject type", "POST", "/v1/check", check("contractor:c1", "view", "robot:r1"), 400, "invalid_argument", "subject"},
		{"check two consistencies", "POST", "/v1/check", map[string]any{"resource": "contractor:c1", "permission": "view", "subject": "user:a", "consistency": map[string]any{"fullyConsistent": true, "minimizeLatency": true}}, 400, "invalid_argument", "consistency"},
		{"check oversized body", "POST", "/v1/check", big, 413, "payload_too_large", ""},
		{"check wrong method", "GET", "/v1/check", nil, 405, "method_not_allowed", ""},
		{"bulk no items", "POST", "/v1/check/bulk", map[string]any{"items": []any{}}, 400, "invalid_argument", "items"},
		{"bulk too many items", "POST", "/v1/check/bulk", map[string]any{"items": slices.Repeat([]any{check("contractor:c1", "view", "user:a")}, 1001)}, 400, "invalid_argument", "items"},
		{"bulk unknown field", "POST", "/v1/check/bulk", `{"checks":[]}`, 400, "invalid_argument", "checks"},
		{"bulk wrong method", "PUT", "/v1/check/bulk", nil, 405, "method_not_allowed", ""},
		{"lookup resources missing type", "POST", "/v1/lookup/resources", map[string]any{"permission": "view", "subject": "user:a"}, 400, "invalid_argument", "resourceType"},
		{"lookup resources unknown type", "POST", "/v1/lookup/resources", map[string]any{"resourceType": "spaceship", "permission": "view", "subject": "user:a"}, 400, "invalid_argument", "resourceType"},
		{"lookup resources unknown permission", "POST", "/v1/lookup/resources", map[string]any{"resourceType": "contractor", "permission": "fly", "subject": "user:a"}, 400, "invalid_argument", "permission"},
		{"lookup resources bad subject", "POST", "/v1/lookup/resources", map[string]any{"resourceType": "contractor", "permission": "view", "subject": "alice"}, 400, "invalid_argument", "subject"},
		{"lookup resources bad limit", "POST", "/v1/lookup/resources", map[string]any{"resourceType": "contractor", "permission": "view", "subject": "user:a", "limit": -1}, 400, "invalid_argument", "limit"},
		{"lookup subjects missing resource", "POST", "/v1/lookup/subjects", map[string]any{"permission": "view", "subjectType": "user"}, 400, "invalid_argument", "resource"},
		{"lookup subjects unknown subject type", "POST", "/v1/lookup/subjects", map[string]any{"resource": "contractor:c1", "permission": "view", "subjectType": "robot"}, 400, "invalid_argument", "subjectType"},
		{"lookup subjects unknown permission", "POST", "/v1/lookup/subjects", map[string]any{"resource": "contractor:c1", "permission": "fly", "subjectType": "user"}, 400, "invalid_argument", "permission"},
		{"explain unknown type", "POST", "/v1/explain", check("spaceship:s1", "view", "user:a"), 400, "invalid_argument", "resource"},
		{"explain malformed", "POST", "/v1/explain", `[`, 400, "invalid_argument", "body"},
		{"schema wrong method", "POST", "/v1/schema", `{}`, 405, "method_not_allowed", ""},
		{"read relationships without resource", "GET", "/v1/relationships", nil, 400, "invalid_argument", "resource"},
		{"read relationships unknown parameter", "GET", "/v1/relationships?resource=organisation:acme&colour=red", nil, 400, "invalid_argument", "colour"},
		{"read relationships unknown relation", "GET", "/v1/relationships?resource=organisation:acme&relation=pilot", nil, 400, "invalid_argument", "relation"},
		{"write nothing", "POST", "/v1/relationships", map[string]any{}, 400, "invalid_argument", "touch"},
		{"write malformed relationship", "POST", "/v1/relationships", map[string]any{"touch": []string{"organisation:acme#administrator"}}, 400, "invalid_argument", "touch[0]"},
		{"write wildcard subject", "POST", "/v1/relationships", map[string]any{"touch": []string{"organisation:acme#administrator@user:*"}}, 400, "invalid_argument", "touch[0]"},
		{"write unknown relation", "POST", "/v1/relationships", map[string]any{"touch": []string{"organisation:acme#pilot@user:zed"}}, 400, "invalid_argument", "touch[0]"},
		{"write unknown type", "POST", "/v1/relationships", map[string]any{"touch": []string{"spaceship:s#pilot@user:zed"}}, 400, "invalid_argument", "touch[0]"},
		{"write bad expiration", "POST", "/v1/relationships", map[string]any{"touch": []string{"organisation:acme#administrator@user:zed[expiration:tomorrow]"}}, 400, "invalid_argument", "touch[0]"},
		{"write duplicate", "POST", "/v1/relationships", map[string]any{"touch": []string{"organisation:acme#administrator@user:zed"}, "delete": []string{"organisation:acme#administrator@user:zed"}}, 400, "invalid_argument", "delete[0]"},
		{"write subject type the relation refuses", "POST", "/v1/relationships", map[string]any{"touch": []string{"organisation:acme#administrator@platform:provider"}}, 400, "invalid_argument", ""},
		{"write guarded owner (O2)", "POST", "/v1/relationships", map[string]any{"touch": []string{"organisation:acme#administrator@user:zed", "organisation:acme#owner@user:zed"}}, 422, "rule_violation", "touch[1]"},
		{"delete guarded security_admin (S1)", "POST", "/v1/relationships", map[string]any{"delete": []string{"organisation:acme#security_admin@user:sam"}}, 422, "rule_violation", "delete[0]"},
		{"touch guarded alternate_security_admin (S1)", "POST", "/v1/relationships", map[string]any{"touch": []string{"organisation:acme#alternate_security_admin@user:zed"}}, 422, "rule_violation", "touch[0]"},
		{"write wrong method", "PUT", "/v1/relationships", `{}`, 405, "method_not_allowed", ""},
		{"audit without organisation", "GET", "/v1/audit", nil, 400, "invalid_argument", "organisation"},
		{"audit bad since", "GET", "/v1/audit?organisation=acme&since=yesterday", nil, 400, "invalid_argument", "since"},
		{"audit bad limit", "GET", "/v1/audit?organisation=acme&limit=0", nil, 400, "invalid_argument", "limit"},
		{"X5 check duplicate key", "POST", "/v1/check", `{"resource":"contractor:c1","permission":"view","subject":"user:x","subject":"user:carla"}`, 400, "invalid_argument", "subject"},
		{"X5 check case-variant key", "POST", "/v1/check", `{"resource":"contractor:c1","permission":"view","subject":"user:x","Subject":"user:carla"}`, 400, "invalid_argument", "Subject"},
		{"X5 check case-variant key alone", "POST", "/v1/check", `{"Resource":"contractor:c1","permission":"view","subject":"user:x"}`, 400, "invalid_argument", "Resource"},
		{"X5 check trailing brackets", "POST", "/v1/check", `{"resource":"contractor:c1","permission":"view","subject":"user:x"}}]`, 400, "invalid_argument", "body"},
		{"X5 check trailing garbage", "POST", "/v1/check", `{"resource":"contractor:c1","permission":"view","subject":"user:x"} x`, 400, "invalid_argument", "body"},
		{"X5 check nested duplicate key", "POST", "/v1/check", `{"resource":"contractor:c1","permission":"view","subject":"user:x","consistency":{"fullyConsistent":true,"fullyConsistent":false}}`, 400, "invalid_argument", "consistency.fullyConsistent"},
		{"X5 check nested case-variant key", "POST", "/v1/check", `{"resource":"contractor:c1","permission":"view","subject":"user:x","consistency":{"FullyConsistent":true}}`, 400, "invalid_argument", "consistency.FullyConsistent"},
		{"X5 check duplicate context key", "POST", "/v1/check", `{"resource":"contractor:c1","permission":"view","subject":"user:x","context":{"a":1,"a":2}}`, 400, "invalid_argument", "context.a"},
		{"X5 bulk item case-variant key", "POST", "/v1/check/bulk", `{"items":[{"resource":"contractor:c1","permission":"view","subject":"user:x"},{"resource":"contractor:c1","permission":"view","subject":"user:x","Subject":"user:carla"}]}`, 400, "invalid_argument", "items[1].Subject"},
		{"X5 bulk item duplicate key", "POST", "/v1/check/bulk", `{"items":[{"resource":"contractor:c1","resource":"contractor:c2","permission":"view","subject":"user:x"}]}`, 400, "invalid_argument", "items[0].resource"},
		{"X5 bulk duplicate items key", "POST", "/v1/check/bulk", `{"items":[],"items":[{"resource":"contractor:c1","permission":"view","subject":"user:x"}]}`, 400, "invalid_argument", "items"},
		{"X5 write duplicate touch key", "POST", "/v1/relationships", `{"touch":["organisation:acme#administrator@user:zed"],"touch":[]}`, 400, "invalid_argument", "touch"},
		{"X5 write case-variant key", "POST", "/v1/relationships", `{"Touch":["organisation:acme#administrator@user:zed"]}`, 400, "invalid_argument", "Touch"},
		{"X5 write trailing data", "POST", "/v1/relationships", `{"touch":["organisation:acme#administrator@user:zed"]}]`, 400, "invalid_argument", "body"},
		{"X5 lookup escaped duplicate key", "POST", "/v1/lookup/resources", `{"resourceType":"contractor","permission":"view","subject":"user:x","\u0073ubject":"user:carla"}`, 400, "invalid_argument", "subject"},
		{"audit limit not a number", "GET", "/v1/audit?organisation=acme&limit=ten", nil, 400, "invalid_argument", "limit"},
		{"audit bad until", "GET", "/v1/audit?organisation=acme&until=soon", nil, 400, "invalid_argument", "until"},
		{"audit unknown parameter", "GET", "/v1/audit?organisation=acme&colour=red", nil, 400, "invalid_argument", "colour"},
		{"unknown route", "GET", "/v1/nothing", nil, 404, "not_found", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := a.Do(tc.method, tc.path, "", tc.body)
			if r.Status != tc.status || r.ErrorCode() != tc.code {
				t.Fatalf("got %d %s, want %d %s: %s", r.Status, r.ErrorCode(), tc.status, tc.code, r.Raw)
			}
			if tc.field != "" && r.ErrorField() != tc.field {
				t.Errorf("error.field = %q, want %q: %s", r.ErrorField(), tc.field, r.Raw)
			}
			if r.Body["error"].(map[string]any)["message"] == "" {
				t.Error("empty error message")
			}
		})
	}
	if after := a.Relationships("organisation:acme"); !slices.Equal(before, after) {
		t.Errorf("X3: refused requests changed the data:\nbefore %v\nafter  %v", before, after)
	}
	if a.Allowed("organisation:acme", "member", "user:zed") {
		t.Error("X3: user:zed became a member through a refused request")
	}
}

// TestBulkAnswersInOrder checks that bulk results keep request order and
// that one bad item fails alone.
func TestBulkAnswersInOrder(t *testing.T) {
	a := MustSeededAPI(t)
	r := a.Do("POST", "/v1/check/bulk", "", map[string]any{"items": []any{
		map[string]any{"resource": "contractor:c3", "permission": "view", "subject": "user:adam"},
		map[string]any{"resource": "contractor:c3", "permission": "view", "subject": "user:carla"},
		map[string]any{"resource": "contractor:c3", "permission": "fly", "subject": "user:carla"},
		map[string]any{"resource": "invoice:inv1", "permission": "pay", "subject": "user:olivia"},
	}})
	if r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
	res := r.Body["results"].([]any)
	got := []string{}
	for _, x := range res {
		m := x.(map[string]any)
		if e, ok := m["error"].(map[string]any); ok {
			got = append(got, "error:"+e["field"].(string))
			continue
		}
		got = append(got, fmt.Sprint(m["allowed"]))
	}
	want := []string{"true", "false", "error:items[2].permission", "true"}
	if !slices.Equal(got, want) {
		t.Errorf("results %v, want %v", got, want)
	}
}

// TestAuthentication: missing and wrong keys are 401 with the JSON error
// shape; a check-only key may check and read the schema, nothing else (403).
func TestAuthentication(t *testing.T) {
	a := MustSeededAPI(t)
	body := map[string]any{"resource": "contractor:c1", "permission": "view", "subject": "user:carla"}
	for _, key := range []string{"", "wrong", testKey + "x", testKey[:len(testKey)-1]} {
		r := a.DoKey(key, "POST", "/v1/check", "", body)
		if r.Status != 401 || r.ErrorCode() != "unauthenticated" {
			t.Errorf("key %q: %d %s", key, r.Status, r.Raw)
		}
	}
	if r := a.DoKey(checkKey, "POST", "/v1/check", "", body); r.Status != 200 {
		t.Errorf("check-only key on /v1/check: %d %s", r.Status, r.Raw)
	}
	if r := a.DoKey(checkKey, "GET", "/v1/schema", "", nil); r.Status != 200 {
		t.Errorf("check-only key on /v1/schema: %d %s", r.Status, r.Raw)
	}
	r := a.DoKey(checkKey, "POST", "/v1/relationships", "", map[string]any{"touch": []string{"organisation:acme#administrator@user:mallory"}})
	if r.Status != 403 || r.ErrorCode() != "permission_denied" {
		t.Errorf("check-only key writing: %d %s", r.Status, r.Raw)
	}
	if a.Allowed("organisation:acme", "member", "user:mallory") {
		t.Error("a check-only key wrote a relationship")
	}
	for _, p := range []string{"/healthz", "/readyz", "/metrics", "/openapi.json"} {
		if r := a.DoKey("", "GET", p, "", nil); r.Status != 200 {
			t.Errorf("%s without a key: %d", p, r.Status)
		}
	}
}

// TestReadYourWrites writes and checks at once, many times over, with no
// token passed: every check sees the write before it, and every delete.
// Each writer is a caller of its own (with several replicas, its own
// client, carrying its own ZedToken).
func TestReadYourWrites(t *testing.T) {
	seeded := MustSeededAPI(t)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		a := seeded.Session(t)
		go func() {
			defer wg.Done()
			for i := range 50 {
				user := fmt.Sprintf("user:ryw%d_%d", w, i)
				if r := a.Do("POST", "/v1/relationships", "", map[string]any{"touch": []string{"organisation:brightcis#cis_processor@" + user}}); r.Status != 200 {
					t.Errorf("touch: %d %s", r.Status, r.Raw)
				}
				for _, q := range []struct {
					path string
					body map[string]any
					ok   func(Response) bool
				}{
					{
						"/v1/check",
						map[string]any{"resource": "contractor:c1", "permission": "view", "subject": user},
						func(r Response) bool { return r.Body["allowed"] == true },
					},
					{
						"/v1/lookup/resources",
						map[string]any{"resourceType": "contractor", "permission": "view", "subject": user},
						func(r Response) bool { return len(r.Body["resources"].([]any)) == 2 },
					},
				} {
					if r := a.Do("POST", q.path, "", q.body); r.Status != 200 || !q.ok(r) {
						t.Errorf("%s right after granting %s: %d %s", q.path, user, r.Status, r.Raw)
					}
				}
				r := a.Do("POST", "/v1/relationships", "", map[string]any{"delete": []string{"organisation:brightcis#cis_processor@" + user}})
				if r.Status != 200 {
					t.Errorf("delete: %d %s", r.Status, r.Raw)
				}
				if a.Allowed("contractor:c1", "view", user) {
					t.Errorf("check right after revoking %s still allows", user)
				}
			}
		}()
	}
	wg.Wait()
}

// TestExplain answers a check as relationship chains a person can follow.
func TestExplain(t *testing.T) {
	a := MustSeededAPI(t)
	r := a.Do("POST", "/v1/explain", "", map[string]any{"resource": "contractor:c1", "permission": "view", "subject": "user:carla"})
	if r.Status != 200 || r.Body["allowed"] != true {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
	b, _ := json.Marshal(r.Body["paths"])
	want := `[["organisation:brightcis#cis_processor@user:carla","contractor:c1#organisation@organisation:brightcis"]]`
	if string(b) != want {
		t.Errorf("paths %s, want %s", b, want)
	}
	r = a.Do("POST", "/v1/explain", "", map[string]any{"resource": "contractor:c3", "permission": "view", "subject": "user:carla"})
	if r.Status != 200 || r.Body["allowed"] != false || len(r.Body["paths"].([]any)) != 0 {
		t.Errorf("denied explain: %d %s", r.Status, r.Raw)
	}
}

// TestBlankNames_X3: a name of spaces alone is no name, through the API as
// in the console: creating an organisation or a contractor, or renaming
// either, with one is refused (400 naming name) and changes nothing; a
// name is kept without its outer spaces.
func TestBlankNames_X3(t *testing.T) {
	a := MustSeededAPI(t)
	before := a.Relationships("organisation:brightcis")
	c1 := a.Relationships("contractor:c1")
	for _, c := range []struct{ method, path, actor string }{
		{"POST", "/v1/organisations", "user:x3-owner"},
		{"PATCH", "/v1/organisations/brightcis", "user:olivia"},
		{"POST", "/v1/organisations/brightcis/contractors", "user:olivia"},
		{"PATCH", "/v1/contractors/c1", "user:olivia"},
	} {
		body := map[string]any{"id": "x3-blank", "name": " \t "}
		if c.method == "PATCH" {
			body = map[string]any{"name": "   "}
		}
		r := a.Do(c.method, c.path, c.actor, body)
		if r.Status != 400 || r.ErrorField() != "name" {
			t.Errorf("%s %s with a blank name: %d %s, want 400 naming name", c.method, c.path, r.Status, r.Raw)
		}
	}
	if after := a.Relationships("organisation:brightcis"); !slices.Equal(before, after) {
		t.Errorf("X3: refused requests changed brightcis:\nbefore %v\nafter  %v", before, after)
	}
	if after := a.Relationships("contractor:c1"); !slices.Equal(c1, after) {
		t.Errorf("X3: refused requests changed c1:\nbefore %v\nafter  %v", c1, after)
	}
	if r := a.Do("GET", "/v1/organisations/x3-blank", "user:x3-owner", nil); r.Status != 404 && r.Status != 403 {
		t.Errorf("the refused organisation exists: %d %s", r.Status, r.Raw)
	}
	r := a.Do("POST", "/v1/organisations", "user:x3-owner", map[string]any{"id": "x3-named", "name": " Initech "})
	if r.Status != 201 || r.Body["name"] != "Initech" {
		t.Errorf("created with outer spaces: %d %s, want 201 named Initech", r.Status, r.Raw)
	}
}
