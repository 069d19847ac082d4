package serve

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// rawExchange sends req on a new connection and returns all the server
// sends until it closes the connection.
func rawExchange(t *testing.T, url, req string) string {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(c)
	return string(b)
}

// The framing and persistence fields are the runtime's: a 205 carries no
// content whatever the handler returned (RFC 9110 §15.3.6), and a
// handler's Connection field never goes out beside the runtime's own (a
// close is honoured). Before, a 205 went out with its JSON body, and
// `Connection: keep-alive` was sent beside `Connection: close`.
func TestFramingFieldsAreTheRuntimes(t *testing.T) {
	app := startApp(t, `server {
  route GET "/reset" => fn() respond(205, { done: true })
  route GET "/reset-text" => fn() text("form cleared", 205)
  route GET "/keep" => fn(req, res) { res.setHeader("Connection", "keep-alive"); "kept" }
  route GET "/close" => fn() with_headers("closing", { Connection: "close" })
  route GET "/upgrade" => fn() respond(426, { error: "use TLS" }, { Upgrade: "TLS/1.2, HTTP/1.1" })
  route GET "/hops" => fn() with_headers("hops", { Upgrade: "websocket", "Keep-Alive": "timeout=5", TE: "trailers", Trailer: "X-Sum", "Proxy-Connection": "keep-alive", "X-Kept": "1" })
}
`)
	u := app.urls[""]
	for _, path := range []string{"/reset", "/reset-text"} {
		got := rawExchange(t, u, "GET "+path+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		head, body, _ := strings.Cut(got, "\r\n\r\n")
		if !strings.HasPrefix(head, "HTTP/1.1 205 ") || body != "" || strings.Contains(head, "\r\nContent-Type:") || !strings.Contains(head, "\r\nContent-Length: 0") {
			t.Errorf("GET %s: %q", path, got)
		}
	}
	got := rawExchange(t, u, "GET /keep HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	if n := strings.Count(strings.ToLower(got), "\r\nconnection:"); n != 1 || !strings.Contains(got, "\r\nConnection: close\r\n") || !strings.HasSuffix(got, `"kept"`) {
		t.Errorf("GET /keep: %d Connection fields: %q", n, got)
	}
	// The other fields about the connection are dropped: an Upgrade
	// without Connection: upgrade, a Trailer never sent (the answer went
	// chunked for it).
	got = rawExchange(t, u, "GET /hops HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	for _, name := range []string{"upgrade", "keep-alive", "te", "trailer", "proxy-connection", "transfer-encoding"} {
		if strings.Contains(strings.ToLower(got), "\r\n"+name+":") {
			t.Errorf("GET /hops sent %s: %q", name, got)
		}
	}
	if !strings.Contains(got, "\r\nX-Kept: 1\r\n") || !strings.HasSuffix(got, `"hops"`) {
		t.Errorf("GET /hops: %q", got)
	}
	// A 426 names the protocols in Upgrade (RFC 9110 §15.5.22).
	got = rawExchange(t, u, "GET /upgrade HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	if !strings.HasPrefix(got, "HTTP/1.1 426 ") || !strings.Contains(got, "\r\nUpgrade: TLS/1.2, HTTP/1.1\r\n") {
		t.Errorf("GET /upgrade: %q", got)
	}
	// A handler's close closes a keep-alive connection after its answer.
	got = rawExchange(t, u, "GET /close HTTP/1.1\r\nHost: x\r\n\r\n")
	if n := strings.Count(strings.ToLower(got), "\r\nconnection:"); n != 1 || !strings.Contains(got, "\r\nConnection: close\r\n") || !strings.HasSuffix(got, `"closing"`) {
		t.Errorf("GET /close: %q", got)
	}
}

// A request with no header line (HTTP/1.0) has no headers: req.headers
// showed fasthttp's own, Connection: close and Content-Length: 0.
func TestNoHeaderLinesNoHeaders(t *testing.T) {
	app := startApp(t, `server {
  route GET "/h" => fn(req) req.headers
  route POST "/h" => fn(req) req.headers
}`)
	for _, req := range []string{"GET /h HTTP/1.0\r\n\r\n", "POST /h HTTP/1.0\r\n\r\n"} {
		got := rawExchange(t, app.urls[""], req)
		if !strings.HasPrefix(got, "HTTP/1.1 200") || !strings.HasSuffix(got, "\r\n\r\n{}") {
			t.Errorf("%q answered:\n%s", req, got)
		}
	}
	if got := rawExchange(t, app.urls[""], "GET /h HTTP/1.0\r\nX-A: 1\r\n\r\n"); !strings.HasSuffix(got, `{"x-a":"1"}`) {
		t.Errorf("with a header:\n%s", got)
	}
}
