package spicedb_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/schema"
	"github.com/gatehouse-authz/gatehouse/spicedb"
)

// TestCursorsSigned: a list's cursor continues the list on the Store that
// made it and on any Store with the same key (replicas), and nowhere else;
// a cursor with one byte changed, cut short, re-encoded to read at another
// consistency, or made under another key is refused as invalid, naming
// the cursor, before anything in it is read.
func TestCursorsSigned(t *testing.T) {
	emb, err := spicedb.StartEmbedded(t.Context(), spicedb.EmbeddedConfig{Datastore: "memory"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emb.Close() })
	key := bytes.Repeat([]byte("k"), 32)
	s := spicedb.New(emb.Conn, append(emb.Options(), spicedb.WithCursorKey(key))...)
	if err := s.WriteSchema(t.Context(), schema.Text); err != nil {
		t.Fatal(err)
	}
	var w gatehouse.Write
	for _, id := range []string{"c1", "c2", "c3"} {
		r, err := gatehouse.ParseRelationship("rel", "contractor:"+id+"#organisation@organisation:o1")
		if err != nil {
			t.Fatal(err)
		}
		w.Updates = append(w.Updates, gatehouse.Update{Relationship: r})
	}
	if _, err := s.Write(t.Context(), w); err != nil {
		t.Fatal(err)
	}
	page := func(s *spicedb.SpiceDB, cursor string) (gatehouse.ReadResult, error) {
		return s.ReadRelationshipsPage(t.Context(), gatehouse.ReadRequest{Filter: gatehouse.Filter{ResourceType: "contractor"}, Limit: 1, Cursor: cursor})
	}
	first, err := page(s, "")
	if err != nil || first.Cursor == "" {
		t.Fatalf("first page: %+v, %v; want a cursor", first, err)
	}
	cursor := first.Cursor
	replica := spicedb.New(emb.Conn, append(emb.Options(), spicedb.WithCursorKey(key))...)
	for name, s := range map[string]*spicedb.SpiceDB{"the Store that made it": s, "a Store with its key": replica} {
		if next, err := page(s, cursor); err != nil || len(next.Relationships) != 1 || next.Relationships[0] == first.Relationships[0] {
			t.Errorf("cursor on %s: %+v, %v; want the next relationship", name, next, err)
		}
	}
	body, sig, ok := strings.Cut(cursor, ".")
	if !ok {
		t.Fatalf("cursor %q has no signature", cursor)
	}
	b, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(b, &fields); err != nil {
		t.Fatal(err)
	}
	delete(fields, "e")
	delete(fields, "f")
	fields["F"] = true
	if b, err = json.Marshal(fields); err != nil {
		t.Fatal(err)
	}
	refused := map[string]struct {
		s      *spicedb.SpiceDB
		cursor string
	}{
		"a byte of the body changed":      {s, flip(cursor, len(body)/2)},
		"a byte of the signature changed": {s, flip(cursor, len(body)+1+len(sig)/2)},
		"cut short":                       {s, cursor[:len(cursor)-2]},
		"without its signature":           {s, body},
		"fully consistent instead":        {s, base64.RawURLEncoding.EncodeToString(b) + "." + sig},
		"on a Store with another key":     {spicedb.New(emb.Conn, append(emb.Options(), spicedb.WithCursorKey(bytes.Repeat([]byte("x"), 32)))...), cursor},
		"on a Store with no key":          {spicedb.New(emb.Conn, emb.Options()...), cursor},
	}
	for name, tc := range refused {
		_, err := page(tc.s, tc.cursor)
		var ge *gatehouse.Error
		if !errors.As(err, &ge) || ge.Code != gatehouse.EINVALID || ge.Field != "cursor" || ge.Message != "cursor is not one this server returned" {
			t.Errorf("cursor %s: %v, want invalid, naming cursor", name, err)
		}
	}
}

// flip changes the character at i of a cursor to another base64url one.
func flip(cursor string, i int) string {
	c := byte('A')
	if cursor[i] == c {
		c = 'B'
	}
	return cursor[:i] + string(c) + cursor[i+1:]
}
