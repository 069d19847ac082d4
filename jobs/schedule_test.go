package jobs_test

import (
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
		{"30s", "2026-03-02 10:00:10", "2026-03-02 10:00:40"},
		{"5m", "2026-03-02 10:00:10", "2026-03-02 10:05:10"},
		{"1h", "2026-03-02 10:00:10", "2026-03-02 11:00:10"},
	} {
		s, err := jobs.ParseSchedule(c.pattern)
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
		if _, err := jobs.ParseSchedule(bad); err == nil {
			t.Errorf("%q: no error", bad)
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
