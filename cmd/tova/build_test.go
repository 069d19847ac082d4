package main

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"tova/bytecode"
	"tova/internal/testutil"
	"tova/jobs"
)

// A program that reads data files by relative paths is warned of
// beside the command that serves it from the output directory, where
// they are not: that command failed to start a program with a data
// block (IOError: no such file: data.csv).
func TestBuildWarnsOfDataFiles(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "public"), 0o755)
	os.WriteFile(filepath.Join(dir, "public", "i.txt"), []byte("i"), 0o644)
	os.WriteFile(filepath.Join(dir, "app.tova"), []byte(`data {
  source rows = read("data.csv")
}
server {
  static "/" => "public"
  route GET "/t" => fn() fs.read_text("notes/x.txt")
  route GET "/again" => fn() read("./data.csv")
  route GET "/h" => fn() read("/etc/hosts")
  route GET "/r" => fn() read("https://example.com/a.csv")
}
`), 0o644)
	out := filepath.Join(dir, "dist")
	// data.csv is beside the program; notes/x.txt is nowhere (the
	// program writes it, say): its warning has no cp, which would fail.
	os.WriteFile(filepath.Join(dir, "data.csv"), []byte("a\n1\n"), 0o644)
	var o, errb testutil.Buffer
	if c := run([]string{"build", filepath.Join(dir, "app.tova"), "-o", out}, &o, &errb); c != 0 {
		t.Fatalf("build: exit %d: %s", c, errb.String())
	}
	app := filepath.Join(dir, "app.tova")
	want := []string{
		"tova build: warning: " + app + ":2:22: read(\"data.csv\") is read from the directory the program runs in, and the build copies no data file: copy it into " + out + " (cp " + filepath.Join(dir, "data.csv") + " " + filepath.Join(out, "data.csv") + ")",
		"tova build: warning: " + app + ":6:39: fs.read_text(\"notes/x.txt\") is read from the directory the program runs in, and the build copies no data file: copy it into " + out + "\n",
	}
	for _, w := range want {
		if !strings.Contains(errb.String(), w) {
			t.Errorf("missing %q in:\n%s", w, errb.String())
		}
	}
	if said := "built " + filepath.Join(out, "server.tbc") + " from " + app + " (one unnamed server)"; !strings.Contains(errb.String(), said) {
		t.Errorf("missing %q in:\n%s", said, errb.String())
	}
	if n := strings.Count(errb.String(), "copies no data file"); n != 2 {
		t.Errorf("%d data files warned of, want 2:\n%s", n, errb.String())
	}
	// Copied there, as the warning says: not warned of again.
	os.WriteFile(filepath.Join(out, "data.csv"), []byte("a\n1\n"), 0o644)
	errb.Reset()
	if c := run([]string{"build", filepath.Join(dir, "app.tova"), "-o", out}, &o, &errb); c != 0 {
		t.Fatalf("build again: exit %d: %s", c, errb.String())
	}
	if n := strings.Count(errb.String(), "copies no data file"); n != 1 || strings.Contains(errb.String(), `read("data.csv")`) {
		t.Errorf("after the cp: %d data files warned of, want 1 (notes/x.txt):\n%s", n, errb.String())
	}
	// In a directory the output lacks, the command makes it.
	os.MkdirAll(filepath.Join(dir, "notes"), 0o755)
	os.WriteFile(filepath.Join(dir, "notes", "x.txt"), []byte("n"), 0o644)
	errb.Reset()
	run([]string{"build", filepath.Join(dir, "app.tova"), "-o", out}, &o, &errb)
	if want := "(mkdir -p " + filepath.Join(out, "notes") + " && cp " + filepath.Join(dir, "notes", "x.txt") + " " + filepath.Join(out, "notes", "x.txt") + ")"; !strings.Contains(errb.String(), want) {
		t.Errorf("missing %q in:\n%s", want, errb.String())
	}
}

// buildWarnings builds app into out, and returns what it said.
func buildWarnings(t *testing.T, app, out string) string {
	t.Helper()
	var o, errb testutil.Buffer
	if c := run([]string{"build", app, "-o", out}, &o, &errb); c != 0 {
		t.Fatalf("build: exit %d: %s", c, errb.String())
	}
	return errb.String()
}

// A SQLite database a db block names by a relative path, there beside
// the program, is warned of: the artifact opens it beside itself, and
// served from dist/ it started on a new, empty database without a word.
// Copied there, or absent, it is not.
func TestBuildWarnsOfTheDatabase(t *testing.T) {
	dir := t.TempDir()
	app := filepath.Join(dir, "app.tova")
	os.WriteFile(app, []byte("db { adapter: \"sqlite\", database: \"short.db\" }\nserver {\n  route GET \"/\" => fn() 1\n}\n"), 0o644)
	out := filepath.Join(dir, "dist")
	build := func() string { return buildWarnings(t, app, out) }
	if got := build(); strings.Contains(got, "short.db") {
		t.Errorf("no database yet, warned:\n%s", got)
	}
	os.WriteFile(filepath.Join(dir, "short.db"), []byte("rows"), 0o644)
	want := "tova build: warning: " + app + `:1:35: db.database "short.db" is opened beside the program, where it is, with the rows written so far; the artifact opens it beside itself, in ` + out + " where it is not"
	want = strings.Replace(want, out+" where", out+", where", 1)
	if got := build(); !strings.Contains(got, want) || !strings.Contains(got, "(cp "+filepath.Join(dir, "short.db")+" "+filepath.Join(out, "short.db")+")") {
		t.Errorf("missing %q in:\n%s", want, got)
	}
	// Left by a program that did not stop cleanly, its write-ahead log
	// holds rows the file does not yet: the command copies it too.
	os.WriteFile(filepath.Join(dir, "short.db-wal"), []byte("more rows"), 0o644)
	if got := build(); !strings.Contains(got, "with the program stopped, copy it there (cp "+filepath.Join(dir, "short.db")+" "+filepath.Join(out, "short.db")+" && cp "+filepath.Join(dir, "short.db-wal")+" "+filepath.Join(out, "short.db-wal")+")") {
		t.Errorf("the log not copied:\n%s", got)
	}
	os.Remove(filepath.Join(dir, "short.db-wal"))
	os.WriteFile(filepath.Join(out, "short.db"), []byte("rows"), 0o644)
	if got := build(); strings.Contains(got, "short.db") {
		t.Errorf("copied, still warned:\n%s", got)
	}
	// The default database of a program with models and no db block.
	os.WriteFile(app, []byte("model Note { body: String }\nserver {\n  route GET \"/\" => fn() Note.all()\n}\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "app.db"), []byte("rows"), 0o644)
	if got := build(); !strings.Contains(got, "tova build: warning: "+app+":1:1: the default SQLite database app.db (no db block) is opened beside the program") {
		t.Errorf("the default database not warned of:\n%s", got)
	}
	// Nor one of a db block that names no file: it opens app.db too.
	os.WriteFile(app, []byte("model Note { body: String }\ndb { pool: 2 }\nserver {\n  route GET \"/\" => fn() Note.all()\n}\n"), 0o644)
	if got := build(); !strings.Contains(got, "tova build: warning: "+app+":2:1: the default SQLite database app.db (the db block names no file) is opened beside the program") {
		t.Errorf("the default database of a db block not warned of:\n%s", got)
	}
	// A program without models (its code uses db directly): the block
	// names no file, app.db is opened all the same (the build failed
	// on a Go nil pointer).
	os.WriteFile(app, []byte("db { pool: 2 }\nserver {\n  route GET \"/\" => fn() 1\n}\n"), 0o644)
	if got := build(); !strings.Contains(got, "tova build: warning: "+app+":1:1: the default SQLite database app.db (the db block names no file) is opened beside the program") {
		t.Errorf("the default database of a db block, no model, not warned of:\n%s", got)
	}
	// The reference's driver: "postgres" names no file and opens none.
	os.WriteFile(app, []byte("db { driver: \"postgres\" }\nmodel Note { body: String }\nserver {\n  route GET \"/\" => fn() Note.all()\n}\n"), 0o644)
	if got := build(); strings.Contains(got, "app.db") {
		t.Errorf("driver postgres, warned of app.db:\n%s", got)
	}
	// A file in a directory of its own: the copy makes the directory.
	os.MkdirAll(filepath.Join(dir, "data"), 0o755)
	os.WriteFile(filepath.Join(dir, "data", "store.db"), []byte("rows"), 0o644)
	os.WriteFile(app, []byte("db { path: \"data/store.db\" }\nserver {\n  route GET \"/\" => fn() 1\n}\n"), 0o644)
	if got := build(); !strings.Contains(got, "(mkdir -p "+filepath.Join(out, "data")+" && cp "+filepath.Join(dir, "data", "store.db")+" "+filepath.Join(out, "data", "store.db")+")") {
		t.Errorf("the copy of data/store.db:\n%s", got)
	}
	// A relative path out of the program's directory names another
	// file beside the artifact.
	os.WriteFile(filepath.Join(filepath.Dir(dir), "shared-"+filepath.Base(dir)+".db"), []byte("rows"), 0o644)
	os.WriteFile(app, []byte("db { path: \"../shared-"+filepath.Base(dir)+".db\" }\nserver {\n  route GET \"/\" => fn() 1\n}\n"), 0o644)
	if got := build(); !strings.Contains(got, "is relative to the program's directory, and leaves it: the artifact, in "+out+", opens "+out+"/../shared-") {
		t.Errorf("a path out of the program's directory:\n%s", got)
	}
	// Built into a directory beside the program's, the path names the
	// same file from both: no warning.
	if got := buildWarnings(t, app, filepath.Join(dir, "..", filepath.Base(dir)+"-out")); strings.Contains(got, "leaves it") {
		t.Errorf("the same file warned of:\n%s", got)
	}
	os.RemoveAll(filepath.Join(filepath.Dir(dir), filepath.Base(dir)+"-out"))
	os.Remove(filepath.Join(filepath.Dir(dir), "shared-"+filepath.Base(dir)+".db"))
}

// The job queue beside the program (.tova/app.jobs.db) is warned of as
// its database is: the artifact keeps its own beside itself, and served
// from dist/ it started an empty queue, the queued jobs left behind.
func TestBuildWarnsOfTheJobQueue(t *testing.T) {
	dir := t.TempDir()
	app := filepath.Join(dir, "app.tova")
	os.WriteFile(app, []byte("server {\n  background fn j() { 1 }\n  route GET \"/\" => fn() 1\n}\n"), 0o644)
	out := filepath.Join(dir, "dist")
	build := func() string { return buildWarnings(t, app, out) }
	if got := build(); strings.Contains(got, "job queue") {
		t.Errorf("no queue yet, warned:\n%s", got)
	}
	os.MkdirAll(filepath.Join(dir, ".tova"), 0o755)
	os.WriteFile(filepath.Join(dir, ".tova", "app.jobs.db"), []byte("jobs"), 0o644)
	want := "tova build: warning: the job queue " + filepath.Join(dir, ".tova", "app.jobs.db") + " is beside the program"
	copyCmd := "(mkdir -p " + filepath.Join(out, ".tova") + " && cp " + filepath.Join(dir, ".tova", "app.jobs.db") + " " + filepath.Join(out, ".tova", "app.jobs.db") + ")"
	if got := build(); !strings.Contains(got, want) || !strings.Contains(got, copyCmd) {
		t.Errorf("missing %q and %q in:\n%s", want, copyCmd, got)
	}
	os.MkdirAll(filepath.Join(out, ".tova"), 0o755)
	os.WriteFile(filepath.Join(out, ".tova", "app.jobs.db"), []byte("jobs"), 0o644)
	if got := build(); strings.Contains(got, "job queue") {
		t.Errorf("copied, still warned:\n%s", got)
	}
	// A queue a jobs block names by a relative path is the artifact's
	// beside it too (its jobs stayed behind without a word).
	os.WriteFile(app, []byte("server {\n  jobs { database: \"queue.db\" }\n  background fn j() { 1 }\n  route GET \"/\" => fn() 1\n}\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "queue.db"), []byte("jobs"), 0o644)
	if got, want := build(), "the job queue "+filepath.Join(dir, "queue.db")+" is beside the program"; !strings.Contains(got, want) || !strings.Contains(got, "(cp "+filepath.Join(dir, "queue.db")+" "+filepath.Join(out, "queue.db")+")") {
		t.Errorf("missing %q in:\n%s", want, got)
	}
}

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
			!strings.Contains(errb.String(), "the static directory "+filepath.Join(dir, "missing")+" does not exist: not copied") ||
			// (the command that serves the copies: a static directory
			// is the working directory's)
			!strings.Contains(errb.String(), "Serve it from its directory, where it finds the static files: cd "+out+" && tova serve server.tbc\n")) {
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
// an output directory inside the static directory is refused (the copy
// copied itself, nesting until paths got too long; and the server served
// the artifact and the database built there).
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
	for _, out := range []string{filepath.Join(dir, "public", "dist"), filepath.Join(dir, "public")} {
		errb.Reset()
		if c := run([]string{"build", filepath.Join(dir, "app.tova"), "-o", out}, &o, &errb); c != 2 ||
			!strings.Contains(errb.String(), "the static directory") || !strings.Contains(errb.String(), "would be downloadable (choose another -o)") {
			t.Errorf("-o %s: exit %d: %s", out, c, errb.String())
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "assets", "dist")); err == nil {
		t.Error("built into the static directory")
	}
	if _, err := os.Stat(filepath.Join(dir, "assets", "server.tbc")); err == nil {
		t.Error("built into the static directory")
	}
}

// staticProject makes a program serving public/ (index.html and
// css/site.css) in a new directory, and returns it and public/.
func staticProject(t *testing.T) (dir, pub string) {
	t.Helper()
	dir = t.TempDir()
	pub = filepath.Join(dir, "public")
	os.MkdirAll(filepath.Join(pub, "css"), 0o755)
	os.WriteFile(filepath.Join(pub, "index.html"), []byte("<h1>home</h1>"), 0o644)
	os.WriteFile(filepath.Join(pub, "css", "site.css"), []byte("body{}"), 0o644)
	os.WriteFile(filepath.Join(dir, "app.tova"), []byte("server {\n  static \"/\" => \"public\"\n}\n"), 0o644)
	return dir, pub
}

// Links inside a static directory, which the server follows, are in the
// copy (they were left out: dist/ answered 404 where the program's own
// directory served); links that lead out of it, which it does not
// follow, are not.
func TestBuildStaticLinksInside(t *testing.T) {
	dir, pub := staticProject(t)
	os.WriteFile(filepath.Join(dir, "secret.txt"), []byte("secret"), 0o644)
	os.Symlink("index.html", filepath.Join(pub, "home.html"))
	os.Symlink("css", filepath.Join(pub, "styles"))
	os.Symlink(filepath.Join(pub, "index.html"), filepath.Join(pub, "css", "abs.html")) // absolute, inside: not followed
	os.Symlink("../public/index.html", filepath.Join(pub, "round.html"))                // out and back in: not followed
	os.Symlink("../secret.txt", filepath.Join(pub, "out.txt"))
	os.Symlink("nothing", filepath.Join(pub, "dangling"))
	var o, errb testutil.Buffer
	if c := run([]string{"build", filepath.Join(dir, "app.tova"), "-o", filepath.Join(dir, "dist")}, &o, &errb); c != 0 {
		t.Fatalf("exit %d: %s", c, errb.String())
	}
	// The copy is moved away from the program (deployed alone): its
	// links must lead to its own files.
	moved := filepath.Join(t.TempDir(), "dist")
	if err := os.Rename(filepath.Join(dir, "dist"), moved); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(pub)
	for name, want := range map[string]string{"home.html": "<h1>home</h1>", "styles/site.css": "body{}"} {
		if b, err := os.ReadFile(filepath.Join(moved, "public", name)); err != nil || string(b) != want {
			t.Errorf("dist/public/%s: %q %v", name, b, err)
		}
	}
	// Links the server does not follow are not copied: the copy served
	// them where the program refused them.
	for _, name := range []string{"out.txt", "dangling", "css/abs.html", "round.html"} {
		if _, err := os.Lstat(filepath.Join(moved, "public", name)); err == nil {
			t.Errorf("dist/public/%s copied", name)
		}
	}
}

// An earlier copy is replaced, not written over: a link at dist/public,
// or one inside it, leading back to the program's own files, is removed
// rather than followed (the copy emptied every file of public/), and a
// file since deleted from public/ is gone from dist/public (it was still
// served).
func TestBuildReplacesEarlierCopies(t *testing.T) {
	dir, pub := staticProject(t)
	os.WriteFile(filepath.Join(pub, "draft.html"), []byte("draft"), 0o644)
	out := filepath.Join(dir, "dist")
	build := func() (int, string) {
		var o, errb testutil.Buffer
		c := run([]string{"build", filepath.Join(dir, "app.tova"), "-o", out}, &o, &errb)
		return c, errb.String()
	}
	source := func() {
		t.Helper()
		for name, want := range map[string]string{"index.html": "<h1>home</h1>", "css/site.css": "body{}"} {
			if b, err := os.ReadFile(filepath.Join(pub, name)); err != nil || string(b) != want {
				t.Fatalf("public/%s is now %q (%v)", name, b, err)
			}
		}
	}

	// dist/public is a link to ../public.
	os.MkdirAll(out, 0o755)
	os.Symlink("../public", filepath.Join(out, "public"))
	if c, said := build(); c != 0 {
		t.Fatalf("exit %d: %s", c, said)
	}
	source()
	if fi, err := os.Lstat(filepath.Join(out, "public")); err != nil || !fi.IsDir() {
		t.Fatalf("dist/public is not a directory of its own: %v %v", fi, err)
	}

	// A file of the earlier copy links to its source.
	os.Remove(filepath.Join(out, "public", "index.html"))
	os.Symlink(filepath.Join(pub, "index.html"), filepath.Join(out, "public", "index.html"))
	os.Remove(filepath.Join(pub, "draft.html"))
	if c, said := build(); c != 0 {
		t.Fatalf("exit %d: %s", c, said)
	}
	source()
	if _, err := os.Stat(filepath.Join(out, "public", "draft.html")); err == nil {
		t.Error("dist/public/draft.html, deleted from public/, is still deployed")
	}
	if b, err := os.ReadFile(filepath.Join(out, "public", "index.html")); err != nil || string(b) != "<h1>home</h1>" {
		t.Errorf("dist/public/index.html: %q %v", b, err)
	}
	if left, _ := filepath.Glob(filepath.Join(out, ".public.build-*")); len(left) > 0 {
		t.Errorf("temporary copies left behind: %v", left)
	}

	// A file in the way is not replaced, and the build fails.
	os.RemoveAll(filepath.Join(out, "public"))
	os.WriteFile(filepath.Join(out, "public"), []byte("mine"), 0o644)
	if c, said := build(); c != exitUsage || !strings.Contains(said, "exists and is not a directory") {
		t.Errorf("exit %d: %s", c, said)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "public")); string(b) != "mine" {
		t.Errorf("dist/public was replaced: %q", b)
	}
}

// An output directory whose copy would replace the static directory
// itself (dist/public is the program's public/) is refused.
func TestBuildRefusesToReplaceTheSource(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "static", "site")
	os.MkdirAll(filepath.Join(dir, "static"), 0o755)
	os.WriteFile(filepath.Join(dir, "static", "a.txt"), []byte("a"), 0o644)
	os.WriteFile(filepath.Join(dir, "app.tova"), []byte("server {\n  static \"/\" => \"static\"\n}\n"), 0o644)
	var o, errb testutil.Buffer
	// root/static, the copy's place, holds the program's directory.
	if c := run([]string{"build", filepath.Join(dir, "app.tova"), "-o", root}, &o, &errb); c != exitUsage || !strings.Contains(errb.String(), "holds the program's own directory") {
		t.Errorf("exit %d: %s", c, errb.String())
	}
	if b, err := os.ReadFile(filepath.Join(dir, "static", "a.txt")); err != nil || string(b) != "a" {
		t.Fatalf("the program's files are gone: %q %v", b, err)
	}
}

// The .tova/ directory the job queue keeps beside a program, and hidden
// files, are not programs to build.
func TestBuildSourceSkipsDirectories(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, ".tova"), 0o755)
	os.WriteFile(filepath.Join(dir, ".hidden.tova"), []byte("print(1)"), 0o644)
	if _, err := buildSource([]string{dir}); err == nil || !strings.Contains(err.Error(), "no .tova file") {
		t.Errorf("a directory with only .tova/: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "app.tova"), []byte("print(1)"), 0o644)
	if src, err := buildSource([]string{dir}); err != nil || src != filepath.Join(dir, "app.tova") {
		t.Errorf("buildSource = %q, %v", src, err)
	}
}

// A static directory that is a link elsewhere: an output directory
// whose copy would replace the directory holding the program is refused
// (it removed the program), and building into the program's own
// directory leaves the link as it is (it was replaced by a copy).
func TestBuildStaticLinkNeverReplacesTheProgram(t *testing.T) {
	root := t.TempDir()
	shared := filepath.Join(root, "shared", "assets")
	os.MkdirAll(shared, 0o755)
	os.WriteFile(filepath.Join(shared, "index.html"), []byte("hi"), 0o644)
	prog := filepath.Join(root, "web", "app")
	os.MkdirAll(prog, 0o755)
	os.Symlink("../../shared/assets", filepath.Join(prog, "web"))
	os.WriteFile(filepath.Join(prog, "app.tova"), []byte("server {\n  static \"/\" => \"web\"\n}\n"), 0o644)
	os.WriteFile(filepath.Join(prog, "notes.txt"), []byte("precious"), 0o644)
	var o, errb testutil.Buffer
	// root/web, the copy's place, holds the program's directory.
	if c := run([]string{"build", filepath.Join(prog, "app.tova"), "-o", root}, &o, &errb); c != exitUsage || !strings.Contains(errb.String(), "holds the program's own directory") {
		t.Errorf("exit %d: %s", c, errb.String())
	}
	if b, err := os.ReadFile(filepath.Join(prog, "notes.txt")); err != nil || string(b) != "precious" {
		t.Fatalf("the program's directory is gone: %q %v", b, err)
	}
	errb.Reset()
	if c := run([]string{"build", filepath.Join(prog, "app.tova"), "-o", prog}, &o, &errb); c != 0 {
		t.Fatalf("-o the program's directory: exit %d: %s", c, errb.String())
	}
	if fi, err := os.Lstat(filepath.Join(prog, "web")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the program's link web was replaced: %v %v", fi, err)
	}
}

// pipedProgram is a named pipe that gives src to the first reader, as
// tova run <(gen) reads a program.
func pipedProgram(t *testing.T, src string) string {
	t.Helper()
	fifo := filepath.Join(t.TempDir(), "prog")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("no named pipes here:", err)
	}
	go func() {
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		f.WriteString(src)
		f.Close()
	}()
	return fifo
}

// A program read from a pipe (tova run <(gen)) has no directory of its
// own: its default database goes in the working directory (it went to
// /dev/fd, where no file can be made).
func TestRunFromPipeUsesWorkingDirectory(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	fifo := pipedProgram(t, "model P { name: String }\nP.create({ name: \"a\" })\nprint(P.count())\n")
	var o, errb testutil.Buffer
	if c := run([]string{"run", fifo}, &o, &errb); c != 0 || o.String() != "1\n" {
		t.Fatalf("exit %d: %s %s", c, o.String(), errb.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "app.db")); err != nil {
		t.Errorf("no app.db in the working directory: %v (%s)", err, errb.String())
	}
}

// tova build of a program read from a pipe finds its static directory in
// the working directory, as tova serve of it does (it looked beside the
// pipe, and left public/ out).
func TestBuildFromPipeCopiesStaticFromWorkingDirectory(t *testing.T) {
	dir, _ := staticProject(t)
	t.Chdir(dir)
	fifo := pipedProgram(t, "server {\n  static \"/\" => \"public\"\n}\n")
	var o, errb testutil.Buffer
	if c := run([]string{"build", fifo, "-o", "dist"}, &o, &errb); c != 0 || strings.Contains(errb.String(), "warning") {
		t.Fatalf("exit %d: %s", c, errb.String())
	}
	if b, err := os.ReadFile(filepath.Join(dir, "dist", "public", "index.html")); err != nil || string(b) != "<h1>home</h1>" {
		t.Errorf("dist/public/index.html: %q %v (%s)", b, err, errb.String())
	}
}

// An output directory that is, or is inside, a static directory not
// made yet is refused too, before anything is written: the build made
// it, and the server served the artifact from it.
func TestBuildIntoAStaticDirectoryNotMadeYet(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	os.WriteFile("app.tova", []byte("server {\n  static \"/\" => \"public\"\n}\n"), 0o644)
	for _, out := range []string{"public", "public/sub"} {
		var o, errb testutil.Buffer
		if c := run([]string{"build", "-o", out}, &o, &errb); c != 2 || !strings.Contains(errb.String(), "the static directory public, which the server serves") {
			t.Errorf("-o %s: exit %d: %s", out, c, errb.String())
		}
		if _, err := os.Stat("public"); err == nil {
			t.Fatalf("-o %s: the build made public/", out)
		}
	}
}

// A program serving its own directory (static "/" => "." or "") is not
// built: dist/ would be in it, and the deployed server would hand out
// its artifact and database (the build went on, warning wrongly that "."
// was not inside the program's directory).
func TestBuildRefusesServingTheProgramsDirectory(t *testing.T) {
	for _, dir := range []string{".", "", "./"} {
		t.Run(dir, func(t *testing.T) {
			t.Chdir(t.TempDir())
			os.WriteFile("app.tova", []byte("server {\n  static \"/\" => \""+dir+"\"\n}\n"), 0o644)
			var o, errb testutil.Buffer
			if c := run([]string{"build"}, &o, &errb); c != 2 || !strings.Contains(errb.String(), "is the program's own directory, which would hold the output directory dist") {
				t.Errorf("exit %d: %s", c, errb.String())
			}
			if _, err := os.Stat("dist"); err == nil {
				t.Errorf("the build made dist/")
			}
		})
	}
}

// A program in src/ (which tova build finds by itself) serving "public"
// of the project, where tova serve run from the project finds it: the
// build copies it (it looked in src/public only, and dist/ answered 404
// for every client file).
func TestBuildSrcLayoutCopiesTheProjectsStaticDirectory(t *testing.T) {
	dir, _ := staticProject(t)
	t.Chdir(dir)
	os.MkdirAll("src", 0o755)
	os.Rename("app.tova", filepath.Join("src", "app.tova"))
	var o, errb testutil.Buffer
	if c := run([]string{"build"}, &o, &errb); c != 0 || strings.Contains(errb.String(), "warning") {
		t.Fatalf("exit %d: %s", c, errb.String())
	}
	if b, err := os.ReadFile(filepath.Join("dist", "public", "index.html")); err != nil || string(b) != "<h1>home</h1>" {
		t.Errorf("dist/public/index.html: %q %v (%s)", b, err, errb.String())
	}
}

// tova build of an artifact is refused: the artifact does not say which
// static directories to copy, and `-o public` put the artifact and the
// database in the served directory.
func TestBuildRefusesAnArtifact(t *testing.T) {
	dir, _ := staticProject(t)
	tbc := filepath.Join(dir, "app.tbc")
	var o, errb testutil.Buffer
	if c := run([]string{"compile", filepath.Join(dir, "app.tova"), "-o", tbc}, &o, &errb); c != 0 {
		t.Fatalf("compile: exit %d: %s", c, errb.String())
	}
	out := filepath.Join(dir, "public")
	errb.Reset()
	if c := run([]string{"build", tbc, "-o", out}, &o, &errb); c != exitUsage || !strings.Contains(errb.String(), "is an artifact") {
		t.Fatalf("exit %d: %s", c, errb.String())
	}
	if _, err := os.Stat(filepath.Join(out, "server.tbc")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("public/server.tbc was written: %v", err)
	}
}

// A directory of the static directory's name in an output directory no
// build wrote an artifact into is the user's: it is not replaced (a
// site's own public/ was deleted), and nothing is written. Once an
// earlier build's, or empty, it is.
func TestBuildKeepsADirectoryItDidNotMake(t *testing.T) {
	dir, _ := staticProject(t)
	site := filepath.Join(dir, "site")
	os.MkdirAll(filepath.Join(site, "public"), 0o755)
	precious := filepath.Join(site, "public", "important.txt")
	os.WriteFile(precious, []byte("mine"), 0o644)
	build := func() (int, string) {
		var o, errb testutil.Buffer
		c := run([]string{"build", filepath.Join(dir, "app.tova"), "-o", site}, &o, &errb)
		return c, errb.String()
	}
	if c, said := build(); c != exitUsage || !strings.Contains(said, "no earlier build made it") {
		t.Fatalf("exit %d: %s", c, said)
	}
	if b, err := os.ReadFile(precious); err != nil || string(b) != "mine" {
		t.Fatalf("site/public/important.txt: %q %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(site, "server.tbc")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("site/server.tbc was written: %v", err)
	}
	os.Remove(precious) // empty now: the build's to fill
	if c, said := build(); c != 0 {
		t.Fatalf("exit %d: %s", c, said)
	}
	// site/ holds an artifact: its public/ is the earlier copy. A file
	// older than that build (a copy it made, of a file since deleted)
	// goes; one written there since (by the deployed server: an upload
	// save_file put there) is kept, and said: a rebuild deleted the
	// users' uploads.
	stale, upload := filepath.Join(site, "public", "stale.txt"), filepath.Join(site, "public", "photos", "me.png")
	os.WriteFile(stale, []byte("old"), 0o644)
	past := time.Now().Add(-time.Hour)
	os.Chtimes(stale, past, past)
	os.MkdirAll(filepath.Dir(upload), 0o755)
	os.WriteFile(upload, []byte("png"), 0o644)
	future := time.Now().Add(time.Minute)
	os.Chtimes(upload, future, future)
	c, said := build()
	if c != 0 {
		t.Fatalf("exit %d: %s", c, said)
	}
	if _, err := os.Stat(stale); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the earlier copy was not replaced: %v", err)
	}
	if b, err := os.ReadFile(upload); err != nil || string(b) != "png" {
		t.Errorf("a file written since the earlier build: %q %v", b, err)
	}
	if !strings.Contains(said, "warning: ") || !strings.Contains(said, ": kept 1 file(s) of "+filepath.Join(site, "public")) {
		t.Errorf("the kept file not said: %s", said)
	}
}

// A copy that cannot be made for what is in its place (a file), and a
// static directory that is a file (which tova serve refuses), fail the
// build before the artifact is written (it was replaced by the failed
// build's).
func TestBuildChecksCopiesBeforeWriting(t *testing.T) {
	dir, pub := staticProject(t)
	out := filepath.Join(dir, "dist")
	build := func() (int, string) {
		var o, errb testutil.Buffer
		c := run([]string{"build", filepath.Join(dir, "app.tova"), "-o", out}, &o, &errb)
		return c, errb.String()
	}
	if c, said := build(); c != 0 {
		t.Fatalf("exit %d: %s", c, said)
	}
	before, _ := os.ReadFile(filepath.Join(out, "server.tbc"))
	os.WriteFile(filepath.Join(dir, "app.tova"), []byte("server {\n  static \"/\" => \"public\"\n  route GET \"/v\" => fn() \"v2\"\n}\n"), 0o644)
	os.RemoveAll(filepath.Join(out, "public"))
	os.WriteFile(filepath.Join(out, "public"), []byte("x"), 0o644)
	if c, said := build(); c != exitUsage || !strings.Contains(said, "is not a directory: not replacing it") || strings.Contains(said, "built ") {
		t.Fatalf("exit %d: %s", c, said)
	}
	if after, _ := os.ReadFile(filepath.Join(out, "server.tbc")); !bytes.Equal(before, after) {
		t.Errorf("the failed build replaced the artifact")
	}
	os.Remove(filepath.Join(out, "public"))
	os.RemoveAll(pub)
	os.WriteFile(pub, []byte("a file"), 0o644)
	if c, said := build(); c != exitUsage || !strings.Contains(said, "app.tova:2:3: the static directory") || !strings.Contains(said, "is not a directory") {
		t.Fatalf("exit %d: %s", c, said)
	}
}

// A static directory named by an absolute path, or through .., is not
// copied, but an output directory inside it is refused all the same
// (the artifact and the database built there were served).
func TestBuildRefusesOutputInsideAStaticDirectoryOutside(t *testing.T) {
	dir := t.TempDir()
	pub := filepath.Join(dir, "public")
	os.MkdirAll(pub, 0o755)
	proj := filepath.Join(dir, "proj")
	os.MkdirAll(proj, 0o755)
	for _, named := range []string{pub, "../public"} {
		os.WriteFile(filepath.Join(proj, "app.tova"), []byte("server {\n  static \"/\" => \""+named+"\"\n}\n"), 0o644)
		for _, out := range []string{pub, filepath.Join(pub, "dist")} {
			var o, errb testutil.Buffer
			if c := run([]string{"build", filepath.Join(proj, "app.tova"), "-o", out}, &o, &errb); c != exitUsage || !strings.Contains(errb.String(), "would be downloadable (choose another -o)") {
				t.Errorf("static %s, -o %s: exit %d: %s", named, out, c, errb.String())
			}
			if _, err := os.Stat(filepath.Join(out, "server.tbc")); err == nil {
				t.Errorf("static %s, -o %s: built into the static directory", named, out)
			}
		}
	}
}

// A static directory deleted since the last build is not copied, and a
// directory of its name in the output directory is left as it is (an
// earlier copy, or what the deployed server saved there: uploads), with
// a warning that it is served. A directory in both the working
// directory and beside the program (src/public and public) is copied
// from the working directory, which tova serve run from there serves,
// with a warning naming both.
func TestBuildStaticDirectoryGoneOrTwice(t *testing.T) {
	dir, pub := staticProject(t)
	t.Chdir(dir)
	build := func() (int, string) {
		var o, errb testutil.Buffer
		c := run([]string{"build", "app.tova"}, &o, &errb)
		return c, errb.String()
	}
	if c, said := build(); c != 0 {
		t.Fatalf("exit %d: %s", c, said)
	}
	copyOf := filepath.Join("dist", "public")
	os.WriteFile(filepath.Join(copyOf, "saved.txt"), []byte("saved by the server"), 0o644)
	os.RemoveAll(pub)
	c, said := build()
	if c != 0 || !strings.Contains(said, "the static directory public does not exist: not copied; "+copyOf+" is there, left as it is, and served") {
		t.Errorf("exit %d: %s", c, said)
	}
	if b, err := os.ReadFile(filepath.Join(copyOf, "saved.txt")); err != nil || string(b) != "saved by the server" {
		t.Errorf("%s was touched: %q %v", copyOf, b, err)
	}

	// src/app.tova, with src/public and public.
	os.RemoveAll("dist")
	os.MkdirAll(filepath.Join("src", "public"), 0o755)
	os.Rename("app.tova", filepath.Join("src", "app.tova"))
	os.WriteFile(filepath.Join("src", "public", "w.txt"), []byte("src"), 0o644)
	os.MkdirAll("public", 0o755)
	os.WriteFile(filepath.Join("public", "w.txt"), []byte("root"), 0o644)
	var o, errb testutil.Buffer
	if c := run([]string{"build"}, &o, &errb); c != 0 || !strings.Contains(errb.String(), "the static directory public is both in the working directory and beside the program ("+filepath.Join("src", "public")+"): copied the working directory's") {
		t.Errorf("exit %d: %s", c, errb.String())
	}
	if b, err := os.ReadFile(filepath.Join("dist", "public", "w.txt")); err != nil || string(b) != "root" {
		t.Errorf("dist/public/w.txt: %q %v, want the working directory's", b, err)
	}
}

// -o naming a file is refused saying so (it said "mkdir outfile: not a
// directory").
// So is it for a program with static directories (the message blamed
// the static declaration: "lstat outfile/public: not a directory").
func TestBuildOutputIsAFile(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "public"), 0o755)
	for _, prog := range []string{"print(1)\n", "server {\n  static \"/\" => \"public\"\n}\n"} {
		src := filepath.Join(dir, "b.tova")
		os.WriteFile(src, []byte(prog), 0o644)
		out := filepath.Join(dir, "outfile")
		os.WriteFile(out, []byte("mine"), 0o644)
		var o, e testutil.Buffer
		if c := run([]string{"build", src, "-o", out}, &o, &e); c != exitUsage || strings.TrimSpace(e.String()) != "tova build: -o "+out+" is a file: the output is a directory (choose another -o)" {
			t.Errorf("%q: exit %d: %s", prog, c, e.String())
		}
		if b, _ := os.ReadFile(out); string(b) != "mine" {
			t.Errorf("the file was changed: %q", b)
		}
	}
}

// A program that gained or lost its servers since the last build has the
// artifact of then removed: dist/server.tbc kept serving the old code
// under the name the first build told a deploy script to use. Another
// program's artifact in the same directory stays.
func TestBuildRemovesTheProgramsOtherArtifact(t *testing.T) {
	dir := t.TempDir()
	app, other := filepath.Join(dir, "app.tova"), filepath.Join(dir, "other", "tool.tova")
	out := filepath.Join(dir, "dist")
	os.MkdirAll(filepath.Dir(other), 0o755)
	os.WriteFile(other, []byte("print(\"tool\")\n"), 0o644)
	build := func(src string) string {
		t.Helper()
		var o, errb testutil.Buffer
		if c := run([]string{"build", src, "-o", out}, &o, &errb); c != 0 {
			t.Fatalf("build %s: exit %d: %s", src, c, errb.String())
		}
		return errb.String()
	}
	exists := func(name string) bool { _, err := os.Stat(filepath.Join(out, name)); return err == nil }
	build(other)
	// (with a static directory, whose copy the server build after the
	// script's replaces: it was refused as a directory the build had
	// not made, the directory holding only app.tbc)
	os.MkdirAll(filepath.Join(dir, "public"), 0o755)
	os.WriteFile(filepath.Join(dir, "public", "i.txt"), []byte("i"), 0o644)
	os.WriteFile(app, []byte("server {\n  static \"/\" => \"public\"\n  route GET \"/\" => fn() \"v1\"\n}\n"), 0o644)
	build(app)
	os.WriteFile(app, []byte("print(\"v2\")\n"), 0o644)
	msg := build(app)
	if exists("server.tbc") || !exists("app.tbc") || !exists("tool.tbc") {
		t.Fatalf("after the script build: server.tbc %v, app.tbc %v, tool.tbc %v", exists("server.tbc"), exists("app.tbc"), exists("tool.tbc"))
	}
	if want := "removed " + filepath.Join(out, "server.tbc") + ", the earlier build's of this program (it now declares no server)"; !strings.Contains(msg, want) {
		t.Errorf("build output %q, want it to say %q", msg, want)
	}
	os.WriteFile(app, []byte("server {\n  static \"/\" => \"public\"\n  route GET \"/\" => fn() \"v3\"\n}\n"), 0o644)
	msg = build(app)
	if !exists("server.tbc") || exists("app.tbc") || !exists("tool.tbc") {
		t.Fatalf("after the server build: server.tbc %v, app.tbc %v, tool.tbc %v", exists("server.tbc"), exists("app.tbc"), exists("tool.tbc"))
	}
	if !strings.Contains(msg, "(it now declares servers)") {
		t.Errorf("build output %q", msg)
	}
	// A program of another directory with the same file name is
	// another program: its build removed this one's server.tbc.
	same := filepath.Join(dir, "tools", "app.tova")
	os.MkdirAll(filepath.Dir(same), 0o755)
	os.WriteFile(same, []byte("print(1)\n"), 0o644)
	msg = build(same)
	if !exists("server.tbc") || !exists("app.tbc") || strings.Contains(msg, "removed") {
		t.Errorf("after tools/app.tova's build: server.tbc %v, app.tbc %v; output %q", exists("server.tbc"), exists("app.tbc"), msg)
	}
}

// The program is known by its file, not by the path a build named it
// by: built in its directory (`cd proj && tova build`), then from above
// (`tova build proj/app.tova -o proj/dist`) after it lost its server,
// the first build's server.tbc, which served the old code, is removed.
func TestBuildKnowsTheProgramByItsFile(t *testing.T) {
	dir := t.TempDir()
	proj := filepath.Join(dir, "proj")
	os.MkdirAll(proj, 0o755)
	app := filepath.Join(proj, "app.tova")
	os.WriteFile(app, []byte("server { route GET \"/\" => fn() \"old\" }\n"), 0o644)
	build := func(wd string, args ...string) string {
		t.Helper()
		t.Chdir(wd)
		var o, errb testutil.Buffer
		if c := run(append([]string{"build"}, args...), &o, &errb); c != 0 {
			t.Fatalf("build %v: exit %d: %s", args, c, errb.String())
		}
		return errb.String()
	}
	build(proj)
	if _, err := os.Stat(filepath.Join(proj, "dist", "server.tbc")); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(app, []byte("print(\"now a script\")\n"), 0o644)
	msg := build(dir, "proj/app.tova", "-o", "proj/dist")
	if _, err := os.Stat(filepath.Join(proj, "dist", "server.tbc")); err == nil || !strings.Contains(msg, "removed proj/dist/server.tbc") {
		t.Errorf("the first build's server.tbc is left (%v); build said %q", err, msg)
	}
	// The other way round: from above, then in its directory.
	os.WriteFile(app, []byte("server { route GET \"/\" => fn() \"old\" }\n"), 0o644)
	build(dir, "proj/app.tova", "-o", "proj/dist")
	os.WriteFile(app, []byte("print(\"now a script\")\n"), 0o644)
	msg = build(proj)
	if _, err := os.Stat(filepath.Join(proj, "dist", "server.tbc")); err == nil || !strings.Contains(msg, "removed dist/server.tbc") {
		t.Errorf("built from above, then in its directory: server.tbc is left (%v); build said %q", err, msg)
	}
}

// A build over another program's artifact of the same name (dist/
// server.tbc of a.tova, built over by b.tova) is refused: it replaced
// it without a word, that program's database and queue left beside
// the other's. The same program rebuilt, by another path too, is not.
func TestBuildRefusesAnotherProgramsArtifact(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.tova"), filepath.Join(dir, "b.tova")
	os.WriteFile(a, []byte("server {\n  route GET \"/\" => fn() \"A\"\n}\n"), 0o644)
	os.WriteFile(b, []byte("server {\n  route GET \"/\" => fn() \"B\"\n}\n"), 0o644)
	out := filepath.Join(dir, "dist")
	build := func(src string) (int, string) {
		var o, errb testutil.Buffer
		c := run([]string{"build", src, "-o", out}, &o, &errb)
		return c, errb.String()
	}
	if c, e := build(a); c != 0 {
		t.Fatalf("build a: %d %s", c, e)
	}
	if c, e := build(a); c != 0 {
		t.Fatalf("build a again: %d %s", c, e)
	}
	c, e := build(b)
	if want := "tova build: " + filepath.Join(out, "server.tbc") + " is the artifact of " + a + ", another program"; c != 2 || !strings.Contains(e, want) {
		t.Fatalf("build b over a's: %d %s, want 2 and %q", c, e, want)
	}
	p, err := bytecode.ReadFile(filepath.Join(out, "server.tbc"))
	if err != nil || jobs.SourceOf(p) != a {
		t.Errorf("a's artifact: %v", err)
	}
	// Two programs of one name, each built by its bare name in its own
	// directory: B's build into A's dist/ was taken for A's own.
	for _, d := range []string{"A", "B"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
		os.WriteFile(filepath.Join(dir, d, "app.tova"), []byte("server {\n  route GET \"/\" => fn() \""+d+"\"\n}\n"), 0o644)
	}
	t.Chdir(filepath.Join(dir, "A"))
	var o, errb testutil.Buffer
	if c := run([]string{"build", "app.tova"}, &o, &errb); c != 0 {
		t.Fatalf("build A: %d %s", c, errb.String())
	}
	t.Chdir(filepath.Join(dir, "B"))
	errb.Reset()
	if c := run([]string{"build", "app.tova", "-o", "../A/dist"}, &o, &errb); c != 2 || !strings.Contains(errb.String(), "is the artifact of app.tova, another program") {
		t.Errorf("build B into A's dist: %d %s", c, errb.String())
	}
	// B rebuilt into its own: the same program.
	errb.Reset()
	if c := run([]string{"build", "app.tova"}, &o, &errb); c != 0 {
		t.Fatalf("build B: %d %s", c, errb.String())
	}
	if c := run([]string{"build", "app.tova"}, &o, &errb); c != 0 {
		t.Errorf("build B again: %d %s", c, errb.String())
	}
}

// A static directory that holds the program's database is refused by
// the build, as tova serve refuses to start with it (the build went on,
// and the command it printed then failed).
func TestBuildRefusesStaticHoldingTheDatabase(t *testing.T) {
	dir := t.TempDir()
	app := filepath.Join(dir, "app.tova")
	os.MkdirAll(filepath.Join(dir, "data"), 0o755)
	os.WriteFile(filepath.Join(dir, "data", "file.txt"), []byte("x"), 0o644)
	os.WriteFile(app, []byte("db { path: \"data/app.db\" }\nserver {\n  static \"/files\" => \"data\"\n  route GET \"/\" => fn() 1\n}\n"), 0o644)
	var o, errb testutil.Buffer
	if c := run([]string{"build", app, "-o", filepath.Join(dir, "dist")}, &o, &errb); c == 0 || !strings.Contains(errb.String(), `the static directory data holds data/app.db, a database of the program: its rows would be downloadable`) {
		t.Errorf("exit %d: %s", c, errb.String())
	}
}

// A static file's copy keeps its time, of which the server makes its
// ETag and Last-Modified: every rebuild changed them, and clients
// fetched every file again.
func TestBuildKeepsStaticFileTimes(t *testing.T) {
	dir := t.TempDir()
	app := filepath.Join(dir, "app.tova")
	os.MkdirAll(filepath.Join(dir, "public"), 0o755)
	file := filepath.Join(dir, "public", "a.css")
	os.WriteFile(file, []byte("body{}"), 0o644)
	then := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	os.Chtimes(file, then, then)
	os.WriteFile(app, []byte("server {\n  static \"/\" => \"public\"\n}\n"), 0o644)
	var o, errb testutil.Buffer
	if c := run([]string{"build", app, "-o", filepath.Join(dir, "dist")}, &o, &errb); c != 0 {
		t.Fatalf("exit %d: %s", c, errb.String())
	}
	fi, err := os.Stat(filepath.Join(dir, "dist", "public", "a.css"))
	if err != nil || !fi.ModTime().Equal(then) {
		t.Errorf("the copy's time: %v, %v; want %v", fi.ModTime(), err, then)
	}
}
