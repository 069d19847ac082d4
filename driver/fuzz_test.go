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
	seeds, _ := filepath.Glob("../spec/*/*.tova")
	for _, path := range seeds {
		if strings.Contains(path, "sleep") {
			continue // slow by design
		}
		if src, err := os.ReadFile(path); err == nil {
			f.Add(src)
		}
	}
	f.Add([]byte("fn f(n) { if n < 2 { n } else { f(n - 1) + f(n - 2) } }\nprint(f(10))\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
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
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		err = Run(ctx, back, vm.Config{Stdout: io.Discard, Stderr: io.Discard, Dir: t.TempDir(),
			Getenv: func(string) (string, bool) { return "", false }})
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
	seeds, _ := filepath.Glob("../spec/*/*.tova")
	for _, path := range seeds {
		if strings.Contains(path, "sleep") {
			continue
		}
		src, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		if p, err := CompileFile(filepath.Base(path), src); err == nil {
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
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		err = Run(ctx, p, vm.Config{Stdout: io.Discard, Stderr: io.Discard, Dir: t.TempDir(),
			Getenv: func(string) (string, bool) { return "", false }})
		var ve *vm.Error
		if errors.As(err, &ve) && ve.Kind == "InternalError" {
			t.Fatalf("internal error: %v\n%s", ve, ve.Trace())
		}
	})
}
