package workflow_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/workflow"
)

// TestProperty_O2_S1_K1_T1_T4_invariants_hold_under_random_operations
// writes random mixes of raw and endpoint operations by random actors,
// and after every batch reads every relationship and asserts each
// invariant of domain.md that relationships show: O2 (one owner per
// organisation), S1 (at most one SA and one ASA, different users), K1
// (every contractor and invoice in exactly one existing organisation),
// T1/T4 (no designation or exception held by a non-member), O3 (nothing
// left of a deleted organisation), and X4 (the raw guard refuses every
// owned relation). Refusals are expected; a violation is not.
func TestProperty_O2_S1_K1_T1_T4_invariants_hold_under_random_operations(t *testing.T) {
	const opsPerSeed, batch = 600, 50
	for _, seed := range []uint64{1, 2, 3, 4, 5} {
		t.Run(fmt.Sprint("seed_", seed), func(t *testing.T) {
			w := &world{f: mustFixture(t), rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
			for i := range opsPerSeed {
				w.step(t)
				if (i+1)%batch == 0 || i == opsPerSeed-1 {
					if v := w.violations(t); len(v) > 0 {
						t.Fatalf("seed %d, after operation %d: %d violations:\n  %s\nlast operations:\n  %s",
							seed, i+1, len(v), strings.Join(v, "\n  "), strings.Join(w.log[max(0, len(w.log)-batch):], "\n  "))
					}
				}
			}
			t.Logf("seed %d: %d operations, %d applied, %d refused", seed, opsPerSeed, w.applied, opsPerSeed-w.applied)
		})
	}
}

// world draws operations from small pools, so that they collide: a few
// organisation ids, users and global contractor ids.
type world struct {
	f       fixture
	rng     *rand.Rand
	log     []string
	applied int
	serial  int
}

var (
	propOrgs        = []string{"pa", "pb", "pc", "pd"}
	propUsers       = []string{"u0", "u1", "u2", "u3", "u4", "u5", "u6"}
	propContractors = []string{"k0", "k1", "k2", "k3", "k4", "k5"}
)

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// user is a random user of the pool, now and then provider staff.
func (w *world) user() gatehouse.Subject {
	if w.rng.IntN(12) == 0 {
		return staff
	}
	return gatehouse.User(pick(w.rng, propUsers))
}

// actor acts on org: mostly someone who holds something there, so that
// many operations apply, otherwise anyone.
func (w *world) actor(t *testing.T, org string) gatehouse.Subject {
	if w.rng.IntN(4) > 0 {
		rels, _, err := w.f.store.ReadRelationships(t.Context(), gatehouse.Filter{ResourceType: gatehouse.TypeOrganisation, ResourceID: org, SubjectType: gatehouse.TypeUser}, gatehouse.Consistency{})
		if err != nil {
			t.Fatal(err)
		}
		if len(rels) > 0 {
			return pick(w.rng, rels).Subject
		}
	}
	return w.user()
}

// step runs one random operation and records what it did.
func (w *world) step(t *testing.T) {
	ctx := t.Context()
	svc := w.f.svc
	org := pick(w.rng, propOrgs)
	actor := w.actor(t, org)
	user := w.user()
	w.serial++
	var what string
	var err error
	n := w.rng.IntN(100)
	if n >= 10 && w.rng.IntN(3) == 0 && !w.exists(t, org) {
		n = 0 // mostly act on organisations that exist
	}
	switch {
	case n < 10:
		what = fmt.Sprintf("%s creates %s", actor, org)
		_, err = svc.CreateOrganisation(ctx, actor, org, "Org "+org)
	case n < 30:
		g := workflow.RoleGrant{Org: org, User: user, Role: pick(w.rng, gatehouse.Roles()[1:])}
		g.PreviousBecomesAlternate = g.Role == gatehouse.RoleSecurityAdmin && w.rng.IntN(2) == 0
		what = fmt.Sprintf("%s grants %s %s in %s (previousBecomesAlternate %v)", actor, user, g.Role, org, g.PreviousBecomesAlternate)
		_, err = svc.GrantRole(ctx, actor, g)
	case n < 40:
		role := pick(w.rng, gatehouse.Roles()[1:])
		user = w.actor(t, org)
		what = fmt.Sprintf("%s revokes %s from %s in %s", actor, role, user, org)
		_, err = svc.RevokeRole(ctx, actor, org, user, role, "")
	case n < 45:
		user = w.actor(t, org)
		what = fmt.Sprintf("%s removes %s from %s", actor, user, org)
		_, err = svc.RemoveMember(ctx, actor, org, user, "")
	case n < 50:
		user = w.actor(t, org)
		what = fmt.Sprintf("%s transfers %s to %s", actor, org, user)
		_, err = svc.TransferOwnership(ctx, actor, org, user, "")
	case n < 60:
		d := pick(w.rng, gatehouse.Designations())
		if d == gatehouse.DesignationVerifiedDirector || d == gatehouse.DesignationUnavailableContact {
			actor = staff
		}
		if w.rng.IntN(4) == 0 {
			what = fmt.Sprintf("%s unsets %s of %s in %s", actor, d, user, org)
			_, err = svc.UnsetDesignation(ctx, actor, org, user, d, "test")
		} else {
			what = fmt.Sprintf("%s designates %s %s in %s", actor, user, d, org)
			_, err = svc.SetDesignation(ctx, actor, org, user, d, "test")
		}
	case n < 68:
		id := pick(w.rng, propContractors)
		what = fmt.Sprintf("%s creates contractor %s in %s", actor, id, org)
		_, err = svc.CreateContractor(ctx, actor, org, workflow.Contractor{ID: id, Name: "C " + id, AdminOnly: w.rng.IntN(2) == 0})
	case n < 74:
		id := pick(w.rng, propContractors)
		what = fmt.Sprintf("%s deletes contractor %s", actor, id)
		_, err = svc.DeleteContractor(ctx, actor, id, "")
	case n < 76:
		id := fmt.Sprint("inv", w.serial)
		what = fmt.Sprintf("%s creates invoice %s in %s", actor, id, org)
		_, err = svc.CreateInvoice(ctx, actor, org, workflow.Invoice{ID: id, Amount: "1.00", Currency: "GBP"})
	case n < 78:
		id := fmt.Sprint("cr", w.serial)
		what = fmt.Sprintf("%s files %s in %s", actor, id, org)
		_, err = svc.FileChangeRequest(ctx, actor, workflow.NewChangeRequest{ID: id, Organisation: org, Kind: gatehouse.KindStandard})
	case n < 84:
		e := workflow.Exception{Organisation: org, User: user, Kind: pick(w.rng, gatehouse.Kinds()[1:])}
		if w.rng.IntN(2) == 0 {
			e.Target = fmt.Sprint("page:p", w.rng.IntN(3))
		}
		what = fmt.Sprintf("%s grants %s an exception for %s %s in %s", actor, user, e.Kind, e.Target, org)
		_, err = svc.GrantException(ctx, actor, e, "")
	case n < 88:
		what = fmt.Sprintf("%s deletes %s", actor, org)
		_, err = svc.DeleteOrganisation(ctx, actor, org, "")
	default:
		what, err = w.raw(t, org, user)
	}
	if err == nil {
		w.applied++
		what += ": applied"
	} else {
		what += ": " + err.Error()
		if gatehouse.ErrorCode(err) == gatehouse.EINTERNAL || gatehouse.ErrorCode(err) == gatehouse.EUNAVAILABLE {
			t.Fatalf("%s", what)
		}
	}
	w.log = append(w.log, what)
}

// raw is one write through the raw relationship endpoint, exactly as the
// endpoint makes it (Service.WriteRaw, with a full key that is not a
// platform key). It tries owned relations too, which X4 must refuse, and
// free ones by touch and by delete, on objects that exist and on ones
// that do not: a raw delete of someone's last role takes what they held
// with it (T1, T4), and a raw touch on an organisation or contractor that
// does not exist is refused (O2, K1), which the invariants check.
func (w *world) raw(t *testing.T, org string, user gatehouse.Subject) (string, error) {
	o := gatehouse.OrganisationRef(org)
	c := gatehouse.ContractorRef(pick(w.rng, propContractors))
	label, err := gatehouse.EncodeLabel(map[string]string{"name": fmt.Sprint("raw", w.serial)})
	if err != nil {
		t.Fatal(err)
	}
	type cand struct {
		r    gatehouse.Relationship
		free bool
	}
	rel := func(res gatehouse.Object, relation string, sub gatehouse.Subject) gatehouse.Relationship {
		return gatehouse.Relationship{Resource: res, Relation: relation, Subject: sub}
	}
	cands := []cand{
		{r: rel(o, gatehouse.RoleOwner, user)},
		{r: rel(o, gatehouse.RoleSecurityAdmin, user)},
		{r: rel(o, gatehouse.RoleAlternateSecurityAdmin, user)},
		{r: rel(o, pick(w.rng, gatehouse.Designations()), user)},
		{r: rel(o, gatehouse.RelPlatform, gatehouse.Subject{Object: gatehouse.Provider})},
		{r: rel(c, gatehouse.RelOrganisation, gatehouse.Subject{Object: o})},
		{r: rel(c, gatehouse.RelAdminOnly, gatehouse.Wildcard(gatehouse.TypeUser))},
		{r: rel(gatehouse.InvoiceRef("inv1"), gatehouse.RelOrganisation, gatehouse.Subject{Object: o})},
		{r: rel(gatehouse.ChangeKindRef(org, gatehouse.KindService), gatehouse.RelException, user)},
		{r: rel(gatehouse.ChangeRequestRef("cr1"), gatehouse.RelAuthorisedBy, user)},
		{r: rel(gatehouse.Provider, gatehouse.RelStaff, user)},
		{r: rel(o, gatehouse.LabelRelation, gatehouse.Subject{Object: label}), free: true},
		{r: rel(o, pick(w.rng, []string{gatehouse.RoleAdministrator, gatehouse.RoleITManager, gatehouse.RoleITAdmin, gatehouse.RoleFinanceAdmin, gatehouse.RoleBillingManager, gatehouse.RoleCISProcessor}), user), free: true},
		{r: rel(c, gatehouse.LabelRelation, gatehouse.Subject{Object: label}), free: true},
	}
	pickd := pick(w.rng, cands)
	up := workflow.RawUpdate{Field: "touch[0]", Update: gatehouse.Update{Op: gatehouse.Touch, Relationship: pickd.r}}
	if w.rng.IntN(2) == 0 {
		up.Field, up.Op = "delete[0]", gatehouse.Delete
	}
	what := fmt.Sprintf("raw %s %s", up.Op, pickd.r)
	_, err = w.f.svc.WriteRaw(t.Context(), gatehouse.Subject{}, []workflow.RawUpdate{up}, "property test", false)
	switch code := gatehouse.ErrorCode(err); {
	case !pickd.free && (err == nil || code != gatehouse.ERULE && code != gatehouse.EFORBIDDEN):
		t.Fatalf("X4: %s: the raw endpoint let an owned relation through: %v", what, err)
	case pickd.free && err != nil && code != gatehouse.ENOTFOUND && code != gatehouse.ECONFLICT:
		t.Fatalf("%s: the raw endpoint refused a free relation: %v", what, err)
	}
	return what, err
}

// exists reports whether org has an owner.
func (w *world) exists(t *testing.T, org string) bool {
	rels, _, err := w.f.store.ReadRelationships(t.Context(), gatehouse.Filter{ResourceType: gatehouse.TypeOrganisation, ResourceID: org, Relation: gatehouse.RoleOwner}, gatehouse.Consistency{FullyConsistent: true})
	if err != nil {
		t.Fatal(err)
	}
	return len(rels) > 0
}

// violations reads every relationship and lists each broken invariant.
func (w *world) violations(t *testing.T) []string {
	read := func(typ string) []gatehouse.Relationship {
		rels, _, err := w.f.store.ReadRelationships(t.Context(), gatehouse.Filter{ResourceType: typ}, gatehouse.Consistency{FullyConsistent: true})
		if err != nil {
			t.Fatal(err)
		}
		return rels
	}
	var out []string
	bad := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }

	type orgState struct {
		owners, sas, asas []string
		members           map[string]bool
		designated        map[string][]string
	}
	orgs := map[string]*orgState{}
	for _, r := range read(gatehouse.TypeOrganisation) {
		st := orgs[r.Resource.ID]
		if st == nil {
			st = &orgState{members: map[string]bool{}, designated: map[string][]string{}}
			orgs[r.Resource.ID] = st
		}
		u := r.Subject.String()
		switch r.Relation {
		case gatehouse.RoleOwner:
			st.owners = append(st.owners, u)
		case gatehouse.RoleSecurityAdmin:
			st.sas = append(st.sas, u)
		case gatehouse.RoleAlternateSecurityAdmin:
			st.asas = append(st.asas, u)
		}
		if gatehouse.IsRole(r.Relation) {
			st.members[u] = true
		}
		if gatehouse.IsDesignation(r.Relation) {
			st.designated[u] = append(st.designated[u], r.Relation)
		}
	}
	exists := func(org string) bool { st := orgs[org]; return st != nil && len(st.owners) > 0 }
	for id, st := range orgs {
		if len(st.owners) != 1 {
			bad("O2/O3: organisation %s has owners %v (its relationships outlive it when none)", id, st.owners)
		}
		if len(st.sas) > 1 || len(st.asas) > 1 || (len(st.sas) == 1 && slices.Equal(st.sas, st.asas)) {
			bad("S1: organisation %s has SA %v and ASA %v", id, st.sas, st.asas)
		}
		for u, ds := range st.designated {
			if !st.members[u] {
				bad("T4: %s holds %v in %s without a role", u, ds, id)
			}
		}
	}
	for _, typ := range []string{gatehouse.TypeContractor, gatehouse.TypeInvoice, gatehouse.TypeChangeRequest} {
		byID := map[string][]string{}
		seen := map[string]bool{}
		for _, r := range read(typ) {
			seen[r.Resource.ID] = true
			if r.Relation == gatehouse.RelOrganisation {
				byID[r.Resource.ID] = append(byID[r.Resource.ID], r.Subject.ID)
			}
		}
		for id := range seen {
			switch in := byID[id]; {
			case len(in) != 1:
				bad("K1: %s:%s belongs to organisations %v", typ, id, in)
			case !exists(in[0]):
				bad("O3: %s:%s belongs to %s, which does not exist", typ, id, in[0])
			}
		}
	}
	for _, typ := range []string{gatehouse.TypeChangeKind, gatehouse.TypeChangeTarget} {
		for _, r := range read(typ) {
			org, _, _ := strings.Cut(r.Resource.ID, "/")
			switch {
			case !exists(org):
				bad("O3: %s outlives organisation %s", r, org)
			case !orgs[org].members[r.Subject.String()]:
				bad("T1: %s is an exception of a non-member of %s", r, org)
			}
		}
	}
	slices.Sort(out)
	return out
}
