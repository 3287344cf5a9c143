package gatehouse

import "strings"

// Which organisation a relationship belongs to (X2: each organisation's
// trail lists its own changes only). The schema ties objects to
// organisations in three ways, and attribution follows them:
//   - an organisation's own relationships (organisation:acme#...);
//   - ids scoped by the organisation ("<org>/..."): change kinds and targets;
//   - owned objects (contractors, invoices, change requests), whose
//     relation "organisation" names their organisation (K1, C*).

// ownedTypes are the object types that belong to an organisation through
// their relation "organisation".
var ownedTypes = map[string]bool{TypeContractor: true, TypeInvoice: true, TypeChangeRequest: true}

// scopedTypes are the object types whose id starts "<organisation>/".
var scopedTypes = map[string]bool{TypeChangeKind: true, TypeChangeTarget: true}

// Owned reports whether objects of type t belong to an organisation
// through their relation "organisation", so that attributing their
// relationships needs that relation read.
func Owned(t string) bool { return ownedTypes[t] }

// OwnerLink returns the organisation r names as its resource's owner, when
// r is an owned object's relation "organisation".
func OwnerLink(r Relationship) (string, bool) {
	if ownedTypes[r.Resource.Type] && r.Relation == RelOrganisation && r.Subject.Type == TypeOrganisation {
		return r.Subject.ID, true
	}
	return "", false
}

// OrganisationOf names the organisation the object o belongs to, given
// owners, the organisations of owned objects (read, or written beside it).
// "" is the platform: an object of no organisation (platform#staff), or an
// owned object whose organisation is unknown.
func OrganisationOf(o Object, owners map[Object]string) string {
	switch {
	case o.Type == TypeOrganisation:
		return o.ID
	case scopedTypes[o.Type]:
		if org, _, ok := strings.Cut(o.ID, "/"); ok {
			return org
		}
	case ownedTypes[o.Type]:
		return owners[o]
	}
	return ""
}

// Attribute splits the changed relationships of one write by the
// organisation each belongs to (OrganisationOf of its resource). A
// relationship that belongs to none is the platform's (""), unless the
// write's record names an organisation (declared): a write made for an
// organisation that touches an object it has not tied to one (yet) is
// that organisation's. The order of rels is kept within each organisation.
func Attribute(rels []Relationship, owners map[Object]string, declared string) map[string][]int {
	own := map[Object]string{}
	for o, org := range owners {
		own[o] = org
	}
	for _, r := range rels {
		if org, ok := OwnerLink(r); ok {
			own[r.Resource] = org
		}
	}
	out := map[string][]int{}
	for i, r := range rels {
		org := OrganisationOf(r.Resource, own)
		if org == "" && ownedTypes[r.Resource.Type] {
			org = declared
		}
		out[org] = append(out[org], i)
	}
	return out
}
