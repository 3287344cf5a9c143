package workflow_test

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/workflow"
)

// TestAccessPaths proves the paths of an access review on a small team:
// each permission names the roles that grant it (S6: the SA's through
// security_admin), an expiring role says until when (T5), and R7 takes
// the financial permissions away whatever the role.
func TestAccessPaths(t *testing.T) {
	f := mustFixture(t)
	ctx := t.Context()
	tm := f.mustTeam("rev", gatehouse.RoleSecurityAdmin, gatehouse.RoleITManager)
	until := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
	temp := tm.user("temp")
	_, err := f.svc.GrantRole(ctx, tm.owner(), workflow.RoleGrant{Org: tm.id, User: temp, Role: gatehouse.RoleAdministrator, ExpiresAt: &until, Reason: "T5"})
	mustOK(t, err, "granting an expiring role")
	tm.mustDesignate(tm.owner(), tm.user(gatehouse.RoleITManager), gatehouse.DesignationNoFinancialAccess)

	page, err := f.svc.Access(ctx, tm.owner(), tm.id, 0, "")
	mustOK(t, err, "access review")
	rows := map[string]workflow.Access{}
	for _, r := range page.Rows {
		rows[r.User.ID+" "+r.Permission+" "+r.On.String()] = r
	}
	org := tm.ref().String()
	viaOf := func(user gatehouse.Subject, perm string) []string {
		r, ok := rows[user.ID+" "+perm+" "+org]
		if !ok {
			return nil
		}
		out := []string{}
		for _, v := range r.Via {
			out = append(out, v.Resource.String()+"#"+v.Relation)
		}
		return out
	}
	for _, c := range []struct {
		user gatehouse.Subject
		perm string
		want []string
	}{
		{tm.owner(), gatehouse.PermDelete, []string{org + "#owner"}},
		{tm.user(gatehouse.RoleSecurityAdmin), gatehouse.PermEditDetails, []string{org + "#security_admin"}},
		{tm.user(gatehouse.RoleSecurityAdmin), gatehouse.PermDelete, nil},
		{tm.user(gatehouse.RoleITManager), gatehouse.PermViewReports, []string{org + "#it_manager"}},
		{tm.user(gatehouse.RoleITManager), gatehouse.PermViewBilling, nil}, // R7
		{temp, gatehouse.PermEditDetails, []string{org + "#administrator"}},
	} {
		if got := viaOf(c.user, c.perm); !slices.Equal(got, c.want) {
			t.Errorf("%s %s via %v, want %v", c.user, c.perm, got, c.want)
		}
	}
	if r := rows[temp.ID+" "+gatehouse.PermEditDetails+" "+org]; r.Until == nil || !r.Until.Equal(until) {
		t.Errorf("T5: the expiring administrator's edit_details until %v, want %v", r.Until, until)
	}
	if r := rows[tm.owner().ID+" "+gatehouse.PermDelete+" "+org]; r.Until != nil {
		t.Errorf("the owner's delete until %v, want none", r.Until)
	}
	_, err = f.svc.Access(ctx, temp, tm.id, 0, "")
	mustOK(t, err, "an administrator holds view_reports")
	_, err = f.svc.Access(ctx, gatehouse.User("outsider"), tm.id, 0, "")
	mustRefuse(t, err, want{code: gatehouse.EFORBIDDEN, permission: gatehouse.PermViewReports})
	_, err = f.svc.Access(ctx, staff, tm.id, 0, "")
	mustOK(t, err, "provider staff review")
}

// TestAccessHeldMeasured times the two ways to learn what a page of
// members holds on an organisation's contractors and invoices: one bulk
// check over members × objects (what Access does), or a LookupResources
// per member and permission. GATEHOUSE_ACCESS_MEASURE=members,objects
// sizes it (default 20 members, 50 contractors and 50 invoices).
func TestAccessHeldMeasured(t *testing.T) {
	members, objects := 20, 50
	if v := os.Getenv("GATEHOUSE_ACCESS_MEASURE"); v != "" {
		if _, err := fmt.Sscanf(v, "%d,%d", &members, &objects); err != nil {
			t.Fatalf("GATEHOUSE_ACCESS_MEASURE=%q: want members,objects", v)
		}
	}
	objects = min(objects, workflow.MaxAccessObjects)
	f := mustFixture(t)
	ctx := t.Context()
	tm := f.mustTeam("big")
	roles := []string{gatehouse.RoleAdministrator, gatehouse.RoleITManager, gatehouse.RoleCISProcessor, gatehouse.RoleFinanceAdmin, gatehouse.RoleBillingManager}
	var rels []gatehouse.Relationship
	users := []gatehouse.Subject{tm.owner()}
	for i := range members {
		u := tm.user("m" + strconv.Itoa(i))
		users = append(users, u)
		rels = append(rels, gatehouse.Relationship{Resource: tm.ref(), Relation: roles[i%len(roles)], Subject: u})
	}
	for i := range objects {
		for _, typ := range []string{gatehouse.TypeContractor, gatehouse.TypeInvoice} {
			rels = append(rels, gatehouse.Relationship{Resource: gatehouse.Object{Type: typ, ID: fmt.Sprintf("big-%s-%d", typ, i)}, Relation: gatehouse.RelOrganisation, Subject: gatehouse.Subject{Object: tm.ref()}})
		}
	}
	f.touch(rels...)

	start := time.Now()
	var rows []workflow.Access
	for cursor := ""; ; {
		page, err := f.svc.Access(ctx, tm.owner(), tm.id, workflow.AccessMaxLimit, cursor)
		mustOK(t, err, "access review")
		rows = append(rows, page.Rows...)
		if cursor = page.Cursor; cursor == "" {
			break
		}
	}
	review := time.Since(start)

	// LookupResources, per member and permission, narrowed to the organisation.
	start = time.Now()
	lookedUp := 0
	for _, u := range users {
		for _, typ := range []string{gatehouse.TypeContractor, gatehouse.TypeInvoice} {
			perms, err := workflow.PermissionsOf(typ)
			mustOK(t, err, "permissions of %s", typ)
			for _, p := range perms {
				res, err := f.store.LookupResources(ctx, gatehouse.LookupResourcesRequest{ResourceType: typ, Permission: p, Subject: u, Consistency: gatehouse.Consistency{FullyConsistent: true}})
				mustOK(t, err, "lookup")
				lookedUp += len(res.Resources)
			}
		}
	}
	lookup := time.Since(start)

	// The bulk check alone, as Access makes it, 1000 items a call.
	start = time.Now()
	var reqs []gatehouse.CheckRequest
	for _, u := range users {
		for i := range objects {
			for _, typ := range []string{gatehouse.TypeContractor, gatehouse.TypeInvoice} {
				perms, _ := workflow.PermissionsOf(typ)
				for _, p := range perms {
					reqs = append(reqs, gatehouse.CheckRequest{Resource: gatehouse.Object{Type: typ, ID: fmt.Sprintf("big-%s-%d", typ, i)}, Permission: p, Subject: u})
				}
			}
		}
	}
	bulkHeld := 0
	for len(reqs) > 0 {
		n := min(len(reqs), 1000)
		res, _, err := f.store.CheckBulk(ctx, reqs[:n], gatehouse.Consistency{FullyConsistent: true})
		mustOK(t, err, "bulk check")
		for _, r := range res {
			if r.Allowed {
				bulkHeld++
			}
		}
		reqs = reqs[n:]
	}
	bulk := time.Since(start)
	objectRows := 0
	for _, r := range rows {
		if r.On.Type != gatehouse.TypeOrganisation {
			objectRows++
		}
	}
	if objectRows != lookedUp || objectRows != bulkHeld {
		t.Errorf("the review holds %d contractor and invoice rows, LookupResources %d, the bulk check %d", objectRows, lookedUp, bulkHeld)
	}
	t.Logf("%d members × %d contractors and %d invoices: the review (bulk check and paths) %v for %d rows; LookupResources alone %v, bulk check alone %v",
		len(users), objects, objects, review, len(rows), lookup, bulk)
}

// TestSpreadsheetSafe: a cell a spreadsheet would read as a formula is
// exported as text; every other cell as it is.
func TestSpreadsheetSafe(t *testing.T) {
	in := []string{"=HYPERLINK(\"http://x\")", "+1", "-2", "@SUM(A1)", "\tx", "\rx", "olivia", "", "#truncated", "a=b", "user:x"}
	want := []string{"'=HYPERLINK(\"http://x\")", "'+1", "'-2", "'@SUM(A1)", "'\tx", "'\rx", "olivia", "", "#truncated", "a=b", "user:x"}
	if got := workflow.SpreadsheetSafe(in); !slices.Equal(got, want) {
		t.Errorf("SpreadsheetSafe(%q) = %q, want %q", in, got, want)
	}
}
