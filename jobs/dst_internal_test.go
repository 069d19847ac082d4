package jobs

import (
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // America/New_York on a machine without a zone database

	"tova/internal/schedpattern"
)

// At DST changes a cron job at fixed times runs as crontab(5) runs it:
// once on the day the clock goes back over its time (it ran twice), and
// just after the change on the day the clock skips its time (it did not
// run that day). A wildcard job runs by the new time.
func TestCronAcrossDSTChanges(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	runs := func(pattern string, from, to time.Time) []string {
		t.Helper()
		s, _, err := schedpattern.Parse(pattern)
		if err != nil {
			t.Fatal(err)
		}
		c := localCron{s: s, fixed: !schedpattern.Wildcard(s), loc: ny}
		var out []string
		for at := c.Next(from); at.Before(to) && len(out) < 50; at = c.Next(at) {
			out = append(out, at.In(ny).Format("01-02 15:04 MST"))
		}
		return out
	}
	// 2026-11-01: 02:00 EDT is 01:00 EST.
	back := time.Date(2026, 10, 31, 12, 0, 0, 0, ny)
	if got := runs("30 1 * * *", back, back.Add(48*time.Hour)); strings.Join(got, ", ") != "11-01 01:30 EDT, 11-02 01:30 EST" {
		t.Errorf("30 1 * * * over the fall back: %v", got)
	}
	if got := runs("30 2 * * *", back, back.Add(48*time.Hour)); strings.Join(got, ", ") != "11-01 02:30 EST, 11-02 02:30 EST" {
		t.Errorf("30 2 * * * over the fall back: %v", got)
	}
	if got := runs("*/30 1 * * *", back.Add(12*time.Hour), back.Add(16*time.Hour)); strings.Join(got, ", ") != "11-01 01:00 EDT, 11-01 01:30 EDT, 11-01 01:00 EST, 11-01 01:30 EST" {
		t.Errorf("*/30 1 * * * (a wildcard job) over the fall back: %v", got)
	}
	// 2026-03-08: 02:00 EST is 03:00 EDT.
	fwd := time.Date(2026, 3, 7, 12, 0, 0, 0, ny)
	if got := runs("30 2 * * *", fwd, fwd.Add(48*time.Hour)); strings.Join(got, ", ") != "03-08 03:00 EDT, 03-09 02:30 EDT" {
		t.Errorf("30 2 * * * over the spring forward: %v", got)
	}
	if got := runs("0 3 * * *", fwd, fwd.Add(48*time.Hour)); strings.Join(got, ", ") != "03-08 03:00 EDT, 03-09 03:00 EDT" {
		t.Errorf("0 3 * * * over the spring forward: %v", got)
	}
	if got := runs("15 2,4 * * *", fwd, fwd.Add(24*time.Hour)); strings.Join(got, ", ") != "03-08 03:00 EDT, 03-08 04:15 EDT" {
		t.Errorf("15 2,4 * * * over the spring forward: %v", got)
	}
}

// A schedule with a CRON_TZ= zone keeps crontab's DST rules in that
// zone, whatever the host's: its changes were looked for in the host's
// zone, where a host change could pass for a skipped run.
func TestCronZonePrefixAcrossDSTChanges(t *testing.T) {
	ny, err1 := time.LoadLocation("America/New_York")
	host, err2 := time.LoadLocation("Europe/Berlin")
	if err1 != nil || err2 != nil {
		t.Skip("no time zone database")
	}
	s, _, err := schedpattern.Parse("CRON_TZ=America/New_York 30 2 * * *")
	if err != nil {
		t.Fatal(err)
	}
	c := localCron{s: s, fixed: !schedpattern.Wildcard(s), loc: host}
	var got []string
	from := time.Date(2026, 3, 7, 12, 0, 0, 0, ny)
	for at := c.Next(from); at.Before(from.Add(48*time.Hour)) && len(got) < 5; at = c.Next(at) {
		got = append(got, at.In(ny).Format("01-02 15:04 MST"))
	}
	if strings.Join(got, ", ") != "03-08 03:00 EDT, 03-09 02:30 EDT" {
		t.Errorf("CRON_TZ=America/New_York 30 2 * * * on a Berlin host over New York's spring forward: %v", got)
	}
}
