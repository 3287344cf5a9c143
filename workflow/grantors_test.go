package workflow

import (
	"slices"
	"testing"

	core "github.com/authzed/spicedb/pkg/proto/core/v1"
	"github.com/authzed/spicedb/pkg/schemadsl/compiler"
	"github.com/authzed/spicedb/pkg/schemadsl/input"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/schema"
)

// TestGrantorsMatchTheSchema proves the table that says which of an
// actor's relationships a write pins (grantors) against the schema: each
// permission unfolds, through unions of the organisation's own relations
// and permissions, to exactly the relations listed. A relation missing
// from the table would make every write by its holders a 409; one too
// many would pin a relationship that does not grant the permission.
func TestGrantorsMatchTheSchema(t *testing.T) {
	compiled, err := compiler.Compile(compiler.InputSchema{Source: input.Source("schema"), SchemaString: schema.Text}, compiler.AllowUnprefixedObjectType())
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(compiled.ObjectDefinitions, func(d *core.NamespaceDefinition) bool { return d.GetName() == gatehouse.TypeOrganisation })
	if i < 0 {
		t.Fatal("the schema defines no organisation")
	}
	rels := map[string]*core.Relation{}
	for _, r := range compiled.ObjectDefinitions[i].GetRelation() {
		rels[r.GetName()] = r
	}
	var unfold func(name string) []string
	unfold = func(name string) []string {
		r := rels[name]
		if r == nil {
			t.Fatalf("organisation has no relation or permission %q", name)
		}
		rw := r.GetUsersetRewrite()
		if rw == nil {
			return []string{name}
		}
		children := rw.GetUnion().GetChild()
		if ex := rw.GetExclusion(); ex != nil {
			// R7: base - no_financial_accesses. The base's relations grant;
			// the workflow pins the absence of the designation besides.
			children = ex.GetChild()[:1]
		}
		if len(children) == 0 {
			t.Fatalf("%s is neither a plain union nor one less a designation; the grantors table cannot describe it", name)
		}
		var out []string
		for _, c := range children {
			cu := c.GetComputedUserset()
			if cu == nil {
				t.Fatalf("%s has a part other than a relation or permission", name)
			}
			for _, x := range unfold(cu.GetRelation()) {
				if !slices.Contains(out, x) {
					out = append(out, x)
				}
			}
		}
		return out
	}
	for _, p := range []string{
		"delete", "transfer_ownership", "delegate_security_admin", "delegate_alternate_security_admin",
		"manage_members", "manage_designations", "manage_team_members", "manage_contractors", "manage_billing", "member", "edit_details",
	} {
		t.Run(p, func(t *testing.T) {
			got, want := unfold(p), slices.Clone(grantors(p))
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("the schema grants %s to %v; the table says %v", p, got, want)
			}
		})
	}
	// Every permission the admin endpoints require is in the table, or is provider_staff.
	for _, role := range gatehouse.Roles() {
		if p := RolePermission(role); role != gatehouse.RoleOwner && grantors(p) == nil {
			t.Errorf("granting %s needs %s, which the table lacks", role, p)
		}
	}
	for _, d := range gatehouse.Designations() {
		if p := DesignationPermission(d); p != gatehouse.PermProviderStaff && grantors(p) == nil {
			t.Errorf("giving %s needs %s, which the table lacks", d, p)
		}
	}
}
