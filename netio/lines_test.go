package netio

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// TestLineCheck feeds header blocks to lineCheck cut at every place into
// two reads: the verdict must not depend on where the reads end, and
// bytes after the block's end (a body) are never looked at.
func TestLineCheck(t *testing.T) {
	cases := []struct {
		in   string
		bare bool // a line ended in LF alone
		open bool // no CRLF CRLF: fasthttp waits for more
	}{
		{"GET / HTTP/1.1\r\nHost: x\r\n\r\n", false, false},
		{"GET / HTTP/1.1\r\nHost: x\r\n\r\n{\n  \"a\": 1\n}\n", false, false},
		{"GET / HTTP/1.1\nHost: x\n\n", true, true},
		{"GET / HTTP/1.1\r\nHost: x\n\r\n", true, true},
		{"GET / HTTP/1.1\r\nHost: x\r\n\n", true, true},
		{"GET / HTTP/1.1\r\nHost: x\nAccept: y\r\n\r\n", true, false}, // fasthttp serves it
		{"GET / HTTP/1.1\r\nHost: x\r\nX: a\rb\r\n\r\n", false, false},
		{"GET / HTTP/1.1\r\nHost: x\r\r\n\r\n", false, false},
		{"GET / HTTP/1.1\r\nHost: x\r\n", false, true},
		{"GET / HTTP/1.1\r\nHost: x\r\n\r", false, true},
		{"GET / HTTP/1.1\r", false, true},
		{"\r\n", false, true},
		{"\r\n\r\n", false, false},
		{"\n", true, true},
		// a CR that no LF follows ends no line (RFC 9112 §2.2)
		{"GET / HTTP/1.1\rHost: a\r\r", true, true},
		{"GET / HTTP/1.1\r\nHost: a\rX: b\r\n", true, true},
	}
	for _, c := range cases {
		if got := strings.Contains(c.in, "\r\n\r\n"); got == c.open {
			t.Fatalf("%q: the table disagrees with fasthttp's rule", c.in)
		}
		for cut := 0; cut <= len(c.in); cut++ {
			var l lineCheck
			l.start()
			l.scan([]byte(c.in[:cut]))
			if l.open {
				l.scan([]byte(c.in[cut:]))
			}
			if l.open != c.open || (c.open && l.bare != c.bare) {
				t.Errorf("%q cut at %d: open %v bare %v, want %v %v", c.in, cut, l.open, l.bare, c.open, c.bare)
			}
			if l.waitsInVain() != (c.open && c.bare) {
				t.Errorf("%q cut at %d: waitsInVain %v", c.in, cut, l.waitsInVain())
			}
		}
	}
}

// A request whose lines end in LF alone gets a 400 that says so at once,
// not after the read timeout; one whose CRLF header arrives in pieces, or
// whose body holds bare LFs, is served.
func TestBareLFRequestIs400AtOnce(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(r *Router) {
		_ = r.Handle("POST", "/echo", func(_ context.Context, req *Request) *Response {
			return Text(200, string(req.Body))
		})
	}, nil)
	for _, raw := range []string{
		"GET / HTTP/1.1\nHost: x\n\n",
		"GET / HTTP/1.1\r\nHost: x\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\n\n",
		"GET / HTTP/1.1\rHost: x\r\r", // (a 408 after a minute)
	} {
		conn := ts.dial()
		start := time.Now()
		_, _ = io.WriteString(conn, raw)
		resp := readResponse(t, conn)
		conn.Close()
		if resp.StatusCode() != 400 || !bytes.Contains(resp.Body(), []byte(`must end in CRLF`)) {
			t.Errorf("%q -> %d %s", raw, resp.StatusCode(), resp.Body())
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%q answered after %v", raw, d)
		}
	}
	if !strings.Contains(ts.logs.String(), "ending in LF alone") {
		t.Errorf("the 400 is not logged with its cause:\n%s", ts.logs.String())
	}

	// A block fasthttp can end (a CRLF CRLF after a line ending in LF
	// alone) is served as before, and its connection serves the next one.
	conn := ts.dial()
	for range 2 {
		_, _ = io.WriteString(conn, "POST /echo HTTP/1.1\r\nHost: x\nContent-Length: 2\r\n\r\nok")
		if resp := readResponse(t, conn); resp.StatusCode() != 200 || string(resp.Body()) != "ok" {
			t.Errorf("tolerated bare LF -> %d %q", resp.StatusCode(), resp.Body())
		}
	}
	conn.Close()

	// The same bytes, their last CRLF in another segment: served too
	// (the check refused them as soon as fasthttp asked for more).
	conn = ts.dial()
	_, _ = io.WriteString(conn, "POST /echo HTTP/1.1\r\nHost: x\nContent-Length: 2\r\n")
	time.Sleep(30 * time.Millisecond)
	_, _ = io.WriteString(conn, "\r\nok")
	if resp := readResponse(t, conn); resp.StatusCode() != 200 || string(resp.Body()) != "ok" {
		t.Errorf("bare LF, the block's end in another segment -> %d %q", resp.StatusCode(), resp.Body())
	}
	conn.Close()

	body := "{\n  \"a\": 1\n}\n"
	pieces := []string{
		"POST /echo HTTP/1.1\r\nHost: x\r",
		"\nContent-Length: 13\r\n",
		"\r\n" + body[:3],
		body[3:],
	}
	conn = ts.dial()
	for _, p := range pieces {
		if _, err := io.WriteString(conn, p); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond) // each piece its own read
	}
	resp := readResponse(t, conn)
	if resp.StatusCode() != 200 || string(resp.Body()) != body {
		t.Errorf("pieced request -> %d %q", resp.StatusCode(), resp.Body())
	}
	// The same connection's next request is checked afresh.
	_, _ = io.WriteString(conn, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 13\r\n\r\n"+body)
	if resp := readResponse(t, conn); resp.StatusCode() != 200 || string(resp.Body()) != body {
		t.Errorf("second request -> %d %q", resp.StatusCode(), resp.Body())
	}
}

// A request pipelined behind another, whose request line's CR came in
// the other's segment and its LF in a later one, seconds on, is served:
// it was refused as a line ended in LF alone. A request that does end
// its lines in LF alone, after one that came whole, still gets its 400
// at once.
func TestPipelinedRequestSplitAtCRLF(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(r *Router) {
		_ = r.Handle("GET", "/hello", func(_ context.Context, req *Request) *Response {
			return Text(200, "hi")
		})
	}, nil)
	for _, first := range []string{
		"GET /hello HTTP/1.1\r\nHost: a\r\n\r\n",
		"POST /hello HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
	} {
		conn := ts.dial()
		for _, p := range []string{first + "GET /hello HTTP/1.1\r", "\nHost: a\r\n", "\r\n"} {
			if _, err := io.WriteString(conn, p); err != nil {
				t.Fatal(err)
			}
			time.Sleep(300 * time.Millisecond)
		}
		br := bufio.NewReader(conn)
		for i := range 2 {
			var resp fasthttp.Response
			if err := resp.Read(br); err != nil {
				t.Fatalf("after %q, answer %d: %v", first, i+1, err)
			}
			if i == 0 && !strings.HasPrefix(first, "GET") {
				continue // (405: the route takes GET)
			}
			if resp.StatusCode() != 200 || string(resp.Body()) != "hi" {
				t.Errorf("after %q, answer %d: %d %q", first, i+1, resp.StatusCode(), resp.Body())
			}
		}
		conn.Close()
	}

	// A header block too large, pipelined behind a request, is a 431,
	// as alone: its short request line was taken for one over the
	// limit (414), the block's first read being the request's before.
	conn := ts.dial()
	_, _ = io.WriteString(conn, "GET /hello HTTP/1.1\r\nHost: a\r\n\r\nGET /hello HTTP/1.1\r\nHost: a\r\nX-Big: "+strings.Repeat("a", 9000)+"\r\n\r\n")
	br := bufio.NewReader(conn)
	for i, want := range []int{200, 431} {
		var resp fasthttp.Response
		if err := resp.Read(br); err != nil || resp.StatusCode() != want {
			t.Errorf("pipelined large block, answer %d: %d %v, want %d", i+1, resp.StatusCode(), err, want)
		}
	}
	conn.Close()

	conn = ts.dial()
	defer conn.Close()
	_, _ = io.WriteString(conn, "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
	if resp := readResponse(t, conn); resp.StatusCode() != 200 {
		t.Fatalf("first request: %d %q", resp.StatusCode(), resp.Body())
	}
	start := time.Now()
	_, _ = io.WriteString(conn, "GET /hello HTTP/1.1\nHost: a\n\n")
	if resp := readResponse(t, conn); resp.StatusCode() != 400 || !bytes.Contains(resp.Body(), []byte("must end in CRLF")) {
		t.Errorf("LF alone after a request: %d %s", resp.StatusCode(), resp.Body())
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("LF alone after a request answered after %v", d)
	}
}

// BenchmarkLineCheck is the check's cost on a request's first read: a
// GET whose block ends the read, and a POST whose body follows it.
func BenchmarkLineCheck(b *testing.B) {
	head := "Host: 127.0.0.1:18301\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n"
	for name, req := range map[string]string{
		"GET":  "GET /json HTTP/1.1\r\n" + head + "\r\n",
		"POST": "POST /todos HTTP/1.1\r\n" + head + "Content-Length: 17\r\n\r\n{\"title\":\"milk\"}",
	} {
		b.Run(name, func(b *testing.B) {
			p := []byte(req)
			var l lineCheck
			for b.Loop() {
				l = lineCheck{}
				l.start()
				l.scan(p)
			}
			if l.open {
				b.Fatal("block not ended")
			}
		})
	}
}
