package serve

import (
	"encoding/json"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"tova/vm"
)

// The guide's rate_limit block, with a small allowance: past it a
// client gets 429 RATE_LIMITED with Retry-After and its request id, the
// handler does not run, and once Retry-After has passed it is served
// again. Health routes, unknown paths and refused requests do not count.
func TestRateLimitGuideBlock(t *testing.T) {
	app := startApp(t, `
server {
  rate_limit {
    requests: 3,
    window: 2.seconds,
    key: fn(req) req.ip
  }
  var served = 0
  health "/health"
  route GET "/x" => fn() {
    served += 1
    served
  }
  route GET "/served" => fn() served
}
`)
	url := app.urls[""]
	for i := 0; i < 5; i++ {
		if r := do(t, "GET", url+"/health", ""); r.status != 200 {
			t.Fatalf("health: %s", outcome(t, r))
		}
		if r := do(t, "GET", url+"/nope", ""); r.status != 404 {
			t.Fatalf("GET /nope: %s", outcome(t, r))
		}
	}
	// The window may turn between two requests: the allowance is then
	// still 3 in any 2 s, counted with the previous window's weight.
	ok, refused := 0, reply{}
	for i := 0; i < 4 && refused.status == 0; i++ {
		r := do(t, "GET", url+"/x", "")
		switch r.status {
		case 200:
			ok++
		case 429:
			refused = r
		default:
			t.Fatalf("GET /x: %s", outcome(t, r))
		}
	}
	if ok != 3 || refused.status != 429 {
		t.Fatalf("%d served before a refusal, want 3 (refusal: %s)", ok, outcome(t, refused))
	}
	e := refused.json(t)
	if code := e["error"].(map[string]any)["code"]; code != "RATE_LIMITED" || e["request_id"] != refused.header.Get("X-Request-ID") {
		t.Errorf("429 body %s", refused.body)
	}
	wait, err := strconv.Atoi(refused.header.Get("Retry-After"))
	if err != nil || wait < 1 || wait > 4 {
		t.Fatalf("Retry-After %q", refused.header.Get("Retry-After"))
	}
	// Refused requests are not counted, nor run.
	if r := do(t, "GET", url+"/x", ""); r.status != 429 {
		t.Fatalf("GET /x again: %s", outcome(t, r))
	}
	time.Sleep(time.Duration(wait) * time.Second)
	if r := do(t, "GET", url+"/x", ""); r.status != 200 || r.body != "4" {
		t.Fatalf("after Retry-After: %s", outcome(t, r))
	}
}

// The guide's per-key block: each API key has its own allowance, and a
// request without one is counted by its IP; the reference's `max`
// spelling is the same setting. A top-level block gives each server
// its own counts.
func TestRateLimitPerKey(t *testing.T) {
	app := startApp(t, `
rate_limit {
  max: 2,
  window: 1.hour,
  key: fn(req) req.headers["x-api-key"] |> unwrapOr(req.ip)
}
server "a" {
  route GET "/x" => fn() "a"
}
server "b" {
  route GET "/x" => fn() "b"
}
`)
	get := func(server, key string) int {
		if key == "" {
			return do(t, "GET", app.urls[server]+"/x", "").status
		}
		return do(t, "GET", app.urls[server]+"/x", "", "X-API-Key", key).status
	}
	var got []string
	for _, step := range []struct{ server, key string }{
		{"a", "k1"}, {"a", "k1"}, {"a", "k1"}, {"a", "k2"}, {"a", ""}, {"a", ""}, {"a", ""}, {"a", "k2"}, {"a", "k2"}, {"b", "k1"},
	} {
		got = append(got, fmt.Sprint(step.server, step.key, ":", get(step.server, step.key)))
	}
	want := "ak1:200 ak1:200 ak1:429 ak2:200 a:200 a:200 a:429 ak2:200 ak2:429 bk1:200"
	if strings.Join(got, " ") != want {
		t.Errorf("got  %s\nwant %s", strings.Join(got, " "), want)
	}
	r := do(t, "GET", app.urls["a"]+"/x", "", "X-API-Key", "k1")
	if wait, _ := strconv.Atoi(r.header.Get("Retry-After")); wait < 1 || wait > 3600+3600/2 {
		t.Errorf("Retry-After %q in an hour's window", r.header.Get("Retry-After"))
	}
}

// A client sending another's address as its key (the guide's key
// function falls back to the IP) has its own count, not that client's:
// it could lock the other out.
func TestRateLimitKeyNamingAnotherIP(t *testing.T) {
	app := startApp(t, `
security { trust_proxy: true }
rate_limit { max: 2, window: 1.hour, key: fn(req) req.headers["x-api-key"] |> unwrapOr(req.ip) }
server {
  route GET "/x" => fn() "x"
}
`)
	u := app.urls[""]
	for range 3 {
		do(t, "GET", u+"/x", "", "X-Forwarded-For", "203.0.113.5", "X-API-Key", "203.0.113.9")
	}
	if r := do(t, "GET", u+"/x", "", "X-Forwarded-For", "203.0.113.9"); r.status != 200 {
		t.Errorf("the client whose address another sent as its key: %d %s", r.status, r.body)
	}
	if r := do(t, "GET", u+"/x", "", "X-Forwarded-For", "203.0.113.5", "X-API-Key", "203.0.113.9"); r.status != 429 {
		t.Errorf("the client sending it, past its allowance: %d %s", r.status, r.body)
	}
}

// An IPv6 client is counted by its /64, which one client has whole
// (counted by address, it had 2^64 allowances), in the block and in the
// with rate_limit(...) decorator; a key function giving the client's own
// address counts it the same way.
func TestRateLimitCountsIPv6ByPrefix(t *testing.T) {
	app := startApp(t, `
security { trust_proxy: true }
server "a" {
  rate_limit { max: 2, window: 1.hour }
  route GET "/x" => fn() "x"
}
server "b" {
  route GET "/d" with rate_limit(2, 1.hour) => fn() "d"
}
`)
	for _, at := range []string{app.urls["a"] + "/x", app.urls["b"] + "/d"} {
		var got []int
		for _, ip := range []string{"2001:db8::1", "2001:db8::ffff:2", "2001:db8::3", "2001:db8:0:1::1", "203.0.113.5", "203.0.113.6"} {
			got = append(got, do(t, "GET", at, "", "X-Forwarded-For", ip).status)
		}
		if want := []int{200, 200, 429, 200, 200, 200}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: statuses %v, want %v", at, got, want)
		}
	}
}

// A key function sees req.user when the request's credentials pass the
// auth block (it runs before the route's `with auth`), so that a limit
// counts per user: it was nil, every user shared the client's address's
// allowance, and `req.user.sub` failed every request. Bad credentials
// are refused by the guard, as before, and count by address.
func TestRateLimitKeySeesTheUser(t *testing.T) {
	app := startApp(t, `
server {
  auth { secret: "auth-secret-0123456789abcdef", csrf: false }
  rate_limit { requests: 2, window: 1.hour, key: fn(req) req.user?.sub ?? req.ip }
  route POST "/login" => fn(name: String) { { token: sign_jwt({ sub: name }, { expires_in: 1.hour }) } }
  route GET "/me" with auth => fn(req) { { user: req.user.sub } }
}
`)
	u := app.urls[""]
	token := logins(t, u, "ann", "bob")
	// (the two logins took the address's allowance)
	var got []string
	for _, name := range []string{"ann", "bob", "ann", "bob", "ann", "bad"} {
		tok := token[name]
		if name == "bad" {
			tok = "x.y.z"
		}
		r := do(t, "GET", u+"/me", "", "Authorization", "Bearer "+tok)
		got = append(got, fmt.Sprint(name, ":", r.status))
	}
	if want := "ann:200 bob:200 ann:200 bob:200 ann:429 bad:429"; strings.Join(got, " ") != want {
		t.Errorf("got  %s\nwant %s", strings.Join(got, " "), want)
	}
}

// The key function's req.user is its own: a rate limit changes nothing
// of what middleware, guards and handlers see. With one, `with auth` and
// `with role` took a req.user a middleware had put there for the
// token's claims (a "user" token passed role("admin")). A public route
// sees the claims of credentials that pass, with a limit or without.
func TestRateLimitKeyLeavesAuthAlone(t *testing.T) {
	for _, limit := range []string{"", `rate_limit { requests: 100, window: 1.minute, key: fn(req) req.user?.sub ?? req.ip }`} {
		app := startApp(t, `
server {
  auth { secret: "auth-secret-0123456789abcdef", csrf: false }
  `+limit+`
  middleware fn profile(req, res) {
    if req.headers["x-as"] != nil { req.user = { sub: "as-" + req.headers["x-as"], role: "admin" } }
  }
  route POST "/login" => fn(name: String) { { token: sign_jwt({ sub: name, role: "user" }, { expires_in: 1.hour }) } }
  route GET "/me" with auth => fn(req) { { user: req.user.sub } }
  route GET "/admin" with role("admin") => fn(req) { { user: req.user.sub } }
  route GET "/open" => fn(req) { { user: req.user?.sub } }
}
`)
		u := app.urls[""]
		r := do(t, "POST", u+"/login", `{"name":"ann"}`, "Content-Type", "application/json")
		var v struct{ Token string }
		if err := json.Unmarshal([]byte(r.body), &v); err != nil || v.Token == "" {
			t.Fatalf("login: %d %s", r.status, r.body)
		}
		bearer := "Bearer " + v.Token
		var got []string
		for _, c := range []struct{ path, as string }{{"/me", "mallory"}, {"/admin", "mallory"}, {"/admin", ""}, {"/open", ""}} {
			hdrs := []string{"Authorization", bearer}
			if c.as != "" {
				hdrs = append(hdrs, "X-As", c.as)
			}
			r := do(t, "GET", u+c.path, "", hdrs...)
			got = append(got, fmt.Sprint(c.path, ":", r.status, ":", r.body))
		}
		want := `/me:200:{"user":"ann"} /admin:403:{"error":{"code":"FORBIDDEN"`
		if g := strings.Join(got, " "); !strings.HasPrefix(g, want) || !strings.HasSuffix(g, `/open:200:{"user":"ann"}`) || strings.Count(g, ":403:") != 2 {
			t.Errorf("%q:\ngot  %s\nwant %s… /admin:403… /open:200:{\"user\":\"ann\"}", limit, g, want)
		}
	}
}

// What a key function sets on req (req.user, any field) is its own,
// with or without an auth block: a public route's handler saw the
// user a key function had made up.
func TestRateLimitKeySetsNothing(t *testing.T) {
	for _, auth := range []string{"", `auth { secret: "auth-secret-0123456789abcdef", csrf: false }`} {
		app := startApp(t, `
server {
  `+auth+`
  rate_limit { requests: 100, window: 1.minute, key: fn(req) {
    req.user = { sub: "made-up" }
    req.tag = "key"
    req.id = "from-the-key"
    if req.body != nil { req.body.admin = true }
    req.ip
  } }
  route GET "/open" => fn(req) { { user: req.user, tag: req.tag } }
  route POST "/body" => fn(req, admin: Bool = false) { { admin, body: req.body } }
}
`)
		if r := do(t, "GET", app.urls[""]+"/open", "", "X-Request-ID", "client-1"); r.status != 200 || r.body != `{"user":null,"tag":null}` || r.header.Get("X-Request-ID") != "client-1" {
			t.Errorf("%q: %d %s (id %s)", auth, r.status, r.body, r.header.Get("X-Request-ID"))
		}
		// Nor does its change to the body reach the handler.
		if r := do(t, "POST", app.urls[""]+"/body", `{"z":1}`, "Content-Type", "application/json"); r.status != 200 || r.body != `{"admin":false,"body":{"z":1}}` {
			t.Errorf("%q: POST /body: %d %s", auth, r.status, r.body)
		}
	}
}

// A key function that fails fails the request (500 with its request
// id, on_error answering), as a middleware's failure does, logged as
// the key function's.
func TestRateLimitKeyFailure(t *testing.T) {
	app := startApp(t, `
server {
  rate_limit { key: fn(req) req.headers["x-api-key"].upper() }
  on_error fn(err, req) { respond(500, { failed: err.message }) }
  route GET "/x" => fn() "x"
}
`)
	if r := do(t, "GET", app.urls[""]+"/x", "", "X-API-Key", "k"); r.status != 200 {
		t.Fatalf("with a key: %s", outcome(t, r))
	}
	if r := do(t, "GET", app.urls[""]+"/x", ""); r.status != 500 || !strings.Contains(r.body, "failed") {
		t.Fatalf("key function failing: %s", outcome(t, r))
	}
	// The log names the key function, not the handler, which never ran.
	waitFor(t, func() bool { return len(logged(app.logs, "cannot call method upper on nil")) == 1 })
	if l := logged(app.logs, "cannot call method upper on nil")[0]; l["in"] != "rate_limit key of GET /x" || l["at"] != "app.tova:3:59" {
		t.Errorf("logged %v", l)
	}
}

// A route's own rate_limit(max, window, key) counts per key, as the
// server's block does (it counted per IP only: users behind one address
// shared the allowance), with req.user for credentials that pass; a key
// function that fails fails the request, logged as the key's.
func TestRateLimitDecoratorKey(t *testing.T) {
	app := startApp(t, `
server {
  auth { secret: "auth-secret-0123456789abcdef", csrf: false }
  route POST "/login" => fn(name: String) { { token: sign_jwt({ sub: name }, { expires_in: 1.hour }) } }
  route POST "/hold" with auth, rate_limit(2, 1.hour, key: fn(req) req.user.sub) => fn(req) { { held: req.user.sub } }
  route GET "/h" with rate_limit(1, 1.hour, fn(req) req.headers["x-team"].upper()) => fn() "h"
}
`)
	u := app.urls[""]
	token := logins(t, u, "ann", "bob")
	var got []string
	for _, name := range []string{"ann", "ann", "bob", "ann", "bob", "bob"} {
		r := do(t, "POST", u+"/hold", "", "Authorization", "Bearer "+token[name])
		got = append(got, fmt.Sprint(name, ":", r.status))
	}
	if want := "ann:200 ann:200 bob:200 ann:429 bob:200 bob:429"; strings.Join(got, " ") != want {
		t.Errorf("got  %s\nwant %s", strings.Join(got, " "), want)
	}
	got = nil
	for _, team := range []string{"a", "b", "a", "B"} {
		got = append(got, fmt.Sprint(team, ":", do(t, "GET", u+"/h", "", "X-Team", team).status))
	}
	if want := "a:200 b:200 a:429 B:429"; strings.Join(got, " ") != want {
		t.Errorf("got  %s\nwant %s", strings.Join(got, " "), want)
	}
	if r := do(t, "GET", u+"/h", ""); r.status != 500 {
		t.Errorf("key function failing: %s", outcome(t, r))
	}
	waitFor(t, func() bool { return len(logged(app.logs, "cannot call method upper on nil")) == 1 })
	if l := logged(app.logs, "cannot call method upper on nil")[0]; !strings.HasPrefix(fmt.Sprint(l["in"]), "rate_limit key") {
		t.Errorf("logged %v", l)
	}
}

// logins logs each of names in at the app at u's POST /login, and
// returns their tokens.
func logins(t *testing.T, u string, names ...string) map[string]string {
	t.Helper()
	token := map[string]string{}
	for _, name := range names {
		r := do(t, "POST", u+"/login", `{"name":"`+name+`"}`, "Content-Type", "application/json")
		var v struct{ Token string }
		if err := json.Unmarshal([]byte(r.body), &v); err != nil || v.Token == "" {
			t.Fatalf("login %s: %d %s", name, r.status, r.body)
		}
		token[name] = v.Token
	}
	return token
}

// The sliding window, at given times: a full window refuses until its
// first request has left the sliding window, and the wait it gives is
// the least that lets a request through.
func TestRateLimitWindowArithmetic(t *testing.T) {
	l, err := readRateLimit("app.tova:1:1", mustObject(t, map[string]vm.Value{"requests": vm.Int(10), "window": vm.Int(60)}))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Unix(1_800_000_000-1_800_000_000%60, 0)
	for i := 0; i < 10; i++ {
		if ok, _ := l.take("ip", start.Add(time.Duration(i)*time.Second)); !ok {
			t.Fatalf("request %d refused", i+1)
		}
	}
	ok, wait := l.take("ip", start.Add(30*time.Second))
	// The first of the ten leaves the sliding window at 60 s.
	if ok || wait != 30*time.Second {
		t.Fatalf("11th request: ok %v, wait %v, want a refusal and 30s", ok, wait)
	}
	if ok, _ := l.take("ip", start.Add(30*time.Second+wait-time.Millisecond)); ok {
		t.Fatal("a request before the wait passed was served")
	}
	if ok, _ := l.take("ip", start.Add(30*time.Second+wait)); !ok {
		t.Fatal("a request when the wait passed was refused")
	}
	if ok, _ := l.take("other", start.Add(30*time.Second)); !ok {
		t.Fatal("another key was refused")
	}
	// At 61 s the second has left too: room for one more, not two.
	if ok, _ := l.take("ip", start.Add(61*time.Second)); !ok {
		t.Fatal("a request at 61 s was refused")
	}
	if ok, wait := l.take("ip", start.Add(61*time.Second)); ok || wait != time.Second {
		t.Fatalf("a second request at 61 s: ok %v, wait %v, want a refusal and 1s", ok, wait)
	}
	// Keys past the bound forget the least recently seen; a long key
	// costs no more than a short one (they were kept whole: 80 000 keys
	// of 8 KiB grew the process by 800 MB).
	long := strings.Repeat("k", 8<<10)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := 0; i < rateLimitKeysKept+10; i++ {
		l.take(long+strconv.Itoa(i), start)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if n := l.counts.Len(); n != rateLimitKeysKept {
		t.Errorf("%d keys kept, want %d", n, rateLimitKeysKept)
	}
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > 64<<20 {
		t.Errorf("%d keys of 8 KiB grew the heap by %d MiB", rateLimitKeysKept, grown>>20)
	}
}

// requests: 1 allows a client one request a window: one a little over
// a window apart always passes, also across a fixed window's end; two
// across it a moment apart do not, and the wait never passes a window.
func TestRateLimitOnePerWindow(t *testing.T) {
	l, err := readRateLimit("app.tova:1:1", mustObject(t, map[string]vm.Value{"requests": vm.Int(1), "window": vm.Int(60)}))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Unix(1_800_000_000-1_800_000_000%60+54, 0)
	for i := range 6 {
		if ok, wait := l.take("steady", at); !ok {
			t.Fatalf("request %d, 61 s after the last: refused, wait %v", i+1, wait)
		}
		if ok, wait := l.take("steady", at.Add(time.Second)); ok || wait != 59*time.Second {
			t.Fatalf("request %d's second a second later: ok %v, wait %v, want a refusal and 59s", i+1, ok, wait)
		}
		at = at.Add(61 * time.Second)
	}
	edge := time.Unix(1_800_000_000-1_800_000_000%60+59, 900_000_000)
	if ok, _ := l.take("burst", edge); !ok {
		t.Fatal("the first request was refused")
	}
	if ok, wait := l.take("burst", edge.Add(200*time.Millisecond)); ok || wait != 59800*time.Millisecond {
		t.Fatalf("a second across the window's end: ok %v, wait %v, want a refusal and 59.8s", ok, wait)
	}
}

// Requests evenly spaced under the limit all pass, and at the limit
// the count is exact: with 10 a minute, one every 6 s passes for ever,
// one more between them does not.
func TestRateLimitSteadyRate(t *testing.T) {
	l, err := readRateLimit("app.tova:1:1", mustObject(t, map[string]vm.Value{"requests": vm.Int(10), "window": vm.Int(60)}))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Unix(1_800_000_000-1_800_000_000%60+7, 0)
	for i := range 50 {
		if ok, wait := l.take("ip", at); !ok {
			t.Fatalf("request %d at %v: refused, wait %v", i+1, at.Unix()%60, wait)
		}
		if i >= 10 {
			if ok, wait := l.take("ip", at.Add(3*time.Second)); ok || wait != 3*time.Second {
				t.Fatalf("one more after request %d: ok %v, wait %v, want a refusal and 3s", i+1, ok, wait)
			}
		}
		at = at.Add(6 * time.Second)
	}
}

func mustObject(t *testing.T, fields map[string]vm.Value) vm.Value {
	t.Helper()
	o := vm.NewObject()
	for k, v := range fields {
		o.Set(k, v)
	}
	return vm.ObjectValue(o)
}

// A rate_limit block's bad values fail the start, naming the block and
// key.
func TestRateLimitStartupErrors(t *testing.T) {
	wantStartErrors(t, "\nserver {\n  route GET \"/\" => fn() 1\n}", map[string]string{
		`rate_limit { requests: 0 }`:              `server: app.tova:1:24: rate_limit.requests: expected a positive Int of at most 2147483647, got 0`,
		`rate_limit { requests: 1.5 }`:            `server: app.tova:1:24: rate_limit.requests: expected a positive Int of at most 2147483647, got 1.5`,
		`rate_limit { requests: 2147483648 }`:     `server: app.tova:1:24: rate_limit.requests: expected a positive Int of at most 2147483647, got 2147483648`,
		`rate_limit { requests: 5, max: 5 }`:      `server: app.tova:1:1: rate_limit: requests and max are one setting`,
		`rate_limit { window: 100.milliseconds }`: `server: app.tova:1:22: rate_limit.window: a window must be at least a second, got 100ms`,
		`rate_limit { window: "1m" }`:             `server: app.tova:1:22: rate_limit.window: expected a duration`,
		`rate_limit { key: "x-api-key" }`:         `server: app.tova:1:19: rate_limit.key: expected a function of the request`,
	})
}

// The reference's route decorator `with rate_limit(max, window)`: each
// route it guards has its own allowance per client IP (it was a compile
// error, "a route decorator ... not applied yet"). Bad arguments fail
// the start.
func TestRateLimitDecorator(t *testing.T) {
	app := startApp(t, `
server {
  route GET "/a" with rate_limit(2, 1.hour) => fn() "a"
  route GET "/b" with rate_limit(1) => fn() "b"
  route GET "/free" => fn() "free"
}
`)
	url := app.urls[""]
	var got []string
	for _, path := range []string{"/a", "/a", "/b", "/a", "/b", "/free", "/free", "/free"} {
		got = append(got, fmt.Sprint(path, ":", do(t, "GET", url+path, "").status))
	}
	if want := "/a:200 /a:200 /b:200 /a:429 /b:429 /free:200 /free:200 /free:200"; strings.Join(got, " ") != want {
		t.Errorf("got  %s\nwant %s", strings.Join(got, " "), want)
	}
	r := do(t, "GET", url+"/a", "")
	if wait, _ := strconv.Atoi(r.header.Get("Retry-After")); r.status != 429 || wait < 1 || wait > 3600*3/2 ||
		!strings.Contains(r.body, `"RATE_LIMITED"`) || !strings.Contains(r.body, r.header.Get("X-Request-ID")) {
		t.Errorf("refused: %d %s %v", r.status, r.body, r.header)
	}
	wantStartErrors(t, "", map[string]string{
		"server {\n  route GET \"/\" with rate_limit(5, 10, fn(r) 1, 4) => fn() 1\n}": `server: app.tova:2:32: TypeError: rate_limit(max, window, key) takes up to 3 arguments, got 4`,
		"server {\n  route GET \"/\" with rate_limit(5, 10, 3) => fn() 1\n}":          `server: app.tova:2:32: ValueError: rate_limit.key: expected a function of the request (key: fn(req) req.ip), got 3`,
		"server {\n  route GET \"/\" with rate_limit(1, 100000.days) => fn() 1\n}":    `server: app.tova:2:32: ValueError: rate_limit.window: a window must be at most 366 days, got 100000d`,
		"server {\n  route GET \"/\" with rate_limit(0) => fn() 1\n}":                 `server: `,
		"server {\n  route GET \"/\" with rate_limit(5, \"1m\") => fn() 1\n}":         `server: `,
	})
}
