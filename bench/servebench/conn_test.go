package servebench

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"tova/bench/httpbench"
)

// The Conn benchmarks serve whole connections, as a listener hands them
// to the server, without the kernel: each connection's reads return the
// request wrk sends, one per read, and its writes check the answer and
// are dropped. So they time what the server does per request in user
// space (reading and parsing, the handler, writing) on one goroutine,
// which is what separates it from the bare handler under wrk, where the
// system calls are the same for both.
//
//	go test -run '^$' -bench Conn -benchmem -cpu 1 ./bench/servebench

// wrkRequest is what wrk -t2 -c64 sends for /json.
const wrkRequest = "GET /json HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n"

// connEnds is what the benchmarks' connections share: fixed addresses,
// no deadlines, done, closed when the server closes the connection, the
// number n of requests still to send, and the first wrong answer.
type connEnds struct {
	done chan struct{}
	once sync.Once
	n    int
	err  error
}

func newConnEnds(n int) connEnds { return connEnds{done: make(chan struct{}), n: n} }

func (c *connEnds) ends() *connEnds { return c }

// benchConn is a benchmark's connection.
type benchConn interface {
	net.Conn
	ends() *connEnds
}

// serveTimed hands c to the server on ln, timing it until the server
// closes it; every request must have been sent and rightly answered.
func serveTimed(b *testing.B, ln *replayListener, c benchConn) {
	e := c.ends()
	b.ResetTimer()
	ln.conns <- c
	<-e.done
	b.StopTimer()
	if e.err != nil {
		b.Fatal(e.err)
	}
	if e.n != 0 {
		b.Fatalf("the connection closed with %d requests unsent", e.n)
	}
}

func (c *connEnds) Close() error { c.once.Do(func() { close(c.done) }); return nil }
func (c *connEnds) LocalAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}
}
func (c *connEnds) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
}
func (c *connEnds) SetDeadline(time.Time) error      { return nil }
func (c *connEnds) SetReadDeadline(time.Time) error  { return nil }
func (c *connEnds) SetWriteDeadline(time.Time) error { return nil }

// replayConn reads the request n times, then io.EOF; it checks that
// each answer is a 200 with the hello body.
type replayConn struct {
	connEnds
}

func (c *replayConn) Read(p []byte) (int, error) {
	if c.n == 0 {
		return 0, io.EOF
	}
	c.n--
	return copy(p, wrkRequest), nil
}

func (c *replayConn) Write(p []byte) (int, error) {
	if c.err == nil && (!bytes.HasPrefix(p, []byte("HTTP/1.1 200 OK\r\n")) || !bytes.HasSuffix(p, []byte(httpbench.HelloBody))) {
		c.err = fmt.Errorf("unexpected answer: %q", p)
	}
	return len(p), nil
}

// replayListener hands out the connections sent on conns.
type replayListener struct {
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newReplayListener() *replayListener {
	return &replayListener{conns: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *replayListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *replayListener) Close() error   { l.once.Do(func() { close(l.closed) }); return nil }
func (l *replayListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080} }

// runConn serves b.N requests on one connection of ln.
func runConn(b *testing.B, ln *replayListener) {
	b.ReportAllocs()
	serveTimed(b, ln, &replayConn{newConnEnds(b.N)})
}

// listeners holds each target's listener: a target starts once per
// process, not for each b.N the benchmark is run with, so that every run
// measures a server in the same state (a stopped one takes a second to
// be freed).
var listeners sync.Map // name → *replayListener

// target returns the listener of the target name, starting the target
// on first use: start returns what serves a listener.
func target(b testing.TB, name string, start func() (func(net.Listener) error, error)) *replayListener {
	if ln, ok := listeners.Load(name); ok {
		return ln.(*replayListener)
	}
	serve, err := start()
	if err != nil {
		b.Fatal(err)
	}
	ln := newReplayListener()
	go func() { _ = serve(ln) }()
	listeners.Store(name, ln)
	return ln
}

// BenchmarkConnBare is the floor: fasthttp serving the bare handler.
func BenchmarkConnBare(b *testing.B) {
	runConn(b, target(b, "bare", func() (func(net.Listener) error, error) {
		srv := &fasthttp.Server{Handler: httpbench.Bare, NoDefaultServerHeader: true}
		return srv.Serve, nil
	}))
}

// BenchmarkConnNetioInline is netio's front end with a Go handler run
// on the connection's goroutine: routing, the request's copy and id, the
// access line, no hand-off.
func BenchmarkConnNetioInline(b *testing.B) {
	runConn(b, target(b, "inline", netioTarget(httpbench.NetioOptions{Inline: true})))
}

// BenchmarkConnNetio is BenchmarkConnNetioInline with the handler run by
// the actor pool: the difference is the hand-off and back.
func BenchmarkConnNetio(b *testing.B) {
	runConn(b, target(b, "netio", netioTarget(httpbench.NetioOptions{})))
}

func netioTarget(o httpbench.NetioOptions) func() (func(net.Listener) error, error) {
	return func() (func(net.Listener) error, error) {
		srv, _, err := httpbench.NewNetioHello(o)
		if err != nil {
			return nil, err
		}
		return srv.Serve, nil
	}
}

// BenchmarkConnTovaHello is tova serve of the hello-JSON program.
func BenchmarkConnTovaHello(b *testing.B) {
	runConn(b, target(b, "tova", tovaTarget))
}

func tovaTarget() (func(net.Listener) error, error) {
	rt, err := startHello()
	if err != nil {
		return nil, err
	}
	return rt.Servers()[0].Serve, nil
}

// A hello request allocates nothing, in netio's front end with the
// handler inline or on the actor pool, and in tova serve: each
// connection reuses its requests' memory (netio.Response.RequestFree),
// and each VM thread the object its handler returned once it is
// encoded (vm.Thread.Reclaim). Counted over 2000 requests on one
// connection, after 200 to warm up; the bound leaves room for what a
// collection meanwhile makes pools allocate again (one allocation per
// request would be 1).
func TestHelloAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector drops pooled objects at random")
	}
	for _, c := range []struct {
		name  string
		start func() (func(net.Listener) error, error)
		max   float64
	}{
		{"inline", netioTarget(httpbench.NetioOptions{Inline: true}), 0.25},
		{"netio", netioTarget(httpbench.NetioOptions{}), 0.25},
		{"tova", tovaTarget, 0.25},
	} {
		ln := target(t, c.name, c.start)
		serveOn(t, ln, 200)
		const n = 2000
		conn := &replayConn{newConnEnds(n)}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		ln.conns <- conn
		<-conn.done
		runtime.ReadMemStats(&after)
		if conn.err != nil || conn.n != 0 {
			t.Fatalf("%s: %v, %d requests unread", c.name, conn.err, conn.n)
		}
		if per := float64(after.Mallocs-before.Mallocs) / n; per > c.max {
			t.Errorf("%s: %.2f allocations per request, want at most %.2f", c.name, per, c.max)
		}
	}
}

// serveOn serves n requests on one connection of ln.
func serveOn(t *testing.T, ln *replayListener, n int) {
	t.Helper()
	c := &replayConn{newConnEnds(n)}
	ln.conns <- c
	<-c.done
	if c.err != nil {
		t.Fatal(c.err)
	}
}
