package scan

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"tova/frontend/token"
)

// kinds renders the token stream compactly: operators and keywords as
// their text, identifiers and numbers as their literal, strings quoted,
// NEWLINE as ";", interpolated strings as `"text"{tokens}...`.
func kinds(toks []token.Token) string {
	var parts []string
	for _, t := range toks {
		parts = append(parts, tokString(t))
	}
	return strings.Join(parts, " ")
}

func tokString(t token.Token) string {
	switch t.Kind {
	case token.EOF:
		return "EOF"
	case token.NEWLINE:
		return ";"
	case token.IDENT, token.INT, token.FLOAT, token.REGEX:
		return t.Lit
	case token.STRING:
		if t.Parts == nil {
			return fmt.Sprintf("%q", t.Lit)
		}
		var b strings.Builder
		for _, p := range t.Parts {
			if p.IsExpr() {
				b.WriteString("{" + kinds(p.Tokens) + "}")
			} else {
				fmt.Fprintf(&b, "%q", p.Text)
			}
		}
		return b.String()
	}
	return t.Kind.String()
}

func scanString(src string) (string, []string) {
	var errs []string
	toks := Scan([]byte(src), func(pos, end token.Pos, msg string) {
		errs = append(errs, fmt.Sprintf("%s: %s", pos, msg))
	})
	return kinds(toks), errs
}

func TestTokens(t *testing.T) {
	tests := []struct{ src, want string }{
		{"x = 1", "x = 1 EOF"},
		{"a |> b ?? c ?. d", "a |> b ?? c ?. d EOF"},
		{"1..5 1..=5 ...xs", "1 .. 5 1 ..= 5 ... xs EOF"},
		{"=> -> ** ++ :: == != <= >= << >> && || !", "=> -> ** ++ :: == != <= >= << >> && || ! EOF"},
		{"+= -= *= /= %= **= &= |= ^= <<= >>=", "+= -= *= /= %= **= &= |= ^= <<= >>= EOF"},
		{"a & b | c ^ ~d", "a & b | c ^ ~ d EOF"},
		{"x? y?[0]", "x ? y ? [ 0 ] EOF"},
		{"@ ;", "@ ; EOF"},
		// numbers
		{"123 1_000 3.5 1e9 2.5E-3 0xFF 0b101 0o17", "123 1_000 3.5 1e9 2.5E-3 0xFF 0b101 0o17 EOF"},
		{"15.minutes 1.5.hours", "15 . minutes 1.5 . hours EOF"},
		{"xs.0 1e x", "xs . 0 1 e x EOF"},
		// identifiers and keywords
		{"toString valueOf $x _y café данные", "toString valueOf $x _y café данные EOF"},
		{"fn if elif else match var throw", "fn if elif else match var throw EOF"},
		{"route state model data", "route state model data EOF"},
		// comments
		{"a // c\nb /// doc\nc", "a ; b ; c EOF"},
		{"a /* x /* nested */ y */ b", "a b EOF"},
		{"a /* multi\nline */ b", "a ; b EOF"},
		// newlines
		{"\n\na\n\n\nb\n", "a ; b ; EOF"},
		{"f(a,\n  b)\nc", "f ( a , b ) ; c EOF"},
		{"[1,\n2]", "[ 1 , 2 ] EOF"},
		{"{\na\n}", "{ ; a ; } EOF"},
		{"f(fn() {\n a\n b\n})", "f ( fn ( ) { ; a ; b ; } ) EOF"},
		{"a\r\nb\rc", "a ; b ; c EOF"},
		{"#!/usr/bin/env tova\nx", "x EOF"},
		// a byte order mark at the start is skipped (and nowhere else)
		{"\ufeffx = 1", "x = 1 EOF"},
		{"\ufeff#!/usr/bin/env tova\nx", "x EOF"},
	}
	for _, tt := range tests {
		got, errs := scanString(tt.src)
		if got != tt.want || len(errs) > 0 {
			t.Errorf("Scan(%q)\n got %s %v\nwant %s", tt.src, got, errs, tt.want)
		}
	}
}

func TestStrings(t *testing.T) {
	tests := []struct{ src, want string }{
		{`"abc"`, `"abc" EOF`},
		{`'abc'`, `"abc" EOF`},
		{`"a\nb\tc\r\\\"\'\0"`, `"a\nb\tc\r\\\"'\x00" EOF`},
		{`"\{x\}"`, `"{x}" EOF`},
		{`'\{x\}'`, `"\\{x\\}" EOF`},
		{`"\q\d"`, `"\\q\\d" EOF`},
		{`"\u{41}\u{1F600}"`, `"A😀" EOF`},
		// \uXXXX and \xHH were kept as their characters, backslash and all.
		{`"caf\u00e9 \u00E9"`, `"café é" EOF`},
		{`'\u0041\x41\x7e'`, `"AA~" EOF`},
		{`"\uD83D\uDE00!"`, `"😀!" EOF`},
		{`"\u{1F600}" r"\u00e9\x41"`, `"😀" "\\u00e9\\x41" EOF`},
		{`'no {interp}'`, `"no {interp}" EOF`},
		{`r"C:\dir\{x}"`, `"C:\\dir\\{x}" EOF`},
		{`f"hi {name}!"`, `"hi "{name EOF}"!" EOF`},
		{`"a {x + 1} b"`, `"a "{x + 1 EOF}" b" EOF`},
		{`"{a}{b}"`, `{a EOF}{b EOF} EOF`},
		{`"x {f("{y}")} z"`, `"x "{f ( {y EOF} ) EOF}" z" EOF`},
		{`"{ {a: 1}.a }"`, `{{ a : 1 } . a EOF} EOF`},
		{`"{if x { "a" } else { "b" }}"`, `{if x { "a" } else { "b" } EOF} EOF`},
		{"\"line1\nline2\"", `"line1\nline2" EOF`},
		{"\"\"\"\n    hello\n      world\n    \"\"\"", `"hello\n  world" EOF`},
		{"\"\"\"\n  a\n\n  b\n\"\"\"", `"a\n\nb" EOF`},
		{"\"\"\"one line\"\"\"", `"one line" EOF`},
		{"\"\"\"\n    Hi {name},\n      bye\n    \"\"\"", `"Hi "{name EOF}",\n  bye" EOF`},
		{"\"\"\"\n  {x}\n    y\n  \"\"\"", `{x EOF}"\n  y" EOF`},
		{"\"\"\"say \"hi\"\"\"\"", `"say \"hi\"" EOF`},
	}
	for _, tt := range tests {
		got, errs := scanString(tt.src)
		if got != tt.want || len(errs) > 0 {
			t.Errorf("Scan(%q)\n got %s %v\nwant %s", tt.src, got, errs, tt.want)
		}
	}
}

func TestErrors(t *testing.T) {
	tests := []struct{ src, want string }{
		{`x = "abc`, "1:5: unterminated string literal"},
		{"x = 'abc\n", "1:5: unterminated string literal"},
		{`x = r"abc`, "1:5: unterminated raw string literal"},
		{"x = \"\"\"abc\n", `1:5: unterminated """ string literal`},
		{"a\n  /* open /* nested */\n", "2:3: unterminated block comment"},
		{`"a {b`, "1:4: unterminated string interpolation: this '{' begins an expression that no '}' ends (write \\{ for a literal brace, or use '...' quotes)"},
		{`x = JSON.parse("{bad")`, "1:17: unterminated string interpolation: this '{' begins an expression that no '}' ends (write \\{ for a literal brace, or use '...' quotes)"},
		{"x = 0x", "1:5: number literal has no digits after 0x"},
		{`"\u{110000}"`, `1:2: invalid code point in \u{110000} escape`},
		{`x = "\u00g1"`, `1:6: malformed \u escape: \u takes four hex digits (\u00e9) or a code point in braces (\u{e9})`},
		{`x = "\u12"`, `1:6: malformed \u escape: \u takes four hex digits (\u00e9) or a code point in braces (\u{e9})`},
		{`x = "\xZ1"`, `1:6: malformed \x escape: \x takes two hex digits (\x41 is "A")`},
		{`x = "\uD83D"`, `1:6: lone surrogate \uD83D: a string holds code points, so a surrogate needs its pair (\uD83D\uDE00) or the code point (\u{1F600})`},
		{`x = "\uD83D\u0041"`, `1:6: lone surrogate \uD83D: a string holds code points, so a surrogate needs its pair (\uD83D\uDE00) or the code point (\u{1F600})`},
		{`x = "\uDE00\uD83D"`, `1:6: lone surrogate \uDE00: a string holds code points, so a surrogate needs its pair (\uD83D\uDE00) or the code point (\u{1F600})`},
		{"a # b", "1:3: unexpected character '#' (Tova's comments are // ... and /* ... */)"},
		// What a word processor or another language put there is named.
		{"x = “hello”", `1:5: unexpected character '“' (a typographic quote: write strings in straight quotes, "text")`},
		{"x = `t ${y}`", "1:5: unexpected character '`' (Tova has no backtick strings: write \"text {expr}\", which interpolates expr)"},
		{"x =\u00a01", "1:4: unexpected character '\\u00a0' (a non-breaking space: write a plain space)"},
		{"x = 2 – 1", "1:7: unexpected character '–' (a dash: the minus sign is -)"},
		{"x = 2\u200b", "1:6: unexpected character '\\u200b' (an invisible character, pasted with the text: delete it)"},
		{"a \x80 b", "1:3: invalid UTF-8 encoding"},
		{"\xff\xfep\x00r\x00", "1:1: the file is UTF-16 (it begins with UTF-16's byte order mark): save it as UTF-8"},
		{"\xfe\xff\x00p\x00r", "1:1: the file is UTF-16 (it begins with UTF-16's byte order mark): save it as UTF-8"},
		{"p\x00r\x00i\x00n\x00t\x00(\x00", "1:1: the file is UTF-16 (a NUL byte beside each character): save it as UTF-8"},
		{"\x00p\x00r\x00i\x00n\x00t", "1:1: the file is UTF-16 (a NUL byte beside each character): save it as UTF-8"},
		{"\xff\xfe\x00\x00p\x00\x00\x00", "1:1: the file is UTF-32 (it begins with UTF-32's byte order mark): save it as UTF-8"},
		// without a byte order mark, beginning with letters past ASCII
		{"/\x00/\x00 \x00\xe5\x65\x2c\x67\x9e\x8a\n\x00p\x00r\x00i\x00n\x00t\x00", "1:1: the file is UTF-16 (a NUL byte beside each character): save it as UTF-8"},
		{"p\x00\x00\x00r\x00\x00\x00i\x00\x00\x00n\x00\x00\x00", "1:1: the file is UTF-32 (three NUL bytes beside each character): save it as UTF-8"},
		{"\x00\x00\x00p\x00\x00\x00r\x00\x00\x00i\x00\x00\x00n", "1:1: the file is UTF-32 (three NUL bytes beside each character): save it as UTF-8"},
	}
	for _, tt := range tests {
		_, errs := scanString(tt.src)
		if strings.HasPrefix(tt.src, "\xff\xfe") && len(errs) != 1 {
			t.Errorf("Scan(%q) errors %q, want one", tt.src, errs)
		}
		if len(errs) == 0 || errs[0] != tt.want {
			t.Errorf("Scan(%q) errors %q, want first %q", tt.src, errs, tt.want)
		}
	}
}

// A '{' that no '}' ends in a string is the one error: the string reads
// on as text to its closing quote, and what follows scans as usual.
func TestUnclosedInterpolationRecovers(t *testing.T) {
	toks, errs := scanString("x = \"{bad\"\ny = 2")
	if len(errs) != 1 || !strings.Contains(errs[0], "1:6: unterminated string interpolation") {
		t.Fatalf("errors %q, want the one unclosed brace", errs)
	}
	if want := `x = "{bad" ; y = 2 EOF`; toks != want {
		t.Errorf("tokens %s, want %s", toks, want)
	}
}

func TestPositions(t *testing.T) {
	src := "ab = \"é{x}\"\n\tcd(e)"
	toks := Scan([]byte(src), nil)
	want := []string{"1:1-1:3", "1:4-1:5", "1:6-1:12", "1:12-1:12", "2:2-2:4", "2:4-2:5", "2:5-2:6", "2:6-2:7", "2:7-2:7"}
	var got []string
	for _, tk := range toks {
		got = append(got, fmt.Sprintf("%s-%s", tk.Pos, tk.End))
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("positions\n got %v\nwant %v", got, want)
	}
	// The interpolated expression keeps its own position.
	x := toks[2].Parts[1].Tokens[0]
	if x.Lit != "x" || x.Pos.String() != "1:9" {
		t.Errorf("interpolated token %q at %s, want x at 1:9", x.Lit, x.Pos)
	}
	if !toks[4].NLBefore || toks[5].NLBefore {
		t.Errorf("NLBefore wrong: %v %v", toks[4].NLBefore, toks[5].NLBefore)
	}
}

// Columns after a byte order mark count from the first character of
// text, as an editor shows them.
func TestPositionsAfterBOM(t *testing.T) {
	toks := Scan([]byte("\ufeffab = 1\ncd"), nil)
	if toks[0].Lit != "ab" || toks[0].Pos.String() != "1:1" || toks[1].Pos.String() != "1:4" {
		t.Errorf("tokens after a BOM: %q at %s, %q at %s", toks[0].Lit, toks[0].Pos, toks[1].Lit, toks[1].Pos)
	}
	var errs []string
	Scan([]byte("x\ufeff"), func(pos, _ token.Pos, msg string) { errs = append(errs, pos.String()+": "+msg) })
	if len(errs) != 1 {
		t.Errorf("a BOM after the start is not an error: %v", errs)
	}
}

func TestNLBeforeInsideParens(t *testing.T) {
	toks := Scan([]byte("f(a\n(b))"), nil)
	// f ( a ( b ) ) EOF: the second ( follows a line break.
	if toks[3].Kind != token.LPAREN || !toks[3].NLBefore {
		t.Errorf("want NLBefore on second '(', got %v", toks[3])
	}
}

func TestDeepInterpolation(t *testing.T) {
	src := strings.Repeat(`"{`, 100) + "x" + strings.Repeat(`}"`, 100)
	var errs []string
	Scan([]byte(src), func(pos, end token.Pos, msg string) { errs = append(errs, msg) })
	if len(errs) == 0 || errs[0] != "string interpolation nested too deeply" {
		t.Errorf("errors %q", errs)
	}
}

func BenchmarkScan(b *testing.B) {
	src := []byte(strings.Repeat("fn add(a, b = 10) { a + b |> f(\"{a} x {b}\") } // comment\n", 100))
	b.SetBytes(int64(len(src)))
	for i := 0; i < b.N; i++ {
		Scan(src, nil)
	}
}

// A '/' where an operand begins opens a regex literal that ends at the
// next '/' of its line outside a [...] class; after an operand it
// divides.
func TestRegexLiterals(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{`x = /\d+/g`, `x = /\d+/g EOF`},
		{`f(/a[/]b/, 1)`, `f ( /a[/]b/ , 1 ) EOF`},
		{`a / b / c`, `a / b / c EOF`},
		{`(a) / 2 / x`, `( a ) / 2 / x EOF`},
		{`xs[0] /2/ 1`, `xs [ 0 ] / 2 / 1 EOF`},
		{`x /= 2`, `x /= 2 EOF`},
		{`return /a\/b/i`, `return /a\/b/i EOF`},
		{`y = 1 + / 2`, `y = 1 + / 2 EOF`}, // no end on the line: an operator
		// A lambda's body begins after its parameters' ')'.
		{`fn(s) /^a/.test(s)`, `fn ( s ) /^a/ . test ( s ) EOF`},
		{`fn f(a, (b)) /x/`, `fn f ( a , ( b ) ) /x/ EOF`},
		{`fn(x) (x) / 2 / 1`, `fn ( x ) ( x ) / 2 / 1 EOF`},
		{`g(fn() 1) / 2 / 1`, `g ( fn ( ) 1 ) / 2 / 1 EOF`},
		{`fn(s) -> Bool /^a/.test(s)`, `fn ( s ) -> Bool /^a/ . test ( s ) EOF`},
		{`fn(s) -> Regex? /a/`, `fn ( s ) -> Regex ? /a/ EOF`},
		{`fn(x) -> Int x / 2 / 1`, `fn ( x ) -> Int x / 2 / 1 EOF`},
	} {
		got, errs := scanString(c.src)
		if got != c.want || len(errs) > 0 {
			t.Errorf("Scan(%q)\n got %s %v\nwant %s", c.src, got, errs, c.want)
		}
	}
}

// Unclosed braces in strings nested in interpolations cost a few
// readings of the source, not one per brace (this source, read again
// after each, took minutes), and a line of slashes that open no regex
// is read once, not once per slash.
func TestUnclosedBracesAndSlashesScanInLinearTime(t *testing.T) {
	for _, unit := range []string{`"{`, `"{{`, `"{"{"`, `{{"{"`, `"{x" `, `(/ `} {
		src := "x = " + strings.Repeat(unit, 20000)
		done := make(chan struct{})
		go func() {
			defer close(done)
			scanString(src)
		}()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatalf("scanning %d bytes of %q did not end in 20 s", len(src), unit)
		}
	}
}

// The scanner stops past maxOpen brackets open at once, far past what
// the parser takes: 4 MiB of '(' were all scanned (seconds, a gigabyte)
// for an error the parser finds in the first few hundred.
func TestScanStopsPastMaxOpen(t *testing.T) {
	src := "x = " + strings.Repeat("(", 1_000_000)
	var errs []string
	toks := Scan([]byte(src), func(pos, end token.Pos, msg string) {
		errs = append(errs, fmt.Sprintf("%d:%d: %s", pos.Line, pos.Col, msg))
	})
	if len(toks) > maxOpen+10 || toks[len(toks)-1].Kind != token.EOF || !toks[len(toks)-1].Cut {
		t.Errorf("%d tokens, the last %v", len(toks), toks[len(toks)-1].Kind)
	}
	if want := fmt.Sprintf("1:%d: program nested too deeply: more than %d brackets open", 5+maxOpen, maxOpen); len(errs) != 1 || errs[0] != want {
		t.Errorf("errors %q, want %q", errs, want)
	}
	// Brackets closed as they go are no nesting.
	if toks := Scan([]byte(strings.Repeat("(x)", 5000)), func(token.Pos, token.Pos, string) { t.Error("an error") }); len(toks) != 15001 {
		t.Errorf("%d tokens", len(toks))
	}
}
