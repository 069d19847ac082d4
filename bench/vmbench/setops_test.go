package vmbench

import (
	"fmt"
	"testing"
)

// The set builtins over rows (lists of objects), beside drop_duplicates,
// which keys rows by their text: each of unique, difference and
// intersection should take time in proportion to the rows, as it does.
// Run: go test -run '^$' -bench SetOps -benchtime 5x ./bench/vmbench
func BenchmarkSetOps(b *testing.B) {
	const n = 20000
	rows := fmt.Sprintf(`rows = range(%d) |> map(fn(i) { id: i %% %d, tags: ["t", i %% 7], at: i * 0.5 })
half = rows |> filter(fn(r) r.id %% 2 == 0)
`, n, n/2)
	for _, c := range []struct{ name, expr, want string }{
		{"unique", "len(unique(rows))", fmt.Sprint(n)},
		{"difference", "len(difference(rows, half))", fmt.Sprint(n / 2)},
		{"intersection", "len(intersection(rows, half))", fmt.Sprint(n / 2)},
		{"drop_duplicates", "len(drop_duplicates(rows))", fmt.Sprint(n)},
	} {
		b.Run(c.name, func(b *testing.B) {
			runProgram(b, c.name+".tova", []byte(rows+"print("+c.expr+")"), c.want+"\n")
		})
	}
}

// A loop over a long string by index (`while i < len(s) { s[i] }`):
// len and indexing of the same text should not count it each time.
// Run: go test -run '^$' -bench StringScan -benchtime 5x ./bench/vmbench
func BenchmarkStringScan(b *testing.B) {
	for _, c := range []struct{ name, text string }{
		{"ascii", `"a" * 200000`},
		{"mixed", `"é" + "a" * 200000`},
	} {
		src := "s = " + c.text + `
var i = 0
var n = 0
while i < len(s) {
  if s[i] == "a" { n += 1 }
  i += 1
}
print(n)`
		want := map[string]string{"ascii": "200000\n", "mixed": "200000\n"}[c.name]
		b.Run(c.name, func(b *testing.B) { runProgram(b, c.name+".tova", []byte(src), want) })
	}
}

// A string walked a character at a time through the builtins that
// name indexing and slicing: char_at, s.at(i) and substr should cost
// what s[i] does (they counted from the start on each call, and .at
// made the whole string a list of characters: 100 000 characters took
// 3.5 to 52 s).
// Run: go test -run '^$' -bench CharWalk -benchtime 3x ./bench/vmbench
func BenchmarkCharWalk(b *testing.B) {
	for _, c := range []struct{ name, text string }{
		{"ascii", `"e" * 100000`},
		{"mixed", `"é" * 100000`},
	} {
		for _, get := range []string{"s[i]", "char_at(s, i)", "s.at(i)", "substr(s, i, i + 1)"} {
			src := "s = " + c.text + `
var n = 0
for i in range(len(s)) {
  if ` + get + ` == s[0] { n += 1 }
}
print(n)`
			b.Run(c.name+"/"+get, func(b *testing.B) { runProgram(b, c.name+".tova", []byte(src), "100000\n") })
		}
	}
}

// A list drained from the front with shift, as a queue: each shift
// should not copy the rest.
// Run: go test -run '^$' -bench Shift -benchtime 5x ./bench/vmbench
func BenchmarkShiftQueue(b *testing.B) {
	src := `var q = range(100000) |> map(fn(i) i)
var n = 0
while len(q) > 0 {
  n += q.shift()
  if n % 7 == 0 { q.push(1) }
}
print(n)`
	runProgram(b, "shift.tova", []byte(src), "4999983333\n")
}

// Keys removed from an object one by one from the last, and clear of a
// large object: each removal should not copy the other keys.
// Run: go test -run '^$' -bench RemoveKeys -benchtime 5x ./bench/vmbench
func BenchmarkRemoveKeys(b *testing.B) {
	src := `var o = {}
for i in range(20000) { o["k{i}"] = i }
for i in range(19999, -1, -1) { remove(o, "k{i}") }
var p = {}
for i in range(20000) { p["k{i}"] = i }
clear(p)
print(len(o) + len(p))`
	runProgram(b, "remove.tova", []byte(src), "0\n")
}

// A string a loop remakes at each step and reads (consumed from the
// front with s = s[1:] while len(s) > 0; appended to and its end read):
// len and the index near either end should not count the new string
// from the start each time (120 000 characters took 22 s, 3.2 s for
// 20 000 appends).
// Run: go test -run '^$' -bench RemadeString -benchtime 3x ./bench/vmbench
func BenchmarkRemadeString(b *testing.B) {
	consume := func(text string) string {
		return `var s = "` + text + `" * 20000
var n = 0
while len(s) > 0 {
  if s[0] == "," { n += 1 }
  s = s[1:]
}
print(n)`
	}
	for _, c := range []struct{ name, src, want string }{
		{"consume-mixed", consume("ab,cé;"), "20000\n"},
		{"consume-ascii", consume("ab,cd;"), "20000\n"},
		{"append-read", `var out = ""
for i in range(20000) {
  out += "é{i};"
  x = out[len(out) - 3:]
}
print(len(out))`, "128890\n"},
	} {
		b.Run(c.name, func(b *testing.B) { runProgram(b, c.name+".tova", []byte(c.src), c.want) })
	}
}
