package vm

import (
	"context"
	"strings"
	"sync"
	"testing"
	"unsafe"
)

// global returns the value of the module binding name.
func global(t *testing.T, in *Instance, name string) Value {
	t.Helper()
	for i, g := range in.Prog.Code.Globals {
		if g == name {
			return in.Globals[i]
		}
	}
	t.Fatalf("no global %s", name)
	return Nil
}

// Appending to a string in a loop copied the whole string at every
// step (quadratic): the appends now reuse one buffer, and the strings
// made on the way, and older prefixes appended to again, keep their
// values.
func TestAppendReusesBuffer(t *testing.T) {
	in := runTova(t, `fn build() {
  var s = ""
  var t = ""
  var i = 0
  while i < 1000 {
    s += "{i % 10}"
    t = "{t}{i % 10}"
    i += 1
  }
  mid = s[0:500]
  a = s + "x"
  b = s + "y"
  c = a ++ "1"
  d = a ++ "2"
  [s, t, mid, a, b, c, d]
}
`)
	th := in.NewThread(context.Background())
	defer th.Release()
	v, err := th.Call(global(t, in, "build"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for i, name := range []string{"s", "t", "mid", "a", "b", "c", "d"} {
		got[name] = v.AsArray().Elems[i].AsString()
	}
	want := strings.Repeat("0123456789", 100)
	for _, c := range []struct{ name, want string }{
		{"s", want}, {"t", want}, {"mid", want[:500]},
		{"a", want + "x"}, {"b", want + "y"}, {"c", want + "x1"}, {"d", want + "x2"},
	} {
		if g := got[c.name]; g != c.want {
			t.Errorf("%s = ...%q (%d bytes), want ...%q (%d bytes)", c.name, g[max(0, len(g)-5):], len(g), c.want[len(c.want)-5:], len(c.want))
		}
	}
	// a and then c were made in s's buffer; b and d, whose left operands
	// were no longer the longest string over it, are copies.
	data := func(name string) *byte { return unsafe.StringData(got[name]) }
	if data("a") != data("s") || data("c") != data("s") {
		t.Error("a and c were not appended in s's buffer")
	}
	if data("b") == data("s") || data("d") == data("s") {
		t.Error("b or d shares s's buffer")
	}
}

// A string one thread built by appending is shared (a server's module
// state): other threads appending to it copy it, and the thread that
// made it appends past its end, so every thread sees the same value.
func TestAppendSharedAcrossThreads(t *testing.T) {
	p := compileTova(t, `var state = ""
fn grow(n) {
  var i = 0
  while i < n {
    state += "-"
    i += 1
  }
}
fn extend(c) {
  var mine = state
  var i = 0
  while i < 300 {
    mine += c
    i += 1
  }
  mine
}
grow(300)
`)
	prog, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	in := prog.NewInstance(Config{})
	owner := in.NewThread(context.Background())
	defer owner.Release()
	if _, err := owner.RunMain(); err != nil {
		t.Fatal(err)
	}
	base := global(t, in, "state").AsString()
	extend := global(t, in, "extend")
	var wg sync.WaitGroup
	results := make([]string, 4)
	for g := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			th := owner
			if g > 0 {
				th = in.NewThread(context.Background())
				defer th.Release()
			}
			v, err := th.Call(extend, Str(string(rune('a'+g))))
			if err != nil {
				t.Error(err)
				return
			}
			results[g] = v.AsString()
		}()
	}
	wg.Wait()
	for g, r := range results {
		if want := base + strings.Repeat(string(rune('a'+g)), 300); r != want {
			t.Errorf("thread %d built %q..., want %q...", g, r[295:305], want[295:305])
		}
	}
	if got := global(t, in, "state").AsString(); got != strings.Repeat("-", 300) {
		t.Errorf("state changed to %q", got)
	}
}
