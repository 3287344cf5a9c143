package proxy_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/proxy"
	"github.com/gatehouse-authz/gatehouse/schema"
	"github.com/gatehouse-authz/gatehouse/spicedb"
)

// handFeed is a ChangeFeed the test drives: the Store's reads are at its
// head (embedded memory), and a change is begun and told by hand, so the
// test can put one at any point of a read. midRead, when set, runs inside
// Snapshot: after the cache read its generation, before it reads its answer.
type handFeed struct {
	begun, told atomic.Uint64
	mu          sync.Mutex
	fs          []func(gatehouse.Change)
	midRead     func()
}

func (f *handFeed) Snapshot(context.Context, gatehouse.Consistency) (gatehouse.Snapshot, bool) {
	if f.midRead != nil {
		f.midRead()
	}
	return gatehouse.Snapshot{Token: "hand"}, true
}

func (f *handFeed) Changes() (uint64, uint64) {
	told := f.told.Load()
	return f.begun.Load(), told
}

func (f *handFeed) OnChange(fn func(gatehouse.Change)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fs = append(f.fs, fn)
}

func (f *handFeed) begin() { f.begun.Add(1) }

func (f *handFeed) tell(ch gatehouse.Change) {
	f.mu.Lock()
	fs := f.fs
	f.mu.Unlock()
	for _, fn := range fs {
		fn(ch)
	}
	f.told.Add(1)
}

// TestCachedServesNothingAcrossAnUntoldChange (issue 20 items 2 and 6;
// K3): while a change is under way (the snapshot has moved past it, its
// generations not yet), the cache neither serves an answer nor keeps one:
// a read that began before the change and reads its answer after is
// computed at the Store, and so is every read until the change is told.
// A cache that read its key first and served whatever it found would
// answer carla's view from before her role was taken away.
func TestCachedServesNothingAcrossAnUntoldChange(t *testing.T) {
	emb, err := spicedb.StartEmbedded(t.Context(), spicedb.EmbeddedConfig{Datastore: "memory"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emb.Close() })
	var computed atomic.Int64
	store := spicedb.New(emb.Conn, append(emb.Options(), spicedb.WithObserver(func(m string, _ time.Duration, _ error) {
		if m == "CheckEmbedded" {
			computed.Add(1)
		}
	}))...)
	if err := store.WriteSchema(t.Context(), schema.Text); err != nil {
		t.Fatal(err)
	}
	feed := &handFeed{}
	c := proxy.NewCached(store, feed)
	must := func(r string) gatehouse.Relationship {
		rel, err := gatehouse.ParseRelationship("x", r)
		if err != nil {
			t.Fatal(err)
		}
		return rel
	}
	role := must("organisation:acme#cis_processor@user:carla")
	if _, err := store.Write(t.Context(), gatehouse.Write{Updates: []gatehouse.Update{
		{Relationship: must("contractor:c1#organisation@organisation:acme")}, {Relationship: role},
	}}); err != nil {
		t.Fatal(err)
	}
	view := gatehouse.CheckRequest{Resource: gatehouse.Object{Type: "contractor", ID: "c1"}, Permission: "view", Subject: gatehouse.User("carla")}
	check := func(what string, want bool, wantComputed int64) {
		t.Helper()
		before := computed.Load()
		res, err := c.Check(t.Context(), view)
		if err != nil {
			t.Fatal(err)
		}
		if res.Allowed != want || computed.Load()-before != wantComputed {
			t.Fatalf("%s: allowed %v, %d computed; want %v, %d", what, res.Allowed, computed.Load()-before, want, wantComputed)
		}
	}
	check("the first check", true, 1)
	check("again: from the cache", true, 0)

	// The role goes (behind the feed's back, as a write through another
	// replica would), and the feed begins its change in the middle of the
	// next read: after its generation, before its answer.
	if _, err := store.Write(t.Context(), gatehouse.Write{Updates: []gatehouse.Update{{Op: gatehouse.Delete, Relationship: role}}}); err != nil {
		t.Fatal(err)
	}
	feed.midRead = func() { feed.midRead = nil; feed.begin() }
	check("a read the change began in the middle of", false, 1)
	check("a read while the change is untold", false, 1)
	feed.tell(gatehouse.Change{Relations: []gatehouse.TypeRelation{{Type: "organisation", Relation: "cis_processor"}}})
	check("the first read after it is told", false, 1)
	check("again: from the cache", false, 0)
	if got := c.Hits(); got != 2 {
		t.Errorf("%d answers from the cache, want 2", got)
	}
}
