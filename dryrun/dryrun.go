// Package dryrun tries a write without making it (X7): a gatehouse.Store
// decorator that reads through to the Store it wraps and, instead of
// writing, decides each write as SpiceDB would (its preconditions, a
// Create of what exists, the audit record, the limit on updates) and
// records it. The workflow runs on it unchanged (workflow.Service.Over),
// so a dry run is refused exactly when the real write would be.
//
// Reads after a recorded write see it: relationship reads are the wrapped
// Store's with the recorded changes laid over them, and checks and lookups
// are answered by a scratch SpiceDB holding the would-be state of the
// organisations the changes touch (see Engine). A workflow that reads its
// own writes (an organisation deleted in batches, a change request
// evaluated once filed) thus runs as it would for real.
//
// Outcome reports the changes and their effect: for the people of the
// touched organisations, every permission of domain.md's tables gained or
// lost on the organisations, their contractors, invoices and change
// requests, each answered by SpiceDB over the state before and after the
// changes, in one scratch SpiceDB. Bounded: MaxRelationships loaded,
// MaxChecks checked per side; past either, Outcome reports no effects and
// says they were truncated.
//
// A stage (NewStage) is the same Store put to another use: the workflow
// runs a whole transition of a change request over it, then makes the
// writes it recorded (Writes) as one real write (Combine). Its scratch
// SpiceDB holds only what a check on the objects written reads, and a
// stage too large to hold refuses to answer (ErrTooLarge) rather than
// answer from the state before its writes.
//
// dryrun imports only the root package and the standard library; workflow,
// server, console and cmd/gatehouse import it.
package dryrun

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"

	"github.com/gatehouse-authz/gatehouse"
)

// Bounds of a dry run's diff, beyond what the real write's checks cost:
// the relationships loaded into the scratch SpiceDB, and the checks made on
// each side of the change (subjects × objects × permissions).
const (
	MaxRelationships = 10000
	MaxChecks        = 20000
)

// maxUpdates is SpiceDB's limit on the updates of one write, which the
// real adapter enforces with the same answer.
const maxUpdates = 1000

// bulkSize is how many checks go in one bulk call to the scratch SpiceDB.
const bulkSize = 500

// Scratch is a SpiceDB of its own, in process, holding a set of
// relationships no other Store sees.
type Scratch interface {
	gatehouse.Store
	// Apply makes updates, unaudited and without preconditions.
	Apply(ctx context.Context, ups []gatehouse.Update) (string, error)
	Close()
}

// Engine starts a Scratch holding the schema and rels.
type Engine func(ctx context.Context, rels []gatehouse.Relationship) (Scratch, error)

// ErrTooLarge is a stage's answer to a check or lookup after a write when
// the organisations its writes touch hold more than MaxRelationships: it
// cannot weigh the would-be state, and answering from the state before
// the writes would be wrong.
var ErrTooLarge = errors.New("dryrun: the stage's organisations hold too many relationships to weigh in a scratch SpiceDB")

// Store is a gatehouse.Store that writes nothing; see the package doc.
// One Store serves one dry run, or one stage.
type Store struct {
	gatehouse.Store
	engine Engine
	// stage narrows the scratch SpiceDB to what checks on the objects
	// written read, and refuses reads it cannot weigh (NewStage).
	stage bool

	mu sync.Mutex
	// net is the last update recorded of each relationship, by key; order
	// lists the keys as first recorded.
	net   map[string]gatehouse.Update
	order []string
	// writes are the writes recorded, as asked, in order (Writes).
	writes []gatehouse.Write
	// after answers checks and lookups once something is recorded; lost is
	// set when it could not be made (too many relationships), and checks
	// then see the state before the dry run.
	after Scratch
	lost  bool
}

// New returns a dry-run Store over store; engine evaluates the would-be
// state (nil: reads after a write see the state before it, and Outcome
// reports no effects).
func New(store gatehouse.Store, engine Engine) *Store {
	return &Store{Store: store, engine: engine, net: map[string]gatehouse.Update{}}
}

// NewStage returns a Store that stages writes over store, to be made as
// one (Writes, Combine): as New, but its scratch SpiceDB (started by
// engine at the first check or lookup after a write) holds only what a
// check on the objects written reads (their organisations' own
// relationships, their change kinds' and targets', the platform's and the
// written objects' own), and a check or lookup it cannot weigh that way is
// ErrTooLarge.
func NewStage(store gatehouse.Store, engine Engine) *Store {
	s := New(store, engine)
	s.stage = true
	return s
}

// Writes returns the writes recorded, in the order made, each as asked
// (its updates, preconditions and audit record); a DeleteMatching is the
// write of the deletes it found.
func (s *Store) Writes() []gatehouse.Write {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.writes)
}

// Close releases the scratch SpiceDB, if one was started.
func (s *Store) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.after != nil {
		s.after.Close()
		s.after = nil
	}
}

// key names a relationship apart from its expiration, as SpiceDB keys it.
func key(r gatehouse.Relationship) string {
	r.ExpiresAt = nil
	return r.String()
}

// wrote reports whether anything is recorded yet.
func (s *Store) wrote() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.order) > 0
}

// ReadRelationships implements gatehouse.Store: the wrapped Store's
// answer with the recorded changes laid over it.
func (s *Store) ReadRelationships(ctx context.Context, f gatehouse.Filter, c gatehouse.Consistency) ([]gatehouse.Relationship, string, error) {
	rels, tok, err := s.Store.ReadRelationships(ctx, f, c)
	if err != nil {
		return nil, "", err
	}
	return s.overlay(f, rels, true), tok, nil
}

// ReadRelationshipsPage implements gatehouse.Store: each page without what
// is recorded deleted, the first with what is recorded written.
func (s *Store) ReadRelationshipsPage(ctx context.Context, req gatehouse.ReadRequest) (gatehouse.ReadResult, error) {
	page, err := s.Store.ReadRelationshipsPage(ctx, req)
	if err != nil {
		return page, err
	}
	page.Relationships = s.overlay(req.Filter, page.Relationships, req.Cursor == "")
	return page, nil
}

// overlay removes from rels every relationship recorded, and adds, when
// written is set, those recorded written that match f.
func (s *Store) overlay(f gatehouse.Filter, rels []gatehouse.Relationship, written bool) []gatehouse.Relationship {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.order) == 0 {
		return rels
	}
	out := slices.DeleteFunc(slices.Clone(rels), func(r gatehouse.Relationship) bool { _, ok := s.net[key(r)]; return ok })
	if written {
		for _, k := range s.order {
			if u := s.net[k]; u.Op != gatehouse.Delete && matches(f, u.Relationship) {
				out = append(out, u.Relationship)
			}
		}
	}
	return out
}

// matches reports whether f selects r, as SpiceDB's filters do.
func matches(f gatehouse.Filter, r gatehouse.Relationship) bool {
	eq := func(want, got string) bool { return want == "" || want == got }
	return eq(f.ResourceType, r.Resource.Type) && eq(f.ResourceID, r.Resource.ID) &&
		strings.HasPrefix(r.Resource.ID, f.IDPrefix) && eq(f.Relation, r.Relation) &&
		eq(f.SubjectType, r.Subject.Type) && eq(f.SubjectID, r.Subject.ID) &&
		(f.SubjectType == "" || eq(f.SubjectRelation, r.Subject.Relation))
}

// evaluator is what answers checks and lookups: the wrapped Store until
// something is recorded, then the scratch SpiceDB of the would-be state.
func (s *Store) evaluator(ctx context.Context) (gatehouse.Store, error) {
	if !s.wrote() || s.engine == nil {
		return s.Store, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.after != nil {
		return s.after, nil
	}
	if s.lost {
		return s.lostEvaluator()
	}
	ups := s.updates()
	rels, ok, err := s.bundle(ctx, ups)
	if err != nil {
		return nil, err
	}
	if !ok {
		s.lost = true
		return s.lostEvaluator()
	}
	sc, err := s.engine(ctx, rels)
	if err != nil {
		return nil, err
	}
	if _, err := sc.Apply(ctx, ups); err != nil {
		sc.Close()
		return nil, err
	}
	s.after = sc
	return sc, nil
}

// lostEvaluator is what answers once the would-be state is too large to
// weigh: a dry run's wrapped Store (the state before it), a stage nothing.
func (s *Store) lostEvaluator() (gatehouse.Store, error) {
	if s.stage {
		return nil, ErrTooLarge
	}
	return s.Store, nil
}

// Check implements gatehouse.Store over the would-be state.
func (s *Store) Check(ctx context.Context, req gatehouse.CheckRequest) (gatehouse.CheckResult, error) {
	e, err := s.evaluator(ctx)
	if err != nil {
		return gatehouse.CheckResult{}, err
	}
	return e.Check(ctx, req)
}

// CheckBulk implements gatehouse.Store over the would-be state.
func (s *Store) CheckBulk(ctx context.Context, reqs []gatehouse.CheckRequest, c gatehouse.Consistency) ([]gatehouse.BulkResult, string, error) {
	e, err := s.evaluator(ctx)
	if err != nil {
		return nil, "", err
	}
	return e.CheckBulk(ctx, reqs, c)
}

// LookupResources implements gatehouse.Store over the would-be state.
func (s *Store) LookupResources(ctx context.Context, req gatehouse.LookupResourcesRequest) (gatehouse.LookupResourcesResult, error) {
	e, err := s.evaluator(ctx)
	if err != nil {
		return gatehouse.LookupResourcesResult{}, err
	}
	return e.LookupResources(ctx, req)
}

// LookupSubjects implements gatehouse.Store over the would-be state.
func (s *Store) LookupSubjects(ctx context.Context, req gatehouse.LookupSubjectsRequest) ([]gatehouse.Subject, string, error) {
	e, err := s.evaluator(ctx)
	if err != nil {
		return nil, "", err
	}
	return e.LookupSubjects(ctx, req)
}

// LookupSubjectsPage implements gatehouse.Store over the would-be state.
func (s *Store) LookupSubjectsPage(ctx context.Context, req gatehouse.LookupSubjectsRequest) (gatehouse.LookupSubjectsResult, error) {
	e, err := s.evaluator(ctx)
	if err != nil {
		return gatehouse.LookupSubjectsResult{}, err
	}
	return e.LookupSubjectsPage(ctx, req)
}

// Explain implements gatehouse.Store over the would-be state.
func (s *Store) Explain(ctx context.Context, req gatehouse.CheckRequest) (gatehouse.Explanation, error) {
	e, err := s.evaluator(ctx)
	if err != nil {
		return gatehouse.Explanation{}, err
	}
	return e.Explain(ctx, req)
}

// WriteSchema refuses: a dry run changes nothing, the schema least of all.
func (s *Store) WriteSchema(context.Context, string) error {
	return gatehouse.Errorf(gatehouse.EINVALID, "a dry run does not write the schema")
}

// latest is the consistency of the reads that decide a write, as SpiceDB
// decides it: the head revision.
var latest = gatehouse.Consistency{FullyConsistent: true}

// Write implements gatehouse.Store: it refuses w as SpiceDB and the real
// adapter would (too many updates, a record that cannot be stored, a
// failed precondition or a Create of what exists: ECONFLICT), otherwise
// records its updates and returns the token of a fully consistent read.
func (s *Store) Write(ctx context.Context, w gatehouse.Write) (string, error) {
	if len(w.Updates) > maxUpdates {
		return "", gatehouse.Invalid("touch", "at most %d changes in one write, got %d", maxUpdates, len(w.Updates))
	}
	if err := validAudit(ctx, w.Audit); err != nil {
		return "", err
	}
	var tok string
	for _, p := range w.Preconditions {
		rels, t, err := s.ReadRelationships(ctx, p.Filter, latest)
		if err != nil {
			return "", err
		}
		tok = t
		if (len(rels) > 0) != p.MustMatch {
			return "", &gatehouse.Error{Code: gatehouse.ECONFLICT, Message: "a concurrent change got there first; retry"}
		}
	}
	for _, u := range w.Updates {
		if u.Op != gatehouse.Create && tok != "" {
			continue
		}
		rels, t, err := s.ReadRelationships(ctx, exact(u.Relationship), latest)
		if err != nil {
			return "", err
		}
		tok = t
		if u.Op == gatehouse.Create && len(rels) > 0 {
			return "", &gatehouse.Error{Code: gatehouse.ECONFLICT, Message: "it exists already"}
		}
	}
	if err := s.record(ctx, w.Updates, w); err != nil {
		return "", err
	}
	return tok, nil
}

// DeleteMatching implements gatehouse.Store: it records the deletion of
// every relationship that matches a filter now.
func (s *Store) DeleteMatching(ctx context.Context, fs []gatehouse.Filter, a gatehouse.Audit) (int, string, error) {
	if err := validAudit(ctx, a); err != nil {
		return 0, "", err
	}
	var (
		ups []gatehouse.Update
		tok string
	)
	for _, f := range fs {
		rels, t, err := s.ReadRelationships(ctx, f, latest)
		if err != nil {
			return 0, "", err
		}
		tok = t
		for _, r := range rels {
			ups = append(ups, gatehouse.Update{Op: gatehouse.Delete, Relationship: r})
		}
	}
	return len(ups), tok, s.record(ctx, ups, gatehouse.Write{Updates: ups, Audit: a})
}

// validAudit refuses a record the real adapter could not store (X2).
func validAudit(ctx context.Context, a gatehouse.Audit) error {
	if a.Actor == "" && a.Action == "" {
		return nil
	}
	return gatehouse.StampAudit(ctx, a).Validate()
}

// record adds ups, of the write w, to what the dry run would change and,
// once checks see the would-be state, to it.
func (s *Store) record(ctx context.Context, ups []gatehouse.Update, w gatehouse.Write) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	w.Updates, w.Preconditions = slices.Clone(w.Updates), slices.Clone(w.Preconditions)
	s.writes = append(s.writes, w)
	for _, u := range ups {
		k := key(u.Relationship)
		if _, ok := s.net[k]; !ok {
			s.order = append(s.order, k)
		}
		s.net[k] = u
	}
	if s.after != nil && len(ups) > 0 {
		if _, err := s.after.Apply(ctx, ups); err != nil {
			return err
		}
	}
	return nil
}

// updates returns what is recorded, one update a relationship, in order.
// The caller holds mu.
func (s *Store) updates() []gatehouse.Update {
	out := make([]gatehouse.Update, len(s.order))
	for i, k := range s.order {
		out[i] = s.net[k]
	}
	return out
}

// exact is the filter that matches r and nothing else.
func exact(r gatehouse.Relationship) gatehouse.Filter {
	return gatehouse.Filter{
		ResourceType: r.Resource.Type, ResourceID: r.Resource.ID, Relation: r.Relation,
		SubjectType: r.Subject.Type, SubjectID: r.Subject.ID, SubjectRelation: r.Subject.Relation,
	}
}
