package server

import (
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/wire"
)

// handleOpenAPI serves GET /openapi.json, built from the route table and the
// request and response types, so the document describes what is enforced.
func handleOpenAPI() gin.HandlerFunc {
	doc := openAPI()
	return func(c *gin.Context) { c.JSON(http.StatusOK, doc) }
}

var pathParam = regexp.MustCompile(`\{([a-zA-Z]+)\}`)

// obj is one JSON object of the document.
type obj = map[string]any

func ref(name string) obj { return obj{"$ref": "#/components/schemas/" + name} }

func jsonContent(schema obj, example any) obj {
	media := obj{"schema": schema}
	if example != nil {
		media["example"] = example
	}
	return obj{"application/json": media}
}

func errResp(desc string, headers obj) obj {
	return obj{"description": desc, "content": jsonContent(ref("Error"), nil), "headers": withRequestID(headers)}
}

// withRequestID adds X-Request-Id, which every answer carries, to headers.
func withRequestID(headers obj) obj {
	h := obj{requestIDHeader: requestIDDoc}
	for k, v := range headers {
		h[k] = v
	}
	return h
}

var (
	retryAfter = obj{"Retry-After": obj{"description": "seconds to wait before retrying", "schema": obj{"type": "integer"}}}
	zedToken   = obj{wire.ZedTokenHeader: obj{"description": "the ZedToken of the write; pass it as consistency.atLeastAsFresh to read it elsewhere", "schema": obj{"type": "string"}}}
	location   = obj{"Location": obj{"description": "the path of what was created", "schema": obj{"type": "string"}}}
	// requestIDDoc describes the header that names the request in the server's logs: the caller's own X-Request-Id when it sent a sane one.
	requestIDDoc = obj{"description": "names this request in the server's access and error logs (the caller's own X-Request-Id when it sent one)", "schema": obj{"type": "string"}}
)

func openAPI() obj {
	schemas := obj{}
	schemaOf(reflect.TypeFor[wire.ErrorBody](), schemas)
	paths := obj{}
	add := func(method, path string, op obj) {
		p, _ := paths[path].(obj)
		if p == nil {
			p = obj{}
			paths[path] = p
		}
		p[strings.ToLower(method)] = op
	}
	plain := func(id, summary, media string, schema obj) obj {
		return obj{
			"operationId": id, "tags": []string{"operations"}, "summary": summary, "description": summary + ". Needs no key.", "security": []any{},
			"responses": obj{"200": obj{"description": "OK", "content": obj{media: obj{"schema": schema}}}, "default": errResp("Error", nil)},
		}
	}
	status := obj{"type": "object", "required": []string{"status"}, "properties": obj{"status": obj{"type": "string"}}}
	add("GET", "/healthz", plain("healthz", "Liveness: the process is up", "application/json", status))
	add("GET", "/readyz", plain("readyz", "Readiness: SpiceDB answers and the schema is written", "application/json", status))
	add("GET", "/metrics", plain("metrics", "Prometheus metrics", "text/plain", obj{"type": "string"}))
	add("GET", "/openapi.json", plain("openapi", "This document", "application/json", obj{"type": "object"}))
	for _, rt := range api {
		add(rt.method, rt.path, operation(rt, schemas))
	}
	return obj{
		"openapi": "3.0.3",
		"info": obj{
			"title": "Gatehouse", "version": "1.0.0",
			"description": "Relationship-based access control for client organisations, on SpiceDB. " +
				"Every error answers {\"error\": {...}} with a code, a message and, when one input is at fault, its field.",
		},
		"servers": []any{obj{"url": "http://localhost:8080", "description": "make run"}},
		"tags": []any{
			obj{"name": "check", "description": "Checks and lookups for application backends; a check-only key may call them"},
			obj{"name": "relationships", "description": "Relationships, schema and audit trail, for platform operators"},
			obj{"name": "organisations", "description": "Organisations, acting for the person named in Gatehouse-Actor"},
			obj{"name": "members", "description": "Team members, their roles and designations"},
			obj{"name": "contractors", "description": "Contractors and invoices of an organisation"},
			obj{"name": "changeRequests", "description": "Change requests and exceptions (rules C1-C18)"},
			obj{"name": "operations", "description": "Health, metrics and this document"},
		},
		"paths":      paths,
		"security":   []any{obj{"bearer": []any{}}},
		"components": obj{"schemas": schemas, "securitySchemes": obj{"bearer": obj{"type": "http", "scheme": "bearer"}}},
	}
}

// operation describes one route row: exactly what the adapter enforces.
func operation(rt route, schemas obj) obj {
	ex := examples[rt.id]
	op := obj{
		"operationId": rt.id, "tags": []string{rt.tag}, "summary": rt.summary,
		"description": rt.summary + ".",
	}
	if len(rt.rules) > 0 {
		op["description"] = rt.summary + ". Enforces " + strings.Join(rt.rules, ", ") + " of domain.md."
	}
	var params []any
	for _, m := range pathParam.FindAllStringSubmatch(rt.path, -1) {
		params = append(params, obj{"name": m[1], "in": "path", "required": true, "schema": obj{"type": "string"}})
	}
	for _, q := range rt.params() {
		s := obj{"type": q.kind}
		switch q.kind {
		case "integer":
			s["minimum"], s["maximum"] = q.min, q.max
			if q.def != 0 {
				s["default"] = q.def
			}
		case "date-time":
			s = obj{"type": "string", "format": "date-time"}
		}
		p := obj{"name": q.name, "in": "query", "required": q.required, "schema": s}
		if q.doc != "" {
			p["description"] = q.doc
		}
		params = append(params, p)
	}
	if rt.actor != actorNone {
		params = append(params, obj{
			"name": wire.ActorHeader, "in": "header", "required": rt.actor == actorRequired,
			"description": "the person the request acts for, user:<id>", "schema": obj{"type": "string"}, "example": "user:alice",
		})
	}
	params = append(params, obj{
		"name": wire.ZedTokenHeader, "in": "header", "required": false,
		"description": "the newest ZedToken the caller has seen, from any replica: every read of the request that names no consistency of its own is at least as fresh as it",
		"schema":      obj{"type": "string", "maxLength": gatehouse.MaxCallerTokenBytes},
	})
	params = append(params, obj{
		"name": requestIDHeader, "in": "header", "required": false,
		"description": "the caller's name for this request (at most 128 of A-Z a-z 0-9 - _ . : + / =); answered back and logged",
		"schema":      obj{"type": "string", "maxLength": 128},
	})
	op["parameters"] = params
	if rt.op.body != nil {
		op["requestBody"] = obj{"required": !rt.optionalBody, "content": jsonContent(schemaOf(rt.op.body, schemas), ex.req)}
	}
	ok := obj{"description": http.StatusText(rt.status), "headers": withRequestID(nil)}
	switch {
	case rt.status == http.StatusNoContent:
		ok["headers"] = withRequestID(zedToken)
	case rt.op.answer != nil:
		ok["content"] = jsonContent(schemaOf(rt.op.answer, schemas), ex.resp)
		if rt.stream != "" {
			ok["content"].(obj)[rt.stream] = obj{"schema": obj{"type": "string", "description": rt.streamDoc}}
		}
	}
	if rt.location != "" {
		ok["headers"] = withRequestID(location)
	}
	responses := obj{
		strconv.Itoa(rt.status): ok,
		"400":                   errResp("Malformed request; error.field names the input", nil),
		"401":                   errResp("Missing or wrong bearer key", nil),
		"429":                   errResp("The key exceeded GATEHOUSE_RATE_LIMIT", retryAfter),
		"503":                   errResp("SpiceDB unavailable, or the request outlived GATEHOUSE_REQUEST_TIMEOUT", retryAfter),
		"default":               errResp("Any other error, in the same shape", nil),
	}
	if rt.writes() {
		// A dry run (X7) answers 200 with what the write would do.
		dry := schemaOf(reflect.TypeFor[wire.DryRun](), schemas)
		if content, has := ok["content"].(obj); has && rt.status == http.StatusOK {
			media := content["application/json"].(obj)
			media["schema"] = obj{"oneOf": []any{media["schema"], dry}}
			ok["description"] = "OK; with dryRun=true, a " + componentName(reflect.TypeFor[wire.DryRun]()) + " instead"
		} else {
			responses["200"] = obj{"description": "dryRun=true: what the write would change, nothing written", "headers": withRequestID(nil), "content": jsonContent(dry, exampleDryRun)}
		}
	}
	if !rt.checkKey {
		responses["403"] = errResp("Check-only key, or the actor lacks the permission named in error.permission", nil)
	}
	if rt.op.body != nil {
		responses["413"] = errResp("Body over 1 MiB", nil)
	}
	if rt.actor != actorNone {
		responses["422"] = errResp("Breaks a rule of domain.md; error.rule names it", nil)
	}
	if rt.actor == actorRequired {
		responses["404"] = errResp("Unknown object", nil)
		responses["409"] = errResp("Exists already, or a concurrent change won", nil)
	}
	op["responses"] = responses
	return op
}

// componentName is the schema name of a Go type; the error body is "Error".
func componentName(t reflect.Type) string {
	if t == reflect.TypeFor[wire.ErrorBody]() {
		return "Error"
	}
	return t.Name()
}

// schemaOf describes a Go type as a JSON schema, following json tags.
// Named structs go to components and are referenced.
func schemaOf(t reflect.Type, schemas obj) obj {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == reflect.TypeFor[time.Time]():
		return obj{"type": "string", "format": "date-time"}
	case t.Kind() == reflect.String:
		return obj{"type": "string"}
	case t.Kind() == reflect.Bool:
		return obj{"type": "boolean"}
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return obj{"type": "integer"}
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return obj{"type": "number"}
	case t.Kind() == reflect.Slice:
		return obj{"type": "array", "items": schemaOf(t.Elem(), schemas)}
	case t.Kind() == reflect.Map:
		if t.Elem().Kind() == reflect.String {
			return obj{"type": "object", "additionalProperties": obj{"type": "string"}}
		}
		return obj{"type": "object", "additionalProperties": true}
	case t.Kind() != reflect.Struct:
		return obj{}
	}
	name := componentName(t)
	if _, done := schemas[name]; !done {
		schemas[name] = obj{} // breaks cycles
		schemas[name] = structSchema(t, schemas)
	}
	return ref(name)
}

// structSchema lists a struct's fields; a field is required unless it is
// omitempty, a pointer, or promoted from an embedded struct tagged
// openapi:"optional" (whose fields an answer may leave out together).
func structSchema(t reflect.Type, schemas obj) obj {
	props := obj{}
	var req []string
	var walk func(reflect.Type, bool)
	walk = func(t reflect.Type, optional bool) {
		for i := range t.NumField() {
			f := t.Field(i)
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			switch {
			case name == "-" || !f.IsExported():
			case f.Anonymous && name == "":
				walk(f.Type, optional || f.Tag.Get("openapi") == "optional")
			default:
				if name == "" {
					name = f.Name
				}
				props[name] = withBounds(schemaOf(f.Type, schemas), f.Tag.Get("openapi"))
				if !optional && !strings.Contains(opts, "omitempty") && f.Type.Kind() != reflect.Pointer {
					req = append(req, name)
				}
			}
		}
	}
	walk(t, false)
	s := obj{"type": "object", "properties": props, "additionalProperties": false}
	if len(req) > 0 {
		s["required"] = req
	}
	return s
}

// withBounds adds the bounds a field's openapi tag declares
// (openapi:"minimum=1,maximum=10000,default=1000", a string's
// openapi:"maxLength=120") to its schema, and
// nullable (openapi:"nullable") to a field answered as null.
func withBounds(s obj, tag string) obj {
	for kv := range strings.SplitSeq(tag, ",") {
		if kv == "nullable" {
			s["nullable"] = true
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if n, err := strconv.Atoi(v); ok && err == nil && (k == "minimum" || k == "maximum" || k == "default" || k == "maxLength") {
			s[k] = n
		}
	}
	return s
}
