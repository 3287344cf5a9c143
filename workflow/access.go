package workflow

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse"
)

// AccessReview answers who holds what and why: every member's
// permissions on the organisation, its contractors and invoices, with the
// relationships that grant them and when they end (T5), for reviewers
// (view_reports, provider staff) and for each member about themselves,
// and a contractor's part of it; as CSV too.
type AccessReview struct {
	*kit
	orgs        *Organisations
	contractors *Contractors
}

// Access is one permission a person holds, for an access review: User
// holds Permission on On, through Via, the relationships of theirs that
// grant it (a role or a designation in the organisation, or provider
// staff). Until is when the last of them ends (T5), nil when one never does.
type Access struct {
	User       gatehouse.Subject
	Permission string
	On         gatehouse.Object
	Via        []gatehouse.Relationship
	Until      *time.Time
}

// AccessPage is one page of an access review: the rows of a page of
// members, in order of user, then the organisation's permissions, then
// each contractor and invoice by id. Cursor continues it when more members
// remain. Truncated says the organisation has more contractors or invoices
// than a review weighs (MaxAccessObjects of each): the rows on the
// others are left out.
type AccessPage struct {
	Rows      []Access
	Cursor    string
	Truncated bool
}

// The bounds of an access review: members per page (default and most),
// and how many contractors and how many invoices it weighs, by id.
const (
	AccessDefaultLimit = 50
	AccessMaxLimit     = 200
	MaxAccessObjects   = 100
)

// checkBulkMax is the most items of one CheckBulk: SpiceDB's own bound.
const checkBulkMax = 1000

// Access reviews who holds what in org (issue 21): for a page of members
// (by user id, at most limit, default 50, at most 200, after cursor), every
// permission of the organisation in the schema and every permission of its
// contractors and invoices that they hold, each with the relationships that
// grant it. The actor must hold view_reports or be provider staff;
// otherwise 403 naming view_reports (404 when org does not exist).
//
// SpiceDB decides what is held (one bulk check over members × permissions
// × objects, 1000 items a call); the compiled schema names, for each held
// permission, the ways that could grant it, and a check of each way's
// relationship and conditions for the member keeps those that do.
func (s *AccessReview) Access(ctx context.Context, actor gatehouse.Subject, org string, limit int, cursor string) (AccessPage, error) {
	if err := validOrg("org", org); err != nil {
		return AccessPage{}, err
	}
	switch {
	case limit == 0:
		limit = AccessDefaultLimit
	case limit < 0 || limit > AccessMaxLimit:
		return AccessPage{}, gatehouse.Invalid("limit", "limit must be between 1 and %d", AccessMaxLimit)
	}
	after := ""
	if cursor != "" {
		var err error
		if after, err = decodeCursor(cursor); err != nil {
			return AccessPage{}, err
		}
	}
	if err := s.requireReviewer(ctx, actor, org, gatehouse.Subject{}); err != nil {
		return AccessPage{}, err
	}
	ms, _, err := s.orgs.members(ctx, org, latest)
	if err != nil {
		return AccessPage{}, err
	}
	var out AccessPage
	var page []Member
	for _, m := range ms {
		if m.User.ID <= after {
			continue
		}
		if len(page) == limit {
			out.Cursor = encodeCursor(page[len(page)-1].User.ID)
			break
		}
		page = append(page, m)
	}
	out.Rows, out.Truncated, err = s.accessOf(ctx, org, page)
	return out, err
}

// MemberAccess is Access for one person of org, member or not: everything
// they hold there, with its paths. The person themselves (while a member),
// holders of view_reports and provider staff may ask; anyone else gets 403
// naming view_reports.
func (s *AccessReview) MemberAccess(ctx context.Context, actor gatehouse.Subject, org string, user gatehouse.Subject) ([]Access, bool, error) {
	if err := validOrg("org", org); err != nil {
		return nil, false, err
	}
	if err := validUser("user", user); err != nil {
		return nil, false, err
	}
	if err := s.requireReviewer(ctx, actor, org, user); err != nil {
		return nil, false, err
	}
	ms, _, err := s.orgs.members(ctx, org, latest)
	if err != nil {
		return nil, false, err
	}
	m := Member{User: user}
	if i := slices.IndexFunc(ms, func(m Member) bool { return m.User == user }); i >= 0 {
		m = ms[i]
	}
	return s.accessOf(ctx, org, []Member{m})
}

// requireReviewer lets actor review org's access: with view_reports, as
// provider staff, or, when self is actor, as a member asking about
// themselves. 404 when org does not exist, else 403 naming view_reports.
func (s *AccessReview) requireReviewer(ctx context.Context, actor gatehouse.Subject, org string, self gatehouse.Subject) error {
	o := gatehouse.OrganisationRef(org)
	perms := []string{gatehouse.PermViewReports, gatehouse.PermProviderStaff}
	if self == actor {
		perms = append(perms, gatehouse.PermMember)
	}
	for _, p := range perms {
		ok, err := s.allowed(ctx, o, p, actor)
		if err != nil || ok {
			return err
		}
	}
	if ok, err := s.orgExists(ctx, org); err == nil && !ok {
		return notFound(org)
	}
	return gatehouse.Forbidden(actor, gatehouse.PermViewReports, o)
}

// target is one permission on one object that a review asks about.
type target struct {
	on         gatehouse.Object
	permission string
}

// accessOf is what each of ms holds in org, in their order: the targets
// are the organisation's permissions and its contractors' and invoices'
// (at most MaxAccessObjects of each; truncated says some were left out).
func (s *AccessReview) accessOf(ctx context.Context, org string, ms []Member) ([]Access, bool, error) {
	if len(ms) == 0 {
		return []Access{}, false, nil
	}
	targets, truncated, err := s.reviewTargets(ctx, org)
	if err != nil {
		return nil, false, err
	}
	out, err := s.accessOn(ctx, ms, targets)
	return out, truncated, err
}

// accessOn is what each of ms holds of targets, in their order, each with
// the relationships that grant it.
func (s *AccessReview) accessOn(ctx context.Context, ms []Member, targets []target) ([]Access, error) {
	out := []Access{}
	held, err := s.heldBulk(ctx, ms, targets)
	if err != nil {
		return nil, err
	}
	defs, err := compiledSchema()
	if err != nil {
		return nil, err
	}
	// Which object a contractor or invoice belongs to is the same for
	// every member: one read of each, shared by their walks.
	linked := map[linkKey][]gatehouse.Object{}
	for i, m := range ms {
		// The walk of X6 (whynot.go) reads through a Service; only its kit.
		w := &whyNotWalk{
			s: &Service{kit: s.kit}, defs: defs, subject: m.User, at: latest,
			checks: map[checkKey]bool{}, linked: linked, depth: whyNotDepth,
		}
		for j, t := range targets {
			if !held[i*len(targets)+j] {
				continue
			}
			via, err := s.via(ctx, w, m, t)
			if err != nil {
				return nil, err
			}
			out = append(out, Access{User: m.User, Permission: t.permission, On: t.on, Via: via, Until: until(via)})
		}
	}
	return out, nil
}

// reviewTargets lists every permission of the organisation, then those of
// each of its contractors and invoices, by id, at most MaxAccessObjects of
// each type.
func (s *AccessReview) reviewTargets(ctx context.Context, org string) ([]target, bool, error) {
	o := gatehouse.OrganisationRef(org)
	perms, err := permissionsOf(gatehouse.TypeOrganisation)
	if err != nil {
		return nil, false, err
	}
	var out []target
	for _, p := range perms {
		out = append(out, target{o, p})
	}
	truncated := false
	for _, typ := range []string{gatehouse.TypeContractor, gatehouse.TypeInvoice} {
		perms, err := permissionsOf(typ)
		if err != nil {
			return nil, false, err
		}
		rels, _, err := s.store.ReadRelationships(ctx, gatehouse.Filter{
			ResourceType: typ, Relation: gatehouse.RelOrganisation, SubjectType: gatehouse.TypeOrganisation, SubjectID: org,
		}, latest)
		if err != nil {
			return nil, false, err
		}
		ids := make([]string, 0, len(rels))
		for _, r := range rels {
			ids = append(ids, r.Resource.ID)
		}
		slices.Sort(ids)
		ids = slices.Compact(ids)
		if len(ids) > MaxAccessObjects {
			ids, truncated = ids[:MaxAccessObjects], true
		}
		for _, id := range ids {
			for _, p := range perms {
				out = append(out, target{gatehouse.Object{Type: typ, ID: id}, p})
			}
		}
	}
	return out, truncated, nil
}

// permissionsOf lists the permissions (not the relations) of typ, as the
// schema declares them, in its order.
func permissionsOf(typ string) ([]string, error) {
	defs, err := compiledSchema()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range defs[typ].GetRelation() {
		if r.GetUsersetRewrite() != nil {
			out = append(out, r.GetName())
		}
	}
	return out, nil
}

// heldBulk asks SpiceDB, for each member and target, whether the member
// holds the target's permission, checkBulkMax items a call: held[i*len(ts)+j]
// answers ms[i] and ts[j]. Measured against a LookupResources per member
// and permission (TestAccessHeldMeasured): the bulk check does a page in
// fewer calls, and reads nothing of other organisations.
func (s *AccessReview) heldBulk(ctx context.Context, ms []Member, ts []target) ([]bool, error) {
	held := make([]bool, 0, len(ms)*len(ts))
	reqs := make([]gatehouse.CheckRequest, 0, checkBulkMax)
	flush := func() error {
		if len(reqs) == 0 {
			return nil
		}
		res, _, err := s.store.CheckBulk(ctx, reqs, latest)
		if err != nil {
			return err
		}
		for _, r := range res {
			if r.Err != nil {
				return r.Err
			}
			held = append(held, r.Allowed)
		}
		reqs = reqs[:0]
		return nil
	}
	for _, m := range ms {
		for _, t := range ts {
			reqs = append(reqs, gatehouse.CheckRequest{Resource: t.on, Permission: t.permission, Subject: m.User})
			if len(reqs) == checkBulkMax {
				if err := flush(); err != nil {
					return nil, err
				}
			}
		}
	}
	return held, flush()
}

// via names the relationships of m that grant t: the ways of t's
// permission in the compiled schema (WhyNot's walk), each kept when
// SpiceDB says m holds its relationship and meets its conditions.
func (s *AccessReview) via(ctx context.Context, w *whyNotWalk, m Member, t target) ([]gatehouse.Relationship, error) {
	w.maxWays = whyNotWays
	ways, err := w.expand(ctx, t.on, t.permission, nil, nil, 0)
	if err != nil {
		return nil, err
	}
	out := []gatehouse.Relationship{}
	for _, c := range ways {
		ok, err := w.opens(ctx, c)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		r := gatehouse.Relationship{Resource: c.leaf, Relation: c.rel, Subject: m.User}
		if at, ok := m.ExpiresAt[c.rel]; ok && c.leaf.Type == gatehouse.TypeOrganisation {
			r.ExpiresAt = &at
		}
		if !slices.ContainsFunc(out, func(x gatehouse.Relationship) bool { return x.String() == r.String() }) {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b gatehouse.Relationship) int { return strings.Compare(a.String(), b.String()) })
	return out, nil
}

// opens reports whether way c grants the walk's subject: they hold its
// relationship and every condition is met.
func (w *whyNotWalk) opens(ctx context.Context, c candidate) (bool, error) {
	ok, err := w.holds(ctx, c.leaf, c.rel)
	if err != nil || !ok {
		return false, err
	}
	for _, cd := range c.conds {
		met, err := w.evaluate(ctx, cd.obj, cd.permission, cd.child)
		if err != nil || met != cd.mustHold {
			return false, err
		}
	}
	return true, nil
}

// until is when the last of via ends: nil when one of them never does.
func until(via []gatehouse.Relationship) *time.Time {
	var last *time.Time
	for _, r := range via {
		if r.ExpiresAt == nil {
			return nil
		}
		if last == nil || r.ExpiresAt.After(*last) {
			last = r.ExpiresAt
		}
	}
	return last
}

// AccessCSVHeader names the columns of an access review exported as CSV.
var AccessCSVHeader = []string{"user", "permission", "object", "via", "until"}

// WriteAccessCSV writes org's access review as CSV to w for actor, the
// one export both adapters serve (the API's Accept: text/csv, the
// console's members page): the header, then first's rows and every page
// after it, read limit members at a time, one row per person, permission
// and object, never the whole review in memory. first is the review's
// first page, read by the caller before the answer starts, so that a
// refusal is still answered as one. A review that weighed only some
// contractors or invoices ends with a row "#truncated"; one that cannot
// finish with a row "#error" naming the failure, never as if complete.
func (s *AccessReview) WriteAccessCSV(ctx context.Context, actor gatehouse.Subject, org string, limit int, first AccessPage, w io.Writer) error {
	cw := csv.NewWriter(w)
	page := first
	err := cw.Write(AccessCSVHeader)
	truncated := page.Truncated
	for err == nil {
		for _, r := range page.Rows {
			if err = cw.Write(SpreadsheetSafe(r.csv())); err != nil {
				break
			}
		}
		cw.Flush()
		if err != nil || page.Cursor == "" {
			break
		}
		page, err = s.Access(ctx, actor, org, limit, page.Cursor)
		truncated = truncated || page.Truncated
	}
	switch {
	case err != nil:
		msg := "internal error"
		var e *gatehouse.Error
		if errors.As(err, &e) && e.Code != gatehouse.EINTERNAL {
			msg = e.Message
		}
		_ = cw.Write([]string{"#error", "the export stopped before its end: " + msg, "", "", ""})
	case truncated:
		_ = cw.Write([]string{"#truncated", fmt.Sprintf("the review weighs the first %d contractors and %d invoices by id; rows on the others are left out", MaxAccessObjects, MaxAccessObjects), "", "", ""})
	}
	cw.Flush()
	if err == nil {
		err = cw.Error()
	}
	return err
}

// SpreadsheetSafe is row with every cell a spreadsheet would read as a
// formula (one starting with =, +, -, @, a tab or a carriage return)
// prefixed with a single quote, as OWASP advises for CSV exports: a
// reason, an id or a name someone typed ("=HYPERLINK(…)") then opens as
// the text it is. Every CSV export of both adapters writes its rows
// through it.
func SpreadsheetSafe(row []string) []string {
	out := make([]string, len(row))
	for i, c := range row {
		if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
			c = "'" + c
		}
		out[i] = c
	}
	return out
}

// csv is the row of a as the export writes it: the relationships that
// grant it separated by spaces, its end as RFC 3339 in UTC.
func (a Access) csv() []string {
	via := make([]string, len(a.Via))
	for i, r := range a.Via {
		via[i] = r.String()
	}
	until := ""
	if a.Until != nil {
		until = a.Until.UTC().Format(time.RFC3339)
	}
	return []string{a.User.String(), a.Permission, a.On.String(), strings.Join(via, " "), until}
}

// ContractorAccess is the contractor's part of its organisation's access
// review: who of the team holds each permission on contractor id, with
// the relationships that grant it (Access), for a contractor's page.
// Reviewers (view_reports holders and provider staff, as Access) get
// everyone's; a member who may view it but not review gets their own
// only, as MemberAccess gives them, and everyone is false. Anyone who may
// not view it is refused as Contractor refuses them.
func (s *AccessReview) ContractorAccess(ctx context.Context, actor gatehouse.Subject, id string) (rows []Access, everyone bool, err error) {
	c, err := s.contractors.Contractor(ctx, actor, id)
	if err != nil {
		return nil, false, err
	}
	perms, err := permissionsOf(gatehouse.TypeContractor)
	if err != nil {
		return nil, false, err
	}
	targets := make([]target, len(perms))
	for i, p := range perms {
		targets[i] = target{gatehouse.ContractorRef(id), p}
	}
	ms := []Member{{User: actor}}
	err = s.requireReviewer(ctx, actor, c.Organisation, gatehouse.Subject{})
	switch {
	case err == nil:
		everyone = true
		if ms, _, err = s.orgs.members(ctx, c.Organisation, latest); err != nil {
			return nil, false, err
		}
	case gatehouse.ErrorCode(err) == gatehouse.EFORBIDDEN:
		members, _, err := s.orgs.members(ctx, c.Organisation, latest)
		if err != nil {
			return nil, false, err
		}
		if i := slices.IndexFunc(members, func(m Member) bool { return m.User == actor }); i >= 0 {
			ms = members[i : i+1]
		}
	default:
		return nil, false, err
	}
	rows, err = s.accessOn(ctx, ms, targets)
	return rows, everyone, err
}
