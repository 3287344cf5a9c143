package console_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse"
)

// TestNoStoreReads holds the console to one command layer with the API
// (issue 22 item 1): no file of it but its tests calls a method of
// gatehouse.Store (a check, a lookup, a read, a write) on the Store it is
// given, and the Store appears only where the dry run of a confirmation
// takes it (dryrun.New) and where New requires it. What a page shows and
// offers comes from the workflow (its reads, and Abilities).
func TestNoStoreReads(t *testing.T) {
	storeMethods := map[string]bool{}
	st := reflect.TypeFor[gatehouse.Store]()
	for i := range st.NumMethod() {
		storeMethods[st.Method(i).Name] = true
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		// allowed are the Store selectors New's check and dryrun.New take.
		allowed := map[ast.Expr]bool{}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				if fn, ok := n.Fun.(*ast.SelectorExpr); ok {
					if pkg, ok := fn.X.(*ast.Ident); ok && pkg.Name == "dryrun" && fn.Sel.Name == "New" && len(n.Args) > 0 {
						allowed[n.Args[0]] = true
					}
				}
			case *ast.BinaryExpr:
				if id, ok := n.Y.(*ast.Ident); ok && id.Name == "nil" {
					allowed[n.X] = true
				}
			}
			return true
		})
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if storeMethods[sel.Sel.Name] && mentionsStore(sel.X) {
				t.Errorf("%s: calls Store.%s; read through a workflow method instead", fset.Position(sel.Pos()), sel.Sel.Name)
			}
			if pkg, ok := sel.X.(*ast.Ident); ok && pkg.Name == "gatehouse" {
				return true // the type, in Config
			}
			if sel.Sel.Name == "Store" && !allowed[sel] {
				t.Errorf("%s: uses the Store beyond the dry run of a confirmation", fset.Position(sel.Pos()))
			}
			return true
		})
	}
	if checked < 10 {
		t.Fatalf("checked %d files: run from the console's folder", checked)
	}
}

// mentionsStore reports whether e is, or selects from, something named Store.
func mentionsStore(e ast.Expr) bool {
	for {
		switch x := e.(type) {
		case *ast.SelectorExpr:
			if x.Sel.Name == "Store" {
				return true
			}
			e = x.X
		case *ast.Ident:
			return x.Name == "Store"
		default:
			return false
		}
	}
}
