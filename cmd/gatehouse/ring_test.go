package main

import (
	"context"
	"io"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// TestParseRingConfig: `gatehouse ring` takes its settings from flags or
// GATEHOUSE_RING_* and refuses, by name, what cannot work.
func TestParseRingConfig(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	c, err := parseRingConfig(nil, env(map[string]string{"GATEHOUSE_RING_NODES": "spicedb:50051", "GATEHOUSE_RING_NAMES": "spicedb-ring, 10.0.0.5"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.ring.Nodes != "spicedb:50051" || c.ring.DispatchPort != 50053 || c.ring.Service != "spicedb" || c.ring.Namespace != "gatehouse" ||
		c.ring.Every != 500*time.Millisecond || c.addr != "0.0.0.0:8443" || c.dir != "/var/run/gatehouse-ring" ||
		strings.Join(c.names, ",") != "spicedb-ring,10.0.0.5,localhost" {
		t.Fatalf("defaults: %+v", c)
	}
	c, err = parseRingConfig([]string{"--nodes", "n:1", "--dispatch-port", "6000", "--every", "2s", "--service", "authz", "--namespace", "prod", "--names", "ring"}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.ring.DispatchPort != 6000 || c.ring.Every != 2*time.Second || c.ring.Service != "authz" || c.ring.Namespace != "prod" || c.ring.Allow != nil {
		t.Fatalf("flags: %+v", c)
	}
	// The allowlist: IPs (v4, v6, v4-in-v6) and CIDRs, from the flag or
	// the environment.
	want := []netip.Prefix{netip.MustParsePrefix("10.0.1.7/32"), netip.MustParsePrefix("172.18.0.0/16"), netip.MustParsePrefix("fd00::/64"), netip.MustParsePrefix("10.0.1.8/32"), netip.MustParsePrefix("fd00::1/128")}
	const allow = "10.0.1.7, 172.18.3.4/16,fd00::/64, ::ffff:10.0.1.8,fd00::1"
	for _, tc := range []struct {
		args []string
		vars map[string]string
	}{
		{[]string{"--nodes", "n:1", "--allow", allow}, nil},
		{[]string{"--nodes", "n:1"}, map[string]string{"GATEHOUSE_RING_ALLOW": allow}},
	} {
		got, err := parseRingConfig(tc.args, env(tc.vars), io.Discard)
		if err != nil || !slices.Equal(got.ring.Allow, want) {
			t.Errorf("%q %v: %v (%v), want %v", tc.args, tc.vars, got.ring.Allow, err, want)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "--nodes (GATEHOUSE_RING_NODES) is required"},
		{[]string{"--nodes", "n:1", "--dispatch-port", "x"}, "--dispatch-port"},
		{[]string{"--nodes", "n:1", "--every", "0s"}, "--every"},
		{[]string{"--nodes", "n:1", "--every", "soon"}, "--every"},
		{[]string{"--nodes", "n:1", "--addr", "8443"}, "--addr"},
		{[]string{"--nodes", "n:1", "extra"}, "unexpected arguments"},
		{[]string{"--nodes", "n:1", "--allow", "10.0.1.0/24,spicedb-1"}, `--allow (GATEHOUSE_RING_ALLOW): want IPs or CIDRs such as 10.0.1.7 or 10.0.1.0/24, got "spicedb-1"`},
		{[]string{"--nodes", "n:1", "--allow", "10.0.1.0/33"}, "--allow"},
	} {
		if _, err := parseRingConfig(tc.args, env(nil), io.Discard); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want an error naming %q", tc.args, err, tc.want)
		}
	}
}

// TestRingCommand runs `gatehouse ring` following one node (a gRPC health
// server on this host), and asks it with `gatehouse ring ready` and
// `gatehouse ring members` as the container's health check and an
// operator would.
func TestRingCommand(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()
	_, nodePort, _ := net.SplitHostPort(lis.Addr().String())
	addr := freeLocalAddr(t)
	vars := map[string]string{
		"GATEHOUSE_RING_NODES": "localhost:" + nodePort,
		"GATEHOUSE_RING_ADDR":  addr,
		"GATEHOUSE_RING_DIR":   t.TempDir(),
		"GATEHOUSE_RING_NAMES": "ring.test",
		"GATEHOUSE_RING_EVERY": "100ms",
	}
	getenv := func(k string) string { return vars[k] }
	ctx, cancel := context.WithCancel(t.Context())
	var out, errs syncBuffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"ring"}, getenv, &out, &errs) }()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("gatehouse ring exited %d: %s", code, errs.String())
		}
	}()
	var members strings.Builder
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		members.Reset()
		if run(ctx, []string{"ring", "ready"}, getenv, io.Discard, io.Discard) == 0 &&
			run(ctx, []string{"ring", "members"}, getenv, &members, io.Discard) == 0 && members.String() == "127.0.0.1\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("gatehouse ring members printed %q within 10s, want 127.0.0.1; ring's log: %s", members.String(), errs.String())
		}
	}
	if !strings.Contains(out.String(), "following localhost:"+nodePort) {
		t.Errorf("the ring's first line: %q", out.String())
	}
}

// freeLocalAddr returns 127.0.0.1:port, a port no one listens on now.
func freeLocalAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String()
}
