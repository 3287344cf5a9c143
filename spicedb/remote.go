package spicedb

import (
	"crypto/tls"
	"fmt"
	"strings"

	"github.com/authzed/grpcutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// Dial connects to a SpiceDB cluster at addr (host:port) with its preshared
// key, over TLS with the system's roots unless insecure asks for plaintext.
func Dial(addr, key string, insecureTransport bool) (*grpc.ClientConn, error) {
	opts := []grpc.DialOption{}
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

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
