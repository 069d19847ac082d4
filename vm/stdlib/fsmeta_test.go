package stdlib

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tova/vm"
)

// fs.glob_files, fs.file_size, fs.file_stat and the symlink globals of
// the reference's io.md were missing, and fs.read_bytes read as nil.
func TestFSFileMetadata(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	p := func(name string) vm.Value { return S(filepath.Join(dir, name)) }
	fsCall(t, e, "mkdir", p("sub/deep"))
	fsCall(t, e, "write_text", p("a.csv"), S("x\n1\n"))
	fsCall(t, e, "write_text", p("sub/deep/b.csv"), S("hello"))
	fsCall(t, e, "write_text", p("c.txt"), S(""))

	eq(t, "glob_files *.csv", fsCall(t, e, "glob_files", p("*.csv")), vm.Repr(L(p("a.csv"))))
	eq(t, "glob_files **/*.csv", fsCall(t, e, "glob_files", p("**/*.csv")), vm.Repr(L(p("a.csv"), p("sub/deep/b.csv"))))
	eq(t, "glob_files of nothing", fsCall(t, e, "glob_files", p("*.json")), "[]")
	// Links to a directory above are listed, not followed: ** went round
	// them until memory ran out.
	for _, l := range []string{"sub/deep/up", "sub/deep/up2"} {
		if err := os.Symlink("..", filepath.Join(dir, l)); err != nil {
			t.Fatal(err)
		}
	}
	eq(t, "glob_files ** beside links to a parent", fsCall(t, e, "glob_files", p("sub/**")),
		vm.Repr(L(p("sub/deep/b.csv"))))
	glob, _, _ := builtin(t, "fs").AsHost().GetAttr(e.th, "glob_files")
	if _, err := e.callValue(glob, p("[")); err == nil || !strings.Contains(err.Error(), "fs.glob_files: malformed pattern") {
		t.Errorf("glob_files of a malformed pattern: %v", err)
	}

	eq(t, "file_size", fsCall(t, e, "file_size", p("sub/deep/b.csv")), "Ok(5)")
	if v := fsCall(t, e, "file_size", p("gone")); v.AsObject().Type != vm.ErrType {
		t.Errorf("file_size of a missing file: %s", vm.Repr(v))
	}

	when := time.Date(2024, 6, 15, 10, 30, 0, 0, time.UTC)
	if err := os.Chtimes(filepath.Join(dir, "a.csv"), when, when); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, "a.csv"), 0o640); err != nil {
		t.Fatal(err)
	}
	eq(t, "file_stat", fsCall(t, e, "file_stat", p("a.csv")),
		`Ok({ size: 4, modified: 2024-06-15T10:30:00.000Z, mode: 416, is_file: true, is_dir: false, is_symlink: false })`)

	eq(t, "symlink", e.call(t, "symlink", p("a.csv"), p("link.csv")), vm.Repr(vm.Ok(p("link.csv"))))
	eq(t, "is_symlink of the link", e.call(t, "is_symlink", p("link.csv")), "true")
	eq(t, "is_symlink of a file", e.call(t, "is_symlink", p("a.csv")), "false")
	eq(t, "is_symlink of nothing", e.call(t, "is_symlink", p("gone")), "false")
	eq(t, "readlink", e.call(t, "readlink", p("link.csv")), vm.Repr(vm.Ok(p("a.csv"))))
	stat := fsCall(t, e, "file_stat", p("link.csv"))
	if r := vm.Repr(stat); !strings.Contains(r, "size: 4,") || !strings.Contains(r, "is_symlink: true") {
		t.Errorf("file_stat of a link = %s, want the file's size and is_symlink true", r)
	}
	for _, v := range []vm.Value{e.call(t, "readlink", p("a.csv")), e.call(t, "symlink", p("a.csv"), p("link.csv"))} {
		if v.AsObject().Type != vm.ErrType {
			t.Errorf("readlink of a file, or symlink onto an existing path: %s", vm.Repr(v))
		}
	}

	rb, _, _ := builtin(t, "fs").AsHost().GetAttr(e.th, "read_bytes")
	if _, err := e.callValue(rb, p("a.csv")); err == nil || !strings.Contains(err.Error(), "fs.read_text(path)") {
		t.Errorf("fs.read_bytes: %v, want an error naming fs.read_text", err)
	}
}

// fs.glob_files listed directories, and its wildcards matched hidden
// names (.git, .env); as Bun.Glob's scan it lists files, and only a
// pattern's part that begins with a dot matches one.
func TestGlobFilesOnlyVisibleFiles(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	p := func(name string) vm.Value { return S(filepath.Join(dir, name)) }
	fsCall(t, e, "mkdir", p("sub"))
	fsCall(t, e, "mkdir", p(".git"))
	for _, f := range []string{"a.txt", ".env", ".hidden.txt", "sub/b.txt", ".git/HEAD.txt"} {
		fsCall(t, e, "write_text", p(f), S("x"))
	}
	if err := os.Symlink("a.txt", filepath.Join(dir, "link.txt")); err != nil {
		t.Fatal(err)
	}
	eq(t, "glob_files *", fsCall(t, e, "glob_files", p("*")), vm.Repr(L(p("a.txt"), p("link.txt"))))
	eq(t, "glob_files **/*.txt", fsCall(t, e, "glob_files", p("**/*.txt")), vm.Repr(L(p("a.txt"), p("link.txt"), p("sub/b.txt"))))
	eq(t, "glob_files .*", fsCall(t, e, "glob_files", p(".*")), vm.Repr(L(p(".env"), p(".hidden.txt"))))
	eq(t, "glob_files .git/*", fsCall(t, e, "glob_files", p(".git/*")), vm.Repr(L(p(".git/HEAD.txt"))))
	// Bun's options, to list them anyway
	eq(t, "glob_files * dot", fsCall(t, e, "glob_files", p("*"), O("dot", B(true))),
		vm.Repr(L(p(".env"), p(".hidden.txt"), p("a.txt"), p("link.txt"))))
	eq(t, "glob_files * only_files false", fsCall(t, e, "glob_files", p("*"), O("only_files", B(false))),
		vm.Repr(L(p("a.txt"), p("link.txt"), p("sub"))))
	glob, _, _ := builtin(t, "fs").AsHost().GetAttr(e.th, "glob_files")
	if _, err := e.callValue(glob, p("*"), O("hidden", B(true))); err == nil || !strings.Contains(err.Error(), `fs.glob_files: unknown option "hidden"`) {
		t.Errorf("glob_files with an unknown option: %v", err)
	}
}
