package ring

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Client calls a ring as a node does: over TLS, trusting the ring's
// certificate (its CAFile), with its token. The health check (gatehouse
// ring ready), gatehouse ring members and the cluster tests use it.
type Client struct {
	http               *http.Client
	base, token        string
	service, namespace string
}

// NewClient returns a Client of the ring at base (https://host:port),
// whose certificate names serverName, for the Endpoints of
// service.namespace.
func NewClient(base, serverName string, ca, token []byte, service, namespace string) (*Client, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return nil, errors.New("the ring's certificate: no PEM certificate in it")
	}
	return &Client{
		http: &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: serverName, MinVersion: tls.VersionTLS12},
		}},
		base: strings.TrimSuffix(base, "/"), token: strings.TrimSpace(string(token)),
		service: service, namespace: namespace,
	}, nil
}

// get returns the body of a 200 answer to GET path.
func (c *Client) get(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("the ring does not answer: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("the ring's answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the ring answers %s to %s: %s", resp.Status, path, strings.TrimSpace(string(body)))
	}
	return body, nil
}

// Ready returns nil once the ring answers /readyz.
func (c *Client) Ready(ctx context.Context) error {
	_, err := c.get(ctx, "/readyz")
	return err
}

// Members returns the IPs of the nodes the ring lists as serving, in order.
func (c *Client) Members(ctx context.Context) ([]string, error) {
	body, err := c.get(ctx, "/api/v1/namespaces/"+c.namespace+"/endpoints/"+c.service)
	if err != nil {
		return nil, err
	}
	var e endpoints
	if err := json.Unmarshal(body, &e); err != nil {
		return nil, fmt.Errorf("the ring's Endpoints: %w", err)
	}
	var ips []string
	for _, s := range e.Subsets {
		for _, a := range s.Addresses {
			ips = append(ips, a.IP)
		}
	}
	return ips, nil
}

// Metric returns the value of one of the ring's metrics (GET /metrics),
// such as gatehouse_ring_watches.
func (c *Client) Metric(ctx context.Context, name string) (float64, error) {
	body, err := c.get(ctx, "/metrics")
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(body)) {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return 0, fmt.Errorf("%s %q: %w", name, v, err)
			}
			return f, nil
		}
	}
	return 0, fmt.Errorf("the ring's /metrics has no %s", name)
}
