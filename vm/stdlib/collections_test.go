package stdlib

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tova/vm"
)

func nums(xs ...int64) vm.Value {
	out := make([]vm.Value, len(xs))
	for i, x := range xs {
		out[i] = vm.Int(x)
	}
	return vm.NewArray(out)
}

func users() vm.Value {
	return L(
		O("name", S("ann"), "age", I(30), "role", S("admin")),
		O("name", S("bob"), "age", I(25), "role", S("user")),
		O("name", S("cy"), "age", I(35), "role", S("user")),
	)
}

func TestMapFilter(t *testing.T) {
	e := newEnv(t)
	runCases(t, []tc{
		{"map", a(nums(1, 2, 3), double), "[2, 4, 6]"},
		{"map", a(L(), double), "[]"},
		{"map", a(vm.NewRange(0, 3, 1), double), "[0, 2, 4]"},
		{"map", a(L(S("alice"), S("bob")), builtin(t, "capitalize")), `["Alice", "Bob"]`},
		{"map", a(S("ab"), builtin(t, "upper")), `["A", "B"]`},
		{"map", a(vm.Ok(I(5)), double), "Ok(10)"},
		{"map", a(vm.Err(S("e")), double), `Err("e")`},
		{"map", a(vm.Some(I(5)), double), "Some(10)"},
		{"map", a(vm.None, double), "None"},
		{"map", a(L(S("1"), S("x")), builtin(t, "to_int")), "[1, nil]"},
		{"filter", a(nums(1, 2, 3, 4, 5), gt2), "[3, 4, 5]"},
		{"filter", a(vm.NewRange(0, 10, 1), isEven), "[0, 2, 4, 6, 8]"},
		{"filter", a(vm.Some(I(5)), gt2), "Some(5)"},
		{"filter", a(vm.Some(I(1)), gt2), "None"},
		{"filter", a(vm.None, gt2), "None"},
		{"filter", a(L(I(0), nilV, B(false), S("")), builtin(t, "identity")), `[0, ""]`},
		{"flat_map", a(nums(1, 2, 3), goFn("pair", func(x []vm.Value) (vm.Value, error) {
			return L(x[0], vm.Int(x[0].AsInt()*10)), nil
		})), "[1, 10, 2, 20, 3, 30]"},
		{"flat_map", a(L(S("hello world"), S("foo bar")), builtin(t, "words")), `["hello", "world", "foo", "bar"]`},
		{"flat_map", a(nums(1, 2), double), "[2, 4]"},
		{"flatMap", a(vm.Ok(I(5)), goFn("okd", func(x []vm.Value) (vm.Value, error) { return vm.Ok(vm.Int(x[0].AsInt() * 2)), nil })), "Ok(10)"},
		{"andThen", a(vm.Err(S("e")), double), `Err("e")`},
		{"and_then", a(vm.Some(I(1)), goFn("none", func([]vm.Value) (vm.Value, error) { return vm.None, nil })), "None"},
	})
	// map preallocates and does not alias its input.
	in := nums(1, 2)
	out := e.call(t, "map", in, builtin(t, "identity"))
	if vm.Same(in, out) || in.AsArray() == out.AsArray() {
		t.Error("map returned its input")
	}
	runErrCases(t, []ec{
		{"map", a(nums(1), I(3)), "TypeError", "map: expected Function, got Int"},
		{"map", a(nilV, double), "TypeError", "map: expected List, got Nil"},
		{"map", a(I(5), double), "TypeError", "map: expected List, got Int"},
		{"map", a(nums(1, 2), boom), "Error", "boom"},
		{"filter", a(nums(1), S("x")), "TypeError", "filter: expected Function, got String"},
		{"flatMap", a(vm.Ok(I(1)), double), "TypeError", "flatMap callback must return Ok/Err, got Int"},
		{"flatMap", a(vm.Some(I(1)), double), "TypeError", "flatMap callback must return Some/None"},
	})
}

func TestMapHostIterable(t *testing.T) {
	e := newEnv(t)
	h := &seqHost{n: 4}
	eq(t, "map(stream)", e.call(t, "map", vm.HostValue(h), double), "[0, 2, 4, 6]")
	h2 := &seqHost{n: 1000}
	eq(t, "take(stream, 2)", e.call(t, "take", vm.HostValue(h2), I(2)), "[0, 1]")
	if h2.read != 2 {
		t.Errorf("take(stream, 2) read %d elements", h2.read)
	}
	h3 := &seqHost{n: 1000}
	eq(t, "first(stream)", e.call(t, "first", vm.HostValue(h3)), "0")
	eq(t, "any(stream, gt2)", e.call(t, "any", vm.HostValue(h3), gt2), "true")
	if h3.read != 4 {
		t.Errorf("first+any read %d elements", h3.read)
	}
}

func TestReduceSum(t *testing.T) {
	runCases(t, []tc{
		{"reduce", a(nums(1, 2, 3, 4), add, I(0)), "10"},
		{"reduce", a(L(S("a"), S("b"), S("c")), add, S("")), `"abc"`},
		{"reduce", a(nums(1, 2, 3), add), "6"},
		{"reduce", a(L(), add, I(7)), "7"},
		{"reduce", a(nums(5), add), "5"},
		{"sum", a(nums(1, 2, 3, 4)), "10"},
		{"sum", a(L()), "0"},
		{"sum", a(vm.NewRange(0, 101, 1)), "5050"},
		{"sum", a(L(I(1), F(0.5))), "1.5"},
		{"sum", a(L(F(0.5), I(1))), "1.5"},
		{"sum", a(L(vm.Duration(1e9), vm.Duration(5e8))), "1s500ms"},
		{"sum", a(L(vm.Size(1024), vm.Size(1024))), "2KB"},
		{"sum", a(L(I(math.MaxInt64), I(-1), I(1))), "9223372036854775807"},
		{"sum_by", a(L(O("v", I(10)), O("v", I(20))), S("v")), "30"},
		{"sum_by", a(L(O("n", I(1)), O("n", I(2))), getN), "3"},
		{"product", a(nums(1, 2, 3, 4)), "24"},
		{"product", a(L()), "1"},
		{"product", a(L(I(2), F(0.5))), "1"},
		{"count", a(nums(1, 2, 3, 4, 5), gt2), "3"},
		{"count", a(nums(1, 2, 3)), "3"},
		{"count", a(vm.NewRange(0, 100_000_000, 1)), "100000000"}, // (past the list limit, as len)
		{"count", a(S("héllo")), "5"},
		{"count", a(vm.HostValue(&seqHost{n: 7})), "7"},
		{"count", a(L(S("apple"), S("avocado"), S("banana")), goFn("sa", func(x []vm.Value) (vm.Value, error) {
			return vm.Bool(strings.HasPrefix(x[0].AsString(), "a")), nil
		})), "2"},
	})
	e := newEnv(t)
	kindIs(t, "sum(ints)", e.call(t, "sum", nums(1, 2)), vm.KInt)
	kindIs(t, "sum(float)", e.call(t, "sum", L(I(1), F(1))), vm.KFloat)
	runErrCases(t, []ec{
		{"reduce", a(L(), add), "TypeError", "reduce: empty sequence with no initial value"},
		// Python's key=: the message names max_by
		{"max", a(nums(1, 2), add), "TypeError", "max takes the values themselves (max(xs) or max(a, b, c)); for the one whose key is greatest write max_by(xs, fn(x) ...)"},
		{"min", a(nums(1, 2), O("key", add)), "TypeError", "min takes the values themselves (min(xs) or min(a, b, c)); for the one whose key is least write min_by(xs, fn(x) ...)"},
		{"min", a(nums(1, 2), add), "TypeError", "for the one whose key is least write min_by(xs, fn(x) ...)"},
		{"reduce", a(nums(1), I(1)), "TypeError", "reduce: expected Function, got Int"},
		{"reduce", a(nums(1, 2), add, nilV), "TypeError", "Nil and Int"}, // an explicit nil initial value is used
		{"sum", a(L(I(math.MaxInt64), I(1))), "OverflowError", "sum: integer overflow"},
		{"sum", a(L(I(math.MinInt64), I(-1))), "OverflowError", "sum: integer overflow"},
		{"sum", a(vm.NewRange(math.MaxInt64-2, math.MaxInt64, 1)), "OverflowError", "sum: integer overflow"},
		{"sum", a(L(I(1), S("x"))), "TypeError", "sum: cannot add String to a number"},
		{"sum", a(L(vm.Duration(1), I(1))), "TypeError", "sum: cannot add Int to a Duration"},
		{"sum", a(nilV), "TypeError", "sum: expected List, got Nil"},
		{"product", a(L(I(math.MaxInt64), I(2))), "OverflowError", "product: integer overflow"},
		{"product", a(L(S("a"))), "TypeError", "product: expected Number, got String"},
	})
}

// Lists nested too deep to order are a ValueError for a builtin that
// orders them, as for < (they were a TypeError there alone).
func TestOrderingTooDeepIsAValueError(t *testing.T) {
	deep := func() vm.Value {
		v := L()
		for range 20000 {
			v = L(v)
		}
		return v
	}
	a, b := deep(), deep()
	for _, fname := range []string{"sorted", "max", "min"} {
		runErrCases(t, []ec{{fname, []vm.Value{L(a, b)}, "ValueError", fname + ": cannot order lists nested more than"}})
	}
}

func TestMinMax(t *testing.T) {
	runCases(t, []tc{
		{"min", a(nums(3, 1, 4, 1, 5)), "1"},
		{"max", a(nums(3, 1, 4, 1, 5)), "5"},
		{"min", a(L(S("c"), S("a"), S("b"))), `"a"`},
		{"max", a(L(S("c"), S("a"), S("b"))), `"c"`},
		{"min", a(L()), "nil"},
		{"max", a(L()), "nil"},
		{"min", a(I(3), I(2)), "2"},
		{"max", a(I(3), F(3.5), I(1)), "3.5"},
		{"max", a(L(F(math.NaN()), I(1))), "NaN"},
		{"min", a(L(F(math.NaN()), I(1))), "NaN"},
		{"min", a(L(I(1), F(math.NaN()), I(0))), "NaN"},
		{"max", a(I(1), F(math.NaN())), "NaN"},
		{"min", a(I(1), F(math.NaN())), "NaN"},
		{"min", a(vm.NewRange(5, 10, 1)), "5"},
		{"min_by", a(L(O("n", I(3)), O("n", I(1)), O("n", I(2))), getN), "{ n: 1 }"},
		{"max_by", a(L(O("n", I(3)), O("n", I(1)), O("n", I(3))), S("n")), "{ n: 3 }"},
		{"min_by", a(L(S("hello"), S("hi"), S("hey")), builtin(t, "len")), `"hi"`},
		{"min_by", a(L(), getN), "nil"},
		{"any", a(nums(1, 2, 3), gt2), "true"},
		{"any", a(nums(1, 2), gt2), "false"},
		{"any", a(L(), gt2), "false"},
		{"any", a(L(nilV, B(false), I(0))), "true"},
		{"all", a(nums(2, 4, 6), isEven), "true"},
		{"all", a(nums(2, 3, 6), isEven), "false"},
		{"all", a(L(), isEven), "true"},
		{"all", a(L(I(1), nilV)), "false"},
	})
	runErrCases(t, []ec{
		{"min", a(L(I(1), S("a"))), "TypeError", "min: cannot compare String with Int"},
		{"max_by", a(L(I(1)), I(2)), "TypeError", "max_by: expected Function or column name, got Int"},
		{"any", a(nums(1), I(2)), "TypeError", "any: expected Function, got Int"},
	})
}

func TestSorting(t *testing.T) {
	e := newEnv(t)
	runCases(t, []tc{
		{"sorted", a(nums(3, 1, 4, 1, 5)), "[1, 1, 3, 4, 5]"},
		{"sorted", a(L(S("banana"), S("apple"), S("cherry"))), `["apple", "banana", "cherry"]`},
		{"sorted", a(L(F(2.5), I(1), F(math.NaN()), I(3))), "[1, 2.5, 3, NaN]"},
		{"sorted", a(users(), S("age")), `[{ name: "bob", age: 25, role: "user" }, { name: "ann", age: 30, role: "admin" }, { name: "cy", age: 35, role: "user" }]`},
		{"sorted", a(nums(1, 2, 3), negF), "[3, 2, 1]"},
		{"sorted", a(nums(1, 3, 2), nilV, B(true)), "[3, 2, 1]"},
		{"sorted", a(L()), "[]"},
		{"sorted", a(S("cab")), `["a", "b", "c"]`},
		{"sorted", a(L(L(I(1), I(2)), L(I(1)), L(I(0), I(9)))), "[[0, 9], [1], [1, 2]]"},
		{"sort_by", a(users(), S("name"), B(true)), `[{ name: "cy", age: 35, role: "user" }, { name: "bob", age: 25, role: "user" }, { name: "ann", age: 30, role: "admin" }]`},
		{"sort_by", a(nums(3, 1, 2), negF), "[3, 2, 1]"},
		{"reversed", a(nums(1, 2, 3)), "[3, 2, 1]"},
		{"reversed", a(S("héllo")), `"olléh"`},
		{"reversed", a(vm.NewRange(0, 3, 1)), "[2, 1, 0]"},
		{"reversed", a(L()), "[]"},
	})
	// Stability: equal keys keep their order.
	rows := L(O("k", I(1), "i", I(0)), O("k", I(0), "i", I(1)), O("k", I(1), "i", I(2)), O("k", I(0), "i", I(3)))
	eq(t, "sort_by stable", e.call(t, "map", e.call(t, "sort_by", rows, S("k")), goFn("i", func(x []vm.Value) (vm.Value, error) { return field(x[0], "i"), nil })), "[1, 3, 0, 2]")
	eq(t, "sort_by desc stable", e.call(t, "map", e.call(t, "sort_by", rows, S("k"), B(true)), goFn("i", func(x []vm.Value) (vm.Value, error) { return field(x[0], "i"), nil })), "[0, 2, 1, 3]")
	// sorted copies; sort and reverse work in place.
	xs := nums(3, 1, 2)
	eq(t, "sorted", e.call(t, "sorted", xs), "[1, 2, 3]")
	eq(t, "input after sorted", xs, "[3, 1, 2]")
	if r := e.call(t, "sort", xs); !vm.Same(r, xs) {
		t.Error("sort did not return its list")
	}
	eq(t, "list after sort", xs, "[1, 2, 3]")
	e.call(t, "reverse", xs)
	eq(t, "list after reverse", xs, "[3, 2, 1]")
	eq(t, "reverse string", e.call(t, "reverse", S("abc")), `"cba"`)
	runErrCases(t, []ec{
		{"sorted", a(L(I(1), S("a"))), "TypeError", "sorted: cannot compare"},
		{"sorted", a(L(O(), O())), "TypeError", "sorted: cannot compare Object with Object"},
		{"sorted", a(nums(2, 1), boom), "Error", "boom"},
		{"sort_by", a(nums(1)), "TypeError", "sort_by: expected Function or column name, got Nil"},
		// A key by name over elements with no fields: as x.a says (it
		// read nil: group_by gave { nil: [...] }, sorted(xs, "desc")
		// "cannot compare Nil with Nil").
		{"sorted", a(nums(3, 1), S("desc")), "TypeError", `sorted: the key "desc" names a field, and Int has none`},
		{"group_by", a(nums(3, 1), S("a")), "TypeError", `group_by: the key "a" names a field, and Int has none`},
		{"sorted", a(I(5)), "TypeError", "sorted: expected List, got Int"},
	})
	cl := closures(t, e)
	if err := e.err(t, "sorted", L(S("a"), S("b")), cl[2]); !strings.Contains(err.Msg, "") {
		t.Error(err)
	}
}

func TestSlicing(t *testing.T) {
	runCases(t, []tc{
		{"take", a(nums(1, 2, 3, 4, 5), I(3)), "[1, 2, 3]"},
		{"take", a(nums(1, 2), I(10)), "[1, 2]"},
		{"take", a(nums(1, 2), I(-1)), "[]"},
		{"take", a(S("héllo"), I(2)), `"hé"`},
		{"take", a(vm.NewRange(10, 0, -2), I(2)), "[10, 8]"},
		{"limit", a(nums(1, 2, 3), I(1)), "[1]"},
		{"drop", a(nums(1, 2, 3, 4, 5), I(2)), "[3, 4, 5]"},
		{"drop", a(nums(1, 2), I(10)), "[]"},
		{"drop", a(S("héllo"), I(2)), `"llo"`},
		{"drop", a(vm.NewRange(0, 5, 1), I(3)), "[3, 4]"},
		{"drop", a(vm.HostValue(&seqHost{n: 4}), I(2)), "[2, 3]"},
		{"first", a(nums(10, 20, 30)), "10"},
		{"first", a(L()), "nil"},
		{"first", a(S("héllo")), `"h"`},
		{"first", a(S("")), "nil"},
		{"first", a(vm.NewRange(3, 9, 2)), "3"},
		{"first", a(vm.NewRange(3, 3, 2)), "nil"},
		{"last", a(nums(10, 20, 30)), "30"},
		{"last", a(L()), "nil"},
		{"last", a(S("helló")), `"ó"`},
		{"last", a(vm.NewRange(3, 9, 2)), "7"},
		{"last", a(vm.NewRange(10, 0, -3)), "1"},
		{"last", a(vm.HostValue(&seqHost{n: 4})), "3"},
		{"slice", a(nums(0, 1, 2, 3, 4), I(1), I(3)), "[1, 2]"},
		{"slice", a(nums(0, 1, 2, 3, 4), I(-2)), "[3, 4]"},
		{"slice", a(nums(0, 1, 2, 3, 4), I(3), I(1)), "[]"},
		{"slice", a(S("héllo"), I(1), I(-1)), `"éll"`},
	})
	runErrCases(t, []ec{
		{"take", a(nums(1), S("2")), "TypeError", "take: expected Int, got String"},
		{"take", a(nilV, I(2)), "TypeError", "take: expected List, got Nil"},
		{"slice", a(nums(1), S("a")), "TypeError", "slice: expected Int, got String"},
	})
}

func TestSearching(t *testing.T) {
	runCases(t, []tc{
		{"find", a(nums(1, 2, 3, 4), gt2), "3"},
		{"find", a(nums(1, 2), gt2), "nil"},
		{"find", a(users(), goFn("bob", func(x []vm.Value) (vm.Value, error) {
			return vm.Bool(field(x[0], "name").AsString() == "bob"), nil
		})), `{ name: "bob", age: 25, role: "user" }`},
		{"find_index", a(nums(10, 20, 30), goFn("gt15", func(x []vm.Value) (vm.Value, error) { return vm.Bool(x[0].AsInt() > 15), nil })), "1"},
		{"find_index", a(nums(1, 2), gt2), "nil"},
		{"contains", a(nums(1, 2, 3), I(2)), "true"},
		{"contains", a(nums(1, 2, 3), I(5)), "false"},
		{"contains", a(nums(1, 2, 3), F(2)), "true"},
		{"contains", a(L(L(I(1))), L(I(1))), "true"},
		{"contains", a(S("hello world"), S("world")), "true"},
		{"contains", a(S("hello"), S("xyz")), "false"},
		{"contains", a(O("a", I(1)), S("a")), "true"},
		{"contains", a(O("a", I(1)), S("b")), "false"},
		{"contains", a(O("12", I(1)), I(12)), "true"},
		{"contains", a(O("12", I(1)), B(true)), "false"},
		{"contains", a(vm.NewRange(0, 10, 2), I(4)), "true"},
		{"contains", a(vm.NewRange(0, 10, 2), I(5)), "false"},
		{"contains", a(vm.NewRange(0, 10, 2), I(10)), "false"},
		{"contains", a(vm.NewRange(10, 0, -2), I(2)), "true"},
		{"contains", a(vm.NewRange(10, 0, -2), I(0)), "false"},
		{"contains", a(nilV, I(1)), "false"},
		{"contains", a(vm.HostValue(&seqHost{n: 5}), I(3)), "true"},
		{"includes", a(L(S("a"), S("b")), S("a")), "true"},
		{"index_of", a(nums(5, 6, 7), I(7)), "2"},
		{"index_of", a(nums(5, 6, 7), I(9)), "nil"},
		{"index_of", a(S("hello world"), S("world")), "6"},
		{"index_of", a(S("héllo"), S("l")), "2"},
		{"index_of", a(S("hello"), S("xyz")), "nil"},
		{"indexOf", a(nums(5, 6), I(9)), "-1"},
		{"indexOf", a(nums(5, 6), I(6)), "1"},
		{"last_index_of", a(S("abcabc"), S("bc")), "4"},
		{"last_index_of", a(nums(1, 2, 1), I(1)), "2"},
		{"last_index_of", a(S("hello"), S("z")), "nil"},
		{"lastIndexOf", a(S("hello"), S("z")), "-1"},
		{"lastIndexOf", a(nums(1, 2), I(9)), "-1"},
		{"lastIndexOf", a(S("abcabc"), S("bc")), "4"},
	})
	runErrCases(t, []ec{
		{"contains", a(S("abc"), I(1)), "TypeError", "contains: expected String, got Int"},
		{"contains", a(I(5), I(1)), "TypeError", "contains: expected List, got Int"},
		{"find", a(nums(1), nilV), "TypeError", "find: expected Function, got Nil"},
	})
}

func TestUniqueAndSets(t *testing.T) {
	runCases(t, []tc{
		{"unique", a(nums(1, 2, 2, 3, 3, 3)), "[1, 2, 3]"},
		{"unique", a(L(S("a"), S("b"), S("a"), S("c"))), `["a", "b", "c"]`},
		{"unique", a(L(I(1), F(1), F(1.5), F(1.5))), "[1, 1.5]"},
		{"unique", a(L(L(I(1)), L(I(1)), O("a", I(1)), O("a", I(1)), nilV, nilV)), "[[1], { a: 1 }, nil]"},
		{"unique", a(L()), "[]"},
		{"unique", a(users(), S("role")), `[{ name: "ann", age: 30, role: "admin" }, { name: "bob", age: 25, role: "user" }]`},
		{"unique", a(L(vm.Duration(1), I(1))), "[1ns, 1]"},
		// rows: equal whatever the order of their keys, Int 1 as Float 1.0
		{"unique", a(L(O("a", I(1), "b", L(I(2))), O("b", L(F(2)), "a", F(1)), O("a", I(1), "b", L(I(3))), O("a", I(1)))), "[{ a: 1, b: [2] }, { a: 1, b: [3] }, { a: 1 }]"},
		{"unique", a(L(L(L(I(1)), nilV), L(L(F(1)), nilV), L(nilV, L(I(1))))), "[[[1], nil], [nil, [1]]]"},
		{"difference", a(L(O("id", I(1)), O("id", I(2)), O("id", I(3))), L(O("id", F(2)))), "[{ id: 1 }, { id: 3 }]"},
		{"intersection", a(L(O("id", I(1)), O("id", I(2))), L(O("id", I(2)), O("x", I(2)))), "[{ id: 2 }]"},
		{"symmetric_difference", a(L(L(I(1)), L(I(2))), L(L(I(2)), L(I(3)))), "[[1], [3]]"},
		{"union", a(nums(1, 2, 3), nums(3, 4, 5)), "[1, 2, 3, 4, 5]"},
		{"intersection", a(nums(1, 2, 3), nums(2, 3, 4)), "[2, 3]"},
		{"intersection", a(nums(1, 2), nums(3, 4)), "[]"},
		{"difference", a(nums(1, 2, 3), nums(2, 3, 4)), "[1]"},
		{"symmetric_difference", a(nums(1, 2, 3), nums(2, 3, 4)), "[1, 4]"},
		{"symmetric_difference", a(nums(1, 2), nums(1, 2)), "[]"},
		// duplicates kept, as difference keeps them (the reference's)
		{"intersection", a(nums(1, 1, 2), nums(1)), "[1, 1]"},
		{"symmetric_difference", a(nums(1, 1, 2), nums(2, 3, 3)), "[1, 1, 3, 3]"},
		{"difference", a(nums(1, 1, 2), nums(2)), "[1, 1]"},
		{"is_subset", a(nums(1, 2), nums(1, 2, 3)), "true"},
		{"is_subset", a(nums(1, 4), nums(1, 2, 3)), "false"},
		{"is_subset", a(L(), nums(1)), "true"},
		{"is_superset", a(nums(1, 2, 3), nums(1, 2)), "true"},
		{"is_superset", a(nums(1, 2), nums(1, 2, 3)), "false"},
		{"frequencies", a(L(S("a"), S("b"), S("a"), S("c"), S("b"), S("a"))), "{ a: 3, b: 2, c: 1 }"},
		{"frequencies", a(nums(1, 2, 2)), `{ "1": 1, "2": 2 }`},
	})
}

func TestGrouping(t *testing.T) {
	e := newEnv(t)
	firstChar := goFn("fc", func(x []vm.Value) (vm.Value, error) { return vm.Str(x[0].AsString()[:1]), nil })
	runCases(t, []tc{
		{"group_by", a(L(S("apple"), S("avocado"), S("banana"), S("blueberry")), firstChar), `{ a: ["apple", "avocado"], b: ["banana", "blueberry"] }`},
		{"group_by", a(users(), S("role")), `{ admin: [{ name: "ann", age: 30, role: "admin" }], user: [{ name: "bob", age: 25, role: "user" }, { name: "cy", age: 35, role: "user" }] }`},
		{"group_by", a(nums(1, 2, 3, 4), isEven), `{ false: [1, 3], true: [2, 4] }`},
		{"group_by", a(L(), isEven), "{}"},
		{"partition", a(nums(1, 2, 3, 4, 5), isEven), "[[2, 4], [1, 3, 5]]"},
		{"partition", a(L(), isEven), "[[], []]"},
		{"zip", a(nums(1, 2, 3), L(S("a"), S("b"), S("c"))), `[[1, "a"], [2, "b"], [3, "c"]]`},
		{"zip", a(nums(1, 2), L(S("a"), S("b")), L(B(true), B(false))), `[[1, "a", true], [2, "b", false]]`},
		{"zip", a(nums(1, 2, 3), L(S("a"), S("b"))), `[[1, "a"], [2, "b"]]`},
		{"zip", a(), "[]"},
		{"zip_with", a(nums(1, 2, 3), nums(10, 20, 30), add), "[11, 22, 33]"},
		{"chunk", a(nums(1, 2, 3, 4, 5), I(2)), "[[1, 2], [3, 4], [5]]"},
		{"chunk", a(vm.NewRange(0, 9, 1), I(3)), "[[0, 1, 2], [3, 4, 5], [6, 7, 8]]"},
		{"chunk", a(L(), I(3)), "[]"},
		{"chunk", a(nums(1, 2), I(5)), "[[1, 2]]"},
		{"flatten", a(L(nums(1, 2), nums(3, 4), nums(5))), "[1, 2, 3, 4, 5]"},
		{"flatten", a(L(L(I(1), nums(2)), nums(3))), "[1, [2], 3]"},
		{"flatten", a(L(I(1), vm.NewRange(2, 4, 1))), "[1, 2, 3]"},
		{"concat", a(nums(1), nums(2, 3), I(4)), "[1, 2, 3, 4]"},
		{"concat", a(S("a"), S("b"), I(1)), `"ab1"`},
		{"scan", a(nums(1, 2, 3, 4), add, I(0)), "[1, 3, 6, 10]"},
		{"scan", a(nums(1, 2, 3), add), "[1, 3, 6]"},
		{"sliding_window", a(nums(1, 2, 3, 4), I(2)), "[[1, 2], [2, 3], [3, 4]]"},
		{"sliding_window", a(nums(1, 2), I(5)), "[]"},
		{"pairwise", a(nums(1, 2, 3)), "[[1, 2], [2, 3]]"},
		{"pairwise", a(L()), "[]"},
		{"intersperse", a(nums(1, 2, 3), I(0)), "[1, 0, 2, 0, 3]"},
		{"intersperse", a(L(), I(0)), "[]"},
		{"interleave", a(nums(1, 2, 3), L(S("a"), S("b"))), `[1, "a", 2, "b", 3]`},
		{"repeat_value", a(I(0), I(3)), "[0, 0, 0]"},
		{"compact", a(L(I(1), nilV, I(2), B(false))), "[1, 2, false]"},
		{"rotate", a(nums(1, 2, 3, 4, 5), I(2)), "[3, 4, 5, 1, 2]"},
		{"rotate", a(nums(1, 2, 3, 4, 5), I(-1)), "[5, 1, 2, 3, 4]"},
		{"rotate", a(L(), I(3)), "[]"},
		{"is_sorted", a(nums(1, 2, 2, 3)), "true"},
		{"is_sorted", a(nums(1, 3, 2)), "false"},
		{"is_sorted", a(L(O("n", I(1)), O("n", I(2))), S("n")), "true"},
		{"binary_search", a(nums(1, 3, 5, 7, 9), I(5)), "2"},
		{"binary_search", a(nums(1, 3, 5, 7, 9), I(4)), "-1"},
		{"binary_search", a(L(O("id", I(1)), O("id", I(3)), O("id", I(5))), I(3), S("id")), "1"},
		{"combinations", a(nums(1, 2, 3, 4), I(2)), "[[1, 2], [1, 3], [1, 4], [2, 3], [2, 4], [3, 4]]"},
		{"combinations", a(nums(1, 2), I(3)), "[]"},
		{"combinations", a(nums(1, 2), I(0)), "[[]]"},
		{"permutations", a(nums(1, 2, 3), I(2)), "[[1, 2], [1, 3], [2, 1], [2, 3], [3, 1], [3, 2]]"},
		{"permutations", a(nums(1, 2)), "[[1, 2], [2, 1]]"},
	})
	runErrCases(t, []ec{
		{"chunk", a(nums(1), I(0)), "ValueError", "chunk: size must be positive, got 0"},
		{"group_by", a(nums(1), I(1)), "TypeError", "group_by: expected Function or column name, got Int"},
		{"zip", a(nums(1), I(1)), "TypeError", "zip: expected List, got Int"},
		{"repeat_value", a(I(0), I(-1)), "ValueError", "repeat_value: count -1 out of range"},
		{"permutations", a(vm.NewRange(0, 12, 1)), "ValueError", "permutations: too many results"},
	})
	_ = e
}

func TestMutation(t *testing.T) {
	e := newEnv(t)
	xs := nums(3, 1)
	r := e.call(t, "push", xs, I(4), I(5))
	if !vm.Same(r, xs) {
		t.Error("push did not return its list")
	}
	eq(t, "after push", xs, "[3, 1, 4, 5]")
	eq(t, "pop", e.call(t, "pop", xs), "5")
	eq(t, "shift", e.call(t, "shift", xs), "3")
	eq(t, "after pop/shift", xs, "[1, 4]")
	e.call(t, "unshift", xs, I(0))
	e.call(t, "insert", xs, I(1), S("x"))
	e.call(t, "insert", xs, I(-1), S("y"))
	eq(t, "after unshift/insert", xs, `[0, "x", 1, "y", 4]`)
	eq(t, "remove", e.call(t, "remove", xs, S("x")), "true")
	eq(t, "remove missing", e.call(t, "remove", xs, S("zz")), "false")
	eq(t, "after remove", xs, `[0, 1, "y", 4]`)
	obj := O("a", I(1), "b", I(2))
	eq(t, "remove key", e.call(t, "remove", obj, S("a")), "true")
	eq(t, "after remove key", obj, "{ b: 2 }")
	nobj := O("10", I(1), "20", I(2))
	eq(t, "remove Int key", e.call(t, "remove", nobj, I(10)), "true")
	eq(t, "after remove Int key", nobj, `{ "20": 2 }`)
	e.call(t, "clear", xs)
	eq(t, "after clear", xs, "[]")
	eq(t, "pop empty", e.call(t, "pop", xs), "nil")
	eq(t, "shift empty", e.call(t, "shift", xs), "nil")
	e.call(t, "clear", obj)
	eq(t, "cleared object", obj, "{}")

	orig := nums(1, 2, 3)
	runCases(t, []tc{
		{"insert_at", a(orig, I(1), S("x")), `[1, "x", 2, 3]`},
		{"insert_at", a(nums(1, 2), I(0), I(0)), "[0, 1, 2]"},
		{"insert_at", a(nums(1, 2), I(9), I(0)), "[1, 2, 0]"},
		{"remove_at", a(orig, I(1)), "[1, 3]"},
		{"remove_at", a(orig, I(-1)), "[1, 2]"},
		{"update_at", a(orig, I(1), S("x")), `[1, "x", 3]`},
	})
	eq(t, "original after non-mutating ops", orig, "[1, 2, 3]")
	runErrCases(t, []ec{
		{"push", a(S("s"), I(1)), "TypeError", "push: expected List, got String"},
		{"push", a(), "TypeError", "push takes at least 2 arguments, got 0"},
		{"push", a(nums(1)), "TypeError", "push takes at least 2 arguments, got 1"},
		{"pop", a(nilV), "TypeError", "pop: expected List, got Nil"},
		{"remove_at", a(nums(1), I(3)), "IndexError", "remove_at: index 3 out of range for length 1"},
		{"update_at", a(nums(1), I(-2), I(0)), "IndexError", "update_at: index -2 out of range"},
		{"remove", a(I(1), I(1)), "TypeError", "remove: expected List or Object, got Int"},
		// A record's (or a variant's) fields are fixed: one taken off
		// could not be set again, and its reads said it had it.
		{"remove", a(record(), S("id")), "TypeError", "remove: User is a value of a type, whose fields are fixed"},
		{"clear", a(record()), "TypeError", "clear: User is a value of a type, whose fields are fixed"},
		{"clear", a(vm.Ok(I(1))), "TypeError", "clear: Ok is a value of a type"},
	})
}

func TestRows(t *testing.T) {
	rows := L(
		O("id", I(1), "active", B(true), "score", nilV),
		O("id", nilV, "active", B(true), "score", I(5)),
		O("id", I(3), "active", B(false), "score", I(7)),
		nilV,
	)
	active := goFn("active", func(x []vm.Value) (vm.Value, error) { return vm.Bool(field(x[0], "active").Truthy()), nil })
	getID := goFn("id", func(x []vm.Value) (vm.Value, error) { return field(x[0], "id"), nil })
	runCases(t, []tc{
		{"where", a(nums(1, 2, 3, 4), isEven), "[2, 4]"},
		{"where", a(users(), O("role", S("user"))), `[{ name: "bob", age: 25, role: "user" }, { name: "cy", age: 35, role: "user" }]`},
		{"where", a(users(), O("role", S("user"), "age", I(35))), `[{ name: "cy", age: 35, role: "user" }]`},
		{"where", a(L(O("a", nilV)), active), "[]"},
		{"drop_nil", a(rows, S("id")), "[{ id: 1, active: true, score: nil }, { id: 3, active: false, score: 7 }]"},
		{"drop_nil", a(rows, getID), "[{ id: 1, active: true, score: nil }, { id: 3, active: false, score: 7 }]"},
		{"drop_nil", a(rows, S("id"), S("score")), "[{ id: 3, active: false, score: 7 }]"},
		{"drop_nil", a(rows, L(S("id"), S("score"))), "[{ id: 3, active: false, score: 7 }]"},
		{"drop_nil", a(rows), "[{ id: 3, active: false, score: 7 }]"},
		{"drop_nil", a(L(I(1), nilV, I(2))), "[1, 2]"},
		{"fill_nil", a(rows, S("score"), I(0)), "[{ id: 1, active: true, score: 0 }, { id: nil, active: true, score: 5 }, { id: 3, active: false, score: 7 }, nil]"},
		{"fill_nil", a(L(O("a", I(1))), S("b"), I(0)), "[{ a: 1, b: 0 }]"},
		{"fill_nil", a(L(I(1), nilV), I(0)), "[1, 0]"},
		{"fill_nil", a(rows, O("id", I(-1), "score", I(0))), "[{ id: 1, active: true, score: 0 }, { id: -1, active: true, score: 5 }, { id: 3, active: false, score: 7 }, nil]"},
		{"select", a(users(), S("name")), `[{ name: "ann" }, { name: "bob" }, { name: "cy" }]`},
		{"select", a(users(), S("role"), S("name")), `[{ role: "admin", name: "ann" }, { role: "user", name: "bob" }, { role: "user", name: "cy" }]`},
		{"select", a(users(), L(S("age"), S("zz"))), "[{ age: 30, zz: nil }, { age: 25, zz: nil }, { age: 35, zz: nil }]"},
		{"pluck", a(users(), S("name")), `["ann", "bob", "cy"]`},
	})
	// The guide's pipeline: batch |> drop_nil(.id) |> where(.active == true)
	e := newEnv(t)
	cleaned := e.call(t, "where", e.call(t, "drop_nil", rows, S("id")), active)
	eq(t, "guide pipeline", cleaned, "[{ id: 1, active: true, score: nil }]")
	// fill_nil copies rows instead of changing them.
	eq(t, "rows after fill_nil", rows.AsArray().Elems[0], "{ id: 1, active: true, score: nil }")
	runErrCases(t, []ec{
		{"where", a(users(), I(3)), "TypeError", "where: expected Function or Object, got Int"},
		{"select", a(nums(1), S("a")), "TypeError", "select: expected Object row, got Int"},
		{"drop_nil", a(rows, I(3)), "TypeError", "drop_nil: expected column name or Function, got Int"},
		{"drop_nil", a(rows, boom), "Error", "boom"},
	})
}

// tableHost is a host object with methods: where(...) is answered by it.
type tableHost struct{ seqHost }

func (h *tableHost) CallMethod(t *vm.Thread, name string, args []vm.Value) (vm.Value, bool, error) {
	if name == "where" {
		return vm.Str("table.where"), true, nil
	}
	return vm.Nil, false, nil
}

func TestHostDispatch(t *testing.T) {
	e := newEnv(t)
	h := vm.HostValue(&tableHost{seqHost{n: 3}})
	eq(t, "where(table, f)", e.call(t, "where", h, isEven), `"table.where"`)
	eq(t, "filter(table, f)", e.call(t, "filter", h, isEven), "[0, 2]")
}

// headersHost is a Keyed host object.
type headersHost struct{ m map[string]string }

func (h *headersHost) TypeName() string { return "Headers" }
func (h *headersHost) GetAttr(t *vm.Thread, name string) (vm.Value, bool, error) {
	v, ok := h.m[name]
	if !ok {
		return vm.Nil, false, nil
	}
	return vm.Str(v), true, nil
}
func (h *headersHost) SetAttr(*vm.Thread, string, vm.Value) error { return nil }
func (h *headersHost) Keys(*vm.Thread) ([]string, error)          { return []string{"accept", "host"}, nil }

func TestKeyedHost(t *testing.T) {
	h := vm.HostValue(&headersHost{m: map[string]string{"accept": "*/*", "host": "x"}})
	runCases(t, []tc{
		{"keys", a(h), `["accept", "host"]`},
		{"values", a(h), `["*/*", "x"]`},
		{"entries", a(h), `[["accept", "*/*"], ["host", "x"]]`},
		{"has_key", a(h, S("host")), "true"},
		{"has_key", a(h, S("cookie")), "false"},
		{"get", a(h, S("host")), `"x"`},
	})
}

// limitHost answers limit() itself.
type limitHost struct{ seqHost }

func (h *limitHost) CallMethod(t *vm.Thread, name string, args []vm.Value) (vm.Value, bool, error) {
	if name == "limit" {
		return vm.Str("host limit"), true, nil
	}
	return vm.Nil, false, nil
}

func TestAliasHostDispatch(t *testing.T) {
	e := newEnv(t)
	h := vm.HostValue(&limitHost{seqHost{n: 5}})
	eq(t, "limit(host, 2)", e.call(t, "limit", h, I(2)), `"host limit"`)
	eq(t, "take(host, 2)", e.call(t, "take", h, I(2)), "[0, 1]")
}

func TestLongLoopsStopWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	e := newEnvCtx(t, ctx)
	cancel()
	err := e.err(t, "sum", vm.NewRange(0, 1<<62, 1))
	if err.Kind != vm.ErrCancelled {
		t.Errorf("sum(huge range) on a cancelled thread: %s %s", err.Kind, err.Msg)
	}
	if err := e.err(t, "count", vm.NewRange(0, 1<<62, 1), builtin(t, "is_empty")); err.Kind != vm.ErrCancelled {
		t.Errorf("count(huge range, f) on a cancelled thread: %v", err)
	}
	// A Seq pipeline of builtins runs no Tova code: its source looks.
	seq := e.call(t, "iter", vm.NewRange(0, 1<<62, 1))
	if err := e.err(t, "count", seq); err.Kind != vm.ErrCancelled {
		t.Errorf("count(iter(huge range)) on a cancelled thread: %v", err)
	}
	seq = e.call(t, "iter", vm.NewRange(0, 1<<62, 1))
	if err := e.err(t, "sum", seq); err.Kind != vm.ErrCancelled {
		t.Errorf("sum(iter(huge range)) on a cancelled thread: %v", err)
	}
}

func TestMapFilterSumAllocations(t *testing.T) {
	e := newEnv(t)
	xs := make([]vm.Value, 1000)
	for i := range xs {
		xs[i] = vm.Int(int64(i))
	}
	list := vm.NewArray(xs)
	identity := builtin(t, "identity")
	mapFn, filterFn, sumFn := builtin(t, "map").AsBuiltin().Fn, builtin(t, "filter").AsBuiltin().Fn, builtin(t, "sum").AsBuiltin().Fn
	args := []vm.Value{list, identity}
	if n := testing.AllocsPerRun(20, func() { _, _ = mapFn(e.th, args) }); n > 4 {
		t.Errorf("map over 1000 elements: %.0f allocations", n)
	}
	if n := testing.AllocsPerRun(20, func() { _, _ = filterFn(e.th, args) }); n > 4 {
		t.Errorf("filter over 1000 elements: %.0f allocations", n)
	}
	if n := testing.AllocsPerRun(20, func() { _, _ = sumFn(e.th, args[:1]) }); n > 0 {
		t.Errorf("sum over 1000 Ints: %.0f allocations", n)
	}
}

func BenchmarkMapClosure(b *testing.B) {
	e := newEnv(b)
	cl := closures(b, e)
	xs := make([]vm.Value, 1000)
	for i := range xs {
		xs[i] = vm.Int(int64(i))
	}
	fn := builtin(b, "map").AsBuiltin().Fn
	args := []vm.Value{vm.NewArray(xs), cl[0]}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := fn(e.th, args); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSumInts(b *testing.B) {
	e := newEnv(b)
	xs := make([]vm.Value, 1000)
	for i := range xs {
		xs[i] = vm.Int(int64(i))
	}
	fn := builtin(b, "sum").AsBuiltin().Fn
	args := []vm.Value{vm.NewArray(xs)}
	for b.Loop() {
		_, _ = fn(e.th, args)
	}
}

// flat_map and flatten of a few lists that hold many elements, and zip,
// enumerate and combinations, whose rows hold the input many times over,
// built lists past the list limit (combinations(range(0, 1048576),
// 1048575) asked for 2^40 elements and the process ran out of memory).
func TestGrowingListBuiltinsStopAtTheLimit(t *testing.T) {
	full := vm.NewArray(make([]vm.Value, vm.MaxListLen))
	fullAfterOne := goFn("full_after_one", func(args []vm.Value) (vm.Value, error) {
		if args[0].AsInt() == 1 {
			return I(5), nil
		}
		return full, nil
	})
	runRefusals(t, []refusal{
		{"flat_map([1, 2], fn(x) if x == 1 { 5 } else { full })", "flat_map", a(nums(1, 2), fullAfterOne), "flat_map: the list would have 67108865 elements, over the limit of 67108864"},
		{"flatten([1, full])", "flatten", a(L(I(1), full)), "flatten: the list would have 67108865 elements"},
		{"flatten([1, range(0, 67108864)])", "flatten", a(L(I(1), vm.NewRange(0, vm.MaxListLen, 1))), "flatten: the list would have 67108865 elements"},
		// Known before a value is copied: the whole size, at once (the
		// list was built up to the limit first: 13 s and 6 GB).
		{"flatten(repeat_value(full, 3))", "flatten", a(L(full, full, full)), "flatten: the list would have 201326592 elements"},
		{"flatten([range(0, 2**40), range(0, 2**40)])", "flatten", a(L(vm.NewRange(0, 1<<40, 1), vm.NewRange(0, 1<<40, 1))), "flatten: the list would have 2199023255552 elements"},
		{"zip(full, full)", "zip", a(full, full), "zip: the lists would hold 201326592 elements in all"},
		{"enumerate(full)", "enumerate", a(full), "enumerate: the lists would hold 201326592 elements in all"},
		{"enumerate(range(0, 22369622))", "enumerate", a(vm.NewRange(0, vm.MaxListLen/3+1, 1)), "enumerate: the lists would hold 67108866 elements in all"},
		{"combinations(range(0, 1 << 20), (1 << 20) - 1)", "combinations", a(vm.NewRange(0, 1<<20, 1), I(1<<20-1)), "combinations: the lists would hold 1099511627776 elements in all"},
	})
	runCases(t, []tc{
		{"flat_map", a(nums(1, 2), goFn("pair", func(args []vm.Value) (vm.Value, error) { return L(args[0], args[0]), nil })), "[1, 1, 2, 2]"},
		{"flatten", a(L(nums(1), I(2), vm.NewRange(3, 5, 1))), "[1, 2, 3, 4]"},
		{"zip", a(nums(1, 2), nums(3, 4, 5)), "[[1, 3], [2, 4]]"},
		{"enumerate", a(L(S("a"))), `[[0, "a"]]`},
		{"combinations", a(nums(1, 2, 3), I(2)), "[[1, 2], [1, 3], [2, 3]]"},
	})
}

// A value whose sublists are shared many times over (a = [a, a], forty
// times: a tree of 2^40 lists) is hashed within a budget, then compared
// as it is: unique of it returns at once.
func TestSetOfSharedSublists(t *testing.T) {
	e := newEnv(t)
	a := L(I(1))
	for range 40 {
		a = L(a, a)
	}
	got := e.call(t, "unique", L(a, I(1), a, L(a)))
	if n := len(got.AsArray().Elems); n != 3 {
		t.Errorf("unique gave %d values, want 3", n)
	}
}

// A stream's batches stop at the thread's cancellation (a job's
// timeout): each batch is much work, and a loop over a few hundred did
// not reach the VM's next poll, so that a job ran on past its timeout.
func TestStreamStopsWhenCancelled(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.csv")
	if err := os.WriteFile(p, []byte("a\n1\n2\n3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := newEnvCtx(t, ctx)
	s := e.call(t, "stream", S(p), I(1))
	eq(t, "count(stream) before", e.call(t, "count", s), "3")
	cancel()
	if err := e.err(t, "count", e.call(t, "stream", S(p), I(1))); err.Kind != vm.ErrCancelled {
		t.Errorf("count(stream) on a cancelled thread: %v", err)
	}
}
