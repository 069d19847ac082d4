package netio

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// fakeConn records the deadlines set on it.
type fakeConn struct {
	net.Conn
	reads, writes []time.Time
}

func (f *fakeConn) Read(p []byte) (int, error)         { return copy(p, "x"), nil }
func (f *fakeConn) Write(p []byte) (int, error)        { return len(p), nil }
func (f *fakeConn) SetReadDeadline(t time.Time) error  { f.reads = append(f.reads, t); return nil }
func (f *fakeConn) SetWriteDeadline(t time.Time) error { f.writes = append(f.writes, t); return nil }

func TestTimedConnMovesDeadlinesRarelyAndNeverEarly(t *testing.T) {
	f := &fakeConn{}
	clock := &coarseClock{}
	base := time.Now() // (its monotonic reading makes clock.Now precise)
	clock.set(base)
	// ReadTimeout differs from IdleTimeout at first, so that each phase's
	// deadline shows.
	to := &connTimeouts{read: 10 * time.Second, idle: 60 * time.Second, write: 30 * time.Second}
	c := &timedConn{Conn: f, clock: clock, to: to, first: true}
	buf := make([]byte, 8)
	request := func() {
		t.Helper()
		if _, err := c.Read(buf); err != nil { // the request's first byte
			t.Fatal(err)
		}
		if _, err := c.Read(buf); err != nil { // the rest of it
			t.Fatal(err)
		}
		if _, err := c.Write(buf); err != nil { // the response
			t.Fatal(err)
		}
		if _, err := c.Write(buf); err != nil {
			t.Fatal(err)
		}
	}
	// fits checks a deadline against a timeout started at the real time
	// now, which the coarse clock trails by up to clockTick.
	fits := func(d time.Time, now time.Time, timeout time.Duration) bool {
		for lag := time.Duration(0); lag <= clockTick; lag += clockTick / 4 {
			real := now.Add(lag)
			if d.Before(real.Add(timeout)) || d.After(real.Add(timeout+deadlineSlack)) {
				return false
			}
		}
		return true
	}

	request()
	// The first request: ReadTimeout for all of its reading (armed once),
	// WriteTimeout for its response.
	if len(f.reads) != 1 || !fits(f.reads[0], base, to.read) {
		t.Fatalf("first request's read deadlines %v", f.reads)
	}
	if len(f.writes) != 1 || !fits(f.writes[0], base, to.write) {
		t.Fatalf("first response's write deadlines %v", f.writes)
	}
	// The next request waits with IdleTimeout, then reads with ReadTimeout.
	request()
	if len(f.reads) != 3 || !fits(f.reads[1], base, to.idle) || !fits(f.reads[2], base, to.read) {
		t.Fatalf("keep-alive request's read deadlines %v", f.reads)
	}
	// With equal read and idle timeouts (the default), many requests
	// within the slack move nothing...
	to.read = to.idle
	request()
	if len(f.reads) != 4 || !fits(f.reads[3], base, to.idle) {
		t.Fatalf("read deadlines %v", f.reads) // one deadline fits both phases
	}
	for ms := 0; ms < 700; ms += 10 {
		clock.now.Store(base.Add(time.Duration(ms) * time.Millisecond).UnixNano())
		request()
	}
	if len(f.reads) != 4 {
		t.Fatalf("re-armed %d times within the slack", len(f.reads)-4)
	}
	if len(f.writes) != 1 {
		t.Fatalf("write deadline re-armed %d times within the slack", len(f.writes)-1)
	}
	// ...and past it they move, never earlier than the timeout asks.
	now := base.Add(2 * time.Second)
	clock.now.Store(now.UnixNano())
	request()
	if len(f.reads) != 5 || !fits(f.reads[4], now, to.idle) {
		t.Fatalf("read deadlines after 2 s %v", f.reads[4:])
	}
	if len(f.writes) != 2 || !fits(f.writes[1], now, to.write) {
		t.Fatalf("write deadlines after 2 s %v", f.writes[1:])
	}
	// A deadline set from outside (an abort) is applied exactly, and the
	// next phase arms a fitting one again.
	past := time.Unix(1, 0)
	if err := c.SetReadDeadline(past); err != nil {
		t.Fatal(err)
	}
	if got := f.reads[len(f.reads)-1]; !got.Equal(past) {
		t.Fatalf("abort set %v", got)
	}
	request()
	if got := f.reads[len(f.reads)-1]; !fits(got, now, to.idle) {
		t.Fatalf("after an abort the idle deadline is %v", got)
	}
	// No timeout: a deadline in effect is cleared once.
	to.write = 0
	n := len(f.writes)
	request()
	request()
	if len(f.writes) != n+1 || !f.writes[n].IsZero() {
		t.Fatalf("clearing the write deadline: %v", f.writes[n:])
	}
}

// A client that stalls in the middle of its request is answered 408 and
// disconnected once ReadTimeout (plus at most the slack) has passed; an
// idle keep-alive connection is closed after IdleTimeout.
func TestReadAndIdleTimeoutsAreEnforced(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(r *Router) {
		_ = r.Handle("GET", "/", func(context.Context, *Request) *Response { return Text(200, "ok") })
	}, func(c *Config) {
		c.ReadTimeout = 300 * time.Millisecond
		c.IdleTimeout = 300 * time.Millisecond
	})

	stalled := ts.dial()
	start := time.Now()
	fmt.Fprintf(stalled, "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
	resp, _ := io.ReadAll(stalled) // until the server closes
	d := time.Since(start)
	// (3 s over the slack: under the race detector, beside the other
	// packages' tests, timers fire late; a timeout not enforced would
	// wait for the 60 s default, or for ever)
	if d < 300*time.Millisecond || d > 300*time.Millisecond+deadlineSlack+3*time.Second {
		t.Fatalf("stalled request cut after %v", d)
	}
	if !strings.HasPrefix(string(resp), "HTTP/1.1 408") {
		t.Fatalf("stalled request answered %q", resp)
	}
	// Its access line counts from its first byte, as does that of a
	// request stalled in its body, and of one that trickles in.
	stalled = ts.dial()
	fmt.Fprintf(stalled, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab")
	if resp, _ := io.ReadAll(stalled); !strings.HasPrefix(string(resp), "HTTP/1.1 408") {
		t.Fatalf("request stalled in its body answered %q", resp)
	}
	trickled := ts.dial()
	fmt.Fprintf(trickled, "GET / HTTP/1.1\r\n")
	time.Sleep(150 * time.Millisecond)
	fmt.Fprintf(trickled, "Host: x\r\n\r\n")
	if line, _ := bufio.NewReader(trickled).ReadString('\n'); !strings.HasPrefix(line, "HTTP/1.1 200") {
		t.Fatalf("trickled request answered %q", line)
	}
	var durations []float64
	for deadline := time.Now().Add(5 * time.Second); len(durations) < 3 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		durations = durations[:0]
		for _, l := range logLines(t, ts.logs) {
			if ms, ok := l["duration_ms"].(float64); ok {
				durations = append(durations, ms)
			}
		}
	}
	// (The trickled request's line counts from the read of its first
	// bytes, which may return a little after the client wrote them: at
	// least 100 ms of the 150 slept tells it from a count from its last
	// byte, about 0.)
	if len(durations) != 3 || durations[0] < 300 || durations[1] < 300 || durations[2] < 100 {
		t.Fatalf("logged durations %v ms, want >= 300, 300, 100", durations)
	}

	idle := ts.dial()
	br := bufio.NewReader(idle)
	// Keep the connection busy for longer than the timeouts: the
	// coalesced deadlines must keep moving with the requests.
	busyUntil := time.Now().Add(1500 * time.Millisecond)
	for n := 0; time.Now().Before(busyUntil); n++ {
		fmt.Fprintf(idle, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		line, err := br.ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "HTTP/1.1 200") {
			t.Fatalf("request %d on a busy keep-alive connection: %q %v", n, line, err)
		}
		for line != "\r\n" {
			if line, err = br.ReadString('\n'); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := br.Discard(2); err != nil { // "ok"
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	start = time.Now()
	_, err := br.ReadByte() // idle now: the server closes
	d = time.Since(start)
	if err == nil || d > 300*time.Millisecond+deadlineSlack+3*time.Second { // (the margin above)
		t.Fatalf("idle connection: %v after %v", err, d)
	}
}

func TestCoarseClockNowIsPrecise(t *testing.T) {
	c := startClock()
	defer c.Stop()
	for range 3 {
		before := time.Now()
		got := c.Now()
		after := time.Now()
		if got.Before(before) || got.After(after) {
			t.Fatalf("Now() = %v, not within [%v, %v]", got, before, after)
		}
		if coarse := time.Unix(0, c.now.Load()); coarse.After(after) || after.Sub(coarse) > clockTick+100*time.Millisecond {
			t.Fatalf("coarse time %v trails %v by more than a tick", coarse, after)
		}
		time.Sleep(300 * time.Millisecond) // past a tick
	}
}

// A client that stops reading a large response is cut off once
// WriteTimeout (plus at most the slack) has passed; the server goes on
// serving others.
func TestWriteTimeoutCutsAStalledReader(t *testing.T) {
	t.Parallel()
	// Far more than the socket buffers hold with the client's receive
	// buffer kept small. (Not 64 MiB: under the race detector copying
	// that much stalls the whole test process for seconds, the other
	// tests' readers and clock tickers included.)
	big := strings.Repeat("x", 16<<20)
	ts := newTestServer(t, func(r *Router) {
		_ = r.Handle("GET", "/big", func(context.Context, *Request) *Response { return Text(200, big) })
		_ = r.Handle("GET", "/", func(context.Context, *Request) *Response { return Text(200, "ok") })
	}, func(c *Config) {
		c.WriteTimeout = 300 * time.Millisecond
	})
	conn := ts.dial()
	_ = conn.(*net.TCPConn).SetReadBuffer(64 << 10)
	fmt.Fprintf(conn, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
	// Wait for the response to start (the write timeout runs from the
	// first byte written; on a slow machine copying the body can take a
	// while), then stop reading.
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(conn)
	if status, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(status, "HTTP/1.1 200") {
		t.Fatalf("status line %q: %v", status, err)
	}
	time.Sleep(300*time.Millisecond + deadlineSlack + 500*time.Millisecond) // not reading
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := io.Copy(io.Discard, br)
	if n >= int64(len(big)) {
		t.Fatalf("the whole %d-byte response arrived (%d bytes, %v): the write was not cut", len(big), n, err)
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("the server kept the connection open after %d bytes", n)
	}
	// Others are still served.
	resp, err := http.Get("http://" + ts.addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "ok" {
		t.Fatalf("after the cut: %q", body)
	}
}

// A large response to a client that keeps reading, slowly, is not cut
// by the write timeout, which bounds each write (it was the whole
// response's: a file taking longer than it to download arrived cut
// short, and the access line said 200).
func TestWriteTimeoutSparesAMovingReader(t *testing.T) {
	t.Parallel()
	const writeTimeout = 2 * time.Second
	big := strings.Repeat("x", 12<<20)
	ts := newTestServer(t, func(r *Router) {
		_ = r.Handle("GET", "/big", func(context.Context, *Request) *Response { return Text(200, big) })
	}, func(c *Config) {
		// Each 256 KiB has 2–3 s: 25 times what it needs, room for a
		// reader stalled by a loaded machine (a 0.6 s timeout was cut
		// under the race detector beside other packages).
		c.WriteTimeout = writeTimeout
	})
	conn := ts.dial()
	_ = conn.(*net.TCPConn).SetReadBuffer(64 << 10)
	fmt.Fprintf(conn, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReaderSize(conn, 64<<10), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("response %v: %v", resp, err)
	}
	start := time.Now()
	var n int64
	buf := make([]byte, 64<<10)
	for {
		m, err := io.ReadFull(resp.Body, buf)
		n += int64(m)
		if err != nil {
			break
		}
		time.Sleep(20 * time.Millisecond) // about 3 MB/s
	}
	if n != int64(len(big)) {
		t.Fatalf("%d of %d bytes arrived in %v\n%s", n, len(big), time.Since(start), ts.logs.String())
	}
	if d := time.Since(start); d < writeTimeout+deadlineSlack {
		t.Logf("the download took only %v: the test did not outlast the write timeout", d)
	}
}

// An idle keep-alive connection does not hold up Shutdown (fasthttp's
// own idle timeout is off: the connections keep the timeouts).
func TestShutdownClosesIdleKeepAliveConnections(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(r *Router) {
		_ = r.Handle("GET", "/", func(context.Context, *Request) *Response { return Text(200, "ok") })
	}, nil)
	conn := ts.dial()
	fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp := readResponse(t, conn); resp.StatusCode() != 200 {
		t.Fatalf("status %d", resp.StatusCode())
	}

	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ts.srv.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown with an idle connection: %v after %v", err, time.Since(start))
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("shutdown took %v with an idle keep-alive connection", d)
	}
	if _, err := conn.Read(make([]byte, 1)); err == nil {
		t.Fatal("the idle connection is still open after shutdown")
	}
}

// A connection that was opened and never sent a byte (a browser's
// preconnect) does not hold up Shutdown either: fasthttp counts such a
// connection as busy for 5 s. It is closed at once; a request that
// arrives on another connection meanwhile is still answered.
func TestShutdownClosesConnectionsNeverUsed(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(r *Router) {
		_ = r.Handle("GET", "/", func(context.Context, *Request) *Response { return Text(200, "ok") })
	}, nil)
	var unused []net.Conn
	for range 3 {
		unused = append(unused, ts.dial())
	}
	time.Sleep(50 * time.Millisecond) // accepted
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ts.srv.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown with unused connections: %v after %v", err, time.Since(start))
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("shutdown took %v with connections that never sent a byte", d)
	}
	for i, conn := range unused {
		_ = conn.SetReadDeadline(time.Now().Add(time.Second))
		if n, err := conn.Read(make([]byte, 1)); err == nil || n > 0 {
			t.Errorf("unused connection %d still open after shutdown", i)
		}
	}
}

// A coarse clock whose ticker was starved of CPU (seconds behind) makes
// no deadline that has already passed: a deadline that moves is set from
// the precise time then, and the coarse time catches up.
func TestStarvedCoarseClockMakesNoPastDeadline(t *testing.T) {
	f := &fakeConn{}
	clock := &coarseClock{}
	start := time.Now()
	clock.set(start)
	clock.now.Store(start.Add(-5 * time.Second).UnixNano()) // the ticker starved
	to := &connTimeouts{read: time.Second, idle: time.Second, write: time.Second}
	c := &timedConn{Conn: f, clock: clock, to: to, first: true}
	buf := make([]byte, 8)
	if _, err := c.Read(buf); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(buf); err != nil {
		t.Fatal(err)
	}
	for _, d := range append(f.reads, f.writes...) {
		if d.Before(start.Add(time.Second)) {
			t.Fatalf("a deadline %v before the timeout from %v", d, start)
		}
	}
	if lag := time.Since(time.Unix(0, clock.now.Load())); lag > clockTick+100*time.Millisecond {
		t.Fatalf("the coarse time still trails by %v", lag)
	}
}

// Requests still arriving when the drain ends (a header or a body the
// client has not finished sending) are answered 503 SHUTTING_DOWN and
// logged, as those still running are, and the server stops at once
// rather than after waiting for them.
// A response still going out when the drain ends, to a client that does
// not read it, is cut off then: the drain ends when it was told to, and
// the log says so. Shutdown waited a second more for it, and the access
// line said 200.
func TestDrainEndCutsResponsesStillBeingWritten(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 16<<20) // far more than the socket buffers hold (see above)
	ts := newTestServer(t, func(r *Router) {
		_ = r.Handle("GET", "/big", func(context.Context, *Request) *Response { return Text(200, big) })
	}, nil)
	c := ts.dial()
	_ = c.(*net.TCPConn).SetReadBuffer(64 << 10)
	if _, err := io.WriteString(c, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	// Answered, and stuck writing: c reads nothing past the status line.
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	if status, err := bufio.NewReader(c).ReadString('\n'); err != nil || !strings.HasPrefix(status, "HTTP/1.1 200") {
		t.Fatalf("status line %q: %v", status, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := ts.srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown: %v, want the drain cut", err)
	}
	// (Cut, the drain ends within about half a second of its end; not
	// cut, the response would hold it for the 30 s write timeout. The
	// bound leaves room for the race detector's pass beside others.)
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Shutdown took %v after a 300 ms drain", d)
	}
	if !strings.Contains(ts.logs.String(), "drain ended with responses still being written") {
		t.Errorf("no warning of the cut response:\n%s", ts.logs.String())
	}
}

func TestDrainEndAnswersRequestsStillArriving(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(r *Router) {
		_ = r.Handle("POST", "/", func(context.Context, *Request) *Response { return Text(200, "ok") })
		_ = r.Handle("GET", "/", func(context.Context, *Request) *Response { return Text(200, "ok") })
	}, nil)
	partial := []string{
		"GET / HTTP/1.1\r\nHost: x\r\nX-A: ",
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
	}
	conns := make([]net.Conn, len(partial))
	for i, p := range partial {
		conns[i] = ts.dial()
		if _, err := io.WriteString(conns[i], p); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, func() bool { return ts.srv.connsUsed(len(partial)) }) // each has begun its request
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := ts.srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown: %v, want the drain cut", err)
	}
	// (Not answered, they would hold the drain for the 60 s read
	// timeout. The bound leaves room for the race detector's pass.)
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Shutdown took %v after a 300 ms drain", d)
	}
	for i, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		got, _ := io.ReadAll(c)
		if !strings.HasPrefix(string(got), "HTTP/1.1 503") || !strings.Contains(string(got), CodeShuttingDown) {
			t.Errorf("%.30q: got %q, want 503 %s", partial[i], got, CodeShuttingDown)
		}
	}
	n := 0
	for _, l := range logLines(t, ts.logs) {
		if l["status"] == float64(503) {
			n++
		}
	}
	if n != len(partial) {
		t.Fatalf("%d access lines with 503, want %d:\n%s", n, len(partial), ts.logs.String())
	}
}
