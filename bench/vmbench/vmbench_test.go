package vmbench

import (
	"bytes"
	"context"
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
		b.Run("tova/"+name, func(b *testing.B) {
			p, err := driver.CompileFile(name+".tova", src)
			if err != nil {
				b.Fatal(err)
			}
			for i := 0; i < b.N; i++ {
				var out bytes.Buffer
				if err := driver.Run(context.Background(), p, vm.Config{Stdout: &out}); err != nil {
					b.Fatal(err)
				}
				if out.String() != Expected[name] {
					b.Fatalf("%s printed %q, want %q", name, out.String(), Expected[name])
				}
			}
		})
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
	for _, name := range []string{"empty", "fib", "objects", "strings"} {
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
