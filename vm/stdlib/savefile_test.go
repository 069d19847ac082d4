package stdlib

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// save_file did not exist: an uploaded file could not be written as its
// bytes (write(v, path) writes JSON or CSV).
func TestSaveFileWritesUnderASafeNewName(t *testing.T) {
	e := newEnv(t)
	dir := filepath.Join(t.TempDir(), "uploads")
	upload := func(name, content string) string {
		return e.call(t, "save_file", O("filename", S(name), "content_type", S("image/png"), "size", I(int64(len(content))), "content", S(content)), S(dir)).AsString()
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
	for _, name := range []string{"../x.png", `..\..\x.png`, "a/../../x"} {
		if err := e.err(t, "save_file", O("filename", S(name), "content", S("x")), S(dir)); err.Kind != "ValueError" || !strings.Contains(err.Msg, "climbs out of its directory") {
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
}
