package jobs_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"tova/driver"
	"tova/jobs"
	"tova/jobs/jobstest"
	"tova/vm"
)

const errorsSrc = `
server "w" {
  fn unknown() { spawn_job("nope", 1) }
  fn anonymous() { spawn_job(fn(x) x, 1) }
  fn not_a_job() { spawn_job(42) }
  // A lambda bound to a name is named so, but is no background fn,
  // even when the name is one's.
  fn named_lambda() { helper = fn(x) x; spawn_job(helper, 1) }
  fn shadowing_lambda() { var work = fn(x) x * 100; spawn_job(work, 1) }
  fn bad_topic() { publish(42, 1) }
  // A second payload was dropped without a word (written out, it is a
  // compile error: serve's TestUnheardTopicWarned).
  fn two_payloads() { var more = [1, 2]; publish("t", ...more) }
  fn job_id_arg() { job_id(1) }
  fn job_attempt_arg() { job_attempt("x") }
  // A function in the arguments was dropped (nil) on the way.
  fn fn_arg() { spawn_job(work, Ok(5), fn(x) x) }
  fn fn_nested() { spawn_job(work, { a: [1, { f: len }] }) }
  fn fn_event() { publish("t", { cb: fn() 1 }) }
  // Infinity and NaN, which JSON has no form for, arrived as nil.
  fn inf_arg() { spawn_job(work, 1, 1e308 * 10.0) }
  fn nan_event() { var x = 1e308 * 10.0; publish("t", { ratio: 0.5, nan: x - x }) }
  // in a lazy sequence, which only its encoding runs
  fn nan_in_seq() { var x = 1e308 * 10.0; spawn_job(work, iter([1.5, x - x])) }
  fn inf_in_seq_event() { publish("t", iter([1e308 * 10.0])) }
  fn elsewhere() { spawn_job("audit", 5) }
  // Named by reference, another server's background fn was undefined.
  fn elsewhere_ref() { spawn_job(audit, 6) }
  background fn work(x) { x }
}
server "other" {
  background fn audit(x) { print("audit {x} in other") }
}
`

// spawn_job and publish reject what they cannot run, at the call site.
func TestSpawnJobErrors(t *testing.T) {
	be := sqliteBackend(t)
	app := startApp(t, errorsSrc, be)
	for fn, want := range map[string]string{
		"unknown":          `JobError: spawn_job: unknown background job "nope" (background fns: audit, work)`,
		"anonymous":        "TypeError: spawn_job: expected a background fn or its name, got an anonymous function",
		"not_a_job":        "TypeError: spawn_job: expected a background fn or its name, got Int",
		"named_lambda":     "TypeError: spawn_job: expected a background fn or its name, got the function helper, which is not one",
		"shadowing_lambda": "TypeError: spawn_job: expected a background fn or its name, got the function work, which is not one",
		"bad_topic":        "TypeError: publish: expected a topic String, got Int",
		"two_payloads":     "TypeError: publish takes 1 or 2 arguments (topic, payload), got 3",
		"job_id_arg":       "TypeError: job_id takes no arguments, got 1",
		"job_attempt_arg":  "TypeError: job_attempt takes no arguments, got 1",
		"fn_arg":           "TypeError: spawn_job: argument 2 is a Function: a job's arguments are stored as JSON, and a function cannot be",
		"fn_nested":        "TypeError: spawn_job: argument 1 at .a[1].f is a Function: a job's arguments are stored as JSON, and a function cannot be",
		"fn_event":         "TypeError: publish: the payload at .cb is a Function: an event is stored as JSON, and a function cannot be",
		"inf_arg":          "ValueError: spawn_job: argument 2 is Infinity: JSON has no form for a Float that is not finite (Infinity, -Infinity, NaN), so it cannot be sent to a job",
		"nan_in_seq":       "JobError: spawn_job: arguments must be serialisable to JSON: ValueError: a value is NaN: JSON has no form for a Float that is not finite (Infinity, -Infinity, NaN)",
		"inf_in_seq_event": "JobError: publish: the payload must be serialisable to JSON: ValueError: a value is Infinity: JSON has no form for a Float that is not finite (Infinity, -Infinity, NaN)",
		"nan_event":        "ValueError: publish: the payload (at nan) is NaN: JSON has no form for a Float that is not finite (Infinity, -Infinity, NaN), so it cannot be sent in an event",
	} {
		_, err := app.Server("w").Call(context.Background(), fn)
		ve, ok := err.(*vm.Error)
		if !ok || ve.Kind+": "+ve.Msg != want {
			t.Errorf("%s: got %v, want %s", fn, err, want)
		}
	}
	// a background fn of another server runs there
	app.call(t, "w", "elsewhere")
	waitFor(t, 10*time.Second, "the other server's job", func() bool { return len(app.out.Lines("audit 5 in other")) == 1 })
	app.call(t, "w", "elsewhere_ref")
	waitFor(t, 10*time.Second, "the other server's job, by reference", func() bool { return len(app.out.Lines("audit 6 in other")) == 1 })
}

// spawn_job and publish called in a server block's body, before its
// jobs start, said "background jobs are not running in this server",
// as if they never would.
func TestSpawnJobDuringSetup(t *testing.T) {
	for _, call := range []string{"spawn_job(work, 1)", `publish("t", 1)`} {
		p, err := driver.CompileFile("app.tova", []byte("server \"w\" {\n  background fn work(x) { x }\n  "+call+"\n}\n"))
		if err != nil {
			t.Fatal(err)
		}
		fn := call[:strings.IndexByte(call, '(')]
		want := "JobError: " + fn + " cannot be called while the server block is being set up (its jobs start after it): call it from on_start or a handler"
		_, err = jobstest.Start(context.Background(), p, jobstest.Options{Dir: t.TempDir()})
		var ve *vm.Error
		if !errors.As(err, &ve) || ve.Kind+": "+ve.Msg != want {
			t.Errorf("%s: got %v, want %s", call, err, want)
		}
	}
}

// A job past its timeout is cut (the VM stops at its next backward jump)
// and the attempt fails with the timeout, and where its code was (it
// was kept without a stack or a position). So does each of several:
// when the VM saw the deadline before the pool did, the attempt failed
// with "execution cancelled: context deadline exceeded".
func TestJobTimeout(t *testing.T) {
	be := sqliteBackend(t)
	app := startApp(t, `
server "w" {
  jobs { timeout: 200.milliseconds, max_attempts: 1 }
  fn kick() { for i in range(6) { spawn_job(spin) } }
  background fn spin() { var i = 0; while true { i += 1 } }
}`, be)
	app.call(t, "w", "kick")
	var ds []jobs.Job
	waitFor(t, 20*time.Second, "the jobs discarded", func() bool {
		ds = listJobs(t, be, jobs.StateDiscarded)
		return len(ds) == 6
	})
	for _, d := range ds {
		if len(d.Errors) != 1 || !regexp.MustCompile(`^Timeout: timed out after 200ms\n  at spin \(app\.tova:5:\d+\)`).MatchString(d.Errors[0]) {
			t.Errorf("errors = %q", d.Errors)
		}
	}
	// Its log line has a kind, as every failure's has.
	if !regexp.MustCompile(`"kind":"Timeout".*"message":"timed out after 200ms"`).MatchString(app.logs.String()) {
		t.Errorf("log: %s", app.logs.String())
	}
}

// Bad configuration stops the server from starting, naming the key.
func TestConfigErrors(t *testing.T) {
	for src, want := range map[string]string{
		`server "w" { jobs { workers: 0 } }`:      "jobs.workers: expected a positive Int, got 0",
		`server "w" { jobs { workers: 100000 } }`: "jobs.workers: expected at most 10000 workers, got 100000",
		`server "w" { jobs { retries: 3 } }`:      "jobs.retries: unknown key",
		`server "w" { jobs { timeout: "soon" } }`: `jobs.timeout: expected a duration such as 30.seconds, got "soon"`,
		// (the larger was taken without a word)
		`server "w" { jobs { backoff: 10.seconds, max_backoff: 1.seconds } }`: "jobs.max_backoff: 1s is less than backoff (10s)",
	} {
		p, err := driver.CompileFile("app.tova", []byte(src))
		if err != nil {
			t.Fatalf("compile %s: %v", src, err)
		}
		_, err = jobstest.Start(context.Background(), p, jobstest.Options{Dir: t.TempDir()})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", src, err, want)
		}
	}
}

// A bad schedule pattern is refused by the compiler, at the pattern
// (spec/errors/schedules.tova), and by the runtime for a program
// compiled before that check: both with the same words.
func TestBadSchedulePatterns(t *testing.T) {
	for src, want := range map[string]string{
		`server "w" { schedule "x" cron("61 * * * *") { print(1) } }`: `app.tova:1:32: schedule "x": bad cron expression "61 * * * *"`,
		`server "w" { schedule "5min" fn f() { print(1) } }`:          `app.tova:1:23: schedule "f": bad schedule "5min"`,
	} {
		if _, err := driver.CompileFile("app.tova", []byte(src)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", src, err, want)
		}
	}
	if _, err := jobs.ParseSchedule("61 * * * *", time.Now()); err == nil || !strings.Contains(err.Error(), `bad cron expression "61 * * * *"`) {
		t.Errorf("ParseSchedule: %v", err)
	}
}

// In a script (tova run) there is no queue: spawn_job runs the job at
// once, a failure (a throw, or an Err returned) is reported on stderr
// with where it was and the stack, publish reaches nobody.
func TestScriptRunsJobsInline(t *testing.T) {
	p, err := driver.CompileFile("script.tova", []byte(`
fn work(x) { print("inline {x.a} job_id={job_id()}") }
fn broken() { throw "nope" }
fn declined(x) {
  Err("declined {x}")
}
r = spawn_job(work, { a: 1 })
spawn_job(broken)
try { spawn_job("work", 1) } catch e { print(e.message) }
spawn_job(declined, 2)
print("after {r} {publish("topic", 1)}")
fn early(x) {
  if x > 1 { return Err("early {x}") }
  Ok(x)
}
spawn_job(early, 3)
`))
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if err := driver.Run(context.Background(), p, vm.Config{Stdout: &out, Stderr: &errOut}); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "inline 1 job_id=nil\n"+
		"spawn_job: background job \"work\" named by a String in a script: tova run has no queue and runs a job at once given the background fn itself (spawn_job(work, ...))\n"+
		"after nil 0\n"; got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}
	if got, want := errOut.String(), "job broken failed: script.tova:3:15: Error: nope\n  at broken (script.tova:3:15)\n  at main (script.tova:8:10)\n"+
		"job declined failed: script.tova:5:6: returned Err(\"declined 2\")\n  at declined (script.tova:5:6)\n"+
		"job early failed: script.tova:13:24: returned Err(\"early 3\")\n  at early (script.tova:13:24)\n"; got != want {
		t.Errorf("stderr = %q", got)
	}
}

// A queue file that cannot be opened or created (a directory in its
// place, as here, or a directory the server's user cannot write) says
// so, with its absolute path: it read "unable to open database file:
// out of memory (14)".
func TestQueueFileThatCannotBeOpened(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "queue.db"), 0o755); err != nil {
		t.Fatal(err)
	}
	p, err := driver.CompileFile("app.tova", []byte(`server "w" {
  jobs { database: "queue.db" }
  background fn f() { print(1) }
}`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = jobstest.Start(context.Background(), p, jobstest.Options{Dir: dir})
	want := `server "w": jobs.database: jobs queue ` + filepath.Join(dir, "queue.db") + ": cannot open or create the file (is its directory there and writable, and the path not a directory?)"
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
	// A file where its directory would be: the mkdir's error, with the
	// path in full.
	os.WriteFile(filepath.Join(dir, "afile"), nil, 0o644)
	p, err = driver.CompileFile("app.tova", []byte(`server "w" {
  jobs { database: "afile/q.db" }
  background fn f() { print(1) }
}`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = jobstest.Start(context.Background(), p, jobstest.Options{Dir: dir})
	want = `server "w": jobs.database: jobs queue ` + filepath.Join(dir, "afile", "q.db") + ": cannot create its directory: mkdir " + filepath.Join(dir, "afile") + ": not a directory"
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
}
