package console_test

import (
	"html"
	"net/http"
	"regexp"
	"slices"
	"testing"
)

// navPages are the links of an organisation's navigation, label and path
// under /console/organisations/<org>, written out apart from the console's
// own table so that the test checks that table too.
var navPages = []struct{ label, suffix string }{
	{"Members", ""},
	{"Security admins", "/security-admins"},
	{"Contractors", "/contractors"},
	{"Invoices", "/invoices"},
	{"Change requests", "/change-requests"},
	{"Awaiting me", "/change-requests?awaiting=me"},
	{"Exceptions", "/exceptions"},
	{"Substantial kinds", "/substantial"},
	{"Audit trail", "/audit"},
}

var (
	navRE     = regexp.MustCompile(`(?s)<nav class="org"[^>]*>(.*?)</nav>`)
	navLinkRE = regexp.MustCompile(`<a href="([^"]*)"(?: aria-current="page")?>([^<]*)</a>`)
)

// navLink is a link of a page's organisation navigation.
type navLink struct{ label, href string }

// labels returns the labels of links, in order.
func labels(links []navLink) []string {
	out := make([]string, len(links))
	for i, l := range links {
		out[i] = l.label
	}
	return out
}

// orgNav returns the links of p's organisation navigation, in order, and
// whether p has one at all.
func orgNav(p page) ([]navLink, bool) {
	m := navRE.FindStringSubmatch(p.Body)
	if m == nil {
		return nil, false
	}
	var out []navLink
	for _, a := range navLinkRE.FindAllStringSubmatch(m[1], -1) {
		out = append(out, navLink{label: html.UnescapeString(a[2]), href: html.UnescapeString(a[1])})
	}
	return out, true
}

// TestNavigation: an organisation's navigation shows each person the pages
// of it they may open, and only those, for the demo data's roles: every
// link shown opens (200) and every page whose link is hidden refuses them
// (403), so the navigation and the pages agree. Each page, opened or
// refused, that shows a navigation shows the same one.
func TestNavigation(t *testing.T) {
	g := mustGate(t)
	for _, c := range []struct {
		name, who, org string
		sees           []string
	}{
		// The owner holds every permission but view_exceptions, which is
		// the main contacts' and provider staff's (C14).
		{"O5_owner", "olivia", "brightcis", []string{"Members", "Security admins", "Contractors", "Invoices", "Change requests", "Awaiting me", "Substantial kinds", "Audit trail"}},
		{"R4_administrator", "adam", "brightcis", []string{"Members", "Security admins", "Contractors", "Invoices", "Change requests", "Awaiting me", "Audit trail"}},
		{"R5_cis_processor", "carla", "brightcis", []string{"Members", "Security admins", "Contractors", "Change requests", "Awaiting me"}},
		// The contractors page opens for every member; it lists none to
		// a billing manager (R6).
		{"R6_billing_manager", "bill", "brightcis", []string{"Members", "Security admins", "Contractors", "Invoices", "Change requests", "Awaiting me"}},
		{"C14_provider_staff", "stella", "brightcis", []string{"Members", "Security admins", "Change requests", "Awaiting me", "Exceptions"}},
		{"X1_member_of_another_organisation", "oscar", "brightcis", nil},
		{"C14_main_contact", "mia", "globex", []string{"Members", "Security admins", "Contractors", "Invoices", "Change requests", "Awaiting me", "Exceptions", "Audit trail"}},
		{"R7_no_financial_access", "vic", "acme", []string{"Members", "Security admins", "Contractors", "Change requests", "Awaiting me", "Audit trail"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var want []navLink
			for _, l := range navPages {
				if slices.Contains(c.sees, l.label) {
					want = append(want, navLink{label: l.label, href: "/console/organisations/" + c.org + l.suffix})
				}
			}
			b := g.signedIn(c.who)
			for _, l := range navPages {
				p := b.get("/console/organisations/" + c.org + l.suffix)
				shown := slices.Contains(c.sees, l.label)
				switch {
				case shown && p.Status != http.StatusOK:
					t.Errorf("%s is shown %q, which answers %d", c.who, l.label, p.Status)
				case !shown && p.Status != http.StatusForbidden:
					t.Errorf("%s is not shown %q, which answers %d, not 403", c.who, l.label, p.Status)
				}
				got, ok := orgNav(p)
				if !ok {
					if p.Status == http.StatusOK {
						t.Errorf("%s's %q page has no navigation", c.who, l.label)
					}
					continue
				}
				switch {
				case !slices.Equal(labels(got), labels(want)):
					t.Errorf("%s's navigation on the %q page (%d) is %q, want %q", c.who, l.label, p.Status, labels(got), labels(want))
				case !slices.Equal(got, want):
					t.Errorf("%s's navigation on the %q page links %v, want %v", c.who, l.label, got, want)
				}
				if len(got) == 0 {
					t.Errorf("%s's %q page (%d) shows an empty navigation", c.who, l.label, p.Status)
				}
			}
		})
	}

	// A change request's page shows its organisation's navigation too.
	t.Run("C14_change_request_page", func(t *testing.T) {
		got, _ := orgNav(g.signedIn("pat").get("/console/change-requests/globex-cr-pending"))
		if want := []string{"Members", "Security admins", "Contractors", "Change requests", "Awaiting me"}; !slices.Equal(labels(got), want) {
			t.Errorf("pat's navigation on globex-cr-pending is %q, want %q", labels(got), want)
		}
	})

	// The navigation only spares a refusal: when its check fails (SpiceDB
	// refuses an organisation id it cannot hold) every link shows, and the
	// page answers as it would without it.
	t.Run("failed_check_shows_every_link", func(t *testing.T) {
		p := g.signedIn("olivia").get("/console/organisations/no.such/change-requests")
		if p.Status != http.StatusBadRequest {
			t.Errorf("an invalid organisation's change requests answer %d, want 400", p.Status)
		}
		got, _ := orgNav(p)
		if len(got) != len(navPages) {
			t.Errorf("the navigation after a failed check is %q, want all %d links", labels(got), len(navPages))
		}
	})
}
