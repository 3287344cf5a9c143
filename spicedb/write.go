package spicedb

import (
	"context"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/gatehouse-authz/gatehouse"
)

// Limits SpiceDB sets on one write (see spicedb-notes.md).
const (
	maxUpdatesPerWrite = 1000
	maxDeletePerCall   = 1000
)

// WriteSchema implements gatehouse.Store.
func (s *SpiceDB) WriteSchema(ctx context.Context, schema string) error {
	seq, alone, err := s.beginWrite(ctx)
	if err != nil {
		return err
	}
	start := time.Now()
	resp, err := s.schema.WriteSchema(ctx, &v1.WriteSchemaRequest{Schema: schema})
	s.timed("WriteSchema", start, err)
	s.endWrite(seq, alone, token(resp.GetWrittenAt()), err, gatehouse.Change{Everything: true})
	return translate(err)
}

// Write implements gatehouse.Store with one WriteRelationships call.
func (s *SpiceDB) Write(ctx context.Context, w gatehouse.Write) (string, error) {
	if len(w.Updates) > maxUpdatesPerWrite {
		return "", gatehouse.Invalid("touch", "at most %d changes in one write, got %d", maxUpdatesPerWrite, len(w.Updates))
	}
	rels := make([]gatehouse.Relationship, len(w.Updates))
	for i, u := range w.Updates {
		rels[i] = u.Relationship
	}
	id := newWriteID()
	w.Audit = gatehouse.StampAudit(ctx, w.Audit)
	md, err := s.record(ctx, w.Audit, id, nil, rels)
	if err != nil {
		return "", err
	}
	s.expired.add(w.Updates)
	if s.head != nil {
		// Embedded memory: each expiration is a change told at its time.
		s.changes.expired.add(w.Updates)
	}
	req := &v1.WriteRelationshipsRequest{OptionalTransactionMetadata: md}
	for _, u := range w.Updates {
		op := v1.RelationshipUpdate_OPERATION_TOUCH
		switch u.Op {
		case gatehouse.Create:
			op = v1.RelationshipUpdate_OPERATION_CREATE
		case gatehouse.Delete:
			op = v1.RelationshipUpdate_OPERATION_DELETE
		}
		req.Updates = append(req.Updates, &v1.RelationshipUpdate{Operation: op, Relationship: toRel(u.Relationship)})
	}
	for _, p := range w.Preconditions {
		op := v1.Precondition_OPERATION_MUST_NOT_MATCH
		if p.MustMatch {
			op = v1.Precondition_OPERATION_MUST_MATCH
		}
		req.OptionalPreconditions = append(req.OptionalPreconditions, &v1.Precondition{Operation: op, Filter: toFilter(p.Filter)})
	}
	seq, alone, err := s.beginWrite(ctx)
	if err != nil {
		return "", err
	}
	start := time.Now()
	resp, err := s.perms.WriteRelationships(ctx, req)
	s.timed("WriteRelationships", start, err)
	tok := token(resp.GetWrittenAt())
	s.endWrite(seq, alone, tok, err, writeChange(w.Updates))
	if err != nil {
		return "", translate(err)
	}
	if md != nil {
		s.recorded(ctx, id, tok)
	}
	return tok, nil
}

// DeleteMatching implements gatehouse.Store: each filter is deleted in
// batches of SpiceDB's maximum until nothing matches.
func (s *SpiceDB) DeleteMatching(ctx context.Context, fs []gatehouse.Filter, a gatehouse.Audit) (int, string, error) {
	a = gatehouse.StampAudit(ctx, a)
	total := 0
	var tok string
	for _, f := range fs {
		for {
			id := newWriteID()
			md, err := s.record(ctx, a, id, []gatehouse.Object{{Type: f.ResourceType, ID: f.ResourceID}}, nil)
			if err != nil {
				return total, tok, err
			}
			seq, alone, err := s.beginWrite(ctx)
			if err != nil {
				return total, tok, err
			}
			start := time.Now()
			resp, err := s.perms.DeleteRelationships(ctx, &v1.DeleteRelationshipsRequest{
				RelationshipFilter:            toFilter(f),
				OptionalLimit:                 maxDeletePerCall,
				OptionalAllowPartialDeletions: true,
				OptionalTransactionMetadata:   md,
			})
			s.timed("DeleteRelationships", start, err)
			s.endWrite(seq, alone, token(resp.GetDeletedAt()), err, filterChange(f))
			if err != nil {
				return total, tok, translate(err)
			}
			tok = token(resp.GetDeletedAt())
			n := int(resp.GetRelationshipsDeletedCount()) //nolint:gosec // at most maxDeletePerCall
			total += n
			if n > 0 && md != nil {
				s.recorded(ctx, id, tok)
			}
			if resp.GetDeletionProgress() != v1.DeleteRelationshipsResponse_DELETION_PROGRESS_PARTIAL {
				break
			}
		}
	}
	return total, tok, nil
}

// record is the metadata of an audited write: a, with the organisations
// of the owned objects it touches read for attribution (X2). An error
// refuses the write: its record could not be made.
func (s *SpiceDB) record(ctx context.Context, a gatehouse.Audit, id string, objs []gatehouse.Object, rels []gatehouse.Relationship) (*structpb.Struct, error) {
	if a.Actor == "" && a.Action == "" {
		return nil, nil
	}
	if err := a.Validate(); err != nil {
		return nil, err
	}
	owners, err := s.owners(ctx, objs, rels)
	if err != nil {
		return nil, err
	}
	return metadata(a, id, owners)
}

// recorded waits, when an audit consumer runs, until the record of the
// committed write id is in the trail, so that every replica sharing the
// trail lists it next (X2). After awaitLimit it gives up waiting: the
// write is made, and its record comes when the consumer catches up.
func (s *SpiceDB) recorded(ctx context.Context, id, tok string) {
	a := s.audit.Load()
	if a == nil {
		return
	}
	a.wrote(id, tok)
	a.await(ctx, id)
}
