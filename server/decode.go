package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/gatehouse-authz/gatehouse"
)

// maxBody is the largest request body accepted (1 MiB).
const maxBody = 1 << 20

// decode reads the JSON body into v strictly: unknown fields, trailing
// data, bodies over 1 MiB and type mismatches are refused, naming the field.
func decode(c *gin.Context, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return &gatehouse.Error{Code: gatehouse.ETOOLARGE, Message: "request body exceeds 1 MiB"}
		}
		return gatehouse.Invalid("body", "reading the body: %v", err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return gatehouse.Invalid("body", "a JSON body is required")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return gatehouse.Invalid("body", "only one JSON value is accepted")
	}
	return nil
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
	case errors.Is(err, io.ErrUnexpectedEOF):
		return gatehouse.Invalid("body", "malformed JSON: unexpected end")
	}
	return gatehouse.Invalid("body", "malformed JSON: %v", err)
}

// ConsistencyJSON is the consistency a read may ask for; at most one field is set.
type ConsistencyJSON struct {
	AtLeastAsFresh  string `json:"atLeastAsFresh,omitempty"`
	FullyConsistent bool   `json:"fullyConsistent,omitempty"`
	MinimizeLatency bool   `json:"minimizeLatency,omitempty"`
}

func (c *ConsistencyJSON) parse(field string) (gatehouse.Consistency, error) {
	if c == nil {
		return gatehouse.Consistency{}, nil
	}
	n := 0
	if c.AtLeastAsFresh != "" {
		n++
	}
	if c.FullyConsistent {
		n++
	}
	if c.MinimizeLatency {
		n++
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
	if err := required(field, v); err != nil {
		return err
	}
	if !gatehouse.ValidRelation(v) {
		return gatehouse.Invalid(field, "%q is not a valid permission name", v)
	}
	return nil
}

func typeName(field, v string) error {
	if err := required(field, v); err != nil {
		return err
	}
	if !gatehouse.ValidType(v) {
		return gatehouse.Invalid(field, "%q is not a valid object type", v)
	}
	return nil
}
