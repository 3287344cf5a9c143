package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/audit"
	"github.com/gatehouse-authz/gatehouse/console"
	"github.com/gatehouse-authz/gatehouse/dryrun"
	"github.com/gatehouse-authz/gatehouse/proxy"
	"github.com/gatehouse-authz/gatehouse/schema"
	"github.com/gatehouse-authz/gatehouse/seed"
	"github.com/gatehouse-authz/gatehouse/server"
	"github.com/gatehouse-authz/gatehouse/spicedb"
	"github.com/gatehouse-authz/gatehouse/workflow"
)

// runServe starts SpiceDB (embedded) or connects to it, writes the schema,
// serves HTTP until ctx ends, then shuts down gracefully.
func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ensureKeys(&cfg, stdout, log)
	tlsConfig, err := loadTLS(cfg)
	if err != nil {
		return err
	}
	traced, stopTracing, err := setupTracing(ctx, getenv)
	if err != nil {
		return err
	}
	defer func() {
		if err := stopTracing(); err != nil {
			log.Warn("flushing OpenTelemetry spans", "err", err)
		}
	}()
	metrics := server.NewMetrics()
	trail, err := openTrail(ctx, cfg, log)
	if err != nil {
		return err
	}
	if pg, ok := trail.(*audit.Postgres); ok {
		defer pg.Close()
	}
	store, mode, closeStore, err := openStore(ctx, cfg, metrics, log)
	if err != nil {
		return err
	}
	defer closeStore()
	go audit.Retain(ctx, trail, cfg.auditRetention, retentionInterval(cfg.auditRetention), func(n int64, err error) {
		if err != nil {
			log.Warn("audit retention", "err", err)
		} else if n > 0 {
			log.Info("audit retention removed old events", "events", n, "older_than", cfg.auditRetention.String())
		}
	})
	return serve(ctx, cfg, backends{
		store: store, cached: proxy.NewCached(store, store.Feed()), trail: trail, metrics: metrics, log: log,
		mode: mode, tls: tlsConfig, wrap: traced,
	}, stdout)
}

// backends is what runServe opened for serve: SpiceDB, the audit trail,
// the metrics, the log, and how HTTP is served.
type backends struct {
	store *spicedb.SpiceDB
	// cached is store behind its decision cache: what the API, the
	// workflow and the console read and write through.
	cached  *proxy.Cached
	trail   gatehouse.AuditTrail
	metrics *server.Metrics
	log     *slog.Logger
	// mode names the SpiceDB in the ready line: embedded memory, remote host:port...
	mode string
	// tls is nil for plain HTTP.
	tls *tls.Config
	// wrap traces each request (a no-op without OpenTelemetry).
	wrap func(http.Handler) http.Handler
}

// serve listens on cfg.addr and serves the API, and the console, there
// while it writes the schema and starts the audit consumer; it returns
// when ctx ends and in-flight requests have finished, or when serving or
// the audit consumer fails.
func serve(ctx context.Context, cfg config, b backends, stdout io.Writer) error {
	idx, err := schema.NewIndex(schema.Text)
	if err != nil {
		return err
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listening on %s (GATEHOUSE_ADDR): %w", cfg.addr, err)
	}
	scratch := spicedb.NewScratchPool(schema.Text, scratchesKept)
	defer scratch.Close()
	engine := scratchEngine(scratch)
	wf := workflow.New(b.cached, workflow.WithScratch(engine))
	var consoleHandler http.Handler
	if cfg.console {
		if consoleHandler, err = newConsole(cfg, b.cached, b.trail, wf, engine, b.log); err != nil {
			_ = ln.Close()
			return err
		}
		fmt.Fprintf(stdout, "GATEHOUSE_CONSOLE_URL=%s\n", consoleURL(cfg, ln.Addr(), b.tls != nil))
	}
	var ready atomic.Bool
	// The audit consumer starts in prepare; until then the API answers 503.
	var auditConsumer atomic.Pointer[spicedb.AuditConsumer]
	b.metrics.WatchAudit(auditGauges(&auditConsumer, b.store, b.cached, b.trail))
	srv := newHTTPServer(cfg, b, b.wrap(server.New(server.Deps{
		Store: b.cached, Audit: b.trail, AuditHealth: auditHealth(&auditConsumer), Workflow: wf, Schema: idx,
		Keys: cfg.keys, CheckKeys: cfg.checkKeys, Log: b.log, Metrics: b.metrics, Ready: &ready,
		PlatformKeys: cfg.platformKeys, RateLimit: cfg.rateLimit, RateBurst: cfg.rateBurst,
		RequestTimeout: cfg.requestTimeout, Console: consoleHandler,
		Scratch: engine, CursorKey: cfg.cursorKey,
	})))
	if cfg.pprofAddr != "" {
		if err := servePprof(ctx, cfg.pprofAddr, b.log); err != nil {
			_ = ln.Close()
			return err
		}
	}
	serveErr := make(chan error, 1)
	go func() {
		if b.tls != nil {
			serveErr <- srv.ServeTLS(ln, "", "")
			return
		}
		serveErr <- srv.Serve(ln)
	}()

	// The schema is written, and the demo data loaded, while /healthz
	// already answers and /readyz says not yet; a remote SpiceDB that is
	// still starting is retried until ctx ends.
	consumer, err := prepare(ctx, b.store, b.cached, b.trail, cfg, b.log)
	if err != nil {
		_ = srv.Close()
		return err
	}
	defer consumer.Stop()
	auditConsumer.Store(consumer)
	ready.Store(true)
	b.log.Info("gatehouse ready", "addr", ln.Addr().String(), "tls", b.tls != nil, "mode", b.mode, "seed", cfg.seed,
		"rate_limit", cfg.rateLimit, "request_timeout", cfg.requestTimeout.String())
	return awaitShutdown(ctx, cfg, srv, serveErr, consumer, &ready, b.log)
}

// awaitShutdown serves until ctx ends, then stops taking requests and
// gives those in flight cfg.shutdownTimeout to finish. It returns early,
// with the cause, when serving fails or the audit consumer stops.
func awaitShutdown(ctx context.Context, cfg config, srv *http.Server, serveErr <-chan error, consumer *spicedb.AuditConsumer, ready *atomic.Bool, log *slog.Logger) error {
	select {
	case err := <-serveErr:
		return fmt.Errorf("serving HTTP: %w", err)
	case <-consumer.Failed():
		// Writes would go unrecorded (X2): stop, saying why and what to do.
		_ = srv.Close()
		return fmt.Errorf("the audit consumer stopped: %w", consumer.Healthy())
	case <-ctx.Done():
	}
	ready.Store(false)
	log.Info("shutting down", "deadline", cfg.shutdownTimeout.String())
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		return fmt.Errorf("in-flight requests did not finish within %s: %w", cfg.shutdownTimeout, err)
	}
	return nil
}

// ensureKeys generates an API key when none is set, printing it once to
// stdout, and warns of keys shorter than minKeyLen.
func ensureKeys(cfg *config, stdout io.Writer, log *slog.Logger) {
	if len(cfg.keys) == 0 {
		k := make([]byte, 24)
		_, _ = rand.Read(k)
		key := "gh_" + hex.EncodeToString(k)
		cfg.keys = []string{key}
		// Printed once to stdout, never logged: the log may be shipped elsewhere.
		fmt.Fprintf(stdout, "GATEHOUSE_API_KEY=%s\n", key)
	}
	for _, list := range [][]string{cfg.keys, cfg.checkKeys, cfg.platformKeys} {
		for _, e := range list {
			if name, secret := server.KeyName(e); len(secret) < minKeyLen {
				log.Warn("a key is shorter than recommended; use 32 random hex digits (openssl rand -hex 16)", "key", name, "min_length", minKeyLen)
			}
		}
	}
}

// loadTLS loads GATEHOUSE_TLS_CERT and GATEHOUSE_TLS_KEY; nil when HTTP is plain.
func loadTLS(cfg config) (*tls.Config, error) {
	if cfg.tlsCert == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(cfg.tlsCert, cfg.tlsKey)
	if err != nil {
		return nil, fmt.Errorf("loading GATEHOUSE_TLS_CERT and GATEHOUSE_TLS_KEY: %w", err)
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}, nil
}

// openStore starts the embedded SpiceDB or dials the remote one. It
// returns the store, its mode for the log, and what closes it.
func openStore(ctx context.Context, cfg config, metrics *server.Metrics, log *slog.Logger) (store *spicedb.SpiceDB, mode string, closeStore func(), err error) {
	storeOpts := []spicedb.Option{spicedb.WithObserver(metrics.ObserveSpiceDB), spicedb.WithCursorKey(cfg.cursorKey)}
	if cfg.cursorKey == nil {
		log.Info("list cursors are signed with a key generated at start: they do not survive a restart or continue on another replica; set GATEHOUSE_CURSOR_KEY, the same on every replica, to keep them")
	}
	if cfg.spicedb == "embedded" {
		emb, err := spicedb.StartEmbedded(ctx, spicedb.EmbeddedConfig{Datastore: cfg.datastore, Timeout: cfg.spicedbTimeout})
		if err != nil {
			return nil, "", nil, err
		}
		closeEmbedded := func() {
			if err := emb.Close(); err != nil {
				log.Warn("stopping embedded SpiceDB", "err", err)
			}
		}
		return spicedb.New(emb.Conn, append(storeOpts, emb.Options()...)...), "embedded " + datastoreName(cfg.datastore), closeEmbedded, nil
	}
	conn, err := spicedb.Dial(cfg.spicedb, cfg.spicedbKey, cfg.spicedbInsecure, cfg.spicedbTimeout)
	if err != nil {
		return nil, "", nil, err
	}
	return spicedb.New(conn, storeOpts...), "remote " + cfg.spicedb, func() { _ = conn.Close() }, nil
}

// consoleURL is the console's URL as printed at start: GATEHOUSE_CONSOLE_URL,
// else the listener's address.
func consoleURL(cfg config, addr net.Addr, https bool) string {
	if cfg.consoleURL != "" {
		return cfg.consoleURL
	}
	scheme := "http"
	if https {
		scheme = "https"
	}
	return scheme + "://" + addr.String() + "/console/"
}

// auditHealth reports the audit consumer's health, an error while it starts.
func auditHealth(consumer *atomic.Pointer[spicedb.AuditConsumer]) func() error {
	return func() error {
		if c := consumer.Load(); c != nil {
			return c.Healthy()
		}
		return errors.New("the audit consumer is starting")
	}
}

// auditGauges reads the audit metrics: the consumer's progress, whether
// the store follows SpiceDB's changes, and the events the memory trail dropped.
func auditGauges(consumer *atomic.Pointer[spicedb.AuditConsumer], store *spicedb.SpiceDB, cached *proxy.Cached, trail gatehouse.AuditTrail) func() server.AuditGauges {
	return func() server.AuditGauges {
		var g server.AuditGauges
		if c := consumer.Load(); c != nil {
			st := c.Status()
			g = server.AuditGauges{Running: st.Running, Behind: st.Behind, Pending: st.Pending}
		}
		g.Following = store.Following().Current
		g.CheckHits, g.LookupHits, g.LookupCheckHits = cached.Hits(), cached.LookupHits(), cached.LookupCheckHits()
		if m, ok := trail.(*audit.Memory); ok {
			g.Dropped = m.Dropped()
		}
		return g
	}
}

// newHTTPServer is the API's server, its timeouts set.
func newHTTPServer(cfg config, b backends, h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		// Longer than any request may work, so that its answer, a 503
		// included, is still written.
		WriteTimeout: cfg.requestTimeout + writeGrace,
		IdleTimeout:  2 * time.Minute,
		TLSConfig:    b.tls,
		ErrorLog:     slog.NewLogLogger(b.log.Handler(), slog.LevelWarn),
	}
}

// newConsole builds the admin console: its session key from
// GATEHOUSE_CONSOLE_SESSION_KEY, or a random one (sessions then end with
// the process and are not shared between replicas).
func newConsole(cfg config, store gatehouse.Store, trail gatehouse.AuditTrail, wf *workflow.Service, scratch dryrun.Engine, log *slog.Logger) (http.Handler, error) {
	key := cfg.consoleSessionKey
	if len(key) == 0 {
		key = make([]byte, 32)
		_, _ = rand.Read(key)
		log.Info("console sessions are signed with a key generated at start; set GATEHOUSE_CONSOLE_SESSION_KEY to keep them across restarts and replicas")
	}
	var users []console.DevUser
	if cfg.consoleDevLogin {
		var err error
		if users, err = console.DemoUsers(); err != nil {
			return nil, err
		}
		log.Warn("the console's development sign-in is on: anyone who reaches it may act as any demo user (GATEHOUSE_CONSOLE_DEV_LOGIN)")
	}
	if o := cfg.oidc; o.Issuer != "" {
		// Discovery waits for the first sign-in, so a provider that is down now stops nothing.
		log.Info("console sign-in with OpenID Connect; register the redirect URI at the provider",
			"issuer", o.Issuer, "client_id", o.ClientID, "user_claim", o.UserClaim, "redirect_uri", o.RedirectURL)
		for name, v := range map[string]string{"GATEHOUSE_OIDC_ISSUER": o.Issuer, "GATEHOUSE_CONSOLE_URL": cfg.consoleURL} {
			if !secureURL(v) {
				log.Warn("plain http outside loopback: sign-in codes, tokens and session cookies can be read and changed on the way; use https", "setting", name, "url", v)
			}
		}
	}
	return console.New(console.Config{
		Workflow: wf, Store: store, Audit: trail, Log: log, Scratch: scratch,
		DevLogin: cfg.consoleDevLogin, DevUsers: users, SessionKey: key, OIDC: cfg.oidc,
		// Behind a proxy that ends TLS, the public URL says the browser
		// speaks https even though Gatehouse's requests do not.
		SecureCookies: strings.HasPrefix(cfg.consoleURL, "https://"),
	})
}

// scratchesKept is how many scratch SpiceDBs the pool keeps started.
const scratchesKept = 4

// scratchEngine takes from pool the scratch SpiceDB in which a dry run
// (X7) weighs its would-be state, for the API's ?dryRun=true and the
// console's confirmations, and in which the workflow weighs a change
// request's transition before its one write.
func scratchEngine(pool *spicedb.ScratchPool) dryrun.Engine {
	return func(ctx context.Context, rels []gatehouse.Relationship) (dryrun.Scratch, error) {
		return pool.Start(ctx, rels)
	}
}

// secureURL reports whether u is https, or http on a loopback host where
// nothing travels over a network.
func secureURL(u string) bool {
	p, err := url.Parse(u)
	if err != nil || p.Scheme == "https" {
		return err == nil
	}
	ip := net.ParseIP(p.Hostname())
	return p.Hostname() == "localhost" || (ip != nil && ip.IsLoopback())
}

// writeGrace is how much longer than GATEHOUSE_REQUEST_TIMEOUT the server
// gives itself to write an answer.
const writeGrace = 10 * time.Second

// minKeyLen is the shortest secret start accepts without a warning.
const minKeyLen = 16

// prepare writes the schema through cached (which then reads it again) and
// starts the audit consumer of store, loading the demo data when asked.
func prepare(ctx context.Context, store *spicedb.SpiceDB, cached gatehouse.Store, trail gatehouse.AuditTrail, cfg config, log *slog.Logger) (*spicedb.AuditConsumer, error) {
	auditCfg := spicedb.AuditConfig{
		// Embedded memory starts empty each run: an audit database's cursor
		// names the datastore of the run before.
		FreshDatastore: cfg.spicedb == "embedded" && cfg.datastore == "memory",
		ResetCursor:    cfg.auditResetCursor,
		CursorChecked:  true,
		Log:            log,
	}
	// Before the schema is written: that write would make a cursor older
	// than SpiceDB's GC window expired even when nothing was missed.
	if err := spicedb.CheckAuditCursor(ctx, store, trail, auditCfg); err != nil {
		return nil, fmt.Errorf("starting the audit consumer: %w", err)
	}
	for attempt := 1; ; attempt++ {
		err := cached.WriteSchema(ctx, schema.Text)
		if err == nil {
			break
		}
		if gatehouse.ErrorCode(err) != gatehouse.EUNAVAILABLE || ctx.Err() != nil {
			return nil, fmt.Errorf("writing the schema: %w", err)
		}
		log.Warn("SpiceDB not answering yet; retrying", "attempt", attempt, "err", err)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
	// The consumer starts once the schema is there and before any write
	// of ours, so the trail misses none (X2); it stops with ctx. A
	// datastore that does not answer yet is retried (not ready meanwhile).
	consumer, err := spicedb.StartAudit(ctx, store, trail, auditCfg)
	if err != nil {
		return nil, fmt.Errorf("starting the audit consumer: %w", err)
	}
	if cfg.seed {
		if err := seed.Load(ctx, store); err != nil {
			consumer.Stop()
			return nil, fmt.Errorf("loading the demo data: %w", err)
		}
	}
	return consumer, nil
}

// openTrail opens the audit trail: Postgres when GATEHOUSE_AUDIT_DATABASE
// names one (migrated at start), else a bounded ring in memory.
func openTrail(ctx context.Context, cfg config, log *slog.Logger) (gatehouse.AuditTrail, error) {
	if cfg.auditDatabase != "" {
		return audit.OpenPostgres(ctx, cfg.auditDatabase)
	}
	if cfg.spicedb != "embedded" || cfg.datastore != "memory" {
		log.Warn("the audit trail is in memory: a restart loses it and each replica lists only what it saw; set GATEHOUSE_AUDIT_DATABASE to keep it",
			"events_kept", cfg.auditMemoryEvents)
	}
	return audit.NewMemory(cfg.auditMemoryEvents), nil
}

// retentionInterval is how often old audit events are removed.
func retentionInterval(keep time.Duration) time.Duration {
	return min(time.Hour, max(keep/10, time.Second))
}

func datastoreName(ds string) string {
	if ds == "memory" {
		return "memory"
	}
	return "postgres"
}

// servePprof serves net/http/pprof on its own listener, so profiles are
// never reachable through the API's address.
func servePprof(ctx context.Context, addr string, log *slog.Logger) error {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("listening on %s (GATEHOUSE_PPROF_ADDR): %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("pprof server stopped", "err", err)
		}
	}()
	log.Info("pprof listening", "addr", ln.Addr().String())
	return nil
}
