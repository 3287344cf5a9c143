package spicedb

import (
	"encoding/base64"
	"slices"
	"strconv"
	"strings"

	implv1 "github.com/authzed/spicedb/pkg/proto/impl/v1"
	"google.golang.org/protobuf/proto"
)

// revision is a SpiceDB revision read from a ZedToken, in a form that can
// be ordered: a number (memory, MySQL and Spanner revisions are integers,
// CockroachDB's a decimal: wall time, then a logical clock) or a Postgres
// snapshot (xmin, xmax and the transactions in progress between them). The
// zero revision is one Gatehouse cannot read (another datastore's format),
// and orders against nothing.
type revision struct {
	whole, frac int64 // a number: whole.frac
	numeric     bool
	pg          *implv1.PostgresRevision
}

// parseRevision reads the revision of ZedToken tok.
func parseRevision(tok string) revision {
	rev := revisionOf(tok)
	if rev == "" {
		return revision{}
	}
	whole, frac, dotted := strings.Cut(rev, ".")
	if w, err := strconv.ParseInt(whole, 10, 64); err == nil {
		r := revision{whole: w, numeric: true}
		if dotted {
			f, err := strconv.ParseInt(frac, 10, 64)
			if err != nil {
				return revision{}
			}
			r.frac = f // fixed width in SpiceDB's encoding, so ordered as a number
		}
		return r
	}
	b, err := base64.StdEncoding.DecodeString(rev)
	if err != nil {
		return revision{}
	}
	pg := &implv1.PostgresRevision{}
	if err := proto.Unmarshal(b, pg); err != nil || pg.GetXmin() == 0 {
		return revision{}
	}
	return revision{pg: pg}
}

// known reports whether r is a revision Gatehouse can order.
func (r revision) known() bool { return r.numeric || r.pg != nil }

// atLeast reports whether r is known to include everything b does: false
// when either cannot be read, or they are of two datastores.
func (r revision) atLeast(b revision) bool {
	switch {
	case r.numeric && b.numeric:
		return r.whole > b.whole || (r.whole == b.whole && r.frac >= b.frac)
	case r.pg != nil && b.pg != nil:
		return pgIncludes(r.pg, b.pg)
	}
	return false
}

// pgIncludes reports whether every transaction visible in Postgres
// snapshot b is visible in a. A transaction x is visible in a snapshot
// when x < xmin, or x < xmax and x is not among those in progress.
func pgIncludes(a, b *implv1.PostgresRevision) bool {
	aMax, bMax := a.GetXmin()+uint64(a.GetRelativeXmax()), b.GetXmin()+uint64(b.GetRelativeXmax())
	aXips, bXips := xips(a), xips(b)
	// A transaction in a's progress list is invisible there: it must be
	// invisible in b too.
	for _, x := range aXips {
		if x < b.GetXmin() || (x < bMax && !slices.Contains(bXips, x)) {
			return false
		}
	}
	// Every transaction from a's xmax up is invisible in a: b must not see
	// one either, so all of [aMax, bMax) are in b's progress list.
	if bMax > aMax {
		if aMax < b.GetXmin() {
			return false
		}
		for x := aMax; x < bMax; x++ {
			if !slices.Contains(bXips, x) {
				return false
			}
		}
	}
	return true
}

func xips(r *implv1.PostgresRevision) []uint64 {
	out := make([]uint64, len(r.GetRelativeXips()))
	for i, d := range r.GetRelativeXips() {
		out[i] = r.GetXmin() + uint64(d)
	}
	return out
}
