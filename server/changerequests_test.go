package server_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// The demo organisation globex (seed/seed.go): grace owns it; mia is IT
// manager and main contact, tom IT admin and technical contact, fiona
// finance admin and finance contact, alan administrator and alternate
// contact; dora is a verified director, dan a director nobody verified,
// both on the team as cis_processors (T4); pat is a cis_processor with no
// designation; stella is provider staff.
const (
	mia    = "user:mia"
	tom    = "user:tom"
	fiona  = "user:fiona"
	alan   = "user:alan"
	dora   = "user:dora"
	dan    = "user:dan"
	pat    = "user:pat"
	grace  = "user:grace"
	stella = "user:stella"
	eve    = "user:eve" // a member of no organisation
)

// TestChangeRequests proves rules C1-C12 of domain.md through the HTTP
// API, each subtest named by the rule it proves, on a fresh seeded Gatehouse.
func TestChangeRequests(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, a *API)
	}{
		{"C1_any_member_files_any_kind", testC1AnyMemberFilesAnyKind},
		{"C1_non_member_cannot_file", testC1NonMemberCannotFile},
		{"C1_staff_without_legal_reason_files_only_as_member", testC1StaffWithoutLegalReason},
		{"C2_malformed_requests_name_the_field", testC2Malformed},
		{"C2_ids_are_unique", testC2IDsAreUnique},
		{"C3_standard_request_authorised_when_filed", testC3Standard},
		{"C4_main_contact_authorises_every_kind", testC4MainContactAuthorisesEveryKind},
		{"C4_finance_contact_cannot_authorise_technical_change", testC4FinanceNotTechnical},
		{"C4_technical_contact_cannot_authorise_sensitive_information", testC4TechnicalNotFinance},
		{"C4_scoped_contacts_authorise_their_area", testC4ScopedContactsAuthoriseTheirArea},
		{"C4_nothing_left_to_authorise", testC4NothingLeft},
		{"C4_concurrent_authorisations_converge", testC4Concurrent},
		{"C5_role_that_covers_the_kind_authorises_when_filed", testC5RoleCovers},
		{"C5_requester_who_could_authorise_it", testC5RequesterCouldAuthorise},
		{"C6_exception_for_a_kind", testC6ExceptionForKind},
		{"C6_exception_for_one_page_does_not_cover_another", testC6OnePageNotAnother},
		{"C6_requester_with_later_standing_authorises_own_request", testC6LaterStanding},
		{"C6_expired_exception_does_not_count", testC6ExpiredException},
		{"C6_exception_expiring_after_filing_keeps_the_authorisation", testC6ExpiryAfterFiling},
		{"C6_only_an_available_main_contact_grants_exceptions", testC6OnlyMainContact},
		{"C6_exception_input_refused", testC6BadInput},
		{"C6_revoking_removes_kind_and_every_target", testC6Revoke},
		{"C7_unavailable_contact_never_asked_and_cannot_authorise", testC7Unavailable},
		{"C7_unavailable_main_contact_not_authorised_as_requester", testC7UnavailableRequester},
		{"C8_escalates_and_returns_as_contacts_come_and_go", testC8Escalation},
		{"C8_alternate_authorises_only_once_escalated", testC8AlternateAuthorises},
		{"C8_finance_contact_keeps_sensitive_requests_in_first_tier", testC8FinanceKeepsFirstTier},
		{"C9_unverified_director_never_listed", testC9UnverifiedDirector},
		{"C9_blocked_when_no_tier_has_anyone", testC9Blocked},
		{"C9_director_claim_withdrawn_is_not_asked", testC9ClaimWithdrawn},
		{"C10_security_approval_by_someone_other_than_requester", testC10Security},
		{"C10_requester_own_approval_never_counts", testC10OwnApproval},
		{"C10_one_call_gives_everything_the_actor_may", testC10OneCall},
		{"C11_charge_approval_by_finance_or_it_manager", testC11Charge},
		{"C11_blocked_when_only_the_requester_could_approve", testC11OnlyRequesterCouldApprove},
		{"C12_legal_change_authorised_at_once_and_audited", testC12Legal},
		{"C12_legal_reason_only_from_provider_staff", testC12LegalReasonOnlyFromStaff},
		{"X1_view_and_unknown_requests", testX1View},
		{"X2_filing_authorising_and_exceptions_are_audited", testX2Audit},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, MustSeededAPI(t)) })
	}
}

func testC1AnyMemberFilesAnyKind(t *testing.T, a *API) {
	for _, tc := range []struct {
		kind string
		want state
	}{
		{"standard", state{status: "authorised", tier: "none"}},
		{"access_permissions", state{"pending", "main_contact", []string{mia, tom}, []string{"authorisation"}}},
		{"user_management", state{"pending", "main_contact", []string{mia, tom}, []string{"authorisation"}}},
		{"public_facing", state{"pending", "main_contact", []string{mia, tom}, []string{"authorisation"}}},
		{"service", state{"pending", "main_contact", []string{mia, tom}, []string{"authorisation"}}},
		{"sensitive_information", state{"pending", "main_contact", []string{fiona, mia}, []string{"authorisation"}}},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			r := a.fileCR("globex", pat, cr("pat-"+tc.kind, tc.kind))
			wantState(t, r, http.StatusCreated, tc.want)
			if r.Body["id"] != "pat-"+tc.kind || r.Body["organisation"] != "globex" || r.Body["kind"] != tc.kind || r.Body["requester"] != pat || r.Body["zedToken"] == "" {
				t.Errorf("answer does not describe the request: %s", r.Raw)
			}
			// The state lives in SpiceDB: GET derives the same answer.
			wantState(t, a.getCR(pat, "pat-"+tc.kind), http.StatusOK, tc.want)
		})
	}
}

func testC1NonMemberCannotFile(t *testing.T, a *API) {
	before := a.snapshot()
	for _, actor := range []string{eve, "user:oscar" /* acme's owner */, "user:carla" /* brightcis's CIS processor */} {
		a.mustRefuse(t, a.fileCR("globex", actor, cr("x1", "standard")), refusal{status: 403, code: "permission_denied", permission: "member"}, before)
	}
	a.mustRefuse(t, a.fileCR("nowhere", pat, cr("x2", "standard")), refusal{status: 403, code: "permission_denied", permission: "member"}, before)
}

func testC1StaffWithoutLegalReason(t *testing.T, a *API) {
	before := a.snapshot()
	a.mustRefuse(t, a.fileCR("globex", stella, cr("s1", "service")), refusal{status: 403, code: "permission_denied", permission: "member"}, before)
}

func testC2Malformed(t *testing.T, a *API) {
	before := a.snapshot()
	for _, tc := range []struct {
		name  string
		actor string
		org   string
		body  any
		field string
	}{
		{"unknown kind", pat, "globex", cr("m1", "urgent"), "kind"},
		{"missing kind", pat, "globex", map[string]any{"id": "m1"}, "kind"},
		{"bad id", pat, "globex", cr("m.1", "standard"), "id"},
		{"wildcard id", pat, "globex", cr("*", "standard"), "id"},
		{"target without type", pat, "globex", cr("m1", "public_facing", "target", "pricing"), "target"},
		{"target with slash in id", pat, "globex", cr("m1", "public_facing", "target", "page:a/b"), "target"},
		{"target with namespaced type", pat, "globex", cr("m1", "public_facing", "target", "site/page:a"), "target"},
		{"wildcard target", pat, "globex", cr("m1", "public_facing", "target", "page:*"), "target"},
		{"flag not a boolean", pat, "globex", cr("m1", "service", "substantialCharge", "yes"), "substantialCharge"},
		{"unknown field", pat, "globex", cr("m1", "service", "urgent", true), "urgent"},
		{"blank legal reason", stella, "globex", cr("m1", "service", "legalReason", "  "), "legalReason"},
		{"bad organisation id", pat, "glo.bex", cr("m1", "standard"), "org"},
		{"no actor", "", "globex", cr("m1", "standard"), "Gatehouse-Actor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a.mustRefuse(t, a.fileCR(tc.org, tc.actor, tc.body), refusal{status: 400, code: "invalid_argument", field: tc.field}, before)
		})
	}
}

func testC2IDsAreUnique(t *testing.T, a *API) {
	a.mustFile(pat, cr("dup", "service"))
	before := a.snapshot()
	a.mustRefuse(t, a.fileCR("globex", pat, cr("dup", "service")), refusal{status: 409, code: "conflict", field: "id"}, before)
	// Ids are global: another organisation cannot reuse one either.
	a.mustRefuse(t, a.fileCR("acme", "user:ivy", cr("dup", "standard")), refusal{status: 409, code: "conflict", field: "id"}, before)

	// Filed five times at once, in two organisations: exactly one wins.
	statuses := make(chan int)
	for i := range 5 {
		go func() {
			if i%2 == 0 {
				statuses <- a.fileCR("globex", pat, cr("race", "service")).Status
			} else {
				statuses <- a.fileCR("acme", "user:ivy", cr("race", "standard")).Status
			}
		}()
	}
	created := 0
	for range 5 {
		switch s := <-statuses; s {
		case http.StatusCreated:
			created++
		case http.StatusConflict:
		default:
			t.Errorf("concurrent filing got %d", s)
		}
	}
	if created != 1 {
		t.Errorf("%d concurrent filings of one id succeeded, want 1", created)
	}
	if orgs := a.Do("GET", "/v1/relationships?resource=change_request:race&relation=organisation", "", nil); len(strs(orgs.Body["relationships"])) != 1 {
		t.Errorf("change_request:race belongs to %v", orgs.Body["relationships"])
	}
}

func testC3Standard(t *testing.T, a *API) {
	r := a.mustFile(pat, cr("std", "standard"))
	wantState(t, r, http.StatusCreated, state{status: "authorised", tier: "none"})
	if got := strs(r.Body["authorisedBy"]); !slices.Equal(got, []string{pat}) {
		t.Errorf("authorisedBy = %v, want the requester", got)
	}
	if !a.Allowed("change_request:std", "authorised", pat) {
		t.Error("the recorded authorisation is not in SpiceDB")
	}
}

func testC4MainContactAuthorisesEveryKind(t *testing.T, a *API) {
	for _, kind := range []string{"access_permissions", "user_management", "public_facing", "service", "sensitive_information"} {
		t.Run(kind, func(t *testing.T) {
			a.mustFile(pat, cr("k-"+kind, kind))
			r := a.authorise(mia, "k-"+kind, "fine by me")
			wantState(t, r, http.StatusOK, state{status: "authorised", tier: "none"})
			if got := strs(r.Body["authorisedBy"]); !slices.Equal(got, []string{mia}) {
				t.Errorf("authorisedBy = %v", got)
			}
		})
	}
}

func testC4FinanceNotTechnical(t *testing.T, a *API) {
	for _, kind := range []string{"access_permissions", "user_management", "public_facing", "service"} {
		t.Run(kind, func(t *testing.T) {
			wantState(t, a.mustFile(pat, cr("t-"+kind, kind)), http.StatusCreated, state{"pending", "main_contact", []string{mia, tom}, []string{"authorisation"}})
			before := a.snapshot()
			a.mustRefuse(t, a.authorise(fiona, "t-"+kind, "not my area"), refusal{status: 403, code: "permission_denied", permission: "authorise_main"}, before)
			wantState(t, a.getCR(pat, "t-"+kind), http.StatusOK, state{"pending", "main_contact", []string{mia, tom}, []string{"authorisation"}})
		})
	}
}

func testC4TechnicalNotFinance(t *testing.T, a *API) {
	wantState(t, a.mustFile(pat, cr("dd", "sensitive_information", "target", "mandate:direct_debit")), http.StatusCreated,
		state{"pending", "main_contact", []string{fiona, mia}, []string{"authorisation"}})
	before := a.snapshot()
	a.mustRefuse(t, a.authorise(tom, "dd", ""), refusal{status: 403, code: "permission_denied", permission: "authorise_main"}, before)
}

func testC4ScopedContactsAuthoriseTheirArea(t *testing.T, a *API) {
	a.mustFile(pat, cr("web", "public_facing", "target", "page:pricing"))
	wantState(t, a.authorise(tom, "web", "checked the copy"), http.StatusOK, state{status: "authorised", tier: "none"})
	a.mustFile(pat, cr("bill", "sensitive_information"))
	wantState(t, a.authorise(fiona, "bill", ""), http.StatusOK, state{status: "authorised", tier: "none"})
	if r := a.getCR(pat, "web"); r.Body["target"] != "page:pricing" {
		t.Errorf("target = %v, want page:pricing", r.Body["target"])
	}
}

func testC4NothingLeft(t *testing.T, a *API) {
	a.mustFile(pat, cr("done", "service"))
	wantState(t, a.authorise(mia, "done", ""), http.StatusOK, state{status: "authorised", tier: "none"})
	before := a.snapshot()
	a.mustRefuse(t, a.authorise(mia, "done", "again"), refusal{status: 422, code: "rule_violation", rule: "C4"}, before)
	a.mustRefuse(t, a.authorise(eve, "done", ""), refusal{status: 422, code: "rule_violation", rule: "C4"}, before)
	a.mustRefuse(t, a.authorise(mia, "missing", ""), refusal{status: 404, code: "not_found"}, before)
}

// testC4Concurrent has everyone who may act authorise at once, twice each:
// every answer is a 200, a 403 (what is left is nothing this actor may
// give) or "nothing left" (422), and the request ends authorised with each
// approval recorded once.
func testC4Concurrent(t *testing.T, a *API) {
	a.mustFile(pat, cr("race", "service", "substantialSecurity", true, "substantialCharge", true))
	actors := []string{mia, tom, fiona, grace, mia, tom, fiona, grace}
	statuses := make([]int, len(actors))
	done := make(chan struct{})
	for i, actor := range actors {
		go func() {
			defer func() { done <- struct{}{} }()
			statuses[i] = a.authorise(actor, "race", "concurrent").Status
		}()
	}
	for range actors {
		<-done
	}
	for i, s := range statuses {
		if s != http.StatusOK && s != http.StatusForbidden && s != http.StatusUnprocessableEntity {
			t.Errorf("%s got %d", actors[i], s)
		}
	}
	r := a.getCR(pat, "race")
	wantState(t, r, http.StatusOK, state{status: "authorised", tier: "none"})
	// Whoever won each race, every part is recorded, and only by those who may give it.
	for _, part := range []struct {
		field string
		may   []string
	}{
		{"authorisedBy", []string{mia, tom}},
		{"securityApprovedBy", []string{grace, mia}},
		{"chargeApprovedBy", []string{fiona, grace, mia}},
	} {
		got := strs(r.Body[part.field])
		if len(got) == 0 {
			t.Errorf("%s is empty: %s", part.field, r.Raw)
		}
		for _, u := range got {
			if !slices.Contains(part.may, u) {
				t.Errorf("%s holds %s, who may not give it", part.field, u)
			}
		}
	}
}

func testC5RoleCovers(t *testing.T, a *API) {
	// Members whose roles cover kinds, without any designation.
	a.Touch("organisation:globex#it_admin@user:ivy", "organisation:globex#it_manager@user:ian", "organisation:globex#finance_admin@user:fred",
		"organisation:globex#billing_manager@user:bill")
	for _, tc := range []struct {
		actor, kind string
		authorised  bool
	}{
		{"user:ivy", "user_management", true},        // request_user_changes
		{"user:ivy", "access_permissions", true},     // request_config_changes
		{"user:ivy", "service", false},               // an IT admin does not request services
		{"user:ivy", "sensitive_information", false}, // nor manage billing
		{"user:ivy", "public_facing", false},         // no role covers public_facing
		{"user:ian", "service", true},                // request_services
		{"user:fred", "sensitive_information", true}, // manage_billing
		{"user:fred", "access_permissions", false},
		{"user:bill", "sensitive_information", false}, // a billing manager does not manage billing
		{pat, "user_management", false},
		{grace, "public_facing", false}, // not even the owner's role covers public_facing
		{grace, "service", true},
	} {
		t.Run(tc.actor[5:]+"_"+tc.kind, func(t *testing.T) {
			r := a.mustFile(tc.actor, cr(tc.actor[5:]+"-"+tc.kind, tc.kind))
			if got := r.Body["status"] == "authorised"; got != tc.authorised {
				t.Errorf("authorised when filed = %v, want %v: %s", got, tc.authorised, r.Raw)
			}
		})
	}
}

func testC5RequesterCouldAuthorise(t *testing.T, a *API) {
	for _, tc := range []struct {
		actor, kind string
		authorised  bool
	}{
		{tom, "public_facing", true},          // technical contact, own area
		{tom, "sensitive_information", false}, // outside it
		{fiona, "sensitive_information", true},
		{fiona, "public_facing", false},
		{mia, "public_facing", true}, // the main contact, any area
		{alan, "service", false},     // the alternate is not asked while the first tier has someone (C8)
	} {
		t.Run(tc.actor[5:]+"_"+tc.kind, func(t *testing.T) {
			r := a.mustFile(tc.actor, cr(tc.actor[5:]+"-"+tc.kind, tc.kind))
			if got := r.Body["status"] == "authorised"; got != tc.authorised {
				t.Errorf("authorised when filed = %v, want %v: %s", got, tc.authorised, r.Raw)
			}
		})
	}
	// C5, C8: once escalated, the alternate contact could authorise, so their own request is authorised when filed.
	a.Touch("organisation:globex#unavailable_contact@user:mia", "organisation:globex#unavailable_contact@user:tom")
	wantState(t, a.mustFile(alan, cr("alan-escalated", "service")), http.StatusCreated, state{status: "authorised", tier: "none"})
}

func grant(a *API, actor string, body map[string]any) Response {
	a.t.Helper()
	return a.Do("POST", "/v1/organisations/globex/exceptions", actor, body)
}

func testC6ExceptionForKind(t *testing.T, a *API) {
	r := grant(a, mia, map[string]any{"user": pat, "kind": "public_facing", "reason": "pat runs the website"})
	if r.Status != http.StatusCreated || r.Body["user"] != pat || r.Body["kind"] != "public_facing" {
		t.Fatalf("grant: %d %s", r.Status, r.Raw)
	}
	wantState(t, a.mustFile(pat, cr("home", "public_facing", "target", "page:home")), http.StatusCreated, state{status: "authorised", tier: "none"})
	wantState(t, a.mustFile(pat, cr("any", "public_facing")), http.StatusCreated, state{status: "authorised", tier: "none"})
	// Outside the exception's kind: the main contact as usual.
	wantState(t, a.mustFile(pat, cr("users", "user_management")), http.StatusCreated, state{"pending", "main_contact", []string{mia, tom}, []string{"authorisation"}})
	// Granting again replaces the expiry, both ways.
	for _, tc := range []struct{ expiresAt, want string }{
		{"2999-01-01T00:00:00Z", "change_kind:globex/public_facing#exception@user:pat[expiration:2999-01-01T00:00:00Z]"},
		{"", "change_kind:globex/public_facing#exception@user:pat"},
	} {
		b := map[string]any{"user": pat, "kind": "public_facing"}
		if tc.expiresAt != "" {
			b["expiresAt"] = tc.expiresAt
		}
		if r := grant(a, mia, b); r.Status != http.StatusCreated {
			t.Fatalf("granting again: %d %s", r.Status, r.Raw)
		}
		if got := a.Relationships("change_kind:globex/public_facing"); !slices.Equal(got, []string{tc.want}) {
			t.Errorf("after granting with expiresAt %q: %v, want %s", tc.expiresAt, got, tc.want)
		}
	}
}

// testC6LaterStanding: a requester who gains standing after filing (here
// an exception) may record the authorisation of their own pending request.
func testC6LaterStanding(t *testing.T, a *API) {
	a.mustFile(pat, cr("early", "public_facing", "target", "page:pricing"))
	before := a.snapshot()
	a.mustRefuse(t, a.authorise(pat, "early", ""), refusal{status: 403, code: "permission_denied", permission: "authorise_main"}, before)
	if r := grant(a, mia, map[string]any{"user": pat, "kind": "public_facing", "target": "page:pricing"}); r.Status != http.StatusCreated {
		t.Fatalf("grant: %d %s", r.Status, r.Raw)
	}
	wantState(t, a.authorise(pat, "early", "covered by my exception now"), http.StatusOK, state{status: "authorised", tier: "none"})
}

func testC6OnePageNotAnother(t *testing.T, a *API) {
	if r := grant(a, mia, map[string]any{"user": pat, "kind": "public_facing", "target": "page:pricing"}); r.Status != http.StatusCreated {
		t.Fatalf("grant: %d %s", r.Status, r.Raw)
	}
	wantState(t, a.mustFile(pat, cr("pricing", "public_facing", "target", "page:pricing")), http.StatusCreated, state{status: "authorised", tier: "none"})
	wantState(t, a.mustFile(pat, cr("about", "public_facing", "target", "page:about")), http.StatusCreated,
		state{"pending", "main_contact", []string{mia, tom}, []string{"authorisation"}})
	wantState(t, a.mustFile(pat, cr("no-target", "public_facing")), http.StatusCreated,
		state{"pending", "main_contact", []string{mia, tom}, []string{"authorisation"}})
	// The same target under another kind is another target.
	wantState(t, a.mustFile(pat, cr("svc-pricing", "service", "target", "page:pricing")), http.StatusCreated,
		state{"pending", "main_contact", []string{mia, tom}, []string{"authorisation"}})
}

func testC6ExpiredException(t *testing.T, a *API) {
	a.Touch("change_target:globex/public_facing/page/pricing#exception@user:pat[expiration:2020-01-01T00:00:00Z]",
		"change_kind:globex/service#exception@user:pat[expiration:2020-01-01T00:00:00Z]")
	wantState(t, a.mustFile(pat, cr("late-page", "public_facing", "target", "page:pricing")), http.StatusCreated,
		state{"pending", "main_contact", []string{mia, tom}, []string{"authorisation"}})
	wantState(t, a.mustFile(pat, cr("late-kind", "service")), http.StatusCreated,
		state{"pending", "main_contact", []string{mia, tom}, []string{"authorisation"}})
}

func testC6ExpiryAfterFiling(t *testing.T, a *API) {
	expires := time.Now().Add(2 * time.Second).UTC().Truncate(time.Second).Add(time.Second)
	r := grant(a, mia, map[string]any{"user": pat, "kind": "service", "expiresAt": expires.Format(time.RFC3339)})
	if r.Status != http.StatusCreated || r.Body["expiresAt"] != expires.Format(time.RFC3339) {
		t.Fatalf("grant: %d %s", r.Status, r.Raw)
	}
	if rels := a.Relationships("change_kind:globex/service"); len(rels) != 1 || rels[0] != "change_kind:globex/service#exception@user:pat[expiration:"+expires.Format(time.RFC3339)+"]" {
		t.Fatalf("exception relationships: %v", rels)
	}
	wantState(t, a.mustFile(pat, cr("before", "service")), http.StatusCreated, state{status: "authorised", tier: "none"})
	time.Sleep(time.Until(expires) + 200*time.Millisecond)
	wantState(t, a.mustFile(pat, cr("after", "service")), http.StatusCreated, state{"pending", "main_contact", []string{mia, tom}, []string{"authorisation"}})
	// Recorded when filed: the expiry does not undo an authorisation given while it held.
	wantState(t, a.getCR(pat, "before"), http.StatusOK, state{status: "authorised", tier: "none"})
}

func testC6OnlyMainContact(t *testing.T, a *API) {
	before := a.snapshot()
	body := map[string]any{"user": pat, "kind": "public_facing"}
	for _, actor := range []string{tom, fiona, alan, grace, pat, dora, stella} {
		a.mustRefuse(t, grant(a, actor, body), refusal{status: 403, code: "permission_denied", permission: "main_contacts"}, before)
	}
	a.Touch("organisation:globex#unavailable_contact@user:mia")
	before = a.snapshot()
	a.mustRefuse(t, grant(a, mia, body), refusal{status: 403, code: "permission_denied", permission: "main_contacts", rule: "C7"}, before)
	a.mustRefuse(t, a.Do("DELETE", "/v1/organisations/globex/exceptions/pat/public_facing", mia, nil), refusal{status: 403, code: "permission_denied", permission: "main_contacts", rule: "C7"}, before)
}

func testC6BadInput(t *testing.T, a *API) {
	before := a.snapshot()
	for _, tc := range []struct {
		name string
		body map[string]any
		want refusal
	}{
		{"standard kind", map[string]any{"user": pat, "kind": "standard"}, refusal{status: 422, code: "rule_violation", rule: "C6", field: "kind"}},
		{"unknown kind", map[string]any{"user": pat, "kind": "urgent"}, refusal{status: 400, code: "invalid_argument", field: "kind"}},
		{"not a member", map[string]any{"user": eve, "kind": "service"}, refusal{status: 422, code: "rule_violation", rule: "C6", field: "user"}},
		{"a member of another organisation", map[string]any{"user": "user:carla", "kind": "service"}, refusal{status: 422, code: "rule_violation", rule: "C6", field: "user"}},
		{"not a user", map[string]any{"user": "organisation:globex", "kind": "service"}, refusal{status: 400, code: "invalid_argument", field: "user"}},
		{"wildcard user", map[string]any{"user": "user:*", "kind": "service"}, refusal{status: 400, code: "invalid_argument", field: "user"}},
		{"missing user", map[string]any{"kind": "service"}, refusal{status: 400, code: "invalid_argument", field: "user"}},
		{"bad target", map[string]any{"user": pat, "kind": "public_facing", "target": "page:a/b"}, refusal{status: 400, code: "invalid_argument", field: "target"}},
		{"bad expiry", map[string]any{"user": pat, "kind": "service", "expiresAt": "tomorrow"}, refusal{status: 400, code: "invalid_argument", field: "expiresAt"}},
		{"past expiry", map[string]any{"user": pat, "kind": "service", "expiresAt": "2020-01-01T00:00:00Z"}, refusal{status: 400, code: "invalid_argument", field: "expiresAt"}},
	} {
		t.Run(tc.name, func(t *testing.T) { a.mustRefuse(t, grant(a, mia, tc.body), tc.want, before) })
	}
	a.mustRefuse(t, a.Do("DELETE", "/v1/organisations/globex/exceptions/pat/urgent", mia, nil), refusal{status: 400, code: "invalid_argument", field: "kind"}, before)
}

func testC6Revoke(t *testing.T, a *API) {
	for _, b := range []map[string]any{
		{"user": pat, "kind": "public_facing"},
		{"user": pat, "kind": "public_facing", "target": "page:pricing"},
		{"user": pat, "kind": "public_facing", "target": "page:about", "expiresAt": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)},
		{"user": pat, "kind": "service"},
		{"user": tom, "kind": "public_facing", "target": "page:pricing"},
	} {
		if r := grant(a, mia, b); r.Status != http.StatusCreated {
			t.Fatalf("grant %v: %d %s", b, r.Status, r.Raw)
		}
	}
	before := a.snapshot()
	a.mustRefuse(t, a.Do("DELETE", "/v1/organisations/globex/exceptions/pat/public_facing", tom, nil), refusal{status: 403, code: "permission_denied", permission: "main_contacts"}, before)
	if r := a.Do("DELETE", "/v1/organisations/globex/exceptions/pat/public_facing", mia, nil); r.Status != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", r.Status, r.Raw)
	}
	var left []string
	for _, r := range a.snapshot() {
		if strings.HasPrefix(r, "change_kind:") || strings.HasPrefix(r, "change_target:") {
			left = append(left, r)
		}
	}
	// pat's other kind and tom's exception for the same page stay.
	want := []string{"change_kind:globex/service#exception@user:pat", "change_target:globex/public_facing/page/pricing#exception@user:tom"}
	if !slices.Equal(left, want) {
		t.Errorf("exceptions left: %v, want %v", left, want)
	}
	wantState(t, a.mustFile(pat, cr("pricing", "public_facing", "target", "page:pricing")), http.StatusCreated,
		state{"pending", "main_contact", []string{mia, tom}, []string{"authorisation"}})
	// Revoking what is not there is no error.
	if r := a.Do("DELETE", "/v1/organisations/globex/exceptions/pat/public_facing", mia, nil); r.Status != http.StatusNoContent {
		t.Fatalf("revoking again: %d %s", r.Status, r.Raw)
	}
}

func testC7Unavailable(t *testing.T, a *API) {
	a.Touch("organisation:globex#unavailable_contact@user:tom")
	wantState(t, a.mustFile(pat, cr("web", "public_facing")), http.StatusCreated, state{"pending", "main_contact", []string{mia}, []string{"authorisation"}})
	before := a.snapshot()
	a.mustRefuse(t, a.authorise(tom, "web", ""), refusal{status: 403, code: "permission_denied", permission: "authorise_main"}, before)
	// Nor does their own request count as authorised by them (C5).
	wantState(t, a.mustFile(tom, cr("tom-web", "public_facing")), http.StatusCreated, state{"pending", "main_contact", []string{mia}, []string{"authorisation"}})
}

func testC7UnavailableRequester(t *testing.T, a *API) {
	a.Touch("organisation:globex#unavailable_contact@user:mia")
	wantState(t, a.mustFile(mia, cr("mia-web", "public_facing")), http.StatusCreated, state{"pending", "main_contact", []string{tom}, []string{"authorisation"}})
	// Her role still covers what it covers (C5): service is request_services.
	wantState(t, a.mustFile(mia, cr("mia-svc", "service")), http.StatusCreated, state{status: "authorised", tier: "none"})
}

func testC8Escalation(t *testing.T, a *API) {
	a.mustFile(pat, cr("esc", "access_permissions"))
	pending := func(tier string, who ...string) state { return state{"pending", tier, who, []string{"authorisation"}} }
	away := func(u string) []string { return []string{"organisation:globex#unavailable_contact@" + u} }
	for _, step := range []struct {
		name         string
		touch, untie []string
		want         state
	}{
		{"everyone available", nil, nil, pending("main_contact", mia, tom)},
		{"main contact unavailable", away(mia), nil, pending("main_contact", tom)},
		{"technical contact unavailable too", away(tom), nil, pending("alternate_contact", alan)},
		{"alternate unavailable too", away(alan), nil, pending("verified_director", dora)},
		{"alternate available again", nil, away(alan), pending("alternate_contact", alan)},
		{"main contact available again", nil, away(mia), pending("main_contact", mia)},
	} {
		t.Run(step.name, func(t *testing.T) {
			if len(step.touch) > 0 {
				a.Touch(step.touch...)
			}
			if len(step.untie) > 0 {
				a.Delete(step.untie...)
			}
			wantState(t, a.getCR(pat, "esc"), http.StatusOK, step.want)
		})
	}
}

func testC8AlternateAuthorises(t *testing.T, a *API) {
	a.mustFile(pat, cr("alt", "user_management"))
	before := a.snapshot()
	a.mustRefuse(t, a.authorise(alan, "alt", ""), refusal{status: 403, code: "permission_denied", permission: "authorise_main"}, before)
	a.mustRefuse(t, a.authorise(dora, "alt", ""), refusal{status: 403, code: "permission_denied", permission: "authorise_main"}, before)
	a.Touch("organisation:globex#unavailable_contact@user:mia", "organisation:globex#unavailable_contact@user:tom")
	before = a.snapshot()
	a.mustRefuse(t, a.authorise(dora, "alt", ""), refusal{status: 403, code: "permission_denied", permission: "authorise_alternate"}, before)
	wantState(t, a.authorise(alan, "alt", "mia is away"), http.StatusOK, state{status: "authorised", tier: "none"})
	// The authorisation is recorded: it stays when the main contact returns.
	a.Delete("organisation:globex#unavailable_contact@user:mia")
	wantState(t, a.getCR(pat, "alt"), http.StatusOK, state{status: "authorised", tier: "none"})
}

func testC8FinanceKeepsFirstTier(t *testing.T, a *API) {
	a.Touch("organisation:globex#unavailable_contact@user:mia", "organisation:globex#unavailable_contact@user:tom")
	wantState(t, a.mustFile(pat, cr("dd", "sensitive_information")), http.StatusCreated, state{"pending", "main_contact", []string{fiona}, []string{"authorisation"}})
	wantState(t, a.mustFile(pat, cr("web", "public_facing")), http.StatusCreated, state{"pending", "alternate_contact", []string{alan}, []string{"authorisation"}})
}

func testC9UnverifiedDirector(t *testing.T, a *API) {
	a.Touch("organisation:globex#unavailable_contact@user:mia", "organisation:globex#unavailable_contact@user:tom", "organisation:globex#unavailable_contact@user:alan")
	wantState(t, a.mustFile(pat, cr("dir", "service")), http.StatusCreated, state{"pending", "verified_director", []string{dora}, []string{"authorisation"}})
	before := a.snapshot()
	a.mustRefuse(t, a.authorise(dan, "dir", ""), refusal{status: 403, code: "permission_denied", permission: "authorise_director"}, before)
	// The director tier may read what it is asked to authorise, though it holds no role.
	if r := a.getCR(dora, "dir"); r.Status != http.StatusOK {
		t.Errorf("the verified director cannot read the request: %d %s", r.Status, r.Raw)
	}
	a.mustRefuse(t, a.getCR(dan, "dir"), refusal{status: 403, code: "permission_denied", permission: "view"}, before)
	wantState(t, a.authorise(dora, "dir", "as registered director"), http.StatusOK, state{status: "authorised", tier: "none"})
}

func testC9Blocked(t *testing.T, a *API) {
	a.Touch("organisation:globex#unavailable_contact@user:mia", "organisation:globex#unavailable_contact@user:tom",
		"organisation:globex#unavailable_contact@user:alan", "organisation:globex#unavailable_contact@user:dora")
	r := a.mustFile(pat, cr("stuck", "access_permissions"))
	wantState(t, r, http.StatusCreated, state{status: "blocked", tier: "none", needed: []string{"authorisation"}})
	if got := strs(r.Body["blockedOn"]); !slices.Equal(got, []string{"authorisation"}) {
		t.Errorf("blockedOn = %v", got)
	}
	before := a.snapshot()
	for _, actor := range []string{mia, tom, alan, dora, dan, grace} {
		a.mustRefuse(t, a.authorise(actor, "stuck", ""), refusal{status: 403, code: "permission_denied", permission: "authorise"}, before)
	}
	// Unblocks as soon as someone is available again.
	a.Delete("organisation:globex#unavailable_contact@user:dora")
	wantState(t, a.getCR(pat, "stuck"), http.StatusOK, state{"pending", "verified_director", []string{dora}, []string{"authorisation"}})
}

func testC9ClaimWithdrawn(t *testing.T, a *API) {
	a.Touch("organisation:globex#unavailable_contact@user:mia", "organisation:globex#unavailable_contact@user:tom", "organisation:globex#unavailable_contact@user:alan")
	a.mustFile(pat, cr("claim", "service"))
	// The organisation withdraws dora's director claim; the old verification no longer makes her one.
	a.Delete("organisation:globex#director@user:dora")
	wantState(t, a.getCR(pat, "claim"), http.StatusOK, state{status: "blocked", tier: "none", needed: []string{"authorisation"}})
}

func testC10Security(t *testing.T, a *API) {
	// tom's role covers access_permissions (C5), so it is authorised when
	// filed; the security impact still needs an IT manager, SA, ASA or owner.
	r := a.mustFile(tom, cr("fw", "access_permissions", "substantialSecurity", true))
	wantState(t, r, http.StatusCreated, state{"pending", "none", []string{grace, mia}, []string{"security"}})
	if r.Body["substantialSecurity"] != true {
		t.Errorf("substantialSecurity not reported: %s", r.Raw)
	}
	before := a.snapshot()
	for _, actor := range []string{tom, fiona, alan, pat} {
		a.mustRefuse(t, a.authorise(actor, "fw", ""), refusal{status: 403, code: "permission_denied", permission: "approve_security"}, before)
	}
	r = a.authorise(mia, "fw", "reviewed the firewall rules")
	wantState(t, r, http.StatusOK, state{status: "authorised", tier: "none"})
	if got := strs(r.Body["securityApprovedBy"]); !slices.Equal(got, []string{mia}) {
		t.Errorf("securityApprovedBy = %v", got)
	}
}

func testC10OwnApproval(t *testing.T, a *API) {
	// mia may authorise her own request (C5) but never approve it.
	wantState(t, a.mustFile(mia, cr("own", "access_permissions", "substantialSecurity", true)), http.StatusCreated,
		state{"pending", "none", []string{grace}, []string{"security"}})
	before := a.snapshot()
	a.mustRefuse(t, a.authorise(mia, "own", "self-approval"), refusal{status: 403, code: "permission_denied", permission: "approve_security"}, before)
	// Even written straight into SpiceDB, the requester's approval does not count.
	a.Touch("change_request:own#security_approved_by@user:mia")
	wantState(t, a.getCR(mia, "own"), http.StatusOK, state{"pending", "none", []string{grace}, []string{"security"}})
	wantState(t, a.authorise(grace, "own", ""), http.StatusOK, state{status: "authorised", tier: "none"})
}

func testC10OneCall(t *testing.T, a *API) {
	wantState(t, a.mustFile(pat, cr("both", "access_permissions", "substantialSecurity", true)), http.StatusCreated,
		state{"pending", "main_contact", []string{mia, tom}, []string{"authorisation", "security"}})
	// tom gives the authorisation only; mia then gives the approval.
	wantState(t, a.authorise(tom, "both", ""), http.StatusOK, state{"pending", "none", []string{grace, mia}, []string{"security"}})
	a.mustFile(pat, cr("both2", "access_permissions", "substantialSecurity", true))
	// mia gives both in one call.
	r := a.authorise(mia, "both2", "")
	wantState(t, r, http.StatusOK, state{status: "authorised", tier: "none"})
	if !slices.Equal(strs(r.Body["authorisedBy"]), []string{mia}) || !slices.Equal(strs(r.Body["securityApprovedBy"]), []string{mia}) {
		t.Errorf("one call did not give both: %s", r.Raw)
	}
}

func testC11Charge(t *testing.T, a *API) {
	wantState(t, a.mustFile(pat, cr("upgrade", "service", "substantialCharge", true)), http.StatusCreated,
		state{"pending", "main_contact", []string{mia, tom}, []string{"authorisation", "charge"}})
	wantState(t, a.authorise(tom, "upgrade", ""), http.StatusOK, state{"pending", "none", []string{fiona, grace, mia}, []string{"charge"}})
	before := a.snapshot()
	a.mustRefuse(t, a.authorise(tom, "upgrade", ""), refusal{status: 403, code: "permission_denied", permission: "approve_charge"}, before)
	a.mustRefuse(t, a.authorise(alan, "upgrade", ""), refusal{status: 403, code: "permission_denied", permission: "approve_charge"}, before)
	wantState(t, a.authorise(fiona, "upgrade", "within budget"), http.StatusOK, state{status: "authorised", tier: "none"})

	// The finance admin's own request: authorised as filed (C5), approved by someone else.
	wantState(t, a.mustFile(fiona, cr("fiona-dd", "sensitive_information", "substantialCharge", true)), http.StatusCreated,
		state{"pending", "none", []string{grace, mia}, []string{"charge"}})
	before = a.snapshot()
	a.mustRefuse(t, a.authorise(fiona, "fiona-dd", ""), refusal{status: 403, code: "permission_denied", permission: "approve_charge"}, before)
}

func testC11OnlyRequesterCouldApprove(t *testing.T, a *API) {
	// initech's only holder of approve_charges is olga, its IT manager and main contact.
	a.Touch("organisation:initech#it_manager@user:olga", "organisation:initech#main_contact@user:olga", "organisation:initech#cis_processor@user:ned")
	r := a.fileCR("initech", "user:olga", cr("olga-svc", "service", "substantialCharge", true))
	wantState(t, r, http.StatusCreated, state{status: "blocked", tier: "none", needed: []string{"charge"}})
	if got := strs(r.Body["blockedOn"]); !slices.Equal(got, []string{"charge"}) {
		t.Errorf("blockedOn = %v", got)
	}
}

func testC12Legal(t *testing.T, a *API) {
	reason := "court order 2024/117: disable the reseller portal"
	r := a.fileCR("globex", stella, cr("legal", "service", "legalReason", reason, "substantialCharge", true))
	wantState(t, r, http.StatusCreated, state{status: "authorised", tier: "none"})
	if r.Body["legalMandate"] != true || r.Body["requester"] != stella {
		t.Errorf("not marked as a legal mandate: %s", r.Raw)
	}
	if !slices.Contains(a.Relationships("change_request:legal"), "change_request:legal#legal_mandate@platform:provider") {
		t.Error("legal_mandate not written")
	}
	au := a.Do("GET", "/v1/audit?organisation=globex", "", nil)
	found := false
	for _, e := range au.Body["events"].([]any) {
		ev := e.(map[string]any)
		if ev["actor"] == stella && ev["action"] == "file_change_request" && ev["reason"] == reason &&
			slices.Contains(strs(ev["changes"]), "touch change_request:legal#legal_mandate@platform:provider") { // Watch reports a create as a touch
			found = true
		}
	}
	if !found {
		t.Errorf("the legal change is not in the audit trail: %s", au.Raw)
	}
	// Staff read the change they filed; the organisation's reporting roles do too.
	for _, actor := range []string{stella, alan, mia} {
		if r := a.getCR(actor, "legal"); r.Status != http.StatusOK || r.Body["status"] != "authorised" {
			t.Errorf("%s reading the legal change: %d %s", actor, r.Status, r.Raw)
		}
	}
}

func testC12LegalReasonOnlyFromStaff(t *testing.T, a *API) {
	before := a.snapshot()
	for _, actor := range []string{pat, mia, grace, eve} {
		a.mustRefuse(t, a.fileCR("globex", actor, cr("fake-legal", "service", "legalReason", "trust me")),
			refusal{status: 403, code: "permission_denied", permission: "provider_staff"}, before)
	}
}

func testX1View(t *testing.T, a *API) {
	a.mustFile(pat, cr("mine", "sensitive_information"))
	before := a.snapshot()
	for _, tc := range []struct {
		actor string
		ok    bool
	}{
		{pat, true},    // the requester (C1)
		{alan, true},   // view_reports
		{tom, true},    // view_reports
		{fiona, true},  // the finance contact who must authorise it
		{stella, true}, // provider staff
		{dora, false},  // not asked while the first tier has someone
		{eve, false},
		{"user:oscar", false},
	} {
		r := a.getCR(tc.actor, "mine")
		if tc.ok && r.Status != http.StatusOK {
			t.Errorf("%s: %d %s", tc.actor, r.Status, r.Raw)
		}
		if !tc.ok {
			a.mustRefuse(t, r, refusal{status: 403, code: "permission_denied", permission: "view"}, before)
		}
	}
	a.mustRefuse(t, a.getCR(pat, "nothing-here"), refusal{status: 404, code: "not_found"}, before)
	a.mustRefuse(t, a.getCR("", "mine"), refusal{status: 400, code: "invalid_argument", field: "Gatehouse-Actor"}, before)
}

func testX2Audit(t *testing.T, a *API) {
	a.mustFile(pat, cr("audited", "service"))
	if r := a.authorise(tom, "audited", "tested on staging"); r.Status != http.StatusOK {
		t.Fatalf("authorise: %d %s", r.Status, r.Raw)
	}
	if r := grant(a, mia, map[string]any{"user": pat, "kind": "public_facing", "reason": "pat edits the website"}); r.Status != http.StatusCreated {
		t.Fatalf("grant: %d %s", r.Status, r.Raw)
	}
	if r := a.Do("DELETE", "/v1/organisations/globex/exceptions/pat/public_facing", mia, nil); r.Status != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", r.Status, r.Raw)
	}
	au := a.Do("GET", "/v1/audit?organisation=globex", "", nil)
	type ev struct{ actor, action, reason string }
	var got []ev
	for _, e := range au.Body["events"].([]any) {
		m := e.(map[string]any)
		got = append(got, ev{str(m["actor"]), str(m["action"]), str(m["reason"])})
	}
	for _, w := range []ev{
		{pat, "file_change_request", ""},
		{tom, "authorise_change_request", "tested on staging"},
		{mia, "grant_exception", "pat edits the website"},
		{mia, "revoke_exception", ""},
	} {
		if !slices.Contains(got, w) {
			t.Errorf("audit trail lacks %+v: %v", w, got)
		}
	}
}
