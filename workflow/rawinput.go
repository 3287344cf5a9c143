package workflow

import (
	"fmt"

	"github.com/gatehouse-authz/gatehouse"
)

// RawUpdates reads the relationships a raw write touches and deletes
// (zed notation) as its updates, each named by its field (touch[0],
// delete[1]): 400 naming the field of one that does not parse, that the
// schema cannot hold, or that appears twice; 400 when there are none.
// X4 is WriteRaw's, not this.
func RawUpdates(touch, del []string) ([]RawUpdate, error) {
	if len(touch)+len(del) == 0 {
		return nil, gatehouse.Invalid("touch", "touch or delete must name at least one relationship")
	}
	var ups []RawUpdate
	seen := map[string]string{}
	for _, list := range []struct {
		name string
		op   gatehouse.Operation
		rels []string
	}{{"touch", gatehouse.Touch, touch}, {"delete", gatehouse.Delete, del}} {
		for i, s := range list.rels {
			field := fmt.Sprintf("%s[%d]", list.name, i)
			r, err := gatehouse.ParseRelationship(field, s)
			if err != nil {
				return nil, err
			}
			if err := schemaHolds(field, r); err != nil {
				return nil, err
			}
			key := r.String()
			if prev, dup := seen[key]; dup {
				return nil, gatehouse.Invalid(field, "the same relationship also appears as %s", prev)
			}
			seen[key] = field
			ups = append(ups, RawUpdate{Field: field, Update: gatehouse.Update{Op: list.op, Relationship: r}})
		}
	}
	return ups, nil
}

// schemaHolds refuses a relationship the schema cannot hold, naming field.
func schemaHolds(field string, r gatehouse.Relationship) error {
	idx, err := schemaIndex()
	if err != nil {
		return err
	}
	if !idx.HasType(r.Resource.Type) {
		return gatehouse.Invalid(field, "object type %q is not defined in the schema", r.Resource.Type)
	}
	if !idx.Has(r.Resource.Type, r.Relation) {
		return gatehouse.Invalid(field, "%q is not a relation of %s", r.Relation, r.Resource.Type)
	}
	if !idx.HasType(r.Subject.Type) {
		return gatehouse.Invalid(field, "subject type %q is not defined in the schema", r.Subject.Type)
	}
	return nil
}
