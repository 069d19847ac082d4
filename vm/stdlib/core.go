package stdlib

import (
	"io"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"

	"tova/vm"
)

func registerCore() {
	reg("print", nil, bPrint)
	reg("len", ps("value"), bLen)
	reg("type_of", ps("value"), func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		return vm.Str(vm.TypeName(arg(args, 0))), nil
	})
	alias("type_of", "typeOf")
	reg("range", ps("start", "end", "step"), bRange)
	regH("enumerate", ps("list", "start"), bEnumerate) // (a Seq enumerates lazily)
	reg("each", ps("seq", "fn"), bEach)
	alias("each", "forEach")
	reg("is_empty", ps("value"), bIsEmpty)
	alias("is_empty", "isEmpty")
	reg("identity", ps("value"), func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		return arg(args, 0), nil
	})

	// conversions
	reg("to_string", ps("value"), func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		v := arg(args, 0)
		if v.Kind() == vm.KString {
			return v, nil
		}
		s := vm.ToString(v)
		if len(s) > vm.MaxStringBytes {
			return vm.Nil, vm.StringTooLarge("to_string", len(s))
		}
		return vm.Str(s), nil
	})
	alias("to_string", "str", "toString")
	reg("to_int", ps("value"), func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		return convInt(arg(args, 0)), nil
	})
	alias("to_int", "int", "toInt")
	reg("to_float", ps("value"), func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		return convFloat(arg(args, 0)), nil
	})
	alias("to_float", "float", "toFloat")
	reg("to_bool", ps("value"), func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		return vm.Bool(convBool(arg(args, 0))), nil
	})
	alias("to_bool", "toBool")

	// assertions and errors
	reg("assert", ps("cond", "msg"), bAssert)
	reg("assert_eq", ps("actual", "expected", "msg"), bAssertEq)
	alias("assert_eq", "assertEq")
	reg("assert_ne", ps("actual", "expected", "msg"), bAssertNe)
	alias("assert_ne", "assertNe")
	reg("assert_throws", ps("fn", "expected"), bAssertThrows)
	reg("panic", ps("msg"), func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		v := arg(args, 0)
		return vm.Nil, &vm.Error{Kind: "Error", Msg: vm.ToString(v), Value: v}
	})
	reg("try_fn", ps("fn"), bTryFn)
	// Calls do not return promises (no coloured functions): try_async
	// is try_fn, and parallel has its values already.
	alias("try_fn", "tryFn", "try_async", "tryAsync")
	reg("parallel", ps("list"), func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		if v := arg(args, 0); v.Kind() != vm.KArray {
			return vm.Nil, typeErr("parallel", "List", v)
		}
		return arg(args, 0), nil
	})
	reg("retry", ps("fn", "opts"), bRetry)
}

func bPrint(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	return printTo(t, t.Stdout(), "print", args)
}

// printTo writes args as print does (space-separated, a newline after)
// to w; name is the builtin's, for its errors.
func printTo(t *vm.Thread, w io.Writer, name string, args []vm.Value) (vm.Value, error) {
	var buf []byte
	for i, a := range args {
		if i > 0 {
			buf = append(buf, ' ')
		}
		if a.Kind() == vm.KString {
			buf = appendTagged(t, buf, a.AsString())
		} else {
			buf = append(buf, vm.ToString(a)...)
		}
		if len(buf) > vm.MaxStringBytes {
			return vm.Nil, vm.StringTooLarge(name, len(buf))
		}
	}
	buf = append(buf, '\n')
	if _, err := w.Write(buf); err != nil {
		return vm.Nil, vm.Errorf("IOError", "%s: %v", name, err)
	}
	return vm.Nil, nil
}

// colorTag is one of the reference's colour tags print turns into
// terminal codes: {red}…{/}.
var colorTag = regexp.MustCompile(`\{(/|red|green|yellow|blue|magenta|cyan|gray|bold|dim|underline)\}`)

var tagCodes = map[string]string{"/": "0", "red": "31", "green": "32", "yellow": "33", "blue": "34", "magenta": "35", "cyan": "36", "gray": "90", "bold": "1", "dim": "2", "underline": "4"}

// appendTagged appends s to buf with its colour tags ({red}Error:{/})
// as the reference's print writes them: terminal codes on a terminal,
// nothing where colours are off (not a terminal, or NO_COLOR).
func appendTagged(t *vm.Thread, buf []byte, s string) []byte {
	if strings.IndexByte(s, '{') < 0 || !colorTag.MatchString(s) {
		return append(buf, s...)
	}
	on := style(t, "x", "0", "0") != "x"
	return append(buf, colorTag.ReplaceAllStringFunc(s, func(tag string) string {
		if !on {
			return ""
		}
		return "\x1b[" + tagCodes[tag[1:len(tag)-1]] + "m"
	})...)
}

// Lengther is implemented by host objects that have a length.
type Lengther interface{ Len() int }

// rangeLen is the number of elements of r, or an OverflowError of
// fname when an Int cannot hold it.
func rangeLen(fname string, r *vm.RangeValue) (vm.Value, error) {
	if r.Count() > math.MaxInt64 {
		n := strconv.FormatUint(r.Count(), 10)
		if r.Count() == math.MaxUint64 && r.Closed {
			n = "18446744073709551616" // every Int, one more than a uint64 holds
		}
		return vm.Nil, vm.Errorf("OverflowError", "%s: the range has %s elements, more than an Int holds", fname, n)
	}
	return vm.Int(r.Len()), nil
}

func bLen(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	v := arg(args, 0)
	switch v.Kind() {
	case vm.KString:
		return vm.Int(int64(runeCount(v.AsString()))), nil
	case vm.KArray:
		return vm.Int(int64(len(v.AsArray().Elems))), nil
	case vm.KObject:
		if vm.WrappedHint(v) != "" {
			break // len(fs.read_text(path)) was 1, Ok's one field
		}
		return vm.Int(int64(v.AsObject().Len())), nil
	case vm.KRange:
		return rangeLen("len", v.AsRange())
	case vm.KNil:
		return vm.Int(0), nil
	case vm.KHost:
		if l, ok := v.AsHost().(Lengther); ok {
			return vm.Int(int64(l.Len())), nil
		}
	case vm.KBuiltin:
		if m := v.AsBuiltin().Members; m != nil {
			return vm.Int(int64(len(m))), nil // (str, a namespace as math is)
		}
	}
	return vm.Nil, typeErr("len", "String, List, Object or Range", v)
}

func bRange(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	a, err := intArg("range", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	if !has(args, 1) {
		return vm.NewRange(0, a, 1), nil
	}
	b, err := intArg("range", args, 1)
	if err != nil {
		return vm.Nil, err
	}
	step := int64(1)
	if b < a {
		step = -1
	}
	if has(args, 2) {
		if step, err = intArg("range", args, 2); err != nil {
			return vm.Nil, err
		}
		if step == 0 {
			return vm.Nil, valueErr("range: step must not be zero")
		}
	}
	return vm.NewRange(a, b, step), nil
}

func bEnumerate(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	start, err := optInt("enumerate", args, 1, 0)
	if err != nil {
		return vm.Nil, err
	}
	seq := arg(args, 0)
	// Each pair and its two elements count against the list limit (a
	// range too long to build from at all is iterate's to refuse).
	if n := knownLen(seq); n > vm.MaxListLen/3 && n <= vm.MaxListLen {
		return vm.Nil, vm.NestedTooLarge("enumerate", 3*n)
	}
	out := make([]vm.Value, 0, max(seqLen(seq), 0))
	err = iterate(t, "enumerate", seq, func(v vm.Value, i int) error {
		if n := 3 * int64(len(out)+1); n > vm.MaxListLen {
			return vm.NestedTooLarge("enumerate", n)
		}
		if start > 0 && int64(i) > math.MaxInt64-start {
			return overflowErr("enumerate")
		}
		out = append(out, vm.NewArray([]vm.Value{vm.Int(start + int64(i)), v}))
		return nil
	})
	if err != nil {
		return vm.Nil, err
	}
	return newList(out), nil
}

func bEach(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	fn, err := fnArg("each", args, 1)
	if err != nil {
		return vm.Nil, err
	}
	c := newCaller(t, fn).over(arg(args, 0))
	err = iterate(t, "each", arg(args, 0), func(v vm.Value, i int) error {
		_, err := c.callElem(v, i)
		return err
	})
	return vm.Nil, err
}

func bIsEmpty(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	v := arg(args, 0)
	switch v.Kind() {
	case vm.KNil:
		return vm.True, nil
	case vm.KString:
		return vm.Bool(v.AsString() == ""), nil
	case vm.KArray:
		return vm.Bool(len(v.AsArray().Elems) == 0), nil
	case vm.KObject:
		if variantOf(v) == isNone {
			return vm.True, nil
		}
		return vm.Bool(v.AsObject().Len() == 0), nil
	case vm.KRange:
		return vm.Bool(v.AsRange().Len() == 0), nil
	case vm.KHost:
		if l, ok := v.AsHost().(Lengther); ok {
			return vm.Bool(l.Len() == 0), nil
		}
	}
	return vm.False, nil
}

// ---------------------------------------------------------------- conversions

// convInt converts to an Int, or nil when v has no integer reading.
func convInt(v vm.Value) vm.Value {
	switch v.Kind() {
	case vm.KInt:
		return v
	case vm.KFloat:
		return floatToInt(math.Trunc(v.AsFloat()))
	case vm.KBool:
		if v.AsBool() {
			return vm.Int(1)
		}
		return vm.Int(0)
	case vm.KString:
		return parseIntText(v.AsString())
	case vm.KDuration:
		return vm.Int(time.Duration(v.AsDuration()).Milliseconds())
	case vm.KSize:
		return vm.Int(v.AsSize()) // bytes
	case vm.KHost:
		if d, ok := v.AsHost().(*Date); ok {
			return vm.Int(d.T.UnixMilli()) // Unix milliseconds, as where a Date meets a number
		}
	}
	return vm.Nil
}

// floatToInt converts an integral float to an Int, nil when it does not fit.
func floatToInt(f float64) vm.Value {
	if math.IsNaN(f) || f < -9.223372036854775808e18 || f >= 9.223372036854775808e18 {
		return vm.Nil
	}
	return vm.Int(int64(f))
}

func parseIntText(s string) vm.Value {
	s = trimSpace(s)
	if s == "" {
		return vm.Nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return vm.Int(n)
	}
	body, neg := s, false
	if body[0] == '-' || body[0] == '+' {
		neg = body[0] == '-'
		body = body[1:]
	}
	if len(body) > 2 && body[0] == '0' {
		base := 0
		switch body[1] {
		case 'x', 'X':
			base = 16
		case 'o', 'O':
			base = 8
		case 'b', 'B':
			base = 2
		}
		if base != 0 {
			if n, err := strconv.ParseInt(body[2:], base, 64); err == nil {
				if neg {
					n = -n
				}
				return vm.Int(n)
			}
			return vm.Nil
		}
	}
	if f, ok := parseFloatText(s); ok {
		if !math.IsInf(f, 0) && !math.IsNaN(f) {
			// The text's own digits, cut toward zero: the float may have
			// rounded them (123456789012345678.9 to ...680), or a number
			// past the lowest Int to the lowest Int itself.
			if x, _, err := big.ParseFloat(s, 10, 1024, big.ToZero); err == nil {
				if i, _ := x.Int(nil); i.IsInt64() {
					return vm.Int(i.Int64())
				}
				return vm.Nil
			}
		}
		return floatToInt(math.Trunc(f))
	}
	return vm.Nil
}

// parseFloatText parses decimal text (no hex floats, no "inf"/"nan"
// spellings other than Infinity).
func parseFloatText(s string) (float64, bool) {
	s = trimSpace(s)
	switch s {
	case "Infinity", "+Infinity":
		return math.Inf(1), true
	case "-Infinity":
		return math.Inf(-1), true
	}
	if len(s) > 2 && s[0] == '0' && strings.IndexByte("xXoObB", s[1]) >= 0 {
		// 0x10, 0o17, 0b101, as JavaScript's Number reads them (no
		// sign, no fraction): to_float agrees with to_int
		base := 2
		switch s[1] | 0x20 {
		case 'x':
			base = 16
		case 'o':
			base = 8
		}
		n, ok := new(big.Int).SetString(s[2:], base)
		if !ok || strings.ContainsAny(s[2:], "+-_") {
			return 0, false
		}
		f, _ := new(big.Float).SetInt(n).Float64()
		return f, true
	}
	if s == "" || strings.ContainsAny(s, "xXpPnN_iI") {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return f, true
		}
		return 0, false
	}
	return f, true
}

func convFloat(v vm.Value) vm.Value {
	switch v.Kind() {
	case vm.KInt:
		return vm.Float(float64(v.AsInt()))
	case vm.KFloat:
		return v
	case vm.KBool:
		if v.AsBool() {
			return vm.Float(1)
		}
		return vm.Float(0)
	case vm.KString:
		if f, ok := parseFloatText(v.AsString()); ok {
			return vm.Float(f)
		}
	case vm.KDuration: // milliseconds, as to_int, with their fraction
		return vm.Float(float64(v.AsDuration()) / float64(time.Millisecond))
	case vm.KSize:
		return vm.Float(float64(v.AsSize()))
	case vm.KHost:
		if d, ok := v.AsHost().(*Date); ok {
			return vm.Float(float64(d.T.UnixMilli()))
		}
	}
	return vm.Nil
}

func convBool(v vm.Value) bool {
	switch v.Kind() {
	case vm.KString:
		s := v.AsString()
		return s != "" && s != "0" && s != "false"
	case vm.KInt:
		return v.AsInt() != 0
	case vm.KFloat:
		f := v.AsFloat()
		return f != 0 && !math.IsNaN(f)
	}
	return v.Truthy()
}

// ---------------------------------------------------------------- assertions

func assertErr(msg string) error { return vm.Errorf("AssertionError", "%s", msg) }

func bAssert(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	if arg(args, 0).Truthy() {
		return vm.Nil, nil
	}
	if has(args, 1) {
		return vm.Nil, assertErr(vm.ToString(args[1]))
	}
	return vm.Nil, assertErr("Assertion failed")
}

func bAssertEq(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	a, b := arg(args, 0), arg(args, 1)
	if vm.Equal(a, b) {
		return vm.Nil, nil
	}
	msg := "Assertion failed"
	if has(args, 2) {
		msg = vm.ToString(args[2])
	}
	return vm.Nil, assertErr(msg + ": " + vm.Repr(a) + " != " + vm.Repr(b))
}

func bAssertNe(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	a, b := arg(args, 0), arg(args, 1)
	if !vm.Equal(a, b) {
		return vm.Nil, nil
	}
	msg := "Assertion failed"
	if has(args, 2) {
		msg = vm.ToString(args[2])
	}
	return vm.Nil, assertErr(msg + ": values should differ, both are " + vm.Repr(a))
}

// catchable reports whether a Tova program may handle err (cancellation
// and stack overflow must keep unwinding).
func catchable(err error) bool {
	if e, ok := err.(*vm.Error); ok {
		return e.Kind != vm.ErrCancelled && e.Kind != vm.ErrExit
	}
	return true
}

func errMessage(err error) string {
	if e, ok := err.(*vm.Error); ok {
		return e.Msg
	}
	return err.Error()
}

func bAssertThrows(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	fn, err := fnArg("assert_throws", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	_, callErr := callFn(t, fn)
	if callErr == nil {
		if has(args, 1) {
			return vm.Nil, assertErr("Expected function to throw " + vm.Repr(args[1]) + " but it did not")
		}
		return vm.Nil, assertErr("Expected function to throw but it did not")
	}
	if !catchable(callErr) {
		return vm.Nil, callErr
	}
	msg := errMessage(callErr)
	if r := asRegex(arg(args, 1)); r != nil {
		// A Regex: the message must match it (its text was looked for).
		if !r.re.MatchString(msg) {
			return vm.Nil, assertErr("Expected error matching " + r.String() + " but got " + strconv.Quote(msg))
		}
		return vm.Str(msg), nil
	}
	if has(args, 1) {
		want := vm.ToString(args[1])
		if !strings.Contains(msg, want) {
			return vm.Nil, assertErr("Expected error containing " + strconv.Quote(want) + " but got " + strconv.Quote(msg))
		}
	}
	return vm.Str(msg), nil
}

// bRetry is retry(fn, { times, delay, backoff }): fn is called until it
// returns, at most times times (default 3), waiting delay (Int
// milliseconds or a Duration, default 100 ms) before the second call and
// delay × backoff^(n-1) before the (n+1)th (backoff default 1). When
// every call fails, the last failure is raised.
func bRetry(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	fn, err := fnArg("retry", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	times, delay, backoff := int64(3), 100*time.Millisecond, 1.0
	if opts := arg(args, 1); opts.Kind() == vm.KObject {
		if err := checkOptions("retry", opts, "times", "delay", "backoff"); err != nil {
			return vm.Nil, err
		}
		n, ok, err := intOption("retry", opts, "times")
		if err != nil {
			return vm.Nil, err
		}
		if ok {
			times = max(n, 1)
		}
		if d := field(opts, "delay"); !d.IsNil() {
			if delay, err = durationArg("retry", d); err != nil {
				return vm.Nil, err
			}
		}
		if b := field(opts, "backoff"); b.IsNumber() {
			backoff = max(b.Number(), 0)
		} else if !b.IsNil() {
			return vm.Nil, vm.TypeErrorf("retry: the option backoff must be a number, got %s", vm.TypeName(b))
		}
	} else if !opts.IsNil() {
		return vm.Nil, typeErr("retry", "Object of options", opts)
	}
	wait := float64(delay)
	for n := int64(1); ; n++ {
		v, callErr := callFn(t, fn)
		if callErr == nil || !catchable(callErr) || n >= times {
			return v, callErr
		}
		if err := sleepFor(t, "retry", time.Duration(min(wait, float64(maxSleep)))); err != nil {
			return vm.Nil, err
		}
		wait *= backoff
	}
}

func bTryFn(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	fn, err := fnArg("try_fn", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	v, callErr := callFn(t, fn)
	if callErr != nil {
		if !catchable(callErr) {
			return vm.Nil, callErr
		}
		return vm.Err(vm.Str(errMessage(callErr))), nil
	}
	return vm.Ok(v), nil
}
