// Package stdlib holds the builtin functions of Tova: collections,
// strings, math, Result/Option methods, JSON, and the Date, Process and
// Math namespaces. Importing it (for its init functions) registers them
// with package vm.
package stdlib

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"tova/vm"
)

// maxMaterialize bounds how many elements a builtin builds from a lazy
// range, so that range(0, 1 << 62) |> map(f) fails cleanly instead of
// exhausting memory.
const maxMaterialize = vm.MaxListLen

// maxStringBytes bounds the size of strings built by repeat and padding.
const maxStringBytes = vm.MaxStringBytes

// reg registers a builtin.
func reg(name string, params []string, fn func(t *vm.Thread, args []vm.Value) (vm.Value, error)) {
	vm.Register(&vm.Builtin{Name: name, Params: params, Fn: withArity(name, params, fn), MaxArgs: maxArgs(name, params)})
}

// alias registers the builtin already registered as name under other
// names too (the same *vm.Builtin, so errors keep the original name).
func alias(name string, others ...string) {
	v, ok := vm.LookupBuiltin(name)
	if !ok {
		panic("stdlib: alias of unknown builtin " + name)
	}
	for _, o := range others {
		if h, ok := hostFirst[name]; ok {
			if b, ok := arities[name]; ok {
				arities[o] = b
			}
			regH(o, h.params, renamed(name, o, h.fn))
			continue
		}
		if v.Kind() != vm.KBuiltin {
			vm.RegisterValue(o, v)
			continue
		}
		b := *v.AsBuiltin()
		b.Name, b.Fn = o, renamed(name, o, b.Fn)
		vm.RegisterValue(o, vm.BuiltinValue(&b))
	}
}

// renamed is fn, the builtin name's, as the builtin as: its errors name
// as, the name it was called by (avg's said "mean: expected a list").
func renamed(name, as string, fn func(*vm.Thread, []vm.Value) (vm.Value, error)) func(*vm.Thread, []vm.Value) (vm.Value, error) {
	return func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		v, err := fn(t, args)
		// (Only its own: an error with a stack arose in Tova code it
		// called, forEach's callback calling each, and is that code's.)
		if ve, ok := err.(*vm.Error); ok && ve.Stack == nil && len(ve.Msg) > len(name) && strings.HasPrefix(ve.Msg, name) && (ve.Msg[len(name)] == ':' || ve.Msg[len(name)] == ' ') {
			c := *ve
			c.Msg = as + ve.Msg[len(name):]
			return v, &c
		}
		return v, err
	}
}

// ps is shorthand for a parameter name list.
func ps(names ...string) []string { return names }

// arg returns args[i], or nil when it was not passed.
func arg(args []vm.Value, i int) vm.Value {
	if i < len(args) {
		return args[i]
	}
	return vm.Nil
}

// has reports whether argument i was passed with a non-nil value.
func has(args []vm.Value, i int) bool { return i < len(args) && !args[i].IsNil() }

// typeErr is the standard "wrong kind of argument" error.
func typeErr(fname, want string, got vm.Value) error {
	if got.IsNil() {
		// (the guide's env("ALLOWED_ORIGINS").split(","), the variable
		// unset: nothing said where the nil came from)
		return vm.TypeErrorf("%s: expected %s, got Nil (an env(...) of a variable that is not set, or a field the value does not have?)", fname, want)
	}
	return vm.TypeErrorf("%s: expected %s, got %s%s", fname, want, vm.TypeName(got), vm.WrappedHint(got))
}

func valueErr(format string, a ...any) error { return vm.Errorf("ValueError", format, a...) }

func overflowErr(fname string) error {
	return vm.Errorf("OverflowError", "%s: integer overflow", fname)
}

// str returns argument i as a string.
func str(fname string, args []vm.Value, i int) (string, error) {
	v := arg(args, i)
	if v.Kind() != vm.KString {
		return "", typeErr(fname, "String", v)
	}
	return v.AsString(), nil
}

// strs returns the first n arguments, each a String.
func strs(fname string, args []vm.Value, n int) ([]string, error) {
	out := make([]string, n)
	for i := range out {
		s, err := str(fname, args, i)
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}

// optStr returns argument i as a string, or def when absent or nil.
func optStr(fname string, args []vm.Value, i int, def string) (string, error) {
	if !has(args, i) {
		return def, nil
	}
	return str(fname, args, i)
}

// toInt converts an Int, or a Float with an integral value, to int64.
func toInt(v vm.Value) (int64, bool) {
	switch v.Kind() {
	case vm.KInt:
		return v.AsInt(), true
	case vm.KFloat:
		f := v.AsFloat()
		if f == math.Trunc(f) && f >= -9.223372036854775e18 && f <= 9.223372036854775e18 {
			return int64(f), true
		}
	}
	return 0, false
}

// intArg returns argument i as an integer.
func intArg(fname string, args []vm.Value, i int) (int64, error) {
	v := arg(args, i)
	n, ok := toInt(v)
	if !ok {
		return 0, typeErr(fname, "Int", v)
	}
	return n, nil
}

// optInt returns argument i as an integer, or def when absent or nil.
func optInt(fname string, args []vm.Value, i int, def int64) (int64, error) {
	if !has(args, i) {
		return def, nil
	}
	return intArg(fname, args, i)
}

// numArg returns argument i as a float64 (Int or Float).
func numArg(fname string, args []vm.Value, i int) (float64, error) {
	v := arg(args, i)
	if !v.IsNumber() {
		return 0, typeErr(fname, "Number", v)
	}
	return v.Number(), nil
}

// list returns argument i as a list.
func list(fname string, args []vm.Value, i int) (*vm.Array, error) {
	v := arg(args, i)
	if v.Kind() == vm.KRange {
		// (only builtins that change a list take one by this)
		return nil, vm.TypeErrorf("%s: expected List, got Range: a range cannot change; [...r] makes a list of its numbers", fname)
	}
	if v.Kind() != vm.KArray {
		return nil, typeErr(fname, "List", v)
	}
	return v.AsArray(), nil
}

// object returns argument i as an object (plain, record or variant).
func object(fname string, args []vm.Value, i int) (*vm.Object, error) {
	v := arg(args, i)
	if f := AsFile(v); f != nil {
		return f.fields, nil // an uploaded file reads as its object
	}
	if v.Kind() == vm.KBuiltin && v.AsBuiltin().Members != nil {
		return membersObject(v.AsBuiltin()), nil // str, a namespace as math is
	}
	if v.Kind() != vm.KObject {
		return nil, typeErr(fname, "Object", v)
	}
	return v.AsObject(), nil
}

// membersObject is the object of a builtin's members (str's), in the
// order of their names.
func membersObject(b *vm.Builtin) *vm.Object {
	o := vm.NewObject()
	for _, k := range slices.Sorted(maps.Keys(b.Members)) {
		o.Set(k, b.Members[k])
	}
	return o
}

// callable reports whether v can be called.
func callable(v vm.Value) bool { return v.IsCallable() }

// fnArg returns argument i, checking that it is a function.
func fnArg(fname string, args []vm.Value, i int) (vm.Value, error) {
	v := arg(args, i)
	if !callable(v) {
		return vm.Nil, typeErr(fname, "Function", v)
	}
	return v, nil
}

func newList(elems []vm.Value) vm.Value { return vm.NewArray(elems) }

func strList(ss []string) vm.Value {
	out := make([]vm.Value, len(ss))
	for i, s := range ss {
		out[i] = vm.Str(s)
	}
	return vm.NewArray(out)
}

// ---------------------------------------------------------------- callbacks

// caller calls one function value repeatedly. Builtins are called
// directly; closures and constructors through Thread.Call. The argument
// buffer is reused between calls (callees must not retain their args).
type caller struct {
	t     *vm.Thread
	fn    vm.Value
	b     *vm.Builtin
	index bool // the callback declares a second parameter: pass the index
	whole bool // ... and a third: pass the sequence walked too
	kv    bool // ... over an object: pass the key and the value instead
	seq   vm.Value
	buf   [3]vm.Value
}

func newCaller(t *vm.Thread, fn vm.Value) *caller {
	c := &caller{t: t, fn: fn}
	switch fn.Kind() {
	case vm.KBuiltin:
		c.b = fn.AsBuiltin()
	case vm.KFunc:
		n := len(fn.AsClosure().ParamNames())
		c.index, c.whole = n >= 2, n >= 3
	}
	return c
}

func (c *caller) callN(n int) (vm.Value, error) {
	if c.b != nil {
		return c.b.Fn(c.t, c.buf[:n])
	}
	return c.t.Call(c.fn, c.buf[:n]...)
}

// call1 calls fn(x).
func (c *caller) call1(x vm.Value) (vm.Value, error) {
	c.buf[0] = x
	return c.callN(1)
}

// keyedSeq reports whether seq is walked as an object is: an object, or
// a host value of keys (req.headers), whose elements are [key, value]
// pairs.
func keyedSeq(seq vm.Value) bool {
	switch seq.Kind() {
	case vm.KObject:
		return true
	case vm.KHost:
		_, ok := seq.AsHost().(Keyed)
		return ok
	}
	return false
}

// over notes the sequence the callback is called over: over an object,
// whose elements are [key, value] pairs, a callback of two parameters
// gets the key and the value, as `for k, v in obj` binds them, rather
// than the pair and its index.
func (c *caller) over(seq vm.Value) *caller {
	c.seq = seq
	c.kv = c.index && keyedSeq(seq)
	if c.kv && c.fn.Kind() == vm.KFunc {
		// A first parameter that takes the pair apart (fn([k, v], i),
		// compiled with the name _) or that ignores it (_) keeps the
		// pair and its index.
		c.kv = c.fn.AsClosure().ParamNames()[0] != "_"
	}
	return c
}

// callElem calls fn(x) or, when the callback takes two parameters,
// fn(x, i), or with three fn(x, i, seq), as JavaScript's array methods
// do (fn(key, value) over an object: see over).
func (c *caller) callElem(x vm.Value, i int) (vm.Value, error) {
	v, err := c.callOne(x, i)
	if err != nil && x.Kind() == vm.KObject && x.AsObject().Type == nil {
		// A row of a table: the error of its function names it (an empty
		// cell's nil in where(.amount > 500), among 200 000 rows)
		err = inRow(err, x, i)
	}
	return v, err
}

// callOne is callElem but for the row its error names.
func (c *caller) callOne(x vm.Value, i int) (vm.Value, error) {
	c.buf[0] = x
	if c.kv && x.Kind() == vm.KArray {
		if kv := x.AsArray().Elems; len(kv) == 2 {
			c.buf[0], c.buf[1] = kv[0], kv[1]
			return c.callN(2)
		}
	}
	if c.index {
		c.buf[1] = vm.Int(int64(i))
		if c.whole {
			c.buf[2] = c.seq
			return c.callN(3)
		}
		return c.callN(2)
	}
	return c.callN(1)
}

// call2 calls fn(x, y).
func (c *caller) call2(x, y vm.Value) (vm.Value, error) {
	c.buf[0], c.buf[1] = x, y
	return c.callN(2)
}

// callFn calls fn with args (used for one-off calls).
func callFn(t *vm.Thread, fn vm.Value, args ...vm.Value) (vm.Value, error) {
	return t.Call(fn, args...) // (which counts builtins calling builtins)
}

// ---------------------------------------------------------------- sequences

// errStop ends an iteration early; it never escapes a builtin.
var errStop = errors.New("stop")

// iterate calls fn with each element of seq and its position. Lists and
// ranges are walked directly; strings, objects and host iterables via
// vm.Iterate. Returning errStop from fn ends the walk without error.
func iterate(t *vm.Thread, fname string, seq vm.Value, fn func(v vm.Value, i int) error) error {
	var err error
	switch seq.Kind() {
	case vm.KArray:
		// The elements there when the walk began, as JavaScript's array
		// methods walk them: a callback that pushes onto the list
		// (each(xs, fn(x, i, xs) xs.push(x))) does not walk on for ever.
		a := seq.AsArray()
		for i, n := 0, len(a.Elems); i < n && i < len(a.Elems); i++ {
			if err = fn(a.Elems[i], i); err != nil {
				break
			}
		}
	case vm.KRange:
		r := *seq.AsRange()
		n := r.Len()
		if (n > maxMaterialize || n < 0) && !lazyOverRanges[fname] {
			// What it builds (a list, a table of counts...) would grow
			// with the range.
			return vm.Errorf("ValueError", "%s: a range of %d elements is too long to build from (the limit is %d)", fname, n, maxMaterialize)
		}
		x := r.Lo
		for i := int64(0); i < n; i++ {
			if i&pollMask == pollMask {
				if err = cancelled(t); err != nil {
					break
				}
			}
			if err = fn(vm.Int(x), int(i)); err != nil {
				break
			}
			x += r.Step
		}
	case vm.KString:
		s := seq.AsString()
		i := 0
		for j := 0; j < len(s); {
			_, size := utf8.DecodeRuneInString(s[j:])
			if err = fn(vm.Str(s[j:j+size]), i); err != nil {
				break
			}
			j += size
			i++
		}
	case vm.KObject, vm.KHost:
		if seq.Kind() == vm.KHost {
			if _, ok := seq.AsHost().(vm.Iterable); !ok {
				return typeErr(fname, "List", seq)
			}
		}
		if isVariantValue(seq) {
			// Some(5) is not the object { value: 5 } to a collection
			// builtin: Some(5).contains(5) would be false, Ok(1).filter(f)
			// a list of pairs.
			return variantErr(fname, seq)
		}
		limit := -1
		if _, gen := seq.AsHostOK().(*vm.Generator); (gen || unboundedSeq(seq)) && !lazyOverRanges[fname] {
			// What it builds grows with the generator: one that never
			// ends (filter(naturals(), f)) was read until the machine's
			// memory ran out. It gets the bound of an answer's.
			limit = MaxAnswerSequence
		}
		i := 0
		err = vm.Iterate(t, seq, func(v vm.Value) error {
			if i&pollMask == pollMask {
				if err := cancelled(t); err != nil {
					return err
				}
			}
			if i == limit {
				return vm.GeneratorTooLong(fname)
			}
			e := fn(v, i)
			i++
			return e
		})
	default:
		return typeErr(fname, "List", seq)
	}
	if err == errStop {
		return nil
	}
	return err
}

// lazyOverRanges are the builtins that walk a range without building
// anything that grows with it (they search, test or fold it), so a range
// of any length is theirs to walk.
var lazyOverRanges = map[string]bool{
	"each": true, "for_each": true, "find": true, "find_index": true, "any": true, "all": true,
	"some": true, "every": true, "none": true, "count": true, "sum": true, "reduce": true, "fold": true,
	"includes": true, "contains": true, "index_of": true, "first": true, "take_while": true,
	"min": true, "max": true, "min_by": true, "max_by": true, "product": true, "sum_by": true,
	"take": true, "last": true,
}

// cancelled returns a Cancelled error once the thread's context has
// ended. Builtins that loop for long call it every pollItems items:
// it also lets the thread take turns and give way (vm.Thread.Poll).
func cancelled(t *vm.Thread) error {
	return t.Poll(pollItems)
}

// pollItems is how many items a builtin walking a range or a sequence
// handles between two polls (cancelled), pollMask their mask.
const (
	pollItems = 1 << 12
	pollMask  = pollItems - 1
)

// elems returns the elements of seq as a slice. For a list it is the
// list's own backing slice: callers must not modify it.
// knownLen is the length of a list or a range, which a builtin can check
// against a limit before elems builds anything (-1 for other sequences).
func knownLen(seq vm.Value) int64 {
	switch seq.Kind() {
	case vm.KArray:
		return int64(len(seq.AsArray().Elems))
	case vm.KRange:
		return seq.AsRange().Len()
	}
	return -1
}

// Elems is the values of the sequence seq (a list, a range, a
// generator, a lazy sequence), taken in order, for fname's messages, at
// most limit of a lazy one (0: the limit of a list).
func Elems(t *vm.Thread, fname string, seq vm.Value, limit int) ([]vm.Value, error) {
	return elemsUpTo(t, fname, seq, cmp.Or(limit, maxMaterialize))
}

func elems(t *vm.Thread, fname string, seq vm.Value) ([]vm.Value, error) {
	return elemsUpTo(t, fname, seq, maxMaterialize)
}

func elemsUpTo(t *vm.Thread, fname string, seq vm.Value, limit int) ([]vm.Value, error) {
	switch seq.Kind() {
	case vm.KArray:
		return seq.AsArray().Elems, nil
	case vm.KRange:
		r := seq.AsRange()
		return rangeElems(fname, r, 0, r.Len())
	}
	var out []vm.Value
	if seq.Kind() == vm.KString {
		out = make([]vm.Value, 0, len(seq.AsString()))
	}
	err := iterate(t, fname, seq, func(v vm.Value, _ int) error {
		if len(out) >= limit {
			return valueErr("%s: the sequence is longer than %d values (one that never ends?)", fname, limit)
		}
		out = append(out, v)
		return nil
	})
	return out, err
}

// rangeElems returns n integers of r from its integer number from on
// (there are at least from + n).
func rangeElems(fname string, r *vm.RangeValue, from, n int64) ([]vm.Value, error) {
	if n > maxMaterialize {
		return nil, valueErr("%s: range of %d elements is too large", fname, n)
	}
	out := make([]vm.Value, n)
	x, _ := r.Index(from)
	for i := range out {
		out[i] = vm.Int(x)
		x += r.Step // past the last integer it may wrap, unread
	}
	return out, nil
}

// seqLen returns the number of elements of seq when it is known
// without iterating (-1 otherwise).
func seqLen(seq vm.Value) int {
	switch seq.Kind() {
	case vm.KArray:
		return len(seq.AsArray().Elems)
	case vm.KRange:
		n := seq.AsRange().Len()
		if n > maxMaterialize {
			return maxMaterialize
		}
		return int(n)
	}
	return -1
}

// isVariantValue tells a variant of an ADT (Ok, Some, a user type's
// Circle(2.0)) from a record and a plain object: its fields are not a
// collection's elements.
func isVariantValue(v vm.Value) bool {
	ti := vm.VariantOf(v)
	return ti != nil && ti.Variant >= 0
}

// variantErr is the error of handing variant v to fname, a builtin
// that walks a collection's elements.
func variantErr(fname string, v vm.Value) error {
	if h := vm.WrappedHint(v); h != "" {
		return vm.TypeErrorf("%s: expected a List, got %s%s", fname, vm.TypeName(v), h)
	}
	return vm.TypeErrorf("%s: expected a List, got %s, a variant: it is no collection (read its fields by name, or match on it)", fname, vm.TypeName(v))
}

// variant classifies Result/Option values.
type variantKind uint8

const (
	notVariant variantKind = iota
	isOk
	isErr
	isSome
	isNone
)

func variantOf(v vm.Value) variantKind {
	ti := vm.VariantOf(v)
	if ti == nil {
		return notVariant
	}
	switch ti {
	case vm.OkType:
		return isOk
	case vm.ErrType:
		return isErr
	case vm.SomeType:
		return isSome
	case vm.NoneType:
		return isNone
	}
	return notVariant
}

// payload returns the single field of Ok/Err/Some.
func payload(v vm.Value) vm.Value {
	o := v.AsObject()
	if o.Len() == 0 {
		return vm.Nil
	}
	return o.Slot(0)
}

// field reads key of an object row (nil when v is not an object or the
// key is missing).
func field(v vm.Value, key string) vm.Value {
	if v.Kind() != vm.KObject {
		return vm.Nil
	}
	x, _ := v.AsObject().Get(key)
	return x
}

// keyFunc turns a key argument (a function, or a column name) into a
// function of one element.
func keyFunc(t *vm.Thread, fname string, key vm.Value) (func(v vm.Value) (vm.Value, error), error) {
	switch {
	case key.Kind() == vm.KString:
		name := key.AsString()
		return func(v vm.Value) (vm.Value, error) {
			if k := v.Kind(); k != vm.KObject && k != vm.KHost {
				// As v.a would say (it was nil: sorted(xs, "desc")
				// said "cannot compare Nil with Nil").
				return vm.Nil, vm.TypeErrorf("%s: the key %q names a field, and %s has none (give a function for elements that are not objects)", fname, name, vm.TypeName(v))
			}
			return field(v, name), nil
		}, nil
	case callable(key):
		c := newCaller(t, key)
		return c.call1, nil
	}
	return nil, typeErr(fname, "Function or column name", key)
}

// checkOptions refuses a key of an options object that fname does not
// take (a misspelt option would otherwise do nothing, silently).
func checkOptions(fname string, opts vm.Value, names ...string) error {
	for _, k := range opts.AsObject().Keys() {
		if !slices.Contains(names, k) {
			return valueErr("%s: unknown option %q (the options are %s)", fname, k, strings.Join(names, ", "))
		}
	}
	return nil
}

// strayOptions refuses named arguments of fname that name none of its
// parameters: the call gathers them into an object in the first free
// parameter slot from `from` on (read(p, heder: false) put
// { heder: false } in delimiter, and the error was about a delimiter's
// type). params are the names fname takes.
func strayOptions(fname string, args []vm.Value, from int, params ...string) error {
	for i := from; i < len(args); i++ {
		if args[i].Kind() != vm.KObject || args[i].AsObject().Type != nil {
			continue
		}
		for _, k := range args[i].AsObject().Keys() {
			if !slices.Contains(params, k) {
				return vm.TypeErrorf("%s: unknown option %s (the options are %s)", fname, k, strings.Join(params, ", "))
			}
		}
	}
	return nil
}

// spreadOptions is args with a trailing options object, the
// reference's form (write(rows, "out.csv", { append: true }), which
// named arguments mean too), spread into the parameters it names from
// `from` on: params are fname's parameters from there, none of which
// takes an object. Unknown options are refused as strayOptions does, and
// one given both ways is a TypeError.
func spreadOptions(fname string, args []vm.Value, from int, params ...string) ([]vm.Value, error) {
	if err := strayOptions(fname, args, from, params...); err != nil {
		return nil, err
	}
	last := len(args) - 1
	if last < from || args[last].Kind() != vm.KObject || args[last].AsObject().Type != nil {
		return args, nil
	}
	o := args[last].AsObject()
	out := make([]vm.Value, max(from+len(params), last))
	copy(out, args[:last])
	for j, name := range params {
		v, ok := o.Get(name)
		if !ok {
			continue
		}
		if at := from + j; at < last && !out[at].IsNil() {
			return nil, vm.TypeErrorf("%s: %s is given twice (as an argument and as an option)", fname, name)
		}
		out[from+j] = v
	}
	return out, nil
}

// intOption is the Int option name of opts, if set (nil is unset).
func intOption(fname string, opts vm.Value, name string) (int64, bool, error) {
	v := field(opts, name)
	if v.IsNil() {
		return 0, false, nil
	}
	n, ok := toInt(v)
	if !ok {
		return 0, false, vm.TypeErrorf("%s: the option %s must be an Int, got %s", fname, name, vm.TypeName(v))
	}
	return n, true, nil
}

// inRow adds to err, a TypeError or ValueError of the function of a
// table verb given the row x (element i), which row it was.
func inRow(err error, x vm.Value, i int) error {
	var e *vm.Error
	if !errors.As(err, &e) || e.Kind != "TypeError" && e.Kind != "ValueError" || strings.Contains(e.Msg, " (in row ") {
		return err
	}
	e.Msg += fmt.Sprintf(" (in row %d, %s)", i, clipRepr(x))
	return err
}

// DecimalNumber reports whether s is a decimal number as a client
// writes one: an optional sign, digits with at most one '.', and an
// optional exponent (no hex, underscores, Inf or NaN, which
// strconv.ParseFloat also reads).
func DecimalNumber(s string) bool {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "-"), "+")
	mant, exp, hasExp := strings.Cut(strings.ToLower(s), "e")
	whole, frac, _ := strings.Cut(mant, ".")
	if whole+frac == "" || !allDigits(whole) || !allDigits(frac) {
		return false
	}
	if hasExp {
		exp = strings.TrimPrefix(strings.TrimPrefix(exp, "-"), "+")
		return exp != "" && allDigits(exp)
	}
	return true
}
