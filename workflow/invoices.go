package workflow

import (
	"context"
	"regexp"

	"golang.org/x/text/currency"

	"github.com/gatehouse-authz/gatehouse"
)

// Invoices creates an organisation's invoices: holders of manage_billing
// (O5: the owner is the billing contact; R3, R6, R7).
type Invoices struct{ *kit }

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
func (s *Invoices) CreateInvoice(ctx context.Context, actor gatehouse.Subject, org string, inv Invoice) (Invoice, error) {
	if err := validOrg("org", org); err != nil {
		return Invoice{}, err
	}
	if err := validID("id", inv.ID); err != nil {
		return Invoice{}, err
	}
	if !amountRE.MatchString(inv.Amount) {
		return Invoice{}, gatehouse.Invalid("amount", "amount %q must be a decimal string such as \"120.00\" (no sign, at most 4 decimals)", inv.Amount)
	}
	if !currencyRE.MatchString(inv.Currency) {
		return Invoice{}, gatehouse.Invalid("currency", "currency %q must be an ISO 4217 code of three capital letters, such as GBP", inv.Currency)
	}
	if u, err := currency.ParseISO(inv.Currency); err != nil || u == (currency.Unit{}) {
		return Invoice{}, gatehouse.Invalid("currency", "currency %q is not an ISO 4217 currency", inv.Currency)
	}
	obj := gatehouse.InvoiceRef(inv.ID)
	l, err := labelOf(obj, map[string]string{"amount": inv.Amount, "currency": inv.Currency})
	if err != nil {
		return Invoice{}, err
	}
	inv.Organisation = org
	err = retryWrite(ctx, func() error {
		pins, err := s.requirePins(ctx, actor, org, gatehouse.PermManageBilling)
		if err != nil {
			return err
		}
		if err := s.mustBeUnused(ctx, obj, ""); err != nil {
			return err
		}
		inv.ZedToken, err = s.store.Write(ctx, gatehouse.Write{
			Updates: []gatehouse.Update{
				{Op: gatehouse.Create, Relationship: makeRel(obj, gatehouse.RelOrganisation, gatehouse.Subject{Object: gatehouse.OrganisationRef(org)})},
				{Op: gatehouse.Create, Relationship: l},
			},
			Preconditions: append(pins, pinAbsent(gatehouse.Filter{ResourceType: obj.Type, ResourceID: obj.ID})),
			Audit: gatehouse.Audit{
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

// ListInvoices lists, for actor, who needs view_billing on org (R3, R5,
// R6, R7), a page of org's invoices (at most limit, default 1000, at most
// 10000, from the Store's cursor) keeping those actor may view (K3), with
// the cursor of the next page when more may remain. 404 when org does not
// exist; anyone else gets 403 naming view_billing.
func (s *Invoices) ListInvoices(ctx context.Context, actor gatehouse.Subject, org string, limit int, cursor string) ([]Invoice, string, error) {
	if err := validOrg("org", org); err != nil {
		return nil, "", err
	}
	if err := s.requireOf(ctx, actor, org, gatehouse.PermViewBilling); err != nil {
		return nil, "", err
	}
	objs, next, err := s.viewablePage(ctx, actor, gatehouse.TypeInvoice, org, limit, cursor)
	if err != nil {
		return nil, "", err
	}
	out := make([]Invoice, 0, len(objs))
	for _, o := range objs {
		labels, _, err := s.store.ReadRelationships(ctx, gatehouse.Filter{ResourceType: o.Type, ResourceID: o.ID, Relation: gatehouse.LabelRelation}, gatehouse.Consistency{})
		if err != nil {
			return nil, "", err
		}
		inv := Invoice{ID: o.ID, Organisation: org}
		for _, l := range labels {
			if m, err := gatehouse.DecodeLabel(l.Subject.Object); err == nil {
				inv.Amount, inv.Currency = m["amount"], m["currency"]
			}
		}
		out = append(out, inv)
	}
	return out, next, nil
}
