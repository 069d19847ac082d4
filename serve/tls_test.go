package serve

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"tova/internal/testutil"
)

// The guide's tls block, paths read from the environment.
const guideTLS = `
server {
  tls {
    cert: env("TLS_CERT"),
    key: env("TLS_KEY")
  }
  route GET "/hello" => fn() "hello"
}
`

// httpsClient trusts pool and counts the connections it opens.
func httpsClient(pool *x509.CertPool, dials *atomic.Int32) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}}
}

func get(t *testing.T, c *http.Client, url string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// A tls block makes the server serve HTTPS with the certificate and key
// its paths name: answers carry Strict-Transport-Security, keep-alive
// holds, and the server's URL and its "server listening" line say
// https://.
func TestTLSBlockServesHTTPS(t *testing.T) {
	cert := testutil.SelfSignedCert(t, "app")
	app := startApp(t, guideTLS, withEnv(map[string]string{"TLS_CERT": cert.CertFile, "TLS_KEY": cert.KeyFile}))
	base := app.urls[""]
	if !strings.HasPrefix(base, "https://127.0.0.1:") {
		t.Fatalf("URL %q", base)
	}
	if l := logged(app.logs, "server listening"); len(l) != 1 || l[0]["url"] != base {
		t.Errorf("server listening: %v, want url %s", l, base)
	}
	var dials atomic.Int32
	c := httpsClient(cert.Pool, &dials)
	for i := range 3 {
		resp, body := get(t, c, base+"/hello")
		if resp.StatusCode != 200 || body != `"hello"` || resp.TLS == nil {
			t.Fatalf("request %d: %d %q", i, resp.StatusCode, body)
		}
		if h := resp.Header.Get("Strict-Transport-Security"); h != "max-age=31536000; includeSubDomains" {
			t.Errorf("request %d: Strict-Transport-Security %q", i, h)
		}
	}
	if resp, _ := get(t, c, base+"/nowhere"); resp.StatusCode != 404 || resp.Header.Get("Strict-Transport-Security") == "" {
		t.Errorf("404: %d %v", resp.StatusCode, resp.Header)
	}
	if n := dials.Load(); n != 1 {
		t.Errorf("%d connections for 4 requests, want 1 (keep-alive)", n)
	}
}

// A plain-HTTP request to the HTTPS port is answered 400 at once, not
// left waiting, and the server goes on serving HTTPS.
func TestPlainHTTPToTLSServer(t *testing.T) {
	cert := testutil.SelfSignedCert(t, "app")
	app := startApp(t, guideTLS, withEnv(map[string]string{"TLS_CERT": cert.CertFile, "TLS_KEY": cert.KeyFile}))
	plain := "http://" + strings.TrimPrefix(app.urls[""], "https://")
	r := do(t, "GET", plain+"/hello", "")
	if r.status != 400 || !strings.Contains(r.body, "this port serves HTTPS") {
		t.Errorf("plain HTTP: %d %s", r.status, r.body)
	}
	var dials atomic.Int32
	if resp, body := get(t, httpsClient(cert.Pool, &dials), app.urls[""]+"/hello"); resp.StatusCode != 200 || body != `"hello"` {
		t.Errorf("HTTPS after: %d %q", resp.StatusCode, body)
	}
}

// A top-level tls block applies to every server; a server's own key
// overrides it.
func TestTopLevelTLSBlock(t *testing.T) {
	shared, own := testutil.SelfSignedCert(t, "shared"), testutil.SelfSignedCert(t, "own")
	app := startApp(t, fmt.Sprintf(`tls { cert: %q, key: %q }
server "a" {
  route GET "/" => fn() "a"
}
server "b" {
  tls { cert: %q, key: %q }
  route GET "/" => fn() "b"
}
`, shared.CertFile, shared.KeyFile, own.CertFile, own.KeyFile))
	var dials atomic.Int32
	for name, cert := range map[string]*testutil.Cert{"a": shared, "b": own} {
		resp, body := get(t, httpsClient(cert.Pool, &dials), app.urls[name]+"/")
		if resp.StatusCode != 200 || body != fmt.Sprintf("%q", name) || resp.TLS == nil {
			t.Errorf("%s: %d %q", name, resp.StatusCode, body)
			continue
		}
		if cn := resp.TLS.PeerCertificates[0].Subject.CommonName; cn != map[string]string{"a": "shared", "b": "own"}[name] {
			t.Errorf("%s served the certificate of %q", name, cn)
		}
	}
}

// tls.ca is not applied, and the start fails rather than serve with no
// client certificate check where the program asked for one; another
// key the block does not know fails it too.
func TestTLSUnknownKeyFailsStart(t *testing.T) {
	cert := testutil.SelfSignedCert(t, "app")
	for src, want := range map[string]string{
		fmt.Sprintf("server {\n  tls { ca: %q, cert: %q, key: %q }\n}\n", cert.CertFile, cert.CertFile, cert.KeyFile):                      "server: app.tova:2:13: tls.ca: client certificates are not checked",
		fmt.Sprintf("C = { client_ca: %q }\nserver {\n  tls { ...C, cert: %q, key: %q }\n}\n", cert.CertFile, cert.CertFile, cert.KeyFile): "server: app.tova:3:3: tls.client_ca: unknown key (tls takes cert, key)",
	} {
		if err := startError(t, src); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s: got %v, want %s", src, err, want)
		}
	}
	// A key given None is left out, as in every block (the guide's
	// env TLS_CA: String? = None, unset): it failed the start.
	app := startApp(t, fmt.Sprintf("env TLS_CA: String? = None\nserver {\n  tls { cert: %q, key: %q, ca: TLS_CA }\n}\n", cert.CertFile, cert.KeyFile))
	if !strings.HasPrefix(app.urls[""], "https://") {
		t.Errorf("served at %s", app.urls[""])
	}
}

// A tls block that cannot be served from fails the start-up, naming the
// block and the key: the server never serves plain HTTP in its place.
func TestTLSStartupErrors(t *testing.T) {
	cert, other := testutil.SelfSignedCert(t, "app"), testutil.SelfSignedCert(t, "other")
	dir := t.TempDir()
	file := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	garbage := file("garbage.pem", "not a PEM file\n")
	badCert := file("bad.crt", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
	badKey := file("bad.key", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
	encrypted := file("encrypted.key", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n")
	missing := filepath.Join(dir, "missing.pem")
	key, err := os.ReadFile(cert.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	keyText := string(key)
	for _, c := range []struct {
		cert, key any // a path, or the Tova expression of the value
		want      string
	}{
		{expr(`env("TLS_CERT")`), cert.KeyFile, `server: app.tova:2:3: tls.cert is nil: is the environment variable it reads set?`},
		{cert.CertFile, expr(`env("TLS_KEY")`), `server: app.tova:2:3: tls.key is nil: is the environment variable it reads set?`},
		{expr("443"), cert.KeyFile, `server: app.tova:2:3: tls.cert: expected the path of a PEM file (a String), got 443`},
		{cert.CertFile, expr(`""`), `server: app.tova:2:3: tls.key is empty: expected the path of a PEM file`},
		{nil, cert.KeyFile, `server: app.tova:2:3: tls.cert is missing: a tls block needs cert and key, the paths of PEM files`},
		// An empty block, or one of optional settings left unset, would
		// serve plain HTTP.
		{nil, nil, `server: app.tova:2:3: tls: the block gives neither cert nor key: it needs both, the paths of PEM files (the server would serve plain HTTP)`},
		{expr("None"), expr("None"), `server: app.tova:2:3: tls.cert is None (is the environment variable it reads set?): left out, the server would serve plain HTTP`},
		{cert.CertFile, expr("Some(None)"), `server: app.tova:2:3: tls.key is None (is the environment variable it reads set?)`},
		{expr("None"), nil, `server: app.tova:2:3: tls.cert is None`},
		{missing, cert.KeyFile, `server: app.tova:2:3: tls.cert: cannot read ` + missing + `: no such file or directory`},
		{cert.CertFile, dir, `server: app.tova:2:3: tls.key: cannot read ` + dir + `: is a directory`},
		{garbage, cert.KeyFile, `server: app.tova:2:3: tls.cert: ` + garbage + `: no PEM data (expected -----BEGIN CERTIFICATE-----)`},
		{badCert, cert.KeyFile, `server: app.tova:2:3: tls.cert: ` + badCert + `: certificate 1 does not parse: `},
		{cert.CertFile, garbage, `server: app.tova:2:3: tls.key: ` + garbage + `: no PEM data (expected -----BEGIN PRIVATE KEY-----)`},
		{cert.CertFile, badKey, `server: app.tova:2:3: tls.key: ` + badKey + `: the private key does not parse`},
		{cert.CertFile, encrypted, `server: app.tova:2:3: tls.key: ` + encrypted + `: the private key is encrypted: the server needs it without a passphrase`},
		{cert.KeyFile, cert.CertFile, `server: app.tova:2:3: tls.cert: ` + cert.KeyFile + `: no CERTIFICATE PEM block, only PRIVATE KEY: are cert and key swapped?`},
		{cert.CertFile, other.KeyFile, `server: app.tova:2:3: tls.key: ` + other.KeyFile + ` does not match the certificate in ` + cert.CertFile},
		// The key itself where its path goes (as platforms hand keys to
		// processes) is not written to the log.
		{cert.CertFile, keyText, fmt.Sprintf("server: app.tova:2:3: tls.key: expected the path of a PEM file, got PEM text (%d bytes; not shown): write it to a file and give its path", len(keyText))},
	} {
		var keys []string
		for _, k := range []struct {
			name string
			v    any
		}{{"cert", c.cert}, {"key", c.key}} {
			switch v := k.v.(type) {
			case expr:
				keys = append(keys, k.name+": "+string(v))
			case string:
				keys = append(keys, fmt.Sprintf("%s: %q", k.name, v))
			}
		}
		line := "  tls { " + strings.Join(keys, ", ") + " }"
		src := "server {\n" + line + "\n  route GET \"/\" => fn() 1\n}\n"
		// An error about a key is at its value: the table says 2:3, the
		// block's position, for them all.
		want := c.want
		for _, k := range []string{"cert", "key"} {
			if i := strings.Index(line, k+": "); i >= 0 {
				want = strings.Replace(want, "app.tova:2:3: tls."+k, fmt.Sprintf("app.tova:2:%d: tls.%s", i+len(k)+3, k), 1)
			}
		}
		if err := startError(t, src); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s:\n got %v\nwant %s", src, err, want)
		}
	}
}

// expr is a Tova expression written into a test program as it is.
type expr string

// The HTTPS port answers a plain-HTTP client that sends nothing more
// than its request line with no wait for the rest of it.
func TestPlainHTTPRequestLineAnsweredAtOnce(t *testing.T) {
	cert := testutil.SelfSignedCert(t, "app")
	app := startApp(t, guideTLS, withEnv(map[string]string{"TLS_CERT": cert.CertFile, "TLS_KEY": cert.KeyFile}))
	conn, err := net.Dial("tcp", strings.TrimPrefix(app.urls[""], "https://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(conn, "GET /hello HTTP/1.1\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || resp.StatusCode != 400 {
		t.Fatalf("%v %v", resp, err)
	}
}

// A server of this process served over TLS is called by the others at
// its listen address, trusting the certificate it serves, whatever
// names it holds and whoever signed it: calls and health probes work.
func TestCallsToASiblingOverTLS(t *testing.T) {
	cert := testutil.SelfSignedCert(t, "worker")
	app := startApp(t, fmt.Sprintf(`tls { cert: %q, key: %q }
server "api" {
  discover "worker" { health: "/health", health_interval: 50.milliseconds }
  route GET "/a" => fn() { try { worker.f(1) } catch e { e.message } }
}
server "worker" {
  health "/health"
  fn f(n) { n + 1 }
}
`, cert.CertFile, cert.KeyFile))
	var dials atomic.Int32
	if resp, body := get(t, httpsClient(cert.Pool, &dials), app.urls["api"]+"/a"); resp.StatusCode != 200 || body != "2" {
		t.Errorf("GET /a: %d %s, want 2", resp.StatusCode, body)
	}
	waitFor(t, func() bool { return len(logged(app.logs, "peer healthy")) > 0 })
	if l := logged(app.logs, "peer health check failing"); len(l) > 0 {
		t.Errorf("health probes failed: %v", l)
	}
}

// A server's tls block gives the key the program's block leaves out
// (keys override one by one): each block had to be whole by itself.
func TestTLSKeysFromTwoBlocks(t *testing.T) {
	cert := testutil.SelfSignedCert(t, "app")
	app := startApp(t, fmt.Sprintf(`tls { cert: %q }
server {
  tls { key: %q }
  route GET "/" => fn() "hi"
}
`, cert.CertFile, cert.KeyFile))
	var dials atomic.Int32
	if resp, body := get(t, httpsClient(cert.Pool, &dials), app.urls[""]+"/"); resp.StatusCode != 200 || body != `"hi"` {
		t.Fatalf("GET /: %d %s", resp.StatusCode, body)
	}
	err := startError(t, fmt.Sprintf("tls { cert: %q }\nserver {\n  route GET \"/\" => fn() \"hi\"\n}\n", cert.CertFile))
	if err == nil || !strings.Contains(err.Error(), "app.tova:1:1: tls.key is missing") {
		t.Errorf("a cert alone: %v", err)
	}
}

// A site served over HTTPS by its tls block, with an auth block and no
// session, names its form-token cookie __Host-tova_csrf, Secure, as a
// site whose session cookie is Secure does: a sibling subdomain could
// otherwise plant a plain tova_csrf cookie in the browser and post a form
// with a token bound to it.
func TestTLSFormTokenCookieIsHostOnly(t *testing.T) {
	cert := testutil.SelfSignedCert(t, "app")
	app := startApp(t, `
server {
  tls { cert: env("TLS_CERT"), key: env("TLS_KEY") }
  auth { secret: "0123456789abcdef0123456789abcdef" }
  route GET "/form" => fn(req) html("<input name=_csrf value='{req.csrf_token}'>")
}
`, withEnv(map[string]string{"TLS_CERT": cert.CertFile, "TLS_KEY": cert.KeyFile}))
	var dials atomic.Int32
	resp, _ := get(t, httpsClient(cert.Pool, &dials), app.urls[""]+"/form")
	set := resp.Header.Values("Set-Cookie")
	if len(set) != 1 || !strings.HasPrefix(set[0], "__Host-tova_csrf=") || !strings.Contains(set[0], "; Secure") || !strings.Contains(set[0], "Path=/") {
		t.Errorf("Set-Cookie %q, want __Host-tova_csrf, Secure", set)
	}
}

// A session cookie of a site its tls block serves over HTTPS is Secure
// unless the block says secure: false (it was sent to http:// of the
// host too), and named __Host-sid unless the block names it: a cookie
// tossed by a sibling subdomain or over http cannot take that name.
func TestTLSSessionCookieIsSecure(t *testing.T) {
	cert := testutil.SelfSignedCert(t, "app")
	app := startApp(t, `
server {
  tls { cert: env("TLS_CERT"), key: env("TLS_KEY") }
  session { secret: "0123456789abcdef0123456789abcdef" }
  route GET "/login" => fn(req) { req.session.set("u", "a"); "ok" }
}
server "plain" {
  tls { cert: env("TLS_CERT"), key: env("TLS_KEY") }
  session { secret: "0123456789abcdef0123456789abcdef", secure: false }
  route GET "/login" => fn(req) { req.session.set("u", "a"); "ok" }
}
server "secure" {
  tls { cert: env("TLS_CERT"), key: env("TLS_KEY") }
  session { secret: "0123456789abcdef0123456789abcdef", secure: true }
  route GET "/login" => fn(req) { req.session.set("u", "a"); "ok" }
}
server "named" {
  tls { cert: env("TLS_CERT"), key: env("TLS_KEY") }
  session { secret: "0123456789abcdef0123456789abcdef", cookie_name: "app_session" }
  route GET "/login" => fn(req) { req.session.set("u", "a"); "ok" }
  route GET "/u" => fn(req) req.session.get("u")
}
`, withEnv(map[string]string{"TLS_CERT": cert.CertFile, "TLS_KEY": cert.KeyFile}))
	var dials atomic.Int32
	c := httpsClient(cert.Pool, &dials)
	for name, want := range map[string]struct {
		secure bool
		prefix string
	}{"": {true, "__Host-sid="}, "plain": {false, "__sid="}, "secure": {true, "__Host-sid="}, "named": {true, "app_session="}} {
		resp, _ := get(t, c, app.urls[name]+"/login")
		var session string
		for _, l := range resp.Header.Values("Set-Cookie") {
			if !strings.Contains(l, "csrf") {
				session = l
			}
		}
		if session == "" || strings.Contains(session, "; Secure") != want.secure || !strings.HasPrefix(session, want.prefix) {
			t.Errorf("server %q: session cookie %q, want Secure %v and %s", name, session, want.secure, want.prefix)
		}
	}
}
