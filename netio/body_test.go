package netio

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"
)

// A body costs what the client sent, not what it announced: connections
// that announce bodies of the limit and send 1 KiB of each hold about
// that much, where memory taken at the announced length would hold
// 64 × 4 MiB.
func TestAnnouncedBodiesTakeNoMemory(t *testing.T) {
	const conns, limit = 64, 4 << 20
	ts := newTestServer(t, func(r *Router) {
		_ = r.Handle("POST", "/echo", func(_ context.Context, req *Request) *Response {
			return Text(200, strconv.Itoa(len(req.Body)))
		})
	}, func(c *Config) { c.MaxRequestBodySize = limit })

	inUse := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapInuse
	}
	before := inUse()
	opened := make([]io.Writer, conns)
	for i := range opened {
		conn := ts.dial()
		fmt.Fprintf(conn, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", limit, strings.Repeat("b", 1024))
		opened[i] = conn
	}
	// Give the server time to read what was sent.
	time.Sleep(300 * time.Millisecond)
	if grown := inUse() - min(before, inUse()); grown > 32<<20 {
		t.Fatalf("%d connections holding 1 KiB of a 4 MiB body each: heap grew by %d MiB", conns, grown>>20)
	}
}

// Bodies sent in pieces, with a length or chunked, arrive whole; a
// chunked body past the limit is refused; a client that waits for
// "100 Continue" before a body past the limit is refused at once.
func TestStreamedBodies(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(r *Router) {
		_ = r.Handle("POST", "/echo", func(_ context.Context, req *Request) *Response {
			return Text(200, string(req.Body))
		})
	}, func(c *Config) { c.MaxRequestBodySize = 64 << 10 })

	send := func(pieces ...string) (int, string) {
		t.Helper()
		conn := ts.dial()
		for _, p := range pieces {
			if _, err := io.WriteString(conn, p); err != nil {
				t.Fatal(err)
			}
			time.Sleep(5 * time.Millisecond)
		}
		resp := readResponseFrom(t, bufio.NewReader(conn))
		return resp.StatusCode(), string(resp.Body())
	}

	big := strings.Repeat("0123456789abcdef", 3000) // 48 000 bytes
	if status, body := send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 48000\r\n\r\n", big[:10], big[10:20000], big[20000:]); status != 200 || body != big {
		t.Errorf("pieces with a length: %d, %d bytes", status, len(body))
	}
	if status, body := send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", "5\r\nhello\r\n", "6\r\n world\r\n", "0\r\n\r\n"); status != 200 || body != "hello world" {
		t.Errorf("chunked: %d %q", status, body)
	}
	// (It stops sending at the byte past the limit: the server closes
	// the connection, and unread bytes would make it a reset.)
	chunk := strings.Repeat("c", 32<<10)
	status, body := send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
		fmt.Sprintf("%x\r\n%s\r\n", len(chunk), chunk), fmt.Sprintf("%x\r\n%s\r\n", len(chunk), chunk), "1\r\nX\r\n")
	if status != 413 || !strings.Contains(body, "PAYLOAD_TOO_LARGE") {
		t.Errorf("chunked past the limit: %d %s", status, body)
	}
	// Waiting for 100 Continue: answered 413 without it.
	if status, body := send("POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 1000000\r\n\r\n"); status != 413 || !strings.Contains(body, "PAYLOAD_TOO_LARGE") {
		t.Errorf("expecting 100 Continue past the limit: %d %s", status, body)
	}
	// Within the limit it gets 100 Continue, then the answer.
	conn := ts.dial()
	br := bufio.NewReader(conn)
	io.WriteString(conn, "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
	line, _ := br.ReadString('\n')
	if !strings.HasPrefix(line, "HTTP/1.1 100 Continue") {
		t.Fatalf("expecting 100 Continue within the limit: %q", line)
	}
	br.ReadString('\n')
	io.WriteString(conn, "abcde")
	if resp := readResponseFrom(t, br); resp.StatusCode() != 200 || string(resp.Body()) != "abcde" {
		t.Errorf("after 100 Continue: %d %q", resp.StatusCode(), resp.Body())
	}
	// The body that follows 100 Continue is a body, whatever its line
	// ends, though it comes in parts: the interim answer did not end
	// the request.
	conn = ts.dial()
	br = bufio.NewReader(conn)
	io.WriteString(conn, "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 7\r\n\r\n")
	if line, _ := br.ReadString('\n'); !strings.HasPrefix(line, "HTTP/1.1 100 Continue") {
		t.Fatalf("expecting 100 Continue: %q", line)
	}
	br.ReadString('\n')
	io.WriteString(conn, "a\nb")
	time.Sleep(50 * time.Millisecond)
	io.WriteString(conn, "c\nd\n")
	if resp := readResponseFrom(t, br); resp.StatusCode() != 200 || string(resp.Body()) != "a\nbc\nd\n" {
		t.Errorf("a body in parts after 100 Continue: %d %q", resp.StatusCode(), resp.Body())
	}
	// A request no route takes is answered at once, without 100
	// Continue: 404, or 405 naming the methods the path allows.
	for _, c := range []struct {
		head   string
		status string
		allow  string
	}{
		{"POST /nosuch HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n", "HTTP/1.1 404", ""},
		{"PUT /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n", "HTTP/1.1 405", "OPTIONS, POST"},
	} {
		conn := ts.dial()
		br := bufio.NewReader(conn)
		io.WriteString(conn, c.head)
		line, _ := br.ReadString('\n')
		if !strings.HasPrefix(line, c.status) {
			t.Errorf("%q: answered %q, want %s at once", c.head, line, c.status)
			continue
		}
		resp := readResponseFrom(t, bufio.NewReader(io.MultiReader(strings.NewReader(line), br)))
		if got := string(resp.Header.Peek("Allow")); got != c.allow || len(resp.Header.Peek("X-Request-ID")) == 0 || !resp.ConnectionClose() {
			t.Errorf("%q: Allow %q (want %q), X-Request-ID %q, close %v", c.head, got, c.allow, resp.Header.Peek("X-Request-ID"), resp.ConnectionClose())
		}
	}

	// Pipelined requests with bodies each get theirs.
	conn = ts.dial()
	br = bufio.NewReader(conn)
	io.WriteString(conn, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\none"+
		"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\ntwo\r\n0\r\n\r\n"+
		"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nthree")
	for _, want := range []string{"one", "two", "three"} {
		if resp := readResponseFrom(t, br); resp.StatusCode() != 200 || string(resp.Body()) != want {
			t.Errorf("pipelined: %d %q, want %q", resp.StatusCode(), resp.Body(), want)
		}
	}
}

// A body cut short (the client closes before the announced length) is
// an incomplete request: answered 400, never handled. Empty bodies are
// handled without fasthttp's warning about reading a whole stream.
func TestIncompleteAndEmptyBodies(t *testing.T) {
	t.Parallel()
	var handled atomic.Int32
	ts := newTestServer(t, func(r *Router) {
		_ = r.Handle("POST", "/echo", func(_ context.Context, req *Request) *Response {
			handled.Add(1)
			return Text(200, "["+string(req.Body)+"]")
		})
	}, nil)

	for _, raw := range []string{
		"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\nname=Robert",
		"POST /echo HTTP/1.0\r\nContent-Length: 65536\r\n\r\nx",
	} {
		conn := ts.dial()
		io.WriteString(conn, raw)
		conn.(*net.TCPConn).CloseWrite()
		resp := readResponseFrom(t, bufio.NewReader(conn))
		if resp.StatusCode() != 400 {
			t.Errorf("%q -> %d %s, want 400", raw, resp.StatusCode(), resp.Body())
		}
	}
	if n := handled.Load(); n != 0 {
		t.Errorf("the handler ran %d times on cut-short bodies", n)
	}

	for _, raw := range []string{
		"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
		"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	} {
		conn := ts.dial()
		io.WriteString(conn, raw)
		resp := readResponseFrom(t, bufio.NewReader(conn))
		if resp.StatusCode() != 200 || string(resp.Body()) != "[]" {
			t.Errorf("%q -> %d %q", raw, resp.StatusCode(), resp.Body())
		}
	}
	if strings.Contains(ts.logs.String(), "entire stream") {
		t.Errorf("empty bodies logged fasthttp's stream warning:\n%s", ts.logs.String())
	}
}

// A client still sending a body past the limit when it is answered 413
// can send it to the end and read that answer, rather than meet a
// connection reset half-way: the connection closes lingering (its write
// side first, then what still arrives is dropped).
func TestTooLargeWhileSendingGetsItsAnswer(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(r *Router) {
		_ = r.Handle("POST", "/echo", func(_ context.Context, req *Request) *Response {
			return Text(200, strconv.Itoa(len(req.Body)))
		})
	}, func(c *Config) { c.MaxRequestBodySize = 64 << 10 })
	for round := range 5 {
		conn := ts.dial()
		// Announced past the limit, and sent without waiting: the 413
		// goes out while megabytes are still on their way.
		fmt.Fprintf(conn, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", 3<<20)
		sent := make(chan error, 1)
		go func() {
			chunk := []byte(strings.Repeat("z", 32<<10))
			for range 96 {
				if _, err := conn.Write(chunk); err != nil {
					sent <- err
					return
				}
			}
			sent <- nil
		}()
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp := readResponseFrom(t, bufio.NewReader(conn))
		if resp.StatusCode() != 413 || !strings.Contains(string(resp.Body()), "PAYLOAD_TOO_LARGE") {
			t.Fatalf("round %d: %d %s", round, resp.StatusCode(), resp.Body())
		}
		// The client gets to send its body to the end (as curl does
		// before it reads the answer), not a reset half-way.
		if err := <-sent; err != nil {
			t.Fatalf("round %d: sending the rest of the body: %v", round, err)
		}
		conn.Close()
	}
}

// A body read from the connection is the request's own memory:
// BodyString shares it, and a string a handler keeps of one request's
// body still reads the same after later requests on the connection, with
// bodies of the same size and smaller. A request's arena, which a later
// request may reuse, is copied from.
func TestBodyStringSharesOnlyOwnMemory(t *testing.T) {
	t.Parallel()
	kept := make(chan string, 8)
	ts := newTestServer(t, func(r *Router) {
		_ = r.Handle("POST", "/keep", func(_ context.Context, req *Request) *Response {
			s := req.BodyString()
			shared := len(req.Body) > 0 && unsafe.StringData(s) == &req.Body[0]
			kept <- s
			return Text(200, strconv.FormatBool(shared))
		})
	}, nil)
	conn := ts.dial()
	br := bufio.NewReader(conn)
	bodies := []string{strings.Repeat("a", 5000), strings.Repeat("b", 5000), "c", strings.Repeat("d", 70000)}
	for _, b := range bodies {
		fmt.Fprintf(conn, "POST /keep HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", len(b), b)
		if resp := readResponseFrom(t, br); resp.StatusCode() != 200 || string(resp.Body()) != "true" {
			t.Fatalf("a %d-byte body: %d %q, want it shared", len(b), resp.StatusCode(), resp.Body())
		}
	}
	for i, want := range bodies {
		if got := <-kept; got != want {
			t.Fatalf("body %d kept: %d bytes starting %q, want %d bytes of %q", i, len(got), got[:min(len(got), 8)], len(want), want[:1])
		}
	}

	// A request made in process has its body in the arena: copied.
	req := &Request{Body: []byte("in process")}
	if s := req.BodyString(); s != "in process" || unsafe.StringData(s) == &req.Body[0] {
		t.Errorf("an arena body: %q, shared %v", s, unsafe.StringData(s) == &req.Body[0])
	}
	if s := (&Request{}).BodyString(); s != "" {
		t.Errorf("no body: %q", s)
	}
}

// A body's buffer doubles from 4 KiB until a quarter of the announced
// length has come, then takes the whole length: never more than it, and
// never more than four times what has come. A chunked body, whose length
// is not known, doubles up to the byte past the limit.
func TestBodyGrowth(t *testing.T) {
	for _, size := range []int{1, 4096, 5000, 1 << 20, 50_000_000} {
		var caps []int
		for have := 0; have < size; {
			next := bodyGrowth(have, size, false)
			if next <= have || next > size || have > 0 && next > 4*have && next > 4096 {
				t.Fatalf("size %d: %d bytes grow to %d", size, have, next)
			}
			caps = append(caps, next)
			have = next
		}
		if size == 50_000_000 {
			// 4 KiB doubled to 16 MiB (a quarter of the body is 12.5 MB),
			// then the body's length: 14 buffers, where doubling all the
			// way would make 15, the last of 50 MB after one of 32 MiB.
			if len(caps) != 14 || caps[12] != 16<<20 || caps[13] != size {
				t.Errorf("size %d: buffers %v", size, caps)
			}
		}
	}
	limit := 1 << 20
	have := 0
	for have < limit+1 {
		next := bodyGrowth(have, limit+1, true)
		if next <= have || next > limit+1 || next > max(2*have, 4096) {
			t.Fatalf("chunked: %d bytes grow to %d", have, next)
		}
		have = next
	}
}

// A chunked body's framing has a budget of its own: a chunk extension
// of megabytes on a body of one byte is refused once it passes the
// body's limit and 64 KiB (fasthttp read extensions of any length, so
// that one request could make the server read gigabytes), while a body
// sent in many small chunks within the limit is served.
func TestChunkFramingHasALimit(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(r *Router) {
		_ = r.Handle("POST", "/echo", func(_ context.Context, req *Request) *Response {
			return Text(200, strconv.Itoa(len(req.Body)))
		})
	}, func(c *Config) { c.MaxRequestBodySize = 16 << 10 })
	conn := ts.dial()
	io.WriteString(conn, "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1;")
	sent := make(chan int64, 1)
	go func() {
		ext := []byte(strings.Repeat("a", 32<<10))
		var n int64
		for range 1024 { // 32 MiB, unless the server stops reading
			if _, err := conn.Write(ext); err != nil {
				break
			}
			n += int64(len(ext))
		}
		sent <- n
	}()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp := readResponseFrom(t, bufio.NewReader(conn))
	if resp.StatusCode() != 400 || !strings.Contains(string(resp.Body()), "framing") {
		t.Fatalf("a long chunk extension: %d %s", resp.StatusCode(), resp.Body())
	}
	conn.Close()
	if n := <-sent; n >= 32<<20 {
		t.Errorf("the server read all %d bytes of the extension", n)
	}

	// 2 000 chunks of 8 bytes: 16 000 bytes of data in 26 000 on the wire.
	var b strings.Builder
	b.WriteString("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
	for range 2000 {
		b.WriteString("8\r\n01234567\r\n")
	}
	b.WriteString("0\r\n\r\n")
	conn = ts.dial()
	defer conn.Close()
	io.WriteString(conn, b.String())
	resp = readResponseFrom(t, bufio.NewReader(conn))
	if resp.StatusCode() != 200 || string(resp.Body()) != "16000" {
		t.Fatalf("small chunks: %d %s", resp.StatusCode(), resp.Body())
	}
}

// With the largest limit a program can write (max_body of the largest
// Int), a chunked body arrives whole: the byte the reader adds to the
// limit to tell a body too large overflowed it, and the body read as
// empty.
func TestLargestBodyLimit(t *testing.T) {
	ts := newTestServer(t, func(r *Router) {
		_ = r.Handle("POST", "/echo", func(_ context.Context, req *Request) *Response {
			return Text(200, string(req.Body))
		})
	}, func(c *Config) { c.MaxRequestBodySize = math.MaxInt64 })
	conn := ts.dial()
	io.WriteString(conn, "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
	if resp := readResponseFrom(t, bufio.NewReader(conn)); resp.StatusCode() != 200 || string(resp.Body()) != "hello world" {
		t.Errorf("chunked: %d %q", resp.StatusCode(), resp.Body())
	}
	io.WriteString(conn, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nabcde")
	if resp := readResponseFrom(t, bufio.NewReader(conn)); resp.StatusCode() != 200 || string(resp.Body()) != "abcde" {
		t.Errorf("with a length: %d %q", resp.StatusCode(), resp.Body())
	}
}
