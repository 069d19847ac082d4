package serve

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"tova/driver"
	"tova/netio"
)

// A 503 that on_error gave after the function ran was sent again, so
// one call ran the function three times: only the runtime's own "not
// run" answer is retried.
func TestPeerCallNotRetriedAfterOnError503(t *testing.T) {
	app := startApp(t, `
server "api" {
  route GET "/boom" => fn() {
    try { worker.boom() } catch e { e.message }
  }
  route GET "/count" => fn() worker.count()
}
server "worker" {
  var calls = 0
  on_error fn(err, req) { respond(503, {e: 1}) }
  fn boom() {
    calls += 1
    throw "down"
  }
  fn count() { calls }
}
`)
	if r := do(t, "GET", app.urls["api"]+"/boom", ""); r.body != `"RPC worker.boom failed: 503 {\"e\":1}"` {
		t.Errorf("GET /boom = %d %s", r.status, r.body)
	}
	if r := do(t, "GET", app.urls["api"]+"/count", ""); r.body != "1" {
		t.Errorf("the function ran %s times, want 1", r.body)
	}
}

// A called function's on_error (or middleware) that put X-Tova-Not-Run
// on its 503 made the caller run the function three times, and a
// function answering a redirect to a closed port had the caller follow
// it, take the dial error there as "not run", and call again: the
// header is the runtime's alone (netio drops it from a handler's
// answer), and a call's redirect is its answer.
func TestPeerCallNotRetriedOnAnswersOfUserCode(t *testing.T) {
	app := startApp(t, `
server "api" {
  route GET "/boom" => fn() {
    try { worker.boom() } catch e { e.message }
  }
  route GET "/away" => fn() {
    try { worker.away() } catch e { e.message }
  }
  route GET "/count" => fn() worker.count()
}
server "worker" {
  var calls = 0
  on_error fn(err, req) { respond(503, {e: 1}, {"X-Tova-Not-Run": "1"}) }
  fn boom() {
    calls += 1
    throw "down"
  }
  fn away() {
    calls += 1
    redirect("http://127.0.0.1:1/nowhere", 302)
  }
  fn count() { calls }
}
`)
	if r := do(t, "GET", app.urls["api"]+"/boom", ""); r.body != `"RPC worker.boom failed: 503 {\"e\":1}"` {
		t.Errorf("GET /boom = %d %s", r.status, r.body)
	}
	if r := do(t, "GET", app.urls["api"]+"/away", ""); !strings.Contains(r.body, "RPC worker.away failed: 302") {
		t.Errorf("GET /away = %d %s", r.status, r.body)
	}
	if r := do(t, "GET", app.urls["api"]+"/count", ""); r.body != "2" {
		t.Errorf("the functions ran %s times, want 2", r.body)
	}
}

// peerStub starts an HTTP server answering every request with status,
// body and the header h (when not empty), and counts the requests.
func peerStub(t *testing.T, status int, body string, h string) (string, *atomic.Int64) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if h != "" {
			w.Header().Set(h, "1")
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &hits
}

// A 503 SHUTTING_DOWN of a draining peer that had started the function
// (its request stopped by the drain) was sent again, and another
// instance ran the function a second time: a 502, 503 or 504 is sent
// again only when it carries the runtime's X-Tova-Not-Run.
func TestPeerCallRetriesOnlyNotRunAnswers(t *testing.T) {
	const stopped = `{"error":{"code":"SHUTTING_DOWN","message":"Server is shutting down"},"request_id":"x"}`
	for _, c := range []struct {
		status   int
		header   string
		wantHits int64
	}{
		{503, "", 1},
		{503, netio.HeaderNotRun, 3},
		{502, "", 1},
		{504, "", 1},
	} {
		url, hits := peerStub(t, c.status, stopped, c.header)
		app := startApp(t, `
server "api" {
  discover "worker" { url: "`+url+`" }
  route GET "/c" => fn() {
    try { worker.compute(1) } catch e { e.message }
  }
}
server "worker" {
  fn compute(n) { n }
}
`)
		r := do(t, "GET", app.urls["api"]+"/c", "")
		if want := fmt.Sprintf(`"RPC worker.compute failed: %d Server is shutting down"`, c.status); r.body != want {
			t.Errorf("%d %s: GET /c = %s, want %s", c.status, c.header, r.body, want)
		}
		if n := hits.Load(); n != c.wantHits {
			t.Errorf("%d %s: sent %d times, want %d", c.status, c.header, n, c.wantHits)
		}
	}
}

const wireApp = `
type P { name: String, nick: Option<String> }
server "api" {
  route GET "/none" => fn() worker.optarg(None)
  route GET "/some" => fn() worker.optarg(Some(3))
  route GET "/rec" => fn() worker.takep(P(name: "a", nick: Some("x")))
  route GET "/recnone" => fn() worker.takep(P(name: "a", nick: None))
  route GET "/ok" => fn() worker.takeres(Ok(2))
  route GET "/err" => fn() worker.takeres(Err("bad"))
  route GET "/giveopt" => fn() { [worker.giveopt(true), worker.giveopt(false)] }
  route GET "/optlist" => fn() worker.optlist([Some(1), None, Some(3)])
  route GET "/fnarg" => fn() {
    try { worker.echo(fn(x) { x }) } catch e { "{e.kind}: {e.message}" }
  }
  route GET "/fnfield" => fn() {
    try { worker.echo({f: fn(x) x}) } catch e { "{e.kind}: {e.message}" }
  }
  route GET "/fnresult" => fn() {
    try { worker.givefn() } catch e { "{e.kind}: {e.message}" }
  }
  route GET "/nanarg" => fn() {
    var x = 1e308 * 10.0
    try { worker.echo({ v: [x - x] }) } catch e { "{e.kind}: {e.message}" }
  }
  route GET "/nanseq" => fn() {
    var x = 1e308 * 10.0
    try { worker.echo(iter([1.5, x - x])) } catch e { "{e.kind}: {e.message}" }
  }
  route GET "/infresult" => fn() {
    try { worker.giveinf() } catch e { "{e.kind}: {e.message}" }
  }
  route GET "/deep" => fn() {
    var v = 1
    for i in range(0, 600) { v = [v] }
    try { worker.echo(v) } catch e { "{e.kind}: {e.message}" }
  }
  route GET "/made" => fn() worker.made()
  route GET "/missing" => fn() {
    try { worker.missing() } catch e { "{e.kind}: {e.message}" }
  }
  route GET "/count" => fn() worker.count()
}
server "worker" {
  var calls = 0
  fn optarg(o: Option<Int>) {
    match o { Some(n) => n * 2, None => "none" }
  }
  fn takep(p: P) {
    match p.nick { Some(n) => "{p.name}/{n}", None => "{p.name}/-" }
  }
  fn takeres(r: Result<Int, String>) {
    match r { Ok(n) => n + 1, Err(e) => "err {e}" }
  }
  fn optlist(xs: [Option<Int>]) {
    xs.map(fn(x) match x { Some(n) => n, None => 0 })
  }
  fn giveopt(b) { if b { Some({n: Some(1), m: None}) } else { None } }
  fn echo(x) {
    calls += 1
    x
  }
  fn givefn() {
    calls += 1
    fn(x) x
  }
  fn giveinf() { calls += 1; -1e308 * 10.0 }
  fn made() { respond(201, {made: true}) }
  fn missing() { respond(404, {error: "no such thing"}) }
  fn count() { calls }
}
`

// Option values, records with Option fields and Results could not be
// passed to parameters of those types (None went as {"__tag":"None"},
// Some(3) as {"value":3}, and the callee answered 400): a function is
// callable with values of its own declared types.
func TestPeerCallOptionAndResultValuesCross(t *testing.T) {
	app := startApp(t, wireApp)
	api := app.urls["api"]
	for path, want := range map[string]string{
		"/none":    `"none"`,
		"/some":    "6",
		"/rec":     `"a/x"`,
		"/recnone": `"a/-"`,
		"/ok":      "3",
		"/err":     `"err bad"`,
		// the results are Some({...}) and None again (nested Options
		// cross as JSON gives them), which a list answers as JSON writes them
		"/giveopt": `[{"value":{"n":1,"m":null}},{"__tag":"None"}]`,
		"/optlist": `[1,0,3]`, // None in a list reached [Option<Int>] as null, refused
	} {
		if r := do(t, "GET", api+path, ""); r.status != 200 || r.body != want {
			t.Errorf("GET %s = %d %s, want %s", path, r.status, r.body, want)
		}
	}
}

// A function was sent as null (an argument, a field of one, a result):
// it is a TypeError at the call, and a result that is one fails the
// call in the callee.
func TestPeerCallFunctionCannotBeSent(t *testing.T) {
	app := startApp(t, wireApp)
	api := app.urls["api"]
	for path, want := range map[string]string{
		"/fnarg":    `"TypeError: RPC worker.echo: argument 1 is a Function: a Function cannot be sent to another server"`,
		"/fnfield":  `"TypeError: RPC worker.echo: argument 1 (at f) is a Function: a Function cannot be sent to another server"`,
		"/fnresult": `"RPCError: RPC worker.givefn failed: 500 Internal Server Error"`,
		// (it said "cyclic?" of a value that was only deep)
		"/deep": `"ValueError: RPC worker.echo: argument 1 is nested more than 512 levels deep, or holds itself: it cannot be sent to another server"`,
		// (Infinity and NaN, which JSON has no form for, arrived as nil)
		"/nanarg": `"ValueError: RPC worker.echo: argument 1 (at v[0]) is NaN: JSON has no form for a Float that is not finite (Infinity, -Infinity, NaN), so it cannot be sent to another server"`,
		// (in a lazy sequence, which only its encoding runs)
		"/nanseq":    `"ValueError: RPC worker.echo: a value is NaN: JSON has no form for a Float that is not finite (Infinity, -Infinity, NaN)"`,
		"/infresult": `"RPCError: RPC worker.giveinf failed: 500 Internal Server Error"`,
	} {
		if r := do(t, "GET", api+path, ""); r.status != 200 || r.body != want {
			t.Errorf("GET %s = %d %s, want %s", path, r.status, r.body, want)
		}
	}
	if r := do(t, "GET", api+"/count", ""); r.body != "2" {
		t.Errorf("the peer was called %s times, want 2 (the arguments were not sent)", r.body)
	}
	// logged with the function's declaration (its stack was empty)
	line := strings.Count(wireApp[:strings.Index(wireApp, "  fn givefn()")], "\n") + 1
	givefnAt := fmt.Sprintf("%d:3", line)
	if recs := logged(app.logs, "rpc givefn: the result is a Function: a Function cannot be sent to another server"); len(recs) != 1 || recs[0]["at"] != "app.tova:"+givefnAt || recs[0]["stack"] != "  at givefn (app.tova:"+givefnAt+")" {
		t.Errorf("the callee did not log its result's TypeError where givefn is; logs:\n%s", app.logs)
	}
	if recs := logged(app.logs, "rpc giveinf: the result is -Infinity: JSON has no form for a Float that is not finite (Infinity, -Infinity, NaN), so it cannot be sent to another server"); len(recs) != 1 {
		t.Errorf("the callee did not log its result's ValueError; logs:\n%s", app.logs)
	}
}

// A called function returning respond(201, …) failed in the callee
// (its response value could not be serialised): a 2xx response's body
// is the result, another status an RPCError with its message.
func TestPeerCallResponseValues(t *testing.T) {
	app := startApp(t, wireApp)
	api := app.urls["api"]
	if r := do(t, "GET", api+"/made", ""); r.status != 200 || r.body != `{"made":true}` {
		t.Errorf("GET /made = %d %s", r.status, r.body)
	}
	if r := do(t, "GET", api+"/missing", ""); r.body != `"RPCError: RPC worker.missing failed: 404 no such thing"` {
		t.Errorf("GET /missing = %d %s", r.status, r.body)
	}
}

// A 2xx answer that is not {"result": …} (a proxy's {}, another
// service's {"value": 1}) gave the caller nil: it is an RPCError.
func TestPeerCallAnswerWithoutResult(t *testing.T) {
	for _, body := range []string{`{}`, `{"value":1}`, `{"result":1,"extra":2}`} {
		url, _ := peerStub(t, 200, body, "")
		app := startApp(t, `
server "api" {
  discover "worker" { url: "`+url+`" }
  route GET "/c" => fn() {
    try { worker.compute(1) } catch e { "{e.kind}: {e.message}" }
  }
}
server "worker" {
  fn compute(n) { n }
}
`)
		r := do(t, "GET", app.urls["api"]+"/c", "")
		if !strings.HasPrefix(r.body, `"RPCError: RPC worker.compute: answer without a result`) {
			t.Errorf("%s: GET /c = %s", body, r.body)
		}
	}
}

// A variant passed to a peer's function whose parameter has its type
// arrives as that variant: it came as the plain object of its JSON form
// ({__tag: "Circle", r: 2}), and the callee's match on its own type
// failed with 500. A String names a variant without fields, as a query
// parameter does.
func TestPeerCallVariantValuesCross(t *testing.T) {
	app := startApp(t, `
type Shape { Circle(r: Float), Square(s: Float), Dot }
type Item { name: String, shape: Shape }
server "api" {
  route GET "/circle" => fn() worker.area(Circle(2.0))
  route GET "/square" => fn() worker.area(Square(3.0))
  route GET "/dot" => fn() worker.area(Dot)
  route GET "/item" => fn() worker.item_area(Item("pin", Square(2.0)))
}
server "worker" {
  fn area(s: Shape) {
    match s {
      Circle(r) => r * r * 3
      Square(x) => x * x
      Dot => 0
    }
  }
  fn item_area(it: Item) { "{it.name} {area(it.shape)}" }
  route GET "/kind" => fn(s: Shape) {
    match s { Dot => "dot", _ => "other" }
  }
}`)
	api := app.urls["api"]
	for path, want := range map[string]string{"/circle": "12", "/square": "9", "/dot": "0", "/item": `"pin 4"`} {
		if r := do(t, "GET", api+path, ""); r.status != 200 || r.body != want {
			t.Errorf("GET %s = %d %s, want %s", path, r.status, r.body, want)
		}
	}
	w := app.urls["worker"]
	if r := do(t, "GET", w+"/kind?s=Dot", ""); r.status != 200 || r.body != `"dot"` {
		t.Errorf("GET /kind?s=Dot = %d %s", r.status, r.body)
	}
	if r := do(t, "GET", w+"/kind?s=Blob", ""); r.status != 400 || !strings.Contains(r.body, "s must be a Shape (Circle, Square, Dot)") {
		t.Errorf("GET /kind?s=Blob = %d %s", r.status, r.body)
	}
}

// Two servers each declaring a type of one name: a parameter of the
// second's type takes its variants (the first's were asked for, and a
// valid value answered 400).
func TestVariantParameterOfASecondTypeOfTheName(t *testing.T) {
	app := startApp(t, `
server "a" {
  type Msg { Ping, Pong }
  route GET "/a" => fn(m: Msg) { match m { Ping => "ping", _ => "pong" } }
}
server "b" {
  type Msg { Hello(who: String), Bye }
  route POST "/m" => fn(m: Msg) { match m { Hello(who) => "hello {who}", _ => "bye" } }
  route GET "/m" => fn(m: Msg) { match m { Bye => "bye", _ => "other" } }
}`)
	if r := do(t, "POST", app.urls["b"]+"/m", `{"m":{"__tag":"Hello","who":"x"}}`, "Content-Type", "application/json"); r.status != 200 || r.body != `"hello x"` {
		t.Errorf("POST /m = %d %s", r.status, r.body)
	}
	if r := do(t, "GET", app.urls["b"]+"/m?m=Bye", ""); r.status != 200 || r.body != `"bye"` {
		t.Errorf("GET /m?m=Bye = %d %s", r.status, r.body)
	}
	if r := do(t, "GET", app.urls["a"]+"/a?m=Ping", ""); r.status != 200 || r.body != `"ping"` {
		t.Errorf("GET /a?m=Ping = %d %s", r.status, r.body)
	}
}

// A function that returns a fetch's response answers a call as it
// answers as a route's handler: a 2xx one's body is the result, another
// status the caller's RPCError (it failed: cannot serialise
// FetchResponse, a 500 that counted against the caller's breaker).
func TestPeerCallPassesOnAFetchResponse(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/plain" {
			w.Write([]byte("from fetch"))
			return
		}
		http.Error(w, "no such thing", 404)
	}))
	defer up.Close()
	app := startApp(t, `
server "api" {
  route GET "/ok" => fn() worker.proxy("/plain")
  route GET "/missing" => fn() { try { worker.proxy("/nothing") } catch e { e.message } }
}
server "worker" {
  fn proxy(path: String) { fetch("`+up.URL+`{path}") }
}
`)
	if r := do(t, "GET", app.urls["api"]+"/ok", ""); r.status != 200 || r.body != `"from fetch"` {
		t.Errorf("GET /ok = %d %s", r.status, r.body)
	}
	if r := do(t, "GET", app.urls["api"]+"/missing", ""); r.body != `"RPC worker.proxy failed: 404 no such thing"` {
		t.Errorf("GET /missing = %d %s", r.status, r.body)
	}
}

// A nil or None given for a typed parameter with a default gives the
// default, as a handler's parameter does (it was "a is required").
func TestPeerCallNilTakesTheDefault(t *testing.T) {
	app := startApp(t, `
server "api" {
  route GET "/nil" => fn() worker.g(nil, 5)
  route GET "/none" => fn() worker.g(None)
  route GET "/given" => fn() worker.g(7, 1)
  route GET "/required" => fn() { try { worker.h(nil) } catch e { e.message } }
  route GET "/rest" => fn() worker.r(nil, 1, 2)
}
server "worker" {
  fn g(a: Int = 3, b: Int = 2) { a * 10 + b }
  fn r(a: Int = 3, ...more) { [a, more] }
  fn h(a: Int) { a }
}
`)
	for path, want := range map[string]string{"/nil": "35", "/none": "32", "/given": "71", "/required": `"RPC worker.h failed: 400 Validation failed: a is required"`,
		// (the default, and the rest still reach the rest parameter:
		// they were dropped)
		"/rest": `[3,[1,2]]`} {
		if r := do(t, "GET", app.urls["api"]+path, ""); r.status != 200 || r.body != want {
			t.Errorf("GET %s = %d %s, want %s", path, r.status, r.body, want)
		}
	}
}

// A variant given to a handler's parameter has its fields checked
// against their types, as a record's are: they came as they were, and a
// Circle with r "x" (or none) failed in the handler, 500.
func TestVariantParameterFieldsAreChecked(t *testing.T) {
	app := startApp(t, `
type Shape { Circle(r: Float), Label(text: String, size: Int?), Sized(n: Int = 12), Dot }
server {
  route POST "/area" => fn(s: Shape) {
    match s {
      Circle(r) => r * 2.0
      Label(text, size) => "{text} {size}"
      Sized(n) => n
      Dot => 0
    }
  }
}`)
	u := app.urls[""]
	for body, want := range map[string]string{
		`{"s":{"__tag":"Circle","r":2}}`:                   `200 4`,
		`{"s":{"__tag":"Circle","r":"1.5"}}`:               `200 3`,
		`{"s":{"__tag":"Dot"}}`:                            `200 0`,
		`{"s":{"__tag":"Label","text":"hi"}}`:              `200 "hi None"`,
		`{"s":{"__tag":"Label","text":"hi","size":3}}`:     `200 "hi Some(3)"`,
		`{"s":{"__tag":"Sized"}}`:                          `200 12`, // (the default, as the constructor gives it)
		`{"s":{"__tag":"Circle","r":"x"}}`:                 `400 s.r must be a number`,
		`{"s":{"__tag":"Circle"}}`:                         `400 s.r is required`,
		`{"s":{"__tag":"Label","text":"hi","size":"big"}}`: `400 s.size must be an integer`,
	} {
		r := do(t, "POST", u+"/area", body, "Content-Type", "application/json")
		got := fmt.Sprint(r.status, " ", r.body)
		if want[:3] == "400" {
			if r.status != 400 || !strings.Contains(r.body, want[4:]) {
				t.Errorf("POST %s = %s, want %s", body, got, want)
			}
		} else if got != want {
			t.Errorf("POST %s = %s, want %s", body, got, want)
		}
	}
}

// Named arguments of a call to another server's function bind to its
// parameters, as in a local call: the caller's compiler knows the
// declaration. One left out between two given takes its default, and
// named arguments no parameter has go into a trailing destructured
// parameter.
func TestPeerCallNamedArguments(t *testing.T) {
	app := startApp(t, `
server "api" {
  route GET "/named" => fn() worker.pair(b: 2, a: 1)
  route GET "/mixed" => fn() worker.pair(1, b: 2)
  route GET "/hole" => fn() worker.three(a: 1, c: 3)
  route GET "/typed" => fn() worker.flag(urgent: true, n: 4)
  route GET "/opts" => fn() worker.connect("h", port: 8080, tls: true)
  fn say(x) { print("eval {x}"); x }
  route GET "/order" => fn() worker.pair(b: say("B"), a: say("A"))
}
server "worker" {
  fn pair(a, b = 0) { { a: a, b: b } }
  fn three(a, b = "dflt", c = 0) { [a, b, c] }
  fn flag(n: Int, urgent: Bool) { "{n} {urgent}" }
  fn connect(host, { port, tls }) { "{host}:{port} {tls}" }
}
`)
	u := app.urls["api"]
	for path, want := range map[string]string{
		"/named": `{"a":1,"b":2}`,
		"/mixed": `{"a":1,"b":2}`,
		"/hole":  `[1,"dflt",3]`,
		"/typed": `"4 true"`,
		"/opts":  `"h:8080 true"`,
		"/order": `{"a":"A","b":"B"}`,
	} {
		if r := do(t, "GET", u+path, ""); r.status != 200 || r.body != want {
			t.Errorf("GET %s = %d %s, want %s", path, r.status, r.body, want)
		}
	}
	// The arguments are computed in the order written, as in a local call.
	if out := app.stdout.String(); out != "eval B\neval A\n" {
		t.Errorf("printed %q, want the arguments computed in the order written", out)
	}
	// A body of the parameters by name leaves out those it does not give.
	if r := do(t, "POST", app.urls["worker"]+"/rpc/three", `{"a": 1, "c": 3}`, "X-Tova-Call", "1"); r.body != `{"result":[1,"dflt",3]}` {
		t.Errorf("POST /rpc/three by name = %d %s", r.status, r.body)
	}
	for src, want := range map[string]string{
		"worker.pair(a: 1, c: 2)":  "app.tova:2:44: worker.pair has no parameter named c (its parameters: a, b)",
		"worker.pair(a: 1, bb: 2)": "worker.pair has no parameter named bb (did you mean b?)",
		"worker.pair(1, a: 2)":     "argument a given twice",
	} {
		_, err := driver.CompileFile("app.tova", []byte("server \"api\" {\n  route GET \"/x\" => fn() "+src+"\n}\nserver \"worker\" {\n  fn pair(a, b = 0) { a }\n}\n"))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %s, want %q", src, err, want)
		}
	}
}

// A parameter typed Duration or Size of a called function received the
// Int it crossed as (milliseconds, bytes), and `d > 1.minute` failed:
// it is the Duration or Size again, at any depth, as a handler's
// parameter of the type takes milliseconds or text (30s) and bytes.
func TestPeerCallDurationAndSizeCross(t *testing.T) {
	app := startApp(t, `
type Job { every: Duration, room: Size? }
server "api" {
  route GET "/d" => fn() worker.long(90.seconds)
  route GET "/s" => fn() worker.big(5.megabytes)
  route GET "/frac" => fn() worker.long(1.millisecond + 1.second / 2000)
  route GET "/deep" => fn() worker.deep([1.second, 2.seconds], Some(3.kilobytes), Job(every: 1.minute, room: Some(1.byte)))
  route GET "/h/:d" => fn(d: Duration, s: Size = 0.bytes) "{type_of(d)} {d} {type_of(s)} {s}"
}
server "worker" {
  fn long(d: Duration) { "{d > 1.minute} {d}" }
  fn big(s: Size) { "{s > 1.megabyte} {s}" }
  fn deep(ds: [Duration], s: Option<Size>, j: Job) {
    [...ds |> map(fn(d) type_of(d)), type_of(s.unwrap()), type_of(j.every), type_of(j.room.unwrap())]
  }
}
`)
	u := app.urls["api"]
	for path, want := range map[string]string{
		"/d":             `"true 1m30s"`,
		"/s":             `"true 5MB"`,
		"/frac":          `"false 1ms500us"`,
		"/deep":          `["Duration","Duration","Size","Duration","Size"]`,
		"/h/1500?s=2048": `"Duration 1s500ms Size 2KB"`,
		"/h/1h30m":       `"Duration 1h30m Size 0B"`,
		"/h/1d12h":       `"Duration 1d12h Size 0B"`, // (as it prints: it was refused)
	} {
		if r := do(t, "GET", u+path, ""); r.status != 200 || r.body != want {
			t.Errorf("GET %s = %d %s, want %s", path, r.status, r.body, want)
		}
	}
	if r := do(t, "GET", u+"/h/soon", ""); r.status != 400 || !strings.Contains(r.body, "d must be a duration") {
		t.Errorf("GET /h/soon = %d %s", r.status, r.body)
	}
}

// A whole Float crossed as an integer (4 / 2 as 2, 1e18 as
// 1000000000000000000), which the other side read as an Int: r / 0 was
// a ZeroDivisionError and r * 100 an OverflowError where the local call
// gave Infinity and 1e20. A Float arrives a Float, an argument or a
// result; an ordinary answer still writes it as JSON.stringify does.
func TestPeerCallFloatsStayFloats(t *testing.T) {
	app := startApp(t, `
server "api" {
  route GET "/ratio" => fn() {
    r = worker.ratio(4, 2)
    "{type_of(r)} {r / 0}"
  }
  route GET "/big" => fn() {
    r = worker.big()
    "{type_of(r)} {r * 100}"
  }
  route GET "/echo" => fn() worker.echo([2.0, 3, -0.0, { f: 1e18 }])
  route GET "/plain" => fn() [2.0, 1e18]
}
server "worker" {
  fn ratio(a: Int, b: Int) { a / b }
  fn big() { 1e18 }
  fn echo(v) { v |> map(fn(x) type_of(x)) }
}
`)
	u := app.urls["api"]
	for path, want := range map[string]string{
		"/ratio": `"Float Infinity"`,
		"/big":   `"Float 100000000000000000000"`,
		"/echo":  `["Float","Int","Float","Object"]`,
		"/plain": `[2,1000000000000000000]`,
	} {
		if r := do(t, "GET", u+path, ""); r.status != 200 || r.body != want {
			t.Errorf("GET %s = %d %s, want %s", path, r.status, r.body, want)
		}
	}
}
