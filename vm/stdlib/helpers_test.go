package stdlib

import (
	"bytes"
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	bc "tova/bytecode"
	"tova/vm"
)

// Value constructors for tests.
func I(n int64) vm.Value   { return vm.Int(n) }
func F(f float64) vm.Value { return vm.Float(f) }
func S(s string) vm.Value  { return vm.Str(s) }
func B(b bool) vm.Value    { return vm.Bool(b) }
func L(xs ...vm.Value) vm.Value {
	if xs == nil {
		xs = []vm.Value{}
	}
	return vm.NewArray(xs)
}

// O builds an object from alternating keys and values.
func O(kv ...any) vm.Value {
	o := vm.NewObject()
	for i := 0; i+1 < len(kv); i += 2 {
		o.Set(kv[i].(string), kv[i+1].(vm.Value))
	}
	return vm.ObjectValue(o)
}

var nilV = vm.Nil

// testEnv is a thread with a captured stdout and a fixed clock.
type testEnv struct {
	th  *vm.Thread
	out *bytes.Buffer
	env map[string]string
	now time.Time
}

var clock0 = time.Date(2024, 1, 15, 10, 30, 0, 0, time.UTC)

func newEnv(t testing.TB) *testEnv {
	return newEnvCtx(t, context.Background())
}

func newEnvCtx(t testing.TB, ctx context.Context) *testEnv {
	prog, err := vm.Load(&bc.Program{Funcs: []*bc.Func{{Name: "main", NumRegs: 1, Code: []bc.Instr{bc.Make(bc.RETNIL, 0, 0, 0)}}}})
	if err != nil {
		t.Fatal(err)
	}
	e := &testEnv{out: &bytes.Buffer{}, env: map[string]string{"HOME_DIR": "/home/x", "EMPTY": ""}, now: clock0}
	in := prog.NewInstance(vm.Config{
		Stdout: e.out,
		Now:    func() time.Time { return e.now },
		Getenv: func(k string) (string, bool) { v, ok := e.env[k]; return v, ok },
		Args:   []string{"a", "b"},
	})
	e.th = in.NewThread(ctx)
	t.Cleanup(e.th.Release)
	return e
}

// builtin returns the registered builtin value named name.
func builtin(t testing.TB, name string) vm.Value {
	t.Helper()
	v, ok := vm.LookupBuiltin(name)
	if !ok {
		t.Fatalf("no builtin %q", name)
	}
	return v
}

func (e *testEnv) callValue(fn vm.Value, args ...vm.Value) (vm.Value, error) {
	return e.th.Call(fn, args...)
}

// call calls builtin name and fails the test on error.
func (e *testEnv) call(t testing.TB, name string, args ...vm.Value) vm.Value {
	t.Helper()
	v, err := e.callValue(builtin(t, name), args...)
	if err != nil {
		t.Fatalf("%s(%s): unexpected error: %v", name, reprArgs(args), err)
	}
	return v
}

// err calls builtin name and returns its error (failing when there is none).
func (e *testEnv) err(t testing.TB, name string, args ...vm.Value) *vm.Error {
	t.Helper()
	v, err := e.callValue(builtin(t, name), args...)
	if err == nil {
		t.Fatalf("%s(%s) = %s, want an error", name, reprArgs(args), vm.Repr(v))
	}
	ve, ok := err.(*vm.Error)
	if !ok {
		t.Fatalf("%s(%s): error %T %v is not a *vm.Error", name, reprArgs(args), err, err)
	}
	return ve
}

func reprArgs(args []vm.Value) string {
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = vm.Repr(a)
	}
	return strings.Join(parts, ", ")
}

// eq checks that got shows as want (vm.Repr).
func eq(t testing.TB, what string, got vm.Value, want string) {
	t.Helper()
	if r := vm.Repr(got); r != want {
		t.Errorf("%s = %s, want %s", what, r, want)
	}
}

// kindIs checks the dynamic type of v.
func kindIs(t testing.TB, what string, v vm.Value, k vm.Kind) {
	t.Helper()
	if v.Kind() != k {
		t.Errorf("%s: kind %s, want %s (%s)", what, v.Kind(), k, vm.Repr(v))
	}
}

// tc is one builtin call and the Repr of its expected result.
type tc struct {
	name string
	args []vm.Value
	want string
}

func a(xs ...vm.Value) []vm.Value { return xs }

func runCases(t *testing.T, cases []tc) {
	t.Helper()
	e := newEnv(t)
	for _, c := range cases {
		got := e.call(t, c.name, c.args...)
		eq(t, c.name+"("+reprArgs(c.args)+")", got, c.want)
	}
}

// ec is one builtin call expected to fail with an error of kind whose
// message contains msg.
type ec struct {
	name string
	args []vm.Value
	kind string
	msg  string
}

func runErrCases(t *testing.T, cases []ec) {
	t.Helper()
	e := newEnv(t)
	for _, c := range cases {
		err := e.err(t, c.name, c.args...)
		if c.kind != "" && err.Kind != c.kind {
			t.Errorf("%s(%s): error kind %s, want %s (%s)", c.name, reprArgs(c.args), err.Kind, c.kind, err.Msg)
		}
		if !strings.Contains(err.Msg, c.msg) {
			t.Errorf("%s(%s): error %q, want it to contain %q", c.name, reprArgs(c.args), err.Msg, c.msg)
		}
	}
}

// goFn makes a builtin function value for use as a callback.
// refusal is a builtin call expected to fail with an error whose
// message starts with want, before it builds the value too large to
// make. call names it: its arguments may be too large to show.
type refusal struct {
	call string
	name string
	args []vm.Value
	want string
}

// runRefusals checks each refusal, and that the call allocated at most
// a value within the limits (what it built before it knew).
func runRefusals(t *testing.T, cases []refusal) {
	t.Helper()
	e := newEnv(t)
	for _, c := range cases {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := e.callValue(builtin(t, c.name), c.args...)
		runtime.ReadMemStats(&after)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s: %v, want %s", c.call, err, c.want)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > vm.MaxStringBytes {
			t.Errorf("%s allocated %d bytes", c.call, n)
		}
	}
}

func goFn(name string, f func(args []vm.Value) (vm.Value, error)) vm.Value {
	return vm.BuiltinValue(&vm.Builtin{Name: name, Fn: func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		return f(args)
	}})
}

var (
	double = goFn("double", func(args []vm.Value) (vm.Value, error) { return vm.Int(args[0].AsInt() * 2), nil })
	isEven = goFn("is_even", func(args []vm.Value) (vm.Value, error) { return vm.Bool(args[0].AsInt()%2 == 0), nil })
	gt2    = goFn("gt2", func(args []vm.Value) (vm.Value, error) { return vm.Bool(args[0].Number() > 2), nil })
	add    = goFn("add", func(args []vm.Value) (vm.Value, error) { return vm.Arith('+', args[0], args[1]) })
	negF   = goFn("neg", func(args []vm.Value) (vm.Value, error) { return vm.Int(-args[0].AsInt()), nil })
	boom   = goFn("boom", func(args []vm.Value) (vm.Value, error) { return vm.Nil, vm.Errorf("Error", "boom") })
	getN   = goFn("get_n", func(args []vm.Value) (vm.Value, error) { return field(args[0], "n"), nil })
)

func mk(op bc.Op, a, b, c int) bc.Instr { return bc.Make(op, a, b, c) }

// closures returns Tova closures assembled by hand:
//
//	[0] fn(x) x * 2
//	[1] fn(x, i) x + i
//	[2] fn(a, b) b - a        (a descending comparator)
//	[3] fn(x) x > 2
func closures(t testing.TB, e *testEnv) []vm.Value {
	p := &bc.Program{
		Files:     []bc.SourceFile{{Name: "cb.tova"}},
		Constants: []bc.Constant{{Kind: bc.KInt, Int: 2}},
		Funcs: []*bc.Func{
			{Name: "main", NumRegs: 5, Code: []bc.Instr{
				mk(bc.CLOSURE, 0, 1, 0),
				mk(bc.CLOSURE, 1, 2, 0),
				mk(bc.CLOSURE, 2, 3, 0),
				mk(bc.CLOSURE, 3, 4, 0),
				mk(bc.NEWARRAY, 4, 0, 4),
				mk(bc.RET, 4, 0, 0),
			}},
			{Name: "double", NumParams: 1, ParamNames: []string{"x"}, ParamTypes: []string{""}, NumRegs: 2, Code: []bc.Instr{
				mk(bc.MULK, 1, 0, 0),
				mk(bc.RET, 1, 0, 0),
			}},
			{Name: "addi", NumParams: 2, ParamNames: []string{"x", "i"}, ParamTypes: []string{"", ""}, NumRegs: 3, Code: []bc.Instr{
				mk(bc.ADD, 2, 0, 1),
				mk(bc.RET, 2, 0, 0),
			}},
			{Name: "desc", NumParams: 2, ParamNames: []string{"a", "b"}, ParamTypes: []string{"", ""}, NumRegs: 3, Code: []bc.Instr{
				mk(bc.SUB, 2, 1, 0),
				mk(bc.RET, 2, 0, 0),
			}},
			{Name: "gt2", NumParams: 1, ParamNames: []string{"x"}, ParamTypes: []string{""}, NumRegs: 2, Code: []bc.Instr{
				mk(bc.GTK, 1, 0, 0),
				mk(bc.RET, 1, 0, 0),
			}},
		},
	}
	prog, err := vm.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	th := prog.NewInstance(vm.Config{Stdout: e.out}).NewThread(context.Background())
	defer th.Release()
	v, err := th.RunMain()
	if err != nil {
		t.Fatal(err)
	}
	if v.Kind() != vm.KArray || len(v.AsArray().Elems) != 4 {
		t.Fatalf("closures program returned %s", vm.Repr(v))
	}
	return v.AsArray().Elems
}
