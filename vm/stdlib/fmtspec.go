package stdlib

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"tova/vm"
)

// bFmt fills a template as the reference's fmt does: each {} takes the
// next argument, as does {k} (any text k), unless the only argument is
// an object, whose field k it then takes ({name}); {{ and }} are
// braces; a placeholder with no value left is kept as written. After a
// colon comes a spec, [[fill]align][sign][width][,][.precision][type]:
// align <, > (the default) or ^; sign + or ' '; type f (fixed, 6 places
// by default), % (a percentage), $ (dollars and cents, with commas), b,
// o, x, X (an unsigned 32-bit integer's digits) or s (text, cut to the
// precision); a number with a precision and no type is fixed to it.
func bFmt(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	tmpl, err := str("fmt", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	var named *vm.Object
	if len(args) == 2 && args[1].Kind() == vm.KObject {
		named = args[1].AsObject()
	}
	var b strings.Builder
	next := 1
	for pos := 0; pos < len(tmpl); {
		c := tmpl[pos]
		if (c == '{' || c == '}') && pos+1 < len(tmpl) && tmpl[pos+1] == c {
			b.WriteByte(c)
			pos += 2
			continue
		}
		end := -1
		if c == '{' {
			end = strings.IndexByte(tmpl[pos+1:], '}')
		}
		if end < 0 {
			b.WriteByte(c)
			pos++
			continue
		}
		inner := tmpl[pos+1 : pos+1+end]
		pos += end + 2
		key, spec, _ := strings.Cut(inner, ":")
		var v vm.Value
		switch {
		case named != nil && key != "":
			x, ok := named.Get(key)
			if !ok {
				b.WriteString("{" + inner + "}")
				continue
			}
			v = x
		case next < len(args):
			v = args[next]
			next++
		default:
			b.WriteString("{" + inner + "}")
			continue
		}
		text := vm.ToString(v)
		if spec != "" {
			if text, err = formatSpec(v, spec); err != nil {
				return vm.Nil, err
			}
		}
		if size := b.Len() + len(text) + len(tmpl) - pos; size > vm.MaxStringBytes {
			return vm.Nil, vm.StringTooLarge("fmt", size)
		}
		b.WriteString(text)
	}
	return vm.Str(b.String()), nil
}

// formatSpec gives v formatted by spec (see bFmt).
func formatSpec(v vm.Value, spec string) (string, error) {
	whole := spec
	fill, align, filled := " ", byte(0), false
	if r, n := utf8.DecodeRuneInString(spec); n < len(spec) && isAlign(spec[n]) {
		fill, align, filled = string(r), spec[n], true
		spec = spec[n+1:]
	} else if spec != "" && isAlign(spec[0]) {
		align = spec[0]
		spec = spec[1:]
	}
	sign := byte(0)
	if spec != "" && (spec[0] == '+' || spec[0] == '-' || spec[0] == ' ') {
		sign = spec[0]
		spec = spec[1:]
	}
	if len(spec) > 1 && spec[0] == '0' && spec[1] >= '0' && spec[1] <= '9' {
		// {:02d}, {:08.3f}: Python's zero padding, after the sign (it
		// was read as the width, padded with spaces); of a number
		// only, and as the fill of an alignment given ({:<05}).
		if v.IsNumber() && !filled {
			fill = "0"
			if align == 0 {
				align = '='
			}
		}
		spec = spec[1:]
	}
	width, hasWidth := 0, false
	digits := spec
	for spec != "" && spec[0] >= '0' && spec[0] <= '9' {
		// (bounded far past the limit, so that the error names the
		// size asked for: 99999999999 is 93 GiB, not "1.0 GiB")
		width = min(width*10+int(spec[0]-'0'), 1<<50)
		hasWidth = true
		spec = spec[1:]
	}
	if width == 1<<50 {
		return "", vm.Errorf("ValueError", "fmt: the width %s is over the limit of a string, 1 GiB", digits[:len(digits)-len(spec)])
	}
	comma := false
	if spec != "" && spec[0] == ',' {
		comma = true
		spec = spec[1:]
	}
	precision := -1
	if spec != "" && spec[0] == '.' {
		spec = spec[1:]
		precision = 0
		for spec != "" && spec[0] >= '0' && spec[0] <= '9' {
			precision = min(precision*10+int(spec[0]-'0'), vm.MaxStringBytes)
			spec = spec[1:]
		}
	}
	typ := byte(0)
	if spec != "" {
		typ = spec[0]
		if strings.IndexByte("fs%$boxXd", typ) < 0 || len(spec) > 1 {
			// ({:zz} was the value as it is, without a word)
			hint := ""
			if _, ok := v.AsHostOK().(*Date); ok {
				hint = `: a Date's text is date_format(d, "YYYY-MM-DD")`
			}
			return "", vm.Errorf("ValueError", "fmt: {:%s}: %q is no format type (the spec is [[fill]align][sign][0][width][,][.precision][type], the type one of f, %%, $, b, o, x, X, s and d)%s", whole, spec, hint)
		}
		if typ == 'd' {
			typ = 0 // (Python's {:d}: the number as it is)
		}
	}
	if precision > 100 && (v.IsNumber() || typ != 0 && typ != 's') {
		// (it was cut to 100 unsaid; the reference's toFixed refuses
		// it; a text's precision cuts it, at any length)
		return "", vm.Errorf("ValueError", "fmt: a number's precision is at most 100 digits")
	}
	isNum := v.IsNumber()
	num := numberOf(v)
	var s string
	switch typ {
	case 'b', 'o', 'x', 'X':
		base := map[byte]int{'b': 2, 'o': 8, 'x': 16, 'X': 16}[typ]
		s = strconv.FormatUint(uint64(toUint32(num)), base)
		if typ == 'X' {
			s = strings.ToUpper(s)
		}
	case 'f':
		s = jsFixed(num, orDefault(precision, 6))
	case '%':
		if precision >= 0 {
			s = jsFixed(num*100, precision) + "%"
		} else {
			s = vm.ToString(vm.Float(math.Round(num*100*1e10)/1e10)) + "%"
		}
	case '$':
		s = "$" + withCommas(jsFixed(math.Abs(num), 2))
		if num < 0 {
			s = "-" + s
		}
	case 's':
		s = vm.ToString(v)
		if precision >= 0 && utf8.RuneCountInString(s) > precision {
			s = string([]rune(s)[:precision])
		}
	default:
		if isNum && precision >= 0 && typ == 0 {
			s = jsFixed(num, precision)
		} else {
			s = vm.ToString(v)
		}
	}
	if comma && typ != '$' {
		s = withCommas(s)
	}
	if sign != 0 && typ != '$' && typ != '%' && isNum {
		s = strings.TrimLeft(s, "+-")
		switch {
		case num < 0:
			s = "-" + s
		case sign == '+' || sign == ' ':
			s = string(sign) + s
		}
	}
	if n := utf8.RuneCountInString(s); hasWidth && n < width {
		if width*len(fill) > vm.MaxStringBytes {
			return "", vm.StringTooLarge("fmt", width*len(fill))
		}
		pad := width - n
		switch align {
		case '=':
			// after the sign, and a dollar sign: -0003.142, -$003.50
			at := 0
			if isNum && s != "" && (s[0] == '-' || s[0] == '+' || s[0] == ' ') {
				at = 1
			}
			if isNum && strings.HasPrefix(s[at:], "$") {
				at++
			}
			s = s[:at] + strings.Repeat(fill, pad) + s[at:]
		case '<':
			s += strings.Repeat(fill, pad)
		case '^':
			s = strings.Repeat(fill, pad/2) + s + strings.Repeat(fill, pad-pad/2)
		default:
			s = strings.Repeat(fill, pad) + s
		}
	}
	return s, nil
}

func isAlign(c byte) bool { return c == '<' || c == '>' || c == '^' || c == '=' }

// orDefault is p, or def when p is unset (negative).
func orDefault(p, def int) int {
	if p < 0 {
		return def
	}
	return p
}

// numberOf is v as JavaScript's Number(v) reads it: a Bool as 0 or 1,
// nil as 0, a string's number (NaN when it is none).
func numberOf(v vm.Value) float64 {
	switch v.Kind() {
	case vm.KInt, vm.KFloat:
		return v.Number()
	case vm.KBool:
		if v.AsBool() {
			return 1
		}
		return 0
	case vm.KNil:
		return 0
	case vm.KString:
		s := strings.TrimSpace(v.AsString())
		if s == "" {
			return 0
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return f
		}
	}
	return math.NaN()
}

// toUint32 is JavaScript's x >>> 0.
func toUint32(x float64) uint32 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	return uint32(int64(math.Mod(math.Trunc(x), 1<<32)))
}

// jsFixed is JavaScript's x.toFixed(p), Infinity and NaN included.
func jsFixed(x float64, p int) string {
	switch {
	case math.IsInf(x, 1):
		return "Infinity"
	case math.IsInf(x, -1):
		return "-Infinity"
	}
	return toFixed(x, p)
}

// withCommas groups the digits of a number's integer part by thousands.
func withCommas(s string) string {
	intPart, frac := s, ""
	if i := strings.IndexByte(s, '.'); i >= 0 {
		intPart, frac = s[:i], s[i:]
	}
	sign := ""
	if intPart != "" && (intPart[0] == '-' || intPart[0] == '+') {
		sign, intPart = intPart[:1], intPart[1:]
	}
	var b strings.Builder
	for i := 0; i < len(intPart); i++ {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteByte(intPart[i])
	}
	return sign + b.String() + frac
}
