package vm

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"tova/bytecode"
)

// Config holds what a program instance may touch of the outside world.
// Everything is injected: tests pass buffers and fixed clocks.
type Config struct {
	Stdout   io.Writer
	Stderr   io.Writer
	MaxDepth int                         // maximum Tova call depth (default 5000)
	Now      func() time.Time            // clock (default time.Now)
	Getenv   func(string) (string, bool) // environment (default os.LookupEnv)
	// Environ lists the environment Getenv reads, as "NAME=value"
	// (default os.Environ, or none when only Getenv is given, so that an
	// injected environment is the whole of it).
	Environ func() []string
	// Args are the script's command-line arguments.
	Args []string
	// Terminal says that Stdout is a terminal: the terminal builtins
	// (green, bold, ...) style their text only then (and not when
	// NO_COLOR is set).
	Terminal bool
	// Stdin is what read_stdin reads (default os.Stdin).
	Stdin io.Reader
	// Dir is the directory of the program (see Instance.Dir).
	Dir string
	// Path is the file the program was run from (its source, its .tbc,
	// or a pipe's /dev/fd/N), "" when not known: script_path() says it.
	Path string
	// Serving names the server blocks the process runs ("" the unnamed
	// one); nil when it runs none (a script). The `env` declarations of
	// those servers are checked with the top level's, at start.
	Serving []string
}

func (c *Config) fill() {
	if c.Stdout == nil {
		c.Stdout = os.Stdout
	}
	if c.Stderr == nil {
		c.Stderr = os.Stderr
	}
	if c.Stdin == nil {
		c.Stdin = os.Stdin
	}
	if c.MaxDepth <= 0 {
		c.MaxDepth = 5000
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Environ == nil {
		c.Environ = noEnviron
		if c.Getenv == nil {
			c.Environ = os.Environ
		}
	}
	if c.Getenv == nil {
		c.Getenv = os.LookupEnv
	}
}

// absAtStart is p made absolute against the working directory of now,
// when the program starts: a chdir() in the program must not move
// script_dir() and script_path() along with a relative path given on
// the command line.
func absAtStart(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

func noEnviron() []string { return nil }

// Instance is one running copy of a program: its module slots (globals)
// and configuration. Threads of one instance share the globals.
type Instance struct {
	Prog    *Program
	Globals []Value
	Cfg     Config
	Started time.Time
	// Host is free for the embedding runtime (server, jobs) to attach
	// its own state; builtins such as spawn_job find it here.
	Host any
	// Server is the server block this instance runs (nil for scripts).
	Server *bytecode.Server
	// Dir is the directory of the program's source or .tbc (where
	// default database files go); empty means the working directory.
	Dir string
	// ScriptDir and ScriptPath are Dir and Cfg.Path made absolute when
	// the instance is made ("" for a path not known), for script_dir()
	// and script_path().
	ScriptDir, ScriptPath string
	// Sched, when set, serialises the Tova code of all threads of this
	// instance (see Scheduler).
	Sched Scheduler

	services sync.Map
	threads  sync.Pool

	// methods are what impl blocks gave the program's types, by type
	// index (nil until one did): made by the instance's top-level code
	// and server body (DEFMETHOD), read-only once they have run.
	methods []typeMethods
}

// typeMethods are one type's methods (first parameter self), called on
// its values, and associated functions, called on the type.
type typeMethods struct {
	inst, assoc map[string]Value
}

// defMethod gives type number idx the function fn under name.
func (in *Instance) defMethod(idx int, name string, fn Value) {
	if in.methods == nil {
		in.methods = make([]typeMethods, len(in.Prog.types))
	}
	m := &in.methods[idx]
	if c := fn.AsClosure(); len(c.Fn.ParamNames) > 0 && c.Fn.ParamNames[0] == "self" {
		if m.inst == nil {
			m.inst = map[string]Value{}
		}
		m.inst[name] = fn
		return
	}
	if m.assoc == nil {
		m.assoc = map[string]Value{}
	}
	m.assoc[name] = fn
}

// method is the method name of o's type, if an impl block gave it one.
func (in *Instance) method(o *Object, name string) (Value, bool) {
	if in.methods == nil || o.Type == nil || o.Type.prog != in.Prog {
		return Nil, false // (a value of another program's type has none here)
	}
	f, ok := in.methods[o.Type.decl-1].inst[name]
	return f, ok
}

// assocOf is the associated function name of the type x stands for (a
// record type's constructor, or an ADT's namespace object).
func (in *Instance) assocOf(x Value, name string) (Value, bool) {
	if in.methods == nil {
		return Nil, false
	}
	idx := -1
	switch x.k {
	case KType:
		if ti := x.AsType().Info; ti.prog == in.Prog {
			idx = ti.decl - 1
		}
	case KObject:
		if i, ok := in.Prog.namespaces[x.AsObject()]; ok {
			idx = i
		}
	}
	if idx < 0 || idx >= len(in.methods) {
		return Nil, false
	}
	f, ok := in.methods[idx].assoc[name]
	return f, ok
}

// Service returns the runtime service stored under key (nil if none).
// Runtime packages (the database layer, the job queue) keep their
// per-instance state here; keys are unexported types of those packages.
func (in *Instance) Service(key any) any {
	v, _ := in.services.Load(key)
	return v
}

// SetService stores a runtime service under key.
func (in *Instance) SetService(key, v any) { in.services.Store(key, v) }

// ServiceOrInit returns the service under key, creating it with mk once.
func (in *Instance) ServiceOrInit(key any, mk func() any) any {
	if v, ok := in.services.Load(key); ok {
		return v
	}
	v, _ := in.services.LoadOrStore(key, mk())
	return v
}

// ConfigBlocks returns the values of the program's configuration blocks
// of the given kind visible to this instance: top-level ones (evaluated
// by main) and, when the instance runs a server, that server's own.
// Values are nil until the code that evaluates them has run. An Option
// in a block is what it holds (see WithoutOptions).
func (in *Instance) ConfigBlocks(kind string) []Value {
	var out []Value
	for _, c := range in.Prog.Code.Configs {
		if c.Kind == kind {
			out = append(out, WithoutOptions(in.Globals[c.Slot]))
		}
	}
	if in.Server != nil {
		for _, c := range in.Server.Configs {
			if c.Kind == kind {
				out = append(out, WithoutOptions(in.Globals[c.Slot]))
			}
		}
	}
	return out
}

const (
	sigCancel uint32 = 1 << iota
	sigYield
)

// Scheduler lets one thread of an instance run Tova code at a time.
// Threads acquire it to run, release it around blocking work (sleep,
// database, HTTP), and yield it at backward jumps and calls when asked,
// so runaway code cannot starve the others.
type Scheduler interface {
	Acquire(t *Thread)
	Release(t *Thread)
}

// Enter acquires the instance's scheduler (if any) for this thread.
func (t *Thread) Enter() {
	if s := t.In.Sched; s != nil && !t.holding {
		t.endRun() // never wait for a GIL with a turn (see turns.go)
		s.Acquire(t)
		t.holding = true
	}
}

// pastDeadline reports whether the thread's context is done or its
// deadline has passed.
func (t *Thread) pastDeadline() bool { return t.ctx.Err() != nil || DeadlinePassed(t.ctx) }

// DeadlinePassed reports whether ctx's deadline has come, whether or not
// ctx knows yet (a context may learn of its deadline late, as
// actors.Job does from its pool's sweeper).
func DeadlinePassed(ctx context.Context) bool {
	d, ok := ctx.Deadline()
	return ok && !time.Now().Before(d)
}

// Leave releases the instance's scheduler (if held).
func (t *Thread) Leave() {
	if s := t.In.Sched; s != nil && t.holding {
		t.holding = false
		s.Release(t)
	}
}

// Take puts a token in turn, a channel of capacity one that code holds
// while it runs alone: at once when it is free, else waiting as for I/O
// (the instance's other code runs meanwhile). A thread stopped while it
// waits gets its cancellation error instead.
func (t *Thread) Take(turn chan struct{}) error {
	select {
	case turn <- struct{}{}:
		return nil
	default:
	}
	stopped := false
	t.Blocking(func() {
		select {
		case turn <- struct{}{}:
		case <-t.ctx.Done():
			stopped = true
		}
	})
	if stopped {
		return t.cancelled()
	}
	return nil
}

// Blocking runs fn with the scheduler released: builtins wrap waits
// (sleep, I/O) in it so other threads of the instance run meanwhile.
// It tells the thread's context first (see BlockNotifier).
func (t *Thread) Blocking(fn func()) { t.block(fn, false) }

// Working runs fn, work on the CPU or the local disk that may take a
// while and waits for no other thread (hashing a password, reading or
// replacing a file), as Blocking does, except inside a statement that
// writes module state (ATOMIC): there the thread keeps the scheduler, so
// that the statement stays one step (`users = [...users, { pw:
// hash_password(p) }]` lost users that requests running meanwhile had
// added).
func (t *Thread) Working(fn func()) { t.block(fn, true) }

func (t *Thread) block(fn func(), work bool) {
	t.willBlock()
	if w, ok := t.ctx.(WaitTracker); ok {
		w.Waiting(true)
		defer w.Waiting(false)
	}
	t.endRun()
	if t.holding && !t.pinned && !(work && t.atomic > 0) {
		t.Leave()
		defer t.Enter()
	}
	fn()
}

// CallAtomic calls fn as one step: the thread holds the instance's
// scheduler throughout, giving way neither when its slice is over nor
// while a builtin waits (I/O, a sleep), so other threads of the
// instance see module state as it was before the call or as it is
// after it, never in between. A call that fails leaves the module
// slots as they were before it (a change inside a list or an object
// stays). The other threads wait meanwhile, up to the end of the
// thread's context: for short code that must be one step, such as a
// data block's refresh (its source's new value assigned, and the
// pipelines that read it recomputed). It enters the scheduler if the
// thread has not; Leave lets go of it.
func (t *Thread) CallAtomic(fn Value, args ...Value) (Value, error) {
	t.Enter()
	t.pinned = true
	saved := slices.Clone(t.In.Globals)
	r, err := t.Call(fn, args...)
	t.pinned = false
	if err != nil {
		copy(t.In.Globals, saved)
	}
	return r, err
}

// A BlockNotifier is a context that wants to know when the code running
// under it is about to wait: for I/O or a sleep (Thread.Blocking), or for
// the scheduler while another thread holds it. actors.Job is one: a
// request its caller started on a worker's coroutine moves to the
// worker's own goroutine there, so that the caller can stop waiting at
// its deadline. WillBlock is called on the thread's goroutine. The
// thread asks its own context only: one derived from a BlockNotifier
// (context.WithValue, WithCancel) must pass WillBlock on itself.
type BlockNotifier interface {
	WillBlock()
}

// A WaitTracker is a context that wants to know while the code running
// under it waits in a blocking builtin (Thread.Blocking): Waiting(true)
// before the wait, Waiting(false) after it. actors.Job is one, so that
// a process over its memory limit stops running code that allocates
// rather than code that waits (actors.System.StopFirstDue).
type WaitTracker interface {
	Waiting(bool)
}

// willBlock tells the thread's context that the thread is about to wait.
func (t *Thread) willBlock() {
	if b, ok := t.ctx.(BlockNotifier); ok {
		b.WillBlock()
	}
}

// Poll is for a builtin that walks many items without running Tova
// code (sum of a long range, count over a generator): called every few
// thousand of them, it does what a backward jump of a Tova loop does,
// counting the items as jumps. The thread's cancellation is an error;
// and a long walk takes turns for the CPUs and gives the GIL to the
// requests waiting for it after its slice, as the loop would (`x =
// sum(range(0, 10**15))` held it until its deadline).
func (t *Thread) Poll(items int) error {
	t.edges += int64(items) + int64(t.pollSet-t.poll)
	t.poll, t.pollSet = 0, 0
	return t.checkSignal(false)
}

// PollWork is Poll for work that a statement writing module state keeps
// whole (hashing a password: docs/server.md keeps such a statement one
// step): inside one, the items are not counted as jumps, so that they
// never make it give way in the middle, where ten million rounds of a
// stored hash did after a second, and another request's write was lost;
// outside one, it is Poll. The thread's cancellation is still an error.
func (t *Thread) PollWork(items int) error {
	if t.atomic > 0 {
		items = 0
	}
	return t.Poll(items)
}

// RequestYield asks the thread to let others run at its next backward
// jump or call. Safe from any goroutine.
func (t *Thread) RequestYield() { t.signal.Or(sigYield) }

// checkSignal handles a raised signal: cancellation becomes an error;
// a yield request releases and re-acquires the scheduler.
func (t *Thread) checkSignal(call bool) error {
	if t.poll <= 0 {
		t.edges += int64(t.pollSet - t.poll)
		n := pollEvery
		if memoryPressure.Load() {
			n = pressurePoll
		}
		t.poll, t.pollSet = n, n
		if t.ctx.Err() != nil {
			t.signal.Or(sigCancel)
		}
		if t.yieldLater {
			t.yieldLater = false
			t.signal.Or(sigYield)
		}
		if err := t.takeTurns(); err != nil {
			return err
		}
	}
	s := t.signal.Load()
	if s&sigCancel != 0 && t.cancelledNow() {
		return t.cancelled()
	}
	if s&sigYield != 0 && (t.pinned || t.grace != 0) {
		// In CallAtomic: not before the call ends. In the cleanup of a
		// cancelled thread (finally blocks, deferred code, bounded by
		// its grace): not before it is done, so that it puts back
		// what it guards (`defer { in_flight -= 1 }`) rather than wait
		// behind the others past its grace and be stopped.
		t.signal.And(^sigYield)
		return nil
	}
	if s&sigYield != 0 {
		if g, ok := t.In.Sched.(*GIL); ok && t.holding {
			e := jumpEdge
			switch {
			case t.atomic > 0 && !t.atomicSpent:
				e = atomicEdge
			case call:
				e = callEdge
			}
			if e == atomicEdge && t.edgesNow()-t.atomicFrom < atomicEdges || !g.ranLongEnough(e) {
				// Keep the request, and look again yieldPoll edges on:
				// reading the clock at every edge would slow the
				// holder's loop several times over while others wait.
				t.signal.And(^sigYield)
				t.yieldLater = true
				t.edges += int64(t.pollSet - t.poll)
				t.poll = min(t.poll, yieldPoll)
				t.pollSet = t.poll
				return nil
			}
			t.signal.And(^sigYield)
			if e == atomicEdge {
				t.atomicSpent = true
			}
			g.yield(t)
			if t.pastDeadline() {
				t.signal.Or(sigCancel)
				if t.cancelledNow() { // (not in its cleanup's grace)
					return t.cancelled() // its deadline passed while others ran
				}
			}
		} else {
			t.signal.And(^sigYield)
			if t.holding {
				t.Leave()
				t.Enter()
			}
		}
	}
	return nil
}

// NewInstance makes an instance of p with fresh globals.
func (p *Program) NewInstance(cfg Config) *Instance {
	cfg.fill()
	g := make([]Value, len(p.Code.Globals))
	for i := range g {
		g[i] = unset
	}
	inst := &Instance{Prog: p, Globals: g, Cfg: cfg, Started: cfg.Now(), Dir: cfg.Dir, ScriptDir: absAtStart(cfg.Dir)}
	if cfg.Path != "" {
		inst.ScriptPath = absAtStart(cfg.Path)
	}
	return inst
}

// Thread executes Tova code on one goroutine. It is not safe for
// concurrent use; make one thread per goroutine.
type Thread struct {
	In  *Instance
	ctx context.Context
	// Host is free for the embedding runtime to attach what the thread
	// runs for (serve: the request it serves); Release clears it.
	Host any
	// retFn and retPC are where the last call made on t returned
	// (ReturnedAt).
	retFn *funcProto
	retPC int
	// spare is an object given back (Reclaim), for the next object
	// literal that fits in it.
	spare *Object
	// caught remembers the errors this thread's handlers caught most
	// recently, by the record a handler received, so that `throw e` of
	// that record (a rethrow, and the end of a finally or defer that an
	// error passed through) raises the error where it first arose.
	caught     [4]caughtError
	nextCaught uint8

	stack    []Value
	frames   []frame
	handlers []handler // active try blocks of all frames, innermost last
	// gens are the generator steps in progress, innermost last; yielded
	// says the last step suspended (YIELD) rather than returned.
	gens     []genFrame
	yielded  bool
	maxDepth int

	// signal is set from other goroutines: sigCancel by Interrupt,
	// sigYield when the scheduler wants the thread to let others run.
	// The interpreter checks it on backward jumps and calls; every
	// pollEvery of those it also polls ctx (cheaper than a callback
	// registered on every request's context).
	signal atomic.Uint32
	poll   int
	// holding is true while the thread holds its instance's scheduler;
	// pinned while it must not let go of it (CallAtomic).
	holding bool
	pinned  bool
	// yieldLater is a yield request kept for the next poll: asked to
	// yield before its slice was over, the thread looks again then.
	yieldLater bool
	// atomic counts the statements writing module state (ATOMIC) the
	// thread is in: in one, it gives way only after a long slice and
	// atomicEdges backward jumps and calls, counted from atomicFrom.
	atomic int32
	// atomicSpent: the statement writing module state the thread is in
	// has given way once, as a runaway (past atomicSlices): it is no
	// longer one step, and gives way at the edges any code does. (It
	// held the GIL for another second each time it took it back, and
	// every request using server state waited a second a turn, for the
	// whole of its deadline.)
	atomicSpent bool
	// edges counts the thread's backward jumps and calls up to its last
	// poll, pollSet what poll was set to then (see edgesNow).
	edges, atomicFrom int64
	pollSet           int
	// runStart is when the thread's current run (since it began, last
	// waited or took its turn) was first polled, runPolls how many polls
	// it has had; turn says it holds one of turns' turns (see takeTurns
	// and goschedEvery).
	runStart int64
	ranSince int64 // since its last runtime.Gosched
	runPolls int
	turn     bool
	turns    *turns
	// nested counts builtin calls made through Call inside one another
	// (functions builtins make, such as compose's, calling each other),
	// which push no frame for maxDepth to count.
	nested int
	// grace is when a cancelled thread's cleanup must end (mayCleanUp),
	// in nanotime; 0: it is running none. cleanBase is how many try
	// handlers were left below the cleanup running: those it pushes
	// itself catch as usual.
	grace     int64
	cleanBase int
	// tips are the buffers of the last long strings the thread
	// concatenated, which it may append to in place (see append.go).
	tips [numTips][]byte
}

// edge is where a thread checks its signals: a backward jump, a call,
// or either inside a statement that writes module state.
type edge uint8

const (
	jumpEdge edge = iota
	callEdge
	atomicEdge
)

// pollEvery is how many backward jumps and calls pass between two
// checks of the thread's context.
const pollEvery = 256

// memoryPressure: the process's heap nears its memory limit. Threads
// then check their context every pressurePoll backward jumps and calls,
// not every pollEvery, so that code the memory guard stops
// stops at once, rather than allocate on for up to pollEvery more
// iterations (256 MB more of a loop building a 1 MB string each time).
var memoryPressure atomic.Bool

// pressurePoll is how many backward jumps and calls pass between two
// checks of the thread's context under memoryPressure.
const pressurePoll = 1

// SetMemoryPressure says whether the heap nears its memory limit (see
// memoryPressure): the memory guard's to say.
func SetMemoryPressure(on bool) {
	if memoryPressure.Load() != on {
		memoryPressure.Store(on)
	}
}

// atomicEdges is how many backward jumps and calls a statement writing
// module state makes before it may give way inside (besides running
// atomicSlices): a slow clock alone (a process starved of CPU, a holder
// waiting for its turn behind runaways) never cuts a statement making
// fewer, while a runaway loop in one (tens of millions of jumps a
// second) still gives way after its slices, and so does one whose every
// iteration does real work (sorting a list: 2^16 of them at 18 µs are
// 1.2 s), which a larger count would let hold the GIL until its
// deadline.
const atomicEdges = 1 << 16

// edgesNow is how many backward jumps and calls the thread has made.
func (t *Thread) edgesNow() int64 { return t.edges + int64(t.pollSet-t.poll) }

// yieldPoll is how many backward jumps and calls pass between two looks
// at the clock of a thread asked to yield before its slice is over.
const yieldPoll = 32

// NewThread makes a thread bound to ctx: when ctx is done, the running
// code stops within pollEvery backward jumps or calls with a Cancelled
// error. Threads are recycled: call Release when done with one.
func (in *Instance) NewThread(ctx context.Context) *Thread {
	if ctx == nil {
		ctx = context.Background()
	}
	t, _ := in.threads.Get().(*Thread)
	if t == nil {
		t = &Thread{In: in, stack: make([]Value, 0, 256), frames: make([]frame, 0, 16), turns: cpuTurns}
	}
	t.ctx, t.maxDepth, t.poll, t.pollSet, t.nested, t.yieldLater, t.atomic, t.pinned = ctx, in.Cfg.MaxDepth, pollEvery, pollEvery, 0, false, 0, false
	return t
}

// RunServerInit runs the program's top-level code and then a server
// block's body (its Init function), on a thread of the instance under its
// scheduler: what a server instance runs once before serving. ctx's
// cancellation stops it as it stops any thread.
func (in *Instance) RunServerInit(ctx context.Context, init int) error {
	th := in.NewThread(ctx)
	th.Enter()
	defer func() {
		th.Leave()
		th.Release()
	}()
	if _, err := th.RunMain(); err != nil {
		return err
	}
	_, err := th.RunFunc(init)
	return err
}

// Release returns the thread for reuse. It must not be used afterwards.
func (t *Thread) Release() {
	if len(t.frames) > 0 || t.holding {
		return // still running (released from inside a call): drop it
	}
	clear(t.stack) // drop references the stack still holds
	t.stack = t.stack[:0]
	t.handlers = t.handlers[:0]
	// The strings keep their buffers alive, not a thread in the pool.
	t.tips = [numTips][]byte{}
	if t.signal.Load() != 0 { // a store would be a locked instruction
		t.signal.Store(0)
	}
	t.ctx, t.Host, t.retFn = nil, nil, nil
	t.grace, t.cleanBase = 0, 0
	t.caught = [len(t.caught)]caughtError{}
	t.In.threads.Put(t)
}

// ReturnsFreshObject reports whether every value fn returns is an object
// it made just before returning it: its caller then holds the only
// reference to the object a call returns (see Reclaim). False for
// anything but a Tova function.
func ReturnsFreshObject(fn Value) bool {
	return fn.k == KFunc && fn.AsClosure().Fn.freshObject
}

// Reclaim gives back v, an object that nothing references any longer
// (the value of a call of a function that ReturnsFreshObject, which its
// caller has finished with and kept nowhere): the thread's next object
// literal that fits in it reuses it instead of allocating. Anything else
// is ignored. An object reclaimed while referenced would change under
// its holder.
func (t *Thread) Reclaim(v Value) {
	if v.k != KObject {
		return
	}
	o := v.AsObject()
	if o.dict != nil || o.Type != nil || o.shape == nil || cap(o.vals) == 0 {
		return
	}
	clear(o.vals) // what it held may be freed
	t.spare = o
}

// Context returns the thread's context.
func (t *Thread) Context() context.Context { return t.ctx }

// Stdout is where print writes.
func (t *Thread) Stdout() io.Writer { return t.In.Cfg.Stdout }

// Program is a loaded program: bytecode plus the VM's ready-to-run
// tables (constants as Values, resolved builtins, type constructors).
// It is immutable and may be shared by any number of instances.
type Program struct {
	Code     *bytecode.Program
	consts   []Value
	funcs    []*funcProto
	builtins []Value
	types    []*typeEntry
	// namespaces are the objects ADT names stand for (Shape.Circle), by
	// the index of their type, for the ADT's associated functions.
	namespaces map[*Object]int
}
