package spicedb

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/grpc/status"

	"github.com/gatehouse-authz/gatehouse"
)

// Checks at the Watch stream's snapshot that the decision cache could not
// answer are coalesced (issue 20): SpiceDB spends much of a one-item check
// on the call itself (its middleware, the revision, the dispatch set-up),
// and CheckBulkPermissions pays that once for many items at one revision,
// sharing the sub-problems they have in common. Coalescing waits for
// nothing: up to coalesceAfter checks go out on their own at once; a check
// that comes while that many are in flight waits for one of them to
// return, and then every check waiting at the same snapshot goes in one
// bulk call (at most maxCoalesced). An idle replica answers exactly as
// before; a busy one sends fewer, larger calls.
const (
	coalesceAfter = 4
	maxCoalesced  = 100
	// coalescedTimeout bounds a bulk call, which serves many callers and
	// so runs on a context of its own.
	coalescedTimeout = 10 * time.Second
)

type coalescer struct {
	mu       sync.Mutex
	inflight int
	// alone is how many checks go out on their own at once: coalesceAfter
	// unless set (a benchmark compares the two).
	alone int
	// waiting holds the checks that wait for a call, by snapshot.
	waiting map[string][]*pendingCheck
	// bulks and items count the bulk calls made and the checks they held.
	bulks, items atomic.Int64
}

type pendingCheck struct {
	ctx  context.Context
	item *v1.CheckBulkPermissionsRequestItem
	done chan struct{}
	res  gatehouse.CheckResult
	err  error
}

// check answers req at the exact snapshot snap, alone or with others.
func (s *SpiceDB) coalescedCheck(ctx context.Context, snap string, req gatehouse.CheckRequest) (gatehouse.CheckResult, error) {
	c := &s.coalesce
	c.mu.Lock()
	limit := c.alone
	if limit == 0 {
		limit = coalesceAfter
	}
	if c.inflight < limit {
		c.inflight++
		c.mu.Unlock()
		res, err := s.checkAt(ctx, snap, req)
		s.coalesced()
		return res, err
	}
	p := &pendingCheck{ctx: ctx, done: make(chan struct{}), item: &v1.CheckBulkPermissionsRequestItem{
		Resource: objRef(req.Resource), Permission: req.Permission, Subject: subjRef(req.Subject),
	}}
	if c.waiting == nil {
		c.waiting = map[string][]*pendingCheck{}
	}
	c.waiting[snap] = append(c.waiting[snap], p)
	c.mu.Unlock()
	select {
	case <-p.done:
		return p.res, p.err
	case <-ctx.Done():
		// The bulk call still answers it, to nobody.
		return gatehouse.CheckResult{}, translate(ctx.Err())
	}
}

// checkAt is one CheckPermission at the exact snapshot snap.
func (s *SpiceDB) checkAt(ctx context.Context, snap string, req gatehouse.CheckRequest) (gatehouse.CheckResult, error) {
	start := time.Now()
	resp, err := s.perms.CheckPermission(ctx, &v1.CheckPermissionRequest{
		Consistency: exact(snap),
		Resource:    objRef(req.Resource),
		Permission:  req.Permission,
		Subject:     subjRef(req.Subject),
	})
	s.timed("CheckPermission", start, err)
	if err != nil {
		return gatehouse.CheckResult{}, translate(err)
	}
	return checkResult(resp.GetPermissionship(), resp.GetPartialCaveatInfo(), snap), nil
}

// coalesced is called as a call returns: its slot goes to the checks
// waiting at one snapshot, in one bulk call, or is given up.
func (s *SpiceDB) coalesced() {
	c := &s.coalesce
	c.mu.Lock()
	var snap string
	var group []*pendingCheck
	for tok, ps := range c.waiting {
		snap = tok
		if len(ps) > maxCoalesced {
			group, c.waiting[tok] = ps[:maxCoalesced], ps[maxCoalesced:]
		} else {
			group = ps
			delete(c.waiting, tok)
		}
		break
	}
	if group == nil {
		c.inflight--
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	go s.checkTogether(snap, group)
}

// checkTogether answers group, checks waiting at the exact snapshot snap,
// with one CheckBulkPermissions call, and then hands its slot on.
func (s *SpiceDB) checkTogether(snap string, group []*pendingCheck) {
	defer s.coalesced()
	s.coalesce.bulks.Add(1)
	s.coalesce.items.Add(int64(len(group)))
	items := make([]*v1.CheckBulkPermissionsRequestItem, len(group))
	for i, p := range group {
		items[i] = p.item
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(group[0].ctx), coalescedTimeout)
	defer cancel()
	start := time.Now()
	resp, err := s.perms.CheckBulkPermissions(ctx, &v1.CheckBulkPermissionsRequest{Consistency: exact(snap), Items: items})
	s.timed("CheckBulkPermissions", start, err)
	pairs := resp.GetPairs()
	for i, p := range group {
		switch {
		case err != nil:
			p.err = translate(err)
		case i >= len(pairs):
			p.err = &gatehouse.Error{Code: gatehouse.EUNAVAILABLE, Message: "SpiceDB answered a bulk check with fewer items than asked"}
		case pairs[i].GetError() != nil:
			p.err = translate(status.ErrorProto(pairs[i].GetError()))
		default:
			it := pairs[i].GetItem()
			p.res = checkResult(it.GetPermissionship(), it.GetPartialCaveatInfo(), snap)
		}
		close(p.done)
	}
}

// Coalesced is how many bulk calls carried checks that waited for a
// call, and how many checks they held in all.
func (s *SpiceDB) Coalesced() (bulks, checks int64) {
	return s.coalesce.bulks.Load(), s.coalesce.items.Load()
}
