package workflow

import (
	"context"
	"strings"

	"github.com/gatehouse-authz/gatehouse"
)

// EditOrganisation renames org for actor, a holder of edit_details (O7,
// R4), and returns the organisation as it now is. The name is the one
// detail the organisation keeps; it lives in the organisation's label,
// replaced in one write pinned on actor's standing and on the label read,
// so two concurrent edits cannot interleave, and audited with the old and
// new names (X2).
func (s *Organisations) EditOrganisation(ctx context.Context, actor gatehouse.Subject, org, name string) (Organisation, error) {
	if err := validID("org", org); err != nil {
		return Organisation{}, err
	}
	name = strings.TrimSpace(name)
	if name == "" {
		return Organisation{}, gatehouse.Invalid("name", "name is required")
	}
	o := gatehouse.OrganisationRef(org)
	label, err := labelOf(o, map[string]string{"name": name})
	if err != nil {
		return Organisation{}, err
	}
	var out Organisation
	err = retryWrite(ctx, func() error {
		pins, err := s.requirePins(ctx, actor, org, gatehouse.PermEditDetails)
		if err != nil {
			return err
		}
		rels, _, err := s.store.ReadRelationships(ctx, gatehouse.Filter{ResourceType: o.Type, ResourceID: o.ID}, latest)
		if err != nil {
			return err
		}
		var c writeSet
		c.pin(pins...)
		old, same := "", false
		out = Organisation{ID: org, Name: name}
		for _, r := range rels {
			switch r.Relation {
			case gatehouse.RoleOwner:
				out.Owner = r.Subject
			case gatehouse.LabelRelation:
				if r == label {
					same = true
					continue
				}
				if m, err := gatehouse.DecodeLabel(r.Subject.Object); err == nil {
					old = m["name"]
				}
				c.pin(pinPresent(r))
				c.update(gatehouse.Delete, r)
			}
		}
		if same {
			// Renamed to the name it has: pin it, so the answer is true when written.
			c.pin(pinPresent(label))
			old = name
		} else {
			c.pin(pinAbsent(exactFilter(label)))
		}
		c.update(gatehouse.Touch, label)
		out.ZedToken, err = s.write(ctx, c, gatehouse.Audit{
			Actor: actor.String(), Action: "edit_organisation", Organisation: org,
			Details: map[string]string{"name": name, "previousName": old},
		})
		return err
	})
	if err != nil {
		return Organisation{}, err
	}
	return out, nil
}
