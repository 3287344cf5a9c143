// Package workflow holds the rules of domain.md that need more than one
// relationship, run by one Service over a gatehouse.Store (service.go).
// Service is the change request aggregate and composes the other
// concepts, each a type of its own in its own file, whose methods it
// promotes (svc.GrantRole is Roles.GrantRole). They share the write-guard
// kit (guard.go: permission checks, pins, write sets, retries).
//
// A change request is one aggregate (C1–C18): its state and evaluation in
// changerequest.go, which names where each C rule is decided; its filing
// in changerequest_filing.go and its other transitions (authorise, reject,
// withdraw, raise flags, override, confirm), each one load and one write,
// in changerequest_transitions.go; how a filing authorised as filed, and
// a transition that settles the request, stay one write in
// changerequest_onewrite.go; the standing they rest on in
// changerequest_standing.go; reading and listing in changerequest_lists.go;
// list paging in paging.go.
//
// Where each rule is decided (type, file):
//
//	O1 O2 O3 O4    Organisations, organisation.go
//	O5             Invoices, invoices.go (and the schema's manage_billing)
//	O6             Roles, roles.go
//	O7             Organisations, details.go
//	S1 S3 S5 S7    security, security.go (Roles.GrantRole hands it SA and ASA)
//	S2 S4 S6       Roles, roles.go (manage_members); the schema's permissions
//	R1–R6          the schema's permissions; Roles, roles.go, grants the roles
//	R7             Designations, designations.go; Organisations, organisation.go (transfer)
//	T1 T4          membership, membership.go (for Roles, security, Raw, Designations, Exceptions)
//	T2 T3 T5       Roles, roles.go
//	K1 K2 K3       Contractors, contractors.go
//	C1–C18         Service, the change request aggregate: changerequest*.go, mapped in changerequest.go
//	C6             Exceptions, exceptions.go (granting); the aggregate's standing (using)
//	C7 C9          Designations, designations.go (who marks and verifies); the aggregate's tiers
//	C15            Declarations, alwayssubstantial.go (always substantial); Service.RaiseFlags
//	X1             every read; Organisations.GetOrganisation, Contractors.Contractor
//	X2             every write's audit record, kit.write in guard.go; oneRecord in changerequest_onewrite.go
//	X3 X5          validID, validOrg, validText in service.go
//	X4             Raw, raw.go
//	X6             Service.WhyNot, whynot.go
//	platform reads Platform, platform.go: the check and relationship endpoints' reads; provider staff's lists
//	X7             Service.Over in service.go, over package dryrun's Store
//	access review  AccessReview, access.go
//
// Each workflow checks the actor's permission in SpiceDB before it writes,
// and holds its invariants with write preconditions, never a read followed
// by a write. It reaches SpiceDB only through gatehouse.Store.
//
// It imports the root package gatehouse (the vocabulary), the standard
// library, golang.org/x/text (ISO 4217 currency codes), package dryrun
// (whose stage weighs a transition that would write more than once in a
// scratch SpiceDB before it is made in one write, WithScratch), and, to explain a
// denial from the schema's own rules (whynot.go), the package schema and
// SpiceDB's schema compiler; nothing else: no HTTP, no gRPC, no SpiceDB
// client. The adapters at the edge import it: server (the HTTP API),
// console (the admin console) and cmd/gatehouse.
package workflow
