package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestParseConfig covers the settings table of the README and its refusals.
func TestParseConfig(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	c, err := parseConfig(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.addr != "127.0.0.1:8080" || c.spicedb != "embedded" || c.datastore != "memory" || !c.seed || len(c.keys) != 0 {
		t.Errorf("defaults: %+v", c)
	}
	c, err = parseConfig([]string{"--addr", "127.0.0.1:9"}, env(map[string]string{
		"GATEHOUSE_ADDR": "0.0.0.0:1", "GATEHOUSE_API_KEYS": "a, b,,", "GATEHOUSE_CHECK_KEYS": "c",
		"GATEHOUSE_SPICEDB": "spicedb:50051", "GATEHOUSE_SPICEDB_KEY": "k", "GATEHOUSE_SPICEDB_INSECURE": "true",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.addr != "127.0.0.1:9" || strings.Join(c.keys, "|") != "a|b" || c.checkKeys[0] != "c" || !c.spicedbInsecure || c.seed {
		t.Errorf("flags and env: %+v", c)
	}
	for name, kv := range map[string]map[string]string{
		"remote without key":     {"GATEHOUSE_SPICEDB": "spicedb:50051"},
		"remote not host:port":   {"GATEHOUSE_SPICEDB": "spicedb", "GATEHOUSE_SPICEDB_KEY": "k"},
		"datastore not postgres": {"GATEHOUSE_DATASTORE": "mysql://x"},
		"remote with datastore":  {"GATEHOUSE_SPICEDB": "s:1", "GATEHOUSE_SPICEDB_KEY": "k", "GATEHOUSE_DATASTORE": "postgres://x"},
		"seed not a bool":        {"GATEHOUSE_SEED": "maybe"},
		"insecure not a bool":    {"GATEHOUSE_SPICEDB_INSECURE": "yes please"},
	} {
		if _, err := parseConfig(nil, env(kv), io.Discard); err == nil {
			t.Errorf("%s: accepted", name)
		} else if !strings.Contains(err.Error(), "GATEHOUSE_") {
			t.Errorf("%s: %q does not name the setting", name, err)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
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

// TestServeLifecycle starts `gatehouse serve` embedded, sees it become
// ready and answer, then sends it the shutdown signal: it stops accepting
// requests and returns cleanly. The generated key goes to stdout once and
// never into the log.
func TestServeLifecycle(t *testing.T) {
	l, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve"}, func(k string) string {
			return map[string]string{"GATEHOUSE_ADDR": addr}[k]
		}, &stdout, &stderr)
	}()
	base := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := get(t, base+"/readyz", "")
		if err == nil && resp == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready in 30s: %v %d\n%s", err, resp, stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	key, ok := strings.CutPrefix(strings.TrimSpace(stdout.String()), "GATEHOUSE_API_KEY=")
	if !ok || key == "" {
		t.Fatalf("no key printed: %q", stdout.String())
	}
	if code, err := get(t, base+"/v1/schema", key); err != nil || code != http.StatusOK {
		t.Fatalf("schema with the printed key: %d %v", code, err)
	}
	if !strings.Contains(stderr.String(), `"msg":"gatehouse ready"`) || !strings.Contains(stderr.String(), `"mode":"embedded memory"`) {
		t.Errorf("no ready line with the mode: %s", stderr.String())
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("did not stop within 30s of the signal")
	}
	if _, err := get(t, base+"/healthz", ""); err == nil {
		t.Error("still accepting requests after shutdown")
	}
	if strings.Contains(stderr.String(), key) {
		t.Error("the API key reached the log")
	}
}

func get(t *testing.T, url, key string) (int, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("GET %s: %w", url, err)
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
