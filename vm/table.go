package vm

// A table is a list of objects, one per row (what read gives for a CSV
// file, and what Table(rows) makes). Its columns are the rows' keys.

// TableColumns is the union of the rows' keys, in the order first seen;
// an element that is not an object has none.
func TableColumns(rows []Value) []string {
	var cols []string
	seen := map[string]bool{}
	for _, r := range rows {
		if r.k != KObject {
			continue
		}
		for _, k := range r.AsObject().Keys() {
			if !seen[k] {
				seen[k] = true
				cols = append(cols, k)
			}
		}
	}
	return cols
}

// tableField is the reference Table's property name of a list: rows
// (the number of rows), columns and shape ([rows, columns]). ok is false
// for another name, and for a list with an element that is not an
// object, which is no table.
func tableField(xs []Value, name string) (v Value, ok bool) {
	if name != "rows" && name != "columns" && name != "shape" {
		return Nil, false
	}
	if NonObjectAt(xs) >= 0 {
		return Nil, false
	}
	switch name {
	case "rows":
		return Int(int64(len(xs))), true
	case "columns":
		cols := TableColumns(xs)
		out := make([]Value, len(cols))
		for i, c := range cols {
			out[i] = Str(c)
		}
		return NewArray(out), true
	}
	return NewArray([]Value{Int(int64(len(xs))), Int(int64(len(TableColumns(xs))))}), true
}

// NonObjectAt is the index of the first element of xs that is not an
// object, or -1 when all are: xs is a table's rows.
func NonObjectAt(xs []Value) int {
	for i, r := range xs {
		if r.k != KObject {
			return i
		}
	}
	return -1
}
