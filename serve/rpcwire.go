package serve

import (
	"strings"

	"tova/vm"
)

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
	v = queryJSON(v) // (from a query or a form: its JSON text, ?r={"value":1})
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
