package vm

import (
	"context"
	"runtime"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"
)

// Turns for the CPUs. Tova code is otherwise scheduled by Go alone (a
// route whose chain reaches no server state runs without the GIL, in
// parallel; each server's GIL lets one more run), which gives every
// runnable goroutine its share: a few hundred requests spinning in
// `loop {}` would each get a 10 ms slice in turn, and everything else —
// the front end reading a health check, the sweeper cutting the
// spinners at their deadlines, a short request — would wait behind all
// of them, a second or more. So code that runs long takes turns: a
// thread runs freely for its first turnSlice, then only holding one of
// GOMAXPROCS turns, which it gives up every turnSlice while others wait
// (first in, first out), and at once when it waits (Thread.Blocking, the
// GIL) or ends. Go then has at most GOMAXPROCS such long runners to
// schedule among the rest, and a thread whose deadline passes while it
// waits for a turn stops at once. A request that runs under turnSlice
// never meets any of this.
//
// The GIL's holder takes turns as any thread does (each server has its
// own GIL, so their holders would otherwise all run beside the turns'),
// except while other threads wait for its GIL: it then runs on and
// gives the GIL to them at its next edge, rather than keep them waiting
// behind every turn (each server's GIL so adds at most one runner). A
// thread never waits for a GIL holding a turn: it gives up its turn
// before it waits for a GIL (Thread.Enter, GIL.yield), or a holder
// waiting for a turn and a turn's holder waiting for its GIL would stand
// until their deadlines.

// turnSlice is how long a thread runs before it needs a turn, and how
// long it keeps one while others wait.
const turnSlice = 2 * time.Millisecond

// goschedEvery is how often a thread running long lets other goroutines
// run (runtime.Gosched): those of the front end, the deadline sweeper
// and short requests, which Go would otherwise run only when it preempts
// the thread (after 10 ms, often 20).
const goschedEvery = time.Millisecond

// turnPolls is how many polls (each pollEvery backward jumps and calls)
// pass between two looks at the clock.
const turnPolls = 8

// gosched is runtime.Gosched (a variable for tests).
var gosched = runtime.Gosched

// cpuTurns is the process's turns.
var cpuTurns = newTurns(runtime.GOMAXPROCS(0))

type turns struct {
	sem     *semaphore.Weighted
	waiting atomic.Int32 // threads waiting for a turn
	held    atomic.Int32 // turns taken
}

func newTurns(n int) *turns {
	return &turns{sem: semaphore.NewWeighted(int64(max(n, 1)))}
}

// take blocks until the caller has a turn, or ctx is done.
func (u *turns) take(ctx context.Context) error {
	if !u.sem.TryAcquire(1) {
		u.waiting.Add(1)
		err := u.sem.Acquire(ctx, 1)
		u.waiting.Add(-1)
		if err != nil {
			return err
		}
	}
	u.held.Add(1)
	return nil
}

func (u *turns) give() {
	u.held.Add(-1)
	u.sem.Release(1)
}

// takeTurns is called at each poll of a thread: it has the thread take
// a turn once it has run for turnSlice, give it up after each turnSlice
// while other threads wait for one, and let other goroutines run every
// goschedEvery. It returns the thread's cancellation if its context
// ends while it waits.
func (t *Thread) takeTurns() error {
	if t.turns == nil || len(t.frames) == 0 {
		// (no call of Tova code under way: the front end encoding a
		// handler's answer, polling as it goes. A turn taken there was
		// never given back, as only a call's end gives it: two such
		// answers at once took every turn, and every request that ran
		// long then waited, its CPU idle, until its deadline.)
		return nil
	}
	t.runPolls++
	if t.runPolls%turnPolls != 1 {
		return nil
	}
	now := nanotime()
	if t.runStart == 0 {
		t.runStart, t.ranSince = now, now // the thread's first poll in this run
		return nil
	}
	if now-t.ranSince >= int64(goschedEvery) {
		// Let the goroutines Go has queued behind this one run now,
		// not at its next preemption, 10-20 ms on.
		gosched()
		now = nanotime()
		t.ranSince = now
	}
	switch {
	case now-t.runStart < int64(turnSlice):
		return nil
	case t.turn && t.turns.waiting.Load() == 0:
		t.runStart = now // nobody waits: another slice
		return nil
	case t.gilWanted():
		// Others wait for the GIL this thread holds: it gives it to
		// them at its next edge (GIL.yield), rather than wait for a
		// turn behind threads that need no GIL while holding it (a
		// runaway writing server state kept every request reading it
		// waiting behind all the other runaways' turns). So each
		// server's GIL adds at most one runner to the turns'.
		t.runStart = now
		return nil
	}
	if t.turn {
		t.turn = false
		t.turns.give()
	}
	t.willBlock()
	ctx := t.ctx
	if t.grace != 0 {
		// Its cleanup (finally blocks, deferred code) waits for a turn
		// within its grace, not until its done context.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.Background(), time.Duration(t.grace-nanotime()))
		defer cancel()
	}
	if err := t.turns.take(ctx); err != nil {
		t.signal.Or(sigCancel)
		return t.cancelled()
	}
	t.turn, t.runStart = true, nanotime()
	t.ranSince = t.runStart
	if t.pastDeadline() {
		t.signal.Or(sigCancel)
		if t.cancelledNow() {
			return t.cancelled() // its deadline passed while others ran
		}
	}
	return nil
}

// gilWanted reports whether the thread holds its instance's GIL while
// other threads wait for it.
func (t *Thread) gilWanted() bool {
	g, ok := t.In.Sched.(*GIL)
	return ok && t.holding && g.waiting.Load() > 0
}

// endRun gives up the thread's turn, if it holds one: it is about to
// wait, or its code has returned. Its next run starts free.
func (t *Thread) endRun() {
	if t.turn {
		t.turn = false
		t.turns.give()
	}
	t.runStart, t.runPolls = 0, 0
}

// nanotime is a monotonic clock reading in nanoseconds.
func nanotime() int64 { return int64(time.Since(turnsEpoch)) }

var turnsEpoch = time.Now()
