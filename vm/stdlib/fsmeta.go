package stdlib

import (
	"os"
	"slices"

	"github.com/bmatcuk/doublestar/v4"

	"tova/vm"
)

// The reference's io.md functions about files rather than their text:
// fs.glob_files, fs.file_size, fs.file_stat, and the symlink globals.
// As with the other fs functions, what fails on the disk is an Err
// value; a malformed glob pattern is a ValueError.
func init() {
	reg("symlink", ps("target", "link_path"), bSymlink)
	reg("readlink", ps("path"), bReadlink)
	reg("is_symlink", ps("path"), bIsSymlink)
}

// fsMetaMembers are the fs namespace's members defined here.
func fsMetaMembers() map[string]vm.Value {
	return map[string]vm.Value{
		"glob_files": fsMember("glob_files", ps("pattern", "opts"), fsGlobFiles),
		"file_size":  fsMember("file_size", ps("path"), fsFileSize),
		"file_stat":  fsMember("file_stat", ps("path"), fsFileStat),
		"read_bytes": fsMember("read_bytes", ps("path"), fsReadBytes),
	}
}

// fsGlobFiles is the files matching pattern, sorted: `*`, `?`, `[...]`
// and `{a,b}` within a name, `**` across directories
// (fs.glob_files("src/**/*.tova")). As Bun.Glob's scan, which the
// reference uses, it lists files only, and a wildcard passes over names
// that begin with a dot (.git, .env): a pattern's part that begins with
// one names them (".*", ".config/*.yml"). The options are Bun's too:
// { dot: true } lets wildcards match those names, { only_files: false }
// lists directories as well.
func fsGlobFiles(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	pattern, err := str("fs.glob_files", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	if !doublestar.ValidatePathPattern(pattern) {
		return vm.Nil, valueErr("fs.glob_files: malformed pattern %q", pattern)
	}
	dot, onlyFiles := false, true
	if o := arg(args, 1); o.Kind() == vm.KObject {
		if err := checkOptions("fs.glob_files", o, "dot", "only_files"); err != nil {
			return vm.Nil, err
		}
		if v, ok := o.AsObject().Get("dot"); ok {
			dot = v.Truthy()
		}
		if v, ok := o.AsObject().Get("only_files"); ok {
			onlyFiles = v.Truthy()
		}
	} else if !o.IsNil() {
		return vm.Nil, typeErr("fs.glob_files", "Object of options", o)
	}
	opts := []doublestar.GlobOption{doublestar.WithNoFollow()}
	if !dot {
		opts = append(opts, doublestar.WithNoHidden())
	}
	if onlyFiles {
		opts = append(opts, doublestar.WithFilesOnly())
	}
	var paths []string
	// (Symbolic links are listed, not followed: a link to a directory
	// above it would make ** go round for ever.)
	t.Blocking(func() {
		paths, err = doublestar.FilepathGlob(pattern, opts...)
		if onlyFiles {
			// a link to a directory is not a file either
			paths = slices.DeleteFunc(paths, func(p string) bool {
				fi, err := os.Stat(p)
				return err == nil && fi.IsDir()
			})
		}
	})
	if err != nil {
		return vm.Nil, valueErr("fs.glob_files: %v", err)
	}
	slices.Sort(paths)
	return strList(paths), nil
}

func fsFileSize(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	path, err := str("fs.file_size", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	var fi os.FileInfo
	t.Blocking(func() { fi, err = os.Stat(path) })
	if err != nil {
		return fsResult(vm.Nil, err)
	}
	return vm.Ok(vm.Int(fi.Size())), nil
}

// fsFileStat is Ok of what Node's fs.stat tells most often: size (bytes),
// modified (a Date), mode (the permission bits), is_file, is_dir and
// is_symlink (of the path itself: a link is followed for the rest).
func fsFileStat(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	path, err := str("fs.file_stat", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	var fi, li os.FileInfo
	t.Blocking(func() {
		if li, err = os.Lstat(path); err == nil {
			fi, err = os.Stat(path)
		}
	})
	if err != nil {
		return fsResult(vm.Nil, err)
	}
	o := vm.NewObject()
	o.Set("size", vm.Int(fi.Size()))
	o.Set("modified", DateValue(fi.ModTime().UTC()))
	o.Set("mode", vm.Int(int64(fi.Mode().Perm())))
	o.Set("is_file", vm.Bool(fi.Mode().IsRegular()))
	o.Set("is_dir", vm.Bool(fi.IsDir()))
	o.Set("is_symlink", vm.Bool(li.Mode()&os.ModeSymlink != 0))
	return vm.Ok(vm.ObjectValue(o)), nil
}

// fsReadBytes is an error: a Tova value holds text, not bytes.
func fsReadBytes(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	return vm.Nil, vm.TypeErrorf("fs.read_bytes: there is no bytes type here; read the file as text with fs.read_text(path), or its size with fs.file_size(path)")
}

func bSymlink(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	paths, err := strs("symlink", args, 2)
	if err != nil {
		return vm.Nil, err
	}
	t.Blocking(func() { err = os.Symlink(paths[0], paths[1]) })
	return fsResult(vm.Str(paths[1]), err)
}

func bReadlink(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	path, err := str("readlink", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	var target string
	t.Blocking(func() { target, err = os.Readlink(path) })
	return fsResult(vm.Str(target), err)
}

func bIsSymlink(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	path, err := str("is_symlink", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	var fi os.FileInfo
	t.Blocking(func() { fi, err = os.Lstat(path) })
	return vm.Bool(err == nil && fi.Mode()&os.ModeSymlink != 0), nil
}
