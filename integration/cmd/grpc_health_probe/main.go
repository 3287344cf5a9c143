// Command grpc_health_probe asks a gRPC server's standard health service
// whether it is serving, for container health checks. It takes the flags of
// grpc-ecosystem/grpc-health-probe that SpiceDB's images ship and its
// compose files call (-addr, -service, -connect-timeout, -rpc-timeout) and
// exits as it does (0 serving, 1 bad flags, 2 no connection, 3 RPC failed,
// 4 not serving), so that the SpiceDB image built FROM scratch by
// `make images` answers the same health check as the official one.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// Exit codes of grpc-health-probe.
const (
	exitServing      = 0
	exitBadFlags     = 1
	exitNoConnection = 2
	exitRPCFailed    = 3
	exitNotServing   = 4
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stderr))
}

// run probes once and returns the exit code.
func run(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("grpc_health_probe", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "", "`host:port` of the gRPC server (required)")
	service := fs.String("service", "", "service name to check (empty: the server as a whole)")
	connectTimeout := fs.Duration("connect-timeout", time.Second, "timeout for establishing the connection")
	rpcTimeout := fs.Duration("rpc-timeout", time.Second, "timeout for the health RPC")
	if err := fs.Parse(args); err != nil {
		return exitBadFlags
	}
	if *addr == "" {
		fmt.Fprintln(stderr, "error: -addr is required")
		return exitBadFlags
	}
	conn, err := grpc.NewClient(*addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fmt.Fprintf(stderr, "error: connect to %s: %v\n", *addr, err)
		return exitNoConnection
	}
	defer func() { _ = conn.Close() }()

	cctx, cancel := context.WithTimeout(ctx, *connectTimeout)
	defer cancel()
	conn.Connect()
	for s := conn.GetState(); s != connectivity.Ready; s = conn.GetState() {
		if !conn.WaitForStateChange(cctx, s) {
			fmt.Fprintf(stderr, "timeout: failed to connect to %s within %v\n", *addr, *connectTimeout)
			return exitNoConnection
		}
	}

	rctx, cancel := context.WithTimeout(ctx, *rpcTimeout)
	defer cancel()
	resp, err := healthpb.NewHealthClient(conn).Check(rctx, &healthpb.HealthCheckRequest{Service: *service})
	if err != nil {
		fmt.Fprintf(stderr, "error: health rpc failed: %v\n", err)
		return exitRPCFailed
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		fmt.Fprintf(stderr, "service unhealthy (responded with %q)\n", resp.GetStatus())
		return exitNotServing
	}
	fmt.Fprintf(stderr, "status: %v\n", resp.GetStatus())
	return exitServing
}
