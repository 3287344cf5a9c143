package audit_test

import (
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/audit"
	"github.com/gatehouse-authz/gatehouse/integration"
)

func event(i int, at time.Time) gatehouse.AuditRecord {
	return gatehouse.AuditRecord{
		AuditEvent: gatehouse.AuditEvent{
			At: at, Audit: gatehouse.Audit{Actor: "user:olivia", Action: fmt.Sprintf("a%04d", i), Organisation: "acme"},
			Changes: []string{fmt.Sprintf("touch organisation:acme#administrator@user:u%d", i)}, ZedToken: fmt.Sprintf("tok%d", i),
		},
		Revision: fmt.Sprintf("rev%d", i),
	}
}

func TestMemoryIsBounded(t *testing.T) {
	m := audit.NewMemory(3)
	for i := range 10 {
		if err := m.Append(t.Context(), []gatehouse.AuditRecord{event(i, time.Now())}, ""); err != nil {
			t.Fatal(err)
		}
	}
	if m.Len() != 3 || m.Dropped() != 7 {
		t.Fatalf("memory trail holds %d events and dropped %d, want its bound 3 and 7 dropped", m.Len(), m.Dropped())
	}
	events, _, err := m.List(t.Context(), gatehouse.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 3 || events[0].Action != "a0009" || events[2].Action != "a0007" {
		t.Fatalf("memory trail = %+v, want the newest three, newest first", events)
	}
}

// TestTrails runs what every Trail promises against memory and Postgres.
func TestTrails(t *testing.T) {
	t.Run("memory", func(t *testing.T) { testTrail(t, audit.NewMemory(1000)) })
	t.Run("postgres", func(t *testing.T) {
		uri := integration.MustPostgresDatabase(t)
		p, err := audit.OpenPostgres(t.Context(), uri)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		testTrail(t, p)
		// A second replica starting migrates again (no change) and resumes
		// from the same cursor.
		again, err := audit.OpenPostgres(t.Context(), uri)
		if err != nil {
			t.Fatal(err)
		}
		defer again.Close()
		if c, err := again.Cursor(t.Context()); err != nil || c != "cursor9" {
			t.Fatalf("cursor after reopening = %q, %v; want cursor9", c, err)
		}
	})
}

func testTrail(t *testing.T, tr audit.Trail) {
	ctx := t.Context()
	old := time.Now().Add(-48 * time.Hour)
	// Each append twice, as two consumers of one Watch stream do.
	for range 2 {
		for i := range 10 {
			at := time.Now()
			if i < 2 {
				at = old
			}
			if err := tr.Append(ctx, []gatehouse.AuditRecord{event(i, at)}, fmt.Sprintf("cursor%d", i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if c, err := tr.Cursor(ctx); err != nil || c != "cursor9" {
		t.Fatalf("cursor = %q, %v; want cursor9", c, err)
	}
	all := list(t, tr, gatehouse.AuditQuery{Actor: "user:olivia"})
	if len(all) < 10 {
		t.Fatalf("listed %d events, want at least 10", len(all))
	}
	byAction := map[string]int{}
	for _, e := range all {
		byAction[e.Action]++
	}
	for a, n := range byAction {
		if n != 1 {
			t.Fatalf("event %s stored %d times, want once", a, n)
		}
	}
	// X2: the trail filters by action too, with the other filters.
	if one := list(t, tr, gatehouse.AuditQuery{Organisation: "acme", Action: "a0003"}); len(one) != 1 || one[0].Action != "a0003" {
		t.Fatalf("action a0003 lists %+v, want its one event", one)
	}
	if none := list(t, tr, gatehouse.AuditQuery{Actor: "user:nobody", Action: "a0003"}); len(none) != 0 {
		t.Fatalf("action a0003 of user:nobody lists %+v, want nothing", none)
	}

	// Pages while appends go on: no skip, no repeat of what was there.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 100; i < 140; i++ {
			_ = tr.Append(ctx, []gatehouse.AuditRecord{event(i, time.Now())}, "")
		}
	}()
	var got []string
	q := gatehouse.AuditQuery{Organisation: "acme", Limit: 2}
	for {
		events, cursor, err := tr.List(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range events {
			got = append(got, e.Action)
		}
		if cursor == "" {
			break
		}
		q.Cursor = cursor
	}
	wg.Wait()
	seen := map[string]bool{}
	for i, a := range got {
		if seen[a] {
			t.Fatalf("page walk repeated %s", a)
		}
		seen[a] = true
		if i > 0 && a > got[i-1] && got[i-1] < "a0100" {
			t.Fatalf("page walk not newest first at %d: %v", i, got)
		}
	}
	for i := range 10 {
		if a := fmt.Sprintf("a%04d", i); !seen[a] {
			t.Fatalf("page walk skipped %s: %v", a, got)
		}
	}

	var exported []string
	if err := tr.Export(ctx, gatehouse.AuditQuery{Organisation: "acme"}, func(e gatehouse.AuditEvent) error {
		exported = append(exported, e.Action)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(exported) < 50 || exported[0] > exported[len(exported)-1] {
		t.Fatalf("export = %v, want every event oldest first", exported)
	}

	// Retention removes what is older than the cut, nothing else.
	n, err := tr.Prune(ctx, time.Now().Add(-24*time.Hour))
	if err != nil || n < 2 {
		t.Fatalf("prune removed %d, %v; want the 2 old events", n, err)
	}
	for _, e := range list(t, tr, gatehouse.AuditQuery{Organisation: "acme", Limit: 1000}) {
		if e.At.Before(time.Now().Add(-24 * time.Hour)) {
			t.Fatalf("event %s of %v survived retention", e.Action, e.At)
		}
	}
	_, _, err = tr.List(ctx, gatehouse.AuditQuery{Cursor: "not-a-cursor"})
	if gatehouse.ErrorCode(err) != gatehouse.EINVALID {
		t.Fatalf("a cursor never returned: %v, want EINVALID", err)
	}
}

func list(t *testing.T, tr audit.Trail, q gatehouse.AuditQuery) []gatehouse.AuditEvent {
	t.Helper()
	q.Limit = 10000
	events, _, err := tr.List(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	return events
}

// TestTrailsAgree is the trails' field-by-field conformance (X2: the
// durable trail keeps every field the memory trail keeps): the same
// records appended to both list and export the same events, every field
// compared, the records of one write in two organisations included.
func TestTrailsAgree(t *testing.T) {
	uri := integration.MustPostgresDatabase(t)
	pg, err := audit.OpenPostgres(t.Context(), uri)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	mem := audit.NewMemory(100)
	at := time.Now().UTC().Truncate(time.Microsecond) // the consumer's precision, and Postgres's
	full := func(org string, pos int, changes ...string) gatehouse.AuditRecord {
		return gatehouse.AuditRecord{
			AuditEvent: gatehouse.AuditEvent{
				At: at, Audit: gatehouse.Audit{
					Actor: "user:olivia", Key: "backend-1", Action: "raw_write", Reason: "quarterly review ✓",
					Organisation: org, Details: map[string]string{"contractor": "contractor:c9", "note": "ü"},
				},
				Changes: changes, ZedToken: "tok-7", Write: "write-7",
			},
			Revision: "rev7", Position: pos,
		}
	}
	records := []gatehouse.AuditRecord{
		full("ta", 0, "touch organisation:ta#cis_processor@user:x1"),
		full("tb", 0, "touch organisation:tb#cis_processor@user:y1"),
		full("", 1, "touch platform:main#staff@user:p1"),
		{AuditEvent: gatehouse.AuditEvent{At: at, Audit: gatehouse.Audit{Action: "bare"}, Changes: []string{}, ZedToken: "tok-8"}, Revision: "rev8"},
	}
	for _, tr := range []audit.Trail{mem, pg} {
		for range 2 { // twice, as two replicas' consumers append
			if err := tr.Append(t.Context(), records, "cursor-8"); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, q := range []gatehouse.AuditQuery{{Organisation: "ta"}, {Organisation: "tb"}, {Platform: true}, {}, {Actor: "user:olivia", Limit: 1}, {Action: "bare"}, {Organisation: "ta", Action: "raw_write"}} {
		m, mc, err := mem.List(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		p, pc, err := pg.List(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(m, p) || (mc == "") != (pc == "") {
			t.Errorf("List(%+v):\n memory   %+v (cursor %q)\n postgres %+v (cursor %q)", q, m, mc, p, pc)
		}
		var me, pe []gatehouse.AuditEvent
		q.Limit = 0
		if err := mem.Export(t.Context(), q, func(e gatehouse.AuditEvent) error { me = append(me, e); return nil }); err != nil {
			t.Fatal(err)
		}
		if err := pg.Export(t.Context(), q, func(e gatehouse.AuditEvent) error { pe = append(pe, e); return nil }); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(me, pe) {
			t.Errorf("Export(%+v):\n memory   %+v\n postgres %+v", q, me, pe)
		}
	}
	ta := list(t, pg, gatehouse.AuditQuery{Organisation: "ta"})
	if len(ta) != 1 || len(ta[0].Changes) != 1 || ta[0].Key != "backend-1" || ta[0].Write != "write-7" {
		t.Fatalf("ta's trail = %+v, want its one change, with the key and the write", ta)
	}
}
