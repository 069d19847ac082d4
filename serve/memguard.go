package serve

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"time"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"github.com/rs/zerolog"

	"tova/actors"
	"tova/vm"
)

// The memory guard keeps a handler (or a background job) that allocates
// without bound from taking the whole process down: Go cannot recover
// from running out of memory, and the kernel's OOM killer ends every
// request at once. The VM's limits bound each value a program builds (a
// 1 GiB string, a list of 2^26 elements), not how many it keeps; a
// `loop { xs.push("x" * 1000000) }` reaches any machine's memory within
// its 30 s deadline.
//
// The guard looks at the heap every memoryCheckEvery. Past the limit it
// collects, and if the live heap is still past it, it stops the running
// request or job due first (the earliest deadline: of requests with
// equal timeouts, the one that has run longest, the likeliest to hold
// what it allocated), passing over those waiting for I/O, a sleep or
// another server (unless the heap grows with none running), as its
// deadline would: the client gets 503 MEMORY_LIMIT, its code is
// cancelled and what it held becomes garbage. Code run outside the
// pools (on_start and on_stop hooks, on_finish, a data refresh) is not
// stopped by the guard, only by its own deadline.
// It then lets the stopped code unwind (up to memoryGrace) before it
// judges again, and stops the next one while the live heap stays past
// the limit. Near the limit, running code checks for its stop at every
// loop iteration and call, not every few hundred (vm.SetMemoryPressure),
// so that it stops before it allocates much more. Live data the program keeps (server state, caches) is never
// freed so: with nothing running to stop, the guard warns and waits.

const (
	memoryCheckEvery = 20 * time.Millisecond
	memoryGrace      = 300 * time.Millisecond
	// memoryIdleWarn spaces the warnings of a heap past the limit with
	// nothing running to stop.
	memoryIdleWarn = 30 * time.Second
)

type memoryGuard struct {
	limit uint64
	sys   *actors.System
	log   zerolog.Logger
	stop  chan struct{}
	done  chan struct{}
}

// startMemoryGuard watches the heap against limit (bytes) until stopped.
func startMemoryGuard(sys *actors.System, limit uint64, log zerolog.Logger) *memoryGuard {
	g := &memoryGuard{limit: limit, sys: sys, log: log, stop: make(chan struct{}), done: make(chan struct{})}
	go g.run()
	return g
}

func (g *memoryGuard) Stop() {
	close(g.stop)
	<-g.done
}

func (g *memoryGuard) run() {
	defer close(g.done)
	defer vm.SetMemoryPressure(false)
	heap := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	tick := time.NewTicker(memoryCheckEvery)
	defer tick.Stop()
	// No judging before calm, nor before grace while stopped code
	// unwinds; warned: the last idle warning.
	var calm, grace, warned time.Time
	var prev uint64 // the live heap at the last judgement past the limit
	for {
		select {
		case <-g.stop:
			return
		case now := <-tick.C:
			if now.Before(calm) || now.Before(grace) && g.sys.Unwinding() {
				continue // (the code stopped last may still be unwinding)
			}
			metrics.Read(heap)
			h := heap[0].Value.Uint64()
			// Near the limit, running code checks for its stop at
			// every loop iteration and call (vm.SetMemoryPressure).
			vm.SetMemoryPressure(h >= g.limit/10*8)
			if h < g.limit {
				prev = 0
				continue
			}
			runtime.GC() // what is past the limit may be garbage only
			metrics.Read(live)
			n := live[0].Value.Uint64()
			if n < g.limit {
				prev = 0
				continue
			}
			// Code that waits (a sleep, a query, another server) is
			// passed over: it allocates nothing meanwhile. Only if the
			// heap still grows with none running is a waiting one
			// stopped (one that sleeps between its allocations), and
			// not while code stopped before has yet to stop: it may
			// be what still allocates.
			stopped, ok := g.sys.StopFirstDue(false)
			if !ok && prev > 0 && n >= prev+g.limit/10 && !g.sys.Unwinding() {
				stopped, ok = g.sys.StopFirstDue(true)
			}
			prev = n
			if !ok {
				if time.Since(warned) >= memoryIdleWarn {
					warned = time.Now()
					g.log.Warn().Uint64("live_bytes", n).Uint64("limit_bytes", g.limit).
						Msg("the live heap is past the memory limit and no running request or job can be stopped for it: data the program keeps, or code the guard does not stop (on_start, on_finish, a data refresh)")
				}
				calm = time.Now().Add(time.Second)
				continue
			}
			e := g.log.Error().Uint64("live_bytes", n).Uint64("limit_bytes", g.limit).Str("pool", stopped.Pool)
			if stopped.Label != "" {
				e = e.Str("request_id", stopped.Label)
			}
			if actors.ActorRole(stopped.Pool) == "jobs" {
				e.Msg("memory limit passed: the running job due first was stopped (it fails, and is retried as its attempts allow)")
			} else {
				e.Msg("memory limit passed: the running request due first was stopped (503 MEMORY_LIMIT)")
			}
			// The next judgement once the stopped code has unwound
			// (at once, near the limit: see vm.SetMemoryPressure),
			// and what it held is garbage: other code may allocate as
			// fast meanwhile.
			calm, grace = time.Now().Add(2*memoryCheckEvery), time.Now().Add(memoryGrace)
		}
	}
}

// DefaultMemoryLimit is the memory limit `tova serve` guards when
// GOMEMLIMIT does not set one: three quarters of the memory the process
// may use (its cgroup's limit, else the machine's), or 0 (no guard) if
// neither can be read.
func DefaultMemoryLimit() uint64 {
	l, err := memlimit.ApplyRatio(availableMemory, 0.75)()
	if err != nil {
		return 0
	}
	return l
}

// availableMemory is the memory the process may use: the lesser of its
// cgroup's limit (read by automemlimit, which finds the cgroup, v1 or v2,
// from /proc/self) and the machine's.
func availableMemory() (uint64, error) {
	sys, serr := memlimit.FromSystem()
	cg, cerr := memlimit.FromCgroup()
	if cerr != nil || serr == nil && sys < cg {
		return sys, serr
	}
	return cg, nil
}

// ProcessMemoryLimit returns the memory limit `tova serve` guards, and
// where it comes from: GOMEMLIMIT's if the environment sets it ("off":
// none, 0), else DefaultMemoryLimit, which it also sets as the Go
// runtime's own soft limit, so that the collector works harder as the
// heap nears it. GOMEMLIMIT=0 means no limit, as "off" does: the Go
// runtime, which would take it as a limit of 0 bytes and collect
// without pause, is told so too.
func ProcessMemoryLimit() (uint64, string) {
	if os.Getenv("GOMEMLIMIT") != "" {
		l := debug.SetMemoryLimit(-1)
		if l <= 0 || l == math.MaxInt64 {
			debug.SetMemoryLimit(math.MaxInt64)
			return 0, "GOMEMLIMIT"
		}
		return uint64(l), "GOMEMLIMIT"
	}
	l := DefaultMemoryLimit()
	if l > 0 && l < math.MaxInt64 {
		debug.SetMemoryLimit(int64(l))
	}
	return l, "3/4 of the memory available"
}
