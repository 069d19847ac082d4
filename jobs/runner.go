package jobs

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/rs/zerolog"

	"tova/actors"
	"tova/bytecode"
	"tova/internal/dberr"
	"tova/internal/logbuf"
	"tova/internal/sqlitefile"
	"tova/vm"
	"tova/vm/stdlib"
)

// Runner runs one server's background jobs, schedules and subscriptions:
// a River client working the server's own queues (jobs and deliveries on
// one, its schedules' ticks on another: see tickQueueName), and a
// supervised actor pool executing each job, tick and delivery as Tova
// code on the server's VM instance.
type Runner struct {
	// adoptAgain: jobs of a server the program no longer declares wait
	// for that server's process to be seen dead (see adoptJobs);
	// adoptedAt is when the heartbeat last looked (its goroutine's).
	adoptAgain atomic.Bool
	adoptedAt  time.Time

	name     string // server name ("" for the unnamed server)
	label    string // name for logs and actor paths
	queue    string
	clientID string
	host     string
	inst     *vm.Instance
	prog     *bytecode.Program
	set      settings
	callerTx func(*vm.Thread) (*sql.Tx, string, bool)
	args     func(vm.Value, []vm.Value) ([]vm.Value, error)
	reqID    func(*vm.Thread) string // Options.RequestID
	log      zerolog.Logger
	// leading is whether this process stored the schedules' last tick
	// (the queue's leader), for the log line of a change
	leading atomic.Bool
	repeats logRepeats // of warnRepeated's lines
	pool    *actors.Pool
	q       queue

	background  map[string]vm.Value
	subscribers map[string][]subscriber
	schedules   map[string]vm.Value

	ticks     []tickSpec // every schedule of the program (see tickLoop)
	tickQueue string     // where this server's ticks are stored

	stopOnce sync.Once
	stopped  chan struct{} // closed when Stop begins: no job starts
	// closed by Close, once the server's on_stop hooks ran: spawn_job
	// and publish fail from then on. Until then, a running job, a
	// request still being answered or an on_stop hook stores what it
	// spawns or publishes, for the next process to run.
	closeOnce sync.Once
	closed    chan struct{}
	hbDone    chan struct{}
	stopTicks context.CancelFunc
	tickers   sync.WaitGroup
}

// runnerKey is the vm.Instance service key of a server's Runner.
type runnerKey struct{}

// RunnerOf returns the Runner started for inst, or nil.
func RunnerOf(inst *vm.Instance) *Runner {
	r, _ := inst.Service(runnerKey{}).(*Runner)
	return r
}

// Start starts the jobs runtime of one server: it opens (and migrates)
// the jobs database, registers the server's subscriptions, hands back
// jobs that a dead process left running, and starts working the
// server's queue. Call it after the server's Init ran (the hooks and
// config blocks are read from inst's globals) and before the server
// takes requests; stop it with Stop. The Runner is also stored in inst,
// where spawn_job and publish find it.
func Start(ctx context.Context, inst *vm.Instance, srv *bytecode.Server, sys *actors.System, opts Options) (*Runner, error) {
	set, err := readSettings(inst, opts)
	if err != nil {
		return nil, err
	}
	label := srv.Name
	if label == "" {
		label = "server"
	}
	r := &Runner{
		name:        srv.Name,
		label:       label,
		queue:       queueName(srv.Name),
		tickQueue:   tickQueueName(srv.Name),
		host:        hostname(),
		inst:        inst,
		prog:        inst.Prog.Code,
		set:         set,
		callerTx:    opts.CallerTx,
		args:        opts.Args,
		reqID:       opts.RequestID,
		log:         opts.Logger.With().Str("server", label).Logger(),
		background:  map[string]vm.Value{},
		subscribers: map[string][]subscriber{},
		schedules:   map[string]vm.Value{},
		stopped:     make(chan struct{}),
		closed:      make(chan struct{}),
		hbDone:      make(chan struct{}),
	}
	r.clientID = clientID(r.queue, r.host)
	var topics []string
	for _, h := range srv.Hooks {
		fn := inst.Globals[h.Slot]
		switch h.Kind {
		case "background":
			r.background[h.Name] = fn
		case "subscribe":
			if len(r.subscribers[h.Arg]) == 0 {
				topics = append(topics, h.Arg)
			}
			r.subscribers[h.Arg] = append(r.subscribers[h.Arg], subscriber{fn: fn, name: h.Name})
		case "schedule":
			r.schedules[h.Name] = fn
		}
	}
	for _, subs := range r.subscribers {
		keySubscribers(subs)
	}
	if r.ticks, err = r.tickSpecs(time.Now()); err != nil {
		return nil, err
	}
	// Errors of the queue's database name it: a damaged or locked jobs
	// file is not to be mistaken for the program's own database.
	where := "jobs queue in PostgreSQL"
	if set.pgURL == "" {
		where = "jobs queue " + set.sqlitePath
		if set.fileFromBlock {
			where = "jobs.database: " + where // (serve says where the block is)
		}
	}
	r.q, err = openQueue(ctx, set, r)
	if err != nil {
		return nil, queueError(where, err)
	}
	fail := func(err error) (*Runner, error) {
		r.q.close()
		return nil, queueError(where, err)
	}
	if r.q.sharedTables() {
		r.log.Warn().Str("schema", set.pgProgram).Msg("jobs: the queue is in the tables an earlier release made in the database's search_path, which every program using this database shares (one program's leader does not store another's schedule ticks, and each takes the others' events): it stays there while they exist; once no job is pending in them, drop them (river_* and tova_* tables) and the program's own schema is used")
	}
	now := time.Now()
	self := clientRow{ID: r.clientID, Server: r.name, Host: r.host, PID: int64(os.Getpid()), SeenAt: now, DeadAfter: 5 * set.heartbeat}
	declared := r.declared()
	gone, err := r.q.register(ctx, self, topics, declared)
	if err != nil {
		return fail(fmt.Errorf("registering: %w", err))
	}
	for _, name := range gone {
		if name == "" {
			name = "server" // (the unnamed one, as its log lines say)
		}
		r.log.Warn().Str("subscriber_server", name).
			Msg("jobs: the subscriptions of a server this program no longer declares are forgotten: publish stores nothing more for it (what it stored before stays queued; tova jobs lists it)")
	}
	r.adoptJobs(ctx, declared, now)
	// A worker for each schedule besides the jobs' own: a tick never
	// waits for one (see tickQueueName).
	r.pool, err = sys.StartPool(actors.PoolOptions{Name: actors.ServerActorName(r.name, "jobs"), Min: min(2, set.workers), Max: set.workers + len(r.schedules), MaxQueue: -1})
	if err != nil {
		r.q.close()
		return nil, err
	}
	r.rescueDead(ctx)
	// A leader that died on this host would hold the leadership, and the
	// schedules' ticks, until its lease expires; the cron ticks that fell
	// due while it held it (a process killed and restarted over a tick)
	// are stored now, late.
	r.ticksOfDeadLeader(ctx)
	r.releaseDeadLeader(ctx)
	// With no leader now, this Runner is elected once it starts, and the
	// schedules tick on the rhythm of its start; else it may take over
	// later.
	leader, err := r.q.leader(ctx)
	if err != nil {
		r.pool.Stop(ctx)
		return fail(fmt.Errorf("reading the queue's leader: %w", err))
	}
	// The queue lives until Stop, whatever becomes of the caller's ctx.
	if err := r.q.start(context.WithoutCancel(ctx)); err != nil {
		r.pool.Stop(ctx)
		return fail(fmt.Errorf("starting the queue: %w", err))
	}
	go r.heartbeatLoop()
	tctx, stopTicks := context.WithCancel(context.Background())
	r.stopTicks = stopTicks
	for _, tk := range r.ticks {
		r.tickers.Add(1)
		go r.tickLoop(tctx, tk, leader == "")
	}
	inst.SetService(runnerKey{}, r)
	return r, nil
}

// queueError names the queue's database (where) in err, and says what a
// busy SQLite file means.
func queueError(where string, err error) error {
	msg := err.Error()
	if strings.Contains(msg, "SQLITE_BUSY") || strings.Contains(msg, "database is locked") {
		return fmt.Errorf("%s: %w (another process held the file locked for 10 s)", where, err)
	}
	var pathErr *fs.PathError
	if sqlitefile.IsCannotOpen(err) || errors.As(err, &pathErr) {
		// As the store says it for a db block's file, with the path in
		// full (a relative one is the program's directory's, not the
		// working directory's), and without the driver's text for
		// SQLITE_CANTOPEN, "out of memory (14)".
		file := where[strings.Index(where, "jobs queue ")+len("jobs queue "):]
		if abs, aerr := filepath.Abs(file); aerr == nil && abs != file {
			where += " (" + abs + ")"
		}
		if pathErr != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		return fmt.Errorf("%s: %s", where, sqlitefile.CannotOpen)
	}
	return fmt.Errorf("%s: %w", where, err)
}

// Needed reports whether a server needs a jobs runtime: it declares a
// background fn, a schedule or a subscription, or the program calls
// spawn_job or publish somewhere. Other servers need not open the jobs
// database at all.
func Needed(prog *bytecode.Program, srv *bytecode.Server) bool {
	for _, h := range srv.Hooks {
		switch h.Kind {
		case "background", "schedule", "subscribe":
			return true
		}
	}
	for _, b := range prog.Builtins {
		if b == "spawn_job" || b == "publish" {
			return true
		}
	}
	return false
}

// openQueue opens the configured database and makes the River client.
func openQueue(ctx context.Context, set settings, r *Runner) (queue, error) {
	if set.pgURL != "" {
		db, err := openPostgres(ctx, set.pgURL, set.workers+len(r.schedules), set.pgProgram)
		if err != nil {
			return nil, err
		}
		return finishQueue(ctx, db, r)
	}
	db, err := openSQLite(set.sqlitePath, set.listenPoll)
	if err != nil {
		return nil, err
	}
	return finishQueue(ctx, db, r)
}

func finishQueue[TTx any](ctx context.Context, db *database[TTx], r *Runner) (queue, error) {
	if r != nil {
		if err := db.migrate(ctx); err != nil {
			db.close()
			return nil, err
		}
	}
	e, err := newEngine(db, r)
	if err != nil {
		db.close()
		return nil, err
	}
	return e, nil
}

// tickSpec is one schedule: when it ticks, and the job a tick stores.
type tickSpec struct {
	sched    Schedule
	interval bool // an interval, not a cron expression
	args     scheduleArgs
	opts     *river.InsertOpts
}

// tickSpecs reads the schedules of every server of the program: the
// leader, which stores every tick, may be any process sharing the
// database. A tick goes to the tick queue of the schedule's server; it is
// unique while one is queued or running, so that a run still going
// when the next tick comes makes the tick skip, not pile up. An
// interval's ticks count from start, when the Runner started.
func (r *Runner) tickSpecs(start time.Time) ([]tickSpec, error) {
	var out []tickSpec
	for _, srv := range r.prog.Servers {
		for _, h := range srv.Hooks {
			if h.Kind != "schedule" {
				continue
			}
			tk := tickSpec{
				args: scheduleArgs{Server: srv.Name, Schedule: h.Name},
				opts: &river.InsertOpts{
					Queue:       tickQueueName(srv.Name),
					MaxAttempts: 1, // a failing run is logged; the next tick runs anyway
					UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
						rivertype.JobStateAvailable, rivertype.JobStatePending,
						rivertype.JobStateRunning, rivertype.JobStateScheduled,
					}},
				},
			}
			if r.set.tickEvery > 0 {
				tk.sched, tk.interval = Interval(r.set.tickEvery, start), true
			} else {
				s, err := ParseSchedule(h.Arg, start)
				if err != nil {
					return nil, fmt.Errorf("%d:%d: schedule %q: %v", h.Pos.Line, h.Pos.Col, h.Name, err)
				}
				_, tk.interval = s.(interval)
				tk.sched = s
			}
			out = append(out, tk)
		}
	}
	return out, nil
}

// tickLoop stores the ticks of one schedule, until Stop. Every Runner
// runs one per schedule of the program, and stores a tick when its
// queue client is the leader River elected among all the processes
// sharing the database: so a tick is stored once however many replicas
// run. (River's own periodic jobs start on the leader after a random
// pause of up to a second for each of its maintenance services, in
// turn, several seconds in all: an interval's first tick came that
// late, and a cron tick falling in the pause was lost.)
//
// led says whether the Runner led at the last tick: at the start,
// whether no other process led then. A Runner that takes the
// leadership over from another process leaves out the first tick of an
// interval that falls due then: the last leader's ticks kept the rhythm
// of its own start, and so the next one comes at least an interval
// after them.
func (r *Runner) tickLoop(ctx context.Context, tk tickSpec, led bool) {
	defer r.tickers.Done()
	next := tk.sched.Next(time.Now())
	for {
		timer := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		sctx, cancel := context.WithTimeout(ctx, storeTimeout)
		id, err := r.q.leader(sctx)
		if err == nil {
			leader := id == r.clientID
			if r.leading.Swap(leader) != leader {
				if leader {
					r.log.Info().Str("host", r.host).Msg("jobs: this process now stores the schedules' ticks (the queue's leader)")
				} else {
					r.log.Info().Str("leader", id).Msg("jobs: another process now stores the schedules' ticks (the queue's leader)")
				}
			}
			if leader && (led || !tk.interval) {
				_, err = r.q.insert(sctx, tk.args, tk.opts)
			}
			if !leader && !tk.interval {
				r.tickers.Add(1)
				go r.watchTick(ctx, tk, next, id)
			}
			led = leader
		}
		cancel()
		switch {
		case err == nil || ctx.Err() != nil:
		case tk.interval:
			r.log.Warn().Err(err).Str("schedule", tk.args.Schedule).Msg("jobs: storing a tick failed; skipped (an interval's next tick comes soon)")
		default:
			r.tickers.Add(1)
			go r.retryTick(ctx, tk, next, err)
		}
		if now := time.Now(); next.Before(now) {
			next = now // (after a pause of the process, the ticks it missed are skipped)
		}
		next = tk.sched.Next(next)
	}
}

// watchTick makes sure that the tick of cron schedule tk due at due,
// which leader (River's elected leader then, "" for none) was to store,
// is not lost with a leader that died: a process killed (on another
// host, or on this one before a Runner here noticed) keeps its
// leadership until its lease runs out, some 20 s, and a cron tick
// falling due meanwhile was stored by nobody. It waits until the
// leader has heartbeat after the tick (it was alive, so it stored it)
// or is presumed dead (no heartbeat for DeadAfter, or its process gone
// on this host); then it stores the tick, late, unless a process has
// stored it. Several replicas may do so at once: a tick is unique while
// one is queued or running.
func (r *Runner) watchTick(ctx context.Context, tk tickSpec, due time.Time, leader string) {
	defer r.tickers.Done()
	every := r.set.heartbeat
	giveUp := time.Now().Add(time.Minute + 10*every)
	// With no leader at the tick nobody stored it: look at once.
	for wait := leader != ""; time.Now().Before(giveUp); wait = true {
		if wait {
			select {
			case <-ctx.Done():
				return
			case <-time.After(every):
			}
		}
		cctx, cancel := context.WithTimeout(ctx, storeTimeout)
		clients, err := r.q.clients(cctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			continue
		}
		if c, ok := clients[leader]; leader != "" && ok && !r.goneHere(c) {
			if c.SeenAt.After(due) {
				return // alive after the tick: it stored it
			}
			if time.Since(c.SeenAt) <= c.DeadAfter {
				continue // not heard of since before the tick: wait
			}
		}
		r.storeMissedTick(ctx, tk, due)
		return
	}
}

// ticksOfDeadLeader stores, late, the last tick of each cron schedule
// that fell due after the queue's leader, a process gone on this host,
// last heartbeat and before its lease ended (or now): no Runner was
// watching it (the program runs in this process alone), and the tick
// would be lost. As watchTick does for a Runner that was watching.
func (r *Runner) ticksOfDeadLeader(ctx context.Context) {
	id, expires, err := r.q.lease(ctx)
	if err != nil || id == "" || id == r.clientID {
		return
	}
	clients, err := r.q.clients(ctx)
	if err != nil {
		return
	}
	c, ok := clients[id]
	if !ok || !r.goneHere(c) {
		return // alive, or elsewhere: its Runners' watchTick look after it
	}
	until := time.Now()
	if expires.Before(until) {
		until = expires
	}
	for _, tk := range r.ticks {
		if tk.interval {
			continue
		}
		var due time.Time
		for next := tk.sched.Next(c.SeenAt); !next.IsZero() && !next.After(until); next = tk.sched.Next(next) {
			due = next
		}
		if !due.IsZero() {
			r.storeMissedTick(ctx, tk, due)
		}
	}
}

// storeMissedTick stores the tick of tk due at due unless one was
// stored since.
func (r *Runner) storeMissedTick(ctx context.Context, tk tickSpec, due time.Time) {
	stored, err := r.storeLateTick(ctx, tk, due)
	switch {
	case err != nil && ctx.Err() == nil:
		r.log.Warn().Err(err).Str("schedule", tk.args.Schedule).Msg("jobs: storing a tick a dead leader missed failed")
	case stored:
		r.log.Warn().Str("schedule", tk.args.Schedule).Time("due", due).Msg("jobs: the queue's leader stopped or died before storing a tick; stored it late")
	}
}

// retryTick stores, late, the tick of cron schedule tk due at due that
// could not be stored then (failed: the database did not answer, for a
// failover or a restart), trying again a second later, then twice as
// long each time up to maxTickRetry, until the tick is stored, here or
// by another process, or the schedule's next tick falls due and takes
// over, as the ticks a paused process missed collapse into the next.
// Every replica whose tick failed retries it, and it still runs once:
// storeLateTick looks for a tick stored since, and a tick is unique
// while one is queued or running. It logs when it starts and when it
// ends, not at each try.
func (r *Runner) retryTick(ctx context.Context, tk tickSpec, due time.Time, failed error) {
	defer r.tickers.Done()
	log := r.log.With().Str("schedule", tk.args.Schedule).Time("due", due).Logger()
	log.Warn().Err(failed).Msg("jobs: storing a tick failed; retrying until the database answers or the next tick is due")
	next := tk.sched.Next(due)
	for wait := time.Second; ; wait = min(2*wait, maxTickRetry) {
		if !next.IsZero() && !time.Now().Add(wait).Before(next) {
			log.Warn().Err(failed).Msg("jobs: a tick could not be stored before the next one fell due; skipped")
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		stored, err := r.storeLateTick(ctx, tk, due)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			if stored {
				log.Warn().Msg("jobs: the database answered again; stored the tick late")
			}
			return
		}
		failed = err
	}
}

// maxTickRetry is the longest wait between two tries of retryTick.
const maxTickRetry = 30 * time.Second

// storeLateTick stores the tick of tk due at due unless one was stored
// since; stored says whether this call stored it.
func (r *Runner) storeLateTick(ctx context.Context, tk tickSpec, due time.Time) (stored bool, err error) {
	sctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	// (a tick an earlier release stored is on the server's jobs queue)
	recent, err := r.q.list(sctx, river.NewJobListParams().Kinds(kindSchedule).Queues(tk.opts.Queue, queueName(tk.args.Server)).
		OrderBy(river.JobListOrderByID, river.SortOrderDesc).First(100))
	if err != nil {
		return false, fmt.Errorf("checking for a tick stored since: %w", err)
	}
	for _, j := range recent {
		var a scheduleArgs
		if json.Unmarshal(j.EncodedArgs, &a) == nil && a.Server == tk.args.Server && a.Schedule == tk.args.Schedule &&
			(!j.CreatedAt.Before(due.Add(-time.Second)) || a.Due == due.UnixMilli()) {
			return false, nil // stored
		}
	}
	if lateTickListed != nil {
		lateTickListed()
	}
	// Replicas that each found it missing insert it at once: named by
	// when it was due, and unique in every state, it is stored once (a
	// first one that already ran no longer kept a second out).
	args := tk.args
	args.Due = due.UnixMilli()
	opts := *tk.opts
	opts.UniqueOpts.ByState = append(slices.Clip(opts.UniqueOpts.ByState), rivertype.JobStateCompleted, rivertype.JobStateCancelled,
		rivertype.JobStateDiscarded, rivertype.JobStateRetryable)
	res, err := r.q.insert(sctx, args, &opts)
	if err != nil {
		return false, err
	}
	// (a replica that stored it meanwhile makes it a duplicate)
	return res == nil || !res.UniqueSkippedAsDuplicate, nil
}

// lateTickListed, if set, is called by storeLateTick between its look
// for a stored tick and its insert (a test's way to let another
// replica's tick run meanwhile).
var lateTickListed func()

// Stop stops working the queue: running jobs get until ctx ends to
// finish, then they are cancelled (and retried by the next process that
// works the queue). Jobs still queued stay in the database, which stays
// open for spawn_job and publish, whose jobs the next process runs,
// until Close.
func (r *Runner) Stop(ctx context.Context) error {
	var err error
	r.stopOnce.Do(func() {
		close(r.stopped)
		r.stopTicks()
		r.tickers.Wait()
		err = r.q.stop(ctx)
		<-r.hbDone
		c2, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if e := r.q.unregister(c2, r.clientID); e != nil && err == nil {
			err = e
		}
		if e := r.pool.Stop(c2); e != nil && err == nil {
			err = e
		}
	})
	return err
}

// Close closes the queue's database, after Stop (which it calls if it
// was not called): spawn_job and publish fail from then on. A server
// closes it once its on_stop hooks ran, which may hand work over to the
// next process that way.
func (r *Runner) Close(ctx context.Context) error {
	err := r.Stop(ctx)
	r.closeOnce.Do(func() {
		close(r.closed)
		r.q.close()
	})
	return err
}

// heartbeatLoop records that this runner is alive and hands back the
// jobs of dead processes, until Stop.
func (r *Runner) heartbeatLoop() {
	defer close(r.hbDone)
	t := time.NewTicker(r.set.heartbeat)
	defer t.Stop()
	for {
		select {
		case <-r.stopped:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), r.set.heartbeat*2)
			if err := r.q.heartbeat(ctx, r.clientID, time.Now()); err != nil {
				r.warnRepeated("jobs: heartbeat failed", err)
			}
			if r.adoptAgain.Load() && time.Since(r.adoptedAt) >= 30*r.set.heartbeat { // (a minute, at the default heartbeat)
				r.adoptJobs(ctx, r.declared(), time.Now())
			}
			r.rescueDead(ctx)
			r.releaseDeadLeader(ctx)
			cancel()
		}
	}
}

// warnRepeated logs msg with err, once per logRepeatEvery while it
// repeats (the queue's database down: every heartbeat), the next line
// saying how many were left out.
func (r *Runner) warnRepeated(msg string, err error) {
	ok, skipped := r.repeats.pass(msg, time.Now())
	if !ok {
		return
	}
	ev := r.log.Warn().Err(err)
	if skipped > 0 {
		ev = ev.Int("repeated", skipped)
	}
	ev.Msg(msg)
}

// releaseDeadLeader ends the queue leadership of a client on this host
// whose process is gone (killed, crashed): the leader alone enqueues
// schedule ticks, and its lease would otherwise keep them from firing
// until it expired (about 20 s after a kill -9 and a restart).
func (r *Runner) releaseDeadLeader(ctx context.Context) {
	clients, err := r.q.clients(ctx)
	if err != nil {
		return
	}
	for id, c := range clients {
		if id != r.clientID && r.goneHere(c) {
			if err := r.q.releaseLeader(ctx, id); err != nil {
				r.log.Warn().Err(err).Msg("jobs: releasing a dead process's leadership")
			}
		}
	}
}

// goneHere reports whether client c ran on this host (in this process
// id namespace: see hostname) in a process that is gone: no process has
// its id, or this one has it but is not that process (its id was given
// again).
func (r *Runner) goneHere(c clientRow) bool {
	return c.Host == r.host && (!processAlive(int(c.PID)) || int(c.PID) == os.Getpid() && !ofThisProcess(c.ID))
}

// adoptJobs takes over the pending jobs of a server the program no
// longer declares and no process runs (renamed in a new version: the
// guide's `server { }` becoming `server "api" { }`) whose background fn
// this server has, and no other server of the program: they stayed
// queued for a server that would never run again. Other jobs of such
// a server (a delivery, a tick, a fn no server or several have) are
// warned of, once a process, as tova jobs lists them.
func (r *Runner) adoptJobs(ctx context.Context, declared []string, now time.Time) {
	owner := map[string]string{}
	for name, n := range backgroundOwners(r.prog) {
		if len(n) == 1 {
			owner[name] = n[0] // (of several, which would be a guess)
		}
	}
	label := func(name string) string { return cmp.Or(name, "server") }
	r.adoptedAt = now
	moved, left, forgot, waiting, err := r.q.adopt(ctx, r.name, owner, declared, now, r.goneHere)
	if err != nil {
		r.log.Warn().Err(err).Msg("jobs: taking over the jobs of a server this program no longer declares")
		return
	}
	// Looked at again a minute on, while such a server's process may
	// still be running (a rolling deploy) or was not yet seen to have
	// stopped (killed on another host): what it leaves when it stops is
	// taken over then.
	if waiting && !r.adoptAgain.Load() {
		r.log.Info().Msg("jobs: a server this program no longer declares still runs (another version's process): its jobs are taken over once it stops")
	}
	r.adoptAgain.Store(waiting)
	for _, name := range forgot {
		r.log.Warn().Str("subscriber_server", label(name)).
			Msg("jobs: the subscriptions of a server this program no longer declares are forgotten: publish stores nothing more for it (what it stored before stays queued; tova jobs lists it)")
	}
	for from, n := range moved {
		r.log.Info().Str("from_server", label(from)).Int("jobs", n).
			Msg("jobs: the pending jobs of a server this program no longer declares (renamed?) are taken over by this server, which has their background fns")
	}
	for from, n := range left {
		if _, said := orphansWarned.LoadOrStore(r.set.pgURL+r.set.pgProgram+"\x00"+r.set.sqlitePath+"\x00"+from, true); said {
			continue
		}
		r.log.Warn().Str("from_server", label(from)).Int("jobs", n).
			Msg("jobs: jobs of a server this program no longer declares, and no process runs, stay queued: no server of the program takes them (a delivery, a schedule's tick, or a background fn no server has, or several do); tova jobs lists them")
	}
}

// declared are the names of the program's servers.
func (r *Runner) declared() []string {
	declared := make([]string, len(r.prog.Servers))
	for i, s := range r.prog.Servers {
		declared[i] = s.Name
	}
	return declared
}

// orphansWarned holds the queues and servers whose jobs no server
// takes that a Runner of this process has warned of.
var orphansWarned sync.Map

// backgroundOwners are the servers of prog that declare each background
// fn, by its name.
func backgroundOwners(prog *bytecode.Program) map[string][]string {
	owners := map[string][]string{}
	for _, srv := range prog.Servers {
		for _, h := range srv.Hooks {
			if h.Kind == "background" && !slices.Contains(owners[h.Name], srv.Name) {
				owners[h.Name] = append(owners[h.Name], srv.Name)
			}
		}
	}
	return owners
}

// rescueDead hands back to the queue the jobs of this server's queues
// that are marked running by a client that is gone: no longer
// registered, silent for five of its heartbeats, or on this host with
// its process gone. They run again (at-least-once).
func (r *Runner) rescueDead(ctx context.Context) {
	running, err := r.q.list(ctx, river.NewJobListParams().Queues(r.queue, r.tickQueue).States(rivertype.JobStateRunning).First(10000))
	if err != nil || len(running) == 0 {
		if err != nil {
			r.warnRepeated("jobs: listing running jobs", err)
		}
		return
	}
	var others []*rivertype.JobRow
	for _, j := range running {
		if n := len(j.AttemptedBy); n > 0 && j.AttemptedBy[n-1] != r.clientID {
			others = append(others, j)
		}
	}
	if len(others) == 0 {
		return
	}
	clients, err := r.q.clients(ctx)
	if err != nil {
		r.log.Warn().Err(err).Msg("jobs: reading clients")
		return
	}
	now := time.Now()
	var dead []*rivertype.JobRow
	for _, j := range others {
		c, ok := clients[j.AttemptedBy[len(j.AttemptedBy)-1]]
		if !ok || now.Sub(c.SeenAt) > c.DeadAfter || r.goneHere(c) {
			dead = append(dead, j)
		}
	}
	if len(dead) == 0 {
		return
	}
	if err := r.q.rescue(ctx, dead, "the process running this job stopped, or stopped answering (killed, crashed or paused)"); err != nil {
		r.log.Warn().Err(err).Msg("jobs: rescuing jobs of a dead process")
		return
	}
	last := 0
	for _, j := range dead {
		if j.Attempt >= j.MaxAttempts {
			last++
		}
	}
	if n := len(dead) - last; n > 0 {
		r.log.Warn().Int("jobs", n).Msg("jobs: handed back jobs left running by a dead process")
	}
	if last > 0 {
		r.log.Warn().Int("jobs", last).Msg("jobs: discarded jobs a dead process was running on their last attempt")
	}
}

// ---------------------------------------------------------------- running jobs

// jobInfo is what job_id() and job_attempt() read from the thread's
// context, and RequestOf.
type jobInfo struct {
	id        int64
	attempt   int
	requestID string
}

type jobInfoKey struct{}

// RequestOf is the id of the request that spawned the job, or published
// the event, that code running with ctx runs for: "" outside a job, and
// in one stored outside a request (on_start, a schedule) or before
// jobs kept it. A call to another server from the job sends it as its
// X-Request-ID.
func RequestOf(ctx context.Context) string {
	if info, ok := ctx.Value(jobInfoKey{}).(*jobInfo); ok {
		return info.requestID
	}
	return ""
}

// requestOf is the request id a job or an event stored by code on t
// keeps: that of the request t serves (Options.RequestID), else of the
// job t runs in, so that the work a request starts, and the work that
// starts in turn, is traced to it.
func (r *Runner) requestOf(t *vm.Thread) string {
	if t == nil {
		return ""
	}
	if r.reqID != nil {
		if id := r.reqID(t); id != "" {
			return id
		}
	}
	return RequestOf(t.Context())
}

// withRequest adds a job's request id to its log line, when it has one.
func withRequest(ev *zerolog.Event, requestID string) *zerolog.Event {
	if requestID == "" {
		return ev
	}
	return ev.Str("request_id", requestID)
}

func (r *Runner) runJob(ctx context.Context, row *rivertype.JobRow, a *jobArgs) error {
	fn, ok := r.background[a.Fn]
	if !ok {
		if owners := backgroundOwners(r.prog)[a.Fn]; len(owners) == 1 && !a.Handed {
			// The fn moved to another server of the program (a new
			// version): that server runs the job. (It waited here for
			// a process of this server that had it, then was
			// discarded.)
			moved := *a
			moved.Server, moved.Handed = owners[0], true
			if _, err := r.q.insert(ctx, moved, r.insertOpts(queueName(owners[0]))); err != nil {
				return err // (tried again, as a failed attempt)
			}
			withRequest(r.log.Info().Str("in", "job "+a.Fn).Int64("job_id", row.ID).Str("to_server", cmp.Or(owners[0], "server")), a.RequestID).
				Msg("jobs: a job of a background fn this server no longer has is handed to the server of the program that has it")
			return nil
		}
		if time.Since(row.CreatedAt) < ForeignJobPatience {
			// Another version of the program has the fn: its turn.
			withRequest(r.log.Warn().Str("in", "job "+a.Fn).Int64("job_id", row.ID), a.RequestID).
				Msg("jobs: a job of a background fn this server does not have; handed back to the queue for a process that has it")
			return river.JobSnooze(r.set.foreignRetry)
		}
		return r.fail(row, "job "+a.Fn, a.RequestID, fmt.Errorf("no background fn named %q in this server", a.Fn))
	}
	args, err := decodeArgs(json.RawMessage(a.Args))
	if err == nil && r.args != nil {
		if args, err = r.args(fn, args); err != nil {
			return r.failFinal(row, "job "+a.Fn, a.RequestID, err)
		}
	}
	if err != nil {
		return r.fail(row, "job "+a.Fn, a.RequestID, err)
	}
	return r.execute(ctx, row, "job "+a.Fn, a.RequestID, fn, args)
}

func (r *Runner) runEvent(ctx context.Context, row *rivertype.JobRow, a *eventArgs) error {
	subs := r.subscribers[a.Topic]
	where := "subscribe " + a.Topic
	if len(subs) == 0 {
		// The program no longer subscribes: nothing to deliver.
		withRequest(r.log.Warn().Str("topic", a.Topic).Int64("job_id", row.ID), a.RequestID).Msg("jobs: event for a topic this server does not subscribe to; dropped")
		return &dropped{"dropped: this server does not subscribe to " + a.Topic}
	}
	payload, err := stdlib.ParseJSON(a.Payload)
	if err != nil {
		return r.fail(row, where, a.RequestID, err)
	}
	if a.Sub != nil {
		s, ok := pickSubscriber(subs, a)
		if !ok {
			msg := "jobs: event for a subscriber this server no longer has; dropped"
			if strings.HasPrefix(a.Key, "#") {
				msg = "jobs: event for an unnamed subscriber, and the topic's unnamed subscribers changed in number: which one it was for is not known; dropped (a subscriber given a name keeps its deliveries across such changes)"
			}
			withRequest(r.log.Warn().Str("topic", a.Topic).Str("subscriber", a.Key).Int64("job_id", row.ID), a.RequestID).Msg(msg)
			why := "dropped: the subscriber " + strings.TrimPrefix(a.Key, "fn:") + " of " + a.Topic + " is no longer in this server"
			if strings.HasPrefix(a.Key, "#") {
				why = "dropped: the unnamed subscribers of " + a.Topic + " changed in number, so which one it was for (" + a.Key + ") is not known"
			}
			return &dropped{why}
		}
		subs = []subscriber{s}
	}
	for _, s := range subs {
		fn := s.fn
		var args []vm.Value
		if fn.Kind() != vm.KFunc || len(fn.AsClosure().ParamNames()) > 0 {
			args = []vm.Value{payload}
		}
		in := where
		if s.name != "" {
			in += " fn " + s.name // which of the topic's subscribers failed
		}
		if r.args != nil && args != nil {
			if args, err = r.args(fn, args); err != nil {
				return r.failFinal(row, in, a.RequestID, err)
			}
		}
		if err := r.execute(ctx, row, in, a.RequestID, fn, args); err != nil {
			return err
		}
	}
	return nil
}

// subscriber is one subscribe block of a topic, and its key: "fn:" and
// its name (the compiler refuses two of one name for a topic), or for an
// unnamed one, "#i/n": the i-th of the topic's n unnamed subscribers, in
// declaration order, which lines moved by an edit do not change.
type subscriber struct {
	fn   vm.Value
	name string
	key  string
}

// keySubscribers sets the keys of a topic's subscribers.
func keySubscribers(subs []subscriber) {
	unnamed := 0
	for _, s := range subs {
		if s.name == "" {
			unnamed++
		}
	}
	i := 0
	for j := range subs {
		if subs[j].name != "" {
			subs[j].key = "fn:" + subs[j].name
			continue
		}
		subs[j].key = fmt.Sprintf("#%d/%d", i, unnamed)
		i++
	}
}

// pickSubscriber finds the subscriber a delivery split from an event is
// for, among those of the program running now, which may not be the one
// that split it (a deploy in between): the one of its key, that is, of
// its name, or for an unnamed one, in its place among the topic's
// unnamed subscribers while they are as many as then. A delivery of an
// earlier version, without a key, goes by its place among all.
func pickSubscriber(subs []subscriber, a *eventArgs) (subscriber, bool) {
	if a.Key != "" {
		for _, s := range subs {
			if s.key == a.Key {
				return s, true
			}
		}
		return subscriber{}, false
	}
	if i := *a.Sub; i >= 0 && i < len(subs) {
		return subs[i], true
	}
	return subscriber{}, false
}

// peersAlive reports whether another process runs this server on the
// queue (seen within its heartbeat allowance): one that may have what
// this one lacks (another version's schedule).
func (r *Runner) peersAlive(ctx context.Context) bool {
	clients, err := r.q.clients(ctx)
	if err != nil {
		return true // (not known: as if another did)
	}
	for id, c := range clients {
		if id != r.clientID && c.Server == r.name && time.Since(c.SeenAt) < c.DeadAfter {
			return true
		}
	}
	return false
}

// foreignTickPatience is how long after it was stored a tick of a
// schedule the running server does not have is handed back for one
// that has it; then it is dropped (the next tick is due by then).
const foreignTickPatience = time.Minute

func (r *Runner) runSchedule(ctx context.Context, row *rivertype.JobRow, a *scheduleArgs) error {
	fn, ok := r.schedules[a.Schedule]
	if !ok {
		if time.Since(row.CreatedAt) < foreignTickPatience && r.peersAlive(ctx) {
			// Another version of the program has the schedule (a
			// rolling deploy added it): its turn, soon, as a tick is
			// due now. (Said once a tick, not at each hand-back.)
			var md struct {
				Snoozes int `json:"snoozes"`
			}
			_ = json.Unmarshal(row.Metadata, &md)
			ev := r.log.Debug()
			if md.Snoozes == 0 {
				ev = r.log.Warn()
			}
			ev.Str("schedule", a.Schedule).Int64("job_id", row.ID).
				Msg("jobs: tick for a schedule this server does not have; handed back to the queue for a process that has it")
			return river.JobSnooze(min(r.set.foreignRetry, time.Second))
		}
		r.log.Warn().Str("schedule", a.Schedule).Msg("jobs: tick for a schedule this server does not have; dropped")
		return nil
	}
	return r.execute(ctx, row, "schedule "+a.Schedule, "", fn, nil)
}

// execute runs fn(args) as Tova code on the server's instance, in a
// worker of the supervised pool, bounded by the timeout. A thrown error,
// a runtime error or a returned Err value fails the attempt. requestID
// is the job's (see RequestOf): "" for a schedule's tick.
func (r *Runner) execute(ctx context.Context, row *rivertype.JobRow, where, requestID string, fn vm.Value, args []vm.Value) error {
	info := &jobInfo{id: row.ID, attempt: row.Attempt, requestID: requestID}
	stoppedAt := make(chan error, 1) // the thread's error, for a timeout's line
	deadline := time.Now().Add(r.set.timeout)
	_, err := r.pool.Do(&actors.Job{}, deadline, actors.RunnerFunc(func(jctx context.Context) (any, error) {
		tctx, cancel := context.WithCancel(context.WithValue(jctx, jobInfoKey{}, info))
		defer cancel()
		defer context.AfterFunc(ctx, cancel)()
		job, _ := jctx.(*actors.Job) // the pool's job (see jobContext)
		th := r.inst.NewThread(jobContext{tctx, job})
		th.Enter()
		v, err := th.Call(fn, args...)
		returned, _ := th.ReturnedAt()
		th.Leave()
		th.Release()
		if err != nil {
			stoppedAt <- err
		}
		if err == nil {
			err = returnedErr(fn, v, returned)
		}
		return nil, err
	}))
	if err != nil {
		if r.interrupted(ctx, err) {
			// Stopping the server is not the job's failure: it goes back
			// to the queue as it was, its attempt not spent, and runs
			// again when a runner works the queue (at least once).
			withRequest(r.log.Warn().Str("in", where).Int64("job_id", row.ID).Int("attempt", row.Attempt), requestID).
				Msg("jobs: interrupted as the server stopped; handed back to the queue")
			return river.JobSnooze(0)
		}
		if errors.Is(err, actors.ErrTimeout) {
			// The job's code stops at its next check: where it was then
			// goes with the failure, if it tells in time.
			to := &timedOut{after: r.set.timeout}
			select {
			case e := <-stoppedAt:
				errors.As(e, &to.at)
			case <-time.After(time.Second):
			}
			err = to
		} else if vm.IsCancelled(err) && !time.Now().Before(deadline) {
			// The code saw the deadline before the pool did: the same
			// timeout ("execution cancelled: context deadline exceeded"
			// said it in Go's words, one attempt in three).
			to := &timedOut{after: r.set.timeout}
			errors.As(err, &to.at)
			err = to
		} else if errors.Is(err, actors.ErrMemory) {
			// Stopped by the memory guard: where its code was goes with
			// the failure, as a timeout's does.
			me := &vm.Error{Kind: "MemoryLimit", Msg: "the process passed its memory limit while the job ran, and it was the running code due first: it was stopped", Cause: err}
			select {
			case e := <-stoppedAt:
				var at *vm.Error
				if errors.As(e, &at) {
					me.Stack = at.Stack
				}
			case <-time.After(time.Second):
			}
			err = me
		}
		return r.fail(row, where, requestID, err)
	}
	return nil
}

// interrupted reports whether a job's error comes from the runner
// stopping (its context cancelled, or the pool stopped under it).
func (r *Runner) interrupted(ctx context.Context, err error) bool {
	select {
	case <-r.stopped:
	default:
		return false
	}
	return ctx.Err() != nil || errors.Is(err, actors.ErrPoolStopped) || errors.Is(err, context.Canceled) ||
		errors.Is(err, errStopped) || vm.IsCancelled(err)
}

// jobContext is a job thread's context: the pool job's, with the job's
// info and cancellation added, and the thread's notice that it is about
// to wait passed on to the pool job (vm.BlockNotifier), so that a job
// that waits does so on its worker's goroutine and its caller stops
// waiting at the deadline.
type jobContext struct {
	context.Context
	job *actors.Job
}

func (c jobContext) WillBlock() {
	if c.job != nil {
		c.job.WillBlock()
	}
}

func (c jobContext) Waiting(on bool) {
	if c.job != nil {
		c.job.Waiting(on)
	}
}

// fail logs a failed attempt (Decision 11: with the id of the request
// that stored the job, if one did) and returns the error River records
// on the job: the Tova error's kind, message and stack trace.
func (r *Runner) fail(row *rivertype.JobRow, where, requestID string, err error) error {
	ev := r.log.Error().Str("in", where).Int64("job_id", row.ID)
	ev = withRequest(ev, requestID).
		Int("attempt", row.Attempt).Int("max_attempts", row.MaxAttempts).
		Bool("will_retry", row.Attempt < row.MaxAttempts)
	msg := err.Error()
	var ve *vm.Error
	var to *timedOut
	var re *errReturned
	switch {
	case errors.As(err, &re):
		if re.at.File != "" {
			ev = ev.Str("stack", "  at "+re.at.String()).Str("at", fmt.Sprintf("%s:%d:%d", re.at.File, re.at.Line, re.at.Col))
			msg += "\n  at " + re.at.String()
		}
		ev.Msg(logbuf.Message(re.Error()))
	case errors.As(err, &to):
		msg = "Timeout: " + to.Error() // (stored with its kind, as every failure is)
		if to.at != nil {
			if tr := strings.TrimRight(to.at.Trace(), "\n"); tr != "" {
				ev = ev.Str("stack", tr)
				msg += "\n" + tr
			}
			if f, ok := to.at.Pos(); ok {
				ev = ev.Str("at", fmt.Sprintf("%s:%d:%d", f.File, f.Line, f.Col))
			}
		}
		ev.Str("kind", "Timeout").Msg(to.Error()) // (every failure's line has its kind)
	case errors.As(err, &ve):
		msg = ve.Kind + ": " + ve.Msg
		if tr := strings.TrimRight(ve.Trace(), "\n"); tr != "" {
			ev = ev.Str("stack", tr)
			msg += "\n" + tr
		}
		if f, ok := ve.Pos(); ok {
			ev = ev.Str("at", fmt.Sprintf("%s:%d:%d", f.File, f.Line, f.Col))
		}
		// (the kind apart, as a handler's failure is logged)
		ev.Str("kind", ve.Kind).Msg(logbuf.Message(ve.Msg))
	default:
		ev.Msg(logbuf.Message(msg))
	}
	return errors.New(msg)
}

// failFinal is fail for a failure that every attempt would meet (the
// arguments do not fit the parameters): logged as the last attempt, and
// the job discarded at once (see dropped), not retried.
func (r *Runner) failFinal(row *rivertype.JobRow, where, requestID string, err error) error {
	last := *row
	last.MaxAttempts = max(row.Attempt, 1)
	return &dropped{r.fail(&last, where, requestID, err).Error()}
}

// errReturned is the failure of a job whose code returned an Err value:
// at is where it returned it (its return statement, or its last
// expression).
type errReturned struct {
	value string
	at    vm.StackFrame
}

func (e *errReturned) Error() string { return "returned Err(" + e.value + ")" }

// returnedErr is the failure of job code fn that returned v from at
// (zero when unknown: a builtin): nil unless v is an Err.
func returnedErr(fn, v vm.Value, at vm.StackFrame) error {
	if vm.VariantOf(v) != vm.ErrType {
		return nil
	}
	e, _ := v.AsObject().Get("error")
	re := &errReturned{value: vm.Repr(e), at: at}
	if at.Line == 0 && fn.Kind() == vm.KFunc {
		re.at = fn.AsClosure().Decl()
	}
	return re
}

// timedOut is the failure of an attempt stopped at the jobs timeout; at
// is where its code was when it stopped (nil if it did not stop within
// a second).
type timedOut struct {
	after time.Duration
	at    *vm.Error
}

func (e *timedOut) Error() string { return fmt.Sprintf("timed out after %v", e.after) }

func decodeArgs(raw json.RawMessage) ([]vm.Value, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	v, err := stdlib.ParseJSON(raw)
	if err != nil {
		return nil, err
	}
	if v.Kind() != vm.KArray {
		return []vm.Value{v}, nil
	}
	return v.AsArray().Elems, nil
}

// ---------------------------------------------------------------- enqueueing

// insertOpts are the options of a job inserted into queue q. Its
// max_attempts is this server's; the server that runs the job puts its
// own in its place when an attempt starts (ownMaxAttempts).
func (r *Runner) insertOpts(q string) *river.InsertOpts {
	return &river.InsertOpts{Queue: q, MaxAttempts: r.set.maxAttempts}
}

func (r *Runner) checkRunning() error {
	select {
	case <-r.closed:
		return &vm.Error{Kind: "JobError", Msg: "the jobs runtime of " + r.label + " has stopped", Cause: errStopped}
	default:
		return nil
	}
}

// errStopped is the cause of the error spawn_job and publish give once
// the runtime has stopped: a job that fails on it was interrupted by the
// stop, not failed by its own code.
var errStopped = errors.New("jobs: the runtime has stopped")

// txOf returns the transaction t holds on the queue's database, if any.
func (r *Runner) txOf(t *vm.Thread) *sql.Tx {
	if r.callerTx == nil || r.set.pgURL == "" || t == nil {
		return nil
	}
	if tx, url, ok := r.callerTx(t); ok && samePGDatabase(url, r.set.pgURL) {
		return tx
	}
	return nil
}

// pgDatabases memoizes pgDatabase.
var pgDatabases sync.Map // url → string

// samePGDatabase reports whether two PostgreSQL URLs name one database,
// as its connections see it, however they are written: postgresql:// or
// postgres://, localhost or 127.0.0.1, options in another order (a job
// spawned in a transaction that rolled back ran when the jobs block's
// URL was written otherwise than the db block's).
func samePGDatabase(a, b string) bool {
	return a == b || pgDatabase(a) != "" && pgDatabase(a) == pgDatabase(b)
}

// pgDatabase is what names the database url connects to, and the schema
// its statements see: its user, host, port, database and search_path;
// "" if url does not parse.
func pgDatabase(url string) string {
	if v, ok := pgDatabases.Load(url); ok {
		return v.(string)
	}
	id := ""
	if c, err := pgconn.ParseConfig(url); err == nil {
		host := c.Host
		if host == "localhost" || host == "::1" {
			host = "127.0.0.1" // (the same server, by either name)
		}
		id = fmt.Sprintf("%s@%s:%d/%s?search_path=%s", c.User, host, c.Port, c.Database, c.RuntimeParams["search_path"])
	}
	pgDatabases.Store(url, id)
	return id
}

// spawn stores a job running background fn name with args (a JSON
// array) on the queue of the server declaring it, with the request id
// of t's work (requestOf): in t's transaction when it holds one on the
// queue's database, else committed before it returns.
func (r *Runner) spawn(ctx context.Context, t *vm.Thread, server, name string, args []byte) (int64, error) {
	if err := r.checkRunning(); err != nil {
		return 0, err
	}
	ja, opts := jobArgs{Server: server, Fn: name, Args: args, RequestID: r.requestOf(t)}, r.insertOpts(queueName(server))
	var res *rivertype.JobInsertResult
	var err error
	if tx := r.txOf(t); tx != nil {
		res, err = r.q.insertTx(ctx, tx, ja, opts)
	} else {
		ctx, cancel := context.WithTimeout(ctx, storeWait)
		res, err = r.q.insert(ctx, ja, opts)
		cancel()
	}
	if err != nil {
		return 0, storeError("spawn_job: storing the job", err)
	}
	return res.Job.ID, nil
}

// publish stores one delivery of payload per server subscribing to
// topic, in t's transaction as spawn does.
func (r *Runner) publish(ctx context.Context, t *vm.Thread, topic string, payload []byte) (int, error) {
	if err := r.checkRunning(); err != nil {
		return 0, err
	}
	ev := eventArgs{Topic: topic, Payload: payload, From: r.name, RequestID: r.requestOf(t)}
	var n int
	var err error
	if tx := r.txOf(t); tx != nil {
		n, err = r.q.publishTx(ctx, tx, ev, r.insertOpts)
	} else {
		ctx, cancel := context.WithTimeout(ctx, storeWait)
		n, err = r.q.publish(ctx, ev, r.insertOpts)
		cancel()
	}
	if err != nil {
		return 0, storeError("publish: storing the event", err)
	}
	return n, nil
}

// declaredSubscribers is the servers of the program that declare a
// subscriber of topic.
func (r *Runner) declaredSubscribers(topic string) []string {
	var out []string
	for _, srv := range r.prog.Servers {
		for _, h := range srv.Hooks {
			if h.Kind == "subscribe" && h.Arg == topic {
				out = append(out, srv.Name)
				break
			}
		}
	}
	return out
}

// storeWait bounds how long spawn_job and publish wait to store a job
// or an event: a SQLite queue's busy timeout, after which a model call
// raises DatabaseUnavailable too. (The queue's one writer connection
// may be held by River's own loops, each waiting out that timeout on a
// locked file: a request's spawn_job waited for it until the request's
// deadline, 30 s, and answered 503 TIMEOUT.)
var storeWait = 10 * time.Second

// storeError is the error of storing a job or an event that failed on
// err: DatabaseUnavailable when the queue's database cannot be reached
// (as a model call's, answered 503 over HTTP: worth retrying), else a
// JobError.
func storeError(what string, err error) error {
	if dberr.Unavailable(err) {
		return &vm.Error{Kind: dberr.Kind, Msg: fmt.Sprintf("%s: cannot reach the job queue's database: %v", what, err), Cause: err}
	}
	return vm.Errorf("JobError", "%s: %v", what, err)
}

// backgroundServer finds the server whose background fn name a
// spawn_job means: this server's own, else the one other server of the
// program declaring it.
func (r *Runner) backgroundServer(name string) (string, error) {
	if _, ok := r.background[name]; ok {
		return r.name, nil
	}
	return findBackground(r.prog, r.name, name)
}

func findBackground(prog *bytecode.Program, self, name string) (string, error) {
	var found []string
	known := map[string]bool{}
	for _, srv := range prog.Servers {
		for _, h := range srv.Hooks {
			if h.Kind != "background" {
				continue
			}
			known[h.Name] = true
			if h.Name == name {
				found = append(found, srv.Name)
			}
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		names := make([]string, 0, len(known))
		for n := range known {
			names = append(names, n)
		}
		sort.Strings(names)
		if len(names) == 0 {
			return "", vm.Errorf("JobError", "spawn_job: unknown background job %q: the program declares no background fn", name)
		}
		return "", vm.Errorf("JobError", "spawn_job: unknown background job %q (background fns: %s)", name, strings.Join(names, ", "))
	}
	return "", vm.Errorf("JobError", "spawn_job: background fn %q is declared in several servers (%s) and not in this one", name, strings.Join(quoteAll(found), ", "))
}

func quoteAll(xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = fmt.Sprintf("%q", x)
	}
	return out
}

// queueName maps a server name to a River queue name (lower-case
// letters, digits and single '_' or '-' separators). Names that need
// changing get a hash suffix so that distinct servers keep distinct
// queues; the unnamed server's queue is "default".
func queueName(server string) string {
	if server == "" {
		return "default"
	}
	var b strings.Builder
	changed := false
	lastSep := true
	for _, c := range server {
		switch {
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
			b.WriteRune(c)
			lastSep = false
		case c >= 'A' && c <= 'Z':
			b.WriteRune(c + 'a' - 'A')
			lastSep = false
			changed = true
		case (c == '_' || c == '-') && !lastSep:
			b.WriteRune(c)
			lastSep = true
		default:
			if !lastSep {
				b.WriteByte('_')
				lastSep = true
			}
			changed = true
		}
	}
	s := strings.TrimRight(b.String(), "_-")
	if s != server || changed || s == "default" || len(s) > maxQueueName {
		s = withHash(server, s, maxQueueName)
	}
	return s
}

// tickQueueName is the queue of the ticks of server's schedules. They
// have a queue, and workers, of their own: on the queue of the server's
// jobs, at their priority, a tick waited behind every job stored before
// it, and the ticks falling due meanwhile were skipped (a tick is unique
// while one is queued). The server's Runner works it with one worker
// per schedule, besides its jobs' workers, so a tick starts when it is
// due however many jobs are queued or running. The name is the jobs
// queue's with a hash after it, which a server's own queue would have
// only if the server were named so, hash and all.
func tickQueueName(server string) string {
	return withHash("schedule ticks of "+server, queueName(server)+"_ticks", maxQueueName)
}

// withHash is clean, the name made to fit River's rules, cut to leave
// room within max for a hash of name after it: names that had to change,
// or that were cut (they may begin alike), stay apart.
func withHash(name, clean string, max int) string {
	sum := sha256.Sum256([]byte(name))
	s := strings.TrimRight(clean[:min(len(clean), max-9)], "_-")
	if s != "" {
		s += "_"
	}
	return s + hex.EncodeToString(sum[:4])
}

// maxQueueName and maxClientID are River's limits on a queue name and a
// client id.
const (
	maxQueueName = 64
	maxClientID  = 100
)

// clientID is the queue's client id for this process: queue, host, pid
// and a random part, the host cut so that the whole fits River's limit
// (a long host name, such as a pod's, would refuse the start).
func clientID(queue, host string) string {
	pid, rnd := strconv.Itoa(os.Getpid()), processToken+strconv.FormatInt(runnerSeq.Add(1), 10)
	room := maxClientID - len(queue) - len(pid) - len(rnd) - 3
	host = host[:max(0, min(len(host), room))]
	return queue + "." + host + "." + pid + "." + rnd
}

// processToken starts the last part of the client ids of this process's
// Runners (runnerSeq numbers them): a client of this host with this
// process's id but not its token was a process before it that had the
// same id (a container restarted: process 1 again), and is gone.
var (
	processToken = randomSuffix()
	runnerSeq    atomic.Int64
)

// ofThisProcess reports whether the client id is of this process.
func ofThisProcess(id string) bool {
	return strings.HasPrefix(id[strings.LastIndexByte(id, '.')+1:], processToken)
}

func randomSuffix() string {
	var b [4]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
