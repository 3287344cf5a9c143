package workflow

import (
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse"
)

// Service runs the workflows of domain.md against a Store: the
// organisation workflows (O, S, R, T, K), change authorisation (C) and the
// guard of the raw relationship endpoint (X4).
type Service struct {
	store gatehouse.Store
	now   func() time.Time
}

// New returns a Service over store.
func New(store gatehouse.Store) *Service {
	return &Service{store: store, now: time.Now}
}

// validID refuses an id SpiceDB would refuse, naming the field.
func validID(field, id string) error {
	if id == "" {
		return gatehouse.Invalid(field, "%s is required", field)
	}
	if !gatehouse.ValidID(id) {
		return gatehouse.Invalid(field, "%q may contain only letters, digits and /_|-=+ (at most 1024)", id)
	}
	return nil
}

// validOrg checks an organisation id that becomes part of change_kind and
// change_target ids, where '/' separates the parts.
func validOrg(field, org string) error {
	if org == "" {
		return gatehouse.Invalid(field, "%s is required", field)
	}
	if !gatehouse.ValidID(org) || strings.Contains(org, "/") {
		return gatehouse.Invalid(field, "%q is not a valid organisation id (letters, digits and _|-=+, no '/')", org)
	}
	return nil
}

// validUser refuses a subject that is not user:<id>.
func validUser(field string, u gatehouse.Subject) error {
	if u.Type != gatehouse.TypeUser || u.Relation != "" {
		return gatehouse.Invalid(field, "%q must be a user (user:<id>)", u.String())
	}
	return validID(field, u.ID)
}
