package server_test

import (
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gatehouse-authz/gatehouse/server"
)

// TestMetrics counts requests by route pattern and status, and SpiceDB calls by method.
func TestMetrics(t *testing.T) {
	a := MustSeededAPI(t)
	a.Allowed("contractor:c1", "view", "user:carla")
	a.Do("POST", "/v1/check", "", `{`)
	a.Relationships("organisation:acme")
	r := a.DoKey("", "GET", "/metrics", "", nil)
	body := string(r.Raw)
	for _, want := range []string{
		`gatehouse_http_requests_total{method="POST",route="/v1/check",status="200"} 1`,
		`gatehouse_http_requests_total{method="POST",route="/v1/check",status="400"} 1`,
		`gatehouse_http_request_duration_seconds_count{method="GET",route="/v1/relationships",status="200"} 1`,
		`gatehouse_spicedb_call_duration_seconds_count{method="ReadRelationships",outcome="ok"}`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(body, testKey) {
		t.Error("a key reached /metrics")
	}
}

// TestReadyzReportsTheAuditConsumer (issue 19, item 5): once the audit
// consumer reports itself stopped (spicedb.AuditConsumer.Healthy, past its
// stall bound or on a fatal cursor), /readyz answers 503 saying the trail
// is not being recorded, so a load balancer takes the replica out.
func TestReadyzReportsTheAuditConsumer(t *testing.T) {
	var stopped atomic.Bool
	s := mustSecured(t, func(d *server.Deps) {
		healthy := d.AuditHealth
		d.AuditHealth = func() error {
			if stopped.Load() {
				return errors.New("the audit consumer has not followed SpiceDB's changes for 31s")
			}
			return healthy()
		}
	})
	if st, _, body := s.get("/readyz", nil); st != http.StatusOK {
		t.Fatalf("/readyz with the consumer running: %d %s", st, body)
	}
	stopped.Store(true)
	st, _, body := s.get("/readyz", nil)
	if st != http.StatusServiceUnavailable || !strings.Contains(body, "the audit trail is not being recorded") || !strings.Contains(body, "31s") {
		t.Fatalf("/readyz with the consumer stopped: %d %s; want 503 saying the trail is not being recorded, and why", st, body)
	}
}
