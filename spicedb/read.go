package spicedb

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/gatehouse-authz/gatehouse"
)

// ReadSchema implements gatehouse.Store.
func (s *SpiceDB) ReadSchema(ctx context.Context) (string, error) {
	start := time.Now()
	resp, err := s.schema.ReadSchema(ctx, &v1.ReadSchemaRequest{})
	s.timed("ReadSchema", start, err)
	if err != nil {
		return "", translate(err)
	}
	return resp.GetSchemaText(), nil
}

// Ready implements gatehouse.Store: SpiceDB answers a schema read.
func (s *SpiceDB) Ready(ctx context.Context) error {
	_, err := s.schema.ReadSchema(ctx, &v1.ReadSchemaRequest{})
	if err != nil && status.Code(err) != codes.NotFound {
		return translate(err)
	}
	return nil
}

// ReadRelationships implements gatehouse.Store: every match, read page by
// page at one snapshot.
func (s *SpiceDB) ReadRelationships(ctx context.Context, f gatehouse.Filter, c gatehouse.Consistency) ([]gatehouse.Relationship, string, error) {
	res, err := s.ReadRelationshipsPage(ctx, gatehouse.ReadRequest{Filter: f, Consistency: c})
	return res.Relationships, res.ZedToken, err
}

// ReadRelationshipsPage implements gatehouse.Store with SpiceDB's own
// paging (optional_limit and optional_cursor): it holds at most one page
// of the caller's, plus one relationship to learn whether more remain.
func (s *SpiceDB) ReadRelationshipsPage(ctx context.Context, req gatehouse.ReadRequest) (gatehouse.ReadResult, error) {
	call := callHash("read", fmt.Sprintf("%+v", req.Filter))
	cons := s.consistency(ctx, req.Consistency)
	var at *v1.Cursor
	if req.Cursor != "" {
		pc, err := s.decodeCursor(req.Cursor, call)
		if err != nil {
			return gatehouse.ReadResult{}, err
		}
		// SpiceDB binds its cursor to the consistency of the first page
		// and reads every later page at the first page's snapshot.
		cons, at = pc.consistency(), &v1.Cursor{Token: pc.Spice}
	}
	out := gatehouse.ReadResult{Relationships: []gatehouse.Relationship{}}
	start := time.Now()
	next, more, err := pageThrough(ctx, req.Limit, at,
		func(ctx context.Context, at *v1.Cursor) (receiver[*v1.ReadRelationshipsResponse], error) {
			return s.perms.ReadRelationships(ctx, &v1.ReadRelationshipsRequest{
				Consistency: cons, RelationshipFilter: toFilter(req.Filter), OptionalLimit: spicePageSize, OptionalCursor: at,
			})
		},
		func(r *v1.ReadRelationshipsResponse) bool {
			out.Relationships = append(out.Relationships, fromRel(r.GetRelationship()))
			out.ZedToken = token(r.GetReadAt())
			return true
		})
	s.timed("ReadRelationships", start, err)
	if err != nil {
		return gatehouse.ReadResult{}, cursorError(translate(err), req.Cursor)
	}
	if more {
		out.Cursor = s.encodeCursor(pageCursorOf(call, cons, next.GetToken()))
	}
	return out, nil
}

// spicePageSize is the most results Gatehouse asks SpiceDB for in one
// call: SpiceDB's own maximum for reads and resource lookups. A caller's
// page may span several; every call uses this size, because SpiceDB binds
// a cursor to the limit it was made with.
const spicePageSize = 1000

// receiver is a server stream of SpiceDB.
type receiver[T any] interface{ Recv() (T, error) }

// cursored is a streamed result that carries SpiceDB's cursor after it.
type cursored interface{ GetAfterResultCursor() *v1.Cursor }

// pageThrough reads SpiceDB pages opened by open, from the cursor at, and
// hands each result to keep until keep holds limit (0: no limit) and SpiceDB
// has another, or SpiceDB has no more; keep answers false for a result it
// left out (a duplicate), which does not count. It returns SpiceDB's cursor after
// the last result kept and whether more remain; it never holds more than
// one result beyond what keep took.
func pageThrough[T cursored](ctx context.Context, limit int, at *v1.Cursor, open func(context.Context, *v1.Cursor) (receiver[T], error), keep func(T) bool) (*v1.Cursor, bool, error) {
	// Ending early ends the stream of the page being read.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	kept := 0
	for {
		stream, err := open(ctx, at)
		if err != nil {
			return nil, false, err
		}
		n := 0
		for {
			r, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, false, err
			}
			n++
			if limit > 0 && kept == limit {
				return at, true, nil
			}
			if keep(r) {
				kept++
			}
			at = r.GetAfterResultCursor()
		}
		if n < spicePageSize {
			return at, false, nil
		}
	}
}

// pageCursor is Gatehouse's cursor: opaque to callers (base64url of this
// JSON, signed: see encodeCursor), bound to the request it continues by
// Call, and carrying what the next page must read at: the first page's
// consistency and SpiceDB's own cursor, or (for subject lookups, which
// SpiceDB does not page) the snapshot of the first page and the last id
// returned.
type pageCursor struct {
	Call  string `json:"c"`
	Fresh string `json:"f,omitempty"`
	Full  bool   `json:"F,omitempty"`
	Exact string `json:"e,omitempty"`
	Spice string `json:"s,omitempty"`
	After string `json:"a,omitempty"`
}

// pageCursorOf is the cursor that continues call, read at cons, from SpiceDB's cursor spice.
func pageCursorOf(call string, cons *v1.Consistency, spice string) pageCursor {
	pc := pageCursor{Call: call, Spice: spice}
	switch {
	case cons.GetAtLeastAsFresh() != nil:
		pc.Fresh = cons.GetAtLeastAsFresh().GetToken()
	case cons.GetAtExactSnapshot() != nil:
		pc.Exact = cons.GetAtExactSnapshot().GetToken()
	case cons.GetFullyConsistent():
		pc.Full = true
	}
	return pc
}

// consistency is the consistency the first page was read at.
func (pc pageCursor) consistency() *v1.Consistency {
	switch {
	case pc.Fresh != "":
		return &v1.Consistency{Requirement: &v1.Consistency_AtLeastAsFresh{AtLeastAsFresh: &v1.ZedToken{Token: pc.Fresh}}}
	case pc.Exact != "":
		return exact(pc.Exact)
	case pc.Full:
		return fully()
	}
	return &v1.Consistency{Requirement: &v1.Consistency_MinimizeLatency{MinimizeLatency: true}}
}

func exact(tok string) *v1.Consistency {
	return &v1.Consistency{Requirement: &v1.Consistency_AtExactSnapshot{AtExactSnapshot: &v1.ZedToken{Token: tok}}}
}

// encodeCursor writes pc as a cursor: base64url of its JSON, a dot, and
// base64url of the JSON's HMAC under the Store's cursor key.
func (s *SpiceDB) encodeCursor(pc pageCursor) string {
	b, _ := json.Marshal(pc) //nolint:errchkjson // strings and a bool always marshal
	body := base64.RawURLEncoding.EncodeToString(b)
	return body + "." + base64.RawURLEncoding.EncodeToString(s.cursorMAC(body))
}

// decodeCursor reads a cursor this server (or a replica with its key) made
// for the same call: one edited, cut short or signed with another key is
// refused before anything in it is read.
func (s *SpiceDB) decodeCursor(c, call string) (pageCursor, error) {
	var pc pageCursor
	body, sig, _ := strings.Cut(c, ".")
	mac, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(mac, s.cursorMAC(body)) {
		return pageCursor{}, gatehouse.Invalid("cursor", "cursor is not one this server returned")
	}
	b, err := base64.RawURLEncoding.DecodeString(body)
	if err == nil {
		err = json.Unmarshal(b, &pc)
	}
	if err != nil || pc.Call == "" {
		return pageCursor{}, gatehouse.Invalid("cursor", "cursor is not one this server returned")
	}
	if pc.Call != call {
		return pageCursor{}, gatehouse.Invalid("cursor", "cursor continues a different request: send the same filter with it")
	}
	return pc, nil
}

// cursorMAC signs the body of a cursor.
func (s *SpiceDB) cursorMAC(body string) []byte {
	m := hmac.New(sha256.New, s.cursorKey)
	// The label keeps these MACs apart from any other use of the key.
	m.Write([]byte("gatehouse list cursor\x00" + body))
	return m.Sum(nil)
}

// callHash names a request by what its pages must share.
func callHash(kind string, parts ...string) string {
	h := sha256.Sum256([]byte(kind + "\x00" + strings.Join(parts, "\x00")))
	return base64.RawURLEncoding.EncodeToString(h[:9])
}

// contextKey is a caveat context as text, stable across calls (sorted keys).
func contextKey(m map[string]any) string {
	b, _ := json.Marshal(m) //nolint:errchkjson // a context that does not marshal fails toStruct first
	return string(b)
}

// cursorError names the cursor in SpiceDB's refusal of one (a cursor too
// old for its snapshot, say), so that the 400 says which input was at fault.
func cursorError(err error, cursor string) error {
	var ge *gatehouse.Error
	if cursor != "" && errors.As(err, &ge) && ge.Code == gatehouse.EINVALID &&
		(ge.Field == "" || strings.Contains(ge.Message, "cursor") || strings.Contains(ge.Message, "revision")) {
		ge.Field = "cursor"
	}
	return err
}
