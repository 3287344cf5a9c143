package workflow

import (
	"context"
	"slices"
	"strings"

	"github.com/gatehouse-authz/gatehouse"
)

// Declarations decides C15's always-substantial declarations: holders of
// manage_members declare a kind (optionally one target) always
// substantial, and a filing reads them (declarations) to flag the request.
type Declarations struct{ *kit }

// The always-substantial declarations of C15: holders of manage_members
// declare a kind of their organisation, optionally narrowed to one target,
// always substantial, and requests of it are flagged when filed.

// alwaysObject is the change_kind, or with a target the change_target,
// whose declarations make requests always substantial (C15).
func alwaysObject(org, kind, target string) gatehouse.Object {
	if target != "" {
		return gatehouse.ChangeTargetRef(org, kind, target)
	}
	return gatehouse.ChangeKindRef(org, kind)
}

// SetAlwaysSubstantial declares, for actor, a holder of manage_members in
// org, the kind of change request (or, with target, that kind on that
// target only) always of substantial security impact and/or charge (C15):
// from then on requests of it are flagged when filed whatever the filer
// says. It replaces the declaration: a false flag removes that part.
// Requests already filed keep their flags.
func (s *Declarations) SetAlwaysSubstantial(ctx context.Context, actor gatehouse.Subject, org, kind, target string, security, charge bool) (string, error) {
	return s.writeAlways(ctx, actor, org, kind, target, security, charge, "set_always_substantial")
}

// UnsetAlwaysSubstantial removes, for actor, a holder of manage_members
// in org, both declarations of kind (or kind on target) (C15).
func (s *Declarations) UnsetAlwaysSubstantial(ctx context.Context, actor gatehouse.Subject, org, kind, target string) (string, error) {
	return s.writeAlways(ctx, actor, org, kind, target, false, false, "unset_always_substantial")
}

func (s *Declarations) writeAlways(ctx context.Context, actor gatehouse.Subject, org, kind, target string, security, charge bool, action string) (string, error) {
	if err := validOrg("org", org); err != nil {
		return "", err
	}
	if err := validKind("kind", kind, true); err != nil {
		return "", err
	}
	if err := validTarget("target", target); err != nil {
		return "", err
	}
	obj := alwaysObject(org, kind, target)
	details := map[string]string{"kind": kind}
	if target != "" {
		details["target"] = target
	}
	var tok string
	err := retryWrite(ctx, func() error {
		pins, err := s.requirePins(ctx, actor, org, gatehouse.PermManageMembers)
		if err != nil {
			return err
		}
		var c writeSet
		c.pin(pins...)
		for _, x := range []struct {
			rel string
			on  bool
		}{{gatehouse.RelAlwaysSecurity, security}, {gatehouse.RelAlwaysCharge, charge}} {
			op := gatehouse.Delete
			if x.on {
				op = gatehouse.Touch
			}
			c.update(op, makeRel(obj, x.rel, gatehouse.Wildcard(gatehouse.TypeUser)))
		}
		details["security"], details["charge"] = boolString(security), boolString(charge)
		tok, err = s.write(ctx, c, gatehouse.Audit{Actor: actor.String(), Action: action, Organisation: org, Details: details})
		return err
	})
	return tok, err
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// declarations reads the always-substantial declarations of kind and of
// kind+target in org (C15) and pins each one that is absent, so that a
// declaration made concurrently sends the filing back to be decided again.
func (s *Declarations) declarations(ctx context.Context, c *writeSet, org, kind, target string) (security, charge bool, err error) {
	objs := []gatehouse.Object{gatehouse.ChangeKindRef(org, kind)}
	if target != "" {
		objs = append(objs, gatehouse.ChangeTargetRef(org, kind, target))
	}
	for _, o := range objs {
		for _, rel := range []string{gatehouse.RelAlwaysSecurity, gatehouse.RelAlwaysCharge} {
			f := gatehouse.Filter{ResourceType: o.Type, ResourceID: o.ID, Relation: rel}
			rels, _, err := s.store.ReadRelationships(ctx, f, latest)
			if err != nil {
				return false, false, err
			}
			if len(rels) == 0 {
				c.pin(pinAbsent(f))
				continue
			}
			if rel == gatehouse.RelAlwaysSecurity {
				security = true
			} else {
				charge = true
			}
		}
	}
	return security, charge, nil
}

// Declaration is one always-substantial declaration (C15): a kind, or one
// target of it ("type:id"), and which flags requests of it get when filed.
type Declaration struct {
	Kind, Target     string
	Security, Charge bool
}

// Key orders declarations: kind, then target.
func (d Declaration) Key() string { return d.Kind + "|" + d.Target }

// ListAlwaysSubstantial lists, for actor, a holder of manage_members in
// org, who alone may change them (C15), org's always-substantial
// declarations ordered by Key. 404 when org does not exist; anyone else
// gets 403 naming manage_members.
func (s *Declarations) ListAlwaysSubstantial(ctx context.Context, actor gatehouse.Subject, org string) ([]Declaration, error) {
	if err := validOrg("org", org); err != nil {
		return nil, err
	}
	if err := s.requireOf(ctx, actor, org, gatehouse.PermManageMembers); err != nil {
		return nil, err
	}
	byObj := map[gatehouse.Object]*Declaration{}
	for _, typ := range []string{gatehouse.TypeChangeKind, gatehouse.TypeChangeTarget} {
		for _, rel := range []string{gatehouse.RelAlwaysSecurity, gatehouse.RelAlwaysCharge} {
			rels, _, err := s.store.ReadRelationships(ctx, gatehouse.Filter{ResourceType: typ, IDPrefix: org + "/", Relation: rel}, latest)
			if err != nil {
				return nil, err
			}
			for _, x := range rels {
				// <org>/<kind> or <org>/<kind>/<type>/<id>
				parts := strings.SplitN(x.Resource.ID, "/", 4)
				if len(parts) < 2 || parts[0] != org {
					continue
				}
				d := byObj[x.Resource]
				if d == nil {
					d = &Declaration{Kind: parts[1]}
					if len(parts) == 4 {
						d.Target = parts[2] + ":" + parts[3]
					}
					byObj[x.Resource] = d
				}
				if rel == gatehouse.RelAlwaysSecurity {
					d.Security = true
				} else {
					d.Charge = true
				}
			}
		}
	}
	out := make([]Declaration, 0, len(byObj))
	for _, d := range byObj {
		out = append(out, *d)
	}
	slices.SortFunc(out, func(a, b Declaration) int { return strings.Compare(a.Key(), b.Key()) })
	return out, nil
}
