package server_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
)

// TestAdminConcurrency fires 30 ownership transfers and 30 SA delegations
// at one organisation at once, each acting for whoever holds the power as
// it reads it (and reading again when refused), and then finds O2 and S1 held: exactly one owner, at most
// one SA and one ASA, never the same user; and an audit trail that
// accounts for every change that succeeded and for nothing else, as one
// unbroken chain of owners and of SAs (X2).
func TestAdminConcurrency(t *testing.T) {
	a := MustAPI(t)
	tm := newOrgTeam(t, a, "race")
	// n of each; a client refused because the power moved on reads again
	// and retries, up to tries times.
	const n, tries = 30, 3
	for i := range n {
		orgWant(t, tm.grant(tm.user("owner"), tm.user(fmt.Sprint("t", i)), "it_admin"), http.StatusNoContent)
	}
	initialOwner, initialSA, initialASA := tm.user("owner"), tm.user("security_admin"), tm.user("alternate_security_admin")
	// current reads who holds relation now, as any client would before acting.
	current := func(relation string) string {
		if h := tm.holders(relation); len(h) > 0 {
			return h[0]
		}
		return tm.user("owner")
	}

	type outcome struct {
		transfer bool
		status   int
		body     string
	}
	outcomes := make(chan outcome, 2*n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			var r Response
			for range tries {
				if r = a.Do("POST", tm.path("/transfer-ownership"), current("owner"), map[string]any{"to": tm.user(fmt.Sprint("t", i))}); r.Status != http.StatusForbidden {
					break
				}
			}
			outcomes <- outcome{true, r.Status, string(r.Raw)}
		})
		wg.Go(func() {
			<-start
			q := ""
			if i%2 == 0 {
				q = "?previousBecomesAlternate=true"
			}
			var r Response
			for range tries {
				actor := current("security_admin")
				if i%3 == 0 {
					actor = current("owner")
				}
				if r = a.Do("PUT", tm.memberPath(tm.user(fmt.Sprint("s", i)), "/roles/security_admin"+q), actor, nil); r.Status != http.StatusForbidden {
					break
				}
			}
			outcomes <- outcome{false, r.Status, string(r.Raw)}
		})
	}
	close(start)
	wg.Wait()
	close(outcomes)

	transfers, delegations := 0, 0
	for o := range outcomes {
		switch {
		case o.transfer && o.status == http.StatusOK:
			transfers++
		case !o.transfer && o.status == http.StatusNoContent:
			delegations++
		case o.status == http.StatusForbidden, o.status == http.StatusConflict:
			// The actor lost the power to a concurrent change, or retries ran out.
		default:
			t.Errorf("unexpected answer %d: %s", o.status, o.body)
		}
	}
	if transfers == 0 || delegations == 0 {
		t.Fatalf("%d transfers and %d delegations succeeded; the test proves nothing", transfers, delegations)
	}
	t.Logf("%d of %d transfers and %d of %d SA delegations applied", transfers, n, delegations, n)

	owners, sas, asas := tm.holders("owner"), tm.holders("security_admin"), tm.holders("alternate_security_admin")
	if len(owners) != 1 {
		t.Fatalf("O2: owners %v", owners)
	}
	if len(sas) > 1 || len(asas) > 1 || (len(sas) == 1 && len(asas) == 1 && sas[0] == asas[0]) {
		t.Fatalf("S1: SA %v, ASA %v", sas, asas)
	}

	// The audit trail: one event per applied change, chained.
	ownerStep, saStep := map[string]string{}, map[string]map[string]any{}
	targets := map[string]bool{}
	for i := range n {
		targets[tm.user(fmt.Sprint("s", i))] = true
	}
	for _, ev := range orgAudit(t, a, "race", "") {
		details, _ := ev["details"].(map[string]any)
		switch {
		case ev["action"] == "transfer_ownership":
			from, to := details["from"].(string), details["to"].(string)
			if from != ev["actor"] {
				t.Errorf("transfer by %v from %s", ev["actor"], from)
			}
			if _, dup := ownerStep[from]; dup {
				t.Errorf("two transfers from %s", from)
			}
			ownerStep[from] = to
		case ev["action"] == "grant_role" && details["role"] == "security_admin" && targets[details["user"].(string)]:
			from := ""
			for _, c := range strs(ev["changes"]) {
				if sub, ok := strings.CutPrefix(c, "delete organisation:race#security_admin@"); ok {
					from = sub
				}
			}
			if _, dup := saStep[from]; dup || from == "" {
				t.Errorf("SA delegation from %q: %v", from, ev)
			}
			saStep[from] = details
		}
	}
	if len(ownerStep) != transfers || len(saStep) != delegations {
		t.Fatalf("audit has %d transfers and %d delegations, answers said %d and %d", len(ownerStep), len(saStep), transfers, delegations)
	}
	owner := initialOwner
	for range transfers {
		next, ok := ownerStep[owner]
		if !ok {
			t.Fatalf("the owner chain breaks at %s: %v", owner, ownerStep)
		}
		owner = next
	}
	if owner != owners[0] {
		t.Errorf("the audit trail ends with owner %s, SpiceDB says %s", owner, owners[0])
	}
	sa, asa := initialSA, initialASA
	for range delegations {
		d, ok := saStep[sa]
		if !ok {
			t.Fatalf("the SA chain breaks at %s", sa)
		}
		if prev, ok := d["previousBecomesAlternate"].(string); ok {
			if prev != sa {
				t.Errorf("%s became ASA when %s was the outgoing SA", prev, sa)
			}
			asa = prev
		}
		sa = d["user"].(string)
	}
	if want := []string{sa}; len(sas) != 1 || sas[0] != want[0] {
		t.Errorf("the audit trail ends with SA %s, SpiceDB says %v", sa, sas)
	}
	if len(asas) != 1 || asas[0] != asa {
		t.Errorf("the audit trail ends with ASA %s, SpiceDB says %v", asa, asas)
	}
}

// TestDeleteTransferConcurrency races the owner's delete of an
// organisation against the same owner's transfer of it, round after round.
// Exactly one applies (O2, O3, O4): either the organisation is gone with
// everything of it, or it has the new owner and every contractor, and the
// refused delete changed nothing (X3).
func TestDeleteTransferConcurrency(t *testing.T) {
	a := MustAPI(t)
	deleted, transferred := 0, 0
	defer func() { t.Logf("%d rounds deleted, %d transferred", deleted, transferred) }()
	for round := range 8 {
		tm := newOrgTeam(t, a, fmt.Sprint("dt", round))
		tm.contractor(t, tm.id+"-c1", false)
		tm.contractor(t, tm.id+"-c2", true)
		before := relationshipsOf(t, a, tm.id)
		var del, xfer Response
		start := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() { <-start; del = a.Do("DELETE", tm.path(""), tm.user("owner"), nil) })
		wg.Go(func() {
			<-start
			xfer = a.Do("POST", tm.path("/transfer-ownership"), tm.user("owner"), map[string]any{"to": tm.user("it_admin")})
		})
		close(start)
		wg.Wait()
		after := relationshipsOf(t, a, tm.id)
		switch {
		case del.Status == http.StatusNoContent && xfer.Status != http.StatusOK:
			deleted++
			if len(after) != 0 {
				t.Errorf("round %d: deleted, yet left %v", round, after)
			}
		case xfer.Status == http.StatusOK && del.Status != http.StatusNoContent:
			transferred++
			if del.Status != http.StatusForbidden && del.Status != http.StatusConflict {
				t.Errorf("round %d: delete answered %d %s", round, del.Status, del.Raw)
			}
			var contractors []string
			for _, s := range after {
				if strings.HasPrefix(s, "contractor:") {
					contractors = append(contractors, s)
				}
			}
			var was []string
			for _, s := range before {
				if strings.HasPrefix(s, "contractor:") {
					was = append(was, s)
				}
			}
			if !slices.Equal(contractors, was) {
				t.Errorf("round %d: the refused delete changed contractors:\nbefore %v\nafter  %v", round, was, contractors)
			}
			if got := tm.holders("owner"); !slices.Equal(got, []string{tm.user("it_admin")}) {
				t.Errorf("round %d: owners %v", round, got)
			}
		default:
			t.Errorf("round %d: delete %d %s, transfer %d %s", round, del.Status, del.Raw, xfer.Status, xfer.Raw)
		}
	}
}
