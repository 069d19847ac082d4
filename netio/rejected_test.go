package netio

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"tova/internal/testutil"
)

// A request fasthttp rejects is logged once, by handleError, with its
// request id; fasthttp's own "error when serving connection" line for
// the same failure is dropped. The line names the method and path only
// when the request's header was read.
func TestRejectedRequestLoggedOnce(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(r *Router) {
		_ = r.Handle("POST", "/echo", func(_ context.Context, req *Request) *Response {
			return Text(200, string(req.Body))
		})
	}, func(c *Config) { c.MaxRequestBodySize = 16 })
	cases := []struct {
		raw          string
		status       int
		method, path string
		cause        string
	}{
		{"GARBAGE\r\n\r\n", 400, "", "", "cannot find http request method"},
		{"GET /echo HTTP/1.1\nHost: x\n\n", 400, "", "", "ending in LF alone"},
		{"GET /echo HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400, "", "", "cannot parse content-length"},
		{"GET /echo HTTP/1.1\r\n\r\n", 400, "", "", "the request has no Host field, or an empty one"},
		{"GET /echo HTTP/1.1\r\nHost:\r\n\r\n", 400, "", "", "the request has no Host field, or an empty one"},
		// What fasthttp quoted whole (cut to "…") is said in words.
		{"GET /echo HTTP/1.1\r\nHost: a.com:abc\r\n\r\n", 400, "GET", "/echo", "the Host's port is not a number"},
		{"GET /echo HTTP/1.1\r\nHost: ::1\r\n\r\n", 400, "GET", "/echo", "the Host holds more than one ':'"},
		// The log names the cause, never the request's bytes (credentials).
		{"GET /echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer SECRET-1\r\nBad Header\r\n\r\n", 400, "", "", "missing colon"},
		{"G@T /echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer SECRET-2\r\nCookie: s=SECRET-3\r\n\r\n", 400, "", "", `unsupported http request method "G@T"`},
		{"GET /echo HTTP/9.x\r\nHost: x\r\nAuthorization: Bearer SECRET-4\r\n\r\n", 400, "", "", "unsupported http version"},
		{"GET /echo?token=SECRET-5 HTTP/1.1 x\r\nHost: x\r\nAuthorization: Bearer SECRET-6\r\n\r\n", 400, "", "", "unsupported http version"},
		{"GET /echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer SECRET-7\x01\r\n\r\n", 400, "", "", "a header field's value holds a control character"},
		// fasthttp's words were about response headers, and a version.
		{"GET /echo  HTTP/1.1\r\nHost: x\r\n\r\n", 400, "", "", "the request line is not a method, a target and HTTP/1.0 or HTTP/1.1, one space apart: unsupported http version"},
		{"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nHost: SECRET-16\r\n\r\n", 400, "POST", "/echo", "error when reading the trailer after a chunked body: forbidden trailer key"},
		// A Trailer field naming what a trailer may not carry.
		{"GET /echo HTTP/1.1\r\nHost: x\r\nTrailer: Authorization\r\n\r\n", 400, "", "", "the Trailer field names a field a trailer may not carry"},
		// A chunk longer than its size.
		{"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n", 400, "POST", "/echo", "is a chunk longer than its size says?"},
		{"POST /echo HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 400, "", "", "an HTTP/1.0 request may not have a Transfer-Encoding"},
		// A trailer's value was copied, as a header's is not.
		{"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nX-Token: SECRET-17\x01\r\n\r\n", 400, "POST", "/echo", `invalid trailer value "…"`},
		// Key=value credentials where a version, target or header name
		// should be.
		{"GET /search?q=a b&api_key=SECRET-13 HTTP/1.1\r\nHost: x\r\n\r\n", 400, "", "", "unsupported http version"},
		{"GET token=SECRET-14 HTTP/1.1\r\nHost: x\r\n\r\n", 400, "", "", "token…"},
		{"GET /echo HTTP/1.1\r\nHost: x\r\nAccept: */*\r\nX-Api-Key=SECRET-15\r\n\r\n", 400, "", "", "missing colon"},
		// A TLS handshake (https:// to this http:// port) is answered at
		// once, with or without a line end in it (none: fasthttp waited
		// for the read timeout).
		{"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03SECRET-8\r\n\r\n", 400, "", "", "a TLS handshake arrived: this port serves plain HTTP"},
		{"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03SECRET-12", 400, "", "", "a TLS handshake arrived: this port serves plain HTTP"},
		// The HTTP/2 preface (prior knowledge) answers 505, as HTTP/2.0 in
		// a request line does; its `*` target was refused with 400.
		{"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505, "", "", "an HTTP/2 connection preface arrived"},
		// A transfer coding other than chunked: 501, still the client's doing.
		{"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "", "", "Transfer-Encoding names a coding"},
		// (its value was quoted in the log, up to 32 bytes)
		{"GET /k HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: SECRET-18gzip\r\n\r\n", 501, "", "", "Transfer-Encoding names a coding"},
		// fasthttp takes "identity" as no coding; the body would be read
		// as the next request.
		{"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: IDENTITY\r\n\r\nGET /echo HTTP/1.1\r\nHost: x\r\n\r\n", 501, "POST", "/echo", "Transfer-Encoding names a coding"},
		// A field name must be a token; fasthttp takes a space inside one.
		{"GET /echo HTTP/1.1\r\nHost: x\r\nX A: v\r\n\r\n", 400, "GET", "/echo", "field name"},
		{"GET /echo HTTP/1.1\r\nHost: x\r\nAuthorization Bearer SECRET-9\r\n\r\n", 400, "", "", "missing colon"},
		// Too large: the cause in the server's words, not fasthttp's.
		{"GET /" + strings.Repeat("a", 9000) + " HTTP/1.1\r\nHost: x\r\n\r\n", 414, "", "", "request line is over the limit of 8192 bytes"},
		{"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 9000) + "\r\n\r\n", 431, "", "", "header fields are over the limit of 8192 bytes"},
		// A %2F that makes a dot segment, and an encoded NUL.
		{"GET /p/..%2f..%2Fecho HTTP/1.1\r\nHost: x\r\n\r\n", 400, "GET", "/echo", "%2F"},
		{"GET /echo%00x HTTP/1.1\r\nHost: x\r\n\r\n", 400, "GET", "/echo\x00x", "%00"},
		// Request targets HTTP refuses: a fragment; an absolute URI
		// with another scheme, userinfo or no host.
		{"GET /echo#SECRET-10 HTTP/1.1\r\nHost: x\r\n\r\n", 400, "GET", "/echo", "fragment"},
		{"GET ftp://x/echo HTTP/1.1\r\nHost: x\r\n\r\n", 400, "GET", "/echo", "scheme"},
		{"GET http://SECRET-11:pw@x/echo HTTP/1.1\r\nHost: x\r\n\r\n", 400, "GET", "/echo", "userinfo"},
		{"GET http://:80/echo HTTP/1.1\r\nHost: x\r\n\r\n", 400, "GET", "/echo", "empty host"},
		{"GET http://x:99999/echo HTTP/1.1\r\nHost: x\r\n\r\n", 400, "GET", "/echo", "port is not a number"},
		{"GET http://x:b/echo HTTP/1.1\r\nHost: x\r\n\r\n", 400, "GET", "/echo", "the request target's port is not a number"},
		// Nor does a bad Host field pass because the target names the
		// host, nor a target's host that is not ASCII.
		{"GET http://x/echo HTTP/1.1\r\nHost: a b\r\n\r\n", 400, "GET", "/echo", "the Host field holds a character no host name has"},
		{"GET http://x/echo HTTP/1.1\r\nHost: a/b\r\n\r\n", 400, "GET", "/echo", "the Host field holds a character no host name has"},
		{"GET http://caf\xc3\xa9/echo HTTP/1.1\r\nHost: ok\r\n\r\n", 400, "GET", "/echo", "the request target's host holds a character no host name has"},
		// A Host fasthttp refuses after reading the request line: the
		// line names the request's own path.
		{"GET /echo HTTP/1.1\r\nHost: a, b\r\n\r\n", 400, "GET", "/echo", ""},
		// A Host refused as an absolute target's authority would be.
		{"GET /echo HTTP/1.1\r\nHost: SECRET-16:pw@x\r\n\r\n", 400, "GET", "/echo", "the Host field holds userinfo"},
		{"GET /echo HTTP/1.1\r\nHost: x:99999\r\n\r\n", 400, "GET", "/echo", "the Host field's port is not a number"},
		{"GET /echo HTTP/1.1\r\nHost: caf\xc3\xa9\r\n\r\n", 400, "GET", "/echo", "the Host field holds a byte that is not ASCII"},
		// fasthttp quoted a Host it could not read whole.
		{"GET /echo HTTP/1.1\r\nHost: ]SECRET-18\r\n\r\n", 400, "GET", "/echo", `invalid host "…"`},
		{"GET /echo HTTP/1.1\r\nHost: tok%SECRET-19\r\n\r\n", 400, "GET", "/echo", "holds a % escape no host name may hold"},
		{"GET http://a%20b/echo HTTP/1.1\r\nHost: x\r\n\r\n", 400, "GET", "/echo", "holds a % escape no host name may hold"},
		// A field name's fault, in one set of words whichever check met it.
		{"GET /echo HTTP/1.1\r\nHost: x\r\nX(A): v\r\n\r\n", 400, "", "", "a header field name holds a space or another character no field name may hold"},
		{"GET /echo HTTP/1.1\r\nHost: x\r\nX@A: v\r\n\r\n", 400, "", "", "a header field name holds a space or another character no field name may hold"},
		{"GET /echo HTTP/1.1\r\nHost: x\r\n: v\r\n\r\n", 400, "", "", "no field name may hold"},
		{"GET /echo HTTP/1.1\r\nHost: x\r\nX-A : v\r\n\r\n", 400, "", "", "no field name may hold"},
		{"GET\t/echo\tHTTP/1.1\r\nHost: x\r\n\r\n", 400, "", "", "the request line must be a method, a target and HTTP/1.1, one space apart"},
		// A space or tab in the Host is named, not cut to "…" (which
		// the message then called the invalid character).
		{"GET /echo HTTP/1.1\r\nHost: a b\r\n\r\n", 400, "GET", "/echo", `invalid character " " in host name`},
		{"GET /echo HTTP/1.1\r\nHost: a\tb\r\n\r\n", 400, "GET", "/echo", `invalid character "\t" in host name`},
		// fasthttp named itself inside its messages.
		{"GET * HTTP/1.1\r\nHost: x\r\n\r\n", 400, "", "", `invalid request uri "*"`},
		{"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\nhello", 400, "", "", "cannot parse content-length: non-numeric chars found"},
		{"GET http://x/echo HTTP/1.1\r\nHost: x:65536\r\n\r\n", 400, "GET", "/echo", "the Host field's port is not a number"},
		{"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 99\r\n\r\n", 413, "POST", "/echo", "the body is over the limit of 16 bytes (max_body)"},
		// HTTP/1.0 has no 100 Continue: refused once the body begins.
		{"POST /a/../echo HTTP/1.0\r\nContent-Length: 99\r\n\r\nx", 413, "POST", "/echo", "the body is over the limit of 16 bytes (max_body)"},
		// A valid incoming request id is kept, once the header was read.
		{"POST /echo HTTP/1.1\r\nHost: x\r\nX-Request-ID: mine-413\r\nContent-Length: 99\r\n\r\n", 413, "POST", "/echo", "the body is over the limit of 16 bytes (max_body)"},
		{"POST /echo HTTP/1.1\r\nHost: x\r\nX-Request-ID: bad id\r\nContent-Length: 99\r\n\r\n", 413, "POST", "/echo", "the body is over the limit of 16 bytes (max_body)"},
	}
	for _, c := range cases {
		ts.logs.Reset()
		conn := ts.dial()
		_, _ = io.WriteString(conn, c.raw)
		br := bufio.NewReader(conn)
		resp := readResponseFrom(t, br)
		if resp.StatusCode() != c.status {
			t.Errorf("%q -> %d, want %d", c.raw, resp.StatusCode(), c.status)
		}
		// A 400 says what was wrong, as the log line does, and shows no
		// more of the request than the log line.
		var e struct{ Error struct{ Message string } }
		if err := json.Unmarshal(resp.Body(), &e); err != nil {
			t.Errorf("%q: body %q: %v", c.raw, resp.Body(), err)
		}
		if msg := e.Error.Message; c.status == 400 && msg != bareLFMessage && msg != tlsMessage &&
			(!strings.HasPrefix(msg, "Bad Request: ") || !strings.Contains(msg, c.cause)) {
			t.Errorf("%q: message %q, want it to name %q", c.raw, msg, c.cause)
		}
		if bytes.Contains(resp.Body(), []byte("SECRET")) || bytes.Contains(resp.Body(), []byte("fasthttp")) {
			t.Errorf("%q: the answer copies the request: %s", c.raw, resp.Body())
		}
		// The server closes the connection after logging its end, and
		// answers nothing more (no request smuggled in a body).
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		if rest, err := io.ReadAll(br); err != nil || len(rest) > 0 {
			t.Fatalf("%q: after the answer: %q, %v; want the connection closed", c.raw, rest, err)
		}
		lines := logLines(t, ts.logs)
		if len(lines) != 1 {
			t.Errorf("%q: want one log line, got %d:\n%s", c.raw, len(lines), ts.logs.String())
			continue
		}
		l := lines[0]
		id := string(resp.Header.Peek("X-Request-ID"))
		if mine := strings.Contains(c.raw, "mine-413"); mine != (id == "mine-413") {
			t.Errorf("%q: request id %q", c.raw, id)
		}
		if l["request_id"] != id || id == "" || id == "bad id" || l["method"] != c.method || l["path"] != c.path || l["status"] != float64(c.status) {
			t.Errorf("%q: logged %v, want id %q method %q path %q status %d", c.raw, l, id, c.method, c.path, c.status)
		}
		if l["level"] != "warn" {
			t.Errorf("%q: logged at %v, want warn", c.raw, l["level"])
		}
		if e, _ := l["error"].(string); !strings.Contains(e, c.cause) {
			t.Errorf("%q: logged error %q, want it to name %q", c.raw, e, c.cause)
		}
		if strings.Contains(ts.logs.String(), "SECRET") || strings.Contains(ts.logs.String(), "contents") {
			t.Errorf("%q: the log copies the request: %s", c.raw, ts.logs.String())
		}
	}
}

// checkRawHeaders refuses a field name that is not a token and a
// transfer coding other than chunked, and finds X-Request-ID when it is
// there once, on one line.
func TestCheckRawHeaders(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		block, id string
		err       error
	}{
		{"Host: x\r\nX-Request-ID:  abc \r\n\r\n", "abc", nil},
		{"Host: x\r\nx-request-id:abc\r\n", "abc", nil},
		{"Host: x\r\n", "", nil},
		{"X-Request-ID: a\r\nX-Request-ID: a\r\n", "", nil},
		// Folded: the value is "abc def", no valid id.
		{"X-Request-ID: abc\r\n def\r\nHost: x\r\n", "", nil},
		// A fold after another field leaves the id alone.
		{"X-Request-ID: abc\r\nX-A: 1\r\n 2\r\n", "abc", nil},
		{"Transfer-Encoding: chunked\r\n", "", nil},
		{"transfer-encoding:\tCHUNKED \r\n", "", nil},
		{"Transfer-Encoding: identity\r\n", "", errTransferCoding},
		{"Transfer-Encoding: chunked, identity\r\n", "", errTransferCoding},
		{"X A: v\r\n", "", errFieldName},
		{"X-A\x7f: v\r\n", "", errFieldName},
		{"(x): v\r\n", "", errFieldName},
		{": v\r\n", "", errFieldName},
		{"Host x\r\n", "", errFieldName},
		{"X_A.b~!#$%&'*+^`|: v\r\n", "", nil},
		// A length or a coding folded onto a second line is refused
		// (a proxy that does not join the lines reads another framing);
		// a fold elsewhere is not.
		{"Content-Length:\r\n 5\r\n", "", errFoldedFraming},
		{"content-length: 5\r\n\t5\r\n", "", errFoldedFraming},
		{"Transfer-Encoding:\r\n chunked\r\n", "", errFoldedFraming},
		{"Transfer-Encoding: \r\n\tchunked\r\n", "", errFoldedFraming},
		{"Transfer-Encoding:\r\nX-A: 1\r\n", "", errTransferCoding},
		{"Transfer-Encoding: gzip,\r\n chunked\r\n", "", errFoldedFraming},
		{"Transfer-Encoding: chunked\r\n \r\n", "", errFoldedFraming},
		{"Content-Length: 5\r\nX-A: 1\r\n 2\r\n", "", nil},
	} {
		id, err := checkRawHeaders([]byte(c.block))
		if string(id) != c.id || err != c.err {
			t.Errorf("checkRawHeaders(%q) = %q, %v; want %q, %v", c.block, id, err, c.id, c.err)
		}
	}
}

// A connection that sends nothing within the read timeout is closed
// without an answer and without an access line: it made no request. So
// is one reset before its first byte.
func TestSilentConnectionClosedWithoutAnswer(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(r *Router) {
		_ = r.Handle("GET", "/", func(context.Context, *Request) *Response { return Text(200, "ok") })
	}, func(c *Config) { c.ReadTimeout = 200 * time.Millisecond })
	conn := ts.dial()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	got, err := io.ReadAll(conn)
	if err != nil || len(got) != 0 {
		t.Fatalf("a silent connection got %q, %v; want a close and no bytes", got, err)
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Fatalf("closed after %v, before the read timeout", d)
	}
	// Nor is one its client resets before sending anything (a probe).
	for range 3 {
		probe := ts.dial().(*net.TCPConn)
		_ = probe.SetLinger(0)
		_ = probe.Close()
	}
	time.Sleep(100 * time.Millisecond) // the log flush, if any
	for _, l := range logLines(t, ts.logs) {
		if _, ok := l["status"]; ok {
			t.Fatalf("a connection that sent nothing was logged: %v", l)
		}
	}
}

// A refused request's connection closes lingering: the client gets its
// whole answer and then an orderly end, not a reset, although it had
// sent more than the server read.
func TestRefusedConnectionLingers(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(r *Router) {
		_ = r.Handle("GET", "/", func(context.Context, *Request) *Response { return Text(200, "ok") })
	}, nil)
	unread := strings.Repeat("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 8000)
	for _, raw := range []string{
		"GET / HTTP/1.1\r\nHost: x\r\nX A: v\r\n\r\n",                                   // 400
		"GET /" + strings.Repeat("a", 9000) + " HTTP/1.1\r\nHost: x\r\n\r\n",            // 414
		"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 9000) + "\r\n\r\n", // 431
	} {
		conn := ts.dial()
		// Everything at once: the server refuses the first request with
		// the rest still unread in its socket.
		go func() { _, _ = io.WriteString(conn, raw+unread) }()
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		got, err := io.ReadAll(conn)
		if err != nil {
			t.Fatalf("%.40q: the connection ended in %v after %q", raw, err, got)
		}
		if !strings.HasPrefix(string(got), "HTTP/1.1 4") || strings.Count(string(got), "HTTP/1.1") != 1 {
			t.Fatalf("%.40q: got %q", raw, got)
		}
	}
}

// fasthttp's connection errors that handleError never saw are still
// logged; a reported connection is forgotten when it closes.
func TestFasthttpLoggerKeepsOtherErrors(t *testing.T) {
	logs := &testutil.Buffer{}
	log := zerolog.New(logs)
	l := fasthttpLogger{&log}
	server, client := net.Pipe()
	defer client.Close()
	tc := &timedConn{Conn: server}
	const format = "error when serving connection %q<->%q: %v"
	say := func() int {
		logs.Reset()
		l.Printf(format, tc.LocalAddr(), tc.RemoteAddr(), errors.New("write: connection refused"))
		return strings.Count(logs.String(), "connection refused")
	}
	if n := say(); n != 1 {
		t.Fatalf("an error handleError did not log: %d lines", n)
	}
	markReported(tc)
	if n := say(); n != 0 {
		t.Fatalf("a reported connection's error logged again: %d lines", n)
	}
	if n := say(); n != 1 {
		t.Fatalf("the report was not forgotten after its line: %d lines", n)
	}
	tc2 := &timedConn{Conn: server}
	markReported(tc2)
	_ = tc2.Close()
	if n := say(); n != 1 {
		t.Fatalf("a closed connection's report was kept: %d lines", n)
	}
}

func readResponseFrom(t *testing.T, br *bufio.Reader) *fasthttp.Response {
	t.Helper()
	resp := &fasthttp.Response{}
	if err := resp.Read(br); err != nil {
		t.Fatalf("read response: %v", err)
	}
	return resp
}

// logLines decodes the JSON log lines written so far.
func logLines(t *testing.T, b *testutil.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, s := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if s == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			t.Fatalf("log line %q: %v", s, err)
		}
		out = append(out, m)
	}
	return out
}

// withoutContents keeps what names a fault and drops the request's bytes.
func TestWithoutContents(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`error when reading request headers: unsupported http request method "G@T" in "G@T / HTTP/1.1\r\nAuthorization: x"`,
			`error when reading request headers: unsupported http request method "G@T"`},
		{`error when reading request headers: cannot find http request method in "\x16\x03\x01"`,
			`error when reading request headers: cannot find http request method`},
		{`error when reading request headers: invalid header value "Bearer abc\x01"`,
			`error when reading request headers: invalid header value "…"`},
		{`error when reading request headers: invalid request uri "/a?token=s" in "GET /a?token=s HTTP/1.1\r\n": bad`,
			`error when reading request headers: invalid request uri "/a…": bad`},
		{`error when reading request headers: invalid header key "Bad Key"`,
			`error when reading request headers: invalid header key "Bad…"`},
		// A line with no colon is a name and what follows it.
		{`malformed mime header: missing colon: "Authorization Bearer SECRET"`,
			`malformed mime header: missing colon: "Authorization…"`},
		{`malformed mime header line: "X-\x00A: SECRET"`,
			`malformed mime header line: "X-\x00A…"`},
		{`error when reading request headers: missing colon: buffer size=30, contents: "GET /"`,
			`error when reading request headers: missing colon`},
		{`invalid character " " in host name`, `invalid character " " in host name`},
		{`invalid character "\t" in host name`, `invalid character "\t" in host name`},
		{`cannot parse content-length`, `cannot parse content-length`},
		{`odd "unterminated`, `odd "unterminated`},
	} {
		if got := withoutContents(c.in); got != c.want {
			t.Errorf("withoutContents(%q)\n = %q\nwant %q", c.in, got, c.want)
		}
	}
	if got := withoutContents(`unsupported http version "` + strings.Repeat("x", 100) + `"`); len(got) > 100 {
		t.Errorf("a long value is kept whole: %q", got)
	}
}

// A refused HEAD request's answer ends at its header block (RFC 9112
// §6.3), also when fasthttp could not read the block and forgot the
// method: the error body went out after a missing Host, two Host or
// Content-Length fields, or a block too large.
func TestRefusedHeadHasNoBody(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(r *Router) {
		_ = r.Handle("GET", "/x", func(context.Context, *Request) *Response { return Text(200, "ok") })
	}, nil)
	for _, req := range []string{
		"HEAD /x HTTP/1.1\r\n\r\n",
		"HEAD /x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
		"HEAD /x HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
		"HEAD /x HTTP/1.1\r\nHost: a\r\nX-Big: " + strings.Repeat("b", 9000) + "\r\n\r\n",
		"HEAD /x HTTP/1.1\r\nHost: a\r\nX A: v\r\n\r\n",
	} {
		conn := ts.dial()
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(conn, req)
		raw, _ := io.ReadAll(conn)
		conn.Close()
		head, body, ok := strings.Cut(string(raw), "\r\n\r\n")
		if !ok || body != "" || !strings.HasPrefix(head, "HTTP/1.1 4") || !strings.Contains(head, "\r\nContent-Length: ") {
			t.Errorf("%.60q: %q", req, raw)
		}
	}
}

// A chunked body that stalls after its last chunk, in its trailer
// section, is answered 408 at the read timeout, as a stall anywhere else
// is (fasthttp gives that timeout as an error of its own, which was
// taken for a malformed request: 400 "timeout").
func TestStalledTrailerIsATimeout(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(r *Router) {
		_ = r.Handle("POST", "/echo", func(context.Context, *Request) *Response { return Text(200, "ok") })
	}, func(c *Config) { c.ReadTimeout = 300 * time.Millisecond })
	conn := ts.dial()
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(conn, "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n")
	raw, _ := io.ReadAll(conn)
	if !strings.HasPrefix(string(raw), "HTTP/1.1 408 ") {
		t.Fatalf("%q", raw)
	}
}

// A request its client abandons before it has arrived whole (the
// connection closed mid-header or mid-body) is no request refused: its
// access line says 499, the client's closing, at info, not a 400 at warn
// (5 000 clients that went away were 5 000 warnings of a 400 no one
// read, with method and path empty though its request line had come).
func TestAbandonedRequestNotLoggedAsRefused(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(r *Router) {
		_ = r.Handle("POST", "/echo", func(_ context.Context, req *Request) *Response {
			return Text(200, string(req.Body))
		})
	}, nil)
	for _, c := range []struct{ raw, method, path string }{
		{"G", "", ""},
		// (the header not read: fasthttp keeps none of it)
		{"POST /echo HTTP/1.1\r\nHost: a\r\n", "", ""},
		{"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc", "POST", "/echo"},
	} {
		ts.logs.Reset()
		conn := ts.dial()
		_, _ = io.WriteString(conn, c.raw)
		time.Sleep(50 * time.Millisecond)
		conn.Close()
		var line map[string]any
		for deadline := time.Now().Add(5 * time.Second); line["status"] == nil && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			for _, l := range strings.Split(strings.TrimSpace(ts.logs.String()), "\n") {
				if json.Unmarshal([]byte(l), &line) == nil && line["status"] != nil {
					break
				}
			}
		}
		if line["status"] != 499.0 || line["level"] != "info" || line["method"] != c.method || line["path"] != c.path ||
			!strings.Contains(fmt.Sprint(line["error"]), "the client closed the connection before the request had arrived") {
			t.Errorf("%q: %v", c.raw, line)
		}
	}
}
