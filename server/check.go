package server

import (
	"context"
	"fmt"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/schema"
	"github.com/gatehouse-authz/gatehouse/wire"
)

// parseCheck validates a check against the schema; prefix names nested fields ("items[3].").
func parseCheck(idx *schema.Index, b wire.CheckRequest, prefix string) (gatehouse.CheckRequest, error) {
	if err := required(prefix+"resource", b.Resource); err != nil {
		return gatehouse.CheckRequest{}, err
	}
	res, err := gatehouse.ParseObject(prefix+"resource", b.Resource)
	if err != nil {
		return gatehouse.CheckRequest{}, err
	}
	if err := permissionName(prefix+"permission", b.Permission); err != nil {
		return gatehouse.CheckRequest{}, err
	}
	sub, err := subject(prefix+"subject", b.Subject)
	if err != nil {
		return gatehouse.CheckRequest{}, err
	}
	if err := knownPermission(idx, prefix+"resource", prefix+"permission", res.Type, b.Permission); err != nil {
		return gatehouse.CheckRequest{}, err
	}
	if err := knownSubject(idx, prefix+"subject", prefix+"subject", sub.Type, sub.Relation); err != nil {
		return gatehouse.CheckRequest{}, err
	}
	cons, err := consistency(prefix+"consistency", b.Consistency)
	if err != nil {
		return gatehouse.CheckRequest{}, err
	}
	return gatehouse.CheckRequest{Resource: res, Permission: b.Permission, Subject: sub, Context: b.Context, Consistency: cons}, nil
}

// subject parses a required subject reference.
func subject(field, v string) (gatehouse.Subject, error) {
	if err := required(field, v); err != nil {
		return gatehouse.Subject{}, err
	}
	return gatehouse.ParseSubject(field, v)
}

// knownPermission refuses a resource type or permission the schema does not define.
func knownPermission(idx *schema.Index, typeField, permField, typ, perm string) error {
	if !idx.HasType(typ) {
		return gatehouse.Invalid(typeField, "object type %q is not defined in the schema", typ)
	}
	if !idx.Has(typ, perm) {
		return gatehouse.Invalid(permField, "%q is not a permission or relation of %s", perm, typ)
	}
	return nil
}

// knownSubject refuses a subject type or subject relation the schema does not define.
func knownSubject(idx *schema.Index, typeField, relField, typ, rel string) error {
	if !idx.HasType(typ) {
		return gatehouse.Invalid(typeField, "subject type %q is not defined in the schema", typ)
	}
	if rel != "" && !idx.Has(typ, rel) {
		return gatehouse.Invalid(relField, "%q is not a relation of %s", rel, typ)
	}
	return nil
}

func checkResult(r gatehouse.CheckResult) wire.CheckResult {
	return wire.CheckResult{Allowed: r.Allowed, Conditional: r.Conditional, MissingContext: r.MissingContext, ZedToken: r.ZedToken}
}

// handleCheck serves POST /v1/check.
func handleCheck(d Deps) op[wire.CheckRequest, wire.CheckResult] {
	return checking(d, func(ctx context.Context, req gatehouse.CheckRequest) (wire.CheckResult, error) {
		res, err := d.Workflow.Check(ctx, req)
		return checkResult(res), err
	})
}

// checking is an operation on one check body, validated against the schema first.
func checking[R any](d Deps, run func(context.Context, gatehouse.CheckRequest) (R, error)) op[wire.CheckRequest, R] {
	return func(ctx context.Context, in In[wire.CheckRequest]) (R, error) {
		req, err := parseCheck(d.Schema, in.Body, "")
		if err != nil {
			var zero R
			return zero, err
		}
		return run(ctx, req)
	}
}

// maxBulk is the most checks one bulk request may carry.
const maxBulk = 1000

// handleCheckBulk serves POST /v1/check/bulk: items that fail validation
// answer with their error in place; the rest go to SpiceDB in one call.
func handleCheckBulk(d Deps) op[wire.BulkCheckRequest, wire.BulkCheckResult] {
	return func(ctx context.Context, in In[wire.BulkCheckRequest]) (wire.BulkCheckResult, error) {
		b := in.Body
		if len(b.Items) == 0 {
			return wire.BulkCheckResult{}, gatehouse.Invalid("items", "items must hold at least one check")
		}
		if len(b.Items) > maxBulk {
			return wire.BulkCheckResult{}, gatehouse.Invalid("items", "at most %d checks in one request, got %d", maxBulk, len(b.Items))
		}
		cons, err := consistency("consistency", b.Consistency)
		if err != nil {
			return wire.BulkCheckResult{}, err
		}
		out := wire.BulkCheckResult{Results: make([]wire.BulkItem, len(b.Items))}
		var reqs []gatehouse.CheckRequest
		var at []int
		for i, it := range b.Items {
			req, err := parseCheck(d.Schema, it, fmt.Sprintf("items[%d].", i))
			if err != nil {
				out.Results[i].Error = itemError(err)
				continue
			}
			reqs = append(reqs, req)
			at = append(at, i)
		}
		if len(reqs) == 0 {
			return out, nil
		}
		res, tok, err := d.Store.CheckBulk(ctx, reqs, cons)
		if err != nil {
			return wire.BulkCheckResult{}, err
		}
		out.ZedToken = tok
		for j, r := range res {
			i := at[j]
			if r.Err != nil {
				out.Results[i].Error = itemError(r.Err)
				continue
			}
			out.Results[i].CheckResult = checkResult(r.CheckResult)
			out.Results[i].ZedToken = ""
		}
		return out, nil
	}
}

// itemError is what a caller may see of one bulk item's error.
func itemError(err error) *wire.ErrorDetail {
	_, det, _ := detailOf(err)
	return &det
}

// handleLookupResources serves POST /v1/lookup/resources.
func handleLookupResources(d Deps) op[wire.LookupResourcesRequest, wire.LookupResourcesResult] {
	return func(ctx context.Context, in In[wire.LookupResourcesRequest]) (wire.LookupResourcesResult, error) {
		b := in.Body
		if err := typeName("resourceType", b.ResourceType); err != nil {
			return wire.LookupResourcesResult{}, err
		}
		if err := permissionName("permission", b.Permission); err != nil {
			return wire.LookupResourcesResult{}, err
		}
		sub, err := subject("subject", b.Subject)
		if err != nil {
			return wire.LookupResourcesResult{}, err
		}
		if err := knownPermission(d.Schema, "resourceType", "permission", b.ResourceType, b.Permission); err != nil {
			return wire.LookupResourcesResult{}, err
		}
		if err := knownSubject(d.Schema, "subject", "subject", sub.Type, sub.Relation); err != nil {
			return wire.LookupResourcesResult{}, err
		}
		n, err := pageLimit(b.Limit)
		if err != nil {
			return wire.LookupResourcesResult{}, err
		}
		cons, err := consistency("consistency", b.Consistency)
		if err != nil {
			return wire.LookupResourcesResult{}, err
		}
		res, err := d.Workflow.LookupResources(ctx, gatehouse.LookupResourcesRequest{
			ResourceType: b.ResourceType, Permission: b.Permission, Subject: sub, Context: b.Context,
			Limit: n, Cursor: b.Cursor, Consistency: cons,
		})
		return wire.LookupResourcesResult{Resources: strs(res.Resources), Cursor: res.Cursor, ZedToken: res.ZedToken}, err
	}
}

// handleLookupSubjects serves POST /v1/lookup/subjects.
func handleLookupSubjects(d Deps) op[wire.LookupSubjectsRequest, wire.LookupSubjectsResult] {
	return func(ctx context.Context, in In[wire.LookupSubjectsRequest]) (wire.LookupSubjectsResult, error) {
		b := in.Body
		if err := required("resource", b.Resource); err != nil {
			return wire.LookupSubjectsResult{}, err
		}
		res, err := gatehouse.ParseObject("resource", b.Resource)
		if err != nil {
			return wire.LookupSubjectsResult{}, err
		}
		if err := permissionName("permission", b.Permission); err != nil {
			return wire.LookupSubjectsResult{}, err
		}
		if err := typeName("subjectType", b.SubjectType); err != nil {
			return wire.LookupSubjectsResult{}, err
		}
		if b.SubjectRelation != "" && !gatehouse.ValidRelation(b.SubjectRelation) {
			return wire.LookupSubjectsResult{}, gatehouse.Invalid("subjectRelation", "%q is not a valid relation name", b.SubjectRelation)
		}
		if err := knownPermission(d.Schema, "resource", "permission", res.Type, b.Permission); err != nil {
			return wire.LookupSubjectsResult{}, err
		}
		if err := knownSubject(d.Schema, "subjectType", "subjectRelation", b.SubjectType, b.SubjectRelation); err != nil {
			return wire.LookupSubjectsResult{}, err
		}
		n, err := pageLimit(b.Limit)
		if err != nil {
			return wire.LookupSubjectsResult{}, err
		}
		cons, err := consistency("consistency", b.Consistency)
		if err != nil {
			return wire.LookupSubjectsResult{}, err
		}
		page, err := d.Workflow.LookupSubjects(ctx, gatehouse.LookupSubjectsRequest{
			Resource: res, Permission: b.Permission, SubjectType: b.SubjectType, SubjectRelation: b.SubjectRelation,
			Context: b.Context, Limit: n, Cursor: b.Cursor, Consistency: cons,
		})
		return wire.LookupSubjectsResult{Subjects: strs(page.Subjects), Cursor: page.Cursor, ZedToken: page.ZedToken}, err
	}
}

// handleExplain serves POST /v1/explain.
func handleExplain(d Deps) op[wire.CheckRequest, wire.Explanation] {
	return checking(d, func(ctx context.Context, req gatehouse.CheckRequest) (wire.Explanation, error) {
		ex, err := d.Workflow.Explain(ctx, req)
		out := wire.Explanation{Allowed: ex.Allowed, Paths: make([][]string, len(ex.Paths)), Truncated: ex.Truncated, ZedToken: ex.ZedToken}
		for i, p := range ex.Paths {
			out.Paths[i] = strs(p)
		}
		out.PathsUntil = pathsUntil(ex.Paths)
		if err != nil || ex.Allowed {
			return out, err
		}
		wn, err := d.Workflow.WhyNot(ctx, req, ex.ZedToken)
		if err != nil {
			return wire.Explanation{}, err
		}
		out.WhyNot = whyNotWays(d, wn)
		out.Summary = whyNotSummary(req, out.WhyNot)
		out.Truncated = out.Truncated || wn.Truncated
		return out, nil
	})
}

// pageLimit reads the limit of a list's body: wire.DefaultLimit when it
// names none, else 1 to wire.MaxLimit (api.md: reads are bounded).
func pageLimit(n *int) (int, error) {
	if n == nil {
		return wire.DefaultLimit, nil
	}
	if *n < 1 || *n > wire.MaxLimit {
		return 0, gatehouse.Invalid("limit", "limit must be between 1 and %d, got %d", wire.MaxLimit, *n)
	}
	return *n, nil
}

// strs prints references in zed's notation; never nil, so a list is [] not null.
func strs[T fmt.Stringer](in []T) []string {
	out := make([]string, len(in))
	for i, v := range in {
		out[i] = v.String()
	}
	return out
}
