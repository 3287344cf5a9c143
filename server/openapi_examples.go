package server

import (
	"time"

	"github.com/gatehouse-authz/gatehouse/wire"
)

// example is a request and its answer, shown in /openapi.json; typed, so
// that an example cannot name a field the contract lacks.
type example struct{ req, resp any }

// tok is the ZedToken the examples show.
const tok = "GhUKEzE3NjQ1ODk2MDAwMDAwMDAwMDA="

var exampleCheck = wire.CheckRequest{Resource: "contractor:c1", Permission: "view", Subject: "user:alice"}

var exampleCR = wire.ChangeRequest{
	ID: "cr1", Organisation: "acme", Kind: "public_facing", Target: "page:pricing", Title: "New pricing page", Requester: "user:pat",
	Status: wire.StatusPending, Tier: "main_contact", Authorisers: []string{"user:mc"},
	ApprovalsNeeded: []string{"authorisation"}, AuthorisedBy: []string{}, ZedToken: tok,
}

// exampleDryRun is a dry run's answer (X7): removing carla from brightcis.
var exampleDryRun = wire.DryRun{
	DryRun:  true,
	Changes: []string{"delete organisation:brightcis#cis_processor@user:carla"},
	Effects: []wire.Effect{
		{Subject: "user:carla", Permission: "view", On: "contractor:c1", Change: "lost"},
		{Subject: "user:carla", Permission: "view", On: "contractor:c2", Change: "lost"},
		{Subject: "user:carla", Permission: "member", On: "organisation:brightcis", Change: "lost"},
	},
}

// examples are keyed by operationId.
// exampleCursor is what a cursor looks like: opaque, to be sent back as it is.
const exampleCursor = "eyJjIjoiLi4uIn0"

var examples = map[string]example{
	"check": {exampleCheck, wire.CheckResult{Allowed: true, ZedToken: tok}},
	"checkBulk": {
		wire.BulkCheckRequest{Items: []wire.CheckRequest{exampleCheck, {Resource: "contractor:c1", Permission: "view", Subject: "alice"}}},
		wire.BulkCheckResult{Results: []wire.BulkItem{
			{CheckResult: wire.CheckResult{Allowed: true}},
			{Error: &wire.ErrorDetail{Code: "invalid_argument", Message: `"alice" is not type:id`, Field: "items[1].subject"}},
		}, ZedToken: tok},
	},
	"lookupResources": {
		wire.LookupResourcesRequest{ResourceType: "contractor", Permission: "view", Subject: "user:alice", Limit: new(2)},
		wire.LookupResourcesResult{Resources: []string{"contractor:c1", "contractor:c2"}, Cursor: exampleCursor, ZedToken: tok},
	},
	"lookupSubjects": {
		wire.LookupSubjectsRequest{Resource: "organisation:acme", Permission: "manage_members", SubjectType: "user", Limit: new(100)},
		wire.LookupSubjectsResult{Subjects: []string{"user:alice", "user:sam"}, ZedToken: tok},
	},
	// A denial, with its why-not (X6): carla may not view the admin-only c3;
	// nina, an administrator until the end of January, may lift the flag
	// until then (T5).
	"explain": {wire.CheckRequest{Resource: "contractor:c3", Permission: "view", Subject: "user:carla"}, wire.Explanation{
		Allowed: false, Paths: [][]string{},
		WhyNot: []wire.WhyNotWay{
			{Via: "organisation->view_admin_only_contractors->manage_contractors->administrator", Missing: []wire.Missing{{
				Relationship: "organisation:brightcis#administrator@user:carla",
				Grantors: &wire.Grantors{
					Endpoint: "PUT /v1/organisations/brightcis/members/carla/roles/administrator", Permission: "manage_members",
					On: "organisation:brightcis", Subjects: []string{"user:olivia"},
				},
			}}},
			{Via: "organisation->view_unflagged_contractors->cis_processor", BlockedBy: []wire.BlockedBy{{
				Relation: "contractor:c3#admin_only", Rule: "K2", Reason: "the contractor is admin-only",
				Lift: &wire.Grantors{
					Endpoint: "PATCH /v1/contractors/c3", Permission: "manage_contractors", On: "organisation:brightcis",
					Subjects: []string{"user:adam", "user:nina", "user:olivia"}, Until: map[string]string{"user:nina": "2027-01-31T00:00:00Z"},
				},
			}}},
		},
		Summary:  "carla may not view contractor:c3: the contractor is admin-only (K2). carla would hold it with organisation:brightcis#administrator@user:carla, which olivia (manage_members on organisation:brightcis) may write through PUT /v1/organisations/brightcis/members/carla/roles/administrator.",
		ZedToken: tok,
	}},
	"reviewAccess": {nil, wire.AccessReview{Access: []wire.Access{
		{User: "user:adam", Permission: "manage_contractors", On: "organisation:brightcis", Via: []string{"organisation:brightcis#administrator@user:adam"}},
		{User: "user:carla", Permission: "view", On: "contractor:c1", Via: []string{"organisation:brightcis#cis_processor@user:carla"}, Until: new("2027-01-31T00:00:00Z")},
	}, Cursor: exampleCursor}},
	"memberAccess": {nil, wire.MemberAccess{User: "user:carla", Access: []wire.Access{
		{User: "user:carla", Permission: "view", On: "contractor:c1", Via: []string{"organisation:brightcis#cis_processor@user:carla"}},
	}, RecentChanges: []wire.AuditEvent{}}},
	"readSchema":        {nil, wire.Schema{Schema: "definition user {}"}},
	"readRelationships": {nil, wire.Relationships{Relationships: []string{"organisation:acme#owner@user:alice"}, ZedToken: tok}},
	"writeRelationships": {
		wire.WriteRelationshipsRequest{Touch: []string{"organisation:acme#administrator@user:bob"}, Reason: "joined the admin team"},
		wire.WriteResult{ZedToken: tok},
	},
	"listAudit": {nil, wire.AuditLog{Events: []wire.AuditEvent{{
		At: time.Date(2026, 1, 31, 9, 0, 0, 0, time.UTC), Actor: "user:alice", Key: "backend-1", Action: "grant_role", Organisation: "acme",
		Changes: []string{"TOUCH organisation:acme#administrator@user:bob"}, ZedToken: tok,
	}}}},
	"createOrganisation": {
		wire.CreateOrganisationRequest{ID: "acme", Name: "Acme Ltd"},
		wire.Organisation{ID: "acme", Name: "Acme Ltd", Owner: "user:alice", ZedToken: tok},
	},
	"getOrganisation":   {nil, wire.Organisation{ID: "acme", Name: "Acme Ltd", Owner: "user:alice", ZedToken: tok}},
	"transferOwnership": {wire.TransferOwnershipRequest{To: "user:bob", Reason: "alice retires"}, wire.Ownership{Owner: "user:bob", ZedToken: tok}},
	"listMembers": {nil, wire.Members{Members: []wire.Member{
		{User: "user:bob", Roles: []string{"administrator"}, Designations: []string{"main_contact"}},
		{User: "user:carla", Roles: []string{"cis_processor"}, Designations: []string{}, ExpiresAt: map[string]string{"cis_processor": "2027-01-31T00:00:00Z"}},
	}, ZedToken: tok}},
	"grantRole":        {wire.GrantRoleRequest{Reason: "contractor until the end of January", ExpiresAt: "2027-01-31T00:00:00Z"}, nil},
	"createContractor": {wire.CreateContractorRequest{ID: "c1", Name: "Northwind", AdminOnly: true}, wire.Contractor{ID: "c1", Name: "Northwind", AdminOnly: true, Organisation: "acme", ZedToken: tok}},
	"getContractor":    {nil, wire.Contractor{ID: "c1", Name: "Northwind", Organisation: "acme"}},
	"abilities": {nil, wire.Abilities{Object: "change_request:cr1", Permissions: map[string]bool{
		"view": true, "reject": true, "withdraw": false, "raise_flags": true, "override": false, "confirm_override": false,
	}, Actions: map[string]bool{
		"authoriseChangeRequest": true, "rejectChangeRequest": true, "withdrawChangeRequest": false,
		"raiseFlags": true, "overrideChangeRequest": false, "confirmOverride": false,
	}}},
	"patchContractor": {wire.ContractorPatch{AdminOnly: new(bool)}, wire.Contractor{ID: "c1", Name: "Northwind", Organisation: "acme", ZedToken: tok}},
	"createInvoice": {
		wire.CreateInvoiceRequest{ID: "inv1", Amount: "120.00", Currency: "GBP"},
		wire.Invoice{ID: "inv1", Amount: "120.00", Currency: "GBP", Organisation: "acme", ZedToken: tok},
	},
	"fileChangeRequest":      {wire.NewChangeRequest{Kind: "public_facing", Target: "page:pricing", Title: "New pricing page"}, exampleCR},
	"getChangeRequest":       {nil, exampleCR},
	"authoriseChangeRequest": {wire.AuthoriseRequest{Note: "checked with legal"}, exampleCR},
	"grantException": {
		wire.GrantExceptionRequest{User: "user:pat", Kind: "public_facing", Target: "page:pricing", ExpiresAt: "2027-01-31T00:00:00Z"},
		wire.Exception{Organisation: "acme", User: "user:pat", Kind: "public_facing", Target: "page:pricing", ExpiresAt: "2027-01-31T00:00:00Z", ZedToken: tok},
	},
	"editOrganisation":      {wire.EditOrganisationRequest{Name: "Acme Group Ltd"}, wire.Organisation{ID: "acme", Name: "Acme Group Ltd", Owner: "user:alice", ZedToken: tok}},
	"listChangeRequests":    {nil, wire.ChangeRequestList{ChangeRequests: []wire.ChangeRequest{exampleCR}}},
	"listExceptions":        {nil, wire.ExceptionList{Exceptions: []wire.ListedException{{User: "user:pat", Kind: "public_facing", Target: "page:pricing", ExpiresAt: "2027-01-31T00:00:00Z"}}}},
	"rejectChangeRequest":   {wire.RejectRequest{Reason: "not during the quarter close"}, exampleCR},
	"withdrawChangeRequest": {wire.WithdrawRequest{Reason: "no longer needed"}, exampleCR},
	"raiseFlags":            {wire.FlagsRequest{SubstantialCharge: true}, exampleCR},
	"overrideChangeRequest": {wire.OverrideRequest{Category: "outage", Reason: "main contact unreachable during a P1 outage"}, exampleCR},
	"confirmOverride":       {nil, exampleCR},
	"setAlwaysSubstantial":  {wire.SubstantialRequest{Security: true}, nil},
}
