package vm

import (
	"sync"
	"time"
)

// GIL is the Scheduler of a server instance: one thread at a time runs
// the instance's Tova code, so handlers share server state without data
// races. It is fair: waiting threads are served in arrival order, and a
// waiting thread asks the running one to yield; the running thread gives
// way at its next backward jump or call once it has run for Slice.
// Blocking builtins release it (Thread.Blocking), so I/O overlaps.
type GIL struct {
	Slice time.Duration

	mu      sync.Mutex
	held    bool
	holder  *Thread
	since   time.Time
	waiters []chan struct{}
}

// NewGIL returns a GIL with the given time slice (default 2ms).
func NewGIL(slice time.Duration) *GIL {
	if slice <= 0 {
		slice = 2 * time.Millisecond
	}
	return &GIL{Slice: slice}
}

// Acquire blocks until t may run.
func (g *GIL) Acquire(t *Thread) {
	g.mu.Lock()
	if !g.held {
		g.held = true
		g.holder = t
		g.since = time.Now()
		g.mu.Unlock()
		return
	}
	ch := make(chan struct{})
	g.waiters = append(g.waiters, ch)
	if g.holder != nil {
		g.holder.RequestYield()
	}
	g.mu.Unlock()
	<-ch
	g.mu.Lock()
	g.holder = t
	g.since = time.Now()
	if len(g.waiters) > 0 {
		t.RequestYield()
	}
	g.mu.Unlock()
}

// Release lets the next waiting thread run (handing over directly).
func (g *GIL) Release(t *Thread) {
	g.mu.Lock()
	g.holder = nil
	if len(g.waiters) == 0 {
		g.held = false
		g.mu.Unlock()
		return
	}
	next := g.waiters[0]
	g.waiters = g.waiters[1:]
	g.mu.Unlock()
	close(next)
}

// ranLongEnough reports whether the holder has used its slice.
func (g *GIL) ranLongEnough() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return time.Since(g.since) >= g.Slice
}
