package stdlib

import (
	"math"
	"strings"
	"testing"

	"tova/vm"
)

func TestStrings(t *testing.T) {
	runCases(t, []tc{
		{"split", a(S("a,b,c"), S(",")), `["a", "b", "c"]`},
		{"split", a(S("one::two::three"), S("::")), `["one", "two", "three"]`},
		{"split", a(S("abc"), S("")), `["a", "b", "c"]`},
		{"split", a(S("héllo"), S("")), `["h", "é", "l", "l", "o"]`},
		{"split", a(S(""), S(",")), `[""]`},
		{"split", a(S("a,"), S(",")), `["a", ""]`},
		{"split", a(S("  a  b ")), `["a", "b"]`},
		{"join", a(L(S("a"), S("b"), S("c")), S(", ")), `"a, b, c"`},
		{"join", a(L(S("one"), S("two")), S("")), `"onetwo"`},
		{"join", a(L(I(1), F(2.5), nilV, B(true)), S("-")), `"1-2.5--true"`},
		{"join", a(L(S("a"), S("b"))), `"a,b"`},
		{"join", a(L(), S(",")), `""`},
		{"join", a(vm.NewRange(1, 4, 1), S("+")), `"1+2+3"`},
		{"join", a(S(", "), L(S("x"), S("y"))), `"x, y"`},
		{"upper", a(S("hello")), `"HELLO"`},
		{"upper", a(S("héllo")), `"HÉLLO"`},
		{"lower", a(S("HELLO")), `"hello"`},
		// Unicode's full case mappings, as JavaScript's.
		{"upper", a(S("straße")), `"STRASSE"`},
		{"lower", a(S("ΣΑΣ")), `"σας"`},
		{"toUpperCase", a(S("a")), `"A"`},
		{"trim", a(S("  hello  ")), `"hello"`},
		{"trim", a(S("\n\thello\n")), `"hello"`},
		{"trim", a(S("--x--"), S("-")), `"x"`},
		// JavaScript's white space: a byte-order mark goes, NEL stays
		{"trim", a(S("\uFEFFid\u00a0\u3000")), `"id"`},
		{"trim", a(S("\u0085x\u0085")), `"\u0085x\u0085"`},
		{"trim_start", a(S("\uFEFF x ")), `"x "`},
		{"trim_end", a(S(" x\u2028")), `" x"`},
		{"words", a(S("a\uFEFFb c\u0085d")), `["a", "b", "c\u0085d"]`},
		{"to_int", a(S(" 12\uFEFF")), `12`},
		{"trim_start", a(S("  hello  ")), `"hello  "`},
		{"trim_end", a(S("  hello  ")), `"  hello"`},
		{"trim_end", a(S("x.."), S(".")), `"x"`},
		{"starts_with", a(S("hello"), S("hel")), "true"},
		{"starts_with", a(S("hello"), S("world")), "false"},
		{"ends_with", a(S("hello.tova"), S(".tova")), "true"},
		{"ends_with", a(S("hello.tova"), S(".js")), "false"},
		{"startsWith", a(S("ab"), S("a")), "true"},
		{"replace", a(S("hello world"), S("world"), S("Tova")), `"hello Tova"`},
		{"replace", a(S("aabbcc"), S("b"), S("x")), `"aaxxcc"`},
		{"replace", a(S("abc"), S("z"), S("x")), `"abc"`},
		{"replace", a(S("a1a"), S("a"), I(2)), `"212"`},
		{"replace", a(S("ab"), S("b"), builtin(t, "upper")), `"aB"`},
		{"replace_first", a(S("aabb"), S("a"), S("x")), `"xabb"`},
		{"replace_first", a(S("hello hello"), S("hello"), S("hi")), `"hi hello"`},
		{"replace_first", a(S("aa"), S("a"), builtin(t, "upper")), `"Aa"`},
		{"substr", a(S("hello world"), I(6)), `"world"`},
		{"substr", a(S("hello world"), I(0), I(5)), `"hello"`},
		{"substr", a(S("hello"), I(-3)), `"llo"`},
		{"substr", a(S("héllo"), I(1), I(3)), `"él"`},
		{"substring", a(S("hello"), I(3), I(1)), `"el"`},
		{"substring", a(S("hello"), I(-2), I(2)), `"he"`},
		{"substring", a(S("héllo"), I(1)), `"éllo"`},
		{"pad_start", a(S("5"), I(3), S("0")), `"005"`},
		{"pad_start", a(S("hi"), I(5)), `"   hi"`},
		{"pad_start", a(S("42"), I(5), S(".")), `"...42"`},
		{"pad_start", a(S("x"), I(6), S("ab")), `"ababax"`},
		{"pad_start", a(S("hello"), I(3)), `"hello"`},
		{"pad_start", a(S("é"), I(3), S("*")), `"**é"`},
		{"pad_end", a(S("5"), I(3), S("0")), `"500"`},
		{"pad_end", a(S("hi"), I(5)), `"hi   "`},
		{"center", a(S("hi"), I(6)), `"  hi  "`},
		{"center", a(S("hi"), I(7)), `"  hi   "`},
		{"center", a(S("hi"), I(6), S("*")), `"**hi**"`},
		{"center", a(S("hello"), I(3)), `"hello"`},
		{"repeat", a(S("ha"), I(3)), `"hahaha"`},
		{"repeat", a(S("ab"), I(0)), `""`},
		{"chars", a(S("hello")), `["h", "e", "l", "l", "o"]`},
		{"chars", a(S("日本")), `["日", "本"]`},
		{"chars", a(S("")), "[]"},
		{"words", a(S("hello   world")), `["hello", "world"]`},
		{"words", a(S("  spaced  out  ")), `["spaced", "out"]`},
		{"lines", a(S("line1\nline2\r\nline3")), `["line1", "line2", "line3"]`},
		{"char_at", a(S("hello"), I(0)), `"h"`},
		{"char_at", a(S("héllo"), I(1)), `"é"`},
		{"char_at", a(S("hello"), I(10)), "nil"},
		// s.at(i) is s[i]: an invalid byte is a character of its own (it
		// was U+FFFD), negative from the end.
		{"at", a(S("a\xffb"), I(1)), `"\xff"`},
		{"at", a(S("héllo"), I(-4)), `"é"`},
		{"at", a(S("héllo"), I(5)), "nil"},
		{"char_at", a(S(strings.Repeat("é", 300)+"xy"), I(301)), `"y"`},
		{"char_at", a(S("a\xffb"), I(2)), `"b"`},
		{"substr", a(S(strings.Repeat("é", 300)+"xyz"), I(300), I(302)), `"xy"`},
		{"substr", a(S(strings.Repeat("é", 300)+"xyz"), I(2), I(299)), `"` + strings.Repeat("é", 297) + `"`},
		{"char_at", a(S("hello"), I(-1)), "nil"},
		{"capitalize", a(S("hello world")), `"Hello world"`},
		{"capitalize", a(S("élan")), `"Élan"`},
		{"capitalize", a(S("")), `""`},
		{"title_case", a(S("the quick brown fox")), `"The Quick Brown Fox"`},
		{"title_case", a(S("hello-world it's")), `"Hello-World It's"`},
		{"snake_case", a(S("helloWorld")), `"hello_world"`},
		{"snake_case", a(S("Hello World")), `"hello_world"`},
		{"snake_case", a(S("some-thing")), `"some_thing"`},
		{"snake_case", a(S("XMLParser")), `"xml_parser"`},
		{"camel_case", a(S("hello_world")), `"helloWorld"`},
		{"camel_case", a(S("Hello World")), `"helloWorld"`},
		{"camel_case", a(S("some-thing")), `"someThing"`},
		{"kebab_case", a(S("helloWorld")), `"hello-world"`},
		{"kebab_case", a(S("some_thing")), `"some-thing"`},
		{"reverse_str", a(S("héllo")), `"olléh"`},
		{"reverse_str", a(S("")), `""`},
		{"count_of", a(S("banana"), S("an")), "2"},
		{"count_of", a(S("mississippi"), S("s")), "4"},
		{"count_of", a(S("hello"), S("")), "0"},
		{"truncate", a(S("Hello World"), I(8)), `"Hello..."`},
		{"truncate", a(S("Hi"), I(10)), `"Hi"`},
		// at most n characters, the suffix cut too
		{"truncate", a(S("abcdef"), I(2)), `".."`},
		{"truncate", a(S("abcdef"), I(3)), `"..."`},
		{"truncate", a(S("abcdef"), I(0)), `""`},
		{"truncate", a(S("héllo wörld"), I(1), S("…")), `"…"`},
		{"truncate", a(S("Hello World"), I(8), S("..")), `"Hello .."`},
		{"slugify", a(S("Hello World!")), `"hello-world"`},
		{"slugify", a(S("A & B @ C")), `"a-b-c"`},
		{"slugify", a(S("  My Blog Post  ")), `"my-blog-post"`},
		{"escape_html", a(S(`<b a="x">'&'</b>`)), `"&lt;b a=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/b&gt;"`},
		// a number's text, nothing for nil (a field left out failed the page)
		{"escape_html", a(I(42)), `"42"`},
		{"escape_html", a(F(1.5)), `"1.5"`},
		{"escape_html", a(B(true)), `"true"`},
		{"escape_html", a(nilV), `""`},
		{"escape_html", a(vm.Some(S("<a>"))), `"&lt;a&gt;"`},
		{"escape_html", a(vm.None), `""`},
		{"escape_html", a(vm.Some(vm.Some(S("<")))), `"&lt;"`},
		{"escape_html", a(vm.Duration(5e9)), `"5s"`},
		{"escape_html", a(vm.Size(2 << 20)), `"2MB"`},
		{"unescape_html", a(S("&lt;b&gt;Hello&lt;/b&gt; &amp; &#39;")), `"<b>Hello</b> & '"`},
		{"fmt", a(S("Hello, {}!"), S("world")), `"Hello, world!"`},
		{"fmt", a(S("{} + {} = {}"), I(1), I(2), I(3)), `"1 + 2 = 3"`},
		{"fmt", a(S("{} items at ${}"), I(3), F(9.99)), `"3 items at $9.99"`},
		{"fmt", a(S("{:d} and {:,d}"), I(42), I(1234567)), `"42 and 1,234,567"`},
		// (a leading 0 was read as the width, padded with spaces)
		{"fmt", a(S("{:02d}:{:02d}"), I(9), I(5)), `"09:05"`},
		{"fmt", a(S("{:08.3f}|{:+06d}"), F(-3.14159), I(42)), `"-003.142|+00042"`},
		{"fmt", a(S("{:*=+10}|{:0}"), I(-42), I(5)), `"-*******42|5"`},
		// (zeros went before a dollar sign, and into text)
		{"fmt", a(S("{:08$}|{:<05}|{:05}"), F(-3.5), I(42), S("ab")), `"-$003.50|42000|   ab"`},
		{"fmt", a(S("{} and {}"), I(1)), `"1 and {}"`},
		// the reference's spec language (values checked against its fmt on node)
		{"fmt", a(S("{:.2f}"), F(3.14159)), `"3.14"`},
		{"fmt", a(S("{:>8}|{:<5}|{:^7}|"), S("ab"), S("cd"), S("ef")), `"      ab|cd   |  ef   |"`},
		{"fmt", a(S("{:,}"), I(1234567)), `"1,234,567"`},
		{"fmt", a(S("{name} is {age}"), O("name", S("Ann"), "age", I(30))), `"Ann is 30"`},
		{"fmt", a(S("{missing} {}"), O("a", I(1))), `"{missing} { a: 1 }"`},
		{"fmt", a(S("{{}} {}"), I(1)), `"{} 1"`},
		{"fmt", a(S("{0} and {1}"), S("a"), S("b")), `"a and b"`},
		{"fmt", a(S("{:x} {:X} {:b} {:o} {:x}"), I(255), I(255), I(5), I(8), I(-1)), `"ff FF 101 10 ffffffff"`},
		{"fmt", a(S("{:.1%} {:%} {:$} {:$}"), F(0.256), F(0.5), F(1234.5), F(-0.5)), `"25.6% 50% $1,234.50 -$0.50"`},
		// (the reference pads {:08.3f} with spaces; zeros here, as
		// Python, Rust and C++ do: docs/semantics.md item 39)
		{"fmt", a(S("{:+d} {:+} {: } {:*^9} {:08.3f}"), I(5), I(5), I(5), S("mid"), F(3.14159)), `"+5 +5  5 ***mid*** 0003.142"`},
		{"fmt", a(S("{:.3s}|{:,.2f}|{:+}|{:.2}"), S("abcdef"), F(1234567.891), I(-3), F(2.675)), `"abc|1,234,567.89|-3|2.67"`},
		{"fmt", a(S("{ } {"), I(1)), `"1 {"`},
		{"fmt", a(S("{:é>4}"), I(1)), `"ééé1"`},
		// (a text's precision cuts it at any length)
		{"fmt", a(S("{:.3s}|{:.120s}"), S("abcdef"), S(strings.Repeat("x", 130))), `"abc|` + strings.Repeat("x", 120) + `"`},
		{"dedent", a(S("  hello\n  world")), `"hello\nworld"`},
		{"dedent", a(S("    line1\n  line2")), `"  line1\nline2"`},
		{"indent_str", a(S("hello\nworld"), I(2)), `"  hello\n  world"`},
		{"indent_str", a(S("a\nb"), I(1), S(">")), `">a\n>b"`},
		{"word_wrap", a(S("one two three four"), I(10)), `"one two\nthree four"`},
		{"word_wrap", a(S("the quick brown fox"), I(12)), `"the quick\nbrown fox"`},
	})
	runErrCases(t, []ec{
		{"split", a(I(5), S(",")), "TypeError", "split: expected String, got Int"},
		{"split", a(nilV, S(",")), "TypeError", "split: expected String, got Nil"},
		{"split", a(S("a"), I(1)), "TypeError", "split: expected String, got Int"},
		{"join", a(I(1), S(",")), "TypeError", "join: expected List, got Int"},
		{"join", a(L(), I(1)), "TypeError", "join: expected String separator, got Int"},
		{"upper", a(I(1)), "TypeError", "upper: expected String, got Int"},
		{"repeat", a(S("a"), I(-1)), "ValueError", "repeat: count must not be negative"},
		{"truncate", a(S("hello"), I(-5)), "ValueError", "truncate: n must not be negative, got -5"},
		{"truncate", a(S("hello"), I(math.MinInt64)), "ValueError", "truncate: n must not be negative"},
		{"repeat", a(S("ab"), I(1<<40)), "ValueError", "repeat: result is too large"},
		{"pad_start", a(S("a"), I(1<<40)), "ValueError", "pad_start: width"},
		{"starts_with", a(S("a"), nilV), "TypeError", "starts_with: expected String, got Nil"},
		{"replace", a(S("a"), I(1), S("b")), "TypeError", "replace: expected String, got Int"},
		{"replace", a(S("ab"), S("b"), boom), "Error", "boom"},
	})
}

// Builtins that split a string into many parts, or escape it, refuse an
// input whose result would pass the size limits before building it.
func TestStringResultLimits(t *testing.T) {
	nl := S(strings.Repeat("\n", vm.MaxListLen))
	words := S(strings.Repeat("a ", vm.MaxListLen+1))
	big := S(strings.Repeat("<", vm.MaxStringBytes/3+1))
	runErrCases(t, []ec{
		{"lines", a(nl), "ValueError", "lines: the list would have 67108865 elements"},
		{"indent_str", a(nl, I(2)), "ValueError", "indent_str: the list would have 67108865 elements"},
		{"words", a(words), "ValueError", "words: the list would have 67108865 elements"},
		{"word_wrap", a(words, I(3)), "ValueError", "word_wrap: the list would have 67108865 elements"},
		{"url_encode", a(big), "ValueError", "url_encode: the string would be 1.0 GiB"},
		// (the width asked for, not the limit it was cut at)
		{"fmt", a(S("{:99999999999}"), I(1)), "ValueError", "fmt: the string would be 93.1 GiB"},
		{"fmt", a(S("{:>99999999999999999999}"), I(1)), "ValueError", "fmt: the width 99999999999999999999 is over the limit of a string, 1 GiB"},
		{"fmt", a(S("{:.150f}"), F(1.5)), "ValueError", "fmt: a number's precision is at most 100 digits"},
		{"fmt", a(S("{:.1000000f}"), B(true)), "ValueError", "fmt: a number's precision is at most 100 digits"},
		// (an unknown type was the value as it is, without a word)
		{"fmt", a(S("{:zz}"), I(1)), "ValueError", `fmt: {:zz}: "zz" is no format type (the spec is [[fill]align][sign][0][width][,][.precision][type], the type one of f, %, $, b, o, x, X, s and d)`},
		{"fmt", a(S("{:.2fx}"), F(1.5)), "ValueError", `fmt: {:.2fx}: "fx" is no format type`},
		{"escape_html", a(big), "ValueError", "escape_html: the string would be"},
		{"indent_str", a(S(strings.Repeat("\n", 1000000)), I(2000)), "ValueError", "indent_str: the string would be 1.9 GiB"},
		// (they built it: a separator or parts of a client's size)
		{"format_number", a(I(1_000_000_000_000_000), O("separator", big)), "ValueError", "format_number: the string would be 1.7 GiB"},
		{"path_join", a(big, big, big), "ValueError", "path_join: the string would be 1.0 GiB"},
		{"build_url", a(O("host", big, "pathname", big, "search", big)), "ValueError", "build_url: the string would be 1.0 GiB"},
	})
}

// base64_encode, the case mappings, replace, padding with a wide fill,
// indent_str with a long ch, fmt, build_query and JSON.stringify built
// strings past the 1 GiB limit (base64_encode("x" * 1000000000) made
// 1.33 GB; indent_str and JSON.stringify refused them only once built):
// each refuses one before building it.
func TestGrowingStringBuiltinsStopAtTheLimit(t *testing.T) {
	var b strings.Builder
	b.Grow(3<<28 + 2)
	b.WriteString(strings.Repeat("x", 540<<20))
	b.WriteString(strings.Repeat("\x01", 3<<28-540<<20))
	b.WriteString("é")
	big := b.String() // 768 MiB: 540 of x, then control characters and an é
	plain, esc := S(big[:540<<20]), S(big[540<<20:len(big)-2])
	same := goFn("same", func([]vm.Value) (vm.Value, error) { return plain, nil })
	runRefusals(t, []refusal{
		{"base64_encode(big)", "base64_encode", a(S(big)), "base64_encode: the string would be 1.0 GiB"},
		{"upper(big)", "upper", a(S(big)), "upper: the string would be 2.3 GiB"},
		{"lower(big)", "lower", a(S(big)), "lower: the string would be 1.1 GiB"},
		{"snake_case(big)", "snake_case", a(S(big)), "snake_case: the string would be 1.5 GiB"},
		{"replace(a * 1000000, a, x * 2000)", "replace", a(S(strings.Repeat("a", 1000000)), S("a"), S(strings.Repeat("x", 2000))), "replace: the string would be 1.9 GiB"},
		{"replace(aa, a, fn)", "replace", a(S("aa"), S("a"), same), "replace: the string would be 1.1 GiB"},
		{"replace_first(plain, x, plain)", "replace_first", a(plain, S("x"), plain), "replace_first: the string would be 1.1 GiB"},
		{"pad_start(\"\", 300000000, 😀)", "pad_start", a(S(""), I(300000000), S("😀")), "pad_start: the string would be 1.1 GiB"},
		{"center(x, 300000000, 😀)", "center", a(S("x"), I(300000000), S("😀")), "center: the string would be 1.1 GiB"},
		{"indent_str(a, 1048576, x * 2000)", "indent_str", a(S("a"), I(1<<20), S(strings.Repeat("x", 2000))), "indent_str: the string would be 2.0 GiB"},
		{"fmt({}{}, plain, plain)", "fmt", a(S("{}{}"), plain, plain), "fmt: the string would be 1.1 GiB"},
		{"build_query({ a: big })", "build_query", a(O("a", S(big))), "build_query: the string would be 1.2 GiB"},
		{"json_stringify(esc)", "json_stringify", a(esc), "JSON.stringify: the string would be 1.3 GiB"},
		{"json_stringify([plain, plain])", "json_stringify", a(L(plain, plain)), "JSON.stringify: the string would be 1.1 GiB"},
		{"json_stringify({ [esc]: 1 })", "json_stringify", a(O(esc.AsString(), I(1))), "JSON.stringify: the string would be 1.3 GiB"},
	})
	runCases(t, []tc{
		{"pad_start", a(S("ab"), I(5), S("😀é")), `"😀é😀ab"`},
		{"pad_end", a(S("é"), I(3), S("ü")), `"éüü"`},
		{"center", a(S("ab"), I(7), S("xy")), `"xyabxyx"`},
		{"replace", a(S("abc"), S(""), S("-")), `"-a-b-c-"`},
		{"replace_first", a(S("aXbX"), S("X"), S("--")), `"a--bX"`},
		{"upper", a(S("straße")), `"STRASSE"`},
		{"base64_encode", a(S("hi")), `"aGk="`},
		{"build_query", a(O("a", S("x y"), "b", L(I(1), I(2)))), `"a=x%20y&b=1&b=2"`},
	})
}

func TestSplitJoinShareMemory(t *testing.T) {
	e := newEnv(t)
	src := strings.Repeat("field,", 1000)
	parts := e.call(t, "split", S(src), S(","))
	if n := len(parts.AsArray().Elems); n != 1001 {
		t.Fatalf("split gave %d parts", n)
	}
	back := e.call(t, "join", parts, S(","))
	if back.AsString() != src {
		t.Error("join(split(s)) != s")
	}
	lenFn := builtin(t, "len").AsBuiltin().Fn
	args := []vm.Value{S(src)}
	allocs := testing.AllocsPerRun(20, func() {
		_, _ = lenFn(e.th, args)
	})
	if allocs > 0 {
		t.Errorf("len allocates %.0f times", allocs)
	}
}

func BenchmarkSplitJoin(b *testing.B) {
	e := newEnv(b)
	src := S(strings.Repeat("alpha,beta,gamma,", 200))
	split, join, comma := builtin(b, "split"), builtin(b, "join"), S(",")
	b.ReportAllocs()
	for b.Loop() {
		parts, _ := e.th.Call(split, src, comma)
		_, _ = e.th.Call(join, parts, comma)
	}
}

func BenchmarkLenASCII(b *testing.B) {
	e := newEnv(b)
	s := S(strings.Repeat("abcdefgh", 128))
	fn := builtin(b, "len")
	for b.Loop() {
		_, _ = e.th.Call(fn, s)
	}
}

// TestRegexResultLimits: regex_find_all and regex_replace refuse results
// past the value limits before they build them.
func TestRegexResultLimits(t *testing.T) {
	mb := strings.Repeat("a", 1<<20)
	huge := strings.Repeat("x", 600<<20)
	big := goFn("big", func([]vm.Value) (vm.Value, error) { return S(huge), nil })
	runErrCases(t, []ec{
		// an empty match with 14 empty groups at each of 1.5 M places:
		// 2^26 / (16 + 2·14) matches at most
		{"regex_find_all", a(S(strings.Repeat("a", 1525201)), S(strings.Repeat("()", 14))), "ValueError", "regex_find_all: more than 1525201 matches"},
		{"regex_replace", a(S(mb), S(""), S(strings.Repeat("x", 2000))), "ValueError", "regex_replace: the string would be 2.0 GiB"},
		{"regex_replace", a(S(mb), S("a"), S(strings.Repeat("$&", 1100))), "ValueError", "regex_replace: the string would be 1.1 GiB"},
		{"regex_replace", a(S("aa"), S("a"), big), "ValueError", "regex_replace: the string would be 1.2 GiB"},
	})
	runCases(t, []tc{
		// within the limits
		{"regex_replace", a(S("aaa"), S(""), S("-")), `"-a-a-a-"`},
		{"regex_replace", a(S("ab"), S("(a)(b)"), S("$2$1$$")), `"ba$"`},
		{"regex_replace", a(S("ab"), S("(?<x>a)"), S("[$<x>]")), `"[a]b"`},
		// indexes count characters, match after match
		{"regex_find_all", a(S("é1ü22ß3"), S(`\d+`)), `[{ match: "1", index: 1, groups: [] }, { match: "22", index: 3, groups: [] }, { match: "3", index: 6, groups: [] }]`},
	})
}

// A byte that is not UTF-8 (a request's bytes are kept as they came)
// stays as it is through title_case, as through upper and capitalize
// (it became U+FFFD); like a U+FFFD of the text, it is no letter of a
// word.
func TestTitleCaseKeepsBytesNotUTF8(t *testing.T) {
	e := newEnv(t)
	for in, want := range map[string]string{"ab\xffc de": "Ab\xffC De", "\xff x": "\xff X", "a\uFFFDb": "A\uFFFDB"} {
		if got := e.call(t, "title_case", S(in)); got.Kind() != vm.KString || got.AsString() != want {
			t.Errorf("title_case(%q) = %q, want %q", in, vm.Repr(got), want)
		}
	}
}
