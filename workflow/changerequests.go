package workflow

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse"
)

// The statuses of a change request, derived from its relationships.
const (
	StatusAuthorised = "authorised"
	StatusPending    = "pending"
	StatusBlocked    = "blocked"
	// StatusRejected and StatusWithdrawn are the closed statuses (C13).
	StatusRejected  = "rejected"
	StatusWithdrawn = "withdrawn"
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
	// NeedConfiguration and NeedSpending are C16's approvals.
	NeedConfiguration = "configuration"
	NeedSpending      = "spending"
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

// approval is an approval a request may need besides its authorisation:
// flagged (C10, C11) or of its kind (C16). need names it, approve is the
// change_request permission that lists who may give it, record the
// relation that records it, approved the permission that says whose
// approval counts, and grant the organisation permission it rests on, with
// its granting roles and whether R7 takes it away.
type approval struct {
	need, kind, approve, record, approved, grant string
	roles                                        []string
	financial                                    bool
}

func approvals() []approval {
	itm := []string{gatehouse.RoleOwner, gatehouse.RoleSecurityAdmin, gatehouse.RoleAlternateSecurityAdmin, gatehouse.RoleITManager}
	return []approval{
		{need: NeedSecurity, approve: gatehouse.PermApproveSecurity, record: gatehouse.RelSecurityApprovedBy, approved: gatehouse.PermSecurityApproved, grant: gatehouse.PermApproveSecurityChanges, roles: itm},
		{need: NeedCharge, approve: gatehouse.PermApproveCharge, record: gatehouse.RelChargeApprovedBy, approved: gatehouse.PermChargeApproved, grant: gatehouse.PermApproveCharges, roles: append(slices.Clone(itm), gatehouse.RoleFinanceAdmin), financial: true},
		{need: NeedConfiguration, kind: gatehouse.KindConfiguration, approve: gatehouse.PermApproveConfiguration, record: gatehouse.RelConfigurationApprovedBy, approved: gatehouse.PermConfigurationApproved, grant: gatehouse.PermApproveConfigChanges, roles: itm},
		{need: NeedSpending, kind: gatehouse.KindSpending, approve: gatehouse.PermApproveSpend, record: gatehouse.RelSpendApprovedBy, approved: gatehouse.PermSpendApproved, grant: gatehouse.PermApproveSpending, roles: itm, financial: true},
	}
}

// applies reports whether st needs a's approval at all: flagged (C10,
// C11), or of the kind that always needs it (C16).
func (a approval) applies(st ChangeRequest) bool {
	switch a.need {
	case NeedSecurity:
		return st.SubstantialSecurity
	case NeedCharge:
		return st.SubstantialCharge
	}
	return st.Kind == a.kind
}

// approvedBy returns the field of st that lists whose a-approval counts.
func (a approval) approvedBy(st *ChangeRequest) *[]gatehouse.Subject {
	switch a.need {
	case NeedSecurity:
		return &st.SecurityApprovedBy
	case NeedCharge:
		return &st.ChargeApprovedBy
	case NeedConfiguration:
		return &st.ConfigurationApprovedBy
	}
	return &st.SpendApprovedBy
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

	// Status is rejected or withdrawn once closed (C13), authorised when
	// nothing is needed, blocked when something needed has nobody who may
	// give it (BlockedOn names what), else pending.
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

	// AuthorisedBy and the *ApprovedBy lists are whose yes counts.
	AuthorisedBy            []gatehouse.Subject
	SecurityApprovedBy      []gatehouse.Subject
	ChargeApprovedBy        []gatehouse.Subject
	ConfigurationApprovedBy []gatehouse.Subject
	SpendApprovedBy         []gatehouse.Subject

	// TargetUser is the user the request is about, when its target is a
	// user (C17): they neither authorise nor approve it.
	TargetUser *gatehouse.Subject

	// OverrideBy is the staff member who overrode on mitigating
	// circumstances, with OverrideCategory and OverrideReason;
	// OverrideConfirmedBy the second one who confirmed it (C18).
	OverrideBy          *gatehouse.Subject
	OverrideCategory    string
	OverrideReason      string
	OverrideConfirmedBy *gatehouse.Subject

	// ClosedBy, ClosedAt and Reason say who rejected or withdrew a closed
	// request, when and why (C13).
	ClosedBy *gatehouse.Subject
	ClosedAt *time.Time
	Reason   string

	ZedToken string

	// records are the relations of the request that hold a yes
	// (authorised_by, *_approved_by), as read.
	records map[string]bool
	// closed is the request's C13 flag, as read.
	closed bool
	// settled is the request's C14 flag, as read.
	settled bool

	// tierPermission is the permission of the current tier, for refusals.
	tierPermission string
	// approvers are who may give each approval still needed.
	approvers map[string][]gatehouse.Subject
}

// Needs reports whether the request still needs what (NeedAuthorisation, NeedSecurity, NeedCharge, NeedConfiguration, NeedSpending).
func (cr ChangeRequest) Needs(what string) bool { return slices.Contains(cr.ApprovalsNeeded, what) }

// Open reports whether the request is pending or blocked (C13).
func (cr ChangeRequest) Open() bool { return cr.Status == StatusPending || cr.Status == StatusBlocked }

// Closed reports whether the request was rejected or withdrawn (C13).
func (cr ChangeRequest) Closed() bool { return cr.closed }

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
// are created in one write that fails with ECONFLICT when the id is taken,
// pinned on the requester's membership (or staff standing), so a
// concurrent removal sends it back to be decided again. A target that is a
// user is recorded as the request's target_user (C17). The kind's and the
// target's always-substantial declarations flag it whatever the filer says
// (C15), pinned so a concurrent declaration is not missed.
// A request the requester may authorise themselves (C3, C5, C6, or they are
// in the current tier) is authorised as filed, and that is recorded, so an
// exception that expires later does not undo it; never when it is about
// the requester (C17).
func (s *Service) FileChangeRequest(ctx context.Context, actor gatehouse.Subject, r NewChangeRequest) (ChangeRequest, error) {
	r.LegalReason = strings.TrimSpace(r.LegalReason)
	if err := r.validate(); err != nil {
		return ChangeRequest{}, err
	}
	org := gatehouse.OrganisationRef(r.Organisation)
	legal := r.LegalReason != ""
	cr := gatehouse.ChangeRequestRef(r.ID)
	var standing []gatehouse.Precondition
	err := retryWrite(ctx, func() error {
		var c writeSet
		var platform gatehouse.Object
		perm := gatehouse.PermMember
		if legal {
			perm = gatehouse.PermProviderStaff
		}
		// 403 before anything else, for an organisation that does not exist too.
		err := s.require(ctx, actor, perm, org)
		if err != nil {
			return final(err)
		}
		if legal {
			if standing, err = s.requirePins(ctx, actor, r.Organisation, gatehouse.PermProviderStaff); err != nil {
				return err
			}
			if platform, err = s.platformOf(ctx, actor, org); err != nil {
				return err
			}
		} else if standing, err = s.requirePins(ctx, actor, r.Organisation, gatehouse.PermMember); err != nil {
			return err
		}
		c.pin(standing...)
		// Ids are global: no relationship of change_request:<id> may exist yet.
		c.pin(pinAbsent(gatehouse.Filter{ResourceType: cr.Type, ResourceID: cr.ID}))
		add := func(relation string, subject gatehouse.Subject) {
			c.update(gatehouse.Create, makeRel(cr, relation, subject))
		}
		add(gatehouse.RelOrganisation, gatehouse.Subject{Object: org})
		add(gatehouse.RelRequester, actor)
		add(gatehouse.RelKind, gatehouse.Subject{Object: gatehouse.ChangeKindRef(r.Organisation, r.Kind)})
		add(r.Kind, gatehouse.Subject{Object: org})
		details := map[string]string{"changeRequest": r.ID, "kind": r.Kind}
		if r.Target != "" {
			add(gatehouse.RelTarget, gatehouse.Subject{Object: gatehouse.ChangeTargetRef(r.Organisation, r.Kind, r.Target)})
			details["target"] = r.Target
			if t, _ := gatehouse.ParseObject("target", r.Target); t.Type == gatehouse.TypeUser {
				add(gatehouse.RelTargetUser, gatehouse.Subject{Object: t})
			}
		}
		security, charge, err := s.declarations(ctx, &c, r.Organisation, r.Kind, r.Target)
		if err != nil {
			return err
		}
		if security && !r.SubstantialSecurity {
			details["securityDeclared"] = "true"
		}
		if charge && !r.SubstantialCharge {
			details["chargeDeclared"] = "true"
		}
		if r.SubstantialSecurity || security {
			add(gatehouse.RelSubstantialSecurity, gatehouse.Wildcard(gatehouse.TypeUser))
		}
		if r.SubstantialCharge || charge {
			add(gatehouse.RelSubstantialCharge, gatehouse.Wildcard(gatehouse.TypeUser))
		}
		if legal {
			add(gatehouse.RelLegalMandate, gatehouse.Subject{Object: platform})
			details["legalMandate"] = "true"
		}
		_, err = s.write(ctx, c, gatehouse.Audit{Actor: actor.String(), Action: "file_change_request", Reason: r.LegalReason, Organisation: r.Organisation, Details: details})
		if gatehouse.ErrorCode(err) == gatehouse.ECONFLICT {
			if uerr := s.mustBeUnused(ctx, cr, ""); uerr != nil {
				return uerr
			}
		}
		return err
	})
	if err != nil {
		return ChangeRequest{}, err
	}

	st, err := s.state(ctx, cr)
	if err != nil {
		return st, err
	}
	if !st.Needs(NeedAuthorisation) {
		// A legal mandate is authorised and approved as filed (C12).
		return s.settle(ctx, actor, st), nil
	}
	path, err := s.authorisePath(ctx, st, actor)
	if err != nil || path == "" {
		return st, err
	}
	pins, err := s.standingPins(ctx, st, actor, path, nil)
	if err != nil {
		return st, err
	}
	var c writeSet
	c.pin(standing...)
	c.pin(pins...)
	c.pin(st.openPins()...)
	c.update(gatehouse.Touch, makeRel(cr, gatehouse.RelAuthorisedBy, actor))
	tok, err := s.write(ctx, c, gatehouse.Audit{
		Actor: actor.String(), Action: "authorise_change_request", Organisation: r.Organisation,
		Reason: "authorised when filed: the requester may authorise it (C3, C5, C6, C8)", Details: map[string]string{"changeRequest": r.ID, "gave": NeedAuthorisation},
	})
	if gatehouse.ErrorCode(err) == gatehouse.ECONFLICT {
		// Something changed between the two writes (the requester was
		// removed, or withdrew it): the request stands as filed.
		return s.state(ctx, cr)
	}
	if err != nil {
		return ChangeRequest{}, err
	}
	return s.stateAfter(ctx, actor, cr, tok, nil)
}

// declarations reads the always-substantial declarations of kind and of
// kind+target in org (C15) and pins each one that is absent, so that a
// declaration made concurrently sends the filing back to be decided again.
func (s *Service) declarations(ctx context.Context, c *writeSet, org, kind, target string) (security, charge bool, err error) {
	objs := []gatehouse.Object{gatehouse.ChangeKindRef(org, kind)}
	if target != "" {
		objs = append(objs, gatehouse.ChangeTargetRef(org, kind, target))
	}
	for _, o := range objs {
		for _, rel := range []string{gatehouse.RelAlwaysSecurity, gatehouse.RelAlwaysCharge} {
			f := gatehouse.Filter{ResourceType: o.Type, ResourceID: o.ID, Relation: rel}
			rels, _, err := s.store.ReadRelationships(ctx, f, latest)
			if err != nil {
				return false, false, err
			}
			if len(rels) == 0 {
				c.pin(pinAbsent(f))
				continue
			}
			if rel == gatehouse.RelAlwaysSecurity {
				security = true
			} else {
				charge = true
			}
		}
	}
	return security, charge, nil
}

// pathStanding is the authorisation path of a requester whose standing
// lets them authorise their own request (C3, C5, C6).
const pathStanding = "standing"

// authorisePath returns how actor may give st its authorisation: the name
// of the current tier they are in (C4, C7, C8, C9), pathStanding for a
// requester with standing (C3, C5, C6), which also lets a requester record
// an authorisation that filing could not, or "" when they may not.
func (s *Service) authorisePath(ctx context.Context, st ChangeRequest, actor gatehouse.Subject) (string, error) {
	if slices.Contains(st.Authorisers, actor) && st.Tier != TierNone {
		return st.Tier, nil
	}
	if actor != st.Requester {
		return "", nil
	}
	ok, err := s.allowed(ctx, st.object(), gatehouse.PermStanding, actor)
	if err != nil || !ok {
		return "", err
	}
	return pathStanding, nil
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
	involved := slices.Concat(st.Authorisers, st.AuthorisedBy, st.SecurityApprovedBy, st.ChargeApprovedBy, st.ConfigurationApprovedBy, st.SpendApprovedBy)
	for _, subs := range st.approvers {
		involved = append(involved, subs...)
	}
	if st.ClosedBy != nil {
		involved = append(involved, *st.ClosedBy)
	}
	if !slices.Contains(involved, actor) {
		return ChangeRequest{}, gatehouse.Forbidden(actor, gatehouse.PermView, cr.object())
	}
	return st, nil
}

// AuthoriseChangeRequest gives, for actor, everything the request still
// needs that actor may give, in one write: the authorisation when actor is
// in the current tier (C4, C7, C8, C9) or is a requester with standing (C5,
// C6), and each approval still needed that actor may give (C10, C11, C16);
// the requester and the user the request is about give none (C17). The
// write touches, so concurrent authorisations converge; it pins the
// request open (C13) and actor's standing in the tier and roles it used,
// so a concurrent rejection, unavailable_contact or removal sends it back
// to be decided again (C7). A closed request is ECONFLICT naming C13;
// nothing needed is ERULE (C4); nothing actor may give is EFORBIDDEN
// naming the first permission actor lacks.
func (s *Service) AuthoriseChangeRequest(ctx context.Context, actor gatehouse.Subject, id, note string) (ChangeRequest, error) {
	cr, err := changeRequestRef(id)
	if err != nil {
		return ChangeRequest{}, err
	}
	var tok string
	err = retryWrite(ctx, func() error {
		st, err := s.state(ctx, cr)
		if err != nil {
			return err
		}
		if st.closed {
			return final(closedError(st, "authorised or approved"))
		}
		if len(st.ApprovalsNeeded) == 0 {
			return final(gatehouse.RuleViolation("C4", "nothing left to authorise: change request %s is authorised", id))
		}
		var c writeSet
		var gave, lacking []string
		var path string
		if st.Needs(NeedAuthorisation) {
			if path, err = s.authorisePath(ctx, st, actor); err != nil {
				return err
			}
			if path != "" {
				c.update(gatehouse.Touch, makeRel(cr, gatehouse.RelAuthorisedBy, actor))
				gave = append(gave, NeedAuthorisation)
			} else {
				lacking = append(lacking, st.tierPermission)
			}
		}
		var gives []approval
		for _, a := range approvals() {
			if !st.Needs(a.need) {
				continue
			}
			if slices.Contains(st.approvers[a.need], actor) {
				c.update(gatehouse.Touch, makeRel(cr, a.record, actor))
				gave = append(gave, a.need)
				gives = append(gives, a)
			} else {
				lacking = append(lacking, a.approve)
			}
		}
		if len(gave) == 0 {
			return final(&gatehouse.Error{
				Code: gatehouse.EFORBIDDEN, Permission: lacking[0],
				Message: fmt.Sprintf("%s may give nothing that %s still needs (%s): it lacks %s",
					actor, cr, strings.Join(st.ApprovalsNeeded, ", "), strings.Join(lacking, ", ")),
			})
		}
		pins, err := s.standingPins(ctx, st, actor, path, gives)
		if err != nil {
			return err
		}
		c.pin(pins...)
		c.pin(pinAbsent(closedFilter(cr)))
		tok, err = s.write(ctx, c, gatehouse.Audit{
			Actor: actor.String(), Action: "authorise_change_request", Reason: note, Organisation: st.Organisation,
			Details: map[string]string{"changeRequest": id, "gave": strings.Join(gave, ",")},
		})
		return err
	})
	return s.stateAfter(ctx, actor, cr, tok, err)
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
	st := ChangeRequest{ID: cr.ID, ZedToken: tok, records: map[string]bool{}}
	label := map[string]string{}
	sub := func(r gatehouse.Relationship) *gatehouse.Subject { x := r.Subject; return &x }
	for _, r := range rels {
		switch r.Relation {
		case gatehouse.RelTargetUser:
			st.TargetUser = sub(r)
		case gatehouse.RelOverrideBy:
			st.OverrideBy = sub(r)
		case gatehouse.RelOverrideConfirmedBy:
			st.OverrideConfirmedBy = sub(r)
		case gatehouse.RelRejectedBy:
			st.ClosedBy, st.Status = sub(r), StatusRejected
		case gatehouse.RelWithdrawnBy:
			st.ClosedBy, st.Status = sub(r), StatusWithdrawn
		case gatehouse.RelClosed:
			st.closed = true
		case gatehouse.RelSettled:
			st.settled = true
		case gatehouse.RelAuthorisedBy, gatehouse.RelSecurityApprovedBy, gatehouse.RelChargeApprovedBy, gatehouse.RelConfigurationApprovedBy, gatehouse.RelSpendApprovedBy:
			st.records[r.Relation] = true
		case gatehouse.LabelRelation:
			if m, err := gatehouse.DecodeLabel(r.Subject.Object); err == nil {
				for k, v := range m {
					label[k] = v
				}
			}
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
	st.OverrideCategory, st.OverrideReason = label[labelOverrideCategory], label[labelOverrideReason]
	if st.closed {
		st.Reason = label[labelClosedReason]
		if at, err := time.Parse(time.RFC3339Nano, label[labelClosedAt]); err == nil {
			st.ClosedAt = &at
		}
	} else {
		// rejected_by or withdrawn_by without the flag is not closed (only
		// the flag subtracts everyone); the workflow never writes one alone.
		st.ClosedBy, st.Status = nil, ""
	}
	return st, nil
}

// evaluate derives the state of st from SpiceDB: whose yes counts, what is
// still needed, and who may give it. Go decides only the tier order (C8).
func (s *Service) evaluate(ctx context.Context, st ChangeRequest) (ChangeRequest, error) {
	cr := st.object()
	if st.closed {
		// C13: a closed request needs nothing and asks no one.
		st.Tier, st.ApprovalsNeeded, st.BlockedOn, st.Authorisers = TierNone, nil, nil, nil
		st.approvers = map[string][]gatehouse.Subject{}
		return st, nil
	}
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
		if !a.applies(st) {
			continue
		}
		by, err := lookup(a.approved)
		if err != nil {
			return ChangeRequest{}, err
		}
		*a.approvedBy(&st) = by
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

// changeRequestRef is change request id, or EINVALID naming id.
func changeRequestRef(id string) (gatehouse.Object, error) {
	if !gatehouse.ValidID(id) {
		return gatehouse.Object{}, gatehouse.Invalid("id", "%q is not a valid change request id", id)
	}
	return gatehouse.ChangeRequestRef(id), nil
}

// stateAfter answers the state of cr after the write that returned tok,
// or err when the write failed.
// A request the write settled is flagged so (settle, C14), for actor.
func (s *Service) stateAfter(ctx context.Context, actor gatehouse.Subject, cr gatehouse.Object, tok string, err error) (ChangeRequest, error) {
	if err != nil {
		return ChangeRequest{}, err
	}
	st, err := s.state(ctx, cr)
	if err != nil {
		return st, err
	}
	st.ZedToken = tok
	return s.settle(ctx, actor, st), nil
}

// settles reports whether cr is settled for good (C14): authorised, with
// every approval it needs given, on grounds nothing takes away, and not
// yet flagged. Nothing adds a need to such a request: its kind is fixed,
// flags are raised only on an open request and pinned on the yes records
// it still lacks (C15), and the records themselves are owned (X4). An
// authorisation recorded in authorised_by counts whatever happens to its
// giver, and a legal mandate counts while the provider has staff (C12);
// a confirmed override counts only while its confirmer is provider staff
// (C18), so a request resting on one is never flagged: it stays a
// candidate for "awaiting me", which costs speed, not correctness.
func (cr ChangeRequest) settles() bool {
	return cr.Status == StatusAuthorised && !cr.closed && !cr.settled &&
		(cr.records[gatehouse.RelAuthorisedBy] || cr.LegalMandate)
}

// settle writes the C14 settled flag on st when st settles (settles), so
// that "awaiting me" never looks at it again, and returns st with the
// write's token. The flag is an index for that lookup, the evaluation of
// the request stays the arbiter, so settle is best effort: a failed write
// leaves st as it was. The write pins the request's organisation, so a
// flag never outlives a request deleted concurrently (O3).
func (s *Service) settle(ctx context.Context, actor gatehouse.Subject, st ChangeRequest) ChangeRequest {
	if !st.settles() {
		return st
	}
	cr := st.object()
	var c writeSet
	c.pin(pinPresent(makeRel(cr, gatehouse.RelOrganisation, gatehouse.Subject{Object: gatehouse.OrganisationRef(st.Organisation)})))
	c.pin(pinAbsent(closedFilter(cr)))
	c.update(gatehouse.Touch, makeRel(cr, gatehouse.RelSettled, gatehouse.Wildcard(gatehouse.TypeUser)))
	tok, err := s.write(ctx, c, gatehouse.Audit{
		Actor: actor.String(), Action: "settle_change_request", Organisation: st.Organisation,
		Reason: "authorised with every approval given: no longer awaiting anyone (C14)", Details: map[string]string{"changeRequest": st.ID},
	})
	if err != nil {
		return st
	}
	st.settled, st.ZedToken = true, tok
	return st
}
