package console

import (
	"sort"
	"strings"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/seed"
)

// DemoUsers returns the people of the demo data (seed/) for the development
// sign-in, each with the roles and designations they hold, grouped by
// organisation; provider staff first.
func DemoUsers() ([]DevUser, error) {
	rels, err := seed.Relationships()
	if err != nil {
		return nil, err
	}
	held := map[string]map[string][]string{} // user -> org -> relations
	first := map[string]string{}
	for _, r := range rels {
		if r.Subject.Type != gatehouse.TypeUser || r.Subject.ID == "*" {
			continue
		}
		where := ""
		switch {
		case r.Resource.Type == gatehouse.TypeOrganisation:
			where = r.Resource.ID
		case r.Resource.Type == gatehouse.TypePlatform && r.Relation == gatehouse.RelStaff:
			where = " provider"
		default:
			continue
		}
		u := r.Subject.ID
		if held[u] == nil {
			held[u] = map[string][]string{}
			first[u] = where
		}
		held[u][where] = append(held[u][where], r.Relation)
	}
	out := make([]DevUser, 0, len(held))
	for u, orgs := range held {
		var parts []string
		for org, rs := range orgs {
			parts = append(parts, strings.TrimSpace(org)+": "+strings.Join(rs, ", "))
		}
		sort.Strings(parts)
		out = append(out, DevUser{ID: u, Note: strings.Join(parts, "; ")})
	}
	sort.Slice(out, func(i, j int) bool {
		if first[out[i].ID] != first[out[j].ID] {
			return first[out[i].ID] < first[out[j].ID]
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}
