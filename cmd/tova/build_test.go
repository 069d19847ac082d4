package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"tova/internal/testutil"
)

// tova build copies the static directories the program serves into the
// output directory, beside the artifact (the guide's dist/client/): a
// server started from there serves them. Before, dist/ held the artifact
// alone, and served from there it answered 404 for every file.
func TestBuildCopiesStaticDirectories(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755)
		os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644)
	}
	write("app.tova", `server {
  static "/" => "public"
  static { dir: "assets", prefix: "/a" }
  static "/gone" => "missing"
  route GET "/api" => fn() "api"
}
`)
	write("public/index.html", "<h1>home</h1>")
	write("public/css/site.css", "body{}")
	write("assets/logo.txt", "logo")
	out := filepath.Join(dir, "dist")
	for round := range 2 { // a second build replaces the copies
		var o, errb testutil.Buffer
		if c := run([]string{"build", filepath.Join(dir, "app.tova"), "-o", out}, &o, &errb); c != 0 {
			t.Fatalf("build: exit %d: %s", c, errb.String())
		}
		if round == 0 && (!strings.Contains(errb.String(), "copied the static directory public into "+filepath.Join(out, "public")) ||
			!strings.Contains(errb.String(), "the static directory "+filepath.Join(dir, "missing")+" does not exist: not copied")) {
			t.Errorf("build said: %s", errb.String())
		}
	}
	for name, want := range map[string]string{"public/index.html": "<h1>home</h1>", "public/css/site.css": "body{}", "assets/logo.txt": "logo"} {
		if b, err := os.ReadFile(filepath.Join(out, name)); err != nil || string(b) != want {
			t.Errorf("dist/%s: %q %v", name, b, err)
		}
	}
	// Served from dist/ alone, as deployed (a static directory is the
	// working directory's).
	os.RemoveAll(filepath.Join(dir, "public"))
	t.Chdir(out)
	port := setFreePort(t)
	code := make(chan int, 1)
	var o, errb testutil.Buffer
	go func() { code <- run([]string{"serve", "--host", "127.0.0.1", "server.tbc"}, &o, &errb) }()
	var body string
	for i := 0; i < 100; i++ {
		if resp, err := http.Get("http://127.0.0.1:" + port + "/css/site.css"); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	syscall.Kill(os.Getpid(), syscall.SIGTERM)
	<-code
	if body != "body{}" {
		t.Errorf("GET /css/site.css from dist/: %q; %s", body, errb.String())
	}
}

// The command build suggests can be pasted into a shell: a path with a
// space or a quote is quoted.
func TestShellWord(t *testing.T) {
	for in, want := range map[string]string{"dist/server.tbc": "dist/server.tbc", "my dist/a.tbc": "'my dist/a.tbc'", "it's/a.tbc": `'it'\''s/a.tbc'`} {
		if got := shellWord(in); got != want {
			t.Errorf("shellWord(%q) = %s, want %s", in, got, want)
		}
	}
}

// A static directory that is a link is copied (the files it links to);
// an output directory inside the static directory is refused with a
// warning (the copy copied itself, nesting until paths got too long).
func TestBuildStaticLinkAndNesting(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "assets"), 0o755)
	os.WriteFile(filepath.Join(dir, "assets", "a.txt"), []byte("a"), 0o644)
	os.Symlink("assets", filepath.Join(dir, "public"))
	os.WriteFile(filepath.Join(dir, "app.tova"), []byte("server {\n  static \"/\" => \"public\"\n}\n"), 0o644)
	var o, errb testutil.Buffer
	if c := run([]string{"build", filepath.Join(dir, "app.tova"), "-o", filepath.Join(dir, "dist")}, &o, &errb); c != 0 {
		t.Fatalf("exit %d: %s", c, errb.String())
	}
	if b, err := os.ReadFile(filepath.Join(dir, "dist", "public", "a.txt")); err != nil || string(b) != "a" {
		t.Errorf("dist/public/a.txt: %q %v", b, err)
	}
	errb.Reset()
	if c := run([]string{"build", filepath.Join(dir, "app.tova"), "-o", filepath.Join(dir, "public", "dist")}, &o, &errb); c != 0 {
		t.Fatalf("exit %d: %s", c, errb.String())
	}
	if !strings.Contains(errb.String(), "is inside the static directory") {
		t.Errorf("no warning: %s", errb.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "assets", "dist", "public")); err == nil {
		t.Error("the static directory was copied into itself")
	}
}
