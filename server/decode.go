package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/wire"
)

// maxBody is the largest request body accepted (1 MiB).
const maxBody = 1 << 20

// readBody reads the request body into v strictly (see decodeJSON); an
// empty body is refused unless optional, when it leaves v as it is.
func readBody(w http.ResponseWriter, r *http.Request, v any, optional bool) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return &gatehouse.Error{Code: gatehouse.ETOOLARGE, Message: "request body exceeds 1 MiB"}
		}
		return gatehouse.Invalid("body", "reading the body: %v", err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if optional {
			return nil
		}
		return gatehouse.Invalid("body", "a JSON body is required")
	}
	return decodeJSON(body, v)
}

// decodeJSON reads one JSON value into v so that it means one thing (X5):
// unknown fields, duplicate keys, keys that match a field only when letter
// case is ignored, anything but whitespace after the value and type
// mismatches are refused, each naming the field at any depth.
func decodeJSON(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := walk(dec, reflect.TypeOf(v).Elem(), ""); err != nil {
		return err
	}
	if rest := bytes.TrimSpace(body[dec.InputOffset():]); len(rest) > 0 {
		return gatehouse.Invalid("body", "only one JSON value is accepted; found %q after it", clip(rest))
	}
	strict := json.NewDecoder(bytes.NewReader(body))
	strict.DisallowUnknownFields()
	if err := strict.Decode(v); err != nil {
		return jsonError(err)
	}
	return nil
}

func clip(b []byte) string {
	if len(b) > 16 {
		return string(b[:16]) + "…"
	}
	return string(b)
}

// walk reads one value of dec, whose Go shape is t (nil when any shape
// goes), refusing keys that would not mean one thing; path names the value.
func walk(dec *json.Decoder, t reflect.Type, path string) error {
	tok, err := dec.Token()
	if err != nil {
		return jsonError(err)
	}
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch tok {
	case json.Delim('['):
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for i := 0; dec.More(); i++ {
			if err := walk(dec, elem, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case json.Delim('{'):
		fields := fieldsOf(t)
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return jsonError(err)
			}
			key, _ := kt.(string)
			field := join(path, key)
			if seen[key] {
				return gatehouse.Invalid(field, "duplicate key %q", key)
			}
			seen[key] = true
			var ft reflect.Type
			if fields != nil {
				f, ok := fields[key]
				if !ok {
					return unknownField(fields, field, key)
				}
				ft = f
			} else if t != nil && t.Kind() == reflect.Map {
				ft = t.Elem()
			}
			if err := walk(dec, ft, field); err != nil {
				return err
			}
		}
	default:
		return nil
	}
	_, err = dec.Token() // the closing delimiter
	if err != nil {
		return jsonError(err)
	}
	return nil
}

// unknownField refuses key, saying which field it resembles when it
// differs from one only in letter case (Go would quietly take it for that).
func unknownField(fields map[string]reflect.Type, field, key string) error {
	for name := range fields {
		if strings.EqualFold(name, key) {
			return gatehouse.Invalid(field, "unknown field %q: field names are case-sensitive (did you mean %q?)", key, name)
		}
	}
	return gatehouse.Invalid(field, "unknown field %q", key)
}

func join(path, key string) string {
	if key == "" {
		key = `""`
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// fieldsOf maps the JSON names of a struct's fields to their types; nil
// when t is not a struct.
func fieldsOf(t reflect.Type) map[string]reflect.Type {
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-" || !f.IsExported() && !f.Anonymous:
		case f.Anonymous && name == "":
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			for k, v := range fieldsOf(ft) {
				out[k] = v
			}
		case name == "":
			out[f.Name] = f.Type
		default:
			out[name] = f.Type
		}
	}
	return out
}

func jsonError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return gatehouse.Invalid("body", "malformed JSON at byte %d", syntax.Offset)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return gatehouse.Invalid("body", "the body must be a JSON object, not %s", typ.Value)
		}
		return gatehouse.Invalid(typ.Field, "%s must be %s, not %s", typ.Field, typ.Type, typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return gatehouse.Invalid(f, "unknown field %q", f)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return gatehouse.Invalid("body", "malformed JSON: unexpected end")
	}
	return gatehouse.Invalid("body", "malformed JSON: %v", err)
}

// consistency validates the consistency a read asks for; at most one field may be set.
func consistency(field string, c *wire.Consistency) (gatehouse.Consistency, error) {
	if c == nil {
		return gatehouse.Consistency{}, nil
	}
	n := 0
	for _, set := range []bool{c.AtLeastAsFresh != "", c.FullyConsistent, c.MinimizeLatency} {
		if set {
			n++
		}
	}
	if n > 1 {
		return gatehouse.Consistency{}, gatehouse.Invalid(field, "choose one of atLeastAsFresh, fullyConsistent and minimizeLatency")
	}
	return gatehouse.Consistency{AtLeastAsFresh: c.AtLeastAsFresh, FullyConsistent: c.FullyConsistent, MinimizeLatency: c.MinimizeLatency}, nil
}

func required(field, v string) error {
	if v == "" {
		return gatehouse.Invalid(field, "%s is required", field)
	}
	return nil
}

func permissionName(field, v string) error {
	return name(field, v, "permission name", gatehouse.ValidRelation)
}

func typeName(field, v string) error {
	return name(field, v, "object type", gatehouse.ValidType)
}

// name refuses a missing name, or one that valid refuses.
func name(field, v, what string, valid func(string) bool) error {
	if err := required(field, v); err != nil {
		return err
	}
	if !valid(v) {
		return gatehouse.Invalid(field, "%q is not a valid %s", v, what)
	}
	return nil
}
