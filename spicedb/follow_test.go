package spicedb

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/audit"
	"github.com/gatehouse-authz/gatehouse/schema"
)

// watchedReplica is one replica of watchedReplicas, with the count of
// the checks it sent to SpiceDB (those its cache did not answer).
type watchedReplica struct {
	*SpiceDB
	sent *atomic.Int64
}

// watchedReplicas starts one embedded SpiceDB on memory and n Stores over
// its gRPC API only, as remote replicas are: each follows the Watch
// stream through its own audit consumer, with its own decision cache.
func watchedReplicas(t *testing.T, n int) []watchedReplica {
	t.Helper()
	emb, err := StartEmbedded(t.Context(), EmbeddedConfig{Datastore: "memory"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emb.Close() })
	var writes sync.Mutex // the memory datastore's writes, one at a time (WithSerialWrites)
	out := make([]watchedReplica, n)
	for i := range out {
		sent := new(atomic.Int64)
		s := New(emb.Conn, WithSerialWrites(&writes), WithObserver(func(m string, _ time.Duration, _ error) {
			if m == "CheckPermission" {
				sent.Add(1)
			}
		}))
		if s.follow == nil || s.decided == nil || !s.decided.watched {
			t.Fatal("a Store over SpiceDB's API alone follows no stream")
		}
		if err := s.WriteSchema(t.Context(), schema.Text); err != nil {
			t.Fatal(err)
		}
		c, err := StartAudit(context.Background(), s, audit.NewMemory(1000), AuditConfig{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Stop)
		out[i] = watchedReplica{s, sent}
	}
	for _, r := range out {
		waitFor(t, "the replica follows its stream", func() bool { return r.Following().Current })
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

// caughtUp waits until r's snapshot is at least as new as tok.
func (r watchedReplica) caughtUp(t *testing.T, tok string) {
	t.Helper()
	waitFor(t, "the replica's snapshot reaches the token", func() bool {
		return r.snapshotFor(gatehouse.WithCallerToken(t.Context(), tok), gatehouse.Consistency{}) != ""
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

// TestReadersOfSchema: a change invalidates what can read it, and only that.
func TestReadersOfSchema(t *testing.T) {
	rd, err := readersOf(schema.Text)
	if err != nil {
		t.Fatal(err)
	}
	reads := func(perm, changed typeRel) bool {
		for _, g := range rd.of[changed] {
			if g == rd.gen[perm] {
				return true
			}
		}
		return false
	}
	for _, c := range []struct {
		perm, changed typeRel
		want          bool
	}{
		{typeRel{"organisation", "delete"}, typeRel{"organisation", "owner"}, true},
		{typeRel{"contractor", "view"}, typeRel{"organisation", "cis_processor"}, true},
		{typeRel{"contractor", "view"}, typeRel{"contractor", "organisation"}, true},
		{typeRel{"organisation", "delete"}, typeRel{"invoice", "organisation"}, false},
		{typeRel{"organisation", "owner"}, typeRel{"organisation", "owner"}, true},
	} {
		if got := reads(c.perm, c.changed); got != c.want {
			t.Errorf("%v reads %v: %v, want %v", c.perm, c.changed, got, c.want)
		}
	}
}
