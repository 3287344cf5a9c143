package gatehouse

import (
	"context"
	"time"
)

// Exception lets User file requests of one non-standard Kind in
// Organisation, optionally only on one Target (type:id), that are
// authorised when filed (C6). ExpiresAt, when set, ends it: SpiceDB's
// relationship expiration stops it counting at that moment.
type Exception struct {
	Organisation string
	User         Subject
	Kind         string
	Target       string
	ExpiresAt    *time.Time
}

// relationship is the one relationship that holds the exception: on the
// organisation's kind, or on its one target of that kind.
func (e Exception) relationship() Relationship {
	res := kindObject(e.Organisation, e.Kind)
	if e.Target != "" {
		res = targetObject(e.Organisation, e.Kind, e.Target)
	}
	return Relationship{Resource: res, Relation: "exception", Subject: e.User, ExpiresAt: e.ExpiresAt}
}

// requireMainContact lets through a main contact who is available: only a
// main contact grants and revokes exceptions (C6), and one marked
// unavailable_contact may not act as one (C7).
func (s *Service) requireMainContact(ctx context.Context, actor Subject, org Object) error {
	if err := s.Require(ctx, actor, "main_contacts", org); err != nil {
		return err
	}
	away, err := s.allowed(ctx, org, "unavailable_contacts", actor)
	if err != nil {
		return err
	}
	if away {
		e := Forbidden(actor, "main_contacts", org)
		e.Rule = "C7"
		e.Message = "C7: " + actor.String() + " is marked unavailable_contact in " + org.String() + " and may not act as its main contact"
		return e
	}
	return nil
}

func validUser(field string, u Subject) error {
	if u.Type != "user" || u.Relation != "" {
		return Invalid(field, "%q must be a user (user:<id>)", u.String())
	}
	return nil
}

// GrantException grants e for actor, who must be an available main contact
// of the organisation (C6, C7), to a member of it, with reason recorded in
// the audit trail. Granting again replaces the expiry.
func (s *Service) GrantException(ctx context.Context, actor Subject, e Exception, reason string) (string, error) {
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
		return "", Invalid("expiresAt", "expiresAt %s is not in the future", e.ExpiresAt.UTC().Format(time.RFC3339))
	}
	org := organisation(e.Organisation)
	if err := s.requireMainContact(ctx, actor, org); err != nil {
		return "", err
	}
	member, err := s.allowed(ctx, org, "member", e.User)
	if err != nil {
		return "", err
	}
	if !member {
		v := RuleViolation("C6", "%s is not a member of %s: exceptions are granted to members of the organisation", e.User, org)
		v.Field = "user"
		return "", v
	}
	details := map[string]string{"user": e.User.String(), "kind": e.Kind}
	if e.Target != "" {
		details["target"] = e.Target
	}
	if e.ExpiresAt != nil {
		details["expiresAt"] = e.ExpiresAt.UTC().Format(time.RFC3339)
	}
	return s.store.Write(ctx, Write{
		Updates: []Update{{Op: Touch, Relationship: e.relationship()}},
		Audit:   Audit{Actor: actor.String(), Action: "grant_exception", Reason: reason, Organisation: e.Organisation, Details: details},
	})
}

// RevokeExceptions revokes, for actor, an available main contact of org
// (C6, C7), every exception of user for kind in org: the one for the whole
// kind and every one for a single target of it. It returns how many went.
func (s *Service) RevokeExceptions(ctx context.Context, actor Subject, org string, user Subject, kind, reason string) (int, string, error) {
	if err := validOrg("org", org); err != nil {
		return 0, "", err
	}
	if err := validUser("user", user); err != nil {
		return 0, "", err
	}
	if err := validKind("kind", kind, false); err != nil {
		return 0, "", err
	}
	if err := s.requireMainContact(ctx, actor, organisation(org)); err != nil {
		return 0, "", err
	}
	k := kindObject(org, kind)
	return s.store.DeleteMatching(ctx, []Filter{
		{ResourceType: k.Type, ResourceID: k.ID, Relation: "exception", SubjectType: user.Type, SubjectID: user.ID},
		{ResourceType: "change_target", IDPrefix: k.ID + "/", Relation: "exception", SubjectType: user.Type, SubjectID: user.ID},
	}, Audit{
		Actor: actor.String(), Action: "revoke_exception", Reason: reason, Organisation: org,
		Details: map[string]string{"user": user.String(), "kind": kind},
	})
}
