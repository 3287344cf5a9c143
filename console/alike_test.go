package console_test

import (
	"fmt"
	"html"
	"net/http"
	"regexp"
	"testing"

	"github.com/gatehouse-authz/gatehouse"
)

// alike fails the test unless the console's page p came out as the API's
// answer (status, body) to the same request by the same person, and that
// answer has status want: both allowed (the console's page is its 200
// confirmation, no refusal on it), or both refused with the same status,
// message, missing permission, rule and field, the console saying that
// nothing was changed.
func alike(t *testing.T, p page, status int, body map[string]any, want int) {
	t.Helper()
	compare(t, p, status, body, want, true)
}

// alikeButWorded is alike without comparing the message: for the few
// refusals whose checks the console words its own way (a form's field
// read differently from the JSON body), still the same status and field.
func alikeButWorded(t *testing.T, p page, status int, body map[string]any, want int) {
	t.Helper()
	compare(t, p, status, body, want, false)
}

func compare(t *testing.T, p page, status int, body map[string]any, want int, message bool) {
	t.Helper()
	if status != want {
		t.Fatalf("the API answered %d (want %d): %v", status, want, body)
	}
	if status < 300 {
		if p.Status != http.StatusOK || p.contains("Nothing was changed.") {
			t.Errorf("the API allowed it (%d); the console answered %d at %s:\n%s", status, p.Status, p.URL, p.Body)
		}
		return
	}
	if p.Status != status {
		t.Errorf("the API refused it with %d, the console with %d:\n%s", status, p.Status, p.Body)
	}
	e, _ := body["error"].(map[string]any)
	str := func(k string) string { s, _ := e[k].(string); return s }
	if message && !p.contains(str("message")) {
		t.Errorf("the console does not show the API's message %q:\n%s", str("message"), p.Body)
	}
	for _, x := range []struct{ key, shown string }{
		{"permission", "Missing permission: "},
		{"rule", "Rule "},
		{"field", "Field: "},
	} {
		v := str(x.key)
		switch {
		case v != "" && !p.contains(x.shown+v):
			t.Errorf("the API names %s %q; the console does not:\n%s", x.key, v, p.Body)
		case v == "" && p.contains(x.shown) && x.key != "rule":
			t.Errorf("the console names a %s the API does not:\n%s", x.key, p.Body)
		}
	}
	shows(t, p, "Nothing was changed.")
}

// staff makes user:id provider staff (platform:provider#staff), as an
// operator with a platform key would (X4).
func (g *gate) staff(id string) {
	g.t.Helper()
	_, err := g.Store.Write(g.t.Context(), gatehouse.Write{
		Updates: []gatehouse.Update{{Op: gatehouse.Touch, Relationship: gatehouse.Relationship{
			Resource: gatehouse.Provider, Relation: gatehouse.RelStaff, Subject: gatehouse.User(id),
		}}},
		Audit: gatehouse.Audit{Actor: "test", Action: "staff", Reason: "a second staff member (C18)"},
	})
	if err != nil {
		g.t.Fatal(err)
	}
}

// same fails the test unless each relationship is held alike in a and b:
// the console's gate and the API's twin after the same request.
func same(t *testing.T, a, b *gate, rels ...string) {
	t.Helper()
	for _, r := range rels {
		if ha, hb := a.has(r), b.has(r); ha != hb {
			t.Errorf("%s: after the console's request %v, after the API's %v", r, ha, hb)
		}
	}
}

// nextRE finds a page's link to the next page of its list.
var nextRE = regexp.MustCompile(`<a href="([^"]+)" rel="next">`)

// unescape reads an attribute value as the browser does.
func unescape(s string) string { return html.UnescapeString(s) }

// pagesThrough loads path as b and follows its next-page links (at most
// ten pages), and returns how many of the n rows format (with i) names it
// saw; it fails the test when the first page shows them all, since then
// nothing was paged.
func pagesThrough(t *testing.T, b *browser, path, format string, n int) int {
	t.Helper()
	seen := map[int]bool{}
	p := b.get(path)
	for pageNo := 0; pageNo < 10; pageNo++ {
		for i := range n {
			if p.contains(fmt.Sprintf(format, i)) {
				seen[i] = true
			}
		}
		if pageNo == 0 && len(seen) == n {
			t.Errorf("%s shows all %d rows on its first page", path, n)
		}
		m := nextRE.FindStringSubmatch(p.Body)
		if m == nil {
			break
		}
		p = b.get(path + unescape(m[1]))
	}
	return len(seen)
}
