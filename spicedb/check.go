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
// Elsewhere a check that may go to the Watch stream's snapshot (or names
// an exact snapshot) is read there, coalesced with others (see coalescer).
func (s *SpiceDB) Check(ctx context.Context, req gatehouse.CheckRequest) (gatehouse.CheckResult, error) {
	if s.fast != nil && req.Consistency.AtLeastAsFresh == "" && req.Consistency.AtExactSnapshot == "" {
		// The engine ignores a context no caveat reads; refuse what gRPC would.
		if _, err := toStruct("context", req.Context); err != nil {
			return gatehouse.CheckResult{}, err
		}
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
	if len(req.Context) == 0 {
		if snap := s.exactSnapshot(ctx, req.Consistency); snap != "" {
			return s.coalescedCheck(ctx, snap, req)
		}
	}
	resp, err := s.checkPermission(ctx, req)
	if err != nil {
		return gatehouse.CheckResult{}, err
	}
	return checkResult(resp.GetPermissionship(), resp.GetPartialCaveatInfo(), token(resp.GetCheckedAt())), nil
}

// exactSnapshot is the snapshot a read of c goes to exactly: the one c
// names, or the Watch stream's when the read may go there (snapshotFor);
// "" otherwise.
func (s *SpiceDB) exactSnapshot(ctx context.Context, c gatehouse.Consistency) string {
	if c.AtExactSnapshot != "" {
		return c.AtExactSnapshot
	}
	if s.follow == nil {
		return ""
	}
	return s.snapshotFor(ctx, s.afterExpiry(ctx, c))
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
