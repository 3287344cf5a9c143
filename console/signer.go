package console

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
)

// signer is the console's one signing of what it hands the browser and
// trusts back (issue 22 item 1): the session cookie (session.go), the
// OpenID sign-in's flow cookie (oidc.go), the CSRF token and the signed
// success sentence (console.go). Every MAC is HMAC-SHA256 under the
// session key over a purpose and its parts, each followed by a zero byte,
// so that nothing signed for one purpose passes for another (a session
// cookie is no flow cookie, a CSRF token no sentence's signature).
type signer struct{ key []byte }

// mac is the MAC of purpose and parts.
func (k signer) mac(purpose string, parts ...string) []byte {
	m := hmac.New(sha256.New, k.key)
	for _, p := range append([]string{purpose}, parts...) {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}

// tag is mac as text (base64url), for a form field or a query.
func (k signer) tag(purpose string, parts ...string) string {
	return base64.RawURLEncoding.EncodeToString(k.mac(purpose, parts...))
}

// matches reports whether tag is the tag of purpose and parts, in
// constant time.
func (k signer) matches(tag, purpose string, parts ...string) bool {
	got, err := base64.RawURLEncoding.DecodeString(tag)
	return err == nil && len(got) > 0 && hmac.Equal(got, k.mac(purpose, parts...))
}

// sign returns v signed for purpose, as a cookie carries it: its JSON in
// base64url, ".", and the tag of purpose and that payload.
func (k signer) sign(purpose string, v any) string {
	b, _ := json.Marshal(v)
	p := base64.RawURLEncoding.EncodeToString(b)
	return p + "." + k.tag(purpose, p)
}

// open reads into v a value that sign made for purpose; false, leaving v
// as it was, for anything unsigned, forged, signed for another purpose or
// malformed. Whether v is still valid (its expiry) is the caller's.
func (k signer) open(purpose, value string, v any) bool {
	p, sig, ok := strings.Cut(value, ".")
	if !ok || !k.matches(sig, purpose, p) {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(p)
	return err == nil && json.Unmarshal(b, v) == nil
}
