package serve

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// A token sign_jwt issues on a server passes the server's own auth
// block: its secret, issuer and audience are the block's unless the
// program gives others, and its exp follows expires_in or exp.
func TestSignJWTIssuesTokensTheAuthBlockAccepts(t *testing.T) {
	app := startApp(t, `
server {
  auth { secret: "`+authSecret+`", issuer: "tova-test", audience: "api", csrf: false }
  route POST "/login" => fn(name: String, role: String) {
    { token: sign_jwt({ sub: name, role: role }, { expires_in: 1.hour }) }
  }
  route GET "/stale" => fn() { { token: sign_jwt({ sub: "old" }, nil, { exp: 1000 }) } }
  route GET "/other" => fn() { { token: sign_jwt({ sub: "x" }, "another-secret-of-16+bytes") } }
  route GET "/me" with auth => fn(req) { { sub: req.user.sub, iss: req.user.iss, aud: req.user.aud } }
  route GET "/admin" with role("admin") => fn(req) { { admin: req.user.sub } }
}
`)
	u := app.urls[""]
	issued := func(path, body string) string {
		t.Helper()
		method := "GET"
		if body != "" {
			method = "POST"
		}
		r := do(t, method, u+path, body, "Content-Type", "application/json")
		var out struct{ Token string }
		if r.status != 200 || json.Unmarshal([]byte(r.body), &out) != nil || out.Token == "" {
			t.Fatalf("%s: %d %s", path, r.status, r.body)
		}
		return out.Token
	}
	before := time.Now().Unix()
	admin := issued("/login", `{"name":"ada","role":"admin"}`)
	r := do(t, "GET", u+"/me", "", "Authorization", "Bearer "+admin)
	if r.status != 200 || r.body != `{"sub":"ada","iss":"tova-test","aud":"api"}` {
		t.Fatalf("own token on /me: %d %s", r.status, r.body)
	}
	if r := do(t, "GET", u+"/admin", "", "Authorization", "Bearer "+admin); r.status != 200 || r.body != `{"admin":"ada"}` {
		t.Fatalf("admin token on /admin: %d %s", r.status, r.body)
	}
	editor := issued("/login", `{"name":"bo","role":"editor"}`)
	if r := do(t, "GET", u+"/admin", "", "Authorization", "Bearer "+editor); r.status != 403 {
		t.Fatalf("editor token on /admin: %d %s", r.status, r.body)
	}

	// The claims, read by a JWT library on their own.
	claims := jwt.MapClaims{}
	if _, err := jwt.ParseWithClaims(admin, claims, func(*jwt.Token) (any, error) { return []byte(authSecret), nil },
		jwt.WithValidMethods([]string{"HS256"})); err != nil {
		t.Fatalf("the token does not verify with the block's secret: %v", err)
	}
	iat, _ := claims["iat"].(float64)
	exp, _ := claims["exp"].(float64)
	if now := time.Now().Unix(); int64(iat) < before || int64(iat) > now || int64(exp)-int64(iat) != 3600 {
		t.Errorf("iat %v, exp %v: want iat now and exp an hour later", claims["iat"], claims["exp"])
	}

	for path, want := range map[string]string{"/stale": "expired token", "/other": "invalid token: bad signature"} {
		r := do(t, "GET", u+"/me", "", "Authorization", "Bearer "+issued(path, ""))
		if r.status != 401 || !strings.Contains(r.body, want) {
			t.Errorf("token of %s on /me: %d %s, want 401 saying %q", path, r.status, r.body, want)
		}
	}
}

// hash_password keeps a password in the reference's text form, PBKDF2
// with HMAC-SHA256 and 100 000 iterations, which verify_password (and
// any PBKDF2 implementation) checks.
func TestPasswordHashes(t *testing.T) {
	app := startApp(t, `
server {
  route POST "/hash" => fn(pw: String) { { stored: hash_password(pw) } }
  route POST "/check" => fn(pw: String, stored: String) { { ok: verify_password(pw, stored) } }
  route GET "/nohash" => fn() [verify_password("pw", nil), verify_password("pw", None), verify_password(nil, hash_password("pw")), verify_password(None, nil)]
  route GET "/somehash" => fn() [verify_password("pw", Some(hash_password("pw"))), verify_password(Some("pw"), hash_password("pw")), verify_password("no", Some(hash_password("pw")))]
}
`)
	u := app.urls[""]
	hash := func(pw string) string {
		t.Helper()
		r := do(t, "POST", u+"/hash", `{"pw":`+quote(pw)+`}`, "Content-Type", "application/json")
		var out struct{ Stored string }
		if r.status != 200 || json.Unmarshal([]byte(r.body), &out) != nil {
			t.Fatalf("hash: %d %s", r.status, r.body)
		}
		return out.Stored
	}
	check := func(pw, stored string) string {
		t.Helper()
		r := do(t, "POST", u+"/check", `{"pw":`+quote(pw)+`,"stored":`+quote(stored)+`}`, "Content-Type", "application/json")
		if r.status != 200 {
			t.Fatalf("check: %d %s", r.status, r.body)
		}
		return r.body
	}

	stored := hash("correct horse ✓")
	parts := strings.Split(stored, ":")
	if len(parts) != 4 || parts[0] != "pbkdf2" || parts[1] != "100000" || len(parts[2]) != 32 || len(parts[3]) != 64 {
		t.Fatalf("stored %q: want pbkdf2:100000:<16-byte salt hex>:<32-byte hash hex>", stored)
	}
	salt, _ := hex.DecodeString(parts[2])
	want, err := pbkdf2.Key(sha256.New, "correct horse ✓", salt, 100000, 32)
	if err != nil || hex.EncodeToString(want) != parts[3] {
		t.Fatalf("the hash is not PBKDF2-HMAC-SHA256 of the password and salt: %s", stored)
	}
	if again := hash("correct horse ✓"); again == stored {
		t.Errorf("two hashes of one password are equal (%s): the salt is not random", stored)
	}

	// A hash made elsewhere in the same format (another iteration count,
	// as the reference's stored hashes may have) verifies too.
	other, _ := pbkdf2.Key(sha256.New, "pw", []byte("salty"), 1000, 32)
	foreign := "pbkdf2:1000:" + hex.EncodeToString([]byte("salty")) + ":" + hex.EncodeToString(other)

	for _, c := range []struct{ pw, stored, want string }{
		{"correct horse ✓", stored, `{"ok":true}`},
		{"correct horse", stored, `{"ok":false}`},
		{"pw", foreign, `{"ok":true}`},
		{"pw2", foreign, `{"ok":false}`},
		{"pw", "", `{"ok":false}`},
		{"pw", "bcrypt:10:aa:bb", `{"ok":false}`},
		{"pw", "pbkdf2:1000:zz:" + hex.EncodeToString(other), `{"ok":false}`},
		{"pw", "pbkdf2:0:" + hex.EncodeToString([]byte("salty")) + ":" + hex.EncodeToString(other), `{"ok":false}`},
		// A count past ten million is refused, not computed for minutes.
		{"pw", "pbkdf2:2000000000:" + hex.EncodeToString([]byte("salty")) + ":" + hex.EncodeToString(other), `{"ok":false}`},
	} {
		if got := check(c.pw, c.stored); got != c.want {
			t.Errorf("verify_password(%q, %q) = %s, want %s", c.pw, c.stored, got, c.want)
		}
	}
	// No stored hash (a nil column): no password matches it; it was a
	// TypeError, a 500 for the login of a user without one.
	before := pbkdf2Rounds.Load()
	if r := do(t, "GET", u+"/nohash", ""); r.status != 200 || r.body != "[false,false,false,false]" {
		t.Errorf("verify_password of nil: %d %s", r.status, r.body)
	}
	// Each does the work of a check (hash_password's once, then four
	// checks): a quick answer told that the user has no password.
	if n := pbkdf2Rounds.Load() - before; n < 5*passwordIterations {
		t.Errorf("%d PBKDF2 rounds for a hash and four checks of no hash", n)
	}
	// An Option's Some is what it holds (an Option column).
	if r := do(t, "GET", u+"/somehash", ""); r.status != 200 || r.body != "[true,true,false]" {
		t.Errorf("verify_password of Some: %d %s", r.status, r.body)
	}
	before = pbkdf2Rounds.Load()
	if got := check("pw", "bcrypt:10:aa:bb"); got != `{"ok":false}` || pbkdf2Rounds.Load()-before < passwordIterations {
		t.Errorf("a stored text of another form: %s after %d rounds", got, pbkdf2Rounds.Load()-before)
	}
}

// sign_jwt refuses what would make a token nobody should trust or use:
// no secret, a short one, claims that are not an object, an exp outside
// a JWT's range.
func TestSignJWTRefuses(t *testing.T) {
	app := startApp(t, `
server {
  route GET "/none" => fn() { sign_jwt({ sub: 1 }) }
  route GET "/short" => fn() { sign_jwt({ sub: 1 }, "short") }
  route GET "/list" => fn() { sign_jwt([1, 2], "0123456789abcdef-secret") }
  route GET "/exp" => fn() { sign_jwt({ sub: 1 }, "0123456789abcdef-secret", { exp: 1.0e15 }) }
  route GET "/option" => fn() { sign_jwt({ sub: 1 }, "0123456789abcdef-secret", { expiresIn: 60 }) }
  route GET "/claim-ms" => fn() { sign_jwt({ sub: 1, exp: 1796407868721 }, "0123456789abcdef-secret") }
  route GET "/claim-text" => fn() { sign_jwt({ sub: 1, nbf: "tomorrow" }, "0123456789abcdef-secret") }
  route GET "/claim-ok" => fn() { sign_jwt({ sub: 1, exp: 1796407868, nbf: 1.0e9 }, "0123456789abcdef-secret") }
}
`)
	u := app.urls[""]
	for path, want := range map[string]string{
		"/none":   "sign_jwt: no secret",
		"/short":  "sign_jwt: the secret is 5 bytes",
		"/list":   "sign_jwt: the payload must be an object",
		"/exp":    "sign_jwt: exp: expected a time in whole Unix seconds",
		"/option": "sign_jwt: unknown option expiresIn",
		// Times written in the claims are checked as the option's are:
		// the server's own `with auth` refused every such token.
		"/claim-ms":   "sign_jwt: the claim exp 1796407868721 is not a time in whole Unix seconds from 1970 to 9999 (Date.now() gives milliseconds",
		"/claim-text": "sign_jwt: the claim nbf must be a time in Unix seconds, got a String",
	} {
		if r := do(t, "GET", u+path, ""); r.status != 500 || !strings.Contains(app.logs.String(), want) {
			t.Errorf("%s: %d %s, want a 500 logged as %q", path, r.status, r.body, want)
		}
	}
	if r := do(t, "GET", u+"/claim-ok", ""); r.status != 200 {
		t.Errorf("/claim-ok: %d %s", r.status, r.body)
	}
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// Password hashing takes turns for the CPUs as Tova code does: a burst
// of logins leaves health checks and short requests answered at once
// (they waited behind every hash: p50 260 ms with 30 logins on 2
// cores), and a hash of ten million rounds stops at its request's
// deadline, where it ran on for seconds after the 503.
func TestPasswordHashingTakesTurns(t *testing.T) {
	costly := "pbkdf2:10000000:" + hex.EncodeToString([]byte("salty")) + ":" + strings.Repeat("ab", 32)
	app := startApp(t, `server {
  var stopped = 0
  route POST "/login" => fn(stored: String) { verify_password("pw", stored) }
  route POST "/slow" => fn(req, res, stored: String) {
    res.on_finish(fn(status) { stopped += 1 })
    verify_password("pw", stored)
  }
  route GET "/stopped" => fn() { stopped }
  route GET "/ok" => fn() "ok"
  health "/health"
}`, func(o *Options) { o.RequestTimeout = time.Second })
	u := app.urls[""]
	body := `{"stored":` + quote(costly) + `}`

	t0 := time.Now()
	if r := do(t, "POST", u+"/slow", body); r.status != 503 {
		t.Fatalf("POST /slow: %d %s, want 503 at the deadline", r.status, r.body)
	}
	waitFor(t, func() bool { return do(t, "GET", u+"/stopped", "").body == "1" })
	if d := time.Since(t0); d > 2500*time.Millisecond {
		t.Errorf("the hash past its deadline stopped after %v", d)
	}

	const logins = 16
	var wg sync.WaitGroup
	for range logins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := do(t, "POST", u+"/login", body); r.status != 503 {
				t.Errorf("POST /login: %d %s, want 503", r.status, r.body)
			}
		}()
	}
	time.Sleep(200 * time.Millisecond) // the logins are hashing now
	slowest := slowestAnswer(t, u, "the logins", func(int) []string { return []string{"/health", "/ok"} }, nil)
	wg.Wait()
	t.Logf("slowest short request beside %d hashes: %v", logins, slowest)
	if slowest > 250*time.Millisecond {
		t.Errorf("a short request took %v beside %d password hashes", slowest, logins)
	}
}
