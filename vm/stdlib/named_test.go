package stdlib

import (
	"testing"

	"tova/vm"
)

// callNamed calls builtin name with positional and named arguments the
// way the VM does: named arguments move to their parameter's position,
// absent ones in between are nil.
func callNamed(t *testing.T, e *testEnv, name string, pos []vm.Value, named map[string]vm.Value) vm.Value {
	t.Helper()
	fn := builtin(t, name)
	params := fn.AsBuiltin().Params
	if params == nil {
		t.Fatalf("%s declares no parameters", name)
	}
	n := len(pos)
	idx := map[string]int{}
	for k := range named {
		i := -1
		for j, p := range params {
			if p == k {
				i = j
			}
		}
		if i < 0 {
			t.Fatalf("%s has no parameter %s (has %v)", name, k, params)
		}
		idx[k] = i
		n = max(n, i+1)
	}
	full := make([]vm.Value, n)
	copy(full, pos)
	for k, v := range named {
		full[idx[k]] = v
	}
	v, err := e.th.Call(fn, full...)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
}

func TestNamedArguments(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name  string
		pos   []vm.Value
		named map[string]vm.Value
		want  string
	}{
		{"sort_by", a(users(), S("age")), map[string]vm.Value{"desc": B(true)}, `[{ name: "cy", age: 35, role: "user" }, { name: "ann", age: 30, role: "admin" }, { name: "bob", age: 25, role: "user" }]`},
		{"sorted", a(nums(2, 3, 1)), map[string]vm.Value{"desc": B(true)}, "[3, 2, 1]"},
		{"sorted", a(users()), map[string]vm.Value{"key": S("name")}, `[{ name: "ann", age: 30, role: "admin" }, { name: "bob", age: 25, role: "user" }, { name: "cy", age: 35, role: "user" }]`},
		{"pad_start", a(S("5"), I(3)), map[string]vm.Value{"fill": S("0")}, `"005"`},
		{"pad_end", a(S("5")), map[string]vm.Value{"n": I(3), "fill": S("*")}, `"5**"`},
		{"split", a(S("a;b")), map[string]vm.Value{"sep": S(";")}, `["a", "b"]`},
		{"join", a(L(S("a"), S("b"))), map[string]vm.Value{"sep": S("+")}, `"a+b"`},
		{"env", a(S("MISSING")), map[string]vm.Value{"default": S("d")}, `"d"`},
		{"enumerate", a(L(S("a"))), map[string]vm.Value{"start": I(1)}, `[[1, "a"]]`},
		{"reduce", a(nums(1, 2), add), map[string]vm.Value{"initial": I(10)}, "13"},
		{"range", a(), map[string]vm.Value{"start": I(2), "end": I(8), "step": I(3)}, "range(2, 8, 3)"},
		{"round", a(F(3.14159)), map[string]vm.Value{"digits": I(2)}, "3.14"},
		{"json_stringify", a(L(I(1))), map[string]vm.Value{"indent": I(1)}, `"[\n 1\n]"`},
		{"fill_nil", a(L(O("a", nilV))), map[string]vm.Value{"column": S("a"), "value": I(0)}, "[{ a: 0 }]"},
		{"drop_nil", a(L(O("a", nilV), O("a", I(1)))), map[string]vm.Value{"column": S("a")}, "[{ a: 1 }]"},
		{"fill_nil", a(L(I(1), nilV)), map[string]vm.Value{"value": I(0)}, "[1, 0]"},
		{"fill_nil", a(L(S("x"), nilV), S("unknown")), nil, `["x", "unknown"]`},
		{"unwrapOr", a(vm.None), map[string]vm.Value{"default": I(5)}, "5"},
		{"take", a(nums(1, 2, 3)), map[string]vm.Value{"n": I(2)}, "[1, 2]"},
		{"get", a(O("a", nilV), S("a")), map[string]vm.Value{"default": I(0)}, "0"},
		{"regex_test", a(S("ABC"), S("abc")), map[string]vm.Value{"flags": S("i")}, "true"},
		{"truncate", a(S("Hello World"), I(8)), map[string]vm.Value{"suffix": S("~")}, `"Hello W~"`},
		{"each", a(), map[string]vm.Value{"seq": L(), "fn": double}, "nil"},
	}
	for _, c := range cases {
		eq(t, c.name+" with named arguments", callNamed(t, e, c.name, c.pos, c.named), c.want)
	}
	// Parameters are named for the builtins that take options.
	for _, name := range []string{"map", "filter", "reduce", "sorted", "sort_by", "split", "join", "pad_start",
		"replace", "range", "env", "sleep", "unwrapOr", "json_stringify", "round", "drop_nil", "fill_nil", "where"} {
		if builtin(t, name).AsBuiltin().Params == nil {
			t.Errorf("%s has no Params", name)
		}
	}
	js := nsMember(t, e, "JSON", "stringify")
	if p := js.AsBuiltin().Params; len(p) < 3 || p[2] != "indent" {
		t.Errorf("JSON.stringify params %v", p)
	}
}
