package workflow

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse"
)

// Exceptions decides C6: main contacts grant and revoke a user's right to
// file one kind of request (optionally for one target) authorised when
// filed, and list them with provider staff (C14). The filing that uses an
// exception is the change request's (the standing permission).
type Exceptions struct {
	*kit
	membership *membership
}

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
func (s *Exceptions) requireMainContact(ctx context.Context, actor gatehouse.Subject, org gatehouse.Object) error {
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
func (s *Exceptions) GrantException(ctx context.Context, actor gatehouse.Subject, e Exception, reason string) (string, error) {
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
		member, ok, err := s.membership.memberPin(ctx, e.Organisation, e.User)
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
func (s *Exceptions) RevokeExceptions(ctx context.Context, actor gatehouse.Subject, org string, user gatehouse.Subject, kind, reason string) (int, string, error) {
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

// ListedException is one exception as ListExceptions shows it (C6, C14).
type ListedException struct {
	User      gatehouse.Subject
	Kind      string
	Target    string
	ExpiresAt *time.Time
}

// key orders exceptions and makes their cursor.
func (e ListedException) key() string { return e.User.String() + "|" + e.Kind + "|" + e.Target }

// ListExceptions lists, for actor, a main contact of org or provider
// staff, org's exceptions that have not expired (C14, C6), ordered by
// user, kind and target, at most limit (default 1000, at most 10000), with
// a cursor for the next page when more remain. Anyone else gets 403
// naming view_exceptions.
func (s *Exceptions) ListExceptions(ctx context.Context, actor gatehouse.Subject, org string, limit int, cursor string) ([]ListedException, string, error) {
	if err := validOrg("org", org); err != nil {
		return nil, "", err
	}
	limit, after, err := pageOf(limit, cursor)
	if err != nil {
		return nil, "", err
	}
	if err := s.require(ctx, actor, gatehouse.PermViewExceptions, gatehouse.OrganisationRef(org)); err != nil {
		if ok, xerr := s.orgExists(ctx, org); xerr == nil && !ok {
			return nil, "", notFound(org)
		}
		return nil, "", err
	}
	var all []ListedException
	for _, typ := range []string{gatehouse.TypeChangeKind, gatehouse.TypeChangeTarget} {
		rels, _, err := s.store.ReadRelationships(ctx, gatehouse.Filter{ResourceType: typ, IDPrefix: org + "/", Relation: gatehouse.RelException}, latest)
		if err != nil {
			return nil, "", err
		}
		for _, r := range rels {
			// <org>/<kind> or <org>/<kind>/<type>/<id>
			parts := strings.SplitN(r.Resource.ID, "/", 4)
			if len(parts) < 2 || parts[0] != org {
				continue
			}
			e := ListedException{User: r.Subject, Kind: parts[1], ExpiresAt: r.ExpiresAt}
			if len(parts) == 4 {
				e.Target = parts[2] + ":" + parts[3]
			}
			all = append(all, e)
		}
	}
	slices.SortFunc(all, func(a, b ListedException) int { return strings.Compare(a.key(), b.key()) })
	out := []ListedException{}
	for _, e := range all {
		if e.key() <= after {
			continue
		}
		if len(out) == limit {
			return out, encodeCursor(out[len(out)-1].key()), nil
		}
		out = append(out, e)
	}
	return out, "", nil
}
