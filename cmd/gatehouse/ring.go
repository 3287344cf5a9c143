package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse/ring"
)

// ringConfig is `gatehouse ring`'s configuration.
type ringConfig struct {
	ring  ring.Config
	addr  string
	dir   string
	names []string
}

func parseRingConfig(args []string, getenv func(string) string, stderr io.Writer) (ringConfig, error) {
	env := envOr(getenv)
	fs := flag.NewFlagSet("gatehouse ring", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c ringConfig
	var port, every, names, allow string
	fs.StringVar(&c.ring.Nodes, "nodes", getenv("GATEHOUSE_RING_NODES"), "host:port of every SpiceDB node's gRPC API, by a DNS name that resolves to all of them, e.g. spicedb:50051; required (GATEHOUSE_RING_NODES)")
	fs.StringVar(&port, "dispatch-port", env("GATEHOUSE_RING_DISPATCH_PORT", "50053"), "the nodes' dispatch port, which the ring lists (GATEHOUSE_RING_DISPATCH_PORT)")
	fs.StringVar(&c.ring.Service, "service", env("GATEHOUSE_RING_SERVICE", "spicedb"), "the Service name the nodes dispatch to: kubernetes:///<service>.<namespace>:<dispatch port> (GATEHOUSE_RING_SERVICE)")
	fs.StringVar(&c.ring.Namespace, "namespace", env("GATEHOUSE_RING_NAMESPACE", "gatehouse"), "the Service's namespace (GATEHOUSE_RING_NAMESPACE)")
	fs.StringVar(&every, "every", env("GATEHOUSE_RING_EVERY", "500ms"), "how often the name is resolved and each node's health checked, besides the changes nodes push (GATEHOUSE_RING_EVERY)")
	fs.StringVar(&c.addr, "addr", env("GATEHOUSE_RING_ADDR", "0.0.0.0:8443"), "HTTPS listen address; the nodes' KUBERNETES_SERVICE_HOST and _PORT (GATEHOUSE_RING_ADDR)")
	fs.StringVar(&c.dir, "dir", env("GATEHOUSE_RING_DIR", "/var/run/gatehouse-ring"), "directory for ca.crt, token and namespace, which each node mounts at /var/run/secrets/kubernetes.io/serviceaccount (GATEHOUSE_RING_DIR)")
	fs.StringVar(&names, "names", getenv("GATEHOUSE_RING_NAMES"), "comma-separated host names and IPs the nodes reach the ring by, for its certificate (which names localhost too); default this host's name (GATEHOUSE_RING_NAMES)")
	fs.StringVar(&allow, "allow", getenv("GATEHOUSE_RING_ALLOW"), "comma-separated IPs and CIDRs the nodes have, e.g. 10.0.1.0/24: an address the name resolves to outside them never becomes a member; empty: any (GATEHOUSE_RING_ALLOW)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if c.ring.Nodes == "" {
		return c, errors.New("--nodes (GATEHOUSE_RING_NODES) is required: host:port of every SpiceDB node's gRPC API, e.g. spicedb:50051")
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return c, fmt.Errorf("--dispatch-port (GATEHOUSE_RING_DISPATCH_PORT): want a port number, got %q", port)
	}
	c.ring.DispatchPort = p
	if c.ring.Every, err = time.ParseDuration(every); err != nil || c.ring.Every <= 0 {
		return c, fmt.Errorf("--every (GATEHOUSE_RING_EVERY): want a positive duration such as 500ms, got %q", every)
	}
	if _, _, err := net.SplitHostPort(c.addr); err != nil {
		return c, fmt.Errorf("--addr (GATEHOUSE_RING_ADDR): want host:port, got %q", c.addr)
	}
	if c.ring.Allow, err = parseAllow(allow); err != nil {
		return c, fmt.Errorf("--allow (GATEHOUSE_RING_ALLOW): %w", err)
	}
	for n := range strings.SplitSeq(names, ",") {
		if n = strings.TrimSpace(n); n != "" {
			c.names = append(c.names, n)
		}
	}
	if len(c.names) == 0 {
		host, err := os.Hostname()
		if err != nil {
			return c, fmt.Errorf("--names (GATEHOUSE_RING_NAMES): this host has no name (%w); name the ring's host", err)
		}
		c.names = []string{host}
	}
	// The health check (gatehouse ring ready) calls the ring as localhost.
	c.names = append(c.names, "localhost")
	return c, nil
}

// parseAllow reads a comma-separated list of IPs and CIDRs.
func parseAllow(s string) ([]netip.Prefix, error) {
	var allow []netip.Prefix
	for a := range strings.SplitSeq(s, ",") {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		if ip, err := netip.ParseAddr(a); err == nil && ip.Zone() == "" {
			allow = append(allow, netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(a)
		if err != nil {
			return nil, fmt.Errorf("want IPs or CIDRs such as 10.0.1.7 or 10.0.1.0/24, got %q", a)
		}
		allow = append(allow, p.Masked())
	}
	return allow, nil
}

// runRing serves the SpiceDB nodes the membership of their dispatch ring
// (package ring) until ctx ends; `gatehouse ring ready` is its health
// check, and `gatehouse ring members` prints the nodes it lists.
func runRing(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "ready" {
		return ringReady(ctx, getenv)
	}
	if len(args) > 0 && args[0] == "members" {
		return ringMembers(ctx, getenv, stdout)
	}
	c, err := parseRingConfig(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	c.ring.Logger = log
	r, err := ring.New(c.ring)
	if err != nil {
		return err
	}
	cert, token, err := ring.Credentials(c.dir, c.names, c.ring.Namespace)
	if err != nil {
		return err
	}
	lis, err := (&net.ListenConfig{}).Listen(ctx, "tcp", c.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.addr, err)
	}
	srv := r.Server(token, cert)
	// The watches end with ctx, so that shutting down does not wait for
	// them: the nodes watch again when the ring is back.
	srv.BaseContext = func(net.Listener) context.Context { return ctx }
	errc := make(chan error, 2)
	go func() { errc <- r.Run(ctx) }()
	go func() { errc <- srv.ServeTLS(lis, "", "") }()
	_, _ = fmt.Fprintf(stdout, "gatehouse ring: following %s, serving https://%s (%s) to the nodes; their files are in %s\n", c.ring.Nodes, lis.Addr(), strings.Join(c.names, ", "), c.dir)
	select {
	case <-ctx.Done():
	case err := <-errc:
		// Run returns nil only when ctx ends; the server never returns nil.
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

// ringLocal returns a client of the ring running on this host, at
// GATEHOUSE_RING_ADDR's port, calling it as the nodes do: over TLS with
// its certificate and its token, from GATEHOUSE_RING_DIR.
func ringLocal(getenv func(string) string) (*ring.Client, error) {
	c, err := parseRingConfig([]string{"--nodes", "unused:0"}, getenv, io.Discard)
	if err != nil {
		return nil, err
	}
	_, port, _ := net.SplitHostPort(c.addr)
	ca, err := os.ReadFile(filepath.Join(c.dir, ring.CAFile)) //nolint:gosec // the operator's own setting
	if err != nil {
		return nil, fmt.Errorf("the ring's certificate: %w", err)
	}
	token, err := os.ReadFile(filepath.Join(c.dir, ring.TokenFile)) //nolint:gosec // the operator's own setting
	if err != nil {
		return nil, fmt.Errorf("the ring's token: %w", err)
	}
	return ring.NewClient("https://"+net.JoinHostPort("127.0.0.1", port), "localhost", ca, token, c.ring.Service, c.ring.Namespace)
}

// ringReady exits 0 once the ring on this host answers /readyz.
func ringReady(ctx context.Context, getenv func(string) string) error {
	c, err := ringLocal(getenv)
	if err != nil {
		return err
	}
	return c.Ready(ctx)
}

// ringMembers prints the IPs of the nodes the ring on this host lists as
// serving, one a line: what every node's dispatch ring holds.
func ringMembers(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	c, err := ringLocal(getenv)
	if err != nil {
		return err
	}
	ips, err := c.Members(ctx)
	if err != nil {
		return err
	}
	for _, ip := range ips {
		_, _ = fmt.Fprintln(stdout, ip)
	}
	return nil
}
