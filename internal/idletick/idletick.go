// Package idletick lets a goroutine that works on a ticker stop ticking
// while there is nothing to do, so that an idle program does not wake up
// every period, and be woken by the next piece of work.
//
// The ticking goroutine calls Sleep on a tick that found nothing to do;
// whoever makes work calls Wake after the work is visible to Sleep's
// pending check. Work that comes as the ticks stop is seen by one of the
// two: Wake's caller makes its work visible and then reads the flag,
// Sleep clears the flag and then checks for work again.
package idletick

import (
	"sync/atomic"
	"time"
)

// Gate is the flag and wake-up of one ticking goroutine. The zero Gate
// is not ready: use New.
type Gate struct {
	awake atomic.Bool // the goroutine ticks
	wake  chan struct{}
}

// New returns a Gate whose goroutine ticks.
func New() *Gate {
	g := &Gate{wake: make(chan struct{}, 1)}
	g.awake.Store(true)
	return g
}

// Start marks the goroutine as ticking, forgetting a wake-up left for an
// earlier goroutine of the same Gate (one that stopped meanwhile).
func (g *Gate) Start() {
	select {
	case <-g.wake:
	default:
	}
	g.awake.Store(true)
}

// Awake reports whether the goroutine ticks.
func (g *Gate) Awake() bool { return g.awake.Load() }

// Wake restarts the ticks if they stopped. While they run it costs one
// atomic load.
func (g *Gate) Wake() {
	if !g.awake.Load() && g.awake.CompareAndSwap(false, true) {
		select {
		case g.wake <- struct{}{}:
		default:
		}
	}
}

// Sleep stops t until Wake, unless pending reports work that came as the
// ticks stopped; t then ticks every d again. It returns false, with t
// stopped, if stop is closed first.
func (g *Gate) Sleep(t *time.Ticker, d time.Duration, pending func() bool, stop <-chan struct{}) bool {
	g.awake.Store(false)
	if pending() && g.awake.CompareAndSwap(false, true) {
		return true // work came and its Wake saw the ticks running
	}
	t.Stop()
	select {
	case <-g.wake:
		t.Reset(d)
		return true
	case <-stop:
		return false
	}
}
