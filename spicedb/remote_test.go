package spicedb_test

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/gatehouse-authz/gatehouse/spicedb"
)

func TestCheckTarget(t *testing.T) {
	for target, ok := range map[string]bool{
		"spicedb:50051":                  true,
		"10.0.0.1:50051, 10.0.0.2:50051": true,
		"a:1,b:2,c:3":                    true,
		"dns:///spicedb:50051":           true,
		"spicedb":                        false,
		"a:1,,b:2":                       false,
		"a:1,b":                          false,
		"dns://":                         false,
		"://x":                           false,
	} {
		if err := spicedb.CheckTarget(target); (err == nil) != ok {
			t.Errorf("CheckTarget(%q) = %v, want ok %v", target, err, ok)
		}
	}
}

// node is a gRPC server with the health service, counting the calls of
// the caller's (the health Check method stands in for SpiceDB's API).
type node struct {
	addr   string
	srv    *grpc.Server
	health *health.Server
	calls  atomic.Int64
}

func startNode(t *testing.T, services ...func(*grpc.Server)) *node {
	t.Helper()
	l, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	n := &node{addr: l.Addr().String(), health: health.NewServer()}
	n.srv = grpc.NewServer(grpc.UnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		n.calls.Add(1)
		return h(ctx, req)
	}))
	healthpb.RegisterHealthServer(n.srv, n.health)
	for _, register := range services {
		register(n.srv)
	}
	go func() { _ = n.srv.Serve(l) }()
	t.Cleanup(n.srv.Stop)
	return n
}

// TestDialBalancesOverNodes dials a list of three nodes: calls go to every
// node, and once one stops, or says NOT_SERVING, every call goes to the
// others, none failing.
func TestDialBalancesOverNodes(t *testing.T) {
	nodes := []*node{startNode(t), startNode(t), startNode(t)}
	addrs := make([]string, len(nodes))
	for i, n := range nodes {
		addrs[i] = n.addr
	}
	conn, err := spicedb.Dial(strings.Join(addrs, ","), "key", true, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	hc := healthpb.NewHealthClient(conn)
	// calls makes n calls (health checks of a service no node knows, which
	// the client's own health checking does not count) and returns how many
	// failed.
	calls := func(n int) (failed int) {
		for range n {
			if _, err := hc.Check(t.Context(), &healthpb.HealthCheckRequest{Service: "probe"}); err != nil && !strings.Contains(err.Error(), "NotFound") {
				failed++
			}
		}
		return failed
	}
	reset := func() {
		for _, n := range nodes {
			n.calls.Store(0)
		}
	}
	// Wait until the connections to all three are up.
	deadline := time.Now().Add(10 * time.Second)
	for ; time.Now().Before(deadline); reset() {
		calls(30)
		if nodes[0].calls.Load() > 0 && nodes[1].calls.Load() > 0 && nodes[2].calls.Load() > 0 {
			break
		}
	}
	reset()
	if f := calls(60); f != 0 {
		t.Fatalf("%d of 60 calls failed with every node up", f)
	}
	for i, n := range nodes {
		// The client's health watch is a stream, not a unary call.
		if got := n.calls.Load(); got < 10 {
			t.Errorf("node %d had %d of 60 calls, want about 20", i, got)
		}
	}

	nodes[1].health.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	time.Sleep(200 * time.Millisecond)
	reset()
	if f := calls(60); f != 0 {
		t.Errorf("%d of 60 calls failed with a node not serving", f)
	}
	if got := nodes[1].calls.Load(); got != 0 {
		t.Errorf("the node that is not serving had %d calls", got)
	}

	nodes[1].health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	nodes[2].srv.Stop()
	time.Sleep(200 * time.Millisecond)
	reset()
	if f := calls(60); f != 0 {
		t.Errorf("%d of 60 calls failed with a node stopped", f)
	}
	if nodes[0].calls.Load() == 0 || nodes[1].calls.Load() == 0 {
		t.Errorf("calls per node with node 2 stopped: %d, %d", nodes[0].calls.Load(), nodes[1].calls.Load())
	}
}

// TestDialOneAddress keeps the single host:port form working.
func TestDialOneAddress(t *testing.T) {
	n := startNode(t)
	conn, err := spicedb.Dial(n.addr, "key", true, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	resp, err := healthpb.NewHealthClient(conn).Check(t.Context(), &healthpb.HealthCheckRequest{})
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health through one address: %v, %v", resp, err)
	}
}

// checker answers every check allowed, or, stuck, never answers: a node
// that died without closing its connections, which health checks do not
// notice.
type checker struct {
	v1.UnimplementedPermissionsServiceServer
	stuck bool
}

func (c checker) CheckPermission(ctx context.Context, _ *v1.CheckPermissionRequest) (*v1.CheckPermissionResponse, error) {
	if c.stuck {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return &v1.CheckPermissionResponse{Permissionship: v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION}, nil
}

// TestDialHedgesAStuckNode (issue 10: a node killed under load) dials three
// nodes of which one takes checks and never answers: every check is
// answered, within its 2 s deadline, by another node, because a check
// unanswered after hedgeAfter goes to the next node too.
func TestDialHedgesAStuckNode(t *testing.T) {
	answering := func(srv *grpc.Server) { v1.RegisterPermissionsServiceServer(srv, checker{}) }
	stuck := startNode(t, func(srv *grpc.Server) { v1.RegisterPermissionsServiceServer(srv, checker{stuck: true}) })
	nodes := []*node{startNode(t, answering), stuck, startNode(t, answering)}
	addrs := make([]string, len(nodes))
	for i, n := range nodes {
		addrs[i] = n.addr
	}
	conn, err := spicedb.Dial(strings.Join(addrs, ","), "key", true, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	// Wait until the connections to all three are up (health probes, as
	// in TestDialBalancesOverNodes), then count only the checks.
	hc := healthpb.NewHealthClient(conn)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		_, _ = hc.Check(t.Context(), &healthpb.HealthCheckRequest{Service: "probe"})
		if nodes[0].calls.Load() > 0 && nodes[1].calls.Load() > 0 && nodes[2].calls.Load() > 0 {
			break
		}
	}
	for _, n := range nodes {
		n.calls.Store(0)
	}
	pc := v1.NewPermissionsServiceClient(conn)
	req := &v1.CheckPermissionRequest{
		Resource:   &v1.ObjectReference{ObjectType: "contractor", ObjectId: "c1"},
		Permission: "view",
		Subject:    &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: "bob"}},
	}
	failed := 0
	for range 12 {
		resp, err := pc.CheckPermission(t.Context(), req)
		if err != nil || resp.GetPermissionship() != v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION {
			failed++
			t.Logf("check: %v %v", resp, err)
		}
	}
	if stuck.calls.Load() == 0 {
		t.Fatal("no check went to the stuck node: the test proves nothing")
	}
	if failed != 0 {
		t.Errorf("%d of 12 checks failed with one node stuck (%d checks went to it)", failed, stuck.calls.Load())
	}
	t.Logf("12 checks answered; %d went to the stuck node first and were answered by another", stuck.calls.Load())
}
