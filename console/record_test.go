package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestUnrecordableReasonRefused_X2 (issue 19, row 2): a console form whose
// reason is not UTF-8 (reason=%FF%FEbad) is refused, naming the field, as
// the API refuses it; ownership does not move unrecorded.
func TestUnrecordableReasonRefused_X2(t *testing.T) {
	g := mustGate(t)
	olivia := g.signedIn("olivia")
	olivia.get("/console/organisations/brightcis")
	p := olivia.post("/console/organisations/brightcis/transfer-ownership", url.Values{"confirm": {"1"}, "to": {"adam"}, "reason": {"\xff\xfebad"}})
	if p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "reason") {
		t.Fatalf("transfer with a reason that is not UTF-8: %d\n%s\nwant 400 naming reason", p.Status, p.Body)
	}
	if !g.has("organisation:brightcis#owner@user:olivia") || g.has("organisation:brightcis#owner@user:adam") {
		t.Fatal("ownership moved although the write was refused")
	}
}
