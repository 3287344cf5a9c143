package spicedb

import (
	"context"
	"errors"
	"io"
	"sort"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/gatehouse-authz/gatehouse"
)

// LookupResources implements gatehouse.Store; it returns one page of at most req.Limit.
func (s *SpiceDB) LookupResources(ctx context.Context, req gatehouse.LookupResourcesRequest) (gatehouse.LookupResourcesResult, error) {
	c, err := toStruct("context", req.Context)
	if err != nil {
		return gatehouse.LookupResourcesResult{}, err
	}
	in := &v1.LookupResourcesRequest{
		Consistency:        s.fresh.consistency(req.Consistency),
		ResourceObjectType: req.ResourceType,
		Permission:         req.Permission,
		Subject:            subjRef(req.Subject),
		Context:            c,
		OptionalLimit:      uint32(max(req.Limit, 0)), //nolint:gosec // bounded by the caller's validation
	}
	if req.Cursor != "" {
		in.OptionalCursor = &v1.Cursor{Token: req.Cursor}
	}
	start := time.Now()
	stream, err := s.perms.LookupResources(ctx, in)
	if err != nil {
		s.timed("LookupResources", start, err)
		return gatehouse.LookupResourcesResult{}, translate(err)
	}
	var out gatehouse.LookupResourcesResult
	for {
		r, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			s.timed("LookupResources", start, err)
			return gatehouse.LookupResourcesResult{}, translate(err)
		}
		out.Resources = append(out.Resources, gatehouse.Object{Type: req.ResourceType, ID: r.GetResourceObjectId()})
		out.Cursor = r.GetAfterResultCursor().GetToken()
		out.ZedToken = token(r.GetLookedUpAt())
	}
	s.timed("LookupResources", start, nil)
	if req.Limit == 0 || len(out.Resources) < req.Limit {
		out.Cursor = ""
	}
	return out, nil
}

// LookupSubjects implements gatehouse.Store. Wildcards come back as id "*"
// and concrete subjects excluded from a wildcard are left out.
func (s *SpiceDB) LookupSubjects(ctx context.Context, req gatehouse.LookupSubjectsRequest) ([]gatehouse.Subject, string, error) {
	c, err := toStruct("context", req.Context)
	if err != nil {
		return nil, "", err
	}
	start := time.Now()
	stream, err := s.perms.LookupSubjects(ctx, &v1.LookupSubjectsRequest{
		Consistency:             s.fresh.consistency(req.Consistency),
		Resource:                objRef(req.Resource),
		Permission:              req.Permission,
		SubjectObjectType:       req.SubjectType,
		OptionalSubjectRelation: req.SubjectRelation,
		Context:                 c,
	})
	if err != nil {
		s.timed("LookupSubjects", start, err)
		return nil, "", translate(err)
	}
	var out []gatehouse.Subject
	var tok string
	for {
		r, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			s.timed("LookupSubjects", start, err)
			return nil, "", translate(err)
		}
		if r.GetSubject().GetPermissionship() != v1.LookupPermissionship_LOOKUP_PERMISSIONSHIP_HAS_PERMISSION {
			continue
		}
		out = append(out, gatehouse.Subject{
			Object:   gatehouse.Object{Type: req.SubjectType, ID: r.GetSubject().GetSubjectObjectId()},
			Relation: req.SubjectRelation,
		})
		tok = token(r.GetLookedUpAt())
	}
	s.timed("LookupSubjects", start, nil)
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out, tok, nil
}
