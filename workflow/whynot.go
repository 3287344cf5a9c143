package workflow

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	core "github.com/authzed/spicedb/pkg/proto/core/v1"
	"github.com/authzed/spicedb/pkg/schemadsl/compiler"
	"github.com/authzed/spicedb/pkg/schemadsl/input"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/schema"
)

// WhyNot is the answer to a denied check (X6): each way the permission
// could have been granted, what it lacks and who may supply it.
// Truncated says the search stopped at one of its bounds (depth, time,
// count): Ways holds those found and fully weighed so far.
type WhyNot struct {
	Ways      []Way
	Truncated bool
}

// Way is one way the permission could be granted: one leaf of the
// permission's rewrite, reached from the resource through Via (each step
// a relation or permission, an arrow written tupleset->permission). It
// would grant the permission once every Missing relationship is written
// and every BlockedBy no longer holds.
type Way struct {
	Via       string
	Missing   []Missing
	BlockedBy []Block
}

// Missing is a relationship whose absence keeps a way shut, and, when a
// workflow writes it for the subject, the grant that does.
type Missing struct {
	Relationship gatehouse.Relationship
	Grant        *Grant
}

// Block is a subtraction whose subtracted side holds the subject, or an
// intersection whose other side does not: Relation is where it bites
// ("contractor:c3#admin_only"), Rule the rule of domain.md it keeps and
// Reason that rule in a few words. Lift, when a workflow takes the block
// away, is the grant that does.
type Block struct {
	Relation string
	Rule     string
	Reason   string
	Lift     *Grant
}

// Grant is a workflow that writes (or, for a lift, deletes) a relationship:
// Op names it as the HTTP API's operation id does ("grantRole"), Args are
// its path parameters, and it requires Permission on On. Subjects are the
// users who hold that permission now, the first ten of them (grantSubjects);
// More says there are others. Until gives, for each of Subjects who holds
// the permission only through roles that expire (T5), when the last of
// them ends.
type Grant struct {
	Op         string
	Args       map[string]string
	Permission string
	On         gatehouse.Object
	Subjects   []gatehouse.Subject
	More       bool
	Until      map[gatehouse.Subject]time.Time
}

// The bounds of a why-not answer, the same as Explain's: how deep the
// walk of the rewrite goes, how long it may take and how many ways it
// holds; and how many subjects each grant names.
const (
	whyNotDepth   = 32
	whyNotTime    = 3 * time.Second
	whyNotWays    = 100
	grantSubjects = 10
)

// blockRule is the rule of domain.md that a subtraction or an
// intersection of the schema keeps, keyed by where it is written: the
// object type, the permission defined ("" for any) and the operand as the
// schema writes it. Each row comes from the schema's comment on that line;
// TestWhyNotRulesCoverTheSchema fails when an operand has no row. An
// operand that is a union of relations with rows of their own (barred)
// needs none: the parts that hold are named instead.
type blockRule struct {
	typ, permission, operand string
	rule, reason             string
}

var blockRules = []blockRule{
	{gatehouse.TypeOrganisation, "", "no_financial_accesses", "R7", "no_financial_access takes every financial permission away"},
	{gatehouse.TypeOrganisation, "", gatehouse.RoleOwner, "R7", "the owner cannot lose financial access"},
	{gatehouse.TypeOrganisation, "", gatehouse.PermMember, "T4", "a designation counts only while its holder is a member"},
	{gatehouse.TypeOrganisation, "", gatehouse.DesignationDirector, "C9", "a verification counts only while the organisation claims the director"},
	{gatehouse.TypeContractor, "", gatehouse.RelAdminOnly, "K2", "the contractor is admin-only"},
	{gatehouse.TypeChangeRequest, "", gatehouse.RelTargetUser, "C17", "the request is about them"},
	{gatehouse.TypeChangeRequest, "", gatehouse.RelClosed, "C13", "the request is closed"},
	{gatehouse.TypeChangeRequest, "", gatehouse.RelSettled, "C14", "the request needs nothing more"},
	{gatehouse.TypeChangeRequest, "", "organisation->unavailable_contacts", "C7", "they are marked unavailable"},
	{gatehouse.TypeChangeRequest, "", gatehouse.RelOverrideBy, "C18", "an override is confirmed by a second staff member"},
	{gatehouse.TypeChangeRequest, "", "organisation->provider_staff", "C18", "only provider staff confirm an override"},
	{gatehouse.TypeChangeRequest, "", gatehouse.RelSubstantialSecurity, "C10", "the request is not flagged as a substantial security change"},
	{gatehouse.TypeChangeRequest, "", gatehouse.RelSubstantialCharge, "C11", "the request is not flagged as a substantial charge"},
	{gatehouse.TypeChangeRequest, gatehouse.PermApproveSecurity, gatehouse.RelRequester, "C10", "the requester does not approve their own request"},
	{gatehouse.TypeChangeRequest, gatehouse.PermSecurityApproved, gatehouse.RelRequester, "C10", "the requester does not approve their own request"},
	{gatehouse.TypeChangeRequest, gatehouse.PermApproveCharge, gatehouse.RelRequester, "C11", "the requester does not approve their own request"},
	{gatehouse.TypeChangeRequest, gatehouse.PermChargeApproved, gatehouse.RelRequester, "C11", "the requester does not approve their own request"},
	{gatehouse.TypeChangeRequest, "", gatehouse.RelRequester, "C16", "the requester does not approve their own request"},
	{gatehouse.TypeChangeRequest, "", "(organisation->member + organisation->provider_staff)", "X1", "a requester counts only while a member"},
	{gatehouse.TypeChangeRequest, gatehouse.PermStanding, "(standard->member + authorise_main + role_covers + ((kind->excepted + target->excepted) & organisation->member))", "C5", "nothing authorises the request as filed"},
	{gatehouse.TypeChangeRequest, gatehouse.PermStanding, "organisation->member", "T5", "an exception counts only while its holder is a member"},
}

// ruleOf returns the row of an operand of permission on typ, if any.
func ruleOf(typ, permission, operand string) (blockRule, bool) {
	var general *blockRule
	for i, r := range blockRules {
		if r.typ != typ || r.operand != operand {
			continue
		}
		if r.permission == permission {
			return r, true
		}
		if r.permission == "" {
			general = &blockRules[i]
		}
	}
	if general != nil {
		return *general, true
	}
	return blockRule{}, false
}

// GrantOps are the operations a Grant may name, for the HTTP API to prove
// that it serves each one.
func GrantOps() []string {
	return []string{"grantRole", "transferOwnership", "setDesignation", "unsetDesignation", "patchContractor", "grantException"}
}

// grantOf is the workflow that writes r for its subject, and the
// organisation permission it requires (the same the workflow checks:
// RolePermission, DesignationPermission, the owner's transfer, a main
// contact's exception).
func grantOf(r gatehouse.Relationship) *Grant {
	s := r.Subject
	if s.Type != gatehouse.TypeUser || s.Relation != "" || s.ID == "*" {
		return nil
	}
	switch r.Resource.Type {
	case gatehouse.TypeOrganisation:
		org := r.Resource.ID
		switch {
		case r.Relation == gatehouse.RoleOwner:
			return &Grant{Op: "transferOwnership", Args: map[string]string{"org": org}, Permission: gatehouse.PermTransferOwnership, On: r.Resource}
		case gatehouse.IsRole(r.Relation):
			return &Grant{Op: "grantRole", Args: map[string]string{"org": org, "user": s.ID, "role": r.Relation}, Permission: RolePermission(r.Relation), On: r.Resource}
		case gatehouse.IsDesignation(r.Relation):
			return &Grant{Op: "setDesignation", Args: map[string]string{"org": org, "user": s.ID, "designation": r.Relation}, Permission: DesignationPermission(r.Relation), On: r.Resource}
		}
	case gatehouse.TypeChangeKind, gatehouse.TypeChangeTarget:
		if r.Relation == gatehouse.RelException {
			org, _, _ := strings.Cut(r.Resource.ID, "/")
			return &Grant{Op: "grantException", Args: map[string]string{"org": org}, Permission: gatehouse.PermMainContacts, On: gatehouse.OrganisationRef(org)}
		}
	}
	return nil
}

// liftOf is the workflow that takes a block away, for the blocks one does:
// the admin-only flag (K2) and the no_financial_access designation (R7).
// C13, C17 and the rest are facts about the request, which nothing undoes.
func (w *whyNotWalk) liftOf(ctx context.Context, where gatehouse.Object, relation string) (*Grant, error) {
	switch {
	case where.Type == gatehouse.TypeContractor && relation == gatehouse.RelAdminOnly:
		orgs, err := w.links(ctx, where, gatehouse.RelOrganisation)
		if err != nil || len(orgs) == 0 {
			return nil, err
		}
		return &Grant{Op: "patchContractor", Args: map[string]string{"id": where.ID}, Permission: gatehouse.PermManageContractors, On: orgs[0]}, nil
	case where.Type == gatehouse.TypeOrganisation && relation == "no_financial_accesses":
		if w.subject.Type != gatehouse.TypeUser || w.subject.Relation != "" {
			return nil, nil
		}
		return &Grant{
			Op: "unsetDesignation", Args: map[string]string{"org": where.ID, "user": w.subject.ID, "designation": gatehouse.DesignationNoFinancialAccess},
			Permission: DesignationPermission(gatehouse.DesignationNoFinancialAccess), On: where,
		}, nil
	}
	return nil, nil
}

// compiledSchema is schema.Text compiled once, its definitions by name.
var compiledSchema = sync.OnceValues(func() (map[string]*core.NamespaceDefinition, error) {
	compiled, err := compiler.Compile(compiler.InputSchema{Source: input.Source("schema"), SchemaString: schema.Text}, compiler.AllowUnprefixedObjectType())
	if err != nil {
		return nil, fmt.Errorf("compiling the schema: %w", err)
	}
	defs := map[string]*core.NamespaceDefinition{}
	for _, d := range compiled.ObjectDefinitions {
		defs[d.GetName()] = d
	}
	return defs, nil
})

// errWhyNotBound stops the walk at a bound; what was found stands.
var errWhyNotBound = errors.New("why-not bound reached")

// WhyNot answers, for a check that was denied at zedToken, each way the
// permission could have been granted (X6). It walks the permission's
// rewrite in the compiled schema from the resource: every leaf of a union
// is a way, an arrow is followed through the resource's own relationships,
// the first operand of an intersection or a subtraction is the way and
// the others its conditions. Real checks at zedToken weigh each part: the
// way's relationship is Missing when the subject lacks it, and a
// condition that fails is a Block named by its rule. Bounded in depth,
// time and ways like Explain; past a bound the answer is Truncated.
func (s *Service) WhyNot(ctx context.Context, req gatehouse.CheckRequest, zedToken string) (WhyNot, error) {
	return s.whyNot(ctx, req, zedToken, whyNotBounds{depth: whyNotDepth, time: whyNotTime, ways: whyNotWays})
}

// whyNotBounds bound one why-not search: how deep the walk goes, how long
// it may take and how many ways it holds.
type whyNotBounds struct {
	depth int
	time  time.Duration
	ways  int
}

func (s *Service) whyNot(ctx context.Context, req gatehouse.CheckRequest, zedToken string, b whyNotBounds) (WhyNot, error) {
	defs, err := compiledSchema()
	if err != nil {
		return WhyNot{}, err
	}
	bounded, cancel := context.WithTimeout(ctx, b.time)
	defer cancel()
	w := &whyNotWalk{
		s: s, defs: defs, subject: req.Subject, ctxt: req.Context,
		at:     gatehouse.Consistency{AtLeastAsFresh: zedToken},
		checks: map[checkKey]bool{}, linked: map[linkKey][]gatehouse.Object{}, grants: map[linkKey]*Grant{},
		maxWays: b.ways, depth: b.depth,
	}
	out := WhyNot{Ways: []Way{}}
	stopped := func(err error) bool {
		return errors.Is(err, errWhyNotBound) || (ctx.Err() == nil && bounded.Err() != nil)
	}
	ways, err := w.expand(bounded, req.Resource, req.Permission, nil, nil, 0)
	if err != nil && !stopped(err) {
		return WhyNot{}, err
	}
	out.Truncated = err != nil || w.truncated
	for _, c := range ways {
		way, err := w.weigh(bounded, c)
		if stopped(err) {
			out.Truncated = true
			break
		}
		if err != nil {
			return WhyNot{}, err
		}
		out.Ways = append(out.Ways, way)
	}
	return out, nil
}

// condition is an operand that must hold (an intersection's) or must not
// (a subtraction's) for a way to grant: written in permission of obj's type.
type condition struct {
	obj        gatehouse.Object
	permission string
	child      *core.SetOperation_Child
	mustHold   bool
}

// candidate is a way before it is weighed: its leaf and its conditions.
type candidate struct {
	via   []string
	leaf  gatehouse.Object
	rel   string
	conds []condition
}

type checkKey struct {
	obj gatehouse.Object
	rel string
}

type linkKey struct {
	obj gatehouse.Object
	rel string
}

type roleKey struct {
	org gatehouse.Object
	sub gatehouse.Subject
}

// whyNotWalk is one why-not search, with what it has read so far.
type whyNotWalk struct {
	s         *Service
	defs      map[string]*core.NamespaceDefinition
	subject   gatehouse.Subject
	ctxt      map[string]any
	at        gatehouse.Consistency
	checks    map[checkKey]bool
	linked    map[linkKey][]gatehouse.Object
	grants    map[linkKey]*Grant
	roles     map[roleKey]map[string]time.Time
	maxWays   int
	depth     int
	truncated bool
}

func (w *whyNotWalk) relation(typ, rel string) *core.Relation {
	for _, r := range w.defs[typ].GetRelation() {
		if r.GetName() == rel {
			return r
		}
	}
	return nil
}

// expand lists the ways to rel on obj, each under the conditions conds.
func (w *whyNotWalk) expand(ctx context.Context, obj gatehouse.Object, rel string, via []string, conds []condition, depth int) ([]candidate, error) {
	if depth > w.depth {
		w.truncated = true
		return nil, nil
	}
	r := w.relation(obj.Type, rel)
	if r == nil {
		return nil, nil
	}
	rw := r.GetUsersetRewrite()
	if rw == nil {
		return w.leaf(obj, rel, via, conds)
	}
	return w.expandRewrite(ctx, obj, rel, rw, via, conds, depth)
}

// leaf is the way of relation rel on obj itself, if it may hold the subject.
func (w *whyNotWalk) leaf(obj gatehouse.Object, rel string, via []string, conds []condition) ([]candidate, error) {
	if !w.admits(w.relation(obj.Type, rel)) {
		return nil, nil
	}
	if w.maxWays == 0 {
		w.truncated = true
		return nil, errWhyNotBound
	}
	w.maxWays--
	if len(via) == 0 {
		via = []string{rel}
	}
	return []candidate{{via: via, leaf: obj, rel: rel, conds: conds}}, nil
}

func (w *whyNotWalk) expandRewrite(ctx context.Context, obj gatehouse.Object, rel string, rw *core.UsersetRewrite, via []string, conds []condition, depth int) ([]candidate, error) {
	var children []*core.SetOperation_Child
	var mustHold bool
	switch {
	case rw.GetUnion() != nil:
		var out []candidate
		for _, c := range rw.GetUnion().GetChild() {
			got, err := w.expandChild(ctx, obj, rel, c, via, conds, depth)
			out = append(out, got...)
			if err != nil {
				return out, err
			}
		}
		return out, nil
	case rw.GetIntersection() != nil:
		children, mustHold = rw.GetIntersection().GetChild(), true
	case rw.GetExclusion() != nil:
		children, mustHold = rw.GetExclusion().GetChild(), false
	}
	if len(children) == 0 {
		return nil, nil
	}
	more := append([]condition{}, conds...)
	for _, c := range children[1:] {
		more = append(more, condition{obj: obj, permission: rel, child: c, mustHold: mustHold})
	}
	return w.expandChild(ctx, obj, rel, children[0], via, more, depth)
}

func (w *whyNotWalk) expandChild(ctx context.Context, obj gatehouse.Object, rel string, c *core.SetOperation_Child, via []string, conds []condition, depth int) ([]candidate, error) {
	step := func(s string) []string { return append(append([]string{}, via...), s) }
	switch {
	case c.GetXThis() != nil:
		return w.leaf(obj, rel, via, conds)
	case c.GetComputedUserset() != nil:
		next := c.GetComputedUserset().GetRelation()
		return w.expand(ctx, obj, next, step(next), conds, depth+1)
	case c.GetTupleToUserset() != nil || c.GetFunctionedTupleToUserset() != nil:
		tupleset, computed := arrow(c)
		links, err := w.links(ctx, obj, tupleset)
		if err != nil {
			return nil, err
		}
		var out []candidate
		for _, l := range links {
			got, err := w.expand(ctx, l, computed, step(tupleset+"->"+computed), conds, depth+1)
			out = append(out, got...)
			if err != nil {
				return out, err
			}
		}
		return out, nil
	case c.GetUsersetRewrite() != nil:
		return w.expandRewrite(ctx, obj, rel, c.GetUsersetRewrite(), via, conds, depth+1)
	}
	return nil, nil
}

// arrow returns the tupleset and the computed relation of an arrow child.
func arrow(c *core.SetOperation_Child) (string, string) {
	if t := c.GetTupleToUserset(); t != nil {
		return t.GetTupleset().GetRelation(), t.GetComputedUserset().GetRelation()
	}
	f := c.GetFunctionedTupleToUserset()
	return f.GetTupleset().GetRelation(), f.GetComputedUserset().GetRelation()
}

// admits reports whether relation r may hold the subject directly, so
// that a relationship could be written to grant it.
func (w *whyNotWalk) admits(r *core.Relation) bool {
	for _, a := range r.GetTypeInformation().GetAllowedDirectRelations() {
		if a.GetNamespace() != w.subject.Type {
			continue
		}
		if a.GetPublicWildcard() != nil {
			return true
		}
		if a.GetRelation() == w.subject.Relation || (a.GetRelation() == "..." && w.subject.Relation == "") {
			return true
		}
	}
	return false
}

// links returns the objects obj's relation rel names (an arrow's tupleset).
func (w *whyNotWalk) links(ctx context.Context, obj gatehouse.Object, rel string) ([]gatehouse.Object, error) {
	k := linkKey{obj, rel}
	if l, ok := w.linked[k]; ok {
		return l, nil
	}
	page, err := w.s.store.ReadRelationshipsPage(ctx, gatehouse.ReadRequest{
		Filter: gatehouse.Filter{ResourceType: obj.Type, ResourceID: obj.ID, Relation: rel},
		Limit:  whyNotWays, Consistency: w.at,
	})
	if err != nil {
		return nil, err
	}
	if page.Cursor != "" {
		w.truncated = true
	}
	var out []gatehouse.Object
	for _, r := range page.Relationships {
		if r.Subject.Relation == "" {
			out = append(out, r.Subject.Object)
		}
	}
	w.linked[k] = out
	return out, nil
}

// holds checks rel on obj for the subject, once per walk.
func (w *whyNotWalk) holds(ctx context.Context, obj gatehouse.Object, rel string) (bool, error) {
	k := checkKey{obj, rel}
	if v, ok := w.checks[k]; ok {
		return v, nil
	}
	res, err := w.s.store.Check(ctx, gatehouse.CheckRequest{Resource: obj, Permission: rel, Subject: w.subject, Context: w.ctxt, Consistency: w.at})
	if err != nil {
		return false, err
	}
	w.checks[k] = res.Allowed
	return res.Allowed, nil
}

// evaluate says whether operand c, written in rel of obj's type, holds the subject.
func (w *whyNotWalk) evaluate(ctx context.Context, obj gatehouse.Object, rel string, c *core.SetOperation_Child) (bool, error) {
	switch {
	case c.GetXThis() != nil:
		return w.holds(ctx, obj, rel)
	case c.GetComputedUserset() != nil:
		return w.holds(ctx, obj, c.GetComputedUserset().GetRelation())
	case c.GetTupleToUserset() != nil || c.GetFunctionedTupleToUserset() != nil:
		tupleset, computed := arrow(c)
		links, err := w.links(ctx, obj, tupleset)
		if err != nil {
			return false, err
		}
		all := c.GetFunctionedTupleToUserset().GetFunction() == core.FunctionedTupleToUserset_FUNCTION_ALL
		for _, l := range links {
			ok, err := w.holds(ctx, l, computed)
			if err != nil {
				return false, err
			}
			if ok != all {
				return ok, nil
			}
		}
		return all && len(links) > 0, nil
	case c.GetUsersetRewrite() != nil:
		rw := c.GetUsersetRewrite()
		switch {
		case rw.GetUnion() != nil:
			for _, x := range rw.GetUnion().GetChild() {
				if ok, err := w.evaluate(ctx, obj, rel, x); err != nil || ok {
					return ok, err
				}
			}
			return false, nil
		case rw.GetIntersection() != nil:
			for _, x := range rw.GetIntersection().GetChild() {
				if ok, err := w.evaluate(ctx, obj, rel, x); err != nil || !ok {
					return false, err
				}
			}
			return true, nil
		case rw.GetExclusion() != nil:
			xs := rw.GetExclusion().GetChild()
			if ok, err := w.evaluate(ctx, obj, rel, xs[0]); err != nil || !ok {
				return false, err
			}
			for _, x := range xs[1:] {
				if ok, err := w.evaluate(ctx, obj, rel, x); err != nil || ok {
					return false, err
				}
			}
			return true, nil
		}
	}
	return false, nil
}

// weigh checks a candidate's leaf and conditions for the subject.
func (w *whyNotWalk) weigh(ctx context.Context, c candidate) (Way, error) {
	way := Way{Via: strings.Join(c.via, "->")}
	ok, err := w.holds(ctx, c.leaf, c.rel)
	if err != nil {
		return Way{}, err
	}
	if !ok {
		r := w.relation(c.leaf.Type, c.rel)
		sub := w.subject
		if !w.admitsSubject(r) {
			sub = gatehouse.Wildcard(w.subject.Type)
		}
		m := Missing{Relationship: gatehouse.Relationship{Resource: c.leaf, Relation: c.rel, Subject: sub}}
		if m.Grant, err = w.grant(ctx, grantOf(m.Relationship)); err != nil {
			return Way{}, err
		}
		way.Missing = append(way.Missing, m)
	}
	seen := map[string]bool{}
	for _, cd := range c.conds {
		blocks, err := w.blocks(ctx, cd)
		if err != nil {
			return Way{}, err
		}
		for _, b := range blocks {
			if !seen[b.Relation] {
				seen[b.Relation] = true
				way.BlockedBy = append(way.BlockedBy, b)
			}
		}
	}
	return way, nil
}

// admitsSubject reports whether r takes the subject itself, not only its wildcard.
func (w *whyNotWalk) admitsSubject(r *core.Relation) bool {
	for _, a := range r.GetTypeInformation().GetAllowedDirectRelations() {
		if a.GetNamespace() == w.subject.Type && a.GetPublicWildcard() == nil &&
			(a.GetRelation() == w.subject.Relation || (a.GetRelation() == "..." && w.subject.Relation == "")) {
			return true
		}
	}
	return false
}

// blocks returns the blocks of a condition that fails, none if it is met.
func (w *whyNotWalk) blocks(ctx context.Context, cd condition) ([]Block, error) {
	ok, err := w.evaluate(ctx, cd.obj, cd.permission, cd.child)
	if err != nil || ok == cd.mustHold {
		return nil, err
	}
	operand := operand(cd.child)
	where, relation := cd.obj, operand
	if c := cd.child; c.GetTupleToUserset() != nil || c.GetFunctionedTupleToUserset() != nil {
		// Name the object the arrow reaches, where the operand bites.
		tupleset, computed := arrow(c)
		if links, err := w.links(ctx, cd.obj, tupleset); err == nil && len(links) > 0 {
			where, relation = links[0], computed
		}
	}
	if rule, ok := ruleOf(cd.obj.Type, cd.permission, operand); ok {
		b := Block{Relation: where.String() + "#" + relation, Rule: rule.rule, Reason: rule.reason}
		lift, err := w.liftOf(ctx, where, relation)
		if err != nil {
			return nil, err
		}
		if b.Lift, err = w.grant(ctx, lift); err != nil {
			return nil, err
		}
		return []Block{b}, nil
	}
	// A union of parts with rules of their own (barred = target_user + closed):
	// name the parts that decide.
	if cu := cd.child.GetComputedUserset(); cu != nil {
		if rw := w.relation(cd.obj.Type, cu.GetRelation()).GetUsersetRewrite(); rw.GetUnion() != nil {
			var out []Block
			for _, part := range rw.GetUnion().GetChild() {
				got, err := w.blocks(ctx, condition{obj: cd.obj, permission: cu.GetRelation(), child: part, mustHold: cd.mustHold})
				if err != nil {
					return nil, err
				}
				out = append(out, got...)
			}
			return out, nil
		}
	}
	return []Block{{Relation: where.String() + "#" + relation}}, nil
}

// grant fills in who holds g's permission now, once per permission and object.
func (w *whyNotWalk) grant(ctx context.Context, g *Grant) (*Grant, error) {
	if g == nil {
		return nil, nil
	}
	k := linkKey{g.On, g.Permission}
	held, ok := w.grants[k]
	if !ok {
		page, err := w.s.store.LookupSubjectsPage(ctx, gatehouse.LookupSubjectsRequest{
			Resource: g.On, Permission: g.Permission, SubjectType: gatehouse.TypeUser,
			Limit: grantSubjects, Consistency: w.at,
		})
		if err != nil {
			return nil, err
		}
		held = &Grant{Subjects: page.Subjects, More: page.Cursor != ""}
		if held.Until, err = w.grantorsUntil(ctx, g.On, g.Permission, page.Subjects); err != nil {
			return nil, err
		}
		w.grants[k] = held
	}
	out := *g
	out.Subjects, out.More, out.Until = held.Subjects, held.More, held.Until
	if out.Subjects == nil {
		out.Subjects = []gatehouse.Subject{}
	}
	return &out, nil
}

// grantorsUntil says, for each of subjects who holds permission on org
// only through roles that expire (T5), when the last of them ends: the
// ways of the permission that grant each one, as an access review names
// them (via), and until when the last of those lasts. A subject with no
// expiring role in org is passed over with one read.
func (w *whyNotWalk) grantorsUntil(ctx context.Context, org gatehouse.Object, permission string, subjects []gatehouse.Subject) (map[gatehouse.Subject]time.Time, error) {
	if org.Type != gatehouse.TypeOrganisation {
		return nil, nil
	}
	var out map[gatehouse.Subject]time.Time
	for _, sub := range subjects {
		expiring, err := w.expiringRoles(ctx, org, sub)
		if err != nil {
			return nil, err
		}
		if len(expiring) == 0 {
			continue
		}
		gw := &whyNotWalk{
			s: w.s, defs: w.defs, subject: sub, at: w.at,
			checks: map[checkKey]bool{}, linked: w.linked, depth: w.depth,
		}
		via, err := w.s.via(ctx, gw, Member{User: sub, ExpiresAt: expiring}, target{on: org, permission: permission})
		if err != nil {
			return nil, err
		}
		if t := until(via); t != nil {
			if out == nil {
				out = map[gatehouse.Subject]time.Time{}
			}
			out[sub] = t.UTC()
		}
	}
	return out, nil
}

// expiringRoles are sub's roles in org that end on their own, with when;
// read once per walk.
func (w *whyNotWalk) expiringRoles(ctx context.Context, org gatehouse.Object, sub gatehouse.Subject) (map[string]time.Time, error) {
	k := roleKey{org, sub}
	if r, ok := w.roles[k]; ok {
		return r, nil
	}
	rels, _, err := w.s.store.ReadRelationships(ctx, gatehouse.Filter{
		ResourceType: org.Type, ResourceID: org.ID, SubjectType: sub.Type, SubjectID: sub.ID, SubjectRelation: sub.Relation,
	}, w.at)
	if err != nil {
		return nil, err
	}
	var out map[string]time.Time
	for _, r := range rels {
		if r.Subject == sub && gatehouse.IsRole(r.Relation) && r.ExpiresAt != nil {
			if out == nil {
				out = map[string]time.Time{}
			}
			out[r.Relation] = r.ExpiresAt.UTC()
		}
	}
	if w.roles == nil {
		w.roles = map[roleKey]map[string]time.Time{}
	}
	w.roles[k] = out
	return out, nil
}

// operand writes a set operation's child as the schema does:
// "admin_only", "organisation->unavailable_contacts", or a parenthesised
// expression.
func operand(c *core.SetOperation_Child) string {
	switch {
	case c.GetXThis() != nil:
		return "_this"
	case c.GetComputedUserset() != nil:
		return c.GetComputedUserset().GetRelation()
	case c.GetTupleToUserset() != nil:
		t, p := arrow(c)
		return t + "->" + p
	case c.GetFunctionedTupleToUserset() != nil:
		t, p := arrow(c)
		fn := "any"
		if c.GetFunctionedTupleToUserset().GetFunction() == core.FunctionedTupleToUserset_FUNCTION_ALL {
			fn = "all"
		}
		return t + "." + fn + "(" + p + ")"
	case c.GetUsersetRewrite() != nil:
		rw := c.GetUsersetRewrite()
		var op *core.SetOperation
		var sym string
		switch {
		case rw.GetUnion() != nil:
			op, sym = rw.GetUnion(), " + "
		case rw.GetIntersection() != nil:
			op, sym = rw.GetIntersection(), " & "
		default:
			op, sym = rw.GetExclusion(), " - "
		}
		parts := make([]string, len(op.GetChild()))
		for i, x := range op.GetChild() {
			parts[i] = operand(x)
		}
		return "(" + strings.Join(parts, sym) + ")"
	}
	return "nil"
}
