package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/audit"
	"github.com/gatehouse-authz/gatehouse/console"
	"github.com/gatehouse-authz/gatehouse/dryrun"
	"github.com/gatehouse-authz/gatehouse/schema"
	"github.com/gatehouse-authz/gatehouse/seed"
	"github.com/gatehouse-authz/gatehouse/server"
	"github.com/gatehouse-authz/gatehouse/spicedb"
	"github.com/gatehouse-authz/gatehouse/workflow"
)

// config is everything `gatehouse serve` reads from flags and GATEHOUSE_* variables.
type config struct {
	addr            string
	keys, checkKeys []string
	platformKeys    []string
	rateLimit       float64
	rateBurst       int
	requestTimeout  time.Duration
	tlsCert, tlsKey string
	spicedb         string
	spicedbKey      string
	spicedbInsecure bool
	spicedbTimeout  time.Duration
	datastore       string
	seed            bool
	shutdownTimeout time.Duration
	pprofAddr       string
	// auditDatabase is the Postgres of the durable audit trail; "" keeps it in memory.
	auditDatabase     string
	auditRetention    time.Duration
	auditMemoryEvents int
	// auditResetCursor starts the audit consumer at SpiceDB's head whatever cursor is stored.
	auditResetCursor bool
	// console serves the admin console under /console; consoleDevLogin
	// offers its development sign-in (embedded demo data only).
	console           bool
	consoleDevLogin   bool
	consoleSessionKey []byte
	// consoleURL is the console's public URL, normalised to
	// scheme://host/console/; oidc its sign-in with an OpenID provider,
	// on when oidc.Issuer is set.
	consoleURL string
	oidc       console.OIDC
	// cursorKey signs list cursors; nil: one is generated at start.
	cursorKey []byte
}

// envOr returns a reader of settings from getenv that gives def for a
// variable that is unset or empty.
func envOr(getenv func(string) string) func(name, def string) string {
	return func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
}

func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	env := envOr(getenv)
	fs := flag.NewFlagSet("gatehouse serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	var keys, checkKeys, platformKeys, seedFlag, insecure, rateLimit, rateBurst string
	var consoleFlag, devLogin string
	fs.StringVar(&c.addr, "addr", env("GATEHOUSE_ADDR", "127.0.0.1:8080"), "listen address (GATEHOUSE_ADDR)")
	fs.StringVar(&keys, "api-keys", getenv("GATEHOUSE_API_KEYS"), "comma-separated bearer keys; none: generate one and print it (GATEHOUSE_API_KEYS)")
	fs.StringVar(&checkKeys, "check-keys", getenv("GATEHOUSE_CHECK_KEYS"), "comma-separated keys that may only check and read the schema (GATEHOUSE_CHECK_KEYS)")
	fs.StringVar(&platformKeys, "platform-keys", getenv("GATEHOUSE_PLATFORM_KEYS"), "comma-separated full keys that may also change platform#staff (GATEHOUSE_PLATFORM_KEYS)")
	fs.StringVar(&rateLimit, "rate-limit", getenv("GATEHOUSE_RATE_LIMIT"), "requests per second each key may make; 0 or empty: no limit (GATEHOUSE_RATE_LIMIT)")
	fs.StringVar(&rateBurst, "rate-burst", getenv("GATEHOUSE_RATE_BURST"), "requests a key may make at once under the rate limit; default one second's worth (GATEHOUSE_RATE_BURST)")
	reqTimeout := env("GATEHOUSE_REQUEST_TIMEOUT", "30s")
	fs.StringVar(&reqTimeout, "request-timeout", reqTimeout, "how long one request may work before it answers 503; the write timeout is 10s longer (GATEHOUSE_REQUEST_TIMEOUT)")
	fs.StringVar(&c.tlsCert, "tls-cert", getenv("GATEHOUSE_TLS_CERT"), "PEM certificate (chain) file: serve HTTPS; needs --tls-key (GATEHOUSE_TLS_CERT)")
	fs.StringVar(&c.tlsKey, "tls-key", getenv("GATEHOUSE_TLS_KEY"), "PEM private key file of --tls-cert (GATEHOUSE_TLS_KEY)")
	fs.StringVar(&c.spicedb, "spicedb", env("GATEHOUSE_SPICEDB", "embedded"), "`embedded`, or SpiceDB's gRPC endpoint: host:port, a comma-separated list of host:port (one per node), or dns:///name:port (GATEHOUSE_SPICEDB)")
	fs.StringVar(&c.spicedbKey, "spicedb-key", getenv("GATEHOUSE_SPICEDB_KEY"), "preshared key of a remote SpiceDB (GATEHOUSE_SPICEDB_KEY)")
	fs.StringVar(&insecure, "spicedb-insecure", getenv("GATEHOUSE_SPICEDB_INSECURE"), "plaintext gRPC to a remote SpiceDB (GATEHOUSE_SPICEDB_INSECURE)")
	timeout := env("GATEHOUSE_SPICEDB_TIMEOUT", "5s")
	fs.StringVar(&timeout, "spicedb-timeout", timeout, "how long one SpiceDB call may take, embedded or remote, before it answers 503 (GATEHOUSE_SPICEDB_TIMEOUT)")
	fs.StringVar(&c.datastore, "datastore", env("GATEHOUSE_DATASTORE", "memory"), "embedded only: memory, or a postgres:// URI (GATEHOUSE_DATASTORE)")
	fs.StringVar(&seedFlag, "seed", getenv("GATEHOUSE_SEED"), "load the demo data at start; default on with memory (GATEHOUSE_SEED)")
	fs.StringVar(&c.pprofAddr, "pprof-addr", getenv("GATEHOUSE_PPROF_ADDR"), "serve Go's pprof profiles on this address, apart from the API (GATEHOUSE_PPROF_ADDR)")
	fs.StringVar(&c.auditDatabase, "audit-database", getenv("GATEHOUSE_AUDIT_DATABASE"), "postgres:// URI of the durable audit trail, shared by every replica; none: in memory (GATEHOUSE_AUDIT_DATABASE)")
	retention := env("GATEHOUSE_AUDIT_RETENTION", "0")
	fs.StringVar(&retention, "audit-retention", retention, "remove audit events older than this, e.g. 2160h; 0 keeps them (GATEHOUSE_AUDIT_RETENTION)")
	memEvents := env("GATEHOUSE_AUDIT_MEMORY_EVENTS", strconv.Itoa(audit.DefaultMemoryEvents))
	fs.StringVar(&memEvents, "audit-memory-events", memEvents, "without an audit database: how many of the newest events the trail keeps (GATEHOUSE_AUDIT_MEMORY_EVENTS)")
	resetCursor := getenv("GATEHOUSE_AUDIT_RESET_CURSOR")
	fs.StringVar(&resetCursor, "audit-reset-cursor", resetCursor, "start recording the audit trail at SpiceDB's head, whatever cursor is stored: the recovery when it names another datastore or has expired; writes in between go unrecorded (GATEHOUSE_AUDIT_RESET_CURSOR)")
	fs.StringVar(&consoleFlag, "console", getenv("GATEHOUSE_CONSOLE"), "serve the admin console under /console; default on with the embedded demo data (GATEHOUSE_CONSOLE)")
	fs.StringVar(&devLogin, "console-dev-login", getenv("GATEHOUSE_CONSOLE_DEV_LOGIN"), "the console's password-less sign-in as any demo user; default on with the embedded demo data, refused otherwise (GATEHOUSE_CONSOLE_DEV_LOGIN)")
	fs.StringVar(&c.consoleURL, "console-url", getenv("GATEHOUSE_CONSOLE_URL"), "the console's public URL as browsers reach it, e.g. https://gatehouse.example.com/console/; required with --oidc-issuer (GATEHOUSE_CONSOLE_URL)")
	fs.StringVar(&c.oidc.Issuer, "oidc-issuer", getenv("GATEHOUSE_OIDC_ISSUER"), "issuer URL of the OpenID provider people sign in to the console with; needs the client id, GATEHOUSE_OIDC_CLIENT_SECRET and --console-url (GATEHOUSE_OIDC_ISSUER)")
	fs.StringVar(&c.oidc.ClientID, "oidc-client-id", getenv("GATEHOUSE_OIDC_CLIENT_ID"), "the console's client id at the OpenID provider (GATEHOUSE_OIDC_CLIENT_ID)")
	fs.StringVar(&c.oidc.UserClaim, "oidc-user-claim", getenv("GATEHOUSE_OIDC_USER_CLAIM"), "the claim whose value is the person's user id, acting as user:<value>; default sub (GATEHOUSE_OIDC_USER_CLAIM)")
	fs.StringVar(&c.oidc.Name, "oidc-provider-name", getenv("GATEHOUSE_OIDC_PROVIDER_NAME"), "the provider's name on the sign-in page; default the issuer's host (GATEHOUSE_OIDC_PROVIDER_NAME)")
	// The secret has no flag, so that it never shows in the process list.
	c.oidc.ClientSecret = getenv("GATEHOUSE_OIDC_CLIENT_SECRET")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 15*time.Second, "how long in-flight requests may finish after SIGTERM")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	c.keys, c.checkKeys, c.platformKeys = splitList(keys), splitList(checkKeys), splitList(platformKeys)
	if err := server.CheckKeys(c.keys, c.checkKeys, c.platformKeys); err != nil {
		return c, err
	}
	var err error
	if c.rateLimit, c.rateBurst, err = parseRateLimit(rateLimit, rateBurst); err != nil {
		return c, err
	}
	if c.requestTimeout, err = time.ParseDuration(reqTimeout); err != nil || c.requestTimeout <= 0 {
		return c, fmt.Errorf("GATEHOUSE_REQUEST_TIMEOUT must be a positive duration such as 30s, got %q", reqTimeout)
	}
	if (c.tlsCert == "") != (c.tlsKey == "") {
		return c, errors.New("GATEHOUSE_TLS_CERT and GATEHOUSE_TLS_KEY (--tls-cert, --tls-key) go together: set both to serve HTTPS, or neither")
	}
	if c.spicedbInsecure, err = parseBool("GATEHOUSE_SPICEDB_INSECURE", insecure, false); err != nil {
		return c, err
	}
	if c.spicedbTimeout, err = time.ParseDuration(timeout); err != nil || c.spicedbTimeout <= 0 {
		return c, fmt.Errorf("GATEHOUSE_SPICEDB_TIMEOUT must be a positive duration such as 5s, got %q", timeout)
	}
	if c.auditRetention, err = time.ParseDuration(retention); err != nil || c.auditRetention < 0 {
		return c, fmt.Errorf("GATEHOUSE_AUDIT_RETENTION must be a duration such as 2160h (0 keeps every event), got %q", retention)
	}
	if c.auditMemoryEvents, err = strconv.Atoi(memEvents); err != nil || c.auditMemoryEvents <= 0 {
		return c, fmt.Errorf("GATEHOUSE_AUDIT_MEMORY_EVENTS must be a positive number of events, got %q", memEvents)
	}
	if c.auditResetCursor, err = parseBool("GATEHOUSE_AUDIT_RESET_CURSOR", resetCursor, false); err != nil {
		return c, err
	}
	if c.auditDatabase != "" && !strings.HasPrefix(c.auditDatabase, "postgres://") && !strings.HasPrefix(c.auditDatabase, "postgresql://") {
		return c, errors.New("GATEHOUSE_AUDIT_DATABASE must be a postgres:// URI")
	}
	remote := c.spicedb != "embedded"
	if remote {
		if err := spicedb.CheckTarget(c.spicedb); err != nil {
			return c, fmt.Errorf("GATEHOUSE_SPICEDB must be `embedded` or SpiceDB's address: %w", err)
		}
		if c.spicedbKey == "" {
			return c, errors.New("GATEHOUSE_SPICEDB_KEY is required with a remote SpiceDB (its --grpc-preshared-key)")
		}
		if c.datastore != "memory" && getenv("GATEHOUSE_DATASTORE") != "" {
			return c, errors.New("GATEHOUSE_DATASTORE applies to embedded SpiceDB only; a remote SpiceDB has its own datastore")
		}
	}
	if c.datastore != "memory" && !strings.HasPrefix(c.datastore, "postgres://") && !strings.HasPrefix(c.datastore, "postgresql://") {
		return c, fmt.Errorf("GATEHOUSE_DATASTORE must be memory or a postgres:// URI, got %q", c.datastore)
	}
	if c.seed, err = parseBool("GATEHOUSE_SEED", seedFlag, !remote && c.datastore == "memory"); err != nil {
		return c, err
	}
	if err := parseOIDC(&c); err != nil {
		return c, err
	}
	if err := parseConsole(&c, consoleFlag, devLogin, getenv("GATEHOUSE_CONSOLE_SESSION_KEY"), !remote && c.datastore == "memory" && c.seed); err != nil {
		return c, err
	}
	// The key has no flag, so that it never shows in the process list.
	if c.cursorKey, err = parseCursorKey(getenv("GATEHOUSE_CURSOR_KEY")); err != nil {
		return c, err
	}
	return c, nil
}

// parseCursorKey reads GATEHOUSE_CURSOR_KEY: at least 32 bytes, in hex
// when it is hex, else in base64 (standard or URL alphabet, padded or
// not). Empty: nil.
func parseCursorKey(v string) ([]byte, error) {
	if v == "" {
		return nil, nil
	}
	key, err := hex.DecodeString(v)
	if err != nil {
		key, err = decodeBase64(v)
	}
	if err != nil || len(key) < 32 {
		// The value is a secret: the message never shows it.
		return nil, errors.New("GATEHOUSE_CURSOR_KEY must be at least 32 random bytes written in hex or base64 (openssl rand -hex 32), " +
			"the same on every replica, or unset to generate one at start")
	}
	return key, nil
}

// decodeBase64 reads base64 in the standard or the URL alphabet, padded or not.
func decodeBase64(v string) ([]byte, error) {
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		var b []byte
		if b, err = enc.DecodeString(v); err == nil {
			return b, nil
		}
	}
	return nil, err
}

// parseConsole reads the console's settings. demo says the demo data is
// loaded into an embedded, in-memory SpiceDB: the only place where the
// development sign-in, which lets anyone act as any user, is allowed.
func parseConsole(c *config, enabled, devLogin, key string, demo bool) error {
	var err error
	if c.console, err = parseBool("GATEHOUSE_CONSOLE", enabled, demo || c.oidc.Issuer != ""); err != nil {
		return err
	}
	if !c.console && c.oidc.Issuer != "" {
		return errors.New("GATEHOUSE_OIDC_ISSUER sets up sign-in to the console, but GATEHOUSE_CONSOLE=false turns the console off: unset one of them")
	}
	if c.consoleDevLogin, err = parseBool("GATEHOUSE_CONSOLE_DEV_LOGIN", devLogin, demo); err != nil {
		return err
	}
	if c.consoleDevLogin && !demo {
		return errors.New("GATEHOUSE_CONSOLE_DEV_LOGIN=true lets anyone sign in to the console as any user without a password: " +
			"it is allowed only with the embedded demo data (GATEHOUSE_SPICEDB=embedded, GATEHOUSE_DATASTORE=memory, GATEHOUSE_SEED on); unset it")
	}
	if !c.console {
		c.consoleDevLogin = false
	}
	if key != "" && len(key) < 32 {
		return errors.New("GATEHOUSE_CONSOLE_SESSION_KEY must be at least 32 characters (openssl rand -hex 32), or unset to generate one at start")
	}
	c.consoleSessionKey = []byte(key)
	return nil
}

// parseOIDC reads the console's sign-in with an OpenID provider: all of
// GATEHOUSE_OIDC_ISSUER, its client and GATEHOUSE_CONSOLE_URL, or none.
func parseOIDC(c *config) error {
	if c.consoleURL != "" {
		u, err := url.Parse(c.consoleURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" ||
			!slices.Contains([]string{"", "/", "/console", "/console/"}, u.Path) {
			return fmt.Errorf("GATEHOUSE_CONSOLE_URL must be the console's public URL, such as https://gatehouse.example.com/console/ "+
				"(the console is served at /console/ of the host), got %q", c.consoleURL)
		}
		c.consoleURL = u.Scheme + "://" + u.Host + "/console/"
	}
	o := &c.oidc
	if o.Issuer == "" {
		for _, s := range [][2]string{
			{"GATEHOUSE_OIDC_CLIENT_ID", o.ClientID},
			{"GATEHOUSE_OIDC_CLIENT_SECRET", o.ClientSecret},
			{"GATEHOUSE_OIDC_USER_CLAIM", o.UserClaim},
			{"GATEHOUSE_OIDC_PROVIDER_NAME", o.Name},
		} {
			if s[1] != "" {
				return fmt.Errorf("%s is set but GATEHOUSE_OIDC_ISSUER is not: set the OpenID provider's issuer URL "+
					"(such as https://keycloak.example.com/realms/acme) to offer sign-in with it, or unset %[1]s", s[0])
			}
		}
		return nil
	}
	if u, err := url.Parse(o.Issuer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("GATEHOUSE_OIDC_ISSUER must be the OpenID provider's issuer URL, such as https://keycloak.example.com/realms/acme "+
			"or https://accounts.google.com, got %q", o.Issuer)
	}
	if o.ClientID == "" {
		return errors.New("GATEHOUSE_OIDC_ISSUER is set but GATEHOUSE_OIDC_CLIENT_ID is not: register the console at the provider " +
			"as a confidential client (authorization code flow) and set its client id and GATEHOUSE_OIDC_CLIENT_SECRET")
	}
	if o.ClientSecret == "" {
		return fmt.Errorf("GATEHOUSE_OIDC_CLIENT_SECRET is required with GATEHOUSE_OIDC_ISSUER: the secret of the client %q at the provider", o.ClientID)
	}
	if c.consoleURL == "" {
		return errors.New("GATEHOUSE_CONSOLE_URL is required with GATEHOUSE_OIDC_ISSUER: the console's public URL as browsers reach it, " +
			"such as https://gatehouse.example.com/console/; register its oidc/callback (https://gatehouse.example.com/console/oidc/callback) " +
			"as the redirect URI at the provider")
	}
	if o.UserClaim == "" {
		o.UserClaim = "sub"
	}
	if strings.ContainsFunc(o.UserClaim, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return fmt.Errorf("GATEHOUSE_OIDC_USER_CLAIM must be one claim name, such as sub, preferred_username or email, got %q", o.UserClaim)
	}
	o.RedirectURL = strings.TrimSuffix(c.consoleURL, "/console/") + console.OIDCCallbackPath
	return nil
}

// parseRateLimit reads GATEHOUSE_RATE_LIMIT and GATEHOUSE_RATE_BURST.
func parseRateLimit(limit, burst string) (float64, int, error) {
	var perSecond float64
	if limit != "" {
		v, err := strconv.ParseFloat(limit, 64)
		if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
			return 0, 0, fmt.Errorf("GATEHOUSE_RATE_LIMIT must be requests per second, such as 50 or 0.5 (0: no limit), got %q", limit)
		}
		perSecond = v
	}
	if burst == "" {
		if perSecond == 0 {
			return 0, 0, nil
		}
		return perSecond, server.DefaultBurst(perSecond), nil
	}
	b, err := strconv.Atoi(burst)
	if err != nil || b < 1 {
		return 0, 0, fmt.Errorf("GATEHOUSE_RATE_BURST must be a whole number of requests, at least 1, got %q", burst)
	}
	if perSecond == 0 {
		return 0, 0, errors.New("GATEHOUSE_RATE_BURST applies only with GATEHOUSE_RATE_LIMIT set")
	}
	return perSecond, b, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func parseBool(name, v string, def bool) (bool, error) {
	if v == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s must be true or false, got %q", name, v)
	}
	return b, nil
}

// runServe starts SpiceDB (embedded) or connects to it, writes the schema,
// serves HTTP until ctx ends, then shuts down gracefully.
func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
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
	var tlsConfig *tls.Config
	if cfg.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.tlsCert, cfg.tlsKey)
		if err != nil {
			return fmt.Errorf("loading GATEHOUSE_TLS_CERT and GATEHOUSE_TLS_KEY: %w", err)
		}
		tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
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
	storeOpts := []spicedb.Option{spicedb.WithObserver(metrics.ObserveSpiceDB), spicedb.WithCursorKey(cfg.cursorKey)}
	if cfg.cursorKey == nil {
		log.Info("list cursors are signed with a key generated at start: they do not survive a restart or continue on another replica; set GATEHOUSE_CURSOR_KEY, the same on every replica, to keep them")
	}
	var store *spicedb.SpiceDB
	mode := "remote " + cfg.spicedb
	if cfg.spicedb == "embedded" {
		emb, err := spicedb.StartEmbedded(ctx, spicedb.EmbeddedConfig{Datastore: cfg.datastore, Timeout: cfg.spicedbTimeout})
		if err != nil {
			return err
		}
		defer func() {
			if err := emb.Close(); err != nil {
				log.Warn("stopping embedded SpiceDB", "err", err)
			}
		}()
		store = spicedb.New(emb.Conn, append(storeOpts, emb.Options()...)...)
		mode = "embedded " + datastoreName(cfg.datastore)
	} else {
		conn, err := spicedb.Dial(cfg.spicedb, cfg.spicedbKey, cfg.spicedbInsecure, cfg.spicedbTimeout)
		if err != nil {
			return err
		}
		defer conn.Close()
		store = spicedb.New(conn, storeOpts...)
	}
	go audit.Retain(ctx, trail, cfg.auditRetention, retentionInterval(cfg.auditRetention), func(n int64, err error) {
		if err != nil {
			log.Warn("audit retention", "err", err)
		} else if n > 0 {
			log.Info("audit retention removed old events", "events", n, "older_than", cfg.auditRetention.String())
		}
	})
	idx, err := schema.NewIndex(schema.Text)
	if err != nil {
		return err
	}

	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listening on %s (GATEHOUSE_ADDR): %w", cfg.addr, err)
	}
	wf := workflow.New(store)
	var consoleHandler http.Handler
	if cfg.console {
		if consoleHandler, err = newConsole(cfg, store, trail, wf, log); err != nil {
			_ = ln.Close()
			return err
		}
		consoleURL := cfg.consoleURL
		if consoleURL == "" {
			scheme := "http"
			if tlsConfig != nil {
				scheme = "https"
			}
			consoleURL = scheme + "://" + ln.Addr().String() + "/console/"
		}
		fmt.Fprintf(stdout, "GATEHOUSE_CONSOLE_URL=%s\n", consoleURL)
	}
	var ready atomic.Bool
	// The audit consumer starts in prepare; until then the API answers 503.
	var auditConsumer atomic.Pointer[spicedb.AuditConsumer]
	auditHealth := func() error {
		if c := auditConsumer.Load(); c != nil {
			return c.Healthy()
		}
		return errors.New("the audit consumer is starting")
	}
	metrics.WatchAudit(func() server.AuditGauges {
		var g server.AuditGauges
		if c := auditConsumer.Load(); c != nil {
			st := c.Status()
			g = server.AuditGauges{Running: st.Running, Behind: st.Behind, Pending: st.Pending}
		}
		g.Following = store.Following().Current
		if m, ok := trail.(*audit.Memory); ok {
			g.Dropped = m.Dropped()
		}
		return g
	})
	srv := &http.Server{
		Handler: traced(server.New(server.Deps{
			Store: store, Audit: trail, AuditHealth: auditHealth, Workflow: wf, Schema: idx,
			Keys: cfg.keys, CheckKeys: cfg.checkKeys, Log: log, Metrics: metrics, Ready: &ready,
			PlatformKeys: cfg.platformKeys, RateLimit: cfg.rateLimit, RateBurst: cfg.rateBurst,
			RequestTimeout: cfg.requestTimeout, Console: consoleHandler,
			Scratch: scratchEngine,
		})),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		// Longer than any request may work, so that its answer, a 503
		// included, is still written.
		WriteTimeout: cfg.requestTimeout + writeGrace,
		IdleTimeout:  2 * time.Minute,
		TLSConfig:    tlsConfig,
		ErrorLog:     slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if cfg.pprofAddr != "" {
		if err := servePprof(ctx, cfg.pprofAddr, log); err != nil {
			_ = ln.Close()
			return err
		}
	}
	serveErr := make(chan error, 1)
	go func() {
		if tlsConfig != nil {
			serveErr <- srv.ServeTLS(ln, "", "")
			return
		}
		serveErr <- srv.Serve(ln)
	}()

	// The schema is written, and the demo data loaded, while /healthz
	// already answers and /readyz says not yet; a remote SpiceDB that is
	// still starting is retried until ctx ends.
	consumer, err := prepare(ctx, store, trail, cfg, log)
	if err != nil {
		_ = srv.Close()
		return err
	}
	defer consumer.Stop()
	auditConsumer.Store(consumer)
	ready.Store(true)
	log.Info("gatehouse ready", "addr", ln.Addr().String(), "tls", tlsConfig != nil, "mode", mode, "seed", cfg.seed,
		"rate_limit", cfg.rateLimit, "request_timeout", cfg.requestTimeout.String())

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

// newConsole builds the admin console: its session key from
// GATEHOUSE_CONSOLE_SESSION_KEY, or a random one (sessions then end with
// the process and are not shared between replicas).
func newConsole(cfg config, store *spicedb.SpiceDB, trail gatehouse.AuditTrail, wf *workflow.Service, log *slog.Logger) (http.Handler, error) {
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
		Workflow: wf, Store: store, Audit: trail, Log: log, Scratch: scratchEngine,
		DevLogin: cfg.consoleDevLogin, DevUsers: users, SessionKey: key, OIDC: cfg.oidc,
		// Behind a proxy that ends TLS, the public URL says the browser
		// speaks https even though Gatehouse's requests do not.
		SecureCookies: strings.HasPrefix(cfg.consoleURL, "https://"),
	})
}

// scratchEngine starts the scratch SpiceDB in which a dry run (X7)
// weighs its would-be state, for the API's ?dryRun=true and the
// console's confirmations.
func scratchEngine(ctx context.Context, rels []gatehouse.Relationship) (dryrun.Scratch, error) {
	return spicedb.NewScratch(ctx, schema.Text, rels)
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

func prepare(ctx context.Context, store *spicedb.SpiceDB, trail gatehouse.AuditTrail, cfg config, log *slog.Logger) (*spicedb.AuditConsumer, error) {
	for attempt := 1; ; attempt++ {
		err := store.WriteSchema(ctx, schema.Text)
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
	consumer, err := spicedb.StartAudit(ctx, store, trail, spicedb.AuditConfig{
		// Embedded memory starts empty each run: an audit database's cursor
		// names the datastore of the run before.
		FreshDatastore: cfg.spicedb == "embedded" && cfg.datastore == "memory",
		ResetCursor:    cfg.auditResetCursor,
		Log:            log,
	})
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
