package stdlib

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"tova/vm"
)

func init() {
	registerCore()
	registerCollections()
	registerStrings()
	registerMath()
	registerObjects()
	registerResult()
	registerJSON()
	registerMisc()
	registerNamespaces()
	registerModules()
	registerSeq()
	registerScript()
}

func registerMisc() {
	reg("uuid", nil, func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		u, err := uuid.NewRandom()
		if err != nil {
			return vm.Nil, vm.Errorf("IOError", "uuid: %v", err)
		}
		return vm.Str(u.String()), nil
	})
	reg("env", ps("name", "default"), bEnv)
	reg("sleep", ps("duration"), bSleep)
	reg("now", nil, func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		return vm.Int(t.In.Cfg.Now().UnixMilli()), nil
	})
	reg("now_iso", nil, func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		return vm.Str(t.In.Cfg.Now().UTC().Format(isoLayout)), nil
	})

	// encoding
	reg("base64_encode", ps("s"), grownStrFn("base64_encode",
		func(s string) int64 { return int64(base64.StdEncoding.EncodedLen(len(s))) },
		func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }))
	reg("base64_decode", ps("s"), decodeFn("base64_decode", func(s string) ([]byte, error) {
		if b, err := base64.StdEncoding.DecodeString(s); err == nil {
			return b, nil
		}
		// As Node's Buffer.from(s, "base64") reads it: spaces (a
		// wrapped or pasted text) left out, the URL-safe alphabet
		// (- and _, a JWT's) taken too, the padding optional.
		t := strings.Map(func(r rune) rune {
			switch r {
			case ' ', '\t', '\n', '\r', '\f', '\v':
				return -1
			case '-':
				return '+'
			case '_':
				return '/'
			}
			return r
		}, s)
		b, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(t, "="))
		if n, ok := err.(base64.CorruptInputError); ok {
			// the offset in s, which has the spaces t left out
			seen := int64(0)
			for i := 0; i < len(s); i++ {
				if strings.IndexByte(" \t\n\r\f\v", s[i]) >= 0 {
					continue
				}
				if seen == int64(n) {
					return nil, base64.CorruptInputError(i)
				}
				seen++
			}
			return nil, base64.CorruptInputError(len(s))
		}
		return b, err
	}))
	reg("hex_encode", ps("s"), grownStrFn("hex_encode", times(2, 1), func(s string) string { return hex.EncodeToString([]byte(s)) }))
	reg("hex_decode", ps("s"), decodeFn("hex_decode", hex.DecodeString))
	reg("url_encode", ps("s"), grownStrFn("url_encode", urlEncodedLen, urlEncode))
	reg("url_decode", ps("s"), decodeFn("url_decode", func(s string) ([]byte, error) {
		r, err := url.PathUnescape(s)
		return []byte(r), err
	}))
	reg("parse_query", ps("s"), bParseQuery)
	reg("build_query", ps("obj"), bBuildQuery)
	reg("parse_url", ps("s"), bParseURL)
	reg("build_url", ps("parts"), bBuildURL)

	// validation
	reg("is_email", ps("s"), matchFn("is_email", `^[^\s@]+@[^\s@]+\.[^\s@]+$`))
	reg("is_url", ps("s"), func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		s, ok := optString(args)
		if !ok {
			return vm.False, nil
		}
		u, err := url.Parse(s)
		return vm.Bool(err == nil && (u.Scheme == "http" || u.Scheme == "https" || u.Scheme == "ftp") && u.Host != ""), nil
	})
	reg("is_numeric", ps("s"), func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		if v := arg(args, 0); v.IsNumber() {
			return vm.True, nil
		}
		s, ok := optString(args)
		if !ok {
			return vm.False, nil
		}
		_, isNum := parseFloatText(s)
		return vm.Bool(isNum && strings.TrimSpace(s) != ""), nil
	})
	// ASCII letters (and digits), as the reference's /^[a-zA-Z]+$/: a
	// validator of user names let "аdmin1", its first letter Cyrillic,
	// pass as letters and digits.
	reg("is_alpha", ps("s"), runesFn("is_alpha", isASCIILetter))
	reg("is_alphanumeric", ps("s"), runesFn("is_alphanumeric", func(r rune) bool {
		return isASCIILetter(r) || r >= '0' && r <= '9'
	}))
	reg("is_uuid", ps("s"), matchFn("is_uuid", `^(?i)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`))
	reg("is_hex", ps("s"), matchFn("is_hex", `^(?i)(0x)?[0-9a-f]+$`))

	// regular expressions (RE2 syntax)
	reg("__regex", ps("pattern", "flags"), bRegex)
	reg("regex_test", ps("s", "pattern", "flags"), bRegexTest)
	reg("regex_match", ps("s", "pattern", "flags"), bRegexMatch)
	reg("regex_find_all", ps("s", "pattern", "flags"), bRegexFindAll)
	reg("regex_replace", ps("s", "pattern", "replacement", "flags"), bRegexReplace)
	reg("regex_split", ps("s", "pattern", "flags"), bRegexSplit)
	reg("regex_capture", ps("s", "pattern", "flags"), bRegexCapture)

	// functional helpers
	reg("compose", nil, func(t *vm.Thread, args []vm.Value) (vm.Value, error) { return chain("compose", args, true) })
	reg("pipe_fn", nil, func(t *vm.Thread, args []vm.Value) (vm.Value, error) { return chain("pipe_fn", args, false) })
	reg("negate", ps("fn"), bNegate)
	reg("partial", nil, bPartial)
	reg("flip", ps("fn"), bFlip)
	reg("once", ps("fn"), bOnce)
	reg("memoize", ps("fn"), bMemoize)
	reg("curry", ps("fn", "arity"), bCurry)
}

// ---------------------------------------------------------------- env, time

// bEnv is env(name), env(name, default), or env(): an object of the
// whole environment.
func bEnv(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	if len(args) == 0 {
		return environObject(t), nil
	}
	name, err := str("env", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	if v, ok := t.In.Cfg.Getenv(name); ok {
		return vm.Str(v), nil
	}
	return arg(args, 1), nil
}

// environObject is the environment as an object, its names in sorted
// order (the order the system keeps them in is not one to rely on).
func environObject(t *vm.Thread) vm.Value {
	pairs := slices.Clone(t.In.Cfg.Environ())
	slices.SortStableFunc(pairs, func(a, b string) int { // by name: "A=1" < "AB=1" (a name set twice: the last wins, as set)
		na, _, _ := strings.Cut(a, "=")
		nb, _, _ := strings.Cut(b, "=")
		return strings.Compare(na, nb)
	})
	o := vm.NewObject()
	for _, kv := range pairs {
		if name, value, ok := strings.Cut(kv, "="); ok && name != "" {
			o.Set(name, vm.Str(value))
		}
	}
	return vm.ObjectValue(o)
}

// bSleep pauses the thread: sleep(250.milliseconds) or sleep(250) (ms).
// Other threads of the instance run meanwhile (the scheduler is
// released). It returns early with a Cancelled error when the thread's
// context ends.
func bSleep(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	d, err := durationArg("sleep", arg(args, 0))
	if err != nil {
		return vm.Nil, err
	}
	return vm.Nil, sleepFor(t, "sleep", d)
}

// maxSleep bounds a wait: about 146 years.
const maxSleep = time.Duration(1 << 62)

// durationArg reads a wait: a Duration, or Int or Float milliseconds.
func durationArg(fname string, v vm.Value) (time.Duration, error) {
	switch v.Kind() {
	case vm.KDuration:
		return time.Duration(v.AsDuration()), nil
	case vm.KInt:
		ms := v.AsInt()
		if ms > int64(maxSleep/time.Millisecond) {
			ms = int64(maxSleep / time.Millisecond)
		}
		return time.Duration(ms) * time.Millisecond, nil
	case vm.KFloat:
		f := v.AsFloat()
		if f != f {
			return 0, valueErr("%s: duration is NaN", fname)
		}
		return time.Duration(min(f, 4e12) * float64(time.Millisecond)), nil
	}
	return 0, typeErr(fname, "Duration or Int milliseconds", v)
}

// sleepFor waits d, suspending only the thread (its actor), and ends
// early with a Cancelled error when the thread's context ends.
func sleepFor(t *vm.Thread, fname string, d time.Duration) error {
	ctx := t.Context()
	if err := ctx.Err(); err != nil {
		return vm.Errorf(vm.ErrCancelled, "%s: cancelled: %s", fname, vm.StopWords(err))
	}
	if d <= 0 {
		return nil
	}
	var err error
	t.Blocking(func() {
		timer := time.NewTimer(d)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-ctx.Done():
			err = vm.Errorf(vm.ErrCancelled, "%s: cancelled: %s", fname, vm.StopWords(ctx.Err()))
		}
	})
	return err
}

// ---------------------------------------------------------------- encoding

func decodeFn(name string, f func(string) ([]byte, error)) func(*vm.Thread, []vm.Value) (vm.Value, error) {
	return func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		s, err := str(name, args, 0)
		if err != nil {
			return vm.Nil, err
		}
		b, err := f(s)
		if err != nil {
			// Go's words name its package ("encoding/hex: invalid
			// byte"): the fault is the text's.
			msg := strings.TrimPrefix(strings.TrimPrefix(err.Error(), "encoding/hex: "), "encoding/base64: ")
			var bad hex.InvalidByteError
			if errors.As(err, &bad) {
				// (the character given, not its first byte as Latin-1:
				// 'é' was "U+00C3 'Ã'")
				for i, r := range s {
					if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
						msg = fmt.Sprintf("invalid hex digit %q at character %d", r, utf8.RuneCountInString(s[:i])+1)
						break
					}
				}
			}
			return vm.Nil, valueErr("%s: %s", name, msg)
		}
		return vm.Str(string(b)), nil
	}
}

// urlEncode escapes like JavaScript's encodeURIComponent.
func urlEncode(s string) string {
	const hexd = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if urlUnreserved[c] {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexd[c>>4])
		b.WriteByte(hexd[c&15])
	}
	return b.String()
}

// urlUnreserved marks the bytes encodeURIComponent keeps as they are.
var urlUnreserved = func() (t [256]bool) {
	for c := range 256 {
		t[c] = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_.!~*'()", byte(c)) >= 0
	}
	return t
}()

// urlEncodedLen is len(urlEncode(s)), without building it.
func urlEncodedLen(s string) int64 {
	n := int64(len(s))
	for i := 0; i < len(s); i++ {
		if !urlUnreserved[s[i]] {
			n += 2
		}
	}
	return n
}

func bParseQuery(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	s, err := str("parse_query", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	s = strings.TrimPrefix(s, "?")
	obj := vm.NewObject()
	for _, part := range strings.Split(s, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		if dk, err := url.QueryUnescape(k); err == nil {
			k = dk
		}
		if dv, err := url.QueryUnescape(v); err == nil {
			v = dv
		}
		if i := obj.Lookup(k); i >= 0 {
			old := obj.Slot(i)
			if old.Kind() == vm.KArray {
				a := old.AsArray()
				a.Elems = append(a.Elems, vm.Str(v))
			} else {
				obj.SetSlot(i, newList([]vm.Value{old, vm.Str(v)}))
			}
			continue
		}
		obj.Set(k, vm.Str(v))
	}
	return vm.ObjectValue(obj), nil
}

// bParseURL is parse_url(s): Ok({ protocol, host, pathname, search,
// hash }) as the reference gives them ("https", "example.com:8080",
// "/path", "?q=1", "#top"; absent parts ""), or Err("Invalid URL: s")
// for text that is not an absolute URL.
func bParseURL(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	s, err := str("parse_url", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || u.Scheme == "" || u.Host == "" && u.Opaque == "" {
		return vm.Err(vm.Str("Invalid URL: " + s)), nil
	}
	path := u.EscapedPath()
	if u.Opaque != "" {
		path = u.Opaque
	} else if path == "" {
		path = "/"
	}
	search, hash := "", ""
	if u.RawQuery != "" {
		search = "?" + u.RawQuery
	}
	if f := u.EscapedFragment(); f != "" {
		hash = "#" + f
	}
	o := vm.NewObject()
	o.Set("protocol", vm.Str(strings.ToLower(u.Scheme)))
	o.Set("host", vm.Str(strings.ToLower(u.Host)))
	o.Set("pathname", vm.Str(path))
	o.Set("search", vm.Str(search))
	o.Set("hash", vm.Str(hash))
	return vm.Ok(vm.ObjectValue(o)), nil
}

// bBuildURL is build_url(parts): protocol (default "https"), host,
// pathname (default "/"), search and hash (their "?" and "#" added when
// missing) joined into a URL.
func bBuildURL(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	o, err := object("build_url", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	part := func(k, def string) string {
		if v, ok := o.Get(k); ok && v.Kind() != vm.KNil {
			return vm.ToString(v)
		}
		return def
	}
	protocol := strings.TrimSuffix(part("protocol", "https"), ":")
	host := part("host", "")
	if host == "" {
		return vm.Nil, vm.Errorf("ValueError", "build_url: the parts have no host")
	}
	path := part("pathname", "/")
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	q, h := strings.TrimPrefix(part("search", ""), "?"), strings.TrimPrefix(part("hash", ""), "#")
	if n := int64(len(protocol)) + 3 + int64(len(host)) + int64(len(path)) + 1 + int64(len(q)) + 1 + int64(len(h)); n > vm.MaxStringBytes {
		return vm.Nil, vm.StringTooLarge("build_url", int(n))
	}
	var b strings.Builder
	b.WriteString(protocol + "://" + host + path)
	if q != "" {
		b.WriteString("?" + q)
	}
	if h != "" {
		b.WriteString("#" + h)
	}
	return vm.Str(b.String()), nil
}

func bBuildQuery(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	o, err := object("build_query", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	var parts []string
	size := int64(-1) // of the query so far, with the & before each part
	add := func(k string, v vm.Value) error {
		val := vm.ToString(v)
		if size += 2 + urlEncodedLen(k) + urlEncodedLen(val); size > vm.MaxStringBytes {
			return vm.StringTooLarge("build_query", int(size))
		}
		parts = append(parts, urlEncode(k)+"="+urlEncode(val))
		return nil
	}
	for i, k := range o.Keys() {
		v := o.Slot(i)
		switch v.Kind() {
		case vm.KNil:
		case vm.KArray:
			for _, x := range v.AsArray().Elems {
				if err := add(k, x); err != nil {
					return vm.Nil, err
				}
			}
		default:
			if err := add(k, v); err != nil {
				return vm.Nil, err
			}
		}
	}
	return vm.Str(strings.Join(parts, "&")), nil
}

// ---------------------------------------------------------------- validation

func optString(args []vm.Value) (string, bool) {
	v := arg(args, 0)
	if v.Kind() != vm.KString {
		return "", false
	}
	return v.AsString(), true
}

func matchFn(name, pattern string) func(*vm.Thread, []vm.Value) (vm.Value, error) {
	re := regexp.MustCompile(pattern)
	return func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		s, ok := optString(args)
		return vm.Bool(ok && re.MatchString(s)), nil
	}
}

func runesFn(name string, f func(rune) bool) func(*vm.Thread, []vm.Value) (vm.Value, error) {
	return func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		s, ok := optString(args)
		if !ok || s == "" {
			return vm.False, nil
		}
		for _, r := range s {
			if !f(r) {
				return vm.False, nil
			}
		}
		return vm.True, nil
	}
}

func isASCIILetter(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }

// ---------------------------------------------------------------- regex

var regexCache sync.Map // pattern with flags → *regexp.Regexp

const maxCachedRegexps = 1024

var regexCount struct {
	sync.Mutex
	n int
}

func compileRegex(fname string, args []vm.Value, flagsAt int) (*regexp.Regexp, error) {
	if r := asRegex(arg(args, 1)); r != nil {
		if !has(args, flagsAt) {
			return r.re, nil // a regex literal: compiled with its own flags
		}
		// Flags given replace the literal's, as new RegExp(/abc/, "i")
		// does (they were dropped without a word).
		flags, err := optStr(fname, args, flagsAt, "")
		if err != nil {
			return nil, err
		}
		return compilePattern(fname, r.Source, flags)
	}
	pat, err := str(fname, args, 1)
	if err != nil {
		return nil, err
	}
	flags, err := optStr(fname, args, flagsAt, "")
	if err != nil {
		return nil, err
	}
	return compilePattern(fname, pat, flags)
}

// compilePattern compiles pat with flags (i, m, s as RE2's inline
// flags; g, u, y change no match), from a cache of the patterns used.
func compilePattern(fname, pat, flags string) (*regexp.Regexp, error) {
	var prefix strings.Builder
	for _, f := range flags {
		switch f {
		case 'i', 'm', 's':
			prefix.WriteRune(f)
		case 'g', 'u', 'y':
		default:
			return nil, valueErr("%s: unknown regex flag %q", fname, f)
		}
	}
	full := pat
	if prefix.Len() > 0 {
		full = "(?" + prefix.String() + ")" + pat
	}
	if re, ok := regexCache.Load(full); ok {
		return re.(*regexp.Regexp), nil
	}
	re, err := regexp.Compile(full)
	if err != nil {
		return nil, valueErr("%s: invalid pattern: %v", fname, err)
	}
	regexCount.Lock()
	if regexCount.n < maxCachedRegexps {
		regexCount.n++
		regexCache.Store(full, re)
	}
	regexCount.Unlock()
	return re, nil
}

func bRegexTest(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	s, err := str("regex_test", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	re, err := compileRegex("regex_test", args, 2)
	if err != nil {
		return vm.Nil, err
	}
	return vm.Bool(re.MatchString(s)), nil
}

// matchObject builds { match, index, groups } for one match (loc as
// returned by FindStringSubmatchIndex); index counts characters.
func matchObject(s string, loc []int) vm.Value {
	return matchAt(s, loc, int64(utf8.RuneCountInString(s[:loc[0]])))
}

// matchAt is matchObject for a match whose start is known to be index
// characters into s.
func matchAt(s string, loc []int, index int64) vm.Value {
	o := vm.NewObject()
	o.Set("match", vm.Str(s[loc[0]:loc[1]]))
	o.Set("index", vm.Int(index))
	groups := make([]vm.Value, 0, len(loc)/2-1)
	for i := 2; i+1 < len(loc); i += 2 {
		if loc[i] < 0 {
			groups = append(groups, vm.Nil)
		} else {
			groups = append(groups, vm.Str(s[loc[i]:loc[i+1]]))
		}
	}
	o.Set("groups", newList(groups))
	return vm.ObjectValue(o)
}

func bRegexMatch(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	s, err := str("regex_match", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	re, err := compileRegex("regex_match", args, 2)
	if err != nil {
		return vm.Nil, err
	}
	loc := re.FindStringSubmatchIndex(s)
	if loc == nil {
		return vm.Err(vm.Str("No match")), nil
	}
	return vm.Ok(matchObject(s, loc)), nil
}

func bRegexFindAll(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	s, err := str("regex_find_all", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	re, err := compileRegex("regex_find_all", args, 2)
	if err != nil {
		return vm.Nil, err
	}
	// A match is an object of three fields and a list of its groups:
	// counted as 16 values and two per group against the list limit, it
	// takes about the memory a list of those values would.
	per := int64(16 + 2*re.NumSubexp())
	most := int(vm.MaxListLen / per)
	locs := re.FindAllStringSubmatchIndex(s, most+1)
	if len(locs) > most {
		return vm.Nil, vm.Errorf("ValueError", "regex_find_all: more than %d matches (%d with %d groups each make a value as large as the largest list)", most, most, re.NumSubexp())
	}
	out := make([]vm.Value, 0, len(locs))
	at, index := 0, int64(0) // characters are counted once, match to match
	for _, loc := range locs {
		index += int64(utf8.RuneCountInString(s[at:loc[0]]))
		at = loc[0]
		out = append(out, matchAt(s, loc, index))
	}
	return newList(out), nil
}

// replaceJS replaces the first match of re in s, or every one, by the
// JavaScript replacement tmpl (see jsExpand); a result longer than a
// String may be is an error of fname, found before it is built.
func replaceJS(fname string, re *regexp.Regexp, s, tmpl string, all bool) (vm.Value, error) {
	n := 1
	if all {
		n = -1
	}
	locs := re.FindAllStringSubmatchIndex(s, n)
	if len(locs) == 0 {
		return vm.Str(s), nil
	}
	named := slices.ContainsFunc(re.SubexpNames(), func(name string) bool { return name != "" })
	size := int64(len(s))
	for _, loc := range locs {
		size -= int64(loc[1] - loc[0])
		jsExpand(re, named, tmpl, s, loc, func(part string) { size += int64(len(part)) })
	}
	if size > vm.MaxStringBytes {
		return vm.Nil, vm.StringTooLarge(fname, int(min(size, math.MaxInt)))
	}
	var out strings.Builder
	out.Grow(int(size))
	at := 0
	for _, loc := range locs {
		out.WriteString(s[at:loc[0]])
		jsExpand(re, named, tmpl, s, loc, func(part string) { out.WriteString(part) })
		at = loc[1]
	}
	out.WriteString(s[at:])
	return vm.Str(out.String()), nil
}

// jsExpand gives emit, part by part, the replacement tmpl for the match
// of re in s at loc, read as JavaScript's replace reads it: $$ is $, $&
// the match, $` and $' the text before and after it, $n and $nn a group
// the pattern has (two digits where that group exists, else one: $10
// with one group is group 1 then 0), $<name> a named group (when the
// pattern names any), and any other $ itself ($2 with one group).
func jsExpand(re *regexp.Regexp, named bool, tmpl, s string, loc []int, emit func(string)) {
	groups := re.NumSubexp()
	group := func(g int) {
		if g >= 0 && loc[2*g] >= 0 {
			emit(s[loc[2*g]:loc[2*g+1]])
		}
	}
	digit := func(i int) int {
		if i < len(tmpl) && tmpl[i] >= '0' && tmpl[i] <= '9' {
			return int(tmpl[i] - '0')
		}
		return -1
	}
	lit := 0 // where the literal text not yet emitted begins
	for i := 0; i < len(tmpl)-1; i++ {
		if tmpl[i] != '$' {
			continue
		}
		emit(tmpl[lit:i])
		lit = i + 2
		switch n := tmpl[i+1]; {
		case n == '$':
			emit("$")
		case n == '&':
			group(0)
		case n == '`':
			emit(s[:loc[0]])
		case n == '\'':
			emit(s[loc[1]:])
		case n >= '0' && n <= '9':
			d1, d2 := digit(i+1), digit(i+2)
			switch {
			case d2 >= 0 && d1*10+d2 >= 1 && d1*10+d2 <= groups:
				group(d1*10 + d2)
				lit = i + 3
			case d1 >= 1 && d1 <= groups:
				group(d1)
			default:
				lit = i // the $ as it is
			}
		case n == '<' && named && strings.IndexByte(tmpl[i+2:], '>') >= 0:
			k := strings.IndexByte(tmpl[i+2:], '>')
			group(re.SubexpIndex(tmpl[i+2 : i+2+k]))
			lit = i + 3 + k
		default:
			lit = i
		}
		i = max(lit, i+1) - 1
	}
	emit(tmpl[lit:])
}

func bRegexReplace(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	s, err := str("regex_replace", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	re, err := compileRegex("regex_replace", args, 3)
	if err != nil {
		return vm.Nil, err
	}
	rep := arg(args, 2)
	if n := groupParams(rep); n > 1 {
		return replaceWithGroups(t, "regex_replace", re, s, rep, n, -1)
	}
	if callable(rep) {
		var callErr error
		size := int64(len(s)) // the result's, as the matches are replaced
		out := re.ReplaceAllStringFunc(s, func(m string) string {
			if callErr != nil {
				return m
			}
			r, err := callFn(t, rep, vm.Str(m))
			if err != nil {
				callErr = err
				return m
			}
			text := vm.ToString(r)
			if size += int64(len(text) - len(m)); size > vm.MaxStringBytes {
				callErr = vm.StringTooLarge("regex_replace", int(size))
				return m
			}
			return text
		})
		if callErr != nil {
			return vm.Nil, callErr
		}
		return vm.Str(out), nil
	}
	if rep.Kind() != vm.KString {
		return vm.Nil, typeErr("regex_replace", "String replacement", rep)
	}
	return replaceJS("regex_replace", re, s, rep.AsString(), true)
}

// groupParams is how many arguments a replacement function takes
// beyond 1, as JavaScript passes them: the match, then what each group
// captured, the match's offset and the whole text (every one, for a
// function with a rest parameter); 1 for any other callable.
func groupParams(fn vm.Value) int {
	if fn.Kind() != vm.KFunc {
		return 1
	}
	c := fn.AsClosure()
	if c.Fn.HasRest {
		return math.MaxInt
	}
	return len(c.ParamNames())
}

// replaceWithGroups replaces each match of re in s (the first limit of
// them, all when limit < 0) with what fn returns given the match, its
// groups (nil for one that took no part), its offset in characters, s
// and, when re names groups, an object of them, as many of these as fn
// takes (n), as JavaScript passes them:
// regex_replace("ann@a.io", "(\w+)@(\S+)", fn(m, user, host) ...).
func replaceWithGroups(t *vm.Thread, fname string, re *regexp.Regexp, s string, fn vm.Value, n, limit int) (vm.Value, error) {
	var b strings.Builder
	last := 0
	names := re.SubexpNames()
	named := slices.ContainsFunc(names, func(n string) bool { return n != "" })
	for _, m := range re.FindAllStringSubmatchIndex(s, limit) {
		group := func(g int) vm.Value {
			if m[2*g] < 0 {
				return vm.Nil
			}
			return vm.Str(s[m[2*g]:m[2*g+1]])
		}
		args := []vm.Value{vm.Str(s[m[0]:m[1]])}
		for g := 1; g < len(m)/2; g++ {
			args = append(args, group(g))
		}
		args = append(args, vm.Int(int64(utf8.RuneCountInString(s[:m[0]]))), vm.Str(s))
		if named && n > len(args) {
			groups := vm.NewObject()
			for g, name := range names {
				if name != "" {
					groups.Set(name, group(g))
				}
			}
			args = append(args, vm.ObjectValue(groups))
		}
		r, err := callFn(t, fn, args[:min(n, len(args))]...)
		if err != nil {
			return vm.Nil, err
		}
		b.WriteString(s[last:m[0]])
		b.WriteString(vm.ToString(r))
		last = m[1]
		if b.Len() > vm.MaxStringBytes {
			return vm.Nil, vm.StringTooLarge(fname, b.Len())
		}
	}
	b.WriteString(s[last:])
	if b.Len() > vm.MaxStringBytes {
		return vm.Nil, vm.StringTooLarge(fname, b.Len())
	}
	return vm.Str(b.String()), nil
}

func bRegexSplit(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	s, err := str("regex_split", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	re, err := compileRegex("regex_split", args, 2)
	if err != nil {
		return vm.Nil, err
	}
	if re.NumSubexp() == 0 {
		parts := re.Split(s, vm.MaxListLen+1)
		if len(parts) > vm.MaxListLen {
			return vm.Nil, vm.ListTooLong("regex_split", int64(len(parts)))
		}
		return strList(parts), nil
	}
	// What the pattern's groups captured goes between the pieces, as
	// JavaScript's split puts it (nil for a group that took no part):
	// regex_split("a1b22c", "(\\d+)") is ["a", "1", "b", "22", "c"]. The
	// pieces are those of regexp.Split.
	if s == "" {
		return strList([]string{""}), nil
	}
	var out []vm.Value
	beg, end := 0, 0
	for _, m := range re.FindAllStringSubmatchIndex(s, vm.MaxListLen+1) {
		if m[0] == len(s) && m[1] == len(s) {
			break // (JavaScript never splits at the end)
		}
		end = m[0]
		if m[1] != 0 {
			out = append(out, vm.Str(s[beg:end]))
			for g := 2; g+1 < len(m); g += 2 {
				if m[g] < 0 {
					out = append(out, vm.Nil)
				} else {
					out = append(out, vm.Str(s[m[g]:m[g+1]]))
				}
			}
			if len(out) > vm.MaxListLen {
				return vm.Nil, vm.ListTooLong("regex_split", int64(len(out)))
			}
		}
		beg = m[1]
	}
	if end != len(s) {
		out = append(out, vm.Str(s[beg:]))
	}
	return vm.NewArray(out), nil
}

func bRegexCapture(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	s, err := str("regex_capture", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	re, err := compileRegex("regex_capture", args, 2)
	if err != nil {
		return vm.Nil, err
	}
	m := re.FindStringSubmatchIndex(s)
	if m == nil {
		return vm.Err(vm.Str("No match")), nil
	}
	o := vm.NewObject()
	for i, name := range re.SubexpNames() {
		if name == "" {
			continue
		}
		if m[2*i] < 0 {
			o.Set(name, vm.Nil) // took no part in the match (JavaScript's undefined), as regex_match says
		} else {
			o.Set(name, vm.Str(s[m[2*i]:m[2*i+1]]))
		}
	}
	if o.Len() == 0 {
		return vm.Err(vm.Str("No named groups")), nil
	}
	return vm.Ok(vm.ObjectValue(o)), nil
}

// ---------------------------------------------------------------- functional

// newFn makes a function value implemented in Go.
func newFn(name string, fn func(t *vm.Thread, args []vm.Value) (vm.Value, error)) vm.Value {
	return vm.BuiltinValue(&vm.Builtin{Name: name, Fn: fn})
}

func fnArgs(fname string, args []vm.Value) error {
	for i := range args {
		if !callable(args[i]) {
			return typeErr(fname, "Function", args[i])
		}
	}
	return nil
}

// chain composes functions: right to left for compose, left to right
// for pipe_fn. The first function applied receives all the arguments.
func chain(fname string, args []vm.Value, reverse bool) (vm.Value, error) {
	if err := fnArgs(fname, args); err != nil {
		return vm.Nil, err
	}
	fns := append([]vm.Value(nil), args...)
	if reverse {
		for i, j := 0, len(fns)-1; i < j; i, j = i+1, j-1 {
			fns[i], fns[j] = fns[j], fns[i]
		}
	}
	return newFn(fname, func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		if len(fns) == 0 {
			return arg(args, 0), nil
		}
		v, err := callFn(t, fns[0], append([]vm.Value(nil), args...)...)
		for _, f := range fns[1:] {
			if err != nil {
				return vm.Nil, err
			}
			v, err = callFn(t, f, v)
		}
		return v, err
	}), nil
}

func bNegate(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	fn, err := fnArg("negate", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	return newFn("negate", func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		v, err := callFn(t, fn, append([]vm.Value(nil), args...)...)
		if err != nil {
			return vm.Nil, err
		}
		return vm.Bool(!v.Truthy()), nil
	}), nil
}

func bPartial(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	fn, err := fnArg("partial", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	bound := append([]vm.Value(nil), args[1:]...)
	return newFn("partial", func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		all := make([]vm.Value, 0, len(bound)+len(args))
		all = append(all, bound...)
		all = append(all, args...)
		return callFn(t, fn, all...)
	}), nil
}

func bFlip(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	fn, err := fnArg("flip", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	return newFn("flip", func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		all := append([]vm.Value(nil), args...)
		if len(all) >= 2 {
			all[0], all[1] = all[1], all[0]
		}
		return callFn(t, fn, all...)
	}), nil
}

func bOnce(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	fn, err := fnArg("once", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	// No lock is held while fn runs: fn is Tova code, which gives way to
	// other threads, and one of those calling the function meanwhile
	// waits for the first call's end with the scheduler released.
	var (
		mu      sync.Mutex
		done    bool
		result  vm.Value
		running chan struct{} // closed when the call under way ends; nil if none is
		runner  *vm.Thread
	)
	return newFn("once", func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		for {
			mu.Lock()
			switch {
			case done:
				mu.Unlock()
				return result, nil
			case running != nil && runner == t:
				// Called again from inside its first call: there is no
				// value yet (the reference's gives undefined).
				mu.Unlock()
				return vm.Nil, nil
			case running != nil:
				ch := running
				mu.Unlock()
				ctx := t.Context()
				var stop error
				t.Blocking(func() {
					select {
					case <-ch:
					case <-ctx.Done():
						stop = vm.Errorf(vm.ErrCancelled, "once: cancelled: %s", vm.StopWords(ctx.Err()))
					}
				})
				if stop != nil {
					return vm.Nil, stop
				}
				continue // done now, or the first call failed: try again
			}
			ch := make(chan struct{})
			running, runner = ch, t
			mu.Unlock()
			var v vm.Value
			var err error = vm.Errorf("InternalError", "once: the function did not return") // (a Go panic passes through)
			defer func() {
				mu.Lock()
				if err == nil {
					done, result = true, v
				}
				running, runner = nil, nil
				close(ch)
				mu.Unlock()
			}()
			v, err = callFn(t, fn, append([]vm.Value(nil), args...)...)
			return v, err
		}
	}), nil
}

func bMemoize(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	fn, err := fnArg("memoize", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	var mu sync.Mutex
	cache := map[string]vm.Value{}
	return newFn("memoize", func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		var kb strings.Builder
		for _, a := range args {
			kb.WriteString(vm.TypeName(a))
			kb.WriteByte(':')
			kb.WriteString(vm.Repr(a))
			kb.WriteByte(0)
		}
		key := kb.String()
		mu.Lock()
		v, ok := cache[key]
		mu.Unlock()
		if ok {
			return v, nil
		}
		v, err := callFn(t, fn, append([]vm.Value(nil), args...)...)
		if err != nil {
			return vm.Nil, err
		}
		mu.Lock()
		cache[key] = v
		mu.Unlock()
		return v, nil
	}), nil
}

func bCurry(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	fn, err := fnArg("curry", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	arity := int64(0)
	if fn.Kind() == vm.KFunc {
		arity = int64(len(fn.AsClosure().ParamNames()))
	}
	if has(args, 1) {
		if arity, err = intArg("curry", args, 1); err != nil {
			return vm.Nil, err
		}
	}
	if arity <= 0 {
		return vm.Nil, valueErr("curry: cannot tell the arity of %s; pass it as the second argument", vm.Repr(fn))
	}
	var step func(bound []vm.Value) vm.Value
	step = func(bound []vm.Value) vm.Value {
		return newFn("curried", func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
			all := make([]vm.Value, 0, len(bound)+len(args))
			all = append(all, bound...)
			all = append(all, args...)
			if int64(len(all)) >= arity {
				return callFn(t, fn, all...)
			}
			return step(all), nil
		})
	}
	return step(nil), nil
}
