package server

import (
	"bytes"
	"io"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/workflow"
)

// zedTokenHeader carries the ZedToken of a write answered 204, which has no body.
const zedTokenHeader = "Gatehouse-Zed-Token"

// noContent answers 204 with the write's ZedToken in a header.
func noContent(c *gin.Context, tok string) {
	if tok != "" {
		c.Header(zedTokenHeader, tok)
	}
	c.Status(http.StatusNoContent)
}

// decodeOptional decodes a JSON body into v when there is one; an empty body leaves v as it is.
func decodeOptional(c *gin.Context, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxBody))
	if err != nil {
		// decode meets the same error again and reports it in its words.
		c.Request.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), errReader{err}))
		return decode(c, v)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	c.Request.Body = io.NopCloser(bytes.NewReader(body))
	return decode(c, v)
}

// errReader fails every read with err.
type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// onlyQuery refuses query parameters other than allowed, naming the first.
func onlyQuery(c *gin.Context, allowed ...string) error {
	for k := range c.Request.URL.Query() {
		ok := false
		for _, a := range allowed {
			ok = ok || k == a
		}
		if !ok {
			return gatehouse.Invalid(k, "unknown query parameter %q", k)
		}
	}
	return nil
}

// OrganisationBody creates an organisation.
type OrganisationBody struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// OrganisationAnswer is an organisation: its id, name and owner (user:<id>).
type OrganisationAnswer struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Owner    string `json:"owner"`
	ZedToken string `json:"zedToken,omitempty"`
}

func organisationAnswer(o workflow.Organisation) OrganisationAnswer {
	return OrganisationAnswer{ID: o.ID, Name: o.Name, Owner: o.Owner.String(), ZedToken: o.ZedToken}
}

// handleCreateOrganisation serves POST /v1/organisations.
func handleCreateOrganisation(d Deps) gin.HandlerFunc {
	return func(c *gin.Context) {
		actor, err := requireActor(c)
		if err != nil {
			_ = c.Error(err)
			return
		}
		var b OrganisationBody
		if err := decode(c, &b); err != nil {
			_ = c.Error(err)
			return
		}
		o, err := d.Workflow.CreateOrganisation(c, actor, b.ID, b.Name)
		if err != nil {
			_ = c.Error(err)
			return
		}
		c.Header("Location", "/v1/organisations/"+o.ID)
		c.JSON(http.StatusCreated, organisationAnswer(o))
	}
}

// handleGetOrganisation serves GET /v1/organisations/{org}.
func handleGetOrganisation(d Deps) gin.HandlerFunc {
	return func(c *gin.Context) {
		actor, err := requireActor(c)
		if err != nil {
			_ = c.Error(err)
			return
		}
		o, err := d.Workflow.GetOrganisation(c, actor, c.Param("org"))
		if err != nil {
			_ = c.Error(err)
			return
		}
		c.JSON(http.StatusOK, organisationAnswer(o))
	}
}

// handleDeleteOrganisation serves DELETE /v1/organisations/{org}.
func handleDeleteOrganisation(d Deps) gin.HandlerFunc {
	return func(c *gin.Context) {
		actor, err := requireActor(c)
		if err != nil {
			_ = c.Error(err)
			return
		}
		tok, err := d.Workflow.DeleteOrganisation(c, actor, c.Param("org"))
		if err != nil {
			_ = c.Error(err)
			return
		}
		noContent(c, tok)
	}
}

// TransferBody names the new owner, a current team member, and why.
type TransferBody struct {
	To     string `json:"to"`
	Reason string `json:"reason,omitempty"`
}

// OwnershipAnswer names the owner after a transfer.
type OwnershipAnswer struct {
	Owner    string `json:"owner"`
	ZedToken string `json:"zedToken,omitempty"`
}

// handleTransferOwnership serves POST /v1/organisations/{org}/transfer-ownership.
func handleTransferOwnership(d Deps) gin.HandlerFunc {
	return func(c *gin.Context) {
		actor, err := requireActor(c)
		if err != nil {
			_ = c.Error(err)
			return
		}
		var b TransferBody
		if err := decode(c, &b); err != nil {
			_ = c.Error(err)
			return
		}
		if err := required("to", b.To); err != nil {
			_ = c.Error(err)
			return
		}
		to, err := gatehouse.ParseSubject("to", b.To)
		if err != nil {
			_ = c.Error(err)
			return
		}
		tok, err := d.Workflow.TransferOwnership(c, actor, c.Param("org"), to, b.Reason)
		if err != nil {
			_ = c.Error(err)
			return
		}
		c.JSON(http.StatusOK, OwnershipAnswer{Owner: to.String(), ZedToken: tok})
	}
}

// MemberJSON is one person on the team with the roles and designations they hold, each sorted.
type MemberJSON struct {
	User         string   `json:"user"`
	Roles        []string `json:"roles"`
	Designations []string `json:"designations"`
}

// MembersAnswer lists the team, sorted by user.
type MembersAnswer struct {
	Members  []MemberJSON `json:"members"`
	ZedToken string       `json:"zedToken,omitempty"`
}

// handleListMembers serves GET /v1/organisations/{org}/members.
func handleListMembers(d Deps) gin.HandlerFunc {
	return func(c *gin.Context) {
		actor, err := requireActor(c)
		if err != nil {
			_ = c.Error(err)
			return
		}
		ms, tok, err := d.Workflow.Members(c, actor, c.Param("org"))
		if err != nil {
			_ = c.Error(err)
			return
		}
		out := MembersAnswer{Members: make([]MemberJSON, len(ms)), ZedToken: tok}
		for i, m := range ms {
			out.Members[i] = MemberJSON{User: m.User.String(), Roles: m.Roles, Designations: m.Designations}
		}
		c.JSON(http.StatusOK, out)
	}
}

// GrantBody is the optional body of a role grant: the reason for the audit
// trail and, when provider staff delegate a security admin because SA and
// ASA are both unavailable, the verified director who asked (S7).
type GrantBody struct {
	Reason      string `json:"reason,omitempty"`
	RequestedBy string `json:"requestedBy,omitempty"`
}

// handleGrantRole serves PUT /v1/organisations/{org}/members/{user}/roles/{role}.
func handleGrantRole(d Deps) gin.HandlerFunc {
	return func(c *gin.Context) {
		actor, err := requireActor(c)
		if err != nil {
			_ = c.Error(err)
			return
		}
		if err := onlyQuery(c, "previousBecomesAlternate"); err != nil {
			_ = c.Error(err)
			return
		}
		g := workflow.RoleGrant{Org: c.Param("org"), User: gatehouse.User(c.Param("user")), Role: c.Param("role")}
		if v, ok := c.GetQuery("previousBecomesAlternate"); ok {
			if g.PreviousBecomesAlternate, err = strconv.ParseBool(v); err != nil {
				_ = c.Error(gatehouse.Invalid("previousBecomesAlternate", "previousBecomesAlternate must be true or false"))
				return
			}
		}
		var b GrantBody
		if err := decodeOptional(c, &b); err != nil {
			_ = c.Error(err)
			return
		}
		g.Reason = b.Reason
		if b.RequestedBy != "" {
			rb, err := gatehouse.ParseSubject("requestedBy", b.RequestedBy)
			if err != nil {
				_ = c.Error(err)
				return
			}
			if rb.Type != "user" || rb.Relation != "" {
				_ = c.Error(gatehouse.Invalid("requestedBy", "requestedBy must be a user (user:<id>)"))
				return
			}
			g.RequestedBy = &rb
		}
		tok, err := d.Workflow.GrantRole(c, actor, g)
		if err != nil {
			_ = c.Error(err)
			return
		}
		noContent(c, tok)
	}
}

// handleRevokeRole serves DELETE /v1/organisations/{org}/members/{user}/roles/{role}.
func handleRevokeRole(d Deps) gin.HandlerFunc {
	return func(c *gin.Context) {
		actor, err := requireActor(c)
		if err != nil {
			_ = c.Error(err)
			return
		}
		tok, err := d.Workflow.RevokeRole(c, actor, c.Param("org"), gatehouse.User(c.Param("user")), c.Param("role"))
		if err != nil {
			_ = c.Error(err)
			return
		}
		noContent(c, tok)
	}
}

// handleRemoveMember serves DELETE /v1/organisations/{org}/members/{user}.
func handleRemoveMember(d Deps) gin.HandlerFunc {
	return func(c *gin.Context) {
		actor, err := requireActor(c)
		if err != nil {
			_ = c.Error(err)
			return
		}
		tok, err := d.Workflow.RemoveMember(c, actor, c.Param("org"), gatehouse.User(c.Param("user")))
		if err != nil {
			_ = c.Error(err)
			return
		}
		noContent(c, tok)
	}
}

// handleSetDesignation serves PUT /v1/organisations/{org}/members/{user}/designations/{designation}.
func handleSetDesignation(d Deps) gin.HandlerFunc {
	return func(c *gin.Context) {
		actor, err := requireActor(c)
		if err != nil {
			_ = c.Error(err)
			return
		}
		// Bridge until the typed handler passes the body's optional reason:
		// workflow.SetDesignation now requires one for verified_director and
		// unavailable_contact, which this handler does not read yet.
		tok, err := d.Workflow.SetDesignation(c, actor, c.Param("org"), gatehouse.User(c.Param("user")), c.Param("designation"), "given through the HTTP API, which passed no reason")
		if err != nil {
			_ = c.Error(err)
			return
		}
		noContent(c, tok)
	}
}

// handleUnsetDesignation serves DELETE /v1/organisations/{org}/members/{user}/designations/{designation}.
func handleUnsetDesignation(d Deps) gin.HandlerFunc {
	return func(c *gin.Context) {
		actor, err := requireActor(c)
		if err != nil {
			_ = c.Error(err)
			return
		}
		tok, err := d.Workflow.UnsetDesignation(c, actor, c.Param("org"), gatehouse.User(c.Param("user")), c.Param("designation"), "")
		if err != nil {
			_ = c.Error(err)
			return
		}
		noContent(c, tok)
	}
}

// ContractorBody creates a contractor; adminOnly hides it from all but owner, SA, ASA and administrators (K2).
type ContractorBody struct {
	ID        string `json:"id"`
	Name      string `json:"name,omitempty"`
	AdminOnly bool   `json:"adminOnly,omitempty"`
}

// ContractorPatchBody changes the fields that are present.
type ContractorPatchBody struct {
	Name      *string `json:"name,omitempty"`
	AdminOnly *bool   `json:"adminOnly,omitempty"`
}

// ContractorAnswer is a contractor and the organisation it belongs to (K1).
type ContractorAnswer struct {
	ID           string `json:"id"`
	Name         string `json:"name,omitempty"`
	AdminOnly    bool   `json:"adminOnly"`
	Organisation string `json:"organisation"`
	ZedToken     string `json:"zedToken,omitempty"`
}

func contractorAnswer(k workflow.Contractor) ContractorAnswer {
	return ContractorAnswer{ID: k.ID, Name: k.Name, AdminOnly: k.AdminOnly, Organisation: k.Organisation, ZedToken: k.ZedToken}
}

// handleCreateContractor serves POST /v1/organisations/{org}/contractors.
func handleCreateContractor(d Deps) gin.HandlerFunc {
	return func(c *gin.Context) {
		actor, err := requireActor(c)
		if err != nil {
			_ = c.Error(err)
			return
		}
		var b ContractorBody
		if err := decode(c, &b); err != nil {
			_ = c.Error(err)
			return
		}
		k, err := d.Workflow.CreateContractor(c, actor, c.Param("org"), workflow.Contractor{ID: b.ID, Name: b.Name, AdminOnly: b.AdminOnly})
		if err != nil {
			_ = c.Error(err)
			return
		}
		c.Header("Location", "/v1/contractors/"+k.ID)
		c.JSON(http.StatusCreated, contractorAnswer(k))
	}
}

// handlePatchContractor serves PATCH /v1/contractors/{id}.
func handlePatchContractor(d Deps) gin.HandlerFunc {
	return func(c *gin.Context) {
		actor, err := requireActor(c)
		if err != nil {
			_ = c.Error(err)
			return
		}
		var b ContractorPatchBody
		if err := decode(c, &b); err != nil {
			_ = c.Error(err)
			return
		}
		k, err := d.Workflow.PatchContractor(c, actor, c.Param("id"), workflow.ContractorPatch{Name: b.Name, AdminOnly: b.AdminOnly})
		if err != nil {
			_ = c.Error(err)
			return
		}
		c.JSON(http.StatusOK, contractorAnswer(k))
	}
}

// handleDeleteContractor serves DELETE /v1/contractors/{id}.
func handleDeleteContractor(d Deps) gin.HandlerFunc {
	return func(c *gin.Context) {
		actor, err := requireActor(c)
		if err != nil {
			_ = c.Error(err)
			return
		}
		tok, err := d.Workflow.DeleteContractor(c, actor, c.Param("id"))
		if err != nil {
			_ = c.Error(err)
			return
		}
		noContent(c, tok)
	}
}

// InvoiceBody creates an invoice: amount a decimal string, currency an ISO 4217 code.
type InvoiceBody struct {
	ID       string `json:"id"`
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
}

// InvoiceAnswer is an invoice and the organisation it belongs to.
type InvoiceAnswer struct {
	ID           string `json:"id"`
	Amount       string `json:"amount"`
	Currency     string `json:"currency"`
	Organisation string `json:"organisation"`
	ZedToken     string `json:"zedToken,omitempty"`
}

// handleCreateInvoice serves POST /v1/organisations/{org}/invoices.
func handleCreateInvoice(d Deps) gin.HandlerFunc {
	return func(c *gin.Context) {
		actor, err := requireActor(c)
		if err != nil {
			_ = c.Error(err)
			return
		}
		var b InvoiceBody
		if err := decode(c, &b); err != nil {
			_ = c.Error(err)
			return
		}
		inv, err := d.Workflow.CreateInvoice(c, actor, c.Param("org"), workflow.Invoice{ID: b.ID, Amount: b.Amount, Currency: b.Currency})
		if err != nil {
			_ = c.Error(err)
			return
		}
		c.JSON(http.StatusCreated, InvoiceAnswer{ID: inv.ID, Amount: inv.Amount, Currency: inv.Currency, Organisation: inv.Organisation, ZedToken: inv.ZedToken})
	}
}
