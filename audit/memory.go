package audit

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/gatehouse-authz/gatehouse"
)

// Memory is a Trail in this process's memory: a ring of the newest events,
// for the embedded memory datastore, where nothing survives a restart
// anyway. It forgets the oldest event when full.
type Memory struct {
	mu     sync.RWMutex
	ring   []stored // ring[(first+i)%size] for i < n; grows up to size
	size   int
	first  int
	n      int
	seq    int64
	keys   map[key]int64
	cursor string
	// dropped counts the events the ring forgot to make room (Dropped).
	dropped int64
}

type key struct {
	revision     string
	position     int
	organisation string
}

type stored struct {
	seq int64
	key key
	ev  gatehouse.AuditEvent
}

// NewMemory returns an empty memory trail that keeps the newest size events.
func NewMemory(size int) *Memory {
	if size <= 0 {
		size = 1
	}
	return &Memory{size: size, keys: map[key]int64{}}
}

// Durable implements Trail: a memory trail is lost on restart.
func (m *Memory) Durable() bool { return false }

// Append implements Trail.
func (m *Memory) Append(_ context.Context, events []gatehouse.AuditRecord, cursor string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range events {
		k := key{e.Revision, e.Position, e.Organisation}
		if _, ok := m.keys[k]; ok {
			continue
		}
		if m.n == m.size {
			m.dropOldest()
			m.dropped++
		}
		m.seq++
		s := stored{seq: m.seq, key: k, ev: e.AuditEvent}
		if i := (m.first + m.n) % m.size; i == len(m.ring) {
			m.ring = append(m.ring, s)
		} else {
			m.ring[i] = s
		}
		m.n++
		m.keys[k] = m.seq
	}
	if cursor != "" {
		m.cursor = cursor
	}
	return nil
}

// Cursor implements Trail.
func (m *Memory) Cursor(context.Context) (string, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.cursor, nil
}

// Len returns how many events the trail holds.
func (m *Memory) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.n
}

// Dropped returns how many events the ring forgot because it was full
// (not those Prune removed): the gatehouse_audit_dropped_events_total metric.
func (m *Memory) Dropped() int64 {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.dropped
}

func (m *Memory) at(i int) *stored { return &m.ring[(m.first+i)%m.size] }

func (m *Memory) dropOldest() {
	delete(m.keys, m.ring[m.first].key)
	m.ring[m.first] = stored{}
	m.first = (m.first + 1) % m.size
	m.n--
}

// List implements Trail.
func (m *Memory) List(_ context.Context, q gatehouse.AuditQuery) ([]gatehouse.AuditEvent, string, error) {
	before, limit, err := pageOf(q)
	if err != nil {
		return nil, "", err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := []gatehouse.AuditEvent{}
	var last int64
	for i := m.n - 1; i >= 0; i-- {
		s := m.at(i)
		if before != 0 && s.seq >= before {
			continue
		}
		if !matches(q, s.ev) {
			continue
		}
		if len(out) == limit {
			return out, strconv.FormatInt(last, 10), nil
		}
		out = append(out, s.ev)
		last = s.seq
	}
	return out, "", nil
}

// Export implements Trail.
func (m *Memory) Export(ctx context.Context, q gatehouse.AuditQuery, fn func(gatehouse.AuditEvent) error) error {
	if err := checkQuery(q); err != nil {
		return err
	}
	// Copy first: fn may be slow (a network write) and must not hold the lock.
	m.mu.RLock()
	var all []gatehouse.AuditEvent
	for i := range m.n {
		if s := m.at(i); matches(q, s.ev) {
			all = append(all, s.ev)
		}
	}
	m.mu.RUnlock()
	for _, e := range all {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

// Prune implements Trail: the ring drops its oldest events recorded before t.
func (m *Memory) Prune(_ context.Context, before time.Time) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int64
	for m.n > 0 && m.ring[m.first].ev.At.Before(before) {
		m.dropOldest()
		n++
	}
	return n, nil
}
