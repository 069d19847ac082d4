package stdlib

import (
	"html"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/language"

	"tova/vm"
)

func registerStrings() {
	reg("split", ps("s", "sep"), bSplit)
	reg("join", ps("list", "sep"), bJoin)
	reg("upper", ps("s"), grownStrFn("upper", caseMapped(3, 1), toUpper))
	alias("upper", "toUpperCase", "to_upper")
	reg("lower", ps("s"), grownStrFn("lower", caseMapped(3, 2), toLower))
	alias("lower", "toLowerCase", "to_lower")
	reg("trim", ps("s", "chars"), trimFn("trim", trimSpace, strings.Trim))
	reg("trim_start", ps("s", "chars"), trimFn("trim_start",
		func(s string) string { return strings.TrimLeftFunc(s, jsSpace) }, strings.TrimLeft))
	alias("trim_start", "trimStart", "trim_left")
	reg("trim_end", ps("s", "chars"), trimFn("trim_end",
		func(s string) string { return strings.TrimRightFunc(s, jsSpace) }, strings.TrimRight))
	alias("trim_end", "trimEnd", "trim_right")
	reg("starts_with", ps("s", "prefix"), str2Bool("starts_with", strings.HasPrefix))
	alias("starts_with", "startsWith")
	reg("ends_with", ps("s", "suffix"), str2Bool("ends_with", strings.HasSuffix))
	alias("ends_with", "endsWith")
	reg("replace", ps("s", "from", "to"), func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		return replace(t, "replace", args, -1)
	})
	alias("replace", "replaceAll", "replace_all")
	reg("replace_first", ps("s", "from", "to"), func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		return replace(t, "replace_first", args, 1)
	})
	alias("replace_first", "replaceFirst")
	reg("substring", ps("s", "start", "end"), bSubstring)
	reg("substr", ps("s", "start", "end"), func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		return substr("substr", args)
	})
	reg("pad_start", ps("s", "n", "fill"), func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		return pad("pad_start", args, true)
	})
	alias("pad_start", "padStart", "pad_left")
	reg("pad_end", ps("s", "n", "fill"), func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		return pad("pad_end", args, false)
	})
	alias("pad_end", "padEnd", "pad_right")
	reg("center", ps("s", "n", "fill"), bCenter)
	reg("repeat", ps("s", "n"), bRepeat)
	reg("chars", ps("s"), bChars)
	reg("words", ps("s"), func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		s, err := str("words", args, 0)
		if err != nil {
			return vm.Nil, err
		}
		if n := countFields(s); n > vm.MaxListLen {
			return vm.Nil, vm.ListTooLong("words", int64(n))
		}
		return strList(fields(s)), nil
	})
	reg("lines", ps("s"), bLines)
	reg("char_at", ps("s", "index"), bCharAt)
	alias("char_at", "charAt")
	reg("capitalize", ps("s"), strFn("capitalize", capitalize))
	reg("title_case", ps("s"), grownStrFn("title_case", caseMapped(3, 2), titleCase))
	alias("title_case", "titleCase")
	reg("snake_case", ps("s"), grownStrFn("snake_case", times(2, 1), func(s string) string { return joinWords(s, "_", lowerWord) }))
	alias("snake_case", "snakeCase")
	reg("kebab_case", ps("s"), grownStrFn("kebab_case", times(2, 1), func(s string) string { return joinWords(s, "-", lowerWord) }))
	alias("kebab_case", "kebabCase")
	reg("camel_case", ps("s"), grownStrFn("camel_case", caseMapped(3, 2), camelCase))
	alias("camel_case", "camelCase")
	reg("reverse_str", ps("s"), strFn("reverse_str", reverseString))
	reg("count_of", ps("s", "sub"), bCountOf)
	reg("truncate", ps("s", "n", "suffix"), bTruncate)
	reg("slugify", ps("s"), grownStrFn("slugify", caseMapped(3, 2), slugify))
	escape := grownStrFn("escape_html", times(6, 1), escapeHTML)
	reg("escape_html", ps("s"), func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		// A number or a boolean is escaped as its text, nil as nothing:
		// escape_html(user.age) or of a field left out failed the page.
		v := arg(args, 0)
		for range 64 {
			x, ok := vm.OptionValue(v)
			if !ok {
				break
			}
			v = x // Some(s) is s, None nothing (an Option field left out)
		}
		switch v.Kind() {
		case vm.KNil:
			return vm.Str(""), nil
		case vm.KInt, vm.KFloat, vm.KBool, vm.KDuration, vm.KSize:
			return vm.Str(vm.ToString(v)), nil
		case vm.KString:
			return escape(t, []vm.Value{v})
		case vm.KObject:
			if ti := vm.VariantOf(v); ti != nil && ti.Variant >= 0 {
				// a variant (a status: Active, Pending(2)), as "{v}"
				// writes it; its payload's text is escaped with it
				return escape(t, []vm.Value{vm.Str(vm.ToString(v))})
			}
		}
		return vm.Nil, typeErr("escape_html", "a String, a number, a Bool, a Duration, a Size or a variant", v)
	})
	reg("unescape_html", ps("s"), grownStrFn("unescape_html", times(6, 5), html.UnescapeString))
	reg("fmt", nil, bFmt)
	alias("fmt", "format")
	reg("dedent", ps("s"), strFn("dedent", dedent))
	reg("indent_str", ps("s", "n", "ch"), bIndentStr)
	reg("word_wrap", ps("s", "width"), bWordWrap)
}

// grownStrFn is strFn for an f whose result may be longer than its input
// (an escape, a case mapping): an input whose longest result, by
// longest, would pass the string limit is refused before f builds it.
func grownStrFn(name string, longest func(s string) int64, f func(string) string) func(*vm.Thread, []vm.Value) (vm.Value, error) {
	g := strFn(name, f)
	return func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		if v := arg(args, 0); v.Kind() == vm.KString {
			if n := longest(v.AsString()); n > vm.MaxStringBytes {
				return vm.Nil, vm.StringTooLarge(name, int(n))
			}
		}
		return g(t, args)
	}
}

// times is the longest result of an f that makes at most num/den bytes
// of a byte.
func times(num, den int64) func(s string) int64 {
	return func(s string) int64 { return (int64(len(s))*num + den - 1) / den }
}

// caseMapped is the longest result of a case mapping that keeps ASCII
// text as long as it is and makes at most num/den bytes of a byte of
// other text (upper makes the two bytes of ΐ six).
func caseMapped(num, den int64) func(s string) int64 {
	return func(s string) int64 {
		if isASCII(s) {
			return int64(len(s))
		}
		return times(num, den)(s)
	}
}

// strFn adapts a string -> string function.
func strFn(name string, f func(string) string) func(*vm.Thread, []vm.Value) (vm.Value, error) {
	return func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		v := arg(args, 0)
		if v.Kind() != vm.KString {
			return vm.Nil, typeErr(name, "String", v)
		}
		s := v.AsString()
		r := f(s)
		if r == s {
			return v, nil
		}
		return vm.Str(r), nil
	}
}

func trimFn(name string, space func(string) string, cut func(string, string) string) func(*vm.Thread, []vm.Value) (vm.Value, error) {
	return func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		s, err := str(name, args, 0)
		if err != nil {
			return vm.Nil, err
		}
		if has(args, 1) {
			chars, err := str(name, args, 1)
			if err != nil {
				return vm.Nil, err
			}
			return vm.Str(cut(s, chars)), nil
		}
		return vm.Str(space(s)), nil
	}
}

func str2Bool(name string, f func(string, string) bool) func(*vm.Thread, []vm.Value) (vm.Value, error) {
	return func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		s, err := str(name, args, 0)
		if err != nil {
			return vm.Nil, err
		}
		x, err := str(name, args, 1)
		if err != nil {
			return vm.Nil, err
		}
		return vm.Bool(f(s, x)), nil
	}
}

// ---------------------------------------------------------------- helpers

func stringsContains(s, sub string) bool { return strings.Contains(s, sub) }

// runeCount counts characters (see vm.RuneLen).
func runeCount(s string) int { return vm.RuneLen(s) }

// stringIndex returns the character index of the first (or last)
// occurrence of sub in s, or -1.
func stringIndex(s, sub string, last bool) int {
	var i int
	if last {
		i = strings.LastIndex(s, sub)
	} else {
		i = strings.Index(s, sub)
	}
	if i < 0 {
		return -1
	}
	return runeCount(s[:i])
}

// runeOffset returns the byte offset just after the first n characters
// of s (len(s) when s is shorter).
func runeOffset(s string, n int64) int {
	return vm.RuneOffset(s, int(min(n, int64(len(s))))) // (past len(s) characters is past the end)
}

func lastRune(s string) (rune, int) { return utf8.DecodeLastRuneInString(s) }

func reverseString(s string) string {
	b := make([]byte, 0, len(s))
	for i := len(s); i > 0; {
		_, size := utf8.DecodeLastRuneInString(s[:i])
		b = append(b, s[i-size:i]...)
		i -= size
	}
	return string(b)
}

// charRange returns the byte range of characters [i, j) of s.
func charRange(s string, i, j int) (int, int) {
	a := runeOffset(s, int64(i))
	if j-i < 64 {
		// A few characters on: walked (s[a:] is a string of its own,
		// whose offsets are not kept).
		return a, a + vm.RuneOffset(s[a:min(len(s), a+4*(j-i))], j-i)
	}
	return a, runeOffset(s, int64(j))
}

// ---------------------------------------------------------------- builtins

func bSplit(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	s, err := str("split", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	if !has(args, 1) {
		if n := countFields(s); n > vm.MaxListLen {
			return vm.Nil, vm.ListTooLong("split", int64(n))
		}
		return strList(fields(s)), nil
	}
	if asRegex(args[1]) != nil {
		return bRegexSplit(t, args)
	}
	sep, err := str("split", args, 1)
	if err != nil {
		return vm.Nil, err
	}
	if s == "" && sep != "" {
		return strList([]string{""}), nil
	}
	n := utf8.RuneCountInString(s)
	if sep != "" {
		n = strings.Count(s, sep) + 1
	}
	if n > vm.MaxListLen {
		return vm.Nil, vm.ListTooLong("split", int64(n))
	}
	return strList(strings.Split(s, sep)), nil
}

// jsSpace reports whether r is white space as JavaScript's trim and
// split(/\s+/) have it: Unicode's White_Space but NEL (U+0085), and the
// byte-order mark (U+FEFF), which a file's first line may begin with.
func jsSpace(r rune) bool { return r == '\uFEFF' || r != '\u0085' && unicode.IsSpace(r) }

// fields are the words of s between jsSpace.
func fields(s string) []string { return strings.FieldsFunc(s, jsSpace) }

// trimSpace is s without the jsSpace at its ends.
func trimSpace(s string) string { return strings.TrimFunc(s, jsSpace) }

// countFields is len(fields(s)), without building them.
func countFields(s string) int {
	n, in := 0, false
	for _, r := range s {
		space := jsSpace(r)
		if !space && !in {
			n++
		}
		in = !space
	}
	return n
}

func bJoin(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	if isTableJoin(args) {
		// join(users, orders, left: "id", right: "user_id"): tables.
		return bTableJoin(t, args)
	}
	if len(args) > 2 {
		return vm.Nil, vm.TypeErrorf("join takes 1 or 2 arguments (list, sep), got %d", len(args))
	}
	seq, sepv := arg(args, 0), arg(args, 1)
	if seq.Kind() == vm.KString && sepv.Kind() != vm.KString && !sepv.IsNil() {
		// sep.join(list), as Python writes it.
		seq, sepv = sepv, seq
	}
	sep := ","
	if !sepv.IsNil() {
		if sepv.Kind() != vm.KString {
			return vm.Nil, typeErr("join", "String separator", sepv)
		}
		sep = sepv.AsString()
	}
	xs, err := elems(t, "join", seq)
	if err != nil {
		return vm.Nil, err
	}
	parts := make([]string, len(xs))
	n := len(sep) * max(len(xs)-1, 0)
	for i, x := range xs {
		switch x.Kind() {
		case vm.KString:
			parts[i] = x.AsString()
		case vm.KNil:
			// (an empty part, as the reference's Array.join has it:
			// [1, nil, 3] joined by "," is "1,,3", no "nil" in a CSV)
		default:
			parts[i] = vm.ToString(x)
		}
		if n += len(parts[i]); n > vm.MaxStringBytes || n < 0 {
			return vm.Nil, vm.StringTooLarge("join", n)
		}
	}
	return vm.Str(strings.Join(parts, sep)), nil
}

func replace(t *vm.Thread, fname string, args []vm.Value, n int) (vm.Value, error) {
	s, err := str(fname, args, 0)
	if err != nil {
		return vm.Nil, err
	}
	if r := asRegex(arg(args, 1)); r != nil {
		// A regex: every match with g (replace), else the first, as in
		// JavaScript.
		if n < 0 && r.global() {
			return bRegexReplace(t, args)
		}
		return replaceFirstRegex(t, fname, s, r.re, arg(args, 2))
	}
	from, err := str(fname, args, 1)
	if err != nil {
		return vm.Nil, err
	}
	tov := arg(args, 2)
	var to string
	switch {
	case tov.Kind() == vm.KString:
		to = tov.AsString()
	case callable(tov):
		// A replacer function receives each match, then, as many of
		// these as it takes, the match's offset in characters and the
		// whole text, as JavaScript passes them.
		var b strings.Builder
		rest, count, take := s, 0, groupParams(tov)
		if from == "" {
			// An empty text matches before each character and at the
			// end, as the replacement text is put there (the function
			// was never called).
			i := 0
			for c := 0; n < 0 || c < n; c++ {
				params := []vm.Value{vm.Str(""), vm.Int(int64(c)), vm.Str(s)}
				r, err := callFn(t, tov, params[:min(take, len(params))]...)
				if err != nil {
					return vm.Nil, err
				}
				b.WriteString(vm.ToString(r))
				if b.Len()+len(s)-i > vm.MaxStringBytes {
					return vm.Nil, vm.StringTooLarge(fname, b.Len()+len(s)-i)
				}
				if i == len(s) {
					return vm.Str(b.String()), nil
				}
				_, w := utf8.DecodeRuneInString(s[i:])
				b.WriteString(s[i : i+w])
				i += w
			}
			b.WriteString(s[i:])
			return vm.Str(b.String()), nil
		}
		for from != "" {
			i := strings.Index(rest, from)
			if i < 0 || n >= 0 && count >= n {
				break
			}
			at := len(s) - len(rest) + i
			params := []vm.Value{vm.Str(rest[i : i+len(from)]), vm.Int(int64(utf8.RuneCountInString(s[:at]))), vm.Str(s)}
			r, err := callFn(t, tov, params[:min(take, len(params))]...)
			if err != nil {
				return vm.Nil, err
			}
			with := vm.ToString(r)
			if size := b.Len() + len(rest) - len(from) + len(with); size > vm.MaxStringBytes {
				return vm.Nil, vm.StringTooLarge(fname, size)
			}
			b.WriteString(rest[:i])
			b.WriteString(with)
			rest = rest[i+len(from):]
			count++
		}
		b.WriteString(rest)
		return vm.Str(b.String()), nil
	default:
		to = vm.ToString(tov)
	}
	if !strings.Contains(s, from) {
		return args[0], nil
	}
	// Counted first: each match may grow the text by len(to) bytes (an
	// empty from matches before every character and at the end).
	count := int64(1) // replace_first, the only n >= 0, and s holds from
	if n < 0 {
		count = int64(strings.Count(s, from))
	}
	if size := int64(len(s)) + count*int64(len(to)-len(from)); size > vm.MaxStringBytes {
		return vm.Nil, vm.StringTooLarge(fname, int(size))
	}
	return vm.Str(strings.Replace(s, from, to, n)), nil
}

// substr: characters [start, end) with negative indexes counting from the end.
func substr(fname string, args []vm.Value) (vm.Value, error) {
	s, err := str(fname, args, 0)
	if err != nil {
		return vm.Nil, err
	}
	n := runeCount(s)
	i, j, err := sliceBounds(fname, args, n)
	if err != nil {
		return vm.Nil, err
	}
	if n == len(s) {
		return vm.Str(s[i:j]), nil
	}
	a, b := charRange(s, i, j)
	return vm.Str(s[a:b]), nil
}

// substring follows JavaScript: negative indexes are 0, and the bounds
// are swapped when start > end.
func bSubstring(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	s, err := str("substring", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	n := int64(runeCount(s))
	start, err := optInt("substring", args, 1, 0)
	if err != nil {
		return vm.Nil, err
	}
	end, err := optInt("substring", args, 2, n)
	if err != nil {
		return vm.Nil, err
	}
	start, end = min(max(start, 0), n), min(max(end, 0), n)
	if start > end {
		start, end = end, start
	}
	a, b := charRange(s, int(start), int(end))
	return vm.Str(s[a:b]), nil
}

// padded is s with left characters of fill before it and right after
// it, refused when it would pass the string limit.
func padded(fname, s, fill string, left, right int) (vm.Value, error) {
	fc := runeCount(fill)
	size := func(w int) int64 { // whole fills, then the first characters of one
		return int64(w/fc)*int64(len(fill)) + int64(runeOffset(fill, int64(w%fc)))
	}
	if n := size(left) + int64(len(s)) + size(right); n > vm.MaxStringBytes {
		return vm.Nil, vm.StringTooLarge(fname, int(n))
	}
	pad := func(w int) string { return strings.Repeat(fill, w/fc) + fill[:runeOffset(fill, int64(w%fc))] }
	return vm.Str(pad(left) + s + pad(right)), nil
}

func padArgs(fname string, args []vm.Value) (s string, gap int, fill string, err error) {
	if s, err = str(fname, args, 0); err != nil {
		return
	}
	n, err := intArg(fname, args, 1)
	if err != nil {
		return
	}
	if fill, err = optStr(fname, args, 2, " "); err != nil {
		return
	}
	if n > maxStringBytes {
		err = valueErr("%s: width %d is too large", fname, n)
		return
	}
	gap = max(int(n), 0) - runeCount(s) // a negative width pads nothing
	return
}

func pad(fname string, args []vm.Value, start bool) (vm.Value, error) {
	s, gap, fill, err := padArgs(fname, args)
	if err != nil {
		return vm.Nil, err
	}
	if gap <= 0 || fill == "" {
		return args[0], nil
	}
	if start {
		return padded(fname, s, fill, gap, 0)
	}
	return padded(fname, s, fill, 0, gap)
}

func bCenter(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	s, gap, fill, err := padArgs("center", args)
	if err != nil {
		return vm.Nil, err
	}
	if gap <= 0 || fill == "" {
		return args[0], nil
	}
	return padded("center", s, fill, gap/2, gap-gap/2)
}

func bRepeat(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	s, err := str("repeat", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	n, err := intArg("repeat", args, 1)
	if err != nil {
		return vm.Nil, err
	}
	if n < 0 {
		return vm.Nil, valueErr("repeat: count must not be negative, got %d", n)
	}
	if len(s) > 0 && n > int64(maxStringBytes/len(s)) {
		return vm.Nil, valueErr("repeat: result is too large")
	}
	return vm.Str(strings.Repeat(s, int(n))), nil
}

func bChars(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	s, err := str("chars", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	n := utf8.RuneCountInString(s)
	if n > vm.MaxListLen {
		return vm.Nil, vm.ListTooLong("chars", int64(n))
	}
	out := make([]vm.Value, 0, n)
	for i := 0; i < len(s); {
		size := 1
		if s[i] >= utf8.RuneSelf {
			_, size = utf8.DecodeRuneInString(s[i:])
		}
		out = append(out, vm.Str(s[i:i+size]))
		i += size
	}
	return newList(out), nil
}

func bLines(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	s, err := str("lines", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	if n := int64(strings.Count(s, "\n")) + 1; n > vm.MaxListLen {
		return vm.Nil, vm.ListTooLong("lines", n)
	}
	parts := strings.Split(s, "\n")
	for i, l := range parts {
		parts[i] = strings.TrimSuffix(l, "\r")
	}
	return strList(parts), nil
}

func bCharAt(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	s, err := str("char_at", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	i, err := intArg("char_at", args, 1)
	if err != nil {
		return vm.Nil, err
	}
	if i < 0 {
		return vm.Nil, nil
	}
	return vm.CharAt(s, i), nil
}

func capitalize(s string) string {
	r, size := utf8.DecodeRuneInString(s)
	if size == 0 || unicode.IsUpper(r) || !unicode.IsLetter(r) {
		return s
	}
	return string(unicode.ToUpper(r)) + s[size:]
}

func isWordRune(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

// titleCase uppercases every letter that starts a word.
func titleCase(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	prevWord := false
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			b.WriteByte(s[i]) // a byte that is not UTF-8, kept as it is
		case !prevWord && unicode.IsLetter(r):
			b.WriteRune(unicode.ToUpper(r))
		default:
			b.WriteRune(r)
		}
		if r != '\'' && r != '’' {
			prevWord = isWordRune(r)
		}
	}
	return b.String()
}

// splitWords cuts an identifier-like text into words: at non-alphanumeric
// characters and at case changes (helloWorld, XMLParser, v2Beta).
func splitWords(s string) []string {
	var words []string
	rs := []rune(s)
	start := -1
	flush := func(end int) {
		if start >= 0 && end > start {
			words = append(words, string(rs[start:end]))
		}
		start = -1
	}
	for i, r := range rs {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			flush(i)
			continue
		}
		if start < 0 {
			start = i
			continue
		}
		prev := rs[i-1]
		switch {
		case unicode.IsUpper(r) && (unicode.IsLower(prev) || unicode.IsDigit(prev)):
			flush(i)
			start = i
		case unicode.IsUpper(r) && unicode.IsUpper(prev) && i+1 < len(rs) && unicode.IsLower(rs[i+1]):
			flush(i)
			start = i
		}
	}
	flush(len(rs))
	return words
}

func lowerWord(w string, _ int) string { return strings.ToLower(w) }

func joinWords(s, sep string, f func(string, int) string) string {
	words := splitWords(s)
	for i, w := range words {
		words[i] = f(w, i)
	}
	return strings.Join(words, sep)
}

func camelCase(s string) string {
	return joinWords(s, "", func(w string, i int) string {
		w = strings.ToLower(w)
		if i == 0 {
			return w
		}
		return capitalize(w)
	})
}

func bCountOf(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	s, err := str("count_of", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	sub, err := str("count_of", args, 1)
	if err != nil {
		return vm.Nil, err
	}
	if sub == "" {
		return vm.Int(0), nil
	}
	return vm.Int(int64(strings.Count(s, sub))), nil
}

func bTruncate(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	s, err := str("truncate", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	n, err := intArg("truncate", args, 1)
	if err != nil {
		return vm.Nil, err
	}
	suffix, err := optStr("truncate", args, 2, "...")
	if err != nil {
		return vm.Nil, err
	}
	if n < 0 {
		return vm.Nil, vm.Errorf("ValueError", "truncate: n must not be negative, got %d", n)
	}
	if int64(runeCount(s)) <= n {
		return args[0], nil
	}
	if sl := int64(runeCount(suffix)); n <= sl {
		// at most n characters, as the reference's docs have it: the
		// suffix cut too ("abcdef" to 2 was "...", 3 of them)
		return vm.Str(suffix[:runeOffset(suffix, n)]), nil
	}
	keep := n - int64(runeCount(suffix))
	return vm.Str(s[:runeOffset(s, keep)] + suffix), nil
}

func slugify(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		} else {
			dash = true
		}
	}
	return b.String()
}

var htmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;")

func escapeHTML(s string) string { return htmlEscaper.Replace(s) }

func dedent(s string) string {
	lines := strings.Split(s, "\n")
	common := -1
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		n := len(l) - len(strings.TrimLeft(l, " \t"))
		if common < 0 || n < common {
			common = n
		}
	}
	if common <= 0 {
		return s
	}
	for i, l := range lines {
		if len(l) >= common {
			lines[i] = l[common:]
		} else {
			lines[i] = strings.TrimLeft(l, " \t")
		}
	}
	return strings.Join(lines, "\n")
}

func bIndentStr(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	s, err := str("indent_str", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	n, err := intArg("indent_str", args, 1)
	if err != nil {
		return vm.Nil, err
	}
	ch, err := optStr("indent_str", args, 2, " ")
	if err != nil {
		return vm.Nil, err
	}
	if n < 0 || n > 1<<20 {
		return vm.Nil, valueErr("indent_str: width %d out of range", n)
	}
	count := int64(strings.Count(s, "\n")) + 1
	if count > vm.MaxListLen {
		return vm.Nil, vm.ListTooLong("indent_str", count)
	}
	// Checked before the prefix is built: n copies of ch may be
	// gigabytes themselves.
	size := n * int64(len(ch))
	if size <= vm.MaxStringBytes {
		size = int64(len(s)) + count*size
	}
	if size > vm.MaxStringBytes {
		return vm.Nil, vm.StringTooLarge("indent_str", int(size))
	}
	prefix := strings.Repeat(ch, int(n))
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return vm.Str(strings.Join(lines, "\n")), nil
}

func bWordWrap(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	s, err := str("word_wrap", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	width, err := intArg("word_wrap", args, 1)
	if err != nil {
		return vm.Nil, err
	}
	if n := countFields(s); n > vm.MaxListLen {
		return vm.Nil, vm.ListTooLong("word_wrap", int64(n))
	}
	var b strings.Builder
	lineLen := 0
	for _, w := range fields(s) {
		wl := runeCount(w)
		switch {
		case lineLen == 0:
		case int64(lineLen+1+wl) > width:
			b.WriteByte('\n')
			lineLen = 0
		default:
			b.WriteByte(' ')
			lineLen++
		}
		b.WriteString(w)
		lineLen += wl
	}
	return vm.Str(b.String()), nil
}

// toUpper and toLower use Unicode's full case mappings, as JavaScript's
// toUpperCase and toLowerCase do: "ß" upper is "SS", a final Σ lower is
// ς. ASCII text takes the quick way.
func toUpper(s string) string {
	if isASCII(s) {
		return strings.ToUpper(s)
	}
	return cases.Upper(language.Und).String(s)
}

func toLower(s string) string {
	if isASCII(s) {
		return strings.ToLower(s)
	}
	return cases.Lower(language.Und).String(s)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
