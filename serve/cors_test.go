package serve

import (
	"slices"
	"strings"
	"testing"

	"tova/driver"
)

// The guide's cors block, its origins read from the environment: every
// answer (routes, 404, a failed handler's 500) carries the allow headers
// for a listed origin and none for another; preflights are answered on
// any path before routing; a plain OPTIONS is still routed.
func TestCORSGuideBlock(t *testing.T) {
	app := startApp(t, `
server {
  cors {
    origins: env("ALLOWED_ORIGINS") |> split(","),  // Never use "*" in production
    methods: ["GET", "POST", "PUT", "DELETE"],
    credentials: true,
    max_age: 86400
  }
  route GET "/x" => fn() { { a: 1 } }
  route POST "/x" => fn() { { b: 2 } }
  route GET "/boom" => fn() { f = nil; f() }
  route GET "/own" => fn(res) {
    res.setHeader("Access-Control-Allow-Origin", "https://own.example")
    "own"
  }
  route GET "/vary" => fn(res) {
    res.setHeader("Vary", "X-Original-Host")
    "v"
  }
}
`, func(o *Options) {
		o.Getenv = func(k string) (string, bool) {
			if k == "ALLOWED_ORIGINS" {
				return "https://a.example, https://b.example/", true
			}
			return "", false
		}
	})
	url := app.urls[""]
	allowed := func(r reply, origin string) {
		t.Helper()
		h := r.header
		if h.Get("Access-Control-Allow-Origin") != origin || h.Get("Access-Control-Allow-Credentials") != "true" ||
			h.Get("Access-Control-Expose-Headers") != "X-Request-ID, X-Idempotent-Replayed, Retry-After" || h.Get("Vary") != "Origin" {
			t.Errorf("%d %s: headers %v, want origin %s allowed with credentials", r.status, r.body, h, origin)
		}
	}
	for _, origin := range []string{"https://a.example", "https://b.example", "HTTPS://A.EXAMPLE"} {
		r := do(t, "GET", url+"/x", "", "Origin", origin)
		if r.status != 200 || r.body != `{"a":1}` {
			t.Fatalf("GET /x from %s = %s", origin, outcome(t, r))
		}
		allowed(r, origin)
	}
	for _, path := range []string{"/nope", "/boom"} {
		r := do(t, "GET", url+path, "", "Origin", "https://a.example")
		if r.status != 404 && r.status != 500 || !strings.Contains(r.body, r.header.Get("X-Request-ID")) {
			t.Fatalf("GET %s = %s", path, outcome(t, r))
		}
		allowed(r, "https://a.example")
	}
	r := do(t, "GET", url+"/x", "", "Origin", "https://evil.example")
	if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != "" || r.header.Get("Access-Control-Allow-Credentials") != "" || r.header.Get("Vary") != "Origin" {
		t.Errorf("GET /x from another origin: %d %v", r.status, r.header)
	}
	// A handler's Vary naming another header that holds "Origin" in
	// its name still gets Origin added (it was left out).
	if r := do(t, "GET", url+"/vary", "", "Origin", "https://a.example"); strings.Join(r.header.Values("Vary"), ", ") != "X-Original-Host, Origin" {
		t.Errorf("GET /vary: Vary %q", r.header.Values("Vary"))
	}
	if r := do(t, "GET", url+"/own", "", "Origin", "https://a.example"); r.header.Get("Access-Control-Allow-Origin") != "https://own.example" {
		t.Errorf("a handler's own allow header was replaced: %v", r.header)
	}

	for _, path := range []string{"/x", "/not/a/route"} {
		r := do(t, "OPTIONS", url+path, "", "Origin", "https://b.example", "Access-Control-Request-Method", "PUT",
			"Access-Control-Request-Headers", "content-type")
		h := r.header
		if r.status != 204 || r.body != "" || h.Get("Access-Control-Allow-Origin") != "https://b.example" ||
			h.Get("Access-Control-Allow-Credentials") != "true" ||
			h.Get("Access-Control-Allow-Methods") != "GET, POST, PUT, DELETE" ||
			h.Get("Access-Control-Allow-Headers") != "Content-Type, Authorization, X-Request-ID, X-Tova-CSRF, Idempotency-Key, X-API-Key" ||
			h.Get("Access-Control-Max-Age") != "86400" || h.Get("X-Request-ID") == "" || h.Get("Allow") != "" {
			t.Errorf("preflight of %s: %d %q %v", path, r.status, r.body, h)
		}
	}
	r = do(t, "OPTIONS", url+"/x", "", "Origin", "https://evil.example", "Access-Control-Request-Method", "POST")
	if r.status != 204 || r.header.Get("Access-Control-Allow-Origin") != "" || r.header.Get("Access-Control-Allow-Methods") != "" {
		t.Errorf("preflight from another origin: %d %v", r.status, r.header)
	}
	// Not a preflight (no Access-Control-Request-Method): routed.
	r = do(t, "OPTIONS", url+"/x", "", "Origin", "https://a.example")
	if r.status != 204 || r.header.Get("Allow") != "GET, HEAD, OPTIONS, POST" {
		t.Errorf("OPTIONS /x: %d %v", r.status, r.header)
	}
	allowed(r, "https://a.example")
}

// A cors block allowing any origin (its default) answers "*" to every
// request, with or without an Origin, and does not vary by origin; a
// server without one allows no other origin.
func TestCORSAnyOrigin(t *testing.T) {
	app := startApp(t, `
cors { }
server {
  route GET "/x" => fn() "x"
}
`)
	for _, origin := range []string{"https://a.example", ""} {
		r := do(t, "GET", app.urls[""]+"/x", "", "Origin", origin)
		if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != "*" || r.header.Get("Vary") != "" ||
			r.header.Get("Access-Control-Allow-Credentials") != "" {
			t.Errorf("origin %q: %d %v", origin, r.status, r.header)
		}
	}
	r := do(t, "OPTIONS", app.urls[""]+"/x", "", "Origin", "https://a.example", "Access-Control-Request-Method", "PATCH")
	if r.status != 204 || r.header.Get("Access-Control-Allow-Origin") != "*" ||
		r.header.Get("Access-Control-Allow-Methods") != "GET, POST, PUT, DELETE, PATCH, OPTIONS" {
		t.Errorf("preflight: %d %v", r.status, r.header)
	}
	// Without a block, no CORS: a page of another origin reads nothing.
	bare := startApp(t, `
server {
  route GET "/x" => fn() "x"
}
`)
	r = do(t, "GET", bare.urls[""]+"/x", "", "Origin", "https://a.example")
	if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("no cors block: %d %v", r.status, r.header)
	}
	r = do(t, "OPTIONS", bare.urls[""]+"/x", "", "Origin", "https://a.example", "Access-Control-Request-Method", "PATCH")
	if r.header.Get("Access-Control-Allow-Origin") != "" || r.header.Get("Access-Control-Allow-Methods") != "" {
		t.Errorf("no cors block, preflight: %d %v", r.status, r.header)
	}
}

// Credentials with "*" echo the request's origin (a browser refuses a
// credentialed answer allowing "*"), never "null", and are warned of.
func TestCORSCredentialsWithAnyOrigin(t *testing.T) {
	app := startApp(t, `
server {
  cors { origins: "*", credentials: true, max_age: 0 }
  route GET "/x" => fn() "x"
}
`)
	r := do(t, "GET", app.urls[""]+"/x", "", "Origin", "https://a.example")
	if r.header.Get("Access-Control-Allow-Origin") != "https://a.example" || r.header.Get("Vary") != "Origin" {
		t.Errorf("credentialed any origin: %v", r.header)
	}
	if r := do(t, "GET", app.urls[""]+"/x", "", "Origin", "null"); r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("origin null allowed: %v", r.header)
	}
	r = do(t, "OPTIONS", app.urls[""]+"/x", "", "Origin", "https://a.example", "Access-Control-Request-Method", "GET")
	if r.header.Get("Access-Control-Max-Age") != "0" {
		// (no header at all would let browsers keep the answer 5 s)
		t.Errorf("max_age 0 did not send Max-Age 0: %v", r.header)
	}
	if !strings.Contains(app.logs.String(), `"cors: credentials with origins \"*\"`) {
		t.Errorf("no warning of credentials with any origin:\n%s", app.logs)
	}
}

// A cors block's bad values fail the start, naming the block and key.
func TestCORSStartupErrors(t *testing.T) {
	wantStartErrors(t, "\nserver {\n  route GET \"/\" => fn() 1\n}", map[string]string{
		`cors { origins: ["a.example"] }`:             `server: app.tova:1:17: cors.origins: not an origin (scheme://host[:port], as browsers send in Origin): "a.example"`,
		`cors { origins: ["https://a.example/app"] }`: `server: app.tova:1:17: cors.origins: not an origin`,
		// "null" let sandboxed frames of every site read the answers;
		// a wildcard or a port out of range matched no origin.
		`cors { origins: ["null"], credentials: true }`: `server: app.tova:1:17: cors.origins: not an origin (scheme://host[:port], as browsers send in Origin): "null": the origin of sandboxed frames and file: pages, which any site can make`,
		`cors { origins: ["https://*.a.example"] }`:     `server: app.tova:1:17: cors.origins: not an origin (scheme://host[:port], as browsers send in Origin): "https://*.a.example": a wildcard matches no origin`,
		`cors { origins: ["https://a.example:99999"] }`: `server: app.tova:1:17: cors.origins: not an origin (scheme://host[:port], as browsers send in Origin): "https://a.example:99999": the port is a number from 1 to 65535`,
		`cors { origins: ["https://a.example:80:80"] }`: `server: app.tova:1:17: cors.origins: not an origin`,
		// An allow-list left unset lets no origin in, rather than every one.
		"env ORIGINS: Option<String> = None\ncors { origins: ORIGINS, credentials: true }": `server: app.tova:2:17: cors.origins is None (is the environment variable it reads set?): left out, every origin would be allowed`,
		`cors { origins: "https://a.example, " |> split(",") }`:                            `server: app.tova:1:17: cors.origins: an empty String in`,
		`cors { origins: "" |> split(",") }`:                                               `server: app.tova:1:17: cors.origins: an empty String in [""] (is the environment variable it reads set to an empty value?)`,
		`cors { origins: [1] }`:                                                            `server: app.tova:1:17: cors.origins: expected a List of Strings, got 1 in it`,
		`cors { methods: "GET", credentials: "yes" }`:                                      `server: app.tova:1:37: cors.credentials: expected true or false, got "yes"`,
		`cors { max_age: -1 }`:                                                             `server: app.tova:1:17: cors.max_age: a negative max_age -1`,
		`cors { max_age: "1h" }`:                                                           `server: app.tova:1:17: cors.max_age: expected a duration`,
		// Names that are not HTTP tokens would fail every preflight.
		`cors { methods: ["GET", "Delete Method"] }`: `server: app.tova:1:17: cors.methods: "Delete Method" is not a method name`,
		`cors { headers: ["X Custom"] }`:             `server: app.tova:1:17: cors.headers: "X Custom" is not a header name`,
		`cors { expose_headers: ["X-A:"] }`:          `server: app.tova:1:24: cors.expose_headers: "X-A:" is not a header name`,
	})
}

// A guarding block's key the runtime does not know fails the compile,
// at the key, saying which was meant; another block's is a warning.
// (Its default would apply: every origin, every issuer.)
func TestUnknownKeysOfGuardingBlocksFailCompile(t *testing.T) {
	for src, want := range map[string]string{
		`cors { orgins: ["https://a.example"], credentials: true }`:  `app.tova:1:8: cors.orgins: unknown key (did you mean origins?): the server does not start, where origins would take its default`,
		`auth { secret: "0123456789abcdef0123456789", isuer: "me" }`: `app.tova:1:46: auth.isuer: unknown key (did you mean issuer?)`,
		// So does another name for a setting, however far from its own.
		`cors { allowed_origins: ["https://a.example"] }`:                              `app.tova:1:8: cors.allowed_origins: unknown key (cors takes origins, methods, headers, expose_headers, credentials, max_age): it would not be applied`,
		`auth { secret: "0123456789abcdef0123456789", aud: "x" }`:                      `app.tova:1:46: auth.aud: unknown key (auth takes type, secret, issuer, audience, header, keys, csrf)`,
		`upload { max_file_size: 1.megabyte }`:                                         `app.tova:1:10: upload.max_file_size: unknown key (upload takes max_size, allowed_types)`,
		`rate_limit { limit: 5 }`:                                                      `app.tova:1:14: rate_limit.limit: unknown key (rate_limit takes requests, max, window, key)`,
		`session { secret: "0123456789abcdef0123456789", domain: "x.io" }`:             `app.tova:1:49: session.domain: unknown key (session takes secret, max_age, cookie_name, secure, http_only, same_site, csrf)`,
		`security { trust_proxies: true }`:                                             `app.tova:1:12: security.trust_proxies: unknown key (security takes trust_proxy)`,
		"server {\n  tls { client_ca: \"a.crt\", cert: \"a.crt\", key: \"a.key\" }\n}": `app.tova:2:9: tls.client_ca: unknown key (tls takes cert, key)`,
		// (and the jobs block's, which the jobs package refuses)
		"server {\n  jobs { max_attemps: 3 }\n}": `app.tova:2:10: jobs.max_attemps: unknown key (did you mean max_attempts?): the server does not start`,
		"jobs { bogus: 1 }":                      `app.tova:1:8: jobs.bogus: unknown key (jobs takes max_attempts, workers, timeout, backoff, max_backoff, database, url)`,
		// A misspelt key given None fails too: left out, every origin
		// (every issuer) was let in.
		"env ORIGIN: String? = None\ncors { orgins: ORIGIN }": `app.tova:2:8: cors.orgins: unknown key (did you mean origins?)`,
	} {
		_, err := driver.CompileFile("app.tova", []byte(src+"\nserver {\n  route GET \"/\" => fn() 1\n}"))
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%q:\n got %v\nwant %s", src, err, want)
		}
	}
	// The jobs block's other names for its keys are known.
	if _, err := driver.CompileFile("app.tova", []byte("jobs { max_retries: 3, attempts: 2, max_workers: 2, concurrency: 2, path: \"j.db\" }\nserver {\n  route GET \"/\" => fn() 1\n}")); err != nil {
		t.Errorf("the jobs block's aliases: %v", err)
	}
	// Another block's unknown key is a warning, as serve's at start-up.
	p, err := driver.CompileFile("app.tova", []byte("cache { defalt: 60 }\nhttp { timeout: 5, max_bdy: 10 }\nserver {\n  route GET \"/\" => fn() 1\n}"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range p.Warnings {
		got = append(got, w.Error())
	}
	if want := []string{
		"app.tova:1:9: warning: cache.defalt: unknown key (did you mean default?): it has no effect",
		"app.tova:2:20: warning: http.max_bdy: unknown key (did you mean max_body?): it has no effect",
	}; !slices.Equal(got, want) {
		t.Errorf("warnings:\n got %q\nwant %q", got, want)
	}
	// A key spread into the block from a value is checked at start-up.
	wantStartErrors(t, "\nserver {\n  route GET \"/\" => fn() 1\n}", map[string]string{
		"C = { orgins: [\"https://a.example\"] }\ncors { ...C }": `server: app.tova:2:1: cors.orgins: unknown key (did you mean origins?)`,
	})
}

// Answers the front end makes before any route (413 for a body over
// max_body, announced or chunked, 400 for a malformed request) carry
// the allow headers too: without them a page could not read why its
// request was refused (they had none).
func TestCORSOnRefusedRequests(t *testing.T) {
	app := startApp(t, `
server {
  cors { origins: ["https://a.example"], credentials: true }
  max_body 100
  route POST "/ok" => fn() "ok"
}
`)
	url := app.urls[""]
	big := strings.Repeat("a", 500)
	for _, r := range []reply{
		do(t, "POST", url+"/ok", big, "Origin", "https://a.example"),
		do(t, "POST", url+"/ok", big, "Origin", "https://a.example", "Transfer-Encoding", "chunked"),
		do(t, "GET", url+"/s/..%2fx", "", "Origin", "https://a.example"),
	} {
		if r.status != 413 && r.status != 400 || r.header.Get("Access-Control-Allow-Origin") != "https://a.example" ||
			r.header.Get("Access-Control-Allow-Credentials") != "true" || r.header.Get("Vary") != "Origin" {
			t.Errorf("%d %s: headers %v", r.status, r.body, r.header)
		}
	}
}

// An origin listed with its scheme's default port matches what a
// browser sends, which never names that port (it matched nothing).
func TestCORSOriginWithDefaultPort(t *testing.T) {
	app := startApp(t, `
server {
  cors { origins: ["https://a.example:443/", "http://localhost:80", "http://b.example:8080"] }
  route GET "/x" => fn() "x"
}
`)
	url := app.urls[""]
	for origin, want := range map[string]string{
		"https://a.example":      "https://a.example",
		"https://a.example:443":  "https://a.example:443",
		"http://localhost":       "http://localhost",
		"http://b.example:8080":  "http://b.example:8080",
		"http://b.example":       "",
		"https://a.example:8443": "",
	} {
		if r := do(t, "GET", url+"/x", "", "Origin", origin); r.header.Get("Access-Control-Allow-Origin") != want {
			t.Errorf("Origin %s: Access-Control-Allow-Origin %q, want %q", origin, r.header.Get("Access-Control-Allow-Origin"), want)
		}
	}
}

// A server's own cors block with no origins opts out of the top-level
// one: it sends no CORS headers, as a server without a block, while
// the other servers keep the top-level block's.
func TestCORSEmptyOriginsOptsOut(t *testing.T) {
	app := startApp(t, `
cors { origins: ["https://app.example"], credentials: true }
server "api" {
  route GET "/" => fn() "api"
}
server "admin" {
  cors { origins: [] }
  route GET "/" => fn() "admin"
}
`)
	r := do(t, "GET", app.urls["api"]+"/", "", "Origin", "https://app.example")
	if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != "https://app.example" {
		t.Fatalf("api: %d %v", r.status, r.header)
	}
	r = do(t, "GET", app.urls["admin"]+"/", "", "Origin", "https://app.example")
	if r.status != 200 || r.body != `"admin"` || r.header.Get("Access-Control-Allow-Origin") != "" || r.header.Get("Vary") != "" {
		t.Fatalf("admin: %d %s %v", r.status, r.body, r.header)
	}
	r = do(t, "OPTIONS", app.urls["admin"]+"/", "", "Origin", "https://app.example", "Access-Control-Request-Method", "POST")
	if r.header.Get("Access-Control-Allow-Origin") != "" || r.header.Get("Access-Control-Allow-Methods") != "" {
		t.Fatalf("admin preflight: %d %v", r.status, r.header)
	}
}
