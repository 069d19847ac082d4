package serve

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// rawUpstream is a server that answers every request on a connection
// with the same bytes, whatever they are, and then closes it.
type rawUpstream struct {
	ln  net.Listener
	mu  sync.Mutex
	raw []byte
}

func startRawUpstream(tb testing.TB) *rawUpstream {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	u := &rawUpstream{ln: ln}
	tb.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go u.answer(c)
		}
	}()
	return u
}

func (u *rawUpstream) set(raw []byte) {
	u.mu.Lock()
	u.raw = raw
	u.mu.Unlock()
}

func (u *rawUpstream) answer(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	// The request's head: fetch sends no body here.
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		if line == "\r\n" || line == "\n" {
			break
		}
	}
	u.mu.Lock()
	raw := u.raw
	u.mu.Unlock()
	_, _ = c.Write(raw)
}

// fetchFuzzApp passes an upstream's response on as it is, and reads it
// through every accessor into a JSON answer. Neither catches an error:
// a response fetch refuses fails the handler (500, as any handler
// failure).
const fetchFuzzApp = `
server {
  route GET "/pass" => fn() fetch("%[1]s", { timeout: 2.seconds, max_body: 64.kilobytes })
  route GET "/read" => fn() {
    r = fetch("%[1]s", { timeout: 2.seconds, max_body: 64.kilobytes })
    { status: r.status, ok: r.ok, text: r.text(), type: r.headers["content-type"], url: r.url, redirected: r.redirected, statusText: r.statusText }
  }
  route GET "/ping" => fn() "pong"
}
`

// FuzzFetchUpstream has fetch read arbitrary bytes as an upstream's
// answer. Whatever they are, the program's own answer is well-formed
// HTTP (net/http reads it), with one request id; the answer of /read is
// valid JSON when it succeeds and names its request id when it fails;
// and the server goes on serving.
func FuzzFetchUpstream(f *testing.F) {
	up := startRawUpstream(f)
	app := startApp(f, fmt.Sprintf(fetchFuzzApp, "http://"+up.ln.Addr().String()+"/x"))
	base := app.urls[""]
	for _, seed := range []string{
		"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 8\r\n\r\n{\"a\":1}\n",
		"HTTP/1.1 404 Not Found\r\nX-A: b\r\nSet-Cookie: s=1\r\nSet-Cookie: t=2\r\nContent-Length: 3\r\n\r\nno\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\n\x1f\x8b\x08\x00",
		"HTTP/1.1 301 Moved\r\nLocation: /y\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 204 No Content\r\nConnection: close, X-Drop\r\nX-Drop: 1\r\n\r\n",
		"HTTP/1.0 200 OK\r\nContent-Type: text/plain; charset=latin1\r\n\r\n\xff\xfe body until close",
		"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 999 Odd\r\nContent-Length: 1\r\n\r\nx",
		"garbage\r\n\r\n",
		"",
	} {
		f.Add([]byte(seed))
	}
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	f.Fuzz(func(t *testing.T, raw []byte) {
		up.set(raw)
		for _, path := range []string{"/pass", "/read"} {
			req, _ := http.NewRequest("GET", base+path, nil)
			req.Header.Set("Accept-Encoding", "identity")
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("GET %s: the answer does not read as HTTP: %v", path, err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatalf("GET %s (%d): the body does not read: %v", path, resp.StatusCode, err)
			}
			if ids := resp.Header.Values("X-Request-Id"); len(ids) != 1 {
				t.Fatalf("GET %s (%d): request ids %q, want one", path, resp.StatusCode, ids)
			}
			if path == "/read" && resp.StatusCode == 200 && !json.Valid(body) {
				t.Fatalf("GET /read: 200 with a body that is not JSON: %q", body)
			}
			// (/pass may pass an upstream's 500 on: only /read's 500 is
			// the program's own failure.)
			if path == "/read" && resp.StatusCode == 500 && !bytes.Contains(body, []byte(resp.Header.Get("X-Request-Id"))) {
				t.Fatalf("GET /read: 500 without its request id: %s", body)
			}
		}
		r := do(t, "GET", base+"/ping", "")
		if r.status != 200 || strings.TrimSpace(r.body) != `"pong"` {
			t.Fatalf("after the input: %d %s", r.status, r.body)
		}
	})
}
