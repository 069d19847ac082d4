package vm

import (
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	bc "tova/bytecode"
	"tova/frontend/diag"
)

// BoundMethod is a method read from a value (f = p.distance): calling
// it calls the method with the value as self.
type BoundMethod struct {
	Recv, Fn Value
}

func (*BoundMethod) TypeName() string { return "Function" }

func (b *BoundMethod) String() string { return "<method " + calleeName(b.Fn) + ">" }

func (*BoundMethod) GetAttr(*Thread, string) (Value, bool, error) { return Nil, false, nil }

func (*BoundMethod) SetAttr(_ *Thread, name string, _ Value) error {
	return TypeErrorf("cannot set %s of a method", name)
}

// boundMethod is fn's BoundMethod, nil if it is none.
func boundMethod(fn Value) *BoundMethod {
	if fn.k != KHost {
		return nil
	}
	b, _ := fn.AsHostOK().(*BoundMethod)
	return b
}

// withSelf is args after b's receiver.
func (b *BoundMethod) withSelf(args []Value) []Value {
	return append(append(make([]Value, 0, len(args)+1), b.Recv), args...)
}

// callOther calls a non-closure function value.
func (t *Thread) callOther(fn Value, args []Value) (Value, error) {
	if b := boundMethod(fn); b != nil {
		return t.Call(b.Fn, b.withSelf(args)...)
	}
	switch fn.k {
	case KBuiltin:
		return fn.AsBuiltin().Fn(t, args)
	case KType:
		return construct(fn.AsType().Info, args)
	case KFunc:
		return t.Call(fn, args...)
	case KNil:
		return Nil, TypeErrorf("cannot call nil")
	}
	return Nil, t.cannotCall(fn)
}

// callMethod calls recv.name(args...) where args[0] is the receiver.
// Host objects get the first chance; then a builtin with that name is
// called with the receiver as first argument (`s.upper()` is upper(s)).
func (t *Thread) callMethod(recv Value, name string, args []Value) (Value, error) {
	if t.In.methods != nil {
		if recv.k == KObject {
			if m, ok := t.In.method(recv.AsObject(), name); ok {
				return t.Call(m, args...)
			}
		}
		if f, ok := t.In.assocOf(recv, name); ok {
			return t.callOther(f, args[1:])
		}
	}
	if recv.k == KType && name == "from_json" && recv.AsType().Info.JSON {
		return t.fromJSON(recv.AsType().Info, args[1:])
	}
	if recv.k == KHost {
		h := recv.AsHost()
		if hc, ok := h.(HostCaller); ok {
			r, handled, err := hc.CallMethod(t, name, args[1:])
			if handled || err != nil {
				return r, err
			}
		}
		f, ok, err := h.GetAttr(t, name)
		if err != nil {
			return Nil, err
		}
		if ok {
			if !f.IsCallable() && boundMethod(f) == nil {
				return Nil, fieldNotCallable(recv, name, f)
			}
			return t.callOther(f, args[1:])
		}
		if s, strict := h.(HostStrict); strict {
			return Nil, s.MissingAttr(name) // not the builtin name with the host first
		}
	}
	if recv.k == KNil {
		return Nil, nilMethodErr(name)
	}
	if recv.k == KBuiltin {
		b := recv.AsBuiltin()
		if f, ok := b.Members[name]; ok {
			return t.callOther(f, args[1:])
		}
		if b.Members != nil {
			// str.len("abc") is not len(str, "abc").
			return Nil, TypeErrorf("%s has no member %s", b.Name, name)
		}
	}
	// A type's name takes no builtin's method: P.get(p) is not
	// get(P, p).
	if recv.k == KType {
		return Nil, t.noAssoc(recv.AsType().Info, name)
	}
	if name == "exec" && TypeName(recv) == "Regex" || (name == "search" || name == "matchAll") && recv.k == KString {
		// /(\d+)/.exec(s) ran the builtin exec, a command; "a1".search(/\d/)
		// was "did you mean each?"
		also := ""
		if name == "search" && len(args) > 1 && args[1].k == KString {
			also = "; the place of a text in another is s.index_of(text)"
		}
		return Nil, TypeErrorf("%s has no method %s: a match and its groups are regex_match(s, re), every match regex_find_all(s, re), and re.test(s) says whether one is there%s", TypeName(recv), name, also)
	}
	if b, ok := LookupBuiltin(name); ok && b.k == KBuiltin && !t.isADTName(recv) {
		return b.AsBuiltin().Fn(t, args)
	}
	if recv.k == KObject && recv.AsObject().Type == nil {
		if _, ok := t.In.Prog.namespaces[recv.AsObject()]; ok {
			f, err := t.missingField(recv.AsObject(), name)
			if err != nil {
				return Nil, err // Shape.Cirle(2.0): the variants it has
			}
			if f.IsCallable() {
				return t.callOther(f, args[1:]) // Shape.from_json(text)
			}
		}
	}
	if name == "then" {
		// f().then(fn(v) ...) (JavaScript's promises)
		return Nil, TypeErrorf("%s has no method then: a call returns its value here, not a promise: use the value itself (v = f())", TypeName(recv))
	}
	if name == "toFixed" && recv.IsNumber() {
		// (to_fixed, spelt alike, rounds to a number: 5.to_fixed(2) is 5)
		return Nil, TypeErrorf("%s has no method toFixed: the text of a number to 2 places is fmt('{:.2f}', x) (x.to_fixed(2) rounds it to a number)", TypeName(recv))
	}
	if near := t.nearMethod(recv, name); near != "" {
		// "abc".startswith("a")
		return Nil, TypeErrorf("%s has no method %s (did you mean %s?)", TypeName(recv), name, near)
	}
	return Nil, TypeErrorf("%s has no method %s%s", TypeName(recv), name, WrappedHint(recv))
}

// foreignMethods are other languages' names of builtins, with Tova's
// (" ".strip(), xs.inject(...)), where spelling alone would suggest
// another or none.
var foreignMethods = map[string]string{
	"strip": "trim", "lstrip": "trim_start", "rstrip": "trim_end",
	"size": "len", "length": "len", "fold": "reduce", "inject": "reduce",
	"items": "entries", "to_s": "to_string", "copy": "clone", "dup": "clone",
	"hasOwnProperty": "has_key", "to_i": "to_int", "to_f": "to_float",
	"each_with_index": "enumerate", "extend": "concat", "match": "regex_match",
	"matchAll": "regex_find_all", "forEach": "each", "for_each": "each", "title": "title_case",
}

// nearMethod is the method recv.name may have meant: a record's method
// its impl gives (for P(1).nrom(), norm), a plain object's function
// field, another language's name for a builtin, the builtin spelt alike
// but for case and underscores (startswith: starts_with, before
// startsWith), else the closest builtin.
func (t *Thread) nearMethod(recv Value, name string) string {
	if recv.k == KObject {
		o := recv.AsObject()
		var own []string
		if o.Type != nil {
			if t.In.methods != nil && o.Type.prog == t.In.Prog {
				for m := range t.In.methods[o.Type.decl-1].inst {
					own = append(own, m)
				}
			}
		} else {
			for i, k := range o.Keys() {
				if o.Values()[i].IsCallable() {
					own = append(own, k)
				}
			}
		}
		if near := diag.Closest(name, own); near != "" {
			return near
		}
	}
	names := BuiltinNames()
	collection := recv.k == KString || recv.k == KArray || recv.k == KObject
	if m, ok := foreignMethods[name]; ok && slices.Contains(names, m) && collection {
		return m
	}
	fold := func(s string) string { return strings.ToLower(strings.ReplaceAll(s, "_", "")) }
	alike := ""
	for _, c := range names {
		if c != name && fold(c) == fold(name) && (alike == "" || strings.Contains(c, "_") && !strings.Contains(alike, "_")) {
			alike = c
		}
	}
	if alike != "" {
		return alike
	}
	if near := diag.Closest(name, names); near != "" {
		return near
	}
	// (lenght: length's, len)
	if near := diag.Closest(name, slices.Collect(maps.Keys(foreignMethods))); near != "" && slices.Contains(names, foreignMethods[near]) && collection {
		return foreignMethods[near]
	}
	return ""
}

// missingField is o.name for an object o without that key: nil for a
// plain object (a missing key reads as nil); for a record, the method
// of that name an impl block gave its type, else a TypeError (a
// record's fields are fixed: a name it lacks is a mistake, as in
// assigning it); for an ADT's name (Color.Blue), its associated
// function, else a TypeError naming the variants.
func (t *Thread) missingField(o *Object, name string) (Value, error) {
	ti := o.Type
	if ti == nil {
		if i, ok := t.In.Prog.namespaces[o]; ok {
			if f, ok := t.In.assocOf(ObjectValue(o), name); ok {
				return f, nil
			}
			if adt := t.In.Prog.types[i].adt; name == "from_json" && len(adt.Variants) > 0 && adt.Variants[0].JSON {
				return BuiltinValue(&Builtin{Name: adt.Name + ".from_json", Params: []string{"text"}, Fn: func(t *Thread, args []Value) (Value, error) {
					return t.variantFromJSON(adt, args)
				}}), nil
			}
			return Nil, TypeErrorf("%s has no variant or function %s (its variants: %s)", t.In.Prog.types[i].adt.Name, name, strings.Join(o.Keys(), ", "))
		}
		return Nil, nil
	}
	if ti == errorType {
		// throw { status: 404, message: "..." }: e.status is the thrown
		// object's (it was nil: only e.value.status read it)
		if v := o.vals[3]; v.k == KObject {
			if x, ok := v.AsObject().Get(name); ok {
				return x, nil
			}
		}
		return Nil, nil
	}
	if f, ok := t.In.method(o, name); ok {
		return HostValue(&BoundMethod{Recv: ObjectValue(o), Fn: f}), nil
	}
	if ti.Variant < 0 && ti.prog != nil || ti.Variant >= 0 && !siblingField(ti, name) {
		if len(ti.Fields) == 0 {
			return Nil, TypeErrorf("%s has no field %s (it has no fields)", ti.Tag, name)
		}
		return Nil, TypeErrorf("%s has no field %s (its fields: %s)%s", ti.Tag, name, strings.Join(ti.Fields, ", "), WrappedHint(ObjectValue(o)))
	}
	return Nil, nil
}

// siblingField says whether another variant of ti's type has a field
// name: reading it from ti's values is nil (s.radius over a list of
// shapes, opt.value of None); a name no variant has is a mistake.
func siblingField(ti *TypeInfo, name string) bool {
	if ti.ADT == nil {
		return true
	}
	for _, v := range ti.ADT.Variants {
		if slices.Contains(v.Fields, name) {
			return true
		}
	}
	return false
}

// fieldNotCallable is the error of x.name(...) where x.name holds f, no
// function (req.ip(), user.name()): it said "cannot call String".
func fieldNotCallable(x Value, name string, f Value) error {
	if f.IsNil() {
		return TypeErrorf("%s's %s is nil, no function to call: give it one first", TypeName(x), name)
	}
	return TypeErrorf("%s's %s is %s, not a function: write .%s without the parentheses", TypeName(x), name, articledKind(f), name)
}

// articledKind is v's kind with its article ("a String", "an Int", nil).
func articledKind(v Value) string {
	k := TypeName(v)
	if v.IsNil() {
		return "nil"
	}
	if strings.ContainsRune("AEIOU", rune(k[0])) {
		return "an " + k
	}
	return "a " + k
}

// cannotCall is the error of calling fn, no function: the name of a
// type of variants names them.
func (t *Thread) cannotCall(fn Value) error {
	if t.isADTName(fn) {
		adt := t.In.Prog.types[t.In.Prog.namespaces[fn.AsObject()]].adt
		names := make([]string, len(adt.Variants))
		for i, v := range adt.Variants {
			names[i] = v.Tag
		}
		return TypeErrorf("%s is a type of variants (%s): call one of them (%s.%s(...))", adt.Name, strings.Join(names, ", "), adt.Name, names[0])
	}
	if h, ok := fn.AsHostOK().(interface{ NotCallable() string }); ok {
		return TypeErrorf("%s", h.NotCallable())
	}
	if n, ok := fn.AsHostOK().(interface{ NamespaceName() string }); ok {
		return TypeErrorf("%s is a namespace of functions, not a function: call one of its members (%s.name(...))", n.NamespaceName(), n.NamespaceName())
	}
	return TypeErrorf("cannot call %s", TypeName(fn))
}

// isADTName says whether x is the name of a type of variants (Shape
// in Shape.Circle).
func (t *Thread) isADTName(x Value) bool {
	if x.k != KObject || x.AsObject().Type != nil || len(t.In.Prog.namespaces) == 0 {
		return false
	}
	_, ok := t.In.Prog.namespaces[x.AsObject()]
	return ok
}

// noAssoc is the error of naming, through type ti, a function it has
// not: a method (of its values) is told apart (it said "Function has no
// field").
func (t *Thread) noAssoc(ti *TypeInfo, name string) error {
	if in := t.In; in.methods != nil && ti.prog == in.Prog && ti.decl-1 >= 0 && ti.decl-1 < len(in.methods) {
		if _, ok := in.methods[ti.decl-1].inst[name]; ok {
			return TypeErrorf("%s is a method of %s's values, not a function of the type: call it on one (p.%s())", name, ti.Tag, name)
		}
	}
	return TypeErrorf("%s has no associated function %s", ti.Tag, name)
}

// nilMethodErr is the error of a method called on nil; an Option's
// methods are named as such (iter(xs).first().unwrap_or(d), which the
// reference's Seq answers with an Option, is nil here).
func nilMethodErr(name string) error {
	switch name {
	case "unwrap", "unwrap_or", "unwrapOr", "expect", "is_some", "isSome", "is_none", "isNone":
		return TypeErrorf("cannot call method %s on nil (a value that may be missing is nil here, not None: x ?? default gives the default)", name)
	}
	return TypeErrorf("cannot call method %s on nil", name)
}

// methodValue is x.name as the function that a call x.name(...) with
// named or spread arguments calls (s.pad_start(5, fill: "-")): what
// CALLM would call, the receiver bound where CALLM passes it: an
// object's field, a method an impl block gave x's type (bound), an
// associated function, else the builtin of that name (bound).
func (t *Thread) methodValue(x Value, name string) (Value, error) {
	switch x.k {
	case KNil:
		return Nil, nilMethodErr(name)
	case KObject:
		if v, ok := x.AsObject().Get(name); ok {
			return v, nil
		}
		if t.In.methods != nil {
			if m, ok := t.In.method(x.AsObject(), name); ok {
				return HostValue(&BoundMethod{Recv: x, Fn: m}), nil
			}
			if f, ok := t.In.assocOf(x, name); ok {
				return f, nil
			}
		}
	case KType, KHost:
		if h, ok := x.AsHostOK().(HostMethods); ok && x.k == KHost {
			if params, ok := h.MethodParams(name); ok {
				return boundCall(x, name, params), nil
			}
		}
		if v, err := t.getField(x, name); err == nil && !v.IsNil() {
			if _, ok := x.AsHostOK().(HostCaller); ok && !v.IsCallable() {
				// res.status(code: 201): the field of that name is not
				// the method, which takes its arguments in order.
				return Nil, TypeErrorf("%s.%s takes no named arguments: pass them in order", TypeName(x), name)
			}
			return v, nil
		}
		if h, strict := x.AsHostOK().(HostStrict); strict && x.k == KHost {
			return Nil, h.MissingAttr(name)
		}
		if _, ok := x.AsHostOK().(HostCaller); ok && !isBuiltin(name) {
			// (its methods are called by name, with positional
			// arguments only)
			return Nil, TypeErrorf("%s.%s takes no named or spread arguments: pass them in order", TypeName(x), name)
		}
	case KBuiltin:
		if b := x.AsBuiltin(); b.Members != nil {
			if _, ok := b.Members[name]; !ok {
				return Nil, TypeErrorf("%s has no member %s", b.Name, name)
			}
			return t.getField(x, name)
		}
	}
	if b, ok := LookupBuiltin(name); ok && b.k == KBuiltin {
		return HostValue(&BoundMethod{Recv: x, Fn: b}), nil
	}
	return t.getField(x, name)
}

func isBuiltin(name string) bool {
	b, ok := LookupBuiltin(name)
	return ok && b.k == KBuiltin
}

func init() {
	// __method(x, name) is x.name as a function, for a method call with
	// named or spread arguments (see methodValue).
	// With spread arguments only (named: false), the function calls
	// the method as a plain call does (a host object's own methods
	// first: res.status(...[201])).
	Register(&Builtin{Name: "__method", Params: []string{"x", "name", "named"}, Fn: func(t *Thread, args []Value) (Value, error) {
		if len(args) < 2 || args[1].k != KString {
			return Nil, TypeErrorf("__method: expected a value and a method name")
		}
		x, name := args[0], args[1].AsString()
		if len(args) > 2 && args[2].k == KBool && !args[2].AsBool() && x.k != KNil {
			if x.k == KObject {
				if v, ok := x.AsObject().Get(name); ok {
					return v, nil
				}
			}
			return boundCall(x, name, nil), nil
		}
		return t.methodValue(x, name)
	}})
}

func init() {
	// __dispose(x) ends a `with x as name { ... }` statement, as the
	// reference's does: x.close() if x has a close method, else
	// x.dispose() if it has that, else nothing (nil included).
	Register(&Builtin{Name: "__dispose", Params: []string{"x"}, Fn: func(t *Thread, args []Value) (Value, error) {
		if len(args) != 1 {
			return Nil, TypeErrorf("__dispose: expected one value")
		}
		x := args[0]
		for _, name := range [...]string{"close", "dispose"} {
			switch x.k {
			case KObject:
				o := x.AsObject()
				if f, ok := o.Get(name); ok {
					if f.IsCallable() {
						_, err := t.callOther(f, nil)
						return Nil, err
					}
					continue
				}
				if t.In.methods != nil {
					if m, ok := t.In.method(o, name); ok {
						_, err := t.Call(m, x)
						return Nil, err
					}
				}
			case KHost:
				f, ok, err := x.AsHost().GetAttr(t, name)
				if err != nil {
					return Nil, err
				}
				if ok && f.IsCallable() {
					_, err := t.callOther(f, nil)
					return Nil, err
				}
			}
		}
		return Nil, nil
	}})
}

// boundCall is the function calling x.name(...) as a plain method call
// does (callMethod), with the parameters params (nil: none declared).
func boundCall(x Value, name string, params []string) Value {
	return BuiltinValue(&Builtin{Name: TypeName(x) + "." + name, Params: params, Fn: func(t *Thread, args []Value) (Value, error) {
		return t.callMethod(x, name, append([]Value{x}, args...))
	}})
}

// getField reads x.name for values that are not plain objects.
func (t *Thread) getField(x Value, name string) (Value, error) {
	switch x.k {
	case KObject:
		v, ok := x.AsObject().Get(name)
		if !ok {
			return t.missingField(x.AsObject(), name)
		}
		return v, nil
	case KHost:
		v, ok, err := x.AsHost().GetAttr(t, name)
		if err != nil || ok {
			return v, err
		}
		if h, ok := x.AsHost().(HostMethods); ok {
			if params, ok := h.MethodParams(name); ok {
				// r.text, read without calling it: the method, bound
				// (it read nil: f = r.json; f() failed)
				return boundCall(x, name, params), nil
			}
		}
		if f, fieldless := x.AsHost().(HostFieldless); fieldless {
			return Nil, f.MissingField(name)
		}
		return Nil, nil
	case KType:
		if f, ok := t.In.assocOf(x, name); ok {
			return f, nil
		}
		if ti := x.AsType().Info; name == "from_json" && ti.JSON {
			return BuiltinValue(&Builtin{Name: ti.Tag + ".from_json", Params: []string{"text"}, Fn: func(t *Thread, args []Value) (Value, error) {
				return t.fromJSON(ti, args)
			}}), nil
		}
		return Nil, t.noAssoc(x.AsType().Info, name)
	case KBuiltin:
		b := x.AsBuiltin()
		if f, ok := b.Members[name]; ok {
			return f, nil
		}
		if b.Members != nil {
			// a namespace's missing member reads as nil, as math's and
			// an object's missing field do (a destructuring default
			// applies); called, it is a TypeError naming it
			return Nil, nil
		}
	case KString, KArray:
		if name == "length" {
			n, _ := Len(x)
			return Int(int64(n)), nil
		}
		if x.k == KArray {
			if v, ok := tableField(x.AsArray().Elems, name); ok {
				return v, nil
			}
		}
	case KNil:
		return Nil, TypeErrorf("cannot read field %s of nil", name)
	case KInt, KFloat:
		// h.hours on a variable: a unit is written on a number literal
		// (3.hours), and "Int has no field hours" did not say so.
		if unit := strings.TrimSuffix(name, "s"); unitNanos[unit] != 0 || unitBytes[unit] != 0 {
			return Nil, TypeErrorf("%s has no field %s: a unit follows a number literal (3.%s); of a value, multiply: x * 1.%s", TypeName(x), name, name, unit)
		}
	}
	if x.k == KFunc || x.k == KBuiltin && x.AsBuiltin().Members == nil {
		// data = req.json; data.name (the method, not its value);
		// env.API_KEY (env is a function)
		fn := "f"
		if x.k == KBuiltin {
			fn = x.AsBuiltin().Name
		} else if n := x.AsClosure().Name(); n != "" {
			fn = n
		}
		if fn == "env" {
			return Nil, TypeErrorf("env has no field %s: env is a function, env(%q) (or declare env %s: String)", name, name, name)
		}
		if strings.HasPrefix(fn, "<") {
			return Nil, TypeErrorf("%s has no field %s: it is a function, whose value is what a call of it gives (call it first)", TypeName(x), name)
		}
		return Nil, TypeErrorf("%s has no field %s: it is a function, whose value is what a call gives: %s(...).%s", TypeName(x), name, fn, name)
	}
	return Nil, TypeErrorf("%s has no field %s", TypeName(x), name)
}

func (t *Thread) setField(x Value, name string, v Value) error {
	switch x.k {
	case KObject:
		o := x.AsObject()
		if o.Type != nil && o.Lookup(name) < 0 {
			return TypeErrorf("%s has no field %s", o.Type.Tag, name)
		}
		o.Set(name, v)
		return nil
	case KHost:
		return x.AsHost().SetAttr(t, name, v)
	case KNil:
		return TypeErrorf("cannot set field %s of nil", name)
	}
	return TypeErrorf("cannot set field %s of %s", name, TypeName(x))
}

func (t *Thread) index(x, k Value) (Value, error) {
	switch x.k {
	case KArray:
		j, err := wholeNumber("list index", k)
		if err != nil {
			return Nil, err
		}
		el := x.AsArray().Elems
		if j < 0 {
			j += int64(len(el))
		}
		if j >= 0 && j < int64(len(el)) {
			return el[j], nil
		}
		return Nil, nil
	case KObject:
		var buf [20]byte
		key, ok := ObjectKey(k, &buf)
		if !ok {
			return Nil, keyError(k)
		}
		v, found := x.AsObject().Get(key)
		if !found && x.AsObject().Type != nil {
			return t.missingField(x.AsObject(), strings.Clone(key)) // p["q"] as p.q: a record's fields are fixed (a copy: key may be in buf)
		}
		return v, nil
	case KString:
		j, err := wholeNumber("string index", k)
		if err != nil {
			return Nil, err
		}
		return charAt(x.AsString(), j), nil
	case KHost:
		if k.k == KString {
			v, _, err := x.AsHost().GetAttr(t, k.AsString())
			return v, err
		}
	case KRange:
		if k.k == KInt {
			if v, ok := x.AsRange().Index(int64(k.n)); ok {
				return Int(v), nil
			}
			return Nil, nil
		}
	case KNil:
		return Nil, TypeErrorf("cannot index nil")
	}
	return Nil, TypeErrorf("cannot index %s with %s", TypeName(x), TypeName(k))
}

// CharAt is s[i]: character i of s (negative from the end), or nil;
// about constant time for a long string walked character by character.
func CharAt(s string, i int64) Value { return charAt(s, i) }

// charAt returns character i of s (negative from the end), or nil.
func charAt(s string, i int64) Value {
	n := RuneLen(s)
	if n == len(s) {
		if i < 0 {
			i += int64(len(s))
		}
		if i >= 0 && i < int64(len(s)) {
			return Str(s[i : i+1])
		}
		return Nil
	}
	if i < 0 {
		i += int64(n)
		if i < 0 {
			return Nil
		}
	}
	if i >= int64(n) {
		return Nil
	}
	// An invalid byte is a character of its own, as len counts it.
	off := runeOffset(s, n, int(i))
	_, size := utf8.DecodeRuneInString(s[off:])
	return Str(s[off : off+size])
}

func (t *Thread) setIndex(x, k, v Value) error {
	switch x.k {
	case KArray:
		j, err := wholeNumber("list index", k)
		if err != nil {
			return err
		}
		a := x.AsArray()
		if j < 0 {
			j += int64(len(a.Elems))
		}
		if j >= 0 && j < int64(len(a.Elems)) {
			a.Elems[j] = v
			return nil
		}
		if j == int64(len(a.Elems)) {
			if j >= MaxListLen {
				return ListTooLong("index assignment", j+1)
			}
			a.Elems = append(a.Elems, v)
			return nil
		}
		return Errorf("IndexError", "list index %d out of range (length %d)", int64(k.n), len(a.Elems))
	case KObject:
		switch k.k {
		case KString:
			return t.setField(x, k.AsString(), v)
		case KInt:
			return t.setIntKey(x, int64(k.n), v)
		}
		return keyError(k)
	case KHost:
		if k.k == KString {
			return x.AsHost().SetAttr(t, k.AsString(), v)
		}
	case KNil:
		return TypeErrorf("cannot index nil")
	}
	return TypeErrorf("cannot assign to an index of %s", TypeName(x))
}

// setIntKey is x[i] = v on an object: the text of i is allocated only
// when the object gains the key (it keeps it), never to find one.
func (t *Thread) setIntKey(x Value, i int64, v Value) error {
	var buf [20]byte
	o := x.AsObject()
	if slot := o.Lookup(intKey(&buf, i)); slot >= 0 {
		o.vals[slot] = v
		return nil
	}
	return t.setField(x, strconv.FormatInt(i, 10), v)
}

// Len is len(): characters of a string, elements of a list, keys of an
// object, integers of a range; nil has length 0.
func Len(v Value) (int, error) {
	switch v.k {
	case KString:
		return RuneLen(v.AsString()), nil
	case KArray:
		return len(v.AsArray().Elems), nil
	case KObject:
		return v.AsObject().Len(), nil
	case KRange:
		return int(v.AsRange().Len()), nil
	case KNil:
		return 0, nil
	}
	return 0, TypeErrorf("len: %s has no length", TypeName(v))
}

// sliceValue is x[lo:hi:step] with Python semantics (negative indexes
// count from the end; nil bounds mean the ends).
func sliceValue(x, lo, hi, step Value) (Value, error) {
	st := int64(1)
	if !step.IsNil() {
		if step.k != KInt {
			return Nil, TypeErrorf("slice step must be Int")
		}
		st = int64(step.n)
		if st == 0 {
			return Nil, Errorf("ValueError", "slice step must not be zero")
		}
	}
	var n int64
	var runes []string
	switch x.k {
	case KArray:
		n = int64(len(x.AsArray().Elems))
	case KString:
		s := x.AsString()
		n = int64(RuneLen(s))
		if n != int64(len(s)) && st != 1 {
			for off := 0; off < len(s); {
				_, size := utf8.DecodeRuneInString(s[off:])
				runes = append(runes, s[off:off+size])
				off += size
			}
		}
	case KRange:
		// A slice of a range is the list of those of its numbers: the
		// range itself does not change.
		n = x.AsRange().Len()
	case KNil:
		return Nil, TypeErrorf("cannot slice nil")
	default:
		return Nil, TypeErrorf("cannot slice %s", TypeName(x))
	}
	bound := func(v Value, def int64) (int64, error) {
		if v.IsNil() {
			return def, nil
		}
		i, err := wholeNumber("slice bounds", v)
		if err != nil {
			return 0, err
		}
		if i < 0 {
			i += n
		}
		if st > 0 {
			return max(0, min(i, n)), nil
		}
		return max(-1, min(i, n-1)), nil
	}
	var start, stop int64
	var err error
	if st > 0 {
		if start, err = bound(lo, 0); err != nil {
			return Nil, err
		}
		if stop, err = bound(hi, n); err != nil {
			return Nil, err
		}
	} else {
		if start, err = bound(lo, n-1); err != nil {
			return Nil, err
		}
		if stop, err = bound(hi, -1); err != nil {
			return Nil, err
		}
	}
	if x.k == KString && runes == nil && st == 1 {
		s := x.AsString()
		if start >= stop {
			return Str(""), nil
		}
		r := s[runeOffset(s, int(n), int(start)):runeOffset(s, int(n), int(stop))]
		noteRunes(r, int(stop-start)) // (s = s[1:] in a loop: len of it at once)
		return Str(r), nil
	}
	if x.k == KRange {
		var count int64
		switch {
		case st > 0 && stop > start:
			count = (stop-start-1)/st + 1
		case st < 0 && start > stop:
			count = (start-stop-1)/-st + 1
		}
		if count > MaxListLen {
			return Nil, ListTooLong("slice", count)
		}
		r := x.AsRange()
		out := make([]Value, 0, count)
		for i := start; st > 0 && i < stop || st < 0 && i > stop; i += st {
			v, _ := r.Index(i)
			out = append(out, Int(v))
		}
		return NewArray(out), nil
	}
	var idx []int64
	for i := start; st > 0 && i < stop || st < 0 && i > stop; i += st {
		idx = append(idx, i)
	}
	if x.k == KArray {
		el := x.AsArray().Elems
		out := make([]Value, len(idx))
		for j, i := range idx {
			out[j] = el[i]
		}
		return NewArray(out), nil
	}
	var b strings.Builder
	s := x.AsString()
	for _, i := range idx {
		if runes != nil {
			b.WriteString(runes[i])
		} else {
			b.WriteByte(s[i])
		}
	}
	return Str(b.String()), nil
}

// contains is `x in coll`.
// SameValueZero is the equality of JavaScript's includes, which the
// reference's `in` and contains are: == except that a list holds NaN.
func SameValueZero(a, b Value) bool {
	return Equal(a, b) || a.k == KFloat && b.k == KFloat && math.IsNaN(a.AsFloat()) && math.IsNaN(b.AsFloat())
}

func contains(coll, x Value) (bool, error) {
	switch coll.k {
	case KArray:
		for _, e := range coll.AsArray().Elems {
			if SameValueZero(e, x) {
				return true, nil
			}
		}
		return false, nil
	case KString:
		if x.k != KString {
			return false, TypeErrorf("'in <string>' needs a String on the left, got %s", TypeName(x))
		}
		return strings.Contains(coll.AsString(), x.AsString()), nil
	case KObject:
		var buf [20]byte
		key, ok := ObjectKey(x, &buf)
		return ok && coll.AsObject().Lookup(key) >= 0, nil
	case KRange:
		// As the list of its numbers: a whole Float (4 / 2) is in it.
		switch x.k {
		case KInt:
			return coll.AsRange().Has(int64(x.n)), nil
		case KFloat:
			if f := x.AsFloat(); f == math.Trunc(f) && f >= -(1<<63) && f < 1<<63 {
				return coll.AsRange().Has(int64(f)), nil
			}
		}
		return false, nil
	case KNil:
		return false, nil
	case KBuiltin:
		if m := coll.AsBuiltin().Members; m != nil {
			// (str, a namespace as math is: "upper" in str)
			_, ok := m[ToString(x)]
			return ok && x.k == KString, nil
		}
	case KHost:
		if h, ok := coll.AsHost().(HostKeyed); ok {
			var buf [20]byte
			key, ok := ObjectKey(x, &buf)
			return ok && h.Has(key), nil
		}
	}
	return false, TypeErrorf("'in' needs a collection, got %s", TypeName(coll))
}

// IsType implements `x is Name`. A record or variant of the program's
// type or variant Name is one, also when Name is a builtin kind's too
// (`type List<T> { Cons(...), Nil }`: Cons(1, Nil) is List was false).
func IsType(v Value, name string) bool {
	if v.k == KObject {
		if ti := v.AsObject().Type; ti != nil && (ti.Tag == name || ti.Name == name) {
			return true
		}
	}
	switch name {
	case "Int":
		return v.k == KInt
	case "Float":
		return v.k == KFloat
	case "Number":
		return v.IsNumber()
	case "String", "Str":
		return v.k == KString
	case "Bool":
		return v.k == KBool
	case "Nil":
		return v.k == KNil
	case "List", "Array":
		return v.k == KArray
	case "Object":
		return v.k == KObject && v.AsObject().Type == nil || v.k == KHost
	case "Map":
		// (Map<String, V>, a parameter's and a field's type: an object
		// of no declared type; `is Map` was always false)
		return v.k == KObject && v.AsObject().Type == nil
	case "Any":
		return true
	case "Function":
		return v.IsCallable()
	case "Duration":
		return v.k == KDuration
	case "Size":
		return v.k == KSize
	case "Range":
		return v.k == KRange
	case "__list": // list patterns: a List, or a Range (read as the list of its numbers)
		return v.k == KArray || v.k == KRange
	case "__fields": // object patterns: anything whose keys `in` tells (a Date has none)
		if v.k == KHost {
			// (a Regex, a generator, req: `in` has no keys of theirs,
			// and the match failed with "'in' needs a collection")
			_, keyed := v.AsHost().(HostKeyed)
			return keyed
		}
		return v.k == KObject
	case "__typed": // a record or a variant, whose missing fields are not read
		return v.k == KObject && v.AsObject().Type != nil
	}
	if v.k == KObject {
		if ti := v.AsObject().Type; ti != nil {
			return ti.Tag == name || ti.Name == name
		}
	}
	if v.k == KHost {
		return v.AsHost().TypeName() == name
	}
	return false
}

var unitNanos = map[string]int64{
	"millisecond": int64(time.Millisecond), "second": int64(time.Second),
	"minute": int64(time.Minute), "hour": int64(time.Hour),
	"day": 24 * int64(time.Hour), "week": 7 * 24 * int64(time.Hour),
}

var unitBytes = map[string]int64{"byte": 1, "kilobyte": 1 << 10, "megabyte": 1 << 20, "gigabyte": 1 << 30}

// withUnit turns a number into a duration or size: 30.seconds, 5.megabytes.
func withUnit(n Value, unit string) (Value, error) {
	if !n.IsNumber() {
		return Nil, TypeErrorf(".%s needs a number, got %s", unit, TypeName(n))
	}
	if ns, ok := unitNanos[unit]; ok {
		// (it said "integer overflow in .day", of a small number)
		tooLong := func() error {
			return Errorf("OverflowError", "%s %ss is longer than a Duration can be (about 292 years)", Repr(n), unit)
		}
		if n.k == KInt {
			x := int64(n.n)
			if x > math.MaxInt64/ns || x < math.MinInt64/ns {
				return Nil, tooLong()
			}
			return Duration(x * ns), nil
		}
		f := n.AsFloat() * float64(ns)
		if math.IsNaN(f) {
			return Nil, overflow("." + unit)
		}
		if math.Abs(f) >= math.MaxInt64 {
			return Nil, tooLong()
		}
		return Duration(int64(math.Round(f))), nil
	}
	if b, ok := unitBytes[unit]; ok {
		if n.k == KInt {
			x := int64(n.n)
			if x > math.MaxInt64/b || x < math.MinInt64/b {
				return Nil, overflow("." + unit)
			}
			return Size(x * b), nil
		}
		return Size(int64(math.Round(n.AsFloat() * float64(b)))), nil
	}
	return Nil, TypeErrorf("unknown unit %s", unit)
}

func bitwise(op bc.Op, x, y Value) (Value, error) {
	if x.k != KInt || y.k != KInt {
		return Nil, TypeErrorf("bitwise operators need Int operands, got %s and %s", TypeName(x), TypeName(y))
	}
	a, b := int64(x.n), int64(y.n)
	switch op {
	case bc.BAND:
		return Int(a & b), nil
	case bc.BOR:
		return Int(a | b), nil
	case bc.BXOR:
		return Int(a ^ b), nil
	case bc.SHL:
		if b < 0 || b > 63 {
			return Nil, Errorf("ValueError", "shift count %d out of range", b)
		}
		return Int(a << uint(b)), nil
	default:
		if b < 0 || b > 63 {
			return Nil, Errorf("ValueError", "shift count %d out of range", b)
		}
		return Int(a >> uint(b)), nil
	}
}

func spreadInto(t *Thread, a *Array, v Value) error {
	if v.k == KArray {
		if n := len(a.Elems) + len(v.AsArray().Elems); n > MaxListLen {
			return ListTooLong("spread", int64(n))
		}
		a.Elems = append(a.Elems, v.AsArray().Elems...)
		return nil
	}
	if v.k == KNil {
		return nil
	}
	if v.k == KRange {
		if n := v.AsRange().Len(); n > MaxListLen-int64(len(a.Elems)) {
			// (the count in full: n plus the list's may pass int64)
			return Errorf("ValueError", "spread: the list would have %d elements, over the limit of %d", uint64(n)+uint64(len(a.Elems)), MaxListLen)
		}
	}
	gen, n := false, 0
	if g, ok := v.AsHostOK().(*Generator); ok && g != nil {
		gen = true
	}
	return Iterate(t, v, func(e Value) error {
		if len(a.Elems) >= MaxListLen {
			return ListTooLong("spread", int64(len(a.Elems)+1))
		}
		if n++; gen && n > MaxGeneratorValues {
			// ([...naturals()] took gigabytes to reach a list's limit)
			return GeneratorTooLong("spread")
		}
		a.Elems = append(a.Elems, e)
		return nil
	})
}

func objSpread(t *Thread, o *Object, v Value) error {
	switch v.k {
	case KObject:
		src := v.AsObject()
		for i, k := range src.Keys() {
			o.Set(k, src.vals[i])
		}
		return nil
	case KNil:
		return nil
	case KBuiltin:
		if b := v.AsBuiltin(); b.Members != nil {
			// str, a namespace as math is: its members
			for _, k := range slices.Sorted(maps.Keys(b.Members)) {
				o.Set(k, b.Members[k])
			}
			return nil
		}
	case KHost:
		// A host object with named entries (request headers) spreads
		// them.
		if kh, ok := v.AsHost().(interface {
			Keys(t *Thread) ([]string, error)
		}); ok {
			keys, err := kh.Keys(t)
			if err != nil {
				return err
			}
			for _, k := range keys {
				x, _, err := v.AsHost().GetAttr(t, k)
				if err != nil {
					return err
				}
				o.Set(k, x)
			}
			return nil
		}
	}
	return TypeErrorf("cannot spread %s into an object", TypeName(v))
}

// fromJSON is T.from_json(text) for a record type T with derive [JSON]:
// the JSON object's fields, by name, make a T (a field the text lacks is
// nil; one the type lacks is an error).
// variantFromJSON is T.from_json(text) of an ADT T with derive [JSON]:
// the variant its to_json text names in __tag, with its fields.
func (t *Thread) variantFromJSON(adt *ADTInfo, args []Value) (Value, error) {
	names := make([]string, len(adt.Variants))
	for i, v := range adt.Variants {
		names[i] = v.Tag
	}
	o, err := t.jsonObject(adt.Name, args)
	if err != nil {
		return Nil, err
	}
	v, ok := VariantOfTagged(adt.Variants, o)
	if !ok {
		return Nil, Errorf("ValueError", "%s.from_json: expected an object whose __tag names a variant of %s (%s)", adt.Name, adt.Name, strings.Join(names, ", "))
	}
	ti := v.AsObject().Type
	for _, k := range o.Keys() {
		if k != "__tag" && ti.Shape.Lookup(k) < 0 {
			return Nil, Errorf("ValueError", "%s.from_json: %s has no field %s", adt.Name, ti.Tag, k)
		}
	}
	return t.In.Prog.typedFields(adt.Name, v, ti, t.In.Prog.VariantFieldTypes(ti), "")
}

// jsonObject parses from_json's text argument, which must hold an object.
func (t *Thread) jsonObject(name string, args []Value) (*Object, error) {
	if len(args) != 1 || args[0].k != KString {
		return nil, TypeErrorf("%s.from_json(text): expected a JSON String", name)
	}
	parse, ok := LookupBuiltin("json_parse")
	if !ok {
		return nil, Errorf("InternalError", "from_json: no JSON parser")
	}
	r, err := t.callOther(parse, args)
	if err != nil {
		return nil, err
	}
	if VariantOf(r) != OkType {
		return nil, Errorf("ValueError", "%s.from_json: %s", name, ToString(r.AsObject().Values()[0]))
	}
	v := r.AsObject().Values()[0]
	if v.k != KObject || v.AsObject().Type != nil {
		return nil, Errorf("ValueError", "%s.from_json: expected a JSON object, got %s", name, TypeName(v))
	}
	return v.AsObject(), nil
}

func (t *Thread) fromJSON(ti *TypeInfo, args []Value) (Value, error) {
	o, err := t.jsonObject(ti.Tag, args)
	if err != nil {
		return Nil, err
	}
	for _, k := range o.Keys() {
		if ti.Shape.Lookup(k) < 0 {
			return Nil, Errorf("ValueError", "%s.from_json: %s has no field %s", ti.Tag, ti.Tag, k)
		}
	}
	return t.In.Prog.typedFields(ti.Tag, ObjectValue(ti.New(ti.fieldsFrom(o))), ti, t.In.Prog.RecordFieldTypes(ti), "")
}

// DateFromJSON, set by the standard library, makes a Date of the text
// JSON writes one as ("2024-06-15T00:00:00.000Z").
var DateFromJSON func(text string) (Value, bool)

// typedFields gives the fields of x, a record or variant of type ti made
// of what JSON gave, the values their annotations ftypes say, as
// to_json wrote them: a nested record or variant, an Option ({"value":
// x}, {"__tag": "None"}, or x and null), a Result ({"value": x},
// {"error": e}), a Float written as 2, lists of them. A value that is
// not of its field's type is a ValueError naming the field (path is
// where x is, "" at the top).
func (p *Program) typedFields(fname string, x Value, ti *TypeInfo, ftypes []string, path string) (Value, error) {
	o := x.AsObject()
	for i, f := range ti.Fields {
		if i >= len(ftypes) || ftypes[i] == "" {
			continue
		}
		at := f
		if path != "" {
			at = path + "." + f
		}
		v, err := p.typedJSON(fname, o.vals[i], ftypes[i], at)
		if err != nil {
			return Nil, err
		}
		o.vals[i] = v
	}
	return x, nil
}

// typedJSON is v, as JSON gave it, made a value of the annotation typ
// (see typedFields).
func (p *Program) typedJSON(fname string, v Value, typ, path string) (Value, error) {
	bad := func(want string) error {
		return Errorf("ValueError", "%s.from_json: %s: expected %s, got %s", fname, path, want, TypeName(v))
	}
	field := func(k string) (Value, bool) {
		if v.k != KObject || v.AsObject().Type != nil || len(v.AsObject().Keys()) != 1 {
			return Nil, false
		}
		return v.AsObject().Get(k)
	}
	if v.IsNil() {
		return v, nil // (as a field the text lacks)
	}
	if args, ok := TypeArgs(typ, "Option"); ok && len(args) == 1 {
		// Some and None as to_json writes them; a value held as it is
		// (a field of `Int?` holding 3) comes back as it is.
		if tag, _ := field("__tag"); tag.k == KString && tag.AsString() == "None" {
			return None, nil
		}
		if inner, ok := field("value"); ok {
			x, err := p.typedJSON(fname, inner, args[0], path)
			return Some(x), err
		}
		return p.typedJSON(fname, v, args[0], path)
	}
	if members, ok := TypeArgs(typ, "|"); ok {
		// A union: the first of its types the value is made, in the
		// order written.
		for _, m := range members {
			if x, err := p.typedJSON(fname, v, m, path); err == nil && (m != "Nil" || v.IsNil()) {
				return x, nil
			}
		}
		return Nil, bad(strings.Join(members, " or "))
	}
	if args, ok := TypeArgs(typ, "Result"); ok && len(args) == 2 {
		if x, ok := field("value"); ok {
			x, err := p.typedJSON(fname, x, args[0], path)
			return Ok(x), err
		}
		if e, ok := field("error"); ok {
			e, err := p.typedJSON(fname, e, args[1], path)
			return Err(e), err
		}
		return Nil, bad(`{"value": ...} or {"error": ...} (a Result)`)
	}
	if elem, ok := strings.CutPrefix(typ, "["); ok && strings.HasSuffix(elem, "]") {
		if v.k != KArray {
			return Nil, bad("a List")
		}
		in := v.AsArray().Elems
		out := make([]Value, len(in))
		for i, e := range in {
			x, err := p.typedJSON(fname, e, elem[:len(elem)-1], path+"["+strconv.Itoa(i)+"]")
			if err != nil {
				return Nil, err
			}
			out[i] = x
		}
		return NewArray(out), nil
	}
	switch typ {
	case "Int":
		if v.k == KFloat && v.AsFloat() == math.Trunc(v.AsFloat()) && math.Abs(v.AsFloat()) < 1<<53 {
			return Int(int64(v.AsFloat())), nil
		}
		if v.k != KInt {
			return Nil, bad("Int")
		}
	case "Float":
		if v.k == KInt {
			return Float(float64(v.AsInt())), nil
		}
		if v.k != KFloat {
			return Nil, bad("Float")
		}
	case "String":
		if v.k != KString {
			return Nil, bad("String")
		}
	case "Bool":
		if v.k != KBool {
			return Nil, bad("Bool")
		}
	case "Duration", "Size":
		// (to_json writes them as milliseconds and bytes)
		switch {
		case v.k == KInt && typ == "Duration":
			return Duration(v.AsInt() * int64(time.Millisecond)), nil
		case v.k == KInt:
			return Size(v.AsInt()), nil
		case v.k != KDuration && v.k != KSize:
			return Nil, bad(typ + " (a whole number)")
		}
	case "Date":
		if v.k == KString && DateFromJSON != nil {
			if d, ok := DateFromJSON(v.AsString()); ok {
				return d, nil
			}
		}
		if v.k != KHost || v.AsHost().TypeName() != "Date" {
			return Nil, bad("a Date (its ISO text)")
		}
	}
	base, _, _ := strings.Cut(typ, "<") // (Box<Int> as Box is declared)
	ti, ftypes, vs, ok := p.uniqueType(base)
	switch {
	case !ok:
		return v, nil // (no type of the name, or several: left as it is)
	case v.k != KObject || v.AsObject().Type != nil:
		if v.k == KObject && (v.AsObject().Type == ti || slices.Contains(vs, v.AsObject().Type)) {
			return v, nil
		}
		return Nil, bad("a " + TypeText(base))
	case ti != nil:
		o := v.AsObject()
		for _, k := range o.Keys() {
			if ti.Shape.Lookup(k) < 0 {
				return Nil, Errorf("ValueError", "%s.from_json: %s: %s has no field %s", fname, path, ti.Tag, k)
			}
		}
		return p.typedFields(fname, ObjectValue(ti.New(ti.fieldsFrom(o))), ti, ftypes, path)
	}
	x, found := VariantOfTagged(vs, v.AsObject())
	if !found {
		return Nil, bad("a " + TypeText(base))
	}
	vt := x.AsObject().Type
	for _, k := range v.AsObject().Keys() {
		if k != "__tag" && vt.Shape.Lookup(k) < 0 {
			return Nil, Errorf("ValueError", "%s.from_json: %s: %s has no field %s", fname, path, vt.Tag, k)
		}
	}
	return p.typedFields(fname, x, vt, p.VariantFieldTypes(vt), path)
}

// uniqueType finds the one type the program declares as name: a record
// (ti, its fields' annotations) or a type with variants (vs). ok is
// false when none is, or several are (in scopes of their own, which a
// name in an annotation does not tell apart).
func (p *Program) uniqueType(name string) (ti *TypeInfo, ftypes []string, vs []*TypeInfo, ok bool) {
	if base, i := p.qualified(name); i >= 0 {
		if td := p.Code.Types[i]; td.Name == base {
			if len(td.Variants) == 0 {
				return p.types[i].ctors[0].AsType().Info, td.FieldTypes, nil, true
			}
			return nil, nil, p.types[i].adt.Variants, true
		}
		return nil, nil, nil, false
	}
	n := 0
	for i, td := range p.Code.Types {
		if td.Name != name {
			continue
		}
		n++
		if len(td.Variants) == 0 {
			ti, ftypes = p.types[i].ctors[0].AsType().Info, td.FieldTypes
		} else {
			vs = p.types[i].adt.Variants
		}
	}
	return ti, ftypes, vs, n == 1
}

// TypeArgs reads an applied type, base<A, B, ...> (Option<Int>; `Int?`
// is ?<Int>; a union is |<A, B>), as the compiler writes it: its
// arguments, split at the commas outside nested brackets.
func TypeArgs(typ, base string) ([]string, bool) {
	inner, found := strings.CutPrefix(typ, base+"<")
	if !found && base == "Option" {
		inner, found = strings.CutPrefix(typ, "?<")
	}
	if !found || !strings.HasSuffix(inner, ">") {
		return nil, false
	}
	inner = inner[:len(inner)-1]
	var args []string
	level, from := 0, 0
	for i, r := range inner {
		switch r {
		case '<', '[':
			level++
		case '>', ']':
			level--
		case ',':
			if level == 0 {
				args = append(args, strings.TrimSpace(inner[from:i]))
				from = i + 1
			}
		}
	}
	return append(args, strings.TrimSpace(inner[from:])), true
}
