package spicedb

import (
	"context"
	"fmt"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/grpc/status"

	"github.com/gatehouse-authz/gatehouse"
)

// Check implements gatehouse.Store. Without a consistency of the caller's
// own it goes to the in-process checker when there is one: that answers at
// the head revision, which includes every write this process made.
func (s *SpiceDB) Check(ctx context.Context, req gatehouse.CheckRequest) (gatehouse.CheckResult, error) {
	if s.fast != nil && req.Consistency.AtLeastAsFresh == "" {
		// The engine ignores a context no caveat reads; refuse what gRPC would.
		if _, err := toStruct("context", req.Context); err != nil {
			return gatehouse.CheckResult{}, err
		}
		start := time.Now()
		res, err := s.decided.check(req, func() (gatehouse.CheckResult, error) {
			res, err := s.fast.Check(ctx, req)
			s.timed("CheckEmbedded", start, err)
			return res, err
		})
		if err != nil {
			return res, translate(err)
		}
		// The engine answers at the head revision, which is at least as
		// fresh as the last write this process made: that write's token is
		// a true bound for the caller to pass on.
		res.ZedToken = s.fresh.latest()
		return res, nil
	}
	if res, ok, err := s.watchedCheck(ctx, req); ok {
		return res, err
	}
	resp, err := s.checkPermission(ctx, req)
	if err != nil {
		return gatehouse.CheckResult{}, err
	}
	return checkResult(resp.GetPermissionship(), resp.GetPartialCaveatInfo(), token(resp.GetCheckedAt())), nil
}

// watchedCheck answers req at the snapshot the Watch stream keeps, from
// the decision cache when it can (false: req goes as it would without the
// stream). The answer's token is the snapshot's: no change that could
// alter the answer came since it was computed, or the cache would have
// dropped it.
func (s *SpiceDB) watchedCheck(ctx context.Context, req gatehouse.CheckRequest) (gatehouse.CheckResult, bool, error) {
	if s.follow == nil || len(req.Context) > 0 {
		return gatehouse.CheckResult{}, false, nil
	}
	c := s.afterExpiry(ctx, req.Consistency)
	// The key before the snapshot: see follower.heard.
	key, cached := s.decided.watchedKey(req)
	snap := s.snapshotFor(ctx, c)
	if snap == "" {
		return gatehouse.CheckResult{}, false, nil
	}
	if cached {
		if res, ok := s.decided.cache.GetIfPresent(key); ok {
			s.decided.hits.Add(1)
			res.ZedToken = snap
			return res, true, nil
		}
	}
	if cached && s.lookups != nil {
		if res, ok := s.checkFromLookup(req, key.lookup(), snap); ok {
			return res, true, nil
		}
	}
	res, err := s.coalescedCheck(ctx, snap, req)
	if err != nil {
		return gatehouse.CheckResult{}, true, err
	}
	if cached {
		s.decided.cache.Set(key, res)
	}
	return res, true, nil
}

// checkPermission is one CheckPermission call through gRPC, with the
// process's read-your-writes consistency unless the request names its own.
func (s *SpiceDB) checkPermission(ctx context.Context, req gatehouse.CheckRequest) (*v1.CheckPermissionResponse, error) {
	c, err := toStruct("context", req.Context)
	if err != nil {
		return nil, err
	}
	cons, settle := s.checkConsistency(ctx, req.Consistency)
	start := time.Now()
	resp, err := s.perms.CheckPermission(ctx, &v1.CheckPermissionRequest{
		Consistency: cons,
		Resource:    objRef(req.Resource),
		Permission:  req.Permission,
		Subject:     subjRef(req.Subject),
		Context:     c,
	})
	s.timed("CheckPermission", start, err)
	if err != nil {
		return nil, translate(err)
	}
	if settle != nil {
		settle(token(resp.GetCheckedAt()))
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
	resp, err := s.perms.CheckBulkPermissions(ctx, &v1.CheckBulkPermissionsRequest{Consistency: s.consistency(ctx, c), Items: items})
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

// CacheHits counts the checks this Store answered from its decision cache.
func (s *SpiceDB) CacheHits() int64 {
	if s.decided == nil {
		return 0
	}
	return s.decided.hits.Load()
}
