package driver

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"tova/bytecode"
	"tova/frontend/diag"
	"tova/vm"
)

// FuzzCompileRun takes arbitrary source through the whole pipeline: the
// compiler must answer a program or positioned errors (never an internal
// error), the program must survive a .tbc round trip byte for byte, and
// running it (briefly) must end in its result or a Tova error, never an
// internal one. The conformance programs are the seeds.
func FuzzCompileRun(f *testing.F) {
	for _, src := range specSources() {
		f.Add(src)
	}
	f.Add([]byte("fn f(n) { if n < 2 { n } else { f(n - 1) + f(n - 2) } }\nprint(f(10))\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		if touchesProcess.Match(src) {
			t.Skip("runs commands or changes the process")
		}
		p, err := CompileFile("fuzz.tova", src)
		if err != nil {
			var list diag.List
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("compile error %T %v is not a diagnostic list", err, err)
			}
			for _, e := range list {
				if strings.HasPrefix(e.Msg, "internal ") || !e.Pos.IsValid() {
					t.Fatalf("compile error without position or internal: %+v", e)
				}
			}
			if FormatError(err, src) == "" {
				t.Fatal("empty formatted error")
			}
			return
		}
		data, err := bytecode.Encode(p)
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		back, err := bytecode.Decode(data)
		if err != nil {
			t.Fatalf("decode of a fresh encoding: %v", err)
		}
		again, err := bytecode.Encode(back)
		if err != nil || !bytes.Equal(again, data) {
			t.Fatalf("the .tbc round trip changed the program (%v)", err)
		}
		err = runBriefly(t, back)
		var ve *vm.Error
		switch {
		case err == nil:
		case !errors.As(err, &ve):
			t.Fatalf("run failed with %T %v, not a Tova error", err, err)
		case ve.Kind == "InternalError":
			t.Fatalf("internal error: %v\n%s", ve, ve.Trace())
		}
	})
}

// FuzzRunTBC runs arbitrary .tbc artifacts: whatever Decode and the VM's
// loader accept must run (briefly) to its result or a Tova error. The
// interpreter trusts validated code (no bounds checks on registers,
// constants or jumps), so an internal error here is a hole in the
// validation. Each input's checksum is recomputed, so that mutations
// reach the code instead of stopping at the checksum; the seeds are the
// conformance programs, compiled.
func FuzzRunTBC(f *testing.F) {
	for name, src := range specSources() {
		if p, err := CompileFile(filepath.Base(name), src); err == nil {
			if data, err := bytecode.Encode(p); err == nil {
				f.Add(data)
			}
		}
	}
	castagnoli := crc32.MakeTable(crc32.Castagnoli)
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) >= 4 {
			data = bytes.Clone(data)
			binary.LittleEndian.PutUint32(data[len(data)-4:], crc32.Checksum(data[:len(data)-4], castagnoli))
		}
		p, err := bytecode.Decode(data)
		if err != nil {
			return
		}
		err = runBriefly(t, p)
		var ve *vm.Error
		if errors.As(err, &ve) && ve.Kind == "InternalError" {
			t.Fatalf("internal error: %v\n%s", ve, ve.Trace())
		}
	})
}

// specSources returns the conformance programs by path, but for the
// ones slow by design (sleep) and those that build values of 100 MB and
// more by design: mutations of these (a digit dropped from a size the VM
// refuses) build values of gigabytes, which made a fuzzing process run
// out of memory on a smaller machine.
func specSources() map[string][]byte {
	paths, _ := filepath.Glob("../spec/*/*.tova")
	srcs := map[string][]byte{}
	for _, path := range paths {
		if strings.Contains(path, "sleep") || heavySeeds[filepath.Base(path)] {
			continue
		}
		if src, err := os.ReadFile(path); err == nil {
			srcs[path] = src
		}
	}
	return srcs
}

var heavySeeds = map[string]bool{
	"value_sizes.tova":        true,
	"print_large_values.tova": true,
	"list_one_million.tova":   true,
	"compose_overflow.tova":   true,
}

// runBriefly runs p for at most 200 ms with no output, an empty
// environment and a fresh directory, which is also the working one:
// a program's data files are relative to it (a mutated
// "no-such-dir/out.csv" is a file name the program may write).
// touchesProcess matches the builtins that reach outside the test: a
// mutated program must not run shell commands or change the process's
// environment.
var touchesProcess = regexp.MustCompile(`\b(sh|exec|set_env|chdir)\b`)

func runBriefly(t *testing.T, p *bytecode.Program) error {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	dir := t.TempDir()
	t.Chdir(dir)
	return Run(ctx, p, vm.Config{Stdout: io.Discard, Stderr: io.Discard, Dir: dir,
		Getenv: func(string) (string, bool) { return "", false }})
}
