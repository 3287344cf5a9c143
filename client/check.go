package client

import (
	"context"
	"encoding/json"
	"iter"
)

// Consistency is how fresh a read must be, in SpiceDB's terms; set one
// field. Nil lets the server choose: it sees every write made through the
// same Gatehouse process and is otherwise as fast as possible.
type Consistency struct {
	AtLeastAsFresh  string `json:"atLeastAsFresh,omitempty"`
	FullyConsistent bool   `json:"fullyConsistent,omitempty"`
	MinimizeLatency bool   `json:"minimizeLatency,omitempty"`
}

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

// CheckRequest asks whether Subject ("user:alice", or "type:id#relation")
// holds Permission on Resource ("contractor:c1"). Context feeds caveats.
type CheckRequest struct {
	Resource    string         `json:"resource"`
	Permission  string         `json:"permission"`
	Subject     string         `json:"subject"`
	Context     map[string]any `json:"context,omitempty"`
	Consistency *Consistency   `json:"consistency,omitempty"`
}

// CheckResult is the answer to a check. Conditional means a caveat lacked
// context; MissingContext names what it lacked.
type CheckResult struct {
	Allowed        bool     `json:"allowed"`
	Conditional    bool     `json:"conditional,omitempty"`
	MissingContext []string `json:"missingContext,omitempty"`
	ZedToken       string   `json:"zedToken,omitempty"`
}

// Check asks whether req.Subject holds req.Permission on req.Resource
// (POST /v1/check). A denial is a result with Allowed false, not an error.
func (c *Client) Check(ctx context.Context, req CheckRequest) (*CheckResult, error) {
	req.Consistency = c.consistency(req.Consistency)
	var out CheckResult
	if err := c.post(ctx, "/v1/check", req, &out, true); err != nil {
		return nil, err
	}
	return &out, nil
}

// BulkCheckResult holds the answers of a bulk check in request order.
type BulkCheckResult struct {
	Results  []BulkItem `json:"results"`
	ZedToken string     `json:"zedToken,omitempty"`
}

// BulkItem is one answer of a bulk check: the result, or Error when that
// item alone failed (a malformed reference, say).
type BulkItem struct {
	CheckResult
	Error *Error `json:"-"`
}

// UnmarshalJSON reads {"allowed": ...} or {"error": {...}}.
func (b *BulkItem) UnmarshalJSON(data []byte) error {
	var raw struct {
		CheckResult
		Error *struct {
			Code       string `json:"code"`
			Message    string `json:"message"`
			Field      string `json:"field"`
			Permission string `json:"permission"`
			Rule       string `json:"rule"`
		} `json:"error"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	b.CheckResult = raw.CheckResult
	b.Error = nil
	if raw.Error != nil {
		b.Error = &Error{
			Code: raw.Error.Code, Message: raw.Error.Message, Field: raw.Error.Field,
			Permission: raw.Error.Permission, Rule: raw.Error.Rule,
		}
	}
	return nil
}

// bulkBody is the body of POST /v1/check/bulk.
type bulkBody struct {
	Items       []CheckRequest `json:"items"`
	Consistency *Consistency   `json:"consistency,omitempty"`
}

// CheckBulk answers up to 1000 checks at once (POST /v1/check/bulk). cons
// applies to every item (nil: the client's default); an item that fails
// on its own has its Error set and does not fail the call.
func (c *Client) CheckBulk(ctx context.Context, items []CheckRequest, cons *Consistency) (*BulkCheckResult, error) {
	var out BulkCheckResult
	if err := c.post(ctx, "/v1/check/bulk", bulkBody{Items: items, Consistency: c.consistency(cons)}, &out, true); err != nil {
		return nil, err
	}
	return &out, nil
}

// LookupResourcesRequest lists the resources of ResourceType on which
// Subject holds Permission. Limit (up to 1000; 0 for all) and Cursor page
// through them.
type LookupResourcesRequest struct {
	ResourceType string         `json:"resourceType"`
	Permission   string         `json:"permission"`
	Subject      string         `json:"subject"`
	Context      map[string]any `json:"context,omitempty"`
	Limit        int            `json:"limit,omitempty"`
	Cursor       string         `json:"cursor,omitempty"`
	Consistency  *Consistency   `json:"consistency,omitempty"`
}

// LookupResourcesResult is one page of resources ("contractor:c1"); a
// non-empty Cursor continues it.
type LookupResourcesResult struct {
	Resources []string `json:"resources"`
	Cursor    string   `json:"cursor,omitempty"`
	ZedToken  string   `json:"zedToken,omitempty"`
}

// LookupResources lists one page of the resources req.Subject may reach
// (POST /v1/lookup/resources).
func (c *Client) LookupResources(ctx context.Context, req LookupResourcesRequest) (*LookupResourcesResult, error) {
	req.Consistency = c.consistency(req.Consistency)
	var out LookupResourcesResult
	if err := c.post(ctx, "/v1/lookup/resources", req, &out, true); err != nil {
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

// LookupSubjectsRequest lists the subjects of SubjectType (with
// SubjectRelation, if set) that hold Permission on Resource.
type LookupSubjectsRequest struct {
	Resource        string         `json:"resource"`
	Permission      string         `json:"permission"`
	SubjectType     string         `json:"subjectType"`
	SubjectRelation string         `json:"subjectRelation,omitempty"`
	Context         map[string]any `json:"context,omitempty"`
	Consistency     *Consistency   `json:"consistency,omitempty"`
}

// LookupSubjectsResult lists the subjects found ("user:alice").
type LookupSubjectsResult struct {
	Subjects []string `json:"subjects"`
	ZedToken string   `json:"zedToken,omitempty"`
}

// LookupSubjects lists who holds req.Permission on req.Resource (POST
// /v1/lookup/subjects).
func (c *Client) LookupSubjects(ctx context.Context, req LookupSubjectsRequest) (*LookupSubjectsResult, error) {
	req.Consistency = c.consistency(req.Consistency)
	var out LookupSubjectsResult
	if err := c.post(ctx, "/v1/lookup/subjects", req, &out, true); err != nil {
		return nil, err
	}
	return &out, nil
}

// Explanation tells why a check answered as it did: Paths holds every chain
// of relationships that grants the permission, each in zed's notation
// ("organisation:acme#administrator@user:bob").
type Explanation struct {
	Allowed  bool       `json:"allowed"`
	Paths    [][]string `json:"paths"`
	ZedToken string     `json:"zedToken,omitempty"`
}

// Explain answers a check with the relationship chains that grant it (POST
// /v1/explain).
func (c *Client) Explain(ctx context.Context, req CheckRequest) (*Explanation, error) {
	req.Consistency = c.consistency(req.Consistency)
	var out Explanation
	if err := c.post(ctx, "/v1/explain", req, &out, true); err != nil {
		return nil, err
	}
	return &out, nil
}
