package spicedb

import (
	"context"
	"errors"
	"io"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/gatehouse-authz/gatehouse"
)

// readPageSize is the most relationships SpiceDB returns in one page of a read.
const readPageSize = 1000

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

// ReadRelationships implements gatehouse.Store, paging through every match.
func (s *SpiceDB) ReadRelationships(ctx context.Context, f gatehouse.Filter, c gatehouse.Consistency) ([]gatehouse.Relationship, string, error) {
	var out []gatehouse.Relationship
	var cursor *v1.Cursor
	var tok string
	cons := s.fresh.consistency(c)
	for {
		start := time.Now()
		stream, err := s.perms.ReadRelationships(ctx, &v1.ReadRelationshipsRequest{
			Consistency: cons, RelationshipFilter: toFilter(f), OptionalLimit: readPageSize, OptionalCursor: cursor,
		})
		if err != nil {
			s.timed("ReadRelationships", start, err)
			return nil, "", translate(err)
		}
		n := 0
		for {
			r, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				s.timed("ReadRelationships", start, err)
				return nil, "", translate(err)
			}
			out = append(out, fromRel(r.GetRelationship()))
			cursor = r.GetAfterResultCursor()
			tok = token(r.GetReadAt())
			// Later pages keep the first page's consistency: SpiceDB reads
			// them at the revision the cursor carries, so the whole answer
			// is one consistent view, and it refuses a cursor whose call
			// differs in anything else, consistency included.
			n++
		}
		s.timed("ReadRelationships", start, nil)
		if n < readPageSize {
			return out, tok, nil
		}
	}
}
