package server_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse"
)

// TestOrganisationDeleteRules proves O3: deleting an organisation removes
// every relationship of it and of its contractors, invoices and change
// requests, however many, and leaves no permission behind.
func TestOrganisationDeleteRules(t *testing.T) {
	t.Run("O3_delete_removes_everything_of_the_organisation_only", func(t *testing.T) {
		a := MustAPI(t)
		tm := newOrgTeam(t, a, "doomed")
		// A neighbour whose id starts with the same letters keeps everything.
		nb := newOrgTeam(t, a, "doomed2")
		for _, o := range []orgTeam{tm, nb} {
			o.contractor(t, o.id+"-open", false)
			o.contractor(t, o.id+"-secret", true)
			orgWant(t, a.Do("POST", o.path("/invoices"), o.user("owner"), map[string]any{"id": o.id + "-inv", "amount": "1.00", "currency": "EUR"}), http.StatusCreated)
			orgWant(t, o.designate(o.user("owner"), o.user("it_manager"), "main_contact", false), http.StatusNoContent)
			// A change request and exceptions, written raw: the change
			// request endpoints are not what this test is about.
			a.Touch(
				"change_request:"+o.id+"-cr#organisation@organisation:"+o.id,
				"change_request:"+o.id+"-cr#public_facing@organisation:"+o.id,
				"change_request:"+o.id+"-cr#requester@"+o.user("it_admin"),
				"change_request:"+o.id+"-cr#kind@change_kind:"+o.id+"/public_facing",
				"change_kind:"+o.id+"/public_facing#exception@"+o.user("it_admin"),
				"change_target:"+o.id+"/public_facing/page/pricing#exception@"+o.user("it_admin"),
			)
		}
		neighbour := relationshipsOf(t, a, "doomed2")

		orgWant(t, a.Do("DELETE", tm.path(""), tm.user("owner"), nil), http.StatusNoContent)

		if got := relationshipsOf(t, a, "doomed"); len(got) != 0 {
			t.Errorf("left behind: %v", got)
		}
		if got := relationshipsOf(t, a, "doomed2"); !slices.Equal(got, neighbour) {
			t.Errorf("the neighbour changed:\nbefore %v\nafter  %v", neighbour, got)
		}
		for _, role := range append(orgRoles(), "dora") {
			u := tm.user(role)
			for _, c := range []struct{ res, perm string }{
				{"organisation:doomed", "member"},
				{"organisation:doomed", "delete"},
				{"organisation:doomed", "main_contacts"},
				{"contractor:doomed-open", "view"},
				{"contractor:doomed-secret", "view"},
				{"contractor:doomed-open", "edit"},
				{"invoice:doomed-inv", "view"},
				{"change_request:doomed-cr", "view"},
				{"change_kind:doomed/public_facing", "excepted"},
			} {
				if a.Allowed(c.res, c.perm, u) {
					t.Errorf("%s still holds %s on %s", u, c.perm, c.res)
				}
			}
		}
		orgWant(t, a.Do("GET", tm.path(""), tm.user("owner"), nil), http.StatusNotFound)
		// The id is free again, and the new organisation inherits nothing.
		orgWant(t, a.Do("POST", "/v1/organisations", "user:newcomer", map[string]any{"id": "doomed", "name": "Reborn"}), http.StatusCreated)
		if a.Allowed("contractor:doomed-open", "view", "user:newcomer") {
			t.Error("the new owner sees the old organisation's contractor")
		}
		evs := orgAudit(t, a, "doomed", "&actor="+tm.user("owner"))
		if len(evs) == 0 || evs[0]["action"] != "delete_organisation" {
			t.Errorf("audit: %v", evs)
		}
	})

	t.Run("O3_an_interrupted_delete_blocks_the_id_until_provider_staff_finish_it", func(t *testing.T) {
		a := MustAPI(t)
		a.Touch("platform:provider#staff@" + orgStaff)
		// What a delete cut short after its deciding write leaves: dependants
		// of an organisation that no longer exists.
		a.Touch(
			"contractor:ghost-c#organisation@organisation:ghost",
			"invoice:ghost-inv#organisation@organisation:ghost",
			"change_kind:ghost/service#exception@user:pat",
		)
		before := a.snapshot()
		r := a.Do("POST", "/v1/organisations", "user:heir", map[string]any{"id": "ghost", "name": "Heir"})
		a.mustRefuse(t, r, refusal{status: http.StatusConflict, rule: "O3"}, before)
		r = a.Do("DELETE", "/v1/organisations/ghost", "user:heir", nil)
		a.mustRefuse(t, r, refusal{status: http.StatusForbidden, permission: "staff_member"}, before)
		orgWant(t, a.Do("DELETE", "/v1/organisations/ghost", orgStaff, nil), http.StatusNoContent)
		if got := relationshipsOf(t, a, "ghost"); len(got) != 0 {
			t.Errorf("left behind: %v", got)
		}
		orgWant(t, a.Do("POST", "/v1/organisations", "user:heir", map[string]any{"id": "ghost", "name": "Heir"}), http.StatusCreated)
		if a.Allowed("contractor:ghost-c", "view", "user:heir") {
			t.Error("the new owner inherited a contractor")
		}
	})

	t.Run("O3_delete_with_5000_contractors_leaves_none_visible", func(t *testing.T) {
		a := MustAPI(t)
		tm := newOrgTeam(t, a, "big")
		const n = 5000
		// Written straight to the store in batches: creating them through
		// the API is not what this test is about.
		var w gatehouse.Write
		flush := func() {
			if len(w.Updates) == 0 {
				return
			}
			if _, err := a.Store.Write(t.Context(), w); err != nil {
				t.Fatal(err)
			}
			w.Updates = nil
		}
		ids := make([]string, n)
		for i := range n {
			ids[i] = fmt.Sprintf("big-c%d", i)
			c := gatehouse.MustObject("contractor:" + ids[i])
			w.Updates = append(w.Updates, gatehouse.Update{Relationship: gatehouse.Relationship{Resource: c, Relation: "organisation", Subject: gatehouse.Subject{Object: gatehouse.MustObject("organisation:big")}}})
			l, err := gatehouse.EncodeLabel(map[string]string{"name": ids[i]})
			if err != nil {
				t.Fatal(err)
			}
			w.Updates = append(w.Updates, gatehouse.Update{Relationship: gatehouse.Relationship{Resource: c, Relation: gatehouse.LabelRelation, Subject: gatehouse.Subject{Object: l}}})
			if i%2 == 0 {
				w.Updates = append(w.Updates, gatehouse.Update{Relationship: gatehouse.Relationship{Resource: c, Relation: "admin_only", Subject: gatehouse.Wildcard("user")}})
			}
			if len(w.Updates) > 990 {
				flush()
			}
		}
		flush()
		if got := lookupAll(t, a, "contractor", "view", tm.user("cis_processor")); len(got) != n/2 {
			t.Fatalf("before the delete the CIS processor sees %d contractors, want %d", len(got), n/2)
		}

		start := time.Now()
		orgWant(t, a.Do("DELETE", tm.path(""), tm.user("owner"), nil), http.StatusNoContent)
		t.Logf("deleting an organisation with %d contractors took %v", n, time.Since(start))

		r := a.Do("GET", "/v1/relationships?resourceType=contractor", "", nil)
		orgWant(t, r, http.StatusOK)
		if left := strs(r.Body["relationships"]); len(left) != 0 {
			t.Errorf("%d contractor relationships left, first %s", len(left), left[0])
		}
		for _, role := range orgRoles() {
			u := tm.user(role)
			if got := lookupAll(t, a, "contractor", "view", u); len(got) != 0 {
				t.Errorf("%s still sees %d contractors", u, len(got))
			}
			for _, perm := range []string{"view", "edit"} {
				if allowed := checkAll(t, a, ids, perm, u); allowed != 0 {
					t.Errorf("%s holds %s on %d contractors", u, perm, allowed)
				}
			}
		}
	})
}

// relationshipsOf lists, sorted, every relationship of organisation org,
// of the contractors, invoices and change requests that name it, and of
// its change kinds and targets.
func relationshipsOf(t *testing.T, a *API, org string) []string {
	t.Helper()
	var out []string
	for _, s := range a.snapshot() {
		res, _, _ := strings.Cut(s, "#")
		switch {
		case res == "organisation:"+org,
			strings.HasPrefix(res, "change_kind:"+org+"/"), strings.HasPrefix(res, "change_target:"+org+"/"),
			strings.HasPrefix(res, "contractor:"+org+"-"), strings.HasPrefix(res, "invoice:"+org+"-"),
			strings.HasPrefix(res, "change_request:"+org+"-"):
			out = append(out, s)
		}
	}
	return out
}

// lookupAll pages through POST /v1/lookup/resources.
func lookupAll(t *testing.T, a *API, typ, perm, subject string) []string {
	t.Helper()
	var out []string
	cursor := ""
	for {
		body := map[string]any{"resourceType": typ, "permission": perm, "subject": subject, "limit": 1000}
		if cursor != "" {
			body["cursor"] = cursor
		}
		r := a.Do("POST", "/v1/lookup/resources", "", body)
		orgWant(t, r, http.StatusOK)
		out = append(out, strs(r.Body["resources"])...)
		cursor, _ = r.Body["cursor"].(string)
		if cursor == "" {
			return out
		}
	}
}

// checkAll checks perm on every contractor of ids for subject with
// POST /v1/check/bulk and returns how many were allowed.
func checkAll(t *testing.T, a *API, ids []string, perm, subject string) int {
	t.Helper()
	allowed := 0
	for start := 0; start < len(ids); start += 1000 {
		var items []map[string]any
		for _, id := range ids[start:min(start+1000, len(ids))] {
			items = append(items, map[string]any{"resource": "contractor:" + id, "permission": perm, "subject": subject})
		}
		r := a.Do("POST", "/v1/check/bulk", "", map[string]any{"items": items})
		orgWant(t, r, http.StatusOK)
		for _, res := range r.Body["results"].([]any) {
			if res.(map[string]any)["allowed"] == true {
				allowed++
			}
		}
	}
	return allowed
}
