package stdlib

import (
	"slices"
	"strconv"
	"strings"

	"tova/vm"
)

func registerObjects() {
	regH("keys", ps("obj"), bKeys)
	regH("values", ps("obj"), bValues)
	regH("entries", ps("obj"), bEntries)
	regH("has_key", ps("obj", "key"), bHasKey)
	alias("has_key", "hasKey")
	regH("has", ps("coll", "key"), func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		switch arg(args, 0).Kind() {
		case vm.KObject, vm.KHost, vm.KNil:
			return bHasKey(t, args)
		case vm.KBuiltin:
			if arg(args, 0).AsBuiltin().Members != nil {
				return bHasKey(t, args) // str, a namespace
			}
			return vm.Nil, typeErr("has", "an Object, a List or a String", arg(args, 0))
		case vm.KFunc, vm.KBool, vm.KInt, vm.KFloat:
			return vm.Nil, typeErr("has", "an Object, a List or a String", arg(args, 0)) // (not contains's name)
		}
		return bContains(t, args)
	})
	reg("merge", nil, bMerge)
	regH("get", ps("obj", "path", "default"), bGet)
	regH("pick", nil, func(t *vm.Thread, args []vm.Value) (vm.Value, error) { return pickOmit(t, "pick", args, true) })
	regH("omit", nil, func(t *vm.Thread, args []vm.Value) (vm.Value, error) { return pickOmit(t, "omit", args, false) })
	reg("from_entries", ps("entries"), bFromEntries)
	alias("from_entries", "fromEntries")
	regH("map_values", ps("obj", "fn"), bMapValues)
	alias("map_values", "mapValues")
	reg("clone", ps("value"), func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		return deepCopy(arg(args, 0), 0)
	})
	alias("clone", "deep_clone")
	reg("freeze", ps("value"), func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		return arg(args, 0), nil
	})
}

// Keyed is implemented by host objects with named entries (request
// headers, query parameters): keys, values and entries list them, and
// the values are read with GetAttr.
type Keyed interface {
	Keys(t *vm.Thread) ([]string, error)
}

// FoldedKeyed is a Keyed host whose keys are names found whatever their
// case (req.headers): its Keys are in lower case, and pick and omit
// take the names they are given in any case.
type FoldedKeyed interface {
	Keyed
	FoldsKeys()
}

// keyedObject is argument i as an object: an object, or a Keyed host
// (req.headers) as an object of its keys and values, made for the
// builtins that read one (merge, pick, omit, map_values).
func keyedObject(t *vm.Thread, fname string, args []vm.Value, i int) (*vm.Object, error) {
	if v := arg(args, i); v.Kind() == vm.KHost {
		if _, ok := v.AsHost().(Keyed); ok {
			keys, vals, err := keyedEntries(t, fname, []vm.Value{v})
			if err != nil {
				return nil, err
			}
			o := vm.NewObject()
			for j, k := range keys {
				o.Set(k, vals[j])
			}
			return o, nil
		}
	}
	return object(fname, args, i)
}

// keyedEntries returns the keys and values of an object or Keyed host.
func keyedEntries(t *vm.Thread, fname string, args []vm.Value) ([]string, []vm.Value, error) {
	v := arg(args, 0)
	if v.Kind() == vm.KHost {
		if kh, ok := v.AsHost().(Keyed); ok {
			keys, err := kh.Keys(t)
			if err != nil {
				return nil, nil, err
			}
			vals := make([]vm.Value, len(keys))
			for i, k := range keys {
				x, _, err := v.AsHost().GetAttr(t, k)
				if err != nil {
					return nil, nil, err
				}
				vals[i] = x
			}
			return keys, vals, nil
		}
	}
	o, err := object(fname, args, 0)
	if err != nil {
		return nil, nil, err
	}
	return o.Keys(), o.Values(), nil
}

func bKeys(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	keys, _, err := keyedEntries(t, "keys", args)
	if err != nil {
		return vm.Nil, err
	}
	return strList(keys), nil
}

func bValues(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	_, vals, err := keyedEntries(t, "values", args)
	if err != nil {
		return vm.Nil, err
	}
	out := make([]vm.Value, len(vals))
	copy(out, vals)
	return newList(out), nil
}

func bEntries(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	keys, vals, err := keyedEntries(t, "entries", args)
	if err != nil {
		return vm.Nil, err
	}
	out := make([]vm.Value, len(keys))
	for i, k := range keys {
		out[i] = newList([]vm.Value{vm.Str(k), vals[i]})
	}
	return newList(out), nil
}

func bHasKey(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	o, k := arg(args, 0), arg(args, 1)
	var buf [20]byte
	key, ok := vm.ObjectKey(k, &buf)
	if !ok {
		return vm.Nil, typeErr("has_key", "String or Int key", k)
	}
	switch o.Kind() {
	case vm.KObject:
		return vm.Bool(o.AsObject().Lookup(key) >= 0), nil
	case vm.KNil:
		return vm.False, nil
	case vm.KBuiltin:
		if m := o.AsBuiltin().Members; m != nil {
			_, ok := m[string(key)]
			return vm.Bool(ok), nil
		}
	case vm.KHost:
		key, _ := vm.ObjectKey(k, nil)
		if h, ok := o.AsHost().(vm.HostKeyed); ok {
			return vm.Bool(h.Has(key)), nil
		}
		_, ok, err := o.AsHost().GetAttr(t, key)
		if err != nil {
			return vm.Nil, err
		}
		return vm.Bool(ok), nil
	}
	return vm.Nil, typeErr("has_key", "Object", o)
}

func bMerge(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	out := vm.NewObject()
	for _, a := range args {
		switch a.Kind() {
		case vm.KNil:
		case vm.KBuiltin:
			if a.AsBuiltin().Members == nil {
				return vm.Nil, typeErr("merge", "Object", a)
			}
			o := membersObject(a.AsBuiltin()) // str, a namespace as math is
			for i, k := range o.Keys() {
				out.Set(k, o.Slot(i))
			}
		case vm.KObject, vm.KHost:
			o, err := keyedObject(t, "merge", []vm.Value{a}, 0)
			if err != nil {
				return vm.Nil, err
			}
			for i, k := range o.Keys() {
				out.Set(k, o.Slot(i))
			}
		default:
			return vm.Nil, typeErr("merge", "Object", a)
		}
	}
	return vm.ObjectValue(out), nil
}

// lookup reads one step of a path: an object key, a list index or a
// host attribute.
func lookup(t *vm.Thread, v vm.Value, key string) (vm.Value, bool, error) {
	switch v.Kind() {
	case vm.KObject:
		x, ok := v.AsObject().Get(key)
		return x, ok, nil
	case vm.KArray:
		i, err := strconv.Atoi(key)
		xs := v.AsArray().Elems
		if err != nil {
			return vm.Nil, false, nil
		}
		if i < 0 {
			i += len(xs)
		}
		if i < 0 || i >= len(xs) {
			return vm.Nil, false, nil
		}
		return xs[i], true, nil
	case vm.KHost:
		return v.AsHost().GetAttr(t, key)
	case vm.KBuiltin:
		x, ok := v.AsBuiltin().Members[key] // (str, a namespace as math is)
		return x, ok, nil
	}
	return vm.Nil, false, nil
}

// bGet: get(obj, "a.b.0.c", default) reads a nested value safely.
func bGet(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	cur, path, def := arg(args, 0), arg(args, 1), arg(args, 2)
	var steps []string
	switch path.Kind() {
	case vm.KString:
		steps = strings.Split(path.AsString(), ".")
	case vm.KInt:
		steps = []string{strconv.FormatInt(path.AsInt(), 10)}
	case vm.KArray:
		for _, s := range path.AsArray().Elems {
			steps = append(steps, vm.ToString(s))
		}
	default:
		return vm.Nil, typeErr("get", "String path", path)
	}
	for _, s := range steps {
		x, ok, err := lookup(t, cur, s)
		if err != nil {
			return vm.Nil, err
		}
		if !ok || x.IsNil() {
			return def, nil
		}
		cur = x
	}
	return cur, nil
}

func pickOmit(t *vm.Thread, fname string, args []vm.Value, keep bool) (vm.Value, error) {
	o, err := keyedObject(t, fname, args, 0)
	if err != nil {
		return vm.Nil, err
	}
	folded := false
	if v := arg(args, 0); v.Kind() == vm.KHost {
		_, folded = v.AsHost().(FoldedKeyed)
	}
	var names []string
	for _, a := range args[1:] {
		var ks []vm.Value
		if a.Kind() == vm.KArray {
			ks = a.AsArray().Elems
		} else {
			ks = []vm.Value{a}
		}
		for _, k := range ks {
			key, ok := vm.ObjectKey(k, nil)
			if !ok {
				return vm.Nil, typeErr(fname, "String or Int key", k)
			}
			if folded {
				key = strings.ToLower(key)
			}
			names = append(names, key)
		}
	}
	out := vm.NewObject()
	if keep {
		for _, k := range names {
			if v, ok := o.Get(k); ok {
				out.Set(k, v)
			}
		}
		return vm.ObjectValue(out), nil
	}
	drop := make(map[string]bool, len(names))
	for _, k := range names {
		drop[k] = true
	}
	for i, k := range o.Keys() {
		if !drop[k] {
			out.Set(k, o.Slot(i))
		}
	}
	return vm.ObjectValue(out), nil
}

func bFromEntries(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	out := vm.NewObject()
	err := iterate(t, "from_entries", arg(args, 0), func(e vm.Value, _ int) error {
		if e.Kind() != vm.KArray || len(e.AsArray().Elems) < 2 {
			return typeErr("from_entries", "[key, value] pair", e)
		}
		p := e.AsArray().Elems
		key, ok := vm.ObjectKey(p[0], nil)
		if !ok {
			return typeErr("from_entries", "String or Int key", p[0])
		}
		out.Set(key, p[1])
		return nil
	})
	if err != nil {
		return vm.Nil, err
	}
	return vm.ObjectValue(out), nil
}

func bMapValues(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	o, err := keyedObject(t, "map_values", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	fn, err := fnArg("map_values", args, 1)
	if err != nil {
		return vm.Nil, err
	}
	c := newCaller(t, fn)
	out := vm.NewObject()
	// The keys the object has when it begins, each value read at its
	// turn (a key a callback removed before its turn is skipped, as a
	// JavaScript for-in does; one it added is not walked).
	for _, k := range slices.Clone(o.Keys()) {
		x, ok := o.Get(k)
		if !ok {
			continue
		}
		var v vm.Value
		if c.index {
			v, err = c.call2(x, vm.Str(k))
		} else {
			v, err = c.call1(x)
		}
		if err != nil {
			return vm.Nil, err
		}
		out.Set(k, v)
	}
	return vm.ObjectValue(out), nil
}

const maxCopyDepth = 10000

// deepCopy copies lists and objects recursively (records keep their type).
func deepCopy(v vm.Value, depth int) (vm.Value, error) {
	if depth > maxCopyDepth {
		return vm.Nil, valueErr("clone: value is too deeply nested (cyclic?)")
	}
	switch v.Kind() {
	case vm.KArray:
		xs := v.AsArray().Elems
		out := make([]vm.Value, len(xs))
		for i, x := range xs {
			c, err := deepCopy(x, depth+1)
			if err != nil {
				return vm.Nil, err
			}
			out[i] = c
		}
		return newList(out), nil
	case vm.KObject:
		o := v.AsObject()
		if o.Type != nil && o.Len() == 0 {
			return v, nil // singleton variant
		}
		c := o.Copy()
		for i := 0; i < c.Len(); i++ {
			x, err := deepCopy(c.Slot(i), depth+1)
			if err != nil {
				return vm.Nil, err
			}
			c.SetSlot(i, x)
		}
		return vm.ObjectValue(c), nil
	}
	return v, nil
}
