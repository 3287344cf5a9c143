package gatehouse

import (
	"context"
	"regexp"

	"golang.org/x/text/currency"
)

// Contractor is a contractor of one organisation (K1). An admin-only one
// is visible only to the owner, SA, ASA and administrators (K2).
type Contractor struct {
	ID           string
	Name         string
	AdminOnly    bool
	Organisation string
	ZedToken     string
}

// ContractorPatch changes the fields that are set.
type ContractorPatch struct {
	Name      *string
	AdminOnly *bool
}

// contractorRef returns contractor:id.
func contractorRef(id string) Object { return Object{Type: typeContractor, ID: id} }

// adminOnly is the flag that hides a contractor from the non-admin roles:
// one wildcard relationship, written only here (K2).
func adminOnly(c Object) Relationship {
	return makeRel(c, "admin_only", Wildcard(typeUser))
}

// labelOf returns the label relationship holding data for obj.
func labelOf(obj Object, data map[string]string) (Relationship, error) {
	l, err := EncodeLabel(data)
	if err != nil {
		return Relationship{}, err
	}
	return makeRel(obj, LabelRelation, Subject{Object: l}), nil
}

// CreateContractor creates contractor c.ID in org for actor, who needs
// manage_contractors. One write whose precondition is that nothing of
// contractor:<id> exists anywhere, so a contractor belongs to exactly one
// organisation (K1): an id in use is 409, whichever organisation holds it.
func (s *Service) CreateContractor(ctx context.Context, actor Subject, org string, c Contractor) (Contractor, error) {
	if err := validID("org", org); err != nil {
		return Contractor{}, err
	}
	if err := validID("id", c.ID); err != nil {
		return Contractor{}, err
	}
	obj := contractorRef(c.ID)
	updates := []Update{{Op: Create, Relationship: makeRel(obj, "organisation", Subject{Object: OrganisationRef(org)})}}
	if c.Name != "" {
		l, err := labelOf(obj, map[string]string{"name": c.Name})
		if err != nil {
			return Contractor{}, err
		}
		updates = append(updates, Update{Op: Create, Relationship: l})
	}
	if c.AdminOnly {
		updates = append(updates, Update{Op: Create, Relationship: adminOnly(obj)})
	}
	c.Organisation = org
	err := retryWrite(ctx, func() error {
		pins, err := s.authorise(ctx, actor, org, "manage_contractors")
		if err != nil {
			return err
		}
		if err := s.mustBeUnused(ctx, obj, "K1"); err != nil {
			return err
		}
		c.ZedToken, err = s.store.Write(ctx, Write{
			Updates:       updates,
			Preconditions: append(pins, pinAbsent(Filter{ResourceType: obj.Type, ResourceID: obj.ID})),
			Audit: Audit{
				Actor: actor.String(), Action: "create_contractor", Organisation: org,
				Details: map[string]string{"contractor": obj.String()},
			},
		})
		return err
	})
	if err != nil {
		return Contractor{}, err
	}
	return c, nil
}

// mustBeUnused answers 409 naming rule when obj has any relationship. The
// write's precondition is what holds the rule; this only tells a lost race
// from an id in use, so that the latter is not retried.
func (s *Service) mustBeUnused(ctx context.Context, obj Object, rule string) error {
	rels, _, err := s.store.ReadRelationships(ctx, Filter{ResourceType: obj.Type, ResourceID: obj.ID}, headRead)
	if err != nil {
		return err
	}
	if len(rels) > 0 {
		msg := obj.String() + " exists already"
		if rule != "" {
			msg = rule + ": " + msg + "; a contractor belongs to exactly one organisation"
		}
		return final(&Error{Code: ECONFLICT, Rule: rule, Field: "id", Message: msg})
	}
	return nil
}

// contractorState is a contractor as read: its relationships by kind.
type contractorState struct {
	org    string
	labels []Relationship
	flag   bool
	all    []Relationship
}

// readContractor reads contractor id at the head revision; 404 when it has no organisation.
func (s *Service) readContractor(ctx context.Context, id string) (contractorState, error) {
	rels, _, err := s.store.ReadRelationships(ctx, Filter{ResourceType: typeContractor, ResourceID: id}, headRead)
	if err != nil {
		return contractorState{}, err
	}
	st := contractorState{all: rels}
	for _, r := range rels {
		switch r.Relation {
		case "organisation":
			st.org = r.Subject.ID
		case LabelRelation:
			st.labels = append(st.labels, r)
		case "admin_only":
			st.flag = true
		}
	}
	if st.org == "" {
		return contractorState{}, Errorf(ENOTFOUND, "contractor %q does not exist", id)
	}
	return st, nil
}

func (st contractorState) name() string {
	for _, l := range st.labels {
		if m, err := DecodeLabel(l.Subject.Object); err == nil {
			return m["name"]
		}
	}
	return ""
}

// PatchContractor renames contractor id or sets or lifts its admin-only
// flag, for actor, who needs manage_contractors in its organisation.
// Lifting the flag deletes one relationship, so the contractor is visible
// to cis_processors and the IT manager at once (K2). The write pins the
// contractor's organisation and its current name, so a concurrent rename
// or move sends it back to be decided again.
func (s *Service) PatchContractor(ctx context.Context, actor Subject, id string, p ContractorPatch) (Contractor, error) {
	if err := validID("id", id); err != nil {
		return Contractor{}, err
	}
	if p.Name == nil && p.AdminOnly == nil {
		return Contractor{}, Invalid("body", "set name or adminOnly")
	}
	if p.Name != nil && *p.Name == "" {
		return Contractor{}, Invalid("name", "name must not be empty")
	}
	obj := contractorRef(id)
	var out Contractor
	err := retryWrite(ctx, func() error {
		st, err := s.readContractor(ctx, id)
		if err != nil {
			return final(err)
		}
		pins, err := s.authorise(ctx, actor, st.org, "manage_contractors")
		if err != nil {
			return err
		}
		var c writeSet
		c.pin(pins...)
		c.pin(pinPresent(makeRel(obj, "organisation", Subject{Object: OrganisationRef(st.org)})))
		out = Contractor{ID: id, Name: st.name(), AdminOnly: st.flag, Organisation: st.org}
		if p.Name != nil && *p.Name != out.Name {
			l, err := labelOf(obj, map[string]string{"name": *p.Name})
			if err != nil {
				return final(err)
			}
			c.pinHolders(obj, LabelRelation, subjectsOf(st.labels))
			for _, old := range st.labels {
				c.update(Delete, old)
			}
			c.update(Touch, l)
			out.Name = *p.Name
		}
		if p.AdminOnly != nil && *p.AdminOnly != st.flag {
			op := Delete
			if *p.AdminOnly {
				op = Touch
			}
			c.update(op, adminOnly(obj))
			out.AdminOnly = *p.AdminOnly
		}
		if len(c.updates) == 0 {
			return nil // already so
		}
		out.ZedToken, err = s.store.Write(ctx, Write{Updates: c.updates, Preconditions: c.pins, Audit: Audit{
			Actor: actor.String(), Action: "update_contractor", Organisation: st.org,
			Details: map[string]string{"contractor": obj.String()},
		}})
		return err
	})
	return out, err
}

func subjectsOf(rels []Relationship) []Subject {
	out := make([]Subject, len(rels))
	for i, r := range rels {
		out[i] = r.Subject
	}
	return out
}

// DeleteContractor deletes every relationship of contractor id, for actor,
// who needs manage_contractors in its organisation. It deletes by filter,
// so whatever was written to the contractor meanwhile goes too.
func (s *Service) DeleteContractor(ctx context.Context, actor Subject, id string) (string, error) {
	if err := validID("id", id); err != nil {
		return "", err
	}
	st, err := s.readContractor(ctx, id)
	if err != nil {
		return "", err
	}
	if _, err := s.authorise(ctx, actor, st.org, "manage_contractors"); err != nil {
		return "", err
	}
	_, tok, err := s.store.DeleteMatching(ctx, []Filter{{ResourceType: typeContractor, ResourceID: id}}, Audit{
		Actor: actor.String(), Action: "delete_contractor", Organisation: st.org,
		Details: map[string]string{"contractor": contractorRef(id).String()},
	})
	return tok, err
}

// Invoice is an invoice of one organisation. Amount is a decimal string
// ("120.00") so that no float rounds it; Currency an ISO 4217 code.
type Invoice struct {
	ID           string
	Amount       string
	Currency     string
	Organisation string
	ZedToken     string
}

// amountRE is a non-negative decimal amount: no sign, no exponent, no
// leading zeros, at most four decimal places (ISO 4217 has none finer).
var amountRE = regexp.MustCompile(`^(0|[1-9][0-9]{0,17})(\.[0-9]{1,4})?$`)

// currencyRE is the form of an ISO 4217 alphabetic code.
var currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)

// CreateInvoice creates invoice inv.ID in org for actor, who needs
// manage_billing (O5: the owner is the billing contact; R3). One write
// whose precondition is that nothing of invoice:<id> exists.
func (s *Service) CreateInvoice(ctx context.Context, actor Subject, org string, inv Invoice) (Invoice, error) {
	if err := validID("org", org); err != nil {
		return Invoice{}, err
	}
	if err := validID("id", inv.ID); err != nil {
		return Invoice{}, err
	}
	if !amountRE.MatchString(inv.Amount) {
		return Invoice{}, Invalid("amount", "amount %q must be a decimal string such as \"120.00\" (no sign, at most 4 decimals)", inv.Amount)
	}
	if !currencyRE.MatchString(inv.Currency) {
		return Invoice{}, Invalid("currency", "currency %q must be an ISO 4217 code of three capital letters, such as GBP", inv.Currency)
	}
	if u, err := currency.ParseISO(inv.Currency); err != nil || u == (currency.Unit{}) {
		return Invoice{}, Invalid("currency", "currency %q is not an ISO 4217 currency", inv.Currency)
	}
	obj := Object{Type: typeInvoice, ID: inv.ID}
	l, err := labelOf(obj, map[string]string{"amount": inv.Amount, "currency": inv.Currency})
	if err != nil {
		return Invoice{}, err
	}
	inv.Organisation = org
	err = retryWrite(ctx, func() error {
		pins, err := s.authorise(ctx, actor, org, "manage_billing")
		if err != nil {
			return err
		}
		if err := s.mustBeUnused(ctx, obj, ""); err != nil {
			return err
		}
		inv.ZedToken, err = s.store.Write(ctx, Write{
			Updates: []Update{
				{Op: Create, Relationship: makeRel(obj, "organisation", Subject{Object: OrganisationRef(org)})},
				{Op: Create, Relationship: l},
			},
			Preconditions: append(pins, pinAbsent(Filter{ResourceType: obj.Type, ResourceID: obj.ID})),
			Audit: Audit{
				Actor: actor.String(), Action: "create_invoice", Organisation: org,
				Details: map[string]string{"invoice": obj.String(), "amount": inv.Amount, "currency": inv.Currency},
			},
		})
		return err
	})
	if err != nil {
		return Invoice{}, err
	}
	return inv, nil
}
