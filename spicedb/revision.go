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
	pg          *pgSnapshot
}

// pgSnapshot is a Postgres snapshot: every transaction below xmin is
// visible, and those below xmax but for xips.
type pgSnapshot struct {
	xmin, xmax uint64
	xips       []uint64
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
	rel := pg.GetRelativeXmax()
	if rel < 0 {
		return revision{}
	}
	snap := &pgSnapshot{xmin: pg.GetXmin(), xmax: pg.GetXmin() + uint64(rel)}
	for _, d := range pg.GetRelativeXips() {
		if d < 0 {
			return revision{}
		}
		snap.xips = append(snap.xips, pg.GetXmin()+uint64(d))
	}
	return revision{pg: snap}
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
// snapshot b is visible in a, as SpiceDB's own comparison has it
// (otherHasMoreInfo). A transaction x is visible in a snapshot when
// x < xmin, or x < xmax and x is not among those in progress.
func pgIncludes(a, b *pgSnapshot) bool {
	// A transaction in a's progress list is invisible there: it must be
	// invisible in b too.
	for _, x := range a.xips {
		if x < b.xmin || (x < b.xmax && !slices.Contains(b.xips, x)) {
			return false
		}
	}
	// Every transaction from a's xmax up is invisible in a: b must not see
	// one either, so all of [a.xmax, b.xmax) are in b's progress list.
	if b.xmax > a.xmax {
		if a.xmax < b.xmin {
			return false
		}
		for x := a.xmax; x < b.xmax; x++ {
			if !slices.Contains(b.xips, x) {
				return false
			}
		}
	}
	return true
}
