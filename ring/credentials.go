package ring

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// The files of Dir, named as in a Kubernetes service account's directory,
// where SpiceDB's resolver reads them.
const (
	CAFile        = "ca.crt"    // the ring's certificate, which the nodes trust (0644)
	TokenFile     = "token"     // the bearer token the nodes present (0600)
	NamespaceFile = "namespace" // the Namespace of the Endpoints (0644)
	keyFile       = "ring.key"  // the certificate's private key (0600)
)

// Credentials returns the ring's TLS certificate and bearer token, kept in
// dir with the namespace, so that a node started with dir mounted at
// /var/run/secrets/kubernetes.io/serviceaccount can call the ring. It
// makes them the first time, and reuses them after: SpiceDB reads the CA
// once, when it starts, so a ring that restarts keeps its certificate
// unless it no longer covers names (the host names and IPs the nodes reach
// the ring by), when it makes a new one and the nodes must be restarted.
// The token and the key are readable by their owner only: the nodes must
// run as the ring's user (65532 in the Gatehouse and SpiceDB images); a
// token kept from before with a looser mode is made 0600.
func Credentials(dir string, names []string, namespace string) (tls.Certificate, string, error) {
	if len(names) == 0 {
		return tls.Certificate{}, "", errors.New("names: the ring's certificate needs at least one name the nodes reach it by")
	}
	// The directory, ca.crt and namespace are readable by any user.
	if err := os.MkdirAll(dir, 0o755); err != nil { //nolint:gosec // the nodes read it
		return tls.Certificate{}, "", fmt.Errorf("ring directory: %w", err)
	}
	token, err := os.ReadFile(filepath.Join(dir, TokenFile)) //nolint:gosec // the operator's own directory
	if errors.Is(err, os.ErrNotExist) {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		token = []byte(hex.EncodeToString(b))
		err = writeFile(dir, TokenFile, token, 0o600)
	} else if err == nil {
		err = private(filepath.Join(dir, TokenFile))
	}
	if err != nil {
		return tls.Certificate{}, "", fmt.Errorf("ring token: %w", err)
	}
	if err := writeFile(dir, NamespaceFile, []byte(namespace), 0o644); err != nil {
		return tls.Certificate{}, "", err
	}
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, CAFile), filepath.Join(dir, keyFile))
	if err != nil || !covers(cert, names) {
		if cert, err = newCertificate(dir, names); err != nil {
			return tls.Certificate{}, "", err
		}
	}
	return cert, strings.TrimSpace(string(token)), nil
}

// private makes the file at path readable by its owner only, if others
// can read it now (a token written by an older ring, 0644).
func private(path string) error {
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm()&0o077 == 0 {
		return err
	}
	if err := os.Chmod(path, st.Mode().Perm()&0o700); err != nil {
		return fmt.Errorf("%s is readable by other users and cannot be made 0600 (%w): chmod 600 it", path, err)
	}
	return nil
}

// covers reports whether cert is valid for a while yet and names each of names.
func covers(cert tls.Certificate, names []string) bool {
	leaf := cert.Leaf
	if leaf == nil || time.Until(leaf.NotAfter) < 30*24*time.Hour {
		return false
	}
	for _, n := range names {
		if leaf.VerifyHostname(n) != nil {
			return false
		}
	}
	return true
}

// newCertificate makes a self-signed certificate for names, valid ten
// years, and writes it (CAFile) and its key (keyFile) to dir.
func newCertificate(dir string, names []string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("ring key: %w", err)
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "gatehouse ring"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	for _, n := range slices.Compact(slices.Sorted(slices.Values(names))) {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("ring certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("ring key: %w", err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	if err := writeFile(dir, keyFile, keyPEM, 0o600); err != nil {
		return tls.Certificate{}, err
	}
	if err := writeFile(dir, CAFile, certPEM, 0o644); err != nil {
		return tls.Certificate{}, err
	}
	return tls.X509KeyPair(certPEM, keyPEM)
}

// writeFile replaces dir/name with data at once (a reader sees the old
// file or the new one, never part of one).
func writeFile(dir, name string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(dir, "."+name+"-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	defer func() { _ = os.Remove(f.Name()) }()
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := f.Chmod(perm); err != nil {
		_ = f.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := os.Rename(f.Name(), filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}
