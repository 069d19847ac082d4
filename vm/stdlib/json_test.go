package stdlib

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"tova/vm"
)

// jsonNS returns the member name of the JSON namespace.
func jsonNS(t testing.TB, e *testEnv, name string) vm.Value {
	t.Helper()
	ns := builtin(t, "JSON")
	v, ok, err := ns.AsHost().GetAttr(e.th, name)
	if err != nil || !ok {
		t.Fatalf("JSON.%s: %v %v", name, ok, err)
	}
	return v
}

func stringify(t testing.TB, e *testEnv, args ...vm.Value) string {
	t.Helper()
	v, err := e.th.Call(jsonNS(t, e, "stringify"), args...)
	if err != nil {
		t.Fatalf("JSON.stringify(%s): %v", reprArgs(args), err)
	}
	if v.Kind() != vm.KString {
		t.Fatalf("JSON.stringify returned %s", vm.TypeName(v))
	}
	return v.AsString()
}

func parse(t testing.TB, e *testEnv, s string) vm.Value {
	t.Helper()
	v, err := e.th.Call(jsonNS(t, e, "parse"), S(s))
	if err != nil {
		t.Fatalf("JSON.parse(%q): %v", s, err)
	}
	return v
}

func circle() vm.Value {
	adt := &vm.ADTInfo{Name: "Shape"}
	ti := vm.NewTypeInfo("Shape", "Circle", []string{"r"}, 0)
	ti.ADT = adt
	return vm.ObjectValue(ti.New([]vm.Value{F(2)}))
}

func red() vm.Value {
	adt := &vm.ADTInfo{Name: "Color"}
	ti := vm.NewTypeInfo("Color", "Red", nil, 0)
	ti.ADT = adt
	return vm.ObjectValue(ti.Singleton)
}

var pointOne, pointTwo = 0.1, 0.2

func TestJSONStringify(t *testing.T) {
	e := newEnv(t)
	fnObj := O("a", I(1), "f", builtin(t, "len"), "b", nilV)
	cases := []struct {
		v    vm.Value
		want string
	}{
		{O("a", I(1), "b", L(I(1), I(2))), `{"a":1,"b":[1,2]}`},
		{O("name", S("Alice"), "age", I(30)), `{"name":"Alice","age":30}`},
		{L(I(1), I(2), I(3)), `[1,2,3]`},
		{S("hello"), `"hello"`},
		{nilV, `null`},
		{B(true), `true`},
		{I(-42), `-42`},
		{F(2), `2`},
		{F(-0.0), `0`},
		{F(3.5), `3.5`},
		{F(pointOne + pointTwo), `0.30000000000000004`},
		{F(1e21), `1e+21`},
		{F(1e20), `100000000000000000000`},
		{F(1234567.5), `1234567.5`},
		{F(0.000001), `0.000001`},
		{F(1e-7), `1e-7`},
		{F(-1.5e-10), `-1.5e-10`},
		{F(1.7976931348623157e308), `1.7976931348623157e+308`},
		{F(math.NaN()), `null`},
		{F(math.Inf(1)), `null`},
		{record(), `{"id":1,"name":"ann"}`},
		{vm.Ok(I(5)), `{"value":5}`},
		{vm.Err(S("bad")), `{"error":"bad"}`},
		{vm.Some(I(1)), `{"value":1}`},
		{vm.None, `{"__tag":"None"}`},
		{circle(), `{"__tag":"Circle","r":2}`},
		{red(), `{"__tag":"Red"}`},
		{vm.Duration(int64(30 * time.Second)), `30000`},
		{vm.Duration(int64(1500 * time.Microsecond)), `1.5`},
		{vm.Size(5 << 20), `5242880`},
		{vm.NewRange(0, 3, 1), `[0,1,2]`},
		{fnObj, `{"a":1,"b":null}`},
		{L(builtin(t, "len")), `[null]`},
		{O(), `{}`},
		{L(), `[]`},
		{O("x", O(), "y", L()), `{"x":{},"y":[]}`},
		{S("q\"b\\s/\n\r\t\b\f\x01\x1fé😀\u2028<>&"), `"q\"b\\s/\n\r\t\b\f\u0001\u001fé😀` + "\u2028" + `<>&"`},
		{S("bad\xffutf8"), `"bad\ufffdutf8"`},
		{O("we\"ird key", I(1)), `{"we\"ird key":1}`},
		{L(vm.Ok(L(vm.None))), `[{"value":[{"__tag":"None"}]}]`},
		{vm.HostValue(&Date{T: time.UnixMilli(0)}), `"1970-01-01T00:00:00.000Z"`},
		{O("rows", vm.HostValue(&seqHost{n: 2})), `{"rows":[0,1]}`},
	}
	for _, c := range cases {
		if got := stringify(t, e, c.v); got != c.want {
			t.Errorf("JSON.stringify(%s) = %s, want %s", vm.Repr(c.v), got, c.want)
		}
	}
	// Compact output is valid JSON for Go's decoder too.
	for _, c := range cases {
		if got := stringify(t, e, c.v); !json.Valid([]byte(got)) {
			t.Errorf("JSON.stringify(%s) = %s is not valid JSON", vm.Repr(c.v), got)
		}
	}
}

func TestJSONPretty(t *testing.T) {
	e := newEnv(t)
	v := O("name", S("Alice"), "scores", L(I(90), I(85)), "empty", L(), "o", O(), "n", O("x", nilV))
	want := `{
  "name": "Alice",
  "scores": [
    90,
    85
  ],
  "empty": [],
  "o": {},
  "n": {
    "x": null
  }
}`
	if got := stringify(t, e, v, I(2)); got != want {
		t.Errorf("JSON.stringify(v, 2) =\n%s\nwant\n%s", got, want)
	}
	if got := stringify(t, e, v, nilV, I(2)); got != want {
		t.Errorf("JSON.stringify(v, nil, 2) =\n%s", got)
	}
	if got := e.call(t, "json_pretty", v).AsString(); got != want {
		t.Errorf("json_pretty =\n%s", got)
	}
	if got := stringify(t, e, L(I(1)), S("\t")); got != "[\n\t1\n]" {
		t.Errorf("tab indent: %q", got)
	}
	if got := stringify(t, e, L(I(1)), I(0)); got != "[1]" {
		t.Errorf("zero indent: %q", got)
	}
	date := O("d", vm.HostValue(&Date{T: time.UnixMilli(0)}))
	if got := stringify(t, e, date, I(2)); got != "{\n  \"d\": \"1970-01-01T00:00:00.000Z\"\n}" {
		t.Errorf("pretty host value: %q", got)
	}
}

func TestJSONStringifyErrors(t *testing.T) {
	e := newEnv(t)
	cyc := vm.NewObject()
	cyc.Set("self", vm.ObjectValue(cyc))
	_, err := e.th.Call(jsonNS(t, e, "stringify"), vm.ObjectValue(cyc))
	if err == nil || !strings.Contains(err.Error(), "too deeply nested") {
		t.Errorf("cyclic stringify: %v", err)
	}
	_, err = e.th.Call(jsonNS(t, e, "stringify"), vm.HostValue(&Namespace{name: "X"}))
	if err == nil || !strings.Contains(err.Error(), "cannot serialise") {
		t.Errorf("host stringify: %v", err)
	}
	_, err = e.th.Call(jsonNS(t, e, "stringify"), I(1), nilV, B(true))
	if err == nil || !strings.Contains(err.Error(), "expected Int or String indent") {
		t.Errorf("bad indent: %v", err)
	}
	if b, err := AppendJSON(nil, nil, vm.HostValue(&seqHost{n: 1})); err == nil {
		t.Errorf("AppendJSON without a thread serialised a lazy sequence: %s", b)
	}
}

func TestJSONParse(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		in, want string
	}{
		{`{"name": "Alice", "age": 30}`, `{ name: "Alice", age: 30 }`},
		{`[1, 2, 3]`, `[1, 2, 3]`},
		{` "hé\u00e9\n\"\/" `, `"héé\n\"/"`},
		{`"\ud83d\ude00"`, `"😀"`},
		{`"\ud83d"`, "\"\ufffd\""},
		{`"\ud83dx"`, "\"\ufffdx\""},
		{`null`, `nil`},
		{`true`, `true`},
		{`false`, `false`},
		{`0`, `0`},
		{`-0`, `0`},
		{`-12`, `-12`},
		{`1.5`, `1.5`},
		{`2.0`, `2`},
		{`1e3`, `1000`},
		{`1E-2`, `0.01`},
		{`999999999999999999`, `999999999999999999`},
		{`-999999999999999999`, `-999999999999999999`},
		{`1000000000000000000`, `1000000000000000000`},
		{`[0,-0,7,-7,10,-10]`, `[0, 0, 7, -7, 10, -10]`},
		{`9223372036854775807`, `9223372036854775807`},
		{`9223372036854775808`, `9223372036854776000`},
		{`-9223372036854775808`, `-9223372036854775808`},
		{`1e400`, `Infinity`},
		{`{"b": 1, "a": 2}`, `{ b: 1, a: 2 }`},
		{`{"a": 1, "b": 2, "a": 3}`, `{ a: 3, b: 2 }`},
		{`{}`, `{}`},
		{`[]`, `[]`},
		{`[{"id":1,"x":null},{"id":2,"x":true},{"x":0,"id":3}]`, `[{ id: 1, x: nil }, { id: 2, x: true }, { x: 0, id: 3 }]`},
		{`{"a b": {"c": [[]]}}`, `{ "a b": { c: [[]] } }`},
		{"\t\r\n[1 , 2]\n", `[1, 2]`},
		{"\"bad\xffutf8\"", `"bad` + "\ufffd" + `utf8"`},
	}
	for _, c := range cases {
		eq(t, "JSON.parse("+c.in+")", parse(t, e, c.in), c.want)
	}
	kindIs(t, "parse 2.0", parse(t, e, "2.0"), vm.KFloat)
	kindIs(t, "parse 2", parse(t, e, "2"), vm.KInt)
	kindIs(t, "parse 1e3", parse(t, e, "1e3"), vm.KFloat)
	kindIs(t, "parse 2^63", parse(t, e, "9223372036854775808"), vm.KFloat)
	kindIs(t, "parse 18 nines", parse(t, e, "-999999999999999999"), vm.KInt)
	kindIs(t, "parse 10^18", parse(t, e, "1000000000000000000"), vm.KInt)
	// Rows share a shape.
	rows := parse(t, e, `[{"id":1,"n":"a"},{"id":2,"n":"b"}]`).AsArray().Elems
	if rows[0].AsObject().Shape() != rows[1].AsObject().Shape() {
		t.Error("parsed rows with the same keys do not share a shape")
	}
	// Many keys: dictionary mode still keeps the order.
	var b strings.Builder
	b.WriteString("{")
	for i := 0; i < 100; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"k` + string(rune('a'+i%26)) + string(rune('a'+i/26)) + `":` + string(rune('0'+i%10)))
	}
	b.WriteString("}")
	big := parse(t, e, b.String())
	if n := big.AsObject().Len(); n != 100 || big.AsObject().Keys()[99] != "kvd" {
		t.Errorf("big object: %d keys, last %q", n, big.AsObject().Keys()[n-1])
	}
}

func TestJSONParseErrors(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		in, msg string
	}{
		{``, "the text ends before the JSON value does"},
		{`{bad`, "expected a key string, found 'b' (line 1, column 2, offset 1)"},
		{`[1, 2`, "the text ends before the JSON value does"},
		{`[1, 2,]`, "expected a value, found ']'"},
		{`{"a": 1,}`, "expected a key string, found '}'"},
		{"{\n  \"a\": tru\n}", `expected a value, found "tru" (JSON's words are true, false and null, and its text is in double quotes) (line 2, column 8`},
		// (the decoder took the t for true: "expected 'r' in true")
		{`this is not json {`, `expected a value, found "this" (JSON's words are true, false and null, and its text is in double quotes) (line 1, column 1, offset 0)`},
		{`[1, nope]`, `expected a value, found "nope" (JSON's words are true, false and null, and its text is in double quotes) (line 1, column 5, offset 4)`},
		// (other languages' words gave their first letter alone)
		{`[True]`, `expected a value, found "True" (JSON's words`},
		{`{"a": None}`, `expected a value, found "None" (JSON's words are true, false and null, and its text is in double quotes) (line 1, column 7, offset 6)`},
		{`tαlse`, `expected a value, found "tαlse"`},
		{`[-Infinity]`, `expected a value, found "-Infinity" (JSON's words`},
		{`01`, "'1' after the end of the value"},
		{`1 2`, "'2' after the end of the value"},
		{`"abc`, "the text ends before the JSON value does"},
		{"\"a\tb\"", "'\\t' in a string (write control characters as escapes)"},
		{`"\x"`, "'x' after a backslash in a string (no such escape)"},
		{`"\u12"`, `'"' in a \u escape (expected a hex digit)`},
		// Text that ends inside a number or a literal ends early; a
		// space there is a space.
		{`-`, "the text ends before the JSON value does (line 1, column 2, offset 1)"},
		{`1.`, "the text ends before the JSON value does (line 1, column 3, offset 2)"},
		{`{"a": tru`, "the text ends before the JSON value does (line 1, column 10, offset 9)"},
		{`[1e`, "the text ends before the JSON value does"},
		{`1. `, "' ' after a decimal point (expected a digit) (line 1, column 3, offset 2)"},
		{`NaN`, `expected a value, found "NaN"`},
		{`{"a" 1}`, "expected ':' after a key, found '1'"},
		// in the runtime's words, not encoding/json's
		{`{"a":1}x`, "'x' after the end of the value (line 1, column 8, offset 7)"},
		{`[1 2]`, "expected ',' or ']' after an element, found '2'"},
		{`{"a":1 "b":2}`, "expected ',' or '}' after a member, found '\"'"},
		{`1e+x`, "'x' in a number's exponent (expected a digit)"},
		{strings.Repeat("[", 20000), "exceeded max depth"},
		// A character past ASCII is named whole (the first byte of its
		// UTF-8 was shown as a Latin-1 character: 'Ã' for 'é'), and
		// columns count characters.
		{`é`, "expected a value, found 'é' (line 1, column 1, offset 0)"},
		{`[1, 日]`, "expected a value, found '日' (line 1, column 5, offset 4)"},
		{`😀`, "expected a value, found '😀'"},
		{`["é", ü]`, "expected a value, found 'ü' (line 1, column 7, offset 7)"},
		{"\uFEFF{}", "expected a value, found U+FEFF (a byte-order mark) (line 1, column 1, offset 0)"},
		{"[1, \xff]", `expected a value, found '\xff' (line 1, column 5, offset 4)`},
		{"1 é", "'é' after the end of the value"},
	}
	for _, c := range cases {
		_, err := e.th.Call(jsonNS(t, e, "parse"), S(c.in))
		ve, ok := err.(*vm.Error)
		if !ok {
			t.Errorf("JSON.parse(%q): error %v, want a *vm.Error", c.in, err)
			continue
		}
		if ve.Kind != "SyntaxError" || !strings.HasPrefix(ve.Msg, "JSON.parse: ") || !strings.Contains(ve.Msg, c.msg) {
			t.Errorf("JSON.parse(%q): %s %q, want SyntaxError containing %q", c.in, ve.Kind, ve.Msg, c.msg)
		}
	}
	// A request body (ParseJSONFiniteString) is read to half the
	// writing limit, so that it can be wrapped and written again (a body
	// at the writing limit was stored, and every answer holding it
	// failed); JSON.parse reads what JSON.stringify writes.
	deep := strings.Repeat("[", maxJSONBodyDepth+2) + strings.Repeat("]", maxJSONBodyDepth+2)
	if _, err := ParseJSONFiniteString(deep); err == nil || !strings.Contains(err.Error(), "exceeded max depth 5000") {
		t.Errorf("a body of %d levels: %v", maxJSONBodyDepth+2, err)
	}
	v, err := ParseJSONFiniteString(deep[1 : len(deep)-1])
	if err != nil {
		t.Fatalf("a body of %d levels: %v", maxJSONBodyDepth+1, err)
	}
	wrapped := v
	for range maxJSONDepth - maxJSONBodyDepth {
		wrapped = L(wrapped)
	}
	text, err := AppendJSON(e.th, nil, wrapped)
	if err != nil {
		t.Errorf("a body read at the deepest, wrapped in %d levels: %v", maxJSONDepth-maxJSONBodyDepth, err)
	}
	if _, err := e.th.Call(jsonNS(t, e, "parse"), S(string(text))); err != nil {
		t.Errorf("JSON.parse of what JSON.stringify wrote (%d levels): %v", maxJSONDepth, err)
	}
	runErrCases(t, []ec{{"json_stringify", a(vm.HostValue(&Namespace{name: "X"})), "TypeError", "cannot serialise Object"}})
	_, err = e.th.Call(jsonNS(t, e, "parse"), I(1))
	if _, err := e.th.Call(jsonNS(t, e, "parse"), O("name", S("ann"))); err == nil || !strings.Contains(err.Error(), "JSON.parse: expected String, got Object: this value is parsed already (a JSON request's req.body is: read its fields, req.body.name)") {
		t.Errorf("JSON.parse of an object: %v", err)
	}
	// (fs.read_text's Result: the text is inside it, not parsed)
	if _, err := e.th.Call(jsonNS(t, e, "parse"), vm.Ok(S(`{"a":1}`))); err == nil || !strings.Contains(err.Error(), "JSON.parse: expected String, got Ok, a Result or an Option around the text: take the text out first, JSON.parse(x.unwrap())") {
		t.Errorf("JSON.parse of a Result: %v", err)
	}
	if err == nil || !strings.Contains(err.Error(), "JSON.parse: expected String, got Int") {
		t.Errorf("JSON.parse(1): %v", err)
	}
}

func TestJSONRoundTrip(t *testing.T) {
	e := newEnv(t)
	docs := []string{
		`{"a":1,"b":[1,2,{"c":null}],"d":"x\ny","e":1.5,"f":true,"g":{}}`,
		`[{"id":1,"tags":["a","b"]},{"id":2,"tags":[]}]`,
		`"😀 \"quoted\" \\ back"`,
		`[9223372036854775807,-9223372036854775808,1e+21,1e-7,0.1]`,
		`{"z":1,"y":2,"x":3}`,
	}
	for _, d := range docs {
		v := parse(t, e, d)
		out := stringify(t, e, v)
		if out != d {
			t.Errorf("round trip:\n in: %s\nout: %s", d, out)
		}
		if !vm.Equal(parse(t, e, out), v) {
			t.Errorf("parse(stringify(v)) != v for %s", d)
		}
	}
	// Values → JSON → values.
	v := O("s", S("é\u0000x"), "n", L(I(1), F(2.5), I(-3)), "o", O("k", B(false)))
	back := parse(t, e, stringify(t, e, v))
	if !vm.Equal(back, v) {
		t.Errorf("round trip of %s gave %s", vm.Repr(v), vm.Repr(back))
	}
}

func TestJSONFreeFunctions(t *testing.T) {
	runCases(t, []tc{
		{"json_parse", a(S(`{"a": 1}`)), "Ok({ a: 1 })"},
		{"json_parse", a(S(`[1, 2, 3]`)), "Ok([1, 2, 3])"},
		{"json_stringify", a(O("a", I(1))), `"{\"a\":1}"`},
		{"jsonStringify", a(L(I(1), I(2))), `"[1,2]"`},
		{"json_stringify", a(S("hello")), `"\"hello\""`},
		{"to_json", a(vm.None), `"{\"__tag\":\"None\"}"`},
	})
	e := newEnv(t)
	r := e.call(t, "json_parse", S("invalid json"))
	if variantOf(r) != isErr || !strings.Contains(payload(r).AsString(), `expected a value, found "invalid"`) {
		t.Errorf("json_parse(invalid) = %s", vm.Repr(r))
	}
}

func TestFormatNumber(t *testing.T) {
	cases := map[float64]string{
		0: "0", 1: "1", -1: "-1", 0.5: "0.5", 123.456: "123.456", 1e21: "1e+21", 1.5e21: "1.5e+21",
		1e-6: "0.000001", 1.5e-6: "0.0000015", 1e-7: "1e-7", 123456789012: "123456789012",
		1234567.125: "1234567.125", 5e-324: "5e-324", math.MaxFloat64: "1.7976931348623157e+308",
		math.Inf(-1): "-Infinity", 1e100: "1e+100", 0.1: "0.1", 100: "100",
	}
	for f, want := range cases {
		if got := FormatNumber(f); got != want {
			t.Errorf("FormatNumber(%v) = %s, want %s", f, got, want)
		}
	}
}

// Plain decimal notation comes from strconv's 'f' format for every
// magnitude in [1e-6, 1e21): it must match what the general case makes
// of the shortest digits there, at the ends of the range too.
func TestFormatNumberDecimalRange(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	values := []float64{
		1e-6, math.Nextafter(1e-6, 1), math.Nextafter(1e-6, 0), 1e21, math.Nextafter(1e21, 0),
		1 << 53, 1<<53 + 2, 0.1, 0.2 + 0.1, 1.0 / 3, 2.5, 1e20, 123e-8, 9.999999999999999e-7,
	}
	for i := 0; i < 200000; i++ {
		// Decimal exponents from -10 to 23, any digits.
		values = append(values, math.Ldexp(r.Float64()+0.5, r.IntN(110)-30))
	}
	for _, f := range values {
		for _, v := range []float64{f, -f} {
			got := string(appendNumber(nil, v))
			want := string(appendShortest(nil, v))
			if got != want {
				t.Fatalf("FormatNumber(%v) = %s, want %s", v, got, want)
			}
		}
	}
}

// Objects of one shape share its keys encoded once; a key that needs
// escaping is encoded as it is alone, and an object whose keys are too
// long to keep so, or in dictionary mode, still encodes each key.
func TestJSONSharedKeys(t *testing.T) {
	e := newEnv(t)
	odd := "q\"uo\\te\n\u0001é\xff"
	long := strings.Repeat("k", 2000)
	for _, c := range []struct {
		name string
		mk   func(i int) vm.Value
		want func(i int) string
	}{
		{"plain", func(i int) vm.Value { return O("id", I(int64(i)), "name", S("n")) },
			func(i int) string { return fmt.Sprintf(`{"id":%d,"name":"n"}`, i) }},
		{"escaped", func(i int) vm.Value { return O(odd, I(int64(i)), "b", B(true)) },
			func(i int) string { return fmt.Sprintf(`{"q\"uo\\te\n\u0001é\ufffd":%d,"b":true}`, i) }},
		{"long", func(i int) vm.Value { return O(long, I(int64(i))) },
			func(i int) string { return fmt.Sprintf(`{"%s":%d}`, long, i) }},
	} {
		if shared := c.mk(0).AsObject().JSONKeys() != nil; shared != (c.name != "long") {
			t.Errorf("%s: keys kept encoded with the shape: %v", c.name, shared)
		}
		for i := 0; i < 3; i++ {
			got, err := AppendJSON(e.th, nil, c.mk(i))
			if err != nil || string(got) != c.want(i) {
				t.Errorf("%s #%d: %s, %v; want %s", c.name, i, got, err, c.want(i))
			}
		}
	}
	// Indented, the shared keys are followed by a space as the others.
	got, err := AppendJSONIndent(e.th, nil, L(O("x", I(1)), O("x", I(2))), "  ")
	if want := "[\n  {\n    \"x\": 1\n  },\n  {\n    \"x\": 2\n  }\n]"; err != nil || string(got) != want {
		t.Errorf("indented: %q, %v; want %q", got, err, want)
	}
}

// Goroutines encoding objects of a shape none has encoded yet all see
// its keys whole (run with -race).
func TestJSONSharedKeysConcurrent(t *testing.T) {
	key := fmt.Sprintf("fresh_%d", time.Now().UnixNano())
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := 0; g < 8; g++ {
		e := newEnv(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				got, err := AppendJSON(e.th, nil, O(key, I(int64(i)), "tail", S("t")))
				if want := fmt.Sprintf(`{"%s":%d,"tail":"t"}`, key, i); err != nil || string(got) != want {
					errs <- fmt.Sprintf("%s, %v; want %s", got, err, want)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for msg := range errs {
		t.Error(msg)
	}
}

func BenchmarkJSONStringify(b *testing.B) {
	e := newEnv(b)
	rows := make([]vm.Value, 100)
	for i := range rows {
		rows[i] = O("id", I(int64(i)), "name", S("user name"), "score", F(float64(i)/3), "active", B(i%2 == 0), "tags", L(S("a"), S("b")))
	}
	v := L(rows...)
	b.ReportAllocs()
	var buf []byte
	for b.Loop() {
		buf, _ = AppendJSON(e.th, buf[:0], v)
	}
}

func BenchmarkJSONParse(b *testing.B) {
	e := newEnv(b)
	rows := make([]vm.Value, 100)
	for i := range rows {
		rows[i] = O("id", I(int64(i)), "name", S("user name"), "score", F(float64(i)/3), "active", B(i%2 == 0), "tags", L(S("a"), S("b")))
	}
	doc, _ := AppendJSON(e.th, nil, L(rows...))
	s := string(doc)
	b.SetBytes(int64(len(s)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseJSONString(s); err != nil {
			b.Fatal(err)
		}
	}
}

// Strings are scanned a word at a time up to the first byte that needs a
// look: an escape, a control character, a multi-byte or invalid UTF-8
// sequence, or the closing quote, at every offset around the 8-byte
// words, read as encoding/json reads them.
func TestJSONParseStringsAcrossWords(t *testing.T) {
	for _, special := range []string{`\n`, `\"`, `\u00e9`, "é", "😀", "\xff", "\x01", "\x7f", "/", `\\`} {
		for n := 0; n <= 26; n++ {
			for at := 0; at <= n; at++ {
				body := strings.Repeat("abcdefghijklmnopqrstuvwxyz"[:n], 1)
				doc := `"` + body[:at] + special + body[at:] + `"`
				v, err := ParseJSONString(doc)
				var want string
				werr := json.Unmarshal([]byte(doc), &want)
				if (err == nil) != (werr == nil) {
					t.Fatalf("ParseJSON(%q): err %v, encoding/json: %v", doc, err, werr)
				}
				if err != nil {
					continue
				}
				if v.Kind() != vm.KString || v.AsString() != want {
					t.Fatalf("ParseJSON(%q) = %q, want %q", doc, v.AsString(), want)
				}
			}
		}
		// Unterminated: the scan stops at the end of the text.
		for n := 0; n <= 17; n++ {
			doc := `"` + strings.Repeat("x", n) + special
			if _, err := ParseJSONString(doc); err == nil {
				t.Fatalf("ParseJSON(%q): no error", doc)
			}
		}
	}
}

// A parsed object of up to 8 keys, and a list of up to 4 elements, is
// one allocation, its values included: a row of 5 keys with a list in
// it costs two.
func TestJSONParseAllocations(t *testing.T) {
	e := newEnv(t)
	doc := func(n int) string {
		rows := make([]vm.Value, n)
		for i := range rows {
			rows[i] = O("id", I(int64(i)), "name", S("user name"), "score", F(float64(i)/3), "active", B(i%2 == 0), "tags", L(S("a"), S("b")))
		}
		b, err := AppendJSON(e.th, nil, L(rows...))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	allocs := func(s string) float64 {
		return testing.AllocsPerRun(20, func() {
			if _, err := ParseJSONString(s); err != nil {
				t.Fatal(err)
			}
		})
	}
	// 100 rows more cost their objects and lists, and a few allocations
	// for the parser's stack and the outer list, which grow.
	small, large := allocs(doc(100)), allocs(doc(200))
	if perRow := (large - small) / 100; perRow > 2.05 {
		t.Errorf("a row costs %.2f allocations (%.0f for 100 rows, %.0f for 200), want 2", perRow, small, large)
	}
	v, _ := ParseJSONString(doc(10))
	eq(t, "row 7", v.AsArray().Elems[7], `{ id: 7, name: "user name", score: 2.3333333333333335, active: false, tags: ["a", "b"] }`)
}

// A range is written number by number, not made a list first, and a
// long list or range stops when its thread is stopped (a request past its
// deadline answering range(0, 60000000) ran on for seconds, its memory
// past the guard's limit).
func TestJSONLongSequences(t *testing.T) {
	e := newEnv(t)
	got, err := AppendJSON(e.th, nil, vm.NewRange(0, 200000, 1))
	if err != nil || !strings.HasPrefix(string(got), "[0,1,2,") || !strings.HasSuffix(string(got), ",199998,199999]") {
		t.Fatalf("range: %.40s… %v", got, err)
	}
	if got, _ := AppendJSON(e.th, nil, vm.NewRange(10, 0, -3)); string(got) != "[10,7,4,1]" {
		t.Errorf("a descending range: %s", got)
	}
	// One longer than a list can be is refused before any work, as it was.
	if _, err := AppendJSON(e.th, nil, vm.NewRange(0, 1<<40, 1)); err == nil || !strings.Contains(err.Error(), "range of 1099511627776 elements is too large") {
		t.Errorf("a range of 2^40: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	stopped := newEnvCtx(t, ctx)
	long := make([]vm.Value, 100000)
	for i := range long {
		long[i] = vm.Int(int64(i))
	}
	for _, v := range []vm.Value{vm.NewRange(0, 100000, 1), vm.NewArrayFrom(long)} {
		if _, err := AppendJSON(stopped.th, nil, v); err == nil || !strings.Contains(err.Error(), "cancelled") {
			t.Errorf("%s on a stopped thread: %v", vm.TypeName(v), err)
		}
	}
}

// A whole Float crossed to another server as an integer (2.0 as 2,
// 1e18 as 1000000000000000000), which the other side read as an Int:
// AppendJSONExact keeps a fraction, and ParseJSON reads a Float back;
// AppendJSON still writes them as JSON.stringify does.
func TestAppendJSONExactKeepsFloats(t *testing.T) {
	v := vm.NewArray([]vm.Value{vm.Float(2), vm.Float(1e18), vm.Float(1e21), vm.Float(math.Copysign(0, -1)), vm.Float(0.5), vm.Int(2)})
	exact, err := AppendJSONExact(nil, nil, v, true)
	if err != nil || string(exact) != `[2.0,1000000000000000000.0,1e+21,-0.0,0.5,2]` {
		t.Fatalf("AppendJSONExact = %s, %v", exact, err)
	}
	back, err := ParseJSON(exact)
	if err != nil {
		t.Fatal(err)
	}
	for i, x := range back.AsArray().Elems {
		if x.Kind() != v.AsArray().Elems[i].Kind() || vm.Repr(x) != vm.Repr(v.AsArray().Elems[i]) {
			t.Errorf("element %d read back as %s %s, want %s", i, x.Kind(), vm.Repr(x), vm.Repr(v.AsArray().Elems[i]))
		}
	}
	if plain, _ := AppendJSON(nil, nil, v); string(plain) != `[2,1000000000000000000,1e+21,0,0.5,2]` {
		t.Errorf("AppendJSON = %s", plain)
	}
}

// A request body's number past Float's range is refused with its text,
// cut when long: a 3 MB number made a 3 MB message.
func TestJSONFiniteNumberOutOfRange(t *testing.T) {
	for in, want := range map[string]string{
		`{"n": 1e400}`: `JSON.parse: number 1e400 is out of range (line 1, column 7, offset 6)`,
		`[1` + strings.Repeat("0", 3_000_000) + `]`: `JSON.parse: number 10000000000000000000…(3000001 characters) is out of range (line 1, column 2, offset 1)`,
	} {
		_, err := ParseJSONFiniteString(in)
		if err == nil || err.Error() != want {
			t.Errorf("%.20s…: %.200v, want %s", in, err, want)
		}
	}
}
