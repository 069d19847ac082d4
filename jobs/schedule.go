package jobs

import (
	"time"

	"github.com/robfig/cron/v3"

	"tova/internal/schedpattern"
)

// Schedule says when a schedule next fires after a given time. It is
// River's PeriodicSchedule.
type Schedule interface {
	Next(after time.Time) time.Time
}

// ParseSchedule reads a schedule pattern (schedpattern.Parse): a
// standard 5-field cron expression ("*/5 * * * *", also "@hourly" and a
// "CRON_TZ=Europe/Paris " prefix), evaluated in the process's local time
// zone and firing on minute boundaries; or an interval ("30s", "5m",
// "1h", "1d", "@every 90s", any Go duration of at least a second, whole
// days and weeks first as a Duration prints them, such as
// "1m30s"), whose ticks fall one interval apart from start on (see
// Interval).
func ParseSchedule(pattern string, start time.Time) (Schedule, error) {
	s, every, err := schedpattern.Parse(pattern)
	switch {
	case err != nil:
		return nil, err
	case s != nil:
		return localCron{s: s, fixed: !schedpattern.Wildcard(s)}, nil
	}
	return Interval(every, start), nil
}

// localCron evaluates a cron schedule in the local time zone whatever
// the zone of the time it is given (the queue's clock is UTC), with
// crontab(5)'s rules at DST changes for a job at fixed times (fixed):
// a time the clock goes back over runs once, not twice, and a time the
// clock skips runs just after the change rather than not at all. (A
// wildcard job, every minute or hour, runs by the new time.)
type localCron struct {
	s     cron.Schedule
	fixed bool
	loc   *time.Location // nil: time.Local
}

func (c localCron) Next(t time.Time) time.Time {
	loc := c.loc
	if ss, ok := c.s.(*cron.SpecSchedule); ok && ss.Location != time.Local {
		loc = ss.Location // a CRON_TZ= prefix's zone: its DST changes count
	}
	if loc == nil {
		loc = time.Local
	}
	t = t.In(loc)
	n := c.s.Next(t)
	if !c.fixed || n.IsZero() {
		return n
	}
	for range 4 {
		// The second time of a wall clock the clock went back over:
		// the first ran (or was due before t).
		if !repeatedWall(n) {
			break
		}
		n = c.s.Next(n)
	}
	if g, ok := skippedRun(c.s, t, n); ok {
		return g
	}
	return n
}

// repeatedWall reports whether the wall clock of n (its zone's) was
// shown before, earlier the same day, before the clock went back.
func repeatedWall(n time.Time) bool {
	_, off := n.Zone()
	_, before := n.Add(-3 * time.Hour).Zone()
	if before <= off {
		return false
	}
	e := n.Add(-time.Duration(before-off) * time.Second) // the same wall clock, before the change
	return e.Hour() == n.Hour() && e.Minute() == n.Minute() && e.Day() == n.Day()
}

// skippedRun finds the first change after t and before n where the
// clock went forward over a wall time s matches: the run it skipped is
// due at the change.
func skippedRun(s cron.Schedule, t, n time.Time) (time.Time, bool) {
	loc := t.Location()
	_, offT := t.Zone()
	_, offN := n.Zone()
	if offN <= offT {
		return time.Time{}, false
	}
	// The change: the first minute whose offset is not t's.
	lo, hi := t, n
	for hi.Sub(lo) > time.Minute {
		mid := lo.Add(hi.Sub(lo) / 2).Truncate(time.Minute)
		if !mid.After(lo) {
			break
		}
		if _, o := mid.Zone(); o == offT {
			lo = mid
		} else {
			hi = mid
		}
	}
	change := hi
	_, offAfter := change.Zone()
	// The wall times skipped: from the change's wall clock by the old
	// offset, for the shift.
	ss, ok := s.(*cron.SpecSchedule)
	if !ok || !change.After(t) {
		return time.Time{}, false
	}
	utc := *ss
	utc.Location = time.UTC
	wall := change.Add(time.Duration(offT) * time.Second).UTC() // the wall clock the old offset shows at the change
	wall = time.Date(wall.Year(), wall.Month(), wall.Day(), wall.Hour(), wall.Minute(), 0, 0, time.UTC)
	for m := time.Duration(0); m < time.Duration(offAfter-offT)*time.Second; m += time.Minute {
		w := wall.Add(m)
		if utc.Next(w.Add(-time.Second)).Equal(w) {
			return change.In(loc), true
		}
	}
	return time.Time{}, false
}

// Interval is the schedule of ticks every d from start: at start+d,
// start+2d, and so on.
func Interval(d time.Duration, start time.Time) Schedule {
	return interval{every: d, start: start.Round(0)} // wall clock: ticks compare exactly
}

type interval struct {
	every time.Duration
	start time.Time
}

// Next returns the first tick after t.
func (iv interval) Next(t time.Time) time.Time {
	n := max(t.Sub(iv.start)/iv.every, 0) // ticks due by t
	return iv.start.Add((n + 1) * iv.every)
}
