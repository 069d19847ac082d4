package serve

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"tova/driver"
	"tova/frontend/diag"
)

const authSecret = "0123456789abcdef-test-secret"

const authApp = `
server {
  auth { type: "jwt", secret: "` + authSecret + `", issuer: "tova-test", audience: "api" }
  route GET "/me" with auth => fn(req) { { sub: req.user.sub, role: req.user.role, n: req.user.n } }
  route GET "/admin" with role("admin") => fn(req) { { admin: req.user.sub } }
  route GET "/both" with auth, role("editor") => fn(req) "edited"
  route GET "/open" => fn(req) { { user: req.user } }
}
`

// token signs claims with HS256 and key, with the app's issuer and
// audience and an hour to live unless claims give their own.
func token(t *testing.T, key string, claims jwt.MapClaims) string {
	t.Helper()
	c := jwt.MapClaims{"iss": "tova-test", "aud": "api", "exp": time.Now().Add(time.Hour).Unix()}
	for k, v := range claims {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(key))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// `with auth` (a compile error before) checks an HS256 bearer token
// against the server's auth block and gives the handler its claims as
// req.user; every other token is refused with 401, saying why.
func TestAuthJWT(t *testing.T) {
	app := startApp(t, authApp)
	u := app.urls[""]
	good := token(t, authSecret, jwt.MapClaims{"sub": "ada", "role": "admin", "n": 12345678901234})
	r := do(t, "GET", u+"/me", "", "Authorization", "Bearer "+good)
	if r.status != 200 || r.body != `{"sub":"ada","role":"admin","n":12345678901234}` {
		t.Fatalf("valid token: %d %s", r.status, r.body)
	}
	if r := do(t, "GET", u+"/open", ""); r.status != 200 || r.body != `{"user":null}` {
		t.Errorf("route without a guard: %d %s", r.status, r.body)
	}

	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"sub": "ada", "iss": "tova-test", "aud": "api"}).
		SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	hs512, err := jwt.NewWithClaims(jwt.SigningMethodHS512, jwt.MapClaims{"sub": "ada", "iss": "tova-test", "aud": "api"}).
		SignedString([]byte(authSecret))
	if err != nil {
		t.Fatal(err)
	}
	withAlg := func(alg any) string {
		tk := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "ada", "iss": "tova-test", "aud": "api", "exp": time.Now().Add(time.Hour).Unix()})
		if alg == nil {
			delete(tk.Header, "alg")
		} else {
			tk.Header["alg"] = alg
		}
		s, err := tk.SignedString([]byte(authSecret))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for _, c := range []struct{ name, header, want string }{
		{"alg None", "Bearer " + withAlg("None"), "invalid token: it is not signed with HS256"},
		{"alg hs256", "Bearer " + withAlg("hs256"), "invalid token: it is not signed with HS256"},
		{"no alg", "Bearer " + withAlg(nil), "invalid token: it is not signed with HS256"},
		{"iss a number", "Bearer " + token(t, authSecret, jwt.MapClaims{"iss": 5}), "invalid token: its iss claim is not a String"},
		{"aud a number", "Bearer " + token(t, authSecret, jwt.MapClaims{"aud": 5}), "invalid token: its aud claim is not a String or a list of Strings"},
		{"aud with a number", "Bearer " + token(t, authSecret, jwt.MapClaims{"aud": []any{"api", 5}}), "invalid token: its aud claim is not a String or a list of Strings"},
		{"aud an empty list", "Bearer " + token(t, authSecret, jwt.MapClaims{"aud": []any{}}), "invalid token: wrong audience"},
		// (an empty String: "its iss claim is not a String")
		{"iss empty", "Bearer " + token(t, authSecret, jwt.MapClaims{"iss": ""}), "invalid token: wrong issuer"},
		{"aud empty", "Bearer " + token(t, authSecret, jwt.MapClaims{"aud": ""}), "invalid token: wrong audience"},
		{"no header", "", "missing token"},
		{"another scheme", "Basic YWRhOnB3", "malformed Authorization header"},
		{"bearer without a token", "Bearer ", "malformed Authorization header"},
		{"not a JWT", "Bearer abc.def", "malformed token"},
		{"wrong secret", "Bearer " + token(t, "another-secret-of-16+bytes", jwt.MapClaims{"sub": "ada"}), "invalid token: bad signature"},
		{"alg none", "Bearer " + none, "not signed with HS256"},
		{"HS512", "Bearer " + hs512, "not signed with HS256"},
		{"expired", "Bearer " + token(t, authSecret, jwt.MapClaims{"exp": time.Now().Add(-time.Hour).Unix()}), "expired token"},
		{"not yet", "Bearer " + token(t, authSecret, jwt.MapClaims{"nbf": time.Now().Add(time.Hour).Unix()}), "token not valid yet"},
		{"wrong issuer", "Bearer " + token(t, authSecret, jwt.MapClaims{"iss": "someone"}), "wrong issuer"},
		{"no issuer", "Bearer " + token(t, authSecret, jwt.MapClaims{"iss": nil}), "invalid token: no issuer claim (iss), which the auth block's issuer requires"},
		{"no audience", "Bearer " + token(t, authSecret, jwt.MapClaims{"aud": nil}), "invalid token: no audience claim (aud), which the auth block's audience requires"},
		{"wrong audience", "Bearer " + token(t, authSecret, jwt.MapClaims{"aud": "web"}), "wrong audience"},
	} {
		var hs []string
		if c.header != "" {
			hs = []string{"Authorization", c.header}
		}
		for _, path := range []string{"/me", "/admin"} {
			r := do(t, "GET", u+path, "", hs...)
			if r.status != 401 || !strings.Contains(r.body, `"code":"AUTH_REQUIRED"`) || !strings.Contains(r.body, c.want) ||
				!strings.Contains(r.body, `"request_id"`) || r.header.Get("WWW-Authenticate") != "Bearer" {
				t.Errorf("%s: GET %s = %d %s %v, want 401 %q", c.name, path, r.status, r.body, r.header, c.want)
			}
			if tok := strings.TrimPrefix(c.header, "Bearer "); len(tok) > 10 && strings.Contains(r.body, tok) {
				t.Errorf("%s: the answer echoes the token: %s", c.name, r.body)
			}
		}
	}
}

// with role("admin") refuses (403) a user whose role claim is another,
// and lets through one who has it in role or in a roles list.
func TestAuthRole(t *testing.T) {
	app := startApp(t, authApp)
	u := app.urls[""]
	for _, c := range []struct {
		claims jwt.MapClaims
		path   string
		want   string
	}{
		{jwt.MapClaims{"sub": "ada", "role": "admin"}, "/admin", `200 {"admin":"ada"}`},
		{jwt.MapClaims{"sub": "bob", "roles": []string{"viewer", "admin"}}, "/admin", `200 {"admin":"bob"}`},
		{jwt.MapClaims{"sub": "eve", "role": "viewer"}, "/admin", `403`},
		{jwt.MapClaims{"sub": "eve"}, "/admin", `403`},
		{jwt.MapClaims{"sub": "eve", "role": "admin"}, "/both", `403`},
		{jwt.MapClaims{"sub": "ed", "role": "editor"}, "/both", `200 "edited"`},
	} {
		r := do(t, "GET", u+c.path, "", "Authorization", "Bearer "+token(t, authSecret, c.claims))
		got := outcome(t, r)
		if c.want == "403" {
			if r.status != 403 || !strings.Contains(r.body, `"code":"FORBIDDEN"`) {
				t.Errorf("%v GET %s = %s, want 403 FORBIDDEN", c.claims, c.path, got)
			}
		} else if got != c.want {
			t.Errorf("%v GET %s = %s, want %s", c.claims, c.path, got, c.want)
		}
	}
}

// An api_key block lets through a request whose header holds one of its
// keys, with req.user { key }; any other is refused with 401. Keys are
// trimmed, as a header's value is: "k-one, k-two" split at its commas
// gave " k-two", which no request could send.
func TestAuthAPIKey(t *testing.T) {
	app := startApp(t, `
server {
  auth { type: "api_key", header: "X-Key", keys: "k-one, k-two" |> split(",") }
  route GET "/me" with auth => fn(req) req.user
  route GET "/admin" with only_admin => fn(req) "no"
  fn only_admin(req) { role("admin")(req) }
}
`)
	u := app.urls[""]
	if r := do(t, "GET", u+"/me", "", "X-Key", "k-two"); r.status != 200 || r.body != `{"key":"k-two"}` {
		t.Errorf("good key: %d %s", r.status, r.body)
	}
	for _, c := range []struct{ name, key, want string }{
		{"no key", "", "missing API key"},
		{"wrong key", "k-three", "invalid API key"},
		{"a key's prefix", "k-on", "invalid API key"},
	} {
		var hs []string
		if c.key != "" {
			hs = []string{"X-Key", c.key}
		}
		r := do(t, "GET", u+"/me", "", hs...)
		if r.status != 401 || !strings.Contains(r.body, c.want) || r.header.Get("WWW-Authenticate") != `APIKey header="X-Key"` {
			t.Errorf("%s: %d %s %v", c.name, r.status, r.body, r.header)
		}
	}
	if r := do(t, "GET", u+"/admin", "", "X-Key", "k-one"); r.status != 403 {
		t.Errorf("api key without a role: %d %s", r.status, r.body)
	}
}

// A jwt block without a secret reads AUTH_SECRET, then JWT_SECRET.
func TestAuthSecretFromEnv(t *testing.T) {
	for _, env := range []string{"AUTH_SECRET", "JWT_SECRET"} {
		app := startApp(t, `
server {
  auth { }
  route GET "/me" with auth => fn(req) req.user.sub
}
`, func(o *Options) {
			o.Getenv = func(k string) (string, bool) {
				if k == env {
					return authSecret, true
				}
				return "", false
			}
		})
		r := do(t, "GET", app.urls[""]+"/me", "", "Authorization", "Bearer "+token(t, authSecret, jwt.MapClaims{"sub": "ada", "iss": nil, "aud": nil}))
		if r.status != 200 || r.body != `"ada"` {
			t.Errorf("secret from %s: %d %s", env, r.status, r.body)
		}
	}
}

// A server whose auth settings cannot work does not start (one with
// `with auth` and no auth block, whose routes the reference leaves open
// to everyone, does not compile: TestAuthGuardWithoutAuthBlockRefused).
// The reference's docs' algorithm: "HS256" is the one a jwt block
// applies: it starts (it failed as an unknown key of a guarding block).
func TestAuthAlgorithmHS256(t *testing.T) {
	app := startApp(t, "server {\n  auth { secret: \""+authSecret+"\", algorithm: \"HS256\" }\n  route GET \"/\" with auth => fn() 1\n}\n")
	if r := do(t, "GET", app.urls[""]+"/", ""); r.status != 401 {
		t.Errorf("GET / without a token: %d %s", r.status, r.body)
	}
}

func TestAuthStartErrors(t *testing.T) {
	wantStartErrors(t, "", map[string]string{
		"server {\n  auth { }\n  route GET \"/\" with auth => fn() 1\n}":                   "server: app.tova:2:3: auth.secret: no secret: set AUTH_SECRET",
		"server {\n  auth { secret: \"short\" }\n  route GET \"/\" with auth => fn() 1\n}": "server: app.tova:2:18: auth.secret: the secret is 5 bytes: it must be at least 16",
		"server {\n  auth { secret: 42 }\n}":                                               "server: app.tova:2:18: auth.secret: expected a String, got Int 42",
		"server {\n  auth { secret: nil }\n}":                                              "server: app.tova:2:18: auth.secret: expected a String, got nil (an environment variable that is not set?)",
		"server {\n  auth { type: \"oauth\", secret: \"" + authSecret + "\" }\n}":          "server: app.tova:2:16: auth.type: expected \"jwt\" or \"api_key\", got \"oauth\"",
		"server {\n  auth { type: \"api_key\" }\n}":                                        "server: app.tova:2:3: auth.keys: an api_key block needs keys",
		// (the reference's docs' algorithm: "HS256" is what the block
		// applies: taken; another is not)
		"server {\n  auth { secret: \"" + authSecret + "\", algorithm: \"RS256\" }\n}": "server: app.tova:2:61: auth.algorithm: a jwt block verifies HS256 tokens only, got \"RS256\"",
		"server {\n  auth { type: \"api_key\", keys: [\"a\", 1] }\n}":                  "server: app.tova:2:33: auth.keys: expected non-empty Strings, got Int 1",
		// An issuer or audience left unset would check none.
		"server {\n  auth { secret: \"" + authSecret + "\", issuer: None }\n}":         "server: app.tova:2:58: auth.issuer is None (is the environment variable it reads set?): left out, tokens of any issuer would pass",
		"server {\n  auth { secret: \"" + authSecret + "\", audience: Some(None) }\n}": "server: app.tova:2:60: auth.audience is None",
		// Keys an environment variable gave are not quoted back.
		"server {\n  auth { type: \"api_key\", keys: \"sk_live_1,sk_live_2\" }\n}":                       "server: app.tova:2:33: auth.keys: an api_key block needs keys: a non-empty list of key Strings, got a String of 19 characters",
		"server {\n  auth { type: \"api_key\", keys: [\"a\"], header: \"X Key\" }\n}":                    "server: app.tova:2:48: auth.header: expected a header name",
		"server {\n  auth { keys: [\"a\"], secret: \"" + authSecret + "\" }\n}":                          "server: app.tova:2:16: auth.keys: a setting of an api_key block",
		"server {\n  auth { secret: \"" + authSecret + "\" }\n  route GET \"/x\" with role => fn() 1\n}": "server: app.tova:3:3: route GET /x: with role needs the role's name",
		// auth called, as role("admin") is: the message says how to write it.
		"server {\n  auth { secret: \"" + authSecret + "\" }\n  route GET \"/x\" with auth() => fn() 1\n}": "server: app.tova:3:27: TypeError: auth is a route guard, for `with auth`: it is called with the request, got nothing (write `with auth`, not `with auth()`)",
	})
}

// A literal secret of another type is not said to be an environment
// variable that is not set.
func TestAuthLiteralSecretNotAnEnvVariable(t *testing.T) {
	if err := startError(t, "server {\n  auth { secret: 42 }\n}"); err == nil || strings.Contains(err.Error(), "environment variable") {
		t.Errorf("auth { secret: 42 }: %v", err)
	}
}

// A route with auth (or with role(...)) on a server without an auth
// block compiled, and the server it built refused to start: it is a
// compile error at the guard. An auth block in a group counts; a
// program's own function named auth is a guard like any other.
func TestAuthGuardWithoutAuthBlockRefused(t *testing.T) {
	src := `server "open" {
  route GET "/me" with auth => fn(req) req.user
  route GET "/admin" with role("admin") => fn(req) req.user
}
server "guarded" {
  routes "/api" {
    auth { type: "jwt", secret: "0123456789abcdef0123456789abcdef" }
    route GET "/me" with auth => fn(req) req.user
  }
}
server "own" {
  fn auth(req, res) { nil }
  route GET "/me" with auth => fn(req) 1
}
`
	_, err := driver.CompileFile("s.tova", []byte(src))
	var list diag.List
	if !errors.As(err, &list) {
		t.Fatalf("compile: %v", err)
	}
	var got []string
	for _, e := range list {
		if !strings.HasPrefix(e.Msg, "warning:") {
			got = append(got, fmt.Sprintf("%d:%d: %s", e.Pos.Line, e.Pos.Col, e.Msg))
		}
	}
	want := []string{
		`2:24: route GET /me: with auth needs an auth { } block on the server (type: "jwt" or "api_key"); without one the route would not be protected`,
		`3:27: route GET /admin: with role needs an auth { } block on the server (type: "jwt" or "api_key"); without one the route would not be protected`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// with role(...) on a server whose auth block is an api_key one does
// not compile: its req.user is { key }, with no role, and the route
// refused every request. The top level's block counts, unless the
// server has one of its own.
func TestRoleWithAPIKeyBlockRefused(t *testing.T) {
	for src, want := range map[string]string{
		"server {\n  auth { type: \"api_key\", keys: [\"k1\"] }\n  route GET \"/admin\" with role(\"admin\") => fn(req) \"x\"\n}\n":                                                        "3:27: route GET /admin: with role(...) needs a jwt auth block",
		"auth { type: \"api_key\", keys: [\"k1\"] }\nserver {\n  route GET \"/admin\" with role(\"admin\") => fn(req) \"x\"\n}\n":                                                          "3:27: route GET /admin: with role(...) needs a jwt auth block",
		"auth { type: \"api_key\", keys: [\"k1\"] }\nserver {\n  auth { secret: \"0123456789abcdef0123456789abcdef\" }\n  route GET \"/admin\" with role(\"admin\") => fn(req) \"x\"\n}\n": "",
	} {
		_, err := driver.CompileFile("s.tova", []byte(src))
		var got string
		var list diag.List
		if errors.As(err, &list) {
			for _, e := range list {
				if !strings.HasPrefix(e.Msg, "warning:") {
					got = fmt.Sprintf("%d:%d: %s", e.Pos.Line, e.Pos.Col, e.Msg)
				}
			}
		} else if err != nil {
			t.Fatalf("compile: %v", err)
		}
		if want == "" && got != "" || want != "" && !strings.HasPrefix(got, want) {
			t.Errorf("%s: %q, want %q", src, got, want)
		}
	}
}

// An auth block at the top level is every server's: with auth needs no
// block of the server's own, and the route is protected.
func TestAuthTopLevelBlock(t *testing.T) {
	app := startApp(t, `
auth { type: "api_key", keys: ["k1"] }
server {
  route GET "/x" with auth => fn() "ok"
}
`)
	u := app.urls[""]
	if r := do(t, "GET", u+"/x", ""); r.status != 401 {
		t.Errorf("without a key: %d %s", r.status, r.body)
	}
	if r := do(t, "GET", u+"/x", "", "X-API-Key", "k1"); r.status != 200 || r.body != `"ok"` {
		t.Errorf("with the key: %d %s", r.status, r.body)
	}
}

// A guard function of the program's named auth is its own, not the
// runtime's: it needs no auth block.
func TestAuthOwnGuard(t *testing.T) {
	app := startApp(t, `
server {
  fn auth(req) { req.headers["x-key"] == "k" }
  route GET "/a" with auth => fn() 1
}
`)
	u := app.urls[""]
	if r := do(t, "GET", u+"/a", "", "X-Key", "k"); r.status != 200 {
		t.Errorf("own guard passed: %d %s", r.status, r.body)
	}
	if r := do(t, "GET", u+"/a", ""); r.status != 403 {
		t.Errorf("own guard refused: %d %s", r.status, r.body)
	}
}

// Tokens the first checks let through or refused wrongly: an nbf past
// the year 9999 wrapped in the library's arithmetic and let the token in
// (an exp there refused it as expired); a signature spelt with other
// low bits in its last character, or a crit header, was taken; of two
// Authorization headers the first was used. Each is now refused.
func TestAuthRefusesAmbiguousTokens(t *testing.T) {
	app := startApp(t, authApp)
	u := app.urls[""]
	good := token(t, authSecret, jwt.MapClaims{"sub": "ada"})
	const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(b64, good[len(good)-1])
	respelt := good[:len(good)-1] + string(b64[last^1]) // the same 256 bits, another spelling
	crit := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "ada", "iss": "tova-test", "aud": "api"})
	crit.Header["crit"] = []string{"exp"}
	critTok, err := crit.SignedString([]byte(authSecret))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, tok, want string }{
		{"nbf past 9999", token(t, authSecret, jwt.MapClaims{"nbf": 1e19}), "its nbf is no time (past the year 9999)"},
		{"exp past 9999", token(t, authSecret, jwt.MapClaims{"exp": 9.3e18}), "its exp is no time (past the year 9999)"},
		{"iat before the year 1", token(t, authSecret, jwt.MapClaims{"iat": -1e12}), "its iat is no time (before the year 1)"},
		{"exp a String", token(t, authSecret, jwt.MapClaims{"exp": "tomorrow"}), "invalid token: its exp is not a number of seconds"},
		{"another spelling", respelt, "malformed token"},
		{"crit header", critTok, "critical header parameters"},
	} {
		r := do(t, "GET", u+"/me", "", "Authorization", "Bearer "+c.tok)
		if r.status != 401 || !strings.Contains(r.body, c.want) {
			t.Errorf("%s: %d %s, want 401 %q", c.name, r.status, r.body, c.want)
		}
	}
	for _, order := range [][]string{{good, "x"}, {"x", good}} {
		req, _ := http.NewRequest("GET", u+"/me", nil)
		req.Header.Add("Authorization", "Bearer "+order[0])
		req.Header.Add("Authorization", "Bearer "+order[1])
		if r := doRequest(t, client, req); r.status != 401 || !strings.Contains(r.body, "more than one Authorization header") {
			t.Errorf("two Authorization headers: %d %s", r.status, r.body)
		}
	}
	if r := do(t, "GET", u+"/me", "", "Authorization", "Bearer "+good); r.status != 200 {
		t.Errorf("the good token alone: %d %s", r.status, r.body)
	}
}

// cache { default }, which may be public, is not given to one user's
// answer: one that sets a cookie (set_cookie, or the session's own), or
// answers a request with an Authorization header or a user `with auth`
// let in. A CDN would otherwise hand one user's session or data to the
// next.
func TestCacheDefaultSkipsPersonalAnswers(t *testing.T) {
	app := startApp(t, `cache { default: "public, max-age=60" }
server {
  auth { type: "jwt", secret: "`+authSecret+`", issuer: "tova-test", audience: "api" }
  sessions { secret: env("SESSION_SECRET") }
  route GET "/plain" => fn() "x"
  route GET "/visit" => fn(req) {
    req.session.set("n", (req.session.get("n") ?? 0) + 1)
    req.session.get("n")
  }
  route GET "/me" with auth => fn(req) { { sub: req.user.sub } }
  route GET "/cookie" => fn() with_headers(text("ok"), { "Set-Cookie": set_cookie("a", "b") })
}`, withEnv(map[string]string{"SESSION_SECRET": sessionSecret}))
	u := app.urls[""]
	if r := do(t, "GET", u+"/plain", ""); r.header.Get("Cache-Control") != "public, max-age=60" {
		t.Fatalf("GET /plain: %d %v", r.status, r.header)
	}
	bearer := "Bearer " + token(t, authSecret, jwt.MapClaims{"sub": "ann"})
	for name, r := range map[string]reply{
		"a session's answer":   do(t, "GET", u+"/visit", ""),
		"with auth":            do(t, "GET", u+"/me", "", "Authorization", bearer),
		"a set_cookie answer":  do(t, "GET", u+"/cookie", ""),
		"an Authorization one": do(t, "GET", u+"/plain", "", "Authorization", bearer),
		"an X-API-Key one":     do(t, "GET", u+"/plain", "", "X-API-Key", "k"),
	} {
		// (none, or, beside a session's cookie, private)
		if cc := r.header.Get("Cache-Control"); r.status != 200 || cc != "" && !(name == "a session's answer" && cc == "private") {
			t.Errorf("%s: %d %s, Cache-Control %q", name, r.status, r.body, cc)
		}
	}
}

// An api_key block's own header, whatever its name, is a credential for
// the cache default too; and an answer made from the request's cookies
// (a login of the program's own) is one user's.
func TestCacheDefaultSkipsAPIKeyHeaderAndCookies(t *testing.T) {
	app := startApp(t, `cache { default: "public, max-age=60" }
server {
  auth { type: "api_key", header: "X-Client", keys: ["k-one"] }
  route GET "/plain" => fn() "x"
  route GET "/mine" => fn(req) { { who: req.cookies.who ?? "nobody" } }
  route GET "/raw" => fn(req) { { c: req.headers["cookie"] } }
  route GET "/get" => fn(req) { { c: req.headers.get("Cookie") } }
  route GET "/all" => fn(req) { { n: len(keys(req.headers)) } }
}`)
	u := app.urls[""]
	if r := do(t, "GET", u+"/plain", ""); r.header.Get("Cache-Control") != "public, max-age=60" {
		t.Fatalf("GET /plain: %d %v", r.status, r.header)
	}
	for name, r := range map[string]reply{
		"the api_key header":    do(t, "GET", u+"/plain", "", "X-Client", "k-one"),
		"an answer of cookies":  do(t, "GET", u+"/mine", "", "Cookie", "who=ann"),
		"cookies read, or none": do(t, "GET", u+"/mine", ""),
		"the Cookie header":     do(t, "GET", u+"/raw", "", "Cookie", "who=ann"),
		"its get(...)":          do(t, "GET", u+"/get", "", "Cookie", "who=ann"),
		"every header":          do(t, "GET", u+"/all", "", "Cookie", "who=ann"),
	} {
		// (none, or, beside a session's cookie, private)
		if cc := r.header.Get("Cache-Control"); r.status != 200 || cc != "" && !(name == "a session's answer" && cc == "private") {
			t.Errorf("%s: %d %s, Cache-Control %q", name, r.status, r.body, cc)
		}
	}
}

// A block's setting from an Option env (the guide's form for optional
// configuration) is what it holds: Some(secret) was refused as "a
// Some (an environment variable that is not set?)", and an api key
// list's Some("k") as no String; None is nil, as an unset variable.
func TestAuthSettingsFromOptionEnv(t *testing.T) {
	getenv := func(o *Options) {
		o.Getenv = func(k string) (string, bool) {
			switch k {
			case "AUTH_SECRET_OPT":
				return authSecret, true
			case "API_KEY":
				return "k-one", true
			}
			return "", false
		}
	}
	app := startApp(t, `
env AUTH_SECRET_OPT: Option<String> = None
server "jwt" {
  auth { secret: AUTH_SECRET_OPT }
  route GET "/me" with auth => fn(req) req.user.sub
  route GET "/token" => fn() sign_jwt({ sub: "ann" })
}
env API_KEY: Option<String> = None
server "keys" {
  auth { type: "api_key", keys: [API_KEY] }
  route GET "/me" with auth => fn(req) req.user.key
}
`, getenv)
	tok := do(t, "GET", app.urls["jwt"]+"/token", "")
	var s string
	if err := json.Unmarshal([]byte(tok.body), &s); err != nil {
		t.Fatalf("token: %s", tok.body)
	}
	if r := do(t, "GET", app.urls["jwt"]+"/me", "", "Authorization", "Bearer "+s); r.status != 200 || r.body != `"ann"` {
		t.Errorf("jwt: %d %s", r.status, r.body)
	}
	if r := do(t, "GET", app.urls["keys"]+"/me", "", "X-API-Key", "k-one"); r.status != 200 || r.body != `"k-one"` {
		t.Errorf("api key: %d %s", r.status, r.body)
	}
	wantStartErrors(t, "\nroute GET \"/\" => fn() 1\n}", map[string]string{
		"env S: Option<String> = None\nserver {\n  auth { secret: S }": `server: app.tova:3:18: auth.secret: no secret: set AUTH_SECRET (or JWT_SECRET) in the environment`,
	})
}

// Middleware runs before the route's guards: req.user there is the user
// of credentials that pass the auth block (it was nil, and a middleware
// refusing viewers let them in), nil for none or bad ones, which `with
// auth` refuses after; a route without `with auth` sees it too.
func TestMiddlewareSeesTheUser(t *testing.T) {
	app := startApp(t, `
server {
  auth { secret: "`+authSecret+`", csrf: false }
  routes "/orgs/:org" {
    middleware fn no_viewer_writes(req, res) {
      if req.method != "GET" && req.user?.role == "viewer" {
        return respond(403, { error: "viewers are read-only" })
      }
    }
    route POST "/projects" with auth => fn(req) { { created_by: req.user.sub } }
  }
  route GET "/hello" => fn(req) { "hello {req.user?.sub ?? "stranger"}" }
  cache { default: "public, max-age=60" }
}
`)
	u := app.urls[""]
	viewer := "Bearer " + token(t, authSecret, jwt.MapClaims{"sub": "v", "role": "viewer", "iss": nil, "aud": nil})
	owner := "Bearer " + token(t, authSecret, jwt.MapClaims{"sub": "o", "role": "owner", "iss": nil, "aud": nil})
	forged := "Bearer " + token(t, "another-secret-0123456789", jwt.MapClaims{"sub": "v", "role": "viewer", "iss": nil, "aud": nil})
	for _, c := range []struct {
		auth string
		want string
	}{
		{viewer, `403 {"error":"viewers are read-only"}`},
		{owner, `200 {"created_by":"o"}`},
		{forged, `401`},
		{"", `401`},
	} {
		r := do(t, "POST", u+"/orgs/1/projects", "", "Authorization", c.auth)
		if got := fmt.Sprint(r.status, " ", r.body); got != c.want && !(c.want == "401" && r.status == 401) {
			t.Errorf("POST as %.20q: %s, want %s", c.auth, got, c.want)
		}
	}
	if r := do(t, "GET", u+"/hello", "", "Authorization", owner); r.body != `"hello o"` {
		t.Errorf("an open route with a user: %s", r.body)
	}
	if r := do(t, "GET", u+"/hello", "", "Authorization", forged); r.body != `"hello stranger"` {
		t.Errorf("an open route with a forged token: %s", r.body)
	}
	// An answer that read req.user is the credentials', none included:
	// no public cache default (a stranger's page went to users).
	if r := do(t, "GET", u+"/hello", ""); r.body != `"hello stranger"` || r.header.Get("Cache-Control") != "" {
		t.Errorf("a stranger's page: %s, Cache-Control %q", r.body, r.header.Get("Cache-Control"))
	}
}

// A config block written as a value (cors [...]) and a role named
// without quotes (with role(admin)) say how they are written: they were
// "undefined: cors (did you mean cos?)" and "undefined: admin (did you
// mean asin?)".
func TestConfigBlockAndRoleFormsSaid(t *testing.T) {
	_, err := driver.CompileFile("e.tova", []byte(`server {
  auth { secret: "0123456789abcdef0123" }
  cors ["https://a.com"]
  route GET "/x" with role(admin) => fn() 1
}
`))
	if err == nil {
		t.Fatal("compiled")
	}
	for _, want := range []string{
		`e.tova:3:3: undefined: cors: cors is a block of settings, cors { origins: ["https://app.example"] }`,
		`e.tova:4:28: role takes the role's name as a string: role("admin")`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("errors:\n%v\nwant %s", err, want)
		}
	}
	if strings.Contains(err.Error(), "did you mean") {
		t.Errorf("a did-you-mean still: %v", err)
	}
}
