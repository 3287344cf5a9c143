package workflow

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse"
)

// A change request is one aggregate (rules C1–C18 of domain.md): its state
// (ChangeRequest) is loaded once from the request's relationships and the
// permissions SpiceDB computes on it (Service.state), evaluated by the
// methods in this file, and changed by the transitions of
// changerequest_transitions.go, each one load and one write (filing, the
// first, in changerequest_filing.go); the pins of the actor's standing are
// in changerequest_standing.go, the reads and lists in
// changerequest_lists.go. Where each rule is decided (the
// permissions named are schema/schema.zed's, on change_request):
//
//	C1, C12        FileChangeRequest (member, or provider staff with a legal reason)
//	C2             validKind
//	C3, C5, C6     the standing permission; authoriseWhenFiled records it as authorised_by
//	C4, C7, C9     the authorise_main, authorise_alternate, authorise_director permissions (tiers)
//	C8             ChangeRequest.escalate: the first tier with anyone in it
//	C10, C11, C16  approvals and ChangeRequest.needs
//	C13            ChangeRequest.refuseUnlessOpen, openPins, closing, rejectPath; withdrawStanding
//	C14            ChangeRequest.status, awaits, involves, settles; changerequest_lists.go
//	C15            ChangeRequest.raise, flagStanding; declarations in alwayssubstantial.go
//	C17            the barred permission (target_user) in every tier and *_approved permission
//	C18            ChangeRequest.overridable, override, confirmOverride; override_confirmed

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

// The keys of a change request's label (C13, C18): display data the
// relationships cannot hold, written in the same write as the relationship
// it explains.
const (
	labelClosedAt         = "closedAt"
	labelClosedReason     = "reason"
	labelOverrideCategory = "overrideCategory"
	labelOverrideReason   = "overrideReason"
	labelOverrideAt       = "overrideAt"
	// labelTitle and labelDescription are the filer's display text,
	// written with the filing.
	labelTitle       = "title"
	labelDescription = "description"
)

// The bounds of a change request's display text: a title is one line, a
// description a few paragraphs, and both fit one label together
// (gatehouse.EncodeLabel's 700 bytes of JSON).
const (
	maxTitle       = 120
	maxDescription = 500
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

// scopedContacts are the designations besides main_contact that authorise
// kind in the main tier (C4, C2).
func scopedContacts(kind string) []string {
	switch kind {
	case gatehouse.KindSensitiveInformation:
		return []string{gatehouse.DesignationFinanceContact}
	case gatehouse.KindStandard:
		return nil
	}
	return []string{gatehouse.DesignationTechnicalContact}
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

// NewChangeRequest is a change request as filed in Organisation. ID is
// optional: FileChangeRequest makes one when it is empty. Target is an
// optional type:id (page:pricing). Title and Description are optional
// display text, kept with the request and returned in every state. A
// non-empty LegalReason marks a legally mandated change that provider
// staff file (C12).
type NewChangeRequest struct {
	ID                  string
	Organisation        string
	Kind                string
	Target              string
	Title               string
	Description         string
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
	Title               string
	Description         string
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
func (st ChangeRequest) Needs(what string) bool { return slices.Contains(st.ApprovalsNeeded, what) }

// Open reports whether the request is pending or blocked (C13).
func (st ChangeRequest) Open() bool { return st.Status == StatusPending || st.Status == StatusBlocked }

// Closed reports whether the request was rejected or withdrawn (C13).
func (st ChangeRequest) Closed() bool { return st.closed }

// object returns the change_request object of the request.
func (st ChangeRequest) object() gatehouse.Object { return gatehouse.ChangeRequestRef(st.ID) }

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

// validate checks r and trims its display text; an empty ID is left for
// FileChangeRequest to make.
func (r *NewChangeRequest) validate() error {
	if err := validOrg("org", r.Organisation); err != nil {
		return err
	}
	if r.ID != "" {
		if err := validID("id", r.ID); err != nil {
			return err
		}
	}
	if err := validKind("kind", r.Kind, true); err != nil {
		return err
	}
	if err := validTarget("target", r.Target); err != nil {
		return err
	}
	var err error
	if r.Title, err = validText("title", r.Title, maxTitle, false); err != nil {
		return err
	}
	if r.Description, err = validText("description", r.Description, maxDescription, true); err != nil {
		return err
	}
	return r.validTextLabel()
}

// text is r's title and description as their label keeps them, empty
// when it has neither.
func (r NewChangeRequest) text() map[string]string {
	data := map[string]string{}
	if r.Title != "" {
		data[labelTitle] = r.Title
	}
	if r.Description != "" {
		data[labelDescription] = r.Description
	}
	return data
}

// validTextLabel refuses a title and description that fit their bounds
// yet outgrow a label once escaped (each of <, > and & takes six bytes of
// JSON), naming the longer field.
func (r NewChangeRequest) validTextLabel() error {
	if _, err := gatehouse.EncodeLabel(r.text()); err != nil {
		field := "description"
		if len(r.Title) > len(r.Description) {
			field = "title"
		}
		return gatehouse.Invalid(field, "the title and description are too long together once stored (at most 700 bytes of JSON, where <, > and & take six each); shorten the %s", field)
	}
	return nil
}

// changeRequestRef is change request id, or EINVALID naming id.
func changeRequestRef(id string) (gatehouse.Object, error) {
	if !gatehouse.ValidID(id) {
		return gatehouse.Object{}, gatehouse.Invalid("id", "%q is not a valid change request id", id)
	}
	return gatehouse.ChangeRequestRef(id), nil
}

// state is the one load of a change request: its relationships, read
// once, then its evaluation from the permissions SpiceDB computes on it.
func (s *Service) state(ctx context.Context, cr gatehouse.Object) (ChangeRequest, error) {
	st, err := s.load(ctx, cr)
	if err != nil {
		return ChangeRequest{}, err
	}
	return s.evaluate(ctx, st)
}

// load reads the static part of a change request from its relationships
// (fromRelationships).
func (s *Service) load(ctx context.Context, cr gatehouse.Object) (ChangeRequest, error) {
	rels, tok, err := s.store.ReadRelationships(ctx, gatehouse.Filter{ResourceType: cr.Type, ResourceID: cr.ID}, latest)
	if err != nil {
		return ChangeRequest{}, err
	}
	return fromRelationships(cr.ID, tok, rels)
}

// evaluate derives the rest of st from the permissions SpiceDB computes on
// the request now (ChangeRequest.evaluate).
func (s *Service) evaluate(ctx context.Context, st ChangeRequest) (ChangeRequest, error) {
	cr := st.object()
	lookup := func(permission string) ([]gatehouse.Subject, error) {
		subs, tok, err := s.store.LookupSubjects(ctx, gatehouse.LookupSubjectsRequest{Resource: cr, Permission: permission, SubjectType: gatehouse.TypeUser, Consistency: latest})
		if tok != "" {
			st.ZedToken = tok
		}
		return subs, err
	}
	if err := st.evaluate(lookup); err != nil {
		return ChangeRequest{}, err
	}
	return st, nil
}

// fromRelationships is the static part of change request id as its
// relationships rels (read at tok) hold it; a request without an
// organisation does not exist (ENOTFOUND).
func fromRelationships(id, tok string, rels []gatehouse.Relationship) (ChangeRequest, error) {
	st := ChangeRequest{ID: id, ZedToken: tok, records: map[string]bool{}}
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
		return ChangeRequest{}, &gatehouse.Error{Code: gatehouse.ENOTFOUND, Field: "id", Message: fmt.Sprintf("no change request %q", id)}
	}
	st.OverrideCategory, st.OverrideReason = label[labelOverrideCategory], label[labelOverrideReason]
	st.Title, st.Description = label[labelTitle], label[labelDescription]
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

// lookupFunc answers who holds a permission of the change request now
// (SpiceDB's LookupSubjects): who may authorise in a tier, whose
// approval counts, who may give one.
type lookupFunc func(permission string) ([]gatehouse.Subject, error)

// evaluate derives whose yes counts, what is still needed (needs), who
// may give it (escalate, askApprovers) and the status; Go decides only
// the tier order (C8), SpiceDB everything else.
func (st *ChangeRequest) evaluate(lookup lookupFunc) error {
	if st.closed {
		// C13: a closed request needs nothing and asks no one.
		st.Tier, st.ApprovalsNeeded, st.BlockedOn, st.Authorisers = TierNone, nil, nil, nil
		st.approvers = map[string][]gatehouse.Subject{}
		return nil
	}
	if err := st.needs(lookup); err != nil {
		return err
	}
	st.Tier = TierNone
	if st.Needs(NeedAuthorisation) {
		if err := st.escalate(lookup); err != nil {
			return err
		}
	} else {
		st.askApprovers()
	}
	st.Status = st.status()
	return nil
}

// needs records whose yes counts and what the request still needs: its
// authorisation, until someone's counts (C3, C4, C5, C6, C12, C18), and
// each approval that applies and nobody gave (C10, C11, C16), with who may
// give it; one with nobody to give it blocks the request.
func (st *ChangeRequest) needs(lookup lookupFunc) error {
	var err error
	if st.AuthorisedBy, err = lookup(gatehouse.PermAuthorised); err != nil {
		return err
	}
	st.ApprovalsNeeded, st.BlockedOn, st.Authorisers = nil, nil, nil
	st.approvers = map[string][]gatehouse.Subject{}
	if len(st.AuthorisedBy) == 0 {
		st.ApprovalsNeeded = append(st.ApprovalsNeeded, NeedAuthorisation)
	}
	for _, a := range approvals() {
		if !a.applies(*st) {
			continue
		}
		by, err := lookup(a.approved)
		if err != nil {
			return err
		}
		*a.approvedBy(st) = by
		if len(by) > 0 {
			continue
		}
		st.ApprovalsNeeded = append(st.ApprovalsNeeded, a.need)
		if st.approvers[a.need], err = lookup(a.approve); err != nil {
			return err
		}
		if len(st.approvers[a.need]) == 0 {
			st.BlockedOn = append(st.BlockedOn, a.need)
		}
	}
	return nil
}

// escalate decides C8: the request's tier is the first of tiers() with
// anyone in it, and they are its authorisers. Who is in a tier is the
// schema's (C4 contacts and scopes, C7 unavailable contacts left out, C9
// verified directors only, C17 the target user left out). With nobody in
// any tier the request is blocked on its authorisation (C9).
func (st *ChangeRequest) escalate(lookup lookupFunc) error {
	for _, t := range tiers() {
		subs, err := lookup(t.permission)
		if err != nil {
			return err
		}
		if len(subs) > 0 {
			st.Tier, st.tierPermission, st.Authorisers = t.name, t.permission, subs
			return nil
		}
	}
	// C9: nobody in any tier may be asked.
	st.tierPermission = gatehouse.PermAuthorise
	st.BlockedOn = append([]string{NeedAuthorisation}, st.BlockedOn...)
	return nil
}

// askApprovers makes the authorisers of an authorised request the
// approvers of the approvals it still needs, in order.
func (st *ChangeRequest) askApprovers() {
	for _, a := range approvals() {
		for _, u := range st.approvers[a.need] {
			if !slices.Contains(st.Authorisers, u) {
				st.Authorisers = append(st.Authorisers, u)
			}
		}
	}
	slices.SortFunc(st.Authorisers, func(a, b gatehouse.Subject) int { return strings.Compare(a.String(), b.String()) })
}

// status is authorised when nothing is needed, blocked when something
// needed has nobody to give it, else pending (C9, C14); a closed request's
// status comes from how it was closed (C13).
func (st ChangeRequest) status() string {
	switch {
	case len(st.ApprovalsNeeded) == 0:
		return StatusAuthorised
	case len(st.BlockedOn) > 0:
		return StatusBlocked
	}
	return StatusPending
}

// Awaits reports whether st is open and actor may give something it
// needs now: authorise it in its current tier, or give an approval it
// still needs; exactly who may authorise or reject it (C4, C13), and
// whose "awaiting me" lists it (C14). An adapter offers those actions by it.
func (st ChangeRequest) Awaits(actor gatehouse.Subject) bool { return st.awaits(actor) }

// awaits reports whether st is open and actor may give something it
// needs now: its authorisation in the current tier, or an approval (C14).
func (st ChangeRequest) awaits(actor gatehouse.Subject) bool {
	if !st.Open() {
		return false
	}
	if st.inTier(actor) {
		return true
	}
	for need, subs := range st.approvers {
		if st.Needs(need) && slices.Contains(subs, actor) {
			return true
		}
	}
	return false
}

// inTier reports whether st needs its authorisation and actor is in its
// current tier (C4, C8).
func (st ChangeRequest) inTier(actor gatehouse.Subject) bool {
	return st.Needs(NeedAuthorisation) && st.Tier != TierNone && slices.Contains(st.Authorisers, actor)
}

// involves reports whether actor is asked for, or gave, something st
// needs, or closed it: contacts, directors and approvers need not hold
// view_reports (a finance contact, a director with no role), yet must see
// what they are asked to authorise (C14).
func (st ChangeRequest) involves(actor gatehouse.Subject) bool {
	involved := slices.Concat(st.Authorisers, st.AuthorisedBy, st.SecurityApprovedBy, st.ChargeApprovedBy, st.ConfigurationApprovedBy, st.SpendApprovedBy)
	for _, subs := range st.approvers {
		involved = append(involved, subs...)
	}
	if st.ClosedBy != nil {
		involved = append(involved, *st.ClosedBy)
	}
	return slices.Contains(involved, actor)
}

// settles reports whether st is settled for good (C14): authorised, with
// every approval it needs given, on grounds nothing takes away, and not
// yet flagged. Nothing adds a need to such a request: its kind is fixed,
// flags are raised only on an open request and pinned on the yes records
// it still lacks (C15), and the records themselves are owned (X4). An
// authorisation recorded in authorised_by counts whatever happens to its
// giver, and a legal mandate counts while the provider has staff (C12);
// a confirmed override counts only while its confirmer is provider staff
// (C18), so a request resting on one is never flagged: it stays a
// candidate for "awaiting me", which costs speed, not correctness.
func (st ChangeRequest) settles() bool {
	return st.Status == StatusAuthorised && !st.closed && !st.settled &&
		(st.records[gatehouse.RelAuthorisedBy] || st.LegalMandate)
}

// closedFilter matches the C13 flag of cr.
func closedFilter(cr gatehouse.Object) gatehouse.Filter {
	return gatehouse.Filter{ResourceType: cr.Type, ResourceID: cr.ID, Relation: gatehouse.RelClosed}
}

// openPins pin the request as st read it: not closed, and no yes recorded
// for anything it still needs. A write carrying them applies only while the
// request is still as open as it was, so a concurrent authorisation and a
// concurrent rejection cannot both win (C13).
func (st ChangeRequest) openPins() []gatehouse.Precondition {
	cr := st.object()
	pins := []gatehouse.Precondition{pinAbsent(closedFilter(cr))}
	rec := func(relation string) {
		pins = append(pins, pinAbsent(gatehouse.Filter{ResourceType: cr.Type, ResourceID: cr.ID, Relation: relation}))
	}
	if st.Needs(NeedAuthorisation) {
		rec(gatehouse.RelAuthorisedBy)
		rec(gatehouse.RelOverrideConfirmedBy)
	}
	for _, a := range approvals() {
		if st.Needs(a.need) {
			rec(a.record)
		}
	}
	return pins
}

// refuseUnlessOpen is nil for an open request (pending or blocked), and
// otherwise the 409 naming C13 of a change to what it was: closed, or no
// longer open because it is authorised.
func (st ChangeRequest) refuseUnlessOpen(what string) error {
	if st.closed {
		return closedError(st, what)
	}
	if !st.Open() {
		return notOpenError(st, what)
	}
	return nil
}

// closedError is the answer to any change of a closed request (C13): 409,
// since the request's state, not the input, is at fault.
func closedError(st ChangeRequest, what string) error {
	by := ""
	if st.ClosedBy != nil {
		by = " by " + st.ClosedBy.String()
	}
	return &gatehouse.Error{
		Code: gatehouse.ECONFLICT, Rule: "C13",
		Message: fmt.Sprintf("C13: change request %s was %s%s and is closed: it can no longer be %s", st.ID, st.Status, by, what),
	}
}

// notOpenError is the answer to closing or flagging a request that is no
// longer open because it is authorised (C13: only open requests).
func notOpenError(st ChangeRequest, what string) error {
	return &gatehouse.Error{
		Code: gatehouse.ECONFLICT, Rule: "C13",
		Message: fmt.Sprintf("C13: change request %s is %s, not open (pending or blocked): it can no longer be %s", st.ID, st.Status, what),
	}
}
