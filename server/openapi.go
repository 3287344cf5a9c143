package server

import (
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// handleOpenAPI serves GET /openapi.json, built from the route table and the
// request and response types, so the document cannot drift from the code.
func handleOpenAPI() gin.HandlerFunc {
	doc := openAPI()
	return func(c *gin.Context) { c.JSON(http.StatusOK, doc) }
}

var pathParam = regexp.MustCompile(`\{([a-zA-Z]+)\}`)

func openAPI() map[string]any {
	schemas := map[string]any{
		"Error": map[string]any{"type": "object", "properties": map[string]any{
			"error": schemaOf(reflect.TypeFor[ErrorDetail](), nil),
		}},
	}
	errResp := func(desc string) map[string]any {
		return map[string]any{"description": desc, "content": map[string]any{
			"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}},
		}}
	}
	paths := map[string]any{}
	add := func(method, path string, op map[string]any) {
		p, _ := paths[path].(map[string]any)
		if p == nil {
			p = map[string]any{}
			paths[path] = p
		}
		p[strings.ToLower(method)] = op
	}
	plain := func(summary string) map[string]any {
		return map[string]any{"summary": summary, "security": []any{}, "responses": map[string]any{"200": map[string]any{"description": "OK"}}}
	}
	add("GET", "/healthz", plain("Liveness: the process is up"))
	add("GET", "/readyz", plain("Readiness: SpiceDB answers and the schema is written"))
	add("GET", "/metrics", plain("Prometheus metrics"))
	add("GET", "/openapi.json", plain("This document"))

	for _, rt := range api {
		op := map[string]any{"summary": rt.summary}
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(rt.path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		for _, q := range rt.query {
			params = append(params, map[string]any{"name": q, "in": "query", "schema": map[string]any{"type": "string"}})
		}
		if rt.actor {
			params = append(params, map[string]any{
				"name": actorHeader, "in": "header", "required": true,
				"description": "the person the request acts for, user:<id>", "schema": map[string]any{"type": "string"},
			})
		}
		if params != nil {
			op["parameters"] = params
		}
		if rt.req != nil {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				"application/json": map[string]any{"schema": schemaOf(reflect.TypeOf(rt.req), schemas)},
			}}
		}
		ok := map[string]any{"description": http.StatusText(rt.status)}
		if rt.resp != nil {
			ok["content"] = map[string]any{"application/json": map[string]any{"schema": schemaOf(reflect.TypeOf(rt.resp), schemas)}}
		}
		responses := map[string]any{
			strconv.Itoa(rt.status): ok, "400": errResp("Malformed request; error.field names the input"),
			"401": errResp("Missing or wrong bearer key"), "503": errResp("SpiceDB unavailable; see Retry-After"),
		}
		if !rt.checkKey {
			responses["403"] = errResp("Check-only key, or the actor lacks the permission named in error.permission")
		}
		if rt.req != nil {
			responses["413"] = errResp("Body over 1 MiB")
		}
		if rt.actor {
			responses["404"] = errResp("Unknown object")
			responses["409"] = errResp("Exists already, or a concurrent change won")
			responses["422"] = errResp("Breaks a rule of domain.md; error.rule names it")
		}
		op["responses"] = responses
		add(rt.method, rt.path, op)
	}
	return map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{
			"title": "Gatehouse", "version": "1.0.0",
			"description": "Relationship-based access control for client organisations, on SpiceDB.",
		},
		"paths":      paths,
		"security":   []any{map[string]any{"bearer": []any{}}},
		"components": map[string]any{"schemas": schemas, "securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer"}}},
	}
}

// schemaOf describes a Go type as a JSON schema, following json tags.
// Named structs go to components (when schemas is not nil) and are referenced.
func schemaOf(t reflect.Type, schemas map[string]any) map[string]any {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == reflect.TypeFor[time.Time]():
		return map[string]any{"type": "string", "format": "date-time"}
	case t.Kind() == reflect.String:
		return map[string]any{"type": "string"}
	case t.Kind() == reflect.Bool:
		return map[string]any{"type": "boolean"}
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return map[string]any{"type": "integer"}
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return map[string]any{"type": "number"}
	case t.Kind() == reflect.Slice:
		return map[string]any{"type": "array", "items": schemaOf(t.Elem(), schemas)}
	case t.Kind() == reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": true}
	case t.Kind() == reflect.Interface:
		return map[string]any{}
	case t.Kind() != reflect.Struct:
		return map[string]any{}
	}
	if schemas != nil && t.Name() != "" {
		if _, done := schemas[t.Name()]; !done {
			schemas[t.Name()] = map[string]any{} // break cycles
			schemas[t.Name()] = structSchema(t, schemas)
		}
		return map[string]any{"$ref": "#/components/schemas/" + t.Name()}
	}
	return structSchema(t, schemas)
}

func structSchema(t reflect.Type, schemas map[string]any) map[string]any {
	props := map[string]any{}
	var req []string
	var walk func(reflect.Type)
	walk = func(t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			if tag == "-" || !f.IsExported() {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			if f.Anonymous && name == "" {
				ft := f.Type
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				walk(ft)
				continue
			}
			if name == "" {
				name = f.Name
			}
			props[name] = schemaOf(f.Type, schemas)
			if !strings.Contains(opts, "omitempty") && f.Type.Kind() != reflect.Pointer {
				req = append(req, name)
			}
		}
	}
	walk(t)
	s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(req) > 0 {
		s["required"] = req
	}
	return s
}
