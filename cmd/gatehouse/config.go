package main

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/gatehouse-authz/gatehouse/audit"
	"github.com/gatehouse-authz/gatehouse/console"
	"github.com/gatehouse-authz/gatehouse/server"
	"github.com/gatehouse-authz/gatehouse/spicedb"
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

// parseConfig reads the settings of `gatehouse serve` from args and
// getenv, the flags winning, and refuses the first that is wrong with a
// message that says what to do; flag errors and -h go to stderr.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("gatehouse serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	raw := serveFlags(fs, &c, getenv)
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	return c, raw.apply(&c, getenv)
}

// rawConfig holds the settings that parseConfig reads as text and
// checks once the flags are parsed.
type rawConfig struct {
	keys, checkKeys, platformKeys string
	rateLimit, rateBurst          string
	requestTimeout                string
	insecure, timeout             string
	seed                          string
	retention, memEvents          string
	resetCursor                   string
	console, devLogin             string
}

// serveFlags declares the flags of `gatehouse serve` on fs, each
// defaulting to its GATEHOUSE_* variable: those read as they are straight
// into c, the others into the rawConfig it returns.
func serveFlags(fs *flag.FlagSet, c *config, getenv func(string) string) *rawConfig {
	env := envOr(getenv)
	r := &rawConfig{}
	fs.StringVar(&c.addr, "addr", env("GATEHOUSE_ADDR", "127.0.0.1:8080"), "listen address (GATEHOUSE_ADDR)")
	fs.StringVar(&r.keys, "api-keys", getenv("GATEHOUSE_API_KEYS"), "comma-separated bearer keys; none: generate one and print it (GATEHOUSE_API_KEYS)")
	fs.StringVar(&r.checkKeys, "check-keys", getenv("GATEHOUSE_CHECK_KEYS"), "comma-separated keys that may only check and read the schema (GATEHOUSE_CHECK_KEYS)")
	fs.StringVar(&r.platformKeys, "platform-keys", getenv("GATEHOUSE_PLATFORM_KEYS"), "comma-separated full keys that may also change platform#staff (GATEHOUSE_PLATFORM_KEYS)")
	fs.StringVar(&r.rateLimit, "rate-limit", getenv("GATEHOUSE_RATE_LIMIT"), "requests per second each key may make; 0 or empty: no limit (GATEHOUSE_RATE_LIMIT)")
	fs.StringVar(&r.rateBurst, "rate-burst", getenv("GATEHOUSE_RATE_BURST"), "requests a key may make at once under the rate limit; default one second's worth (GATEHOUSE_RATE_BURST)")
	fs.StringVar(&r.requestTimeout, "request-timeout", env("GATEHOUSE_REQUEST_TIMEOUT", "30s"), "how long one request may work before it answers 503; the write timeout is 10s longer (GATEHOUSE_REQUEST_TIMEOUT)")
	fs.StringVar(&c.tlsCert, "tls-cert", getenv("GATEHOUSE_TLS_CERT"), "PEM certificate (chain) file: serve HTTPS; needs --tls-key (GATEHOUSE_TLS_CERT)")
	fs.StringVar(&c.tlsKey, "tls-key", getenv("GATEHOUSE_TLS_KEY"), "PEM private key file of --tls-cert (GATEHOUSE_TLS_KEY)")
	fs.StringVar(&c.spicedb, "spicedb", env("GATEHOUSE_SPICEDB", "embedded"), "`embedded`, or SpiceDB's gRPC endpoint: host:port, a comma-separated list of host:port (one per node), or dns:///name:port (GATEHOUSE_SPICEDB)")
	fs.StringVar(&c.spicedbKey, "spicedb-key", getenv("GATEHOUSE_SPICEDB_KEY"), "preshared key of a remote SpiceDB (GATEHOUSE_SPICEDB_KEY)")
	fs.StringVar(&r.insecure, "spicedb-insecure", getenv("GATEHOUSE_SPICEDB_INSECURE"), "plaintext gRPC to a remote SpiceDB (GATEHOUSE_SPICEDB_INSECURE)")
	fs.StringVar(&r.timeout, "spicedb-timeout", env("GATEHOUSE_SPICEDB_TIMEOUT", "5s"), "how long one SpiceDB call may take, embedded or remote, before it answers 503 (GATEHOUSE_SPICEDB_TIMEOUT)")
	fs.StringVar(&c.datastore, "datastore", env("GATEHOUSE_DATASTORE", "memory"), "embedded only: memory, or a postgres:// URI (GATEHOUSE_DATASTORE)")
	fs.StringVar(&r.seed, "seed", getenv("GATEHOUSE_SEED"), "load the demo data at start; default on with memory (GATEHOUSE_SEED)")
	fs.StringVar(&c.pprofAddr, "pprof-addr", getenv("GATEHOUSE_PPROF_ADDR"), "serve Go's pprof profiles on this address, apart from the API (GATEHOUSE_PPROF_ADDR)")
	fs.StringVar(&c.auditDatabase, "audit-database", getenv("GATEHOUSE_AUDIT_DATABASE"), "postgres:// URI of the durable audit trail, shared by every replica; none: in memory (GATEHOUSE_AUDIT_DATABASE)")
	fs.StringVar(&r.retention, "audit-retention", env("GATEHOUSE_AUDIT_RETENTION", "0"), "remove audit events older than this, e.g. 2160h; 0 keeps them (GATEHOUSE_AUDIT_RETENTION)")
	fs.StringVar(&r.memEvents, "audit-memory-events", env("GATEHOUSE_AUDIT_MEMORY_EVENTS", strconv.Itoa(audit.DefaultMemoryEvents)), "without an audit database: how many of the newest events the trail keeps (GATEHOUSE_AUDIT_MEMORY_EVENTS)")
	fs.StringVar(&r.resetCursor, "audit-reset-cursor", getenv("GATEHOUSE_AUDIT_RESET_CURSOR"), "start recording the audit trail at SpiceDB's head, whatever cursor is stored: the recovery when it names another datastore or has expired; writes in between go unrecorded (GATEHOUSE_AUDIT_RESET_CURSOR)")
	fs.StringVar(&r.console, "console", getenv("GATEHOUSE_CONSOLE"), "serve the admin console under /console; default on with the embedded demo data (GATEHOUSE_CONSOLE)")
	fs.StringVar(&r.devLogin, "console-dev-login", getenv("GATEHOUSE_CONSOLE_DEV_LOGIN"), "the console's password-less sign-in as any demo user; default on with the embedded demo data, refused otherwise (GATEHOUSE_CONSOLE_DEV_LOGIN)")
	fs.StringVar(&c.consoleURL, "console-url", getenv("GATEHOUSE_CONSOLE_URL"), "the console's public URL as browsers reach it, e.g. https://gatehouse.example.com/console/; required with --oidc-issuer (GATEHOUSE_CONSOLE_URL)")
	fs.StringVar(&c.oidc.Issuer, "oidc-issuer", getenv("GATEHOUSE_OIDC_ISSUER"), "issuer URL of the OpenID provider people sign in to the console with; needs the client id, GATEHOUSE_OIDC_CLIENT_SECRET and --console-url (GATEHOUSE_OIDC_ISSUER)")
	fs.StringVar(&c.oidc.ClientID, "oidc-client-id", getenv("GATEHOUSE_OIDC_CLIENT_ID"), "the console's client id at the OpenID provider (GATEHOUSE_OIDC_CLIENT_ID)")
	fs.StringVar(&c.oidc.UserClaim, "oidc-user-claim", getenv("GATEHOUSE_OIDC_USER_CLAIM"), "the claim whose value is the person's user id, acting as user:<value>; default sub (GATEHOUSE_OIDC_USER_CLAIM)")
	fs.StringVar(&c.oidc.Name, "oidc-provider-name", getenv("GATEHOUSE_OIDC_PROVIDER_NAME"), "the provider's name on the sign-in page; default the issuer's host (GATEHOUSE_OIDC_PROVIDER_NAME)")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 15*time.Second, "how long in-flight requests may finish after SIGTERM")
	return r
}

// apply checks the settings read as text and sets them in c, in the
// order a person meets them: the API, SpiceDB, the audit trail, the
// datastore, then the console.
func (r *rawConfig) apply(c *config, getenv func(string) string) error {
	if err := r.applyAPI(c); err != nil {
		return err
	}
	if err := r.applySpiceDB(c); err != nil {
		return err
	}
	if err := r.applyAudit(c); err != nil {
		return err
	}
	if err := r.applyDatastore(c, getenv); err != nil {
		return err
	}
	// The secrets have no flag, so that they never show in the process list.
	c.oidc.ClientSecret = getenv("GATEHOUSE_OIDC_CLIENT_SECRET")
	if err := parseOIDC(c); err != nil {
		return err
	}
	demo := c.spicedb == "embedded" && c.datastore == "memory" && c.seed
	if err := parseConsole(c, r.console, r.devLogin, getenv("GATEHOUSE_CONSOLE_SESSION_KEY"), demo); err != nil {
		return err
	}
	var err error
	c.cursorKey, err = parseCursorKey(getenv("GATEHOUSE_CURSOR_KEY"))
	return err
}

// applyAPI reads the keys, the rate limit, the request timeout and TLS.
func (r *rawConfig) applyAPI(c *config) error {
	c.keys, c.checkKeys, c.platformKeys = splitList(r.keys), splitList(r.checkKeys), splitList(r.platformKeys)
	if err := server.CheckKeys(c.keys, c.checkKeys, c.platformKeys); err != nil {
		return err
	}
	var err error
	if c.rateLimit, c.rateBurst, err = parseRateLimit(r.rateLimit, r.rateBurst); err != nil {
		return err
	}
	if c.requestTimeout, err = time.ParseDuration(r.requestTimeout); err != nil || c.requestTimeout <= 0 {
		return fmt.Errorf("GATEHOUSE_REQUEST_TIMEOUT must be a positive duration such as 30s, got %q", r.requestTimeout)
	}
	if (c.tlsCert == "") != (c.tlsKey == "") {
		return errors.New("GATEHOUSE_TLS_CERT and GATEHOUSE_TLS_KEY (--tls-cert, --tls-key) go together: set both to serve HTTPS, or neither")
	}
	return nil
}

// applySpiceDB reads how SpiceDB is called: in plaintext, and how long a call may take.
func (r *rawConfig) applySpiceDB(c *config) error {
	var err error
	if c.spicedbInsecure, err = parseBool("GATEHOUSE_SPICEDB_INSECURE", r.insecure, false); err != nil {
		return err
	}
	if c.spicedbTimeout, err = time.ParseDuration(r.timeout); err != nil || c.spicedbTimeout <= 0 {
		return fmt.Errorf("GATEHOUSE_SPICEDB_TIMEOUT must be a positive duration such as 5s, got %q", r.timeout)
	}
	return nil
}

// applyAudit reads the audit trail's settings.
func (r *rawConfig) applyAudit(c *config) error {
	var err error
	if c.auditRetention, err = time.ParseDuration(r.retention); err != nil || c.auditRetention < 0 {
		return fmt.Errorf("GATEHOUSE_AUDIT_RETENTION must be a duration such as 2160h (0 keeps every event), got %q", r.retention)
	}
	if c.auditMemoryEvents, err = strconv.Atoi(r.memEvents); err != nil || c.auditMemoryEvents <= 0 {
		return fmt.Errorf("GATEHOUSE_AUDIT_MEMORY_EVENTS must be a positive number of events, got %q", r.memEvents)
	}
	if c.auditResetCursor, err = parseBool("GATEHOUSE_AUDIT_RESET_CURSOR", r.resetCursor, false); err != nil {
		return err
	}
	if c.auditDatabase != "" && !strings.HasPrefix(c.auditDatabase, "postgres://") && !strings.HasPrefix(c.auditDatabase, "postgresql://") {
		return errors.New("GATEHOUSE_AUDIT_DATABASE must be a postgres:// URI")
	}
	return nil
}

// applyDatastore reads where SpiceDB keeps its data (embedded, or a
// remote SpiceDB and its key) and whether the demo data is loaded.
func (r *rawConfig) applyDatastore(c *config, getenv func(string) string) error {
	remote := c.spicedb != "embedded"
	if remote {
		if err := spicedb.CheckTarget(c.spicedb); err != nil {
			return fmt.Errorf("GATEHOUSE_SPICEDB must be `embedded` or SpiceDB's address: %w", err)
		}
		if c.spicedbKey == "" {
			return errors.New("GATEHOUSE_SPICEDB_KEY is required with a remote SpiceDB (its --grpc-preshared-key)")
		}
		if c.datastore != "memory" && getenv("GATEHOUSE_DATASTORE") != "" {
			return errors.New("GATEHOUSE_DATASTORE applies to embedded SpiceDB only; a remote SpiceDB has its own datastore")
		}
	}
	if c.datastore != "memory" && !strings.HasPrefix(c.datastore, "postgres://") && !strings.HasPrefix(c.datastore, "postgresql://") {
		return fmt.Errorf("GATEHOUSE_DATASTORE must be memory or a postgres:// URI, got %q", c.datastore)
	}
	var err error
	c.seed, err = parseBool("GATEHOUSE_SEED", r.seed, !remote && c.datastore == "memory")
	return err
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
