package vm

import (
	"unicode/utf8"
	"unsafe"
)

// Iterable is implemented by host objects that can be looped over
// (lazy sequences such as stream()).
type Iterable interface {
	Iterator(t *Thread) (Iterator, error)
}

// Iterator yields the elements of a lazy sequence.
type Iterator interface {
	// Next returns the next element; ok is false at the end.
	Next(t *Thread) (v Value, ok bool, err error)
}

// iterator is the for-loop state stored in a KIter register.
type iterator struct {
	kind    Kind
	pairs   bool // yield (key/index, value)
	i       int
	chars   int // a string's characters before i (its loop's index)
	arr     *Array
	str     string
	obj     *Object
	keys    []string // obj's keys when the loop began
	shape   *Shape   // obj's shape then (nil in dictionary mode)
	rng     RangeValue
	left    uint64 // the integers of rng still to yield
	host    Iterator
	entries bool // the host yields [key, value] entries (EntryIterable)
}

// EntryIterable is implemented by host objects that loop as an object
// does (request headers): their elements are [key, value] entries, and a
// two-variable loop gets key and value.
type EntryIterable interface {
	Iterable
	IteratesEntries()
}

func iterValue(it *iterator) Value { return Value{k: KIter, p: unsafe.Pointer(it)} }

// newIterator starts iterating seq. With pairs, arrays and strings yield
// (index, element), objects (key, value); otherwise arrays yield elements,
// strings characters, objects keys... no: a single-variable loop over an
// object yields its [key, value] entries as 2-element lists.
func newIterator(t *Thread, seq Value, pairs bool) (*iterator, error) {
	it := &iterator{kind: seq.k, pairs: pairs}
	switch seq.k {
	case KArray:
		it.arr = seq.AsArray()
	case KString:
		it.str = seq.AsString()
	case KObject:
		if ti := seq.AsObject().Type; ti != nil && ti.Variant >= 0 {
			// Ok(5) is no collection: for x in Ok(5) walked { value: 5 }.
			if h := WrappedHint(seq); h != "" {
				return nil, TypeErrorf("%s is not iterable%s", TypeName(seq), h)
			}
			return nil, TypeErrorf("%s is a variant, not a collection, and is not iterable (read its fields by name, or match on it)", TypeName(seq))
		}
		it.obj = seq.AsObject()
		it.keys, it.shape = it.obj.Keys(), it.obj.shape
	case KRange:
		it.rng = *seq.AsRange()
		it.left = it.rng.Count()
	case KHost:
		src, ok := seq.AsHost().(Iterable)
		if !ok {
			return nil, TypeErrorf("%s is not iterable", TypeName(seq))
		}
		h, err := src.Iterator(t)
		if err != nil {
			return nil, err
		}
		it.host = h
		_, it.entries = src.(EntryIterable)
	case KNil:
		return nil, TypeErrorf("cannot iterate over nil")
	default:
		return nil, TypeErrorf("%s is not iterable", TypeName(seq))
	}
	return it, nil
}

// next advances the iterator. For pair iteration k receives the index or
// key; v always receives the element.
func (it *iterator) next(t *Thread) (k, v Value, ok bool, err error) {
	switch it.kind {
	case KArray:
		if it.i >= len(it.arr.Elems) {
			return Nil, Nil, false, nil
		}
		k, v = Int(int64(it.i)), it.arr.Elems[it.i]
		it.i++
		return k, v, true, nil
	case KString:
		if it.i >= len(it.str) {
			return Nil, Nil, false, nil
		}
		_, size := utf8.DecodeRuneInString(it.str[it.i:])
		v = Str(it.str[it.i : it.i+size])
		// (the index counts characters, as s[i] does, not bytes)
		k = Int(int64(it.chars))
		it.i += size
		it.chars++
		return k, v, true, nil
	case KObject:
		// The loop walks the keys the object had when it began, as the
		// reference's loop over Object.entries does: a key the body adds
		// is not visited (adding one per key never ended). A key the body
		// removes before its turn is skipped, and a value it changes is
		// seen changed, as a for-in loop in JavaScript has them; holding
		// on to the values as well would copy every object looped over.
		for it.i < len(it.keys) {
			k := it.keys[it.i]
			val, ok := it.obj.entryAt(it.i, k, it.shape)
			it.i++
			if !ok {
				continue
			}
			if it.pairs {
				return Str(k), val, true, nil
			}
			return Nil, NewArray([]Value{Str(k), val}), true, nil
		}
		return Nil, Nil, false, nil
	case KRange:
		// Counted, not compared with Hi: the step after the last
		// integer may pass the largest or smallest Int and wrap.
		if it.left == 0 {
			return Nil, Nil, false, nil
		}
		v = Int(it.rng.Lo)
		k = Int(int64(it.i))
		it.rng.Lo += it.rng.Step
		it.left--
		it.i++
		return k, v, true, nil
	case KHost:
		v, ok, err = it.host.Next(t)
		k = Int(int64(it.i))
		it.i++
		if it.pairs && it.entries && v.k == KArray {
			if e := v.AsArray().Elems; len(e) == 2 {
				k, v = e[0], e[1]
			}
		}
		return k, v, ok, err
	}
	return Nil, Nil, false, nil
}

// Iterate calls fn with each element of seq: list elements, string
// characters, range integers, object entries as [key, value] lists, or the
// elements of a lazy sequence. It stops at the first error fn returns.
func Iterate(t *Thread, seq Value, fn func(v Value) error) error {
	if seq.k == KArray {
		// Index each time: fn may append to the list.
		a := seq.AsArray()
		for i := 0; i < len(a.Elems); i++ {
			if err := fn(a.Elems[i]); err != nil {
				return err
			}
		}
		return nil
	}
	it, err := newIterator(t, seq, false)
	if err != nil {
		return err
	}
	for {
		_, v, ok, err := it.next(t)
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		if err := fn(v); err != nil {
			return err
		}
	}
}

// NewIterator returns a pull iterator over the elements of seq, what a
// one-variable for loop over it gets (see Iterate).
func NewIterator(t *Thread, seq Value) (Iterator, error) {
	it, err := newIterator(t, seq, false)
	if err != nil {
		return nil, err
	}
	return pullIter{it}, nil
}

type pullIter struct{ it *iterator }

func (p pullIter) Next(t *Thread) (Value, bool, error) {
	_, v, ok, err := p.it.next(t)
	return v, ok, err
}
