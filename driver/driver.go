// Package driver runs the whole toolchain: source text to a resolved
// syntax tree to a bytecode Program, and a Program to a running VM. The
// CLI, the conformance suite and the benchmarks all go through it.
package driver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"tova/bytecode"
	"tova/frontend/ast"
	"tova/frontend/diag"
	"tova/frontend/parse"
	"tova/frontend/resolve"
	"tova/frontend/token"
	"tova/store" // also registers db and the model builtin
	"tova/vm"
	_ "tova/vm/stdlib" // registers the builtins
)

// CompileFile compiles one source file. Compile errors come back as a
// diag.List holding every error found.
func CompileFile(name string, src []byte) (*bytecode.Program, error) {
	file, err := parse.ParseFile(name, src)
	if err != nil {
		return nil, err
	}
	opts := resolve.Options{
		IsPredeclared: func(n string) bool {
			_, ok := vm.LookupBuiltin(n)
			return ok
		},
		PredeclaredNames: vm.BuiltinNames(),
	}
	if err := resolve.Resolve([]*ast.File{file}, opts); err != nil {
		return nil, err
	}
	return bytecode.Compile([]bytecode.Source{{File: file, Text: src}})
}

// Size bounds of the files CompilePath reads. Compiling takes some
// hundreds of bytes of memory per byte of source, so the bound keeps a
// wrong file (a log, a disk image) from exhausting memory; real
// programs are a few hundred kilobytes at most.
const (
	MaxSourceSize   = 4 << 20
	MaxArtifactSize = 64 << 20
)

// CompilePath reads and compiles a .tova file, or decodes a .tbc file.
func CompilePath(path string) (*bytecode.Program, []byte, error) {
	data, err := readProgram(path)
	if err != nil {
		return nil, nil, err
	}
	// An artifact is known by its first bytes, whatever its name
	// (out.bin, APP.TBC); a .tbc name that holds no artifact is still
	// decoded, to say so.
	if strings.HasSuffix(path, ".tbc") || bytecode.IsArtifact(data) {
		p, err := bytecode.Decode(data)
		return p, nil, err
	}
	p, err := CompileFile(path, data)
	return p, data, err
}

// readProgram reads a program's file (or pipe: `tova run <(gen)`, but no
// device, which may never end) of at most MaxArtifactSize bytes, or
// MaxSourceSize when it is not an artifact.
func readProgram(path string) ([]byte, error) {
	if fi, err := os.Stat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
		// (opening one fails: "no such device or address")
		return nil, errors.New("is a device or a socket, not a program file")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		return nil, errors.New("is a directory, not a program file")
	}
	if fi.Mode()&(os.ModeDevice|os.ModeSocket) != 0 {
		return nil, errors.New("is a device or a socket, not a program file")
	}
	// Source is known by its first bytes: a pipe of source stops being
	// read at the source bound.
	data, err := io.ReadAll(io.LimitReader(f, MaxSourceSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) <= MaxSourceSize {
		return data, nil
	}
	if !bytecode.IsArtifact(data) && !strings.HasSuffix(path, ".tbc") {
		if fi.Mode().IsRegular() {
			return nil, fmt.Errorf("is %d bytes, over the %d MiB (%d bytes) a source file may have", fi.Size(), MaxSourceSize>>20, MaxSourceSize)
		}
		return nil, fmt.Errorf("is over the %d MiB a source file may have", MaxSourceSize>>20)
	}
	rest, err := io.ReadAll(io.LimitReader(f, MaxArtifactSize+1-int64(len(data))))
	if err != nil {
		return nil, err
	}
	if data = append(data, rest...); len(data) > MaxArtifactSize {
		return nil, fmt.Errorf("is over %d MiB, too large for a program file", MaxArtifactSize>>20)
	}
	return data, nil
}

// Run loads p and runs its top-level code on a fresh instance. A Tova
// runtime error comes back as *vm.Error.
func Run(ctx context.Context, p *bytecode.Program, cfg vm.Config) (err error) {
	prog, err := vm.Load(p)
	if err != nil {
		return err
	}
	inst := prog.NewInstance(cfg)
	// The database the program opened is closed when it ends, so a
	// SQLite file holds every write (not its write-ahead log beside it).
	defer func() {
		if cerr := store.Close(inst); err == nil && cerr != nil {
			err = fmt.Errorf("closing the database: %w", cerr)
		}
	}()
	t := inst.NewThread(ctx)
	defer t.Release()
	// The thread reads ctx only now and then; a cancellation stops it at
	// its next call or backward jump. (Not once the run is over: the
	// thread may be serving another by then.)
	var mu sync.Mutex
	over := false
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if !over {
			t.Interrupt()
		}
	})
	defer func() {
		stop()
		mu.Lock()
		over = true
		mu.Unlock()
	}()
	_, err = t.RunMain()
	return err
}

// maxShownErrors is how many compile errors FormatError shows.
const maxShownErrors = 50

// FormatError renders an error for a terminal: compile errors as
// `file:line:col: message` with the source line and a caret; runtime
// errors with their Tova stack trace. src is the source of the program
// (nil when unknown, e.g. when running a .tbc).
func FormatError(err error, src []byte) string {
	var list diag.List
	if errors.As(err, &list) {
		var b strings.Builder
		for i, e := range list {
			if i == maxShownErrors {
				// (a file that is not Tova source at all gives hundreds)
				fmt.Fprintf(&b, "... and %d more errors\n", len(list)-i)
				break
			}
			b.WriteString(diag.Format(e, src))
			if !strings.HasSuffix(b.String(), "\n") {
				b.WriteByte('\n')
			}
		}
		return b.String()
	}
	var de *diag.Error
	if errors.As(err, &de) {
		return diag.Format(de, src)
	}
	var ve *vm.Error
	if errors.As(err, &ve) {
		var b strings.Builder
		if f, ok := ve.Pos(); ok {
			fmt.Fprintf(&b, "%s:%d:%d: %s: %s\n", f.File, f.Line, f.Col, ve.Kind, ve.Msg)
			if diag.SourceLine(src, f.Line) != "" {
				at := token.Pos{Line: int32(f.Line), Col: int32(f.Col)}
				b.WriteString(diag.Snippet(src, at, token.Pos{}))
				b.WriteByte('\n')
			}
		} else {
			fmt.Fprintf(&b, "%s: %s\n", ve.Kind, ve.Msg)
		}
		b.WriteString(ve.Trace())
		return b.String()
	}
	return err.Error() + "\n"
}
