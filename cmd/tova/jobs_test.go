package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tova/driver"
	"tova/internal/testutil"
	"tova/jobs"
	"tova/jobs/jobstest"
)

const jobsApp = `
server "worker" {
  jobs { max_attempts: 2, backoff: 10.milliseconds }
  fn kick() { spawn_job(charge, 7) }
  background fn charge(n) { assert(n > 10, "amount {n} too small") }
}
`

// tova jobs lists the jobs where the program keeps them (here the
// default .tova/app.jobs.db next to it) with their errors.
func TestJobsCommand(t *testing.T) {
	dir := t.TempDir()
	app := filepath.Join(dir, "app.tova")
	if err := os.WriteFile(app, []byte(jobsApp), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"jobs", app}, &out, &errOut); code != 0 || out.String() != "no jobs (nothing stored yet)\n" {
		t.Fatalf("before any job: exit %d, %q %q", code, out.String(), errOut.String())
	}

	p, err := driver.CompileFile(app, []byte(jobsApp))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a, err := jobstest.Start(ctx, p, jobstest.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := a.Server("worker").Call(ctx, "kick"); err != nil {
			t.Fatal(err)
		}
	}
	where := filepath.Join(dir, jobs.JobsFileOf(app))
	for deadline := time.Now().Add(10 * time.Second); ; {
		js, _ := jobs.List(ctx, where, jobs.ListOptions{States: []string{jobs.StateDiscarded}})
		if len(js) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the job was not discarded in time")
		}
		time.Sleep(20 * time.Millisecond)
	}
	a.Stop(ctx)

	out.Reset()
	if code := run([]string{"jobs", app, "--state", "discarded", "-v"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	lines := strings.Split(out.String(), "\n")
	if len(lines) < 6 ||
		!strings.HasPrefix(lines[0], "ID  STATE      SERVER  KIND  NAME    ATTEMPT  SCHEDULED") ||
		!strings.HasPrefix(lines[1], "2   discarded  worker  job   charge  2/2      ") ||
		!strings.HasPrefix(lines[2], "    attempt 1, ") || !strings.HasSuffix(lines[2], ": AssertionError: amount 7 too small") ||
		!strings.HasPrefix(lines[3], "      at charge (") {
		t.Errorf("output:\n%s", out.String())
	}

	// The same jobs through --database, as a path and as sqlite: URLs,
	// with the program named or not (a host may have the queue alone).
	for _, db := range []string{where, "sqlite:" + where, "sqlite://" + where} {
		var byDB, alone bytes.Buffer
		if code := run([]string{"jobs", app, "--state", "discarded", "-v", "--database", db}, &byDB, &errOut); code != 0 || byDB.String() != out.String() {
			t.Errorf("--database %s: exit %d:\n%s", db, code, byDB.String())
		}
		if code := run([]string{"jobs", "--state", "discarded", "-v", "--database", db}, &alone, &errOut); code != 0 || alone.String() != out.String() {
			t.Errorf("--database %s without the program: exit %d:\n%s", db, code, alone.String())
		}
	}
	// Without it, the program is named; so it is with a PostgreSQL URL.
	for _, args := range [][]string{{"jobs"}, {"jobs", "--database", "postgres://127.0.0.1:1/x"}} {
		errOut.Reset()
		if code := run(args, &out, &errOut); code != exitUsage || !strings.Contains(errOut.String(), "tova jobs: name the program") {
			t.Errorf("%q: exit %d, %q", args, code, errOut.String())
		}
	}

	// A list cut at --limit says so.
	var cut bytes.Buffer
	if code := run([]string{"jobs", app, "--state", "discarded", "--limit", "1"}, &cut, &errOut); code != 0 ||
		!strings.Contains(cut.String(), "\n2   discarded") || strings.Contains(cut.String(), "\n1   discarded") ||
		!strings.HasSuffix(cut.String(), "(the newest 1 shown; there are more: --limit shows up to 10000)\n") {
		t.Errorf("--limit 1: exit %d:\n%s", code, cut.String())
	}
	for _, n := range []string{"2", "10000"} { // (10 001 asked of the queue panicked)
		cut.Reset()
		if code := run([]string{"jobs", app, "--state", "discarded", "--limit", n}, &cut, &errOut); code != 0 || strings.Contains(cut.String(), "there are more") || !strings.Contains(cut.String(), "\n1   discarded") {
			t.Errorf("--limit %s of 2: exit %d:\n%s", n, code, cut.String())
		}
	}

	out.Reset()
	if code := run([]string{"jobs", app, "--state", "queued"}, &out, &errOut); code != 0 || out.String() != "no jobs\n" {
		t.Errorf("queued: exit %d, %q", code, out.String())
	}
	errOut.Reset()
	if code := run([]string{"jobs", app, "--state", "lost"}, &out, &errOut); code != exitUsage || !strings.Contains(errOut.String(), `unknown state "lost"`) {
		t.Errorf("bad state: exit %d, %q", code, errOut.String())
	}
	empty := filepath.Join(t.TempDir(), "empty.db")
	os.WriteFile(empty, nil, 0o644)
	// An app's own database, the likeliest mistake, holds no queue.
	modelDir := t.TempDir()
	script := filepath.Join(modelDir, "notes.tova")
	os.WriteFile(script, []byte("db { adapter: \"sqlite\", database: \"notes.db\" }\nmodel Note { text: String }\nNote.create({ text: \"x\" })\n"), 0o644)
	if code := run([]string{"run", script}, &out, &errOut); code != 0 {
		t.Fatalf("making a model database: exit %d, %s", code, errOut.String())
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--limit", "10001"}, "--limit must be from 1 to 10000, got 10001"},
		{[]string{"--limit", "0"}, "--limit must be from 1 to 10000, got 0"},
		{[]string{"--database", filepath.Join(t.TempDir(), "typo.db")}, "typo.db: no such file"},
		{[]string{"--database", ""}, "--database is empty"},
		{[]string{"--database", t.TempDir()}, "a directory, not a SQLite file"},
		{[]string{"--database", empty}, "empty.db: not a SQLite database"},
		{[]string{"--database", app}, "not a SQLite database"},
		{[]string{"--database", filepath.Join(modelDir, "notes.db")}, "notes.db: a SQLite database that holds no job queue"},
	} {
		errOut.Reset()
		if code := run(append([]string{"jobs", app}, c.args...), &out, &errOut); code != exitUsage || !strings.Contains(errOut.String(), c.want) {
			t.Errorf("%v: exit %d, %q", c.args, code, errOut.String())
		}
	}
	if st, err := os.Stat(empty); err != nil || st.Size() != 0 {
		t.Errorf("the empty file was written to: %v %v", st, err)
	}
}

// tova jobs prints the list alone: the program's compile warnings (a
// publish no server subscribes to) are not printed before it.
func TestJobsPrintsNoWarnings(t *testing.T) {
	dir := t.TempDir()
	app := filepath.Join(dir, "app.tova")
	src := "server {\n  route POST \"/x\" => fn() publish(\"nobody\", 1)\n}\n"
	if err := os.WriteFile(app, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"compile", app, "-o", filepath.Join(dir, "app.tbc")}, &out, &errOut); code != 0 || !strings.Contains(errOut.String(), "warning") {
		t.Fatalf("compile: exit %d, want a warning: %q", code, errOut.String())
	}
	out.Reset()
	errOut.Reset()
	if code := run([]string{"jobs", app}, &out, &errOut); code != 0 || out.String() != "no jobs (nothing stored yet)\n" || errOut.String() != "" {
		t.Errorf("jobs: exit %d, %q %q", code, out.String(), errOut.String())
	}
}

// A PostgreSQL URL's password never shows in tova jobs' messages: after
// the user name, as a query parameter, or in a URL that does not parse.
func TestJobsRedactsPasswords(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://admin:hunter2@127.0.0.1:5432/app":     "postgres://admin:xxxxx@127.0.0.1:5432/app",
		"postgres://127.0.0.1:5432/app?password=hunter2":  "postgres://127.0.0.1:5432/app?password=xxxxx",
		"postgres://admin:hunter2@127.0.0.1:notaport/app": "postgres://(a URL that does not parse)",
		"postgresql://admin:hun%ter2@127.0.0.1:5432/app":  "postgresql://(a URL that does not parse)",
		".tova/app.jobs.db":                               ".tova/app.jobs.db",
	} {
		if got := redact(in); got != want || strings.Contains(got, "hunter2") || strings.Contains(got, "hun%ter2") {
			t.Errorf("redact(%q) = %q, want %q", in, got, want)
		}
	}
	var out, errb testutil.Buffer
	run([]string{"jobs", "--database", "postgres://admin:hunter2@127.0.0.1:notaport/app"}, &out, &errb)
	if strings.Contains(errb.String(), "hunter2") || errb.String() == "" {
		t.Errorf("stderr %q", errb.String())
	}
}

// tova jobs, a listing, closes the database the program's setup code
// opened: no -wal or -shm file of the app's database stays behind.
func TestJobsLeavesNoDatabaseFilesOpen(t *testing.T) {
	dir := t.TempDir()
	app := filepath.Join(dir, "app.tova")
	os.WriteFile(app, []byte("db { adapter: \"sqlite\", database: \"app.db\" }\nmodel Note {\n  title: String\n}\nprint(\"setting up\")\nserver {\n  background fn work(n) { print(n) }\n}\n"), 0o644)
	var out, errb testutil.Buffer
	if c := run([]string{"jobs", app}, &out, &errb); c != 0 {
		t.Fatalf("exit %d: %s", c, errb.String())
	}
	// What the setup code prints is left out: the listing alone.
	if got := out.String() + errb.String(); got != "no jobs (nothing stored yet)\n" {
		t.Errorf("tova jobs printed %q", got)
	}
	for _, f := range []string{"app.db-wal", "app.db-shm"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			t.Errorf("%s left behind", f)
		}
	}
}

// A program whose setup code fails, run to find its queue, is reported
// as tova run reports a failure: position, kind, source line and stack
// (it gave the bare message); a jobs block's bad key names the block.
func TestJobsSetupFailure(t *testing.T) {
	dir := t.TempDir()
	app := filepath.Join(dir, "app.tova")
	os.WriteFile(app, []byte("fn load_settings() {\n  settings = nil\n  settings.queue\n}\nconfig = load_settings()\nserver {\n  background fn send(to) { print(to) }\n}\n"), 0o644)
	var out, errOut testutil.Buffer
	want := "tova jobs: server: reading its configuration failed (--database reads a queue without running the program):\n" +
		app + ":3:12: TypeError: cannot read field queue of nil\n  settings.queue\n           ^\n  at load_settings (" + app + ":3:12)\n  at main (" + app + ":5:23)\n"
	if code := run([]string{"jobs", app}, &out, &errOut); code != exitStartup || errOut.String() != want {
		t.Errorf("exit %d:\n%s\nwant\n%s", code, errOut.String(), want)
	}
	os.WriteFile(app, []byte("server {\n  jobs { workers: -1 }\n  background fn send(to) { print(to) }\n}\n"), 0o644)
	errOut.Reset()
	if code := run([]string{"jobs", app}, &out, &errOut); code != exitStartup || !strings.Contains(errOut.String(), app+":2:19: jobs.workers: expected a positive Int, got -1") {
		t.Errorf("exit %d: %s", code, errOut.String())
	}
}

// A db block that cannot work gave tova jobs the jobs runtime's bare
// `db: adapter "postgres" needs a url`; it is the ConfigError at the
// block's position that tova serve gives.
func TestJobsDBBlockConfigError(t *testing.T) {
	t.Setenv("DATABASE_URL", "")
	dir := t.TempDir()
	app := filepath.Join(dir, "app.tova")
	for src, c := range map[string]struct {
		msg string
		col int // (of the url's value, which the error names; else the block's)
	}{
		`db { adapter: "postgres", url: env("TOVA_TEST_UNSET_URL") }`: {"ConfigError: db.url is nil: is the environment variable it reads set?", 32},
		`db { adapter: "postgres" }`:                                  {`ConfigError: db { adapter: "postgres" } needs a url (url: env("DATABASE_URL")), or DATABASE_URL set in the environment`, 1},
	} {
		msg, at := c.msg, fmt.Sprintf(":1:%d", c.col)
		os.WriteFile(app, []byte(src+"\nserver {\n  background fn work(k) { print(k) }\n}\n"), 0o644)
		var out, errOut testutil.Buffer
		want := "tova jobs: server: reading its configuration failed (--database reads a queue without running the program):\n" +
			app + at + ": " + msg + "\n" + src + "\n" + strings.Repeat(" ", c.col-1) + "^\n  at db (" + app + at + ")\n"
		if code := run([]string{"jobs", app}, &out, &errOut); code != exitStartup || errOut.String() != want {
			t.Errorf("exit %d:\n%s\nwant\n%s", code, errOut.String(), want)
		}
	}
}

// The queue of an artifact is the one of the program it was built from:
// dist/server.tbc of app.tova reads tova_app's, as it works it (with
// --database, it was tova_server's, an empty queue).
func TestQueueSchemaOfAnArtifact(t *testing.T) {
	dir := t.TempDir()
	app := filepath.Join(dir, "app.tova")
	os.WriteFile(app, []byte("server {\n  background fn work(n) { print(n) }\n}\n"), 0o644)
	tbc := filepath.Join(dir, "dist", "server.tbc")
	os.MkdirAll(filepath.Dir(tbc), 0o755)
	var out, errb testutil.Buffer
	if c := run([]string{"compile", app, "-o", tbc}, &out, &errb); c != 0 {
		t.Fatalf("compile: exit %d: %s", c, errb.String())
	}
	for _, path := range []string{app, tbc} {
		if got, want := queueSchema(path), jobs.ProgramSchema("app.tova"); got != want {
			t.Errorf("queueSchema(%s) = %q, want %q", path, got, want)
		}
	}
}

// A PostgreSQL --database where the program's queue is not (a
// search_path schema mistyped) is a usage error, as a SQLite file
// without one is: it said "no jobs (nothing stored yet)", exit 0.
func TestJobsPostgresWithoutQueue(t *testing.T) {
	base := os.Getenv("TOVA_TEST_DATABASE_URL")
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("TOVA_TEST_DATABASE_URL is not set")
		}
		t.Skip("needs PostgreSQL (TOVA_TEST_DATABASE_URL)")
	}
	app := filepath.Join(t.TempDir(), "app.tova")
	os.WriteFile(app, []byte("server {\n  route GET \"/\" => fn() \"ok\"\n}\n"), 0o644)
	u := base + "?search_path=tova_mistyped_schema"
	if strings.Contains(base, "?") {
		u = base + "&search_path=tova_mistyped_schema"
	}
	var out, errOut testutil.Buffer
	if code := run([]string{"jobs", app, "--database", u}, &out, &errOut); code != exitUsage || !strings.Contains(errOut.String(), "a PostgreSQL database that holds no job queue of this program") {
		t.Errorf("exit %d: %q %q", code, out.String(), errOut.String())
	}
}

// Programs read from pipes are known by their content: every bash <(…)
// is /dev/fd/63, and two programs served from pipes in one directory
// shared .tova/63.jobs.db (one's runner took the other's jobs).
func TestPipedProgramsHaveQueuesOfTheirOwn(t *testing.T) {
	compile := func(name, src string) string {
		p, err := driver.CompileFile(name, []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		return jobs.SourceOf(p)
	}
	a := compile("/dev/fd/63", "server {\n  background fn wa(n) { print(n) }\n}\n")
	b := compile("/dev/fd/63", "server {\n  background fn wb(n) { print(n) }\n}\n")
	again := compile("/dev/fd/63", "server {\n  background fn wa(n) { print(n) }\n}\n")
	if a == b || a != again || !strings.HasPrefix(a, "piped-") {
		t.Errorf("piped programs named %q, %q and (a again) %q", a, b, again)
	}
	if jobs.JobsFileOf(a) == jobs.JobsFileOf(b) || jobs.ProgramSchema(a) == jobs.ProgramSchema(b) {
		t.Errorf("queues %s and %s", jobs.JobsFileOf(a), jobs.JobsFileOf(b))
	}
	for _, name := range []string{"/dev/stdin", "/proc/self/fd/0"} {
		if got := compile(name, "print(1)\n"); !strings.HasPrefix(got, "piped-") {
			t.Errorf("%s: named %q", name, got)
		}
	}
	if got := compile("/srv/app/app.tova", "print(1)\n"); got != "/srv/app/app.tova" {
		t.Errorf("a file's program named %q", got)
	}
}
