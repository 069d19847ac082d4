package netio

import (
	"testing"

	"github.com/valyala/fasthttp"
)

// A Fallback answers only a GET or HEAD that no route of any method
// takes, after routing: a routed path, and one whose routes take other
// methods (405), never reach it; its answer has the request id, the
// policies' headers and an access line, as every answer has.
func TestFallbackAnswersOnlyUnknownPaths(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(r *Router) {
		_ = r.Handle("GET", "/health", echoRoute("health"))
		_ = r.Handle("POST", "/form", echoRoute("form"))
	}, func(c *Config) {
		c.CORS = &CORS{Origins: []string{"*"}}
		c.Fallback = func(ctx *fasthttp.RequestCtx, req *Request) int {
			ctx.SetStatusCode(200)
			ctx.SetBodyString("page " + req.Path)
			return 200
		}
	})
	for _, c := range []struct {
		method, uri string
		status      int
		body        string
	}{
		{"GET", "/health", 200, "health []"},
		{"HEAD", "/health", 200, ""},
		{"GET", "/nowhere", 200, "page /nowhere"},
		{"HEAD", "/deep/page", 200, ""},
		{"GET", "/form", 405, ""},
		{"POST", "/nowhere", 404, ""},
		{"DELETE", "/nowhere", 404, ""},
	} {
		r := ts.do(c.method, c.uri, map[string]string{"Origin": "https://a.example", "X-Request-ID": "fb-1"}, nil)
		if r.status != c.status || c.body != "" && r.body != c.body {
			t.Errorf("%s %s -> %d %q, want %d %q", c.method, c.uri, r.status, r.body, c.status, c.body)
		}
		if r.header["x-request-id"] != "fb-1" || r.header["access-control-allow-origin"] != "*" {
			t.Errorf("%s %s: headers %v lack the request id or CORS's", c.method, c.uri, r.header)
		}
	}
	found := false
	for _, l := range logLines(t, ts.logs) {
		if l["path"] == "/nowhere" && l["method"] == "GET" && l["status"] == float64(200) && l["request_id"] == "fb-1" {
			found = true
		}
	}
	if !found {
		t.Errorf("no access line for the fallback's answer:\n%s", ts.logs.String())
	}
}
