package server

import (
	"context"
	"io"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/wire"
	"github.com/gatehouse-authz/gatehouse/workflow"
)

// textCSV is the media type of the access review export.
const textCSV = "text/csv"

// recentChanges is how many of a person's latest audited changes their
// access shows.
const recentChanges = 20

// handleAccessReview serves GET /v1/organisations/{org}/access?limit=&cursor=;
// with Accept: text/csv, every page as one CSV export.
func handleAccessReview(d Deps) op[none, wire.AccessReview] {
	return func(ctx context.Context, in In[none]) (wire.AccessReview, error) {
		org := in.Path("org")
		if in.Accepts(textCSV) {
			return wire.AccessReview{}, exportAccess(ctx, d.Workflow, in, org)
		}
		cursor, err := openCursor(d.CursorKey, "access:"+org, in.Query("cursor"))
		if err != nil {
			return wire.AccessReview{}, err
		}
		page, err := d.Workflow.Access(ctx, in.Actor, org, in.Int("limit"), cursor)
		return wire.AccessReview{Access: accessRows(page.Rows), Cursor: sealCursor(d.CursorKey, "access:"+org, page.Cursor), Truncated: page.Truncated}, err
	}
}

// exportAccess streams every page of org's access review as CSV
// (workflow's WriteAccessCSV, which the console's export writes too). The
// first page is read before the answer starts, so a refusal is still a
// JSON error.
func exportAccess(ctx context.Context, wf *workflow.Service, in In[none], org string) error {
	if in.Query("cursor") != "" {
		return gatehouse.Invalid("cursor", "an export streams every page; cursor pages the JSON answer only")
	}
	page, err := wf.Access(ctx, in.Actor, org, in.Int("limit"), "")
	if err != nil {
		return err
	}
	return in.Stream(textCSV+"; charset=utf-8", func(w io.Writer) error {
		return wf.WriteAccessCSV(ctx, in.Actor, org, in.Int("limit"), page, w)
	})
}

// handleMemberAccess serves GET /v1/organisations/{org}/members/{user}/access.
func handleMemberAccess(d Deps) op[none, wire.MemberAccess] {
	return func(ctx context.Context, in In[none]) (wire.MemberAccess, error) {
		org, user := in.Path("org"), in.User("user")
		rows, truncated, err := d.Workflow.MemberAccess(ctx, in.Actor, org, user)
		if err != nil {
			return wire.MemberAccess{}, err
		}
		evs, _, err := d.Audit.List(ctx, gatehouse.AuditQuery{Organisation: org, Actor: user.String(), Limit: recentChanges})
		out := wire.MemberAccess{User: user.String(), Access: accessRows(rows), Truncated: truncated, RecentChanges: make([]wire.AuditEvent, len(evs))}
		for i, e := range evs {
			out.RecentChanges[i] = auditEvent(e)
		}
		return out, err
	}
}

// accessRows are rows as the API answers them.
func accessRows(rows []workflow.Access) []wire.Access {
	out := make([]wire.Access, len(rows))
	for i, r := range rows {
		out[i] = wire.Access{User: r.User.String(), Permission: r.Permission, On: r.On.String(), Via: strs(r.Via)}
		if r.Until != nil {
			u := r.Until.UTC().Format(time.RFC3339)
			out[i].Until = &u
		}
	}
	return out
}
