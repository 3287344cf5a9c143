package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/console/oidctest"
)

// TestServeOIDC runs `gatehouse serve` with issue 12's sign-in configured
// by GATEHOUSE_OIDC_* against a real provider: a person signs in there and
// the console names them user:<sub>; the client secret never reaches the
// log.
func TestServeOIDC(t *testing.T) {
	p := oidctest.MustProvider(t, oidctest.User{Subject: "mia", Username: "mia", Email: "mia@globex.example"})
	l, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout, stderr syncBuffer
	settings := map[string]string{
		"GATEHOUSE_ADDR": addr, "GATEHOUSE_CONSOLE_URL": "http://" + addr + "/console/",
		"GATEHOUSE_OIDC_ISSUER": p.Issuer, "GATEHOUSE_OIDC_CLIENT_ID": p.ClientID, "GATEHOUSE_OIDC_CLIENT_SECRET": p.ClientSecret,
		"GATEHOUSE_OIDC_PROVIDER_NAME": "Test ID",
	}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve"}, func(k string) string { return settings[k] }, &stdout, &stderr)
	}()
	base := "http://" + addr
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if code, err := get(t, base+"/readyz", ""); err == nil && code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready in 30s:\n%s", stderr.String())
		}
	}
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	do := func(req *http.Request) (*http.Response, string) {
		t.Helper()
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/console/oidc/start", nil)
	resp, _ := do(req)
	resp, body := do(p.LogInRequest(t, resp.Request.URL.String(), "mia"))
	if resp.Request.URL.Path != "/console/" || !strings.Contains(body, "Signed in as <strong>user:mia</strong>") {
		t.Errorf("after sign-in: %d at %s\n%s", resp.StatusCode, resp.Request.URL, body)
	}
	mustStop(t, cancel, done, &stderr)
	if !strings.Contains(stderr.String(), `"redirect_uri":"http://`+addr+`/console/oidc/callback"`) {
		t.Errorf("the log does not name the redirect URI to register:\n%s", stderr.String())
	}
	if strings.Contains(stderr.String(), p.ClientSecret) || strings.Contains(stdout.String(), p.ClientSecret) {
		t.Error("the client secret reached the output")
	}
}
