package workflow_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/workflow"
)

// globex is an organisation of seed 003 made through the workflows: mia
// is IT manager and main contact, tom IT admin and technical contact,
// fiona finance admin and finance contact, alan administrator and
// alternate contact, dora a verified director, pat a CIS processor who
// files requests.
type globex struct {
	team
	mia, tom, fiona, alan, dora, pat gatehouse.Subject
}

func mustGlobex(f fixture, id string) globex {
	f.t.Helper()
	tm := f.mustTeam(id)
	g := globex{team: tm, mia: tm.user("mia"), tom: tm.user("tom"), fiona: tm.user("fiona"), alan: tm.user("alan"), dora: tm.user("dora"), pat: tm.user("pat")}
	for _, x := range []struct {
		who               gatehouse.Subject
		role, designation string
	}{
		{g.mia, gatehouse.RoleITManager, gatehouse.DesignationMainContact},
		{g.tom, gatehouse.RoleITAdmin, gatehouse.DesignationTechnicalContact},
		{g.fiona, gatehouse.RoleFinanceAdmin, gatehouse.DesignationFinanceContact},
		{g.alan, gatehouse.RoleAdministrator, gatehouse.DesignationAlternateContact},
		{g.pat, gatehouse.RoleCISProcessor, ""},
	} {
		tm.mustGrant(tm.owner(), x.who, x.role)
		if x.designation != "" {
			tm.mustDesignate(tm.owner(), x.who, x.designation)
		}
	}
	tm.mustGrant(tm.owner(), g.dora, gatehouse.RoleCISProcessor) // T4: a director is on the team
	tm.mustDesignate(tm.owner(), g.dora, gatehouse.DesignationDirector)
	tm.mustDesignate(staff, g.dora, gatehouse.DesignationVerifiedDirector)
	return g
}

// file files a request of kind in g as actor and fails unless it is created.
func (g globex) file(t *testing.T, actor gatehouse.Subject, r workflow.NewChangeRequest) workflow.ChangeRequest {
	t.Helper()
	r.Organisation = g.id
	cr, err := g.f.svc.FileChangeRequest(t.Context(), actor, r)
	mustOK(t, err, "%s filing %s", actor, r.ID)
	return cr
}

// wantState fails t unless cr has the status, tier and authorisers given.
func wantState(t *testing.T, cr workflow.ChangeRequest, status, tier string, authorisers ...gatehouse.Subject) {
	t.Helper()
	slices.SortFunc(authorisers, func(a, b gatehouse.Subject) int { return strings.Compare(a.String(), b.String()) })
	got := slices.Clone(cr.Authorisers)
	slices.SortFunc(got, func(a, b gatehouse.Subject) int { return strings.Compare(a.String(), b.String()) })
	if cr.Status != status || cr.Tier != tier || !slices.Equal(got, authorisers) {
		t.Errorf("%s: status %s, tier %s, authorisers %v; want %s, %s, %v", cr.ID, cr.Status, cr.Tier, got, status, tier, authorisers)
	}
}

var changeRequestRules = []rule{
	{"C1_members_file_outsiders_cannot", func(t *testing.T, f fixture) {
		g := mustGlobex(f, "c1")
		_, err := f.svc.FileChangeRequest(t.Context(), gatehouse.User("mallory"), workflow.NewChangeRequest{ID: "c1-out", Organisation: g.id, Kind: gatehouse.KindStandard})
		mustRefuse(t, err, want{code: gatehouse.EFORBIDDEN, permission: gatehouse.PermMember})
		g.file(t, g.pat, workflow.NewChangeRequest{ID: "c1-in", Kind: gatehouse.KindStandard})
		_, err = f.svc.FileChangeRequest(t.Context(), g.pat, workflow.NewChangeRequest{ID: "c1-in", Organisation: g.id, Kind: gatehouse.KindStandard})
		mustRefuse(t, err, want{code: gatehouse.ECONFLICT, field: "id"})
		_, err = f.svc.FileChangeRequest(t.Context(), g.pat, workflow.NewChangeRequest{ID: "c1-bad", Organisation: g.id, Kind: "urgent"})
		mustRefuse(t, err, want{code: gatehouse.EINVALID, field: "kind"})
	}},
	{"C3_a_standard_request_is_authorised_when_filed", func(t *testing.T, f fixture) {
		g := mustGlobex(f, "c3")
		cr := g.file(t, g.pat, workflow.NewChangeRequest{ID: "c3-std", Kind: gatehouse.KindStandard})
		wantState(t, cr, workflow.StatusAuthorised, workflow.TierNone)
		if !slices.Equal(cr.AuthorisedBy, []gatehouse.Subject{g.pat}) {
			t.Errorf("authorisedBy = %v", cr.AuthorisedBy)
		}
		_, err := f.svc.AuthoriseChangeRequest(t.Context(), g.mia, "c3-std", "")
		mustRefuse(t, err, want{code: gatehouse.ERULE, rule: "C4"})
	}},
	{"C4_main_and_scoped_contacts_authorise_their_area", func(t *testing.T, f fixture) {
		g := mustGlobex(f, "c4")
		wantState(t, g.file(t, g.pat, workflow.NewChangeRequest{ID: "c4-web", Kind: gatehouse.KindPublicFacing, Target: "page:pricing"}),
			workflow.StatusPending, workflow.TierMain, g.mia, g.tom)
		wantState(t, g.file(t, g.pat, workflow.NewChangeRequest{ID: "c4-dd", Kind: gatehouse.KindSensitiveInformation}),
			workflow.StatusPending, workflow.TierMain, g.mia, g.fiona)
		_, err := f.svc.AuthoriseChangeRequest(t.Context(), g.fiona, "c4-web", "")
		mustRefuse(t, err, want{code: gatehouse.EFORBIDDEN, permission: gatehouse.PermAuthoriseMain})
		cr, err := f.svc.AuthoriseChangeRequest(t.Context(), g.tom, "c4-web", "looks fine")
		mustOK(t, err, "tom authorising")
		wantState(t, cr, workflow.StatusAuthorised, workflow.TierNone)
		// Whoever was asked may read it; an outsider may not.
		_, err = f.svc.ChangeRequest(t.Context(), g.fiona, "c4-dd")
		mustOK(t, err, "fiona reading")
		_, err = f.svc.ChangeRequest(t.Context(), gatehouse.User("mallory"), "c4-dd")
		mustRefuse(t, err, want{code: gatehouse.EFORBIDDEN, permission: gatehouse.PermView})
	}},
	{"C5_a_requester_whose_role_covers_the_kind_is_authorised_when_filed", func(t *testing.T, f fixture) {
		g := mustGlobex(f, "c5")
		ivy := g.user("ivy") // an IT admin with no designation
		g.mustGrant(g.owner(), ivy, gatehouse.RoleITAdmin)
		wantState(t, g.file(t, ivy, workflow.NewChangeRequest{ID: "c5-users", Kind: gatehouse.KindUserManagement}), workflow.StatusAuthorised, workflow.TierNone)
		wantState(t, g.file(t, ivy, workflow.NewChangeRequest{ID: "c5-svc", Kind: gatehouse.KindService}), workflow.StatusPending, workflow.TierMain, g.mia, g.tom)
		// The technical contact could authorise a service request (C4), so it is authorised as filed.
		wantState(t, g.file(t, g.tom, workflow.NewChangeRequest{ID: "c5-tom", Kind: gatehouse.KindService}), workflow.StatusAuthorised, workflow.TierNone)
	}},
	{"C8_escalation_to_the_alternate_then_the_verified_director_and_back", func(t *testing.T, f fixture) {
		g := mustGlobex(f, "c8")
		g.file(t, g.pat, workflow.NewChangeRequest{ID: "c8-esc", Kind: gatehouse.KindAccessPermissions})
		read := func() workflow.ChangeRequest {
			t.Helper()
			cr, err := f.svc.ChangeRequest(t.Context(), g.pat, "c8-esc")
			mustOK(t, err, "reading")
			return cr
		}
		away := func(u gatehouse.Subject, on bool) {
			t.Helper()
			var err error
			if on {
				_, err = f.svc.SetDesignation(t.Context(), staff, g.id, u, gatehouse.DesignationUnavailableContact, "on leave")
			} else {
				_, err = f.svc.UnsetDesignation(t.Context(), staff, g.id, u, gatehouse.DesignationUnavailableContact, "")
			}
			mustOK(t, err, "marking %s", u)
		}
		wantState(t, read(), workflow.StatusPending, workflow.TierMain, g.mia, g.tom)
		away(g.mia, true)
		away(g.tom, true)
		wantState(t, read(), workflow.StatusPending, workflow.TierAlternate, g.alan)
		away(g.alan, true)
		wantState(t, read(), workflow.StatusPending, workflow.TierDirector, g.dora)
		// C7: the unavailable are never asked and cannot authorise.
		_, err := f.svc.AuthoriseChangeRequest(t.Context(), g.mia, "c8-esc", "")
		mustRefuse(t, err, want{code: gatehouse.EFORBIDDEN})
		// C9: with nobody available in any tier the request is blocked.
		away(g.dora, true)
		cr := read()
		wantState(t, cr, workflow.StatusBlocked, workflow.TierNone)
		if !slices.Equal(cr.BlockedOn, []string{workflow.NeedAuthorisation}) {
			t.Errorf("blockedOn = %v", cr.BlockedOn)
		}
		away(g.alan, false)
		wantState(t, read(), workflow.StatusPending, workflow.TierAlternate, g.alan)
		cr, err = f.svc.AuthoriseChangeRequest(t.Context(), g.alan, "c8-esc", "")
		mustOK(t, err, "alan authorising")
		wantState(t, cr, workflow.StatusAuthorised, workflow.TierNone)
	}},
	{"C10_a_substantial_security_impact_needs_an_approver_other_than_the_requester", func(t *testing.T, f fixture) {
		g := mustGlobex(f, "c10")
		cr := g.file(t, g.pat, workflow.NewChangeRequest{ID: "c10-fw", Kind: gatehouse.KindAccessPermissions, SubstantialSecurity: true})
		if !cr.Needs(workflow.NeedAuthorisation) || !cr.Needs(workflow.NeedSecurity) {
			t.Fatalf("needs %v", cr.ApprovalsNeeded)
		}
		cr, err := f.svc.AuthoriseChangeRequest(t.Context(), g.tom, "c10-fw", "")
		mustOK(t, err, "tom authorising")
		wantState(t, cr, workflow.StatusPending, workflow.TierNone, g.mia, g.owner())
		_, err = f.svc.AuthoriseChangeRequest(t.Context(), g.tom, "c10-fw", "")
		mustRefuse(t, err, want{code: gatehouse.EFORBIDDEN, permission: gatehouse.PermApproveSecurity})
		cr, err = f.svc.AuthoriseChangeRequest(t.Context(), g.mia, "c10-fw", "approved")
		mustOK(t, err, "mia approving")
		wantState(t, cr, workflow.StatusAuthorised, workflow.TierNone)
		if !slices.Equal(cr.SecurityApprovedBy, []gatehouse.Subject{g.mia}) {
			t.Errorf("securityApprovedBy = %v", cr.SecurityApprovedBy)
		}
	}},
	{"C12_staff_file_a_legally_mandated_change_members_cannot", func(t *testing.T, f fixture) {
		g := mustGlobex(f, "c12")
		cr := g.file(t, staff, workflow.NewChangeRequest{ID: "c12-law", Kind: gatehouse.KindSensitiveInformation, SubstantialCharge: true, LegalReason: "court order"})
		if !cr.LegalMandate {
			t.Error("not marked as a legal mandate")
		}
		wantState(t, cr, workflow.StatusAuthorised, workflow.TierNone)
		_, err := f.svc.FileChangeRequest(t.Context(), g.mia, workflow.NewChangeRequest{ID: "c12-mia", Organisation: g.id, Kind: gatehouse.KindService, LegalReason: "because"})
		mustRefuse(t, err, want{code: gatehouse.EFORBIDDEN, permission: gatehouse.PermProviderStaff})
	}},
}

var exceptionRules = []rule{
	{"C6_an_exception_authorises_its_kind_and_target_when_filed", func(t *testing.T, f fixture) {
		g := mustGlobex(f, "c6")
		_, err := f.svc.GrantException(t.Context(), g.mia, workflow.Exception{Organisation: g.id, User: g.pat, Kind: gatehouse.KindPublicFacing, Target: "page:pricing"}, "campaign")
		mustOK(t, err, "granting")
		wantState(t, g.file(t, g.pat, workflow.NewChangeRequest{ID: "c6-page", Kind: gatehouse.KindPublicFacing, Target: "page:pricing"}), workflow.StatusAuthorised, workflow.TierNone)
		wantState(t, g.file(t, g.pat, workflow.NewChangeRequest{ID: "c6-other", Kind: gatehouse.KindPublicFacing, Target: "page:about"}), workflow.StatusPending, workflow.TierMain, g.mia, g.tom)
		n, _, err := f.svc.RevokeExceptions(t.Context(), g.mia, g.id, g.pat, gatehouse.KindPublicFacing, "over")
		mustOK(t, err, "revoking")
		if n != 1 {
			t.Errorf("revoked %d exceptions, want 1", n)
		}
		wantState(t, g.file(t, g.pat, workflow.NewChangeRequest{ID: "c6-after", Kind: gatehouse.KindPublicFacing, Target: "page:pricing"}), workflow.StatusPending, workflow.TierMain, g.mia, g.tom)
	}},
	{"C6_only_a_main_contact_grants_and_only_to_a_member_of_a_non_standard_kind", func(t *testing.T, f fixture) {
		g := mustGlobex(f, "c6b")
		ex := workflow.Exception{Organisation: g.id, User: g.pat, Kind: gatehouse.KindService}
		_, err := f.svc.GrantException(t.Context(), g.tom, ex, "")
		mustRefuse(t, err, want{code: gatehouse.EFORBIDDEN, permission: gatehouse.PermMainContacts})
		outsider := ex
		outsider.User = gatehouse.User("mallory")
		_, err = f.svc.GrantException(t.Context(), g.mia, outsider, "")
		mustRefuse(t, err, want{code: gatehouse.ERULE, rule: "C6", field: "user"})
		standard := ex
		standard.Kind = gatehouse.KindStandard
		_, err = f.svc.GrantException(t.Context(), g.mia, standard, "")
		mustRefuse(t, err, want{code: gatehouse.ERULE, rule: "C6", field: "kind"})
	}},
	{"C7_an_unavailable_main_contact_grants_no_exception", func(t *testing.T, f fixture) {
		g := mustGlobex(f, "c7")
		g.mustDesignate(staff, g.mia, gatehouse.DesignationUnavailableContact)
		_, err := f.svc.GrantException(t.Context(), g.mia, workflow.Exception{Organisation: g.id, User: g.pat, Kind: gatehouse.KindService}, "")
		mustRefuse(t, err, want{code: gatehouse.EFORBIDDEN, rule: "C7", permission: gatehouse.PermMainContacts})
	}},
}

// TestMadeChangeRequestID (shared/api.md: the server makes the id when
// the filer gives none): a made id already taken by a filer who chose it
// is made again, never refused and never reused; three taken in a row is
// a conflict that writes nothing.
func TestMadeChangeRequestID(t *testing.T) {
	f := mustFixture(t)
	g := mustGlobex(f, "madeid")
	taken := workflow.NewChangeRequest{ID: "cr-chosen", Organisation: g.id, Kind: gatehouse.KindService}
	if _, err := f.svc.FileChangeRequest(t.Context(), g.pat, taken); err != nil {
		t.Fatal(err)
	}
	restore := workflow.UseChangeRequestIDs("cr-chosen", "cr-made")
	cr, err := f.svc.FileChangeRequest(t.Context(), g.pat, workflow.NewChangeRequest{Organisation: g.id, Kind: gatehouse.KindService, Title: "made again"})
	restore()
	if err != nil || cr.ID != "cr-made" || cr.Title != "made again" {
		t.Fatalf("filed %+v, %v; want cr-made, its title kept", cr, err)
	}
	if chosen, err := f.svc.ChangeRequest(t.Context(), g.pat, "cr-chosen"); err != nil || chosen.Title != "" {
		t.Errorf("the taken request changed: %+v, %v", chosen, err)
	}

	defer workflow.UseChangeRequestIDs("cr-chosen", "cr-chosen", "cr-chosen")()
	_, err = f.svc.FileChangeRequest(t.Context(), g.pat, workflow.NewChangeRequest{Organisation: g.id, Kind: gatehouse.KindService})
	if gatehouse.ErrorCode(err) != gatehouse.ECONFLICT {
		t.Errorf("three taken ids answered %v, want a conflict", err)
	}
}
