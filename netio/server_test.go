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
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"tova/actors"
	"tova/internal/testutil"
)

type testServer struct {
	t      *testing.T
	srv    *Server
	pool   *actors.Pool
	addr   string
	client *fasthttp.HostClient
	logs   *testutil.Buffer
}

// newTestServer starts a real server on 127.0.0.1:0 with a real pool.
func newTestServer(t *testing.T, routes func(r *Router), configure func(*Config)) *testServer {
	t.Helper()
	sys := actors.NewSystem(actors.Options{Name: "test"})
	pool, err := sys.StartPool(actors.PoolOptions{Name: "handlers", Min: 2, Max: 64})
	if err != nil {
		t.Fatal(err)
	}
	r := NewRouter()
	routes(r)
	logs := &testutil.Buffer{}
	cfg := Config{
		Name:   "api",
		Addr:   "127.0.0.1:0",
		Router: r,
		Pool:   pool,
		Logger: zerolog.New(logs),
	}
	if configure != nil {
		configure(&cfg)
	}
	srv, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	ts := &testServer{t: t, srv: srv, pool: pool, addr: srv.Addr().String(), logs: logs}
	ts.client = &fasthttp.HostClient{Addr: ts.addr, MaxConns: 512, ReadTimeout: 10 * time.Second}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		_ = sys.Stop(ctx)
	})
	return ts
}

// dial opens a raw connection to the server, closed when the test ends.
func (ts *testServer) dial() net.Conn {
	ts.t.Helper()
	conn, err := net.Dial("tcp", ts.addr)
	if err != nil {
		ts.t.Fatal(err)
	}
	ts.t.Cleanup(func() { conn.Close() })
	return conn
}

// onConns opens n keep-alive connections to ts and runs fn on each, in
// a goroutine of its own (c numbers the connections), until all return.
func (ts *testServer) onConns(n int, fn func(c int, conn net.Conn, br *bufio.Reader)) {
	var wg sync.WaitGroup
	for c := range n {
		conn := ts.dial()
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(c, conn, bufio.NewReader(conn))
		}()
	}
	wg.Wait()
}

type reply struct {
	status int
	header map[string]string
	body   string
}

func (ts *testServer) do(method, uri string, headers map[string]string, body []byte) reply {
	ts.t.Helper()
	r, err := ts.try(method, uri, headers, body)
	if err != nil {
		ts.t.Fatalf("%s %s: %v", method, uri, err)
	}
	return r
}

func (ts *testServer) try(method, uri string, headers map[string]string, body []byte) (reply, error) {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(method)
	req.SetRequestURI("http://" + ts.addr + uri)
	for k, v := range headers {
		req.Header.Add(k, v)
	}
	if body != nil {
		req.SetBody(body)
	}
	if err := ts.client.Do(req, resp); err != nil {
		return reply{}, err
	}
	r := reply{status: resp.StatusCode(), header: map[string]string{}, body: string(resp.Body())}
	for k, v := range resp.Header.All() {
		r.header[strings.ToLower(string(k))] = string(v)
	}
	return r, nil
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	RequestID string `json:"request_id"`
}

func parseError(t *testing.T, r reply) errorBody {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal([]byte(r.body), &e); err != nil {
		t.Fatalf("error body %q: %v", r.body, err)
	}
	if r.header["content-type"] != "application/json" {
		t.Fatalf("error content type %q", r.header["content-type"])
	}
	if e.RequestID == "" || e.RequestID != r.header["x-request-id"] {
		t.Fatalf("request id body %q header %q", e.RequestID, r.header["x-request-id"])
	}
	return e
}

func echoRoute(name string) Handler {
	return func(_ context.Context, req *Request) *Response {
		return Text(200, name+" "+fmt.Sprint(req.Params))
	}
}

func TestRoutingOverHTTP(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(r *Router) {
		_ = r.Handle("GET", "/users/:id", echoRoute("user"))
		_ = r.Handle("GET", "/users/me", echoRoute("me"))
		_ = r.Handle("DELETE", "/users/:id", echoRoute("delete"))
		_ = r.Handle("GET", "/files/*path", echoRoute("files"))
		_ = r.Handle("GET", "/proxy/*", echoRoute("proxy"))
		_ = r.Handle("PUT", "/settings", echoRoute("settings"))
		g := r.Group("/api/v1")
		_ = g.Group("/admin").Handle("GET", "/stats", echoRoute("stats"))
		_ = r.Handle("GET", "/moved", func(context.Context, *Request) *Response {
			return &Response{Status: 302, Headers: Headers{{Name: "Location", Value: "/x"}}}
		})
	}, nil)

	for _, tc := range []struct{ method, uri, want string }{
		{"GET", "/users/me", "me []"},
		{"GET", "/users/me/", "me []"},
		{"GET", "/users/42", "user [{id 42}]"},
		{"GET", "//users//7/", "user [{id 7}]"},
		{"GET", "/users/a%20b", "user [{id a b}]"},
		{"GET", "/users/x/../me", "me []"},
		{"GET", "/files/a/b.txt", "files [{path a/b.txt}]"},
		{"GET", "/proxy/", "proxy [{* }]"},
		{"GET", "/proxy/x/y?z=1", "proxy [{* x/y}]"},
		{"GET", "/api/v1/admin/stats/", "stats []"},
		{"DELETE", "/users/9", "delete [{id 9}]"},
	} {
		r := ts.do(tc.method, tc.uri, nil, nil)
		if r.status != 200 || r.body != tc.want {
			t.Errorf("%s %s -> %d %q, want %q", tc.method, tc.uri, r.status, r.body, tc.want)
		}
		if r.header["x-request-id"] == "" {
			t.Errorf("%s %s: no X-Request-ID", tc.method, tc.uri)
		}
	}

	// HEAD falls back to GET and sends no body.
	r := ts.do("HEAD", "/users/me", nil, nil)
	if r.status != 200 || r.body != "" || r.header["content-length"] != "5" {
		t.Errorf("HEAD -> %d %q %v", r.status, r.body, r.header)
	}
	// An empty answer's HEAD has the GET's Content-Length: 0 too.
	for _, m := range []string{"GET", "HEAD"} {
		if r := ts.do(m, "/moved", nil, nil); r.status != 302 || r.header["content-length"] != "0" || r.header["location"] != "/x" {
			t.Errorf("%s /moved -> %d %v", m, r.status, r.header)
		}
	}

	r = ts.do("GET", "/nope", nil, nil)
	if e := parseError(t, r); r.status != 404 || e.Error.Code != "NOT_FOUND" || e.Error.Message != "Not Found" {
		t.Errorf("404 -> %d %s", r.status, r.body)
	}

	r = ts.do("POST", "/users/3", nil, []byte("{}"))
	if e := parseError(t, r); r.status != 405 || e.Error.Code != "METHOD_NOT_ALLOWED" ||
		r.header["allow"] != "DELETE, GET, HEAD, OPTIONS" {
		t.Errorf("405 -> %d %s allow %q", r.status, r.body, r.header["allow"])
	}

	r = ts.do("OPTIONS", "/users/3", nil, nil)
	if r.status != 204 || r.header["allow"] != "DELETE, GET, HEAD, OPTIONS" {
		t.Errorf("OPTIONS -> %d allow %q", r.status, r.header["allow"])
	}
	if r := ts.do("OPTIONS", "/nope", nil, nil); r.status != 404 {
		t.Errorf("OPTIONS unknown -> %d", r.status)
	}

	// OPTIONS * asks about the server as a whole: every routed method.
	conn := ts.dial()
	_, _ = io.WriteString(conn, "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp := readResponse(t, conn); resp.StatusCode() != 204 || string(resp.Header.Peek("Allow")) != "DELETE, GET, HEAD, OPTIONS, PUT" {
		t.Errorf("OPTIONS * -> %d allow %q", resp.StatusCode(), resp.Header.Peek("Allow"))
	}
}

func TestOptionsHook(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(r *Router) {
		_ = r.Handle("GET", "/x", echoRoute("x"))
	}, func(c *Config) {
		c.OnOptions = func(req *Request, allow string) *Response {
			return &Response{Status: 204, Headers: Headers{
				{"Access-Control-Allow-Origin", "*"}, {"Access-Control-Allow-Methods", allow},
			}}
		}
	})
	r := ts.do("OPTIONS", "/x", nil, nil)
	if r.status != 204 || r.header["access-control-allow-origin"] != "*" ||
		r.header["access-control-allow-methods"] != "GET, HEAD, OPTIONS" {
		t.Fatalf("%d %v", r.status, r.header)
	}
}

func TestRequestIsCopiedForTheHandler(t *testing.T) {
	t.Parallel()
	got := make(chan *Request, 1)
	ts := newTestServer(t, func(r *Router) {
		_ = r.Handle("POST", "/echo/:name", func(_ context.Context, req *Request) *Response {
			got <- req.Clone()
			return &Response{
				Status: 201, ContentType: "application/json", Body: []byte(`{"ok":true}`),
				Headers: Headers{{"X-Custom", "a"}, {"X-Custom", "b"}},
				Cookies: []SetCookie{{Name: "sid", Value: "xyz", Path: "/", HTTPOnly: true, SameSite: SameSiteLax}},
			}
		})
	}, nil)
	r := ts.do("POST", "/echo/caf%C3%A9/?a=1&a=2&b=x%20y", map[string]string{
		"Content-Type": "application/json",
		"X-Multi":      "one",
		"Cookie":       "a=1; b=\"two\"",
	}, []byte(`{"k":"v"}`))
	if r.status != 201 || r.body != `{"ok":true}` || r.header["content-type"] != "application/json" ||
		!strings.Contains(r.header["set-cookie"], "sid=xyz") {
		t.Fatalf("reply %d %q %v", r.status, r.body, r.header)
	}
	req := <-got
	// Later requests reuse fasthttp's buffers and the Request values; the
	// clone must not change.
	for range 20 {
		ts.do("POST", "/echo/zzzzzzzzzzzz?q=overwrite", map[string]string{"Content-Type": "text/zzzz"}, []byte("xxxxxxxxxxxxxxxxx"))
		<-got
	}
	checks := []struct{ name, got, want string }{
		{"method", req.Method, "POST"},
		{"path", req.Path, "/echo/café"},
		{"route", req.Route, "/echo/:name"},
		{"param", req.Param("name"), "café"},
		{"raw query", req.RawQuery, "a=1&a=2&b=x%20y"},
		{"uri", req.URI, "/echo/caf%C3%A9/?a=1&a=2&b=x%20y"},
		{"query a", strings.Join(req.Query()["a"], ","), "1,2"},
		{"query b", req.QueryValue("b"), "x y"},
		{"content type", req.ContentType, "application/json"},
		{"header", req.Header("X-MULTI"), "one"},
		{"body", string(req.Body), `{"k":"v"}`},
		{"remote ip", req.RemoteIP(), "127.0.0.1"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	for _, h := range req.Headers() {
		if h.Name != strings.ToLower(h.Name) {
			t.Errorf("header name %q not lower-case", h.Name)
		}
	}
	if v, ok := req.Cookie("b"); !ok || v != "two" {
		t.Errorf("cookie b = %q %v", v, ok)
	}
	if req.ID == "" || req.ID != r.header["x-request-id"] {
		t.Errorf("id %q header %q", req.ID, r.header["x-request-id"])
	}
}

func TestMultiValuedRequestHeaders(t *testing.T) {
	t.Parallel()
	got := make(chan *Request, 1)
	ts := newTestServer(t, func(r *Router) {
		_ = r.Handle("GET", "/", func(_ context.Context, req *Request) *Response { got <- req.Clone(); return nil })
	}, nil)
	conn := ts.dial()
	fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: x\r\nAccept: a\r\nAccept: b\r\n\r\n")
	resp := readResponse(t, conn)
	if resp.StatusCode() != 204 {
		t.Fatalf("status %d", resp.StatusCode())
	}
	if vs := (<-got).Headers().Values("ACCEPT"); strings.Join(vs, ",") != "a,b" {
		t.Fatalf("accept values %q", vs)
	}
}

func readResponse(t *testing.T, conn net.Conn) *fasthttp.Response {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp := &fasthttp.Response{}
	if err := resp.Read(bufio.NewReader(conn)); err != nil {
		t.Fatalf("read response: %v", err)
	}
	return resp
}

// getOn sends a GET of path, with extra header lines ("Name: value\r\n"
// each), on a kept-alive connection and reads the answer through br.
func getOn(conn net.Conn, br *bufio.Reader, path, header string) (status int, body string, err error) {
	if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: x\r\n%s\r\n", path, header); err != nil {
		return 0, "", err
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func TestRequestIDKeptGeneratedAndEchoed(t *testing.T) {
	t.Parallel()
	ids := make(chan string, 10)
	ts := newTestServer(t, func(r *Router) {
		_ = r.Handle("GET", "/id", func(_ context.Context, req *Request) *Response {
			ids <- req.ID
			return Text(200, req.ID)
		})
	}, nil)
	r := ts.do("GET", "/id", map[string]string{"X-Request-ID": "abc-123_X.y"}, nil)
	if r.body != "abc-123_X.y" || r.header["x-request-id"] != "abc-123_X.y" || <-ids != "abc-123_X.y" {
		t.Fatalf("kept: %q %q", r.body, r.header["x-request-id"])
	}
	for _, bad := range []string{"has space", strings.Repeat("a", 129), "semi;colon"} {
		r = ts.do("GET", "/id", map[string]string{"X-Request-ID": bad}, nil)
		gen := <-ids
		if gen == bad || !validRequestID([]byte(gen)) || r.header["x-request-id"] != gen {
			t.Fatalf("invalid %q replaced by %q (header %q)", bad, gen, r.header["x-request-id"])
		}
	}
	seen := map[string]bool{}
	for range 50 {
		r = ts.do("GET", "/id", nil, nil)
		id := <-ids
		if seen[id] || r.header["x-request-id"] != id {
			t.Fatalf("duplicate or unechoed id %q", id)
		}
		seen[id] = true
	}
	// Runtime errors carry the request id too.
	r = ts.do("GET", "/missing", map[string]string{"x-request-id": "trace-1"}, nil)
	if e := parseError(t, r); e.RequestID != "trace-1" {
		t.Fatalf("404 request id %q", e.RequestID)
	}
	// A repeated X-Request-ID means its values joined ("one, two"), no
	// valid id: a new one is made, for a request the handler sees and
	// for one the front end refuses.
	conn := ts.dial()
	br := bufio.NewReader(conn)
	for _, raw := range []string{
		"GET /id HTTP/1.1\r\nHost: x\r\nX-Request-ID: one\r\nx-request-id: two\r\n\r\n",
		"POST /id HTTP/1.1\r\nHost: x\r\nX-Request-ID: one\r\nX-Request-ID: two\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
	} {
		if _, err := io.WriteString(conn, raw); err != nil {
			t.Fatal(err)
		}
		var resp fasthttp.Response
		if err := resp.Read(br); err != nil {
			t.Fatal(err)
		}
		id := string(resp.Header.Peek("X-Request-ID"))
		if id == "one" || id == "two" || !validRequestID([]byte(id)) {
			t.Fatalf("a repeated X-Request-ID gave id %q (%d %s)", id, resp.StatusCode(), resp.Body())
		}
		if resp.StatusCode() == 200 {
			if got := <-ids; got != id {
				t.Fatalf("req.ID %q, answered %q", got, id)
			}
		}
	}
}

// Each connection draws generated ids from a block of its own: ids of
// many connections served at once (more ids each than a block holds) are
// all distinct, share the server's prefix, and are what each response
// echoes.
func TestGeneratedIDsDistinctAcrossConnections(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(r *Router) {
		_ = r.Handle("GET", "/id", func(_ context.Context, req *Request) *Response { return Text(200, req.ID) })
	}, nil)
	const conns, each = 4, idBlockSize + 40
	got := make([][]string, conns)
	ts.onConns(conns, func(c int, conn net.Conn, br *bufio.Reader) {
		for range each {
			if _, err := fmt.Fprint(conn, "GET /id HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
				t.Error(err)
				return
			}
			var resp fasthttp.Response
			if err := resp.Read(br); err != nil {
				t.Error(err)
				return
			}
			if id := string(resp.Header.Peek("X-Request-ID")); id != string(resp.Body()) {
				t.Errorf("echoed %q, handler saw %q", id, resp.Body())
			}
			got[c] = append(got[c], string(resp.Body()))
		}
	})
	seen := map[string]bool{}
	prefix := got[0][0][:13]
	for _, ids := range got {
		for _, id := range ids {
			if seen[id] || !strings.HasPrefix(id, prefix) || !validRequestID([]byte(id)) {
				t.Fatalf("id %q repeated or malformed", id)
			}
			seen[id] = true
		}
	}
	if len(seen) != conns*each {
		t.Fatalf("%d distinct ids, want %d", len(seen), conns*each)
	}
}

func TestBodyTooLarge(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(r *Router) {
		_ = r.Handle("POST", "/upload", func(_ context.Context, req *Request) *Response {
			return Text(200, fmt.Sprint(len(req.Body)))
		})
	}, func(c *Config) { c.MaxRequestBodySize = 1024 })

	if r := ts.do("POST", "/upload", nil, bytes.Repeat([]byte("a"), 1024)); r.status != 200 || r.body != "1024" {
		t.Fatalf("at limit: %d %q", r.status, r.body)
	}
	r := ts.do("POST", "/upload", nil, bytes.Repeat([]byte("a"), 1025))
	if e := parseError(t, r); r.status != 413 || e.Error.Code != "PAYLOAD_TOO_LARGE" || e.Error.Message != "Payload Too Large: the body is over this server's limit of 1 KiB" {
		t.Fatalf("past limit: %d %s", r.status, r.body)
	}

	// A large announced body is refused before it is sent.
	conn := ts.dial()
	fmt.Fprintf(conn, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 104857600\r\n\r\nabc")
	resp := readResponse(t, conn)
	if resp.StatusCode() != 413 || !bytes.Contains(resp.Body(), []byte("PAYLOAD_TOO_LARGE")) {
		t.Fatalf("announced: %d %s", resp.StatusCode(), resp.Body())
	}
}

func TestHeadersTooLarge(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(r *Router) {
		_ = r.Handle("GET", "/", func(context.Context, *Request) *Response { return nil })
	}, func(c *Config) { c.MaxHeaderBytes = 4096 })
	r := ts.do("GET", "/", map[string]string{"X-Big": strings.Repeat("b", 8000)}, nil)
	if e := parseError(t, r); r.status != 431 || e.Error.Code != "HEADERS_TOO_LARGE" {
		t.Fatalf("%d %s", r.status, r.body)
	}
	// A request line too long to read is a URI too long.
	r = ts.do("GET", "/?q="+strings.Repeat("q", 8000), nil, nil)
	if e := parseError(t, r); r.status != 414 || e.Error.Code != "URI_TOO_LONG" || e.Error.Message != "URI Too Long" {
		t.Fatalf("long URI: %d %s", r.status, r.body)
	}
	// A long URI in a header block that is too large as a whole, but
	// whose request line was read, is still a header block too large.
	r = ts.do("GET", "/?q="+strings.Repeat("q", 2000), map[string]string{"X-Big": strings.Repeat("b", 8000)}, nil)
	if r.status != 431 {
		t.Fatalf("long header after a long URI: %d %s", r.status, r.body)
	}
}

func TestHTTPVersions(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(r *Router) {
		_ = r.Handle("GET", "/", func(context.Context, *Request) *Response { return Text(200, "ok") })
	}, nil)
	for _, c := range []struct {
		proto  string
		status int
	}{{"HTTP/1.1", 200}, {"HTTP/1.0", 200}, {"HTTP/1.9", 505}, {"HTTP/1.2", 505}, {"HTTP/2.0", 505}, {"HTTP/9.9", 505}, {"HTTP/0.9", 505}} {
		conn := ts.dial()
		_, _ = io.WriteString(conn, "GET / "+c.proto+"\r\nHost: x\r\n\r\n")
		resp := readResponse(t, conn)
		conn.Close()
		if resp.StatusCode() != c.status || len(resp.Header.Peek("X-Request-ID")) == 0 {
			t.Errorf("%s -> %d %s", c.proto, resp.StatusCode(), resp.Body())
		}
		if c.status == 505 && (!bytes.Contains(resp.Body(), []byte(`"code":"HTTP_VERSION_NOT_SUPPORTED"`)) || !resp.ConnectionClose()) {
			t.Errorf("%s: %s (connection close %v)", c.proto, resp.Body(), resp.ConnectionClose())
		}
	}
	// Logged as a rejected request: at warn, with its cause.
	found := false
	for _, l := range logLines(t, ts.logs) {
		if l["status"] == float64(505) && strings.Contains(fmt.Sprint(l["error"]), "HTTP/2.0") {
			found = true
			if l["level"] != "warn" {
				t.Errorf("505 logged at %v", l["level"])
			}
		}
	}
	if !found {
		t.Errorf("no access line names the HTTP/2.0 request's cause:\n%s", ts.logs.String())
	}
}

// A transfer coding other than chunked is not implemented: 501, which
// says so; so is CONNECT.
func TestUnsupportedTransferEncodingIs501(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(r *Router) {
		_ = r.Handle("POST", "/", func(context.Context, *Request) *Response { return Text(200, "ok") })
	}, nil)
	conn := ts.dial()
	_, _ = io.WriteString(conn, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n")
	resp := readResponse(t, conn)
	if resp.StatusCode() != 501 || !bytes.Contains(resp.Body(), []byte(`"code":"NOT_IMPLEMENTED","message":"Not Implemented: a request's transfer coding must be \"chunked\"`)) || !resp.ConnectionClose() {
		t.Fatalf("%d %s\n%s", resp.StatusCode(), resp.Body(), ts.logs.String())
	}
	// CONNECT asks for a tunnel: its target is a host, never a path to
	// route (it was routed as /example.com:443).
	conn = ts.dial()
	_, _ = io.WriteString(conn, "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
	if resp := readResponse(t, conn); resp.StatusCode() != 501 || !bytes.Contains(resp.Body(), []byte("CONNECT asks for a tunnel")) {
		t.Fatalf("CONNECT: %d %s", resp.StatusCode(), resp.Body())
	}
	if !strings.Contains(ts.logs.String(), "this server is no proxy") {
		t.Errorf("the CONNECT's cause is not logged:\n%s", ts.logs.String())
	}
	// So is a method no route could take (RFC 9110 §9.1): it was 405
	// with Allow, as a method a route might take is; a long one is cut
	// in the access line (a 5000-byte method was logged whole).
	for _, m := range []string{"TRACE", "FOO", "get", strings.Repeat("A", 5000)} {
		conn = ts.dial()
		_, _ = io.WriteString(conn, m+" / HTTP/1.1\r\nHost: x\r\n\r\n")
		if resp := readResponse(t, conn); resp.StatusCode() != 501 || !bytes.Contains(resp.Body(), []byte("this server implements the methods GET, HEAD, POST, PUT, DELETE, PATCH and OPTIONS")) {
			t.Errorf("%.10s: %d %s", m, resp.StatusCode(), resp.Body())
		}
	}
	if strings.Contains(ts.logs.String(), strings.Repeat("A", 33)) || !strings.Contains(ts.logs.String(), strings.Repeat("A", 32)+"…") {
		t.Errorf("the long method's access line:\n%.3000s", ts.logs.String())
	}
	// In HTTP/1.0, Transfer-Encoding is faulty framing (RFC 9112 §6.1).
	conn = ts.dial()
	_, _ = io.WriteString(conn, "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
	if resp := readResponse(t, conn); resp.StatusCode() != 400 {
		t.Fatalf("HTTP/1.0: %d %s", resp.StatusCode(), resp.Body())
	}
}

// A request whose target is an absolute URI (as sent to a proxy) is
// routed by the URI's path, and its host is the URI's authority, whatever
// Host field came with it (RFC 9112 §3.2.2).
func TestAbsoluteFormTargetNamesTheHost(t *testing.T) {
	t.Parallel()
	got := make(chan *Request, 1)
	ts := newTestServer(t, func(r *Router) {
		h := func(_ context.Context, req *Request) *Response {
			got <- req.Clone()
			return Text(200, "ok")
		}
		_ = r.Handle("GET", "/p", h)
		_ = r.Handle("GET", "/", h)
	}, nil)
	// (uri, req.url, is the target's path and query, as sent without a
	// proxy)
	cases := []struct{ raw, path, host, query, uri string }{
		{"GET http://example.com/p?q=1 HTTP/1.1\r\nHost: other.test\r\n\r\n", "/p", "example.com", "q=1", "/p?q=1"},
		{"GET HTTPS://Example.com:8443/p HTTP/1.1\r\nHost: other.test\r\n\r\n", "/p", "Example.com:8443", "", "/p"},
		{"GET http://[::1]:80 HTTP/1.1\r\nHost: other.test\r\n\r\n", "/", "[::1]:80", "", "/"},
		{"GET http://example.com?q=2 HTTP/1.0\r\n\r\n", "/", "example.com", "q=2", "/?q=2"},
		{"GET /p HTTP/1.1\r\nHost: other.test\r\n\r\n", "/p", "other.test", "", "/p"},
		// Host forms the Host check (checkHost) lets through.
		{"GET /p HTTP/1.1\r\nHost: other.test:65535\r\n\r\n", "/p", "other.test:65535", "", "/p"},
		{"GET /p HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", "/p", "[::1]:8080", "", "/p"},
		{"GET /p HTTP/1.1\r\nHost: [::1]\r\n\r\n", "/p", "[::1]", "", "/p"},
		{"GET /p HTTP/1.1\r\nHost: other.test:\r\n\r\n", "/p", "other.test:", "", "/p"},
	}
	for _, c := range cases {
		conn := ts.dial()
		_, _ = io.WriteString(conn, c.raw)
		resp := readResponse(t, conn)
		conn.Close()
		if resp.StatusCode() != 200 {
			t.Errorf("%q -> %d %s", c.raw, resp.StatusCode(), resp.Body())
			continue
		}
		req := <-got
		var hosts []string
		for _, h := range req.Headers() {
			if h.Name == "host" {
				hosts = append(hosts, h.Value)
			}
		}
		if req.Path != c.path || req.Header("host") != c.host || len(hosts) != 1 || req.RawQuery != c.query || req.URI != c.uri {
			t.Errorf("%q: path %q, host fields %q, query %q, uri %q; want %q, [%q], %q, %q", c.raw, req.Path, hosts, req.RawQuery, req.URI, c.path, c.host, c.query, c.uri)
		}
	}
}

func TestMalformedRequestIs400(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(r *Router) {}, nil)
	for _, raw := range []string{
		"GARBAGE\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n",
	} {
		conn := ts.dial()
		_, _ = io.WriteString(conn, raw)
		resp := readResponse(t, conn)
		conn.Close()
		if resp.StatusCode() != 400 || !bytes.Contains(resp.Body(), []byte(`"code":"BAD_REQUEST"`)) ||
			len(resp.Header.Peek("X-Request-ID")) == 0 {
			t.Errorf("%q -> %d %s", raw, resp.StatusCode(), resp.Body())
		}
	}
}

// A handler answering a status that is not a final HTTP one fails (500,
// logged), rather than sending what a client would misread or wait on;
// the connection goes on serving.
func TestInvalidStatusIs500(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(r *Router) {
		_ = r.Handle("GET", "/status/:n", func(_ context.Context, req *Request) *Response {
			n, _ := strconv.Atoi(req.Params[0].Value)
			return Text(n, "x")
		})
	}, nil)
	conn := ts.dial()
	br := bufio.NewReader(conn)
	for _, c := range []struct{ n, want int }{{-1, 500}, {100, 500}, {199, 500}, {1000, 500}, {200, 200}, {999, 999}} {
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		status, body, err := getOn(conn, br, "/status/"+strconv.Itoa(c.n), "")
		if err != nil || status != c.want || c.want == 500 && !strings.Contains(body, `"code":"INTERNAL_ERROR"`) {
			t.Errorf("status %d: %d %q %v, want %d", c.n, status, body, err, c.want)
		}
	}
	if !strings.Contains(ts.logs.String(), "not a final HTTP status") {
		t.Errorf("the failure is not logged:\n%s", ts.logs.String())
	}
}

func TestHandlerPanicIs500WhileOthersSucceed(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(r *Router) {
		_ = r.Handle("GET", "/boom", func(context.Context, *Request) *Response { panic("handler exploded") })
		_ = r.Handle("GET", "/ok", func(context.Context, *Request) *Response { return Text(200, "ok") })
	}, nil)
	var wg sync.WaitGroup
	var ok, boom, bad atomic.Int64
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			uri := "/ok"
			if i%5 == 0 {
				uri = "/boom"
			}
			r, err := ts.try("GET", uri, map[string]string{"X-Request-ID": fmt.Sprintf("req-%d", i)}, nil)
			switch {
			case err != nil:
				bad.Add(1)
			case uri == "/ok" && r.status == 200 && r.body == "ok":
				ok.Add(1)
			case uri == "/boom" && r.status == 500 && strings.Contains(r.body, `"code":"INTERNAL_ERROR"`) &&
				strings.Contains(r.body, fmt.Sprintf(`"request_id":"req-%d"`, i)):
				boom.Add(1)
			default:
				bad.Add(1)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 160 || boom.Load() != 40 || bad.Load() != 0 {
		t.Fatalf("ok=%d boom=%d bad=%d", ok.Load(), boom.Load(), bad.Load())
	}
	logs := ts.logs.String()
	if !strings.Contains(logs, `"request_id":"req-0"`) || !strings.Contains(logs, "handler exploded") ||
		!strings.Contains(logs, `"stack":`) {
		t.Fatalf("panic not logged with request id and stack")
	}
	deadline := time.Now().Add(5 * time.Second)
	for ts.pool.Stats().Restarts < 40 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if st := ts.pool.Stats(); st.Restarts != 40 || st.Failures != 40 {
		t.Fatalf("pool stats %+v", st)
	}
	// The counts are in the server's last line.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ts.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	var stopped map[string]any
	for _, l := range logLines(t, ts.logs) {
		if l["message"] == "server stopped" {
			stopped = l
		}
	}
	if stopped["handler_failures"] != float64(40) || stopped["worker_restarts"] != float64(40) || stopped["level"] != "warn" {
		t.Fatalf("server stopped line: %v", stopped)
	}
}

// Config.Inline runs handlers without the pool (here a closed one, which
// would answer 503 to every hand-off); a panic is still a 500.
func TestInlineHandlersSkipThePool(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(r *Router) {
		_ = r.Handle("GET", "/boom", func(context.Context, *Request) *Response { panic("inline exploded") })
		_ = r.Handle("GET", "/ok/:n", func(_ context.Context, req *Request) *Response { return Text(200, "ok "+req.Params[0].Value) })
	}, func(c *Config) { c.Inline = true })
	ts.pool.Close()
	if r := ts.do("GET", "/ok/1", nil, nil); r.status != 200 || r.body != "ok 1" {
		t.Fatalf("inline handler: %d %q", r.status, r.body)
	}
	r := ts.do("GET", "/boom", map[string]string{"X-Request-ID": "inline-1"}, nil)
	if e := parseError(t, r); r.status != 500 || e.Error.Code != CodeInternal || e.RequestID != "inline-1" {
		t.Fatalf("inline panic: %d %q", r.status, r.body)
	}
	if r := ts.do("GET", "/ok/2", nil, nil); r.status != 200 || r.body != "ok 2" {
		t.Fatalf("after the panic: %d %q", r.status, r.body)
	}
	if logs := ts.logs.String(); !strings.Contains(logs, "inline exploded") {
		t.Fatalf("inline panic not logged:\n%s", logs)
	}
}

// Not parallel: the test measures latency beside CPU-bound handlers.
func TestRunawayHandlerCutAtDeadline(t *testing.T) {
	cancelled := make(chan error, 4)
	ts := newTestServer(t, func(r *Router) {
		_ = r.Handle("GET", "/spin", func(ctx context.Context, _ *Request) *Response {
			for ctx.Err() == nil {
			}
			cancelled <- ctx.Err()
			return Text(200, "never sent")
		})
		_ = r.Handle("GET", "/health", func(context.Context, *Request) *Response { return Text(200, "up") })
	}, func(c *Config) { c.RequestTimeout = 3 * time.Second })

	var wg sync.WaitGroup
	spins := make(chan reply, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			r := ts.do("GET", "/spin", nil, nil)
			if d := time.Since(start); d < 3*time.Second || d > 5*time.Second {
				t.Errorf("runaway answered after %v", d)
			}
			spins <- r
		}()
	}
	time.Sleep(50 * time.Millisecond) // let the spinners occupy workers
	// Four goroutines spinning on two cores slow every hop of a request
	// down to the Go scheduler's 10 ms time slices, so "at once" means
	// tens of milliseconds here, and well before the runaways are cut.
	began := time.Now()
	var slowest time.Duration
	for range 10 {
		start := time.Now()
		r := ts.do("GET", "/health", nil, nil)
		if r.status != 200 || r.body != "up" {
			t.Fatalf("health -> %d %q", r.status, r.body)
		}
		slowest = max(slowest, time.Since(start))
	}
	if slowest > 2*time.Second || time.Since(began) > 2500*time.Millisecond {
		t.Fatalf("health requests starved: slowest %v, all %v", slowest, time.Since(began))
	}
	select {
	case r := <-spins:
		t.Fatalf("a runaway finished before the health checks: %d", r.status)
	default:
	}
	t.Logf("10 health requests beside 4 runaway handlers: slowest %v, total %v", slowest, time.Since(began))
	wg.Wait()
	close(spins)
	for r := range spins {
		if e := parseError(t, r); r.status != 503 || e.Error.Code != "TIMEOUT" {
			t.Fatalf("runaway -> %d %s", r.status, r.body)
		}
	}
	for range 4 {
		select {
		case err := <-cancelled:
			if err != context.DeadlineExceeded {
				t.Fatalf("handler saw %v", err)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("runaway handler was not cancelled")
		}
	}
}

func TestGracefulShutdownUnderLoad(t *testing.T) {
	t.Parallel()
	const inflight = 32
	var entered sync.WaitGroup
	entered.Add(inflight)
	var count atomic.Int64
	release := make(chan struct{})
	ts := newTestServer(t, func(r *Router) {
		_ = r.Handle("GET", "/slow", func(ctx context.Context, _ *Request) *Response {
			if count.Add(1) <= inflight {
				entered.Done()
			}
			select {
			case <-release:
			case <-ctx.Done():
				return Text(500, "cancelled")
			}
			time.Sleep(20 * time.Millisecond)
			return Text(200, "done")
		})
	}, nil)
	stopped := make(chan struct{})
	ts.srv.OnStop(func(context.Context) { close(stopped) })

	results := make(chan reply, inflight)
	errs := make(chan error, inflight)
	for range inflight {
		go func() {
			r, err := ts.try("GET", "/slow", nil, nil)
			if err != nil {
				errs <- err
				return
			}
			results <- r
		}()
	}
	entered.Wait()

	// A request that is still arriving when the drain starts is in
	// flight: it is served.
	late := ts.dial()
	_, _ = io.WriteString(late, "GET /slow HTTP/1.1\r\nHost: x\r\n")
	// Until the server has accepted the connection and seen its first
	// bytes, it is idle, and the drain closes it: wait for that.
	waitUntil(t, func() bool { return ts.srv.connsUsed(inflight + 1) })

	shutdown := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		shutdown <- ts.srv.Shutdown(ctx)
	}()
	// New connections are refused (once the drain has closed the
	// listener); a request that begins now gets 503.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		c, err := net.DialTimeout("tcp", ts.addr, time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("listener still accepting during drain")
		}
	}
	_, _ = io.WriteString(late, "\r\n")
	var fresh fasthttp.RequestCtx
	fresh.Request.SetRequestURI("/slow")
	fresh.Request.Header.SetHost("x")
	ts.srv.Handler()(&fresh)
	if fresh.Response.StatusCode() != 503 || !bytes.Contains(fresh.Response.Body(), []byte(`"code":"SHUTTING_DOWN"`)) {
		t.Errorf("request begun in the drain -> %d %s", fresh.Response.StatusCode(), fresh.Response.Body())
	}
	close(release)
	if r := readResponse(t, late); r.StatusCode() != 200 || string(r.Body()) != "done" {
		t.Errorf("request arriving as the drain began -> %d %s", r.StatusCode(), r.Body())
	}
	for range inflight {
		select {
		case r := <-results:
			if r.status != 200 || r.body != "done" {
				t.Fatalf("in-flight request -> %d %q", r.status, r.body)
			}
		case err := <-errs:
			t.Fatalf("in-flight request failed: %v", err)
		}
	}
	if err := <-shutdown; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	select {
	case <-stopped:
	default:
		t.Fatal("OnStop hook did not run")
	}
}

func TestAccessLogLine(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(r *Router) {
		_ = r.Handle("GET", "/a/:id", func(context.Context, *Request) *Response { return Text(200, "x") })
	}, nil)
	ts.do("GET", "/a/1/", map[string]string{"X-Request-ID": "log-1"}, nil)
	ts.do("GET", "/zzz", map[string]string{"X-Request-ID": "log-2"}, nil)
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(ts.logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if m["message"] == "request" {
			lines = append(lines, m)
		}
	}
	if len(lines) != 2 {
		t.Fatalf("%d access lines", len(lines))
	}
	l := lines[0]
	if l["method"] != "GET" || l["path"] != "/a/1" || l["status"] != 200.0 || l["request_id"] != "log-1" ||
		l["server"] != "api" || l["level"] != "info" {
		t.Fatalf("line %v", l)
	}
	if _, ok := l["duration_ms"].(float64); !ok {
		t.Fatalf("duration_ms missing: %v", l)
	}
	if lines[1]["status"] != 404.0 || lines[1]["level"] != "warn" {
		t.Fatalf("404 line %v", lines[1])
	}
}

// Responses do not name the server (no Server header).
func TestNoServerHeader(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(r *Router) {
		_ = r.Handle("GET", "/", func(context.Context, *Request) *Response { return Text(200, "ok") })
	}, nil)
	resp, err := http.Get("http://" + ts.addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if v, ok := resp.Header["Server"]; ok {
		t.Fatalf("Server header %q", v)
	}
}

// A connection's Request comes back to its next request with Local as
// the handler left it; a failed request's Request is not recycled, and
// another connection starts afresh.
func TestRequestLocalStaysWithItsConnection(t *testing.T) {
	t.Parallel()
	clones := make(chan *Request, 1)
	ts := newTestServer(t, func(r *Router) {
		_ = r.Handle("GET", "/count", func(_ context.Context, req *Request) *Response {
			n, _ := req.Local.(*int)
			if n == nil {
				n = new(int)
			}
			*n++
			req.Local = n
			if req.QueryValue("clone") != "" {
				clones <- req.Clone()
			}
			return Text(200, fmt.Sprint(*n))
		})
		_ = r.Handle("GET", "/fail", func(_ context.Context, req *Request) *Response {
			panic("handler failed")
		})
	}, nil)
	get := func(c net.Conn, br *bufio.Reader, path string) (int, string) {
		t.Helper()
		status, body, err := getOn(c, br, path, "")
		if err != nil {
			t.Fatal(err)
		}
		return status, body
	}
	c1, c2 := ts.dial(), ts.dial()
	b1, b2 := bufio.NewReader(c1), bufio.NewReader(c2)
	for want := 1; want <= 3; want++ {
		if _, body := get(c1, b1, "/count"); body != fmt.Sprint(want) {
			t.Fatalf("request %d on one connection saw count %s", want, body)
		}
	}
	if _, body := get(c2, b2, "/count"); body != "1" {
		t.Fatalf("a second connection saw count %s, want 1", body)
	}
	if status, _ := get(c1, b1, "/fail"); status != 500 {
		t.Fatalf("/fail -> %d", status)
	}
	if _, body := get(c1, b1, "/count?clone=1"); body != "1" {
		t.Fatalf("after a failed request, count %s, want 1 (a fresh Request)", body)
	}
	if c := <-clones; c.Local != nil {
		t.Fatalf("Clone kept Local %v", c.Local)
	}
	if _, body := get(c1, b1, "/count"); body != "2" {
		t.Fatalf("count %s, want 2", body)
	}
}

// Shutdown right after Start (as when another server of the process
// fails to start) returns at once, also before fasthttp's Serve began.
func TestShutdownRightAfterStart(t *testing.T) {
	sys := actors.NewSystem(actors.Options{Name: "test"})
	pool, err := sys.StartPool(actors.PoolOptions{Name: "handlers"})
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Stop(context.Background())
	for i := range 50 {
		logs := &testutil.Buffer{}
		srv, err := NewServer(Config{Addr: "127.0.0.1:0", Router: NewRouter(), Pool: pool, Logger: zerolog.New(logs)})
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- srv.Shutdown(context.Background()) }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("round %d: %v", i, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("round %d: Shutdown right after Start hangs", i)
		}
		if strings.Contains(logs.String(), "serve failed") {
			t.Fatalf("round %d: %s", i, logs.String())
		}
	}
}

// flakyListener fails its first accepts with an error of a busy process.
type flakyListener struct {
	net.Listener
	fails atomic.Int32
	err   error
}

func (l *flakyListener) Accept() (net.Conn, error) {
	if l.fails.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", l.err)}
	}
	return l.Listener.Accept()
}

// A listener out of file descriptors for a while goes on accepting once
// it has them again: the errors are waited out, and reported.
func TestAcceptWaitsOutDescriptorShortage(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	fl := &flakyListener{Listener: ln, err: syscall.EMFILE}
	fl.fails.Store(4)
	var reports atomic.Int32
	tl := timedListener{Listener: fl, clock: startClock(), to: &connTimeouts{}, seq: &atomic.Uint32{}, retried: func(error) { reports.Add(1) }}
	defer tl.clock.Stop()
	go func() {
		if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
			defer c.Close()
			time.Sleep(time.Second)
		}
	}()
	c, err := tl.Accept()
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	c.Close()
	if reports.Load() != 1 {
		t.Errorf("reported %d times, want once", reports.Load())
	}
	// Any other error ends the listener, as before.
	fl.err = syscall.EBADF
	fl.fails.Store(1)
	if _, err := tl.Accept(); !errors.Is(err, syscall.EBADF) {
		t.Errorf("Accept after EBADF: %v", err)
	}
}

// connsUsed reports whether the server has n connections open, and a
// byte has arrived on each.
func (s *Server) connsUsed(n int) bool {
	s.fresh.mu.Lock()
	defer s.fresh.mu.Unlock()
	return len(s.fresh.open) == n && len(s.fresh.conns) == 0
}

// waitUntil waits up to 5 s for cond to hold.
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 5 s")
		}
	}
}

// A connection's next request reuses the memory of one whose handler
// said it kept nothing of it (Response.RequestFree) and whose context
// nothing holds: its strings land where the last ones did. A handler
// that keeps a string of its request, or whose job moved to its worker's
// goroutine (it waited), leaves its memory alone: what it kept stays
// as it was, however many requests follow on the connection.
func TestRequestMemoryReusedOnlyWhenFree(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var kept []string
	at := make(chan uintptr, 1)
	ts := newTestServer(t, func(r *Router) {
		_ = r.Handle("GET", "/free/*rest", func(_ context.Context, req *Request) *Response {
			at <- uintptr(unsafe.Pointer(unsafe.StringData(req.Path)))
			resp := Text(200, "free")
			resp.RequestFree = true
			return resp
		})
		_ = r.Handle("GET", "/wait/*rest", func(ctx context.Context, req *Request) *Response {
			ctx.(interface{ WillBlock() }).WillBlock()
			at <- uintptr(unsafe.Pointer(unsafe.StringData(req.Path)))
			resp := Text(200, "waited")
			resp.RequestFree = true // said, but its context was held
			return resp
		})
		_ = r.Handle("GET", "/kept/*rest", func(_ context.Context, req *Request) *Response {
			mu.Lock()
			kept = append(kept, req.Path, req.Header("x-n"))
			mu.Unlock()
			return Text(200, "kept")
		})
	}, nil)
	c := ts.dial()
	br := bufio.NewReader(c)
	get := func(path string) uintptr {
		t.Helper()
		status, _, err := getOn(c, br, path, "X-N: "+path+"\r\n")
		if err != nil || status != 200 {
			t.Fatalf("GET %s: %d, %v", path, status, err)
		}
		if !strings.HasPrefix(path, "/kept/") {
			return <-at
		}
		return 0
	}
	first := get("/free/a")
	for _, p := range []string{"/free/bb", "/free/ccc"} {
		if got := get(p); got != first {
			t.Fatalf("GET %s: its memory is new (%#x), not the previous request's (%#x)", p, got, first)
		}
	}
	w1 := get("/wait/a")
	if w1 != first {
		t.Fatalf("the waiting request did not get the spare memory")
	}
	if w2 := get("/wait/b"); w2 == w1 {
		t.Fatal("a request whose job waited had its memory reused")
	}
	for i := range 20 {
		get(fmt.Sprintf("/kept/%d", i))
		get(fmt.Sprintf("/free/%d-after", i))
	}
	mu.Lock()
	defer mu.Unlock()
	for i := range 20 {
		want := fmt.Sprintf("/kept/%d", i)
		if kept[2*i] != want || kept[2*i+1] != want {
			t.Fatalf("kept strings of request %d now read %q and %q; want %q", i, kept[2*i], kept[2*i+1], want)
		}
	}
}

// Under load, on many connections at once, requests that free their
// memory, that wait (their job moves to its worker's goroutine, which
// may still run when the next request on the connection begins: a
// handler cut at its deadline) and that keep strings of their request
// mix: what was kept reads the same at the end, and (under the race
// detector) no memory is shared between a request and one still
// running.
func TestRequestMemoryReuseUnderLoad(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	kept := map[string]string{} // path -> header, as the handler saw them
	ts := newTestServer(t, func(r *Router) {
		_ = r.Handle("GET", "/free/*rest", func(_ context.Context, req *Request) *Response {
			resp := Text(200, req.Path)
			resp.RequestFree = true
			return resp
		})
		_ = r.Handle("GET", "/wait/*rest", func(ctx context.Context, req *Request) *Response {
			ctx.(interface{ WillBlock() }).WillBlock()
			if req.QueryValue("slow") != "" {
				// Cut at its deadline (503), it goes on reading its
				// request while its connection serves the next one.
				<-ctx.Done()
				time.Sleep(2 * time.Millisecond)
			}
			resp := Text(200, req.Path+" "+req.Header("x-n"))
			resp.RequestFree = true
			return resp
		})
		_ = r.Handle("GET", "/kept/*rest", func(_ context.Context, req *Request) *Response {
			mu.Lock()
			kept[req.Path] = req.Header("x-n")
			mu.Unlock()
			return Text(200, "kept")
		})
	}, func(c *Config) { c.RequestTimeout = 20 * time.Millisecond })
	const conns, rounds = 8, 60
	ts.onConns(conns, func(c int, conn net.Conn, br *bufio.Reader) {
		for i := range rounds {
			for _, p := range []string{"free", "wait", "kept"} {
				path := fmt.Sprintf("/%s/%d-%d", p, c, i)
				if p == "wait" && i%10 == 0 {
					path += "?slow=1" // cut at the deadline now and then
				}
				status, body, err := getOn(conn, br, path, "X-N: n-"+path+"\r\n")
				if err != nil {
					t.Errorf("GET %s: %v", path, err)
					return
				}
				switch {
				case p == "free" && (status != 200 || body != path):
					t.Errorf("GET %s answered %d %q", path, status, body)
				case p == "wait" && strings.HasSuffix(path, "?slow=1") && status != 503:
					t.Errorf("GET %s answered %d, want 503 at its deadline", path, status)
				}
			}
		}
	})
	mu.Lock()
	defer mu.Unlock()
	if len(kept) != conns*rounds {
		t.Fatalf("%d kept requests, want %d", len(kept), conns*rounds)
	}
	for path, h := range kept {
		if h != "n-"+path {
			t.Fatalf("request %s kept header %q, want %q", path, h, "n-"+path)
		}
	}
}

// A request body with a content coding (Content-Encoding: gzip) is
// refused 415 with Accept-Encoding: identity, its handler not run: it
// reached the handler as bytes that were neither JSON nor text.
func TestCodedRequestBodyIs415(t *testing.T) {
	t.Parallel()
	var ran atomic.Int32
	ts := newTestServer(t, func(r *Router) {
		_ = r.Handle("POST", "/", func(context.Context, *Request) *Response { ran.Add(1); return Text(200, "ok") })
	}, nil)
	for _, c := range []struct {
		coding string
		body   []byte
		status int
	}{{"gzip", []byte("\x1f\x8b\x08\x00"), 415}, {"br", []byte("x"), 415}, {"identity", []byte("x"), 200}, {"IDENTITY ", []byte("x"), 200}, {"gzip", nil, 200}} {
		r := ts.do("POST", "/", map[string]string{"Content-Encoding": c.coding}, c.body)
		if r.status != c.status {
			t.Errorf("%q, %d bytes: %d %s", c.coding, len(c.body), r.status, r.body)
			continue
		}
		if c.status == 415 {
			if e := parseError(t, r); e.Error.Code != "UNSUPPORTED_MEDIA_TYPE" || r.header["accept-encoding"] != "identity" || r.header["x-tova-not-run"] != "1" {
				t.Errorf("%q: %v %s", c.coding, r.header, r.body)
			}
		}
	}
	if n := ran.Load(); n != 3 {
		t.Errorf("the handler ran %d times, want 3", n)
	}
	// On two lines of the field, each counts (identity, then gzip, was
	// taken for identity), and each coding of a list.
	for _, lines := range []string{"Content-Encoding: identity\r\nContent-Encoding: gzip\r\n", "Content-Encoding: \r\nContent-Encoding: gzip\r\n", "Content-Encoding: identity, br\r\n"} {
		conn := ts.dial()
		_, _ = io.WriteString(conn, "POST / HTTP/1.1\r\nHost: x\r\n"+lines+"Content-Length: 1\r\n\r\nx")
		resp := readResponse(t, conn)
		conn.Close()
		if resp.StatusCode() != 415 {
			t.Errorf("%q: %d %s", lines, resp.StatusCode(), resp.Body())
		}
	}
	if n := ran.Load(); n != 3 {
		t.Errorf("the handler ran %d times, want 3", n)
	}
}
