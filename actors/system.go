package actors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"
)

// Clock is the time source for restart intensity. Tests inject a manual
// clock so that the sliding window can be driven without sleeping.
type Clock interface {
	Now() time.Time
}

// SystemClock reads the wall clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// Options configure a System.
type Options struct {
	// Name identifies the process in log lines ("system" field).
	Name string
	// Logger receives the runtime's own records and, through a slog
	// bridge, the actor library's. The zero Logger discards everything.
	Logger zerolog.Logger
	// Clock is the time source for restart intensity; nil means SystemClock.
	Clock Clock
	// OnEscalate is called when a top-level supervisor gives up (its
	// restart intensity was exceeded or its decider escalated). The tree
	// under it has already been stopped. It runs on an actor goroutine and
	// must not block.
	OnEscalate func(*Failure)
}

// System owns the actor library's runtime: one per process. Top-level
// supervisors are started with Start and stopped, in reverse start order,
// by Stop.
type System struct {
	as       *actor.ActorSystem
	log      zerolog.Logger
	clock    Clock
	guardian *guardian
	onEsc    func(*Failure)

	mu     sync.Mutex
	tops   []*Supervisor
	pools  []*Pool
	closed bool
}

// ErrSystemStopped is returned when starting a supervisor on a stopped System.
var ErrSystemStopped = errors.New("actors: system stopped")

// NewSystem creates the actor system. Library log records (slog) are routed
// into opts.Logger; the library's Info records are demoted to Debug because
// they repeat what the supervisors already log with more context.
func NewSystem(opts Options) *System {
	s := &System{
		log:   opts.Logger,
		clock: opts.Clock,
		onEsc: opts.OnEscalate,
	}
	if s.clock == nil {
		s.clock = SystemClock{}
	}
	if opts.Name != "" {
		s.log = s.log.With().Str("system", opts.Name).Logger()
	}
	libLog := s.log.With().Str("lib", "protoactor").Logger()
	s.as = actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(newSlogHandler(libLog, true))
	}))
	s.guardian = &guardian{sys: s}
	return s
}

// Logger returns the system's logger.
func (s *System) Logger() *zerolog.Logger { return &s.log }

// Clock returns the system's clock.
func (s *System) Clock() Clock { return s.clock }

// Start starts sup as a top-level supervisor and returns once all of its
// children have started (in order). If a child fails to start, the children
// already started are stopped in reverse order and the error is returned.
func (s *System) Start(sup *Supervisor) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrSystemStopped
	}
	s.mu.Unlock()
	if err := sup.claim(); err != nil {
		return err
	}
	name := sup.spec.Name
	cl := newCell(s, name, func() Actor { return newSupervisorActor(sup) }, true)
	props := actor.PropsFromProducer(func() actor.Actor { return cl }, actor.WithGuardian(s.guardian))
	pid, err := s.as.Root.SpawnNamed(props, name)
	if err != nil {
		sup.release()
		return fmt.Errorf("actors: start supervisor %q: %w", name, err)
	}
	cl.pid = pid
	if err := <-cl.started; err != nil {
		s.as.Root.Stop(pid)
		<-cl.done
		sup.release()
		return err
	}
	sup.setTop(cl)
	s.mu.Lock()
	s.tops = append(s.tops, sup)
	s.mu.Unlock()
	return nil
}

// StartPool creates a pool and starts it as a top-level supervisor.
func (s *System) StartPool(opts PoolOptions) (*Pool, error) {
	p := NewPool(opts)
	if err := s.Start(p.Supervisor()); err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.pools = append(s.pools, p)
	s.mu.Unlock()
	return p, nil
}

// Unwinding reports whether a job answered before it ended (at its
// deadline, or stopped by StopFirstDue) still runs in one of the
// system's pools: its code has yet to reach its next check of the job
// (a loop iteration, a call), and may still be allocating.
func (s *System) Unwinding() bool {
	s.mu.Lock()
	pools := slices.Clone(s.pools)
	s.mu.Unlock()
	for _, p := range pools {
		if p.unwinding() {
			return true
		}
	}
	return false
}

// Stopped tells which job StopFirstDue stopped: its pool's name, and
// the label its Runner gives, if it has one (Labeled).
type Stopped struct{ Pool, Label string }

// Labeled is a Runner that says which work it is (a request's id), for
// the log line of its stop.
type Labeled interface {
	Label() string
}

// StopFirstDue stops, of the jobs running in the system's pools, the
// one due first of those not waiting (Job.Waiting), or with waitingToo,
// if none, the waiting one due first: its caller is answered ErrMemory at once and its job is cancelled
// (code that watches the job stops at its next check). It returns which
// job it was and whether there was a job to stop. A process over its
// memory limit stops jobs so until it is back under it: a job that
// runs, rather than waits for I/O, a sleep or another server, and has
// run longest is the likeliest to be allocating what it holds.
func (s *System) StopFirstDue(waitingToo bool) (stopped Stopped, ok bool) {
	s.mu.Lock()
	pools := slices.Clone(s.pools)
	s.mu.Unlock()
	for range 3 { // a job may end between the choice and the stop
		// The job to stop: running before waiting, then due first.
		var best struct {
			p       *Pool
			w       *worker
			t       *task
			r       Runner
			word    uint64
			waiting bool
			due     time.Time
		}
		for _, p := range pools {
			p.current(func(w *worker, t *task, word uint64) {
				waiting := t.job.waits.Load() > 0
				if word&0xff != taskPending || waiting && !waitingToo {
					return
				}
				due := p.dueAt(t)
				if best.w == nil || best.waiting && !waiting || best.waiting == waiting && due.Before(best.due) {
					best.p, best.w, best.t, best.r, best.word, best.waiting, best.due = p, w, t, t.r, word, waiting, due
				}
			})
		}
		if best.w == nil {
			return Stopped{}, false
		}
		if best.w.stopTask(best.t, best.word) {
			// (Its caller is answered ErrMemory: the runner, a failed
			// job's, is not reused, and may be asked what it is.)
			stopped.Pool = best.p.opts.Name
			if l, ok := best.r.(Labeled); ok {
				stopped.Label = l.Label()
			}
			return stopped, true
		}
	}
	return Stopped{}, false
}

// Stop stops every top-level supervisor in reverse start order, each
// stopping its own children in reverse order, then shuts the library down.
// It returns ctx.Err() if ctx ends first; the remaining actors keep stopping
// in the background.
func (s *System) Stop(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil // stopped already (protoactor's Shutdown runs once)
	}
	s.closed = true
	tops := append([]*Supervisor(nil), s.tops...)
	s.tops = nil
	s.mu.Unlock()
	var err error
	for i := len(tops) - 1; i >= 0; i-- {
		if e := tops[i].Stop(ctx); e != nil && err == nil {
			err = e
		}
	}
	s.as.Shutdown()
	return err
}

func (s *System) forget(sup *Supervisor) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, t := range s.tops {
		if t == sup {
			s.tops = append(s.tops[:i], s.tops[i+1:]...)
			return
		}
	}
}

// guardian supervises top-level supervisors. A failure reaching it means a
// whole tree gave up: it is logged, reported and the tree's root stopped.
type guardian struct{ sys *System }

func (g *guardian) HandleFailure(_ *actor.ActorSystem, sup actor.Supervisor, child *actor.PID, _ *actor.RestartStatistics, reason, _ any) {
	f := asFailure(reason, child.GetId())
	g.sys.log.Error().Str("actor", f.Actor).Err(f).Msg("top-level supervisor gave up")
	if g.sys.onEsc != nil {
		g.sys.onEsc(f)
	}
	sup.StopChildren(child)
}

// ServerActorName names the actor of role ("handlers", "jobs") that
// serves the program's server named server: role itself for the unnamed
// server, role@server for a named one, so that no two servers' actors
// share a name (a server may be named "server").
func ServerActorName(server, role string) string {
	if server == "" {
		return role
	}
	return role + "@" + server
}

// ActorRole is the role a name ServerActorName made names ("jobs" of
// "jobs@api").
func ActorRole(name string) string {
	role, _, _ := strings.Cut(name, "@")
	return role
}
