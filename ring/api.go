package ring

import (
	"crypto/subtle"
	"crypto/tls"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// The Kubernetes API's objects, as much of them as SpiceDB's resolver
// (github.com/sercand/kuberesolver) reads.
type (
	endpoints struct {
		Kind       string   `json:"kind"`
		APIVersion string   `json:"apiVersion"`
		Metadata   metadata `json:"metadata"`
		Subsets    []subset `json:"subsets"`
	}
	metadata struct {
		Name            string `json:"name"`
		Namespace       string `json:"namespace"`
		ResourceVersion string `json:"resourceVersion"`
	}
	subset struct {
		Addresses []address `json:"addresses"`
		Ports     []port    `json:"ports"`
	}
	address struct {
		IP string `json:"ip"`
	}
	port struct {
		Name     string `json:"name"`
		Port     int    `json:"port"`
		Protocol string `json:"protocol"`
	}
	event struct {
		Type   string    `json:"type"`
		Object endpoints `json:"object"`
	}
	kubeStatus struct {
		Kind       string `json:"kind"`
		APIVersion string `json:"apiVersion"`
		Status     string `json:"status"`
		Message    string `json:"message"`
		Reason     string `json:"reason"`
		Code       int    `json:"code"`
	}
)

// endpoints returns the Endpoints of the members.
func (r *Ring) endpoints(members []string, version int) endpoints {
	e := endpoints{
		Kind: "Endpoints", APIVersion: "v1",
		Metadata: metadata{Name: r.cfg.Service, Namespace: r.cfg.Namespace, ResourceVersion: strconv.Itoa(version)},
		Subsets:  []subset{},
	}
	if len(members) > 0 {
		s := subset{Ports: []port{{Name: "dispatch", Port: r.cfg.DispatchPort, Protocol: "TCP"}}}
		for _, ip := range members {
			s.Addresses = append(s.Addresses, address{IP: ip})
		}
		e.Subsets = append(e.Subsets, s)
	}
	return e
}

// Handler serves, to callers presenting token as a bearer token, the
// Endpoints of the nodes serving (GET
// /api/v1/namespaces/{namespace}/endpoints/{service}) and a watch of them
// (GET /api/v1/watch/namespaces/{namespace}/endpoints/{service}: an ADDED
// event, then a MODIFIED event at every change, until the caller or the
// ring stops), and to
// anyone GET /readyz (200 once the nodes' name has been resolved) and GET
// /metrics (Prometheus: the nodes resolved, the nodes serving, the
// changes, and the watches open, which is the number of nodes following
// the ring: alert when it is below the nodes resolved).
func (r *Ring) Handler(token string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !r.Ready() {
			http.Error(w, "the nodes' name has not been resolved yet", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /api/v1/namespaces/{namespace}/endpoints/{service}", r.authorised(token, func(w http.ResponseWriter, _ *http.Request) {
		members, version, _ := r.Members()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(r.endpoints(members, version))
	}))
	mux.HandleFunc("GET /api/v1/watch/namespaces/{namespace}/endpoints/{service}", r.authorised(token, r.watch))
	mux.Handle("GET /metrics", promhttp.HandlerFor(r.metrics(), promhttp.HandlerOpts{}))
	mux.HandleFunc("/", func(w http.ResponseWriter, req *http.Request) {
		writeStatus(w, http.StatusNotFound, "NotFound", "the ring serves only the Endpoints of its nodes, not "+req.URL.Path)
	})
	return mux
}

// Server returns the ring's HTTPS server: Handler(token) with cert, and
// cfg.Timeouts, logging its errors (a TLS handshake refused, a connection
// timed out) to cfg.Logger at Warn. Serve it with ServeTLS(lis, "", "").
func (r *Ring) Server(token string, cert tls.Certificate) *http.Server {
	t := r.cfg.Timeouts.orDefault()
	return &http.Server{
		Handler:           r.Handler(token),
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		ErrorLog:          slog.NewLogLogger(r.log.Handler(), slog.LevelWarn),
	}
}

// authorised serves next to callers with the token, for the ring's
// Service and Namespace only.
func (r *Ring) authorised(token string, next http.HandlerFunc) http.HandlerFunc {
	want := []byte("Bearer " + token)
	return func(w http.ResponseWriter, req *http.Request) {
		if subtle.ConstantTimeCompare([]byte(req.Header.Get("Authorization")), want) != 1 {
			writeStatus(w, http.StatusUnauthorized, "Unauthorized", "a bearer token from the ring's token file is required")
			return
		}
		if req.PathValue("namespace") != r.cfg.Namespace || req.PathValue("service") != r.cfg.Service {
			writeStatus(w, http.StatusNotFound, "NotFound",
				"endpoints "+req.PathValue("namespace")+"/"+req.PathValue("service")+" not found: the ring serves "+r.cfg.Namespace+"/"+r.cfg.Service)
			return
		}
		next(w, req)
	}
}

// watch streams the Endpoints: ADDED now, MODIFIED at every change. A
// watch lasts until its node closes it or the ring stops: unlike the
// Kubernetes API, the ring does not end watches after a few minutes,
// because SpiceDB's resolver (kuberesolver) watches again only after a
// pause that doubles with every watch ended, from 1 s to 16 s, during
// which its node would not learn of a peer's death. The server's write
// timeout would end it, so each event has its own instead. (Its read
// timeout does not: net/http lifts it once a request with no body is
// read, and HTTP/2 applies it to the body only.)
func (r *Ring) watch(w http.ResponseWriter, req *http.Request) {
	rc := http.NewResponseController(w)
	writeTimeout := r.cfg.Timeouts.orDefault().Write
	if err := rc.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
		writeStatus(w, http.StatusInternalServerError, "InternalError", "the connection cannot stream: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	r.watches.Add(1)
	defer r.watches.Add(-1)
	members, version, changed := r.Members()
	kind := "ADDED"
	for {
		err := rc.SetWriteDeadline(time.Now().Add(writeTimeout))
		if err == nil {
			err = enc.Encode(event{Type: kind, Object: r.endpoints(members, version)})
		}
		if err == nil {
			err = rc.Flush()
		}
		// No deadline while the watch waits for a change: over HTTP/2 a
		// deadline that passes ends the stream even with nothing to write.
		if err != nil || rc.SetWriteDeadline(time.Time{}) != nil {
			return
		}
		select {
		case <-req.Context().Done():
			return
		case <-changed:
		}
		members, version, changed = r.Members()
		kind = "MODIFIED"
	}
}

// writeStatus answers as the Kubernetes API does when it refuses.
func writeStatus(w http.ResponseWriter, code int, reason, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(kubeStatus{Kind: "Status", APIVersion: "v1", Status: "Failure", Message: message, Reason: reason, Code: code})
}

// metrics is the ring's Prometheus registry.
func (r *Ring) metrics() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	read := func(f func() float64) func() float64 {
		return func() float64 {
			r.mu.Lock()
			defer r.mu.Unlock()
			return f()
		}
	}
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gatehouse_ring_nodes_resolved", Help: "Nodes the nodes' DNS name resolves to, in the allowlist if there is one."},
			read(func() float64 { return float64(len(r.nodes)) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gatehouse_ring_nodes_refused", Help: "Addresses the nodes' DNS name resolves to outside the allowlist, which are never members."},
			read(func() float64 { return float64(len(r.refused)) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gatehouse_ring_members", Help: "Nodes serving, which the ring lists."},
			read(func() float64 { return float64(len(r.members)) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "gatehouse_ring_changes_total", Help: "Changes of the nodes listed."},
			read(func() float64 { return float64(r.version) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gatehouse_ring_watches", Help: "Watches of the Endpoints open: one per node following the ring."},
			func() float64 { return float64(r.watches.Load()) }),
	)
	return reg
}
