package serve

import (
	"crypto/tls"
	"io"
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
	send := func(method, url string, headers ...string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(method, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, url, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	api, partners := app.urls["api"], app.urls["partners"]
	if !strings.HasPrefix(api, "https://") || !strings.HasPrefix(partners, "https://") {
		t.Fatalf("not served over HTTPS: %v", app.urls)
	}

	resp, body := send("POST", api+"/login", "Origin", "https://app.example")
	h := resp.Header
	if resp.StatusCode != 200 || body != `{"ok":true}` || h.Get("Access-Control-Allow-Origin") != "https://app.example" ||
		h.Get("Access-Control-Allow-Credentials") != "true" || !strings.HasPrefix(h.Get("Strict-Transport-Security"), "max-age=") {
		t.Fatalf("POST /login: %d %s %v", resp.StatusCode, body, h)
	}
	set := h.Get("Set-Cookie")
	for _, attr := range []string{"Max-Age=604800", "HttpOnly", "Secure", "SameSite=Strict"} {
		if !strings.Contains(set, attr) {
			t.Errorf("session cookie %q lacks %s", set, attr)
		}
	}
	if resp, body := send("GET", api+"/me", "Origin", "https://evil.example"); resp.StatusCode != 200 || body != `{"user":"ann"}` ||
		resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("GET /me from another origin: %d %s %v", resp.StatusCode, body, resp.Header)
	}
	resp, _ = send("OPTIONS", api+"/me", "Origin", "https://admin.example", "Access-Control-Request-Method", "DELETE")
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Methods") != "GET, POST, PUT, DELETE" || resp.Header.Get("Access-Control-Max-Age") != "86400" {
		t.Errorf("preflight: %d %v", resp.StatusCode, resp.Header)
	}

	// 100 requests a minute per client: the two above and 98 more pass
	// (the preflight is not counted), the next is refused. Were the
	// minute to turn meanwhile, the sliding window still counts them.
	for i := 0; i < 98; i++ {
		if resp, body := send("GET", api+"/me"); resp.StatusCode != 200 {
			t.Fatalf("request %d: %d %s", i+3, resp.StatusCode, body)
		}
	}
	if resp, body := send("GET", api+"/me"); resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "RATE_LIMITED") {
		t.Fatalf("the 101st request: %d %s %v", resp.StatusCode, body, resp.Header)
	}

	// partners: 1000 an hour per API key; a request without one counts
	// by the client's IP, which api's own counts do not touch.
	for i := 0; i < 3; i++ {
		if resp, body := send("GET", partners+"/quote", "X-API-Key", "k1"); resp.StatusCode != 200 || body != `{"price":42}` {
			t.Fatalf("partners: %d %s", resp.StatusCode, body)
		}
	}
	if resp, _ := send("GET", partners+"/quote"); resp.StatusCode != 200 {
		t.Fatalf("partners without a key: %d", resp.StatusCode)
	}
}
