package procid

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// Current is within [0, GOMAXPROCS), and goroutines running at once on
// different Ps see different indexes.
func TestCurrentNamesTheP(t *testing.T) {
	n := runtime.GOMAXPROCS(0)
	var seen [64]atomic.Bool
	var distinct atomic.Int32
	stop := make(chan struct{})
	defer close(stop)
	// Busy goroutines, more than Ps: the scheduler runs them on every P.
	for range 2 * n {
		go func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				i := Current()
				if i < 0 || i >= n {
					t.Errorf("Current() = %d with GOMAXPROCS %d", i, n)
					return
				}
				if i < len(seen) && !seen[i].Swap(true) {
					distinct.Add(1)
				}
			}
		}()
	}
	want := int32(min(n, 2))
	deadline := time.Now().Add(10 * time.Second)
	for distinct.Load() < want {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines on %d Ps saw %d index(es)", 2*n, n, distinct.Load())
		}
		time.Sleep(time.Millisecond)
	}
}
