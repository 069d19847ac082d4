package vm

import (
	"math"
	"strconv"
	"strings"
	"time"
	"unsafe"
)

// ToString converts a value to text the way print and string
// interpolation show it: strings as they are, everything else as Repr.
func ToString(v Value) string {
	if v.k == KString {
		return v.AsString()
	}
	var b strings.Builder
	writeRepr(&b, v, nil)
	return b.String()
}

// Repr shows a value as Tova source would write it: strings quoted.
// NumberRepr is Repr, except that a whole Float shows as one (20.0),
// where an Int is wanted: "got 2" would read as the Int asked for.
func NumberRepr(v Value) string {
	if v.k == KFloat {
		if r := Repr(v); !strings.ContainsAny(r, ".eEIN") {
			return r + ".0"
		}
	}
	return Repr(v)
}

func Repr(v Value) string {
	var b strings.Builder
	writeRepr(&b, v, nil)
	return b.String()
}

// FormatFloat formats a Float the way JSON and print show it: the
// shortest text that reads back as the same number; integral values
// print without a fraction (2.0 prints as 2).
func FormatFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	// JavaScript's rules: plain digits for 1e-6 <= |f| < 1e21,
	// exponent form (1e+21, 1.5e-7) outside that range; -0 shows as 0.
	if f == 0 {
		return "0"
	}
	if a := math.Abs(f); a >= 1e-6 && a < 1e21 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	s := strconv.FormatFloat(f, 'e', -1, 64)
	// Go writes 1e-07; JavaScript writes 1e-7.
	if i := strings.IndexByte(s, 'e'); i > 0 && i+2 < len(s) {
		exp := strings.TrimLeft(s[i+2:], "0")
		if exp == "" {
			exp = "0"
		}
		s = s[:i+2] + exp
	}
	return s
}

// FormatDuration shows a duration compactly: 30s, 1m30s, 1h, 250ms, 2d.
func FormatDuration(ns int64) string {
	if ns == 0 {
		return "0s"
	}
	var b strings.Builder
	if ns < 0 {
		b.WriteByte('-')
		ns = -ns
	}
	d := time.Duration(ns)
	day := 24 * time.Hour
	if d >= day {
		b.WriteString(strconv.FormatInt(int64(d/day), 10))
		b.WriteByte('d')
		d %= day
	}
	for _, u := range []struct {
		unit time.Duration
		name string
	}{{time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}, {time.Millisecond, "ms"}, {time.Microsecond, "us"}, {1, "ns"}} {
		if d >= u.unit {
			b.WriteString(strconv.FormatInt(int64(d/u.unit), 10))
			b.WriteString(u.name)
			d %= u.unit
		}
	}
	return b.String()
}

// FormatSize shows a byte size with the largest exact 1024-based unit: 5MB, 1536B.
func FormatSize(n int64) string {
	for _, u := range []struct {
		size int64
		name string
	}{{1 << 30, "GB"}, {1 << 20, "MB"}, {1 << 10, "KB"}} {
		if n != 0 && n%u.size == 0 {
			return strconv.FormatInt(n/u.size, 10) + u.name
		}
	}
	return strconv.FormatInt(n, 10) + "B"
}

// maxReprDepth is how deep lists and objects are shown: a value nested
// deeper shows as "...".
const maxReprDepth = 64

// writeRepr writes v's text to b. It stops writing once b holds more than
// MaxStringBytes (shared sublists can make the text of a small value
// exponentially long): a caller that keeps the text checks its length
// (StringTooLarge).
func writeRepr(b *strings.Builder, v Value, path []unsafe.Pointer) {
	if b.Len() > MaxStringBytes {
		return
	}
	if len(path) > maxReprDepth {
		b.WriteString("...")
		return
	}
	switch v.k {
	case KNil:
		b.WriteString("nil")
	case KBool:
		if v.n != 0 {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case KInt:
		b.WriteString(strconv.FormatInt(int64(v.n), 10))
	case KFloat:
		b.WriteString(FormatFloat(v.AsFloat()))
	case KString:
		b.WriteString(strconv.Quote(v.AsString()))
	case KDuration:
		b.WriteString(FormatDuration(v.AsDuration()))
	case KSize:
		b.WriteString(FormatSize(v.AsSize()))
	case KArray:
		if onPath(path, v.p) {
			b.WriteString("[...]")
			return
		}
		path = append(path, v.p)
		b.WriteByte('[')
		for i, e := range v.AsArray().Elems {
			if i > 0 {
				b.WriteString(", ")
			}
			writeRepr(b, e, path)
		}
		b.WriteByte(']')
	case KObject:
		o := v.AsObject()
		if onPath(path, v.p) {
			b.WriteString("{...}")
			return
		}
		path = append(path, v.p)
		if ti := o.Type; ti != nil {
			b.WriteString(ti.Tag)
			if len(o.vals) == 0 {
				return
			}
			b.WriteByte('(')
			for i, e := range o.vals {
				if i > 0 {
					b.WriteString(", ")
				}
				if !ti.Positional {
					b.WriteString(o.Keys()[i])
					b.WriteString(": ")
				}
				writeRepr(b, e, path)
			}
			b.WriteByte(')')
			return
		}
		if o.Len() == 0 {
			b.WriteString("{}")
			return
		}
		b.WriteString("{ ")
		for i, k := range o.Keys() {
			if i > 0 {
				b.WriteString(", ")
			}
			if isIdent(k) {
				b.WriteString(k)
			} else {
				b.WriteString(strconv.Quote(k))
			}
			b.WriteString(": ")
			writeRepr(b, o.vals[i], path)
		}
		b.WriteString(" }")
	case KFunc:
		b.WriteString("<fn " + v.AsClosure().Name() + ">")
	case KBuiltin:
		b.WriteString("<builtin " + v.AsBuiltin().Name + ">")
	case KType:
		b.WriteString("<type " + v.AsType().Info.Tag + ">")
	case KRange:
		r := v.AsRange()
		if r.Step != 1 {
			// a..b has no step: show the call that makes this range
			b.WriteString("range(" + strconv.FormatInt(r.Lo, 10) + ", " + strconv.FormatInt(r.Hi, 10) + ", " + strconv.FormatInt(r.Step, 10) + ")")
			break
		}
		if r.Closed {
			b.WriteString(strconv.FormatInt(r.Lo, 10) + "..=" + strconv.FormatInt(r.Hi, 10))
			break
		}
		b.WriteString(strconv.FormatInt(r.Lo, 10) + ".." + strconv.FormatInt(r.Hi, 10))
	case KHost:
		h := v.AsHost()
		if s, ok := h.(interface{ String() string }); ok {
			b.WriteString(s.String())
		} else {
			b.WriteString("<" + h.TypeName() + ">")
		}
	default:
		b.WriteString("<" + v.k.String() + ">")
	}
}

// onPath reports whether container p is being printed already (a list
// or object that contains itself prints as [...] / {...}).
func onPath(path []unsafe.Pointer, p unsafe.Pointer) bool {
	for _, q := range path {
		if q == p {
			return true
		}
	}
	return false
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9' {
			continue
		}
		return false
	}
	return true
}

// TypeName is what type_of returns: Int, Float, String, Bool, Nil, List,
// Object, Function, Duration, Size, Range, or the tag of a record/variant.
func TypeName(v Value) string {
	if v.k == KObject {
		if ti := v.AsObject().Type; ti != nil {
			return ti.Tag
		}
	}
	if v.k == KHost {
		return v.AsHost().TypeName()
	}
	return v.k.String()
}
