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
// "1h", "@every 90s", any Go duration of at least a second such as
// "1m30s"), whose ticks fall one interval apart from start on (see
// Interval).
func ParseSchedule(pattern string, start time.Time) (Schedule, error) {
	s, every, err := schedpattern.Parse(pattern)
	switch {
	case err != nil:
		return nil, err
	case s != nil:
		return localCron{s}, nil
	}
	return Interval(every, start), nil
}

// localCron evaluates a cron schedule in the local time zone whatever
// the zone of the time it is given (the queue's clock is UTC).
type localCron struct{ s cron.Schedule }

func (c localCron) Next(t time.Time) time.Time { return c.s.Next(t.In(time.Local)) }

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
