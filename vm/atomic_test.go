package vm

import (
	"context"
	"testing"

	"tova/bytecode"
	"tova/frontend/ast"
	"tova/frontend/parse"
	"tova/frontend/resolve"
)

// compileTova compiles src with the builtins registered so far (this
// package's own: enough for plain code).
func compileTova(t *testing.T, src string) *bytecode.Program {
	t.Helper()
	file, err := parse.ParseFile("t.tova", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	opts := resolve.Options{IsPredeclared: func(n string) bool { _, ok := LookupBuiltin(n); return ok }, PredeclaredNames: BuiltinNames()}
	if err := resolve.Resolve([]*ast.File{file}, opts); err != nil {
		t.Fatal(err)
	}
	p, err := bytecode.Compile([]bytecode.Source{{File: file, Text: []byte(src)}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// runTova runs src's top-level code and returns the instance.
func runTova(t *testing.T, src string) *Instance {
	t.Helper()
	p := compileTova(t, src)
	prog, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	in := prog.NewInstance(Config{})
	th := in.NewThread(context.Background())
	defer th.Release()
	if _, err := th.RunMain(); err != nil {
		t.Fatal(err)
	}
	return in
}

// A statement writing module state opens a bracket (ATOMIC) that every
// way out of it closes: its end, a return from inside it, an error
// caught by a try around it, an error out of the thread's call.
func TestAtomicBracketsClose(t *testing.T) {
	in := runTova(t, `var count = 0
fn plain() { count = count + 1 }
fn returns(c) {
  count = if c { return 1 } else { count + 1 }
  2
}
fn boom() { nil.x }
fn caught() {
  try { count = count + boom() } catch e { 3 }
}
fn thrown() { count = count + boom() }
fn nested() { count = count + plain_value() }
fn plain_value() { count = count + 1; 1 }
`)
	th := in.NewThread(context.Background())
	defer th.Release()
	fn := func(name string) Value {
		for i, g := range in.Prog.Code.Globals {
			if g == name {
				return in.Globals[i]
			}
		}
		t.Fatalf("no global %s", name)
		return Nil
	}
	for _, c := range []struct {
		name string
		args []Value
		fail bool
	}{
		{"plain", nil, false},
		{"returns", []Value{Bool(true)}, false},
		{"returns", []Value{Bool(false)}, false},
		{"caught", nil, false},
		{"thrown", nil, true},
		{"nested", nil, false},
	} {
		_, err := th.Call(fn(c.name), c.args...)
		if (err != nil) != c.fail {
			t.Errorf("%s: error %v", c.name, err)
		}
		if th.atomic != 0 {
			t.Errorf("%s%v: left %d brackets open", c.name, c.args, th.atomic)
		}
	}
	// plain and returns(false) add one each; nested reads 2, its call
	// makes 3, and it writes 2 + 1 (the read comes first, as in JS)
	if n := fn("count"); n.AsInt() != 3 {
		t.Errorf("count = %v, want 3", n)
	}
}
