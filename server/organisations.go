package server

import (
	"context"
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/wire"
	"github.com/gatehouse-authz/gatehouse/workflow"
)

func organisation(o workflow.Organisation) wire.Organisation {
	return wire.Organisation{ID: o.ID, Name: o.Name, Owner: o.Owner.String(), ZedToken: o.ZedToken}
}

// handleCreateOrganisation serves POST /v1/organisations.
func handleCreateOrganisation(d Deps) op[wire.CreateOrganisationRequest, wire.Organisation] {
	return func(ctx context.Context, in In[wire.CreateOrganisationRequest]) (wire.Organisation, error) {
		// Gatehouse composes ids from organisation ids with "/" (X5).
		if strings.Contains(in.Body.ID, "/") {
			return wire.Organisation{}, gatehouse.Invalid("id", "an organisation id may not contain \"/\" (X5)")
		}
		o, err := d.Workflow.CreateOrganisation(ctx, in.Actor, in.Body.ID, in.Body.Name)
		return organisation(o), err
	}
}

// handleGetOrganisation serves GET /v1/organisations/{org}.
func handleGetOrganisation(d Deps) op[none, wire.Organisation] {
	return func(ctx context.Context, in In[none]) (wire.Organisation, error) {
		o, err := d.Workflow.GetOrganisation(ctx, in.Actor, in.Path("org"))
		return organisation(o), err
	}
}

// handleEditOrganisation serves PATCH /v1/organisations/{org} (O7).
func handleEditOrganisation(d Deps) op[wire.EditOrganisationRequest, wire.Organisation] {
	return func(ctx context.Context, in In[wire.EditOrganisationRequest]) (wire.Organisation, error) {
		o, err := d.Workflow.EditOrganisation(ctx, in.Actor, in.Path("org"), in.Body.Name)
		return organisation(o), err
	}
}

// handleDeleteOrganisation serves DELETE /v1/organisations/{org}.
func handleDeleteOrganisation(d Deps) op[wire.ReasonRequest, written] {
	return func(ctx context.Context, in In[wire.ReasonRequest]) (written, error) {
		tok, err := d.Workflow.DeleteOrganisation(ctx, in.Actor, in.Path("org"), in.Body.Reason)
		return written{tok}, err
	}
}

// handleTransferOwnership serves POST /v1/organisations/{org}/transfer-ownership.
func handleTransferOwnership(d Deps) op[wire.TransferOwnershipRequest, wire.Ownership] {
	return func(ctx context.Context, in In[wire.TransferOwnershipRequest]) (wire.Ownership, error) {
		to, err := subject("to", in.Body.To)
		if err != nil {
			return wire.Ownership{}, err
		}
		tok, err := d.Workflow.TransferOwnership(ctx, in.Actor, in.Path("org"), to, in.Body.Reason)
		return wire.Ownership{Owner: to.String(), ZedToken: tok}, err
	}
}

// handleListMembers serves GET /v1/organisations/{org}/members.
func handleListMembers(d Deps) op[none, wire.Members] {
	return func(ctx context.Context, in In[none]) (wire.Members, error) {
		ms, tok, err := d.Workflow.Members(ctx, in.Actor, in.Path("org"))
		out := wire.Members{Members: make([]wire.Member, len(ms)), ZedToken: tok}
		for i, m := range ms {
			out.Members[i] = wire.Member{User: m.User.String(), Roles: nonNil(m.Roles), Designations: nonNil(m.Designations)}
			for role, at := range m.ExpiresAt {
				if out.Members[i].ExpiresAt == nil {
					out.Members[i].ExpiresAt = map[string]string{}
				}
				out.Members[i].ExpiresAt[role] = at.UTC().Format(time.RFC3339)
			}
		}
		return out, err
	}
}

// nonNil answers an empty list as [], never null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// handleGrantRole serves PUT /v1/organisations/{org}/members/{user}/roles/{role}.
func handleGrantRole(d Deps) op[wire.GrantRoleRequest, written] {
	return func(ctx context.Context, in In[wire.GrantRoleRequest]) (written, error) {
		g := workflow.RoleGrant{
			Org: in.Path("org"), User: in.User("user"), Role: in.Path("role"),
			PreviousBecomesAlternate: in.Bool("previousBecomesAlternate"), Reason: in.Body.Reason,
		}
		if in.Body.RequestedBy != "" {
			rb, err := gatehouse.ParseSubject("requestedBy", in.Body.RequestedBy)
			if err != nil {
				return written{}, err
			}
			if rb.Type != "user" || rb.Relation != "" {
				return written{}, gatehouse.Invalid("requestedBy", "requestedBy must be a user (user:<id>)")
			}
			g.RequestedBy = &rb
		}
		if in.Body.ExpiresAt != "" {
			t, err := time.Parse(time.RFC3339, in.Body.ExpiresAt)
			if err != nil {
				return written{}, gatehouse.Invalid("expiresAt", "expiresAt %q is not an RFC 3339 time", in.Body.ExpiresAt)
			}
			g.ExpiresAt = &t
		}
		tok, err := d.Workflow.GrantRole(ctx, in.Actor, g)
		return written{tok}, err
	}
}

// handleRevokeRole serves DELETE /v1/organisations/{org}/members/{user}/roles/{role}.
func handleRevokeRole(d Deps) op[wire.ReasonRequest, written] {
	return func(ctx context.Context, in In[wire.ReasonRequest]) (written, error) {
		tok, err := d.Workflow.RevokeRole(ctx, in.Actor, in.Path("org"), in.User("user"), in.Path("role"), in.Body.Reason)
		return written{tok}, err
	}
}

// handleRemoveMember serves DELETE /v1/organisations/{org}/members/{user}.
func handleRemoveMember(d Deps) op[wire.ReasonRequest, written] {
	return func(ctx context.Context, in In[wire.ReasonRequest]) (written, error) {
		tok, err := d.Workflow.RemoveMember(ctx, in.Actor, in.Path("org"), in.User("user"), in.Body.Reason)
		return written{tok}, err
	}
}

// handleSetDesignation serves PUT /v1/organisations/{org}/members/{user}/designations/{designation}.
func handleSetDesignation(d Deps) op[wire.DesignationRequest, written] {
	return func(ctx context.Context, in In[wire.DesignationRequest]) (written, error) {
		tok, err := d.Workflow.SetDesignation(ctx, in.Actor, in.Path("org"), in.User("user"), in.Path("designation"), in.Body.Reason)
		return written{tok}, err
	}
}

// handleUnsetDesignation serves DELETE /v1/organisations/{org}/members/{user}/designations/{designation}.
func handleUnsetDesignation(d Deps) op[wire.DesignationRequest, written] {
	return func(ctx context.Context, in In[wire.DesignationRequest]) (written, error) {
		tok, err := d.Workflow.UnsetDesignation(ctx, in.Actor, in.Path("org"), in.User("user"), in.Path("designation"), in.Body.Reason)
		return written{tok}, err
	}
}

func contractor(k workflow.Contractor) wire.Contractor {
	return wire.Contractor{ID: k.ID, Name: k.Name, AdminOnly: k.AdminOnly, Organisation: k.Organisation, ZedToken: k.ZedToken}
}

// handleCreateContractor serves POST /v1/organisations/{org}/contractors.
func handleCreateContractor(d Deps) op[wire.CreateContractorRequest, wire.Contractor] {
	return func(ctx context.Context, in In[wire.CreateContractorRequest]) (wire.Contractor, error) {
		b := in.Body
		k, err := d.Workflow.CreateContractor(ctx, in.Actor, in.Path("org"), workflow.Contractor{ID: b.ID, Name: b.Name, AdminOnly: b.AdminOnly})
		return contractor(k), err
	}
}

// handlePatchContractor serves PATCH /v1/contractors/{id}.
func handlePatchContractor(d Deps) op[wire.ContractorPatch, wire.Contractor] {
	return func(ctx context.Context, in In[wire.ContractorPatch]) (wire.Contractor, error) {
		k, err := d.Workflow.PatchContractor(ctx, in.Actor, in.Path("id"), workflow.ContractorPatch{Name: in.Body.Name, AdminOnly: in.Body.AdminOnly})
		return contractor(k), err
	}
}

// handleGetContractor serves GET /v1/contractors/{id}.
func handleGetContractor(d Deps) op[none, wire.Contractor] {
	return func(ctx context.Context, in In[none]) (wire.Contractor, error) {
		k, err := d.Workflow.Contractor(ctx, in.Actor, in.Path("id"))
		return contractor(k), err
	}
}

// handleAbilities serves GET /v1/abilities?object=type:id.
func handleAbilities(d Deps) op[none, wire.Abilities] {
	return func(ctx context.Context, in In[none]) (wire.Abilities, error) {
		obj, err := gatehouse.ParseObject("object", in.Query("object"))
		if err != nil {
			return wire.Abilities{}, err
		}
		ab, err := d.Workflow.Abilities(ctx, in.Actor, obj)
		if err != nil {
			return wire.Abilities{}, err
		}
		return wire.Abilities{Object: ab.Object.String(), Permissions: ab.Permissions, Actions: ab.Actions}, nil
	}
}

// handleDeleteContractor serves DELETE /v1/contractors/{id}.
func handleDeleteContractor(d Deps) op[wire.ReasonRequest, written] {
	return func(ctx context.Context, in In[wire.ReasonRequest]) (written, error) {
		tok, err := d.Workflow.DeleteContractor(ctx, in.Actor, in.Path("id"), in.Body.Reason)
		return written{tok}, err
	}
}

// handleCreateInvoice serves POST /v1/organisations/{org}/invoices.
func handleCreateInvoice(d Deps) op[wire.CreateInvoiceRequest, wire.Invoice] {
	return func(ctx context.Context, in In[wire.CreateInvoiceRequest]) (wire.Invoice, error) {
		b := in.Body
		inv, err := d.Workflow.CreateInvoice(ctx, in.Actor, in.Path("org"), workflow.Invoice{ID: b.ID, Amount: b.Amount, Currency: b.Currency})
		return wire.Invoice{ID: inv.ID, Amount: inv.Amount, Currency: inv.Currency, Organisation: inv.Organisation, ZedToken: inv.ZedToken}, err
	}
}
