package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// result is one target's figures on one workload.
type result struct {
	rps      float64
	p50, p99 time.Duration
	errors   int64
}

// load runs conns workers against replicas for d and measures every
// request. Worker w asks replica w modulo their number, so that each
// connection sticks to one replica and each has an equal share of them.
func load(ctx context.Context, hc *http.Client, conns int, d time.Duration, checks []check, replicas []replica) result {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var wg sync.WaitGroup
	var errs atomic.Int64
	lats := make([][]time.Duration, conns)
	start := time.Now()
	for w := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := replicas[w%len(replicas)]
			i := w * 997
			for ctx.Err() == nil {
				c := checks[i%len(checks)]
				i++
				t := time.Now()
				got, err := r.check(ctx, hc, c)
				if ctx.Err() != nil {
					return
				}
				if err != nil || got != c.want {
					errs.Add(1)
					continue
				}
				lats[w] = append(lats[w], time.Since(t))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	p50, p99 := percentiles(all)
	return result{rps: float64(len(all)) / elapsed.Seconds(), p50: p50, p99: p99, errors: errs.Load()}
}

func percentiles(l []time.Duration) (time.Duration, time.Duration) {
	if len(l) == 0 {
		return 0, 0
	}
	slices.Sort(l)
	at := func(q float64) time.Duration { return l[min(len(l)-1, int(q*float64(len(l))))].Round(time.Microsecond) }
	return at(0.50), at(0.99)
}

func client(conns int) *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConns: conns * 2, MaxIdleConnsPerHost: conns * 2, MaxConnsPerHost: conns, IdleConnTimeout: time.Minute}}
}

func post(ctx context.Context, hc *http.Client, url, key string, body any, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return err
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s: %d %s", url, resp.StatusCode, raw)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(raw, out)
}
