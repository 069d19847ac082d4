package stdlib

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"tova/internal/jsonstr"
	"unicode/utf16"
	"unicode/utf8"

	"tova/vm"
)

// JSONValuer is implemented by host objects that serialise to JSON as a
// Tova value (a table as its list of rows, a date as its ISO text).
// Host objects may instead implement json.Marshaler.
type JSONValuer interface {
	JSONValue() vm.Value
}

// maxJSONDepth bounds nesting when writing (cyclic values) and reading.
// A request's body is read to half of it (ParseJSONFiniteString), so
// that what a client sends can be wrapped in more levels (a row holding
// it, an answer holding the row) and still be written: a body at the
// limit was stored, and every answer holding it failed.
const (
	maxJSONDepth     = 10000
	maxJSONBodyDepth = maxJSONDepth / 2
)

func registerJSON() {
	stringify := &vm.Builtin{Name: "JSON.stringify", Params: ps("value", "replacer", "indent"), Fn: bJSONStringify}
	parse := &vm.Builtin{Name: "JSON.parse", Params: ps("text", "reviver"), Fn: bJSONParse}
	vm.RegisterValue("JSON", NewNamespace("JSON", map[string]vm.Value{
		"stringify": vm.BuiltinValue(stringify),
		"parse":     vm.BuiltinValue(parse),
	}))

	reg("json_stringify", ps("value", "indent"), bJSONStringify)
	alias("json_stringify", "jsonStringify", "to_json")
	reg("json_pretty", ps("value"), func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		b, err := AppendJSONIndent(t, nil, arg(args, 0), "  ")
		if e, ok := err.(*vm.Error); ok && strings.HasPrefix(e.Msg, "JSON.stringify: ") {
			// The encoder's words name JSON.stringify; this is json_pretty.
			c := *e
			c.Msg = "json_pretty: " + strings.TrimPrefix(e.Msg, "JSON.stringify: ")
			return vm.Nil, &c
		}
		if err != nil {
			return vm.Nil, err
		}
		return vm.Str(string(b)), nil
	})
	alias("json_pretty", "jsonPretty")
	// json_parse returns a Result instead of raising.
	reg("json_parse", ps("text"), func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		s, err := str("json_parse", args, 0)
		if err != nil {
			if len(args) != 1 {
				return vm.Nil, err
			}
			// (a field that is no text, json_parse(req.body.x): an Err,
			// as bad text is, for the caller's match)
			return vm.Err(vm.Str(errMessage(err))), nil
		}
		v, err := ParseJSONString(s)
		if err != nil {
			return vm.Err(vm.Str(errMessage(err))), nil
		}
		return vm.Ok(v), nil
	})
	alias("json_parse", "jsonParse")
}

func jsonIndent(v vm.Value) (string, error) {
	switch v.Kind() {
	case vm.KNil:
		return "", nil
	case vm.KInt:
		return strings.Repeat(" ", int(min(max(v.AsInt(), 0), 10))), nil
	case vm.KFloat:
		n, _ := toInt(vm.Float(math.Floor(v.AsFloat())))
		return strings.Repeat(" ", int(min(max(n, 0), 10))), nil
	case vm.KString:
		s := v.AsString()
		return s[:runeOffset(s, 10)], nil
	}
	return "", typeErr("JSON.stringify", "Int or String indent", v)
}

// JSON.stringify(value, replacer, indent), as JavaScript's: replacer
// is a function of (key, value) whose result is written in the value's
// place (a nil leaves an object's key out, and is null in a list), or a
// list of the keys objects keep; JSON.stringify(value, indent) and
// json_stringify(value, indent) take the indent second.
func bJSONStringify(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	if len(args) > 3 {
		return vm.Nil, vm.TypeErrorf("JSON.stringify takes 1 to 3 arguments (value, replacer, indent), got %d", len(args))
	}
	v, ind := arg(args, 0), arg(args, 1)
	if r := arg(args, 1); r.IsCallable() || r.Kind() == vm.KArray || len(args) == 3 {
		ind = arg(args, 2)
		if !r.IsNil() {
			var err error
			if v, err = replaced(t, r, v); err != nil {
				return vm.Nil, err
			}
		}
	}
	indent, err := jsonIndent(ind)
	if err != nil {
		return vm.Nil, err
	}
	b, err := AppendJSONIndent(t, nil, v, indent)
	if err != nil {
		return vm.Nil, err
	}
	return vm.Str(string(b)), nil
}

// replaced is v as JSON.stringify's replacer r makes it (see
// bJSONStringify): a function's results, down from the value itself
// (key ""), or the objects keeping only the keys r lists.
func replaced(t *vm.Thread, r vm.Value, v vm.Value) (vm.Value, error) {
	var keep []string
	if r.Kind() == vm.KArray {
		for _, k := range r.AsArray().Elems {
			switch k.Kind() {
			case vm.KString, vm.KInt, vm.KFloat:
				keep = append(keep, vm.ToString(k))
			default:
				return vm.Nil, vm.TypeErrorf("JSON.stringify: the replacer list holds %s: it lists the keys to keep, as Strings", vm.TypeName(k))
			}
		}
		r = vm.Nil
	} else if !r.IsCallable() {
		return vm.Nil, typeErr("JSON.stringify", "a replacer Function or list of keys", r)
	}
	var walk func(key string, v vm.Value, depth int) (vm.Value, error)
	walk = func(key string, v vm.Value, depth int) (vm.Value, error) {
		if depth > maxJSONDepth {
			return vm.Nil, vm.Errorf("ValueError", "JSON.stringify: the value is nested more than %d levels deep, or holds itself", maxJSONDepth)
		}
		if !r.IsNil() {
			var err error
			if v, err = t.Call(r, vm.Str(key), v); err != nil {
				return vm.Nil, err
			}
		}
		switch v.Kind() {
		case vm.KArray:
			// (as JavaScript's: the elements the list has when it
			// begins, each read at its turn, which a replacer that
			// changes the list may have moved or removed)
			a := v.AsArray()
			out := make([]vm.Value, len(a.Elems))
			for i := range out {
				e := vm.Nil
				if i < len(a.Elems) {
					e = a.Elems[i]
				}
				c, err := walk(strconv.Itoa(i), e, depth+1)
				if err != nil {
					return vm.Nil, err
				}
				out[i] = c
			}
			return vm.NewArray(out), nil
		case vm.KObject:
			o := v.AsObject()
			out := vm.NewObject()
			if ti := o.Type; ti != nil && ti.Variant >= 0 && (o.Len() == 0 || ti.ADT != vm.ResultADT && ti.ADT != vm.OptionADT) {
				// (a variant as JSON.stringify writes it: its tag, then
				// its fields; Some(x) is { value: x }, Err(e) { error: e })
				out.Set("__tag", vm.Str(ti.Tag))
			}
			// (the keys it has when it begins, each value read at its
			// turn: a key the replacer removed reads as nil)
			for _, k := range slices.Clone(o.Keys()) {
				if keep != nil && !slices.Contains(keep, k) {
					continue
				}
				x, _ := o.Get(k)
				c, err := walk(k, x, depth+1)
				if err != nil {
					return vm.Nil, err
				}
				if !c.IsNil() {
					out.Set(k, c)
				}
			}
			return vm.ObjectValue(out), nil
		}
		return v, nil
	}
	return walk("", v, 0)
}

// JSON.parse(text, reviver), as JavaScript's: reviver, a function of
// (key, value), is called on each value parsed, innermost first, its
// result kept in the value's place (a nil leaves an object's key out).
func bJSONParse(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	if len(args) > 2 {
		return vm.Nil, vm.TypeErrorf("JSON.parse takes 1 or 2 arguments (text, reviver), got %d", len(args))
	}
	switch vm.VariantOf(arg(args, 0)) {
	case vm.OkType, vm.ErrType, vm.SomeType, vm.NoneType:
		// JSON.parse(fs.read_text(path)): a Result, whose text is
		// inside
		return vm.Nil, vm.TypeErrorf("JSON.parse: expected String, got %s, a Result or an Option around the text: take the text out first, JSON.parse(x.unwrap()), or x? in a function", vm.TypeName(arg(args, 0)))
	}
	if k := arg(args, 0).Kind(); k == vm.KObject || k == vm.KArray {
		// JSON.parse(req.body): a JSON body is parsed already
		return vm.Nil, vm.TypeErrorf("JSON.parse: expected String, got %s: this value is parsed already (a JSON request's req.body is: read its fields, req.body.name)", vm.TypeName(arg(args, 0)))
	}
	s, err := str("JSON.parse", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	v, err := ParseJSONString(s)
	if err != nil || !has(args, 1) {
		return v, err
	}
	r := args[1]
	if !r.IsCallable() {
		return vm.Nil, typeErr("JSON.parse", "a reviver Function", r)
	}
	var walk func(key string, v vm.Value) (vm.Value, error)
	walk = func(key string, v vm.Value) (vm.Value, error) {
		switch v.Kind() {
		case vm.KArray:
			a := v.AsArray()
			for i, e := range a.Elems {
				c, err := walk(strconv.Itoa(i), e)
				if err != nil {
					return vm.Nil, err
				}
				a.Elems[i] = c
			}
		case vm.KObject:
			o := v.AsObject()
			for _, k := range o.Keys() {
				e, _ := o.Get(k)
				c, err := walk(k, e)
				if err != nil {
					return vm.Nil, err
				}
				if c.IsNil() {
					o.Delete(k)
				} else {
					o.Set(k, c)
				}
			}
		}
		return t.Call(r, vm.Str(key), v)
	}
	return walk("", v)
}

// ---------------------------------------------------------------- writing

// AppendJSON appends the compact JSON form of v to dst: keys in insertion
// order, integral floats without a fraction, records as their fields,
// Ok/Some as {"value":v}, Err as {"error":e}, None as {"__tag":"None"},
// other variants as {"__tag":"Name",fields...}, durations as
// milliseconds, sizes as bytes. Functions are left out of objects (null
// in lists). t may be nil; it is needed only to serialise lazy sequences.
func AppendJSON(t *vm.Thread, dst []byte, v vm.Value) ([]byte, error) {
	return AppendJSONIndent(t, dst, v, "")
}

// AppendJSONIndent is AppendJSON with one line per element, indented by
// indent per level (compact when indent is empty), as JSON.stringify(v,
// nil, indent) does in JavaScript.
func AppendJSONIndent(t *vm.Thread, dst []byte, v vm.Value, indent string) ([]byte, error) {
	e := encoder{t: t, buf: dst, indent: indent}
	return e.done(dst, v)
}

// AppendJSONAnswer is AppendJSON for a handler's answer: a function
// anywhere in it is a TypeError (JSON.stringify leaves it out of an
// object, and writes null for it in a list: a missing call, `{ users:
// get_users }`, answered {}), and a value too deep to write (one that
// holds itself) says so of the answer.
func AppendJSONAnswer(t *vm.Thread, dst []byte, v vm.Value) ([]byte, error) {
	e := encoder{t: t, buf: dst, answer: true}
	return e.done(dst, v)
}

// AppendJSONFinite is AppendJSON for a value sent to a job or another
// server, where a Float that is not finite is a ValueError, not the null
// JSON.stringify writes (internal/wire refuses them in lists and
// objects; this finds them in lazy sequences, which only encoding runs).
func AppendJSONFinite(t *vm.Thread, dst []byte, v vm.Value) ([]byte, error) {
	e := encoder{t: t, buf: dst, finite: true}
	return e.done(dst, v)
}

// AppendJSONExact is AppendJSON for a value another server reads back
// (a call's arguments and result): a whole Float keeps a fraction (2.0,
// 1000000000000000000.0), which ParseJSON reads as a Float again, where
// JSON.stringify writes 2 and the other side got an Int. finite makes a
// Float that is not finite a ValueError, as AppendJSONFinite does.
func AppendJSONExact(t *vm.Thread, dst []byte, v vm.Value, finite bool) ([]byte, error) {
	e := encoder{t: t, buf: dst, finite: finite, floats: true}
	return e.done(dst, v)
}

// done encodes v after dst, which it returns unchanged on an error.
func (e *encoder) done(dst []byte, v vm.Value) ([]byte, error) {
	if err := e.value(v, 0); err != nil {
		return dst, err
	}
	if len(e.buf) > maxStringBytes {
		return dst, vm.StringTooLarge("JSON.stringify", len(e.buf))
	}
	return e.buf, nil
}

type encoder struct {
	t      *vm.Thread
	buf    []byte
	indent string
	finite bool // a Float that is not finite is an error (AppendJSONFinite)
	floats bool // a whole Float keeps a fraction (AppendJSONExact)
	answer bool // a handler's answer (AppendJSONAnswer)
}

// funcInAnswer is the error of a function in a handler's answer.
func funcInAnswer(v vm.Value) error {
	return vm.TypeErrorf("the handler's answer holds a function, %s, not a value: call it, or leave it out", vm.Repr(v))
}

func (e *encoder) newline(depth int) {
	if e.indent == "" {
		return
	}
	e.buf = append(e.buf, '\n')
	for i := 0; i < depth; i++ {
		e.buf = append(e.buf, e.indent...)
	}
}

func isFunc(v vm.Value) bool {
	switch v.Kind() {
	case vm.KFunc, vm.KBuiltin, vm.KType:
		return true
	}
	return false
}

func (e *encoder) value(v vm.Value, depth int) error {
	if depth > maxJSONDepth {
		if e.answer {
			return valueErr("the handler's answer is nested too deep to be written as JSON (%d levels): does it hold itself?", maxJSONDepth)
		}
		return valueErr("JSON.stringify: value is too deeply nested (cyclic?)")
	}
	if len(e.buf) > maxStringBytes {
		// Lists that share sublists can make the text of a small value
		// exponentially long.
		return vm.StringTooLarge("JSON.stringify", len(e.buf))
	}
	switch v.Kind() {
	case vm.KNil:
		e.buf = append(e.buf, "null"...)
	case vm.KBool:
		if v.AsBool() {
			e.buf = append(e.buf, "true"...)
		} else {
			e.buf = append(e.buf, "false"...)
		}
	case vm.KInt:
		e.buf = strconv.AppendInt(e.buf, v.AsInt(), 10)
	case vm.KFloat:
		f := v.AsFloat()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			if e.finite {
				return valueErr("a value is %s: JSON has no form for a Float that is not finite (Infinity, -Infinity, NaN)", FormatNumber(f))
			}
			e.buf = append(e.buf, "null"...)
		} else if e.floats {
			start := len(e.buf)
			if math.Signbit(f) && f == 0 {
				e.buf = append(e.buf, '-') // (appendNumber writes -0 as 0)
			}
			e.buf = appendNumber(e.buf, f)
			if !bytes.ContainsAny(e.buf[start:], ".e") {
				e.buf = append(e.buf, ".0"...)
			}
		} else {
			e.buf = appendNumber(e.buf, f)
		}
	case vm.KString:
		return e.str(v.AsString())
	case vm.KDuration:
		ns := v.AsDuration()
		if ns%1e6 == 0 {
			e.buf = strconv.AppendInt(e.buf, ns/1e6, 10)
		} else {
			e.buf = appendNumber(e.buf, float64(ns)/1e6)
		}
	case vm.KSize:
		e.buf = strconv.AppendInt(e.buf, v.AsSize(), 10)
	case vm.KArray:
		return e.array(v.AsArray().Elems, depth)
	case vm.KRange:
		return e.rangeInts(v.AsRange(), depth)
	case vm.KObject:
		return e.object(v.AsObject(), depth)
	case vm.KFunc, vm.KBuiltin, vm.KType:
		if e.answer {
			return funcInAnswer(v)
		}
		e.buf = append(e.buf, "null"...)
	case vm.KHost:
		return e.host(v, depth)
	default:
		return vm.TypeErrorf("JSON.stringify: cannot serialise %s", vm.TypeName(v))
	}
	return nil
}

// rangeInts writes the numbers of a range as a list, one at a time (a
// range of millions was made a list first, and a handler answering one
// could be stopped neither at its deadline nor by the memory guard).
func (e *encoder) rangeInts(r *vm.RangeValue, depth int) error {
	n := r.Len()
	if n > maxMaterialize {
		// (as a list of that length could not be: refused before any work)
		return valueErr("JSON.stringify: range of %d elements is too large", n)
	}
	if n <= 0 {
		e.buf = append(e.buf, "[]"...)
		return nil
	}
	e.buf = append(e.buf, '[')
	for i := int64(0); i < n; i++ {
		if i&checkEvery == checkEvery {
			if err := e.check(); err != nil {
				return err
			}
		}
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.newline(depth + 1)
		x, _ := r.Index(i)
		e.buf = strconv.AppendInt(e.buf, x, 10)
	}
	e.newline(depth)
	e.buf = append(e.buf, ']')
	return nil
}

// checkEvery is how often, in elements, a long list's writing checks
// (see check): a mask, tested where the elements are written.
const checkEvery = 1<<16 - 1

// check, at every 64K-th element of a list, checks that the text is
// within the string limit and that the thread has not been stopped (a
// request past its deadline, or stopped by the memory guard).
func (e *encoder) check() error {
	if len(e.buf) > maxStringBytes {
		return vm.StringTooLarge("JSON.stringify", len(e.buf))
	}
	if e.t != nil {
		return cancelled(e.t)
	}
	return nil
}

func (e *encoder) array(xs []vm.Value, depth int) error {
	if len(xs) == 0 {
		e.buf = append(e.buf, "[]"...)
		return nil
	}
	e.buf = append(e.buf, '[')
	for i, x := range xs {
		if i&checkEvery == checkEvery {
			if err := e.check(); err != nil {
				return err
			}
		}
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.newline(depth + 1)
		if err := e.value(x, depth+1); err != nil {
			return err
		}
	}
	e.newline(depth)
	e.buf = append(e.buf, ']')
	return nil
}

// str appends s as a JSON string, unless its text (six bytes for one
// escaped) would take the JSON past the string limit.
func (e *encoder) str(s string) error {
	if len(e.buf)+2+6*len(s) > maxStringBytes {
		if n := len(e.buf) + jsonstr.Len(s); n > maxStringBytes {
			return vm.StringTooLarge("JSON.stringify", n)
		}
	}
	e.buf = jsonstr.Append(e.buf, s)
	return nil
}

// key opens an object member: k as a JSON string and a colon, or enc
// when it is not empty, k so encoded already (see vm.Object.JSONKeys).
func (e *encoder) key(k, enc string, first bool, depth int) error {
	if !first {
		e.buf = append(e.buf, ',')
	}
	e.newline(depth + 1)
	if enc != "" {
		if n := len(e.buf) + len(enc) - 1; n > maxStringBytes {
			return vm.StringTooLarge("JSON.stringify", n) // as str says it
		}
		e.buf = append(e.buf, enc...)
	} else {
		if err := e.str(k); err != nil {
			return err
		}
		e.buf = append(e.buf, ':')
	}
	if e.indent != "" {
		e.buf = append(e.buf, ' ')
	}
	return nil
}

func (e *encoder) object(o *vm.Object, depth int) error {
	first := true
	e.buf = append(e.buf, '{')
	if ti := o.Type; ti != nil && ti.Variant >= 0 && (o.Len() == 0 || ti.ADT != vm.ResultADT && ti.ADT != vm.OptionADT) {
		if err := e.key("__tag", "", true, depth); err != nil {
			return err
		}
		e.buf = jsonstr.Append(e.buf, ti.Tag)
		first = false
	}
	vals := o.Values()
	caught := vm.IsErrorType(o.Type)
	enc := o.JSONKeys()
	for i, k := range o.Keys() {
		if isFunc(vals[i]) && e.answer {
			return funcInAnswer(vals[i])
		}
		if isFunc(vals[i]) || caught && k == "stack" {
			// A caught error's stack names source files and lines: it
			// is for logs, not for a response a client reads.
			continue
		}
		encoded := ""
		if enc != nil {
			encoded = enc[i]
		}
		if err := e.key(k, encoded, first, depth); err != nil {
			return err
		}
		first = false
		if err := e.value(vals[i], depth+1); err != nil {
			return err
		}
	}
	if !first {
		e.newline(depth)
	}
	e.buf = append(e.buf, '}')
	return nil
}

func (e *encoder) host(v vm.Value, depth int) error {
	h := v.AsHost()
	switch h := h.(type) {
	case JSONValuer:
		return e.value(h.JSONValue(), depth)
	case json.Marshaler:
		raw, err := h.MarshalJSON()
		if err != nil {
			return vm.Errorf("ValueError", "JSON.stringify: %s: %v", vm.TypeName(v), err)
		}
		if e.indent == "" {
			var b bytes.Buffer
			if err := json.Compact(&b, raw); err != nil {
				return vm.Errorf("ValueError", "JSON.stringify: %v", err)
			}
			e.buf = append(e.buf, b.Bytes()...)
		} else {
			var b bytes.Buffer
			prefix := strings.Repeat(e.indent, depth)
			if err := json.Indent(&b, raw, prefix, e.indent); err != nil {
				return vm.Errorf("ValueError", "JSON.stringify: %v", err)
			}
			e.buf = append(e.buf, b.Bytes()...)
		}
		return nil
	case vm.Iterable:
		if e.t != nil {
			// (at most 2^22 values: a generator that never ends, in an
			// answer's object, took gigabytes to reach a list's 2^26)
			xs, err := Elems(e.t, "JSON.stringify", v, MaxAnswerSequence)
			if err != nil {
				return err
			}
			return e.array(xs, depth)
		}
	}
	if e.answer {
		return vm.TypeErrorf("the handler's answer holds a %s, which has no JSON form: answer what it holds that you need", vm.TypeName(v))
	}
	return vm.TypeErrorf("JSON.stringify: cannot serialise %s", vm.TypeName(v))
}

// MaxAnswerSequence bounds the values of a lazy sequence (a generator)
// that JSON text, or a generator handler's answer, is made of.
const MaxAnswerSequence = vm.MaxGeneratorValues

// FormatNumber formats a float the way JavaScript's Number#toString
// does: integral values without a fraction, plain decimal notation for
// magnitudes in [1e-6, 1e21), exponent notation ("1e+21", "1.5e-7")
// outside it, NaN and Infinity by name.
func FormatNumber(f float64) string { return string(appendNumber(nil, f)) }

func appendNumber(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "NaN"...)
	case math.IsInf(f, 1):
		return append(b, "Infinity"...)
	case math.IsInf(f, -1):
		return append(b, "-Infinity"...)
	case f == 0:
		return append(b, '0')
	case math.Abs(f) >= 1e-6 && math.Abs(f) < 1e21:
		// Plain decimal notation (integral values without a fraction),
		// with the shortest digits that give f back: what
		// appendShortest makes of them there.
		return strconv.AppendFloat(b, f, 'f', -1, 64)
	}
	return appendShortest(b, f)
}

// appendShortest formats a finite nonzero f as Number#toString does,
// from the shortest digits that give f back, placed by its exponent.
func appendShortest(b []byte, f float64) []byte {
	var tmp [32]byte
	e := strconv.AppendFloat(tmp[:0], f, 'e', -1, 64) // -d.ddde±xx
	if e[0] == '-' {
		b = append(b, '-')
		e = e[1:]
	}
	mant, exp, _ := bytes.Cut(e, []byte{'e'})
	x, _ := strconv.Atoi(string(exp))
	digits := make([]byte, 0, len(mant))
	for _, c := range mant {
		if c != '.' {
			digits = append(digits, c)
		}
	}
	k, n := len(digits), x+1
	switch {
	case k <= n && n <= 21:
		b = append(b, digits...)
		for i := k; i < n; i++ {
			b = append(b, '0')
		}
	case 0 < n && n <= 21:
		b = append(b, digits[:n]...)
		b = append(b, '.')
		b = append(b, digits[n:]...)
	case -6 < n && n <= 0:
		b = append(b, '0', '.')
		for i := 0; i < -n; i++ {
			b = append(b, '0')
		}
		b = append(b, digits...)
	default:
		b = append(b, digits[0])
		if k > 1 {
			b = append(b, '.')
			b = append(b, digits[1:]...)
		}
		b = append(b, 'e')
		if n-1 >= 0 {
			b = append(b, '+')
		}
		b = strconv.AppendInt(b, int64(n-1), 10)
	}
	return b
}

// ---------------------------------------------------------------- reading

// ParseJSON parses JSON text into Tova values: objects keep their key
// order, numbers without fraction or exponent are Ints when they fit in
// 64 bits (Floats otherwise). A syntax error is a catchable
// SyntaxError giving the position the Go decoder reports.
func ParseJSON(data []byte) (vm.Value, error) { return ParseJSONString(string(data)) }

// ParseJSONString is ParseJSON on a string (the result may share memory
// with s).
func ParseJSONString(s string) (vm.Value, error) { return parseJSON(s, false) }

// ParseJSONFiniteString is ParseJSONString, except that a number past
// the Float range (1e999) is an error, not Infinity, and nesting stops
// at maxJSONBodyDepth: for request bodies, where the number would
// otherwise come back out as null, and the value may be wrapped.
func ParseJSONFiniteString(s string) (vm.Value, error) { return parseJSON(s, true) }

func parseJSON(s string, finite bool) (vm.Value, error) {
	p := parser{s: s, finite: finite, maxDepth: maxJSONDepth}
	if finite {
		p.maxDepth = maxJSONBodyDepth
	}
	p.skipSpace()
	v, err := p.value(0)
	if err == nil {
		p.skipSpace()
		if p.i < len(p.s) {
			err = p.fail("invalid character " + quoteCharAt(p.s, p.i) + " after top-level value")
		}
	}
	if err != nil {
		return vm.Nil, jsonSyntaxError(s, err)
	}
	return v, nil
}

type parseError struct {
	msg string
	off int
}

func (e *parseError) Error() string { return e.msg }

// jsonSyntaxError describes a parse failure with the Go decoder's
// message and position.
func jsonSyntaxError(s string, err error) error {
	if e, ok := err.(*vm.Error); ok {
		return e
	}
	msg, off := err.Error(), 0
	if pe, ok := err.(*parseError); ok {
		off = pe.off
	}
	var raw json.RawMessage
	if gerr := json.Unmarshal([]byte(s), &raw); gerr != nil {
		var se *json.SyntaxError
		if errors.As(gerr, &se) {
			// Offset counts the bytes read, the offending one included.
			msg, off = se.Error(), int(se.Offset)
			switch {
			case off == len(s) && strings.HasPrefix(msg, "invalid character ' '") && !strings.HasSuffix(s, " "):
				// The decoder ends a number or a literal cut short by
				// reading a space that the text does not have.
				msg = "unexpected end of JSON input"
			case off > 0 && !strings.HasPrefix(msg, "unexpected end"):
				off--
			}
		} else {
			msg = gerr.Error()
		}
	}
	off = min(max(off, 0), len(s))
	// The Go decoder quotes the offending byte as if it were a Latin-1
	// character ('Ã' for the first byte of 'é'): name the character
	// the text holds there.
	if off < len(s) {
		if rest, ok := strings.CutPrefix(msg, "invalid character "+strconv.QuoteRune(rune(s[off]))); ok {
			msg = "invalid character " + quoteCharAt(s, off) + rest
		}
	}
	letter := off < len(s) && (s[off]|0x20 >= 'a' && s[off]|0x20 <= 'z')
	if strings.Contains(msg, " in literal ") || letter && (strings.HasSuffix(msg, "looking for beginning of value") ||
		strings.HasSuffix(msg, "in numeric literal") && off > 0 && s[off-1] == '-') {
		// "this is not json": the decoder took the t for true and said
		// "expected 'r' in true, found 'h'"; name the word (-Infinity
		// with its sign).
		start, end := off, off
		for start > 0 && (isWordByte(s[start-1]) || start == off && s[start-1] == '-') {
			start--
		}
		for end < len(s) && isWordByte(s[end]) {
			end++
		}
		if end-start > 40 {
			end = start + 40
		}
		msg, off = fmt.Sprintf("expected a value, found %q (JSON's words are true, false and null, and its text is in double quotes)", s[start:end]), start
	}
	line := 1 + strings.Count(s[:off], "\n")
	// Columns count characters, as a compile error's do.
	col := 1 + utf8.RuneCountInString(s[strings.LastIndexByte(s[:off], '\n')+1:off])
	return vm.Errorf("SyntaxError", "JSON.parse: %s (line %d, column %d, offset %d)", plainJSONMessage(msg), line, col, off)
}

// isWordByte reports whether c may be part of a word a JSON text holds
// where a value was expected (True, None, NaN, undefined, a word in
// another script: a byte past ASCII).
func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c >= 0x80
}

// jsonFaults words the Go decoder's "invalid character X <where>"
// messages for a reader of Tova errors, %s standing for X.
var jsonFaults = []struct{ where, plain string }{
	{"looking for beginning of object key string", "expected a key string, found %s"},
	{"looking for beginning of value", "expected a value, found %s"},
	{"after top-level value", "%s after the end of the value"},
	{"after object key:value pair", "expected ',' or '}' after a member, found %s"},
	{"after object key", "expected ':' after a key, found %s"},
	{"after array element", "expected ',' or ']' after an element, found %s"},
	{"in string literal", "%s in a string (write control characters as escapes)"},
	{"in string escape code", "%s after a backslash in a string (no such escape)"},
	{`in \u hexadecimal character escape`, `%s in a \u escape (expected a hex digit)`},
	{"after decimal point in numeric literal", "%s after a decimal point (expected a digit)"},
	{"in exponent of numeric literal", "%s in a number's exponent (expected a digit)"},
	{"in numeric literal", "%s in a number"},
}

// plainJSONMessage rewords a message of Go's encoding/json ("invalid
// character 'b' looking for beginning of object key string", "unexpected
// end of JSON input"); others are returned as they are.
func plainJSONMessage(msg string) string {
	if msg == "unexpected end of JSON input" {
		return "the text ends before the JSON value does"
	}
	char, ok := strings.CutPrefix(msg, "invalid character ")
	if !ok {
		return msg
	}
	// "'\n' in literal true (expecting 'e')"
	if i := strings.LastIndex(char, " in literal "); i >= 0 && strings.HasSuffix(char, ")") {
		lit, want, ok := strings.Cut(char[i+len(" in literal "):len(char)-1], " (expecting ")
		if ok {
			return fmt.Sprintf("expected %s in %s, found %s", want, lit, char[:i])
		}
	}
	for _, f := range jsonFaults {
		if c, ok := strings.CutSuffix(char, " "+f.where); ok {
			return fmt.Sprintf(f.plain, c)
		}
	}
	return msg
}

// quoteCharAt names the character that begins at s[i] for an error
// message: quoted as Go quotes a rune ('é', '\n', '\x01'), a byte that
// begins no UTF-8 character as its escape ('\xff'), and a byte-order
// mark by name (editors show none, and some tools write one before
// JSON).
func quoteCharAt(s string, i int) string {
	r, size := utf8.DecodeRuneInString(s[i:])
	switch {
	case r == '\uFEFF':
		return "U+FEFF (a byte-order mark)"
	case r == utf8.RuneError && size <= 1:
		q := strconv.Quote(s[i : i+1])
		return "'" + q[1:len(q)-1] + "'"
	}
	return strconv.QuoteRune(r)
}

type parser struct {
	s         string
	i         int
	finite    bool // a number past the Float range is an error
	maxDepth  int  // the deepest nesting read
	lastShape *vm.Shape
	// keys and vals are stacks holding the entries of the objects and
	// lists being parsed.
	keys []string
	vals []vm.Value
}

func (p *parser) fail(msg string) error { return &parseError{msg: msg, off: p.i} }

func (p *parser) skipSpace() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *parser) value(depth int) (vm.Value, error) {
	if depth > p.maxDepth {
		return vm.Nil, vm.Errorf("SyntaxError", "JSON.parse: exceeded max depth %d", p.maxDepth)
	}
	if p.i >= len(p.s) {
		return vm.Nil, p.fail("unexpected end of JSON input")
	}
	switch c := p.s[p.i]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		s, err := p.str()
		if err != nil {
			return vm.Nil, err
		}
		return vm.Str(s), nil
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	case c == 't':
		return p.literal("true", vm.True)
	case c == 'f':
		return p.literal("false", vm.False)
	case c == 'n':
		return p.literal("null", vm.Nil)
	default:
		return vm.Nil, p.fail("invalid character " + quoteCharAt(p.s, p.i) + " looking for beginning of value")
	}
}

func (p *parser) literal(word string, v vm.Value) (vm.Value, error) {
	if !strings.HasPrefix(p.s[p.i:], word) {
		return vm.Nil, p.fail("invalid literal")
	}
	p.i += len(word)
	return v, nil
}

func (p *parser) array(depth int) (vm.Value, error) {
	p.i++ // [
	p.skipSpace()
	if p.i < len(p.s) && p.s[p.i] == ']' {
		p.i++
		return newList([]vm.Value{}), nil
	}
	// Elements are collected on the parser's value stack, then copied
	// into a list of the exact size.
	base := len(p.vals)
	defer func() { p.vals = p.vals[:base] }()
	for {
		p.skipSpace()
		v, err := p.value(depth + 1)
		if err != nil {
			return vm.Nil, err
		}
		p.vals = append(p.vals, v)
		p.skipSpace()
		if p.i >= len(p.s) {
			return vm.Nil, p.fail("unexpected end of JSON input")
		}
		switch p.s[p.i] {
		case ',':
			p.i++
		case ']':
			p.i++
			return vm.NewArrayFrom(p.vals[base:]), nil
		default:
			return vm.Nil, p.fail("invalid character after array element")
		}
	}
}

func (p *parser) object(depth int) (vm.Value, error) {
	p.i++ // {
	p.skipSpace()
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
		return vm.ObjectValue(vm.NewObject()), nil
	}
	kbase, vbase := len(p.keys), len(p.vals)
	defer func() { p.keys, p.vals = p.keys[:kbase], p.vals[:vbase] }()
	for {
		p.skipSpace()
		if p.i >= len(p.s) {
			return vm.Nil, p.fail("unexpected end of JSON input")
		}
		if p.s[p.i] != '"' {
			return vm.Nil, p.fail("invalid character looking for beginning of object key string")
		}
		k, err := p.str()
		if err != nil {
			return vm.Nil, err
		}
		p.skipSpace()
		if p.i >= len(p.s) || p.s[p.i] != ':' {
			return vm.Nil, p.fail("invalid character after object key")
		}
		p.i++
		p.skipSpace()
		v, err := p.value(depth + 1)
		if err != nil {
			return vm.Nil, err
		}
		p.keys = append(p.keys, k)
		p.vals = append(p.vals, v)
		p.skipSpace()
		if p.i >= len(p.s) {
			return vm.Nil, p.fail("unexpected end of JSON input")
		}
		switch p.s[p.i] {
		case ',':
			p.i++
			continue
		case '}':
			p.i++
		default:
			return vm.Nil, p.fail("invalid character after object key:value pair")
		}
		break
	}
	return vm.ObjectValue(p.build(p.keys[kbase:], p.vals[vbase:])), nil
}

// build makes an object from parsed keys (which it may modify, but does
// not retain) and values (which it copies). Rows of a JSON array usually
// share their keys: the previous object's shape is reused.
func (p *parser) build(keys []string, vals []vm.Value) *vm.Object {
	if s := p.lastShape; s != nil && slicesEqual(s.Keys(), keys) {
		return vm.NewObjectFrom(s, vals)
	}
	// Keys may end up in the shared shape tree: do not let them pin the
	// whole input text.
	for i, k := range keys {
		keys[i] = strings.Clone(k)
	}
	if len(keys) <= 32 {
		s := vm.ShapeOf(keys)
		if len(s.Keys()) == len(keys) {
			p.lastShape = s
			return vm.NewObjectFrom(s, vals)
		}
	}
	o := vm.NewObject()
	for i, k := range keys {
		o.Set(k, vals[i])
	}
	return o
}

func slicesEqual(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func (p *parser) str() (string, error) {
	p.i++ // opening quote
	start := p.i
	// Fast path: no escapes, no control characters, valid UTF-8. Plain
	// ASCII is skipped a word at a time, then a byte at a time up to the
	// next byte that needs a look.
	for p.i < len(p.s) {
		p.i += jsonstr.PlainPrefix(p.s[p.i:])
	scan:
		for p.i < len(p.s) {
			c := p.s[p.i]
			switch {
			case c == '"':
				s := p.s[start:p.i]
				p.i++
				return s, nil
			case c == '\\' || c < 0x20:
				return p.strSlow(start)
			case c >= utf8.RuneSelf:
				r, size := utf8.DecodeRuneInString(p.s[p.i:])
				if r == utf8.RuneError && size == 1 {
					return p.strSlow(start)
				}
				p.i += size
				break scan
			default:
				p.i++
			}
		}
	}
	return "", p.fail("unexpected end of JSON input")
}

func (p *parser) strSlow(start int) (string, error) {
	b := make([]byte, 0, p.i-start+16)
	b = append(b, p.s[start:p.i]...)
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			return string(b), nil
		case c < 0x20:
			return "", p.fail("invalid character in string literal")
		case c == '\\':
			if p.i+1 >= len(p.s) {
				return "", p.fail("unexpected end of JSON input")
			}
			e := p.s[p.i+1]
			p.i += 2
			switch e {
			case '"', '\\', '/':
				b = append(b, e)
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r, ok := p.hex4()
				if !ok {
					return "", p.fail("invalid character in \\u hexadecimal character escape")
				}
				if utf16.IsSurrogate(r) {
					r2 := utf8.RuneError
					if strings.HasPrefix(p.s[p.i:], `\u`) {
						save := p.i
						p.i += 2
						if x, ok := p.hex4(); ok && utf16.DecodeRune(r, x) != utf8.RuneError {
							r2 = utf16.DecodeRune(r, x)
						} else {
							p.i = save
						}
					}
					r = r2
				}
				b = utf8.AppendRune(b, r)
			default:
				return "", p.fail("invalid character in string escape code")
			}
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(p.s[p.i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, "\uFFFD"...)
			} else {
				b = append(b, p.s[p.i:p.i+size]...)
			}
			p.i += size
		default:
			b = append(b, c)
			p.i++
		}
	}
	return "", p.fail("unexpected end of JSON input")
}

func (p *parser) hex4() (rune, bool) {
	if p.i+4 > len(p.s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(p.s[p.i : p.i+4]) {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	p.i += 4
	return r, true
}

func (p *parser) number() (vm.Value, error) {
	start := p.i
	neg := p.s[p.i] == '-'
	if neg {
		p.i++
	}
	digits := func() int {
		n := 0
		for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	// The integer part, its value read as it goes: up to 18 digits, it
	// fits an Int.
	var n uint64
	nd := 0
	if p.i < len(p.s) && p.s[p.i] == '0' {
		p.i++
		nd = 1
	} else {
		for ; p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9'; nd++ {
			n = n*10 + uint64(p.s[p.i]-'0')
			p.i++
		}
		if nd == 0 {
			return vm.Nil, p.fail("invalid character in numeric literal")
		}
	}
	if nd <= 18 && (p.i == len(p.s) || p.s[p.i] != '.' && p.s[p.i] != 'e' && p.s[p.i] != 'E') {
		if neg {
			return vm.Int(-int64(n)), nil
		}
		return vm.Int(int64(n)), nil
	}
	isFloat := false
	if p.i < len(p.s) && p.s[p.i] == '.' {
		p.i++
		isFloat = true
		if digits() == 0 {
			return vm.Nil, p.fail("invalid character after decimal point in numeric literal")
		}
	}
	if p.i < len(p.s) && (p.s[p.i] == 'e' || p.s[p.i] == 'E') {
		p.i++
		isFloat = true
		if p.i < len(p.s) && (p.s[p.i] == '+' || p.s[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			return vm.Nil, p.fail("invalid character in exponent of numeric literal")
		}
	}
	text := p.s[start:p.i]
	if !isFloat {
		if n, err := strconv.ParseInt(text, 10, 64); err == nil {
			return vm.Int(n), nil
		}
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return vm.Nil, p.fail("invalid numeric literal")
	}
	if p.finite && math.IsInf(f, 0) {
		// (JavaScript reads it as Infinity, which JSON cannot write back:
		// it would come out as null)
		p.i = start // (where the number begins)
		if len(text) > 40 {
			// (a number of megabytes is not repeated whole)
			text = text[:20] + "…(" + strconv.Itoa(len(text)) + " characters)"
		}
		return vm.Nil, p.fail("number " + text + " is out of range")
	}
	return vm.Float(f), nil
}
