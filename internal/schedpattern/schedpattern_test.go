package schedpattern

import (
	"strings"
	"testing"
	"time"
)

// weekdays lists the days of the week a daily-at-midnight pattern fires
// on, over one week from a Monday.
func weekdays(t *testing.T, pattern string) string {
	t.Helper()
	s, _, err := Parse(pattern)
	if err != nil {
		t.Fatalf("%q: %v", pattern, err)
	}
	from := time.Date(2026, 3, 2, 12, 0, 0, 0, time.Local) // a Monday
	var days []string
	for at := s.Next(from); at.Before(from.AddDate(0, 0, 7)); at = s.Next(at) {
		days = append(days, at.Weekday().String()[:3])
	}
	return strings.Join(days, " ")
}

// Day of week 7 (Sunday) was refused in a stepped range or as a range's
// start ("1-7/2", "7-7", "7/1"), and a day past 7 was said to be above 6.
func TestDayOfWeekSeven(t *testing.T) {
	for pattern, want := range map[string]string{
		"0 0 * * 7":       "Sun",
		"0 0 * * 0-7":     "Tue Wed Thu Fri Sat Sun Mon",
		"0 0 * * 5-7":     "Fri Sat Sun",
		"0 0 * * 6,7":     "Sat Sun",
		"0 0 * * 1-7/2":   "Wed Fri Sun Mon",
		"0 0 * * 5-7/2":   "Fri Sun",
		"0 0 * * 0-7/7":   "Sun",
		"0 0 * * 7/1":     "Sun",
		"0 0 * * 7-7":     "Sun",
		"0 0 * * 5/2":     "Fri Sun", // a/step runs to 7
		"0 0 * * */2":     "Tue Thu Sat Sun",
		"0 0 * * mon-FRI": "Tue Wed Thu Fri Mon",
		"0 0 * * sun":     "Sun",
		"0 0 * * ?":       "Tue Wed Thu Fri Sat Sun Mon",
	} {
		if got := weekdays(t, pattern); got != want {
			t.Errorf("%q fires on %s, want %s", pattern, got, want)
		}
	}
}

// Day of month and day of week still combine as in crontab: either one
// when both are restricted, both when one is a star.
func TestDayFieldsCombine(t *testing.T) {
	from := time.Date(2026, 3, 2, 12, 0, 0, 0, time.Local) // Monday 2 March
	for pattern, want := range map[string]string{
		"0 0 13 * 7":   "2026-03-08", // the 13th or a Sunday: Sunday the 8th
		"0 0 13 * *":   "2026-03-13",
		"0 0 * * 7":    "2026-03-08",
		"0 0 1 * 1":    "2026-03-09", // the 1st or a Monday
		"0 0 1 4 *":    "2026-04-01",
		"*/20 * * * *": "2026-03-02",
		// A field written from a star with a step is a star: both must
		// match (it was the odd days or the Fridays, Friday the 6th).
		"0 0 */2 * 5":   "2026-03-13", // an odd day that is a Friday
		"0 0 */7 * 5":   "2026-05-01", // the 1st, 8th, ... that is a Friday
		"0 0 13 * */2":  "2026-06-13", // the 13th that is a Sun, Tue, Thu or Sat
		"0 0 1,13 * 5":  "2026-03-06", // both restricted: either
		"0 0 ?/2 * 1-5": "2026-03-03",
	} {
		s, _, err := Parse(pattern)
		if err != nil {
			t.Fatalf("%q: %v", pattern, err)
		}
		if got := s.Next(from).Format("2006-01-02"); got != want {
			t.Errorf("%q next after %s: %s, want %s", pattern, from.Format("2006-01-02"), got, want)
		}
	}
}

// Bad patterns were refused in the words of the cron library about a
// rewritten expression ("7-6"), with a wrong maximum ("6") or Go's
// strconv text; sub-second and zero intervals were taken.
func TestBadPatterns(t *testing.T) {
	for pattern, want := range map[string]string{
		"* * * * 8":                   `bad cron expression "* * * * 8": day of week "8": 8 is above the maximum, 7`,
		"0 0 * * 1-8/2":               `day of week "1-8/2": 8 is above the maximum, 7`,
		"0 0 * * 7-6":                 `day of week "7-6": the range starts after it ends`,
		"0 0 * * 1/0":                 `day of week "1/0": expected a positive step after /, found "0"`,
		"*/61 * * * *":                `minute "*/61": a step of 61 is past the field's range, 0-59: it would take its first value alone`,
		"0 0 * * mon,,fri":            `day of week "mon,,fri": an empty item in the list`,
		"0 0 * * funday":              `day of week "funday": expected a number from 0 to 7 or a name (sun–sat), found "funday"`,
		"9999999999999999999 * * * *": `bad cron expression "9999999999999999999 * * * *": minute "9999999999999999999": 9999999999999999999 is above the maximum, 59`,
		"61 * * * *":                  `minute "61": 61 is above the maximum, 59`,
		"0 0 0 * *":                   `day of month "0": 0 is below the minimum, 1`,
		"0 0 * 13 *":                  `month "13": 13 is above the maximum, 12`,
		"* * * *":                     `bad cron expression "* * * *": expected 5 fields (minute, hour, day of month, month, day of week), found 4`,
		"0 0 0 * * *":                 `found 6`,
		"@every 0s":                   `bad schedule "@every 0s": an interval is at least 1s`,
		"@every 500ms":                `bad schedule "@every 500ms": an interval is at least 1s`,
		"@every soon":                 `bad schedule "@every soon": expected an interval such as "30s", "5m", "1h"`,
		"1ms":                         `bad schedule "1ms": an interval is at least 1s`,
		"0s":                          `bad schedule "0s": an interval is at least 1s`,
		// a half-written item, and an interval too long for one
		"-1 * * * *":       `minute "-1": a number is missing before - (a value is never negative)`,
		"5- * * * *":       `minute "5-": a number is missing after - (a range is written 1-5)`,
		"/5 * * * *":       `minute "/5": a number, a range or * is missing before /`,
		"10000000h":        `bad schedule "10000000h": an interval is at most 2562047h (about 292 years)`,
		"@every 10000000h": `bad schedule "@every 10000000h": an interval is at most 2562047h (about 292 years)`,
		"-5s":              `bad schedule "-5s": an interval is at least 1s`,
		"@every 106752d":   `bad schedule "@every 106752d": an interval is at most 2562047h (about 292 years)`,
		"@every 1d-1h":     `bad schedule "@every 1d-1h": expected an interval such as "30s", "5m", "1h"`,
		"1dx":              `bad schedule "1dx": expected a 5-field cron expression or an interval such as "30s", "5m", "1h"`,
		"5min":             `bad schedule "5min": expected a 5-field cron expression or an interval such as "30s", "5m", "1h"`,
		"@fortnightly":     `bad cron expression "@fortnightly": unknown descriptor @fortnightly (@yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly or @every <duration>)`,
		"@hourli":          `bad cron expression "@hourli": unknown descriptor @hourli (did you mean @hourly?)`,
		"@HOURLY":          `unknown descriptor @HOURLY (did you mean @hourly? descriptors are written in lower case)`,
		"@every":           `bad cron expression "@every": @every needs an interval: @every 5m`,
		"@every5m":         `unknown descriptor @every5m (did you mean @every 5m?)`,
		"@Every 5m":        `bad cron expression "@Every 5m": did you mean @every 5m? descriptors are written in lower case`,
		// No date matches: the cron library gave the zero time as the
		// next run, which the queue took as "now", again and again.
		"0 0 31 2 *":             `bad cron expression "0 0 31 2 *": no date matches it`,
		"0 0 31 4,6,9,11 *":      `no date matches it`,
		"CRON_TZ=UTC 0 0 30 2 *": `no date matches it`,
	} {
		_, _, err := Parse(pattern)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %s", pattern, err, want)
		}
	}
}

// A date that comes once in four years is a date.
func TestLeapDayMatches(t *testing.T) {
	s, _, err := Parse("0 0 29 2 *")
	if err != nil {
		t.Fatal(err)
	}
	if next := s.Next(time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)); next.Year() != 2028 {
		t.Errorf("29 February after March 2025: %v", next)
	}
}

func TestIntervals(t *testing.T) {
	for pattern, want := range map[string]time.Duration{
		"1s": time.Second, "1.5s": 1500 * time.Millisecond, "5m": 5 * time.Minute, "@every 90s": 90 * time.Second, " 1h ": time.Hour,
		// Whole weeks and days first, as a Duration prints (@every 1d
		// was refused, though the hint for @Every 1d named it).
		"@every 1d": 24 * time.Hour, "2d": 48 * time.Hour, "@every 1w2d12h": 9*24*time.Hour + 12*time.Hour,
	} {
		s, d, err := Parse(pattern)
		if err != nil || s != nil || d != want {
			t.Errorf("%q: %v, %v, %v; want the interval %v", pattern, s, d, err, want)
		}
	}
}

func TestZonePrefix(t *testing.T) {
	s, _, err := Parse("CRON_TZ=Asia/Tokyo 30 9 * * 7")
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	if got := s.Next(from).UTC().Format("2006-01-02 15:04"); got != "2026-03-08 00:30" { // Sunday 9:30 in Tokyo
		t.Errorf("next: %s", got)
	}
	if _, _, err := Parse("CRON_TZ=Nowhere/Land 0 0 * * *"); err == nil || !strings.Contains(err.Error(), "Nowhere/Land") {
		t.Errorf("bad zone: %v", err)
	}
	if _, _, err := Parse("TZ=UTC @daily"); err != nil {
		t.Errorf("zone and descriptor: %v", err)
	}
}
