package idletick

import (
	"sync/atomic"
	"testing"
	"time"
)

// A goroutine that sleeps on every tick with nothing to do is woken by
// every piece of work, also work that comes while it is falling asleep:
// none is left unseen.
func TestEveryWakeIsSeen(t *testing.T) {
	g := New()
	var work, seen atomic.Int64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if n := work.Load(); n > seen.Load() {
					seen.Store(n)
					continue
				}
				if !g.Sleep(tick, time.Millisecond, func() bool { return work.Load() > seen.Load() }, stop) {
					return
				}
			}
		}
	}()
	for i := int64(1); i <= 200; i++ {
		work.Store(i)
		g.Wake()
		deadline := time.Now().Add(2 * time.Second)
		for seen.Load() < i {
			if time.Now().After(deadline) {
				t.Fatalf("work %d not seen", i)
			}
			time.Sleep(50 * time.Microsecond)
		}
		if i%50 == 0 {
			for g.Awake() { // let it fall asleep now and then
				if time.Now().After(deadline) {
					t.Fatal("never slept with nothing to do")
				}
				time.Sleep(time.Millisecond)
			}
		}
	}
	close(stop)
	<-done
}

// Start forgets a wake-up left for an earlier goroutine.
func TestStartForgetsAnOldWake(t *testing.T) {
	g := New()
	g.awake.Store(false)
	g.Wake()
	if len(g.wake) != 1 || !g.Awake() {
		t.Fatal("Wake left no wake-up")
	}
	g.Start()
	if len(g.wake) != 0 || !g.Awake() {
		t.Fatalf("after Start: %d wake-ups, awake %v", len(g.wake), g.Awake())
	}
}
