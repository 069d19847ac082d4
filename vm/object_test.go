package vm

import (
	"context"
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
