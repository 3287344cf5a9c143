package workflow

import (
	"context"
	"time"

	"github.com/gatehouse-authz/gatehouse"
)

// Exception lets User file requests of one non-standard Kind in
// Organisation, optionally only on one Target (type:id), that are
// authorised when filed (C6). ExpiresAt, when set, ends it: SpiceDB's
// relationship expiration stops it counting at that moment.
type Exception struct {
	Organisation string
	User         gatehouse.Subject
	Kind         string
	Target       string
	ExpiresAt    *time.Time
}

// relationship is the one relationship that holds the exception: on the
// organisation's kind, or on its one target of that kind.
func (e Exception) relationship() gatehouse.Relationship {
	res := gatehouse.ChangeKindRef(e.Organisation, e.Kind)
	if e.Target != "" {
		res = gatehouse.ChangeTargetRef(e.Organisation, e.Kind, e.Target)
	}
	return gatehouse.Relationship{Resource: res, Relation: gatehouse.RelException, Subject: e.User, ExpiresAt: e.ExpiresAt}
}

// requireMainContact lets through a main contact who is available: only a
// main contact grants and revokes exceptions (C6), and one marked
// unavailable_contact may not act as one (C7).
func (s *Service) requireMainContact(ctx context.Context, actor gatehouse.Subject, org gatehouse.Object) error {
	if err := s.require(ctx, actor, gatehouse.PermMainContacts, org); err != nil {
		return err
	}
	away, err := s.allowed(ctx, org, gatehouse.PermUnavailableContacts, actor)
	if err != nil {
		return err
	}
	if away {
		e := gatehouse.Forbidden(actor, gatehouse.PermMainContacts, org)
		e.Rule = "C7"
		e.Message = "C7: " + actor.String() + " is marked unavailable_contact in " + org.String() + " and may not act as its main contact"
		return e
	}
	return nil
}

// GrantException grants e for actor, who must be an available main contact
// of the organisation (C6, C7), to a member of it, with reason recorded in
// the audit trail. Granting again replaces the expiry. The write pins the
// granter's standing and one role of the user, so it never lands after
// either's removal (T1).
func (s *Service) GrantException(ctx context.Context, actor gatehouse.Subject, e Exception, reason string) (string, error) {
	if err := validOrg("org", e.Organisation); err != nil {
		return "", err
	}
	if err := validUser("user", e.User); err != nil {
		return "", err
	}
	if err := validKind("kind", e.Kind, false); err != nil {
		return "", err
	}
	if err := validTarget("target", e.Target); err != nil {
		return "", err
	}
	if e.ExpiresAt != nil && !e.ExpiresAt.After(s.now()) {
		return "", gatehouse.Invalid("expiresAt", "expiresAt %s is not in the future", e.ExpiresAt.UTC().Format(time.RFC3339))
	}
	org := gatehouse.OrganisationRef(e.Organisation)
	details := map[string]string{"user": e.User.String(), "kind": e.Kind}
	if e.Target != "" {
		details["target"] = e.Target
	}
	if e.ExpiresAt != nil {
		details["expiresAt"] = e.ExpiresAt.UTC().Format(time.RFC3339)
	}
	var tok string
	err := retryWrite(ctx, func() error {
		if err := s.requireMainContact(ctx, actor, org); err != nil {
			return err
		}
		member, ok, err := s.memberPin(ctx, e.Organisation, e.User)
		if err != nil {
			return err
		}
		if !ok {
			v := gatehouse.RuleViolation("C6", "%s is not a member of %s: exceptions are granted to members of the organisation", e.User, org)
			v.Field = "user"
			return final(v)
		}
		tok, err = s.store.Write(ctx, gatehouse.Write{
			Updates: []gatehouse.Update{{Op: gatehouse.Touch, Relationship: e.relationship()}},
			// The granter is still an available main contact (C6, C7), and
			// the user still a member: a removal of either that lands first
			// sends this back to be decided again, so an exception never
			// outlives its holder's membership (T1).
			Preconditions: []gatehouse.Precondition{
				pinPresent(makeRel(org, gatehouse.DesignationMainContact, actor)),
				pinAbsent(exactFilter(makeRel(org, gatehouse.DesignationUnavailableContact, actor))),
				member,
			},
			Audit: gatehouse.Audit{Actor: actor.String(), Action: "grant_exception", Reason: reason, Organisation: e.Organisation, Details: details},
		})
		return err
	})
	return tok, err
}

// RevokeExceptions revokes, for actor, an available main contact of org
// (C6, C7), every exception of user for kind in org: the one for the whole
// kind and every one for a single target of it. It returns how many went.
func (s *Service) RevokeExceptions(ctx context.Context, actor gatehouse.Subject, org string, user gatehouse.Subject, kind, reason string) (int, string, error) {
	if err := validOrg("org", org); err != nil {
		return 0, "", err
	}
	if err := validUser("user", user); err != nil {
		return 0, "", err
	}
	if err := validKind("kind", kind, false); err != nil {
		return 0, "", err
	}
	if err := s.requireMainContact(ctx, actor, gatehouse.OrganisationRef(org)); err != nil {
		return 0, "", err
	}
	k := gatehouse.ChangeKindRef(org, kind)
	return s.store.DeleteMatching(ctx, []gatehouse.Filter{
		{ResourceType: k.Type, ResourceID: k.ID, Relation: gatehouse.RelException, SubjectType: user.Type, SubjectID: user.ID},
		{ResourceType: gatehouse.TypeChangeTarget, IDPrefix: k.ID + "/", Relation: gatehouse.RelException, SubjectType: user.Type, SubjectID: user.ID},
	}, gatehouse.Audit{
		Actor: actor.String(), Action: "revoke_exception", Reason: reason, Organisation: org,
		Details: map[string]string{"user": user.String(), "kind": kind},
	})
}
