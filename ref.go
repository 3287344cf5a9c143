package gatehouse

import (
	"fmt"
	"strings"
	"time"
)

// The identifier rules of SpiceDB are checked here so that a bad reference
// is a 400 naming its field rather than an error from deep inside SpiceDB.
// They are SpiceDB's patterns, matched by hand (every check parses three
// names; a regexp cost 6% of a cached check's CPU); TestValidNames holds
// them to the patterns:
//
//	type      ^([a-z][a-z0-9_]{1,61}[a-z0-9]/)?[a-z][a-z0-9_]{1,62}[a-z0-9]$
//	id        ^[a-zA-Z0-9/_|\-=+]+$  (and at most 1024 bytes)
//	relation  ^[a-z][a-z0-9_]{1,62}[a-z0-9]$

// validName reports whether s is [a-z][a-z0-9_]{1,most-2}[a-z0-9].
func validName(s string, most int) bool {
	if len(s) < 3 || len(s) > most || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	if c := s[len(s)-1]; !lowerOrDigit(c) {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		if c := s[i]; !lowerOrDigit(c) && c != '_' {
			return false
		}
	}
	return true
}

func lowerOrDigit(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }

// idByte marks the bytes an object id may hold.
var idByte = func() (ok [256]bool) {
	for _, c := range []byte("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/_|-=+") {
		ok[c] = true
	}
	return ok
}()

// Object is a reference to one object, written type:id.
type Object struct {
	Type string
	ID   string
}

// String returns the type:id form.
func (o Object) String() string { return o.Type + ":" + o.ID }

// Subject is a reference to a subject, written type:id or type:id#relation.
type Subject struct {
	Object
	Relation string
}

// String returns the type:id or type:id#relation form.
func (s Subject) String() string {
	if s.Relation == "" {
		return s.Object.String()
	}
	return s.Object.String() + "#" + s.Relation
}

// User returns the subject user:id.
func User(id string) Subject { return Subject{Object: Object{Type: TypeUser, ID: id}} }

// OrganisationRef returns organisation:id.
func OrganisationRef(id string) Object { return Object{Type: TypeOrganisation, ID: id} }

// ContractorRef returns contractor:id.
func ContractorRef(id string) Object { return Object{Type: TypeContractor, ID: id} }

// InvoiceRef returns invoice:id.
func InvoiceRef(id string) Object { return Object{Type: TypeInvoice, ID: id} }

// ChangeRequestRef returns change_request:id.
func ChangeRequestRef(id string) Object { return Object{Type: TypeChangeRequest, ID: id} }

// ChangeKindRef returns the per-organisation kind that an exception names
// (C6): change_kind:<org>/<kind>.
func ChangeKindRef(org, kind string) Object {
	return Object{Type: TypeChangeKind, ID: org + "/" + kind}
}

// ChangeTargetRef returns the per-organisation target of one kind that an
// exception names (C6): change_target:<org>/<kind>/<type>/<id> for the
// target type:id, which must hold no '/'.
func ChangeTargetRef(org, kind, target string) Object {
	typ, id, _ := strings.Cut(target, ":")
	return Object{Type: TypeChangeTarget, ID: org + "/" + kind + "/" + typ + "/" + id}
}

// Wildcard returns the subject type:*, everyone of that type. Only Gatehouse
// itself writes it (the admin-only flag, K2); callers never may.
func Wildcard(typ string) Subject { return Subject{Object: Object{Type: typ, ID: "*"}} }

// Relationship is one relationship, written resource#relation@subject, with
// an optional expiry (SpiceDB relationship expiration).
type Relationship struct {
	Resource  Object
	Relation  string
	Subject   Subject
	ExpiresAt *time.Time
}

// String returns zed's notation, with [expiration:...] when it expires.
func (r Relationship) String() string {
	s := r.Resource.String() + "#" + r.Relation + "@" + r.Subject.String()
	if r.ExpiresAt != nil {
		s += "[expiration:" + r.ExpiresAt.UTC().Format(time.RFC3339) + "]"
	}
	return s
}

// ValidType reports whether t is a valid SpiceDB object type name.
func ValidType(t string) bool {
	prefix, name, ok := strings.Cut(t, "/")
	if !ok {
		return validName(t, 64)
	}
	return validName(prefix, 63) && validName(name, 64)
}

// ValidID reports whether id is a valid object id. The wildcard "*" is not:
// a caller never supplies it, since it would grant everyone.
func ValidID(id string) bool {
	if id == "" || len(id) > 1024 {
		return false
	}
	for i := range len(id) {
		if !idByte[id[i]] {
			return false
		}
	}
	return true
}

// ValidRelation reports whether r is a valid relation or permission name.
func ValidRelation(r string) bool { return validName(r, 64) }

// ParseObject parses type:id; field names the input in errors.
func ParseObject(field, s string) (Object, error) {
	typ, id, ok := strings.Cut(s, ":")
	if !ok {
		return Object{}, Invalid(field, "%q is not an object reference of the form type:id", s)
	}
	if !ValidType(typ) {
		return Object{}, Invalid(field, "%q: object type %q is not a valid type name", s, typ)
	}
	if id == "*" {
		return Object{}, Invalid(field, "%q: the wildcard id * is never accepted", s)
	}
	if !ValidID(id) {
		return Object{}, Invalid(field, "%q: object id %q may contain only letters, digits and /_|-=+ (at most 1024)", s, id)
	}
	return Object{Type: typ, ID: id}, nil
}

// ParseSubject parses type:id or type:id#relation; field names the input in errors.
func ParseSubject(field, s string) (Subject, error) {
	obj, rel, hasRel := strings.Cut(s, "#")
	o, err := ParseObject(field, obj)
	if err != nil {
		return Subject{}, err
	}
	if hasRel && !ValidRelation(rel) {
		return Subject{}, Invalid(field, "%q: subject relation %q is not a valid relation name", s, rel)
	}
	return Subject{Object: o, Relation: rel}, nil
}

// ParseRelationship parses resource#relation@subject, with an optional
// [expiration:RFC3339] suffix; field names the input in errors.
func ParseRelationship(field, s string) (Relationship, error) {
	body := s
	var expires *time.Time
	if i := strings.IndexByte(s, '['); i >= 0 {
		suffix, ok := strings.CutSuffix(s[i:], "]")
		if !ok {
			return Relationship{}, Invalid(field, "%q: unterminated [expiration:...] suffix", s)
		}
		v, ok := strings.CutPrefix(suffix, "[expiration:")
		if !ok {
			return Relationship{}, Invalid(field, "%q: only an [expiration:RFC3339] suffix is accepted", s)
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return Relationship{}, Invalid(field, "%q: expiration %q is not an RFC 3339 time", s, v)
		}
		expires = &t
		body = s[:i]
	}
	res, subj, ok := strings.Cut(body, "@")
	if !ok {
		return Relationship{}, Invalid(field, "%q is not a relationship of the form resource#relation@subject", s)
	}
	resObj, rel, ok := strings.Cut(res, "#")
	if !ok {
		return Relationship{}, Invalid(field, "%q: the resource must name a relation (resource#relation@subject)", s)
	}
	o, err := ParseObject(field, resObj)
	if err != nil {
		return Relationship{}, err
	}
	if !ValidRelation(rel) {
		return Relationship{}, Invalid(field, "%q: relation %q is not a valid relation name", s, rel)
	}
	sub, err := ParseSubject(field, subj)
	if err != nil {
		return Relationship{}, err
	}
	return Relationship{Resource: o, Relation: rel, Subject: sub, ExpiresAt: expires}, nil
}

// MustObject parses type:id and panics on error; for literals in code and tests.
func MustObject(s string) Object {
	o, err := ParseObject("object", s)
	if err != nil {
		panic(fmt.Sprintf("gatehouse.MustObject(%q): %v", s, err))
	}
	return o
}
