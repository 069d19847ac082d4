package store

import (
	"math"
	"strconv"
	"strings"
	"time"

	"tova/vm"
	"tova/vm/stdlib"
)

// A model field's declared type, parsed from the text the compiler
// gives ("Int", "[String]", "Option<Addr>", "Result<Int, String>") with
// the program's record and variant types resolved. A value is checked
// against it, at every depth, before it is stored or compared (create,
// update, filters); a JSON column is read back through it, so that a
// record field comes back as the record, a Result as Ok or Err, a Float
// as a Float.

type typeKind uint8

const (
	tAny      typeKind = iota // not checked: Any, a type parameter, a name the program does not declare
	tInt                      // Int
	tFloat                    // Float, Number
	tBool                     // Bool
	tString                   // String
	tDate                     // Date: a Date, an ISO string or epoch milliseconds, stored as ISO text
	tDuration                 // Duration, stored as milliseconds
	tSize                     // Size, stored as bytes
	tList                     // [T], List
	tObject                   // Object, Map: an object of no declared type
	tOption                   // Option<T>, T?: T or nil, Some(x) stored as x, None as nil
	tResult                   // Result<T, E>: Ok(x) or Err(e)
	tRecord                   // a record type of the program
	tVariant                  // a type of the program with variants
)

type fieldType struct {
	kind typeKind
	text string     // the type as declared, for messages
	elem *fieldType // list and Option element, Result's Ok type
	errT *fieldType // Result's Err type
	// a record type and its fields' types
	record *vm.TypeInfo
	fields []*fieldType
	// a type with variants, its variants, and the types of their
	// fields (of a variant whose fields are typed)
	adt      *vm.ADTInfo
	variants []*vm.TypeInfo
	vfields  map[*vm.TypeInfo][]*fieldType
}

var anyType = &fieldType{kind: tAny}

// typeResolver parses declared types. A name is resolved through the
// names in scope: the types the compiler found visible where the text
// was written (the model's declaration, or a record type's), by value,
// so that a type a server declares is not another of the same name. A
// model spec without them (compiled by an older tova) resolves names
// through the program, the first declaration of a name winning. A type
// is parsed once, so a recursive record type (type Node { children:
// [Node] }) is a cycle, not an endless descent.
type typeResolver struct {
	prog    *vm.Program
	scope   map[string]vm.Value // nil: resolve names through the program
	records map[*vm.TypeInfo]recordSpec
	parsed  map[any]*fieldType // by *vm.TypeInfo, *vm.ADTInfo or (through the program) name
}

// recordSpec is how the compiler describes a record type a model
// reaches: its fields' types, and the types these name.
type recordSpec struct {
	fields []string
	scope  map[string]vm.Value
}

func newTypeResolver(prog *vm.Program) *typeResolver {
	return &typeResolver{prog: prog, parsed: map[any]*fieldType{}}
}

// setScope reads the types and records of a model spec (see
// modelDecl in package bytecode).
func (r *typeResolver) setScope(types, records vm.Value) {
	if types.Kind() != vm.KObject {
		return
	}
	r.scope = scopeOf(types)
	r.records = map[*vm.TypeInfo]recordSpec{}
	if records.Kind() != vm.KArray {
		return
	}
	for _, e := range records.AsArray().Elems {
		if e.Kind() != vm.KObject {
			continue
		}
		o := e.AsObject()
		tv, _ := o.Get("type")
		fv, _ := o.Get("fields")
		sv, _ := o.Get("types")
		if tv.Kind() != vm.KType || fv.Kind() != vm.KArray {
			continue
		}
		var rs recordSpec
		for _, f := range fv.AsArray().Elems {
			text := ""
			if f.Kind() == vm.KString {
				text = f.AsString()
			}
			rs.fields = append(rs.fields, text)
		}
		rs.scope = scopeOf(sv)
		r.records[tv.AsType().Info] = rs
	}
}

func scopeOf(types vm.Value) map[string]vm.Value {
	scope := map[string]vm.Value{}
	if types.Kind() == vm.KObject {
		o := types.AsObject()
		for i, k := range o.Keys() {
			scope[k] = o.Values()[i]
		}
	}
	return scope
}

func (r *typeResolver) parse(s string) *fieldType {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return anyType
	case strings.HasSuffix(s, "?"):
		return &fieldType{kind: tOption, text: s, elem: r.parse(s[:len(s)-1])}
	case strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]"):
		return &fieldType{kind: tList, text: s, elem: r.parse(s[1 : len(s)-1])}
	}
	name, args, ok := splitGeneric(s)
	if !ok {
		return anyType
	}
	arg := func(i int) *fieldType {
		if i < len(args) {
			return r.parse(args[i])
		}
		return anyType
	}
	ft := &fieldType{text: s}
	switch name {
	case "Any":
		return anyType
	case "Int":
		ft.kind = tInt
	case "Float", "Number":
		ft.kind = tFloat
	case "Bool":
		ft.kind = tBool
	case "String":
		ft.kind = tString
	case "Date", "DateTime", "Timestamp":
		ft.kind = tDate
	case "Duration":
		ft.kind = tDuration
	case "Size":
		ft.kind = tSize
	case "List", "Array":
		ft.kind, ft.elem = tList, arg(0)
	case "Object":
		ft.kind = tObject
	case "Map":
		// Map<K, V>: an object whose values are Vs (its keys are
		// text, whatever K says)
		ft.kind = tObject
		if len(args) == 2 {
			ft.elem = arg(1)
		}
	case "Option":
		ft.kind, ft.elem = tOption, arg(0)
	case "?": // T?, as the compiler writes it in a type's fields
		ft.kind, ft.elem = tOption, arg(0)
		if len(args) == 1 {
			ft.text = strings.TrimSpace(args[0]) + "?"
		}
	case "Result":
		ft.kind, ft.elem, ft.errT = tResult, arg(0), arg(1)
	default:
		// (an applied generic type, Box<Int>, as its declaration is: a
		// field of a type parameter's type unchecked; it was not
		// checked at all, and read back as a plain object)
		return r.named(name)
	}
	return ft
}

// named resolves a type the program declares; any other name is not
// checked.
func (r *typeResolver) named(name string) *fieldType {
	if r.scope != nil {
		v, ok := r.scope[name]
		if !ok {
			return anyType // no type of the program where it is written
		}
		switch v.Kind() {
		case vm.KType: // a record type's constructor
			if ti := v.AsType().Info; ti.Variant < 0 {
				rs, ok := r.records[ti]
				if !ok {
					break
				}
				return r.record(ti, rs.fields, rs.scope)
			}
		case vm.KObject: // a type with variants: an object of them
			for _, x := range v.AsObject().Values() {
				if ti := variantInfo(x); ti != nil && ti.ADT != nil {
					return r.variant(ti.ADT)
				}
			}
		}
		// not (yet) a type's value: by name, as an older spec
	}
	if ft, ok := r.parsed[name]; ok {
		return ft
	}
	if r.prog == nil {
		return anyType
	}
	if ti, ftypes := r.prog.RecordType(name); ti != nil {
		ft := r.record(ti, ftypes, nil)
		r.parsed[name] = ft
		return ft
	}
	if vs := r.prog.Variants(name); vs != nil {
		ft := r.variant(vs[0].ADT)
		r.parsed[name] = ft
		return ft
	}
	r.parsed[name] = anyType
	return anyType
}

// record returns record type ti with its fields' types parsed from
// ftypes, whose names resolve through scope (nil: the program).
func (r *typeResolver) record(ti *vm.TypeInfo, ftypes []string, scope map[string]vm.Value) *fieldType {
	if ft, ok := r.parsed[ti]; ok {
		return ft
	}
	ft := &fieldType{kind: tRecord, text: ti.Name, record: ti, fields: make([]*fieldType, len(ti.Fields))}
	r.parsed[ti] = ft
	saved := r.scope
	r.scope = scope
	for i := range ti.Fields {
		ft.fields[i] = anyType
		if i < len(ftypes) {
			ft.fields[i] = r.parse(ftypes[i])
		}
	}
	r.scope = saved
	return ft
}

func (r *typeResolver) variant(adt *vm.ADTInfo) *fieldType {
	if ft, ok := r.parsed[adt]; ok {
		return ft
	}
	ft := &fieldType{kind: tVariant, text: adt.Name, adt: adt, variants: adt.Variants}
	r.parsed[adt] = ft
	if r.prog == nil {
		return ft
	}
	// Its variants' field types, as the program declares them (a
	// Circle("nope") was stored in a Circle(r: Float), and a Float
	// read back as the Int it held).
	saved := r.scope
	r.scope = nil
	for _, v := range adt.Variants {
		ftypes := r.prog.VariantFieldTypes(v)
		if len(ftypes) == 0 {
			continue
		}
		fs := make([]*fieldType, len(v.Fields))
		for i := range fs {
			fs[i] = anyType
			if i < len(ftypes) {
				fs[i] = r.parse(ftypes[i])
			}
		}
		if ft.vfields == nil {
			ft.vfields = map[*vm.TypeInfo][]*fieldType{}
		}
		ft.vfields[v] = fs
	}
	r.scope = saved
	return ft
}

// variantInfo is the variant a value of a type's object of variants
// is: a constructor, or the instance of a bare variant.
func variantInfo(v vm.Value) *vm.TypeInfo {
	if v.Kind() == vm.KType {
		return v.AsType().Info
	}
	return vm.VariantOf(v)
}

// splitGeneric splits "Result<Int, [String]>" into its name and
// arguments; a name alone has none. ok is false for text of another
// shape.
func splitGeneric(s string) (name string, args []string, ok bool) {
	open := strings.IndexByte(s, '<')
	if open < 0 {
		return s, nil, !strings.ContainsAny(s, ">[](), ")
	}
	if !strings.HasSuffix(s, ">") {
		return "", nil, false
	}
	name, inner := s[:open], s[open+1:len(s)-1]
	depth, start := 0, 0
	for i := 0; i < len(inner); i++ {
		switch inner[i] {
		case '<', '[', '(':
			depth++
		case '>', ']', ')':
			depth--
		case ',':
			if depth == 0 {
				args = append(args, inner[start:i])
				start = i + 1
			}
		}
	}
	return name, append(args, inner[start:]), depth == 0
}

// misfit says why a value does not fit a field: the value at path
// (".city", "[0]", below the field) is not of type want, or, when msg
// is set, what else is wrong there (a ValueError when valueErr is set).
type misfit struct {
	path     string
	want     string
	got      vm.Value
	msg      string
	valueErr bool
}

func (b *misfit) under(seg string) *misfit {
	b.path = seg + b.path
	return b
}

func (b *misfit) error(model, method, field string) error {
	if b.msg != "" {
		kind := "TypeError"
		if b.valueErr {
			kind = "ValueError"
		}
		return vm.Errorf(kind, "%s.%s: field %s%s %s", model, method, field, b.path, b.msg)
	}
	hint := ""
	if b.got.IsCallable() {
		// (title: String = uuid: the function, not its value)
		n := ""
		switch b.got.Kind() {
		case vm.KBuiltin:
			n = b.got.AsBuiltin().Name
		case vm.KFunc:
			n = b.got.AsClosure().Name()
		}
		hint = ", a function: call it for its value, with ()"
		if n != "" {
			hint = ", a function: call it for its value (" + n + "(), not " + n + ")"
		}
	}
	return vm.TypeErrorf("%s.%s: field %s%s is %s, got %s%s", model, method, field, b.path, b.want, vm.Repr(b.got), hint)
}

// fit checks v against the type and returns it as it is stored: an
// object given for a record type as that record, Some(x) as x and None
// as nil, a whole Float as an Int for an Int, a Date as its ISO text.
// nil fits every type, at every depth (columns and JSON hold null).
// NaN fits no Float, as SQLite stores it as NULL; inJSON says the value
// goes into JSON text, which holds no Infinity either.
func (ft *fieldType) fit(v vm.Value, inJSON bool) (vm.Value, *misfit) {
	if v.IsNil() {
		return v, nil
	}
	bad := func() (vm.Value, *misfit) { return vm.Nil, &misfit{want: ft.text, got: v} }
	switch ft.kind {
	case tAny:
		return unchecked(v, inJSON)
	case tInt:
		switch v.Kind() {
		case vm.KInt:
			return v, nil
		case vm.KFloat:
			f := v.AsFloat()
			if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
				return vm.Int(int64(f)), nil
			}
			if f == math.Trunc(f) && !math.IsInf(f, 0) {
				return vm.Nil, &misfit{msg: "is Int, got the Float " + vm.FormatFloat(f) + ", past 2^53, beyond which a Float does not hold every whole number (write it as an Int)"}
			}
		}
	case tFloat:
		if !v.IsNumber() {
			break
		}
		switch f := v.Number(); {
		case (math.IsNaN(f) || math.IsInf(f, 0)) && inJSON:
			return vm.Nil, &misfit{msg: "is " + vm.FormatFloat(f) + ", which JSON cannot hold (it would be null)", valueErr: true}
		case math.IsNaN(f):
			return vm.Nil, &misfit{msg: "is NaN, which SQLite cannot store (it would be NULL there)", valueErr: true}
		}
		return vm.Float(v.Number()), nil
	case tBool:
		if v.Kind() == vm.KBool {
			return v, nil
		}
	case tString:
		if v.Kind() == vm.KString {
			return v, nil
		}
	case tDate:
		if tm, ok := dateOf(v); ok {
			if err := dateRange(tm); err != "" {
				return vm.Nil, &misfit{msg: err, valueErr: true}
			}
			return vm.Str(formatTime(tm)), nil
		}
	case tDuration:
		if v.Kind() == vm.KDuration {
			return v, nil
		}
		if v.IsNumber() {
			// (a row's JSON, posted back: the number is not taken as a
			// unit it does not name)
			return vm.Nil, &misfit{msg: "is Duration, got the number " + vm.Repr(v) + ": write a Duration (5.seconds); milliseconds from JSON become one through a typed parameter or body: Type (a d: Duration field), or n * 1.millisecond"}
		}
		if v.Kind() == vm.KString {
			// ("30s", as a typed parameter takes it)
			return vm.Nil, &misfit{msg: "is Duration, got the String " + vm.Repr(v) + ": write a Duration (30.seconds); text from JSON (\"30s\") becomes one through a typed parameter or body: Type (a d: Duration field)"}
		}
	case tSize:
		if v.Kind() == vm.KSize {
			return v, nil
		}
		if v.IsNumber() {
			return vm.Nil, &misfit{msg: "is Size, got the number " + vm.Repr(v) + ": write a Size (5.megabytes); bytes from JSON become one through a typed parameter or body: Type, or n * 1.byte"}
		}
		if v.Kind() == vm.KString {
			return vm.Nil, &misfit{msg: "is Size, got the String " + vm.Repr(v) + ": write a Size (5.megabytes); bytes from JSON become one through a typed parameter or body: Type, or n * 1.byte"}
		}
	case tList:
		if v.Kind() != vm.KArray {
			break
		}
		in := v.AsArray().Elems
		var out []vm.Value
		for i, e := range in {
			x, b := ft.elem.fit(e, true)
			if b != nil {
				return vm.Nil, b.under("[" + strconv.Itoa(i) + "]")
			}
			if out == nil && !vm.Same(x, e) {
				out = append(make([]vm.Value, 0, len(in)), in[:i]...)
			}
			if out != nil {
				out = append(out, x)
			}
		}
		if out == nil {
			return v, nil
		}
		return vm.NewArray(out), nil
	case tObject:
		if v.Kind() == vm.KHost {
			v = hostObject(v)
		}
		if v.Kind() == vm.KObject && v.AsObject().Type == nil {
			if ft.elem == nil || ft.elem.kind == tAny {
				return unchecked(v, inJSON)
			}
			o := v.AsObject()
			var out *vm.Object
			for i, k := range o.Keys() {
				e := o.Values()[i]
				x, b := ft.elem.fit(e, true)
				if b != nil {
					return vm.Nil, b.under("." + k)
				}
				if out == nil && !vm.Same(x, e) {
					out = vm.NewObject()
					for j, k2 := range o.Keys()[:i] {
						out.Set(k2, o.Values()[j])
					}
				}
				if out != nil {
					out.Set(k, x)
				}
			}
			if out == nil {
				return v, nil
			}
			return vm.ObjectValue(out), nil
		}
	case tOption:
		if ti := vm.VariantOf(v); ti != nil && ti.ADT == vm.OptionADT {
			if ti == vm.NoneType {
				return vm.Nil, nil
			}
			v = v.AsObject().Values()[0]
		}
		x, b := ft.elem.fit(v, inJSON)
		if b != nil && b.path == "" && b.msg == "" {
			b.want = ft.text // "is Option<Int>, got "x""
		}
		return x, b
	case tResult:
		ti := vm.VariantOf(v)
		if ti == nil || ti.ADT != vm.ResultADT {
			break
		}
		want, wrap, seg := ft.elem, vm.Ok, ".value"
		if ti == vm.ErrType {
			want, wrap, seg = ft.errT, vm.Err, ".error"
		}
		x, b := want.fit(v.AsObject().Values()[0], true)
		if b != nil {
			return vm.Nil, b.under(seg)
		}
		return wrap(x), nil
	case tRecord:
		return ft.fitRecord(v)
	case tVariant:
		if ti := vm.VariantOf(v); ti != nil && ti.ADT == ft.adt {
			fs := ft.vfields[ti]
			if fs == nil {
				return unchecked(v, inJSON)
			}
			o := v.AsObject()
			vals := make([]vm.Value, len(ti.Fields))
			for i, f := range ti.Fields {
				x, _ := o.Get(f)
				fx, b := fs[i].fit(x, true)
				if b != nil {
					return vm.Nil, b.under("." + f)
				}
				vals[i] = fx
			}
			return vm.ObjectValue(ti.New(vals)), nil
		}
	}
	return bad()
}

// unchecked returns v, whose contents its type does not check (Any,
// Object, a variant's fields), after looking through them, when they go
// into JSON text, for a NaN or an Infinity, which it cannot hold.
func unchecked(v vm.Value, inJSON bool) (vm.Value, *misfit) {
	if inJSON {
		if b := nonFinite(v, nil); b != nil {
			return vm.Nil, b
		}
	}
	return v, nil
}

// nonFinite finds a NaN or an Infinity in v, at any depth, and says
// where; JSON would hold null in its place. seen holds the lists and
// objects looked through already: one shared many times is looked
// through once.
func nonFinite(v vm.Value, seen map[any]bool) *misfit {
	switch v.Kind() {
	case vm.KFloat:
		if f := v.AsFloat(); math.IsNaN(f) || math.IsInf(f, 0) {
			return &misfit{msg: "is " + vm.FormatFloat(f) + ", which JSON cannot hold (it would be null)", valueErr: true}
		}
	case vm.KArray:
		a := v.AsArray()
		if seen[a] {
			return nil
		}
		if seen == nil {
			seen = map[any]bool{}
		}
		seen[a] = true
		for i, e := range a.Elems {
			if b := nonFinite(e, seen); b != nil {
				return b.under("[" + strconv.Itoa(i) + "]")
			}
		}
	case vm.KObject:
		o := v.AsObject()
		if seen[o] {
			return nil
		}
		if seen == nil {
			seen = map[any]bool{}
		}
		seen[o] = true
		for i, k := range o.Keys() {
			if b := nonFinite(o.Values()[i], seen); b != nil {
				return b.under("." + k)
			}
		}
	case vm.KHost:
		if x := hostObject(v); x.Kind() != vm.KHost {
			return nonFinite(x, seen)
		}
	}
	return nil
}

// fitRecord takes a record of the type, or an object whose keys are
// among its fields (a missing one is nil), and returns the record with
// every field fitted.
func (ft *fieldType) fitRecord(v vm.Value) (vm.Value, *misfit) {
	if v.Kind() != vm.KObject {
		return vm.Nil, &misfit{want: ft.text, got: v}
	}
	o := v.AsObject()
	if o.Type != nil && o.Type != ft.record {
		return vm.Nil, &misfit{want: ft.text, got: v}
	}
	ti := ft.record
	if o.Type == nil {
		for _, k := range o.Keys() {
			if ti.Shape.Lookup(k) < 0 {
				return vm.Nil, &misfit{path: "." + k, msg: "is not a field of " + ti.Name + " (fields: " + strings.Join(ti.Fields, ", ") + ")"}
			}
		}
	}
	vals := make([]vm.Value, len(ti.Fields))
	for i, f := range ti.Fields {
		x, _ := o.Get(f)
		fx, b := ft.fields[i].fit(x, true)
		if b != nil {
			return vm.Nil, b.under("." + f)
		}
		vals[i] = fx
	}
	return vm.ObjectValue(ti.New(vals)), nil
}

// hostObject is the value a host value is as JSON (an object for a
// request's headers), which is what a JSON field stores, or v itself.
func hostObject(v vm.Value) vm.Value {
	if h, ok := v.AsHost().(stdlib.JSONValuer); ok {
		return h.JSONValue()
	}
	return v
}

// dateOf reads a value given for a Date: a Date, an ISO 8601 string or
// epoch milliseconds.
func dateOf(v vm.Value) (time.Time, bool) {
	switch v.Kind() {
	case vm.KString:
		return parseTime(v.AsString())
	case vm.KInt:
		return time.UnixMilli(v.AsInt()), true
	case vm.KFloat:
		// (JSON's one kind of number: whole milliseconds, a fraction
		// of one dropped, as Date.new drops it)
		if f := v.AsFloat(); math.Abs(f) < 1<<53 {
			return time.UnixMilli(int64(f)), true
		}
	case vm.KHost:
		if dt, ok := v.AsHost().(*stdlib.Date); ok {
			return dt.T, true
		}
	}
	return time.Time{}, false
}

// dateRange refuses a time outside the years 1 to 9999: their ISO
// text would not be four-digit years, which SQLite (where dates are
// that text) sorts differently from PostgreSQL's timestamps.
func dateRange(tm time.Time) string {
	if !stdlib.InDateRange(tm) {
		y := tm.UTC().Year()
		return "is in the year " + strconv.Itoa(y) + ": dates are stored from the year 1 to 9999"
	}
	return ""
}

// read types a value read from a JSON column by the declared type: the
// inverse of fit followed by JSON. What does not fit (a row stored
// before the field's type changed) comes back as it was read.
func (ft *fieldType) read(v vm.Value) vm.Value {
	if v.IsNil() {
		return v
	}
	switch ft.kind {
	case tInt:
		if v.Kind() == vm.KFloat {
			if f := v.AsFloat(); f == math.Trunc(f) && math.Abs(f) < 1<<63 {
				return vm.Int(int64(f))
			}
		}
	case tFloat:
		if v.Kind() == vm.KInt {
			return vm.Float(float64(v.AsInt()))
		}
	case tDate:
		if v.Kind() == vm.KString {
			if tm, ok := parseTime(v.AsString()); ok {
				return vm.Str(formatTime(tm))
			}
		}
	case tDuration:
		if v.IsNumber() {
			return vm.Duration(int64(math.Round(v.Number() * float64(time.Millisecond))))
		}
	case tSize:
		if v.Kind() == vm.KInt {
			return vm.Size(v.AsInt())
		}
	case tList:
		if v.Kind() == vm.KArray && ft.elem.kind != tAny {
			in := v.AsArray().Elems
			out := make([]vm.Value, len(in))
			for i, e := range in {
				out[i] = ft.elem.read(e)
			}
			return vm.NewArray(out)
		}
	case tObject:
		if v.Kind() == vm.KObject && ft.elem != nil && ft.elem.kind != tAny {
			o := v.AsObject()
			out := vm.NewObject()
			for i, k := range o.Keys() {
				out.Set(k, ft.elem.read(o.Values()[i]))
			}
			return vm.ObjectValue(out)
		}
	case tOption:
		return ft.elem.read(v)
	case tResult:
		if v.Kind() == vm.KObject && v.AsObject().Len() == 1 {
			o := v.AsObject()
			if x, ok := o.Get("value"); ok {
				return vm.Ok(ft.elem.read(x))
			}
			if e, ok := o.Get("error"); ok {
				return vm.Err(ft.errT.read(e))
			}
		}
	case tRecord:
		if v.Kind() == vm.KObject && v.AsObject().Type == nil {
			o := v.AsObject()
			vals := make([]vm.Value, len(ft.fields))
			for i, f := range ft.record.Fields {
				x, _ := o.Get(f)
				vals[i] = ft.fields[i].read(x)
			}
			return vm.ObjectValue(ft.record.New(vals))
		}
	case tVariant:
		if v.Kind() != vm.KObject {
			break
		}
		if x, ok := vm.VariantOfTagged(ft.variants, v.AsObject()); ok {
			ti := x.AsObject().Type
			fs := ft.vfields[ti]
			if fs == nil {
				return x
			}
			vals := make([]vm.Value, len(ti.Fields))
			for i, f := range ti.Fields {
				y, _ := x.AsObject().Get(f)
				vals[i] = fs[i].read(y)
			}
			return vm.ObjectValue(ti.New(vals))
		}
	}
	return v
}
