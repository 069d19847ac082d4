package stdlib

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"tova/vm"
)

// save_file(file, dir) writes an uploaded file, a file part of a
// multipart body as serve gives it (a File: { filename, content_type,
// size, content }, never an object a JSON body spells), into dir and returns the path written. The name is the
// client's, made safe: only its last path element, without leading dots,
// characters other than letters, digits, '.', '-', '_' and space
// replaced by '_', shortened to saveFileMaxName bytes keeping its
// extension. A name whose last element climbs out of its directory
// ("..") is refused. An existing file is never replaced: the name takes a suffix
// ("a.png", "a-1.png", "a-2.png", ...). dir is created if missing;
// relative paths are relative to the working directory, as write's are.

func init() {
	reg("save_file", ps("file", "dir"), bSaveFile)
}

// saveFileTries bounds the suffixes tried for a free name: the first
// saveFileCounted count up (me-1.png, me-2.png), the rest are random
// (me-3f9a0c1d.png), so that a name every phone gives (image.jpg) never
// runs out, nor makes each save try thousands of names.
const (
	saveFileTries   = 200
	saveFileCounted = 100
)

// saveFileMaxName bounds a saved name, in bytes (file systems take 255).
const saveFileMaxName = 200

// saveFileMaxExt bounds the extension a shortened name keeps, in bytes:
// past it, the name's last dot starts no extension.
const saveFileMaxExt = 20

func bSaveFile(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	f := AsFile(arg(args, 0))
	if f == nil {
		// An object that looks like one (a JSON body's) is not: it has
		// not been through the upload checks.
		return vm.Nil, typeErr("save_file", "a file part of a multipart/form-data body (such as req.body.avatar)", arg(args, 0))
	}
	name, _ := f.fields.Get("filename")
	content, _ := f.fields.Get("content")
	dir, err := dataPath("save_file", arg(args, 1))
	if err != nil {
		return vm.Nil, err
	}
	safe, err := safeFileName(name.AsString())
	if err != nil {
		return vm.Nil, err
	}
	if SavedNameAllowed != nil && safe != SafeFileName(f.named) {
		if err := SavedNameAllowed(t, safe); err != nil {
			return vm.Nil, err
		}
	}
	var path string
	t.Blocking(func() { path, err = saveNew(dir, safe, []byte(content.AsString())) })
	if err != nil {
		return vm.Nil, err
	}
	return vm.Str(path), nil
}

// SafeFileName is the name save_file gives a file the client named
// name: its last path element, without what a file name should not hold,
// shortened; name itself if it climbs out of its directory (save_file
// refuses it).
func SafeFileName(name string) string {
	if base, err := safeFileName(name); err == nil {
		return base
	}
	return name
}

// safeFileName makes a client's file name one to create in a directory.
func safeFileName(name string) (string, error) {
	// Only the last element is kept, as the multipart reader keeps it of
	// a name with slashes: "..\\..\\x.png" is x.png, as "../../x.png"
	// is (it was refused, a 500 any client could cause). That element
	// alone may climb.
	base := LastNameElement(name)
	if base == ".." {
		return "", valueErr("save_file: the file name %q climbs out of its directory", name)
	}
	base = strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune(".-_ ", r) {
			return r
		}
		return '_'
	}, strings.ToValidUTF8(base, "_"))
	// (dots and spaces at either end: "evil.html." was kept, and storage
	// that drops a trailing dot, as Windows does, made it evil.html)
	base = strings.Trim(base, ". ")
	if len(base) > saveFileMaxName {
		// Shortened from the end of its stem, so that it keeps its
		// extension (one of a sensible length).
		ext := filepath.Ext(base)
		if len(ext) > saveFileMaxExt {
			ext = ""
		}
		stem := strings.TrimSuffix(base, ext)
		for len(stem)+len(ext) > saveFileMaxName {
			_, size := utf8.DecodeLastRuneInString(stem)
			stem = stem[:len(stem)-size]
		}
		base = strings.TrimSpace(stem) + ext
	}
	if base == "" {
		base = "upload"
	}
	return base, nil
}

// LastNameElement is the last element of a client's file name, whose
// elements slashes or backslashes (Windows') separate.
func LastNameElement(name string) string {
	elems := strings.FieldsFunc(name, func(r rune) bool { return r == '/' || r == '\\' })
	if len(elems) == 0 {
		return ""
	}
	return elems[len(elems)-1]
}

// tempsCleaned holds when this process last removed the stale temporary
// files of each directory (at most once an hour: a look reads the whole
// directory).
var tempsCleaned sync.Map

// removeStaleTemps removes the temporary files save_file left in dir
// when its process was killed while writing, once they are an hour old
// (another process may be writing one now).
func removeStaleTemps(dir string) {
	names, _ := filepath.Glob(filepath.Join(dir, ".save_file-*.tmp"))
	for _, n := range names {
		if st, err := os.Stat(n); err == nil && time.Since(st.ModTime()) > time.Hour {
			os.Remove(n)
		}
	}
}

// saveNew creates dir/name, or the first of name-1, name-2, ... (the
// suffix before the extension) that does not exist, and writes data.
// The file appears whole or not at all: data is written to a hidden
// temporary file beside it, synced, and linked to the name (which fails
// for a name taken, as creating it with O_EXCL does); a process killed
// while writing left a cut file under the name, which a row stored
// meanwhile, or a static block, then handed out.
func saveNew(dir, name string, data []byte) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fileErr("save_file", dir, err)
	}
	if last, ok := tempsCleaned.Load(dir); !ok || time.Since(last.(time.Time)) > time.Hour {
		tempsCleaned.Store(dir, time.Now())
		removeStaleTemps(dir)
	}
	tmp, err := os.CreateTemp(dir, ".save_file-*.tmp")
	if err != nil {
		return "", writeFileErr(dir, err)
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(fs.FileMode(0o644) &^ processUmask) // (a new file's, as os.OpenFile's would be)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	defer os.Remove(tmp.Name())
	if err != nil {
		return "", fileErr("save_file", filepath.Join(dir, name), err)
	}
	for i := 0; i < saveFileTries; i++ {
		path := filepath.Join(dir, nthName(name, i))
		err := os.Link(tmp.Name(), path)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			// A file system without hard links (some network and
			// FUSE mounts): the file is written under its name, as
			// it can be.
			return saveInPlace(dir, name, data)
		}
		if err != nil {
			return "", writeFileErr(path, err)
		}
		return path, nil
	}
	return "", valueErr("save_file: %s and %d names after it are taken in %s", name, saveFileTries-1, dir) // (200 tries, 100 of them random: not a directory of files, rather)
}

// nthName is the name save_file tries i-th for name: name itself, then
// name-1, name-2, ... (the suffix before the extension), then names with
// a random suffix.
func nthName(name string, i int) string {
	ext := filepath.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	switch {
	case i >= saveFileCounted:
		var b [4]byte
		_, _ = rand.Read(b[:])
		return stem + "-" + hex.EncodeToString(b[:]) + ext
	case i > 0:
		return stem + "-" + strconv.Itoa(i) + ext
	}
	return name
}

// saveInPlace is saveNew on a file system that cannot link a file to a
// second name: each name is created with O_EXCL and written, so that a
// process killed while writing leaves the file cut.
func saveInPlace(dir, name string, data []byte) (string, error) {
	for i := 0; i < saveFileTries; i++ {
		path := filepath.Join(dir, nthName(name, i))
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", writeFileErr(path, err)
		}
		_, err = f.Write(data)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
			return "", fileErr("save_file", path, err)
		}
		return path, nil
	}
	return "", valueErr("save_file: %s and %d names after it are taken in %s", name, saveFileTries-1, dir)
}
