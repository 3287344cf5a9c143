package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// profileSource is one process's pprof endpoint (host:port), by what it is.
type profileSource struct{ label, addr string }

// profile names the pprof endpoints of target, for -profile.
func (b *bench) profile(target string, srcs ...profileSource) {
	if b.o.profile == "" {
		return
	}
	if b.profiled == nil {
		b.profiled = map[string][]profileSource{}
	}
	for _, s := range srcs {
		if s.addr != "" {
			b.profiled[target] = append(b.profiled[target], s)
		}
	}
}

// profileDuring reads a CPU profile from each of target's endpoints for
// the load that begins now (all but its last second), into
// <-profile>/<target>-<tag>-<label>.pprof; the returned func waits for
// them and reports what failed.
func (b *bench) profileDuring(ctx context.Context, target, tag string) func() {
	srcs := b.profiled[target]
	if len(srcs) == 0 {
		return func() {}
	}
	secs := max(1, int((b.o.duration-time.Second)/time.Second))
	var wg sync.WaitGroup
	errs := make([]error, len(srcs))
	for i, s := range srcs {
		wg.Go(func() {
			file := filepath.Join(b.o.profile, fmt.Sprintf("%s-%s-%s.pprof", target, tag, s.label))
			errs[i] = fetchProfile(ctx, fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", s.addr, secs), file)
		})
	}
	return func() {
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				fmt.Fprintf(b.out, "profile of %s (%s): %v\n", target, srcs[i].label, err)
			}
		}
	}
}

func fetchProfile(ctx context.Context, url, file string) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o750); err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	f, err := os.Create(file) //nolint:gosec // the path is the operator's -profile
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
