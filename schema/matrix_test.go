package schema

import (
	"context"
	"errors"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/authzed/spicedb/pkg/datalayer"
	"github.com/authzed/spicedb/pkg/development"
	"github.com/authzed/spicedb/pkg/tuple"
)

// role is one column of the matrix: a user, named name, who holds in
// organisation:acme the relations holds (the role name alone when empty),
// with the rules that describe the column.
type role struct {
	name  string
	rules string
	holds []string
}

// relations returns the organisation relations the column's user holds.
func (r role) relations() []string {
	if len(r.holds) == 0 {
		return []string{r.name}
	}
	return r.holds
}

// roles are the columns of domain.md's permission table, in its order,
// then the no_financial_access columns of R7: an IT manager and a finance
// admin so designated, and an owner on whom the designation was forced
// (the workflow refuses it; the schema ignores it, O5).
var roles = []role{
	{"owner", "O5", nil},
	{"security_admin", "S3_S6", nil},
	{"alternate_security_admin", "S4_S6", nil},
	{"administrator", "R4_T2", nil},
	{"it_manager", "R1", nil},
	{"it_admin", "R2", nil},
	{"finance_admin", "R3", nil},
	{"billing_manager", "R6", nil},
	{"cis_processor", "R5", nil},
	{"it_manager_no_financial_access", "R7", []string{"it_manager", "no_financial_access"}},
	{"finance_admin_no_financial_access", "R7", []string{"finance_admin", "no_financial_access"}},
	{"owner_no_financial_access", "R7_O5", []string{"owner", "no_financial_access"}},
}

// cell is one row of the permission matrix: a permission on one resource
// and, per role in the order of roles, whether the role holds it.
type cell struct {
	holders  string // "X" holds, "." does not; one column per role
	name     string // the rules it proves, then what it checks
	resource string // object#permission
}

// matrix is domain.md's permission matrix. Columns, in order: owner, SA,
// ASA, administrator, it_manager, it_admin, finance_admin, billing_manager,
// cis_processor, then (R7) it_manager, finance_admin and owner, each with
// no_financial_access. Every column's user is a different user holding only
// that column's relations in organisation:acme; the change requests were
// filed by yet another member.
var matrix = []cell{
	// own SA  ASA adm itm ita fin bil cis   itm fin own + no_financial_access
	{"X   X   X   X   X   X   X   X   X   X   X   X", "X1_member", "organisation:acme#member"},
	{"X   .   .   .   .   .   .   .   .   .   .   X", "O3_delete", "organisation:acme#delete"},
	{"X   .   .   .   .   .   .   .   .   .   .   X", "O4_transfer_ownership", "organisation:acme#transfer_ownership"},
	{"X   X   .   .   .   .   .   .   .   .   .   X", "S3_S4_delegate_security_admin", "organisation:acme#delegate_security_admin"},
	{"X   X   X   .   .   .   .   .   .   .   .   X", "S5_delegate_alternate_security_admin", "organisation:acme#delegate_alternate_security_admin"},
	{"X   X   X   .   .   .   .   .   .   .   .   X", "S2_manage_members", "organisation:acme#manage_members"},
	{"X   X   X   X   .   .   .   .   .   .   .   X", "T2_manage_team_members", "organisation:acme#manage_team_members"},
	{"X   X   X   X   .   .   .   .   .   .   .   X", "R4_edit_details", "organisation:acme#edit_details"},
	{"X   X   X   X   X   .   X   X   .   .   .   X", "R6_R7_view_billing", "organisation:acme#view_billing"},
	{"X   X   X   .   .   .   X   .   .   .   .   X", "O5_R3_R7_manage_billing", "organisation:acme#manage_billing"},
	{"X   X   X   X   .   .   .   .   .   .   .   X", "R4_manage_contractors", "organisation:acme#manage_contractors"},
	{"X   X   X   X   X   X   X   .   .   X   X   X", "R3_view_services", "organisation:acme#view_services"},
	{"X   X   X   X   X   X   .   .   .   X   .   X", "R2_view_reports", "organisation:acme#view_reports"},
	{"X   X   X   .   X   X   .   .   .   X   .   X", "R2_request_user_changes", "organisation:acme#request_user_changes"},
	{"X   X   X   .   X   X   .   .   .   X   .   X", "R2_request_config_changes", "organisation:acme#request_config_changes"},
	{"X   X   X   .   X   .   .   .   .   X   .   X", "R1_request_services", "organisation:acme#request_services"},
	{"X   X   X   .   X   .   .   .   .   X   .   X", "R1_approve_config_changes", "organisation:acme#approve_config_changes"},
	{"X   X   X   .   X   .   .   .   .   .   .   X", "R1_R7_approve_spending", "organisation:acme#approve_spending"},
	{"X   X   X   .   X   .   .   .   .   X   .   X", "R1_approve_security_changes", "organisation:acme#approve_security_changes"},
	{"X   X   X   .   X   .   X   .   .   .   .   X", "R1_R3_R7_approve_charges", "organisation:acme#approve_charges"},
	{"X   X   X   X   .   .   .   .   .   .   .   X", "K2_contractor_view_admin_only", "contractor:admin_only#view"},
	{"X   X   X   X   X   .   .   .   X   X   .   X", "R1_R5_contractor_view", "contractor:open#view"},
	{"X   X   X   X   .   .   .   .   .   .   .   X", "K2_contractor_edit_admin_only", "contractor:admin_only#edit"},
	{"X   X   X   X   .   .   .   .   .   .   .   X", "R4_contractor_edit", "contractor:open#edit"},
	{"X   X   X   X   X   .   X   X   .   .   .   X", "R6_R7_invoice_view", "invoice:march#view"},
	{"X   X   X   .   .   .   X   .   .   .   .   X", "R3_R7_invoice_pay", "invoice:march#pay"},
	{"X   X   X   .   X   .   .   .   .   .   .   X", "R1_R7_invoice_approve", "invoice:march#approve"},
	{"X   X   X   X   X   X   .   .   .   X   .   X", "R2_change_request_view", "change_request:filed#view"},
	{"X   X   X   X   X   X   X   X   X   X   X   X", "C14_list_change_requests", "organisation:acme#list_change_requests"},
	{"X   X   X   X   X   X   .   .   .   X   .   X", "C14_view_all_change_requests", "organisation:acme#view_all_change_requests"},
	{"X   X   X   .   X   .   .   .   .   X   .   X", "C16_R1_approve_configuration", "change_request:config#approve_configuration"},
	{"X   X   X   .   X   .   .   .   .   .   .   X", "C16_R1_R7_approve_spend", "change_request:spend#approve_spend"},
	{"X   X   X   .   X   .   X   .   .   .   .   X", "C11_R3_R7_approve_charge", "change_request:spend#approve_charge"},
	{"X   X   X   .   X   .   X   .   .   X   .   X", "C15_R7_raise_flags", "change_request:spend#raise_flags"},
}

// matrixWorld is the organisation the matrix checks: one user per role,
// named after it, and an outsider who owns another organisation, so that a
// role elsewhere is seen to give nothing here (X1).
func matrixWorld() []string {
	rels := []string{
		"contractor:open#organisation@organisation:acme",
		"contractor:admin_only#organisation@organisation:acme",
		"contractor:admin_only#admin_only@user:*",
		"invoice:march#organisation@organisation:acme",
		"organisation:acme#cis_processor@user:filer",
		"change_request:filed#organisation@organisation:acme",
		"change_request:filed#requester@user:filer",
		"change_request:filed#kind@change_kind:acme/user_management",
		"change_request:filed#user_management@organisation:acme",
		// C16: a configuration request, and a spending request flagged for a charge (C11).
		"change_request:config#organisation@organisation:acme",
		"change_request:config#requester@user:filer",
		"change_request:config#kind@change_kind:acme/configuration",
		"change_request:config#configuration@organisation:acme",
		"change_request:spend#organisation@organisation:acme",
		"change_request:spend#requester@user:filer",
		"change_request:spend#kind@change_kind:acme/spending",
		"change_request:spend#spending@organisation:acme",
		"change_request:spend#substantial_charge@user:*",
		"organisation:elsewhere#owner@user:outsider",
	}
	for _, r := range roles {
		for _, rel := range r.relations() {
			rels = append(rels, "organisation:acme#"+rel+"@user:"+r.name)
		}
	}
	return rels
}

// TestMatrix checks every cell of domain.md's permission matrix: each role
// holds exactly the permissions the table gives it, and an outsider holds
// none (X1).
func TestMatrix(t *testing.T) {
	dc := mustDevContext(t, matrixWorld()...)

	for i, r := range roles {
		t.Run(r.rules+"_"+r.name, func(t *testing.T) {
			for _, c := range matrix {
				want := strings.Fields(c.holders)[i] == "X"
				t.Run(c.name, func(t *testing.T) {
					if got := mustCheck(t, dc, c.resource, "user:"+r.name); got != want {
						t.Errorf("%s@user:%s = %v, domain.md says %v", c.resource, r.name, got, want)
					}
				})
			}
		})
	}

	t.Run("X1_outsider", func(t *testing.T) {
		for _, c := range matrix {
			t.Run(c.name, func(t *testing.T) {
				if mustCheck(t, dc, c.resource, "user:outsider") {
					t.Errorf("%s@user:outsider = true: outsiders hold nothing", c.resource)
				}
			})
		}
	})
}

// TestMatrixShape proves the table itself is well formed, so that a typo
// cannot silently drop a cell.
func TestMatrixShape(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range matrix {
		if seen[c.resource] {
			t.Errorf("%s: listed twice", c.resource)
		}
		seen[c.resource] = true
		cols := strings.Fields(c.holders)
		if len(cols) != len(roles) {
			t.Errorf("%s: %d columns, want %d", c.name, len(cols), len(roles))
		}
		for _, col := range cols {
			if col != "X" && col != "." {
				t.Errorf("%s: column %q is neither X nor .", c.name, col)
			}
		}
		if !ruleID.MatchString(strings.ReplaceAll(c.name, "_", " ")) {
			t.Errorf("%s: names no rule ID", c.name)
		}
	}
}

// internalPermissions are the permissions backends do not check: building
// blocks of the public ones, and the change-request permissions that
// validation.yaml proves (they depend on contacts, not roles alone).
var internalPermissions = map[string][]string{
	"organisation": {
		"security_administration", "it_management", "it_administration",
		"view_admin_only_contractors", "view_unflagged_contractors",
		"provider_staff", "manage_designations", "billing_managers",
		"main_contacts", "technical_contacts", "finance_contacts",
		"alternate_contacts", "verified_directors", "unavailable_contacts",
		"view_exceptions", "no_financial_accesses",
	},
	"platform": {"staff_member"},
	"change_kind": {
		"excepted", "always_substantial_security", "always_substantial_charge",
	},
	"change_target": {
		"excepted", "always_substantial_security", "always_substantial_charge",
	},
	"change_request": {
		"barred", "area_contacts", "authorise_main", "authorise_alternate",
		"authorise_director", "authorise", "role_covers", "standing",
		"approve_security", "reject", "awaiting", "withdraw", "override",
		"confirm_override", "override_confirmed", "authorised",
		"security_approved", "charge_approved", "configuration_approved",
		"spend_approved",
	},
}

// TestMatrixCoversEveryPermission fails when the schema gains a permission
// that neither the matrix nor the list of internal permissions accounts
// for, so nothing is granted that no test looks at.
func TestMatrixCoversEveryPermission(t *testing.T) {
	dc := mustDevContext(t)

	covered := map[string]bool{}
	for _, c := range matrix {
		onr := tuple.MustParseONR(c.resource)
		covered[onr.ObjectType+"#"+onr.Relation] = true
	}
	for typ, perms := range internalPermissions {
		for _, p := range perms {
			covered[typ+"#"+p] = true
		}
	}

	for _, def := range dc.CompiledSchema.ObjectDefinitions {
		for _, rel := range def.GetRelation() {
			if rel.GetUsersetRewrite() == nil {
				continue // a relation, not a permission
			}
			key := def.GetName() + "#" + rel.GetName()
			if !covered[key] {
				t.Errorf("permission %s is in neither the matrix nor internalPermissions", key)
			}
			delete(covered, key)
		}
	}
	for key := range covered {
		t.Errorf("%s is listed but the schema has no such permission", key)
	}
}

// TestK2LiftingTheFlag deletes the admin-only flag of a contractor and
// proves the IT manager and cis_processors see it at once, while nobody
// else gains anything (K2).
func TestK2LiftingTheFlag(t *testing.T) {
	dc := mustDevContext(t, matrixWorld()...)
	viewers := func() []string {
		var got []string
		for _, r := range roles {
			if mustCheck(t, dc, "contractor:admin_only#view", "user:"+r.name) {
				got = append(got, r.name)
			}
		}
		return got
	}

	before := viewers()
	mustWrite(t, dc, tuple.Delete(tuple.MustParse("contractor:admin_only#admin_only@user:*")))
	after := viewers()

	if want := []string{"owner", "security_admin", "alternate_security_admin", "administrator", "owner_no_financial_access"}; !slices.Equal(before, want) {
		t.Errorf("flagged: viewers %v, want %v", before, want)
	}
	want := []string{
		"owner", "security_admin", "alternate_security_admin", "administrator", "it_manager", "cis_processor",
		"it_manager_no_financial_access", "owner_no_financial_access",
	}
	if !slices.Equal(after, want) {
		t.Errorf("flag lifted: viewers %v, want %v", after, want)
	}
}

// TestR7LiftingTheDesignation deletes the no_financial_access designation
// of the IT manager column and proves their financial permissions come
// back at once, while what they kept stays (R7).
func TestR7LiftingTheDesignation(t *testing.T) {
	dc := mustDevContext(t, matrixWorld()...)
	const user = "user:it_manager_no_financial_access"
	financial := []string{
		"organisation:acme#view_billing", "organisation:acme#approve_spending", "organisation:acme#approve_charges",
		"invoice:march#view", "invoice:march#approve", "change_request:spend#approve_spend",
	}
	kept := []string{"organisation:acme#view_services", "organisation:acme#approve_security_changes", "contractor:open#view"}
	held := func(resources []string) []bool {
		out := make([]bool, len(resources))
		for i, res := range resources {
			out[i] = mustCheck(t, dc, res, user)
		}
		return out
	}

	if got := held(financial); slices.Contains(got, true) {
		t.Errorf("designated: financial permissions %v = %v, want none", financial, got)
	}
	if got := held(kept); slices.Contains(got, false) {
		t.Errorf("designated: %v = %v, want all kept", kept, got)
	}
	mustWrite(t, dc, tuple.Delete(tuple.MustParse("organisation:acme#no_financial_access@"+user)))
	if got := held(financial); slices.Contains(got, false) {
		t.Errorf("lifted: financial permissions %v = %v, want all back", financial, got)
	}
	if got := held(kept); slices.Contains(got, false) {
		t.Errorf("lifted: %v = %v, want all kept", kept, got)
	}
}

// TestK3LookupMatchesCheck proves that listing (LookupResources, through
// SpiceDB's v1 API in-process) returns exactly the contractors and invoices
// each role may view, no more (K3), across two organisations (K1, X1).
func TestK3LookupMatchesCheck(t *testing.T) {
	dc := mustDevContext(t, append(matrixWorld(),
		"contractor:elsewhere_open#organisation@organisation:elsewhere",
		"invoice:elsewhere_march#organisation@organisation:elsewhere",
	)...)
	conn, stop, err := dc.RunV1InMemoryService()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	client := v1.NewPermissionsServiceClient(conn)

	want := map[string]map[string][]string{
		"contractor": {
			"owner": {"admin_only", "open"}, "security_admin": {"admin_only", "open"},
			"alternate_security_admin": {"admin_only", "open"}, "administrator": {"admin_only", "open"},
			"it_manager": {"open"}, "cis_processor": {"open"}, "outsider": {"elsewhere_open"},
			// R7 takes nothing but financial permissions.
			"it_manager_no_financial_access": {"open"}, "owner_no_financial_access": {"admin_only", "open"},
		},
		"invoice": {
			"owner": {"march"}, "security_admin": {"march"}, "alternate_security_admin": {"march"},
			"administrator": {"march"}, "it_manager": {"march"}, "finance_admin": {"march"},
			"billing_manager": {"march"}, "outsider": {"elsewhere_march"},
			// R7: no invoice for a no_financial_access member; the owner is unaffected (O5).
			"owner_no_financial_access": {"march"},
		},
	}
	users := []string{"outsider"}
	for _, r := range roles {
		users = append(users, r.name)
	}

	for _, typ := range []string{"contractor", "invoice"} {
		for _, user := range users {
			t.Run("K3_"+typ+"_"+user, func(t *testing.T) {
				got := mustLookup(t, client, typ, "view", user)
				if w := want[typ][user]; !slices.Equal(got, w) {
					t.Errorf("lookup %s#view for user:%s = %v, want %v", typ, user, got, w)
				}
			})
		}
	}
}

// mustLookup lists, sorted, the ids of the resources of type typ on which
// user holds permission.
func mustLookup(tb testing.TB, client v1.PermissionsServiceClient, typ, permission, user string) []string {
	tb.Helper()

	stream, err := client.LookupResources(tb.Context(), &v1.LookupResourcesRequest{
		Consistency:        &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}},
		ResourceObjectType: typ,
		Permission:         permission,
		Subject:            &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: user}},
	})
	if err != nil {
		tb.Fatalf("lookup: %v", err)
	}
	var ids []string
	for {
		res, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			tb.Fatalf("lookup: %v", err)
		}
		ids = append(ids, res.GetResourceObjectId())
	}
	slices.Sort(ids)
	return ids
}

// mustWrite applies updates to the development context and moves it to the
// new revision, as a backend's write followed by a fully consistent check.
func mustWrite(tb testing.TB, dc *development.DevContext, updates ...tuple.RelationshipUpdate) {
	tb.Helper()

	rev, err := dc.DataLayer.ReadWriteTx(dc.Ctx, func(ctx context.Context, rwt datalayer.ReadWriteTransaction) error {
		return rwt.WriteRelationships(ctx, updates)
	})
	if err != nil {
		tb.Fatalf("write: %v", err)
	}
	dc.Revision = rev
}

// TestRuleCoverage proves that every rule of domain.md that concerns
// permissions is named by the matrix or by validation.yaml.
func TestRuleCoverage(t *testing.T) {
	var named strings.Builder
	for _, r := range roles {
		named.WriteString(strings.ReplaceAll(r.rules, "_", " ") + " ")
	}
	for _, c := range matrix {
		named.WriteString(strings.ReplaceAll(c.name, "_", " ") + " ")
	}
	named.WriteString("X1 K2 K3 R7 ") // TestMatrix/X1_outsider, TestK2LiftingTheFlag, TestK3LookupMatchesCheck, TestR7LiftingTheDesignation
	yaml, err := os.ReadFile(validationFile)
	if err != nil {
		t.Fatal(err)
	}
	named.Write(yaml)

	found := map[string]bool{}
	for _, id := range ruleID.FindAllString(named.String(), -1) {
		found[id] = true
	}
	for _, id := range strings.Fields(`
		O3 O4 O5
		S2 S3 S4 S5 S6 S7
		R1 R2 R3 R4 R5 R6 R7
		T1 T2 T4 T5
		K1 K2 K3
		C1 C2 C3 C4 C5 C6 C7 C8 C9 C10 C11 C12 C13 C14 C15 C16 C17 C18
		X1`) {
		if !found[id] {
			t.Errorf("rule %s is named by no matrix row and no assertion", id)
		}
	}
}
