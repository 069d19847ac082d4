package vmbench

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"tova/driver"
	"tova/vm"
)

// The in-process benchmarks: each Tova program beside its native Go
// version. Run: go test -run '^$' -bench . ./bench/vmbench
func BenchmarkPrograms(b *testing.B) {
	for _, name := range Names {
		src, err := Source(name)
		if err != nil {
			b.Fatal(err)
		}
		b.Run("tova/"+name, func(b *testing.B) { runProgram(b, name+".tova", src, Expected[name]) })
		b.Run("native/"+name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if out, _ := Native(name); out != Expected[name] {
					b.Fatalf("native %s printed %q", name, out)
				}
			}
		})
	}
}

// TestProgramsPrintExpected checks that every benchmark program computes
// the right result (the benchmarks are only meaningful if it does).
func TestProgramsPrintExpected(t *testing.T) {
	for _, name := range []string{"empty", "fib", "objects", "strings", "spread"} {
		src, _ := Source(name)
		p, err := driver.CompileFile(name+".tova", src)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var out bytes.Buffer
		if err := driver.Run(context.Background(), p, vm.Config{Stdout: &out}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if out.String() != Expected[name] {
			t.Errorf("%s printed %q, want %q", name, out.String(), Expected[name])
		}
	}
}

// BenchmarkStringAppend builds a string by appending to it in a loop, as
// handlers build CSV and HTML: one character at a time (s += "x"), a row
// at a time (out += "{...}\n") and through interpolation (out =
// "{out}..."). Each must take time linear in the length built. Run:
// go test -run '^$' -bench StringAppend ./bench/vmbench
func BenchmarkStringAppend(b *testing.B) {
	bodies := []struct{ name, body string }{
		{"char", `s += "x"`},
		{"row", `s += "{i},user{i},user{i}@example.com\n"`},
		{"interpolation", `s = "{s}{i},"`},
	}
	for _, c := range bodies {
		for _, n := range []int{10000, 100000} {
			src := fmt.Sprintf("var s = \"\"\nfor i in range(%d) { %s }\nprint(len(s) > 0)\n", n, c.body)
			b.Run(fmt.Sprintf("%s/%dk", c.name, n/1000), func(b *testing.B) {
				runProgram(b, "append.tova", []byte(src), "true\n")
			})
		}
	}
}

// runProgram compiles src once, then runs it b.N times, each printing
// want.
func runProgram(b *testing.B, name string, src []byte, want string) {
	p, err := driver.CompileFile(name, src)
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		var out bytes.Buffer
		if err := driver.Run(context.Background(), p, vm.Config{Stdout: &out}); err != nil {
			b.Fatal(err)
		}
		if out.String() != want {
			b.Fatalf("%s printed %q, want %q", name, out.String(), want)
		}
	}
}
