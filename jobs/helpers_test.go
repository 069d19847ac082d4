package jobs_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"tova/driver"
	"tova/internal/testutil"
	"tova/jobs"
	"tova/jobs/jobstest"
)

func TestMain(m *testing.M) {
	if jobstest.Main() {
		return
	}
	os.Exit(m.Run())
}

// backend is where a test's jobs live.
type backend struct {
	name string
	url  string // jobs.Options.DatabaseURL
}

// backends returns SQLite (a fresh file) and, when TOVA_TEST_DATABASE_URL
// is set, PostgreSQL (a fresh schema). In CI a missing PostgreSQL is a
// failure, not a skip.
func backends(t *testing.T) []backend {
	t.Helper()
	out := []backend{{name: "sqlite", url: filepath.Join(t.TempDir(), "jobs.db")}}
	if u := pgSchemaURL(t); u != "" {
		out = append(out, backend{name: "postgres", url: u})
	}
	return out
}

// testDatabaseURL is the CI's PostgreSQL ($TOVA_TEST_DATABASE_URL), ""
// when there is none; under CI=true there must be one.
func testDatabaseURL(t *testing.T) string {
	t.Helper()
	base := os.Getenv("TOVA_TEST_DATABASE_URL")
	if base == "" && os.Getenv("CI") == "true" {
		t.Fatal("TOVA_TEST_DATABASE_URL is not set: the PostgreSQL tests cannot run in CI without it")
	}
	return base
}

// pgSchemaURL makes a schema for the test in the CI's PostgreSQL and
// returns a URL whose search_path selects it.
func pgSchemaURL(t *testing.T) string {
	t.Helper()
	base := testDatabaseURL(t)
	if base == "" {
		t.Log("TOVA_TEST_DATABASE_URL not set: PostgreSQL variant not run")
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	u, drop, err := testutil.FreshSchema(ctx, base, "tova_jobs_")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { drop() })
	return u
}

type testApp struct {
	*jobstest.App
	out  *testutil.Buffer
	logs *testutil.Buffer
}

// startApp compiles src and runs its servers with their jobs.
func startApp(t *testing.T, src string, be backend, tweak ...func(*jobstest.Options)) *testApp {
	t.Helper()
	return startAppNamed(t, "app.tova", src, be, tweak...)
}

// startAppNamed is startApp of a program whose file is called file.
func startAppNamed(t *testing.T, file, src string, be backend, tweak ...func(*jobstest.Options)) *testApp {
	t.Helper()
	p, err := driver.CompileFile(file, []byte(src))
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	out, logs := &testutil.Buffer{}, &testutil.Buffer{}
	opts := jobstest.Options{
		Dir: t.TempDir(), Stdout: out, Stderr: out, Logger: zerolog.New(logs),
		Jobs: jobs.Options{DatabaseURL: be.url, Backoff: 20 * time.Millisecond, Heartbeat: 200 * time.Millisecond},
	}
	for _, f := range tweak {
		f(&opts)
	}
	app, err := jobstest.Start(context.Background(), p, opts)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		app.Stop(ctx)
	})
	return &testApp{App: app, out: out, logs: logs}
}

// call calls a module-level function of a server.
// stopWithin stops the app as a signal would, its running jobs given d
// to finish (the drain).
func (a *testApp) stopWithin(d time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	a.Stop(ctx)
}

func (a *testApp) call(t *testing.T, server, fn string) {
	t.Helper()
	if _, err := a.Server(server).Call(context.Background(), fn); err != nil {
		t.Fatalf("%s.%s: %v", server, fn, err)
	}
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// child is a jobs host running in another process (this test binary,
// see TestMain), its stdout collected line by line.
type child struct {
	cmd  *exec.Cmd
	out  *testutil.Buffer
	errs *testutil.Buffer
	done chan struct{}
}

// startChild runs the servers of the program file in a new process and
// waits until they run.
func startChild(t *testing.T, program string, be backend, servers ...string) *child {
	return startChildEnv(t, program, be, nil, servers...)
}

// withTick makes a child's schedules tick at this interval.
func withTick(d time.Duration) []string { return []string{jobstest.EnvTick + "=" + d.String()} }

func startChildEnv(t *testing.T, program string, be backend, env []string, servers ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(),
		jobstest.EnvProgram+"="+program,
		jobstest.EnvServers+"="+strings.Join(servers, ","),
		jobstest.EnvDatabase+"="+be.url,
	)
	cmd.Env = append(cmd.Env, env...)
	c := &child{cmd: cmd, out: &testutil.Buffer{}, errs: &testutil.Buffer{}, done: make(chan struct{})}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		io.Copy(c.out, stdout)
	}()
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			fmt.Fprintln(c.errs, sc.Text())
			if sc.Text() == "ready" {
				once.Do(func() { close(ready) })
			}
		}
	}()
	go func() {
		wg.Wait()
		cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() { c.kill() })
	select {
	case <-ready:
	case <-c.done:
		t.Fatalf("child exited before it was ready:\n%s", c.errs.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("child not ready after 20s:\n%s", c.errs.String())
	}
	return c
}

// kill ends the child with SIGKILL: no shutdown code runs.
func (c *child) kill() {
	if c.cmd.Process != nil {
		c.cmd.Process.Signal(syscall.SIGKILL)
	}
	<-c.done
}

// stop ends the child with SIGTERM (a graceful stop).
func (c *child) stop() {
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(15 * time.Second):
		c.kill()
	}
}

// writeProgram writes src to a .tova file in a temporary directory.
func writeProgram(t *testing.T, src string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "app.tova")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// listJobs reads the stored jobs of a backend.
func listJobs(t *testing.T, be backend, states ...string) []jobs.Job {
	t.Helper()
	js, err := jobs.List(context.Background(), be.url, jobs.ListOptions{States: states})
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	return js
}

// onlyServers runs only the named servers in process.
func onlyServers(names ...string) func(*jobstest.Options) {
	return func(o *jobstest.Options) { o.Servers = names }
}

// fresh is a new, empty database of be's kind (a file, or a schema), for
// a test that starts processes of its own on one.
func fresh(t *testing.T, be backend) backend {
	if be.name == "sqlite" {
		return sqliteBackend(t)
	}
	be.url = pgSchemaURL(t)
	return be
}

// sqliteBackend is a fresh SQLite jobs file, for tests of behaviour
// that does not depend on the database.
func sqliteBackend(t *testing.T) backend {
	return backend{name: "sqlite", url: filepath.Join(t.TempDir(), "jobs.db")}
}
