package actors

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"tova/internal/idletick"
	"tova/internal/procid"
)

// Errors returned by Pool.Do.
var (
	// ErrTimeout: the deadline passed before the job finished (or before a
	// worker took it). The job's context has been cancelled.
	ErrTimeout = fmt.Errorf("actors: job deadline exceeded: %w", context.DeadlineExceeded)
	// ErrPoolStopped: the pool was closed.
	ErrPoolStopped = errors.New("actors: pool stopped")
	// ErrOverloaded: MaxQueue callers are already waiting for a worker.
	ErrOverloaded = errors.New("actors: pool overloaded")
	// ErrMemory: the job was stopped to bring the process back under its
	// memory limit (System.StopFirstDue). Its context has been cancelled.
	ErrMemory = errors.New("actors: job stopped: the process passed its memory limit")
)

// Runner is the work a Pool executes. ctx is the job's context: it carries
// the deadline and is cancelled when the caller stops waiting (deadline,
// pool shutdown) or the worker is stopped. Runaway work must watch it.
type Runner interface {
	Run(ctx context.Context) (any, error)
}

// RunnerFunc adapts a function to Runner.
type RunnerFunc func(ctx context.Context) (any, error)

// Run calls f(ctx).
func (f RunnerFunc) Run(ctx context.Context) (any, error) { return f(ctx) }

// PoolOptions configure a Pool.
type PoolOptions struct {
	// Name is the pool supervisor's name (default "pool").
	Name string
	// Min workers are started with the pool and kept (default GOMAXPROCS,
	// at least 2).
	Min int
	// Max bounds the workers (default 1024). The pool grows when every
	// worker is busy, so work stuck in I/O or runaway code does not starve
	// the rest; past Max, callers queue.
	Max int
	// MaxQueue bounds the callers waiting for a worker once Max workers are
	// busy (default 4096; negative means unbounded). Past it Do returns
	// ErrOverloaded at once.
	MaxQueue int
	// IdleTimeout is the trimming period (default 10 s): every period, the
	// workers beyond Min and beyond the period's peak of busy workers (plus
	// one spare) exit if idle.
	IdleTimeout time.Duration
	// Intensity of the pool supervisor; zero means no restart limit.
	Intensity Intensity
	// WorkerShutdown is how long a stopping worker gets to finish its job
	// after the job's context was cancelled (default 1 s).
	WorkerShutdown time.Duration
	// DeadlineResolution is how often running jobs are checked against
	// their deadlines (default 10 ms): a job is cut at most this late.
	DeadlineResolution time.Duration
	// OnEvent observes the pool supervisor's events.
	OnEvent func(Event)
	// NoDirect hands every job to its worker's goroutine through the
	// worker's channel, never running it on the worker's coroutine from
	// the caller (see Do). It exists to measure the difference.
	NoDirect bool
}

// Pool runs jobs on supervised worker actors. Idle workers wait on
// stacks, one per CPU (the most recently idle first, so a few warm
// workers serve a steady load); a caller pops one, from its own CPU's
// stack if it can, runs the job on the worker's coroutine (or, with
// NoDirect, hands it through the worker's channel), and takes the answer
// from a buffered reply slot; a job that is about to wait moves to the
// worker's goroutine, and the caller waits on the reply slot alone.
// With no idle worker the job waits in a FIFO queue that the next free
// worker serves. Running jobs get no timer each: one sweeper
// per pool checks the workers' jobs against their deadlines every
// DeadlineResolution and answers the overdue ones in their reply slot. A
// panic in a job is recovered by the worker, answered to the caller at
// once as a *Failure, then reported to the pool supervisor, which
// restarts the worker and counts it.
type Pool struct {
	opts   PoolOptions
	sup    *Supervisor
	closed chan struct{}
	isShut atomic.Bool
	once   sync.Once
	epoch  time.Time // deadlines are kept as monotonic offsets from it

	live   atomic.Int64  // workers started or starting
	moved  atomic.Uint64 // jobs moved from a caller to their worker's goroutine
	peak   atomic.Int64  // most busy workers seen by the sweeper since the last trim
	queued atomic.Int64  // callers waiting for a worker
	seq    atomic.Uint64
	tasks  sync.Pool

	// The idle stacks, one per CPU (see idleShard). A worker taken off a
	// stack is sent exactly one message (a job, pullMsg or retireMsg),
	// so a stopping worker that finds itself off its stack knows a
	// message is on its way.
	shards []idleShard

	// qmu guards the wait queue.
	qmu   sync.Mutex
	queue []*task // waiting jobs, oldest at qhead
	qhead int

	mu        sync.Mutex
	workers   map[*worker]struct{}
	trimTimer *time.Timer
	sweepStop chan struct{}
	sweepDone chan struct{} // closed when the sweeper has returned
	// sweepGate lets the sweeper sleep while no job runs (see sweep).
	sweepGate *idletick.Gate
}

// PoolStats is a snapshot of a pool.
type PoolStats struct {
	Workers  int64
	Busy     int64
	Queued   int64
	Failures uint64 // jobs that panicked or workers that failed
	Restarts uint64 // worker restarts
	// Moved counts the jobs a caller started on a worker's coroutine
	// that moved to the worker's goroutine to wait (Job.WillBlock).
	Moved uint64
	// Waiting counts the running jobs that wait now (Job.Waiting).
	Waiting int64
}

// NewPool creates an unstarted pool. Start it with System.Start(p.Supervisor())
// (or System.StartPool), or place p.Supervisor().ChildSpec() in a tree.
func NewPool(opts PoolOptions) *Pool {
	if opts.Name == "" {
		opts.Name = "pool"
	}
	if opts.Min <= 0 {
		opts.Min = max(runtime.GOMAXPROCS(0), 2)
	}
	if opts.Max <= 0 {
		opts.Max = 1024
	}
	opts.Max = max(opts.Max, opts.Min)
	if opts.MaxQueue == 0 {
		opts.MaxQueue = 4096
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = 10 * time.Second
	}
	if opts.Intensity == (Intensity{}) {
		opts.Intensity = Intensity{MaxRestarts: NoRestartLimit}
	}
	if opts.WorkerShutdown <= 0 {
		opts.WorkerShutdown = time.Second
	}
	if opts.DeadlineResolution <= 0 {
		opts.DeadlineResolution = 10 * time.Millisecond
	}
	p := &Pool{
		opts:    opts,
		closed:  make(chan struct{}),
		epoch:   time.Now(),
		workers: map[*worker]struct{}{},

		sweepGate: idletick.New(),
	}
	p.shards = make([]idleShard, max(1, runtime.GOMAXPROCS(0)))
	p.tasks.New = func() any {
		t := &task{reply: make(chan result, 1), timer: time.NewTimer(time.Hour)}
		t.timer.Stop()
		return t
	}
	p.sup = NewSupervisor(SupervisorSpec{
		Name:      opts.Name,
		Strategy:  OneForOne,
		Intensity: opts.Intensity,
		OnEvent:   opts.OnEvent,
		init:      p.startWorkers,
		stopped:   p.stopped,
	})
	p.sup.quiet = true
	return p
}

// Supervisor returns the pool's supervisor.
func (p *Pool) Supervisor() *Supervisor { return p.sup }

// Stats returns the pool's counters.
func (p *Pool) Stats() PoolStats {
	st := p.sup.Stats()
	var waiting int64
	p.current(func(_ *worker, t *task, _ uint64) {
		if t.job.waits.Load() > 0 {
			waiting++
		}
	})
	return PoolStats{
		Workers:  p.live.Load(),
		Busy:     p.busyCount(),
		Queued:   p.queued.Load(),
		Failures: st.Failures,
		Restarts: st.Restarts,
		Moved:    p.moved.Load(),
		Waiting:  waiting,
	}
}

// Close makes Do fail with ErrPoolStopped and releases the callers still
// waiting for a worker. Running jobs go on: stopping the pool's supervisor
// (Stop, or its parent's shutdown) cancels them, and their callers then
// get ErrPoolStopped.
func (p *Pool) Close() {
	p.once.Do(func() {
		p.isShut.Store(true)
		close(p.closed)
	})
}

// CancelRunning stops the jobs running now as stopping the pool would
// (their callers get ErrPoolStopped at once, the jobs are cancelled),
// and leaves the pool serving: a server whose drain deadline passed
// answers its in-flight requests, then runs its on_stop work. It
// returns how many jobs it stopped.
func (p *Pool) CancelRunning() int { return p.expireOverdue(math.MaxInt64, ErrPoolStopped) }

// Stop closes the pool and, if it was started at top level, stops its
// supervisor (cancelling running jobs and stopping the workers).
func (p *Pool) Stop(ctx context.Context) error {
	p.Close()
	if err := p.sup.Stop(ctx); err != nil && !errors.Is(err, ErrNotRunning) {
		return err
	}
	return nil
}

// Job is the per-execution context of one Do call: it implements
// context.Context with the call's deadline and is cancelled when the
// deadline passes or the worker running it is stopped. Embed it in the
// caller's own per-request value so that it costs no extra allocation. A
// Job serves one Do call.
type Job struct {
	deadline time.Time
	state    atomic.Uint32 // jobLive, jobCancelled or jobStopped
	// asked: someone took Done, and may wait on it (Reusable reads it
	// without taking mu).
	asked atomic.Bool
	mu    sync.Mutex
	done  chan struct{}
	err   error
	// escape moves a job running on its worker's coroutine, driven by
	// the caller, to the worker's goroutine (once; nil otherwise).
	escape func()
	// waits counts the waits (I/O, a sleep) the job is in (Waiting).
	waits atomic.Int32
	// held: the job was handed to a goroutine other than its caller's
	// (a worker's, or the queue's), which may hold it still (Reusable).
	held bool
}

// Reusable reports whether j, whose Pool.Do has returned, can be Reset
// and used for another job: nothing can hold it any longer. It ran on
// its caller's coroutine (or by its caller, never handed to a pool) to
// its end, without moving to its worker's goroutine or waiting in the
// queue; it was never cancelled; no one asked for its Done channel (a
// goroutine may wait on it); and it is in no wait.
func (j *Job) Reusable() bool {
	return !j.held && !j.asked.Load() && j.state.Load() == jobLive && j.waits.Load() == 0
}

// Reset makes j a fresh Job, for a job j was Reusable after.
func (j *Job) Reset() { *j = Job{} }

// Waiting tells the job that its runner begins (true) or ends (false)
// a wait: for I/O, a sleep or another server's answer. A job that
// waits allocates nothing meanwhile; System.StopFirstDue passes it over
// for one that runs.
func (j *Job) Waiting(on bool) {
	if on {
		j.waits.Add(1)
	} else {
		j.waits.Add(-1)
	}
}

// WillBlock tells the job that its runner is about to wait: for I/O, a
// sleep, or a lock another job holds. A job its caller is running on
// the worker's coroutine (see Pool.Do) moves to the worker's own
// goroutine there, and the caller goes back to waiting for the answer
// with the deadline. It implements vm.BlockNotifier; call it only on the
// goroutine running the job.
func (j *Job) WillBlock() {
	if f := j.escape; f != nil {
		j.escape = nil
		f()
	}
}

// Job states.
const (
	jobLive uint32 = iota
	jobCancelled
	jobStopped // cancelled because its worker is stopping
)

// closedDone is returned by Done of a job cancelled before anyone asked.
var closedDone = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// Deadline implements context.Context.
func (j *Job) Deadline() (time.Time, bool) { return j.deadline, !j.deadline.IsZero() }

// Done implements context.Context. The channel is made on first use.
func (j *Job) Done() <-chan struct{} {
	j.asked.Store(true)
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.done == nil {
		if j.state.Load() != jobLive {
			return closedDone
		}
		j.done = make(chan struct{})
	}
	return j.done
}

// Err implements context.Context; cheap enough to poll from a hot loop.
func (j *Job) Err() error {
	if j.state.Load() == jobLive {
		return nil
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.err
}

// Value implements context.Context; a Job carries no values.
func (j *Job) Value(any) any { return nil }

func (j *Job) cancel(err error, stopped bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.state.Load() != jobLive {
		return
	}
	j.err = err
	if stopped {
		j.state.Store(jobStopped)
	} else {
		j.state.Store(jobCancelled)
	}
	if j.done != nil {
		close(j.done)
	}
}

// task carries one job through the queue to a worker, with its buffered
// reply slot. Exactly one of the worker (its result), the sweeper (the
// timeout) and the caller (withdrawing from the queue) wins the task's
// state and fills or abandons the slot (or, for a job answered on the
// worker's coroutine, res). Tasks are recycled: the caller
// and the worker each hold a reference, and the last to let go returns
// the task to the pool. The sweeper holds none: it only answers a task
// while the worker running it (and holding its reference) lets it.
type task struct {
	job   *Job
	r     Runner
	reply chan result
	// The caller sets deadline, word and refs with plain stores before
	// anyone else can see the task (it comes out of the pool with no
	// holder, and reaches a worker, the queue or the sweeper only through
	// a lock, a channel or a coroutine switch), saving three locked
	// instructions per job; afterwards word and refs are only accessed
	// atomically, and deadline only read.
	deadline int64  // offset from Pool.epoch, ns
	word     uint64 // generation<<8 | taskState
	refs     int32
	sh       *idleShard  // the stack its worker came from (counts it busy)
	timer    *time.Timer // only while waiting in the queue

	// A job its caller runs on the worker's coroutine is answered here,
	// not through reply, while it stays there (direct): the caller reads
	// res once the coroutine has switched back, if the worker won the
	// task (the sweeper answers through reply).
	direct bool
	res    result
}

// task states
const (
	taskPending uint64 = iota
	taskAnswered
	taskExpired
	taskWithdrawn // the caller gave up before a worker took it
)

// settle moves a pending task of the given word to state st; it reports
// whether this caller won the task.
func (t *task) settle(word, st uint64) bool {
	return word&0xff == taskPending && atomic.CompareAndSwapUint64(&t.word, word, word&^0xff|st)
}

type result struct {
	v   any
	err error
}

func (p *Pool) release(t *task) {
	if atomic.AddInt32(&t.refs, -1) == 0 {
		// Every answer sent is taken by its caller; should one be left
		// behind, it must not answer the task's next job. (No one
		// holds the task now, so no one sends meanwhile.)
		if len(t.reply) > 0 {
			<-t.reply
		}
		t.job, t.r, t.sh = nil, nil, nil
		t.direct, t.res = false, result{}
		p.tasks.Put(t)
	}
}

// Do runs r on a worker and waits for its result until deadline (the zero
// time: no deadline). j must be a fresh Job; it becomes r's context. A
// panic in r returns a *Failure; past the deadline Do returns ErrTimeout
// (at most DeadlineResolution late) and cancels j. Unless NoDirect, r
// starts on the worker's coroutine, driven by this caller, until it
// returns or calls j.WillBlock: until then the deadline holds only as
// far as r watches j, so r must call WillBlock before it waits on
// anything that does not watch j.
func (p *Pool) Do(j *Job, deadline time.Time, r Runner) (any, error) {
	if p.isShut.Load() {
		j.cancel(context.Canceled, true)
		return nil, ErrPoolStopped
	}
	j.deadline = deadline
	due := time.Duration(math.MaxInt64) // a zero deadline never expires
	if !deadline.IsZero() {
		due = deadline.Sub(p.epoch)
	}
	t := p.tasks.Get().(*task)
	t.job, t.r = j, r
	t.deadline = int64(due)
	t.word = (t.word>>8+1)<<8 | taskPending
	t.refs = 2 // caller, and the worker (or the queue) holding it
	var res result
	if w, s := p.popIdle(); w != nil {
		res = p.give(w, s, t)
	} else {
		res = p.wait(t, due)
	}
	p.release(t)
	return res.v, res.err
}

// give hands t to w, an idle worker taken off stack s. Off its stack, w
// is this caller's. Unless NoDirect, the caller runs t on w's coroutine
// itself: the switch costs a fraction of waking w's goroutine and
// waiting to be woken in turn, and w's goroutine stays asleep. The job
// still runs on a goroutine of the worker, as its job (the sweeper sees
// it, stopping the worker cancels it, a panic fails the worker). If the
// job is about to wait (Job.WillBlock), the coroutine returns to the
// caller, which hands it to w's goroutine to finish and then waits on
// t's reply slot, so a job that blocks is waited for with its deadline
// as before. give returns the job's answer: from t.res if the worker
// answered it on the coroutine, else (it escaped, the sweeper answered
// it first, or NoDirect) from t's reply slot.
func (p *Pool) give(w *worker, s *idleShard, t *task) result {
	t.sh = s
	if p.opts.NoDirect {
		t.job.held = true
		// The send never blocks (an idle worker's channel has room).
		w.in <- t
		return <-t.reply
	}
	w.coTask, w.escaped = t, false // the coroutine sets coFail
	t.job.escape = w.escapeFn
	t.direct = true // until the job escapes
	w.coNext()
	switch {
	case w.escaped:
		w.in <- resumeMsg // w's goroutine finishes the job
		return <-t.reply
	case w.coFail != nil:
		t.job.held = true // with the failure
		w.in <- failMsg   // w's goroutine reports the failure, and ends
	default:
		p.idleAgain(w, s)
	}
	if atomic.LoadUint64(&t.word)&0xff == taskAnswered {
		return t.res // the worker won the task, on the coroutine
	}
	return <-t.reply
}

// idleAgain puts w, which a caller ran a job on, back on stack s, where
// its goroutine still waits for a message (so it is the stack w's
// goroutine joined): as if w had never left. A job queued meanwhile
// wakes it, as does its stopping.
func (p *Pool) idleAgain(w *worker, s *idleShard) {
	s.mu.Lock()
	if w.stopping.Load() {
		s.mu.Unlock()
		w.in <- pullMsg // a stopping worker ends on its next message
		return
	}
	s.push(w)
	s.mu.Unlock()
	if p.queued.Load() > 0 && s.remove(w) {
		w.in <- pullMsg
	}
}

// idleShard is one of the pool's idle stacks. There is one per CPU
// (GOMAXPROCS when the pool was made): a caller takes a worker from the
// stack of the CPU it runs on, and a worker that finishes a job joins
// the stack of the CPU it finished on. The caller's goroutine waits
// while the worker runs, so the scheduler usually runs the worker on the
// caller's CPU: the job's data stays in that CPU's cache, and the CPUs
// do not contend for one lock and one counter per job. A caller whose
// own stack is empty takes from the others.
type idleShard struct {
	mu   sync.Mutex
	idle []*worker    // the most recently idle last
	n    atomic.Int32 // len(idle), for readers without mu
	busy atomic.Int64 // jobs started on this CPU and still running
	_    [128 - 48]byte
}

// nearIndex returns the index of the stack of the CPU the caller runs on
// (most likely: the goroutine may move right after).
func (p *Pool) nearIndex() int {
	return procid.Current() % len(p.shards)
}

func (s *idleShard) push(w *worker) {
	s.idle = append(s.idle, w)
	s.n.Store(int32(len(s.idle)))
}

// pop takes the most recently idle worker off the stack, or returns nil.
func (s *idleShard) pop() *worker {
	n := len(s.idle)
	if n == 0 {
		return nil
	}
	w := s.idle[n-1]
	s.idle[n-1] = nil
	s.idle = s.idle[:n-1]
	s.n.Store(int32(n - 1))
	return w
}

// remove takes w off the stack and reports whether it was there.
func (s *idleShard) remove(w *worker) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.Index(s.idle, w)
	if i < 0 {
		return false
	}
	s.idle = slices.Delete(s.idle, i, i+1)
	s.n.Store(int32(len(s.idle)))
	return true
}

// popIdle takes an idle worker, from the caller's CPU's stack if it has
// one, and returns it with the stack it was on; or it returns nil.
func (p *Pool) popIdle() (*worker, *idleShard) {
	near := p.nearIndex()
	for k := range len(p.shards) {
		s := &p.shards[(near+k)%len(p.shards)]
		if k > 0 && s.n.Load() == 0 {
			continue // another CPU's empty stack: not worth its lock
		}
		s.mu.Lock()
		w := s.pop()
		s.mu.Unlock()
		if w != nil {
			return w, s
		}
	}
	return nil, nil
}

// idleCount is the number of idle workers (a snapshot).
func (p *Pool) idleCount() int {
	n := 0
	for i := range p.shards {
		n += int(p.shards[i].n.Load())
	}
	return n
}

// busyCount is the number of workers running a job (a snapshot).
func (p *Pool) busyCount() int64 {
	var n int64
	for i := range p.shards {
		n += p.shards[i].busy.Load()
	}
	return n
}

// wait queues t for the next free worker, growing the pool first if more
// jobs are running or waiting than there are workers, and waits for its
// answer. Counting busy workers and queued jobs (not idle workers) leaves
// no window in which a waiting job is seen by nobody.
func (p *Pool) wait(t *task, due time.Duration) result {
	word := atomic.LoadUint64(&t.word)
	giveUp := func(st uint64, err error, stopped bool) result {
		p.qmu.Lock()
		i := slices.Index(p.queue[p.qhead:], t)
		if i < 0 {
			// A worker took the task meanwhile: its answer (or the
			// sweeper's, at the deadline) is on its way.
			p.qmu.Unlock()
			return <-t.reply
		}
		p.queue = slices.Delete(p.queue, p.qhead+i, p.qhead+i+1)
		p.queued.Add(-1)
		p.qmu.Unlock()
		t.settle(word, st)
		p.release(t) // the queue's reference
		t.job.cancel(err, stopped)
		return result{err: err}
	}
	p.qmu.Lock()
	if w, s := p.popIdle(); w != nil {
		// A worker became idle (or was started) since Do looked.
		p.qmu.Unlock()
		return p.give(w, s, t)
	}
	q := len(p.queue) - p.qhead
	if p.opts.MaxQueue > 0 && q >= p.opts.MaxQueue && p.live.Load() >= int64(p.opts.Max) {
		p.qmu.Unlock()
		t.settle(word, taskWithdrawn)
		p.release(t) // the queue's reference: the task was never queued
		t.job.cancel(context.Canceled, false)
		return result{err: ErrOverloaded}
	}
	t.job.held = true // a worker takes it from the queue
	p.queue = append(p.queue, t)
	p.queued.Add(1)
	p.qmu.Unlock()
	// A worker that joined its stack as the job was queued may have
	// missed it (it checks the queue after joining, this caller the
	// stacks after queueing, so one of them sees the other): wake one.
	if w, _ := p.popIdle(); w != nil {
		w.in <- pullMsg
	}
	p.grow()

	wait := due - time.Since(p.epoch)
	if wait <= 0 {
		return giveUp(taskExpired, ErrTimeout, false)
	}
	if due == math.MaxInt64 {
		select {
		case res := <-t.reply:
			return res
		case <-p.closed:
			return giveUp(taskWithdrawn, ErrPoolStopped, true)
		}
	}
	t.timer.Reset(wait)
	defer t.timer.Stop()
	select {
	case res := <-t.reply:
		return res
	case <-t.timer.C:
		return giveUp(taskExpired, ErrTimeout, false)
	case <-p.closed:
		return giveUp(taskWithdrawn, ErrPoolStopped, true)
	}
}

// nextQueued takes the oldest queued job, or returns nil. qmu is held.
func (p *Pool) nextQueued() *task {
	if p.qhead == len(p.queue) {
		return nil
	}
	t := p.queue[p.qhead]
	p.queue[p.qhead] = nil
	p.qhead++
	switch {
	case p.qhead == len(p.queue):
		p.queue, p.qhead = p.queue[:0], 0
	case p.qhead >= 64 && p.qhead*2 >= len(p.queue):
		// A standing backlog never empties the queue: reclaim its head.
		n := copy(p.queue, p.queue[p.qhead:])
		clear(p.queue[n:])
		p.queue, p.qhead = p.queue[:n], 0
	}
	p.queued.Add(-1)
	return t
}

// sweep answers running jobs past their deadline; it runs on its own
// goroutine while the pool's supervisor runs. It ticks only while jobs
// run: on a tick that finds none it stops, until the next job to start
// wakes it (execute calls sweepGate.Wake once it counts as busy), so
// that an idle server does not wake up every DeadlineResolution.
func (p *Pool) sweep(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	p.sweepGate.Start()
	tick := time.NewTicker(p.opts.DeadlineResolution)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			if busy := p.busyCount(); busy > 0 {
				// The peak of busy workers, sampled here, guides trimming.
				if busy > p.peak.Load() {
					p.peak.Store(busy)
				}
				p.expireOverdue(time.Since(p.epoch), ErrTimeout)
				continue
			}
			busy := func() bool { return p.busyCount() > 0 }
			if !p.sweepGate.Sleep(tick, p.opts.DeadlineResolution, busy, stop) {
				return
			}
		}
	}
}

// current calls f for each worker of the pool running a task, with the
// task and its word, holding the worker's lock.
func (p *Pool) current(f func(w *worker, t *task, word uint64)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for w := range p.workers {
		w.mu.Lock()
		if t := w.cur; t != nil {
			f(w, t, atomic.LoadUint64(&t.word))
		}
		w.mu.Unlock()
	}
}

// dueAt is when the task is due; a job without a deadline is due last.
func (p *Pool) dueAt(t *task) time.Time {
	if t.deadline == math.MaxInt64 {
		return time.Unix(1<<40, 0)
	}
	return p.epoch.Add(time.Duration(t.deadline))
}

// unwinding reports whether a worker of the pool still runs a job that
// was answered before it ended (at its deadline, or by stopTask).
func (p *Pool) unwinding() (busy bool) {
	p.current(func(_ *worker, _ *task, word uint64) { busy = busy || word&0xff == taskExpired })
	return busy
}

// stopTask answers t, if w still runs it as it did when its word was
// word, with ErrMemory, and cancels its job.
func (w *worker) stopTask(t *task, word uint64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cur != t || !t.settle(word, taskExpired) {
		return false
	}
	t.job.cancel(ErrMemory, false)
	t.reply <- result{err: ErrMemory}
	return true
}

// expireOverdue answers with err every running job due before now.
func (p *Pool) expireOverdue(now time.Duration, err error) (expired int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for w := range p.workers {
		if w.expireIfDue(now, err) {
			expired++
		}
	}
	return expired
}

// grow starts a worker if the jobs running and waiting (the caller's own
// is queued already) outnumber the workers. It runs after the overload
// check, so that a job that makes the pool grow to Max is not refused for
// the worker it is starting.
func (p *Pool) grow() {
	for {
		live := p.live.Load()
		if live >= int64(p.opts.Max) || p.busyCount()+p.queued.Load() <= live {
			return
		}
		if p.live.CompareAndSwap(live, live+1) {
			break
		}
	}
	p.startWorker()
}

// spare starts one more worker if every worker is busy.
func (p *Pool) spare() {
	for {
		live := p.live.Load()
		if live >= int64(p.opts.Max) || p.busyCount() < live {
			return
		}
		if p.live.CompareAndSwap(live, live+1) {
			break
		}
	}
	p.startWorker()
}

// startWorker asks the supervisor for a worker already counted in live.
func (p *Pool) startWorker() {
	err := p.sup.send(&startChildReq{
		spec:   p.workerSpec(),
		failed: func(error) { p.live.Add(-1) },
	})
	if err != nil {
		p.live.Add(-1)
	}
}

func (p *Pool) workerSpec() ChildSpec {
	return ChildSpec{
		ID:       "worker-" + strconv.FormatUint(p.seq.Add(1), 10),
		Start:    func() Actor { return &worker{p: p} },
		Restart:  Transient,
		Shutdown: p.opts.WorkerShutdown,
	}
}

// startWorkers runs in each incarnation of the pool supervisor.
func (p *Pool) startWorkers(s *supervisorActor) error {
	p.live.Store(0)
	for range p.opts.Min {
		p.live.Add(1)
		if err := s.add(p.workerSpec()); err != nil {
			p.live.Add(-1)
			return err
		}
	}
	stop := make(chan struct{})
	p.mu.Lock()
	p.trimTimer = time.AfterFunc(p.opts.IdleTimeout, p.trimIdle)
	p.sweepStop = stop
	done := make(chan struct{})
	p.sweepDone = done
	p.mu.Unlock()
	go p.sweep(stop, done)
	return nil
}

// stopped runs after the pool supervisor stopped its workers. Jobs of
// workers that did not stop in time are answered ErrPoolStopped.
func (p *Pool) stopped() {
	p.expireOverdue(math.MaxInt64, ErrPoolStopped)
	p.mu.Lock()
	if p.trimTimer != nil {
		p.trimTimer.Stop()
		p.trimTimer = nil
	}
	stop, done := p.sweepStop, p.sweepDone
	p.sweepStop, p.sweepDone = nil, nil
	p.mu.Unlock()
	if stop != nil {
		// The next incarnation's sweeper must not share the wake-ups
		// (sweepGate) with this one: wait for it to return (outside mu,
		// which its sweeps take).
		close(stop)
		<-done
	}
	p.live.Store(0)
}

// trimIdle runs every IdleTimeout: it retires as many idle workers as
// exceed both Min and the period's peak demand plus a spare, from each
// stack in turn the ones idle longest first.
func (p *Pool) trimIdle() {
	keep := max(int64(p.opts.Min), p.peak.Swap(p.busyCount())+1)
	excess := p.live.Load() - keep
	for i := 0; excess > 0 && i < len(p.shards); i++ {
		s := &p.shards[i]
		s.mu.Lock()
		for ; excess > 0 && len(s.idle) > 0; excess-- {
			if !p.retire() {
				excess = 0
				break
			}
			w := s.idle[0]
			s.idle = slices.Delete(s.idle, 0, 1)
			s.n.Store(int32(len(s.idle)))
			w.in <- retireMsg
		}
		s.mu.Unlock()
	}
	p.mu.Lock()
	if p.trimTimer != nil {
		p.trimTimer.Reset(p.opts.IdleTimeout)
	}
	p.mu.Unlock()
}

// retire counts one worker less if the pool is above Min.
func (p *Pool) retire() bool {
	for {
		live := p.live.Load()
		if live <= int64(p.opts.Min) {
			return false
		}
		if p.live.CompareAndSwap(live, live-1) {
			return true
		}
	}
}

// Messages on a worker's channel besides jobs.
var (
	retireMsg = &task{} // leave the pool (already counted out of live)
	quitMsg   = &task{} // the worker is stopping
	pullMsg   = &task{} // serve the queue
	resumeMsg = &task{} // finish the job a caller started on the coroutine
	failMsg   = &task{} // the job a caller ran on the coroutine failed (coFail)
)

// pull asks a worker to serve the queue.
type pull struct{}

// worker is a pool worker actor. Its Receive serves the shared queue until
// it is stopped, retires, or a job panics (then it returns the failure, so
// the supervisor restarts it).
type worker struct {
	p        *Pool
	c        *Context
	in       chan *task // a job, pullMsg or retireMsg (sent only while idle), quitMsg
	stopping atomic.Bool
	unhook   func() bool

	// cur is the task running. While it is set, the worker holds its
	// reference, so the sweeper may answer it under mu.
	mu  sync.Mutex
	cur *task

	// The worker's coroutine, on which callers run jobs (Pool.give).
	// Whoever holds the worker off its stack drives it: the caller,
	// then, if the job escapes or fails, the worker's goroutine (the
	// channel message orders the two).
	coNext   func() (struct{}, bool)
	coStop   func()
	coYield  func(struct{}) bool
	coTask   *task    // the job to run next, or running
	coFail   *Failure // the failure of the job run last
	escaped  bool     // the job moved to the worker's goroutine
	escapeFn func()
}

func (w *worker) Start(c *Context) error {
	w.c = c
	// Room for one job and one quit: sends never block.
	w.in = make(chan *task, 2)
	// Stopping the worker wakes it and cancels the job it runs.
	w.unhook = context.AfterFunc(c.Context(), func() {
		w.stopping.Store(true)
		select {
		case w.in <- quitMsg:
		default:
		}
		w.mu.Lock()
		if w.cur != nil {
			w.cur.job.cancel(context.Canceled, true)
		}
		w.mu.Unlock()
	})
	w.p.mu.Lock()
	w.p.workers[w] = struct{}{}
	w.p.mu.Unlock()
	w.coNext, w.coStop = iter.Pull(w.coroutine)
	w.escapeFn = func() {
		w.p.moved.Add(1)
		w.escaped = true
		w.coTask.job.held = true // its worker's goroutine finishes it
		w.coTask.direct = false  // answered through reply from now on
		w.coYield(struct{}{})    // back to the caller; on from the worker
	}
	c.Send(c.Self(), pull{})
	return nil
}

// coroutine runs the jobs callers give the worker, one per switch.
func (w *worker) coroutine(yield func(struct{}) bool) {
	w.coYield = yield
	for {
		w.coFail = w.execute(w.coTask)
		w.coTask = nil
		if !yield(struct{}{}) {
			return
		}
	}
}

func (w *worker) Stop(*Context) {
	w.unhook()
	w.coStop() // for a worker stopped before it served (serve stops it too)
	w.p.mu.Lock()
	delete(w.p.workers, w)
	w.p.mu.Unlock()
}

// expireIfDue answers the running task with err if it is due before now.
func (w *worker) expireIfDue(now time.Duration, err error) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	t := w.cur
	if t == nil || time.Duration(t.deadline) > now || !t.settle(atomic.LoadUint64(&t.word), taskExpired) {
		return false
	}
	if errors.Is(err, ErrTimeout) {
		t.job.cancel(context.DeadlineExceeded, false)
	} else {
		t.job.cancel(context.Canceled, true)
	}
	t.reply <- result{err: err}
	return true
}

func (w *worker) Receive(_ *Context, msg any) error {
	if _, ok := msg.(pull); !ok {
		return nil
	}
	if f := w.serve(); f != nil {
		return f
	}
	return nil
}

func (w *worker) serve() *Failure {
	// Every job a caller started on the coroutine has ended by the time
	// the worker ends (its caller's message comes first): it waits
	// between jobs, to be stopped.
	defer w.coStop()
	for {
		var f *Failure
		switch t := w.next(); t {
		case nil:
			return nil
		case resumeMsg:
			w.coNext()
			f = w.coFail
		case failMsg:
			f = w.coFail
		default:
			f = w.execute(t)
		}
		if f != nil {
			return f
		}
	}
}

// next returns the worker's next job: the oldest queued one, or else one
// handed to it after it joins the idle stack of the CPU it runs on. It
// returns nil when the worker is to end (stopped or retired).
func (w *worker) next() *task {
	p := w.p
	for {
		if w.stopping.Load() {
			return nil
		}
		if p.queued.Load() > 0 {
			p.qmu.Lock()
			t := p.nextQueued()
			p.qmu.Unlock()
			if t != nil {
				return t
			}
		}
		s := &p.shards[p.nearIndex()]
		s.mu.Lock()
		if w.stopping.Load() {
			s.mu.Unlock()
			return nil
		}
		s.push(w)
		s.mu.Unlock()
		// A job queued as this worker joined its stack: serve it, unless
		// a caller took the worker off the stack meanwhile (then the
		// caller's message is on its way).
		if p.queued.Load() > 0 && s.remove(w) {
			continue
		}
		switch t := <-w.in; t {
		case retireMsg:
			w.c.Exit()
			return nil
		case pullMsg:
			continue
		case quitMsg:
			if s.remove(w) {
				return nil
			}
			// A caller took this worker off the stack just before it was
			// stopped: its job is in (or on its way to) the channel;
			// execute answers it ErrPoolStopped. (Or the trimmer did: it
			// is retiring; or a queueing caller: another worker serves
			// the queue.)
			if t := <-w.in; t != retireMsg && t != pullMsg {
				return t
			}
			return nil
		default:
			return t
		}
	}
}

// execute runs one job, answers its caller, and returns the failure if the
// job panicked (after the caller has its answer).
func (w *worker) execute(t *task) *Failure {
	p := w.p
	sh := t.sh
	if sh == nil { // a queued job
		sh = &p.shards[p.nearIndex()]
	}
	sh.busy.Add(1)
	p.sweepGate.Wake()
	if sh.n.Load() == 0 && p.idleCount() == 0 {
		// This was the last idle worker: start a spare now, so that the
		// next job does not wait for a spawn behind busy (or stuck) ones.
		p.spare()
	}
	j := t.job
	word := atomic.LoadUint64(&t.word)
	w.mu.Lock()
	w.cur = t
	w.mu.Unlock()
	if w.stopping.Load() {
		j.cancel(context.Canceled, true)
	}
	var res result
	var f *Failure
	// A job whose worker is stopping is not started.
	if j.state.Load() != jobStopped {
		res, f = w.run(t.r, j)
	}
	w.mu.Lock()
	w.cur = nil
	w.mu.Unlock()
	if f == nil && j.state.Load() == jobStopped {
		if d, ok := res.v.(Discarder); ok {
			// Its caller gets ErrPoolStopped, or was answered already:
			// either way nobody uses the result.
			defer d.Discarded()
		}
		res = result{err: ErrPoolStopped}
	}
	if t.settle(word, taskAnswered) {
		if t.direct {
			t.res = res
		} else {
			t.reply <- res
		}
	} else if d, ok := res.v.(Discarder); ok {
		d.Discarded() // the caller was answered already (deadline, stop)
	}
	p.release(t)
	sh.busy.Add(-1)
	return f
}

func (w *worker) run(r Runner, j *Job) (res result, f *Failure) {
	defer func() {
		if v := recover(); v != nil {
			f = panicFailure(w.c.path, v)
			res = result{err: f}
		}
	}()
	res.v, res.err = r.Run(j)
	if fr, ok := res.v.(FailureReporter); ok {
		if reason := fr.ActorFailure(); reason != nil {
			// The caller gets its answer; the worker is still counted as
			// failed and restarted by its supervisor.
			return res, &Failure{Actor: w.c.path, Reason: reason}
		}
	}
	return res, nil
}

// Discarder is implemented by job results that must know when nobody
// takes them: a job that finishes after its caller was answered at the
// deadline (or as the pool stopped) has its result's Discarded called.
type Discarder interface {
	Discarded()
}

// FailureReporter is implemented by job results that carry a failure of
// the code the job ran (a handler error answered with a 500): the worker
// replies with the result, then reports the failure to its supervisor,
// which restarts it per its strategy and counts the restart.
type FailureReporter interface {
	ActorFailure() error
}
