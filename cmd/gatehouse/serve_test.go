package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeLifecycle starts `gatehouse serve` embedded, sees it become
// ready and answer, then sends it the shutdown signal: it stops accepting
// requests and returns cleanly. The generated key goes to stdout once and
// never into the log.
func TestServeLifecycle(t *testing.T) {
	l, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve"}, func(k string) string {
			return map[string]string{"GATEHOUSE_ADDR": addr}[k]
		}, &stdout, &stderr)
	}()
	base := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := get(t, base+"/readyz", "")
		if err == nil && resp == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready in 30s: %v %d\n%s", err, resp, stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	first, _, _ := strings.Cut(stdout.String(), "\n")
	key, ok := strings.CutPrefix(strings.TrimSpace(first), "GATEHOUSE_API_KEY=")
	if !ok || key == "" {
		t.Fatalf("no key printed: %q", stdout.String())
	}
	if code, err := get(t, base+"/v1/schema", key); err != nil || code != http.StatusOK {
		t.Fatalf("schema with the printed key: %d %v", code, err)
	}
	if !strings.Contains(stdout.String(), "GATEHOUSE_CONSOLE_URL=http://"+addr+"/console/") {
		t.Errorf("no console address printed: %q", stdout.String())
	}
	if code, err := get(t, base+"/console/login", ""); err != nil || code != http.StatusOK {
		t.Errorf("console sign-in page: %d %v", code, err)
	}
	if !strings.Contains(stderr.String(), `"msg":"gatehouse ready"`) || !strings.Contains(stderr.String(), `"mode":"embedded memory"`) {
		t.Errorf("no ready line with the mode: %s", stderr.String())
	}
	mustStop(t, cancel, done, &stderr)
	if _, err := get(t, base+"/healthz", ""); err == nil {
		t.Error("still accepting requests after shutdown")
	}
	if strings.Contains(stderr.String(), key) {
		t.Error("the API key reached the log")
	}
}

func get(t *testing.T, url, key string) (int, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("GET %s: %w", url, err)
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// selfSigned writes a self-signed certificate for 127.0.0.1 and its key
// to dir and returns their paths.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "gatehouse test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// TestServeTLS serves HTTPS with a certificate the test makes: a client
// that trusts it gets answers, plain HTTP gets none, and the CLI trusts it
// through GATEHOUSE_CA_CERT. A bad certificate stops the start with a
// message naming the settings.
func TestServeTLS(t *testing.T) {
	certFile, keyFile := selfSigned(t, t.TempDir())
	l, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	const secret = "tls-test-secret-0123456789"
	senv := map[string]string{
		"GATEHOUSE_ADDR": addr, "GATEHOUSE_API_KEYS": "ci=" + secret, "GATEHOUSE_SEED": "false",
		"GATEHOUSE_TLS_CERT": certFile, "GATEHOUSE_TLS_KEY": keyFile,
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve"}, func(k string) string { return senv[k] }, &stdout, &stderr)
	}()

	call := httpsGet(t, certFile)
	base := "https://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, err := call(base+"/readyz", "")
		if err == nil && code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready over HTTPS in 30s: %v %d\n%s", err, code, stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code, err := call(base+"/v1/schema", secret); err != nil || code != http.StatusOK {
		t.Errorf("schema over HTTPS: %d %v", code, err)
	}
	if code, err := get(t, "http://"+addr+"/v1/schema", secret); err == nil && code == http.StatusOK {
		t.Error("plain HTTP answered on the HTTPS port")
	}
	cli := func(kv map[string]string) int {
		return run(t.Context(), []string{"ready"}, func(k string) string { return kv[k] }, io.Discard, io.Discard)
	}
	if code := cli(map[string]string{"GATEHOUSE_URL": base, "GATEHOUSE_CA_CERT": certFile}); code != 0 {
		t.Errorf("gatehouse ready with GATEHOUSE_CA_CERT: exit %d", code)
	}
	if code := cli(map[string]string{"GATEHOUSE_ADDR": addr, "GATEHOUSE_TLS_CERT": certFile, "GATEHOUSE_CA_CERT": certFile}); code != 0 {
		t.Errorf("gatehouse ready beside a TLS server (the image's health check): exit %d", code)
	}
	if code := cli(map[string]string{"GATEHOUSE_URL": base}); code == 0 {
		t.Error("gatehouse ready trusted a self-signed certificate without GATEHOUSE_CA_CERT")
	}
	if !strings.Contains(stderr.String(), `"tls":true`) {
		t.Errorf("the ready line does not say TLS: %s", stderr.String())
	}
	mustStop(t, cancel, done, &stderr)
	if strings.Contains(stderr.String(), secret) {
		t.Error("the API key reached the log")
	}

	// A key file that does not fit stops the start, naming the settings.
	var errOut syncBuffer
	senv["GATEHOUSE_TLS_KEY"] = certFile
	if code := run(t.Context(), []string{"serve"}, func(k string) string { return senv[k] }, io.Discard, &errOut); code == 0 || !strings.Contains(errOut.String(), "GATEHOUSE_TLS_KEY") {
		t.Errorf("a bad key: exit %d, %s", code, errOut.String())
	}
}

// httpsGet returns a GET over HTTPS that trusts only the certificate in
// certFile and sends key, when set, as the bearer; it answers the status.
func httpsGet(t *testing.T, certFile string) func(url, key string) (int, error) {
	t.Helper()
	pemBytes, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemBytes)
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}}}
	return func(url, key string) (int, error) {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
		if err != nil {
			return 0, err
		}
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
}

// mustStop ends a running serve (cancel plays the signal) and fails t
// unless it exits 0 within 30 s.
func mustStop(t *testing.T, cancel context.CancelFunc, done <-chan int, stderr fmt.Stringer) {
	t.Helper()
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("did not stop within 30s of the signal")
	}
}
