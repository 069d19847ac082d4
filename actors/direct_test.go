package actors

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"
)

// goid returns the calling goroutine's id (from its stack header).
func goid() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	n, _ := strconv.ParseUint(string(b[:bytes.IndexByte(b, ' ')]), 10, 64)
	return n
}

// A job never runs on its caller's goroutine, in either delivery, and the
// worker that ran it serves the next job.
func TestJobsRunOnAWorkerNotTheCaller(t *testing.T) {
	t.Parallel()
	eachDelivery(t, func(t *testing.T, noDirect bool) {
		p := startPool(t, PoolOptions{Name: "where", Min: 1, Max: 1, NoDirect: noDirect})
		// A job given before the new worker first waits idle is queued
		// and runs on the worker's own goroutine, not its coroutine: the
		// three below are given once it waits idle.
		waitIdle(t, p, 1)
		caller := goid()
		ran := map[uint64]bool{}
		for range 3 {
			v, err := do(p, time.Second, func(context.Context) (any, error) { return goid(), nil })
			if err != nil {
				t.Fatal(err)
			}
			if v == caller {
				t.Fatalf("the job ran on its caller's goroutine %d", caller)
			}
			ran[v.(uint64)] = true
		}
		if len(ran) != 1 {
			t.Fatalf("one worker ran the jobs on goroutines %v", ran)
		}
	})
}

// A job that says it will block moves off its caller: the caller gets
// ErrTimeout at the deadline even though the job ignores its context,
// and the worker, once the job returns, serves again.
func TestJobThatWillBlockIsWaitedForWithItsDeadline(t *testing.T) {
	t.Parallel()
	eachDelivery(t, func(t *testing.T, noDirect bool) {
		p := startPool(t, PoolOptions{Name: "block", Min: 1, Max: 1, NoDirect: noDirect})
		waitIdle(t, p, 1) // else the job is queued, and never on the coroutine
		release := make(chan struct{})
		unblock := sync.OnceFunc(func() { close(release) })
		defer time.AfterFunc(3*time.Second, unblock).Stop() // were the caller stuck
		finished := make(chan uint64, 1)
		start := time.Now()
		_, err := do(p, 100*time.Millisecond, func(ctx context.Context) (any, error) {
			before := goid()
			ctx.(*Job).WillBlock()
			<-release // deaf to ctx, as a stuck library call would be
			if after := goid(); after != before {
				finished <- after
			}
			close(finished)
			return nil, nil
		})
		if !errors.Is(err, ErrTimeout) {
			t.Fatalf("err = %v", err)
		}
		if want := map[bool]uint64{false: 1, true: 0}[noDirect]; p.Stats().Moved != want {
			t.Fatalf("Moved = %d, want %d", p.Stats().Moved, want)
		}
		if d := time.Since(start); d < 90*time.Millisecond || d > 2*time.Second {
			t.Fatalf("the caller waited %v for a 100 ms deadline", d)
		}
		unblock()
		if g, moved := <-finished; moved {
			t.Fatalf("the job went on on goroutine %d, not the one it started on", g)
		}
		v, err := do(p, time.Second, func(context.Context) (any, error) { return 7, nil })
		if v != 7 || err != nil {
			t.Fatalf("after the blocked job: %v, %v (pool %+v)", v, err, p.Stats())
		}
	})
}

// A job that panics after it moved to the worker's goroutine is answered
// as a failure, and the worker is restarted.
func TestJobPanickingAfterWillBlockFailsItsWorker(t *testing.T) {
	t.Parallel()
	p := startPool(t, PoolOptions{Name: "blockpanic", Min: 1, Max: 1})
	_, err := do(p, 5*time.Second, func(ctx context.Context) (any, error) {
		ctx.(*Job).WillBlock()
		time.Sleep(time.Millisecond)
		panic("after blocking")
	})
	var f *Failure
	if !errors.As(err, &f) || f.Reason != "after blocking" {
		t.Fatalf("err = %v", err)
	}
	waitFor(t, func() bool { return p.Stats().Restarts == 1 })
	if v, err := do(p, time.Second, func(context.Context) (any, error) { return 1, nil }); v != 1 || err != nil {
		t.Fatalf("after the restart: %v, %v", v, err)
	}
}

// Stopping the pool while a job waits on the worker's goroutine cancels
// it and answers its caller; the worker ends.
func TestPoolStopsWhileAJobWaitsAfterWillBlock(t *testing.T) {
	t.Parallel()
	sys := newTestSystem(t, nil)
	p, err := sys.StartPool(PoolOptions{Name: "blockstop", Min: 1, Max: 1})
	if err != nil {
		t.Fatal(err)
	}
	waiting := make(chan struct{})
	callerErr := make(chan error, 1)
	go func() {
		_, err := do(p, 10*time.Second, func(ctx context.Context) (any, error) {
			ctx.(*Job).WillBlock()
			close(waiting)
			<-ctx.Done()
			return nil, ctx.Err()
		})
		callerErr <- err
	}()
	<-waiting
	stopCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.Stop(stopCtx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-callerErr:
		if !errors.Is(err, ErrPoolStopped) {
			t.Fatalf("caller got %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the caller was not answered")
	}
	if n := len(p.Supervisor().Children()); n != 0 {
		t.Fatalf("%d workers left", n)
	}
}

// Stopping the pool while a job runs (on the worker's coroutine, driven
// by its caller, unless NoDirect) cancels the job and answers its caller,
// and the worker ends at once: it does not go back to waiting idle for a
// message that never comes.
func TestPoolStopsWhileAJobRuns(t *testing.T) {
	t.Parallel()
	eachDelivery(t, func(t *testing.T, noDirect bool) {
		sys := newTestSystem(t, nil)
		p, err := sys.StartPool(PoolOptions{Name: "runstop", Min: 1, Max: 1, WorkerShutdown: 5 * time.Second, NoDirect: noDirect})
		if err != nil {
			t.Fatal(err)
		}
		// The worker serves a job first, so that it is idle the way a
		// busy server's workers are.
		if _, err := do(p, time.Second, func(context.Context) (any, error) { return nil, nil }); err != nil {
			t.Fatal(err)
		}
		waitIdle(t, p, 1)
		running := make(chan struct{})
		callerErr := make(chan error, 1)
		go func() {
			_, err := do(p, 10*time.Second, func(ctx context.Context) (any, error) {
				close(running)
				<-ctx.Done()
				// The worker's goroutine, told to quit, looks for its
				// worker among the idle ones meanwhile, and does not find
				// it.
				time.Sleep(50 * time.Millisecond)
				return nil, ctx.Err()
			})
			callerErr <- err
		}()
		<-running
		start := time.Now()
		stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := p.Stop(stopCtx); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("stopping took %v: the worker did not end with its job", d)
		}
		if err := <-callerErr; !errors.Is(err, ErrPoolStopped) {
			t.Fatalf("caller got %v", err)
		}
		if n := len(p.Supervisor().Children()); n != 0 {
			t.Fatalf("%d workers left", n)
		}
	})
}

// A job is Reusable after Do only if nothing can hold it still: it ran
// on its caller's coroutine to its end, uncancelled, with no Done channel
// asked for. One that moved to its worker's goroutine, went through the
// worker's channel, waited in the queue, ran past its deadline or
// failed, or whose Done channel was taken, is not; Reset makes a reusable
// one fresh for the next job.
func TestJobReusable(t *testing.T) {
	t.Parallel()
	p := startPool(t, PoolOptions{Name: "reuse", Min: 1, Max: 1})
	waitIdle(t, p, 1) // else the first job is queued
	run := func(f func(j *Job) (any, error), d time.Duration) *Job {
		j := &Job{}
		_, _ = p.Do(j, time.Now().Add(d), RunnerFunc(func(context.Context) (any, error) { return f(j) }))
		return j
	}
	plain := run(func(*Job) (any, error) { return "ok", nil }, time.Minute)
	if !plain.Reusable() {
		t.Fatal("a job that ran to its end on the caller's coroutine is not reusable")
	}
	plain.Reset()
	if v, err := p.Do(plain, time.Now().Add(time.Minute), RunnerFunc(func(ctx context.Context) (any, error) { return "again", ctx.Err() })); v != "again" || err != nil || !plain.Reusable() {
		t.Fatalf("the reset job ran as %v, %v (reusable %v); want a fresh job's run", v, err, plain.Reusable())
	}
	for name, j := range map[string]*Job{
		"escaped":    run(func(j *Job) (any, error) { j.WillBlock(); return "ok", nil }, time.Minute),
		"done asked": run(func(j *Job) (any, error) { _ = j.Done(); return "ok", nil }, time.Minute),
		"timed out": run(func(j *Job) (any, error) {
			for j.Err() == nil {
			}
			return nil, j.Err()
		}, 20*time.Millisecond),
		"panicked": run(func(*Job) (any, error) { panic("boom") }, time.Minute),
	} {
		if j.Reusable() {
			t.Errorf("%s: the job is reusable", name)
		}
	}

	// Through the worker's channel, and through the queue.
	ch := startPool(t, PoolOptions{Name: "reuse-channel", Min: 1, Max: 1, NoDirect: true})
	j := &Job{}
	if _, err := ch.Do(j, time.Now().Add(time.Minute), RunnerFunc(func(context.Context) (any, error) { return "ok", nil })); err != nil || j.Reusable() {
		t.Fatalf("a job sent to the worker's goroutine: err %v, reusable %v; want no error, not reusable", err, j.Reusable())
	}
	release := make(chan struct{})
	busy := make(chan struct{})
	go func() {
		_, _ = p.Do(&Job{}, time.Now().Add(time.Minute), RunnerFunc(func(ctx context.Context) (any, error) {
			close(busy)
			<-release
			return nil, nil
		}))
	}()
	<-busy
	queued := &Job{}
	done := make(chan error, 1)
	go func() {
		_, err := p.Do(queued, time.Now().Add(time.Minute), RunnerFunc(func(context.Context) (any, error) { return "ok", nil }))
		done <- err
	}()
	waitFor(t, func() bool { return p.queued.Load() > 0 })
	close(release)
	if err := <-done; err != nil || queued.Reusable() {
		t.Fatalf("a queued job: err %v, reusable %v; want no error, not reusable", err, queued.Reusable())
	}
}
