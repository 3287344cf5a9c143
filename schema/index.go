package schema

import (
	"fmt"

	"github.com/authzed/spicedb/pkg/schemadsl/compiler"
	"github.com/authzed/spicedb/pkg/schemadsl/input"
)

// Index names every object type of a schema and, for each, its relations
// and permissions, so that a request naming an unknown one is refused with
// the field at fault before it reaches SpiceDB.
type Index struct {
	types map[string]map[string]bool
}

// NewIndex compiles text and indexes it.
func NewIndex(text string) (*Index, error) {
	compiled, err := compiler.Compile(compiler.InputSchema{Source: input.Source("schema"), SchemaString: text}, compiler.AllowUnprefixedObjectType())
	if err != nil {
		return nil, fmt.Errorf("compiling the schema: %w", err)
	}
	idx := &Index{types: map[string]map[string]bool{}}
	for _, def := range compiled.ObjectDefinitions {
		rels := map[string]bool{}
		for _, r := range def.GetRelation() {
			rels[r.GetName()] = true
		}
		idx.types[def.GetName()] = rels
	}
	return idx, nil
}

// HasType reports whether the schema defines object type t.
func (i *Index) HasType(t string) bool { _, ok := i.types[t]; return ok }

// Has reports whether type t has a relation or permission named rel.
func (i *Index) Has(t, rel string) bool { return i.types[t][rel] }
