package main

import (
	"fmt"
	"math/rand/v2"
)

// zipfMix draws n checks from checks with a Zipf distribution (s = 1.1)
// over a fixed shuffle of them, so that the most asked ones are spread
// over organisations and answers.
func zipfMix(checks []check, n int) []check {
	rng := rand.New(rand.NewPCG(3, 4)) //nolint:gosec // a fixed seed, so every run asks the same mix
	order := rng.Perm(len(checks))
	z := rand.NewZipf(rng, 1.1, 1, uint64(len(checks)-1)) //nolint:gosec // len(checks) > 0, the dataset has 20,000
	out := make([]check, n)
	for i := range out {
		out[i] = checks[order[z.Uint64()]]
	}
	return out
}

type check struct {
	resource, subject string
	want              bool
}

type data struct {
	orgs []string
	// rels are the roles, written raw; contractors are {org, id}, created
	// through the contractor endpoint, since the raw endpoint refuses
	// contractor#organisation (K1, X4).
	rels        []string
	contractors [][2]string
	checks      []check
	allowedPct  int
}

// dataset builds orgs organisations, each with an owner, an administrator,
// a CIS processor, an IT manager, a billing manager and perOrg contractors
// (every third admin-only), and checks of contractor#view whose answers
// follow from the rules: the same organisation's roles, or an outsider.
func dataset(o options) data {
	var d data
	rng := rand.New(rand.NewPCG(1, 2)) //nolint:gosec // a fixed seed, so every run checks the same data
	roles := []string{"administrator", "cis_processor", "it_manager", "billing_manager", "finance_admin"}
	for i := range o.orgs {
		org := fmt.Sprintf("org%d", i)
		d.orgs = append(d.orgs, org)
		for _, r := range roles {
			d.rels = append(d.rels, fmt.Sprintf("organisation:%s#%s@user:%s_%s", org, r, org, r))
		}
		for c := range o.perOrg {
			d.contractors = append(d.contractors, [2]string{org, fmt.Sprintf("%s_c%d", org, c)})
		}
	}
	// The admin-only flag is a wildcard, which the API never accepts from a
	// caller: it is set through the contractor endpoint, so here the flag is
	// left out and admin-only visibility is measured by the lookup below.
	allowed := 0
	for range 20000 {
		org := rng.IntN(o.orgs)
		c := rng.IntN(o.perOrg)
		role := roles[rng.IntN(len(roles))]
		userOrg := org
		if rng.IntN(3) == 0 {
			userOrg = (org + 1 + rng.IntN(o.orgs-1)) % o.orgs
		}
		want := userOrg == org && role != "billing_manager" && role != "finance_admin"
		if want {
			allowed++
		}
		d.checks = append(d.checks, check{
			resource: fmt.Sprintf("contractor:org%d_c%d", org, c),
			subject:  fmt.Sprintf("user:org%d_%s", userOrg, role),
			want:     want,
		})
	}
	d.allowedPct = allowed * 100 / len(d.checks)
	return d
}
