package actors

import (
	"context"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"
)

// Actor is the behaviour of a supervised child. Receive handles one message
// at a time; a returned error or a panic is a failure reported to the
// parent supervisor as a *Failure.
type Actor interface {
	Receive(c *Context, msg any) error
}

// Starter is implemented by actors that initialise themselves. The
// supervisor waits for Start to return before starting the next child; an
// error aborts the start.
type Starter interface {
	Start(c *Context) error
}

// Stopper is implemented by actors that release resources when stopped
// (normal stop, restart or supervisor shutdown). c.Context() is already
// cancelled.
type Stopper interface {
	Stop(c *Context)
}

// Ref addresses an actor.
type Ref struct {
	pid *actor.PID
	sys *System
}

// Send delivers msg to the actor's mailbox. Sending to a stopped actor
// drops the message.
func (r Ref) Send(msg any) {
	if r.pid != nil {
		r.sys.as.Root.Send(r.pid, msg)
	}
}

// IsZero reports whether r addresses nothing.
func (r Ref) IsZero() bool { return r.pid == nil }

func (r Ref) String() string {
	if r.pid == nil {
		return "<nil>"
	}
	return r.pid.Id
}

// Context is an actor's view of itself. It is valid for the lifetime of one
// incarnation (a restart gets a new Context).
type Context struct {
	sys    *System
	path   string
	pc     actor.Context
	ctx    context.Context
	cancel context.CancelFunc
	log    zerolog.Logger
}

// Self returns the actor's own address.
func (c *Context) Self() Ref { return Ref{pid: c.pc.Self(), sys: c.sys} }

// Path is the actor's supervision path, e.g. "api/pool/worker-3".
func (c *Context) Path() string { return c.path }

// Context is cancelled when the actor is asked to stop (shutdown, restart
// of a sibling group). Long-running work inside Receive must watch it.
func (c *Context) Context() context.Context { return c.ctx }

// Logger returns a logger tagged with the actor path.
func (c *Context) Logger() *zerolog.Logger { return &c.log }

// Clock returns the System's clock.
func (c *Context) Clock() Clock { return c.sys.clock }

// System returns the actor system.
func (c *Context) System() *System { return c.sys }

// Send delivers msg to another actor.
func (c *Context) Send(to Ref, msg any) {
	if to.pid != nil {
		c.pc.Send(to.pid, msg)
	}
}

// Exit stops the actor normally once the current message is handled: the
// supervisor restarts it only if it is Permanent.
func (c *Context) Exit() { c.pc.Stop(c.pc.Self()) }

// cell adapts an Actor to the actor library: it turns panics and returned
// errors into *Failure, reports start results to the spawning supervisor,
// and signals its termination.
type cell struct {
	c       Context
	produce func() Actor
	act     Actor
	pid     *actor.PID
	started chan error    // result of Start, buffered
	done    chan struct{} // closed once stopped
	failed  bool
	isSuper bool
}

func newCell(sys *System, path string, produce func() Actor, isSuper bool) *cell {
	ctx, cancel := context.WithCancel(context.Background())
	return &cell{
		c: Context{
			sys:    sys,
			path:   path,
			ctx:    ctx,
			cancel: cancel,
			log:    sys.log.With().Str("actor", path).Logger(),
		},
		produce: produce,
		started: make(chan error, 1),
		done:    make(chan struct{}),
		isSuper: isSuper,
	}
}

// supervising is implemented by supervisor actors: the cell routes the
// library's failure and termination notices to it.
type supervising interface {
	handleFailure(child *actor.PID, reason any)
	handleTerminated(who *actor.PID)
}

// Receive implements actor.Actor.
func (cl *cell) Receive(pc actor.Context) {
	switch msg := pc.Message().(type) {
	case *actor.Started:
		cl.c.pc = pc
		select {
		case cl.started <- cl.start():
		default: // a second start of the same cell has nobody waiting
		}
	case *actor.Stopping, *actor.Restarting:
		cl.c.cancel()
		cl.stop()
	case *actor.Stopped:
		cl.c.cancel()
		close(cl.done)
	case *actor.Terminated:
		if s, ok := cl.act.(supervising); ok {
			s.handleTerminated(msg.Who)
		}
	case *actor.ReceiveTimeout:
	default:
		if cl.failed || cl.act == nil {
			return
		}
		if f := cl.invoke(msg); f != nil {
			cl.escalate(f, msg)
		}
	}
}

// HandleFailure implements actor.SupervisorStrategy: failures of children
// spawned by a supervisor actor reach it through here.
func (cl *cell) HandleFailure(_ *actor.ActorSystem, sup actor.Supervisor, child *actor.PID, _ *actor.RestartStatistics, reason, _ any) {
	if s, ok := cl.act.(supervising); ok {
		s.handleFailure(child, reason)
		return
	}
	sup.StopChildren(child)
}

func (cl *cell) start() (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = panicFailure(cl.c.path, r)
		}
	}()
	cl.act = cl.produce()
	if s, ok := cl.act.(Starter); ok {
		if err := s.Start(&cl.c); err != nil {
			return errorFailure(cl.c.path, err)
		}
	}
	return nil
}

func (cl *cell) stop() {
	defer func() {
		if r := recover(); r != nil {
			f := panicFailure(cl.c.path, r)
			cl.c.log.Error().Err(f).Str("stack", f.Stack).Msg("panic while stopping")
		}
	}()
	if s, ok := cl.act.(Stopper); ok {
		s.Stop(&cl.c)
	}
}

func (cl *cell) invoke(msg any) (f *Failure) {
	defer func() {
		if r := recover(); r != nil {
			f = panicFailure(cl.c.path, r)
		}
	}()
	if err := cl.act.Receive(&cl.c, msg); err != nil {
		return errorFailure(cl.c.path, err)
	}
	return nil
}

type escalator interface {
	EscalateFailure(reason, message any)
}

// escalate suspends the actor's mailbox and hands f to the parent.
func (cl *cell) escalate(f *Failure, msg any) {
	cl.failed = true
	if e, ok := cl.c.pc.(escalator); ok {
		e.EscalateFailure(f, msg)
		return
	}
	panic(f) // the library's mailbox recovers and escalates
}
