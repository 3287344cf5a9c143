package workflow_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/workflow"
)

var approvalRules = []rule{
	{"C2_C16_configuration_needs_an_approve_config_changes_holder_other_than_the_requester", func(t *testing.T, f fixture) {
		g := mustGlobex(f, "c16c")
		// tom (IT admin, technical contact) files: his area and his role
		// cover it (C5), but the approval is still needed, and not his.
		cr := g.file(t, g.tom, workflow.NewChangeRequest{ID: "c16c-fw", Kind: gatehouse.KindConfiguration})
		if cr.Needs(workflow.NeedAuthorisation) || !cr.Needs(workflow.NeedConfiguration) {
			t.Fatalf("needs %v", cr.ApprovalsNeeded)
		}
		wantState(t, cr, workflow.StatusPending, workflow.TierNone, g.mia, g.owner())
		_, err := f.svc.AuthoriseChangeRequest(t.Context(), g.tom, "c16c-fw", "")
		mustRefuse(t, err, want{code: gatehouse.EFORBIDDEN, permission: gatehouse.PermApproveConfiguration})
		cr, err = f.svc.AuthoriseChangeRequest(t.Context(), g.mia, "c16c-fw", "ok")
		mustOK(t, err, "mia approving")
		wantState(t, cr, workflow.StatusAuthorised, workflow.TierNone)
		if !slices.Equal(cr.ConfigurationApprovedBy, []gatehouse.Subject{g.mia}) {
			t.Errorf("configurationApprovedBy = %v", cr.ConfigurationApprovedBy)
		}
	}},
	{"C2_C16_R7_spending_goes_to_the_technical_contact_and_an_approve_spending_holder", func(t *testing.T, f fixture) {
		g := mustGlobex(f, "c16s")
		vip := g.user("vip")
		g.mustGrant(g.owner(), vip, gatehouse.RoleITManager)
		g.mustDesignate(g.owner(), vip, gatehouse.DesignationNoFinancialAccess)
		cr := g.file(t, g.pat, workflow.NewChangeRequest{ID: "c16s-q", Kind: gatehouse.KindSpending})
		wantState(t, cr, workflow.StatusPending, workflow.TierMain, g.mia, g.tom)
		if !cr.Needs(workflow.NeedAuthorisation) || !cr.Needs(workflow.NeedSpending) {
			t.Fatalf("needs %v", cr.ApprovalsNeeded)
		}
		// tom authorises (his area) but approves no spending; the R7 IT manager approves nothing financial.
		cr, err := f.svc.AuthoriseChangeRequest(t.Context(), g.tom, "c16s-q", "")
		mustOK(t, err, "tom authorising")
		wantState(t, cr, workflow.StatusPending, workflow.TierNone, g.mia, g.owner())
		_, err = f.svc.AuthoriseChangeRequest(t.Context(), vip, "c16s-q", "")
		mustRefuse(t, err, want{code: gatehouse.EFORBIDDEN, permission: gatehouse.PermApproveSpend})
		cr, err = f.svc.AuthoriseChangeRequest(t.Context(), g.mia, "c16s-q", "")
		mustOK(t, err, "mia approving")
		wantState(t, cr, workflow.StatusAuthorised, workflow.TierNone)
	}},
	{"C12_a_legal_mandate_waives_the_C16_approvals_too", func(t *testing.T, f fixture) {
		g := mustGlobex(f, "c12w")
		for _, kind := range []string{gatehouse.KindConfiguration, gatehouse.KindSpending} {
			cr := g.file(t, staff, workflow.NewChangeRequest{ID: "c12w-" + kind, Kind: kind, SubstantialSecurity: true, LegalReason: "regulator"})
			wantState(t, cr, workflow.StatusAuthorised, workflow.TierNone)
		}
	}},
	{"C17_C5_a_user_management_change_about_oneself_goes_to_the_others_of_the_tier", func(t *testing.T, f fixture) {
		g := mustGlobex(f, "c17")
		// mia (main contact) files about herself: not authorised as filed,
		// tom authorises; mia may not.
		cr := g.file(t, g.mia, workflow.NewChangeRequest{ID: "c17-self", Kind: gatehouse.KindUserManagement, Target: g.mia.String()})
		wantState(t, cr, workflow.StatusPending, workflow.TierMain, g.tom)
		if cr.TargetUser == nil || *cr.TargetUser != g.mia {
			t.Errorf("targetUser = %v", cr.TargetUser)
		}
		_, err := f.svc.AuthoriseChangeRequest(t.Context(), g.mia, "c17-self", "")
		mustRefuse(t, err, want{code: gatehouse.EFORBIDDEN})
		// About tom: pat files, mia alone authorises; then C8 escalates past her.
		wantState(t, g.file(t, g.pat, workflow.NewChangeRequest{ID: "c17-tom", Kind: gatehouse.KindUserManagement, Target: g.tom.String()}),
			workflow.StatusPending, workflow.TierMain, g.mia)
		g.mustDesignate(staff, g.mia, gatehouse.DesignationUnavailableContact)
		cr, err = f.svc.ChangeRequest(t.Context(), g.pat, "c17-tom")
		mustOK(t, err, "reading")
		wantState(t, cr, workflow.StatusPending, workflow.TierAlternate, g.alan)
		_, err = f.svc.AuthoriseChangeRequest(t.Context(), g.tom, "c17-tom", "")
		mustRefuse(t, err, want{code: gatehouse.EFORBIDDEN})
		// An approver the request is about approves nothing either.
		cr = g.file(t, g.pat, workflow.NewChangeRequest{ID: "c17-sec", Kind: gatehouse.KindUserManagement, Target: g.owner().String(), SubstantialSecurity: true})
		_, err = f.svc.AuthoriseChangeRequest(t.Context(), g.tom, "c17-sec", "")
		mustOK(t, err, "tom authorising")
		cr, err = f.svc.ChangeRequest(t.Context(), g.pat, "c17-sec")
		mustOK(t, err, "reading")
		wantState(t, cr, workflow.StatusPending, workflow.TierNone, g.mia)
	}},
	{"C15_approvers_and_staff_raise_flags_never_lower_only_on_open_requests", func(t *testing.T, f fixture) {
		g := mustGlobex(f, "c15")
		cr := g.file(t, g.tom, workflow.NewChangeRequest{ID: "c15-svc", Kind: gatehouse.KindService})
		wantState(t, cr, workflow.StatusAuthorised, workflow.TierNone)
		_, err := f.svc.RaiseFlags(t.Context(), g.mia, "c15-svc", false, true)
		mustRefuse(t, err, want{code: gatehouse.ECONFLICT, rule: "C13"})
		g.file(t, g.pat, workflow.NewChangeRequest{ID: "c15-web", Kind: gatehouse.KindPublicFacing})
		_, err = f.svc.RaiseFlags(t.Context(), g.pat, "c15-web", false, true)
		mustRefuse(t, err, want{code: gatehouse.EFORBIDDEN, permission: gatehouse.PermRaiseFlags})
		_, err = f.svc.RaiseFlags(t.Context(), g.fiona, "c15-web", false, false)
		mustRefuse(t, err, want{code: gatehouse.EINVALID})
		cr, err = f.svc.RaiseFlags(t.Context(), g.fiona, "c15-web", false, true)
		mustOK(t, err, "fiona raising the charge flag")
		if !cr.SubstantialCharge || !cr.Needs(workflow.NeedCharge) {
			t.Errorf("charge flag %v, needs %v", cr.SubstantialCharge, cr.ApprovalsNeeded)
		}
		cr, err = f.svc.RaiseFlags(t.Context(), staff, "c15-web", true, false)
		mustOK(t, err, "staff raising the security flag")
		if !cr.SubstantialSecurity || !cr.SubstantialCharge {
			t.Errorf("flags lowered or not raised: %+v", cr)
		}
	}},
	{"C15_a_declared_kind_or_target_is_flagged_whatever_the_filer_says", func(t *testing.T, f fixture) {
		g := mustGlobex(f, "c15d")
		_, err := f.svc.SetAlwaysSubstantial(t.Context(), g.mia, g.id, gatehouse.KindService, "", true, true)
		mustRefuse(t, err, want{code: gatehouse.EFORBIDDEN, permission: gatehouse.PermManageMembers})
		_, err = f.svc.SetAlwaysSubstantial(t.Context(), g.owner(), g.id, gatehouse.KindPublicFacing, "page:checkout", false, true)
		mustOK(t, err, "declaring a target")
		_, err = f.svc.SetAlwaysSubstantial(t.Context(), g.owner(), g.id, gatehouse.KindService, "", true, false)
		mustOK(t, err, "declaring a kind")
		cr := g.file(t, g.pat, workflow.NewChangeRequest{ID: "c15d-co", Kind: gatehouse.KindPublicFacing, Target: "page:checkout"})
		if !cr.SubstantialCharge || cr.SubstantialSecurity {
			t.Errorf("checkout: security %v charge %v", cr.SubstantialSecurity, cr.SubstantialCharge)
		}
		if cr = g.file(t, g.pat, workflow.NewChangeRequest{ID: "c15d-about", Kind: gatehouse.KindPublicFacing, Target: "page:about"}); cr.SubstantialCharge {
			t.Error("a target not declared was flagged")
		}
		if cr = g.file(t, g.pat, workflow.NewChangeRequest{ID: "c15d-svc", Kind: gatehouse.KindService}); !cr.SubstantialSecurity {
			t.Error("the declared kind was not flagged")
		}
		_, err = f.svc.UnsetAlwaysSubstantial(t.Context(), g.owner(), g.id, gatehouse.KindService, "")
		mustOK(t, err, "lifting")
		if cr = g.file(t, g.pat, workflow.NewChangeRequest{ID: "c15d-svc2", Kind: gatehouse.KindService}); cr.SubstantialSecurity {
			t.Error("flagged after the declaration was lifted")
		}
	}},
	{"C18_staff_override_a_second_staff_member_confirms_approvals_still_needed", func(t *testing.T, f fixture) {
		g := mustGlobex(f, "c18")
		stan := gatehouse.User("stan")
		f.touch(gatehouse.Relationship{Resource: gatehouse.Provider, Relation: gatehouse.RelStaff, Subject: stan})
		g.file(t, g.pat, workflow.NewChangeRequest{ID: "c18-cfg", Kind: gatehouse.KindConfiguration})
		_, err := f.svc.Override(t.Context(), staff, "c18-cfg", "", "client phoned")
		mustRefuse(t, err, want{code: gatehouse.EINVALID, field: "category"})
		_, err = f.svc.Override(t.Context(), staff, "c18-cfg", "outage", "")
		mustRefuse(t, err, want{code: gatehouse.EINVALID, field: "reason"})
		_, err = f.svc.Override(t.Context(), g.mia, "c18-cfg", "outage", "x")
		mustRefuse(t, err, want{code: gatehouse.EFORBIDDEN, permission: gatehouse.PermOverride})
		_, err = f.svc.ConfirmOverride(t.Context(), stan, "c18-cfg")
		mustRefuse(t, err, want{code: gatehouse.ECONFLICT, rule: "C18"})
		cr, err := f.svc.Override(t.Context(), staff, "c18-cfg", "outage", "site down, contacts unreachable")
		mustOK(t, err, "overriding")
		wantState(t, cr, workflow.StatusPending, workflow.TierMain, g.mia, g.tom)
		if cr.OverrideBy == nil || cr.OverrideCategory != "outage" || cr.OverrideReason == "" {
			t.Errorf("override recorded as %v %q %q", cr.OverrideBy, cr.OverrideCategory, cr.OverrideReason)
		}
		_, err = f.svc.ConfirmOverride(t.Context(), staff, "c18-cfg")
		mustRefuse(t, err, want{code: gatehouse.EFORBIDDEN, rule: "C18", permission: gatehouse.PermConfirmOverride})
		cr, err = f.svc.ConfirmOverride(t.Context(), stan, "c18-cfg")
		mustOK(t, err, "stan confirming")
		if cr.Needs(workflow.NeedAuthorisation) || !cr.Needs(workflow.NeedConfiguration) || cr.Status != workflow.StatusPending {
			t.Errorf("after confirmation: %s, needs %v", cr.Status, cr.ApprovalsNeeded)
		}
		cr, err = f.svc.AuthoriseChangeRequest(t.Context(), g.mia, "c18-cfg", "")
		mustOK(t, err, "mia approving")
		wantState(t, cr, workflow.StatusAuthorised, workflow.TierNone)
	}},
	{"C14_members_list_what_they_may_view_awaiting_me_from_lookups_outsiders_403", func(t *testing.T, f fixture) {
		g := mustGlobex(f, "c14")
		other := mustGlobex(f, "c14o")
		g.file(t, g.pat, workflow.NewChangeRequest{ID: "c14-a", Kind: gatehouse.KindPublicFacing})
		g.file(t, g.pat, workflow.NewChangeRequest{ID: "c14-b", Kind: gatehouse.KindSensitiveInformation})
		g.file(t, g.tom, workflow.NewChangeRequest{ID: "c14-c", Kind: gatehouse.KindStandard})
		other.file(t, other.pat, workflow.NewChangeRequest{ID: "c14o-a", Kind: gatehouse.KindSensitiveInformation})
		_, err := f.svc.Reject(t.Context(), g.mia, "c14-a", "no")
		mustOK(t, err, "rejecting")
		ids := func(actor gatehouse.Subject, org, status string, awaiting bool) []string {
			t.Helper()
			list, _, err := f.svc.ListChangeRequests(t.Context(), actor, org, status, awaiting, 0, "")
			mustOK(t, err, "listing for %s", actor)
			out := []string{}
			for _, cr := range list {
				out = append(out, cr.ID)
			}
			return out
		}
		check := func(name string, got []string, want ...string) {
			t.Helper()
			if want == nil {
				want = []string{}
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s: %v, want %v", name, got, want)
			}
		}
		check("alan (view_reports) lists all", ids(g.alan, g.id, "", false), "c14-a", "c14-b", "c14-c")
		check("pat lists his own", ids(g.pat, g.id, "", false), "c14-a", "c14-b")
		check("pat's rejected", ids(g.pat, g.id, workflow.StatusRejected, false), "c14-a")
		check("fiona awaits b", ids(g.fiona, g.id, "", true), "c14-b")
		check("pat awaits nothing", ids(g.pat, g.id, "", true))
		check("staff list any organisation", ids(staff, other.id, "", false), "c14o-a")
		_, _, err = f.svc.ListChangeRequests(t.Context(), gatehouse.User("mallory"), g.id, "", false, 0, "")
		mustRefuse(t, err, want{code: gatehouse.EFORBIDDEN, permission: gatehouse.PermListChangeRequests})
		_, _, err = f.svc.ListChangeRequests(t.Context(), g.alan, g.id, "done", false, 0, "")
		mustRefuse(t, err, want{code: gatehouse.EINVALID, field: "status"})
		_, _, err = f.svc.ListChangeRequests(t.Context(), g.alan, g.id, "", false, workflow.MaxLimit+1, "")
		mustRefuse(t, err, want{code: gatehouse.EINVALID, field: "limit"})
		// Pages: one at a time, following the cursor.
		var seen []string
		cursor := ""
		for range 5 {
			page, next, err := f.svc.ListChangeRequests(t.Context(), g.alan, g.id, "", false, 1, cursor)
			mustOK(t, err, "paging")
			for _, cr := range page {
				seen = append(seen, cr.ID)
			}
			if cursor = next; cursor == "" {
				break
			}
		}
		check("paged", seen, "c14-a", "c14-b", "c14-c")
	}},
	{"C14_main_contacts_and_staff_list_exceptions", func(t *testing.T, f fixture) {
		g := mustGlobex(f, "c14x")
		_, err := f.svc.GrantException(t.Context(), g.mia, workflow.Exception{Organisation: g.id, User: g.pat, Kind: gatehouse.KindPublicFacing, Target: "page:pricing"}, "campaign")
		mustOK(t, err, "granting")
		_, err = f.svc.GrantException(t.Context(), g.mia, workflow.Exception{Organisation: g.id, User: g.tom, Kind: gatehouse.KindService}, "")
		mustOK(t, err, "granting")
		for _, actor := range []gatehouse.Subject{g.mia, staff} {
			list, _, err := f.svc.ListExceptions(t.Context(), actor, g.id, 0, "")
			mustOK(t, err, "listing for %s", actor)
			if len(list) != 2 || list[0].User != g.pat || list[0].Target != "page:pricing" || list[1].Kind != gatehouse.KindService {
				t.Errorf("%s lists %+v", actor, list)
			}
		}
		_, _, err = f.svc.ListExceptions(t.Context(), g.tom, g.id, 0, "")
		mustRefuse(t, err, want{code: gatehouse.EFORBIDDEN, permission: gatehouse.PermViewExceptions})
	}},
	{"R7_the_owner_cannot_be_designated_no_financial_access_nor_ownership_go_to_such_a_member", func(t *testing.T, f fixture) {
		g := mustGlobex(f, "r7")
		_, err := f.svc.SetDesignation(t.Context(), g.owner(), g.id, g.owner(), gatehouse.DesignationNoFinancialAccess, "")
		mustRefuse(t, err, want{code: gatehouse.ERULE, rule: "R7"})
		g.mustDesignate(g.owner(), g.mia, gatehouse.DesignationNoFinancialAccess)
		if f.allowed(g.ref(), "view_billing", g.mia) {
			t.Error("R7: mia still views billing")
		}
		_, err = f.svc.TransferOwnership(t.Context(), g.owner(), g.id, g.mia, "")
		mustRefuse(t, err, want{code: gatehouse.ERULE, rule: "R7"})
		_, err = f.svc.UnsetDesignation(t.Context(), g.owner(), g.id, g.mia, gatehouse.DesignationNoFinancialAccess, "")
		mustOK(t, err, "lifting")
		_, err = f.svc.TransferOwnership(t.Context(), g.owner(), g.id, g.mia, "")
		mustOK(t, err, "transferring once lifted")
	}},
	{"C7_C9_staff_designations_need_a_reason", func(t *testing.T, f fixture) {
		g := mustGlobex(f, "c7r")
		for _, d := range []string{gatehouse.DesignationVerifiedDirector, gatehouse.DesignationUnavailableContact} {
			_, err := f.svc.SetDesignation(t.Context(), staff, g.id, g.mia, d, " ")
			mustRefuse(t, err, want{code: gatehouse.EINVALID, field: "reason"})
		}
	}},
	{"O7_edit_details_holders_rename_the_organisation_audited", func(t *testing.T, f fixture) {
		g := mustGlobex(f, "o7")
		_, err := f.svc.EditOrganisation(t.Context(), g.mia, g.id, "Globex Group")
		mustRefuse(t, err, want{code: gatehouse.EFORBIDDEN, permission: gatehouse.PermEditDetails})
		_, err = f.svc.EditOrganisation(t.Context(), g.alan, g.id, " ")
		mustRefuse(t, err, want{code: gatehouse.EINVALID, field: "name"})
		o, err := f.svc.EditOrganisation(t.Context(), g.alan, g.id, "Globex Group")
		mustOK(t, err, "alan renaming")
		if o.Name != "Globex Group" || o.Owner != g.owner() {
			t.Errorf("answer %+v", o)
		}
		_, err = f.svc.EditOrganisation(t.Context(), g.alan, g.id, "Globex Group")
		mustOK(t, err, "renaming to the same name")
		got, err := f.svc.GetOrganisation(t.Context(), g.pat, g.id)
		mustOK(t, err, "reading")
		if got.Name != "Globex Group" {
			t.Errorf("name = %q", got.Name)
		}
		events, _, err := f.trail.List(t.Context(), gatehouse.AuditQuery{Organisation: g.id, Limit: 100})
		mustOK(t, err, "audit")
		if !slices.ContainsFunc(events, func(e gatehouse.AuditEvent) bool {
			return e.Action == "edit_organisation" && e.Actor == g.alan.String() && e.Details["previousName"] == "Org o7"
		}) {
			t.Errorf("the rename is not in the audit trail: %+v", events)
		}
	}},
}

// actionHookStore runs before once, just before the first write whose audit
// action is action: a concurrent change that lands between a workflow's
// decision and its write, deterministically.
type actionHookStore struct {
	gatehouse.Store
	action string
	once   sync.Once
	before func()
}

func (h *actionHookStore) Write(ctx context.Context, w gatehouse.Write) (string, error) {
	if w.Audit.Action == h.action {
		h.once.Do(h.before)
	}
	return h.Store.Write(ctx, w)
}

// TestC7RaceUnavailableBetweenDecisionAndWrite marks the authorising
// contact unavailable, or removes their designation, after Authorise
// decided and before it writes: the write's pins fail, the decision is
// taken again, and the now-barred contact is refused (C7, issue 9 item 2).
func TestC7RaceUnavailableBetweenDecisionAndWrite(t *testing.T) {
	f := mustFixture(t)
	g := mustGlobex(f, "race7")
	for i, change := range []func() error{
		func() error {
			_, err := f.svc.SetDesignation(t.Context(), staff, g.id, g.tom, gatehouse.DesignationUnavailableContact, "HR case")
			return err
		},
		func() error {
			_, err := f.svc.UnsetDesignation(t.Context(), g.owner(), g.id, g.tom, gatehouse.DesignationTechnicalContact, "")
			return err
		},
	} {
		id := "race7-" + string(rune('a'+i))
		g.file(t, g.pat, workflow.NewChangeRequest{ID: id, Kind: gatehouse.KindService})
		hooked := workflow.New(&actionHookStore{Store: f.store, action: "authorise_change_request", before: func() {
			if err := change(); err != nil {
				t.Errorf("concurrent change: %v", err)
			}
		}})
		_, err := hooked.AuthoriseChangeRequest(t.Context(), g.tom, id, "")
		mustRefuse(t, err, want{code: gatehouse.EFORBIDDEN})
		cr, err := f.svc.ChangeRequest(t.Context(), g.pat, id)
		mustOK(t, err, "reading")
		if len(cr.AuthorisedBy) != 0 {
			t.Errorf("%s: authorised by %v after tom was barred", id, cr.AuthorisedBy)
		}
		// Put tom back for the next round.
		_, _ = f.svc.UnsetDesignation(t.Context(), staff, g.id, g.tom, gatehouse.DesignationUnavailableContact, "")
		g.mustDesignate(g.owner(), g.tom, gatehouse.DesignationTechnicalContact)
	}
}

// TestC13RejectBetweenDecisionAndWrite rejects a request after Authorise
// decided and before it writes: the closed pin fails and the authoriser
// gets 409 naming C13 (C13).
func TestC13RejectBetweenDecisionAndWrite(t *testing.T) {
	f := mustFixture(t)
	g := mustGlobex(f, "race13d")
	g.file(t, g.pat, workflow.NewChangeRequest{ID: "race13d", Kind: gatehouse.KindService})
	hooked := workflow.New(&actionHookStore{Store: f.store, action: "authorise_change_request", before: func() {
		if _, err := f.svc.Reject(t.Context(), g.mia, "race13d", "no"); err != nil {
			t.Errorf("rejecting: %v", err)
		}
	}})
	_, err := hooked.AuthoriseChangeRequest(t.Context(), g.tom, "race13d", "")
	mustRefuse(t, err, want{code: gatehouse.ECONFLICT, rule: "C13"})
}

// TestC1RaceRemovedBetweenDecisionAndFiling removes the filer from the
// team after FileChangeRequest decided and before it writes: the write
// pins the filer's membership, so the filing is decided again and refused
// (C1, issue 9 item 2).
func TestC1RaceRemovedBetweenDecisionAndFiling(t *testing.T) {
	f := mustFixture(t)
	g := mustGlobex(f, "race1")
	hooked := workflow.New(&actionHookStore{Store: f.store, action: "file_change_request", before: func() {
		if _, err := f.svc.RemoveMember(t.Context(), g.owner(), g.id, g.pat, ""); err != nil {
			t.Errorf("removing pat: %v", err)
		}
	}})
	_, err := hooked.FileChangeRequest(t.Context(), g.pat, workflow.NewChangeRequest{ID: "race1", Organisation: g.id, Kind: gatehouse.KindService})
	mustRefuse(t, err, want{code: gatehouse.EFORBIDDEN, permission: gatehouse.PermMember})
	if rels := f.relationshipsOf(gatehouse.ChangeRequestRef("race1")); len(rels) != 0 {
		t.Errorf("filed anyway: %v", rels)
	}
}
