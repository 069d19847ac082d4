package serve

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"tova/netio"
)

const idempotencyApp = `
server {
  var orders = 0
  var fail_next = true
  route POST "/orders" => fn(item: String) {
    orders = orders + 1
    with_headers(respond(201, { n: orders, item: item }), { "Location": "/orders/{orders}", "Set-Cookie": set_cookie("last", "{orders}") })
  }
  route PUT "/orders/:id" => fn(id: Int) { orders = orders + 1; { id, n: orders } }
  route GET "/orders" => fn() { orders = orders + 1; { n: orders } }
  route POST "/flaky" => fn() {
    orders = orders + 1
    if fail_next {
      fail_next = false
      1 / nil
    }
    { n: orders }
  }
  route POST "/slow" => fn() {
    print("slow in")
    sleep(400.milliseconds)
    orders = orders + 1
    { n: orders }
  }
  route POST "/own" => fn() with_headers(respond(201, { ok: true }), { "X-Idempotent-Replayed": "false" })
  route GET "/count" => fn() orders
}
`

// A request with an Idempotency-Key its server answered with a 2xx gets
// that answer again, marked, without running its handler; a request
// without one, or of another method, path or body, is not replayed.
func TestIdempotencyKeyReplays(t *testing.T) {
	app := startApp(t, idempotencyApp)
	u := app.urls[""]
	count := func() string { return do(t, "GET", u+"/count", "").body }
	post := func(path, body string, headers ...string) reply {
		return do(t, "POST", u+path, body, append([]string{"Content-Type", "application/json"}, headers...)...)
	}

	first := post("/orders", `{"item":"tea"}`, "Idempotency-Key", "k-1")
	if first.status != 201 || first.body != `{"n":1,"item":"tea"}` || first.header.Get(idempotencyReplayed) != "" {
		t.Fatalf("first = %d %q %v", first.status, first.body, first.header)
	}
	if first.header.Get("Set-Cookie") == "" {
		t.Fatalf("first has no Set-Cookie: %v", first.header)
	}
	for range 3 {
		again := post("/orders", `{"item":"tea"}`, "Idempotency-Key", "k-1")
		if again.status != 201 || again.body != first.body || again.header.Get(idempotencyReplayed) != "true" ||
			again.header.Get("Location") != "/orders/1" || again.header.Get("Content-Type") != "application/json" {
			t.Fatalf("replay = %d %q %v", again.status, again.body, again.header)
		}
		if again.header.Get("Set-Cookie") != "" {
			t.Errorf("a replay carries Set-Cookie: %v", again.header)
		}
		if again.header.Get("X-Request-Id") == first.header.Get("X-Request-Id") {
			t.Errorf("a replay has the first request's id")
		}
	}
	if c := count(); c != "1" {
		t.Fatalf("after 4 posts with one key, orders = %s", c)
	}

	// The same key for another request: refused, nothing runs.
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/orders", `{"item":"coffee"}`},
		{"POST", "/orders?x=1", `{"item":"tea"}`},
		{"PUT", "/orders/1", ``},
	} {
		r := do(t, c.method, u+c.path, c.body, "Content-Type", "application/json", "Idempotency-Key", "k-1")
		if r.status != 422 || r.json(t)["error"].(map[string]any)["code"] != "IDEMPOTENCY_KEY_REUSED" {
			t.Errorf("%s %s with k-1 = %d %s", c.method, c.path, r.status, r.body)
		}
	}
	// Another content type: the same bytes may mean another request.
	if r := post("/orders", `{"item":"tea"}`, "Idempotency-Key", "k-1", "Content-Type", "text/plain"); r.status != 422 {
		t.Errorf("k-1 as text/plain = %d %s", r.status, r.body)
	}
	// Another Authorization (a bearer token renewed, or another's): the
	// key is bound to its first request's, never replayed nor run again.
	if r := post("/orders", `{"item":"tea"}`, "Idempotency-Key", "k-1", "Authorization", "Bearer other"); r.status != 422 {
		t.Errorf("k-1 with other credentials = %d %s", r.status, r.body)
	}
	if c := count(); c != "1" {
		t.Fatalf("after refused posts, orders = %s", c)
	}
	// Another API key: another client's key, which runs.
	if r := post("/orders", `{"item":"tea"}`, "Idempotency-Key", "k-1", "X-API-Key", "other"); r.status != 201 || r.header.Get(idempotencyReplayed) != "" {
		t.Errorf("k-1 with another API key = %d %s", r.status, r.body)
	}
	if c := count(); c != "2" {
		t.Fatalf("after another client's k-1, orders = %s", c)
	}

	// Another key, no key, and a safe method all run.
	if r := post("/orders", `{"item":"tea"}`, "Idempotency-Key", "k-2"); r.body != `{"n":3,"item":"tea"}` {
		t.Errorf("k-2 = %d %s", r.status, r.body)
	}
	for i := 4; i <= 5; i++ {
		if r := post("/orders", `{"item":"tea"}`); r.body != fmt.Sprintf(`{"n":%d,"item":"tea"}`, i) {
			t.Errorf("no key = %d %s", r.status, r.body)
		}
	}
	for i := 6; i <= 7; i++ {
		if r := do(t, "GET", u+"/orders", "", "Idempotency-Key", "k-get"); r.body != fmt.Sprintf(`{"n":%d}`, i) || r.header.Get(idempotencyReplayed) != "" {
			t.Errorf("GET with a key = %d %s", r.status, r.body)
		}
	}
	// PUT is replayed as POST is.
	for range 2 {
		if r := do(t, "PUT", u+"/orders/9", "", "Idempotency-Key", "k-put"); r.body != `{"id":9,"n":8}` {
			t.Errorf("PUT with a key = %d %s", r.status, r.body)
		}
	}

	// A handler's own X-Idempotent-Replayed is the runtime's to give.
	do(t, "POST", u+"/own", "", "Idempotency-Key", "k-own")
	if r := do(t, "POST", u+"/own", "", "Idempotency-Key", "k-own"); strings.Join(r.header.Values(idempotencyReplayed), ",") != "true" {
		t.Errorf("a replay of an answer with its own %s: %q", idempotencyReplayed, r.header.Values(idempotencyReplayed))
	}
	// Malformed keys are refused before anything runs.
	for _, h := range [][]string{
		{"Idempotency-Key", strings.Repeat("k", 256)},
		{"Idempotency-Key", "has space"},
		{"Idempotency-Key", ""},
		{"Idempotency-Key", "a", "Idempotency-Key", "b"},
	} {
		req, _ := http.NewRequest("POST", u+"/orders", strings.NewReader(`{"item":"tea"}`))
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i < len(h); i += 2 {
			req.Header.Add(h[i], h[i+1])
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Errorf("keys %q = %d", h[1:], resp.StatusCode)
		}
	}
	if c := count(); c != "8" {
		t.Fatalf("orders = %s, want 8", c)
	}
}

// A 5xx is kept as a 2xx is: what the handler did before it failed
// stays, and a retry running it again would do it twice (it ran: the
// key was free after a 500). A 4xx is not kept. A request whose key's
// first request still runs gets 409.
func TestIdempotencyKeyFailuresAndRequestsInFlight(t *testing.T) {
	app := startApp(t, idempotencyApp)
	u := app.urls[""]
	r := do(t, "POST", u+"/flaky", "", "Idempotency-Key", "f")
	if r.status != 500 {
		t.Fatalf("first flaky = %d %s", r.status, r.body)
	}
	for range 2 {
		if again := do(t, "POST", u+"/flaky", "", "Idempotency-Key", "f"); again.status != 500 || again.body != r.body || again.header.Get(idempotencyReplayed) != "true" {
			t.Fatalf("flaky retried = %d %s %v", again.status, again.body, again.header)
		}
	}
	// another key runs it again
	if r := do(t, "POST", u+"/flaky", "", "Idempotency-Key", "f2"); r.status != 200 || r.body != `{"n":2}` {
		t.Fatalf("flaky with a new key = %d %s", r.status, r.body)
	}
	// A 4xx (a parameter of the wrong type) is not kept either.
	if r := do(t, "PUT", u+"/orders/x", "", "Idempotency-Key", "p"); r.status != 400 {
		t.Fatalf("PUT /orders/x = %d %s", r.status, r.body)
	}
	if r := do(t, "PUT", u+"/orders/x", "", "Idempotency-Key", "p"); r.status != 400 || r.header.Get(idempotencyReplayed) != "" {
		t.Fatalf("PUT /orders/x again = %d %v", r.status, r.header)
	}

	done := make(chan reply, 1)
	go func() { done <- do(t, "POST", u+"/slow", "", "Idempotency-Key", "s") }()
	waitFor(t, func() bool { return strings.Contains(app.stdout.String(), "slow in") })
	busy := do(t, "POST", u+"/slow", "", "Idempotency-Key", "s")
	if busy.status != 409 || busy.header.Get("Retry-After") != "1" || busy.json(t)["error"].(map[string]any)["code"] != "IDEMPOTENCY_IN_PROGRESS" {
		t.Fatalf("while the first runs = %d %s %v", busy.status, busy.body, busy.header)
	}
	first := <-done
	if first.status != 200 || first.body != `{"n":3}` {
		t.Fatalf("slow = %d %s", first.status, first.body)
	}
	if r := do(t, "POST", u+"/slow", "", "Idempotency-Key", "s"); r.body != first.body || r.header.Get(idempotencyReplayed) != "true" {
		t.Fatalf("slow after = %d %s", r.status, r.body)
	}
	if n := strings.Count(app.stdout.String(), "slow in"); n != 1 {
		t.Errorf("the slow handler ran %d times", n)
	}
}

// A request that met DatabaseUnavailable (503 DATABASE_UNAVAILABLE: the
// client may retry) leaves its key free: the retry runs, and once the
// database is back succeeds, where it got the 503 again for a day.
func TestIdempotencyKeyFreedByDatabaseUnavailable(t *testing.T) {
	dir := t.TempDir()
	app := startApp(t, `
db { database: "app.db" }
model Item { name: String }
server {
  route POST "/items" => fn() {
    print("ran")
    Item.create({ name: "a" })
  }
}
`, func(o *Options) { o.Dir = dir })
	// (a file removed under the server: DatabaseUnavailable from then on)
	if err := os.Remove(filepath.Join(dir, "app.db")); err != nil {
		t.Fatal(err)
	}
	u := app.urls[""]
	for i := range 2 {
		r := do(t, "POST", u+"/items", "", "Idempotency-Key", "k-1")
		if r.status != 503 || !strings.Contains(r.body, "DATABASE_UNAVAILABLE") || r.header.Get(idempotencyReplayed) != "" {
			t.Fatalf("try %d, with the database unreachable: %d %s %v", i+1, r.status, r.body, r.header)
		}
	}
	if n := strings.Count(app.stdout.String(), "ran"); n != 2 {
		t.Errorf("the handler ran %d times, want each try's", n)
	}
}

// A route's own with rate_limit(...) counts a replay, and refuses one
// past its limit, as the server's rate_limit block does (the replay
// skipped the guard: it went out after the limit had answered 429).
func TestIdempotencyReplayCountedByRouteRateLimit(t *testing.T) {
	app := startApp(t, `
server {
  route POST "/a" with rate_limit(3, 1.minute) => fn() { { ok: true } }
}
`)
	u := app.urls[""]
	var got []string
	for i := range 5 {
		hdrs := []string{}
		if i == 0 || i == 4 {
			hdrs = []string{"Idempotency-Key", "same"}
		}
		r := do(t, "POST", u+"/a", "", hdrs...)
		got = append(got, fmt.Sprintf("%d%s", r.status, map[bool]string{true: "r"}[r.header.Get(idempotencyReplayed) != ""]))
	}
	// (the second replay, the fifth request, is past the limit of 3)
	if want := "200 200 200 429 429"; strings.Join(got, " ") != want {
		t.Errorf("statuses %q, want %q", strings.Join(got, " "), want)
	}
}

// The store forgets an answer after 24 hours, and its oldest answers
// past its bounds.
func TestIdempotencyStoreBounds(t *testing.T) {
	d := newIdempotency(nil, nil)
	now := time.Unix(1_000_000, 0)
	d.now = func() time.Time { return now }
	type request struct {
		key   string
		print [32]byte
	}
	req := func(key, body string) request {
		scope, print := d.fingerprint(&netio.Request{Method: "POST", Path: "/p", Body: []byte(body)})
		return request{string(scope[:]) + key, print}
	}
	begin := func(r request, id string) (*netio.Response, *idemClaim) { return d.take(r.key, r.print, id) }
	ok := &netio.Response{Status: 201, Body: []byte("first")}
	if resp, c := begin(req("a", "x"), "id"); resp != nil || c == nil {
		t.Fatalf("first begin = %v %v", resp, c)
	} else {
		c.settle(ok, false)
	}
	ok.Body[0] = 'F' // the store keeps its own copy
	now = now.Add(idempotencyTTL - time.Second)
	if resp, _ := begin(req("a", "x"), "id"); resp == nil || string(resp.Body) != "first" {
		t.Fatalf("within a day = %v", resp)
	}
	now = now.Add(time.Second)
	if resp, c := begin(req("a", "x"), "id"); resp != nil || c == nil {
		t.Fatalf("after a day = %v %v", resp, c)
	} else {
		c.release()
	}

	// A key whose request runs is never pushed out by the answers kept
	// meanwhile, however many or large: a retry gets 409, not a second run.
	_, running := begin(req("running", "x"), "id")
	for i := range idempotencyKeys + 10 {
		_, c := begin(req(fmt.Sprint("many", i), ""), "id")
		c.settle(&netio.Response{Body: []byte("ok")}, false)
	}
	if resp, _ := begin(req("running", "x"), "id"); resp == nil || resp.Status != 409 {
		t.Fatalf("a running key after %d answers: %+v", idempotencyKeys+10, resp)
	}
	if d.entries.Len() > idempotencyKeys {
		t.Errorf("%d answers kept, bound %d", d.entries.Len(), idempotencyKeys)
	}

	// The body budget: past it the oldest answers go.
	big := make([]byte, idempotencyMaxBody)
	n := idempotencyBytes/idempotencyMaxBody + 2
	for i := range n {
		_, c := begin(req(fmt.Sprint("big", i), ""), "id")
		c.settle(&netio.Response{Body: big}, false)
	}
	if d.bytes > idempotencyBytes {
		t.Errorf("kept %d bytes, bound %d", d.bytes, idempotencyBytes)
	}
	if resp, c := begin(req("big0", ""), "id"); resp != nil || c == nil {
		t.Errorf("the oldest big answer is still kept")
	}
	if resp, _ := begin(req(fmt.Sprint("big", n-1), ""), "id"); resp == nil {
		t.Errorf("the newest big answer is gone")
	}
	if resp, _ := begin(req("running", "x"), "id"); resp == nil || resp.Status != 409 {
		t.Fatalf("a running key after %d MiB of answers: %+v", n, resp)
	}
	running.settle(&netio.Response{Body: []byte("ran")}, false)
	if resp, _ := begin(req("running", "x"), "id"); resp == nil || string(resp.Body) != "ran" {
		t.Fatalf("the running key's answer: %+v", resp)
	}
	// A body over the largest kept is not replayed.
	_, c := begin(req("huge", ""), "id")
	c.settle(&netio.Response{Body: make([]byte, idempotencyMaxBody+1)}, false)
	if resp, c := begin(req("huge", ""), "id"); resp != nil || c == nil {
		t.Errorf("a body over %d bytes was kept", idempotencyMaxBody)
	}
}

// A key is its client's: the same key with other credentials (the auth
// block's API key header counts, as Authorization does) is another key,
// which runs, never replaying the first client's answer nor telling its
// client that another used the key.
func TestIdempotencyKeyScopedByCredentials(t *testing.T) {
	app := startApp(t, `
server {
  auth { type: "api_key", keys: ["key-one", "key-two"], csrf: false }
  var n = 0
  route POST "/x" with auth => fn() { n = n + 1; { n } }
}
`)
	u := app.urls[""]
	if r := do(t, "POST", u+"/x", "", "Idempotency-Key", "i", "X-API-Key", "key-one"); r.status != 200 || r.body != `{"n":1}` {
		t.Fatalf("first = %d %s", r.status, r.body)
	}
	if r := do(t, "POST", u+"/x", "", "Idempotency-Key", "i", "X-API-Key", "key-one"); r.body != `{"n":1}` || r.header.Get(idempotencyReplayed) != "true" {
		t.Fatalf("retry = %d %s", r.status, r.body)
	}
	for _, h := range [][]string{{"X-API-Key", "nope"}, {}} {
		r := do(t, "POST", u+"/x", "", append([]string{"Idempotency-Key", "i"}, h...)...)
		if r.status != 401 {
			t.Errorf("with %q = %d %s", h, r.status, r.body)
		}
	}
	for range 2 {
		if r := do(t, "POST", u+"/x", "", "Idempotency-Key", "i", "X-API-Key", "key-two"); r.body != `{"n":2}` {
			t.Errorf("key-two's i = %d %s", r.status, r.body)
		}
	}
	if r := do(t, "POST", u+"/x", "", "Idempotency-Key", "i", "X-API-Key", "key-one"); r.body != `{"n":1}` || r.header.Get(idempotencyReplayed) != "true" {
		t.Errorf("key-one's i after key-two's = %d %s", r.status, r.body)
	}
}

// A key checked by the program itself (a guard reading X-API-Key, as the
// guide does) sets a client's Idempotency-Keys apart too: another
// client's same key runs. Other credentials, a token header and every
// cookie of the session's name, bind the key: another request with the
// key and other ones (a session changed since, a token renewed, another
// client) gets 422, never the first one's answer, nor runs again.
func TestIdempotencyKeyScopedByAPIKeyBoundToOtherCredentials(t *testing.T) {
	app := startApp(t, `
server {
  sessions { secret: env("SESSION_SECRET"), cookie_name: "sess" }
  fn keyed(req) { req.headers["x-api-key"] != nil || req.headers["x-auth-token"] != nil }
  var n = 0
  route POST "/x" with keyed => fn(req) { n = n + 1; { n, key: req.headers["x-api-key"] } }
}
`, withEnv(map[string]string{"SESSION_SECRET": sessionSecret}))
	u := app.urls[""]
	first := do(t, "POST", u+"/x", "", "Idempotency-Key", "i", "X-API-Key", "alice", "Cookie", "sess=junk")
	if first.status != 200 || first.body != `{"n":1,"key":"alice"}` {
		t.Fatalf("first = %d %s", first.status, first.body)
	}
	if r := do(t, "POST", u+"/x", "", "Idempotency-Key", "i", "X-API-Key", "alice", "Cookie", "sess=junk"); r.body != first.body || r.header.Get(idempotencyReplayed) != "true" {
		t.Fatalf("retry = %d %s", r.status, r.body)
	}
	if r := do(t, "POST", u+"/x", "", "Idempotency-Key", "i", "X-API-Key", "mallory", "Cookie", "sess=junk"); r.status != 200 || r.body != `{"n":2,"key":"mallory"}` || r.header.Get(idempotencyReplayed) != "" {
		t.Errorf("another API key = %d %s", r.status, r.body)
	}
	for _, h := range [][]string{
		{"X-API-Key", "alice", "X-Auth-Token", "t", "Cookie", "sess=junk"},
		{"X-API-Key", "alice", "Cookie", "sess=junk; sess=other"},
		{"X-API-Key", "alice", "Cookie", "sess=changed"},
		{"X-API-Key", "alice"},
	} {
		if r := do(t, "POST", u+"/x", "", append([]string{"Idempotency-Key", "i"}, h...)...); r.status != 422 {
			t.Errorf("with %q = %d %s", h, r.status, r.body)
		}
	}
	// Headers that carry no credential may change between tries (a
	// signature made anew for each try among them).
	if r := do(t, "POST", u+"/x", "", "Idempotency-Key", "i", "X-API-Key", "alice", "Cookie", "sess=junk", "User-Agent", "retry/2", "X-Request-ID", "another", "X-Signature", "t=2"); r.body != first.body {
		t.Errorf("retry with other headers = %d %s", r.status, r.body)
	}
}

// A replay carries the session cookie the first answer set: the key is
// bound to the session cookie the request came with, so that a replay
// goes to a client still holding the session from before (a checkout
// that emptied the cart: the replay's client kept its full cart, and
// could order again). Other cookies are still not replayed.
func TestIdempotencyReplaysTheSessionCookie(t *testing.T) {
	app := startApp(t, `
server {
  sessions { secret: "a-very-long-session-secret-for-tests", max_age: 1.hour }
  var orders = 0
  route POST "/cart" => fn(req, item: String) { req.session.set("cart", [item]); { cart: [item] } }
  route GET "/cart" => fn(req) { { cart: req.session.get("cart") ?? [] } }
  route POST "/checkout" => fn(req) {
    cart = req.session.get("cart") ?? []
    if len(cart) == 0 { return respond(400, { error: "cart is empty" }) }
    orders += 1
    req.session.delete("cart")
    with_headers(respond(201, { order: orders, items: cart }), { "Set-Cookie": set_cookie("last", "{orders}") })
  }
}
`)
	u := app.urls[""]
	sid := func(r reply) string { // the session's Set-Cookie line
		for _, c := range r.header.Values("Set-Cookie") {
			if strings.HasPrefix(c, "__sid=") {
				return c
			}
		}
		return ""
	}
	r := do(t, "POST", u+"/cart", `{"item":"last-one"}`, "Content-Type", "application/json")
	before, _, _ := strings.Cut(strings.TrimPrefix(sid(r), "__sid="), ";")
	if r.status != 200 || before == "" {
		t.Fatalf("cart: %d %v", r.status, r.header)
	}
	first := do(t, "POST", u+"/checkout", "", "Cookie", "__sid="+before, "Idempotency-Key", "k1")
	if first.status != 201 || sid(first) == "" {
		t.Fatalf("checkout: %d %s %v", first.status, first.body, first.header)
	}
	// The answer is lost: the client retries with the cookie it has.
	again := do(t, "POST", u+"/checkout", "", "Cookie", "__sid="+before, "Idempotency-Key", "k1")
	if again.status != 201 || again.header.Get(idempotencyReplayed) != "true" || again.body != first.body {
		t.Fatalf("retry: %d %s %v", again.status, again.body, again.header)
	}
	if sid(again) != sid(first) {
		t.Errorf("the replay's session cookie %q, want the first answer's %q", sid(again), sid(first))
	}
	for _, c := range again.header.Values("Set-Cookie") {
		if strings.HasPrefix(c, "last=") {
			t.Errorf("a replay carries another cookie: %s", c)
		}
	}
	after, _, _ := strings.Cut(strings.TrimPrefix(sid(again), "__sid="), ";")
	if cart := do(t, "GET", u+"/cart", "", "Cookie", "__sid="+after); cart.body != `{"cart":[]}` {
		t.Errorf("the cart after the replay: %s", cart.body)
	}
}

// A request cut at its route's deadline after its handler committed
// work is kept too: a retry with the key gets the 504 again, and the
// work is not done twice (there were two orders).
func TestIdempotencyKeyKeepsTheDeadline(t *testing.T) {
	app := startApp(t, `
server {
  var orders = 0
  route POST "/checkout" with timeout(300) => fn() {
    orders += 1
    sleep(1000)
    respond(201, { order: orders })
  }
  route GET "/count" => fn() orders
  var busy = true
  route POST "/later" => fn() { if busy { busy = false; return respond(503, "retry later") }; "done" }
}
`)
	u := app.urls[""]
	// A 5xx the code answered itself says "retry": the key is free.
	if r := do(t, "POST", u+"/later", "", "Idempotency-Key", "l"); r.status != 503 {
		t.Fatalf("first /later = %d %s", r.status, r.body)
	}
	if r := do(t, "POST", u+"/later", "", "Idempotency-Key", "l"); r.status != 200 || r.body != `"done"` {
		t.Errorf("retried /later = %d %s", r.status, r.body)
	}
	first := do(t, "POST", u+"/checkout", "", "Idempotency-Key", "order-42")
	if first.status != 504 {
		t.Fatalf("first = %d %s", first.status, first.body)
	}
	// (a retry while the cut handler winds down is 409; then the kept 504)
	var again reply
	waitFor(t, func() bool {
		again = do(t, "POST", u+"/checkout", "", "Idempotency-Key", "order-42")
		return again.status != 409
	})
	if again.status != 504 || again.header.Get(idempotencyReplayed) != "true" {
		t.Errorf("retry = %d %s %v", again.status, again.body, again.header)
	}
	if c := do(t, "GET", u+"/count", "").body; c != "1" {
		t.Errorf("orders = %s, want 1", c)
	}
}

// Behind a jwt auth block, a key is its user's: two users' same key are
// two keys (the second was refused 422, and learnt the first had used
// it), and a user's retry with a renewed token of the same subject is a
// replay.
func TestIdempotencyKeyScopedByTokenSubject(t *testing.T) {
	app := startApp(t, `
server {
  auth { type: "jwt", secret: "`+authSecret+`", csrf: false }
  var n = 0
  route POST "/x" with auth => fn(req) { n = n + 1; { n, who: req.user.sub } }
}
`)
	u := app.urls[""]
	bob := "Bearer " + token(t, authSecret, jwt.MapClaims{"sub": "bob", "iss": nil, "aud": nil})
	mallory := "Bearer " + token(t, authSecret, jwt.MapClaims{"sub": "mallory", "iss": nil, "aud": nil})
	if r := do(t, "POST", u+"/x", "", "Idempotency-Key", "k-123", "Authorization", bob); r.body != `{"n":1,"who":"bob"}` {
		t.Fatalf("bob = %d %s", r.status, r.body)
	}
	if r := do(t, "POST", u+"/x", "", "Idempotency-Key", "k-123", "Authorization", mallory); r.status != 200 || r.body != `{"n":2,"who":"mallory"}` || r.header.Get(idempotencyReplayed) != "" {
		t.Errorf("mallory's k-123 = %d %s", r.status, r.body)
	}
	renewed := "Bearer " + token(t, authSecret, jwt.MapClaims{"sub": "bob", "iss": nil, "aud": nil, "exp": time.Now().Add(2 * time.Hour).Unix()})
	if renewed == bob {
		t.Fatal("the renewed token is the same text")
	}
	if r := do(t, "POST", u+"/x", "", "Idempotency-Key", "k-123", "Authorization", bob); r.body != `{"n":1,"who":"bob"}` || r.header.Get(idempotencyReplayed) != "true" {
		t.Errorf("bob's retry = %d %s", r.status, r.body)
	}
	// A renewed token is another credential: bound as before (422), but
	// within bob's keys.
	if r := do(t, "POST", u+"/x", "", "Idempotency-Key", "k-123", "Authorization", renewed); r.status != 422 {
		t.Errorf("bob's renewed token = %d %s", r.status, r.body)
	}
}
