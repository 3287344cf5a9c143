package workflow

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/dryrun"
)

// Service runs the workflows of domain.md against a Store. It is the
// change request aggregate itself (C1–C18, changerequest*.go) and the
// explanation of a denial (X6, whynot.go), and it composes the other
// concepts, each a type of its own whose methods it promotes, so that
// svc.GrantRole is Roles.GrantRole: Organisations (O), Invoices,
// Roles (R, S2, T), Designations, Contractors (K), Exceptions (C6),
// Declarations (C15), AccessReview, Raw (X4) and Platform (the reads of
// the check and relationship endpoints; provider staff's tools). doc.go maps each rule to
// the type and file that decide it.
type Service struct {
	*kit
	*Organisations
	*Invoices
	*Roles
	*Designations
	*Contractors
	*Exceptions
	*Declarations
	*AccessReview
	*Raw
	*Platform
}

// New returns a Service over store, with opts.
func New(store gatehouse.Store, opts ...Option) *Service {
	k := &kit{store: store, now: time.Now}
	for _, o := range opts {
		o(k)
	}
	return compose(k)
}

// Option sets up a Service (New).
type Option func(*kit)

// WithScratch makes each transition of a change request that may write
// more than once (a filing its filer may authorise as filed, an
// authorisation or a confirmed override that may complete the request)
// one write: the transition is weighed in a scratch SpiceDB that engine
// starts (package dryrun's stage), and what it would write is made in
// one write with one audit record (changerequest_onewrite.go). A nil
// engine, or none, keeps the writes apart: a filing and its authorisation
// as filed are two writes, and settling a request (C14) a write of its own.
func WithScratch(engine dryrun.Engine) Option {
	return func(k *kit) { k.scratch = engine }
}

// compose builds the Service and its concepts over one kit, each concept
// given the others it uses.
func compose(k *kit) *Service {
	m := &membership{kit: k}
	orgs := &Organisations{kit: k}
	contractors := &Contractors{kit: k}
	return &Service{
		kit:           k,
		Organisations: orgs,
		Invoices:      &Invoices{kit: k},
		Roles:         &Roles{kit: k, membership: m, security: &security{kit: k, membership: m}},
		Designations:  &Designations{kit: k, membership: m},
		Contractors:   contractors,
		Exceptions:    &Exceptions{kit: k, membership: m},
		Declarations:  &Declarations{kit: k},
		AccessReview:  &AccessReview{kit: k, orgs: orgs, contractors: contractors},
		Raw:           &Raw{kit: k, membership: m},
		Platform:      &Platform{kit: k},
	}
}

// Over returns a Service that runs the same workflows over store: for one
// call over a decorated Store, such as a dry run's (X7). Over a dry run's
// Store, which records the writes itself, transitions are not staged
// again (WithScratch).
func (s *Service) Over(store gatehouse.Store) *Service {
	k := *s.kit
	k.store = store
	return compose(&k)
}

// validID refuses an id SpiceDB would refuse, naming the field.
func validID(field, id string) error {
	if id == "" {
		return gatehouse.Invalid(field, "%s is required", field)
	}
	if !gatehouse.ValidID(id) {
		return gatehouse.Invalid(field, "%q may contain only letters, digits and /_|-=+ (at most 1024)", id)
	}
	return nil
}

// validText checks optional display text of field (a title, a
// description) and returns it trimmed: UTF-8, at most maxLen bytes, and
// no control characters but, in multiline text, line breaks and tabs.
func validText(field, text string, maxLen int, multiline bool) (string, error) {
	if !utf8.ValidString(text) {
		return "", gatehouse.Invalid(field, "%s must be UTF-8 text", field)
	}
	text = strings.TrimSpace(text)
	if len(text) > maxLen {
		return "", gatehouse.Invalid(field, "%s is too long: at most %d bytes, got %d", field, maxLen, len(text))
	}
	for _, c := range text {
		lineBreakOrTab := c == '\n' || c == '\r' || c == '\t'
		if unicode.IsControl(c) && (!multiline || !lineBreakOrTab) {
			if multiline {
				return "", gatehouse.Invalid(field, "%s may hold line breaks and tabs but no other control characters (found %U)", field, c)
			}
			return "", gatehouse.Invalid(field, "%s is one line of text: no line breaks or control characters (found %U)", field, c)
		}
	}
	return text, nil
}

// validOrg is the one check of an organisation id, wherever one comes in
// (X5): an id SpiceDB accepts, without '/', because Gatehouse composes the
// ids of change kinds and targets from it with '/' and deletes them by the
// prefix "<org>/", which must never reach another organisation.
func validOrg(field, org string) error {
	if err := validID(field, org); err != nil {
		return err
	}
	if strings.Contains(org, "/") {
		return gatehouse.Invalid(field, "%q is not a valid organisation id: letters, digits and _|-=+ only, no '/' (X5)", org)
	}
	return nil
}

// validUser refuses a subject that is not user:<id>.
func validUser(field string, u gatehouse.Subject) error {
	if u.Type != gatehouse.TypeUser || u.Relation != "" {
		return gatehouse.Invalid(field, "%q must be a user (user:<id>)", u.String())
	}
	return validID(field, u.ID)
}
