package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/server"
)

// logBuffer collects the server's JSON log lines, safe for its goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// lines returns every log record as a map.
func (l *logBuffer) lines(tb testing.TB) []map[string]any {
	tb.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(l.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			tb.Fatalf("log line is not JSON: %q", sc.Text())
		}
		out = append(out, m)
	}
	return out
}

// request returns the access log record of the request with id, or nil.
func (l *logBuffer) request(tb testing.TB, id string) map[string]any {
	tb.Helper()
	for _, m := range l.lines(tb) {
		if m["msg"] == "request" && m["request_id"] == id {
			return m
		}
	}
	return nil
}

// secured is a Gatehouse for the trust-boundary tests: its log is kept, its
// deps adjustable.
type secured struct {
	*API
	Log     *logBuffer
	Handler http.Handler
}

// mustSecured starts a Gatehouse on embedded SpiceDB with a JSON log and
// the deps edit makes (keys, rate limit, a wrapped store).
func mustSecured(tb testing.TB, edit func(*server.Deps)) *secured {
	tb.Helper()
	logs := &logBuffer{}
	a, h := mustServer(tb, slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), edit)
	return &secured{API: a, Log: logs, Handler: h}
}

// send is a request with free headers; it returns the status, headers and body.
func (s *secured) send(method, path string, header map[string]string, body string) (int, http.Header, string) {
	s.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(s.t.Context(), method, s.URL+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(raw)
}

// TestKeyName covers api.md's naming of keys: name=secret, else key-<sha256>.
func TestKeyName(t *testing.T) {
	for _, tc := range []struct{ entry, name, secret string }{
		{"backend-1=secret", "backend-1", "secret"},
		{"ci_2=a=b", "ci_2", "a=b"},
		{"plain-secret", "key-cc0e7608", "plain-secret"},
		{"Backend=secret", "key-", "Backend=secret"},
		{"has space=secret", "key-", "has space=secret"},
		{strings.Repeat("a", 33) + "=secret", "key-", strings.Repeat("a", 33) + "=secret"},
		{strings.Repeat("a", 32) + "=secret", strings.Repeat("a", 32), "secret"},
	} {
		name, secret := server.KeyName(tc.entry)
		if !strings.HasPrefix(name, tc.name) || secret != tc.secret {
			t.Errorf("KeyName(%q) = %q, %q; want %q, %q", tc.entry, name, secret, tc.name, tc.secret)
		}
		if strings.HasPrefix(name, "key-") && len(name) != len("key-")+8 {
			t.Errorf("KeyName(%q) = %q: an unnamed key is key- and 8 hex digits", tc.entry, name)
		}
	}
	for name, lists := range map[string][3][]string{
		"empty secret":           {{"ci="}, nil, nil},
		"name twice":             {{"a=x"}, {"a=y"}, nil},
		"secret twice":           {{"a=x"}, nil, {"b=x"}},
		"unnamed secret twice":   {{"same"}, {"same"}, nil},
		"named and unnamed same": {{"a=same"}, {"same"}, nil},
	} {
		if err := server.CheckKeys(lists[0], lists[1], lists[2]); err == nil {
			t.Errorf("%s: accepted", name)
		} else if strings.Contains(err.Error(), "same\"") || strings.Contains(err.Error(), "=x") {
			t.Errorf("%s: %q shows a secret", name, err)
		}
	}
	if err := server.CheckKeys([]string{"a=x", "y"}, []string{"c=z"}, []string{"p=w"}); err != nil {
		t.Errorf("distinct keys refused: %v", err)
	}
}

// TestAuditRecordsKeyName: every audit event names the key that made the
// change (never its secret), through Write and DeleteMatching alike.
func TestAuditRecordsKeyName(t *testing.T) {
	const secret = "s3cr3t-b4ck3nd-value"
	s := mustSecured(t, func(d *server.Deps) { d.Keys = []string{"backend-1=" + secret} })
	do := func(method, path string, body any) Response {
		t.Helper()
		return s.DoKey(secret, method, path, "user:kim", body)
	}
	if r := do("POST", "/v1/organisations", map[string]any{"id": "keyed", "name": "Keyed Ltd"}); r.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.Status, r.Raw)
	}
	if r := do("PUT", "/v1/organisations/keyed/members/lee/roles/administrator", nil); r.Status != http.StatusNoContent {
		t.Fatalf("grant: %d %s", r.Status, r.Raw)
	}
	if r := do("DELETE", "/v1/organisations/keyed", nil); r.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.Status, r.Raw)
	}
	r := do("GET", "/v1/audit?organisation=keyed", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("audit: %d %s", r.Status, r.Raw)
	}
	if strings.Contains(string(r.Raw), secret) {
		t.Errorf("the audit trail shows the secret: %s", r.Raw)
	}
	events, _ := r.Body["events"].([]any)
	if len(events) < 3 {
		t.Fatalf("want at least 3 events, got %s", r.Raw)
	}
	for _, e := range events {
		if k := e.(map[string]any)["key"]; k != "backend-1" {
			t.Errorf("event without the key name: %v", e)
		}
	}
	if !strings.Contains(string(r.Raw), `"key":"backend-1"`) {
		t.Errorf(`want "key":"backend-1" in %s`, r.Raw)
	}
	if strings.Contains(s.Log.String(), secret) {
		t.Errorf("the log shows the secret")
	}
}

// callerStore records the caller of every write.
type callerStore struct {
	gatehouse.Store
	mu      sync.Mutex
	callers []gatehouse.Caller
}

func (c *callerStore) Write(ctx context.Context, w gatehouse.Write) (string, error) {
	c.mu.Lock()
	c.callers = append(c.callers, gatehouse.CallerFrom(ctx))
	c.mu.Unlock()
	return c.Store.Write(ctx, w)
}

// TestCallerOnContext: the key's name, its kind and the request id reach
// the Store; a platform key says so; the bearer scheme is any letter case.
func TestCallerOnContext(t *testing.T) {
	cs := &callerStore{}
	s := mustSecured(t, func(d *server.Deps) {
		cs.Store = d.Store
		d.Store = cs
		d.Keys = []string{"backend=full-secret"}
		d.PlatformKeys = []string{"ops=platform-secret"}
	})
	// The raw endpoint writes only on an organisation that exists (O2).
	if _, err := cs.Store.Write(t.Context(), gatehouse.Write{Updates: []gatehouse.Update{{Op: gatehouse.Touch, Relationship: gatehouse.Relationship{
		Resource: gatehouse.OrganisationRef("p"), Relation: gatehouse.RoleOwner, Subject: gatehouse.User("o"),
	}}}}); err != nil {
		t.Fatal(err)
	}
	touch := `{"touch":["organisation:p#administrator@user:a"],"reason":"test"}`
	for _, tc := range []struct {
		auth, name string
		platform   bool
	}{
		{"Bearer full-secret", "backend", false},
		{"bearer platform-secret", "ops", true},
		{"BEARER platform-secret", "ops", true},
	} {
		id := "req-" + tc.name + strconv.Itoa(len(cs.callers))
		st, _, body := s.send("POST", "/v1/relationships", map[string]string{"Authorization": tc.auth, "X-Request-Id": id, "Content-Type": "application/json"}, touch)
		if st != http.StatusOK {
			t.Fatalf("%s: %d %s", tc.auth, st, body)
		}
		got := cs.callers[len(cs.callers)-1]
		if got != (gatehouse.Caller{KeyName: tc.name, RequestID: id, Platform: tc.platform}) {
			t.Errorf("%s: caller %+v", tc.auth, got)
		}
	}
}

// TestPlatformKey: only a platform key changes platform#staff through the
// raw endpoint (X4); a full key is refused with 403 and nothing changes.
func TestPlatformKey(t *testing.T) {
	s := mustSecured(t, func(d *server.Deps) {
		d.Keys = []string{"backend=full-secret", testKey}
		d.PlatformKeys = []string{"ops=platform-secret"}
	})
	staff := map[string]any{"touch": []string{"platform:provider#staff@user:mallory"}, "reason": "test"}
	before := s.snapshot()
	r := s.DoKey("full-secret", "POST", "/v1/relationships", "", staff)
	s.mustRefuse(t, r, refusal{status: http.StatusForbidden, field: "touch[0]", rule: "X4"}, before)
	if r := s.DoKey("platform-secret", "POST", "/v1/relationships", "", staff); r.Status != http.StatusOK {
		t.Fatalf("platform key: %d %s", r.Status, r.Raw)
	}
	if !s.Allowed("platform:provider", "staff", "user:mallory") {
		t.Error("the platform key's write did not land")
	}
}

// TestRequestID: every response carries X-Request-Id, the caller's own
// when it is sane, and the access log names it.
func TestRequestID(t *testing.T) {
	s := mustSecured(t, nil)
	for _, tc := range []struct {
		name, sent string
		echoed     bool
	}{
		{"uuid", "0b5f2c4e-9a1d-4f7e-8c3b-2d6e1f0a9b8c", true},
		{"base64 and colon", "trace:AbC+/=_.x", true},
		{"none", "", false},
		{"too long", strings.Repeat("a", 129), false},
		{"odd characters", "<script>alert(1)</script>", false},
		{"spaces", "a b", false},
	} {
		for _, path := range []string{"/healthz", "/v1/schema", "/nowhere"} {
			h := map[string]string{"Authorization": "Bearer " + testKey}
			if tc.sent != "" {
				h["X-Request-Id"] = tc.sent
			}
			_, hdr, _ := s.send("GET", path, h, "")
			got := hdr.Get("X-Request-Id")
			switch {
			case tc.echoed && got != tc.sent:
				t.Errorf("%s %s: X-Request-Id %q, want the caller's", tc.name, path, got)
			case !tc.echoed && (len(got) != 32 || got == tc.sent):
				t.Errorf("%s %s: X-Request-Id %q, want a generated one", tc.name, path, got)
			}
			if s.Log.request(t, got) == nil {
				t.Errorf("%s %s: no access log line for %q", tc.name, path, got)
			}
		}
	}
	_, h1, _ := s.send("GET", "/healthz", nil, "")
	_, h2, _ := s.send("GET", "/healthz", nil, "")
	if h1.Get("X-Request-Id") == h2.Get("X-Request-Id") {
		t.Errorf("two requests share the id %q", h1.Get("X-Request-Id"))
	}
}

// TestAccessLog: one JSON line per request with its id, route pattern,
// method, status, duration, key name and actor; refusals are logged with
// their id; no key ever reaches the log.
func TestAccessLog(t *testing.T) {
	s := mustSecured(t, func(d *server.Deps) {
		d.Keys = []string{"admin-tool=full-secret-1"}
		d.CheckKeys = []string{"backend=check-secret-1"}
	})
	for _, tc := range []struct {
		name, method, path, auth, actor, body string
		status                                int
		level, route, key, loggedActor        string
	}{
		{
			name: "ok", method: "POST", path: "/v1/organisations", auth: "Bearer full-secret-1", actor: "user:ana",
			body: `{"id":"logged","name":"Logged"}`, status: 201, level: "INFO", route: "/v1/organisations", key: "admin-tool", loggedActor: "user:ana",
		},
		{
			name: "route pattern not path", method: "GET", path: "/v1/organisations/logged", auth: "Bearer full-secret-1", actor: "user:ana",
			status: 200, level: "INFO", route: "/v1/organisations/:org", key: "admin-tool", loggedActor: "user:ana",
		},
		{
			name: "no key", method: "GET", path: "/v1/schema", status: 401, level: "WARN", route: "/v1/schema",
		},
		{
			name: "wrong key", method: "GET", path: "/v1/schema", auth: "Bearer not-a-key-zz", status: 401, level: "WARN", route: "/v1/schema",
		},
		{
			name: "check key on an admin route", method: "GET", path: "/v1/organisations/logged", auth: "Bearer check-secret-1", actor: "user:ana",
			status: 403, level: "WARN", route: "/v1/organisations/:org", key: "backend", loggedActor: "user:ana",
		},
		{
			name: "invalid actor not logged", method: "GET", path: "/v1/organisations/logged", auth: "Bearer full-secret-1", actor: "user:ana\u00e9!!",
			status: 400, level: "INFO", route: "/v1/organisations/:org", key: "admin-tool",
		},
		{
			name: "unmatched path", method: "GET", path: "/v1/secret-path-xyz", status: 404, level: "INFO", route: "other",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := "log-" + strings.ReplaceAll(tc.name, " ", "-")
			h := map[string]string{"X-Request-Id": id, "Content-Type": "application/json"}
			if tc.auth != "" {
				h["Authorization"] = tc.auth
			}
			if tc.actor != "" {
				h["Gatehouse-Actor"] = tc.actor
			}
			st, _, body := s.send(tc.method, tc.path, h, tc.body)
			if st != tc.status {
				t.Fatalf("status %d, want %d: %s", st, tc.status, body)
			}
			m := s.Log.request(t, id)
			if m == nil {
				t.Fatalf("no access log line with request_id %q in\n%s", id, s.Log.String())
			}
			want := map[string]any{"level": tc.level, "route": tc.route, "method": tc.method, "status": float64(tc.status)}
			for k, v := range want {
				if m[k] != v {
					t.Errorf("%s = %v, want %v (%v)", k, m[k], v, m)
				}
			}
			if got, _ := m["key"].(string); got != tc.key {
				t.Errorf("key = %q, want %q", got, tc.key)
			}
			if got, _ := m["actor"].(string); got != tc.loggedActor {
				t.Errorf("actor = %q, want %q", got, tc.loggedActor)
			}
			if _, ok := m["duration_ms"].(float64); !ok {
				t.Errorf("no duration_ms: %v", m)
			}
		})
	}
	logs := s.Log.String()
	for _, secret := range []string{"full-secret-1", "check-secret-1", "not-a-key-zz", "secret-path-xyz"} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log shows %q", secret)
		}
	}
}

// panicStore panics on every check.
type panicStore struct{ gatehouse.Store }

func (panicStore) Check(context.Context, gatehouse.CheckRequest) (gatehouse.CheckResult, error) {
	panic("boom in the store")
}

// TestPanicLogged: a panic is a 500 that says only "internal error", and
// the log has its stack and the request id.
func TestPanicLogged(t *testing.T) {
	s := mustSecured(t, func(d *server.Deps) { d.Store = panicStore{d.Store} })
	st, hdr, body := s.send("POST", "/v1/check", map[string]string{
		"Authorization": "Bearer " + testKey, "X-Request-Id": "panic-1", "Content-Type": "application/json",
	}, `{"resource":"contractor:c1","permission":"view","subject":"user:alice"}`)
	if st != http.StatusInternalServerError || strings.Contains(body, "boom") || hdr.Get("X-Request-Id") != "panic-1" {
		t.Fatalf("got %d %s (X-Request-Id %q)", st, body, hdr.Get("X-Request-Id"))
	}
	var found bool
	for _, m := range s.Log.lines(t) {
		if m["msg"] == "panic" {
			found = true
			stack, _ := m["stack"].(string)
			if m["request_id"] != "panic-1" || m["panic"] != "boom in the store" || !strings.Contains(stack, "panicStore.Check") {
				t.Errorf("panic log line: %v", m)
			}
		}
	}
	if !found {
		t.Errorf("no panic log line in\n%s", s.Log.String())
	}
	if m := s.Log.request(t, "panic-1"); m == nil || m["status"] != float64(500) || m["level"] != "ERROR" {
		t.Errorf("access log of the panic: %v", m)
	}
}

// TestClientGoneNotAnError: a request whose client went away is answered
// 499 and logged as such, never as an error or a SpiceDB failure.
func TestClientGoneNotAnError(t *testing.T) {
	s := mustSecured(t, nil)
	for _, path := range []string{"/v1/check", "/v1/explain"} {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		req := httptest.NewRequestWithContext(ctx, "POST", path, strings.NewReader(`{"resource":"contractor:c1","permission":"view","subject":"user:alice"}`))
		req.Header.Set("Authorization", "Bearer "+testKey)
		req.Header.Set("X-Request-Id", "gone"+path)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		s.Handler.ServeHTTP(rec, req)
		if rec.Code != 499 {
			t.Errorf("%s: status %d, want 499: %s", path, rec.Code, rec.Body)
		}
	}
	for _, m := range s.Log.lines(t) {
		if m["level"] == "ERROR" {
			t.Errorf("a client that went away is logged as an error: %v", m)
		}
	}
}

// blockingStore answers a check only when its context ends.
type blockingStore struct{ gatehouse.Store }

func (blockingStore) Check(ctx context.Context, _ gatehouse.CheckRequest) (gatehouse.CheckResult, error) {
	<-ctx.Done()
	return gatehouse.CheckResult{}, &gatehouse.Error{Code: gatehouse.EUNAVAILABLE, Message: "SpiceDB did not answer in time", Err: ctx.Err()}
}

// TestRequestDeadline: no request works longer than RequestTimeout.
func TestRequestDeadline(t *testing.T) {
	s := mustSecured(t, func(d *server.Deps) {
		d.Store = blockingStore{d.Store}
		d.RequestTimeout = 50_000_000 // 50ms
	})
	st, _, body := s.send("POST", "/v1/check", map[string]string{"Authorization": "Bearer " + testKey, "Content-Type": "application/json"},
		`{"resource":"contractor:c1","permission":"view","subject":"user:alice"}`)
	if st != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503: %s", st, body)
	}
}

// seriesOf counts the series of gatehouse_http_requests_total, and says
// whether any label carries one of the made-up values.
func seriesOf(t *testing.T, s *secured, madeUp string) int {
	t.Helper()
	_, _, body := s.send("GET", "/metrics", nil, "")
	n := 0
	for line := range strings.SplitSeq(body, "\n") {
		if strings.HasPrefix(line, "gatehouse_http_requests_total{") {
			n++
			if strings.Contains(line, madeUp) {
				t.Errorf("a caller-chosen label: %s", line)
			}
		}
	}
	return n
}

// TestMetricsLabelsFixed: 200 requests with made-up methods and paths, no
// key, add no series to /metrics.
func TestMetricsLabelsFixed(t *testing.T) {
	s := mustSecured(t, nil)
	send := func(i int) {
		method := fmt.Sprintf("MADEUP%d", i)
		paths := []string{fmt.Sprintf("/madeup%d", i), "/v1/check", fmt.Sprintf("/v1/organisations/madeup%d", i), "/healthz"}
		st, _, _ := s.send(method, paths[i%len(paths)], nil, "")
		if st < 400 {
			t.Errorf("%s %s: %d", method, paths[i%len(paths)], st)
		}
		s.send("GET", fmt.Sprintf("/madeup-get%d", i), nil, "")
		s.send("DELETE", fmt.Sprintf("/v1/contractors/madeup%d", i), nil, "")
	}
	for i := range 8 {
		send(i)
	}
	seriesOf(t, s, "madeup") // the scrape itself is a series
	before := seriesOf(t, s, "madeup")
	for i := 8; i < 208; i++ {
		send(i)
	}
	if after := seriesOf(t, s, "madeup"); after != before {
		t.Errorf("200 made-up requests added %d series", after-before)
	}
	_, _, body := s.send("GET", "/metrics", nil, "")
	if !strings.Contains(body, `method="other"`) || !strings.Contains(body, `route="other"`) {
		t.Errorf("made-up methods and paths are not counted as other")
	}
}

// TestRateLimit: a key over GATEHOUSE_RATE_LIMIT gets 429 with Retry-After
// and code rate_limited; other keys are not affected.
func TestRateLimit(t *testing.T) {
	s := mustSecured(t, func(d *server.Deps) {
		d.Keys = []string{"busy=busy-secret", "calm=calm-secret"}
		d.RateLimit, d.RateBurst = 0.5, 3
	})
	get := func(key string) Response { return s.DoKey(key, "GET", "/v1/schema", "", nil) }
	for i := range 3 {
		if r := get("busy-secret"); r.Status != http.StatusOK {
			t.Fatalf("request %d within the burst: %d %s", i, r.Status, r.Raw)
		}
	}
	r := get("busy-secret")
	if r.Status != http.StatusTooManyRequests || r.ErrorCode() != gatehouse.ERATELIMITED {
		t.Fatalf("over the limit: %d %s", r.Status, r.Raw)
	}
	if ra, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || ra < 1 || ra > 2 {
		t.Errorf("Retry-After %q, want 1 or 2 seconds at 0.5/s", r.Header.Get("Retry-After"))
	}
	if strings.Contains(string(r.Raw), "busy-secret") {
		t.Errorf("the answer shows the key: %s", r.Raw)
	}
	if r := get("calm-secret"); r.Status != http.StatusOK {
		t.Errorf("another key is limited too: %d", r.Status)
	}
	// Refused requests spend nothing: the key is still refused, not further behind.
	if r := get("busy-secret"); r.Status != http.StatusTooManyRequests {
		t.Errorf("want 429 again, got %d", r.Status)
	}
	// Without a limit, nothing is refused.
	free := mustSecured(t, nil)
	for range 50 {
		if r := free.Do("GET", "/v1/schema", "", nil); r.Status != http.StatusOK {
			t.Fatalf("no limit set, yet %d", r.Status)
		}
	}
}

// canceledStore answers every check as SpiceDB does when a dispatch to a
// node that died is cut: canceled, though the caller is still waiting.
type canceledStore struct{ gatehouse.Store }

func (canceledStore) Check(context.Context, gatehouse.CheckRequest) (gatehouse.CheckResult, error) {
	return gatehouse.CheckResult{}, &gatehouse.Error{Code: gatehouse.ECANCELED, Message: "request canceled"}
}

// TestSpiceDBCancellationIs503: a cancellation the caller did not make is
// an outage to retry (503 with Retry-After), never a 499.
func TestSpiceDBCancellationIs503(t *testing.T) {
	s := mustSecured(t, func(d *server.Deps) { d.Store = canceledStore{d.Store} })
	st, h, body := s.send("POST", "/v1/check", map[string]string{"Authorization": "Bearer " + testKey, "Content-Type": "application/json"},
		`{"resource":"organisation:acme","permission":"member","subject":"user:ann"}`)
	if st != http.StatusServiceUnavailable || h.Get("Retry-After") == "" {
		t.Errorf("check SpiceDB canceled: %d, Retry-After %q: %s", st, h.Get("Retry-After"), body)
	}
}
