package integration_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/modfile"

	"github.com/gatehouse-authz/gatehouse/integration"
)

// binDir holds the gatehouse binary that the tests build once.
var binDir string

func TestMain(m *testing.M) {
	// testcontainers' reaper container cannot be pulled where there is no
	// registry, and every container here is removed by the test that made
	// it, so the reaper is off unless the environment says otherwise.
	if os.Getenv("TESTCONTAINERS_RYUK_DISABLED") == "" {
		_ = os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	}
	dir, err := os.MkdirTemp("", "gatehouse-integration-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// buildOnce builds the gatehouse binary for every test that runs it.
var buildOnce = sync.OnceValues(func() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	return integration.Build(ctx, binDir)
})

// MustBinary returns the path of the gatehouse binary built from this tree.
func MustBinary(tb testing.TB) string {
	tb.Helper()
	start := time.Now()
	bin, err := buildOnce()
	if err != nil {
		tb.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		tb.Logf("built gatehouse in %v", d.Round(100*time.Millisecond))
	}
	return bin
}

// TestPinnedVersionEverywhere keeps the default SpiceDB image and the
// compose files at the SpiceDB version go.mod pins.
func TestPinnedVersionEverywhere(t *testing.T) {
	data, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	mf, err := modfile.ParseLax("go.mod", data, nil)
	if err != nil {
		t.Fatal(err)
	}
	var version string
	for _, r := range mf.Require {
		if r.Mod.Path == "github.com/authzed/spicedb" {
			version = r.Mod.Version
		}
	}
	if version == "" {
		t.Fatal("go.mod does not require github.com/authzed/spicedb")
	}
	if want := "authzed/spicedb:" + version; integration.DefaultSpiceDBImage != want {
		t.Errorf("DefaultSpiceDBImage = %q, want %q", integration.DefaultSpiceDBImage, want)
	}
	for file, want := range map[string]string{
		"../docker-compose.yml":             "authzed/spicedb:" + version,
		"../docker-compose.local.yml":       "gatehouse-spicedb:" + version,
		"../integration/spicedb.Dockerfile": "gatehouse-spicedb:" + version,
	} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), want) {
			t.Errorf("%s does not name %s", file, want)
		}
	}
}
