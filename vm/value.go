package vm

import (
	"math"
	"time"
	"unsafe"
)

// Kind is the dynamic type of a Value.
type Kind uint8

const (
	KNil Kind = iota
	KBool
	KInt
	KFloat
	KString
	KDuration // n = nanoseconds
	KSize     // n = bytes
	KArray    // p = *Array
	KObject   // p = *Object (plain objects, records and variants)
	KFunc     // p = *Closure
	KBuiltin  // p = *Builtin
	KType     // p = *TypeValue (a record/variant constructor)
	KRange    // p = *RangeValue
	KHost     // p = *HostRef (host objects: requests, responses, models, db)
	KCell     // p = *Cell (internal: captured variable)
	KIter     // p = *iterator (internal: for-loop state)
	KShape    // p = *Shape (internal: object-literal shape constants)
)

var kindNames = [...]string{
	KNil: "Nil", KBool: "Bool", KInt: "Int", KFloat: "Float", KString: "String",
	KDuration: "Duration", KSize: "Size", KArray: "List", KObject: "Object",
	KFunc: "Function", KBuiltin: "Function", KType: "Function", KRange: "Range",
	KHost: "Object", KCell: "Cell", KIter: "Iterator", KShape: "Shape",
}

func (k Kind) String() string { return kindNames[k] }

// Value is a Tova value. Scalars (nil, Bool, Int, Float, Duration, Size)
// live in n and never allocate. A string keeps its data pointer in p and
// its byte length in n. Every other kind points at a heap object in p.
type Value struct {
	k Kind
	n uint64
	p unsafe.Pointer
}

func shapeConst(s *Shape) Value { return Value{k: KShape, p: unsafe.Pointer(s)} }

func (v Value) asShape() *Shape { return (*Shape)(v.p) }

// Nil is the nil value.
var Nil = Value{}

// unset is what a module slot holds until its declaration has run: nil
// to everything but GETG, which refuses to read it (a function called
// before a top-level binding's line reads it too early, as JavaScript's
// const does). Functions are set before anything runs (hoisted).
var unset = Value{n: 1}

var (
	True  = Value{k: KBool, n: 1}
	False = Value{k: KBool}
)

func Int(i int64) Value       { return Value{k: KInt, n: uint64(i)} }
func Float(f float64) Value   { return Value{k: KFloat, n: math.Float64bits(f)} }
func Duration(ns int64) Value { return Value{k: KDuration, n: uint64(ns)} }
func Size(b int64) Value      { return Value{k: KSize, n: uint64(b)} }

func Bool(b bool) Value {
	if b {
		return True
	}
	return False
}

// Str makes a String value. It does not copy s.
func Str(s string) Value {
	return Value{k: KString, n: uint64(len(s)), p: unsafe.Pointer(unsafe.StringData(s))}
}

func (v Value) Kind() Kind           { return v.k }
func (v Value) IsNil() bool          { return v.k == KNil }
func (v Value) AsInt() int64         { return int64(v.n) }
func (v Value) AsFloat() float64     { return math.Float64frombits(v.n) }
func (v Value) AsBool() bool         { return v.n != 0 }
func (v Value) AsDuration() int64    { return int64(v.n) }
func (v Value) AsSize() int64        { return int64(v.n) }
func (v Value) AsArray() *Array      { return (*Array)(v.p) }
func (v Value) AsObject() *Object    { return (*Object)(v.p) }
func (v Value) AsClosure() *Closure  { return (*Closure)(v.p) }
func (v Value) AsBuiltin() *Builtin  { return (*Builtin)(v.p) }
func (v Value) AsType() *TypeValue   { return (*TypeValue)(v.p) }
func (v Value) AsRange() *RangeValue { return (*RangeValue)(v.p) }
func (v Value) AsCell() *Cell        { return (*Cell)(v.p) }

// IsCallable says whether v can be called: a function, a builtin or a
// type (its constructor).
func (v Value) IsCallable() bool {
	return v.k == KFunc || v.k == KBuiltin || v.k == KType || boundMethod(v) != nil
}

// AsString returns the string of a KString value (no copy).
func (v Value) AsString() string {
	if v.n == 0 {
		return ""
	}
	return unsafe.String((*byte)(v.p), int(v.n))
}

// AsHost returns the host object of a KHost value.
func (v Value) AsHost() HostObject { return (*HostRef)(v.p).H }

// Truthy: only false and nil are falsy (Decision 3).
func (v Value) Truthy() bool {
	switch v.k {
	case KNil:
		return false
	case KBool:
		return v.n != 0
	}
	return true
}

// IsNumber reports whether v is an Int or a Float.
func (v Value) IsNumber() bool { return v.k == KInt || v.k == KFloat }

// Number returns v as a float64 (Int or Float).
func (v Value) Number() float64 {
	if v.k == KInt {
		return float64(int64(v.n))
	}
	return math.Float64frombits(v.n)
}

// ---------------------------------------------------------------- heap objects

// Array is a mutable, growable list.
type Array struct {
	Elems []Value
}

func NewArray(elems []Value) Value { return Value{k: KArray, p: unsafe.Pointer(&Array{Elems: elems})} }
func ArrayValue(a *Array) Value    { return Value{k: KArray, p: unsafe.Pointer(a)} }

// NewArrayFrom returns a list holding a copy of elems: one allocation
// of the exact size, elements included, for a list of up to 4 elements.
// (A list that grows past them moves its elements to a slice of their
// own, as any list does when it outgrows its capacity.)
func NewArrayFrom(elems []Value) Value {
	var a *Array
	switch n := len(elems); n {
	case 0:
		a = &Array{Elems: []Value{}}
	case 1:
		a = arrayWith[[1]Value]()
	case 2:
		a = arrayWith[[2]Value]()
	case 3:
		a = arrayWith[[3]Value]()
	case 4:
		a = arrayWith[[4]Value]()
	default:
		a = &Array{Elems: make([]Value, n)}
	}
	copy(a.Elems, elems)
	return ArrayValue(a)
}

// arrayWith allocates a list with its elements in the same allocation,
// in an array of type A ([n]Value): n zero elements.
func arrayWith[A any]() *Array {
	p := &struct {
		Array
		e A
	}{}
	p.Elems = unsafe.Slice((*Value)(unsafe.Pointer(&p.e)), unsafe.Sizeof(p.e)/unsafe.Sizeof(Value{}))
	return &p.Array
}

// Cell holds a variable captured by a closure.
type Cell struct{ V Value }

func CellValue(c *Cell) Value { return Value{k: KCell, p: unsafe.Pointer(c)} }

// Builtin is a function implemented in Go.
// Params names its parameters for named-argument calls (may be nil);
// a builtin receives the arguments as passed (named ones moved to their
// position, absent ones nil) and must not retain args after returning.
type Builtin struct {
	Name   string
	Params []string
	Fn     func(t *Thread, args []Value) (Value, error)
	// Pure: the builtin holds no values and runs no Tova code of its own
	// (a callback passed to it is an argument, not its own), so threads
	// may share it without the scheduler (see Instance.Isolated). Every
	// registered builtin is; a function made at run time, such as
	// partial(f, obj) or memoize(f), is not.
	Pure bool
	// Members are the builtin's own fields, read as fn.name and called
	// as fn.name(...): `str` is a function and the namespace of the
	// string functions (str(42), str.upper(s)).
	Members map[string]Value
	// Named, when set, takes a call with named arguments (spawn_job
	// binds them to the background fn's parameters): pos are the
	// positional ones, kw the values of names.
	Named func(t *Thread, pos []Value, names []string, kw []Value) (Value, error)
	// MaxArgs is the most arguments the builtin takes when that is more
	// than its Params (-1: any number): join(users, orders, left: "id")
	// takes a third, its options, that it does not declare. 0 is as many
	// as Params, so that a named argument matching none of them is an
	// error rather than an argument the builtin never reads
	// (etag(res, tag, weak: true)).
	MaxArgs int
}

func BuiltinValue(b *Builtin) Value { return Value{k: KBuiltin, p: unsafe.Pointer(b)} }

// RangeValue is a lazy integer range [Lo, Hi) stepping by Step, or
// [Lo, Hi] when Closed. Only a range whose exclusive end would pass the
// largest Int is closed (x..=9223372036854775807), so that each range
// has one form and == can compare the fields.
type RangeValue struct {
	Lo, Hi, Step int64
	Closed       bool
}

func NewRange(lo, hi, step int64) Value {
	return Value{k: KRange, p: unsafe.Pointer(&RangeValue{Lo: lo, Hi: hi, Step: step})}
}

// NewRangeThrough is lo..=last.
func NewRangeThrough(lo, last int64) Value {
	if last == math.MaxInt64 {
		return Value{k: KRange, p: unsafe.Pointer(&RangeValue{Lo: lo, Hi: last, Step: 1, Closed: true})}
	}
	return NewRange(lo, last+1, 1)
}

// equalList reports whether the range's numbers are xs, in order.
func (r *RangeValue) equalList(xs []Value) bool {
	if r.Len() != int64(len(xs)) {
		return false
	}
	for i, x := range xs {
		v, _ := r.Index(int64(i))
		if !equalFlat(Int(v), x) {
			return false
		}
	}
	return true
}

// equalRange reports whether two ranges hold the same numbers in the
// same order (range(0, 10, 3) is range(0, 11, 3); every empty range is
// every other).
func (r *RangeValue) equalRange(o *RangeValue) bool {
	n := r.Len()
	if n != o.Len() {
		return false
	}
	for i := int64(0); i < min(n, 2); i++ {
		x, _ := r.Index(i)
		y, _ := o.Index(i)
		if x != y {
			return false
		}
	}
	return true
}

// Len is the number of integers in the range.
func (r *RangeValue) Len() int64 {
	// A range longer than MaxInt64 (range(minInt, maxInt)) is
	// counted as MaxInt64: nothing can walk either to its end.
	return int64(min(r.Count(), math.MaxInt64))
}

// Count is the number of integers in the range, which may pass MaxInt64.
// The one range of more, every Int (-9223372036854775808..=
// 9223372036854775807), counts as MaxUint64.
func (r *RangeValue) Count() uint64 {
	span, step, ok := r.span()
	switch {
	case !ok:
		return 0
	case r.Closed:
		return min(span/step, math.MaxUint64-1) + 1
	}
	n := span / step
	if span%step != 0 {
		n++
	}
	return n
}

// span is the distance from Lo to Hi and the size of a step, in uint64
// (Hi - Lo may pass MaxInt64); ok is false when the range is empty.
func (r *RangeValue) span() (span, step uint64, ok bool) {
	switch {
	case r.Step > 0 && (r.Hi > r.Lo || r.Closed && r.Hi == r.Lo):
		return uint64(r.Hi) - uint64(r.Lo), uint64(r.Step), true
	case r.Step < 0 && (r.Hi < r.Lo || r.Closed && r.Hi == r.Lo):
		return uint64(r.Lo) - uint64(r.Hi), -uint64(r.Step), true
	}
	return 0, 0, false
}

// Last is the last integer of a range that is not empty. Walking a range
// stops at it: a step past it may pass the largest or smallest Int.
func (r *RangeValue) Last() int64 {
	span, step, _ := r.span()
	if !r.Closed {
		span-- // the last is before Hi
	}
	d := span / step * step // from Lo to the last
	if r.Step < 0 {
		return int64(uint64(r.Lo) - d)
	}
	return int64(uint64(r.Lo) + d)
}

// Index is integer i of the range, counting from the end when i is
// negative; ok is false past either end.
func (r *RangeValue) Index(i int64) (v int64, ok bool) {
	n := r.Count()
	if i >= 0 {
		if uint64(i) >= n {
			return 0, false
		}
		// In uint64, which wraps: the element itself is an Int.
		return int64(uint64(r.Lo) + uint64(i)*uint64(r.Step)), true
	}
	back := -uint64(i) - 1 // steps back from the last
	if back >= n {
		return 0, false
	}
	return int64(uint64(r.Last()) - back*uint64(r.Step)), true
}

// Has reports whether v is one of the range's integers.
func (r *RangeValue) Has(v int64) bool {
	if _, _, ok := r.span(); !ok {
		return false
	}
	if r.Step > 0 {
		return v >= r.Lo && v <= r.Last() && (uint64(v)-uint64(r.Lo))%uint64(r.Step) == 0
	}
	return v <= r.Lo && v >= r.Last() && (uint64(r.Lo)-uint64(v))%-uint64(r.Step) == 0
}

// HostObject is a Go object exposed to Tova code (request, response,
// database handle, model). Attribute reads that return false fall back to
// the builtins with the same name.
type HostObject interface {
	TypeName() string
	GetAttr(t *Thread, name string) (Value, bool, error)
	SetAttr(t *Thread, name string, v Value) error
}

// HostOrdered is implemented by host objects that compare by value (a
// Date by its time): CompareHost orders the object against another host
// object, ok false when that one is not of its kind.
type HostOrdered interface {
	CompareHost(other HostObject) (c int, ok bool)
}

// HostShifted is implemented by host objects that a Duration moves in
// time (a Date): d + 1.hour, 1.hour + d and d - 1.hour are d.Shift.
type HostShifted interface {
	Shift(by time.Duration) (Value, error)
}

// HostInstant is implemented by host objects that are a point in time
// (a Date), which then is its Unix milliseconds where it meets a number,
// as a JavaScript Date is: d2 - d1 and now() - d are Ints of
// milliseconds, and d < now() compares the times.
type HostInstant interface {
	UnixMillis() int64
}

// instantMillis is v's Unix milliseconds if v is a HostInstant.
func instantMillis(v Value) (int64, bool) {
	if v.k != KHost {
		return 0, false
	}
	i, ok := v.AsHostOK().(HostInstant)
	if !ok {
		return 0, false
	}
	return i.UnixMillis(), true
}

// HostEqual is implemented by host objects that compare by value for
// == but have no order (an uploaded file by its fields): EqualHost
// reports whether other is equal to the object.
type HostEqual interface {
	EqualHost(other HostObject) bool
}

// HostKeyed is implemented by host objects that map keys to values
// (request headers), whose GetAttr gives nil for a key they lack: Has
// says whether key is there, for has_key and `in`.
type HostKeyed interface {
	Has(key string) bool
}

// HostFieldless is implemented by host objects that have no fields a
// program reads (a Date, whose parts are methods): reading one
// (d.year) is the error MissingField gives, not nil. A method call
// still falls back to the builtins.
type HostFieldless interface {
	MissingField(name string) error
}

// HostCaller is implemented by host objects that have methods: a method
// call obj.name(args) first asks CallMethod; handled false falls back to
// GetAttr + call, then to builtins.
type HostCaller interface {
	CallMethod(t *Thread, name string, args []Value) (result Value, handled bool, err error)
}

// HostMethods is implemented by a HostCaller to name its methods'
// parameters: a call of one with named or spread arguments (res.text("t",
// status: 201), req.headers.get("x-a", default: "")) binds them to
// those, and calls the method, not the builtin of that name with the
// host first.
type HostMethods interface {
	MethodParams(name string) (params []string, ok bool)
}

// HostStrict is implemented by host objects for which calling a method
// they lack is an error of theirs (a namespace: math.len(x) is no call
// of the builtin len with math first), though a missing field reads as
// nil, as an object's does (has, get, destructuring defaults).
type HostStrict interface {
	MissingAttr(name string) error
}

// HostRef boxes a HostObject so that a Value can point at it.
type HostRef struct{ H HostObject }

func HostValue(h HostObject) Value { return Value{k: KHost, p: unsafe.Pointer(&HostRef{H: h})} }

// HostRefValue is HostValue with a caller-provided ref (r.H set), so that
// a host that allocates per-request state in one block boxes it there.
func HostRefValue(r *HostRef) Value { return Value{k: KHost, p: unsafe.Pointer(r)} }

// Same reports whether a and b are the very same value (identity for heap
// kinds, bit equality for scalars).
func Same(a, b Value) bool { return a.k == b.k && a.n == b.n && a.p == b.p }

// AsHostOK returns the host object of a KHost value, or nil.
func (v Value) AsHostOK() HostObject {
	if v.k != KHost {
		return nil
	}
	return (*HostRef)(v.p).H
}
