// Command bench measures Gatehouse against SpiceDB's own HTTP gateway, side
// by side in one run on the same schema and data: (a) Gatehouse embedded on
// the memory datastore, (b) `spicedb serve --http-enabled` (memory), and
// (c) Gatehouse in remote mode in front of that same SpiceDB. It drives
// POST /v1/check with 32 concurrent connections for a fixed time, then the
// contractor lookup of a CIS processor in an organisation of 10,000
// contractors, and prints the figures. `make bench` runs it.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gatehouse-authz/gatehouse/integration"
	"github.com/gatehouse-authz/gatehouse/schema"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type options struct {
	gatehouse, spicedb string
	openfga            string
	postgres           string
	orgs, perOrg       int
	conns              int
	duration           time.Duration
	bigOrg             int
	lookups            int
	pprof              string
}

func run(ctx context.Context, args []string, out io.Writer) error {
	var o options
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.StringVar(&o.gatehouse, "gatehouse", "bin/gatehouse", "the gatehouse binary")
	fs.StringVar(&o.spicedb, "spicedb", "bin/spicedb", "the spicedb binary (the version pinned in go.mod)")
	fs.StringVar(&o.openfga, "openfga", "", "the openfga binary (bench/openfga/go.mod pins it); empty leaves OpenFGA out")
	fs.StringVar(&o.postgres, "postgres", "", "a postgres:// URI whose user may create databases: adds Gatehouse embedded, SpiceDB's gateway and Gatehouse remote on Postgres")
	fs.IntVar(&o.orgs, "orgs", 300, "organisations")
	fs.IntVar(&o.perOrg, "contractors", 28, "contractors per organisation")
	fs.IntVar(&o.conns, "conns", 32, "concurrent connections")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "load time per target")
	fs.IntVar(&o.bigOrg, "big-org", 10000, "contractors in the lookup organisation (half admin-only)")
	fs.IntVar(&o.lookups, "lookups", 200, "lookups per target")
	fs.StringVar(&o.pprof, "pprof", "", "serve the embedded Gatehouse's pprof here, to profile it under load")
	if err := fs.Parse(args); err != nil {
		return err
	}
	data := dataset(o)
	fmt.Fprintf(out, "dataset: %d organisations, %d role relationships, %d contractors, %d distinct checks (%d%% allowed by construction)\n",
		o.orgs, len(data.rels), len(data.contractors), len(data.checks), data.allowedPct)

	// (b) SpiceDB with its HTTP gateway, memory datastore, telemetry off.
	grpcAddr, httpAddr := freeAddr(), freeAddr()
	const sdbKey = "bench-key"
	sdb, err := start(ctx, o.spicedb, nil, "serve", "--grpc-preshared-key", sdbKey, "--datastore-engine", "memory",
		"--grpc-addr", grpcAddr, "--http-enabled", "--http-addr", httpAddr, "--telemetry-endpoint=",
		"--metrics-enabled=false", "--dispatch-cluster-enabled=false", "--skip-release-check", "--log-level", "warn")
	if err != nil {
		return err
	}
	defer sdb.stop()
	gw := &gateway{base: "http://" + httpAddr, key: sdbKey}
	if err := waitFor(ctx, func() error { return gw.writeSchema(ctx, schema.Text) }); err != nil {
		return fmt.Errorf("SpiceDB gateway: %w", err)
	}

	// (a) Gatehouse embedded; (c) Gatehouse remote in front of (b).
	embAddr, remAddr := freeAddr(), freeAddr()
	const key = "bench"
	emb, err := start(ctx, o.gatehouse, []string{"GATEHOUSE_ADDR=" + embAddr, "GATEHOUSE_API_KEYS=" + key, "GATEHOUSE_SEED=false", "GATEHOUSE_PPROF_ADDR=" + o.pprof}, "serve")
	if err != nil {
		return err
	}
	defer emb.stop()
	rem, err := start(ctx, o.gatehouse, []string{
		"GATEHOUSE_ADDR=" + remAddr, "GATEHOUSE_API_KEYS=" + key,
		"GATEHOUSE_SPICEDB=" + grpcAddr, "GATEHOUSE_SPICEDB_KEY=" + sdbKey, "GATEHOUSE_SPICEDB_INSECURE=true",
	}, "serve")
	if err != nil {
		return err
	}
	defer rem.stop()
	procs := []named{{"gatehouse-embedded", emb}, {"gatehouse-remote", rem}, {"spicedb", sdb}}
	ghEmb := &gatehouse{base: "http://" + embAddr, key: key}
	ghRem := &gatehouse{base: "http://" + remAddr, key: key}
	for _, g := range []*gatehouse{ghEmb, ghRem} {
		if err := waitFor(ctx, func() error { return g.ready(ctx) }); err != nil {
			return err
		}
		if err := g.load(ctx, data); err != nil {
			return err
		}
	}

	type target struct {
		name         string
		call, verify func(context.Context, *http.Client, check) (bool, error)
		lookup       func(context.Context, *http.Client) (int, error)
	}
	targets := []target{
		{"gatehouse-embedded", ghEmb.check, ghEmb.check, ghEmb.lookup},
		{"spicedb-gateway", gw.check, gw.verify, gw.lookup},
		{"gatehouse-remote", ghRem.check, ghRem.check, ghRem.lookup},
	}
	// (d) OpenFGA, the peer users would pick instead: memory datastore, its
	// defaults (Check is consistent; its check cache, off by default, would
	// make it eventually consistent), ListObjects unbounded like the others.
	var fga *openfga
	if o.openfga != "" {
		fgaHTTP := freeAddr()
		p, err := start(ctx, o.openfga, nil, "run", "--datastore-engine", "memory", "--http-addr", fgaHTTP, "--grpc-addr", freeAddr(),
			"--playground-enabled=false", "--metrics-enabled=false", "--log-level", "warn",
			"--listObjects-max-results", "0", "--listObjects-deadline", "30s", "--request-timeout", "35s")
		if err != nil {
			return err
		}
		defer p.stop()
		fga = &openfga{base: "http://" + fgaHTTP}
		if err := waitFor(ctx, func() error { return fga.setup(ctx) }); err != nil {
			return fmt.Errorf("OpenFGA: %w", err)
		}
		if err := fga.load(ctx, data); err != nil {
			return fmt.Errorf("OpenFGA: %w", err)
		}
		targets = append(targets, target{"openfga", fga.check, fga.check, fga.lookup})
		procs = append(procs, named{"openfga", p})
	}
	lookupOrgs := []*gatehouse{ghEmb, ghRem}
	// (e) The same on Postgres: Gatehouse embedded on a database of its
	// own, SpiceDB's gateway on another, Gatehouse remote in front of it.
	if o.postgres != "" {
		embDB, dropEmb, err := integration.CreateDatabase(ctx, o.postgres)
		if err != nil {
			return err
		}
		defer func() { _ = dropEmb(context.WithoutCancel(ctx)) }()
		sdbDB, dropSdb, err := integration.CreateDatabase(ctx, o.postgres)
		if err != nil {
			return err
		}
		defer func() { _ = dropSdb(context.WithoutCancel(ctx)) }()
		migrate := exec.CommandContext(ctx, o.spicedb, "migrate", "head", "--datastore-engine", "postgres", "--datastore-conn-uri", sdbDB, "--skip-release-check") //nolint:gosec // our binary and our database
		if out, err := migrate.CombinedOutput(); err != nil {
			return fmt.Errorf("migrating SpiceDB's database: %w: %s", err, out)
		}
		grpcPG, httpPG := freeAddr(), freeAddr()
		sdbPG, err := start(ctx, o.spicedb, nil, "serve", "--grpc-preshared-key", sdbKey, "--datastore-engine", "postgres", "--datastore-conn-uri", sdbDB,
			"--grpc-addr", grpcPG, "--http-enabled", "--http-addr", httpPG, "--telemetry-endpoint=",
			"--metrics-enabled=false", "--dispatch-cluster-enabled=false", "--skip-release-check", "--log-level", "warn")
		if err != nil {
			return err
		}
		defer sdbPG.stop()
		gwPG := &gateway{base: "http://" + httpPG, key: sdbKey}
		if err := waitFor(ctx, func() error { return gwPG.writeSchema(ctx, schema.Text) }); err != nil {
			return fmt.Errorf("SpiceDB gateway on Postgres: %w", err)
		}
		embPGAddr, remPGAddr := freeAddr(), freeAddr()
		embPG, err := start(ctx, o.gatehouse, []string{"GATEHOUSE_ADDR=" + embPGAddr, "GATEHOUSE_API_KEYS=" + key, "GATEHOUSE_SEED=false", "GATEHOUSE_DATASTORE=" + embDB}, "serve")
		if err != nil {
			return err
		}
		defer embPG.stop()
		remPG, err := start(ctx, o.gatehouse, []string{
			"GATEHOUSE_ADDR=" + remPGAddr, "GATEHOUSE_API_KEYS=" + key,
			"GATEHOUSE_SPICEDB=" + grpcPG, "GATEHOUSE_SPICEDB_KEY=" + sdbKey, "GATEHOUSE_SPICEDB_INSECURE=true",
		}, "serve")
		if err != nil {
			return err
		}
		defer remPG.stop()
		ghEmbPG := &gatehouse{base: "http://" + embPGAddr, key: key}
		ghRemPG := &gatehouse{base: "http://" + remPGAddr, key: key}
		for _, g := range []*gatehouse{ghEmbPG, ghRemPG} {
			if err := waitFor(ctx, func() error { return g.ready(ctx) }); err != nil {
				return err
			}
			if err := g.load(ctx, data); err != nil {
				return err
			}
		}
		targets = append(targets,
			target{"gatehouse-embedded-pg", ghEmbPG.check, ghEmbPG.check, ghEmbPG.lookup},
			target{"spicedb-gateway-pg", gwPG.check, gwPG.verify, gwPG.lookup},
			target{"gatehouse-remote-pg", ghRemPG.check, ghRemPG.check, ghRemPG.lookup},
		)
		procs = append(procs, named{"gatehouse-embedded-pg", embPG}, named{"gatehouse-remote-pg", remPG}, named{"spicedb-pg", sdbPG})
		lookupOrgs = append(lookupOrgs, ghEmbPG, ghRemPG)
	}
	// Every target must give the same answers before its speed counts.
	hc := client(o.conns)
	for _, t := range targets {
		for i, c := range data.checks[:200] {
			got, err := t.verify(ctx, hc, c)
			if err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
			if got != c.want {
				return fmt.Errorf("%s answered %v to check %d (%+v), want %v", t.name, got, i, c, c.want)
			}
		}
	}
	fmt.Fprintf(out, "\nPOST check, %d connections, %s each:\n", o.conns, o.duration)
	fmt.Fprintf(out, "%-22s %10s %9s %9s %7s\n", "target", "req/s", "p50", "p99", "errors")
	rps := map[string]float64{}
	for _, t := range targets {
		r := load(ctx, hc, o.conns, o.duration, data.checks, t.call)
		rps[t.name] = r.rps
		fmt.Fprintf(out, "%-22s %10.0f %9s %9s %7d\n", t.name, r.rps, r.p50, r.p99, r.errors)
	}
	// A Zipf-skewed mix (s = 1.1): a few checks are asked very often and
	// most rarely, as real traffic is (the same users on the same pages).
	zipf := zipfMix(data.checks, 200000)
	fmt.Fprintf(out, "\nPOST check, Zipf-skewed mix of the %d checks (s=1.1), %d connections, %s each:\n", len(data.checks), o.conns, o.duration)
	fmt.Fprintf(out, "%-22s %10s %9s %9s %7s\n", "target", "req/s", "p50", "p99", "errors")
	zipfRPS := map[string]float64{}
	for _, t := range targets {
		r := load(ctx, hc, o.conns, o.duration, zipf, t.call)
		zipfRPS[t.name] = r.rps
		fmt.Fprintf(out, "%-22s %10.0f %9s %9s %7d\n", t.name, r.rps, r.p50, r.p99, r.errors)
	}
	// One allowed check, repeated: what a cache gives.
	hot := []check{data.checks[slices.IndexFunc(data.checks, func(c check) bool { return c.want })]}
	fmt.Fprintf(out, "\nPOST check, one check repeated (%s view %s), %d connections, %s each:\n", hot[0].resource, hot[0].subject, o.conns, o.duration)
	fmt.Fprintf(out, "%-22s %10s %9s %9s %7s\n", "target", "req/s", "p50", "p99", "errors")
	hotRPS := map[string]float64{}
	for _, t := range targets {
		r := load(ctx, hc, o.conns, o.duration, hot, t.call)
		hotRPS[t.name] = r.rps
		fmt.Fprintf(out, "%-22s %10.0f %9s %9s %7d\n", t.name, r.rps, r.p50, r.p99, r.errors)
	}

	// The lookup of issue 4: a CIS processor in one organisation of bigOrg
	// contractors, half of them admin-only.
	for _, g := range lookupOrgs {
		if err := g.buildBigOrg(ctx, o.bigOrg); err != nil {
			return fmt.Errorf("building the lookup organisation: %w", err)
		}
	}
	if fga != nil {
		if err := fga.buildBigOrg(ctx, o.bigOrg); err != nil {
			return fmt.Errorf("building the lookup organisation in OpenFGA: %w", err)
		}
	}
	fmt.Fprintf(out, "\nlookup resources: contractors a CIS processor may view, %d contractors (half admin-only), %d lookups each (short: answers without all %d it may view):\n", o.bigOrg, o.lookups, o.bigOrg/2)
	fmt.Fprintf(out, "%-22s %9s %9s %9s\n", "target", "p50", "p99", "short")
	// A target reading at a quantised revision (the gateway asks for
	// minimised latency) may not see the whole organisation for a few
	// seconds: wait until every one does, then past SpiceDB's quantisation
	// window (5 s), so that no timed lookup reads from before it.
	for _, t := range targets {
		if err := waitFor(ctx, func() error {
			n, err := t.lookup(ctx, hc)
			if err == nil && n != o.bigOrg/2 {
				err = fmt.Errorf("%s lookup: %d contractors, want %d", t.name, n, o.bigOrg/2)
			}
			return err
		}); err != nil {
			return err
		}
	}
	time.Sleep(6 * time.Second)
	for _, t := range targets {
		var lat []time.Duration
		short := 0
		for range o.lookups {
			start := time.Now()
			got, err := t.lookup(ctx, hc)
			if err != nil {
				return fmt.Errorf("%s lookup: %w", t.name, err)
			}
			lat = append(lat, time.Since(start))
			if got != o.bigOrg/2 {
				short++
			}
		}
		p50, p99 := percentiles(lat)
		fmt.Fprintf(out, "%-22s %9s %9s %9d\n", t.name, p50, p99, short)
	}

	var rss []string
	for _, p := range procs {
		rss = append(rss, p.name+" "+peakRSS(p.proc.cmd.Process.Pid))
	}
	fmt.Fprintf(out, "\npeak RSS: %s (gatehouse-embedded holds SpiceDB in-process; gatehouse-remote fronts spicedb)\n", strings.Join(rss, ", "))
	// The ratio lines of issue 11, last, all from this run.
	fmt.Fprintf(out, "\nhot check gatehouse-embedded/spicedb-gateway: %.2f\n", hotRPS["gatehouse-embedded"]/hotRPS["spicedb-gateway"])
	fmt.Fprintf(out, "distinct checks gatehouse-embedded/spicedb-gateway: %.2f\n", rps["gatehouse-embedded"]/rps["spicedb-gateway"])
	fmt.Fprintf(out, "zipf checks gatehouse-embedded/spicedb-gateway: %.2f\n", zipfRPS["gatehouse-embedded"]/zipfRPS["spicedb-gateway"])
	fmt.Fprintf(out, "check gatehouse-remote/spicedb-gateway: %.2f\n", rps["gatehouse-remote"]/rps["spicedb-gateway"])
	if o.postgres != "" {
		fmt.Fprintf(out, "distinct checks gatehouse-embedded-pg/spicedb-gateway-pg: %.2f\n", rps["gatehouse-embedded-pg"]/rps["spicedb-gateway-pg"])
		fmt.Fprintf(out, "check gatehouse-remote-pg/spicedb-gateway-pg: %.2f\n", rps["gatehouse-remote-pg"]/rps["spicedb-gateway-pg"])
	}
	if fga != nil {
		fmt.Fprintf(out, "check gatehouse-embedded/openfga: %.2f\n", rps["gatehouse-embedded"]/rps["openfga"])
		fmt.Fprintf(out, "hot check gatehouse-embedded/openfga: %.2f\n", hotRPS["gatehouse-embedded"]/hotRPS["openfga"])
	}
	return nil
}

// zipfMix draws n checks from checks with a Zipf distribution (s = 1.1)
// over a fixed shuffle of them, so that the most asked ones are spread
// over organisations and answers.
func zipfMix(checks []check, n int) []check {
	rng := rand.New(rand.NewPCG(3, 4)) //nolint:gosec // a fixed seed, so every run asks the same mix
	order := rng.Perm(len(checks))
	z := rand.NewZipf(rng, 1.1, 1, uint64(len(checks)-1)) //nolint:gosec // len(checks) > 0, the dataset has 20,000
	out := make([]check, n)
	for i := range out {
		out[i] = checks[order[z.Uint64()]]
	}
	return out
}

type check struct {
	resource, subject string
	want              bool
}

type data struct {
	orgs []string
	// rels are the roles, written raw; contractors are {org, id}, created
	// through the contractor endpoint, since the raw endpoint refuses
	// contractor#organisation (K1, X4).
	rels        []string
	contractors [][2]string
	checks      []check
	allowedPct  int
}

// dataset builds orgs organisations, each with an owner, an administrator,
// a CIS processor, an IT manager, a billing manager and perOrg contractors
// (every third admin-only), and checks of contractor#view whose answers
// follow from the rules: the same organisation's roles, or an outsider.
func dataset(o options) data {
	var d data
	rng := rand.New(rand.NewPCG(1, 2)) //nolint:gosec // a fixed seed, so every run checks the same data
	roles := []string{"administrator", "cis_processor", "it_manager", "billing_manager", "finance_admin"}
	for i := range o.orgs {
		org := fmt.Sprintf("org%d", i)
		d.orgs = append(d.orgs, org)
		for _, r := range roles {
			d.rels = append(d.rels, fmt.Sprintf("organisation:%s#%s@user:%s_%s", org, r, org, r))
		}
		for c := range o.perOrg {
			d.contractors = append(d.contractors, [2]string{org, fmt.Sprintf("%s_c%d", org, c)})
		}
	}
	// The admin-only flag is a wildcard, which the API never accepts from a
	// caller: it is set through the contractor endpoint, so here the flag is
	// left out and admin-only visibility is measured by the lookup below.
	allowed := 0
	for range 20000 {
		org := rng.IntN(o.orgs)
		c := rng.IntN(o.perOrg)
		role := roles[rng.IntN(len(roles))]
		userOrg := org
		if rng.IntN(3) == 0 {
			userOrg = (org + 1 + rng.IntN(o.orgs-1)) % o.orgs
		}
		want := userOrg == org && role != "billing_manager" && role != "finance_admin"
		if want {
			allowed++
		}
		d.checks = append(d.checks, check{
			resource: fmt.Sprintf("contractor:org%d_c%d", org, c),
			subject:  fmt.Sprintf("user:org%d_%s", userOrg, role),
			want:     want,
		})
	}
	d.allowedPct = allowed * 100 / len(d.checks)
	return d
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

type result struct {
	rps      float64
	p50, p99 time.Duration
	errors   int64
}

// load runs conns workers against call for d and measures every request.
func load(ctx context.Context, hc *http.Client, conns int, d time.Duration, checks []check,
	call func(context.Context, *http.Client, check) (bool, error),
) result {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var wg sync.WaitGroup
	var errs atomic.Int64
	lats := make([][]time.Duration, conns)
	start := time.Now()
	for w := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			i := w * 997
			for ctx.Err() == nil {
				c := checks[i%len(checks)]
				i++
				t := time.Now()
				got, err := call(ctx, hc, c)
				if ctx.Err() != nil {
					return
				}
				if err != nil || got != c.want {
					errs.Add(1)
					continue
				}
				lats[w] = append(lats[w], time.Since(t))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	p50, p99 := percentiles(all)
	return result{rps: float64(len(all)) / elapsed.Seconds(), p50: p50, p99: p99, errors: errs.Load()}
}

func percentiles(l []time.Duration) (time.Duration, time.Duration) {
	if len(l) == 0 {
		return 0, 0
	}
	slices.Sort(l)
	at := func(q float64) time.Duration { return l[min(len(l)-1, int(q*float64(len(l))))].Round(time.Microsecond) }
	return at(0.50), at(0.99)
}

func client(conns int) *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConns: conns * 2, MaxIdleConnsPerHost: conns * 2, MaxConnsPerHost: conns, IdleConnTimeout: time.Minute}}
}

func post(ctx context.Context, hc *http.Client, url, key string, body any, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return err
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s: %d %s", url, resp.StatusCode, raw)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(raw, out)
}

type gatehouse struct{ base, key string }

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

// eachOf runs do for every i in [0, n), 8 at once, and returns the first error.
func eachOf(n int, do func(i int) error) error {
	next := atomic.Int64{}
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for range 8 {
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

func (g *gatehouse) check(ctx context.Context, hc *http.Client, c check) (bool, error) {
	var out struct {
		Allowed bool `json:"allowed"`
	}
	err := post(ctx, hc, g.base+"/v1/check", g.key, map[string]string{"resource": c.resource, "permission": "view", "subject": c.subject}, &out)
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

type gateway struct{ base, key string }

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

// named is a process the bench started, by the name its figures use.
type named struct {
	name string
	proc *proc
}

type proc struct {
	cmd *exec.Cmd
}

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

func start(ctx context.Context, bin string, env []string, args ...string) (*proc, error) {
	cmd := exec.CommandContext(ctx, bin, args...) //nolint:gosec // the binaries are ours, named by the Makefile
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	return &proc{cmd: cmd}, nil
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
