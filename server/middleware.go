package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/time/rate"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/wire"
)

// Metrics are the Prometheus collectors of the API and of its SpiceDB calls.
type Metrics struct {
	Registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	spicedb  *prometheus.HistogramVec
}

// NewMetrics registers Gatehouse's collectors, with Go and process metrics, in a new registry.
func NewMetrics() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		Registry: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "gatehouse_http_request_duration_seconds", Help: "HTTP request latency by route, method and status.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2.5, 12),
		}, []string{"route", "method", "status"}),
		spicedb: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "gatehouse_spicedb_call_duration_seconds", Help: "SpiceDB call latency by method and outcome.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2.5, 12),
		}, []string{"method", "outcome"}),
	}
	reg.MustRegister(m.requests, m.latency, m.spicedb,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// ObserveSpiceDB records one SpiceDB call; it fits spicedb.WithObserver.
func (m *Metrics) ObserveSpiceDB(method string, d time.Duration, err error) {
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	m.spicedb.WithLabelValues(method, outcome).Observe(d.Seconds())
}

// otherLabel stands for every method and route the server does not know.
const otherLabel = "other"

// knownMethods are the only methods that become a label of their own.
var knownMethods = map[string]bool{
	"GET": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true, "HEAD": true, "OPTIONS": true,
}

// methodLabel is the request's method when it is a standard one, else
// "other": the caller must not choose a label value.
func methodLabel(m string) string {
	if knownMethods[m] {
		return m
	}
	return otherLabel
}

// routeLabel is the route pattern that matched, never the raw path, or
// "other" when none did.
func routeLabel(c *gin.Context) string {
	if p := c.FullPath(); p != "" {
		return p
	}
	return otherLabel
}

// instrument counts and times every request by its route pattern and a
// method from a fixed set, so that no request can add a series of its own.
func instrument(m *Metrics) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route, method := routeLabel(c), methodLabel(c.Request.Method)
		st := strconv.Itoa(c.Writer.Status())
		m.requests.WithLabelValues(route, method, st).Inc()
		m.latency.WithLabelValues(route, method, st).Observe(time.Since(start).Seconds())
	}
}

// requestIDHeader names the header that carries a request's id both ways.
const requestIDHeader = "X-Request-Id"

// maxRequestIDLen bounds a caller's own request id.
const maxRequestIDLen = 128

// saneRequestID reports whether a caller's request id may be echoed and
// logged: short, and only characters that UUIDs, ULIDs, hex, base64 and
// the common tracing formats use.
func saneRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune("-_.:+/=", r):
		default:
			return false
		}
	}
	return true
}

// newRequestID returns 128 random bits in hex.
func newRequestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// requestID gives every request an id: the caller's own when it sent a sane
// one, else a new one. It answers in X-Request-Id and goes on the context,
// where the logs and the audit trail read it.
func requestID() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader(requestIDHeader)
		if !saneRequestID(id) {
			id = newRequestID()
		}
		c.Header(requestIDHeader, id)
		ctx := c.Request.Context()
		caller := gatehouse.CallerFrom(ctx)
		caller.RequestID = id
		c.Request = c.Request.WithContext(gatehouse.WithCaller(ctx, caller))
		c.Next()
	}
}

// deadline bounds how long one request may work (0: unbounded); the
// server's WriteTimeout is longer, so the answer to a request that ran out
// of time still reaches the caller.
func deadline(d time.Duration) gin.HandlerFunc {
	return func(c *gin.Context) {
		if d <= 0 {
			c.Next()
			return
		}
		ctx, cancel := context.WithTimeout(c.Request.Context(), d)
		defer cancel()
		c.Request = c.Request.WithContext(ctx)
		c.Next()
	}
}

// accessLog writes one JSON line per request: its id, route pattern,
// method, status, duration, key name and actor. Refusals of a key (401,
// 403, 429) are warnings, server failures errors. Keys never appear.
func accessLog(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		ctx := c.Request.Context()
		caller := gatehouse.CallerFrom(ctx)
		st := c.Writer.Status()
		level := slog.LevelInfo
		switch {
		case st >= 500:
			level = slog.LevelError
		case st == 401 || st == 403 || st == 429:
			level = slog.LevelWarn
		}
		attrs := []slog.Attr{
			slog.String("request_id", caller.RequestID),
			slog.String("route", routeLabel(c)),
			slog.String("method", methodLabel(c.Request.Method)),
			slog.Int("status", st),
			slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
		}
		if caller.KeyName != "" {
			attrs = append(attrs, slog.String("key", caller.KeyName))
		}
		// Only an actor that parses is logged: the header is the caller's text.
		if s, err := gatehouse.ParseSubject(wire.ActorHeader, c.GetHeader(wire.ActorHeader)); err == nil {
			attrs = append(attrs, slog.String("actor", s.String()))
		}
		if host, _, err := net.SplitHostPort(c.Request.RemoteAddr); err == nil {
			attrs = append(attrs, slog.String("remote", host))
		}
		log.LogAttrs(ctx, level, "request", attrs...)
	}
}

// authenticate requires a bearer key (the scheme in any letter case) and
// puts the key's name on the context; keys never reach a log line.
func authenticate(k *keyring, log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		scheme, raw, _ := strings.Cut(c.GetHeader("Authorization"), " ")
		raw = strings.TrimSpace(raw)
		if !strings.EqualFold(scheme, "Bearer") || raw == "" {
			writeError(c, log, &gatehouse.Error{Code: gatehouse.EUNAUTHENTICATED, Message: "missing bearer key: send Authorization: Bearer <key>"})
			return
		}
		kk, ok := k.match(raw)
		if !ok {
			writeError(c, log, &gatehouse.Error{Code: gatehouse.EUNAUTHENTICATED, Message: "the bearer key is not valid"})
			return
		}
		c.Set("access", kk.access)
		ctx := c.Request.Context()
		caller := gatehouse.CallerFrom(ctx)
		caller.KeyName, caller.Platform = kk.name, kk.platform
		c.Request = c.Request.WithContext(gatehouse.WithCaller(ctx, caller))
		c.Next()
	}
}

// callerToken puts the request's Gatehouse-Zed-Token header, the newest
// ZedToken the caller has seen from any replica, on the context: every read
// the request makes with no consistency of its own is at least as fresh as
// it (cross-replica read-your-writes).
func callerToken(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		tok := c.GetHeader(wire.ZedTokenHeader)
		if len(tok) > gatehouse.MaxCallerTokenBytes {
			writeError(c, log, gatehouse.Invalid(wire.ZedTokenHeader, "the %s header is a ZedToken of at most %d bytes", wire.ZedTokenHeader, gatehouse.MaxCallerTokenBytes))
			return
		}
		if tok != "" {
			c.Request = c.Request.WithContext(gatehouse.WithCallerToken(c.Request.Context(), tok))
		}
		c.Next()
	}
}

// fullAccess refuses check-only keys (least privilege for backends).
func fullAccess(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		if a, _ := c.Get("access"); a != accessFull {
			writeError(c, log, &gatehouse.Error{Code: gatehouse.EFORBIDDEN, Message: "this key may only check permissions and read the schema"})
			return
		}
		c.Next()
	}
}

// rateLimit allows each key perSecond requests a second on average and
// burst at once (0 or less: no limit). The limiters are made once, one per
// configured key, so no request can add one.
func rateLimit(names []string, perSecond float64, burst int, log *slog.Logger) gin.HandlerFunc {
	if perSecond <= 0 {
		return func(c *gin.Context) { c.Next() }
	}
	if burst <= 0 {
		burst = DefaultBurst(perSecond)
	}
	limiters := make(map[string]*rate.Limiter, len(names))
	for _, n := range names {
		limiters[n] = rate.NewLimiter(rate.Limit(perSecond), burst)
	}
	return func(c *gin.Context) {
		name := gatehouse.CallerFrom(c.Request.Context()).KeyName
		lim, ok := limiters[name]
		if !ok {
			c.Next()
			return
		}
		r := lim.Reserve()
		if d := r.Delay(); d > 0 {
			// The request is refused, so it spends no token.
			r.Cancel()
			writeError(c, log, &gatehouse.Error{
				Code:       gatehouse.ERATELIMITED,
				Message:    fmt.Sprintf("key %s exceeds its limit of %g requests per second; retry after the Retry-After delay", name, perSecond),
				RetryAfter: d,
			})
			return
		}
		c.Next()
	}
}

// DefaultBurst is the burst of GATEHOUSE_RATE_LIMIT when
// GATEHOUSE_RATE_BURST is not set: one second's worth of requests, at least 1.
func DefaultBurst(perSecond float64) int {
	return max(1, int(perSecond+0.999))
}
