package stdlib

import (
	"testing"

	"tova/vm"
)

func record() vm.Value {
	ti := vm.NewTypeInfo("User", "User", []string{"id", "name"}, -1)
	return vm.ObjectValue(ti.New([]vm.Value{I(1), S("ann")}))
}

func TestObjects(t *testing.T) {
	runCases(t, []tc{
		{"keys", a(O("name", S("Alice"), "age", I(30))), `["name", "age"]`},
		{"keys", a(O()), "[]"},
		{"keys", a(record()), `["id", "name"]`},
		{"values", a(O("name", S("Alice"), "age", I(30))), `["Alice", 30]`},
		{"entries", a(O("name", S("Alice"), "age", I(30))), `[["name", "Alice"], ["age", 30]]`},
		{"has_key", a(O("a", I(1)), S("a")), "true"},
		{"has_key", a(O("a", nilV), S("a")), "true"},
		{"has_key", a(O("a", I(1)), S("b")), "false"},
		{"has_key", a(nilV, S("b")), "false"},
		{"has", a(O("a", I(1)), S("a")), "true"},
		{"has", a(nums(1, 2), I(2)), "true"},
		{"has", a(S("abc"), S("b")), "true"},
		{"merge", a(O("a", I(1)), O("b", I(2))), "{ a: 1, b: 2 }"},
		{"merge", a(O("a", I(1), "b", I(2)), O("b", I(3), "c", I(4))), "{ a: 1, b: 3, c: 4 }"},
		{"merge", a(O("theme", S("light"), "lang", S("en"), "debug", B(false)), O("theme", S("dark")), O("debug", B(true))), `{ theme: "dark", lang: "en", debug: true }`},
		{"merge", a(O("a", I(1)), nilV), "{ a: 1 }"},
		{"merge", a(), "{}"},
		{"merge", a(record(), O("x", I(1))), `{ id: 1, name: "ann", x: 1 }`},
		{"get", a(O("address", O("city", S("Oslo"))), S("address.city")), `"Oslo"`},
		{"get", a(O("address", nilV), S("address.city")), "nil"},
		{"get", a(O("a", I(1)), S("b.c"), S("dflt")), `"dflt"`},
		{"get", a(O("items", L(O("id", I(7)))), S("items.0.id")), "7"},
		{"get", a(O("items", L(O("id", I(7)))), S("items.-1.id")), "7"},
		{"get", a(O("a", O("b", I(2))), L(S("a"), S("b"))), "2"},
		{"get", a(nilV, S("a")), "nil"},
		{"pick", a(O("a", I(1), "b", I(2), "c", I(3)), L(S("a"), S("c"))), "{ a: 1, c: 3 }"},
		{"pick", a(O("a", I(1), "b", I(2)), S("b"), S("zz")), "{ b: 2 }"},
		// An Int key names its decimal text, in every builtin that takes a key.
		{"pick", a(O("1", I(1), "2", I(2)), L(I(2))), `{ "2": 2 }`},
		{"omit", a(O("1", I(1), "2", I(2)), I(2)), `{ "1": 1 }`},
		{"has_key", a(O("-7", I(1)), I(-7)), "true"},
		{"has_key", a(O("7", I(1)), I(8)), "false"},
		{"has", a(O("7", I(1)), I(7)), "true"},
		{"omit", a(O("a", I(1), "b", I(2), "c", I(3)), L(S("b"))), "{ a: 1, c: 3 }"},
		{"from_entries", a(L(L(S("name"), S("Alice")), L(S("age"), I(30)))), `{ name: "Alice", age: 30 }`},
		{"from_entries", a(L(L(I(1), S("x")))), `{ "1": "x" }`},
		{"map_values", a(O("math", I(85), "sci", I(92)), double), "{ math: 170, sci: 184 }"},
		{"freeze", a(O("a", I(1))), "{ a: 1 }"},
	})
	e := newEnv(t)
	orig := O("name", S("Alice"), "scores", nums(90, 85), "u", record())
	c := e.call(t, "clone", orig)
	eq(t, "clone", c, `{ name: "Alice", scores: [90, 85], u: User(id: 1, name: "ann") }`)
	c.AsObject().Slot(1).AsArray().Elems[0] = I(100)
	eq(t, "original after changing clone", orig, `{ name: "Alice", scores: [90, 85], u: User(id: 1, name: "ann") }`)
	eq(t, "clone keeps record type", e.call(t, "type_of", e.call(t, "get", c, S("u"))), `"User"`)
	eq(t, "clone(None)", e.call(t, "clone", vm.None), "None")
	cyc := vm.NewArray(nil)
	cyc.AsArray().Elems = append(cyc.AsArray().Elems, cyc)
	if err := e.err(t, "clone", cyc); err.Kind != "ValueError" {
		t.Errorf("clone(cyclic): %v", err)
	}
	// merge returns a new object.
	in := O("a", I(1))
	out := e.call(t, "merge", in)
	if out.AsObject() == in.AsObject() {
		t.Error("merge returned its argument")
	}
	runErrCases(t, []ec{
		{"keys", a(nums(1)), "TypeError", "keys: expected Object, got List"},
		{"keys", a(nilV), "TypeError", "keys: expected Object, got Nil"},
		{"values", a(S("x")), "TypeError", "values: expected Object, got String"},
		{"merge", a(O(), I(1)), "TypeError", "merge: expected Object, got Int"},
		{"has_key", a(O(), B(true)), "TypeError", "has_key: expected String or Int key, got Bool"},
		{"has", a(I(5), I(1)), "TypeError", "has: expected an Object, a List or a String, got Int"}, // (it named contains)
		{"from_entries", a(L(L(F(1.5), I(1)))), "TypeError", "from_entries: expected String or Int key, got Float"},
		{"from_entries", a(L(I(1))), "TypeError", "from_entries: expected [key, value] pair, got Int"},
		{"pick", a(O(), nilV), "TypeError", "pick: expected String or Int key, got Nil"},
		{"get", a(O(), B(true)), "TypeError", "get: expected String path, got Bool"},
	})
}

func TestResultOption(t *testing.T) {
	upper := builtin(t, "upper")
	wrap := goFn("wrap", func(x []vm.Value) (vm.Value, error) { return vm.Str("wrapped: " + vm.ToString(x[0])), nil })
	ok, errV, some := vm.Ok(I(42)), vm.Err(S("fail")), vm.Some(I(42))
	runCases(t, []tc{
		{"unwrap", a(ok), "42"},
		{"unwrap", a(some), "42"},
		{"unwrap", a(I(3)), "3"},
		{"unwrapOr", a(ok, I(0)), "42"},
		{"unwrapOr", a(errV, I(0)), "0"},
		{"unwrapOr", a(some, I(0)), "42"},
		{"unwrapOr", a(vm.None, S("default")), `"default"`},
		{"unwrapOr", a(nilV, S("default")), `"default"`},
		{"unwrapOr", a(S("x-123"), S("default")), `"x-123"`},
		{"unwrapOr", a(I(0), I(5)), "0"},
		{"unwrapOr", a(B(false), I(5)), "false"},
		{"unwrap_or", a(vm.None, I(1)), "1"},
		{"unwrapOrElse", a(errV, upper), `"FAIL"`},
		{"unwrapOrElse", a(vm.None, goFn("fb", func(x []vm.Value) (vm.Value, error) { return vm.Int(int64(len(x))), nil })), "0"},
		{"unwrapOrElse", a(some, upper), "42"},
		{"expect", a(ok, S("should have value")), "42"},
		{"unwrapErr", a(errV), `"fail"`},
		{"isOk", a(ok), "true"},
		{"isOk", a(errV), "false"},
		{"isErr", a(errV), "true"},
		{"isSome", a(some), "true"},
		{"isSome", a(I(1)), "false"},
		{"isNone", a(vm.None), "true"},
		{"is_none", a(some), "false"},
		{"mapErr", a(ok, wrap), "Ok(42)"},
		{"mapErr", a(vm.Err(S("not found")), wrap), `Err("wrapped: not found")`},
		{"map_err", a(vm.Err(I(1)), double), "Err(2)"},
		{"map", a(vm.Ok(S("hello")), upper), `Ok("HELLO")`},
		{"or", a(ok, vm.Ok(I(99))), "Ok(42)"},
		{"or", a(errV, vm.Ok(I(99))), "Ok(99)"},
		{"or", a(vm.Err(S("a")), vm.Err(S("b"))), `Err("b")`},
		{"or", a(some, vm.Some(I(99))), "Some(42)"},
		{"or", a(vm.None, vm.Some(I(99))), "Some(99)"},
		{"or", a(nilV, I(1)), "1"},
		{"and", a(ok, vm.Ok(I(99))), "Ok(99)"},
		{"and", a(ok, vm.Err(S("fail"))), `Err("fail")`},
		{"and", a(errV, vm.Ok(I(99))), `Err("fail")`},
		{"and", a(some, vm.None), "None"},
		{"and", a(vm.None, some), "None"},
		{"ok", a(ok), "Some(42)"},
		{"ok", a(errV), "None"},
		{"err", a(errV), `Some("fail")`},
		{"err", a(ok), "None"},
		{"okOr", a(some, S("e")), "Ok(42)"},
		{"ok_or", a(vm.None, S("e")), `Err("e")`},
		{"context", a(errV, S("loading config")), `Err("loading config → caused by: fail")`},
		{"context", a(vm.Err(O("code", I(1))), S("ctx")), `Err("ctx → caused by: {\"code\":1}")`},
		{"context", a(ok, S("x")), "Ok(42)"},
		{"filter", a(vm.Some(I(5)), gt2), "Some(5)"},
		{"type_of", a(e0(t, "Ok", I(1))), `"Ok"`},
	})
	runErrCases(t, []ec{
		{"unwrap", a(errV), "Error", "Called unwrap on Err: fail"},
		{"unwrap", a(vm.Err(O("code", I(404)))), "Error", `Called unwrap on Err: {"code":404}`},
		{"unwrap", a(vm.None), "Error", "Called unwrap on None"},
		{"unwrap", a(nilV), "Error", "Called unwrap on nil"},
		{"expect", a(errV, S("config missing")), "Error", "config missing"},
		{"expect", a(vm.None, S("need value")), "Error", "need value"},
		{"unwrapErr", a(ok), "Error", "Called unwrapErr on Ok"},
		{"mapErr", a(errV, I(1)), "TypeError", "mapErr: expected Function, got Int"},
		{"ok", a(I(1)), "TypeError", "ok: expected Result, got Int"},
		{"context", a(I(1), S("x")), "TypeError", "context: expected Result, got Int"},
	})
	if v, _ := vm.LookupBuiltin("None"); !vm.Same(v, vm.None) {
		t.Error("None is not the None singleton")
	}
	eq(t, "Err(5)", e0(t, "Err", I(5)), "Err(5)")
	eq(t, "Some(nil)", e0(t, "Some", nilV), "Some(nil)")
	if !vm.Equal(e0(t, "Ok", I(1)), vm.Ok(I(1))) {
		t.Error("Ok(1) != vm.Ok(1)")
	}
}

// e0 calls a registered constructor (Ok, Err, Some).
func e0(t *testing.T, name string, args ...vm.Value) vm.Value {
	t.Helper()
	e := newEnv(t)
	v, err := e.th.Call(builtin(t, name), args...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
