package serve

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"tova/netio"
)

// Every answer carries the reference's security headers, whoever made it:
// a handler, the front end's own errors, static files, preflights and
// requests it could not read. A value the handler set is kept, once.
func TestSecurityHeadersOnEveryAnswer(t *testing.T) {
	pub := staticTree(t)
	app := startApp(t, `server {
  cors { origins: ["https://app.example"] }
  static { dir: "`+pub+`" }
  health "/health"
  route GET "/json" => fn() { { message: "hi" } }
  route GET "/embed" => fn() with_headers(html("<p>x</p>"), { "X-Frame-Options": "SAMEORIGIN" })
  route GET "/own" => fn(res) { res.setHeader("referrer-policy", "no-referrer"); "own" }
  route GET "/boom" => fn() { 1 / nil }
  route POST "/items" => fn(body) body
  route GET "/n/:id" => fn(id: Int) id
}
`)
	u := app.urls[""]
	want := netio.SecurityHeaders()
	check := func(what string, h http.Header, own map[string]string) {
		t.Helper()
		for _, f := range want {
			v, ok := own[f.Name]
			if !ok {
				v = f.Value
			}
			if got := h.Values(f.Name); len(got) != 1 || got[0] != v {
				t.Errorf("%s: %s = %q, want [%q]", what, f.Name, got, v)
			}
		}
	}
	for _, c := range []struct {
		method, path, body string
		status             int
		headers            []string
		own                map[string]string
	}{
		{"GET", "/json", "", 200, nil, nil},
		{"HEAD", "/json", "", 200, nil, nil},
		{"GET", "/health", "", 200, nil, nil},
		{"GET", "/embed", "", 200, nil, map[string]string{"X-Frame-Options": "SAMEORIGIN"}},
		{"GET", "/own", "", 200, nil, map[string]string{"Referrer-Policy": "no-referrer"}},
		{"GET", "/boom", "", 500, nil, nil},
		{"POST", "/items", "{bad", 400, []string{"Content-Type", "application/json"}, nil},
		{"GET", "/n/x", "", 400, nil, nil},
		{"GET", "/nowhere", "", 404, nil, nil},
		{"DELETE", "/json", "", 405, nil, nil},
		{"GET", "/app.js", "", 200, nil, nil},
		{"OPTIONS", "/json", "", 204, []string{"Origin", "https://app.example", "Access-Control-Request-Method", "GET"}, nil},
	} {
		r := do(t, c.method, u+c.path, c.body, c.headers...)
		what := c.method + " " + c.path
		if r.status != c.status {
			t.Errorf("%s = %d, want %d", what, r.status, c.status)
		}
		check(what, r.header, c.own)
	}

	// A request the front end cannot read (a bare LF ends its line) is
	// answered 400 by the front end alone: the headers are there too.
	c, err := net.Dial("tcp", strings.TrimPrefix(u, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "GET /json HTTP/1.1\nHost: x\n\n"); err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(c)
	if !strings.HasPrefix(string(raw), "HTTP/1.1 400 ") {
		t.Fatalf("bare LF: %q", raw)
	}
	for _, f := range want {
		if !strings.Contains(string(raw), "\r\n"+f.Name+": "+f.Value+"\r\n") {
			t.Errorf("bare LF answer has no %s: %q", f.Name, raw)
		}
	}
}
