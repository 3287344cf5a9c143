package server

import (
	"context"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/dryrun"
	"github.com/gatehouse-authz/gatehouse/wire"
)

// op is one operation, typed: it takes what the adapter read for it and
// returns the answer or an error. It never sees Gin.
type op[B, R any] func(ctx context.Context, in In[B]) (R, error)

// none is the body of a route that takes none.
type none = struct{}

// written is the answer of a route answered 204: the adapter sends the
// write's ZedToken in the Gatehouse-Zed-Token header.
type written struct{ ZedToken string }

// In is what the adapter hands an operation: the decoded body, the acting
// person and the path and query parameters, each already checked against
// the route row.
type In[B any] struct {
	Body B
	// Actor is the Gatehouse-Actor of a route that reads one; zero when
	// the route takes none or an optional one was not sent.
	Actor gatehouse.Subject
	path  gin.Params
	query map[string]any
	// accept is the caller's Accept header; w answers a streamed route.
	accept string
	w      http.ResponseWriter
}

// Accepts reports whether the caller's Accept header names media.
func (in In[B]) Accepts(media string) bool {
	for part := range strings.SplitSeq(in.accept, ",") {
		mt, _, _ := strings.Cut(part, ";")
		if strings.EqualFold(strings.TrimSpace(mt), media) {
			return true
		}
	}
	return false
}

// Stream answers 200 with a body of contentType that write produces as it
// goes (an export), instead of the route's JSON answer. Once write has
// written, an error can no longer reach the caller as JSON: the adapter
// logs it and the body ends early.
func (in In[B]) Stream(contentType string, write func(w io.Writer) error) error {
	in.w.Header().Set("Content-Type", contentType)
	in.w.WriteHeader(http.StatusOK)
	return write(flusher{in.w})
}

// flusher sends every write to the caller at once, so an export streams.
type flusher struct{ w http.ResponseWriter }

func (f flusher) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if fl, ok := f.w.(http.Flusher); ok {
		fl.Flush()
	}
	return n, err
}

// Path returns the path parameter name.
func (in In[B]) Path(name string) string { return in.path.ByName(name) }

// User returns the path parameter name as user:<id>.
func (in In[B]) User(name string) gatehouse.Subject { return gatehouse.User(in.Path(name)) }

// Query returns the string query parameter name, "" when absent.
func (in In[B]) Query(name string) string { s, _ := in.query[name].(string); return s }

// Int returns the integer query parameter name, 0 when absent.
func (in In[B]) Int(name string) int { n, _ := in.query[name].(int); return n }

// Bool returns the boolean query parameter name, false when absent.
func (in In[B]) Bool(name string) bool { b, _ := in.query[name].(bool); return b }

// Time returns the date-time query parameter name, zero when absent.
func (in In[B]) Time(name string) time.Time { t, _ := in.query[name].(time.Time); return t }

// binding is an operation with its types erased, as a route row holds it:
// the body and answer types (nil for none) describe it in /openapi.json.
type binding struct {
	body, answer reflect.Type
	serve        func(Deps, route) gin.HandlerFunc
}

// bind makes the one adapter of an operation: it reads what the row
// declares, runs the operation and answers with the row's status, handing
// every error to the one error writer.
func bind[B, R any](mk func(Deps) op[B, R]) binding {
	return binding{
		body:   typeOf[B](),
		answer: typeOf[R](),
		serve: func(d Deps, rt route) gin.HandlerFunc {
			run := mk(d)
			return func(c *gin.Context) {
				out, err := serve(c, rt, func(ctx context.Context, in In[B]) (any, error) {
					if in.Bool(dryRunParam.name) {
						return dryRun(ctx, d, mk, in)
					}
					return run(ctx, in)
				})
				switch {
				case c.Writer.Written() && err != nil:
					// A stream broke after its first bytes (In.Stream).
					d.Log.ErrorContext(c.Request.Context(), "stream ended early", "request_id", gatehouse.CallerFrom(c.Request.Context()).RequestID, "route", c.FullPath(), "err", err)
				case c.Writer.Written():
				case err != nil:
					writeError(c, d.Log, err)
				default:
					respond(c, rt, out)
				}
			}
		},
	}
}

// typeOf is T's reflect type, nil for none and written (no JSON).
func typeOf[T any]() reflect.Type {
	t := reflect.TypeFor[T]()
	if t == reflect.TypeFor[none]() || t == reflect.TypeFor[written]() {
		return nil
	}
	return t
}

func serve[B any](c *gin.Context, rt route, run func(context.Context, In[B]) (any, error)) (any, error) {
	in := In[B]{path: c.Params, accept: c.GetHeader("Accept"), w: c.Writer}
	var err error
	if in.Actor, err = readActor(c.GetHeader(wire.ActorHeader), rt.actor); err != nil {
		return nil, err
	}
	if in.query, err = readQuery(c.Request.URL.Query(), rt.params()); err != nil {
		return nil, err
	}
	if typeOf[B]() != nil {
		if err := readBody(c.Writer, c.Request, &in.Body, rt.optionalBody); err != nil {
			return nil, err
		}
	}
	return run(c.Request.Context(), in)
}

// dryRunParam is the query parameter of every write route that tries the
// write without making it (X7).
var dryRunParam = param{name: "dryRun", kind: "boolean", doc: "try the write without making it (X7): refused exactly as the real write would be; otherwise answers 200 with the relationships it would change and the permissions each person would gain or lose, and writes and audits nothing"}

// writes reports whether the route changes anything: every route but the
// reads (GET) and the checking endpoints a check-only key may call.
func (rt route) writes() bool { return rt.method != http.MethodGet && !rt.checkKey }

// params are the query parameters the route declares, with dryRun on a write.
func (rt route) params() []param {
	if !rt.writes() {
		return rt.query
	}
	return append(slices.Clip(rt.query), dryRunParam)
}

// dryRun runs the operation mk makes over a dry-run Store (package dryrun)
// instead of d.Store, and answers what it would have changed: the same
// refusal as the real write, or the changes and their effects.
func dryRun[B, R any](ctx context.Context, d Deps, mk func(Deps) op[B, R], in In[B]) (wire.DryRun, error) {
	store := dryrun.New(d.Store, d.Scratch)
	defer store.Close()
	dd := d
	dd.Store, dd.Workflow = store, d.Workflow.Over(store)
	if _, err := mk(dd)(ctx, in); err != nil {
		return wire.DryRun{}, err
	}
	o, err := store.Outcome(ctx)
	if err != nil {
		return wire.DryRun{}, err
	}
	out := wire.DryRun{DryRun: true, Changes: make([]string, len(o.Changes)), Effects: make([]wire.Effect, len(o.Effects)), EffectsTruncated: o.Truncated}
	for i, u := range o.Changes {
		verb := "touch"
		if u.Op == gatehouse.Delete {
			verb = "delete"
		}
		out.Changes[i] = verb + " " + u.Relationship.String()
	}
	for i, e := range o.Effects {
		change := "lost"
		if e.Gained {
			change = "gained"
		}
		out.Effects[i] = wire.Effect{Subject: e.Subject.String(), Permission: e.Permission, On: e.On.String(), Change: change}
	}
	return out, nil
}

// respond writes the answer: 204 with the ZedToken header, or the row's
// status with a Location for what a 201 created.
func respond(c *gin.Context, rt route, out any) {
	if dry, ok := out.(wire.DryRun); ok {
		c.JSON(http.StatusOK, dry)
		return
	}
	if w, ok := out.(written); ok {
		if w.ZedToken != "" {
			c.Header(wire.ZedTokenHeader, w.ZedToken)
		}
		c.Status(http.StatusNoContent)
		return
	}
	if rt.location != "" {
		c.Header("Location", rt.location+reflect.ValueOf(out).FieldByName("ID").String())
	}
	c.JSON(rt.status, out)
}

// actorRule says whether a route reads the Gatehouse-Actor header.
type actorRule int

const (
	actorNone actorRule = iota
	// actorOptional records the actor when one is sent (the raw relationship endpoint).
	actorOptional
	// actorRequired is every organisation endpoint: Gatehouse checks that person's permission.
	actorRequired
)

// readActor reads Gatehouse-Actor: user:<id> as the rule says.
func readActor(h string, rule actorRule) (gatehouse.Subject, error) {
	if rule == actorNone || h == "" && rule == actorOptional {
		return gatehouse.Subject{}, nil
	}
	if h == "" {
		return gatehouse.Subject{}, gatehouse.Invalid(wire.ActorHeader, "the %s header (user:<id>) is required", wire.ActorHeader)
	}
	s, err := gatehouse.ParseSubject(wire.ActorHeader, h)
	if err != nil {
		return gatehouse.Subject{}, err
	}
	if rule == actorRequired && (s.Type != gatehouse.TypeUser || s.Relation != "") {
		return gatehouse.Subject{}, gatehouse.Invalid(wire.ActorHeader, "the actor must be a user (user:<id>)")
	}
	return s, nil
}

// param is a query parameter a route declares; no other is accepted.
type param struct {
	name string
	// kind is string, integer, boolean or date-time.
	kind     string
	required bool
	// min and max bound an integer; def is its value when absent.
	min, max, def int
	doc           string
}

// readQuery refuses undeclared and malformed query parameters, naming
// them, and returns the declared ones by name, typed.
func readQuery(q map[string][]string, params []param) (map[string]any, error) {
	out := map[string]any{}
	for k := range q {
		if !declared(params, k) {
			return nil, gatehouse.Invalid(k, "unknown query parameter %q", k)
		}
	}
	for _, p := range params {
		vs, sent := q[p.name]
		v := ""
		if sent {
			v = vs[0]
		}
		if v == "" && (p.kind == "string" || !sent) {
			if p.required {
				return nil, gatehouse.Invalid(p.name, "%s is required", p.name)
			}
			if p.def != 0 {
				out[p.name] = p.def
			}
			continue
		}
		val, err := p.parse(v)
		if err != nil {
			return nil, err
		}
		out[p.name] = val
	}
	return out, nil
}

func declared(params []param, name string) bool {
	for _, p := range params {
		if p.name == name {
			return true
		}
	}
	return false
}

func (p param) parse(v string) (any, error) {
	switch p.kind {
	case "integer":
		n, err := strconv.Atoi(v)
		if err != nil || n < p.min || n > p.max {
			return nil, gatehouse.Invalid(p.name, "%s must be between %d and %d", p.name, p.min, p.max)
		}
		return n, nil
	case "boolean":
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, gatehouse.Invalid(p.name, "%s must be true or false", p.name)
		}
		return b, nil
	case "date-time":
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return nil, gatehouse.Invalid(p.name, "%s must be an RFC 3339 time", p.name)
		}
		return t, nil
	}
	return v, nil
}
