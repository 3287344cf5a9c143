package spicedb

import (
	"context"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/gatehouse-authz/gatehouse"
)

// Limits SpiceDB sets on one write (see spicedb-notes.md).
const (
	maxUpdatesPerWrite = 1000
	maxDeletePerCall   = 1000
)

// WriteSchema implements gatehouse.Store.
func (s *SpiceDB) WriteSchema(ctx context.Context, schema string) error {
	// Until the new schema is read, no answer is cached: the old one's
	// expirations no longer say which answers time can change.
	s.decided.schemaUnknown()
	seq, alone, err := s.beginWrite(ctx)
	if err != nil {
		return err
	}
	start := time.Now()
	resp, err := s.schema.WriteSchema(ctx, &v1.WriteSchemaRequest{Schema: schema})
	s.timed("WriteSchema", start, err)
	s.endWrite(seq, alone, token(resp.GetWrittenAt()), err)
	if err == nil {
		s.decided.schemaWritten(schema)
	}
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
	md := metadata(s.attributed(ctx, w.Audit, nil, rels), id)
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
	s.endWrite(seq, alone, tok, err)
	if err != nil {
		return "", translate(err)
	}
	if md != nil {
		s.audit.wrote(id, tok)
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
		af := s.attributed(ctx, a, []gatehouse.Object{{Type: f.ResourceType, ID: f.ResourceID}}, nil)
		if af.Organisation == "" && f.SubjectType == typeOrganisation && f.Relation == relOrganisation {
			af.Organisation = f.SubjectID
		}
		for {
			id := newWriteID()
			md := metadata(af, id)
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
			s.endWrite(seq, alone, token(resp.GetDeletedAt()), err)
			if err != nil {
				return total, tok, translate(err)
			}
			tok = token(resp.GetDeletedAt())
			n := int(resp.GetRelationshipsDeletedCount()) //nolint:gosec // at most maxDeletePerCall
			total += n
			if n > 0 && md != nil {
				s.audit.wrote(id, tok)
			}
			if resp.GetDeletionProgress() != v1.DeleteRelationshipsResponse_DELETION_PROGRESS_PARTIAL {
				break
			}
		}
	}
	return total, tok, nil
}
