package vm

import (
	"context"
	"testing"
)

// A function returns a fresh object when each of its returns gives the
// object literal made just before it, which nothing can have seen; one
// that returns an object it passed on or stored, anything else, or that
// may return early through `?`, does not.
func TestReturnsFreshObject(t *testing.T) {
	in := runTova(t, `var kept = []
fn keep(o) { kept.push(o) }
fn literal() { { message: "hi" } }
fn local() {
  o = { a: 1 }
  o
}
fn branches(x) {
  if x { return { a: 1 } }
  { b: 2 }
}
fn passed() {
  o = { a: 1 }
  keep(o)
  o
}
fn param(x) { x }
fn nothing() { nil }
fn list() { [1, 2] }
fn early(r) {
  v = r?
  { v: v }
}
fn maybe(x) { if x { { a: 1 } } else { nil } }`)
	for name, want := range map[string]bool{
		"literal": true, "local": true, "branches": true,
		"passed": false, "param": false, "nothing": false, "list": false, "early": false, "maybe": false,
	} {
		if got := ReturnsFreshObject(global(t, in, name)); got != want {
			t.Errorf("ReturnsFreshObject(%s) = %v, want %v", name, got, want)
		}
	}
	if ReturnsFreshObject(Int(1)) {
		t.Error("an Int returns a fresh object")
	}
}

// A reclaimed object is what the thread's next object literal that fits
// is made in, with only the new keys and values; one that does not fit,
// or a record of a declared type, is made anew.
func TestReclaimedObjectIsReused(t *testing.T) {
	in := runTova(t, `type Point { x: Int, y: Int }
fn two(a) { { first: a, second: a + 1 } }
fn one() { { only: "x" } }
fn five() { { a: 1, b: 2, c: 3, d: 4, e: 5 } }
fn point() { Point(1, 2) }`)
	th := in.NewThread(context.Background())
	defer th.Release()
	call := func(name string, args ...Value) Value {
		t.Helper()
		v, err := th.Call(global(t, in, name), args...)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	a := call("two", Int(1))
	th.Reclaim(a)
	b := call("one")
	if b.AsObject() != a.AsObject() {
		t.Fatal("the next object literal did not reuse the reclaimed object")
	}
	if got := Repr(b); got != `{ only: "x" }` {
		t.Fatalf("the reused object reads %s", got)
	}
	th.Reclaim(b)
	if c := call("five"); c.AsObject() == b.AsObject() || Repr(c) != `{ a: 1, b: 2, c: 3, d: 4, e: 5 }` {
		t.Fatalf("an object of five keys was made in one of room for two: %s", Repr(c))
	}
	if d := call("two", Int(7)); d.AsObject() != b.AsObject() || Repr(d) != `{ first: 7, second: 8 }` {
		t.Fatalf("the object kept for reuse gave %s (reused %v)", Repr(d), d.AsObject() == b.AsObject())
	}
	p := call("point")
	th.Reclaim(p)
	if q := call("one"); q.AsObject() == p.AsObject() {
		t.Fatal("a record of a declared type was reused")
	}
}
