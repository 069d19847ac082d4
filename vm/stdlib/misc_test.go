package stdlib

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"tova/vm"
)

// nsMember reads ns.name from a registered namespace.
func nsMember(t testing.TB, e *testEnv, ns, name string) vm.Value {
	t.Helper()
	v, ok, err := builtin(t, ns).AsHost().GetAttr(e.th, name)
	if err != nil || !ok {
		t.Fatalf("%s.%s: ok=%v err=%v", ns, name, ok, err)
	}
	return v
}

func (e *testEnv) callNS(t testing.TB, ns, name string, args ...vm.Value) vm.Value {
	t.Helper()
	v, err := e.th.Call(nsMember(t, e, ns, name), args...)
	if err != nil {
		t.Fatalf("%s.%s(%s): %v", ns, name, reprArgs(args), err)
	}
	return v
}

func TestUUIDEnvNow(t *testing.T) {
	e := newEnv(t)
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	u1, u2 := e.call(t, "uuid").AsString(), e.call(t, "uuid").AsString()
	if !re.MatchString(u1) || u1 == u2 {
		t.Errorf("uuid() = %q, %q", u1, u2)
	}
	eq(t, "is_uuid(uuid())", e.call(t, "is_uuid", S(u1)), "true")
	runCases(t, []tc{
		{"env", a(S("HOME_DIR")), `"/home/x"`},
		{"env", a(S("MISSING")), "nil"},
		{"env", a(S("MISSING"), S("fallback")), `"fallback"`},
		{"env", a(S("EMPTY"), S("fallback")), `""`},
		{"now", nil, "1705314600000"},
		{"now_iso", nil, `"2024-01-15T10:30:00.000Z"`},
	})
	runErrCases(t, []ec{{"env", a(I(1)), "TypeError", "env: expected String, got Int"}})
	// The guide's use: env("ALLOWED_ORIGINS") |> split(",")
	e.env["ALLOWED_ORIGINS"] = "https://a.com,https://b.com"
	eq(t, "origins", e.call(t, "split", e.call(t, "env", S("ALLOWED_ORIGINS")), S(",")), `["https://a.com", "https://b.com"]`)
}

// env() with no argument was a TypeError and process.env was nil: the
// environment could not be listed.
func TestEnvironListed(t *testing.T) {
	e := newEnv(t)
	eq(t, "env() of a Getenv alone", e.call(t, "env"), "{}")
	e.th.In.Cfg.Environ = func() []string { return []string{"PORT=8080", "A=x=y", "=C:=C:\\"} }
	eq(t, "env()", e.call(t, "env"), `{ A: "x=y", PORT: "8080" }`)
	eq(t, "process.env", nsMember(t, e, "process", "env"), `{ A: "x=y", PORT: "8080" }`)
	kindIs(t, "process.env", nsMember(t, e, "process", "env"), vm.KObject)

	// in the order of the names, not of the NAME=value texts ('=' sorts
	// after the digits)
	e.th.In.Cfg.Environ = func() []string { return []string{"A_R62_B=3", "A_R621=2", "A_R62=1"} }
	eq(t, "env() order", e.call(t, "env"), `{ A_R62: "1", A_R621: "2", A_R62_B: "3" }`)

	t.Setenv("TOVA_ENVIRON_TEST", "listed")
	in := e.th.In.Prog.NewInstance(vm.Config{})
	if !slices.Contains(in.Cfg.Environ(), "TOVA_ENVIRON_TEST=listed") {
		t.Errorf("the default Environ does not list the process's environment: %d variables", len(in.Cfg.Environ()))
	}
}

func TestDateProcess(t *testing.T) {
	e := newEnv(t)
	eq(t, "Date.now()", e.callNS(t, "Date", "now"), "1705314600000")
	kindIs(t, "Date.now()", e.callNS(t, "Date", "now"), vm.KInt)
	d := e.callNS(t, "Date", "new")
	eq(t, "Date.new()", d, "2024-01-15T10:30:00.000Z")
	eq(t, "type_of(Date.new())", e.call(t, "type_of", d), `"Date"`)
	eq(t, "Date.new(0)", e.callNS(t, "Date", "new", I(0)), "1970-01-01T00:00:00.000Z")
	eq(t, "Date.new(str)", e.callNS(t, "Date", "new", S("2024-06-15")), "2024-06-15T00:00:00.000Z")
	eq(t, "Date.parse", e.callNS(t, "Date", "parse", S("1970-01-01T00:00:01Z")), "1000")
	eq(t, "Date.parse bad", e.callNS(t, "Date", "parse", S("not a date")), "nil")
	dh := d.AsHost().(vm.HostCaller)
	for name, want := range map[string]string{"toISOString": `"2024-01-15T10:30:00.000Z"`, "getTime": "1705314600000", "getFullYear": "2024", "getMonth": "0", "getDate": "15", "getHours": "10", "getDay": "1"} {
		v, handled, err := dh.CallMethod(e.th, name, nil)
		if err != nil || !handled {
			t.Errorf("date.%s(): handled=%v err=%v", name, handled, err)
			continue
		}
		eq(t, "date."+name+"()", v, want)
	}
	if _, handled, _ := dh.CallMethod(e.th, "map", nil); handled {
		t.Error("date.map() should fall back to builtins")
	}
	if _, err := e.th.Call(nsMember(t, e, "Date", "new"), S("garbage")); err == nil {
		t.Error("Date.new(garbage) should fail")
	}

	e.now = clock0.Add(1500 * time.Millisecond)
	eq(t, "Process.uptime()", e.callNS(t, "Process", "uptime"), "1.5")
	// (as node's process.uptime() shows it: it was 1.5052148189999999)
	e.now = clock0.Add(1505214819 * time.Nanosecond)
	eq(t, "Process.uptime()", e.callNS(t, "Process", "uptime"), "1.505214819")
	kindIs(t, "Process.uptime()", e.callNS(t, "Process", "uptime"), vm.KFloat)
	e.now = clock0.Add(1500 * time.Millisecond)
	kindIs(t, "Process.pid", nsMember(t, e, "Process", "pid"), vm.KInt)
	eq(t, "Process.args", nsMember(t, e, "Process", "args"), `["a", "b"]`)

	// The guide's health handler body.
	health := O("status", S("ok"), "uptime", e.callNS(t, "Process", "uptime"), "timestamp", e.callNS(t, "Date", "now"))
	if got := stringify(t, e, health); got != `{"status":"ok","uptime":1.5,"timestamp":1705314601500}` {
		t.Errorf("health JSON: %s", got)
	}
}

func TestNamespaces(t *testing.T) {
	e := newEnv(t)
	for _, ns := range []string{"JSON", "Math", "Date", "Process"} {
		h := builtin(t, ns)
		if h.Kind() != vm.KHost {
			t.Fatalf("%s is %s", ns, vm.TypeName(h))
		}
		if err := h.AsHost().SetAttr(e.th, "x", I(1)); err == nil || !strings.Contains(err.Error(), "read-only") {
			t.Errorf("%s.x = 1: %v", ns, err)
		}
		if _, ok, _ := h.AsHost().GetAttr(e.th, "no_such_member"); ok {
			t.Errorf("%s.no_such_member exists", ns)
		}
	}
	eq(t, "print(JSON)", builtin(t, "JSON"), "<namespace JSON>")
	eq(t, "Math.PI", nsMember(t, e, "Math", "PI"), "3.141592653589793")
	eq(t, "Math.E", nsMember(t, e, "Math", "E"), "2.718281828459045")
	eq(t, "Math.floor(3.7)", e.callNS(t, "Math", "floor", F(3.7)), "3")
	eq(t, "Math.ceil(3.2)", e.callNS(t, "Math", "ceil", F(3.2)), "4")
	eq(t, "Math.round(2.5)", e.callNS(t, "Math", "round", F(2.5)), "3")
	eq(t, "Math.abs(-2)", e.callNS(t, "Math", "abs", I(-2)), "2")
	eq(t, "Math.sqrt(9)", e.callNS(t, "Math", "sqrt", I(9)), "3")
	eq(t, "Math.pow(2, 8)", e.callNS(t, "Math", "pow", I(2), I(8)), "256")
	eq(t, "Math.min(3, 1, 2)", e.callNS(t, "Math", "min", I(3), I(1), I(2)), "1")
	eq(t, "Math.max(3, 1.5)", e.callNS(t, "Math", "max", I(3), F(7.5)), "7.5")
	eq(t, "Math.max()", e.callNS(t, "Math", "max"), "-Infinity")
	eq(t, "Math.min([4, 2])", e.callNS(t, "Math", "min", nums(4, 2)), "2")
	r := e.callNS(t, "Math", "random")
	if r.Kind() != vm.KFloat || r.AsFloat() < 0 || r.AsFloat() >= 1 {
		t.Errorf("Math.random() = %s", vm.Repr(r))
	}
	if _, err := e.th.Call(nsMember(t, e, "Math", "max"), S("a")); err == nil {
		t.Error("Math.max(\"a\") should fail")
	}
}

func TestEncodingValidation(t *testing.T) {
	runCases(t, []tc{
		{"base64_encode", a(S("hello")), `"aGVsbG8="`},
		{"base64_encode", a(S("Hello, World!")), `"SGVsbG8sIFdvcmxkIQ=="`},
		{"base64_decode", a(S("aGVsbG8=")), `"hello"`},
		// spaces, the URL-safe alphabet, no padding: as Node reads them
		{"base64_decode", a(S("aGVs bG8=")), `"hello"`},
		{"base64_decode", a(S("aGVs\r\nbG8")), `"hello"`},
		{"base64_decode", a(S("_-8")), `"\xff\xef"`},
		{"base64_decode", a(S("aGVsbG8")), `"hello"`},
		{"base64_encode", a(S("é")), `"w6k="`},
		{"url_encode", a(S("hello world")), `"hello%20world"`},
		{"url_encode", a(S("a=1&b=2")), `"a%3D1%26b%3D2"`},
		{"url_encode", a(S("é-_.!~*'()")), `"%C3%A9-_.!~*'()"`},
		{"url_decode", a(S("hello%20world")), `"hello world"`},
		{"url_decode", a(S("a%3D1%26b%3D2")), `"a=1&b=2"`},
		{"hex_encode", a(S("hello")), `"68656c6c6f"`},
		{"hex_decode", a(S("4142")), `"AB"`},
		{"parse_query", a(S("a=1&b=2")), `{ a: "1", b: "2" }`},
		{"parse_query", a(S("?q=tova+lang&t=a&t=b&e")), `{ q: "tova lang", t: ["a", "b"], e: "" }`},
		{"build_query", a(O("q", S("tova lang"), "page", I(1), "t", L(S("a"), S("b")), "n", nilV)), `"q=tova%20lang&page=1&t=a&t=b"`},
		{"is_email", a(S("user@example.com")), "true"},
		{"is_email", a(S("user@example")), "false"},
		{"is_email", a(I(1)), "false"},
		{"is_url", a(S("https://tova.dev")), "true"},
		{"is_url", a(S("tova.dev")), "false"},
		{"is_numeric", a(S("3.14")), "true"},
		{"is_numeric", a(S("-2")), "true"},
		{"is_numeric", a(S("abc")), "false"},
		{"is_numeric", a(S("")), "false"},
		{"is_numeric", a(I(3)), "true"},
		{"is_alpha", a(S("abcXYZ")), "true"},
		{"is_alpha", a(S("abcÉ")), "false"},          // ASCII, as the reference's [a-zA-Z]
		{"is_alphanumeric", a(S("аdmin1")), "false"}, // (a Cyrillic а)
		{"is_alphanumeric", a(S("١٢٣")), "false"},
		{"is_alpha", a(S("ab1")), "false"},
		{"is_alpha", a(S("")), "false"},
		{"is_alphanumeric", a(S("ab1")), "true"},
		{"is_uuid", a(S("550e8400-e29b-41d4-a716-446655440000")), "true"},
		{"is_uuid", a(S("550e8400")), "false"},
		{"is_hex", a(S("ff00AA")), "true"},
		{"is_hex", a(S("xyz")), "false"},
	})
	runErrCases(t, []ec{
		{"base64_decode", a(S("!!!")), "ValueError", "base64_decode:"},
		// the offset is the text's, spaces counted
		{"base64_decode", a(S("aGVs\nbG8*")), "ValueError", "base64_decode: illegal base64 data at input byte 8"},
		{"hex_decode", a(S("zz")), "ValueError", "hex_decode:"},
		{"url_decode", a(S("%zz")), "ValueError", "url_decode:"},
		{"base64_encode", a(I(1)), "TypeError", "base64_encode: expected String, got Int"},
	})
}

func TestRegex(t *testing.T) {
	runCases(t, []tc{
		{"regex_test", a(S("hello123"), S(`\d+`)), "true"},
		{"regex_test", a(S("hello"), S(`\d+`)), "false"},
		{"regex_test", a(S("Hello"), S("hello"), S("i")), "true"},
		{"regex_match", a(S("abc123def"), S(`(\d+)`)), `Ok({ match: "123", index: 3, groups: ["123"] })`},
		{"regex_match", a(S("héllo1"), S(`\d`)), `Ok({ match: "1", index: 5, groups: [] })`},
		{"regex_match", a(S("hello"), S(`\d+`)), `Err("No match")`},
		{"regex_find_all", a(S("a1b2c3"), S(`\d`)), `[{ match: "1", index: 1, groups: [] }, { match: "2", index: 3, groups: [] }, { match: "3", index: 5, groups: [] }]`},
		{"regex_find_all", a(S("x"), S(`\d`)), `[]`},
		{"regex_replace", a(S("a1b2c3"), S(`\d`), S("X")), `"aXbXcX"`},
		{"regex_replace", a(S("hello world"), S(`(\w+)`), S("[$1]")), `"[hello] [world]"`},
		{"regex_replace", a(S("ab"), S(`(a)`), S("$1x$$")), `"ax$b"`},
		{"regex_replace", a(S("ab"), S(`a`), S("<$&>")), `"<a>b"`},
		{"regex_replace", a(S("2024-01"), S(`(?<y>\d+)-(?<m>\d+)`), S("$<m>/$<y>")), `"01/2024"`},
		{"regex_replace", a(S("hello    world"), S(`\s+`), S(" ")), `"hello world"`},
		// as JavaScript reads a replacement: a group the pattern lacks
		// is kept as written, $10 with one group is $1 then 0, $` and $'
		// the text around the match, $<name> only where groups are named
		{"regex_replace", a(S("ab"), S(`(a)`), S("[$2|$10|$0|$]")), `"[$2|a0|$0|$]b"`},
		{"regex_replace", a(S("abcdefghijk"), S(`(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)`), S("$11-$01-$1")), `"k-a-a"`},
		{"regex_replace", a(S("xaby"), S(`a`), S("[$`|$']")), `"x[x|by]by"`},
		{"regex_replace", a(S("ab"), S(`(a)`), S("[$<x>]")), `"[$<x>]b"`},
		{"regex_replace", a(S("ab"), S(`(?<x>a)`), S("[$<x>|$<nope>|$<x]")), `"[a||$<x]b"`},
		{"regex_replace", a(S("a1b2"), S(`[a-z]`), builtin(t, "upper")), `"A1B2"`},
		{"regex_split", a(S("one--two---three"), S("-+")), `["one", "two", "three"]`},
		{"regex_split", a(S("a,b;c:d"), S("[,;:]")), `["a", "b", "c", "d"]`},
		{"regex_capture", a(S("2024-01-15"), S(`(?<year>\d{4})-(?<month>\d{2})-(?<day>\d{2})`)), `Ok({ year: "2024", month: "01", day: "15" })`},
		{"regex_capture", a(S("John Smith <john@example.com>"), S(`(?P<name>[^<]+)<(?P<email>[^>]+)>`)), `Ok({ name: "John Smith ", email: "john@example.com" })`},
		{"regex_capture", a(S("x"), S(`\d`)), `Err("No match")`},
		{"regex_capture", a(S("1"), S(`\d`)), `Err("No named groups")`},
	})
	runErrCases(t, []ec{
		{"regex_test", a(S("a"), S("(")), "ValueError", "regex_test: invalid pattern"},
		{"regex_test", a(S("a"), S("a"), S("q")), "ValueError", "regex_test: unknown regex flag 'q'"},
		{"regex_replace", a(S("a"), S("a"), I(1)), "TypeError", "regex_replace: expected String replacement, got Int"},
	})
}

func TestFunctional(t *testing.T) {
	e := newEnv(t)
	inc := goFn("inc", func(x []vm.Value) (vm.Value, error) { return vm.Int(x[0].AsInt() + 1), nil })
	f := e.call(t, "compose", inc, double)
	eq(t, "compose(inc, double)(3)", mustCall(t, e, f, I(3)), "7")
	g := e.call(t, "pipe_fn", inc, double)
	eq(t, "pipe_fn(inc, double)(3)", mustCall(t, e, g, I(3)), "8")
	eq(t, "compose()(5)", mustCall(t, e, e.call(t, "compose"), I(5)), "5")
	odd := e.call(t, "negate", isEven)
	eq(t, "negate(is_even)(3)", mustCall(t, e, odd, I(3)), "true")
	eq(t, "filter(negate)", e.call(t, "filter", nums(1, 2, 3, 4, 5), e.call(t, "negate", gt2)), "[1, 2]")
	add5 := e.call(t, "partial", add, I(5))
	eq(t, "partial(add, 5)(3)", mustCall(t, e, add5, I(3)), "8")
	sub := goFn("sub", func(x []vm.Value) (vm.Value, error) { return vm.Int(x[0].AsInt() - x[1].AsInt()), nil })
	eq(t, "flip(sub)(3, 10)", mustCall(t, e, e.call(t, "flip", sub), I(3), I(10)), "7")
	calls := 0
	counter := goFn("counter", func(x []vm.Value) (vm.Value, error) { calls++; return vm.Int(int64(calls)), nil })
	once := e.call(t, "once", counter)
	mustCall(t, e, once)
	eq(t, "once()", mustCall(t, e, once), "1")
	calls = 0
	memo := e.call(t, "memoize", counter)
	mustCall(t, e, memo, I(1))
	mustCall(t, e, memo, I(1))
	mustCall(t, e, memo, S("1"))
	if calls != 2 {
		t.Errorf("memoize called the function %d times, want 2", calls)
	}
	add3 := goFn("add3", func(x []vm.Value) (vm.Value, error) { return vm.Int(x[0].AsInt() + x[1].AsInt() + x[2].AsInt()), nil })
	c := e.call(t, "curry", add3, I(3))
	step := mustCall(t, e, c, I(1))
	step = mustCall(t, e, step, I(2))
	eq(t, "curry(add3)(1)(2)(3)", mustCall(t, e, step, I(3)), "6")
	eq(t, "curry(add3)(1, 2, 3)", mustCall(t, e, c, I(1), I(2), I(3)), "6")
	cl := closures(t, e)
	cc := e.call(t, "curry", cl[1])
	eq(t, "curry(fn(x, i) x + i)(1)(2)", mustCall(t, e, mustCall(t, e, cc, I(1)), I(2)), "3")
	runErrCases(t, []ec{
		{"compose", a(inc, I(1)), "TypeError", "compose: expected Function, got Int"},
		{"curry", a(add3), "ValueError", "curry: cannot tell the arity"},
		{"once", a(I(1)), "TypeError", "once: expected Function, got Int"},
	})
	if _, err := e.th.Call(e.call(t, "compose", boom, inc), I(1)); err == nil {
		t.Error("compose should pass errors through")
	}
}

func mustCall(t *testing.T, e *testEnv, fn vm.Value, args ...vm.Value) vm.Value {
	t.Helper()
	v, err := e.th.Call(fn, args...)
	if err != nil {
		t.Fatalf("%s(%s): %v", vm.Repr(fn), reprArgs(args), err)
	}
	return v
}

// TestNeverPanics calls every builtin with many argument shapes: each
// call must return a value or an error, never panic.
func TestNeverPanics(t *testing.T) {
	t.Chdir(t.TempDir()) // write makes files named by the samples
	e := newEnv(t)
	// Fresh samples for every builtin: mutating builtins (push, insert)
	// may make them cyclic.
	mkSamples := func() []vm.Value {
		return []vm.Value{
			nilV, B(true), I(0), I(-1), I(3), I(1 << 40), F(0.5), F(-2), S(""), S("héllo, wörld"), S("a,b"),
			L(), nums(3, 1, 2), L(nilV, S("x"), O("a", I(1))), O(), O("a", I(1), "b", nilV), record(),
			vm.Ok(I(1)), vm.Err(S("e")), vm.Some(nilV), vm.None, circle(), vm.Duration(1e9), vm.Size(1024),
			vm.NewRange(0, 5, 1), vm.NewRange(5, 0, -2), builtin(t, "is_empty"), builtin(t, "len"),
			vm.HostValue(&seqHost{n: 3}), builtin(t, "JSON"),
		}
	}
	skip := map[string]bool{"sleep": true, "print": true}
	for _, name := range vm.BuiltinNames() {
		fv := builtin(t, name)
		if fv.Kind() != vm.KBuiltin || skip[name] || strings.HasPrefix(name, "__") {
			continue
		}
		fn := fv.AsBuiltin().Fn
		call := func(args ...vm.Value) {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%s(%s) panicked: %v", name, reprArgs(args), r)
				}
			}()
			_, _ = fn(e.th, args)
		}
		call()
		samples := mkSamples()
		for _, x := range samples {
			call(x)
			for _, y := range samples {
				call(x, y)
			}
			call(x, samples[3], samples[4])
			call(x, builtin(t, "to_string"), I(0))
			call(x, S("a"), S("b"), S("c"))
		}
	}
}
