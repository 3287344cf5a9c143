package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
)

// keyNamePattern is what api.md allows as the name in a `name=secret` entry.
var keyNamePattern = regexp.MustCompile(`^[a-z0-9_-]{1,32}$`)

// KeyName splits one entry of GATEHOUSE_API_KEYS (or of the check and
// platform lists) into its name and its secret. An entry `name=secret`
// whose name matches [a-z0-9_-]{1,32} is a named key; any other entry is
// all secret, and its name is `key-` and the first 8 hex digits of the
// secret's SHA-256, so that logs and the audit trail can tell keys apart
// without ever showing one.
func KeyName(entry string) (name, secret string) {
	if n, s, ok := strings.Cut(entry, "="); ok && keyNamePattern.MatchString(n) {
		return n, s
	}
	h := sha256.Sum256([]byte(entry))
	return "key-" + hex.EncodeToString(h[:4]), entry
}

// CheckKeys returns an error that names the first problem with the key
// lists: an empty secret, or a name or secret given twice (the audit trail
// could not tell such keys apart). It never names a secret.
func CheckKeys(full, check, platform []string) error {
	names := map[string]string{}
	secrets := map[[32]byte]string{}
	for _, l := range []struct {
		setting string
		entries []string
	}{{"GATEHOUSE_API_KEYS", full}, {"GATEHOUSE_CHECK_KEYS", check}, {"GATEHOUSE_PLATFORM_KEYS", platform}} {
		for _, e := range l.entries {
			name, secret := KeyName(e)
			if secret == "" {
				return fmt.Errorf("%s: key %q has an empty secret; write name=secret", l.setting, name)
			}
			if prev, ok := names[name]; ok {
				return fmt.Errorf("%s: the key name %q is given twice (also in %s); give each key its own name", l.setting, name, prev)
			}
			names[name] = l.setting
			h := sha256.Sum256([]byte(secret))
			if prev, ok := secrets[h]; ok {
				return fmt.Errorf("%s: key %q has the same secret as a key in %s; give each key its own secret", l.setting, name, prev)
			}
			secrets[h] = l.setting
		}
	}
	return nil
}

type access int

const (
	accessNone access = iota
	accessCheck
	accessFull
)

// key is one accepted bearer key: the hash of its secret, its name and
// what it may do.
type key struct {
	hash     [32]byte
	name     string
	access   access
	platform bool
}

// keyring holds the API keys, compared in constant time.
type keyring struct {
	keys []key
}

func newKeyring(full, check, platform []string) *keyring {
	k := &keyring{}
	add := func(entries []string, a access, platform bool) {
		for _, e := range entries {
			name, secret := KeyName(e)
			if secret == "" {
				continue
			}
			k.keys = append(k.keys, key{hash: sha256.Sum256([]byte(secret)), name: name, access: a, platform: platform})
		}
	}
	add(platform, accessFull, true)
	add(full, accessFull, false)
	add(check, accessCheck, false)
	return k
}

// names lists the name of every key, for the per-key rate limiters.
func (k *keyring) names() []string {
	out := make([]string, len(k.keys))
	for i, kk := range k.keys {
		out[i] = kk.name
	}
	return out
}

// match finds the key whose secret is raw. It compares against every key
// without stopping early, so timing reveals neither which key matched nor
// how much of one.
func (k *keyring) match(raw string) (key, bool) {
	h := sha256.Sum256([]byte(raw))
	found := -1
	for i := range k.keys {
		eq := subtle.ConstantTimeCompare(k.keys[i].hash[:], h[:])
		// The first match wins: found is set only while it is still -1.
		unset := subtle.ConstantTimeEq(int32(found), -1) //nolint:gosec // found is an index or -1
		found = subtle.ConstantTimeSelect(eq&unset, i, found)
	}
	if found < 0 {
		return key{}, false
	}
	return k.keys[found], true
}
