package actors

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"tova/internal/testutil"
)

// manualClock is a Clock the test moves by hand.
type manualClock struct {
	mu sync.Mutex
	t  time.Time
}

func newManualClock() *manualClock {
	return &manualClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// journal records lifecycle calls in order.
type journal struct {
	mu    sync.Mutex
	lines []string
}

func (j *journal) add(format string, args ...any) {
	j.mu.Lock()
	j.lines = append(j.lines, fmt.Sprintf(format, args...))
	j.mu.Unlock()
}

func (j *journal) take() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := j.lines
	j.lines = nil
	return out
}

// probe is a test actor: it journals start/stop, panics on "panic",
// returns an error on "fail", exits on "exit", and answers chan replies.
type probe struct {
	id string
	j  *journal
}

type ping struct{ reply chan string }

func (p *probe) Start(*Context) error { p.j.add("start %s", p.id); return nil }
func (p *probe) Stop(*Context)        { p.j.add("stop %s", p.id) }
func (p *probe) Receive(c *Context, msg any) error {
	switch m := msg.(type) {
	case string:
		switch m {
		case "panic":
			panic("boom in " + p.id)
		case "fail":
			return errors.New("failed " + p.id)
		case "exit":
			c.Exit()
		}
	case ping:
		m.reply <- p.id
	}
	return nil
}

func probeSpec(id string, j *journal, r RestartType) ChildSpec {
	return ChildSpec{ID: id, Restart: r, Start: func() Actor { return &probe{id: id, j: j} }}
}

// events collects supervisor events.
type events struct {
	mu  sync.Mutex
	evs []Event
	ch  chan Event
}

func newEvents() *events { return &events{ch: make(chan Event, 1024)} }

func (e *events) on(ev Event) {
	e.mu.Lock()
	e.evs = append(e.evs, ev)
	e.mu.Unlock()
	e.ch <- ev
}

// wait returns the first event of the given kind (and child, if not empty).
func (e *events) wait(t *testing.T, kind EventKind, child string) Event {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case ev := <-e.ch:
			if ev.Kind == kind && (child == "" || ev.Child == child) {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %v event for %q", kind, child)
		}
	}
}

func newTestSystem(t *testing.T, clock Clock) *System {
	t.Helper()
	sys := NewSystem(Options{Name: "test", Clock: clock})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = sys.Stop(ctx)
	})
	return sys
}

func pingChild(t *testing.T, sup *Supervisor, id string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if ref, ok := sup.Child(id); ok {
			reply := make(chan string, 1)
			ref.Send(ping{reply: reply})
			select {
			case s := <-reply:
				return s
			case <-time.After(200 * time.Millisecond):
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("child %s does not answer", id)
	return ""
}

func TestChildrenStartInOrderAndStopInReverse(t *testing.T) {
	t.Parallel()
	sys := newTestSystem(t, nil)
	j := &journal{}
	sup := NewSupervisor(SupervisorSpec{
		Name: "order",
		Children: []ChildSpec{
			probeSpec("a", j, Permanent), probeSpec("b", j, Permanent), probeSpec("c", j, Permanent),
		},
	})
	if err := sys.Start(sup); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(j.take(), ","), "start a,start b,start c"; got != want {
		t.Fatalf("start order %q, want %q", got, want)
	}
	if got := strings.Join(sup.Children(), ","); got != "a,b,c" {
		t.Fatalf("children %q", got)
	}
	if err := sup.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(j.take(), ","), "stop c,stop b,stop a"; got != want {
		t.Fatalf("stop order %q, want %q", got, want)
	}
	select {
	case <-sup.Done():
	default:
		t.Fatal("Done not closed after Stop")
	}
}

func TestStartFailureStopsStartedChildren(t *testing.T) {
	t.Parallel()
	sys := newTestSystem(t, nil)
	j := &journal{}
	bad := ChildSpec{ID: "bad", Start: func() Actor { return failingStarter{} }}
	sup := NewSupervisor(SupervisorSpec{
		Name:     "startfail",
		Children: []ChildSpec{probeSpec("a", j, Permanent), probeSpec("b", j, Permanent), bad, probeSpec("c", j, Permanent)},
	})
	err := sys.Start(sup)
	if err == nil || !strings.Contains(err.Error(), "no database") {
		t.Fatalf("Start error = %v", err)
	}
	if got, want := strings.Join(j.take(), ","), "start a,start b,stop b,stop a"; got != want {
		t.Fatalf("journal %q, want %q", got, want)
	}
}

type failingStarter struct{}

func (failingStarter) Start(*Context) error        { return errors.New("no database") }
func (failingStarter) Receive(*Context, any) error { return nil }

func TestPanicRestartsChildAndIsCounted(t *testing.T) {
	t.Parallel()
	sys := newTestSystem(t, nil)
	j := &journal{}
	ev := newEvents()
	var decided []*Failure
	var mu sync.Mutex
	sup := NewSupervisor(SupervisorSpec{
		Name:     "restart",
		Children: []ChildSpec{probeSpec("a", j, Permanent), probeSpec("b", j, Permanent)},
		Decider: func(f *Failure) Directive {
			mu.Lock()
			decided = append(decided, f)
			mu.Unlock()
			return RestartChild
		},
		OnEvent: ev.on,
	})
	if err := sys.Start(sup); err != nil {
		t.Fatal(err)
	}
	j.take()
	ref, _ := sup.Child("b")
	ref.Send("panic")
	f := ev.wait(t, ChildFailed, "b").Failure
	ev.wait(t, ChildRestarted, "b")
	if !f.Panic || f.Actor != "restart/b" || !strings.Contains(f.Stack, "probe") || fmt.Sprint(f.Reason) != "boom in b" {
		t.Fatalf("failure = %+v", f)
	}
	if got, want := strings.Join(j.take(), ","), "stop b,start b"; got != want {
		t.Fatalf("journal %q, want %q", got, want)
	}
	if pingChild(t, sup, "b") != "b" {
		t.Fatal("restarted child does not answer")
	}
	st := sup.Stats()
	if st.Failures != 1 || st.Restarts != 1 || st.Children != 2 {
		t.Fatalf("stats %+v", st)
	}
	if cs := sup.ChildStats("b"); cs.Restarts != 1 || cs.Failures != 1 {
		t.Fatalf("child stats %+v", cs)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(decided) != 1 || decided[0] != f {
		t.Fatalf("decider saw %v", decided)
	}
}

func TestReturnedErrorIsAFailure(t *testing.T) {
	t.Parallel()
	sys := newTestSystem(t, nil)
	ev := newEvents()
	sup := NewSupervisor(SupervisorSpec{
		Name: "errs", Children: []ChildSpec{probeSpec("a", &journal{}, Permanent)}, OnEvent: ev.on,
	})
	if err := sys.Start(sup); err != nil {
		t.Fatal(err)
	}
	ref, _ := sup.Child("a")
	ref.Send("fail")
	f := ev.wait(t, ChildFailed, "a").Failure
	if f.Panic || f.Stack != "" || f.Error() != "actor errs/a failed: failed a" {
		t.Fatalf("failure = %+v (%v)", f, f)
	}
	ev.wait(t, ChildRestarted, "a")
}

// waitGaveUp waits until gave, the failure sup gave up with, has reached
// the system's OnEscalate (which sends it on escalated) and sup has
// stopped.
func waitGaveUp(t *testing.T, escalated <-chan *Failure, gave *Failure, sup *Supervisor) {
	t.Helper()
	select {
	case f := <-escalated:
		if f != gave {
			t.Fatalf("OnEscalate got %v", f)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no escalation reached the system")
	}
	select {
	case <-sup.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("supervisor did not stop")
	}
}

func TestIntensityExceededStopsChildrenAndEscalates(t *testing.T) {
	t.Parallel()
	clock := newManualClock()
	escalated := make(chan *Failure, 1)
	sys := NewSystem(Options{Clock: clock, OnEscalate: func(f *Failure) { escalated <- f }})
	t.Cleanup(func() { _ = sys.Stop(context.Background()) })
	j := &journal{}
	ev := newEvents()
	sup := NewSupervisor(SupervisorSpec{
		Name:      "fragile",
		Intensity: Intensity{MaxRestarts: 2, Period: 10 * time.Second},
		Children:  []ChildSpec{probeSpec("a", j, Permanent), probeSpec("b", j, Permanent)},
		OnEvent:   ev.on,
	})
	if err := sys.Start(sup); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		ref, _ := sup.Child("b")
		ref.Send("panic")
		ev.wait(t, ChildRestarted, "b")
		clock.Advance(time.Second)
	}
	j.take()
	ref, _ := sup.Child("b")
	ref.Send("panic") // third failure within 10 s
	gave := ev.wait(t, GaveUp, "").Failure
	var ie *IntensityExceeded
	if !errors.As(gave, &ie) || ie.MaxRestarts != 2 || ie.Last.Actor != "fragile/b" {
		t.Fatalf("escalated %v", gave)
	}
	waitGaveUp(t, escalated, gave, sup)
	if got, want := strings.Join(j.take(), ","), "stop b,stop a"; got != want {
		t.Fatalf("journal %q, want %q", got, want)
	}
	if sup.Escalation() != gave || sup.Stats().Restarts != 2 || sup.Stats().Failures != 3 {
		t.Fatalf("escalation %v stats %+v", sup.Escalation(), sup.Stats())
	}
}

// flakyStart is a child spec whose actor fails to start on the
// attempts listed in fail (1 is the first start), and is a probe on the
// others.
func flakyStart(id string, j *journal, fail ...int) ChildSpec {
	var mu sync.Mutex
	n := 0
	return ChildSpec{ID: id, Restart: Permanent, Start: func() Actor {
		mu.Lock()
		defer mu.Unlock()
		n++
		if slices.Contains(fail, n) {
			j.add("refuse %s", id)
			return failingStarter{}
		}
		return &probe{id: id, j: j}
	}}
}

func TestRestartThatFailsToStartIsRetried(t *testing.T) {
	t.Parallel()
	sys := newTestSystem(t, nil)
	j := &journal{}
	ev := newEvents()
	sup := NewSupervisor(SupervisorSpec{
		Name:      "retry",
		Intensity: Intensity{MaxRestarts: 5, Period: time.Minute},
		Children:  []ChildSpec{probeSpec("a", j, Permanent), flakyStart("b", j, 2, 3)},
		OnEvent:   ev.on,
	})
	if err := sys.Start(sup); err != nil {
		t.Fatal(err)
	}
	j.take()
	ref, _ := sup.Child("b")
	ref.Send("panic")
	// The panic, then the two refused starts, each a failure of its own.
	for i := range 3 {
		if f := ev.wait(t, ChildFailed, "b").Failure; i > 0 && !strings.Contains(f.Error(), "no database") {
			t.Fatalf("failure %d = %v", i, f)
		}
	}
	ev.wait(t, ChildRestarted, "b")
	if pingChild(t, sup, "b") != "b" || pingChild(t, sup, "a") != "a" {
		t.Fatal("children do not answer after the retries")
	}
	if got, want := strings.Join(j.take(), ","), "stop b,refuse b,refuse b,start b"; got != want {
		t.Fatalf("journal %q, want %q", got, want)
	}
	if cs := sup.ChildStats("b"); cs.Failures != 3 || cs.Restarts != 1 {
		t.Fatalf("child stats %+v", cs)
	}
}

func TestRestartThatNeverStartsGivesUp(t *testing.T) {
	t.Parallel()
	escalated := make(chan *Failure, 1)
	sys := NewSystem(Options{OnEscalate: func(f *Failure) { escalated <- f }})
	t.Cleanup(func() { _ = sys.Stop(context.Background()) })
	j := &journal{}
	ev := newEvents()
	sup := NewSupervisor(SupervisorSpec{
		Name:      "hopeless",
		Intensity: Intensity{MaxRestarts: 3, Period: time.Minute},
		Children:  []ChildSpec{probeSpec("a", j, Permanent), flakyStart("b", j, 2, 3, 4, 5, 6)},
		OnEvent:   ev.on,
	})
	if err := sys.Start(sup); err != nil {
		t.Fatal(err)
	}
	j.take()
	ref, _ := sup.Child("b")
	ref.Send("panic")
	gave := ev.wait(t, GaveUp, "").Failure
	var ie *IntensityExceeded
	if !errors.As(gave, &ie) || ie.MaxRestarts != 3 || !strings.Contains(ie.Last.Error(), "no database") {
		t.Fatalf("gave up with %v", gave)
	}
	waitGaveUp(t, escalated, gave, sup)
	// Three restarts fit in the minute: the one after the panic and two
	// retries. When the second retry's start fails too, a third retry
	// would be a fourth restart.
	if got, want := strings.Join(j.take(), ","), "stop b,refuse b,refuse b,refuse b,stop a"; got != want {
		t.Fatalf("journal %q, want %q", got, want)
	}
}

func TestIntensityWindowSlidesOnInjectedClock(t *testing.T) {
	t.Parallel()
	clock := newManualClock()
	sys := newTestSystem(t, clock)
	ev := newEvents()
	sup := NewSupervisor(SupervisorSpec{
		Name:      "sliding",
		Intensity: Intensity{MaxRestarts: 1, Period: 5 * time.Second},
		Children:  []ChildSpec{probeSpec("a", &journal{}, Permanent)},
		OnEvent:   ev.on,
	})
	if err := sys.Start(sup); err != nil {
		t.Fatal(err)
	}
	// One failure every 6 s never has two restarts inside 5 s.
	for range 5 {
		ref, _ := sup.Child("a")
		ref.Send("panic")
		ev.wait(t, ChildRestarted, "a")
		clock.Advance(6 * time.Second)
	}
	if sup.Stats().Restarts != 5 || sup.Escalation() != nil {
		t.Fatalf("stats %+v escalation %v", sup.Stats(), sup.Escalation())
	}
}

func TestNestedSupervisorGivingUpIsRestartedByParent(t *testing.T) {
	t.Parallel()
	sys := newTestSystem(t, newManualClock())
	j := &journal{}
	inner := NewSupervisor(SupervisorSpec{
		Name:      "inner",
		Intensity: Intensity{MaxRestarts: 0, Period: time.Second},
		Children:  []ChildSpec{probeSpec("x", j, Permanent)},
	})
	ev := newEvents()
	outer := NewSupervisor(SupervisorSpec{
		Name:     "outer",
		Children: []ChildSpec{probeSpec("a", j, Permanent), inner.ChildSpec(), probeSpec("z", j, Permanent)},
		Strategy: OneForOne,
		OnEvent:  ev.on,
	})
	if err := sys.Start(outer); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(j.take(), ","); got != "start a,start x,start z" {
		t.Fatalf("start %q", got)
	}
	ref, _ := inner.Child("x")
	ref.Send("panic")
	f := ev.wait(t, ChildFailed, "inner").Failure
	var ie *IntensityExceeded
	if !errors.As(f, &ie) || f.Actor != "outer/inner" {
		t.Fatalf("inner escalated %v", f)
	}
	ev.wait(t, ChildRestarted, "inner")
	if got := strings.Join(j.take(), ","); got != "stop x,start x" {
		t.Fatalf("after escalation %q", got)
	}
	if pingChild(t, inner, "x") != "x" {
		t.Fatal("inner child not back")
	}
	if outer.ChildStats("inner").Restarts != 1 || inner.Stats().Failures != 1 {
		t.Fatalf("outer %+v inner %+v", outer.ChildStats("inner"), inner.Stats())
	}
}

func TestGroupStrategiesRestartInOrder(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		strategy Strategy
		want     string
	}{
		{OneForOne, "stop b,start b"},
		{OneForAll, "stop c,stop b,stop a,start a,start b,start c"},
		{RestForOne, "stop c,stop b,start b,start c"},
	} {
		t.Run(tc.strategy.String(), func(t *testing.T) {
			t.Parallel()
			sys := newTestSystem(t, nil)
			j := &journal{}
			ev := newEvents()
			sup := NewSupervisor(SupervisorSpec{
				Name:     "group",
				Strategy: tc.strategy,
				Children: []ChildSpec{probeSpec("a", j, Permanent), probeSpec("b", j, Permanent), probeSpec("c", j, Permanent)},
				OnEvent:  ev.on,
			})
			if err := sys.Start(sup); err != nil {
				t.Fatal(err)
			}
			j.take()
			ref, _ := sup.Child("b")
			ref.Send("fail")
			ev.wait(t, ChildFailed, "b")
			// The restart is synchronous: once "c" (or "b") answers, all are back.
			for _, id := range []string{"a", "b", "c"} {
				pingChild(t, sup, id)
			}
			if got := strings.Join(j.take(), ","); got != tc.want {
				t.Fatalf("journal %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRestartTypes(t *testing.T) {
	t.Parallel()
	sys := newTestSystem(t, nil)
	j := &journal{}
	ev := newEvents()
	sup := NewSupervisor(SupervisorSpec{
		Name: "types",
		Children: []ChildSpec{
			probeSpec("perm", j, Permanent), probeSpec("trans", j, Transient),
			probeSpec("temp", j, Temporary), probeSpec("trans2", j, Transient),
		},
		OnEvent: ev.on,
	})
	if err := sys.Start(sup); err != nil {
		t.Fatal(err)
	}
	j.take()

	ref, _ := sup.Child("temp")
	ref.Send("panic") // temporary: not restarted
	ev.wait(t, ChildFailed, "temp")
	ref, _ = sup.Child("trans")
	ref.Send("exit") // transient, normal exit: not restarted
	ev.wait(t, ChildExited, "trans")
	ref, _ = sup.Child("trans2")
	ref.Send("panic") // transient, failure: restarted
	ev.wait(t, ChildRestarted, "trans2")
	ref, _ = sup.Child("perm")
	ref.Send("exit") // permanent, normal exit: restarted
	ev.wait(t, ChildRestarted, "perm")

	if got := strings.Join(sup.Children(), ","); got != "perm,trans2" {
		t.Fatalf("children %q", got)
	}
}

func TestDynamicChildren(t *testing.T) {
	t.Parallel()
	sys := newTestSystem(t, nil)
	j := &journal{}
	sup := NewSupervisor(SupervisorSpec{Name: "dyn", Children: []ChildSpec{probeSpec("a", j, Permanent)}})
	if err := sys.Start(sup); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := sup.StartChild(ctx, probeSpec("b", j, Permanent)); err != nil {
		t.Fatal(err)
	}
	if _, err := sup.StartChild(ctx, probeSpec("b", j, Permanent)); !errors.Is(err, ErrDuplicateChild) {
		t.Fatalf("duplicate: %v", err)
	}
	if err := sup.TerminateChild(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if err := sup.TerminateChild(ctx, "nope"); !errors.Is(err, ErrNoChild) {
		t.Fatalf("missing: %v", err)
	}
	if got := strings.Join(sup.Children(), ","); got != "b" {
		t.Fatalf("children %q", got)
	}
	if got := strings.Join(j.take(), ","); got != "start a,start b,stop a" {
		t.Fatalf("journal %q", got)
	}
}

// stuck ignores its context for a while when asked to.
// stuck blocks on "block" until release is closed; blocked, if set, is
// closed when it begins to.
type stuck struct{ release, blocked chan struct{} }

func (s *stuck) Receive(_ *Context, msg any) error {
	if msg == "block" {
		if s.blocked != nil {
			close(s.blocked)
		}
		<-s.release
	}
	return nil
}

func TestShutdownTimeoutAbandonsStuckChild(t *testing.T) {
	t.Parallel()
	sys := newTestSystem(t, nil)
	j := &journal{}
	release, blocked := make(chan struct{}), make(chan struct{})
	defer close(release)
	sup := NewSupervisor(SupervisorSpec{
		Name: "stuck",
		Children: []ChildSpec{
			probeSpec("a", j, Permanent),
			{ID: "s", Start: func() Actor { return &stuck{release: release, blocked: blocked} }, Shutdown: 50 * time.Millisecond},
		},
	})
	if err := sys.Start(sup); err != nil {
		t.Fatal(err)
	}
	ref, _ := sup.Child("s")
	ref.Send("block")
	<-blocked // (a stop before the child blocks would not wait for it)
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := sup.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 40*time.Millisecond || d > 2*time.Second {
		t.Fatalf("stop took %v", d)
	}
	if got := strings.Join(j.take(), ","); got != "start a,stop a" {
		t.Fatalf("journal %q", got)
	}
}

func TestLibraryLogsReachZerolog(t *testing.T) {
	t.Parallel()
	var buf testutil.Buffer
	log := zerolog.New(&buf).Level(zerolog.DebugLevel)
	sys := NewSystem(Options{Name: "logs", Logger: log})
	defer func() { _ = sys.Stop(context.Background()) }()
	out := buf.String()
	if !strings.Contains(out, `"message":"actor system started"`) || !strings.Contains(out, `"lib":"protoactor"`) ||
		!strings.Contains(out, `"level":"debug"`) || !strings.Contains(out, `"system":"logs"`) {
		t.Fatalf("log output %q", out)
	}
}
