package vm

import "testing"

// NewArrayFrom copies its elements, into the list's own allocation when
// there are at most 4; such a list grows past them as any list does.
func TestNewArrayFrom(t *testing.T) {
	for n := 0; n <= 9; n++ {
		src := make([]Value, n)
		for i := range src {
			src[i] = Int(int64(i))
		}
		a := NewArrayFrom(src).AsArray()
		for i := range src {
			src[i] = Nil // the list has its own copy
		}
		if len(a.Elems) != n || cap(a.Elems) != n {
			t.Fatalf("n=%d: len %d cap %d", n, len(a.Elems), cap(a.Elems))
		}
		if a.Elems == nil {
			t.Fatalf("n=%d: nil elements, where an empty list has an empty slice", n)
		}
		a.Elems = append(a.Elems, Int(int64(n)))
		for i, v := range a.Elems {
			if v.Kind() != KInt || v.AsInt() != int64(i) {
				t.Fatalf("n=%d: element %d is %v", n, i, v)
			}
		}
		want := 1.0
		if n > 4 {
			want = 2
		}
		if got := testing.AllocsPerRun(10, func() { NewArrayFrom(src) }); got != want {
			t.Errorf("n=%d: %.0f allocations, want %.0f", n, got, want)
		}
	}
}

// NewObjectFrom copies its values, into the object's own allocation when
// it has at most 8 keys.
func TestNewObjectFrom(t *testing.T) {
	for n := 1; n <= 10; n++ {
		keys := make([]string, n)
		vals := make([]Value, n)
		for i := range keys {
			keys[i] = string(rune('a' + i))
			vals[i] = Int(int64(i))
		}
		s := ShapeOf(keys)
		o := NewObjectFrom(s, vals)
		for i := range vals {
			vals[i] = Nil
		}
		for i, k := range keys {
			if v, ok := o.Get(k); !ok || v.Kind() != KInt || v.AsInt() != int64(i) {
				t.Fatalf("n=%d: %s is %v %v", n, k, v, ok)
			}
		}
		want := 1.0
		if n > 8 {
			want = 2
		}
		if got := testing.AllocsPerRun(10, func() { NewObjectFrom(s, vals) }); got != want {
			t.Errorf("n=%d: %.0f allocations, want %.0f", n, got, want)
		}
	}
}

// listHost is a host object Go cannot compare with ==.
type listHost struct{ xs []int }

func (listHost) TypeName() string                             { return "ListHost" }
func (listHost) GetAttr(*Thread, string) (Value, bool, error) { return Nil, false, nil }
func (listHost) SetAttr(*Thread, string, Value) error         { return nil }
func (*ptrHost) TypeName() string                             { return "PtrHost" }
func (*ptrHost) GetAttr(*Thread, string) (Value, bool, error) { return Nil, false, nil }
func (*ptrHost) SetAttr(*Thread, string, Value) error         { return nil }

type ptrHost struct{ xs []int }

// Host objects that say nothing of how they compare are equal when they
// are the same object; one Go cannot compare is equal to nothing (== on
// it panicked).
func TestEqualHostIdentity(t *testing.T) {
	l := HostValue(listHost{xs: []int{1}})
	if Equal(l, l) {
		t.Error("an uncomparable host object equal to itself")
	}
	p := &ptrHost{}
	if !Equal(HostValue(p), HostValue(p)) || Equal(HostValue(p), HostValue(&ptrHost{})) || Equal(HostValue(p), l) {
		t.Error("pointer host objects compare by identity")
	}
}
