package vm

import (
	"context"
	"slices"
	"strconv"
	"testing"
)

// Counting by number, counts[n] = (counts[n] ?? 0) + 1, reads and writes
// an Int key: it allocates nothing once the key exists, as with a
// String key (an Int key was a TypeError).
func TestObjectIntKeyAllocatesNothing(t *testing.T) {
	in := runTova(t, `fn count(o, n) { o[n] = (o[n] ?? 0) + 1 }`)
	th := in.NewThread(context.Background())
	defer th.Release()
	count := in.Globals[0]
	o := NewObject()
	o.Set("-123456789", Int(0))
	o.Set("word", Int(0))
	for _, k := range []Value{Int(-123456789), Str("word")} {
		args := []Value{ObjectValue(o), k}
		call := func() {
			if _, err := th.Call(count, args...); err != nil {
				t.Fatal(err)
			}
		}
		if n := testing.AllocsPerRun(100, call); n != 0 {
			t.Errorf("count(o, %s) allocates %v times, want 0", Repr(k), n)
		}
	}
	if got := Repr(ObjectValue(o)); got != `{ "-123456789": 101, word: 101 }` {
		t.Errorf("counts = %s", got)
	}
}

// Removing keys from a big object oldest first rewrote the slot of every
// later key at each removal (quadratic); the keys left must keep their
// order, and Get, Len, Keys and Values agree, through the holes removal
// leaves and their dropping.
func TestObjectDeleteKeepsOrder(t *testing.T) {
	const n = 1000
	o := NewObject()
	var want []string
	for i := 0; i < n; i++ {
		o.Set(strconv.Itoa(i), Int(int64(i)))
	}
	check := func(step string) {
		t.Helper()
		if o.Len() != len(want) {
			t.Fatalf("%s: Len %d, want %d", step, o.Len(), len(want))
		}
		for _, k := range want {
			if v, ok := o.Get(k); !ok || Repr(v) != k {
				t.Fatalf("%s: Get(%q) = %s, %v", step, k, Repr(v), ok)
			}
		}
		if got := o.Keys(); !slices.Equal(got, want) {
			t.Fatalf("%s: keys %v, want %v", step, got, want)
		}
		for i, v := range o.Values() {
			if Repr(v) != want[i] {
				t.Fatalf("%s: value %d is %s, want %s", step, i, Repr(v), want[i])
			}
		}
	}
	// Every third key, from the front, then the key set again (it goes
	// to the end), then all but the last ten keys, from the front: holes
	// are left, dropped on Keys and dropped once they outnumber the keys.
	for i := 0; i < n; i += 3 {
		o.Delete(strconv.Itoa(i))
	}
	for i := 0; i < n; i++ {
		if i%3 != 0 {
			want = append(want, strconv.Itoa(i))
		}
	}
	check("every third removed")
	o.Delete("1")
	o.Set("1", Int(1))
	want = append(want[1:], "1")
	check("1 set again")
	for _, k := range slices.Clone(want[:len(want)-10]) {
		if !o.Delete(k) {
			t.Fatalf("Delete(%q) found no key", k)
		}
		if o.Delete(k) {
			t.Fatalf("Delete(%q) twice found the key", k)
		}
	}
	want = want[len(want)-10:]
	check("all but ten removed")
	o.Delete(want[0])
	if c := o.Copy(); !slices.Equal(c.Keys(), want[1:]) {
		t.Fatalf("copy has keys %v, want %v", c.Keys(), want[1:])
	}
}
