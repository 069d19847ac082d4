package vm

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tova/bytecode"
)

// Threads that run long take turns for the CPUs. With one turn: three
// threads in `loop {}` all run (each gives up the turn after its slice
// while the others wait), only one of them holds it at a time, a thread
// whose context ends while it waits for a turn stops at once, and a
// thread that runs briefly takes none.
func TestLongRunnersTakeTurns(t *testing.T) {
	p := compileTova(t, `fn forever() { loop { } }
fn brief() { var i = 0
  while i < 1000 { i = i + 1 }
  i
}
`)
	in, global := runMain(t, p)
	one := newTurns(1)

	brief := in.NewThread(context.Background())
	brief.turns = one
	if v, err := brief.Call(global("brief")); err != nil || v != Int(1000) {
		t.Fatalf("brief() = %v, %v", v, err)
	}
	if brief.turn || brief.runStart != 0 || one.held.Load() != 0 {
		t.Fatalf("a brief call kept a turn or its run (turn %v, runStart %d)", brief.turn, brief.runStart)
	}
	brief.Release()

	// Three runaways on one turn, cut after 300 ms. Each tells its
	// context each time it waits for the turn.
	var wg sync.WaitGroup
	threads := make([]*Thread, 3)
	waits := make([]*notifier, 3)
	for i := range threads {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		waits[i] = &notifier{Context: ctx}
		threads[i] = in.NewThread(waits[i])
		threads[i].turns = one
	}
	for _, th := range threads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := th.Call(global("forever")); !isCancelled(err) {
				t.Errorf("forever() ended with %v, want a cancellation", err)
			}
		}()
	}
	for end := time.Now().Add(250 * time.Millisecond); time.Now().Before(end); time.Sleep(100 * time.Microsecond) {
		if n := one.held.Load(); n > 1 {
			t.Fatalf("%d threads hold the one turn", n)
		}
	}
	start := time.Now()
	wg.Wait()
	if d := time.Since(start); d > 200*time.Millisecond {
		t.Errorf("the runaways stopped %v after their deadline", d+50*time.Millisecond)
	}
	for i, th := range threads {
		// About 40 turns each in 300 ms of 2 ms slices; the first wait
		// comes after the free slice.
		if n := waits[i].n.Load(); n < 5 {
			t.Errorf("thread %d waited for the turn %d times: it did not take turns", i, n)
		}
		if th.turn {
			t.Errorf("thread %d still holds a turn after its call", i)
		}
		th.Release()
	}
	if one.held.Load() != 0 || !one.sem.TryAcquire(1) {
		t.Fatal("the turn was not given back")
	}
	one.sem.Release(1)
}

// A thread waiting for a turn whose context is cancelled stops with a
// cancellation, and gives nothing back it did not take.
func TestWaitForTurnEndsWithContext(t *testing.T) {
	in, global, one := foreverWithTurnTaken(t)
	ctx, cancel := context.WithCancel(context.Background())
	th := in.NewThread(ctx)
	th.turns = one
	done := make(chan error, 1)
	go func() {
		_, err := th.Call(global("forever"))
		done <- err
	}()
	// It runs its free slice, then waits for the turn.
	deadline := time.Now().Add(5 * time.Second)
	for one.waiting.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if one.waiting.Load() != 1 {
		t.Fatal("the runaway never waited for the turn")
	}
	cancel()
	select {
	case err := <-done:
		if !isCancelled(err) {
			t.Fatalf("ended with %v, want a cancellation", err)
		}
	case <-time.After(time.Second):
		t.Fatal("a cancelled thread kept waiting for its turn")
	}
	th.Release()
	if one.held.Load() != 1 || one.waiting.Load() != 0 {
		t.Fatalf("after the cancelled wait: %d held, %d waiting; want 1, 0", one.held.Load(), one.waiting.Load())
	}
	one.give()
	if !one.sem.TryAcquire(1) || one.sem.TryAcquire(1) {
		t.Fatal("the turns do not add up")
	}
}

func isCancelled(err error) bool {
	e, ok := err.(*Error)
	return ok && e.Kind == ErrCancelled
}

// foreverWithTurnTaken runs a program whose forever() loops, and returns
// it with a set of one turn, held elsewhere.
func foreverWithTurnTaken(t *testing.T) (*Instance, func(string) Value, *turns) {
	in, global := runMain(t, compileTova(t, "fn forever() { loop { } }\n"))
	one := newTurns(1)
	if err := one.take(context.Background()); err != nil {
		t.Fatal(err)
	}
	return in, global, one
}

// runMain loads p, runs its top level, and returns the instance and a
// look-up of its globals by name.
func runMain(t *testing.T, p *bytecode.Program) (*Instance, func(string) Value) {
	t.Helper()
	prog, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	in := prog.NewInstance(Config{})
	th := in.NewThread(context.Background())
	if _, err := th.RunMain(); err != nil {
		t.Fatal(err)
	}
	th.Release()
	return in, func(name string) Value {
		for i, g := range p.Globals {
			if g == name {
				return in.Globals[i]
			}
		}
		t.Fatalf("no global %s", name)
		return Nil
	}
}

// A thread that stops on its own reading of its deadline, before its
// context learned of it (a pool's job learns from a sweeper), says the
// same as one whose context ended: here, a thread whose deadline passes
// while it waits for a turn.
func TestDeadlineStopNamesItsCause(t *testing.T) {
	in, global, one := foreverWithTurnTaken(t)
	th := in.NewThread(lateContext{deadline: time.Now().Add(20 * time.Millisecond)})
	th.turns = one
	defer th.Release()
	done := make(chan error, 1)
	go func() {
		_, err := th.Call(global("forever"))
		done <- err
	}()
	time.Sleep(50 * time.Millisecond) // past the deadline, waiting for the turn
	one.give()
	select {
	case err := <-done:
		if e, ok := err.(*Error); !ok || e.Kind != ErrCancelled || e.Msg != "execution cancelled: the deadline passed" {
			t.Fatalf("got %v, want the deadline named", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the thread ran on past its deadline")
	}
}

// lateContext has a deadline it never reports as passed: its Err stays
// nil, as a pool job's does until the sweeper gets to it.
type lateContext struct {
	context.Context
	deadline time.Time
}

func (c lateContext) Deadline() (time.Time, bool) { return c.deadline, true }
func (c lateContext) Err() error                  { return nil }
func (c lateContext) Done() <-chan struct{}       { return nil }
func (c lateContext) Value(any) any               { return nil }

// A GIL's holder takes turns too, and never waits for the GIL again
// while it holds one: with a single turn, two runaways sharing a GIL and
// a third without one all keep running, and a short call under the GIL
// still gets its go within a few slices. (A holder that yielded the GIL
// and waited for it with its turn would wait on the new holder, which
// waits for that turn: both would stand until their deadlines.)
func TestGILHoldersTakeTurns(t *testing.T) {
	in, global, other, otherGlobal := gilAndFree(t)
	one := newTurns(1)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	run := func(in *Instance, fn Value, gil bool) {
		defer wg.Done()
		if _, err := callWithTurns(ctx, in, fn, gil, one); !isCancelled(err) {
			t.Errorf("a runaway ended with %v, want a cancellation", err)
		}
	}
	wg.Add(3)
	go run(in, global("spin"), true)
	go run(in, global("spin"), true)
	go run(other, otherGlobal("free"), false)
	time.Sleep(50 * time.Millisecond)
	read := func() int64 {
		v, err := callWithTurns(context.Background(), in, global("get"), true, one)
		if err != nil {
			t.Fatal(err)
		}
		return v.AsInt()
	}
	var last int64
	for i := range 5 {
		t0 := time.Now()
		n := read()
		if d := time.Since(t0); d > 500*time.Millisecond {
			t.Fatalf("read %d waited %v for the GIL", i, d)
		}
		if n <= last {
			t.Fatalf("read %d: n = %d after %d: the runaways under the GIL stand still", i, n, last)
		}
		last = n
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	if one.held.Load() != 0 {
		t.Fatalf("%d turns still held", one.held.Load())
	}
}

// A GIL's holder that runs long without yielding the GIL (nobody else
// wants it) takes turns with a runaway that holds no GIL: with one turn,
// one of them always waits for it.
func TestGILHolderWaitsForATurn(t *testing.T) {
	in, global, other, otherGlobal := gilAndFree(t)
	one := newTurns(1)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, c := range []struct {
		in  *Instance
		fn  Value
		gil bool
	}{{in, global("spin"), true}, {other, otherGlobal("free"), false}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = callWithTurns(ctx, c.in, c.fn, c.gil, one)
		}()
	}
	looks, waited := 0, 0
	for end := time.Now().Add(200 * time.Millisecond); time.Now().Before(end); time.Sleep(time.Millisecond) {
		looks++
		if one.waiting.Load() > 0 {
			waited++
		}
	}
	cancel()
	wg.Wait()
	// Nearly always one of the two waits; without turns for the GIL's
	// holder, never.
	if waited < looks/4 {
		t.Fatalf("one of the two waited for the turn at %d of %d looks", waited, looks)
	}
}

// gilAndFree makes two instances of a program with a runaway that
// writes module state (spin), one that does not (free), and a read of
// the state (get): the first under a GIL, the second without one.
func gilAndFree(t *testing.T) (in *Instance, global func(string) Value, other *Instance, otherGlobal func(string) Value) {
	t.Helper()
	p := compileTova(t, `var n = 0
fn spin() { loop { n += 1 } }
fn free() { loop { } }
fn get() { n }
`)
	in, global = runMain(t, p)
	in.Sched = NewGIL(0)
	other, otherGlobal = runMain(t, p)
	return in, global, other, otherGlobal
}

// callWithTurns calls fn on a thread of in that takes its turns from u,
// under in's GIL if gil.
func callWithTurns(ctx context.Context, in *Instance, fn Value, gil bool, u *turns) (Value, error) {
	th := in.NewThread(ctx)
	th.turns = u
	if gil {
		th.Enter()
	}
	defer func() {
		th.Leave()
		th.Release()
	}()
	return th.Call(fn)
}

// A thread lets other goroutines run every goschedEvery of a long run,
// never at a run's first look at the clock (here the only one of a run
// of a few polls), however old its last reading.
func TestGoschedOnlyInLongRuns(t *testing.T) {
	p := compileTova(t, `fn short() { var i = 0
  while i < 2000 { i = i + 1 }
  i
}
fn forever() { loop { } }
`)
	in, global := runMain(t, p)
	var n atomic.Int32
	gosched = func() { n.Add(1) }
	defer func() { gosched = runtime.Gosched }()
	for range 20 {
		time.Sleep(2 * time.Millisecond) // the last run's clock reading is old
		th := in.NewThread(context.Background())
		th.turns = newTurns(1)
		if _, err := th.Call(global("short")); err != nil {
			t.Fatal(err)
		}
		th.Release()
	}
	if got := n.Load(); got != 0 {
		t.Fatalf("short runs let others run %d times", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	th := in.NewThread(ctx)
	th.turns = newTurns(1)
	defer th.Release()
	_, _ = th.Call(global("forever"))
	if got := n.Load(); got < 10 {
		t.Fatalf("a 50 ms run let others run %d times, want about 50", got)
	}
}

// countdownCtx is cancelled once done says so: its Err is what a
// thread polls.
type countdownCtx struct {
	context.Context
	done func() bool
}

func (c countdownCtx) Err() error {
	if c.done() {
		return context.Canceled
	}
	return nil
}

// Near the memory limit (SetMemoryPressure), a thread checks its
// context at every backward jump, not every pollEvery: code the memory
// guard stops does not go on allocating for hundreds of iterations (a
// loop building a 1 MB string each time made 256 MB more).
func TestMemoryPressurePollsAtOnce(t *testing.T) {
	p := compileTova(t, `var count = 0
fn spin() { loop { count += 1 } }
`)
	in, global := runMain(t, p)
	for _, pressure := range []bool{false, true} {
		SetMemoryPressure(pressure)
		var th *Thread
		count := func() int64 { return int64(global("count").AsInt()) }
		start := count()
		th = in.NewThread(countdownCtx{context.Background(), func() bool { return count()-start >= 1000 }})
		if _, err := th.Call(global("spin")); !isCancelled(err) {
			t.Fatalf("spin() ended with %v, want a cancellation", err)
		}
		th.Release()
		over := count() - start - 1000
		t.Logf("pressure %v: %d iterations past the cancellation", pressure, over)
		if pressure && over > pressurePoll+1 {
			t.Errorf("under memory pressure, %d iterations ran past the cancellation", over)
		}
	}
	SetMemoryPressure(false)
}

// Work a thread does outside any call of Tova code (the front end
// encoding a handler's large answer, polling as it goes) takes no turn:
// one taken there was never given back, and with every turn gone, every
// request running long waited, its CPU idle, until its deadline.
func TestPollOutsideACallKeepsNoTurn(t *testing.T) {
	p := compileTova(t, "x = 1\n")
	in, _ := runMain(t, p)
	one := newTurns(1)
	th := in.NewThread(context.Background())
	th.turns = one
	defer th.Release()
	for end := time.Now().Add(20 * turnSlice); time.Now().Before(end); {
		if err := th.Poll(1000); err != nil {
			t.Fatal(err)
		}
	}
	if th.turn || one.held.Load() != 0 {
		t.Fatalf("polls outside a call left a turn taken (turn %v, held %d)", th.turn, one.held.Load())
	}
}
