package workflow_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/audit"
	"github.com/gatehouse-authz/gatehouse/dryrun"
	"github.com/gatehouse-authz/gatehouse/schema"
	"github.com/gatehouse-authz/gatehouse/spicedb"
	"github.com/gatehouse-authz/gatehouse/workflow"
)

// staff is provider staff in every fixture (platform:provider#staff).
var staff = gatehouse.User("stella")

// fixture is a workflow.Service over a real Store: SpiceDB embedded
// in-process on its memory datastore, with the schema written and nothing
// else but provider staff.
type fixture struct {
	t     *testing.T
	svc   *workflow.Service
	store gatehouse.Store
	trail gatehouse.AuditTrail
}

// mustFixture starts the fixture; its SpiceDB stops with the test.
func mustFixture(t *testing.T) fixture {
	t.Helper()
	store, trail := mustStore(t)
	f := fixture{t: t, svc: workflow.New(store, workflow.WithScratch(scratch)), store: store, trail: trail}
	f.touch(gatehouse.Relationship{Resource: gatehouse.Provider, Relation: gatehouse.RelStaff, Subject: staff})
	return f
}

// mustStore starts an embedded SpiceDB on memory with the schema written
// and the audit trail its Watch stream brings back (X2); both stop with tb.
func mustStore(tb testing.TB) (gatehouse.Store, gatehouse.AuditTrail) {
	tb.Helper()
	emb, err := spicedb.StartEmbedded(tb.Context(), spicedb.EmbeddedConfig{Datastore: "memory"})
	if err != nil {
		tb.Fatalf("starting embedded SpiceDB: %v", err)
	}
	tb.Cleanup(func() { _ = emb.Close() })
	store := spicedb.New(emb.Conn, emb.Options()...)
	if err := store.WriteSchema(tb.Context(), schema.Text); err != nil {
		tb.Fatalf("writing schema: %v", err)
	}
	trail := audit.NewMemory(audit.DefaultMemoryEvents)
	consumer, err := spicedb.StartAudit(context.Background(), store, trail, spicedb.AuditConfig{})
	if err != nil {
		tb.Fatalf("starting the audit consumer: %v", err)
	}
	tb.Cleanup(consumer.Stop)
	return store, trail
}

// scratches are the scratch SpiceDBs of every test, kept started as
// cmd/gatehouse keeps them.
var scratches = spicedb.NewScratchPool(schema.Text, 4)

// scratch weighs a transition of a change request before its one write,
// as cmd/gatehouse wires it.
func scratch(ctx context.Context, rels []gatehouse.Relationship) (dryrun.Scratch, error) {
	return scratches.Start(ctx, rels)
}

// in returns the fixture for the test t, a subtest of the one that made it.
func (f fixture) in(t *testing.T) fixture {
	f.t = t
	return f
}

// touch writes rels straight into the Store, as setup.
func (f fixture) touch(rels ...gatehouse.Relationship) {
	f.t.Helper()
	w := gatehouse.Write{Audit: gatehouse.Audit{Action: "test_setup"}}
	for _, r := range rels {
		w.Updates = append(w.Updates, gatehouse.Update{Op: gatehouse.Touch, Relationship: r})
	}
	if _, err := f.store.Write(f.t.Context(), w); err != nil {
		f.t.Fatalf("setup: %v", err)
	}
}

// team is an organisation made through the workflows: its owner created
// it and granted each named user a role.
type team struct {
	f  fixture
	id string
}

// user is the user of the team named name ("<org>-<name>").
func (tm team) user(name string) gatehouse.Subject { return gatehouse.User(tm.id + "-" + name) }

// owner is the team's owner.
func (tm team) owner() gatehouse.Subject { return tm.user(gatehouse.RoleOwner) }

// ref is the team's organisation.
func (tm team) ref() gatehouse.Object { return gatehouse.OrganisationRef(tm.id) }

// mustTeam creates organisation id owned by "<id>-owner" and has the owner
// grant every role in roles to the user named after it ("<id>-<role>").
func (f fixture) mustTeam(id string, roles ...string) team {
	f.t.Helper()
	tm := team{f: f, id: id}
	if _, err := f.svc.CreateOrganisation(f.t.Context(), tm.owner(), id, "Org "+id); err != nil {
		f.t.Fatalf("creating %s: %v", id, err)
	}
	for _, role := range roles {
		tm.mustGrant(tm.owner(), tm.user(role), role)
	}
	return tm
}

// mustGrant has actor grant role to user.
func (tm team) mustGrant(actor, user gatehouse.Subject, role string) {
	tm.f.t.Helper()
	if _, err := tm.f.svc.GrantRole(tm.f.t.Context(), actor, workflow.RoleGrant{Org: tm.id, User: user, Role: role}); err != nil {
		tm.f.t.Fatalf("%s granting %s to %s: %v", actor, role, user, err)
	}
}

// mustDesignate has actor give user the designation.
func (tm team) mustDesignate(actor, user gatehouse.Subject, designation string) {
	tm.f.t.Helper()
	if _, err := tm.f.svc.SetDesignation(tm.f.t.Context(), actor, tm.id, user, designation, "test setup"); err != nil {
		tm.f.t.Fatalf("%s designating %s %s: %v", actor, user, designation, err)
	}
}

// holders lists who holds relation on the team's organisation, sorted.
func (tm team) holders(relation string) []string {
	tm.f.t.Helper()
	rels, _, err := tm.f.store.ReadRelationships(tm.f.t.Context(), gatehouse.Filter{ResourceType: gatehouse.TypeOrganisation, ResourceID: tm.id, Relation: relation}, gatehouse.Consistency{FullyConsistent: true})
	if err != nil {
		tm.f.t.Fatal(err)
	}
	out := []string{}
	for _, r := range rels {
		out = append(out, r.Subject.String())
	}
	slices.Sort(out)
	return out
}

// allowed checks sub#permission on res, fully consistent.
func (f fixture) allowed(res gatehouse.Object, permission string, sub gatehouse.Subject) bool {
	f.t.Helper()
	r, err := f.store.Check(f.t.Context(), gatehouse.CheckRequest{Resource: res, Permission: permission, Subject: sub, Consistency: gatehouse.Consistency{FullyConsistent: true}})
	if err != nil {
		f.t.Fatal(err)
	}
	return r.Allowed
}

// relationshipsOf lists every relationship of obj.
func (f fixture) relationshipsOf(obj gatehouse.Object) []gatehouse.Relationship {
	f.t.Helper()
	rels, _, err := f.store.ReadRelationships(f.t.Context(), gatehouse.Filter{ResourceType: obj.Type, ResourceID: obj.ID}, gatehouse.Consistency{FullyConsistent: true})
	if err != nil {
		f.t.Fatal(err)
	}
	return rels
}

// want says what a refusal must carry; empty fields are not compared.
type want struct{ code, rule, permission, field string }

// mustRefuse fails t unless err is a *gatehouse.Error as w describes.
func mustRefuse(t *testing.T, err error, w want) {
	t.Helper()
	var e *gatehouse.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want a %s refusal", err, w.code)
	}
	for _, c := range []struct{ name, got, want string }{
		{"code", e.Code, w.code}, {"rule", e.Rule, w.rule}, {"permission", e.Permission, w.permission}, {"field", e.Field, w.field},
	} {
		if c.want != "" && c.got != c.want {
			t.Errorf("%s = %q, want %q (%v)", c.name, c.got, c.want, err)
		}
	}
}

// mustOK fails t when err is not nil.
func mustOK(t *testing.T, err error, what string, args ...any) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", fmt.Sprintf(what, args...), err)
	}
}
