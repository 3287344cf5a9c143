package server_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse/server"
)

// get sends GET path with the headers, through the client that holds every
// answer to /openapi.json.
func (s *secured) get(path string, header map[string]string) (int, http.Header, string) {
	s.t.Helper()
	req, err := http.NewRequestWithContext(s.t.Context(), http.MethodGet, s.URL+path, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		s.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		b.WriteString(sc.Text() + "\n")
	}
	return resp.StatusCode, resp.Header, b.String()
}

// TestAuditTrail_X2 covers the audit trail's listings: an organisation's
// events as JSON pages and as an NDJSON export (oldest first, every
// event), and the events that name no organisation under platform=true.
func TestAuditTrail_X2(t *testing.T) {
	s := mustSecured(t, func(d *server.Deps) {
		d.PlatformKeys = []string{"ops=platform-secret-value"}
	})
	key := map[string]string{"Authorization": "Bearer " + testKey}
	for _, step := range []struct {
		method, path, actor string
		body                any
		status              int
	}{
		{"POST", "/v1/organisations", "user:ana", map[string]any{"id": "exported", "name": "Exported Ltd"}, http.StatusCreated},
		{"PUT", "/v1/organisations/exported/members/ben/roles/administrator", "user:ana", nil, http.StatusNoContent},
		{"PUT", "/v1/organisations/exported/members/cy/roles/cis_processor", "user:ben", nil, http.StatusNoContent},
		{"POST", "/v1/organisations/exported/contractors", "user:ben", map[string]any{"id": "exported-c1", "name": "C1"}, http.StatusCreated},
	} {
		if r := s.Do(step.method, step.path, step.actor, step.body); r.Status != step.status {
			t.Fatalf("%s %s: %d %s", step.method, step.path, r.Status, r.Raw)
		}
	}
	// Provider staff are written with the platform key; the event names no organisation.
	st, _, body := s.send("POST", "/v1/relationships", map[string]string{"Authorization": "Bearer platform-secret-value", "Content-Type": "application/json"},
		`{"touch":["platform:provider#staff@user:stella"],"reason":"new support engineer"}`)
	if st != http.StatusOK {
		t.Fatalf("staff write: %d %s", st, body)
	}

	st, _, page := s.get("/v1/audit?organisation=exported", key)
	if st != http.StatusOK {
		t.Fatalf("JSON page: %d %s", st, page)
	}
	var listed struct {
		Events []map[string]any `json:"events"`
	}
	if err := json.Unmarshal([]byte(page), &listed); err != nil {
		t.Fatal(err)
	}

	t.Run("X2_export_streams_every_event_oldest_first_as_ndjson", func(t *testing.T) {
		st, h, body := s.get("/v1/audit?organisation=exported", map[string]string{"Authorization": "Bearer " + testKey, "Accept": "application/x-ndjson"})
		if st != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "application/x-ndjson") {
			t.Fatalf("export: %d %q %s", st, h.Get("Content-Type"), body)
		}
		lines := strings.Split(strings.TrimSpace(body), "\n")
		if len(lines) != len(listed.Events) || len(lines) < 4 {
			t.Fatalf("export has %d lines, the JSON page %d events: %s", len(lines), len(listed.Events), body)
		}
		for i, line := range lines {
			var ev map[string]any
			if err := json.Unmarshal([]byte(line), &ev); err != nil {
				t.Fatalf("line %d is not one JSON object: %q", i, line)
			}
			// Oldest first: the export is the page reversed.
			if want := listed.Events[len(lines)-1-i]["zedToken"]; ev["zedToken"] != want || ev["organisation"] != "exported" {
				t.Errorf("line %d = %v, want the event with zedToken %v", i, ev, want)
			}
		}
		if !strings.Contains(lines[0], `"action":"create_organisation"`) {
			t.Errorf("the first line is not the creation: %s", lines[0])
		}
	})

	t.Run("X2_filtered_by_action", func(t *testing.T) {
		st, _, body := s.get("/v1/audit?organisation=exported&action=grant_role", key)
		var got struct {
			Events []map[string]any `json:"events"`
		}
		if err := json.Unmarshal([]byte(body), &got); st != http.StatusOK || err != nil {
			t.Fatalf("action filter: %d %v %s", st, err, body)
		}
		if len(got.Events) != 2 {
			t.Fatalf("grant_role lists %d events, want ben's and cy's: %s", len(got.Events), body)
		}
		for _, ev := range got.Events {
			if ev["action"] != "grant_role" {
				t.Errorf("the grant_role filter lists %v", ev)
			}
		}
		st, _, body = s.get("/v1/audit?organisation=exported&action=grant_role&actor=user:ben", key)
		if st != http.StatusOK || strings.Count(body, `"action":"grant_role"`) != 1 || !strings.Contains(body, "user:cy") {
			t.Errorf("action and actor together: %d %s", st, body)
		}
		st, _, body = s.get("/v1/audit?organisation=exported&action=Grant%20Role", key)
		if st != http.StatusBadRequest || !strings.Contains(body, `"field":"action"`) {
			t.Errorf("a malformed action answered %d %s, want 400 naming action", st, body)
		}
	})

	t.Run("X2_platform_lists_the_events_that_name_no_organisation", func(t *testing.T) {
		st, _, body := s.get("/v1/audit?platform=true", key)
		if st != http.StatusOK || !strings.Contains(body, "platform:provider#staff@user:stella") || !strings.Contains(body, `"key":"ops"`) {
			t.Fatalf("platform events: %d %s", st, body)
		}
		if strings.Contains(page, "platform:provider#staff") {
			t.Errorf("the staff write is listed under an organisation: %s", page)
		}
	})

	t.Run("X3_organisation_or_platform_not_both_nor_neither", func(t *testing.T) {
		for _, q := range []string{"", "?platform=true&organisation=exported", "?platform=false"} {
			st, _, body := s.get("/v1/audit"+q, key)
			if st != http.StatusBadRequest || !strings.Contains(body, `"field":"organisation"`) {
				t.Errorf("GET /v1/audit%s: %d %s, want 400 naming organisation", q, st, body)
			}
		}
		st, _, body := s.get("/v1/audit?organisation=exported&cursor=x", map[string]string{"Authorization": "Bearer " + testKey, "Accept": "application/x-ndjson"})
		if st != http.StatusBadRequest || !strings.Contains(body, `"field":"cursor"`) {
			t.Errorf("an export with a cursor: %d %s, want 400", st, body)
		}
	})
}
