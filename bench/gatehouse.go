package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
)

// benchKey is the API key of every Gatehouse the bench starts.
const benchKey = "bench"

// startGatehouse runs `gatehouse serve` as name on a free port with env
// (GATEHOUSE_* settings) and waits until it is ready.
func (b *bench) startGatehouse(ctx context.Context, name string, env ...string) (*gatehouse, error) {
	addr := freeAddr()
	env = append([]string{"GATEHOUSE_ADDR=" + addr, "GATEHOUSE_API_KEYS=" + benchKey}, env...)
	var pprof string
	if b.o.profile != "" {
		pprof = freeAddr()
		env = append(env, "GATEHOUSE_PPROF_ADDR="+pprof) // the last of a name wins
	}
	p, err := b.start(ctx, name, b.o.gatehouse, env, "serve")
	if err != nil {
		return nil, err
	}
	g := &gatehouse{base: "http://" + addr, key: benchKey, pprof: pprof}
	if err := waitFor(ctx, func() error { return g.ready(ctx) }); err != nil {
		return nil, p.failed(err)
	}
	return g, nil
}

// remoteEnv is Gatehouse's setting for remote mode in front of the SpiceDB
// at target (host:port, or several comma-separated), in plaintext.
func remoteEnv(target, key string) []string {
	return []string{"GATEHOUSE_SPICEDB=" + target, "GATEHOUSE_SPICEDB_KEY=" + key, "GATEHOUSE_SPICEDB_INSECURE=true"}
}

// gatehouse is a Gatehouse server's HTTP API, and its pprof address
// (host:port) when -profile asks for one.
type gatehouse struct{ base, key, pprof string }

func (g *gatehouse) ready(ctx context.Context) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, g.base+"/readyz", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s not ready: %d", g.base, resp.StatusCode)
	}
	return nil
}

// load writes d through the API: each organisation created by its owner
// "<org>_owner" (which links it to the provider), the roles raw, the
// contractors through the contractor endpoint, 8 at once.
func (g *gatehouse) load(ctx context.Context, d data) error {
	for _, org := range d.orgs {
		if err := g.act(ctx, http.MethodPost, "/v1/organisations", "user:"+org+"_owner", map[string]string{"id": org, "name": org}); err != nil {
			return err
		}
	}
	for i := 0; i < len(d.rels); i += 1000 {
		if err := post(ctx, http.DefaultClient, g.base+"/v1/relationships", g.key, map[string]any{"touch": d.rels[i:min(i+1000, len(d.rels))]}, nil); err != nil {
			return err
		}
	}
	return eachOf(len(d.contractors), func(i int) error {
		org, id := d.contractors[i][0], d.contractors[i][1]
		return g.act(ctx, http.MethodPost, "/v1/organisations/"+org+"/contractors", "user:"+org+"_owner", map[string]string{"id": id})
	})
}

// buildBigOrg creates, through the organisation API, one organisation of n
// contractors, every other one admin-only, with a CIS processor; 8 clients
// at once. The admin-only flag is a wildcard that only the contractor
// endpoint writes.
func (g *gatehouse) buildBigOrg(ctx context.Context, n int) error {
	if err := g.act(ctx, http.MethodPost, "/v1/organisations", "user:big_owner", map[string]string{"id": "big", "name": "Big Builders"}); err != nil {
		return err
	}
	if err := g.act(ctx, http.MethodPut, "/v1/organisations/big/members/big_cis/roles/cis_processor", "user:big_owner", nil); err != nil {
		return err
	}
	return eachOf(n, func(i int) error {
		body := map[string]any{"id": fmt.Sprintf("big_c%d", i), "name": fmt.Sprintf("Contractor %d", i), "adminOnly": i%2 == 1}
		return g.act(ctx, http.MethodPost, "/v1/organisations/big/contractors", "user:big_owner", body)
	})
}

// act sends an admin request on behalf of actor; any answer but 2xx is an error.
func (g *gatehouse) act(ctx context.Context, method, path, actor string, body any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, g.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+g.key)
	req.Header.Set("Gatehouse-Actor", actor)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	return nil
}

// check asks at Gatehouse's default consistency, as callers do.
func (g *gatehouse) check(ctx context.Context, hc *http.Client, c check) (bool, error) {
	return g.checkWith(ctx, hc, c, nil)
}

// verify checks fully consistent: a replica may not have written the data itself.
func (g *gatehouse) verify(ctx context.Context, hc *http.Client, c check) (bool, error) {
	return g.checkWith(ctx, hc, c, map[string]any{"fullyConsistent": true})
}

func (g *gatehouse) checkWith(ctx context.Context, hc *http.Client, c check, consistency map[string]any) (bool, error) {
	var out struct {
		Allowed bool `json:"allowed"`
	}
	body := map[string]any{"resource": c.resource, "permission": "view", "subject": c.subject}
	if consistency != nil {
		body["consistency"] = consistency
	}
	err := post(ctx, hc, g.base+"/v1/check", g.key, body, &out)
	return out.Allowed, err
}

func (g *gatehouse) lookup(ctx context.Context, hc *http.Client) (int, error) {
	var out struct {
		Resources []string `json:"resources"`
	}
	// One page of at most 10,000 (the largest a page may be): every
	// contractor, as SpiceDB's gateway streams them all.
	err := post(ctx, hc, g.base+"/v1/lookup/resources", g.key, map[string]any{"resourceType": "contractor", "permission": "view", "subject": "user:big_cis", "limit": 10000}, &out)
	return len(out.Resources), err
}

// eachOf runs do for every i in [0, n), 8 at once, and returns the first error.
// loaders is how many requests eachOf keeps in flight: a write waits for
// its audit record (a Watch poll, 100 ms here), so 8 at a time loaded the
// 10,000 contractors of one target in minutes.
const loaders = 32

func eachOf(n int, do func(i int) error) error {
	next := atomic.Int64{}
	errs := make(chan error, loaders)
	var wg sync.WaitGroup
	for range loaders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				if err := do(i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}
