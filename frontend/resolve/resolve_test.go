package resolve

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"tova/frontend/ast"
	"tova/frontend/diag"
	"tova/frontend/parse"
)

// expectBindings resolves srcs and checks the binding of selected
// identifiers, named "name@line:col" (prefixed "file:" with several files).
func expectBindings(t *testing.T, want map[string]string, srcs ...string) []*ast.File {
	t.Helper()
	files, err := resolveSrc(t, srcs...)
	if err != nil {
		t.Fatalf("resolve %q:\n%s", srcs, formatErrs(err, srcs[0]))
	}
	got := bindings(files)
	bad := false
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: got %q, want %q", k, got[k], w)
			bad = true
		}
	}
	if bad {
		t.Logf("all bindings:\n%s", dumpBindings(got))
	}
	return files
}

func TestLocalsAndParams(t *testing.T) {
	files := expectBindings(t, map[string]string{
		"a@1:6":  "local 0",
		"c@1:10": "local 3", // slots 1 and 2 are the hidden destructured params
		"b@1:15": "local 4",
		"d@2:3":  "local 5",
		"a@2:7":  "local 0",
		"b@2:11": "local 4",
		"x@3:7":  "local 6", // loop variable: a new index in the body scope
		"y@4:5":  "local 7",
		"x@4:9":  "local 6",
		"y@6:10": "local 8", // a different y, in its own block: a new index
		"d@7:3":  "local 5",
	}, `fn f(a, [c], {b}) {
  d = a + b
  for x in c {
    y = x
  }
  if d { y = 1 }
  d
}`)
	fn := files[0].Stmts[0].(*ast.FnDecl).Fn
	var names []string
	for _, b := range fn.Locals {
		names = append(names, b.Name)
	}
	if got := strings.Join(names, " "); got != "a $arg1 $arg2 c b d x y y" {
		t.Errorf("locals %q", got)
	}
}

func TestCellsAndFree(t *testing.T) {
	files := expectBindings(t, map[string]string{
		"mid@3:6":   "local 0", // function names are hoisted in their block
		"n@2:7":     "cell 1",
		"k@2:14":    "local 2",
		"n@4:18":    "free 0", // inner: free through two levels
		"inner@4:8": "local 0",
		"n@7:3":     "cell 1",
	}, `fn outer() {
  var n = 0; k = 1
  fn mid() {
    fn inner() { n += 1 }
    inner
  }
  n
}`)
	outer := files[0].Stmts[0].(*ast.FnDecl).Fn
	mid := outer.Body.Stmts[2].(*ast.FnDecl).Fn
	inner := mid.Body.Stmts[0].(*ast.FnDecl).Fn
	if len(mid.FreeVars) != 1 || len(inner.FreeVars) != 1 {
		t.Fatalf("free vars: mid %d inner %d", len(mid.FreeVars), len(inner.FreeVars))
	}
	if mid.FreeVars[0].Outer != outer.Locals[1] || inner.FreeVars[0].Outer != mid.FreeVars[0] {
		t.Error("Outer chain does not lead to the owner's cell")
	}
	if outer.Locals[1].Scope != ast.Cell || !outer.Locals[1].Mutable {
		t.Errorf("n: %v", outer.Locals[1])
	}
	// The ident inside inner points at inner's own Free binding.
	id := inner.Body.Stmts[0].(*ast.Assign).Targets[0].(*ast.PBind).Name
	if id.Binding != inner.FreeVars[0] {
		t.Error("n in inner must use inner's Free binding")
	}
}

func TestLambdaCapturesLoopVar(t *testing.T) {
	expectBindings(t, map[string]string{
		"x@2:5":  "cell 0", // a loop variable of main captured by a lambda
		"x@3:21": "free 0",
		"fs@1:5": "global 1", // get is declared first: functions are hoisted
		"fs@3:3": "global 1",
	}, `var fs = []
for x in [1, 2] {
  fs = [...fs, fn() x]
}
fn get() { fs }`)
}

func TestTopLevel(t *testing.T) {
	files := expectBindings(t, map[string]string{
		"f@1:4":     "global 0", // functions are always module slots, hoisted
		"g@6:4":     "global 1",
		"used@2:1":  "global 2", // used from a function
		"used@1:10": "global 2",
		"only@3:1":  "local 0", // used only by top-level code
		"only@4:7":  "local 0",
		"g@5:10":    "global 1", // declared later: visible in functions
	}, `fn f() { used }
used = 1
only = 2
print(only)
x = fn() g()
fn g() { 1 }`)
	f := files[0]
	if len(f.Locals) != 2 || f.Locals[0].Name != "only" || f.Locals[1].Name != "x" {
		t.Errorf("main locals %v", f.Locals)
	}
	var gl []string
	for _, b := range f.Globals {
		gl = append(gl, b.Name)
	}
	if strings.Join(gl, " ") != "f g used" {
		t.Errorf("globals %v", gl)
	}
}

func TestTypesAndVariants(t *testing.T) {
	files := expectBindings(t, map[string]string{
		"Shape@1:6":  "global 0",
		"Circle@8:5": "global 1",
		"r@4:12":     "local 1", // arm scope of the function
		"r@4:22":     "local 1",
		"s@5:12":     "local 2", // alternatives share their binding
		"s@5:24":     "local 2",
		"s@5:30":     "local 2",
		"c@8:1":      "local 0",
	}, `type Shape { Circle(r: Float)  Square(s: Float) }
fn area(s) {
  match s {
    Circle(r) => r * r
    Square(s) | Circle(s) => s
  }
}
c = Circle(1.0)`)
	td := files[0].Stmts[0].(*ast.TypeDecl)
	if td.Variants[1].Binding == nil || td.Variants[1].Binding.Scope != ast.Global || td.Variants[1].Binding.Decl != td.Variants[1].PosV {
		t.Errorf("variant binding %v", td.Variants[1].Binding)
	}
}

func TestServers(t *testing.T) {
	files := expectBindings(t, map[string]string{
		"base@1:1":     "global 0", // read from a server function
		"base@8:17":    "global 0",
		"helper@4:6":   "global 1", // server a: functions first, across its blocks
		"helper@3:21":  "global 1", // used before its declaration in the server
		"other@11:6":   "global 2",
		"helper@11:16": "global 1", // same-named server blocks share a scope
		"count@4:17":   "global 3",
		"count@5:7":    "global 3",
		"todos@13:3":   "global 4",
		"helper@8:6":   "global 5", // same name, other server: its own slot
		"err@12:15":    "local 0",
		"req@12:27":    "local 1",
	}, `base = 1
server "a" {
  route GET "/x" => helper
  fn helper() { count }
  var count = 0
}
server "b" {
  fn helper() { base }
}
server "a" {
  fn other() { helper() }
  on_error fn(err, req) { req }
  todos = 1
}`)
	_ = files
}

func TestDecision3(t *testing.T) {
	// Assigning a visible var updates it (here from inside a function).
	files := expectBindings(t, map[string]string{
		"count@1:5":  "global 1",
		"count@2:12": "global 1",
	}, `var count = 0
fn inc() { count = count + 1 }`)
	a := files[0].Stmts[1].(*ast.FnDecl).Fn.Body.Stmts[0].(*ast.Assign)
	if a.Declares[0] {
		t.Error("assignment to a visible var must not declare")
	}
	// A name that is not visible declares a new binding (shadowing a builtin).
	files = expectBindings(t, map[string]string{"print@1:12": "local 1"}, `fn f(xs) { print = 1 }`)
	_ = files
	files, _ = resolveSrc(t, "fn f() { x = 1 }")
	if a := files[0].Stmts[0].(*ast.FnDecl).Fn.Body.Stmts[0].(*ast.Assign); !a.Declares[0] {
		t.Error("x = 1 must declare")
	}
	// Multiple targets and destructuring decide per name.
	files = expectBindings(t, map[string]string{
		"a@2:1": "local 0", "b@2:4": "local 1",
		"a@3:2": "local 0", "c@3:5": "local 2",
	}, `var a = 1
a, b = 2, 3
[a, c] = [4, 5]`)
	as := files[0].Stmts[1].(*ast.Assign)
	if as.Declares[0] || !as.Declares[1] {
		t.Errorf("Declares %v", as.Declares)
	}
}

// A declaring assignment in a function took the module binding of that
// name even when the module declared it further down the file.
func TestAssignBeforeModuleDeclaration(t *testing.T) {
	files := expectBindings(t, map[string]string{
		"name@2:3":    "local 1", // the module's name comes later: a new local
		"name@3:3":    "local 1",
		"total@5:12":  "local 0",  // in a lambda too
		"total@6:10":  "local 0",  // the module's var comes later
		"name@7:14":   "global 5", // read from a function above it
		"total@8:13":  "global 6", // compound assignment can only mean the var
		"total@9:11":  "local 0",  // a block of top-level code above it
		"name@10:1":   "global 5",
		"total@11:5":  "global 6",
		"total@12:14": "global 6", // below the var: assigns it
	}, `fn f(user) {
  name = user.name
  name
}
g = fn() { total = 1 }
fn h() { total = 2 }
fn reads() { name }
fn bump() { total += 1 }
if true { total = 3 }
name = "x"
var total = 0
fn later() { total = 4 }`)
	h := files[0].Stmts[2].(*ast.FnDecl).Fn.Body.Stmts[0].(*ast.Assign)
	if !h.Declares[0] {
		t.Error("total = 2 above the module's var total must declare")
	}
	later := files[0].Stmts[8].(*ast.FnDecl).Fn.Body.Stmts[0].(*ast.Assign)
	if later.Declares[0] {
		t.Error("total = 4 below the module's var total must assign it")
	}
	// A binding of a later file is declared further down the program.
	expectBindings(t, map[string]string{
		"a.tova:n@1:10":  "local 0",
		"f1.tova:n@1:10": "local 0",
		"f1.tova:n@3:10": "global 3",
	}, "fn f() { n = 1 }", "fn g() { n = 2 }\nvar n = 0\nfn h() { n = 3 }")
	// Server-level code too; the server's own bindings stay visible to
	// all of its functions.
	expectBindings(t, map[string]string{
		"label@2:3":  "global 1", // a binding of the server
		"label@3:14": "global 1",
		"hits@3:22":  "global 2",
		"label@6:1":  "local 0",
	}, `server "a" {
  label = "s"
  fn who() { label + hits }
  var hits = 0
}
label = "m"`)
}

func TestErrors(t *testing.T) {
	tests := []struct {
		src  string
		want string
	}{
		{"x = 1\nfn f() { x = 2 }", "a.tova:2:10: cannot assign to immutable binding x: declare it with var (var x = ...) to assign it again\nfn f() { x = 2 }\n         ^\na.tova:1:1: note: x declared here\nx = 1\n^"},
		{"x = 1\nx = 2", "a.tova:2:1: cannot assign to immutable binding x: declare it with var (var x = ...) to assign it again\nx = 2\n^\na.tova:1:1: note: x declared here\nx = 1\n^"},
		{"fn f(a) { a += 1 }", "a.tova:1:11: cannot assign to immutable binding a\nfn f(a) { a += 1 }\n          ^\na.tova:1:6: note: a declared here\nfn f(a) { a += 1 }\n     ^"},
		{"for i in xs { i = 2 }\nxs = []", "a.tova:1:10: xs used before its declaration\nfor i in xs { i = 2 }\n         ^~\na.tova:2:1: note: xs declared here\nxs = []\n^\na.tova:1:15: cannot assign to immutable binding i\nfor i in xs { i = 2 }\n              ^\na.tova:1:5: note: i declared here\nfor i in xs { i = 2 }\n    ^"},
		{"fn f() { y += 1 }", "a.tova:1:10: undefined: y\nfn f() { y += 1 }\n         ^"},
		{"prnt(lenn(x))", "a.tova:1:1: undefined: prnt (did you mean print?)\nprnt(lenn(x))\n^~~~\na.tova:1:6: undefined: lenn (did you mean len?)\nprnt(lenn(x))\n     ^~~~\na.tova:1:11: undefined: x\nprnt(lenn(x))\n          ^"},
		// other languages' objects, with Tova's ways
		{"x = this.name", "a.tova:1:5: undefined: this: a method's receiver is self, its first parameter: impl User { fn greet(self) { \"hi {self.name}\" } }\nx = this.name\n    ^~~~"},
		{"isinstance(5, 1)", "a.tova:1:1: undefined: isinstance: a value's kind is tested with is: x is Int, x is String, x is User\nisinstance(5, 1)\n^~~~~~~~~~"},
		// a template's {{ name }} of names no Tova code declares
		{`x = "<p>{{ message }}</p>"`, "a.tova:1:12: undefined: message: {{message}} in a \"...\" string interpolates an object of it; for a template's braces (Vue, Handlebars) write the string in single quotes, '...{{message}}...', which interpolate nothing, or each brace as \\{\nx = \"<p>{{ message }}</p>\"\n           ^~~~~~~"},
		// other languages' constants, too far from Tova's for a "did you mean"
		{"x = null", "a.tova:1:5: undefined: null (Tova's is nil)\nx = null\n    ^~~~"},
		{"f = True", "a.tova:1:5: undefined: True (Tova's is true)\nf = True\n    ^~~~"},
		{"total = 1\nfn f() { totl }", "a.tova:2:10: undefined: totl (did you mean total?)\nfn f() { totl }\n         ^~~~"},
		{"var a = 1\nvar a = 2", "a.tova:2:5: a redeclared in this scope\nvar a = 2\n    ^\na.tova:1:5: note: a declared here\nvar a = 1\n    ^"},
		{"fn f(a, a) { a }", "a.tova:1:9: duplicate parameter a\nfn f(a, a) { a }\n        ^\na.tova:1:6: note: a declared here\nfn f(a, a) { a }\n     ^"},
		{"type C { Red }\nfn f(c) { match c { Rde => 1, Foo(x) => x } }", "a.tova:2:21: undefined variant Rde (did you mean Red?)\nfn f(c) { match c { Rde => 1, Foo(x) => x } }\n                    ^\na.tova:2:31: undefined variant Foo\nfn f(c) { match c { Rde => 1, Foo(x) => x } }\n                              ^"},
		{"break\nfor x in [] { continue outer }", "a.tova:1:1: break outside a loop\nbreak\n^~~~~\na.tova:2:15: undefined label outer\nfor x in [] { continue outer }\n              ^"},
		{"print(_)", "a.tova:1:7: cannot use _ as a value\nprint(_)\n      ^"},
		{"len = 1\nlen += 1", "a.tova:2:1: cannot assign to immutable binding len: declare it with var (var len = ...) to assign it again\nlen += 1\n^~~\na.tova:1:1: note: len declared here\nlen = 1\n^"},
		{"print += 1", "a.tova:1:1: cannot assign to builtin print\nprint += 1\n^~~~~"},
		{"fn work(x) { x }\nserver {\n  background fn job(x) { x }\n  route GET \"/\" => fn() { spawn_job(job, 1); spawn_job(work, 1) }\n}", "a.tova:4:56: spawn_job(work): work is a function, not a background fn: declare it `background fn work(…)` in a server block, or call it\n  route GET \"/\" => fn() { spawn_job(job, 1); spawn_job(work, 1) }\n                                                       ^~~~"},
		{"server {\n  background fn send(to) { to }\n  route GET \"/\" => fn() { spawn_job(send(\"a\")) }\n}", "a.tova:3:37: spawn_job(send(...)) calls send now, in this request, and gives spawn_job its value: give spawn_job the function and its arguments, spawn_job(send, ...)\n  route GET \"/\" => fn() { spawn_job(send(\"a\")) }\n                                    ^~~~"},
		{"fn helper(x) { x }\nbackground fn work(x) { x }\non_start fn() { spawn_job(helper, 1) }", "a.tova:3:27: spawn_job(helper): helper is a function, not a background fn: declare it `background fn helper(…)` in a server block, or call it\non_start fn() { spawn_job(helper, 1) }\n                          ^~~~~~"},
		{"fn f() { n = n + 1 }\nvar n = 0", "a.tova:1:10: n = ... declares a new n here, as the module's n is declared below, yet the value reads the module's n: declare n above this line to update it, or give the new binding another name\nfn f() { n = n + 1 }\n         ^\na.tova:2:5: note: n declared here\nvar n = 0\n    ^"},
	}
	for _, tt := range tests {
		_, err := resolveSrc(t, tt.src)
		got := strings.TrimSuffix(formatErrs(err, tt.src), "\n")
		if got != tt.want {
			t.Errorf("%q\n--- got\n%s\n--- want\n%s", tt.src, got, tt.want)
		}
	}
}

// Past the first errors, which are the ones shown, an undefined name
// gets no "did you mean": each looks at every name in scope, and
// thousands of them among thousands of names took seconds each.
func TestSuggestionsOnlyForTheFirstErrors(t *testing.T) {
	var b strings.Builder
	b.WriteString("total = 1\n")
	for range maxSuggested + 10 {
		b.WriteString("print(totl)\n")
	}
	_, err := resolveSrc(t, b.String())
	var list diag.List
	if !errors.As(err, &list) || len(list) != maxSuggested+10 {
		t.Fatalf("errors: %v", err)
	}
	for i, e := range list {
		if has := strings.Contains(e.Msg, "did you mean total?"); has != (i < maxSuggested) {
			t.Errorf("error %d: %q", i, e.Msg)
		}
	}
}

// Imports were accepted and ignored: a name imported from a file or
// a package was "undefined" where it was used, an alias was undefined
// too, and an import of a missing file compiled.
func TestImports(t *testing.T) {
	// An alias names the builtin, at top level and in a function.
	files := expectBindings(t, map[string]string{
		"up@2:1":   "builtin",
		"len@2:4":  "builtin",
		"up@4:48":  "builtin",
		"low@4:42": "local 0",
	}, `import { print as up, len } from "strings"
up(len("a"))
fn f() {
  import { print as up } from "strings"; low = up
}`)
	for _, id := range idents(files[0]) {
		if id.Name == "up" && id.Binding.Name != "print" {
			t.Errorf("up@%s names builtin %q", id.PosV, id.Binding.Name)
		}
	}
	tests := []struct{ src, want string }{
		{"import { helper } from \"./util.tova\"\nhelper(1)",
			"a.tova:1:24: cannot import \"./util.tova\": this runtime runs single-file programs; copy what this program needs from that file into it"},
		{"import { x } from \"../lib/x\"", "a.tova:1:19: cannot import \"../lib/x\""},
		{"import { x } from \"@/lib/x\"", "a.tova:1:19: cannot import \"@/lib/x\""},
		{"import x from \"lib.tova\"", "a.tova:1:15: cannot import \"lib.tova\""},
		{"import { z } from \"zod\"\nz.object()", "a.tova:1:19: unknown module \"zod\": this runtime runs single-file programs, without packages"},
		{"import { len } from \"string\"", "a.tova:1:21: unknown module \"string\" (did you mean \"strings\"?)"},
		{"import math from \"math\"", "a.tova:1:8: import math from \"math\": a builtin module has no default value"},
		{"import { lenn, foo as bar } from \"math\"\nbar()", "a.tova:1:10: no builtin lenn to import from \"math\" (did you mean len?)"},
		{"import { len as size } from \"math\"\nfn size() {}", "a.tova:2:4: size redeclared in this scope"},
	}
	for _, tt := range tests {
		_, err := resolveSrc(t, tt.src)
		if got := formatErrs(err, tt.src); !strings.HasPrefix(got, tt.want) {
			t.Errorf("%q\n--- got\n%s\n--- want prefix\n%s", tt.src, got, tt.want)
		}
	}
	// One error per import: the uses of its names are not reported again.
	_, err := resolveSrc(t, "import { helper } from \"./util\"\nhelper(1)\nfn f() { helper(2) }")
	if list, _ := err.(diag.List); len(list) != 1 {
		t.Errorf("want one error, got %v", err)
	}
}

func TestImplicitIt(t *testing.T) {
	files := expectBindings(t, map[string]string{
		"it@1:20": "local 0",
		"it@2:38": "local 0",
	}, `ys = [1] |> filter(it > 0)
zs = [1].filter(fn(x) x > 0).map(len(it.name) + 1)`)
	// the argument became fn(it) <argument>
	call := files[0].Stmts[0].(*ast.Assign).Values[0].(*ast.Pipe).Target.(*ast.Call)
	lam, ok := call.Args[0].Value.(*ast.Lambda)
	if !ok || len(lam.Fn.Params) != 1 || lam.Fn.Params[0].Name.Name != "it" {
		t.Fatalf("arg is %T", call.Args[0].Value)
	}
	// A visible `it` is not rewritten.
	files, err := resolveSrc(t, "fn f(it) { g(it) }\nfn g(x) { x }")
	if err != nil {
		t.Fatal(err)
	}
	c := files[0].Stmts[0].(*ast.FnDecl).Fn.Body.Stmts[0].(*ast.ExprStmt).X.(*ast.Call)
	if _, ok := c.Args[0].Value.(*ast.Ident); !ok {
		t.Errorf("g(it) with a visible it was rewritten to %T", c.Args[0].Value)
	}
}

func TestPipePlaceholder(t *testing.T) {
	files, err := resolveSrc(t, "x = 1 |> print(2, _)")
	if err != nil {
		t.Fatal(err)
	}
	call := files[0].Stmts[0].(*ast.Assign).Values[0].(*ast.Pipe).Target.(*ast.Call)
	if id := call.Args[1].Value.(*ast.Ident); id.Binding != nil {
		t.Errorf("placeholder bound to %v", id.Binding)
	}
}

func TestMultipleFiles(t *testing.T) {
	expectBindings(t, map[string]string{
		"a.tova:base@1:1":  "global 0", // read by another file's top-level code
		"f1.tova:base@1:7": "global 0",
		"f1.tova:own@1:1":  "local 0",
	}, "base = 1", "own = base")
}

func TestColumnLambda(t *testing.T) {
	expectBindings(t, map[string]string{
		"__row@1:17": "local 0",
	}, "t = [] |> where(.active == true)")
}

// kitchenSink uses every statement and expression form once.
const kitchenSink = `import { upper as imported } from "strings"
type Shape { Circle(r: Float)  Square(side: Float) } derive [Eq]
type Email = String where { it |> contains("@") }
type Box<T> { value: T = nil }
env PORT: Int = 3000
var counter = 0
limit: Int = 10
{ p, q: [r1, ...rs], ...others } = { p: 1, q: [2, 3] }
fn area(s: Shape) -> Float {
  match s {
    Circle(r) if r > 0 => r * r
    Square(x) | Circle(x) => x
    [h, ...t] => h
    { k = 1, ...more } => k
    "a" ++ tail => tail
    1..5 => 0.0
    _ => 0.0
  }
}
async fn work(xs, { opt = 2 }, ...rest) {
  defer { counter += 1 }
  guard len(xs) > 0 else { return nil }
  total = 0
  outer: for i, x in xs when x > 0 {
    while false { break outer }
    loop { continue outer }
  } else { print("none") }
  try { throw "x" } catch e { print(e) } finally { print("f") }
  ys = [v * 2 for v in xs if v > 1]
  d = {k: v for k, v in entries({})}
  o = { a: 1, [opt]: 2, ys, ...d }
  s = "n={len(ys)} {o?.a ?? 0}"
  z = if total > 1 { 1 } elif total < 0 { 2 } else { 3 }
  w = await work(xs[1:2:1], o)
  v = parse(s)?
  obj = {}
  obj.f = 1
  xs[0] += 1
  u = xs |> map(fn(x) x + 1) |> filter(it > 1) |> .len
  t = 1 < total <= 3 and total is Int and not (total is not Int) and 1 in xs
  r = 0..=3
  n = 5.minutes + -total
  g = yield total
  rest
}
server "api" {
  port PORT
  cors { origins: ["*"], key: fn(req) req.ip }
  route POST "/x" body: Box with auth, role("a") -> Box => fn(req) { { ok: true } }
  routes "/v1" {
    route GET "/y" => handler
    fn handler() { counter }
  }
  middleware fn mw(req, next) { next(req) }
  on_error fn(err, req, res) { res.status(500) }
  background fn job(p) { p }
  health "/health" { check_memory }
  max_body 5.megabytes
  static "/s" => "./s" fallback "i.html"
  websocket "/ws" { on_message fn(ws, m) { ws.send(m) } auth: true }
  sse "/e" fn(send, close) { send(1) }
  schedule "tick" cron("* * * * *") { spawn_job(job, 1) }
  subscribe "t" fn(p) { publish("u", p) }
  discover "w" at "http://x" with { threshold: 2 }
  model Task { title: String  done: Bool = false  table: "tasks" }
  env KEY: String = "k"
  var state = []
}
data {
  source rows = read("x.csv")
  pipeline active = rows |> where(.ok)
  refresh rows every 1.minute
  validate Box { it.value != nil }
}
`

func TestEveryNodeResolves(t *testing.T) {
	all := func(string) bool { return true }
	check := func(name, src string) {
		f, err := parse.ParseFile(name, []byte(src))
		if err != nil {
			t.Fatalf("%s: parse: %v", name, err)
		}
		if err := Resolve([]*ast.File{f}, Options{IsPredeclared: all}); err != nil {
			t.Fatalf("%s: resolve:\n%s", name, formatErrs(err, src))
		}
		for _, id := range idents(f) {
			if id.Binding == nil && id.Name != "_" {
				t.Errorf("%s: %s at %s has no binding", name, id.Name, id.PosV)
			}
		}
	}
	check("sink.tova", kitchenSink)
	blocks, err := readGuideBlocks("../testdata/scaling-guide.md")
	if err != nil {
		t.Skip(err)
	}
	for i, b := range blocks {
		check(fmt.Sprintf("guide%d.tova", i), b)
	}
}

// readGuideBlocks extracts the ```tova code blocks of a markdown file.
func readGuideBlocks(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var blocks, cur []string
	in := false
	for _, line := range strings.Split(string(data), "\n") {
		switch trimmed := strings.TrimSpace(line); {
		case !in && trimmed == "```tova":
			in, cur = true, nil
		case in && trimmed == "```":
			in = false
			blocks = append(blocks, strings.Join(cur, "\n")+"\n")
		case in:
			cur = append(cur, line)
		}
	}
	return blocks, nil
}
