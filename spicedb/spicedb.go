// Package spicedb is Gatehouse's adapter to SpiceDB: it implements
// gatehouse.Store over authzed-go's gRPC clients, against a SpiceDB
// cluster or one embedded in-process, and translates SpiceDB's errors once.
package spicedb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/gatehouse-authz/gatehouse"
)

// Limits SpiceDB sets on one call (see spicedb-notes.md).
const (
	maxUpdatesPerWrite = 1000
	maxDeletePerCall   = 1000
	readPageSize       = 1000
)

var _ gatehouse.Store = (*SpiceDB)(nil)

// Checker answers a single check without going through gRPC. The embedded
// mode supplies one (pkg/embedded); its answers are always at the head
// revision, so they see every write already made.
type Checker interface {
	Check(ctx context.Context, req gatehouse.CheckRequest) (gatehouse.CheckResult, error)
}

// SpiceDB is a gatehouse.Store backed by SpiceDB's v1 API.
type SpiceDB struct {
	perms  v1.PermissionsServiceClient
	schema v1.SchemaServiceClient
	watch  v1.WatchServiceClient
	fast   Checker
	// observe records the latency of every SpiceDB call, by method.
	observe func(method string, d time.Duration, err error)

	fresh freshness
	audit *auditLog

	// serial makes writes one at a time; see WithSerialWrites.
	serial  bool
	writeMu sync.Mutex
}

// Option configures a SpiceDB store.
type Option func(*SpiceDB)

// WithChecker answers checks that need no older snapshot through c.
func WithChecker(c Checker) Option { return func(s *SpiceDB) { s.fast = c } }

// WithSerialWrites makes this process send one write at a time. SpiceDB's
// memory datastore needs it: it picks a write's revision before it waits
// for the write lock, so two concurrent writes can commit out of revision
// order, and a read at the head revision then misses the later-committed
// one (seen here as a failed read-your-writes check). The memory datastore
// runs one write transaction at a time anyway, so nothing is lost.
func WithSerialWrites() Option { return func(s *SpiceDB) { s.serial = true } }

// WithObserver calls f after every SpiceDB call with its method name, duration and error.
func WithObserver(f func(method string, d time.Duration, err error)) Option {
	return func(s *SpiceDB) { s.observe = f }
}

// New returns a Store that talks to SpiceDB over conn.
func New(conn grpc.ClientConnInterface, opts ...Option) *SpiceDB {
	s := &SpiceDB{
		perms:   v1.NewPermissionsServiceClient(conn),
		schema:  v1.NewSchemaServiceClient(conn),
		watch:   v1.NewWatchServiceClient(conn),
		observe: func(string, time.Duration, error) {},
		audit:   newAuditLog(),
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

func (s *SpiceDB) timed(method string, start time.Time, err error) {
	s.observe(method, time.Since(start), err)
}

// freshness gives read-your-writes without the caller passing tokens: a
// read with no consistency of its own is at least as fresh as the latest
// write this process made. ZedTokens cannot be compared, so when writes
// overlap the newest token is unknown and reads are fully consistent until
// a write completes alone.
type freshness struct {
	mu       sync.Mutex
	inflight int
	started  uint64
	token    string
	unsure   bool
}

func (s *SpiceDB) beginWrite() (uint64, bool) {
	if s.serial {
		s.writeMu.Lock()
	}
	return s.fresh.begin()
}

func (s *SpiceDB) endWrite(seq uint64, alone bool, token string) {
	s.fresh.end(seq, alone, token)
	if s.serial {
		s.writeMu.Unlock()
	}
}

func (f *freshness) begin() (seq uint64, alone bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.started++
	alone = f.inflight == 0
	f.inflight++
	return f.started, alone
}

func (f *freshness) end(seq uint64, alone bool, token string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inflight--
	if token == "" {
		return
	}
	if alone && f.started == seq {
		f.token, f.unsure = token, false
		return
	}
	f.unsure = true
}

func (f *freshness) latest() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.token
}

func (f *freshness) consistency(c gatehouse.Consistency) *v1.Consistency {
	switch {
	case c.AtLeastAsFresh != "":
		return &v1.Consistency{Requirement: &v1.Consistency_AtLeastAsFresh{AtLeastAsFresh: &v1.ZedToken{Token: c.AtLeastAsFresh}}}
	case c.FullyConsistent:
		return fully()
	case c.MinimizeLatency:
		return &v1.Consistency{Requirement: &v1.Consistency_MinimizeLatency{MinimizeLatency: true}}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.unsure || f.inflight > 0 {
		return fully()
	}
	if f.token != "" {
		return &v1.Consistency{Requirement: &v1.Consistency_AtLeastAsFresh{AtLeastAsFresh: &v1.ZedToken{Token: f.token}}}
	}
	return &v1.Consistency{Requirement: &v1.Consistency_MinimizeLatency{MinimizeLatency: true}}
}

func fully() *v1.Consistency {
	return &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}}
}

func objRef(o gatehouse.Object) *v1.ObjectReference {
	return &v1.ObjectReference{ObjectType: o.Type, ObjectId: o.ID}
}

func subjRef(s gatehouse.Subject) *v1.SubjectReference {
	return &v1.SubjectReference{Object: objRef(s.Object), OptionalRelation: s.Relation}
}

func fromObj(o *v1.ObjectReference) gatehouse.Object {
	return gatehouse.Object{Type: o.GetObjectType(), ID: o.GetObjectId()}
}

func fromSubj(s *v1.SubjectReference) gatehouse.Subject {
	return gatehouse.Subject{Object: fromObj(s.GetObject()), Relation: s.GetOptionalRelation()}
}

func toRel(r gatehouse.Relationship) *v1.Relationship {
	rel := &v1.Relationship{Resource: objRef(r.Resource), Relation: r.Relation, Subject: subjRef(r.Subject)}
	if r.ExpiresAt != nil {
		rel.OptionalExpiresAt = timestamppb.New(*r.ExpiresAt)
	}
	return rel
}

func fromRel(r *v1.Relationship) gatehouse.Relationship {
	rel := gatehouse.Relationship{Resource: fromObj(r.GetResource()), Relation: r.GetRelation(), Subject: fromSubj(r.GetSubject())}
	if r.GetOptionalExpiresAt() != nil {
		t := r.GetOptionalExpiresAt().AsTime()
		rel.ExpiresAt = &t
	}
	return rel
}

func toFilter(f gatehouse.Filter) *v1.RelationshipFilter {
	rf := &v1.RelationshipFilter{
		ResourceType:             f.ResourceType,
		OptionalResourceId:       f.ResourceID,
		OptionalResourceIdPrefix: f.IDPrefix,
		OptionalRelation:         f.Relation,
	}
	if f.SubjectType != "" {
		rf.OptionalSubjectFilter = &v1.SubjectFilter{SubjectType: f.SubjectType, OptionalSubjectId: f.SubjectID}
		if f.SubjectRelation != "" {
			rf.OptionalSubjectFilter.OptionalRelation = &v1.SubjectFilter_RelationFilter{Relation: f.SubjectRelation}
		}
	}
	return rf
}

func toStruct(field string, m map[string]any) (*structpb.Struct, error) {
	if len(m) == 0 {
		return nil, nil
	}
	st, err := structpb.NewStruct(m)
	if err != nil {
		return nil, gatehouse.Invalid(field, "context is not representable: %v", err)
	}
	return st, nil
}

func token(t *v1.ZedToken) string { return t.GetToken() }

// Check implements gatehouse.Store. Without a consistency of the caller's
// own it goes to the in-process checker when there is one: that answers at
// the head revision, which includes every write this process made.
func (s *SpiceDB) Check(ctx context.Context, req gatehouse.CheckRequest) (gatehouse.CheckResult, error) {
	if s.fast != nil && req.Consistency.AtLeastAsFresh == "" {
		start := time.Now()
		res, err := s.fast.Check(ctx, req)
		s.timed("CheckEmbedded", start, err)
		if err != nil {
			return res, translate(err)
		}
		// The engine answers at the head revision, which is at least as
		// fresh as the last write this process made: that write's token is
		// a true bound for the caller to pass on.
		res.ZedToken = s.fresh.latest()
		return res, nil
	}
	resp, err := s.checkPermission(ctx, req)
	if err != nil {
		return gatehouse.CheckResult{}, err
	}
	return checkResult(resp.GetPermissionship(), resp.GetPartialCaveatInfo(), token(resp.GetCheckedAt())), nil
}

// checkPermission is one CheckPermission call through gRPC, with the
// process's read-your-writes consistency unless the request names its own.
func (s *SpiceDB) checkPermission(ctx context.Context, req gatehouse.CheckRequest) (*v1.CheckPermissionResponse, error) {
	c, err := toStruct("context", req.Context)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	resp, err := s.perms.CheckPermission(ctx, &v1.CheckPermissionRequest{
		Consistency: s.fresh.consistency(req.Consistency),
		Resource:    objRef(req.Resource),
		Permission:  req.Permission,
		Subject:     subjRef(req.Subject),
		Context:     c,
	})
	s.timed("CheckPermission", start, err)
	if err != nil {
		return nil, translate(err)
	}
	return resp, nil
}

func checkResult(p v1.CheckPermissionResponse_Permissionship, caveat *v1.PartialCaveatInfo, tok string) gatehouse.CheckResult {
	return gatehouse.CheckResult{
		Allowed:        p == v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION,
		Conditional:    p == v1.CheckPermissionResponse_PERMISSIONSHIP_CONDITIONAL_PERMISSION,
		MissingContext: caveat.GetMissingRequiredContext(),
		ZedToken:       tok,
	}
}

// CheckBulk implements gatehouse.Store with one CheckBulkPermissions call.
func (s *SpiceDB) CheckBulk(ctx context.Context, reqs []gatehouse.CheckRequest, c gatehouse.Consistency) ([]gatehouse.BulkResult, string, error) {
	items := make([]*v1.CheckBulkPermissionsRequestItem, len(reqs))
	for i, r := range reqs {
		ctxStruct, err := toStruct(fmt.Sprintf("items[%d].context", i), r.Context)
		if err != nil {
			return nil, "", err
		}
		items[i] = &v1.CheckBulkPermissionsRequestItem{
			Resource: objRef(r.Resource), Permission: r.Permission, Subject: subjRef(r.Subject), Context: ctxStruct,
		}
	}
	start := time.Now()
	resp, err := s.perms.CheckBulkPermissions(ctx, &v1.CheckBulkPermissionsRequest{Consistency: s.fresh.consistency(c), Items: items})
	s.timed("CheckBulkPermissions", start, err)
	if err != nil {
		return nil, "", translate(err)
	}
	tok := token(resp.GetCheckedAt())
	out := make([]gatehouse.BulkResult, len(resp.GetPairs()))
	for i, p := range resp.GetPairs() {
		if e := p.GetError(); e != nil {
			out[i].Err = translate(status.ErrorProto(e))
			continue
		}
		it := p.GetItem()
		out[i].CheckResult = checkResult(it.GetPermissionship(), it.GetPartialCaveatInfo(), tok)
	}
	return out, tok, nil
}

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

// Explain implements gatehouse.Store. The check says whether; SpiceDB's
// ExpandPermissionTree, at the same revision, says why: the tree is walked
// for every leaf that holds the subject, and each hop from one object to
// another (an arrow) is named by the relationship between them. Check
// tracing would be shorter, but a remote SpiceDB answers traced steps from
// its dispatch cache without the relationships beneath them; expansion is
// never cached.
func (s *SpiceDB) Explain(ctx context.Context, req gatehouse.CheckRequest) (gatehouse.Explanation, error) {
	resp, err := s.checkPermission(ctx, req)
	if err != nil {
		return gatehouse.Explanation{}, err
	}
	out := gatehouse.Explanation{
		Allowed:  resp.GetPermissionship() == v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION,
		Paths:    [][]gatehouse.Relationship{},
		ZedToken: token(resp.GetCheckedAt()),
	}
	if !out.Allowed {
		return out, nil
	}
	at := &v1.Consistency{Requirement: &v1.Consistency_AtExactSnapshot{AtExactSnapshot: resp.GetCheckedAt()}}
	start := time.Now()
	tree, err := s.perms.ExpandPermissionTree(ctx, &v1.ExpandPermissionTreeRequest{Consistency: at, Resource: objRef(req.Resource), Permission: req.Permission})
	s.timed("ExpandPermissionTree", start, err)
	if err != nil {
		return gatehouse.Explanation{}, translate(err)
	}
	w := &walker{s: s, subject: req.Subject, at: gatehouse.Consistency{AtLeastAsFresh: out.ZedToken}, links: map[[2]gatehouse.Object]*gatehouse.Relationship{}}
	paths, err := w.walk(ctx, tree.GetTreeRoot())
	if err != nil {
		return gatehouse.Explanation{}, err
	}
	out.Paths = dedupePaths(paths)
	return out, nil
}

// walker finds, in an expanded permission tree, the chains that reach subject.
type walker struct {
	s       *SpiceDB
	subject gatehouse.Subject
	at      gatehouse.Consistency
	links   map[[2]gatehouse.Object]*gatehouse.Relationship
}

// walk returns the chains under node, each read subject-side first.
func (w *walker) walk(ctx context.Context, node *v1.PermissionRelationshipTree) ([][]gatehouse.Relationship, error) {
	here := fromObj(node.GetExpandedObject())
	if leaf := node.GetLeaf(); leaf != nil {
		var out [][]gatehouse.Relationship
		for _, sub := range leaf.GetSubjects() {
			got := fromSubj(sub)
			if got == w.subject || (got.ID == "*" && got.Type == w.subject.Type && got.Relation == "") {
				out = append(out, []gatehouse.Relationship{{Resource: here, Relation: node.GetExpandedRelation(), Subject: got}})
			}
		}
		return out, nil
	}
	set := node.GetIntermediate()
	children := set.GetChildren()
	if set.GetOperation() == v1.AlgebraicSubjectSet_OPERATION_EXCLUSION && len(children) > 0 {
		// The check allowed it, so the subject is in the base and in none of
		// the exclusions: only the base grants.
		children = children[:1]
	}
	var out [][]gatehouse.Relationship
	for _, child := range children {
		tails, err := w.walk(ctx, child)
		if err != nil {
			return nil, err
		}
		if set.GetOperation() == v1.AlgebraicSubjectSet_OPERATION_INTERSECTION && len(tails) == 0 {
			return nil, nil
		}
		there := fromObj(child.GetExpandedObject())
		var link []gatehouse.Relationship
		if len(tails) > 0 && there != here && here.Type != "" {
			l, err := w.link(ctx, here, there)
			if err != nil {
				return nil, err
			}
			if l != nil {
				link = []gatehouse.Relationship{*l}
			}
		}
		for _, t := range tails {
			out = append(out, append(append([]gatehouse.Relationship{}, t...), link...))
		}
	}
	return out, nil
}

// link names the relationship by which an arrow steps from one object to another.
func (w *walker) link(ctx context.Context, from, to gatehouse.Object) (*gatehouse.Relationship, error) {
	key := [2]gatehouse.Object{from, to}
	if l, ok := w.links[key]; ok {
		return l, nil
	}
	rels, _, err := w.s.ReadRelationships(ctx, gatehouse.Filter{ResourceType: from.Type, ResourceID: from.ID, SubjectType: to.Type, SubjectID: to.ID}, w.at)
	if err != nil {
		return nil, err
	}
	var l *gatehouse.Relationship
	if len(rels) > 0 {
		l = &rels[0]
	}
	w.links[key] = l
	return l, nil
}

func dedupePaths(in [][]gatehouse.Relationship) [][]gatehouse.Relationship {
	seen := map[string]bool{}
	var out [][]gatehouse.Relationship
	for _, p := range in {
		parts := make([]string, len(p))
		for i, r := range p {
			parts[i] = r.String()
		}
		k := strings.Join(parts, "|")
		if !seen[k] {
			seen[k] = true
			out = append(out, p)
		}
	}
	return out
}

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

// WriteSchema implements gatehouse.Store.
func (s *SpiceDB) WriteSchema(ctx context.Context, schema string) error {
	seq, alone := s.beginWrite()
	start := time.Now()
	resp, err := s.schema.WriteSchema(ctx, &v1.WriteSchemaRequest{Schema: schema})
	s.timed("WriteSchema", start, err)
	s.endWrite(seq, alone, token(resp.GetWrittenAt()))
	return translate(err)
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

func (s *SpiceDB) metadata(a gatehouse.Audit) *structpb.Struct {
	if a.Actor == "" && a.Action == "" {
		return nil
	}
	m := map[string]any{"actor": a.Actor, "action": a.Action, "at": time.Now().UTC().Format(time.RFC3339Nano)}
	if a.Reason != "" {
		m["reason"] = a.Reason
	}
	if a.Organisation != "" {
		m["organisation"] = a.Organisation
	}
	if len(a.Details) > 0 {
		d := map[string]any{}
		for k, v := range a.Details {
			d[k] = v
		}
		m["details"] = d
	}
	st, err := structpb.NewStruct(m)
	if err != nil {
		return nil
	}
	return st
}

// Write implements gatehouse.Store with one WriteRelationships call.
func (s *SpiceDB) Write(ctx context.Context, w gatehouse.Write) (string, error) {
	if len(w.Updates) > maxUpdatesPerWrite {
		return "", gatehouse.Invalid("touch", "at most %d changes in one write, got %d", maxUpdatesPerWrite, len(w.Updates))
	}
	req := &v1.WriteRelationshipsRequest{OptionalTransactionMetadata: s.metadata(w.Audit)}
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
	seq, alone := s.beginWrite()
	start := time.Now()
	resp, err := s.perms.WriteRelationships(ctx, req)
	s.timed("WriteRelationships", start, err)
	tok := token(resp.GetWrittenAt())
	s.endWrite(seq, alone, tok)
	if err != nil {
		return "", translate(err)
	}
	s.audit.record(w.Audit, w.Updates, tok)
	return tok, nil
}

// DeleteMatching implements gatehouse.Store: each filter is deleted in
// batches of SpiceDB's maximum until nothing matches.
func (s *SpiceDB) DeleteMatching(ctx context.Context, fs []gatehouse.Filter, a gatehouse.Audit) (int, string, error) {
	total := 0
	var tok string
	for _, f := range fs {
		for {
			seq, alone := s.beginWrite()
			start := time.Now()
			resp, err := s.perms.DeleteRelationships(ctx, &v1.DeleteRelationshipsRequest{
				RelationshipFilter:            toFilter(f),
				OptionalLimit:                 maxDeletePerCall,
				OptionalAllowPartialDeletions: true,
				OptionalTransactionMetadata:   s.metadata(a),
			})
			s.timed("DeleteRelationships", start, err)
			s.endWrite(seq, alone, token(resp.GetDeletedAt()))
			if err != nil {
				return total, tok, translate(err)
			}
			tok = token(resp.GetDeletedAt())
			n := int(resp.GetRelationshipsDeletedCount()) //nolint:gosec // at most maxDeletePerCall
			total += n
			if n > 0 {
				s.audit.recordDelete(a, f, n, tok)
			}
			if resp.GetDeletionProgress() != v1.DeleteRelationshipsResponse_DELETION_PROGRESS_PARTIAL {
				break
			}
		}
	}
	return total, tok, nil
}

// Ready implements gatehouse.Store: SpiceDB answers a schema read.
func (s *SpiceDB) Ready(ctx context.Context) error {
	_, err := s.schema.ReadSchema(ctx, &v1.ReadSchemaRequest{})
	if err != nil && status.Code(err) != codes.NotFound {
		return translate(err)
	}
	return nil
}

// translate turns SpiceDB's gRPC errors into gatehouse errors, once, here.
func translate(err error) error {
	if err == nil {
		return nil
	}
	var ge *gatehouse.Error
	if errors.As(err, &ge) {
		return err
	}
	if errors.Is(err, context.Canceled) {
		return &gatehouse.Error{Code: gatehouse.ECANCELED, Message: "request canceled", Err: err}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &gatehouse.Error{Code: gatehouse.EUNAVAILABLE, Message: "SpiceDB did not answer in time", RetryAfter: time.Second, Err: err}
	}
	st, ok := status.FromError(err)
	if !ok {
		return &gatehouse.Error{Code: gatehouse.EINTERNAL, Message: "internal error", Err: err}
	}
	msg := st.Message()
	switch st.Code() {
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted, codes.Aborted:
		return &gatehouse.Error{Code: gatehouse.EUNAVAILABLE, Message: "SpiceDB is unavailable; retry shortly", RetryAfter: time.Second, Err: err}
	case codes.Canceled:
		return &gatehouse.Error{Code: gatehouse.ECANCELED, Message: "request canceled", Err: err}
	case codes.FailedPrecondition:
		if strings.Contains(msg, "precondition") {
			return &gatehouse.Error{Code: gatehouse.ECONFLICT, Message: "a concurrent change got there first; retry", Err: err}
		}
		return &gatehouse.Error{Code: gatehouse.EINVALID, Message: msg, Err: err}
	case codes.AlreadyExists:
		return &gatehouse.Error{Code: gatehouse.ECONFLICT, Message: "it exists already", Err: err}
	case codes.NotFound:
		return &gatehouse.Error{Code: gatehouse.ENOTFOUND, Message: msg, Err: err}
	case codes.InvalidArgument, codes.OutOfRange:
		return &gatehouse.Error{Code: gatehouse.EINVALID, Message: msg, Field: fieldOf(msg), Err: err}
	case codes.Unauthenticated, codes.PermissionDenied:
		return &gatehouse.Error{Code: gatehouse.EUNAVAILABLE, Message: "Gatehouse cannot authenticate to SpiceDB", RetryAfter: 5 * time.Second, Err: err}
	}
	return &gatehouse.Error{Code: gatehouse.EINTERNAL, Message: "internal error", Err: err}
}

// fieldOf guesses which input an InvalidArgument from SpiceDB is about, so
// that a 400 names a field even when the schema, not our parser, refused it.
func fieldOf(msg string) string {
	switch {
	case strings.Contains(msg, "permission") || strings.Contains(msg, "relation"):
		return "permission"
	case strings.Contains(msg, "object definition") || strings.Contains(msg, "object type"):
		return "resource"
	case strings.Contains(msg, "subject"):
		return "subject"
	}
	return ""
}
