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
// "1m30s"), firing that long after the previous tick, the first one an
// interval after start.
func ParseSchedule(pattern string) (Schedule, error) {
	s, every, err := schedpattern.Parse(pattern)
	switch {
	case err != nil:
		return nil, err
	case s != nil:
		return localCron{s}, nil
	}
	return Every(every), nil
}

// localCron evaluates a cron schedule in the local time zone whatever
// the zone of the time it is given (the queue's clock is UTC).
type localCron struct{ s cron.Schedule }

func (c localCron) Next(t time.Time) time.Time { return c.s.Next(t.In(time.Local)) }

// Every is a fixed interval schedule.
type Every time.Duration

// Next returns t plus the interval.
func (e Every) Next(t time.Time) time.Time { return t.Add(time.Duration(e)) }
