package server_test

import (
	"encoding/csv"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse/schema"
)

// permissionsOf reads the permissions of typ from the schema's text, apart
// from the compiled schema the review walks, so the test recomputes the
// review on its own.
func permissionsOf(t *testing.T, typ string) []string {
	t.Helper()
	def := regexp.MustCompile(`(?s)definition ` + typ + ` \{(.*?)\n\}`).FindStringSubmatch(schema.Text)
	if def == nil {
		t.Fatalf("no definition %s in the schema", typ)
	}
	var out []string
	for _, m := range regexp.MustCompile(`(?m)^\s*permission (\w+) =`).FindAllStringSubmatch(def[1], -1) {
		out = append(out, m[1])
	}
	return out
}

// get sends GET path as actor with the Accept header, through the client
// that holds every exchange to /openapi.json.
func (a *API) get(path, actor, accept string) (int, string, []byte) {
	a.t.Helper()
	req, err := http.NewRequestWithContext(a.t.Context(), "GET", a.URL+path, nil)
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testKey)
	req.Header.Set("Gatehouse-Actor", actor)
	req.Header.Set("Accept", accept)
	resp, err := a.hc.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), body
}

// row is one row of an access review as the test compares it.
type row struct{ user, permission, on string }

// TestAccessReview proves the access review (issue 21) on the seed's
// brightcis: who may ask (X1: an ordinary member and an outsider may not),
// that the rows are exactly what checks and lookups through the API say
// each member holds, R7 and K2 included, with paths; paging covers each
// member once, the CSV export has the same rows, and one person's access
// is theirs to see, not another ordinary member's.
func TestAccessReview(t *testing.T) {
	a := MustSeededAPI(t)
	const org = "brightcis"
	const (
		olivia = "user:olivia" // owner
		adam   = "user:adam"   // administrator: view_reports
		carla  = "user:carla"  // cis_processor: no view_reports
		bill   = "user:bill"   // billing_manager
		stella = "user:stella" // provider staff
		oscar  = "user:oscar"  // acme's owner: an outsider here
	)
	review := "/v1/organisations/" + org + "/access"

	t.Run("X1_who_may_review", func(t *testing.T) {
		for _, actor := range []string{olivia, adam, stella} {
			if r := a.Do("GET", review, actor, nil); r.Status != http.StatusOK {
				t.Errorf("%s: %d %s, want 200", actor, r.Status, r.Raw)
			}
		}
		for _, actor := range []string{carla, bill, oscar} {
			r := a.Do("GET", review, actor, nil)
			if r.Status != http.StatusForbidden || r.ErrorPermission() != "view_reports" {
				t.Errorf("%s: %d %s, want 403 naming view_reports", actor, r.Status, r.Raw)
			}
		}
		if r := a.Do("GET", "/v1/organisations/nosuch/access", stella, nil); r.Status != http.StatusNotFound {
			t.Errorf("unknown organisation: %d, want 404", r.Status)
		}
		if r := a.Do("GET", review+"?limit=201", adam, nil); r.Status != http.StatusBadRequest || r.ErrorField() != "limit" {
			t.Errorf("limit=201: %d %s, want 400 naming limit", r.Status, r.Raw)
		}
	})

	// Every page, one member a page.
	var got []row
	vias := map[row][]string{}
	var paged []string
	for cursor := ""; ; {
		q := "?limit=1"
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		r := a.Do("GET", review+q, adam, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("review page: %d %s", r.Status, r.Raw)
		}
		users := map[string]bool{}
		for _, v := range r.Body["access"].([]any) {
			m := v.(map[string]any)
			k := row{str(m["user"]), str(m["permission"]), str(m["on"])}
			got = append(got, k)
			vias[k] = strs(m["via"])
			users[k.user] = true
			if m["until"] != nil {
				t.Errorf("%v until %v: the seed grants no expiring role", k, m["until"])
			}
		}
		if len(users) != 1 {
			t.Fatalf("a page of one member holds rows of %v", users)
		}
		for u := range users {
			paged = append(paged, u)
		}
		if r.Body["truncated"] != false {
			t.Errorf("truncated = %v on a seed of three contractors", r.Body["truncated"])
		}
		if cursor = str(r.Body["cursor"]); cursor == "" {
			break
		}
	}

	// The members, as the members listing has them.
	var members []string
	for _, m := range a.Do("GET", "/v1/organisations/"+org+"/members", olivia, nil).Body["members"].([]any) {
		members = append(members, str(m.(map[string]any)["user"]))
	}
	t.Run("paging_covers_each_member_once", func(t *testing.T) {
		if !slices.Equal(paged, members) {
			t.Errorf("pages cover %v, want each of %v once, in order", paged, members)
		}
	})

	// The same, recomputed through checks and lookups.
	owned := func(typ string) map[string]bool {
		out := map[string]bool{}
		for _, rel := range a.readAll("resourceType=" + typ + "&relation=organisation&subject=organisation:" + org) {
			out[strings.SplitN(rel, "#", 2)[0]] = true
		}
		return out
	}
	objects := map[string]map[string]bool{"contractor": owned("contractor"), "invoice": owned("invoice")}
	var want []row
	for _, u := range members {
		for _, p := range permissionsOf(t, "organisation") {
			if a.Allowed("organisation:"+org, p, u) {
				want = append(want, row{u, p, "organisation:" + org})
			}
		}
		for _, typ := range []string{"contractor", "invoice"} {
			for _, p := range permissionsOf(t, typ) {
				r := a.Do("POST", "/v1/lookup/resources", "", map[string]any{"resourceType": typ, "permission": p, "subject": u})
				if r.Status != http.StatusOK {
					t.Fatalf("lookup %s#%s for %s: %d %s", typ, p, u, r.Status, r.Raw)
				}
				for _, res := range strs(r.Body["resources"]) {
					if objects[typ][res] {
						want = append(want, row{u, p, res})
					}
				}
			}
		}
	}
	key := func(r row) string { return r.user + " " + r.permission + " " + r.on }
	sorted := func(rs []row) []string {
		out := make([]string, len(rs))
		for i, r := range rs {
			out[i] = key(r)
		}
		slices.Sort(out)
		return out
	}
	t.Run("rows_are_what_checks_and_lookups_say", func(t *testing.T) {
		g, w := sorted(got), sorted(want)
		for _, k := range w {
			if _, ok := slices.BinarySearch(g, k); !ok {
				t.Errorf("missing row %s", k)
			}
		}
		for _, k := range g {
			if _, ok := slices.BinarySearch(w, k); !ok {
				t.Errorf("extra row %s", k)
			}
		}
		if len(g) != len(slices.Compact(slices.Clone(g))) {
			t.Errorf("a row appears twice")
		}
		for k, via := range vias {
			if len(via) == 0 {
				t.Errorf("%s has no via", key(k))
			}
			for _, v := range via {
				if !strings.HasSuffix(v, "@"+k.user) {
					t.Errorf("%s via %s, not a relationship of %s", key(k), v, k.user)
				}
			}
		}
	})

	t.Run("K2_paths", func(t *testing.T) {
		if v := vias[row{carla, "view", "contractor:c1"}]; !slices.Equal(v, []string{"organisation:brightcis#cis_processor@user:carla"}) {
			t.Errorf("carla's view of c1 via %v", v)
		}
		if _, ok := vias[row{carla, "view", "contractor:c3"}]; ok {
			t.Errorf("K2: carla views admin-only c3")
		}
		if v := vias[row{adam, "view", "contractor:c3"}]; !slices.Equal(v, []string{"organisation:brightcis#administrator@user:adam"}) {
			t.Errorf("adam's view of c3 via %v", v)
		}
		if v := vias[row{bill, "view", "invoice:inv1"}]; !slices.Equal(v, []string{"organisation:brightcis#billing_manager@user:bill"}) {
			t.Errorf("bill's view of inv1 via %v", v)
		}
	})

	t.Run("csv_has_the_same_rows", func(t *testing.T) {
		st, ct, body := a.get(review+"?limit=2", adam, "text/csv")
		if st != http.StatusOK || !strings.HasPrefix(ct, "text/csv") {
			t.Fatalf("CSV export: %d %s %s", st, ct, body)
		}
		recs, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(recs[0], []string{"user", "permission", "object", "via", "until"}) {
			t.Errorf("header %v", recs[0])
		}
		var rows []row
		for _, r := range recs[1:] {
			k := row{r[0], r[1], r[2]}
			rows = append(rows, k)
			if r[3] != strings.Join(vias[k], " ") || r[4] != "" {
				t.Errorf("CSV row %v, want via %q and no until", r, strings.Join(vias[k], " "))
			}
		}
		if !slices.Equal(rows, got) {
			t.Errorf("the CSV holds %d rows, the JSON pages %d, or in another order", len(rows), len(got))
		}
		if st, _, _ := a.get(review, carla, "text/csv"); st != http.StatusForbidden {
			t.Errorf("carla's CSV export: %d, want 403", st)
		}
	})

	t.Run("member_access", func(t *testing.T) {
		one := func(actor, user string) Response {
			return a.Do("GET", "/v1/organisations/"+org+"/members/"+strings.TrimPrefix(user, "user:")+"/access", actor, nil)
		}
		mine := func(user string) []row {
			var out []row
			for _, r := range got {
				if r.user == user {
					out = append(out, r)
				}
			}
			return out
		}
		// c9, created now, is one more contractor carla views.
		if r := a.Do("POST", "/v1/organisations/"+org+"/contractors", olivia, map[string]any{"id": "c9", "name": "Nine"}); r.Status != http.StatusCreated {
			t.Fatalf("creating c9: %d %s", r.Status, r.Raw)
		}
		for _, actor := range []string{carla, adam, stella} {
			r := one(actor, carla)
			if r.Status != http.StatusOK {
				t.Fatalf("%s reading carla's access: %d %s", actor, r.Status, r.Raw)
			}
			var rows []row
			for _, v := range r.Body["access"].([]any) {
				m := v.(map[string]any)
				rows = append(rows, row{str(m["user"]), str(m["permission"]), str(m["on"])})
			}
			want := append(mine(carla), row{carla, "view", "contractor:c9"})
			if !slices.Equal(sorted(rows), sorted(want)) {
				t.Errorf("%s reading carla's access: %v, want %v", actor, rows, want)
			}
			if _, ok := r.Body["recentChanges"].([]any); !ok {
				t.Errorf("recentChanges = %v, want a list", r.Body["recentChanges"])
			}
		}
		for _, actor := range []string{bill, oscar} {
			if r := one(actor, carla); r.Status != http.StatusForbidden || r.ErrorPermission() != "view_reports" {
				t.Errorf("%s reading carla's access: %d %s, want 403 naming view_reports", actor, r.Status, r.Raw)
			}
		}
		// The owner's last change is c9's creation, and it is theirs.
		r := one(olivia, olivia)
		evs, _ := r.Body["recentChanges"].([]any)
		if r.Status != http.StatusOK || len(evs) == 0 || str(evs[0].(map[string]any)["actor"]) != olivia {
			t.Errorf("olivia's own access: %d, recentChanges %v, want her creation of c9 first", r.Status, evs)
		}
	})
}
