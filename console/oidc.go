package console

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehouse-authz/gatehouse"
)

// OIDCCallbackPath is where the OpenID provider sends the browser back
// after sign-in: the redirect URI to register at the provider is the
// console's public origin followed by this path.
const OIDCCallbackPath = basePath + "/oidc/callback"

// OIDC configures sign-in with an OpenID Connect provider (issue 12): a
// person signs in at the provider and acts as user:<claim>. Sign-in with a
// provider is offered only when Issuer is set.
type OIDC struct {
	// Issuer is the provider's issuer URL, exactly as its discovery
	// document (<Issuer>/.well-known/openid-configuration) states it.
	Issuer string
	// ClientID and ClientSecret are the console's client at the provider.
	ClientID     string
	ClientSecret string
	// RedirectURL is the console's callback as registered at the provider:
	// its public origin followed by OIDCCallbackPath.
	RedirectURL string
	// UserClaim names the claim of the ID token (or, when the token lacks
	// it, of the user info) whose value is the person's user id; "sub"
	// when empty.
	UserClaim string
	// Name is the provider's name on the sign-in page ("Sign in with
	// <Name>"); the issuer's host when empty.
	Name string
}

// flowCookie holds one sign-in in progress: its state, nonce and PKCE
// verifier, signed, for flowTTL.
const flowCookie = "gatehouse_oidc"

// flowTTL is how long a person may take at the provider.
const flowTTL = 10 * time.Minute

// providerTimeout bounds each call to the provider: discovery, key set,
// token exchange, user info.
const providerTimeout = 10 * time.Second

// scopeOfClaim is the standard scope that asks for a claim (OpenID Connect
// Core 5.4); a claim not listed needs no scope beyond openid, or comes from
// a mapper configured at the provider.
var scopeOfClaim = map[string]string{
	"email": "email", "email_verified": "email",
	"name": "profile", "family_name": "profile", "given_name": "profile", "middle_name": "profile",
	"nickname": "profile", "preferred_username": "profile", "profile": "profile",
	"phone_number": "phone",
}

// oidcSignIn is the console's OpenID relying party.
type oidcSignIn struct {
	cfg OIDC
	hc  *http.Client
	// provider is the discovered provider: nil until the first sign-in
	// finds it, so a provider that is down at start stops nothing, and a
	// failed discovery is tried again at the next sign-in.
	provider atomic.Pointer[oidc.Provider]
}

// newOIDCSignIn checks cfg; nil when no provider is configured.
func newOIDCSignIn(cfg OIDC) (*oidcSignIn, error) {
	if cfg.Issuer == "" {
		return nil, nil
	}
	iss, err := url.Parse(cfg.Issuer)
	if err != nil || (iss.Scheme != "https" && iss.Scheme != "http") || iss.Host == "" {
		return nil, fmt.Errorf("console: the OpenID issuer %q is not an http(s) URL", cfg.Issuer)
	}
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, errors.New("console: OpenID Connect needs the client id and secret")
	}
	if u, err := url.Parse(cfg.RedirectURL); err != nil || u.Host == "" || u.Path != OIDCCallbackPath {
		return nil, fmt.Errorf("console: the OpenID redirect URL %q must be the console's origin followed by %s", cfg.RedirectURL, OIDCCallbackPath)
	}
	if cfg.UserClaim == "" {
		cfg.UserClaim = "sub"
	}
	if cfg.Name == "" {
		cfg.Name = iss.Host
	}
	return &oidcSignIn{cfg: cfg, hc: &http.Client{Timeout: providerTimeout}}, nil
}

// discover returns the provider, reading its discovery document the first
// time it is needed.
func (o *oidcSignIn) discover(ctx context.Context) (*oidc.Provider, error) {
	if p := o.provider.Load(); p != nil {
		return p, nil
	}
	// The provider keeps this context's client (not its deadline) for
	// fetching its keys later.
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, o.hc), o.cfg.Issuer)
	if err != nil {
		return nil, err
	}
	o.provider.CompareAndSwap(nil, p)
	return o.provider.Load(), nil
}

// oauth returns the OAuth 2 client of the console at p.
func (o *oidcSignIn) oauth(p *oidc.Provider) *oauth2.Config {
	scopes := []string{oidc.ScopeOpenID}
	if s, ok := scopeOfClaim[o.cfg.UserClaim]; ok {
		scopes = append(scopes, s)
	}
	return &oauth2.Config{
		ClientID: o.cfg.ClientID, ClientSecret: o.cfg.ClientSecret, RedirectURL: o.cfg.RedirectURL,
		Endpoint: p.Endpoint(), Scopes: scopes,
	}
}

// oidcLink is the sign-in page's offer of the provider.
type oidcLink struct {
	Name  string
	Start string
}

// oidcOffer returns the link that starts sign-in with the provider,
// carrying where the person was going; nil when there is no provider.
func (c *console) oidcOffer(r *http.Request) *oidcLink {
	if c.oidc == nil {
		return nil
	}
	start := basePath + "/oidc/start"
	if next := localConsolePath(r.URL.Query().Get("next")); next != basePath+"/" {
		start += "?next=" + url.QueryEscape(next)
	}
	return &oidcLink{Name: c.oidc.cfg.Name, Start: start}
}

// loginPath is the sign-in page for a request that needs a session: it
// remembers where the person was going, unless that is the console's home.
func loginPath(r *http.Request) string {
	next := r.URL.RequestURI()
	if r.Method != http.MethodGet || localConsolePath(next) != next || next == basePath+"/" {
		return basePath + "/login"
	}
	return basePath + "/login?next=" + url.QueryEscape(next)
}

// localConsolePath returns next when it is a path of the console on this
// origin, and the console's home otherwise: after sign-in the browser goes
// only there, never to another site (no open redirect).
func localConsolePath(next string) string {
	const home = basePath + "/"
	// A backslash is a slash to browsers ("/\evil.example"); control
	// characters could split the Location header.
	if !strings.HasPrefix(next, home) || len(next) > 2048 ||
		strings.ContainsFunc(next, func(r rune) bool { return r == '\\' || r < 0x20 || r == 0x7f }) {
		return home
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return home
	}
	if slices.ContainsFunc(strings.Split(u.Path, "/"), func(seg string) bool { return seg == "." || seg == ".." }) {
		return home
	}
	return next
}

// flow is one sign-in in progress, as the flow cookie holds it.
type flow struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Next     string `json:"r"`
	Expires  int64  `json:"e"`
}

// flowPurpose is what the flow cookie is signed for (signer), so a
// session cookie never passes for a flow cookie or the other way round.
const flowPurpose = "oidc-flow"

// sealFlow returns the flow cookie's value, signed.
func (k signer) sealFlow(f flow) string { return k.sign(flowPurpose, f) }

// openFlow verifies a flow cookie's value; false for anything unsigned,
// forged, malformed or expired.
func (k signer) openFlow(v string, now time.Time) (flow, bool) {
	var f flow
	if !k.open(flowPurpose, v, &f) || f.State == "" || f.Nonce == "" || f.Verifier == "" || now.Unix() >= f.Expires {
		return flow{}, false
	}
	return f, true
}

// setFlowCookie writes (or, with maxAge -1, deletes) the flow cookie:
// HttpOnly, SameSite=Lax so that it comes back with the provider's redirect
// (a top-level GET), only to the callback, Secure when the console's
// public URL is https or the request came over TLS.
func (c *console) setFlowCookie(w http.ResponseWriter, r *http.Request, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{ //nolint:gosec // Secure whenever the callback is https
		Name: flowCookie, Value: value, Path: basePath + "/oidc/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: r.TLS != nil || strings.HasPrefix(c.oidc.cfg.RedirectURL, "https://"),
	})
}

// random returns n random bytes, base64url.
func random(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// handleOIDCStart serves GET /console/oidc/start?next=: it sends the
// browser to the provider with a new state, nonce and PKCE challenge, kept
// in the flow cookie. A GET (a plain link) is safe here: it changes nothing
// but this browser's own flow, and the callback accepts only that flow's
// state, so another site gains nothing by starting one.
func (c *console) handleOIDCStart(w http.ResponseWriter, r *http.Request) {
	if c.oidc == nil {
		c.signInRefused(w, r, http.StatusNotFound, "Sign-in with OpenID Connect is not configured for this console (GATEHOUSE_OIDC_ISSUER).")
		return
	}
	p, err := c.oidc.discover(r.Context())
	if err != nil {
		c.cfg.Log.WarnContext(r.Context(), "console: OpenID provider discovery failed; trying again at the next sign-in", "issuer", c.oidc.cfg.Issuer, "err", err)
		c.signInRefused(w, r, http.StatusServiceUnavailable, "The sign-in provider ("+c.oidc.cfg.Name+") is not answering. Try again in a minute.")
		return
	}
	f := flow{
		State: random(32), Nonce: random(32), Verifier: oauth2.GenerateVerifier(),
		Next: localConsolePath(r.URL.Query().Get("next")), Expires: c.now().Add(flowTTL).Unix(),
	}
	c.setFlowCookie(w, r, c.seal.sealFlow(f), int(flowTTL/time.Second))
	http.Redirect(w, r, c.oidc.oauth(p).AuthCodeURL(f.State, oidc.Nonce(f.Nonce), oauth2.S256ChallengeOption(f.Verifier)), http.StatusSeeOther)
}

// handleOIDCCallback serves GET /console/oidc/callback: the provider's
// answer. The flow cookie is used once; its state must match, the code is
// exchanged with its PKCE verifier, the ID token verified (signature,
// issuer, audience, expiry) and its nonce checked; the user claim must be
// a valid user id. Only then does a new session start, as user:<claim>,
// and the browser goes where it was going. Anything else is a refusal page
// and no session.
func (c *console) handleOIDCCallback(w http.ResponseWriter, r *http.Request) {
	if c.oidc == nil {
		c.signInRefused(w, r, http.StatusNotFound, "Sign-in with OpenID Connect is not configured for this console (GATEHOUSE_OIDC_ISSUER).")
		return
	}
	var f flow
	ok := false
	if ck, err := r.Cookie(flowCookie); err == nil {
		f, ok = c.seal.openFlow(ck.Value, c.now())
	}
	c.setFlowCookie(w, r, "", -1)
	q := r.URL.Query()
	switch {
	case !ok:
		c.signInRefused(w, r, http.StatusBadRequest, "This sign-in is not one this browser started, or it took longer than 10 minutes, or it was already used. Sign in again.")
		return
	case subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(f.State)) != 1:
		c.signInRefused(w, r, http.StatusBadRequest, "The provider's answer does not carry the state this browser's sign-in started with, so it may be forged. Sign in again.")
		return
	case q.Get("error") != "":
		msg := "The sign-in provider refused: " + truncate(q.Get("error"), 64)
		if d := q.Get("error_description"); d != "" {
			msg += " (" + truncate(d, 300) + ")"
		}
		c.signInRefused(w, r, http.StatusForbidden, msg+".")
		return
	case q.Get("code") == "":
		c.signInRefused(w, r, http.StatusBadRequest, "The provider's answer carries no authorization code. Sign in again.")
		return
	}
	id, status, err := c.oidc.signIn(r.Context(), q.Get("code"), f, c.now)
	if err != nil {
		c.cfg.Log.WarnContext(r.Context(), "console: OpenID sign-in refused", "issuer", c.oidc.cfg.Issuer, "err", err)
		c.signInRefused(w, r, status, err.Error())
		return
	}
	c.seal.setCookie(w, r, newSession(id, c.now()), c.cfg.SecureCookies)
	c.cfg.Log.InfoContext(r.Context(), "console: signed in with OpenID Connect", "user", id, "issuer", c.oidc.cfg.Issuer)
	http.Redirect(w, r, localConsolePath(f.Next), http.StatusSeeOther)
}

// signInError is a refusal of the provider's answer, as the person reads it.
type signInError struct{ msg string }

func (e *signInError) Error() string { return e.msg }

// signIn exchanges code, verifies the ID token and returns the user id it
// names, or the status and message of the refusal.
func (o *oidcSignIn) signIn(ctx context.Context, code string, f flow, now func() time.Time) (string, int, error) {
	refused := func(format string, args ...any) (string, int, error) {
		return "", http.StatusForbidden, &signInError{fmt.Sprintf(format, args...)}
	}
	ctx = oidc.ClientContext(ctx, o.hc)
	p, err := o.discover(ctx)
	if err != nil {
		return "", http.StatusServiceUnavailable, &signInError{"The sign-in provider (" + o.cfg.Name + ") is not answering. Try again in a minute."}
	}
	tok, err := o.oauth(p).Exchange(ctx, code, oauth2.VerifierOption(f.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			return refused("The sign-in provider did not accept this sign-in's code (%s): it was used already, has expired, or the console's client secret is wrong. Sign in again.", re.ErrorCode)
		}
		return "", http.StatusBadGateway, &signInError{"The sign-in provider (" + o.cfg.Name + ") could not be reached to finish the sign-in. Try again in a minute."}
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return refused("The sign-in provider answered without an ID token.")
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: o.cfg.ClientID, Now: now}).Verify(ctx, raw)
	if err != nil {
		return refused("The sign-in provider's ID token is not valid: %v.", err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(f.Nonce)) != 1 {
		return refused("The sign-in provider's ID token was not issued for this sign-in (its nonce differs). Sign in again.")
	}
	v, err := o.claim(ctx, p, idt, tok)
	if err != nil {
		return refused("The console could not read your %s claim: %v.", o.cfg.UserClaim, err)
	}
	if !gatehouse.ValidID(v) {
		return refused("Your %s at the sign-in provider is %q, which is not a valid Gatehouse user id (letters, digits and / _ | - = + only), so you cannot act as a user with it. "+
			"Ask the operator to choose another claim (GATEHOUSE_OIDC_USER_CLAIM).", o.cfg.UserClaim, v)
	}
	return v, 0, nil
}

// claim returns the user claim: from the ID token, or, when the token does
// not carry it, from the provider's user info for the same subject.
func (o *oidcSignIn) claim(ctx context.Context, p *oidc.Provider, idt *oidc.IDToken, tok *oauth2.Token) (string, error) {
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return "", err
	}
	v, found := claims[o.cfg.UserClaim]
	if !found && p.UserInfoEndpoint() != "" {
		info, err := p.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			return "", fmt.Errorf("the ID token does not carry it, and the provider's user info could not be read: %w", err)
		}
		// OpenID Connect Core 5.3.2: user info for another subject is not this person's.
		if info.Subject != idt.Subject {
			return "", errors.New("the provider's user info is about another subject than its ID token")
		}
		claims = nil
		if err := info.Claims(&claims); err != nil {
			return "", err
		}
		v, found = claims[o.cfg.UserClaim]
	}
	s, ok := v.(string)
	switch {
	case !found:
		return "", errors.New("neither the provider's ID token nor its user info carries it; ask the operator to have the provider add it, or to choose another claim (GATEHOUSE_OIDC_USER_CLAIM)")
	case !ok:
		return "", errors.New("it is not a string")
	}
	return s, nil
}

// truncate shortens s, the provider's words, to at most n bytes of whole runes.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := 0
	for i := range s {
		if i > n-len("…") {
			break
		}
		cut = i
	}
	return s[:cut] + "…"
}

// signInRefused renders a refused sign-in: the reason and a way back to
// the sign-in page. No session starts.
func (c *console) signInRefused(w http.ResponseWriter, r *http.Request, status int, msg string) {
	c.render(w, r, status, "signin_refused", view{Title: "Sign-in refused", Err: &shownError{Status: status, Message: msg}})
}
