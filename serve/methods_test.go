package serve

import (
	"strings"
	"testing"
)

// A method call with spread arguments on req or res calls their own
// method, as the plain call does: res.status(...[201]) read the status
// field and called it, res.text(...["hi"]) called the builtin text with
// res first.
func TestHostMethodsWithSpreadArguments(t *testing.T) {
	app := startApp(t, `
server {
  route GET "/status" => fn(res) { res.status(...[201]); "x" }
  route GET "/text" => fn(res) res.text(...["hi"])
  route GET "/named" => fn(res) { try { res.status(code: 201); "set" } catch e { e.message } }
}
`)
	if r := do(t, "GET", app.urls[""]+"/status", ""); r.status != 201 || r.body != `"x"` {
		t.Errorf("res.status(...[201]): %d %s", r.status, r.body)
	}
	if r := do(t, "GET", app.urls[""]+"/text", ""); r.status != 200 || r.body != "hi" {
		t.Errorf(`res.text(...["hi"]): %d %s`, r.status, r.body)
	}
	// Named, the method's parameter takes it (it said "cannot call
	// Int": the status field; then that it takes no named arguments).
	if r := do(t, "GET", app.urls[""]+"/named", ""); r.status != 201 || r.body != `"set"` {
		t.Errorf("res.status(code: 201): %d %s", r.status, r.body)
	}
}

// get's default applies to req.headers and req.session, called either
// way (it was dropped: null).
func TestHeadersAndSessionGetDefault(t *testing.T) {
	app := startApp(t, `
server {
  sessions { secret: "0123456789abcdef0123" }
  route GET "/a" => fn(req) req.headers.get("x-api-key", default: "anonymous")
  route GET "/b" => fn(req) get(req.headers, "x-api-key", "anonymous")
  route GET "/c" => fn(req) req.session.get("cart", default: [])
  route GET "/d" => fn(req) get(req.session, "cart", [])
  route GET "/e" => fn(req) req.headers.get("x-api-key", "anonymous")
}
`)
	for path, want := range map[string]string{"/a": `"anonymous"`, "/b": `"anonymous"`, "/c": "[]", "/d": "[]", "/e": `"anonymous"`} {
		if r := do(t, "GET", app.urls[""]+path, ""); r.status != 200 || r.body != want {
			t.Errorf("GET %s: %d %s, want %s", path, r.status, r.body, want)
		}
	}
	if r := do(t, "GET", app.urls[""]+"/a", "", "X-API-Key", "k1"); r.body != `"k1"` {
		t.Errorf("GET /a with the header: %s", r.body)
	}
}

// A request field that is a common slip for one it has (req.param, req.header,
// req.cookie) is a TypeError naming it: it read nil, and the handler
// failed a step later with "cannot read field id of nil". Other names
// a request has not, and the ones it has unset (req.session without a
// session block), read nil as before; a field code set reads as set.
func TestRequestFieldSlipNamed(t *testing.T) {
	app := startApp(t, `
server {
  middleware fn tag(req, next) { req.tenant = "t1"; next(req) }
  route GET "/a/:id" => fn(req) { req.param.id }
  route GET "/b" => fn(req) { req.header["x"] }
  route GET "/c" => fn(req) { [req.user, req.session, req.tenant, req.uri, req.params.id, req.locale ?? "en", req.from, req.next] }
  route GET "/d" => fn(req) { req.get("X-A") }
  route GET "/e" => fn(req) { [get(req, "method"), req |> get("method")] }
  route GET "/f" => fn(req) { req.get("X-A", "dflt") }
  route GET "/g" => fn(req) { req.get("Authorization") }
}
`)
	u := app.urls[""]
	for path, want := range map[string]string{"/a/1": "Request has no field param (did you mean params?)", "/b": "Request has no field header (did you mean headers?)",
		// (Express's req.get(name) read nil, the builtin get of the request)
		"/d": `Request has no field X-A: a request header is req.headers[\"x-a\"]`,
		// (a header of one word, too)
		"/g": `Request has no field Authorization: a request header is req.headers[\"authorization\"]`} {
		if r := do(t, "GET", u+path, ""); r.status != 500 {
			t.Errorf("GET %s: %d %s", path, r.status, r.body)
		}
		waitFor(t, func() bool { return strings.Contains(app.logs.String(), want) })
	}
	if r := do(t, "GET", u+"/c", ""); r.status != 200 || r.body != `[null,null,"t1",null,null,"en",null,null]` {
		t.Errorf("GET /c: %d %s", r.status, r.body)
	}
	// The builtin get reads a request's fields still; with a default,
	// a header's name is refused as well.
	if r := do(t, "GET", u+"/e", ""); r.status != 200 || r.body != `["GET","GET"]` {
		t.Errorf("GET /e: %d %s", r.status, r.body)
	}
	if r := do(t, "GET", u+"/f", "", "X-A", "real"); r.status != 500 {
		t.Errorf("GET /f: %d %s", r.status, r.body)
	}
}
