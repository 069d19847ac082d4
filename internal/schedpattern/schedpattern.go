// Package schedpattern reads the patterns of `schedule` declarations,
// shared by the compiler (which refuses a bad literal at its
// declaration) and the jobs runtime (which runs them).
//
// A cron expression's five fields are read here, in crontab(5) terms
// (day of week 0–7, both 0 and 7 being Sunday), and handed to the cron
// library rewritten as plain lists of values, which it takes as they
// are: its own reading knows no day 7, and its errors quote what it
// was given rather than what the program says.
package schedpattern

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"tova/frontend/diag"
)

// MinInterval is the shortest interval a schedule may have. The
// reference counts intervals in whole seconds ("30s", "5m", "1h"); a
// shorter one would keep the queue storing a tick several times a
// second, and the cron library's own @every rounds one up to a second.
const MinInterval = time.Second

// descriptors are the cron descriptors a pattern may be (besides @every).
var descriptors = []string{"yearly", "annually", "monthly", "weekly", "daily", "midnight", "hourly", "every"}

// Parse reads a schedule pattern: a standard 5-field cron expression
// ("*/5 * * * *", also "@hourly" and the like, and a "CRON_TZ=Zone "
// prefix; day of week 0–7, both 0 and 7 being Sunday), or an interval
// ("30s", "5m", "1h", "1d", any Go duration of at least MinInterval,
// whole days and weeks first as a Duration prints them, also
// written "@every 90s"). It returns the cron schedule, or the interval.
func Parse(pattern string) (cron.Schedule, time.Duration, error) {
	p := strings.TrimSpace(pattern)
	switch {
	case p == "":
		return nil, 0, fmt.Errorf("empty schedule pattern")
	case strings.HasPrefix(p, "@every ") || strings.HasPrefix(p, "@every\t"):
		d, err := interval(strings.TrimSpace(p[len("@every"):]))
		if err != nil {
			return nil, 0, fmt.Errorf("bad schedule %q: %v", pattern, err)
		}
		return nil, d, nil
	case strings.ContainsAny(p, " \t") || strings.HasPrefix(p, "@"):
		spec, starred, err := normalize(p)
		if err == nil {
			var s cron.Schedule
			if s, err = cron.ParseStandard(spec); err == nil {
				if ss, ok := s.(*cron.SpecSchedule); ok {
					// A field written from a star ("*/2") is marked as
					// one, as crontab(5) reads it: the two day fields
					// then combine with AND (with OR only when both are
					// restricted), and a minute or hour so written makes
					// the job a wildcard one, which DST changes do not
					// move (see Wildcard). The library knows a star only
					// as "*", which "*/2" is not once written as a list.
					for i, f := range []*uint64{&ss.Minute, &ss.Hour, &ss.Dom, &ss.Dow} {
						if starred[i] {
							*f |= starBit
						}
					}
				}
				// Every pattern that matches a date matches one within
				// four years (29 February); the cron library looks five
				// ahead and gives the zero time when none does.
				if s.Next(neverFrom).IsZero() {
					return nil, 0, fmt.Errorf("bad cron expression %q: no date matches it (the day of month is never in the month), so it would never fire", pattern)
				}
				return s, 0, nil
			}
		}
		if f := strings.Fields(p); len(f) == 2 && strings.EqualFold(f[0], "@every") && f[0] != "@every" {
			return nil, 0, fmt.Errorf("bad cron expression %q: did you mean @every %s? descriptors are written in lower case", pattern, f[1])
		}
		if d, ok := strings.CutPrefix(p, "@"); ok && !strings.ContainsAny(d, " \t") {
			// (the library's "unrecognized descriptor: @hourli")
			lower := strings.ToLower(d)
			hint := "@yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly or @every <duration>"
			switch near := diag.Closest(lower, descriptors); {
			case lower == "every":
				return nil, 0, fmt.Errorf("bad cron expression %q: @every needs an interval: @every 5m", pattern)
			case strings.HasPrefix(lower, "every"):
				hint = "did you mean @every " + d[len("every"):] + "?"
			case slices.Contains(descriptors, lower):
				hint = "did you mean @" + lower + "? descriptors are written in lower case"
			case near != "":
				hint = "did you mean @" + near + "?"
			}
			return nil, 0, fmt.Errorf("bad cron expression %q: unknown descriptor @%s (%s)", pattern, d, hint)
		}
		return nil, 0, fmt.Errorf("bad cron expression %q: %v", pattern, err)
	}
	if _, err := ParseDuration(p); err != nil {
		if DurationText.MatchString(p) || errors.Is(err, ErrDurationRange) {
			// written as one, too long for one
			return nil, 0, fmt.Errorf("bad schedule %q: an interval is at most 2562047h (about 292 years)", pattern)
		}
		return nil, 0, fmt.Errorf("bad schedule %q: expected a 5-field cron expression or an interval such as \"30s\", \"5m\", \"1h\"", pattern)
	}
	d, err := interval(p)
	if err != nil {
		return nil, 0, fmt.Errorf("bad schedule %q: %v", pattern, err)
	}
	return nil, d, nil
}

// DurationText matches the text of a duration as Go writes one (30s,
// 1h30m), whatever its size: text that time.ParseDuration refuses only
// for being too long.
var DurationText = regexp.MustCompile(`^[-+]?([0-9]*\.?[0-9]+(ns|us|µs|ms|s|m|h))+$`)

// neverFrom is where a cron expression is looked for a first match.
var neverFrom = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// daysRE reads the weeks and days a Duration's text may begin with
// (2d, 1w3d12h: as a Duration prints), which Go's durations lack.
var daysRE = regexp.MustCompile(`^([-+]?)(?:([0-9]+)w)?(?:([0-9]+)d)?(.*)$`)

// ErrDurationRange is ParseDuration's error of a duration written well
// but too long for one (106752d: past about 292 years).
var ErrDurationRange = errors.New("time: duration out of range")

// ParseDuration reads a duration written as text: Go's form (30s,
// 1h30m, 500ms), with whole weeks and days first (2d, 1d12h), as a
// Tova Duration prints. (An env Duration, a handler's parameter and a
// schedule's interval read it alike.)
func ParseDuration(raw string) (time.Duration, error) {
	text := strings.TrimSpace(raw)
	m := daysRE.FindStringSubmatch(text)
	if m == nil || m[2] == "" && m[3] == "" {
		return time.ParseDuration(text)
	}
	var days int64
	for unit, s := range map[int64]string{7: m[2], 1: m[3]} {
		if s == "" {
			continue
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n > math.MaxInt64/int64(24*time.Hour)/unit {
			return 0, fmt.Errorf("%w: %q", ErrDurationRange, raw) // (digits only: too many)
		}
		days += n * unit
	}
	if days > math.MaxInt64/int64(24*time.Hour) {
		return 0, fmt.Errorf("%w: %q", ErrDurationRange, raw)
	}
	d := time.Duration(days) * 24 * time.Hour
	if rest := m[4]; rest != "" {
		if strings.HasPrefix(rest, "-") || strings.HasPrefix(rest, "+") {
			return 0, fmt.Errorf("time: invalid duration %q", raw)
		}
		r, err := time.ParseDuration(rest)
		if err != nil && DurationText.MatchString(rest) {
			return 0, fmt.Errorf("%w: %q", ErrDurationRange, raw) // (written well: too long)
		}
		if err != nil {
			return 0, fmt.Errorf("time: invalid duration %q", raw)
		}
		if r > math.MaxInt64-d {
			return 0, fmt.Errorf("%w: %q", ErrDurationRange, raw)
		}
		d += r
	}
	if m[1] == "-" {
		d = -d
	}
	return d, nil
}

// interval reads a duration of at least MinInterval.
func interval(s string) (time.Duration, error) {
	d, err := ParseDuration(s)
	switch {
	case err != nil && (DurationText.MatchString(s) || errors.Is(err, ErrDurationRange)):
		return 0, fmt.Errorf("an interval is at most 2562047h (about 292 years)")
	case err != nil:
		return 0, fmt.Errorf("expected an interval such as \"30s\", \"5m\", \"1h\"")
	}
	if d < MinInterval {
		return 0, fmt.Errorf("an interval is at least %v", MinInterval)
	}
	return d, nil
}

// field is one field of a cron expression: its name in messages, its
// bounds and the names it accepts for its values.
type field struct {
	name     string
	min, max int
	names    []string // names[i] is value min+i
	sunday7  bool     // day of week: 7 is Sunday, as 0 is
}

var fields = [5]field{
	{name: "minute", max: 59},
	{name: "hour", max: 23},
	{name: "day of month", min: 1, max: 31},
	{name: "month", min: 1, max: 12, names: []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}},
	{name: "day of week", max: 7, names: []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}, sunday7: true},
}

// normalize checks a cron expression and writes each of its five fields
// as "*" (a star, which matters to how day of month and day of week
// combine) or as the list of its values, day 7 of the week as 0.
// Descriptors ("@daily") and a time zone prefix are left as they are.
//
// starred says whether the minute, the hour, the day of month and the
// day of week are written from a star (`*`, `*/2`, `?`).
func normalize(p string) (_ string, starred [4]bool, _ error) {
	words := strings.Fields(p)
	var zone string
	if strings.HasPrefix(words[0], "CRON_TZ=") || strings.HasPrefix(words[0], "TZ=") {
		zone, words = words[0]+" ", words[1:]
	}
	if len(words) == 1 && strings.HasPrefix(words[0], "@") {
		return zone + words[0], starred, nil
	}
	if len(words) != 5 {
		return "", starred, fmt.Errorf("expected 5 fields (minute, hour, day of month, month, day of week), found %d", len(words))
	}
	for j, i := range []int{0, 1, 2, 4} {
		starred[j] = strings.HasPrefix(words[i], "*") || strings.HasPrefix(words[i], "?")
	}
	out := make([]string, 5)
	for i, f := range fields {
		vals, star, err := f.read(words[i])
		if err != nil {
			return "", starred, err
		}
		if star {
			out[i] = "*"
			continue
		}
		if f.sunday7 && vals[7] {
			vals[0], vals[7] = true, false
		}
		var list []string
		for v, on := range vals {
			if on {
				list = append(list, strconv.Itoa(v))
			}
		}
		out[i] = strings.Join(list, ",")
	}
	return zone + strings.Join(out, " "), starred, nil
}

// starBit is the cron library's mark of a field written as a star.
const starBit = 1 << 63

// Wildcard reports whether s runs every minute or every hour of its days
// (its minute or hour is written from a star): crontab(5) runs such a
// job by the new time at a DST change, where it runs a job at a fixed
// time once on the day the clock goes back and soon after the change on
// the day the time it names is skipped.
func Wildcard(s cron.Schedule) bool {
	ss, ok := s.(*cron.SpecSchedule)
	return !ok || ss.Minute&starBit != 0 || ss.Hour&starBit != 0
}

// read reads one field: a comma-separated list of items, each `*` (or
// `?`), a value or a range `a-b`, maybe followed by `/step`; `a/step`
// runs from a to the field's maximum. It returns the values it takes,
// and whether an item is a star (with no step).
func (f field) read(text string) ([]bool, bool, error) {
	vals := make([]bool, f.max+1)
	star := false
	for _, item := range strings.Split(text, ",") {
		bad := func(err error) ([]bool, bool, error) {
			return nil, false, fmt.Errorf("%s %q: %v", f.name, item, err)
		}
		if item == "" {
			return nil, false, fmt.Errorf("%s %q: an empty item in the list", f.name, text)
		}
		span, stepText, stepped := strings.Cut(item, "/")
		step := 1
		if stepped {
			n, err := strconv.Atoi(stepText)
			if err != nil || n < 1 {
				return bad(fmt.Errorf("expected a positive step after /, found %q", stepText))
			}
			if n > f.max-f.min+1 {
				// (*/61 ran at minute 0 alone, as a typo's *\/6 would not)
				return bad(fmt.Errorf("a step of %d is past the field's range, %d-%d: it would take its first value alone", n, f.min, f.max))
			}
			step = n
		}
		lo, hi := f.min, f.max
		if span == "*" || span == "?" {
			star = star || step == 1
		} else {
			first, last, isRange := strings.Cut(span, "-")
			switch {
			case span == "":
				return bad(fmt.Errorf("a number, a range or * is missing before /"))
			case isRange && first == "":
				return bad(fmt.Errorf("a number is missing before - (a value is never negative)"))
			case isRange && last == "":
				return bad(fmt.Errorf("a number is missing after - (a range is written 1-5)"))
			}
			var err error
			if lo, err = f.value(first); err != nil {
				return bad(err)
			}
			switch {
			case isRange:
				if hi, err = f.value(last); err != nil {
					return bad(err)
				}
			case !stepped:
				hi = lo
			}
			if lo > hi {
				return bad(fmt.Errorf("the range starts after it ends"))
			}
		}
		for v := lo; v <= hi; v += step {
			vals[v] = true
		}
	}
	return vals, star, nil
}

// value reads one value of the field: a number within its bounds, or a
// name (of a month or a day, in any case).
func (f field) value(s string) (int, error) {
	for i, name := range f.names {
		if strings.EqualFold(s, name) {
			return f.min + i, nil
		}
	}
	n, err := strconv.Atoi(s)
	switch {
	case errors.Is(err, strconv.ErrRange) && strings.Trim(s, "+0123456789") == "":
		return 0, fmt.Errorf("%s is above the maximum, %d", s, f.max)
	case err != nil || n < 0:
		if len(f.names) > 0 {
			return 0, fmt.Errorf("expected a number from %d to %d or a name (%s–%s), found %q", f.min, f.max, f.names[0], f.names[len(f.names)-1], s)
		}
		return 0, fmt.Errorf("expected a number from %d to %d, found %q", f.min, f.max, s)
	case n < f.min:
		return 0, fmt.Errorf("%d is below the minimum, %d", n, f.min)
	case n > f.max:
		return 0, fmt.Errorf("%d is above the maximum, %d", n, f.max)
	}
	return n, nil
}
