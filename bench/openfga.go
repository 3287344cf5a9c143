package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
)

// openfgaModel is the organisation/contractor part of schema/schema.zed in
// OpenFGA's model language, as JSON (what its HTTP API takes). In the DSL:
//
//	model
//	  schema 1.1
//	type user
//	type organisation
//	  relations
//	    define owner: [user]
//	    define security_admin: [user]
//	    define alternate_security_admin: [user]
//	    define administrator: [user]
//	    define it_manager: [user]
//	    define it_admin: [user]
//	    define finance_admin: [user]
//	    define billing_manager: [user]
//	    define cis_processor: [user]
//	    define security_administration: owner or security_admin or alternate_security_admin
//	    define manage_contractors: security_administration or administrator
//	    define view_admin_only_contractors: manage_contractors
//	    define view_unflagged_contractors: it_manager or cis_processor
//	type contractor
//	  relations
//	    define organisation: [organisation]
//	    define admin_only: [user:*]
//	    define unflagged: view_unflagged_contractors from organisation
//	    define view: view_admin_only_contractors from organisation or (unflagged but not admin_only)
//
// The bench verifies that it gives the same answers as SpiceDB before
// timing it.
func openfgaModel() map[string]any {
	this := map[string]any{"this": map[string]any{}}
	cu := func(rel string) map[string]any {
		return map[string]any{"computedUserset": map[string]any{"relation": rel}}
	}
	union := func(rels ...string) map[string]any {
		var child []any
		for _, r := range rels {
			child = append(child, cu(r))
		}
		return map[string]any{"union": map[string]any{"child": child}}
	}
	ttu := func(tupleset, rel string) map[string]any {
		return map[string]any{"tupleToUserset": map[string]any{
			"tupleset": map[string]any{"relation": tupleset}, "computedUserset": map[string]any{"relation": rel},
		}}
	}
	user := []any{map[string]any{"type": "user"}}
	roles := []string{"owner", "security_admin", "alternate_security_admin", "administrator", "it_manager", "it_admin", "finance_admin", "billing_manager", "cis_processor"}
	orgRels := map[string]any{
		"security_administration":     union("owner", "security_admin", "alternate_security_admin"),
		"manage_contractors":          union("security_administration", "administrator"),
		"view_admin_only_contractors": cu("manage_contractors"),
		"view_unflagged_contractors":  union("it_manager", "cis_processor"),
	}
	orgMeta := map[string]any{}
	for _, r := range roles {
		orgRels[r] = this
		orgMeta[r] = map[string]any{"directly_related_user_types": user}
	}
	return map[string]any{
		"schema_version": "1.1",
		"type_definitions": []any{
			map[string]any{"type": "user"},
			map[string]any{"type": "organisation", "relations": orgRels, "metadata": map[string]any{"relations": orgMeta}},
			map[string]any{
				"type": "contractor",
				"relations": map[string]any{
					"organisation": this,
					"admin_only":   this,
					"unflagged":    ttu("organisation", "view_unflagged_contractors"),
					"view": map[string]any{"union": map[string]any{"child": []any{
						ttu("organisation", "view_admin_only_contractors"),
						map[string]any{"difference": map[string]any{"base": cu("unflagged"), "subtract": cu("admin_only")}},
					}}},
				},
				"metadata": map[string]any{"relations": map[string]any{
					"organisation": map[string]any{"directly_related_user_types": []any{map[string]any{"type": "organisation"}}},
					"admin_only":   map[string]any{"directly_related_user_types": []any{map[string]any{"type": "user", "wildcard": map[string]any{}}}},
				}},
			},
		},
	}
}

// startOpenFGA runs OpenFGA, the peer users would pick instead: memory
// datastore, its defaults (Check is consistent; its check cache, off by
// default, would make it eventually consistent), ListObjects unbounded
// like the others; then it writes the model and the dataset.
func (b *bench) startOpenFGA(ctx context.Context) (*openfga, error) {
	addr := freeAddr()
	p, err := b.start(ctx, "openfga", b.o.openfga, nil, "run", "--datastore-engine", "memory", "--http-addr", addr, "--grpc-addr", freeAddr(),
		"--playground-enabled=false", "--metrics-enabled=false", "--log-level", "warn",
		"--listObjects-max-results", "0", "--listObjects-deadline", "30s", "--request-timeout", "35s")
	if err != nil {
		return nil, err
	}
	f := &openfga{base: "http://" + addr}
	if err := waitFor(ctx, func() error { return f.setup(ctx) }); err != nil {
		return nil, p.failed(err)
	}
	if err := f.load(ctx, b.data); err != nil {
		return nil, p.failed(err)
	}
	return f, nil
}

// openfga is an OpenFGA server's HTTP API, with one store and model.
type openfga struct {
	base, store, model string
}

// setup creates the store and writes the model.
func (f *openfga) setup(ctx context.Context) error {
	var st struct {
		ID string `json:"id"`
	}
	if err := post(ctx, http.DefaultClient, f.base+"/stores", "", map[string]string{"name": "gatehouse-bench"}, &st); err != nil {
		return err
	}
	f.store = st.ID
	var m struct {
		ID string `json:"authorization_model_id"`
	}
	if err := post(ctx, http.DefaultClient, f.base+"/stores/"+f.store+"/authorization-models", "", openfgaModel(), &m); err != nil {
		return err
	}
	f.model = m.ID
	return nil
}

// tuple turns zed notation (type:id#relation@type:id) into an OpenFGA tuple key.
func tuple(rel string) map[string]string {
	res, sub, _ := strings.Cut(rel, "@")
	obj, relation, _ := strings.Cut(res, "#")
	return map[string]string{"object": obj, "relation": relation, "user": sub}
}

// write writes relationships (zed notation), 100 a request (OpenFGA's most).
func (f *openfga) write(ctx context.Context, rels []string) error {
	return eachOf((len(rels)+99)/100, func(i int) error {
		var keys []any
		for _, r := range rels[i*100 : min((i+1)*100, len(rels))] {
			keys = append(keys, tuple(r))
		}
		return post(ctx, http.DefaultClient, f.base+"/stores/"+f.store+"/write", "", map[string]any{
			"writes": map[string]any{"tuple_keys": keys}, "authorization_model_id": f.model,
		}, nil)
	})
}

// load writes the dataset: the roles, and each contractor's organisation.
func (f *openfga) load(ctx context.Context, d data) error {
	rels := append([]string(nil), d.rels...)
	for _, c := range d.contractors {
		rels = append(rels, fmt.Sprintf("contractor:%s#organisation@organisation:%s", c[1], c[0]))
	}
	return f.write(ctx, rels)
}

// buildBigOrg writes the lookup organisation: n contractors, every other
// one admin-only, and a CIS processor.
func (f *openfga) buildBigOrg(ctx context.Context, n int) error {
	rels := []string{"organisation:big#owner@user:big_owner", "organisation:big#cis_processor@user:big_cis"}
	for i := range n {
		rels = append(rels, fmt.Sprintf("contractor:big_c%d#organisation@organisation:big", i))
		if i%2 == 1 {
			rels = append(rels, fmt.Sprintf("contractor:big_c%d#admin_only@user:*", i))
		}
	}
	return f.write(ctx, rels)
}

func (f *openfga) check(ctx context.Context, hc *http.Client, c check) (bool, error) {
	var out struct {
		Allowed bool `json:"allowed"`
	}
	err := post(ctx, hc, f.base+"/stores/"+f.store+"/check", "", map[string]any{
		"tuple_key":              map[string]string{"object": c.resource, "relation": "view", "user": c.subject},
		"authorization_model_id": f.model,
	}, &out)
	return out.Allowed, err
}

// verify is check: OpenFGA's Check is consistent by default.
func (f *openfga) verify(ctx context.Context, hc *http.Client, c check) (bool, error) {
	return f.check(ctx, hc, c)
}

// lookup is OpenFGA's ListObjects. It answers at most
// --listObjects-max-results objects (the bench raises it to the whole set)
// within --listObjects-deadline.
func (f *openfga) lookup(ctx context.Context, hc *http.Client) (int, error) {
	var out struct {
		Objects []string `json:"objects"`
	}
	err := post(ctx, hc, f.base+"/stores/"+f.store+"/list-objects", "", map[string]any{
		"type": "contractor", "relation": "view", "user": "user:big_cis", "authorization_model_id": f.model,
	}, &out)
	return len(out.Objects), err
}
