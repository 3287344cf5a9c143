package dryrun

import (
	"fmt"

	"github.com/gatehouse-authz/gatehouse"
)

// Combine returns writes, made one after the other, as one write with the
// same effect on the state the first met: their updates, one a
// relationship (a Create stays a Create, so what exists already still
// conflicts), and their preconditions but those that an earlier write of
// writes satisfies by what it makes, since SpiceDB checks a write's
// preconditions before any of its updates. The record is the first
// write's; the caller says what the others did in it.
//
// A precondition of a later write that an earlier one could only have
// broken, or one resting on a relationship an earlier one deleted, has
// no equivalent in one write: Combine refuses such writes.
func Combine(writes []gatehouse.Write) (gatehouse.Write, error) {
	var out gatehouse.Write
	if len(writes) == 0 {
		return out, nil
	}
	out.Audit = writes[0].Audit
	net := map[string]int{}
	seen := map[string]bool{}
	for i, w := range writes {
		for _, p := range w.Preconditions {
			decided, err := settledBy(p, out.Updates)
			if err != nil {
				return gatehouse.Write{}, fmt.Errorf("write %d of %d: %w", i+1, len(writes), err)
			}
			if k := fmt.Sprintf("%+v", p); !decided && !seen[k] {
				seen[k] = true
				out.Preconditions = append(out.Preconditions, p)
			}
		}
		for _, u := range w.Updates {
			k := key(u.Relationship)
			j, ok := net[k]
			if !ok {
				net[k] = len(out.Updates)
				out.Updates = append(out.Updates, u)
				continue
			}
			if out.Updates[j].Op == gatehouse.Create && u.Op == gatehouse.Delete {
				// Nothing is made, but the Create still required its absence.
				out.Preconditions = append(out.Preconditions, gatehouse.Precondition{Filter: exact(u.Relationship)})
			}
			out.Updates[j] = merge(out.Updates[j], u)
		}
	}
	return out, nil
}

// settledBy reports whether the earlier updates ups decide p whatever the
// state they met: one of them makes a relationship p requires. It refuses
// a p that one of them bears on otherwise (see Combine).
func settledBy(p gatehouse.Precondition, ups []gatehouse.Update) (bool, error) {
	decided := false
	for _, u := range ups {
		if !matches(p.Filter, u.Relationship) {
			continue
		}
		if u.Op == gatehouse.Delete || !p.MustMatch {
			return false, fmt.Errorf("dryrun: a precondition on %s rests on an earlier write's change to it; it cannot be made one write", u.Relationship)
		}
		decided = true
	}
	return decided, nil
}

// merge is the one update with the effect of prev followed by next on
// the same relationship: next, but a Create followed by a Touch stays a
// Create (of next's relationship), and a Delete followed by a Create
// is a Touch (the relationship is there after both either way). A Create
// followed by a Delete is a Delete, with Combine's precondition that the
// relationship is absent.
func merge(prev, next gatehouse.Update) gatehouse.Update {
	switch {
	case prev.Op == gatehouse.Create && next.Op == gatehouse.Touch:
		next.Op = gatehouse.Create
	case prev.Op == gatehouse.Delete && next.Op == gatehouse.Create:
		next.Op = gatehouse.Touch
	}
	return next
}
