package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	tclog "github.com/testcontainers/testcontainers-go/log"
)

// logDir makes a fresh directory for this run's server logs under parent
// and sends testcontainers' own chatter there too, so that the terminal
// shows only figures.
func logDir(parent string) (string, error) {
	if err := os.MkdirAll(parent, 0o750); err != nil {
		return "", fmt.Errorf("server logs: %w", err)
	}
	dir, err := os.MkdirTemp(parent, time.Now().Format("20060102-150405-"))
	if err != nil {
		return "", fmt.Errorf("server logs: %w", err)
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	f, err := os.Create(filepath.Join(dir, "testcontainers.log")) //nolint:gosec // a file of our own run's directory
	if err != nil {
		return "", fmt.Errorf("server logs: %w", err)
	}
	// The file stays open for the life of the process, as log's output.
	tclog.SetDefault(log.New(f, "", log.LstdFlags))
	return dir, nil
}

// proc is a server the bench started as a process of its own.
type proc struct {
	name, log string
	cmd       *exec.Cmd
}

// start runs bin with args, its output to <name>.log in the run's log
// directory, and stops it when the run ends.
func (b *bench) start(ctx context.Context, name, bin string, env []string, args ...string) (*proc, error) {
	path := filepath.Join(b.logs, name+".log")
	f, err := os.Create(path) //nolint:gosec // a file of our own run's directory
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	cmd := exec.CommandContext(ctx, bin, args...) //nolint:gosec // the binaries are ours, named by the Makefile
	// The caller's own GATEHOUSE_* settings (an audit database, say) must
	// not leak into a server whose settings are the shape's.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GATEHOUSE_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("starting %s (%s): %w", name, bin, err)
	}
	p := &proc{name: name, log: path, cmd: cmd}
	b.onClose(func() { p.stop(); _ = f.Close() })
	b.procs = append(b.procs, named{name, cmd.Process.Pid})
	return p, nil
}

// failed says which server failed and where its log is.
func (p *proc) failed(err error) error {
	return fmt.Errorf("%s: %w (its log: %s)", p.name, err, p.log)
}

// stop ends the process gracefully, and kills it after 10 s.
func (p *proc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
	}
}

// named is a server process by the name its figures use, for its peak
// memory.
type named struct {
	name string
	pid  int
}

func waitFor(ctx context.Context, f func() error) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := f()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return errors.Join(err, ctx.Err())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0") //nolint:noctx // a port probe, closed at once
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// peakRSS reads the high-water mark of a process's resident memory.
func peakRSS(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return fmt.Sprintf("%.0f MiB", float64(kb)/1024)
		}
	}
	return "unknown"
}
