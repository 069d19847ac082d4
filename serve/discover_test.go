package serve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"tova/driver"
)

const peersApp = `
server "api" {
  route GET "/double/:n" => fn(n: Int) { worker.compute(n) }
  route GET "/user" => fn() { worker.user("ada") }
  route GET "/list" => fn() { worker.list(3) }
  route GET "/boom" => fn() { worker.boom() }
  route GET "/caught" => fn() {
    try { worker.boom() } catch e { "caught: {e.message}" }
  }
  route GET "/bad" => fn() { worker.compute("x") }
  route GET "/count" => fn() { worker.count() }
}
server "worker" {
  var calls = 0
  fn compute(n: Int) { n * 2 }
  fn user(name) { { name: name, tags: ["a", "b"], age: 36 } }
  fn list(n) { range(1, n + 1) |> map(fn(i) i * 10) }
  fn boom() {
    calls += 1
    nope = nil
    nope.field.deeper
  }
  fn count() { calls }
  fn secret() { "not for the network" }
  route GET "/secret" => fn() secret()
}
`

// A call to another server's function returns that function's value,
// through JSON, and carries the caller's request id to the callee.
func TestPeerCallReturnsResult(t *testing.T) {
	app := startApp(t, peersApp)
	api := app.urls["api"]
	for path, want := range map[string]string{
		"/double/21": "42",
		"/user":      `{"name":"ada","tags":["a","b"],"age":36}`,
		"/list":      "[10,20,30]",
	} {
		if r := do(t, "GET", api+path, ""); r.status != 200 || r.body != want {
			t.Errorf("GET %s = %d %s, want %s", path, r.status, r.body, want)
		}
	}
	if r := do(t, "GET", api+"/double/5", "", "X-Request-ID", "trace-abc-1"); r.status != 200 || r.body != "10" {
		t.Fatalf("GET /double/5 = %d %s", r.status, r.body)
	}
	found := false
	for _, rec := range logged(app.logs, "request") {
		if rec["server"] == "worker" && rec["path"] == "/rpc/compute" && rec["request_id"] == "trace-abc-1" {
			found = true
		}
	}
	if !found {
		t.Errorf("the callee logged no POST /rpc/compute with the caller's request id; logs:\n%s", app.logs)
	}
}

// A call made in res.on_finish sent a new X-Request-ID, not that of
// the request it finishes: the callbacks still serve that request.
func TestPeerCallFromOnFinishCarriesTheRequestID(t *testing.T) {
	app := startApp(t, `
server "api" {
  middleware fn audit(req, res) {
    res.on_finish(fn() { print("{req.id} {logger.record(res.status)}") })
  }
  route GET "/x" => fn(req) { "served {req.id}" }
}
server "logger" {
  fn record(status, req) { "{status} {req.id}" }
}
`)
	if r := do(t, "GET", app.urls["api"]+"/x", "", "X-Request-ID", "fin-1"); r.status != 200 {
		t.Fatalf("GET /x = %d %s", r.status, r.body)
	}
	waitFor(t, func() bool { return strings.Contains(app.stdout.String(), "\n") })
	if got := app.stdout.String(); got != "fin-1 200 fin-1\n" {
		t.Errorf("on_finish printed %q, want the call to carry the request's id", got)
	}
}

// Only the functions another server calls by name are answered at
// /rpc/: a function of the server no other one calls is 404 there.
func TestPeerUnexposedFunctionIs404(t *testing.T) {
	app := startApp(t, peersApp)
	worker := app.urls["worker"]
	if r := do(t, "POST", worker+"/rpc/compute", `{"__args":[4]}`, "Content-Type", "application/json"); r.status != 200 || r.body != `{"result":8}` {
		t.Errorf("POST /rpc/compute = %d %s", r.status, r.body)
	}
	if r := do(t, "POST", worker+"/rpc/compute", `{"n":5}`, "Content-Type", "application/json"); r.status != 200 || r.body != `{"result":10}` {
		t.Errorf("POST /rpc/compute by name = %d %s", r.status, r.body)
	}
	for _, name := range []string{"secret", "calls", "nothing"} {
		if r := do(t, "POST", worker+"/rpc/"+name, `{"__args":[]}`, "Content-Type", "application/json"); r.status != 404 {
			t.Errorf("POST /rpc/%s = %d %s, want 404", name, r.status, r.body)
		}
	}
	if r := do(t, "POST", app.urls["api"]+"/rpc/compute", `{"__args":[1]}`, "Content-Type", "application/json"); r.status != 404 {
		t.Errorf("the caller answers /rpc/compute: %d %s", r.status, r.body)
	}
	// What a page on another site can make a browser send unasked (a
	// form, text, an empty POST) runs nothing: it ran the function.
	for _, c := range []struct{ body, ctype string }{{`{"n":5}`, "text/plain"}, {"n=5", "application/x-www-form-urlencoded"}, {"", ""}} {
		hdrs := []string{"Origin", "https://evil.example"}
		if c.ctype != "" {
			hdrs = append(hdrs, "Content-Type", c.ctype)
		}
		if r := do(t, "POST", worker+"/rpc/compute", c.body, hdrs...); r.status != 415 || !strings.Contains(r.body, "X-Tova-Call") {
			t.Errorf("POST /rpc/compute as %q = %d %s, want 415", c.ctype, r.status, r.body)
		}
	}
	if r := do(t, "POST", worker+"/rpc/compute", `{"n":6}`, "Content-Type", "text/plain", "X-Tova-Call", "1"); r.status != 200 || r.body != `{"result":12}` {
		t.Errorf("POST /rpc/compute with X-Tova-Call = %d %s", r.status, r.body)
	}
}

// A failure of the peer's function is a runtime error of the call: a
// 500 of the caller's request, or caught by try/catch; the function
// runs once (a 500 is not sent again), and the callee logs it with its
// Tova stack under the caller's request id. A 400 of the callee (an
// argument of the wrong type) is an error too.
func TestPeerCallFailure(t *testing.T) {
	app := startApp(t, peersApp)
	api := app.urls["api"]
	if r := do(t, "GET", api+"/boom", "", "X-Request-ID", "boom-1"); r.status != 500 || !strings.Contains(r.body, `"request_id":"boom-1"`) {
		t.Errorf("GET /boom = %d %s", r.status, r.body)
	}
	if r := do(t, "GET", api+"/count", ""); r.body != "1" {
		t.Errorf("the failing function ran %s times, want 1", r.body)
	}
	r := do(t, "GET", api+"/caught", "")
	if r.status != 200 || r.body != `"caught: RPC worker.boom failed: 500 Internal Server Error"` {
		t.Errorf("GET /caught = %d %s", r.status, r.body)
	}
	var calleeLogged bool
	for _, rec := range logged(app.logs, "cannot read field field of nil") {
		calleeLogged = calleeLogged || rec["server"] == "worker" && rec["request_id"] == "boom-1" && strings.Contains(fmt.Sprint(rec["stack"]), "boom")
	}
	if !calleeLogged {
		t.Errorf("the callee did not log the failure with its stack and the caller's id; logs:\n%s", app.logs)
	}
	if r := do(t, "GET", api+"/bad", ""); r.status != 500 {
		t.Errorf("GET /bad = %d %s", r.status, r.body)
	}
	var callerLogged bool
	for _, rec := range logged(app.logs, "RPC worker.compute failed: 400 Validation failed: n must be an integer") {
		callerLogged = callerLogged || rec["server"] == "api"
	}
	if !callerLogged {
		t.Errorf("the caller's error does not say the callee's 400; logs:\n%s", app.logs)
	}
}

// The breaker opens after failure_threshold failed calls: the next call
// fails at once without reaching the peer; after reset_timeout a trial
// call goes through, and its success closes the breaker. A 3xx or 4xx
// does not count as a failure.
func TestPeerCallCircuitBreaker(t *testing.T) {
	app := startApp(t, `
server "api" {
  discover "worker" {
    circuit_breaker: { failure_threshold: 2, reset_timeout: 800.milliseconds, half_open_requests: 1 }
  }
  route GET "/flaky" => fn() {
    try { worker.flaky() } catch e { e.message }
  }
  route GET "/typed" => fn() {
    try { worker.typed("no") } catch e { e.message }
  }
  route GET "/moved" => fn() {
    try { worker.moved() } catch e { e.message }
  }
}
server "admin" {
  route GET "/fix" => fn() worker.set_failing(false)
  route GET "/calls" => fn() worker.calls()
}
server "worker" {
  var failing = true
  var count = 0
  fn flaky() {
    count += 1
    if failing { throw "down" }
    "up"
  }
  fn typed(n: Int) { n }
  fn moved() { redirect("/v2", 301) }
  fn set_failing(b) { failing = b }
  fn calls() { count }
}
`)
	api, admin := app.urls["api"], app.urls["admin"]
	calls := func() string { return do(t, "GET", admin+"/calls", "").body }
	for range 3 {
		// a caller's fault, or the function's own redirect: the breaker
		// stays closed (a 3xx opened it)
		if r := do(t, "GET", api+"/typed", ""); !strings.Contains(r.body, "400") {
			t.Fatalf("GET /typed = %d %s", r.status, r.body)
		}
		if r := do(t, "GET", api+"/moved", ""); !strings.Contains(r.body, "301") {
			t.Fatalf("GET /moved = %d %s", r.status, r.body)
		}
	}
	for i := range 2 {
		if r := do(t, "GET", api+"/flaky", ""); r.body != `"RPC worker.flaky failed: 500 Internal Server Error"` {
			t.Fatalf("call %d: %s", i+1, r.body)
		}
	}
	start := time.Now()
	if r := do(t, "GET", api+"/flaky", ""); r.body != `"RPC worker.flaky: circuit breaker open for worker"` {
		t.Fatalf("call 3: %s", r.body)
	}
	if d := time.Since(start); d > 250*time.Millisecond {
		t.Errorf("the open breaker took %v to answer (a call sent again waits 300 ms)", d)
	}
	if n := calls(); n != "2" {
		t.Errorf("the peer was called %s times, want 2 (the open breaker sends nothing)", n)
	}
	if r := do(t, "GET", admin+"/fix", ""); r.status != 200 {
		t.Fatalf("GET /fix = %d %s", r.status, r.body)
	}
	if r := do(t, "GET", api+"/flaky", ""); r.body != `"RPC worker.flaky: circuit breaker open for worker"` {
		t.Fatalf("before reset_timeout: %s", r.body)
	}
	time.Sleep(850 * time.Millisecond)
	for i := range 2 {
		if r := do(t, "GET", api+"/flaky", ""); r.body != `"up"` {
			t.Fatalf("after reset_timeout, call %d: %s", i+1, r.body)
		}
	}
	if n := calls(); n != "4" {
		t.Errorf("the peer was called %s times, want 4", n)
	}
	if len(logged(app.logs, "circuit breaker open: calls fail at once until reset_timeout has passed")) != 1 ||
		len(logged(app.logs, "circuit breaker closed: calls go through again")) != 1 {
		t.Errorf("breaker state changes not logged; logs:\n%s", app.logs)
	}
}

// A call that gets no answer within its timeout fails with an error
// saying so, and is not sent again.
func TestPeerCallTimeout(t *testing.T) {
	app := startApp(t, `
server "api" {
  discover "worker" { timeout: 150 }
  route GET "/slow" => fn() {
    try { worker.slow() } catch e { e.message }
  }
  route GET "/calls" => fn() worker.calls()
}
server "worker" {
  var count = 0
  fn slow() {
    count += 1
    sleep(1.second)
  }
  fn calls() { count }
}
`)
	start := time.Now()
	if r := do(t, "GET", app.urls["api"]+"/slow", ""); r.body != `"RPC worker.slow timed out after 150ms"` {
		t.Errorf("GET /slow = %d %s", r.status, r.body)
	}
	if d := time.Since(start); d > 800*time.Millisecond {
		t.Errorf("the call took %v", d)
	}
	if r := do(t, "GET", app.urls["api"]+"/calls", ""); r.body != "1" {
		t.Errorf("the slow function ran %s times, want 1", r.body)
	}
}

// A peer that closes the connection while the call runs (it crashed)
// fails the call in words that say so (Go's "EOF" or "connection reset
// by peer" were passed on); the call is not sent again. A call the
// calling request's deadline ends says that, not "context deadline
// exceeded".
func TestPeerCallFailureWords(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepted atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Read(make([]byte, 4096)) // the request arrives; the peer dies
			c.Close()
		}
	}()
	// A peer whose answer is cut short: its status comes, then part of
	// its body (or of its headers, once cutHeaders is set).
	var cutHeaders atomic.Bool
	cut, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer cut.Close()
	go func() {
		for {
			c, err := cut.Accept()
			if err != nil {
				return
			}
			c.Read(make([]byte, 4096))
			if cutHeaders.Load() {
				c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Ty"))
			} else {
				c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"resu"))
			}
			c.Close()
		}
	}()
	app := startApp(t, `
server "api" {
  discover "worker" at "http://admin:S3CRET@`+ln.Addr().String()+`" with { threshold: 5 }
  discover "cutter" at "http://`+cut.Addr().String()+`"
  route GET "/c" => fn() {
    try { worker.compute(1) } catch e { e.message }
  }
  route GET "/cut" => fn() {
    try { cutter.compute(1) } catch e { e.message }
  }
}
server "slow" {
  limits { timeout: 300.milliseconds }
  route GET "/s" => fn() { other.wait() }
}
server "other" {
  fn wait() { sleep(1.seconds) }
}
server "worker" {
  fn compute(n) { n }
}
server "cutter" {
  fn compute(n) { n }
}
`)
	r := do(t, "GET", app.urls["api"]+"/c", "")
	if want := "/rpc/compute: the connection closed before an answer came (the peer stopped or crashed; the call may have run, so it is not sent again)"; !strings.Contains(r.body, want) || !strings.Contains(r.body, "admin:xxxxx@") {
		t.Errorf("GET /c = %s, want …%s, the password redacted", r.body, want)
	}
	if r := do(t, "GET", app.urls["api"]+"/cut", ""); !strings.Contains(r.body, "/rpc/compute: the connection closed before the whole answer came (its status came, and its body was cut short) (the peer stopped or crashed") {
		t.Errorf("GET /cut = %s, want the answer cut short", r.body)
	}
	cutHeaders.Store(true)
	if r := do(t, "GET", app.urls["api"]+"/cut", ""); !strings.Contains(r.body, "/rpc/compute: the server's answer is cut short or malformed in its headers (the call may have run, so it is not sent again)") {
		t.Errorf("GET /cut, its headers cut = %s", r.body)
	}
	if strings.Contains(r.body+app.logs.String(), "S3CRET") {
		t.Errorf("the URL's password shows: %s", r.body)
	}
	if n := accepted.Load(); n != 1 {
		t.Errorf("the call was sent %d times: the function may have run", n)
	}
	if r := do(t, "GET", app.urls["slow"]+"/s", ""); r.status != 503 {
		t.Errorf("GET /s = %d %s", r.status, r.body)
	}
	waitFor(t, func() bool {
		return len(logged(app.logs, "RPC other.wait: stopped: the calling request's deadline passed")) == 1
	})
}

// A call to a peer that refuses connections is sent three times (100
// and 200 ms apart), then fails naming the URL.
func TestPeerCallConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	app := startApp(t, `
server "api" {
  discover "worker" at "http://`+addr+`" with { threshold: 1 }
  route GET "/c" => fn() {
    try { worker.compute(1) } catch e { e.message }
  }
}
server "worker" {
  fn compute(n) { n }
}
`)
	start := time.Now()
	r := do(t, "GET", app.urls["api"]+"/c", "")
	if want := `"RPC worker.compute failed: POST http://` + addr + "/rpc/compute: connection refused"; !strings.HasPrefix(r.body, want) {
		t.Errorf("GET /c = %s, want %s…connection refused", r.body, want)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("answered in %v: the call was not sent again", d)
	}
	if r := do(t, "GET", app.urls["api"]+"/c", ""); r.body != `"RPC worker.compute: circuit breaker open for worker"` {
		t.Errorf("after a failure with failure_threshold 1: %s", r.body)
	}
}

// The guide's discover block compiles, starts, and is not warned of as
// not applied; its health path is polled, and the peer's state logged.
func TestDiscoverGuideBlock(t *testing.T) {
	app := startApp(t, `
server "api" {
  discover "worker" {
    url: "http://localhost:3002",
    health: "/health",
    circuit_breaker: {
      failure_threshold: 3,
      reset_timeout: 30.seconds
    }
  }
  route GET "/" => fn() "ok"
}
server "worker" {
  port 3002
  health "/health"
}
`, func(o *Options) { o.Ports = map[string]int{"api": 0, "worker": 0} })
	if r := do(t, "GET", app.urls["api"]+"/", ""); r.status != 200 {
		t.Fatalf("GET / = %d %s", r.status, r.body)
	}
	if w := logged(app.logs, notAppliedMsg); len(w) > 0 {
		t.Errorf("warned of as not applied: %v", w)
	}
	if w := logged(app.logs, unknownKeyMsg); len(w) > 0 {
		t.Errorf("unknown keys: %v", w)
	}
}

// health is polled every health_interval: a peer answering it is logged
// healthy, one that does not as failing.
func TestDiscoverHealthPolled(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	app := startApp(t, `
server "api" {
  discover "worker" { health: "/health", health_interval: 50.milliseconds }
}
server "other" {
  discover "worker" { url: "http://`+closed+`", health: "/health", health_interval: 50 }
}
server "worker" {
  health "/health"
}
`)
	waitFor(t, func() bool {
		return len(logged(app.logs, "peer healthy")) > 0 && len(logged(app.logs, "peer health check failing")) > 0
	})
	if rec := logged(app.logs, "peer healthy")[0]; rec["server"] != "api" || rec["peer"] != "worker" {
		t.Errorf("healthy logged as %v", rec)
	}
	if rec := logged(app.logs, "peer health check failing")[0]; rec["server"] != "other" || rec["level"] != "warn" {
		t.Errorf("failing logged as %v", rec)
	}
}

// A bad value in a discover block is a start-up error naming the block
// and the key, quoting the value as written (a url "http://" was shown
// as "http:") and the bound a count passed.
func TestDiscoverBadValues(t *testing.T) {
	for _, c := range []struct{ block, want string }{
		{`url: "ftp://x"`, `app.tova:3:28: discover "worker": url: "ftp://x" is not an absolute http or https URL`},
		{`url: 3002`, `app.tova:3:28: discover "worker": url: expected an http or https URL String`},
		// (url: env("WORKER_URL") of an unset variable: "got nil", with no word of why)
		{`url: nil`, `app.tova:3:28: discover "worker": url: expected an http or https URL String such as "http://localhost:3002", got nil: is the environment variable it reads set?`},
		// (an unset Option env, None: the key was dropped, and the peer
		// called at its default URL)
		{`url: None`, `app.tova:3:28: discover "worker": url: expected an http or https URL String such as "http://localhost:3002", got None: is the environment variable it reads set?`},
		{`circuit_breaker: { failure_threshold: -1 }`, `app.tova:3:61: discover "worker": circuit_breaker.failure_threshold: must be a positive Int no greater than 1048576, got -1`},
		{`failure_threshold: 99999999999999999`, `app.tova:3:42: discover "worker": failure_threshold: must be a positive Int no greater than 1048576, got 99999999999999999`},
		{`url: "http://"`, `app.tova:3:28: discover "worker": url: "http://" is not an absolute http or https URL`},
		{`url: "http://u:secret@/x"`, `app.tova:3:28: discover "worker": url: "http://u:xxxxx@/x" is not an absolute http or https URL`},
		{`url: "u:secret@example.com/x"`, `app.tova:3:28: discover "worker": url: "u:xxxxx@example.com/x" is not an absolute http or https URL`},
		// (it said "got 2")
		{`failure_threshold: 2.0`, `app.tova:3:42: discover "worker": failure_threshold: must be a positive Int no greater than 1048576, got 2.0`},
		{`circuit_breaker: { half_open_requests: 0 }`, `app.tova:3:62: discover "worker": circuit_breaker.half_open_requests: must be a positive Int no greater than 1048576, got 0`},
		{`circuit_breaker: { reset_timeout: -5.seconds }`, `app.tova:3:57: discover "worker": circuit_breaker.reset_timeout: must be a positive duration`},
		{`timeout: "soon"`, `app.tova:3:32: discover "worker": timeout: expected a duration`},
		{`health: "health"`, `app.tova:3:31: discover "worker": health: expected a path such as "/health"`},
		// A setting given twice: one of the two was dropped, unsaid.
		{`threshold: 2, failure_threshold: 5`, `app.tova:3:34: discover "worker": threshold: failure_threshold sets the same setting: give one of the two`},
		{`failure_threshold: 2, circuit_breaker: { failure_threshold: 5 }`, `app.tova:3:83: discover "worker": circuit_breaker.failure_threshold: failure_threshold sets the same setting`},
		{`reset_timeout: 1.seconds, circuit_breaker: { reset_timeout: 2.seconds }`, `circuit_breaker.reset_timeout: reset_timeout sets the same setting`},
	} {
		src := "\nserver \"api\" {\n  discover \"worker\" { " + c.block + " }\n}\nserver \"worker\" {\n  fn f() { 1 }\n}\n"
		err := startError(t, src)
		if err == nil {
			continue
		}
		var se *StartupError
		if !errors.As(err, &se) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %s", c.block, err, c.want)
		}
	}
}

// A function's Result or Option result arrives as that variant (it
// arrived as its JSON form, {value: 50}, and a match on Ok and Err
// failed); nested ones cross as JSON gives them, as documented.
func TestPeerCallResultVariants(t *testing.T) {
	app := startApp(t, `
server "api" {
  route GET "/charge/:amount" => fn(amount: Int) {
    match payments.charge(amount) {
      Ok(id) => { charged: id }
      Err(msg) => respond(402, { error: msg })
    }
  }
  route GET "/lookup/:id" => fn(id: Int) {
    match payments.lookup(id) {
      Some(p) => { found: p }
      None => respond(404, { error: "none" })
    }
  }
  route GET "/plain" => fn() payments.plain()
}
server "payments" {
  fn charge(amount: Int) -> Result<Int, String> {
    if amount > 100 { Err("declined") } else { Ok(amount * 10) }
  }
  fn lookup(id: Int) -> Option<Int> {
    if id == 1 { Some(42) } else { None }
  }
  fn plain() { { value: 1 } }
}`)
	u := app.urls["api"]
	for path, want := range map[string]string{
		"/charge/5":   `200 {"charged":50}`,
		"/charge/500": `402 {"error":"declined"}`,
		"/lookup/1":   `200 {"found":42}`,
		"/lookup/2":   `404 {"error":"none"}`,
		"/plain":      `200 {"value":1}`,
	} {
		if r := do(t, "GET", u+path, ""); fmt.Sprintf("%d %s", r.status, r.body) != want {
			t.Errorf("GET %s: %d %s, want %s", path, r.status, r.body, want)
		}
	}
}

// A health path that answers a redirect is failing (a non-2xx answer):
// the probe followed it, and logged the other URL's answer as healthy.
func TestDiscoverHealthRedirectIsFailing(t *testing.T) {
	app := startApp(t, `
server "api" {
  discover "worker" { health: "/health", health_interval: 50.milliseconds }
}
server "worker" {
  route GET "/health" => fn() redirect("/moved")
  route GET "/moved" => fn() { { status: "ok" } }
}
`)
	waitFor(t, func() bool { return len(logged(app.logs, "peer health check failing")) > 0 })
	if rec := logged(app.logs, "peer health check failing")[0]; rec["status"] != float64(302) {
		t.Errorf("failing logged as %v", rec)
	}
	if l := logged(app.logs, "peer healthy"); len(l) > 0 {
		t.Errorf("a redirect logged as healthy: %v", l)
	}
}

// A probe has its 2 s whatever the interval: a health path answering in
// 300 ms is healthy under a 100 ms health_interval (it failed, cut at the
// interval), and probes do not pile up at the peer meanwhile.
func TestDiscoverHealthProbeOutlastsItsInterval(t *testing.T) {
	app := startApp(t, `
server "api" {
  discover "worker" { health: "/health", health_interval: 100.milliseconds }
}
server "worker" {
  var inflight = 0
  var most = 0
  route GET "/health" => fn() {
    inflight += 1
    most = max(most, inflight)
    sleep(300)
    inflight -= 1
    "ok"
  }
  route GET "/most" => fn() most
}
`)
	waitFor(t, func() bool { return len(logged(app.logs, "peer healthy")) > 0 })
	time.Sleep(time.Second)
	if l := logged(app.logs, "peer health check failing"); len(l) > 0 {
		t.Errorf("a probe answered in 300 ms logged as failing: %v", l)
	}
	if r := do(t, "GET", app.urls["worker"]+"/most", ""); r.body != "1" {
		t.Errorf("at most %s probes at once at the peer, want 1", r.body)
	}
}

// A peer running apart whose port is a constant or an env of the top
// level (`port WORKER_PORT`) is reached there: every process computes
// the top level alike. It was called at 3000 + its place (3001 here),
// where it did not listen.
func TestDiscoverPeerWithComputedPortApart(t *testing.T) {
	worker := startApp(t, `
env WORKER_PORT: Int = 1
server "api" {
  route GET "/a" => fn() { worker.f(1) }
}
server "worker" {
  port WORKER_PORT
  fn f(n) { n + 1 }
}
`, func(o *Options) { o.Servers = []string{"worker"} })
	port := strings.TrimPrefix(worker.urls["worker"], "http://127.0.0.1:")
	for _, top := range []string{"env WORKER_PORT: Int = 1", "WORKER_PORT = int(\"" + port + "\") ?? 0"} {
		src := top + `
server "api" {
  route GET "/a" => fn() { worker.f(1) }
}
server "worker" {
  port WORKER_PORT
  fn f(n) { n + 1 }
}
`
		app := startApp(t, src, func(o *Options) {
			o.Servers = []string{"api"}
			o.Getenv = func(k string) (string, bool) { return port, k == "WORKER_PORT" }
		})
		if r := do(t, "GET", app.urls["api"]+"/a", ""); r.status != 200 || r.body != "2" {
			t.Errorf("%s: GET /a = %d %s, want 2", top, r.status, r.body)
		}
	}
}

// A peer running apart that computes its port in its own block (port
// base + 46) listens where no other process knows: a call says so,
// instead of going to the port of its place in the file (3001 here);
// PORT_<NAME> places it.
func TestDiscoverPeerWithPortOfItsOwnApart(t *testing.T) {
	const src = `
server "api" {
  route GET "/a" => fn() { try { worker.f(1) } catch e { e.message } }
}
server "worker" {
  base = 0
  port base + 0
  fn f(n) { n + 1 }
}
`
	unplacedPeer(t, src, `RPC worker.f: server worker's port is an expression (port BASE + 1, port env(...)), which a server running apart does not compute: give discover "worker" { url: ... } or set PORT_WORKER, or declare its port as a number or as one name of the program's top level (WORKER_PORT = BASE + 1 at the top, then port WORKER_PORT)`)
	// In one process, it is reached where it listens.
	both := startApp(t, src)
	if r := do(t, "GET", both.urls["api"]+"/a", ""); r.body != "2" {
		t.Errorf("in one process: GET /a = %d %s, want 2", r.status, r.body)
	}
}

// unplacedPeer serves src's api apart from its worker, whose port it
// cannot know: GET /a answers want; then the worker runs apart, and an
// api given its port by PORT_WORKER reaches it. It returns the port.
func unplacedPeer(t *testing.T, src, want string) string {
	t.Helper()
	app := startApp(t, src, func(o *Options) { o.Servers = []string{"api"} })
	if r := do(t, "GET", app.urls["api"]+"/a", ""); r.body != strconv.Quote(want) {
		t.Errorf("GET /a = %d %s, want %q", r.status, r.body, want)
	}
	worker := startApp(t, src, func(o *Options) { o.Servers = []string{"worker"} })
	port := strings.TrimPrefix(worker.urls["worker"], "http://127.0.0.1:")
	placed := startApp(t, src, func(o *Options) {
		o.Servers = []string{"api"}
		o.Getenv = func(k string) (string, bool) { return port, k == "PORT_WORKER" }
	})
	if r := do(t, "GET", placed.urls["api"]+"/a", ""); r.body != "2" {
		t.Errorf("with PORT_WORKER: GET /a = %d %s, want 2", r.status, r.body)
	}
	return port
}

// A peer running apart that declares `port 0` listens where its process
// picked at start: a call to it says so, and how to place it, instead of
// going to the port of its place in the file (3001 here), where anything
// may listen; PORT_<NAME> places it.
func TestDiscoverPeerWithPortZeroApart(t *testing.T) {
	const src = `
server "api" {
  route GET "/a" => fn() { try { worker.f(1) } catch e { e.message } }
}
server "worker" {
  port 0
  fn f(n) { n + 1 }
}
`
	port := unplacedPeer(t, src, `RPC worker.f: server worker declares port 0, a port its process picks at start, which a server running apart cannot know: give discover "worker" { url: ... } or set PORT_WORKER`)
	// Read as the worker's own process reads it: " 8081" and "+8081"
	// are 8081 (the caller put the text in the URL, which was refused).
	for _, written := range []string{" " + port + " ", "+" + port} {
		spaced := startApp(t, src, func(o *Options) {
			o.Servers = []string{"api"}
			o.Getenv = func(k string) (string, bool) { return written, k == "PORT_WORKER" }
		})
		if r := do(t, "GET", spaced.urls["api"]+"/a", ""); r.body != "2" {
			t.Errorf("with PORT_WORKER=%q: GET /a = %d %s, want 2", written, r.status, r.body)
		}
	}
}

// An RPCError for a peer's answer that is not 2xx carried neither the
// status nor the body: a caller could tell a 409 from a 404 only by
// reading the message. err.value is { status, body }.
func TestPeerCallFailureValue(t *testing.T) {
	app := startApp(t, `
server "orders" {
  fn place(n) {
    try { inventory.reserve("W1", n) }
    catch e { { kind: e.kind, message: e.message, value: e.value } }
  }
  route GET "/place/:n" => fn(n: Int) place(n)
}
server "inventory" {
  fn reserve(sku: String, qty: Int) {
    if qty > 2 { respond(409, { error: "out of stock", sku: sku, available: 2 }) }
    else { text("plain refusal", 400) }
  }
}
`)
	for path, want := range map[string]string{
		"/place/5": `{"kind":"RPCError","message":"RPC inventory.reserve failed: 409 out of stock","value":{"status":409,"body":{"error":"out of stock","sku":"W1","available":2}}}`,
		"/place/1": `{"kind":"RPCError","message":"RPC inventory.reserve failed: 400 plain refusal","value":{"status":400,"body":"plain refusal"}}`,
	} {
		if r := do(t, "GET", app.urls["orders"]+path, ""); r.status != 200 || r.body != want {
			t.Errorf("GET %s = %d %s\nwant %s", path, r.status, r.body, want)
		}
	}
}

// A malformed PORT_<NAME> of a peer running apart was said at each
// call, as a URL that does not parse: it stops the start-up, naming
// the variable, as the server's own PORT_<NAME> does.
func TestDiscoverBadPeerPortIsAStartupError(t *testing.T) {
	const calls = `
server "api" {
  route GET "/d" => fn() { pay_svc.ok() }
}
server "pay_svc" {
  fn ok() { "pay ok" }
}
`
	start := func(src, port string) error {
		p, err := driver.CompileFile("app.tova", []byte(src))
		if err != nil {
			t.Fatalf("compile: %v", err)
		}
		rt, err := Start(p, Options{Host: "127.0.0.1", Ports: map[string]int{"api": 0}, Servers: []string{"api"},
			Logger: zerolog.Nop(), Stdout: io.Discard,
			Getenv: func(k string) (string, bool) { return port, k == "PORT_PAY_SVC" }})
		if err == nil {
			rt.Shutdown(context.Background())
		}
		return err
	}
	for _, port := range []string{"abc", "99999", "-1"} {
		err := start(calls, port)
		var se *StartupError
		want := fmt.Sprintf("PORT_PAY_SVC=%q is not a port number (where this server calls server pay_svc)", port)
		if !errors.As(err, &se) || !strings.Contains(err.Error(), want) {
			t.Errorf("PORT_PAY_SVC=%s: %v, want %s", port, err, want)
		}
	}
	// Port 0 is any free port to the peer's own process: out of reach
	// of a server running apart, where the start-up let it through and
	// each call went to localhost:0.
	for _, port := range []string{"0", " 0", "+0"} {
		err := start(calls, port)
		var se *StartupError
		want := fmt.Sprintf("PORT_PAY_SVC=%q is port 0, which server pay_svc's own process takes as any free port", port)
		if !errors.As(err, &se) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "(where this server calls server pay_svc)") {
			t.Errorf("PORT_PAY_SVC=%q: %v, want %s", port, err, want)
		}
	}
	// In the same process, 0 is the peer's own port: the call reaches it.
	app := startApp(t, calls, func(o *Options) {
		o.Ports = map[string]int{"api": 0}
		o.Getenv = func(k string) (string, bool) { return "0", k == "PORT_PAY_SVC" }
	})
	if r := do(t, "GET", app.urls["api"]+"/d", ""); r.status != 200 || r.body != `"pay ok"` {
		t.Errorf("both servers, PORT_PAY_SVC=0: GET /d = %d %s", r.status, r.body)
	}
	// Not read: a discover url places the peer, or no server calls it.
	withURL := strings.Replace(calls, `route GET`, `discover "pay_svc" { url: "http://127.0.0.1:1" }
  route GET`, 1)
	uncalled := strings.Replace(calls, `pay_svc.ok()`, `"no call"`, 1)
	for _, src := range []string{withURL, uncalled} {
		if err := start(src, "abc"); err != nil {
			t.Errorf("%s: %v", src, err)
		}
	}
}

// A result over the size a call reads failed the call as if the peer
// were down, and two of them opened the breaker of a healthy peer: the
// peer answered, the caller's error names the limit and the breaker
// stays closed.
func TestPeerCallAnswerOverTheLimitIsNoPeerFailure(t *testing.T) {
	app := startApp(t, `
server "api" {
  discover "worker" { circuit_breaker: { failure_threshold: 2, reset_timeout: 30.seconds } }
  route GET "/big/:n" => fn(n: Int) {
    try { len(worker.bigs(n)) } catch e { e.message }
  }
}
server "worker" {
  fn bigs(n: Int) { "x" * n }
}
`)
	for _, s := range app.rt.Servers() {
		if s.Name == "api" {
			s.peers.byName["worker"].maxAnswer = 1000
		}
	}
	api := app.urls["api"]
	for range 3 {
		r := do(t, "GET", api+"/big/2000", "")
		if r.body != `"RPC worker.bigs: the answer (200) is over the limit of 1000 bytes a call reads from another server (the function ran): return less, or a page of it at a time"` {
			t.Fatalf("GET /big/2000 = %d %s", r.status, r.body)
		}
	}
	if r := do(t, "GET", api+"/big/3", ""); r.body != "3" {
		t.Errorf("GET /big/3 after three answers over the limit = %d %s, want 3 (the breaker closed)", r.status, r.body)
	}
}

// Every setting takes an Option env's value as what it holds, at any
// depth (the guide's optional configuration): a discover block's
// circuit_breaker.failure_threshold, max_body, the db block's pool
// refused Some(x); `port P` of a None is as if no port were given.
func TestSettingsFromOptionEnv(t *testing.T) {
	app := startApp(t, `
env TH: Option<Int> = None
env LIMIT: Option<Int> = None
env POOL: Option<Int> = None
db { database: "app.db", pool: POOL }
model Note { text: String }
server "api" {
  max_body LIMIT
  discover "worker" {
    circuit_breaker: { failure_threshold: TH, reset_timeout: 1.minute, half_open_requests: 1 }
  }
  route POST "/notes" => fn(text: String) Note.create({ text }).id
  route GET "/call" => fn() { try { worker.boom() } catch e { e.message } }
}
server "worker" {
  fn boom() { throw "down" }
}
`, func(o *Options) {
		o.Dir = t.TempDir()
		o.Getenv = func(k string) (string, bool) {
			v, ok := map[string]string{"TH": "1", "LIMIT": "100", "POOL": "3"}[k]
			return v, ok
		}
	})
	api := app.urls["api"]
	if r := do(t, "POST", api+"/notes", `{"text":"a"}`, "Content-Type", "application/json"); r.status != 200 || r.body != "1" {
		t.Errorf("a small body: %d %s", r.status, r.body)
	}
	if r := do(t, "POST", api+"/notes", `{"text":"`+strings.Repeat("a", 100)+`"}`, "Content-Type", "application/json"); r.status != 413 {
		t.Errorf("a body over max_body: %d %s", r.status, r.body)
	}
	if r := do(t, "GET", api+"/call", ""); !strings.Contains(r.body, "500") {
		t.Errorf("call 1: %s", r.body)
	}
	if r := do(t, "GET", api+"/call", ""); r.body != `"RPC worker.boom: circuit breaker open for worker"` {
		t.Errorf("call 2, past failure_threshold 1: %s", r.body)
	}
	// None, at any depth, is as if not given: the defaults apply (the
	// server refused to start, "expected …, got nil")
	none := startApp(t, `
env M: Option<Int> = None
env AGE: Option<Duration> = None
env ORIGINS: Option<String> = None
env N: Option<Int> = None
server {
  max_body M
  sessions { secret: "a-very-long-session-secret-for-tests", max_age: AGE }
  cors { origins: [ORIGINS, "https://a.example"] }
  rate_limit { requests: N, window: 1.minute }
  route GET "/" => fn() "up"
}
`)
	if r := do(t, "GET", none.urls[""]+"/", "", "Origin", "https://a.example"); r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != "https://a.example" {
		t.Errorf("None settings: %d %s %v", r.status, r.body, r.header)
	}
	for _, env := range []string{"", "8123"} {
		app := startApp(t, "env P: Option<Int> = None\nserver {\n  port P\n  route GET \"/\" => fn() 1\n}", func(o *Options) {
			o.Getenv = func(k string) (string, bool) { return env, k == "P" && env != "" }
		})
		if r := do(t, "GET", app.urls[""]+"/", ""); r.body != "1" {
			t.Errorf("port P, P=%q: %d %s", env, r.status, r.body)
		}
	}
}

// A misspelt key of a discover block's circuit_breaker is warned of with
// the key it may have meant, as the block's own keys are (it had only
// the known ones, and the default threshold applied unnoticed).
func TestDiscoverBreakerKeyDidYouMean(t *testing.T) {
	app := startApp(t, `
server "api" {
  discover "worker" { url: "http://127.0.0.1:1", helth: "/health", circuit_breaker: { failur_threshold: 3 } }
  route GET "/" => fn() "ok"
}
server "worker" {
  fn f(n) { n }
}
`, func(o *Options) { o.Ports = map[string]int{"api": 0, "worker": 0} })
	got := map[string]any{}
	for _, rec := range logged(app.logs, unknownKeyMsg) {
		got[fmt.Sprint(rec["key"])] = rec["did_you_mean"]
	}
	if got["helth"] != "health" || got["circuit_breaker.failur_threshold"] != "failure_threshold" {
		t.Errorf("unknown keys warned of: %v", got)
	}
}

// A call is sent again only when it certainly did not run: no
// connection made, the peer's 503 saying so, or the kept-alive
// connection closed by the peer before the call was sent on it (Go's
// "server closed idle connection", a peer's drain beginning); not when
// the connection closed after the call was sent.
func TestRetryableFailures(t *testing.T) {
	dial := &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}
	for _, c := range []struct {
		err  error
		want bool
	}{
		{&rpcFailure{msg: "RPC w.f failed: " + dial.Error(), cause: dial}, true},
		{&rpcFailure{msg: "RPC w.f failed: Post \"http://x/rpc/f\": http: server closed idle connection", cause: errors.New("http: server closed idle connection")}, true},
		{&rpcFailure{msg: "RPC w.f failed: POST http://x/rpc/f: the connection closed before an answer came", cause: io.EOF}, false},
		{&rpcFailure{timeout: true, msg: "RPC w.f timed out"}, false},
		{&rpcFailure{status: 500, msg: "RPC w.f failed: 500"}, false},
	} {
		if got := retryable(nil, c.err); got != c.want {
			t.Errorf("retryable(%q) = %v", c.err, got)
		}
	}
}
