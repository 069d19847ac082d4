package serve

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"tova/netio"
)

// Server "a" calls server "b" over real HTTP; each route of "a" takes b's
// URL as its parameter b.
const fetchApp = `
server "a" {
  var hits = 0
  limits { timeout: 400.milliseconds }
  // The guide's tracing: pass the request id on.
  route GET "/trace" => fn(req, b) {
    r = await fetch(b + "/api/data", {
      headers: { "X-Request-ID": req.id }
    })
    { status: r.status, ok: r.ok, got: await r.json(), type: r.headers["Content-Type"], text: r.statusText }
  }
  route GET "/post" => fn(b) {
    r = fetch(b + "/echo", { method: "post", body: { a: [1, 2] }, headers: { "X-Twice": ["x", "y"] } })
    r.json()
  }
  route GET "/text" => fn(b) {
    r = fetch(b + "/echo", { method: "PUT", body: "plain words", headers: { "Content-Type": "text/plain" } })
    r.json()
  }
  route GET "/text-untyped" => fn(b) {
    r = fetch(b + "/echo", { method: "PUT", body: "plain words" })
    r.json()
  }
  route GET "/missing" => fn(b) {
    r = fetch(b + "/nope")
    { status: r.status, ok: r.ok, code: r.json().error.code }
  }
  route GET "/redirects" => fn(b) {
    r = fetch(b + "/moved")
    m = fetch(b + "/moved", { redirect: "manual" })
    e = try { fetch(b + "/moved", { redirect: "error" }); "followed" } catch err { err.kind }
    { status: r.status, url: r.url, redirected: r.redirected, body: r.text(),
      manual: m.status, location: m.headers.location, error: e }
  }
  route GET "/proxy" => fn(b) fetch(b + "/page")
  // A byte order mark before JSON: left out, as the Fetch API's
  // decoding leaves it out.
  route GET "/bom" => fn(b) { r = fetch(b + "/bom"); { json: r.json(), text: len(r.text()) } }
  // The methods read without a call: bound, as in the Fetch API.
  route GET "/unbound" => fn(b) { r = fetch(b + "/bom"); f = r.json; { json: f(), has_text: r.text != nil } }
  route GET "/proxy-raw" => fn(b) fetch(b + "/raw")
  route GET "/proxy-framed" => fn(b) fetch(b + "/framed")
  // req.headers passed on: not its Host, nor its connection's fields.
  route GET "/forward" => fn(req, b) fetch(b + "/headers", { headers: req.headers }).json()
  route GET "/fail" => fn(b, what) {
    try {
      match what {
        "refused" => fetch("http://127.0.0.1:1/x")
        "refused-key" => fetch("http://me:s3cret@127.0.0.1:1/x?api_key=k-123#top")
        "timeout" => fetch(b + "/slow", { timeout: 50.milliseconds })
        "big" => fetch(b + "/page?api_key=k-123", { max_body: 4 })
        "scheme" => fetch("ftp://example.com/x")
        "secret" => fetch("ftp://me:s3cret@example.com/x?token=k-123")
        "barekey" => fetch("db.example.com/x?api_key=k-123")
        "bare" => fetch("admin:s3cret@db.example.com/x")
        "words" => fetch("not a url")
        "parse" => fetch("http://me:s3cret@[::1/x")
        "noscheme" => fetch("127.0.0.1:3000/x")
        "spaced" => fetch(" http://127.0.0.1:3000/x")
        "oneslash" => fetch("http:/x")
        "oneslashpw" => fetch("http:/me:s3cret@host/x")
        "localhost" => fetch("localhost:3000/x")
        "option" => fetch(b + "/page", { header: {} })
        "getbody" => fetch(b + "/page", { body: "x" })
        "crlf" => fetch(b + "/page", { headers: { "X-A": "a\r\nX-Injected: 1" } })
        "objheader" => fetch(b + "/page", { headers: { "X-O": { a: 1 } } })
        "notjson" => fetch(b + "/page?token=k-123").json()
        "body" => fetch(b + "/page").body
        "field" => fetch(b + "/page").stats
        _ => fetch(42)
      }
      "no error"
    } catch e {
      { kind: e.kind, message: e.message }
    }
  }
  // Past the request's deadline: 503, as any handler waiting.
  route GET "/deadline" => fn(b) { fetch(b + "/slow") }
  // A request to this very server, its state held meanwhile by no one:
  // fetch lets go of it while it waits.
  route GET "/self" => fn(req, self) {
    hits += 1
    r = fetch(self + "/hits")
    hits += 1
    { before: r.json(), after: hits }
  }
  route GET "/hits" => fn() { hits += 1; hits }
}
server "b" {
  route GET "/api/data" => fn(req) { { seen_id: req.id } }
  route POST "/echo" => fn(req) { { body: req.body, type: req.headers["content-type"], twice: req.headers["x-twice"], method: req.method } }
  route PUT "/echo" => fn(req) { { body: req.body, type: req.headers["content-type"], method: req.method } }
  route GET "/moved" => fn() redirect("/page", 301)
  route GET "/page" => fn() html("<p>b</p>", 201, { "X-B": "1" })
  route GET "/framed" => fn() html("<p>f</p>", 200, { "X-Frame-Options": "ALLOWALL", "Access-Control-Allow-Origin": "*", "Content-Security-Policy": "default-src 'self'", "Strict-Transport-Security": "max-age=0" })
  route GET "/slow" => fn() { sleep(2000); "late" }
  route GET "/raw" => fn(res) { res.setHeader("Server", "b"); res.send("raw bytes") }
  route GET "/bom" => fn(res) { res.setHeader("Content-Type", "application/json"); res.send("\u{FEFF}\{\"a\":1}") }
  route GET "/headers" => fn(req) {
    { host: req.headers.host, custom: req.headers["x-custom"], conn: req.headers.connection ?? req.headers["x-hop"] ?? req.headers["proxy-authorization"] }
  }
}
`

// fetch sends real requests and reads their answers: the status (any:
// an error status is an answer, not a failure), headers, text and JSON
// bodies; it sends methods, headers and bodies (a record as JSON); it
// follows redirects or not; a failed exchange raises a FetchError that
// says why; a handler returning the response passes it on.
func TestFetch(t *testing.T) {
	app := startApp(t, fetchApp)
	a, b := app.urls["a"], url.QueryEscape(app.urls["b"])
	r := do(t, "GET", a+"/trace?b="+b, "", "X-Request-ID", "trace-7")
	if r.status != 200 || r.body != `{"status":200,"ok":true,"got":{"seen_id":"trace-7"},"type":"application/json","text":"OK"}` {
		t.Errorf("the guide's tracing: %d %s", r.status, r.body)
	}
	for path, want := range map[string]string{
		"/post": `{"body":{"a":[1,2]},"type":"application/json","twice":"x, y","method":"POST"}`,
		"/text": `{"body":"plain words","type":"text/plain","method":"PUT"}`,
		// (a String went with no Content-Type)
		"/text-untyped": `{"body":"plain words","type":"text/plain;charset=UTF-8","method":"PUT"}`,
		"/missing":      `{"status":404,"ok":false,"code":"NOT_FOUND"}`,
		"/bom":          `{"json":{"a":1},"text":7}`,
		"/unbound":      `{"json":{"a":1},"has_text":true}`,
		"/redirects":    `{"status":201,"url":"` + app.urls["b"] + `/page","redirected":true,"body":"<p>b</p>","manual":301,"location":"/page","error":"FetchError"}`,
	} {
		if r := do(t, "GET", a+path+"?b="+b, ""); r.status != 200 || r.body != want {
			t.Errorf("GET %s: %d %s\nwant %s", path, r.status, r.body, want)
		}
	}
	if r := do(t, "GET", a+"/proxy?b="+b, ""); r.status != 201 || r.body != "<p>b</p>" || r.header.Get("X-B") != "1" ||
		r.header.Get("Content-Type") != "text/html; charset=utf-8" || len(r.header.Values("Date")) != 1 || r.header.Get("X-Request-ID") == "" {
		t.Errorf("a fetch response passed on: %d %q %v", r.status, r.body, r.header)
	}
	// The upstream's CORS grant and security headers are not this
	// origin's: its own are sent (another header, CSP, is passed on).
	if r := do(t, "GET", a+"/proxy-framed?b="+b, ""); r.status != 200 || r.header.Get("X-Frame-Options") != "DENY" ||
		r.header.Get("Access-Control-Allow-Origin") != "" || r.header.Get("Content-Security-Policy") != "default-src 'self'" || r.header.Get("Strict-Transport-Security") != "" {
		t.Errorf("a fetch response's security headers passed on: %d %v", r.status, r.header)
	}
	// An answer with no Content-Type is passed on as bytes of no stated
	// type; the upstream's Server is not this server's.
	if r := do(t, "GET", a+"/proxy-raw?b="+b, ""); r.status != 200 || r.body != "raw bytes" || r.header.Get("Server") != "" {
		t.Errorf("a raw answer passed on: %d %q %v", r.status, r.body, r.header)
	}
	if r := do(t, "GET", a+"/forward?b="+b, "", "X-Custom", "c", "Connection", "keep-alive, X-Hop", "X-Hop", "1", "Proxy-Authorization", "Basic z"); r.status != 200 ||
		r.body != `{"host":"`+strings.TrimPrefix(app.urls["b"], "http://")+`","custom":"c","conn":null}` {
		t.Errorf("req.headers passed on: %d %s", r.status, r.body)
	}
	for what, want := range map[string]string{
		"refused": `{"kind":"FetchError","message":"fetch GET http://127.0.0.1:1/x: connection refused"}`,
		// (its password and its query, which may hold a key, not shown)
		"refused-key": `{"kind":"FetchError","message":"fetch GET http://me:xxxxx@127.0.0.1:1/x?…: connection refused"}`,
		"timeout":     `{"kind":"FetchError","message":"fetch GET ` + app.urls["b"] + `/slow: no answer within its timeout (50ms)"}`,
		"big":         `{"kind":"FetchError","message":"fetch GET ` + app.urls["b"] + `/page?…: the response body (8 bytes) is over the limit of 4 bytes"}`,
		"scheme":      `{"kind":"ValueError","message":"fetch: \"ftp://example.com/x\" is not an absolute http or https URL"}`,
		"secret":      `{"kind":"ValueError","message":"fetch: \"ftp://me:xxxxx@example.com/x?…\" is not an absolute http or https URL"}`,
		"barekey":     `{"kind":"ValueError","message":"fetch: \"db.example.com/x?…\" is not an absolute http or https URL (it names no scheme: http://…)"}`,
		// (written without a scheme, it was quoted with its password)
		"bare":  `{"kind":"ValueError","message":"fetch: \"admin:xxxxx@db.example.com/x\" is not an absolute http or https URL (it names no scheme: http://…)"}`,
		"words": `{"kind":"ValueError","message":"fetch: \"not a url\" is not an absolute http or https URL (it names no scheme: http://…)"}`,
		// (it did not parse: "first path segment in URL cannot contain colon")
		"noscheme": `{"kind":"ValueError","message":"fetch: \"127.0.0.1:3000/x\" is not an absolute http or https URL (it names no scheme: http://…)"}`,
		"spaced":   `{"kind":"ValueError","message":"fetch: \" http://127.0.0.1:3000/x\" is not an absolute http or https URL (it has spaces around it)"}`,
		"oneslash": `{"kind":"ValueError","message":"fetch: \"http:/x\" is not an absolute http or https URL (write two slashes after the scheme: http://…)"}`,
		// (its password was shown)
		"oneslashpw": `{"kind":"ValueError","message":"fetch: \"http:/me:xxxxx@host/x\" is not an absolute http or https URL (write two slashes after the scheme: http://…)"}`,
		"localhost":  `{"kind":"ValueError","message":"fetch: \"localhost:3000/x\" is not an absolute http or https URL (it names no scheme: http://…)"}`,
		"parse":      `{"kind":"ValueError","message":"fetch: the URL does not parse: missing ']' in host"}`,
		"option":     `{"kind":"ValueError","message":"fetch: unknown option \"header\" (it takes method, headers, body, timeout, redirect and max_body)"}`,
		"getbody":    `{"kind":"ValueError","message":"fetch: a GET request has no body; give a method such as \"POST\""}`,
		"crlf":       `{"kind":"ValueError","message":"fetch: the value of header X-A holds a line break or another control character"}`,
		"objheader":  `{"kind":"ValueError","message":"the value of header X-O is Object: give a String, a number or a list of them (JSON.stringify an object)"}`,
		"notjson":    `{"kind":"ValueError","message":"fetch: the response from ` + app.urls["b"] + `/page?… is not JSON: expected a value, found '<' (line 1, column 1, offset 0)"}`,
		"url":        `{"kind":"TypeError","message":"fetch: expected a URL string, got Int"}`,
		// (nil, and the body lost without a word)
		"body":  `{"kind":"TypeError","message":"a fetch response has no field body: read its body with .text() or .json()"}`,
		"field": `{"kind":"TypeError","message":"a fetch response has no field stats (it has status, ok, statusText, url, redirected and headers, and its body is read with .text() or .json())"}`,
	} {
		if r := do(t, "GET", a+"/fail?what="+what+"&b="+b, ""); r.status != 200 || r.body != want {
			t.Errorf("%s: %d %s\nwant %s", what, r.status, r.body, want)
		}
	}
	start := time.Now()
	if r := do(t, "GET", a+"/deadline?b="+b, ""); r.status != 503 || time.Since(start) > 1500*time.Millisecond {
		t.Errorf("a fetch past the request's deadline: %d %s after %v", r.status, r.body, time.Since(start))
	}
	// The handler holds the server's state; /hits needs it too.
	if r := do(t, "GET", a+"/self?self="+url.QueryEscape(a), ""); r.status != 200 || r.body != `{"before":2,"after":3}` {
		t.Errorf("a fetch of its own server: %d %s", r.status, r.body)
	}
	if strings.Contains(app.logs.String(), `"level":"error"`) && !strings.Contains(app.logs.String(), "/deadline") {
		t.Errorf("unexpected errors logged:\n%s", app.logs.String())
	}
}

// A fetch response passed on keeps its status, type, headers and body,
// but not the fields of the connection it came on (those its Connection
// names included: they were passed on), nor Date, Server or
// X-Request-ID, which are this server's; a body of no stated type goes
// out as application/octet-stream, a status that is not final, or
// over 599 (none HTTP defines), as 502.
func TestFetchResponsePassedOn(t *testing.T) {
	in := &netio.OutboundResponse{Status: 203, Body: []byte("x"), Headers: netio.Headers{
		{Name: "Server", Value: "up"}, {Name: "Date", Value: "d"}, {Name: "Connection", Value: "close, X-Secret"},
		{Name: "X-Secret", Value: "s"}, {Name: "Proxy-Authenticate", Value: "Basic"},
		{Name: "Content-Length", Value: "1"}, {Name: "X-Request-Id", Value: "theirs"}, {Name: "X-Kept", Value: "k"},
		{Name: "Set-Cookie", Value: "a=1"}, {Name: "Set-Cookie", Value: "b=2"}, {Name: "Content-Encoding", Value: "br"},
	}}
	out := (&fetchResponse{r: in}).asResponseValue()
	var names []string
	for _, h := range out.headers {
		names = append(names, h.Name+"="+h.Value)
	}
	if out.status != 203 || out.ctype != "application/octet-stream" || string(out.body) != "x" ||
		strings.Join(names, " ") != "X-Kept=k Set-Cookie=a=1 Set-Cookie=b=2 Content-Encoding=br" {
		t.Errorf("passed on: %d %q %q %v", out.status, out.ctype, out.body, names)
	}
	in.Status, in.Headers = 101, netio.Headers{{Name: "Content-Type", Value: "text/x"}}
	if out := (&fetchResponse{r: in}).asResponseValue(); out.status != 502 || out.ctype != "text/x" {
		t.Errorf("status 101 passed on: %d %q", out.status, out.ctype)
	}
	for _, st := range []int{600, 999} {
		in.Status = st
		if out := (&fetchResponse{r: in}).asResponseValue(); out.status != 502 {
			t.Errorf("status %d passed on: %d", st, out.status)
		}
	}
	in.Status = 599
	if out := (&fetchResponse{r: in}).asResponseValue(); out.status != 599 {
		t.Errorf("status 599: %d", out.status)
	}
}
