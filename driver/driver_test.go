package driver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"tova/bytecode"
	"tova/frontend/diag"
	"tova/vm"
)

// One compiled program is immutable: many executions may share it on
// parallel goroutines (run with -race).
func TestParallelExecutionsShareOneProgram(t *testing.T) {
	src := []byte(`
type Point { x: Int, y: Int }
fn work(n) {
  var acc = []
  for i in range(n) {
    p = Point(i, i * 2)
    acc.push({ sum: p.x + p.y, label: "p{i}" })
  }
  acc |> filter(fn(o) o.sum % 2 == 0) |> map(.label) |> len()
}
print(work(300))
`)
	p, err := CompileFile("par.tova", src)
	if err != nil {
		t.Fatal(err)
	}
	prog, err := vm.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	outs := make([]string, 16)
	for i := range outs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			var out bytes.Buffer
			th := prog.NewInstance(vm.Config{Stdout: &out}).NewThread(context.Background())
			defer th.Release()
			if _, err := th.RunMain(); err != nil {
				t.Error(err)
			}
			outs[i] = out.String()
		}(i)
	}
	wg.Wait()
	for i, o := range outs {
		if o != "150\n" {
			t.Fatalf("execution %d printed %q", i, o)
		}
	}
}

// A runaway loop stops within milliseconds of its deadline.
func TestDeadlineStopsInfiniteLoop(t *testing.T) {
	for _, body := range []string{"loop { }", "var i = 0\nwhile true { i += 1 }", "fn f() { f() }\nloop { try { f() } catch e { } }"} {
		p, err := CompileFile("spin.tova", []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		start := time.Now()
		err = Run(ctx, p, vm.Config{})
		cancel()
		el := time.Since(start)
		if ve, ok := err.(*vm.Error); !ok || ve.Kind != vm.ErrCancelled {
			t.Fatalf("%q: want a Cancelled error, got %v", body, err)
		}
		if el > 150*time.Millisecond {
			t.Fatalf("%q: stopped after %v, deadline was 50ms", body, el)
		}
	}
}

// cancelOnWrite cancels its context at the first write, and waits a
// moment, as a signal arriving during a long builtin would.
type cancelOnWrite struct {
	cancel context.CancelFunc
	out    bytes.Buffer
}

func (w *cancelOnWrite) Write(p []byte) (int, error) {
	if w.out.Len() == 0 {
		w.cancel()
		time.Sleep(50 * time.Millisecond)
	}
	return w.out.Write(p)
}

// A cancellation that comes during a builtin stops the program at its
// next call. The thread looked at its context only every few thousand
// calls and jumps, so a program that ended sooner ran to its end: a
// Ctrl-C during a long sort was lost, and tova run exited 0.
func TestCancelDuringBuiltinStopsAtNextCall(t *testing.T) {
	p, err := CompileFile("cancel.tova", []byte("fn f() { 1 }\nprint(\"go\")\nf()\nprint(\"after\")\n"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := &cancelOnWrite{cancel: cancel}
	err = Run(ctx, p, vm.Config{Stdout: w})
	if ve, ok := err.(*vm.Error); !ok || ve.Kind != vm.ErrCancelled || w.out.String() != "go\n" {
		t.Fatalf("got %v, printed %q; want a Cancelled error after \"go\"", err, w.out.String())
	}
}

// Deep recursion is a catchable Tova error, never a Go stack overflow.
func TestStackOverflowIsCatchable(t *testing.T) {
	src := []byte(`
fn down(n) { down(n + 1) + 1 }
try { down(0) } catch e { print(e.kind) }
`)
	p, err := CompileFile("so.tova", src)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := Run(context.Background(), p, vm.Config{Stdout: &out}); err != nil {
		t.Fatal(err)
	}
	if out.String() != "StackOverflow\n" {
		t.Fatalf("got %q", out.String())
	}
}

// The trace of a deep stack keeps its innermost 40 and outermost 10
// frames, with one line for those left out, so that `main` still shows.
func TestDeepStackTraceElides(t *testing.T) {
	p, err := CompileFile("deep.tova", []byte("fn down(n) { if n == 0 { throw \"bottom\" } else { 1 + down(n - 1) } }\ndown(100)\n"))
	if err != nil {
		t.Fatal(err)
	}
	err = Run(context.Background(), p, vm.Config{Stdout: &bytes.Buffer{}})
	trace := strings.Split(strings.TrimRight(err.(*vm.Error).Trace(), "\n"), "\n")
	// 101 frames of down and main: 40 + 1 + 10 lines.
	if len(trace) != 51 || trace[40] != "  ... 52 more frames" || trace[50] != "  at main (deep.tova:2:5)" || trace[0] != "  at down (deep.tova:1:26)" {
		t.Fatalf("%d lines:\n%s", len(trace), strings.Join(trace, "\n"))
	}
}

// An error that passes through a finally or defer block, or that a catch
// block rethrows, is reported where it arose, with the frames below it:
// not at the last line the cleanup ran, nor at the `throw e`.
func TestRethrowKeepsOrigin(t *testing.T) {
	cases := []struct{ name, src, first, second string }{
		{"defer", `fn parse(row) {
  row.name.upper()
}
fn import_rows(rows) {
  defer print("closing")
  for r in rows { parse(r) }
}
import_rows([{ name: "a" }, {}])
`, "  at parse (t.tova:2:17)", "  at import_rows (t.tova:6:24)"},
		{"finally", `fn load(path) {
  throw "cannot open {path}"
}
fn work() {
  try {
    load("a.txt")
  } finally {
    x = 1
  }
}
work()
`, "  at load (t.tova:2:3)", "  at work (t.tova:6:9)"},
		{"rethrow", `fn risky() {
  1 / 0
}
fn f() {
  try {
    risky()
  } catch e {
    print("cleanup")
    throw e
  }
}
f()
`, "  at risky (t.tova:2:5)", "  at f (t.tova:6:10)"},
		{"rethrow changed", `fn f() {
  try { throw "a" } catch e { throw { ...e, message: "b" } }
}
f()
`, "  at f (t.tova:2:31)", "  at main (t.tova:4:2)"},
		// (at the value that is not iterable: it was at the for)
		{"not iterable", `fn f(n) {
  for k, v in n { print(k) }
}
f(5)
`, "  at f (t.tova:2:15)", "  at main (t.tova:4:2)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := CompileFile("t.tova", []byte(c.src))
			if err != nil {
				t.Fatal(err)
			}
			err = Run(context.Background(), p, vm.Config{Stdout: &bytes.Buffer{}})
			ve, ok := err.(*vm.Error)
			if !ok {
				t.Fatalf("got %v", err)
			}
			trace := strings.Split(ve.Trace(), "\n")
			if len(trace) < 2 || trace[0] != c.first || trace[1] != c.second {
				t.Fatalf("trace:\n%s", ve.Trace())
			}
		})
	}
}

// The .tbc records the source file names and a hash of the sources.
func TestProgramRecordsSources(t *testing.T) {
	p1, _ := CompileFile("a.tova", []byte("print(1)"))
	p2, _ := CompileFile("a.tova", []byte("print(2)"))
	if p1.Files[0].Name != "a.tova" || p1.SourceHash == p2.SourceHash {
		t.Fatalf("sources not recorded: %+v", p1.Files)
	}
	data, err := bytecode.Encode(p1)
	if err != nil {
		t.Fatal(err)
	}
	back, err := bytecode.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if back.SourceHash != p1.SourceHash || back.Files[0].Hash != p1.Files[0].Hash {
		t.Fatal("hash lost in .tbc round trip")
	}
}

// A file that is not Tova source gives hundreds of errors: the first 50
// are shown, then how many more there are.
func TestFormatErrorCapsTheList(t *testing.T) {
	src := []byte(strings.Repeat("print(undefined_x)\n", 80))
	_, err := CompileFile("junk.tova", src)
	if err == nil {
		t.Fatal("compiled")
	}
	out := FormatError(err, src)
	if n := strings.Count(out, "junk.tova:"); n != 50 || !strings.HasSuffix(out, "... and 30 more errors\n") {
		t.Errorf("%d errors shown; ends %q", n, out[max(0, len(out)-60):])
	}
}

// A match whose arms are variants of one type, without a catch-all,
// that leaves variants out is warned about (the program still compiles).
// A variant named behind a guard or a payload pattern counts as covered:
// arms may cover it together (Ok(Some(v)), Ok(None)), and a warning must
// never be wrong; so does one named in the guard of a binding's arm
// (x if x is Square), which warned, and every one when the guard names
// the type itself (x if x is Shape).
func TestNonExhaustiveMatchWarns(t *testing.T) {
	src := `type Shape { Circle(r: Float), Square(s: Float), Tri(a: Float, b: Float) }
fn missing(s) { match s { Circle(r) => 1, Square(x) => 2 } }
fn every(s) { match s { Circle(_) | Square(_) => 1, Tri(a, b) => 2 } }
fn wild(s) { match s { Circle(r) => 1, _ => 0 } }
fn bound(s) { match s { Circle(r) => 1, other => 0 } }
fn guarded(s) { match s { Circle(r) if r > 1.0 => 1, Square(x) => 2, Tri(a, b) => 3 } }
fn partial(o) { match o { Some(1) => "one", None => "none" } }
fn result(r) { match r { Ok(v) => v, Err(e) => e } }
fn literal(n) { match n { 1 => "a", 2 => "b" } }
fn nested(r) { match r { Ok(Some(v)) => v, Ok(None) => 0, Err(_) => -1 } }
fn noNone(o) { match o { Some(Ok(v)) => v, Some(Err(e)) => e } }
fn isGuard(s) { match s { Circle(r) => 1, x if x is Square => 2, t if t == Tri(1.0, 2.0) => 3 } }
fn isNotGuard(s) { match s { Circle(r) => 1, x if x is Square => 2 } }
fn isType(s) { match s { Circle(r) => 1, x if x is Shape => 2 } }
fn isResult(r) { match r { Ok(v) => v, e if e is Result => 0 } }
`
	p, err := CompileFile("m.tova", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range p.Warnings {
		got = append(got, fmt.Sprintf("%d: %s", w.Pos.Line, w.Msg))
	}
	want := []string{
		"2: warning: this match on Shape does not cover Tri: such a value fails with a MatchError (add an arm, or `_ => ...`)",
		"11: warning: this match on Option does not cover None: such a value fails with a MatchError (add an arm, or `_ => ...`)",
		"13: warning: this match on Shape does not cover Tri: such a value fails with a MatchError (add an arm, or `_ => ...`)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A routes group only prefixes its routes and scopes its middleware and
// on_error: what concerns the whole server, written inside one, is
// warned of where it stands.
func TestServerWideDeclarationsInGroupsWarn(t *testing.T) {
	src := `server {
  port 0
  on_start fn() { print("up") }
  routes "/api" {
    max_body 5
    limits { timeout: 1.seconds }
    on_stop fn() { print("down") }
    middleware fn m(req, next) { next(req) }
    on_error fn(err) { "failed" }
    health "/health"
    routes "/v2" {
      cache { default: "no-store" }
      subscribe "t" fn(m) { print(m) }
      route GET "/x" => fn() 1
    }
  }
}
`
	expectWarnings(t, src, []string{
		"5:5: warning: max_body in routes /api applies to the whole server, not only to the group's routes: declare it in the server block",
		"6:5: warning: limits in routes /api applies to the whole server, not only to the group's routes: declare it in the server block",
		"7:5: warning: on_stop in routes /api applies to the whole server, not only to the group's routes: declare it in the server block",
		"12:7: warning: cache in routes /api/v2 applies to the whole server, not only to the group's routes: declare it in the server block",
		"13:7: warning: subscribe in routes /api/v2 applies to the whole server, not only to the group's routes: declare it in the server block",
	})
}

// A static in a group a middleware guards is warned of: its files are
// answered before any middleware runs. A static block in a group is the
// group's, prefixed as the reference's form is, not the whole server's.
func TestStaticInGuardedGroupWarns(t *testing.T) {
	src := `server {
  port 0
  routes "/open" {
    static { dir: "pub", prefix: "/files" }
  }
  routes "/admin" {
    middleware fn require_key(req, res) { if req.headers["x-key"] != "k" { res.status(401) } }
    static "/files" => "./private"
    routes "/in" {
      static { dir: "private" }
    }
  }
}
`
	expectWarnings(t, src, []string{
		"8:5: warning: static in routes /admin: its files are answered before any middleware runs, so middleware require_key does not guard them: anyone may fetch them (serve them from a route of the group, with fs.read_text, if they are private)",
		"10:7: warning: static in routes /admin/in: its files are answered before any middleware runs, so middleware require_key does not guard them: anyone may fetch them (serve them from a route of the group, with fs.read_text, if they are private)",
	})
}

// A routes group's options (the reference's version, deprecated,
// sunset) are warned of: they were taken without a word, and have no
// effect. Any other word is an error (spec/errors/routes_group_guard.tova).
func TestRoutesGroupOptionsWarn(t *testing.T) {
	src := `server {
  port 0
  routes "/v1" version: "1" sunset: "2030-01-01" {
    route GET "/ping" => fn() "pong"
  }
}
`
	expectWarnings(t, src, []string{
		"3:16: warning: routes /v1: version is not applied by this runtime: it has no effect (no API version, Deprecation or Sunset headers)",
		"3:29: warning: routes /v1: sunset is not applied by this runtime: it has no effect (no API version, Deprecation or Sunset headers)",
	})
}

// A routes group written outside any server block is compiled into
// every server: what would then run once per server is refused there,
// and each warning or error is reported once, not once per server.
func TestSharedGroupRefusesOncePerServerDeclarations(t *testing.T) {
	src := `routes "/x" {
  on_start fn() { print("up") }
  max_body 5
  routes "/y" {
    subscribe "ev" fn(m) { print(m) }
    background fn job(n) { print(n) }
    route GET "/bad/:id/:id" => fn() 1
  }
}
server "a" { port 0 }
server "b" { port 0 }
server "c" { port 0 }
`
	_, err := CompileFile("s.tova", []byte(src))
	var list diag.List
	if !errors.As(err, &list) {
		t.Fatalf("compile: %v", err)
	}
	var got []string
	for _, e := range list {
		got = append(got, fmt.Sprintf("%d:%d: %s", e.Pos.Line, e.Pos.Col, e.Msg))
	}
	want := []string{
		"2:3: on_start in routes /x, outside any server block, would run once per server: write it inside the server block that runs it",
		"5:5: subscribe in routes /x/y, outside any server block, would run once per server: write it inside the server block that runs it",
		"6:5: background fn in routes /x/y, outside any server block, would run once per server: write it inside the server block that runs it",
		`7:15: route GET /x/y/bad/:id/:id: parameter "id" appears twice`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// An error about a declaration's value points at the value: the port's,
// the body limit's, the cron expression's, the env type's (they all
// pointed at the keyword).
func TestDeclarationValueErrorsPointAtTheValue(t *testing.T) {
	_, err := CompileFile("w.tova", []byte(`server {
  port "16080"
  max_body "5mb"
  schedule "cleanup" cron("0 * * *") { print(1) }
}
env PORT2: Integer = 3000
`))
	for _, want := range []string{"w.tova:2:8: port must be", "w.tova:3:12: max_body: expected a size", `w.tova:4:27: schedule "cleanup": bad cron expression`, "w.tova:6:12: env PORT2: type Integer"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("got %v, want %s", err, want)
		}
	}
}

// A route guard that answers true on some paths and nothing on others is
// warned of: nothing lets the request through, so `if ok { true }`
// refused nobody. A hook-shaped guard (nothing, or res.status) and one
// that answers false are not.
func TestGuardFallingOpenWarned(t *testing.T) {
	expectWarnings(t, `fn is_admin(req, res) {
  if req.headers["x-admin"] == "1" { true }
}
fn hook(req, res) { if req.user == nil { res.status(401) } }
fn both(req, res) { if req.user { true } else { false } }
fn early(req, res) {
  if req.user { return true }
}
server {
  route GET "/a" with is_admin => fn() 1
  route GET "/b" with hook, both => fn() 2
  route GET "/c" with fn(req, res) { if req.query.x == "1" { true } } => fn() 3
  route GET "/d" with early => fn() 4
  route GET "/e" with fn(req, res) { match req.query.x { "1" => true, _ => nil } } => fn() 5
}
`, []string{
		"10:23: warning: route GET /a: the guard answers true on some paths and nothing on others, and nothing lets the request through: answer false where it refuses (false, Err(...) or None refuse with 403)",
		"12:23: warning: route GET /c: the guard answers true on some paths and nothing on others, and nothing lets the request through: answer false where it refuses (false, Err(...) or None refuse with 403)",
		"13:23: warning: route GET /d: the guard answers true on some paths and nothing on others, and nothing lets the request through: answer false where it refuses (false, Err(...) or None refuse with 403)",
		"14:23: warning: route GET /e: the guard answers true on some paths and nothing on others, and nothing lets the request through: answer false where it refuses (false, Err(...) or None refuse with 403)",
	})
}

// A function's or a binding's annotation naming no type is warned of
// (a misspelt one said nothing, annotations not being checked when the
// program runs); generic names (the function's, an enclosing one's, an
// impl block's), the program's types, aliases, models and traits are
// types.
func TestUnknownAnnotationTypesWarn(t *testing.T) {
	src := `fn g(x: Strin) -> Intt { x }
y: Integr = 5
fn first<Elem>(xs: [Elem]) -> Elem {
  pick = fn(v: Elem) -> Elem { v }
  pick(xs[0])
}
type Box<T> { v: T }
impl Box<Item> { fn get(self) -> Item { self.v } }
type Id = Int
trait Shows { fn show(self) -> String }
model Note { text: String }
h = fn(a: Strng, b: Option<Intt>, c: Id, d: Shows, e: Note, f: Box<Int>, s: Size) a
var z: Duration = 1.second
print(g(1), y, first([1]), h("a", 1, 1, 1, 1, 1, 1), z)
impl Box<Item> {
  fn map<Out>(self, f: (Item) -> Out) -> Box<Out> { Box(f(self.value)) }
  fn same(self, o: Self) -> Self { o }
}
trait Conv<Src> { fn conv(x: Src) -> Src }
fn describe(e: Error) -> String { e.message }
print(try { throw "boom" } catch e { e is Error })
fn syn(a: Integer, b: Boolean) { a }
`
	expectWarnings(t, src, []string{
		"1:9: warning: unknown type Strin (did you mean String?): annotations are not checked when the program runs, so this one says nothing",
		"1:19: warning: unknown type Intt (did you mean Int?): annotations are not checked when the program runs, so this one says nothing",
		"2:4: warning: unknown type Integr: annotations are not checked when the program runs, so this one says nothing",
		"12:11: warning: unknown type Strng (did you mean String?): annotations are not checked when the program runs, so this one says nothing",
		"12:28: warning: unknown type Intt (did you mean Int?): annotations are not checked when the program runs, so this one says nothing",
		// other languages' names get Tova's
		"22:11: warning: unknown type Integer (did you mean Int?): annotations are not checked when the program runs, so this one says nothing",
		"22:23: warning: unknown type Boolean (did you mean Bool?): annotations are not checked when the program runs, so this one says nothing",
	})
}

// A type alias of a union of names no type has is the variants' form
// written as an alias (a parameter of it was checked against nothing);
// a field of a type naming no type is warned of as an annotation is.
func TestTypeDeclNamesWarned(t *testing.T) {
	expectWarnings(t, `type Priority = Low | Normal | High
type Shape2 = Circle2 | Square2
type Circle2 { r: Float }
type Square2 { s: Float }
type Num = Int | Float
type Rec { a: Strng, b: [Priority] }
type Box<V> { v: V, w: Option<V> }
print(Rec("x", []))
`, []string{
		"1:17: warning: type Priority: no type is called Low, Normal, High: a type whose values are these names is written with braces, type Priority { Low, Normal, High }",
		"6:15: warning: unknown type Strng (did you mean String?): annotations are not checked when the program runs, so this one says nothing",
	})
}

// A route handler's annotation naming a type that neither the language
// nor the program has is warned of, once, for an inline handler and for
// a named one: the parameter goes unchecked. Types declared later in the
// file, or in the server, count.
func TestUnknownHandlerTypesWarn(t *testing.T) {
	src := `server {
  route POST "/a" body: Usr => fn(req) req.body
  route POST "/b" => fn(u: User, n: Int, xs: [Strng], o: Option<Usr>, w: Widget) u
  route POST "/c" body: Later => fn(req, p: Point, d: Duration, m: Map, ok: Bool) req.body
  route POST "/named" => create
  route POST "/again" => create
  type Point { x: Int, y: Int }
}
type User { name: String, age: Int }
type Later { a: Int }
fn create(user: Usr, n: Int) { user }
`
	expectWarnings(t, src, []string{
		"2:25: warning: unknown type Usr (did you mean User?): body is not checked or converted",
		"3:47: warning: unknown type Strng (did you mean String?): xs is not checked or converted",
		"3:65: warning: unknown type Usr (did you mean User?): o is not checked or converted",
		"3:74: warning: unknown type Widget: w is not checked or converted",
		"11:17: warning: unknown type Usr (did you mean User?): user is not checked or converted",
	})
}

// A lower-case type name (int, the spelling of Python, Go and
// TypeScript) in a handler's or a model's annotation was passed over
// without a word, leaving the parameter unconverted and the column
// untyped; it is warned of with the name it differs from in case.
func TestLowerCaseHandlerTypesWarn(t *testing.T) {
	expectWarnings(t, `server {
  route GET "/a/:id" => fn(id: int, tags: [string], on: bool?) id
  model Item { qty: int, price: float, note: text }
}
`, []string{
		"2:32: warning: unknown type int (did you mean Int?): id is not checked or converted",
		"2:44: warning: unknown type string (did you mean String?): tags is not checked or converted",
		"2:57: warning: unknown type bool (did you mean Bool?): on is not checked or converted",
		"3:21: warning: unknown type int (did you mean Int?): the field qty is not checked or converted",
		"3:33: warning: unknown type float (did you mean Float?): the field price is not checked or converted",
		"3:46: warning: unknown type text (did you mean String?): the field note is not checked or converted",
	})
}

// What an annotation may name besides the builtins and declared
// records: aliases, variants, a generic's parameter, forms that are no
// name (Int?, A | B); req and res are given, not converted. Defaults make
// a guard's or a hook's extra parameters optional.
func TestHandlerAnnotationsNotWarned(t *testing.T) {
	expectWarnings(t, `type Id = Int
type Shape { Circle(r: Float), Square(s: Float) }
type User { name: String }
type W = User
fn gen<T>(x: T) { {x: x} }
fn g3d(req, res, x = 1) { nil }
server {
  route GET "/alias" => fn(i: Id, w: W, l: [Id]) i
  route GET "/gen" => gen
  route GET "/d" with g3d => fn() 1
  route GET "/i" with fn(a, b, c = 2) { nil } => fn() 1
  route GET "/forms" => fn(a: Int?, b: Int | String, c: Circle, req: Request, res: Response, z: Usr) 1
  on_start fn(x = 1) { print(x) }
}
`, []string{"12:97: warning: unknown type Usr (did you mean User?): z is not checked or converted"})
}

// A server named "server" beside the unnamed one is warned of: the log
// lines of both name "server".
func TestServerNamedServerWarns(t *testing.T) {
	expectWarnings(t, "server { port 0 }\nserver \"server\" { port 0 }\n", []string{
		`2:1: warning: a server named "server" beside the unnamed server: the log lines of both name "server" (--server server selects this one, --server "" the unnamed one); give it another name`,
	})
	expectWarnings(t, "server \"server\" { port 0 }\nserver \"api\" { port 0 }\n", nil)
}

// Two server names that make one PORT_<NAME> are warned of: that
// variable could not give them different ports.
func TestServerNamesSharingAPortVariableWarn(t *testing.T) {
	expectWarnings(t, "server \"a-b\" { port 0 }\nserver \"api\" { port 0 }\nserver \"a_b\" { port 0 }\nserver \"API\" { port 0 }\n", []string{
		`3:1: warning: servers "a-b" and "a_b" both take their port from PORT_A_B: rename one, so that each can be given its own port`,
		`4:1: warning: servers "api" and "API" both take their port from PORT_API: rename one, so that each can be given its own port`,
	})
	expectWarnings(t, "server \"a-b\" { port 0 }\nserver \"a-c\" { port 0 }\nserver \"a-b\" { route GET \"/\" => fn() 1 }\n", nil)
}

// expectWarnings compiles src and compares its warnings, each as
// "line:col: message", with want.
// `port = 8080` in a server block declares a variable; the server takes
// no port from it, which a warning says when nothing reads it. A model
// field's misspelt type is warned of as a handler's is.
func TestServerSlipsWarned(t *testing.T) {
	expectWarnings(t, `type Address { city: String }
server {
  port = 3010
  cors = { origins: ["https://a.example"] }
  cache = {}
  route GET "/c" => fn() cache
  model Post { title: Strng, views: Int, tags: [Strng], at: Address, by: User, n: Float?, on: DateTime, seen: Timestamp }
  model User { name: String }
  route GET "/p" => fn(u: Usr) u
}
`, []string{
		"3:3: warning: port = ... declares a variable named port, which nothing reads: it sets nothing of the server (write port 3010)",
		"4:3: warning: cors = ... declares a variable named cors, which nothing reads: it sets nothing of the server (write cors { origins: [...] })",
		"7:23: warning: unknown type Strng (did you mean String?): the field title is not checked or converted",
		"7:49: warning: unknown type Strng (did you mean String?): the field tags is not checked or converted",
		"9:27: warning: unknown type Usr: u is not checked or converted",
	})
}

// A program's own variant named Ok, Err, Some or None hides the builtin
// one: it is warned of, and the program runs (such enums are common:
// an auth mode None, a health status Ok).
func TestBuiltinVariantNamesWarned(t *testing.T) {
	expectWarnings(t, `type Auth { None, Bearer(token: String) }
type Health { Ok, Down }
print(Bearer("x"), Ok)
`, []string{
		"1:13: warning: None here is Auth's variant, and hides the builtin Option's None in this program: ?, unwrap and the other methods do not treat it as one; give it another name if the program uses Option",
		"2:15: warning: Ok here is Health's variant, and hides the builtin Result's Ok in this program: ?, unwrap and the other methods do not treat it as one; give it another name if the program uses Result",
	})
}

// A field default the constructor cannot apply (no literal) is warned
// of, but not for a type a model is made of (a model applies it).
func TestUnappliedDefaultsWarned(t *testing.T) {
	expectWarnings(t, `type P { x: Int = 3, tags: [String] = [] }
type Color { Rgb(r: Int, g: Int = 1 + 1) }
type User { name: String, roles: [String] = [] }
server {
  model User
}
`, []string{
		"1:22: warning: the default of P's field tags is not applied: a constructor takes literal defaults (numbers, strings, booleans); pass the value, or write a function that does",
		"2:26: warning: the default of Rgb's field g is not applied: a constructor takes literal defaults (numbers, strings, booleans); pass the value, or write a function that does",
	})
}

func expectWarnings(t *testing.T, src string, want []string) {
	t.Helper()
	p, err := CompileFile("w.tova", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range p.Warnings {
		got = append(got, fmt.Sprintf("%d:%d: %s", w.Pos.Line, w.Pos.Col, w.Msg))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// CompilePath reads only what a program file can be: no directory, no
// device (/dev/zero never ends), no source over MaxSourceSize (compiling
// takes hundreds of bytes per byte). A pipe is read, up to the bound.
func TestCompilePathBoundsItsInput(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.tova")
	src := append(bytes.Repeat([]byte(" "), MaxSourceSize), "print(1)\n"...)
	if err := os.WriteFile(big, src, 0o644); err != nil {
		t.Fatal(err)
	}
	exact := filepath.Join(dir, "exact.tova")
	if err := os.WriteFile(exact, src[len(src)-MaxSourceSize:], 0o644); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, c := range []struct{ path, want string }{
		{dir, "is a directory, not a program file"},
		{"/dev/zero", "is a device or a socket, not a program file"},
		{sock, "is a device or a socket, not a program file"},
		{big, "is 4194313 bytes, over the 4 MiB (4194304 bytes) a source file may have"},
	} {
		if _, _, err := CompilePath(c.path); err == nil || err.Error() != c.want {
			t.Errorf("%s: %v, want %q", c.path, err, c.want)
		}
	}
	if _, _, err := CompilePath(exact); err != nil {
		t.Errorf("a source of exactly %d bytes: %v", MaxSourceSize, err)
	}

	if p, _, err := CompilePath(pipeOf(t, []byte("x = 1\n"), 0)); err != nil || p == nil {
		t.Errorf("a pipe: %v", err)
	}
	endless := MaxArtifactSize>>20 + 1 // MiB: more than any bound
	if _, _, err := CompilePath(pipeOf(t, nil, endless)); err == nil || err.Error() != "is over the 4 MiB a source file may have" {
		t.Errorf("a pipe that does not end: %v", err)
	}
	// An artifact is read up to its own bound.
	p, err := CompileFile("a.tova", []byte("x = 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	tbc, err := bytecode.Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := CompilePath(pipeOf(t, tbc, endless)); err == nil || err.Error() != "is over 64 MiB, too large for a program file" {
		t.Errorf("an artifact's pipe that does not end: %v", err)
	}
}

// pipeOf returns the /dev/fd name of a pipe that gives first, then mib
// MiB of zeros (as long as it is read), then its end.
func pipeOf(t *testing.T, first []byte, mib int) string {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	go func() {
		defer w.Close()
		if _, err := w.Write(first); err != nil {
			return
		}
		chunk := make([]byte, 1<<20)
		for range mib {
			if _, err := w.Write(chunk); err != nil {
				return // the reader stopped
			}
		}
	}()
	return fmt.Sprintf("/dev/fd/%d", r.Fd())
}

// The reference's model options this runtime does not apply, but that
// change nothing a call does, are warned of where they stand.
func TestUnappliedModelOptionsWarn(t *testing.T) {
	expectWarnings(t, `server {
  model Author { name: String  has_many: [Book] }
  model Book { title: String  author_id: Int  belongs_to: [Author]  indexes: ["title"]  timestamps: true }
  model Tenant { name: String  has_many: Project }
  model Project { name: String  belongs_to: Tenant }
  model P { x: Int }
  model Q { belongs_to: P }
  model Like { post_id: Int, user_id: Int, indexes: [{ fields: ["post_id", "user_id"], unique: true }] }
  model Vote { post_id: Int, table: "ballots", indexes: [{ fields: ["post_id"], unique: true }] }
}
`, []string{
		"2:32: warning: model Author: has_many is not applied: the model has no accessor for the related rows (query them with where)",
		"3:47: warning: model Book: belongs_to is not applied: the model has no accessor for the related rows (query them with where)",
		`3:69: warning: model Book: indexes is not applied: no index is made (db.exec("CREATE INDEX IF NOT EXISTS ...") below the model's declaration makes one)`,
		// Written bare, as a field's type is, they are the same options
		// (belongs_to: Tenant was an error that said "it is accepted",
		// belongs_to: P a warning).
		"4:32: warning: model Tenant: has_many is not applied: the model has no accessor for the related rows (query them with where); store the id in Project, tenant_id: Int",
		"5:33: warning: model Project: belongs_to is not applied: the model has no accessor for the related rows (query them with where); store the id, tenant_id: Int",
		"7:3: warning: model Q has no fields and no type Q gives it any: its rows hold an id alone; declare them, model Q { name: String }, or a type Q { ... } beside it",
		"7:13: warning: model Q: belongs_to is not applied: the model has no accessor for the related rows (query them with where); store the id, p_id: Int",
		// (duplicates went in where one row a key was meant)
		`8:44: warning: model Like: indexes is not applied, and unique: true is not enforced: duplicates are stored; make the index below the model's declaration, db.exec("CREATE UNIQUE INDEX IF NOT EXISTS likes_key ON likes (post_id, user_id)"), and a duplicate is then a unique_violation DatabaseError`,
		`9:48: warning: model Vote: indexes is not applied, and unique: true is not enforced: duplicates are stored; make the index below the model's declaration, db.exec("CREATE UNIQUE INDEX IF NOT EXISTS ballots_key ON ballots (post_id)"), and a duplicate is then a unique_violation DatabaseError`,
	})
}

// Two models that name each other in options that are not applied (a
// user has many orders, an order belongs to a user) run: the options
// are not computed, and the later model's name, not bound yet when the
// first is declared, stopped every start ("Order is read before its
// declaration has run").
func TestModelsNamingEachOtherRun(t *testing.T) {
	p, err := CompileFile("rel.tova", []byte(`db { adapter: "sqlite", database: ":memory:" }
model User { name: String, has_many: [Order] }
model Order { user_id: Int, belongs_to: [User] }
u = User.create({ name: "ann" })
Order.create({ user_id: u.id })
print(len(Order.where({ user_id: u.id })))
`))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := Run(context.Background(), p, vm.Config{Dir: t.TempDir(), Stdout: &out, Stderr: &bytes.Buffer{}}); err != nil || out.String() != "1\n" {
		t.Fatalf("run: %v, printed %q", err, out.String())
	}
}

// The SQLite database a program opened is closed when its run ends, with
// an error or not, so the file holds every write: its write-ahead log
// is checkpointed and removed. It was left beside the file, and a copy
// of the .db alone had no table.
func TestRunClosesItsDatabase(t *testing.T) {
	for _, tail := range []string{"", "throw \"after the write\"\n"} {
		dir := t.TempDir()
		src := "db { adapter: \"sqlite\", database: \"notes.db\" }\nmodel Note { text: String }\nNote.create({ text: \"kept\" })\n" + tail
		p, err := CompileFile("notes.tova", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		err = Run(context.Background(), p, vm.Config{Dir: dir, Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}})
		if (err != nil) != (tail != "") {
			t.Fatalf("%q: run: %v", tail, err)
		}
		if _, err := os.Stat(filepath.Join(dir, "notes.db")); err != nil {
			t.Fatalf("%q: %v", tail, err)
		}
		for _, side := range []string{"notes.db-wal", "notes.db-shm"} {
			if _, err := os.Stat(filepath.Join(dir, side)); err == nil {
				t.Errorf("%q: %s is still there after the run", tail, side)
			}
		}
	}
}

// `x is Name` where no type is called Name is always false: warned of,
// as a misspelt annotation is (the typo passed silently).
func TestIsUnknownTypeWarns(t *testing.T) {
	expectWarnings(t, `type Point { x: Int }
print(1 is Strng, Point(1) is Point, nil is Nil, Ok(1) is Result, now() is Date)
`, []string{
		"2:9: warning: unknown type Strng (did you mean String?): `is Strng` is always false",
	})
}

// `x is Self` in an impl block's method (or a trait's default, for the
// type given it) tests the block's type: it was always false, and
// nothing said so. Outside a method, and with a type parameter (no type
// at run time), it is always false, and warned of.
func TestIsSelfAndTypeParameters(t *testing.T) {
	src := `type P { x: Int }
type Q { x: Int }
trait Same { fn same(self, o) { o is Self } }
impl P {
  fn eq(self, o) { o is Self }
  fn inner(self, o) { f = fn(v) v is Self
    f(o) }
}
impl Same for Q {}
print(P(1).eq(P(2)), P(1).eq(Q(2)), P(1).inner(P(3)), Q(1).same(Q(2)), Q(1).same(P(2)))
fn outside(x) { x is Self }
fn check<T>(x) { x is T }
`
	expectWarnings(t, src, []string{
		"11:19: warning: Self is the type of an impl block's methods, and this is no method: `is Self` is always false",
		"12:20: warning: T is a type parameter, which is no type at run time: `is T` is always false; test the kinds it may be (x is Int)",
	})
	if out, err := runScript(t, src, vm.Config{}); err != nil || out != "true false true true false\n" {
		t.Errorf("printed %q (%v)", out, err)
	}
}

// `x = v` in a function declared above the module's `var x` declares a
// new x of the function's: when nothing reads it, the var was meant,
// and is warned of (a counter a helper updated stayed 0, in silence).
func TestAssignAboveModuleVarWarned(t *testing.T) {
	src := `fn set_c(v) {
  c4 = v
}
fn other(v) {
  c4 = v
  print(c4)
}
fn fine(v) {
  k = v
}
var c4 = 0
var k = 0
set_c(5)
other(1)
print(c4)
`
	expectWarnings(t, src, []string{
		"2:3: warning: c4 = ... declares a new c4 of this function's, which nothing reads: the module's var c4, declared below (11:5), is not assigned; declare it above this function to assign it",
		"9:3: warning: k = ... declares a new k of this function's, which nothing reads: the module's var k, declared below (12:5), is not assigned; declare it above this function to assign it",
	})
}

// A number literal interpolated in a string ("\\d{4}") is a regex's
// count meant as text: the pattern was \d4, matching the wrong thing
// in silence.
func TestInterpolatedNumberLiteralWarned(t *testing.T) {
	expectWarnings(t, `x = 2
print(regex_match("2024-06-15", "(\\d{4})-(\\d{2})"), "a{x}b", "\{4}")
`, []string{
		`2:39: warning: {4} in a string interpolates the number 4 as text (a regex's \\d{4} is then \d4): write \{4} for the braces, or use r"...", which has no interpolation`,
		`2:48: warning: {2} in a string interpolates the number 2 as text (a regex's \\d{2} is then \d2): write \{2} for the braces, or use r"...", which has no interpolation`,
	})
	// Not after a regex's item, the warning speaks of text.
	expectWarnings(t, `print("total {3} items", "[a-z]{2}")
`, []string{
		`1:15: warning: {3} in a string interpolates the number 3, which is then text without its braces: write \{3} for the braces, or use '...', which has no interpolation`,
		`1:33: warning: {2} in a string interpolates the number 2 as text (a regex's \\d{2} is then \d2): write \{2} for the braces, or use r"...", which has no interpolation`,
	})
}

// A model with no fields and no type of its name (the reference's
// `model User`, its type left out) holds an id alone: warned of, where
// create({ name }) failed at run time with a ColumnError.
func TestModelWithoutFieldsWarned(t *testing.T) {
	expectWarnings(t, `type Post { title: String }
server {
  model User
  model Post
  model Note { body: String }
  route GET "/" => fn() [UserModel.all(), PostModel.all(), NoteModel.all()]
}
`, []string{
		"3:3: warning: model User has no fields and no type User gives it any: its rows hold an id alone; declare them, model User { name: String }, or a type User { ... } beside it",
	})
}

// A type named as a builtin scalar kind (type Int { ... }) is warned
// of: an annotation's meaning is then unclear, and `is Int` tests the
// builtin. (A List of its own, the reference's guide's linked list, is
// not.)
func TestTypeNamedLikeBuiltinKindWarned(t *testing.T) {
	expectWarnings(t, `type Int { v: Int }
type Point { x: Int }
type Option<T> { Some(T) None }
type List<T> { Cons(head: T, tail: List<T>), Empty }
print(1 is Int, Point(1))
`, []string{
		"1:6: warning: type Int takes the name of a builtin kind: annotations (x: Int, fn(n: Int)) may mean either, and `is Int` still tests the builtin; name it otherwise",
	})
}

// A route declared twice in a server is warned of when the program
// compiles (its first declaration is never called): only the start-up
// log said so. Parameters' names do not tell routes apart; methods do,
// and a shared route and a server's own are two.
func TestDuplicateRouteWarned(t *testing.T) {
	expectWarnings(t, `route GET "/shared" => fn() 0
server {
  route GET "/a" => fn() 1
  route GET "/a" => fn() 2
  route GET "/u/:id" => fn(id) 1
  route GET "/u/:uid" => fn(uid) 2
  route POST "/a" => fn() 3
  route GET "/shared" => fn() 4
  routes "/g" {
    route GET "/x" => fn() 5
  }
  route GET "/g/x" => fn() 6
  route GET "/v/*rest" => fn() 7
  route GET "/v/*" => fn() 8
  route GET "/b" => fn() 9
  route GET "/b/" => fn() 10
}
`, []string{
		"4:3: warning: route GET /a declared again (first at 3:3): this later declaration serves it, and the first is never called",
		"6:3: warning: route GET /u/:uid declared again (first at 5:3): this later declaration serves it, and the first is never called",
		"12:3: warning: route GET /g/x declared again (first at 10:5): this later declaration serves it, and the first is never called",
		// (a trailing slash is no other route; *rest, a segment or
		// more, and *, none or more, are two)
		"16:3: warning: route GET /b/ declared again (first at 15:3): this later declaration serves it, and the first is never called",
	})
}

// A config block whose name is close to one the runtime applies is
// warned of at compile time, with the name meant: `cros { }` would
// otherwise leave the server with no CORS policy, and only a start-up
// line would say the block does nothing.
func TestMisspeltConfigBlockWarned(t *testing.T) {
	expectWarnings(t, `auht { }
server {
  cros { origins: ["https://a.example"] }
  sesions { secret: "x" }
  ai { model: "x" }
  COMPRESSION { }
  database { adapter: "sqlite", database: "m.db" }
  Config { port: 3000 }
  route GET "/" => fn() "x"
}
`, []string{
		"1:1: warning: unknown block auht: this runtime applies no block of that name, so it has no effect (did you mean auth?)",
		"3:3: warning: unknown block cros: this runtime applies no block of that name, so it has no effect (did you mean cors?)",
		"4:3: warning: unknown block sesions: this runtime applies no block of that name, so it has no effect (did you mean sessions?)",
		"6:3: warning: unknown block COMPRESSION: this runtime applies no block of that name, so it has no effect (did you mean compression?)",
		// (another framework's name, far from db)
		`7:3: warning: unknown block database: this runtime applies no block of that name, so it has no effect: a database is the db block, db { database: "app.db" }`,
		"8:3: warning: unknown block Config: this runtime applies no block of that name, so it has no effect: a server's settings are blocks of their own: port 3000, limits { timeout: 10.seconds }, cors { origins: [...] }",
	})
}

// A derive name this runtime does not know is warned of: derive [JSNO]
// showed only at run time, as "P has no associated function from_json".
func TestUnknownDeriveWarns(t *testing.T) {
	expectWarnings(t, "type P { a: Int } derive [JSNO, Eq]\ntype Q { b: Int } derive [JSON, Show, Frobnicate]\n", []string{
		"1:1: warning: type P: derive JSNO is not one this runtime knows: it has no effect (derive takes JSON, Eq and Show) (did you mean JSON?)",
		"2:1: warning: type Q: derive Frobnicate is not one this runtime knows: it has no effect (derive takes JSON, Eq and Show)",
	})
}

// A port or max_body in a routes group outside any server block is not
// a second declaration of each server's own: the port is refused once,
// where it stands (each server's own port was blamed too), and the
// server's own max_body wins, as over one written at the top level.
func TestSharedGroupDeclarationsAreNotTheServers(t *testing.T) {
	_, err := CompileFile("g.tova", []byte("routes \"/g\" {\n  port 1\n}\nserver \"a\" {\n  port 8080\n}\n"))
	if err == nil || strings.Count(err.Error(), "\n")+1 != 1 || !strings.Contains(err.Error(), "2:3: port in routes /g, outside any server block") {
		t.Errorf("port in a shared group: %v", err)
	}
	if _, err := CompileFile("g.tova", []byte("routes \"/g\" {\n  max_body 5.megabytes\n}\nserver \"a\" {\n  max_body 1.megabyte\n}\n")); err != nil {
		t.Errorf("max_body in a shared group and the server's own: %v", err)
	}
}

// WebSocket and SSE blocks, which this runtime does not serve yet, are
// warned of when compiled, not only in serve's log.
func TestRealtimeBlocksWarn(t *testing.T) {
	expectWarnings(t, "server {\n  routes \"/rt\" {\n    websocket \"/ws\" {\n      on_message fn(ws, msg) { ws.send(msg) }\n    }\n    sse \"/events\" fn(send, close) { close() }\n  }\n}\n", []string{
		"3:5: warning: websocket /rt/ws: this runtime does not serve WebSockets yet: the block has no effect (an upgrade request to /rt/ws is answered as any request is: 404, or by a GET route of that path)",
		"6:5: warning: sse /rt/events: this runtime does not serve server-sent events yet: the block has no effect (GET /rt/events answers 404)",
	})
}

// The reference's streamed responses are said to be unserved where they
// are written: stream(fn(send, close)) is warned of (every request
// answered with one gets 500), while stream(file, batch:) is not; sse(…)
// is a name this runtime does not define, and its error says what it is.
func TestStreamedResponsesAreNamed(t *testing.T) {
	expectWarnings(t, "server {\n  route GET \"/a\" => fn() { stream(fn(send, close) { send(1) }) }\n  route GET \"/b\" => fn() { stream(\"x.csv\", batch: 10) }\n}\n", []string{
		"2:28: warning: stream(fn(send, close)): this runtime does not serve streamed responses yet: a request answered with one gets 500 (stream(file, batch: n) reads a file in batches)",
	})
	_, err := CompileFile("w.tova", []byte("server {\n  route GET \"/b\" => fn() { sse(fn(send, close) { send(1) }) }\n}\n"))
	if err == nil || !strings.Contains(err.Error(), "2:28: undefined: sse: the reference's sse(fn(send, close)) streamed response: this runtime does not serve server-sent events yet") {
		t.Errorf("sse(…): %v", err)
	}
}

// `is` with a trait no type implements is always false, and warned of
// as such (not as an unknown type).
func TestIsUnimplementedTraitWarns(t *testing.T) {
	expectWarnings(t, "trait Shown { fn show() -> String }\nx = 1 is Shown\n", []string{
		"2:7: warning: no type implements Shown (impl Shown for Type): `is Shown` is always false",
	})
}

// A (req, next) middleware that never calls next is warned of: no
// handler runs behind it.
func TestMiddlewareNeverCallingNextWarns(t *testing.T) {
	expectWarnings(t, "server {\n  middleware fn a(req, next) { print(1) }\n  middleware fn b(req, next) { next(req) }\n  middleware fn c(req, res) { print(2) }\n  middleware fn d(req, nxt) { f = fn() nxt(req); f() }\n  middleware fn e(req, _) { print(3) }\n}\n", []string{
		"2:24: warning: middleware never calls next: no handler runs, every request it sees is answered with what it returns (call next(req), or name the parameter res for the (req, res) shape)",
		"6:24: warning: middleware never calls _: no handler runs, every request it sees is answered with what it returns (call next(req), or name the parameter res for the (req, res) shape)",
	})
}

// File, the runtime's name for an uploaded file, was warned of as an
// unknown type on a handler's parameter; it is known there, and where
// it cannot apply (a body, a model's column) the warning says what it
// is.
func TestFileAnnotation(t *testing.T) {
	expectWarnings(t, `server {
  route POST "/a" => fn(image: File, maybe: File?, many: [File], opt: Option<File>) 1
  route POST "/b" body: File => fn(req) 1
  model Doc { scan: File }
}
`, []string{
		"3:25: warning: File, an uploaded file, annotates a handler's parameter (image: File): body is not checked or converted",
		"4:21: warning: File, an uploaded file, annotates a handler's parameter (image: File): the field scan is not checked or converted",
	})
}

// A nil default of an env declaration of a plain type is the
// reference's form for a variable that may be unset (nil then): it
// works, and is warned of, its type being the environment's.
func TestEnvNilDefaultWarns(t *testing.T) {
	expectWarnings(t, "env RETRIES: Int = nil\nenv NAME: Option<String> = nil\nprint(RETRIES, NAME)\n", []string{
		"1:20: warning: env RETRIES: the default is nil, not Int: RETRIES is nil when the variable is unset; declare it RETRIES: Option<Int> = None to say it may be missing",
	})
}

// A line beginning with + (or with - when its value is unused) after
// another statement is warned of: it is a statement of its own, not the
// rest of the line before (`x = 1\n  + 2` left x 1 without a word). A
// function's last line `-a` is its value, and no warning.
func TestSignedLineWarned(t *testing.T) {
	msg := ": it is a statement of its own, whose value is unused, not the rest of the line before it; end that line with the operator to continue it"
	expectWarnings(t, "x = 1\n  + 2\ny = 10\n  - 3\nprint(x, y)\nfn neg(a) {\n  print(a)\n  -a\n}\nprint(neg(2))\n", []string{
		"2:3: warning: this line begins with +" + msg,
		"4:3: warning: this line begins with -" + msg,
	})
}

// A route whose path names a parameter its handler (which does not take
// req) takes under no name, while it takes another, is warned of: that
// one is read from the query or the body, and the path's is lost.
func TestPathParameterNotTakenWarned(t *testing.T) {
	expectWarnings(t, `server {
  route GET "/u/:id" => fn(uid) uid
  fn show(user_id: Int) { user_id }
  route GET "/v/:id" => show
  route GET "/w/:id" => fn(id, q) id
  route GET "/x/:id" => fn(req, uid) req.params.id
  route GET "/y/:id" => fn() "ignored"
  routes "/orgs/:org" {
    route GET "/search" => fn(q) q
    route GET "/users/:user" => fn(name) name
  }
}
`, []string{
		"2:3: warning: route GET /u/:id: the path's :id is taken by no parameter of the handler, which takes uid from the query or the body instead; name the parameter id, or take req and read req.params",
		"4:3: warning: route GET /v/:id: the path's :id is taken by no parameter of the handler, which takes user_id from the query or the body instead; name the parameter id, or take req and read req.params",
		"10:5: warning: route GET /orgs/:org/users/:user: the path's :user is taken by no parameter of the handler, which takes name from the query or the body instead; name the parameter user, or take req and read req.params",
	})
}

// A handler parameter named body annotated with a type of the program,
// on a route without `body:`, is warned of: it reads the body's field
// "body", and a request with the record itself answered 400 "body is
// required" with no word of why. `body:` on the route, a builtin type,
// or another name is not.
func TestBodyParameterOfRecordTypeWarned(t *testing.T) {
	expectWarnings(t, `type Opts { name: String }
server {
  route POST "/a" => fn(body: Opts) body.name
  fn make(body: Opts) { body.name }
  route POST "/b" => make
  route POST "/c" body: Opts => fn(req) req.body.name
  route POST "/d" => fn(body: String) body
  route POST "/e" => fn(opts: Opts) opts.name
  routes "/g" {
    route PUT "/f" => fn(body: Opts?) body
  }
  route POST "/h" => fn(body: Option<Opts>) body
  route POST "/i" => fn(body: [Opts]) body
}
`, []string{
		`3:25: warning: route POST /a: the parameter body reads the request body's field "body" (parameters bind by name); to check the whole body as Opts, write ` + "`route POST \"/a\" body: Opts => fn(req) ...`" + ` and read req.body`,
		`4:11: warning: route POST /b: the parameter body reads the request body's field "body" (parameters bind by name); to check the whole body as Opts, write ` + "`route POST \"/b\" body: Opts => fn(req) ...`" + ` and read req.body`,
		// (the Option ones answered None, the record given)
		`10:26: warning: route PUT /g/f: the parameter body reads the request body's field "body" (parameters bind by name); to check the whole body as Opts?, write ` + "`route PUT \"/f\" body: Opts? => fn(req) ...`" + ` and read req.body`,
		`12:25: warning: route POST /h: the parameter body reads the request body's field "body" (parameters bind by name); to check the whole body as Option<Opts>, write ` + "`route POST \"/h\" body: Option<Opts> => fn(req) ...`" + ` and read req.body`,
		`13:25: warning: route POST /i: the parameter body reads the request body's field "body" (parameters bind by name); to check the whole body as [Opts], write ` + "`route POST \"/i\" body: [Opts] => fn(req) ...`" + ` and read req.body`,
	})
}

// A route path with {id} in a string without interpolation is the text
// {id}: a request to /u/5 was a 404, and only /u/%7Bid%7D matched.
func TestBracedRouteParameterWarned(t *testing.T) {
	expectWarnings(t, `server {
  route GET '/u/{id}' => fn(req) "u"
  route GET "/v/:id" => fn(id) id
  route GET '/w/{a}/{b}' => fn(req) "w"
  routes '/orgs/{org}' { route GET "/x" => fn(req) "x" }
  health '/h/{x}'
  route GET "/items/<int:item_id>" => fn(item_id) item_id
  routes "/t/<tenant>" { route GET "/y" => fn(req) "y" }
  route GET "/cmp/a<b>" => fn(req) "html-ish text is no parameter of its own segment"
}
`, []string{
		`2:13: warning: route GET /u/{id}: {id} in a path is the text {id}, which only a request for it matches: a path parameter is written :id`,
		`4:13: warning: route GET /w/{a}/{b}: {a} in a path is the text {a}, which only a request for it matches: a path parameter is written :a`,
		`5:3: warning: routes /orgs/{org}: {org} in a path is the text {org}, which only a request for it matches: a path parameter is written :org`,
		`6:3: warning: health /h/{x}: {x} in a path is the text {x}, which only a request for it matches: a path parameter is written :x`,
		// (Flask's form)
		`7:13: warning: route GET /items/<int:item_id>: <int:item_id> in a path is the text <int:item_id>, which only a request for it matches: a path parameter is written :item_id (its type is the handler parameter's, fn(item_id: Int))`,
		`8:3: warning: routes /t/<tenant>: <tenant> in a path is the text <tenant>, which only a request for it matches: a path parameter is written :tenant`,
	})
}

// A (req, next) middleware that calls next and ends with a statement
// of no value (r = next(req); print("after")) answers every request
// null: warned of. One ending with the response, or with a value of its
// own, is not.
func TestMiddlewareEndingWithoutValueWarned(t *testing.T) {
	expectWarnings(t, `server {
  middleware fn log(req, next) {
    r = next(req)
    print("after")
  }
  middleware fn t2(req, next) {
    var r = next(req)
  }
  middleware fn ok(req, next) {
    r = next(req)
    print("after")
    r
  }
  middleware fn own(req, next) {
    if req.path == "/x" { next(req) } else { { error: "no" } }
  }
  middleware fn retry(req, next) {
    var n = 0
    loop {
      r = try { next(req) } catch e { nil }
      if r != nil or n >= 3 { return r }
      n += 1
    }
  }
  middleware fn w(req, next) {
    while true { return next(req) }
  }
  middleware fn pick(req, next) {
    loop {
      for h in ["a", "b"] { if req.headers["x-" + h] != nil { break } }
      return next(req)
    }
  }
  middleware fn until(req, next) {
    loop {
      r = next(req)
      break
    }
  }
  middleware fn retry_inner(req, next) {
    while true {
      inner: for i in [1, 2, 3] {
        if i == 2 { break inner }
      }
      return next(req)
    }
  }
  route GET "/x" => fn() { "hi" }
}
`, []string{
		`4:5: warning: middleware ends with a print, whose value is nil: what a middleware returns is the answer, so every request it sees is answered null; end it with the response, as next(req) returned it`,
		`7:5: warning: middleware ends with a var declaration, whose value is nil: what a middleware returns is the answer, so every request it sees is answered null; end it with the response, as next(req) returned it`,
		`35:5: warning: middleware ends with a loop, whose value is nil: what a middleware returns is the answer, so every request it sees is answered null; end it with the response, as next(req) returned it`,
	})
}

// A handler parameter named as another framework's context (gin's c,
// net/http's w) whose framework methods it calls is warned of: it binds
// a query or body field, nil. One with a type, a path parameter of its
// name, or a text's own methods called on it, is not.
func TestFrameworkHandlerParamsWarned(t *testing.T) {
	expectWarnings(t, `server {
  route GET "/hi" => fn(c) { c.JSON(200, { msg: "hi" }) }
  route GET "/w" => fn(w, r) { w.Write("hi") }
  route GET "/ok" => fn(c: Int) { c }
  route GET "/ok2" => fn(r) { r.upper() }
  route GET "/ok3/:ctx" => fn(ctx) { ctx.json() }
  route GET "/g" => fn(w, r) { { p: r.path } }
  route GET "/ok4" => fn(r) { r.size }
  route POST "/ok5" => fn(c) { c.path }
  route GET "/koa" => fn(ctx) { ctx.body = { a: 1 } }
}
`, []string{
		`2:25: warning: route GET /hi: the parameter c is no request or response context (gin): a handler's parameters bind by name, so c is the query or body field "c", nil without one, and c.JSON(...) fails; take fn(req, res), and answer with the value itself, or respond(code, body)`,
		`3:24: warning: route GET /w: the parameter w is no request or response context (net/http's): a handler's parameters bind by name, so w is the query or body field "w", nil without one, and w.Write(...) fails; take fn(req, res), and answer with the value itself, or respond(code, body)`,
		// (a request's field read of it)
		`7:27: warning: route GET /g: the parameter r is no request or response context (net/http's): a handler's parameters bind by name, so r is the query or body field "r", nil without one, and r.path fails; take fn(req, res), and answer with the value itself, or respond(code, body)`,
		// (Koa's answer set on its context: set on nil)
		`10:26: warning: route GET /koa: the parameter ctx is no request or response context (Koa's or gin's): a handler's parameters bind by name, so ctx is the query or body field "ctx", nil without one, and ctx.body fails; take fn(req, res), and answer with the value itself, or respond(code, body)`,
	})
}

// A builtin compared with nil (Go's if err != nil, err the builtin) is
// warned of: the test is always the same. A declared name is not.
func TestBuiltinComparedWithNilWarned(t *testing.T) {
	expectWarnings(t, `server {
  route GET "/hi" => fn(req) { if (err != nil) { return err }; "ok" }
  route GET "/ok" => fn(req) { err = req.query.e; if err != nil { err } else { "ok" } }
}
`, []string{
		`2:36: warning: err here is the builtin err, which is never nil: this test is always the same (a name not declared before it reads the builtin of that name)`,
	})
}

// Other frameworks' ways of giving a status, which answer 200 with the
// status in the body, are warned of in handlers and middleware: Flask's
// `return body, 201` and `return 404`, an object { status: 401, ... }.
// A list, a status that is no error's in an object, and an object of a
// function that takes res (res.status may set it) are not.
func TestStatusSlipsWarned(t *testing.T) {
	expectWarnings(t, `server {
  middleware fn auth(req, next) {
    if req.headers["authorization"] == nil { return { status: 401, error: "no" } }
    next(req)
  }
  route GET "/a" => fn(req) { return { "msg": "x" }, 201 }
  route GET "/b" => fn(req) { return 404 }
  route GET "/c" => fn(req) { { status: "ok", code: 200 } }
  route GET "/d" => fn(req) { [1, 201] }
  route GET "/f" => fn() { { status: 200 } }
  route GET "/g" => fn(req, res) { res.status(403); { status: 403 } }
  route GET "/h" => fn() { return ("not found", 404) }
  route GET "/i" => fn() { ({ error: "x" }, 400) }
  route GET "/j" => fn() { return 404, { error: "nf" } }
}
`, []string{
		`3:63: warning: a middleware answering an object with status: 401 answers it as JSON with status 200: a status is given with respond(401, { ... }), or res.status(401)`,
		`6:54: warning: a handler answering ` + "`body, 201`" + ` answers the list [body, 201] with status 200: a status is given with respond(201, body), or res.status(201)`,
		`7:38: warning: a handler answering 404 answers the number 404 with status 200: a status is given with respond(404, body), or res.status(404)`,
		// (a tuple, written in parentheses)
		`12:49: warning: a handler answering ` + "`body, 404`" + ` answers the list [body, 404] with status 200: a status is given with respond(404, body), or res.status(404)`,
		`13:45: warning: a handler answering ` + "`body, 400`" + ` answers the list [body, 400] with status 200: a status is given with respond(400, body), or res.status(400)`,
		`14:35: warning: a handler answering ` + "`404, body`" + ` answers the list [404, body] with status 200: a status is given with respond(404, body), or res.status(404)`,
	})
}

// A handler parameter with a number's or a Bool's default and no type
// is warned of: a request's value arrives as text, unconverted
// (?page=2: page + 1 is "21"); a typed one, or one of a String's
// default, is not.
func TestUntypedNumberDefaultsWarned(t *testing.T) {
	expectWarnings(t, `server {
  route GET "/a" => fn(limit: Int = 10, offset = 0, q = "", active = false) { offset }
  route GET "/b" => fn(ratio = -1.5) { ratio }
}
`, []string{
		`2:41: warning: route GET /a: the parameter offset has a default of type Int but no type of its own: a request's value arrives as text ("2"), which is neither converted nor checked; declare it offset: Int = ... to have it converted (a value that is no Int answers 400)`,
		`2:61: warning: route GET /a: the parameter active has a default of type Bool but no type of its own: a request's value arrives as text ("false"), which is neither converted nor checked; declare it active: Bool = ... to have it converted (a value that is no Bool answers 400)`,
		`3:24: warning: route GET /b: the parameter ratio has a default of type Float but no type of its own: a request's value arrives as text ("2.5"), which is neither converted nor checked; declare it ratio: Float = ... to have it converted (a value that is no Float answers 400)`,
	})
}

// A script (no server) is not warned of: no request gives its
// functions values.
func TestInterpolatedSQLOfAScriptNotWarned(t *testing.T) {
	expectWarnings(t, `db { database: ":memory:" }
model User { name: String }
fn report(limit) { db.query("SELECT name FROM users ORDER BY id LIMIT {limit}") }
print(report(5))
`, nil)
}

// A parameter named sql is text its callers write only in a helper: a
// route's handler's, lambda or named function, is the request's.
func TestInterpolatedSQLOfHandlersSQLParameter(t *testing.T) {
	expectWarnings(t, `db { database: ":memory:" }
fn q(sql, args) { db.query("/* app */ " + sql, ...args) }
fn find(sql) { db.query("SELECT 1 AS x WHERE 'a' = '{sql}'") }
fn purge(name) { db.exec("DELETE FROM notes WHERE body = '{name}'") }
server {
  route GET "/d" => fn(sql) db.query("SELECT 1 AS x WHERE 'a' = '{sql}'")
  route GET "/a" => fn(sort_sql) db.query("SELECT 1 AS x ORDER BY {sort_sql}")
  route GET "/f" => find
}
`, []string{
		`3:54: warning: db.query: a value interpolated into SQL text becomes part of the statement, and a request's value there can change what it does (SQL injection): pass it as a parameter, db.query("... WHERE name = $1", name)`,
		// (exec takes no parameters: run does)
		`4:60: warning: db.exec: a value interpolated into SQL text becomes part of the statement, and a request's value there can change what it does (SQL injection): pass it as a parameter, db.run("... WHERE name = $1", name)`,
		`6:67: warning: db.query: a value interpolated into SQL text becomes part of the statement, and a request's value there can change what it does (SQL injection): pass it as a parameter, db.query("... WHERE name = $1", name)`,
		`7:68: warning: db.query: a value interpolated into SQL text becomes part of the statement, and a request's value there can change what it does (SQL injection): pass it as a parameter, db.query("... WHERE name = $1", name)`,
	})
}

// A comment of a number alone after an operand (Python's n // 2) is
// warned of; one of words, on a line of its own, or after a call, a
// text or a list (a document's expected output, print(x)  // 7), is
// not.
func TestFloorDivisionCommentWarned(t *testing.T) {
	expectWarnings(t, `n = 7
half = n // 2
x = 5 // five
y = 3 // 3 retries
// 2
z = (n) // 2.5 )
print(half, x, y, z)  // 7
version = "1.2" // 1.2
items = [1, 2, 3] // 3
`, []string{
		`2:10: warning: // begins a comment here, to the end of the line: Python's floor division a // b is floor(a / b)`,
		`6:9: warning: // begins a comment here, to the end of the line: Python's floor division a // b is floor(a / b)`,
	})
}

// An untyped path parameter compared with a number, or with a field the
// program gives Int values (todos' id: 1), is warned of: it is the
// path's text, which equals no number; a typed one, one compared with
// text, or with a field of text ids (a UUID's, a slug's), is not.
func TestTextPathParamComparedToNumberWarned(t *testing.T) {
	expectWarnings(t, `var todos = [{ id: 1, title: "a" }]
server {
  route GET "/todos/:id" => fn(id) { todos.find(fn(t) t.id == id) }
  route GET "/p/:n" => fn(n) { if n != 0 { "x" } else { "y" } }
  route GET "/s/:slug" => fn(slug) { todos.find(fn(t) t.title == slug) }
  route GET "/i/:id" => fn(id: Int) { todos.find(fn(t) t.id == id) }
  route GET "/org/:org" => fn(org) { [{ org_id: "acme" }].filter(fn(u) u.org_id == org) }
  var next_id = 1
  var notes = []
  route POST "/notes" => fn() { notes.push({ note_id: next_id }); next_id += 1 }
  route GET "/notes/:n" => fn(n) { notes.find(fn(x) x.note_id == n) }
  var code = 0
  var invites = []
  route POST "/invite" => fn() { code = uuid(); invites.push({ code: code }) }
  route GET "/invite/:c" => fn(c) { invites.find(fn(i) i.code == c) }
}
`, []string{
		`3:60: warning: route GET /todos/:id: the path parameter id is text ("1" for /1), and == never converts: it equals no number; declare it id: Int to have it converted (a path that is no Int answers 400)`,
		`4:37: warning: route GET /p/:n: the path parameter n is text ("1" for /1), and == never converts: it equals no number; declare it n: Int to have it converted (a path that is no Int answers 400)`,
		// (ids given from a var counting from 1)
		`11:63: warning: route GET /notes/:n: the path parameter n is text ("1" for /1), and == never converts: it equals no number; declare it n: Int to have it converted (a path that is no Int answers 400)`,
	})
}

// A hook or guard of the (req, res) shape answering an object, a text
// or a list, which lets the request through where it was written to
// refuse it, is warned of; one answering a response, or using res
// (res.status(401) refuses), is not.
func TestIgnoredGuardAnswersWarned(t *testing.T) {
	expectWarnings(t, `server {
  middleware fn require_key(req, res) {
    if req.headers["x-api-key"] != "secret" { return { error: "unauthorized" } }
  }
  fn admin_only(req, res) { if req.user == nil { return { status: 401, error: "unauthorized" } } }
  fn ok_guard(req, res) { if req.user == nil { return false } }
  fn tail_guard(req, res) { if req.user == nil { "nope" } else { nil } }
  fn status_guard(req, res) { if req.user == nil { res.status(401); return { error: "no" } } }
  route GET "/a" with admin_only => fn() "a"
  route GET "/b" with ok_guard, tail_guard, status_guard => fn() "b"
}
`, []string{
		`3:54: warning: the middleware answers an object here, which refuses nothing: of the (req, res) shape, it stops the request only with a response, return respond(401, { error: "unauthorized" }) (a guard also with false, Err(...) or None: 403), and any other value lets the request through to the handler`,
		`5:57: warning: the guard admin_only answers an object here, which refuses nothing: of the (req, res) shape, it stops the request only with a response, return respond(401, { error: "unauthorized" }) (a guard also with false, Err(...) or None: 403), and any other value lets the request through to the handler`,
		`7:50: warning: the guard tail_guard answers a text here, which refuses nothing: of the (req, res) shape, it stops the request only with a response, return respond(401, { error: "unauthorized" }) (a guard also with false, Err(...) or None: 403), and any other value lets the request through to the handler`,
	})
}

// Other languages' templates are warned of where they do something else
// silently: {{name}} interpolates an object, and printf's %s and %d in
// fmt's format (or "...".format) leave the arguments out. A $ or # before
// an interpolation (a price, an id) and a % elsewhere are not.
func TestForeignTemplatesWarned(t *testing.T) {
	expectWarnings(t, `name = "x"
a = "hello {{name}}"
b = fmt("%s-%d", "a", 1)
c = "total: %d".format(5)
d = fmt("{}%", 5)
e = "100%"
f = "{name}#{name} \${name}"
print(a, b, c, d, e, f)
`, []string{
		`2:13: warning: {{name}} in a string interpolates an object, { name: ... }: a value is interpolated with single braces, {name} (a literal brace is written \{)`,
		`3:9: warning: "%s-%d" has no {} for its arguments, which are left out: fmt's placeholders are {} ('{:d}', '{:.2f}' in single quotes, where { is no interpolation), not %s or %d: fmt('{}-{}', a, b), or "{a}-{b}"`,
		`4:5: warning: "total: %d" has no {} for its arguments, which are left out: fmt's placeholders are {} ('{:d}', '{:.2f}' in single quotes, where { is no interpolation), not %s or %d: fmt('{}-{}', a, b), or "{a}-{b}"`,
	})
}

// A value of the function's own interpolated into the SQL text of
// db.query, get, run or exec is warned of (a request's value there is
// SQL injection); a module's constant, a number parameter and $1
// parameters are not.
func TestInterpolatedSQLWarned(t *testing.T) {
	expectWarnings(t, `TABLE = "users"
db { database: ":memory:" }
model User { name: String }
server {
  route GET "/u" => fn(req) { db.query("SELECT * FROM users WHERE name = '{req.query.name}'") }
  route GET "/t" => fn() { db.query("SELECT * FROM {TABLE}") }
  route GET "/p" => fn(name: String) { db.query("SELECT * FROM users WHERE name = $1", name) }
  route GET "/n" => fn(n: Int) { db.get("SELECT * FROM users LIMIT {n}") }
  route POST "/d" => fn(name) { db.run("DELETE FROM users WHERE name = '{name}'") }
  route GET "/o" => fn(name) { [1].map(fn(_) db.query("SELECT '{name}' AS x")) }
  route GET "/tx" => fn(name) { db.transaction(fn(tx) { tx.query("SELECT '{name}' AS x") }) }
  route GET "/q" => fn(req) { q = req.query.q
    db.query("SELECT * FROM users WHERE name LIKE '%{q}%'") }
  route GET "/ok1" => fn(desc: Bool) { order = if desc { "DESC" } else { "ASC" }
    db.query("SELECT * FROM {TABLE} ORDER BY id {order}") }
  route GET "/ok2" => fn() { n = 5
    db.query("SELECT * FROM users LIMIT {n}") }
  route GET "/ok3" => fn(sort) { order = if sort == "desc" { "DESC" } else { "ASC" }
    db.query("SELECT * FROM users ORDER BY id {order}") }
  route GET "/a" => fn(name) { who = name or "alice"
    db.query("SELECT name FROM users WHERE name = '{who}'") }
  route GET "/b" => fn(names) { for n in names { db.run("DELETE FROM users WHERE name = '{n}'") } }
  route POST "/c" => fn(req) { { name } = req.body
    db.query("SELECT * FROM users WHERE name = '{name}'") }
  route GET "/f" => fn(name) { sql = "SELECT * FROM users WHERE name = '{name}'"
    db.query(sql) }
  route GET "/g" => fn(name) { db.query("SELECT * FROM users WHERE name = '" + name + "'") }
  route GET "/h" => fn(name) { db.transaction(fn(t) { t.query("SELECT '{name}' AS x") }) }
  route GET "/ok4" => fn(req) { n = req.query.n |> to_int()
    db.query("SELECT * FROM users LIMIT {n}") }
}
`, []string{
		`5:86: warning: db.query: a value interpolated into SQL text becomes part of the statement, and a request's value there can change what it does (SQL injection): pass it as a parameter, db.query("... WHERE name = $1", name)`,
		`9:74: warning: db.run: a value interpolated into SQL text becomes part of the statement, and a request's value there can change what it does (SQL injection): pass it as a parameter, db.run("... WHERE name = $1", name)`,
		// (a captured parameter, a transaction's handle, a local of a parameter)
		`10:65: warning: db.query: a value interpolated into SQL text becomes part of the statement, and a request's value there can change what it does (SQL injection): pass it as a parameter, db.query("... WHERE name = $1", name)`,
		`11:76: warning: tx.query: a value interpolated into SQL text becomes part of the statement, and a request's value there can change what it does (SQL injection): pass it as a parameter, tx.query("... WHERE name = $1", name)`,
		`13:54: warning: db.query: a value interpolated into SQL text becomes part of the statement, and a request's value there can change what it does (SQL injection): pass it as a parameter, db.query("... WHERE name = $1", name)`,
		// (an operand of or, a loop's element, a destructured field, SQL
		// put in a local first, joined with +, a transaction's handle of
		// any name)
		`21:53: warning: db.query: a value interpolated into SQL text becomes part of the statement, and a request's value there can change what it does (SQL injection): pass it as a parameter, db.query("... WHERE name = $1", name)`,
		`22:91: warning: db.run: a value interpolated into SQL text becomes part of the statement, and a request's value there can change what it does (SQL injection): pass it as a parameter, db.run("... WHERE name = $1", name)`,
		`24:50: warning: db.query: a value interpolated into SQL text becomes part of the statement, and a request's value there can change what it does (SQL injection): pass it as a parameter, db.query("... WHERE name = $1", name)`,
		`26:14: warning: db.query: a value interpolated into SQL text becomes part of the statement, and a request's value there can change what it does (SQL injection): pass it as a parameter, db.query("... WHERE name = $1", name)`,
		`27:80: warning: db.query: a value interpolated into SQL text becomes part of the statement, and a request's value there can change what it does (SQL injection): pass it as a parameter, db.query("... WHERE name = $1", name)`,
		`28:73: warning: t.query: a value interpolated into SQL text becomes part of the statement, and a request's value there can change what it does (SQL injection): pass it as a parameter, t.query("... WHERE name = $1", name)`,
	})
}

// The SQL warning follows text through fmt, a joined list a value was
// pushed to and a text method, and leaves out what is a number or one
// of the program's own values: arithmetic, a length, Int? parameters,
// placeholders made per element, a column found in an allow-list, a
// helper's sql parameter, a local named conn that is no database.
func TestInterpolatedSQLFollowsTextNotNumbers(t *testing.T) {
	expectWarnings(t, `ALLOWED = ["name", "id"]
db { database: ":memory:" }
model Item { name: String }
server {
  route GET "/f1" => fn(name) { db.query(fmt('SELECT * FROM items WHERE name = \'{}\'', name)) }
  route GET "/f2" => fn(name) { sql = fmt('SELECT * FROM items WHERE name = \'{}\'', name)
    db.query(sql) }
  route GET "/f3" => fn(name) { parts = ["SELECT * FROM items WHERE name = '", name, "'"]
    db.query(join(parts, "")) }
  route GET "/f4" => fn(name) { var w = []
    w.push("name = '{name}'")
    db.query("SELECT * FROM items WHERE " + join(w, " AND ")) }
  route GET "/f5" => fn(name) { db.query("SELECT * FROM items WHERE name = '{name}'".trim()) }
  route GET "/f6" => fn(ids) { db.query("SELECT * FROM items WHERE id IN ({ids |> join(",")})") }
  route GET "/ok1" => fn(ids) { list = split(ids ?? "", ",") |> map(fn(x) to_int(x))
    marks = range(1, len(list) + 1) |> map(fn(i) "\${i}") |> join(",")
    db.query("SELECT * FROM items WHERE id IN ({marks})", ...list) }
  route GET "/ok2" => fn(ids) { ph = ids |> map(fn(_) "?") |> join(", ")
    db.query("SELECT * FROM items WHERE id IN ({ph})") }
  route GET "/ok3" => fn(page: Int, per: Int) { offset = (page - 1) * per
    db.query("SELECT * FROM items LIMIT {per} OFFSET {offset}") }
  route GET "/ok4" => fn(p) { n = p.length
    db.query("SELECT * FROM items LIMIT {n} OFFSET {str(to_int(p))}") }
  route GET "/ok5" => fn(limit: Int? = nil) { n = limit ?? 10
    db.query("SELECT * FROM items LIMIT {n}") }
  route GET "/ok6" => fn(sort) { col = if ALLOWED.contains(sort) { sort } else { "id" }
    db.query("SELECT * FROM items ORDER BY {col}") }
  route GET "/ok7" => fn(sort) { col = if sort in ["name", "id"] { sort } else { "id" }
    db.query("SELECT * FROM items ORDER BY {col}") }
  route GET "/no" => fn(sort) { col = if OTHER.contains(sort) { sort } else { "id" }
    db.query("SELECT * FROM items ORDER BY {col}") }
  route GET "/ok8" => fn(ids: [String]) { ph = ids |> map(fn(_, i) "\${i + 1}") |> join(", ")
    db.query("SELECT * FROM items WHERE id IN ({ph})", ...ids) }
  route GET "/f7" => fn(req) { vals = req.query |> map(fn(k, v) "'{v}'") |> join(",")
    db.query("SELECT * FROM items WHERE name IN ({vals})") }
  route GET "/ok9" => fn(name: String) { args = [name]
    conds = ["name = $" + to_string(len(args))]
    db.query("SELECT * FROM items WHERE {conds |> join(" AND ")}", ...args) }
}
var OTHER = []
fn q(sql, args) { db.query("/* app */ " + sql, ...args) }
fn lookup(id) {
  conn = collections.OrderedDict()
  conn.get("user:{id}")
}
`, []string{
		`5:89: warning: db.query: a value interpolated into SQL text becomes part of the statement, and a request's value there can change what it does (SQL injection): pass it as a parameter, db.query("... WHERE name = $1", name)`,
		`7:14: warning: db.query: a value interpolated into SQL text becomes part of the statement, and a request's value there can change what it does (SQL injection): pass it as a parameter, db.query("... WHERE name = $1", name)`,
		`9:19: warning: db.query: a value interpolated into SQL text becomes part of the statement, and a request's value there can change what it does (SQL injection): pass it as a parameter, db.query("... WHERE name = $1", name)`,
		`12:49: warning: db.query: a value interpolated into SQL text becomes part of the statement, and a request's value there can change what it does (SQL injection): pass it as a parameter, db.query("... WHERE name = $1", name)`,
		`13:78: warning: db.query: a value interpolated into SQL text becomes part of the statement, and a request's value there can change what it does (SQL injection): pass it as a parameter, db.query("... WHERE name = $1", name)`,
		`14:80: warning: db.query: a value interpolated into SQL text becomes part of the statement, and a request's value there can change what it does (SQL injection): pass it as a parameter, db.query("... WHERE name = $1", name)`,
		`31:45: warning: db.query: a value interpolated into SQL text becomes part of the statement, and a request's value there can change what it does (SQL injection): pass it as a parameter, db.query("... WHERE name = $1", name)`,
		// (an object's map gives its values: a query's, here)
		`35:51: warning: db.query: a value interpolated into SQL text becomes part of the statement, and a request's value there can change what it does (SQL injection): pass it as a parameter, db.query("... WHERE name = $1", name)`,
	})
}

// A guard of the (req, next) shape is a route's own middleware: ending
// with no value after calling next, it answers null, and is warned of
// once, at its end, however many routes it guards. A (req, res) guard,
// and a (req, next) one ending with the response, are not.
func TestGuardOfNextShapeEndingWithoutValueWarned(t *testing.T) {
	expectWarnings(t, `server {
  fn logit(req, next) {
    r = next(req)
    print("after")
  }
  fn ok(req, next) {
    r = next(req)
    print("after")
    r
  }
  fn check(req, res) {
    x = 1
  }
  route GET "/x" with logit => fn() "x"
  route GET "/x2" with logit => fn() "x"
  route GET "/y" with ok => fn() "y"
  route GET "/c" with check => fn() "c"
  route GET "/z" with fn(req, next) { next(req); x = 1 } => fn() "z"
}
`, []string{
		`4:5: warning: the guard logit ends with a print, whose value is nil: what a middleware returns is the answer, so every request it sees is answered null; end it with the response, as next(req) returned it`,
		`18:50: warning: the guard ends with an assignment, whose value is nil: what a middleware returns is the answer, so every request it sees is answered null; end it with the response, as next(req) returned it`,
	})
}

// On a route with body: T, a parameter named body reads the checked
// record's field "body": of a T without one it is always nil (fn(body)
// { body } answered null), which is warned of; of a T with one it is
// that field, and not warned of.
func TestBodyParameterOfCheckedBodyWarned(t *testing.T) {
	expectWarnings(t, `type User { name: String, age: Int }
type Post { title: String, body: String }
server {
  route POST "/b" body: User => fn(body) { body }
  route POST "/o" body: User? => fn(req, body: User) { body }
  route POST "/p" body: Post => fn(body) { body }
  route POST "/q" body: User => fn(req) { req.body }
}
`, []string{
		`4:36: warning: route POST /b: the parameter body reads the checked body's field "body" (parameters bind by name), which a User has not: it is always nil; take req and read req.body, the checked User`,
		`5:42: warning: route POST /o: the parameter body reads the checked body's field "body" (parameters bind by name), which a User has not: it is always nil; take req and read req.body, the checked User`,
	})
}

// A data block's pipeline reading a var is warned of: it is computed
// when its sources load or refresh (Decision 19), never when the var
// changes. One reading a plain binding is not.
func TestPipelineReadingVarWarned(t *testing.T) {
	expectWarnings(t, `var min_id = 0
limit = 2
data {
  source rows = [{ id: 1 }, { id: 2 }, { id: 3 }]
  pipeline filtered = rows |> where(.id > min_id)
  pipeline few = rows |> take(limit)
}
var cap = 1
data {
  source more = [{ id: 1 }]
  pipeline capped = more |> take(cap)
  pipeline own = more |> map(fn(r) { var k = r.id; k += 1; k })
}
server {
  route GET "/" => fn() capped
}
`, []string{
		"5:43: warning: pipeline filtered reads min_id, a var: it is computed when its sources load or refresh, not when min_id changes; filter by it in the function that reads filtered instead",
		// read by the pipeline itself, not a lambda: it went unsaid
		"11:34: warning: pipeline capped reads cap, a var: it is computed when its sources load or refresh, not when cap changes; filter by it in the function that reads capped instead",
	})
}

// A field created_at or updated_at of another type than Date beside
// timestamps: true is a compile error: the store made it a Date, and a
// filter of the declared type failed ("field created_at is Date").
func TestModelTimestampFieldType(t *testing.T) {
	_, err := CompileFile("m.tova", []byte(`db { database: ":memory:" }
model P { created_at: String, title: String, timestamps: true }
model Q { created_at: Date, title: String, timestamps: true }
model R { updated_at: Int }
`))
	want := "m.tova:2:11: model P: created_at is the Date timestamps: true sets on each row: declare it a Date, or leave it out"
	if err == nil || !strings.Contains(err.Error(), want) || strings.Count(err.Error(), "timestamps: true sets") != 1 {
		t.Errorf("got %v, want %s", err, want)
	}
}

// A cron schedule may take the reference's fn after the guide's cron
// (schedule "cleanup" cron("…") fn() { … }): it said "expected '{'".
func TestScheduleCronWithFn(t *testing.T) {
	p, err := CompileFile("s.tova", []byte(`server {
  schedule "cleanup" cron("0 * * * *") fn() { print("x") }
  schedule "tidy" cron("30 * * * *") fn tidy_up() { print("y") }
}
`))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range p.Servers[0].Hooks {
		if h.Kind == "schedule" {
			got = append(got, h.Name+" "+h.Arg)
		}
	}
	if want := []string{"cleanup 0 * * * *", "tidy 30 * * * *"}; !slices.Equal(got, want) {
		t.Errorf("schedules %q, want %q", got, want)
	}
}

// A literal its annotation does not take is warned of, on a binding or
// as what a function returns (gradual typing, as the reference's
// analyzer does): x: Int = "hello" compiled and ran without a word.
func TestAnnotationLiteralMismatchWarns(t *testing.T) {
	expectWarnings(t, `x: Int = "hello"
var y: Float = 2
z: Bool = 1
w: Int = 1.0
fn f() -> Int { "s" }
fn g(n) -> String {
  if n > 1 { return 5 }
  h = fn() 3
  "ok"
}
fn k() -> Int { 4 }
fn b() -> Bool { if true { 1 } else { false } }
fn m() -> Int { match 1 { 1 => "a", _ => 2 } }
o: String? = 5
print(x, y, z, w, f(), g(0), k(), b(), m(), o)
l1: [Int] = "no"
l2: [String] = [1, 2]
l3: [Float] = [1, 2.5]
l4: [Int] = []
r1: Result<Int, String> = 3
`, []string{
		"1:10: warning: x is annotated Int but given a String: annotations are not checked when the program runs",
		"3:11: warning: z is annotated Bool but given an Int: annotations are not checked when the program runs",
		"5:17: warning: fn f returns Int, but this is a String: annotations are not checked when the program runs",
		"7:21: warning: fn g returns String, but this is an Int: annotations are not checked when the program runs",
		"12:28: warning: fn b returns Bool, but this is an Int: annotations are not checked when the program runs",
		"13:32: warning: fn m returns Int, but this is a String: annotations are not checked when the program runs",
		"14:14: warning: o is annotated String? but given an Int: annotations are not checked when the program runs",
		// (a list's elements, and a Result's literal)
		"16:13: warning: l1 is annotated [Int] but given a String: annotations are not checked when the program runs",
		"17:16: warning: l2 is annotated [String] but given a List holding an Int: annotations are not checked when the program runs",
		"20:27: warning: r1 is annotated Result<Int, String> but given an Int: annotations are not checked when the program runs",
	})
}

// A handler parameter's literal default that its annotation does not
// take is refused where it is written (a Duration's default 5000 was
// the Int 5000 when the request left it out, and comparing it with a
// Duration failed the request with 500); an Option's plain default is
// warned of (the handler gets it unwrapped).
func TestHandlerParamDefaultsMatchTheirTypes(t *testing.T) {
	_, err := CompileFile("d.tova", []byte(`server {
  fn a(d: Duration = 5000, n: Int = "x", q: Int = -1.5, r: Size = 10, t: Bool = 1) { d }
  route GET "/a" => a
}
`))
	want := []string{
		`d.tova:2:22: the default of d: Duration is an Int, not a Duration: write it with its unit (5.seconds, 500.milliseconds)`,
		`d.tova:2:37: the default of n: Int is a String, not an Int`,
		`d.tova:2:51: the default of q: Int is a Float, not an Int`,
		`d.tova:2:67: the default of r: Size is an Int, not a Size: write it with its unit (1.megabyte, 512.kilobytes)`,
		`d.tova:2:81: the default of t: Bool is an Int, not a Bool`,
	}
	if err == nil {
		t.Fatal("compiled")
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("missing %q in:\n%v", w, err)
		}
	}
	// A Date's, a list's and a negative Size's too (each was a 500 for
	// every request leaving the parameter out), and a model's negative
	// Size default (each create failed).
	_, err = CompileFile("e.tova", []byte(`db { database: ":memory:" }
model Job { s: Size = -1.megabyte }
server {
  route GET "/a" => fn(since: Date = "2024-01-01", xs: [Int] = "x", s: Size = -1.megabyte, d: Date = 5) since
  route GET "/ok" => fn(xs: [Int] = [1], d: Date = Date.new("2024-01-01"), s: Size = 1.megabyte, o: Date? = None) xs
  route GET "/o" => fn(a: Date? = Some("2024-01-01"), b: Option<Date> = "2024-01-01") a
}
`))
	want = []string{
		`e.tova:2:23: model Job: the default of s is a negative Size: a Size is never negative`,
		`e.tova:4:38: the default of since: Date is a String, not a Date: write Date.new("2024-01-01")`,
		`e.tova:4:64: the default of xs: [Int] is a String, not a list`,
		`e.tova:4:79: the default of s: a Size is never negative`,
		`e.tova:4:102: the default of d: Date is an Int, not a Date`,
		`e.tova:6:39: the default of a: Date? holds a String, not a Date: write Some(Date.new("2024-01-01"))`,
		`e.tova:6:73: the default of b: Option<Date> holds a String, not a Date: write Some(Date.new("2024-01-01"))`,
	}
	if err == nil {
		t.Fatal("compiled")
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("missing %q in:\n%v", w, err)
		}
	}
	if n := strings.Count(err.Error(), "\ne.tova:") + 1; n != len(want) {
		t.Errorf("%d errors, want %d:\n%v", n, len(want), err)
	}
	expectWarnings(t, `server {
  route GET "/b" => fn(g: Int? = 3, p: Float = 1, ok: Int = 2.0, s: String = "fine", dd: Duration = 5.seconds) g
}
`, []string{
		"2:34: warning: the default of g: Int? is 3 as it is, not an Option: a handler gets it unwrapped when the request leaves g out, and Some(value) when it gives it; write Some(3) (or None)",
	})
}

// With an auth block, a guard named auth (or role) that is the
// program's own function is warned of: `with auth` called it, and the
// block's token check never ran, silently.
func TestOwnAuthGuardBesideAuthBlockWarns(t *testing.T) {
	expectWarnings(t, `server {
  auth { secret: env("AUTH_SECRET") }
  fn auth(req, res) { true }
  route GET "/me" with auth => fn(req) req.user
}
`, []string{
		"4:24: warning: route GET /me: with auth calls the program's own auth, not the auth block's check of the token: the route is guarded only as that function checks; give it another name to use the block's",
	})
	// Without an auth block, the program's own guard is the guard.
	expectWarnings(t, `server {
  fn auth(req, res) { req.headers["x-key"] == "k" }
  route GET "/me" with auth => fn(req) "me"
}
`, nil)
}

// A middleware whose second parameter is named resp is the (req, next)
// shape, as any name but res and response makes it: warned of (its
// resp.setHeader failed every request with 500).
func TestMiddlewareRespParameterWarns(t *testing.T) {
	expectWarnings(t, `server {
  middleware fn stamp(req, resp) { resp.setHeader("X-A", "1") }
  route GET "/" => fn() "x"
}
`, []string{
		"2:28: warning: middleware's second parameter resp is next, the rest of the chain, as any name but res and response is: name it res for the (req, res) shape",
	})
	// Called, it is next as meant: no warning.
	expectWarnings(t, `server {
  middleware fn m(req, r) { r(req) }
  middleware fn n(req, rsp) { x = rsp(req)
    x }
  middleware fn p(req, r) { req |> r }
  middleware fn q(req, r) { inner = fn() r(req)
    inner() }
  route GET "/" => fn() "x"
}
`, nil)
}

// A function too large for the control-flow check that loading a
// program runs (a list literal of 600 000 values) is a compile error at
// the function: the program compiled, and was refused at run time as
// an invalid artifact, with no place in the source (exit 1, or 2 from
// compile).
func TestFunctionTooLargeIsACompileError(t *testing.T) {
	src := "x = [" + strings.Repeat("1,", 600000) + "]\nprint(len(x))\n"
	_, err := CompileFile("big.tova", []byte(src))
	var list diag.List
	if !errors.As(err, &list) || len(list) != 1 || !strings.HasPrefix(list[0].Error(), "big.tova:1:1: the program's top level is too large to compile (") {
		t.Fatalf("compile: %v", err)
	}
}

// A function written as a statement, its value dropped, is warned of:
// `health => fn() "ok"` (read as a function of a parameter named health)
// and `fn (x) { ... }` meant as a declaration were taken without a word
// and never ran; one a function returns, or passes, is not.
func TestLambdaStatementWarned(t *testing.T) {
	src := `server {
  health => fn() "ok"
}
fn (x) { x }
fn make() { fn(x) x }
xs = [1].map(fn(x) x)
f = fn() 1
print(make()(2), xs, f())
`
	expectWarnings(t, src, []string{
		`2:3: warning: this is a function of a parameter named health, made and dropped, never called: health is written health "/health" (or a route of its own)`,
		"4:1: warning: this function is made and dropped, never called: declare it with a name (fn name(...) { ... }), or assign it",
	})
	// also as a file's last statement
	expectWarnings(t, "fn() 42\n", []string{
		"1:1: warning: this function is made and dropped, never called: declare it with a name (fn name(...) { ... }), or assign it",
	})
}

// A `...` statement (code not written yet) is warned of: a route whose
// handler was only `...` answered null without a word.
func TestPlaceholderWarned(t *testing.T) {
	expectWarnings(t, "fn f() {\n  ...\n}\nprint(f())\n", []string{
		"2:3: warning: ... stands for code not written yet: it does nothing (a function of only ... returns nil, a route's handler answers null)",
	})
}

// Two habits of other frameworks that compiled silently and answered
// wrongly: a body method's one parameter named as the whole body is
// elsewhere (fn(body), fn(data), fn(user) of a model User) reads the
// body's field of that name, nil (a POST stored nil and answered 201);
// a handler ending by assigning a new local answers null. A parameter
// named as a field, a path parameter, a typed one, a state update and
// a handler with res are left alone.
func TestHandlerHabitsWarned(t *testing.T) {
	expectWarnings(t, `model User { name: String }
server {
  var users = []
  route POST "/users" => fn(user) { users = [...users, user]; user }
  route POST "/b" => fn(body) { { got: body } }
  route POST "/n" => fn(name) { name }
  route PUT "/u/:user" => fn(user) { user }
  route POST "/t" => fn(user: String) { user }
  route GET "/all" => fn() { all_users = User.all() }
  route GET "/state" => fn() { users = User.all() }
  route POST "/r" => fn(res) { res.json({ a: 1 })
    done = true }
}
`, []string{
		`4:29: warning: route POST /users: the parameter user reads the request body's field "user" (parameters bind by name), nil for a body that has none; the whole body is req.body (fn(req)), or checked as a record with ` + "`" + `route POST "/users" body: User => fn(req) ...` + "`",
		`5:25: warning: route POST /b: the parameter body reads the request body's field "body" (parameters bind by name), nil for a body that has none; the whole body is req.body (fn(req)), or checked as a record with ` + "`" + `route POST "/b" body: T => fn(req) ...` + "`",
		`9:30: warning: route GET /all: the handler ends by assigning all_users, whose value is nil: what a handler returns is the answer, so every request is answered null; end it with all_users itself`,
	})
}

// req.params.x and req.query.x are text: compared with a number by == (a
// find that never matched), or given to + (concatenation) or * (text
// repeated), they are warned of, as an untyped path parameter compared
// with a number is; text compared with text is left alone.
func TestRequestTextWithNumberWarned(t *testing.T) {
	expectWarnings(t, `server {
  users = [{ id: 1, name: "a" }]
  route GET "/items" => fn(req) { { offset: req.query.page * 10 } }
  route GET "/users/:id" => fn(req) { users |> find(fn(u) u.id == req.params.id) }
  route GET "/n/:id" => fn(req) { { n: req.params.id + 1 } }
  route GET "/ok/:slug" => fn(req) { { s: req.params.slug + "-x", q: req.query.name == "bob" } }
}
`, []string{
		`3:60: warning: route GET /items: req.query.page is text, as every query parameter is, and * repeats it ("2" * 3 is "222"); take it as a typed parameter, fn(page: Int), to have it converted (text that is no Int answers 400)`,
		`4:64: warning: route GET /users/:id: req.params.id is text, as every path parameter is, and == never converts: it equals no number; take it as a typed parameter, fn(id: Int), to have it converted (text that is no Int answers 400)`,
		`5:54: warning: route GET /n/:id: req.params.id is text, as every path parameter is, and + joins it with the number as text ("7" + 1 is "71"); take it as a typed parameter, fn(id: Int), to have it converted (text that is no Int answers 400)`,
	})
}

// A handler answering JSON.stringify(x) sends the text as a JSON string
// again ("{\"a\":1}"), Express's and Flask's habit: warned of. The text
// used otherwise is not.
func TestHandlerAnsweringJSONTextWarned(t *testing.T) {
	expectWarnings(t, `server {
  route GET "/x" => fn() { JSON.stringify({ a: 1 }) }
  route GET "/y" => fn() json_stringify([1])
  route GET "/z" => fn() { s = JSON.stringify({ a: 1 }); len(s) }
}
`, []string{
		`2:28: warning: route GET /x: the handler answers the JSON text as a String, which is sent as JSON again ("{\"a\":1}"): return the value itself, which is answered as JSON`,
		`3:26: warning: route GET /y: the handler answers the JSON text as a String, which is sent as JSON again ("{\"a\":1}"): return the value itself, which is answered as JSON`,
	})
}
