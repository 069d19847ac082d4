package serve

import (
	"strconv"
	"strings"

	"tova/vm"
)

// How values cross between servers. A call's arguments and its result
// are sent as JSON, after rpcValue has put them in the form the other
// side's typed parameters take: None is null and Some(x) is x (a
// parameter or record field typed Option<T> makes them None and Some
// again), Ok(x) is {"value": x} and Err(e) is {"error": e} (a parameter
// typed Result<T, E> makes them Ok and Err again), a record is an
// object of its fields (a parameter of its type makes it the record
// again), any other variant {"__tag": "Name", fields...}, as
// JSON.stringify writes it. A result that is Ok, Err, Some or None is
// that variant again for the caller (see rpcResultHeader). A function
// cannot be sent: that is a
// TypeError, where the value is, rather than a null the other side
// would take for a value.

// maxRPCDepth bounds the nesting of a value sent (a cycle would never
// end).
const maxRPCDepth = 512

// unsendable is a value that cannot cross: at is where, inside the value
// sent ("[0].f"), and what the value's type.
type unsendable struct {
	at, what string
	tooDeep  bool
}

// rpcValue is v as it crosses to another server (see above).
func rpcValue(v vm.Value, depth int) (vm.Value, *unsendable) {
	if depth > maxRPCDepth {
		return vm.Nil, &unsendable{tooDeep: true}
	}
	switch v.Kind() {
	case vm.KFunc, vm.KBuiltin, vm.KType:
		return vm.Nil, &unsendable{what: vm.TypeName(v)}
	case vm.KArray:
		in := v.AsArray().Elems
		out := make([]vm.Value, len(in))
		for i, e := range in {
			c, bad := rpcValue(e, depth+1)
			if bad != nil {
				bad.at = "[" + strconv.Itoa(i) + "]" + bad.at
				return vm.Nil, bad
			}
			out[i] = c
		}
		return vm.NewArray(out), nil
	case vm.KObject:
		return rpcObject(v.AsObject(), depth)
	case vm.KHost:
		if _, ok := v.AsHost().(*responseValue); ok {
			return vm.Nil, &unsendable{what: "HttpResponse"}
		}
	}
	return v, nil
}

func rpcObject(o *vm.Object, depth int) (vm.Value, *unsendable) {
	ti := o.Type
	switch ti {
	case vm.NoneType:
		return vm.Nil, nil
	case vm.SomeType:
		return rpcValue(o.Values()[0], depth+1)
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
		c, bad := rpcValue(vals[i], depth+1)
		if bad != nil {
			bad.at = "." + k + bad.at
			return vm.Nil, bad
		}
		out.Set(k, c)
	}
	return vm.ObjectValue(out), nil
}

// sendError is the TypeError of a value that cannot be sent: what is
// the value's role ("argument 1", "the result").
func sendError(what string, bad *unsendable) error {
	if bad.tooDeep {
		return vm.Errorf("ValueError", "%s is nested more than %d levels deep, or holds itself: it cannot be sent", what, maxRPCDepth)
	}
	if bad.at != "" {
		what += " (at " + strings.TrimPrefix(bad.at, ".") + ")"
	}
	return vm.TypeErrorf("%s is a %s: a %s cannot be sent to another server", what, bad.what, bad.what)
}

// resultTypeArgs splits "Result<T, E>" into T and E.
func resultTypeArgs(typ string) (ok, err string, isResult bool) {
	args, found := vm.TypeArgs(typ, "Result")
	if !found || len(args) != 2 {
		return "", "", false
	}
	return args[0], args[1], true
}

// convertResult makes {"value": x} Ok(x) and {"error": e} Err(e), x and
// e converted to their types, as a Result crosses between servers (a
// Result value is kept).
func (s *Server) convertResult(name string, v vm.Value, okType, errType string) (vm.Value, string) {
	if v.Kind() != vm.KObject {
		return vm.Nil, name + ` must be {"value": …} or {"error": …} (a Result)`
	}
	o := v.AsObject()
	if o.Type == vm.OkType || o.Type == vm.ErrType {
		return v, ""
	}
	keys := o.Keys()
	if o.Type != nil || len(keys) != 1 || keys[0] != "value" && keys[0] != "error" {
		return vm.Nil, name + ` must be {"value": …} or {"error": …} (a Result)`
	}
	x, _ := o.Get(keys[0])
	typ, wrap := okType, vm.Ok
	if keys[0] == "error" {
		typ, wrap = errType, vm.Err
	}
	optional := strings.HasPrefix(typ, "Option<")
	switch {
	case x.IsNil() && optional:
		x = vm.None
	case typ != "" && !x.IsNil():
		c, msg := s.convertParam(name+"."+keys[0], x, typ)
		if msg != "" {
			return vm.Nil, msg
		}
		if optional {
			c = vm.Some(c)
		}
		x = c
	}
	return wrap(x), ""
}
