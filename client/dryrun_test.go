package client_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gatehouse-authz/gatehouse/client"
)

const dryAnswer = `{"dryRun":true,"changes":["delete organisation:brightcis#cis_processor@user:carla"],"effects":[{"subject":"user:carla","permission":"view","on":"contractor:c1","change":"lost"}]}`

// TestDryRun_X7: inside DryRun every kind of write goes with
// ?dryRun=true (beside its own query), answers empty, and the server's
// DryRun comes back; reads inside it go as they are.
func TestDryRun_X7(t *testing.T) {
	tests := []struct {
		name      string
		write     func(c *client.Client) error
		wantRoute string
		wantQuery string
	}{
		{"RemoveMember_DELETE", func(c *client.Client) error {
			w, err := c.RemoveMember(t.Context(), "brightcis", "carla", "")
			if err == nil && w.ZedToken != "" {
				t.Errorf("a dry run answered a ZedToken %q", w.ZedToken)
			}
			return err
		}, "DELETE /v1/organisations/brightcis/members/carla", "dryRun=true"},
		{"GrantRole_PUT_keeps_its_query", func(c *client.Client) error {
			_, err := c.GrantRole(t.Context(), "brightcis", "carla", "security_admin", client.PreviousBecomesAlternate())
			return err
		}, "PUT /v1/organisations/brightcis/members/carla/roles/security_admin", "dryRun=true&previousBecomesAlternate=true"},
		{"CreateOrganisation_POST", func(c *client.Client) error {
			o, err := c.CreateOrganisation(t.Context(), "initech", "Initech")
			if err == nil && o.ID != "" {
				t.Errorf("a dry run answered an organisation %+v", o)
			}
			return err
		}, "POST /v1/organisations", "dryRun=true"},
		{"PatchContractor_PATCH", func(c *client.Client) error {
			no := false
			_, err := c.PatchContractor(t.Context(), "c3", client.ContractorPatch{AdminOnly: &no})
			return err
		}, "PATCH /v1/contractors/c3", "dryRun=true"},
		{"Touch_raw_relationships", func(c *client.Client) error {
			_, err := c.Touch(t.Context(), "", "organisation:acme#administrator@user:bob")
			return err
		}, "POST /v1/relationships", "dryRun=true"},
		{"read_then_write", func(c *client.Client) error {
			if _, err := c.Check(t.Context(), client.CheckRequest{Resource: "contractor:c1", Permission: "view", Subject: "user:carla"}); err != nil {
				return err
			}
			_, err := c.AuthoriseChangeRequest(t.Context(), "cr1", "")
			return err
		}, "POST /v1/change-requests/cr1/authorise", "dryRun=true"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var writes []string
			c := MustServer(t, func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				if r.URL.Path == "/v1/check" {
					if r.URL.RawQuery != "" {
						t.Errorf("a read inside a dry run was sent with %q", r.URL.RawQuery)
					}
					_, _ = io.WriteString(w, `{"allowed":true}`)
					return
				}
				writes = append(writes, r.Method+" "+r.URL.Path+" "+r.URL.RawQuery)
				_, _ = io.WriteString(w, dryAnswer)
			}, client.WithActor("olivia"))
			dr, err := c.DryRun(tt.write)
			if err != nil {
				t.Fatal(err)
			}
			if want := tt.wantRoute + " " + tt.wantQuery; len(writes) != 1 || writes[0] != want {
				t.Errorf("writes = %q, want %q", writes, want)
			}
			if !dr.DryRun || len(dr.Changes) != 1 || dr.Effects[0] != (client.Effect{Subject: "user:carla", Permission: "view", On: "contractor:c1", Change: "lost"}) {
				t.Errorf("dry run = %+v", dr)
			}
		})
	}
}

// TestDryRunRefusals: a refusal comes back as the same error; a function
// that writes nothing, or twice, and a server that did not dry-run, are
// errors; c itself still writes for real afterwards.
func TestDryRunRefusals(t *testing.T) {
	var lastQuery atomic.Value
	c := MustServer(t, func(w http.ResponseWriter, r *http.Request) {
		lastQuery.Store(r.URL.RawQuery)
		switch r.URL.Path {
		case "/v1/organisations/acme/members/bob":
			writeErr(w, http.StatusForbidden, "permission_denied", "user:mallory lacks manage_members", "")
		case "/v1/organisations/old/members/bob":
			w.WriteHeader(http.StatusNoContent) // a server that ignored dryRun
		default:
			_, _ = io.WriteString(w, dryAnswer)
		}
	}, client.WithActor("mallory"))
	ctx := t.Context()

	_, err := c.DryRun(func(c *client.Client) error { _, err := c.RemoveMember(ctx, "acme", "bob", ""); return err })
	if e := (*client.Error)(nil); !errors.As(err, &e) || e.Status != http.StatusForbidden {
		t.Errorf("refused dry run: err = %v, want the 403", err)
	}
	if _, err := c.DryRun(func(*client.Client) error { return nil }); err == nil || !strings.Contains(err.Error(), "no write") {
		t.Errorf("no write: err = %v", err)
	}
	_, err = c.DryRun(func(c *client.Client) error {
		_, _ = c.RemoveMember(ctx, "globex", "bob", "")
		_, err := c.RemoveMember(ctx, "globex", "pat", "")
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "2 writes") {
		t.Errorf("two writes: err = %v", err)
	}
	_, err = c.DryRun(func(c *client.Client) error { _, err := c.RemoveMember(ctx, "old", "bob", ""); return err })
	if err == nil || !strings.Contains(err.Error(), "not a dry run") {
		t.Errorf("server ignored dryRun: err = %v", err)
	}
	if _, err := c.RemoveMember(ctx, "globex", "bob", ""); err != nil || lastQuery.Load() != "" {
		t.Errorf("after DryRun, c sent %q (%v), want a real write", lastQuery.Load(), err)
	}
}

// TestDryRunRetriesACreatingPOST: a dry run commits nothing, so even a
// creating POST is retried after a 503.
func TestDryRunRetriesACreatingPOST(t *testing.T) {
	var calls atomic.Int32
	c := MustServer(t, func(w http.ResponseWriter, _ *http.Request) {
		if calls.Add(1) == 1 {
			writeErr(w, http.StatusServiceUnavailable, "unavailable", "SpiceDB unreachable", "")
			return
		}
		_, _ = io.WriteString(w, dryAnswer)
	}, client.WithActor("olivia"))
	if _, err := c.DryRun(func(c *client.Client) error {
		_, err := c.CreateContractor(t.Context(), "brightcis", client.Contractor{ID: "c9"})
		return err
	}); err != nil || calls.Load() != 2 {
		t.Errorf("err = %v after %d calls, want success after 2", err, calls.Load())
	}
}

// TestExplainWhyNot_X6: Explain decodes a denial's ways, what each lacks
// with who may write it, and what blocks it by rule.
func TestExplainWhyNot_X6(t *testing.T) {
	const answer = `{"allowed":false,"paths":[],"whyNot":[
	 {"via":"organisation->view_admin_only_contractors->manage_contractors->administrator","missing":[{"relationship":"organisation:brightcis#administrator@user:carla","grantors":{"endpoint":"PUT /v1/organisations/brightcis/members/carla/roles/administrator","permission":"manage_members","on":"organisation:brightcis","subjects":["user:olivia"],"more":true}}]},
	 {"via":"organisation->view_unflagged_contractors->cis_processor","blockedBy":[{"relation":"contractor:c3#admin_only","rule":"K2","reason":"the contractor is admin-only","lift":{"endpoint":"PATCH /v1/contractors/c3","permission":"manage_contractors","on":"organisation:brightcis","subjects":["user:adam","user:nina"],"until":{"user:nina":"2027-01-31T00:00:00Z"}}}]}],
	 "summary":"user:carla may not view contractor:c3","truncated":true,"zedToken":"zt"}`
	var sent map[string]any
	c := MustServer(t, func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewDecoder(r.Body).Decode(&sent)
		_, _ = io.WriteString(w, answer)
	})
	ex, err := c.Explain(t.Context(), client.CheckRequest{Resource: "contractor:c3", Permission: "view", Subject: "user:carla"})
	if err != nil {
		t.Fatal(err)
	}
	if sent["resource"] != "contractor:c3" {
		t.Errorf("sent %v", sent)
	}
	if ex.Allowed || ex.Summary == "" || !ex.Truncated || len(ex.WhyNot) != 2 {
		t.Fatalf("explanation = %+v", ex)
	}
	m := ex.WhyNot[0].Missing[0]
	if m.Relationship != "organisation:brightcis#administrator@user:carla" || m.Grantors == nil || m.Grantors.Subjects[0] != "user:olivia" || !m.Grantors.More {
		t.Errorf("missing = %+v", m)
	}
	b := ex.WhyNot[1].BlockedBy[0]
	if b.Relation != "contractor:c3#admin_only" || b.Rule != "K2" || b.Lift == nil || b.Lift.Endpoint != "PATCH /v1/contractors/c3" {
		t.Errorf("blockedBy = %+v", b)
	}
	if b.Lift != nil && (b.Lift.Until["user:nina"] != "2027-01-31T00:00:00Z" || b.Lift.Until["user:adam"] != "") {
		t.Errorf("T5: the lift's until = %v, want nina's alone", b.Lift.Until)
	}
}

// TestExplainPathsUntil_T5: Explain decodes until when each chain lasts
// and which of its relationships end on their own.
func TestExplainPathsUntil_T5(t *testing.T) {
	const admin = "organisation:brightcis#administrator@user:carla[expiration:2027-01-31T00:00:00Z]"
	const answer = `{"allowed":true,"paths":[["` + admin + `","contractor:c1#organisation@organisation:brightcis"],["organisation:brightcis#cis_processor@user:carla","contractor:c1#organisation@organisation:brightcis"]],
	 "pathsUntil":[{"until":"2027-01-31T00:00:00Z","expiring":[{"relationship":"` + admin + `","until":"2027-01-31T00:00:00Z"}]},{"until":null}]}`
	c := MustServer(t, func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, answer) })
	ex, err := c.Explain(t.Context(), client.CheckRequest{Resource: "contractor:c1", Permission: "view", Subject: "user:carla"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ex.PathsUntil) != 2 || ex.PathsUntil[0].Until == nil || *ex.PathsUntil[0].Until != "2027-01-31T00:00:00Z" || ex.PathsUntil[1].Until != nil {
		t.Fatalf("pathsUntil = %+v", ex.PathsUntil)
	}
	if e := ex.PathsUntil[0].Expiring; len(e) != 1 || e[0] != (client.Expiring{Relationship: admin, Until: "2027-01-31T00:00:00Z"}) {
		t.Errorf("expiring = %+v", e)
	}
}
