package gcfloor

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestPercent(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		live, floor uint64
		want        int
	}{
		{0, 64 * mib, 1600},       // before the first collection: the minimum heap sets the goal
		{1 * mib, 64 * mib, 1600}, // a tiny live heap: the same
		{4 * mib, 64 * mib, 1500}, // 4 MiB × 16 = 64 MiB
		{7 * mib, 64 * mib, 814},
		{8 * mib, 64 * mib, 100}, // an eighth of the floor: Go's default
		{1 << 30, 64 * mib, 100},
		{1 * mib, 32 * mib, 800},
		{1 * mib, 8 * mib, 100}, // a floor Go's minimum heap already keeps
	} {
		if got := Percent(c.live, c.floor); got != c.want {
			t.Errorf("Percent(%d MiB, %d MiB) = %d, want %d", c.live/mib, c.floor/mib, got, c.want)
		}
	}
}

// collect runs a collection and waits for w to have tuned after it (its
// finalizer runs after the collection, on the finalizer goroutine).
func collect(t *testing.T, w *watcher) {
	t.Helper()
	w.mu.Lock()
	before := w.tunes
	w.mu.Unlock()
	for deadline := time.Now().Add(5 * time.Second); ; {
		runtime.GC()
		w.mu.Lock()
		n := w.tunes
		w.mu.Unlock()
		if n > before {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the watcher did not tune after a collection")
		}
		time.Sleep(time.Millisecond)
	}
}

// nextGC is the heap size at which the next collection is due.
func nextGC() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.NextGC
}

func TestStartKeepsCollectorAwayFromSmallHeap(t *testing.T) {
	runtime.GC()
	if n := nextGC(); n > 8<<20 {
		t.Fatalf("without the floor the next collection is due at %d MiB; the test expects Go's 4 MiB minimum heap", n>>20)
	}
	w := start(DefaultFloor)
	// The watcher tunes after each collection, once two have left
	// about the same live heap.
	collect(t, w)
	collect(t, w)
	if n := nextGC(); n < DefaultFloor*15/16 {
		t.Errorf("with a floor of %d MiB the next collection is due at %d MiB", DefaultFloor>>20, n>>20)
	}
	w.stop()
	runtime.GC()
	if n := nextGC(); n > 8<<20 {
		t.Errorf("after stop the next collection is due at %d MiB, want Go's pacing back", n>>20)
	}
	if p := percent(); p != 100 {
		t.Errorf("after stop the GC percent is %d, want Go's default back", p)
	}
}

// percent returns the GC percent in force.
func percent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

func TestGrowingHeapKeepsGoDefault(t *testing.T) {
	w := start(DefaultFloor)
	defer w.stop()
	collect(t, w)
	collect(t, w)
	if p := percent(); p <= 100 {
		t.Fatalf("with a small steady live heap the percent is %d, want the floor's", p)
	}
	// The live heap grows by far more than a quarter (and 1 MiB), and
	// stays under an eighth of the floor, where Percent alone would keep
	// the floor's percent: Go paces it.
	grown := make([][]byte, 0, 512)
	for range 512 {
		grown = append(grown, make([]byte, 4096))
	}
	collect(t, w)
	if p := percent(); p != 100 {
		t.Errorf("after the live heap grew, the percent is %d, want Go's default", p)
	}
	runtime.KeepAlive(grown)
}

func TestStartLeavesUsersGOGC(t *testing.T) {
	t.Setenv("GOGC", "200")
	debug.SetGCPercent(200)
	defer debug.SetGCPercent(100)
	stop := Start(DefaultFloor)
	runtime.GC()
	runtime.GC()
	stop()
	if p := debug.SetGCPercent(200); p != 200 {
		t.Errorf("with GOGC set, the GC percent became %d", p)
	}
}
