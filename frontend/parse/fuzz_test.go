package parse

import (
	"fmt"
	"testing"
	"time"

	"tova/frontend/ast"
	"tova/frontend/diag"
	"tova/frontend/resolve"
)

// FuzzParse checks that no input makes the parser (or the resolver on
// whatever tree the parser returns) panic, and that every error formats.
func FuzzParse(f *testing.F) {
	f.Add([]byte(tenLines))
	for _, src := range fuzzSeeds {
		f.Add([]byte(src))
	}
	if blocks, err := readGuideBlocks("../testdata/scaling-guide.md"); err == nil {
		for _, b := range blocks {
			f.Add([]byte(b))
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		watchdog := time.AfterFunc(10*time.Second, func() { panic(fmt.Sprintf("WATCHDOG slow input %q", src)) })
		defer watchdog.Stop()
		file, err := parseFile("fuzz.tova", src)
		if file == nil {
			t.Fatal("nil file")
		}
		if err != nil {
			for _, e := range err.(diag.List) {
				_ = diag.Format(e, src)
			}
		}
		_ = Dump(file)
		rerr := resolve.Resolve([]*ast.File{file}, resolve.Options{PredeclaredNames: []string{"print", "len"}})
		if l, ok := rerr.(diag.List); ok {
			for _, e := range l {
				if e.Msg != "" && len(e.Msg) > 9 && e.Msg[:9] == "internal " {
					t.Fatalf("resolver crashed: %v", e)
				}
				_ = diag.Format(e, src)
			}
		}
	})
}

var fuzzSeeds = []string{
	"x = (1 + 2\ny = 3\n",
	"fn f(a, b {\n a\n}\n",
	"match v { 0 => \"z\", n if n > 1 => n, [a, ...r] => r, {k} => k, Ok(x) | Err(x) => x, _ => 0 }",
	"s = \"a {b + \"c {d}\"} e\"",
	"s = \"\"\"\n  x {y}\n    z\n  \"\"\"",
	"server \"a\" { route GET \"/x\" with auth => fn(req) { { ok: true } }\n ws { on_open fn(ws) {} } }",
	"data { source d = read(\"x\")\n refresh d every 10.minutes }",
	"xs |> where(.a > 1) |> .map(fn(x) x).len",
	"outer: for i, x in xs when x { break outer } else { continue }",
	"type T<A> { V(a: A)  W } derive [Eq]\ntype E = String where { it != \"\" }",
	"{ a, b: [c, ...d] } = o\nvar q: Int\nq **= 2",
	"\"{",
	"/* /* */",
	"'\\u{zz}'",
	"fn f() { { x } }\nf = x => { a: 1 }",
	"try { a } catch (e) { b } finally { c }",
	"1..2..3",
	"-9223372036854775808",
	"a ?. [ 0 ] ?",
}
