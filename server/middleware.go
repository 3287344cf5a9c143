package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/gatehouse-authz/gatehouse"
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

// instrument counts and times every request by its route pattern, never by
// raw path, so that ids cannot blow up the label space.
func instrument(m *Metrics) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		st := strconv.Itoa(c.Writer.Status())
		m.requests.WithLabelValues(route, c.Request.Method, st).Inc()
		m.latency.WithLabelValues(route, c.Request.Method, st).Observe(time.Since(start).Seconds())
	}
}

// keyring holds the hashes of the API keys, compared in constant time.
type keyring struct {
	full, check [][32]byte
}

func newKeyring(full, check []string) *keyring {
	k := &keyring{}
	for _, s := range full {
		k.full = append(k.full, sha256.Sum256([]byte(s)))
	}
	for _, s := range check {
		k.check = append(k.check, sha256.Sum256([]byte(s)))
	}
	return k
}

// match compares against every key without stopping early, so timing
// reveals neither which key matched nor how much of one.
func match(keys [][32]byte, h [32]byte) bool {
	found := 0
	for _, k := range keys {
		found |= subtle.ConstantTimeCompare(k[:], h[:])
	}
	return found == 1
}

type access int

const (
	accessNone access = iota
	accessCheck
	accessFull
)

// authenticate requires a bearer key; keys never reach a log line.
func authenticate(k *keyring, log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		raw, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
		if !ok || raw == "" {
			writeError(c, log, &gatehouse.Error{Code: gatehouse.EUNAUTHENTICATED, Message: "missing bearer key: send Authorization: Bearer <key>"})
			return
		}
		h := sha256.Sum256([]byte(raw))
		switch {
		case match(k.full, h):
			c.Set("access", accessFull)
		case match(k.check, h):
			c.Set("access", accessCheck)
		default:
			writeError(c, log, &gatehouse.Error{Code: gatehouse.EUNAUTHENTICATED, Message: "the bearer key is not valid"})
			return
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
