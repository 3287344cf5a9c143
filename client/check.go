package client

import (
	"context"
	"iter"

	"github.com/gatehouse-authz/gatehouse/wire"
)

// AtLeastAsFresh asks for a read that sees at least the write that
// returned token (its ZedToken). An empty token gives nil: the default.
func AtLeastAsFresh(token string) *Consistency {
	if token == "" {
		return nil
	}
	return &Consistency{AtLeastAsFresh: token}
}

// FullyConsistent asks for a read at SpiceDB's newest revision.
func FullyConsistent() *Consistency { return &Consistency{FullyConsistent: true} }

// MinimizeLatency asks for the fastest read, which may miss writes of the
// last few seconds made through other Gatehouse processes.
func MinimizeLatency() *Consistency { return &Consistency{MinimizeLatency: true} }

// Check asks whether req.Subject holds req.Permission on req.Resource
// (POST /v1/check). A denial is a result with Allowed false, not an error.
func (c *Client) Check(ctx context.Context, req CheckRequest) (*CheckResult, error) {
	req.Consistency = c.consistency(req.Consistency)
	var out CheckResult
	if err := c.ask(ctx, "/v1/check", req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CheckBulk answers up to 1000 checks at once (POST /v1/check/bulk). cons
// applies to every item (nil: the client's default); an item that fails
// on its own has its Error set and does not fail the call.
func (c *Client) CheckBulk(ctx context.Context, items []CheckRequest, cons *Consistency) (*BulkCheckResult, error) {
	var out BulkCheckResult
	if err := c.ask(ctx, "/v1/check/bulk", wire.BulkCheckRequest{Items: items, Consistency: c.consistency(cons)}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// LookupResources lists one page of the resources req.Subject may reach
// (POST /v1/lookup/resources).
func (c *Client) LookupResources(ctx context.Context, req LookupResourcesRequest) (*LookupResourcesResult, error) {
	req.Consistency = c.consistency(req.Consistency)
	var out LookupResourcesResult
	if err := c.ask(ctx, "/v1/lookup/resources", req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// AllResources yields every resource req.Subject may reach, following the
// cursor page by page; it stops at the first error, which it yields.
// Every page after the first reads at the ZedToken of the first, so the
// pages agree with each other.
func (c *Client) AllResources(ctx context.Context, req LookupResourcesRequest) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		for {
			page, err := c.LookupResources(ctx, req)
			if err != nil {
				yield("", err)
				return
			}
			for _, r := range page.Resources {
				if !yield(r, nil) {
					return
				}
			}
			if page.Cursor == "" || len(page.Resources) == 0 {
				return
			}
			req.Cursor = page.Cursor
			if req.Consistency == nil && page.ZedToken != "" {
				req.Consistency = AtLeastAsFresh(page.ZedToken)
			}
		}
	}
}

// LookupSubjects lists who holds req.Permission on req.Resource (POST
// /v1/lookup/subjects).
func (c *Client) LookupSubjects(ctx context.Context, req LookupSubjectsRequest) (*LookupSubjectsResult, error) {
	req.Consistency = c.consistency(req.Consistency)
	var out LookupSubjectsResult
	if err := c.ask(ctx, "/v1/lookup/subjects", req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Explain answers a check with the relationship chains that grant it (POST
// /v1/explain) or, when it is denied, with WhyNot: each way it could be
// granted, the relationships it lacks and who may write them, and what
// blocks it by rule ID, summed up in Summary (X6).
func (c *Client) Explain(ctx context.Context, req CheckRequest) (*Explanation, error) {
	req.Consistency = c.consistency(req.Consistency)
	var out Explanation
	if err := c.ask(ctx, "/v1/explain", req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
