package netio

import (
	"net"
	"sync/atomic"
	"time"
)

// Connection timeouts are kept by the connections themselves, not by
// fasthttp: fasthttp reads the clock three times per request to move a
// keep-alive connection's deadlines, and each move re-arms a runtime
// timer. A timedConn instead compares its deadlines with a coarse clock
// (one atomic load) and moves them only when they would otherwise fire
// early, to a slack later than asked. A timeout therefore fires at most
// deadlineSlack late, never early, and a steady keep-alive connection
// re-arms its timers about once a second instead of on every request.
const (
	// deadlineSlack is how late a timeout may fire.
	deadlineSlack = time.Second
	// clockTick is how often the coarse clock moves; it is less than the
	// slack, so that a deadline set at "coarse now + timeout + slack" is
	// never early and the same deadline serves for slack-tick.
	clockTick = 250 * time.Millisecond
)

// coarseClock is a wall clock in Unix nanoseconds that moves every
// clockTick while a server runs.
type coarseClock struct {
	now  atomic.Int64
	stop chan struct{}
}

func startClock() *coarseClock {
	c := &coarseClock{stop: make(chan struct{})}
	c.now.Store(time.Now().UnixNano())
	go func() {
		t := time.NewTicker(clockTick)
		defer t.Stop()
		for {
			select {
			case now := <-t.C:
				c.now.Store(now.UnixNano())
			case <-c.stop:
				return
			}
		}
	}()
	return c
}

func (c *coarseClock) Stop() { close(c.stop) }

// connTimeouts are a server's connection timeouts (zero: none).
type connTimeouts struct {
	read, idle, write time.Duration
}

// timedListener hands out timedConns. A TLS listener goes around it, not
// inside it, so that fasthttp still sees the *tls.Conn.
type timedListener struct {
	net.Listener
	clock *coarseClock
	to    *connTimeouts
}

func (l timedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &timedConn{Conn: c, clock: l.clock, to: l.to, first: true}, nil
}

// timedConn enforces the server's timeouts as fasthttp would:
//   - waiting for a request's first byte: IdleTimeout (ReadTimeout for the
//     connection's first request, counted from when it was accepted);
//   - reading the rest of the request: ReadTimeout from its first byte;
//   - writing the response: WriteTimeout from its first byte.
//
// A write ends the reading phase: the next read waits for a new request.
// Read and Write are called by the connection's serving goroutine; the
// deadlines in effect are atomics because Set*Deadline may come from
// elsewhere (an abort).
type timedConn struct {
	net.Conn
	clock *coarseClock
	to    *connTimeouts

	read, write atomic.Int64 // the deadline in effect, Unix ns; 0 for none
	responded   atomic.Bool  // written since the request began
	inRequest   bool         // a request's first byte has been read
	first       bool         // no request read yet
}

func (c *timedConn) Read(p []byte) (int, error) {
	if c.responded.Load() {
		c.responded.Store(false)
		c.inRequest = false
	}
	if c.inRequest {
		return c.Conn.Read(p)
	}
	wait := c.to.idle
	if c.first {
		wait = c.to.read
	}
	if err := c.arm(&c.read, wait, c.Conn.SetReadDeadline); err != nil {
		return 0, err
	}
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.inRequest = true
		if !c.first {
			if err := c.arm(&c.read, c.to.read, c.Conn.SetReadDeadline); err != nil {
				return n, err
			}
		}
		c.first = false
	}
	return n, err
}

func (c *timedConn) Write(p []byte) (int, error) {
	if !c.responded.Load() {
		if err := c.arm(&c.write, c.to.write, c.Conn.SetWriteDeadline); err != nil {
			return 0, err
		}
		c.responded.Store(true)
	}
	return c.Conn.Write(p)
}

// arm makes the deadline in effect cur fit a timeout starting now: not
// earlier than now+timeout, not later than now+timeout+deadlineSlack. One
// that already fits is left alone; otherwise the latest fitting deadline
// is set, so that it keeps fitting for the next slack-tick.
func (c *timedConn) arm(cur *atomic.Int64, timeout time.Duration, set func(time.Time) error) error {
	if timeout <= 0 {
		if cur.Load() == 0 {
			return nil
		}
		cur.Store(0)
		return set(time.Time{})
	}
	now := c.clock.now.Load() // at most clockTick behind
	in := cur.Load()
	hi := now + int64(timeout+deadlineSlack)
	if in != 0 && in >= now+int64(clockTick+timeout) && in <= hi {
		return nil
	}
	cur.Store(hi)
	return set(time.Unix(0, hi))
}

// SetReadDeadline, SetWriteDeadline and SetDeadline apply t exactly; the
// timeouts move it again at the next phase.
func (c *timedConn) SetReadDeadline(t time.Time) error {
	c.read.Store(unixNano(t))
	return c.Conn.SetReadDeadline(t)
}

func (c *timedConn) SetWriteDeadline(t time.Time) error {
	c.write.Store(unixNano(t))
	return c.Conn.SetWriteDeadline(t)
}

func (c *timedConn) SetDeadline(t time.Time) error {
	c.read.Store(unixNano(t))
	c.write.Store(unixNano(t))
	return c.Conn.SetDeadline(t)
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}
