package serve

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

const sessionSecret = "0123456789abcdef-test-secret"

// withEnv gives the program an environment of its own.
func withEnv(env map[string]string) func(*Options) {
	return func(o *Options) {
		o.Getenv = func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	}
}

// The guide's sessions block, and routes that log in, read, change
// nothing and log out. A middleware and a guard see the same session as
// the handler.
const sessionsApp = `server {
  sessions {
    secret: env("SESSION_SECRET"),
    max_age: 7.days,
    secure: true,          // HTTPS only
    http_only: true,       // No JavaScript access
    same_site: "strict"    // CSRF protection
  }
  middleware fn count(req, next) {
    req.session.set("hits", (req.session.get("hits") ?? 0) + 1)
    next(req)
  }
  fn logged_in(req) { req.session.get("user") != nil }
  route POST "/login" => fn(req, name: String) {
    req.session.set("user", name)
    req.session.set("roles", ["admin"])
    "hello {name}"
  }
  route GET "/me" with logged_in => fn(req) { { user: req.session.get("user"), data: req.session.data } }
  route GET "/peek" => fn(req) { { user: req.session.get("user"), missing: req.session.get("nope") } }
  route POST "/logout" => fn(req) { req.session.destroy(); "bye" }
  route POST "/forget" => fn(req) { req.session.set("user", nil); req.session.data }
}
`

// sessionsRaw is sessionsApp without the middleware (which changes the
// session on every request).
var sessionsRaw = strings.Replace(sessionsApp, `req.session.set("hits", (req.session.get("hits") ?? 0) + 1)`, ``, 1)

// cookieOf returns the name=value of the reply's Set-Cookie (the one
// line there must be), and the whole line.
func cookieOf(t *testing.T, r reply) (pair, line string) {
	t.Helper()
	lines := r.header.Values("Set-Cookie")
	if len(lines) != 1 {
		t.Fatalf("Set-Cookie lines %q, want one (status %d %s)", lines, r.status, r.body)
	}
	pair, _, _ = strings.Cut(lines[0], ";")
	return pair, lines[0]
}

// Sessions were only warned of ("declaration not applied"): req.session
// was nil. The session lives in its cookie, sealed with the secret.
func TestSessionsKeepValuesInTheirCookie(t *testing.T) {
	app := startApp(t, sessionsApp, withEnv(map[string]string{"SESSION_SECRET": sessionSecret}))
	url := app.urls[""]
	if w := logged(app.logs, notAppliedMsg); len(w) > 0 {
		t.Errorf("sessions warned of as not applied: %v", w)
	}

	if r := do(t, "GET", url+"/me", ""); r.status != 403 {
		t.Fatalf("GET /me without a session: %d %s", r.status, r.body)
	}
	r := do(t, "POST", url+"/login", `{"name":"ada"}`)
	if r.status != 200 || r.body != `"hello ada"` {
		t.Fatalf("login: %d %s", r.status, r.body)
	}
	sid, line := cookieOf(t, r)
	if !strings.HasPrefix(sid, "__sid=") || strings.Contains(sid, "ada") {
		t.Errorf("cookie %q: want __sid=<sealed>, the values not readable", sid)
	}
	if want := "; Path=/; Max-Age=604800; HttpOnly; Secure; SameSite=Strict"; !strings.HasSuffix(line, want) {
		t.Errorf("Set-Cookie %q, want attributes %q", line, want)
	}

	// The cookie brings the session back; the middleware, the guard and
	// the handler share it (the middleware's count went up to 2).
	r = do(t, "GET", url+"/me", "", "Cookie", sid)
	if r.status != 200 || r.body != `{"user":"ada","data":{"hits":2,"user":"ada","roles":["admin"]}}` {
		t.Fatalf("GET /me with the cookie: %d %s", r.status, r.body)
	}
	sid, _ = cookieOf(t, r) // changed (hits): sent again

	// Logging out sends an expiring cookie.
	r = do(t, "POST", url+"/logout", "", "Cookie", sid)
	if _, line := cookieOf(t, r); !strings.HasPrefix(line, "__sid=; Path=/; Max-Age=0;") {
		t.Errorf("destroy: Set-Cookie %q, want an expiring __sid", line)
	}
}

// A request that does not change the session sends no cookie; one with
// a cookie that does not open (tampered with, garbage) has an empty
// session, answered as any other, never an error.
func TestSessionUnchangedOrTampered(t *testing.T) {
	app := startApp(t, sessionsRaw, withEnv(map[string]string{"SESSION_SECRET": sessionSecret}))
	url := app.urls[""]
	sid, _ := cookieOf(t, do(t, "POST", url+"/login", `{"name":"ada"}`))

	r := do(t, "GET", url+"/peek", "", "Cookie", sid)
	if r.status != 200 || r.body != `{"user":"ada","missing":null}` {
		t.Fatalf("GET /peek: %d %s", r.status, r.body)
	}
	if c := r.header.Values("Set-Cookie"); len(c) > 0 {
		t.Errorf("unchanged session sent Set-Cookie %q", c)
	}
	// Deleting a key that is not there changes nothing either.
	if r := do(t, "POST", url+"/logout", ""); len(r.header.Values("Set-Cookie")) != 1 {
		t.Errorf("destroy without a session: Set-Cookie %q", r.header.Values("Set-Cookie"))
	}

	// Setting nil is a delete: on an empty session it changes nothing (it
	// sent a cookie holding {"user":null}); on a session holding it, it
	// drops the key.
	if r := do(t, "POST", url+"/forget", ""); r.body != "{}" || len(r.header.Values("Set-Cookie")) > 0 {
		t.Errorf("set of nil on an empty session: %s, Set-Cookie %q", r.body, r.header.Values("Set-Cookie"))
	}
	if r := do(t, "POST", url+"/forget", "", "Cookie", sid); r.body != `{"roles":["admin"]}` || len(r.header.Values("Set-Cookie")) != 1 {
		t.Errorf("set of nil on a held key: %s, Set-Cookie %q", r.body, r.header.Values("Set-Cookie"))
	}

	name, value, _ := strings.Cut(sid, "=")
	flip := []byte(value)
	flip[len(flip)/2] ^= 1
	// A cookie in another base64 spelling (the last character's unused
	// low bits set, in one that ends in padding) was read as the same
	// session.
	var respelt string
	for _, who := range []string{"ada", "adab", "adabc"} {
		c, _ := cookieOf(t, do(t, "POST", url+"/login", `{"name":"`+who+`"}`))
		_, v, _ := strings.Cut(c, "=")
		if pad := len(v) - len(strings.TrimRight(v, "=")); pad > 0 {
			const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
			b, last := []byte(v), len(v)-pad-1
			b[last] = alphabet[strings.IndexByte(alphabet, v[last])^1]
			if r := do(t, "GET", url+"/peek", "", "Cookie", c); r.body != `{"user":"`+who+`","missing":null}` {
				t.Fatalf("GET /peek as %s: %s", who, r.body)
			}
			respelt = name + "=" + string(b)
			break
		}
	}
	if respelt == "" {
		t.Fatal("no session cookie ended in padding: no other spelling to try")
	}
	for _, bad := range []string{respelt, name + "=" + string(flip), name + "=" + value[:len(value)-4], name + "=garbage", name + "="} {
		r := do(t, "GET", url+"/peek", "", "Cookie", bad)
		if r.status != 200 || r.body != `{"user":null,"missing":null}` {
			t.Errorf("cookie %.40q: %d %s, want an empty session", bad, r.status, r.body)
		}
		if c := r.header.Values("Set-Cookie"); len(c) > 0 {
			t.Errorf("cookie %.40q: Set-Cookie %q", bad, c)
		}
	}
	if len(logged(app.logs, "session cookie ignored: the request has no session")) == 0 {
		t.Errorf("no debug line for the ignored cookies:\n%s", app.logs.String())
	}
}

// The reference's form: `session { secret, max_age (seconds),
// cookie_name }`, SameSite=Lax and HttpOnly, not Secure; a session
// older than max_age is no session.
func TestSessionReferenceFormExpires(t *testing.T) {
	app := startApp(t, `server {
  session { secret: "`+sessionSecret+`", max_age: 1, cookie_name: "sid" }
  route POST "/set" => fn(req) { req.session.set("n", 42); "ok" }
  route GET "/get" => fn(req) { req.session.get("n") }
}
`)
	url := app.urls[""]
	sid, line := cookieOf(t, do(t, "POST", url+"/set", "", csrfHeader, csrfToken(t, url)))
	if want := "; Path=/; Max-Age=1; HttpOnly; SameSite=Lax"; !strings.HasPrefix(sid, "sid=") || !strings.HasSuffix(line, want) {
		t.Errorf("Set-Cookie %q, want sid=...%s", line, want)
	}
	if r := do(t, "GET", url+"/get", "", "Cookie", sid); r.body != "42" {
		t.Fatalf("at once: %d %s", r.status, r.body)
	}
	time.Sleep(2100 * time.Millisecond) // the issue time is in whole seconds
	if r := do(t, "GET", url+"/get", "", "Cookie", sid); r.status != 200 || r.body != "null" {
		t.Fatalf("after max_age: %d %s, want an empty session", r.status, r.body)
	}
}

// A session is kept nowhere but its cookie: another start of the program
// (another process) with the same secret reads it; one with another
// secret does not.
func TestSessionSurvivesRestartWithItsSecret(t *testing.T) {
	first := startApp(t, sessionsRaw, withEnv(map[string]string{"SESSION_SECRET": sessionSecret}))
	sid, _ := cookieOf(t, do(t, "POST", first.urls[""]+"/login", `{"name":"ada"}`))
	first.rt.Shutdown(context.Background())

	same := startApp(t, sessionsRaw, withEnv(map[string]string{"SESSION_SECRET": sessionSecret}))
	if r := do(t, "GET", same.urls[""]+"/me", "", "Cookie", sid); r.status != 200 || !strings.Contains(r.body, `"user":"ada"`) {
		t.Errorf("same secret: %d %s", r.status, r.body)
	}
	other := startApp(t, sessionsRaw, withEnv(map[string]string{"SESSION_SECRET": "another-secret-of-enough-bytes"}))
	if r := do(t, "GET", other.urls[""]+"/me", "", "Cookie", sid); r.status != 403 {
		t.Errorf("another secret: %d %s, want the guard's 403 (no session)", r.status, r.body)
	}
}

// A session too large for a cookie fails the request (500 with its id,
// logged at the route) rather than a cookie the browser drops; a value
// A response that sets the session's cookie is cached privately only:
// the program's own cache_control(res, "public, ...") is made private
// (and loses its s-maxage), and a warning says so; one that sets no
// cookie keeps its public caching.
func TestSessionCookieNeverCachedPublicly(t *testing.T) {
	app := startApp(t, `server {
  sessions { secret: "`+sessionSecret+`" }
  route GET "/login" => fn(req, res) { req.session.set("u", "ann"); cache_control(res, "public, max-age=60, s-maxage=600"); "hi" }
  route GET "/page" => fn(req, res) { cache_control(res, "public, max-age=60"); "page" }
  route GET "/expires" => fn(req) { req.session.set("u", 1); with_headers(html("hi"), { "Expires": "Thu, 01 Dec 2099 16:00:00 GMT" }) }
}
`)
	url := app.urls[""]
	r := do(t, "GET", url+"/login", "")
	if cc := r.header.Get("Cache-Control"); cc != "private, max-age=60" || r.header.Get("Set-Cookie") == "" {
		t.Errorf("with the session's cookie: Cache-Control %q, Set-Cookie %q", cc, r.header.Get("Set-Cookie"))
	}
	if len(logged(app.logs, "a response setting the session cookie is cached privately only: its Cache-Control let shared caches keep it")) != 1 {
		t.Errorf("not warned of:\n%s", app.logs)
	}
	// (none written: private, lest Expires or a cacheable status let a
	// shared cache keep it)
	if r := do(t, "GET", url+"/expires", ""); r.header.Get("Cache-Control") != "private" || r.header.Get("Set-Cookie") == "" {
		t.Errorf("with Expires alone: Cache-Control %q", r.header.Get("Cache-Control"))
	}
	if r := do(t, "GET", url+"/page", ""); r.header.Get("Cache-Control") != "public, max-age=60" {
		t.Errorf("without a cookie: Cache-Control %q", r.header.Get("Cache-Control"))
	}
	for v, want := range map[string]string{
		"public, max-age=60, s-maxage=600": "private, max-age=60",
		"s-maxage=600":                     "private",
		"max-age=60":                       "private, max-age=60",
		"Public":                           "private",
		"private, max-age=60":              "private, max-age=60",
		"no-store":                         "no-store",
		"no-cache, no-store":               "no-cache, no-store",
		`private="Set-Cookie", max-age=60`: `private="Set-Cookie", max-age=60`,
	} {
		if got := privateCacheControl(v); got != want {
			t.Errorf("privateCacheControl(%q) = %q, want %q", v, got, want)
		}
	}
}

// JSON cannot hold fails at set.
func TestSessionTooLargeOrUnstorable(t *testing.T) {
	app := startApp(t, `server {
  session { secret: "`+sessionSecret+`" }
  route POST "/big" => fn(req) { req.session.set("blob", "x" * 5000); "ok" }
  route POST "/fn" => fn(req) { req.session.set("f", fn() 1); "ok" }
  route POST "/nested" => fn(req) { req.session.set("o", { at: 1.second, f: fn() 1 }); req.session.get("o") }
}
`)
	url := app.urls[""]
	tok := csrfToken(t, url)
	r := do(t, "POST", url+"/big", "", "X-Request-ID", "big-1", csrfHeader, tok)
	if r.status != 500 || r.json(t)["request_id"] != "big-1" || len(r.header.Values("Set-Cookie")) > 0 {
		t.Fatalf("oversized session: %d %s %q", r.status, r.body, r.header.Values("Set-Cookie"))
	}
	waitFor(t, func() bool { return strings.Contains(app.logs.String(), `"request_id":"big-1"`) })
	for _, want := range []string{"the session is too large for its cookie", `"at":"app.tova:3:3"`} {
		if !strings.Contains(app.logs.String(), want) {
			t.Errorf("log lacks %s:\n%s", want, app.logs.String())
		}
	}
	r = do(t, "POST", url+"/fn", "", "X-Request-ID", "fn-1", csrfHeader, tok)
	waitFor(t, func() bool { return strings.Contains(app.logs.String(), `"request_id":"fn-1"`) })
	if r.status != 500 || !strings.Contains(app.logs.String(), `"kind":"TypeError","stack":"  at POST /fn (app.tova:4:`) {
		t.Errorf("a function in the session: %d %s\n%s", r.status, r.body, app.logs.String())
	}
	// As res.json writes them: a duration in milliseconds, a function
	// in an object left out.
	if r := do(t, "POST", url+"/nested", "", csrfHeader, tok); r.status != 200 || r.body != `{"at":1000}` {
		t.Errorf("nested: %d %s", r.status, r.body)
	}
}

// Without a session block req.session stays nil, and may be set as any
// other field.
func TestNoSessionBlockLeavesReqSessionNil(t *testing.T) {
	app := startApp(t, `server {
  route GET "/" => fn(req) { was = req.session; req.session = 1; [was, req.session] }
}
`)
	if r := do(t, "GET", app.urls[""]+"/", ""); r.status != 200 || r.body != "[null,1]" {
		t.Fatalf("%d %s", r.status, r.body)
	}
}

// A session block that cannot protect its cookies does not start.
func TestSessionConfigStartupErrors(t *testing.T) {
	route := "\n  route GET \"/\" => fn() 1\n}"
	wantStartErrors(t, "", map[string]string{
		`server {
  sessions { secret: env("SESSION_SECRET"), max_age: 7.days }` + route: `server: app.tova:2:22: sessions.secret: the secret is nil (an environment variable that is not set?)`,
		"server {\n  session { max_age: 60 }" + route:                                                       `server: app.tova:2:3: session.secret: no secret: set SESSION_SECRET in the environment`,
		"server {\n  session { secret: \"short\" }" + route:                                                 `server: app.tova:2:21: session.secret: the secret is 5 bytes: it must be at least 16`,
		"server {\n  session { secret: 12 }" + route:                                                        `server: app.tova:2:21: session.secret: expected a String, got Int`,
		"server {\n  sessions { secret: \"" + sessionSecret + "\", same_site: \"loose\" }" + route:          `server: app.tova:2:65: sessions.same_site: expected "strict", "lax" or "none", got "loose"`,
		"server {\n  sessions { secret: \"" + sessionSecret + "\", same_site: \"none\" }" + route:           `server: app.tova:2:65: sessions.same_site: "none" needs secure: true`,
		"server {\n  sessions { secret: \"" + sessionSecret + "\", max_age: 0 }" + route:                    `server: app.tova:2:63: sessions.max_age: a session must last at least 1 second, got 0`,
		"server {\n  sessions { secret: \"" + sessionSecret + "\", secure: \"yes\" }" + route:               `server: app.tova:2:62: sessions.secure: expected true or false, got "yes"`,
		"server {\n  sessions { secret: \"" + sessionSecret + "\", cookie_name: \"a b\" }" + route:          `server: app.tova:2:67: sessions.cookie_name: expected a cookie name`,
		"server {\n  sessions { secret: \"" + sessionSecret + "\", cookie_name: \"__Host-sid\" }" + route:   `server: app.tova:2:67: sessions.cookie_name: a cookie named __Host-… needs secure: true`,
		"server {\n  sessions { secret: \"" + sessionSecret + "\", cookie_name: \"__Secure-sid\" }" + route: `server: app.tova:2:67: sessions.cookie_name: a cookie named __Secure-… needs secure: true`,
	})
}

// The secret may come from SESSION_SECRET alone (the reference's
// default).
func TestSessionSecretFromEnvironment(t *testing.T) {
	app := startApp(t, `server {
  session { max_age: 60, secure: true, same_site: "none" }
  route POST "/" => fn(req) { req.session.set("a", 1); "ok" }
}
`, withEnv(map[string]string{"SESSION_SECRET": sessionSecret}))
	_, line := cookieOf(t, do(t, "POST", app.urls[""]+"/", "", csrfHeader, csrfToken(t, app.urls[""])))
	if want := "; Path=/; Max-Age=60; HttpOnly; Secure; SameSite=None"; !strings.HasSuffix(line, want) {
		t.Errorf("Set-Cookie %q, want %s", line, want)
	}
}

// A top-level session block is every server's that has none of its own.
func TestSessionBlockAtTopLevel(t *testing.T) {
	app := startApp(t, `session { secret: "`+sessionSecret+`", cookie_name: "top" }
server "a" {
  route POST "/" => fn(req) { req.session.set("a", 1); "ok" }
}
server "b" {
  sessions { secret: "`+sessionSecret+`", cookie_name: "own" }
  route POST "/" => fn(req) { req.session.set("b", 1); "ok" }
}
`)
	for name, want := range map[string]string{"a": "top=", "b": "own="} {
		// (a's block is the reference's session, which turns the CSRF
		// check on; b's own is the guide's sessions, which does not.)
		if pair, _ := cookieOf(t, do(t, "POST", app.urls[name]+"/", "", csrfHeader, csrfToken(t, app.urls["a"]))); !strings.HasPrefix(pair, want) {
			t.Errorf("server %s: cookie %q, want %s...", name, pair, want)
		}
	}
}

// Two servers whose session cookies have one name and different
// secrets are warned of at start: a browser sends the cookie to both
// ports, and a login to one logged out of the other without a word.
// With one secret, or their own cookie names, they are not.
func TestSharedSessionCookieWarned(t *testing.T) {
	const msg = sharedCookieMsg
	for src, want := range map[string]bool{
		`server "shop" { sessions { secret: "shop-secret-0123456789abcdef" } }
server "admin" { sessions { secret: "admin-secret-0123456789abcdef" } }`: true,
		`server "shop" { sessions { secret: "one-secret-0123456789abcdef" } }
server "admin" { sessions { secret: "one-secret-0123456789abcdef" } }`: false,
		`server "shop" { sessions { secret: "shop-secret-0123456789abcdef" } }
server "admin" { sessions { secret: "admin-secret-0123456789abcdef", cookie_name: "__admin" } }`: false,
	} {
		app := startApp(t, src)
		if got := len(logged(app.logs, msg)) > 0; got != want {
			t.Errorf("%s: warned %v, want %v\n%s", src, got, want, app.logs)
		}
	}
}

// A failed request's changes to the session are dropped; on_error's
// own are kept (a flash message and a redirect home, the usual answer
// of an HTML app): they were dropped with the failed code's.
func TestSessionChangedByOnError(t *testing.T) {
	app := startApp(t, `server {
  sessions { secret: "0123456789abcdef-test-secret" }
  route GET "/" => fn(req) { req.session.data }
  route GET "/set" => fn(req) { req.session.set("user", "ann"); "ok" }
  route GET "/fail" => fn(req) { req.session.set("lost", 1); nil.x }
  route GET "/fail-plain" => fn(req) { req.session.set("lost", 1); throw "plain" }
  on_error fn(err, req, res) {
    if err.message == "plain" { return nil }
    req.session.set("flash", "Something went wrong")
    redirect("/", 303)
  }
}`)
	u := app.urls[""]
	sid, _ := cookieOf(t, do(t, "GET", u+"/set", ""))
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	r := doWith(t, noFollow, "GET", u+"/fail", "", "Cookie", sid)
	if r.status != 303 {
		t.Fatalf("GET /fail: %d %s", r.status, r.body)
	}
	after, _ := cookieOf(t, r)
	if r := do(t, "GET", u+"/", "", "Cookie", after); r.body != `{"user":"ann","flash":"Something went wrong"}` {
		t.Errorf("the session after on_error: %s", r.body)
	}
	// on_error answering nothing: the 500, and no cookie.
	if r := do(t, "GET", u+"/fail-plain", "", "Cookie", sid); r.status != 500 || r.header.Get("Set-Cookie") != "" {
		t.Errorf("GET /fail-plain: %d %v", r.status, r.header)
	}
}
