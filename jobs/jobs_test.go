package jobs_test

import (
	"strings"
	"testing"
	"time"

	"tova/jobs"
	"tova/jobs/jobstest"
)

const spawnSrc = `
server "w" {
  fn kick() {
    id = spawn_job(work, 1, { name: "ann", tags: [1, 2.5, true, nil] })
    print("spawned {type_of(id)}")
    spawn_job("work", 2, Ok(3))
    spawn_job(work, 4 / 2, [1e18, 2])
  }
  background fn work(n, extra) {
    print("work {n} {json_stringify(extra)} id={job_id()} attempt={job_attempt()}")
    print("types {type_of(n)} {extra |> map(type_of)}")
  }
}
`

func TestSpawnJob(t *testing.T) {
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			app := startApp(t, spawnSrc, be)
			app.call(t, "w", "kick")
			waitFor(t, 10*time.Second, "both jobs", func() bool { return len(app.out.Lines("work ")) == 3 })
			out := app.out.String()
			for _, want := range []string{
				"spawned Int",
				`work 1 {"name":"ann","tags":[1,2.5,true,null]} id=`,
				`work 2 {"value":3} id=`,
				"attempt=1",
				// A Float stays a Float (2.0 in the stored JSON), an Int an Int.
				`types Float ["Float", "Int"]`,
			} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

const retrySrc = `
server "w" {
  jobs { max_attempts: 3, backoff: 100.milliseconds }
  fn kick() { spawn_job(flaky, "x") }
  fn kick_err() { spawn_job(returns_err) }
  background fn flaky(x) {
    print("flaky id={job_id()} attempt={job_attempt()}")
    throw "boom {job_attempt()}"
  }
  background fn returns_err() {
    print("returns_err attempt={job_attempt()}")
    Err("declined")
  }
}
`

// Failures retry with exponential backoff up to max_attempts; then the
// job is kept as discarded with every attempt's error.
func TestRetryBackoffDiscard(t *testing.T) {
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			app := startApp(t, retrySrc, be, func(o *jobstest.Options) { o.Jobs.Backoff = 0 })
			app.call(t, "w", "kick")
			app.call(t, "w", "kick_err")
			var js []jobs.Job
			waitFor(t, 15*time.Second, "two discarded jobs", func() bool {
				js = listJobs(t, be, jobs.StateDiscarded)
				return len(js) == 2
			})
			runs := app.out.Lines("flaky ")
			if len(runs) != 3 {
				t.Fatalf("flaky ran %d times, want 3:\n%s", len(runs), app.out)
			}
			id := strings.Fields(runs[0])[1]
			for i, r := range runs {
				if !strings.Contains(r, id) || !strings.Contains(r, "attempt="+string(rune('1'+i))) {
					t.Errorf("run %d = %q: want the same job id (%s) and attempt %d", i+1, r, id, i+1)
				}
			}
			if n := len(app.out.Lines("returns_err ")); n != 3 {
				t.Errorf("returns_err ran %d times, want 3", n)
			}
			var flaky jobs.Job
			for _, j := range js {
				if j.Name == "flaky" {
					flaky = j
				}
			}
			if len(flaky.Errors) != 3 || !strings.HasPrefix(flaky.Errors[2], "Error: boom 3") || !strings.Contains(flaky.Errors[2], "at flaky") {
				t.Fatalf("flaky errors = %q", flaky.Errors)
			}
			if flaky.Attempt != 3 || flaky.MaxAttempts != 3 || flaky.Server != "w" || flaky.Kind != "job" {
				t.Errorf("flaky = %+v", flaky)
			}
			// attempt k waits within [base·2^(k-2), base·2^(k-1)) after failure k-1
			if g1, g2 := flaky.FailedAt[1].Sub(flaky.FailedAt[0]), flaky.FailedAt[2].Sub(flaky.FailedAt[1]); g1 < 50*time.Millisecond || g2 < 100*time.Millisecond {
				t.Errorf("retry gaps %v, %v: want at least 50ms, 100ms", g1, g2)
			}
			if !strings.Contains(app.logs.String(), `"in":"job flaky"`) {
				t.Errorf("failures not logged:\n%s", app.logs)
			}
			// An Err returned points at where it was returned (the function's
			// last expression here), not at the function's declaration.
			for _, j := range js {
				if j.Name == "returns_err" && (len(j.Errors) != 3 || j.Errors[2] != "returned Err(\"declined\")\n  at returns_err (app.tova:12:8)") {
					t.Errorf("returns_err errors = %q", j.Errors)
				}
			}
			if !strings.Contains(app.logs.String(), `"stack":"  at returns_err (app.tova:12:8)","at":"app.tova:12:8"`) {
				t.Errorf("the Err's failure is logged without where:\n%s", app.logs)
			}
		})
	}
}

const attemptsSrc = `
server "api" {
  jobs { max_attempts: 1 }
  fn kick() {
    spawn_job("charge", 1)
    publish("paid", 1)
  }
}
server "worker" {
  jobs { max_attempts: 2 }
  background fn charge(x) {
    print("charge attempt={job_attempt()}")
    throw "card declined"
  }
  subscribe "paid" fn(x) {
    print("receipt attempt={job_attempt()}")
    throw "mail down"
  }
}
`

// A job and an event delivery were tried as often as the max_attempts of
// the server that stored them said, not that of the server running
// them, also when the two run in separate processes.
func TestMaxAttemptsOfRunningServer(t *testing.T) {
	check := func(t *testing.T, be backend, out interface{ Lines(string) []string }) {
		t.Helper()
		var ds []jobs.Job
		waitFor(t, 20*time.Second, "the job and the delivery discarded", func() bool {
			ds = listJobs(t, be, jobs.StateDiscarded)
			return len(ds) == 2
		})
		time.Sleep(300 * time.Millisecond) // a third attempt would show by now
		if n, m := len(out.Lines("charge ")), len(out.Lines("receipt ")); n != 2 || m != 2 {
			t.Errorf("charge ran %d times, the subscriber %d times: want the worker's max_attempts, 2", n, m)
		}
		for _, j := range ds {
			if j.Attempt != 2 || j.MaxAttempts != 2 {
				t.Errorf("%s %s: attempt %d/%d, want 2/2", j.Kind, j.Name, j.Attempt, j.MaxAttempts)
			}
		}
	}
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			app := startApp(t, attemptsSrc, be)
			app.call(t, "api", "kick")
			check(t, be, app.out)
		})
		t.Run(be.name+"/processes", func(t *testing.T) {
			be := fresh(t, be)
			worker := startChild(t, writeProgram(t, attemptsSrc), be, "worker")
			app := startApp(t, attemptsSrc, be, onlyServers("api"))
			app.call(t, "api", "kick")
			check(t, be, worker.out)
		})
	}
}

// During a rolling deploy the program's next version spawns jobs of a
// background fn the running version does not have, into the queue they
// share: a process of the old version that takes one hands it back, its
// attempt not spent, and the new version runs it (the old one spent an
// attempt on each, and could discard the job).
func TestForeignJobsGoToAProcessThatHasTheFn(t *testing.T) {
	const v1 = `server "w" {
  background fn ping() { print("ping") }
}`
	const v2 = `server "w" {
  background fn ping() { print("ping") }
  background fn resize(n) { print("resized {n}") }
  fn kick() { for i in range(12) { spawn_job(resize, i) } }
}`
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			short := func(o *jobstest.Options) { o.Jobs.ForeignRetry = 20 * time.Millisecond }
			old := startApp(t, v1, be, short)
			next := startApp(t, v2, be, short)
			next.call(t, "w", "kick")
			waitFor(t, 20*time.Second, "12 jobs completed", func() bool {
				return len(listJobs(t, be, jobs.StateCompleted)) == 12
			})
			if n := len(next.out.Lines("resized ")); n != 12 {
				t.Errorf("the new version ran %d of the 12 jobs", n)
			}
			for _, j := range listJobs(t, be, jobs.StateCompleted) {
				if j.Attempt != 1 || len(j.Errors) > 0 {
					t.Errorf("job %d: attempt %d, errors %q: want its first attempt, none spent by the old version", j.ID, j.Attempt, j.Errors)
				}
			}
			if !strings.Contains(old.logs.String(), "handed back to the queue for a process that has it") {
				t.Logf("the old version took none of the jobs (possible, though unlikely): %s", old.logs.String())
			}
		})
	}
}

// A deploy that lowers max_attempts discards a job whose attempts so far
// reach the new bound when it comes up again, without running it once
// more.
func TestLoweredMaxAttemptsDiscardsWithoutRunning(t *testing.T) {
	const v1 = `server "w" {
  jobs { max_attempts: 6 }
  fn kick() { spawn_job("flaky", 1) }
  background fn flaky(x) {
    print("v1 attempt={job_attempt()}")
    if job_attempt() == 3 { sleep(10.seconds) }
    throw "boom"
  }
}`
	const v2 = `server "w" {
  jobs { max_attempts: 2 }
  background fn flaky(x) {
    print("v2 attempt={job_attempt()}")
    throw "boom"
  }
}`
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			old := startApp(t, v1, be)
			old.call(t, "w", "kick")
			waitFor(t, 20*time.Second, "the third attempt", func() bool { return len(old.out.Lines("v1 attempt=3")) == 1 })
			// Stopped, the third attempt goes back unspent: two were made.
			old.stopWithin(200 * time.Millisecond)
			next := startApp(t, v2, be)
			var ds []jobs.Job
			waitFor(t, 20*time.Second, "the job discarded", func() bool {
				ds = listJobs(t, be, jobs.StateDiscarded)
				return len(ds) == 1
			})
			if n := len(next.out.Lines("v2 ")); n != 0 {
				t.Errorf("the new version ran the job %d times:\n%s", n, next.out)
			}
			if e := ds[0].Errors; len(e) == 0 || !strings.Contains(e[len(e)-1], "not run again: the attempts made so far (2) reach this server's max_attempts (2)") {
				t.Errorf("errors %q", e)
			}
			if ds[0].Attempt != 2 || ds[0].MaxAttempts != 2 {
				t.Errorf("listed as %d/%d: want the 2 attempts made, 2/2", ds[0].Attempt, ds[0].MaxAttempts)
			}
			if !strings.Contains(next.logs.String(), `"in":"job flaky"`) {
				t.Errorf("not logged:\n%s", next.logs)
			}
		})
	}
}

// A process of another version that lacks the job's fn hands it back,
// whatever its own max_attempts says of the attempts so far: it was
// discarded by a version with a lower max_attempts that could not run
// it at all.
func TestForeignJobPastAttemptsIsHandedBack(t *testing.T) {
	const v2 = `server "w" {
  jobs { max_attempts: 6 }
  fn kick() { spawn_job("resize", 1) }
  background fn resize(x) {
    print("v2 attempt={job_attempt()}")
    if job_attempt() == 3 { sleep(10.seconds) }
    throw "boom"
  }
}`
	const v1 = `server "w" {
  jobs { max_attempts: 2 }
  background fn ping() { print("ping") }
}`
	be := sqliteBackend(t)
	next := startApp(t, v2, be)
	next.call(t, "w", "kick")
	waitFor(t, 20*time.Second, "the third attempt", func() bool { return len(next.out.Lines("v2 attempt=3")) == 1 })
	next.stopWithin(200 * time.Millisecond)
	old := startApp(t, v1, be, func(o *jobstest.Options) { o.Jobs.ForeignRetry = 20 * time.Millisecond })
	waitFor(t, 20*time.Second, "the job handed back (or discarded)", func() bool {
		return strings.Contains(old.logs.String(), "handed back to the queue for a process that has it") || len(listJobs(t, be, jobs.StateDiscarded)) > 0
	})
	if d := listJobs(t, be, jobs.StateDiscarded); len(d) != 0 {
		t.Fatalf("discarded by a process that lacks its fn: %+v", d)
	}
}

// During a rolling deploy, a tick of a schedule the next version added,
// taken by a process of the running version, goes back to the queue for
// one that has the schedule: it was dropped (and listed as completed).
func TestForeignTicksGoToAProcessThatHasTheSchedule(t *testing.T) {
	const v1 = `server "w" {
  schedule "1s" fn tick() { print("v1 tick") }
}`
	const v2 = `server "w" {
  schedule "1s" fn tick() { print("v2 tick") }
  schedule "1s" fn beat() { print("v2 beat") }
}`
	be := sqliteBackend(t)
	fast := func(o *jobstest.Options) {
		o.Jobs.TickEvery = 100 * time.Millisecond
		o.Jobs.ForeignRetry = 20 * time.Millisecond
	}
	next := startApp(t, v2, be, fast) // first: it leads, and stores every schedule's ticks
	waitFor(t, 20*time.Second, "a beat", func() bool { return len(next.out.Lines("v2 beat")) >= 1 })
	old := startApp(t, v1, be, fast)
	before := len(next.out.Lines("v2 beat"))
	waitFor(t, 30*time.Second, "more beats", func() bool { return len(next.out.Lines("v2 beat")) >= before+6 })
	if strings.Contains(old.logs.String(), "schedule this server does not have; dropped") {
		t.Errorf("the old version dropped a tick of the new schedule:\n%s", old.logs.String())
	}
}

// spawn_job's named arguments bind to the background fn's parameters of
// those names, as a call of it does (they were one object, its first
// argument); a name it has not is a TypeError at the call.
func TestSpawnJobNamedArguments(t *testing.T) {
	be := backends(t)[0]
	app := startApp(t, `
server {
  background fn send_email(to, subject) { print("to={to} subject={subject}") }
  fn kick() {
    spawn_job(send_email, to: "a@x", subject: "Hi")
    spawn_job("send_email", "b@x", subject: "Yo")
    print(try { spawn_job(send_email, too: 1) } catch e { e.message })
    print(try { spawn_job(send_email, subject: "S") } catch e { e.message })
    print(try { spawn_job(send_email, "x", to: "y") } catch e { e.message })
  }
}`, be)
	app.call(t, "", "kick")
	waitFor(t, 10*time.Second, "both jobs", func() bool {
		return strings.Contains(app.out.String(), "to=a@x subject=Hi") && strings.Contains(app.out.String(), "to=b@x subject=Yo")
	})
	for _, want := range []string{"spawn_job: send_email's parameter to comes before one given by name: give it too", "spawn_job: send_email got parameter to twice"} {
		if !strings.Contains(app.out.String(), want) {
			t.Errorf("missing %q: %s", want, app.out.String())
		}
	}
	if !strings.Contains(app.out.String(), "spawn_job: send_email has no parameter named too") {
		t.Errorf("an unknown name: %s", app.out.String())
	}
}
