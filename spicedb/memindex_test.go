package spicedb

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	dscfg "github.com/authzed/spicedb/pkg/cmd/datastore"
	"github.com/authzed/spicedb/pkg/datastore"
	"github.com/authzed/spicedb/pkg/datastore/options"
	"github.com/authzed/spicedb/pkg/tuple"
)

// TestIndexedMemoryAnswersAsTheDatastore (issue 11) asks SpiceDB's memory
// datastore and the same datastore behind indexedMemory the same random
// queries, at several revisions with writes between them, and wants the
// same relationships in the same order from both: the index is a faster
// way to the same answer, never another answer. The relationships mix
// plain, caveated, expiring (past and future), wildcard and subject-set
// subjects; the queries mix one and several resource ids (some repeated,
// some absent), subject selectors of every shape, caveat and expiration
// filters, skipped caveats and expirations, limits and orders.
func TestIndexedMemoryAnswersAsTheDatastore(t *testing.T) {
	ctx := t.Context()
	raw, err := dscfg.NewDatastore(ctx, dscfg.DefaultDatastoreConfig().ToOption())
	if err != nil {
		t.Fatal(err)
	}
	ix := newIndexedMemory(raw)
	rng := rand.New(rand.NewPCG(11, 7)) //nolint:gosec // a fixed seed: the same queries every run

	relations := []string{"organisation", "admin_only", "label"}
	subjectOf := func() string {
		switch rng.IntN(6) {
		case 0:
			return "user:*"
		case 1:
			return fmt.Sprintf("organisation:o%d#member", rng.IntN(4))
		case 2:
			return fmt.Sprintf("organisation:o%d", rng.IntN(4))
		default:
			return fmt.Sprintf("user:u%d", rng.IntN(6))
		}
	}
	suffixOf := func() string {
		switch rng.IntN(8) {
		case 0:
			return "[only_weekdays]"
		case 1:
			return `[only_weekdays:{"day":"monday"}]`
		case 2:
			return "[expiration:2020-01-01T00:00:00Z]"
		case 3:
			return "[expiration:2999-01-01T00:00:00Z]"
		}
		return ""
	}
	var revs []datastore.Revision
	for round := range 4 {
		rev, err := raw.ReadWriteTx(ctx, func(ctx context.Context, tx datastore.ReadWriteTransaction) error {
			var ups []tuple.RelationshipUpdate
			seen := map[string]bool{}
			for range 150 {
				rel := tuple.MustParse(fmt.Sprintf("contractor:c%d#%s@%s%s", rng.IntN(40), relations[rng.IntN(len(relations))], subjectOf(), suffixOf()))
				key := tuple.StringWithoutCaveatOrExpiration(rel)
				if seen[key] {
					continue
				}
				seen[key] = true
				if round > 0 && rng.IntN(4) == 0 {
					ups = append(ups, tuple.Delete(rel))
					continue
				}
				ups = append(ups, tuple.Touch(rel))
			}
			return tx.WriteRelationships(ctx, ups)
		})
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		revs = append(revs, rev)
	}

	selectorOf := func() datastore.SubjectsSelector {
		var s datastore.SubjectsSelector
		if rng.IntN(3) > 0 {
			s.OptionalSubjectType = []string{"user", "organisation"}[rng.IntN(2)]
		}
		if rng.IntN(2) == 0 {
			s.OptionalSubjectIds = []string{fmt.Sprintf("u%d", rng.IntN(6)), "*", fmt.Sprintf("o%d", rng.IntN(4))}[:1+rng.IntN(3)]
		}
		switch rng.IntN(5) {
		case 0:
			s.RelationFilter.OnlyNonEllipsisRelations = true
		case 1:
			s.RelationFilter.IncludeEllipsisRelation = true
		case 2:
			s.RelationFilter.NonEllipsisRelation = "member"
		case 3:
			s.RelationFilter.IncludeEllipsisRelation = true
			s.RelationFilter.NonEllipsisRelation = "member"
		}
		return s
	}
	compared, answered := 0, 0
	for q := range 3000 {
		rev := revs[rng.IntN(len(revs))]
		f := datastore.RelationshipsFilter{OptionalResourceType: "contractor", OptionalResourceRelation: relations[rng.IntN(len(relations))]}
		for range 1 + rng.IntN(3) {
			f.OptionalResourceIds = append(f.OptionalResourceIds, fmt.Sprintf("c%d", rng.IntN(45)))
		}
		for range rng.IntN(3) {
			f.OptionalSubjectsSelectors = append(f.OptionalSubjectsSelectors, selectorOf())
		}
		switch rng.IntN(6) {
		case 0:
			f.OptionalCaveatNameFilter = datastore.WithCaveatName("only_weekdays")
		case 1:
			f.OptionalCaveatNameFilter = datastore.WithNoCaveat()
		}
		switch rng.IntN(6) {
		case 0:
			f.OptionalExpirationOption = datastore.ExpirationFilterOptionHasExpiration
		case 1:
			f.OptionalExpirationOption = datastore.ExpirationFilterOptionNoExpiration
		}
		var opts []options.QueryOptionsOption
		if rng.IntN(3) == 0 {
			opts = append(opts, options.WithSkipCaveats(true))
		}
		if rng.IntN(3) == 0 {
			opts = append(opts, options.WithSkipExpiration(true))
		}
		if rng.IntN(4) == 0 {
			opts = append(opts, options.WithLimit(options.LimitOne))
		}
		if rng.IntN(2) == 0 {
			opts = append(opts, options.WithSort(options.ByResource))
		}
		want := collect(t, raw.SnapshotReader(rev), f, opts)
		got := collect(t, ix.SnapshotReader(rev), f, opts)
		if !slices.Equal(got, want) {
			t.Fatalf("query %d at %v, filter %+v, %d options:\n index: %v\n datastore: %v", q, rev, f, len(opts), got, want)
		}
		compared++
		if len(want) > 0 {
			answered++
		}
	}
	// A revision past the head (as SpiceDB's quantised revision often is)
	// reads the head now and the next write after it: asked again after
	// that write, it must not be answered from the index of the old head.
	future, err := raw.RevisionFromString(strconv.FormatInt(time.Now().UnixNano(), 10))
	if err != nil {
		t.Fatal(err)
	}
	f := datastore.RelationshipsFilter{OptionalResourceType: "contractor", OptionalResourceRelation: "organisation", OptionalResourceIds: []string{"c_new"}}
	for range buildAfter + 1 {
		if got := collect(t, ix.SnapshotReader(future), f, nil); len(got) != 0 {
			t.Fatalf("c_new before it is written: %v", got)
		}
	}
	if _, err := raw.ReadWriteTx(ctx, func(ctx context.Context, tx datastore.ReadWriteTransaction) error {
		return tx.WriteRelationships(ctx, []tuple.RelationshipUpdate{tuple.Touch(tuple.MustParse("contractor:c_new#organisation@organisation:o1"))})
	}); err != nil {
		t.Fatal(err)
	}
	// SpiceDB v1.57 reads a revision past the head as the newest snapshot
	// at or before it (v1.56 read the live head): the write, made after
	// future, is not at future, and is at a revision after it.
	after, err := raw.RevisionFromString(strconv.FormatInt(time.Now().UnixNano(), 10))
	if err != nil {
		t.Fatal(err)
	}
	for range buildAfter + 1 {
		for _, at := range []struct {
			rev  datastore.Revision
			want int
		}{{future, 0}, {after, 1}} {
			want := collect(t, raw.SnapshotReader(at.rev), f, nil)
			if got := collect(t, ix.SnapshotReader(at.rev), f, nil); !slices.Equal(got, want) || len(want) != at.want {
				t.Fatalf("at a revision past the old head, after a write: index %v, datastore %v; want %d", got, want, at.want)
			}
		}
	}

	if ix.built.Load() == 0 {
		t.Fatal("the index was never built: the test compared the datastore with itself")
	}
	t.Logf("%d queries compared (%d with relationships), %d indexes built over %d revisions", compared, answered, ix.built.Load(), len(revs))
}

func collect(t *testing.T, r datastore.Reader, f datastore.RelationshipsFilter, opts []options.QueryOptionsOption) []string {
	t.Helper()
	it, err := r.QueryRelationships(t.Context(), f, opts...)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rel, err := range it {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tuple.MustString(rel))
	}
	return out
}
