package stdlib

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"tova/vm"
)

// fsCall calls fs.name.
func fsCall(t *testing.T, e *testEnv, name string, args ...vm.Value) vm.Value {
	t.Helper()
	f, _, err := builtin(t, "fs").AsHost().GetAttr(e.th, name)
	if err != nil || f.IsNil() {
		t.Fatalf("fs.%s: %v", name, err)
	}
	v, err := e.callValue(f, args...)
	if err != nil {
		t.Fatalf("fs.%s: %v", name, err)
	}
	return v
}

// The fs module writes, appends, copies, moves and removes files; what
// goes wrong on the disk is an Err value, not a thrown error.
func TestFSModuleChangesFiles(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	p := func(name string) vm.Value { return S(filepath.Join(dir, name)) }
	eq(t, "mkdir", fsCall(t, e, "mkdir", p("sub/deep")), vm.Repr(vm.Ok(p("sub/deep"))))
	eq(t, "write_text", fsCall(t, e, "write_text", p("a.txt"), S("one\n")), vm.Repr(vm.Ok(p("a.txt"))))
	fsCall(t, e, "write_text", p("a.txt"), S("two\n"), O("append", B(true)))
	// A misspelt option is refused, not ignored (the file was overwritten).
	wt, _, _ := builtin(t, "fs").AsHost().GetAttr(e.th, "write_text")
	if _, err := e.callValue(wt, p("a.txt"), S("lost\n"), O("apend", B(true))); err == nil || !strings.Contains(err.Error(), "fs.write_text: unknown option \"apend\"") {
		t.Errorf("fs.write_text with apend: %v", err)
	}
	eq(t, "read_text", fsCall(t, e, "read_text", p("a.txt")), `Ok("one\ntwo\n")`)
	fsCall(t, e, "cp", p("a.txt"), p("sub/b.txt"))
	fsCall(t, e, "mv", p("sub/b.txt"), p("sub/deep/c.txt"))
	if b, err := os.ReadFile(filepath.Join(dir, "sub/deep/c.txt")); err != nil || string(b) != "one\ntwo\n" {
		t.Fatalf("copied and moved file: %q %v", b, err)
	}
	eq(t, "ls", fsCall(t, e, "ls", S(dir)), `["a.txt", "sub"]`)
	eq(t, "ls full", fsCall(t, e, "ls", p("sub"), O("full", B(true))), vm.Repr(L(p("sub/deep"))))
	if v := fsCall(t, e, "rm", p("sub")); v.Kind() != vm.KObject || v.AsObject().Type != vm.ErrType {
		t.Errorf("rm of a directory that is not empty, without recursive: %s", vm.Repr(v))
	}
	fsCall(t, e, "rm", p("sub"), O("recursive", B(true)))
	eq(t, "exists after rm", fsCall(t, e, "exists", p("sub")), "false")
	if v := fsCall(t, e, "rm", p("gone")); v.AsObject().Type != vm.ErrType {
		t.Errorf("rm of a missing file: %s", vm.Repr(v))
	}
	eq(t, "rm force of a missing file", fsCall(t, e, "rm", p("gone"), O("force", B(true))), vm.Repr(vm.Ok(p("gone"))))
	// cp onto itself emptied the file; from /dev/zero it never ended.
	fsCall(t, e, "write_text", p("keep.txt"), S("kept"))
	for _, c := range []struct{ from, to vm.Value }{{p("keep.txt"), p("keep.txt")}, {S(dir), p("x")}, {S("/dev/zero"), p("zero")}} {
		if v := fsCall(t, e, "cp", c.from, c.to); v.AsObject().Type != vm.ErrType {
			t.Errorf("cp %s %s: %s", vm.Repr(c.from), vm.Repr(c.to), vm.Repr(v))
		}
	}
	eq(t, "the file cp refused to copy onto itself", fsCall(t, e, "read_text", p("keep.txt")), `Ok("kept")`)
	// A named pipe's opening waits for a writer, out of reach of Ctrl-C.
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	if v := fsCall(t, e, "cp", p("fifo"), p("y")); v.AsObject().Type != vm.ErrType {
		t.Errorf("cp of a named pipe: %s", vm.Repr(v))
	}
	for _, path := range []vm.Value{S(dir), S("/dev/zero"), p("fifo")} {
		if v := fsCall(t, e, "read_text", path); v.AsObject().Type != vm.ErrType {
			t.Errorf("read_text %s: %s", vm.Repr(path), vm.Repr(v))
		}
	}
	if v := fsCall(t, e, "write_text", p("no/such/dir/x"), S("x")); v.AsObject().Type != vm.ErrType {
		t.Errorf("write_text into a missing directory: %s", vm.Repr(v))
	}
}

// A file over the 1 GiB a string holds is refused before it is read: the
// fs.write_text replaces a file as write does: a temporary file renamed
// over it, its mode kept (a process killed mid-write left the old text
// cut, with os.WriteFile); in a directory it may not create files in, a
// writable file is written in place; /dev/stdout is print's stream.
func TestFSWriteTextReplacesWhole(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "cfg.txt")
	if err := os.WriteFile(path, []byte("important"), 0o600); err != nil {
		t.Fatal(err)
	}
	fsCall(t, e, "write_text", S(path), S("new text"))
	if b, _ := os.ReadFile(path); string(b) != "new text" {
		t.Errorf("after write_text: %q", b)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("the directory holds %d entries, want cfg.txt alone", len(entries))
	}
	e.call(t, "print", S("before"))
	fsCall(t, e, "write_text", S("/dev/stdout"), S("between\n"))
	e.call(t, "print", S("after"))
	if got := e.out.String(); got != "before\nbetween\nafter\n" {
		t.Errorf("stdout: %q", got)
	}
	if os.Geteuid() == 0 {
		t.Skip("root creates files in any directory")
	}
	os.Chmod(dir, 0o500)
	defer os.Chmod(dir, 0o700)
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	fsCall(t, e, "write_text", S(path), S("in place"))
	if b, _ := os.ReadFile(path); string(b) != "in place" {
		t.Errorf("in a read-only directory: %q", b)
	}
}

// error gives its whole size, which only its metadata knows.
func TestFSReadTextRefusesAHugeFileUnread(t *testing.T) {
	e := newEnv(t)
	path := filepath.Join(t.TempDir(), "huge.txt")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(3 << 30); err != nil { // sparse: no disk used
		t.Skip("no sparse files here:", err)
	}
	f.Close()
	rt, _, _ := builtin(t, "fs").AsHost().GetAttr(e.th, "read_text")
	_, err = e.callValue(rt, S(path))
	if err == nil || !strings.Contains(err.Error(), "fs.read_text: the string would be 3.0 GiB") {
		t.Errorf("fs.read_text of a 3 GiB file: %v", err)
	}
}

// fs.cp refused a directory ("not a regular file") and ignored a third
// argument; it copies a directory with all it holds, takes the
// reference's { recursive }, and an fs member given an argument too many
// is a TypeError, as a global builtin is.
func TestFSCopiesADirectory(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	p := func(name string) vm.Value { return S(filepath.Join(dir, name)) }
	fsCall(t, e, "mkdir", p("src/sub"))
	fsCall(t, e, "write_text", p("src/sub/x.txt"), S("x"))
	fsCall(t, e, "write_text", p("src/top.txt"), S("t"))
	if err := os.Symlink("top.txt", filepath.Join(dir, "src/link")); err != nil {
		t.Fatal(err)
	}
	eq(t, "cp of a directory", fsCall(t, e, "cp", p("src"), p("dst")), vm.Repr(vm.Ok(p("dst"))))
	eq(t, "cp again, with recursive", fsCall(t, e, "cp", p("src"), p("dst"), O("recursive", B(true))), vm.Repr(vm.Ok(p("dst"))))
	eq(t, "a file in the copy", fsCall(t, e, "read_text", p("dst/sub/x.txt")), `Ok("x")`)
	if l, err := os.Readlink(filepath.Join(dir, "dst/link")); err != nil || l != "top.txt" {
		t.Errorf("the link in the copy: %q %v", l, err)
	}
	if v := fsCall(t, e, "cp", p("src"), p("src/sub/again")); !strings.Contains(vm.Repr(v), "cannot copy a directory into itself") {
		t.Errorf("cp of a directory into itself: %s", vm.Repr(v))
	}
	cp, _, _ := builtin(t, "fs").AsHost().GetAttr(e.th, "cp")
	if _, err := e.callValue(cp, p("src"), p("dst"), O("recurse", B(true))); err == nil || !strings.Contains(err.Error(), `fs.cp: unknown option "recurse"`) {
		t.Errorf("fs.cp with recurse: %v", err)
	}
	for _, c := range []struct {
		name string
		args []vm.Value
		want string
	}{
		{"mv", []vm.Value{p("a"), p("b"), I(3)}, "fs.mv takes 2 arguments (src, dest), got 3"},
		{"read_text", []vm.Value{p("a"), S("utf8")}, "fs.read_text takes 1 argument (path), got 2"},
		{"glob_files", []vm.Value{S("*"), O(), S("x")}, "fs.glob_files takes 1 or 2 arguments (pattern, opts), got 3"},
	} {
		f, _, _ := builtin(t, "fs").AsHost().GetAttr(e.th, c.name)
		if _, err := e.callValue(f, c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("fs.%s with an argument too many: %v, want %q", c.name, err, c.want)
		}
	}
	if v := fsCall(t, e, "ls"); v.Kind() != vm.KArray {
		t.Errorf("fs.ls() of the working directory: %s", vm.Repr(v))
	}
}
