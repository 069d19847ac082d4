package netio

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"tova/internal/logbuf"
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
// clockTick while a server runs. Its anchor, the time.Time of its last
// tick, makes a precise time.Time from one monotonic clock read (see
// Now), where time.Now reads two clocks.
type coarseClock struct {
	now    atomic.Int64
	anchor atomic.Pointer[time.Time]
	stop   chan struct{}
}

func startClock() *coarseClock {
	c := &coarseClock{stop: make(chan struct{})}
	c.set(time.Now())
	go func() {
		t := time.NewTicker(clockTick)
		defer t.Stop()
		for {
			select {
			case now := <-t.C:
				c.set(now)
			case <-c.stop:
				return
			}
		}
	}()
	return c
}

func (c *coarseClock) set(now time.Time) {
	c.anchor.Store(&now)
	c.now.Store(now.UnixNano())
}

// Now returns the current time: the anchor's wall clock advanced by the
// monotonic time since, so that a step of the wall clock shows within a
// tick.
func (c *coarseClock) Now() time.Time {
	a := c.anchor.Load()
	return a.Add(time.Since(*a))
}

func (c *coarseClock) Stop() { close(c.stop) }

// fresh returns the time to set a deadline from, in Unix ns: the coarse
// time, unless it trails the precise time by more than a tick (its
// ticker starved of CPU, by a long copy without a preemption point);
// then the precise time less a tick, which the coarse time is moved up
// to. A deadline that moves is rare (see fit), so this clock read is
// too; and a starved ticker can no longer make a deadline that has
// already passed, which would fail the connection's next read or write
// at once.
func (c *coarseClock) fresh() int64 {
	ns := c.Now().UnixNano() - int64(clockTick)
	for {
		old := c.now.Load()
		if old >= ns {
			return old
		}
		if c.now.CompareAndSwap(old, ns) {
			return ns
		}
	}
}

// connTimeouts are a server's connection timeouts (zero: none).
type connTimeouts struct {
	read, idle, write time.Duration
}

// timedListener hands out timedConns. Under TLS each holds the TLS
// connection (see tls.go), whose handshake runs in its first read, on the
// connection's goroutine rather than the accepting one.
type timedListener struct {
	net.Listener
	clock *coarseClock
	to    *connTimeouts
	seq   *atomic.Uint32 // numbers the connections
	fresh *freshConns    // connections no byte has arrived on yet
	tls   *tls.Config    // nil: plain HTTP
	// retried reports an accept error that Accept waits out (at most
	// once a minute); nil: not reported
	retried func(err error)
}

// Accept waits out the errors a busy process recovers from (out of file
// descriptors or memory for sockets, a connection reset before it was
// accepted), retrying with a growing pause up to a second: fasthttp
// would take them as the end of the listener and stop serving for good.
func (l timedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	var pause time.Duration
	var reported time.Time
	for err != nil && retryableAccept(err) {
		if l.retried != nil && time.Since(reported) > time.Minute {
			l.retried(err)
			reported = time.Now()
		}
		pause = min(max(2*pause, 5*time.Millisecond), time.Second)
		time.Sleep(pause)
		c, err = l.Listener.Accept()
	}
	if err != nil {
		return nil, err
	}
	tc := &timedConn{Conn: c, clock: l.clock, to: l.to, first: true, shard: int(l.seq.Add(1))}
	if l.tls != nil {
		tc.raw, tc.Conn = c, tls.Server(c, l.tls)
	}
	if l.fresh != nil {
		tc.fresh = l.fresh
		l.fresh.add(tc) // (closed at once if the server is stopping)
	}
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		if ip, ok := netip.AddrFromSlice(a.IP); ok {
			tc.remote = ip.Unmap()
		}
	}
	return tc, nil
}

// retryableAccept reports whether an accept error passes once the
// process has descriptors or memory again.
func retryableAccept(err error) bool {
	for _, e := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED, syscall.EINTR, syscall.EPROTO, syscall.EPERM} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// timedConn enforces the server's timeouts as fasthttp would:
//   - waiting for a request's first byte: IdleTimeout (ReadTimeout for the
//     connection's first request, counted from when it was accepted);
//   - reading the rest of the request: ReadTimeout from its first byte;
//   - writing the response: WriteTimeout from its first byte.
//
// A write ends the reading phase: the next read waits for a new request.
// While it reads a request's header block it also follows its line ends
// (lineCheck), and fails a read fasthttp would otherwise wait on for ever
// (errBareLF); a connection taken over from fasthttp after its response
// (a future upgrade) must stop that check, since what follows is no
// longer HTTP/1.1 text.
// Read and Write are called by one goroutine at a time (fasthttp's
// serving goroutine of the connection), so the phase is plain data; the
// deadlines in effect are atomics because Set*Deadline may come from
// elsewhere (an abort).
type timedConn struct {
	net.Conn
	clock *coarseClock
	to    *connTimeouts

	read, write atomic.Int64 // the deadline in effect, Unix ns; 0 for none
	cut         atomic.Bool  // writes were cut at the drain's end
	responded   bool         // written since the request began
	inRequest   bool         // a request's first byte has been read
	began       time.Time    // when the read that began the request returned
	beganFresh  bool         // began is the request's, not taken yet (Server.requestStart)
	first       bool         // no request read yet
	remote      netip.Addr   // the peer's IP, read once
	shard       int          // the access log shard of its lines
	ids         idBlock      // its block of request ids (CounterIDs)
	ex          *exchange    // kept for its next request (putExchange)
	logSeq      logbuf.Seq   // keeps its access lines in order (logbuf.Writer)
	lines       lineCheck    // the request's header block, for line ends
	reported    bool         // handleError logged a failed request (see reported)
	fresh       *freshConns  // where it is listed until its first byte
	claim       atomic.Int32 // connFresh, connUsed or connClaimed
	linger      bool         // the client may still be sending: see Close
	raw         net.Conn     // under TLS, the connection under the *tls.Conn; nil without
	plainHTTP   bool         // under TLS, a plain-HTTP request came: it is answered on raw
	// budget, while a chunked body is read (budgeted), is how many more
	// bytes the connection may read for it (see Server.readBody).
	budget   int64
	budgeted bool
}

// Close closes the connection, forgetting it as reported. A connection
// answered while its client may still be sending a body (413) closes
// lingering: its write side first, then what still arrives is read and
// dropped, for up to lingerTime or lingerBytes. Closed at once, a
// socket with unread bytes sends a reset, and the client, still
// writing, would see "connection reset" instead of its answer.
func (c *timedConn) Close() error {
	if c.reported {
		wasReported(c.LocalAddr(), c.RemoteAddr())
	}
	if c.fresh != nil {
		c.fresh.closed(c)
	}
	if c.linger {
		c.linger = false
		conn := c.Conn
		if c.plainHTTP {
			conn = c.raw
		}
		if cw, ok := conn.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
			_ = conn.SetReadDeadline(time.Now().Add(lingerTime))
			_, _ = io.CopyN(io.Discard, conn, lingerBytes)
		}
	}
	return c.Conn.Close()
}

// lingerTime and lingerBytes bound a lingering close (see Close).
const (
	lingerTime  = 2 * time.Second
	lingerBytes = 4 << 20
)

const (
	connFresh   int32 = iota // no byte received yet
	connUsed                 // a request began on it
	connClaimed              // closed by a stopping server before one did
)

// freshConns lists the connections no byte has arrived on yet. fasthttp
// counts a new connection as busy for its first 5 seconds, so a server
// stopping would wait that long for a client that opened one and sent
// nothing (a browser's preconnect, a client pool's spare); closeAll
// closes them at once instead. A connection leaves the list when its
// first byte arrives (used) or it closes; a first request that arrives
// as closeAll claims the connection is dropped unanswered, as fasthttp
// drops one arriving on an idle connection it is closing.
//
// It also lists every open connection, for cutReads.
type freshConns struct {
	mu      sync.Mutex
	conns   map[*timedConn]struct{}
	open    map[*timedConn]struct{}
	closing bool
}

func (f *freshConns) add(c *timedConn) {
	f.mu.Lock()
	closing := f.closing
	if !closing {
		if f.conns == nil {
			f.conns = map[*timedConn]struct{}{}
			f.open = map[*timedConn]struct{}{}
		}
		f.conns[c] = struct{}{}
		f.open[c] = struct{}{}
	}
	f.mu.Unlock()
	if closing && c.claim.CompareAndSwap(connFresh, connClaimed) {
		_ = c.Conn.Close()
	}
}

func (f *freshConns) remove(c *timedConn) {
	f.mu.Lock()
	delete(f.conns, c)
	f.mu.Unlock()
}

// closed forgets c, which is closing.
func (f *freshConns) closed(c *timedConn) {
	f.mu.Lock()
	delete(f.conns, c)
	delete(f.open, c)
	f.mu.Unlock()
}

// cutReads makes every read of the open connections fail now as past
// its deadline: a request still arriving when the drain ends is then
// answered (see Server.rejected) rather than dropped with the process.
func (f *freshConns) cutReads() {
	for _, c := range f.openConns() {
		_ = c.Conn.SetReadDeadline(time.Unix(1, 0))
	}
}

// cutWrites makes every write of the open connections fail now as past
// its deadline: a response still going out to a client that does not
// read it when the drain ends is cut off, and its connection closed.
func (f *freshConns) cutWrites() {
	for _, c := range f.openConns() {
		c.cut.Store(true) // the next write does not move the deadline again
		_ = c.Conn.SetWriteDeadline(time.Unix(1, 0))
	}
}

// openConns lists the open connections.
func (f *freshConns) openConns() []*timedConn {
	f.mu.Lock()
	defer f.mu.Unlock()
	open := make([]*timedConn, 0, len(f.open))
	for c := range f.open {
		open = append(open, c)
	}
	return open
}

// used marks c's first byte; false if closeAll claimed c first.
func (f *freshConns) used(c *timedConn) bool {
	if !c.claim.CompareAndSwap(connFresh, connUsed) {
		return false
	}
	f.remove(c)
	return true
}

// closeAll closes every listed connection, and any added from now on.
func (f *freshConns) closeAll() {
	f.mu.Lock()
	f.closing = true
	conns := f.conns
	f.conns = nil
	f.mu.Unlock()
	for c := range conns {
		if c.claim.CompareAndSwap(connFresh, connClaimed) {
			_ = c.Conn.Close()
		}
	}
}

func (c *timedConn) Read(p []byte) (int, error) {
	if c.responded {
		c.responded, c.inRequest = false, false
	}
	if c.inRequest {
		if c.lines.waitsInVain() {
			// A line ended in LF alone and the block has not ended:
			// most likely the client ended it in its own way (nc), and
			// waits. The rest of a block that does end in CRLF CRLF may
			// still be on its way, in another segment: it gets a short
			// while to come.
			n, err := c.readSoon(p, bareLFGrace)
			if n == 0 {
				c.lines.open = false
				return 0, errBareLF
			}
			c.lines.scan(p[:n])
			return n, err
		}
		n, err := c.Conn.Read(p)
		if c.lines.open && n > 0 {
			c.lines.scan(p[:n])
		} else if n > 0 {
			c.lines.more()
		}
		if c.budgeted {
			if c.budget -= int64(n); c.budget < 0 {
				c.budgeted = false
				return 0, errChunkFraming
			}
		}
		return n, err
	}
	wait := c.to.idle
	if c.first {
		wait = c.to.read
	}
	if err := c.armRead(wait); err != nil {
		return 0, err
	}
	n, err := c.Conn.Read(p)
	if n > 0 && c.first && c.fresh != nil && !c.fresh.used(c) {
		return 0, net.ErrClosed // the server is stopping: see freshConns
	}
	if n > 0 {
		if c.clock != nil {
			c.began, c.beganFresh = c.clock.Now(), true
		}
		if c.first && c.raw == nil && isTLSHandshake(p[:n]) {
			c.first = false
			return 0, errTLS
		}
		if c.first && isHTTP2Preface(p[:n]) {
			c.first = false
			return 0, errHTTP2
		}
		c.inRequest = true
		c.lines.start()
		c.lines.scan(p[:n])
		if !c.first {
			if err := c.armRead(c.to.read); err != nil {
				return n, err
			}
		}
		c.first = false
	}
	if n == 0 && c.first && c.raw != nil && plainHTTPRequest(err) {
		// (A fresh connection, as a first byte would make it.)
		if c.fresh != nil && !c.fresh.used(c) {
			return 0, net.ErrClosed
		}
		c.first, c.plainHTTP = false, true
		if c.clock != nil {
			c.began, c.beganFresh = c.clock.Now(), true
		}
		return 0, errPlainHTTP
	}
	if n == 0 && c.first && err != nil {
		// A connection that sends nothing in the read timeout (a
		// browser's preconnect, a pool's spare), or that its client
		// resets before its first byte (a port probe), made no request:
		// it is closed as an idle keep-alive one is, with no 408 or 400
		// and no access line. (fasthttp answers a first request that
		// never came with the read's error.) So is one whose TLS
		// handshake fails: nothing could be answered on it.
		return 0, io.EOF
	}
	return n, err
}

func (c *timedConn) Write(p []byte) (int, error) {
	if !c.responded {
		// An interim answer (100 Continue) does not end the request:
		// its body is still to come.
		c.responded = !bytes.HasPrefix(p, interim)
	}
	out := c.Conn
	if c.plainHTTP {
		out = c.raw
	}
	// Each writeChunk of an answer has the write timeout to go out: one
	// that keeps moving (a large file to a slow reader) is never cut,
	// one whose client stops reading is. (The deadline moves about once
	// a second, not per chunk.)
	n := 0
	for {
		if err := c.armWrite(c.to.write); err != nil {
			return n, err
		}
		m, err := out.Write(p[n : n+min(len(p)-n, writeChunk)])
		n += m
		if err != nil || n == len(p) {
			return n, err
		}
	}
}

// writeChunk is how much of a write the write timeout bounds: a client
// must read at least this much per timeout (8.5 KiB/s with 30 s).
const writeChunk = 256 << 10

// interim begins an interim (1xx) answer: fasthttp writes one alone.
var interim = []byte("HTTP/1.1 1")

// bareLFGrace is how long a header block with a line ended in LF alone
// may take to send more before it is refused (see timedConn.Read).
const bareLFGrace = 150 * time.Millisecond

// readSoon reads what arrives within d, then puts back the read deadline
// in effect.
func (c *timedConn) readSoon(p []byte, d time.Duration) (int, error) {
	soon := time.Now().Add(d)
	if in := c.read.Load(); in != 0 && in < soon.UnixNano() {
		soon = time.Unix(0, in)
	}
	if err := c.Conn.SetReadDeadline(soon); err != nil {
		return 0, err
	}
	n, err := c.Conn.Read(p)
	if rerr := c.Conn.SetReadDeadline(deadlineTime(c.read.Load())); rerr != nil && err == nil {
		err = rerr
	}
	if n == 0 {
		return 0, err
	}
	return n, nil
}

// armRead and armWrite make the read or write deadline in effect fit a
// timeout starting now (see fit).
func (c *timedConn) armRead(timeout time.Duration) error {
	if _, move := fit(c.read.Load(), c.clock.now.Load(), timeout); move {
		d, _ := fit(0, c.clock.fresh(), timeout)
		c.read.Store(d)
		return c.Conn.SetReadDeadline(deadlineTime(d))
	}
	return nil
}

func (c *timedConn) armWrite(timeout time.Duration) error {
	if c.cut.Load() {
		return os.ErrDeadlineExceeded // the drain has ended (cutWrites)
	}
	if _, move := fit(c.write.Load(), c.clock.now.Load(), timeout); move {
		d, _ := fit(0, c.clock.fresh(), timeout)
		c.write.Store(d)
		return c.Conn.SetWriteDeadline(deadlineTime(d))
	}
	return nil
}

// fit says whether the deadline in effect (Unix ns, 0 for none) must move
// for a timeout starting at the coarse time now (at most clockTick
// behind the real time), and where to: it must not be earlier than the
// real now+timeout, nor later than now+timeout+deadlineSlack. A deadline
// that fits is left alone; otherwise the latest fitting one is chosen, so
// that it keeps fitting for the next slack-tick. No timeout clears it.
func fit(in, now int64, timeout time.Duration) (int64, bool) {
	if timeout <= 0 {
		return 0, in != 0
	}
	hi := now + int64(timeout+deadlineSlack)
	if in != 0 && in >= now+int64(clockTick+timeout) && in <= hi {
		return in, false
	}
	return hi, true
}

func deadlineTime(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
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
