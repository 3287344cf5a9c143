package server_test

import (
	"strings"
	"testing"
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
