package console

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// cookieName is the console's one cookie: the signed session.
const cookieName = "gatehouse_console"

// sessionTTL is how long a session lasts after sign-in.
const sessionTTL = 12 * time.Hour

// session is what the signed cookie holds. User is empty before sign-in;
// Nonce ties the CSRF token to this one session and changes at sign-in and
// sign-out, so a token seen before either is worthless after it.
type session struct {
	User    string `json:"u,omitempty"`
	Nonce   string `json:"n"`
	Expires int64  `json:"e"`
}

// signedIn reports whether s names a user.
func (s session) signedIn() bool { return s.User != "" }

// sealer signs and verifies session cookies with HMAC-SHA256.
type sealer struct{ key []byte }

func (k sealer) mac(parts ...string) []byte {
	m := hmac.New(sha256.New, k.key)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}

// seal returns the cookie value of s: payload "." signature.
func (k sealer) seal(s session) string {
	b, _ := json.Marshal(s)
	p := base64.RawURLEncoding.EncodeToString(b)
	return p + "." + base64.RawURLEncoding.EncodeToString(k.mac("session", p))
}

// open verifies a cookie value and returns its session; false for anything
// unsigned, forged, malformed or expired.
func (k sealer) open(v string, now time.Time) (session, bool) {
	p, sig, ok := strings.Cut(v, ".")
	if !ok {
		return session{}, false
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, k.mac("session", p)) {
		return session{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return session{}, false
	}
	var s session
	if json.Unmarshal(b, &s) != nil || s.Nonce == "" || now.Unix() >= s.Expires {
		return session{}, false
	}
	return s, true
}

// csrf returns the CSRF token of s: a MAC of its nonce, so it needs no
// storage and is valid for this session only.
func (k sealer) csrf(s session) string {
	return base64.RawURLEncoding.EncodeToString(k.mac("csrf", s.Nonce))
}

// validCSRF reports whether token is the CSRF token of s.
func (k sealer) validCSRF(s session, token string) bool {
	got, err := base64.RawURLEncoding.DecodeString(token)
	return err == nil && len(got) > 0 && hmac.Equal(got, k.mac("csrf", s.Nonce))
}

// newSession returns a fresh session for user ("" before sign-in).
func newSession(user string, now time.Time) session {
	n := make([]byte, 16)
	_, _ = rand.Read(n)
	return session{User: user, Nonce: hex.EncodeToString(n), Expires: now.Add(sessionTTL).Unix()}
}

// setCookie writes s as the session cookie: HttpOnly, SameSite=Lax, Secure
// when the request came over TLS or secure says so (the public URL is
// https), scoped to the console.
func (k sealer) setCookie(w http.ResponseWriter, r *http.Request, s session, secure bool) {
	// Not Secure on plain HTTP otherwise: `make run` serves plain HTTP on
	// loopback, where a Secure cookie would never come back.
	http.SetCookie(w, &http.Cookie{ //nolint:gosec // Secure whenever the request came over TLS or the public URL is https
		Name: cookieName, Value: k.seal(s), Path: basePath,
		Expires: time.Unix(s.Expires, 0), HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: secure || r.TLS != nil,
	})
}
