package server

import (
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/workflow"
)

// FileChangeRequestBody is a change request as filed (C1, C2, C10-C12).
type FileChangeRequestBody struct {
	ID                  string `json:"id"`
	Kind                string `json:"kind"`
	Target              string `json:"target,omitempty"`
	SubstantialSecurity bool   `json:"substantialSecurity,omitempty"`
	SubstantialCharge   bool   `json:"substantialCharge,omitempty"`
	// LegalReason marks a legally mandated change; only provider staff may give one (C12).
	LegalReason *string `json:"legalReason,omitempty"`
}

// ChangeRequestAnswer is the state of a change request, derived from
// SpiceDB when asked. Authorisers are who may give what is needed now: the
// current tier's users while authorisation is needed, then the approvers of
// the approvals still needed (tier "none"). BlockedOn names what nobody may give.
type ChangeRequestAnswer struct {
	ID                  string   `json:"id"`
	Organisation        string   `json:"organisation"`
	Kind                string   `json:"kind"`
	Target              string   `json:"target,omitempty"`
	Requester           string   `json:"requester"`
	SubstantialSecurity bool     `json:"substantialSecurity"`
	SubstantialCharge   bool     `json:"substantialCharge"`
	LegalMandate        bool     `json:"legalMandate"`
	Status              string   `json:"status"`
	Tier                string   `json:"tier"`
	Authorisers         []string `json:"authorisers"`
	ApprovalsNeeded     []string `json:"approvalsNeeded"`
	BlockedOn           []string `json:"blockedOn,omitempty"`
	AuthorisedBy        []string `json:"authorisedBy"`
	SecurityApprovedBy  []string `json:"securityApprovedBy,omitempty"`
	ChargeApprovedBy    []string `json:"chargeApprovedBy,omitempty"`
	ZedToken            string   `json:"zedToken"`
}

func subjects(in []gatehouse.Subject) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = s.String()
	}
	return out
}

func changeRequestAnswer(cr workflow.ChangeRequest) ChangeRequestAnswer {
	needed := cr.ApprovalsNeeded
	if needed == nil {
		needed = []string{}
	}
	return ChangeRequestAnswer{
		ID: cr.ID, Organisation: cr.Organisation, Kind: cr.Kind, Target: cr.Target, Requester: cr.Requester.String(),
		SubstantialSecurity: cr.SubstantialSecurity, SubstantialCharge: cr.SubstantialCharge, LegalMandate: cr.LegalMandate,
		Status: cr.Status, Tier: cr.Tier, Authorisers: subjects(cr.Authorisers), ApprovalsNeeded: needed, BlockedOn: cr.BlockedOn,
		AuthorisedBy: subjects(cr.AuthorisedBy), SecurityApprovedBy: subjects(cr.SecurityApprovedBy), ChargeApprovedBy: subjects(cr.ChargeApprovedBy),
		ZedToken: cr.ZedToken,
	}
}

// handleFileChangeRequest serves POST /v1/organisations/{org}/change-requests.
func handleFileChangeRequest(d Deps) gin.HandlerFunc {
	return func(c *gin.Context) {
		actor, err := requireActor(c)
		if err != nil {
			_ = c.Error(err)
			return
		}
		var b FileChangeRequestBody
		if err := decode(c, &b); err != nil {
			_ = c.Error(err)
			return
		}
		req := workflow.NewChangeRequest{
			ID: b.ID, Organisation: c.Param("org"), Kind: b.Kind, Target: b.Target,
			SubstantialSecurity: b.SubstantialSecurity, SubstantialCharge: b.SubstantialCharge,
		}
		if b.LegalReason != nil {
			if strings.TrimSpace(*b.LegalReason) == "" {
				_ = c.Error(gatehouse.Invalid("legalReason", "a legally mandated change must carry a legal reason (C12)"))
				return
			}
			req.LegalReason = *b.LegalReason
		}
		cr, err := d.Workflow.FileChangeRequest(c, actor, req)
		if err != nil {
			_ = c.Error(err)
			return
		}
		c.JSON(http.StatusCreated, changeRequestAnswer(cr))
	}
}

// handleGetChangeRequest serves GET /v1/change-requests/{id}.
func handleGetChangeRequest(d Deps) gin.HandlerFunc {
	return func(c *gin.Context) {
		actor, err := requireActor(c)
		if err != nil {
			_ = c.Error(err)
			return
		}
		cr, err := d.Workflow.ChangeRequest(c, actor, c.Param("id"))
		if err != nil {
			_ = c.Error(err)
			return
		}
		c.JSON(http.StatusOK, changeRequestAnswer(cr))
	}
}

// AuthoriseBody carries an optional note, recorded as the reason in the audit trail.
type AuthoriseBody struct {
	Note string `json:"note,omitempty"`
}

// handleAuthoriseChangeRequest serves POST /v1/change-requests/{id}/authorise.
func handleAuthoriseChangeRequest(d Deps) gin.HandlerFunc {
	return func(c *gin.Context) {
		actor, err := requireActor(c)
		if err != nil {
			_ = c.Error(err)
			return
		}
		var b AuthoriseBody
		// The note is optional, and so is a body that would carry only it.
		if c.Request.ContentLength != 0 {
			if err := decode(c, &b); err != nil {
				_ = c.Error(err)
				return
			}
		}
		cr, err := d.Workflow.AuthoriseChangeRequest(c, actor, c.Param("id"), b.Note)
		if err != nil {
			_ = c.Error(err)
			return
		}
		c.JSON(http.StatusOK, changeRequestAnswer(cr))
	}
}

// ExceptionBody grants User the right to file one non-standard Kind,
// optionally only on Target, authorised when filed (C6), until ExpiresAt (RFC 3339) if given.
type ExceptionBody struct {
	User      string `json:"user"`
	Kind      string `json:"kind"`
	Target    string `json:"target,omitempty"`
	ExpiresAt string `json:"expiresAt,omitempty"`
	Reason    string `json:"reason,omitempty"`
}

// ExceptionAnswer is a granted exception.
type ExceptionAnswer struct {
	Organisation string `json:"organisation"`
	User         string `json:"user"`
	Kind         string `json:"kind"`
	Target       string `json:"target,omitempty"`
	ExpiresAt    string `json:"expiresAt,omitempty"`
	ZedToken     string `json:"zedToken"`
}

// handleGrantException serves POST /v1/organisations/{org}/exceptions.
func handleGrantException(d Deps) gin.HandlerFunc {
	return func(c *gin.Context) {
		actor, err := requireActor(c)
		if err != nil {
			_ = c.Error(err)
			return
		}
		var b ExceptionBody
		if err := decode(c, &b); err != nil {
			_ = c.Error(err)
			return
		}
		if err := required("user", b.User); err != nil {
			_ = c.Error(err)
			return
		}
		user, err := gatehouse.ParseSubject("user", b.User)
		if err != nil {
			_ = c.Error(err)
			return
		}
		ex := workflow.Exception{Organisation: c.Param("org"), User: user, Kind: b.Kind, Target: b.Target}
		if b.ExpiresAt != "" {
			t, err := time.Parse(time.RFC3339, b.ExpiresAt)
			if err != nil {
				_ = c.Error(gatehouse.Invalid("expiresAt", "expiresAt %q is not an RFC 3339 time", b.ExpiresAt))
				return
			}
			ex.ExpiresAt = &t
		}
		tok, err := d.Workflow.GrantException(c, actor, ex, b.Reason)
		if err != nil {
			_ = c.Error(err)
			return
		}
		out := ExceptionAnswer{Organisation: ex.Organisation, User: user.String(), Kind: ex.Kind, Target: ex.Target, ZedToken: tok}
		if ex.ExpiresAt != nil {
			out.ExpiresAt = ex.ExpiresAt.UTC().Format(time.RFC3339)
		}
		c.JSON(http.StatusCreated, out)
	}
}

// handleRevokeException serves DELETE /v1/organisations/{org}/exceptions/{user}/{kind}.
func handleRevokeException(d Deps) gin.HandlerFunc {
	return func(c *gin.Context) {
		actor, err := requireActor(c)
		if err != nil {
			_ = c.Error(err)
			return
		}
		id := c.Param("user")
		if !gatehouse.ValidID(id) {
			_ = c.Error(gatehouse.Invalid("user", "%q is not a valid user id", id))
			return
		}
		if _, _, err := d.Workflow.RevokeExceptions(c, actor, c.Param("org"), gatehouse.User(id), c.Param("kind"), ""); err != nil {
			_ = c.Error(err)
			return
		}
		c.Status(http.StatusNoContent)
	}
}
