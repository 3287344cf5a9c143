package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/dryrun"
	"github.com/gatehouse-authz/gatehouse/proxy"
	"github.com/gatehouse-authz/gatehouse/schema"
	"github.com/gatehouse-authz/gatehouse/seed"
	"github.com/gatehouse-authz/gatehouse/server"
	"github.com/gatehouse-authz/gatehouse/spicedb"
	"github.com/gatehouse-authz/gatehouse/wire"
	"github.com/gatehouse-authz/gatehouse/workflow"
)

// testKey and checkKey are the bearer keys of every test server.
const (
	testKey  = "test-key"
	checkKey = "check-only-key"
)

// API is a Gatehouse served over real HTTP, for tests that go through the
// public API; SpiceDB is as the test's shape has it (GATEHOUSE_TEST_SHAPE).
type API struct {
	t     testing.TB
	URL   string
	Store *spicedb.SpiceDB
	// Cached is Store behind its decision cache, as the first replica's
	// API serves through it (cmd/gatehouse wires the same).
	Cached *proxy.Cached
	// hc checks every exchange against the served /openapi.json.
	hc *http.Client
	// client, with several replicas, takes turns between them and carries
	// the newest ZedToken from one to the next; nil with one.
	client *balancer
}

// MustAPI starts a Gatehouse with the schema written and no data.
func MustAPI(tb testing.TB) *API {
	tb.Helper()
	a, _ := mustServer(tb, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	return a
}

// mustServer starts a Gatehouse in the test's shape (GATEHOUSE_TEST_SHAPE;
// embedded SpiceDB on memory by default) with the schema written, its
// audit consumer running and log as its log, with the deps that edit makes
// (keys, rate limit, a wrapped store); it returns the API, every exchange
// held to /openapi.json, and the handler. In the remote-postgres shape it
// starts two replicas, each built by edit, behind one client that takes
// turns between them; Store and the handler are the first replica's.
func mustServer(tb testing.TB, log *slog.Logger, edit func(*server.Deps)) (*API, http.Handler) {
	tb.Helper()
	var metrics []*server.Metrics
	stores := mustStores(tb, func(int) spicedb.Option {
		m := server.NewMetrics()
		metrics = append(metrics, m)
		return spicedb.WithObserver(m.ObserveSpiceDB)
	})
	idx, err := schema.NewIndex(schema.Text)
	if err != nil {
		tb.Fatal(err)
	}
	var (
		urls     []string
		handlers []http.Handler
		cached   []*proxy.Cached
	)
	for i, store := range stores {
		var ready atomic.Bool
		ready.Store(true)
		cached = append(cached, proxy.NewCached(store, store.Feed()))
		d := server.Deps{
			Store: cached[i], Audit: auditOf(store).trail, AuditHealth: auditOf(store).consumer.Healthy, Schema: idx,
			Keys: []string{testKey}, CheckKeys: []string{checkKey},
			Log: log, Metrics: metrics[i], Ready: &ready, Scratch: scratch, CursorKey: testCursorKey,
		}
		if edit != nil {
			edit(&d)
		}
		d.Workflow = workflow.New(d.Store, workflow.WithScratch(d.Scratch))
		h := server.New(d)
		srv := httptest.NewServer(h)
		tb.Cleanup(srv.Close)
		urls, handlers = append(urls, srv.URL), append(handlers, h)
	}
	a := &API{t: tb, URL: urls[0], Store: stores[0], Cached: cached[0]}
	if len(urls) > 1 {
		a.URL, a.client = newBalancer(tb, urls, stores[0])
	}
	a.hc = validatingClient(tb, a.URL)
	return a, handlers[0]
}

// Session is a second client of the same Gatehouse, for one caller among
// several at once: with several replicas, it carries a ZedToken of its
// own (a caller's reads are as fresh as its own writes, not as every
// caller's); with one, it is a.
func (a *API) Session(tb testing.TB) *API {
	tb.Helper()
	if a.client == nil {
		return a
	}
	s := *a
	s.URL, s.client = a.client.session(tb)
	s.hc = validatingClient(tb, s.URL)
	return &s
}

// scratches are the scratch SpiceDBs of every test server, kept started
// as cmd/gatehouse keeps them.
var scratches = spicedb.NewScratchPool(schema.Text, 4)

// scratch is the engine of every test server's dry runs (X7) and of its
// workflow's one-write transitions, as cmd/gatehouse wires it.
func scratch(ctx context.Context, rels []gatehouse.Relationship) (dryrun.Scratch, error) {
	return scratches.Start(ctx, rels)
}

// MustSeededAPI starts a Gatehouse with the demo data of seed/ loaded.
func MustSeededAPI(tb testing.TB) *API {
	tb.Helper()
	a := MustAPI(tb)
	a.Seed(tb)
	return a
}

// Seed loads the demo data of seed/ straight through the first replica's
// Store, and hands the client a token at least as fresh: a check through
// that Store answers at a revision that has its writes. Without it, a
// client that already holds a token would read at replicas that need not
// have them yet (without a token of the writes, reads are eventual).
func (a *API) Seed(tb testing.TB) {
	tb.Helper()
	if err := seed.Load(tb.Context(), a.Store); err != nil {
		tb.Fatalf("loading seed: %v", err)
	}
	res, err := a.Store.Check(tb.Context(), gatehouse.CheckRequest{Resource: gatehouse.Provider, Permission: gatehouse.PermStaffMember, Subject: gatehouse.User("harness")})
	if err != nil {
		tb.Fatalf("a token after the seed: %v", err)
	}
	a.client.wrote(res.ZedToken)
}

// Response is a decoded answer: its status, headers and JSON body.
type Response struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    []byte
}

// ErrorCode returns error.code of an error answer.
func (r Response) ErrorCode() string { return r.errField("code") }

// ErrorField returns error.field of an error answer.
func (r Response) ErrorField() string { return r.errField("field") }

// ErrorPermission returns error.permission of an error answer.
func (r Response) ErrorPermission() string { return r.errField("permission") }

// ErrorRule returns error.rule of an error answer.
func (r Response) ErrorRule() string { return r.errField("rule") }

func (r Response) errField(k string) string {
	e, _ := r.Body["error"].(map[string]any)
	s, _ := e[k].(string)
	return s
}

// Do sends a request with the full key, as actor (when not empty), with
// body marshalled to JSON (a string or []byte is sent as it is).
func (a *API) Do(method, path, actor string, body any) Response {
	a.t.Helper()
	return a.DoKey(testKey, method, path, actor, body)
}

// DoKey is Do with a chosen bearer key ("" for none).
func (a *API) DoKey(key, method, path, actor string, body any) Response {
	a.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			a.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(a.t.Context(), method, a.URL+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if actor != "" {
		req.Header.Set("Gatehouse-Actor", actor)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	out := Response{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &out.Body)
	}
	return out
}

// Allowed checks one permission through POST /v1/check.
func (a *API) Allowed(resource, permission, subject string) bool {
	a.t.Helper()
	r := a.Do("POST", "/v1/check", "", map[string]any{"resource": resource, "permission": permission, "subject": subject})
	if r.Status != http.StatusOK {
		a.t.Fatalf("check %s#%s@%s: %d %s", resource, permission, subject, r.Status, r.Raw)
	}
	return r.Body["allowed"] == true
}

// Relationships reads every relationship of resource through GET /v1/relationships.
func (a *API) Relationships(resource string) []string {
	a.t.Helper()
	return a.readAll("resource=" + resource)
}

// readAll reads every relationship that query selects through GET
// /v1/relationships, following the cursor from page to page.
func (a *API) readAll(query string) []string {
	a.t.Helper()
	out := []string{}
	next := ""
	for {
		q := query + "&limit=" + strconv.Itoa(wire.MaxLimit)
		if next != "" {
			q += "&cursor=" + url.QueryEscape(next)
		}
		r := a.Do("GET", "/v1/relationships?"+q, "", nil)
		if r.Status != http.StatusOK {
			a.t.Fatalf("reading relationships %s: %d %s", q, r.Status, r.Raw)
		}
		for _, v := range r.Body["relationships"].([]any) {
			out = append(out, v.(string))
		}
		if next = str(r.Body["cursor"]); next == "" {
			return out
		}
	}
}

// Touch writes relationships straight into the Store, as test setup: many
// are relations that the raw endpoint refuses (X4), such as designations,
// platform staff and the relations of change requests.
func (a *API) Touch(rels ...string) {
	a.t.Helper()
	a.setUp(gatehouse.Touch, rels)
}

// setUp applies op to rels in one write straight into the Store, audited
// as the raw endpoint audits a write.
func (a *API) setUp(op gatehouse.Operation, rels []string) {
	a.t.Helper()
	w := gatehouse.Write{Audit: gatehouse.Audit{Action: "write_relationships", Reason: "test setup"}}
	for i, s := range rels {
		r, err := gatehouse.ParseRelationship(fmt.Sprintf("rels[%d]", i), s)
		if err != nil {
			a.t.Fatal(err)
		}
		if r.Resource.Type == gatehouse.TypeOrganisation {
			w.Audit.Organisation = r.Resource.ID
		}
		w.Updates = append(w.Updates, gatehouse.Update{Op: op, Relationship: r})
	}
	tok, err := a.Store.Write(a.t.Context(), w)
	if err != nil {
		a.t.Fatalf("writing %v: %v", rels, err)
	}
	a.client.wrote(tok)
}
