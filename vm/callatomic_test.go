package vm

import (
	"context"
	"testing"
	"time"
)

// CallAtomic holds the GIL through a call that runs well past its slice
// (where Call gives way to a waiting thread at a backward jump), so a
// thread reading between its two writes never sees one without the
// other; a call that fails leaves the module slots as they were.
func TestCallAtomicIsOneStep(t *testing.T) {
	in := runTova(t, `var a = 0
var b = 0
fn set(v) {
  a = v
  var i = 0
  while i < 3000000 { i += 1 }
  b = v
}
fn fail(v) {
  a = v
  b = nil.x
}
`)
	in.Sched = NewGIL(0)
	slot := map[string]int{}
	for i, n := range in.Prog.Code.Globals {
		slot[n] = i
	}
	fn := func(name string) Value { return in.Globals[slot[name]] }
	for round := 1; round <= 3; round++ {
		done := make(chan error)
		go func() {
			th := in.NewThread(context.Background())
			_, err := th.CallAtomic(fn("set"), Int(int64(round)))
			th.Leave()
			th.Release()
			done <- err
		}()
		time.Sleep(time.Millisecond)
		for running := true; running; {
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
				running = false
			default:
				th := in.NewThread(context.Background())
				th.Enter()
				a, b := fn("a").AsInt(), fn("b").AsInt()
				th.Leave()
				th.Release()
				if a != b {
					t.Fatalf("round %d: a = %d, b = %d between the call's writes", round, a, b)
				}
			}
		}
	}
	th := in.NewThread(context.Background())
	if _, err := th.CallAtomic(fn("fail"), Int(9)); err == nil {
		t.Fatal("fail did not fail")
	}
	th.Leave()
	th.Release()
	if a := fn("a").AsInt(); a != 3 {
		t.Errorf("a = %d after a failed call, want 3", a)
	}
}
