package server

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

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

// maxDepth is how deeply a body may nest arrays and objects (X5): far
// beyond any request of the API, whose deepest (a context value in a bulk
// check's item) nests about four levels, and shallow enough that no body
// costs more to read than it weighs.
const maxDepth = 32

// maxItems is the most elements an array in a body may hold (X5): ten
// times the longest list of the API (a bulk check's 1000 items), so that
// a list is refused before the standard decoder builds it, at a cost of
// many times its bytes.
const maxItems = 10000

// decodeJSON reads one JSON value into v so that it means one thing (X5):
// unknown fields, duplicate keys, keys that match a field only when letter
// case is ignored, values of the wrong JSON type, nesting deeper than
// maxDepth, anything but whitespace after the value and type mismatches
// are refused, each naming the field at any depth. Whatever its shape, a
// body costs a small constant of memory per byte to read or refuse.
func decodeJSON(body []byte, v any) error {
	w := walker{body: body}
	if err := w.value(reflect.TypeOf(v).Elem(), 0); err != nil {
		return err
	}
	if rest := bytes.TrimSpace(body[w.pos:]); len(rest) > 0 {
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

// walker reads a body once, byte by byte, before the standard decoder
// does, refusing what the standard decoder would take in a way that does
// not mean one thing, or at a cost out of proportion to the body. It
// allocates only for keys (to find duplicates) and for the error it
// returns: the path of the value it is in is spelled out only then.
type walker struct {
	body []byte
	pos  int
	// path holds a step per array or object the walker is in.
	path []step
	// seen holds the keys read so far, each with the object it is in.
	seen    map[seenKey]struct{}
	objects int
}

// step is a key (as written, quotes and escapes included) or, when key
// is nil, an array index.
type step struct {
	key   []byte
	index int
}

type seenKey struct {
	object int
	key    string
}

// where names the value the walker is in, as jsonError and the refusals
// of a field do: "items[1].context.k".
func (w *walker) where() string {
	var b strings.Builder
	for _, s := range w.path {
		if s.key == nil {
			fmt.Fprintf(&b, "[%d]", s.index)
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		k := unquote(s.key)
		if k == "" {
			k = `""`
		}
		b.WriteString(k)
	}
	return b.String()
}

// field is where, or "body" for the body itself.
func (w *walker) field() string {
	if f := w.where(); f != "" {
		return f
	}
	return "body"
}

// value reads one value, whose Go shape is t (nil when any shape goes),
// nested depth arrays and objects deep.
func (w *walker) value(t reflect.Type, depth int) error {
	t = shape(t)
	w.space()
	if w.pos == len(w.body) {
		return gatehouse.Invalid("body", "malformed JSON: unexpected end")
	}
	var kind string
	switch c := w.body[w.pos]; c {
	case '[', '{':
		if depth == maxDepth {
			return gatehouse.Invalid("body", "JSON nests deeper than %d levels (at byte %d)", maxDepth, w.pos)
		}
		kind = "array"
		if c == '{' {
			kind = "object"
		}
	case '"':
		kind = "string"
	case 't', 'f':
		kind = "bool"
	case 'n':
		return w.literal("null")
	default:
		kind = "number"
	}
	if t != nil && !fits(t, kind) {
		// The wrong type is refused after the value is read, so that a
		// body too deep is refused as such wherever it is.
		at := w.where()
		if err := w.value(nil, depth); err != nil {
			return err
		}
		if at == "" {
			return gatehouse.Invalid("body", "the body must be a JSON object, not %s", kind)
		}
		return gatehouse.Invalid(at, "%s must be %s, not %s", at, t, kind)
	}
	switch kind {
	case "array":
		return w.array(t, depth+1)
	case "object":
		return w.object(t, depth+1)
	case "string":
		_, err := w.string()
		return err
	case "bool":
		if w.body[w.pos] == 't' {
			return w.literal("true")
		}
		return w.literal("false")
	}
	return w.number(t)
}

func (w *walker) array(t reflect.Type, depth int) error {
	var elem reflect.Type
	if t != nil {
		elem = t.Elem()
	}
	w.pos++
	if w.space(); w.peek() == ']' {
		w.pos++
		return nil
	}
	w.path = append(w.path, step{})
	top := len(w.path) - 1
	for i := 0; ; i++ {
		w.path[top].index = i
		if i == maxItems {
			w.path = w.path[:top]
			return gatehouse.Invalid(w.field(), "an array may hold at most %d elements", maxItems)
		}
		if err := w.value(elem, depth); err != nil {
			return err
		}
		w.space()
		switch w.peek() {
		case ',':
			w.pos++
		case ']':
			w.pos++
			w.path = w.path[:top]
			return nil
		default:
			return w.malformed()
		}
	}
}

func (w *walker) object(t reflect.Type, depth int) error {
	fields := w.fieldsOf(t)
	w.objects++
	object := w.objects
	w.pos++
	if w.space(); w.peek() == '}' {
		w.pos++
		return nil
	}
	w.path = append(w.path, step{})
	top := len(w.path) - 1
	for {
		w.space()
		if w.peek() != '"' {
			return w.malformed()
		}
		raw, err := w.string()
		if err != nil {
			return err
		}
		w.path[top].key = raw
		key := unquote(raw)
		if _, dup := w.seen[seenKey{object, key}]; dup {
			return gatehouse.Invalid(w.where(), "duplicate key %q", key)
		}
		if w.seen == nil {
			w.seen = map[seenKey]struct{}{}
		}
		w.seen[seenKey{object, key}] = struct{}{}
		var ft reflect.Type
		if fields != nil {
			f, ok := fields[key]
			if !ok {
				return unknownField(fields, w.where(), key)
			}
			ft = f
		} else if t != nil && t.Kind() == reflect.Map {
			ft = t.Elem()
		}
		if w.space(); w.peek() != ':' {
			return w.malformed()
		}
		w.pos++
		if err := w.value(ft, depth); err != nil {
			return err
		}
		w.space()
		switch w.peek() {
		case ',':
			w.pos++
		case '}':
			w.pos++
			w.path = w.path[:top]
			return nil
		default:
			return w.malformed()
		}
	}
}

// string reads a string and returns it as written, quotes included.
func (w *walker) string() ([]byte, error) {
	start := w.pos
	w.pos++
	for w.pos < len(w.body) {
		switch c := w.body[w.pos]; {
		case c == '"':
			w.pos++
			return w.body[start:w.pos], nil
		case c == '\\':
			w.pos++
			switch w.peek() {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				w.pos++
			case 'u':
				w.pos++
				for range 4 {
					if !isHex(w.peek()) {
						return nil, w.malformed()
					}
					w.pos++
				}
			default:
				return nil, w.malformed()
			}
		case c < 0x20:
			return nil, w.malformed()
		default:
			w.pos++
		}
	}
	return nil, w.malformed()
}

// number reads a number; one that a float64 cannot hold is refused
// where t takes floats, as the standard decoder would, but at the first.
func (w *walker) number(t reflect.Type) error {
	start := w.pos
	if w.peek() == '-' {
		w.pos++
	}
	switch c := w.peek(); {
	case c == '0':
		w.pos++
	case '1' <= c && c <= '9':
		w.digits()
	default:
		return w.malformed()
	}
	if w.peek() == '.' {
		w.pos++
		if !isDigit(w.peek()) {
			return w.malformed()
		}
		w.digits()
	}
	if c := w.peek(); c == 'e' || c == 'E' {
		w.pos++
		if c := w.peek(); c == '+' || c == '-' {
			w.pos++
		}
		if !isDigit(w.peek()) {
			return w.malformed()
		}
		w.digits()
	}
	if t == nil || t.Kind() == reflect.Float64 || t.Kind() == reflect.Float32 {
		n := w.body[start:w.pos]
		if _, err := strconv.ParseFloat(string(n), 64); errors.Is(err, strconv.ErrRange) {
			return gatehouse.Invalid(w.field(), "number %s is out of range", clip(n))
		}
	}
	return nil
}

func (w *walker) digits() {
	for isDigit(w.peek()) {
		w.pos++
	}
}

func (w *walker) literal(lit string) error {
	if !bytes.HasPrefix(w.body[w.pos:], []byte(lit)) {
		return w.malformed()
	}
	w.pos += len(lit)
	return nil
}

func (w *walker) space() {
	for w.pos < len(w.body) {
		switch w.body[w.pos] {
		case ' ', '\t', '\n', '\r':
			w.pos++
		default:
			return
		}
	}
}

// peek returns the next byte, or 0 at the end.
func (w *walker) peek() byte {
	if w.pos < len(w.body) {
		return w.body[w.pos]
	}
	return 0
}

func (w *walker) malformed() error {
	if w.pos >= len(w.body) {
		return gatehouse.Invalid("body", "malformed JSON: unexpected end")
	}
	return gatehouse.Invalid("body", "malformed JSON at byte %d", w.pos)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isHex(c byte) bool {
	return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// unquote returns the text of a string read by walker.string, as the
// standard decoder reads it (invalid UTF-8 becomes U+FFFD).
func unquote(raw []byte) string {
	if bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
		return string(raw[1 : len(raw)-1])
	}
	var s string
	_ = json.Unmarshal(raw, &s) // walker.string has checked its escapes
	return s
}

// shape returns the Go type a JSON value fills for t: t without its
// pointers, or nil when the standard decoder takes any JSON type (an
// interface, or a type that decodes itself).
func shape(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() == reflect.Interface {
		return nil
	}
	p := reflect.PointerTo(t)
	if p.Implements(reflect.TypeFor[json.Unmarshaler]()) || p.Implements(reflect.TypeFor[encoding.TextUnmarshaler]()) {
		return nil
	}
	if t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 {
		return nil // base64 text
	}
	return t
}

// fits says whether the standard decoder puts a JSON value of kind into t.
func fits(t reflect.Type, kind string) bool {
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return kind == "object"
	case reflect.Slice, reflect.Array:
		return kind == "array"
	case reflect.String:
		return kind == "string"
	case reflect.Bool:
		return kind == "bool"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return kind == "number"
	}
	return true
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

// knownFields holds fieldsOf of each type a body was read into, once per
// process: the API's types are few, and the maps are only read.
var knownFields sync.Map // reflect.Type → map[string]reflect.Type

// fieldsOf is fieldsOf, once per type.
func (w *walker) fieldsOf(t reflect.Type) map[string]reflect.Type {
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	if f, ok := knownFields.Load(t); ok {
		return f.(map[string]reflect.Type) //nolint:forcetypeassert // only fieldsOf's maps are stored
	}
	f := fieldsOf(t)
	knownFields.Store(t, f)
	return f
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
