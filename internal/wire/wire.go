// Package wire puts values in the form they cross in, as JSON, between
// servers and through the job queue.
package wire

import (
	"math"
	"strconv"
	"strings"

	"tova/vm"
)

// How values cross between servers, and into the job queue. A call's
// arguments and its result, a job's arguments and an event's payload
// are sent as JSON, after Value has put them in the form the other
// side's typed parameters take: None is null and Some(x) is x (a
// parameter or record field typed Option<T> makes them None and Some
// again), Ok(x) is {"value": x} and Err(e) is {"error": e} (a parameter
// typed Result<T, E> makes them Ok and Err again), a record is an
// object of its fields (a parameter of its type makes it the record
// again), any other variant {"__tag": "Name", fields...}, as
// JSON.stringify writes it. A result that is Ok, Err, Some or None is
// that variant again for the caller. A function cannot be sent: that is
// a TypeError, where the value is, rather than a null the other side
// would take for a value. Nor can a Float that is not finite (Infinity,
// -Infinity, NaN), which JSON has no form for either: a ValueError, where
// it is (it arrived as nil, which a parameter typed Float refused as
// missing, and an untyped one took for a value).

// MaxDepth bounds the nesting of a value sent (a cycle would never
// end).
const MaxDepth = 512

// Unsendable is a value that cannot cross: at is where, inside the value
// sent ("[0].f"), and what the value's type.
type Unsendable struct {
	at, what string
	tooDeep  int    // the depth it passed, if that is why
	float    string // the Float that is not finite, if that is why
}

// Value is v as it crosses (see above).
func Value(v vm.Value) (vm.Value, *Unsendable) { return value(v, 0, MaxDepth) }

// ValueWithin is Value with a depth of max levels, for values whose
// depth is checked after (a job's arguments have a limit of their own:
// past it, it is named). A cycle still ends, at max.
func ValueWithin(v vm.Value, max int) (vm.Value, *Unsendable) { return value(v, 0, max) }

func value(v vm.Value, depth, max int) (vm.Value, *Unsendable) {
	if depth > max {
		return vm.Nil, &Unsendable{tooDeep: max}
	}
	switch v.Kind() {
	case vm.KFunc, vm.KBuiltin, vm.KType:
		return vm.Nil, &Unsendable{what: vm.TypeName(v)}
	case vm.KFloat:
		if f := v.AsFloat(); math.IsNaN(f) || math.IsInf(f, 0) {
			return vm.Nil, &Unsendable{float: vm.Repr(v)}
		}
	case vm.KArray:
		in := v.AsArray().Elems
		out := make([]vm.Value, len(in))
		for i, e := range in {
			c, bad := value(e, depth+1, max)
			if bad != nil {
				bad.at = "[" + strconv.Itoa(i) + "]" + bad.at
				return vm.Nil, bad
			}
			out[i] = c
		}
		return vm.NewArray(out), nil
	case vm.KObject:
		return object(v.AsObject(), depth, max)
	case vm.KHost:
		if n := vm.TypeName(v); n == "HttpResponse" {
			return vm.Nil, &Unsendable{what: n}
		}
	}
	return v, nil
}

func object(o *vm.Object, depth, max int) (vm.Value, *Unsendable) {
	ti := o.Type
	switch ti {
	case vm.NoneType:
		return vm.Nil, nil
	case vm.SomeType:
		return value(o.Values()[0], depth+1, max)
	}
	out := vm.NewObject()
	if ti != nil && ti.Variant >= 0 && (o.Len() == 0 || ti.ADT != vm.ResultADT) {
		out.Set("__tag", vm.Str(ti.Tag))
	}
	caught := vm.IsErrorType(ti)
	vals := o.Values()
	for i, k := range o.Keys() {
		if caught && k == "stack" {
			continue // (as JSON.stringify leaves it out)
		}
		c, bad := value(vals[i], depth+1, max)
		if bad != nil {
			bad.at = "." + k + bad.at
			return vm.Nil, bad
		}
		out.Set(k, c)
	}
	return vm.ObjectValue(out), nil
}

// SendError is the TypeError of a value that cannot be sent: what is
// the value's role ("argument 1", "the result").
func SendError(what, to string, bad *Unsendable) error {
	if bad.tooDeep > 0 {
		return vm.Errorf("ValueError", "%s is nested more than %d levels deep, or holds itself: it cannot be sent %s", what, bad.tooDeep, to)
	}
	if bad.at != "" {
		what += " (at " + strings.TrimPrefix(bad.at, ".") + ")"
	}
	if bad.float != "" {
		return vm.Errorf("ValueError", "%s is %s: JSON has no form for a Float that is not finite (Infinity, -Infinity, NaN), so it cannot be sent %s", what, bad.float, to)
	}
	return vm.TypeErrorf("%s is a %s: a %s cannot be sent %s", what, bad.what, bad.what, to)
}
