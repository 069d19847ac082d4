// Package compilebench times the compiler on large generated programs:
// its passes must stay linear in the program's size (declarations found
// by scanning every global made 32 000 types take 23 s).
//
//	go test -run '^$' -bench . -benchmem ./bench/compilebench
package compilebench

import (
	"fmt"
	"strings"
	"testing"

	"tova/driver"
)

// types is a program of n record types with one variant each.
func types(n int) []byte {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "type T%d { V%d }\n", i, i)
	}
	b.WriteString("print(1)\n")
	return []byte(b.String())
}

func benchCompile(b *testing.B, src []byte) {
	b.ReportAllocs()
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		if _, err := driver.CompileFile("types.tova", src); err != nil {
			b.Fatal(err)
		}
	}
}

// The time per type stays flat from 4 000 to 16 000 types.
func BenchmarkCompileTypes4000(b *testing.B)  { benchCompile(b, types(4000)) }
func BenchmarkCompileTypes16000(b *testing.B) { benchCompile(b, types(16000)) }
