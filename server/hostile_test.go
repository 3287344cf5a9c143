package server_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/server"
)

// platformKey may change platform#staff (X4); testKey may not.
const platformKey = "platform-key"

// hostile is one request of the hostile-input table and the refusal it must get.
type hostile struct {
	name, key, actor, method, path string
	body                           any
	status                         int
	code, field, rule              string
	// retryAfter wants a Retry-After header; noSeries wants /metrics to
	// gain no series from the request.
	retryAfter, noSeries bool
}

// TestHostileInput_Issue9 sends every kind of input that issue 9 found
// getting around the rules, as a caller without good intent would: each
// is refused with its status, code, field (or rule), and the relationship
// snapshot of every type is the same after it as before (X3, X4, X5,
// bounded reads, keys, methods). TestBadInput_X3 covers malformed input
// endpoint by endpoint; this table covers the trust boundary.
func TestHostileInput_Issue9(t *testing.T) {
	s := mustSecured(t, func(d *server.Deps) { d.PlatformKeys = []string{platformKey} })
	s.Seed(t)
	raw := func(op string, rels ...string) map[string]any { return map[string]any{op: rels} }
	lookupSubjects := func(kv ...any) map[string]any {
		b := map[string]any{"resource": "organisation:acme", "permission": "member", "subjectType": "user"}
		for i := 0; i+1 < len(kv); i += 2 {
			b[kv[i].(string)] = kv[i+1]
		}
		return b
	}
	lookupResources := func(kv ...any) map[string]any {
		b := map[string]any{"resourceType": "contractor", "permission": "view", "subject": "user:carla"}
		for i := 0; i+1 < len(kv); i += 2 {
			b[kv[i].(string)] = kv[i+1]
		}
		return b
	}
	const (
		bad    = gatehouse.EINVALID
		rule   = gatehouse.ERULE
		denied = gatehouse.EFORBIDDEN
	)
	cases := []hostile{
		// X4: every owned class of relation refused by the raw endpoint, naming its rule.
		{name: "X4 owner (O2)", body: raw("touch", "organisation:acme#owner@user:mallory"), status: 422, code: rule, field: "touch[0]", rule: "O2"},
		{name: "X4 delete owner (O2)", body: raw("delete", "organisation:acme#owner@user:oscar"), status: 422, code: rule, field: "delete[0]", rule: "O2"},
		{name: "X4 security_admin (S1)", body: raw("touch", "organisation:acme#security_admin@user:mallory"), status: 422, code: rule, field: "touch[0]", rule: "S1"},
		{name: "X4 alternate_security_admin (S1)", body: raw("delete", "organisation:acme#alternate_security_admin@user:alex"), status: 422, code: rule, field: "delete[0]", rule: "S1"},
		{name: "X4 organisation platform link", body: raw("delete", "organisation:acme#platform@platform:provider"), status: 422, code: rule, field: "delete[0]", rule: "X4"},
		{name: "X4 main_contact designation (T4)", body: raw("touch", "organisation:acme#"+gatehouse.DesignationMainContact+"@user:mallory"), status: 422, code: rule, field: "touch[0]", rule: "T4"},
		{name: "X4 verified_director designation (T4)", body: raw("touch", "organisation:acme#"+gatehouse.DesignationVerifiedDirector+"@user:ian"), status: 422, code: rule, field: "touch[0]", rule: "T4"},
		{name: "X4 contractor into a second organisation (K1)", body: raw("touch", "contractor:c1#organisation@organisation:globex"), status: 422, code: rule, field: "touch[0]", rule: "K1"},
		{name: "X4 invoice into a second organisation (K1)", body: raw("touch", "invoice:inv1#organisation@organisation:globex"), status: 422, code: rule, field: "touch[0]", rule: "K1"},
		{name: "X4 admin_only flag (K2)", body: raw("delete", "contractor:c3#admin_only@user:mallory"), status: 422, code: rule, field: "delete[0]", rule: "K2"},
		{name: "X4 exception (C6)", body: raw("touch", "change_kind:public_facing#exception@user:mallory"), status: 422, code: rule, field: "touch[0]", rule: "C6"},
		{name: "X4 always_security (C15)", body: raw("touch", "change_kind:public_facing#always_security@organisation:acme"), status: 422, code: rule, field: "touch[0]", rule: "C15"},
		{name: "X4 authorised_by (C4)", body: raw("touch", "change_request:cr1#authorised_by@user:mallory"), status: 422, code: rule, field: "touch[0]", rule: "C4"},
		{name: "X4 owned after a free one is still refused whole", body: raw("touch", "organisation:acme#administrator@user:mallory", "organisation:acme#owner@user:mallory"), status: 422, code: rule, field: "touch[1]", rule: "O2"},
		{name: "X4 platform staff without a platform key", body: raw("touch", "platform:provider#staff@user:mallory"), status: 403, code: denied},
		{name: "X4 platform staff delete without a platform key", body: raw("delete", "platform:provider#staff@user:stella"), status: 403, code: denied},
		{name: "X4 platform staff with a check key", key: checkKey, body: raw("touch", "platform:provider#staff@user:mallory"), status: 403, code: denied},

		// X5: input that means one thing.
		{name: "X5 duplicate key", method: "POST", path: "/v1/relationships", body: `{"touch":["organisation:acme#administrator@user:mallory"],"touch":["organisation:acme#it_admin@user:mallory"]}`, status: 400, code: bad, field: "touch"},
		{name: "X5 case-variant key", method: "POST", path: "/v1/relationships", body: `{"Touch":["organisation:acme#administrator@user:mallory"]}`, status: 400, code: bad, field: "Touch"},
		{name: "X5 case-variant check key", method: "POST", path: "/v1/check", body: `{"resource":"contractor:c1","permission":"view","subject":"user:x","Subject":"user:carla"}`, status: 400, code: bad, field: "Subject"},
		{name: "X5 trailing brackets", method: "POST", path: "/v1/relationships", body: `{"touch":["organisation:acme#administrator@user:mallory"]}}]`, status: 400, code: bad, field: "body"},
		{name: "X5 organisation id with /", actor: "user:mallory", method: "POST", path: "/v1/organisations", body: map[string]any{"id": "evil/x", "name": "Evil"}, status: 400, code: bad, field: "id"},
		{name: "X5 organisation id that is only /", actor: "user:mallory", method: "POST", path: "/v1/organisations", body: map[string]any{"id": "acme/", "name": "Evil"}, status: 400, code: bad, field: "id"},

		// Wildcards: a caller never supplies *.
		{name: "wildcard subject written", body: raw("touch", "organisation:acme#administrator@user:*"), status: 400, code: bad, field: "touch[0]"},
		{name: "wildcard resource written", body: raw("touch", "organisation:*#administrator@user:mallory"), status: 400, code: bad, field: "touch[0]"},
		{name: "wildcard subject checked", method: "POST", path: "/v1/check", body: map[string]any{"resource": "contractor:c1", "permission": "view", "subject": "user:*"}, status: 400, code: bad, field: "subject"},
		{name: "wildcard resource looked up", method: "POST", path: "/v1/lookup/subjects", body: lookupSubjects("resource", "organisation:*"), status: 400, code: bad, field: "resource"},
		{name: "wildcard subject looked up", method: "POST", path: "/v1/lookup/resources", body: lookupResources("subject", "user:*"), status: 400, code: bad, field: "subject"},
		{name: "wildcard resource read", method: "GET", path: "/v1/relationships?resource=organisation:*", status: 400, code: bad, field: "resource"},
		{name: "wildcard subject read", method: "GET", path: "/v1/relationships?resource=organisation:acme&subject=user:*", status: 400, code: bad, field: "subject"},
		{name: "wildcard organisation created", actor: "user:mallory", method: "POST", path: "/v1/organisations", body: map[string]any{"id": "*", "name": "Everyone"}, status: 400, code: bad, field: "id"},

		// Bounded reads: limit 1 to 10000, a cursor this server made.
		{name: "limit 0 on relationships", method: "GET", path: "/v1/relationships?resource=organisation:acme&limit=0", status: 400, code: bad, field: "limit"},
		{name: "limit 10001 on relationships", method: "GET", path: "/v1/relationships?resource=organisation:acme&limit=10001", status: 400, code: bad, field: "limit"},
		{name: "limit -1 on relationships", method: "GET", path: "/v1/relationships?resource=organisation:acme&limit=-1", status: 400, code: bad, field: "limit"},
		{name: "limit 0 on lookup subjects", method: "POST", path: "/v1/lookup/subjects", body: lookupSubjects("limit", 0), status: 400, code: bad, field: "limit"},
		{name: "limit 10001 on lookup subjects", method: "POST", path: "/v1/lookup/subjects", body: lookupSubjects("limit", 10001), status: 400, code: bad, field: "limit"},
		{name: "limit 0 on lookup resources", method: "POST", path: "/v1/lookup/resources", body: lookupResources("limit", 0), status: 400, code: bad, field: "limit"},
		{name: "limit 10001 on lookup resources", method: "POST", path: "/v1/lookup/resources", body: lookupResources("limit", 10001), status: 400, code: bad, field: "limit"},
		{name: "limit 10001 on audit", method: "GET", path: "/v1/audit?organisation=acme&limit=10001", status: 400, code: bad, field: "limit"},
		{name: "limit 0 on audit", method: "GET", path: "/v1/audit?organisation=acme&limit=0", status: 400, code: bad, field: "limit"},
		{name: "forged cursor on relationships", method: "GET", path: "/v1/relationships?resource=organisation:acme&cursor=Zm9yZ2Vk", status: 400, code: bad, field: "cursor"},
		{name: "forged cursor on lookup subjects", method: "POST", path: "/v1/lookup/subjects", body: lookupSubjects("cursor", "eyJjIjoieCJ9"), status: 400, code: bad, field: "cursor"},
		{name: "forged cursor on lookup resources", method: "POST", path: "/v1/lookup/resources", body: lookupResources("cursor", "not a cursor"), status: 400, code: bad, field: "cursor"},

		// Unknown query parameters.
		{name: "unknown parameter on relationships", method: "GET", path: "/v1/relationships?resource=organisation:acme&colour=red", status: 400, code: bad, field: "colour"},
		{name: "unknown parameter on a write", method: "POST", path: "/v1/relationships?force=true", body: raw("touch", "organisation:acme#administrator@user:mallory"), status: 400, code: bad, field: "force"},
		{name: "unknown parameter on a check", method: "POST", path: "/v1/check?as=user:stella", body: map[string]any{"resource": "contractor:c1", "permission": "view", "subject": "user:mallory"}, status: 400, code: bad, field: "as"},
		{name: "limit on a route without lists", method: "POST", path: "/v1/check?limit=5", body: map[string]any{"resource": "contractor:c1", "permission": "view", "subject": "user:mallory"}, status: 400, code: bad, field: "limit"},

		// Made-up methods and paths: refused, and no new series in /metrics.
		{name: "made-up method on a route", method: "BREW", path: "/v1/relationships", status: 405, code: gatehouse.EMETHOD, noSeries: true},
		{name: "made-up method without a key", key: "-", method: "PURGE", path: "/v1/organisations/acme", status: 405, code: gatehouse.EMETHOD, noSeries: true},
		{name: "made-up path", method: "GET", path: "/v1/everything-made-up", status: 404, code: gatehouse.ENOTFOUND, noSeries: true},

		// Keys.
		{name: "no key", key: "-", body: raw("touch", "organisation:acme#administrator@user:mallory"), status: 401, code: gatehouse.EUNAUTHENTICATED},
		{name: "wrong key", key: "wrong-key", body: raw("touch", "organisation:acme#administrator@user:mallory"), status: 401, code: gatehouse.EUNAUTHENTICATED},
		{name: "a key's prefix", key: testKey[:4], body: raw("touch", "organisation:acme#administrator@user:mallory"), status: 401, code: gatehouse.EUNAUTHENTICATED},
		{name: "check key on a raw write", key: checkKey, body: raw("touch", "organisation:acme#administrator@user:mallory"), status: 403, code: denied},
		{name: "check key creating an organisation", key: checkKey, actor: "user:mallory", method: "POST", path: "/v1/organisations", body: map[string]any{"id": "mallorys", "name": "M"}, status: 403, code: denied},
		{name: "check key deleting a contractor", key: checkKey, actor: "user:oscar", method: "DELETE", path: "/v1/contractors/c3", status: 403, code: denied},
		{name: "check key reading relationships", key: checkKey, method: "GET", path: "/v1/relationships?resource=organisation:acme", status: 403, code: denied},
	}
	before := s.snapshot()
	metricSeries := func() int {
		r := s.Do("GET", "/metrics", "", nil)
		return strings.Count(string(r.Raw), "\ngatehouse_http_requests_total{")
	}
	for _, tc := range cases {
		if tc.method == "" {
			tc.method, tc.path = "POST", "/v1/relationships"
		}
		key := tc.key
		switch key {
		case "":
			key = testKey
		case "-":
			key = ""
		}
		t.Run(tc.name, func(t *testing.T) {
			var series int
			if tc.noSeries {
				// The first refusal of its kind may add its one series
				// (method and route "other"); the next must add none.
				s.DoKey(key, tc.method+"X", tc.path, tc.actor, tc.body)
				s.DoKey(key, tc.method, tc.path+"x", tc.actor, tc.body)
				metricSeries() // the scrape is a series of its own
				series = metricSeries()
			}
			r := s.DoKey(key, tc.method, tc.path, tc.actor, tc.body)
			s.mustRefuse(t, r, refusal{status: tc.status, code: tc.code, field: tc.field, rule: tc.rule}, before)
			if tc.retryAfter && r.Header.Get("Retry-After") == "" {
				t.Error("no Retry-After")
			}
			if r.Header.Get("X-Request-Id") == "" {
				t.Error("no X-Request-Id")
			}
			if tc.noSeries {
				skipInShape(t, shapeRemotePostgres, "each replica counts its own /metrics series, and the client takes turns between them, so the warm-up refusal and the counted one may land on different replicas")
				if after := metricSeries(); after != series {
					t.Errorf("%s %s added %d series to /metrics", tc.method, tc.path, after-series)
				}
			}
		})
	}

	// The platform key may do what the table refused the full key.
	if r := s.DoKey(platformKey, "POST", "/v1/relationships", "", raw("touch", "platform:provider#staff@user:pia")); r.Status != http.StatusOK {
		t.Errorf("platform key writing platform staff: %d %s", r.Status, r.Raw)
	}
	if !slices.Contains(s.snapshot(), "platform:provider#staff@user:pia") {
		t.Error("the platform key's write is not there")
	}
}

// TestHostileInput_X5_DepthBound sends bodies of nothing but "[", one of
// 40 KB and one of 1 MiB (the most a body may weigh), with the check-only
// key: X5 refuses each as nesting deeper than the bound, at the cost of
// its first levels (BenchmarkHostileInput measures the rest of issue 19's
// shapes).
func TestHostileInput_X5_DepthBound(t *testing.T) {
	a := MustAPI(t)
	for _, tc := range []struct {
		name string
		size int
	}{
		{"X5_40KB_of_open_brackets", 40 << 10},
		{"X5_1MiB_of_open_brackets", 1 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := a.DoKey(checkKey, "POST", "/v1/check", "", strings.Repeat("[", tc.size))
			if r.Status != http.StatusBadRequest || r.ErrorCode() != gatehouse.EINVALID || r.ErrorField() != "body" {
				t.Fatalf("got %d %.300s, want 400 invalid_argument on body", r.Status, r.Raw)
			}
			if msg := r.errField("message"); !strings.Contains(msg, "deeper than 32 levels") {
				t.Errorf("message %q does not name the depth bound", msg)
			}
		})
	}
}

// TestHostileInput_RateLimit is the table's harness variant with
// GATEHOUSE_RATE_LIMIT set: a key over it gets 429 with Retry-After before
// any handler runs, so its writes write nothing.
func TestHostileInput_RateLimit(t *testing.T) {
	s := mustSecured(t, func(d *server.Deps) { d.RateLimit, d.RateBurst = 0.2, 1 })
	s.Seed(t)
	before := storeSnapshot(t, s.API)
	if r := s.Do("GET", "/v1/schema", "", nil); r.Status != http.StatusOK {
		t.Fatalf("the burst's one request: %d %s", r.Status, r.Raw)
	}
	for i := range 3 {
		body := map[string]any{"touch": []string{fmt.Sprintf("organisation:acme#administrator@user:flood%d", i)}}
		r := s.Do("POST", "/v1/relationships", "", body)
		if r.Status != http.StatusTooManyRequests || r.ErrorCode() != gatehouse.ERATELIMITED {
			t.Fatalf("write %d over the limit: %d %s", i, r.Status, r.Raw)
		}
		if r.Header.Get("Retry-After") == "" {
			t.Errorf("429 without Retry-After: %s", r.Raw)
		}
	}
	if after := storeSnapshot(t, s.API); !slices.Equal(before, after) {
		t.Errorf("rate-limited writes changed relationships:\nbefore %v\nafter  %v", before, after)
	}
}

// storeSnapshot is snapshot read straight from the Store, for a server
// whose rate limit would refuse the reads.
func storeSnapshot(t *testing.T, a *API) []string {
	t.Helper()
	out := []string{}
	for _, typ := range []string{"organisation", "contractor", "invoice", "change_request", "change_kind", "change_target", "platform"} {
		rels, _, err := a.Store.ReadRelationships(t.Context(), gatehouse.Filter{ResourceType: typ}, gatehouse.Consistency{FullyConsistent: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rels {
			out = append(out, r.String())
		}
	}
	slices.Sort(out)
	return out
}
