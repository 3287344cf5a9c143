package ring_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sercand/kuberesolver/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/serviceconfig"

	"github.com/gatehouse-authz/gatehouse/ring"
)

// fakeNode is a node's gRPC health service on a loopback IP of its own.
type fakeNode struct {
	ip     string
	lis    net.Listener
	srv    *grpc.Server
	health *health.Server
	// frozen makes health checks wait for their deadline, as a node that
	// stops answering without closing its connections does.
	frozen atomic.Bool
}

// freezable is the health service of a fakeNode.
type freezable struct {
	*health.Server
	n *fakeNode
}

func (f freezable) Check(ctx context.Context, req *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	if f.n.frozen.Load() {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return f.Server.Check(ctx, req)
}

func startNode(t *testing.T, ip, port string) *fakeNode {
	t.Helper()
	var lis net.Listener
	var err error
	// The port may still be held for a moment by the node killed before.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if lis, err = net.Listen("tcp", net.JoinHostPort(ip, port)); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Skipf("loopback address %s: %v", ip, err)
	}
	n := &fakeNode{ip: ip, lis: lis, srv: grpc.NewServer(), health: health.NewServer()}
	healthpb.RegisterHealthServer(n.srv, freezable{n.health, n})
	go func() { _ = n.srv.Serve(lis) }()
	t.Cleanup(n.srv.Stop)
	return n
}

// kill ends the node at once, connections and all, as SIGKILL does.
func (n *fakeNode) kill() { n.srv.Stop() }

// names is a DNS name that resolves to whatever the test says.
type names struct {
	mu  sync.Mutex
	ips []string
}

func (d *names) set(ips ...string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.ips = ips
}

func (d *names) LookupHost(_ context.Context, host string) ([]string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if host != "spicedb" {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	if len(d.ips) == 0 {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return slices.Clone(d.ips), nil
}

// resolverClient is SpiceDB's resolver's Kubernetes client as it is in a
// pod: the ring's CA and token from the ring's directory.
type resolverClient struct {
	host  string
	token string
	http  *http.Client
}

func newResolverClient(t *testing.T, host, dir string) *resolverClient {
	t.Helper()
	ca, err := os.ReadFile(filepath.Join(dir, ring.CAFile))
	if err != nil {
		t.Fatal(err)
	}
	token, err := os.ReadFile(filepath.Join(dir, ring.TokenFile))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		t.Fatal("ca.crt holds no certificate")
	}
	return &resolverClient{host: host, token: string(token), http: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}}
}

func (c *resolverClient) Do(req *http.Request) (*http.Response, error) { return c.http.Do(req) }
func (c *resolverClient) Host() string                                 { return c.host }
func (c *resolverClient) GetRequest(u string) (*http.Request, error) {
	if !strings.HasPrefix(u, c.host) {
		u = c.host + "/" + u
	}
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err == nil {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	return req, err
}

var _ kuberesolver.K8sClient = (*resolverClient)(nil)

// clientConn takes what the resolver resolves.
type clientConn struct {
	resolver.ClientConn
	mu    sync.Mutex
	addrs []string
}

func (c *clientConn) NewAddress(addrs []resolver.Address) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.addrs = nil
	for _, a := range addrs {
		c.addrs = append(c.addrs, a.Addr)
	}
	slices.Sort(c.addrs)
}
func (c *clientConn) UpdateState(s resolver.State) error { c.NewAddress(s.Addresses); return nil }
func (c *clientConn) ReportError(error)                  {}
func (c *clientConn) ParseServiceConfig(string) *serviceconfig.ParseResult {
	return &serviceconfig.ParseResult{}
}

func (c *clientConn) resolved() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.addrs)
}

// await waits up to within for the resolver to hold want, and returns how long it took.
func (c *clientConn) await(t *testing.T, within time.Duration, what string, want ...string) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < within {
		if slices.Equal(c.resolved(), want) {
			t.Logf("%s: the resolver holds %v after %v", what, want, time.Since(start).Round(time.Millisecond))
			return time.Since(start)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%s: the resolver holds %v after %v, want %v", what, c.resolved(), within, want)
	return 0
}

// TestRingFollowsTheNodes runs SpiceDB's own Kubernetes resolver
// (kuberesolver, which SpiceDB registers for kubernetes:/// dispatch
// targets) against a ring following three nodes, and changes the nodes
// under it: a node killed, a node that says it no longer serves, one that
// serves again, one that stops answering with its connections open, one
// the name no longer resolves to, and then does again. Each change reaches
// the resolver within a second or two, where DNS would take up to 30 s.
func TestRingFollowsTheNodes(t *testing.T) {
	ips := []string{"127.0.0.21", "127.0.0.22", "127.0.0.23"}
	probe, err := net.Listen("tcp", "127.0.0.21:0")
	if err != nil {
		t.Skipf("loopback addresses beyond 127.0.0.1: %v", err)
	}
	_, port, _ := net.SplitHostPort(probe.Addr().String())
	_ = probe.Close()
	nodes := map[string]*fakeNode{}
	for _, ip := range ips {
		nodes[ip] = startNode(t, ip, port)
	}
	dns := &names{}
	dns.set(ips...)
	every := 100 * time.Millisecond
	r, err := ring.New(ring.Config{Nodes: "spicedb:" + port, DispatchPort: 50053, Service: "spicedb", Namespace: "gatehouse", Every: every, LookupHost: dns.LookupHost})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})

	dir := t.TempDir()
	cert, token, err := ring.Credentials(dir, []string{"127.0.0.1"}, "gatehouse")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(r.Handler(token))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	t.Cleanup(srv.Close)

	cc := &clientConn{}
	b := kuberesolver.NewBuilder(newResolverClient(t, srv.URL, dir), "kubernetes")
	target, _ := url.Parse("kubernetes:///spicedb.gatehouse:50053")
	res, err := b.Build(resolver.Target{URL: *target}, cc, resolver.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(res.Close)
	dispatch := func(ips ...string) []string {
		out := make([]string, len(ips))
		for i, ip := range ips {
			out[i] = net.JoinHostPort(ip, "50053")
		}
		return out
	}

	cc.await(t, 5*time.Second, "three nodes serving", dispatch(ips...)...)

	nodes[ips[1]].kill()
	if took := cc.await(t, time.Second, "node 2 killed", dispatch(ips[0], ips[2])...); took > 500*time.Millisecond {
		t.Logf("slow: %v (the watch should see the connection close at once)", took)
	}

	nodes[ips[2]].health.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	cc.await(t, time.Second, "node 3 says it does not serve", dispatch(ips[0])...)

	nodes[ips[2]].health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	cc.await(t, time.Second, "node 3 serves again", dispatch(ips[0], ips[2])...)

	nodes[ips[1]] = startNode(t, ips[1], port)
	cc.await(t, 2*time.Second, "node 2 started again", dispatch(ips...)...)

	nodes[ips[0]].frozen.Store(true)
	cc.await(t, 2*time.Second, "node 1 stops answering, its connections open", dispatch(ips[1], ips[2])...)
	nodes[ips[0]].frozen.Store(false)
	cc.await(t, 2*time.Second, "node 1 answers again", dispatch(ips...)...)

	// Node 2 goes from the name and comes back at the same IP at once (a
	// restart): what was learnt of the node before is not taken for it.
	dns.set(ips[0], ips[2])
	cc.await(t, time.Second, "node 2 gone from the name", dispatch(ips[0], ips[2])...)
	dns.set(ips...)
	cc.await(t, time.Second, "node 2 back in the name", dispatch(ips...)...)
	time.Sleep(5 * every)
	if got := cc.resolved(); !slices.Equal(got, dispatch(ips...)) {
		t.Fatalf("after node 2 came back: %v", got)
	}

	dns.set(ips[0], ips[1])
	cc.await(t, time.Second, "the name no longer resolves to node 3", dispatch(ips[0], ips[1])...)

	// The operator's view (ring.Client, as gatehouse ring members and the
	// cluster tests ask): two resolved, two serving, one node (this
	// resolver) following the ring.
	ca, err := os.ReadFile(filepath.Join(dir, ring.CAFile))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := ring.NewClient(srv.URL, "127.0.0.1", ca, []byte(token), "spicedb", "gatehouse")
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Ready(t.Context()); err != nil {
		t.Fatal(err)
	}
	if members, err := rc.Members(t.Context()); err != nil || !slices.Equal(members, ips[:2]) {
		t.Errorf("members %v (%v), want %v", members, err, ips[:2])
	}
	for name, want := range map[string]float64{"gatehouse_ring_nodes_resolved": 2, "gatehouse_ring_members": 2, "gatehouse_ring_watches": 1} {
		if got, err := rc.Metric(t.Context(), name); err != nil || got != want {
			t.Errorf("%s = %v (%v), want %v", name, got, err, want)
		}
	}
	if changes, err := rc.Metric(t.Context(), "gatehouse_ring_changes_total"); err != nil || changes < 10 {
		t.Errorf("gatehouse_ring_changes_total = %v (%v), want the changes above", changes, err)
	}
	bad, err := ring.NewClient(srv.URL, "127.0.0.1", ca, []byte("wrong"), "spicedb", "gatehouse")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.Members(t.Context()); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("a wrong token: %v, want a 401", err)
	}
}

// TestRingAPIRefuses: the ring answers only callers with its token, and
// only for its own Endpoints; a refusal is a Kubernetes Status.
func TestRingAPIRefuses(t *testing.T) {
	r, err := ring.New(ring.Config{Nodes: "spicedb:50051", DispatchPort: 50053, Service: "spicedb", Namespace: "gatehouse", Every: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(r.Handler("s3cret"))
	defer srv.Close()
	for _, tc := range []struct {
		path, auth string
		code       int
		message    string
	}{
		{"/api/v1/namespaces/gatehouse/endpoints/spicedb", "", http.StatusUnauthorized, "bearer token"},
		{"/api/v1/namespaces/gatehouse/endpoints/spicedb", "Bearer wrong", http.StatusUnauthorized, "bearer token"},
		{"/api/v1/watch/namespaces/gatehouse/endpoints/spicedb", "s3cret", http.StatusUnauthorized, "bearer token"},
		{"/api/v1/namespaces/default/endpoints/spicedb", "Bearer s3cret", http.StatusNotFound, "gatehouse/spicedb"},
		{"/api/v1/namespaces/gatehouse/endpoints/postgres", "Bearer s3cret", http.StatusNotFound, "gatehouse/spicedb"},
		{"/api/v1/namespaces/gatehouse/secrets/x", "Bearer s3cret", http.StatusNotFound, "only the Endpoints"},
		{"/api/v1/namespaces/gatehouse/endpoints/spicedb", "Bearer s3cret", http.StatusOK, ""},
	} {
		t.Run(fmt.Sprintf("%s_%d", tc.path, tc.code), func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+tc.path, nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = resp.Body.Close() }()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.code {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.code, body)
			}
			var got map[string]any
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("not JSON: %s", body)
			}
			if tc.code == http.StatusOK {
				if got["kind"] != "Endpoints" || len(got["subsets"].([]any)) != 0 {
					t.Fatalf("want Endpoints with no subsets before any node serves, got %s", body)
				}
				return
			}
			if got["kind"] != "Status" || !strings.Contains(fmt.Sprint(got["message"]), tc.message) {
				t.Fatalf("want a Status naming %q, got %s", tc.message, body)
			}
		})
	}
}

// TestCredentialsKept: a ring that restarts keeps its certificate and
// token (SpiceDB reads the CA once), unless the certificate does not
// cover the names asked for.
func TestCredentialsKept(t *testing.T) {
	dir := t.TempDir()
	cert1, token1, err := ring.Credentials(dir, []string{"spicedb-ring", "localhost"}, "gatehouse")
	if err != nil {
		t.Fatal(err)
	}
	modes := func(when string) {
		t.Helper()
		for name, perm := range map[string]os.FileMode{ring.CAFile: 0o644, ring.TokenFile: 0o600, ring.NamespaceFile: 0o644, "ring.key": 0o600} {
			st, err := os.Stat(filepath.Join(dir, name))
			if err != nil || st.Mode().Perm() != perm {
				t.Errorf("%s, %s: %v %v, want mode %v", when, name, st.Mode(), err, perm)
			}
		}
	}
	modes("made")
	cert2, token2, err := ring.Credentials(dir, []string{"localhost", "spicedb-ring"}, "gatehouse")
	if err != nil {
		t.Fatal(err)
	}
	if token1 != token2 || len(token1) != 64 || !slices.Equal(cert1.Certificate[0], cert2.Certificate[0]) {
		t.Fatal("a second start with the same names made new credentials")
	}
	cert3, token3, err := ring.Credentials(dir, []string{"ring.example"}, "gatehouse")
	if err != nil {
		t.Fatal(err)
	}
	if token3 != token1 || slices.Equal(cert3.Certificate[0], cert1.Certificate[0]) {
		t.Fatal("a new name kept a certificate that does not cover it, or changed the token")
	}
	if err := cert3.Leaf.VerifyHostname("ring.example"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ring.Credentials(dir, nil, "gatehouse"); err == nil {
		t.Error("no names: want an error")
	}
	// A token an older ring wrote readable by all is kept, and made 0600.
	if err := os.Chmod(filepath.Join(dir, ring.TokenFile), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, token4, err := ring.Credentials(dir, []string{"ring.example"}, "gatehouse"); err != nil || token4 != token1 {
		t.Fatalf("a 0644 token: %v, or not kept", err)
	}
	modes("kept")
}

// TestAllowlist: a node the name resolves to outside Allow never becomes
// a member, though it serves, and is warned of once, not at every
// resolution (again if it leaves the name and comes back); with no
// allowlist the ring warns at start that any host may join.
func TestAllowlist(t *testing.T) {
	in, out := "127.0.0.41", "127.0.0.42"
	probe, err := net.Listen("tcp", in+":0")
	if err != nil {
		t.Skipf("loopback addresses beyond 127.0.0.1: %v", err)
	}
	_, port, _ := net.SplitHostPort(probe.Addr().String())
	_ = probe.Close()
	startNode(t, in, port)
	startNode(t, out, port)
	dns := &names{}
	dns.set(in, out)
	every := 20 * time.Millisecond
	run := func(allow ...netip.Prefix) (*ring.Ring, *logLines) {
		t.Helper()
		logs := &logLines{}
		r, err := ring.New(ring.Config{
			Nodes: "spicedb:" + port, DispatchPort: 50053, Service: "spicedb", Namespace: "gatehouse", Every: every,
			LookupHost: dns.LookupHost, Allow: allow, Logger: slog.New(slog.NewJSONHandler(logs, nil)),
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- r.Run(ctx) }()
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
		})
		return r, logs
	}
	awaitMembers := func(r *ring.Ring, want ...string) {
		t.Helper()
		for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			got, _, _ := r.Members()
			if slices.Equal(got, want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("members %v, want %v", got, want)
			}
		}
	}

	r, logs := run(netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix(in+"/32"))
	awaitMembers(r, in)
	time.Sleep(20 * every) // twenty resolutions, each giving out again
	if got, _, _ := r.Members(); !slices.Equal(got, []string{in}) {
		t.Fatalf("members %v, want only %s", got, in)
	}
	if n := logs.count("WARN", "outside the allowlist", out); n != 1 {
		t.Errorf("%d warnings of %s over twenty resolutions, want 1:\n%s", n, out, logs)
	}
	if n := logs.count("WARN", "no allowlist"); n != 0 {
		t.Errorf("with an allowlist, a warning that there is none:\n%s", logs)
	}
	dns.set(in)
	time.Sleep(5 * every)
	dns.set(in, out)
	time.Sleep(5 * every)
	if n := logs.count("WARN", "outside the allowlist", out); n != 2 {
		t.Errorf("%d warnings of %s after it left the name and came back, want 2:\n%s", n, out, logs)
	}
	if got, _, _ := r.Members(); !slices.Equal(got, []string{in}) {
		t.Fatalf("members %v, want only %s", got, in)
	}

	r, logs = run()
	awaitMembers(r, in, out)
	if n := logs.count("WARN", "no allowlist"); n != 1 {
		t.Errorf("no allowlist: %d warnings that any host may join, want 1:\n%s", n, logs)
	}
}

// logLines is a slog handler's output, one JSON record a line.
type logLines struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// count returns how many records have level and contain each of words.
func (l *logLines) count(level string, words ...string) int {
	n := 0
	for line := range strings.Lines(l.String()) {
		if strings.Contains(line, `"level":"`+level+`"`) && !slices.ContainsFunc(words, func(w string) bool { return !strings.Contains(line, w) }) {
			n++
		}
	}
	return n
}

// TestServerTimeouts: the ring's server closes a connection that sends
// nothing after the read-header timeout, while a watch, one response that
// lasts as long as its node, outlives the read and write timeouts, over
// HTTP/1.1 (as SpiceDB's resolver calls) and HTTP/2.
func TestServerTimeouts(t *testing.T) {
	probe, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(probe.Addr().String())
	_ = probe.Close()
	node := startNode(t, "127.0.0.1", port)
	node.health.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	dns := &names{}
	dns.set("127.0.0.1")
	// The read-header timeout shortest: net/http bounds the TLS handshake
	// by the shortest of the three.
	timeouts := ring.Timeouts{ReadHeader: 200 * time.Millisecond, Read: 600 * time.Millisecond, Write: 600 * time.Millisecond, Idle: 600 * time.Millisecond}
	r, err := ring.New(ring.Config{
		Nodes: "spicedb:" + port, DispatchPort: 50053, Service: "spicedb", Namespace: "gatehouse", Every: 50 * time.Millisecond,
		LookupHost: dns.LookupHost, Timeouts: timeouts, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	dir := t.TempDir()
	cert, token, err := ring.Credentials(dir, []string{"127.0.0.1"}, "gatehouse")
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := r.Server(token, cert)
	srv.BaseContext = func(net.Listener) context.Context { return ctx }
	go func() { _ = srv.ServeTLS(lis, "", "") }()
	t.Cleanup(func() {
		cancel()
		_ = srv.Close()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})

	t.Run("silent_connection_closed", func(t *testing.T) {
		conn, err := net.Dial("tcp", lis.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = conn.Close() }()
		start := time.Now()
		_ = conn.SetReadDeadline(start.Add(5 * time.Second))
		n, err := conn.Read(make([]byte, 1))
		took := time.Since(start)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("a connection that sends nothing is still open after %v, want it closed after %v", took, timeouts.ReadHeader)
		}
		if took < timeouts.ReadHeader/2 || took >= timeouts.Read {
			t.Fatalf("closed after %v (read %d, %v), want after the read-header timeout %v", took, n, err, timeouts.ReadHeader)
		}
		t.Logf("closed after %v (%v)", took.Round(time.Millisecond), err)
	})

	ca, err := os.ReadFile(filepath.Join(dir, ring.CAFile))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	for _, proto := range []int{1, 2} {
		t.Run(fmt.Sprintf("watch_outlives_timeouts_HTTP%d", proto), func(t *testing.T) {
			node.health.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
			tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, ForceAttemptHTTP2: proto == 2}
			defer tr.CloseIdleConnections()
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "https://"+lis.Addr().String()+"/api/v1/watch/namespaces/gatehouse/endpoints/spicedb", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = resp.Body.Close() }()
			if resp.ProtoMajor != proto || resp.StatusCode != http.StatusOK {
				t.Fatalf("%s %s, want HTTP/%d 200", resp.Proto, resp.Status, proto)
			}
			events := make(chan string)
			go func() {
				defer close(events)
				dec := json.NewDecoder(resp.Body)
				for {
					var e struct {
						Type   string `json:"type"`
						Object struct {
							Subsets []struct {
								Addresses []struct {
									IP string `json:"ip"`
								} `json:"addresses"`
							} `json:"subsets"`
						} `json:"object"`
					}
					if err := dec.Decode(&e); err != nil {
						events <- "ended: " + err.Error()
						return
					}
					events <- fmt.Sprintf("%s %v", e.Type, e.Object.Subsets)
				}
			}()
			if e := <-events; e != "ADDED []" {
				t.Fatalf("first event %q, want ADDED with no node", e)
			}
			select {
			case e := <-events:
				t.Fatalf("within twice the timeouts: %q, want the watch open and quiet", e)
			case <-time.After(2 * timeouts.Write):
			}
			node.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
			select {
			case e := <-events:
				if e != "MODIFIED [{[{127.0.0.1}]}]" {
					t.Fatalf("after the node serves: %q, want MODIFIED with it", e)
				}
			case <-time.After(3 * time.Second):
				t.Fatal("no event within 3s of the node serving")
			}
		})
	}
}

// TestConfigRefused: every setting that cannot work is refused by name.
func TestConfigRefused(t *testing.T) {
	good := ring.Config{Nodes: "spicedb:50051", DispatchPort: 50053, Service: "spicedb", Namespace: "gatehouse", Every: time.Second}
	for name, tc := range map[string]struct {
		change func(*ring.Config)
		want   string
	}{
		"no port":        {func(c *ring.Config) { c.Nodes = "spicedb" }, "nodes:"},
		"no host":        {func(c *ring.Config) { c.Nodes = ":50051" }, "nodes:"},
		"dispatch port":  {func(c *ring.Config) { c.DispatchPort = 0 }, "dispatch port:"},
		"service":        {func(c *ring.Config) { c.Service = "SpiceDB" }, "service:"},
		"namespace":      {func(c *ring.Config) { c.Namespace = "-x" }, "namespace:"},
		"every non-zero": {func(c *ring.Config) { c.Every = 0 }, "every:"},
		"allow":          {func(c *ring.Config) { c.Allow = []netip.Prefix{{}} }, "allow:"},
	} {
		t.Run(name, func(t *testing.T) {
			c := good
			tc.change(&c)
			if _, err := ring.New(c); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error starting %q", err, tc.want)
			}
		})
	}
	if _, err := ring.New(good); err != nil {
		t.Fatal(err)
	}
}
