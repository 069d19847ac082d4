package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"tova/bytecode"
	"tova/driver"
	"tova/internal/testutil"
)

// A background fn's and a subscriber's typed parameters take back what
// was sent, as a call's from another server do: Some and None, records,
// Results; an untyped one gets the wire form (Some(x) is x, None nil);
// one that does not convert fails the job for good, naming the
// parameter; a nil stays nil. The forms an earlier version stored
// Options in are taken.
func TestJobArgumentsTyped(t *testing.T) {
	app := startApp(t, `
type Note { text: String, n: Int }
server {
  var got = []
  background fn remind(due: Option<Int>) {
    got = [...got, match due { Some(d) => "due in {d}", None => "no due" }]
  }
  background fn note(n: Note, r: Result<Int, String>) { got = [...got, "{type_of(n)} {n.text} {r}"] }
  background fn plain(x) { got = [...got, "plain {x}"] }
  background fn count(n: Int) { got = [...got, "count {n}"] }
  subscribe "noted" fn(n: Note) { got = [...got, if n == nil { "event nil" } else { "event {type_of(n)} {n.n}" }] }
  route GET "/go" => fn() {
    spawn_job(remind, Some(3))
    spawn_job(remind, None)
    spawn_job(note, Note(text: "x", n: 1), Err("e"))
    spawn_job(plain, Some(5))
    spawn_job(count, "many")
    spawn_job(count, nil)
    publish("noted", Note(text: "y", n: 2))
    publish("noted")
    // (as a job stored by an earlier version kept Some(7) and None)
    spawn_job(remind, { value: 7 })
    spawn_job(remind, { __tag: "None" })
    "queued"
  }
  route GET "/got" => fn() sorted(got)
}`, func(o *Options) { o.Dir = t.TempDir() })
	if r := do(t, "GET", app.urls[""]+"/go", ""); r.status != 200 {
		t.Fatalf("GET /go: %d %s", r.status, r.body)
	}
	want := `["Note x Err(\"e\")","count nil","due in 3","due in 7","event Note 2","event nil","no due","no due","plain 5"]`
	var body string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if body = do(t, "GET", app.urls[""]+"/got", "").body; body == want {
			break
		}
	}
	if body != want {
		t.Fatalf("the jobs saw %s, want %s\n%s", body, want, app.logs)
	}
	failed := func() bool {
		// (the kind apart, as a handler's failure is logged)
		return strings.Contains(app.logs.String(), `"in":"job count"`) && strings.Contains(app.logs.String(), `"kind":"TypeError"`) &&
			strings.Contains(app.logs.String(), `"message":"the arguments do not fit the parameters' types: n must be`)
	}
	defer func() {
		// Not retried: every attempt would fail the same way.
		if !strings.Contains(app.logs.String(), `"stack":"  at count (app.tova:`) {
			t.Errorf("the failure names no position of the fn:\n%s", app.logs)
		}
		if n := strings.Count(app.logs.String(), `"in":"job count"`); n != 1 || !strings.Contains(app.logs.String(), `"will_retry":false`) {
			t.Errorf("the job whose argument does not convert was logged %d times, or as to be retried:\n%s", n, app.logs)
		}
	}()
	waitFor(t, failed)
	if !failed() {
		t.Fatalf("a job whose argument does not convert: no failure logged naming it:\n%s", app.logs)
	}
}

// A job spawned, or an event published, while serving a request keeps
// that request's id: its failures are logged with it, a job it spawns
// keeps it too, and its calls to another server send it as their
// X-Request-ID. (Their log lines had no request id, and such a call a
// new one.) A job spawned by on_start has none, and its calls get a new
// one each.
func TestJobsKeepTheirRequestID(t *testing.T) {
	app := startApp(t, `
server "api" {
  jobs { max_attempts: 2, backoff: 0.01 }
  on_start fn() { spawn_job(lone, 3) }
  background fn lone(x) {
    notify.record("lone {x}")
    throw "lone failed for {x}"
  }
  background fn work(x) {
    if job_attempt() == 1 {
      notify.record("job {x}")
      spawn_job(again, x)
    }
    throw "job failed for {x}"
  }
  background fn again(x) {
    notify.record("again {x}")
    Err("again failed for {x}")
  }
  subscribe "evt" fn(x) {
    notify.record("event {x}")
    throw "subscriber failed for {x}"
  }
  route POST "/go" => fn() {
    spawn_job(work, 1)
    publish("evt", 2)
    "queued"
  }
}
server "notify" {
  var ids = []
  fn record(req, what) { ids = [...ids, "{what} {req.id}"] }
  route GET "/ids" => fn() sorted(ids)
}`, func(o *Options) { o.Dir = t.TempDir() })
	if r := do(t, "POST", app.urls["api"]+"/go", "", "X-Request-ID", "trace-abc-123"); r.status != 200 {
		t.Fatalf("POST /go: %d %s", r.status, r.body)
	}
	failures := func() map[string][]map[string]any { return testutil.ErrorLines(app.logs.String()) }
	waitFor(t, func() bool {
		f := failures()
		return len(f["job work"]) == 2 && len(f["job again"]) == 2 && len(f["subscribe evt"]) == 2 && len(f["job lone"]) == 2
	})
	for in, recs := range failures() {
		want := "trace-abc-123"
		if in == "job lone" {
			want = "" // spawned outside a request
		}
		if len(recs) != 2 {
			t.Errorf("%s: %d failures logged, want 2 (both attempts):\n%s", in, len(recs), app.logs)
		}
		for _, rec := range recs {
			if got, _ := rec["request_id"].(string); got != want {
				t.Errorf("%s (attempt %v) logged request_id %q, want %q:\n%s", in, rec["attempt"], got, want, app.logs)
			}
		}
	}
	var ids []string
	if err := json.Unmarshal([]byte(do(t, "GET", app.urls["notify"]+"/ids", "").body), &ids); err != nil {
		t.Fatal(err)
	}
	var lone []string
	for _, id := range ids {
		if rest, ok := strings.CutPrefix(id, "lone 3 "); ok {
			lone = append(lone, rest)
			continue
		}
		if !strings.HasSuffix(id, " trace-abc-123") {
			t.Errorf("a call from a job or a subscriber of the request arrived as %q, want its id trace-abc-123 (all: %q)", id, ids)
		}
	}
	if len(lone) != 2 || lone[0] == lone[1] || lone[0] == "trace-abc-123" {
		t.Errorf("the calls of a job spawned by on_start arrived with ids %q, want a new one each", lone)
	}
}

// request_id() is the id of the request served, and in a job the id of
// the request that spawned it, which a fetch can send to be traced (a
// job had no way to learn it); nil outside both.
func TestRequestIDBuiltin(t *testing.T) {
	app := startApp(t, `
server "api" {
  on_start fn() { print("start id={request_id()}") }
  background fn work(u: String) {
    fetch(u, { method: "POST", headers: { "X-Request-ID": request_id() ?? "none" } })
  }
  route POST "/go" => fn(u: String) {
    spawn_job(work, u)
    request_id()
  }
}
server "notify" {
  var ids = []
  route POST "/hook" => fn(req) { ids = [...ids, req.id] }
  route GET "/ids" => fn() ids
}`, func(o *Options) { o.Dir = t.TempDir() })
	if !strings.Contains(app.stdout.String(), "start id=nil") {
		t.Errorf("on_start's request_id(): %q", app.stdout.String())
	}
	body := `{"u":"` + app.urls["notify"] + `/hook"}`
	if r := do(t, "POST", app.urls["api"]+"/go", body, "X-Request-ID", "trace-job-7", "Content-Type", "application/json"); r.status != 200 || r.body != `"trace-job-7"` {
		t.Fatalf("POST /go: %d %s", r.status, r.body)
	}
	waitFor(t, func() bool { return do(t, "GET", app.urls["notify"]+"/ids", "").body != "[]" })
	if r := do(t, "GET", app.urls["notify"]+"/ids", ""); r.body != `["trace-job-7"]` {
		t.Errorf("the job's fetch arrived with ids %s, want the request's", r.body)
	}
}

// spawn_job and publish in on_stop failed ("the jobs runtime of server
// has stopped") and the work was lost: the queue stopped before on_stop
// ran, and its database closed with it. What on_stop hands over is
// stored, and the next start of the program runs it.
func TestOnStopSpawnsForTheNextStart(t *testing.T) {
	dir := t.TempDir()
	src := `
server {
  background fn flush(x) { print("flushed {x}") }
  subscribe "stopping" fn(e) { print("heard {e.why}") }
  on_stop fn() {
    spawn_job(flush, "buffer")
    publish("stopping", { why: "shutdown" })
    print("on_stop done")
  }
}`
	first := startApp(t, src, func(o *Options) { o.Dir = dir })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	first.rt.Shutdown(ctx)
	if !strings.Contains(first.stdout.String(), "on_stop done") || strings.Contains(first.logs.String(), `"level":"error"`) {
		t.Fatalf("on_stop failed:\n%s\n%s", first.stdout, first.logs)
	}
	next := startApp(t, src, func(o *Options) { o.Dir = dir })
	ran := func() bool {
		out := next.stdout.String()
		return strings.Contains(out, "flushed buffer") && strings.Contains(out, "heard shutdown")
	}
	for deadline := time.Now().Add(10 * time.Second); !ran() && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if out := next.stdout.String(); !strings.Contains(out, "flushed buffer") || !strings.Contains(out, "heard shutdown") {
		t.Fatalf("the next start did not run what on_stop stored:\n%s\n%s", out, next.logs)
	}
}

// publish("topic", …) of a literal topic no subscribe names is warned
// of when the program compiles, with the nearest topic that has one:
// its events reach no one (a misspelt topic broke a chain silently).
func TestUnheardTopicWarned(t *testing.T) {
	p, err := driver.CompileFile("w.tova", []byte(`server {
  subscribe "payment_check" fn(e) { print(e) }
  route POST "/p" => fn() { publish("payment_chek", { id: 1 }); publish("payment_check", {}); "ok" }
  route POST "/q" => fn(topic) { publish(topic, {}) }
}
`))
	if err != nil {
		t.Fatal(err)
	}
	got := warningLines(p)
	if want := `3:37: warning: publish "payment_chek": no subscribe of this program names the topic: its events reach no one (did you mean "payment_check"?)`; strings.Join(got, "\n") != want {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), want)
	}
	// A payload is one value: publish("t", 1, 2) failed every time it
	// ran, and compiled without a word.
	_, err = driver.CompileFile("w.tova", []byte(`server {
  subscribe "t" fn(e) { print(e) }
  route POST "/p" => fn() publish("t", 1, 2)
}
`))
	if want := `w.tova:3:43: publish takes a topic and one payload, not 3 arguments: give several values as one object (publish("t", { a, b }))`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("publish of 3 arguments: %v, want %s", err, want)
	}
}

// spawn_job("w") in a server that declares no w, while several other
// servers do, is warned of: the runtime cannot tell whose is meant, and
// each call failed without a word at compile time. A server declaring
// its own is not.
func TestSpawnJobOfAmbiguousNameWarned(t *testing.T) {
	p, err := driver.CompileFile("w.tova", []byte(`server "a" {
  background fn w(x) { print(x) }
  route GET "/" => fn() { spawn_job("w", 1) }
}
server "b" {
  background fn w(x) { print(x) }
}
server "c" {
  route GET "/" => fn() { spawn_job("w", 1) }
}
`))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(warningLines(p), "\n"), `9:37: warning: spawn_job "w": background fn w is declared in several servers ("a", "b") and not in this one, which cannot tell whose is meant: each call fails (declare it in one server only, or call a function of the server that runs it)`; got != want {
		t.Errorf("warnings:\n%s\nwant:\n%s", got, want)
	}
}

// spawn_job of a name no background fn of the program has is warned of,
// naming the one meant: each call failed, without a word at compile
// time (a misspelt publish topic was already).
func TestSpawnJobOfUnknownNameWarned(t *testing.T) {
	p, err := driver.CompileFile("w.tova", []byte(`server {
  background fn send_email(to) { print(to) }
  route POST "/a" => fn() { spawn_job("send_emial", "x") }
  route POST "/b" => fn() { spawn_job("send_email", "x") }
  route POST "/c" => fn() { spawn_job(send_email, "x") }
}
`))
	if err != nil {
		t.Fatal(err)
	}
	got := warningLines(p)
	if want := `3:39: warning: spawn_job "send_emial": no background fn of this program has the name: each call fails (did you mean "send_email"?)`; strings.Join(got, "\n") != want {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), want)
	}
}

// warningLines are p's warnings as line:col: message.
func warningLines(p *bytecode.Program) []string {
	var got []string
	for _, w := range p.Warnings {
		got = append(got, fmt.Sprintf("%d:%d: %s", w.Pos.Line, w.Pos.Col, w.Msg))
	}
	return got
}

// req.session read by a server with no session block is warned of: it
// is nil there, and req.session.get(...) failed every request with
// "cannot call method get on nil". A top-level block is every server's.
func TestSessionWithoutBlockWarned(t *testing.T) {
	p, err := driver.CompileFile("w.tova", []byte(`server "a" {
  route GET "/cart" => fn(req) req.session.get("cart")
}
server "b" {
  sessions { secret: "0123456789abcdef0123456789abcdef" }
  route GET "/cart" => fn(req) req.session.get("cart")
}
`))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(warningLines(p), "\n"), `2:32: warning: req.session is nil: the server a has no session block (session { secret: env("SESSION_SECRET") })`; got != want {
		t.Errorf("warnings:\n%s\nwant:\n%s", got, want)
	}
	p, err = driver.CompileFile("w.tova", []byte(`session { secret: "0123456789abcdef0123456789abcdef" }
server {
  route GET "/cart" => fn(req) req.session.get("cart")
}
`))
	if err != nil || len(warningLines(p)) != 0 {
		t.Errorf("with a top-level block: %v %v", err, warningLines(p))
	}
}

// spawn_job(f(x)) is refused only where f is the background fn (it ran
// the job in the request): a parameter of that name is the program's
// A background fn of another server named as a builtin global (process,
// console) is that server's job: spawn_job gave the builtin, a
// TypeError at every call.
func TestSpawnJobOfAnotherServersFnNamedAsABuiltin(t *testing.T) {
	app := startApp(t, `
server "api" {
  route POST "/b" => fn() { { id: spawn_job(process, 1) } }
}
server "worker" {
  background fn process(n) { print("process {n}") }
}`, func(o *Options) { o.Dir = t.TempDir() })
	if r := do(t, "POST", app.urls["api"]+"/b", ""); r.status != 200 {
		t.Fatalf("POST /b: %d %s", r.status, r.body)
	}
	waitFor(t, func() bool { return strings.Contains(app.stdout.String(), "process 1") })
}

// own function value, and compiles.
func TestSpawnJobOfACall(t *testing.T) {
	if _, err := driver.CompileFile("app.tova", []byte("server {\n  background fn make(to) { to }\n  route GET \"/x\" => fn() {\n    f = fn(make) spawn_job(make(1))\n    1\n  }\n}\n")); err != nil {
		t.Errorf("a parameter shadowing the background fn: %v", err)
	}
	_, err := driver.CompileFile("app.tova", []byte("server {\n  background fn make(to) { to }\n  route GET \"/x\" => fn() { spawn_job(make(1)) }\n}\n"))
	if err == nil || !strings.Contains(err.Error(), "spawn_job(make(...)) calls make now, in this request") {
		t.Errorf("spawn_job(make(1)): %v", err)
	}
}
