package workflow

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse-authz/gatehouse"
)

// The statuses of a change request, derived from its relationships.
const (
	StatusAuthorised = "authorised"
	StatusPending    = "pending"
	StatusBlocked    = "blocked"
)

// The escalation tiers (C8), named after who authorises in each, and
// TierNone when nobody needs to authorise or nobody can.
const (
	TierMain      = gatehouse.DesignationMainContact
	TierAlternate = gatehouse.DesignationAlternateContact
	TierDirector  = gatehouse.DesignationVerifiedDirector
	TierNone      = "none"
)

// What a change request may still need before it is done.
const (
	NeedAuthorisation = "authorisation"
	NeedSecurity      = "security"
	NeedCharge        = "charge"
)

// tier is one escalation tier: its name and the change_request permission
// that lists who may authorise in it (C4, C7, C9).
type tier struct{ name, permission string }

// tiers are the escalation tiers in the order C8 asks them. The order is
// the one decision Zanzibar cannot express: "the first set that is not empty".
func tiers() []tier {
	return []tier{
		{TierMain, gatehouse.PermAuthoriseMain},
		{TierAlternate, gatehouse.PermAuthoriseAlternate},
		{TierDirector, gatehouse.PermAuthoriseDirector},
	}
}

// approval is a flagged part of a request (C10, C11): the flag relation,
// the permission that lists who may approve it, the relation that records
// an approval and the permission that says whose approval counts.
type approval struct{ need, flag, approve, record, approved string }

func approvals() []approval {
	return []approval{
		{NeedSecurity, gatehouse.RelSubstantialSecurity, gatehouse.PermApproveSecurity, gatehouse.RelSecurityApprovedBy, gatehouse.PermSecurityApproved},
		{NeedCharge, gatehouse.RelSubstantialCharge, gatehouse.PermApproveCharge, gatehouse.RelChargeApprovedBy, gatehouse.PermChargeApproved},
	}
}

// NewChangeRequest is a change request as filed in Organisation. Target is
// an optional type:id (page:pricing). A non-empty LegalReason marks a
// legally mandated change that provider staff file (C12).
type NewChangeRequest struct {
	ID                  string
	Organisation        string
	Kind                string
	Target              string
	SubstantialSecurity bool
	SubstantialCharge   bool
	LegalReason         string
}

// ChangeRequest is the state of a change request. Everything in it is read
// from SpiceDB: the static fields from the request's relationships, the rest
// from permissions looked up now, so it is never stored apart from the
// relationships it derives from.
type ChangeRequest struct {
	ID                  string
	Organisation        string
	Kind                string
	Target              string
	Requester           gatehouse.Subject
	SubstantialSecurity bool
	SubstantialCharge   bool
	LegalMandate        bool

	// Status is authorised when nothing is needed, blocked when something
	// needed has nobody who may give it (BlockedOn names what), else pending.
	Status string
	// Tier names who must authorise (C8): TierNone once authorised or when
	// no tier has anyone.
	Tier string
	// Authorisers are the users who may give what is needed now: the
	// current tier while authorisation is needed, else the approvers of the
	// approvals still needed.
	Authorisers     []gatehouse.Subject
	ApprovalsNeeded []string
	BlockedOn       []string

	// AuthorisedBy, SecurityApprovedBy and ChargeApprovedBy are whose yes counts.
	AuthorisedBy       []gatehouse.Subject
	SecurityApprovedBy []gatehouse.Subject
	ChargeApprovedBy   []gatehouse.Subject

	ZedToken string

	// tierPermission is the permission of the current tier, for refusals.
	tierPermission string
	// approvers are who may give each approval still needed.
	approvers map[string][]gatehouse.Subject
}

// Needs reports whether the request still needs what (NeedAuthorisation, NeedSecurity, NeedCharge).
func (cr ChangeRequest) Needs(what string) bool { return slices.Contains(cr.ApprovalsNeeded, what) }

// object returns the change_request object of the request.
func (cr ChangeRequest) object() gatehouse.Object { return gatehouse.ChangeRequestRef(cr.ID) }

// validKind checks kind against C2; standard is refused where only
// non-standard kinds make sense (exceptions, C6).
func validKind(field, kind string, standardOK bool) error {
	if kind == "" {
		return gatehouse.Invalid(field, "%s is required (one of %s)", field, strings.Join(gatehouse.Kinds(), ", "))
	}
	if !gatehouse.IsKind(kind) {
		return gatehouse.Invalid(field, "%q is not a kind of change request (one of %s)", kind, strings.Join(gatehouse.Kinds(), ", "))
	}
	if kind == gatehouse.KindStandard && !standardOK {
		e := gatehouse.RuleViolation("C6", "an exception names a non-standard kind: standard requests are authorised when filed anyway (C3)")
		e.Field = field
		return e
	}
	return nil
}

// validTarget checks an optional target type:id; neither part may hold '/',
// which separates the parts of a change_target id.
func validTarget(field, target string) error {
	if target == "" {
		return nil
	}
	o, err := gatehouse.ParseObject(field, target)
	if err != nil {
		return err
	}
	if strings.Contains(o.Type, "/") || strings.Contains(o.ID, "/") {
		return gatehouse.Invalid(field, "%q: a target is type:id with no '/' in either part", target)
	}
	if len(o.ID)+len(o.Type) > 900 {
		return gatehouse.Invalid(field, "%q is too long", target)
	}
	return nil
}

func (r NewChangeRequest) validate() error {
	if err := validOrg("org", r.Organisation); err != nil {
		return err
	}
	if err := validID("id", r.ID); err != nil {
		return err
	}
	if err := validKind("kind", r.Kind, true); err != nil {
		return err
	}
	return validTarget("target", r.Target)
}

// FileChangeRequest files r for actor, who becomes its requester. Any
// member may file any kind (C1, C2); provider staff may file a legally
// mandated change with a legal reason (C12). The request's relationships
// are created in one write that fails with ECONFLICT when the id is taken.
// A request the requester may authorise themselves (C3, C5, C6, or they are
// in the current tier) is authorised as filed, and that is recorded, so an
// exception that expires later does not undo it.
func (s *Service) FileChangeRequest(ctx context.Context, actor gatehouse.Subject, r NewChangeRequest) (ChangeRequest, error) {
	r.LegalReason = strings.TrimSpace(r.LegalReason)
	if err := r.validate(); err != nil {
		return ChangeRequest{}, err
	}
	org := gatehouse.OrganisationRef(r.Organisation)
	legal := r.LegalReason != ""
	var platform gatehouse.Object
	if legal {
		if err := s.require(ctx, actor, gatehouse.PermProviderStaff, org); err != nil {
			return ChangeRequest{}, err
		}
		p, err := s.platformOf(ctx, actor, org)
		if err != nil {
			return ChangeRequest{}, err
		}
		platform = p
	} else if err := s.require(ctx, actor, gatehouse.PermMember, org); err != nil {
		return ChangeRequest{}, err
	}

	cr := gatehouse.ChangeRequestRef(r.ID)
	var ups []gatehouse.Update
	add := func(relation string, subject gatehouse.Subject) {
		ups = append(ups, gatehouse.Update{Op: gatehouse.Create, Relationship: gatehouse.Relationship{Resource: cr, Relation: relation, Subject: subject}})
	}
	add(gatehouse.RelOrganisation, gatehouse.Subject{Object: org})
	add(gatehouse.RelRequester, actor)
	add(gatehouse.RelKind, gatehouse.Subject{Object: gatehouse.ChangeKindRef(r.Organisation, r.Kind)})
	add(r.Kind, gatehouse.Subject{Object: org})
	if r.Target != "" {
		add(gatehouse.RelTarget, gatehouse.Subject{Object: gatehouse.ChangeTargetRef(r.Organisation, r.Kind, r.Target)})
	}
	if r.SubstantialSecurity {
		add(gatehouse.RelSubstantialSecurity, gatehouse.Wildcard(gatehouse.TypeUser))
	}
	if r.SubstantialCharge {
		add(gatehouse.RelSubstantialCharge, gatehouse.Wildcard(gatehouse.TypeUser))
	}
	details := map[string]string{"changeRequest": r.ID, "kind": r.Kind}
	if r.Target != "" {
		details["target"] = r.Target
	}
	if legal {
		add(gatehouse.RelLegalMandate, gatehouse.Subject{Object: platform})
		details["legalMandate"] = "true"
	}
	_, err := s.store.Write(ctx, gatehouse.Write{
		Updates: ups,
		// Ids are global: no relationship of change_request:<id> may exist yet.
		Preconditions: []gatehouse.Precondition{{Filter: gatehouse.Filter{ResourceType: cr.Type, ResourceID: cr.ID}}},
		Audit:         gatehouse.Audit{Actor: actor.String(), Action: "file_change_request", Reason: r.LegalReason, Organisation: r.Organisation, Details: details},
	})
	if err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.ECONFLICT {
			return ChangeRequest{}, &gatehouse.Error{Code: gatehouse.ECONFLICT, Field: "id", Message: fmt.Sprintf("change request %q exists already", r.ID), Err: err}
		}
		return ChangeRequest{}, err
	}

	st, err := s.state(ctx, cr)
	if err != nil {
		return ChangeRequest{}, err
	}
	if !st.Needs(NeedAuthorisation) {
		return st, nil
	}
	ok, err := s.mayAuthorise(ctx, st, actor)
	if err != nil || !ok {
		return st, err
	}
	tok, err := s.store.Write(ctx, gatehouse.Write{
		Updates: []gatehouse.Update{{Op: gatehouse.Touch, Relationship: gatehouse.Relationship{Resource: cr, Relation: gatehouse.RelAuthorisedBy, Subject: actor}}},
		Audit: gatehouse.Audit{
			Actor: actor.String(), Action: "authorise_change_request", Organisation: r.Organisation,
			Reason: "authorised when filed: the requester may authorise it (C3, C5, C6, C8)", Details: map[string]string{"changeRequest": r.ID, "gave": NeedAuthorisation},
		},
	})
	if err != nil {
		return ChangeRequest{}, err
	}
	st, err = s.state(ctx, cr)
	st.ZedToken = tok
	return st, err
}

// mayAuthorise reports whether actor may give a request its authorisation:
// they are in the current tier (C4, C7, C8, C9), or they are the requester
// with standing (C3, C5, C6), which also lets a requester record an
// authorisation that filing could not.
func (s *Service) mayAuthorise(ctx context.Context, st ChangeRequest, actor gatehouse.Subject) (bool, error) {
	if slices.Contains(st.Authorisers, actor) {
		return true, nil
	}
	if actor != st.Requester {
		return false, nil
	}
	return s.allowed(ctx, st.object(), gatehouse.PermStanding, actor)
}

// platformOf returns the provider an organisation is linked to.
func (s *Service) platformOf(ctx context.Context, actor gatehouse.Subject, org gatehouse.Object) (gatehouse.Object, error) {
	rels, _, err := s.store.ReadRelationships(ctx, gatehouse.Filter{ResourceType: org.Type, ResourceID: org.ID, Relation: gatehouse.RelPlatform}, latest)
	if err != nil {
		return gatehouse.Object{}, err
	}
	if len(rels) == 0 {
		// provider_staff reaches staff only through this link, so require
		// has already refused; this guards a concurrent unlinking.
		return gatehouse.Object{}, gatehouse.Forbidden(actor, gatehouse.PermProviderStaff, org)
	}
	return rels[0].Subject.Object, nil
}

// ChangeRequest returns the current state of the change request id (item 7:
// re-evaluated now, so it escalates and returns as contacts become
// unavailable and available again). Its requester, holders of view_reports
// (change_request#view), provider staff, and whoever may give or has given
// what it needs may read it; anyone else gets EFORBIDDEN naming view.
func (s *Service) ChangeRequest(ctx context.Context, actor gatehouse.Subject, id string) (ChangeRequest, error) {
	if !gatehouse.ValidID(id) {
		return ChangeRequest{}, gatehouse.Invalid("id", "%q is not a valid change request id", id)
	}
	cr, err := s.load(ctx, gatehouse.ChangeRequestRef(id))
	if err != nil {
		return ChangeRequest{}, err
	}
	for _, p := range []struct {
		res  gatehouse.Object
		perm string
	}{{cr.object(), gatehouse.PermView}, {gatehouse.OrganisationRef(cr.Organisation), gatehouse.PermProviderStaff}} {
		ok, err := s.allowed(ctx, p.res, p.perm, actor)
		if err != nil {
			return ChangeRequest{}, err
		}
		if ok {
			return s.evaluate(ctx, cr)
		}
	}
	st, err := s.evaluate(ctx, cr)
	if err != nil {
		return ChangeRequest{}, err
	}
	// Contacts, directors and approvers need not hold view_reports (a
	// finance contact, a director with no role), yet must see what they
	// are asked to authorise.
	involved := slices.Concat(st.Authorisers, st.AuthorisedBy, st.SecurityApprovedBy, st.ChargeApprovedBy)
	for _, subs := range st.approvers {
		involved = append(involved, subs...)
	}
	if !slices.Contains(involved, actor) {
		return ChangeRequest{}, gatehouse.Forbidden(actor, gatehouse.PermView, cr.object())
	}
	return st, nil
}

// AuthoriseChangeRequest gives, for actor, everything the request still
// needs that actor may give, in one write: the authorisation when actor is
// in the current tier (C4, C7, C8, C9) or is a requester with standing (C5,
// C6), the security approval when actor holds approve_security (C10), the
// charge approval when actor holds approve_charge (C11); the requester never
// holds either approval. The write touches, so concurrent authorisations
// converge. Nothing needed is ERULE (C4); nothing actor may give is
// EFORBIDDEN naming the first permission actor lacks.
func (s *Service) AuthoriseChangeRequest(ctx context.Context, actor gatehouse.Subject, id, note string) (ChangeRequest, error) {
	if !gatehouse.ValidID(id) {
		return ChangeRequest{}, gatehouse.Invalid("id", "%q is not a valid change request id", id)
	}
	cr := gatehouse.ChangeRequestRef(id)
	st, err := s.state(ctx, cr)
	if err != nil {
		return ChangeRequest{}, err
	}
	if len(st.ApprovalsNeeded) == 0 {
		return ChangeRequest{}, gatehouse.RuleViolation("C4", "nothing left to authorise: change request %s is authorised", id)
	}
	var ups []gatehouse.Update
	var gave, lacking []string
	give := func(relation, what string) {
		ups = append(ups, gatehouse.Update{Op: gatehouse.Touch, Relationship: gatehouse.Relationship{Resource: cr, Relation: relation, Subject: actor}})
		gave = append(gave, what)
	}
	if st.Needs(NeedAuthorisation) {
		ok, err := s.mayAuthorise(ctx, st, actor)
		if err != nil {
			return ChangeRequest{}, err
		}
		if ok {
			give(gatehouse.RelAuthorisedBy, NeedAuthorisation)
		} else {
			lacking = append(lacking, st.tierPermission)
		}
	}
	for _, a := range approvals() {
		if !st.Needs(a.need) {
			continue
		}
		ok, err := s.allowed(ctx, cr, a.approve, actor)
		if err != nil {
			return ChangeRequest{}, err
		}
		if ok {
			give(a.record, a.need)
		} else {
			lacking = append(lacking, a.approve)
		}
	}
	if len(ups) == 0 {
		return ChangeRequest{}, &gatehouse.Error{
			Code: gatehouse.EFORBIDDEN, Permission: lacking[0],
			Message: fmt.Sprintf("%s may give nothing that %s still needs (%s): it lacks %s",
				actor, cr, strings.Join(st.ApprovalsNeeded, ", "), strings.Join(lacking, ", ")),
		}
	}
	tok, err := s.store.Write(ctx, gatehouse.Write{
		Updates: ups,
		Audit: gatehouse.Audit{
			Actor: actor.String(), Action: "authorise_change_request", Reason: note, Organisation: st.Organisation,
			Details: map[string]string{"changeRequest": id, "gave": strings.Join(gave, ",")},
		},
	})
	if err != nil {
		return ChangeRequest{}, err
	}
	st, err = s.state(ctx, cr)
	st.ZedToken = tok
	return st, err
}

// state loads and evaluates the change request cr.
func (s *Service) state(ctx context.Context, cr gatehouse.Object) (ChangeRequest, error) {
	st, err := s.load(ctx, cr)
	if err != nil {
		return ChangeRequest{}, err
	}
	return s.evaluate(ctx, st)
}

// load reads the static part of a change request from its relationships;
// a request without an organisation does not exist (ENOTFOUND).
func (s *Service) load(ctx context.Context, cr gatehouse.Object) (ChangeRequest, error) {
	rels, tok, err := s.store.ReadRelationships(ctx, gatehouse.Filter{ResourceType: cr.Type, ResourceID: cr.ID}, latest)
	if err != nil {
		return ChangeRequest{}, err
	}
	st := ChangeRequest{ID: cr.ID, ZedToken: tok}
	for _, r := range rels {
		switch r.Relation {
		case gatehouse.RelOrganisation:
			st.Organisation = r.Subject.ID
		case gatehouse.RelRequester:
			st.Requester = r.Subject
		case gatehouse.RelKind:
			_, st.Kind, _ = strings.Cut(r.Subject.ID, "/")
		case gatehouse.RelTarget:
			// <org>/<kind>/<type>/<id>
			if parts := strings.SplitN(r.Subject.ID, "/", 4); len(parts) == 4 {
				st.Target = parts[2] + ":" + parts[3]
			}
		case gatehouse.RelSubstantialSecurity:
			st.SubstantialSecurity = true
		case gatehouse.RelSubstantialCharge:
			st.SubstantialCharge = true
		case gatehouse.RelLegalMandate:
			st.LegalMandate = true
		}
	}
	if st.Organisation == "" {
		return ChangeRequest{}, &gatehouse.Error{Code: gatehouse.ENOTFOUND, Field: "id", Message: fmt.Sprintf("no change request %q", cr.ID)}
	}
	return st, nil
}

// evaluate derives the state of st from SpiceDB: whose yes counts, what is
// still needed, and who may give it. Go decides only the tier order (C8).
func (s *Service) evaluate(ctx context.Context, st ChangeRequest) (ChangeRequest, error) {
	cr := st.object()
	lookup := func(permission string) ([]gatehouse.Subject, error) {
		subs, tok, err := s.store.LookupSubjects(ctx, gatehouse.LookupSubjectsRequest{Resource: cr, Permission: permission, SubjectType: gatehouse.TypeUser, Consistency: latest})
		if tok != "" {
			st.ZedToken = tok
		}
		return subs, err
	}
	var err error
	if st.AuthorisedBy, err = lookup(gatehouse.PermAuthorised); err != nil {
		return ChangeRequest{}, err
	}
	st.ApprovalsNeeded, st.BlockedOn, st.Authorisers = nil, nil, nil
	st.approvers = map[string][]gatehouse.Subject{}
	if len(st.AuthorisedBy) == 0 {
		st.ApprovalsNeeded = append(st.ApprovalsNeeded, NeedAuthorisation)
	}
	for _, a := range approvals() {
		flagged := (a.need == NeedSecurity && st.SubstantialSecurity) || (a.need == NeedCharge && st.SubstantialCharge)
		if !flagged {
			continue
		}
		by, err := lookup(a.approved)
		if err != nil {
			return ChangeRequest{}, err
		}
		if a.need == NeedSecurity {
			st.SecurityApprovedBy = by
		} else {
			st.ChargeApprovedBy = by
		}
		if len(by) > 0 {
			continue
		}
		st.ApprovalsNeeded = append(st.ApprovalsNeeded, a.need)
		if st.approvers[a.need], err = lookup(a.approve); err != nil {
			return ChangeRequest{}, err
		}
		if len(st.approvers[a.need]) == 0 {
			st.BlockedOn = append(st.BlockedOn, a.need)
		}
	}

	st.Tier = TierNone
	if st.Needs(NeedAuthorisation) {
		for _, t := range tiers() {
			subs, err := lookup(t.permission)
			if err != nil {
				return ChangeRequest{}, err
			}
			if len(subs) > 0 {
				st.Tier, st.tierPermission, st.Authorisers = t.name, t.permission, subs
				break
			}
		}
		if st.Tier == TierNone {
			// C9: nobody in any tier may be asked.
			st.tierPermission = gatehouse.PermAuthorise
			st.BlockedOn = append([]string{NeedAuthorisation}, st.BlockedOn...)
		}
	} else {
		for _, a := range approvals() {
			for _, u := range st.approvers[a.need] {
				if !slices.Contains(st.Authorisers, u) {
					st.Authorisers = append(st.Authorisers, u)
				}
			}
		}
		slices.SortFunc(st.Authorisers, func(a, b gatehouse.Subject) int { return strings.Compare(a.String(), b.String()) })
	}

	switch {
	case len(st.ApprovalsNeeded) == 0:
		st.Status = StatusAuthorised
	case len(st.BlockedOn) > 0:
		st.Status = StatusBlocked
	default:
		st.Status = StatusPending
	}
	return st, nil
}
