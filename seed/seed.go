// Package seed holds Gatehouse's demo data: three organisations, one for
// each policy document in ../shared/seeds, and the loader that writes them.
// It writes through a gatehouse.Store and imports only the root package;
// cmd/gatehouse (which loads it), console (its people, for the demo
// sign-in) and tests import it.
package seed

import (
	"context"
	"fmt"

	"github.com/gatehouse-authz/gatehouse"
)

// Provider staff and the three organisations. Loading touches every
// relationship, so loading twice changes nothing.
var relationships = []string{
	// The provider; stella is staff (verifies directors, files legal changes).
	"platform:provider#staff@user:stella",

	// brightcis (seed 004): a team with an owner, an administrator, a CIS
	// processor, a billing manager, contractors (one admin-only) and invoices.
	"organisation:brightcis#platform@platform:provider",
	"organisation:brightcis#owner@user:olivia",
	"organisation:brightcis#administrator@user:adam",
	"organisation:brightcis#cis_processor@user:carla",
	"organisation:brightcis#billing_manager@user:bill",
	"contractor:c1#organisation@organisation:brightcis",
	"contractor:c2#organisation@organisation:brightcis",
	"contractor:c3#organisation@organisation:brightcis",
	"invoice:inv1#organisation@organisation:brightcis",
	"invoice:inv2#organisation@organisation:brightcis",

	// acme (seed 000): a client account with an owner, SA, ASA, IT manager,
	// IT admin and finance admin.
	"organisation:acme#platform@platform:provider",
	"organisation:acme#owner@user:oscar",
	"organisation:acme#security_admin@user:sam",
	"organisation:acme#alternate_security_admin@user:alex",
	"organisation:acme#it_manager@user:ian",
	"organisation:acme#it_admin@user:ivy",
	"organisation:acme#finance_admin@user:fran",
	// vic is seed 003's "IT VIP with no access to financial information":
	// an IT manager designated no_financial_access (R7).
	"organisation:acme#it_manager@user:vic",
	"organisation:acme#no_financial_access@user:vic",
	"invoice:inv3#organisation@organisation:acme",

	// globex (seed 003): main, technical, finance and alternate contacts, a
	// verified and an unverified director, and a team member (pat) who files requests.
	// Designations are held only by team members (T4), so each director
	// also holds the least role there is: cis_processor, which opens only
	// contractors (globex has none). Seed 003 gives a director no access of
	// their own; they are only asked when every contact is unavailable (C8).
	"organisation:globex#platform@platform:provider",
	"organisation:globex#owner@user:grace",
	"organisation:globex#it_manager@user:mia",
	"organisation:globex#main_contact@user:mia",
	"organisation:globex#it_admin@user:tom",
	"organisation:globex#technical_contact@user:tom",
	"organisation:globex#finance_admin@user:fiona",
	"organisation:globex#finance_contact@user:fiona",
	"organisation:globex#administrator@user:alan",
	"organisation:globex#alternate_contact@user:alan",
	"organisation:globex#cis_processor@user:dora",
	"organisation:globex#director@user:dora",
	"organisation:globex#verified_director@user:dora",
	"organisation:globex#cis_processor@user:dan",
	"organisation:globex#director@user:dan",
	"organisation:globex#cis_processor@user:pat",

	// One change request in each status, written as the workflow writes
	// them (workflow.FileChangeRequest, Reject, Withdraw); each is
	// re-evaluated when read, so its status is derived, not stored.
	// Authorised: a standard request, authorised when filed (C3).
	"change_request:globex-cr-authorised#organisation@organisation:globex",
	"change_request:globex-cr-authorised#requester@user:pat",
	"change_request:globex-cr-authorised#kind@change_kind:globex/standard",
	"change_request:globex-cr-authorised#standard@organisation:globex",
	"change_request:globex-cr-authorised#authorised_by@user:pat",
	// Pending: a website page change waiting for mia or tom (C4).
	"change_request:globex-cr-pending#organisation@organisation:globex",
	"change_request:globex-cr-pending#requester@user:pat",
	"change_request:globex-cr-pending#kind@change_kind:globex/public_facing",
	"change_request:globex-cr-pending#public_facing@organisation:globex",
	"change_request:globex-cr-pending#target@change_target:globex/public_facing/page/pricing",
	// Blocked: acme names no contact and no verified director, so nobody
	// in any tier may authorise ivy's page change (C9).
	"change_request:acme-cr-blocked#organisation@organisation:acme",
	"change_request:acme-cr-blocked#requester@user:ivy",
	"change_request:acme-cr-blocked#kind@change_kind:acme/public_facing",
	"change_request:acme-cr-blocked#public_facing@organisation:acme",
	// Rejected by tom, the technical contact (C13).
	"change_request:globex-cr-rejected#organisation@organisation:globex",
	"change_request:globex-cr-rejected#requester@user:pat",
	"change_request:globex-cr-rejected#kind@change_kind:globex/public_facing",
	"change_request:globex-cr-rejected#public_facing@organisation:globex",
	"change_request:globex-cr-rejected#target@change_target:globex/public_facing/page/careers",
	"change_request:globex-cr-rejected#rejected_by@user:tom",
	// Withdrawn by its requester (C13). Both closed requests also carry the
	// closed@user:* flag, written below with the other wildcards.
	"change_request:globex-cr-withdrawn#organisation@organisation:globex",
	"change_request:globex-cr-withdrawn#requester@user:pat",
	"change_request:globex-cr-withdrawn#kind@change_kind:globex/service",
	"change_request:globex-cr-withdrawn#service@organisation:globex",
	"change_request:globex-cr-withdrawn#withdrawn_by@user:pat",
}

// labels give the demo objects their display names.
var labels = map[string]map[string]string{
	"organisation:brightcis": {"name": "BrightCIS Builders"},
	"organisation:acme":      {"name": "Acme Ltd"},
	"organisation:globex":    {"name": "Globex Corporation"},
	"contractor:c1":          {"name": "Northwind Joinery"},
	"contractor:c2":          {"name": "Harbour Plumbing"},
	"contractor:c3":          {"name": "Sentinel Security (admin-only)"},
	"invoice:inv1":           {"amount": "120.00", "currency": "GBP"},
	"invoice:inv2":           {"amount": "89.50", "currency": "GBP"},
	"invoice:inv3":           {"amount": "2400.00", "currency": "EUR"},
	// When and why the closed requests were closed, as workflow.Reject and
	// workflow.Withdraw label them.
	"change_request:globex-cr-rejected":  {"closedAt": "2026-01-15T09:30:00Z", "reason": "the careers page is being redesigned"},
	"change_request:globex-cr-withdrawn": {"closedAt": "2026-01-16T14:00:00Z", "reason": "no longer needed"},
}

// Relationships returns the demo relationships, labels included, in zed's notation.
func Relationships() ([]gatehouse.Relationship, error) {
	var out []gatehouse.Relationship
	for i, s := range relationships {
		r, err := gatehouse.ParseRelationship(fmt.Sprintf("seed[%d]", i), s)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	// K2: c3 is admin-only. The wildcard is written here, never accepted from a caller.
	out = append(out, gatehouse.Relationship{Resource: gatehouse.MustObject("contractor:c3"), Relation: "admin_only", Subject: gatehouse.Wildcard("user")})
	// C13: the closed flag, in the same write as rejected_by and withdrawn_by.
	for _, cr := range []string{"globex-cr-rejected", "globex-cr-withdrawn"} {
		out = append(out, gatehouse.Relationship{Resource: gatehouse.ChangeRequestRef(cr), Relation: gatehouse.RelClosed, Subject: gatehouse.Wildcard(gatehouse.TypeUser)})
	}
	// C14: the authorised request needs nothing more, so it awaits nobody.
	out = append(out, gatehouse.Relationship{Resource: gatehouse.ChangeRequestRef("globex-cr-authorised"), Relation: gatehouse.RelSettled, Subject: gatehouse.Wildcard(gatehouse.TypeUser)})
	for obj, data := range labels {
		l, err := gatehouse.EncodeLabel(data)
		if err != nil {
			return nil, err
		}
		out = append(out, gatehouse.Relationship{
			Resource: gatehouse.MustObject(obj), Relation: gatehouse.LabelRelation,
			Subject: gatehouse.Subject{Object: l},
		})
	}
	return out, nil
}

// Load touches the demo data in one atomic write.
func Load(ctx context.Context, store gatehouse.Store) error {
	rels, err := Relationships()
	if err != nil {
		return err
	}
	w := gatehouse.Write{Audit: gatehouse.Audit{Actor: "gatehouse", Action: "seed", Reason: "demo data"}}
	for _, r := range rels {
		w.Updates = append(w.Updates, gatehouse.Update{Op: gatehouse.Touch, Relationship: r})
	}
	_, err = store.Write(ctx, w)
	return err
}
