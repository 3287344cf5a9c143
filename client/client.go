// Package client is the Go client of Gatehouse's HTTP API (api.md): checks
// and lookups for application backends, relationships and the audit trail
// for platform operators, and the organisation, member and change-request
// endpoints for admin tools.
//
// Every call takes a context. A call is retried, with exponential backoff
// and a bounded number of times, only when a retry cannot do a change
// twice or report a change it made as someone else's (a misleading 409):
//
//   - any call whose connection was never made (a dial error: refused,
//     no route, DNS), since then not a byte of it reached the server;
//   - any call answered 429: the rate limit refuses a request before any
//     handler runs, so nothing was done;
//   - an idempotent call (GET, PUT, PATCH, DELETE, and the POSTs that only
//     read or that touch and delete: checks, lookups, explain, raw
//     relationship writes) after a 503 or a transport error.
//
// A creating or deciding POST (organisations, contractors, invoices,
// change requests, authorising, rejecting, withdrawing, raising flags,
// overriding and confirming an override, transferring ownership) is not retried
// after a 503 or a connection that broke once sent: the server may have
// committed it before it failed, and a retry would answer 409 "exists" or
// 403 for the caller's own change. The caller gets the error and can read
// the state. Retries wait at least the server's Retry-After. Any other
// answer outside 2xx comes back as an *Error that errors.As matches:
//
//	c := client.New("http://127.0.0.1:8080", key, client.WithActor("alice"))
//	res, err := c.Check(ctx, client.CheckRequest{
//		Resource: "contractor:c1", Permission: "view", Subject: "user:alice",
//	})
//	var e *client.Error
//	if errors.As(err, &e) && e.Code == client.EFORBIDDEN { ... }
//
// Reads see the writes made through the same Gatehouse process. To see a
// write made through another one, pass its ZedToken:
// req.Consistency = client.AtLeastAsFresh(tok), or for every read of a
// derived client, c.WithConsistency(client.AtLeastAsFresh(tok)).
//
// Any write can be tried first without being made (X7): c.DryRun(func(c
// *client.Client) error { ... }) answers the relationships it would change
// and the permissions people would gain or lose.
//
// client imports only wire, the root package and the standard library, so
// an application backend pulls in neither Gin nor SpiceDB; cmd/gatehouse
// (the CLI) and integration import it.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// Defaults of the retry policy; see WithRetries and WithBackoff.
const (
	DefaultMaxRetries = 5
	DefaultMinBackoff = 100 * time.Millisecond
	DefaultMaxBackoff = 5 * time.Second
)

// Client calls one Gatehouse server. It is safe for concurrent use. The
// methods As and WithConsistency return derived clients that share its
// connections, as does the one DryRun hands its function.
type Client struct {
	base       *url.URL
	apiKey     string
	hc         *http.Client
	userAgent  string
	actor      string
	cons       *Consistency
	maxRetries int
	minBackoff time.Duration
	maxBackoff time.Duration
	// dry, inside DryRun, turns every write into a dry run and keeps its
	// answer.
	dry *dryRuns
}

// Option configures a Client made by New.
type Option func(*Client)

// WithHTTPClient makes the client send its requests through hc (for
// timeouts, TLS settings or instrumentation). The default is a client of
// its own with a 30-second timeout.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) { c.hc = hc }
}

// WithActor sends Gatehouse-Actor: user:<id> with every request; the
// organisation endpoints act for that person. id may be bare ("alice") or
// typed ("user:alice").
func WithActor(id string) Option {
	return func(c *Client) { c.actor = actorRef(id) }
}

// WithRetries sets how many times a failed call is retried (0 disables
// retries). The default is DefaultMaxRetries.
func WithRetries(n int) Option {
	return func(c *Client) { c.maxRetries = max(n, 0) }
}

// WithBackoff sets the first and the longest wait between retries; the
// wait doubles from minWait up to maxWait, with jitter. A Retry-After
// longer than maxWait is not waited for: the 503 is returned instead.
func WithBackoff(minWait, maxWait time.Duration) Option {
	return func(c *Client) {
		c.minBackoff = max(minWait, time.Millisecond)
		c.maxBackoff = max(maxWait, c.minBackoff)
	}
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option {
	return func(c *Client) { c.userAgent = ua }
}

// New returns a client of the Gatehouse server at baseURL (such as
// "http://127.0.0.1:8080") that authenticates with apiKey. A baseURL that
// does not parse makes every call fail with that error.
func New(baseURL, apiKey string, opts ...Option) *Client {
	c := &Client{
		apiKey:     apiKey,
		hc:         &http.Client{Timeout: 30 * time.Second},
		userAgent:  "gatehouse-go-client",
		maxRetries: DefaultMaxRetries,
		minBackoff: DefaultMinBackoff,
		maxBackoff: DefaultMaxBackoff,
	}
	if u, err := url.Parse(strings.TrimRight(baseURL, "/")); err == nil {
		c.base = u
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// As returns a client that acts for the user id (bare or "user:<id>"),
// sharing c's connections and settings.
func (c *Client) As(id string) *Client {
	d := *c
	d.actor = actorRef(id)
	return &d
}

// WithConsistency returns a client whose reads use cons unless a request
// names its own, sharing c's connections and settings. Pass
// AtLeastAsFresh(token) to see the write that returned token.
func (c *Client) WithConsistency(cons *Consistency) *Client {
	d := *c
	d.cons = cons
	return &d
}

// BaseURL returns the address of the server the client calls.
func (c *Client) BaseURL() string {
	if c.base == nil {
		return ""
	}
	return c.base.String()
}

// consistency returns cons, or the client's default when cons is nil.
func (c *Client) consistency(cons *Consistency) *Consistency {
	if cons != nil {
		return cons
	}
	return c.cons
}

func actorRef(id string) string {
	if id == "" || strings.Contains(id, ":") {
		return id
	}
	return "user:" + id
}

// call describes one request: idempotent calls are also retried after a
// transport error that may have happened after the request was sent.
type call struct {
	method     string
	path       string
	query      url.Values
	body       any
	out        any
	idempotent bool
	// read marks a POST that only reads (checks, lookups, explain): it is
	// sent as it is inside DryRun. Every other call but a GET is a write.
	read bool
	// noAuth leaves out the Authorization header (health endpoints).
	noAuth bool
	// token receives the Gatehouse-Zed-Token header of the answer.
	token *string
	// accept, when set, is the Accept header, and sink receives the 2xx
	// body as it comes (an export) instead of out.
	accept string
	sink   io.Writer
}

// do sends the call, retrying as the policy allows, and decodes a 2xx body
// into call.out.
func (c *Client) do(ctx context.Context, cl call) error {
	if c.base == nil {
		return fmt.Errorf("gatehouse client: invalid base URL")
	}
	if c.dry != nil && cl.writes() {
		return c.dryRun(ctx, cl)
	}
	var payload []byte
	if cl.body != nil {
		b, err := json.Marshal(cl.body)
		if err != nil {
			return fmt.Errorf("encode %s %s: %w", cl.method, cl.path, err)
		}
		payload = b
	}
	// Path segments arrive escaped (seg), so they are joined as text
	// rather than through url.URL.Path, which would escape them again.
	target := c.base.String() + cl.path
	if len(cl.query) > 0 {
		target += "?" + cl.query.Encode()
	}

	for attempt := 0; ; attempt++ {
		err := c.once(ctx, cl, target, payload)
		if err == nil {
			return nil
		}
		wait, retry := c.retryable(cl, err, attempt)
		if !retry {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return errors.Join(ctx.Err(), err)
		case <-t.C:
		}
	}
}

// once sends one attempt of the call.
func (c *Client) once(ctx context.Context, cl call, target string, payload []byte) error {
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, target, body)
	if err != nil {
		return fmt.Errorf("gatehouse %s %s: %w", cl.method, cl.path, err)
	}
	req.Header.Set("Accept", "application/json")
	if cl.accept != "" {
		req.Header.Set("Accept", cl.accept)
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if !cl.noAuth && c.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.apiKey)
	}
	if c.actor != "" {
		req.Header.Set(ActorHeader, c.actor)
	}
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return &transportError{method: cl.method, path: cl.path, err: err}
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return parseError(resp)
	}
	if cl.token != nil {
		*cl.token = resp.Header.Get(ZedTokenHeader)
	}
	if cl.sink != nil {
		if _, err := io.Copy(cl.sink, resp.Body); err != nil {
			return fmt.Errorf("gatehouse %s %s: reading the export: %w", cl.method, cl.path, err)
		}
		return nil
	}
	if cl.out == nil || resp.StatusCode == http.StatusNoContent {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(cl.out); err != nil {
		return fmt.Errorf("gatehouse %s %s: decode answer: %w", cl.method, cl.path, err)
	}
	return nil
}

// retryable says whether err after attempt (0-based) is worth another try
// and how long to wait first.
func (c *Client) retryable(cl call, err error, attempt int) (time.Duration, bool) {
	if attempt >= c.maxRetries {
		return 0, false
	}
	backoff := c.backoff(attempt)
	var e *Error
	if errors.As(err, &e) {
		// 429 comes before any handler; a 503 may come after a commit
		// (SpiceDB answered late, or the request outlived its deadline).
		if e.Status != http.StatusTooManyRequests && (e.Status != http.StatusServiceUnavailable || !cl.idempotent) {
			return 0, false
		}
		if e.RetryAfter > c.maxBackoff {
			return 0, false
		}
		return max(backoff, e.RetryAfter), true
	}
	var te *transportError
	if !errors.As(err, &te) {
		return 0, false
	}
	// A connection never made never carried the request, so any call may
	// go again; other transport failures may have reached the server.
	if neverSent(err) || (cl.idempotent && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)) {
		return backoff, true
	}
	return 0, false
}

// neverSent says a transport error happened while connecting, before any
// byte of the request was written.
func neverSent(err error) bool {
	var op *net.OpError
	return errors.Is(err, syscall.ECONNREFUSED) || errors.As(err, &op) && op.Op == "dial"
}

// backoff returns the wait before retry attempt+1: exponential, capped,
// with jitter in its upper half so that many clients do not retry in step.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.minBackoff
	for range attempt {
		d *= 2
		if d >= c.maxBackoff {
			d = c.maxBackoff
			break
		}
	}
	half := d / 2
	return half + rand.N(half+1) //nolint:gosec // jitter needs no cryptographic randomness
}

// transportError is a failure to get an answer from the server at all.
type transportError struct {
	method, path string
	err          error
}

func (e *transportError) Error() string {
	return fmt.Sprintf("gatehouse %s %s: %v", e.method, e.path, e.err)
}

func (e *transportError) Unwrap() error { return e.err }

// get, post, put, patch and del are the shapes of call the endpoints use.
func (c *Client) get(ctx context.Context, path string, q url.Values, out any) error {
	return c.do(ctx, call{method: http.MethodGet, path: path, query: q, out: out, idempotent: true})
}

func (c *Client) post(ctx context.Context, path string, body, out any, idempotent bool) error {
	return c.do(ctx, call{method: http.MethodPost, path: path, body: body, out: out, idempotent: idempotent})
}

// ask is a POST that only reads, retried like a read and sent as it is
// inside DryRun.
func (c *Client) ask(ctx context.Context, path string, body, out any) error {
	return c.do(ctx, call{method: http.MethodPost, path: path, body: body, out: out, idempotent: true, read: true})
}

// put and del answer 204 with the write's ZedToken in a header.
func (c *Client) put(ctx context.Context, path string, q url.Values, body any) (*WriteResult, error) {
	var w WriteResult
	if err := c.do(ctx, call{method: http.MethodPut, path: path, query: q, body: body, idempotent: true, token: &w.ZedToken}); err != nil {
		return nil, err
	}
	return &w, nil
}

func (c *Client) patch(ctx context.Context, path string, body, out any) error {
	return c.do(ctx, call{method: http.MethodPatch, path: path, body: body, out: out, idempotent: true})
}

func (c *Client) del(ctx context.Context, path string) (*WriteResult, error) {
	return c.delWith(ctx, path, nil, nil)
}

// delWith is del with a query and an optional body (a designation's reason).
func (c *Client) delWith(ctx context.Context, path string, q url.Values, body any) (*WriteResult, error) {
	var w WriteResult
	if err := c.do(ctx, call{method: http.MethodDelete, path: path, query: q, body: body, idempotent: true, token: &w.ZedToken}); err != nil {
		return nil, err
	}
	return &w, nil
}

// seg escapes one path segment.
func seg(s string) string { return url.PathEscape(s) }

// bareUser turns "user:bob" into "bob"; paths name users by bare id.
func bareUser(s string) string {
	if id, ok := strings.CutPrefix(s, "user:"); ok {
		return id
	}
	return s
}

// Healthy returns nil when the server process answers GET /healthz.
func (c *Client) Healthy(ctx context.Context) error {
	return c.do(ctx, call{method: http.MethodGet, path: "/healthz", idempotent: true, noAuth: true})
}

// Ready returns nil when the server answers GET /readyz with 200: SpiceDB
// answers and the schema is written. It is not retried on 503, so that a
// caller polling for readiness learns at once.
func (c *Client) Ready(ctx context.Context) error {
	d := *c
	d.maxRetries = 0
	return d.do(ctx, call{method: http.MethodGet, path: "/readyz", idempotent: true, noAuth: true})
}
