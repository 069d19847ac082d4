package serve

import (
	"context"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

func TestGCPercentFor(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		live uint64
		want int
	}{
		{0, 6300},       // not measured yet: 1 MiB
		{4 * mib, 1500}, // next collection at 64 MiB
		{16 * mib, 300},
		{32 * mib, 100}, // half the floor: plain GOGC
		{1 << 30, 100},
	} {
		if got := gcPercentFor(c.live, 64*mib); got != c.want {
			t.Errorf("live %d MiB: GOGC %d, want %d", c.live/mib, got, c.want)
		}
	}
}

// TuneGC follows the live heap collection by collection: GOGC drops to
// what a grown live heap calls for after the collection that measured
// it, rises again once the live data is gone, and is 100 when ctx ends.
func TestTuneGCFollowsTheLiveHeap(t *testing.T) {
	if os.Getenv("GOGC") != "" {
		t.Skip("GOGC is set: TuneGC leaves the collector alone")
	}
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	const mib = 1 << 20
	sample := []metrics.Sample{{Name: "/gc/gogc:percent"}, {Name: "/gc/heap/live:bytes"}}
	// settles collects until GOGC is what the live heap calls for (the
	// tuner runs on the finalizer goroutine, after the collection).
	settles := func(what string, ok func(gogc int) bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; {
			runtime.GC()
			time.Sleep(10 * time.Millisecond)
			metrics.Read(sample)
			gogc, live := int(sample[0].Value.Uint64()), sample[1].Value.Uint64()
			if gogc == gcPercentFor(live, 64*mib) && ok(gogc) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: GOGC %d with %d MiB live, want %d", what, gogc, live/mib, gcPercentFor(live, 64*mib))
			}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	TuneGC(ctx, 64*mib)
	settles("small heap", func(gogc int) bool { return gogc >= 1000 })
	kept := make([][]byte, 24)
	for i := range kept {
		kept[i] = make([]byte, mib)
	}
	settles("24 MiB more live", func(gogc int) bool { return gogc <= 200 })
	runtime.KeepAlive(kept)
	kept = nil
	settles("live data gone", func(gogc int) bool { return gogc >= 1000 })
	cancel()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if metrics.Read(sample); sample[0].Value.Uint64() == 100 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GOGC %d after ctx ended, want 100", sample[0].Value.Uint64())
		}
	}
}
