package procid

import (
	"runtime"
	"sync"
	"testing"
)

// Current is within [0, GOMAXPROCS), and goroutines running at once on
// different Ps see different indexes.
func TestCurrentNamesTheP(t *testing.T) {
	n := runtime.GOMAXPROCS(0)
	seen := make([]bool, n)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 4 * n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 {
				i := Current()
				if i < 0 || i >= n {
					t.Errorf("Current() = %d with GOMAXPROCS %d", i, n)
					return
				}
				mu.Lock()
				seen[i] = true
				mu.Unlock()
				runtime.Gosched()
			}
		}()
	}
	wg.Wait()
	if n > 1 {
		count := 0
		for _, s := range seen {
			if s {
				count++
			}
		}
		if count < 2 {
			t.Fatalf("%d goroutines on %d Ps all saw one index", 4*n, n)
		}
	}
}
