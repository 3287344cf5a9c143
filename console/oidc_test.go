package console_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse/console"
	"github.com/gatehouse-authz/gatehouse/console/oidctest"
)

// The provider's people: mia and fiona of the demo data (globex), fiona
// known to the provider by an opaque subject, and a person whose subject is
// not a valid user id.
var oidcUsers = []oidctest.User{
	{Subject: "mia", Username: "mia", Email: "mia@globex.example"},
	{Subject: "u-8412", Username: "fiona", Email: "fiona@globex.example"},
	{Subject: "mallory@idp.example", Username: "mallory", Email: "mallory@idp.example"},
}

// withOIDC offers sign-in with p, the user id read from claim ("" for sub).
func withOIDC(p *oidctest.Provider, claim string) gateOption {
	return func(cfg *console.Config, base string) {
		cfg.OIDC = console.OIDC{
			Issuer: p.Issuer, ClientID: p.ClientID, ClientSecret: p.ClientSecret,
			RedirectURL: base + console.OIDCCallbackPath, UserClaim: claim, Name: "Test ID",
		}
	}
}

// withoutDevLogin turns the development sign-in off.
func withoutDevLogin(cfg *console.Config, _ string) { cfg.DevLogin, cfg.DevUsers = false, nil }

var startRE = regexp.MustCompile(`<a href="([^"]*)">Sign in with Test ID</a>`)

// toProvider follows the sign-in page's "Sign in with Test ID" link, the
// page having been asked for on the way to next (none when ""), and
// returns the provider's login page URL it lands on.
func (b *browser) toProvider(next string) string {
	b.g.t.Helper()
	login := "/console/login"
	if next != "" {
		login += "?next=" + url.QueryEscape(next)
	}
	m := startRE.FindStringSubmatch(b.get(login).Body)
	if m == nil {
		b.g.t.Fatalf("the sign-in page offers no sign-in with the provider:\n%s", b.last.Body)
	}
	return b.startAt(html.UnescapeString(m[1]))
}

// startAt opens the console's start path (/console/oidc/start?...) and
// returns the provider's login page URL it leads to.
func (b *browser) startAt(start string) string {
	b.g.t.Helper()
	req, err := http.NewRequestWithContext(b.g.t.Context(), http.MethodGet, b.g.URL+start, nil)
	if err != nil {
		b.g.t.Fatal(err)
	}
	resp, err := b.hc.Do(req)
	if err != nil {
		b.g.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Query().Get("authRequestID") == "" {
		b.g.t.Fatalf("%s led to %d at %s, not the provider's login page", start, resp.StatusCode, resp.Request.URL)
	}
	return resp.Request.URL.String()
}

// untilCallback sends req at the provider and stops where the provider
// sends the browser to the console's callback; it returns that callback's
// path and query.
func (b *browser) untilCallback(req *http.Request) string {
	b.g.t.Helper()
	b.hc.CheckRedirect = func(r *http.Request, _ []*http.Request) error {
		if r.URL.Path == console.OIDCCallbackPath {
			return http.ErrUseLastResponse
		}
		return nil
	}
	defer func() { b.hc.CheckRedirect = nil }()
	resp, err := b.hc.Do(req)
	if err != nil {
		b.g.t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, b.g.URL+console.OIDCCallbackPath+"?") {
		b.g.t.Fatalf("the provider answered %d to %q, not with the console's callback", resp.StatusCode, loc)
	}
	return strings.TrimPrefix(loc, b.g.URL)
}

// flowCookie returns the browser's sign-in-in-progress cookie.
func (b *browser) flowCookie() *http.Cookie {
	u, _ := url.Parse(b.g.URL + console.OIDCCallbackPath)
	for _, c := range b.hc.Jar.Cookies(u) {
		if c.Name == "gatehouse_oidc" {
			return c
		}
	}
	return nil
}

// signedOut fails the test if b has a session.
func (b *browser) signedOut(t *testing.T) {
	t.Helper()
	if p := b.get("/console/"); p.URL != "/console/login" {
		t.Errorf("after the refusal the browser has a session: /console/ answered at %s", p.URL)
	}
}

// TestOIDCSignIn proves issue 12's sign-in with OpenID Connect, against a
// real provider in the test process: the person signs in at the provider
// and acts as user:<sub>, back where they were going; a wrong state, the
// provider's refusal, a replayed callback and a subject that is no user id
// are refused with a page and no session; after sign-in the browser only
// ever goes to a console path.
func TestOIDCSignIn(t *testing.T) {
	p := oidctest.MustProvider(t, oidcUsers...)
	g := mustGate(t, withOIDC(p, ""))

	t.Run("issue12_signs_in_as_user_sub_where_they_were_going", func(t *testing.T) {
		b := g.browser()
		pg := b.get("/console/organisations/globex?done=granted")
		if pg.URL != "/console/login" {
			t.Fatalf("anonymous members page answered at %s", pg.URL)
		}
		// Both sign-ins are offered when both are configured.
		shows(t, pg, "Sign in with Test ID", "Sign in as mia")
		pg = b.do(p.LogInRequest(t, b.toProvider("/console/organisations/globex?done=granted"), "mia"))
		if pg.Status != http.StatusOK || pg.URL != "/console/organisations/globex" {
			t.Fatalf("after sign-in: %d at %s\n%s", pg.Status, pg.URL, pg.Body)
		}
		shows(t, pg, "Signed in as user:mia", "The role was granted.")
		if b.flowCookie() != nil {
			t.Error("the sign-in's flow cookie outlived the sign-in")
		}
		pg = b.get("/console/")
		shows(t, pg, "Globex Corporation")
		lacks(t, pg, "Acme Ltd", "BrightCIS Builders")
	})

	t.Run("issue12_flow_cookie_is_short_lived_httponly_lax", func(t *testing.T) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, g.URL+"/console/oidc/start", nil)
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		to, _ := url.Parse(resp.Header.Get("Location"))
		q := to.Query()
		if !strings.HasPrefix(to.String(), p.Issuer) || q.Get("state") == "" || q.Get("nonce") == "" || q.Get("code_challenge_method") != "S256" {
			t.Errorf("start sent the browser to %s: want the provider with state, nonce and an S256 PKCE challenge", to)
		}
		var ck *http.Cookie
		for _, c := range resp.Cookies() {
			if c.Name == "gatehouse_oidc" {
				ck = c
			}
		}
		if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/console/oidc/" || ck.MaxAge <= 0 || ck.MaxAge > 600 {
			t.Errorf("flow cookie %+v: want HttpOnly, SameSite=Lax, Path=/console/oidc/, Max-Age at most 10 minutes", ck)
		}
	})

	t.Run("issue12_wrong_state_refused", func(t *testing.T) {
		b := g.browser()
		cb := b.untilCallback(p.LogInRequest(t, b.toProvider(""), "mia"))
		u, _ := url.Parse(cb)
		q := u.Query()
		q.Set("state", "forged-"+q.Get("state"))
		pg := b.get(u.Path + "?" + q.Encode())
		if pg.Status != http.StatusBadRequest {
			t.Errorf("wrong state: %d, want 400", pg.Status)
		}
		shows(t, pg, "Sign-in refused", "does not carry the state this browser's sign-in started with")
		lacks(t, pg, "Signed in as")
		b.signedOut(t)
	})

	t.Run("issue12_provider_error_refused", func(t *testing.T) {
		b := g.browser()
		pg := b.do(p.CancelRequest(t, b.toProvider("")))
		if pg.Status != http.StatusForbidden || pg.URL != console.OIDCCallbackPath {
			t.Errorf("provider error: %d at %s, want 403 at the callback", pg.Status, pg.URL)
		}
		shows(t, pg, "Sign-in refused", "The sign-in provider refused: interaction_required")
		b.signedOut(t)
	})

	t.Run("issue12_replayed_callback_refused", func(t *testing.T) {
		b := g.browser()
		cb := b.untilCallback(p.LogInRequest(t, b.toProvider(""), "mia"))
		flowCk := b.flowCookie()
		if pg := b.get(cb); pg.URL != "/console/" || !pg.contains("Signed in as user:mia") {
			t.Fatalf("the first use of the callback: %d at %s", pg.Status, pg.URL)
		}
		// The same browser again: its flow cookie is spent.
		pg := b.get(cb)
		if pg.Status != http.StatusBadRequest || !pg.contains("already used") {
			t.Errorf("replay in the same browser: %d\n%s", pg.Status, pg.Body)
		}
		// Another browser, with the URL only (a leaked link).
		other := g.browser()
		if pg = other.get(cb); pg.Status != http.StatusBadRequest {
			t.Errorf("replay in another browser: %d", pg.Status)
		}
		other.signedOut(t)
		// Another browser with the URL and the spent flow cookie: the
		// provider takes a code once.
		u, _ := url.Parse(g.URL + console.OIDCCallbackPath)
		other.hc.Jar.SetCookies(u, []*http.Cookie{{Name: flowCk.Name, Value: flowCk.Value, Path: "/console/oidc/"}})
		if pg = other.get(cb); pg.Status != http.StatusForbidden || !pg.contains("did not accept this sign-in's code") {
			t.Errorf("replay with the flow cookie: %d\n%s", pg.Status, pg.Body)
		}
		other.signedOut(t)
	})

	t.Run("issue12_open_redirect_goes_to_console_home", func(t *testing.T) {
		for _, next := range []string{
			"https://evil.example/console/", "//evil.example/console/", "/\\evil.example/", "/console/\\evil.example",
			"/console/../../evil", "/console/%2e%2e/evil", "javascript:alert(1)", "/console/\r\nSet-Cookie: x=y", "console/",
		} {
			b := g.browser()
			pg := b.do(p.LogInRequest(t, b.startAt("/console/oidc/start?next="+url.QueryEscape(next)), "mia"))
			if pg.URL != "/console/" || !pg.contains("Signed in as user:mia") {
				t.Errorf("next=%q: signed in and sent to %s (%d), want /console/", next, pg.URL, pg.Status)
			}
		}
	})

	t.Run("issue12_subject_not_a_user_id_refused", func(t *testing.T) {
		b := g.browser()
		pg := b.do(p.LogInRequest(t, b.toProvider(""), "mallory"))
		if pg.Status != http.StatusForbidden {
			t.Errorf("subject mallory@idp.example: %d, want 403", pg.Status)
		}
		shows(t, pg, "Sign-in refused", `Your sub at the sign-in provider is "mallory@idp.example", which is not a valid Gatehouse user id`, "GATEHOUSE_OIDC_USER_CLAIM")
		b.signedOut(t)
	})
}

// TestOIDCUserClaim proves issue 12's choice of claim: with
// preferred_username the person with the opaque subject u-8412 acts as
// user:fiona (the claim read from the provider's user info, since its ID
// token carries only sub); with email every address is refused, an email
// not being a valid user id; a claim the provider does not give is
// refused, naming it. With the development sign-in off, the sign-in
// page offers the provider alone.
func TestOIDCUserClaim(t *testing.T) {
	p := oidctest.MustProvider(t, oidcUsers...)

	g := mustGate(t, withOIDC(p, "preferred_username"), withoutDevLogin)
	b := g.browser()
	pg := b.get("/console/login")
	shows(t, pg, "Sign in with Test ID")
	lacks(t, pg, "Sign in as mia", "No sign-in method is configured")
	pg = b.do(p.LogInRequest(t, b.toProvider(""), "fiona"))
	if pg.URL != "/console/" {
		t.Fatalf("fiona by preferred_username: %d at %s\n%s", pg.Status, pg.URL, pg.Body)
	}
	shows(t, pg, "Signed in as user:fiona", "Globex Corporation")

	g = mustGate(t, withOIDC(p, "email"), withoutDevLogin)
	b = g.browser()
	pg = b.do(p.LogInRequest(t, b.toProvider(""), "mia"))
	if pg.Status != http.StatusForbidden {
		t.Errorf("mia by email: %d, want 403", pg.Status)
	}
	shows(t, pg, `Your email at the sign-in provider is "mia@globex.example", which is not a valid Gatehouse user id`)
	b.signedOut(t)

	// A claim the provider does not give.
	g = mustGate(t, withOIDC(p, "nickname"), withoutDevLogin)
	b = g.browser()
	pg = b.do(p.LogInRequest(t, b.toProvider(""), "mia"))
	if pg.Status != http.StatusForbidden {
		t.Errorf("mia by nickname: %d, want 403", pg.Status)
	}
	shows(t, pg, "The console could not read your nickname claim: neither the provider's ID token nor its user info carries it")
	b.signedOut(t)
}

// TestOIDCWrongSecret proves that issue 12's sign-in starts no session when
// the provider does not hand over a token: here it refuses the console's
// client secret at the code exchange.
func TestOIDCWrongSecret(t *testing.T) {
	p := oidctest.MustProvider(t, oidcUsers...)
	g := mustGate(t, withOIDC(p, ""), func(cfg *console.Config, _ string) { cfg.OIDC.ClientSecret = "not-the-secret" })
	b := g.browser()
	pg := b.do(p.LogInRequest(t, b.toProvider(""), "mia"))
	if pg.Status != http.StatusForbidden {
		t.Errorf("wrong client secret: %d, want 403", pg.Status)
	}
	shows(t, pg, "Sign-in refused", "the console's client secret is wrong")
	b.signedOut(t)
}

// TestOIDCProviderDown proves that issue 12's sign-in finds the provider
// lazily: a provider that is down when the console starts stops nothing;
// sign-in then says it is not answering (503, no session), and works as
// soon as it answers again.
func TestOIDCProviderDown(t *testing.T) {
	p := oidctest.MustProvider(t, oidcUsers...)
	p.SetDown(true)
	g := mustGate(t, withOIDC(p, ""))
	b := g.browser()
	b.get("/console/login")
	pg := b.get("/console/oidc/start")
	if pg.Status != http.StatusServiceUnavailable || !pg.contains("The sign-in provider (Test ID) is not answering") {
		t.Errorf("provider down: %d\n%s", pg.Status, pg.Body)
	}
	b.signedOut(t)
	p.SetDown(false)
	if pg = b.do(p.LogInRequest(t, b.toProvider(""), "mia")); !pg.contains("Signed in as user:mia") {
		t.Errorf("provider back: %d at %s", pg.Status, pg.URL)
	}
}

// TestOIDCNotConfigured: without a provider the console's OpenID paths
// say so, and the sign-in page offers only the development sign-in.
func TestOIDCNotConfigured(t *testing.T) {
	g := mustGate(t)
	b := g.browser()
	lacks(t, b.get("/console/login"), "Sign in with")
	for _, path := range []string{"/console/oidc/start", console.OIDCCallbackPath + "?code=x&state=y"} {
		if pg := b.get(path); pg.Status != http.StatusNotFound || !pg.contains("not configured") {
			t.Errorf("%s without a provider: %d", path, pg.Status)
		}
	}
}
