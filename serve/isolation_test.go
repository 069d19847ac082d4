package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"tova/driver"
	"tova/internal/logbuf"
)

const isolationApp = `
server {
  fn ok(n: Int) { { n } }
  fn boom(n: Int) {
    items = [1, 2, 3]
    items[n].missing.field
  }
  fn spin() { loop { } }
  route GET "/ok/:n" => ok
  route GET "/boom/:n" => boom
  route GET "/spin" => spin
  health "/health"
}
`

// With 10% of requests failing at run time, every other request succeeds
// and the process keeps serving.
func TestCrashIsolationUnderLoad(t *testing.T) {
	app := startApp(t, isolationApp)
	u := app.urls[""]
	const total = 1000
	var okN, boomN, bad atomic.Int64
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i := 0; i < total; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			if i%10 == 0 {
				r := do(t, "GET", fmt.Sprintf("%s/boom/%d", u, i%3), "")
				if r.status == 500 && strings.Contains(r.body, `"request_id"`) && strings.Contains(r.body, "INTERNAL_ERROR") {
					boomN.Add(1)
				} else {
					bad.Add(1)
				}
				return
			}
			r := do(t, "GET", fmt.Sprintf("%s/ok/%d", u, i), "")
			if r.status == 200 && r.body == fmt.Sprintf(`{"n":%d}`, i) {
				okN.Add(1)
			} else {
				bad.Add(1)
			}
		}(i)
	}
	wg.Wait()
	if okN.Load() != total*9/10 || boomN.Load() != total/10 || bad.Load() != 0 {
		t.Fatalf("ok %d, failed-as-500 %d, wrong %d", okN.Load(), boomN.Load(), bad.Load())
	}
	if r := do(t, "GET", u+"/health", ""); r.status != 200 {
		t.Fatalf("health after load: %d", r.status)
	}
	if n := strings.Count(app.logs.String(), `"kind":"TypeError"`); n != total/10 {
		t.Fatalf("logged %d handler failures, want %d", n, total/10)
	}
	// every failure was reported to the pool's supervisor, which
	// restarted the worker
	waitFor(t, func() bool { return app.rt.Servers()[0].Pool().Stats().Restarts >= total/10 })
	if st := app.rt.Servers()[0].Pool().Stats(); st.Failures < total/10 {
		t.Fatalf("pool counted %d failures, want %d", st.Failures, total/10)
	}
}

// A request stuck in `loop {}` is cut at its deadline with 503 while the
// others keep flowing; four of them on a 2-core machine do not delay a
// health check.
func TestRunawayIsolation(t *testing.T) {
	app := startApp(t, isolationApp, func(o *Options) { o.RequestTimeout = 1500 * time.Millisecond })
	u := app.urls[""]
	var wg sync.WaitGroup
	spins := make([]reply, 4)
	start := time.Now()
	for i := range spins {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			spins[i] = do(t, "GET", u+"/spin", "")
		}(i)
	}
	time.Sleep(200 * time.Millisecond) // the spinners are running now
	for i := 0; i < 20; i++ {
		t0 := time.Now()
		r := do(t, "GET", fmt.Sprintf("%s/ok/%d", u, i), "")
		if r.status != 200 {
			t.Fatalf("request during spin: %d %s", r.status, r.body)
		}
		if d := time.Since(t0); d > 250*time.Millisecond {
			t.Fatalf("request during spin took %v", d)
		}
		h0 := time.Now()
		if r := do(t, "GET", u+"/health", ""); r.status != 200 {
			t.Fatalf("health during spin: %d", r.status)
		}
		if d := time.Since(h0); d > 250*time.Millisecond {
			t.Fatalf("health during spin took %v", d)
		}
	}
	wg.Wait()
	el := time.Since(start)
	for _, r := range spins {
		if r.status != 503 {
			t.Fatalf("spinning request answered %d %s, want 503", r.status, r.body)
		}
	}
	if el < 1400*time.Millisecond || el > 3*time.Second {
		t.Fatalf("spinners were cut after %v, deadline 1.5s", el)
	}
	// the cancelled executions really stopped: the server is idle again
	time.Sleep(100 * time.Millisecond)
	t0 := time.Now()
	for i := 0; i < 50; i++ {
		do(t, "GET", u+"/health", "")
	}
	if d := time.Since(t0); d > time.Second {
		t.Fatalf("50 requests after the spin took %v", d)
	}
}

// Many runaways at once (routes that run without the GIL, in parallel)
// take turns for the CPUs: health checks and short requests are still
// answered at once, and each runaway is cut close to its deadline, not a
// second or more past it while it waits for Go to schedule it again.
func TestManyRunawaysTakeTurns(t *testing.T) {
	app := startApp(t, isolationApp, func(o *Options) { o.RequestTimeout = time.Second })
	u := app.urls[""]
	const spinners = 64
	var wg sync.WaitGroup
	late := make(chan time.Duration, spinners)
	for range spinners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			if r := do(t, "GET", u+"/spin", ""); r.status != 503 {
				t.Errorf("spinning request answered %d %s, want 503", r.status, r.body)
			}
			late <- time.Since(t0) - time.Second
		}()
	}
	time.Sleep(300 * time.Millisecond) // the spinners are running now
	slowest := slowestAnswer(t, u, "the spin", func(i int) []string { return []string{"/health", fmt.Sprintf("/ok/%d", i)} }, nil)
	wg.Wait()
	close(late)
	var latest time.Duration
	for d := range late {
		latest = max(latest, d)
	}
	t.Logf("slowest short request %v; latest 503 %v past the deadline", slowest, latest)
	// (Measured on 2 cores: 30-80 ms, and 1.15 s without turns; 503s
	// 30-200 ms late.)
	if slowest > 250*time.Millisecond {
		t.Errorf("a short request took %v while %d runaways ran", slowest, spinners)
	}
	if latest > 750*time.Millisecond {
		t.Errorf("a runaway was answered %v past its deadline", latest)
	}
}

// Runaways writing server state, beside many that write none, keep
// requests that read the state answered at once: the runaway holding
// the GIL waited for a CPU turn behind all the others while holding it,
// and the readers waited with it (0.35-1 s with 200 other runaways).
func TestStateRunawaysLeaveStateReadersAnswered(t *testing.T) {
	app := startApp(t, `server {
  var count = 0
  fn spin() { loop { } }
  fn bump() { loop { count += 1 } }
  fn peek() { { seen: count > 0 } }
  route GET "/spin" => spin
  route GET "/bump" => bump
  route GET "/peek" => peek
}`, func(o *Options) { o.RequestTimeout = 2 * time.Second })
	u := app.urls[""]
	const spinners, bumpers = 200, 4
	var wg sync.WaitGroup
	for i := range spinners + bumpers {
		path := "/spin"
		if i < bumpers {
			path = "/bump"
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := do(t, "GET", u+path, ""); r.status != 503 {
				t.Errorf("GET %s answered %d %s, want 503", path, r.status, r.body)
			}
		}()
	}
	time.Sleep(300 * time.Millisecond) // the runaways are running now
	slowest := slowestAnswer(t, u, "the runaways", func(int) []string { return []string{"/peek"} },
		func(r reply) bool { return r.body == `{"seen":true}` })
	wg.Wait()
	t.Logf("slowest read of server state beside %d runaways: %v", spinners+bumpers, slowest)
	// (Measured on 2 cores: 30-45 ms, and 0.6 s without the fix; under
	// the race detector 0.25-0.35 s, and 0.6 s.)
	limit := 250 * time.Millisecond
	if raceEnabled {
		limit = 600 * time.Millisecond
	}
	if slowest > limit {
		t.Errorf("a request reading server state took %v beside %d runaways, %d of them writing it", slowest, spinners+bumpers, bumpers)
	}
}

// slowestAnswer GETs paths(i) of the server at u ten times, 20 ms apart,
// while something else loads it (during, for a message), and returns
// the longest any took; an answer other than 200 (or one ok refuses)
// fails the test.
func slowestAnswer(t *testing.T, u, during string, paths func(i int) []string, ok func(reply) bool) time.Duration {
	t.Helper()
	var slowest time.Duration
	for i := range 10 {
		for _, path := range paths(i) {
			t0 := time.Now()
			if r := do(t, "GET", u+path, ""); r.status != 200 || ok != nil && !ok(r) {
				t.Fatalf("GET %s during %s: %d %s", path, during, r.status, r.body)
			}
			slowest = max(slowest, time.Since(t0))
		}
		time.Sleep(20 * time.Millisecond)
	}
	return slowest
}

// SIGTERM-style shutdown under load: every in-flight request completes;
// requests after the drain began get 503.
func TestGracefulShutdownUnderLoad(t *testing.T) {
	app := startApp(t, `
server {
  fn slow(n: Int) {
    print("in")
    sleep(300.milliseconds)
    { n }
  }
  route GET "/slow/:n" => slow
  on_stop fn() { print("stopped") }
}`)
	u := app.urls[""]
	var wg sync.WaitGroup
	results := make([]reply, 40)
	for i := range results {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i] = do(t, "GET", fmt.Sprintf("%s/slow/%d", u, i), "")
		}(i)
	}
	// All 40 are in flight: each handler has begun. (A fixed sleep let
	// a request still being sent under the race detector meet the
	// drain, which closes a connection with no request yet.)
	waitFor(t, func() bool { return strings.Count(app.stdout.String(), "in\n") == len(results) })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := app.rt.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	wg.Wait()
	for i, r := range results {
		if r.status != 200 || r.body != fmt.Sprintf(`{"n":%d}`, i) {
			t.Fatalf("in-flight request %d: %d %s", i, r.status, r.body)
		}
	}
	if !strings.Contains(app.stdout.String(), "stopped") {
		t.Fatalf("on_stop did not run: %q", app.stdout.String())
	}
}

// A graceful stop of a process running two servers, one calling the
// other: the callee keeps serving the calls of the caller's requests in
// flight until they are done (stopped with the rest, an idle callee
// refused them, and every request in flight that still had a call to
// make failed with 500), while its own new requests get 503.
func TestGracefulShutdownServesPeerCallsInFlight(t *testing.T) {
	app := startApp(t, `
server "api" {
  route GET "/order/:n" => fn(n: Int) {
    print("in")
    sleep(1.seconds)
    worker.compute(n)
  }
}
server "worker" {
  fn compute(n: Int) { n * 2 }
  route GET "/ping" => fn() "pong"
}`)
	var wg sync.WaitGroup
	results := make([]reply, 8)
	for i := range results {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i] = do(t, "GET", fmt.Sprintf("%s/order/%d", app.urls["api"], i), "")
		}(i)
	}
	waitFor(t, func() bool { return strings.Count(app.stdout.String(), "in\n") == len(results) })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stopped := make(chan error, 1)
	go func() { stopped <- app.rt.Shutdown(ctx) }()
	time.Sleep(100 * time.Millisecond) // the drain has begun; the requests sleep on
	if r := do(t, "GET", app.urls["worker"]+"/ping", ""); r.status != 503 {
		t.Errorf("a new request to the callee during the drain: %d %s", r.status, r.body)
	} else if !strings.Contains(app.logs.String(), `"error":"the server is shutting down: a request begun during the drain is not run"`) {
		// (its access line gave no cause)
		t.Errorf("the 503 is logged without its cause:\n%s", app.logs)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	wg.Wait()
	for i, r := range results {
		if r.status != 200 || r.body != fmt.Sprint(2*i) {
			t.Errorf("in-flight request %d: %d %s", i, r.status, r.body)
		}
	}
}

// Two servers that call each other: neither stops listening while the
// other has a request in flight that may still call it (both stopped at
// once, and the call failed: connection refused, 500).
func TestGracefulShutdownMutualCallers(t *testing.T) {
	app := startApp(t, `
server "a" {
  fn hello() { "hello" }
  route GET "/slow/:n" => fn(n: Int) {
    print("in")
    sleep(1.seconds)
    b.ping(n)
  }
}
server "b" {
  fn ping(n: Int) { n + 1 }
  route GET "/hi" => fn() { a.hello() }
}`)
	var wg sync.WaitGroup
	results := make([]reply, 4)
	for i := range results {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i] = do(t, "GET", fmt.Sprintf("%s/slow/%d", app.urls["a"], i), "")
		}(i)
	}
	waitFor(t, func() bool { return strings.Count(app.stdout.String(), "in\n") == len(results) })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := app.rt.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	wg.Wait()
	for i, r := range results {
		if r.status != 200 || r.body != fmt.Sprint(i+1) {
			t.Errorf("in-flight request %d: %d %s", i, r.status, r.body)
		}
	}
}

// Two servers that call each other: each one's on_stop, run while both
// still serve calls, reaches the other (the one that stopped first
// refused the other's on_stop call, and a job's).
func TestOnStopReachesAMutualCallee(t *testing.T) {
	app := startApp(t, `
server "a" {
  db { database: ":memory:" }
  model Item { name: String }
  fn back() { "back" }
  fn count() { Item.count() }
  route POST "/add" => fn() { Item.create({ name: "x" }) }
  on_stop fn() { print("a on_stop: {b.compute(7)}") }
}
server "b" {
  fn compute(n: Int) { n * 2 }
  route GET "/hi" => fn() { a.back() }
  on_stop fn() {
    sleep(300)
    print("b on_stop: {a.back()}, a's items: {a.count()}")
  }
}`)
	if r := do(t, "GET", app.urls["b"]+"/hi", ""); r.status != 200 || r.body != `"back"` {
		t.Fatalf("GET /hi: %d %s", r.status, r.body)
	}
	// (a's database stays open for b's on_stop, which calls a after a's
	// own on_stop ran: it was closed, and opened again empty.)
	if r := do(t, "POST", app.urls["a"]+"/add", ""); r.status != 200 {
		t.Fatalf("POST /add: %d %s", r.status, r.body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := app.rt.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	out := app.stdout.String()
	if !strings.Contains(out, "a on_stop: 14\n") || !strings.Contains(out, "b on_stop: back, a's items: 1\n") || strings.Contains(app.logs.String(), "RPCError") {
		t.Errorf("stdout:\n%s\nlogs:\n%s", out, app.logs.String())
	}
}

// An on_stop hook that never returns is cut at the shutdown's deadline
// (given at least minStopHooks), logged, and the next hook still runs:
// it cannot keep the process from exiting.
func TestOnStopHookIsBounded(t *testing.T) {
	app := startApp(t, `
server {
  route GET "/" => fn() "up"
  on_stop fn() { loop {} }
  on_stop fn() { print("second hook") }
}`)
	if r := do(t, "GET", app.urls[""]+"/", ""); r.status != 200 {
		t.Fatalf("GET /: %d", r.status)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_ = app.rt.Shutdown(ctx)
	took := time.Since(start)
	if took < minStopHooks || took > minStopHooks+3*time.Second {
		t.Errorf("shutdown took %v, want about %v", took, minStopHooks)
	}
	if logs := app.logs.String(); !strings.Contains(logs, `"in":"on_stop","kind":"Cancelled"`) {
		t.Errorf("the cut hook is not logged:\n%s", logs)
	}
	if !strings.Contains(app.stdout.String(), "second hook") {
		t.Errorf("the hook after the cut one did not run: %q", app.stdout.String())
	}
}

// A handler that runs Tova code only stays on the worker's coroutine
// its request's goroutine switched to; one that waits (sleep, I/O)
// moves to the worker's goroutine first, so the front end waits for it
// with the deadline. Pool.Stats().Moved counts the moves.
func TestWaitingHandlersMoveToTheirWorker(t *testing.T) {
	app := startApp(t, `
server {
  fn quick(n: Int) { { n } }
  fn nap(n: Int) {
    sleep(5.milliseconds)
    { n }
  }
  route GET "/quick/:n" => quick
  route GET "/nap/:n" => nap
}`)
	u := app.urls[""]
	pool := app.rt.Servers()[0].Pool()
	for i := range 5 {
		if r := do(t, "GET", fmt.Sprintf("%s/quick/%d", u, i), ""); r.status != 200 {
			t.Fatalf("quick: %d %s", r.status, r.body)
		}
	}
	if n := pool.Stats().Moved; n != 0 {
		t.Fatalf("%d quick requests moved to their worker's goroutine", n)
	}
	for i := range 5 {
		if r := do(t, "GET", fmt.Sprintf("%s/nap/%d", u, i), ""); r.status != 200 || r.body != fmt.Sprintf(`{"n":%d}`, i) {
			t.Fatalf("nap: %d %s", r.status, r.body)
		}
	}
	if n := pool.Stats().Moved; n != 5 {
		t.Fatalf("%d of 5 sleeping requests moved to their worker's goroutine", n)
	}
}

// A server's jobs stop (a running one gets what is left of the drain)
// before its on_stop hooks run: cleanup comes after every piece of the
// server's code.
func TestOnStopRunsAfterJobsStop(t *testing.T) {
	app := startApp(t, `
server {
  background fn work(ms: Int) {
    print("job start")
    sleep(ms)
    print("job done")
  }
  route GET "/spawn" => fn() { { id: spawn_job(work, 700) } }
  on_stop fn() { print("on_stop ran") }
}`, func(o *Options) { o.Dir = t.TempDir() })
	if r := do(t, "GET", app.urls[""]+"/spawn", ""); r.status != 200 {
		t.Fatalf("spawn: %d %s", r.status, r.body)
	}
	waitFor(t, func() bool { return strings.Contains(app.stdout.String(), "job start") })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := app.rt.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	out := app.stdout.String()
	done, stop := strings.Index(out, "job done"), strings.Index(out, "on_stop ran")
	if done < 0 || stop < 0 || done > stop {
		t.Fatalf("the job's end and on_stop, in this order: %q", out)
	}
}

// A shutdown cut short while an on_stop hook runs (a second signal)
// still leaves the hook its least time.
func TestCutShutdownLeavesHookItsMinimum(t *testing.T) {
	app := startApp(t, `
server {
  route GET "/" => fn() "up"
  on_stop fn() {
    print("hook begins")
    sleep(600.milliseconds)
    print("hook done")
  }
}`)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for !strings.Contains(app.stdout.String(), "hook begins") {
			time.Sleep(5 * time.Millisecond)
		}
		cancel() // the second signal
	}()
	start := time.Now()
	_ = app.rt.Shutdown(ctx)
	if took := time.Since(start); !strings.Contains(app.stdout.String(), "hook done") || took > minStopHooks {
		t.Fatalf("after %v: %q", took, app.stdout.String())
	}
}

// An on_error stuck in `loop {}` is cut at the request's deadline like a
// handler: the answer is 503 and on_finish sees 503, whichever comes
// first, the cut or the front end's own answer at the deadline.
func TestRunawayOnErrorIs503(t *testing.T) {
	app := startApp(t, `server {
  var statuses = []
  middleware fn track(req, res) { res.on_finish(fn(s) { statuses = [...statuses, s] }) }
  on_error fn(err, req, res) { loop { } }
  route GET "/lp" => fn() { throw "x" }
  route GET "/statuses" => fn() { statuses }
}`, func(o *Options) { o.RequestTimeout = 200 * time.Millisecond })
	u := app.urls[""]
	const n = 32
	var wg sync.WaitGroup
	replies := make([]reply, n)
	for i := range replies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			replies[i] = do(t, "GET", u+"/lp", "")
		}()
	}
	wg.Wait()
	for i, r := range replies {
		// One body, whichever stopped it.
		if r.status != 503 || !strings.Contains(r.body, `"code":"TIMEOUT","message":"Request timed out"`) {
			t.Errorf("request %d: %d %s, want 503 TIMEOUT", i, r.status, r.body)
		}
	}
	// /statuses itself has a finish callback: it adds its 200 after.
	var got []int
	waitFor(t, func() bool {
		got = nil
		_ = json.Unmarshal([]byte(do(t, "GET", u+"/statuses", "").body), &got)
		return len(got) >= n
	})
	for _, s := range got {
		if s != 503 && s != 200 {
			t.Errorf("on_finish saw %d, want 503: %v", s, got)
			break
		}
	}
}

// Requests stopped as the drain ends still run their res.on_finish
// callbacks, with 503, before on_stop: a logger middleware sees every
// request, those cut at shutdown included.
func TestOnFinishRunsForRequestsStoppedAtDrainEnd(t *testing.T) {
	app := startApp(t, `server {
  middleware fn hook(req, res) {
    res.on_finish(fn(s) { print("finish", req.path, s) })
  }
  on_stop fn() { print("on_stop") }
  route GET "/loop" => fn() { loop { } }
  route GET "/sleep" => fn() { sleep(5000); "slept" }
}`)
	u := app.urls[""]
	var wg sync.WaitGroup
	for _, p := range []string{"/loop", "/sleep"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := do(t, "GET", u+p, ""); r.status != 503 {
				t.Errorf("GET %s: %d %s, want 503", p, r.status, r.body)
			}
		}()
	}
	time.Sleep(300 * time.Millisecond) // both are running
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	app.rt.Shutdown(ctx)
	wg.Wait()
	out := app.stdout.String()
	for _, want := range []string{"finish /loop 503\n", "finish /sleep 503\n"} {
		if i, j := strings.Index(out, want), strings.Index(out, "on_stop\n"); i < 0 || j < 0 || i > j {
			t.Errorf("want %q before on_stop; printed:\n%s", want, out)
		}
	}
}

// With every worker busy (here the pool's two, each in `loop {}`), a
// `health "/path"` probe still answers at once: it is Go code run on the
// connection's goroutine, not queued behind the handlers. A server that
// is saturated is alive.
func TestHealthAnswersWithEveryWorkerBusy(t *testing.T) {
	app := startApp(t, isolationApp, func(o *Options) {
		o.PoolMin, o.PoolMax, o.RequestTimeout = 2, 2, 3*time.Second
	})
	u := app.urls[""]
	var wg sync.WaitGroup
	for range 3 { // two running, one queued
		wg.Add(1)
		go func() { defer wg.Done(); do(t, "GET", u+"/spin", "") }()
	}
	waitFor(t, func() bool { return app.rt.Servers()[0].Pool().Stats().Queued >= 1 })
	start := time.Now()
	r := do(t, "GET", u+"/health", "")
	if took := time.Since(start); r.status != 200 || took > time.Second {
		t.Errorf("health with every worker busy: %d after %v", r.status, took)
	}
	wg.Wait()
}

// A request's deadline counts from when its handler is handed it: a body
// that took longer than the deadline to arrive (within the read timeout)
// still gives its handler the whole deadline. Counted from the first
// byte, the handler started with its deadline spent, made its change,
// and was stopped at its first wait: 503, with the change saved.
func TestDeadlineCountsFromTheBody(t *testing.T) {
	app := startApp(t, `server {
  var saved = []
  route POST "/upload" => fn(req) {
    saved = [...saved, len(req.body)]
    sleep(50)
    { stored: len(req.body) }
  }
}
`, func(o *Options) { o.RequestTimeout = 300 * time.Millisecond })
	c, err := net.Dial("tcp", strings.TrimPrefix(app.urls[""], "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 10\r\nConnection: close\r\n\r\nhello")
	time.Sleep(600 * time.Millisecond) // twice the deadline
	io.WriteString(c, "world")
	raw, _ := io.ReadAll(c)
	if !strings.HasPrefix(string(raw), "HTTP/1.1 200 ") || !strings.HasSuffix(string(raw), `{"stored":10}`) {
		t.Fatalf("slow upload: %q", raw)
	}
}

// A server whose blocks do not say where its job queue is uses the one
// another server's block chose, so that what one sends the other
// arrives: the api's spawn_job and publish for the worker went to the
// api's queue while the worker worked the default file. Servers choosing
// two queues keep them, with a warning.
func TestServersShareTheQueueOneChose(t *testing.T) {
	dir := t.TempDir()
	app := startApp(t, `
server "api" {
  jobs { database: "queue.db" }
  route GET "/k" => fn() spawn_job("work", 1)
  route GET "/p" => fn() publish("evt", 2)
}
server "worker" {
  background fn work(x) { print("work ran {x}") }
  subscribe "evt" fn(p) { print("evt got {p}") }
}`, func(o *Options) { o.Dir = dir })
	for _, p := range []string{"/k", "/p"} {
		if r := do(t, "GET", app.urls["api"]+p, ""); r.status != 200 || r.body != "1" {
			t.Fatalf("GET %s: %d %s", p, r.status, r.body)
		}
	}
	waitFor(t, func() bool {
		out := app.stdout.String()
		return strings.Contains(out, "work ran 1") && strings.Contains(out, "evt got 2")
	})

	apart := startApp(t, `
server "a" {
  jobs { database: "a.db" }
  background fn x() { print(1) }
}
server "b" {
  jobs { database: "b.db" }
  background fn y() { print(2) }
}`, func(o *Options) { o.Dir = t.TempDir() })
	waitFor(t, func() bool {
		return strings.Contains(apart.logs.String(), "the servers keep their job queues apart (a in ")
	})

	// Run apart, the worker's process does not run the api's setup
	// code (its side effects are the api's): it warns.
	alone := startApp(t, `
server "api" {
  jobs { database: "queue.db" }
  route GET "/k" => fn() spawn_job("work", 1)
}
server "worker" {
  background fn work(x) { print("work ran {x}") }
}`, func(o *Options) { o.Dir = t.TempDir(); o.Servers = []string{"worker"} })
	waitFor(t, func() bool {
		return strings.Contains(alone.logs.String(), "beside server api (run elsewhere), which has a db or jobs block of its own")
	})
	// Nor when the worker's blocks leave its queue in the default file:
	// a jobs block of settings only, or a SQLite db block (events the
	// api stored in PostgreSQL were never delivered, and nothing said so).
	for _, own := range []string{`jobs { max_attempts: 3 }`, `db { adapter: "sqlite", database: "worker.db" }`} {
		alone := startApp(t, `
server "api" {
  jobs { database: "queue.db" }
  route GET "/k" => fn() publish("evt", 1)
}
server "worker" {
  `+own+`
  subscribe "evt" fn(p) { print("evt got {p}") }
}`, func(o *Options) { o.Dir = t.TempDir(); o.Servers = []string{"worker"} })
		waitFor(t, func() bool {
			return strings.Contains(alone.logs.String(), "beside server api (run elsewhere), which has a db or jobs block of its own")
		})
	}
}

// A jobs block naming the program's own SQLite file is refused at the
// start: its transactions held off the queue (spawn_job inside
// db.transaction waited 10 s for itself, then failed).
func TestJobsQueueNotInTheAppsFile(t *testing.T) {
	p, err := driver.CompileFile("app.tova", []byte(`
server {
  db { adapter: "sqlite", database: "app.db" }
  jobs { database: "./app.db" }
  background fn w(x) { print(x) }
}`))
	if err != nil {
		t.Fatal(err)
	}
	rt, err := Start(p, Options{Host: "127.0.0.1", Ports: map[string]int{"": 0}, Dir: t.TempDir(), Logger: zerolog.Nop()})
	if err == nil {
		rt.Shutdown(context.Background())
		t.Fatal("started")
	}
	if want := "server: app.tova:4:20: jobs.database: "; !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "is the program's own database file") {
		t.Errorf("%v, want %s… the program's own database file", err, want)
	}
}

// A builtin walking a long range (sum, count, min ... of range(0,
// 10**15)) gives way as a Tova loop does: it held the GIL until its
// deadline, so every request using server state waited for it.
func TestLongBuiltinWalkGivesWay(t *testing.T) {
	app := startApp(t, `server {
  var count = 0
  fn hang() { x = sum(range(0, 1000000000000000)); count += 1; { x } }
  route POST "/hang" => hang
  route POST "/inc" => fn() { count += 1; { count } }
}`, func(o *Options) { o.RequestTimeout = 2 * time.Second })
	u := app.urls[""]
	done := make(chan reply, 1)
	go func() { done <- do(t, "POST", u+"/hang", "") }()
	time.Sleep(200 * time.Millisecond) // /hang is summing now
	t0 := time.Now()
	if r := do(t, "POST", u+"/inc", ""); r.status != 200 || r.body != `{"count":1}` {
		t.Errorf("POST /inc: %d %s", r.status, r.body)
	}
	if d := time.Since(t0); d > 500*time.Millisecond {
		t.Errorf("POST /inc beside a long sum took %v", d)
	}
	if r := <-done; r.status != 503 {
		t.Errorf("POST /hang: %d %s, want 503", r.status, r.body)
	}
}

// An error whose message is built from what a client sent is logged cut
// to logbuf.MaxMessage bytes: a 3 MB body made one log line of 3 MB.
func TestHugeErrorMessageIsCutInTheLog(t *testing.T) {
	app := startApp(t, `server {
  route POST "/import" => fn(req) { throw "cannot import: " + req.body }
}`)
	body := strings.Repeat("x", 3<<20)
	if r := do(t, "POST", app.urls[""]+"/import", body, "Content-Type", "text/plain"); r.status != 500 {
		t.Fatalf("POST /import = %d", r.status)
	}
	var line string
	waitFor(t, func() bool {
		for _, l := range strings.Split(app.logs.String(), "\n") {
			if strings.Contains(l, `"message":"cannot import: xxx`) {
				line = l
				return true
			}
		}
		return false
	})
	want := fmt.Sprintf("… (%d more bytes)", len("cannot import: ")+len(body)-logbuf.MaxMessage)
	if len(line) > logbuf.MaxMessage+1024 || !strings.Contains(line, want) {
		t.Errorf("the error's log line has %d bytes, want it cut saying %q", len(line), want)
	}
}

// Large answers encoded at once take no CPU turn they keep: the
// encoder's polls took one after 2 ms and never gave it back, and once
// every turn was gone, each request that ran long (a later large
// answer, a loop of 40 ms) waited, its CPU idle, until its deadline.
func TestLargeAnswersKeepNoTurns(t *testing.T) {
	if raceEnabled {
		t.Skip("four 27 MB answers at once: minutes under the race detector (vm's TestPollOutsideACallKeepsNoTurn runs there)")
	}
	app := startApp(t, `server {
  fn build(n: Int) {
    var out = []
    for i in range(0, n) { out.push({ id: i, name: "item" }) }
    out
  }
  route GET "/big" => build
  route GET "/spin" => fn() { var s = 0; for i in range(0, 300000) { s += i }; s }
}`, func(o *Options) { o.RequestTimeout = 10 * time.Second })
	u := app.urls[""]
	for round := range 1 {
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if r := do(t, "GET", u+"/big?n=1000000", ""); r.status != 200 {
					t.Errorf("round %d: a large answer = %d", round, r.status)
				}
			}()
		}
		wg.Wait()
	}
	start := time.Now()
	if r := do(t, "GET", u+"/spin", ""); r.status != 200 || time.Since(start) > 5*time.Second {
		t.Errorf("a loop after the large answers: %d after %v", r.status, time.Since(start))
	}
}
