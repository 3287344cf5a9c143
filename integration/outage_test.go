package integration_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/client"
	"github.com/gatehouse-authz/gatehouse/integration"
)

// outageFixture is SpiceDB on Postgres (so that a restart keeps the data)
// with Gatehouse in a container in front, in remote mode, as in production.
type outageFixture struct {
	sdb *integration.SpiceDB
	gh  *integration.Gatehouse
}

// outageCases are checks with known answers: any other answer is wrong.
var outageCases = []struct {
	resource, permission, subject string
	allowed                       bool
}{
	{"contractor:c1", "view", "user:bob", true},
	{"contractor:c1", "view", "user:mallory", false},
	{"organisation:acme", "edit_details", "user:bob", true},
	{"organisation:acme", "delete", "user:bob", false},
	{"contractor:c1", "view", "user:carol", true},
	{"contractor:c2", "view", "user:carol", false},
}

// MustOutageFixture starts the fixture and checks every case once.
func MustOutageFixture(t *testing.T) outageFixture {
	t.Helper()
	integration.RequireDocker(t)
	uri := integration.MustPostgresDatabase(t)
	sdb := integration.MustSpiceDB(t, integration.WithPostgres(uri), integration.WithRelationships(
		"organisation:acme#administrator@user:bob",
		"organisation:acme#cis_processor@user:carol",
		"contractor:c1#organisation@organisation:acme",
		"contractor:c2#organisation@organisation:acme",
		"contractor:c2#admin_only@user:*",
	))
	gh := integration.MustGatehouse(t, sdb)
	c := gh.Client()
	for _, tc := range outageCases {
		MustCheck(t, c, tc.resource, tc.permission, tc.subject, tc.allowed)
	}
	return outageFixture{sdb: sdb, gh: gh}
}

// tally counts the answers of one phase of the load.
type tally struct {
	name                     string
	right, unavailable       atomic.Int64
	wrong, noRetryAfter, bad atomic.Int64
	mu                       sync.Mutex
	samples                  []string
	// lastError is when the last answer other than a right one came
	// (Unix nanoseconds; 0: none).
	lastError atomic.Int64
	// errorsBySecond counts the answers other than right ones by the
	// second, from the phase's start, in which they came.
	errorsBySecond [60]atomic.Int64
	start          time.Time
}

// timeline lists the seconds of the phase that had errors: "s3:12 s4:40".
func (t *tally) timeline() string {
	var b strings.Builder
	for i := range t.errorsBySecond {
		if n := t.errorsBySecond[i].Load(); n != 0 {
			fmt.Fprintf(&b, " s%d:%d", i, n)
		}
	}
	return strings.TrimSpace(b.String())
}

func (t *tally) sample(s string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.samples) < 5 {
		t.samples = append(t.samples, s)
	}
}

func (t *tally) String() string {
	return fmt.Sprintf("%s: %d right, %d 503 with Retry-After, %d wrong, %d 503 without Retry-After, %d other %v",
		t.name, t.right.Load(), t.unavailable.Load(), t.wrong.Load(), t.noRetryAfter.Load(), t.bad.Load(), t.samples)
}

// failures counts the answers that must never happen.
func (t *tally) failures() int64 { return t.wrong.Load() + t.noRetryAfter.Load() + t.bad.Load() }

// load drives POST /v1/check from workers goroutines, raw HTTP with no
// retries of an answer, and books every answer to the current tally.
type load struct {
	url, key string
	hc       *http.Client
	current  atomic.Pointer[tally]
	stop     chan struct{}
	wg       sync.WaitGroup
}

func startLoad(ctx context.Context, gh *integration.Gatehouse, workers int) *load {
	l := &load{
		url: gh.URL() + "/v1/check", key: gh.APIKey(), stop: make(chan struct{}),
		hc: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: workers}},
	}
	l.current.Store(&tally{name: "start", start: time.Now()})
	for w := range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for i := w; ; i++ {
				select {
				case <-l.stop:
					return
				default:
				}
				l.one(ctx, i%len(outageCases))
			}
		}()
	}
	return l
}

// phase books the answers from now on to a new tally named name.
func (l *load) phase(name string) *tally {
	t := &tally{name: name, start: time.Now()}
	l.current.Store(t)
	return t
}

func (l *load) halt() {
	close(l.stop)
	l.wg.Wait()
}

func (l *load) one(ctx context.Context, i int) {
	tc := outageCases[i]
	body, _ := json.Marshal(map[string]string{"resource": tc.resource, "permission": tc.permission, "subject": tc.subject})
	t := l.current.Load()
	right := false
	defer func() {
		if !right {
			now := time.Now()
			t.lastError.Store(now.UnixNano())
			t.errorsBySecond[min(int(now.Sub(t.start)/time.Second), len(t.errorsBySecond)-1)].Add(1)
		}
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.url, bytes.NewReader(body))
	if err != nil {
		t.bad.Add(1)
		t.sample(err.Error())
		return
	}
	req.Header.Set("Authorization", "Bearer "+l.key)
	req.Header.Set("Content-Type", "application/json")
	// A check is a read, so the transport may resend it over a new
	// connection when the kept-alive one it chose was closed as it sent
	// (Go's HTTP/1.1 client does that only for requests marked replayable;
	// golang/go#22158); the header itself is not sent. CI saw one such
	// "EOF" in a steady phase of TestClusterRollingRestartUnderLoad. No
	// answer of the service is retried.
	req.Header["X-Idempotency-Key"] = nil
	resp, err := l.hc.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			t.bad.Add(1)
			t.sample(err.Error())
		} else {
			right = true // the test is over, not the service
		}
		return
	}
	defer func() { _ = resp.Body.Close() }()
	var out struct {
		Allowed bool `json:"allowed"`
		Error   struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	decodeErr := json.NewDecoder(resp.Body).Decode(&out)
	switch {
	case resp.StatusCode == http.StatusOK && decodeErr == nil && out.Allowed == tc.allowed:
		t.right.Add(1)
		right = true
	case resp.StatusCode == http.StatusOK:
		t.wrong.Add(1)
		t.sample(fmt.Sprintf("%s %s %s answered %v", tc.resource, tc.permission, tc.subject, out.Allowed))
	case resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "" && out.Error.Code == client.EUNAVAILABLE:
		t.unavailable.Add(1)
	case resp.StatusCode == http.StatusServiceUnavailable:
		t.noRetryAfter.Add(1)
		t.sample(fmt.Sprintf("503 code %q Retry-After %q", out.Error.Code, resp.Header.Get("Retry-After")))
	default:
		t.bad.Add(1)
		t.sample(fmt.Sprintf("%d %s", resp.StatusCode, out.Error.Code))
	}
}

// TestSpiceDBOutageUnderLoad stops SpiceDB while Gatehouse (remote mode,
// in a container) answers checks from eight workers: every answer is right
// or a 503 with Retry-After, never a wrong one, and once SpiceDB is back
// Gatehouse answers right again by itself, without a restart.
func TestSpiceDBOutageUnderLoad(t *testing.T) {
	f := MustOutageFixture(t)
	ctx := t.Context()
	l := startLoad(ctx, f.gh, 8)
	defer l.halt()
	var phases []*tally
	report := func() {
		for _, p := range phases {
			t.Log(p)
		}
	}
	defer report()

	phases = append(phases, l.phase("before"))
	time.Sleep(2 * time.Second)

	stopAt := time.Now()
	phases = append(phases, l.phase("stopping"))
	if err := f.sdb.Stop(ctx, new(10*time.Second)); err != nil {
		t.Fatal(err)
	}
	t.Logf("spicedb stopped in %v", time.Since(stopAt).Round(10*time.Millisecond))
	outage := l.phase("outage")
	phases = append(phases, outage)
	time.Sleep(3 * time.Second)
	if err := f.gh.Client().Ready(ctx); client.ErrorCode(err) != client.EUNAVAILABLE {
		t.Errorf("readyz during the outage: %v, want 503", err)
	}

	startAt := time.Now()
	phases = append(phases, l.phase("restarting"))
	if err := f.sdb.Start(ctx); err != nil {
		t.Fatal(err)
	}
	servingAt := time.Now()
	t.Logf("spicedb serving again %v after start", servingAt.Sub(startAt).Round(10*time.Millisecond))

	// Recovered: a full second in which every answer is right.
	var recoveredAt time.Time
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); {
		window := l.phase("recovering")
		time.Sleep(time.Second)
		phases = append(phases, window)
		if window.right.Load() > 0 && window.unavailable.Load() == 0 && window.failures() == 0 {
			recoveredAt = time.Now().Add(-time.Second)
			break
		}
	}
	if recoveredAt.IsZero() {
		t.Fatal("gatehouse did not answer right again within a minute of spicedb serving")
	}
	t.Logf("gatehouse answering right again %v after spicedb served", max(recoveredAt.Sub(servingAt), 0).Round(10*time.Millisecond))
	after := l.phase("after")
	phases = append(phases, after)
	time.Sleep(2 * time.Second)
	if err := f.gh.Client().Ready(ctx); err != nil {
		t.Errorf("readyz after recovery: %v", err)
	}

	for _, p := range phases {
		if p.failures() != 0 {
			t.Errorf("phase %s: answers that must never happen: %s", p.name, p)
		}
	}
	if outage.unavailable.Load() == 0 {
		t.Errorf("no 503 with Retry-After while spicedb was stopped: %s", outage)
	}
	if n := phases[0].right.Load(); n == 0 || phases[0].unavailable.Load() != 0 {
		t.Errorf("before the outage: %s", phases[0])
	}
	if after.right.Load() == 0 || after.unavailable.Load() != 0 {
		t.Errorf("after recovery: %s", after)
	}
}

// countingTransport counts the answers by status and notes each attempt.
type countingTransport struct {
	unavailable, ok atomic.Int64
	mu              sync.Mutex
	since           time.Time
	attempts        []string
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := http.DefaultTransport.RoundTrip(r)
	what := "error"
	if err == nil {
		what = resp.Status
		switch resp.StatusCode {
		case http.StatusServiceUnavailable:
			c.unavailable.Add(1)
			what += " Retry-After " + resp.Header.Get("Retry-After")
		case http.StatusOK:
			c.ok.Add(1)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.attempts = append(c.attempts, fmt.Sprintf("at %v took %v: %s",
		start.Sub(c.since).Round(10*time.Millisecond), time.Since(start).Round(10*time.Millisecond), what))
	return resp, err
}

// outageFor is how long SpiceDB stays down in the retry test: longer than
// the client's first attempt may wait for Gatehouse's gRPC connection to
// find SpiceDB gone.
const outageFor = 8 * time.Second

// TestClientRetryRidesOverSpiceDBRestart calls Gatehouse through client/
// while SpiceDB is down; the client's retries, honouring Retry-After, carry
// the call over the restart to the right answer.
func TestClientRetryRidesOverSpiceDBRestart(t *testing.T) {
	f := MustOutageFixture(t)
	ctx := t.Context()
	counter := &countingTransport{since: time.Now()}
	c := f.gh.Client(client.WithRetries(20), client.WithBackoff(200*time.Millisecond, 3*time.Second),
		client.WithHTTPClient(&http.Client{Transport: counter, Timeout: 30 * time.Second}))

	if err := f.sdb.Stop(ctx, new(10*time.Second)); err != nil {
		t.Fatal(err)
	}
	downAt := time.Now()
	counter.since = downAt
	restarted := make(chan error, 1)
	var servingAt atomic.Pointer[time.Time]
	go func() {
		time.Sleep(outageFor)
		err := f.sdb.Start(ctx)
		now := time.Now()
		servingAt.Store(&now)
		restarted <- err
	}()

	res, err := c.Check(ctx, client.CheckRequest{Resource: "contractor:c1", Permission: "view", Subject: "user:bob"})
	answeredAt := time.Now()
	if rerr := <-restarted; rerr != nil {
		t.Fatal(rerr)
	}
	if err != nil {
		t.Fatalf("check across the restart: %v (after %d 503s)", err, counter.unavailable.Load())
	}
	if !res.Allowed {
		t.Fatal("check across the restart answered denied, want allowed")
	}
	t.Logf("attempts, from the stop:\n  %s", strings.Join(counter.attempts, "\n  "))
	if counter.unavailable.Load() == 0 {
		t.Error("the client saw no 503: the outage was not ridden over")
	}
	t.Logf("one Check call lasted %v across the outage, riding over %d 503s; answered %v after spicedb served",
		answeredAt.Sub(downAt).Round(10*time.Millisecond), counter.unavailable.Load(),
		answeredAt.Sub(*servingAt.Load()).Round(10*time.Millisecond))

	// A write made now is seen at once, the token carried to the next read.
	w, err := c.As("user:bob").CreateContractor(ctx, "acme", client.Contractor{ID: "c3"})
	if err != nil {
		t.Fatal(err)
	}
	res, err = c.WithConsistency(client.AtLeastAsFresh(w.ZedToken)).Check(ctx, client.CheckRequest{Resource: "contractor:c3", Permission: "view", Subject: "user:carol"})
	if err != nil || !res.Allowed {
		t.Fatalf("check after write: %+v, %v", res, err)
	}
}
