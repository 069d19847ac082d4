package vm

import (
	"context"
	"sync"
	"testing"
	"time"
)

// A read-modify-write spread over two statements (`c = count; ...;
// count = c + 1`) is one step when nothing between them loops, blocks
// or runs for 50 slices: the holder gives way before a statement
// writing module state only as it would at a call, not once its slice
// is over, so a waiting thread does not run between the read and the
// write. (stall holds the GIL for 5 slices, as a builtin doing work, or
// the machine descheduling the holder, may.)
func TestReadModifyWriteAcrossStatements(t *testing.T) {
	in := runTova(t, `var count = 0
var stall = nil
server {}
fn rmw() {
  c = count
  stall()
  count = c + 1
}
`)
	const slice = time.Millisecond
	in.Sched = NewGIL(slice)
	slot := slotsOf(in)
	in.Globals[slot["stall"]] = BuiltinValue(&Builtin{Name: "stall", Fn: func(*Thread, []Value) (Value, error) {
		time.Sleep(5 * slice)
		return Nil, nil
	}})
	const threads, calls = 3, 10
	callConcurrently(t, in, in.Globals[slot["rmw"]], threads, calls)
	if n := in.Globals[slot["count"]].AsInt(); n != threads*calls {
		t.Errorf("count = %d after %d calls: updates lost between a read and its write", n, threads*calls)
	}
}

// A statement writing module state that does a bounded amount of work
// is one step however slowly the clock says it runs: here each of its
// loop's first iterations stalls (as on a machine starved of CPU, or a
// holder waiting for its turn behind runaways), so that it runs past
// atomicSlices, yet it makes far fewer than atomicEdges jumps and
// calls, and a waiting thread does not run inside it.
func TestSlowWriteStatementIsOneStep(t *testing.T) {
	in := runTova(t, `var count = 0
var stall = nil
server {}
fn work() {
  var i = 0
  while i < 200 {
    if i < 5 { stall() }
    i = i + 1
  }
  1
}
fn bump() { count = count + work() }
`)
	const slice = 20 * time.Microsecond // atomicSlices of it: 10 ms
	in.Sched = NewGIL(slice)
	slot := slotsOf(in)
	in.Globals[slot["stall"]] = BuiltinValue(&Builtin{Name: "stall", Fn: func(*Thread, []Value) (Value, error) {
		time.Sleep(3 * time.Millisecond)
		return Nil, nil
	}})
	const threads, calls = 3, 5
	callConcurrently(t, in, in.Globals[slot["bump"]], threads, calls)
	if n := in.Globals[slot["count"]].AsInt(); n != threads*calls {
		t.Errorf("count = %d after %d calls: updates lost inside a slow write statement", n, threads*calls)
	}
}

// runawayWriting starts a runaway inside a statement writing module
// state, under a GIL, and gives a call of a function reading that state
// (get) and stop, which cancels the runaway and waits for it.
func runawayWriting(t *testing.T) (get func() (Value, error), stop func()) {
	in := runTova(t, `var count = 0
server {}
fn forever() { loop { } }
fn stuck() { count = count + forever() }
fn get() { count }
`)
	in.Sched = NewGIL(0)
	slot := slotsOf(in)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if _, err := callUnderGIL(ctx, in, in.Globals[slot["stuck"]]); !isCancelled(err) {
			t.Errorf("stuck() ended with %v, want a cancellation", err)
		}
	})
	time.Sleep(50 * time.Millisecond) // stuck() holds the GIL now
	get = func() (Value, error) { return callUnderGIL(context.Background(), in, in.Globals[slot["get"]]) }
	return get, func() { cancel(); wg.Wait() }
}

// A runaway loop inside a statement writing module state still gives
// way, once it has run atomicSlices and made atomicEdges jumps and
// calls: another thread gets the GIL within about a second.
func TestRunawayWriteStatementGivesWay(t *testing.T) {
	get, stop := runawayWriting(t)
	t0 := time.Now()
	v, err := get()
	waited := time.Since(t0)
	stop()
	if err != nil || v.AsInt() != 0 {
		t.Fatalf("get() = %v, %v", v, err)
	}
	if waited > 3*time.Second {
		t.Errorf("get() waited %v for a runaway inside a write statement", waited)
	}
	t.Logf("get() waited %v", waited)
}

// A runaway statement writing module state that has given way once is
// no longer one step: the calls after the first wait no longer than
// any code's slice (each waited another second, for the whole of the
// runaway's deadline).
func TestRunawayWriteStatementGivesWayThenAsAnyCode(t *testing.T) {
	get, stop := runawayWriting(t)
	defer stop()
	if _, err := get(); err != nil {
		t.Fatal(err) // the first: after the statement's long slice
	}
	var longest time.Duration
	for range 3 {
		time.Sleep(20 * time.Millisecond) // (the runaway has the GIL back)
		t0 := time.Now()
		if _, err := get(); err != nil {
			t.Fatal(err)
		}
		longest = max(longest, time.Since(t0))
	}
	if longest > 300*time.Millisecond {
		t.Errorf("after the runaway gave way once, a get() waited %v", longest)
	}
}

// A statement writing module state stays one step through the calls it
// makes, however they are made: a call of a function taking exactly its
// parameters (the interpreter's fast path, which reuses a frame) left
// the statement's bracket on its return, so that the caller's loop gave
// way inside the statement and updates were lost.
func TestWriteStatementOneStepThroughFastCalls(t *testing.T) {
	in := runTova(t, `var count = 0
server {}
fn one(x) { x }
fn work(n) {
  var s = 0
  var i = 0
  while i < n {
    s = s + one(1)
    i = i + 1
  }
  1
}
fn bump() { count = count + work(3000) }
`)
	in.Sched = NewGIL(20 * time.Microsecond)
	slot := slotsOf(in)
	const threads, calls = 3, 30
	callConcurrently(t, in, in.Globals[slot["bump"]], threads, calls)
	if n := in.Globals[slot["count"]].AsInt(); n != threads*calls {
		t.Errorf("count = %d after %d calls: updates lost through fast calls", n, threads*calls)
	}
}

// A thread stopped at its deadline keeps the GIL through its cleanup
// (here a deferred write of module state), though another thread waits
// for it: giving it away before the write, it waited behind a holder
// past its grace and was stopped, and in_flight stayed 1.
func TestCleanupKeepsTheGIL(t *testing.T) {
	in := runTova(t, `var in_flight = 0
var total = 0
var stall = nil
server {}
fn forever() {
  var x = 0
  loop { x += 1 }
  x
}
fn runaway() {
  in_flight += 1
  defer { in_flight -= 1 }
  total = total + forever()
}
fn hold() { stall() }
`)
	in.Sched = NewGIL(time.Millisecond)
	slot := slotsOf(in)
	in.Globals[slot["stall"]] = BuiltinValue(&Builtin{Name: "stall", Fn: func(*Thread, []Value) (Value, error) {
		time.Sleep(2 * cleanupGrace) // holding the GIL
		return Nil, nil
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() {
		if _, err := callUnderGIL(ctx, in, in.Globals[slot["runaway"]]); !isCancelled(err) {
			t.Errorf("runaway() ended with %v, want a cancellation", err)
		}
	})
	time.Sleep(50 * time.Millisecond) // runaway() holds the GIL, in its write statement
	// (waits for the GIL until runaway() is stopped and cleaned up)
	if _, err := callUnderGIL(context.Background(), in, in.Globals[slot["hold"]]); err != nil {
		t.Error(err)
	}
	wg.Wait()
	if n := in.Globals[slot["in_flight"]].AsInt(); n != 0 {
		t.Errorf("in_flight = %d after the runaway's cleanup", n)
	}
}

// A runaway inside a statement writing module state whose every
// iteration does real work (here a builtin busy for 15 µs, as sorting a
// list is) gives way too, after atomicEdges iterations: a count so high
// that such a loop could not reach it would let it hold the GIL until
// its deadline.
func TestSlowRunawayWriteStatementGivesWay(t *testing.T) {
	in := runTova(t, `var count = 0
var busy = nil
server {}
fn forever() { loop { busy() } }
fn stuck() { count = count + forever() }
fn get() { count }
`)
	in.Sched = NewGIL(0)
	slot := slotsOf(in)
	in.Globals[slot["busy"]] = BuiltinValue(&Builtin{Name: "busy", Fn: func(*Thread, []Value) (Value, error) {
		for t0 := time.Now(); time.Since(t0) < 15*time.Microsecond; {
		}
		return Nil, nil
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { _, _ = callUnderGIL(ctx, in, in.Globals[slot["stuck"]]) })
	time.Sleep(50 * time.Millisecond) // stuck() holds the GIL now
	t0 := time.Now()
	_, err := callUnderGIL(context.Background(), in, in.Globals[slot["get"]])
	waited := time.Since(t0)
	cancel()
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if waited > 4*time.Second {
		t.Errorf("get() waited %v for a slow runaway inside a write statement", waited)
	}
	t.Logf("get() waited %v", waited)
}

// A break or continue out of a statement writing module state closes its
// bracket: the rest of the function ran as one step (never giving way
// in a loop after it).
func TestBreakOutOfWriteStatementClosesIt(t *testing.T) {
	in := runTova(t, `var total = 0
var probe = nil
server {}
fn with_break() {
  for x in [1, 2, 3] {
    total = total + (if x > 1 { break } else { x })
  }
  probe()
  for x in [1, 2, 3] {
    total = total + (if x == 2 { continue } else { x })
  }
  probe()
  total
}
`)
	slot := slotsOf(in)
	var seen []int32
	in.Globals[slot["probe"]] = BuiltinValue(&Builtin{Name: "probe", Fn: func(th *Thread, _ []Value) (Value, error) {
		seen = append(seen, th.atomic)
		return Nil, nil
	}})
	th := in.NewThread(context.Background())
	defer th.Release()
	v, err := th.Call(in.Globals[slot["with_break"]])
	if err != nil || v.AsInt() != 5 {
		t.Fatalf("with_break() = %v, %v", v, err)
	}
	if len(seen) != 2 || seen[0] != 0 || seen[1] != 0 {
		t.Errorf("open write statements after the loops: %v, want [0 0]", seen)
	}
}

// slotsOf maps the program's module names to their slots.
func slotsOf(in *Instance) map[string]int {
	slot := map[string]int{}
	for i, n := range in.Prog.Code.Globals {
		slot[n] = i
	}
	return slot
}

// callUnderGIL calls fn on a new thread of in bound to ctx, holding the
// instance's GIL.
func callUnderGIL(ctx context.Context, in *Instance, fn Value) (Value, error) {
	th := in.NewThread(ctx)
	th.Enter()
	defer func() {
		th.Leave()
		th.Release()
	}()
	return th.Call(fn)
}

// callConcurrently calls fn calls times on each of threads goroutines,
// under the GIL.
func callConcurrently(t *testing.T, in *Instance, fn Value, threads, calls int) {
	t.Helper()
	var wg sync.WaitGroup
	for range threads {
		wg.Go(func() {
			for range calls {
				if _, err := callUnderGIL(context.Background(), in, fn); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
}
