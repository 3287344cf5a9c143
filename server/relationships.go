package server

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/workflow"
)

// SchemaAnswer carries the schema text.
type SchemaAnswer struct {
	Schema string `json:"schema"`
}

// handleSchema serves GET /v1/schema.
func handleSchema(d Deps) gin.HandlerFunc {
	return func(c *gin.Context) {
		s, err := d.Store.ReadSchema(c)
		if err != nil {
			_ = c.Error(err)
			return
		}
		c.JSON(http.StatusOK, SchemaAnswer{Schema: s})
	}
}

// RelationshipsAnswer lists relationships in zed's notation.
type RelationshipsAnswer struct {
	Relationships []string `json:"relationships"`
	ZedToken      string   `json:"zedToken,omitempty"`
}

// handleReadRelationships serves GET /v1/relationships?resource=&relation=&subject=.
func handleReadRelationships(d Deps) gin.HandlerFunc {
	return func(c *gin.Context) {
		q := c.Request.URL.Query()
		for k := range q {
			if k != "resource" && k != "relation" && k != "subject" && k != "resourceType" {
				_ = c.Error(gatehouse.Invalid(k, "unknown query parameter %q", k))
				return
			}
		}
		var f gatehouse.Filter
		switch res := q.Get("resource"); {
		case res != "":
			o, err := gatehouse.ParseObject("resource", res)
			if err != nil {
				_ = c.Error(err)
				return
			}
			f.ResourceType, f.ResourceID = o.Type, o.ID
		case q.Get("resourceType") != "":
			f.ResourceType = q.Get("resourceType")
		default:
			_ = c.Error(gatehouse.Invalid("resource", "resource (type:id) or resourceType is required"))
			return
		}
		if !d.Schema.HasType(f.ResourceType) {
			_ = c.Error(gatehouse.Invalid("resource", "object type %q is not defined in the schema", f.ResourceType))
			return
		}
		if rel := q.Get("relation"); rel != "" {
			if !d.Schema.Has(f.ResourceType, rel) {
				_ = c.Error(gatehouse.Invalid("relation", "%q is not a relation of %s", rel, f.ResourceType))
				return
			}
			f.Relation = rel
		}
		if sub := q.Get("subject"); sub != "" {
			s, err := gatehouse.ParseSubject("subject", sub)
			if err != nil {
				_ = c.Error(err)
				return
			}
			f.SubjectType, f.SubjectID, f.SubjectRelation = s.Type, s.ID, s.Relation
		}
		rels, tok, err := d.Store.ReadRelationships(c, f, gatehouse.Consistency{})
		if err != nil {
			_ = c.Error(err)
			return
		}
		out := RelationshipsAnswer{Relationships: make([]string, len(rels)), ZedToken: tok}
		for i, r := range rels {
			out.Relationships[i] = r.String()
		}
		c.JSON(http.StatusOK, out)
	}
}

// WriteBody is an atomic change of relationships.
type WriteBody struct {
	Touch  []string `json:"touch,omitempty"`
	Delete []string `json:"delete,omitempty"`
	Reason string   `json:"reason,omitempty"`
}

// TokenAnswer carries the ZedToken of a write.
type TokenAnswer struct {
	ZedToken string `json:"zedToken"`
}

// handleWriteRelationships serves POST /v1/relationships.
func handleWriteRelationships(d Deps) gin.HandlerFunc {
	return func(c *gin.Context) {
		var b WriteBody
		if err := decode(c, &b); err != nil {
			_ = c.Error(err)
			return
		}
		if len(b.Touch)+len(b.Delete) == 0 {
			_ = c.Error(gatehouse.Invalid("touch", "touch or delete must name at least one relationship"))
			return
		}
		actor, err := optionalActor(c)
		if err != nil {
			_ = c.Error(err)
			return
		}
		w := gatehouse.Write{Audit: gatehouse.Audit{Actor: actor, Action: "write_relationships", Reason: b.Reason}}
		seen := map[string]string{}
		for _, list := range []struct {
			name string
			op   gatehouse.Operation
			rels []string
		}{{"touch", gatehouse.Touch, b.Touch}, {"delete", gatehouse.Delete, b.Delete}} {
			for i, s := range list.rels {
				field := fmt.Sprintf("%s[%d]", list.name, i)
				r, err := gatehouse.ParseRelationship(field, s)
				if err != nil {
					_ = c.Error(err)
					return
				}
				if err := d.validRelationship(field, r); err != nil {
					_ = c.Error(err)
					return
				}
				if err := workflow.CheckRawUpdate(field, r, gatehouse.IsPlatformKey(c.Request.Context())); err != nil {
					_ = c.Error(err)
					return
				}
				key := r.Resource.String() + "#" + r.Relation + "@" + r.Subject.String()
				if prev, dup := seen[key]; dup {
					_ = c.Error(gatehouse.Invalid(field, "the same relationship also appears as %s", prev))
					return
				}
				seen[key] = field
				if r.Resource.Type == "organisation" {
					w.Audit.Organisation = r.Resource.ID
				}
				w.Updates = append(w.Updates, gatehouse.Update{Op: list.op, Relationship: r})
			}
		}
		tok, err := d.Store.Write(c, w)
		if err != nil {
			_ = c.Error(err)
			return
		}
		c.JSON(http.StatusOK, TokenAnswer{ZedToken: tok})
	}
}

// validRelationship refuses relationships the schema cannot hold, naming the field.
func (d Deps) validRelationship(field string, r gatehouse.Relationship) error {
	if !d.Schema.HasType(r.Resource.Type) {
		return gatehouse.Invalid(field, "object type %q is not defined in the schema", r.Resource.Type)
	}
	if !d.Schema.Has(r.Resource.Type, r.Relation) {
		return gatehouse.Invalid(field, "%q is not a relation of %s", r.Relation, r.Resource.Type)
	}
	if !d.Schema.HasType(r.Subject.Type) {
		return gatehouse.Invalid(field, "subject type %q is not defined in the schema", r.Subject.Type)
	}
	return nil
}

// AuditAnswer is one page of the audit trail, newest first.
type AuditAnswer struct {
	Events []gatehouse.AuditEvent `json:"events"`
	Cursor string                 `json:"cursor,omitempty"`
}

// handleAudit serves GET /v1/audit?organisation=&actor=&since=&until=&limit=&cursor=.
func handleAudit(d Deps) gin.HandlerFunc {
	return func(c *gin.Context) {
		q := c.Request.URL.Query()
		aq := gatehouse.AuditQuery{Organisation: q.Get("organisation"), Actor: q.Get("actor"), Cursor: q.Get("cursor")}
		if aq.Organisation == "" {
			_ = c.Error(gatehouse.Invalid("organisation", "organisation is required"))
			return
		}
		if aq.Actor != "" {
			if _, err := gatehouse.ParseSubject("actor", aq.Actor); err != nil {
				_ = c.Error(err)
				return
			}
		}
		for _, p := range []struct {
			name string
			dst  *time.Time
		}{{"since", &aq.Since}, {"until", &aq.Until}} {
			if v := q.Get(p.name); v != "" {
				t, err := time.Parse(time.RFC3339, v)
				if err != nil {
					_ = c.Error(gatehouse.Invalid(p.name, "%s must be an RFC 3339 time", p.name))
					return
				}
				*p.dst = t
			}
		}
		if v := q.Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 1000 {
				_ = c.Error(gatehouse.Invalid("limit", "limit must be between 1 and 1000"))
				return
			}
			aq.Limit = n
		}
		evs, next, err := d.Store.AuditTrail(c, aq)
		if err != nil {
			_ = c.Error(err)
			return
		}
		if evs == nil {
			evs = []gatehouse.AuditEvent{}
		}
		c.JSON(http.StatusOK, AuditAnswer{Events: evs, Cursor: next})
	}
}

// optionalActor reads Gatehouse-Actor when present (the raw relationship
// endpoint records it; the organisation endpoints require it).
func optionalActor(c *gin.Context) (string, error) {
	h := c.GetHeader(actorHeader)
	if h == "" {
		return "", nil
	}
	s, err := gatehouse.ParseSubject(actorHeader, h)
	if err != nil {
		return "", err
	}
	return s.String(), nil
}

// actorHeader names the person an admin request acts for.
const actorHeader = "Gatehouse-Actor"

// requireActor reads Gatehouse-Actor: user:<id>, which every organisation change needs.
func requireActor(c *gin.Context) (gatehouse.Subject, error) {
	h := c.GetHeader(actorHeader)
	if h == "" {
		return gatehouse.Subject{}, gatehouse.Invalid(actorHeader, "the %s header (user:<id>) is required", actorHeader)
	}
	s, err := gatehouse.ParseSubject(actorHeader, h)
	if err != nil {
		return gatehouse.Subject{}, err
	}
	if s.Type != "user" || s.Relation != "" {
		return gatehouse.Subject{}, gatehouse.Invalid(actorHeader, "the actor must be a user (user:<id>)")
	}
	return s, nil
}
