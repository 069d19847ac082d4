package actors

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// Errors returned by Supervisor methods.
var (
	ErrNotRunning     = errors.New("actors: supervisor not running")
	ErrInUse          = errors.New("actors: supervisor already started")
	ErrDuplicateChild = errors.New("actors: duplicate child id")
	ErrNoChild        = errors.New("actors: no such child")
)

// errNormalExit is the Reason recorded when a Permanent child stops on its
// own and is restarted.
var errNormalExit = errors.New("exited normally")

// Supervisor is the handle of a supervisor: it outlives restarts of the
// supervisor actor itself (counters accumulate across incarnations). Start
// it at top level with System.Start, or place it in a tree with ChildSpec.
// A Supervisor runs in one place at a time.
type Supervisor struct {
	spec      SupervisorSpec
	intensity Intensity
	quiet     bool // failures logged at debug level (pools: the caller logs them)

	failures atomic.Uint64
	restarts atomic.Uint64

	mu         sync.Mutex
	inUse      bool
	sys        *System
	pid        *actor.PID // current incarnation
	top        *cell      // set when started by System.Start
	order      []string
	refs       map[string]*actor.PID
	perChild   map[string]*ChildStats
	escalation *Failure
}

// ChildStats counts one child's failures and restarts.
type ChildStats struct {
	Failures uint64
	Restarts uint64
}

// Stats is a snapshot of a supervisor's counters.
type Stats struct {
	Failures uint64 // child failures seen
	Restarts uint64 // child restarts performed
	Children int    // children currently running
}

// NewSupervisor creates an unstarted supervisor.
func NewSupervisor(spec SupervisorSpec) *Supervisor {
	if spec.Name == "" {
		spec.Name = "supervisor"
	}
	return &Supervisor{
		spec:      spec,
		intensity: spec.Intensity.normalised(),
		refs:      map[string]*actor.PID{},
		perChild:  map[string]*ChildStats{},
	}
}

// Name returns the supervisor's name.
func (s *Supervisor) Name() string { return s.spec.Name }

// ChildSpec returns a spec that runs this supervisor as a Permanent child of
// another supervisor, waiting as long as needed for its subtree to stop.
func (s *Supervisor) ChildSpec() ChildSpec {
	return ChildSpec{
		ID:         s.spec.Name,
		Start:      func() Actor { return newSupervisorActor(s) },
		Restart:    Permanent,
		Shutdown:   ShutdownInfinity,
		supervisor: true,
	}
}

func (s *Supervisor) claim() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inUse {
		return ErrInUse
	}
	s.inUse = true
	return nil
}

func (s *Supervisor) release() {
	s.mu.Lock()
	s.inUse = false
	s.mu.Unlock()
}

func (s *Supervisor) setTop(cl *cell) {
	s.mu.Lock()
	s.top = cl
	s.mu.Unlock()
}

// Done is closed when a top-level supervisor has stopped (Stop, System.Stop
// or giving up). It is nil for a supervisor that was never started at top
// level.
func (s *Supervisor) Done() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.top == nil {
		return nil
	}
	return s.top.done
}

// Stop stops a top-level supervisor: its children are stopped in reverse
// start order, each given its shutdown timeout. It waits until the
// supervisor has stopped or ctx ends.
func (s *Supervisor) Stop(ctx context.Context) error {
	s.mu.Lock()
	top, sys := s.top, s.sys
	s.mu.Unlock()
	if top == nil {
		return ErrNotRunning
	}
	sys.as.Root.Stop(top.pid)
	select {
	case <-top.done:
		sys.forget(s)
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Escalation returns the failure with which the supervisor last gave up,
// or nil.
func (s *Supervisor) Escalation() *Failure {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.escalation
}

// Stats returns the supervisor's counters.
func (s *Supervisor) Stats() Stats {
	s.mu.Lock()
	n := len(s.order)
	s.mu.Unlock()
	return Stats{Failures: s.failures.Load(), Restarts: s.restarts.Load(), Children: n}
}

// ChildStats returns the counters of the child with the given ID.
func (s *Supervisor) ChildStats(id string) ChildStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cs := s.perChild[id]; cs != nil {
		return *cs
	}
	return ChildStats{}
}

// Children returns the IDs of the running children in start order.
func (s *Supervisor) Children() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.order...)
}

// Child returns the address of the running child with the given ID.
func (s *Supervisor) Child(id string) (Ref, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pid, ok := s.refs[id]
	if !ok {
		return Ref{}, false
	}
	return Ref{pid: pid, sys: s.sys}, true
}

// StartChild adds a child after the existing ones and starts it.
func (s *Supervisor) StartChild(ctx context.Context, spec ChildSpec) (Ref, error) {
	reply := make(chan childReply, 1)
	if err := s.send(&startChildReq{spec: spec, reply: reply}); err != nil {
		return Ref{}, err
	}
	select {
	case r := <-reply:
		return r.ref, r.err
	case <-ctx.Done():
		return Ref{}, ctx.Err()
	}
}

// TerminateChild stops the child with the given ID and removes it.
func (s *Supervisor) TerminateChild(ctx context.Context, id string) error {
	reply := make(chan childReply, 1)
	if err := s.send(&terminateChildReq{id: id, reply: reply}); err != nil {
		return err
	}
	select {
	case r := <-reply:
		return r.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Supervisor) send(msg any) error {
	s.mu.Lock()
	pid, sys := s.pid, s.sys
	s.mu.Unlock()
	if pid == nil {
		return ErrNotRunning
	}
	sys.as.Root.Send(pid, msg)
	return nil
}

func (s *Supervisor) attach(sys *System, pid *actor.PID) {
	s.mu.Lock()
	s.sys, s.pid = sys, pid
	s.inUse = true
	s.mu.Unlock()
}

func (s *Supervisor) detach(pid *actor.PID) {
	s.mu.Lock()
	if s.pid == pid {
		s.pid = nil
		s.order = nil
		clear(s.refs)
	}
	s.mu.Unlock()
}

func (s *Supervisor) countFailure(id string) {
	s.failures.Add(1)
	s.mu.Lock()
	s.child(id).Failures++
	s.mu.Unlock()
}

func (s *Supervisor) countRestart(id string) {
	s.restarts.Add(1)
	s.mu.Lock()
	s.child(id).Restarts++
	s.mu.Unlock()
}

// child returns id's counters; s.mu must be held.
func (s *Supervisor) child(id string) *ChildStats {
	cs := s.perChild[id]
	if cs == nil {
		cs = &ChildStats{}
		s.perChild[id] = cs
	}
	return cs
}

type childReply struct {
	ref Ref
	err error
}

type startChildReq struct {
	spec   ChildSpec
	reply  chan childReply // nil: nobody waits
	failed func(error)     // called when the child could not start
}

type terminateChildReq struct {
	id    string
	reply chan childReply
}

// retryRestart asks the supervisor to start children left down after a
// failed restart.
type retryRestart struct{}

// supervisorActor is one incarnation of a Supervisor. All of its state is
// owned by its mailbox goroutine; restarts and shutdowns are synchronous,
// as in OTP: the supervisor handles nothing else while it stops children in
// reverse order and starts them again in order.
type supervisorActor struct {
	h        *Supervisor
	c        *Context
	children []*childEntry
	restarts []time.Time // restart times inside the intensity window
	seq      uint64
	gaveUp   bool
	stopping bool
	retrying bool
}

type childEntry struct {
	spec ChildSpec
	cell *cell // nil while down
}

func newSupervisorActor(h *Supervisor) *supervisorActor {
	return &supervisorActor{h: h}
}

// Start starts the static children in order; on a start error the ones
// already started are stopped in reverse order.
func (s *supervisorActor) Start(c *Context) error {
	s.c = c
	s.h.attach(c.sys, c.pc.Self())
	for _, spec := range s.h.spec.Children {
		if err := s.add(spec); err != nil {
			s.stopAll()
			s.h.detach(c.pc.Self())
			return err
		}
	}
	if s.h.spec.init != nil {
		if err := s.h.spec.init(s); err != nil {
			s.stopAll()
			s.h.detach(c.pc.Self())
			return err
		}
	}
	return nil
}

// Stop stops all children in reverse order.
func (s *supervisorActor) Stop(c *Context) {
	s.stopping = true
	s.stopAll()
	s.h.detach(c.pc.Self())
	if s.h.spec.stopped != nil {
		s.h.spec.stopped()
	}
}

func (s *supervisorActor) Receive(c *Context, msg any) error {
	switch m := msg.(type) {
	case *startChildReq:
		err := s.add(m.spec)
		if err != nil && m.failed != nil {
			m.failed(err)
		}
		if m.reply != nil {
			var ref Ref
			if err == nil {
				ref, _ = s.h.Child(m.spec.ID)
			}
			m.reply <- childReply{ref: ref, err: err}
		}
	case *terminateChildReq:
		idx := s.find(m.id)
		if idx < 0 {
			m.reply <- childReply{err: fmt.Errorf("%w: %q", ErrNoChild, m.id)}
			return nil
		}
		s.stopEntry(s.children[idx])
		s.removeAt(idx)
		m.reply <- childReply{}
	case retryRestart:
		s.retrying = false
		s.startDown()
	}
	return nil
}

// add appends a child and starts it.
func (s *supervisorActor) add(spec ChildSpec) error {
	if s.stopping || s.gaveUp {
		return ErrNotRunning
	}
	if spec.ID == "" || spec.Start == nil {
		return fmt.Errorf("actors: child spec needs an ID and a Start function")
	}
	if s.find(spec.ID) >= 0 {
		return fmt.Errorf("%w: %q", ErrDuplicateChild, spec.ID)
	}
	ch := &childEntry{spec: spec}
	if err := s.spawn(ch); err != nil {
		return fmt.Errorf("actors: start %s/%s: %w", s.c.path, spec.ID, err)
	}
	s.children = append(s.children, ch)
	s.publish()
	s.emit(ChildStarted, spec.ID, nil)
	return nil
}

// spawn starts one incarnation of ch and waits for its Start to return.
func (s *supervisorActor) spawn(ch *childEntry) error {
	s.seq++
	cl := newCell(s.c.sys, s.c.path+"/"+ch.spec.ID, ch.spec.Start, ch.spec.supervisor)
	props := actor.PropsFromProducer(func() actor.Actor { return cl })
	pid, err := s.c.pc.SpawnNamed(props, ch.spec.ID+"~"+strconv.FormatUint(s.seq, 10))
	if err != nil {
		return err
	}
	cl.pid = pid
	if err := <-cl.started; err != nil {
		s.terminate(cl, ch.spec.shutdown())
		return err
	}
	ch.cell = cl
	return nil
}

// terminate cancels the cell's context, asks it to stop and waits up to
// timeout. A child that does not stop in time is abandoned: its goroutine
// keeps running until its Receive returns, but the tree forgets it.
func (s *supervisorActor) terminate(cl *cell, timeout time.Duration) {
	cl.c.cancel()
	s.c.pc.Stop(cl.pid)
	if timeout == ShutdownInfinity {
		<-cl.done
		return
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-cl.done:
	case <-t.C:
		s.c.log.Warn().Str("child", cl.c.path).Dur("shutdown", timeout).
			Msg("child did not stop within its shutdown timeout; abandoned")
		// Tell the library the child is gone so this supervisor can
		// itself terminate.
		self := s.c.pc.Self()
		if p, ok := s.c.sys.as.ProcessRegistry.Get(self); ok {
			p.SendSystemMessage(self, &actor.Terminated{Who: cl.pid})
		}
	}
}

func (s *supervisorActor) stopEntry(ch *childEntry) {
	if ch.cell == nil {
		return
	}
	cl := ch.cell
	ch.cell = nil
	s.terminate(cl, ch.spec.shutdown())
	s.publish()
	s.emit(ChildStopped, ch.spec.ID, nil)
}

func (s *supervisorActor) stopAll() {
	for i := len(s.children) - 1; i >= 0; i-- {
		s.stopEntry(s.children[i])
	}
	s.publish()
}

func (s *supervisorActor) find(id string) int {
	for i, ch := range s.children {
		if ch.spec.ID == id {
			return i
		}
	}
	return -1
}

func (s *supervisorActor) findPID(pid *actor.PID) int {
	for i, ch := range s.children {
		if ch.cell != nil && ch.cell.pid.Equal(pid) {
			return i
		}
	}
	return -1
}

func (s *supervisorActor) removeAt(idx int) {
	id := s.children[idx].spec.ID
	s.children = append(s.children[:idx], s.children[idx+1:]...)
	s.h.mu.Lock()
	delete(s.h.perChild, id)
	s.h.mu.Unlock()
	s.publish()
}

// publish copies the running children into the handle for lookups.
func (s *supervisorActor) publish() {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	if s.h.pid != s.c.pc.Self() {
		return
	}
	s.h.order = s.h.order[:0]
	clear(s.h.refs)
	for _, ch := range s.children {
		if ch.cell != nil {
			s.h.order = append(s.h.order, ch.spec.ID)
			s.h.refs[ch.spec.ID] = ch.cell.pid
		}
	}
}

func (s *supervisorActor) emit(kind EventKind, child string, f *Failure) {
	if s.h.spec.OnEvent != nil {
		s.h.spec.OnEvent(Event{Kind: kind, Supervisor: s.c.path, Child: child, Failure: f, At: s.c.sys.clock.Now()})
	}
}

// handleFailure applies the decider, the child's restart type, the
// restart intensity and the strategy to one child failure.
func (s *supervisorActor) handleFailure(pid *actor.PID, reason any) {
	idx := s.findPID(pid)
	if idx < 0 {
		// A child this supervisor already stopped or abandoned.
		s.c.pc.Stop(pid)
		return
	}
	ch := s.children[idx]
	f := asFailure(reason, s.c.path+"/"+ch.spec.ID)
	s.h.countFailure(ch.spec.ID)
	s.logFailure(ch, f)
	s.emit(ChildFailed, ch.spec.ID, f)
	if s.gaveUp || s.stopping {
		return
	}
	dir := RestartChild
	if s.h.spec.Decider != nil {
		dir = s.h.spec.Decider(f)
	}
	switch {
	case dir == EscalateFailure:
		s.giveUp(f)
	case dir == StopChild || ch.spec.Restart == Temporary:
		s.stopEntry(ch)
		s.removeAt(idx)
	default:
		s.restart(idx, f)
	}
}

// handleTerminated sees children that stopped on their own.
func (s *supervisorActor) handleTerminated(pid *actor.PID) {
	idx := s.findPID(pid)
	if idx < 0 {
		return // stopped by this supervisor
	}
	ch := s.children[idx]
	ch.cell = nil
	s.publish()
	s.emit(ChildExited, ch.spec.ID, nil)
	if s.gaveUp || s.stopping {
		return
	}
	if ch.spec.Restart == Permanent {
		s.restart(idx, &Failure{Actor: s.c.path + "/" + ch.spec.ID, Reason: errNormalExit})
		return
	}
	s.removeAt(idx)
}

func (s *supervisorActor) logFailure(ch *childEntry, f *Failure) {
	ev := s.c.log.Error()
	if s.h.quiet {
		ev = s.c.log.Debug()
	}
	if f.Panic && f.Stack != "" {
		ev = ev.Str("stack", f.Stack)
	}
	ev.Str("child", ch.spec.ID).Err(f).Msg("child failed")
}

// allowRestart records a restart on the clock and reports whether the
// intensity still allows it.
func (s *supervisorActor) allowRestart() bool {
	in := s.h.intensity
	if in.MaxRestarts < 0 {
		return true
	}
	now := s.c.sys.clock.Now()
	kept := s.restarts[:0]
	for _, t := range s.restarts {
		if now.Sub(t) < in.Period {
			kept = append(kept, t)
		}
	}
	s.restarts = append(kept, now)
	return len(s.restarts) <= in.MaxRestarts
}

// restart restarts the children the strategy selects for the failure of
// children[idx]: it stops them in reverse order, then starts them in order.
func (s *supervisorActor) restart(idx int, f *Failure) {
	if !s.allowRestart() {
		in := s.h.intensity
		s.giveUp(&Failure{Actor: s.c.path, Reason: &IntensityExceeded{
			Supervisor: s.c.path, MaxRestarts: in.MaxRestarts, Period: in.Period, Last: f,
		}})
		return
	}
	from, to := idx, idx
	switch s.h.spec.Strategy {
	case OneForAll:
		from, to = 0, len(s.children)-1
	case RestForOne:
		to = len(s.children) - 1
	}
	for i := to; i >= from; i-- {
		s.stopEntry(s.children[i])
	}
	// Temporary siblings stopped by a group restart are not restarted.
	group := make([]*childEntry, 0, to-from+1)
	for i := from; i <= to; i++ {
		group = append(group, s.children[i])
	}
	for i := len(group) - 1; i >= 0; i-- {
		if ch := group[i]; ch.spec.Restart == Temporary && ch != s.children[idx] {
			s.removeAt(s.find(ch.spec.ID))
		}
	}
	s.startDown()
}

// startDown starts, in order, every child that is down. If one fails to
// start, the rest stay down and a retry is scheduled (which counts against
// the intensity like any restart).
func (s *supervisorActor) startDown() {
	if s.gaveUp || s.stopping {
		return
	}
	for _, ch := range s.children {
		if ch.cell != nil {
			continue
		}
		if err := s.spawn(ch); err != nil {
			f := errorFailure(s.c.path+"/"+ch.spec.ID, err)
			s.h.countFailure(ch.spec.ID)
			s.logFailure(ch, f)
			s.emit(ChildFailed, ch.spec.ID, f)
			s.publish()
			if !s.allowRestart() {
				in := s.h.intensity
				s.giveUp(&Failure{Actor: s.c.path, Reason: &IntensityExceeded{
					Supervisor: s.c.path, MaxRestarts: in.MaxRestarts, Period: in.Period, Last: f,
				}})
				return
			}
			s.scheduleRetry()
			return
		}
		s.publish()
		s.h.countRestart(ch.spec.ID)
		s.emit(ChildRestarted, ch.spec.ID, nil)
	}
	s.publish()
}

// retryDelay spaces out restart attempts of a child whose start keeps
// failing, so an unlimited intensity does not spin.
const retryDelay = 100 * time.Millisecond

func (s *supervisorActor) scheduleRetry() {
	if s.retrying {
		return
	}
	s.retrying = true
	self := s.c.Self()
	time.AfterFunc(retryDelay, func() { self.Send(retryRestart{}) })
}

// giveUp stops all children and escalates f to the parent.
func (s *supervisorActor) giveUp(f *Failure) {
	s.gaveUp = true
	s.stopAll()
	s.h.mu.Lock()
	s.h.escalation = f
	s.h.mu.Unlock()
	s.emit(GaveUp, "", f)
	s.c.log.Error().Err(f).Msg("supervisor giving up")
	if e, ok := s.c.pc.(escalator); ok {
		e.EscalateFailure(f, nil)
	}
}
