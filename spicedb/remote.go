package spicedb

import (
	"context"
	"crypto/tls"
	"fmt"
	"time"

	"github.com/authzed/grpcutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// Dial connects to a SpiceDB cluster at addr (host:port) with its preshared
// key, over TLS with the system's roots unless insecure asks for plaintext.
// Every call gets timeout (streams six times it) unless its context ends
// sooner: while SpiceDB is down a call must fail fast as 503, not wait out
// gRPC's connect timeout; reconnecting is retried at least every 2 seconds.
func Dial(addr, key string, insecureTransport bool, timeout time.Duration) (*grpc.ClientConn, error) {
	opts := append([]grpc.DialOption{
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 2 * time.Second},
			MinConnectTimeout: 2 * time.Second,
		}),
	}, deadlines(timeout)...)
	if insecureTransport {
		opts = append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()), grpcutil.WithInsecureBearerToken(key))
	} else {
		opts = append(opts, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS12})), grpcutil.WithBearerToken(key))
	}
	conn, err := grpc.NewClient(addr, opts...)
	if err != nil {
		return nil, fmt.Errorf("connecting to SpiceDB at %s: %w", addr, err)
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
