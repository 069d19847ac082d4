package actors

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func startPool(t *testing.T, opts PoolOptions) *Pool {
	t.Helper()
	sys := newTestSystem(t, nil)
	p, err := sys.StartPool(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = p.Stop(ctx)
	})
	return p
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 5 s")
		}
		time.Sleep(time.Millisecond)
	}
}

// waitIdle waits until n of p's workers wait idle. A worker answers its
// job before it joins an idle stack: a job given right after an answer
// (or a start) may find none idle, and be queued.
func waitIdle(t *testing.T, p *Pool, n int) {
	t.Helper()
	waitFor(t, func() bool { return p.idleCount() == n })
}

// eachDelivery runs f with jobs run on the worker's coroutine by their
// callers (the default) and handed to the worker's goroutine
// (NoDirect).
func eachDelivery(t *testing.T, f func(t *testing.T, noDirect bool)) {
	for _, noDirect := range []bool{false, true} {
		name := "direct"
		if noDirect {
			name = "channel"
		}
		t.Run(name, func(t *testing.T) { f(t, noDirect) })
	}
}

func do(p *Pool, d time.Duration, f func(ctx context.Context) (any, error)) (any, error) {
	return p.Do(&Job{}, time.Now().Add(d), RunnerFunc(f))
}

func TestPoolSurvivesPanickingJobs(t *testing.T) {
	t.Parallel()
	eachDelivery(t, testPoolSurvivesPanickingJobs)
}

func testPoolSurvivesPanickingJobs(t *testing.T, noDirect bool) {
	p := startPool(t, PoolOptions{Name: "panics", Min: 2, Max: 8, NoDirect: noDirect})
	const n = 1000
	var wg sync.WaitGroup
	var ok, failed, wrong atomic.Int64
	sem := make(chan struct{}, 16)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			start := time.Now()
			v, err := do(p, 10*time.Second, func(context.Context) (any, error) {
				if i%10 == 0 {
					panic(fmt.Sprintf("job %d", i))
				}
				return i * 2, nil
			})
			if i%10 == 0 {
				var f *Failure
				if errors.As(err, &f) && f.Panic && f.Reason == fmt.Sprintf("job %d", i) && f.Stack != "" &&
					time.Since(start) < 5*time.Second {
					failed.Add(1)
				} else {
					wrong.Add(1)
				}
				return
			}
			if err == nil && v == i*2 {
				ok.Add(1)
			} else {
				wrong.Add(1)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != n-n/10 || failed.Load() != n/10 || wrong.Load() != 0 {
		t.Fatalf("ok=%d failed=%d wrong=%d", ok.Load(), failed.Load(), wrong.Load())
	}
	// Every panic is counted and its worker restarted.
	deadline := time.Now().Add(5 * time.Second)
	for p.Stats().Restarts < n/10 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if st := p.Stats(); st.Failures != n/10 || st.Restarts != n/10 {
		t.Fatalf("stats %+v", st)
	}
}

func TestPoolPanicAnswersCallerImmediately(t *testing.T) {
	t.Parallel()
	p := startPool(t, PoolOptions{Name: "fast", Min: 1, Max: 2})
	start := time.Now()
	_, err := do(p, 30*time.Second, func(context.Context) (any, error) { panic("kaboom") })
	var f *Failure
	if !errors.As(err, &f) || !f.Panic || f.Actor == "" {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("caller waited %v for a panicking job", d)
	}
}

func TestSpinningJobsDoNotStarveOthers(t *testing.T) {
	t.Parallel()
	p := startPool(t, PoolOptions{Name: "spin", Min: 2, Max: 64})
	const spinners = 4
	var running sync.WaitGroup
	running.Add(spinners)
	results := make(chan error, spinners)
	for range spinners {
		go func() {
			_, err := do(p, 3*time.Second, func(ctx context.Context) (any, error) {
				running.Done()
				x := 0
				for ctx.Err() == nil {
					x++
				}
				return x, nil
			})
			results <- err
		}()
	}
	waited := make(chan struct{})
	go func() { running.Wait(); close(waited) }()
	select {
	case <-waited:
	case err := <-results:
		t.Fatalf("a spinner never ran: %v; stats %+v, workers %v", err, p.Stats(), p.Supervisor().Children())
	}
	start := time.Now()
	v, err := do(p, 3*time.Second, func(context.Context) (any, error) { return "healthy", nil })
	elapsed := time.Since(start)
	if err != nil || v != "healthy" {
		t.Fatalf("health job: %v %v", v, err)
	}
	if elapsed > 500*time.Millisecond {
		t.Fatalf("health job waited %v behind spinning jobs", elapsed)
	}
	t.Logf("health job answered in %v with %d spinners on a %d-worker minimum", elapsed, spinners, 2)
	// Stopping the pool cancels the spinners' jobs; their callers learn why.
	if err := p.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	for range spinners {
		if err := <-results; !errors.Is(err, ErrPoolStopped) {
			t.Fatalf("spinner: %v", err)
		}
	}
}

func TestDeadlineCancelsJob(t *testing.T) {
	t.Parallel()
	p := startPool(t, PoolOptions{Name: "deadline", Min: 1})
	observed := make(chan error, 1)
	start := time.Now()
	_, err := do(p, 100*time.Millisecond, func(ctx context.Context) (any, error) {
		if dl, ok := ctx.Deadline(); !ok || time.Until(dl) > 100*time.Millisecond {
			return nil, errors.New("no deadline on the job context")
		}
		for ctx.Err() == nil {
		}
		<-ctx.Done()
		observed <- ctx.Err()
		return nil, ctx.Err()
	})
	elapsed := time.Since(start)
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if elapsed < 90*time.Millisecond || elapsed > 5*time.Second {
		t.Fatalf("returned after %v", elapsed)
	}
	select {
	case e := <-observed:
		if !errors.Is(e, context.DeadlineExceeded) {
			t.Fatalf("job saw %v", e)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("job was not cancelled")
	}
}

// An idle pool's sweeper stops ticking, and the next job wakes it: a job
// that starts after a long idle spell is still cut at its deadline, and
// the sweeper sleeps again once it is done. Each round runs both a job
// that spins on its context and one that waits on it.
func TestSweeperSleepsWhileIdleAndWakesForJobs(t *testing.T) {
	t.Parallel()
	eachDelivery(t, func(t *testing.T, noDirect bool) {
		p := startPool(t, PoolOptions{Name: "sweeper", Min: 2, DeadlineResolution: 2 * time.Millisecond, NoDirect: noDirect})
		jobs := map[string]func(ctx context.Context) (any, error){
			"spins": func(ctx context.Context) (any, error) {
				for ctx.Err() == nil {
				}
				return nil, ctx.Err()
			},
			"waits": func(ctx context.Context) (any, error) {
				ctx.(*Job).WillBlock()
				<-ctx.Done()
				return nil, ctx.Err()
			},
		}
		for round := range 3 {
			for name, job := range jobs {
				waitFor(t, func() bool { return !p.sweepGate.Awake() })
				done := make(chan error, 1)
				go func() {
					_, err := do(p, 30*time.Millisecond, job)
					done <- err
				}()
				select {
				case err := <-done:
					if !errors.Is(err, ErrTimeout) {
						t.Fatalf("round %d, a job that %s: %v, want a timeout", round, name, err)
					}
				case <-time.After(2 * time.Second):
					t.Fatalf("round %d, a job that %s was not cut at its 30 ms deadline", round, name)
				}
			}
		}
	})
}

func TestPoolQueuesPastMax(t *testing.T) {
	t.Parallel()
	p := startPool(t, PoolOptions{Name: "queue", Min: 1, Max: 2, MaxQueue: 1})
	release := make(chan struct{})
	var started sync.WaitGroup
	started.Add(2)
	errs := make(chan error, 3)
	for range 2 {
		go func() {
			_, err := do(p, 5*time.Second, func(context.Context) (any, error) {
				started.Done()
				<-release
				return nil, nil
			})
			errs <- err
		}()
	}
	waited := make(chan struct{})
	go func() { started.Wait(); close(waited) }()
	select {
	case <-waited:
	case err := <-errs:
		t.Fatalf("a job within Max was refused: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatalf("two jobs within Max did not both start; pool %+v", p.Stats())
	}
	waitFor(t, func() bool { return p.Stats().Queued == 0 })
	queued := make(chan error, 1)
	go func() {
		_, err := do(p, 5*time.Second, func(context.Context) (any, error) { return nil, nil })
		queued <- err
	}()
	waitFor(t, func() bool { return p.Stats().Queued == 1 })
	if _, err := do(p, time.Second, func(context.Context) (any, error) { return nil, nil }); !errors.Is(err, ErrOverloaded) {
		t.Fatalf("beyond MaxQueue: %v", err)
	}
	if st := p.Stats(); st.Workers != 2 || st.Busy != 2 {
		t.Fatalf("stats %+v", st)
	}
	close(release)
	if err := <-queued; err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// Callers on many CPUs, with fewer workers than callers: jobs go through
// the per-CPU idle stacks and the wait queue, and workers move between
// stacks. Every job is answered with its own result, none waits for its
// deadline (a job queued as the last worker went idle would), and at the
// end every worker is back on a stack.
func TestPoolServesEveryJobAcrossCPUStacks(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4)) // four stacks on any machine
	eachDelivery(t, testPoolServesEveryJobAcrossCPUStacks)
}

func testPoolServesEveryJobAcrossCPUStacks(t *testing.T, noDirect bool) {
	p := startPool(t, PoolOptions{Name: "stacks", Min: 2, Max: 3, MaxQueue: -1, NoDirect: noDirect})
	if len(p.shards) != 4 {
		t.Fatalf("%d idle stacks, want 4", len(p.shards))
	}
	const callers, jobs = 32, 300
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for c := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				want := c*jobs + j
				v, err := do(p, 5*time.Second, func(context.Context) (any, error) {
					if j%7 == 0 {
						runtime.Gosched()
					}
					return want, nil
				})
				if err != nil || v != want {
					errs <- fmt.Errorf("caller %d job %d: %v, %v", c, j, v, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		st := p.Stats()
		return st.Busy == 0 && st.Queued == 0 && int64(p.idleCount()) == st.Workers
	})
	if st := p.Stats(); st.Workers > 3 {
		t.Fatalf("stats %+v beyond Max", st)
	}
}

// One worker, callers taking turns: a caller often finds no idle worker
// and queues its job just as the worker finishes and joins its stack.
// Either the worker sees the job after joining or the caller sees the
// worker after queueing; were neither to look, the job would wait for
// its deadline.
func TestQueuedJobIsNotStrandedByAWorkerGoingIdle(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	eachDelivery(t, testQueuedJobIsNotStranded)
}

func testQueuedJobIsNotStranded(t *testing.T, noDirect bool) {
	p := startPool(t, PoolOptions{Name: "strand", Min: 1, Max: 1, MaxQueue: -1, NoDirect: noDirect})
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20000 {
				if _, err := do(p, time.Second, func(context.Context) (any, error) { return 1, nil }); err != nil {
					t.Errorf("%v; pool %+v", err, p.Stats())
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestPoolShrinksToMinWhenIdle(t *testing.T) {
	t.Parallel()
	p := startPool(t, PoolOptions{Name: "shrink", Min: 1, Max: 8, IdleTimeout: 30 * time.Millisecond})
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = do(p, 5*time.Second, func(context.Context) (any, error) { <-release; return nil, nil })
		}()
	}
	deadline := time.Now().Add(5 * time.Second)
	for p.Stats().Busy != 5 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if st := p.Stats(); st.Workers < 5 {
		t.Fatalf("did not grow: %+v", st)
	}
	close(release)
	wg.Wait()
	waitFor(t, func() bool { return p.Stats().Workers == 1 && len(p.Supervisor().Children()) == 1 })
}

func TestPoolStopCancelsRunningJobs(t *testing.T) {
	t.Parallel()
	eachDelivery(t, testPoolStopCancelsRunningJobs)
}

func testPoolStopCancelsRunningJobs(t *testing.T, noDirect bool) {
	sys := newTestSystem(t, nil)
	p, err := sys.StartPool(PoolOptions{Name: "stop", Min: 1, WorkerShutdown: 2 * time.Second, NoDirect: noDirect})
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	jobErr := make(chan error, 1)
	callerErr := make(chan error, 1)
	go func() {
		_, err := do(p, 10*time.Second, func(ctx context.Context) (any, error) {
			close(started)
			<-ctx.Done()
			jobErr <- ctx.Err()
			return nil, nil
		})
		callerErr <- err
	}()
	<-started
	if err := p.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if e := <-jobErr; !errors.Is(e, context.Canceled) {
		t.Fatalf("job saw %v", e)
	}
	if e := <-callerErr; !errors.Is(e, ErrPoolStopped) {
		t.Fatalf("caller got %v", e)
	}
	if _, err := do(p, time.Second, func(context.Context) (any, error) { return nil, nil }); !errors.Is(err, ErrPoolStopped) {
		t.Fatalf("after stop: %v", err)
	}
}

func TestPoolUnderServerSupervisor(t *testing.T) {
	t.Parallel()
	sys := newTestSystem(t, nil)
	p := NewPool(PoolOptions{Name: "handlers", Min: 2})
	j := &journal{}
	server := NewSupervisor(SupervisorSpec{
		Name:     "api",
		Strategy: RestForOne,
		Children: []ChildSpec{probeSpec("config", j, Permanent), p.Supervisor().ChildSpec(), probeSpec("schedule", j, Permanent)},
	})
	if err := sys.Start(server); err != nil {
		t.Fatal(err)
	}
	v, err := do(p, time.Second, func(context.Context) (any, error) { return 42, nil })
	if err != nil || v != 42 {
		t.Fatalf("%v %v", v, err)
	}
	if got := p.Supervisor().Children(); len(got) != 2 {
		t.Fatalf("workers %v", got)
	}
}

func TestZeroDeadlineNeverExpires(t *testing.T) {
	t.Parallel()
	p := startPool(t, PoolOptions{Name: "forever", Min: 1, DeadlineResolution: time.Millisecond})
	v, err := p.Do(&Job{}, time.Time{}, RunnerFunc(func(ctx context.Context) (any, error) {
		if _, ok := ctx.Deadline(); ok {
			return nil, errors.New("unexpected deadline")
		}
		time.Sleep(20 * time.Millisecond)
		return "done", ctx.Err()
	}))
	if err != nil || v != "done" {
		t.Fatalf("%v %v", v, err)
	}
}

// A pool grown by a burst stops at once: every idle worker leaves the
// idle stack when asked, none waits out its shutdown timeout.
func TestPoolStopsGrownPoolPromptly(t *testing.T) {
	t.Parallel()
	sys := newTestSystem(t, nil)
	p, err := sys.StartPool(PoolOptions{Name: "grown", Min: 2, WorkerShutdown: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := do(p, 5*time.Second, func(context.Context) (any, error) {
				time.Sleep(100 * time.Millisecond)
				return i, nil
			})
			if err != nil || v != i {
				t.Errorf("job %d: %v %v", i, v, err)
			}
		}()
	}
	wg.Wait()
	if w := p.Stats().Workers; w < 6 {
		t.Fatalf("the burst grew the pool to %d workers only", w)
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("stopping %d idle workers took %v", p.Stats().Workers, d)
	}
	if _, err := do(p, time.Second, func(context.Context) (any, error) { return 1, nil }); !errors.Is(err, ErrPoolStopped) {
		t.Fatalf("after stop: %v", err)
	}
}

// Jobs that arrive while no worker is idle yet (a new pool's workers are
// still starting) queue; the one that grows the pool to Max is not
// refused as overloaded for the worker it starts itself.
func TestPoolAcceptsJobsWhileWorkersStart(t *testing.T) {
	t.Parallel()
	p := startPool(t, PoolOptions{Name: "fresh", Min: 1, Max: 2, MaxQueue: 1})
	waitIdle(t, p, 1)
	// Take the only worker off its stack, as if it had not started yet.
	w, _ := p.popIdle()

	release := make(chan struct{})
	errs := make(chan error, 2)
	job := func(context.Context) (any, error) { <-release; return nil, nil }
	go func() { _, err := do(p, 5*time.Second, job); errs <- err }()
	waitFor(t, func() bool { return p.Stats().Queued == 1 })
	go func() { _, err := do(p, 5*time.Second, job); errs <- err }()
	// The second job grows the pool; its new worker serves the queue.
	waitFor(t, func() bool { return p.Stats().Busy == 1 || len(errs) > 0 })
	select {
	case err := <-errs:
		t.Fatalf("a job was refused: %v", err)
	default:
	}
	// The held worker comes back and takes what is still queued.
	p.qmu.Lock()
	next := p.nextQueued()
	p.qmu.Unlock()
	if next == nil {
		next = pullMsg // nothing left: back to serving
	}
	w.in <- next
	close(release)
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// discardCounter is a job result that counts its Discarded calls.
type discardCounter struct{ n atomic.Int32 }

func (d *discardCounter) Discarded() { d.n.Add(1) }

// A job stopped by CancelRunning that still returns a result has its
// Discarded called once: its caller got ErrPoolStopped, not the result
// (netio runs a response's AfterWrite callbacks from there).
func TestCancelRunningDiscardsTheResult(t *testing.T) {
	t.Parallel()
	eachDelivery(t, func(t *testing.T, noDirect bool) {
		p := startPool(t, PoolOptions{Name: "discard", Min: 1, NoDirect: noDirect})
		started := make(chan struct{})
		d := &discardCounter{}
		callerErr := make(chan error, 1)
		go func() {
			_, err := do(p, 10*time.Second, func(ctx context.Context) (any, error) {
				close(started)
				<-ctx.Done()
				return d, nil
			})
			callerErr <- err
		}()
		<-started
		if n := p.CancelRunning(); n != 1 {
			t.Fatalf("CancelRunning stopped %d jobs, want 1", n)
		}
		if e := <-callerErr; !errors.Is(e, ErrPoolStopped) {
			t.Fatalf("caller got %v", e)
		}
		waitFor(t, func() bool { return d.n.Load() == 1 })
		time.Sleep(10 * time.Millisecond)
		if n := d.n.Load(); n != 1 {
			t.Fatalf("Discarded called %d times", n)
		}
	})
}

// StopFirstDue stops, across the system's pools, the running job due
// first: its caller gets ErrMemory at once and its context is
// cancelled; the others run on. A job without a deadline is due last.
func TestSystemStopFirstDue(t *testing.T) {
	t.Parallel()
	eachDelivery(t, func(t *testing.T, noDirect bool) {
		sys := newTestSystem(t, nil)
		var pools []*Pool
		for _, name := range []string{"a", "b"} {
			p, err := sys.StartPool(PoolOptions{Name: name, Min: 2, Max: 4, NoDirect: noDirect})
			if err != nil {
				t.Fatal(err)
			}
			pools = append(pools, p)
		}
		if _, ok := sys.StopFirstDue(true); ok {
			t.Fatal("a job stopped in idle pools")
		}
		type outcome struct {
			name string
			err  error
		}
		out := make(chan outcome, 3)
		var running atomic.Int32
		start := func(p *Pool, name string, deadline time.Time) {
			go func() {
				_, err := p.Do(&Job{}, deadline, labeled{name, func(ctx context.Context) (any, error) {
					running.Add(1)
					<-ctx.Done()
					return nil, ctx.Err()
				}})
				out <- outcome{name, err}
			}()
		}
		now := time.Now()
		start(pools[0], "late", now.Add(40*time.Second))
		start(pools[1], "early", now.Add(20*time.Second))
		start(pools[0], "none", time.Time{})
		waitFor(t, func() bool { return running.Load() == 3 })
		for _, want := range []struct{ pool, job string }{{"b", "early"}, {"a", "late"}, {"a", "none"}} {
			stopped, ok := sys.StopFirstDue(true)
			if !ok || stopped != (Stopped{want.pool, want.job}) {
				t.Fatalf("stopped %+v (%v), want the %s job of %q", stopped, ok, want.job, want.pool)
			}
			select {
			case o := <-out:
				if o.name != want.job || !errors.Is(o.err, ErrMemory) {
					t.Fatalf("%s answered %v, want the %s job answered ErrMemory", o.name, o.err, want.job)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("the %s job was not answered", want.job)
			}
		}
		if _, ok := sys.StopFirstDue(true); ok {
			t.Fatal("a job stopped after all were")
		}
	})
}

// labeled is a Runner with a Label.
type labeled struct {
	name string
	run  RunnerFunc
}

func (l labeled) Run(ctx context.Context) (any, error) { return l.run(ctx) }
func (l labeled) Label() string                        { return l.name }

// StopFirstDue(false) passes over a job that waits (Job.Waiting) for
// one that runs, even one due later; with waitingToo it takes it.
func TestSystemStopFirstDuePassesOverWaitingJobs(t *testing.T) {
	t.Parallel()
	sys := newTestSystem(t, nil)
	p, err := sys.StartPool(PoolOptions{Name: "p", Min: 2, Max: 4})
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan string, 2)
	var started atomic.Int32
	run := func(name string, deadline time.Time, waiting bool) {
		go func() {
			_, err := p.Do(&Job{}, deadline, RunnerFunc(func(ctx context.Context) (any, error) {
				j := ctx.(*Job)
				j.WillBlock()
				if waiting {
					j.Waiting(true)
					defer j.Waiting(false)
				}
				started.Add(1)
				<-ctx.Done()
				return nil, ctx.Err()
			}))
			if errors.Is(err, ErrMemory) {
				out <- name
			}
		}()
	}
	now := time.Now()
	run("waiting", now.Add(10*time.Second), true)
	run("running", now.Add(20*time.Second), false)
	waitFor(t, func() bool { return started.Load() == 2 })
	if st := p.Stats(); st.Waiting != 1 || st.Busy != 2 {
		t.Fatalf("Stats() = %+v, want 1 of 2 busy waiting", st)
	}
	for _, c := range []struct {
		waitingToo bool
		want       string
	}{{false, "running"}, {false, ""}, {true, "waiting"}} {
		_, ok := sys.StopFirstDue(c.waitingToo)
		if ok != (c.want != "") {
			t.Fatalf("StopFirstDue(%v) stopped a job: %v, want %q", c.waitingToo, ok, c.want)
		}
		if c.want != "" {
			select {
			case got := <-out:
				if got != c.want {
					t.Fatalf("StopFirstDue(%v) stopped the %s job, want the %s one", c.waitingToo, got, c.want)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("the %s job was not answered", c.want)
			}
		}
	}
}

// Unwinding is true while a job answered at its deadline still runs,
// and false once it has ended.
func TestSystemUnwinding(t *testing.T) {
	t.Parallel()
	sys := newTestSystem(t, nil)
	p, err := sys.StartPool(PoolOptions{Name: "p", Min: 1, Max: 2, DeadlineResolution: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	ended := make(chan struct{})
	go func() {
		_, err := p.Do(&Job{}, time.Now().Add(20*time.Millisecond), RunnerFunc(func(ctx context.Context) (any, error) {
			ctx.(*Job).WillBlock()
			<-release // not watching ctx: it runs on past its deadline
			return nil, nil
		}))
		if !errors.Is(err, ErrTimeout) {
			t.Errorf("Do: %v, want ErrTimeout", err)
		}
		close(ended)
	}()
	if sys.Unwinding() {
		t.Fatal("unwinding before the deadline")
	}
	<-ended // answered at the deadline
	if !sys.Unwinding() {
		t.Fatal("not unwinding while the answered job still runs")
	}
	close(release)
	waitFor(t, func() bool { return !sys.Unwinding() })
}
