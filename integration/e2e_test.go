package integration_test

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse/client"
	"github.com/gatehouse-authz/gatehouse/integration"
)

// TestEndToEnd runs one suite against every way Gatehouse runs: embedded
// SpiceDB in the gatehouse process, and the Gatehouse image in front of
// SpiceDB in a container.
func TestEndToEnd(t *testing.T) {
	t.Run("embedded", func(t *testing.T) {
		gh := integration.MustGatehouseProcess(t, MustBinary(t), nil)
		runSuite(t, gh)
	})
	t.Run("container", func(t *testing.T) {
		sdb := integration.MustSpiceDB(t)
		gh := integration.MustGatehouse(t, sdb)
		runSuite(t, gh)
	})
}

// suffix makes the ids of one run unique, so that runs on a shared
// datastore do not meet.
func suffix(tb testing.TB) string {
	tb.Helper()
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// MustErrorCode fails the test unless err is a *client.Error with status
// and code, and returns it.
func MustErrorCode(tb testing.TB, err error, status int, code string) (e *client.Error) {
	tb.Helper()
	if !errors.As(err, &e) {
		tb.Fatalf("err = %v, want a %d %s", err, status, code)
	}
	if e.Status != status || e.Code != code {
		tb.Fatalf("err = %v, want a %d %s", e, status, code)
	}
	return e
}

// MustCheck fails the test unless the check answers want.
func MustCheck(tb testing.TB, c *client.Client, resource, permission, subject string, want bool) {
	tb.Helper()
	res, err := c.Check(tb.Context(), client.CheckRequest{Resource: resource, Permission: permission, Subject: subject})
	if err != nil {
		tb.Fatalf("check %s %s %s: %v", resource, permission, subject, err)
	}
	if res.Allowed != want {
		tb.Fatalf("check %s %s %s = %v, want %v", resource, permission, subject, res.Allowed, want)
	}
}

// runSuite is the end-to-end suite: every call goes through client/ to a
// real Gatehouse on a real SpiceDB.
func runSuite(t *testing.T, gh *integration.Gatehouse) {
	ops := gh.Client()
	id := suffix(t)

	t.Run("schema", func(t *testing.T) {
		s, err := ops.Schema(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, def := range []string{"definition organisation", "definition contractor", "definition change_request"} {
			if !strings.Contains(s, def) {
				t.Errorf("schema lacks %q", def)
			}
		}
	})

	t.Run("authentication", func(t *testing.T) {
		_, err := client.New(gh.URL(), "wrong-key").Schema(t.Context())
		_ = MustErrorCode(t, err, http.StatusUnauthorized, client.EUNAUTHENTICATED)
	})

	org := "rel_" + id
	orgRef := "organisation:" + org
	contractor := "contractor:rc_" + id

	t.Run("relationships_and_checks", func(t *testing.T) {
		ctx := t.Context()
		// The raw endpoint writes only on an organisation that exists (X4, O2).
		if _, err := ops.As("user:olga").CreateOrganisation(ctx, org, "E2E "+id); err != nil {
			t.Fatal(err)
		}
		w, err := ops.Touch(ctx, "e2e setup", orgRef+"#administrator@user:bob", orgRef+"#cis_processor@user:carol")
		if err != nil {
			t.Fatal(err)
		}
		if w.ZedToken == "" {
			t.Fatal("write answered no zedToken")
		}
		// contractor#organisation changes only through the contractor endpoint (K1, X4).
		ct, err := ops.As("user:bob").CreateContractor(ctx, org, client.Contractor{ID: strings.TrimPrefix(contractor, "contractor:")})
		if err != nil {
			t.Fatal(err)
		}
		w.ZedToken = ct.ZedToken
		// At least as fresh as the write, through a derived client.
		res, err := ops.WithConsistency(client.AtLeastAsFresh(w.ZedToken)).Check(ctx, client.CheckRequest{Resource: contractor, Permission: "view", Subject: "user:bob"})
		if err != nil || !res.Allowed || res.ZedToken == "" {
			t.Fatalf("check after write = %+v, %v; want allowed with a zedToken", res, err)
		}
		// Read-your-writes without a token, and X1 for an outsider.
		MustCheck(t, ops, contractor, "view", "user:carol", true)
		MustCheck(t, ops, contractor, "view", "user:mallory", false)
		MustCheck(t, ops, orgRef, "edit_details", "user:bob", true)
		MustCheck(t, ops, orgRef, "edit_details", "user:carol", false)

		bulk, err := ops.CheckBulk(ctx, []client.CheckRequest{
			{Resource: contractor, Permission: "view", Subject: "user:bob"},
			{Resource: contractor, Permission: "view", Subject: "user:mallory"},
			{Resource: "contractor:", Permission: "view", Subject: "user:bob"},
		}, client.FullyConsistent())
		if err != nil {
			t.Fatal(err)
		}
		if len(bulk.Results) != 3 || !bulk.Results[0].Allowed || bulk.Results[1].Allowed || bulk.Results[2].Error == nil || bulk.Results[2].Error.Code != client.EINVALID {
			t.Errorf("bulk results = %+v", bulk.Results)
		}

		rels, err := ops.ReadRelationships(ctx, client.RelationshipFilter{Resource: orgRef})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(rels.Relationships, orgRef+"#administrator@user:bob") {
			t.Errorf("relationships of %s = %v", orgRef, rels.Relationships)
		}
	})

	t.Run("lookup_and_explain", func(t *testing.T) {
		ctx := t.Context()
		var found []string
		for r, err := range ops.AllResources(ctx, client.LookupResourcesRequest{ResourceType: "contractor", Permission: "view", Subject: "user:carol"}) {
			if err != nil {
				t.Fatal(err)
			}
			found = append(found, r)
		}
		if !slices.Contains(found, contractor) {
			t.Errorf("carol's contractors = %v, want %s among them", found, contractor)
		}
		subs, err := ops.LookupSubjects(ctx, client.LookupSubjectsRequest{Resource: orgRef, Permission: "edit_details", SubjectType: "user"})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(subs.Subjects, []string{"user:bob", "user:olga"}) {
			t.Errorf("edit_details subjects = %v, want [user:bob user:olga] (the administrator and the owner)", subs.Subjects)
		}
		ex, err := ops.Explain(ctx, client.CheckRequest{Resource: contractor, Permission: "view", Subject: "user:bob"})
		if err != nil {
			t.Fatal(err)
		}
		if !ex.Allowed || len(ex.Paths) == 0 || !slices.Contains(ex.Paths[0], orgRef+"#administrator@user:bob") {
			t.Errorf("explain = %+v, want a path through %s#administrator@user:bob", ex, orgRef)
		}
	})

	t.Run("guarded_and_bad_input", func(t *testing.T) {
		ctx := t.Context()
		_, err := ops.Touch(ctx, "", orgRef+"#owner@user:bob")
		_ = MustErrorCode(t, err, http.StatusUnprocessableEntity, client.ERULE)
		_, err = ops.Touch(ctx, "", contractor+"#admin_only@user:*")
		_ = MustErrorCode(t, err, http.StatusBadRequest, client.EINVALID)
		_, err = ops.Check(ctx, client.CheckRequest{Resource: "contractor:c.1", Permission: "view", Subject: "user:bob"})
		if e := MustErrorCode(t, err, http.StatusBadRequest, client.EINVALID); e.Field != "resource" {
			t.Errorf("field = %q, want resource", e.Field)
		}
		MustCheck(t, ops, orgRef, "delete", "user:bob", false)
	})

	t.Run("delete_relationship", func(t *testing.T) {
		if _, err := ops.Delete(t.Context(), "e2e teardown", orgRef+"#administrator@user:bob"); err != nil {
			t.Fatal(err)
		}
		MustCheck(t, ops, orgRef, "edit_details", "user:bob", false)
	})

	t.Run("organisation", func(t *testing.T) { runOrganisationSuite(t, gh, id) })
}

// runOrganisationSuite drives the admin endpoints: an organisation, its
// roles, contractors and a change request, each acting for a person.
func runOrganisationSuite(t *testing.T, gh *integration.Gatehouse, id string) {
	ctx := t.Context()
	org := "acme_" + id
	orgRef := "organisation:" + org
	ops := gh.Client()
	alice := gh.Client(client.WithActor("alice"))
	bob, mallory, mc := alice.As("bob"), alice.As("mallory"), alice.As("mc")

	o, err := alice.CreateOrganisation(ctx, org, "Acme Ltd")
	if err != nil {
		t.Fatal(err)
	}
	if o.ID != org || o.Owner != "user:alice" {
		t.Errorf("created %+v, want owner user:alice (O1)", o)
	}
	_, err = alice.CreateOrganisation(ctx, org, "Again")
	_ = MustErrorCode(t, err, http.StatusConflict, client.ECONFLICT)

	got, err := alice.GetOrganisation(ctx, org)
	if err != nil || got.Name != "Acme Ltd" || got.Owner != "user:alice" {
		t.Errorf("get = %+v, %v", got, err)
	}
	_, err = mallory.GetOrganisation(ctx, org)
	_ = MustErrorCode(t, err, http.StatusForbidden, client.EFORBIDDEN)
	MustCheck(t, ops, orgRef, "delete", "user:alice", true)

	t.Run("roles", func(t *testing.T) {
		for user, role := range map[string]string{"bob": "administrator", "dave": "cis_processor", "mc": "it_admin"} {
			if _, err := alice.GrantRole(ctx, org, user, role); err != nil {
				t.Fatalf("grant %s %s: %v", user, role, err)
			}
		}
		members, err := alice.Members(ctx, org)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(members, func(m client.Member) bool { return m.User == "user:bob" })
		if i < 0 || !slices.Contains(members[i].Roles, "administrator") {
			t.Errorf("members = %+v, want bob as administrator", members)
		}
		MustCheck(t, ops, orgRef, "edit_details", "user:bob", true)
		// T2, T3: an administrator may not name a security admin.
		_, err = bob.GrantRole(ctx, org, "dave", "security_admin")
		_ = MustErrorCode(t, err, http.StatusForbidden, client.EFORBIDDEN)
		MustCheck(t, ops, orgRef, "delegate_alternate_security_admin", "user:dave", false)
	})

	t.Run("contractors", func(t *testing.T) {
		c := "ac_" + id
		if _, err := bob.CreateContractor(ctx, org, client.Contractor{ID: c, Name: "Northwind", AdminOnly: true}); err != nil {
			t.Fatal(err)
		}
		MustCheck(t, ops, "contractor:"+c, "view", "user:bob", true)
		MustCheck(t, ops, "contractor:"+c, "view", "user:dave", false) // K2
		open := false
		if _, err := bob.PatchContractor(ctx, c, client.ContractorPatch{AdminOnly: &open}); err != nil {
			t.Fatal(err)
		}
		MustCheck(t, ops, "contractor:"+c, "view", "user:dave", true) // K2: at once
		if _, err := alice.CreateInvoice(ctx, org, client.Invoice{ID: "inv_" + id, Amount: "120.00", Currency: "GBP"}); err != nil {
			t.Fatal(err)
		}
		MustCheck(t, ops, "invoice:inv_"+id, "view", "user:bob", true)
		MustCheck(t, ops, "invoice:inv_"+id, "view", "user:dave", false) // R5
	})

	t.Run("change_request", func(t *testing.T) {
		if _, err := alice.SetDesignation(ctx, org, "mc", "main_contact", ""); err != nil {
			t.Fatal(err)
		}
		cr, err := bob.FileChangeRequest(ctx, org, client.NewChangeRequest{ID: "cr_" + id, Kind: "public_facing", Target: "page:pricing"})
		if err != nil {
			t.Fatal(err)
		}
		if cr.Status != client.StatusPending || cr.Tier != "main_contact" || !slices.Equal(cr.Authorisers, []string{"user:mc"}) || !slices.Equal(cr.ApprovalsNeeded, []string{"authorisation"}) {
			t.Errorf("filed %+v, want pending on main_contact user:mc (C4)", cr)
		}
		_, err = mallory.AuthoriseChangeRequest(ctx, cr.ID, "no")
		_ = MustErrorCode(t, err, http.StatusForbidden, client.EFORBIDDEN)
		cr, err = mc.AuthoriseChangeRequest(ctx, cr.ID, "fine")
		if err != nil {
			t.Fatal(err)
		}
		if cr.Status != client.StatusAuthorised || len(cr.ApprovalsNeeded) != 0 {
			t.Errorf("after authorisation %+v, want authorised", cr)
		}
		again, err := bob.GetChangeRequest(ctx, cr.ID)
		if err != nil || again.Status != client.StatusAuthorised {
			t.Errorf("get = %+v, %v", again, err)
		}
	})

	t.Run("ownership_and_delete", func(t *testing.T) {
		own, err := alice.TransferOwnership(ctx, org, "bob", "e2e")
		if err != nil || own.Owner != "user:bob" {
			t.Fatalf("transfer = %+v, %v", own, err)
		}
		MustCheck(t, ops, orgRef, "delete", "user:alice", false) // O4
		MustCheck(t, ops, orgRef, "delete", "user:bob", true)
		_, err = alice.DeleteOrganisation(ctx, org, "")
		_ = MustErrorCode(t, err, http.StatusForbidden, client.EFORBIDDEN)
		w, err := bob.DeleteOrganisation(ctx, org, "")
		if err != nil {
			t.Fatal(err)
		}
		MustCheck(t, ops, orgRef, "member", "user:bob", false) // O3
		// The delete's token, from its 204, reads the deletion anywhere.
		if w.ZedToken == "" {
			t.Error("delete answered no Gatehouse-Zed-Token")
		}
		res, err := ops.Check(ctx, client.CheckRequest{Resource: orgRef, Permission: "member", Subject: "user:alice", Consistency: client.AtLeastAsFresh(w.ZedToken)})
		if err != nil || res.Allowed {
			t.Errorf("alice member after delete at its token = %+v, %v", res, err)
		}
		_, err = bob.GetOrganisation(ctx, org)
		if client.ErrorCode(err) != client.ENOTFOUND && client.ErrorCode(err) != client.EFORBIDDEN {
			t.Errorf("get after delete: %v, want 404 or 403", err)
		}
	})
}
