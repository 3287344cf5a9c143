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
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"
)

// modulePath is Gatehouse's module, which Build builds the server of.
const modulePath = "github.com/gatehouse-authz/gatehouse"

// Build builds the gatehouse binary into dir with the go command and
// returns its path. It builds in Gatehouse's own module directory,
// wherever the go command keeps it (the module cache, or the directory a
// replace directive names), with Gatehouse's go.mod and go.sum: so it
// works from any module that requires Gatehouse, with nothing more in
// that module's go.mod or go.sum, and the binary has the dependencies
// Gatehouse is tested with. The build is static (CGO_ENABLED=0), as
// `make build` and `make images` build it, which shares their build cache.
func Build(ctx context.Context, dir string) (string, error) {
	src, err := moduleDir(ctx)
	if err != nil {
		return "", err
	}
	out, err := filepath.Abs(filepath.Join(dir, "gatehouse"))
	if err != nil {
		return "", fmt.Errorf("build gatehouse: %w", err)
	}
	// -mod=readonly over any -mod in GOFLAGS: the module cache is
	// read-only, and Gatehouse's go.sum is complete.
	cmd := exec.CommandContext(ctx, "go", "build", "-mod=readonly", "-o", out, "./cmd/gatehouse") //nolint:gosec // only the output path varies
	cmd.Dir = src
	// GOWORK=off: a workspace of the caller's does not hold Gatehouse's
	// dependencies.
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build gatehouse in %s: %w\n%s", src, err, b)
	}
	return out, nil
}

// moduleDir returns the directory of Gatehouse's module: the one this file
// was compiled from, or, when the build dropped that path (-trimpath),
// the one `go list -m` names from the working directory's module.
func moduleDir(ctx context.Context) (string, error) {
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		root := filepath.Dir(filepath.Dir(file))
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			return root, nil
		}
	}
	out, err := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", modulePath).Output()
	if err != nil {
		return "", fmt.Errorf("find the source of %s: go list -m: %w (run from a module that requires it)", modulePath, err)
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		return "", fmt.Errorf("find the source of %s: go list -m names no directory for it (vendored?)", modulePath)
	}
	return dir, nil
}

// RunProcess runs `binary serve` (Build makes the binary) on a free local
// port and waits until GET /readyz answers 200; the caller calls
// Terminate. It needs no Docker: without WithSpiceDB or
// WithSpiceDBCluster, Gatehouse runs SpiceDB embedded, on its memory
// datastore, with no demo data
// (testcontainers.WithEnv(map[string]string{"GATEHOUSE_SEED": "true"})
// loads it). It takes the options Run takes: WithAPIKey, WithSpiceDB,
// WithSpiceDBCluster, and the GATEHOUSE_* settings of testcontainers.WithEnv;
// other customizers have nothing to act on in a process.
func RunProcess(ctx context.Context, binary string, opts ...testcontainers.ContainerCustomizer) (*Gatehouse, error) {
	set := settingsOf(opts)
	key := set.apiKey
	if key == "" {
		key = randomHex(16)
	}
	// Port 0: the process takes a port of its own and names it in its
	// "gatehouse ready" line. A port picked here and then handed over
	// could be taken meanwhile by another process, whose /readyz would
	// then answer for this one (seen in CI: a replica that never started).
	env := map[string]string{
		"GATEHOUSE_ADDR":     "127.0.0.1:0",
		"GATEHOUSE_API_KEYS": key,
		"GATEHOUSE_SPICEDB":  "embedded",
		"GATEHOUSE_SEED":     "false",
	}
	switch {
	case set.spicedb != nil:
		remote(env, set.spicedb.GRPCEndpoint(), set.spicedb.PresharedKey())
	case set.cluster != nil:
		remote(env, set.cluster.Target(), set.cluster.PresharedKey())
	}
	env, err := envOf(env, opts)
	if err != nil {
		return nil, err
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
	g := &Gatehouse{url: "http://" + addr, apiKey: key, proc: p}
	if err := waitReady(ctx, g, time.Minute); err != nil {
		return nil, errors.Join(err, p.stop(context.WithoutCancel(ctx)), fmt.Errorf("gatehouse output:\n%s", p.tail(30)))
	}
	return g, nil
}

// StartProcess is RunProcess(ctx, binary, WithSpiceDB(sdb), opts...), or
// without WithSpiceDB when sdb is nil.
//
// Deprecated: use RunProcess, which takes SpiceDB as an option.
func StartProcess(ctx context.Context, binary string, sdb *SpiceDB, opts ...testcontainers.ContainerCustomizer) (*Gatehouse, error) {
	if sdb != nil {
		opts = append([]testcontainers.ContainerCustomizer{WithSpiceDB(sdb)}, opts...)
	}
	return RunProcess(ctx, binary, opts...)
}

// MustGatehouseProcess runs `binary serve` as RunProcess does, in front of
// sdb (on embedded SpiceDB when sdb is nil), and stops it when the test
// ends, after printing its last lines if the test failed. It needs no
// Docker when sdb is nil.
func MustGatehouseProcess(tb testing.TB, binary string, sdb *SpiceDB, opts ...testcontainers.ContainerCustomizer) *Gatehouse {
	tb.Helper()
	if sdb != nil {
		opts = append([]testcontainers.ContainerCustomizer{WithSpiceDB(sdb)}, opts...)
	}
	g, err := RunProcess(tb.Context(), binary, opts...)
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
			return fmt.Errorf("gatehouse at %s not ready after %v: %w", g.url, timeout, err)
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
