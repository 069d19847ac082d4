package bytecode_test

import (
	"fmt"
	"strings"
	"testing"

	"tova/bytecode"
	"tova/driver"
)

// A function that needs more registers than an instruction can name is
// a compile error with a position and a way out, also for top-level code.
func TestTooManyRegistersHasAPosition(t *testing.T) {
	var b strings.Builder
	for i := range bytecode.MaxA + 10 {
		fmt.Fprintf(&b, "x%d = %d\n", i, i)
	}
	_, err := driver.CompileFile("app.tova", []byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "1:1: function main needs too many registers") || !strings.Contains(err.Error(), "split it into smaller functions") {
		t.Fatalf("err = %v", err)
	}
}

// In a program with servers, a statement is one step (ATOMIC) when it
// may write server state after reading it: a write rooted at a module
// slot; a field or element write that reads what it writes or reads
// module state (the value may be state through another name); an
// in-place sort with a key function. A write that reads neither (a
// record being built) is not, nor is anything in a program without
// servers.
func TestWhichStatementsAreAtomic(t *testing.T) {
	for _, c := range []struct {
		stmt   string
		atomic bool
	}{
		{"count += 1", true},
		{"stats.hits = stats.hits + work()", true},
		{"o.hits = o.hits + work()", true},
		{"o.hits += work()", true},
		{"o[k] = (o[k] ?? 0) + 1", true},
		{"o.list = [...o.list, 1]", true},
		{"o.x = stats.x + 1", true},
		{"o.x.y = o.x.y + 1", true},
		{"o.sort(fn(x) x)", true},
		{"sort(o, fn(x) x)", true},
		{"todos.push(1)", true},
		{"push(todos, work())", true},
		{"todos |> push(work())", true},
		{"r = push(todos, work())", true},
		{"r = todos.push(work())", true},
		{"add(todos, work())", true},
		{"print(todos)", false},
		{"get = fn() stats.x\n o.x = get() + 1", true},
		{"append(todos, 1)", true},
		// a return's, a throw's, a var's value too
		{"return push(todos, work())", true},
		{"return todos.push(work())", true},
		{"return todos |> push(work())", true},
		{"return { n: len(push(todos, work())) }", true},
		{"return add(todos, work())", true},
		{"guard k else { return push(todos, work()) }\n 1", true},
		{"throw push(todos, work())", true},
		{"var n = len(todos.push(work()))\n n", true},
		{"return work()", false},
		{"var n = work()\n n", false},
		{"unshift(todos, work())", true},
		// a field written with what a function reads of server state
		{"o.x = cur() + 1", true},
		{"o.x = cur2() + 1", true},
		// destructuring: any name or place it assigns counts
		{"[count, z] = [count + work(), k]", true},
		{"{ count, x } = { count: count + 1, x: 2 }", true},
		{"[a, ...todos] = [1, ...todos]", true},
		{"[a, b] = [work(), 2]", false},
		{"o.x = work()", false},
		{"o.x = k", false},
		{"o.push(work())", false},
		{"o.sort()", false},
		{"print(o)", false},
	} {
		src := fmt.Sprintf(`fn work() { 1 }
server {
  var count = 0
  var todos = []
  stats = { hits: 0, x: 1 }
  fn cur() { stats.x }
  fn cur2() { work() + cur() }
  fn add(l, x) { push(l, x) }
  fn h(o, k) { %s }
  route GET "/" => fn() { h({ hits: 0, list: [], x: { y: 1 } }, "k") }
}`, c.stmt)
		if got := hasAtomic(t, src, "h"); got != c.atomic {
			t.Errorf("%s: atomic %v, want %v", c.stmt, got, c.atomic)
		}
		// A program without servers has no concurrent requests.
		plain := fmt.Sprintf("fn work() { 1 }\nstats = { hits: 0, x: 1 }\nfn cur() { stats.x }\nfn cur2() { work() + cur() }\nfn add(l, x) { push(l, x) }\nfn h(o, k) { %s }\n", c.stmt)
		if strings.Contains(c.stmt, "count") || strings.Contains(c.stmt, "todos") || strings.Contains(c.stmt, "stats.") {
			continue // module state there too: its own rule
		}
		if hasAtomic(t, plain, "h") {
			t.Errorf("%s, without servers: atomic", c.stmt)
		}
	}
}

// hasAtomic compiles src and reports whether function name holds ATOMIC.
func hasAtomic(t *testing.T, src, name string) bool {
	t.Helper()
	p, err := driver.CompileFile("app.tova", []byte(src))
	if err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	found := false
	for _, f := range p.Funcs {
		if f.Name != name {
			continue
		}
		found = true
		for _, in := range f.Code {
			if in.Op() == bytecode.ATOMIC {
				return true
			}
		}
	}
	if !found {
		t.Fatalf("no function %s", name)
	}
	return false
}

// A route path the router would refuse is reported at the path string,
// not at the route keyword before it.
func TestRoutePathErrorIsAtThePath(t *testing.T) {
	_, err := driver.CompileFile("app.tova", []byte("server {\n  route GET \"a\" => fn() 1\n}\n"))
	if err == nil || !strings.Contains(err.Error(), "app.tova:2:13: route GET \"a\": a route path must start with '/'") {
		t.Fatalf("err = %v", err)
	}
}

// A program's one server without `port` takes its port from the
// program's `env PORT: Int = N` (the guide's form): it listened on 3000
// whatever the default said. A server with `port`, a second server, or
// a PORT of another type, does not.
func TestEnvPortIsTheLoneServersPort(t *testing.T) {
	for _, c := range []struct {
		src  string
		port []bool // per server: a port given
	}{
		{"env PORT: Int = 8080\nserver {\n  route GET \"/\" => fn() 1\n}\n", []bool{true}},
		{"env PORT: Option<Int> = None\nserver {\n  route GET \"/\" => fn() 1\n}\n", []bool{true}},
		{"env PORT: String = \"8080\"\nserver {\n  route GET \"/\" => fn() 1\n}\n", []bool{false}},
		{"server {\n  route GET \"/\" => fn() 1\n}\n", []bool{false}},
		// routes alone, one unnamed server (the guide's health check's form)
		{"env PORT: Int = 8080\nroute GET \"/\" => fn() 1\n", []bool{true}},
		{"env PORT: Int = 8080\nserver \"a\" {\n  route GET \"/\" => fn() 1\n}\nserver \"b\" {\n  route GET \"/\" => fn() 2\n}\n", []bool{false, false}},
	} {
		p, err := driver.CompileFile("app.tova", []byte(c.src))
		if err != nil {
			t.Fatalf("%s: %v", c.src, err)
		}
		for i, s := range p.Servers {
			if got := s.Port >= 0; got != c.port[i] || got && s.PortPos.Line != 1 {
				t.Errorf("%s: server %d's port slot %d at %v", c.src, i, s.Port, s.PortPos)
			}
		}
	}
}
