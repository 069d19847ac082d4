package actors

import (
	"errors"
	"fmt"
	"runtime/debug"
	"time"
)

// Failure is what a parent supervisor (and its Decider) receives when a
// child fails: a Go panic in the child, or an error returned from its
// Start or Receive. It is also the error a Pool caller gets back when the
// job's runner panicked.
type Failure struct {
	// Actor is the path of the failing actor, e.g. "api/pool/worker-3".
	Actor string
	// Reason is the panic value, or the error the actor returned.
	Reason any
	// Panic reports whether Reason came from a recovered panic.
	Panic bool
	// Stack is the Go stack at the panic; empty for returned errors.
	Stack string
}

func (f *Failure) Error() string {
	if f.Panic {
		return fmt.Sprintf("actor %s panicked: %v", f.Actor, f.Reason)
	}
	return fmt.Sprintf("actor %s failed: %v", f.Actor, f.Reason)
}

// Unwrap returns Reason when it is an error, so errors.Is and errors.As see
// through a Failure.
func (f *Failure) Unwrap() error {
	if err, ok := f.Reason.(error); ok {
		return err
	}
	return nil
}

// IntensityExceeded is the Reason of the Failure a supervisor escalates
// when its children failed more often than its restart intensity allows.
type IntensityExceeded struct {
	Supervisor  string
	MaxRestarts int
	Period      time.Duration
	// Last is the child failure that crossed the limit.
	Last *Failure
}

func (e *IntensityExceeded) Error() string {
	return fmt.Sprintf("supervisor %s: more than %d restarts within %v (last: %v)",
		e.Supervisor, e.MaxRestarts, e.Period, e.Last)
}

// Unwrap returns the last child failure.
func (e *IntensityExceeded) Unwrap() error { return e.Last }

// panicFailure builds a Failure from a recovered panic value. It must be
// called from the deferred function that recovered, so that the stack still
// shows the panic site.
func panicFailure(actor string, r any) *Failure {
	if f, ok := r.(*Failure); ok {
		return f
	}
	return &Failure{Actor: actor, Reason: r, Panic: true, Stack: string(debug.Stack())}
}

// errorFailure builds a Failure from a returned error; a *Failure is kept.
func errorFailure(actor string, err error) *Failure {
	var f *Failure
	if errors.As(err, &f) {
		return f
	}
	return &Failure{Actor: actor, Reason: err}
}

// asFailure normalises whatever reached a supervisor as a failure reason.
func asFailure(reason any, actor string) *Failure {
	switch r := reason.(type) {
	case *Failure:
		return r
	case error:
		return errorFailure(actor, r)
	default:
		return &Failure{Actor: actor, Reason: r, Panic: true}
	}
}
