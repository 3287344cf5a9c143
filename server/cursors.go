package server

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strings"

	"github.com/gatehouse-authz/gatehouse"
)

// The cursors of the lists the workflow and the audit trail page (the
// audit trail, change requests, exceptions, the access review) name a
// position: the last id, an event's place. The store signs its own (the
// relationships and the lookups name a snapshot; spicedb.WithCursorKey);
// these are signed here with the same key, bound to their list, so that
// every list cursor is opaque and an edited one, one cut short, one from
// another list or from a server with another key is a 400 naming cursor
// (api.md).

// sealCursor signs cursor c ("": the last page) of list.
func sealCursor(key []byte, list, c string) string {
	if c == "" {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte(c)) + "." + base64.RawURLEncoding.EncodeToString(cursorMAC(key, list, c))
}

// openCursor is the cursor sealCursor signed for list ("": none was sent).
func openCursor(key []byte, list, sealed string) (string, error) {
	if sealed == "" {
		return "", nil
	}
	body, mac, ok := strings.Cut(sealed, ".")
	c, err1 := base64.RawURLEncoding.DecodeString(body)
	sum, err2 := base64.RawURLEncoding.DecodeString(mac)
	if !ok || err1 != nil || err2 != nil || !hmac.Equal(sum, cursorMAC(key, list, string(c))) {
		return "", gatehouse.Invalid("cursor", "the cursor is not one this list handed out: pass the cursor of the previous page as it came (an edited cursor, one cut short or one from another list is refused)")
	}
	return string(c), nil
}

func cursorMAC(key []byte, list, c string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(list))
	m.Write([]byte{0})
	m.Write([]byte(c))
	return m.Sum(nil)[:16]
}

// cursorKeyOf is d's cursor key, or one drawn for this process.
func cursorKeyOf(d Deps) []byte {
	if len(d.CursorKey) > 0 {
		return d.CursorKey
	}
	k := make([]byte, 32)
	_, _ = rand.Read(k) // never fails (crypto/rand)
	return k
}
