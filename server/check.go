package server

import (
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/schema"
)

// CheckBody asks whether subject holds permission on resource.
type CheckBody struct {
	Resource    string           `json:"resource"`
	Permission  string           `json:"permission"`
	Subject     string           `json:"subject"`
	Context     map[string]any   `json:"context,omitempty"`
	Consistency *ConsistencyJSON `json:"consistency,omitempty"`
}

// CheckAnswer is the answer to a check.
type CheckAnswer struct {
	Allowed        bool     `json:"allowed"`
	Conditional    bool     `json:"conditional,omitempty"`
	MissingContext []string `json:"missingContext,omitempty"`
	ZedToken       string   `json:"zedToken,omitempty"`
}

// parse validates the body against the schema; prefix names nested fields ("items[3].").
func (b CheckBody) parse(idx *schema.Index, prefix string) (gatehouse.CheckRequest, error) {
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
	if err := required(prefix+"subject", b.Subject); err != nil {
		return gatehouse.CheckRequest{}, err
	}
	sub, err := gatehouse.ParseSubject(prefix+"subject", b.Subject)
	if err != nil {
		return gatehouse.CheckRequest{}, err
	}
	if err := known(idx, prefix, res, b.Permission, sub); err != nil {
		return gatehouse.CheckRequest{}, err
	}
	cons, err := b.Consistency.parse(prefix + "consistency")
	if err != nil {
		return gatehouse.CheckRequest{}, err
	}
	return gatehouse.CheckRequest{Resource: res, Permission: b.Permission, Subject: sub, Context: b.Context, Consistency: cons}, nil
}

// known refuses types, permissions and subject relations the schema does not define.
func known(idx *schema.Index, prefix string, res gatehouse.Object, perm string, sub gatehouse.Subject) error {
	if !idx.HasType(res.Type) {
		return gatehouse.Invalid(prefix+"resource", "object type %q is not defined in the schema", res.Type)
	}
	if !idx.Has(res.Type, perm) {
		return gatehouse.Invalid(prefix+"permission", "%q is not a permission or relation of %s", perm, res.Type)
	}
	if !idx.HasType(sub.Type) {
		return gatehouse.Invalid(prefix+"subject", "subject type %q is not defined in the schema", sub.Type)
	}
	if sub.Relation != "" && !idx.Has(sub.Type, sub.Relation) {
		return gatehouse.Invalid(prefix+"subject", "%q is not a relation of %s", sub.Relation, sub.Type)
	}
	return nil
}

func answer(r gatehouse.CheckResult) CheckAnswer {
	return CheckAnswer{Allowed: r.Allowed, Conditional: r.Conditional, MissingContext: r.MissingContext, ZedToken: r.ZedToken}
}

// handleCheck serves POST /v1/check.
func handleCheck(d Deps) gin.HandlerFunc {
	return func(c *gin.Context) {
		var b CheckBody
		if err := decode(c, &b); err != nil {
			_ = c.Error(err)
			return
		}
		req, err := b.parse(d.Schema, "")
		if err != nil {
			_ = c.Error(err)
			return
		}
		res, err := d.Store.Check(c, req)
		if err != nil {
			_ = c.Error(err)
			return
		}
		c.JSON(http.StatusOK, answer(res))
	}
}

// maxBulk is the most checks one bulk request may carry.
const maxBulk = 1000

// BulkBody carries many checks answered together.
type BulkBody struct {
	Items       []CheckBody      `json:"items"`
	Consistency *ConsistencyJSON `json:"consistency,omitempty"`
}

// BulkItem is one answer of a bulk check: the answer or the error of that item.
type BulkItem struct {
	*CheckAnswer
	Error *ErrorDetail `json:"error,omitempty"`
}

// BulkAnswer holds the answers in request order.
type BulkAnswer struct {
	Results  []BulkItem `json:"results"`
	ZedToken string     `json:"zedToken,omitempty"`
}

// handleCheckBulk serves POST /v1/check/bulk: items that fail validation
// answer with their error in place; the rest go to SpiceDB in one call.
func handleCheckBulk(d Deps) gin.HandlerFunc {
	return func(c *gin.Context) {
		var b BulkBody
		if err := decode(c, &b); err != nil {
			_ = c.Error(err)
			return
		}
		if len(b.Items) == 0 {
			_ = c.Error(gatehouse.Invalid("items", "items must hold at least one check"))
			return
		}
		if len(b.Items) > maxBulk {
			_ = c.Error(gatehouse.Invalid("items", "at most %d checks in one request, got %d", maxBulk, len(b.Items)))
			return
		}
		cons, err := b.Consistency.parse("consistency")
		if err != nil {
			_ = c.Error(err)
			return
		}
		out := make([]BulkItem, len(b.Items))
		var reqs []gatehouse.CheckRequest
		var at []int
		for i, it := range b.Items {
			req, err := it.parse(d.Schema, fmt.Sprintf("items[%d].", i))
			if err != nil {
				_, det, _ := detailOf(err)
				out[i].Error = &det
				continue
			}
			reqs = append(reqs, req)
			at = append(at, i)
		}
		var tok string
		if len(reqs) > 0 {
			res, t, err := d.Store.CheckBulk(c, reqs, cons)
			if err != nil {
				_ = c.Error(err)
				return
			}
			tok = t
			for j, r := range res {
				i := at[j]
				if r.Err != nil {
					_, det, _ := detailOf(r.Err)
					out[i].Error = &det
					continue
				}
				a := answer(r.CheckResult)
				a.ZedToken = ""
				out[i].CheckAnswer = &a
			}
		}
		c.JSON(http.StatusOK, BulkAnswer{Results: out, ZedToken: tok})
	}
}

// LookupResourcesBody lists the resources of a type a subject may reach.
type LookupResourcesBody struct {
	ResourceType string           `json:"resourceType"`
	Permission   string           `json:"permission"`
	Subject      string           `json:"subject"`
	Context      map[string]any   `json:"context,omitempty"`
	Limit        int              `json:"limit,omitempty"`
	Cursor       string           `json:"cursor,omitempty"`
	Consistency  *ConsistencyJSON `json:"consistency,omitempty"`
}

// LookupResourcesAnswer is one page of resources.
type LookupResourcesAnswer struct {
	Resources []string `json:"resources"`
	Cursor    string   `json:"cursor,omitempty"`
	ZedToken  string   `json:"zedToken,omitempty"`
}

// handleLookupResources serves POST /v1/lookup/resources.
func handleLookupResources(d Deps) gin.HandlerFunc {
	return func(c *gin.Context) {
		var b LookupResourcesBody
		if err := decode(c, &b); err != nil {
			_ = c.Error(err)
			return
		}
		req, err := b.parse(d.Schema)
		if err != nil {
			_ = c.Error(err)
			return
		}
		res, err := d.Store.LookupResources(c, req)
		if err != nil {
			_ = c.Error(err)
			return
		}
		out := LookupResourcesAnswer{Resources: make([]string, len(res.Resources)), Cursor: res.Cursor, ZedToken: res.ZedToken}
		for i, r := range res.Resources {
			out.Resources[i] = r.String()
		}
		c.JSON(http.StatusOK, out)
	}
}

func (b LookupResourcesBody) parse(idx *schema.Index) (gatehouse.LookupResourcesRequest, error) {
	if err := typeName("resourceType", b.ResourceType); err != nil {
		return gatehouse.LookupResourcesRequest{}, err
	}
	if err := permissionName("permission", b.Permission); err != nil {
		return gatehouse.LookupResourcesRequest{}, err
	}
	if err := required("subject", b.Subject); err != nil {
		return gatehouse.LookupResourcesRequest{}, err
	}
	sub, err := gatehouse.ParseSubject("subject", b.Subject)
	if err != nil {
		return gatehouse.LookupResourcesRequest{}, err
	}
	if !idx.HasType(b.ResourceType) {
		return gatehouse.LookupResourcesRequest{}, gatehouse.Invalid("resourceType", "object type %q is not defined in the schema", b.ResourceType)
	}
	if err := known(idx, "", gatehouse.Object{Type: b.ResourceType, ID: "x"}, b.Permission, sub); err != nil {
		return gatehouse.LookupResourcesRequest{}, err
	}
	if b.Limit < 0 || b.Limit > 1000 {
		return gatehouse.LookupResourcesRequest{}, gatehouse.Invalid("limit", "limit must be between 1 and 1000 (0 for all)")
	}
	cons, err := b.Consistency.parse("consistency")
	if err != nil {
		return gatehouse.LookupResourcesRequest{}, err
	}
	return gatehouse.LookupResourcesRequest{
		ResourceType: b.ResourceType, Permission: b.Permission, Subject: sub, Context: b.Context,
		Limit: b.Limit, Cursor: b.Cursor, Consistency: cons,
	}, nil
}

// LookupSubjectsBody lists the subjects of a type that hold a permission on a resource.
type LookupSubjectsBody struct {
	Resource        string           `json:"resource"`
	Permission      string           `json:"permission"`
	SubjectType     string           `json:"subjectType"`
	SubjectRelation string           `json:"subjectRelation,omitempty"`
	Context         map[string]any   `json:"context,omitempty"`
	Consistency     *ConsistencyJSON `json:"consistency,omitempty"`
}

// LookupSubjectsAnswer lists the subjects found.
type LookupSubjectsAnswer struct {
	Subjects []string `json:"subjects"`
	ZedToken string   `json:"zedToken,omitempty"`
}

// handleLookupSubjects serves POST /v1/lookup/subjects.
func handleLookupSubjects(d Deps) gin.HandlerFunc {
	return func(c *gin.Context) {
		var b LookupSubjectsBody
		if err := decode(c, &b); err != nil {
			_ = c.Error(err)
			return
		}
		if err := required("resource", b.Resource); err != nil {
			_ = c.Error(err)
			return
		}
		res, err := gatehouse.ParseObject("resource", b.Resource)
		if err != nil {
			_ = c.Error(err)
			return
		}
		if err := permissionName("permission", b.Permission); err != nil {
			_ = c.Error(err)
			return
		}
		if err := typeName("subjectType", b.SubjectType); err != nil {
			_ = c.Error(err)
			return
		}
		if b.SubjectRelation != "" && !gatehouse.ValidRelation(b.SubjectRelation) {
			_ = c.Error(gatehouse.Invalid("subjectRelation", "%q is not a valid relation name", b.SubjectRelation))
			return
		}
		if err := known(d.Schema, "", res, b.Permission, gatehouse.Subject{Object: gatehouse.Object{Type: res.Type, ID: "x"}}); err != nil {
			_ = c.Error(err)
			return
		}
		if !d.Schema.HasType(b.SubjectType) {
			_ = c.Error(gatehouse.Invalid("subjectType", "subject type %q is not defined in the schema", b.SubjectType))
			return
		}
		if b.SubjectRelation != "" && !d.Schema.Has(b.SubjectType, b.SubjectRelation) {
			_ = c.Error(gatehouse.Invalid("subjectRelation", "%q is not a relation of %s", b.SubjectRelation, b.SubjectType))
			return
		}
		cons, err := b.Consistency.parse("consistency")
		if err != nil {
			_ = c.Error(err)
			return
		}
		subs, tok, err := d.Store.LookupSubjects(c, gatehouse.LookupSubjectsRequest{
			Resource: res, Permission: b.Permission, SubjectType: b.SubjectType, SubjectRelation: b.SubjectRelation,
			Context: b.Context, Consistency: cons,
		})
		if err != nil {
			_ = c.Error(err)
			return
		}
		out := LookupSubjectsAnswer{Subjects: make([]string, 0, len(subs)), ZedToken: tok}
		for _, s := range subs {
			out.Subjects = append(out.Subjects, s.String())
		}
		c.JSON(http.StatusOK, out)
	}
}

// ExplainAnswer tells whether the check is allowed and every chain that grants it.
type ExplainAnswer struct {
	Allowed  bool       `json:"allowed"`
	Paths    [][]string `json:"paths"`
	ZedToken string     `json:"zedToken,omitempty"`
}

// handleExplain serves POST /v1/explain.
func handleExplain(d Deps) gin.HandlerFunc {
	return func(c *gin.Context) {
		var b CheckBody
		if err := decode(c, &b); err != nil {
			_ = c.Error(err)
			return
		}
		req, err := b.parse(d.Schema, "")
		if err != nil {
			_ = c.Error(err)
			return
		}
		ex, err := d.Store.Explain(c, req)
		if err != nil {
			_ = c.Error(err)
			return
		}
		out := ExplainAnswer{Allowed: ex.Allowed, Paths: [][]string{}, ZedToken: ex.ZedToken}
		for _, p := range ex.Paths {
			parts := make([]string, len(p))
			for i, r := range p {
				parts[i] = r.String()
			}
			out.Paths = append(out.Paths, parts)
		}
		c.JSON(http.StatusOK, out)
	}
}
