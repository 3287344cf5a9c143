package spicedb

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/proxy"
	"github.com/gatehouse-authz/gatehouse/schema"
)

// TestDecisionCacheNeverStale interleaves writers that toggle one relationship
// each and checkers that read the answers it grants, on the embedded
// memory datastore with its decision cache. A check begun after a write
// returned must see that write; a check during which no write began must
// see exactly the last completed one. The cache must also have served
// some checks, or the test proves nothing.
func TestDecisionCacheNeverStale(t *testing.T) {
	s, computed := cachedStore(t)
	const writers, keysPer, checkers = 4, 2, 8
	const keys = writers * keysPer
	rel := func(format string, k int) gatehouse.Relationship {
		r, err := gatehouse.ParseRelationship("x", fmt.Sprintf(format, k, k))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	var setup gatehouse.Write
	// The toggled relation is platform#staff, read through two arrows by
	// change_request#override (organisation->provider_staff): here its
	// answers change only by the writers' toggles.
	for k := range keys {
		setup.Updates = append(setup.Updates,
			gatehouse.Update{Relationship: rel("change_request:c%d#organisation@organisation:o%d", k)},
			gatehouse.Update{Relationship: rel("organisation:o%d#platform@platform:p%d", k)})
	}
	if _, err := s.Write(t.Context(), setup); err != nil {
		t.Fatal(err)
	}
	// A key's version v counts its toggles: staff is held when v is odd.
	// began is the version of the write under way (or the last one), done
	// the version of the last write that returned.
	var began, done [keys]atomic.Int64
	start := time.Now()
	deadline := start.Add(3 * time.Second)
	// The writers write for 20 ms of every 30 and all rest for the other 10,
	// so that the cache, which a write empties, serves checks between
	// bursts of writes however slow the machine (run under load, writers
	// that never rested all at once left it no check to serve).
	const period, rest = 30 * time.Millisecond, 10 * time.Millisecond
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 1)) //nolint:gosec // test data
			for time.Now().Before(deadline) {
				if at := time.Since(start) % period; at >= period-rest {
					time.Sleep(period - at)
					continue
				}
				k := w*keysPer + rng.IntN(keysPer)
				v := began[k].Add(1)
				u := gatehouse.Update{Relationship: rel("platform:p%d#staff@user:u%d", k)}
				if v%2 == 0 {
					u.Op = gatehouse.Delete
				}
				if _, err := s.Write(t.Context(), gatehouse.Write{Updates: []gatehouse.Update{u}}); err != nil {
					t.Error(err)
					return
				}
				done[k].Store(v)
				time.Sleep(time.Duration(rng.IntN(3000)) * time.Microsecond)
			}
		})
	}
	var checks, strict atomic.Int64
	for c := range checkers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(c), 2)) //nolint:gosec // test data
			for time.Now().Before(deadline) {
				k := rng.IntN(keys)
				before := done[k].Load()
				res, err := s.Check(t.Context(), gatehouse.CheckRequest{
					Resource: gatehouse.Object{Type: "change_request", ID: fmt.Sprintf("c%d", k)}, Permission: "override", Subject: gatehouse.User(fmt.Sprintf("u%d", k)),
				})
				if err != nil {
					t.Error(err)
					return
				}
				after := began[k].Load()
				checks.Add(1)
				switch {
				case after == before:
					strict.Add(1)
					if res.Allowed != (before%2 == 1) {
						t.Errorf("key %d: allowed=%v after write %d returned and none began since", k, res.Allowed, before)
						return
					}
				case after == before+1 && res.Allowed != (before%2 == 1) && res.Allowed != (after%2 == 1):
					t.Errorf("key %d: allowed=%v matches neither write %d nor %d", k, res.Allowed, before, after)
					return
				}
			}
		})
	}
	wg.Wait()
	hits := checks.Load() - computed.Load()
	t.Logf("%d checks, %d with no write under way, %d served from the cache", checks.Load(), strict.Load(), hits)
	if strict.Load() == 0 || hits <= 0 {
		t.Fatalf("the test did not exercise the cache: %d strict checks, %d hits", strict.Load(), hits)
	}
}

// TestDecisionCacheExpiresOnTime (T5, C6; issue 20 item 2): an expiring
// role is served from the cache while it holds, and stops counting at its
// expiry with no write, on the first check after it; an answer that no
// expiration can change stays cached across it.
func TestDecisionCacheExpiresOnTime(t *testing.T) {
	s, computed := cachedStore(t)
	expires := time.Now().Add(1500 * time.Millisecond)
	must := func(r string) gatehouse.Relationship {
		rel, err := gatehouse.ParseRelationship("x", r)
		if err != nil {
			t.Fatal(err)
		}
		return rel
	}
	role := must("organisation:acme#cis_processor@user:carla")
	role.ExpiresAt = &expires
	if _, err := s.Write(t.Context(), gatehouse.Write{Updates: []gatehouse.Update{
		{Relationship: must("organisation:acme#owner@user:olivia")},
		{Relationship: must("contractor:c1#organisation@organisation:acme")},
		{Relationship: role},
	}}); err != nil {
		t.Fatal(err)
	}
	check := func(res, perm, sub string) (bool, int64) {
		t.Helper()
		before := computed.Load()
		obj, err := gatehouse.ParseObject("resource", res)
		if err != nil {
			t.Fatal(err)
		}
		r, err := s.Check(t.Context(), gatehouse.CheckRequest{Resource: obj, Permission: perm, Subject: gatehouse.User(sub)})
		if err != nil {
			t.Fatal(err)
		}
		return r.Allowed, computed.Load() - before
	}
	if ok, _ := check("contractor:c1", "view", "carla"); !ok {
		t.Fatal("carla's live cis_processor role does not let her view c1")
	}
	if ok, n := check("contractor:c1", "view", "carla"); !ok || n != 0 {
		t.Fatalf("second check: allowed %v, %d computed; want allowed from the cache", ok, n)
	}
	check("organisation:acme", "delete", "olivia")
	time.Sleep(time.Until(expires) + 50*time.Millisecond)
	if ok, n := check("contractor:c1", "view", "carla"); ok || n != 1 {
		t.Fatalf("after the expiry: allowed %v, %d computed; want denied, computed anew", ok, n)
	}
	if ok, n := check("organisation:acme", "delete", "olivia"); !ok || n != 0 {
		t.Fatalf("the owner's delete after an expiration it cannot reach: allowed %v, %d computed; want allowed from the cache", ok, n)
	}
}

// cachedStore is a Store over a new embedded SpiceDB on memory behind the
// decision cache (proxy.Cached, kept by the Store's Feed), the schema written, and the count of the checks its
// engine computed (those the cache did not answer).
func cachedStore(t *testing.T) (gatehouse.Store, *atomic.Int64) {
	t.Helper()
	emb, err := StartEmbedded(t.Context(), EmbeddedConfig{Datastore: "memory"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emb.Close() })
	computed := new(atomic.Int64)
	s := New(emb.Conn, append(emb.Options(), WithObserver(func(m string, _ time.Duration, _ error) {
		if m == "CheckEmbedded" {
			computed.Add(1)
		}
	}))...)
	c := proxy.NewCached(s, s.Feed())
	if err := c.WriteSchema(t.Context(), schema.Text); err != nil {
		t.Fatal(err)
	}
	return c, computed
}
