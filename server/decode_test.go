package server

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/wire"
)

// FuzzDecode holds the body decoder to X5 on any input: it never panics;
// a refusal is invalid_argument naming a field; what it accepts is one
// valid JSON value that the standard decoder reads to the same request,
// with no key repeated and none that matches a field only by letter case.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"resource":"contractor:c1","permission":"view","subject":"user:x"}`,
		`{"resource":"contractor:c1","permission":"view","subject":"user:x","Subject":"user:carla"}`,
		`{"subject":"a","subject":"b"}`,
		`{"resource":"contractor:c1"}}]`,
		`{"items":[{"resource":"r","Resource":"s"}],"consistency":{"fullyConsistent":true}}`,
		`{"context":{"a":1,"a":2}}`, `{"\u0073ubject":"x"}`, `[`, `{}`, ` {} `, `null`, `1`, `"x"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, target := range []func() any{
			func() any { return &wire.CheckRequest{} },
			func() any { return &wire.BulkCheckRequest{} },
		} {
			got := target()
			err := decodeJSON(body, got)
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
