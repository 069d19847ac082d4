package stdlib

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"tova/vm"
)

// The scripting builtins of the reference's docs/stdlib/io.md: the
// script's arguments, exit code, working directory, standard input,
// paths and commands.
func registerScript() {
	reg("exit", ps("code"), bExit)
	reg("args", nil, func(t *vm.Thread, args []vm.Value) (vm.Value, error) { return strList(t.In.Cfg.Args), nil })
	reg("cwd", nil, func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		d, err := os.Getwd()
		if err != nil {
			return vm.Nil, vm.Errorf("IOError", "cwd: %v", err)
		}
		return vm.Str(d), nil
	})
	reg("chdir", ps("dir"), bChdir)
	reg("script_dir", nil, func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		return vm.Str(t.In.ScriptDir), nil
	})
	reg("script_path", nil, func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		if p := t.In.ScriptPath; p != "" {
			return vm.Str(p), nil
		}
		name := t.In.Prog.Code.FileName(0)
		return vm.Str(filepath.Join(t.In.ScriptDir, filepath.Base(name))), nil
	})
	reg("set_env", ps("name", "value"), func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		name, err := str("set_env", args, 0)
		if err != nil {
			return vm.Nil, err
		}
		value, err := str("set_env", args, 1)
		if err != nil {
			return vm.Nil, err
		}
		if err := os.Setenv(name, value); err != nil {
			return vm.Nil, valueErr("set_env: %v", err)
		}
		return vm.Nil, nil
	})
	reg("read_stdin", nil, func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		s, err := readStdin(t, "read_stdin")
		return vm.Str(s), err
	})
	reg("read_lines", nil, func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		s, err := readStdin(t, "read_lines")
		if err != nil || s == "" {
			return vm.NewArray(nil), err
		}
		lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
		for i, l := range lines {
			lines[i] = strings.TrimSuffix(l, "\r")
		}
		return strList(lines), nil
	})

	// The path functions answer as Node's path module, which the
	// reference's programs use: a trailing slash names the directory
	// itself, a dot file has no extension.
	reg("path_join", nil, func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		parts, err := strs("path_join", args, len(args))
		n := int64(len(parts))
		for _, p := range parts {
			n += int64(len(p))
		}
		if n > vm.MaxStringBytes {
			return vm.Nil, vm.StringTooLarge("path_join", int(n))
		}
		return vm.Str(joinPath(parts)), err
	})
	reg("path_resolve", nil, func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		parts, err := strs("path_resolve", args, len(args))
		// As Node's path.resolve: an absolute part starts the path again.
		p := ""
		for _, s := range parts {
			if filepath.IsAbs(s) {
				p = s
			} else {
				p = filepath.Join(p, s)
			}
		}
		return vm.Str(absPath(p)), err
	})
	reg("path_dirname", ps("path"), pathFn("path_dirname", func(p string) string { return filepath.Dir(trimSlashes(p)) }))
	reg("path_basename", ps("path", "ext"), func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		p, err := str("path_basename", args, 0)
		if err != nil {
			return vm.Nil, err
		}
		ext, err := optStr("path_basename", args, 1, "")
		if err != nil {
			return vm.Nil, err
		}
		b := baseName(p)
		if ext != "" && b != ext {
			b = strings.TrimSuffix(b, ext)
		}
		return vm.Str(b), nil
	})
	reg("path_ext", ps("path"), pathFn("path_ext", func(p string) string {
		b := baseName(p)
		if i := strings.LastIndexByte(b, '.'); i > 0 {
			return b[i:]
		}
		return "" // none, or a dot file's name (.env)
	}))
	reg("path_relative", ps("from", "to"), func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		from, err := str("path_relative", args, 0)
		if err != nil {
			return vm.Nil, err
		}
		to, err := str("path_relative", args, 1)
		if err != nil {
			return vm.Nil, err
		}
		rel, err := filepath.Rel(absPath(from), absPath(to))
		if err != nil {
			return vm.Nil, valueErr("path_relative: %v", err)
		}
		if rel == "." {
			rel = ""
		}
		return vm.Str(rel), nil
	})

	reg("sh", ps("command"), func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		cmd, err := str("sh", args, 0)
		if err != nil {
			return vm.Nil, err
		}
		return runCommand(t, "sh", cmd, "/bin/sh", "-c", cmd)
	})
	reg("exec", ps("command", "args"), func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		name, err := str("exec", args, 0)
		if err != nil {
			return vm.Nil, err
		}
		var argv []string
		if a := arg(args, 1); !a.IsNil() {
			if a.Kind() != vm.KArray {
				return vm.Nil, typeErr("exec", "List of String arguments", a)
			}
			for _, v := range a.AsArray().Elems {
				if v.Kind() != vm.KString {
					return vm.Nil, typeErr("exec", "String argument", v)
				}
				argv = append(argv, v.AsString())
			}
		}
		return runCommand(t, "exec", name, name, argv...)
	})
}

// bExit ends a script with an exit code (default 0): the program stops
// at once, no catch or finally runs, and tova run exits with the code.
// In a server it is an error: a server stops on SIGTERM.
func bExit(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	if t.In.Cfg.Serving != nil {
		return vm.Nil, vm.Errorf("Error", "exit: ends a script run with tova run; a server stops on SIGTERM (and a handler answers an error with respond(500, ...))")
	}
	code, err := optInt("exit", args, 0, 0)
	if err != nil {
		return vm.Nil, err
	}
	if code < 0 || code > 255 {
		return vm.Nil, valueErr("exit: the code must be between 0 and 255, got %d", code)
	}
	return vm.Nil, &vm.Error{Kind: vm.ErrExit, Msg: fmt.Sprintf("exit(%d)", code), Value: vm.Int(code)}
}

// bChdir changes the working directory of a script. A server's is the
// whole process's, for every request at once: there it is an error.
func bChdir(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	dir, err := str("chdir", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	if t.In.Cfg.Serving != nil {
		return vm.Nil, vm.Errorf("Error", "chdir: changes the working directory of a script; a server's is the whole process's: join paths with path_join instead")
	}
	if err := os.Chdir(dir); err != nil {
		return vm.Nil, vm.Errorf("IOError", "chdir: %v", err)
	}
	return vm.Nil, nil
}

// trimSlashes drops the trailing slashes of a path but the root's.
func trimSlashes(p string) string {
	for len(p) > 1 && strings.HasSuffix(p, string(filepath.Separator)) {
		p = p[:len(p)-1]
	}
	return p
}

// joinPath is Node's path.join: the parts cleaned as one path, which
// keeps a trailing separator ("a", "b/" is a/b/: it names a directory,
// as rsync and cp read it); Go's filepath.Join drops it.
func joinPath(parts []string) string {
	j := filepath.Join(parts...)
	if j == "" {
		return "."
	}
	last := ""
	for _, p := range parts {
		if p != "" {
			last = p
		}
	}
	if last != "" && os.IsPathSeparator(last[len(last)-1]) && !strings.HasSuffix(j, string(filepath.Separator)) {
		if j == "." {
			return "." + string(filepath.Separator)
		}
		j += string(filepath.Separator)
	}
	return j
}

// baseName is a path's last element ("" for the root).
func baseName(p string) string {
	p = trimSlashes(p)
	if p == string(filepath.Separator) || p == "" {
		return ""
	}
	return filepath.Base(p)
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

func pathFn(fname string, f func(string) string) func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	return func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		p, err := str(fname, args, 0)
		if err != nil {
			return vm.Nil, err
		}
		return vm.Str(f(p)), nil
	}
}

// readStdin reads the whole standard input, up to the string limit.
func readStdin(t *vm.Thread, fname string) (string, error) {
	ctx := t.Context()
	if err := ctx.Err(); err != nil {
		return "", vm.Errorf(vm.ErrCancelled, "%s: cancelled: %s", fname, vm.StopWords(err))
	}
	var b []byte
	var err error
	t.Blocking(func() {
		// A read that waits on a terminal or an open pipe cannot be
		// cancelled: the program's stop (Ctrl-C, SIGTERM, a deadline)
		// leaves it behind instead of waiting for the input's end.
		type read struct {
			b   []byte
			err error
		}
		done := make(chan read, 1)
		in := t.In.Cfg.Stdin
		go func() {
			b, err := io.ReadAll(io.LimitReader(in, vm.MaxStringBytes+1))
			done <- read{b, err}
		}()
		select {
		case r := <-done:
			b, err = r.b, r.err
		case <-ctx.Done():
			err = vm.Errorf(vm.ErrCancelled, "%s: cancelled: %s", fname, vm.StopWords(ctx.Err()))
		}
	})
	if e, ok := err.(*vm.Error); ok {
		return "", e
	}
	if err != nil {
		return "", vm.Errorf("IOError", "%s: %v", fname, err)
	}
	if len(b) > vm.MaxStringBytes {
		return "", vm.StringTooLarge(fname, len(b))
	}
	return string(b), nil
}

// boundedBuffer keeps at most vm.MaxStringBytes of a command's output;
// past that, writes fail (the command gets a broken pipe).
type boundedBuffer struct {
	bytes.Buffer
	over bool
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > vm.MaxStringBytes {
		b.over = true
		return 0, errors.New("output over 1 GiB")
	}
	return b.Buffer.Write(p)
}

// runCommand runs a command, its standard error passed through, and
// returns its standard output. A command that fails (exits non-zero, or
// cannot start) raises a ProcessError; one still running when the
// thread's context ends (a request's deadline, Ctrl-C) is killed.
func runCommand(t *vm.Thread, fname, shown, name string, argv ...string) (vm.Value, error) {
	ctx := t.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	cmd := exec.CommandContext(ctx, name, argv...)
	ownGroup(cmd)
	// A process the command started that keeps its output open does not
	// hold the thread past the cancel.
	cmd.WaitDelay = time.Second
	var out boundedBuffer
	cmd.Stdout, cmd.Stderr = &out, t.In.Cfg.Stderr
	var lines *lineWriter
	if _, file := t.In.Cfg.Stderr.(*os.File); !file && t.In.Cfg.Stderr != nil {
		// A log takes a record per write: the command's lines reach it
		// whole, not as the pipe's reads cut them ("ls: ", "cannot
		// access 'x'", ": No such file or directory", "").
		lines = &lineWriter{w: t.In.Cfg.Stderr}
		cmd.Stderr = lines
	}
	var err error
	t.Blocking(func() { err = cmd.Run() })
	if lines != nil {
		lines.flush()
	}
	switch {
	case out.over:
		return vm.Nil, vm.StringTooLarge(fname, vm.MaxStringBytes+1)
	case ctx.Err() != nil:
		return vm.Nil, vm.Errorf(vm.ErrCancelled, "%s: %q stopped: %s", fname, shown, vm.StopWords(ctx.Err()))
	case errors.Is(err, exec.ErrWaitDelay):
		// It exited with status 0, and a process it started in the
		// background (`myservice start`, `sleep 3 & echo hi`) holds its
		// output open: what it wrote by then is its output ("cannot run
		// ...: exec: WaitDelay expired before I/O complete")
	case err != nil:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			// (the status, e.status, tells grep's 1 of no match from
			// its 2 of an error; a signal's is -1)
			status := vm.NewObject()
			status.Set("status", vm.Int(int64(ee.ExitCode())))
			msg := fmt.Sprintf("%s: %q exited with status %d", fname, shown, ee.ExitCode())
			if ee.ExitCode() < 0 {
				msg = fmt.Sprintf("%s: %q was stopped by a signal (%s)", fname, shown, ee.ProcessState)
			}
			return vm.Nil, &vm.Error{Kind: "ProcessError", Msg: msg, Value: vm.ObjectValue(status)}
		}
		return vm.Nil, startError(fname, shown, name, err)
	}
	return vm.Str(out.String()), nil
}

// lineWriter passes whole lines to w, each in one write: what follows
// the last line break waits for the next write, or flush, or until it
// passes maxLineWait bytes.
type lineWriter struct {
	w   io.Writer
	buf []byte
}

const maxLineWait = 64 << 10

func (l *lineWriter) Write(p []byte) (int, error) {
	l.buf = append(l.buf, p...)
	if i := bytes.LastIndexByte(l.buf, '\n'); i >= 0 {
		if _, err := l.w.Write(l.buf[:i+1]); err != nil {
			return 0, err
		}
		l.buf = append(l.buf[:0], l.buf[i+1:]...)
	}
	if len(l.buf) > maxLineWait {
		l.flush()
	}
	return len(p), nil
}

// flush writes what waits for a line break.
func (l *lineWriter) flush() {
	if len(l.buf) > 0 {
		_, _ = l.w.Write(l.buf)
		l.buf = l.buf[:0]
	}
}

// startError says why a command could not start, in one plain sentence:
// Go's own text names the command a second time and speaks of fork/exec.
func startError(fname, shown, name string, err error) error {
	switch {
	case errors.Is(err, exec.ErrNotFound):
		return vm.Errorf("ProcessError", "%s: command %q not found in PATH", fname, name)
	case errors.Is(err, fs.ErrNotExist):
		var pe *fs.PathError
		if errors.As(err, &pe) && pe.Path != "" {
			if _, statErr := os.Stat(pe.Path); statErr == nil {
				// The kernel's ENOENT for a file that exists: its #!
				// interpreter (or its loader) is missing.
				return vm.Errorf("ProcessError", "%s: cannot run %s: the interpreter its #! line names (or the loader it needs) was not found", fname, name)
			}
		}
		return vm.Errorf("ProcessError", "%s: no such file: %s", fname, name)
	case errors.Is(err, fs.ErrPermission):
		return vm.Errorf("ProcessError", "%s: cannot run %s: permission denied", fname, name)
	}
	var pe *fs.PathError
	var ee *exec.Error
	switch {
	case errors.As(err, &pe):
		err = pe.Err
	case errors.As(err, &ee):
		err = ee.Err
	}
	return vm.Errorf("ProcessError", "%s: cannot run %q: %v", fname, shown, err)
}
