package stdlib

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"maps"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/uuid"

	"tova/vm"
)

// The reference's namespace modules group builtins under one name:
// math.sqrt(x) is sqrt(x), str.upper(s) is upper(s), dt.parse(s) is
// date_parse(s), json.parse(s) is json_parse(s) (a Result). `str` stays
// the conversion function too (str(42)). fs and crypto have functions
// of their own. A program's own binding of one of these names (a
// variable called url) shadows the module, as it does any builtin.
func registerModules() {
	vm.RegisterValue("math", NewNamespace("math", members("math",
		"sin", "cos", "tan", "asin", "acos", "atan", "atan2", "log", "log2", "log10", "exp",
		"abs", "floor", "ceil", "round", "sqrt", "cbrt", "pow", "clamp", "random", "sign", "trunc",
		"hypot", "lerp", "gcd", "lcm", "factorial", "min", "max",
	).with(map[string]vm.Value{"PI": vm.Float(math.Pi), "E": vm.Float(math.E), "INF": vm.Float(math.Inf(1))})))

	strFn := *builtinFn("str").AsBuiltin()
	strFn.Name = "str"
	strFn.Members = members("str",
		"upper", "lower", "trim", "trim_start", "trim_end", "split", "join", "replace", "repeat",
		"contains", "starts_with", "ends_with", "chars", "words", "lines", "capitalize", "title_case",
		"snake_case", "camel_case", "kebab_case", "index_of", "last_index_of", "pad_start", "pad_end",
		"center", "slugify", "escape_html", "unescape_html", "truncate", "reverse=reverse_str",
	)
	vm.RegisterValue("str", vm.BuiltinValue(&strFn))

	vm.RegisterValue("arr", NewNamespace("arr", members("arr",
		"sorted", "reversed", "unique", "chunk", "flatten", "take", "drop", "first", "last", "count",
		"partition", "group_by", "zip_with", "frequencies", "scan", "min_by", "max_by", "sum_by",
		"compact", "rotate", "insert_at", "remove_at", "binary_search", "is_sorted",
	)))
	vm.RegisterValue("dt", NewNamespace("dt", members("dt",
		"now", "now_iso", "parse=date_parse", "format=date_format", "add=date_add", "diff=date_diff",
		"from=date_from", "part=date_part", "time_ago",
	)))
	vm.RegisterValue("re", NewNamespace("re", members("re",
		"test=regex_test", "match=regex_match", "find_all=regex_find_all", "replace=regex_replace",
		"split=regex_split", "capture=regex_capture",
	)))
	vm.RegisterValue("json", NewNamespace("json", members("json",
		"parse=json_parse", "stringify=json_stringify", "pretty=json_pretty",
	)))
	vm.RegisterValue("url", NewNamespace("url", members("url",
		"parse=parse_url", "build=build_url", "parse_query", "build_query",
	)))

	fsMembers := map[string]vm.Value{
		"read_text":  fsMember("read_text", ps("path"), fsReadText),
		"write_text": fsMember("write_text", ps("path", "content", "opts"), fsWriteText),
		"exists":     fsMember("exists", ps("path"), fsStat("exists", func(fi os.FileInfo) bool { return true })),
		"is_dir":     fsMember("is_dir", ps("path"), fsStat("is_dir", os.FileInfo.IsDir)),
		"is_file":    fsMember("is_file", ps("path"), fsStat("is_file", func(fi os.FileInfo) bool { return fi.Mode().IsRegular() })),
		"ls":         fsMember("ls", ps("dir", "opts"), fsLs),
		"read_dir":   fsMember("read_dir", ps("dir", "opts"), fsLs), // the spec's name (§6.1)
		"mkdir":      fsMember("mkdir", ps("dir"), fsMkdir),
		"rm":         fsMember("rm", ps("path", "opts"), fsRm),
		"cp":         fsMember("cp", ps("src", "dest", "opts"), fsCp),
		"mv":         fsMember("mv", ps("src", "dest"), fsMv),
	}
	maps.Copy(fsMembers, fsMetaMembers())
	vm.RegisterValue("fs", NewNamespace("fs", fsMembers))

	random := member("crypto", "random_uuid", nil, withArity("crypto.random_uuid", nil, func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		return vm.Str(uuid.NewString()), nil
	}))
	vm.RegisterValue("crypto", NewNamespace("crypto", map[string]vm.Value{
		"sha256":              cryptoMember("sha256", ps("data"), digest("sha256", sha256.New)),
		"sha512":              cryptoMember("sha512", ps("data"), digest("sha512", sha512.New)),
		"sha1":                cryptoMember("sha1", ps("data"), digest("sha1", sha1.New)),
		"hmac":                cryptoMember("hmac", ps("algo", "key", "data", "encoding"), cryptoHMAC),
		"random_int":          builtinFn("random_int"),
		"random_uuid":         random,
		"randomUUID":          random, // the JavaScript global's name
		"constant_time_equal": cryptoMember("constant_time_equal", ps("a", "b"), cryptoEqual),
	}))
}

// moduleMembers maps a module's member names to builtins.
type moduleMembers map[string]vm.Value

// members maps each name to the builtin of that name, or, written
// "member=builtin", to another builtin.
func members(module string, names ...string) moduleMembers {
	m := moduleMembers{}
	for _, n := range names {
		name, target, ok := strings.Cut(n, "=")
		if !ok {
			target = name
		}
		m[name] = builtinFn(target)
	}
	return m
}

func (m moduleMembers) with(more map[string]vm.Value) moduleMembers {
	for k, v := range more {
		m[k] = v
	}
	return m
}

// cryptoMember is the crypto namespace's member name, its argument
// count checked: crypto.hmac("sha256", key, data, "base64") gave the hex
// digest, the fourth argument dropped, and a webhook's check failed
// with no word.
func cryptoMember(name string, params []string, fn func(*vm.Thread, []vm.Value) (vm.Value, error)) vm.Value {
	return member("crypto", name, params, withArity("crypto."+name, params, fn))
}

// ---------------------------------------------------------------- fs

// fsMember is the fs namespace's member name, its argument count checked
// as a global builtin's is (fs.mv(a, b, 3) ignored the 3).
func fsMember(name string, params []string, fn func(*vm.Thread, []vm.Value) (vm.Value, error)) vm.Value {
	return member("fs", name, params, withArity("fs."+name, params, fn))
}

// fsResult is Ok(v) when err is nil, else Err(its message).
func fsResult(v vm.Value, err error) (vm.Value, error) {
	if err != nil {
		return vm.Err(vm.Str(err.Error())), nil
	}
	return vm.Ok(v), nil
}

func fsReadText(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	path, err := str("fs.read_text", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	var data []byte
	size := int64(-1)
	t.Blocking(func() {
		var f *os.File
		if f, err = openRegular(path); err != nil {
			return
		}
		defer f.Close()
		// A file known to be too large is refused before a byte is read.
		if st, serr := f.Stat(); serr == nil && st.Size() > vm.MaxStringBytes {
			size = st.Size()
			return
		}
		data, err = io.ReadAll(io.LimitReader(f, vm.MaxStringBytes+1))
	})
	if err != nil {
		return fsResult(vm.Nil, err)
	}
	if size > vm.MaxStringBytes || len(data) > vm.MaxStringBytes {
		return vm.Nil, vm.StringTooLarge("fs.read_text", max(int(size), len(data)))
	}
	return vm.Ok(vm.Str(string(data))), nil
}

func fsWriteText(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	a, err := strs("fs.write_text", args, 2)
	if err != nil {
		return vm.Nil, err
	}
	path, content := a[0], a[1]
	appendTo := false
	if o := arg(args, 2); o.Kind() == vm.KObject {
		if err := checkOptions("fs.write_text", o, "append"); err != nil {
			return vm.Nil, err // (a misspelt append overwrote the file)
		}
		v, _ := o.AsObject().Get("append")
		appendTo = v.Truthy()
	} else if !o.IsNil() {
		return vm.Nil, typeErr("fs.write_text", "Object of options", o)
	}
	if !appendTo {
		// (as write does: a file killed or a disk full mid-write keeps
		// its old text, where os.WriteFile left it cut)
		return fsResult(vm.Str(path), replaceFile(t, path, []byte(content)))
	}
	t.Blocking(func() {
		var f *os.File
		if f, err = os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
			_, err = io.WriteString(f, content)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
	})
	return fsResult(vm.Str(path), err)
}

func fsStat(name string, test func(os.FileInfo) bool) func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	return func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		path, err := str("fs."+name, args, 0)
		if err != nil {
			return vm.Nil, err
		}
		var fi os.FileInfo
		t.Blocking(func() { fi, err = os.Stat(path) })
		return vm.Bool(err == nil && test(fi)), nil
	}
}

func fsLs(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	dir, err := optStr("fs.ls", args, 0, ".")
	if err != nil {
		return vm.Nil, err
	}
	full := false
	if o := arg(args, 1); o.Kind() == vm.KObject {
		if err := checkOptions("fs.ls", o, "full"); err != nil {
			return vm.Nil, err
		}
		v, _ := o.AsObject().Get("full")
		full = v.Truthy()
	}
	var entries []os.DirEntry
	t.Blocking(func() { entries, err = os.ReadDir(dir) })
	if err != nil {
		return vm.Nil, vm.Errorf("IOError", "fs.ls: %v", err)
	}
	if len(entries) > vm.MaxListLen {
		return vm.Nil, vm.ListTooLong("fs.ls", int64(len(entries)))
	}
	out := make([]vm.Value, len(entries))
	for i, e := range entries {
		name := e.Name()
		if full {
			name = filepath.Join(dir, name)
		}
		out[i] = vm.Str(name)
	}
	return vm.NewArray(out), nil
}

func fsMkdir(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	dir, err := str("fs.mkdir", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	t.Blocking(func() { err = os.MkdirAll(dir, 0o755) })
	return fsResult(vm.Str(dir), err)
}

func fsRm(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	path, err := str("fs.rm", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	recursive, force := false, false
	if o := arg(args, 1); o.Kind() == vm.KObject {
		if err := checkOptions("fs.rm", o, "recursive", "force"); err != nil {
			return vm.Nil, err
		}
		r, _ := o.AsObject().Get("recursive")
		f, _ := o.AsObject().Get("force")
		recursive, force = r.Truthy(), f.Truthy()
	}
	t.Blocking(func() {
		if recursive {
			if _, err = os.Lstat(path); err == nil {
				err = os.RemoveAll(path)
			}
		} else {
			err = os.Remove(path)
		}
		if force && os.IsNotExist(err) {
			err = nil
		}
	})
	return fsResult(vm.Str(path), err)
}

// fsCp copies a file, or a directory with all it holds, as Node's
// fs.cpSync(src, dest, { recursive: true }) does: a file already at
// dest is overwritten, a directory already there gets the copies beside
// what it holds. { recursive } is the reference's option; a directory
// is copied whole either way.
func fsCp(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	a, err := strs("fs.cp", args, 2)
	if err != nil {
		return vm.Nil, err
	}
	src, dest := a[0], a[1]
	if o := arg(args, 2); o.Kind() == vm.KObject {
		if err := checkOptions("fs.cp", o, "recursive"); err != nil {
			return vm.Nil, err
		}
	} else if !o.IsNil() {
		return vm.Nil, typeErr("fs.cp", "Object of options", o)
	}
	t.Blocking(func() {
		var fi os.FileInfo
		if fi, err = os.Stat(src); err != nil {
			return
		}
		if !fi.IsDir() {
			err = copyFile(src, dest)
			return
		}
		ctx := t.Context()
		if ctx == nil {
			ctx = context.Background()
		}
		err = copyDir(ctx, src, dest)
	})
	return fsResult(vm.Str(dest), err)
}

// copyFile copies the regular file src to dest, with its permission bits.
func copyFile(src, dest string) error {
	in, err := openRegular(src)
	if err != nil {
		return err
	}
	defer in.Close()
	// Not onto itself, which creating dest would empty.
	from, err := in.Stat()
	if err != nil {
		return err
	}
	if to, err := os.Stat(dest); err == nil && os.SameFile(from, to) {
		return fmt.Errorf("cp %s %s: the same file", src, dest)
	}
	out, err := os.OpenFile(dest, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, from.Mode().Perm())
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// copyDir copies the directory src into dest (made if missing): its
// files, its directories, and its symbolic links as links. A device or
// named pipe is refused, as fs.read_text refuses one.
func copyDir(ctx context.Context, src, dest string) error {
	as, err1 := filepath.Abs(src)
	ad, err2 := filepath.Abs(dest)
	if err1 == nil && err2 == nil && (ad == as || strings.HasPrefix(ad, as+string(filepath.Separator))) {
		// the walk would meet its own copies for ever
		return fmt.Errorf("cp %s %s: cannot copy a directory into itself", src, dest)
	}
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dest, rel)
		switch mode := d.Type(); {
		case d.IsDir():
			fi, err := d.Info()
			if err != nil {
				return err
			}
			return os.MkdirAll(target, fi.Mode().Perm()|0o700)
		case mode&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			if err := os.Remove(target); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			return os.Symlink(link, target)
		default:
			return copyFile(path, target)
		}
	})
}

func fsMv(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	a, err := strs("fs.mv", args, 2)
	if err != nil {
		return vm.Nil, err
	}
	src, dest := a[0], a[1]
	t.Blocking(func() { err = os.Rename(src, dest) })
	return fsResult(vm.Str(dest), err)
}

// openRegular opens a regular file for reading: not a directory, a
// device (/dev/zero would never end) or a named pipe (whose opening
// waits for a writer, beyond the reach of Ctrl-C or a deadline).
func openRegular(path string) (*os.File, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if fi, err = f.Stat(); err != nil || !fi.Mode().IsRegular() { // changed meanwhile
		f.Close()
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	return f, nil
}

// ---------------------------------------------------------------- crypto

// digest hashes a String and gives the hex digest.
func digest(name string, h func() hash.Hash) func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	return func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		data, err := str("crypto."+name, args, 0)
		if err != nil {
			return vm.Nil, err
		}
		d := h()
		io.WriteString(d, data)
		return vm.Str(hex.EncodeToString(d.Sum(nil))), nil
	}
}

// cryptoHMAC is crypto.hmac(algo, key, data, encoding = "hex"): the
// MAC's hex digits, or its base64 ("base64", as Shopify's webhooks
// sign; "base64url" without padding).
func cryptoHMAC(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	a, err := strs("crypto.hmac", args, len(args))
	if err != nil {
		return vm.Nil, err
	}
	encoding := "hex"
	if len(a) > 3 {
		encoding = strings.ToLower(a[3])
	}
	if encoding != "hex" && encoding != "base64" && encoding != "base64url" {
		return vm.Nil, valueErr("crypto.hmac: unknown encoding %q (hex, base64 or base64url)", a[3])
	}
	algo, key, data := a[0], a[1], a[2]
	var h func() hash.Hash
	switch strings.ToLower(algo) {
	case "sha256":
		h = sha256.New
	case "sha512":
		h = sha512.New
	case "sha1":
		h = sha1.New
	default:
		return vm.Nil, valueErr("crypto.hmac: unknown algorithm %q (sha256, sha512 or sha1)", algo)
	}
	m := hmac.New(h, []byte(key))
	io.WriteString(m, data)
	switch encoding {
	case "base64":
		return vm.Str(base64.StdEncoding.EncodeToString(m.Sum(nil))), nil
	case "base64url":
		return vm.Str(base64.RawURLEncoding.EncodeToString(m.Sum(nil))), nil
	}
	return vm.Str(hex.EncodeToString(m.Sum(nil))), nil
}

func cryptoEqual(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	a, err := strs("crypto.constant_time_equal", args, 2)
	if err != nil {
		return vm.Nil, err
	}
	return vm.Bool(subtle.ConstantTimeCompare([]byte(a[0]), []byte(a[1])) == 1), nil
}
