package workflow

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/dryrun"
)

// One write per transition. Two transitions of a change request may
// write more than once when their writes are made apart: a filing its
// filer may authorise as filed (the filing, the authorisation, the C14
// settled flag), and an authorisation or a confirmed override that
// completes the request (it, then the flag). What the second write is
// depends on SpiceDB's evaluation of the state after the first (the
// standing permission of a request that does not exist before its
// filing, C3, C5, C6, C8, C17; whether the request settles, C14), and Go
// does not model the schema's rules a second time. So, with a scratch
// engine (WithScratch), the transition runs unchanged over a stage
// (dryrun.NewStage: reads through to the Store, writes recorded, checks
// and lookups after a write answered by a scratch SpiceDB of the would-be
// state), and what it recorded is made in one real write (dryrun.Combine)
// with one audit record (oneRecord). A concurrent change that breaks a
// precondition of that write sends the whole transition back to be
// weighed again from a fresh load (retryWrite), as any transition's.

// Audit actions of the change request's writes that a transition staged
// as one write folds into its first write's record (oneRecord).
const (
	actionFile      = "file_change_request"
	actionAuthorise = "authorise_change_request"
	actionSettle    = "settle_change_request"
)

// stages reports whether s makes a transition of a change request as one
// write: it has a scratch engine, and its Store is not a dry run's or a
// stage's, which record the writes themselves (no scratch in a scratch).
func (s *Service) stages() bool {
	_, recorded := s.store.(*dryrun.Store)
	return s.scratch != nil && !recorded
}

// inOneWrite runs transition, which makes the writes of one transition of
// cr for actor and returns its state, as one write when s stages, and
// returns cr's state after it, read from the Store at that write (a
// request the write left to settle is settled as stateAfter does: with
// every staged transition settling in its one write, that is never
// needed unless the transition did not ask, see transit). Otherwise, and
// when the stage is too large to weigh (dryrun.ErrTooLarge), transition
// runs over s, writes apart.
func (s *Service) inOneWrite(ctx context.Context, actor gatehouse.Subject, cr gatehouse.Object, transition func(*Service) (ChangeRequest, error)) (ChangeRequest, error) {
	if !s.stages() {
		return transition(s)
	}
	tok, err := s.oneWrite(ctx, func(sv *Service) error {
		_, err := transition(sv)
		return err
	})
	if errors.Is(err, dryrun.ErrTooLarge) {
		return transition(s)
	}
	return s.stateAfter(ctx, actor, cr, tok, err)
}

// oneWrite runs transition over a stage of s's Store and makes what it
// recorded in one write, again from a fresh stage while a concurrent
// change breaks that write's preconditions; it returns the write's token,
// "" when the transition wrote nothing. The transition's own refusals
// stand as they are (it retried its own conflicts already).
func (s *Service) oneWrite(ctx context.Context, transition func(*Service) error) (string, error) {
	var tok string
	err := retryWrite(ctx, func() error {
		stage := dryrun.NewStage(s.store, s.scratch)
		defer stage.Close()
		sv := s.Over(stage)
		sv.staged = true
		if err := transition(sv); err != nil {
			return final(err)
		}
		writes := stage.Writes()
		if len(writes) == 0 {
			tok = ""
			return nil
		}
		w, err := dryrun.Combine(writes)
		if err != nil {
			return final(err)
		}
		if w.Audit, err = oneRecord(writes); err != nil {
			return final(err)
		}
		tok, err = s.store.Write(ctx, w)
		return err
	})
	return tok, err
}

// oneRecord is the audit record of writes made as one (X2: one row per
// action): the first write's, which names the action the actor took,
// with what each write after it did said in its details: "authorisedAsFiled"
// when a filing was authorised as filed (C3, C5, C6, C8), "settled" when
// the request was settled (C14).
func oneRecord(writes []gatehouse.Write) (gatehouse.Audit, error) {
	a := writes[0].Audit
	a.Details = maps.Clone(a.Details)
	if a.Details == nil {
		a.Details = map[string]string{}
	}
	for _, w := range writes[1:] {
		switch {
		case w.Audit.Action == actionAuthorise && a.Action == actionFile:
			a.Details["authorisedAsFiled"] = "true"
		case w.Audit.Action == actionSettle:
			a.Details["settled"] = "true"
		default:
			return gatehouse.Audit{}, fmt.Errorf("workflow: a %s write after %s cannot be said in one record", w.Audit.Action, a.Action)
		}
	}
	return a, nil
}
