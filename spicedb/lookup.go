package spicedb

import (
	"container/heap"
	"context"
	"errors"
	"io"
	"slices"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/gatehouse-authz/gatehouse"
)

// LookupResources implements gatehouse.Store; it returns one page of at
// most req.Limit, through SpiceDB's own paging.
// In every shape but embedded memory it reads at the Watch stream's
// snapshot when it may (see follower), so SpiceDB's caches stay warm.
func (s *SpiceDB) LookupResources(ctx context.Context, req gatehouse.LookupResourcesRequest) (gatehouse.LookupResourcesResult, error) {
	return s.lookupResources(ctx, req, nil)
}

// lookupResources is LookupResources through SpiceDB, at cons (nil: the
// consistency req asks for). Its Conditional reports whether any resource
// of the page was reached only on a caveat's condition, which a check of
// it must hear from SpiceDB (see proxy.Cached).
func (s *SpiceDB) lookupResources(ctx context.Context, req gatehouse.LookupResourcesRequest, cons *v1.Consistency) (gatehouse.LookupResourcesResult, error) {
	c, err := toStruct("context", req.Context)
	if err != nil {
		return gatehouse.LookupResourcesResult{}, err
	}
	call := callHash("resources", req.ResourceType, req.Permission, req.Subject.String(), contextKey(req.Context))
	if cons == nil {
		cons = s.consistency(ctx, req.Consistency)
	}
	var at *v1.Cursor
	if req.Cursor != "" {
		pc, err := s.decodeCursor(req.Cursor, call)
		if err != nil {
			return gatehouse.LookupResourcesResult{}, err
		}
		cons, at = pc.consistency(), &v1.Cursor{Token: pc.Spice}
	}
	for {
		out := gatehouse.LookupResourcesResult{Resources: []gatehouse.Object{}}
		// SpiceDB answers a resource once for each way it is reached (an
		// administrator who is also a CIS processor: every unflagged
		// contractor twice); a page holds each once. A resource reached
		// two ways may still be on two pages.
		seen := map[string]bool{}
		start := time.Now()
		next, more, err := pageThrough(ctx, req.Limit, at,
			func(ctx context.Context, at *v1.Cursor) (receiver[*v1.LookupResourcesResponse], error) {
				return s.perms.LookupResources(ctx, &v1.LookupResourcesRequest{
					Consistency:        cons,
					ResourceObjectType: req.ResourceType,
					Permission:         req.Permission,
					Subject:            subjRef(req.Subject),
					Context:            c,
					OptionalLimit:      spicePageSize,
					OptionalCursor:     at,
				})
			},
			func(r *v1.LookupResourcesResponse) bool {
				out.ZedToken = token(r.GetLookedUpAt())
				if r.GetPermissionship() == v1.LookupPermissionship_LOOKUP_PERMISSIONSHIP_CONDITIONAL_PERMISSION {
					out.Conditional = true
				}
				id := r.GetResourceObjectId()
				if seen[id] {
					return false
				}
				seen[id] = true
				out.Resources = append(out.Resources, gatehouse.Object{Type: req.ResourceType, ID: id})
				return true
			})
		s.timed("LookupResources", start, err)
		if err != nil {
			return gatehouse.LookupResourcesResult{}, cursorError(translate(err), req.Cursor)
		}
		if out.ZedToken == "" {
			// SpiceDB names the revision only with a result; an empty
			// answer read at an exact snapshot was read at that one.
			out.ZedToken = cons.GetAtExactSnapshot().GetToken()
		}
		if more && cons.GetAtExactSnapshot() == nil && out.ZedToken != "" {
			// Every page must be read at one snapshot: at another revision
			// SpiceDB may order the resources otherwise, and a page would
			// repeat or skip one (seen: a contractor twice across pages
			// while writes landed between them). SpiceDB binds its cursor to
			// the first page's consistency, so a first page that has a
			// next one is read again at its own exact snapshot, which gives
			// the same resources and a cursor every later page can keep.
			cons = exact(out.ZedToken)
			continue
		}
		if more {
			out.Cursor = s.encodeCursor(pageCursorOf(call, cons, next.GetToken()))
		}
		return out, nil
	}
}

// LookupSubjects implements gatehouse.Store: every subject, sorted.
func (s *SpiceDB) LookupSubjects(ctx context.Context, req gatehouse.LookupSubjectsRequest) ([]gatehouse.Subject, string, error) {
	req.Limit, req.Cursor = 0, ""
	res, err := s.LookupSubjectsPage(ctx, req)
	return res.Subjects, res.ZedToken, err
}

// LookupSubjectsPage implements gatehouse.Store. Wildcards come back as
// id "*" and concrete subjects excluded from a wildcard are left out.
//
// SpiceDB v1.56 does not page LookupSubjects (it refuses a limit as
// "not yet supported"), so Gatehouse pages over its stream: the first page
// reads at the caller's consistency, every later one at that page's exact
// snapshot, and a page is the Limit smallest ids after the cursor's last
// id. The answer is the same set at every page, so pages neither skip nor
// repeat; each page streams the whole set once but holds only Limit+1
// subjects. A cursor lasts as long as SpiceDB keeps its snapshot (its GC
// window); after that it is refused with 400 naming cursor.
func (s *SpiceDB) LookupSubjectsPage(ctx context.Context, req gatehouse.LookupSubjectsRequest) (gatehouse.LookupSubjectsResult, error) {
	c, err := toStruct("context", req.Context)
	if err != nil {
		return gatehouse.LookupSubjectsResult{}, err
	}
	call := callHash("subjects", req.Resource.String(), req.Permission, req.SubjectType, req.SubjectRelation, contextKey(req.Context))
	cons := s.consistency(ctx, req.Consistency)
	after, snapshot := "", ""
	if req.Cursor != "" {
		pc, err := s.decodeCursor(req.Cursor, call)
		if err != nil {
			return gatehouse.LookupSubjectsResult{}, err
		}
		after, snapshot = pc.After, pc.Exact
		cons = exact(snapshot)
	}
	start := time.Now()
	stream, err := s.perms.LookupSubjects(ctx, &v1.LookupSubjectsRequest{
		Consistency:             cons,
		Resource:                objRef(req.Resource),
		Permission:              req.Permission,
		SubjectObjectType:       req.SubjectType,
		OptionalSubjectRelation: req.SubjectRelation,
		Context:                 c,
	})
	if err != nil {
		s.timed("LookupSubjects", start, err)
		return gatehouse.LookupSubjectsResult{}, cursorError(translate(err), req.Cursor)
	}
	// keep is the Limit+1 smallest ids after the cursor (every id when
	// Limit is 0); in holds its members, to drop an id streamed twice.
	keep := &maxHeap{}
	in := map[string]bool{}
	var tok string
	for {
		r, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			s.timed("LookupSubjects", start, err)
			return gatehouse.LookupSubjectsResult{}, cursorError(translate(err), req.Cursor)
		}
		tok = token(r.GetLookedUpAt())
		if r.GetSubject().GetPermissionship() != v1.LookupPermissionship_LOOKUP_PERMISSIONSHIP_HAS_PERMISSION {
			continue
		}
		id := r.GetSubject().GetSubjectObjectId()
		full := req.Limit > 0 && keep.Len() == req.Limit+1
		if id <= after || in[id] || full && id >= (*keep)[0] {
			continue
		}
		heap.Push(keep, id)
		in[id] = true
		if req.Limit > 0 && keep.Len() > req.Limit+1 {
			delete(in, heap.Pop(keep).(string))
		}
	}
	s.timed("LookupSubjects", start, nil)
	ids := []string(*keep)
	slices.Sort(ids)
	out := gatehouse.LookupSubjectsResult{Subjects: []gatehouse.Subject{}, ZedToken: tok}
	if req.Limit > 0 && len(ids) > req.Limit {
		ids = ids[:req.Limit]
		if snapshot == "" {
			snapshot = tok
		}
		out.Cursor = s.encodeCursor(pageCursor{Call: call, Exact: snapshot, After: ids[len(ids)-1]})
	}
	for _, id := range ids {
		out.Subjects = append(out.Subjects, gatehouse.Subject{Object: gatehouse.Object{Type: req.SubjectType, ID: id}, Relation: req.SubjectRelation})
	}
	return out, nil
}

// maxHeap is a heap of ids, the largest on top.
type maxHeap []string

func (h maxHeap) Len() int           { return len(h) }
func (h maxHeap) Less(i, j int) bool { return h[i] > h[j] }
func (h maxHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *maxHeap) Push(x any)        { *h = append(*h, x.(string)) } //nolint:forcetypeassert // heap.Push hands back what Push was given
func (h *maxHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
