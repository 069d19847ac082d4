package vmbench

import (
	"fmt"
	"testing"
)

// Keys removed from a big object oldest first, as a cache or a table of
// pending requests is evicted: remove on an object, delete on an
// OrderedDict, and a JSON.parse reviver dropping every key. Each removal
// should cost about the same wherever the key is (each shifted every
// later key down: 2000 removals from 100 000 keys took a minute).
// Run: go test -run '^$' -bench RemoveOldest -benchtime 3x ./bench/vmbench
func BenchmarkRemoveOldest(b *testing.B) {
	const n = 20000
	for _, c := range []struct{ name, src string }{
		{"remove", `var o = {}
for i in 0..%[1]d { o["k{i}"] = i }
for i in 0..%[2]d { remove(o, "k{i}") }
print(len(o))`},
		{"OrderedDict", `d = collections.OrderedDict()
for i in 0..%[1]d { d.set("k{i}", i) }
for i in 0..%[2]d { d.delete("k{i}") }
print(d.length)`},
		{"reviver", `var o = {}
for i in 0..%[1]d { o["k{i}"] = i }
r = JSON.parse(JSON.stringify(o), fn(k, v) if k == "" or v >= %[2]d { v } else { nil })
print(len(r))`},
	} {
		b.Run(c.name, func(b *testing.B) {
			runProgram(b, c.name+".tova", []byte(fmt.Sprintf(c.src, n, n/2)), fmt.Sprint(n/2)+"\n")
		})
	}
}
