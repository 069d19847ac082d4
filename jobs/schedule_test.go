package jobs_test

import (
	"sort"
	"strings"
	"testing"
	"time"

	"tova/jobs"
	"tova/jobs/jobstest"
)

func TestParseSchedule(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04:05", s, time.Local)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct {
		pattern, from, next string
	}{
		{"*/5 * * * *", "2026-03-02 10:02:30", "2026-03-02 10:05:00"},
		{"*/5 * * * *", "2026-03-02 10:05:00", "2026-03-02 10:10:00"},
		{"0 * * * *", "2026-03-02 10:02:30", "2026-03-02 11:00:00"},
		{"30 9 * * 1", "2026-03-02 10:00:00", "2026-03-09 09:30:00"},  // Mondays 9:30
		{"0 3 * * 7", "2026-03-02 10:00:00", "2026-03-08 03:00:00"},   // 7 is Sunday, as 0 is
		{"0 3 * * 6-7", "2026-03-02 10:00:00", "2026-03-07 03:00:00"}, // Saturday and Sunday
		{"0 3 * * 6-7", "2026-03-07 10:00:00", "2026-03-08 03:00:00"},
		{"@hourly", "2026-03-02 10:59:59", "2026-03-02 11:00:00"},
		// intervals count from the start, here 10:00:00
		{"30s", "2026-03-02 10:00:10", "2026-03-02 10:00:30"},
		{"30s", "2026-03-02 10:00:30", "2026-03-02 10:01:00"},
		{"5m", "2026-03-02 10:00:10", "2026-03-02 10:05:00"},
		{"@every 1h", "2026-03-02 10:00:10", "2026-03-02 11:00:00"},
	} {
		s, err := jobs.ParseSchedule(c.pattern, at("2026-03-02 10:00:00"))
		if err != nil {
			t.Errorf("%q: %v", c.pattern, err)
			continue
		}
		// the queue's clock is UTC; cron fields are local time
		if got := s.Next(at(c.from).UTC()); !got.Equal(at(c.next)) {
			t.Errorf("%q after %s = %s, want %s", c.pattern, c.from, got.Local(), c.next)
		}
	}
	for _, bad := range []string{"", "5min", "* * * *", "0 0 0 * * *", "61 * * * *", "-5s"} {
		if _, err := jobs.ParseSchedule(bad, time.Now()); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestIntervalCountsFromStart(t *testing.T) {
	start := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	s := jobs.Interval(5*time.Second, start)
	for _, c := range []struct{ after, next time.Duration }{
		{0, 5 * time.Second},
		{1300 * time.Millisecond, 5 * time.Second},
		{5 * time.Second, 10 * time.Second}, // the tick after a tick
		{6200 * time.Millisecond, 10 * time.Second},
		{-time.Second, 5 * time.Second}, // (a clock step back)
	} {
		if got := s.Next(start.Add(c.after)).Sub(start); got != c.next {
			t.Errorf("after start+%v: start+%v, want start+%v", c.after, got, c.next)
		}
	}
}

const scheduleSrc = `
server "w" {
  var ticks = 0
  var running = 0
  schedule "ticker" cron("*/5 * * * *") {
    ticks += 1
    running += 1
    if running > 1 { print("overlap") }
    print("tick {ticks} job={job_id()}")
    if ticks == 1 { running -= 1; throw "first tick fails" }
    sleep(300.milliseconds)
    running -= 1
  }
  schedule "2s" fn other() { print("other") }
}
`

// Schedules fire on their ticks (here every 100ms instead of their
// patterns); a failing run is logged and later ticks run; a run still
// going when the next tick comes does not start a second copy.
func TestScheduleFiring(t *testing.T) {
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			app := startApp(t, scheduleSrc, be, func(o *jobstest.Options) { o.Jobs.TickEvery = 100 * time.Millisecond })
			waitFor(t, 15*time.Second, "three ticks", func() bool { return len(app.out.Lines("tick ")) >= 3 })
			start := time.Now()
			n := len(app.out.Lines("tick "))
			time.Sleep(700 * time.Millisecond)
			// each run takes 300ms and ticks come every 100ms: without the
			// overlap guard 700ms of ticks would start ~7 runs
			if got := len(app.out.Lines("tick ")) - n; got > 3 {
				t.Errorf("%d runs in %v: runs piled up", got, time.Since(start))
			}
			if strings.Contains(app.out.String(), "overlap") {
				t.Errorf("two runs of one schedule overlapped:\n%s", app.out)
			}
			if !strings.Contains(app.logs.String(), "first tick fails") {
				t.Errorf("failing tick not logged:\n%s", app.logs)
			}
			if len(app.out.Lines("other")) == 0 {
				t.Errorf("the reference-form schedule never ran")
			}
			ds := listJobs(t, be, jobs.StateDiscarded)
			if len(ds) != 1 || ds[0].Kind != "schedule" || ds[0].Name != "ticker" {
				t.Errorf("discarded = %+v, want the failed tick", ds)
			}
		})
	}
}

const replicaSrc = `
server "w" {
  schedule "beat" cron("* * * * *") { print("beat job={job_id()}") }
}
`

// Two processes running the same server share its schedule: River's
// elected leader enqueues each tick once, and either process runs it.
func TestScheduleOncePerTickAcrossProcesses(t *testing.T) {
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			prog := writeProgram(t, replicaSrc)
			a := startChildEnv(t, prog, be, withTick(300*time.Millisecond), "w")
			b := startChildEnv(t, prog, be, withTick(300*time.Millisecond), "w")
			beats := func() []string { return append(a.out.Lines("beat "), b.out.Lines("beat ")...) }
			waitFor(t, 15*time.Second, "the first tick", func() bool { return len(beats()) > 0 })
			n0 := len(beats())
			time.Sleep(3 * time.Second)
			all := beats()
			// one leader ticking every 300ms gives at most 10 ticks in 3s;
			// two would give up to twice as many
			if n, distinct := len(all)-n0, len(uniqueSorted(all)); n < 4 || n > 11 || distinct != len(all) {
				t.Errorf("%d ticks in 3s from two replicas (%d distinct jobs in %d runs):\n%s", n, distinct, len(all), strings.Join(all, "\n"))
			}
			a.stop()
			b.stop()
		})
	}
}

const beatSrc = `
server "w" {
  schedule "2s" fn beat() { print("beat") }
}
`

// firstBeat is how long after start the app's first beat came.
func firstBeat(t *testing.T, be backend) time.Duration {
	t.Helper()
	start := time.Now()
	app := startApp(t, beatSrc, be)
	waitFor(t, 15*time.Second, "the first beat", func() bool { return len(app.out.Lines("beat")) > 0 })
	d := time.Since(start)
	if d > 2800*time.Millisecond {
		t.Logf("logs:\n%s", app.logs)
	}
	return d
}

// The first tick of an interval came seconds late: an interval after
// River's leader began storing periodic jobs, which it does after random
// pauses (a "5s" schedule ticked first after 8 s), and, when the server
// came back after a kill -9 of the leader, after the dead leader's lease
// had run out too (11.8 s).
func TestIntervalFirstTick(t *testing.T) {
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			if d := firstBeat(t, be); d < 1900*time.Millisecond || d > 2800*time.Millisecond {
				t.Errorf("first tick of a 2s interval %v after start", d)
			}
		})
		t.Run(be.name+"/after kill", func(t *testing.T) {
			be := fresh(t, be)
			leader := startChild(t, writeProgram(t, beatSrc), be, "w")
			// killed between two ticks, none left to run
			waitFor(t, 15*time.Second, "the leader's first tick done", func() bool {
				return len(listJobs(t, be, jobs.StateCompleted)) > 0
			})
			leader.kill()
			if d := firstBeat(t, be); d < 1900*time.Millisecond || d > 2800*time.Millisecond {
				t.Errorf("first tick of a 2s interval %v after a restart", d)
			}
		})
	}
}

// A replica that takes over the leadership keeps the ticks of an
// interval at least an interval apart: its own rhythm, from its own
// start, would have put its first tick right after the last leader's.
func TestIntervalAfterTakeover(t *testing.T) {
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) { intervalAfterTakeover(t, be) })
	}
}

func intervalAfterTakeover(t *testing.T, be backend) {
	ticks := func() []time.Time {
		var at []time.Time
		for _, j := range listJobs(t, be, jobs.StateCompleted, jobs.StateRunning, jobs.StateQueued) {
			at = append(at, j.CreatedAt)
		}
		sort.Slice(at, func(i, j int) bool { return at[i].Before(at[j]) })
		return at
	}
	first := startChild(t, writeProgram(t, beatSrc), be, "w")
	waitFor(t, 15*time.Second, "the first process's first tick", func() bool { return len(ticks()) > 0 })
	time.Sleep(time.Second) // the second process's rhythm is a second off the first's
	second := startApp(t, beatSrc, be)
	n := len(ticks())
	waitFor(t, 15*time.Second, "another tick of the first process", func() bool { return len(ticks()) > n })
	first.stop()
	n = len(ticks())
	waitFor(t, 20*time.Second, "two ticks of the second process", func() bool { return len(ticks()) >= n+2 })
	at := ticks()
	for i := 1; i < len(at); i++ {
		// The second process's rhythm is a second off the first's: a
		// tick of each kept in a takeover would be about 1 s apart. (A
		// tick stored late, its timer fired late under the race detector
		// beside other tests, came 1.8 s after the one before.)
		if gap := at[i].Sub(at[i-1]); gap < 1500*time.Millisecond {
			t.Errorf("ticks %d and %d stored %v apart, less than the interval", i, i+1, gap)
		}
	}
	// The second process's log says when it took the ticks over.
	if logs := second.logs.String(); strings.Count(logs, "jobs: this process now stores the schedules' ticks (the queue's leader)") != 1 {
		t.Errorf("the takeover is not logged once:\n%s", logs)
	}
}

const backlogSrc = `
jobs { workers: 2 }
server "w" {
  schedule "1s" fn beat() { print("beat") }
  background fn slow(i: Int) { print("slow {i}"); sleep(5.seconds) }
  fn fill() { for i in range(0, 20) { spawn_job(slow, i) } }
}
`

// Schedule ticks waited behind background jobs: they were stored on the
// jobs' queue, so with every worker busy and a backlog queued before
// them, a tick ran only once the backlog was done (16 s late behind 30
// one-second jobs) and the ticks due meanwhile were skipped. Here the
// backlog holds both workers for 50 s; the schedule must keep ticking.
func TestScheduleFiresBehindJobBacklog(t *testing.T) {
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			app := startApp(t, backlogSrc, be, func(o *jobstest.Options) { o.Jobs.TickEvery = 200 * time.Millisecond })
			defer app.stopWithin(100 * time.Millisecond)
			app.call(t, "w", "fill")
			waitFor(t, 15*time.Second, "both workers busy", func() bool { return len(app.out.Lines("slow ")) >= 2 })
			n := len(app.out.Lines("beat"))
			// Ticks come every 200 ms; 10 s allows for a loaded machine,
			// while the backlog keeps both workers busy for 50 s.
			waitFor(t, 10*time.Second, "three ticks while the workers are busy", func() bool {
				return len(app.out.Lines("beat")) >= n+3
			})
			if got := len(app.out.Lines("slow ")); got > 4 {
				t.Errorf("%d slow jobs started: the schedule's run took a worker from them, or the backlog did not hold", got)
			}
		})
	}
}
