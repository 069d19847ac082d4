package serve

import (
	"crypto/tls"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"tova/internal/testutil"
)

// The guide's "Security Hardening" blocks, as written, in one server
// ("api": cors, the per-IP rate limit, tls, sessions) and the per-key
// rate limit in another ("partners"), with the environment the blocks
// read: both serve HTTPS with HSTS, allow the listed origin only, keep
// a session in a Secure, HttpOnly, SameSite=Strict cookie, and refuse
// the 101st request of a minute from one client (api) or key
// (partners).
func TestGuideSecurityHardening(t *testing.T) {
	cors := guideBlock(t, `origins: env("ALLOWED_ORIGINS") |> split(",")`)
	perIP := guideBlock(t, "key: fn(req) req.ip\n")
	perKey := guideBlock(t, `key: fn(req) req.headers["x-api-key"] |> unwrapOr(req.ip)`)
	tlsBlock := guideBlock(t, `cert: env("TLS_CERT")`)
	sessions := guideBlock(t, `secret: env("SESSION_SECRET")`)
	src := "server \"api\" {\n" + cors + perIP + tlsBlock + sessions + `
  route POST "/login" => fn(req) {
    req.session.set("user", "ann")
    { ok: true }
  }
  route GET "/me" => fn(req) { { user: req.session.get("user") } }
}
server "partners" {
` + perKey + tlsBlock + `
  route GET "/quote" => fn() { { price: 42 } }
}
`
	cert := testutil.SelfSignedCert(t, "guide")
	app := startApp(t, src, withEnv(map[string]string{
		"ALLOWED_ORIGINS": "https://app.example,https://admin.example",
		"TLS_CERT":        cert.CertFile, "TLS_KEY": cert.KeyFile,
		"SESSION_SECRET": "a-long-random-session-secret-0123456789",
	}))
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: cert.Pool}}}
	send := func(method, url string, headers ...string) reply {
		t.Helper()
		return doWith(t, c, method, url, "", headers...)
	}
	api, partners := app.urls["api"], app.urls["partners"]
	if !strings.HasPrefix(api, "https://") || !strings.HasPrefix(partners, "https://") {
		t.Fatalf("not served over HTTPS: %v", app.urls)
	}

	r := send("POST", api+"/login", "Origin", "https://app.example")
	h := r.header
	if r.status != 200 || r.body != `{"ok":true}` || h.Get("Access-Control-Allow-Origin") != "https://app.example" ||
		h.Get("Access-Control-Allow-Credentials") != "true" || !strings.HasPrefix(h.Get("Strict-Transport-Security"), "max-age=") {
		t.Fatalf("POST /login: %d %s %v", r.status, r.body, h)
	}
	set := h.Get("Set-Cookie")
	for _, attr := range []string{"Max-Age=604800", "HttpOnly", "Secure", "SameSite=Strict"} {
		if !strings.Contains(set, attr) {
			t.Errorf("session cookie %q lacks %s", set, attr)
		}
	}
	if r := send("GET", api+"/me", "Origin", "https://evil.example"); r.status != 200 || r.body != `{"user":"ann"}` ||
		r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("GET /me from another origin: %d %s %v", r.status, r.body, r.header)
	}
	r = send("OPTIONS", api+"/me", "Origin", "https://admin.example", "Access-Control-Request-Method", "DELETE")
	if r.status != 204 || r.header.Get("Access-Control-Allow-Methods") != "GET, POST, PUT, DELETE" || r.header.Get("Access-Control-Max-Age") != "86400" {
		t.Errorf("preflight: %d %v", r.status, r.header)
	}

	// 100 requests a minute per client: the two above and 98 more pass
	// (the preflight is not counted), the next is refused. Were the
	// minute to turn meanwhile, the sliding window still counts them.
	for i := 0; i < 98; i++ {
		if r := send("GET", api+"/me"); r.status != 200 {
			t.Fatalf("request %d: %d %s", i+3, r.status, r.body)
		}
	}
	if r := send("GET", api+"/me"); r.status != 429 || r.header.Get("Retry-After") == "" || !strings.Contains(r.body, "RATE_LIMITED") {
		t.Fatalf("the 101st request: %d %s %v", r.status, r.body, r.header)
	}

	// partners: 1000 an hour per API key; a request without one counts
	// by the client's IP, which api's own counts do not touch.
	for i := 0; i < 3; i++ {
		if r := send("GET", partners+"/quote", "X-API-Key", "k1"); r.status != 200 || r.body != `{"price":42}` {
			t.Fatalf("partners: %d %s", r.status, r.body)
		}
	}
	if r := send("GET", partners+"/quote"); r.status != 200 {
		t.Fatalf("partners without a key: %d", r.status)
	}
}
