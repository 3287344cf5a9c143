package client

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"sync"

	"github.com/gatehouse-authz/gatehouse/wire"
)

type (
	// DryRun is what a write tried with DryRun would do (X7): the
	// relationships it would touch or delete and the permissions each
	// person would gain or lose. Nothing was written or audited.
	DryRun = wire.DryRun
	// Effect is one permission a subject would gain ("gained") or lose
	// ("lost") on an object.
	Effect = wire.Effect
)

// DryRun tries the one write that write makes, without making it (X7):
// write is handed a copy of c whose writes go with ?dryRun=true, and
// DryRun returns the server's answer. The server runs every check and
// precondition as for real, so a refusal comes back as the same error.
//
//	dr, err := c.DryRun(func(c *client.Client) error {
//		_, err := c.RemoveMember(ctx, "brightcis", "carla", "")
//		return err
//	})
//
// Inside write, each write method returns its usual result empty (the
// answer is dr, not the result), and reads are sent as they are, so they
// see nothing of the write. write must make exactly one write.
func (c *Client) DryRun(write func(c *Client) error) (*DryRun, error) {
	d := *c
	d.dry = &dryRuns{}
	if err := write(&d); err != nil {
		return nil, err
	}
	return d.dry.one()
}

// dryRuns keeps the answers of the writes tried inside one DryRun.
type dryRuns struct {
	mu  sync.Mutex
	got []*DryRun
}

func (r *dryRuns) add(dr *DryRun) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, dr)
}

func (r *dryRuns) one() (*DryRun, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch len(r.got) {
	case 0:
		return nil, errors.New("gatehouse dry run: the function made no write")
	case 1:
		return r.got[0], nil
	}
	// Each would be tried against the state before all of them, so their
	// answers would not add up to what the writes together would do.
	return nil, fmt.Errorf("gatehouse dry run: the function made %d writes; try one at a time", len(r.got))
}

// writes says whether the call changes something: anything but a GET or a
// POST that only reads. A call not marked is taken for a write, so that a
// dry run never lets a write through.
func (cl call) writes() bool { return cl.method != http.MethodGet && !cl.read }

// dryRun sends the write cl with ?dryRun=true and keeps the answer. A dry
// run changes nothing, so it is retried like a read.
func (c *Client) dryRun(ctx context.Context, cl call) error {
	q := url.Values{}
	maps.Copy(q, cl.query)
	q.Set("dryRun", "true")
	var dr DryRun
	cl.query, cl.out, cl.token, cl.idempotent = q, &dr, nil, true
	d := *c
	d.dry = nil
	if err := d.do(ctx, cl); err != nil {
		return err
	}
	if !dr.DryRun {
		// A server that ignored the parameter would have made the write.
		return fmt.Errorf("gatehouse %s %s: the answer is not a dry run (dryRun is not true); the server may have made the write", cl.method, cl.path)
	}
	c.dry.add(&dr)
	return nil
}
