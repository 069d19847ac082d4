package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"tova/driver"
	"tova/internal/testutil"
)

// A route is isolated (runs without the server's GIL) only if nothing
// it can reach writes server state, whatever order the routes are asked
// about in: with a and b calling each other and only a writing, a route
// reaching a only through b is not isolated either. (Asking about /x
// first once left b marked isolated, and /y then ran unlocked: lost
// updates, and a fatal concurrent map write for an object.) Pure mutual
// recursion stays isolated.
func TestIsolationFollowsMutualRecursion(t *testing.T) {
	app := startApp(t, `server {
  var count = 0
  fn a(n) {
    if n > 0 { b(n - 1) } else { count = count + 1 }
    0
  }
  fn b(n) { a(n) }
  fn even(n) { if n == 0 { true } else { odd(n - 1) } }
  fn odd(n) { if n == 0 { false } else { even(n - 1) } }
  route POST "/x" => fn() { a(1) }
  route POST "/y" => fn() { b(1) }
  route GET "/even/:n" => fn(n: Int) { even(n) }
  route GET "/r" => fn() { count }
}`)
	srv := app.rt.Servers()[0]
	want := map[string]bool{"/x": false, "/y": false, "/even/:n": true, "/r": false}
	for _, rt := range srv.desc.Routes {
		if got := srv.inst.Isolated(srv.inst.Globals[rt.Slot]); got != want[rt.Path] {
			t.Errorf("%s %s: isolated %v, want %v", rt.Method, rt.Path, got, want[rt.Path])
		}
	}
	u := app.urls[""]
	hammer(t, 64, 50, func(int, int) {
		if r := do(t, "POST", u+"/y", ""); r.status != 200 {
			t.Errorf("POST /y: %d %s", r.status, r.body)
		}
	})
	if r := do(t, "GET", u+"/r", ""); r.body != "3200" {
		t.Errorf("count after 3200 updates through b: %s", r.body)
	}
}

// A function made at run time (partial, memoize, once, compose, ...)
// holds what it wraps: a route reading one from a module slot, or using
// one as a guard, runs with the GIL, as one reading an object does.
// Shared by 16 clients without it, `partial(put, store)` crashed the
// process (concurrent map writes) and `memoize` lost pushes.
func TestWrappedFunctionsAreNotIsolated(t *testing.T) {
	app := startApp(t, `store = {}
put = partial(fn(o, k, v) { o[k] = v }, store)
get_list = memoize(fn(k) { [] })
registry = once(fn() { r = {}; r })
rec = fn(req, res) { store["g"] = (store["g"] ?? 0) + 1; true }
check = partial(rec)
size = len
server {
  route GET "/put/:n" => fn(n: Int) { for j in 0..50 { put("k{n}_{j}", j) }; n }
  route GET "/push" => fn() { l = get_list("x"); for j in 0..50 { l.push(j) }; 1 }
  route GET "/reg/:n" => fn(n: Int) { r = registry(); for j in 0..50 { r["k{n}_{j}"] = j }; n }
  route GET "/g" with check => fn() 1
  route GET "/len" => fn() { size("abc") }
  route GET "/counts" => fn() { [len(store), len(get_list("x")), len(registry())] }
}`)
	srv := app.rt.Servers()[0]
	want := map[string]bool{"/put/:n": false, "/push": false, "/reg/:n": false, "/len": true, "/counts": false}
	for _, rt := range srv.desc.Routes {
		if w, ok := want[rt.Path]; ok && srv.inst.Isolated(srv.inst.Globals[rt.Slot]) != w {
			t.Errorf("%s: isolated %v, want %v", rt.Path, !w, w)
		}
	}
	u := app.urls[""]
	hammer(t, 16, 10, func(c, i int) {
		n := c*10 + i
		for _, path := range []string{fmt.Sprintf("/put/%d", n), "/push", fmt.Sprintf("/reg/%d", n), "/g"} {
			if r := do(t, "GET", u+path, ""); r.status != 200 {
				t.Errorf("GET %s: %d %s", path, r.status, r.body)
			}
		}
	})
	// 160 requests of each: 50 keys each, 50 pushes each, and the guard's
	// count (a key of store too).
	if r := do(t, "GET", u+"/counts", ""); r.body != "[8001,8000,8000]" {
		t.Errorf("counts %s, want [8001,8000,8000]", r.body)
	}
}

// once(f) called by several requests at once runs f once; the others
// wait for its value with the GIL released, so a first call that gives
// way (a long loop) does not wedge the server. A call from inside f
// itself gets nil rather than waiting for ever.
func TestOnceUnderConcurrentRequests(t *testing.T) {
	app := startApp(t, `server {
  var runs = 0
  var hits = 0
  load = once(fn() { runs += 1; var s = 0; for j in 0..`+slowSize()[:len(slowSize())-2]+` { s += 1 }; s })
  again = once(fn() { again() })
  route GET "/o" => fn() { hits += 1; load() }
  route GET "/again" => fn() { again() }
  route GET "/runs" => fn() { runs }
}`, func(o *Options) { o.RequestTimeout = 5 * time.Second })
	u := app.urls[""]
	var bodies sync.Map
	hammer(t, 8, 1, func(c, i int) {
		r := do(t, "GET", u+"/o", "")
		if r.status != 200 {
			t.Errorf("GET /o: %d %s", r.status, r.body)
		}
		bodies.Store(r.body, true)
	})
	n := 0
	bodies.Range(func(any, any) bool { n++; return true })
	if r := do(t, "GET", u+"/runs", ""); r.body != "1" || n != 1 {
		t.Errorf("runs %s, distinct answers %d; want 1 and 1", r.body, n)
	}
	if r := do(t, "GET", u+"/again", ""); r.status != 200 || r.body != "null" {
		t.Errorf("GET /again: %d %s", r.status, r.body)
	}
}

// A read-modify-write of server state that calls a function in the
// middle (`todos = [...todos, make_todo(id)]`, `count += one()` after
// some work) loses no update: the GIL's holder gives way at backward
// jumps, and at calls only after many slices.
func TestNoLostUpdatesThroughCalls(t *testing.T) {
	app := startApp(t, `fn make_todo(id) { { id, done: false } }
fn one() { 1 }
server {
  var todos = []
  var count = 0
  route POST "/a" => fn(req) { todos = [...todos, make_todo(req.id)]; 1 }
  route POST "/c" => fn() { j = [...range(0, 2000)]; count += one(); len(j) }
  route GET "/r" => fn() { { todos: len(todos), count } }
}`)
	u := app.urls[""]
	hammer(t, 64, 60, func(c, i int) {
		path := "/a"
		if (c+i)%2 == 1 {
			path = "/c"
		}
		if r := do(t, "POST", u+path, ""); r.status != 200 {
			t.Errorf("POST %s: %d %s", path, r.status, r.body)
		}
	})
	if r := do(t, "GET", u+"/r", ""); r.body != `{"todos":1920,"count":1920}` {
		t.Errorf("after 1920 appends and 1920 increments: %s", r.body)
	}
}

// A destructuring assignment to server state (`[hits, other] = [hits +
// slow(1), other]`, the object form too) is one step, as any statement
// writing state is: it lost about one update in six.
//
// slow runs past the GIL's slice but far inside the second a statement
// writing state may hold it (under the race detector, 100 000
// iterations on a loaded machine took more than that).
func TestNoLostUpdatesThroughDestructuring(t *testing.T) {
	app := startApp(t, `fn slow(x) {
  var s = 0
  for i in range(0, `+workSize()+`) { s += i }
  x
}
server {
  var hits = 0
  var other = 0
  route POST "/arr" => fn() { [hits, other] = [hits + slow(1), other]; 1 }
  route POST "/obj" => fn() { { hits, other } = { hits: hits + slow(1), other: other + 1 }; 1 }
  route GET "/r" => fn() { { hits, other } }
}`)
	u := app.urls[""]
	hammer(t, 16, 20, func(c, i int) {
		path := []string{"/arr", "/obj"}[(c+i)%2]
		if r := do(t, "POST", u+path, ""); r.status != 200 {
			t.Errorf("POST %s: %d %s", path, r.status, r.body)
		}
	})
	if r := do(t, "GET", u+"/r", ""); r.body != `{"hits":320,"other":160}` {
		t.Errorf("after 320 increments (160 of them of other too): %s", r.body)
	}
}

// A statement that writes server state and hashes a password, or reads
// or replaces a file, is one step too: those builtins let other requests
// run only outside such a statement (sign-ups calling hash_password in
// the statement kept 15 of 100 users).
func TestNoLostUpdatesThroughWork(t *testing.T) {
	dir := t.TempDir()
	app := startApp(t, `server {
  var users = []
  var k = 0
  route POST "/register" => fn(req) { users = [...users, { id: req.id, pw: hash_password("secret") }]; 1 }
  route POST "/read" => fn() { k += len(read("`+filepath.Join(dir, "n.json")+`")) + len(read("`+filepath.Join(dir, "n.csv")+`")) - 1; 1 }
  route POST "/write" => fn() { k += [write([1], "`+filepath.Join(dir, "w.json")+`"), 2][1]; 1 }
  route GET "/r" => fn() { { users: len(users), k } }
}`)
	replaceFile(t, filepath.Join(dir, "n.json"), "[1, 2]")
	replaceFile(t, filepath.Join(dir, "n.csv"), "a\n1\n")
	u := app.urls[""]
	hammer(t, 8, 6, func(c, i int) {
		path := []string{"/register", "/read", "/write"}[(c+i)%3]
		if r := do(t, "POST", u+path, ""); r.status != 200 {
			t.Errorf("POST %s: %d %s", path, r.status, r.body)
		}
	})
	if r := do(t, "GET", u+"/r", ""); r.body != `{"users":16,"k":64}` {
		t.Errorf("after 16 sign-ups, 16 reads and 16 writes: %s", r.body)
	}
}

// A statement writing server state that checks a password against a
// stored hash of ten million rounds (over a second of hashing) is one
// step: the rounds counted as loop iterations made it give way after a
// second, and the writes of the requests waiting meanwhile were lost.
func TestNoLostUpdatesBesideALongHash(t *testing.T) {
	// (over a second of hashing: ten million rounds, a million under the
	// race detector, which slows them some tenfold)
	rounds := "10000000"
	if raceEnabled {
		rounds = "1000000"
	}
	app := startApp(t, `STORED = "pbkdf2:`+rounds+`:00112233445566778899aabbccddeeff:0000000000000000000000000000000000000000000000000000000000000000"
server {
  var n = 0
  route POST "/check" => fn() { n = n + (if verify_password("x", STORED) { 1 } else { 0 }) + 1000000; n }
  route POST "/inc" => fn() { n += 1; n }
  route GET "/n" => fn() n
}`, func(o *Options) { o.RequestTimeout = time.Minute })
	u := app.urls[""]
	done := make(chan reply, 1)
	go func() { done <- do(t, "POST", u+"/check", "") }()
	time.Sleep(100 * time.Millisecond)
	var incs atomic.Int64
	stop := meanwhile(4, func() bool {
		if r := do(t, "POST", u+"/inc", ""); r.status == 200 {
			incs.Add(1)
		}
		return true
	})
	if r := <-done; r.status != 200 {
		t.Fatalf("POST /check: %d %s", r.status, r.body)
	}
	stop()
	if r := do(t, "GET", u+"/n", ""); r.body != strconv.FormatInt(1000000+incs.Load(), 10) {
		t.Errorf("after the check and %d increments: %s", incs.Load(), r.body)
	}
}

// A write to server state through another name loses no update: a
// local bound to it, a helper's parameter, a loop variable. The right
// side runs past the GIL's slice (a loop of some milliseconds), so the
// holder would give way between its read and its write if the statement
// were not one step.
func TestNoLostUpdatesThroughAliases(t *testing.T) {
	app := startApp(t, `fn work() {
  var s = 0
  for i in range(0, `+workSize()+`) { s += 1 }
  1
}
fn bump(o) { o.hits = o.hits + work() }
server {
  var stats = { hits: 0 }
  var items = [{ n: 0 }]
  var byKey = { a: 0 }
  route POST "/alias" => fn() { o = stats; o.hits = o.hits + work(); 1 }
  route POST "/param" => fn() { bump(stats); 1 }
  route POST "/loop" => fn() { for it in items { it.n = it.n + work() }; 1 }
  route POST "/index" => fn() { m = byKey; m["a"] += work(); 1 }
  route GET "/r" => fn() { [stats.hits, items[0].n, byKey.a] }
}`)
	u := app.urls[""]
	paths := []string{"/alias", "/param", "/loop", "/index"}
	postAround(t, u, paths, 32, 12)
	// 384 requests: 96 per path; /alias and /param both count stats.hits.
	if r := do(t, "GET", u+"/r", ""); r.body != "[192,96,96]" {
		t.Errorf("after 192 writes to stats.hits, 96 to items[0].n and 96 to byKey.a: %s", r.body)
	}
}

// A free-function push on server state (push(todos, x), the method's
// other form, also a return's or a var's value) is one step beside a spread that replaces the list, and
// so is a field written through an alias with what a function reads of
// server state (o.hits = cur() + 1): both lost updates.
func TestNoLostUpdatesThroughFreePushAndStateReadingCalls(t *testing.T) {
	app := startApp(t, `fn work(x) {
  var s = 0
  for i in range(0, `+workSize()+`) { s += 1 }
  x
}
server {
  var todos = []
  var stats = { hits: 0 }
  fn cur() { h = stats.hits; work(h) }
  fn set_hits(o) { o.hits = cur() + 1 }
  fn add(l, x) { push(l, x) }
  route POST "/fpush" => fn() { push(todos, work(1)); 1 }
  route POST "/pipe" => fn() { todos |> push(work(1)); 1 }
  route POST "/assign" => fn() { r = todos.push(work(1)); 1 }
  route POST "/helper" => fn() { add(todos, work(1)); 1 }
  route POST "/ret" => fn() { if len(todos) >= 0 { return add(todos, work(1)) }; 1 }
  route POST "/var" => fn() { var n = len(todos.push(work(1))); n }
  route POST "/spread" => fn() { todos = [...todos, 2]; 1 }
  route POST "/alias" => fn() { o = stats; o.hits = cur() + 1; 1 }
  route POST "/param" => fn() { set_hits(stats); 1 }
  route GET "/r" => fn() { [len(todos), stats.hits] }
}`)
	u := app.urls[""]
	paths := []string{"/fpush", "/pipe", "/assign", "/helper", "/ret", "/var", "/spread", "/spread", "/alias", "/param"}
	postAround(t, u, paths, 16, 10)
	// 160 requests: 16 per path.
	if r := do(t, "GET", u+"/r", ""); r.body != "[128,32]" {
		t.Errorf("after 128 pushes and 32 writes of stats.hits: %s", r.body)
	}
}

// An in-place sort with a key function, through an alias or a helper's
// parameter, loses no concurrent push: the key function is Tova code, so
// the sorting thread could give way in the middle of the sort.
func TestNoLostUpdatesThroughSortWithKey(t *testing.T) {
	app := startApp(t, `fn spin(x) {
  var s = 0
  for i in range(0, `+spinSize()+`) { s += 1 }
  x
}
fn sorter(l) { l.sort(fn(x) spin(x)) }
server {
  var st = { list: [...range(0, 10)] }
  route POST "/push" => fn() { st.list.push(999); "ok" }
  route POST "/alias" => fn() { l = st.list; l.sort(fn(x) spin(x)); "ok" }
  route POST "/helper" => fn() { sorter(st.list); "ok" }
  route GET "/len" => fn() { len(st.list) }
}`)
	u := app.urls[""]
	hammer(t, 8, 10, func(c, i int) {
		for _, path := range []string{"/push", []string{"/alias", "/helper"}[c%2]} {
			if r := do(t, "POST", u+path, ""); r.status != 200 {
				t.Errorf("POST %s: %d %s", path, r.status, r.body)
			}
		}
	})
	if r := do(t, "GET", u+"/len", ""); r.body != "90" {
		t.Errorf("after 80 pushes to 10: %s", r.body)
	}
}

// A statement that writes a field of a record the request is building
// (`r.x = work()`) is not one step: long work in it gives way to the
// requests that use server state, as any other statement does.
func TestBuildingARecordDoesNotHoldState(t *testing.T) {
	app := startApp(t, `fn forever() { loop { } }
server {
  var count = 0
  route GET "/run" => fn() { c = count; r = {}; r.x = forever(); r }
  route GET "/count" => fn() { count += 1; count }
}`, func(o *Options) { o.RequestTimeout = 1500 * time.Millisecond })
	u := app.urls[""]
	done := make(chan struct{})
	go func() {
		defer close(done)
		if r := do(t, "GET", u+"/run", ""); r.status != 503 {
			t.Errorf("GET /run: %d, want 503", r.status)
		}
	}()
	time.Sleep(200 * time.Millisecond) // /run is spinning now
	var worst time.Duration
	for i := 0; i < 20; i++ {
		t0 := time.Now()
		if r := do(t, "GET", u+"/count", ""); r.status != 200 {
			t.Fatalf("GET /count: %d %s", r.status, r.body)
		}
		worst = max(worst, time.Since(t0))
	}
	<-done
	if worst > 300*time.Millisecond {
		t.Errorf("GET /count beside a record being built took up to %v", worst)
	}
}

// spinSize is how many iterations make spin() run for about a quarter
// of a millisecond: a sort of a few dozen elements runs past the GIL's
// slice.
func spinSize() string {
	if raceEnabled {
		return "1000"
	}
	return "10000"
}

// workSize is how many iterations make work() run past the GIL's slice
// (2 ms) with room to spare.
func workSize() string {
	if raceEnabled {
		return "20000"
	}
	return "200000"
}

// A statement that writes server state is one step even when the
// request has held the GIL for long before it (one builtin call summing
// 40 million numbers) and the statement calls a function: the holder
// gives way before the statement, not inside it.
func TestWriteStatementAfterLongHoldIsOneStep(t *testing.T) {
	app := startApp(t, `fn one() { 1 }
server {
  var count = 0
  route POST "/slow" => fn() { x = sum(range(0, `+slowSize()+`)); count = count + one(); x }
  route POST "/inc" => fn() { count += 1 }
  route GET "/r" => fn() { count }
}`)
	u := app.urls[""]
	done := make(chan struct{})
	go func() {
		defer close(done)
		hammer(t, 2, 4, func(int, int) { do(t, "POST", u+"/slow", "") })
	}()
	var incs atomic.Int64
	hammer(t, 32, 1<<30, func(c, i int) {
		select {
		case <-done:
			runtime.Goexit()
		default:
		}
		if r := do(t, "POST", u+"/inc", ""); r.status == 200 {
			incs.Add(1)
		}
	})
	want := fmt.Sprint(incs.Load() + 8)
	if r := do(t, "GET", u+"/r", ""); r.body != want {
		t.Errorf("after 8 slow and %d quick increments: %s, want %s", incs.Load(), r.body, want)
	}
}

// hogSize is the length of a list whose sorting holds the GIL for about
// half a second in one builtin call (far past a 50 or 100 ms deadline;
// under load several seconds, within the test client's 10 s).
func hogSize() string {
	if raceEnabled {
		return "150000"
	}
	return "1500000"
}

// slowSize is how many numbers a builtin sums for a request to hold the
// GIL past 100 ms before it writes.
func slowSize() string {
	if raceEnabled {
		return "4000000"
	}
	return "40000000"
}

// hammer runs f(client, i) for each of each requests of clients
// concurrent clients.
// postAround has clients POST each times to u's paths, in turn: every
// answer must be a 200.
func postAround(t *testing.T, u string, paths []string, clients, each int) {
	t.Helper()
	hammer(t, clients, each, func(c, i int) {
		path := paths[(c+i)%len(paths)]
		if r := do(t, "POST", u+path, ""); r.status != 200 {
			t.Errorf("POST %s: %d %s", path, r.status, r.body)
		}
	})
}

// meanwhile runs f in n goroutines, again and again, until f returns
// false or the returned stop is called, which waits for them.
func meanwhile(n int, f func() bool) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				if !f() {
					return
				}
			}
		}()
	}
	return func() {
		close(done)
		wg.Wait()
	}
}

func hammer(t *testing.T, clients, each int, f func(c, i int)) {
	t.Helper()
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				f(c, i)
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
}

// A request whose deadline passes while it waits for the GIL is answered
// 503 and never runs: the change it would have made is not made behind
// its client's back.
func TestRequestPastDeadlineInQueueDoesNotRun(t *testing.T) {
	app := startApp(t, `limits { timeout: 50 }
server {
  var count = 0
  route GET "/hog" => fn() {
    print("hogging")
    len(sorted(reversed([...range(0, `+hogSize()+`)]))) + count
  }
  route POST "/inc" => fn() { count += 1; count }
  route GET "/r" => fn() { count }
}`)
	u := app.urls[""]
	hogged := make(chan reply)
	go func() { hogged <- do(t, "GET", u+"/hog", "") }()
	// The hog holds the GIL in one builtin call. (Waited for, not slept
	// for: under the race detector a hog sent 20 ms before could still
	// be on its way.)
	waitFor(t, func() bool { return strings.Contains(app.stdout.String(), "hogging") })
	if r := do(t, "POST", u+"/inc", ""); r.status != 503 || r.header.Get("X-Tova-Not-Run") != "1" {
		// (Not run, and told so: a client may send it again.)
		t.Fatalf("POST /inc behind the hog: %d %v %s", r.status, r.header, r.body)
	}
	if r := <-hogged; r.header.Get("X-Tova-Not-Run") != "" { // (a 503 too: one builtin call is not cut)
		t.Errorf("the hog, which ran, is answered as not run: %d %v", r.status, r.header)
	}
	if r := doRun(t, "GET", u+"/r", ""); r.body != "0" {
		t.Errorf("count after a request answered 503 before it ran: %d %s", r.status, r.body)
	}
	if r := doRun(t, "POST", u+"/inc", ""); r.status != 200 || r.body != "1" {
		t.Errorf("POST /inc afterwards: %d %s", r.status, r.body)
	}
	if !strings.Contains(app.logs.String(), `passed before its handler began: it was not run`) {
		t.Errorf("the request not run is not logged as such:\n%s", app.logs.String())
	}
}

// A request whose deadline passes while it waits for its turn after a
// blocking call (sleep, a query) stops there: the write after the call
// is not made behind the 503 its client got. The request sleeps until
// the hog has begun (the hog marks the shared state first), so the
// hog's late arrival cannot let the request finish before it.
func TestRequestPastDeadlineAfterBlockingCallDoesNotRun(t *testing.T) {
	app := startApp(t, `limits { timeout: 100 }
server {
  var state = { n: 0, hog: false }
  route GET "/hog" => fn() {
    st = state // (a local: no statement here writes a server var by name)
    st.hog = true
    len(sorted(reversed([...range(0, `+hogSize()+`)]))) + st.n
  }
  route POST "/s" => fn() {
    st = state
    while !st.hog { sleep(1) }
    st.n = st.n + 1
    st.n
  }
  route GET "/r" => fn() { state.n }
}`)
	u := app.urls[""]
	slept := make(chan reply)
	go func() { slept <- do(t, "POST", u+"/s", "") }()
	time.Sleep(10 * time.Millisecond) // /s sleeps, without the GIL
	hogged := make(chan reply)
	go func() { hogged <- do(t, "GET", u+"/hog", "") }()
	if r := <-slept; r.status != 503 {
		t.Fatalf("POST /s behind the hog: %d %s", r.status, r.body)
	}
	<-hogged
	if r := doRun(t, "GET", u+"/r", ""); r.body != "0" {
		t.Errorf("count after a request answered 503 while it waited: %d %s", r.status, r.body)
	}
}

// Two servers of one program on one port: the second is refused with a
// message that names the first, not a bare "address already in use", and
// where each server's port came from.
func TestTwoServersOnOnePort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	for _, c := range []struct {
		src  string
		env  map[string]string
		want string
	}{
		{fmt.Sprintf("server \"a\" {\n  port %d\n  route GET \"/\" => fn() 1\n}\nserver \"b\" {\n  port %d\n  route GET \"/\" => fn() 2\n}\n", port, port), nil,
			fmt.Sprintf("b: port %d is taken by server a of this program (a's port: its `port` at app.tova:2:3; b's: its `port` at app.tova:6:3)", port)},
		{fmt.Sprintf("server \"a\" {\n  route GET \"/\" => fn() 1\n}\nserver \"b\" {\n  port %d\n  route GET \"/\" => fn() 2\n}\n", port),
			map[string]string{"PORT_A": fmt.Sprint(port)},
			fmt.Sprintf("b: port %d is taken by server a of this program (a's port: from PORT_A; b's: its `port` at app.tova:5:3)", port)},
	} {
		p, err := driver.CompileFile("app.tova", []byte(c.src))
		if err != nil {
			t.Fatal(err)
		}
		getenv := func(k string) (string, bool) { v, ok := c.env[k]; return v, ok }
		var logs testutil.Buffer
		rt, err := Start(p, Options{Host: "127.0.0.1", Logger: zerolog.New(&logs), Getenv: getenv})
		if err == nil {
			rt.Shutdown(context.Background())
			t.Fatal("both servers started")
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Fatalf("error %q, want %q", err, c.want)
		}
		// The first server never served: it is bound only until every
		// server is set up.
		if strings.Contains(logs.String(), "server listening") || strings.Contains(logs.String(), "server stopped") {
			t.Fatalf("a server served in a program that did not start:\n%s", logs.String())
		}
	}
}

// A port another process holds is said so, with where the port came
// from (it said "netio: listen ...: listen tcp ...: bind: ...").
func TestPortInUseByAnotherProcess(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	for _, c := range []struct {
		src  string
		env  map[string]string
		want string
	}{
		{fmt.Sprintf("server \"a\" {\n  port %d\n  route GET \"/\" => fn() 1\n}\n", port), nil,
			fmt.Sprintf("a: port %d (its `port` at app.tova:2:3) is in use by another process: stop that one, or give this server another port (`port N`, or PORT_A in the environment)", port)},
		{"server {\n  route GET \"/\" => fn() 1\n}\n", map[string]string{"PORT": fmt.Sprint(port)},
			fmt.Sprintf("server: port %d (from PORT) is in use by another process: stop that one, or give this server another port (`port N`, or PORT in the environment)", port)},
	} {
		p, err := driver.CompileFile("app.tova", []byte(c.src))
		if err != nil {
			t.Fatal(err)
		}
		getenv := func(k string) (string, bool) { v, ok := c.env[k]; return v, ok }
		rt, err := Start(p, Options{Host: "127.0.0.1", Logger: zerolog.Nop(), Stdout: io.Discard, Getenv: getenv})
		if err == nil {
			rt.Shutdown(context.Background())
			t.Fatal("started on a port in use")
		}
		if err.Error() != c.want {
			t.Errorf("error %q\nwant  %q", err, c.want)
		}
	}
}

// A server may be named "server" beside the unnamed one (whose logs say
// "server"): their actors have names of their own.
func TestServerNamedServerBesideTheUnnamedOne(t *testing.T) {
	app := startApp(t, `
server {
  background fn a(x) { print(x) }
  route GET "/" => fn() "unnamed"
}
server "server" {
  background fn b(x) { print(x) }
  route GET "/" => fn() "named"
}`, func(o *Options) { o.Dir = t.TempDir() })
	for name, want := range map[string]string{"": `"unnamed"`, "server": `"named"`} {
		if r := do(t, "GET", app.urls[name]+"/", ""); r.status != 200 || r.body != want {
			t.Errorf("server %q: %d %s", name, r.status, r.body)
		}
	}
}

// A signal while a server opens its database (StartContext ends) stops
// the start at once, also for a program with no model, where only the
// start-up opens it.
func TestStartCutWhileDatabaseConnects(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // accepts, and never answers
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	src := fmt.Sprintf("db { adapter: \"postgres\", url: \"postgres://u@%s/app?sslmode=disable&connect_timeout=20\" }\nserver {\n  route GET \"/\" => fn() 1\n}\n", ln.Addr())
	p, err := driver.CompileFile("app.tova", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	rt, err := Start(p, Options{Host: "127.0.0.1", Ports: map[string]int{"": 0}, Logger: zerolog.Nop(), StartContext: ctx,
		Getenv: func(string) (string, bool) { return "", false }})
	if err == nil {
		rt.Shutdown(context.Background())
		t.Fatal("started")
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("the start was cut after %v: %v", took, err)
	}
}

// A request whose handler takes nothing of it (no req, no parameter)
// leaves its memory to the connection's next request; one whose handler
// does must not: the path parameter, query value, header and JSON body
// field kept in server state read the same after many more requests on
// the same connection, each of which reuses what it can.
func TestKeptRequestValuesOutliveTheirRequest(t *testing.T) {
	t.Parallel()
	app := startApp(t, `server {
  var seen = []
  route GET "/hello" => fn() { { message: "hi" } }
  route GET "/p/:id" => fn(id) { seen = [...seen, id]
    "ok" }
  route GET "/q" => fn(name) { seen = [...seen, name]
    "ok" }
  route GET "/h" => fn(req) { seen = [...seen, req.headers["x-n"]]
    "ok" }
  route POST "/b" => fn(name) { seen = [...seen, name]
    "ok" }
  route GET "/seen" => fn() { seen }
}`)
	base := app.urls[""]
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxConnsPerHost: 1}}
	var want []string
	hello := func() {
		if r := doWith(t, c, "GET", base+"/hello", ""); r.status != 200 || r.body != `{"message":"hi"}` {
			t.Fatalf("/hello -> %d %s", r.status, r.body)
		}
	}
	for i := range 16 {
		for _, q := range []struct{ method, path, body, header, value string }{
			{"GET", fmt.Sprintf("/p/id-%02d", i), "", "", fmt.Sprintf("id-%02d", i)},
			{"GET", fmt.Sprintf("/q?name=query-%02d", i), "", "", fmt.Sprintf("query-%02d", i)},
			{"GET", "/h", "", fmt.Sprintf("header-%02d", i), fmt.Sprintf("header-%02d", i)},
			{"POST", "/b", fmt.Sprintf(`{"name":"body-%02d"}`, i), "", fmt.Sprintf("body-%02d", i)},
		} {
			if r := doWith(t, c, q.method, base+q.path, q.body, "X-N", q.header); r.status != 200 {
				t.Fatalf("%s %s -> %d %s", q.method, q.path, r.status, r.body)
			}
			want = append(want, q.value)
			hello()
		}
	}
	r := doWith(t, c, "GET", base+"/seen", "")
	var got []string
	if err := json.Unmarshal([]byte(r.body), &got); err != nil || !slices.Equal(got, want) {
		t.Fatalf("the kept values read %s (%v); want %q", r.body, err, want)
	}
}

// The object a handler returns is reused for a later one only when no
// code but the runtime's saw it: a middleware that keeps what next()
// returned, and a handler that keeps the object it returns, keep
// objects that read the same after many more requests.
func TestKeptResultsOutliveTheirRequest(t *testing.T) {
	t.Parallel()
	app := startApp(t, `server {
  var results = []
  var made = []
  middleware fn keep(req, next) {
    r = next(req)
    if req.path != "/kept" { return r }
    results = [...results, r.body]
    r.body
  }
  route GET "/kept" => fn(n: Int) { { n: n } }
  route GET "/other" => fn(n: Int) { { other: n } }
  route GET "/results" => fn() { results }
}
server "plain" {
  var made = []
  fn build(n) {
    o = { n: n }
    made = [...made, o]
    o
  }
  route GET "/made" => fn(n: Int) { build(n) }
  route GET "/hello" => fn() { { message: "hi" } }
  route GET "/list" => fn() { made }
}`)
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxConnsPerHost: 1}}
	var want []string
	for i := range 20 {
		for _, q := range []struct{ server, path string }{
			{"", fmt.Sprintf("/kept?n=%d", i)}, {"", fmt.Sprintf("/other?n=%d", 100+i)},
			{"plain", fmt.Sprintf("/made?n=%d", i)}, {"plain", "/hello"}, {"plain", "/hello"},
		} {
			if r := doWith(t, c, "GET", app.urls[q.server]+q.path, ""); r.status != 200 {
				t.Fatalf("%s %s -> %d %s", q.server, q.path, r.status, r.body)
			}
		}
		want = append(want, fmt.Sprintf(`{"n":%d}`, i))
	}
	all := "[" + strings.Join(want, ",") + "]"
	if r := doWith(t, c, "GET", app.urls[""]+"/results", ""); r.body != all {
		t.Fatalf("the results the middleware kept read %s; want %s", r.body, all)
	}
	if r := doWith(t, c, "GET", app.urls["plain"]+"/list", ""); r.body != all {
		t.Fatalf("the objects the handler kept read %s; want %s", r.body, all)
	}
}

// A method an impl block gives a type is reached by a call of its name
// (x.bump()), whatever x is: a route calling one that writes server
// state runs with the GIL, and loses no update; one calling only a
// method that touches nothing shared still runs without it.
func TestMethodsWritingStateAreNotIsolated(t *testing.T) {
	app := startApp(t, `type Counter { step: Int }
impl Counter {
  fn norm(self) { self.step * 2 }
  fn zero() { Counter(0) }
}
server {
  var count = 0
  type Tally { by: Int }
  impl Tally {
    fn bump(self) { count = count + self.by }
  }
  route POST "/bump" => fn() { Tally(1).bump(); 0 }
  route GET "/norm" => fn() { Counter(21).norm() + Counter.zero().step }
  route GET "/r" => fn() { count }
}`)
	srv := app.rt.Servers()[0]
	want := map[string]bool{"/bump": false, "/norm": true, "/r": false}
	for _, rt := range srv.desc.Routes {
		if got := srv.inst.Isolated(srv.inst.Globals[rt.Slot]); got != want[rt.Path] {
			t.Errorf("%s %s: isolated %v, want %v", rt.Method, rt.Path, got, want[rt.Path])
		}
	}
	u := app.urls[""]
	if r := do(t, "GET", u+"/norm", ""); r.status != 200 || r.body != "42" {
		t.Fatalf("GET /norm: %d %s", r.status, r.body)
	}
	hammer(t, 64, 50, func(int, int) {
		if r := do(t, "POST", u+"/bump", ""); r.status != 200 {
			t.Errorf("POST /bump: %d %s", r.status, r.body)
		}
	})
	if r := do(t, "GET", u+"/r", ""); r.body != "3200" {
		t.Errorf("count after 3200 updates through a method: %s", r.body)
	}
}

// A generator in server state stepped by many requests at once: each
// request waits for the step under way (one that sleeps or runs long),
// and every value is given once. A second request's step was refused as
// the generator "stepping itself".
func TestSharedGeneratorUnderConcurrentRequests(t *testing.T) {
	app := startApp(t, `fn ticks() {
  var i = 0
  loop {
    sleep(2)
    yield i
    i += 1
  }
}
fn heavy() {
  var i = 0
  loop {
    var k = 0
    while k < 20000 { k += 1 }
    yield i
    i += 1
  }
}
server {
  var t = ticks()
  var h = heavy()
  route GET "/tick" => fn() t.next().value
  route GET "/heavy" => fn() h.next().value
}`, func(o *Options) { o.RequestTimeout = 10 * time.Second })
	u := app.urls[""]
	for _, path := range []string{"/tick", "/heavy"} {
		var mu sync.Mutex
		seen := map[string]int{}
		hammer(t, 8, 5, func(c, i int) {
			r := do(t, "GET", u+path, "")
			if r.status != 200 {
				t.Errorf("GET %s: %d %s", path, r.status, r.body)
			}
			mu.Lock()
			seen[r.body]++
			mu.Unlock()
		})
		for v := range 40 {
			if seen[strconv.Itoa(v)] != 1 {
				t.Errorf("%s: value %d given %d times (all: %v)", path, v, seen[strconv.Itoa(v)], seen)
				break
			}
		}
	}
}

// A handler stopped at its deadline runs its finally blocks and its
// deferred code, which put back what it changed (a count of requests in
// flight stayed 1 for good), but no catch block (the cancellation is
// not caught); a finally block that runs on is stopped after a grace.
func TestDeadlineRunsFinallyAndDefer(t *testing.T) {
	app := startApp(t, `limits { timeout: 300 }
server {
  var in_flight = 0
  var log = []
  fn slow() {
    in_flight += 1
    defer { in_flight -= 1 }
    try {
      sleep(2000)
      "done"
    } finally {
      log.push("finally")
    }
  }
  fn spin() {
    in_flight += 1
    defer { in_flight -= 1 }
    try { loop {} } catch e { log.push("caught {e.kind}") } finally { log.push("spin finally") }
  }
  fn forever() {
    try { loop {} } finally { log.push("forever"); loop {} }
  }
  // The cleanup cannot end the cancellation: not by returning or
  // leaving a loop, nor by raising an error a catch around it takes
  // (each let the handler go on after its deadline).
  fn swallow() { try { loop {} } finally { return 1 } }
  fn leave() {
    for i in range(0, 3) { try { loop {} } finally { continue } }
  }
  fn raise() { try { loop {} } finally { nil.x } }
  fn check() { Err("cleanup failed") }
  fn propagate() { try { loop {} } finally { check()? } }
  // A try inside the cleanup catches as usual: it guards the rest.
  fn guarded() {
    in_flight += 1
    defer {
      try { int("x") + nil } catch e { log.push("guarded {e.kind}") }
      in_flight -= 1
    }
    loop {}
  }
  route GET "/slow" => slow
  route GET "/spin" => spin
  route GET "/forever" => forever
  route GET "/swallow" => fn() { swallow(); log.push("after return") }
  route GET "/leave" => fn() { leave(); log.push("after continue") }
  route GET "/raise" => fn() { try { raise() } catch e { log.push("caught {e.kind}") }; log.push("after catch") }
  route GET "/propagate" => fn() { propagate(); log.push("after propagate") }
  route GET "/guarded" => guarded
  route GET "/stats" => fn() { { in_flight, log } }
}`)
	u := app.urls[""]
	for _, p := range []string{"/slow", "/spin", "/forever", "/swallow", "/leave", "/raise", "/propagate", "/guarded"} {
		if r := do(t, "GET", u+p, ""); r.status != 503 {
			t.Errorf("GET %s: %d %s", p, r.status, r.body)
		}
		// Its cleanup runs after its 503: done before the next
		// request's, so that the log's order is the requests' (under
		// load /slow's finally came after /spin's).
		for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
			if r := do(t, "GET", u+"/stats", ""); strings.HasPrefix(r.body, `{"in_flight":0,`) {
				break
			}
		}
	}
	want := `{"in_flight":0,"log":["finally","spin finally","forever","guarded TypeError"]}`
	var r reply
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if r = do(t, "GET", u+"/stats", ""); r.body == want {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if r.body != want {
		t.Errorf("after three requests stopped at their deadline: %s, want %s", r.body, want)
	}
	// The server still answers (the endless finally block was stopped).
	if r := do(t, "GET", u+"/stats", ""); r.status != 200 {
		t.Errorf("GET /stats: %d", r.status)
	}
}

// A stop while on_start runs (StartContext ends) cuts it with a warning
// that says so, not an error line of a Cancelled failure of its code.
func TestOnStartCutByStopIsNoFailure(t *testing.T) {
	p, err := driver.CompileFile("app.tova", []byte("server {\n  on_start fn() { sleep(5000) }\n  route GET \"/\" => fn() 1\n}\n"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	logs := &testutil.Buffer{}
	rt, err := Start(p, Options{Host: "127.0.0.1", Ports: map[string]int{"": 0}, Logger: zerolog.New(logs), StartContext: ctx,
		Getenv: func(string) (string, bool) { return "", false }})
	if err == nil {
		<-ctx.Done()
		rt.Shutdown(context.Background())
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), "on_start cut") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), `"level":"warn","server":"server","in":"on_start","message":"on_start cut: the server was told to stop while it ran"`) ||
		strings.Contains(logs.String(), `"level":"error"`) {
		t.Errorf("logs:\n%s", logs)
	}
}
