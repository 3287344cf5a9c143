package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"time"
)

// trustingClient is an HTTP client that trusts the CA certificates in the
// PEM file caFile (GATEHOUSE_CA_CERT) besides the system's, for a server
// whose certificate a private CA signed, or a self-signed one.
func trustingClient(caFile string) (*http.Client, error) {
	pem, err := os.ReadFile(caFile) //nolint:gosec // the operator names the file
	if err != nil {
		return nil, fmt.Errorf("reading GATEHOUSE_CA_CERT: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("GATEHOUSE_CA_CERT: %s holds no PEM certificate", caFile)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone() //nolint:forcetypeassert // net/http's own default
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}
	return &http.Client{Timeout: 30 * time.Second, Transport: tr}, nil
}
