package workflow

import (
	"testing"

	core "github.com/authzed/spicedb/pkg/proto/core/v1"
)

// TestWhyNotRulesCoverTheSchema proves the block rules against the
// schema (X6): every operand of a subtraction or an intersection, other
// than the first, has a rule, or is a union of parts that each have one;
// and every row still names an operand the schema writes.
func TestWhyNotRulesCoverTheSchema(t *testing.T) {
	defs, err := compiledSchema()
	if err != nil {
		t.Fatal(err)
	}
	used := map[int]bool{}
	var covered func(typ, perm string, c *core.SetOperation_Child) bool
	covered = func(typ, perm string, c *core.SetOperation_Child) bool {
		op := operand(c)
		for i, r := range blockRules {
			if r.typ == typ && r.operand == op && (r.permission == perm || r.permission == "") {
				used[i] = true
			}
		}
		if _, ok := ruleOf(typ, perm, op); ok {
			return true
		}
		cu := c.GetComputedUserset()
		if cu == nil {
			return false
		}
		var rel *core.Relation
		for _, r := range defs[typ].GetRelation() {
			if r.GetName() == cu.GetRelation() {
				rel = r
			}
		}
		u := rel.GetUsersetRewrite().GetUnion()
		if u == nil {
			return false
		}
		for _, part := range u.GetChild() {
			if !covered(typ, cu.GetRelation(), part) {
				return false
			}
		}
		return true
	}
	var walk func(typ, perm string, rw *core.UsersetRewrite)
	walk = func(typ, perm string, rw *core.UsersetRewrite) {
		var op *core.SetOperation
		switch {
		case rw.GetUnion() != nil:
			op = rw.GetUnion()
		case rw.GetIntersection() != nil:
			op = rw.GetIntersection()
		default:
			op = rw.GetExclusion()
		}
		for i, c := range op.GetChild() {
			if i > 0 && rw.GetUnion() == nil && !covered(typ, perm, c) {
				t.Errorf("%s#%s: the operand %s of a subtraction or intersection has no rule in blockRules", typ, perm, operand(c))
			}
			if c.GetUsersetRewrite() != nil {
				walk(typ, perm, c.GetUsersetRewrite())
			}
		}
	}
	for typ, d := range defs {
		for _, r := range d.GetRelation() {
			if rw := r.GetUsersetRewrite(); rw != nil {
				walk(typ, r.GetName(), rw)
			}
		}
	}
	for i, r := range blockRules {
		if !used[i] {
			t.Errorf("blockRules row %s %s %q (%s) names no operand of the schema", r.typ, r.permission, r.operand, r.rule)
		}
	}
}
