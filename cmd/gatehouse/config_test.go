package main

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"io"
	"strings"
	"testing"
	"time"
)

// TestParseConfig covers the settings table of the README and its refusals.
func TestParseConfig(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	c, err := parseConfig(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.addr != "127.0.0.1:8080" || c.spicedb != "embedded" || c.datastore != "memory" || !c.seed || len(c.keys) != 0 {
		t.Errorf("defaults: %+v", c)
	}
	c, err = parseConfig([]string{"--addr", "127.0.0.1:9"}, env(map[string]string{
		"GATEHOUSE_ADDR": "0.0.0.0:1", "GATEHOUSE_API_KEYS": "a, b,,", "GATEHOUSE_CHECK_KEYS": "c",
		"GATEHOUSE_SPICEDB": "spicedb:50051", "GATEHOUSE_SPICEDB_KEY": "k", "GATEHOUSE_SPICEDB_INSECURE": "true",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.addr != "127.0.0.1:9" || strings.Join(c.keys, "|") != "a|b" || c.checkKeys[0] != "c" || !c.spicedbInsecure || c.seed {
		t.Errorf("flags and env: %+v", c)
	}
	for _, target := range []string{"a:50051,b:50051,c:50051", "dns:///spicedb:50051"} {
		c, err := parseConfig(nil, env(map[string]string{"GATEHOUSE_SPICEDB": target, "GATEHOUSE_SPICEDB_KEY": "k"}), io.Discard)
		if err != nil || c.spicedb != target {
			t.Errorf("GATEHOUSE_SPICEDB=%s: %q, %v", target, c.spicedb, err)
		}
	}
	for name, kv := range map[string]map[string]string{
		"remote without key":        {"GATEHOUSE_SPICEDB": "spicedb:50051"},
		"remote list not host:port": {"GATEHOUSE_SPICEDB": "a:1,b", "GATEHOUSE_SPICEDB_KEY": "k"},
		"remote not host:port":      {"GATEHOUSE_SPICEDB": "spicedb", "GATEHOUSE_SPICEDB_KEY": "k"},
		"datastore not postgres":    {"GATEHOUSE_DATASTORE": "mysql://x"},
		"remote with datastore":     {"GATEHOUSE_SPICEDB": "s:1", "GATEHOUSE_SPICEDB_KEY": "k", "GATEHOUSE_DATASTORE": "postgres://x"},
		"seed not a bool":           {"GATEHOUSE_SEED": "maybe"},
		"insecure not a bool":       {"GATEHOUSE_SPICEDB_INSECURE": "yes please"},
	} {
		if _, err := parseConfig(nil, env(kv), io.Discard); err == nil {
			t.Errorf("%s: accepted", name)
		} else if !strings.Contains(err.Error(), "GATEHOUSE_") {
			t.Errorf("%s: %q does not name the setting", name, err)
		}
	}
}

// TestParseConfigTrust covers the key, rate limit, timeout and TLS settings.
func TestParseConfigTrust(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	c, err := parseConfig(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.rateLimit != 0 || c.requestTimeout != 30*time.Second || c.tlsCert != "" || len(c.platformKeys) != 0 {
		t.Errorf("defaults: %+v", c)
	}
	c, err = parseConfig([]string{"--rate-limit", "2.5", "--request-timeout", "5s"}, env(map[string]string{
		"GATEHOUSE_API_KEYS": "backend-1=s1,plain", "GATEHOUSE_PLATFORM_KEYS": "ops=s2",
		"GATEHOUSE_RATE_LIMIT": "100", "GATEHOUSE_TLS_CERT": "c.pem", "GATEHOUSE_TLS_KEY": "k.pem",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.rateLimit != 2.5 || c.rateBurst != 3 || c.requestTimeout != 5*time.Second || c.platformKeys[0] != "ops=s2" || c.tlsKey != "k.pem" {
		t.Errorf("flags and env: %+v", c)
	}
	if c, err = parseConfig(nil, env(map[string]string{"GATEHOUSE_RATE_LIMIT": "10", "GATEHOUSE_RATE_BURST": "50"}), io.Discard); err != nil || c.rateBurst != 50 {
		t.Errorf("burst: %+v %v", c, err)
	}
	for name, kv := range map[string]map[string]string{
		"cert without key":         {"GATEHOUSE_TLS_CERT": "c.pem"},
		"key without cert":         {"GATEHOUSE_TLS_KEY": "k.pem"},
		"rate not a number":        {"GATEHOUSE_RATE_LIMIT": "fast"},
		"rate negative":            {"GATEHOUSE_RATE_LIMIT": "-1"},
		"burst zero":               {"GATEHOUSE_RATE_LIMIT": "1", "GATEHOUSE_RATE_BURST": "0"},
		"burst without rate":       {"GATEHOUSE_RATE_BURST": "5"},
		"request timeout zero":     {"GATEHOUSE_REQUEST_TIMEOUT": "0s"},
		"request timeout not time": {"GATEHOUSE_REQUEST_TIMEOUT": "soon"},
		"key name twice":           {"GATEHOUSE_API_KEYS": "a=one", "GATEHOUSE_PLATFORM_KEYS": "a=two"},
		"same secret twice":        {"GATEHOUSE_API_KEYS": "a=one", "GATEHOUSE_CHECK_KEYS": "b=one"},
		"empty secret":             {"GATEHOUSE_CHECK_KEYS": "b="},
	} {
		if _, err := parseConfig(nil, env(kv), io.Discard); err == nil {
			t.Errorf("%s: accepted", name)
		} else if !strings.Contains(err.Error(), "GATEHOUSE_") {
			t.Errorf("%s: %q does not name the setting", name, err)
		} else if strings.Contains(err.Error(), "one") {
			t.Errorf("%s: %q shows a secret", name, err)
		}
	}
}

// TestParseConfigConsole covers the console's settings: on with the
// embedded demo data, off elsewhere; the development sign-in refused with
// any other datastore; a short session key refused.
func TestParseConfigConsole(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	c, err := parseConfig(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !c.console || !c.consoleDevLogin || len(c.consoleSessionKey) != 0 {
		t.Errorf("demo defaults: console %v, dev login %v", c.console, c.consoleDevLogin)
	}
	c, err = parseConfig(nil, env(map[string]string{"GATEHOUSE_CONSOLE": "false"}), io.Discard)
	if err != nil || c.console || c.consoleDevLogin {
		t.Errorf("GATEHOUSE_CONSOLE=false: console %v, dev login %v, %v", c.console, c.consoleDevLogin, err)
	}
	c, err = parseConfig(nil, env(map[string]string{"GATEHOUSE_DATASTORE": "postgres://x"}), io.Discard)
	if err != nil || c.console || c.consoleDevLogin {
		t.Errorf("postgres defaults: console %v, dev login %v, %v", c.console, c.consoleDevLogin, err)
	}
	for name, kv := range map[string]map[string]string{
		"dev login on postgres":  {"GATEHOUSE_DATASTORE": "postgres://x", "GATEHOUSE_CONSOLE": "true", "GATEHOUSE_CONSOLE_DEV_LOGIN": "true"},
		"dev login remote":       {"GATEHOUSE_SPICEDB": "s:1", "GATEHOUSE_SPICEDB_KEY": "k", "GATEHOUSE_CONSOLE_DEV_LOGIN": "true"},
		"dev login without seed": {"GATEHOUSE_SEED": "false", "GATEHOUSE_CONSOLE_DEV_LOGIN": "true"},
		"console not a bool":     {"GATEHOUSE_CONSOLE": "sure"},
		"short session key":      {"GATEHOUSE_CONSOLE_SESSION_KEY": "short"},
	} {
		if _, err := parseConfig(nil, env(kv), io.Discard); err == nil {
			t.Errorf("%s: accepted", name)
		} else if !strings.Contains(err.Error(), "GATEHOUSE_CONSOLE") {
			t.Errorf("%s: %q does not name the setting", name, err)
		}
	}
}

// TestParseConfigCursorKey: GATEHOUSE_CURSOR_KEY is 32 bytes or more, in
// hex or base64; unset, the Store generates one. A refusal names the
// setting and never shows the value.
func TestParseConfigCursorKey(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	key := bytes.Repeat([]byte{0xfb}, 32)
	for name, v := range map[string]string{
		"unset":             "",
		"hex":               hex.EncodeToString(key),
		"base64":            base64.StdEncoding.EncodeToString(key),
		"base64url, no pad": base64.RawURLEncoding.EncodeToString(key),
	} {
		c, err := parseConfig(nil, env(map[string]string{"GATEHOUSE_CURSOR_KEY": v}), io.Discard)
		want := key
		if v == "" {
			want = nil
		}
		if err != nil || !bytes.Equal(c.cursorKey, want) {
			t.Errorf("%s: %x, %v; want %x", name, c.cursorKey, err, want)
		}
	}
	for name, v := range map[string]string{
		"hex of 31 bytes":    hex.EncodeToString(key[:31]),
		"base64 of 31 bytes": base64.StdEncoding.EncodeToString(key[:31]),
		"neither":            "secret-cursor-key-secret-cursor-key-secret!",
	} {
		_, err := parseConfig(nil, env(map[string]string{"GATEHOUSE_CURSOR_KEY": v}), io.Discard)
		if err == nil {
			t.Errorf("%s: accepted", name)
		} else if !strings.Contains(err.Error(), "GATEHOUSE_CURSOR_KEY") || strings.Contains(err.Error(), v) {
			t.Errorf("%s: %q does not name the setting, or shows the key", name, err)
		}
	}
}

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
