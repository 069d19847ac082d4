package stdlib

import (
	"hash/maphash"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"weak"

	"tova/vm"
)

// regH registers a collection builtin. When the first argument is a host
// object with methods (a table, a lazy query), the host gets the call
// first: where(table, pred) behaves like table.where(pred).
func regH(name string, params []string, fn func(t *vm.Thread, args []vm.Value) (vm.Value, error)) {
	hostFirst[name] = hostFirstEntry{params, fn}
	own := withArity(name, params, fn) // a host's method has its own
	vm.Register(&vm.Builtin{Name: name, Params: params, Fn: func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		if len(args) > 0 && args[0].Kind() == vm.KHost {
			if hc, ok := args[0].AsHost().(vm.HostCaller); ok {
				res, handled, err := hc.CallMethod(t, name, args[1:])
				if handled || err != nil {
					return res, err
				}
			}
		}
		return own(t, args)
	}, MaxArgs: maxArgs(name, params)})
}

// hostFirst remembers the builtins registered with regH, so that their
// aliases offer the host the alias name.
var hostFirst = map[string]hostFirstEntry{}

type hostFirstEntry struct {
	params []string
	fn     func(t *vm.Thread, args []vm.Value) (vm.Value, error)
}

func registerCollections() {
	regH("map", ps("seq", "fn"), bMap)
	regH("filter", ps("seq", "fn"), bFilter)
	regH("flat_map", ps("seq", "fn"), bFlatMap)
	alias("flat_map", "flatMap", "andThen", "and_then")
	regH("reduce", ps("seq", "fn", "initial"), bReduce)
	regH("sum", ps("seq"), bSum)
	regH("sum_by", ps("seq", "fn"), bSumBy)
	regH("product", ps("seq"), bProduct)
	regH("count", ps("seq", "fn"), bCount)
	regH("min", nil, func(t *vm.Thread, args []vm.Value) (vm.Value, error) { return extreme(t, "min", args, -1) })
	regH("max", nil, func(t *vm.Thread, args []vm.Value) (vm.Value, error) { return extreme(t, "max", args, 1) })
	regH("min_by", ps("seq", "fn"), func(t *vm.Thread, args []vm.Value) (vm.Value, error) { return extremeBy(t, "min_by", args, -1) })
	regH("max_by", ps("seq", "fn"), func(t *vm.Thread, args []vm.Value) (vm.Value, error) { return extremeBy(t, "max_by", args, 1) })
	regH("any", ps("seq", "fn"), func(t *vm.Thread, args []vm.Value) (vm.Value, error) { return anyAll(t, "any", args, true) })
	regH("all", ps("seq", "fn"), func(t *vm.Thread, args []vm.Value) (vm.Value, error) { return anyAll(t, "all", args, false) })
	alias("any", "some")
	alias("all", "every")
	regH("sorted", ps("seq", "key", "desc"), bSorted)
	regH("sort", ps("seq", "key", "desc"), bSort)
	regH("sort_by", ps("seq", "key", "desc"), bSortBy)
	alias("sort_by", "sortBy")
	regH("reversed", ps("seq"), bReversed)
	regH("reverse", ps("seq"), bReverse)
	reg("filled", ps("n", "value"), bFilled)
	regH("take", ps("seq", "n"), bTake)
	alias("take", "limit")
	regH("drop", ps("seq", "n"), bDrop)
	alias("drop", "skip")
	// JavaScript's names of list methods (the reference's lists are
	// JavaScript arrays): xs.some(f), xs.every(f), xs.forEach(f),
	// xs.flat(), xs.at(-1).
	regH("at", ps("seq", "index"), bAt)
	regH("first", ps("seq"), bFirst)
	regH("last", ps("seq"), bLast)
	regH("find", ps("seq", "fn"), bFind)
	regH("find_index", ps("seq", "fn"), bFindIndex)
	alias("find_index", "findIndex")
	regH("unique", ps("seq", "key"), bUnique)
	alias("unique", "distinct")
	regH("group_by", ps("seq", "key"), bGroupBy)
	alias("group_by", "groupBy")
	regH("partition", ps("seq", "fn"), bPartition)
	regH("zip", nil, bZip)
	regH("zip_with", ps("a", "b", "fn"), bZipWith)
	regH("chunk", ps("seq", "n"), bChunk)
	regH("flatten", ps("seq"), bFlatten)
	regH("flat", ps("seq", "depth"), bFlat)
	regH("contains", ps("coll", "value"), bContains)
	alias("contains", "includes")
	regH("index_of", ps("coll", "value"), func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		return indexOf(t, "index_of", args, false, vm.Nil)
	})
	regH("indexOf", ps("coll", "value"), func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		return indexOf(t, "indexOf", args, false, vm.Int(-1))
	})
	regH("last_index_of", ps("coll", "value"), func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		return indexOf(t, "last_index_of", args, true, vm.Nil)
	})
	// (JavaScript's names answer -1 for none, as JavaScript does)
	regH("lastIndexOf", ps("coll", "value"), func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		return indexOf(t, "lastIndexOf", args, true, vm.Int(-1))
	})

	// mutation
	regH("push", nil, bPush)
	alias("push", "append")
	regH("pop", ps("list"), bPop)
	regH("shift", ps("list"), bShift)
	regH("unshift", nil, bUnshift)
	regH("insert", ps("list", "index", "value"), bInsert)
	regH("remove", ps("coll", "value"), bRemove)
	regH("clear", ps("coll"), bClear)

	// copies
	regH("slice", ps("seq", "start", "end"), bSlice)
	regH("concat", nil, bConcat)
	regH("insert_at", ps("list", "index", "value"), bInsertAt)
	regH("remove_at", ps("list", "index"), bRemoveAt)
	regH("update_at", ps("list", "index", "value"), bUpdateAt)
	regH("compact", ps("seq"), bCompact)
	regH("rotate", ps("seq", "n"), bRotate)
	regH("repeat_value", ps("value", "n"), bRepeatValue)
	regH("intersperse", ps("seq", "sep"), bIntersperse)
	regH("interleave", nil, bInterleave)
	regH("pairwise", ps("seq"), bPairwise)
	regH("sliding_window", ps("seq", "n"), bSlidingWindow)
	regH("scan", ps("seq", "fn", "initial"), bScan)
	regH("frequencies", ps("seq"), bFrequencies)
	regH("is_sorted", ps("seq", "key"), bIsSorted)
	regH("binary_search", ps("seq", "target", "key"), bBinarySearch)
	regH("combinations", ps("seq", "r"), bCombinations)
	regH("permutations", ps("seq", "r"), bPermutations)

	// sets
	regH("union", ps("a", "b"), bUnion)
	regH("intersection", ps("a", "b"), bIntersection)
	regH("difference", ps("a", "b"), bDifference)
	regH("symmetric_difference", ps("a", "b"), bSymDiff)
	regH("is_subset", ps("a", "b"), func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		return subset(t, "is_subset", arg(args, 0), arg(args, 1))
	})
	regH("is_superset", ps("a", "b"), func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		return subset(t, "is_superset", arg(args, 1), arg(args, 0))
	})

	// rows
	regH("where", ps("seq", "pred"), bWhere)
	regH("drop_nil", ps("rows", "column"), bDropNil)
	alias("drop_nil", "dropNil")
	regH("fill_nil", ps("rows", "column", "value"), bFillNil)
	alias("fill_nil", "fillNil")
	regH("select", nil, bSelect)
	regH("pluck", ps("seq", "key"), bPluck)
}

// ---------------------------------------------------------------- map & co

func bMap(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	seq := arg(args, 0)
	fn, err := fnArg("map", args, 1)
	if err != nil {
		return vm.Nil, err
	}
	c := newCaller(t, fn).over(seq)
	switch variantOf(seq) {
	case isOk, isSome:
		v, err := c.call1(payload(seq))
		if err != nil {
			return vm.Nil, err
		}
		return vm.ObjectValue(vm.VariantOf(seq).New([]vm.Value{v})), nil
	case isErr, isNone:
		return seq, nil
	}
	if seq.Kind() == vm.KArray {
		a := seq.AsArray()
		n := len(a.Elems)
		out := make([]vm.Value, 0, n)
		for i := 0; i < n && i < len(a.Elems); i++ {
			v, err := c.callElem(a.Elems[i], i)
			if err != nil {
				return vm.Nil, err
			}
			out = append(out, v)
		}
		return newList(out), nil
	}
	out := make([]vm.Value, 0, max(seqLen(seq), 0))
	err = iterate(t, "map", seq, func(x vm.Value, i int) error {
		v, err := c.callElem(x, i)
		if err != nil {
			return err
		}
		out = append(out, v)
		return nil
	})
	if err != nil {
		return vm.Nil, err
	}
	return newList(out), nil
}

func bFilter(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	seq := arg(args, 0)
	fn, err := fnArg("filter", args, 1)
	if err != nil {
		return vm.Nil, err
	}
	c := newCaller(t, fn).over(seq)
	switch variantOf(seq) {
	case isSome:
		ok, err := c.call1(payload(seq))
		if err != nil {
			return vm.Nil, err
		}
		if ok.Truthy() {
			return seq, nil
		}
		return vm.None, nil
	case isNone:
		return seq, nil
	}
	out, err := filterSeq(t, "filter", seq, c)
	if err != nil {
		return vm.Nil, err
	}
	return newList(out), nil
}

func filterSeq(t *vm.Thread, fname string, seq vm.Value, c *caller) ([]vm.Value, error) {
	if seq.Kind() == vm.KArray {
		a := seq.AsArray()
		n := len(a.Elems)
		out := make([]vm.Value, 0, n)
		for i := 0; i < n && i < len(a.Elems); i++ {
			x := a.Elems[i]
			ok, err := c.callElem(x, i)
			if err != nil {
				return nil, err
			}
			if ok.Truthy() {
				out = append(out, x)
			}
		}
		return out, nil
	}
	out := make([]vm.Value, 0, max(seqLen(seq), 0))
	err := iterate(t, fname, seq, func(x vm.Value, i int) error {
		ok, err := c.callElem(x, i)
		if err != nil {
			return err
		}
		if ok.Truthy() {
			out = append(out, x)
		}
		return nil
	})
	return out, err
}

func bFlatMap(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	seq := arg(args, 0)
	fn, err := fnArg("flat_map", args, 1)
	if err != nil {
		return vm.Nil, err
	}
	c := newCaller(t, fn).over(seq)
	switch k := variantOf(seq); k {
	case isOk, isSome:
		r, err := c.call1(payload(seq))
		if err != nil {
			return vm.Nil, err
		}
		rk := variantOf(r)
		if k == isOk && rk != isOk && rk != isErr {
			return vm.Nil, vm.TypeErrorf("flatMap callback must return Ok/Err, got %s", vm.TypeName(r))
		}
		if k == isSome && rk != isSome && rk != isNone {
			return vm.Nil, vm.TypeErrorf("flatMap callback must return Some/None, got %s", vm.TypeName(r))
		}
		return r, nil
	case isErr, isNone:
		return seq, nil
	}
	out := make([]vm.Value, 0, max(seqLen(seq), 0))
	err = iterate(t, "flat_map", seq, func(x vm.Value, i int) error {
		v, err := c.callElem(x, i)
		if err != nil {
			return err
		}
		return appendFlat(t, "flat_map", &out, v, false)
	})
	if err != nil {
		return vm.Nil, err
	}
	return newList(out), nil
}

func bReduce(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	fn, err := fnArg("reduce", args, 1)
	if err != nil {
		return vm.Nil, err
	}
	c := newCaller(t, fn)
	var acc vm.Value
	started := len(args) >= 3
	if started {
		acc = args[2]
	}
	err = iterate(t, "reduce", arg(args, 0), func(x vm.Value, _ int) error {
		if !started {
			acc, started = x, true
			return nil
		}
		v, err := c.call2(acc, x)
		acc = v
		return err
	})
	if err != nil {
		return vm.Nil, err
	}
	if !started {
		return vm.Nil, vm.TypeErrorf("reduce: empty sequence with no initial value")
	}
	return acc, nil
}

// ---------------------------------------------------------------- sums

// adder sums numbers, durations or sizes. Ints overflow into an error.
type adder struct {
	fname string
	kind  vm.Kind // KNil until the first value
	i     int64
	f     float64
}

func (a *adder) add(v vm.Value) error {
	switch v.Kind() {
	case vm.KInt:
		x := v.AsInt()
		switch a.kind {
		case vm.KNil, vm.KInt:
			s := a.i + x
			if (s > a.i) != (x > 0) {
				return overflowErr(a.fname)
			}
			a.i, a.kind = s, vm.KInt
			return nil
		case vm.KFloat:
			a.f += float64(x)
			return nil
		}
	case vm.KFloat:
		switch a.kind {
		case vm.KNil:
			a.kind, a.f = vm.KFloat, v.AsFloat()
			return nil
		case vm.KInt:
			a.kind, a.f = vm.KFloat, float64(a.i)+v.AsFloat()
			return nil
		case vm.KFloat:
			a.f += v.AsFloat()
			return nil
		}
	case vm.KDuration, vm.KSize:
		if a.kind == vm.KNil || a.kind == v.Kind() {
			x := int64(v.AsDuration())
			if v.Kind() == vm.KSize {
				x = v.AsSize()
			}
			s := a.i + x
			if (s > a.i) != (x > 0) {
				return overflowErr(a.fname)
			}
			a.i, a.kind = s, v.Kind()
			return nil
		}
	}
	if a.kind == vm.KNil || a.kind == vm.KInt || a.kind == vm.KFloat {
		return vm.TypeErrorf("%s: cannot add %s to a number%s", a.fname, vm.TypeName(v), vm.WrappedHint(v))
	}
	return vm.TypeErrorf("%s: cannot add %s to a %s", a.fname, vm.TypeName(v), a.kind)
}

func (a *adder) result() vm.Value {
	switch a.kind {
	case vm.KFloat:
		return vm.Float(a.f)
	case vm.KDuration:
		return vm.Duration(a.i)
	case vm.KSize:
		return vm.Size(a.i)
	}
	return vm.Int(a.i)
}

func bSum(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	seq := arg(args, 0)
	a := adder{fname: "sum"}
	if seq.Kind() == vm.KArray {
		// Fast path: a list of Ints.
		xs := seq.AsArray().Elems
		var s int64
		i := 0
		for ; i < len(xs) && xs[i].Kind() == vm.KInt; i++ {
			x := xs[i].AsInt()
			n := s + x
			if (n > s) != (x > 0) {
				return vm.Nil, overflowErr("sum")
			}
			s = n
		}
		if i == len(xs) {
			return vm.Int(s), nil
		}
		if i > 0 {
			a.kind, a.i = vm.KInt, s
		}
		for ; i < len(xs); i++ {
			if err := a.add(xs[i]); err != nil {
				return vm.Nil, err
			}
		}
		return a.result(), nil
	}
	err := iterate(t, "sum", seq, func(v vm.Value, _ int) error { return a.add(v) })
	if err != nil {
		return vm.Nil, err
	}
	return a.result(), nil
}

func bSumBy(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	key, err := keyFunc(t, "sum_by", arg(args, 1))
	if err != nil {
		return vm.Nil, err
	}
	a := adder{fname: "sum_by"}
	err = iterate(t, "sum_by", arg(args, 0), func(v vm.Value, _ int) error {
		k, err := key(v)
		if err != nil {
			return err
		}
		return a.add(k)
	})
	if err != nil {
		return vm.Nil, err
	}
	return a.result(), nil
}

func bProduct(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	pi, pf, isFloat := int64(1), 1.0, false
	err := iterate(t, "product", arg(args, 0), func(v vm.Value, _ int) error {
		switch v.Kind() {
		case vm.KInt:
			x := v.AsInt()
			if isFloat {
				pf *= float64(x)
				return nil
			}
			r, ok := mulInt(pi, x)
			if !ok {
				return overflowErr("product")
			}
			pi = r
		case vm.KFloat:
			if !isFloat {
				isFloat, pf = true, float64(pi)
			}
			pf *= v.AsFloat()
		default:
			return typeErr("product", "Number", v)
		}
		return nil
	})
	if err != nil {
		return vm.Nil, err
	}
	if isFloat {
		return vm.Float(pf), nil
	}
	return vm.Int(pi), nil
}

// mulInt multiplies with overflow detection.
func mulInt(a, b int64) (int64, bool) {
	if a == 0 || b == 0 {
		return 0, true
	}
	r := a * b
	if r/b != a || (a == -1 && b == math.MinInt64) || (b == -1 && a == math.MinInt64) {
		return 0, false
	}
	return r, true
}

func bCount(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	seq := arg(args, 0)
	if !has(args, 1) {
		if seq.Kind() == vm.KRange {
			// as len has it (seqLen is a capacity, capped)
			return rangeLen("count", seq.AsRange())
		}
		if n := seqLen(seq); n >= 0 {
			return vm.Int(int64(n)), nil
		}
		n := 0
		err := iterate(t, "count", seq, func(vm.Value, int) error { n++; return nil })
		return vm.Int(int64(n)), err
	}
	fn, err := fnArg("count", args, 1)
	if err != nil {
		return vm.Nil, err
	}
	c := newCaller(t, fn).over(seq)
	n := 0
	err = iterate(t, "count", seq, func(x vm.Value, i int) error {
		ok, err := c.callElem(x, i)
		if ok.Truthy() {
			n++
		}
		return err
	})
	if err != nil {
		return vm.Nil, err
	}
	return vm.Int(int64(n)), nil
}

// ---------------------------------------------------------------- ordering

// compare orders two values for sorting, min and max: like vm.Compare,
// but NaN sorts after every other number instead of failing.
func compare(a, b vm.Value) (int, error) {
	if a.Kind() == vm.KFloat || b.Kind() == vm.KFloat {
		if a.IsNumber() && b.IsNumber() {
			an, bn := math.IsNaN(a.Number()), math.IsNaN(b.Number())
			switch {
			case an && bn:
				return 0, nil
			case an:
				return 1, nil
			case bn:
				return -1, nil
			}
		}
	}
	return vm.Compare(a, b)
}

func extreme(t *vm.Thread, fname string, args []vm.Value, sign int) (vm.Value, error) {
	var xs []vm.Value
	if len(args) == 1 {
		// One value at a time: a generator's are not kept (max(nat())
		// of one that never ends kept them until the machine's memory
		// was gone; now it runs until its deadline, as sum does).
		best, found := vm.Nil, false
		err := iterate(t, fname, args[0], func(x vm.Value, _ int) error {
			switch {
			case !found:
				best, found = x, true
			case isNaN(best):
				return errStop
			default:
				c, err := compare(x, best)
				if err != nil {
					return orderErr(fname, err)
				}
				if c*sign > 0 || isNaN(x) {
					best = x
				}
			}
			return nil
		})
		if err != nil && err != errStop {
			return vm.Nil, err
		}
		return best, nil
	} else {
		keyed := len(args) == 2 && args[1].IsCallable()
		if len(args) == 2 && args[1].Kind() == vm.KObject && vm.VariantOf(args[1]) == nil {
			// max(xs, key: len): the named argument came as { key: len }
			if k, ok := args[1].AsObject().Get("key"); ok && k.IsCallable() {
				keyed = true
			}
		}
		if keyed && args[0].Kind() != vm.KFunc && args[0].Kind() != vm.KBuiltin {
			// max(xs, fn(x) x.a), Python's key=: "cannot compare
			// Function with List" said nothing of max_by
			most := "greatest"
			if sign < 0 {
				most = "least"
			}
			return vm.Nil, vm.TypeErrorf("%s takes the values themselves (%s(xs) or %s(a, b, c)); for the one whose key is %s write %s_by(xs, fn(x) ...)", fname, fname, fname, most, fname)
		}
		xs = args
	}
	if len(xs) == 0 {
		return vm.Nil, nil
	}
	best := xs[0]
	for _, x := range xs[1:] {
		if isNaN(best) {
			break
		}
		c, err := compare(x, best)
		if err != nil {
			return vm.Nil, orderErr(fname, err)
		}
		if c*sign > 0 || isNaN(x) {
			best = x
		}
	}
	return best, nil
}

// orderErr is the error of fname when two values do not order: the
// comparison's, named after fname, of its kind (values of no order are a
// TypeError, lists nested too deep a ValueError, as with <).
func orderErr(fname string, err error) error {
	if e, ok := err.(*vm.Error); ok {
		return vm.Errorf(e.Kind, "%s: %s", fname, e.Msg)
	}
	return vm.TypeErrorf("%s: %s", fname, err.Error())
}

// isNaN tells whether v is the Float NaN, which min and max give if
// any value is, as JavaScript's Math.min and Math.max do.
func isNaN(v vm.Value) bool { return v.Kind() == vm.KFloat && math.IsNaN(v.AsFloat()) }

func extremeBy(t *vm.Thread, fname string, args []vm.Value, sign int) (vm.Value, error) {
	key, err := keyFunc(t, fname, arg(args, 1))
	if err != nil {
		return vm.Nil, err
	}
	best, bestKey, found := vm.Nil, vm.Nil, false
	err = iterate(t, fname, arg(args, 0), func(x vm.Value, _ int) error {
		k, err := key(x)
		if err != nil {
			return err
		}
		if !found {
			best, bestKey, found = x, k, true
			return nil
		}
		c, err := compare(k, bestKey)
		if err != nil {
			return orderErr(fname, err)
		}
		if c*sign > 0 {
			best, bestKey = x, k
		}
		return nil
	})
	return best, err
}

func anyAll(t *vm.Thread, fname string, args []vm.Value, isAny bool) (vm.Value, error) {
	var c *caller
	if has(args, 1) {
		fn, err := fnArg(fname, args, 1)
		if err != nil {
			return vm.Nil, err
		}
		c = newCaller(t, fn).over(arg(args, 0))
	}
	result := !isAny
	err := iterate(t, fname, arg(args, 0), func(x vm.Value, i int) error {
		v := x
		if c != nil {
			var err error
			if v, err = c.callElem(x, i); err != nil {
				return err
			}
		}
		if v.Truthy() == isAny {
			result = isAny
			return errStop
		}
		return nil
	})
	if err != nil {
		return vm.Nil, err
	}
	return vm.Bool(result), nil
}

// sortValues sorts xs in place, stably. key is nil, a key function (one
// parameter) or a comparator (a function of two parameters returning a
// number), or a column name.
func sortValues(t *vm.Thread, fname string, xs []vm.Value, key vm.Value, desc bool) error {
	sign := 1
	if desc {
		sign = -1
	}
	var firstErr error
	if key.IsNil() {
		slices.SortStableFunc(xs, func(a, b vm.Value) int {
			if c, ok := nilsLast(a, b); ok {
				return c // (as a nil key does)
			}
			c, err := compare(a, b)
			if err != nil && firstErr == nil {
				firstErr = orderErr(fname, err)
			}
			return c * sign
		})
		return firstErr
	}
	if key.Kind() == vm.KFunc && len(key.AsClosure().ParamNames()) == 2 {
		c := newCaller(t, key)
		slices.SortStableFunc(xs, func(a, b vm.Value) int {
			if firstErr != nil {
				return 0
			}
			r, err := c.call2(a, b)
			if err != nil {
				firstErr = err
				return 0
			}
			if !r.IsNumber() {
				firstErr = vm.TypeErrorf("%s: comparator must return a Number, got %s", fname, vm.TypeName(r))
				return 0
			}
			switch n := r.Number(); {
			case n < 0:
				return -sign
			case n > 0:
				return sign
			}
			return 0
		})
		return firstErr
	}
	kf, err := keyFunc(t, fname, key)
	if err != nil {
		return err
	}
	type pair struct {
		k, v vm.Value
		row  int
	}
	pairs := make([]pair, len(xs))
	for i, x := range xs {
		k, err := kf(x)
		if err != nil {
			return err
		}
		pairs[i] = pair{k, x, i + 1}
	}
	slices.SortStableFunc(pairs, func(a, b pair) int {
		if c, ok := nilsLast(a.k, b.k); ok {
			return c
		}
		if a.row > b.row {
			// compared in the rows' order, so that the error names the
			// kinds as the rows it names hold them ("String with Int"
			// of rows 3 and 4, whose 3rd held the Int)
			c, err := compare(b.k, a.k)
			if err != nil && firstErr == nil {
				firstErr = keyOrderErr(fname, key, err, b.row, a.row)
			}
			return -c * sign
		}
		c, err := compare(a.k, b.k)
		if err != nil && firstErr == nil {
			firstErr = keyOrderErr(fname, key, err, a.row, b.row)
		}
		return c * sign
	})
	for i := range pairs {
		xs[i] = pairs[i].v
	}
	return firstErr
}

// keyOrderErr is a keyed sort's error naming the key and the two
// elements (a and b counted from 1) whose keys do not compare.
func keyOrderErr(fname string, key vm.Value, err error, a, b int) error {
	err = orderErr(fname, err)
	e, ok := err.(*vm.Error)
	if !ok {
		return err
	}
	if a > b {
		a, b = b, a
	}
	if key.Kind() == vm.KString {
		// a table's column: its rows, counted from 1
		return vm.Errorf(e.Kind, "%s (column %s of rows %d and %d)", e.Msg, key.AsString(), a, b)
	}
	// a list's elements, by their indexes (from 0)
	return vm.Errorf(e.Kind, "%s (the keys of the elements at indexes %d and %d)", e.Msg, a-1, b-1)
}

func copyElems(t *vm.Thread, fname string, seq vm.Value) ([]vm.Value, error) {
	xs, err := elems(t, fname, seq)
	if err != nil {
		return nil, err
	}
	if seq.Kind() == vm.KArray {
		xs = slices.Clone(xs)
	}
	return xs, nil
}

// sortDesc is the order a sort's third argument asks for: a Bool (nil:
// ascending), "asc" or "desc", or an options object { desc } (sort_by(xs, f, { desc:
// true }), the form the reference's docs write).
func sortDesc(fname string, args []vm.Value) (bool, error) {
	v := arg(args, 2)
	if v.Kind() == vm.KObject && v.AsObject().Type == nil {
		if err := strayOptions(fname, args, 2, "desc"); err != nil {
			return false, err
		}
		v, _ = v.AsObject().Get("desc")
	}
	switch v.Kind() {
	case vm.KNil:
		return false, nil
	case vm.KBool:
		return v.AsBool(), nil
	case vm.KString:
		// sorted(xs, "age", "desc"), as SQL writes the order
		switch strings.ToLower(v.AsString()) {
		case "desc":
			return true, nil
		case "asc":
			return false, nil
		}
	}
	if callable(v) {
		// sort_by(.region, .qty): a second key, read as the order
		return false, vm.TypeErrorf("%s's desc: expected Bool (or \"asc\", \"desc\"), got %s: several keys go in one list, %s([.a, .b])", fname, vm.TypeName(v), fname)
	}
	return false, typeErr(fname+"'s desc", `Bool (or "asc", "desc")`, v)
}

func bSorted(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	desc, err := sortDesc("sorted", args)
	if err != nil {
		return vm.Nil, err
	}
	xs, err := copyElems(t, "sorted", arg(args, 0))
	if err != nil {
		return vm.Nil, err
	}
	if err := sortValues(t, "sorted", xs, arg(args, 1), desc); err != nil {
		return vm.Nil, err
	}
	return newList(xs), nil
}

// sort sorts a list in place and returns it (other sequences: a sorted copy).
func bSort(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	seq := arg(args, 0)
	if seq.Kind() != vm.KArray {
		return bSorted(t, args)
	}
	desc, err := sortDesc("sort", args)
	if err != nil {
		return vm.Nil, err
	}
	xs := slices.Clone(seq.AsArray().Elems)
	if err := sortValues(t, "sort", xs, arg(args, 1), desc); err != nil {
		return vm.Nil, err
	}
	seq.AsArray().Elems = xs
	return seq, nil
}

func bSortBy(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	if !has(args, 1) {
		return vm.Nil, typeErr("sort_by", "Function or column name", arg(args, 1))
	}
	desc, err := sortDesc("sort_by", args)
	if err != nil {
		return vm.Nil, err
	}
	xs, err := copyElems(t, "sort_by", arg(args, 0))
	if err != nil {
		return vm.Nil, err
	}
	if err := sortValues(t, "sort_by", xs, args[1], desc); err != nil {
		return vm.Nil, err
	}
	return newList(xs), nil
}

func bReversed(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	seq := arg(args, 0)
	if seq.Kind() == vm.KString {
		return vm.Str(reverseString(seq.AsString())), nil
	}
	xs, err := copyElems(t, "reversed", seq)
	if err != nil {
		return vm.Nil, err
	}
	slices.Reverse(xs)
	return newList(xs), nil
}

// reverse reverses a list in place and returns it.
func bReverse(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	seq := arg(args, 0)
	if seq.Kind() == vm.KArray {
		slices.Reverse(seq.AsArray().Elems)
		return seq, nil
	}
	return bReversed(t, args)
}

// ---------------------------------------------------------------- slicing

func bTake(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	seq := arg(args, 0)
	n, err := intArg("take", args, 1)
	if err != nil {
		return vm.Nil, err
	}
	n = max(n, 0)
	switch seq.Kind() {
	case vm.KArray:
		xs := seq.AsArray().Elems
		return newList(slices.Clone(xs[:min(int64(len(xs)), n)])), nil
	case vm.KString:
		s := seq.AsString()
		return vm.Str(s[:runeOffset(s, n)]), nil
	case vm.KRange:
		r := seq.AsRange()
		xs, err := rangeElems("take", r, 0, min(r.Len(), n))
		return newList(xs), err
	}
	out := make([]vm.Value, 0, min(n, 1024))
	if n == 0 {
		return newList(out), nil
	}
	err = iterate(t, "take", seq, func(v vm.Value, _ int) error {
		out = append(out, v)
		if int64(len(out)) >= n {
			return errStop
		}
		return nil
	})
	if err != nil {
		return vm.Nil, err
	}
	return newList(out), nil
}

func bListOf(t *vm.Thread, fname string, seq vm.Value) (vm.Value, error) {
	xs, err := elems(t, fname, seq)
	if err != nil {
		return vm.Nil, err
	}
	return newList(xs), nil
}

func bDrop(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	seq := arg(args, 0)
	n, err := intArg("drop", args, 1)
	if err != nil {
		return vm.Nil, err
	}
	n = max(n, 0)
	switch seq.Kind() {
	case vm.KArray:
		xs := seq.AsArray().Elems
		return newList(slices.Clone(xs[min(int64(len(xs)), n):])), nil
	case vm.KString:
		s := seq.AsString()
		return vm.Str(s[runeOffset(s, n):]), nil
	case vm.KRange:
		r := seq.AsRange()
		from := min(r.Len(), n)
		xs, err := rangeElems("drop", r, from, r.Len()-from)
		return newList(xs), err
	}
	var out []vm.Value
	err = iterate(t, "drop", seq, func(v vm.Value, i int) error {
		if int64(i) >= n {
			out = append(out, v)
		}
		return nil
	})
	if err != nil {
		return vm.Nil, err
	}
	return newList(out), nil
}

func bFirst(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	seq := arg(args, 0)
	switch seq.Kind() {
	case vm.KArray:
		if xs := seq.AsArray().Elems; len(xs) > 0 {
			return xs[0], nil
		}
		return vm.Nil, nil
	case vm.KRange:
		if r := seq.AsRange(); r.Len() > 0 {
			return vm.Int(r.Lo), nil
		}
		return vm.Nil, nil
	}
	res := vm.Nil
	err := iterate(t, "first", seq, func(v vm.Value, _ int) error {
		res = v
		return errStop
	})
	return res, err
}

func bLast(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	seq := arg(args, 0)
	switch seq.Kind() {
	case vm.KArray:
		if xs := seq.AsArray().Elems; len(xs) > 0 {
			return xs[len(xs)-1], nil
		}
		return vm.Nil, nil
	case vm.KRange:
		if r := seq.AsRange(); r.Len() > 0 {
			return vm.Int(r.Last()), nil
		}
		return vm.Nil, nil
	case vm.KString:
		s := seq.AsString()
		if s == "" {
			return vm.Nil, nil
		}
		_, size := lastRune(s)
		return vm.Str(s[len(s)-size:]), nil
	}
	res := vm.Nil
	err := iterate(t, "last", seq, func(v vm.Value, _ int) error {
		res = v
		return nil
	})
	return res, err
}

func bFind(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	x, _, err := findFirst(t, "find", args)
	return x, err
}

func bFindIndex(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	_, i, err := findFirst(t, "find_index", args)
	if err != nil || i < 0 {
		return vm.Nil, err
	}
	return vm.Int(int64(i)), nil
}

// findFirst returns the first element of args[0] for which the
// predicate args[1] is truthy, and its index (-1 when none).
func findFirst(t *vm.Thread, name string, args []vm.Value) (vm.Value, int, error) {
	fn, err := fnArg(name, args, 1)
	if err != nil {
		return vm.Nil, -1, err
	}
	c := newCaller(t, fn).over(arg(args, 0))
	res, at := vm.Nil, -1
	err = iterate(t, name, arg(args, 0), func(x vm.Value, i int) error {
		ok, err := c.callElem(x, i)
		if err != nil {
			return err
		}
		if ok.Truthy() {
			res, at = x, i
			return errStop
		}
		return nil
	})
	return res, at, err
}

// ---------------------------------------------------------------- sets of values

// hkey is the hashable identity of a scalar value; values equal under
// vm.Equal have equal keys (Int 1 and Float 1.0 included).
type hkey struct {
	k vm.Kind
	n uint64
	s string
}

func hashKey(v vm.Value) (hkey, bool) {
	switch v.Kind() {
	case vm.KNil:
		return hkey{}, true
	case vm.KBool:
		if v.AsBool() {
			return hkey{k: vm.KBool, n: 1}, true
		}
		return hkey{k: vm.KBool}, true
	case vm.KInt:
		return hkey{k: vm.KInt, n: uint64(v.AsInt())}, true
	case vm.KFloat:
		f := v.AsFloat()
		if f == math.Trunc(f) && f >= -9.223372036854775808e18 && f < 9.223372036854775808e18 {
			return hkey{k: vm.KInt, n: uint64(int64(f))}, true
		}
		if math.IsNaN(f) {
			return hkey{k: vm.KFloat, n: 1<<64 - 1}, true
		}
		return hkey{k: vm.KFloat, n: math.Float64bits(f)}, true
	case vm.KString:
		return hkey{k: vm.KString, s: v.AsString()}, true
	case vm.KDuration:
		return hkey{k: vm.KDuration, n: uint64(v.AsDuration())}, true
	case vm.KSize:
		return hkey{k: vm.KSize, n: uint64(v.AsSize())}, true
	}
	return hkey{}, false
}

// valueSet is a set of values under vm.Equal: scalars by their hkey,
// lists and objects in buckets by deepHash (so unique or difference of
// 20 000 rows compares each with the few of its bucket, not with every
// other), and what deepHash cannot hash (functions, host values, ranges,
// cycles, values of more than deepHashBudget parts) in a list compared
// one by one.
type valueSet struct {
	m    map[hkey]struct{}
	deep map[uint64][]vm.Value
	slow []vm.Value
}

func newValueSet(n int) *valueSet { return &valueSet{m: make(map[hkey]struct{}, n)} }

func (s *valueSet) has(v vm.Value) bool {
	if k, ok := hashKey(v); ok {
		_, found := s.m[k]
		return found
	}
	found, _, _ := s.find(v)
	return found
}

// find looks for v, a value hashKey does not take, and returns its
// deepHash.
func (s *valueSet) find(v vm.Value) (found bool, h uint64, hashed bool) {
	budget := deepHashBudget
	h, hashed = deepHash(v, 0, &budget)
	if hashed {
		for _, x := range s.deep[h] {
			if vm.Equal(x, v) {
				return true, h, hashed
			}
		}
	}
	for _, x := range s.slow {
		if vm.Equal(x, v) {
			return true, h, hashed
		}
	}
	if !hashed {
		// (a range equals the list of its numbers)
		for _, bucket := range s.deep {
			for _, x := range bucket {
				if vm.Equal(x, v) {
					return true, h, hashed
				}
			}
		}
	}
	return false, h, hashed
}

// add adds v and reports whether it was new.
func (s *valueSet) add(v vm.Value) bool {
	if k, ok := hashKey(v); ok {
		if _, found := s.m[k]; found {
			return false
		}
		s.m[k] = struct{}{}
		return true
	}
	found, h, hashed := s.find(v)
	switch {
	case found:
		return false
	case hashed:
		if s.deep == nil {
			s.deep = map[uint64][]vm.Value{}
		}
		s.deep[h] = append(s.deep[h], v)
	default:
		s.slow = append(s.slow, v)
	}
	return true
}

var hashSeed = maphash.MakeSeed()

// deepHashBudget bounds the lists and objects deepHash looks into for
// one value.
const deepHashBudget = 1 << 16

// deepHash hashes a list or object (at any depth) so that values equal
// under vm.Equal hash alike: Int 1 and Float 1.0 as hashKey has them,
// an object's entries whatever their order. ok is false for what it
// does not hash: functions, host values, ranges, containers deeper than
// 64 (a cycle), and a value of more than *budget parts (sublists shared
// many times over, a = [a, a] forty times, are a tree of 2^40).
func deepHash(v vm.Value, depth int, budget *int) (h uint64, ok bool) {
	if k, ok := hashKey(v); ok {
		return mix(uint64(k.k)<<56 ^ k.n ^ maphash.String(hashSeed, k.s)), true
	}
	if *budget--; depth > 64 || *budget < 0 {
		return 0, false
	}
	switch v.Kind() {
	case vm.KArray:
		h = 0x9e3779b97f4a7c15
		for _, e := range v.AsArray().Elems {
			eh, ok := deepHash(e, depth+1, budget)
			if !ok {
				return 0, false
			}
			h = mix(h ^ eh)
		}
		return h, true
	case vm.KObject:
		o := v.AsObject()
		if o.Type != nil {
			h = maphash.String(hashSeed, o.Type.Name) ^ mix(maphash.String(hashSeed, o.Type.Tag))
		}
		vals := o.Values()
		for i, k := range o.Keys() {
			vh, ok := deepHash(vals[i], depth+1, budget)
			if !ok {
				return 0, false
			}
			h += mix(maphash.String(hashSeed, k) ^ vh) // (in any order)
		}
		return mix(h ^ uint64(len(vals))), true
	}
	return 0, false
}

// mix is splitmix64's finalizer.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

func setOf(t *vm.Thread, fname string, seq vm.Value) (*valueSet, []vm.Value, error) {
	xs, err := elems(t, fname, seq)
	if err != nil {
		return nil, nil, err
	}
	s := newValueSet(len(xs))
	for _, x := range xs {
		s.add(x)
	}
	return s, xs, nil
}

func bUnique(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	var key func(vm.Value) (vm.Value, error)
	if has(args, 1) {
		var err error
		if key, err = keyFunc(t, "unique", args[1]); err != nil {
			return vm.Nil, err
		}
	}
	// Room for the first elements only: a range may be too long to walk
	// (iterate refuses it), and a long list may hold few distinct values.
	seen := newValueSet(min(max(seqLen(arg(args, 0)), 0), 1<<16))
	var out []vm.Value
	err := iterate(t, "unique", arg(args, 0), func(x vm.Value, _ int) error {
		k := x
		if key != nil {
			var err error
			if k, err = key(x); err != nil {
				return err
			}
		}
		if seen.add(k) {
			out = append(out, x)
		}
		return nil
	})
	if err != nil {
		return vm.Nil, err
	}
	if out == nil {
		out = []vm.Value{}
	}
	return newList(out), nil
}

// bUnion: union(a, b) of two tables (lists of objects, as read gives
// them) appends all of b's rows to a's, as the reference's table union
// does, keeping rows that show the same; of other lists, it is the
// distinct elements of a then of b.
func bUnion(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	if a, b := arg(args, 0), arg(args, 1); isTable(a) && isTable(b) {
		xs, ys := a.AsArray().Elems, b.AsArray().Elems
		if n := int64(len(xs)) + int64(len(ys)); n > vm.MaxListLen {
			return vm.Nil, vm.ListTooLong("union", n)
		}
		return newList(append(append(make([]vm.Value, 0, len(xs)+len(ys)), xs...), ys...)), nil
	}
	seen := newValueSet(0)
	out := []vm.Value{}
	for i := 0; i < 2; i++ {
		xs, err := elems(t, "union", arg(args, i))
		if err != nil {
			return vm.Nil, err
		}
		for _, x := range xs {
			if seen.add(x) {
				out = append(out, x)
			}
		}
	}
	return newList(out), nil
}

func bIntersection(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	bs, _, err := setOf(t, "intersection", arg(args, 1))
	if err != nil {
		return vm.Nil, err
	}
	xs, err := elems(t, "intersection", arg(args, 0))
	if err != nil {
		return vm.Nil, err
	}
	// a's elements that b has, in a's order, as many times as a has
	// them (the reference's a.filter(x => b.has(x)), as difference)
	out := []vm.Value{}
	for _, x := range xs {
		if bs.has(x) {
			out = append(out, x)
		}
	}
	return newList(out), nil
}

func bDifference(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	bs, _, err := setOf(t, "difference", arg(args, 1))
	if err != nil {
		return vm.Nil, err
	}
	xs, err := elems(t, "difference", arg(args, 0))
	if err != nil {
		return vm.Nil, err
	}
	out := []vm.Value{}
	for _, x := range xs {
		if !bs.has(x) {
			out = append(out, x)
		}
	}
	return newList(out), nil
}

func bSymDiff(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	as, xs, err := setOf(t, "symmetric_difference", arg(args, 0))
	if err != nil {
		return vm.Nil, err
	}
	bs, ys, err := setOf(t, "symmetric_difference", arg(args, 1))
	if err != nil {
		return vm.Nil, err
	}
	// a's elements b has not, then b's a has not, each as many times as
	// its list has it (the reference's, as difference)
	out := []vm.Value{}
	for _, x := range xs {
		if !bs.has(x) {
			out = append(out, x)
		}
	}
	for _, y := range ys {
		if !as.has(y) {
			out = append(out, y)
		}
	}
	return newList(out), nil
}

func subset(t *vm.Thread, fname string, a, b vm.Value) (vm.Value, error) {
	bs, _, err := setOf(t, fname, b)
	if err != nil {
		return vm.Nil, err
	}
	xs, err := elems(t, fname, a)
	if err != nil {
		return vm.Nil, err
	}
	for _, x := range xs {
		if !bs.has(x) {
			return vm.False, nil
		}
	}
	return vm.True, nil
}

// ---------------------------------------------------------------- grouping

func bGroupBy(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	key, err := keyFunc(t, "group_by", arg(args, 1))
	if err != nil {
		return vm.Nil, err
	}
	obj := vm.NewObject()
	var groups []*vm.Array
	err = iterate(t, "group_by", arg(args, 0), func(x vm.Value, _ int) error {
		k, err := key(x)
		if err != nil {
			return err
		}
		ks := vm.ToString(k)
		if i := obj.Lookup(ks); i >= 0 {
			g := groups[i]
			g.Elems = append(g.Elems, x)
			return nil
		}
		g := &vm.Array{Elems: []vm.Value{x}}
		groups = append(groups, g)
		obj.Set(ks, vm.ArrayValue(g))
		if k.Kind() != vm.KString {
			setGroupKey(g, k)
		}
		return nil
	})
	if err != nil {
		return vm.Nil, err
	}
	return vm.ObjectValue(obj), nil
}

// groupKeys holds the key of each group group_by made whose key is no
// String (its name in the groups object is the key's text), by a weak
// pointer to the group's list, for agg: its _group is the key itself
// (10, not "10", which sorted before "2"), as the reference's is.
var groupKeys sync.Map // weak.Pointer[vm.Array] → vm.Value

func setGroupKey(g *vm.Array, k vm.Value) {
	wp := weak.Make(g)
	groupKeys.Store(wp, k)
	runtime.AddCleanup(g, func(wp weak.Pointer[vm.Array]) { groupKeys.Delete(wp) }, wp)
}

// groupKey is the key group_by gave the group g, if it was no String.
func groupKey(g *vm.Array) (vm.Value, bool) {
	k, ok := groupKeys.Load(weak.Make(g))
	if !ok {
		return vm.Nil, false
	}
	return k.(vm.Value), true
}

func bPartition(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	fn, err := fnArg("partition", args, 1)
	if err != nil {
		return vm.Nil, err
	}
	c := newCaller(t, fn).over(arg(args, 0))
	yes, no := []vm.Value{}, []vm.Value{}
	err = iterate(t, "partition", arg(args, 0), func(x vm.Value, i int) error {
		ok, err := c.callElem(x, i)
		if err != nil {
			return err
		}
		if ok.Truthy() {
			yes = append(yes, x)
		} else {
			no = append(no, x)
		}
		return nil
	})
	if err != nil {
		return vm.Nil, err
	}
	return newList([]vm.Value{newList(yes), newList(no)}), nil
}

func bFrequencies(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	obj := vm.NewObject()
	err := iterate(t, "frequencies", arg(args, 0), func(x vm.Value, _ int) error {
		ks := vm.ToString(x)
		if i := obj.Lookup(ks); i >= 0 {
			obj.SetSlot(i, vm.Int(obj.Slot(i).AsInt()+1))
		} else {
			obj.Set(ks, vm.Int(1))
		}
		return nil
	})
	if err != nil {
		return vm.Nil, err
	}
	return vm.ObjectValue(obj), nil
}

// ---------------------------------------------------------------- combining

func bZip(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	if len(args) == 0 {
		return newList([]vm.Value{}), nil
	}
	for _, a := range args {
		if a.Kind() == vm.KHost {
			return zipLazily(t, args)
		}
	}
	cols := make([][]vm.Value, len(args))
	n := int64(math.MaxInt)
	for i, a := range args {
		if a.Kind() == vm.KRange {
			n = min(n, a.AsRange().Len()) // (made below, as far as the shortest goes)
			continue
		}
		xs, err := elems(t, "zip", a)
		if err != nil {
			return vm.Nil, err
		}
		cols[i] = xs
		n = min(n, int64(len(xs)))
	}
	for i, a := range args {
		if a.Kind() == vm.KRange {
			xs, err := rangeElems("zip", a.AsRange(), 0, n)
			if err != nil {
				return vm.Nil, err
			}
			cols[i] = xs
		}
	}
	if all := n * int64(len(cols)+1); all > vm.MaxListLen { // each row and its elements
		return vm.Nil, vm.NestedTooLarge("zip", all)
	}
	out := make([]vm.Value, n)
	for i := range out {
		row := make([]vm.Value, len(cols))
		for j := range cols {
			row[j] = cols[j][i]
		}
		out[i] = newList(row)
	}
	return newList(out), nil
}

// zipLazily zips sequences of which one at least is lazy (a generator,
// a Seq, a stream): row by row, so that an endless one is taken from
// only as far as the shortest of the others goes.
func zipLazily(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	its := make([]vm.Iterator, len(args))
	for i, a := range args {
		it, err := vm.NewIterator(t, a)
		if err != nil {
			return vm.Nil, typeErr("zip", "List", a)
		}
		its[i] = it
	}
	var out []vm.Value
	for {
		row := make([]vm.Value, len(its))
		for j, it := range its {
			v, ok, err := it.Next(t)
			if err != nil {
				return vm.Nil, err
			}
			if !ok {
				return newList(out), nil
			}
			row[j] = v
		}
		if all := int64(len(out)+1) * int64(len(its)+1); all > vm.MaxListLen {
			return vm.Nil, vm.NestedTooLarge("zip", all)
		}
		if len(out) == vm.MaxGeneratorValues {
			// (zip(naturals(), naturals()) took gigabytes first)
			return vm.Nil, vm.GeneratorTooLong("zip")
		}
		out = append(out, newList(row))
	}
}

func bZipWith(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	fn, err := fnArg("zip_with", args, 2)
	if err != nil {
		return vm.Nil, err
	}
	xs, err := elems(t, "zip_with", arg(args, 0))
	if err != nil {
		return vm.Nil, err
	}
	ys, err := elems(t, "zip_with", arg(args, 1))
	if err != nil {
		return vm.Nil, err
	}
	c := newCaller(t, fn)
	n := min(len(xs), len(ys))
	out := make([]vm.Value, 0, n)
	for i := 0; i < n; i++ {
		v, err := c.call2(xs[i], ys[i])
		if err != nil {
			return vm.Nil, err
		}
		out = append(out, v)
	}
	return newList(out), nil
}

func bChunk(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	n, err := intArg("chunk", args, 1)
	if err != nil {
		return vm.Nil, err
	}
	if n <= 0 {
		return vm.Nil, valueErr("chunk: size must be positive, got %d", n)
	}
	xs, err := elems(t, "chunk", arg(args, 0))
	if err != nil {
		return vm.Nil, err
	}
	out := make([]vm.Value, 0, int64(len(xs))/n+1) // (len+n-1)/n would overflow for a huge n
	for i := 0; i < len(xs); {
		j := len(xs)
		if int64(j-i) > n {
			j = i + int(n)
		}
		out = append(out, newList(slices.Clone(xs[i:j])))
		i = j
	}
	return newList(out), nil
}

func bFlatten(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	out := []vm.Value{}
	if xs := arg(args, 0); xs.Kind() == vm.KArray {
		// The size is known before a value is copied: a list too long
		// is refused at once (it was built up to the limit first,
		// gigabytes), and one that fits is allocated once.
		n := sizeOfFlat(xs.AsArray().Elems)
		if n > vm.MaxListLen {
			return vm.Nil, vm.ListTooLong("flatten", n)
		}
		out = make([]vm.Value, 0, n)
	}
	err := iterate(t, "flatten", arg(args, 0), func(x vm.Value, _ int) error {
		return appendFlat(t, "flatten", &out, x, true)
	})
	if err != nil {
		return vm.Nil, err
	}
	return newList(out), nil
}

// sizeOfFlat is the length of flatten(xs), which may pass any bound.
// (It stops counting at math.MaxInt64.)
func sizeOfFlat(xs []vm.Value) int64 {
	n := int64(0)
	for _, x := range xs {
		k := int64(1)
		if x.Kind() == vm.KArray || x.Kind() == vm.KRange {
			k = knownLen(x)
		}
		if k > math.MaxInt64-n {
			return math.MaxInt64
		}
		n += k
	}
	return n
}

// appendFlat appends the elements of x to *out when x is a list (or,
// with ranges, a range), else x itself, refusing to take *out past the
// list limit: a few elements may be lists that hold many.
// bFlat is JavaScript's flat: flatten depth levels (default 1, as
// flatten does; Infinity for all).
func bFlat(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	depth := int64(1)
	if d := arg(args, 1); d.Kind() == vm.KFloat && math.IsInf(d.AsFloat(), 1) {
		depth = math.MaxInt64
	} else if has(args, 1) {
		n, err := intArg("flat", args, 1)
		if err != nil {
			return vm.Nil, err
		}
		depth = n
	}
	v := arg(args, 0)
	if depth <= 0 {
		return bFlatten(t, []vm.Value{newList([]vm.Value{v})})
	}
	for ; depth > 0; depth-- {
		r, err := bFlatten(t, []vm.Value{v})
		if err != nil {
			return vm.Nil, err
		}
		v = r
		if !slices.ContainsFunc(v.AsArray().Elems, func(x vm.Value) bool { return x.Kind() == vm.KArray }) {
			break
		}
	}
	return v, nil
}

func appendFlat(t *vm.Thread, fname string, out *[]vm.Value, x vm.Value, ranges bool) error {
	n := int64(1)
	if x.Kind() == vm.KArray || ranges && x.Kind() == vm.KRange {
		n = knownLen(x)
	}
	if n += int64(len(*out)); n > vm.MaxListLen {
		return vm.ListTooLong(fname, n)
	}
	switch {
	case x.Kind() == vm.KArray:
		*out = append(*out, x.AsArray().Elems...)
	case ranges && x.Kind() == vm.KRange:
		xs, err := elems(t, fname, x)
		if err != nil {
			return err
		}
		*out = append(*out, xs...)
	default:
		*out = append(*out, x)
	}
	return nil
}

func bConcat(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	if len(args) > 0 && args[0].Kind() == vm.KString {
		var b []byte
		for _, a := range args {
			b = append(b, vm.ToString(a)...)
		}
		return vm.Str(string(b)), nil
	}
	n := 0
	for _, a := range args {
		switch a.Kind() {
		case vm.KArray:
			n += len(a.AsArray().Elems)
		case vm.KRange:
			n += int(min(a.AsRange().Len(), vm.MaxListLen+1))
		default:
			n++
		}
	}
	if n > vm.MaxListLen {
		return vm.Nil, vm.ListTooLong("concat", int64(n))
	}
	out := make([]vm.Value, 0, n)
	for _, a := range args {
		switch a.Kind() {
		case vm.KArray:
			out = append(out, a.AsArray().Elems...)
		case vm.KRange:
			xs, err := elems(t, "concat", a)
			if err != nil {
				return vm.Nil, err
			}
			out = append(out, xs...)
		default:
			out = append(out, a)
		}
	}
	return newList(out), nil
}

// ---------------------------------------------------------------- membership

func bContains(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	coll, x := arg(args, 0), arg(args, 1)
	switch coll.Kind() {
	case vm.KString:
		if x.Kind() != vm.KString {
			return vm.Nil, typeErr("contains", "String", x)
		}
		return vm.Bool(stringsContains(coll.AsString(), x.AsString())), nil
	case vm.KArray:
		for _, e := range coll.AsArray().Elems {
			if vm.SameValueZero(e, x) {
				return vm.True, nil
			}
		}
		return vm.False, nil
	case vm.KObject:
		if isVariantValue(coll) {
			return vm.Nil, variantErr("contains", coll)
		}
		var buf [20]byte
		key, ok := vm.ObjectKey(x, &buf)
		return vm.Bool(ok && coll.AsObject().Lookup(key) >= 0), nil
	case vm.KRange:
		n, ok := toInt(x)
		if !ok {
			return vm.False, nil
		}
		return vm.Bool(coll.AsRange().Has(n)), nil
	case vm.KNil:
		return vm.False, nil
	}
	found := false
	err := iterate(t, "contains", coll, func(e vm.Value, _ int) error {
		if vm.SameValueZero(e, x) {
			found = true
			return errStop
		}
		return nil
	})
	if err != nil {
		return vm.Nil, err
	}
	return vm.Bool(found), nil
}

// nilsLast orders two keys of which one or both are nil (as read gives
// an empty CSV cell): a missing key goes last, in either order, as
// SQL's NULLS LAST and pandas do; ok is false when neither is nil.
func nilsLast(a, b vm.Value) (c int, ok bool) {
	switch {
	case a.IsNil() && b.IsNil():
		return 0, true
	case a.IsNil():
		return 1, true
	case b.IsNil():
		return -1, true
	}
	return 0, false
}

func indexOf(t *vm.Thread, fname string, args []vm.Value, last bool, missing vm.Value) (vm.Value, error) {
	coll, x := arg(args, 0), arg(args, 1)
	if coll.Kind() == vm.KString {
		if x.Kind() != vm.KString {
			return vm.Nil, typeErr(fname, "String", x)
		}
		i := stringIndex(coll.AsString(), x.AsString(), last)
		if i < 0 {
			return missing, nil
		}
		return vm.Int(int64(i)), nil
	}
	xs, err := elems(t, fname, coll)
	if err != nil {
		return vm.Nil, err
	}
	if last {
		for i := len(xs) - 1; i >= 0; i-- {
			if vm.Equal(xs[i], x) {
				return vm.Int(int64(i)), nil
			}
		}
		return missing, nil
	}
	for i, e := range xs {
		if vm.Equal(e, x) {
			return vm.Int(int64(i)), nil
		}
	}
	return missing, nil
}

// ---------------------------------------------------------------- mutation

func bPush(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	a, err := list("push", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	if n := len(a.Elems) + len(args) - 1; n > vm.MaxListLen {
		return vm.Nil, vm.ListTooLong("push", int64(n))
	}
	a.Elems = append(a.Elems, args[1:]...)
	return args[0], nil
}

func bPop(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	a, err := list("pop", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	if len(a.Elems) == 0 {
		return vm.Nil, nil
	}
	v := a.Elems[len(a.Elems)-1]
	a.Elems[len(a.Elems)-1] = vm.Nil
	a.Elems = a.Elems[:len(a.Elems)-1]
	return v, nil
}

func bShift(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	a, err := list("shift", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	if len(a.Elems) == 0 {
		return vm.Nil, nil
	}
	// The list starts one element on, in place: a queue drained with
	// shift copied the whole list each time. (The place is freed, and
	// the next growth of the list moves it to memory of its own.)
	v := a.Elems[0]
	a.Elems[0] = vm.Nil
	a.Elems = a.Elems[1:]
	if c := cap(a.Elems); c > 64 && len(a.Elems) < c/4 {
		// most of the memory is behind it: the rest moves (once per
		// three quarters shifted, so still linear in all)
		a.Elems = slices.Clone(a.Elems)
	}
	return v, nil
}

func bUnshift(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	a, err := list("unshift", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	a.Elems = slices.Insert(a.Elems, 0, args[1:]...)
	return args[0], nil
}

// bAt is JavaScript's at: the element at index, counted from the end
// when negative; nil past either end. A string gives its character.
func bAt(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	i, err := intArg("at", args, 1)
	if err != nil {
		return vm.Nil, err
	}
	seq := arg(args, 0)
	switch seq.Kind() {
	case vm.KArray:
		elems := seq.AsArray().Elems
		if i < 0 {
			i += int64(len(elems))
		}
		if i < 0 || i >= int64(len(elems)) {
			return vm.Nil, nil
		}
		return elems[i], nil
	case vm.KRange:
		r := seq.AsRange()
		n := r.Len()
		if i < 0 {
			i += n
		}
		if i < 0 || i >= n {
			return vm.Nil, nil
		}
		return vm.Int(r.Lo + i*r.Step), nil
	case vm.KString:
		return vm.CharAt(seq.AsString(), i), nil // as s[i]: an invalid byte is a character of its own
	}
	return vm.Nil, typeErr("at", "List, Range or String", seq)
}

// normIndex resolves a possibly negative index against n, clamped to [0, n].
func normIndex(i int64, n int) int {
	if i < 0 {
		i += int64(n)
	}
	return int(min(max(i, 0), int64(n)))
}

func bInsert(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	a, err := list("insert", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	i, err := intArg("insert", args, 1)
	if err != nil {
		return vm.Nil, err
	}
	if len(a.Elems) >= vm.MaxListLen {
		return vm.Nil, vm.ListTooLong("insert", int64(len(a.Elems))+1)
	}
	a.Elems = slices.Insert(a.Elems, normIndex(i, len(a.Elems)), arg(args, 2))
	return args[0], nil
}

// remove deletes the first element equal to value from a list, or the
// key from an object; it reports whether something was removed.
func bRemove(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	coll, x := arg(args, 0), arg(args, 1)
	switch coll.Kind() {
	case vm.KArray:
		a := coll.AsArray()
		for i, e := range a.Elems {
			if vm.Equal(e, x) {
				a.Elems = slices.Delete(a.Elems, i, i+1)
				return vm.True, nil
			}
		}
		return vm.False, nil
	case vm.KObject:
		if err := fixedFields("remove", coll); err != nil {
			return vm.Nil, err
		}
		var buf [20]byte
		key, ok := vm.ObjectKey(x, &buf)
		if !ok {
			return vm.Nil, typeErr("remove", "String or Int key", x)
		}
		return vm.Bool(coll.AsObject().Delete(key)), nil
	}
	return vm.Nil, typeErr("remove", "List or Object", coll)
}

// fixedFields refuses to take fields off a record or a variant (Ok(1)
// too): their fields are fixed, and one without a field its type
// declares could not get it back.
func fixedFields(fname string, v vm.Value) error {
	if v.AsObject().Type == nil {
		return nil
	}
	return vm.TypeErrorf("%s: %s is a value of a type, whose fields are fixed: set a field to nil instead, or make an Object of it ({ ...x })", fname, vm.TypeName(v))
}

func bClear(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	coll := arg(args, 0)
	switch coll.Kind() {
	case vm.KArray:
		coll.AsArray().Elems = nil
		return coll, nil
	case vm.KObject:
		if err := fixedFields("clear", coll); err != nil {
			return vm.Nil, err
		}
		o := coll.AsObject()
		keys := slices.Clone(o.Keys())
		for i := len(keys) - 1; i >= 0; i-- { // (from the end: each is then the last)
			o.Delete(keys[i])
		}
		return coll, nil
	}
	return vm.Nil, typeErr("clear", "List or Object", coll)
}

// ---------------------------------------------------------------- copies

func sliceBounds(fname string, args []vm.Value, n int) (int, int, error) {
	start, err := optInt(fname, args, 1, 0)
	if err != nil {
		return 0, 0, err
	}
	end, err := optInt(fname, args, 2, int64(n))
	if err != nil {
		return 0, 0, err
	}
	i, j := normIndex(start, n), normIndex(end, n)
	if j < i {
		j = i
	}
	return i, j, nil
}

func bSlice(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	seq := arg(args, 0)
	if seq.Kind() == vm.KString {
		return substr("slice", args)
	}
	xs, err := elems(t, "slice", seq)
	if err != nil {
		return vm.Nil, err
	}
	i, j, err := sliceBounds("slice", args, len(xs))
	if err != nil {
		return vm.Nil, err
	}
	return newList(slices.Clone(xs[i:j])), nil
}

// indexArg reads an index into a list of length n (negative counts from
// the end) and checks it is in range.
func indexArg(fname string, args []vm.Value, i, n int, allowEnd bool) (int, error) {
	x, err := intArg(fname, args, i)
	if err != nil {
		return 0, err
	}
	if x < 0 {
		x += int64(n)
	}
	limit := int64(n)
	if allowEnd {
		limit++
	}
	if x < 0 || x >= limit {
		return 0, vm.Errorf("IndexError", "%s: index %d out of range for length %d", fname, arg(args, i).AsInt(), n)
	}
	return int(x), nil
}

func bInsertAt(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	xs, err := elems(t, "insert_at", arg(args, 0))
	if err != nil {
		return vm.Nil, err
	}
	i, err := intArg("insert_at", args, 1)
	if err != nil {
		return vm.Nil, err
	}
	out := make([]vm.Value, 0, len(xs)+1)
	k := normIndex(i, len(xs))
	out = append(out, xs[:k]...)
	out = append(out, arg(args, 2))
	out = append(out, xs[k:]...)
	return newList(out), nil
}

func bRemoveAt(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	xs, err := elems(t, "remove_at", arg(args, 0))
	if err != nil {
		return vm.Nil, err
	}
	i, err := indexArg("remove_at", args, 1, len(xs), false)
	if err != nil {
		return vm.Nil, err
	}
	out := make([]vm.Value, 0, len(xs))
	out = append(out, xs[:i]...)
	out = append(out, xs[i+1:]...)
	return newList(out), nil
}

func bUpdateAt(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	xs, err := elems(t, "update_at", arg(args, 0))
	if err != nil {
		return vm.Nil, err
	}
	i, err := indexArg("update_at", args, 1, len(xs), false)
	if err != nil {
		return vm.Nil, err
	}
	out := slices.Clone(xs)
	out[i] = arg(args, 2)
	return newList(out), nil
}

func bCompact(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	out := []vm.Value{}
	err := iterate(t, "compact", arg(args, 0), func(x vm.Value, _ int) error {
		if !x.IsNil() {
			out = append(out, x)
		}
		return nil
	})
	if err != nil {
		return vm.Nil, err
	}
	return newList(out), nil
}

func bRotate(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	xs, err := elems(t, "rotate", arg(args, 0))
	if err != nil {
		return vm.Nil, err
	}
	n, err := intArg("rotate", args, 1)
	if err != nil {
		return vm.Nil, err
	}
	if len(xs) == 0 {
		return newList([]vm.Value{}), nil
	}
	k := int(((n % int64(len(xs))) + int64(len(xs))) % int64(len(xs)))
	out := make([]vm.Value, 0, len(xs))
	out = append(out, xs[k:]...)
	out = append(out, xs[:k]...)
	return newList(out), nil
}

func bRepeatValue(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	n, err := intArg("repeat_value", args, 1)
	if err != nil {
		return vm.Nil, err
	}
	if n < 0 || n > maxMaterialize {
		return vm.Nil, valueErr("repeat_value: count %d out of range", n)
	}
	out := make([]vm.Value, n)
	v := arg(args, 0)
	for i := range out {
		out[i] = v
	}
	return newList(out), nil
}

func bIntersperse(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	if n := 2*knownLen(arg(args, 0)) - 1; n > vm.MaxListLen {
		return vm.Nil, vm.ListTooLong("intersperse", n)
	}
	xs, err := elems(t, "intersperse", arg(args, 0))
	if err != nil {
		return vm.Nil, err
	}
	sep := arg(args, 1)
	if n := 2*int64(len(xs)) - 1; n > vm.MaxListLen {
		return vm.Nil, vm.ListTooLong("intersperse", n)
	}
	out := make([]vm.Value, 0, max(2*len(xs)-1, 0))
	for i, x := range xs {
		if i > 0 {
			out = append(out, sep)
		}
		out = append(out, x)
	}
	return newList(out), nil
}

func bInterleave(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	known := int64(0)
	for _, a := range args {
		known += max(knownLen(a), 0)
	}
	if known > vm.MaxListLen {
		return vm.Nil, vm.ListTooLong("interleave", known)
	}
	cols := make([][]vm.Value, len(args))
	longest, total := 0, 0
	for i, a := range args {
		xs, err := elems(t, "interleave", a)
		if err != nil {
			return vm.Nil, err
		}
		cols[i] = xs
		longest = max(longest, len(xs))
		total += len(xs)
	}
	if total > vm.MaxListLen {
		return vm.Nil, vm.ListTooLong("interleave", int64(total))
	}
	out := make([]vm.Value, 0, total)
	for i := 0; i < longest; i++ {
		for _, c := range cols {
			if i < len(c) {
				out = append(out, c[i])
			}
		}
	}
	return newList(out), nil
}

func bPairwise(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	if n := 3 * (knownLen(arg(args, 0)) - 1); n > vm.MaxListLen {
		return vm.Nil, vm.NestedTooLarge("pairwise", n)
	}
	xs, err := elems(t, "pairwise", arg(args, 0))
	if err != nil {
		return vm.Nil, err
	}
	if n := 3 * (int64(len(xs)) - 1); n > vm.MaxListLen { // each pair and its two elements
		return vm.Nil, vm.NestedTooLarge("pairwise", n)
	}
	out := make([]vm.Value, 0, max(len(xs)-1, 0))
	for i := 0; i+1 < len(xs); i++ {
		out = append(out, newList([]vm.Value{xs[i], xs[i+1]}))
	}
	return newList(out), nil
}

func bSlidingWindow(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	xs, err := elems(t, "sliding_window", arg(args, 0))
	if err != nil {
		return vm.Nil, err
	}
	n, err := intArg("sliding_window", args, 1)
	if err != nil {
		return vm.Nil, err
	}
	if n <= 0 {
		return vm.Nil, valueErr("sliding_window: size must be positive, got %d", n)
	}
	// Each window and its n elements: the count grows with the square
	// of the input's length.
	if windows := int64(len(xs)) - n + 1; windows > 0 && windows > vm.MaxListLen/(n+1) {
		return vm.Nil, vm.NestedTooLarge("sliding_window", windows*min(n+1, vm.MaxListLen))
	}
	out := []vm.Value{}
	for i := 0; int64(i)+n <= int64(len(xs)); i++ {
		out = append(out, newList(slices.Clone(xs[i:i+int(n)])))
	}
	return newList(out), nil
}

func bScan(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	fn, err := fnArg("scan", args, 1)
	if err != nil {
		return vm.Nil, err
	}
	c := newCaller(t, fn)
	var acc vm.Value
	started := len(args) >= 3
	if started {
		acc = args[2]
	}
	out := make([]vm.Value, 0, max(seqLen(arg(args, 0)), 0))
	err = iterate(t, "scan", arg(args, 0), func(x vm.Value, _ int) error {
		if !started {
			acc, started = x, true
		} else {
			v, err := c.call2(acc, x)
			if err != nil {
				return err
			}
			acc = v
		}
		out = append(out, acc)
		return nil
	})
	if err != nil {
		return vm.Nil, err
	}
	return newList(out), nil
}

func bIsSorted(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	xs, err := elems(t, "is_sorted", arg(args, 0))
	if err != nil {
		return vm.Nil, err
	}
	keys := xs
	if has(args, 1) {
		kf, err := keyFunc(t, "is_sorted", args[1])
		if err != nil {
			return vm.Nil, err
		}
		keys = make([]vm.Value, len(xs))
		for i, x := range xs {
			if keys[i], err = kf(x); err != nil {
				return vm.Nil, err
			}
		}
	}
	for i := 1; i < len(keys); i++ {
		c, err := compare(keys[i-1], keys[i])
		if err != nil {
			return vm.Nil, vm.TypeErrorf("is_sorted: %s", errMessage(err))
		}
		if c > 0 {
			return vm.False, nil
		}
	}
	return vm.True, nil
}

func bBinarySearch(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	xs, err := elems(t, "binary_search", arg(args, 0))
	if err != nil {
		return vm.Nil, err
	}
	target := arg(args, 1)
	var kf func(vm.Value) (vm.Value, error)
	if has(args, 2) {
		if kf, err = keyFunc(t, "binary_search", args[2]); err != nil {
			return vm.Nil, err
		}
	}
	lo, hi := 0, len(xs)-1
	for lo <= hi {
		mid := int(uint(lo+hi) >> 1)
		k := xs[mid]
		if kf != nil {
			if k, err = kf(k); err != nil {
				return vm.Nil, err
			}
		}
		c, err := compare(k, target)
		if err != nil {
			return vm.Nil, vm.TypeErrorf("binary_search: %s", errMessage(err))
		}
		switch {
		case c == 0:
			return vm.Int(int64(mid)), nil
		case c < 0:
			lo = mid + 1
		default:
			hi = mid - 1
		}
	}
	return vm.Int(-1), nil
}

// maxCombinatorics bounds the results of combinations and permutations.
const maxCombinatorics = 1 << 20

func bCombinations(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	xs, err := elems(t, "combinations", arg(args, 0))
	if err != nil {
		return vm.Nil, err
	}
	r, err := intArg("combinations", args, 1)
	if err != nil {
		return vm.Nil, err
	}
	out := []vm.Value{}
	n := len(xs)
	if r < 0 || r > int64(n) {
		return newList(out), nil
	}
	// C(n, r), computed incrementally; stop as soon as it is too big.
	count := 1.0
	for i := int64(0); i < min(r, int64(n)-r); i++ {
		count = count * float64(int64(n)-i) / float64(i+1)
	}
	if count > maxCombinatorics {
		return vm.Nil, valueErr("combinations: too many results (%.0f)", count)
	}
	if all := int64(count) * (r + 1); all > vm.MaxListLen { // each row and its r elements
		return vm.Nil, vm.NestedTooLarge("combinations", all)
	}
	idx := make([]int, r)
	for i := range idx {
		idx[i] = i
	}
	for {
		if len(out) >= maxCombinatorics {
			return vm.Nil, valueErr("combinations: too many results")
		}
		row := make([]vm.Value, r)
		for i, j := range idx {
			row[i] = xs[j]
		}
		out = append(out, newList(row))
		i := int(r) - 1
		for i >= 0 && idx[i] == i+n-int(r) {
			i--
		}
		if i < 0 {
			break
		}
		idx[i]++
		for j := i + 1; j < int(r); j++ {
			idx[j] = idx[j-1] + 1
		}
	}
	return newList(out), nil
}

func bPermutations(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	xs, err := elems(t, "permutations", arg(args, 0))
	if err != nil {
		return vm.Nil, err
	}
	r, err := optInt("permutations", args, 1, int64(len(xs)))
	if err != nil {
		return vm.Nil, err
	}
	out := []vm.Value{}
	if r < 0 || r > int64(len(xs)) {
		return newList(out), nil
	}
	count := 1.0
	for i := int64(0); i < r; i++ {
		count *= float64(int64(len(xs)) - i)
	}
	if count > maxCombinatorics {
		return vm.Nil, valueErr("permutations: too many results (%.0f)", count)
	}
	used := make([]bool, len(xs))
	cur := make([]vm.Value, 0, r)
	var rec func() error
	rec = func() error {
		if int64(len(cur)) == r {
			if len(out) >= maxCombinatorics {
				return valueErr("permutations: too many results")
			}
			out = append(out, newList(slices.Clone(cur)))
			return nil
		}
		for i, x := range xs {
			if used[i] {
				continue
			}
			used[i] = true
			cur = append(cur, x)
			if err := rec(); err != nil {
				return err
			}
			cur = cur[:len(cur)-1]
			used[i] = false
		}
		return nil
	}
	if err := rec(); err != nil {
		return vm.Nil, err
	}
	return newList(out), nil
}

// ---------------------------------------------------------------- rows

func bWhere(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	seq, pred := arg(args, 0), arg(args, 1)
	switch {
	case callable(pred):
		c := newCaller(t, pred).over(seq)
		out, err := filterSeq(t, "where", seq, c)
		if err != nil {
			return vm.Nil, err
		}
		return newList(out), nil
	case pred.Kind() == vm.KObject:
		want := pred.AsObject()
		out := []vm.Value{}
		err := iterate(t, "where", seq, func(row vm.Value, _ int) error {
			if row.Kind() != vm.KObject {
				return nil
			}
			o := row.AsObject()
			for i, k := range want.Keys() {
				v, ok := o.Get(k)
				if !ok || !vm.Equal(v, want.Slot(i)) {
					return nil
				}
			}
			out = append(out, row)
			return nil
		})
		if err != nil {
			return vm.Nil, err
		}
		return newList(out), nil
	case pred.IsNil():
		return bListOf(t, "where", seq)
	}
	return vm.Nil, typeErr("where", "Function or Object", pred)
}

// columns returns the column arguments args[from:], flattening a list.
func columns(fname string, args []vm.Value, from int) ([]vm.Value, error) {
	var cols []vm.Value
	for _, a := range args[min(from, len(args)):] {
		switch {
		case a.Kind() == vm.KArray:
			cols = append(cols, a.AsArray().Elems...)
		case a.IsNil():
		default:
			cols = append(cols, a)
		}
	}
	for _, c := range cols {
		if c.Kind() != vm.KString && !callable(c) {
			return nil, typeErr(fname, "column name or Function", c)
		}
	}
	return cols, nil
}

// bDropNil: drop_nil(rows) drops nil elements and rows with a nil field;
// drop_nil(rows, col...) drops rows whose column (a name, or a function
// of the row) is nil.
func bDropNil(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	cols, err := columns("drop_nil", args, 1)
	if err != nil {
		return vm.Nil, err
	}
	callers := make([]*caller, len(cols))
	for i, c := range cols {
		if callable(c) {
			callers[i] = newCaller(t, c)
		}
	}
	out := make([]vm.Value, 0, max(seqLen(arg(args, 0)), 0))
	err = iterate(t, "drop_nil", arg(args, 0), func(row vm.Value, _ int) error {
		if row.IsNil() {
			return nil
		}
		if len(cols) == 0 {
			if row.Kind() == vm.KObject && row.AsObject().Type == nil {
				for _, v := range row.AsObject().Values() {
					if v.IsNil() {
						return nil
					}
				}
			}
			out = append(out, row)
			return nil
		}
		for i, c := range cols {
			var v vm.Value
			if callers[i] != nil {
				var err error
				if v, err = callers[i].call1(row); err != nil {
					return err
				}
			} else {
				if err := rowWithColumns("drop_nil", row, c.AsString()); err != nil {
					return err
				}
				v = field(row, c.AsString())
			}
			if v.IsNil() {
				return nil
			}
			if callers[i] != nil && v.Kind() == vm.KArray && slices.ContainsFunc(v.AsArray().Elems, vm.Value.IsNil) {
				// drop_nil([.a, .b]): one function of the row giving the
				// columns' values (a list is never nil: every row was kept)
				return nil
			}
		}
		out = append(out, row)
		return nil
	})
	if err != nil {
		return vm.Nil, err
	}
	return newList(out), nil
}

// rowWithColumns refuses a row of a table verb that names column col
// when the row is not an object: a list of batches (stream(f, batch: n)
// |> drop_nil(.id), each batch a list) read as rows without the column
// lost every one of them.
func rowWithColumns(fname string, row vm.Value, col string) error {
	switch row.Kind() {
	case vm.KObject, vm.KHost, vm.KNil:
		return nil
	}
	hint := ""
	if row.Kind() == vm.KArray {
		hint = " (a list of batches, as stream(file, batch: n) gives, is walked with each: stream(...) |> each(fn(batch) ...))"
	}
	return vm.TypeErrorf("%s: a row is %s, which has no column %s%s", fname, vm.TypeName(row), col, hint)
}

// bFillNil: fill_nil(list, value) replaces nil elements; fill_nil(rows,
// col, value) replaces nil values of a column (rows are copied);
// fill_nil(rows, { col: value, ... }) does several columns.
func bFillNil(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	seq := arg(args, 0)
	var fills *vm.Object
	fill := arg(args, 1) // the value, for a plain list
	switch col := arg(args, 1); {
	case len(args) >= 3 && col.Kind() == vm.KString:
		fills = vm.NewObject()
		fills.Set(col.AsString(), args[2])
	case len(args) >= 3 && col.IsNil():
		fill = args[2] // fill_nil(list, value: v)
	case len(args) >= 3:
		return vm.Nil, typeErr("fill_nil", "column name", col)
	case col.Kind() == vm.KObject && col.AsObject().Type == nil:
		fills = col.AsObject()
	}
	out := make([]vm.Value, 0, max(seqLen(seq), 0))
	err := iterate(t, "fill_nil", seq, func(row vm.Value, _ int) error {
		if fills == nil {
			if row.IsNil() {
				row = fill
			} else if row.Kind() == vm.KObject && row.AsObject().Type == nil && len(args) == 2 {
				// fill_nil(rows, 0), pandas' fillna(0): every nil field
				// of a row (a row was left as it was)
				if o := row.AsObject(); slices.ContainsFunc(o.Values(), vm.Value.IsNil) {
					cp := o.Copy()
					for i, v := range o.Values() {
						if v.IsNil() {
							cp.Set(o.Keys()[i], fill)
						}
					}
					row = vm.ObjectValue(cp)
				}
			}
			out = append(out, row)
			return nil
		}
		if row.Kind() != vm.KObject {
			if fills.Len() > 0 {
				if err := rowWithColumns("fill_nil", row, fills.Keys()[0]); err != nil {
					return err
				}
			}
			out = append(out, row)
			return nil
		}
		o := row.AsObject()
		var cp *vm.Object
		for i, k := range fills.Keys() {
			v, ok := o.Get(k)
			if ok && !v.IsNil() {
				continue
			}
			if cp == nil {
				cp = o.Copy()
				cp.Type = nil
			}
			cp.Set(k, fills.Slot(i))
		}
		if cp != nil {
			row = vm.ObjectValue(cp)
		}
		out = append(out, row)
		return nil
	})
	if err != nil {
		return vm.Nil, err
	}
	return newList(out), nil
}

// bSelect keeps only the named columns of each row, in the order given.
func bSelect(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	// select(-.col) (the parser's { exclude: "col" }): every column but
	// those.
	var excluded []string
	kept := []vm.Value{arg(args, 0)}
	for _, a := range args[min(1, len(args)):] {
		if a.Kind() == vm.KObject && a.AsObject().Len() == 1 {
			if x, ok := a.AsObject().Get("exclude"); ok && x.Kind() == vm.KString {
				excluded = append(excluded, x.AsString())
				continue
			}
		}
		kept = append(kept, a)
	}
	cols, err := columns("select", kept, 1)
	if err != nil {
		return vm.Nil, err
	}
	names := make([]string, 0, len(cols))
	for _, c := range cols {
		if c.Kind() != vm.KString {
			return vm.Nil, typeErr("select", "column name", c)
		}
		names = append(names, c.AsString())
	}
	if len(excluded) > 0 && len(names) == 0 {
		return mapRows(t, "select", arg(args, 0), func(src *vm.Object) (*vm.Object, error) {
			o := vm.NewObject()
			for i, k := range src.Keys() {
				if !slices.Contains(excluded, k) {
					o.Set(k, src.Values()[i])
				}
			}
			return o, nil
		})
	}
	names = slices.DeleteFunc(names, func(n string) bool { return slices.Contains(excluded, n) })
	shape := vm.ShapeOf(names)
	keys := shape.Keys()
	return mapRows(t, "select", arg(args, 0), func(o *vm.Object) (*vm.Object, error) {
		vals := make([]vm.Value, len(keys))
		for i, k := range keys {
			vals[i], _ = o.Get(k)
		}
		return vm.NewObjectShaped(shape, vals), nil
	})
}

// mapRows is the list of fn of each row of rows, which must be objects
// (fname's TypeError otherwise).
func mapRows(t *vm.Thread, fname string, rows vm.Value, fn func(row *vm.Object) (*vm.Object, error)) (vm.Value, error) {
	out := make([]vm.Value, 0, max(seqLen(rows), 0))
	err := iterate(t, fname, rows, func(row vm.Value, i int) error {
		if row.Kind() != vm.KObject {
			return typeErr(fname, "Object row", row)
		}
		o, err := fn(row.AsObject())
		if err != nil {
			return inRow(err, row, i)
		}
		out = append(out, vm.ObjectValue(o))
		return nil
	})
	if err != nil {
		return vm.Nil, err
	}
	return newList(out), nil
}

// bPluck returns one column of each row.
func bPluck(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	key, err := keyFunc(t, "pluck", arg(args, 1))
	if err != nil {
		return vm.Nil, err
	}
	out := make([]vm.Value, 0, max(seqLen(arg(args, 0)), 0))
	err = iterate(t, "pluck", arg(args, 0), func(row vm.Value, _ int) error {
		v, err := key(row)
		out = append(out, v)
		return err
	})
	if err != nil {
		return vm.Nil, err
	}
	return newList(out), nil
}

// filled(n, value) is a list of n elements, each value (the reference's
// new Array(n).fill(value): the same value, not copies of it).
func bFilled(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	n, err := intArg("filled", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	if n < 0 {
		return vm.Nil, valueErr("filled: the length must not be negative, got %d", n)
	}
	if n > vm.MaxListLen {
		return vm.Nil, vm.ListTooLong("filled", n)
	}
	out, v := make([]vm.Value, n), arg(args, 1)
	for i := range out {
		out[i] = v
	}
	return vm.NewArray(out), nil
}
