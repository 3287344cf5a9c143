package console

import (
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse"
)

// trailRow is one action of the audit trail as the page shows it (issue
// 22 item 5): a sentence with links to the people and objects it names,
// the reason given, and what it changed in words.
type trailRow struct {
	At       time.Time
	Sentence []segment
	Reason   string
	Key      string
	// Action is the API's name of the action, for a tooltip.
	Action  string
	Changes []step
}

// segment is a piece of a sentence: text, a link when Href is set.
type segment struct{ Text, Href string }

// settleAction is the write that settled a request its last yes
// completed (C14), made apart by earlier Gatehouses: the same click as
// that yes, so one row with it. Now the yes's own record says it, in
// its details ("settled").
const settleAction = "settle_change_request"

// actionOption is an action the audit page filters by: its name in the
// trail, and in plain words.
type actionOption struct{ Name, Text string }

// trailActions are the actions trailRowOf says in a sentence, in the
// order the filter offers them.
func trailActions() []actionOption {
	return []actionOption{
		{"grant_role", "Role granted"},
		{"revoke_role", "Role taken away"},
		{"remove_member", "Member removed"},
		{"transfer_ownership", "Ownership transferred"},
		{"set_designation", "Designation given"},
		{"unset_designation", "Designation taken away"},
		{"create_contractor", "Contractor created"},
		{"update_contractor", "Contractor renamed or flagged"},
		{"delete_contractor", "Contractor deleted"},
		{"create_invoice", "Invoice created"},
		{"file_change_request", "Change request filed"},
		{"authorise_change_request", "Change request authorised or approved"},
		{"reject_change_request", "Change request rejected"},
		{"withdraw_change_request", "Change request withdrawn"},
		{settleAction, "Change request settled"},
		{"raise_flags", "Flag raised on a change request"},
		{"override_change_request", "Change request overridden"},
		{"confirm_override", "Override confirmed"},
		{"grant_exception", "Exception granted"},
		{"revoke_exception", "Exception revoked"},
		{"set_always_substantial", "Kind declared always substantial"},
		{"unset_always_substantial", "Always-substantial declaration lifted"},
		{"edit_organisation", "Organisation renamed"},
		{"create_organisation", "Organisation created"},
		{"write_relationships", "Relationships written directly"},
		{"seed", "Demo data loaded"},
	}
}

// trailRows says org's events (newest first) as rows, one per action:
// an action that settled its request says so, and an older settling
// write of its own joins the action of the same person on the same
// request it follows.
func trailRows(org string, events []gatehouse.AuditEvent) []trailRow {
	rows := make([]trailRow, 0, len(events))
	for i := 0; i < len(events); i++ {
		ev := events[i]
		row := trailRowOf(org, ev)
		if ev.Details["settled"] == "true" {
			row.Sentence = append(row.Sentence, segment{Text: "; it needs nothing more"})
		}
		if ev.Action == settleAction && i+1 < len(events) {
			prev := events[i+1]
			if prev.Actor == ev.Actor && prev.Details["changeRequest"] == ev.Details["changeRequest"] && prev.Action != settleAction {
				row = trailRowOf(org, prev)
				row.Sentence = append(row.Sentence, segment{Text: "; it needs nothing more"})
				row.Changes = append(row.Changes, changeSteps(ev.Changes)...)
				i++
			}
		}
		row.Sentence = append(row.Sentence, segment{Text: "."})
		rows = append(rows, row)
	}
	return rows
}

// trailRowOf says one event as a row.
func trailRowOf(org string, ev gatehouse.AuditEvent) trailRow {
	row := trailRow{At: ev.At, Reason: ev.Reason, Key: ev.Key, Action: ev.Action, Changes: changeSteps(ev.Changes)}
	d := ev.Details
	person := func(s string) segment {
		sub, err := gatehouse.ParseSubject("user", s)
		if err != nil || sub.Type != gatehouse.TypeUser || sub.Relation != "" {
			return segment{Text: s}
		}
		return segment{Text: sub.ID, Href: basePath + "/organisations/" + url.PathEscape(org) + "/members/" + url.PathEscape(sub.ID)}
	}
	request := segment{Text: "change request " + d["changeRequest"], Href: basePath + "/change-requests/" + url.PathEscape(d["changeRequest"])}
	contractor := segment{Text: "contractor " + strings.TrimPrefix(d["contractor"], "contractor:"), Href: basePath + "/organisations/" + url.PathEscape(org) + "/contractors"}
	t := func(s string) segment { return segment{Text: s} }
	var s []segment
	switch ev.Action {
	case "grant_role":
		s = []segment{t(" made "), person(d["user"]), t(" " + wordOf("role", d["role"]).Text)}
	case "revoke_role":
		s = []segment{t(" took " + wordOf("role", d["role"]).Text + " away from "), person(d["user"])}
	case "remove_member":
		s = []segment{t(" removed "), person(d["user"]), t(" from the team")}
	case "transfer_ownership":
		s = []segment{t(" transferred ownership of " + org + " to "), person(d["to"])}
	case "set_designation":
		s = []segment{t(" designated "), person(d["user"]), t(" " + wordOf("designation", d["designation"]).Text)}
	case "unset_designation":
		s = []segment{t(" took " + wordOf("designation", d["designation"]).Text + " away from "), person(d["user"])}
	case "create_contractor":
		s = []segment{t(" created "), contractor}
	case "update_contractor":
		verb, name := contractorChange(ev.Changes)
		s = []segment{t(" " + verb + " "), contractor}
		if name != "" {
			s = append(s, t(" to "+name))
		}
	case "delete_contractor":
		s = []segment{t(" deleted "), contractor}
	case "create_invoice":
		s = []segment{t(" created invoice " + strings.TrimPrefix(d["invoice"], "invoice:") + " of " + d["amount"] + " " + d["currency"])}
	case "file_change_request":
		s = []segment{t(" filed "), request, t(" (" + strings.ReplaceAll(d["kind"], "_", " ") + ")")}
		if d["authorisedAsFiled"] == "true" {
			s = append(s, t(", authorised as filed"))
		}
	case "authorise_change_request":
		s = []segment{t(" authorised "), request}
		if g := d["gave"]; g != "" && g != "authorisation" {
			s = []segment{t(" gave " + strings.ReplaceAll(g, ",", " and ") + " approval to "), request}
		}
	case "reject_change_request":
		s = []segment{t(" rejected "), request}
	case "withdraw_change_request":
		s = []segment{t(" withdrew "), request}
	case settleAction:
		s = []segment{t(" settled "), request}
	case "raise_flags":
		s = []segment{t(" raised the " + strings.ReplaceAll(d["raised"], ",", " and ") + " flag on "), request}
	case "override_change_request":
		s = []segment{t(" overrode "), request, t(" (" + d["category"] + ")")}
	case "confirm_override":
		s = []segment{t(" confirmed the override of "), request}
	case "grant_exception":
		s = []segment{t(" let "), person(d["user"]), t(" file " + strings.ReplaceAll(d["kind"], "_", " ") + " requests without authorisation")}
	case "revoke_exception":
		s = []segment{t(" took away the " + strings.ReplaceAll(d["kind"], "_", " ") + " exceptions of "), person(d["user"])}
	case "set_always_substantial":
		s = []segment{t(" declared " + strings.ReplaceAll(d["kind"], "_", " ") + " requests always substantial")}
	case "unset_always_substantial":
		s = []segment{t(" lifted the declaration that " + strings.ReplaceAll(d["kind"], "_", " ") + " requests are always substantial")}
	case "edit_organisation":
		s = []segment{t(" renamed the organisation " + d["name"])}
	case "create_organisation":
		s = []segment{t(" created the organisation")}
	case "seed":
		s = []segment{t(" loaded the demo data")}
	default:
		s = []segment{t(" made a change (" + strings.ReplaceAll(ev.Action, "_", " ") + ")")}
	}
	row.Sentence = append([]segment{person(ev.Actor)}, s...)
	return row
}

// contractorChange says what an update of a contractor did, from its
// changes: the verb, and for a rename the new name its label holds.
func contractorChange(changes []string) (verb, name string) {
	for _, ch := range changes {
		op, rel, _ := strings.Cut(ch, " ")
		r, ok := parseChange(rel)
		switch {
		case !ok:
		case r.Relation == gatehouse.RelAdminOnly && op == "touch":
			return "made admin-only", ""
		case r.Relation == gatehouse.RelAdminOnly:
			return "lifted admin-only from", ""
		case r.Relation == gatehouse.LabelRelation && op == "touch":
			if m, err := gatehouse.DecodeLabel(r.Subject.Object); err == nil {
				name = m["name"]
			}
		}
	}
	return "renamed", name
}

// changeSteps says an event's changes ("touch <relationship>") in words,
// each with its relationship as written; one that does not parse is
// shown as it is.
func changeSteps(changes []string) []step {
	out := make([]step, 0, len(changes))
	for _, ch := range changes {
		op, rel, _ := strings.Cut(ch, " ")
		verb := "Added: "
		if op == "delete" {
			verb = "Removed: "
		}
		words := rel
		if r, ok := parseChange(rel); ok {
			words = changeWords(r)
		}
		out = append(out, step{Words: verb + words, Zed: ch})
	}
	return out
}

// parseChange reads a relationship as the trail writes it, wildcard
// subjects (K2's admin_only@user:*) included.
func parseChange(s string) (gatehouse.Relationship, bool) {
	res, sub, ok := strings.Cut(s, "@")
	if !ok {
		return gatehouse.Relationship{}, false
	}
	res, relation, ok := strings.Cut(res, "#")
	if !ok {
		return gatehouse.Relationship{}, false
	}
	rt, rid, ok1 := strings.Cut(res, ":")
	sub, subRel, _ := strings.Cut(sub, "#")
	st, sid, ok2 := strings.Cut(sub, ":")
	if !ok1 || !ok2 {
		return gatehouse.Relationship{}, false
	}
	return gatehouse.Relationship{
		Resource: gatehouse.Object{Type: rt, ID: rid}, Relation: relation,
		Subject: gatehouse.Subject{Object: gatehouse.Object{Type: st, ID: sid}, Relation: subRel},
	}, true
}
