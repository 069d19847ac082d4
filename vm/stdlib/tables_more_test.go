package stdlib

import (
	"context"
	"math"
	"strings"
	"testing"

	bc "tova/bytecode"
	"tova/vm"
)

// accessor is the closure fn(__row) __row.<name> that `.name` compiles
// to, assembled by hand.
func accessor(t testing.TB, name string) vm.Value {
	t.Helper()
	p := &bc.Program{
		Files:     []bc.SourceFile{{Name: "acc.tova"}},
		Constants: []bc.Constant{{Kind: bc.KString, Str: name}},
		Funcs: []*bc.Func{
			{Name: "main", NumRegs: 1, Code: []bc.Instr{
				mk(bc.CLOSURE, 0, 1, 0),
				mk(bc.RET, 0, 0, 0),
			}},
			{Name: "acc", NumParams: 1, ParamNames: []string{"__row"}, ParamTypes: []string{""}, NumRegs: 2, Code: []bc.Instr{
				mk(bc.GETFIELD, 1, 0, 0),
				mk(bc.RET, 1, 0, 0),
			}},
		},
	}
	prog, err := vm.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	th := prog.NewInstance(vm.Config{}).NewThread(context.Background())
	defer th.Release()
	v, err := th.RunMain()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// lagOf is what window's `name: lag(.col, off)` compiles to:
// fn(__row) lag(__row.col, off).
func lagOf(col string, off int64) vm.Value {
	return goFn("lag_of", func(args []vm.Value) (vm.Value, error) {
		var c vm.Value
		if args[0].Kind() == vm.KHost {
			c, _, _ = args[0].AsHost().GetAttr(nil, col)
		} else {
			c = field(args[0], col)
		}
		return winOffset(winLag, []vm.Value{c, vm.Int(off)})
	})
}

func sales() vm.Value {
	return L(
		O("region", S("East"), "quarter", S("Q1"), "revenue", I(100)),
		O("region", S("East"), "quarter", S("Q2"), "revenue", I(150)),
		O("region", S("West"), "quarter", S("Q1"), "revenue", I(200)),
	)
}

func people() vm.Value {
	return L(O("id", I(1), "name", S("Alice")), O("id", I(2), "name", S("Bob")), O("id", I(3), "name", S("Cy")))
}

func orders() vm.Value {
	return L(
		O("user_id", I(1), "amount", I(50)),
		O("user_id", I(1), "amount", I(30)),
		O("user_id", I(2), "amount", I(70)),
		O("user_id", I(9), "amount", I(1)),
	)
}

func emps() vm.Value {
	return L(
		O("dept", S("a"), "salary", I(10)),
		O("dept", S("b"), "salary", I(5)),
		O("dept", S("a"), "salary", I(30)),
		O("dept", S("a"), "salary", I(10)),
		O("dept", S("a"), "salary", I(40)),
	)
}

func TestTableConstructorAndRename(t *testing.T) {
	e := newEnv(t)
	runCases(t, []tc{
		{"Table", a(people()), `[{ id: 1, name: "Alice" }, { id: 2, name: "Bob" }, { id: 3, name: "Cy" }]`},
		{"Table", a(L()), `[]`},
		{"Table", a(L(O("a", I(1), "b", I(2)), O("c", I(3))), L(S("b"), S("c"))), `[{ b: 2, c: nil }, { b: nil, c: 3 }]`},
		{"rename", a(people(), S("name"), S("full_name")), `[{ id: 1, full_name: "Alice" }, { id: 2, full_name: "Bob" }, { id: 3, full_name: "Cy" }]`},
		// In place; a column of the new name gives way; rows without the
		// column are kept; nil cells are renamed too.
		{"rename", a(L(O("a", I(1), "b", I(2), "c", I(3)), O("b", I(4)), O("a", nilV)), S("a"), S("c")), `[{ c: 1, b: 2 }, { b: 4 }, { c: nil }]`},
		{"rename", a(L(), S("a"), S("b")), `[]`},
		{"rename", a(L(O("a", I(1))), S("a"), S("a")), `[{ a: 1 }]`},
		{"rename", a(people(), accessor(t, "name"), S("n")), `[{ id: 1, n: "Alice" }, { id: 2, n: "Bob" }, { id: 3, n: "Cy" }]`},
	})
	// Table copies the list, not the rows.
	src := people()
	got := e.call(t, "Table", src)
	if got.AsArray() == src.AsArray() || !vm.Same(got.AsArray().Elems[0], src.AsArray().Elems[0]) {
		t.Errorf("Table should be a new list of the same rows")
	}
	runErrCases(t, []ec{
		{"Table", a(I(1)), "TypeError", "Table: expected a list of objects, got Int"},
		{"Table", a(L(I(1))), "TypeError", "Table: expected a list of objects, got a List with Int at index 0"},
		{"Table", a(L(), S("a")), "TypeError", "Table: expected a list of column names, got String"},
		{"Table", a(L(), L(S("a"), S("a"))), "ValueError", `the column "a" is named twice`},
		{"rename", a(I(1), S("a"), S("b")), "TypeError", "rename: expected a list of objects, got Int"},
		{"rename", a(people(), S("a")), "TypeError", "rename takes 3 arguments"},
		{"rename", a(people(), I(1), S("b")), "TypeError", "rename: expected the column to rename as a column name, got Int"},
		{"rename", a(people(), S("a"), accessor(t, "b")), "TypeError", "rename: expected the new column name (String), got Function"},
		{"rename", a(people(), double, S("b")), "TypeError", "rename: expected the column to rename as a column name or .col, got a function that computes a value"},
	})
}

func TestDropDuplicatesAndExplode(t *testing.T) {
	rows := L(O("e", S("a@x"), "n", I(1)), O("e", S("b@x"), "n", I(2)), O("e", S("a@x"), "n", I(1)), O("e", S("a@x"), "n", I(3)), O("e", nilV, "n", I(4)), O("e", nilV, "n", I(5)))
	runCases(t, []tc{
		{"drop_duplicates", a(rows), `[{ e: "a@x", n: 1 }, { e: "b@x", n: 2 }, { e: "a@x", n: 3 }, { e: nil, n: 4 }, { e: nil, n: 5 }]`},
		{"drop_duplicates", a(rows, S("e")), `[{ e: "a@x", n: 1 }, { e: "b@x", n: 2 }, { e: nil, n: 4 }]`},
		{"drop_duplicates", a(rows, accessor(t, "e")), `[{ e: "a@x", n: 1 }, { e: "b@x", n: 2 }, { e: nil, n: 4 }]`},
		{"drop_duplicates", a(rows, S("missing")), `[{ e: "a@x", n: 1 }]`},
		{"drop_duplicates", a(L()), `[]`},
		// Key order counts for whole rows, as JSON.stringify's does.
		{"drop_duplicates", a(L(O("a", I(1), "b", I(2)), O("b", I(2), "a", I(1)))), `[{ a: 1, b: 2 }, { b: 2, a: 1 }]`},
		{"explode", a(L(O("name", S("Alice"), "tags", L(S("admin"), S("user"))), O("name", S("Bob"), "tags", L(S("user")))), S("tags")),
			`[{ name: "Alice", tags: "admin" }, { name: "Alice", tags: "user" }, { name: "Bob", tags: "user" }]`},
		// An empty list gives no row; a nil, a scalar or a missing
		// column keeps the row.
		{"explode", a(L(O("k", I(1), "t", L()), O("k", I(2), "t", nilV), O("k", I(3), "t", S("x")), O("k", I(4)), O("k", I(5), "t", L(I(7), nilV))), accessor(t, "t")),
			`[{ k: 2, t: nil }, { k: 3, t: "x" }, { k: 4 }, { k: 5, t: 7 }, { k: 5, t: nil }]`},
		{"explode", a(L(), S("t")), `[]`},
	})
	runErrCases(t, []ec{
		{"drop_duplicates", a(S("x")), "TypeError", "drop_duplicates: expected a list of objects, got String"},
		{"drop_duplicates", a(L(O("a", I(1)), I(2))), "TypeError", "drop_duplicates: expected a list of objects, got a List with Int at index 1"},
		{"drop_duplicates", a(L(), I(1)), "TypeError", "drop_duplicates: expected by as a column name or function, got Int"},
		{"drop_duplicates", a(L(O("a", I(1))), boom), "Error", "boom"},
		{"explode", a(nilV, S("t")), "TypeError", "explode: expected a list of objects, got Nil"},
		{"explode", a(L(), I(3)), "TypeError", "explode: expected the column as a column name, got Int"},
		{"explode", a(L()), "TypeError", "explode takes 2 arguments"},
	})
}

func TestPivotUnpivot(t *testing.T) {
	runCases(t, []tc{
		{"pivot", a(sales(), S("region"), S("quarter"), S("revenue")),
			`[{ _index: "East", Q1: 100, Q2: 150 }, { _index: "West", Q1: 200, Q2: nil }]`},
		{"pivot", a(sales(), accessor(t, "region"), accessor(t, "quarter"), accessor(t, "revenue")),
			`[{ _index: "East", Q1: 100, Q2: 150 }, { _index: "West", Q1: 200, Q2: nil }]`},
		// The last value of an index and column wins; a nil or missing
		// column value is the column "nil".
		{"pivot", a(L(O("i", I(1), "c", S("x"), "v", I(1)), O("i", I(1), "c", S("x"), "v", I(2)), O("i", I(2), "v", I(3))), S("i"), S("c"), S("v")),
			`[{ _index: 1, x: 2, nil: nil }, { _index: 2, x: nil, nil: 3 }]`},
		{"pivot", a(L(), S("i"), S("c"), S("v")), `[]`},
		{"unpivot", a(L(O("name", S("a"), "q1", I(1), "q2", I(2)), O("name", S("b"), "q1", nilV)), S("name"), L(S("q1"), S("q2"))),
			`[{ id: "a", variable: "q1", value: 1 }, { id: "a", variable: "q2", value: 2 }, { id: "b", variable: "q1", value: nil }, { id: "b", variable: "q2", value: nil }]`},
		{"unpivot", a(L(O("name", S("a"), "q1", I(1))), accessor(t, "name"), L(S("q1"))), `[{ id: "a", variable: "q1", value: 1 }]`},
		{"unpivot", a(L(O("name", S("a"))), S("name"), L()), `[]`},
		{"unpivot", a(L(), S("name"), L(S("q1"))), `[]`},
	})
	runErrCases(t, []ec{
		{"pivot", a(sales(), S("region"), S("quarter"), nilV), "TypeError", "pivot: expected index, columns and values (pivot(index: .region, columns: .quarter, values: .revenue)), values is missing"},
		{"pivot", a(sales(), S("region"), S("quarter")), "TypeError", "pivot takes 4 arguments"},
		{"pivot", a(I(1), S("a"), S("b"), S("c")), "TypeError", "pivot: expected a list of objects, got Int"},
		{"pivot", a(sales(), S("region"), I(2), S("revenue")), "TypeError", "pivot: expected columns as a column name or function, got Int"},
		{"pivot", a(L(O("c", S("_index"))), S("c"), S("c"), S("c")), "ValueError", "pivot: a column named _index would replace the index"},
		{"unpivot", a(L(), nilV, L()), "TypeError", "unpivot: expected id and columns"},
		{"unpivot", a(L(), S("id"), S("q1")), "TypeError", "unpivot: expected columns as a list of column names"},
		{"unpivot", a(L(), S("id"), L(accessor(t, "q1"))), "TypeError", "unpivot: expected columns as a list of column names, got a List with Function"},
	})
}

func TestCast(t *testing.T) {
	rows := L(O("v", S(" 42abc")), O("v", S("3.9")), O("v", S("abc")), O("v", nilV), O("v", F(-2.7)), O("v", B(true)), O("w", I(1)), O("v", S("1e3x")), O("v", S("-0.5")))
	runCases(t, []tc{
		{"cast", a(rows, S("v"), S("Int")), `[{ v: 42 }, { v: 3 }, { v: 0 }, { v: 0 }, { v: -2 }, { v: 0 }, { w: 1 }, { v: 1 }, { v: 0 }]`},
		{"cast", a(rows, S("v"), S("Float")), `[{ v: 42 }, { v: 3.9 }, { v: 0 }, { v: 0 }, { v: -2.7 }, { v: 0 }, { w: 1 }, { v: 1000 }, { v: -0.5 }]`},
		{"cast", a(rows, accessor(t, "v"), S("String")), `[{ v: " 42abc" }, { v: "3.9" }, { v: "abc" }, { v: "nil" }, { v: "-2.7" }, { v: "true" }, { w: 1 }, { v: "1e3x" }, { v: "-0.5" }]`},
		{"cast", a(L(O("b", S("false")), O("b", S("FALSE ")), O("b", S("")), O("b", S("no")), O("b", I(0)), O("b", F(0.5)), O("b", nilV), O("b", L())), S("b"), S("Bool")),
			`[{ b: false }, { b: false }, { b: false }, { b: true }, { b: false }, { b: true }, { b: false }, { b: true }]`},
		{"cast", a(L(O("n", S("99999999999999999999"))), S("n"), S("Int")), `[{ n: 0 }]`},
		{"cast", a(L(O("n", S("5.")), O("n", S("-.5e1")), O("n", S("1e400")), O("n", S("-Infinity"))), S("n"), S("Float")), `[{ n: 5 }, { n: -5 }, { n: Infinity }, { n: -Infinity }]`},
		{"cast", a(L(), S("n"), S("Int")), `[]`},
	})
	e := newEnv(t)
	for i, r := range e.call(t, "cast", rows, S("v"), S("Float")).AsArray().Elems {
		if v, ok := r.AsObject().Get("v"); ok {
			kindIs(t, "cast to Float, row "+vm.Repr(vm.Int(int64(i))), v, vm.KFloat)
		}
	}
	for _, r := range e.call(t, "cast", rows, S("v"), S("Int")).AsArray().Elems {
		if v, ok := r.AsObject().Get("v"); ok {
			kindIs(t, "cast to Int", v, vm.KInt)
		}
	}
	runErrCases(t, []ec{
		{"cast", a(rows, S("v"), S("Date")), "ValueError", `cast: unknown type "Date"`},
		{"cast", a(rows, S("v"), I(1)), "TypeError", "cast: expected a type name"},
		{"cast", a(I(3), S("v"), S("Int")), "TypeError", "cast: expected a list of objects, got Int"},
		{"cast", a(rows, S("v")), "TypeError", "cast takes 3 arguments"},
	})
}

func TestTableJoin(t *testing.T) {
	opts := func(kv ...any) vm.Value { return O(kv...) }
	runCases(t, []tc{
		{"join", a(people(), orders(), opts("left", S("id"), "right", S("user_id"))),
			`[{ id: 1, name: "Alice", user_id: 1, amount: 50 }, { id: 1, name: "Alice", user_id: 1, amount: 30 }, { id: 2, name: "Bob", user_id: 2, amount: 70 }]`},
		{"join", a(people(), orders(), opts("left", accessor(t, "id"), "right", accessor(t, "user_id"), "how", S("inner"))),
			`[{ id: 1, name: "Alice", user_id: 1, amount: 50 }, { id: 1, name: "Alice", user_id: 1, amount: 30 }, { id: 2, name: "Bob", user_id: 2, amount: 70 }]`},
		{"join", a(people(), orders(), opts("left", S("id"), "right", S("user_id"), "how", S("left"))),
			`[{ id: 1, name: "Alice", user_id: 1, amount: 50 }, { id: 1, name: "Alice", user_id: 1, amount: 30 }, { id: 2, name: "Bob", user_id: 2, amount: 70 }, { id: 3, name: "Cy", user_id: nil, amount: nil }]`},
		{"join", a(people(), orders(), opts("left", S("id"), "right", S("user_id"), "how", S("right"))),
			`[{ user_id: 1, amount: 50, id: 1, name: "Alice" }, { user_id: 1, amount: 30, id: 1, name: "Alice" }, { user_id: 2, amount: 70, id: 2, name: "Bob" }, { user_id: 9, amount: 1, id: nil, name: nil }]`},
		{"join", a(people(), orders(), opts("left", S("id"), "right", S("user_id"), "how", S("outer"))),
			`[{ id: 1, name: "Alice", user_id: 1, amount: 50 }, { id: 1, name: "Alice", user_id: 1, amount: 30 }, { id: 2, name: "Bob", user_id: 2, amount: 70 }, { id: 3, name: "Cy", user_id: nil, amount: nil }, { user_id: 9, amount: 1, id: nil, name: nil }]`},
		{"join", a(people(), orders(), opts("left", S("id"), "right", S("user_id"), "how", S("anti"))), `[{ id: 3, name: "Cy" }]`},
		{"join", a(people(), orders(), opts("left", S("id"), "right", S("user_id"), "how", S("semi"))), `[{ id: 1, name: "Alice" }, { id: 2, name: "Bob" }]`},
		{"join", a(L(O("s", S("S")), O("s", S("M"))), L(O("c", S("red")), O("c", S("blue"))), opts("how", S("cross"))),
			`[{ s: "S", c: "red" }, { s: "S", c: "blue" }, { s: "M", c: "red" }, { s: "M", c: "blue" }]`},
		// A column both have takes the right row's value; keys that
		// show the same match (1 and "1"), as group_by groups them.
		{"join", a(L(O("k", I(1), "v", S("l"))), L(O("k", S("1"), "v", S("r"))), opts("left", S("k"), "right", S("k"))), `[{ k: "1", v: "r" }]`},
		{"join", a(L(), orders(), opts("left", S("id"), "right", S("user_id"), "how", S("outer"))), `[{ user_id: 1, amount: 50 }, { user_id: 1, amount: 30 }, { user_id: 2, amount: 70 }, { user_id: 9, amount: 1 }]`},
		{"join", a(people(), L(), opts("left", S("id"), "right", S("user_id"), "how", S("left"))), `[{ id: 1, name: "Alice" }, { id: 2, name: "Bob" }, { id: 3, name: "Cy" }]`},
		{"join", a(L(), L(), opts("how", S("cross"))), `[]`},
		// join of strings is as it was.
		{"join", a(L(S("a"), S("b")), S("-")), `"a-b"`},
		{"join", a(L(S("a"), S("b"))), `"a,b"`},
		{"join", a(S(", "), L(S("x"), S("y"))), `"x, y"`},
	})
	runErrCases(t, []ec{
		{"join", a(people(), orders()), "TypeError", "join: expected the keys to join on, as left: and right:"},
		{"join", a(people(), orders(), opts("left", S("id"))), "TypeError", "join: expected the keys to join on"},
		{"join", a(people(), orders(), opts("left", S("id"), "right", S("user_id"), "how", S("full"))), "ValueError", `join: unknown how "full"`},
		{"join", a(people(), orders(), opts("on", S("id"))), "ValueError", `join: unknown option "on"`},
		{"join", a(people(), orders(), opts("how", I(1))), "TypeError", "join: the option how must be a String, got Int"},
		{"join", a(people(), orders(), S("x")), "TypeError", "join: expected options"},
		{"join", a(I(1), orders()), "TypeError", "join: expected a list of objects, got Int"},
		{"join", a(L(I(1)), orders()), "TypeError", "join: expected a list of objects, got a List with Int at index 0"},
		{"join", a(people(), orders(), opts("left", I(1), "right", S("x"))), "TypeError", "join: expected left as a column name or function, got Int"},
		{"join", a(L(), I(1)), "TypeError", "join: expected String separator, got Int"},
		{"join", a(L(S("a")), L(I(1))), "TypeError", "join: expected String separator, got List"},
	})
}

func TestTableJoinRefusals(t *testing.T) {
	big := make([]vm.Value, 8193)
	for i := range big {
		big[i] = O("k", I(1))
	}
	rows := L(big...)
	names := make([]vm.Value, 8193)
	for i := range names {
		names[i] = S("c")
	}
	runRefusals(t, []refusal{
		{"cross join of 8193 × 8193 rows", "join", a(rows, rows, O("how", S("cross"))), "join: the list would have 67125249 elements"},
		{"inner join of 8193 × 8193 equal keys", "join", a(rows, rows, O("left", S("k"), "right", S("k"))), "join: the list would have 67125249 elements"},
		{"unpivot of 8193 rows × 8193 columns", "unpivot", a(rows, S("k"), L(names...)), "unpivot: the list would have 67125249 elements"},
	})
}

func TestSchemaPeekDescribe(t *testing.T) {
	e := newEnv(t)
	rows := L(O("name", S("a"), "age", nilV, "ok", B(true)), O("name", S("b"), "age", I(30), "ok", B(false), "tags", L()), O("name", S("a"), "age", F(40.5), "ok", B(true)))
	eq(t, "schema_of", e.call(t, "schema_of", rows), `{ name: "String", age: "Int", ok: "Bool", tags: "List" }`)
	eq(t, "schema_of([])", e.call(t, "schema_of", L()), `{}`)
	if got, want := e.out.String(), "Schema:\n  name: String\n  age: Int\n  ok: Bool\n  tags: List\nSchema:\n"; got != want {
		t.Errorf("schema_of printed %q, want %q", got, want)
	}
	e.out.Reset()
	if got := e.call(t, "peek", rows, I(2), S("Sample")); !vm.Same(got, rows) {
		t.Errorf("peek should give its rows back")
	}
	want := "── Sample ──\n" +
		"name │ age │ ok    │ tags\n" +
		"─────┼─────┼───────┼─────\n" +
		"a    │ nil │ true  │ nil \n" +
		"b    │ 30  │ false │ []  \n" +
		"... 1 more rows\n" +
		"3 rows × 4 columns\n"
	if got := e.out.String(); got != want {
		t.Errorf("peek printed\n%s\nwant\n%s", got, want)
	}
	e.out.Reset()
	e.call(t, "peek", L())
	e.call(t, "peek", L(I(1), S("x")))
	if got, want := e.out.String(), "(empty table)\n0 rows × 0 columns\nvalue\n─────\n1    \nx    \n2 rows × 1 columns\n"; got != want {
		t.Errorf("peek printed %q, want %q", got, want)
	}
	e.out.Reset()
	eq(t, "describe", e.call(t, "describe", rows),
		`[{ Column: "name", Type: "String", "Non-Null": 3, Unique: 2 }, { Column: "age", Type: "Int", "Non-Null": 2, Mean: 35.25, Min: 30, Max: 40.5 }, `+
			`{ Column: "ok", Type: "Bool", "Non-Null": 3, True: 2 }, { Column: "tags", Type: "List", "Non-Null": 1 }]`)
	if got := e.out.String(); !strings.HasPrefix(got, "── describe() ──\nColumn │ Type   │ Non-Null │ Unique │ Mean  │ Min │ Max  │ True\n") || !strings.HasSuffix(got, "4 rows × 8 columns\n") {
		t.Errorf("describe printed\n%s", got)
	}
	eq(t, "describe([])", e.call(t, "describe", L()), `[]`)
	runErrCases(t, []ec{
		{"schema_of", a(I(1)), "TypeError", "schema_of: expected a list of objects, got Int"},
		{"describe", a(L(I(1))), "TypeError", "describe: expected a list of objects, got a List with Int at index 0"},
		{"peek", a(O()), "TypeError", "peek: expected a list of objects, got Object"},
		{"peek", a(L(), S("x")), "TypeError", "peek: expected Int, got String"},
		{"peek", a(L(), I(1), I(2)), "TypeError", "peek: expected String, got Int"},
	})
}

func TestWindow(t *testing.T) {
	e := newEnv(t)
	call := func(name string, args ...vm.Value) vm.Value { return e.call(t, name, args...) }
	w := func(kv ...any) vm.Value { return O(kv...) }
	eq(t, "window by dept and salary", call("window", emps(), w(
		"partition_by", accessor(t, "dept"), "order_by", S("salary"),
		"rn", call("row_number"), "rnk", call("rank"), "dr", call("dense_rank"), "pr", call("percent_rank"),
		"prev", lagOf("salary", 1), "next", call("lead", S("salary"), I(1), I(-1)),
		"run", call("running_sum", accessor(t, "salary")), "cnt", call("running_count"),
	)), `[{ dept: "a", salary: 10, rn: 1, rnk: 1, dr: 1, pr: 0, prev: nil, next: 10, run: 10, cnt: 1 }, `+
		`{ dept: "b", salary: 5, rn: 1, rnk: 1, dr: 1, pr: 0, prev: nil, next: -1, run: 5, cnt: 1 }, `+
		`{ dept: "a", salary: 30, rn: 3, rnk: 3, dr: 2, pr: 0.6666666666666666, prev: 10, next: 40, run: 50, cnt: 3 }, `+
		`{ dept: "a", salary: 10, rn: 2, rnk: 1, dr: 1, pr: 0, prev: 10, next: 30, run: 20, cnt: 2 }, `+
		`{ dept: "a", salary: 40, rn: 4, rnk: 4, dr: 3, pr: 1, prev: 30, next: -1, run: 90, cnt: 4 }]`)
	eq(t, "window desc", call("window", emps(), w(
		"order_by", accessor(t, "salary"), "desc", B(true),
		"rn", call("row_number"), "q", call("ntile", I(2)), "first", call("first_value", S("dept")), "last", call("last_value", S("salary")),
		"lo", call("running_min", S("salary")), "hi", call("running_max", S("salary")), "avg", call("running_avg", S("salary")), "ma", call("moving_avg", S("salary"), I(2)),
		"lag2", call("lag", S("salary"), I(2), I(0)),
	)), `[{ dept: "a", salary: 10, rn: 3, q: 1, first: "a", last: 5, lo: 10, hi: 40, avg: 26.666666666666668, ma: 20, lag2: 40 }, `+
		`{ dept: "b", salary: 5, rn: 5, q: 2, first: "a", last: 5, lo: 5, hi: 40, avg: 19, ma: 7.5, lag2: 10 }, `+
		`{ dept: "a", salary: 30, rn: 2, q: 1, first: "a", last: 5, lo: 30, hi: 40, avg: 35, ma: 35, lag2: 0 }, `+
		`{ dept: "a", salary: 10, rn: 4, q: 2, first: "a", last: 5, lo: 10, hi: 40, avg: 22.5, ma: 10, lag2: 30 }, `+
		`{ dept: "a", salary: 40, rn: 1, q: 1, first: "a", last: 5, lo: 40, hi: 40, avg: 40, ma: 40, lag2: 0 }]`)
	// percent_rank, running_avg and moving_avg are Floats.
	for _, r := range call("window", emps(), w("pr", call("percent_rank"), "avg", call("running_avg", S("salary")), "ma", call("moving_avg", S("salary"), I(3)))).AsArray().Elems {
		for _, k := range []string{"pr", "avg", "ma"} {
			v, _ := r.AsObject().Get(k)
			kindIs(t, "window "+k, v, vm.KFloat)
		}
	}
	// Without order_by, the rows' own order, and no ties.
	eq(t, "window unordered", call("window", L(O("x", I(1)), O("x", I(1)), O("x", F(2.5))), w("rnk", call("rank"), "s", call("running_sum", S("x")))),
		`[{ x: 1, rnk: 1, s: 1 }, { x: 1, rnk: 2, s: 2 }, { x: 2.5, rnk: 3, s: 4.5 }]`)
	eq(t, "window desc without order_by", call("window", L(O("x", I(1)), O("x", I(2))), w("desc", B(true), "rn", call("row_number"))), `[{ x: 1, rn: 1 }, { x: 2, rn: 2 }]`)
	eq(t, "window with no columns", call("window", L(O("x", I(1)))), `[{ x: 1 }]`)
	eq(t, "window of no rows", call("window", L(), w("rn", call("row_number"))), `[]`)
	runErrCases(t, []ec{
		{"window", a(I(1)), "TypeError", "window: expected a list of objects, got Int"},
		{"window", a(emps(), O("rn", I(1))), "TypeError", "window: rn: expected a window function"},
		{"window", a(emps(), O("rn", double)), "TypeError", "window: rn: expected a window function"},
		{"window", a(emps(), O("desc", S("yes"))), "TypeError", "window: the option desc must be a Bool, got String"},
		{"window", a(emps(), O("order_by", I(1))), "TypeError", "window: expected order_by as a column name or function, got Int"},
		{"window", a(L(O("x", I(1)), O("x", S("a"))), O("order_by", S("x"))), "TypeError", "window: order_by: "},
		{"window", a(L(O("x", nilV)), O("s", vm.HostValue(&winFn{kind: winRunningSum, col: S("x")}))), "TypeError", "window: running_sum: expected numbers, got Nil (in row { x: nil })"},
		{"window", a(L(O("x", S("a"))), O("s", vm.HostValue(&winFn{kind: winMovingAvg, col: S("x"), n: 2}))), "TypeError", "window: moving_avg: expected numbers, got String"},
		{"ntile", a(I(0)), "ValueError", "ntile: the number of buckets must be at least 1, got 0"},
		{"moving_avg", a(S("x"), I(0)), "ValueError", "moving_avg: the window must be at least 1 row, got 0"},
		{"moving_avg", a(S("x")), "TypeError", "moving_avg takes 2 arguments"},
		{"lag", a(I(1)), "TypeError", "lag: expected a column name or function, got Int"},
		{"lag", a(S("x"), S("1")), "TypeError", "lag: expected Int, got String"},
		{"row_number", a(I(1)), "TypeError", "row_number takes 0 arguments"},
	})
}

func TestStratifiedSample(t *testing.T) {
	e := newEnv(t)
	rows := make([]vm.Value, 10)
	for i := range rows {
		g := "even"
		if i%2 == 1 {
			g = "odd"
		}
		rows[i] = O("g", S(g), "i", I(int64(i)))
	}
	is := func(v vm.Value) string {
		var parts []string
		for _, r := range v.AsArray().Elems {
			parts = append(parts, vm.Repr(field(r, "i")))
		}
		return strings.Join(parts, ",")
	}
	// The reference's table_stratified_sample picks 6,2,8 and 7,3,9 for
	// seed 42 (node, runtime/table.js).
	if got := is(e.call(t, "stratified_sample", L(rows...), S("g"), I(3), I(42))); got != "6,2,8,7,3,9" {
		t.Errorf("stratified_sample(seed 42) = %s, want 6,2,8,7,3,9", got)
	}
	if got := is(e.call(t, "stratified_sample", L(rows...), accessor(t, "g"), I(3), I(42))); got != "6,2,8,7,3,9" {
		t.Errorf("stratified_sample(.g, seed 42) = %s", got)
	}
	// n past a group's size, or a fraction of 1 row a group or more...
	if got := is(e.call(t, "stratified_sample", L(rows...), S("g"), I(9))); got != "0,2,4,6,8,1,3,5,7,9" {
		t.Errorf("stratified_sample(9) = %s", got)
	}
	if got := e.call(t, "stratified_sample", L(rows...), S("g"), F(0.4)); len(got.AsArray().Elems) != 4 {
		t.Errorf("stratified_sample(0.4) = %s, want 2 rows a group", vm.Repr(got))
	}
	eq(t, "stratified_sample(-inf)", e.call(t, "stratified_sample", L(rows...), S("g"), F(math.Inf(-1))), `[]`)
	eq(t, "stratified_sample(0)", e.call(t, "stratified_sample", L(rows...), S("g"), I(0)), `[]`)
	eq(t, "stratified_sample(0.1)", e.call(t, "stratified_sample", L(rows...), S("g"), F(0.1)), `[]`)
	eq(t, "stratified_sample of no rows", e.call(t, "stratified_sample", L(), S("g"), I(2)), `[]`)
	// The reference's generator itself (values from node).
	r := xorshift128(-5)
	if a, b, c := r(), r(), r(); a != 0.32102875085547566 || b != 0.8832061749417335 || c != 0.320074763847515 {
		t.Errorf("xorshift128(-5) = %v %v %v", a, b, c)
	}
	r = xorshift128(123456789)
	if a, b := r(), r(); a != 0.4506938988342881 || b != 0.10446006571874022 {
		t.Errorf("xorshift128(123456789) = %v %v", a, b)
	}
	runErrCases(t, []ec{
		{"stratified_sample", a(L(), S("g")), "TypeError", "stratified_sample takes 3 or 4 arguments"},
		{"stratified_sample", a(L(), S("g"), S("3")), "TypeError", "stratified_sample: expected n as a Number"},
		{"stratified_sample", a(L(), nilV, I(3)), "TypeError", "stratified_sample: expected a key"},
		{"stratified_sample", a(L(), S("g"), I(3), F(1.5)), "TypeError", "stratified_sample: expected Int, got Float"},
		{"stratified_sample", a(I(1), S("g"), I(3)), "TypeError", "stratified_sample: expected a list of objects, got Int"},
	})
}

// describe's Unique counts every value of a column, whatever its type
// (a CSV column of "007", "-01" and 0 counted 2).
func TestDescribeUniqueCountsEveryValue(t *testing.T) {
	e := newEnv(t)
	got := e.call(t, "describe", L(O("c", S("007")), O("c", S("-01")), O("c", I(0)), O("c", S("007"))))
	if u := field(got.AsArray().Elems[0], "Unique"); u.Kind() != vm.KInt || u.AsInt() != 3 {
		t.Errorf("Unique = %s, want 3", vm.Repr(u))
	}
}
