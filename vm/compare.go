package vm

import (
	"math"
	"reflect"
	"strings"
	"unsafe"
)

// Equal is Tova's ==: no coercion between kinds, except that Int and
// Float compare by numeric value. Lists, objects, records and variants
// compare structurally; functions and host objects by identity (unless
// they compare by value: HostOrdered, HostEqual).
// Structures are walked without recursion, and a list or object that
// holds itself (directly or not) compares like any other: two cyclic
// structures are equal when no path through them tells them apart.
func Equal(a, b Value) bool {
	if a.k != b.k || a.k != KArray && a.k != KObject {
		return equalFlat(a, b)
	}
	type pair struct{ x, y Value }
	var buf [16]pair
	stack := append(buf[:0], pair{a, b})
	var seen map[[2]unsafe.Pointer]struct{}
	for expanded := 0; len(stack) > 0; {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		x, y := p.x, p.y
		if x.k != y.k || x.k != KArray && x.k != KObject {
			if !equalFlat(x, y) {
				return false
			}
			continue
		}
		if x.p == y.p {
			continue
		}
		// Past a few containers, remember the pairs under comparison: a
		// pair met again (a cycle) is being compared already.
		if expanded++; expanded > 32 {
			if seen == nil {
				seen = map[[2]unsafe.Pointer]struct{}{}
			}
			k := [2]unsafe.Pointer{x.p, y.p}
			if _, ok := seen[k]; ok {
				continue
			}
			seen[k] = struct{}{}
		}
		if x.k == KArray {
			xs, ys := x.AsArray().Elems, y.AsArray().Elems
			if len(xs) != len(ys) {
				return false
			}
			for i := len(xs) - 1; i >= 0; i-- {
				stack = append(stack, pair{xs[i], ys[i]})
			}
			continue
		}
		xo, yo := x.AsObject(), y.AsObject()
		if xo.Type != yo.Type || xo.Len() != yo.Len() {
			return false
		}
		if xo.shape != nil && xo.shape == yo.shape {
			for i := len(xo.vals) - 1; i >= 0; i-- {
				stack = append(stack, pair{xo.vals[i], yo.vals[i]})
			}
			continue
		}
		for i, k := range xo.Keys() {
			yv, ok := yo.Get(k)
			if !ok {
				return false
			}
			stack = append(stack, pair{xo.vals[i], yv})
		}
	}
	return true
}

// equalFlat is Equal of two values that are not both lists or both
// objects.
func equalFlat(a, b Value) bool {
	if a.k != b.k {
		if a.k == KInt && b.k == KFloat {
			c, ok := cmpIntFloat(int64(a.n), b.AsFloat())
			return ok && c == 0
		}
		if a.k == KFloat && b.k == KInt {
			c, ok := cmpIntFloat(int64(b.n), a.AsFloat())
			return ok && c == 0
		}
		// A range equals the list of its numbers (range(3) == [0, 1, 2]).
		if a.k == KRange && b.k == KArray {
			return a.AsRange().equalList(b.AsArray().Elems)
		}
		if a.k == KArray && b.k == KRange {
			return b.AsRange().equalList(a.AsArray().Elems)
		}
		return false
	}
	switch a.k {
	case KNil:
		return true
	case KBool, KInt, KDuration, KSize:
		return a.n == b.n
	case KFloat:
		return a.AsFloat() == b.AsFloat()
	case KString:
		return a.n == b.n && (a.p == b.p || a.AsString() == b.AsString())
	case KRange:
		return a.AsRange().equalRange(b.AsRange())
	case KType:
		return a.AsType().Info == b.AsType().Info
	case KBuiltin:
		return a.p == b.p || a.AsBuiltin() == b.AsBuiltin()
	case KHost:
		if o, ok := a.AsHost().(HostOrdered); ok {
			c, ok := o.CompareHost(b.AsHost())
			return ok && c == 0
		}
		if e, ok := a.AsHost().(HostEqual); ok {
			return e.EqualHost(b.AsHost())
		}
		return sameHost(a.AsHost(), b.AsHost())
	}
	return a.p == b.p
}

// Compare orders two values for <, <=, >, >= and sorting: numbers by
// value, strings by bytes, durations and sizes within their kind, lists
// lexicographically. Other combinations are a TypeError.
func Compare(a, b Value) (int, error) { return compareDepth(a, b, 0) }

// maxCompareDepth bounds how deep Compare follows lists into lists.
const maxCompareDepth = 10000

func compareDepth(a, b Value, depth int) (int, error) {
	switch {
	case a.k == KInt && b.k == KInt:
		return cmp3(int64(a.n), int64(b.n)), nil
	case a.k == KInt && b.k == KFloat:
		if c, ok := cmpIntFloat(int64(a.n), b.AsFloat()); ok {
			return c, nil
		}
		return 0, errUnordered
	case a.k == KFloat && b.k == KInt:
		if c, ok := cmpIntFloat(int64(b.n), a.AsFloat()); ok {
			return -c, nil
		}
		return 0, errUnordered
	case a.IsNumber() && b.IsNumber():
		x, y := a.Number(), b.Number()
		switch {
		case x < y:
			return -1, nil
		case x > y:
			return 1, nil
		case x == y:
			return 0, nil
		}
		return 0, errUnordered
	case a.k == KString && b.k == KString:
		return strings.Compare(a.AsString(), b.AsString()), nil
	case a.k == b.k && (a.k == KDuration || a.k == KSize):
		return cmp3(int64(a.n), int64(b.n)), nil
	case a.k == KBool && b.k == KBool:
		return cmp3(int64(a.n), int64(b.n)), nil
	case a.k == KHost && b.IsNumber():
		if x, ok := instantMillis(a); ok {
			return compareDepth(Int(x), b, depth) // a Date with Unix milliseconds: d < now()
		}
	case b.k == KHost && a.IsNumber():
		if y, ok := instantMillis(b); ok {
			return compareDepth(a, Int(y), depth)
		}
	case a.k == KHost && b.k == KHost:
		if o, ok := a.AsHost().(HostOrdered); ok {
			if c, ok := o.CompareHost(b.AsHost()); ok {
				return c, nil
			}
		}
	case a.k == KArray && b.k == KArray:
		if depth >= maxCompareDepth {
			return 0, Errorf("ValueError", "cannot order lists nested more than %d deep (does one hold itself?)", maxCompareDepth)
		}
		x, y := a.AsArray().Elems, b.AsArray().Elems
		for i := 0; i < len(x) && i < len(y); i++ {
			c, err := compareDepth(x[i], y[i], depth+1)
			if err != nil || c != 0 {
				return c, err
			}
		}
		return cmp3(int64(len(x)), int64(len(y))), nil
	}
	if a.k == KInt && b.k == KDuration || a.k == KDuration && b.k == KInt {
		// (date - date < 24.hours: a Date minus a Date is an Int)
		return 0, TypeErrorf("cannot compare %s with %s: a Date minus a Date is an Int of milliseconds; compare it with to_int(d), or compare the Dates (a < b + 24.hours)", TypeName(a), TypeName(b))
	}
	if s, other := isoDateText(a, b); s != "" {
		// (a model's Date field reads as its ISO text: inv.expires_at <
		// Date.now() failed with no word of why)
		return 0, TypeErrorf("cannot compare %s with %s: the String %q is a date's ISO text (a model's Date field reads as such): compare Date.new(text) with the %s", TypeName(a), TypeName(b), s, TypeName(other))
	}
	h := WrappedHint(a)
	if h == "" {
		h = WrappedHint(b)
	}
	return 0, TypeErrorf("cannot compare %s with %s%s", TypeName(a), TypeName(b), h)
}

// isoDateText is the String of a and b that is a date's ISO text
// ("2026-03-01T12:00:00.000Z") when the other is a number or a Date
// (something with an instant), and that other.
func isoDateText(a, b Value) (string, Value) {
	if b.k == KString {
		a, b = b, a
	}
	if a.k != KString {
		return "", Nil
	}
	if _, ok := instantMillis(b); !ok && !b.IsNumber() {
		return "", Nil
	}
	s := a.AsString()
	if len(s) < 10 || len(s) > 40 || s[4] != '-' || s[7] != '-' {
		return "", Nil
	}
	for _, i := range []int{0, 1, 2, 3, 5, 6, 8, 9} {
		if s[i] < '0' || s[i] > '9' {
			return "", Nil
		}
	}
	return s, b
}

// errUnordered is returned for comparisons involving NaN; callers
// treat it as "false" for <, <=, >, >=.
var errUnordered = &Error{Kind: "TypeError", Msg: "NaN is unordered"}

func cmp3(x, y int64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// cmpIntFloat orders an Int and a Float by their exact values (-1, 0 or
// 1: i less, equal, greater); ok is false when f is NaN. Converting i to
// a Float would round it past 2^53: 2^63-1 would equal 2^63.
func cmpIntFloat(i int64, f float64) (c int, ok bool) {
	switch {
	case f != f:
		return 0, false
	case f >= 0x1p63:
		return -1, true
	case f < -0x1p63:
		return 1, true
	}
	t := math.Trunc(f) // in int64's range
	if c := cmp3(i, int64(t)); c != 0 {
		return c, true
	}
	switch {
	case f > t:
		return -1, true
	case f < t:
		return 1, true
	}
	return 0, true
}

// sameHost is == of two host objects that do not say how they compare:
// the same object. One whose type Go cannot compare (a struct holding a
// slice) is equal to nothing, rather than a panic.
func sameHost(x, y HostObject) bool {
	tx := reflect.TypeOf(x)
	if tx != reflect.TypeOf(y) || !tx.Comparable() {
		return false
	}
	return x == y
}
