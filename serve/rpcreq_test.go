package serve

import "testing"

// A function another server calls binds its untyped req and res
// parameters as a handler does (the call's request, its response), the
// caller's arguments going to the other parameters in order: they were
// bound to the caller's arguments, nil when it gave none, and
// req.id failed.
func TestCalledFunctionsBindReqAndRes(t *testing.T) {
	app := startApp(t, `
server "api" {
  route GET "/who" => fn() notify.whoami()
  route GET "/hdr" => fn() notify.agent()
  route GET "/mix" => fn() notify.mix(5)
  route GET "/named" => fn() notify.mix(n: 6)
  route GET "/agent" => fn() notify.agent2(id: 5)
  route GET "/two" => fn() notify.two(b: 2, a: 1)
  route GET "/dflt" => fn() notify.dflt(id: 5)
}
server "notify" {
  fn whoami(req) { { id: req.id } }
  fn agent(req, res) { res.setHeader("X-From", "notify"); req.headers["x-request-id"] }
  fn mix(n, req, extra = "d") { "{n} {req.id} {extra}" }
  fn agent2(req, id) { "id={id} {req.id}" }
  fn two(req, a, b) { "a={a} b={b}" }
  fn dflt(req, id = 7, extra = "x") { "id={id} extra={extra}" }
}
`)
	u := app.urls["api"]
	for path, want := range map[string]string{"/who": `{"id":"r1"}`, "/hdr": `"r1"`, "/mix": `"5 r1 d"`, "/named": `"6 r1 d"`,
		"/agent": `"id=5 r1"`, "/two": `"a=1 b=2"`, "/dflt": `"id=5 extra=x"`} {
		if r := do(t, "GET", u+path, "", "X-Request-ID", "r1"); r.status != 200 || r.body != want {
			t.Errorf("GET %s: %d %s, want %s", path, r.status, r.body, want)
		}
	}
}
