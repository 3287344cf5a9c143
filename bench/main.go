// Command bench measures Gatehouse against SpiceDB's own HTTP gateway and
// OpenFGA, side by side in one run on the same schema and data, in the
// shapes Gatehouse runs in: embedded on the memory datastore and on
// Postgres, in remote mode in front of `spicedb serve` on each, and in
// front of a three-node SpiceDB cluster on Postgres with one replica and
// with two. It drives POST /v1/check with 32 concurrent connections for a
// fixed time on three workloads (distinct checks, a Zipf mix, one hot
// check), then the contractor lookup of a CIS processor in an organisation
// of 10,000 contractors, and prints the figures and, last, the ratio lines.
// The servers' logs go to files in a directory it names first, so that the
// terminal shows only figures. `make bench` runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/gatehouse-authz/gatehouse/integration"
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
	cluster            bool
	logs               string
	orgs, perOrg       int
	conns              int
	duration           time.Duration
	bigOrg             int
	lookups            int
	pprof              string
	profile            string
}

func parseOptions(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.StringVar(&o.gatehouse, "gatehouse", "bin/gatehouse", "the gatehouse binary")
	fs.StringVar(&o.spicedb, "spicedb", "bin/spicedb", "the spicedb binary (the version pinned in go.mod)")
	fs.StringVar(&o.openfga, "openfga", "", "the openfga binary (bench/openfga/go.mod pins it); empty leaves OpenFGA out")
	fs.StringVar(&o.postgres, "postgres", "", "a postgres:// URI whose user may create databases: adds Gatehouse embedded, SpiceDB's gateway and Gatehouse remote on Postgres, and the cluster shape")
	fs.BoolVar(&o.cluster, "cluster", true, "add the cluster shape (needs -postgres, Docker and the SpiceDB image of SPICEDB_IMAGE): 3 SpiceDB nodes with 1 and 2 Gatehouse replicas and the nodes' gateways in front")
	fs.StringVar(&o.logs, "logs", "bin/bench-logs", "the servers' logs go to a new directory in this one")
	fs.IntVar(&o.orgs, "orgs", 300, "organisations")
	fs.IntVar(&o.perOrg, "contractors", 28, "contractors per organisation")
	fs.IntVar(&o.conns, "conns", 32, "concurrent connections")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "load time per target")
	fs.IntVar(&o.bigOrg, "big-org", 10000, "contractors in the lookup organisation (half admin-only)")
	fs.IntVar(&o.lookups, "lookups", 200, "lookups per target")
	fs.StringVar(&o.pprof, "pprof", "", "serve the embedded Gatehouse's pprof here, to profile it under load")
	fs.StringVar(&o.profile, "profile", "", "write CPU profiles of the distinct-check workload here: each Gatehouse's, and the SpiceDB behind the memory and Postgres gateways and remote Gatehouses (go tool pprof reads them)")
	return o, fs.Parse(args)
}

// bench is one run: its options and data, the targets it measures, and
// what it started, to stop at the end.
type bench struct {
	o    options
	data data
	out  io.Writer
	hc   *http.Client
	// logs is the directory the servers write their output to.
	logs    string
	targets []target
	// builders write the lookup organisation, once per datastore.
	builders []func(context.Context, int) error
	procs    []named
	closers  []func()
	// profiled names, per target, the pprof endpoints that -profile
	// reads while the distinct checks load it.
	profiled map[string][]profileSource
}

// replica is one server of a target.
type replica interface {
	// check asks as the target's callers would.
	check(ctx context.Context, hc *http.Client, c check) (bool, error)
	// verify asks fully consistent: the data may have been written
	// through another process.
	verify(ctx context.Context, hc *http.Client, c check) (bool, error)
	// lookup counts the contractors user:big_cis may view.
	lookup(ctx context.Context, hc *http.Client) (int, error)
}

// target is one row of the figures: one server, or replicas behind one
// name among which the load spreads its connections as a load balancer
// would, each connection sticking to one replica.
type target struct {
	name     string
	replicas []replica
}

func (b *bench) add(name string, replicas ...replica) {
	b.targets = append(b.targets, target{name, replicas})
}

// onClose runs f when the run ends, after whatever was started later.
func (b *bench) onClose(f func()) { b.closers = append(b.closers, f) }

func (b *bench) close() {
	for i := len(b.closers) - 1; i >= 0; i-- {
		b.closers[i]()
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	o, err := parseOptions(args)
	if err != nil {
		return err
	}
	logs, err := logDir(o.logs)
	if err != nil {
		return err
	}
	b := &bench{o: o, data: dataset(o), out: out, hc: client(o.conns), logs: logs}
	defer b.close()
	fmt.Fprintf(out, "server logs: %s\n", logs)
	fmt.Fprintf(out, "dataset: %d organisations, %d role relationships, %d contractors, %d distinct checks (%d%% allowed by construction)\n",
		o.orgs, len(b.data.rels), len(b.data.contractors), len(b.data.checks), b.data.allowedPct)
	if err := b.startTargets(ctx); err != nil {
		return err
	}
	if err := b.verify(ctx); err != nil {
		return err
	}
	f := b.checkWorkloads(ctx)
	if err := b.lookups(ctx, f); err != nil {
		return err
	}
	b.printRSS()
	b.ratios(f)
	return nil
}

// startTargets starts every shape the options ask for, each with the
// dataset written.
func (b *bench) startTargets(ctx context.Context) error {
	if err := b.startMemory(ctx); err != nil {
		return err
	}
	if b.o.openfga != "" {
		f, err := b.startOpenFGA(ctx)
		if err != nil {
			return fmt.Errorf("OpenFGA: %w", err)
		}
		b.add("openfga", f)
		b.builders = append(b.builders, f.buildBigOrg)
	}
	if b.o.postgres != "" {
		if err := b.startPostgres(ctx); err != nil {
			return err
		}
	}
	if b.o.cluster {
		return b.startCluster(ctx)
	}
	return nil
}

// startMemory starts Gatehouse embedded on the memory datastore, SpiceDB
// with its HTTP gateway on memory, and Gatehouse remote in front of it.
func (b *bench) startMemory(ctx context.Context) error {
	gw, grpcAddr, err := b.startSpiceDB(ctx, "spicedb", "--datastore-engine", "memory")
	if err != nil {
		return err
	}
	emb, err := b.startGatehouse(ctx, "gatehouse-embedded", "GATEHOUSE_SEED=false", "GATEHOUSE_PPROF_ADDR="+b.o.pprof)
	if err != nil {
		return err
	}
	rem, err := b.startGatehouse(ctx, "gatehouse-remote", remoteEnv(grpcAddr, spicedbKey)...)
	if err != nil {
		return err
	}
	return b.addLoaded(ctx, "", emb, gw, rem)
}

// startPostgres starts the same on Postgres: Gatehouse embedded on a
// database of its own, SpiceDB's gateway on another, Gatehouse remote in
// front of it.
func (b *bench) startPostgres(ctx context.Context) error {
	embDB, err := b.database(ctx)
	if err != nil {
		return err
	}
	sdbDB, err := b.database(ctx)
	if err != nil {
		return err
	}
	migrate := exec.CommandContext(ctx, b.o.spicedb, "migrate", "head", "--datastore-engine", "postgres", "--datastore-conn-uri", sdbDB, "--skip-release-check") //nolint:gosec // our binary and our database
	if out, err := migrate.CombinedOutput(); err != nil {
		return fmt.Errorf("migrating SpiceDB's database: %w: %s", err, out)
	}
	gw, grpcAddr, err := b.startSpiceDB(ctx, "spicedb-pg", "--datastore-engine", "postgres", "--datastore-conn-uri", sdbDB)
	if err != nil {
		return err
	}
	emb, err := b.startGatehouse(ctx, "gatehouse-embedded-pg", "GATEHOUSE_SEED=false", "GATEHOUSE_DATASTORE="+embDB)
	if err != nil {
		return err
	}
	rem, err := b.startGatehouse(ctx, "gatehouse-remote-pg", remoteEnv(grpcAddr, spicedbKey)...)
	if err != nil {
		return err
	}
	return b.addLoaded(ctx, "-pg", emb, gw, rem)
}

// addLoaded writes the dataset through the Gatehouse embedded (which has
// a datastore of its own) and the Gatehouse remote (which shares the
// gateway's), then adds the three targets, their names ending in suffix.
func (b *bench) addLoaded(ctx context.Context, suffix string, emb *gatehouse, gw *gateway, rem *gatehouse) error {
	if err := emb.load(ctx, b.data); err != nil {
		return fmt.Errorf("loading gatehouse-embedded%s: %w", suffix, err)
	}
	if err := rem.load(ctx, b.data); err != nil {
		return fmt.Errorf("loading gatehouse-remote%s: %w", suffix, err)
	}
	b.add("gatehouse-embedded"+suffix, emb)
	b.add("spicedb-gateway"+suffix, gw)
	b.add("gatehouse-remote"+suffix, rem)
	b.profile("gatehouse-embedded"+suffix, profileSource{"gatehouse", emb.pprof})
	b.profile("spicedb-gateway"+suffix, profileSource{"spicedb", gw.pprof})
	b.profile("gatehouse-remote"+suffix, profileSource{"gatehouse", rem.pprof}, profileSource{"spicedb", gw.pprof})
	b.builders = append(b.builders, emb.buildBigOrg, rem.buildBigOrg)
	return nil
}

// database creates a database of its own in the -postgres server, which is
// dropped when the run ends.
func (b *bench) database(ctx context.Context) (string, error) {
	uri, drop, err := integration.CreateDatabase(ctx, b.o.postgres)
	if err != nil {
		return "", err
	}
	b.onClose(func() { _ = drop(context.WithoutCancel(ctx)) })
	return uri, nil
}

// verify asks every replica of every target the first 200 checks: every
// target must give the expected answers before its speed counts.
func (b *bench) verify(ctx context.Context) error {
	for _, t := range b.targets {
		for _, r := range t.replicas {
			for i, c := range b.data.checks[:200] {
				got, err := r.verify(ctx, b.hc, c)
				if err != nil {
					return fmt.Errorf("%s: %w", t.name, err)
				}
				if got != c.want {
					return fmt.Errorf("%s answered %v to check %d (%+v), want %v", t.name, got, i, c, c.want)
				}
			}
		}
	}
	return nil
}

// figures are a run's results by target name, for the ratio lines.
type figures struct {
	distinct, zipf, hot map[string]result
	lookupP99           map[string]time.Duration
}

// checkWorkloads drives every target with the three check workloads in
// turn and prints a table of each.
func (b *bench) checkWorkloads(ctx context.Context) *figures {
	f := &figures{lookupP99: map[string]time.Duration{}}
	f.distinct = b.checkWorkload(ctx, fmt.Sprintf("POST check, %d connections, %s each:", b.o.conns, b.o.duration), b.data.checks, "distinct")
	// A Zipf-skewed mix (s = 1.1): a few checks are asked very often and
	// most rarely, as real traffic is (the same users on the same pages).
	f.zipf = b.checkWorkload(ctx, fmt.Sprintf("POST check, Zipf-skewed mix of the %d checks (s=1.1), %d connections, %s each:",
		len(b.data.checks), b.o.conns, b.o.duration), zipfMix(b.data.checks, 200000), "")
	// One allowed check, repeated: what a cache gives.
	hot := []check{b.data.checks[slices.IndexFunc(b.data.checks, func(c check) bool { return c.want })]}
	f.hot = b.checkWorkload(ctx, fmt.Sprintf("POST check, one check repeated (%s view %s), %d connections, %s each:",
		hot[0].resource, hot[0].subject, b.o.conns, b.o.duration), hot, "")
	return f
}

// checkWorkload drives every target with checks in turn; with -profile
// and a profile tag, each target's pprof endpoints are read meanwhile.
func (b *bench) checkWorkload(ctx context.Context, title string, checks []check, profile string) map[string]result {
	fmt.Fprintf(b.out, "\n%s\n%-24s %10s %9s %9s %7s\n", title, "target", "req/s", "p50", "p99", "errors")
	rs := map[string]result{}
	for _, t := range b.targets {
		done := func() {}
		if profile != "" {
			done = b.profileDuring(ctx, t.name, profile)
		}
		r := load(ctx, b.hc, b.o.conns, b.o.duration, checks, t.replicas)
		done()
		rs[t.name] = r
		fmt.Fprintf(b.out, "%-24s %10.0f %9s %9s %7d\n", t.name, r.rps, r.p50, r.p99, r.errors)
	}
	return rs
}

// lookups times the lookup of issue 4 on every target: a CIS processor in
// one organisation of bigOrg contractors, half of them admin-only.
func (b *bench) lookups(ctx context.Context, f *figures) error {
	for _, build := range b.builders {
		if err := build(ctx, b.o.bigOrg); err != nil {
			return fmt.Errorf("building the lookup organisation: %w", err)
		}
	}
	want := b.o.bigOrg / 2
	fmt.Fprintf(b.out, "\nlookup resources: contractors a CIS processor may view, %d contractors (half admin-only), %d lookups each (short: answers without all %d it may view):\n", b.o.bigOrg, b.o.lookups, want)
	fmt.Fprintf(b.out, "%-24s %9s %9s %9s\n", "target", "p50", "p99", "short")
	// A target reading at a quantised revision (the gateway asks for
	// minimised latency) may not see the whole organisation for a few
	// seconds: wait until every replica does, then past SpiceDB's
	// quantisation window (5 s), so that no timed lookup reads from
	// before it.
	for _, t := range b.targets {
		for _, r := range t.replicas {
			if err := waitFor(ctx, func() error {
				n, err := r.lookup(ctx, b.hc)
				if err == nil && n != want {
					err = fmt.Errorf("%s lookup: %d contractors, want %d", t.name, n, want)
				}
				return err
			}); err != nil {
				return err
			}
		}
	}
	time.Sleep(6 * time.Second)
	for _, t := range b.targets {
		var lat []time.Duration
		short := 0
		for i := range b.o.lookups {
			start := time.Now()
			got, err := t.replicas[i%len(t.replicas)].lookup(ctx, b.hc)
			if err != nil {
				return fmt.Errorf("%s lookup: %w", t.name, err)
			}
			lat = append(lat, time.Since(start))
			if got != want {
				short++
			}
		}
		p50, p99 := percentiles(lat)
		f.lookupP99[t.name] = p99
		fmt.Fprintf(b.out, "%-24s %9s %9s %9d\n", t.name, p50, p99, short)
	}
	return nil
}

// printRSS prints each server's peak resident memory.
func (b *bench) printRSS() {
	var rss []string
	for _, p := range b.procs {
		rss = append(rss, p.name+" "+peakRSS(p.pid))
	}
	fmt.Fprintf(b.out, "\npeak RSS: %s (gatehouse-embedded holds SpiceDB in-process; gatehouse-remote fronts spicedb; spicedb-cluster-<n> are the cluster's nodes, gatehouse-cluster-a and -b its replicas)\n", strings.Join(rss, ", "))
}

// ratios prints the ratio lines, last, all from this run's figures: issue
// 11's, then issue 20's and 23's, with the target beside a figure
// that has one. A target missed is a figure to read, not a failed run.
func (b *bench) ratios(f *figures) {
	fmt.Fprintln(b.out)
	b.ratio("hot check", f.hot, "gatehouse-embedded", "spicedb-gateway", "")
	b.ratio("distinct checks", f.distinct, "gatehouse-embedded", "spicedb-gateway", "")
	b.ratio("zipf checks", f.zipf, "gatehouse-embedded", "spicedb-gateway", "")
	// Issue 20 raises this one's target from issue 11's 1.0; it is
	// printed once, here, with the new target.
	b.ratio("check", f.distinct, "gatehouse-remote", "spicedb-gateway", "≥ 2.0")
	b.ratio("distinct checks", f.distinct, "gatehouse-embedded-pg", "spicedb-gateway-pg", "")
	b.ratio("check", f.distinct, "gatehouse-remote-pg", "spicedb-gateway-pg", "")
	b.ratio("check", f.distinct, "gatehouse-embedded", "openfga", "")
	b.ratio("hot check", f.hot, "gatehouse-embedded", "openfga", "")

	b.ratio("hot check", f.hot, "gatehouse-remote-pg", "spicedb-gateway-pg", "≥ 3.0")
	b.ratio("zipf checks", f.zipf, "gatehouse-remote-pg", "spicedb-gateway-pg", "≥ 3.0")
	b.ratio("hot check", f.hot, "gatehouse-embedded-pg", "spicedb-gateway-pg", "≥ 3.0")
	for _, name := range []string{"gatehouse-remote-pg", "gatehouse-embedded-pg"} {
		if p99, ok := f.lookupP99[name]; ok {
			fmt.Fprintf(b.out, "lookup p99 ms %s: %.1f (target ≤ 50)\n", name, float64(p99.Microseconds())/1000)
		}
	}
	// Two replicas against one measures how Gatehouse scales out; the
	// issue's 3.0 is for Gatehouse against the gateway, which two
	// replicas cannot reach against one.
	b.ratio("hot check", f.hot, "gatehouse-cluster-2", "gatehouse-cluster-1", "")
	b.ratio("hot check", f.hot, "gatehouse-cluster-1", "spicedb-gateway-cluster", "≥ 3.0")
}

// ratio prints "<what> a/c: x.xx", and "(target <target>)" beside it when
// there is one, if both a and c ran.
func (b *bench) ratio(what string, m map[string]result, a, c, target string) {
	ra, okA := m[a]
	rc, okC := m[c]
	if !okA || !okC {
		return
	}
	fmt.Fprintf(b.out, "%s %s/%s: %.2f", what, a, c, ra.rps/rc.rps)
	if target != "" {
		fmt.Fprintf(b.out, " (target %s)", target)
	}
	fmt.Fprintln(b.out)
}
