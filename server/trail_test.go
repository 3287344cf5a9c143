package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/server"
)

// trailOf lists every event of the organisation org through the API.
func trailOf(t *testing.T, a *API, org string) []map[string]any {
	t.Helper()
	r := a.Do("GET", "/v1/audit?organisation="+org+"&limit=1000", "", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("GET /v1/audit?organisation=%s: %d %s", org, r.Status, r.Raw)
	}
	events, _ := r.Body["events"].([]any)
	out := make([]map[string]any, len(events))
	for i, e := range events {
		out[i], _ = e.(map[string]any)
	}
	return out
}

// TestTrailPerOrganisation_X2 (issue 19, row 3): one raw write touching two
// organisations is listed in each one's trail with that organisation's
// change only, and the demo seed's trail of brightcis shows no change of
// acme or globex.
func TestTrailPerOrganisation_X2(t *testing.T) {
	a := MustSeededAPI(t)
	r := a.Do("POST", "/v1/relationships", "user:staff", map[string]any{
		"touch":  []string{"organisation:acme#cis_processor@user:x1", "organisation:globex#cis_processor@user:y1"},
		"reason": "two tenants at once",
	})
	if r.Status != http.StatusOK {
		t.Fatalf("raw write: %d %s", r.Status, r.Raw)
	}
	for org, want := range map[string]string{"acme": "user:x1", "globex": "user:y1"} {
		events := trailOf(t, a, org)
		if len(events) == 0 || events[0]["reason"] != "two tenants at once" {
			t.Fatalf("%s's trail does not list the write first: %v", org, events)
		}
		changes, _ := events[0]["changes"].([]any)
		if len(changes) != 1 || !strings.Contains(fmt.Sprint(changes[0]), "organisation:"+org+"#cis_processor@"+want) {
			t.Errorf("%s's trail shows %v, want its own change only", org, changes)
		}
		if events[0]["reason"] != "two tenants at once" || events[0]["write"] == "" {
			t.Errorf("%s's event %v lost the write's record", org, events[0])
		}
	}
	seeded := 0
	for _, ev := range trailOf(t, a, "brightcis") {
		changes, _ := ev["changes"].([]any)
		if ev["action"] == "seed" && len(changes) > 0 {
			seeded++
		}
		for _, c := range changes {
			if s := fmt.Sprint(c); strings.Contains(s, "acme") || strings.Contains(s, "globex") {
				t.Errorf("brightcis's trail shows another organisation's change: %s (event %v)", s, ev["action"])
			}
		}
	}
	// The seed's write is audited under brightcis too, with brightcis's changes.
	if seeded == 0 {
		t.Error("brightcis's trail lists no seed event with changes: the seed's write is not audited under brightcis")
	}
}

// TestUnrecordableWriteRefused_X2 (issue 19, row 2): a write whose audit
// record cannot be stored (a reason too long to keep) is refused with 400
// naming the field, and nothing is written or listed.
func TestUnrecordableWriteRefused_X2(t *testing.T) {
	a := MustSeededAPI(t)
	before := len(trailOf(t, a, "brightcis"))
	r := a.Do("POST", "/v1/organisations/brightcis/transfer-ownership", "user:olivia", map[string]any{"to": "user:adam", "reason": strings.Repeat("r", gatehouse.MaxReasonLen+1)})
	if r.Status != http.StatusBadRequest || r.ErrorField() != "reason" {
		t.Fatalf("transfer with a %d-byte reason: %d %s; want 400 naming reason", gatehouse.MaxReasonLen+1, r.Status, r.Raw)
	}
	if !a.Allowed("organisation:brightcis", "transfer_ownership", "user:olivia") {
		t.Error("ownership moved although the write was refused")
	}
	if after := len(trailOf(t, a, "brightcis")); after != before {
		t.Errorf("the trail grew from %d to %d events for a refused write", before, after)
	}
}

// TestExceptionExpiresOnTime_C6 (issue 19, row 5): an exception with an
// expiry stops counting within a second of it, with no write in between,
// and the list shows only live exceptions. It runs in every shape.
func TestExceptionExpiresOnTime_C6(t *testing.T) {
	a := MustSeededAPI(t)
	expires := time.Now().Add(3 * time.Second).UTC().Truncate(time.Second).Add(time.Second)
	r := a.Do("POST", "/v1/organisations/globex/exceptions", "user:mia", map[string]any{
		"user": "user:tom", "kind": "public_facing", "expiresAt": expires.Format(time.RFC3339),
	})
	if r.Status != http.StatusCreated {
		t.Fatalf("granting an exception: %d %s", r.Status, r.Raw)
	}
	const perm = "excepted"
	res := "change_kind:globex/public_facing"
	if !a.Allowed(res, perm, "user:tom") {
		t.Fatalf("%s#%s@user:tom before its expiry: denied", res, perm)
	}
	// Checked again just before the expiry, so that SpiceDB holds a fresh
	// answer from before it (its dispatch cache) at the newest revision.
	time.Sleep(time.Until(expires.Add(-300 * time.Millisecond)))
	for range 3 {
		if !a.Allowed(res, perm, "user:tom") {
			t.Fatalf("%s#%s@user:tom just before its expiry: denied", res, perm)
		}
	}
	time.Sleep(time.Until(expires.Add(time.Second)))
	// Every consistency a caller can ask for, and none.
	for i, c := range []map[string]any{nil, {"minimizeLatency": true}, {"fullyConsistent": true}, nil, nil} {
		body := map[string]any{"resource": res, "permission": perm, "subject": "user:tom"}
		if c != nil {
			body["consistency"] = c
		}
		r := a.Do("POST", "/v1/check", "", body)
		if r.Status != http.StatusOK || r.Body["allowed"] != false {
			t.Errorf("check %d (%v) a second after the expiry: %d %s; want denied", i, c, r.Status, r.Raw)
		}
	}
	r = a.Do("GET", "/v1/organisations/globex/exceptions", "user:mia", nil)
	list, _ := r.Body["exceptions"].([]any)
	for _, e := range list {
		if m, _ := e.(map[string]any); m["user"] == "user:tom" && m["kind"] == "public_facing" {
			t.Errorf("the list shows the expired exception: %v", m)
		}
	}
}

// failingTrail lists like its trail, but an export fails after n events.
type failingTrail struct {
	gatehouse.AuditTrail
	n int
}

func (f failingTrail) Export(ctx context.Context, q gatehouse.AuditQuery, fn func(gatehouse.AuditEvent) error) error {
	sent := 0
	err := f.AuditTrail.Export(ctx, q, func(e gatehouse.AuditEvent) error {
		if sent == f.n {
			return errors.New("the connection to the audit database was lost")
		}
		sent++
		return fn(e)
	})
	if err != nil {
		return &gatehouse.Error{Code: gatehouse.EUNAVAILABLE, Message: "the audit database is not answering", Err: err}
	}
	return nil
}

// TestExportCutShort_X2 (issue 19, item 5): an NDJSON export that fails
// after its first lines ends with a line naming the failure, never as a
// complete-looking 200.
func TestExportCutShort_X2(t *testing.T) {
	s := mustSecured(t, func(d *server.Deps) { d.Audit = failingTrail{AuditTrail: d.Audit, n: 2} })
	if r := s.Do("POST", "/v1/organisations", "user:ana", map[string]any{"id": "cut", "name": "Cut Short"}); r.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.Status, r.Raw)
	}
	for _, role := range []string{"administrator", "cis_processor", "it_admin"} {
		if r := s.Do("PUT", "/v1/organisations/cut/members/u/roles/"+role, "user:ana", nil); r.Status != http.StatusNoContent {
			t.Fatalf("write: %d %s", r.Status, r.Raw)
		}
	}
	st, _, body := s.get("/v1/audit?organisation=cut", map[string]string{"Authorization": "Bearer " + testKey, "Accept": "application/x-ndjson"})
	lines := strings.Split(strings.TrimSpace(body), "\n")
	if st != http.StatusOK || len(lines) != 3 {
		// 2 of the 4 events (the creation, 3 grants), then the failure
		t.Fatalf("export: %d, %d lines:\n%s\nwant 2 events and the failure", st, len(lines), body)
	}
	var last struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if err := json.Unmarshal([]byte(lines[2]), &last); err != nil || last.Error.Code != "unavailable" || !strings.Contains(last.Error.Message, "stopped before its end") {
		t.Fatalf("last line %q, want an error naming the failure", lines[2])
	}
}
