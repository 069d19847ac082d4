package vm

import (
	"math"
	"math/bits"
	"strings"
	"time"
)

// Arith applies a binary arithmetic operator: '+', '-', '*', '/', '%' or
// '^' (power). Ints stay Ints except for '/', and overflow is an error;
// mixing Int and Float gives a Float. Strings concatenate with '+' and
// repeat with '*'; lists concatenate with '+'; durations and sizes add,
// subtract, scale and divide. A duration also moves a time: a Date (see
// HostShifted), or an Int of Unix milliseconds (now() + 7.days).
func Arith(op byte, a, b Value) (Value, error) {
	switch {
	case a.k == KInt && b.k == KInt:
		return intArith(op, int64(a.n), int64(b.n))
	case a.IsNumber() && b.IsNumber():
		return floatArith(op, a.Number(), b.Number())
	case op == '+' && (a.k == KString || b.k == KString):
		x, y := ToString(a), ToString(b)
		if len(x)+len(y) > MaxStringBytes {
			return Nil, StringTooLarge("+", len(x)+len(y))
		}
		return Str(x + y), nil
	case op == '*' && a.k == KString && b.IsNumber():
		n, err := wholeNumber("string repetition count", b)
		if err != nil {
			return Nil, err
		}
		return repeatString(a.AsString(), n)
	case op == '*' && a.IsNumber() && b.k == KString:
		n, err := wholeNumber("string repetition count", a)
		if err != nil {
			return Nil, err
		}
		return repeatString(b.AsString(), n)
	case op == '+' && (a.k == KArray || a.k == KRange) && (b.k == KArray || b.k == KRange):
		return joinLists(a, b) // a range joins as the list of its numbers (range(3) + [3])
	case a.k == KDuration || a.k == KSize || b.k == KDuration || b.k == KSize:
		return quantityArith(op, a, b)
	case op == '-' && (a.k == KHost || b.k == KHost):
		if r, ok, err := timeDifference(a, b); ok {
			return r, err
		}
	}
	h := WrappedHint(a)
	if h == "" {
		h = WrappedHint(b)
	}
	return Nil, TypeErrorf("unsupported operand types for %s: %s and %s%s", opName(op), TypeName(a), TypeName(b), h)
}

// timeDifference is a - b where one is a point in time (a Date) and the
// other one too or a number of Unix milliseconds (now()): the
// milliseconds between them, as JavaScript gives for Dates (an Int, a
// Float with a Float). ok is false for other operands.
func timeDifference(a, b Value) (v Value, ok bool, err error) {
	x, xt := instantMillis(a)
	y, yt := instantMillis(b)
	switch {
	case xt && yt:
	case xt && b.k == KInt:
		y = int64(b.n)
	case yt && a.k == KInt:
		x = int64(a.n)
	case xt && b.k == KFloat:
		return Float(float64(x) - b.AsFloat()), true, nil
	case yt && a.k == KFloat:
		return Float(a.AsFloat() - float64(y)), true, nil
	default:
		return Nil, false, nil
	}
	v, err = intArith('-', x, y)
	return v, true, err
}

func opName(op byte) string {
	if op == '^' {
		return "**"
	}
	return string(op)
}

// addInt and subInt report false on int64 overflow.
func addInt(x, y int64) (int64, bool) {
	r := x + y
	return r, (x^r)&(y^r) >= 0
}

func subInt(x, y int64) (int64, bool) {
	r := x - y
	return r, (x^y)&(x^r) >= 0
}

func intArith(op byte, x, y int64) (Value, error) {
	switch op {
	case '+':
		r, ok := addInt(x, y)
		if !ok {
			return Nil, overflow("+")
		}
		return Int(r), nil
	case '-':
		r, ok := subInt(x, y)
		if !ok {
			return Nil, overflow("-")
		}
		return Int(r), nil
	case '*':
		r, ok := mulInt(x, y)
		if !ok {
			return Nil, overflow("*")
		}
		return Int(r), nil
	case '/':
		if y == 0 {
			return Nil, Errorf("ZeroDivisionError", "division by zero")
		}
		return Float(float64(x) / float64(y)), nil
	case '%':
		if y == 0 {
			return Nil, Errorf("ZeroDivisionError", "modulo by zero")
		}
		if y == -1 {
			return Int(0), nil
		}
		return Int(x % y), nil
	case '^':
		if y < 0 {
			return Float(math.Pow(float64(x), float64(y))), nil
		}
		r := int64(1)
		base := x
		for e := y; e > 0; e >>= 1 {
			var ok bool
			if e&1 == 1 {
				if r, ok = mulInt(r, base); !ok {
					return Nil, overflow("**")
				}
			}
			if e > 1 {
				if base, ok = mulInt(base, base); !ok {
					return Nil, overflow("**")
				}
			}
		}
		return Int(r), nil
	}
	return Nil, TypeErrorf("bad operator %c", op)
}

// mulInt multiplies with overflow detection.
func mulInt(x, y int64) (int64, bool) {
	if x == 0 || y == 0 {
		return 0, true
	}
	neg := (x < 0) != (y < 0)
	ux, uy := uabs(x), uabs(y)
	hi, lo := bits.Mul64(ux, uy)
	if hi != 0 {
		return 0, false
	}
	if neg {
		if lo > 1<<63 {
			return 0, false
		}
		return int64(-lo), true
	}
	if lo > math.MaxInt64 {
		return 0, false
	}
	return int64(lo), true
}

func uabs(x int64) uint64 {
	if x < 0 {
		return uint64(-x)
	}
	return uint64(x)
}

func floatArith(op byte, x, y float64) (Value, error) {
	switch op {
	case '+':
		return Float(x + y), nil
	case '-':
		return Float(x - y), nil
	case '*':
		return Float(x * y), nil
	case '/':
		return Float(x / y), nil
	case '%':
		return Float(math.Mod(x, y)), nil
	case '^':
		return Float(math.Pow(x, y)), nil
	}
	return Nil, TypeErrorf("bad operator %c", op)
}

// wholeNumber is an Int, or a Float holding a whole number (what `/`
// gives: `len(xs) / 2` indexes as 2 when xs has 4 elements), as an
// index, a slice bound or a repetition count; a fraction is a TypeError
// naming what it was for.
func wholeNumber(what string, v Value) (int64, error) {
	if v.k == KInt {
		return int64(v.n), nil
	}
	if v.k == KFloat {
		f := v.AsFloat()
		if f == math.Trunc(f) && f >= -(1<<63) && f < 1<<63 {
			return int64(f), nil
		}
		return 0, TypeErrorf("%s must be a whole number, got %s", what, Repr(v))
	}
	return 0, TypeErrorf("%s must be Int, got %s", what, TypeName(v))
}

func repeatString(s string, n int64) (Value, error) {
	if n < 0 {
		// As repeat(s, n) (the spec, §4.12: n is a non-negative integer).
		return Nil, Errorf("ValueError", "string repetition: the count must not be negative, got %d", n)
	}
	if n == 0 {
		return Str(""), nil
	}
	if len(s) > 0 && n > MaxStringBytes/int64(len(s)) {
		return Nil, Errorf("ValueError", "string repetition too large")
	}
	return Str(strings.Repeat(s, int(n))), nil
}

// quantityArith handles durations and sizes.
func quantityArith(op byte, a, b Value) (Value, error) {
	mk := Duration
	k := a.k
	if k != KDuration && k != KSize {
		k = b.k
	}
	if k == KSize {
		mk = Size
	}
	bad := func() (Value, error) {
		return Nil, TypeErrorf("unsupported operand types for %s: %s and %s", opName(op), TypeName(a), TypeName(b))
	}
	switch {
	case a.k == k && b.k == k:
		x, y := int64(a.n), int64(b.n)
		switch op {
		case '+', '-':
			r, err := intArith(op, x, y)
			if err != nil {
				return r, err
			}
			return mk(r.AsInt()), nil
		case '/':
			if y == 0 {
				return Nil, Errorf("ZeroDivisionError", "division by zero")
			}
			return Float(float64(x) / float64(y)), nil
		case '%':
			if y == 0 {
				return Nil, Errorf("ZeroDivisionError", "modulo by zero")
			}
			return mk(x % y), nil
		}
	case k == KDuration && (op == '+' || op == '-') && b.k == KDuration && a.k != KSize:
		if r, ok, err := shiftTime(op, a, int64(b.n)); ok {
			return r, err
		}
		return Nil, TypeErrorf("unsupported operand types for %s: %s and %s (a Duration moves a Date or an Int of milliseconds)", opName(op), TypeName(a), TypeName(b))
	case k == KDuration && op == '+' && a.k == KDuration && b.k != KSize:
		if r, ok, err := shiftTime(op, b, int64(a.n)); ok {
			return r, err
		}
		return Nil, TypeErrorf("unsupported operand types for %s: %s and %s (a Duration moves a Date or an Int of milliseconds)", opName(op), TypeName(a), TypeName(b))
	case a.k == k && b.IsNumber() && (op == '*' || op == '/'):
		return scaleQuantity(mk, int64(a.n), b, op)
	case b.k == k && a.IsNumber() && op == '*':
		return scaleQuantity(mk, int64(b.n), a, op)
	}
	return bad()
}

// shiftTime moves t, a time, by ns nanoseconds (back for '-'): a Date
// by the duration, an Int of Unix milliseconds by its milliseconds (the
// part of a millisecond dropped, as toward zero). ok is false when t is
// no time.
func shiftTime(op byte, t Value, ns int64) (v Value, ok bool, err error) {
	switch t.k {
	case KInt:
	case KHost:
		if _, ok := t.AsHostOK().(HostShifted); !ok {
			return Nil, false, nil
		}
	default:
		return Nil, false, nil
	}
	if op == '-' {
		if ns == math.MinInt64 {
			return Nil, true, Errorf("OverflowError", "Duration overflow in -")
		}
		ns = -ns
	}
	if t.k == KInt {
		r, ok := addInt(int64(t.n), ns/int64(time.Millisecond))
		if !ok {
			return Nil, true, overflow(opName(op))
		}
		return Int(r), true, nil
	}
	v, err = t.AsHostOK().(HostShifted).Shift(time.Duration(ns))
	return v, true, err
}

func scaleQuantity(mk func(int64) Value, q int64, by Value, op byte) (Value, error) {
	if by.k == KInt {
		y := int64(by.n)
		if op == '*' {
			r, ok := mulInt(q, y)
			if !ok {
				return Nil, Errorf("OverflowError", "%s overflow in *", TypeName(mk(0)))
			}
			return mk(r), nil
		}
		if y == 0 {
			return Nil, Errorf("ZeroDivisionError", "division by zero")
		}
		return mk(q / y), nil
	}
	f := by.AsFloat()
	kind := TypeName(mk(0))
	switch {
	case math.IsNaN(f):
		return Nil, Errorf("ValueError", "%s %s NaN: a %s cannot be NaN", kind, opName(op), kind)
	case op == '/' && f == 0:
		return Nil, Errorf("ZeroDivisionError", "division by zero")
	}
	var r float64
	if op == '*' {
		r = float64(q) * f
	} else {
		r = float64(q) / f
	}
	if math.IsNaN(r) || math.Abs(r) >= math.MaxInt64 {
		// (NaN: 0 * Infinity, whose size no Float tells)
		return Nil, Errorf("OverflowError", "%s overflow in %s", kind, opName(op))
	}
	return mk(int64(math.Round(r))), nil
}

// joinLists is a + b for lists and ranges: a new list of the elements
// of a, then those of b.
func joinLists(a, b Value) (Value, error) {
	la, lb := seqLen(a), seqLen(b)
	if la > MaxListLen || lb > MaxListLen || la+lb > MaxListLen {
		return Nil, ListTooLong("+", min(la, MaxListLen+1)+min(lb, MaxListLen+1))
	}
	out := make([]Value, 0, la+lb)
	for _, v := range [2]Value{a, b} {
		if v.k == KArray {
			out = append(out, v.AsArray().Elems...)
			continue
		}
		r := v.AsRange()
		for i := int64(0); i < r.Len(); i++ {
			x, _ := r.Index(i)
			out = append(out, Int(x))
		}
	}
	return NewArray(out), nil
}

// seqLen is the length of a list or a range.
func seqLen(v Value) int64 {
	if v.k == KRange {
		return v.AsRange().Len()
	}
	return int64(len(v.AsArray().Elems))
}
