package stdlib

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"tova/vm"
)

// More table verbs of the reference (docs/stdlib/tables.md), over
// tables as lists of row objects: Table, rename, drop_duplicates,
// explode, pivot, unpivot, cast, schema_of, peek, describe, window (and
// its functions row_number, rank, lag...), stratified_sample, and join
// of two tables (bJoin, in strings.go, hands a join whose second
// argument is a list of objects to bTableJoin).
//
// A column is named by a String or by an accessor: `.col` written as an
// argument of these verbs is compiled to fn(__row) __row.col, whose
// column colName learns by calling it once with a probe row.

func init() {
	reg("Table", ps("rows", "columns"), bTable)
	regH("toArray", ps("rows"), bToArray)
	reg("getColumn", ps("rows", "name"), bGetColumn)
	reg("rename", ps("rows", "old", "new"), bRename)
	reg("drop_duplicates", ps("rows", "by"), bDropDuplicates)
	reg("explode", ps("rows", "column"), bExplode)
	reg("pivot", ps("rows", "index", "columns", "values"), bPivot)
	reg("unpivot", ps("rows", "id", "columns"), bUnpivot)
	reg("cast", ps("rows", "column", "type"), bCast)
	reg("schema_of", ps("rows"), bSchemaOf)
	reg("peek", ps("rows", "n", "title"), bPeek)
	reg("describe", ps("rows"), bDescribe)
	reg("stratified_sample", ps("rows", "key", "n", "seed"), bStratifiedSample)
	reg("window", ps("rows", "opts"), bWindow)
	for _, k := range []winKind{winRowNumber, winRank, winDenseRank, winPercentRank, winRunningCount} {
		reg(k.String(), ps(), winNoColumn(k))
	}
	for _, k := range []winKind{winFirstValue, winLastValue, winRunningSum, winRunningAvg, winRunningMin, winRunningMax} {
		reg(k.String(), ps("column"), winColumnOnly(k))
	}
	reg("lag", ps("column", "offset", "default"), func(t *vm.Thread, args []vm.Value) (vm.Value, error) { return winOffset(winLag, args) })
	reg("lead", ps("column", "offset", "default"), func(t *vm.Thread, args []vm.Value) (vm.Value, error) { return winOffset(winLead, args) })
	reg("ntile", ps("n"), bNtile)
	reg("moving_avg", ps("column", "n"), bMovingAvg)
}

// ---------------------------------------------------------------- rows

// tableRows is argument i as a table: a list whose elements are all
// objects.
func tableRows(fname string, args []vm.Value, i int) ([]vm.Value, error) {
	v := arg(args, i)
	if v.Kind() != vm.KArray {
		return nil, typeErr(fname, "a list of objects", v)
	}
	rows := v.AsArray().Elems
	if j := vm.NonObjectAt(rows); j >= 0 {
		return nil, vm.TypeErrorf("%s: expected a list of objects, got a List with %s at index %d", fname, vm.TypeName(rows[j]), j)
	}
	return rows, nil
}

// isTable reports whether v is a table: a list whose elements are all
// objects (an empty list is one).
func isTable(v vm.Value) bool {
	return v.Kind() == vm.KArray && vm.NonObjectAt(v.AsArray().Elems) < 0
}

// plainCopy is a copy of row as a plain object (a record's copy gets
// columns its type lacks).
func plainCopy(row vm.Value) *vm.Object {
	o := row.AsObject().Copy()
	o.Type = nil
	return o
}

// ---------------------------------------------------------------- column names

// colProbe is the value a probe row gives for its field name: a column
// accessor (.col) called with the probe row returns the probe of its
// column, and a window function given one (lag(.salary) compiled as
// fn(__row) lag(__row.salary)) takes the column from it.
type colProbe struct{ name string }

func (p *colProbe) TypeName() string { return "Column" }
func (p *colProbe) GetAttr(*vm.Thread, string) (vm.Value, bool, error) {
	return vm.Nil, false, nil
}
func (p *colProbe) SetAttr(*vm.Thread, string, vm.Value) error {
	return vm.TypeErrorf("cannot set a field of a column reference")
}

// probeRow answers every field with its colProbe.
type probeRow struct{}

func (probeRow) TypeName() string { return "Row" }
func (probeRow) GetAttr(_ *vm.Thread, name string) (vm.Value, bool, error) {
	return vm.HostValue(&colProbe{name}), true, nil
}
func (probeRow) SetAttr(*vm.Thread, string, vm.Value) error {
	return vm.TypeErrorf("cannot set a field of a row")
}

func asProbe(v vm.Value) *colProbe {
	if v.Kind() != vm.KHost {
		return nil
	}
	p, _ := v.AsHost().(*colProbe)
	return p
}

// colName is the column key names: a String, or an accessor (.col).
func colName(t *vm.Thread, fname, what string, key vm.Value) (string, error) {
	if key.Kind() == vm.KString {
		return key.AsString(), nil
	}
	if p := asProbe(key); p != nil {
		return p.name, nil
	}
	if callable(key) {
		v, err := t.Call(key, vm.HostValue(probeRow{}))
		if p := asProbe(v); err == nil && p != nil {
			return p.name, nil
		}
		return "", vm.TypeErrorf("%s: expected %s as a column name or .col, got a function that computes a value", fname, what)
	}
	return "", vm.TypeErrorf("%s: expected %s as a column name, got %s", fname, what, vm.TypeName(key))
}

// rowKey is keyFunc over rows, for the key argument what of fname.
func rowKey(t *vm.Thread, fname, what string, key vm.Value) (func(vm.Value) (vm.Value, error), error) {
	if p := asProbe(key); p != nil {
		key = vm.Str(p.name)
	}
	if key.Kind() != vm.KString && !callable(key) {
		return nil, vm.TypeErrorf("%s: expected %s as a column name or function, got %s", fname, what, vm.TypeName(key))
	}
	return keyFunc(t, fname, key)
}

// ---------------------------------------------------------------- Table

// bToArray: t.toArray() is the reference Table's rows as a list: a new
// list of the same elements (a Seq or Deque gives its own).
func bToArray(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	xs, err := copyElems(t, "toArray", arg(args, 0))
	if err != nil {
		return vm.Nil, err
	}
	return newList(xs), nil
}

// bGetColumn: t.getColumn("name") is the column's value in each row,
// nil where a row lacks it.
func bGetColumn(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	rows, err := tableRows("getColumn", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	name, err := colName(t, "getColumn", "the column", arg(args, 1))
	if err != nil {
		return vm.Nil, err
	}
	out := make([]vm.Value, len(rows))
	for i, r := range rows {
		out[i], _ = r.AsObject().Get(name)
	}
	return newList(out), nil
}

// bTable: Table(rows) is the table of rows (a new list of the same
// rows); Table(rows, columns) gives each row exactly those columns, in
// that order, nil where a row lacks one.
func bTable(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	rows, err := tableRows("Table", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	if !has(args, 1) {
		return newList(slices.Clone(rows)), nil
	}
	cv := args[1]
	if cv.Kind() != vm.KArray {
		return vm.Nil, typeErr("Table", "a list of column names", cv)
	}
	if cells := int64(len(rows)) * int64(len(cv.AsArray().Elems)); cells > vm.MaxListLen {
		return vm.Nil, valueErr("Table: the table would have %d rows of %d columns, %d cells in all, over the limit of %d", len(rows), len(cv.AsArray().Elems), cells, vm.MaxListLen)
	}
	names := make([]string, 0, len(cv.AsArray().Elems))
	named := make(map[string]bool, len(cv.AsArray().Elems))
	for _, c := range cv.AsArray().Elems {
		if c.Kind() != vm.KString {
			return vm.Nil, vm.TypeErrorf("Table: expected a list of column names, got a List with %s", vm.TypeName(c))
		}
		if named[c.AsString()] {
			return vm.Nil, valueErr("Table: the column %q is named twice", c.AsString())
		}
		named[c.AsString()] = true
		names = append(names, c.AsString())
	}
	shape := vm.ShapeOf(names)
	keys := shape.Keys()
	out := make([]vm.Value, len(rows))
	for i, r := range rows {
		vals := make([]vm.Value, len(keys))
		for j, k := range keys {
			vals[j], _ = r.AsObject().Get(k)
		}
		out[i] = vm.ObjectValue(vm.NewObjectShaped(shape, vals))
	}
	return newList(out), nil
}

// ---------------------------------------------------------------- cleaning

// bRename: rename(rows, old, new) renames the column old of each row to
// new, in its place; a column already named new gives way to it. Rows
// without old are kept as they are.
func bRename(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	rows, err := tableRows("rename", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	old, err := colName(t, "rename", "the column to rename", arg(args, 1))
	if err != nil {
		return vm.Nil, err
	}
	nv := arg(args, 2)
	if nv.Kind() != vm.KString {
		return vm.Nil, typeErr("rename", "the new column name (String)", nv)
	}
	name := nv.AsString()
	out := make([]vm.Value, len(rows))
	for i, r := range rows {
		src := r.AsObject()
		if _, ok := src.Get(old); !ok || old == name {
			out[i] = vm.ObjectValue(plainCopy(r))
			continue
		}
		o := vm.NewObject()
		for j, k := range src.Keys() {
			switch k {
			case old:
				o.Set(name, src.Slot(j))
			case name:
				// (replaced by the renamed column)
			default:
				o.Set(k, src.Slot(j))
			}
		}
		out[i] = vm.ObjectValue(o)
	}
	return newList(out), nil
}

// bDropDuplicates: drop_duplicates(rows) keeps the first of rows that
// show the same (vm.Repr: same keys in the same order, same values);
// drop_duplicates(rows, by: key) the first row of each value of the key
// (a column name or a function of the row), values that show the same
// being the same, as group_by groups them.
func bDropDuplicates(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	rows, err := tableRows("drop_duplicates", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	var key func(vm.Value) (vm.Value, error)
	if has(args, 1) {
		if key, err = rowKey(t, "drop_duplicates", "by", args[1]); err != nil {
			return vm.Nil, err
		}
	}
	seen := map[string]bool{}
	out := []vm.Value{}
	for _, r := range rows {
		var k string
		if key == nil {
			k = vm.Repr(r)
		} else {
			v, err := key(r)
			if err != nil {
				return vm.Nil, err
			}
			k = vm.ToString(v)
		}
		if !seen[k] {
			seen[k] = true
			out = append(out, r)
		}
	}
	return newList(out), nil
}

// bExplode: explode(rows, col) gives, for a row whose column is a list,
// one row per element with the element in its place (none for an empty
// list); other rows are kept.
func bExplode(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	rows, err := tableRows("explode", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	col, err := colName(t, "explode", "the column", arg(args, 1))
	if err != nil {
		return vm.Nil, err
	}
	n := int64(0)
	for _, r := range rows {
		switch v := field(r, col); v.Kind() {
		case vm.KArray:
			n += int64(len(v.AsArray().Elems))
		case vm.KRange:
			// (a range is the list of its numbers: it was one row)
			n += v.AsRange().Len()
		default:
			n++
		}
		if n > vm.MaxListLen || n < 0 {
			return vm.Nil, vm.ListTooLong("explode", n)
		}
	}
	out := make([]vm.Value, 0, n)
	for _, r := range rows {
		v := field(r, col)
		if v.Kind() == vm.KRange {
			xs, err := elems(t, "explode", v)
			if err != nil {
				return vm.Nil, err
			}
			v = vm.NewArray(xs)
		}
		if v.Kind() != vm.KArray {
			out = append(out, vm.ObjectValue(plainCopy(r)))
			continue
		}
		for _, x := range v.AsArray().Elems {
			o := plainCopy(r)
			o.Set(col, x)
			out = append(out, vm.ObjectValue(o))
		}
	}
	return newList(out), nil
}

// bCast: cast(rows, col, type) converts the column of each row that has
// it to type: "Int" (a number truncated, a String's leading integer as
// JavaScript's parseInt reads it, else 0), "Float" (a String's leading
// number as parseFloat reads it, else 0.0), "String" (its text, nil is
// "nil") or "Bool" (false for nil, false, 0, NaN, "" and "false" in any
// case, else true).
func bCast(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	rows, err := tableRows("cast", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	col, err := colName(t, "cast", "the column", arg(args, 1))
	if err != nil {
		return vm.Nil, err
	}
	tv := arg(args, 2)
	if tv.Kind() != vm.KString {
		return vm.Nil, typeErr("cast", `a type name ("Int", "Float", "String" or "Bool")`, tv)
	}
	var conv func(vm.Value) vm.Value
	switch tv.AsString() {
	case "Int":
		conv = castInt
	case "Float":
		conv = castFloat
	case "String":
		conv = func(v vm.Value) vm.Value {
			if v.Kind() == vm.KString {
				return v
			}
			return vm.Str(vm.ToString(v))
		}
	case "Bool":
		conv = castBool
	default:
		return vm.Nil, valueErr(`cast: unknown type %q (the types are "Int", "Float", "String" and "Bool")`, tv.AsString())
	}
	out := make([]vm.Value, len(rows))
	for i, r := range rows {
		v, ok := r.AsObject().Get(col)
		if !ok {
			out[i] = vm.ObjectValue(plainCopy(r))
			continue
		}
		o := plainCopy(r)
		o.Set(col, conv(v))
		out[i] = vm.ObjectValue(o)
	}
	return newList(out), nil
}

func castInt(v vm.Value) vm.Value {
	switch v.Kind() {
	case vm.KInt:
		return v
	case vm.KFloat:
		f := math.Trunc(v.AsFloat())
		if math.IsNaN(f) || f < -9.223372036854775e18 || f > 9.223372036854775e18 {
			return vm.Int(0)
		}
		return vm.Int(int64(f))
	case vm.KString:
		s := strings.TrimLeft(v.AsString(), " \t\n\r\f\v")
		end := 0
		if end < len(s) && (s[end] == '-' || s[end] == '+') {
			end++
		}
		digits := end
		for end < len(s) && s[end] >= '0' && s[end] <= '9' {
			end++
		}
		if end == digits {
			return vm.Int(0)
		}
		var n int64
		neg := s[0] == '-'
		for _, c := range s[digits:end] {
			d := int64(c - '0')
			if n > (math.MaxInt64-d)/10 {
				return vm.Int(0) // past the Int range
			}
			n = n*10 + d
		}
		if neg {
			n = -n
		}
		return vm.Int(n)
	}
	return vm.Int(0)
}

func castFloat(v vm.Value) vm.Value {
	switch v.Kind() {
	case vm.KInt:
		return vm.Float(float64(v.AsInt()))
	case vm.KFloat:
		if math.IsNaN(v.AsFloat()) {
			return vm.Float(0)
		}
		return v
	case vm.KString:
		s := strings.TrimLeft(v.AsString(), " \t\n\r\f\v")
		if strings.HasPrefix(s, "Infinity") || strings.HasPrefix(s, "+Infinity") {
			return vm.Float(math.Inf(1))
		}
		if strings.HasPrefix(s, "-Infinity") {
			return vm.Float(math.Inf(-1))
		}
		// The longest prefix that is a decimal number.
		i := 0
		if i < len(s) && (s[i] == '-' || s[i] == '+') {
			i++
		}
		digits := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i, digits = i+1, digits+1
		}
		if i < len(s) && s[i] == '.' {
			i++
			for i < len(s) && s[i] >= '0' && s[i] <= '9' {
				i, digits = i+1, digits+1
			}
		}
		if digits == 0 {
			return vm.Float(0)
		}
		if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
			j := i + 1
			if j < len(s) && (s[j] == '-' || s[j] == '+') {
				j++
			}
			k := j
			for k < len(s) && s[k] >= '0' && s[k] <= '9' {
				k++
			}
			if k > j {
				i = k
			}
		}
		f, err := strconv.ParseFloat(s[:i], 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return vm.Float(0)
		}
		return vm.Float(f)
	}
	return vm.Float(0)
}

func castBool(v vm.Value) vm.Value {
	switch v.Kind() {
	case vm.KNil:
		return vm.False
	case vm.KBool:
		return v
	case vm.KInt:
		return vm.Bool(v.AsInt() != 0)
	case vm.KFloat:
		f := v.AsFloat()
		return vm.Bool(f != 0 && !math.IsNaN(f))
	case vm.KString:
		s := v.AsString()
		return vm.Bool(s != "" && !strings.EqualFold(strings.TrimSpace(s), "false"))
	}
	return vm.True
}

// ---------------------------------------------------------------- reshaping

// bPivot: pivot(rows, index: col, columns: col, values: col) gives one
// row per value of index (in the order first seen, values that show the
// same being one), { _index: value, <column value>: value ... }, with a
// column for every value the columns key takes (in the order first
// seen; nil where the index has none; the last of several wins).
func bPivot(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	rows, err := tableRows("pivot", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	var keys [3]func(vm.Value) (vm.Value, error)
	for i, name := range []string{"index", "columns", "values"} {
		k := arg(args, i+1)
		if k.IsNil() {
			return vm.Nil, vm.TypeErrorf("pivot: expected index, columns and values (pivot(index: .region, columns: .quarter, values: .revenue)), %s is missing", name)
		}
		if keys[i], err = rowKey(t, "pivot", name, k); err != nil {
			return vm.Nil, err
		}
	}
	type entry struct {
		index vm.Value
		cells map[string]vm.Value
	}
	var entries []*entry
	byIndex := map[string]*entry{}
	var cols []string
	colSeen := map[string]bool{}
	for _, r := range rows {
		var kv [3]vm.Value
		for i, k := range keys {
			if kv[i], err = k(r); err != nil {
				return vm.Nil, err
			}
		}
		col := vm.ToString(kv[1])
		if col == "_index" {
			return vm.Nil, valueErr("pivot: a column named _index would replace the index")
		}
		is := vm.ToString(kv[0])
		e := byIndex[is]
		if e == nil {
			e = &entry{index: kv[0], cells: map[string]vm.Value{}}
			byIndex[is] = e
			entries = append(entries, e)
		}
		e.cells[col] = kv[2]
		if !colSeen[col] {
			colSeen[col] = true
			cols = append(cols, col)
		}
	}
	if cells := int64(len(entries)) * int64(1+len(cols)); cells > vm.MaxListLen {
		// Every row has a cell for every column: the square of the
		// input (6 000 rows took 2 GB).
		return vm.Nil, valueErr("pivot: the table would have %d rows of %d columns, %d cells in all, over the limit of %d", len(entries), 1+len(cols), cells, vm.MaxListLen)
	}
	shape := vm.ShapeOf(append([]string{"_index"}, cols...))
	out := make([]vm.Value, len(entries))
	for i, e := range entries {
		vals := make([]vm.Value, 1+len(cols))
		vals[0] = e.index
		for j, c := range cols {
			vals[j+1] = e.cells[c] // nil when absent
		}
		out[i] = vm.ObjectValue(vm.NewObjectShaped(shape, vals))
	}
	return newList(out), nil
}

// bUnpivot: unpivot(rows, id: col, columns: [names]) gives, for each
// row and each of the columns, a row { id: <the row's id>, variable:
// <column name>, value: <its value, nil when absent> }.
func bUnpivot(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	rows, err := tableRows("unpivot", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	if !has(args, 1) {
		return vm.Nil, vm.TypeErrorf(`unpivot: expected id and columns (unpivot(id: "name", columns: ["q1", "q2"])), id is missing`)
	}
	id, err := rowKey(t, "unpivot", "id", args[1])
	if err != nil {
		return vm.Nil, err
	}
	cv := arg(args, 2)
	if cv.Kind() != vm.KArray {
		return vm.Nil, typeErr("unpivot", `columns as a list of column names (columns: ["q1", "q2"])`, cv)
	}
	names := make([]string, len(cv.AsArray().Elems))
	for i, c := range cv.AsArray().Elems {
		if c.Kind() != vm.KString {
			return vm.Nil, vm.TypeErrorf("unpivot: expected columns as a list of column names, got a List with %s", vm.TypeName(c))
		}
		names[i] = c.AsString()
	}
	if n := int64(len(rows)) * int64(len(names)); n > vm.MaxListLen {
		return vm.Nil, vm.ListTooLong("unpivot", n)
	}
	shape := vm.ShapeOf([]string{"id", "variable", "value"})
	out := make([]vm.Value, 0, len(rows)*len(names))
	for _, r := range rows {
		iv, err := id(r)
		if err != nil {
			return vm.Nil, err
		}
		for _, c := range names {
			out = append(out, vm.ObjectValue(vm.NewObjectShaped(shape, []vm.Value{iv, vm.Str(c), field(r, c)})))
		}
	}
	return newList(out), nil
}

// ---------------------------------------------------------------- joins

// isTableJoin reports whether a call of join is a join of tables: its
// second argument a list of objects (the first no String: ", ".join
// takes a list second), or options after the two.
func isTableJoin(args []vm.Value) bool {
	if len(args) >= 3 {
		return args[1].Kind() == vm.KArray // (a string join is refused for its third)
	}
	return len(args) == 2 && args[0].Kind() != vm.KString && isTable(args[1])
}

// bTableJoin: join(left, right, left: key, right: key, how: "inner")
// joins two tables on rows whose keys show the same. A joined row is
// the left row's columns and then the right row's (the right's value
// wins for a column both have); how is "inner", "left" (unmatched left
// rows too, with nil for the right's columns), "right" (every right row,
// in the right's order), "outer" (unmatched rows of both), "cross"
// (every pair; no keys), "anti" (left rows with no match) or "semi"
// (left rows with a match, once each).
func bTableJoin(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	left, err := tableRows("join", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	right, err := tableRows("join", args, 1)
	if err != nil {
		return vm.Nil, err
	}
	opts := arg(args, 2)
	how := "inner"
	var lk, rk vm.Value
	if !opts.IsNil() {
		if opts.Kind() != vm.KObject || opts.AsObject().Type != nil {
			return vm.Nil, typeErr("join", "options (join(other, left: .id, right: .uid, how: \"left\"))", opts)
		}
		if err := checkOptions("join", opts, "left", "right", "how"); err != nil {
			return vm.Nil, err
		}
		if h := field(opts, "how"); !h.IsNil() {
			if h.Kind() != vm.KString {
				return vm.Nil, vm.TypeErrorf("join: the option how must be a String, got %s", vm.TypeName(h))
			}
			how = h.AsString()
		}
		lk, rk = field(opts, "left"), field(opts, "right")
	}
	switch how {
	case "cross":
		if n := int64(len(left)) * int64(len(right)); n > vm.MaxListLen {
			return vm.Nil, vm.ListTooLong("join", n)
		}
		out := make([]vm.Value, 0, len(left)*len(right))
		for _, l := range left {
			for _, r := range right {
				out = append(out, vm.ObjectValue(mergeRows(l, r, nil)))
			}
		}
		return newList(out), nil
	case "inner", "left", "right", "outer", "anti", "semi":
	default:
		return vm.Nil, valueErr(`join: unknown how %q (the joins are "inner", "left", "right", "outer", "cross", "anti" and "semi")`, how)
	}
	if lk.IsNil() || rk.IsNil() {
		return vm.Nil, vm.TypeErrorf(`join: expected the keys to join on, as left: and right: (join(other, left: .id, right: .user_id)); only how: "cross" takes none`)
	}
	lkey, err := rowKey(t, "join", "left", lk)
	if err != nil {
		return vm.Nil, err
	}
	rkey, err := rowKey(t, "join", "right", rk)
	if err != nil {
		return vm.Nil, err
	}
	keysOf := func(rows []vm.Value, key func(vm.Value) (vm.Value, error)) ([]string, error) {
		ks := make([]string, len(rows))
		for i, r := range rows {
			v, err := key(r)
			if err != nil {
				return nil, err
			}
			ks[i] = vm.ToString(v)
		}
		return ks, nil
	}
	lks, err := keysOf(left, lkey)
	if err != nil {
		return vm.Nil, err
	}
	rks, err := keysOf(right, rkey)
	if err != nil {
		return vm.Nil, err
	}
	if how == "right" {
		// The left join of right with left, as the reference does it.
		left, right, lks, rks = right, left, rks, lks
	}
	index := map[string][]int{}
	for i, k := range rks {
		index[k] = append(index[k], i)
	}
	if how == "anti" || how == "semi" {
		out := []vm.Value{}
		for i, l := range left {
			if _, ok := index[lks[i]]; ok == (how == "semi") {
				out = append(out, vm.ObjectValue(plainCopy(l)))
			}
		}
		return newList(out), nil
	}
	keepLeft := how != "inner"
	n := int64(0)
	matched := map[string]bool{}
	for _, k := range lks {
		m := len(index[k])
		if m > 0 {
			matched[k] = true
		} else if keepLeft {
			m = 1
		}
		n += int64(m)
	}
	if how == "outer" {
		for _, k := range rks {
			if !matched[k] {
				n++
			}
		}
	}
	if n > vm.MaxListLen {
		return vm.Nil, vm.ListTooLong("join", n)
	}
	var leftCols, rightCols []string
	if keepLeft {
		rightCols = vm.TableColumns(right)
		if how == "outer" {
			leftCols = vm.TableColumns(left)
		}
	}
	out := make([]vm.Value, 0, n)
	for i, l := range left {
		ms := index[lks[i]]
		for _, j := range ms {
			out = append(out, vm.ObjectValue(mergeRows(l, right[j], nil)))
		}
		if len(ms) == 0 && keepLeft {
			out = append(out, vm.ObjectValue(mergeRows(l, vm.Nil, rightCols)))
		}
	}
	if how == "outer" {
		for j, r := range right {
			if !matched[rks[j]] {
				out = append(out, vm.ObjectValue(mergeRows(r, vm.Nil, leftCols)))
			}
		}
	}
	return newList(out), nil
}

// mergeRows is a's columns then b's (b's values win), or, b nil, a's
// columns and nil for each of nilCols a lacks.
func mergeRows(a, b vm.Value, nilCols []string) *vm.Object {
	o := plainCopy(a)
	if b.Kind() == vm.KObject {
		bo := b.AsObject()
		for i, k := range bo.Keys() {
			o.Set(k, bo.Slot(i))
		}
		return o
	}
	for _, c := range nilCols {
		if _, ok := o.Get(c); !ok {
			o.Set(c, vm.Nil)
		}
	}
	return o
}

// ---------------------------------------------------------------- inspection

// typeOfColumn is the type name of the column's first non-nil value
// ("Nil" when there is none).
func typeOfColumn(rows []vm.Value, col string) string {
	for _, r := range rows {
		if v := field(r, col); !v.IsNil() {
			return vm.TypeName(v)
		}
	}
	return "Nil"
}

// bSchemaOf: schema_of(rows) is { column: type name } for every column
// (the union of the rows' keys), the type being that of the column's
// first non-nil value ("Nil" for none). It prints the schema too, as the
// reference does.
func bSchemaOf(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	rows, err := tableRows("schema_of", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	o := vm.NewObject()
	var b strings.Builder
	b.WriteString("Schema:\n")
	for _, c := range vm.TableColumns(rows) {
		ty := typeOfColumn(rows, c)
		o.Set(c, vm.Str(ty))
		fmt.Fprintf(&b, "  %s: %s\n", c, ty)
	}
	if err := writeOut(t, "schema_of", b.String()); err != nil {
		return vm.Nil, err
	}
	return vm.ObjectValue(o), nil
}

func writeOut(t *vm.Thread, fname, s string) error {
	if _, err := t.Stdout().Write([]byte(s)); err != nil {
		return vm.Errorf("IOError", "%s: %v", fname, err)
	}
	return nil
}

// bPeek: peek(rows, n: 10, title) prints the first n rows as a text
// table and gives rows back unchanged.
func bPeek(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	rows := arg(args, 0)
	if rows.Kind() != vm.KArray {
		return vm.Nil, typeErr("peek", "a list of objects", rows)
	}
	n, err := optInt("peek", args, 1, 10)
	if err != nil {
		return vm.Nil, err
	}
	title, err := optStr("peek", args, 2, "")
	if err != nil {
		return vm.Nil, err
	}
	if err := writeOut(t, "peek", formatTable(rows.AsArray().Elems, int(min(max(n, 0), vm.MaxListLen)), title)); err != nil {
		return vm.Nil, err
	}
	return rows, nil
}

// formatTable is the reference's text table of rows: the first max of
// them under a header, then the count of rows and columns. An element
// that is no object shows in a column named value.
func formatTable(rows []vm.Value, maxRows int, title string) string {
	var b strings.Builder
	if title != "" {
		fmt.Fprintf(&b, "── %s ──\n", title)
	}
	cols := vm.TableColumns(rows)
	for _, r := range rows {
		if r.Kind() != vm.KObject && !slices.Contains(cols, "value") {
			cols = append(cols, "value")
			break
		}
	}
	shown := rows[:min(maxRows, len(rows))]
	if len(cols) == 0 || len(shown) == 0 {
		fmt.Fprintf(&b, "(empty table)\n%d rows × %d columns\n", len(rows), len(cols))
		return b.String()
	}
	cell := func(r vm.Value, c string) string {
		var v vm.Value
		if r.Kind() == vm.KObject {
			v = field(r, c)
		} else if c == "value" {
			v = r
		}
		s := "nil"
		if v.Kind() == vm.KString {
			s = v.AsString()
		} else if !v.IsNil() {
			s = vm.ToString(v)
		}
		s = strings.NewReplacer("\n", " ", "\r", " ", "\t", " ").Replace(s)
		if utf8.RuneCountInString(s) > 30 {
			s = string([]rune(s)[:30])
		}
		return s
	}
	widths := make([]int, len(cols))
	cells := make([][]string, len(shown))
	for j, c := range cols {
		widths[j] = min(utf8.RuneCountInString(c), 30)
	}
	for i, r := range shown {
		cells[i] = make([]string, len(cols))
		for j, c := range cols {
			cells[i][j] = cell(r, c)
			widths[j] = max(widths[j], utf8.RuneCountInString(cells[i][j]))
		}
	}
	pad := func(s string, w int) string {
		if n := utf8.RuneCountInString(s); n < w {
			return s + strings.Repeat(" ", w-n)
		}
		return s
	}
	line := func(vals []string) {
		for j, v := range vals {
			if j > 0 {
				b.WriteString(" │ ")
			}
			b.WriteString(pad(v, widths[j]))
		}
		b.WriteString("\n")
	}
	line(cols)
	for j := range cols {
		if j > 0 {
			b.WriteString("─┼─")
		}
		b.WriteString(strings.Repeat("─", widths[j]))
	}
	b.WriteString("\n")
	for _, r := range cells {
		line(r)
	}
	if len(rows) > len(shown) {
		fmt.Fprintf(&b, "... %d more rows\n", len(rows)-len(shown))
	}
	fmt.Fprintf(&b, "%d rows × %d columns\n", len(rows), len(cols))
	return b.String()
}

// bDescribe: describe(rows) is a row of statistics per column — Column,
// Type (of its first non-nil value), Non-Null (how many values are not
// nil), then for a number column Mean, Min and Max (of its numbers), for
// a String column Unique (how many different strings), for a Bool column
// True (how many true). It prints them as a table too, as the reference
// does.
func bDescribe(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	rows, err := tableRows("describe", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	var stats []vm.Value
	for _, c := range vm.TableColumns(rows) {
		var vals []vm.Value
		for _, r := range rows {
			if v := field(r, c); !v.IsNil() {
				vals = append(vals, v)
			}
		}
		s := vm.NewObject()
		s.Set("Column", vm.Str(c))
		ty := typeOfColumn(rows, c)
		s.Set("Type", vm.Str(ty))
		s.Set("Non-Null", vm.Int(int64(len(vals))))
		switch ty {
		case "Int", "Float":
			var sum float64
			var lo, hi vm.Value
			n := 0
			for _, v := range vals {
				if !v.IsNumber() {
					continue
				}
				n++
				sum += v.Number()
				if c, _ := compare(v, lo); lo.IsNil() || c < 0 {
					lo = v
				}
				if c, _ := compare(v, hi); hi.IsNil() || c > 0 {
					hi = v
				}
			}
			s.Set("Mean", vm.Float(sum/float64(n)))
			s.Set("Min", lo)
			s.Set("Max", hi)
		case "String":
			// every value of the column, as the reference counts them
			// (a CSV column of "007" and 0 holds a String and an Int)
			seen := map[string]bool{}
			for _, v := range vals {
				seen[vm.TypeName(v)+":"+vm.Repr(v)] = true
			}
			s.Set("Unique", vm.Int(int64(len(seen))))
		case "Bool":
			n := 0
			for _, v := range vals {
				if v.Kind() == vm.KBool && v.Truthy() {
					n++
				}
			}
			s.Set("True", vm.Int(int64(n)))
		}
		stats = append(stats, vm.ObjectValue(s))
	}
	if stats == nil {
		stats = []vm.Value{}
	}
	if err := writeOut(t, "describe", formatTable(stats, 100, "describe()")); err != nil {
		return vm.Nil, err
	}
	return newList(stats), nil
}

// ---------------------------------------------------------------- sampling

// xorshift128 is the reference's seeded generator (JavaScript's 32-bit
// arithmetic), so that a seed picks the rows it picks there.
func xorshift128(seed int64) func() float64 {
	s0 := int32(uint32(seed))
	s := [4]int32{s0, s0 ^ int32(-559038737) /* 0xDEADBEEF */, s0 ^ 0x12345678, s0 ^ int32(-2023406815) /* 0x87654321 */}
	return func() float64 {
		t := s[3]
		t ^= t << 11
		t ^= int32(uint32(t) >> 8)
		s[3], s[2], s[1] = s[2], s[1], s[0]
		t ^= s[0]
		t ^= int32(uint32(s[0]) >> 19)
		s[0] = t
		return float64(uint32(t)) / 4294967296
	}
}

// sampleSize is the number of elements of total a sample of n takes:
// floor(n * total) for n < 1 (a fraction), else n, a fraction of one
// rounded up (the reference draws while i < n), within 0..total.
func sampleSize(n float64, total int) int {
	if !(n > 0) {
		return 0
	}
	if n < 1 {
		return int(math.Floor(n * float64(total)))
	}
	return int(min(math.Ceil(n), float64(total)))
}

// drawSample is k elements of xs drawn with rng, in the order drawn
// (the first k steps of a Fisher-Yates shuffle of their indexes).
func drawSample(xs []vm.Value, k int, rng func() float64) []vm.Value {
	idx := make([]int, len(xs))
	for i := range idx {
		idx[i] = i
	}
	out := make([]vm.Value, k)
	for i := 0; i < k; i++ {
		j := i + int(math.Floor(rng()*float64(len(xs)-i)))
		idx[i], idx[j] = idx[j], idx[i]
		out[i] = xs[idx[i]]
	}
	return out
}

// sampleRows is the reference's table_sample: sampleSize(n) rows of
// rows, in the order drawn; all of them, in their order, when that
// reaches their number.
func sampleRows(rows []vm.Value, n float64, rng func() float64) []vm.Value {
	k := sampleSize(n, len(rows))
	if k <= 0 {
		return nil
	}
	if n < 1 && k >= len(rows) || n >= float64(len(rows)) {
		// (9.5 of 10 draws all ten, shuffled, as the reference does)
		return rows
	}
	return drawSample(rows, k, rng)
}

// sampleCount is argument i of fname as the n of a sample: a count, or
// a fraction below 1.
func sampleCount(fname string, args []vm.Value, i int) (float64, error) {
	nv := arg(args, i)
	if !nv.IsNumber() || math.IsNaN(nv.Number()) {
		return 0, typeErr(fname, "n as a Number (a count, or a fraction below 1)", nv)
	}
	return nv.Number(), nil
}

// bStratifiedSample: stratified_sample(rows, key, n, seed: s) samples n
// rows (a fraction of them for n < 1) of each group of rows of the same
// key, the groups in the order first seen; with an Int seed the rows
// are those the reference picks for it.
func bStratifiedSample(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	rows, err := tableRows("stratified_sample", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	if !has(args, 1) {
		return vm.Nil, typeErr("stratified_sample", "a key (a column name or function)", arg(args, 1))
	}
	key, err := rowKey(t, "stratified_sample", "the key", args[1])
	if err != nil {
		return vm.Nil, err
	}
	n, err := sampleCount("stratified_sample", args, 2)
	if err != nil {
		return vm.Nil, err
	}
	seeded := has(args, 3)
	var seed int64
	if seeded {
		if seed, err = intArg("stratified_sample", args, 3); err != nil {
			return vm.Nil, err
		}
	}
	var order []string
	groups := map[string][]vm.Value{}
	for _, r := range rows {
		k, err := key(r)
		if err != nil {
			return vm.Nil, err
		}
		ks := vm.ToString(k)
		if _, ok := groups[ks]; !ok {
			order = append(order, ks)
		}
		groups[ks] = append(groups[ks], r)
	}
	out := []vm.Value{}
	for gi, ks := range order {
		rng := rand.Float64
		if seeded {
			rng = xorshift128(seed + int64(gi)*7919)
		}
		out = append(out, sampleRows(groups[ks], n, rng)...)
	}
	return newList(out), nil
}

// ---------------------------------------------------------------- window

type winKind uint8

const (
	winRowNumber winKind = iota
	winRank
	winDenseRank
	winPercentRank
	winNtile
	winLag
	winLead
	winFirstValue
	winLastValue
	winRunningSum
	winRunningCount
	winRunningAvg
	winRunningMin
	winRunningMax
	winMovingAvg
)

var winNames = [...]string{"row_number", "rank", "dense_rank", "percent_rank", "ntile", "lag", "lead",
	"first_value", "last_value", "running_sum", "running_count", "running_avg", "running_min", "running_max", "moving_avg"}

func (k winKind) String() string { return winNames[k] }

// winFn is a window function, as row_number(), lag(.col, 2)... give it:
// window computes it over each partition.
type winFn struct {
	kind   winKind
	col    vm.Value // a column name or a function of the row
	offset int64    // lag, lead
	def    vm.Value // lag, lead: the value past the partition
	n      int64    // ntile, moving_avg
}

func (w *winFn) TypeName() string { return "WindowFunction" }
func (w *winFn) GetAttr(*vm.Thread, string) (vm.Value, bool, error) {
	return vm.Nil, false, nil
}
func (w *winFn) SetAttr(*vm.Thread, string, vm.Value) error {
	return vm.TypeErrorf("cannot set a field of a window function")
}

// winColumn is the column argument of a window function.
func winColumn(k winKind, v vm.Value) (vm.Value, error) {
	if p := asProbe(v); p != nil {
		return vm.Str(p.name), nil
	}
	if v.Kind() != vm.KString && !callable(v) {
		return vm.Nil, typeErr(k.String(), "a column name or function", v)
	}
	return v, nil
}

func winNoColumn(k winKind) func(*vm.Thread, []vm.Value) (vm.Value, error) {
	return func(*vm.Thread, []vm.Value) (vm.Value, error) { return vm.HostValue(&winFn{kind: k}), nil }
}

func winColumnOnly(k winKind) func(*vm.Thread, []vm.Value) (vm.Value, error) {
	return func(_ *vm.Thread, args []vm.Value) (vm.Value, error) {
		col, err := winColumn(k, arg(args, 0))
		if err != nil {
			return vm.Nil, err
		}
		return vm.HostValue(&winFn{kind: k, col: col}), nil
	}
}

func winOffset(k winKind, args []vm.Value) (vm.Value, error) {
	col, err := winColumn(k, arg(args, 0))
	if err != nil {
		return vm.Nil, err
	}
	off, err := optInt(k.String(), args, 1, 1)
	if err != nil {
		return vm.Nil, err
	}
	return vm.HostValue(&winFn{kind: k, col: col, offset: off, def: arg(args, 2)}), nil
}

func bNtile(_ *vm.Thread, args []vm.Value) (vm.Value, error) {
	n, err := intArg("ntile", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	if n < 1 {
		return vm.Nil, valueErr("ntile: the number of buckets must be at least 1, got %d", n)
	}
	return vm.HostValue(&winFn{kind: winNtile, n: n}), nil
}

func bMovingAvg(_ *vm.Thread, args []vm.Value) (vm.Value, error) {
	col, err := winColumn(winMovingAvg, arg(args, 0))
	if err != nil {
		return vm.Nil, err
	}
	n, err := intArg("moving_avg", args, 1)
	if err != nil {
		return vm.Nil, err
	}
	if n < 1 {
		return vm.Nil, valueErr("moving_avg: the window must be at least 1 row, got %d", n)
	}
	return vm.HostValue(&winFn{kind: winMovingAvg, col: col, n: n}), nil
}

// winFnError reports whether msg is the error of a window function's
// own arguments ("moving_avg: the window must be ...").
func winFnError(msg string) bool {
	name, _, ok := strings.Cut(msg, ":")
	if !ok {
		name, _, _ = strings.Cut(msg, " takes ")
	}
	return slices.Contains(winNames[:], name)
}

func asWinFn(v vm.Value) *winFn {
	if v.Kind() != vm.KHost {
		return nil
	}
	w, _ := v.AsHost().(*winFn)
	return w
}

// bWindow: window(rows, partition_by: key, order_by: key, desc: false,
// name: window function ...) is rows, each with a column per window
// function, computed over the rows of its partition (all rows without
// partition_by) in order_by's order (desc: true for descending; without
// order_by, in their own order). The rows keep their order.
func bWindow(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	rows, err := tableRows("window", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	opts := arg(args, 1)
	if opts.IsNil() {
		opts = vm.ObjectValue(vm.NewObject())
	}
	if opts.Kind() != vm.KObject || opts.AsObject().Type != nil {
		return vm.Nil, typeErr("window", "named window columns (window(order_by: .date, n: row_number()))", opts)
	}
	var partKey, orderKey func(vm.Value) (vm.Value, error)
	desc := false
	var names []string
	var fns []*winFn
	o := opts.AsObject()
	for i, k := range o.Keys() {
		v := o.Slot(i)
		switch k {
		case "partition_by":
			if !v.IsNil() {
				if partKey, err = rowKey(t, "window", "partition_by", v); err != nil {
					return vm.Nil, err
				}
			}
		case "order_by":
			if !v.IsNil() {
				if orderKey, err = rowKey(t, "window", "order_by", v); err != nil {
					return vm.Nil, err
				}
			}
		case "desc":
			if v.Kind() != vm.KBool && !v.IsNil() {
				return vm.Nil, vm.TypeErrorf("window: the option desc must be a Bool, got %s", vm.TypeName(v))
			}
			desc = v.Truthy()
		default:
			w := asWinFn(v)
			if w == nil && callable(v) {
				// name: lag(.salary), compiled as fn(__row)
				// lag(__row.salary): the window function of the column.
				r, err := t.Call(v, vm.HostValue(probeRow{}))
				if err == nil {
					w = asWinFn(r)
				} else if ve, ok := err.(*vm.Error); ok && winFnError(ve.Msg) {
					// moving_avg(.v, 0): what is wrong with it, not
					// that it is no window function
					return vm.Nil, vm.Errorf(ve.Kind, "window: %s: %s", k, ve.Msg)
				}
			}
			if w == nil {
				return vm.Nil, vm.TypeErrorf("window: %s: expected a window function (row_number(), rank(), dense_rank(), percent_rank(), ntile(n), lag(.col), lead(.col), first_value(.col), last_value(.col), running_sum(.col), running_count(), running_avg(.col), running_min(.col), running_max(.col), moving_avg(.col, n)), got %s", k, vm.TypeName(v))
			}
			names = append(names, k)
			fns = append(fns, w)
		}
	}
	// The partitions, in the order first seen, each a list of row
	// positions.
	var parts [][]int
	byKey := map[string]int{}
	for i, r := range rows {
		ks := ""
		if partKey != nil {
			k, err := partKey(r)
			if err != nil {
				return vm.Nil, err
			}
			ks = vm.ToString(k)
		}
		p, ok := byKey[ks]
		if !ok {
			p = len(parts)
			byKey[ks] = p
			parts = append(parts, nil)
		}
		parts[p] = append(parts[p], i)
	}
	results := make([][]vm.Value, len(rows))
	for i := range results {
		results[i] = make([]vm.Value, len(fns))
	}
	for _, part := range parts {
		var orderVals []vm.Value
		if orderKey != nil {
			keyed := make([]struct {
				k vm.Value
				i int
			}, len(part))
			for j, i := range part {
				k, err := orderKey(rows[i])
				if err != nil {
					return vm.Nil, err
				}
				keyed[j].k, keyed[j].i = k, i
			}
			var cmpErr error
			slices.SortStableFunc(keyed, func(a, b struct {
				k vm.Value
				i int
			}) int {
				// A missing key (an empty cell) goes last, as sort_by
				// puts it: it was a TypeError.
				if c, ok := nilsLast(a.k, b.k); ok {
					return c
				}
				c, err := compare(a.k, b.k)
				if err != nil && cmpErr == nil {
					cmpErr = vm.TypeErrorf("window: order_by: %s", errMessage(err))
				}
				if desc {
					return -c
				}
				return c
			})
			if cmpErr != nil {
				return vm.Nil, cmpErr
			}
			orderVals = make([]vm.Value, len(part))
			for j := range keyed {
				part[j], orderVals[j] = keyed[j].i, keyed[j].k
			}
		}
		prows := make([]vm.Value, len(part))
		for j, i := range part {
			prows[j] = rows[i]
		}
		for f, w := range fns {
			vals, err := w.compute(t, prows, orderVals)
			if err != nil {
				return vm.Nil, err
			}
			for j, i := range part {
				results[i][f] = vals[j]
			}
		}
	}
	out := make([]vm.Value, len(rows))
	for i, r := range rows {
		row := plainCopy(r)
		for f, name := range names {
			row.Set(name, results[i][f])
		}
		out[i] = vm.ObjectValue(row)
	}
	return newList(out), nil
}

// compute is the window function's value for each of rows, a partition
// in its order (orderVals their order_by values, nil without one).
func (w *winFn) compute(t *vm.Thread, rows []vm.Value, orderVals []vm.Value) ([]vm.Value, error) {
	n := len(rows)
	out := make([]vm.Value, n)
	fname := w.kind.String()
	var vals []vm.Value
	if !w.col.IsNil() {
		key, err := keyFunc(t, fname, w.col)
		if err != nil {
			return nil, err
		}
		vals = make([]vm.Value, n)
		for i, r := range rows {
			if vals[i], err = key(r); err != nil {
				return nil, err
			}
		}
	}
	// tie: whether rows i-1 and i have the same order_by value (without
	// order_by, none are tied).
	tie := func(i int) bool { return orderVals != nil && vm.Equal(orderVals[i-1], orderVals[i]) }
	ranks := func() []int64 {
		r := make([]int64, n)
		for i := range r {
			if i > 0 && tie(i) {
				r[i] = r[i-1]
			} else {
				r[i] = int64(i) + 1
			}
		}
		return r
	}
	numbers := func() error {
		for i, v := range vals {
			if !v.IsNumber() {
				// (the row named, as sum names it)
				return vm.TypeErrorf("window: %s: expected numbers, got %s (in row %s)", fname, vm.TypeName(v), vm.Repr(rows[i]))
			}
		}
		return nil
	}
	switch w.kind {
	case winRowNumber, winRunningCount:
		for i := range out {
			out[i] = vm.Int(int64(i) + 1)
		}
	case winRank:
		for i, r := range ranks() {
			out[i] = vm.Int(r)
		}
	case winDenseRank:
		d := int64(0)
		for i := range out {
			if i == 0 || !tie(i) {
				d++
			}
			out[i] = vm.Int(d)
		}
	case winPercentRank:
		for i, r := range ranks() {
			if n <= 1 {
				out[i] = vm.Float(0)
			} else {
				out[i] = vm.Float(float64(r-1) / float64(n-1))
			}
		}
	case winNtile:
		for i := range out {
			// floor(i * buckets / n) + 1, without overflow
			q := (float64(i) * float64(w.n)) / float64(n)
			out[i] = vm.Int(int64(math.Floor(q)) + 1)
		}
	case winLag, winLead:
		for i := range out {
			off := w.offset
			if w.kind == winLag {
				off = -off
			}
			if off < -int64(n) || off > int64(n) {
				out[i] = w.def
				continue
			}
			if j := int64(i) + off; j < 0 || j >= int64(n) {
				out[i] = w.def
			} else {
				out[i] = vals[j]
			}
		}
	case winFirstValue:
		for i := range out {
			out[i] = vals[0]
		}
	case winLastValue:
		for i := range out {
			out[i] = vals[n-1]
		}
	case winRunningSum, winRunningAvg:
		if err := numbers(); err != nil {
			return nil, err
		}
		a := adder{fname: "window: " + fname}
		for i, v := range vals {
			if err := a.add(v); err != nil {
				return nil, err
			}
			if w.kind == winRunningSum {
				out[i] = a.result()
			} else {
				out[i] = vm.Float(a.result().Number() / float64(i+1))
			}
		}
	case winRunningMin, winRunningMax:
		var m vm.Value
		for i, v := range vals {
			if i == 0 {
				m = v
			} else {
				c, err := compare(v, m)
				if err != nil {
					return nil, vm.TypeErrorf("window: %s: %s", fname, errMessage(err))
				}
				if w.kind == winRunningMin && c < 0 || w.kind == winRunningMax && c > 0 {
					m = v
				}
			}
			out[i] = m
		}
	case winMovingAvg:
		if err := numbers(); err != nil {
			return nil, err
		}
		allInt := true
		for _, v := range vals {
			allInt = allInt && v.Kind() == vm.KInt
		}
		var si int64
		var sf float64
		exact := allInt
		for i, v := range vals {
			if exact {
				x := v.AsInt()
				s := si + x
				if (s > si) != (x > 0) {
					exact = false // past the Int range: sum as floats
					sf = float64(si) + float64(x)
				} else {
					si = s
				}
			} else {
				sf += v.Number()
			}
			if gone := int64(i) - w.n; gone >= 0 {
				if exact {
					si -= vals[gone].AsInt()
				} else {
					sf -= vals[gone].Number()
				}
			}
			cnt := min(int64(i)+1, w.n)
			if exact {
				out[i] = vm.Float(float64(si) / float64(cnt))
			} else {
				out[i] = vm.Float(sf / float64(cnt))
			}
		}
	}
	return out, nil
}
