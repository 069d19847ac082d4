package stdlib

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"tova/vm"
)

// The reference's `collections` namespace (docs/stdlib/advanced-
// collections.md): OrderedDict, DefaultDict, Counter and Deque, each a
// mutable host object with the reference's methods. Keys may be any
// value (see mapKey).

func init() {
	ctor := func(name string, params []string, fn func(t *vm.Thread, args []vm.Value) (vm.Value, error)) vm.Value {
		return member("collections", name, params, withArity("collections."+name, params, fn))
	}
	vm.RegisterValue("collections", NewNamespace("collections", map[string]vm.Value{
		"OrderedDict": ctor("OrderedDict", ps("entries"), func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
			d := &dictColl{kind: "OrderedDict"}
			if has(args, 0) {
				// [[key, value], ...], or an object's entries.
				err := iterate(t, "collections.OrderedDict", args[0], func(e vm.Value, _ int) error {
					if e.Kind() != vm.KArray || len(e.AsArray().Elems) != 2 {
						return typeErr("collections.OrderedDict", "[key, value] entries", e)
					}
					d.m.set(e.AsArray().Elems[0], e.AsArray().Elems[1])
					return nil
				})
				if err != nil {
					return vm.Nil, err
				}
			}
			return vm.HostValue(d), nil
		}),
		"DefaultDict": ctor("DefaultDict", ps("factory"), func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
			f := arg(args, 0)
			if !callable(f) {
				return vm.Nil, typeErr("collections.DefaultDict", "Function", f)
			}
			return vm.HostValue(&dictColl{kind: "DefaultDict", factory: f}), nil
		}),
		"Counter": ctor("Counter", ps("items"), func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
			d := &dictColl{kind: "Counter"}
			if has(args, 0) {
				err := iterate(t, "collections.Counter", args[0], func(x vm.Value, _ int) error {
					d.count(x)
					return nil
				})
				if err != nil {
					return vm.Nil, err
				}
			}
			return vm.HostValue(d), nil
		}),
		"Deque": ctor("Deque", ps("items"), func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
			q := &deque{}
			if has(args, 0) {
				err := iterate(t, "collections.Deque", args[0], func(x vm.Value, _ int) error {
					return q.push("push_back", x, false)
				})
				if err != nil {
					return vm.Nil, err
				}
			}
			return vm.HostValue(q), nil
		}),
	}))
}

// orderedMap keeps its keys in insertion order.
//
// Deleting a key leaves a hole in keys and vals (the key stays, and
// index no longer names its slot) rather than shifting every later key
// down and making its index entry again, which made deleting oldest
// first quadratic. The holes are dropped once they outnumber the keys,
// and before keys and vals are read in order (dense).
type orderedMap struct {
	keys, vals []vm.Value
	index      map[string]int
	holes      int
}

// mapKey is the key of v: a list, object, function or host object (but
// a Date or a Regex) by its identity (two lists that print alike are two keys, and a list
// changed after it was used stays the same key), any other value by its
// kind and what it prints, as a JavaScript Map keys them: a whole Float
// is the Int it equals (2 / 2 is the key 1, -0.0 the key 0).
func mapKey(v vm.Value) string {
	switch v.Kind() {
	case vm.KFloat:
		if f := v.AsFloat(); f == math.Trunc(f) && f >= -(1<<63) && f < 1<<63 {
			return "Int\x00" + strconv.FormatInt(int64(f), 10)
		}
	case vm.KArray:
		return fmt.Sprintf("list@%p", v.AsArray())
	case vm.KObject:
		return fmt.Sprintf("object@%p", v.AsObject())
	case vm.KFunc:
		return fmt.Sprintf("fn@%p", v.AsClosure())
	case vm.KBuiltin:
		return fmt.Sprintf("builtin@%p", v.AsBuiltin())
	case vm.KHost:
		switch v.AsHost().(type) {
		case *Date, *Regex:
			// (values: two equal Dates, or regexes, are one key, as ==
			// and unique have them)
			return vm.TypeName(v) + "\x00" + vm.Repr(v)
		}
		return fmt.Sprintf("host@%p", v.AsHost())
	}
	return vm.TypeName(v) + "\x00" + vm.Repr(v)
}

func (m *orderedMap) get(k vm.Value) (vm.Value, bool) {
	if i, ok := m.index[mapKey(k)]; ok {
		return m.vals[i], true
	}
	return vm.Nil, false
}

func (m *orderedMap) set(k, v vm.Value) {
	key := mapKey(k)
	if i, ok := m.index[key]; ok {
		m.vals[i] = v
		return
	}
	if m.index == nil {
		m.index = map[string]int{}
	}
	m.index[key] = len(m.keys)
	m.keys, m.vals = append(m.keys, k), append(m.vals, v)
}

func (m *orderedMap) delete(k vm.Value) {
	key := mapKey(k)
	i, ok := m.index[key]
	if !ok {
		return
	}
	delete(m.index, key)
	m.vals[i] = vm.Nil // what it held may be freed
	if i == len(m.keys)-1 {
		m.keys, m.vals = m.keys[:i], m.vals[:i]
	} else {
		m.holes++
	}
	if m.holes > len(m.keys)/2 {
		m.dense()
	}
}

// len is the number of keys.
func (m *orderedMap) len() int { return len(m.keys) - m.holes }

// dense drops the holes deleted keys left.
func (m *orderedMap) dense() {
	if m.holes == 0 {
		return
	}
	n := len(m.keys) - m.holes
	keys, vals := make([]vm.Value, 0, n), make([]vm.Value, 0, n)
	for i, k := range m.keys {
		key := mapKey(k)
		if j, ok := m.index[key]; ok && j == i {
			m.index[key] = len(keys)
			keys, vals = append(keys, k), append(vals, m.vals[i])
		}
	}
	m.keys, m.vals, m.holes = keys, vals, 0
}

func (m *orderedMap) entries() []vm.Value {
	m.dense()
	out := make([]vm.Value, len(m.keys))
	for i := range m.keys {
		out[i] = newList([]vm.Value{m.keys[i], m.vals[i]})
	}
	return out
}

// dictColl is an OrderedDict, a DefaultDict (with its factory) or a
// Counter.
type dictColl struct {
	kind    string
	factory vm.Value // DefaultDict's
	m       orderedMap
}

func (d *dictColl) TypeName() string { return d.kind }

// count counts x once more (a Counter's).
func (d *dictColl) count(x vm.Value) {
	n, _ := d.m.get(x)
	d.m.set(x, vm.Int(n.AsInt()+1))
}

// Len is len(d), as d.length.
func (d *dictColl) Len() int { return d.m.len() }

// Iterator yields the [key, value] entries, as of the loop's start.
func (d *dictColl) Iterator(*vm.Thread) (vm.Iterator, error) {
	return &sliceIter{vals: d.m.entries()}, nil
}

// IteratesEntries marks a dictionary as looping as an object does: a
// two-variable loop gets key and value (for k, v in counts), as one over
// an object of the same entries does; it got the index and the entry.
func (d *dictColl) IteratesEntries() {}

// sliceIter yields vals.
type sliceIter struct {
	vals []vm.Value
	i    int
}

func (s *sliceIter) Next(*vm.Thread) (vm.Value, bool, error) {
	if s.i >= len(s.vals) {
		return vm.Nil, false, nil
	}
	s.i++
	return s.vals[s.i-1], true, nil
}

func (d *dictColl) String() string {
	d.m.dense()
	parts := make([]string, len(d.m.keys))
	for i := range d.m.keys {
		parts[i] = vm.Repr(d.m.keys[i]) + ": " + vm.Repr(d.m.vals[i])
	}
	return d.kind + " {" + strings.Join(parts, ", ") + "}"
}

func (d *dictColl) GetAttr(t *vm.Thread, name string) (vm.Value, bool, error) {
	if name == "length" {
		return vm.Int(int64(d.Len())), true, nil
	}
	return vm.Nil, false, nil
}

func (d *dictColl) SetAttr(t *vm.Thread, name string, v vm.Value) error {
	return vm.TypeErrorf("cannot assign %s.%s: use its methods", d.kind, name)
}

func (d *dictColl) CallMethod(t *vm.Thread, name string, args []vm.Value) (vm.Value, bool, error) {
	self := vm.HostValue(d)
	need := func(n int) error {
		if len(args) != n {
			return vm.TypeErrorf("%s.%s takes %s, got %d", d.kind, name, count(n), len(args))
		}
		return nil
	}
	switch {
	case name == "keys" || name == "values" || name == "entries":
		if err := need(0); err != nil {
			return vm.Nil, true, err
		}
		d.m.dense()
		switch name {
		case "keys":
			return newList(slices.Clone(d.m.keys)), true, nil
		case "values":
			return newList(slices.Clone(d.m.vals)), true, nil
		}
		return newList(d.m.entries()), true, nil
	case name == "has":
		if err := need(1); err != nil {
			return vm.Nil, true, err
		}
		_, ok := d.m.get(args[0])
		return vm.Bool(ok), true, nil
	case name == "get" && d.kind != "Counter":
		if err := need(1); err != nil {
			return vm.Nil, true, err
		}
		v, ok := d.m.get(args[0])
		if !ok && d.kind == "DefaultDict" {
			nv, err := t.Call(d.factory)
			if err != nil {
				return vm.Nil, true, err
			}
			d.m.set(args[0], nv)
			return nv, true, nil
		}
		return v, true, nil
	case name == "get": // a Counter's count of an item
		if err := need(1); err != nil {
			return vm.Nil, true, err
		}
		v, ok := d.m.get(args[0])
		if !ok {
			return vm.Int(0), true, nil
		}
		return v, true, nil
	case name == "set" && d.kind != "Counter":
		if err := need(2); err != nil {
			return vm.Nil, true, err
		}
		d.m.set(args[0], args[1])
		return self, true, nil
	case name == "delete":
		if err := need(1); err != nil {
			return vm.Nil, true, err
		}
		d.m.delete(args[0])
		return self, true, nil
	case name == "count" && d.kind == "Counter":
		if err := need(1); err != nil {
			return vm.Nil, true, err
		}
		d.count(args[0])
		return self, true, nil
	case name == "total" && d.kind == "Counter":
		if err := need(0); err != nil {
			return vm.Nil, true, err
		}
		d.m.dense()
		var sum int64
		for _, v := range d.m.vals {
			sum += v.AsInt()
		}
		return vm.Int(sum), true, nil
	case name == "most_common" && d.kind == "Counter":
		if len(args) > 1 {
			return vm.Nil, true, vm.TypeErrorf("Counter.most_common takes 0 or 1 argument, got %d", len(args))
		}
		es := d.m.entries()
		// By count, the first counted first among equal counts.
		slices.SortStableFunc(es, func(a, b vm.Value) int {
			x, y := a.AsArray().Elems[1].AsInt(), b.AsArray().Elems[1].AsInt()
			switch {
			case x > y:
				return -1
			case x < y:
				return 1
			}
			return 0
		})
		if len(args) == 1 && !args[0].IsNil() {
			n, err := intArg("Counter.most_common", args, 0)
			if err != nil {
				return vm.Nil, true, err
			}
			es = es[:min(max(n, 0), int64(len(es)))]
		}
		return newList(es), true, nil
	}
	return vm.Nil, true, vm.TypeErrorf("%s has no method %s", d.kind, name)
}

// deque is a double-ended queue: a ring of its values.
type deque struct {
	buf        []vm.Value
	head, size int
}

func (q *deque) TypeName() string { return "Deque" }

// Len is len(q), as q.length.
func (q *deque) Len() int { return q.size }

// Iterator yields the values front to back, as of the loop's start.
func (q *deque) Iterator(*vm.Thread) (vm.Iterator, error) { return &sliceIter{vals: q.values()}, nil }

func (q *deque) String() string { return "Deque " + vm.Repr(newList(q.values())) }

func (q *deque) values() []vm.Value {
	out := make([]vm.Value, q.size)
	for i := range out {
		out[i] = q.buf[(q.head+i)%len(q.buf)]
	}
	return out
}

func (q *deque) grow() {
	if q.size < len(q.buf) {
		return
	}
	vals := q.values()
	q.buf = make([]vm.Value, max(8, 2*len(q.buf)))
	copy(q.buf, vals)
	q.head = 0
}

func (q *deque) GetAttr(t *vm.Thread, name string) (vm.Value, bool, error) {
	if name == "length" {
		return vm.Int(int64(q.Len())), true, nil
	}
	return vm.Nil, false, nil
}

func (q *deque) SetAttr(t *vm.Thread, name string, v vm.Value) error {
	return vm.TypeErrorf("cannot assign Deque.%s: use its methods", name)
}

func (q *deque) CallMethod(t *vm.Thread, name string, args []vm.Value) (vm.Value, bool, error) {
	want := 0
	if name == "push_back" || name == "push_front" {
		want = 1
	}
	switch name {
	case "push_back", "push_front", "pop_back", "pop_front", "peek_back", "peek_front", "toArray", "to_array":
		if len(args) != want {
			return vm.Nil, true, vm.TypeErrorf("Deque.%s takes %s, got %d", name, count(want), len(args))
		}
	default:
		return vm.Nil, true, vm.TypeErrorf("Deque has no method %s", name)
	}
	switch name {
	case "push_back", "push_front":
		if err := q.push(name, args[0], name == "push_front"); err != nil {
			return vm.Nil, true, err
		}
		return vm.HostValue(q), true, nil
	case "toArray", "to_array":
		return newList(q.values()), true, nil
	}
	if q.size == 0 {
		return vm.Nil, true, nil
	}
	last := (q.head + q.size - 1) % len(q.buf)
	switch name {
	case "peek_front":
		return q.buf[q.head], true, nil
	case "peek_back":
		return q.buf[last], true, nil
	case "pop_front":
		v := q.buf[q.head]
		q.buf[q.head] = vm.Nil
		q.head = (q.head + 1) % len(q.buf)
		q.size--
		return v, true, nil
	}
	v := q.buf[last] // pop_back
	q.buf[last] = vm.Nil
	q.size--
	return v, true, nil
}

// push adds v at the back, or at the front; fname is the caller's name
// for the error past the list limit.
func (q *deque) push(fname string, v vm.Value, front bool) error {
	if q.size >= vm.MaxListLen {
		return vm.ListTooLong("Deque."+fname, int64(q.size)+1)
	}
	q.grow()
	if front {
		q.head = (q.head - 1 + len(q.buf)) % len(q.buf)
		q.buf[q.head] = v
	} else {
		q.buf[(q.head+q.size)%len(q.buf)] = v
	}
	q.size++
	return nil
}
