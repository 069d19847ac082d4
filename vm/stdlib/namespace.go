package stdlib

import (
	"fmt"
	"math"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
	"tova/internal/jsonstr"

	"tova/vm"
)

// Namespace is a read-only host object grouping builtins and constants
// (JSON, Math, Date, Process).
type Namespace struct {
	name    string
	members map[string]vm.Value
	// dynamic, when set, computes members that depend on the thread.
	dynamic func(t *vm.Thread, name string) (vm.Value, bool)
}

// NewNamespace makes a namespace value named name with the given members.
func NewNamespace(name string, members map[string]vm.Value) vm.Value {
	return vm.HostValue(&Namespace{name: name, members: members})
}

func (n *Namespace) TypeName() string { return "Object" }

// NamespaceName is its name, for the error of calling it (math(1)).
func (n *Namespace) NamespaceName() string { return n.name }

func (n *Namespace) String() string { return "<namespace " + n.name + ">" }

// GetAttr reads a member: math.PI. A name the namespace lacks is absent
// (has(math, "len") is false, math.len is nil); called, it is an error
// naming the namespace (MissingAttr).
func (n *Namespace) GetAttr(t *vm.Thread, name string) (vm.Value, bool, error) {
	v, ok := n.member(t, name)
	return v, ok, nil
}

// MissingAttr is the error of calling n.name(...) for a name n lacks:
// math.len(x) is no call of the builtin len with math first.
func (n *Namespace) MissingAttr(name string) error {
	return vm.TypeErrorf("%s has no member %s", n.name, name)
}

func (n *Namespace) member(t *vm.Thread, name string) (vm.Value, bool) {
	if v, ok := n.members[name]; ok {
		return v, true
	}
	if n.dynamic != nil {
		if v, ok := n.dynamic(t, name); ok {
			return v, true
		}
	}
	return vm.Nil, false
}

// Has reports whether the namespace has the member name: "sqrt" in
// math, as of an object's key.
func (n *Namespace) Has(name string) bool {
	_, ok := n.members[name]
	return ok
}

// Len is len(math): its members, as an object's keys.
func (n *Namespace) Len() int { return len(n.members) }

// Keys lists the namespace's members, sorted: keys(math).
func (n *Namespace) Keys(t *vm.Thread) ([]string, error) {
	keys := make([]string, 0, len(n.members))
	for k := range n.members {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys, nil
}

// CallMethod calls a member (math.sqrt(2)); a name the namespace lacks
// is an error naming the namespace, not a builtin of that name called
// with the namespace as its first argument.
func (n *Namespace) CallMethod(t *vm.Thread, name string, args []vm.Value) (vm.Value, bool, error) {
	f, ok := n.member(t, name)
	if !ok {
		if _, builtin := vm.LookupBuiltin(name); builtin {
			// keys(math): a builtin offering the namespace the call
			// first takes it back. (math.keys() then reads the member,
			// which GetAttr refuses.)
			return vm.Nil, false, nil
		}
		return vm.Nil, true, vm.TypeErrorf("%s has no member %s", n.name, name)
	}
	v, err := t.Call(f, args...)
	return v, true, err
}

func (n *Namespace) SetAttr(t *vm.Thread, name string, v vm.Value) error {
	return vm.TypeErrorf("cannot assign %s.%s: %s is read-only", n.name, name, n.name)
}

// member makes a namespace function.
func member(ns, name string, params []string, fn func(*vm.Thread, []vm.Value) (vm.Value, error)) vm.Value {
	return vm.BuiltinValue(&vm.Builtin{Name: ns + "." + name, Params: params, Fn: fn})
}

// builtinFn returns the registered builtin named name.
func builtinFn(name string) vm.Value {
	v, ok := vm.LookupBuiltin(name)
	if !ok {
		panic("stdlib: unknown builtin " + name)
	}
	return v
}

func registerNamespaces() {
	// Math: JavaScript's Math object.
	mathNS := map[string]vm.Value{
		"PI":    vm.Float(math.Pi),
		"E":     vm.Float(math.E),
		"LN2":   vm.Float(math.Ln2),
		"LN10":  vm.Float(math.Ln10),
		"SQRT2": vm.Float(math.Sqrt2),
		"min": member("Math", "min", nil, func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
			return mathExtreme("Math.min", args, -1)
		}),
		"max": member("Math", "max", nil, func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
			return mathExtreme("Math.max", args, 1)
		}),
	}
	for _, name := range []string{"floor", "ceil", "round", "trunc", "abs", "sign", "sqrt", "cbrt", "pow",
		"random", "log", "log2", "log10", "exp", "sin", "cos", "tan", "asin", "acos", "atan", "atan2", "hypot"} {
		mathNS[name] = builtinFn(name)
	}
	vm.RegisterValue("Math", NewNamespace("Math", mathNS))

	// Date
	vm.RegisterValue("Date", NewNamespace("Date", map[string]vm.Value{
		"now": member("Date", "now", nil, withArity("Date.now", nil, func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
			return vm.Int(t.In.Cfg.Now().UnixMilli()), nil
		})),
		"new":   member("Date", "new", ps("value"), bDateNew),
		"parse": member("Date", "parse", ps("text"), bDateParse),
	}))

	// Process
	pid := vm.Int(int64(os.Getpid()))
	process := vm.HostValue(&Namespace{
		name: "Process",
		members: map[string]vm.Value{
			"uptime": member("Process", "uptime", nil, withArity("Process.uptime", nil, func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
				return vm.Float(float64(t.In.Cfg.Now().Sub(t.In.Started)) / 1e9), nil // (Seconds() adds the nanoseconds apart: 1.5052148189999999)
			})),
			"pid":      pid,
			"platform": vm.Str(runtime.GOOS),
			"arch":     vm.Str(runtime.GOARCH),
		},
		dynamic: func(t *vm.Thread, name string) (vm.Value, bool) {
			switch name {
			case "args", "argv":
				return strList(t.In.Cfg.Args), true
			case "env":
				return environObject(t), true
			}
			return vm.Nil, false
		},
	})
	vm.RegisterValue("Process", process)
	// process: the JavaScript global the reference's programs use
	// (process.uptime(), process.env.PORT).
	vm.RegisterValue("process", process)

	// console: the JavaScript global, for programs written for the
	// reference: log, info and debug print as print does; warn and
	// error print to standard error.
	toStderr := func(name string) vm.Value {
		return member("console", name, nil, func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
			return printTo(t, t.In.Cfg.Stderr, "console."+name, args)
		})
	}
	vm.RegisterValue("console", NewNamespace("console", map[string]vm.Value{
		"log":   builtinFn("print"),
		"info":  builtinFn("print"),
		"debug": builtinFn("print"),
		"warn":  toStderr("warn"),
		"error": toStderr("error"),
	}))
}

func mathExtreme(fname string, args []vm.Value, sign int) (vm.Value, error) {
	xs := args
	if len(args) == 1 && args[0].Kind() == vm.KArray {
		xs = args[0].AsArray().Elems
	}
	if len(xs) == 0 {
		return vm.Float(math.Inf(-sign)), nil
	}
	best := xs[0]
	for _, x := range xs {
		if !x.IsNumber() {
			return vm.Nil, typeErr(fname, "Number", x)
		}
		if math.IsNaN(x.Number()) {
			return x, nil
		}
		if c, _ := vm.Compare(x, best); c*sign > 0 {
			best = x
		}
	}
	return best, nil
}

// ---------------------------------------------------------------- Date

// Date is a point in time (Date.new()). It prints and serialises as its
// ISO 8601 text in UTC, and has the common JavaScript Date methods.
type Date struct{ T time.Time }

const isoLayout = "2006-01-02T15:04:05.000Z"

func (d *Date) TypeName() string { return "Date" }

func (d *Date) String() string { return d.T.UTC().Format(isoLayout) }

// CompareHost orders two Dates by their time (vm.HostOrdered): == and <
// work on Dates.
func (d *Date) CompareHost(other vm.HostObject) (int, bool) {
	o, ok := other.(*Date)
	if !ok {
		return 0, false
	}
	return d.T.Compare(o.T), true
}

// UnixMillis is d's Unix milliseconds (vm.HostInstant): d2 - d1 and
// now() - d are Ints of milliseconds, and d < now() compares times.
func (d *Date) UnixMillis() int64 { return d.T.UnixMilli() }

// Shift is d moved by a Duration (vm.HostShifted): d + 1.hour.
func (d *Date) Shift(by time.Duration) (vm.Value, error) {
	return shiftedDate("moving a Date by a Duration", d.T, by)
}

// shiftedDate is tm + by as a Date, a ValueError when that is outside
// the years a Date can be in.
func shiftedDate(what string, tm time.Time, by time.Duration) (vm.Value, error) {
	tm = tm.Add(by)
	if !InDateRange(tm) {
		return vm.Nil, valueErr("%s: %s is too far (%s)", what, vm.Repr(vm.Duration(int64(by))), dateYears)
	}
	return DateValue(tm), nil
}

func (d *Date) MarshalJSON() ([]byte, error) {
	return jsonstr.Append(nil, d.String()), nil
}

func (d *Date) GetAttr(t *vm.Thread, name string) (vm.Value, bool, error) {
	return vm.Nil, false, nil
}

// MissingField refuses every field: a Date has methods, and d.year
// (for d.year()) was nil with no word.
func (d *Date) MissingField(name string) error {
	if _, ok, _ := d.CallMethod(nil, name, nil); ok {
		return vm.TypeErrorf("Date.%s is a method: call it, %s()", name, name)
	}
	return vm.TypeErrorf("Date has no field %s", name)
}

func (d *Date) SetAttr(t *vm.Thread, name string, v vm.Value) error {
	return vm.TypeErrorf("cannot assign Date.%s: dates are read-only", name)
}

func (d *Date) CallMethod(t *vm.Thread, name string, args []vm.Value) (vm.Value, bool, error) {
	u := d.T.UTC()
	switch name {
	case "toISOString", "toJSON", "toString", "to_iso":
		return vm.Str(d.String()), true, nil
	case "toUTCString":
		return vm.Str(u.Format("Mon, 02 Jan 2006 15:04:05 GMT")), true, nil
	case "getTime", "valueOf", "timestamp":
		return vm.Int(d.T.UnixMilli()), true, nil
	// (a Date is UTC: getUTCFullYear is getFullYear)
	case "getFullYear", "getUTCFullYear", "year":
		return vm.Int(int64(u.Year())), true, nil
	case "getMonth", "getUTCMonth":
		return vm.Int(int64(u.Month()) - 1), true, nil
	case "month":
		return vm.Int(int64(u.Month())), true, nil
	case "getDate", "getUTCDate", "day":
		return vm.Int(int64(u.Day())), true, nil
	case "getDay", "getUTCDay", "weekday":
		return vm.Int(int64(u.Weekday())), true, nil
	case "getHours", "getUTCHours", "hour":
		return vm.Int(int64(u.Hour())), true, nil
	case "getMinutes", "getUTCMinutes", "minute":
		return vm.Int(int64(u.Minute())), true, nil
	case "getSeconds", "getUTCSeconds", "second":
		return vm.Int(int64(u.Second())), true, nil
	case "getMilliseconds", "getUTCMilliseconds":
		return vm.Int(int64(u.Nanosecond() / 1e6)), true, nil
	}
	return vm.Nil, false, nil
}

// DateValue wraps a time as a Tova Date, to the millisecond, as a
// JavaScript Date holds it: two Dates that print alike and are 0 ms
// apart are equal (date_parse("….123456Z"), a Date plus 1.5 ms, kept
// the rest unseen, and compared unequal).
func DateValue(t time.Time) vm.Value {
	// (down to the millisecond, before 1970 too: the zero time Truncate
	// counts from is a whole number of seconds before the Unix epoch)
	return vm.HostValue(&Date{T: t.Truncate(time.Millisecond)})
}

var dateLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.000Z07:00",
	"2006-01-02T15:04:05",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04",
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04:05",
	"2006-01-02 15:04Z07:00",
	"2006-01-02 15:04",
	// basic offsets (+0200), as strftime's %z, Java and many logs write
	"2006-01-02T15:04:05Z0700",
	"2006-01-02T15:04Z0700",
	"2006-01-02 15:04:05Z0700",
	"2006-01-02 15:04Z0700",
	"2006-01-02",
	"2006-01",
	"2006",
	time.RFC1123,
	time.RFC1123Z,
}

// textDateLayouts are the forms people write, and JavaScript's Date
// reads, besides ISO 8601 and RFC 1123: month names (June 15, 2024; 15
// Jun 2024), slashes (2024/6/15, and month first as in the US:
// 6/15/2024), each with a time or not (24-hour, or 12-hour with AM or
// PM), and a zone name or offset after the time or not, and Date's
// toString (Sat Jun 15 2024 10:30:00 GMT+0200). Without a zone they are UTC. ParseDateText
// reads them; ParseDate, which request parameters and from_json use,
// does not (05/06/2024 is 6 May in the US and 5 June elsewhere).
var textDateLayouts = func() []string {
	var out []string
	for _, d := range []string{
		"January 2, 2006", "Jan 2, 2006", "January 2 2006", "Jan 2 2006",
		"2 January 2006", "2 Jan 2006",
		"Monday, January 2, 2006", "Mon, January 2, 2006", "Mon, Jan 2, 2006", "Mon Jan 2 2006",
		"2006/1/2", "1/2/2006", "2006-01-02",
	} {
		out = append(out, d)
		for _, tm := range []string{" 15:04:05", " 15:04", " 3:04:05 PM", " 3:04 PM", " 3:04:05 pm", " 3:04 pm"} {
			// a zone name (numericZone reads it), or an offset
			out = append(out, d+tm, d+tm+" MST", d+tm+" -0700", d+tm+" -07:00")
		}
	}
	return append(out, "Mon Jan 2 2006 15:04:05 GMT-0700", time.ANSIC, time.RFC850)
}()

// zoneOffsets are the zone names a date's text may carry (RFC 5322's,
// which JavaScript's Date reads too), in hours east of UTC. Go reads a
// zone name by the machine's own zone: one it does not know is taken for
// UTC, and one it knows is placed in it (GMT in summer London is BST).
// A date's zone name is read here instead, with GMT+h and UTC-h; a date
// with another name is no date, rather than a time that depends on
// where it is read.
var zoneOffsets = map[string]int{
	"GMT": 0, "UTC": 0, "UT": 0, "Z": 0,
	"EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7,
}

// numericZone returns s, read with a layout whose zone is a name (MST),
// and the layout, with the name at its end made a numeric offset (ok
// false for a name zoneOffsets does not have).
func numericZone(s, layout string) (string, string, bool) {
	if !strings.HasSuffix(layout, " MST") {
		return s, layout, true
	}
	i := strings.LastIndexByte(s, ' ')
	if i < 0 {
		return s, layout, false
	}
	name := s[i+1:]
	hours, ok := zoneOffsets[name]
	minutes := hours * 60
	if !ok && len(name) > 4 && (strings.HasPrefix(name, "GMT") || strings.HasPrefix(name, "UTC")) && (name[3] == '+' || name[3] == '-') {
		// GMT+2, UTC-5, GMT+0200, GMT+05:30, GMT+5:30
		digits := name[4:]
		if h, m, colon := strings.Cut(digits, ":"); colon && len(m) == 2 && len(h) >= 1 && len(h) <= 2 {
			digits = fmt.Sprintf("%02s%s", h, m)
		}
		n, err := strconv.Atoi(digits)
		switch {
		case err != nil || digits == "" || digits[0] == '+' || digits[0] == '-':
		case len(digits) <= 2 && n <= 14:
			minutes, ok = n*60, true
		case len(digits) == 4 && n/100 <= 14 && n%100 < 60:
			minutes, ok = n/100*60+n%100, true
		}
		if name[3] == '-' {
			minutes = -minutes
		}
	}
	if !ok {
		return s, layout, false
	}
	sign := '+'
	if minutes < 0 {
		sign, minutes = '-', -minutes
	}
	off := fmt.Sprintf("%c%02d%02d", sign, minutes/60, minutes%60)
	return s[:i+1] + off, strings.TrimSuffix(layout, "MST") + "-0700", true
}

// T.from_json makes a Date field's text a Date again.
func init() {
	vm.DateFromJSON = func(text string) (vm.Value, bool) {
		t, ok := ParseDate(text)
		if !ok {
			return vm.Nil, false
		}
		return DateValue(t), true
	}
}

// ParseDate reads a date's text as route parameters and from_json do:
// ISO 8601 (with or without a zone, seconds, time or day; a space for the
// T), or RFC 1123. (Date.new and date_parse read more: ParseDateText.)
func ParseDate(s string) (time.Time, bool) {
	if len(s) > 10 && (s[10] == 't' || strings.HasSuffix(s, "z")) {
		// RFC 3339 allows a lower-case t and z.
		b := []byte(s)
		if b[10] == 't' {
			b[10] = 'T'
		}
		if b[len(b)-1] == 'z' {
			b[len(b)-1] = 'Z'
		}
		s = string(b)
	}
	if hourOffset.MatchString(s) {
		s += ":00" // (±hh, ISO 8601's and PostgreSQL's offset of whole hours)
	}
	tm, ok := parseLayouts(dateLayouts, s)
	if _, off := tm.Zone(); ok && (off >= 24*3600 || off <= -24*3600) {
		return time.Time{}, false // (an offset's hours run 0 to 23)
	}
	if m := offsetMinutes.FindStringSubmatch(s); ok && m != nil && m[1] >= "60" {
		return time.Time{}, false // (+02:60 was read as +03:00)
	}
	return tm, ok
}

// offsetMinutes is the minutes of a numeric offset ending a date's text.
var offsetMinutes = regexp.MustCompile(`\d[+-]\d{2}:?(\d{2})$`)

// hourOffset is a date and time ending in an offset of hours alone.
var hourOffset = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?[+-]\d{2}$`)

// ParseDateText reads a date's text as date_parse and Date.new do: as
// ParseDate, or in one of the forms of textDateLayouts. A comment in
// parentheses at its end (the zone's name JavaScript's toString adds:
// GMT+0200 (Central European Summer Time)) is left out.
func ParseDateText(s string) (time.Time, bool) {
	if tm, ok := ParseDate(s); ok {
		return tm, true
	}
	if strings.HasSuffix(s, ")") {
		if i := strings.LastIndex(s, " ("); i > 0 {
			s = s[:i]
		}
	}
	return parseLayouts(textDateLayouts, s)
}

func parseLayouts(layouts []string, s string) (time.Time, bool) {
	for _, l := range layouts {
		text, layout, ok := numericZone(s, l)
		if !ok {
			continue
		}
		if tm, err := time.Parse(layout, text); err == nil {
			// A year 0000, or one a zone moves out of the years 1 to
			// 9999, is no Date.
			return tm, InDateRange(tm)
		}
	}
	return time.Time{}, false
}

func bDateNew(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	if len(args) >= 2 {
		// Date.new(year, monthIndex, day, hours, minutes, seconds, ms), as
		// JavaScript's new Date(...): the month counts from 0; in UTC.
		p := [7]int64{2: 1}
		for i, a := range args[:min(len(args), 7)] {
			n, ok, err := datePart("Date.new", i, a)
			if !ok {
				return vm.Nil, typeErr("Date.new", "Int date parts", a)
			}
			if err != nil {
				return vm.Nil, err
			}
			p[i] = n
		}
		p[1]++
		tm, err := partsDate("Date.new", p)
		if err != nil {
			return vm.Nil, err
		}
		return DateValue(tm), nil
	}
	if len(args) == 0 {
		return DateValue(t.In.Cfg.Now()), nil
	}
	v := args[0]
	switch v.Kind() {
	case vm.KNil:
		// (Date.new(row.missing) was the time now: a missing value
		// stored as a plausible date)
		return vm.Nil, valueErr("Date.new: the date is nil (Date.new() is the time now)")
	case vm.KInt, vm.KFloat:
		tm, err := millisDate("Date.new", v)
		if err != nil {
			return vm.Nil, err
		}
		return DateValue(tm), nil
	case vm.KString:
		if tm, ok := ParseDateText(v.AsString()); ok {
			return DateValue(tm), nil
		}
		return vm.Nil, valueErr("Date.new: invalid date %s", strconv.Quote(v.AsString()))
	case vm.KHost:
		if d, ok := v.AsHost().(*Date); ok {
			return DateValue(d.T), nil
		}
	}
	return vm.Nil, typeErr("Date.new", "Int milliseconds or String", v)
}

func bDateParse(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	s, err := str("Date.parse", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	if tm, ok := ParseDateText(s); ok {
		return vm.Int(tm.UnixMilli()), nil
	}
	return vm.Nil, nil
}
