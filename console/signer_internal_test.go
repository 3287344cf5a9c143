package console

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestSigner (issue 22 item 1: one signed-cookie implementation): what the
// signer signs opens under its key and purpose only; a changed payload or
// signature, another key, another purpose or a malformed value opens as
// nothing and leaves the target as it was; the session and flow cookies
// are that one signing, in the format cookies issued before it used, so a
// signed-in person stays signed in across the change.
func TestSigner(t *testing.T) {
	k := signer{key: []byte(strings.Repeat("k", 32))}
	type payload struct {
		A string `json:"a"`
	}
	v := k.sign("one", payload{"x"})

	t.Run("round_trip", func(t *testing.T) {
		var got payload
		if !k.open("one", v, &got) || got.A != "x" {
			t.Fatalf("open(sign(x)) = %+v", got)
		}
	})

	p, sig, _ := strings.Cut(v, ".")
	forged, _ := json.Marshal(payload{"y"})
	for name, bad := range map[string]struct{ key, purpose, value string }{
		"another purpose":   {"k", "two", v},
		"another key":       {"j", "one", v},
		"payload changed":   {"k", "one", base64.RawURLEncoding.EncodeToString(forged) + "." + sig},
		"signature changed": {"k", "one", p + "." + sig[:len(sig)-2] + "AA"},
		"no signature":      {"k", "one", p},
		"empty signature":   {"k", "one", p + "."},
		"signature not b64": {"k", "one", p + ".!!"},
		"empty":             {"k", "one", ""},
	} {
		t.Run("refuses_"+strings.ReplaceAll(name, " ", "_"), func(t *testing.T) {
			other := signer{key: []byte(strings.Repeat(bad.key, 32))}
			got := payload{"kept"}
			if other.open(bad.purpose, bad.value, &got) || got.A != "kept" {
				t.Errorf("opened %q as %+v", bad.value, got)
			}
		})
	}

	t.Run("tags_match_their_parts_only", func(t *testing.T) {
		tag := k.tag("csrf", "nonce")
		if !k.matches(tag, "csrf", "nonce") {
			t.Fatal("a tag does not match its own parts")
		}
		// The zero byte after each part keeps ("ab","c") apart from ("a","bc").
		if k.matches(k.tag("done", "ab", "c"), "done", "a", "bc") || k.matches(tag, "done", "nonce") || k.matches("", "csrf", "nonce") {
			t.Error("a tag matches other parts or another purpose")
		}
	})

	t.Run("session_and_flow_are_apart_and_unchanged", func(t *testing.T) {
		now := time.Unix(1_800_000_000, 0)
		s := newSession("olivia", now)
		cookie := k.seal(s)
		if got, ok := k.openSession(cookie, now); !ok || got != s {
			t.Fatalf("the session does not open: %+v %v", got, ok)
		}
		if _, ok := k.openSession(cookie, now.Add(sessionTTL)); ok {
			t.Error("an expired session opens")
		}
		if _, ok := k.openFlow(cookie, now); ok {
			t.Error("a session cookie opens as a flow cookie")
		}
		f := flow{State: "s", Nonce: "n", Verifier: "v", Expires: now.Add(flowTTL).Unix()}
		if _, ok := k.openSession(k.sealFlow(f), now); ok {
			t.Error("a flow cookie opens as a session")
		}
		// The format before the signer: base64url JSON, ".", base64url of
		// HMAC-SHA256 over "session\x00<payload>\x00".
		b, _ := json.Marshal(s)
		old := base64.RawURLEncoding.EncodeToString(b)
		m := hmac.New(sha256.New, k.key)
		m.Write([]byte("session\x00" + old + "\x00"))
		if want := old + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil)); cookie != want {
			t.Errorf("the session cookie's format changed:\n got  %s\n want %s", cookie, want)
		}
	})
}
