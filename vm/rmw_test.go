package vm

import (
	"context"
	"sync"
	"testing"
	"time"
)

// A read-modify-write spread over two statements (`c = count; ...;
// count = c + 1`) is one step when nothing between them loops, blocks
// or runs for 50 slices: the holder gives way before a statement
// writing module state only as it would at a call, not once its slice
// is over, so a waiting thread does not run between the read and the
// write. (stall holds the GIL for 5 slices, as a builtin doing work, or
// the machine descheduling the holder, may.)
func TestReadModifyWriteAcrossStatements(t *testing.T) {
	in := runTova(t, `var count = 0
var stall = nil
server {}
fn rmw() {
  c = count
  stall()
  count = c + 1
}
`)
	const slice = time.Millisecond
	in.Sched = NewGIL(slice)
	slot := map[string]int{}
	for i, n := range in.Prog.Code.Globals {
		slot[n] = i
	}
	in.Globals[slot["stall"]] = BuiltinValue(&Builtin{Name: "stall", Fn: func(*Thread, []Value) (Value, error) {
		time.Sleep(5 * slice)
		return Nil, nil
	}})
	const threads, calls = 3, 10
	var wg sync.WaitGroup
	for range threads {
		wg.Go(func() {
			for range calls {
				th := in.NewThread(context.Background())
				th.Enter()
				if _, err := th.Call(in.Globals[slot["rmw"]]); err != nil {
					t.Error(err)
				}
				th.Leave()
				th.Release()
			}
		})
	}
	wg.Wait()
	if n := in.Globals[slot["count"]].AsInt(); n != threads*calls {
		t.Errorf("count = %d after %d calls: updates lost between a read and its write", n, threads*calls)
	}
}
