package serve

import (
	"strings"
	"testing"
	"time"

	"tova/driver"
)

// The reference's route decorator `with timeout(ms)` gives its route a
// deadline of its own: past it the answer is 504 GATEWAY_TIMEOUT with
// the request id, and the handler is stopped; other routes keep the
// server's deadline (it was a compile error: not applied yet).
func TestTimeoutDecorator(t *testing.T) {
	app := startApp(t, `
server {
  var finished = 0
  route GET "/slow" with timeout(100) => fn() {
    sleep(2.seconds)
    finished += 1
    "done"
  }
  route GET "/spin" with timeout(150.milliseconds) => fn() {
    loop { }
  }
  route GET "/quick" with timeout(5.seconds) => fn() {
    sleep(200.milliseconds)
    "quick"
  }
  route GET "/finished" => fn() finished
  var told = []
  route GET "/told" with timeout(100) => fn(res) {
    res.on_finish(fn(status) { told = [...told, status] })
    sleep(1.second)
    "late"
  }
  route GET "/toldlist" => fn() told
}
`)
	url := app.urls[""]
	for _, path := range []string{"/slow", "/spin"} {
		start := time.Now()
		r := do(t, "GET", url+path, "")
		if took := time.Since(start); r.status != 504 || !strings.Contains(r.body, `"GATEWAY_TIMEOUT"`) ||
			!strings.Contains(r.body, r.header.Get("X-Request-ID")) || took > 1500*time.Millisecond {
			t.Errorf("GET %s = %d %s after %v", path, r.status, r.body, took)
		}
	}
	if r := do(t, "GET", url+"/quick", ""); r.status != 200 || r.body != `"quick"` {
		t.Errorf("GET /quick = %s", outcome(t, r))
	}
	// on_finish is told the 504 the client got (it was told 503), and
	// the log line names the route's deadline (it named the server's).
	if r := do(t, "GET", url+"/told", ""); r.status != 504 {
		t.Errorf("GET /told = %s", outcome(t, r))
	}
	waitFor(t, func() bool { return do(t, "GET", url+"/toldlist", "").body == "[504]" })
	if !strings.Contains(app.logs.String(), "the route's deadline (100ms) passed") {
		t.Errorf("no log line names the route's deadline:\n%s", app.logs)
	}
	time.Sleep(2200 * time.Millisecond) // the slow handler, had it gone on
	if r := do(t, "GET", url+"/finished", ""); r.body != "0" {
		t.Errorf("the cut handler finished %s times", r.body)
	}
	wantStartErrors(t, "", map[string]string{
		`server { route GET "/" with timeout(0) => fn() 1 }`:       `server: app.tova:1:36: ValueError: timeout: a route deadline must be positive, got 0`,
		`server { route GET "/" with timeout("1s") => fn() 1 }`:    `server: app.tova:1:36: ValueError: timeout: expected a duration`,
		`server { route GET "/" with timeout(1, 2, 3) => fn() 1 }`: `server: app.tova:1:36: TypeError: timeout(ms) takes 1 argument, got 3`,
		// the reference's timeout(promise, ms), as a pipe passes it
		`server { route GET "/" with (1 |> timeout(2)) => fn() 1 }`: `server: app.tova:1:42: TypeError: timeout(ms) is a route's deadline (route ... with timeout(5.seconds)); there is no timeout(promise, ms)`,
	})
}

// The reference's timeout(promise, ms) is a compile error, whatever its
// first argument (a call's value, an Int here, read as a deadline).
func TestTimeoutOfPromiseRefused(t *testing.T) {
	for _, src := range []string{
		"async fn load(x) { x }\nprint(timeout(load(1), 1000))\n",
		"server {\n  route GET \"/\" with timeout(fn() 1, 2) => fn() 1\n}\n",
	} {
		_, err := driver.CompileFile("app.tova", []byte(src))
		if err == nil || !strings.Contains(err.Error(), "there is no timeout(promise, ms): a call returns its value, not a promise") {
			t.Errorf("%q: %v", src, err)
		}
	}
	if _, err := driver.CompileFile("app.tova", []byte("server {\n  route GET \"/\" with timeout(2.seconds) => fn() 1\n}\n")); err != nil {
		t.Errorf("timeout(2.seconds): %v", err)
	}
}

// rate_limit(...) or timeout(...) written as a statement makes a guard
// and drops it: a compile error saying how a server's limit is written
// (serve blamed the object's max instead).
func TestGuardAsStatementRefused(t *testing.T) {
	for src, want := range map[string]string{
		"server {\n  rate_limit({ max: 100, window: 60 })\n}\n": `2:3: rate_limit(...) makes a route's guard (route GET "/x" with rate_limit(100, 1.minute)), which a statement drops: a server's limit is a block, rate_limit { max: 100, window: 1.minute }`,
		"server {\n  timeout(5.seconds)\n}\n":                   `2:3: timeout(...) makes a route's guard (route GET "/x" with timeout(5.seconds)), which a statement drops: a server's deadline is a block, limits { timeout: 5.seconds }`,
	} {
		_, err := driver.CompileFile("app.tova", []byte(src))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v", src, err)
		}
	}
}
