package workflow

import (
	"context"

	"github.com/gatehouse-authz/gatehouse"
)

// Raw is the raw relationship endpoint's workflow and its guard (X4): it
// never changes a relation another workflow owns, platform#staff only
// with a platform key, and a role it takes away settles membership as
// Roles does (T1, T4).
type Raw struct {
	*kit
	membership *membership
}

// access says who may change a relation through the raw relationship
// endpoint (X4).
type access int

const (
	// free relations hold no invariant beyond the schema: any full key changes them.
	free access = iota
	// owned relations change only through the endpoint that holds their
	// rule; the raw endpoint refuses them (422 naming the rule).
	owned
	// platformOnly relations change only with a platform key (403 otherwise).
	platformOnly
)

// relationKey names one relation of one object type of the schema.
type relationKey struct{ resourceType, relation string }

// relationClass is the X4 class of one relation: who may change it raw,
// the rule that its owning endpoint holds, and that endpoint.
type relationClass struct {
	access access
	rule   string
	owner  string
}

// relationClasses classifies every relation of the schema for X4, and is
// the one place that does: TestRules/X4_every_relation_of_the_schema_is_classified
// fails when the schema gains a relation this table lacks.
var relationClasses = classify()

func classify() map[relationKey]relationClass {
	m := map[relationKey]relationClass{}
	set := func(typ, relation string, c relationClass) { m[relationKey{typ, relation}] = c }
	by := func(rule, owner string) relationClass { return relationClass{access: owned, rule: rule, owner: owner} }
	const (
		orgs      = "the organisation endpoints"
		members   = "the member endpoints"
		contracts = "the contractor endpoints"
		invoices  = "the invoice endpoints"
		changes   = "the change-request endpoints"
		except    = "the exception endpoints"
	)

	set(gatehouse.TypePlatform, gatehouse.RelStaff, relationClass{access: platformOnly, rule: "X4"})

	// organisation: the platform link and the guarded roles are written by
	// the organisation endpoints (O1, O2, O4, S1); designations only by
	// the designation endpoints, which refuse non-members (T4, C7, C9).
	set(gatehouse.TypeOrganisation, gatehouse.RelPlatform, by("X4", orgs))
	set(gatehouse.TypeOrganisation, gatehouse.LabelRelation, relationClass{access: free})
	set(gatehouse.TypeOrganisation, gatehouse.RoleOwner, by("O2", orgs))
	set(gatehouse.TypeOrganisation, gatehouse.RoleSecurityAdmin, by("S1", members))
	set(gatehouse.TypeOrganisation, gatehouse.RoleAlternateSecurityAdmin, by("S1", members))
	for _, role := range gatehouse.Roles() {
		if _, ok := m[relationKey{gatehouse.TypeOrganisation, role}]; !ok {
			set(gatehouse.TypeOrganisation, role, relationClass{access: free})
		}
	}
	for _, d := range gatehouse.Designations() {
		set(gatehouse.TypeOrganisation, d, by("T4", members))
	}

	// contractor and invoice belong to exactly one organisation (K1); only
	// the contractor endpoint writes the admin-only wildcard (K2).
	set(gatehouse.TypeContractor, gatehouse.RelOrganisation, by("K1", contracts))
	set(gatehouse.TypeContractor, gatehouse.LabelRelation, relationClass{access: free})
	set(gatehouse.TypeContractor, gatehouse.RelAdminOnly, by("K2", contracts))
	set(gatehouse.TypeInvoice, gatehouse.RelOrganisation, by("K1", invoices))
	set(gatehouse.TypeInvoice, gatehouse.LabelRelation, relationClass{access: free})

	// Every relation of change authorisation (C1-C12).
	set(gatehouse.TypeChangeKind, gatehouse.RelException, by("C6", except))
	set(gatehouse.TypeChangeTarget, gatehouse.RelException, by("C6", except))
	for _, typ := range []string{gatehouse.TypeChangeKind, gatehouse.TypeChangeTarget} {
		set(typ, gatehouse.RelAlwaysSecurity, by("C15", changes))
		set(typ, gatehouse.RelAlwaysCharge, by("C15", changes))
	}
	for rel, rule := range map[string]string{
		gatehouse.RelOrganisation:            "C1",
		gatehouse.RelRequester:               "C1",
		gatehouse.RelKind:                    "C2",
		gatehouse.RelTarget:                  "C6",
		gatehouse.RelSubstantialSecurity:     "C10",
		gatehouse.RelSubstantialCharge:       "C11",
		gatehouse.RelLegalMandate:            "C12",
		gatehouse.RelAuthorisedBy:            "C4",
		gatehouse.RelSecurityApprovedBy:      "C10",
		gatehouse.RelChargeApprovedBy:        "C11",
		gatehouse.RelTargetUser:              "C17",
		gatehouse.RelConfigurationApprovedBy: "C16",
		gatehouse.RelSpendApprovedBy:         "C16",
		gatehouse.RelOverrideBy:              "C18",
		gatehouse.RelOverrideConfirmedBy:     "C18",
		gatehouse.RelRejectedBy:              "C13",
		gatehouse.RelWithdrawnBy:             "C13",
		gatehouse.RelClosed:                  "C13",
		gatehouse.RelSettled:                 "C14",
	} {
		set(gatehouse.TypeChangeRequest, rel, by(rule, changes))
	}
	// A request's label holds when and why it was closed and why it was
	// overridden (C13, C18): written only with the relationships it explains.
	set(gatehouse.TypeChangeRequest, gatehouse.LabelRelation, by("C13", changes))
	for _, kind := range gatehouse.Kinds() {
		set(gatehouse.TypeChangeRequest, kind, by("C2", changes))
	}
	return m
}

// CheckRawUpdate refuses what X4 forbids the raw relationship endpoint to
// change: a relation an organisation or change-request endpoint owns is
// 422 naming the rule that endpoint holds; platform#staff without a
// platform key is 403. field names r in the request (touch[0]). A relation
// the table does not know is refused too, naming X4: a new relation is
// free only once someone has said so.
func CheckRawUpdate(field string, r gatehouse.Relationship, platformKey bool) error {
	c, ok := relationClasses[relationKey{r.Resource.Type, r.Relation}]
	switch {
	case !ok:
		e := gatehouse.RuleViolation("X4", "%s#%s is not classified for the raw relationship endpoint", r.Resource.Type, r.Relation)
		e.Field = field
		return e
	case c.access == owned:
		e := gatehouse.RuleViolation(c.rule, "%s#%s changes only through %s", r.Resource.Type, r.Relation, c.owner)
		e.Field = field
		return e
	case c.access == platformOnly && !platformKey:
		return &gatehouse.Error{
			Code: gatehouse.EFORBIDDEN, Rule: c.rule, Field: field,
			Message: c.rule + ": " + r.Resource.Type + "#" + r.Relation + " changes only with a platform key",
		}
	}
	return nil
}

// RawUpdate is one change asked of the raw relationship endpoint; Field
// names it in the request (touch[0]), for the error that refuses it.
type RawUpdate struct {
	Field string
	gatehouse.Update
}

// WriteRaw applies one write of the raw relationship endpoint atomically,
// holding what the endpoints would hold had they made it:
//   - X4: CheckRawUpdate refuses what an endpoint owns;
//   - a touch on an organisation, contractor or invoice that does not exist
//     is 404 naming its field, and the write pins that it still exists, so
//     raw data never names an object nobody owns (O2, K1, O3);
//   - taking a member's last role takes their designations and exceptions
//     in the same write (T1, T4), as the member endpoints do.
//
// The audit event names the organisation the write changes, found through
// the contractor or invoice when the write names no organisation itself.
func (s *Raw) WriteRaw(ctx context.Context, actor gatehouse.Subject, ups []RawUpdate, reason string, platformKey bool) (string, error) {
	audit := gatehouse.Audit{Action: "write_relationships", Reason: reason}
	if actor != (gatehouse.Subject{}) {
		audit.Actor = actor.String()
	}
	for _, u := range ups {
		if err := CheckRawUpdate(u.Field, u.Relationship, platformKey); err != nil {
			return "", err
		}
	}
	var tok string
	err := retryWrite(ctx, func() error {
		var c writeSet
		orgs := map[string]bool{}
		for _, u := range ups {
			c.update(u.Op, u.Relationship)
			org, err := s.rawOwner(ctx, &c, u)
			if err != nil {
				return final(err)
			}
			if org != "" {
				orgs[org] = true
				audit.Organisation = org
			}
		}
		var leavers map[string][]gatehouse.Subject
		for org := range orgs {
			left, err := s.membership.settleMembership(ctx, &c, org)
			if err != nil {
				return final(err)
			}
			if len(left) > 0 {
				if leavers == nil {
					leavers = map[string][]gatehouse.Subject{}
				}
				leavers[org] = left
			}
		}
		if len(c.updates) > maxUpdates {
			return final(gatehouse.Invalid("touch", "a write changes at most %d relationships, with what leaving the team takes (T1)", maxUpdates))
		}
		t, err := s.write(ctx, c, audit)
		if err != nil {
			return err
		}
		tok = t
		for org, users := range leavers {
			if t, err := s.membership.sweepExceptions(ctx, org, users, audit); err != nil {
				return final(err)
			} else if t != "" {
				tok = t
			}
		}
		return nil
	})
	return tok, err
}

// rawOwner returns the organisation a raw update changes ("" for none, as
// for platform#staff), and for a touch pins that its resource exists: an
// organisation has an owner (O2), a contractor or invoice an organisation (K1).
func (s *Raw) rawOwner(ctx context.Context, c *writeSet, u RawUpdate) (string, error) {
	res := u.Relationship.Resource
	var anchor string
	switch res.Type {
	case gatehouse.TypeOrganisation:
		anchor = gatehouse.RoleOwner
	case gatehouse.TypeContractor, gatehouse.TypeInvoice:
		anchor = gatehouse.RelOrganisation
	default:
		return "", nil
	}
	rels, _, err := s.store.ReadRelationships(ctx, gatehouse.Filter{ResourceType: res.Type, ResourceID: res.ID, Relation: anchor}, latest)
	if err != nil {
		return "", err
	}
	if len(rels) == 0 {
		if u.Op == gatehouse.Delete {
			if res.Type == gatehouse.TypeOrganisation {
				return res.ID, nil
			}
			return "", nil
		}
		e := gatehouse.Errorf(gatehouse.ENOTFOUND, "%s does not exist: create it through its endpoint first", res)
		e.Field = u.Field
		return "", e
	}
	if u.Op != gatehouse.Delete {
		c.pin(pinPresent(rels[0]))
	}
	if res.Type == gatehouse.TypeOrganisation {
		return res.ID, nil
	}
	return rels[0].Subject.ID, nil
}
