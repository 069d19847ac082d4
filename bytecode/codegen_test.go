package bytecode_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tova/bytecode"
	"tova/driver"
)

// TestCodegenGolden compiles the programs in testdata/codegen and
// compares their disassembly with the .golden files next to them
// (go test ./bytecode -run Codegen -update rewrites them).
func TestCodegenGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/codegen/*.tova")
	if len(files) == 0 {
		t.Fatal("no codegen programs")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			p, err := driver.CompileFile(filepath.Base(file), src)
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := bytecode.Disasm(&got, p); err != nil {
				t.Fatal(err)
			}
			golden := strings.TrimSuffix(file, ".tova") + ".golden"
			if f := flag.Lookup("update"); f != nil && f.Value.String() == "true" {
				if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got.String() != string(want) {
				t.Errorf("disassembly of %s changed:\n%s\nwant:\n%s", file, got.String(), want)
			}
		})
	}
}
