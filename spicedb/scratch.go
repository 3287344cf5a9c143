package spicedb

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/authzed/spicedb/pkg/development"
	core "github.com/authzed/spicedb/pkg/proto/core/v1"
	devinterface "github.com/authzed/spicedb/pkg/proto/developer/v1"
	"github.com/authzed/spicedb/pkg/tuple"

	"github.com/gatehouse-authz/gatehouse"
)

// devMaxUpdates is the most updates pkg/development's in-memory v1 service
// takes in one write.
const devMaxUpdates = 50

// Scratch is a SpiceDB of its own, in process and in memory, holding a
// schema and a set of relationships that no other Store sees: SpiceDB's
// own evaluation of a would-be state (X7). Close releases it.
type Scratch struct {
	*SpiceDB
	close func()
}

// Close releases the scratch SpiceDB.
func (s *Scratch) Close() { s.close() }

// Apply makes updates in the scratch SpiceDB, unaudited and in batches,
// without preconditions: the caller decided them already.
func (s *Scratch) Apply(ctx context.Context, ups []gatehouse.Update) (string, error) {
	var tok string
	for len(ups) > 0 {
		n := min(len(ups), devMaxUpdates)
		batch := make([]gatehouse.Update, n)
		for i, u := range ups[:n] {
			if u.Op == gatehouse.Create {
				u.Op = gatehouse.Touch
			}
			batch[i] = u
		}
		t, err := s.Write(ctx, gatehouse.Write{Updates: batch})
		if err != nil {
			return "", err
		}
		tok, ups = t, ups[n:]
	}
	return tok, nil
}

// newDevScratch is the alternative NewScratch was measured against
// (BenchmarkScratch): SpiceDB's development package, zed's engine (a memdb
// datastore and a local dispatcher with no caches, served over an
// in-memory v1 API). It starts as fast, but checks about ten times slower.
func newDevScratch(ctx context.Context, schema string, rels []gatehouse.Relationship) (*Scratch, error) {
	req := &devinterface.RequestContext{Schema: schema, Relationships: make([]*core.RelationTuple, len(rels))}
	for i, r := range rels {
		req.Relationships[i] = tuple.FromV1Relationship(toRel(r)).ToCoreTuple()
	}
	dc, devErrs, err := development.NewDevContext(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("loading a scratch SpiceDB: %w", err)
	}
	if devErrs != nil {
		msgs := make([]string, 0, len(devErrs.GetInputErrors()))
		for _, e := range devErrs.GetInputErrors() {
			msgs = append(msgs, e.GetMessage()+" ("+e.GetContext()+")")
		}
		return nil, errors.New("loading a scratch SpiceDB: " + strings.Join(msgs, "; "))
	}
	conn, stop, err := dc.RunV1InMemoryService()
	if err != nil {
		dc.Dispose()
		return nil, fmt.Errorf("serving a scratch SpiceDB: %w", err)
	}
	return &Scratch{SpiceDB: New(conn), close: func() { stop(); dc.Dispose() }}, nil
}

// NewScratch evaluates schema over rels in a SpiceDB of its own: an
// embedded server on a fresh memory datastore, with the in-process check
// engine and the memory index of StartEmbedded. Measured (BenchmarkScratch,
// the seed loaded, 160 checks before and after removing carla): about 80 ms
// per round against 460 ms with pkg/development.
func NewScratch(ctx context.Context, schema string, rels []gatehouse.Relationship) (*Scratch, error) {
	e, err := StartEmbedded(ctx, EmbeddedConfig{Datastore: "memory"})
	if err != nil {
		return nil, err
	}
	s := &Scratch{SpiceDB: New(e.Conn, e.Options()...), close: func() { _ = e.Close() }}
	if err := s.WriteSchema(ctx, schema); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.load(ctx, rels); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// load touches rels in s, in writes of at most maxUpdatesPerWrite.
func (s *Scratch) load(ctx context.Context, rels []gatehouse.Relationship) error {
	for len(rels) > 0 {
		n := min(len(rels), maxUpdatesPerWrite)
		w := gatehouse.Write{Updates: make([]gatehouse.Update, n)}
		for i, r := range rels[:n] {
			w.Updates[i] = gatehouse.Update{Op: gatehouse.Touch, Relationship: r}
		}
		if _, err := s.Write(ctx, w); err != nil {
			return err
		}
		rels = rels[n:]
	}
	return nil
}

// ScratchPool keeps scratch SpiceDBs started, with the schema written, to
// be used again: starting one and writing the schema is most of what a
// scratch costs (about 100 to 250 ms; loading a few hundred relationships
// takes a few), and the workflow weighs every filing in one (X7's stage).
// A scratch given back is emptied (every relationship of every definition
// deleted) before anyone takes it again.
type ScratchPool struct {
	schema string
	types  []string
	keep   int

	mu     sync.Mutex
	idle   []*Scratch
	closed bool
}

// NewScratchPool returns a pool of scratch SpiceDBs holding schema, which
// keeps up to keep of them idle.
func NewScratchPool(schema string, keep int) *ScratchPool {
	p := &ScratchPool{schema: schema, keep: keep}
	for _, m := range definitionRE.FindAllStringSubmatch(schema, -1) {
		p.types = append(p.types, m[1])
	}
	return p
}

// definitionRE finds the names of a schema's definitions.
var definitionRE = regexp.MustCompile(`(?m)^definition\s+([a-z][a-z0-9_/]*)`)

// Start returns a scratch SpiceDB holding the pool's schema and rels: an
// idle one when there is one, else a new one. Its Close gives it back.
func (p *ScratchPool) Start(ctx context.Context, rels []gatehouse.Relationship) (*Scratch, error) {
	p.mu.Lock()
	var s *Scratch
	if n := len(p.idle); n > 0 {
		s, p.idle = p.idle[n-1], p.idle[:n-1]
	}
	p.mu.Unlock()
	if s == nil {
		var err error
		if s, err = NewScratch(ctx, p.schema, nil); err != nil {
			return nil, err
		}
	}
	if err := s.load(ctx, rels); err != nil {
		s.Close()
		return nil, err
	}
	return &Scratch{SpiceDB: s.SpiceDB, close: func() { go p.giveBack(s) }}, nil
}

// giveBack empties s and keeps it idle, or closes it when the pool keeps
// enough, is closed, or s could not be emptied.
func (p *ScratchPool) giveBack(s *Scratch) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, t := range p.types {
		if _, _, err := s.DeleteMatching(ctx, []gatehouse.Filter{{ResourceType: t}}, gatehouse.Audit{}); err != nil {
			s.Close()
			return
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || len(p.idle) >= p.keep {
		s.Close()
		return
	}
	p.idle = append(p.idle, s)
}

// Close closes the idle scratch SpiceDBs; those in use close when given back.
func (p *ScratchPool) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for _, s := range p.idle {
		s.Close()
	}
	p.idle = nil
}
