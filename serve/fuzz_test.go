package serve

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// fuzzApp has a route of every kind of parameter binding and body use,
// middleware of both shapes, on_error and a health route. None of its
// handlers fails on a well-formed request, so any 5xx answer is the
// runtime's fault.
const fuzzApp = `
server {
  fn get_user(id: Int) { { id } }
  fn search(q, limit: Int = 10, ratio: Float = 1.5, on: Bool = false) { { q, limit, ratio, on } }
  fn create(name: String, age: Int, tags: Option<String>) { { name, age, tags } }
  middleware fn stamp(req, next) {
    with_headers(next(req), { "X-Stamp": req.path })
  }
  middleware fn hook(req, res) {
    res.setHeader("X-Hook", req.method)
  }
  route GET "/users/:id" => get_user
  route GET "/users/me" => fn() "me"
  route GET "/search" => search
  route POST "/create" => create
  route PUT "/items/:id" => fn(id, req) { { id, method: req.method, body: req.body } }
  route POST "/echo" => fn(req) {
    { body: req.body, query: req.query, cookies: req.cookies, ip: req.ip, path: req.path,
      agent: req.headers["user-agent"], params: req.params }
  }
  route PATCH "/status" => fn(res) {
    res.status(202)
    { ok: true }
  }
  route DELETE "/files/*path" => fn(path) { { path } }
  routes "/api" {
    route GET "/ping" => fn() "pong"
  }
  health "/healthz"
  on_error fn(err, req) {
    respond(500, { failed: err.message })
  }
}
`

// FuzzServeRawRequest writes arbitrary bytes to fuzzApp as what a client
// sends on one connection (see fuzzRawRequests): no handler of fuzzApp
// fails, so a 5xx is the runtime's fault.
func FuzzServeRawRequest(f *testing.F) {
	fuzzRawRequests(f, fuzzApp, "/api/ping", `"pong"`, []string{
		"GET /users/5 HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /users/abc HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /search?q=a&limit=3&ratio=2.5&on=yes HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 22\r\n\r\n{\"name\":\"bo\",\"age\":3}\n",
		"POST /create HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 13\r\n\r\nname=bo&age=3",
		"POST /echo?a=1&a=2 HTTP/1.1\r\nHost: x\r\nCookie: s=1; t=2\r\nContent-Type: multipart/form-data; boundary=b\r\n" +
			"Content-Length: 44\r\n\r\n--b\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\n",
		"PUT /items/9 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"a\":\r\n2\r\n1}\r\n0\r\n\r\n",
		"PATCH /status HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
		"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
		"DELETE /files/a/../b%2Fc HTTP/1.1\r\nHost: x\r\n\r\n",
		"HEAD /api/ping HTTP/1.1\r\nHost: x\r\n\r\n",
		"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /healthz HTTP/1.0\r\n\r\n",
		"GET http://x/api/ping HTTP/1.1\r\nHost: x\r\nX-Request-ID: abc-123\r\n\r\nGET /users/me HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n{}",
		"GARBAGE\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
		"\x00\xff\r\n\r\n",
	})
}

// fuzzGuardedApp has the blocks that read a request before its handler
// does: sessions (a signed cookie), auth (a bearer token), CORS, a rate
// limit keyed by a header, compression, a cache default, a body limit
// and an uploads check. As in fuzzApp, no handler fails on a request
// that reaches it.
const fuzzGuardedApp = `
server {
  sessions { secret: "0123456789abcdef-test-secret", max_age: 7.days, http_only: true, same_site: "lax" }
  auth { type: "jwt", secret: "0123456789abcdef-test-secret", issuer: "tova-test", audience: "api", csrf: false }
  cors { origins: ["http://a.example"], methods: ["GET", "POST"], credentials: true, max_age: 600 }
  rate_limit { requests: 1000000, window: 1.minute, key: fn(req) req.headers["x-api-key"] |> unwrapOr(req.ip) }
  compression { min_size: 10 }
  cache { default: "public, max-age=60" }
  max_body 64.kilobytes
  uploads { max_size: 32.kilobytes, allowed_types: ["image/png", "text/plain"] }
  route POST "/login" => fn(req, name: String) { req.session.set("user", name); "hi {name}" }
  route GET "/peek" => fn(req) { { user: req.session.get("user"), data: req.session.data } }
  route POST "/logout" => fn(req) { req.session.destroy(); "bye" }
  route GET "/me" with auth => fn(req) { { sub: req.user.sub, role: req.user.role } }
  route GET "/big" => fn() { { items: range(0, 50).map(fn(i) "item {i}") } }
  route GET "/etag" => fn() etag(text("tag " * 100), "v1")
  route POST "/upload" => fn(req) { { body: req.body } }
  route GET "/ping" => fn() "pong"
}
`

// FuzzServeGuardedRequest is FuzzServeRawRequest for fuzzGuardedApp: the
// code that reads cookies, tokens, origins and uploads before a handler
// runs answers a client's bytes with well-formed HTTP, never a 5xx.
func FuzzServeGuardedRequest(f *testing.F) {
	// A session cookie the server made (for {user: "ada"}), and a token's
	// header, for the fuzzer to start from.
	const hs256 = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
	fuzzRawRequests(f, fuzzGuardedApp, "/ping", `"pong"`, []string{
		"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 14\r\n\r\n{\"name\":\"ada\"}",
		"GET /peek HTTP/1.1\r\nHost: x\r\nCookie: __sid=MTc5NjMxOTc3N3xWLWFqcVRfc3dTRWExdTdmdTRSTDd0aTlDZ0FwY1pPMG5hUEdlcTdhfCzzTy8kDPxsSMlwoB3WI3Q3pYGeVsPEzQ-QsocmgGCd; other=1\r\n\r\n",
		"GET /me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + hs256 + ".eyJzdWIiOiJhZGEifQ.c2ln\r\n\r\n",
		"GET /me HTTP/1.1\r\nHost: x\r\nAuthorization: Basic YTpi\r\n\r\n",
		"OPTIONS /ping HTTP/1.1\r\nHost: x\r\nOrigin: http://a.example\r\nAccess-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: x-a, content-type\r\n\r\n",
		"GET /big HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip;q=0.5, deflate, br;q=0\r\nOrigin: http://b.example\r\n\r\n",
		"GET /etag HTTP/1.1\r\nHost: x\r\nIf-None-Match: W/\"v1\", \"v2\"\r\nAccept-Encoding: *\r\n\r\n",
		"GET /ping HTTP/1.1\r\nHost: x\r\nX-Api-Key: k1\r\n\r\n",
		"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 97\r\n\r\n" +
			"--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.png\"\r\nContent-Type: image/gif\r\n\r\nGIF89a\r\n--b--\r\n",
		"POST /logout HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nIdempotency-Key: k-1\r\n\r\n",
		"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 999999\r\n\r\n",
	})
}

// fuzzRawRequests writes arbitrary bytes to a running program (src) as
// what a client sends on one connection, then closes its side. Whatever
// arrives, the front end must answer well-formed HTTP or nothing, never
// a 5xx, with a request id on every answer, and a body in its content
// coding; and the server must go on answering GET probe with want.
func fuzzRawRequests(f *testing.F, src, probe, want string, seeds []string) {
	app := startApp(f, src)
	addr := strings.TrimPrefix(app.urls[""], "http://")
	for _, seed := range seeds {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := conn.Write(raw); err != nil {
			return // the server may close early, on a request it refused
		}
		_ = conn.(*net.TCPConn).CloseWrite()
		br := bufio.NewReader(conn)
		// The answer to a HEAD has no body: a client must know which
		// answers are HEAD's to find where each ends. Of an input that
		// may hold a HEAD, check the first answer's head only.
		hasHead := bytes.Contains(bytes.ToUpper(raw), []byte("HEAD"))
		for n := 0; !hasHead || n < 1; n++ {
			if _, err := br.Peek(1); err != nil {
				if !errors.Is(err, io.EOF) && !isReset(err) {
					t.Fatalf("after %d answers: %v", n, err)
				}
				break
			}
			resp := fasthttp.AcquireResponse()
			resp.SkipBody = hasHead
			if err := resp.Read(br); err != nil {
				if isReset(err) {
					break
				}
				t.Fatalf("answer %d is not HTTP: %v", n, err)
			}
			status := resp.StatusCode()
			// 505 answers an HTTP version the server does not speak, 501
			// a transfer coding other than chunked (RFC 9112 §6.1) or a
			// method no route can take (RFC 9110 §9.1): each is the
			// client's doing.
			if status >= 500 && status != fasthttp.StatusHTTPVersionNotSupported &&
				status != fasthttp.StatusNotImplemented {
				t.Fatalf("answer %d: %d %s", n, status, resp.Body())
			}
			if len(resp.Header.Peek("X-Request-ID")) == 0 && status != fasthttp.StatusContinue {
				t.Fatalf("answer %d (%d) has no X-Request-ID", n, status)
			}
			if !hasHead && len(resp.Header.ContentEncoding()) > 0 {
				if _, err := resp.BodyUncompressed(); err != nil {
					t.Fatalf("answer %d (%d): a body in %q that does not decode: %v", n, status, resp.Header.ContentEncoding(), err)
				}
			}
			fasthttp.ReleaseResponse(resp)
		}
		// The server still serves.
		r := do(t, "GET", app.urls[""]+probe, "")
		if r.status != 200 || r.body != want {
			t.Fatalf("after the input: %d %s", r.status, r.body)
		}
	})
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && strings.Contains(op.Err.Error(), "connection reset")
}
