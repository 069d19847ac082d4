package stdlib

import (
	"tova/vm"
)

// Result and Option: the constructors, and their methods as builtins
// whose first parameter is the receiver (r.unwrap() calls unwrap(r)).
// map, filter and flatMap live with the collection builtins, which
// handle Result/Option receivers too.

func registerResult() {
	vm.RegisterValue("Ok", vm.TypeValueOf(vm.OkType))
	vm.RegisterValue("Err", vm.TypeValueOf(vm.ErrType))
	vm.RegisterValue("Some", vm.TypeValueOf(vm.SomeType))
	vm.RegisterValue("None", vm.None)

	reg("unwrap", ps("value"), bUnwrap)
	reg("expect", ps("value", "msg"), bExpect)
	reg("unwrapOr", ps("value", "default"), bUnwrapOr)
	alias("unwrapOr", "unwrap_or")
	reg("unwrapOrElse", ps("value", "fn"), bUnwrapOrElse)
	alias("unwrapOrElse", "unwrap_or_else")
	reg("unwrapErr", ps("value"), bUnwrapErr)
	alias("unwrapErr", "unwrap_err")
	reg("isOk", ps("value"), isKind("isOk", isOk))
	alias("isOk", "is_ok")
	reg("isErr", ps("value"), isKind("isErr", isErr))
	alias("isErr", "is_err")
	reg("isSome", ps("value"), isKind("isSome", isSome))
	alias("isSome", "is_some")
	reg("isNone", ps("value"), isKind("isNone", isNone))
	alias("isNone", "is_none")
	reg("mapErr", ps("value", "fn"), bMapErr)
	alias("mapErr", "map_err")
	reg("or", ps("value", "other"), bOr)
	reg("and", ps("value", "other"), bAnd)
	reg("ok", ps("value"), bOkOpt)
	reg("err", ps("value"), bErrOpt)
	reg("context", ps("value", "msg"), bContext)
	reg("okOr", ps("value", "error"), bOkOr)
	alias("okOr", "ok_or")
}

// describe shows an error payload the way unwrap reports it: strings as
// they are, objects and lists as JSON, other values as printed.
func describe(v vm.Value) string {
	switch v.Kind() {
	case vm.KString:
		return v.AsString()
	case vm.KArray, vm.KObject:
		if b, err := AppendJSON(nil, nil, v); err == nil {
			return string(b)
		}
	}
	return vm.ToString(v)
}

func bUnwrap(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	v := arg(args, 0)
	switch variantOf(v) {
	case isOk, isSome:
		return payload(v), nil
	case isErr:
		return vm.Nil, vm.Errorf("Error", "Called unwrap on Err: %s", describe(payload(v)))
	case isNone:
		return vm.Nil, vm.Errorf("Error", "Called unwrap on None")
	}
	if v.IsNil() {
		return vm.Nil, vm.Errorf("Error", "Called unwrap on nil")
	}
	return v, nil
}

func bExpect(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	v := arg(args, 0)
	switch variantOf(v) {
	case isOk, isSome:
		return payload(v), nil
	case notVariant:
		if !v.IsNil() {
			return v, nil
		}
	}
	msg := arg(args, 1)
	return vm.Nil, vm.Errorf("Error", "%s", vm.ToString(msg)) // (a runtime error: e.value is nil, as unwrap's)
}

// bUnwrapOr (Decision 8): the default when v is nil, None or Err; the
// payload of Some/Ok; v itself otherwise.
func bUnwrapOr(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	return UnwrapOr(arg(args, 0), arg(args, 1)), nil
}

// UnwrapOr is unwrapOr(v, d): d when v is nil, None or Err; the payload
// of Some/Ok; v itself otherwise.
func UnwrapOr(v, d vm.Value) vm.Value {
	switch variantOf(v) {
	case isOk, isSome:
		return payload(v)
	case isErr, isNone:
		return d
	}
	if v.IsNil() {
		return d
	}
	return v
}

func bUnwrapOrElse(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	v := arg(args, 0)
	switch variantOf(v) {
	case isOk, isSome:
		return payload(v), nil
	case isErr:
		fn, err := fnArg("unwrapOrElse", args, 1)
		if err != nil {
			return vm.Nil, err
		}
		return callFn(t, fn, payload(v))
	case isNone:
	default:
		if !v.IsNil() {
			return v, nil
		}
	}
	fn, err := fnArg("unwrapOrElse", args, 1)
	if err != nil {
		return vm.Nil, err
	}
	return callFn(t, fn)
}

func bUnwrapErr(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	v := arg(args, 0)
	if variantOf(v) == isErr {
		return payload(v), nil
	}
	return vm.Nil, vm.Errorf("Error", "Called unwrapErr on %s", vm.TypeName(v))
}

func isKind(name string, k variantKind) func(*vm.Thread, []vm.Value) (vm.Value, error) {
	return func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		return vm.Bool(variantOf(arg(args, 0)) == k), nil
	}
}

func bMapErr(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	v := arg(args, 0)
	fn, err := fnArg("mapErr", args, 1)
	if err != nil {
		return vm.Nil, err
	}
	if variantOf(v) != isErr {
		return v, nil
	}
	e, err := callFn(t, fn, payload(v))
	if err != nil {
		return vm.Nil, err
	}
	return vm.Err(e), nil
}

// bOr: v when it is Ok/Some (or a plain non-nil value), else other.
func bOr(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	v := arg(args, 0)
	switch variantOf(v) {
	case isErr, isNone:
		return arg(args, 1), nil
	case notVariant:
		if v.IsNil() {
			return arg(args, 1), nil
		}
	}
	return v, nil
}

// bAnd: other when v is Ok/Some (or a plain non-nil value), else v.
func bAnd(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	v := arg(args, 0)
	switch variantOf(v) {
	case isErr, isNone:
		return v, nil
	case notVariant:
		if v.IsNil() {
			return v, nil
		}
	}
	return arg(args, 1), nil
}

// bOkOpt converts a Result to an Option: Ok(v) → Some(v), Err → None.
func bOkOpt(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	v := arg(args, 0)
	switch variantOf(v) {
	case isOk:
		return vm.Some(payload(v)), nil
	case isErr:
		return vm.None, nil
	}
	return vm.Nil, typeErr("ok", "Result", v)
}

// bErrOpt converts a Result to an Option of its error.
func bErrOpt(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	v := arg(args, 0)
	switch variantOf(v) {
	case isErr:
		return vm.Some(payload(v)), nil
	case isOk:
		return vm.None, nil
	}
	return vm.Nil, typeErr("err", "Result", v)
}

// bOkOr converts an Option (or a nullable value) to a Result.
func bOkOr(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	v := arg(args, 0)
	switch variantOf(v) {
	case isSome:
		return vm.Ok(payload(v)), nil
	case isNone:
		return vm.Err(arg(args, 1)), nil
	case isOk, isErr:
		return v, nil
	}
	if v.IsNil() {
		return vm.Err(arg(args, 1)), nil
	}
	return vm.Ok(v), nil
}

// bContext adds a message to an Err: Err("msg → caused by: inner").
func bContext(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	v := arg(args, 0)
	switch variantOf(v) {
	case isErr:
		return vm.Err(vm.Str(vm.ToString(arg(args, 1)) + " → caused by: " + describe(payload(v)))), nil
	case isOk:
		return v, nil
	}
	return vm.Nil, typeErr("context", "Result", v)
}
