package stdlib

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tova/vm"
)

// save_file did not exist: an uploaded file could not be written as its
// bytes (write(v, path) writes JSON or CSV).
func TestSaveFileWritesUnderASafeNewName(t *testing.T) {
	e := newEnv(t)
	dir := filepath.Join(t.TempDir(), "uploads")
	upload := func(name, content string) string {
		return e.call(t, "save_file", NewFile(name, "image/png", content), S(dir)).AsString()
	}
	bin := "\x89PNG\r\n\x1a\n\x00\xff"
	for _, c := range []struct{ name, want string }{
		{"a.png", "a.png"}, // dir created
		{"a.png", "a-1.png"},
		{"a.png", "a-2.png"},
		{`C:\fakepath\b c.png`, "b c.png"},
		{"/etc/passwd", "passwd"},
		{".htaccess", "htaccess"},
		{"...", "upload"},
		{"x;rm -rf$(y).sh", "x_rm -rf__y_.sh"},
		{"", "upload-1"},
		// Only the last element is kept, whatever climbs before it: a
		// Windows path's backslashes were refused (a 500 any client
		// could cause), while the reader kept x.png of ../x.png.
		{"../x.png", "x.png"},
		{`..\..\x.png`, "x-1.png"},
		{"a/../../y", "y"},
	} {
		got := upload(c.name, bin)
		if got != filepath.Join(dir, c.want) {
			t.Errorf("save_file(%q) wrote %s, want %s", c.name, got, filepath.Join(dir, c.want))
			continue
		}
		if b, err := os.ReadFile(got); err != nil || string(b) != bin {
			t.Errorf("%s holds %q (%v)", got, b, err)
		}
	}
	for _, name := range []string{"..", `a\..`, "a/b/.."} {
		if err := e.err(t, "save_file", NewFile(name, "", "x"), S(dir)); err.Kind != "ValueError" || !strings.Contains(err.Msg, "climbs out of its directory") {
			t.Errorf("save_file(%q): %v", name, err)
		}
	}
	if err := e.err(t, "save_file", S("a.png"), S(dir)); err.Kind != "TypeError" {
		t.Errorf("save_file of a String: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Dir(dir))
	if len(entries) != 1 {
		t.Errorf("files written outside dir: %v", entries)
	}
	// The file appears whole, from a temporary file linked to its name
	// (a kill while writing left a cut file under it): none is left, and
	// the file has a new file's mode.
	saved, _ := os.ReadDir(dir)
	for _, f := range saved {
		if strings.HasSuffix(f.Name(), ".tmp") {
			t.Errorf("a temporary file is left: %s", f.Name())
		}
	}
	if st, err := os.Stat(filepath.Join(dir, "a.png")); err != nil || st.Mode().Perm() != 0o644&^processUmask {
		t.Errorf("a.png: %v %v", st.Mode(), err)
	}
	// One a killed process left, an hour old, goes at the next save
	// into its directory; a fresh one (being written) stays.
	other := filepath.Join(t.TempDir(), "other")
	os.MkdirAll(other, 0o755)
	stale, fresh := filepath.Join(other, ".save_file-1.tmp"), filepath.Join(other, ".save_file-2.tmp")
	os.WriteFile(stale, []byte("cut"), 0o600)
	os.WriteFile(fresh, []byte("writing"), 0o600)
	old := time.Now().Add(-2 * time.Hour)
	os.Chtimes(stale, old, old)
	e.call(t, "save_file", NewFile("b.png", "image/png", bin), S(other))
	if _, err := os.Stat(stale); err == nil {
		t.Errorf("the stale temporary file is left")
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("the fresh temporary file was removed: %v", err)
	}
}

// save_file wrote any object with a filename and content, so a JSON body
// spelling { filename, content } skipped the upload checks and wrote
// what it liked (saved/evil.html).
func TestSaveFileRefusesAnObjectThatLooksLikeAFile(t *testing.T) {
	e := newEnv(t)
	dir := filepath.Join(t.TempDir(), "saved")
	forged := O("filename", S("evil.html"), "content_type", S("image/png"), "size", I(18), "content", S("<script>1</script>"))
	err := e.err(t, "save_file", forged, S(dir))
	if err.Kind != "TypeError" || err.Msg != "save_file: expected a file part of a multipart/form-data body (such as req.body.avatar), got Object" {
		t.Errorf("save_file of an object: %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("save_file of an object wrote %s (%v)", dir, err)
	}
}

// A long file name was cut to 200 bytes from its end, losing its
// extension: a.png with a 3000-character stem was saved as aaa…a.
func TestSaveFileShortensALongNameKeepingItsExtension(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	for _, c := range []struct{ name, want string }{
		{strings.Repeat("a", 3000) + ".png", strings.Repeat("a", 196) + ".png"},
		{strings.Repeat("é", 1500) + ".tar.gz", strings.Repeat("é", 98) + ".gz"},
		// A "extension" too long to be one is cut as the rest.
		{"a." + strings.Repeat("b", 300), "a." + strings.Repeat("b", 198)},
	} {
		got := e.call(t, "save_file", NewFile(c.name, "", "x"), S(dir)).AsString()
		if got != filepath.Join(dir, c.want) {
			t.Errorf("save_file(%.20q…) wrote %s, want %s", c.name, filepath.Base(got), c.want)
		}
	}
}

// An uploaded file reads as the object it was before it became a File:
// fields, keys, loops, spreading, ==, printing and JSON.
func TestFileReadsAsItsObject(t *testing.T) {
	e := newEnv(t)
	f, g := NewFile("a.png", "image/png", "xy"), NewFile("a.png", "image/png", "xy")
	want := `{"filename":"a.png","content_type":"image/png","size":2,"content":"xy"}`
	if got := stringify(t, e, f); got != want {
		t.Errorf("JSON.stringify: %s, want %s", got, want)
	}
	if got := vm.ToString(f); got != `{ filename: "a.png", content_type: "image/png", size: 2, content: "xy" }` {
		t.Errorf("printed: %s", got)
	}
	if !vm.Equal(f, g) || vm.Equal(f, NewFile("a.png", "image/png", "xz")) {
		t.Errorf("== compares files by their fields")
	}
	if got := vm.Repr(e.call(t, "keys", f)); got != `["filename", "content_type", "size", "content"]` {
		t.Errorf("keys: %s", got)
	}
	if got := vm.Repr(e.call(t, "omit", f, S("content"))); got != `{ filename: "a.png", content_type: "image/png", size: 2 }` {
		t.Errorf("omit: %s", got)
	}
	if got := e.call(t, "has_key", f, S("size")); !got.Truthy() {
		t.Errorf("has_key(file, \"size\"): %s", vm.Repr(got))
	}
}
