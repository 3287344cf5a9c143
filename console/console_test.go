package console_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse/console"
)

// TestSignIn covers the development sign-in and the organisations page:
// the page lists the demo users, a signed-in person sees exactly the
// organisations they belong to (LookupResources on organisation#member),
// and sign-out ends the session.
func TestSignIn(t *testing.T) {
	g := mustGate(t)
	b := g.browser()
	p := b.get("/console/")
	if p.URL != "/console/login" || p.Status != http.StatusOK {
		t.Fatalf("anonymous /console/: %d at %s", p.Status, p.URL)
	}
	shows(t, p, "Sign in as mia", "Sign in as pat", "Sign in as stella", "globex: it_manager, main_contact")
	b.signIn("mia")
	p = b.get("/console/")
	shows(t, p, "Globex Corporation")
	lacks(t, p, "Acme Ltd", "BrightCIS Builders")

	p = b.post("/console/logout", nil)
	if p.URL != "/console/login" {
		t.Fatalf("sign-out landed on %s", p.URL)
	}
	if p = b.get("/console/organisations/globex"); p.URL != "/console/login" {
		t.Errorf("after sign-out the members page answered at %s", p.URL)
	}
	// Only the demo data's users may be chosen.
	p = b.post("/console/login", url.Values{"user": {"mallory"}})
	if p.Status != http.StatusForbidden || !p.contains("not one of its users") {
		t.Errorf("sign-in as a stranger: %d\n%s", p.Status, p.Body)
	}
}

// TestCookies refuses a session cookie that is unsigned, forged, or
// signed with another key: the console treats its bearer as signed out.
func TestCookies(t *testing.T) {
	g := mustGate(t)
	pat := g.signedIn("pat")
	real := pat.cookie()
	payload, sig, ok := strings.Cut(real, ".")
	if !ok {
		t.Fatalf("cookie %q is not payload.signature", real)
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		t.Fatal(err)
	}
	forged := base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(raw), `"u":"pat"`, `"u":"grace"`, 1)))
	for name, v := range map[string]string{
		"unsigned":           forged,
		"forged user":        forged + "." + sig,
		"bad signature":      payload + "." + base64.RawURLEncoding.EncodeToString([]byte("nope")),
		"plain user name":    "grace",
		"signature stripped": payload + ".",
	} {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, g.URL+"/console/organisations/globex", nil)
			req.AddCookie(&http.Cookie{Name: "gatehouse_console", Value: v})
			resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/login?next=%2Fconsole%2Forganisations%2Fglobex" {
				t.Errorf("%s cookie: %d to %q, want 303 to the sign-in page, remembering the page", name, resp.StatusCode, resp.Header.Get("Location"))
			}
		})
	}
	// The real cookie is HttpOnly and SameSite=Lax.
	resp, err := http.Get(g.URL + "/console/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	sc := resp.Header.Get("Set-Cookie")
	if !strings.Contains(sc, "HttpOnly") || !strings.Contains(sc, "SameSite=Lax") || !strings.Contains(sc, "Path=/console") {
		t.Errorf("Set-Cookie %q: want HttpOnly, SameSite=Lax, Path=/console", sc)
	}
	// Over plain HTTP it is not Secure (make run: a Secure cookie would
	// never come back) ...
	if strings.Contains(sc, "Secure") {
		t.Errorf("Set-Cookie %q over plain HTTP with no https public URL: want no Secure", sc)
	}
	// ... unless the public URL is https and TLS ends before Gatehouse.
	proxied := mustGate(t, func(cfg *console.Config, _ string) { cfg.SecureCookies = true })
	resp, err = http.Get(proxied.URL + "/console/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if sc := resp.Header.Get("Set-Cookie"); !strings.Contains(sc, "Secure") {
		t.Errorf("Set-Cookie %q behind a TLS-ending proxy: want Secure", sc)
	}
}

// TestCSRF refuses a form without the session's token, or with another
// session's, and changes nothing.
func TestCSRF(t *testing.T) {
	g := mustGate(t)
	grace := g.signedIn("grace")
	grace.get("/console/organisations/globex")
	other := g.signedIn("mia")
	other.get("/console/organisations/globex")
	for name, token := range map[string]string{"missing": "", "another session's": other.last.csrf(), "made up": "AAAA"} {
		p := grace.postRaw("/console/organisations/globex/roles", url.Values{"csrf": {token}, "user": {"pat"}, "role": {"billing_manager"}})
		if p.Status != http.StatusForbidden || !p.contains("security token is missing or stale") {
			t.Errorf("%s token: %d\n%s", name, p.Status, p.Body)
		}
	}
	// Sign-in needs a token too (login CSRF).
	if p := g.browser().postRaw("/console/login", url.Values{"user": {"grace"}}); p.Status != http.StatusForbidden {
		t.Errorf("sign-in without a session or token: %d", p.Status)
	}
	if g.has("organisation:globex#billing_manager@user:pat") {
		t.Error("a refused form changed the team")
	}
	// With the token the same form works.
	grace.get("/console/organisations/globex")
	if p := grace.post("/console/organisations/globex/roles", url.Values{"user": {"pat"}, "role": {"billing_manager"}}); p.Status != http.StatusOK || !p.contains("pat was made billing manager of globex.") {
		t.Fatalf("grant with the token: %d\n%s", p.Status, p.Body)
	}
	if !g.has("organisation:globex#billing_manager@user:pat") {
		t.Error("the grant did not happen")
	}
}

// TestStaticAndUnknown: the stylesheet ships in the binary, /console
// leads to the console, an unknown console page is a 404 page, and every
// page forbids framing and caching.
func TestStaticAndUnknown(t *testing.T) {
	g := mustGate(t)
	b := g.browser()
	p := b.get("/console/static/console.css")
	if p.Status != http.StatusOK || !strings.Contains(p.Body, "@media") {
		t.Errorf("stylesheet: %d", p.Status)
	}
	if p = b.get("/console"); p.URL != "/console/login" {
		t.Errorf("/console landed on %s (%d)", p.URL, p.Status)
	}
	b.signIn("mia")
	if p = b.get("/console/nowhere"); p.Status != http.StatusNotFound || !p.contains("There is no console page") {
		t.Errorf("unknown page: %d", p.Status)
	}
	resp, err := http.Get(g.URL + "/console/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("headers: CSP %q, Cache-Control %q", csp, resp.Header.Get("Cache-Control"))
	}
}

// TestLabelsAlike: the console names a thing one way, in sentence case:
// the organisations page's link to the requests awaiting the reader reads
// "Awaiting me", as the organisation's navigation and the list's filter
// do (C14), and the link beside a contractor or an invoice "Why?", as the
// page it opens is titled.
func TestLabelsAlike(t *testing.T) {
	g := mustGate(t)
	mia := g.signedIn("mia")
	for _, path := range []string{"/console/", "/console/organisations/globex/change-requests"} {
		p := mia.get(path)
		shows(t, p, "Awaiting me")
		lacks(t, p, "awaiting me")
	}
	olivia := g.signedIn("olivia")
	for _, path := range []string{"/console/organisations/brightcis/contractors", "/console/organisations/brightcis/invoices"} {
		p := olivia.get(path)
		shows(t, p, "Why?")
		lacks(t, p, "why?")
	}
}
