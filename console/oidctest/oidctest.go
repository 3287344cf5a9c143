// Package oidctest runs a real OpenID Connect provider in the test process
// (zitadel/oidc's example provider, with its plain HTML login form), for
// tests of the console's sign-in (issue 12), over http.Client or in a real
// browser.
//
// The provider's login page is a form with the fields #username and
// #password and one submit button; every user's password is Password.
package oidctest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"
)

// Password is every user's password at the provider.
const Password = "correct-horse-battery"

// ClientID is the console's client at the provider.
const ClientID = "gatehouse-console"

// User is a person the provider knows.
type User struct {
	// Subject is the sub claim: the provider's id of the person.
	Subject string
	// Username is what the login form takes, and the preferred_username claim.
	Username string
	// Email is the email claim.
	Email string
}

// Provider is an OpenID provider served over HTTP in the test process.
type Provider struct {
	// Issuer is the provider's issuer URL: GATEHOUSE_OIDC_ISSUER.
	Issuer string
	// ClientID and ClientSecret are the console's client. It accepts any
	// redirect URI http://127.0.0.1:<port>/console/oidc/callback (or
	// localhost), so a console on any test port may use it.
	ClientID     string
	ClientSecret string
	down         atomic.Bool
}

// MustProvider starts a provider that knows users, stopped when the test
// ends.
func MustProvider(tb testing.TB, users ...User) *Provider {
	tb.Helper()
	srv := httptest.NewUnstartedServer(nil)
	issuer := "http://" + srv.Listener.Addr().String()
	secret := make([]byte, 16)
	_, _ = rand.Read(secret)
	p := &Provider{Issuer: issuer, ClientID: ClientID, ClientSecret: hex.EncodeToString(secret)}
	known := userStore{}
	for _, u := range users {
		known[u.Subject] = &storage.User{
			ID: u.Subject, Username: u.Username, Password: Password, Email: u.Email, EmailVerified: true,
			FirstName: u.Username, PreferredLanguage: language.English,
		}
	}
	clients := map[string]*storage.Client{ClientID: storage.WebClient(ClientID, p.ClientSecret)}
	st := anyLocalCallback{storage.NewStorageWithClients(known, clients)}
	// A nil logger keeps the example from replacing the process's default one.
	provider := exampleop.SetupServer(issuer, st, nil, false)
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.down.Load() {
			http.Error(w, "down for the test", http.StatusServiceUnavailable)
			return
		}
		provider.ServeHTTP(w, r)
	})
	srv.Start()
	tb.Cleanup(srv.Close)
	return p
}

// SetDown makes the provider answer every request 503 (down) or serve again.
func (p *Provider) SetDown(down bool) { p.down.Store(down) }

// LogInRequest returns the submission of the provider's login form as
// username, for the login page at loginURL (where the provider sent the
// browser): send it with the browser's client, which then follows the
// redirects back to the console's callback.
func (p *Provider) LogInRequest(tb testing.TB, loginURL, username string) *http.Request {
	tb.Helper()
	u, err := url.Parse(loginURL)
	if err != nil {
		tb.Fatalf("login page URL %q: %v", loginURL, err)
	}
	id := u.Query().Get("authRequestID")
	if id == "" || !strings.HasPrefix(loginURL, p.Issuer+"/login/") {
		tb.Fatalf("%q is not the provider's login page", loginURL)
	}
	form := url.Values{"id": {id}, "username": {username}, "password": {Password}}
	req, err := http.NewRequestWithContext(tb.Context(), http.MethodPost, p.Issuer+"/login/username", strings.NewReader(form.Encode()))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}

// CancelRequest returns the browser's way back from the login page at
// loginURL without logging in: the provider then sends it to the console's
// callback with error=interaction_required, as a provider does when a
// person cancels or is refused.
func (p *Provider) CancelRequest(tb testing.TB, loginURL string) *http.Request {
	tb.Helper()
	u, err := url.Parse(loginURL)
	if err != nil || u.Query().Get("authRequestID") == "" {
		tb.Fatalf("%q is not the provider's login page", loginURL)
	}
	req, err := http.NewRequestWithContext(tb.Context(), http.MethodGet, p.Issuer+"/auth/callback?id="+url.QueryEscape(u.Query().Get("authRequestID")), nil)
	if err != nil {
		tb.Fatal(err)
	}
	return req
}

// userStore is the provider's users by subject.
type userStore map[string]*storage.User

func (s userStore) GetUserByID(id string) *storage.User { return s[id] }

func (s userStore) GetUserByUsername(name string) *storage.User {
	for _, u := range s {
		if u.Username == name {
			return u
		}
	}
	return nil
}

// ExampleClientID names the example's service user, which the console's
// tests do not use.
func (s userStore) ExampleClientID() string { return storage.ServiceUserID }

// anyLocalCallback is the example storage whose clients accept the
// console's callback on any local port.
type anyLocalCallback struct{ *storage.Storage }

// GetClientByClientID implements op.Storage.
func (s anyLocalCallback) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.Storage.GetClientByClientID(ctx, id)
	if err != nil {
		return nil, err
	}
	return localCallbackClient{c}, nil
}

// localCallbackClient is a client with the console's callback on any local port.
type localCallbackClient struct{ op.Client }

// RedirectURIGlobs implements op.HasRedirectGlobs.
func (localCallbackClient) RedirectURIGlobs() []string {
	return []string{"http://127.0.0.1:*/console/oidc/callback", "http://localhost:*/console/oidc/callback"}
}

// PostLogoutRedirectURIGlobs implements op.HasRedirectGlobs.
func (localCallbackClient) PostLogoutRedirectURIGlobs() []string { return nil }
