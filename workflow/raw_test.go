package workflow

import (
	"errors"
	"fmt"
	"testing"

	"github.com/authzed/spicedb/pkg/schemadsl/compiler"
	"github.com/authzed/spicedb/pkg/schemadsl/input"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/schema"
)

// TestRawClassification proves the X4 table against the schema and the
// refusals CheckRawUpdate makes of it.
func TestRawClassification(t *testing.T) {
	t.Run("X4_every_relation_of_the_schema_is_classified", func(t *testing.T) {
		compiled, err := compiler.Compile(compiler.InputSchema{Source: input.Source("schema"), SchemaString: schema.Text}, compiler.AllowUnprefixedObjectType())
		if err != nil {
			t.Fatal(err)
		}
		inSchema := map[relationKey]bool{}
		for _, def := range compiled.ObjectDefinitions {
			for _, r := range def.GetRelation() {
				if r.GetUsersetRewrite() != nil {
					continue // a permission: nothing writes it
				}
				k := relationKey{def.GetName(), r.GetName()}
				inSchema[k] = true
				if _, ok := relationClasses[k]; !ok {
					t.Errorf("%s#%s is in the schema but not classified for X4: add it to classify() in raw.go", k.resourceType, k.relation)
				}
			}
		}
		for k := range relationClasses {
			if !inSchema[k] {
				t.Errorf("classify() names %s#%s, which the schema does not define", k.resourceType, k.relation)
			}
		}
	})

	for _, tc := range []struct {
		rule, rel   string
		platformKey bool
		code        string // "" when the change is allowed
	}{
		{"O2", "organisation:acme#owner@user:zed", false, gatehouse.ERULE},
		{"S1", "organisation:acme#security_admin@user:zed", false, gatehouse.ERULE},
		{"S1", "organisation:acme#alternate_security_admin@user:zed", false, gatehouse.ERULE},
		{"X4", "organisation:acme#platform@platform:provider", false, gatehouse.ERULE},
		{"K1", "contractor:c1#organisation@organisation:acme", false, gatehouse.ERULE},
		{"K1", "invoice:i1#organisation@organisation:acme", false, gatehouse.ERULE},
		{"T4", "organisation:acme#main_contact@user:zed", false, gatehouse.ERULE},
		{"T4", "organisation:acme#verified_director@user:zed", false, gatehouse.ERULE},
		{"T4", "organisation:acme#unavailable_contact@user:zed", false, gatehouse.ERULE},
		{"C1", "change_request:cr#requester@user:zed", false, gatehouse.ERULE},
		{"C2", "change_request:cr#public_facing@organisation:acme", false, gatehouse.ERULE},
		{"C4", "change_request:cr#authorised_by@user:zed", false, gatehouse.ERULE},
		{"C10", "change_request:cr#security_approved_by@user:zed", false, gatehouse.ERULE},
		{"C6", "change_kind:acme/service#exception@user:zed", false, gatehouse.ERULE},
		{"C6", "change_target:acme/service/page/x#exception@user:zed", false, gatehouse.ERULE},
		{"X4", "platform:provider#staff@user:zed", false, gatehouse.EFORBIDDEN},
		{"X4", "platform:provider#staff@user:zed", true, ""},
		{"X4", "organisation:acme#administrator@user:zed", false, ""},
		{"X4", "organisation:acme#cis_processor@user:zed", false, ""},
		{"X4", "contractor:c1#label@label:abc", false, ""},
	} {
		verdict := "free"
		if tc.code != "" {
			verdict = "refused_" + tc.code
		}
		t.Run(fmt.Sprintf("%s_%s_%s", tc.rule, tc.rel, verdict), func(t *testing.T) {
			r, err := gatehouse.ParseRelationship("rel", tc.rel)
			if err != nil {
				t.Fatal(err)
			}
			err = CheckRawUpdate("touch[3]", r, tc.platformKey)
			if tc.code == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var e *gatehouse.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want a %s naming %s", err, tc.code, tc.rule)
			}
			if e.Code != tc.code || e.Rule != tc.rule || e.Field != "touch[3]" {
				t.Errorf("err = %+v, want code %s, rule %s, field touch[3]", e, tc.code, tc.rule)
			}
		})
	}

	t.Run("X4_an_unclassified_relation_is_refused", func(t *testing.T) {
		err := CheckRawUpdate("delete[0]", gatehouse.Relationship{Resource: gatehouse.MustObject("organisation:acme"), Relation: "pilot"}, true)
		if gatehouse.ErrorCode(err) != gatehouse.ERULE {
			t.Errorf("err = %v, want a rule violation", err)
		}
	})
}
