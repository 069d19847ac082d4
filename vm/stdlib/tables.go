package stdlib

import (
	"strings"

	"tova/vm"
)

// The table verbs of the reference's pipelines, over tables as lists of
// row objects: derive adds columns, group_by (collections.go) groups
// rows, agg reduces each group to a row, select (with -.col) keeps or
// drops columns. The parser gathers derive's `.x = expr` and agg's
// `name: sum(.col)` into one object argument, and writes sum, count,
// mean, median, min and max inside agg as agg_sum... (functions of a
// group's rows).

func init() {
	reg("derive", ps("rows", "columns"), bDerive)
	reg("agg", ps("groups", "aggregations"), bAgg)
	for name, over := range map[string]string{"agg_sum": "sum", "agg_mean": "mean", "agg_median": "median", "agg_min": "min", "agg_max": "max"} {
		reg(name, ps("column"), aggregation(name, over))
	}
	reg("agg_count", ps("pred"), bAggCount)
}

// bDerive: derive(rows, { x: fn(row) ..., y: value }) is rows, each
// with the columns given, computed from the row as it came (a value
// that is no function is the column's value in every row).
func bDerive(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	cols := arg(args, 1)
	if cols.Kind() != vm.KObject {
		return vm.Nil, typeErr("derive", "Object of columns (derive(.x = .a * 2))", cols)
	}
	co := cols.AsObject()
	keys, vals := co.Keys(), co.Values()
	calls := make([]func(vm.Value) (vm.Value, error), len(vals))
	for i, v := range vals {
		if callable(v) {
			calls[i] = newCaller(t, v).call1
		}
	}
	return mapRows(t, "derive", arg(args, 0), func(row *vm.Object) (*vm.Object, error) {
		o := row.Copy()
		for i, k := range keys {
			v := vals[i]
			if calls[i] != nil {
				var err error
				if v, err = calls[i](vm.ObjectValue(row)); err != nil {
					return nil, err
				}
			}
			o.Set(k, v)
		}
		return o, nil
	})
}

// bAgg: agg(groups, { name: fn(rows) ... }) reduces each group of
// group_by's object (key → rows) to a row { _group: key, name: ... },
// as the reference's agg does.
func bAgg(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	groups, aggs := arg(args, 0), arg(args, 1)
	if groups.Kind() != vm.KObject {
		return vm.Nil, vm.TypeErrorf("agg: expected the groups of group_by (agg comes after group_by), got %s", vm.TypeName(groups))
	}
	if aggs.Kind() != vm.KObject {
		return vm.Nil, typeErr("agg", "Object of aggregations (agg(total: sum(.amount)))", aggs)
	}
	ao := aggs.AsObject()
	names, fns := ao.Keys(), ao.Values()
	for _, f := range fns {
		if !callable(f) {
			return vm.Nil, typeErr("agg", "aggregation (sum(.col), count(), mean(.col), median(.col), min(.col), max(.col) or a function of a group's rows)", f)
		}
	}
	g := groups.AsObject()
	out := make([]vm.Value, 0, g.Len())
	for i, key := range g.Keys() {
		rows := g.Values()[i]
		row := vm.NewObject()
		k := vm.Str(key)
		if rows.Kind() == vm.KArray {
			if x, ok := groupKey(rows.AsArray()); ok {
				k = x
			}
		}
		if k.Kind() == vm.KObject && k.AsObject().Type == nil {
			// A key of several columns (fn(r) { d: r.d, big: r.big }):
			// its columns, as the reference spreads it.
			o := k.AsObject()
			for j, name := range o.Keys() {
				row.Set(name, o.Values()[j])
			}
		} else {
			row.Set("_group", k)
		}
		for j, name := range names {
			v, err := t.Call(fns[j], rows)
			if err != nil {
				return vm.Nil, err
			}
			row.Set(name, v)
		}
		out = append(out, vm.ObjectValue(row))
	}
	return newList(out), nil
}

// aggregation is agg_sum and its kind: agg_sum(col) is the function of
// a group's rows that gives sum of the column (a name, or a function of
// the row) over them.
func aggregation(name, over string) func(*vm.Thread, []vm.Value) (vm.Value, error) {
	return func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		col := arg(args, 0)
		if col.Kind() != vm.KString && !callable(col) {
			return vm.Nil, typeErr(name, "column name or Function", col)
		}
		reduce, _ := vm.LookupBuiltin(over)
		return vm.BuiltinValue(&vm.Builtin{Name: name, Params: ps("rows"), Fn: func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
			key, err := keyFunc(t, name, col)
			if err != nil {
				return vm.Nil, err
			}
			// A missing value (nil, as read gives an empty CSV cell) is
			// left out, as SQL's and pandas' aggregates leave out NULL.
			var vals, rows []vm.Value
			err = iterate(t, name, arg(args, 0), func(row vm.Value, _ int) error {
				v, err := key(row)
				if err == nil && !v.IsNil() {
					vals = append(vals, v)
					rows = append(rows, row)
				}
				return err
			})
			if err != nil {
				return vm.Nil, err
			}
			r, err := t.Call(reduce, newList(vals))
			if err != nil {
				return vm.Nil, aggError(over, col, vals, rows, err)
			}
			return r, nil
		}}), nil
	}
}

// aggError names the row whose value the aggregation could not take
// (and the column, given by name) in reduce's error: sum(.cpu) in a table of hundreds of
// rows said only "cannot add String to a number".
func aggError(over string, col vm.Value, vals, rows []vm.Value, err error) error {
	e, ok := err.(*vm.Error)
	if !ok {
		return err
	}
	shown := over
	if col.Kind() == vm.KString {
		shown = over + "(." + col.AsString() + ")"
	}
	msg := strings.TrimPrefix(e.Msg, over+": ")
	for i, v := range vals {
		// min and max compare strings with strings too; sum, mean and
		// median take numbers only
		bad := !v.IsNumber()
		if over == "min" || over == "max" {
			bad = v.IsNumber() != vals[0].IsNumber() || !v.IsNumber() && v.Kind() != vals[0].Kind()
		}
		if bad {
			return vm.Errorf(e.Kind, "%s: %s (the %s in row %s)", shown, msg, vm.TypeName(v), clipRepr(rows[i]))
		}
	}
	return vm.Errorf(e.Kind, "%s: %s", shown, msg)
}

// clipRepr is v as Tova writes it, cut short for a message.
func clipRepr(v vm.Value) string {
	r := vm.Repr(v)
	if n := 120; len(r) > n {
		r = strings.ToValidUTF8(r[:n], "") + "…"
	}
	return r
}

// bAggCount: agg_count() counts a group's rows; agg_count(pred) those
// pred is true of.
func bAggCount(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	pred := arg(args, 0)
	if !pred.IsNil() && !callable(pred) {
		return vm.Nil, typeErr("agg_count", "Function", pred)
	}
	return vm.BuiltinValue(&vm.Builtin{Name: "agg_count", Params: ps("rows"), Fn: func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		n := int64(0)
		err := iterate(t, "agg_count", arg(args, 0), func(row vm.Value, _ int) error {
			if pred.IsNil() {
				n++
				return nil
			}
			ok, err := t.Call(pred, row)
			if ok.Truthy() {
				n++
			}
			return err
		})
		return vm.Int(n), err
	}}), nil
}
