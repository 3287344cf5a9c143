package main

import (
	"io"
	"strings"
	"testing"
	"time"
)

// TestParseRingConfig: `gatehouse ring` takes its settings from flags or
// GATEHOUSE_RING_* and refuses, by name, what cannot work.
func TestParseRingConfig(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	c, err := parseRingConfig(nil, env(map[string]string{"GATEHOUSE_RING_NODES": "spicedb:50051", "GATEHOUSE_RING_NAMES": "spicedb-ring, 10.0.0.5"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.ring.Nodes != "spicedb:50051" || c.ring.DispatchPort != 50053 || c.ring.Service != "spicedb" || c.ring.Namespace != "gatehouse" ||
		c.ring.Every != 500*time.Millisecond || c.addr != "0.0.0.0:8443" || c.dir != "/var/run/gatehouse-ring" ||
		strings.Join(c.names, ",") != "spicedb-ring,10.0.0.5,localhost" {
		t.Fatalf("defaults: %+v", c)
	}
	c, err = parseRingConfig([]string{"--nodes", "n:1", "--dispatch-port", "6000", "--every", "2s", "--service", "authz", "--namespace", "prod", "--names", "ring"}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.ring.DispatchPort != 6000 || c.ring.Every != 2*time.Second || c.ring.Service != "authz" || c.ring.Namespace != "prod" {
		t.Fatalf("flags: %+v", c)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "--nodes (GATEHOUSE_RING_NODES) is required"},
		{[]string{"--nodes", "n:1", "--dispatch-port", "x"}, "--dispatch-port"},
		{[]string{"--nodes", "n:1", "--every", "0s"}, "--every"},
		{[]string{"--nodes", "n:1", "--every", "soon"}, "--every"},
		{[]string{"--nodes", "n:1", "--addr", "8443"}, "--addr"},
		{[]string{"--nodes", "n:1", "extra"}, "unexpected arguments"},
	} {
		if _, err := parseRingConfig(tc.args, env(nil), io.Discard); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want an error naming %q", tc.args, err, tc.want)
		}
	}
}
