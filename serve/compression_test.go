package serve

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"tova/netio"
)

const compressionApp = `
server {
  compression { min_size: 200 }
  route GET "/big" => fn() { { items: range(0, 100).map(fn(i) "item {i}") } }
  route GET "/small" => fn() { { ok: true } }
  route GET "/text" => fn() text("word " * 100)
  route GET "/png" => fn() respond(200, "x" * 1000, { "Content-Type": "image/png" })
  route GET "/events" => fn() respond(200, "data: x\n\n" * 100, { "Content-Type": "text/event-stream; charset=utf-8" })
  route GET "/tagged" => fn() with_headers(text("tag " * 100), { "ETag": "\"v1\"" })
  route GET "/empty" => fn(res) res.status(204)
  route POST "/echo" => fn(req) req.body
  route GET "/etag" => fn() etag(text("tag " * 100), "v1")
  route GET "/varied" => fn() with_headers(text("v " * 200), { "Vary": "Origin, accept-encoding" })
}
`

// decoded returns r's body as sent without its content coding.
func decoded(t *testing.T, r reply) string {
	t.Helper()
	var rd io.Reader
	var err error
	switch r.header.Get("Content-Encoding") {
	case "":
		return r.body
	case "gzip":
		rd, err = gzip.NewReader(strings.NewReader(r.body))
	case "deflate":
		rd, err = zlib.NewReader(strings.NewReader(r.body))
	default:
		t.Fatalf("Content-Encoding %q", r.header.Get("Content-Encoding"))
	}
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(rd)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A compression block gzips (or deflates) a textual body of min_size
// bytes or more when the request allows it, and says that the answer
// varies by Accept-Encoding.
func TestCompressionBlock(t *testing.T) {
	app := startApp(t, compressionApp)
	u := app.urls[""]
	plain := do(t, "GET", u+"/big", "", "Accept-Encoding", "identity")
	if plain.status != 200 || plain.header.Get("Content-Encoding") != "" || !strings.HasPrefix(plain.body, `{"items":["item 0",`) {
		t.Fatalf("identity = %d %v %.40q", plain.status, plain.header, plain.body)
	}
	if v := plain.header.Values("Vary"); !strings.Contains(strings.Join(v, ","), "Accept-Encoding") {
		t.Errorf("an uncompressed compressible answer has Vary %q", v)
	}
	for _, c := range []struct{ accept, want string }{
		{"gzip", "gzip"},
		{"gzip, deflate, br", "gzip"},
		{"deflate", "deflate"},
		{"gzip;q=0, deflate", "deflate"},
		{"gzip;q=0.5, deflate;q=0.8", "deflate"},
		{"*", "gzip"},
		{"*;q=0", ""},
		{"br", ""},
		{"", ""},
		{"GZIP;Q=1", "gzip"},
		{"gzip;q=nonsense", ""},
		// identity weighed above the codings: the body as it is
		{"identity;q=1, gzip;q=0.5", ""},
		{"identity;q=0.5, gzip", "gzip"},
		{"identity, gzip", "gzip"},
	} {
		r := do(t, "GET", u+"/big", "", "Accept-Encoding", c.accept)
		if got := r.header.Get("Content-Encoding"); got != c.want {
			t.Errorf("Accept-Encoding %q: Content-Encoding %q, want %q", c.accept, got, c.want)
			continue
		}
		if d := decoded(t, r); d != plain.body {
			t.Errorf("Accept-Encoding %q: the body decodes to %.40q", c.accept, d)
		}
		if c.want != "" {
			if len(r.body) >= len(plain.body) {
				t.Errorf("Accept-Encoding %q: %d bytes, plain %d", c.accept, len(r.body), len(plain.body))
			}
			if cl := r.header.Get("Content-Length"); cl != strconv.Itoa(len(r.body)) {
				t.Errorf("Accept-Encoding %q: Content-Length %s for %d bytes", c.accept, cl, len(r.body))
			}
		}
	}
	// HEAD says what GET would send.
	get := do(t, "GET", u+"/text", "", "Accept-Encoding", "gzip")
	head := do(t, "HEAD", u+"/text", "", "Accept-Encoding", "gzip")
	if get.header.Get("Content-Encoding") != "gzip" || head.header.Get("Content-Encoding") != "gzip" ||
		head.header.Get("Content-Length") != get.header.Get("Content-Length") || head.body != "" {
		t.Errorf("GET %v\nHEAD %v %q", get.header, head.header, head.body)
	}
	if d := decoded(t, get); d != strings.Repeat("word ", 100) {
		t.Errorf("text decodes to %.40q", d)
	}
	// A strong ETag names the uncompressed bytes: it becomes weak.
	if r := do(t, "GET", u+"/tagged", "", "Accept-Encoding", "gzip"); r.header.Get("Etag") != `W/"v1"` {
		t.Errorf("compressed ETag %q", r.header.Get("Etag"))
	}
	if r := do(t, "GET", u+"/tagged", ""+"", "Accept-Encoding", "identity"); r.header.Get("Etag") != `"v1"` {
		t.Errorf("uncompressed ETag %q", r.header.Get("Etag"))
	}
	// A 304 carries the ETag and Vary its 200 would (RFC 9110 §15.4.5).
	for _, c := range []struct{ accept, inm, etag string }{
		{"gzip", `W/"v1"`, `W/"v1"`},
		{"gzip", `"v1"`, `W/"v1"`},
		{"identity", `"v1"`, `"v1"`},
	} {
		r := do(t, "GET", u+"/etag", "", "Accept-Encoding", c.accept, "If-None-Match", c.inm)
		if r.status != 304 || r.header.Get("Etag") != c.etag || r.header.Get("Vary") != "Accept-Encoding" {
			t.Errorf("If-None-Match %s, Accept-Encoding %s: %d %v", c.inm, c.accept, r.status, r.header)
		}
	}
	if r := do(t, "GET", u+"/etag", "", "Accept-Encoding", "gzip"); r.status != 200 || r.header.Get("Etag") != `W/"v1"` {
		t.Errorf("GET /etag: %d %v", r.status, r.header)
	}
	// A Vary that names Accept-Encoding already is not repeated.
	if r := do(t, "GET", u+"/varied", "", "Accept-Encoding", "gzip"); r.header.Get("Content-Encoding") != "gzip" || len(r.header.Values("Vary")) != 1 {
		t.Errorf("GET /varied: %v", r.header)
	}
	// Accept-Encoding sent on two lines is one list.
	req, _ := http.NewRequest("GET", u+"/big", nil)
	req.Header.Add("Accept-Encoding", "br")
	req.Header.Add("Accept-Encoding", "gzip")
	if resp, err := client.Do(req); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
		if resp.Header.Get("Content-Encoding") != "gzip" {
			t.Errorf("Accept-Encoding br, then gzip: %v", resp.Header)
		}
	}
	// Too small, not textual, no body, or server-sent events: sent as
	// it is.
	for _, p := range []string{"/small", "/png", "/empty", "/events"} {
		r := do(t, "GET", u+p, "", "Accept-Encoding", "gzip")
		if r.header.Get("Content-Encoding") != "" || strings.Contains(strings.Join(r.header.Values("Vary"), ","), "Accept-Encoding") {
			t.Errorf("%s: %d %v", p, r.status, r.header)
		}
	}
	// A request body in JSON, answered compressed.
	big := `{"s":"` + strings.Repeat("z", 500) + `"}`
	if r := do(t, "POST", u+"/echo", big, "Content-Type", "application/json", "Accept-Encoding", "gzip"); r.header.Get("Content-Encoding") != "gzip" || decoded(t, r) != big {
		t.Errorf("POST /echo: %v", r.header)
	}
}

// Without a compression block nothing is compressed; a top-level block
// applies to every server; a bad min_size stops the start.
func TestCompressionBlockPlacesAndErrors(t *testing.T) {
	app := startApp(t, `
server "a" { route GET "/t" => fn() text("a" * 5000) }
`)
	if r := do(t, "GET", app.urls["a"]+"/t", "", "Accept-Encoding", "gzip"); r.header.Get("Content-Encoding") != "" {
		t.Errorf("no block: %v", r.header)
	}
	app = startApp(t, `
compression { }
server "a" { route GET "/t" => fn() text("a" * 5000) }
server "b" {
  compression { min_size: 10.kilobytes }
  route GET "/t" => fn() text("a" * 5000)
}
`)
	if r := do(t, "GET", app.urls["a"]+"/t", "", "Accept-Encoding", "gzip"); r.header.Get("Content-Encoding") != "gzip" {
		t.Errorf("top-level block, default min_size: %v", r.header)
	}
	if r := do(t, "GET", app.urls["b"]+"/t", "", "Accept-Encoding", "gzip"); r.header.Get("Content-Encoding") != "" {
		t.Errorf("server block's min_size 10 KB: %v", r.header)
	}
	if w := logged(app.logs, notAppliedMsg); len(w) != 0 {
		t.Errorf("warned %v", w)
	}
	wantStartErrors(t, "\nserver {\n  route GET \"/\" => fn() 1\n}", map[string]string{
		`compression { min_size: "big" }`: `server: app.tova:1:25: compression.min_size: `,
		`compression { min_size: -1 }`:    `server: app.tova:1:25: compression.min_size: expected a size of 0 or more`,
		`compression { min_size: 1.5 }`:   `server: app.tova:1:25: compression.min_size: `,
	})
}

// The gzip stream is a whole one: a reader that checks its trailer
// accepts it (not just a prefix that decodes).
func TestCompressedBodyIsComplete(t *testing.T) {
	app := startApp(t, compressionApp)
	r := do(t, "GET", app.urls[""]+"/big", "", "Accept-Encoding", "gzip")
	zr, err := gzip.NewReader(bytes.NewReader([]byte(r.body)))
	if err != nil {
		t.Fatal(err)
	}
	zr.Multistream(false)
	if _, err := io.Copy(io.Discard, zr); err != nil {
		t.Fatalf("gzip body: %v", err)
	}
	if err := zr.Close(); err != nil {
		t.Fatal(err)
	}
}

// Static files under a compression block are sent compressed as
// handlers' answers are, but a range is of the file as it is; a file
// changed is compressed again.
func TestCompressionOfStaticFiles(t *testing.T) {
	pub := t.TempDir()
	js := strings.Repeat("console.log('static file');\n", 200)
	for name, body := range map[string]string{"app.js": js, "small.css": "body{}", "pic.png": strings.Repeat("\x89PNG", 500)} {
		if err := os.WriteFile(filepath.Join(pub, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	app := startApp(t, `server {
  compression { min_size: 100 }
  static { dir: "`+pub+`" }
  route GET "/x" => fn() 1
}
`)
	u := app.urls[""]
	plain := do(t, "GET", u+"/app.js", "", "Accept-Encoding", "identity")
	etag := plain.header.Get("Etag")
	if plain.body != js || plain.header.Get("Content-Encoding") != "" || plain.header.Get("Vary") != "Accept-Encoding" ||
		plain.header.Get("Accept-Ranges") != "bytes" || !strings.HasPrefix(etag, `"`) {
		t.Fatalf("identity: %d %v", plain.status, plain.header)
	}
	for _, coding := range []string{"gzip", "deflate"} {
		r := do(t, "GET", u+"/app.js", "", "Accept-Encoding", coding)
		if r.status != 200 || r.header.Get("Content-Encoding") != coding || decoded(t, r) != js || len(r.body) >= len(js) ||
			r.header.Get("Etag") != "W/"+etag || r.header.Get("Vary") != "Accept-Encoding" || r.header.Get("Accept-Ranges") != "" ||
			r.header.Get("Content-Type") != "text/javascript; charset=utf-8" {
			t.Errorf("%s: %d %v", coding, r.status, r.header)
		}
		head := do(t, "HEAD", u+"/app.js", "", "Accept-Encoding", coding)
		if head.header.Get("Content-Length") != strconv.Itoa(len(r.body)) || head.header.Get("Content-Encoding") != coding || head.body != "" {
			t.Errorf("HEAD %s: %v (GET sent %d bytes)", coding, head.header, len(r.body))
		}
	}
	// A client that has the compressed file is told it is fresh, with
	// what the 200 carried.
	if r := do(t, "GET", u+"/app.js", "", "Accept-Encoding", "gzip", "If-None-Match", "W/"+etag); r.status != 304 ||
		r.header.Get("Etag") != "W/"+etag || r.header.Get("Vary") != "Accept-Encoding" {
		t.Errorf("If-None-Match: %d %v", r.status, r.header)
	}
	// A range is of the file as it is.
	if r := do(t, "GET", u+"/app.js", "", "Accept-Encoding", "gzip", "Range", "bytes=0-9"); r.status != 206 ||
		r.header.Get("Content-Encoding") != "" || r.body != js[:10] {
		t.Errorf("Range: %d %v %q", r.status, r.header, r.body)
	}
	// Too small, or not textual: as it is, and not varying.
	for _, p := range []string{"/small.css", "/pic.png"} {
		if r := do(t, "GET", u+p, "", "Accept-Encoding", "gzip"); r.header.Get("Content-Encoding") != "" || r.header.Get("Vary") != "" {
			t.Errorf("%s: %v", p, r.header)
		}
	}
	// A file changed is sent as it is now.
	js2 := strings.Repeat("console.log('changed');\n", 300)
	if err := os.WriteFile(filepath.Join(pub, "app.js"), []byte(js2), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := do(t, "GET", u+"/app.js", "", "Accept-Encoding", "gzip"); decoded(t, r) != js2 {
		t.Errorf("after a change: %.60q", decoded(t, r))
	}
}

// Requests for a file being compressed share that compression; with
// every compression slot taken, a file goes out as it is, at once.
func TestStaticCompressionSharedAndBounded(t *testing.T) {
	dir := t.TempDir()
	body := []byte(strings.Repeat("a line of a large text file\n", 150_000)) // 4.2 MB
	name := filepath.Join(dir, "big.txt")
	if err := os.WriteFile(name, body, 0o644); err != nil {
		t.Fatal(err)
	}
	z := newStaticZip(&netio.Compression{MinSize: 1})
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	var wg sync.WaitGroup
	outs := make([][]byte, 20)
	for i := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], _ = z.encoded(f, st, "gzip")
		}()
	}
	wg.Wait()
	if z.made != 1 {
		t.Errorf("20 requests at once made %d compressions", z.made)
	}
	for i, o := range outs {
		zr, err := gzip.NewReader(bytes.NewReader(o))
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if got, _ := io.ReadAll(zr); !bytes.Equal(got, body) {
			t.Fatalf("request %d: %d bytes decoded", i, len(got))
		}
	}
	for range cap(z.slots) {
		z.slots <- struct{}{}
	}
	if _, err := z.encoded(f, st, "deflate"); err != errNotCompressed {
		t.Errorf("with every slot taken: %v", err)
	}
	if _, err := z.encoded(f, st, "gzip"); err != nil {
		t.Errorf("a file kept is sent with every slot taken: %v", err)
	}
}

// cache { default } refuses a line break, as static's cache does (it
// went out with the break made a space, "public  Set-Cookie: evil=1").
func TestCacheDefaultRefusesLineBreaks(t *testing.T) {
	wantStartErrors(t, "\nserver {\n  route GET \"/\" => fn() 1\n}", map[string]string{
		`cache { default: "public\r\nSet-Cookie: evil=1" }`: `server: app.tova:1:18: cache.default: a header value cannot hold a line break`,
		`cache { default: "public,\nmax-age=60" }`:          `server: app.tova:1:18: cache.default: a header value cannot hold a line break`,
		`cache { default: 5 }`:                              `server: app.tova:1:18: cache.default: expected a Cache-Control directive String`,
	})
}

// limits { max_body } (and http's) sets the body limit, as the max_body
// statement does: it was warned of as an unknown key, and the 4 MiB
// default stayed.
func TestLimitsMaxBody(t *testing.T) {
	app := startApp(t, `server {
  limits { max_body: 100, timeout: 5.seconds }
  route POST "/x" => fn(req) len(req.text())
}`)
	if r := do(t, "POST", app.urls[""]+"/x", strings.Repeat("a", 200)); r.status != 413 {
		t.Errorf("a body over limits.max_body: %d %s", r.status, r.body)
	}
	if r := do(t, "POST", app.urls[""]+"/x", strings.Repeat("a", 50)); r.status != 200 || r.body != "50" {
		t.Errorf("a body under limits.max_body: %d %s", r.status, r.body)
	}
	wantStartErrors(t, "\nserver {\n  route GET \"/\" => fn() 1\n}", map[string]string{
		`limits { max_body: -1 }`: `server: app.tova:1:20: limits.max_body: a body limit must be positive`,
	})
}
