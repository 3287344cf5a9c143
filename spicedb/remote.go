package spicedb

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/authzed/grpcutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	// Registers the client side of gRPC health checking, which the
	// service config below turns on.
	_ "google.golang.org/grpc/health"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
)

// serviceConfig spreads calls round-robin over every address of the
// target and skips a node whose gRPC health service does not say SERVING
// (one shutting down, or not yet ready), besides one it cannot reach.
// SpiceDB serves the health service under the empty name, as
// grpc_health_probe asks it.
const serviceConfig = `{
  "loadBalancingConfig": [{"round_robin": {}}],
  "healthCheckConfig": {"serviceName": ""}
}`

// staticScheme is the resolver scheme of a comma-separated list of nodes.
const staticScheme = "gatehouse-spicedb"

// CheckTarget reports whether target is a form Dial accepts: host:port; a
// comma-separated list of host:port, one per SpiceDB node; or a gRPC
// target with a scheme, such as dns:///spicedb:50051 (every address the
// name resolves to).
func CheckTarget(target string) error {
	_, err := parseTarget(target)
	return err
}

// parseTarget returns the addresses of a static list, or nil for a target
// gRPC resolves itself.
func parseTarget(target string) ([]string, error) {
	const forms = "host:port, a comma-separated list of host:port, or a gRPC target such as dns:///spicedb:50051"
	switch {
	case strings.Contains(target, ","):
		var addrs []string
		for _, a := range strings.Split(target, ",") {
			a = strings.TrimSpace(a)
			if _, _, err := net.SplitHostPort(a); err != nil || a == "" {
				return nil, fmt.Errorf("%q in the list is not host:port (want %s)", a, forms)
			}
			addrs = append(addrs, a)
		}
		return addrs, nil
	case strings.Contains(target, "://"):
		scheme, rest, _ := strings.Cut(target, "://")
		if scheme == "" || rest == "" {
			return nil, fmt.Errorf("%q is not a gRPC target (want %s)", target, forms)
		}
		return nil, nil
	default:
		if _, _, err := net.SplitHostPort(target); err != nil {
			return nil, fmt.Errorf("%q is not host:port (want %s)", target, forms)
		}
		return nil, nil
	}
}

// Dial connects to a SpiceDB cluster with its preshared key, over TLS with
// the system's roots unless insecure asks for plaintext. target is one
// host:port, a comma-separated list of host:port (one per node), or a gRPC
// target such as dns:///spicedb:50051; calls go round-robin over every
// node that is connected and healthy, so a node that dies or restarts is
// skipped until it serves again. (A dns target is resolved again when a
// connection drops, at most every 30 seconds: a node added later joins
// then.)
//
// Every call gets timeout (streams six times it) unless its context ends
// sooner: while SpiceDB is down a call must fail fast as 503, not wait out
// gRPC's connect timeout; reconnecting is retried at least every 2 seconds.
func Dial(target, key string, insecureTransport bool, timeout time.Duration) (*grpc.ClientConn, error) {
	addrs, err := parseTarget(target)
	if err != nil {
		return nil, fmt.Errorf("SpiceDB target: %w", err)
	}
	opts := append([]grpc.DialOption{
		grpc.WithDefaultServiceConfig(serviceConfig),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 2 * time.Second},
			MinConnectTimeout: 2 * time.Second,
		}),
	}, deadlines(timeout)...)
	// Inside the call's deadline: a check stuck on a dead node goes to the
	// next one too (hedged).
	opts = append(opts, hedged(hedgeAfter, 3))
	if insecureTransport {
		opts = append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()), grpcutil.WithInsecureBearerToken(key))
	} else {
		opts = append(opts, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS12})), grpcutil.WithBearerToken(key))
	}
	if addrs != nil {
		// A resolver of this connection's own: the list never changes, and
		// each node's certificate is checked against its own host name.
		r := manual.NewBuilderWithScheme(staticScheme)
		state := resolver.State{}
		for _, a := range addrs {
			host, _, _ := net.SplitHostPort(a)
			state.Endpoints = append(state.Endpoints, resolver.Endpoint{Addresses: []resolver.Address{{Addr: a, ServerName: host}}})
		}
		r.InitialState(state)
		opts = append(opts, grpc.WithResolvers(r))
		target = staticScheme + ":///" + strings.Join(addrs, ",")
	}
	conn, err := grpc.NewClient(target, opts...)
	if err != nil {
		return nil, fmt.Errorf("connecting to SpiceDB at %s: %w", target, err)
	}
	return conn, nil
}

// streamFactor is how many times a call's timeout one stream may take: a
// stream answers a page, or a whole lookup, not one question.
const streamFactor = 6

// deadlines bounds every call on a connection by timeout, and every stream
// by streamFactor times it, unless the caller's context ends sooner. An
// expired call fails with DeadlineExceeded, which translate makes a 503
// with Retry-After. The embedded SpiceDB's connection gets the same bound.
func deadlines(timeout time.Duration) []grpc.DialOption {
	if timeout <= 0 {
		return nil
	}
	return []grpc.DialOption{
		grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			ctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			return invoker(ctx, method, req, reply, cc, opts...)
		}),
		grpc.WithChainStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
			if ctx.Value(noStreamDeadline{}) != nil {
				return streamer(ctx, desc, cc, method, opts...)
			}
			ctx, cancel := context.WithTimeout(ctx, streamFactor*timeout)
			s, err := streamer(ctx, desc, cc, method, opts...)
			if err != nil {
				cancel()
				return nil, err
			}
			return &cancelOnEnd{ClientStream: s, cancel: cancel}, nil
		}),
	}
}

// cancelOnEnd releases a stream's deadline once the stream has ended.
type cancelOnEnd struct {
	grpc.ClientStream
	cancel context.CancelFunc
}

func (s *cancelOnEnd) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err != nil {
		s.cancel()
	}
	return err
}
