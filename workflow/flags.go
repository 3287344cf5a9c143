package workflow

import (
	"context"
	"strings"

	"github.com/gatehouse-authz/gatehouse"
)

// RaiseFlags raises, for actor, the substantial-security and/or
// substantial-charge flag of the open change request id (C15): a holder
// of approve_security_changes or approve_charges, or provider staff, may
// raise either flag, never lower one. Raising a flag that is up already
// changes nothing. The write pins the request open as read and actor's
// standing (C13, R7). Neither flag asked is 400; a closed or authorised
// request 409 naming C13; anyone else 403 naming raise_flags.
// A raiser who may neither view the request nor act on it now gets back
// only its id, organisation, status and flags.
func (s *Service) RaiseFlags(ctx context.Context, actor gatehouse.Subject, id string, security, charge bool) (ChangeRequest, error) {
	if !gatehouse.ValidID(id) {
		return ChangeRequest{}, gatehouse.Invalid("id", "%q is not a valid change request id", id)
	}
	if !security && !charge {
		return ChangeRequest{}, gatehouse.Invalid("substantialSecurity", "raise substantialSecurity, substantialCharge or both (flags are never lowered)")
	}
	cr := gatehouse.ChangeRequestRef(id)
	var tok string
	err := retryWrite(ctx, func() error {
		st, err := s.state(ctx, cr)
		if err != nil {
			return err
		}
		if st.closed {
			return final(closedError(st, "flagged"))
		}
		if !st.Open() {
			return final(notOpenError(st, "flagged"))
		}
		if err := s.require(ctx, actor, gatehouse.PermRaiseFlags, cr); err != nil {
			return final(err)
		}
		var c writeSet
		var raised []string
		if security && !st.SubstantialSecurity {
			c.update(gatehouse.Touch, makeRel(cr, gatehouse.RelSubstantialSecurity, gatehouse.Wildcard(gatehouse.TypeUser)))
			raised = append(raised, NeedSecurity)
		}
		if charge && !st.SubstantialCharge {
			c.update(gatehouse.Touch, makeRel(cr, gatehouse.RelSubstantialCharge, gatehouse.Wildcard(gatehouse.TypeUser)))
			raised = append(raised, NeedCharge)
		}
		if len(raised) == 0 {
			return nil
		}
		pins, err := s.flagStanding(ctx, st, actor)
		if err != nil {
			return err
		}
		c.pin(pins...)
		c.pin(st.openPins()...)
		tok, err = s.write(ctx, c, gatehouse.Audit{
			Actor: actor.String(), Action: "raise_flags", Organisation: st.Organisation,
			Details: map[string]string{"changeRequest": id, "raised": strings.Join(raised, ",")},
		})
		return err
	})
	if err != nil {
		return ChangeRequest{}, err
	}
	st, err := s.state(ctx, cr)
	if err != nil {
		return ChangeRequest{}, err
	}
	if tok != "" {
		st.ZedToken = tok
	}
	// C14, C15: raising a flag does not open the request to reading. A
	// raiser who may neither view it nor act on it now (an approver of
	// charges raising only the security flag) learns only what they did:
	// its flags and status. One who now approves it (the charge flag
	// makes its approvers) reads what they are to approve.
	may := false
	for _, p := range []string{gatehouse.PermView, gatehouse.PermReject} {
		if may, err = s.allowed(ctx, cr, p, actor); err != nil {
			return ChangeRequest{}, err
		}
		if may {
			break
		}
	}
	if !may {
		return ChangeRequest{
			ID: st.ID, Organisation: st.Organisation, Status: st.Status,
			SubstantialSecurity: st.SubstantialSecurity, SubstantialCharge: st.SubstantialCharge,
			Authorisers: []gatehouse.Subject{}, ZedToken: st.ZedToken,
		}, nil
	}
	return st, nil
}

// flagStanding returns the pins of how actor holds raise_flags on st:
// provider staff, else a role that grants approve_security_changes, else
// one that grants approve_charges without R7's designation (C15).
func (s *Service) flagStanding(ctx context.Context, st ChangeRequest, actor gatehouse.Subject) ([]gatehouse.Precondition, error) {
	org := gatehouse.OrganisationRef(st.Organisation)
	for _, a := range approvals() {
		if a.need != NeedSecurity && a.need != NeedCharge {
			continue
		}
		ok, err := s.allowed(ctx, org, a.grant, actor)
		if err != nil {
			return nil, err
		}
		if ok {
			return s.standingPins(ctx, st, actor, "", []approval{a})
		}
	}
	return s.requirePins(ctx, actor, st.Organisation, gatehouse.PermProviderStaff)
}

// alwaysObject is the change_kind, or with a target the change_target,
// whose declarations make requests always substantial (C15).
func alwaysObject(org, kind, target string) gatehouse.Object {
	if target != "" {
		return gatehouse.ChangeTargetRef(org, kind, target)
	}
	return gatehouse.ChangeKindRef(org, kind)
}

// SetAlwaysSubstantial declares, for actor, a holder of manage_members in
// org, the kind of change request (or, with target, that kind on that
// target only) always of substantial security impact and/or charge (C15):
// from then on requests of it are flagged when filed whatever the filer
// says. It replaces the declaration: a false flag removes that part.
// Requests already filed keep their flags.
func (s *Service) SetAlwaysSubstantial(ctx context.Context, actor gatehouse.Subject, org, kind, target string, security, charge bool) (string, error) {
	return s.writeAlways(ctx, actor, org, kind, target, security, charge, "set_always_substantial")
}

// UnsetAlwaysSubstantial removes, for actor, a holder of manage_members
// in org, both declarations of kind (or kind on target) (C15).
func (s *Service) UnsetAlwaysSubstantial(ctx context.Context, actor gatehouse.Subject, org, kind, target string) (string, error) {
	return s.writeAlways(ctx, actor, org, kind, target, false, false, "unset_always_substantial")
}

func (s *Service) writeAlways(ctx context.Context, actor gatehouse.Subject, org, kind, target string, security, charge bool, action string) (string, error) {
	if err := validOrg("org", org); err != nil {
		return "", err
	}
	if err := validKind("kind", kind, true); err != nil {
		return "", err
	}
	if err := validTarget("target", target); err != nil {
		return "", err
	}
	obj := alwaysObject(org, kind, target)
	details := map[string]string{"kind": kind}
	if target != "" {
		details["target"] = target
	}
	var tok string
	err := retryWrite(ctx, func() error {
		pins, err := s.requirePins(ctx, actor, org, gatehouse.PermManageMembers)
		if err != nil {
			return err
		}
		var c writeSet
		c.pin(pins...)
		for _, x := range []struct {
			rel string
			on  bool
		}{{gatehouse.RelAlwaysSecurity, security}, {gatehouse.RelAlwaysCharge, charge}} {
			op := gatehouse.Delete
			if x.on {
				op = gatehouse.Touch
			}
			c.update(op, makeRel(obj, x.rel, gatehouse.Wildcard(gatehouse.TypeUser)))
		}
		details["security"], details["charge"] = boolString(security), boolString(charge)
		tok, err = s.write(ctx, c, gatehouse.Audit{Actor: actor.String(), Action: action, Organisation: org, Details: details})
		return err
	})
	return tok, err
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
