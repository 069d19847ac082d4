package serve

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// csrfToken fetches a CSRF token from the server at base.
func csrfToken(t testing.TB, base string) string {
	t.Helper()
	r := do(t, "GET", base+csrfPath, "")
	tok, _ := r.json(t)["token"].(string)
	if r.status != 200 || tok == "" {
		t.Fatalf("GET %s: %d %s", csrfPath, r.status, r.body)
	}
	return tok
}

// An auth block turns the CSRF check on, as in the reference: a POST,
// PUT, PATCH or DELETE without a token from GET /csrf-token in
// X-Tova-CSRF is answered 403 CSRF_INVALID before the middleware and
// the handler run; with one it goes on (to the auth guard, here);
// GET, HEAD and OPTIONS need none.
func TestCSRFCheckWithAuthBlock(t *testing.T) {
	app := startApp(t, `server {
  auth { secret: "a-secret-of-enough-bytes" }
  var posts = 0
  middleware fn seen(req, next) { print("mw {req.method}"); next(req) }
  route POST "/open" => fn() { posts += 1; posts }
  route PUT "/open" => fn() { posts += 1; posts }
  route PATCH "/open" => fn() { posts += 1; posts }
  route DELETE "/open" => fn() { posts += 1; posts }
  route DELETE "/mine" with auth => fn() "deleted"
  route GET "/count" => fn() posts
}
`)
	u := app.urls[""]
	for _, m := range []string{"POST", "PUT", "PATCH", "DELETE"} {
		r := do(t, m, u+"/open", "", "X-Request-ID", "no-token-"+m)
		if r.status != 403 || !strings.Contains(r.body, `"code":"CSRF_INVALID"`) || r.json(t)["request_id"] != "no-token-"+m ||
			!strings.Contains(r.body, "send the token GET /csrf-token gives as X-Tova-CSRF") {
			t.Errorf("%s without a token = %d %s", m, r.status, r.body)
		}
	}
	tok := csrfToken(t, u)
	if !regexp.MustCompile(`^[0-9a-z]+:[0-9a-f]{16}:anon:[0-9a-f]{64}$`).MatchString(tok) {
		t.Errorf("token %q is not <ts36>:<nonce>:anon:<hmac>", tok)
	}
	if r := do(t, "POST", u+"/open", "", csrfHeader, tok); r.status != 200 || r.body != "1" {
		t.Errorf("POST with a token = %d %s", r.status, r.body)
	}
	if r := do(t, "DELETE", u+"/mine", "", csrfHeader, csrfToken(t, u)); r.status != 401 {
		t.Errorf("DELETE with a token and no login = %d %s, want the auth guard's 401", r.status, r.body)
	}
	last := "0"
	if strings.HasSuffix(tok, "0") {
		last = "1" // (one token in 16 ends in 0: changing it to 0 would change nothing)
	}
	for _, bad := range []string{
		tok[:len(tok)-1] + last,                     // signature altered
		strings.Replace(tok, ":anon:", ":user:", 1), // binding altered
		"zzzzzzzz" + tok[strings.Index(tok, ":"):],  // time altered
		"not a token", tok + ":x", strings.ToUpper(tok), // malformed
	} {
		if r := do(t, "POST", u+"/open", "", csrfHeader, bad); r.status != 403 {
			t.Errorf("POST with token %q = %d %s", bad, r.status, r.body)
		}
	}
	for _, m := range []string{"GET", "HEAD", "OPTIONS"} {
		if r := do(t, m, u+"/count", ""); r.status >= 400 {
			t.Errorf("%s needs no token: %d %s", m, r.status, r.body)
		}
	}
	if r := do(t, "GET", u+"/count", ""); r.body != "1" {
		t.Errorf("posts made: %s, want only the one with a token", r.body)
	}
	if n := strings.Count(app.stdout.String(), "mw POST"); n != 1 {
		t.Errorf("the middleware saw %d POSTs, want the one with a token:\n%s", n, app.stdout.String())
	}
	// A valid bearer token, which no browser sends by itself, needs no
	// CSRF token (an API of tokens met 403 at its first POST); a token
	// the auth block does not let in, and Basic credentials, which a
	// browser keeps and sends, do.
	valid := "Bearer " + token(t, "a-secret-of-enough-bytes", jwt.MapClaims{"sub": "s", "iss": nil, "aud": nil})
	if r := do(t, "DELETE", u+"/mine", "", "Authorization", valid); r.status != 200 || r.body != `"deleted"` {
		t.Errorf("DELETE with a bearer token = %d %s", r.status, r.body)
	}
	if r := do(t, "POST", u+"/open", "", "Authorization", valid); r.status != 200 || r.body != "2" {
		t.Errorf("POST with a bearer token = %d %s", r.status, r.body)
	}
	for _, a := range []string{"Basic YTpi", "Bearer", "Bearer ", "Bearer junk", "bearer " + token(t, "another-secret-of-enough", jwt.MapClaims{"sub": "s"})} {
		if r := do(t, "POST", u+"/open", "", "Authorization", a); r.status != 403 {
			t.Errorf("POST with Authorization %.30q = %d %s", a, r.status, r.body)
		}
	}
	if len(logged(app.logs, "CSRF validation failed: no valid X-Tova-CSRF token (GET /csrf-token gives one) or form _csrf token")) < 4 {
		t.Errorf("refusals not logged:\n%s", app.logs.String())
	}
}

// A token is made with the server's secret and lasts a day; one from a
// server with another secret, or older, is refused.
func TestCSRFTokenLifetimeAndKey(t *testing.T) {
	a, err := newCSRFGuard(nil, &authSettings{csrf: true, secret: []byte("a-secret-of-enough-bytes")}, noEnv, false)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := newCSRFGuard(nil, &authSettings{csrf: true, secret: []byte("another-secret-enough-bytes")}, noEnv, false)
	now := time.Now()
	a.now = func() time.Time { return now }
	tok := a.token()
	if !a.valid(tok) || b.valid(tok) {
		t.Fatalf("valid to its maker %v, to another secret's %v", a.valid(tok), b.valid(tok))
	}
	a.now = func() time.Time { return now.Add(csrfLifetime - time.Second) }
	if !a.valid(tok) {
		t.Error("refused within its day")
	}
	a.now = func() time.Time { return now.Add(csrfLifetime + time.Second) }
	if a.valid(tok) {
		t.Error("taken after its day")
	}
	a.now = func() time.Time { return now.Add(-10 * time.Second) }
	if !a.valid(tok) {
		t.Error("refused from a process whose clock is 10 s ahead")
	}
	a.now = func() time.Time { return now.Add(-time.Minute) }
	if a.valid(tok) {
		t.Error("taken a minute before it was made")
	}
	a.now = func() time.Time { return now }
	if i := strings.LastIndexByte(tok, ':'); a.valid(tok[:i] + strings.ToUpper(tok[i:])) {
		t.Error("a token's signature taken in upper case: one token has one spelling")
	}
	// An api_key block has no secret: CSRF_SECRET, else a key of the
	// process's own.
	env := func(k string) (string, bool) { return "shared-csrf-secret", k == csrfSecretEnv }
	k1, _ := newCSRFGuard(nil, &authSettings{csrf: true, apiKey: true}, env, false)
	k2, _ := newCSRFGuard(nil, &authSettings{csrf: true, apiKey: true}, env, false)
	r1, _ := newCSRFGuard(nil, &authSettings{csrf: true, apiKey: true}, noEnv, false)
	r2, _ := newCSRFGuard(nil, &authSettings{csrf: true, apiKey: true}, noEnv, false)
	if !k2.valid(k1.token()) || r2.valid(r1.token()) || !r1.valid(r1.token()) {
		t.Error("api_key keys: CSRF_SECRET not shared, or random keys shared")
	}
	// A short CSRF_SECRET is refused, as every other secret is: one
	// byte was taken, and tokens could be forged offline.
	short := func(k string) (string, bool) { return "x", k == csrfSecretEnv }
	if _, err := newCSRFGuard(nil, &authSettings{csrf: true, apiKey: true}, short, false); err == nil || err.Error() != "CSRF_SECRET is too short (1 bytes): set it to a random string of at least 16 bytes" {
		t.Errorf("a 1-byte CSRF_SECRET: %v", err)
	}
}

func noEnv(string) (string, bool) { return "", false }

// The reference's session block turns the check on, the guide's
// sessions block does not (its SameSite cookie is its protection)
// unless it says csrf: true (same_site: "none" without either is warned
// of); csrf: false turns it off. A route the program declares at GET
// /csrf-token is its own.
func TestCSRFWhichBlocksTurnItOn(t *testing.T) {
	const secret = `secret: "a-secret-of-enough-bytes"`
	route := "\n  route POST \"/p\" => fn() \"posted\"\n}\n"
	for _, c := range []struct {
		block string
		on    bool
	}{
		{"session { " + secret + " }", true},
		{"sessions { " + secret + " }", false},
		{"sessions { " + secret + ", csrf: true }", true},
		// SameSite=None: other sites' requests carry the cookie (a
		// warning, below).
		{"sessions { " + secret + `, same_site: "none", secure: true }`, false},
		{"sessions { " + secret + `, same_site: "none", secure: true, csrf: true }`, true},
		{"sessions { " + secret + `, same_site: "strict" }`, false},
		{"session { " + secret + ", csrf: false }", false},
		{"auth { " + secret + ", csrf: false }", false},
		{`auth { type: "api_key", keys: ["k1"] }`, true},
		// csrf: false in either block wins over the other's turning it on.
		{"session { " + secret + ", csrf: false }\n  auth { " + secret + " }", false},
		{"session { " + secret + " }\n  auth { " + secret + ", csrf: false }", false},
	} {
		app := startApp(t, "server {\n  "+c.block+route)
		warned := len(logged(app.logs, sameSiteNoneWarning)) > 0
		if want := strings.Contains(c.block, `"none"`) && !strings.Contains(c.block, "csrf"); warned != want {
			t.Errorf("%s: warned of same_site none: %v", c.block, warned)
		}
		r := do(t, "POST", app.urls[""]+"/p", "")
		if on := r.status == 403; on != c.on {
			t.Errorf("%s: POST without a token = %d %s, want the check on: %v", c.block, r.status, r.body, c.on)
		}
		if tr := do(t, "GET", app.urls[""]+csrfPath, ""); (tr.status == 200) != c.on {
			t.Errorf("%s: GET %s = %d", c.block, csrfPath, tr.status)
		}
	}
	// The token is never cached, whatever the cache block says: kept a
	// year, it failed every form after its day.
	cached := startApp(t, "server {\n  cache { default: \"public, max-age=31536000\" }\n  session { "+secret+" }"+route)
	if r := do(t, "GET", cached.urls[""]+csrfPath, ""); r.status != 200 || r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("GET %s under a cache block: %d %v", csrfPath, r.status, r.header)
	}
	app := startApp(t, `server {
  auth { `+secret+` }
  route GET "/csrf-token" => fn() "mine"
}
`)
	if r := do(t, "GET", app.urls[""]+csrfPath, ""); r.body != `"mine"` {
		t.Errorf("the program's own GET /csrf-token: %s", r.body)
	}
	wantStartErrors(t, route, map[string]string{
		"server {\n  auth { " + secret + ", csrf: \"no\" }": `server: app.tova:2:52: auth.csrf: expected true or false, got "no"`,
	})
}

// Another server's code calling a function of a server with the check
// on needs no token: its call carries X-Tova-Call, which no page can
// make a browser send; the same request from a client without it is
// refused.
func TestCSRFSparesCallsBetweenServers(t *testing.T) {
	app := startApp(t, `server "api" {
  route GET "/double/:n" => fn(n: Int) { worker.compute(n) }
}
server "worker" {
  auth { secret: "a-secret-of-enough-bytes" }
  fn compute(n: Int) { n * 2 }
  route POST "/rpc/mine" => fn() "mine"
  route DELETE "/rpc/compute" => fn() "deleted"
}
`)
	if r := do(t, "GET", app.urls["api"]+"/double/21", ""); r.status != 200 || r.body != "42" {
		t.Errorf("a call to the worker = %d %s", r.status, r.body)
	}
	if r := do(t, "POST", app.urls["worker"]+"/rpc/compute", `{"n":1}`); r.status != 403 {
		t.Errorf("POST /rpc/compute from a client without the header = %d %s", r.status, r.body)
	}
	// The program's own routes under /rpc/ are no calls between servers,
	// whatever the header (it turned their check off).
	for _, c := range [][2]string{{"POST", "/rpc/mine"}, {"DELETE", "/rpc/compute"}} {
		if r := do(t, c[0], app.urls["worker"]+c[1], "", "X-Tova-Call", "1"); r.status != 403 {
			t.Errorf("%s %s with X-Tova-Call = %d %s", c[0], c[1], r.status, r.body)
		}
	}
}

const sameSiteNoneWarning = `sessions: same_site "none" sends the session cookie with other sites' requests too, and the CSRF check is off: a page elsewhere can make requests as the user; add csrf: true (clients then send X-Tova-CSRF), or csrf: false to say it is meant`

// A page's form, posted without JavaScript, sends its token in a hidden
// _csrf field, from req.csrf_token: a urlencoded or a multipart form
// with it goes on; without it, or with a wrong one, 403. The token is
// bound to the browser it was made for (its tova_csrf cookie, which the
// page's answer sets): another site's page, which can post a form with
// a token it got for itself but can neither read nor set that cookie,
// is refused. req.csrf_token is nil where the check is off.
func TestCSRFFormField(t *testing.T) {
	app := startApp(t, `server {
  session { secret: "a-secret-of-enough-bytes" }
  cache { default: "public, max-age=60" }
  route GET "/form" => fn(req) req.csrf_token
  route POST "/post" => fn(req) "posted {req.body.t}"
  route POST "/fields" => fn(req) { { body: req.body, form: req.formData() } }
}
server "open" {
  route GET "/token" => fn(req) req.csrf_token
}
server "guide" {
  sessions { secret: "a-secret-of-enough-bytes" }
  route GET "/token" => fn(req) req.csrf_token
}
server "off" {
  sessions { secret: "a-secret-of-enough-bytes", csrf: false }
  route GET "/token" => fn(req) req.csrf_token
}
`)
	u := app.urls[""]
	page := func(cookie ...string) (tok, pair string) {
		t.Helper()
		r := do(t, "GET", u+"/form", "", cookie...)
		if r.status != 200 || json.Unmarshal([]byte(r.body), &tok) != nil || tok == "" {
			t.Fatalf("req.csrf_token: %d %s", r.status, r.body)
		}
		if cc := r.header.Get("Cache-Control"); strings.Contains(cc, "public") {
			t.Errorf("a page with a browser's token is cacheable: %s", cc)
		}
		if lines := r.header.Values("Set-Cookie"); len(lines) == 1 {
			pair, _, _ = strings.Cut(lines[0], ";")
			if !strings.Contains(lines[0], "HttpOnly") || !strings.Contains(lines[0], "SameSite=Lax") || !strings.Contains(lines[0], "Path=/") {
				t.Errorf("the cookie: %s", lines[0])
			}
		} else if len(cookie) == 0 || len(lines) != 0 {
			t.Fatalf("Set-Cookie %q", lines)
		}
		return tok, pair
	}
	tok, cookie := page()
	if !strings.HasPrefix(cookie, "tova_csrf=") {
		t.Fatalf("cookie %q", cookie)
	}
	// The browser's next page keeps its cookie: no new one.
	if tok2, again := page("Cookie", cookie); again != "" || tok2 == tok {
		t.Errorf("a second page: cookie %q, token %q", again, tok2)
	}
	form := "application/x-www-form-urlencoded"
	if r := do(t, "POST", u+"/post", "_csrf="+url.QueryEscape(tok)+"&t=hi", "Content-Type", form, "Cookie", cookie); r.status != 200 || r.body != `"posted hi"` {
		t.Errorf("a form with its token: %d %s", r.status, r.body)
	}
	// Refused: no token, a wrong one, the token without the browser's
	// cookie, with another browser's cookie, a token another client
	// fetched for itself (the page's or /csrf-token's) with this
	// browser's cookie.
	otherTok, otherCookie := page()
	anon := csrfToken(t, u)
	// Each says why, where the token is one of the server's.
	for _, c := range []struct{ body, cookie, why string }{
		{"t=hi", cookie, "CSRF token invalid or missing"}, {"_csrf=x&t=hi", cookie, "CSRF token invalid or missing"},
		{"_csrf=" + url.QueryEscape(tok+"0") + "&t=hi", cookie, "CSRF token invalid or missing"},
		{"_csrf=" + url.QueryEscape(tok) + "&t=hi", "", "which this request did not carry"},
		{"_csrf=" + url.QueryEscape(tok) + "&t=hi", otherCookie, "was made for another browser"},
		{"_csrf=" + url.QueryEscape(tok) + "&t=hi", "tova_csrf=abcdef", "this request's is not one the server made"},
		{"_csrf=" + url.QueryEscape(otherTok) + "&t=hi", cookie, "was made for another browser"},
		{"_csrf=" + url.QueryEscape(anon) + "&t=hi", cookie, "is one of GET /csrf-token's, which go in the X-Tova-CSRF header"},
	} {
		hdrs := []string{"Content-Type", form}
		if c.cookie != "" {
			hdrs = append(hdrs, "Cookie", c.cookie)
		}
		if r := do(t, "POST", u+"/post", c.body, hdrs...); r.status != 403 || !strings.Contains(r.body, c.why) {
			t.Errorf("a form %q with cookie %q: %d %s", c.body, c.cookie, r.status, r.body)
		}
	}
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	mw.WriteField("_csrf", tok)
	mw.WriteField("t", "multi")
	mw.Close()
	if r := do(t, "POST", u+"/post", b.String(), "Content-Type", mw.FormDataContentType(), "Cookie", cookie); r.status != 200 || r.body != `"posted multi"` {
		t.Errorf("a multipart form with its token: %d %s", r.status, r.body)
	}
	// A long form's token after its 70 other fields is read (64 parts
	// were, and the form refused).
	var long bytes.Buffer
	mw2 := multipart.NewWriter(&long)
	for i := range 70 {
		mw2.WriteField(fmt.Sprintf("f%d", i), "v")
	}
	mw2.WriteField("_csrf", tok)
	mw2.WriteField("t", "long")
	mw2.Close()
	if r := do(t, "POST", u+"/post", long.String(), "Content-Type", mw2.FormDataContentType(), "Cookie", cookie); r.status != 200 || r.body != `"posted long"` {
		t.Errorf("a multipart form of 72 fields with its token: %d %s", r.status, r.body)
	}
	// Its token after a file is not read: the 403 says where it goes.
	var late bytes.Buffer
	lw := multipart.NewWriter(&late)
	fw, _ := lw.CreateFormFile("image", "a.png")
	fw.Write([]byte("png"))
	lw.WriteField("_csrf", tok)
	lw.Close()
	if r := do(t, "POST", u+"/post", late.String(), "Content-Type", lw.FormDataContentType(), "Cookie", cookie); r.status != 403 || !strings.Contains(r.body, "the form's _csrf field comes after a file") {
		t.Errorf("a multipart form with its token after a file: %d %s", r.status, r.body)
	}
	// Its token past the first 1000 parts is not read either, and the
	// 403 says so (it was the 403 of no token).
	var far bytes.Buffer
	fw2 := multipart.NewWriter(&far)
	for i := range 1000 {
		fw2.WriteField(fmt.Sprintf("f%d", i), "v")
	}
	fw2.WriteField("_csrf", tok)
	fw2.Close()
	if r := do(t, "POST", u+"/post", far.String(), "Content-Type", fw2.FormDataContentType(), "Cookie", cookie); r.status != 403 || !strings.Contains(r.body, "the form's _csrf field comes after its first 1000 parts") {
		t.Errorf("a multipart form with its token after 1000 parts: %d %s", r.status, r.body)
	}
	// The token is the check's: req.body and req.formData() have no
	// _csrf field (a Model.create(req.body) failed on it), and a field
	// that is "a;b" or "100%" in req.body does not hide it; of two, one
	// valid is enough.
	for _, body := range []string{"t=a;b&_csrf=" + url.QueryEscape(tok), "t=100%&_csrf=" + url.QueryEscape(tok)} {
		if r := do(t, "POST", u+"/fields", body, "Content-Type", form, "Cookie", cookie); r.status != 200 || strings.Contains(r.body, "_csrf") || !strings.Contains(r.body, `"t":`) {
			t.Errorf("a form %q: %d %s", body, r.status, r.body)
		}
	}
	if r := do(t, "POST", u+"/fields", "_csrf=&_csrf="+url.QueryEscape(tok)+"&t=x", "Content-Type", form, "Cookie", cookie); r.status != 200 || r.body != `{"body":{"t":"x"},"form":{"t":"x"}}` {
		t.Errorf("two _csrf fields: %d %s", r.status, r.body)
	}
	if r := do(t, "POST", u+"/fields", b.String(), "Content-Type", mw.FormDataContentType(), "Cookie", cookie); r.status != 200 || r.body != `{"body":{"t":"multi"},"form":{"t":"multi"}}` {
		t.Errorf("a multipart form's fields: %d %s", r.status, r.body)
	}
	// Refused, the answer names the form's field too.
	if r := do(t, "POST", u+"/fields", "t=x", "Content-Type", form); r.status != 403 || !strings.Contains(r.body, "_csrf field") {
		t.Errorf("no token: %d %s", r.status, r.body)
	}
	// The header takes any token of the server's, bound or not.
	if r := do(t, "POST", u+"/post", "t=h", "Content-Type", form, "X-Tova-CSRF", otherTok); r.status != 200 {
		t.Errorf("a page's token in the header: %d %s", r.status, r.body)
	}
	if r := do(t, "GET", app.urls["open"]+"/token", ""); r.body != "null" || len(r.header.Values("Set-Cookie")) != 0 {
		t.Errorf("req.csrf_token with the check off: %s %v", r.body, r.header)
	}
	// The guide's sessions block checks none either: a page that reads
	// a token for its form is told why it is nil, once.
	const why = "req.csrf_token is nil: the sessions block checks no CSRF token (its cookie's SameSite guards forms); write csrf: true in the block for a token a form's _csrf field is checked against"
	for range 2 {
		if r := do(t, "GET", app.urls["guide"]+"/token", ""); r.body != "null" {
			t.Errorf("req.csrf_token of the guide's sessions block: %s", r.body)
		}
	}
	// (a block saying csrf: false is not warned of)
	if r := do(t, "GET", app.urls["off"]+"/token", ""); r.body != "null" {
		t.Errorf("req.csrf_token with csrf: false: %s", r.body)
	}
	if n := len(logged(app.logs, why)); n != 1 {
		t.Errorf("warned %d times, want once:\n%s", n, app.logs)
	}
	if n := len(logged(app.logs, why)); n == 1 && logged(app.logs, why)[0]["server"] != "guide" {
		t.Errorf("warned of by another server: %v", logged(app.logs, why))
	}
}

// An app whose session cookie is SameSite=None (embedded in another
// site's page) gets a form-token cookie that is sent there too: a Lax
// one was not, and every form was refused. An app served over HTTPS
// (its session cookie Secure) names it __Host-tova_csrf, which only the
// host itself sets: a tova_csrf cookie a sibling subdomain set in the
// browser, with a token bound to it, is not taken.
func TestCSRFCookieFollowsSameSiteNone(t *testing.T) {
	app := startApp(t, `server {
  sessions { secret: "a-secret-of-enough-bytes-123456", secure: true, same_site: "none", csrf: true }
  route GET "/form" => fn(req) req.csrf_token
  route POST "/post" => fn() "posted"
}`)
	u := app.urls[""]
	r := do(t, "GET", u+"/form", "")
	lines := r.header.Values("Set-Cookie")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "__Host-tova_csrf=") || !strings.Contains(lines[0], "SameSite=None") ||
		!strings.Contains(lines[0], "Secure") || !strings.Contains(lines[0], "Path=/") || strings.Contains(lines[0], "Domain") {
		t.Fatalf("Set-Cookie %q", lines)
	}
	tok := strings.Trim(r.body, `"`)
	id := strings.TrimPrefix(strings.SplitN(lines[0], ";", 2)[0], "__Host-tova_csrf=")
	form := "application/x-www-form-urlencoded"
	if r := do(t, "POST", u+"/post", "_csrf="+url.QueryEscape(tok), "Content-Type", form, "Cookie", "__Host-tova_csrf="+id); r.status != 200 {
		t.Errorf("a form with its __Host- cookie: %d %s", r.status, r.body)
	}
	if r := do(t, "POST", u+"/post", "_csrf="+url.QueryEscape(tok), "Content-Type", form, "Cookie", "tova_csrf="+id); r.status != 403 {
		t.Errorf("a form with a tova_csrf cookie on an HTTPS site: %d %s", r.status, r.body)
	}
}

// A valid API key of an api_key auth block, a header no browser sends by
// itself, needs no CSRF token either; a wrong key does, and on a route
// of the block's guards is refused as the guard refuses it: 401, saying
// what is wrong, before anything runs.
func TestCSRFWaivedForValidAPIKey(t *testing.T) {
	app := startApp(t, `server {
  auth { type: "api_key", keys: ["k1-secret-key"] }
  var seen = 0
  middleware fn count(req, next) {
    seen += 1
    next(req)
  }
  route POST "/items" with auth => fn(req) { { ok: true } }
  route POST "/open" => fn(req) { { ok: true } }
  route GET "/seen" => fn() seen
}
`)
	u := app.urls[""]
	for _, p := range []string{"/items", "/open"} {
		if r := do(t, "POST", u+p, "", "X-API-Key", "k1-secret-key"); r.status != 200 {
			t.Errorf("POST %s with a valid key = %d %s", p, r.status, r.body)
		}
	}
	for _, h := range [][]string{{"X-API-Key", "wrong"}, {"X-API-Key", "wrong", "Authorization", "Bearer x"}, nil} {
		if r := do(t, "POST", u+"/open", "", h...); r.status != 403 || !strings.Contains(r.body, "CSRF_INVALID") {
			t.Errorf("POST /open with %q = %d %s", h, r.status, r.body)
		}
		r := do(t, "POST", u+"/items", "", h...)
		want := "invalid API key"
		if h == nil {
			want = "missing API key"
		}
		if r.status != 401 || !strings.Contains(r.body, `"code":"AUTH_REQUIRED"`) || !strings.Contains(r.body, want) ||
			r.header.Get("WWW-Authenticate") != `APIKey header="X-API-Key"` {
			t.Errorf("POST /items with %q = %d %s %v", h, r.status, r.body, r.header)
		}
	}
	if r := do(t, "GET", u+"/seen", ""); r.body != "3" {
		t.Errorf("the middleware ran for %s requests, want the 2 POSTs let in and this GET", r.body)
	}
}

// An expired or missing bearer token on a POST to a route `with auth`
// is the guard's 401, as on a GET, not a 403 about CSRF: a client that
// renews its token on 401 renews it on a write too.
func TestCSRFRefusalOfGuardedRouteIsTheGuards(t *testing.T) {
	app := startApp(t, `server {
  auth { secret: "0123456789abcdef0123456789abcdef" }
  route POST "/order" with auth => fn(req) "ordered"
  route DELETE "/order" with role("admin") => fn(req) "deleted"
}
`)
	u := app.urls[""]
	old := token(t, "0123456789abcdef0123456789abcdef", jwt.MapClaims{"sub": "a", "exp": 1000})
	good := token(t, "0123456789abcdef0123456789abcdef", jwt.MapClaims{"sub": "a", "role": "user"})
	for _, c := range []struct{ method, auth, status, want string }{
		{"POST", "Bearer " + old, "401", "expired token"},
		{"POST", "", "401", "missing token"},
		{"DELETE", "Bearer " + old, "401", "expired token"},
		{"POST", "Bearer " + good, "200", "ordered"},
		{"DELETE", "Bearer " + good, "403", "FORBIDDEN"},
	} {
		var hs []string
		if c.auth != "" {
			hs = []string{"Authorization", c.auth}
		}
		r := do(t, c.method, u+"/order", "", hs...)
		if fmt.Sprint(r.status) != c.status || !strings.Contains(r.body, c.want) {
			t.Errorf("%s with %q = %d %s", c.method, c.auth, r.status, r.body)
		}
		if r.status == 401 && r.header.Get("WWW-Authenticate") != "Bearer" {
			t.Errorf("%s with %q: no challenge: %v", c.method, c.auth, r.header)
		}
	}
}
