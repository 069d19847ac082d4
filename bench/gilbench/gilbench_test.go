// Package gilbench measures Tova code of one server instance sharing its
// GIL: a loop run alone, and two such loops run at once by two threads,
// which take turns in time slices. Two loops at once should take about
// twice as long as one (they cannot overlap), not many times that.
//
//	go test -run '^$' -bench . ./bench/gilbench
package gilbench

import (
	"context"
	"slices"
	"sync"
	"testing"

	"tova/driver"
	"tova/vm"
)

const src = `var count = 0
fn spin(n) {
  var s = 0
  for i in 0..n { s += i }
  s + count
}
`

func spinner(b *testing.B) (*vm.Instance, vm.Value) {
	p, err := driver.CompileFile("spin.tova", []byte(src))
	if err != nil {
		b.Fatal(err)
	}
	prog, err := vm.Load(p)
	if err != nil {
		b.Fatal(err)
	}
	in := prog.NewInstance(vm.Config{})
	in.Sched = vm.NewGIL(0)
	th := in.NewThread(context.Background())
	th.Enter()
	if _, err := th.RunMain(); err != nil {
		b.Fatal(err)
	}
	th.Leave()
	th.Release()
	return in, in.Globals[slices.Index(p.Globals, "spin")]
}

// run calls spin(n) on a thread holding the GIL as a handler does.
func run(b *testing.B, in *vm.Instance, spin vm.Value, n int64) {
	th := in.NewThread(context.Background())
	th.Enter()
	defer func() {
		th.Leave()
		th.Release()
	}()
	if _, err := th.Call(spin, vm.Int(n)); err != nil {
		b.Error(err)
	}
}

const loop = 2_000_000 // about 30 ms alone

// BenchmarkLoopAlone: one loop, nobody waiting for the GIL.
func BenchmarkLoopAlone(b *testing.B) {
	in, spin := spinner(b)
	for b.Loop() {
		run(b, in, spin, loop)
	}
}

// BenchmarkTwoLoopsAtOnce: two loops started together; an op ends when
// both have (ideally about twice BenchmarkLoopAlone).
func BenchmarkTwoLoopsAtOnce(b *testing.B) {
	in, spin := spinner(b)
	for b.Loop() {
		var wg sync.WaitGroup
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				run(b, in, spin, loop)
			}()
		}
		wg.Wait()
	}
}
