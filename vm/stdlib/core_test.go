package stdlib

import (
	"context"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"tova/vm"
)

func TestPrint(t *testing.T) {
	e := newEnv(t)
	e.call(t, "print", S("Name:"), S("Alice"), S("Age:"), I(30))
	e.call(t, "print")
	e.call(t, "print", L(I(1), S("a"), nilV), O("a", I(1), "b", S("x")), F(2), F(0.5), vm.Duration(int64(90*time.Second)), vm.Size(5<<20))
	e.call(t, "print", vm.Ok(I(5)), vm.None, vm.Err(S("bad")))
	want := "Name: Alice Age: 30\n\n[1, \"a\", nil] { a: 1, b: \"x\" } 2 0.5 1m30s 5MB\nOk(5) None Err(\"bad\")\n"
	if got := e.out.String(); got != want {
		t.Errorf("print output:\n%q\nwant\n%q", got, want)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, io.ErrClosedPipe }

func TestPrintWriteError(t *testing.T) {
	e := newEnv(t)
	e.th.In.Cfg.Stdout = failWriter{}
	err := e.err(t, "print", S("x"))
	if err.Kind != "IOError" || !strings.Contains(err.Msg, "print:") {
		t.Errorf("print to a failing writer: %s %s", err.Kind, err.Msg)
	}
}

func TestLen(t *testing.T) {
	runCases(t, []tc{
		{"len", a(S("hello")), "5"},
		{"len", a(S("héllo")), "5"},
		{"len", a(S("日本語")), "3"},
		{"len", a(S("")), "0"},
		{"len", a(L(I(1), I(2), I(3))), "3"},
		{"len", a(L()), "0"},
		{"len", a(O("a", I(1), "b", I(2))), "2"},
		{"len", a(nilV), "0"},
		{"len", a(vm.NewRange(0, 10, 1)), "10"},
		{"len", a(vm.NewRange(0, 10, 3)), "4"},
		{"len", a(vm.NewRange(10, 0, -1)), "10"},
	})
	runErrCases(t, []ec{
		{"len", a(I(5)), "TypeError", "len: expected String, List, Object or Range, got Int"},
	})
}

func TestTypeOf(t *testing.T) {
	runCases(t, []tc{
		{"type_of", a(I(42)), `"Int"`},
		{"type_of", a(F(3.14)), `"Float"`},
		{"type_of", a(S("x")), `"String"`},
		{"type_of", a(B(true)), `"Bool"`},
		{"type_of", a(L()), `"List"`},
		{"type_of", a(nilV), `"Nil"`},
		{"type_of", a(O()), `"Object"`},
		{"type_of", a(vm.Ok(I(1))), `"Ok"`},
		{"type_of", a(vm.None), `"None"`},
		{"type_of", a(vm.Duration(1)), `"Duration"`},
		{"type_of", a(vm.Size(1)), `"Size"`},
		{"type_of", a(vm.NewRange(0, 1, 1)), `"Range"`},
	})
	e := newEnv(t)
	eq(t, "type_of(print)", e.call(t, "type_of", builtin(t, "print")), `"Function"`)
}

func TestRange(t *testing.T) {
	e := newEnv(t)
	r := e.call(t, "range", I(5))
	kindIs(t, "range(5)", r, vm.KRange)
	eq(t, "range(5)", r, "0..5")
	cases := []struct {
		args []vm.Value
		want string
	}{
		{a(I(5)), "[0, 1, 2, 3, 4]"},
		{a(I(2), I(7)), "[2, 3, 4, 5, 6]"},
		{a(I(0), I(10), I(2)), "[0, 2, 4, 6, 8]"},
		{a(I(10), I(0), I(-1)), "[10, 9, 8, 7, 6, 5, 4, 3, 2, 1]"},
		{a(I(5), I(0)), "[5, 4, 3, 2, 1]"},
		{a(I(0)), "[]"},
		{a(I(-3)), "[]"},
		{a(F(3)), "[0, 1, 2]"},
		{a(I(0), I(10), I(-1)), "[]"},
		{a(I(2), nilV, nilV), "[0, 1]"},
	}
	for _, c := range cases {
		r := e.call(t, "range", c.args...)
		eq(t, "list(range("+reprArgs(c.args)+"))", e.call(t, "map", r, builtin(t, "identity")), c.want)
	}
	runErrCases(t, []ec{
		{"range", a(I(0), I(10), I(0)), "ValueError", "range: step must not be zero"},
		{"range", a(S("a")), "TypeError", "range: expected Int, got String"},
		{"range", a(F(1.5)), "TypeError", "range: expected Int, got Float"},
		{"range", a(), "TypeError", "range takes 1 to 3 arguments (start, end, step), got 0"},
	})
	// Lazy: a huge range is fine until it is materialised.
	big := e.call(t, "range", I(1<<62))
	eq(t, "len(range(1<<62))", e.call(t, "len", big), "4611686018427387904")
	eq(t, "first(range(1<<62))", e.call(t, "first", big), "0")
	eq(t, "take(range(1<<62), 3)", e.call(t, "take", big, I(3)), "[0, 1, 2]")
	eq(t, "contains(range(1<<62), 7)", e.call(t, "contains", big, I(7)), "true")
	if err := e.err(t, "sorted", big); !strings.Contains(err.Msg, "too large") {
		t.Errorf("sorted(huge range): %v", err.Msg)
	}
}

func TestEnumerate(t *testing.T) {
	runCases(t, []tc{
		{"enumerate", a(L(S("a"), S("b"), S("c"))), `[[0, "a"], [1, "b"], [2, "c"]]`},
		{"enumerate", a(L()), "[]"},
		{"enumerate", a(L(S("a")), I(1)), `[[1, "a"]]`},
		{"enumerate", a(S("hé")), `[[0, "h"], [1, "é"]]`},
		{"enumerate", a(vm.NewRange(5, 7, 1)), `[[0, 5], [1, 6]]`},
	})
	runErrCases(t, []ec{{"enumerate", a(I(3)), "TypeError", "enumerate: expected List, got Int"}})
}

// seqHost is a host iterable yielding 0..n-1, counting how far it was read.
type seqHost struct {
	n    int
	read int
}

func (s *seqHost) TypeName() string                                   { return "Stream" }
func (s *seqHost) GetAttr(*vm.Thread, string) (vm.Value, bool, error) { return vm.Nil, false, nil }
func (s *seqHost) SetAttr(*vm.Thread, string, vm.Value) error         { return errors.New("read-only") }
func (s *seqHost) Iterator(*vm.Thread) (vm.Iterator, error)           { return &seqIter{s: s}, nil }

type seqIter struct{ s *seqHost }

func (it *seqIter) Next(*vm.Thread) (vm.Value, bool, error) {
	if it.s.read >= it.s.n {
		return vm.Nil, false, nil
	}
	it.s.read++
	return vm.Int(int64(it.s.read - 1)), true, nil
}

func TestEach(t *testing.T) {
	e := newEnv(t)
	var seen []string
	rec := goFn("rec", func(args []vm.Value) (vm.Value, error) {
		seen = append(seen, vm.Repr(args[0]))
		return vm.Nil, nil
	})
	if v := e.call(t, "each", L(I(1), I(2)), rec); !v.IsNil() {
		t.Errorf("each returned %s", vm.Repr(v))
	}
	e.call(t, "each", vm.NewRange(0, 3, 1), rec)
	e.call(t, "each", S("hé"), rec)
	e.call(t, "each", O("k", I(1)), rec)
	h := &seqHost{n: 3}
	e.call(t, "each", vm.HostValue(h), rec)
	if got := strings.Join(seen, " "); got != `1 2 0 1 2 "h" "é" ["k", 1] 0 1 2` {
		t.Errorf("each saw %s", got)
	}
	// An error from the callback stops the iteration.
	h2 := &seqHost{n: 10}
	stop := goFn("stop", func(args []vm.Value) (vm.Value, error) {
		if args[0].AsInt() == 2 {
			return vm.Nil, vm.Errorf("Error", "stop at 2")
		}
		return vm.Nil, nil
	})
	if err := e.err(t, "each", vm.HostValue(h2), stop); err.Msg != "stop at 2" || h2.read != 3 {
		t.Errorf("each with failing callback: %v, read %d", err.Msg, h2.read)
	}
	runErrCases(t, []ec{
		{"each", a(L(I(1)), I(3)), "TypeError", "each: expected Function, got Int"},
		{"each", a(nilV, rec), "TypeError", "each: expected List, got Nil"},
		{"each", a(vm.HostValue(&Namespace{name: "X"}), rec), "TypeError", "each: expected List, got Object"},
	})
}

func TestEachClosureGetsIndex(t *testing.T) {
	e := newEnv(t)
	cl := closures(t, e)
	eq(t, "map(xs, fn(x, i) x + i)", e.call(t, "map", L(I(10), I(20), I(30)), cl[1]), "[10, 21, 32]")
	eq(t, "map(xs, fn(x) x * 2)", e.call(t, "map", L(I(1), I(2)), cl[0]), "[2, 4]")
	eq(t, "filter(xs, fn(x) x > 2)", e.call(t, "filter", vm.NewRange(0, 6, 1), cl[3]), "[3, 4, 5]")
	eq(t, "sorted(xs, fn(a, b) b - a)", e.call(t, "sorted", L(I(3), I(1), I(2)), cl[2]), "[3, 2, 1]")
	eq(t, "reduce(xs, fn(a, b) b - a)", e.call(t, "reduce", L(I(1), I(2), I(10)), cl[2]), "9")
	eq(t, "Some(4).map(fn(x) x * 2)", e.call(t, "map", vm.Some(I(4)), cl[0]), "Some(8)")
}

func TestIsEmpty(t *testing.T) {
	runCases(t, []tc{
		{"is_empty", a(S("")), "true"},
		{"is_empty", a(S("x")), "false"},
		{"is_empty", a(L()), "true"},
		{"is_empty", a(L(nilV)), "false"},
		{"is_empty", a(O()), "true"},
		{"is_empty", a(nilV), "true"},
		{"is_empty", a(vm.None), "true"},
		{"is_empty", a(vm.NewRange(1, 1, 1)), "true"},
		{"is_empty", a(I(0)), "false"},
	})
}

func TestConversions(t *testing.T) {
	runCases(t, []tc{
		{"to_int", a(S("42")), "42"},
		{"to_int", a(S(" -7 ")), "-7"},
		{"to_int", a(S("3.7")), "3"},
		{"to_int", a(S("-3.7")), "-3"},
		{"to_int", a(S("1e3")), "1000"},
		{"to_int", a(S("0x1F")), "31"},
		{"to_int", a(S("-0b101")), "-5"},
		{"to_int", a(S("abc")), "nil"},
		{"to_int", a(S("")), "nil"},
		{"to_int", a(S("12abc")), "nil"},
		{"to_int", a(S("Infinity")), "nil"},
		{"to_int", a(S("99999999999999999999")), "nil"},
		{"to_int", a(F(3.7)), "3"},
		{"to_int", a(F(-3.7)), "-3"},
		{"to_int", a(F(math.NaN())), "nil"},
		{"to_int", a(F(1e30)), "nil"},
		{"to_int", a(B(true)), "1"},
		{"to_int", a(B(false)), "0"},
		{"to_int", a(nilV), "nil"},
		{"to_int", a(L()), "nil"},
		{"int", a(S("5")), "5"},
		{"toInt", a(S("5")), "5"},
		{"to_float", a(S("3.14")), "3.14"},
		{"to_float", a(S("42")), "42"},
		{"to_float", a(B(true)), "1"},
		{"to_float", a(S("abc")), "nil"},
		{"to_float", a(S("nan")), "nil"},
		{"to_float", a(S("inf")), "nil"},
		{"to_float", a(S("-Infinity")), "-Infinity"},
		{"to_float", a(I(2)), "2"},
		{"float", a(S("1.5")), "1.5"},
		{"to_string", a(I(42)), `"42"`},
		{"to_string", a(F(3.14)), `"3.14"`},
		{"to_string", a(B(true)), `"true"`},
		{"to_string", a(nilV), `"nil"`},
		{"to_string", a(vm.Ok(I(5))), `"Ok(5)"`},
		{"to_string", a(vm.None), `"None"`},
		{"to_string", a(S("x")), `"x"`},
		{"str", a(L(S("a"))), `"[\"a\"]"`},
		{"toString", a(I(1)), `"1"`},
		{"to_bool", a(S("")), "false"},
		{"to_bool", a(S("0")), "false"},
		{"to_bool", a(S("false")), "false"},
		{"to_bool", a(S("hello")), "true"},
		{"to_bool", a(I(0)), "false"},
		{"to_bool", a(I(1)), "true"},
		{"to_bool", a(nilV), "false"},
		{"to_bool", a(L()), "true"},
	})
	e := newEnv(t)
	kindIs(t, "to_float(42)", e.call(t, "to_float", S("42")), vm.KFloat)
	kindIs(t, "to_int(3.7)", e.call(t, "to_int", F(3.7)), vm.KInt)
}

func TestAssertions(t *testing.T) {
	runCases(t, []tc{
		{"assert", a(B(true)), "nil"},
		{"assert", a(I(0)), "nil"}, // 0 is truthy
		{"assert_eq", a(I(4), I(4)), "nil"},
		{"assert_eq", a(I(1), F(1)), "nil"},
		{"assert_eq", a(L(I(1)), L(I(1))), "nil"},
		{"assert_ne", a(I(1), I(2)), "nil"},
	})
	runErrCases(t, []ec{
		{"assert", a(B(false)), "AssertionError", "Assertion failed"},
		{"assert", a(nilV, S("must be true")), "AssertionError", "must be true"},
		{"assert_eq", a(I(4), I(5)), "AssertionError", "Assertion failed: 4 != 5"},
		{"assert_eq", a(S("a"), S("b"), S("x should be b")), "AssertionError", `x should be b: "a" != "b"`},
		{"assert_ne", a(I(5), I(5)), "AssertionError", "both are 5"},
		{"panic", a(S("boom")), "Error", "boom"},
		{"panic", a(I(3)), "Error", "3"},
	})
	e := newEnv(t)
	err := e.err(t, "panic", S("boom"))
	eq(t, "panic value", err.Value, `"boom"`)

	eq(t, "assert_throws(boom)", e.call(t, "assert_throws", boom), `"boom"`)
	eq(t, "assert_throws(boom, oo)", e.call(t, "assert_throws", boom, S("oo")), `"boom"`)
	if err := e.err(t, "assert_throws", boom, S("zz")); !strings.Contains(err.Msg, `Expected error containing "zz" but got "boom"`) {
		t.Errorf("assert_throws mismatch: %s", err.Msg)
	}
	if err := e.err(t, "assert_throws", builtin(t, "random")); !strings.Contains(err.Msg, "did not") {
		t.Errorf("assert_throws without error: %s", err.Msg)
	}
	eq(t, "try_fn(boom)", e.call(t, "try_fn", boom), `Err("boom")`)
	eq(t, "try_fn(random)", e.call(t, "type_of", e.call(t, "try_fn", builtin(t, "random"))), `"Ok"`)
	cancel := goFn("cancel", func([]vm.Value) (vm.Value, error) { return vm.Nil, vm.Errorf(vm.ErrCancelled, "cancelled") })
	if err := e.err(t, "try_fn", cancel); err.Kind != vm.ErrCancelled {
		t.Errorf("try_fn must not catch cancellation: %v", err)
	}
}

func TestSleep(t *testing.T) {
	e := newEnv(t)
	start := time.Now()
	e.call(t, "sleep", vm.Duration(int64(20*time.Millisecond)))
	e.call(t, "sleep", I(10))
	e.call(t, "sleep", F(1.5))
	e.call(t, "sleep", I(-5))
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Errorf("sleeps took %v", d)
	}
	runErrCases(t, []ec{{"sleep", a(S("1s")), "TypeError", "sleep: expected Duration or Int milliseconds, got String"}})

	ctx, cancel := context.WithCancel(context.Background())
	e2 := newEnvCtx(t, ctx)
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	start = time.Now()
	err := e2.err(t, "sleep", vm.Duration(int64(10*time.Second)))
	if err.Kind != vm.ErrCancelled || time.Since(start) > 5*time.Second {
		t.Errorf("cancelled sleep: %s %s after %v", err.Kind, err.Msg, time.Since(start))
	}
	// Already cancelled: returns at once, even for zero durations.
	if err := e2.err(t, "sleep", I(0)); err.Kind != vm.ErrCancelled {
		t.Errorf("sleep on a cancelled thread: %v", err)
	}
}

func TestSleepReleasesScheduler(t *testing.T) {
	e := newEnv(t)
	g := vm.NewGIL(time.Millisecond)
	e.th.In.Sched = g
	e.th.Enter()
	defer e.th.Leave()
	other := e.th.In.NewThread(context.Background())
	defer other.Release()
	got := make(chan struct{})
	go func() {
		other.Enter() // succeeds only while the first thread sleeps
		other.Leave()
		close(got)
	}()
	e.call(t, "sleep", I(200))
	select {
	case <-got:
	default:
		t.Error("another thread could not run while sleep was waiting")
	}
}
