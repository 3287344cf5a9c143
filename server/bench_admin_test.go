package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse"
)

// The admin benchmarks of issue 4 ("Speed"), through the HTTP API on
// embedded SpiceDB (memory datastore):
//
//	go test -run '^$' -bench Admin ./server/

// benchClients is how many clients send at once in the concurrent benchmarks.
const benchClients = 8

// benchClient is an HTTP client that keeps a connection per concurrent
// client, so that the benchmark measures Gatehouse and not TCP set-up.
func benchClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2 * benchClients}, Timeout: time.Minute}
}

// benchDo sends one request and returns its status and body; it never
// calls Fatal, so RunParallel's goroutines may use it.
func benchDo(hc *http.Client, a *API, method, path, actor string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		j, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(a.t.Context(), method, a.URL+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+testKey)
	if actor != "" {
		req.Header.Set("Gatehouse-Actor", actor)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, raw, err
}

// benchOrg creates organisation id owned by user:<id>-owner through the API.
func benchOrg(b *testing.B, a *API, id string) string {
	b.Helper()
	owner := "user:" + id + "-owner"
	st, raw, err := benchDo(benchClient(), a, "POST", "/v1/organisations", owner, map[string]any{"id": id, "name": id})
	if err != nil || st != http.StatusCreated {
		b.Fatalf("creating %s: %d %s %v", id, st, raw, err)
	}
	return owner
}

// BenchmarkAdminRoleGrants measures role grants per second through
// PUT /v1/organisations/{org}/members/{user}/roles/{role}, from 8
// concurrent clients, each grant to a new user, as the owner.
func BenchmarkAdminRoleGrants(b *testing.B) {
	a := MustAPI(b)
	owner := benchOrg(b, a, "bench")
	hc := benchClient()
	roles := []string{"cis_processor", "billing_manager", "it_admin", "it_manager", "finance_admin", "administrator"}
	var next atomic.Int64
	b.SetParallelism((benchClients + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1)
			path := fmt.Sprintf("/v1/organisations/bench/members/u%d/roles/%s", i, roles[int(i)%len(roles)])
			if st, raw, err := benchDo(hc, a, "PUT", path, owner, nil); err != nil || st != http.StatusNoContent {
				b.Errorf("grant: %d %s %v", st, raw, err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "grants/s")
}

// BenchmarkAdminTransfers measures ownership transfers per second through
// POST /v1/organisations/{org}/transfer-ownership: the owner hands the
// organisation to a team member, who hands it back, one after another (a
// transfer needs the current owner, so they cannot overlap usefully).
func BenchmarkAdminTransfers(b *testing.B) {
	a := MustAPI(b)
	owner := benchOrg(b, a, "bench")
	hc := benchClient()
	other := "user:bench-other"
	if st, raw, err := benchDo(hc, a, "PUT", "/v1/organisations/bench/members/bench-other/roles/administrator", owner, nil); err != nil || st != http.StatusNoContent {
		b.Fatalf("grant: %d %s %v", st, raw, err)
	}
	from, to := owner, other
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		if st, raw, err := benchDo(hc, a, "POST", "/v1/organisations/bench/transfer-ownership", from, map[string]any{"to": to}); err != nil || st != http.StatusOK {
			b.Fatalf("transfer: %d %s %v", st, raw, err)
		}
		from, to = to, from
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "transfers/s")
}

// BenchmarkAdminLookupContractors measures POST /v1/lookup/resources of
// the contractors a CIS processor may view, in an organisation with 10,000
// contractors of which half are admin-only (so 5,000 come back), and
// reports the p50 and p99 latency of the lookups after the first, and the
// first (cold) one.
func BenchmarkAdminLookupContractors(b *testing.B) {
	a := MustAPI(b)
	owner := benchOrg(b, a, "bench")
	hc := benchClient()
	if st, raw, err := benchDo(hc, a, "PUT", "/v1/organisations/bench/members/carla/roles/cis_processor", owner, nil); err != nil || st != http.StatusNoContent {
		b.Fatalf("grant: %d %s %v", st, raw, err)
	}
	const n = 10000
	org := gatehouse.Subject{Object: gatehouse.MustObject("organisation:bench")}
	var w gatehouse.Write
	for i := range n {
		c := gatehouse.Object{Type: "contractor", ID: fmt.Sprintf("bench-c%d", i)}
		w.Updates = append(w.Updates, gatehouse.Update{Relationship: gatehouse.Relationship{Resource: c, Relation: "organisation", Subject: org}})
		if i%2 == 0 {
			w.Updates = append(w.Updates, gatehouse.Update{Relationship: gatehouse.Relationship{Resource: c, Relation: "admin_only", Subject: gatehouse.Wildcard("user")}})
		}
		if len(w.Updates) >= 998 || i == n-1 {
			if _, err := a.Store.Write(b.Context(), w); err != nil {
				b.Fatal(err)
			}
			w.Updates = nil
		}
	}
	lookup := func() time.Duration {
		// One page holds them all (reads are bounded: the default page is 1,000).
		body := map[string]any{"resourceType": "contractor", "permission": "view", "subject": "user:carla", "limit": n}
		t0 := time.Now()
		st, raw, err := benchDo(hc, a, "POST", "/v1/lookup/resources", "", body)
		d := time.Since(t0)
		if err != nil || st != http.StatusOK {
			b.Fatalf("lookup: %d %v", st, err)
		}
		var out struct{ Resources []string }
		if err := json.Unmarshal(raw, &out); err != nil || len(out.Resources) != n/2 {
			b.Fatalf("lookup found %d contractors, want %d (%v)", len(out.Resources), n/2, err)
		}
		return d
	}
	// The first lookup after the data is written is reported apart: where
	// SpiceDB's dispatch cache is on, it fills it and costs many times a
	// warm one (measured here: about 1 s against 27 ms at p50).
	cold := lookup()
	var lat []time.Duration
	for b.Loop() {
		lat = append(lat, lookup())
	}
	// Percentiles of a handful of samples say little: top up, untimed
	// (b.Loop has stopped the timer), to at least minSamples.
	const minSamples = 20
	for len(lat) < minSamples {
		lat = append(lat, lookup())
	}
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(cold.Microseconds())/1000, "cold-ms")
}
