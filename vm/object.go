package vm

import (
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"unsafe"

	"tova/internal/jsonstr"
)

// Shape is the ordered key list shared by every object built the same way.
// Shapes form a tree: adding a key to an object moves it to a child shape.
// Shapes are immutable apart from their transition table, which is
// guarded, so objects of one shape may live on many goroutines.
type Shape struct {
	id    uint32
	keys  []string
	index map[string]int // built for shapes with many keys

	mu    sync.Mutex
	trans map[string]*Shape

	// jsonKeys are the keys as JSON members open (see Object.JSONKeys),
	// made the first time an object of the shape is encoded.
	jsonKeys atomic.Pointer[[]string]
}

const (
	shapeMapMin  = 9  // shapes with this many keys get an index map
	dictModeKeys = 64 // objects with more keys leave the shape tree
	// maxShapes bounds the shape tree: past it, objects that would need a
	// new shape switch to dictionary mode instead, so programs building
	// objects from arbitrary keys (parsed JSON, counters) cannot grow it
	// without bound.
	maxShapes = 1 << 16
)

var (
	shapeIDs   atomic.Uint32
	emptyShape = &Shape{id: 1}
)

func init() { shapeIDs.Store(1) }

// Keys returns the keys of the shape in insertion order (do not modify).
func (s *Shape) Keys() []string { return s.keys }

// Lookup returns the slot of key, or -1.
func (s *Shape) Lookup(key string) int {
	if s.index != nil {
		if i, ok := s.index[key]; ok {
			return i
		}
		return -1
	}
	for i, k := range s.keys {
		if k == key {
			return i
		}
	}
	return -1
}

// With returns the shape that has s's keys followed by key.
func (s *Shape) With(key string) *Shape { return s.with(key, true) }

// with returns the child shape for key; when it does not exist yet it is
// made only if create is set (else nil).
func (s *Shape) with(key string, create bool) *Shape {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.trans[key]; ok {
		return c
	}
	if !create {
		return nil
	}
	keys := make([]string, len(s.keys)+1)
	copy(keys, s.keys)
	keys[len(s.keys)] = key
	c := &Shape{id: shapeIDs.Add(1), keys: keys}
	if len(keys) >= shapeMapMin {
		c.index = make(map[string]int, len(keys))
		for i, k := range keys {
			c.index[k] = i
		}
	}
	if s.trans == nil {
		s.trans = make(map[string]*Shape)
	}
	s.trans[key] = c
	return c
}

// maxJSONKeyBytes bounds the encoded keys a shape keeps (see JSONKeys):
// a shape whose keys take more (long keys, seldom encoded for many
// objects) has them encoded for each object instead.
const maxJSONKeyBytes = 1 << 10

// JSONKeys returns o's keys each as a JSON string and a colon (`"id":`),
// as jsonstr.Append writes the key: made once per shape and kept with
// it, so that encoding many objects of one shape (the rows of a list)
// escapes their keys once. It returns nil for an object in dictionary
// mode, or one whose keys would take more than maxJSONKeyBytes so.
func (o *Object) JSONKeys() []string {
	s := o.shape
	if s == nil || len(s.keys) == 0 {
		return nil
	}
	if p := s.jsonKeys.Load(); p != nil {
		return *p
	}
	// Two goroutines may both make them: the same strings either way.
	enc := make([]string, len(s.keys))
	size := 0
	for i, k := range s.keys {
		// Counted before it is encoded: a key may be huge.
		if size += jsonstr.Len(k) + 1; size > maxJSONKeyBytes {
			enc = nil
			break
		}
		enc[i] = string(append(jsonstr.Append(nil, k), ':'))
	}
	s.jsonKeys.Store(&enc) // nil: too long, and not to be tried again
	return enc
}

// ShapeOf returns the shape with exactly these keys in this order.
// Duplicate keys keep their first position.
func ShapeOf(keys []string) *Shape {
	s := emptyShape
	for _, k := range keys {
		if s.Lookup(k) < 0 {
			s = s.With(k)
		}
	}
	return s
}

// Object is an insertion-ordered map from string keys to values. Small
// objects share a Shape; big ones switch to dictionary mode (shape nil).
// Records and variants are Objects with a non-nil Type.
type Object struct {
	shape *Shape
	vals  []Value
	dict  *objDict  // dictionary mode (shape is nil)
	Type  *TypeInfo // nil for plain objects
}

// objDict holds the keys of an object in dictionary mode.
//
// Removing a key other than the last leaves a hole in keys and the
// object's vals rather than shifting the keys after it down, which
// rewrote the index of every one of them: removing keys oldest first
// (evicting a cache) was quadratic. A hole keeps its key, whose index
// entry is gone or names a later slot (the key set again). The holes are
// dropped when they come to outnumber the keys, and before the slots are
// read in order (Keys, Values), so that everything outside this file
// sees them dense; a slot from Lookup stays valid until then.
type objDict struct {
	keys  []string
	index map[string]int
	holes int
}

// newShaped allocates an object of shape s with room for its values in
// the same allocation when it is small.
func newShaped(s *Shape) *Object {
	n := len(s.keys)
	switch {
	case n == 0:
		return &Object{shape: s}
	case n <= 2:
		p := &struct {
			Object
			a [2]Value
		}{}
		p.shape, p.vals = s, p.a[:n:n]
		return &p.Object
	case n <= 4:
		p := &struct {
			Object
			a [4]Value
		}{}
		p.shape, p.vals = s, p.a[:n:n]
		return &p.Object
	case n <= 8:
		p := &struct {
			Object
			a [8]Value
		}{}
		p.shape, p.vals = s, p.a[:n:n]
		return &p.Object
	}
	return &Object{shape: s, vals: make([]Value, n)}
}

// NewObject returns an empty plain object.
func NewObject() *Object { return &Object{shape: emptyShape} }

// NewObjectShaped returns an object of shape s with the given values
// (len(vals) must equal len(s.keys); vals is retained).
func NewObjectShaped(s *Shape, vals []Value) *Object {
	return &Object{shape: s, vals: vals}
}

// NewObjectFrom returns an object of shape s holding a copy of vals
// (len(vals) must equal len(s.keys)): one allocation of the exact size,
// values included, for an object of up to 8 keys. (newShaped leaves room
// for keys to come; an object made whole, as JSON.parse makes them,
// usually keeps the keys it has.)
func NewObjectFrom(s *Shape, vals []Value) *Object {
	var o *Object
	switch n := len(s.keys); n {
	case 0:
		return &Object{shape: s}
	case 1:
		o = withVals[[1]Value](s)
	case 2:
		o = withVals[[2]Value](s)
	case 3:
		o = withVals[[3]Value](s)
	case 4:
		o = withVals[[4]Value](s)
	case 5:
		o = withVals[[5]Value](s)
	case 6:
		o = withVals[[6]Value](s)
	case 7:
		o = withVals[[7]Value](s)
	case 8:
		o = withVals[[8]Value](s)
	default:
		o = &Object{shape: s, vals: make([]Value, n)}
	}
	copy(o.vals, vals)
	return o
}

// withVals allocates an object of shape s with its values in the same
// allocation, in an array of type A ([len(s.keys)]Value).
func withVals[A any](s *Shape) *Object {
	p := &struct {
		Object
		a A
	}{}
	p.shape, p.vals = s, unsafe.Slice((*Value)(unsafe.Pointer(&p.a)), unsafe.Sizeof(p.a)/unsafe.Sizeof(Value{}))
	return &p.Object
}

func ObjectValue(o *Object) Value { return Value{k: KObject, p: unsafe.Pointer(o)} }

// Len is the number of keys.
func (o *Object) Len() int {
	if o.dict != nil {
		return len(o.vals) - o.dict.holes
	}
	return len(o.vals)
}

// Keys returns the keys in insertion order (do not modify).
func (o *Object) Keys() []string {
	if o.shape != nil {
		return o.shape.keys
	}
	o.compact()
	return o.dict.keys
}

// Values returns the values in key order (do not modify the slice header).
func (o *Object) Values() []Value {
	o.compact()
	return o.vals
}

// Shape returns the object's shape, nil in dictionary mode.
func (o *Object) Shape() *Shape { return o.shape }

// Slot returns the value at slot i.
func (o *Object) Slot(i int) Value { return o.vals[i] }

// SetSlot sets the value at slot i.
func (o *Object) SetSlot(i int, v Value) { o.vals[i] = v }

// Lookup returns the slot of key, or -1.
func (o *Object) Lookup(key string) int {
	if o.shape != nil {
		return o.shape.Lookup(key)
	}
	if i, ok := o.dict.index[key]; ok {
		return i
	}
	return -1
}

// entryAt returns the value of key, which was the key at slot i of o
// when o had shape s (nil: o was in dictionary mode). While the slots
// have not moved since, the value is read from slot i; else key is looked
// up. ok is false when o no longer has key.
func (o *Object) entryAt(i int, key string, s *Shape) (v Value, ok bool) {
	switch {
	case s != nil && o.shape == s:
		return o.vals[i], true
	case s == nil && o.dict != nil && o.dict.holes == 0 && i < len(o.dict.keys) && o.dict.keys[i] == key:
		// Without holes every slot holds a key the object has.
		return o.vals[i], true
	}
	return o.Get(key)
}

// Get returns the value of key.
func (o *Object) Get(key string) (Value, bool) {
	i := o.Lookup(key)
	if i < 0 {
		return Nil, false
	}
	return o.vals[i], true
}

// Set sets key to v, appending the key if it is new.
func (o *Object) Set(key string, v Value) {
	if i := o.Lookup(key); i >= 0 {
		o.vals[i] = v
		return
	}
	if o.shape != nil {
		if len(o.vals) < dictModeKeys {
			if next := o.shape.with(key, shapeIDs.Load() < maxShapes); next != nil {
				o.shape = next
				o.vals = append(o.vals, v)
				return
			}
		}
		o.toDict()
	}
	o.dict.index[key] = len(o.dict.keys)
	o.dict.keys = append(o.dict.keys, key)
	o.vals = append(o.vals, v)
}

func (o *Object) toDict() {
	keys := o.shape.keys
	d := &objDict{keys: make([]string, len(keys), len(keys)*2), index: make(map[string]int, len(keys)*2)}
	copy(d.keys, keys)
	for i, k := range keys {
		d.index[k] = i
	}
	o.dict = d
	o.shape = nil
}

// compact drops the holes removed keys left in a dictionary-mode object.
// The keys and values move to new arrays, so that a key list Keys
// handed out before (a loop over the object holds one) stays as it was.
func (o *Object) compact() {
	d := o.dict
	if d == nil || d.holes == 0 {
		return
	}
	n := len(o.vals) - d.holes
	keys, vals := make([]string, 0, n), make([]Value, 0, n)
	for i, k := range d.keys {
		if j, ok := d.index[k]; ok && j == i {
			d.index[k] = len(keys)
			keys, vals = append(keys, k), append(vals, o.vals[i])
		}
	}
	d.keys, o.vals, d.holes = keys, vals, 0
}

// ObjectKey returns the key k names on an object. A String is its own
// key; an Int names its decimal text, so o[1] and o["1"] are one entry,
// as in the reference, whose object keys are strings (counting by number,
// counts[n] = (counts[n] ?? 0) + 1, is common). ok is false for every
// other kind: a Bool, Float or nil key is a mistake more often than not.
// The text of an Int is written into buf, so it allocates nothing and
// lives only as long as buf; with a nil buf it is allocated, a key that
// the caller may keep (as an object keeps the keys it is given).
func ObjectKey(k Value, buf *[20]byte) (key string, ok bool) {
	switch {
	case k.k == KString:
		return k.AsString(), true
	case k.k == KInt && buf == nil:
		return strconv.FormatInt(int64(k.n), 10), true
	case k.k == KInt:
		return intKey(buf, int64(k.n)), true
	}
	return "", false
}

// intKey writes the decimal text of i into buf and returns it.
func intKey(buf *[20]byte, i int64) string {
	b := strconv.AppendInt(buf[:0], i, 10)
	return unsafe.String(&b[0], len(b))
}

// keyError is the error of an object key that is neither String nor Int.
func keyError(k Value) *Error {
	return TypeErrorf("object key must be String or Int, got %s", TypeName(k))
}

// Delete removes key, keeping the order of the others. It reports whether
// the key was present.
func (o *Object) Delete(key string) bool {
	i := o.Lookup(key)
	if i < 0 {
		return false
	}
	if d := o.dict; d != nil {
		delete(d.index, key)
		if i == len(o.vals)-1 {
			// The last key: the rest stays as it is. The slices end at
			// their length, so that a key set next does not write where
			// a walk of the object begun before may look.
			o.vals, d.keys = o.vals[:i:i], d.keys[:i:i]
		} else {
			o.vals[i] = Nil // what it held may be freed
			d.holes++
		}
		if d.holes > len(o.vals)/2 {
			o.compact()
		}
		return true
	}
	// An object of a shape has few keys (under dictModeKeys): it moves
	// to the shape of the keys left.
	keys := append([]string(nil), o.shape.keys...)
	keys = append(keys[:i], keys[i+1:]...)
	o.vals = append(o.vals[:i], o.vals[i+1:]...)
	o.shape = ShapeOf(keys)
	return true
}

// Copy returns a shallow copy (a plain object when o is a record).
func (o *Object) Copy() *Object {
	o.compact()
	c := &Object{shape: o.shape, vals: append([]Value(nil), o.vals...), Type: o.Type}
	if o.shape == nil {
		d := &objDict{keys: append([]string(nil), o.dict.keys...), index: make(map[string]int, len(o.dict.index))}
		for k, i := range o.dict.index {
			d.index[k] = i
		}
		c.dict = d
	}
	return c
}

// ---------------------------------------------------------------- types

// TypeInfo describes a record type or one variant of an ADT. Instances
// are Objects whose Type points here.
type TypeInfo struct {
	Name    string   // the declared type name (ADT name for variants)
	Tag     string   // the variant name; equals Name for records
	Fields  []string // field names in declaration order
	Shape   *Shape
	Variant int  // index among the ADT's variants, -1 for records
	Eq      bool // derive [Eq]: structural equality (records and variants always compare structurally here)
	ADT     *ADTInfo
	// Positional is true for variants whose fields print and serialise
	// positionally (Ok, Err, Some).
	Positional bool
	Singleton  *Object // the instance of a bare variant (no fields)
	// decl is one more than the index of the program type declaring it
	// (the ADT's, for a variant), whose impl blocks' methods it has (see
	// Instance.methods); 0 for the builtin types.
	decl int
	prog *Program // the program declaring it (nil for the builtin types)
	// JSON: derive [JSON], which gives the type from_json.
	JSON bool
	// defaults are the fields' defaults where hasDefault (nil when no
	// field has one): the constructor fills in those it is not given.
	defaults   []Value
	hasDefault []bool
}

// ADTInfo groups the variants of one algebraic data type.
type ADTInfo struct {
	Name     string
	Variants []*TypeInfo
}

// NewTypeInfo builds a TypeInfo and its shape.
func NewTypeInfo(name, tag string, fields []string, variant int) *TypeInfo {
	ti := &TypeInfo{Name: name, Tag: tag, Fields: fields, Shape: ShapeOf(fields), Variant: variant}
	if variant >= 0 && len(fields) == 0 {
		ti.Singleton = &Object{shape: ti.Shape, Type: ti}
	}
	return ti
}

// Default returns the default of field i, and whether it has one.
func (ti *TypeInfo) Default(i int) (Value, bool) {
	if i < len(ti.hasDefault) && ti.hasDefault[i] {
		return ti.defaults[i], true
	}
	return Nil, false
}

// New builds an instance from field values in declaration order.
func (ti *TypeInfo) New(vals []Value) *Object {
	if ti.Singleton != nil {
		return ti.Singleton
	}
	o := newShaped(ti.Shape)
	copy(o.vals, vals)
	o.Type = ti
	return o
}

// VariantOfTagged is the variant, among vs, of a plain object in the
// form JSON gives one ({"__tag": "Circle", "r": 2}): the variant of its
// tag, its fields as the object holds them. ok is false when no variant
// of vs has that tag.
func VariantOfTagged(vs []*TypeInfo, o *Object) (v Value, ok bool) {
	tag, _ := o.Get("__tag")
	if tag.k != KString {
		return Nil, false
	}
	for _, ti := range vs {
		if ti.Tag == tag.AsString() {
			return ObjectValue(ti.New(ti.fieldsFrom(o))), true
		}
	}
	return Nil, false
}

// fieldsFrom is the values of ti's fields o gives, by name: a field o
// lacks takes its declared default, as the constructor gives it, else
// nil.
func (ti *TypeInfo) fieldsFrom(o *Object) []Value {
	vals := make([]Value, len(ti.Fields))
	for i, f := range ti.Fields {
		v, ok := o.Get(f)
		if !ok && i < len(ti.hasDefault) && ti.hasDefault[i] {
			v = ti.defaults[i]
		}
		vals[i] = v
	}
	return vals
}

// TypeValue is a callable constructor (a record type or a variant).
type TypeValue struct{ Info *TypeInfo }

func TypeValueOf(ti *TypeInfo) Value { return Value{k: KType, p: unsafe.Pointer(&TypeValue{Info: ti})} }

// The built-in Result and Option variants.
var (
	ResultADT = &ADTInfo{Name: "Result"}
	OptionADT = &ADTInfo{Name: "Option"}
	OkType    = builtinVariant(ResultADT, "Ok", "value", 0)
	ErrType   = builtinVariant(ResultADT, "Err", "error", 1)
	SomeType  = builtinVariant(OptionADT, "Some", "value", 0)
	NoneType  = builtinVariant(OptionADT, "None", "", 1)
)

func builtinVariant(adt *ADTInfo, tag, field string, idx int) *TypeInfo {
	var fields []string
	if field != "" {
		fields = []string{field}
	}
	ti := NewTypeInfo(adt.Name, tag, fields, idx)
	ti.ADT = adt
	ti.Positional = true
	ti.Eq = true
	adt.Variants = append(adt.Variants, ti)
	return ti
}

func Ok(v Value) Value   { return ObjectValue(OkType.New([]Value{v})) }
func Err(v Value) Value  { return ObjectValue(ErrType.New([]Value{v})) }
func Some(v Value) Value { return ObjectValue(SomeType.New([]Value{v})) }

// None is the None value.
var None = ObjectValue(NoneType.Singleton)

// OptionValue returns what an Option holds: x for Some(x), nil for
// None; ok is false for any other value, which it returns as it is.
func OptionValue(v Value) (x Value, ok bool) {
	switch VariantOf(v) {
	case SomeType:
		return v.AsObject().Values()[0], true
	case NoneType:
		return Nil, true
	}
	return v, false
}

// WithoutOptions returns v with every Option in it taken as what it
// holds (Some(x) is x, None nil), at any depth of its plain objects and
// lists (records and other variants are left as they are), copying what
// changes: a config block's settings, given by the guide's optional
// configuration (`env API_KEY: Option<String> = None`). A key or a list
// element that is None is left out, as if it were not given.
func WithoutOptions(v Value) Value { return withoutOptions(v, 0) }

func withoutOptions(v Value, depth int) Value {
	if depth > 64 {
		return v // (a cycle, or nesting no config has)
	}
	if x, ok := OptionValue(v); ok {
		return withoutOptions(x, depth+1)
	}
	switch v.k {
	case KArray:
		elems := v.AsArray().Elems
		var fixed []Value
		for i, e := range elems {
			if u := withoutOptions(e, depth+1); u != e {
				if fixed == nil {
					fixed = slices.Clone(elems[:i])
				}
				if VariantOf(e) != NoneType {
					fixed = append(fixed, u)
				}
			} else if fixed != nil {
				fixed = append(fixed, e)
			}
		}
		if fixed != nil {
			return NewArray(fixed)
		}
	case KObject:
		o := v.AsObject()
		if o.Type != nil {
			return v
		}
		var out *Object
		for i, x := range o.Values() {
			if u := withoutOptions(x, depth+1); u != x {
				if out == nil {
					out = NewObject()
					for j, k := range o.Keys() {
						out.Set(k, o.Values()[j])
					}
				}
				if VariantOf(x) == NoneType {
					out.Delete(o.Keys()[i])
				} else {
					out.Set(o.Keys()[i], u)
				}
			}
		}
		if out != nil {
			return ObjectValue(out)
		}
	}
	return v
}

// VariantOf returns the TypeInfo of a record or variant value, or nil.
// WrappedHint is the note of an error for a value given where what it
// holds was meant: a Result or an Option (fs.read_text(path) is
// Ok(text)); "" for any other value.
func WrappedHint(v Value) string {
	switch VariantOf(v) {
	case OkType:
		return " (a Result: the value is r.unwrap(), or r? in a function that returns a Result; match on it to handle an Err)"
	case ErrType:
		return " (an Err: what failed is its error, r.error; match on the Result to handle it, or r? to pass it on)"
	case SomeType:
		return " (an Option: the value is o.unwrap(), or o.unwrap_or(default))"
	case NoneType:
		return " (None holds no value: o.unwrap_or(default) gives one in its place)"
	}
	return ""
}

func VariantOf(v Value) *TypeInfo {
	if v.k != KObject {
		return nil
	}
	return v.AsObject().Type
}
