package workflow

import (
	"context"
	"slices"
	"strings"

	"github.com/gatehouse-authz/gatehouse"
)

// membership keeps T1 and T4 true for the workflows that change roles
// (Roles, security, Raw) or rest on someone being a member (Designations,
// Exceptions): a write that relies on membership pins it, and a write
// that takes someone's last role away, or finds it expired (T5), takes
// their designations and exceptions with it.
type membership struct{ *kit }

// Membership is holding at least one role (T4). A user who holds none is
// not on the team, and holds no designation and no exception there either
// (T1, T4). The helpers here keep that true under concurrent writes: a
// write that relies on someone being a member pins one of their roles, and
// a write that takes someone's last role away takes the rest of what they
// hold in the same write, pinning what they did not hold.

// roleOf returns one role among held, user's relationships in an
// organisation; ok is false when they hold none and so are not a member.
func roleOf(held []gatehouse.Relationship) (gatehouse.Relationship, bool) {
	i := slices.IndexFunc(held, func(r gatehouse.Relationship) bool { return gatehouse.IsRole(r.Relation) })
	if i < 0 {
		return gatehouse.Relationship{}, false
	}
	return held[i], true
}

// memberPin reads user's relationships in org and returns the precondition
// that they still hold one role they hold now: membership is a permission,
// which no precondition can name, so a write that needs user on the team
// pins one role that puts them there, and a concurrent removal sends it
// back to be decided again. ok is false when user is not a member.
func (s *membership) memberPin(ctx context.Context, org string, user gatehouse.Subject) (gatehouse.Precondition, bool, error) {
	held, err := s.relationsOf(ctx, org, user)
	if err != nil {
		return gatehouse.Precondition{}, false, err
	}
	r, ok := roleOf(held)
	if !ok {
		return gatehouse.Precondition{}, false, nil
	}
	return pinPresent(r), true, nil
}

// exceptionFilters select every exception of user in org: on its change
// kinds and on their targets, whose ids start with "<org>/" (org never
// contains '/', X5).
func exceptionFilters(org string, user gatehouse.Subject) []gatehouse.Filter {
	return []gatehouse.Filter{
		{ResourceType: gatehouse.TypeChangeKind, IDPrefix: org + "/", Relation: gatehouse.RelException, SubjectType: user.Type, SubjectID: user.ID},
		{ResourceType: gatehouse.TypeChangeTarget, IDPrefix: org + "/", Relation: gatehouse.RelException, SubjectType: user.Type, SubjectID: user.ID},
	}
}

// exceptionsOf reads every exception of user in org, at the head revision.
func (s *membership) exceptionsOf(ctx context.Context, org string, user gatehouse.Subject) ([]gatehouse.Relationship, error) {
	var out []gatehouse.Relationship
	for _, f := range exceptionFilters(org, user) {
		rels, _, err := s.store.ReadRelationships(ctx, f, latest)
		if err != nil {
			return nil, err
		}
		out = append(out, rels...)
	}
	return out, nil
}

// leave adds to c what user leaving org takes (T1): every relationship of
// theirs in org that was read (held) and every exception (exceptions) is
// deleted, and what they did not hold is pinned absent, so that a grant,
// designation or exception landing between the read and the write sends
// the write back to be decided again. Exceptions are pinned per kind: the
// one on the kind exactly, and those on its targets by prefix when none
// was read; an exception on a further target of a kind that had some is
// what sweepExceptions catches after the write.
func (c *writeSet) leave(o gatehouse.Object, user gatehouse.Subject, held, exceptions []gatehouse.Relationship) {
	for _, rel := range append(gatehouse.Roles(), gatehouse.Designations()...) {
		if !slices.ContainsFunc(held, func(h gatehouse.Relationship) bool { return h.Relation == rel }) {
			c.pin(pinAbsent(exactFilter(makeRel(o, rel, user))))
		}
	}
	for _, r := range held {
		c.update(gatehouse.Delete, r)
	}
	for _, kind := range gatehouse.Kinds() {
		k := gatehouse.ChangeKindRef(o.ID, kind)
		if !slices.ContainsFunc(exceptions, func(r gatehouse.Relationship) bool { return r.Resource == k }) {
			c.pin(pinAbsent(exactFilter(makeRel(k, gatehouse.RelException, user))))
		}
		prefix := k.ID + "/"
		if !slices.ContainsFunc(exceptions, func(r gatehouse.Relationship) bool {
			return r.Resource.Type == gatehouse.TypeChangeTarget && strings.HasPrefix(r.Resource.ID, prefix)
		}) {
			c.pin(pinAbsent(gatehouse.Filter{ResourceType: gatehouse.TypeChangeTarget, IDPrefix: prefix, Relation: gatehouse.RelException, SubjectType: user.Type, SubjectID: user.ID}))
		}
	}
	for _, r := range exceptions {
		if len(c.updates) < maxUpdates {
			c.update(gatehouse.Delete, r)
		}
	}
}

// settleMembership holds T4 for a write that takes roles away in org:
// for each user who loses a role in c and gains none, it pins one role
// they keep, or, when c takes their last, adds everything else of theirs
// (leave), so they leave the team whole (T1). It returns those who leave,
// for sweepExceptions once the write applied.
func (s *membership) settleMembership(ctx context.Context, c *writeSet, org string) ([]gatehouse.Subject, error) {
	o := gatehouse.OrganisationRef(org)
	deleted := map[string]bool{}
	var losing, gaining []gatehouse.Subject
	for _, u := range c.updates {
		r := u.Relationship
		if r.Resource != o || !gatehouse.IsRole(r.Relation) {
			continue
		}
		if u.Op == gatehouse.Delete {
			deleted[identity(r)] = true
			if !slices.Contains(losing, r.Subject) {
				losing = append(losing, r.Subject)
			}
		} else {
			gaining = append(gaining, r.Subject)
		}
	}
	var leavers []gatehouse.Subject
	for _, user := range losing {
		if slices.Contains(gaining, user) {
			continue
		}
		held, err := s.relationsOf(ctx, org, user)
		if err != nil {
			return nil, err
		}
		i := slices.IndexFunc(held, func(r gatehouse.Relationship) bool { return gatehouse.IsRole(r.Relation) && !deleted[identity(r)] })
		if i >= 0 {
			c.pin(pinPresent(held[i]))
			continue
		}
		exceptions, err := s.exceptionsOf(ctx, org, user)
		if err != nil {
			return nil, err
		}
		c.leave(o, user, held, exceptions)
		leavers = append(leavers, user)
	}
	return leavers, nil
}

// sweepExceptions deletes the exceptions that the write making users leave
// org could not pin or hold (see leave), for as long as each is still not
// a member: the write pins every role of theirs absent, so an exception
// granted after they rejoined is never touched.
func (s *membership) sweepExceptions(ctx context.Context, org string, users []gatehouse.Subject, audit gatehouse.Audit) (string, error) {
	o := gatehouse.OrganisationRef(org)
	var tok string
	for _, user := range users {
		for range maxAttempts {
			left, err := s.exceptionsOf(ctx, org, user)
			if err != nil {
				return "", err
			}
			if len(left) == 0 {
				break
			}
			var c writeSet
			for _, role := range gatehouse.Roles() {
				c.pin(pinAbsent(exactFilter(makeRel(o, role, user))))
			}
			for _, r := range left[:min(len(left), maxUpdates)] {
				c.update(gatehouse.Delete, r)
			}
			t, err := s.write(ctx, c, audit)
			if gatehouse.ErrorCode(err) == gatehouse.ECONFLICT {
				break // a member again: what they hold now is theirs
			}
			if err != nil {
				return "", err
			}
			tok = t
		}
	}
	return tok, nil
}

// writeSettled applies c, a write that may take roles away in org, with
// what T4 and T1 add to it (settleMembership), then sweeps what the write
// could not pin of those who left.
func (s *membership) writeSettled(ctx context.Context, c writeSet, org string, audit gatehouse.Audit) (string, error) {
	leavers, err := s.settleMembership(ctx, &c, org)
	if err != nil {
		return "", err
	}
	tok, err := s.write(ctx, c, audit)
	if err != nil {
		return "", err
	}
	if t, err := s.sweepExceptions(ctx, org, leavers, audit); err != nil {
		return "", err
	} else if t != "" {
		tok = t
	}
	return tok, nil
}
