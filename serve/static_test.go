package serve

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/rs/zerolog"

	"tova/driver"
)

// staticTree writes a directory of files to serve (public) beside a file
// that must never be served (secret), and returns public's path.
func staticTree(t *testing.T) string {
	t.Helper()
	base := t.TempDir()
	pub := filepath.Join(base, "public")
	files := map[string]string{
		"app.js":         "console.log(1)\n",
		"style.css":      "body{}",
		"data.tovadata":  "raw",
		"sub/index.html": "<p>sub</p>",
		"index.html":     "<p>home</p>",
	}
	for name, body := range files {
		p := filepath.Join(pub, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(pub, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(base, "secret"), []byte("TOP SECRET"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(base, "secret"), filepath.Join(pub, "link")); err != nil {
		t.Fatal(err)
	}
	return pub
}

// wantETag is the ETag a file is served with: its size and modification
// time (Unix ms), in base 36.
func wantETag(t *testing.T, p string) string {
	t.Helper()
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return `"` + strconv.FormatInt(st.Size(), 36) + "-" + strconv.FormatInt(st.ModTime().UnixMilli(), 36) + `"`
}

// rawGet sends target as written (no client cleans it) and returns the
// whole answer.
func rawGet(t *testing.T, base, target string) string {
	t.Helper()
	return rawExchange(t, base, "GET "+target+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
}

// A static { } block alone, as the guide writes it, is a program's one
// server (the program was taken for a script: "declares no server").
func TestStaticBlockAloneIsAServer(t *testing.T) {
	pub := staticTree(t)
	app := startApp(t, `static { dir: "`+pub+`", cache: "public, max-age=31536000, immutable" }
`)
	if r := do(t, "GET", app.urls[""]+"/app.js", ""); r.status != 200 || r.body != "console.log(1)\n" || r.header.Get("Cache-Control") != "public, max-age=31536000, immutable" {
		t.Fatalf("GET /app.js = %d %q %v", r.status, r.body, r.header)
	}
}

// A static block's keys and the cache block's max_age given an Option
// env take what it holds, None as if the key were not given, as every
// other block's do (they refused the Option: "expected a String, got
// Some(...)").
func TestStaticAndCacheTakeOptions(t *testing.T) {
	pub := staticTree(t)
	src := `env ASSETS: Option<String> = None
env AGE: Option<Int> = None
server {
  cache { max_age: AGE }
  static { dir: ASSETS, prefix: "/assets" }
}
`
	app := startApp(t, src, withEnv(map[string]string{"ASSETS": pub, "AGE": "60"}))
	if r := do(t, "GET", app.urls[""]+"/assets/app.js", ""); r.status != 200 || r.body != "console.log(1)\n" || r.header.Get("Cache-Control") != "public, max-age=60" {
		t.Errorf("Some: GET /assets/app.js = %d %q %v", r.status, r.body, r.header)
	}
	// None: the default directory (public, not there: a warning) and
	// the default Cache-Control.
	app = startApp(t, src)
	if r := do(t, "GET", app.urls[""]+"/assets/app.js", ""); r.status != 404 {
		t.Errorf("None: GET /assets/app.js = %d %q", r.status, r.body)
	}
}

func TestStaticBlockServesFiles(t *testing.T) {
	pub := staticTree(t)
	app := startApp(t, `server {
  static { dir: "`+pub+`", cache: "public, max-age=31536000, immutable" }
  route GET "/api" => fn() "api"
  route POST "/app.js" => fn() "posted"
}
`)
	u := app.urls[""]
	r := do(t, "GET", u+"/app.js", "")
	etag := wantETag(t, filepath.Join(pub, "app.js"))
	if r.status != 200 || r.body != "console.log(1)\n" {
		t.Fatalf("GET /app.js = %d %q", r.status, r.body)
	}
	for k, want := range map[string]string{
		"Content-Type":   "text/javascript; charset=utf-8",
		"Content-Length": "15",
		"Etag":           etag,
		"Cache-Control":  "public, max-age=31536000, immutable",
	} {
		if got := r.header.Get(k); got != want {
			t.Errorf("GET /app.js: %s = %q, want %q", k, got, want)
		}
	}
	if r.header.Get("X-Request-Id") == "" || r.header.Get("Last-Modified") == "" {
		t.Errorf("GET /app.js: headers %v lack X-Request-ID or Last-Modified", r.header)
	}
	if got := do(t, "GET", u+"/data.tovadata", "").header.Get("Content-Type"); got != "application/octet-stream" {
		t.Errorf("unknown extension: Content-Type %q", got)
	}

	r = do(t, "GET", u+"/app.js", "", "If-None-Match", etag, "X-Request-ID", "cond-1")
	if r.status != 304 || r.body != "" || r.header.Get("Etag") != etag || r.header.Get("X-Request-Id") != "cond-1" {
		t.Errorf("GET with If-None-Match = %d %q %v", r.status, r.body, r.header)
	}
	if r := do(t, "GET", u+"/app.js", "", "If-None-Match", `"other"`); r.status != 200 {
		t.Errorf("GET with another If-None-Match = %d", r.status)
	}

	r = do(t, "HEAD", u+"/style.css", "")
	if r.status != 200 || r.body != "" || r.header.Get("Content-Length") != "6" || r.header.Get("Content-Type") != "text/css; charset=utf-8" {
		t.Errorf("HEAD /style.css = %d %q %v", r.status, r.body, r.header)
	}

	// Directories answer their index.html, or nothing (/sub is
	// redirected to /sub/, whose page this client then gets).
	for _, p := range []string{"/", "/sub", "/sub/"} {
		want := "<p>sub</p>"
		if p == "/" {
			want = "<p>home</p>"
		}
		if r := do(t, "GET", u+p, ""); r.status != 200 || r.body != want || r.header.Get("Content-Type") != "text/html; charset=utf-8" {
			t.Errorf("GET %s = %d %q %v", p, r.status, r.body, r.header)
		}
	}
	if r := do(t, "GET", u+"/empty", ""); r.status != 404 {
		t.Errorf("GET /empty (a directory without index.html) = %d %q", r.status, r.body)
	}
	// A file's path with a slash after it names a directory, which it is
	// not (page.html/ was answered, and its relative links missed).
	// (POST /app.js is a route: 405 for the GET of its path.)
	for p, want := range map[string]int{"/app.js/": 405, "/app.js//": 405, "/style.css/?v=1": 404, "/sub/index.html/": 404, "/style.css%2F": 404, "/style.css/.": 404} {
		if r := do(t, "GET", u+p, ""); r.status != want {
			t.Errorf("GET %s = %d %q, want %d", p, r.status, r.body, want)
		}
	}

	// A path with no file goes on to the routes; other methods too.
	if r := do(t, "GET", u+"/api", ""); r.status != 200 || r.body != `"api"` {
		t.Errorf("GET /api = %d %q", r.status, r.body)
	}
	if r := do(t, "GET", u+"/missing.js", ""); r.status != 404 {
		t.Errorf("GET /missing.js = %d %q", r.status, r.body)
	}
	if r := do(t, "POST", u+"/app.js", ""); r.status != 200 || r.body != `"posted"` {
		t.Errorf("POST /app.js = %d %q", r.status, r.body)
	}
	// Another method of a path a file and a route answer: 405, and the
	// Allow of both (it left out the file's GET and HEAD), as OPTIONS.
	for _, c := range []struct {
		method string
		status int
	}{{"DELETE", 405}, {"OPTIONS", 204}} {
		if r := do(t, c.method, u+"/app.js", ""); r.status != c.status || r.header.Get("Allow") != "GET, HEAD, OPTIONS, POST" {
			t.Errorf("%s /app.js = %d, Allow %q", c.method, r.status, r.header.Get("Allow"))
		}
	}

	// Each static answer has its access line, with its request id.
	waitFor(t, func() bool {
		for _, rec := range logged(app.logs, "request") {
			if rec["path"] == "/app.js" && rec["request_id"] == "cond-1" && rec["status"] == float64(304) {
				return true
			}
		}
		return false
	})
	if len(logged(app.logs, notAppliedMsg)) != 0 {
		t.Errorf("static warned of as not applied: %s", app.logs.String())
	}
}

func TestStaticReferenceFormAndFallback(t *testing.T) {
	pub := staticTree(t)
	app := startApp(t, `cache { max_age: 60 }
server {
  static "/assets" => "`+pub+`" fallback "index.html"
  route GET "/assets/api" => fn() "routed"
  route GET "/api/x" => fn() "x"
}
`)
	u := app.urls[""]
	r := do(t, "GET", u+"/assets/style.css", "")
	if r.status != 200 || r.body != "body{}" || r.header.Get("Cache-Control") != "public, max-age=60" {
		t.Errorf("GET /assets/style.css = %d %q %v", r.status, r.body, r.header)
	}
	for _, p := range []string{"/assets/nope", "/assets/deep/page"} {
		r := do(t, "GET", u+p, "")
		if r.status != 200 || r.body != "<p>home</p>" || r.header.Get("Content-Type") != "text/html; charset=utf-8" || r.header.Get("Cache-Control") != "no-cache" {
			t.Errorf("GET %s = %d %q %v, want the fallback file", p, r.status, r.body, r.header)
		}
	}
	if r := do(t, "GET", u+"/api/x", ""); r.status != 200 || r.body != `"x"` {
		t.Errorf("GET /api/x = %d %q", r.status, r.body)
	}
	if r := do(t, "GET", u+"/assets/api", ""); r.status != 200 || r.body != `"routed"` {
		t.Errorf("GET /assets/api = %d %q, want its route", r.status, r.body)
	}
	if r := do(t, "GET", u+"/assetsx/style.css", ""); r.status != 404 {
		t.Errorf("GET /assetsx/style.css = %d %q, want 404 (not under /assets)", r.status, r.body)
	}
	if r := do(t, "GET", u+"/style.css", ""); r.status != 404 {
		t.Errorf("GET /style.css = %d %q, want 404 (not under /assets)", r.status, r.body)
	}
}

// A static block in a routes group serves under the group's prefix, as
// the reference's form there does (it served at its own prefix alone).
func TestStaticBlockInGroupIsPrefixed(t *testing.T) {
	pub := staticTree(t)
	app := startApp(t, `server {
  routes "/admin" {
    static { dir: "`+pub+`", prefix: "/files" }
    routes "/v2" {
      static { dir: "`+pub+`" }
    }
  }
}
`)
	u := app.urls[""]
	for _, p := range []string{"/admin/files/style.css", "/admin/v2/style.css"} {
		if r := do(t, "GET", u+p, ""); r.status != 200 || r.body != "body{}" {
			t.Errorf("GET %s = %d %q", p, r.status, r.body)
		}
	}
	for _, p := range []string{"/files/style.css", "/style.css"} {
		if r := do(t, "GET", u+p, ""); r.status != 404 {
			t.Errorf("GET %s = %d %q, want 404 (outside the group)", p, r.status, r.body)
		}
	}
}

// A directory's page was answered at its path without the '/' (/docs),
// where a browser resolves the page's relative links against the parent.
func TestStaticDirectoryWithoutSlashRedirects(t *testing.T) {
	pub := staticTree(t)
	if err := os.MkdirAll(filepath.Join(pub, "my docs", "deep"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"my docs/index.html", "my docs/deep/index.html"} {
		if err := os.WriteFile(filepath.Join(pub, name), []byte("<p>docs</p>"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	app := startApp(t, `server {
  static { dir: "`+pub+`" }
  static "/assets" => "`+pub+`"
  route GET "/empty" => fn() "routed"
}
`)
	u := app.urls[""]
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for target, loc := range map[string]string{
		"/sub":                   "/sub/",
		"/sub?v=1&x=a%20b":       "/sub/?v=1&x=a%20b",
		"/my%20docs":             "/my%20docs/",
		"/my%20docs/deep?q":      "/my%20docs/deep/?q",
		"/x/../sub":              "/sub/",
		"/assets":                "/assets/",
		"/assets/sub?v=2":        "/assets/sub/?v=2",
		"/assets/my%20docs/deep": "/assets/my%20docs/deep/",
	} {
		for _, method := range []string{"GET", "HEAD"} {
			r := doWith(t, c, method, u+target, "")
			if r.status != 301 || r.header.Get("Location") != loc || r.body != "" || r.header.Get("X-Request-Id") == "" {
				t.Errorf("%s %s = %d %q Location %q, want 301 to %q", method, target, r.status, r.body, r.header.Get("Location"), loc)
			}
		}
	}
	// The page itself is at the path with '/'; the root needs none; a
	// directory with no index.html goes on to the routes as before.
	for target, want := range map[string]string{"/": "<p>home</p>", "/sub/": "<p>sub</p>", "/my%20docs/deep/?q": "<p>docs</p>", "/assets/": "<p>home</p>", "/empty": `"routed"`} {
		if r := doWith(t, c, "GET", u+target, ""); r.status != 200 || r.body != want {
			t.Errorf("GET %s = %d %q, want 200 %q", target, r.status, r.body, want)
		}
	}
	if r := doWith(t, c, "GET", u+"/sub/", "", "If-None-Match", wantETag(t, filepath.Join(pub, "sub", "index.html"))); r.status != 304 {
		t.Errorf("GET /sub/ with its ETag = %d, want 304", r.status)
	}
}

// A fallback at "/" answered every GET no file took, before routing:
// health and the API's routes got the page too.
func TestStaticFallbackLeavesRoutesAlone(t *testing.T) {
	pub := staticTree(t)
	app := startApp(t, `server {
  static { dir: "`+pub+`", fallback: "index.html" }
  health "/health"
  route GET "/api/users" => fn() [1, 2]
  route POST "/api/form" => fn() "posted"
}
`)
	u := app.urls[""]
	if r := do(t, "GET", u+"/health", ""); r.status != 200 || strings.Contains(r.body, "home") || r.header.Get("Cache-Control") == "no-cache" {
		t.Errorf("GET /health = %d %q %v, want health's answer", r.status, r.body, r.header)
	}
	if r := do(t, "GET", u+"/api/users", ""); r.status != 200 || r.body != "[1,2]" {
		t.Errorf("GET /api/users = %d %q, want its route", r.status, r.body)
	}
	if r := do(t, "HEAD", u+"/api/users", ""); r.status != 200 || r.header.Get("Cache-Control") == "no-cache" {
		t.Errorf("HEAD /api/users = %d %v, want its route", r.status, r.header)
	}
	if r := do(t, "GET", u+"/api/form", ""); r.status != 405 || r.header.Get("Allow") != "OPTIONS, POST" {
		t.Errorf("GET /api/form = %d %q %v, want 405 (the path has a POST route)", r.status, r.body, r.header)
	}
	if r := do(t, "POST", u+"/nowhere", "{}"); r.status != 404 {
		t.Errorf("POST /nowhere = %d %q, want 404", r.status, r.body)
	}
	for _, p := range []string{"/nowhere", "/app/settings", "/sub"} {
		want := "<p>home</p>"
		if p == "/sub" {
			want = "<p>sub</p>" // a file is still served before routing
		}
		r := do(t, "GET", u+p, "")
		if r.status != 200 || r.body != want || r.header.Get("X-Request-Id") == "" {
			t.Errorf("GET %s = %d %q %v, want %q", p, r.status, r.body, r.header, want)
		}
	}
	if r := do(t, "HEAD", u+"/nowhere", ""); r.status != 200 || r.header.Get("Content-Length") != "11" || r.header.Get("Cache-Control") != "no-cache" {
		t.Errorf("HEAD /nowhere = %d %v, want the fallback's headers", r.status, r.header)
	}
}

// No request path reaches a file outside the directory: ".." segments
// are resolved against the URL's root, an encoded "/" making one is
// refused, and a symbolic link out of the directory is not followed (as
// a file, nor as a fallback).
func TestStaticNeverLeavesItsDirectory(t *testing.T) {
	pub := staticTree(t)
	app := startApp(t, `server {
  static { dir: "`+pub+`", prefix: "/files" }
  static "/spa" => "`+pub+`" fallback "link"
}
`)
	u := app.urls[""]
	for _, target := range []string{
		"/files/../secret", "/../secret", "/files/%2e%2e/secret", "/files/..%2fsecret", "/files/..%2Fsecret",
		"/files/%2e%2e%2fsecret", "/files/sub/../../secret", "/files/link", "/spa/link", "/spa/missing",
		"/files/" + strings.Repeat("../", 8) + strings.TrimPrefix(filepath.Join(filepath.Dir(pub), "secret"), "/"),
	} {
		if got := rawGet(t, u, target); strings.Contains(got, "TOP SECRET") || strings.HasPrefix(got, "HTTP/1.1 200") {
			t.Errorf("GET %s answered:\n%s", target, got)
		}
	}
	if got := rawGet(t, u, "/files/sub/../app.js"); !strings.HasPrefix(got, "HTTP/1.1 200") || !strings.HasSuffix(got, "console.log(1)\n") {
		t.Errorf("GET /files/sub/../app.js answered:\n%s", got)
	}
}

// A FIFO in the directory was opened before it was checked to be a
// regular file: the open waited for a writer, so the request never got
// an answer and held an OS thread. A FIFO, a socket, and a directory
// whose index.html is one, are no files to serve: routing answers.
func TestStaticServesOnlyRegularFiles(t *testing.T) {
	pub := staticTree(t)
	for _, p := range []string{"pipe", "fifodir/index.html"} {
		os.MkdirAll(filepath.Dir(filepath.Join(pub, p)), 0o755)
		if err := syscall.Mkfifo(filepath.Join(pub, p), 0o644); err != nil {
			t.Skipf("mkfifo: %v", err)
		}
		// Should an open block, a writer frees it when the test ends.
		t.Cleanup(func() {
			if f, err := os.OpenFile(filepath.Join(pub, p), os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
				f.Close()
			}
		})
	}
	l, err := net.Listen("unix", filepath.Join(pub, "sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	app := startApp(t, `server {
  static { dir: "`+pub+`", prefix: "/assets" }
  static "/spa" => "`+pub+`" fallback "pipe"
  route GET "/assets/sock" => fn() "routed"
}
`)
	u := app.urls[""]
	for target, want := range map[string]string{
		"/assets/pipe": "HTTP/1.1 404", "/assets/fifodir": "HTTP/1.1 404", "/assets/fifodir/": "HTTP/1.1 404",
		"/assets/sock": "HTTP/1.1 200", "/spa/missing": "HTTP/1.1 404", "/assets/app.js": "HTTP/1.1 200",
	} {
		if got := rawGet(t, u, target); !strings.HasPrefix(got, want) {
			t.Errorf("GET %s answered %q, want %s", target, got, want)
		}
	}
}

// Dotfiles were served: /assets/.env and /assets/.git/config answered
// 200. A path with a segment that begins with "." goes on to routing,
// but for the directory's .well-known (RFC 8615).
func TestStaticRefusesDotfiles(t *testing.T) {
	pub := staticTree(t)
	for name, body := range map[string]string{
		".env": "SECRET=1", ".git/config": "[core]", "sub/.htpasswd": "u:x", ".hidden/app.js": "x",
		".well-known/security.txt": "Contact: a@b.example", ".well-known/acme-challenge/tok": "tok.key",
		".well-known/.private": "no", "sub/.well-known/x": "no",
	} {
		p := filepath.Join(pub, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	app := startApp(t, `server {
  static { dir: "`+pub+`", prefix: "/assets" }
  route GET "/assets/.hidden/app.js" => fn() "routed"
}
`)
	u := app.urls[""]
	for _, target := range []string{
		"/assets/.env", "/assets/%2eenv", "/assets/.git/config", "/assets/.git/", "/assets/sub/.htpasswd",
		"/assets/.well-known/.private", "/assets/sub/.well-known/x",
	} {
		if got := rawGet(t, u, target); !strings.HasPrefix(got, "HTTP/1.1 404") {
			t.Errorf("GET %s answered:\n%s", target, got)
		}
	}
	if r := do(t, "GET", u+"/assets/.hidden/app.js", ""); r.status != 200 || r.body != `"routed"` {
		t.Errorf("GET /assets/.hidden/app.js = %d %q, want its route", r.status, r.body)
	}
	for p, want := range map[string]string{
		"/assets/.well-known/security.txt": "Contact: a@b.example", "/assets/.well-known/acme-challenge/tok": "tok.key",
	} {
		if r := do(t, "GET", u+p, ""); r.status != 200 || r.body != want {
			t.Errorf("GET %s = %d %q, want %q", p, r.status, r.body, want)
		}
	}
}

func TestStaticLargeFileStreamed(t *testing.T) {
	dir := t.TempDir()
	big := make([]byte, 8<<20)
	rand.Read(big)
	if err := os.WriteFile(filepath.Join(dir, "big.bin"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	app := startApp(t, `server {
  static { dir: "`+dir+`" }
}
`)
	resp, err := client.Get(app.urls[""] + "/big.bin")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.ContentLength != int64(len(big)) || !bytes.Equal(got, big) {
		t.Fatalf("GET /big.bin = %d, length %d, %d bytes read, equal %v", resp.StatusCode, resp.ContentLength, len(got), bytes.Equal(got, big))
	}
}

// A relative directory is the working directory's; one that does not
// exist is warned of at start-up and serves nothing until it is made.
func TestStaticDirectoryRelativeOrMissing(t *testing.T) {
	pub := staticTree(t)
	t.Chdir(filepath.Dir(pub))
	app := startApp(t, `server {
  static {}
  static { dir: "nowhere", prefix: "/gone" }
  route GET "/gone/x" => fn() "routed"
}
`)
	u := app.urls[""]
	if r := do(t, "GET", u+"/app.js", ""); r.status != 200 || r.body != "console.log(1)\n" {
		t.Errorf("GET /app.js from ./public = %d %q", r.status, r.body)
	}
	if r := do(t, "GET", u+"/gone/x", ""); r.status != 200 || r.body != `"routed"` {
		t.Errorf("GET /gone/x = %d %q", r.status, r.body)
	}
	warned := logged(app.logs, "static directory not found: it serves nothing until it is made")
	if len(warned) != 1 || warned[0]["at"] != "app.tova:3:3" || warned[0]["dir"] != filepath.Join(filepath.Dir(pub), "nowhere") {
		t.Errorf("warnings %v", warned)
	}
	// Made after start-up (a build step's assets), it is served within
	// a second, without a restart; routes still take what it lacks.
	dir := filepath.Join(filepath.Dir(pub), "nowhere")
	if err := os.MkdirAll(filepath.Join(dir, "css"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "css", "site.css"), []byte("body{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return do(t, "GET", u+"/gone/css/site.css", "").status == 200 })
	if r := do(t, "GET", u+"/gone/css/site.css", ""); r.body != "body{}\n" {
		t.Errorf("GET /gone/css/site.css = %d %q", r.status, r.body)
	}
	if r := do(t, "GET", u+"/gone/x", ""); r.status != 200 || r.body != `"routed"` {
		t.Errorf("GET /gone/x after the directory was made = %d %q", r.status, r.body)
	}
	// Made anew (a clean rebuild), or swapped for another with mv, it
	// is served within a second: the one opened first was gone.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "css"), 0o755)
	os.WriteFile(filepath.Join(dir, "css", "site.css"), []byte("v2\n"), 0o644)
	waitFor(t, func() bool { return do(t, "GET", u+"/gone/css/site.css", "").body == "v2\n" })
	next := dir + ".next"
	os.MkdirAll(filepath.Join(next, "css"), 0o755)
	os.WriteFile(filepath.Join(next, "css", "site.css"), []byte("v3\n"), 0o644)
	if err := os.Rename(dir, dir+".old"); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(next, dir); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return do(t, "GET", u+"/gone/css/site.css", "").body == "v3\n" })
	// Removed, it serves nothing (routes take its paths again).
	os.RemoveAll(dir)
	waitFor(t, func() bool { return do(t, "GET", u+"/gone/css/site.css", "").status == 404 })
}

// A fallback naming no file of the directory was accepted silently, and
// missing pages then got 404: it is warned of at start-up, at its
// declaration.
func TestStaticMissingFallbackWarns(t *testing.T) {
	pub := staticTree(t)
	app := startApp(t, `server {
  static { dir: "`+pub+`", fallback: "index.html" }
  static { dir: "`+pub+`", prefix: "/a", fallback: "app.html" }
  static "/b" => "`+pub+`" fallback "sub"
}
`)
	warned := logged(app.logs, "static fallback file not found in the directory: a missing page gets 404")
	if len(warned) != 2 || warned[0]["at"] != "app.tova:3:3" || warned[0]["fallback"] != "app.html" ||
		warned[1]["at"] != "app.tova:4:3" || warned[1]["fallback"] != "sub" || warned[0]["dir"] != pub {
		t.Errorf("warnings %v", warned)
	}
	if r := do(t, "GET", app.urls[""]+"/a/missing", ""); r.status != 404 {
		t.Errorf("GET /a/missing = %d %q, want 404", r.status, r.body)
	}
}

func TestStaticStartupErrors(t *testing.T) {
	pub := staticTree(t)
	for _, c := range []struct{ src, want string }{
		{`static { dir: 5 }`, `app.tova:2:17: static.dir: expected a String, got 5`},
		{`static { prefix: "assets" }`, `app.tova:2:20: static.prefix: "assets" does not begin with '/'`},
		{`static "/s/.." => "` + pub + `"`, `app.tova:2:3: static.prefix: "/s/.." leaves itself: it would be / \(write that\)`},
		{`static { dir: "` + filepath.Join(pub, "app.js") + `" }`, `app.tova:2:17: static.dir: .*not a directory`},
		{`static { dir: "` + pub + `", prefix: "/a" }
  static "/a/" => "` + pub + `"`, `app.tova:3:3: static: the prefix "/a" is served already, by the static at app.tova:2:3`},
		// (fallback first: its column does not hang on the temporary
		// directory's name)
		{`static { fallback: "/etc/passwd", dir: "` + pub + `" }`, `app.tova:2:22: static.fallback: "/etc/passwd" is not a file inside the directory`},
	} {
		p, err := driver.CompileFile("app.tova", []byte("server {\n  "+c.src+"\n}\n"))
		if err != nil {
			t.Fatalf("compile %q: %v", c.src, err)
		}
		rt, err := Start(p, Options{Host: "127.0.0.1", Ports: map[string]int{"": 0}, Logger: zerolog.Nop()})
		if err == nil {
			rt.Shutdown(context.Background())
			t.Errorf("%q started", c.src)
			continue
		}
		if !regexp.MustCompile("^server: " + c.want).MatchString(err.Error()) {
			t.Errorf("%q: %v, want %s", c.src, err, c.want)
		}
	}
}

// A GET with one byte range gets that part of the file (206, with
// Content-Range), as a resumed download or a media player's seek asks;
// a range past the end gets 416; several ranges, a malformed one, a
// stale If-Range (or a date in it), or HEAD get the whole file; a
// failed If-Match or If-Unmodified-Since gets 412.
func TestStaticRangeRequests(t *testing.T) {
	pub := staticTree(t)
	big := make([]byte, 1<<20)
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pub, "big.bin"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	app := startApp(t, `server {
  static { dir: "`+pub+`" }
}
`)
	u := app.urls[""]
	const file = "console.log(1)\n" // app.js, 15 bytes
	etag := wantETag(t, filepath.Join(pub, "app.js"))
	whole := do(t, "GET", u+"/app.js", "")
	if whole.header.Get("Accept-Ranges") != "bytes" {
		t.Errorf("a file's answer has Accept-Ranges %q", whole.header.Get("Accept-Ranges"))
	}
	lastMod := whole.header.Get("Last-Modified")
	for _, c := range []struct {
		headers []string
		status  int
		body    string
		crange  string
	}{
		{[]string{"Range", "bytes=0-6"}, 206, "console", "bytes 0-6/15"},
		{[]string{"Range", "Bytes=0-6"}, 206, "console", "bytes 0-6/15"}, // (a unit is in any case)
		{[]string{"Range", "bytes=8-"}, 206, "log(1)\n", "bytes 8-14/15"},
		{[]string{"Range", "bytes=-3"}, 206, "1)\n", "bytes 12-14/15"},
		{[]string{"Range", "bytes=-100"}, 206, file, "bytes 0-14/15"},
		{[]string{"Range", "bytes=10-100"}, 206, "g(1)\n", "bytes 10-14/15"},
		{[]string{"Range", "bytes=14-14"}, 206, "\n", "bytes 14-14/15"},
		{[]string{"Range", "bytes=15-"}, 416, "", "bytes */15"},
		{[]string{"Range", "bytes=99999999999999999999-"}, 416, "", "bytes */15"},
		{[]string{"Range", "bytes=-0"}, 416, "", "bytes */15"},
		{[]string{"Range", "bytes=0-1,3-4"}, 200, file, ""},
		// (empty elements of the list are none: RFC 9110 §5.6.1)
		{[]string{"Range", "bytes=0-6,"}, 206, "console", "bytes 0-6/15"},
		{[]string{"Range", "bytes=, 0-6"}, 206, "console", "bytes 0-6/15"},
		{[]string{"Range", "bytes=,"}, 200, file, ""},
		{[]string{"Range", "bytes=5-2"}, 200, file, ""},
		{[]string{"Range", "bytes=a-b"}, 200, file, ""},
		{[]string{"Range", "items=0-1"}, 200, file, ""},
		{[]string{"Range", "bytes=0-6", "If-Range", etag}, 206, "console", "bytes 0-6/15"},
		{[]string{"Range", "bytes=0-6", "If-Range", `"stale"`}, 200, file, ""},
		{[]string{"Range", "bytes=0-6", "If-Range", "W/" + etag}, 200, file, ""},
		{[]string{"Range", "bytes=0-6", "If-Range", lastMod}, 200, file, ""}, // a date is no strong validator
		{[]string{"Range", "bytes=0-6", "If-Match", etag}, 206, "console", "bytes 0-6/15"},
		{[]string{"Range", "bytes=0-6", "If-Match", `"other", ` + etag}, 206, "console", "bytes 0-6/15"},
		{[]string{"Range", "bytes=0-6", "If-Match", `"other"`}, 412, "", ""},
		{[]string{"If-Match", "W/" + etag}, 412, "", ""},
		{[]string{"If-Match", "*"}, 200, file, ""},
		{[]string{"Range", "bytes=0-6", "If-Unmodified-Since", "Mon, 01 Jan 2001 00:00:00 GMT"}, 412, "", ""},
		{[]string{"Range", "bytes=0-6", "If-Unmodified-Since", lastMod}, 206, "console", "bytes 0-6/15"},
		{[]string{"If-Unmodified-Since", "not a date"}, 200, file, ""},
		{[]string{"Range", "bytes=0-6", "If-Range", "Mon, 02 Jan 2006 15:04:05 GMT"}, 200, file, ""},
		{[]string{"Range", "bytes=0-6", "If-None-Match", etag}, 304, "", ""},
	} {
		r := do(t, "GET", u+"/app.js", "", c.headers...)
		if r.status != c.status || r.body != c.body || r.header.Get("Content-Range") != c.crange {
			t.Errorf("GET with %q = %d %q (Content-Range %q), want %d %q (%q)", c.headers, r.status, r.body, r.header.Get("Content-Range"), c.status, c.body, c.crange)
		}
		if c.status == 206 && r.header.Get("Content-Length") != strconv.Itoa(len(c.body)) {
			t.Errorf("GET with %q: Content-Length %q", c.headers, r.header.Get("Content-Length"))
		}
		// A 412 or 416 answers the request's conditions, not the file:
		// no cache may keep it for the file's max-age.
		if cc := r.header.Get("Cache-Control"); (c.status == 412 || c.status == 416) != (cc == "") {
			t.Errorf("GET with %q: %d with Cache-Control %q", c.headers, r.status, cc)
		}
	}
	// Lines of one list header are one list, in either order.
	for _, c := range []struct {
		lines  []string
		status int
	}{
		{[]string{"If-None-Match", `"x"`, "If-None-Match", etag}, 304},
		{[]string{"If-Match", `"x"`, "If-Match", etag, "Range", "bytes=0-6"}, 206},
		{[]string{"If-Match", etag, "If-Match", `"x"`, "Range", "bytes=0-6"}, 206},
		{[]string{"If-Match", `"x"`, "If-Match", `"y"`}, 412},
	} {
		if r := doLines(t, "GET", u+"/app.js", c.lines...); r.status != c.status {
			t.Errorf("GET with %q = %d, want %d", c.lines, r.status, c.status)
		}
	}
	if r := do(t, "HEAD", u+"/app.js", "", "Range", "bytes=0-6"); r.status != 200 || r.header.Get("Content-Length") != "15" {
		t.Errorf("HEAD with a Range = %d, Content-Length %q", r.status, r.header.Get("Content-Length"))
	}
	// A part from the middle of a large file, streamed from disk; the
	// file is closed once it is sent.
	// (With the collector off: a lost *os.File's finalizer closes it.)
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	fds := func() int { ents, _ := os.ReadDir("/proc/self/fd"); return len(ents) }
	before := fds()
	for range 40 {
		r := do(t, "GET", u+"/big.bin", "", "Range", "bytes=300000-700000")
		if r.status != 206 || r.body != string(big[300000:700001]) {
			t.Fatalf("a part of a large file = %d, %d bytes (want 400001, as on disk)", r.status, len(r.body))
		}
	}
	if after := fds(); after > before+8 {
		t.Errorf("open files grew from %d to %d over 40 range requests", before, after)
	}
	statuses := map[float64]int{}
	for _, l := range logged(app.logs, "request") {
		statuses[l["status"].(float64)]++
	}
	if statuses[206] != 55 || statuses[416] != 3 || statuses[412] != 4 {
		t.Errorf("access lines by status: %v, want 55 of 206, 3 of 416 and 4 of 412", statuses)
	}
}

// Whatever the Range header, a range taken lies within the file.
func FuzzByteRange(f *testing.F) {
	for _, s := range []string{"bytes=0-6", "bytes=-3", "bytes=8-", "bytes=15-", "bytes=-0", "bytes=0-1,3-4", "bytes= 1-2", "bytes=99999999999999999999-", "bytes=-99999999999999999999"} {
		f.Add(s, int64(15))
	}
	f.Fuzz(func(t *testing.T, v string, size int64) {
		if size < 0 {
			return
		}
		from, n, ok := byteRange(v, size)
		if ok && n > 0 && (from < 0 || n < 0 || from+n > size) {
			t.Fatalf("%q of %d bytes: %d bytes from %d", v, size, n, from)
		}
		if ok && n == 0 && from != 0 && from != size {
			t.Fatalf("%q of %d bytes: an empty range from %d", v, size, from)
		}
	})
}

// A static directory that holds the program's own directory (static "/"
// => ".") fails the start: the source, the SQLite database and the
// files beside them were served to anyone, as tova build refuses.
func TestStaticRefusesTheProgramsDirectory(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "public"), 0o755)
	for src, want := range map[string]string{
		fmt.Sprintf("server {\n  static \"/\" => %q\n}\n", dir):               "static: the directory " + dir + " holds the program's own directory",
		fmt.Sprintf("server {\n  static \"/\" => %q\n}\n", filepath.Dir(dir)): "static: the directory " + filepath.Dir(dir) + " holds the program's own directory",
		fmt.Sprintf("static { dir: %q, prefix: \"/s\" }\nserver { }\n", dir):  "static: the directory " + dir + " holds",
		// Nor does one that holds the database, wherever it is.
		fmt.Sprintf("db { path: %q }\nmodel Note { title: String }\nserver {\n  static \"/files\" => %q\n}\n", filepath.Join(dir, "data", "app.db"), filepath.Join(dir, "data")): "static: the directory " + filepath.Join(dir, "data") + " holds the database",
	} {
		os.MkdirAll(filepath.Join(dir, "data"), 0o755)
		if err := startErrorIn(t, dir, src); err != nil && !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %s", src, err, want)
		}
	}
	// Nor is another server's database (or the files SQLite keeps beside
	// it) answered from a static directory that holds it: it was
	// downloadable, its WAL holding the rows just written.
	os.MkdirAll(filepath.Join(dir, "shared"), 0o755)
	os.WriteFile(filepath.Join(dir, "shared", "ok.txt"), []byte("ok"), 0o644)
	two := startApp(t, fmt.Sprintf(`server "api" {
  db { path: %q }
  model Note { title: String }
  route POST "/" => fn() Note.create({ title: "secret" })
}
server "web" {
  static "/files" => %q
}
`, filepath.Join(dir, "shared", "app.db"), filepath.Join(dir, "shared")), func(o *Options) { o.Dir = dir; o.Ports = map[string]int{"api": 0, "web": 0} })
	if r := do(t, "POST", two.urls["api"]+"/", ""); r.status != 200 {
		t.Fatalf("POST /: %d %s", r.status, r.body)
	}
	for path, want := range map[string]int{"/files/ok.txt": 200, "/files/app.db": 404, "/files/app.db-wal": 404, "/files/app.db-shm": 404} {
		if r := do(t, "GET", two.urls["web"]+path, ""); r.status != want {
			t.Errorf("GET %s: %d, want %d", path, r.status, want)
		}
	}
	// A directory of its own, beside the program, is served.
	app := startApp(t, fmt.Sprintf("server {\n  static \"/\" => %q\n}\n", filepath.Join(dir, "public")), func(o *Options) { o.Dir = dir })
	if r := do(t, "GET", app.urls[""]+"/nothing", ""); r.status != 404 {
		t.Errorf("GET /nothing: %d", r.status)
	}
}

// A static directory that holds the program's own is refused when its
// path is opened again, as at the start: a deploy that made the missing
// directory a link to the program's (ln -s . public) served its source.
func TestStaticReopenRefusesProgramDir(t *testing.T) {
	prog := t.TempDir()
	os.WriteFile(filepath.Join(prog, "app.tova"), []byte("secret source\n"), 0o644)
	later := filepath.Join(t.TempDir(), "later")
	app := startApp(t, `server {
  static { dir: "`+later+`", prefix: "/" }
  route GET "/x" => fn() "routed"
}
`, func(o *Options) { o.Dir = prog })
	u := app.urls[""]
	if err := os.Symlink(prog, later); err != nil {
		t.Fatal(err)
	}
	refusal := "static directory holds the program's own directory (its source, its database): it serves nothing until it is another directory"
	waitFor(t, func() bool { do(t, "GET", u+"/app.tova", ""); return len(logged(app.logs, refusal)) > 0 })
	if r := do(t, "GET", u+"/app.tova", ""); r.status != 404 {
		t.Errorf("GET /app.tova through the link = %d %q", r.status, r.body)
	}
	if r := do(t, "GET", u+"/x", ""); r.status != 200 {
		t.Errorf("GET /x = %d", r.status)
	}
	// A directory of its own in its place is served; the refusal was
	// logged once.
	os.Remove(later)
	os.MkdirAll(later, 0o755)
	os.WriteFile(filepath.Join(later, "a.txt"), []byte("ok\n"), 0o644)
	waitFor(t, func() bool { return do(t, "GET", u+"/a.txt", "").body == "ok\n" })
	if n := len(logged(app.logs, refusal)); n != 1 {
		t.Errorf("refusal logged %d times", n)
	}
}

// A cache block's max_age is whole seconds: 1.5 went out as max-age=1
// without a word.
func TestStaticCacheMaxAgeWholeSeconds(t *testing.T) {
	pub := staticTree(t)
	body := "\nserver {\n  static \"/\" => \"" + pub + "\"\n}\n"
	wantStartErrors(t, body, map[string]string{
		"cache { max_age: 1.5 }":               "server: app.tova:1:18: cache.max_age: a max_age is whole seconds (Cache-Control has no fractions), got 1.5",
		"cache { max_age: 1500.milliseconds }": "server: app.tova:1:18: cache.max_age: a max_age is whole seconds (Cache-Control has no fractions), got 1s500ms",
	})
	app := startApp(t, "cache { max_age: 2.0 }"+body)
	if r := do(t, "GET", app.urls[""]+"/app.js", ""); r.header.Get("Cache-Control") != "public, max-age=2" {
		t.Errorf("max_age 2.0: %d %q", r.status, r.header.Get("Cache-Control"))
	}
}

// The reference's cache { stale_while_revalidate } is applied to the
// static files beside max_age (it was warned of as an unknown key).
func TestStaticCacheStaleWhileRevalidate(t *testing.T) {
	pub := staticTree(t)
	body := "\nserver {\n  static \"/\" => \"" + pub + "\"\n}\n"
	wantStartErrors(t, body, map[string]string{
		"cache { stale_while_revalidate: -1 }": "server: app.tova:1:33: cache.stale_while_revalidate: a stale_while_revalidate must not be negative, got -1",
	})
	for block, want := range map[string]string{
		"cache { max_age: 60, stale_while_revalidate: 30 }":          "public, max-age=60, stale-while-revalidate=30",
		"cache { stale_while_revalidate: 1.minute }":                 "public, max-age=3600, stale-while-revalidate=60",
		"cache { default: \"no-cache\", stale_while_revalidate: 5 }": "public, max-age=3600, stale-while-revalidate=5",
	} {
		app := startApp(t, block+body)
		if r := do(t, "GET", app.urls[""]+"/app.js", ""); r.header.Get("Cache-Control") != want {
			t.Errorf("%s: %d %q, want %q", block, r.status, r.header.Get("Cache-Control"), want)
		}
		if w := logged(app.logs, "unknown key in a config block: it has no effect"); len(w) != 0 {
			t.Errorf("%s: warned of: %v", block, w)
		}
	}
}

// A file's Content-Type by its extension is the same on every machine
// for a site's usual files (the host's MIME tables served .webmanifest
// and .map as octet-stream); others are the host's.
func TestStaticContentTypes(t *testing.T) {
	for name, want := range map[string]string{
		"site.webmanifest": "application/manifest+json", "app.js.map": "application/json",
		"m.mjs": "text/javascript; charset=utf-8", "a.CSS": "text/css; charset=utf-8",
		"i.avif": "image/avif", "f.woff2": "font/woff2", "x.unknownext": "application/octet-stream",
	} {
		if got := contentType(name); got != want {
			t.Errorf("%s: %s, want %s", name, got, want)
		}
	}
}

// A static prefix written as a route pattern ("/a/*", "/a/:id") is
// taken as written, and warned of: it served only /a/*/... without a
// word.
func TestStaticPrefixPatternWarned(t *testing.T) {
	pub := staticTree(t)
	app := startApp(t, `server {
  static "/a/*" => "`+pub+`"
  static "/b" => "`+pub+`"
}
`)
	w := logged(app.logs, "static prefix holds ':' or '*', which it takes as written: a static prefix has no parameters or wildcards (static \"/a\" serves every path under /a)")
	if len(w) != 1 || w[0]["prefix"] != "/a/*" {
		t.Errorf("warnings %v", w)
	}
}
