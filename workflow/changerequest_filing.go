package workflow

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"strings"

	"github.com/gatehouse-authz/gatehouse"
)

// Filing a change request (C1, C2, C12, C15, C17): the first transition,
// one write that creates it and, when the requester may authorise it,
// records that authorisation (and settles a request that needs nothing
// more, C14), with a scratch engine (changerequest_onewrite.go); without
// one, the authorisation and the settling are writes of their own.

// FileChangeRequest files r for actor, who becomes its requester. Any
// member may file any kind (C1, C2); provider staff may file a legally
// mandated change with a legal reason (C12). The request's relationships
// are created in one write that fails with ECONFLICT when the id is taken,
// pinned on the requester's membership (or staff standing), so a
// concurrent removal sends it back to be decided again. A target that is a
// user is recorded as the request's target_user (C17). The kind's and the
// target's always-substantial declarations flag it whatever the filer says
// (C15), pinned so a concurrent declaration is not missed.
// A request the requester may authorise themselves (C3, C5, C6, or they are
// in the current tier) is authorised as filed, and that is recorded, so an
// exception that expires later does not undo it; never when it is about
// the requester (C17). With a scratch engine (WithScratch) the filing, its
// authorisation as filed and the settling of a request that needs nothing
// more (C12, C14) are one write with one audit record, file_change_request,
// whose details say "authorisedAsFiled" and "settled"; without one, each
// is a write of its own.
func (s *Service) FileChangeRequest(ctx context.Context, actor gatehouse.Subject, r NewChangeRequest) (ChangeRequest, error) {
	r.LegalReason = strings.TrimSpace(r.LegalReason)
	if err := r.validate(); err != nil {
		return ChangeRequest{}, err
	}
	if r.ID != "" {
		return s.fileChangeRequest(ctx, actor, r)
	}
	// An id the filer left out is made here; one already taken (by a
	// filer who chose it) is made again.
	for range 3 {
		r.ID = newChangeRequestID()
		st, err := s.fileChangeRequest(ctx, actor, r)
		if !taken(err) {
			return st, err
		}
	}
	return ChangeRequest{}, gatehouse.Errorf(gatehouse.ECONFLICT, "three change request ids made in a row were taken; file it again")
}

// newChangeRequestID makes a change request id: "cr-" and 13 random
// letters and digits (64 bits), which no filer is likely to have chosen.
// A variable, so that a test can make ids that are taken.
var newChangeRequestID = func() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24)
	return "cr-" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// taken reports whether err is mustBeUnused's refusal of an id in use:
// the one conflict of a filing that names the id.
func taken(err error) bool {
	var e *gatehouse.Error
	return errors.As(err, &e) && e.Code == gatehouse.ECONFLICT && e.Field == "id"
}

// fileChangeRequest is FileChangeRequest of r, whose id is set: one
// write with a scratch engine (inOneWrite), else fileApart.
func (s *Service) fileChangeRequest(ctx context.Context, actor gatehouse.Subject, r NewChangeRequest) (ChangeRequest, error) {
	return s.inOneWrite(ctx, actor, gatehouse.ChangeRequestRef(r.ID), func(sv *Service) (ChangeRequest, error) {
		return sv.fileApart(ctx, actor, r)
	})
}

// fileApart files r, whose id is set, in one write, then authorises it as
// filed in another when the filer may (authoriseWhenFiled).
func (s *Service) fileApart(ctx context.Context, actor gatehouse.Subject, r NewChangeRequest) (ChangeRequest, error) {
	org := gatehouse.OrganisationRef(r.Organisation)
	legal := r.LegalReason != ""
	cr := gatehouse.ChangeRequestRef(r.ID)
	var standing []gatehouse.Precondition
	err := retryWrite(ctx, func() error {
		var c writeSet
		var platform gatehouse.Object
		perm := gatehouse.PermMember
		if legal {
			perm = gatehouse.PermProviderStaff
		}
		// 403 before anything else, for an organisation that does not exist too.
		err := s.require(ctx, actor, perm, org)
		if err != nil {
			return final(err)
		}
		if legal {
			if standing, err = s.requirePins(ctx, actor, r.Organisation, gatehouse.PermProviderStaff); err != nil {
				return err
			}
			if platform, err = s.platformOf(ctx, actor, org); err != nil {
				return err
			}
		} else if standing, err = s.requirePins(ctx, actor, r.Organisation, gatehouse.PermMember); err != nil {
			return err
		}
		c.pin(standing...)
		// Ids are global: no relationship of change_request:<id> may exist yet.
		c.pin(pinAbsent(gatehouse.Filter{ResourceType: cr.Type, ResourceID: cr.ID}))
		security, charge, err := s.declarations(ctx, &c, r.Organisation, r.Kind, r.Target)
		if err != nil {
			return err
		}
		details, err := r.filing(&c, actor, platform, security, charge)
		if err != nil {
			return err
		}
		_, err = s.write(ctx, c, gatehouse.Audit{Actor: actor.String(), Action: actionFile, Reason: r.LegalReason, Organisation: r.Organisation, Details: details})
		if gatehouse.ErrorCode(err) == gatehouse.ECONFLICT {
			if uerr := s.mustBeUnused(ctx, cr, ""); uerr != nil {
				return uerr
			}
		}
		return err
	})
	if err != nil {
		return ChangeRequest{}, err
	}

	st, err := s.state(ctx, cr)
	if err != nil {
		return st, err
	}
	return s.authoriseWhenFiled(ctx, actor, st, standing)
}

// authoriseWhenFiled records the authorisation of st, just filed by actor
// on standing, when actor may give it (authorisePath: C3, C5, C6, or in
// the current tier, C8; never about themselves, C17), and settles a
// request that needs nothing more (C12, C14).
func (s *Service) authoriseWhenFiled(ctx context.Context, actor gatehouse.Subject, st ChangeRequest, standing []gatehouse.Precondition) (ChangeRequest, error) {
	cr := st.object()
	if !st.Needs(NeedAuthorisation) {
		// A legal mandate is authorised and approved as filed (C12).
		return s.settle(ctx, actor, st), nil
	}
	path, err := s.authorisePath(ctx, st, actor)
	if err != nil || path == "" {
		return st, err
	}
	pins, err := s.standingPins(ctx, st, actor, path, nil)
	if err != nil {
		return st, err
	}
	var c writeSet
	c.pin(standing...)
	c.pin(pins...)
	c.pin(st.openPins()...)
	c.update(gatehouse.Touch, makeRel(cr, gatehouse.RelAuthorisedBy, actor))
	tok, err := s.write(ctx, c, gatehouse.Audit{
		Actor: actor.String(), Action: actionAuthorise, Organisation: st.Organisation,
		Reason: "authorised when filed: the requester may authorise it (C3, C5, C6, C8)", Details: map[string]string{"changeRequest": st.ID, "gave": NeedAuthorisation},
	})
	if gatehouse.ErrorCode(err) == gatehouse.ECONFLICT {
		// Something changed between the two writes (the requester was
		// removed, or withdrew it): the request stands as filed.
		return s.state(ctx, cr)
	}
	if err != nil {
		return ChangeRequest{}, err
	}
	return s.stateAfter(ctx, actor, cr, tok, nil)
}

// filing adds to c the relationships that file r for actor (C1, C2, C12,
// C17), flagged as the filer says or as the declarations security and
// charge make it (C15), with the label of its title and description, and
// returns the audit's details.
func (r NewChangeRequest) filing(c *writeSet, actor gatehouse.Subject, platform gatehouse.Object, security, charge bool) (map[string]string, error) {
	org := gatehouse.OrganisationRef(r.Organisation)
	cr := gatehouse.ChangeRequestRef(r.ID)
	add := func(relation string, subject gatehouse.Subject) {
		c.update(gatehouse.Create, makeRel(cr, relation, subject))
	}
	add(gatehouse.RelOrganisation, gatehouse.Subject{Object: org})
	add(gatehouse.RelRequester, actor)
	add(gatehouse.RelKind, gatehouse.Subject{Object: gatehouse.ChangeKindRef(r.Organisation, r.Kind)})
	add(r.Kind, gatehouse.Subject{Object: org})
	details := map[string]string{"changeRequest": r.ID, "kind": r.Kind}
	if r.Target != "" {
		add(gatehouse.RelTarget, gatehouse.Subject{Object: gatehouse.ChangeTargetRef(r.Organisation, r.Kind, r.Target)})
		details["target"] = r.Target
		if t, _ := gatehouse.ParseObject("target", r.Target); t.Type == gatehouse.TypeUser {
			add(gatehouse.RelTargetUser, gatehouse.Subject{Object: t})
		}
	}
	if security && !r.SubstantialSecurity {
		details["securityDeclared"] = "true"
	}
	if charge && !r.SubstantialCharge {
		details["chargeDeclared"] = "true"
	}
	if r.SubstantialSecurity || security {
		add(gatehouse.RelSubstantialSecurity, gatehouse.Wildcard(gatehouse.TypeUser))
	}
	if r.SubstantialCharge || charge {
		add(gatehouse.RelSubstantialCharge, gatehouse.Wildcard(gatehouse.TypeUser))
	}
	if r.LegalReason != "" {
		add(gatehouse.RelLegalMandate, gatehouse.Subject{Object: platform})
		details["legalMandate"] = "true"
	}
	if text := r.text(); len(text) > 0 {
		// validate has encoded it once: it fits a label.
		label, err := labelOf(cr, text)
		if err != nil {
			return nil, err
		}
		c.update(gatehouse.Create, label)
	}
	if r.Title != "" {
		details["title"] = r.Title
	}
	return details, nil
}
