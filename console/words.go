package console

import (
	"strings"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/workflow"
)

// word is a name of the domain as a page shows it: plain words, with the
// name the API uses and the rule that defines it in a tooltip (Title).
type word struct{ Text, Title string }

// plainNames are the plain words for the domain's names, by kind ("role",
// "designation", "tier", "status"), with the rule each comes from.
var plainNames = map[string]map[string]struct{ text, rule string }{
	"role": {
		gatehouse.RoleOwner:                  {"Owner", "O1"},
		gatehouse.RoleSecurityAdmin:          {"Security admin", "S1"},
		gatehouse.RoleAlternateSecurityAdmin: {"Alternate security admin", "S4"},
		gatehouse.RoleAdministrator:          {"Administrator", "R4"},
		gatehouse.RoleITManager:              {"IT manager", "R1"},
		gatehouse.RoleITAdmin:                {"IT admin", "R2"},
		gatehouse.RoleFinanceAdmin:           {"Finance admin", "R3"},
		gatehouse.RoleBillingManager:         {"Billing manager", "R6"},
		gatehouse.RoleCISProcessor:           {"CIS processor", "R5"},
	},
	"designation": {
		gatehouse.DesignationMainContact:        {"Main contact", "C4"},
		gatehouse.DesignationTechnicalContact:   {"Technical contact", "C4"},
		gatehouse.DesignationFinanceContact:     {"Finance contact", "C4"},
		gatehouse.DesignationAlternateContact:   {"Alternate contact", "C8"},
		gatehouse.DesignationDirector:           {"Director", "C9"},
		gatehouse.DesignationVerifiedDirector:   {"Verified director", "C9"},
		gatehouse.DesignationUnavailableContact: {"Unavailable contact", "C7"},
		gatehouse.DesignationNoFinancialAccess:  {"No financial access", "R7"},
	},
	"tier": {
		workflow.TierMain:      {"Main or technical contact", "C4"},
		workflow.TierAlternate: {"Alternate contact (escalated)", "C8"},
		workflow.TierDirector:  {"Verified director (escalated)", "C9"},
		workflow.TierNone:      {"Nobody: nothing is left to authorise, or nobody may", "C8"},
	},
	"status": {
		workflow.StatusPending:    {"Waiting for authorisation", "C13"},
		workflow.StatusBlocked:    {"Blocked: nobody may give what it needs", "C9"},
		workflow.StatusAuthorised: {"Authorised", "C13"},
		workflow.StatusRejected:   {"Rejected", "C13"},
		workflow.StatusWithdrawn:  {"Withdrawn", "C13"},
	},
}

// roleWords is role in plain words inside a sentence: "security admin",
// "CIS processor" (an initialism keeps its capitals).
func roleWords(role string) string {
	t := wordOf("role", role).Text
	if len(t) > 1 && t[1] >= 'a' && t[1] <= 'z' {
		t = strings.ToLower(t[:1]) + t[1:]
	}
	return t
}

// permissionWords is a permission in words in a sentence
// ("delegate security admin"): its name with spaces.
func permissionWords(permission string) string { return strings.ReplaceAll(permission, "_", " ") }

// wordOf returns name, of kind, in plain words; a name the table lacks
// is shown as it is, its underscores as spaces.
func wordOf(kind, name string) word {
	if n, ok := plainNames[kind][name]; ok {
		return word{Text: n.text, Title: name + " (rule " + n.rule + ")"}
	}
	return word{Text: strings.ReplaceAll(name, "_", " "), Title: name}
}
