package stdlib

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"tova/frontend/diag"
	"tova/vm"
)

// The date functions of the reference's standard library. They take a
// Date (Date.new, date_from, date_parse, date_add) or Unix milliseconds
// (now(), Date.now()), and work in UTC.
func init() {
	reg("date_parse", ps("s"), bDateParseResult)
	reg("date_from", ps("parts"), bDateFrom)
	reg("date_format", ps("d", "fmt"), bDateFormat)
	reg("date_add", ps("d", "amount", "unit"), bDateAdd)
	reg("date_diff", ps("d1", "d2", "unit"), bDateDiff)
	reg("date_part", ps("d", "part"), bDatePart)
	reg("time_ago", ps("d"), bTimeAgo)
}

// A Date is a time in the years 1 to 9999, in UTC: the years whose ISO
// 8601 text has four digits, so that every Date prints as text that
// date_parse, a handler's Date parameter and the database read back (the
// database stores no others). Every way to make a Date (Date.new,
// date_from, date_parse, date_add, a handler's parameter) and Unix
// milliseconds given for one refuse a time outside them: a ValueError,
// never a wrapped time.
const (
	minDateMillis = -62135596800000 // 0001-01-01T00:00:00.000Z
	maxDateMillis = 253402300799999 // 9999-12-31T23:59:59.999Z
	dateYears     = "dates are in the years 1 to 9999"
)

// datePartLimits bound the parts of a date (year, month, day, hour,
// minute, second, millisecond) to 20000 years' worth of their unit: a
// part past that cannot make a date in range with the others, and
// refusing it first keeps the arithmetic that carries parts over
// (month 13 is the next year's January) far from overflowing.
var (
	datePartNames  = [7]string{"year", "month", "day", "hour", "minute", "second", "millisecond"}
	datePartLimits = [7]int64{20_000, 240_000, 7_304_850, 175_316_400, 10_518_984_000, 631_139_040_000, 631_139_040_000_000}
)

// InDateRange reports whether tm is in the years a Date can be in (and
// a model stores): 1 to 9999.
func InDateRange(tm time.Time) bool {
	y := tm.UTC().Year()
	return y >= 1 && y <= 9999
}

// UnixMilliDate is the time of ms Unix milliseconds; ok is false when it
// is outside the years a Date can be in.
func UnixMilliDate(ms int64) (tm time.Time, ok bool) {
	if ms < minDateMillis || ms > maxDateMillis {
		return time.Time{}, false
	}
	return time.UnixMilli(ms).UTC(), true
}

// millisDate reads v, Unix milliseconds as an Int or a Float, as a time.
func millisDate(fname string, v vm.Value) (time.Time, error) {
	ms := int64(math.MaxInt64)
	if v.Kind() == vm.KInt {
		ms = v.AsInt()
	} else if f := v.AsFloat(); f > -1e16 && f < 1e16 {
		ms = int64(f)
	}
	if tm, ok := UnixMilliDate(ms); ok {
		return tm, nil
	}
	return time.Time{}, valueErr("%s: %s milliseconds is out of range (%s)", fname, vm.Repr(v), dateYears)
}

// datePart reads v as part number i of a date (see datePartLimits). ok
// is false when v is no Int.
func datePart(fname string, i int, v vm.Value) (n int64, ok bool, err error) {
	n, ok = toInt(v)
	if ok && (n < -datePartLimits[i] || n > datePartLimits[i]) {
		err = valueErr("%s: %s %d is out of range (%s)", fname, datePartNames[i], n, dateYears)
	}
	return n, ok, err
}

// partsDate is the time of date parts year, month (from 1), day, hour,
// minute, second and millisecond, each within datePartLimits, carried
// over as in JavaScript.
func partsDate(fname string, p [7]int64) (time.Time, error) {
	tm := time.Date(int(p[0]), time.Month(p[1]), int(p[2]), int(p[3]), int(p[4]), int(p[5]), 0, time.UTC)
	ms := tm.UnixMilli() + p[6]
	if tm, ok := UnixMilliDate(ms); ok {
		return tm, nil
	}
	return time.Time{}, valueErr("%s: the year %d is out of range (%s)", fname, time.UnixMilli(ms).UTC().Year(), dateYears)
}

// dateArg reads argument i as a time: a Date, Unix milliseconds, or a
// date text that date_parse reads.
func dateArg(fname string, args []vm.Value, i int) (time.Time, error) {
	switch v := arg(args, i); v.Kind() {
	case vm.KHost:
		if d, ok := v.AsHost().(*Date); ok {
			return d.T.UTC(), nil
		}
	case vm.KInt, vm.KFloat:
		return millisDate(fname, v)
	case vm.KString:
		if tm, ok := ParseDateText(v.AsString()); ok {
			return tm.UTC(), nil
		}
		return time.Time{}, valueErr("%s: invalid date %s", fname, strconv.Quote(v.AsString()))
	}
	return time.Time{}, typeErr(fname, "Date or Int milliseconds", arg(args, i))
}

// date_parse(s) is Ok(Date) or Err("Invalid date: s").
func bDateParseResult(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	if v := arg(args, 0); v.Kind() != vm.KString {
		// (a missing query value, nil: an Err for the match the docs
		// write, as json_parse's, not a TypeError failing the request)
		return vm.Err(vm.Str("Invalid date: " + vm.Repr(v))), nil
	}
	s, err := str("date_parse", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	if tm, ok := ParseDateText(strings.TrimSpace(s)); ok {
		return vm.Ok(DateValue(tm.UTC())), nil
	}
	return vm.Err(vm.Str("Invalid date: " + s)), nil
}

// date_from({ year, month, day, hour, minute, second, millisecond }): month is
// 1-based; missing parts are the start of their range (month 1, day 1,
// 00:00:00); out-of-range parts carry over, as in JavaScript.
func bDateFrom(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	o, err := object("date_from", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	for _, k := range o.Keys() {
		if !slices.Contains(datePartNames[:], k) {
			msg := fmt.Sprintf("date_from: unknown part %s (its parts are %s)", k, strings.Join(datePartNames[:], ", "))
			if c := diag.Closest(strings.TrimSuffix(k, "s"), datePartNames[:]); c != "" || slices.Contains(datePartNames[:], strings.TrimSuffix(k, "s")) {
				if c == "" {
					c = strings.TrimSuffix(k, "s")
				}
				msg = fmt.Sprintf("date_from: unknown part %s (did you mean %s?)", k, c)
			}
			return vm.Nil, valueErr("%s", msg)
		}
	}
	p := [7]int64{1970, 1, 1}
	for i, name := range datePartNames {
		v, has := o.Get(name)
		if !has || v.IsNil() {
			continue
		}
		n, ok, err := datePart("date_from", i, v)
		if !ok {
			return vm.Nil, valueErr("date_from: %s must be an Int, got %s", name, vm.Repr(v))
		}
		if err != nil {
			return vm.Nil, err
		}
		p[i] = n
	}
	tm, err := partsDate("date_from", p)
	if err != nil {
		return vm.Nil, err
	}
	return DateValue(tm), nil
}

// date_format(d, fmt): the presets "iso", "date", "time" and "datetime",
// or a pattern of the tokens YYYY, MM, DD, HH, mm and ss.
func bDateFormat(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	tm, err := dateArg("date_format", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	f := "iso"
	if v := arg(args, 1); !v.IsNil() {
		if f, err = str("date_format", args, 1); err != nil {
			return vm.Nil, err
		}
	}
	switch f {
	case "iso":
		return vm.Str(tm.Format(isoLayout)), nil
	case "date":
		f = "YYYY-MM-DD"
	case "time":
		f = "HH:mm:ss"
	case "datetime":
		f = "YYYY-MM-DD HH:mm:ss"
	}
	r := strings.NewReplacer(
		"YYYY", fmt.Sprintf("%04d", tm.Year()),
		"MM", fmt.Sprintf("%02d", int(tm.Month())),
		"DD", fmt.Sprintf("%02d", tm.Day()),
		"HH", fmt.Sprintf("%02d", tm.Hour()),
		"mm", fmt.Sprintf("%02d", tm.Minute()),
		"ss", fmt.Sprintf("%02d", tm.Second()),
	)
	return vm.Str(r.Replace(f)), nil
}

// dateUnits are the units of date_add and date_diff, with the length of
// those that have one (years and months count on the calendar).
var dateUnits = map[string]time.Duration{
	"year": 0, "month": 0,
	"week": 7 * 24 * time.Hour, "day": 24 * time.Hour,
	"hour": time.Hour, "minute": time.Minute, "second": time.Second,
}

// dateUnit reads a unit name: years, months, weeks, days, hours,
// minutes, seconds (also singular). length is 0 for years and months.
func dateUnit(fname string, args []vm.Value, i int) (unit string, length time.Duration, err error) {
	u, err := str(fname, args, i)
	if err != nil {
		return "", 0, err
	}
	one := strings.TrimSuffix(strings.ToLower(u), "s")
	length, ok := dateUnits[one]
	if !ok {
		return "", 0, valueErr("%s: unknown unit %s (years, months, weeks, days, hours, minutes, seconds)", fname, strconv.Quote(u))
	}
	return one, length, nil
}

// date_add(d, amount, unit) is a new Date, as is date_add(d, duration)
// (date_add(d, 90.minutes)).
func bDateAdd(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	tm, err := dateArg("date_add", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	if by := arg(args, 1); by.Kind() == vm.KDuration {
		if len(args) > 2 {
			return vm.Nil, vm.TypeErrorf("date_add: a Duration amount (%s) takes no unit, got %s", vm.Repr(by), vm.Repr(args[2]))
		}
		return shiftedDate("date_add", tm, time.Duration(by.AsDuration()))
	}
	n, ok := toInt(arg(args, 1))
	if !ok {
		return vm.Nil, typeErr("date_add", "Int amount", arg(args, 1))
	}
	unit, length, err := dateUnit("date_add", args, 2)
	if err != nil {
		return vm.Nil, err
	}
	// The amounts are bounded first: a time.Duration holds only 292
	// years, and n * length may pass an Int.
	const msPerDay = 24 * 60 * 60 * 1000
	per := length.Milliseconds()
	far := per == 0 && (n < -datePartLimits[1] || n > datePartLimits[1]) ||
		per > 0 && (n < (minDateMillis-maxDateMillis)/per || n > (maxDateMillis-minDateMillis)/per)
	switch {
	case far:
	case unit == "year":
		tm = tm.AddDate(int(n), 0, 0)
	case unit == "month":
		tm = tm.AddDate(0, int(n), 0)
	default:
		tm = tm.AddDate(0, 0, int(n*per/msPerDay)).Add(time.Duration(n*per%msPerDay) * time.Millisecond)
	}
	if far || !InDateRange(tm) {
		return vm.Nil, valueErr("date_add: %d %ss is too far (%s)", n, unit, dateYears)
	}
	return DateValue(tm), nil
}

// date_diff(d1, d2, unit) is d2 - d1 in whole units, rounded toward
// negative infinity (months count calendar months, years the year
// numbers' difference, as the reference's); without a unit, in
// milliseconds.
func bDateDiff(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	a, err := dateArg("date_diff", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	b, err := dateArg("date_diff", args, 1)
	if err != nil {
		return vm.Nil, err
	}
	if arg(args, 2).Kind() == vm.KNil {
		return vm.Int(b.UnixMilli() - a.UnixMilli()), nil // no unit: milliseconds, as the reference's
	}
	unit, length, err := dateUnit("date_diff", args, 2)
	if err != nil {
		return vm.Nil, err
	}
	if length == 0 {
		if unit == "year" {
			return vm.Int(int64(b.Year() - a.Year())), nil
		}
		return vm.Int(int64(b.Year()-a.Year())*12 + int64(b.Month()-a.Month())), nil
	}
	ms, per := b.UnixMilli()-a.UnixMilli(), length.Milliseconds()
	q := ms / per
	if ms%per != 0 && ms < 0 {
		q--
	}
	return vm.Int(q), nil
}

// date_part(d, part): year, month (1-based), day, hour, minute, second,
// or weekday (0 is Sunday).
func bDatePart(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	tm, err := dateArg("date_part", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	p, err := str("date_part", args, 1)
	if err != nil {
		return vm.Nil, err
	}
	var n int
	switch p {
	case "year":
		n = tm.Year()
	case "month":
		n = int(tm.Month())
	case "day":
		n = tm.Day()
	case "hour":
		n = tm.Hour()
	case "minute":
		n = tm.Minute()
	case "second":
		n = tm.Second()
	case "weekday":
		n = int(tm.Weekday())
	default:
		return vm.Nil, valueErr("date_part: unknown part %s (year, month, day, hour, minute, second, weekday)", strconv.Quote(p))
	}
	return vm.Int(int64(n)), nil
}

// time_ago(d) says how long ago d was ("just now", "1 minute ago",
// "3 hours ago", "2 days ago", "3 months ago", "1 year ago"), or how
// far ahead ("in 5 minutes").
// timeAgoUnits are time_ago's units, each with how many of it make the
// next.
var timeAgoUnits = []struct {
	name string
	next int64
}{{"second", 60}, {"minute", 60}, {"hour", 24}, {"day", 30}, {"month", 12}, {"year", 0}}

func bTimeAgo(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	tm, err := dateArg("time_ago", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	// In milliseconds: a time.Duration holds only 292 years.
	d := t.In.Cfg.Now().UnixMilli() - tm.UnixMilli()
	future := d < 0
	if future {
		d = -d
	}
	// Each unit is counted whole, from the one below it, as the
	// reference does: 3599 s is 59 minutes, 360 days 12 months, a year.
	n := d / 1000
	if n < 1 {
		return vm.Str("just now"), nil
	}
	i := 0
	for timeAgoUnits[i].next > 0 && n >= timeAgoUnits[i].next {
		n /= timeAgoUnits[i].next
		i++
	}
	unit := timeAgoUnits[i].name
	if n != 1 {
		unit += "s"
	}
	if future {
		return vm.Str(fmt.Sprintf("in %d %s", n, unit)), nil
	}
	return vm.Str(fmt.Sprintf("%d %s ago", n, unit)), nil
}
