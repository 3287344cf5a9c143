package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/gatehouse-authz/gatehouse/client"
)

// gatehouseConfig is what the GatehouseOptions say.
type gatehouseConfig struct {
	image  string
	apiKey string
	env    map[string]string
	logger testcontainers.ContainerCustomizer
}

// GatehouseOption configures the Gatehouse that the Start and Must
// functions of this file start.
type GatehouseOption func(*gatehouseConfig)

// WithGatehouseImage runs img instead of GatehouseImage().
func WithGatehouseImage(img string) GatehouseOption {
	return func(c *gatehouseConfig) { c.image = img }
}

// WithAPIKey sets Gatehouse's API key (default: a random one).
func WithAPIKey(key string) GatehouseOption {
	return func(c *gatehouseConfig) { c.apiKey = key }
}

// WithEnv sets one more GATEHOUSE_* setting (GATEHOUSE_CHECK_KEYS, say).
func WithEnv(name, value string) GatehouseOption {
	return func(c *gatehouseConfig) { c.env[name] = value }
}

func newGatehouseConfig(opts []GatehouseOption) gatehouseConfig {
	cfg := gatehouseConfig{image: GatehouseImage(), env: map[string]string{}}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.apiKey == "" {
		cfg.apiKey = randomHex(16)
	}
	return cfg
}

// Gatehouse is a running Gatehouse server, in a container or a process.
type Gatehouse struct {
	// URL is where the host reaches it ("http://127.0.0.1:32771").
	URL string
	// APIKey is a key with full access.
	APIKey string
	// Container is set when Gatehouse runs in a container.
	Container testcontainers.Container

	proc *process
}

// Client returns a client of this Gatehouse, with its API key.
func (g *Gatehouse) Client(opts ...client.Option) *client.Client {
	return client.New(g.URL, g.APIKey, opts...)
}

// Logs returns the last n lines Gatehouse wrote.
func (g *Gatehouse) Logs(ctx context.Context, n int) string {
	if g.proc != nil {
		return g.proc.tail(n)
	}
	return containerLogs(ctx, g.Container, n)
}

// Terminate stops Gatehouse and removes its container.
func (g *Gatehouse) Terminate(ctx context.Context) error {
	if g.proc != nil {
		return g.proc.stop(ctx)
	}
	if g.Container == nil {
		return nil
	}
	if err := testcontainers.TerminateContainer(g.Container); err != nil {
		return fmt.Errorf("remove gatehouse: %w", err)
	}
	return nil
}

// Kill stops a Gatehouse process at once (SIGKILL), as a crash would: the
// requests in flight on it get no answer. Only a process can be killed.
func (g *Gatehouse) Kill() error {
	if g.proc == nil {
		return errors.New("Kill: this Gatehouse runs in a container, not as a process")
	}
	_ = g.proc.cmd.Process.Kill()
	<-g.proc.done
	return nil
}

// StartGatehouse starts Gatehouse in a container on sdb's network, in
// front of sdb (GATEHOUSE_SPICEDB=spicedb:50051, plaintext, sdb's key),
// and waits until GET /readyz answers 200. The caller calls Terminate;
// tests use MustGatehouse.
func StartGatehouse(ctx context.Context, sdb *SpiceDB, opts ...GatehouseOption) (*Gatehouse, error) {
	cfg := newGatehouseConfig(opts)
	env := map[string]string{
		"GATEHOUSE_ADDR":             "0.0.0.0:8080",
		"GATEHOUSE_API_KEYS":         cfg.apiKey,
		"GATEHOUSE_SPICEDB":          sdb.NetworkEndpoint(),
		"GATEHOUSE_SPICEDB_KEY":      sdb.Key,
		"GATEHOUSE_SPICEDB_INSECURE": "true",
	}
	for k, v := range cfg.env {
		env[k] = v
	}
	label, withLabel := startLabel()
	custom := []testcontainers.ContainerCustomizer{
		withLabel,
		testcontainers.WithCmd("serve"),
		testcontainers.WithEnv(env),
		testcontainers.WithExposedPorts("8080/tcp"),
		network.WithNetwork([]string{"gatehouse"}, sdb.Network),
		testcontainers.WithWaitStrategy(wait.ForHTTP("/readyz").WithPort("8080/tcp").
			WithStartupTimeout(time.Minute).WithPollInterval(100 * time.Millisecond)),
	}
	if cfg.logger != nil {
		custom = append(custom, cfg.logger)
	}
	c, err := testcontainers.Run(ctx, cfg.image, custom...)
	if err != nil {
		err = hint(fmt.Errorf("start gatehouse (%s): %w", cfg.image, err), cfg.image, EnvGatehouseImage)
		return nil, errors.Join(err, testcontainers.TerminateContainer(c), removeLabelled(context.WithoutCancel(ctx), label))
	}
	ep, err := c.PortEndpoint(ctx, "8080/tcp", "http")
	if err != nil {
		return nil, errors.Join(fmt.Errorf("gatehouse endpoint: %w", err), testcontainers.TerminateContainer(c))
	}
	return &Gatehouse{URL: ep, APIKey: cfg.apiKey, Container: c}, nil
}

// MustGatehouse starts Gatehouse in a container in front of sdb, as
// StartGatehouse does, and removes it when the test ends.
func MustGatehouse(tb testing.TB, sdb *SpiceDB, opts ...GatehouseOption) *Gatehouse {
	tb.Helper()
	RequireDocker(tb)
	withLog := func(c *gatehouseConfig) { c.logger = testLogger(tb) }
	g, err := StartGatehouse(tb.Context(), sdb, append([]GatehouseOption{withLog}, opts...)...)
	if err != nil {
		tb.Fatalf("integration: %v", err)
	}
	testcontainers.CleanupContainer(tb, g.Container)
	logOnFailure(tb, "gatehouse", g.Container)
	return g
}

// mustCleanup stops a gatehouse process when the test ends, after printing
// its last lines if the test failed.
func mustCleanup(tb testing.TB, g *Gatehouse) {
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if tb.Failed() {
			tb.Logf("last lines of gatehouse:\n%s", g.Logs(ctx, 40))
		}
		if err := g.Terminate(ctx); err != nil {
			tb.Errorf("integration: %v", err)
		}
	})
}

// Build builds the gatehouse binary into dir with the go command and
// returns its path. It works from any module that requires Gatehouse.
func Build(ctx context.Context, dir string) (string, error) {
	out := filepath.Join(dir, "gatehouse")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "github.com/gatehouse-authz/gatehouse/cmd/gatehouse") //nolint:gosec // only the output path varies
	// Static, as `make build` and `make images` build it, which shares
	// their build cache.
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build gatehouse: %w\n%s", err, b)
	}
	return out, nil
}

// StartProcess runs `binary serve` on a free local port and waits until
// GET /readyz answers 200: on embedded SpiceDB when sdb is nil (memory
// datastore, no demo data unless WithEnv says otherwise), else in front of
// sdb's published port. The caller calls Terminate; tests use
// MustGatehouseProcess.
func StartProcess(ctx context.Context, binary string, sdb *SpiceDB, opts ...GatehouseOption) (*Gatehouse, error) {
	cfg := newGatehouseConfig(opts)
	// Port 0: the process takes a port of its own and names it in its
	// "gatehouse ready" line. A port picked here and then handed over
	// could be taken meanwhile by another process, whose /readyz would
	// then answer for this one (seen in CI: a replica that never started).
	env := map[string]string{
		"GATEHOUSE_ADDR":     "127.0.0.1:0",
		"GATEHOUSE_API_KEYS": cfg.apiKey,
		"GATEHOUSE_SPICEDB":  "embedded",
		"GATEHOUSE_SEED":     "false",
	}
	if sdb != nil {
		ep, err := sdb.Endpoint(ctx)
		if err != nil {
			return nil, err
		}
		env["GATEHOUSE_SPICEDB"] = ep
		env["GATEHOUSE_SPICEDB_KEY"] = sdb.Key
		env["GATEHOUSE_SPICEDB_INSECURE"] = "true"
		delete(env, "GATEHOUSE_SEED")
	}
	for k, v := range cfg.env {
		env[k] = v
	}
	// The server outlives this call: Terminate stops it, gracefully.
	p, err := startProcess(context.WithoutCancel(ctx), binary, env)
	if err != nil {
		return nil, err
	}
	addr, err := p.readyAddr(ctx, time.Minute)
	if err != nil {
		return nil, errors.Join(err, p.stop(context.WithoutCancel(ctx)), fmt.Errorf("gatehouse output:\n%s", p.tail(30)))
	}
	g := &Gatehouse{URL: "http://" + addr, APIKey: cfg.apiKey, proc: p}
	if err := waitReady(ctx, g, time.Minute); err != nil {
		return nil, errors.Join(err, p.stop(context.WithoutCancel(ctx)), fmt.Errorf("gatehouse output:\n%s", p.tail(30)))
	}
	return g, nil
}

// MustGatehouseProcess runs `binary serve` as StartProcess does (on
// embedded SpiceDB when sdb is nil) and stops it when the test ends. It
// needs no Docker when sdb is nil.
func MustGatehouseProcess(tb testing.TB, binary string, sdb *SpiceDB, opts ...GatehouseOption) *Gatehouse {
	tb.Helper()
	g, err := StartProcess(tb.Context(), binary, sdb, opts...)
	if err != nil {
		tb.Fatalf("integration: %v", err)
	}
	mustCleanup(tb, g)
	return g
}

// waitReady polls GET /readyz until it answers 200, the process ends, or
// timeout passes.
func waitReady(ctx context.Context, g *Gatehouse, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c := g.Client()
	for {
		err := c.Ready(ctx)
		if err == nil {
			return nil
		}
		if g.proc != nil {
			if exited := g.proc.exited(); exited != nil {
				return fmt.Errorf("gatehouse exited before it was ready: %w", exited)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("gatehouse at %s not ready after %v: %w", g.URL, timeout, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// freeAddr returns a local address no one listens on now.
func freeAddr(ctx context.Context) (string, error) {
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	return addr, nil
}

// process is a gatehouse server run as a child process.
type process struct {
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	err  error
}

func startProcess(ctx context.Context, binary string, env map[string]string) (*process, error) {
	cmd := exec.CommandContext(ctx, binary, "serve") //nolint:gosec // the binary is the one the caller built
	// The test's own GATEHOUSE_* settings must not leak into the server.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GATEHOUSE_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p := &process{cmd: cmd, out: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s serve: %w", binary, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// exited returns nil while the process runs, and why it ended afterwards.
// readyAddr waits for the process's "gatehouse ready" line and returns the
// address it names, the one it listens on.
func (p *process) readyAddr(ctx context.Context, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		for _, line := range strings.Split(p.out.String(), "\n") {
			var ready struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal([]byte(line), &ready) == nil && ready.Msg == "gatehouse ready" && ready.Addr != "" {
				return ready.Addr, nil
			}
		}
		if err := p.exited(); err != nil {
			return "", fmt.Errorf("gatehouse exited before it was ready: %w", err)
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("gatehouse said it was ready on no address within %v", timeout)
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (p *process) exited() error {
	select {
	case <-p.done:
		if p.err == nil {
			return errors.New("exit status 0")
		}
		return p.err
	default:
		return nil
	}
}

// stop sends SIGTERM, and SIGKILL when the process has not ended by the
// time ctx does or 15 seconds have passed.
func (p *process) stop(ctx context.Context) error {
	select {
	case <-p.done:
		return nil
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(15 * time.Second)
	defer t.Stop()
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
	case <-t.C:
	}
	_ = p.cmd.Process.Kill()
	<-p.done
	return errors.New("gatehouse did not stop within 15s of SIGTERM; killed")
}

// tail returns the process's last n lines, after its last n lines that are
// not an access-log line at INFO (a warning, an error, a panic, the
// server's own complaints), which a busy test's request lines would push
// out of a plain tail.
func (p *process) tail(n int) string {
	lines := strings.Split(strings.TrimRight(p.out.String(), "\n"), "\n")
	var notable []string
	for _, l := range lines {
		if !strings.Contains(l, `"level":"INFO","msg":"request"`) {
			notable = append(notable, l)
		}
	}
	if len(notable) > n {
		notable = notable[len(notable)-n:]
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "(lines other than requests answered at INFO)\n" + strings.Join(notable, "\n") +
		"\n(last lines)\n" + strings.Join(lines, "\n")
}

// syncBuffer is a bytes.Buffer safe for the process's writes and our reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
