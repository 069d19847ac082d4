package vm

import (
	"strings"
)

// Equal is Tova's ==: no coercion between kinds, except that Int and
// Float compare by numeric value. Lists, objects, records and variants
// compare structurally; functions and host objects by identity.
func Equal(a, b Value) bool {
	if a.k != b.k {
		if a.k == KInt && b.k == KFloat {
			return float64(int64(a.n)) == b.AsFloat()
		}
		if a.k == KFloat && b.k == KInt {
			return a.AsFloat() == float64(int64(b.n))
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
	case KArray:
		if a.p == b.p {
			return true
		}
		x, y := a.AsArray().Elems, b.AsArray().Elems
		if len(x) != len(y) {
			return false
		}
		for i := range x {
			if !Equal(x[i], y[i]) {
				return false
			}
		}
		return true
	case KObject:
		if a.p == b.p {
			return true
		}
		x, y := a.AsObject(), b.AsObject()
		if x.Type != y.Type || len(x.vals) != len(y.vals) {
			return false
		}
		if x.shape != nil && x.shape == y.shape {
			for i := range x.vals {
				if !Equal(x.vals[i], y.vals[i]) {
					return false
				}
			}
			return true
		}
		for i, k := range x.Keys() {
			yv, ok := y.Get(k)
			if !ok || !Equal(x.vals[i], yv) {
				return false
			}
		}
		return true
	case KRange:
		return *a.AsRange() == *b.AsRange()
	case KType:
		return a.AsType().Info == b.AsType().Info
	case KBuiltin:
		return a.p == b.p || a.AsBuiltin() == b.AsBuiltin()
	case KHost:
		return a.AsHost() == b.AsHost()
	}
	return a.p == b.p
}

// Compare orders two values for <, <=, >, >= and sorting: numbers by
// value, strings by bytes, durations and sizes within their kind, lists
// lexicographically. Other combinations are a TypeError.
func Compare(a, b Value) (int, error) {
	switch {
	case a.k == KInt && b.k == KInt:
		return cmp3(int64(a.n), int64(b.n)), nil
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
	case a.k == KArray && b.k == KArray:
		x, y := a.AsArray().Elems, b.AsArray().Elems
		for i := 0; i < len(x) && i < len(y); i++ {
			c, err := Compare(x[i], y[i])
			if err != nil || c != 0 {
				return c, err
			}
		}
		return cmp3(int64(len(x)), int64(len(y))), nil
	}
	return 0, TypeErrorf("cannot compare %s with %s", TypeName(a), TypeName(b))
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
