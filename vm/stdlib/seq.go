package stdlib

import (
	"math"
	"strconv"
	"strings"

	"tova/vm"
)

// Seq is the reference's lazy sequence, made by iter(xs) over a list,
// string, range, object, generator or another Seq: filter, map, take,
// drop, zip, flat_map and enumerate make a new Seq and compute nothing;
// collect (toArray, to_list), first, forEach (each), any, all and find
// pull the elements through the whole pipeline one at a time, and stop
// as soon as they know their answer. Its other methods (count, reduce)
// are the builtins of the name, which iterate it as they do a list. A
// for loop takes a Seq's elements too. A Seq is pulled once, as a
// generator is.
type Seq struct {
	next func(t *vm.Thread) (vm.Value, bool, error)
	// unbounded: its elements come from a generator, which may never
	// end (not cut by take): what collects them is bounded, as a
	// generator's.
	unbounded bool
}

func (s *Seq) TypeName() string { return "Seq" }
func (s *Seq) String() string   { return "<seq>" }

func (s *Seq) GetAttr(t *vm.Thread, name string) (vm.Value, bool, error) {
	return vm.Nil, false, nil
}

func (s *Seq) SetAttr(t *vm.Thread, name string, v vm.Value) error {
	return vm.TypeErrorf("cannot set field %s of a Seq", name)
}

func (s *Seq) Iterator(t *vm.Thread) (vm.Iterator, error) { return seqSteps{s}, nil }

type seqSteps struct{ s *Seq }

func (it seqSteps) Next(t *vm.Thread) (vm.Value, bool, error) { return it.s.next(t) }

func newSeq(unbounded bool, next func(t *vm.Thread) (vm.Value, bool, error)) vm.Value {
	return vm.HostValue(&Seq{next: next, unbounded: unbounded})
}

// unboundedSeq says whether v is a Seq whose elements come from a
// generator (see Seq.unbounded).
func unboundedSeq(v vm.Value) bool {
	s, ok := v.AsHostOK().(*Seq)
	return ok && s.unbounded
}

// seqOf is a Seq of the elements of v.
func seqOf(t *vm.Thread, fname string, v vm.Value) (*Seq, error) {
	if s, ok := v.AsHostOK().(*Seq); ok {
		return s, nil
	}
	it, err := vm.NewIterator(t, v)
	if err != nil {
		return nil, vm.TypeErrorf("%s: expected something to iterate (a list, string, range, object or generator), got %s", fname, vm.TypeName(v))
	}
	// A pipeline of builtins (iter(range(n)).map(abs).count()) runs no
	// Tova code that would see its thread stopped: its source looks now
	// and then.
	pulled := 0
	_, gen := v.AsHostOK().(*vm.Generator)
	return &Seq{unbounded: gen, next: func(t *vm.Thread) (vm.Value, bool, error) {
		if pulled++; pulled&pollMask == 0 {
			if err := cancelled(t); err != nil {
				return vm.Nil, false, err
			}
		}
		return it.Next(t)
	}}, nil
}

func bIter(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	s, err := seqOf(t, "iter", arg(args, 0))
	if err != nil {
		return vm.Nil, err
	}
	return vm.HostValue(s), nil
}

func (s *Seq) CallMethod(t *vm.Thread, name string, args []vm.Value) (vm.Value, bool, error) {
	fname := "Seq." + name
	if b, ok := seqArities[name]; ok && (len(args) < b.lo || len(args) > len(b.params)) {
		// (an argument too many was dropped: iter(xs).take(1, 2),
		// .zip(a, b) zipped only a)
		return vm.Nil, true, vm.TypeErrorf("%s takes %s, got %d", fname, seqArgs(b.lo, b.params), len(args))
	}
	fnArgAt := func(i int) (vm.Value, error) {
		f := arg(args, i)
		if !f.IsCallable() {
			return vm.Nil, typeErr(fname, "a function", f)
		}
		return f, nil
	}
	switch name {
	case "filter", "map", "flat_map", "forEach", "each", "any", "all", "find":
		f, err := fnArgAt(0)
		if err != nil {
			return vm.Nil, true, err
		}
		return s.withFn(t, name, f)
	case "take", "drop":
		n, err := intArg(fname, args, 0)
		if err != nil {
			return vm.Nil, true, err
		}
		if name == "take" {
			return s.take(n), true, nil
		}
		return s.drop(n), true, nil
	case "zip":
		other, err := seqOf(t, fname, arg(args, 0))
		if err != nil {
			return vm.Nil, true, err
		}
		return newSeq(s.unbounded && other.unbounded, func(t *vm.Thread) (vm.Value, bool, error) {
			a, ok, err := s.next(t)
			if !ok || err != nil {
				return vm.Nil, false, err
			}
			b, ok, err := other.next(t)
			if !ok || err != nil {
				return vm.Nil, false, err
			}
			return vm.NewArray([]vm.Value{a, b}), true, nil
		}), true, nil
	case "enumerate":
		start, err := optInt(fname, args, 0, 0)
		if err != nil {
			return vm.Nil, true, err
		}
		return s.enumerate(start), true, nil
	case "collect", "toArray", "to_list":
		var out []vm.Value
		err := s.each(t, func(v vm.Value) (bool, error) {
			if s.unbounded && len(out) >= vm.MaxGeneratorValues {
				return true, vm.GeneratorTooLong(fname)
			}
			if len(out) >= vm.MaxListLen {
				return true, vm.ListTooLong(fname, int64(len(out))+1)
			}
			out = append(out, v)
			return false, nil
		})
		return vm.NewArray(out), true, err
	case "first":
		v, _, err := s.next(t)
		return v, true, err
	}
	return vm.Nil, false, nil
}

// seqArity is what a Seq method takes: its parameters, the first lo of
// them needed.
type seqArity struct {
	lo     int
	params []string
}

// seqArities are the arguments each Seq method takes.
var seqArities = func() map[string]seqArity {
	m := map[string]seqArity{"enumerate": {0, []string{"start"}}}
	for _, n := range []string{"filter", "map", "flat_map", "forEach", "each", "any", "all", "find"} {
		m[n] = seqArity{1, []string{"fn"}}
	}
	for n, p := range map[string]string{"take": "n", "drop": "n", "zip": "other"} {
		m[n] = seqArity{1, []string{p}}
	}
	for _, n := range []string{"collect", "toArray", "to_list", "first"} {
		m[n] = seqArity{}
	}
	return m
}()

// seqArgs words what a Seq method takes: "no arguments", "1 argument
// (n)", "at most 1 argument (start)".
func seqArgs(lo int, params []string) string {
	switch {
	case len(params) == 0:
		return "no arguments"
	case lo == len(params):
		return strconv.Itoa(lo) + " argument (" + strings.Join(params, ", ") + ")"
	}
	return "at most " + strconv.Itoa(len(params)) + " argument (" + strings.Join(params, ", ") + ")"
}

// withFn is the methods that take a function.
func (s *Seq) withFn(t *vm.Thread, name string, f vm.Value) (vm.Value, bool, error) {
	switch name {
	case "filter":
		c, i := newCaller(t, f), -1
		return newSeq(s.unbounded, func(t *vm.Thread) (vm.Value, bool, error) {
			for {
				v, ok, err := s.next(t)
				if !ok || err != nil {
					return vm.Nil, false, err
				}
				i++
				c.t = t // (the thread pulling it now)
				keep, err := c.callElem(v, i)
				if err != nil {
					return vm.Nil, false, err
				}
				if keep.Truthy() {
					return v, true, nil
				}
			}
		}), true, nil
	case "map":
		c, i := newCaller(t, f), -1
		return newSeq(s.unbounded, func(t *vm.Thread) (vm.Value, bool, error) {
			v, ok, err := s.next(t)
			if !ok || err != nil {
				return vm.Nil, false, err
			}
			i++
			c.t = t // (the thread pulling it now)
			r, err := c.callElem(v, i)
			return r, err == nil, err
		}), true, nil
	case "flat_map":
		var inner *Seq
		return newSeq(s.unbounded, func(t *vm.Thread) (vm.Value, bool, error) {
			for {
				if inner != nil {
					v, ok, err := inner.next(t)
					if err != nil {
						return vm.Nil, false, err
					}
					if ok {
						return v, true, nil
					}
					inner = nil
				}
				v, ok, err := s.next(t)
				if !ok || err != nil {
					return vm.Nil, false, err
				}
				r, err := t.Call(f, v)
				if err != nil {
					return vm.Nil, false, err
				}
				if inner, err = seqOf(t, "Seq.flat_map", r); err != nil {
					return vm.Nil, false, err
				}
			}
		}), true, nil
	}
	// The consuming ones: forEach (each) calls f on every element; any,
	// all and find stop at the first that answers them.
	hit, found := false, vm.Nil
	c, i := newCaller(t, f), -1
	err := s.each(t, func(v vm.Value) (bool, error) {
		i++
		r, err := c.callElem(v, i)
		if err != nil {
			return true, err
		}
		switch {
		case (name == "any" || name == "find") && r.Truthy(), name == "all" && !r.Truthy():
			hit, found = true, v
			return true, nil
		}
		return false, nil
	})
	switch {
	case err != nil:
		return vm.Nil, true, err
	case name == "any":
		return vm.Bool(hit), true, nil
	case name == "all":
		return vm.Bool(!hit), true, nil
	case name == "find":
		return found, true, nil
	}
	return vm.Nil, true, nil
}

// each pulls the elements through fn until the end, an error, or fn
// says to stop.
func (s *Seq) each(t *vm.Thread, fn func(v vm.Value) (stop bool, err error)) error {
	for {
		v, ok, err := s.next(t)
		if err != nil || !ok {
			return err
		}
		if stop, err := fn(v); stop || err != nil {
			return err
		}
	}
}

// enumerate is a Seq of [index, element] pairs, the indexes from start.
// An element past the largest Int index is an OverflowError, as the
// list form's is.
func (s *Seq) enumerate(start int64) vm.Value {
	i, past := start, false
	return newSeq(s.unbounded, func(t *vm.Thread) (vm.Value, bool, error) {
		v, ok, err := s.next(t)
		if !ok || err != nil {
			return vm.Nil, false, err
		}
		if past {
			return vm.Nil, false, overflowErr("Seq.enumerate")
		}
		idx := i
		if i == math.MaxInt64 {
			past = true
		} else {
			i++
		}
		return vm.NewArray([]vm.Value{vm.Int(idx), v}), true, nil
	})
}

func (s *Seq) take(n int64) vm.Value {
	return newSeq(false, func(t *vm.Thread) (vm.Value, bool, error) {
		if n <= 0 {
			return vm.Nil, false, nil
		}
		n--
		return s.next(t)
	})
}

func (s *Seq) drop(n int64) vm.Value {
	return newSeq(s.unbounded, func(t *vm.Thread) (vm.Value, bool, error) {
		for ; n > 0; n-- {
			if _, ok, err := s.next(t); !ok || err != nil {
				return vm.Nil, false, err
			}
		}
		return s.next(t)
	})
}

func registerSeq() { reg("iter", ps("iterable"), bIter) }
