package actors

import (
	"fmt"
	"time"
)

// RestartType says when a child is restarted, as in OTP.
type RestartType int

const (
	// Permanent children are always restarted, also after a normal exit.
	Permanent RestartType = iota
	// Transient children are restarted only after a failure.
	Transient
	// Temporary children are never restarted.
	Temporary
)

func (r RestartType) String() string {
	switch r {
	case Permanent:
		return "permanent"
	case Transient:
		return "transient"
	case Temporary:
		return "temporary"
	}
	return fmt.Sprintf("RestartType(%d)", int(r))
}

// Strategy says which children are restarted when one fails, as in OTP.
type Strategy int

const (
	// OneForOne restarts only the failed child.
	OneForOne Strategy = iota
	// OneForAll stops all children (in reverse order) and starts them all
	// again (in order).
	OneForAll
	// RestForOne stops the failed child and every child started after it
	// (in reverse order) and starts them again (in order).
	RestForOne
)

func (s Strategy) String() string {
	switch s {
	case OneForOne:
		return "one_for_one"
	case OneForAll:
		return "one_for_all"
	case RestForOne:
		return "rest_for_one"
	}
	return fmt.Sprintf("Strategy(%d)", int(s))
}

// Intensity bounds restarts: more than MaxRestarts restarts within Period
// (a sliding window on the System's Clock) and the supervisor gives up:
// it stops all children and escalates to its own parent.
type Intensity struct {
	MaxRestarts int
	Period      time.Duration
}

// The zero Intensity means DefaultMaxRestarts within DefaultRestartPeriod.
const (
	DefaultMaxRestarts   = 3
	DefaultRestartPeriod = 5 * time.Second
)

// NoRestartLimit as MaxRestarts makes a supervisor never give up. Pools use
// it: a panicking request handler costs its worker a restart, not the
// server its life.
const NoRestartLimit = -1

func (i Intensity) normalised() Intensity {
	if i == (Intensity{}) {
		return Intensity{MaxRestarts: DefaultMaxRestarts, Period: DefaultRestartPeriod}
	}
	return i
}

// Directive is a Decider's verdict on one child failure.
type Directive int

const (
	// RestartChild applies the strategy (subject to the child's RestartType
	// and the restart intensity).
	RestartChild Directive = iota
	// StopChild stops the failed child and does not restart it.
	StopChild
	// EscalateFailure stops all children and fails the supervisor itself.
	EscalateFailure
)

// ShutdownInfinity makes a supervisor wait as long as it takes for a child
// to stop. It is the default for supervisor children.
const ShutdownInfinity time.Duration = -1

// defaultShutdown is how long a worker child gets to stop.
const defaultShutdown = 5 * time.Second

// ChildSpec describes one child of a supervisor.
type ChildSpec struct {
	// ID names the child; unique among its siblings.
	ID string
	// Start creates a fresh Actor for each (re)start.
	Start func() Actor
	// Restart is the restart type (default Permanent).
	Restart RestartType
	// Shutdown is how long the supervisor waits for the child to stop after
	// cancelling its context; past it the child is abandoned (a Go
	// goroutine cannot be killed) and a warning is logged. Zero means 5 s
	// for workers and ShutdownInfinity for supervisors.
	Shutdown time.Duration

	supervisor bool
}

func (c *ChildSpec) shutdown() time.Duration {
	switch {
	case c.Shutdown > 0 || c.Shutdown == ShutdownInfinity:
		return c.Shutdown
	case c.supervisor:
		return ShutdownInfinity
	default:
		return defaultShutdown
	}
}

// SupervisorSpec describes a supervisor.
type SupervisorSpec struct {
	// Name is the supervisor's actor name and the prefix of its children's paths.
	Name     string
	Strategy Strategy
	// Intensity is the restart limit; the zero value means
	// DefaultMaxRestarts within DefaultRestartPeriod.
	Intensity Intensity
	// Children are started in order and stopped in reverse order.
	Children []ChildSpec
	// Decider picks the directive for a failure; nil restarts.
	Decider func(*Failure) Directive
	// OnEvent observes the supervisor's lifecycle events (metrics, tests).
	// It runs on the supervisor's goroutine and must not block.
	OnEvent func(Event)

	// init runs after the static children started (pools spawn workers
	// here); stopped runs after the children stopped.
	init    func(*supervisorActor) error
	stopped func()
}

// EventKind classifies supervisor events.
type EventKind int

// Event kinds.
const (
	ChildStarted EventKind = iota
	ChildFailed
	ChildRestarted
	ChildExited  // a child stopped on its own
	ChildStopped // the supervisor stopped a child
	GaveUp       // the supervisor escalated
)

func (k EventKind) String() string {
	switch k {
	case ChildStarted:
		return "started"
	case ChildFailed:
		return "failed"
	case ChildRestarted:
		return "restarted"
	case ChildExited:
		return "exited"
	case ChildStopped:
		return "stopped"
	case GaveUp:
		return "gave_up"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is one supervisor lifecycle event.
type Event struct {
	Kind       EventKind
	Supervisor string // path of the supervisor
	Child      string // child ID; empty for GaveUp
	Failure    *Failure
	At         time.Time // on the System's Clock
}
