package server_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/wire"
)

// whyNot explains a check through the API and decodes the answer.
func (a *API) whyNot(resource, permission, subject string) wire.Explanation {
	a.t.Helper()
	r := a.Do("POST", "/v1/explain", "", map[string]any{"resource": resource, "permission": permission, "subject": subject})
	if r.Status != http.StatusOK {
		a.t.Fatalf("explain %s %s %s: %d %s", resource, permission, subject, r.Status, r.Raw)
	}
	var ex wire.Explanation
	if err := json.Unmarshal(r.Raw, &ex); err != nil {
		a.t.Fatal(err)
	}
	if ex.Allowed {
		a.t.Fatalf("explain %s %s %s: allowed, want denied", resource, permission, subject)
	}
	if ex.Summary == "" || len(ex.WhyNot) == 0 {
		a.t.Fatalf("a denial with no why-not: %s", r.Raw)
	}
	return ex
}

// way returns the way whose via ends in suffix, failing without one.
func way(t *testing.T, ex wire.Explanation, suffix string) wire.WhyNotWay {
	t.Helper()
	for _, w := range ex.WhyNot {
		if strings.HasSuffix(w.Via, suffix) {
			return w
		}
	}
	t.Fatalf("no way ends in %q: %+v", suffix, ex.WhyNot)
	return wire.WhyNotWay{}
}

// blockedBy returns the block of w whose rule is rule, failing without one.
func blockedBy(t *testing.T, w wire.WhyNotWay, rule, relation string) wire.BlockedBy {
	t.Helper()
	for _, b := range w.BlockedBy {
		if b.Rule == rule && b.Relation == relation {
			return b
		}
	}
	t.Fatalf("way %s is not blocked by %s at %s: %+v", w.Via, rule, relation, w.BlockedBy)
	return wire.BlockedBy{}
}

// missing returns w's missing relationship rel, failing without it.
func missing(t *testing.T, w wire.WhyNotWay, rel string) wire.Missing {
	t.Helper()
	for _, m := range w.Missing {
		if m.Relationship == rel {
			return m
		}
	}
	t.Fatalf("way %s does not miss %s: %+v", w.Via, rel, w.Missing)
	return wire.Missing{}
}

// TestWhyNot_X6 proves X6 through the API on the seed: a denied explain
// answers, for each way the permission could be granted, what is missing,
// the rule that blocks it and who may grant what is missing, through which
// endpoint; rule by rule.
func TestWhyNot_X6(t *testing.T) {
	a := MustSeededAPI(t)

	t.Run("K2_admin_only_contractor", func(t *testing.T) {
		ex := a.whyNot("contractor:c3", "view", "user:carla")
		if len(ex.Paths) != 0 {
			t.Errorf("paths = %v, want none", ex.Paths)
		}
		// carla is a cis_processor: her way holds but for the flag.
		cis := way(t, ex, "organisation->view_unflagged_contractors->cis_processor")
		if len(cis.Missing) != 0 {
			t.Errorf("carla's own way misses %v", cis.Missing)
		}
		b := blockedBy(t, cis, "K2", "contractor:c3#admin_only")
		if b.Lift == nil || b.Lift.Endpoint != "PATCH /v1/contractors/c3" || !slices.Contains(b.Lift.Subjects, "user:adam") {
			t.Errorf("the flag's lift = %+v, want PATCH /v1/contractors/c3 by adam among others (R4)", b.Lift)
		}
		// An administrator could; olivia (owner) may make carla one, adam (administrator) may not (T2).
		admin := way(t, ex, "->administrator")
		if len(admin.BlockedBy) != 0 {
			t.Errorf("the administrator's way is blocked: %+v", admin.BlockedBy)
		}
		g := missing(t, admin, "organisation:brightcis#administrator@user:carla").Grantors
		if g == nil || g.Endpoint != "PUT /v1/organisations/brightcis/members/carla/roles/administrator" || g.Permission != "manage_members" {
			t.Fatalf("grantors = %+v", g)
		}
		if !slices.Contains(g.Subjects, "user:olivia") || slices.Contains(g.Subjects, "user:adam") {
			t.Errorf("T2: grantors of administrator = %v, want olivia and not adam", g.Subjects)
		}
		for _, want := range []string{"carla may not view contractor:c3", "admin-only (K2)", "administrator@user:carla", "olivia", "PUT /v1/organisations/brightcis/members/carla/roles/administrator"} {
			if !strings.Contains(ex.Summary, want) {
				t.Errorf("summary %q lacks %q", ex.Summary, want)
			}
		}
	})

	t.Run("T2_administrator_grants_cis_processor_only", func(t *testing.T) {
		// bill (billing_manager) may not open c1; adam may make him a cis_processor, not an IT manager.
		ex := a.whyNot("contractor:c1", "view", "user:bill")
		cis := missing(t, way(t, ex, "->cis_processor"), "organisation:brightcis#cis_processor@user:bill").Grantors
		if cis == nil || cis.Permission != "manage_team_members" || !slices.Contains(cis.Subjects, "user:adam") {
			t.Errorf("cis_processor grantors = %+v, want manage_team_members held by adam", cis)
		}
		itm := missing(t, way(t, ex, "->it_manager"), "organisation:brightcis#it_manager@user:bill").Grantors
		if itm == nil || itm.Permission != "manage_members" || slices.Contains(itm.Subjects, "user:adam") {
			t.Errorf("it_manager grantors = %+v, want manage_members without adam", itm)
		}
	})

	t.Run("R7_no_financial_access", func(t *testing.T) {
		// vic is an IT manager of acme designated no_financial_access.
		ex := a.whyNot("invoice:inv3", "view", "user:vic")
		itm := way(t, ex, "organisation->view_billing->it_manager")
		if len(itm.Missing) != 0 {
			t.Errorf("vic's own way misses %v", itm.Missing)
		}
		b := blockedBy(t, itm, "R7", "organisation:acme#no_financial_accesses")
		if b.Lift == nil || b.Lift.Endpoint != "DELETE /v1/organisations/acme/members/vic/designations/no_financial_access" || !slices.Contains(b.Lift.Subjects, "user:oscar") {
			t.Errorf("the designation's lift = %+v", b.Lift)
		}
		// R7 blocks every way, not only vic's role.
		for _, w := range ex.WhyNot {
			blockedBy(t, w, "R7", "organisation:acme#no_financial_accesses")
		}
		if !strings.Contains(ex.Summary, "(R7)") || !strings.Contains(ex.Summary, "Every way is blocked") {
			t.Errorf("summary %q", ex.Summary)
		}
	})

	t.Run("C13_closed_request", func(t *testing.T) {
		// mia is globex's main contact; tom rejected the request.
		ex := a.whyNot("change_request:globex-cr-rejected", "authorise", "user:mia")
		mc := way(t, ex, "organisation->main_contacts->main_contact")
		if len(mc.Missing) != 0 {
			t.Errorf("mia's own way misses %v", mc.Missing)
		}
		if b := blockedBy(t, mc, "C13", "change_request:globex-cr-rejected#closed"); b.Lift != nil {
			t.Errorf("a closed request reopens through %+v", b.Lift)
		}
		if !strings.Contains(ex.Summary, "(C13)") {
			t.Errorf("summary %q", ex.Summary)
		}
	})

	t.Run("C17_recused_authoriser", func(t *testing.T) {
		// pat asks for a change to mia's own account: mia, the main contact, is recused.
		a.mustFile(pat, map[string]any{"id": "x6-about-mia", "kind": "user_management", "target": "user:mia"})
		ex := a.whyNot("change_request:x6-about-mia", "authorise", "user:mia")
		mc := way(t, ex, "organisation->main_contacts->main_contact")
		blockedBy(t, mc, "C17", "change_request:x6-about-mia#target_user")
		for _, b := range mc.BlockedBy {
			if b.Rule == "C13" {
				t.Errorf("an open request blocked by C13: %+v", b)
			}
		}
		// tom, the technical contact, authorises it: his explain is allowed and has no why-not.
		r := a.Do("POST", "/v1/explain", "", map[string]any{"resource": "change_request:x6-about-mia", "permission": "authorise", "subject": "user:tom"})
		if r.Body["allowed"] != true || r.Body["whyNot"] != nil || r.Body["summary"] != nil {
			t.Errorf("tom's explain = %s", r.Raw)
		}
	})

	t.Run("T4_designation_of_a_non_member", func(t *testing.T) {
		// A main_contact written past the workflow for nina, who holds no role in globex.
		a.Touch("organisation:globex#main_contact@user:nina")
		ex := a.whyNot("change_request:globex-cr-pending", "authorise", "user:nina")
		mc := way(t, ex, "organisation->main_contacts->main_contact")
		if len(mc.Missing) != 0 {
			t.Errorf("nina's designation is missing: %v", mc.Missing)
		}
		blockedBy(t, mc, "T4", "organisation:globex#member")
		tc := way(t, ex, "public_facing->technical_contacts->technical_contact")
		if g := missing(t, tc, "organisation:globex#technical_contact@user:nina").Grantors; g == nil || g.Endpoint != "PUT /v1/organisations/globex/members/nina/designations/technical_contact" {
			t.Errorf("technical_contact grantors = %+v", g)
		}
		blockedBy(t, tc, "T4", "organisation:globex#member")
	})

	t.Run("several_missing", func(t *testing.T) {
		// bill, a billing manager, reads no reports: every role that does is a way, none blocked.
		ex := a.whyNot("organisation:brightcis", "view_reports", "user:bill")
		roles := map[string]bool{}
		for _, w := range ex.WhyNot {
			if len(w.BlockedBy) != 0 || len(w.Missing) != 1 {
				t.Errorf("way %s: missing %v, blocked by %v", w.Via, w.Missing, w.BlockedBy)
				continue
			}
			m := w.Missing[0]
			rel := strings.TrimPrefix(strings.TrimSuffix(m.Relationship, "@user:bill"), "organisation:brightcis#")
			roles[rel] = true
			if m.Grantors == nil || !slices.Contains(m.Grantors.Subjects, "user:olivia") {
				t.Errorf("%s: grantors %+v lack olivia (O5)", m.Relationship, m.Grantors)
			}
		}
		for _, r := range []string{"owner", "security_admin", "alternate_security_admin", "it_manager", "it_admin", "administrator"} {
			if !roles[r] {
				t.Errorf("no way through %s: %v", r, roles)
			}
		}
		if ex.Truncated {
			t.Error("truncated")
		}
	})
}

// TestWhyNotUntil_T5_X6 proves that the explain answers say until when a
// grant that ends on its own lasts (issue 21, item 4): carla, a
// cis_processor of brightcis, is made an administrator for an hour. An
// allowed explain writes the expiring relationship with its expiration and
// says until when each path lasts: the earliest expiry on it, none on her
// cis_processor path. A denied explain names carla among who may grant or
// lift, with until when. It runs in every shape.
func TestWhyNotUntil_T5_X6(t *testing.T) {
	a := MustSeededAPI(t)
	later := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	until := later.Format(time.RFC3339)
	r := a.Do("PUT", "/v1/organisations/brightcis/members/carla/roles/administrator", "user:olivia", map[string]any{"expiresAt": until, "reason": "an hour of cover"})
	if r.Status != http.StatusNoContent {
		t.Fatalf("granting carla administrator for an hour: %d %s", r.Status, r.Raw)
	}
	admin := "organisation:brightcis#administrator@user:carla[expiration:" + until + "]"

	t.Run("T5_allowed_paths_say_until", func(t *testing.T) {
		r := a.Do("POST", "/v1/explain", "", map[string]any{"resource": "contractor:c1", "permission": "view", "subject": "user:carla"})
		var ex wire.Explanation
		if err := json.Unmarshal(r.Raw, &ex); r.Status != http.StatusOK || err != nil || !ex.Allowed {
			t.Fatalf("explain c1 for carla: %d %s (%v)", r.Status, r.Raw, err)
		}
		if len(ex.PathsUntil) != len(ex.Paths) {
			t.Fatalf("pathsUntil %+v for paths %v: want one each", ex.PathsUntil, ex.Paths)
		}
		var throughAdmin, throughCIS int
		for i, p := range ex.Paths {
			pu := ex.PathsUntil[i]
			switch {
			case slices.Contains(p, admin):
				throughAdmin++
				if pu.Until == nil || *pu.Until != until || len(pu.Expiring) != 1 || pu.Expiring[0] != (wire.Expiring{Relationship: admin, Until: until}) {
					t.Errorf("path %v lasts %+v, want until %s through %s", p, pu, until, admin)
				}
			case slices.Contains(p, "organisation:brightcis#cis_processor@user:carla"):
				throughCIS++
				if pu.Until != nil || len(pu.Expiring) != 0 {
					t.Errorf("path %v lasts %+v, want no end", p, pu)
				}
			default:
				t.Errorf("path %v neither through administrator nor cis_processor", p)
			}
		}
		if throughAdmin == 0 || throughCIS == 0 {
			t.Errorf("paths %v: want some through the expiring administrator and some through cis_processor", ex.Paths)
		}
		if !strings.Contains(string(r.Raw), `"until":null`) {
			t.Errorf("a path with no end should say until: null: %s", r.Raw)
		}
	})

	t.Run("T5_admin_only_contractor_lasts_until_the_role_expires", func(t *testing.T) {
		// c3 is admin-only (K2): the expiring administrator is carla's only way.
		r := a.Do("POST", "/v1/explain", "", map[string]any{"resource": "contractor:c3", "permission": "view", "subject": "user:carla"})
		var ex wire.Explanation
		if err := json.Unmarshal(r.Raw, &ex); r.Status != http.StatusOK || err != nil || !ex.Allowed || len(ex.Paths) == 0 {
			t.Fatalf("explain c3 for carla: %d %s (%v)", r.Status, r.Raw, err)
		}
		for i, p := range ex.Paths {
			if pu := ex.PathsUntil[i]; pu.Until == nil || *pu.Until != until {
				t.Errorf("path %v lasts %+v, want until %s", p, pu, until)
			}
		}
	})

	t.Run("X6_grantor_with_an_expiring_role_says_until", func(t *testing.T) {
		// bill, a billing manager, may not open c1; an administrator may
		// make him a cis_processor (T2): carla for the hour, adam for good.
		ex := a.whyNot("contractor:c1", "view", "user:bill")
		g := missing(t, way(t, ex, "->cis_processor"), "organisation:brightcis#cis_processor@user:bill").Grantors
		if g == nil || !slices.Contains(g.Subjects, "user:carla") || !slices.Contains(g.Subjects, "user:adam") {
			t.Fatalf("cis_processor grantors = %+v, want adam and carla", g)
		}
		if g.Until["user:carla"] != until {
			t.Errorf("carla grants until %q, want %s: %+v", g.Until["user:carla"], until, g)
		}
		for _, s := range []string{"user:adam", "user:olivia"} {
			if at, ok := g.Until[s]; ok {
				t.Errorf("%s, whose role never expires, grants until %s", s, at)
			}
		}
		// The summary names the nearest way, it_manager, which only olivia
		// may grant, for good (TestWhyNotSummary_T5 words carla's).
		if strings.Contains(ex.Summary, "(until") {
			t.Errorf("summary %q says until of a grant that does not end", ex.Summary)
		}
	})

	t.Run("X6_lift_by_an_expiring_role_says_until", func(t *testing.T) {
		// bill may not open the admin-only c3; carla may lift the flag for the hour (K2).
		ex := a.whyNot("contractor:c3", "view", "user:bill")
		for _, w := range ex.WhyNot {
			for _, b := range w.BlockedBy {
				if b.Rule == "K2" && (b.Lift == nil || b.Lift.Until["user:carla"] != until || b.Lift.Until["user:adam"] != "") {
					t.Errorf("K2's lift = %+v, want carla until %s and adam for good", b.Lift, until)
				}
			}
		}
	})
}
