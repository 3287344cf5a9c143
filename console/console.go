// Package console is Gatehouse's admin console: server-rendered HTML pages
// (html/template, embedded with the CSS) over the same workflow.Service the
// HTTP API uses, so a person sees and may do exactly what the API would let
// them. It is served under /console by `gatehouse serve`.
package console

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/dryrun"
	"github.com/gatehouse-authz/gatehouse/wire"
	"github.com/gatehouse-authz/gatehouse/workflow"
)

//go:generate go run ./internal/rulegen ../../shared/domain.md rules_gen.go

// basePath is where the console is mounted.
const basePath = "/console"

// pageSize bounds every list the console shows (api.md: reads are bounded).
const pageSize = 25

//go:embed templates/*.html static/*.css
var assets embed.FS

// DevUser is a person the development sign-in offers, with a line saying
// who they are in the demo data.
type DevUser struct {
	ID   string
	Note string
}

// Config is everything the console needs; New takes all of it.
type Config struct {
	// Workflow runs every action, with the API's permission checks.
	Workflow *workflow.Service
	// Store is what a confirmation's dry run (package dryrun) runs the
	// workflow over; the console reads nothing from it itself: every read
	// and every "may they" is a workflow method's (Abilities).
	Store gatehouse.Store
	// Audit is the audit trail the organisation's audit page lists (X2).
	Audit gatehouse.AuditTrail
	// Scratch evaluates the would-be state of a dry run (X7), which a
	// destructive or powerful action shows before it is confirmed
	// (spicedb.NewScratch with the schema); nil shows the changes only.
	Scratch dryrun.Engine
	Log     *slog.Logger
	// DevLogin offers a sign-in page that lists DevUsers and signs in as
	// any of them without a password: for the embedded demo only.
	DevLogin bool
	DevUsers []DevUser
	// OIDC, when its Issuer is set, offers sign-in with an OpenID provider.
	OIDC OIDC
	// SessionKey signs the session cookies; at least 32 bytes.
	SessionKey []byte
	// SecureCookies marks the session cookie Secure on every request, as
	// when the console's public URL is https but TLS ends before
	// Gatehouse (a proxy); without it the cookie is Secure only on
	// requests that came over TLS.
	SecureCookies bool
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// console is the handler's state.
type console struct {
	cfg   Config
	seal  signer
	pages map[string]*template.Template
	now   func() time.Time
	oidc  *oidcSignIn
}

// New returns the console's handler, which serves every path under /console.
func New(cfg Config) (http.Handler, error) {
	if len(cfg.SessionKey) < 32 {
		return nil, errors.New("console: the session key must be at least 32 bytes")
	}
	if cfg.Workflow == nil || cfg.Store == nil || cfg.Audit == nil || cfg.Log == nil {
		return nil, errors.New("console: Workflow, Store, Audit and Log are required")
	}
	// The staff's platform trail is the workflow's read of the trail.
	cfg.Workflow = cfg.Workflow.WithTrail(cfg.Audit)
	c := &console{cfg: cfg, seal: signer{key: cfg.SessionKey}, now: cfg.Now, pages: map[string]*template.Template{}}
	if c.now == nil {
		c.now = time.Now
	}
	var err error
	if c.oidc, err = newOIDCSignIn(cfg.OIDC); err != nil {
		return nil, err
	}
	funcs := template.FuncMap{
		"rule":    func(id string) string { return ruleSentences[id] },
		"word":    wordOf,
		"join":    strings.Join,
		"add1":    func(i int) int { return i + 1 },
		"subject": func(s gatehouse.Subject) string { return s.String() },
		"subjects": func(ss []gatehouse.Subject) string {
			out := make([]string, len(ss))
			for i, s := range ss {
				out[i] = s.ID
			}
			return strings.Join(out, ", ")
		},
	}
	names, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if n == "templates/layout.html" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(assets, "templates/layout.html", n)
		if err != nil {
			return nil, fmt.Errorf("console: parsing %s: %w", n, err)
		}
		c.pages[strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")] = t
	}
	return c.routes(), nil
}

// routes is every page and action of the console, in one table.
func (c *console) routes() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(assets, "static")
	mux.Handle("GET "+basePath+"/static/", http.StripPrefix(basePath+"/static/", http.FileServerFS(static)))

	mux.HandleFunc("GET "+basePath+"/login", c.handleLoginPage)
	mux.HandleFunc("POST "+basePath+"/login", c.form(false, c.handleDevLogin))
	mux.HandleFunc("POST "+basePath+"/logout", c.form(true, c.handleLogout))
	mux.HandleFunc("GET "+basePath+"/oidc/start", c.handleOIDCStart)
	mux.HandleFunc("GET "+OIDCCallbackPath, c.handleOIDCCallback)

	mux.HandleFunc("GET "+basePath+"/{$}", c.page(c.handleOrganisations))
	mux.HandleFunc("GET "+basePath+"/organisations/{org}", c.page(c.handleMembers))
	mux.HandleFunc("POST "+basePath+"/organisations/{org}/roles", c.form(true, c.handleGrantRole))
	mux.HandleFunc("GET "+basePath+"/organisations/{org}/members/{user}", c.page(c.handlePerson))
	mux.HandleFunc("POST "+basePath+"/organisations/{org}/members/{user}/roles/{role}/revoke", c.form(true, c.handleRevokeRole))
	mux.HandleFunc("POST "+basePath+"/organisations/{org}/members/{user}/remove", c.form(true, c.handleRemoveMember))
	mux.HandleFunc("POST "+basePath+"/organisations/{org}/transfer-ownership", c.form(true, c.handleTransferOwnership))
	mux.HandleFunc("POST "+basePath+"/organisations/{org}/designations", c.form(true, c.handleSetDesignation))
	mux.HandleFunc("POST "+basePath+"/organisations/{org}/members/{user}/designations/{designation}/unset", c.form(true, c.handleUnsetDesignation))
	mux.HandleFunc("POST "+basePath+"/organisations/{org}/designations/unset", c.form(true, c.handleUnsetDesignation))
	mux.HandleFunc("GET "+basePath+"/organisations/{org}/contractors", c.page(c.handleContractors))
	mux.HandleFunc("POST "+basePath+"/organisations/{org}/contractors", c.form(true, c.handleCreateContractor))
	mux.HandleFunc("GET "+basePath+"/contractors/{id}", c.page(c.handleContractor))
	mux.HandleFunc("POST "+basePath+"/contractors/{id}/admin-only", c.form(true, c.handleAdminOnly))
	mux.HandleFunc("POST "+basePath+"/organisations/{org}/contractors/{id}/delete", c.form(true, c.handleDeleteContractor))
	mux.HandleFunc("GET "+basePath+"/organisations/{org}/audit", c.page(c.handleAudit))
	mux.HandleFunc("GET "+basePath+"/organisations/{org}/audit.csv", c.page(c.handleAuditCSV))
	mux.HandleFunc("GET "+basePath+"/organisations/{org}/access.csv", c.page(c.handleAccessCSV))
	mux.HandleFunc("GET "+basePath+"/why", c.page(c.handleWhy))
	mux.HandleFunc("GET "+basePath+"/organisations/{org}/change-requests", c.page(c.handleChangeRequests))
	mux.HandleFunc("POST "+basePath+"/organisations/{org}/change-requests", c.form(true, c.handleFileChangeRequest))
	mux.HandleFunc("GET "+basePath+"/change-requests/{id}", c.page(c.handleChangeRequest))
	mux.HandleFunc("POST "+basePath+"/change-requests/{id}/withdraw", c.form(true, c.handleWithdraw))
	mux.HandleFunc("POST "+basePath+"/change-requests/{id}/authorise", c.form(true, c.handleAuthorise))
	mux.HandleFunc("POST "+basePath+"/change-requests/{id}/reject", c.form(true, c.handleReject))
	mux.HandleFunc("GET "+basePath+"/organisations/{org}/security-admins", c.page(c.handleSecurityAdmins))
	mux.HandleFunc("POST "+basePath+"/organisations/{org}/security-admins/{role}", c.form(true, c.handleDelegate))
	mux.HandleFunc("POST "+basePath+"/contractors/{id}/rename", c.form(true, c.handleRenameContractor))
	mux.HandleFunc("GET "+basePath+"/organisations/{org}/invoices", c.page(c.handleInvoices))
	mux.HandleFunc("POST "+basePath+"/organisations/{org}/invoices", c.form(true, c.handleCreateInvoice))
	mux.HandleFunc("POST "+basePath+"/change-requests/{id}/flags", c.form(true, c.handleRaiseFlags))
	mux.HandleFunc("POST "+basePath+"/change-requests/{id}/override", c.form(true, c.handleOverride))
	mux.HandleFunc("POST "+basePath+"/change-requests/{id}/override/confirm", c.form(true, c.handleConfirmOverride))
	mux.HandleFunc("GET "+basePath+"/organisations/{org}/exceptions", c.page(c.handleExceptions))
	mux.HandleFunc("POST "+basePath+"/organisations/{org}/exceptions", c.form(true, c.handleGrantException))
	mux.HandleFunc("POST "+basePath+"/organisations/{org}/exceptions/{user}/{kind}/revoke", c.form(true, c.handleRevokeException))
	mux.HandleFunc("GET "+basePath+"/organisations/{org}/substantial", c.page(c.handleSubstantial))
	mux.HandleFunc("POST "+basePath+"/organisations/{org}/substantial", c.form(true, c.handleSetSubstantial))
	mux.HandleFunc("POST "+basePath+"/organisations/{org}/substantial/{kind}/unset", c.form(true, c.handleUnsetSubstantial))

	mux.HandleFunc("GET "+staffBase+"/organisations", c.page(c.staffOnly(c.handleStaffOrganisations)))
	mux.HandleFunc("POST "+staffBase+"/organisations", c.form(true, c.staffOnly(c.handleStaffCreateOrganisation)))
	mux.HandleFunc("POST "+staffBase+"/organisations/{org}/rename", c.form(true, c.staffOnly(c.handleStaffRenameOrganisation)))
	mux.HandleFunc("POST "+staffBase+"/organisations/{org}/delete", c.form(true, c.staffOnly(c.handleStaffDeleteOrganisation)))
	mux.HandleFunc("GET "+staffBase+"/relationships", c.page(c.staffOnly(c.handleStaffRelationships)))
	mux.HandleFunc("POST "+staffBase+"/relationships", c.form(true, c.staffOnly(c.handleStaffWriteRelationships)))
	mux.HandleFunc("GET "+staffBase+"/permissions", c.page(c.staffOnly(c.handleStaffPermissions)))
	mux.HandleFunc("GET "+staffBase+"/schema", c.page(c.staffOnly(c.handleStaffSchema)))
	mux.HandleFunc("GET "+staffBase+"/trail", c.page(c.staffOnly(c.handleStaffTrail)))

	mux.HandleFunc(basePath+"/", func(w http.ResponseWriter, r *http.Request) {
		c.render(w, r, http.StatusNotFound, "error", view{Title: "Not found", Err: &shownError{Message: "There is no console page at " + r.URL.Path + "."}})
	})
	return securityHeaders(mux)
}

// securityHeaders keeps the pages out of frames and caches and lets them
// load nothing from anywhere but the console.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}

// view is what every template receives: the layout's fields and the page's Data.
type view struct {
	Title string
	User  string
	CSRF  string
	// Org, when set, is the organisation whose navigation the page shows.
	Org string
	// OrgName names Org on every page of it, in its navigation.
	OrgName string
	// Nav is the organisation's navigation: the links of orgNav that
	// the reader may open, filled in by render when Org is set.
	Nav  []shownLink
	Done string
	Err  *shownError
	// Refill, set on a refused form drawn again on its own page, is
	// what was typed in it (Kept, Marked).
	Refill *refill
	Data   any

	// Staff is the platform navigation, for provider staff alone (staffNav).
	Staff []shownLink
}

// navLink is one link of an organisation's navigation: its label, its
// path under /console/organisations/<org>, and the workflow's read of the
// organisation (workflow.ReadTeam ...) that the page it opens makes.
type navLink struct {
	Label, Suffix, Read string
}

// orgNav is the organisation's navigation, in the order it shows. Each
// link names the read its page makes, and the workflow's Abilities say
// whether the reader may make it, so the navigation offers a person
// exactly the pages that open for them.
var orgNav = []navLink{
	{"Members", "", workflow.ReadTeam},
	{"Security admins", "/security-admins", workflow.ReadTeam},
	{"Contractors", "/contractors", workflow.ReadContractors},
	{"Invoices", "/invoices", workflow.ReadInvoices},
	{"Change requests", "/change-requests", workflow.ReadChangeRequests},
	{awaitingLabel, "/change-requests?awaiting=me", workflow.ReadChangeRequests},
	{"Exceptions", "/exceptions", workflow.ReadExceptions},
	{"Substantial kinds", "/substantial", workflow.ReadAlwaysSubstantial},
	{"Audit trail", "/audit", workflow.ReadAudit},
}

// shownLink is a link of the navigation as the layout shows it: Current
// marks the page the reader is on, Count is the number beside it (the
// requests awaiting them), when there is one.
type shownLink struct {
	Label, Href string
	Current     bool
	Count       string
}

// awaitingLabel is the navigation's link to what awaits the reader.
const awaitingLabel = "Awaiting me"

// navOf returns the links of org's navigation that actor may open, as the
// workflow's Abilities on org answers them (at the head revision, as the
// pages check), the one of the page r asks marked current and the
// requests awaiting the actor counted. The navigation only saves a person
// a refusal: an answer that fails shows every link (the pages still
// decide) and is logged at debug, and never fails the page.
func (c *console) navOf(r *http.Request, org string, actor gatehouse.Subject) []shownLink {
	ab, err := c.cfg.Workflow.Abilities(r.Context(), actor, gatehouse.OrganisationRef(org))
	open := func(read string) bool { return err != nil || ab.May(read) }
	if err != nil {
		c.cfg.Log.DebugContext(r.Context(), "console: the navigation's abilities failed; showing every link", "org", org, "actor", actor.String(), "err", err)
	}
	base := basePath + "/organisations/" + url.PathEscape(org)
	var out []shownLink
	for _, l := range orgNav {
		if open(l.Read) {
			link := shownLink{Label: l.Label, Href: base + l.Suffix}
			if l.Label == awaitingLabel {
				link.Count = c.awaitingCount(r, org, actor)
			}
			out = append(out, link)
		}
	}
	if i := currentLink(r, base, out); i >= 0 {
		out[i].Current = true
	}
	return out
}

// currentLink returns the index of the link of links that leads to the
// page r asks (or the page a form on r was sent from), or -1: the link
// whose path r's is, or else the longest under which r's lies; the
// members page owns its people's pages and its forms' paths, and a
// change request's or a contractor's page lies under the organisation's
// change requests or contractors.
func currentLink(r *http.Request, base string, links []shownLink) int {
	path := r.URL.Path
	if strings.HasPrefix(path, basePath+"/change-requests/") {
		path = base + "/change-requests"
	}
	if strings.HasPrefix(path, basePath+"/contractors/") {
		path = base + "/contractors"
	}
	for _, own := range []string{"/members/", "/roles", "/designations", "/transfer-ownership"} {
		if strings.HasPrefix(path, base+own) {
			path = base
		}
	}
	awaiting := r.URL.Query().Get("awaiting") == "me"
	best, bestLen := -1, -1
	for i, l := range links {
		lp, _, _ := strings.Cut(l.Href, "?")
		switch {
		case l.Label == awaitingLabel && awaiting && path == lp:
			return i
		case l.Label == awaitingLabel, awaiting && path == lp:
			// The awaiting list is its link's page, not the whole list's.
			continue
		case path == lp:
			return i
		case lp != base && strings.HasPrefix(path, lp+"/") && len(lp) > bestLen:
			best, bestLen = i, len(lp)
		}
	}
	return best
}

// awaitingCount returns how many open requests of org await actor, as
// the workflow's awaiting-me list has them ("25+" past a page), or ""
// when none do or the list fails (the count only signposts).
func (c *console) awaitingCount(r *http.Request, org string, actor gatehouse.Subject) string {
	list, cursor, err := c.cfg.Workflow.ListChangeRequests(r.Context(), actor, org, "", true, pageSize, "")
	switch {
	case err != nil || len(list) == 0:
		return ""
	case cursor != "":
		return strconv.Itoa(len(list)) + "+"
	}
	return strconv.Itoa(len(list))
}

// orgName returns org's name as the workflow tells actor, or its id
// when it tells them none (provider staff off the team).
func (c *console) orgName(r *http.Request, org string, actor gatehouse.Subject) string {
	if o, err := c.cfg.Workflow.GetOrganisation(r.Context(), actor, org); err == nil && o.Name != "" {
		return o.Name
	}
	return org
}

// shownError is a refusal as a page shows it.
type shownError struct {
	Status     int
	Code       string
	Message    string
	Field      string
	Permission string
	Rule       string
	// Hint is the console's own sentence on what the refusal means for
	// the reader, when the API's message alone leaves them puzzled.
	Hint string
	// Why, for a 403 naming a permission on an object, is what the
	// reader lacks and who could grant it (X6).
	Why *whyShown
	// Plain is the refusal in a sentence of plain words (plainWords).
	Plain string
}

// plain is a refusal the console can say better than the API's rule: a
// request someone else already settled ("Already authorised by mia").
// Its sentence replaces plainWords', and the rule is quoted only when
// quoteRule says it still explains the refusal.
type plain struct {
	error
	sentence string
	// quoteRule keeps the refusal's rule quoted after the sentence.
	quoteRule bool
}

func (p plain) Unwrap() error { return p.error }

// Mark returns the attributes that mark field of the form named form
// as the one its refusal names, or none.
func (v view) Mark(form, field string) template.HTMLAttr {
	if !v.Marked(form, field) {
		return ""
	}
	return ` aria-invalid="true" aria-describedby="refusal-title" class="invalid"`
}

// hinted is a refusal with the console's hint for it.
type hinted struct {
	error
	hint string
}

func (h hinted) Unwrap() error { return h.error }

// current reads the session cookie; a missing, unsigned, forged or expired
// one is an anonymous session.
func (c *console) current(r *http.Request) (session, bool) {
	ck, err := r.Cookie(cookieName)
	if err != nil {
		return session{}, false
	}
	return c.seal.openSession(ck.Value, c.now())
}

// anonymous returns the request's session, starting a new anonymous one
// (and setting its cookie) when there is none, so the sign-in form has a
// CSRF token to carry.
func (c *console) anonymous(w http.ResponseWriter, r *http.Request) session {
	if s, ok := c.current(r); ok {
		return s
	}
	s := newSession("", c.now())
	c.seal.setCookie(w, r, s, c.cfg.SecureCookies)
	return s
}

// actorCtx is a handler's signed-in actor and session.
type actorCtx struct {
	s     session
	actor gatehouse.Subject
}

// page wraps a GET page: signed-in only, else to the sign-in page.
func (c *console) page(h func(http.ResponseWriter, *http.Request, actorCtx)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, ok := c.current(r)
		if !ok || !s.signedIn() {
			http.Redirect(w, r, loginPath(r), http.StatusSeeOther) //nolint:gosec // a path of the console: loginPath keeps only what localConsolePath vetted
			return
		}
		h(w, r.WithContext(callerCtx(r)), actorCtx{s: s, actor: gatehouse.User(s.User)})
	}
}

// form wraps a POST action: its CSRF token must be the session's, and,
// when signedIn, the session must name a user. A refused token changes
// nothing.
func (c *console) form(signedIn bool, h func(http.ResponseWriter, *http.Request, actorCtx)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		s, ok := c.current(r)
		if !ok {
			c.render(w, r, http.StatusForbidden, "error", view{Title: "Session expired", Err: &shownError{Status: http.StatusForbidden, Message: "Your session is missing or not valid. Sign in again."}})
			return
		}
		if err := r.ParseForm(); err != nil || !c.seal.validCSRF(s, r.PostForm.Get("csrf")) {
			c.render(w, r, http.StatusForbidden, "error", view{Title: "Form refused", User: s.User, CSRF: c.seal.csrf(s), Err: &shownError{Status: http.StatusForbidden, Message: "The form's security token is missing or stale: nothing was changed. Reload the page and try again."}})
			return
		}
		if signedIn && !s.signedIn() {
			http.Redirect(w, r, basePath+"/login", http.StatusSeeOther)
			return
		}
		h(w, r.WithContext(callerCtx(r)), actorCtx{s: s, actor: gatehouse.User(s.User)})
	}
}

// callerCtx names the console as the caller in the audit trail (X2),
// keeping the request id the server's middleware gave it.
func callerCtx(r *http.Request) context.Context {
	ctx := r.Context()
	caller := gatehouse.CallerFrom(ctx)
	caller.KeyName = "console"
	return gatehouse.WithCaller(ctx, caller)
}

// render writes page name with v, filling in the layout's session fields.
func (c *console) render(w http.ResponseWriter, r *http.Request, status int, name string, v view) {
	if v.User == "" || v.CSRF == "" {
		if s, ok := c.current(r); ok {
			v.CSRF = c.seal.csrf(s)
			if s.signedIn() {
				v.User = s.User
			}
		}
	}
	if v.Org != "" && v.User != "" {
		v.Nav = c.navOf(r, v.Org, gatehouse.User(v.User))
		if len(v.Nav) > 0 {
			v.OrgName = c.orgName(r, v.Org, gatehouse.User(v.User))
		}
	}
	if v.User != "" {
		v.Staff = c.staffNav(r, v.User)
	}
	if f, _ := r.Context().Value(refillKey{}).(*refill); f != nil {
		// The form's refusal is what the reader must see: on its page,
		// or, when that page does not open for them, alone.
		status, v.Err, v.Done = f.err.Status, f.err, ""
		if name != "error" {
			v.Refill = f
		}
	}
	if said := c.saidOf(r); v.Done != "" && said != "" {
		v.Done = said
	}
	t := c.pages[name]
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := t.Execute(w, v); err != nil {
		c.cfg.Log.ErrorContext(r.Context(), "console: rendering", "page", name, "err", err)
	}
}

// fail renders err as a page: its status, message, field, missing
// permission, and for a rule refusal the rule's ID and sentence. An
// untyped error says only "internal error"; its cause goes to the log.
func (c *console) fail(w http.ResponseWriter, r *http.Request, a actorCtx, org string, err error) {
	shown := c.shown(r, a, err)
	c.render(w, r, shown.Status, "error", view{Title: "Refused", User: a.s.User, CSRF: c.seal.csrf(a.s), Org: org, Err: shown})
}

// shown is err as a page shows it (fail), logged when it is the console's own.
func (c *console) shown(r *http.Request, a actorCtx, err error) *shownError {
	var e *gatehouse.Error
	shown := &shownError{Status: http.StatusInternalServerError, Code: gatehouse.EINTERNAL, Message: "internal error"}
	if errors.As(err, &e) {
		shown.Status = wire.StatusOf(e.Code)
		if shown.Status < http.StatusInternalServerError {
			shown = &shownError{Status: shown.Status, Code: e.Code, Message: e.Message, Field: e.Field, Permission: e.Permission, Rule: e.Rule}
			var h hinted
			if errors.As(err, &h) {
				shown.Hint = h.hint
			}
			if on, ok := refusedOn(e); ok && a.s.signedIn() {
				shown.Why = c.whyRefused(r, a.actor, e.Permission, on)
			}
		}
	}
	if shown.Status >= http.StatusInternalServerError {
		c.cfg.Log.ErrorContext(r.Context(), "console: request failed", "path", r.URL.Path, "err", err)
	}
	shown.Plain = plainWords(shown)
	var p plain
	if errors.As(err, &p) {
		shown.Plain = p.sentence
		if !p.quoteRule {
			shown.Rule = ""
		}
	}
	return shown
}

// refill is a refused form shown again on its own page (issue 22 item
// 4): which form it was, what was typed in it, and the refusal.
type refill struct {
	Form   string
	Values url.Values
	err    *shownError
}

// refillKey carries a refill on a request's context to render.
type refillKey struct{}

// pageFunc draws a page of the console (a GET handler).
type pageFunc func(http.ResponseWriter, *http.Request, actorCtx)

// refuse shows err on the page the form named form was sent from, drawn
// again by page with the refusal's status, the form's values kept, the
// field the refusal names marked and the organisation's menu. An error
// of the console's own (5xx), or no page, is fail's error page.
func (c *console) refuse(w http.ResponseWriter, r *http.Request, a actorCtx, org string, err error, form string, page pageFunc) {
	shown := c.shown(r, a, err)
	if page == nil || shown.Status >= http.StatusInternalServerError {
		c.render(w, r, shown.Status, "error", view{Title: "Refused", User: a.s.User, CSRF: c.seal.csrf(a.s), Org: org, Err: shown})
		return
	}
	ctx := context.WithValue(r.Context(), refillKey{}, &refill{Form: form, Values: r.PostForm, err: shown})
	page(w, r.WithContext(ctx), a)
}

// Kept returns what was typed in field of the refused form named form,
// for the page to show it again; "" on any other form.
func (v view) Kept(form, field string) string {
	if v.Refill == nil || v.Refill.Form != form {
		return ""
	}
	return v.Refill.Values.Get(field)
}

// Marked reports whether field of the form named form is the one its
// refusal names (the API's field name, which the console's forms share).
func (v view) Marked(form, field string) bool {
	return v.Refill != nil && v.Refill.Form == form && v.Err != nil && v.Err.Field == field
}

// Refused reports whether the form named form is the refused one.
func (v view) Refused(form string) bool { return v.Refill != nil && v.Refill.Form == form }

// plainWords says a refusal in a sentence for someone who never read
// the API: what went wrong and what to do, the API's words following.
func plainWords(e *shownError) string {
	switch e.Code {
	case gatehouse.EINVALID:
		if e.Field != "" {
			return "Please check the field marked below (" + strings.ReplaceAll(e.Field, "_", " ") + ")."
		}
		return "Please check the form below."
	case gatehouse.EFORBIDDEN:
		return "You may not do this here."
	case gatehouse.ECONFLICT:
		return "This changed while you were looking at it; the page shows it as it is now."
	case gatehouse.ENOTFOUND:
		return "That does not exist, or no longer does."
	case gatehouse.ERULE:
		return "One of the organisation's rules does not allow this."
	}
	return ""
}

// done sends the browser back to to after a successful action (303), with
// the name of what was done, which the page shows from a fixed table.
func done(w http.ResponseWriter, r *http.Request, to, what string) {
	http.Redirect(w, r, to+"?done="+what, http.StatusSeeOther)
}

// doneSaying is done with a sentence naming who and what ("carla was
// removed from brightcis."), which the page shows instead of the
// table's. The sentence is signed for this session (saidOf), so a link
// cannot make a page say it.
func (c *console) doneSaying(w http.ResponseWriter, r *http.Request, a actorCtx, to, what, said string) {
	q := url.Values{"done": {what}, "said": {said}, "sig": {c.seal.tag("done", a.s.Nonce, what, said)}}
	http.Redirect(w, r, to+"?"+q.Encode(), http.StatusSeeOther)
}

// saidOf returns the signed sentence of doneSaying on r, or "" when there
// is none or it was not signed for the reader's session.
func (c *console) saidOf(r *http.Request) string {
	q := r.URL.Query()
	s, ok := c.current(r)
	if !ok || q.Get("said") == "" {
		return ""
	}
	if !c.seal.matches(q.Get("sig"), "done", s.Nonce, q.Get("done"), q.Get("said")) {
		return ""
	}
	return q.Get("said")
}

// doneMessages are the confirmations a page may show; ?done= picks one,
// so a link cannot make a page say anything else.
var doneMessages = map[string]string{
	"granted":      "The role was granted.",
	"revoked":      "The role was revoked.",
	"removed":      "The member was removed from the team.",
	"transferred":  "Ownership was transferred; you stay on the team as an administrator.",
	"designated":   "The designation was given.",
	"undesignated": "The designation was taken away.",
	"flagged":      "The contractor is now admin-only.",
	"created":      "The contractor was created.",
	"deleted":      "The contractor was deleted.",
	"unflagged":    "The contractor is visible to every role that may view contractors again.",
	"authorised":   "You authorised or approved the change request.",
	"rejected":     "You rejected the change request.",
	"filed":        "The change request was filed.",
	"withdrawn":    "You withdrew the change request.",
	"delegated":    "The role was delegated.",
	"renamed":      "The contractor was renamed.",
	"invoiced":     "The invoice was created.",
	"raised":       "The flag was raised.",
	"overridden":   "The override was recorded; a second staff member must confirm it.",
	"confirmed":    "You confirmed the override.",
	"excepted":     "The exception was granted.",
	"unexcepted":   "The exceptions were revoked.",
	"declared":     "The declaration was saved.",
	"undeclared":   "The declaration was lifted.",
}

// doneOf returns the confirmation ?done= names, if any.
func doneOf(r *http.Request) string { return doneMessages[r.URL.Query().Get("done")] }

// isKnownUser reports whether id is one of the development sign-in's users.
func (c *console) isKnownUser(id string) bool {
	return slices.ContainsFunc(c.cfg.DevUsers, func(u DevUser) bool { return u.ID == id })
}
