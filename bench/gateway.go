package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/gatehouse-authz/gatehouse/schema"
)

// spicedbKey is the preshared key of every SpiceDB process the bench
// starts (the cluster's nodes have a random one).
const spicedbKey = "bench-key"

// startSpiceDB runs `spicedb serve` as name with its HTTP gateway on, on
// datastore (its --datastore-* flags), telemetry and dispatch off, and
// writes Gatehouse's schema through the gateway. It returns the gateway
// and the gRPC address, for a Gatehouse in front.
//
// A Gatehouse write waits for its audit record, which SpiceDB's Watch on
// Postgres looks for once a heartbeat: at the default 1 s each write
// through gatehouse-remote-pg took a second, and its dataset and lookup
// organisation about 45 minutes. The README asks a remote SpiceDB for
// 100 ms, as the compose file and the test containers run it.
func (b *bench) startSpiceDB(ctx context.Context, name string, datastore ...string) (*gateway, string, error) {
	grpcAddr, httpAddr := freeAddr(), freeAddr()
	metrics := []string{"--metrics-enabled=false"}
	var pprof string
	if b.o.profile != "" {
		// SpiceDB serves pprof beside its metrics.
		pprof = freeAddr()
		metrics = []string{"--metrics-enabled=true", "--metrics-addr", pprof}
	}
	args := append(append([]string{
		"serve", "--grpc-preshared-key", spicedbKey, "--grpc-addr", grpcAddr, "--http-enabled", "--http-addr", httpAddr,
		"--telemetry-endpoint=", "--dispatch-cluster-enabled=false", "--skip-release-check", "--log-level", "warn",
		"--watch-api-heartbeat=100ms",
	}, metrics...), datastore...)
	p, err := b.start(ctx, name, b.o.spicedb, nil, args...)
	if err != nil {
		return nil, "", err
	}
	gw := &gateway{base: "http://" + httpAddr, key: spicedbKey, pprof: pprof}
	if err := waitFor(ctx, func() error { return gw.writeSchema(ctx, schema.Text) }); err != nil {
		return nil, "", p.failed(fmt.Errorf("SpiceDB gateway: %w", err))
	}
	return gw, grpcAddr, nil
}

// gateway is SpiceDB's HTTP gateway (`spicedb serve --http-enabled`),
// and its pprof address (host:port) when -profile asks for one.
type gateway struct{ base, key, pprof string }

func ref(s string) map[string]string {
	t, id, _ := strings.Cut(s, ":")
	return map[string]string{"objectType": t, "objectId": id}
}

func (g *gateway) writeSchema(ctx context.Context, s string) error {
	return post(ctx, http.DefaultClient, g.base+"/v1/schema/write", g.key, map[string]string{"schema": s}, nil)
}

func (g *gateway) check(ctx context.Context, hc *http.Client, c check) (bool, error) {
	return g.checkWith(ctx, hc, c, map[string]any{"minimizeLatency": true})
}

// verify checks fully consistent: the data was just written through another process.
func (g *gateway) verify(ctx context.Context, hc *http.Client, c check) (bool, error) {
	return g.checkWith(ctx, hc, c, map[string]any{"fullyConsistent": true})
}

func (g *gateway) checkWith(ctx context.Context, hc *http.Client, c check, consistency map[string]any) (bool, error) {
	var out struct {
		Permissionship string `json:"permissionship"`
	}
	err := post(ctx, hc, g.base+"/v1/permissions/check", g.key, map[string]any{
		"consistency": consistency,
		"resource":    ref(c.resource), "permission": "view",
		"subject": map[string]any{"object": ref(c.subject)},
	}, &out)
	return out.Permissionship == "PERMISSIONSHIP_HAS_PERMISSION", err
}

// lookup reads the gateway's streamed answer: one JSON object per line.
func (g *gateway) lookup(ctx context.Context, hc *http.Client) (int, error) {
	b, _ := json.Marshal(map[string]any{
		"consistency":        map[string]any{"minimizeLatency": true},
		"resourceObjectType": "contractor", "permission": "view",
		"subject": map[string]any{"object": ref("user:big_cis")},
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.base+"/v1/permissions/resources", bytes.NewReader(b))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+g.key)
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		raw, _ := io.ReadAll(resp.Body)
		return 0, fmt.Errorf("gateway lookup: %d %s", resp.StatusCode, raw)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n := 0
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) > 0 {
			n++
		}
	}
	return n, sc.Err()
}
