package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/gatehouse-authz/gatehouse"
)

func testReadYourWrites(f *fixture) {
	org := gatehouse.Object{Type: "organisation", ID: f.id("org")}
	r := f.rel("%s#administrator@user:ada", org)
	for round := range 3 {
		f.touch(r)
		if !f.allowed(org, "member", gatehouse.User("ada")) {
			f.Fatalf("round %d: a check right after the write does not see it", round)
		}
		res, err := f.store.Check(f.Context(), gatehouse.CheckRequest{Resource: org, Permission: "member", Subject: gatehouse.User("ada")})
		if err != nil || res.ZedToken == "" {
			f.Fatalf("round %d: check after a write: %+v %v, want a ZedToken", round, res, err)
		}
		f.write(gatehouse.Write{Updates: updates(gatehouse.Delete, r)})
		if f.allowed(org, "member", gatehouse.User("ada")) {
			f.Fatalf("round %d: a check right after the delete does not see it", round)
		}
	}
}

func testReadYourWritesConcurrent(f *fixture) {
	const workers, rounds = 6, 4
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds)
	for w := range workers {
		wg.Go(func() {
			for i := range rounds {
				org := gatehouse.Object{Type: "organisation", ID: f.id(fmt.Sprintf("org%d_%d", w, i))}
				r := gatehouse.Relationship{Resource: org, Relation: "administrator", Subject: gatehouse.User("ada")}
				if _, err := f.store.Write(f.Context(), gatehouse.Write{Updates: updates(gatehouse.Touch, r)}); err != nil {
					errs <- err
					return
				}
				res, err := f.store.Check(f.Context(), gatehouse.CheckRequest{Resource: org, Permission: "member", Subject: gatehouse.User("ada")})
				if err != nil {
					errs <- err
					return
				}
				if !res.Allowed {
					errs <- fmt.Errorf("a check right after writing %s does not see it", r)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		f.Error(err)
	}
}

func testAtLeastAsFresh(f *fixture) {
	org := gatehouse.Object{Type: "organisation", ID: f.id("org")}
	tok := f.touch(f.rel("%s#administrator@user:ada", org))
	res, err := f.store.Check(f.Context(), gatehouse.CheckRequest{
		Resource: org, Permission: "member", Subject: gatehouse.User("ada"),
		Consistency: gatehouse.Consistency{AtLeastAsFresh: tok},
	})
	if err != nil || !res.Allowed || res.ZedToken == "" {
		f.Fatalf("check at least as fresh as the write: %+v %v", res, err)
	}
}

func testConsistencies(f *fixture) {
	org := gatehouse.Object{Type: "organisation", ID: f.id("org")}
	f.touch(f.rel("%s#administrator@user:ada", org))
	for name, c := range map[string]gatehouse.Consistency{
		"fully consistent": {FullyConsistent: true},
		"minimize latency": {MinimizeLatency: true},
	} {
		res, err := f.store.Check(f.Context(), gatehouse.CheckRequest{Resource: org, Permission: "member", Subject: gatehouse.User("ada"), Consistency: c})
		if err != nil || res.ZedToken == "" {
			f.Fatalf("%s: %+v %v", name, res, err)
		}
		if c.FullyConsistent && !res.Allowed {
			f.Fatalf("%s: a fully consistent check does not see the write", name)
		}
	}
}

func testArrowsAndExclusion(f *fixture) {
	org := f.id("org")
	flagged := gatehouse.Object{Type: "contractor", ID: f.id("flagged")}
	open := gatehouse.Object{Type: "contractor", ID: f.id("open")}
	inv := gatehouse.Object{Type: "invoice", ID: f.id("inv")}
	f.touch(
		f.rel("organisation:%s#administrator@user:ada", org),
		f.rel("organisation:%s#it_manager@user:ian", org),
		f.rel("%s#organisation@organisation:%s", flagged, org),
		f.rel("%s#organisation@organisation:%s", open, org),
		f.rel("%s#organisation@organisation:%s", inv, org),
		gatehouse.Relationship{Resource: flagged, Relation: "admin_only", Subject: gatehouse.Wildcard("user")},
	)
	for _, tc := range []struct {
		resource   gatehouse.Object
		permission string
		user       string
		want       bool
	}{
		{inv, "view", "ada", true},
		{inv, "view", "ian", true},
		{inv, "pay", "ada", false},
		{open, "view", "ada", true},
		{open, "view", "ian", true},
		{flagged, "view", "ada", true},
		{flagged, "view", "ian", false},
		{flagged, "view", "mallory", false},
	} {
		if got := f.allowed(tc.resource, tc.permission, gatehouse.User(tc.user)); got != tc.want {
			f.Errorf("%s#%s@user:%s = %v, want %v", tc.resource, tc.permission, tc.user, got, tc.want)
		}
	}
}

func testCheckErrors(f *fixture) {
	org := gatehouse.Object{Type: "organisation", ID: f.id("org")}
	tok := f.touch(f.rel("%s#administrator@user:ada", org))
	ada := gatehouse.User("ada")
	// An adapter may answer a check at the head revision another way than
	// one at a given token (the embedded one does): both must agree.
	for _, c := range []struct {
		name string
		c    gatehouse.Consistency
	}{{"default", gatehouse.Consistency{}}, {"at least as fresh", gatehouse.Consistency{AtLeastAsFresh: tok}}} {
		for _, tc := range []struct {
			name string
			req  gatehouse.CheckRequest
			code string
		}{
			{"unknown resource type", gatehouse.CheckRequest{Resource: gatehouse.Object{Type: "spaceship", ID: "s1"}, Permission: "view", Subject: ada}, gatehouse.EINVALID},
			{"unknown permission", gatehouse.CheckRequest{Resource: org, Permission: "pilot", Subject: ada}, gatehouse.EINVALID},
			{"context that is not JSON", gatehouse.CheckRequest{Resource: org, Permission: "member", Subject: ada, Context: map[string]any{"f": func() {}}}, gatehouse.EINVALID},
		} {
			tc.req.Consistency = c.c
			_, err := f.store.Check(f.Context(), tc.req)
			wantCode(f, c.name+" check with "+tc.name, err, tc.code)
		}
		// A subject of an unknown type never holds anything. SpiceDB's API
		// refuses it (EINVALID); its in-process engine, which the embedded
		// adapter asks at the head revision, answers no without looking the
		// type up. Both are safe; this is the one known divergence.
		res, err := f.store.Check(f.Context(), gatehouse.CheckRequest{
			Resource: org, Permission: "member", Consistency: c.c,
			Subject: gatehouse.Subject{Object: gatehouse.Object{Type: "spaceship", ID: "s1"}},
		})
		if err != nil {
			wantCode(f, c.name+" check of a subject of an unknown type", err, gatehouse.EINVALID)
		} else if res.Allowed {
			f.Fatalf("%s check of a subject of an unknown type is allowed", c.name)
		}
		ctx, cancel := context.WithCancel(f.Context())
		cancel()
		_, err = f.store.Check(ctx, gatehouse.CheckRequest{Resource: org, Permission: "member", Subject: ada, Consistency: c.c})
		wantCode(f, c.name+" check with a canceled context", err, gatehouse.ECANCELED)
	}
}

func testCheckBulk(f *fixture) {
	org := gatehouse.Object{Type: "organisation", ID: f.id("org")}
	inv := gatehouse.Object{Type: "invoice", ID: f.id("inv")}
	f.touch(f.rel("%s#finance_admin@user:fay", org), f.rel("%s#organisation@%s", inv, org))
	reqs := []gatehouse.CheckRequest{
		{Resource: inv, Permission: "pay", Subject: gatehouse.User("fay")},
		{Resource: inv, Permission: "approve", Subject: gatehouse.User("fay")},
		{Resource: org, Permission: "pilot", Subject: gatehouse.User("fay")},
		{Resource: org, Permission: "view_billing", Subject: gatehouse.User("fay")},
		{Resource: inv, Permission: "view", Subject: gatehouse.User("mallory")},
	}
	res, tok, err := f.store.CheckBulk(f.Context(), reqs, gatehouse.Consistency{})
	if err != nil {
		f.Fatal(err)
	}
	if tok == "" {
		f.Error("CheckBulk returned no ZedToken")
	}
	if len(res) != len(reqs) {
		f.Fatalf("%d results for %d checks", len(res), len(reqs))
	}
	for i, want := range []bool{true, false, false, true, false} {
		if i == 2 {
			wantCode(f, "item 2 (unknown permission)", res[i].Err, gatehouse.EINVALID)
			continue
		}
		if res[i].Err != nil || res[i].Allowed != want {
			f.Errorf("item %d (%s#%s@%s) = %+v, want allowed %v", i, reqs[i].Resource, reqs[i].Permission, reqs[i].Subject, res[i], want)
		}
	}
	_, _, err = f.store.CheckBulk(f.Context(), []gatehouse.CheckRequest{{Resource: org, Permission: "member", Subject: gatehouse.User("fay"), Context: map[string]any{"f": func() {}}}}, gatehouse.Consistency{})
	wantCode(f, "bulk check with a context that is not JSON", err, gatehouse.EINVALID)
}

// testRepeatedReadsSeeEveryWrite: a check and a lookup asked again and
// again between writes that are recorded (so that a Store which follows
// its changes has them in its snapshot when the write returns, and a
// decision cache in front of it answers the repeats) see each write at
// once, and the check answered from a kept lookup agrees (K2, R5).
func testRepeatedReadsSeeEveryWrite(f *fixture) {
	org, carla := f.id("org"), gatehouse.User(f.id("carla"))
	con := gatehouse.Object{Type: "contractor", ID: f.id("c")}
	f.touch(f.rel("%s#organisation@organisation:%s", con, org))
	role := gatehouse.Relationship{Resource: gatehouse.Object{Type: "organisation", ID: org}, Relation: "cis_processor", Subject: carla}
	for round := range 4 {
		op, want := gatehouse.Touch, true
		if round%2 == 1 {
			op, want = gatehouse.Delete, false
		}
		f.write(gatehouse.Write{
			Audit:   gatehouse.Audit{Actor: "user:olivia", Action: "grant_role", Organisation: org},
			Updates: updates(op, role),
		})
		for i := range 3 {
			res, err := f.store.LookupResources(f.Context(), gatehouse.LookupResourcesRequest{ResourceType: "contractor", Permission: "view", Subject: carla})
			if err != nil {
				f.Fatal(err)
			}
			if got := slices.Contains(objects(res.Resources), con.String()); got != want {
				f.Fatalf("round %d, lookup %d after the %s: %s listed %v, want %v", round, i, op, con, got, want)
			}
			if got := f.allowed(con, "view", carla); got != want {
				f.Fatalf("round %d, check %d after the %s: allowed %v, want %v", round, i, op, got, want)
			}
		}
	}
}
