package server

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-authz/gatehouse"
)

// handleHealthz serves GET /healthz: the process is up.
func handleHealthz() gin.HandlerFunc {
	return func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) }
}

// handleReadyz serves GET /readyz: ready once the schema is written and SpiceDB answers now.
func handleReadyz(d Deps) gin.HandlerFunc {
	return func(c *gin.Context) {
		if !d.Ready.Load() {
			writeError(c, d.Log, &gatehouse.Error{Code: gatehouse.EUNAVAILABLE, Message: "starting: the schema is not written yet", RetryAfter: time.Second})
			return
		}
		ctx, cancel := context.WithTimeout(c, 2*time.Second)
		defer cancel()
		if err := d.Store.Ready(ctx); err != nil {
			writeError(c, d.Log, &gatehouse.Error{Code: gatehouse.EUNAVAILABLE, Message: "SpiceDB does not answer", RetryAfter: time.Second, Err: err})
			return
		}
		if d.AuditHealth != nil {
			if err := d.AuditHealth(); err != nil {
				writeError(c, d.Log, &gatehouse.Error{Code: gatehouse.EUNAVAILABLE, Message: "the audit trail is not being recorded: " + err.Error(), RetryAfter: time.Second, Err: err})
				return
			}
		}
		c.JSON(http.StatusOK, gin.H{"status": "ready"})
	}
}

// started answers 503 to every API call until Gatehouse is ready (the
// schema written, the audit consumer running): a write accepted before
// the consumer runs could go unrecorded in a fresh trail (X2).
func started(d Deps) gin.HandlerFunc {
	return func(c *gin.Context) {
		if d.Ready != nil && !d.Ready.Load() {
			writeError(c, d.Log, &gatehouse.Error{Code: gatehouse.EUNAVAILABLE, Message: "starting: not ready yet", RetryAfter: time.Second})
			c.Abort()
			return
		}
		c.Next()
	}
}

// AuditGauges is what the audit trail's consumer reports for /metrics.
type AuditGauges struct {
	// Running: the consumer hears from SpiceDB and has no fatal error.
	Running bool
	// Behind is how long the consumer has been unable to follow SpiceDB's
	// Watch stream (0 while it follows it; past the stall bound /readyz
	// answers 503).
	Behind time.Duration
	// Pending counts this process's writes whose record is not in the trail yet.
	Pending int
	// Dropped counts the events a memory trail forgot because it was full.
	Dropped int64
	// Following: reads go to the snapshot the Watch stream keeps, and
	// checks to the decision cache (every shape but embedded memory, whose
	// head is exact: there it stays 0).
	Following bool
	// CheckHits and LookupHits count the checks and lookups answered from
	// the decision and lookup caches, LookupCheckHits the checks answered
	// from a kept lookup.
	CheckHits, LookupHits, LookupCheckHits int64
}

// WatchAudit exports the audit consumer's state as
// gatehouse_audit_consumer_running, gatehouse_audit_consumer_lag_seconds,
// gatehouse_audit_pending_writes, gatehouse_snapshot_current,
// gatehouse_audit_dropped_events_total and
// gatehouse_cache_hits_total{cache="check"|"lookup"|"lookup_check"},
// read from gauges at every scrape.
func (m *Metrics) WatchAudit(gauges func() AuditGauges) {
	m.Registry.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "gatehouse_audit_consumer_running", Help: "1 while the audit trail's consumer of SpiceDB's changes runs, else 0.",
		}, func() float64 {
			if gauges().Running {
				return 1
			}
			return 0
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "gatehouse_audit_consumer_lag_seconds", Help: "Seconds the audit consumer has been unable to follow SpiceDB's Watch stream (0 while it follows it).",
		}, func() float64 { return gauges().Behind.Seconds() }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "gatehouse_audit_pending_writes", Help: "Writes of this process whose audit record is not in the trail yet.",
		}, func() float64 { return float64(gauges().Pending) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "gatehouse_snapshot_current", Help: "1 while reads go to the snapshot SpiceDB's Watch stream keeps (and checks to the decision cache), else 0.",
		}, func() float64 {
			if gauges().Following {
				return 1
			}
			return 0
		}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "gatehouse_audit_dropped_events_total", Help: "Audit events the memory trail forgot because it was full (GATEHOUSE_AUDIT_MEMORY_EVENTS).",
		}, func() float64 { return float64(gauges().Dropped) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "gatehouse_cache_hits_total", Help: "Answers served from a cache the Watch stream keeps (cache=check: the decision cache; cache=lookup: whole lookups; cache=lookup_check: checks answered from a kept whole lookup), without a call to SpiceDB.",
			ConstLabels: prometheus.Labels{"cache": "check"},
		}, func() float64 { return float64(gauges().CheckHits) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "gatehouse_cache_hits_total", Help: "Answers served from a cache the Watch stream keeps (cache=check: the decision cache; cache=lookup: whole lookups; cache=lookup_check: checks answered from a kept whole lookup), without a call to SpiceDB.",
			ConstLabels: prometheus.Labels{"cache": "lookup"},
		}, func() float64 { return float64(gauges().LookupHits) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "gatehouse_cache_hits_total", Help: "Answers served from a cache the Watch stream keeps (cache=check: the decision cache; cache=lookup: whole lookups; cache=lookup_check: checks answered from a kept whole lookup), without a call to SpiceDB.",
			ConstLabels: prometheus.Labels{"cache": "lookup_check"},
		}, func() float64 { return float64(gauges().LookupCheckHits) }),
	)
}
