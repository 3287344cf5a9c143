package console

import (
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/workflow"
)

// The console's CSV exports, for an access review and for the audit
// trail: each is the same read as its API route's, guarded alike, and a
// refusal is the console's error page, never a file.

// handleAccessCSV serves GET /console/organisations/{org}/access.csv:
// the organisation's access review as the API's
// GET /v1/organisations/{org}/access exports it with Accept: text/csv,
// written by the same workflow function (WriteAccessCSV) over the same
// review (Access), for the same readers (view_reports holders and
// provider staff).
func (c *console) handleAccessCSV(w http.ResponseWriter, r *http.Request, a actorCtx) {
	org := r.PathValue("org")
	first, err := c.cfg.Workflow.Access(r.Context(), a.actor, org, 0, "")
	if err != nil {
		c.fail(w, r, a, org, err)
		return
	}
	attachCSV(w, "access-review-"+org+".csv")
	if err := c.cfg.Workflow.WriteAccessCSV(r.Context(), a.actor, org, 0, first, w); err != nil {
		c.cfg.Log.ErrorContext(r.Context(), "console: the access review export stopped", "org", org, "err", err)
	}
}

// auditCSVHeader names the columns of the audit trail's export: the
// action's sentence as the audit page says it, then its parts.
var auditCSVHeader = []string{"at", "actor", "action", "what", "reason", "key", "changes"}

// handleAuditCSV serves GET /console/organisations/{org}/audit.csv: every
// event of the audit page's filter (actor, action, dates), oldest first as
// the API's export (Accept: application/x-ndjson) streams them, one row
// each, for holders of view_reports (X2). An export that cannot finish
// ends with a row "#error", never as if complete.
func (c *console) handleAuditCSV(w http.ResponseWriter, r *http.Request, a actorCtx) {
	org := r.PathValue("org")
	_, aq, err := c.auditQuery(r, a, org)
	if err != nil {
		c.fail(w, r, a, org, err)
		return
	}
	attachCSV(w, "audit-"+org+".csv")
	cw := csv.NewWriter(w)
	err = cw.Write(auditCSVHeader)
	if err == nil {
		err = c.cfg.Audit.Export(r.Context(), aq, func(ev gatehouse.AuditEvent) error {
			return cw.Write(workflow.SpreadsheetSafe([]string{
				ev.At.UTC().Format(time.RFC3339Nano), ev.Actor, ev.Action, sentenceOf(trailRowOf(org, ev)),
				ev.Reason, ev.Key, strings.Join(ev.Changes, "; "),
			}))
		})
	}
	if err != nil {
		msg := "internal error"
		var e *gatehouse.Error
		if errors.As(err, &e) && e.Code != gatehouse.EINTERNAL {
			msg = e.Message
		}
		_ = cw.Write([]string{"#error", "the export stopped before its end: " + msg, "", "", "", "", ""})
		c.cfg.Log.ErrorContext(r.Context(), "console: the audit export stopped", "org", org, "err", err)
	}
	cw.Flush()
}

// sentenceOf is a trail row's sentence as text.
func sentenceOf(row trailRow) string {
	var b strings.Builder
	for _, s := range row.Sentence {
		b.WriteString(s.Text)
	}
	return b.String() + "."
}

// attachCSV starts a CSV answer that the browser saves as name.
func attachCSV(w http.ResponseWriter, name string) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q; filename*=UTF-8''%s", strings.ReplaceAll(name, `"`, ""), url.PathEscape(name)))
}
