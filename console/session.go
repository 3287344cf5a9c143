package console

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
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

// sessionPurpose is what the session cookie is signed for (signer).
const sessionPurpose = "session"

// seal returns the cookie value of s, signed.
func (k signer) seal(s session) string { return k.sign(sessionPurpose, s) }

// openSession verifies a cookie value and returns its session; false for
// anything unsigned, forged, malformed or expired.
func (k signer) openSession(v string, now time.Time) (session, bool) {
	var s session
	if !k.open(sessionPurpose, v, &s) || s.Nonce == "" || now.Unix() >= s.Expires {
		return session{}, false
	}
	return s, true
}

// csrf returns the CSRF token of s: a MAC of its nonce, so it needs no
// storage and is valid for this session only.
func (k signer) csrf(s session) string { return k.tag("csrf", s.Nonce) }

// validCSRF reports whether token is the CSRF token of s.
func (k signer) validCSRF(s session, token string) bool { return k.matches(token, "csrf", s.Nonce) }

// newSession returns a fresh session for user ("" before sign-in).
func newSession(user string, now time.Time) session {
	n := make([]byte, 16)
	_, _ = rand.Read(n)
	return session{User: user, Nonce: hex.EncodeToString(n), Expires: now.Add(sessionTTL).Unix()}
}

// setCookie writes s as the session cookie: HttpOnly, SameSite=Lax, Secure
// when the request came over TLS or secure says so (the public URL is
// https), scoped to the console.
func (k signer) setCookie(w http.ResponseWriter, r *http.Request, s session, secure bool) {
	// Not Secure on plain HTTP otherwise: `make run` serves plain HTTP on
	// loopback, where a Secure cookie would never come back.
	http.SetCookie(w, &http.Cookie{ //nolint:gosec // Secure whenever the request came over TLS or the public URL is https
		Name: cookieName, Value: k.seal(s), Path: basePath,
		Expires: time.Unix(s.Expires, 0), HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: secure || r.TLS != nil,
	})
}
