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

// TestParseConfigOIDC covers the settings of issue 12's sign-in with
// OpenID Connect: all of the issuer, its client and the console's URL, or
// none; each refusal names the setting and says what to do.
func TestParseConfigOIDC(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	full := func(extra ...string) map[string]string {
		kv := map[string]string{
			"GATEHOUSE_DATASTORE":          "postgres://x",
			"GATEHOUSE_OIDC_ISSUER":        "https://keycloak.example.com/realms/acme",
			"GATEHOUSE_OIDC_CLIENT_ID":     "gatehouse",
			"GATEHOUSE_OIDC_CLIENT_SECRET": "s3cret",
			"GATEHOUSE_CONSOLE_URL":        "https://gatehouse.example.com/console",
		}
		for i := 0; i+1 < len(extra); i += 2 {
			kv[extra[i]] = extra[i+1]
		}
		return kv
	}
	c, err := parseConfig(nil, env(full()), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	// The issuer turns the console on outside the demo; the dev sign-in stays off.
	if !c.console || c.consoleDevLogin || c.oidc.UserClaim != "sub" || c.oidc.ClientSecret != "s3cret" ||
		c.consoleURL != "https://gatehouse.example.com/console/" || c.oidc.RedirectURL != "https://gatehouse.example.com/console/oidc/callback" {
		t.Errorf("OIDC settings: console %v, dev login %v, %+v, console URL %q", c.console, c.consoleDevLogin, c.oidc, c.consoleURL)
	}
	c, err = parseConfig([]string{"--oidc-user-claim", "preferred_username", "--console-url", "http://127.0.0.1:8080/"}, env(full("GATEHOUSE_OIDC_USER_CLAIM", "email")), io.Discard)
	if err != nil || c.oidc.UserClaim != "preferred_username" || c.oidc.RedirectURL != "http://127.0.0.1:8080/console/oidc/callback" {
		t.Errorf("flags win: %+v %v", c.oidc, err)
	}
	// With the demo data both sign-ins are on.
	if c, err = parseConfig(nil, env(full("GATEHOUSE_DATASTORE", "")), io.Discard); err != nil || !c.consoleDevLogin || c.oidc.Issuer == "" {
		t.Errorf("demo with OIDC: dev login %v, %+v, %v", c.consoleDevLogin, c.oidc, err)
	}
	for name, tc := range map[string]struct {
		kv   map[string]string
		want string
	}{
		"issuer without client id":     {full("GATEHOUSE_OIDC_CLIENT_ID", ""), "GATEHOUSE_OIDC_CLIENT_ID is not"},
		"issuer without secret":        {full("GATEHOUSE_OIDC_CLIENT_SECRET", ""), "GATEHOUSE_OIDC_CLIENT_SECRET is required"},
		"issuer without console URL":   {full("GATEHOUSE_CONSOLE_URL", ""), "GATEHOUSE_CONSOLE_URL is required"},
		"issuer not a URL":             {full("GATEHOUSE_OIDC_ISSUER", "keycloak.example.com"), "GATEHOUSE_OIDC_ISSUER must be"},
		"issuer with a query":          {full("GATEHOUSE_OIDC_ISSUER", "https://idp.example.com/?tenant=1"), "GATEHOUSE_OIDC_ISSUER must be"},
		"console URL elsewhere":        {full("GATEHOUSE_CONSOLE_URL", "https://example.com/gatehouse/"), "GATEHOUSE_CONSOLE_URL must be"},
		"console URL not http":         {full("GATEHOUSE_CONSOLE_URL", "ftp://example.com/console/"), "GATEHOUSE_CONSOLE_URL must be"},
		"claim with spaces":            {full("GATEHOUSE_OIDC_USER_CLAIM", "email sub"), "GATEHOUSE_OIDC_USER_CLAIM must be"},
		"console off":                  {full("GATEHOUSE_CONSOLE", "false"), "GATEHOUSE_CONSOLE=false"},
		"client id without issuer":     {map[string]string{"GATEHOUSE_OIDC_CLIENT_ID": "gatehouse"}, "GATEHOUSE_OIDC_CLIENT_ID is set but GATEHOUSE_OIDC_ISSUER is not"},
		"secret without issuer":        {map[string]string{"GATEHOUSE_OIDC_CLIENT_SECRET": "s"}, "GATEHOUSE_OIDC_CLIENT_SECRET is set but GATEHOUSE_OIDC_ISSUER is not"},
		"claim without issuer":         {map[string]string{"GATEHOUSE_OIDC_USER_CLAIM": "email"}, "GATEHOUSE_OIDC_USER_CLAIM is set but"},
		"console URL not a console's":  {map[string]string{"GATEHOUSE_CONSOLE_URL": "https://example.com/api/"}, "GATEHOUSE_CONSOLE_URL must be"},
		"provider name without issuer": {map[string]string{"GATEHOUSE_OIDC_PROVIDER_NAME": "Keycloak"}, "GATEHOUSE_OIDC_PROVIDER_NAME is set but"},
	} {
		if _, err := parseConfig(nil, env(tc.kv), io.Discard); err == nil {
			t.Errorf("%s: accepted", name)
		} else if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %q does not say %q", name, err, tc.want)
		}
	}
}

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
