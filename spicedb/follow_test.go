package spicedb

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/audit"
	"github.com/gatehouse-authz/gatehouse/integration"
	"github.com/gatehouse-authz/gatehouse/proxy"
	"github.com/gatehouse-authz/gatehouse/schema"
)

// watchedReplica is one replica of watchedReplicas: its Store behind the
// decision cache (proxy.Cached, kept by the Store's Feed) as a replica
// serves, the Store itself (s), and the count of the checks and lookups
// it sent to SpiceDB (those its cache did not answer).
type watchedReplica struct {
	*proxy.Cached
	s              *SpiceDB
	sent, lookedUp *atomic.Int64
}

// watchedReplicas starts one embedded SpiceDB on memory and n Stores over
// its gRPC API only, as remote replicas are: each follows the Watch
// stream through its own audit consumer, with its own decision cache.
func watchedReplicas(t *testing.T, n int) []watchedReplica {
	t.Helper()
	return watchedReplicasOn(t, n, "memory")
}

// watchedReplicasOn is watchedReplicas over SpiceDB on datastore
// ("memory", or a Postgres URI).
func watchedReplicasOn(t *testing.T, n int, datastore string) []watchedReplica {
	t.Helper()
	emb, err := StartEmbedded(t.Context(), EmbeddedConfig{Datastore: datastore})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emb.Close() })
	var opts []Option
	if datastore == "memory" {
		// The memory datastore's writes, one at a time (WithSerialWrites).
		opts = append(opts, WithSerialWrites(new(sync.Mutex)))
	}
	out := make([]watchedReplica, n)
	for i := range out {
		sent, lookedUp := new(atomic.Int64), new(atomic.Int64)
		s := New(emb.Conn, append(opts, WithObserver(func(m string, _ time.Duration, _ error) {
			switch m {
			case "CheckPermission":
				sent.Add(1)
			case "LookupResources":
				lookedUp.Add(1)
			}
		}))...)
		if s.follow == nil {
			t.Fatal("a Store over SpiceDB's API alone follows no stream")
		}
		cached := proxy.NewCached(s, s.Feed())
		if err := cached.WriteSchema(t.Context(), schema.Text); err != nil {
			t.Fatal(err)
		}
		c, err := StartAudit(context.Background(), s, audit.NewMemory(1000), AuditConfig{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Stop)
		out[i] = watchedReplica{cached, s, sent, lookedUp}
	}
	for _, r := range out {
		waitFor(t, "the replica follows its stream", func() bool { return r.s.Following().Current })
	}
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10 s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func mustRel(t *testing.T, r string) gatehouse.Relationship {
	t.Helper()
	rel, err := gatehouse.ParseRelationship("x", r)
	if err != nil {
		t.Fatal(err)
	}
	return rel
}

// check asks r, with the caller's token tok ("": none), and returns the
// answer and how many checks r sent to SpiceDB for it.
func (r watchedReplica) check(t *testing.T, tok, res, perm, sub string) (bool, int64) {
	t.Helper()
	obj, err := gatehouse.ParseObject("resource", res)
	if err != nil {
		t.Fatal(err)
	}
	before := r.sent.Load()
	ctx := t.Context()
	if tok != "" {
		ctx = gatehouse.WithCallerToken(ctx, tok)
	}
	got, err := r.Check(ctx, gatehouse.CheckRequest{Resource: obj, Permission: perm, Subject: gatehouse.User(sub)})
	if err != nil {
		t.Fatal(err)
	}
	return got.Allowed, r.sent.Load() - before
}

// lookup asks r for the contractors sub may view, with the caller's
// token tok ("": none), limit (0: all), and returns their ids, sorted, and
// how many lookups r sent to SpiceDB for it.
func (r watchedReplica) lookup(t *testing.T, tok, sub string, limit int) ([]string, int64) {
	t.Helper()
	before := r.lookedUp.Load()
	ctx := t.Context()
	if tok != "" {
		ctx = gatehouse.WithCallerToken(ctx, tok)
	}
	got, err := r.LookupResources(ctx, gatehouse.LookupResourcesRequest{ResourceType: "contractor", Permission: "view", Subject: gatehouse.User(sub), Limit: limit})
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{}
	for _, o := range got.Resources {
		ids = append(ids, o.ID)
	}
	slices.Sort(ids)
	return ids, r.lookedUp.Load() - before
}

// adminOnly is contractor id's admin-only flag (K2), a wildcard.
func adminOnly(id string) gatehouse.Relationship {
	return gatehouse.Relationship{Resource: gatehouse.Object{Type: "contractor", ID: id}, Relation: "admin_only", Subject: gatehouse.Wildcard("user")}
}

// caughtUp waits until r's snapshot is at least as new as tok and the
// change that moved it has been told (its cache reads again only then).
func (r watchedReplica) caughtUp(t *testing.T, tok string) {
	t.Helper()
	waitFor(t, "the replica's snapshot reaches the token", func() bool {
		if r.s.snapshotFor(gatehouse.WithCallerToken(t.Context(), tok), gatehouse.Consistency{}) == "" {
			return false
		}
		begun, told := r.s.changes.counts()
		return begun == told
	})
}

func (r watchedReplica) write(t *testing.T, ups ...gatehouse.Update) string {
	t.Helper()
	tok, err := r.Write(t.Context(), gatehouse.Write{Updates: ups})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestWatchedCacheAcrossReplicas (issue 20 items 1 and 2; O1's owner):
// replica B answers a repeated check from its cache; a change through
// replica A to a relation the check cannot read leaves it cached; a change
// it can read is seen by B with A's token at once, and without a token as
// soon as B's stream brings it, and the cache never answers from before it.
func TestWatchedCacheAcrossReplicas(t *testing.T) {
	rs := watchedReplicas(t, 2)
	a, b := rs[0], rs[1]
	tok := a.write(t, gatehouse.Update{Relationship: mustRel(t, "organisation:acme#owner@user:olivia")})

	if ok, _ := b.check(t, tok, "organisation:acme", "delete", "olivia"); !ok {
		t.Fatal("B, with A's token, does not see olivia's ownership")
	}
	// That answer may have gone past the snapshot (B's stream had not
	// brought A's write yet); once it has, the next is at the snapshot.
	b.caughtUp(t, tok)
	b.check(t, tok, "organisation:acme", "delete", "olivia")
	if ok, n := b.check(t, "", "organisation:acme", "delete", "olivia"); !ok || n != 0 {
		t.Fatalf("B again: allowed %v, %d sent to SpiceDB; want allowed from the cache", ok, n)
	}

	// An invoice's organisation: organisation#delete reads no invoice relation.
	tok = a.write(t, gatehouse.Update{Relationship: mustRel(t, "invoice:i1#organisation@organisation:acme")})
	b.caughtUp(t, tok)
	if ok, n := b.check(t, tok, "organisation:acme", "delete", "olivia"); !ok || n != 0 {
		t.Fatalf("after a change it cannot read: allowed %v, %d sent; want allowed from the cache", ok, n)
	}

	// The owner moves: B with A's token sees it at once.
	tok = a.write(t,
		gatehouse.Update{Op: gatehouse.Delete, Relationship: mustRel(t, "organisation:acme#owner@user:olivia")},
		gatehouse.Update{Relationship: mustRel(t, "organisation:acme#owner@user:adam")})
	if ok, _ := b.check(t, tok, "organisation:acme", "delete", "olivia"); ok {
		t.Fatal("B, with the token of the transfer, still lets olivia delete acme")
	}
	if ok, _ := b.check(t, tok, "organisation:acme", "delete", "adam"); !ok {
		t.Fatal("B, with the token of the transfer, does not let adam delete acme")
	}
	// Without a token, once B's snapshot has it, from the cache again.
	b.caughtUp(t, tok)
	if ok, _ := b.check(t, "", "organisation:acme", "delete", "olivia"); ok {
		t.Fatal("B without a token, once its snapshot has the transfer, lets olivia delete acme")
	}
	b.check(t, "", "organisation:acme", "delete", "adam")
	if ok, n := b.check(t, "", "organisation:acme", "delete", "adam"); !ok || n != 0 {
		t.Fatalf("B again: allowed %v, %d sent; want allowed from the cache", ok, n)
	}
}

// TestWatchedLookupAcrossReplicas (issue 20 item 4; K2, R5): replica B
// answers a repeated lookup whole from its lookup cache; a change through
// A that contractor#view cannot read leaves it kept; one it can read (a
// new contractor, the admin-only flag, the viewer's role) is seen by B
// with A's token at once, and without one once B's stream brings it; a
// limit smaller than the kept answer, and a cursor, go to SpiceDB.
func TestWatchedLookupAcrossReplicas(t *testing.T) {
	rs := watchedReplicas(t, 2)
	a, b := rs[0], rs[1]
	tok := a.write(t,
		gatehouse.Update{Relationship: mustRel(t, "organisation:acme#cis_processor@user:carla")},
		gatehouse.Update{Relationship: mustRel(t, "contractor:c1#organisation@organisation:acme")},
		gatehouse.Update{Relationship: mustRel(t, "contractor:c2#organisation@organisation:acme")},
		gatehouse.Update{Relationship: mustRel(t, "contractor:c3#organisation@organisation:acme")},
		gatehouse.Update{Relationship: adminOnly("c3")})
	b.caughtUp(t, tok)
	want := []string{"c1", "c2"}
	if ids, _ := b.lookup(t, tok, "carla", 0); !slices.Equal(ids, want) {
		t.Fatalf("B: carla may view %v, want %v", ids, want)
	}
	if ids, n := b.lookup(t, "", "carla", 10); !slices.Equal(ids, want) || n != 0 {
		t.Fatalf("B again: %v with %d lookups sent to SpiceDB; want %v from the cache", ids, n, want)
	}
	if _, n := b.lookup(t, "", "carla", 1); n != 1 {
		t.Fatalf("B with a limit under the kept answer sent %d lookups, want 1", n)
	}

	// An invoice's organisation: contractor#view reads no invoice relation.
	tok = a.write(t, gatehouse.Update{Relationship: mustRel(t, "invoice:i1#organisation@organisation:acme")})
	b.caughtUp(t, tok)
	if ids, n := b.lookup(t, tok, "carla", 0); !slices.Equal(ids, want) || n != 0 {
		t.Fatalf("after a change it cannot read: %v, %d sent; want %v from the cache", ids, n, want)
	}

	// Each change below is one contractor#view reads; B with A's token
	// sees it at once, and so does B without one once its stream has it.
	for _, step := range []struct {
		what string
		ups  []gatehouse.Update
		want []string
	}{
		{"a new contractor", []gatehouse.Update{{Relationship: mustRel(t, "contractor:c4#organisation@organisation:acme")}}, []string{"c1", "c2", "c4"}},
		{"c1 made admin-only (K2)", []gatehouse.Update{{Relationship: adminOnly("c1")}}, []string{"c2", "c4"}},
		{"carla made an administrator", []gatehouse.Update{{Relationship: mustRel(t, "organisation:acme#administrator@user:carla")}}, []string{"c1", "c2", "c3", "c4"}},
		{"carla's roles taken away", []gatehouse.Update{
			{Op: gatehouse.Delete, Relationship: mustRel(t, "organisation:acme#administrator@user:carla")},
			{Op: gatehouse.Delete, Relationship: mustRel(t, "organisation:acme#cis_processor@user:carla")},
		}, []string{}},
	} {
		tok = a.write(t, step.ups...)
		if ids, _ := b.lookup(t, tok, "carla", 0); !slices.Equal(ids, step.want) {
			t.Fatalf("%s: B with A's token says carla may view %v, want %v", step.what, ids, step.want)
		}
		b.caughtUp(t, tok)
		if ids, _ := b.lookup(t, "", "carla", 0); !slices.Equal(ids, step.want) {
			t.Fatalf("%s: B without a token, once its snapshot has it, says %v, want %v", step.what, ids, step.want)
		}
		if ids, n := b.lookup(t, "", "carla", 0); !slices.Equal(ids, step.want) || n != 0 {
			t.Fatalf("%s: B again: %v, %d sent; want %v from the cache", step.what, ids, n, step.want)
		}
	}
	if b.LookupHits() == 0 {
		t.Fatal("B answered no lookup from its cache")
	}
}

// TestWatchedCacheExpiry (T5; issue 20 item 2): an expiring role written
// through A is cached by B while it holds, and B stops counting it at its
// expiry with no write, having learnt the expiration from its stream.
func TestWatchedCacheExpiry(t *testing.T) {
	rs := watchedReplicas(t, 2)
	a, b := rs[0], rs[1]
	expires := time.Now().Add(2 * time.Second)
	role := mustRel(t, "organisation:acme#cis_processor@user:carla")
	role.ExpiresAt = &expires
	tok := a.write(t,
		gatehouse.Update{Relationship: mustRel(t, "contractor:c1#organisation@organisation:acme")},
		gatehouse.Update{Relationship: role})
	if ok, _ := b.check(t, tok, "contractor:c1", "view", "carla"); !ok {
		t.Fatal("B: carla's live role does not let her view c1")
	}
	// That answer may have gone past the snapshot (B's stream had not
	// brought A's write yet); once it has, the next is at the snapshot.
	b.caughtUp(t, tok)
	b.check(t, tok, "contractor:c1", "view", "carla")
	if ok, n := b.check(t, "", "contractor:c1", "view", "carla"); !ok || n != 0 {
		t.Fatalf("B again: allowed %v, %d sent; want allowed from the cache", ok, n)
	}
	time.Sleep(time.Until(expires) + 50*time.Millisecond)
	if ok, _ := b.check(t, "", "contractor:c1", "view", "carla"); ok {
		t.Fatal("B: carla's role counts after its expiry")
	}
	if ok, _ := a.check(t, "", "contractor:c1", "view", "carla"); ok {
		t.Fatal("A: carla's role counts after its expiry")
	}
}

// TestRevisionOrder: the revisions the follower orders, as SpiceDB encodes
// them in ZedTokens.
func TestRevisionOrder(t *testing.T) {
	num := func(whole, frac int64) revision { return revision{whole: whole, frac: frac, numeric: true} }
	pg := func(xmin uint64, xmax uint64, xips ...uint64) revision {
		snap := &pgSnapshot{xmin: xmin, xmax: xmin + xmax}
		for _, d := range xips {
			snap.xips = append(snap.xips, xmin+d)
		}
		return revision{pg: snap}
	}
	for _, c := range []struct {
		name string
		a, b revision
		want bool
	}{
		{"a later number", num(2, 0), num(1, 0), true},
		{"an earlier number", num(1, 0), num(2, 0), false},
		{"the same number", num(1, 5), num(1, 5), true},
		{"a later logical clock", num(1, 6), num(1, 5), true},
		{"postgres: a later snapshot", pg(10, 5), pg(10, 2), true},
		{"postgres: an earlier snapshot", pg(10, 2), pg(10, 5), false},
		{"postgres: the same", pg(10, 3, 1), pg(10, 3, 1), true},
		{"postgres: b sees a transaction a has in progress", pg(10, 5, 2), pg(10, 5), false},
		{"postgres: a sees what b has in progress", pg(10, 5), pg(10, 5, 2), true},
		{"postgres: b's xmax past a's, all in progress in b", pg(10, 3), pg(10, 5, 3, 4), true},
		{"postgres: b's xmax past a's, one visible", pg(10, 3), pg(10, 5, 3), false},
		{"two datastores", num(5, 0), pg(10, 1), false},
		{"unknown", revision{}, num(1, 0), false},
	} {
		if got := c.a.atLeast(c.b); got != c.want {
			t.Errorf("%s: atLeast = %v, want %v", c.name, got, c.want)
		}
	}
}

// TestCoalescedChecks (issue 20; R5, K2): checks at the snapshot that come
// while coalesceAfter are in flight go to SpiceDB together, and each
// answer is its own: the same as SpiceDB's fully consistent one, and a
// check SpiceDB refuses (a permission the schema lacks) refuses only
// that check.
func TestCoalescedChecks(t *testing.T) {
	r := watchedReplicas(t, 1)[0]
	var ups []gatehouse.Update
	const contractors, users = 30, 8
	for i := range contractors {
		c := fmt.Sprintf("c%d", i)
		ups = append(ups, gatehouse.Update{Relationship: mustRel(t, "contractor:"+c+"#organisation@organisation:acme")})
		if i%3 == 0 {
			ups = append(ups, gatehouse.Update{Relationship: adminOnly(c)})
		}
	}
	for u := range users {
		role := []string{"cis_processor", "administrator", "billing_manager"}[u%3]
		ups = append(ups, gatehouse.Update{Relationship: mustRel(t, fmt.Sprintf("organisation:acme#%s@user:u%d", role, u))})
	}
	r.caughtUp(t, r.write(t, ups...))
	type result struct {
		req     gatehouse.CheckRequest
		allowed bool
		err     error
	}
	results := make(chan result, contractors*users+users)
	var wg sync.WaitGroup
	for i := range contractors {
		for u := range users {
			wg.Go(func() {
				req := gatehouse.CheckRequest{Resource: gatehouse.Object{Type: "contractor", ID: fmt.Sprintf("c%d", i)}, Permission: "view", Subject: gatehouse.User(fmt.Sprintf("u%d", u))}
				res, err := r.Check(t.Context(), req)
				results <- result{req, res.Allowed, err}
			})
		}
	}
	for u := range users {
		wg.Go(func() {
			req := gatehouse.CheckRequest{Resource: gatehouse.Object{Type: "contractor", ID: "c1"}, Permission: "pilot", Subject: gatehouse.User(fmt.Sprintf("u%d", u))}
			_, err := r.Check(t.Context(), req)
			results <- result{req, false, err}
		})
	}
	wg.Wait()
	close(results)
	for res := range results {
		if res.req.Permission == "pilot" {
			if gatehouse.ErrorCode(res.err) != gatehouse.EINVALID {
				t.Errorf("%s#pilot@%s: %v, want a refusal", res.req.Resource, res.req.Subject, res.err)
			}
			continue
		}
		if res.err != nil {
			t.Fatalf("%s#view@%s: %v", res.req.Resource, res.req.Subject, res.err)
		}
		res.req.Consistency = gatehouse.Consistency{FullyConsistent: true}
		want, err := r.Check(t.Context(), res.req)
		if err != nil {
			t.Fatal(err)
		}
		if res.allowed != want.Allowed {
			t.Errorf("%s#view@%s: allowed %v, SpiceDB fully consistent says %v", res.req.Resource, res.req.Subject, res.allowed, want.Allowed)
		}
	}
	bulks, checks := r.s.Coalesced()
	t.Logf("%d checks went in %d bulk calls", checks, bulks)
	if bulks == 0 {
		t.Error("no check was coalesced: the test proved nothing")
	}
}

// TestChecksFromKeptLookup (issue 20 item 2; K2, R5): a kept whole lookup
// answers its subject's checks of the type, with SpiceDB's answer for each
// resource, in it or not; a subject with no kept lookup is checked by
// SpiceDB, and a miss fetches nothing; a change the permission reads retires the
// kept answer at once for a caller with the writer's token, and a resource
// it changed is never answered from before it.
func TestChecksFromKeptLookup(t *testing.T) {
	rs := watchedReplicas(t, 2)
	a, b := rs[0], rs[1]
	ups := []gatehouse.Update{
		{Relationship: mustRel(t, "organisation:acme#cis_processor@user:carla")},
		{Relationship: mustRel(t, "organisation:acme#administrator@user:adam")},
		{Relationship: mustRel(t, "organisation:globex#administrator@user:gina")},
		{Relationship: adminOnly("c3")},
	}
	for i := 1; i <= 8; i++ {
		org := "acme"
		if i > 6 {
			org = "globex"
		}
		ups = append(ups, gatehouse.Update{Relationship: mustRel(t, fmt.Sprintf("contractor:c%d#organisation@organisation:%s", i, org))})
	}
	tok := a.write(t, ups...)
	b.caughtUp(t, tok)
	mayView := func(sub string) map[string]bool {
		switch sub {
		case "carla":
			return map[string]bool{"c1": true, "c2": true, "c4": true, "c5": true, "c6": true}
		case "adam":
			return map[string]bool{"c1": true, "c2": true, "c3": true, "c4": true, "c5": true, "c6": true}
		}
		return nil
	}

	// carla's lookup is kept; each of her checks is answered from it.
	if _, n := b.lookup(t, "", "carla", 0); n != 1 {
		t.Fatalf("carla's lookup sent %d, want 1", n)
	}
	for i := 1; i <= 8; i++ {
		c := fmt.Sprintf("c%d", i)
		if ok, n := b.check(t, "", "contractor:"+c, "view", "carla"); ok != mayView("carla")[c] || n != 0 {
			t.Errorf("carla views %s: %v with %d checks sent; want %v from her kept lookup", c, ok, n, mayView("carla")[c])
		}
	}
	if got := b.LookupCheckHits(); got != 8 {
		t.Errorf("checks answered from kept lookups: %d, want 8", got)
	}

	// adam has no kept lookup: his checks go to SpiceDB (a miss fetches
	// nothing), until his lookup is made; then they are answered from it.
	looked := b.lookedUp.Load()
	for i := 1; i <= 4; i++ {
		c := fmt.Sprintf("c%d", i)
		if ok, n := b.check(t, "", "contractor:"+c, "view", "adam"); ok != mayView("adam")[c] || n != 1 {
			t.Errorf("adam views %s: %v with %d sent; want %v from SpiceDB", c, ok, n, mayView("adam")[c])
		}
	}
	if n := b.lookedUp.Load() - looked; n != 0 {
		t.Errorf("adam's checks fetched %d lookups, want none", n)
	}
	if _, n := b.lookup(t, "", "adam", 0); n != 1 {
		t.Fatalf("adam's lookup sent %d, want 1", n)
	}
	for i := 1; i <= 8; i++ {
		c := fmt.Sprintf("c%d", i)
		if ok, n := b.check(t, "", "contractor:"+c, "view", "adam"); ok != mayView("adam")[c] || n != 0 {
			t.Errorf("adam views %s: %v with %d sent; want %v from his kept lookup", c, ok, n, mayView("adam")[c])
		}
	}

	// c1 made admin-only (K2) through A: B with A's token answers from
	// SpiceDB, never from carla's kept lookup, and so without a token once
	// its stream has the change.
	tok = a.write(t, gatehouse.Update{Relationship: adminOnly("c1")})
	if ok, n := b.check(t, tok, "contractor:c1", "view", "carla"); ok || n != 1 {
		t.Fatalf("with the writer's token carla views admin-only c1: %v with %d sent; want false from SpiceDB", ok, n)
	}
	b.caughtUp(t, tok)
	if ok, _ := b.check(t, "", "contractor:c1", "view", "carla"); ok {
		t.Fatal("once the stream has it, carla still views admin-only c1")
	}
	if ok, _ := b.check(t, "", "contractor:c1", "view", "adam"); !ok {
		t.Fatal("adam, an administrator, no longer views admin-only c1")
	}
}

// TestWatchedCacheLearnsAnotherReplicasSchema (issue 20 item 2): a schema
// written through replica A reaches replica B's cache on B's stream, so
// B stops serving answers kept under the old schema's rules, on memory
// and on Postgres. Here the new schema makes organisation#delete the IT
// manager's instead of the owner's; B had olivia's delete, as owner,
// cached, and the change that follows the schema touches nothing delete
// reads.
func TestWatchedCacheLearnsAnotherReplicasSchema(t *testing.T) {
	t.Run("memory", func(t *testing.T) { learnsAnotherReplicasSchema(t, "memory") })
	t.Run("postgres", func(t *testing.T) {
		learnsAnotherReplicasSchema(t, integration.MustPostgresDatabase(t))
	})
}

func learnsAnotherReplicasSchema(t *testing.T, datastore string) {
	rs := watchedReplicasOn(t, 2, datastore)
	a, b := rs[0], rs[1]
	tok := a.write(t, gatehouse.Update{Relationship: mustRel(t, "organisation:acme#owner@user:olivia")})
	b.caughtUp(t, tok)
	b.check(t, "", "organisation:acme", "delete", "olivia")
	if ok, n := b.check(t, "", "organisation:acme", "delete", "olivia"); !ok || n != 0 {
		t.Fatalf("B again: allowed %v, %d sent; want allowed from the cache", ok, n)
	}
	changed := strings.Replace(schema.Text, "permission delete = owner", "permission delete = it_manager", 1)
	if changed == schema.Text {
		t.Fatal("the schema no longer says `permission delete = owner`: update this test")
	}
	if err := a.WriteSchema(t.Context(), changed); err != nil {
		t.Fatal(err)
	}
	tok = a.write(t, gatehouse.Update{Relationship: mustRel(t, "invoice:i1#organisation@organisation:acme")})
	b.caughtUp(t, tok)
	if ok, _ := b.check(t, "", "organisation:acme", "delete", "olivia"); ok {
		t.Fatal("B, its stream past A's new schema, still lets the owner delete acme from its cache")
	}
}
