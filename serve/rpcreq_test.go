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

// A called function answering with res.json(v) made every call fail
// ("answer without a result"): the body went out unwrapped. What res
// builds answers as the same respond(...) would: a 2xx one's body is
// the result, another status the caller's RPCError.
func TestCalledFunctionAnswersThroughRes(t *testing.T) {
	app := startApp(t, `
server "api" {
  route GET "/json" => fn() worker.made()
  route GET "/plain" => fn() worker.plain()
  route GET "/sent" => fn() worker.sent()
  route GET "/refused" => fn() {
    try { worker.refused() } catch e { "{e.message} {e.value.body.why}" }
  }
}
server "worker" {
  fn made(res) {
    res.status(201)
    res.json({ made: true })
  }
  fn plain(res) {
    res.json([1, 2])
    "ignored"
  }
  fn sent(res) { res.send("hi") }
  fn refused(res) { res.status(409).json({ why: "taken" }) }
}
`)
	u := app.urls["api"]
	for path, want := range map[string]string{"/json": `{"made":true}`, "/plain": `[1,2]`, "/sent": `"hi"`,
		"/refused": `"RPC worker.refused failed: 409 {\"why\":\"taken\"} taken"`} {
		if r := do(t, "GET", u+path, ""); r.status != 200 || r.body != want {
			t.Errorf("GET %s: %d %s, want %s", path, r.status, r.body, want)
		}
	}
}

// A called function answering respond(204, nil) gave its caller "": a
// 2xx answer without a body gives nil (text("") still gives "").
func TestCalledFunctionAnswerWithoutBodyIsNil(t *testing.T) {
	app := startApp(t, `
server "api" {
  route GET "/gone" => fn() {
    r = worker.gone()
    { r: r, is_nil: r == nil }
  }
  route GET "/bare" => fn() { worker.bare() ?? "none" }
  route GET "/empty" => fn() { worker.empty() ?? "none" }
}
server "worker" {
  fn gone() { respond(204, nil) }
  fn bare(res) { res.status(202) }
  fn empty() { text("") }
}
`)
	u := app.urls["api"]
	for path, want := range map[string]string{"/gone": `{"r":null,"is_nil":true}`, "/bare": `"none"`, "/empty": `""`} {
		if r := do(t, "GET", u+path, ""); r.status != 200 || r.body != want {
			t.Errorf("GET %s: %d %s, want %s", path, r.status, r.body, want)
		}
	}
}

// A called function setting res.status(204) or res.status(205) failed its
// caller ("the answer is not JSON"): that status replaced the answer's 200
// and HTTP sent the answer without its body. The caller gets nil, or the
// value the function returned; a status of 400 or more is still its error.
func TestCalledFunctionBodilessStatusGivesResult(t *testing.T) {
	app := startApp(t, `
server "api" {
  route GET "/st/:s" => fn(s: Int) {
    try { r = worker.st(s)
      { r: r, is_nil: r == nil } } catch e { "ERR " + e.message }
  }
  route GET "/five" => fn() { worker.five() }
  route GET "/missing" => fn() { try { worker.missing() } catch e { "ERR" } }
}
server "worker" {
  fn st(s, res) { res.status(s) }
  fn five(res) { res.status(204)
    5 }
  fn missing(res) { res.status(404)
    5 }
}
`)
	u := app.urls["api"]
	for path, want := range map[string]string{
		"/st/204":  `{"r":null,"is_nil":true}`,
		"/st/205":  `{"r":null,"is_nil":true}`,
		"/st/201":  `{"r":null,"is_nil":true}`,
		"/five":    `5`,
		"/missing": `"ERR"`,
	} {
		if r := do(t, "GET", u+path, ""); r.status != 200 || r.body != want {
			t.Errorf("GET %s: %d %s, want %s", path, r.status, r.body, want)
		}
	}
}
