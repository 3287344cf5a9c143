package console

import (
	"net/http"

	"github.com/gatehouse-authz/gatehouse"
)

// can checks, in one bulk call at the head revision, which of permissions
// sub holds on res. A page uses it only to choose which forms to offer:
// every action is decided again by the workflow when it is sent.
func (c *console) can(r *http.Request, res gatehouse.Object, sub gatehouse.Subject, permissions ...string) (map[string]bool, error) {
	checks := make([]gatehouse.CheckRequest, len(permissions))
	for i, p := range permissions {
		checks[i] = gatehouse.CheckRequest{Resource: res, Permission: p, Subject: sub}
	}
	results, _, err := c.cfg.Store.CheckBulk(r.Context(), checks, gatehouse.Consistency{FullyConsistent: true})
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(permissions))
	for i, res := range results {
		if res.Err != nil {
			return nil, res.Err
		}
		out[permissions[i]] = res.Allowed
	}
	return out, nil
}

// require is the page guard of a read the API has no endpoint for: sub
// must hold permission on res, else the API's 403 naming it.
func (c *console) require(r *http.Request, res gatehouse.Object, permission string, sub gatehouse.Subject) error {
	ok, err := c.allowed(r, res, permission, sub)
	if err == nil && !ok {
		err = gatehouse.Forbidden(sub, permission, res)
	}
	return err
}
