// Package actors is the supervision runtime of a Tova process: every named
// server runs as a tree of supervised actors, and its HTTP handlers run on a
// Pool of worker actors. It is a thin layer over protoactor-go (in-process
// packages only): protoactor provides mailboxes, the process registry and
// the failure plumbing; this package gives them OTP's meaning and Go's
// types, and keeps the library out of every other package.
//
// # Supervision model
//
// A Supervisor owns an ordered list of children, each described by a
// ChildSpec: an ID, a Start function that makes a fresh Actor for every
// (re)start, a RestartType and a shutdown timeout.
//
//   - Children start in order; Start of each returns before the next one
//     starts (an error stops the ones already started, in reverse order,
//     and fails the supervisor's own start).
//   - Children stop in reverse order. Stopping cancels the child's
//     Context and waits up to its shutdown timeout; a child that does not
//     return in time is abandoned (a goroutine cannot be killed) and
//     logged, and the tree forgets it.
//   - A failure is a Go panic in an actor or an error it returns from Start
//     or Receive. It reaches the parent as a *Failure{Actor, Reason, Panic,
//     Stack}; the parent's Decider (if any) picks RestartChild, StopChild or
//     EscalateFailure.
//   - RestartType: Permanent children are always restarted (also after a
//     normal exit), Transient ones only after a failure, Temporary ones
//     never.
//   - Strategy: OneForOne restarts the failed child; OneForAll stops all
//     children in reverse order and starts them again in order;
//     RestForOne does the same for the failed child and the ones started
//     after it. A restart makes a new incarnation (new Actor, new mailbox,
//     new Ref); Supervisor.Child returns the current one.
//   - Intensity: more than MaxRestarts restarts within Period, measured on
//     the System's injected Clock over a sliding window, and the
//     supervisor gives up: it stops all its children and escalates a
//     Failure whose Reason is *IntensityExceeded to its own parent, which
//     treats it like any child failure. A top-level supervisor that gives
//     up is stopped and reported through Options.OnEscalate.
//   - Restarts and shutdowns are synchronous inside the supervisor, as in
//     OTP: it handles nothing else until they are done.
//   - Counters (failures and restarts, per supervisor and per child) and
//     an OnEvent hook make all of this observable for tests and metrics.
//
// Restarts are implemented as stop-and-spawn, not with protoactor's
// in-place restart, so that the OTP orderings and shutdown timeouts hold;
// protoactor's own logging (log/slog) is bridged into the System's
// zerolog.Logger, with its Info records demoted to Debug.
//
// # The request pool
//
// A Pool is a supervisor (one-for-one, no restart limit by default) of
// identical, Transient worker actors. Idle workers wait on stacks, one
// per CPU, the most recently idle on top, each on its own channel.
// Pool.Do pops one, from the stack of the CPU it runs on when that one
// has a worker, gives it the job and a buffered reply slot, and waits on
// the reply slot alone; a worker that finishes joins the stack of the
// CPU it finished on. The caller waits while its worker runs, so the
// job stays in one CPU's cache, and the CPUs do not take turns on one
// lock.
//
// How the worker gets the job: each worker has, besides the goroutine
// that serves its mailbox and its channel, a coroutine (iter.Pull). The
// caller switches to the worker's coroutine, which runs the job and
// switches back: no scheduler pass, no channel, and the worker's
// goroutine stays asleep. The job still runs on a goroutine of the
// worker, as that worker's job: the sweeper sees it, stopping the worker
// cancels it, a panic is answered as a *Failure and fails the worker,
// whose supervisor restarts it. What the caller cannot do while it runs
// the coroutine is stop waiting, so a job about to wait (for I/O, a
// sleep, or the GIL another request holds: vm.Thread tells its context,
// Job.WillBlock) switches back to the caller, which hands it to the
// worker's goroutine to finish and waits on the reply slot with the
// deadline, as every job did before. A job that ends on the coroutine
// leaves its answer in the task, not in the reply slot (unless the
// sweeper answered it first). While a job runs Tova code on the
// coroutine its deadline is kept by the VM, which checks its context at
// backward jumps and calls; a long builtin that never waits (sorting
// millions of items) delays the 503 until it returns. PoolOptions.NoDirect
// hands every job to the worker's goroutine through its channel instead.
// With no idle worker the job waits in a FIFO queue that the next free
// worker serves (a worker joining its stack checks the queue after, and
// a caller queueing checks the stacks after, so one of them sees the
// other). The stacks keep a few warm workers serving a steady load, and
// no select runs on the hot path. There is no RequestFuture on this path
// and no allocation per job beyond the caller's own Job (pooled task,
// reused reply slot).
//
//   - Panics: the worker recovers, answers the caller at once with the
//     *Failure (the caller never waits for a timeout), then returns the
//     failure so the supervisor restarts that worker and counts it.
//   - Deadlines: each job runs with a Job context carrying the deadline.
//     One sweeper per pool checks running jobs every DeadlineResolution
//     (10 ms) and answers the overdue ones with ErrTimeout in their reply
//     slot, cancelling their context so the runner can stop; a job waiting
//     for a worker has its own timer. Stopping a worker cancels its job.
//     The sweeper ticks only while jobs run: an idle pool does not wake
//     up, and the next job to start wakes the sweeper.
//   - Sizing: the pool starts Min workers (GOMAXPROCS, at least 2) and
//     grows when every worker is busy: a worker that takes the last idle
//     slot starts a spare, and a caller that finds no idle worker starts
//     one if running and waiting jobs outnumber workers. So handlers blocked in I/O
//     or stuck in runaway code never starve the others; past Max (1024)
//     callers queue, past MaxQueue they get ErrOverloaded. Every
//     IdleTimeout, workers beyond Min and beyond the recent peak plus a
//     spare retire.
//
// On a 2-vCPU machine, four handlers spinning until their context is
// cancelled do not stop a fifth request: in the pool test it is answered
// in well under a millisecond. Over HTTP, Go code that spins without
// yielding leaves every network wake-up to the Go scheduler's 10 ms time
// slices: each request beside four such spinners took 70–150 ms. Tova
// code does not spin so: a long run lets other goroutines run every
// millisecond and takes turns for the CPUs (see "Server state" below),
// and health checks beside 200 `loop {}` requests answer in about 10 ms.
//
// # Measurements
//
// BenchmarkHandoff* (bench_test.go) hand a trivial job to an actor and
// wait for the reply; 2 vCPU, go1.26.8, medians of 3 runs of 1 s, "serial"
// with one caller, "parallel" with 16 callers (the rows below the first
// two were measured earlier, with the pool of their day):
//
//	                                  serial          parallel        allocs/op
//	Pool.Do, on the coroutine         0.83 µs         0.60 µs         1 (the caller's Job)
//	Pool.Do, through the channel      1.39 µs         1.22 µs         1
//	Pool.Do (first version)           1.07 µs         1.27 µs         1
//	  (idle stack, measured later)    0.88–0.93 µs    0.94–1.41 µs    1
//	  (a stack per CPU, later)        1.35 µs         1.17 µs         1
//	protoactor RoundRobinPool + chan  1.60 µs         1.03 µs         6
//	actor per request (spawn, stop)   3.26 µs         3.18 µs         20
//	goroutine per request + timer     1.53 µs         1.06 µs         6
//	goroutine per request, no timer   0.67 µs         0.49 µs         3
//
// The pool is chosen: it is the cheapest hand-off that also enforces a
// deadline, it allocates nothing per job, and it is the only option that
// keeps actor supervision (a worker restarted and counted per panic) and
// bounds concurrency. A round-robin router is as fast under contention but
// lets one stuck handler block every request routed behind it; an actor
// per request costs three times as much and 20 allocations. The first
// version handed jobs through one shared unbuffered channel that idle
// workers selected on (with their quit channel); the idle stack replaced
// it, saving the two-channel select and a third of the hand-off. One
// stack per CPU then replaced the single stack: measured the same day
// against it (4 interleaved runs of 2M jobs), the parallel hand-off went
// from 1.47 to 1.17 µs (median) and from 2.86 to 2.17 µs of CPU time per
// job, the serial one stayed within noise (1.37 and 1.35 µs); through
// netio over an in-memory listener (bench/httpbench, parallel) a request
// went from 5.5 to 4.9 µs. Running jobs on the workers' coroutines then
// halved the hand-off (the first two rows: six interleaved runs each,
// the same day). Over loopback the gain is smaller: `tova serve` of the
// hello program against the same binary with NoDirect, in interleaved
// rounds of 2 s, answered 2.8% more requests per second, both with the
// Go load generator of `tova bench http` (8 rounds; 1.8% less CPU time
// per request) and with wrk -t2 -c64 (12 rounds; the same CPU time per
// request). Under that load the hand-off still costs about 1.2 µs of CPU
// per request over running the handler on the connection's goroutine
// (netio.Config.Inline, 8 rounds): the coroutine switches, the pool's
// bookkeeping (some twenty atomic operations), and colder caches for
// the code around them.
//
// # Server state: one instance, one scheduler
//
// A named server is one VM instance (package vm) with its own copy of the
// program's module state; its handler workers run Tova code on threads of
// that instance. Server-level `var` state (`var todos = []`) and every
// object reachable from it is shared by all requests of the server, so
// the instance has a scheduler, vm.GIL: a thread holds it while it runs
// Tova code. This gives the model of the reference Tova (one event loop
// per server process) without its failure modes:
//
//   - No lost updates: a statement that writes server state
//     (`todos = [...todos, make_todo(t)]`, `counter += 1`,
//     `stats[k] = (stats[k] ?? 0) + 1`, `todos.push(t)`, `push(todos,
//     t)`) is atomic with
//     respect to every other request, whatever functions it calls: the
//     compiler brackets it (bytecode.ATOMIC; in a program with servers,
//     so is a statement that writes a field or an element and reads what
//     it writes or reads module state, as the value may be state reached
//     through a local, a parameter or a loop variable: `o = stats;
//     o.hits = o.hits + 1`; and an in-place sort with a key function),
//     the holder gives way, if
//     asked, just before it (once it has run for 50 slices, as at a
//     call), and inside it only at a blocking call (sleep, a query) or
//     once the statement has made 2^16 backward jumps and calls and
//     the holder has run for 1 s (as runaway code must): a slow clock
//     alone, in a process starved of CPU or a holder waiting for its
//     turn behind runaways, never cuts a statement making fewer. A
//     read-modify-
//     write spread over several statements (`c = count; ...; count = c +
//     1`) is atomic if nothing between them loops, blocks or runs for
//     100 ms: outside such statements the holder gives way at a loop
//     iteration after its slice, and at a call after 50 slices (100 ms),
//     so that deep recursion cannot keep the GIL for long either.
//   - Blocking builtins (sleep, database calls, outbound HTTP, job
//     enqueueing) release the GIL while they wait (vm.Thread.Blocking), so
//     I/O of many requests overlaps. Work that waits for no other thread
//     (hash_password, reading or replacing a whole file) releases it too
//     (vm.Thread.Working), but not inside a statement that writes server
//     state, which stays one step.
//   - Runaway code cannot starve the server: a thread that finds the GIL
//     taken asks the holder to yield, and the holder gives way at its next
//     backward jump once it has run for its slice (2 ms; see above for
//     calls and statements writing server state); waiting
//     turns first-in first-out after 1 ms. (Until its slice is over, the
//     holder looks at the clock every 32 jumps and calls, not at each:
//     two loops sharing the GIL take about twice as long as one.) Each
//     request's deadline cancels its thread through the same checks, so
//     a `loop {}` handler costs one slice per turn and ends at its
//     deadline with a 503. A builtin walking a range or a sequence
//     item by item (`sum(range(0, 10**15))`) polls as such a loop
//     does, every 4096 items (vm.Thread.Poll).
//   - A request whose deadline passes while it waits for the GIL (at its
//     start, or for its next turn) stops there: answered 503, it makes
//     no further change. Changes are never undone, though: a handler
//     stopped at its deadline, or failing, keeps what it changed before,
//     and one running past its deadline in a single statement (no loop
//     iteration or call left to stop it at) may finish its change just
//     as the 503 goes out.
//   - Routes whose whole chain (middleware, guards, handler, on_error)
//     can reach no shared mutable state run without the GIL, in parallel:
//     vm.Instance.Isolated proves it from the bytecode (no module slot
//     written, every slot read written only at initialisation and holding
//     an immutable value, a model (its rows are its database's; its
//     computed field defaults, which create runs, must be such functions
//     too) or such a function; a function made at run time,
//     as partial(f, obj), memoize(f) or once(f), holds what it wraps and
//     is not one). A data block's source that a `refresh` line reloads,
//     and the pipelines recomputed with it, are written at run time:
//     routes reading them take the GIL, and the refresh assigns them
//     holding it (vm.Thread.CallAtomic), so that they see one set.
//   - Code that runs long takes turns for the CPUs (vm/turns.go), so
//     that runaways running without the GIL cannot crowd out the rest
//     of the process: past its first 2 ms a thread runs only while it
//     holds one of GOMAXPROCS turns, given up every 2 ms while others
//     wait (first in, first out) and whenever it waits (a blocking
//     call, the GIL); it also lets Go run other goroutines every
//     millisecond, rather than at its next preemption (10-20 ms). Go
//     then has at most GOMAXPROCS long runners to schedule beside the
//     front end, the deadline sweeper and short requests, GIL holders
//     included, and a runaway whose deadline passes while it waits for
//     a turn stops at once. A GIL's holder may wait for a turn, but no
//     thread waits for a GIL holding a turn. With 200 `loop {}`
//     requests under wrk and a 1.5 s deadline, their 503s went out at
//     p99 1.73 s (6.3 s before) and health checks took 6-28 ms (about
//     1 s before); with 50 state-writing runaways on each of two
//     servers besides, health p99 17-26 ms (195-213 ms when GIL
//     holders took no turn).
//
// Separate named servers are separate instances with separate GILs: they
// share no state, as separately deployed processes would not, and run in
// parallel on different cores.
package actors
