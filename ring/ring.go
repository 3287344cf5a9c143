// Package ring tells the nodes of a SpiceDB cluster, live, which of them
// are serving: the membership of their dispatch ring.
//
// Each SpiceDB node sends the parts of a check to the node that owns them
// on a consistent hash ring of its peers, and learns its peers from a gRPC
// resolver. Of the resolvers SpiceDB ships, DNS (dns:///) re-resolves at
// most every 30 seconds, and the ring's picker does not skip a peer it
// cannot reach: when a node dies, every check with a part it owned waits
// until its peers next resolve. The other, kubernetes:///, follows the
// Endpoints of a Kubernetes Service, pushed to it as they change: a dead
// node leaves the ring at once. In Kubernetes, that is what to use.
//
// Elsewhere (Docker, virtual machines), Ring gives SpiceDB the same: it
// finds the nodes by a DNS name, follows each one's gRPC health, and serves
// the two calls of the Kubernetes API that SpiceDB's resolver makes (get
// and watch the Endpoints of one Service) listing the nodes that serve,
// over TLS, to a bearer token. It writes what a node needs to call it in a
// directory laid out as a Kubernetes service account's
// (/var/run/secrets/kubernetes.io/serviceaccount): ca.crt, token and
// namespace.
package ring

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// Config says where the nodes are and what to serve them.
type Config struct {
	// Nodes is host:port where every node answers gRPC health checks (its
	// API port, 50051), the host a DNS name that resolves to every node.
	Nodes string
	// DispatchPort is the port of the nodes' dispatch API (50053), which
	// the Endpoints list for each node, named "dispatch".
	DispatchPort int
	// Service and Namespace name the Endpoints served: the nodes dispatch
	// to kubernetes:///<Service>.<Namespace>:<DispatchPort>.
	Service, Namespace string
	// Every is how often the name is resolved again and each node's
	// health checked, besides the health changes each node pushes.
	Every time.Duration
	// Logger takes the changes of membership; nil: slog.Default().
	Logger *slog.Logger
	// LookupHost resolves Nodes' host to the nodes' IPs; nil:
	// net.DefaultResolver's.
	LookupHost func(ctx context.Context, host string) ([]string, error)
	// Allow lists the addresses (each IP a /32 or /128) a resolved node
	// must have to become a member; a node outside it is never followed.
	// Empty allows any address the name resolves to.
	Allow []netip.Prefix
	// Timeouts bound the callers of Server; a zero field takes
	// DefaultTimeouts'.
	Timeouts Timeouts
}

// Timeouts bound what a caller of the ring's HTTPS server (Server) can
// hold. A watch is one response that lasts as long as its node runs, so
// Write bounds the write of each of its events, not the whole response: a
// node that stops reading its watch loses it, and watches again.
type Timeouts struct {
	// ReadHeader bounds the TLS handshake and the request's headers: a
	// connection that sends nothing is closed after it.
	ReadHeader time.Duration
	// Read bounds the whole request (the ring's are GETs, with no body).
	Read time.Duration
	// Write bounds a response, or one event of a watch.
	Write time.Duration
	// Idle bounds a kept-alive connection between requests.
	Idle time.Duration
}

// DefaultTimeouts are the ring's timeouts unless Config says otherwise.
var DefaultTimeouts = Timeouts{ReadHeader: 5 * time.Second, Read: 10 * time.Second, Write: 10 * time.Second, Idle: 2 * time.Minute}

// orDefault returns t with each zero field taken from DefaultTimeouts.
func (t Timeouts) orDefault() Timeouts {
	or := func(d, def time.Duration) time.Duration {
		if d > 0 {
			return d
		}
		return def
	}
	return Timeouts{
		ReadHeader: or(t.ReadHeader, DefaultTimeouts.ReadHeader),
		Read:       or(t.Read, DefaultTimeouts.Read),
		Write:      or(t.Write, DefaultTimeouts.Write),
		Idle:       or(t.Idle, DefaultTimeouts.Idle),
	}
}

func (c Config) validate() error {
	host, port, err := net.SplitHostPort(c.Nodes)
	switch {
	case err != nil || host == "" || port == "":
		return fmt.Errorf("nodes: want host:port of the nodes' gRPC health (e.g. spicedb:50051), got %q", c.Nodes)
	case c.DispatchPort <= 0 || c.DispatchPort > 65535:
		return fmt.Errorf("dispatch port: want 1-65535, got %d", c.DispatchPort)
	case !dnsLabel(c.Service):
		return fmt.Errorf("service: want a DNS label (lower-case letters, digits, '-'), got %q", c.Service)
	case !dnsLabel(c.Namespace):
		return fmt.Errorf("namespace: want a DNS label (lower-case letters, digits, '-'), got %q", c.Namespace)
	case c.Every <= 0:
		return fmt.Errorf("every: want a positive duration, got %v", c.Every)
	}
	for _, p := range c.Allow {
		if !p.IsValid() {
			return fmt.Errorf("allow: want IPs or CIDRs, got %v", p)
		}
	}
	return nil
}

// dnsLabel reports whether s is an RFC 1123 label, as Kubernetes names are.
func dnsLabel(s string) bool {
	if s == "" || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
			return false
		}
	}
	return true
}

// Ring follows the nodes. Run it, and serve Handler.
type Ring struct {
	cfg Config
	log *slog.Logger

	mu      sync.Mutex
	nodes   map[string]*node // by IP
	members []string         // the IPs of the nodes serving, sorted
	version int              // counts the changes of members
	changed chan struct{}    // closed, and replaced, when members change
	found   bool             // the name has been resolved once
	refused map[string]bool  // resolved last time outside cfg.Allow, and warned of

	watches atomic.Int64 // watches of the Endpoints open now
}

// node is one node the name resolves to, followed from when it was
// resolved until it no longer is. A node resolved again later (a restart
// at the same IP) is another node: what is learnt of the old one is never
// taken for the new one.
type node struct {
	ip      string
	ctx     context.Context //nolint:containedctx // the node's own lifetime, ended by stop
	stop    context.CancelFunc
	watched bool // its health watch says SERVING
	checked bool // its health checks answer SERVING in time
	failed  int  // health checks failed in a row
}

// failedChecks is how many health checks in a row must fail (or not
// answer within twice cfg.Every) before a node whose health watch still
// says SERVING is taken out: a node that stops answering without closing
// its connections. One slow answer from a busy node is not enough.
const failedChecks = 2

// New returns a Ring for cfg; nothing runs until Run.
func New(cfg Config) (*Ring, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.LookupHost == nil {
		cfg.LookupHost = net.DefaultResolver.LookupHost
	}
	return &Ring{cfg: cfg, log: cfg.Logger, nodes: map[string]*node{}, refused: map[string]bool{}, changed: make(chan struct{})}, nil
}

// Run resolves the name every cfg.Every and follows the health of every
// node it resolves to, until ctx ends.
func (r *Ring) Run(ctx context.Context) error {
	host, port, _ := net.SplitHostPort(r.cfg.Nodes)
	if len(r.cfg.Allow) == 0 {
		r.log.Warn("ring: no allowlist of members (gatehouse ring --allow): any host the nodes' name resolves to and that answers health becomes a dispatch peer of every node", "name", host)
	} else {
		r.log.Info("ring: members only from the allowlist", "allow", r.cfg.Allow)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	tick := time.NewTicker(r.cfg.Every)
	defer tick.Stop()
	for {
		rctx, cancel := context.WithTimeout(ctx, r.cfg.Every)
		ips, err := r.cfg.LookupHost(rctx, host)
		cancel()
		var dnsErr *net.DNSError
		switch {
		case err == nil:
			ips = r.allowed(ips)
		case ctx.Err() != nil:
			return nil
		case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
			ips = nil // no node is up: Docker's DNS then has no name
		default:
			r.log.Warn("ring: resolve the nodes", "name", host, "err", err)
			ips = r.known() // keep following the nodes known
		}
		for _, n := range r.reconcile(ctx, ips) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r.follow(n, net.JoinHostPort(n.ip, port))
			}()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// allowed returns those of ips in cfg.Allow (all of them if it is
// empty), and warns of each other one once, until a resolution no longer
// gives it.
func (r *Ring) allowed(ips []string) []string {
	if len(r.cfg.Allow) == 0 {
		return ips
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var in []string
	refused := map[string]bool{}
	for _, ip := range ips {
		addr, err := netip.ParseAddr(ip)
		if err == nil && slices.ContainsFunc(r.cfg.Allow, func(p netip.Prefix) bool { return p.Contains(addr.WithZone("").Unmap()) }) {
			in = append(in, ip)
			continue
		}
		if !r.refused[ip] {
			r.log.Warn("ring: a node outside the allowlist is not a member", "ip", ip, "allow", r.cfg.Allow)
		}
		refused[ip] = true
	}
	r.refused = refused
	return in
}

// known returns the IPs followed now.
func (r *Ring) known() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	ips := make([]string, 0, len(r.nodes))
	for ip := range r.nodes {
		ips = append(ips, ip)
	}
	return ips
}

// reconcile stops following the nodes the name no longer resolves to and
// returns the new ones, which the caller follows.
func (r *Ring) reconcile(ctx context.Context, ips []string) []*node {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.found = true
	var added []*node
	for _, ip := range ips {
		if _, ok := r.nodes[ip]; !ok {
			nctx, stop := context.WithCancel(ctx)
			n := &node{ip: ip, ctx: nctx, stop: stop}
			r.nodes[ip] = n
			added = append(added, n)
		}
	}
	for ip, n := range r.nodes {
		if !slices.Contains(ips, ip) {
			n.stop()
			delete(r.nodes, ip)
			r.log.Info("ring: node no longer resolved", "ip", ip)
		}
	}
	r.publishLocked()
	return added
}

// follow watches the health of the node at addr, and checks it every
// cfg.Every, until the node is no longer resolved or ctx ends. The watch
// learns of a node's death the moment its connections close; the check,
// of a node that stopped answering without closing them.
func (r *Ring) follow(n *node, addr string) {
	ctx := n.ctx
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		r.log.Error("ring: dial a node", "addr", addr, "err", err)
		return
	}
	defer func() { _ = conn.Close() }()
	health := healthpb.NewHealthClient(conn)
	go r.check(n, health)
	for ctx.Err() == nil {
		stream, err := health.Watch(ctx, &healthpb.HealthCheckRequest{})
		for err == nil {
			var st *healthpb.HealthCheckResponse
			if st, err = stream.Recv(); err == nil {
				r.set(n, func(n *node) { n.watched = st.GetStatus() == healthpb.HealthCheckResponse_SERVING })
			}
		}
		if status.Code(err) == codes.Unimplemented {
			// A health service without Watch: the checks decide alone.
			r.set(n, func(n *node) { n.watched = true })
			<-ctx.Done()
			return
		}
		r.set(n, func(n *node) { n.watched = false })
		select {
		case <-ctx.Done():
		case <-time.After(r.cfg.Every):
		}
	}
}

// check asks the node's health every cfg.Every, within twice that; the
// node is out after failedChecks failures in a row, in at the first
// success.
func (r *Ring) check(n *node, health healthpb.HealthClient) {
	ctx := n.ctx
	tick := time.NewTicker(r.cfg.Every)
	defer tick.Stop()
	for {
		cctx, cancel := context.WithTimeout(ctx, 2*r.cfg.Every)
		st, err := health.Check(cctx, &healthpb.HealthCheckRequest{})
		cancel()
		if ctx.Err() != nil {
			return
		}
		ok := err == nil && st.GetStatus() == healthpb.HealthCheckResponse_SERVING
		r.set(n, func(n *node) {
			if ok {
				n.failed = 0
			} else {
				n.failed++
			}
			n.checked = n.failed == 0 || (n.checked && n.failed < failedChecks)
		})
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// set changes what is known of n, if it is still followed.
func (r *Ring) set(n *node, change func(*node)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.nodes[n.ip] == n {
		change(n)
		r.publishLocked()
	}
}

// publishLocked recomputes the members and, when they change, wakes every
// watch.
func (r *Ring) publishLocked() {
	var members []string
	for ip, n := range r.nodes {
		if n.watched && n.checked {
			members = append(members, ip)
		}
	}
	slices.SortFunc(members, func(a, b string) int {
		return netip.MustParseAddr(a).Compare(netip.MustParseAddr(b))
	})
	if slices.Equal(members, r.members) {
		return
	}
	r.log.Info("ring: members", "serving", members, "was", r.members)
	r.members = members
	r.version++
	close(r.changed)
	r.changed = make(chan struct{})
}

// Members returns the IPs of the nodes serving now, the version of that
// list, and a channel closed when it changes.
func (r *Ring) Members() (members []string, version int, changed <-chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.members), r.version, r.changed
}

// Ready reports whether the nodes' name has been resolved once.
func (r *Ring) Ready() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.found
}
