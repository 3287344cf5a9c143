package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/audit"
	"github.com/gatehouse-authz/gatehouse/console"
	"github.com/gatehouse-authz/gatehouse/dryrun"
	"github.com/gatehouse-authz/gatehouse/schema"
	"github.com/gatehouse-authz/gatehouse/seed"
	"github.com/gatehouse-authz/gatehouse/server"
	"github.com/gatehouse-authz/gatehouse/spicedb"
	"github.com/gatehouse-authz/gatehouse/workflow"
)

const apiKey = "console-test-key"

// sessionKey signs the test console's cookies.
var sessionKey = []byte("0123456789abcdef0123456789abcdef")

// gate is a Gatehouse with the demo data on embedded SpiceDB, its console
// mounted as `gatehouse serve` mounts it, served over real HTTP: so each
// test can do the same thing through the console and through the API.
type gate struct {
	t     testing.TB
	URL   string
	Store *spicedb.SpiceDB
}

// gateOption changes the console's configuration; base is the URL the gate
// will be served at.
type gateOption func(cfg *console.Config, base string)

// withUsers adds people to the development sign-in's demo users.
func withUsers(extra ...console.DevUser) gateOption {
	return func(cfg *console.Config, _ string) { cfg.DevUsers = append(cfg.DevUsers, extra...) }
}

// mustGate starts a seeded Gatehouse with the console and dev sign-in on,
// changed by opts.
func mustGate(tb testing.TB, opts ...gateOption) *gate {
	tb.Helper()
	// The listener comes first: the console's OpenID redirect URL names it.
	srv := httptest.NewUnstartedServer(nil)
	tb.Cleanup(func() { _ = srv.Listener.Close() })
	emb, err := spicedb.StartEmbedded(tb.Context(), spicedb.EmbeddedConfig{Datastore: "memory"})
	if err != nil {
		tb.Fatalf("starting embedded SpiceDB: %v", err)
	}
	tb.Cleanup(func() { _ = emb.Close() })
	metrics := server.NewMetrics()
	store := spicedb.New(emb.Conn, emb.Options()...)
	if err := store.WriteSchema(tb.Context(), schema.Text); err != nil {
		tb.Fatalf("writing schema: %v", err)
	}
	trail := audit.NewMemory(audit.DefaultMemoryEvents)
	consumer, err := spicedb.StartAudit(context.Background(), store, trail, spicedb.AuditConfig{})
	if err != nil {
		tb.Fatalf("starting the audit consumer: %v", err)
	}
	tb.Cleanup(consumer.Stop)
	if err := seed.Load(tb.Context(), store); err != nil {
		tb.Fatalf("loading seed: %v", err)
	}
	idx, err := schema.NewIndex(schema.Text)
	if err != nil {
		tb.Fatal(err)
	}
	users, err := console.DemoUsers()
	if err != nil {
		tb.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	scratch := func(ctx context.Context, rels []gatehouse.Relationship) (dryrun.Scratch, error) {
		return scratches.Start(ctx, rels)
	}
	wf := workflow.New(store, workflow.WithScratch(scratch))
	cfg := console.Config{Workflow: wf, Store: store, Audit: trail, Scratch: scratch, Log: log, DevLogin: true, DevUsers: users, SessionKey: sessionKey}
	base := "http://" + srv.Listener.Addr().String()
	for _, o := range opts {
		o(&cfg, base)
	}
	c, err := console.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	var ready atomic.Bool
	ready.Store(true)
	srv.Config.Handler = server.New(server.Deps{
		Store: store, Audit: trail, Workflow: wf, Schema: idx, Keys: []string{apiKey},
		Log: log, Metrics: metrics, Ready: &ready, Console: c, Scratch: scratch,
	})
	srv.Start()
	tb.Cleanup(srv.Close)
	return &gate{t: tb, URL: srv.URL, Store: store}
}

// scratches are the scratch SpiceDBs of every test's Gatehouse, kept
// started as cmd/gatehouse keeps them.
var scratches = spicedb.NewScratchPool(schema.Text, 4)

// has reports whether relationship rel (zed notation) exists.
func (g *gate) has(rel string) bool {
	g.t.Helper()
	// Split by hand: ParseRelationship refuses the wildcard subject of K2's flag.
	res, sub, _ := strings.Cut(rel, "@")
	res, relation, _ := strings.Cut(res, "#")
	rt, rid, _ := strings.Cut(res, ":")
	st, sid, _ := strings.Cut(sub, ":")
	rels, _, err := g.Store.ReadRelationships(g.t.Context(), gatehouse.Filter{
		ResourceType: rt, ResourceID: rid, Relation: relation, SubjectType: st, SubjectID: sid,
	}, gatehouse.Consistency{FullyConsistent: true})
	if err != nil {
		g.t.Fatal(err)
	}
	return len(rels) > 0
}

// api sends one request to the JSON API as actor and returns its status and body.
func (g *gate) api(method, path, actor string, body any) (int, map[string]any) {
	g.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(g.t.Context(), method, g.URL+path, rd)
	if err != nil {
		g.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+apiKey)
	if actor != "" {
		req.Header.Set("Gatehouse-Actor", actor)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		g.t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]any{}
	raw, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

// apiError returns error.message of an API answer.
func apiError(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	s, _ := e["message"].(string)
	return s
}

// browser is one person's browser: a cookie jar and the last page it saw.
type browser struct {
	g    *gate
	hc   *http.Client
	last page
}

// page is an answer as a browser sees it, after following redirects.
type page struct {
	Status int
	URL    string
	Body   string
}

var (
	tagRE   = regexp.MustCompile(`<[^>]*>`)
	spaceRE = regexp.MustCompile(`\s+`)
)

// contains reports whether the page's text, as a reader sees it (tags
// dropped, HTML unescaped, white space collapsed), holds s.
func (p page) contains(s string) bool {
	text := spaceRE.ReplaceAllString(html.UnescapeString(tagRE.ReplaceAllString(p.Body, " ")), " ")
	return strings.Contains(text, s)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf returns the CSRF token of the page's forms.
func (p page) csrf() string {
	m := csrfRE.FindStringSubmatch(p.Body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

func (g *gate) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{g: g, hc: &http.Client{Jar: jar}}
}

func (b *browser) do(req *http.Request) page {
	b.g.t.Helper()
	resp, err := b.hc.Do(req)
	if err != nil {
		b.g.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	b.last = page{Status: resp.StatusCode, URL: resp.Request.URL.Path, Body: string(raw)}
	return b.last
}

// get loads a console page.
func (b *browser) get(path string) page {
	b.g.t.Helper()
	req, err := http.NewRequestWithContext(b.g.t.Context(), http.MethodGet, b.g.URL+path, nil)
	if err != nil {
		b.g.t.Fatal(err)
	}
	return b.do(req)
}

// post submits a form with the CSRF token of the last page seen; the
// caller's form is left as it was, so one may be sent by several people.
func (b *browser) post(path string, form url.Values) page {
	b.g.t.Helper()
	form = maps.Clone(form)
	if form == nil {
		form = url.Values{}
	}
	if !form.Has("csrf") {
		form.Set("csrf", b.last.csrf())
	}
	return b.postRaw(path, form)
}

// confirm is the form of a destructive or powerful action's confirmed
// post: the console writes only with it, and without it answers with the
// dry run's confirmation page.
var confirm = url.Values{"confirm": {"1"}}

// postRaw submits form exactly as given.
func (b *browser) postRaw(path string, form url.Values) page {
	b.g.t.Helper()
	req, err := http.NewRequestWithContext(b.g.t.Context(), http.MethodPost, b.g.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.g.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// signIn signs in through the development sign-in as user:<id>.
func (b *browser) signIn(id string) {
	b.g.t.Helper()
	if p := b.get("/console/login"); p.Status != http.StatusOK {
		b.g.t.Fatalf("sign-in page: %d", p.Status)
	}
	p := b.post("/console/login", url.Values{"user": {id}})
	if p.Status != http.StatusOK || p.URL != "/console/" || !strings.Contains(p.Body, "Signed in as <strong>user:"+id+"</strong>") {
		b.g.t.Fatalf("signing in as %s: %d %s\n%s", id, p.Status, p.URL, p.Body)
	}
}

// signedIn returns a browser signed in as user:<id>.
func (g *gate) signedIn(id string) *browser {
	g.t.Helper()
	b := g.browser()
	b.signIn(id)
	return b
}

// cookie returns the browser's session cookie value.
func (b *browser) cookie() string {
	u, _ := url.Parse(b.g.URL + "/console/")
	for _, c := range b.hc.Jar.Cookies(u) {
		if c.Name == "gatehouse_console" {
			return c.Value
		}
	}
	return ""
}

// lacks fails the test when any of s is on p.
func lacks(t *testing.T, p page, s ...string) {
	t.Helper()
	if i := slices.IndexFunc(s, p.contains); i >= 0 {
		t.Errorf("%s shows %q", p.URL, s[i])
	}
}

// shows fails the test unless every one of s is on p.
func shows(t *testing.T, p page, s ...string) {
	t.Helper()
	for _, x := range s {
		if !p.contains(x) {
			t.Errorf("%s (%d) does not show %q:\n%s", p.URL, p.Status, x, p.Body)
		}
	}
}

// auditEvent waits (the trail is written behind the change, X2) for the
// newest event of org that match accepts, read through the API, and
// returns it; the test fails after ten seconds without one.
func (g *gate) auditEvent(org string, match func(map[string]any) bool) map[string]any {
	g.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		_, body := g.api("GET", "/v1/audit?organisation="+url.QueryEscape(org), "", nil)
		events, _ := body["events"].([]any)
		for _, e := range events {
			if ev, _ := e.(map[string]any); ev != nil && match(ev) {
				return ev
			}
		}
	}
	g.t.Fatalf("no matching audit event of %s", org)
	return nil
}
