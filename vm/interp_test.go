package vm

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	bc "tova/bytecode"
)

func mk(op bc.Op, a, b, c int) bc.Instr { return bc.Make(op, a, b, c) }

// fibProgram is hand-assembled: fib(n) { if n < 2 { n } else { fib(n-1) + fib(n-2) } }
func fibProgram(n int64) *bc.Program {
	return &bc.Program{
		Files:     []bc.SourceFile{{Name: "fib.tova"}},
		Constants: []bc.Constant{{Kind: bc.KInt, Int: 2}, {Kind: bc.KInt, Int: 1}, {Kind: bc.KInt, Int: n}},
		Globals:   []string{"fib"},
		Funcs: []*bc.Func{
			{Name: "main", NumRegs: 3, Code: []bc.Instr{
				mk(bc.CLOSURE, 0, 1, 0),
				mk(bc.SETG, 0, 0, 0),
				mk(bc.GETG, 1, 0, 0),
				mk(bc.LOADK, 2, 2, 0),
				mk(bc.CALL, 1, 1, 0),
				mk(bc.RET, 1, 0, 0),
			}},
			{Name: "fib", NumParams: 1, ParamNames: []string{"n"}, ParamTypes: []string{""}, NumRegs: 4, Code: []bc.Instr{
				mk(bc.JNLTK, 0, 0, 2),
				mk(bc.RET, 0, 0, 0),
				mk(bc.GETG, 1, 0, 0),
				mk(bc.SUBK, 2, 0, 1),
				mk(bc.CALL, 1, 1, 0),
				mk(bc.GETG, 2, 0, 0),
				mk(bc.SUBK, 3, 0, 0),
				mk(bc.CALL, 2, 1, 0),
				mk(bc.ADD, 1, 1, 2),
				mk(bc.RET, 1, 0, 0),
			}},
		},
	}
}

func runProgram(t testing.TB, p *bc.Program, ctx context.Context) (Value, error) {
	prog, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	th := prog.NewInstance(Config{Stdout: &out}).NewThread(ctx)
	defer th.Release()
	return th.RunMain()
}

func TestFibAssembled(t *testing.T) {
	v, err := runProgram(t, fibProgram(20), context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if v.Kind() != KInt || v.AsInt() != 6765 {
		t.Fatalf("fib(20) = %s", Repr(v))
	}
}

// sumLoop: s = 0; for i in range(n) { s = s + i }; return s
func sumLoop(n int64) *bc.Program {
	return &bc.Program{
		Files:     []bc.SourceFile{{Name: "sum.tova"}},
		Constants: []bc.Constant{{Kind: bc.KInt, Int: n}},
		Funcs: []*bc.Func{{Name: "main", NumRegs: 5, Code: []bc.Instr{
			mk(bc.LOADINT, 0, bc.SBias, 0),   // s = 0
			mk(bc.LOADINT, 1, bc.SBias, 0),   // start
			mk(bc.LOADK, 2, 0, 0),            // limit
			mk(bc.LOADINT, 3, bc.SBias+1, 0), // step
			mk(bc.FORPREP, 1, 7, 0),
			mk(bc.ADD, 0, 0, 4),
			mk(bc.FORLOOP, 1, 5, 0),
			mk(bc.RET, 0, 0, 0),
		}}},
	}
}

func TestSumLoop(t *testing.T) {
	v, err := runProgram(t, sumLoop(1000), context.Background())
	if err != nil || v.AsInt() != 499500 {
		t.Fatalf("sum = %s, %v", Repr(v), err)
	}
}

// A FORLOOP reached without its FORPREP (a crafted .tbc) finds a String
// in its counter register: the step makes it an Int, and never gives
// the String a length past its bytes.
func TestForLoopOnAString(t *testing.T) {
	p := &bc.Program{Files: []bc.SourceFile{{Name: "f.tova"}},
		Constants: []bc.Constant{{Kind: bc.KString, Str: "abc"}},
		Funcs: []*bc.Func{{Name: "main", NumRegs: 4, Code: []bc.Instr{
			mk(bc.LOADK, 0, 0, 0),               // R[A] = "abc"
			mk(bc.LOADINT, 1, bc.SBias+1000, 0), // limit
			mk(bc.LOADINT, 2, bc.SBias+100, 0),  // step
			mk(bc.FORLOOP, 0, 5, 0),             // 3 + 100 < 1000: on to 5
			mk(bc.RETNIL, 0, 0, 0),
			mk(bc.RET, 0, 0, 0),
		}}}}
	v, err := runProgram(t, p, context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if v.Kind() != KInt || v.AsInt() != 103 {
		t.Fatalf("R[A] after the step = %s (%s), want the Int 103", Repr(v), TypeName(v))
	}
}

// Pushing on a String (a crafted .tbc) would write into the String's
// bytes as if they were a list: the loader refuses the program.
func TestLoadRefusesPushOnAString(t *testing.T) {
	p := &bc.Program{Files: []bc.SourceFile{{Name: "p.tova"}},
		Constants: []bc.Constant{{Kind: bc.KString, Str: "abc"}},
		Funcs: []*bc.Func{{Name: "main", NumRegs: 2, Code: []bc.Instr{
			mk(bc.LOADK, 0, 0, 0),
			mk(bc.ARRPUSH, 0, 1, 0),
			mk(bc.RET, 0, 0, 0),
		}}}}
	_, err := Load(p)
	if err == nil || !strings.Contains(err.Error(), "pc 1 (ARRPUSH): r0 may not hold a list here") {
		t.Fatalf("Load = %v, want ARRPUSH refused", err)
	}
}

func TestInfiniteLoopCancelled(t *testing.T) {
	p := &bc.Program{Files: []bc.SourceFile{{Name: "loop.tova"}}, Funcs: []*bc.Func{{Name: "main", NumRegs: 1, Code: []bc.Instr{
		mk(bc.NOP, 0, 0, 0),
		mk(bc.JMP, 0, 0, 0),
	}}}}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := runProgram(t, p, ctx)
	if e, ok := err.(*Error); !ok || e.Kind != ErrCancelled {
		t.Fatalf("want cancellation, got %v", err)
	}
	if d := time.Since(start); d > 200*time.Millisecond {
		t.Fatalf("loop stopped after %v", d)
	}
}

func TestIntOverflowIsError(t *testing.T) {
	p := &bc.Program{Files: []bc.SourceFile{{Name: "o.tova"}},
		Constants: []bc.Constant{{Kind: bc.KInt, Int: 1 << 62}},
		Funcs: []*bc.Func{{Name: "main", NumRegs: 2, Code: []bc.Instr{
			mk(bc.LOADK, 0, 0, 0),
			mk(bc.ADD, 1, 0, 0),
			mk(bc.RET, 1, 0, 0),
		}}}}
	_, err := runProgram(t, p, context.Background())
	if e, ok := err.(*Error); !ok || e.Kind != "OverflowError" {
		t.Fatalf("want overflow, got %v", err)
	}
}

func BenchmarkFib25Assembled(b *testing.B) {
	p := fibProgram(25)
	for i := 0; i < b.N; i++ {
		runProgram(b, p, context.Background())
	}
}

func BenchmarkSumLoop1M(b *testing.B) {
	p := sumLoop(1000000)
	for i := 0; i < b.N; i++ {
		runProgram(b, p, context.Background())
	}
}

// Int arithmetic never allocates: the allocations of a run do not grow
// with the number of loop iterations.
func TestIntLoopDoesNotAllocate(t *testing.T) {
	allocs := func(n int64) float64 {
		p := sumLoop(n)
		return testing.AllocsPerRun(5, func() { runProgram(t, p, context.Background()) })
	}
	small, big := allocs(10), allocs(100000)
	if big > small {
		t.Fatalf("100000 iterations allocated %.0f times, 10 iterations %.0f", big, small)
	}
}
