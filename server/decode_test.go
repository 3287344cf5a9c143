package server

import (
	"encoding/json"
	"errors"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/wire"
)

// The decoder's cost bound (X5, issue 19): reading or refusing any body
// allocates at most allocPerByte bytes per body byte plus allocBase. The
// worst shapes measured stay under 100 per byte: 10,000 empty items of a
// bulk check (the standard decoder grows the slice 1.25-fold at a time),
// and context lists of 9,999 empty objects each.
const (
	allocPerByte = 128
	allocBase    = 64 << 10
)

// depthOf is how deeply body nests arrays and objects, strings skipped.
func depthOf(body []byte) int {
	depth, deepest, inString := 0, 0, false
	for i := 0; i < len(body); i++ {
		switch c := body[i]; {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case inString:
		case c == '[' || c == '{':
			depth++
			deepest = max(deepest, depth)
		case c == ']' || c == '}':
			depth--
		}
	}
	return deepest
}

// FuzzDecode holds the body decoder to X5 on any input: it never panics;
// a refusal is invalid_argument naming a field; a body nested deeper than
// maxDepth is refused; reading it allocates within allocPerByte per byte
// plus allocBase; what it accepts is one valid JSON value that the
// standard decoder reads to the same request, with no key repeated and
// none that matches a field only by letter case.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"resource":"contractor:c1","permission":"view","subject":"user:x"}`,
		`{"resource":"contractor:c1","permission":"view","subject":"user:x","Subject":"user:carla"}`,
		`{"subject":"a","subject":"b"}`,
		`{"resource":"contractor:c1"}}]`,
		`{"items":[{"resource":"r","Resource":"s"}],"consistency":{"fullyConsistent":true}}`,
		`{"context":{"a":1,"a":2}}`, `{"\u0073ubject":"x"}`, `[`, `{}`, ` {} `, `null`, `1`, `"x"`,
		"{\"context\":{\"\xff\":1,\"\xfe\":2}}", `{"items":[0]}`, `{"context":{"n":1e999}}`,
		strings.Repeat("[", maxDepth+1), strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth),
		`{"context":` + strings.Repeat(`{"a":`, maxDepth) + "1" + strings.Repeat("}", maxDepth+1),
		`{"items":[` + strings.Repeat(`{},`, 1000) + `{}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, target := range []func() any{
			func() any { return &wire.CheckRequest{} },
			func() any { return &wire.BulkCheckRequest{} },
		} {
			got := target()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			err := decodeJSON(body, got)
			runtime.ReadMemStats(&after)
			if n := after.TotalAlloc - before.TotalAlloc; n > allocPerByte*uint64(len(body))+allocBase {
				t.Fatalf("%.100q: %d bytes allocated for a body of %d", body, n, len(body))
			}
			if err == nil && depthOf(body) > maxDepth {
				t.Fatalf("%.100q: accepted a body nested deeper than %d", body, maxDepth)
			}
			if err != nil {
				var e *gatehouse.Error
				if !errors.As(err, &e) || e.Code != gatehouse.EINVALID || e.Field == "" {
					t.Fatalf("%q: refusal %v does not name a field", body, err)
				}
				continue
			}
			if !json.Valid(body) {
				t.Fatalf("%q: accepted invalid JSON", body)
			}
			want := target()
			if err := json.Unmarshal(body, want); err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("%q: decoded %+v, the standard decoder %+v (%v)", body, got, want, err)
			}
		}
	})
}

// TestDecodeNamesTheField covers X5 at every depth, by the field it names.
func TestDecodeNamesTheField(t *testing.T) {
	for _, tc := range []struct{ body, field string }{
		{`{"subject":"user:x","Subject":"user:carla"}`, "Subject"},
		{`{"subject":"user:x","subject":"user:carla"}`, "subject"},
		{`{"subject":"user:x"}}]`, "body"},
		{`{"subject":"user:x"} {}`, "body"},
		{`{"items":[{},{"permission":"a","PERMISSION":"b"}]}`, "items[1].PERMISSION"},
		{`{"consistency":{"minimizeLatency":true,"minimizeLatency":true}}`, "consistency.minimizeLatency"},
		{`{"items":[{"context":{"k":{"x":1,"x":2}}}]}`, "items[0].context.k.x"},
		{`{"items":[{},{"context":{"":{"x":1,"x":2}}}]}`, `items[1].context."".x`},
		{`{"items":[{},0]}`, "items[1]"},
		{`{"subject":1}`, "subject"},
		{`{"context":{"a":[1,1e400]}}`, "context.a[1]"},
		{`[1]`, "body"},
		{`{"context":` + strings.Repeat(`{"a":`, maxDepth) + "1" + strings.Repeat("}", maxDepth+1), "body"},
	} {
		var v wire.BulkCheckRequest
		var c wire.CheckRequest
		target := any(&c)
		if tc.body[2] == 'i' {
			target = &v
		}
		err := decodeJSON([]byte(tc.body), target)
		var e *gatehouse.Error
		if !errors.As(err, &e) || e.Code != gatehouse.EINVALID || e.Field != tc.field {
			t.Errorf("%s: got %v, want invalid_argument on %q", tc.body, err, tc.field)
		}
	}
}
