package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"regexp"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sync/semaphore"

	"tova/driver"
	"tova/vm"
)

// formPart is one part of a multipart/form-data body: a file part when
// filename is set.
type formPart struct {
	field, filename, ctype string
	data                   []byte
}

// postForm posts parts as a multipart/form-data body, built with
// mime/multipart.
func postForm(t *testing.T, url string, parts ...formPart) reply {
	t.Helper()
	body, ctype := formBody(t, parts...)
	return postBody(t, url, body, ctype)
}

// formBody is parts as a multipart/form-data body and its Content-Type.
func formBody(t *testing.T, parts ...formPart) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		disp := fmt.Sprintf(`form-data; name=%q`, p.field)
		if p.filename != "" {
			disp += fmt.Sprintf(`; filename=%q`, p.filename)
		}
		h.Set("Content-Disposition", disp)
		if p.ctype != "" {
			h.Set("Content-Type", p.ctype)
		}
		pw, err := w.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		pw.Write(p.data)
	}
	w.Close()
	return buf.Bytes(), w.FormDataContentType()
}

// postBody posts body as ctype.
func postBody(t *testing.T, url string, body []byte, ctype string) reply {
	t.Helper()
	req, err := http.NewRequest("POST", url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	return doRequest(t, client, req)
}

var (
	pngBytes = append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), make([]byte, 64)...)
	pdfBytes = []byte("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n")
)

// The guide's block (max_size above max_body: warned of), a smaller
// limit to test sizes under max_body, and a handler that shows what it
// got.
const uploadsApp = `
server {
  max_body 5.megabytes

  uploads {
    max_size: 10.megabytes,
    allowed_types: ["image/png", "image/jpeg", "application/pdf"]
  }
  route POST "/up" => fn(req) {
    f = req.body.avatar
    print("handler ran")
    { filename: f.filename, type: f.content_type, size: f.size, note: req.body.note }
  }
  route POST "/form" => fn(req) { req.body }
  route POST "/ignore" => fn() "ran"
}
server "small" {
  upload { max_size: 1.kilobyte }
  route POST "/up" => fn(req) { req.body.doc.size }
}
`

// uploads { } was only warned of ("declaration not applied"): every
// file passed, whatever its size or type.
func TestUploadsCheckFileParts(t *testing.T) {
	app := startApp(t, uploadsApp)
	url, small := app.urls[""], app.urls["small"]
	if w := logged(app.logs, notAppliedMsg); len(w) > 0 {
		t.Errorf("uploads warned of as not applied: %v", w)
	}
	if w := logged(app.logs, "uploads.max_size is above max_body: a body over max_body is refused (413) first, so files are limited to less than max_body"); len(w) != 1 || w[0]["at"] != "app.tova:5:3" || w[0]["max_body"] != "5 MiB" {
		t.Errorf("max_size over max_body warnings: %v", w)
	}

	r := postForm(t, url+"/up", formPart{"avatar", "me.png", "image/png", pngBytes}, formPart{field: "note", data: []byte("hi")})
	if want := fmt.Sprintf(`{"filename":"me.png","type":"image/png","size":%d,"note":"hi"}`, len(pngBytes)); r.status != 200 || r.body != want {
		t.Errorf("allowed file: %d %s, want %s", r.status, r.body, want)
	}
	// Parameters and case of the declared type do not count.
	if r := postForm(t, url+"/up", formPart{"avatar", "doc.pdf", "Application/PDF; x=y", pdfBytes}); r.status != 200 {
		t.Errorf("application/pdf with a parameter: %d %s", r.status, r.body)
	}

	// A file the type check lets through is saved under its name, and
	// served as its extension says: PNG bytes named evil.html would be
	// served as text/html (a page on the app's own origin).
	r = postForm(t, url+"/up", formPart{"avatar", "evil.html", "image/png", pngBytes})
	if r.status != 415 || !strings.Contains(r.body, `"message":"avatar: the file name's extension .html is of type text/html, not allowed (allowed: image/png, image/jpeg, application/pdf)"`) {
		t.Errorf("PNG bytes named evil.html: %d %s", r.status, r.body)
	}
	// Also as save_file will name it ("evil.html " is saved as
	// evil.html), and whatever the case.
	for _, name := range []string{"evil.html ", "evil.html.", "evil.html. .", "EVIL.HTM", "x.svg", "a.js", "p.xhtml", "f.xml"} {
		if r := postForm(t, url+"/up", formPart{"avatar", name, "image/png", pngBytes}); r.status != 415 {
			t.Errorf("PNG bytes named %q: %d %s", name, r.status, r.body)
		}
	}
	// A name whose extension's type is of no harm passes: the type
	// check is on the declared type and the bytes.
	for _, name := range []string{"ME.PNG", "avatar", "photo.jpeg.png", "IMG_1.HEIC", "notes.md"} {
		if r := postForm(t, url+"/up", formPart{"avatar", name, "image/png", pngBytes}); r.status != 200 {
			t.Errorf("PNG bytes named %s: %d %s", name, r.status, r.body)
		}
	}
	app.stdout.Reset()
	r = postForm(t, url+"/up", formPart{"avatar", "a.gif", "image/gif", []byte("GIF89a....")})
	if r.status != 415 || !strings.Contains(r.body, `"code":"UNSUPPORTED_MEDIA_TYPE"`) ||
		!strings.Contains(r.body, `"message":"avatar: file type image/gif not allowed (allowed: image/png, image/jpeg, application/pdf)"`) {
		t.Errorf("a type not allowed: %d %s", r.status, r.body)
	}
	// A PDF declared image/png is refused: the bytes say otherwise.
	r = postForm(t, url+"/up", formPart{"avatar", "me.png", "image/png", pdfBytes})
	if r.status != 415 || !strings.Contains(r.body, `"message":"avatar: file declared image/png but its content is application/pdf"`) {
		t.Errorf("a PDF declared image/png: %d %s", r.status, r.body)
	}
	// Also where the handler never reads the body.
	if r := postForm(t, url+"/ignore", formPart{"x", "a.gif", "image/gif", []byte("GIF89a")}); r.status != 415 {
		t.Errorf("a type not allowed, to a handler that ignores the body: %d %s", r.status, r.body)
	}
	if strings.Contains(app.stdout.String(), "handler ran") {
		t.Errorf("the handler ran for a refused file")
	}

	// A form without files is not concerned.
	if r := postForm(t, url+"/form", formPart{field: "a", data: []byte("1")}, formPart{field: "b", data: []byte("two")}); r.status != 200 || r.body != `{"a":"1","b":"two"}` {
		t.Errorf("a form without files: %d %s", r.status, r.body)
	}

	// Sizes: max_size (1 KiB) of the small server, and max_body (5 MiB).
	if r := postForm(t, small+"/up", formPart{"doc", "a.txt", "text/plain", make([]byte, 1024)}); r.status != 200 || r.body != "1024" {
		t.Errorf("a file at max_size: %d %s", r.status, r.body)
	}
	r = postForm(t, small+"/up", formPart{"doc", "a.txt", "text/plain", make([]byte, 1025)})
	if r.status != 413 || !strings.Contains(r.body, `"code":"PAYLOAD_TOO_LARGE"`) || !strings.Contains(r.body, `"message":"doc: file too large (max 1 KiB)"`) {
		t.Errorf("a file over max_size: %d %s", r.status, r.body)
	}
	// (Sent with Expect: 100-continue, as a client that may be refused a
	// large body does: without it, the server's early 413 and close can
	// reach Go's client as a broken pipe while it still writes.)
	big := append(append([]byte{}, pngBytes...), make([]byte, 6<<20)...)
	body, ctype := formBody(t, formPart{"avatar", "big.png", "image/png", big})
	req, err := http.NewRequest("POST", url+"/up", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Expect", "100-continue")
	expecting := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{ExpectContinueTimeout: 5 * time.Second}}
	r = doRequest(t, expecting, req)
	if r.status != 413 || !strings.Contains(r.body, "over this server's limit of 5 MiB") {
		t.Errorf("a file over max_body: %d %s", r.status, r.body)
	}
}

// with upload("field") was a compile error ("a route decorator ... not
// applied yet"): it requires a file in the field.
func TestWithUploadRequiresAFile(t *testing.T) {
	app := startApp(t, `
server {
  route POST "/avatar" with upload("avatar") => fn(req) { req.body.avatar.filename }
  route POST "/any" with upload() => fn(req) { req.body.file.size }
}
server "limited" {
  upload { allowed_types: ["text/plain"] }
  route POST "/doc" with upload("doc") => fn(req) { "ok" }
}
`)
	url := app.urls[""]
	if r := postForm(t, url+"/avatar", formPart{"avatar", "me.png", "image/png", pngBytes}); r.status != 200 || r.body != `"me.png"` {
		t.Errorf("a file in the field: %d %s", r.status, r.body)
	}
	if r := postForm(t, url+"/any", formPart{"file", "x.bin", "", []byte("abc")}); r.status != 200 || r.body != "3" {
		t.Errorf("upload() takes the field file: %d %s", r.status, r.body)
	}
	notFile := `{"error":{"code":"VALIDATION_FAILED","message":"avatar: not a valid file"}`
	for name, r := range map[string]reply{
		"a text field":  postForm(t, url+"/avatar", formPart{field: "avatar", data: []byte("me.png")}),
		"another field": postForm(t, url+"/avatar", formPart{"photo", "me.png", "image/png", pngBytes}),
		"a JSON body":   do(t, "POST", url+"/avatar", `{"avatar":{"filename":"x","content_type":"","size":1,"content":"x"}}`),
		"no body":       do(t, "POST", url+"/avatar", ""),
	} {
		if r.status != 400 || !strings.HasPrefix(r.body, notFile) {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
	}
	if r := postForm(t, app.urls["limited"]+"/doc", formPart{"doc", "a.png", "image/png", pngBytes}); r.status != 415 {
		t.Errorf("the server's block checks the decorated field too: %d %s", r.status, r.body)
	}
}

// An upload block's bad values fail the start, naming the block and
// key.
func TestUploadsStartupErrors(t *testing.T) {
	wantStartErrors(t, "\nserver {\n  route GET \"/\" => fn() 1\n}", map[string]string{
		`uploads { max_size: "10MB" }`:                  `server: app.tova:1:21: uploads.max_size: expected a size such as 5.megabytes, got "10MB"`,
		`uploads { max_size: 0 }`:                       `server: app.tova:1:21: uploads.max_size: a file size limit must be positive, got 0`,
		`upload { max_size: 1.5 }`:                      `server: app.tova:1:20: upload.max_size: expected a size such as 5.megabytes, got 1.5`,
		`uploads { allowed_types: "image/png" }`:        `server: app.tova:1:26: uploads.allowed_types: expected a list of media types`,
		`uploads { allowed_types: [1] }`:                `server: app.tova:1:26: uploads.allowed_types: expected media type Strings such as "image/png", got 1`,
		`uploads { allowed_types: ["png"] }`:            `server: app.tova:1:26: uploads.allowed_types: "png" is not a media type`,
		`uploads { allowed_types: ["image/png; q=1"] }`: `server: app.tova:1:26: uploads.allowed_types: "image/png; q=1" is not a media type`,
		`uploads { }` + "\n" + `upload { }`:             `server: app.tova:2:1: upload: a second upload block (the first at app.tova:1:1)`,
	})
}

// save_file writes a file part of a request's body as it came, bytes
// that are not UTF-8 included.
func TestSaveFileOfAnUpload(t *testing.T) {
	dir := t.TempDir()
	app := startApp(t, `
server {
  route POST "/avatar" with upload("avatar") => fn(req) { save_file(req.body.avatar, "`+dir+`/avatars") }
}
`)
	// (The multipart reader keeps only the last element of a file name.)
	for i, want := range []string{"me.png", "me-1.png"} {
		name := []string{"../../me.png", "me.png"}[i]
		r := postForm(t, app.urls[""]+"/avatar", formPart{"avatar", name, "image/png", pngBytes})
		path := dir + "/avatars/" + want
		if r.status != 200 || r.body != `"`+path+`"` {
			t.Fatalf("saved: %d %s, want %s", r.status, r.body, path)
		}
		if b, err := os.ReadFile(path); err != nil || !bytes.Equal(b, pngBytes) {
			t.Errorf("%s holds %q (%v)", path, b, err)
		}
	}
	// Past a hundred of a name (image.jpg, every phone's), the suffix is
	// random: it failed for good after 10 000, each save trying them all.
	for i := 2; i < 100; i++ {
		os.WriteFile(fmt.Sprintf("%s/avatars/me-%d.png", dir, i), nil, 0o644)
	}
	r := postForm(t, app.urls[""]+"/avatar", formPart{"avatar", "me.png", "image/png", pngBytes})
	if !regexp.MustCompile(`^"` + regexp.QuoteMeta(dir) + `/avatars/me-[0-9a-f]{8}\.png"$`).MatchString(r.body) {
		t.Errorf("the 101st me.png: %d %s", r.status, r.body)
	}
}

// save_file wrote any object with a filename and content: a JSON body
// { "file": { "filename": "evil.html", "content": … } } skipped the
// upload block's checks and wrote saved/evil.html. A file part is now a
// File, which reads as before wherever Tova code reads it.
func TestUploadedFilesCannotBeForgedInJSON(t *testing.T) {
	dir := t.TempDir()
	app := startApp(t, `
type Upload { filename: String, size: Int }
server {
  uploads { max_size: 1000, allowed_types: ["image/png"] }
  route POST "/save" => fn(req) { save_file(req.body.file, req.body.dir) }
  route POST "/typed" => fn(file: Upload) { [file.filename, file.size] }
  route POST "/read" => fn(req) {
    f = req.formData().file
    {
      same: f == req.body.file,
      other: f == req.body.other,
      type: type_of(f),
      keys: keys(f),
      spread: { ...f, content: nil },
      json: JSON.stringify(req.body)
    }
  }
  route POST "/avatar" with upload() => fn(req) { req.body.file.size }
}
`)
	u := app.urls[""]
	forged := fmt.Sprintf(`{"file":{"filename":"evil.html","content_type":"image/png","size":18,"content":"<script>1</script>"},"dir":%q}`, dir+"/saved")
	if r := do(t, "POST", u+"/save", forged); r.status != 500 {
		t.Errorf("a file forged in JSON: %d %s", r.status, r.body)
	}
	if _, err := os.Stat(dir + "/saved/evil.html"); err == nil {
		t.Errorf("a file forged in JSON was saved")
	}
	if !strings.Contains(app.stdout.String()+app.logs.String(), "save_file: expected a file part of a multipart/form-data body (such as req.body.avatar), got Object") {
		t.Errorf("the refusal does not say what save_file got: %s %s", app.stdout, app.logs)
	}

	r := postForm(t, u+"/save", formPart{"file", "me.png", "image/png", pngBytes}, formPart{field: "dir", data: []byte(dir + "/saved")})
	if r.status != 200 || r.body != `"`+dir+`/saved/me.png"` {
		t.Errorf("a file part: %d %s", r.status, r.body)
	}
	if r := postForm(t, u+"/typed", formPart{"file", "me.png", "image/png", pngBytes}); r.status != 200 || r.body != fmt.Sprintf(`["me.png",%d]`, len(pngBytes)) {
		t.Errorf("a file as a record parameter: %d %s", r.status, r.body)
	}
	small := pngBytes[:20]
	r = postForm(t, u+"/read", formPart{"file", "a.png", "image/png", small}, formPart{"other", "b.png", "image/png", pngBytes})
	var got map[string]any
	if r.status != 200 || json.Unmarshal([]byte(r.body), &got) != nil {
		t.Fatalf("reading a file part: %d %s", r.status, r.body)
	}
	if got["same"] != true || got["other"] != false || got["type"] != "File" || fmt.Sprint(got["keys"]) != "[filename content_type size content]" ||
		fmt.Sprint(got["spread"]) != "map[content:<nil> content_type:image/png filename:a.png size:20]" {
		t.Errorf("reading a file part: %s", r.body)
	}
	var body map[string]map[string]any
	if err := json.Unmarshal([]byte(got["json"].(string)), &body); err != nil || body["file"]["filename"] != "a.png" || body["file"]["size"] != 20.0 || body["other"]["size"] != float64(len(pngBytes)) {
		t.Errorf("JSON.stringify(req.body): %v %v", got["json"], err)
	}
	if r := do(t, "POST", u+"/avatar", `{"file":{"filename":"x","content_type":"","size":1,"content":"x"}}`); r.status != 400 || !strings.Contains(r.body, "file: not a valid file") {
		t.Errorf("with upload() and a file forged in JSON: %d %s", r.status, r.body)
	}
}

// Two files in the field of `with upload("avatar")` passed the guard;
// the handler got a list, and save_file's TypeError answered 500.
func TestWithUploadRefusesARepeatedFile(t *testing.T) {
	dir := t.TempDir()
	app := startApp(t, `
server {
  route POST "/avatar" with upload("avatar") => fn(req) { save_file(req.body.avatar, "`+dir+`") }
}
`)
	r := postForm(t, app.urls[""]+"/avatar", formPart{"avatar", "a.png", "image/png", pngBytes}, formPart{"avatar", "b.png", "image/png", pngBytes})
	if r.status != 400 || !strings.HasPrefix(r.body, `{"error":{"code":"VALIDATION_FAILED","message":"avatar: expected one file, got 2"}`) {
		t.Errorf("two files in the field: %d %s", r.status, r.body)
	}
}

// An empty file declared image/png was refused as "its content is
// text/plain" (what no bytes sniff as): it is refused as empty.
func TestUploadsRefuseAnEmptyFileAsEmpty(t *testing.T) {
	app := startApp(t, `
server {
  uploads { allowed_types: ["image/png", "text/csv"] }
  route POST "/up" => fn(req) { req.body.avatar.size }
}
`)
	u := app.urls[""]
	for _, ctype := range []string{"image/png", ""} {
		r := postForm(t, u+"/up", formPart{"avatar", "a.png", ctype, nil})
		if r.status != 400 || !strings.HasPrefix(r.body, `{"error":{"code":"VALIDATION_FAILED","message":"avatar: empty file"}`) {
			t.Errorf("an empty file declared %q: %d %s", ctype, r.status, r.body)
		}
	}
	// A type taken as declared needs no bytes.
	if r := postForm(t, u+"/up", formPart{"avatar", "a.csv", "text/csv", nil}); r.status != 200 || r.body != "0" {
		t.Errorf("an empty text/csv file: %d %s", r.status, r.body)
	}
	if r := postForm(t, u+"/up", formPart{"avatar", "a.gif", "image/gif", nil}); r.status != 415 {
		t.Errorf("an empty file of a type not allowed: %d %s", r.status, r.body)
	}
}

// The check of an upload block parsed the whole body, keeping each
// part's content twice over (a []byte read with io.ReadAll, then a
// String), before the handler ran: a refused 55 MB file, to a route
// that never reads the body, took about 3.5 times its size. The check
// now streams through the parts: what a request allocates with the
// block is what it allocates without one (the front end's reading of
// the body), give or take a little.
func TestUploadsCheckCostsAboutTheBodyAlone(t *testing.T) {
	app := startApp(t, `
server {
  max_body 20.megabytes
  uploads { max_size: 10.megabytes, allowed_types: ["image/png"] }
  route POST "/ignore" => fn() "ran"
}
server "plain" {
  max_body 20.megabytes
  route POST "/ignore" => fn() "ran"
}
`)
	const size = 8 << 20
	content := append(append([]byte{}, pngBytes...), make([]byte, size)...)
	accepted, actype := formBody(t, formPart{"avatar", "big.png", "image/png", content})
	refused, rctype := formBody(t, formPart{"avatar", "big.gif", "image/gif", content})
	allocated := func(server string, body []byte, ctype string, status int) uint64 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		r := postBody(t, app.urls[server]+"/ignore", body, ctype)
		runtime.ReadMemStats(&after)
		if r.status != status {
			t.Fatalf("%s: %d %s", server, r.status, r.body)
		}
		return after.TotalAlloc - before.TotalAlloc
	}
	for _, c := range []struct {
		name, ctype string
		body        []byte
		status      int
	}{{"accepted", actype, accepted, 200}, {"refused", rctype, refused, 415}} {
		allocated("", c.body, c.ctype, c.status) // once, so that both servers' buffers are grown
		allocated("plain", c.body, c.ctype, 200)
		with, without := allocated("", c.body, c.ctype, c.status), allocated("plain", c.body, c.ctype, 200)
		mib := func(n uint64) float64 { return float64(n) / (1 << 20) }
		t.Logf("%s file of %d MiB: %.1f MiB allocated with the upload block, %.1f MiB without", c.name, size>>20, mib(with), mib(without))
		if with > without+size/8 {
			t.Errorf("%s file of %d MiB: %.1f MiB allocated with the upload block, %.1f MiB without", c.name, size>>20, mib(with), mib(without))
		}
	}
}

// Large JSON bodies are decoded in turn, within a memory budget (fifty
// clients sending 4 MiB of [{},{},...] at once took gigabytes): while
// the budget is taken, a large body waits, up to its deadline, and a
// small one is decoded at once.
func TestJSONBodiesDecodedWithinBudget(t *testing.T) {
	saved := bodyBudget
	small := &budget{sem: semaphore.NewWeighted(8 << 20), size: 8 << 20}
	bodyBudget = func() *budget { return small }
	defer func() { bodyBudget = saved }()
	app := startApp(t, `server {
  var hits = 0
  route POST "/all" => fn(xs: [Int]) len(xs)
  route POST "/n" with timeout(300) => fn(xs: [Int]) { hits += 0; len(xs) }
  route POST "/json" with timeout(300) => fn(req) { hits += 0; len(req.json().xs) }
  route POST "/text" with timeout(300) => fn(req) len(req.body)
  route POST "/form" with timeout(300) => fn(req) { hits += 0; len(keys(req.body)) }
  route POST "/form/free" => fn(req) { hits += 0; len(keys(req.body)) }
  route GET "/hits" => fn() { hits += 1; hits }
}`)
	big := "[" + strings.Repeat("1,", 100<<10) + "1]" // 200 KiB: 12.8 MiB reckoned, over the budget: decoded alone
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := do(t, "POST", app.urls[""]+"/all", `{"xs": `+big+`}`, "Content-Type", "application/json"); r.status != 200 || r.body != fmt.Sprint(100<<10+1) {
				t.Errorf("a large body beside others: %d %.80s", r.status, r.body)
			}
		}()
	}
	wg.Wait()
	if err := small.sem.Acquire(context.Background(), small.size); err != nil {
		t.Fatal(err)
	}
	// A large body waits (its request gives way to the others
	// meanwhile), through a parameter, req.json() or req.body of a form,
	// until its deadline.
	form := strings.Repeat("a=&", 100<<10) // (a form decodes to some 40 times its size)
	waited := make(chan reply, 3)
	for _, c := range [][3]string{{"/n", `{"xs": ` + big + `}`, "application/json"}, {"/json", `{"xs": ` + big + `}`, "application/json"}, {"/form", form, "application/x-www-form-urlencoded"}} {
		go func() {
			waited <- do(t, "POST", app.urls[""]+c[0], c[1], "Content-Type", c[2])
		}()
	}
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	if r := do(t, "GET", app.urls[""]+"/hits", ""); r.status != 200 || r.body != "1" {
		t.Errorf("a request beside those waiting: %d %s", r.status, r.body)
	} else if took := time.Since(start); took > 200*time.Millisecond {
		// (they held the server's state while they waited)
		t.Errorf("a request beside those waiting took %v", took)
	}
	for range 3 {
		if r := <-waited; r.status != 504 {
			t.Errorf("a large body while the budget is taken: %d %.120s", r.status, r.body)
		}
	}
	// A large text body is no JSON to decode: it does not wait.
	if r := do(t, "POST", app.urls[""]+"/text", strings.Repeat("x", 100<<10), "Content-Type", ""); r.status != 200 || r.body != fmt.Sprint(100<<10) {
		t.Errorf("a large text body while the budget is taken: %d %.120s", r.status, r.body)
	}
	if r := do(t, "POST", app.urls[""]+"/n", `{"xs": [1, 2]}`, "Content-Type", "application/json"); r.status != 200 || r.body != "2" {
		t.Errorf("a small body while the budget is taken: %d %s", r.status, r.body)
	}
	small.sem.Release(small.size)
	// (without the 300 ms deadline: on a busy machine decoding a large
	// form may take longer, which is not what this asks)
	if r := do(t, "POST", app.urls[""]+"/form/free", form, "Content-Type", "application/x-www-form-urlencoded"); r.status != 200 || r.body != "1" {
		t.Errorf("a large form once the budget is free: %d %.120s", r.status, r.body)
	}
}

// "image/*" takes every image type but SVG, a picture that can carry
// script: listed, it is taken.
func TestUploadsWildcardLeavesOutSVG(t *testing.T) {
	app := startApp(t, `
server {
  uploads { allowed_types: ["image/*"] }
  route POST "/up" with upload("f") => fn(req) req.body.f.filename
}
server "svg" {
  uploads { allowed_types: ["image/*", "image/svg+xml"] }
  route POST "/up" with upload("f") => fn(req) req.body.f.filename
}
`)
	svg := []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`)
	if r := postForm(t, app.urls[""]+"/up", formPart{"f", "x.svg", "image/svg+xml", svg}); r.status != 415 {
		t.Errorf("an SVG under image/*: %d %s", r.status, r.body)
	}
	if r := postForm(t, app.urls[""]+"/up", formPart{"f", "me.png", "image/png", pngBytes}); r.status != 200 {
		t.Errorf("a PNG under image/*: %d %s", r.status, r.body)
	}
	if r := postForm(t, app.urls["svg"]+"/up", formPart{"f", "x.svg", "image/svg+xml", svg}); r.status != 200 {
		t.Errorf("an SVG listed: %d %s", r.status, r.body)
	}
}

// An extension the system's types make XML (.atom, .rss), HTML or
// JavaScript is refused as the table's are: static serves it so.
func TestUploadsActiveTypesFromTheSystem(t *testing.T) {
	for _, ext := range []string{".atom", ".rss", ".xml", ".html", ".mjs"} {
		sys, _, _ := mime.ParseMediaType(mime.TypeByExtension(ext))
		if sys == "" && activeTypes[ext] == "" {
			continue // (not known here)
		}
		if activeType(ext) == "" {
			t.Errorf("%s (%s) is not refused", ext, sys)
		}
	}
	for _, ext := range []string{".png", ".heic", ".md", ".pdf", ".csv"} {
		if at := activeType(ext); at != "" {
			t.Errorf("%s is refused as %s", ext, at)
		}
	}
	// Every extension static serves as a type browsers run scripts in is
	// refused (.cjs, static's JavaScript, was let through).
	for ext, ct := range webTypes {
		mt, _, _ := mime.ParseMediaType(ct)
		active := mt == "text/html" || strings.HasSuffix(mt, "/xml") || strings.HasSuffix(mt, "+xml") || strings.Contains(mt, "javascript")
		if active && activeType(ext) == "" {
			t.Errorf("%s, served as %s, is not refused", ext, ct)
		}
	}
}

// A parameter annotated File, the runtime's name for an uploaded file,
// was an unknown type, neither checked nor converted: a JSON object
// spelling a file's fields, or a form's text field, reached the
// handler. It takes one file part of a multipart body, checked as
// upload() checks its file; anything else is a 400 naming it.
func TestFileParameterTakesAnUpload(t *testing.T) {
	app := startApp(t, `
server {
  max_body 12.megabytes
  route POST "/up/:id" => fn(id: Int, image: File, note: String = "") { { id, t: type_of(image), name: image.filename, note } }
  route POST "/maybe" => fn(image: File?) { match image { Some(f) => f.filename, None => "none" } }
  route POST "/many" => fn(images: [File]) { images.map(fn(f) f.filename) }
}
server "limited" {
  uploads { allowed_types: ["image/png"] }
  route POST "/up" => fn(image: File) image.size
}
`)
	url := app.urls[""]
	if r := postForm(t, url+"/up/7", formPart{"image", "me.png", "image/png", pngBytes}, formPart{field: "note", data: []byte("hi")}); r.status != 200 || r.body != `{"id":7,"t":"File","name":"me.png","note":"hi"}` {
		t.Errorf("a file: %d %s", r.status, r.body)
	}
	refused := func(name string, r reply, detail string) {
		t.Helper()
		want := `{"error":{"code":"VALIDATION_FAILED","message":"Validation failed","details":["` + detail + `"]}`
		if r.status != 400 || !strings.HasPrefix(r.body, want) {
			t.Errorf("%s: %d %s, want 400 %s", name, r.status, r.body, want)
		}
	}
	notFile := "image must be a file (a file part of a multipart/form-data body)"
	refused("a JSON object", do(t, "POST", url+"/up/7", `{"image":{"filename":"a.png","content_type":"image/png","size":1,"content":"x"}}`, "Content-Type", "application/json"), notFile)
	refused("a text field", postForm(t, url+"/up/7", formPart{field: "image", data: []byte("hello")}), notFile)
	refused("a query value", postForm(t, url+"/up/7?image=x", formPart{"other", "me.png", "image/png", pngBytes}), notFile)
	refused("no file", postForm(t, url+"/up/7", formPart{"other", "me.png", "image/png", pngBytes}), "image is required")
	refused("two files", postForm(t, url+"/up/7", formPart{"image", "a.png", "image/png", pngBytes}, formPart{"image", "b.png", "image/png", pngBytes}), "image must be one file, got 2")

	if r := postForm(t, url+"/maybe", formPart{field: "x", data: []byte("1")}); r.status != 200 || r.body != `"none"` {
		t.Errorf("File? without a file: %d %s", r.status, r.body)
	}
	if r := postForm(t, url+"/maybe", formPart{"image", "me.png", "image/png", pngBytes}); r.status != 200 || r.body != `"me.png"` {
		t.Errorf("File? with a file: %d %s", r.status, r.body)
	}
	refused("File? with two files", postForm(t, url+"/maybe", formPart{"image", "a.png", "image/png", pngBytes}, formPart{"image", "b.png", "image/png", pngBytes}), "image must be one file, got 2")
	if r := postForm(t, url+"/many", formPart{"images", "a.png", "image/png", pngBytes}); r.status != 200 || r.body != `["a.png"]` {
		t.Errorf("[File] with one file: %d %s", r.status, r.body)
	}
	if r := postForm(t, url+"/many", formPart{"images", "a.png", "image/png", pngBytes}, formPart{"images", "b.png", "image/png", pngBytes}); r.status != 200 || r.body != `["a.png","b.png"]` {
		t.Errorf("[File] with two files: %d %s", r.status, r.body)
	}
	refused("[File] with a text field", postForm(t, url+"/many", formPart{field: "images", data: []byte("x")}), "images[0] must be a file (a file part of a multipart/form-data body)")

	// Without an upload block, the default max_size (10 MiB) applies, as
	// to upload()'s file; with one, the block's checks.
	big := append(append([]byte{}, pngBytes...), make([]byte, 10<<20)...)
	if r := postForm(t, url+"/up/7", formPart{"image", "big.png", "image/png", big}); r.status != 413 || !strings.Contains(r.body, `"image: file too large (max 10 MiB)"`) {
		t.Errorf("a file over the default max_size: %d %.200s", r.status, r.body)
	}
	if r := postForm(t, app.urls["limited"]+"/up", formPart{"image", "a.pdf", "application/pdf", pdfBytes}); r.status != 415 {
		t.Errorf("the server's block checks a File parameter's file: %d %s", r.status, r.body)
	}
}

// A browser form whose file input was left empty sends a part with
// filename="" and no content; File? answered 400 to it. It is no file:
// None for File?, nothing for a list, required for File, and no file
// for upload("avatar").
func TestEmptyFileInputIsNoFile(t *testing.T) {
	app := startApp(t, `
server {
  route POST "/profile" => fn(name: String, avatar: File?) {
    match avatar { Some(f) => "{name} with {f.filename}", None => "{name} without avatar" }
  }
  route POST "/gallery" => fn(photos: [File] = []) { len(photos) }
  route POST "/need" => fn(avatar: File) { avatar.filename }
  route POST "/guarded" with upload("avatar") => fn() { "ok" }
  route POST "/body" => fn(req) { keys(req.body) }
}
`)
	u := app.urls[""]
	empty := func(field string) string {
		return "--XyZbound\r\nContent-Disposition: form-data; name=\"" + field + "\"; filename=\"\"\r\nContent-Type: application/octet-stream\r\n\r\n\r\n"
	}
	name := "--XyZbound\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nann\r\n"
	end := "--XyZbound--\r\n"
	for _, c := range []struct{ path, body, want string }{
		{"/profile", name + empty("avatar") + end, `200 "ann without avatar"`},
		{"/gallery", empty("photos") + end, `200 0`},
		{"/need", empty("avatar") + end, `400 avatar is required`},
		{"/guarded", empty("avatar") + end, `400 {"error":{"code":"VALIDATION_FAILED","message":"avatar: not a valid file"}`},
		{"/body", name + empty("avatar") + end, `200 ["name"]`},
	} {
		r := do(t, "POST", u+c.path, c.body, "Content-Type", "multipart/form-data; boundary=XyZbound")
		if got := outcome(t, r); !strings.HasPrefix(got, c.want) {
			t.Errorf("POST %s: %s, want %s", c.path, got, c.want)
		}
	}
}

// A handler that reads an uploaded file holds it about once beyond the
// body: its part was read with io.ReadAll, whose doublings allocated
// about twice the file, and then copied into the File's String (a 213
// MB upload peaked at 1.2 GB of memory).
func TestUploadReadCostsTheFileOnce(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's runs allocate at random beside the request")
	}
	app := startApp(t, `
server {
  max_body 20.megabytes
  uploads { max_size: 10.megabytes, allowed_types: ["text/csv"] }
  route POST "/ignore" => fn() "ran"
  route POST "/size" => fn(file: File) file.size
}
`)
	const size = 8 << 20
	body, ctype := formBody(t, formPart{"file", "big.csv", "text/csv", bytes.Repeat([]byte("a,b\n"), size/4)})
	allocated := func(path string) uint64 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		r := postBody(t, app.urls[""]+path, body, ctype)
		runtime.ReadMemStats(&after)
		if r.status != 200 {
			t.Fatalf("%s: %d %s", path, r.status, r.body)
		}
		return after.TotalAlloc - before.TotalAlloc
	}
	// (the least of three: TotalAlloc counts what tests running beside
	// this one allocate too)
	least := func(path string) uint64 {
		n := allocated(path)
		for range 2 {
			n = min(n, allocated(path))
		}
		return n
	}
	read, ignored := least("/size"), least("/ignore")
	t.Logf("reading a %d MiB file: %.1f MiB allocated, %.1f MiB not reading it", size>>20, float64(read)/(1<<20), float64(ignored)/(1<<20))
	if read > ignored+size+size/4 {
		t.Errorf("reading a %d MiB file: %.1f MiB allocated, %.1f MiB not reading it", size>>20, float64(read)/(1<<20), float64(ignored)/(1<<20))
	}
}

// bareThread is a thread of a program of no code, for what a request's
// thread takes part in.
func bareThread(t *testing.T, ctx context.Context) *vm.Thread {
	t.Helper()
	p, err := driver.CompileFile("a.tova", []byte("x = 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	prog, err := vm.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	return prog.NewInstance(vm.Config{}).NewThread(ctx)
}

// A request stopped while its body was decoded (the memory guard, its
// deadline) goes no further: the decoded body is dropped and the read
// raises the cancellation, where the next statement ran after its 503
// had gone out.
func TestBodyDecodeStoppedGoesNoFurther(t *testing.T) {
	ctx, stop := context.WithCancel(context.Background())
	th := bareThread(t, ctx)
	v, err := decodeBody(th, freeBodyBytes, func() (vm.Value, error) {
		stop() // (stopped while it decoded)
		return vm.Str("decoded"), nil
	})
	if !vm.IsCancelled(err) || !v.IsNil() {
		t.Errorf("decoded while stopped: %v, %v", vm.Repr(v), err)
	}
	// A small body, and one read after the request (no thread), are
	// decoded as they are.
	if v, err := decodeBody(th, 10, func() (vm.Value, error) { return vm.Str("small"), nil }); err != nil || v.AsString() != "small" {
		t.Errorf("a small body: %v, %v", vm.Repr(v), err)
	}
	if v, err := decodeBody(nil, freeBodyBytes, func() (vm.Value, error) { return vm.Str("after"), nil }); err != nil || v.AsString() != "after" {
		t.Errorf("after the request: %v, %v", vm.Repr(v), err)
	}
}

// Once no large body has been decoded for a while, the garbage of the
// burst is collected and given back to the system (a forced collection),
// where the heap stayed at its peak until the runtime's own, minutes
// later; small bodies arm nothing.
func TestLargeBodiesReleasedAfterABurst(t *testing.T) {
	th := bareThread(t, context.Background())
	saved := releaseAfter
	releaseAfter = 50 * time.Millisecond
	defer func() { releaseAfter = saved }()
	forced := func() uint64 {
		s := []metrics.Sample{{Name: "/gc/cycles/forced:gc-cycles"}}
		metrics.Read(s)
		return s[0].Value.Uint64()
	}
	release.Lock()
	release.timer = nil // (a timer of another test's, with its delay)
	release.Unlock()
	before := forced()
	decodeBody(th, 10, func() (vm.Value, error) { return vm.Nil, nil })
	time.Sleep(200 * time.Millisecond)
	if n := forced(); n != before {
		t.Errorf("a small body forced %d collections", n-before)
	}
	for range 3 {
		decodeBody(th, freeBodyBytes, func() (vm.Value, error) { return vm.Nil, nil })
	}
	waitFor(t, func() bool { return forced() > before })
}

// A declared type that is no media type ("image/png, text/html", which
// a browser reads as its last type) is refused, where the prefix image/
// let it through with no look at its bytes; and a name of a type
// browsers run scripts in is refused with no allowed_types, or no
// uploads block at all, as with a list that does not name it: static
// serves the saved file as its extension says.
func TestUploadsRefuseScriptsWithoutAList(t *testing.T) {
	app := startApp(t, `
server "listed" {
  uploads { allowed_types: ["image/*"] }
  route POST "/up" => fn(f: File) f.content_type
}
server "open" {
  uploads { max_size: 1.megabyte }
  route POST "/up" => fn(f: File) f.name
}
server "bare" {
  route POST "/up" => fn(f: File) f.name
  route POST "/html" => fn(f: File) f.name
}
server "html" {
  uploads { allowed_types: ["text/html"] }
  route POST "/up" => fn(f: File) f.name
}
`)
	page := []byte("<html><script>alert(document.domain)</script></html>")
	for _, ct := range []string{"image/png, text/html", "image/;text/html"} {
		if r := postForm(t, app.urls["listed"]+"/up", formPart{"f", "me.png", ct, page}); r.status != 415 || !strings.Contains(r.body, "is no media type") {
			t.Errorf("declared %q: %d %s", ct, r.status, r.body)
		}
	}
	for _, server := range []string{"open", "bare"} {
		r := postForm(t, app.urls[server]+"/up", formPart{"f", "evil.html", "image/png", page})
		if r.status != 415 || !strings.Contains(r.body, "extension .html is of type text/html, not allowed (allowed: none listed") {
			t.Errorf("%s: evil.html: %d %s", server, r.status, r.body)
		}
		if r := postForm(t, app.urls[server]+"/up", formPart{"f", "me.png", "image/png", []byte("\x89PNG\r\n\x1a\n")}); r.status != 200 {
			t.Errorf("%s: a PNG: %d %s", server, r.status, r.body)
		}
	}
	if r := postForm(t, app.urls["html"]+"/up", formPart{"f", "page.html", "text/html", page}); r.status != 200 {
		t.Errorf("text/html listed: %d %s", r.status, r.body)
	}
}

// A name the handler gives an upload (f.filename = name) is checked as
// the client's is: evil.html, of a PNG sent as x.png, was saved and
// served as HTML by a static block. A harmless new name, and a listed
// type's, are saved.
func TestSaveFileChecksANameTheProgramSet(t *testing.T) {
	dir := t.TempDir()
	app := startApp(t, `
server {
  uploads { max_size: 1.megabytes, allowed_types: ["image/png", "text/html"] }
  route POST "/up" => fn(req, f: File, name: String) { f.filename = name; save_file(f, "`+dir+`") }
}
server "strict" {
  route POST "/up" => fn(req, f: File, name: String) { f.filename = name; save_file(f, "`+dir+`") }
}
`)
	post := func(url, name string) reply {
		return postForm(t, url+"/up", formPart{"f", "x.png", "image/png", pngBytes}, formPart{"name", "", "", []byte(name)})
	}
	exists := func(name string) bool { _, err := os.Stat(dir + "/" + name); return err == nil }
	if r := post(app.urls["strict"], "evil.html"); r.status != 500 || exists("evil.html") {
		t.Errorf("evil.html saved by a server that allows no HTML: %d %s", r.status, r.body)
	}
	if !strings.Contains(app.logs.String(), "save_file: the file name's extension .html is of type text/html, not allowed") {
		t.Errorf("the refusal is not logged:\n%s", app.logs)
	}
	for url, name := range map[string]string{app.urls["strict"]: "renamed.png", app.urls[""]: "page.html"} {
		if r := post(url, name); r.status != 200 || !exists(name) {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
	}
}
