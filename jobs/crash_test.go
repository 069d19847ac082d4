package jobs_test

import (
	"context"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"tova/jobs"
	"tova/jobs/jobstest"
)

const crashSrc = `
server "api" {
  fn kick() { for i in range(24) { spawn_job("work", i) } }
}
server "worker" {
  jobs { workers: 4 }
  background fn work(i) {
    print("start {i}")
    sleep(600.milliseconds) // long enough that the kill finds some running on a busy machine
    print("done {i}")
  }
}
`

// A worker process killed with SIGKILL in the middle of jobs loses none:
// after a restart every job's effect appears, including those of the
// jobs it was running when it died.
func TestCrashRecovery(t *testing.T) {
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			prog := writeProgram(t, crashSrc)
			app := startApp(t, crashSrc, be, onlyServers("api"))
			first := startChild(t, prog, be, "worker")
			app.call(t, "api", "kick") // spawn_job from another server: routed to worker's queue
			// kill once some jobs are done and others are running
			waitFor(t, 20*time.Second, "some jobs done and some running", func() bool {
				done := len(first.out.Lines("done "))
				return done >= 6 && len(first.out.Lines("start ")) > done
			})
			for _, j := range listJobs(t, be, "running") {
				if j.Orphaned {
					t.Errorf("job %d, running in a live process, is listed as orphaned", j.ID)
				}
			}
			first.kill()
			before := first.out.String()
			interrupted := map[string]bool{}
			for _, l := range first.out.Lines("start ") {
				i := strings.TrimPrefix(l, "start ")
				if !strings.Contains(before, "done "+i+"\n") {
					interrupted[i] = true
				}
			}
			if len(interrupted) == 0 {
				t.Fatalf("no job was running at the kill:\n%s", before)
			}
			// Until a worker runs again, `tova jobs` lists them as
			// running, with their process gone.
			running := listJobs(t, be, "running")
			if len(running) == 0 {
				t.Errorf("no job listed as running after the kill")
			}
			for _, j := range running {
				if !j.Orphaned {
					t.Errorf("job %d, left running by the killed process, is not listed as orphaned", j.ID)
				}
			}
			second := startChild(t, prog, be, "worker")
			done := func() map[string]bool {
				m := map[string]bool{}
				for _, l := range append(first.out.Lines("done "), second.out.Lines("done ")...) {
					m[strings.TrimPrefix(l, "done ")] = true
				}
				return m
			}
			waitFor(t, 30*time.Second, "every job done", func() bool { return len(done()) == 24 })
			for i := range interrupted {
				if !strings.Contains(second.out.String(), "done "+i+"\n") {
					t.Errorf("job %s, interrupted by the kill, did not complete after the restart", i)
				}
			}
			waitFor(t, 5*time.Second, "no unfinished job", func() bool { return len(listJobs(t, be)) == 0 })
			second.stop()
		})
	}
}

const lastAttemptSrc = `
server "api" {
  fn kick() { spawn_job("hang", 1) }
}
server "worker" {
  jobs { max_attempts: 2 }
  background fn hang(i) {
    print("start {i}")
    sleep(60.seconds)
  }
}
`

// A job whose process dies (SIGKILL, out of memory) in the middle of its
// last attempt is discarded by the next start, that attempt counted: a
// job that brings its process down is not run by every restart for
// ever, past its max_attempts, in a crash loop.
func TestCrashOnLastAttemptDiscards(t *testing.T) {
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			prog := writeProgram(t, lastAttemptSrc)
			app := startApp(t, lastAttemptSrc, be, onlyServers("api"))
			first := startChild(t, prog, be, "worker")
			app.call(t, "api", "kick")
			waitFor(t, 20*time.Second, "the first attempt running", func() bool { return len(first.out.Lines("start ")) == 1 })
			time.Sleep(300 * time.Millisecond) // (so that the hand-back is well after it was due)
			first.kill()
			// The first attempt is spent; the job runs again, its second and last.
			second := startChild(t, prog, be, "worker")
			waitFor(t, 20*time.Second, "the second attempt running", func() bool { return len(second.out.Lines("start ")) == 1 })
			r := listJobs(t, be, "running")
			if len(r) != 1 || r[0].Attempt != 2 || r[0].MaxAttempts != 2 {
				t.Fatalf("running after the first kill: %+v", r)
			}
			// It is listed as due when it was stored, not when it was
			// handed back, and the crash as its first attempt's.
			if d := r[0].ScheduledAt.Sub(r[0].CreatedAt); d < -time.Millisecond || d > 100*time.Millisecond {
				t.Errorf("scheduled %v after it was stored", d)
			}
			var b strings.Builder
			jobs.Format(&b, r, false)
			if !strings.Contains(b.String(), "    attempt 1, ") || !strings.Contains(b.String(), ": the process running this job stopped, or stopped answering (killed, crashed or paused); the job was handed back to the queue") {
				t.Errorf("listed:\n%s", b.String())
			}
			second.kill()
			third := startChild(t, prog, be, "worker")
			waitFor(t, 20*time.Second, "the job discarded", func() bool { return len(listJobs(t, be, "discarded")) == 1 })
			d := listJobs(t, be, "discarded")[0]
			if n := len(d.Errors); n != 2 || !strings.Contains(d.Errors[1], "during the job's last attempt (2 of 2), or just after it, before its end was stored; the job was discarded") {
				t.Errorf("the discarded job's errors: %q", d.Errors)
			}
			time.Sleep(500 * time.Millisecond)
			if n := len(third.out.Lines("start ")); n != 0 {
				t.Errorf("the third process ran the job %d times past its max_attempts", n)
			}
			if logs := third.errs.String(); !strings.Contains(logs, "discarded jobs a dead process was running on their last attempt") || strings.Contains(logs, "handed back") {
				t.Errorf("the start's log of the discard:\n%s", logs)
			}
			third.stop()
		})
	}
}

const stopSrc = `
server "api" {
  fn kick() { for i in range(2) { spawn_job("long", i) } }
}
server "worker" {
  jobs { workers: 2, max_attempts: 1 }
  background fn long(i) {
    print("start {i}")
    sleep(30.seconds)
    print("done {i}")
  }
}
`

// A graceful stop that cuts running jobs short hands them back to the
// queue with their attempt not spent: a job on its last attempt is not
// discarded, and a deploy does not use up retries.
func TestGracefulStopHandsJobsBack(t *testing.T) {
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			prog := writeProgram(t, stopSrc)
			app := startApp(t, stopSrc, be, onlyServers("api"))
			w := startChildEnv(t, prog, be, []string{jobstest.EnvDrain + "=300ms"}, "worker")
			app.call(t, "api", "kick")
			waitFor(t, 20*time.Second, "both jobs running", func() bool { return len(w.out.Lines("start ")) == 2 })
			w.stop()
			if d := listJobs(t, be, "discarded"); len(d) != 0 {
				t.Fatalf("a graceful stop discarded %d jobs: %+v\n%s", len(d), d, w.errs.String())
			}
			left := listJobs(t, be)
			if len(left) != 2 {
				t.Fatalf("%d jobs left after the stop, want 2: %+v", len(left), left)
			}
			for _, j := range left {
				// Back in the queue, its attempt not counted as failed.
				if j.State == "running" || j.State == "retrying" || len(j.Errors) > 0 {
					t.Errorf("job after a graceful stop: %+v", j)
				}
			}
			if !strings.Contains(w.errs.String(), "interrupted as the server stopped; handed back to the queue") {
				t.Errorf("the hand-back was not logged:\n%s", w.errs.String())
			}
		})
	}
}

// After a leader is killed (SIGKILL) and its server restarted at once on
// the same host, schedules fire again within a few seconds: the dead
// process's leadership is released, not left to expire (about 20 s).
func TestScheduleAfterLeaderKilled(t *testing.T) {
	be := sqliteBackend(t)
	src := `
server "w" {
  schedule "1s" fn beat() { print("beat") }
}
`
	prog := writeProgram(t, src)
	first := startChildEnv(t, prog, be, withTick(200*time.Millisecond), "w")
	waitFor(t, 20*time.Second, "the first process's ticks", func() bool { return len(first.out.Lines("beat")) >= 2 })
	first.kill()
	killed := time.Now()
	second := startChildEnv(t, prog, be, withTick(200*time.Millisecond), "w")
	// (a tick that was running at the kill is handed back and runs at
	// once: the second beat is a new tick)
	waitFor(t, 30*time.Second, "a new tick after the restart", func() bool { return len(second.out.Lines("beat")) >= 2 })
	// The lease would expire 15 s after its last renewal, and the next
	// election try comes up to 6 s later.
	if took := time.Since(killed); took > 13*time.Second {
		t.Errorf("the first tick after the restart came %v after the kill", took.Round(time.Millisecond))
	}
	second.stop()
}

// minuteTick gives a queue, a program whose server w prints "beat" at
// every minute, and a minute boundary far enough ahead for processes
// to start before it.
func minuteTick(t *testing.T) (backend, string, time.Time) {
	prog := writeProgram(t, `
server "w" {
  schedule "every_minute" cron("* * * * *") { print("beat") }
}
`)
	due := time.Now().Truncate(time.Minute).Add(time.Minute)
	if time.Until(due) < 8*time.Second {
		due = due.Add(time.Minute)
	}
	return sqliteBackend(t), prog, due
}

// A cron tick falling due after the leader was killed, while its
// leadership still held, is stored by a replica (late) rather than by
// nobody: the lease outlives a killed process by some 20 s, and a
// replica on another host does not see the process gone at all.
func TestCronTickAfterLeaderKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for a minute boundary")
	}
	t.Parallel() // (beside TestCronTickOverARestart: one minute boundary)
	be, prog, due := minuteTick(t)
	leader := startChild(t, prog, be, "w")
	time.Sleep(2 * time.Second) // elected
	replica := startChild(t, prog, be, "w")
	time.Sleep(time.Until(due.Add(-3 * time.Second)))
	leader.kill()
	waitFor(t, time.Until(due.Add(20*time.Second)), "the replica's tick of "+due.Format("15:04"), func() bool {
		return len(replica.out.Lines("beat")) >= 1
	})
	if late := time.Since(due); late > 15*time.Second {
		t.Errorf("the tick ran %v after it was due", late.Round(time.Millisecond))
	}
	replica.stop()
}

// A cron tick falling due while the program's only process was killed
// and not yet restarted (systemd or Docker restarting it a few seconds
// later) is stored, late, by the process that starts next, while the
// dead process's leadership still held then: no replica was watching.
func TestCronTickOverARestart(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for a minute boundary")
	}
	t.Parallel()
	be, prog, due := minuteTick(t)
	first := startChild(t, prog, be, "w")
	time.Sleep(time.Until(due.Add(-3 * time.Second)))
	first.kill()
	time.Sleep(time.Until(due.Add(3 * time.Second)))
	second := startChild(t, prog, be, "w")
	waitFor(t, 15*time.Second, "the tick of "+due.Format("15:04")+" run by the restarted process", func() bool {
		return len(second.out.Lines("beat")) >= 1
	})
	if next := due.Add(time.Minute); time.Now().After(next) {
		t.Fatalf("the beat came after the next tick was due")
	}
	second.stop()
	if n := len(second.out.Lines("beat")); n != 1 {
		t.Errorf("%d beats after the restart, want the one missed tick's", n)
	}
	if !strings.Contains(second.errs.String(), "stored it late") {
		t.Errorf("the late tick was not logged:\n%s", second.errs.String())
	}
}

// A job still running when its server begins to stop finishes within
// the drain, and what it spawns or publishes meanwhile is stored: the
// job it spawns waits in the queue for the next process (none starts
// here once the stop began).
func TestJobThatEnqueuesDuringTheStopStoresIt(t *testing.T) {
	be := sqliteBackend(t)
	src := `
server "w" {
  jobs { max_attempts: 1 }
  fn kick() { spawn_job("work", 1) }
  background fn work(i) {
    print("start {i}")
    sleep(400.milliseconds)
    spawn_job("work", i + 1)
    publish("done", i)
    print("spawned")
  }
  subscribe "done" fn noted(i) { print("noted {i}") }
}
`
	app := startApp(t, src, be)
	app.call(t, "w", "kick")
	waitFor(t, 20*time.Second, "the job running", func() bool { return len(app.out.Lines("start ")) == 1 })
	app.stopWithin(5 * time.Second)
	if len(app.out.Lines("spawned")) != 1 {
		t.Fatalf("the job did not finish within the drain:\n%s", app.logs.String())
	}
	states := map[string][]string{}
	for _, j := range listJobs(t, be, "queued", "running", "retrying", "discarded", "completed", "cancelled") {
		states[j.Name] = append(states[j.Name], j.State)
	}
	if !slices.Equal(states["work"], []string{"queued", "completed"}) && !slices.Equal(states["work"], []string{"completed", "queued"}) || !slices.Equal(states["done"], []string{"queued"}) {
		t.Fatalf("jobs after the stop: %v; want the job completed, the one it spawned and its delivery queued\n%s", states, app.logs.String())
	}
}

// A job still running at the drain's end is cancelled: if it then calls
// spawn_job or publish, which fail on "the jobs runtime has stopped",
// it is handed back as interrupted, its attempt not spent, rather than
// failed.
func TestJobThatEnqueuesAfterTheDrainIsHandedBack(t *testing.T) {
	be := sqliteBackend(t)
	src := `
server "w" {
  jobs { max_attempts: 1 }
  fn kick() { spawn_job("work", 1) }
  background fn work(i) {
    print("start {i}")
    try { sleep(2.seconds) } catch e { print("cut") }
    spawn_job("work", i + 1)
    print("spawned")
  }
}
`
	app := startApp(t, src, be)
	app.call(t, "w", "kick")
	waitFor(t, 20*time.Second, "the job running", func() bool { return len(app.out.Lines("start ")) == 1 })
	app.stopWithin(300 * time.Millisecond)
	if d := listJobs(t, be, "discarded"); len(d) != 0 {
		t.Fatalf("the job was failed by the stop: %+v\n%s", d, app.logs.String())
	}
	left := listJobs(t, be)
	if len(left) != 1 || left[0].State == "retrying" || len(left[0].Errors) > 0 || len(app.out.Lines("spawned")) != 0 {
		t.Fatalf("jobs after the stop: %+v\n%s", left, app.logs.String())
	}
	if !strings.Contains(app.logs.String(), "interrupted as the server stopped; handed back to the queue") {
		t.Errorf("the hand-back was not logged:\n%s", app.logs.String())
	}
}

// Replicas that each find a cron tick missing when it fell due (its
// leader stopped just before, as in a rolling restart) store it once.
// Each looked for a stored tick, then inserted one, and a tick is
// unique only while it is queued or running: one replica's insert that
// came after another's tick had run stored it again (it ran 2 to 4
// times). Here a replica looks, another stores the tick and it runs,
// then the first inserts.
func TestLateTickStoredOnceByManyReplicas(t *testing.T) {
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			app := startApp(t, `
server "w" {
  schedule "yearly" cron("0 0 1 1 *") { print("tick") }
}
`, be)
			r := app.Server("w").Runner
			due := time.Now().Truncate(time.Minute)
			listed, ran := make(chan struct{}), make(chan struct{})
			var calls atomic.Int32
			jobs.SetLateTickListed(func() {
				if calls.Add(1) == 1 {
					close(listed)
					<-ran // the other replica's tick runs meanwhile
				}
			})
			t.Cleanup(func() { jobs.SetLateTickListed(nil) })
			late := make(chan bool)
			go func() {
				ok, err := r.StoreLateTick(context.Background(), "yearly", due)
				if err != nil {
					t.Error(err)
				}
				late <- ok
			}()
			<-listed
			if ok, err := r.StoreLateTick(context.Background(), "yearly", due); !ok || err != nil {
				t.Fatalf("the other replica's store: %v %v", ok, err)
			}
			waitFor(t, 10*time.Second, "the tick's run", func() bool { return len(app.out.Lines("tick")) > 0 })
			time.Sleep(200 * time.Millisecond) // (its job completes)
			close(ran)
			if ok := <-late; ok {
				t.Error("the first replica stored the tick again after it ran")
			}
			time.Sleep(500 * time.Millisecond)
			if n := len(app.out.Lines("tick")); n != 1 {
				t.Errorf("the tick ran %d times", n)
			}
		})
	}
}
