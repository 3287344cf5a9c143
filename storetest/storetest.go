// Package storetest is the conformance suite of gatehouse.Store, in the
// manner of SpiceDB's pkg/datastore/test and OpenFGA's pkg/storage/test:
// every implementation runs the same tests, so what one adapter promises
// the others keep. Run it from a _test.go file:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) gatehouse.Store { return newStore(t) })
//	}
//
// Only tests import it. It imports the domain's root package and schema/,
// never an adapter.
package storetest

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse"
)

// NewStore returns the Store a test runs against, and the audit trail its
// writes are recorded in (a consumer of SpiceDB's changes running); a nil
// trail skips the trail's tests. The SpiceDB behind it holds Gatehouse's
// schema (schema.Text). It may share its data with the stores returned
// before, since every test writes ids of its own, but each call returns a
// new Store value: read-your-writes is a Store's own.
type NewStore func(t *testing.T) (gatehouse.Store, gatehouse.AuditTrail)

// Run runs every conformance test against stores from newStore, one
// subtest per promise of the gatehouse.Store interface.
func Run(t *testing.T, newStore NewStore) {
	t.Helper()
	tests := []struct {
		name string
		run  func(f *fixture)
	}{
		{"Ready", testReady},
		{"Write/touch_is_an_upsert", testTouch},
		{"Write/create_on_existing_is_ECONFLICT", testCreate},
		{"Write/delete_of_missing_is_no_error", testDelete},
		{"Write/failed_must_match_is_ECONFLICT_and_writes_nothing", testMustMatchFails},
		{"Write/failed_must_not_match_is_ECONFLICT_and_writes_nothing", testMustNotMatchFails},
		{"Write/preconditions_that_hold_let_it_apply", testPreconditionsHold},
		{"Write/is_atomic", testAtomic},
		{"Write/refusals_are_EINVALID", testWriteRefusals},
		{"Write/expiration_round_trips", testExpiration},
		{"Check/read_your_writes_with_zero_consistency", testReadYourWrites},
		{"Check/read_your_writes_under_concurrent_writes", testReadYourWritesConcurrent},
		{"Check/at_least_as_fresh_as_the_write", testAtLeastAsFresh},
		{"Check/every_consistency_answers", testConsistencies},
		{"Check/arrows_and_wildcard_exclusion_K2", testArrowsAndExclusion},
		{"Check/errors", testCheckErrors},
		{"Check/repeated_reads_see_every_write", testRepeatedReadsSeeEveryWrite},
		{"CheckBulk/order_and_per_item_errors", testCheckBulk},
		{"LookupResources/pages_cover_every_resource_once", testLookupResourcesPaging},
		{"LookupResources/once_each_and_fresh_after_a_write", testLookupResourcesOnceAndFresh},
		{"LookupResources/errors", testLookupResourcesErrors},
		{"LookupSubjects/sorted_holders", testLookupSubjects},
		{"LookupSubjects/wildcard_and_exclusion", testLookupSubjectsWildcard},
		{"LookupSubjects/pages_cover_every_holder_once_at_one_snapshot", testLookupSubjectsPaging},
		{"Explain/every_path_subject_side_first", testExplain},
		{"Explain/denied_has_no_path", testExplainDenied},
		{"ReadRelationships/every_filter_field", testReadFilters},
		{"ReadRelationships/and_DeleteMatching_past_one_thousand", testManyRelationships},
		{"ReadRelationships/pages_cover_every_match_once_at_one_snapshot", testReadPaging},
		{"ReadRelationships/pages_span_SpiceDB_pages_and_change_limit", testReadPagingPastOnePage},
		{"DeleteMatching/every_filter_and_none_matching", testDeleteMatchingFilters},
		{"AuditTrail/a_write_is_an_event", testAuditEvent},
		{"AuditTrail/newest_first_in_pages", testAuditPaging},
		{"AuditTrail/filters", testAuditFilters},
		{"AuditTrail/failed_write_leaves_no_event", testAuditFailedWrite},
		{"AuditTrail/raw_writes_name_their_organisation_or_platform", testAuditAttribution},
		{"AuditTrail/cursor_stable_under_concurrent_writes", testAuditStableCursor},
		{"AuditExport/every_event_oldest_first", testAuditExport},
		{"AuditTrail/each_organisation_lists_its_own_changes_only", testAuditPerOrganisation},
		{"AuditTrail/a_record_that_cannot_be_stored_refuses_the_write", testAuditUnencodable},
		{"Schema/read", testReadSchema},
		{"Schema/write_then_read", testWriteSchema},
		{"Schema/invalid_is_EINVALID_and_changes_nothing", testWriteSchemaInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store, trail := newStore(t)
			if trail == nil && (strings.HasPrefix(tc.name, "Audit") || tc.name == "ReadRelationships/and_DeleteMatching_past_one_thousand") {
				t.Skip("this Store is given no audit trail")
			}
			tc.run(&fixture{T: t, store: store, trail: trail, run: randomHex(t, 5)})
		})
	}
}

// fixture is one test's store and the ids it owns.
type fixture struct {
	*testing.T
	store gatehouse.Store
	trail gatehouse.AuditTrail
	run   string
}

// id returns an id no other test (or run, on a shared datastore) uses.
func (f *fixture) id(name string) string { return name + "_" + f.run }

// rel parses a relationship in zed's notation, formatted.
func (f *fixture) rel(format string, args ...any) gatehouse.Relationship {
	f.Helper()
	r, err := gatehouse.ParseRelationship("storetest", fmt.Sprintf(format, args...))
	if err != nil {
		f.Fatal(err)
	}
	return r
}

// updates makes one update of op per relationship.
func updates(op gatehouse.Operation, rels ...gatehouse.Relationship) []gatehouse.Update {
	out := make([]gatehouse.Update, len(rels))
	for i, r := range rels {
		out[i] = gatehouse.Update{Op: op, Relationship: r}
	}
	return out
}

// write applies w and fails the test on error; it returns the ZedToken.
func (f *fixture) write(w gatehouse.Write) string {
	f.Helper()
	tok, err := f.store.Write(f.Context(), w)
	if err != nil {
		f.Fatalf("Write: %v", err)
	}
	if tok == "" {
		f.Fatal("Write returned no ZedToken")
	}
	return tok
}

// touch writes rels with one Touch each.
func (f *fixture) touch(rels ...gatehouse.Relationship) string {
	f.Helper()
	return f.write(gatehouse.Write{Updates: updates(gatehouse.Touch, rels...)})
}

// allowed checks at the store's default consistency.
func (f *fixture) allowed(resource gatehouse.Object, permission string, subject gatehouse.Subject) bool {
	f.Helper()
	res, err := f.store.Check(f.Context(), gatehouse.CheckRequest{Resource: resource, Permission: permission, Subject: subject})
	if err != nil {
		f.Fatalf("Check %s#%s@%s: %v", resource, permission, subject, err)
	}
	return res.Allowed
}

// read returns the relationships that match fl, as sorted strings.
func (f *fixture) read(fl gatehouse.Filter) []string {
	f.Helper()
	rels, _, err := f.store.ReadRelationships(f.Context(), fl, gatehouse.Consistency{})
	if err != nil {
		f.Fatalf("ReadRelationships %+v: %v", fl, err)
	}
	return strs(rels)
}

// strs returns the zed notation of each relationship, sorted.
func strs(rels []gatehouse.Relationship) []string {
	out := make([]string, len(rels))
	for i, r := range rels {
		out[i] = r.String()
	}
	slices.Sort(out)
	return out
}

// wantCode fails the test unless err is a *gatehouse.Error with code.
func wantCode(tb testing.TB, what string, err error, code string) {
	tb.Helper()
	var ge *gatehouse.Error
	if !errors.As(err, &ge) {
		tb.Fatalf("%s: error %v (%T), want a *gatehouse.Error with code %s", what, err, err, code)
	}
	if ge.Code != code {
		tb.Fatalf("%s: code %s (%v), want %s", what, ge.Code, err, code)
	}
}

// wantStrings fails the test unless got and want hold the same strings in the same order.
func wantStrings(tb testing.TB, what string, got, want []string) {
	tb.Helper()
	if !slices.Equal(got, want) {
		tb.Fatalf("%s:\n got  %q\n want %q", what, got, want)
	}
}

func randomHex(tb testing.TB, n int) string {
	tb.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func testReady(f *fixture) {
	if err := f.store.Ready(f.Context()); err != nil {
		f.Fatalf("Ready: %v", err)
	}
}
