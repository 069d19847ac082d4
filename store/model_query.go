package store

import (
	"context"
	"database/sql"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"tova/vm"
	"tova/vm/stdlib"
)

// methodNames are the query methods of a model (see doc.go).
var methodNames = []string{"all", "find", "where", "first", "count", "paginate", "create", "update", "delete", "delete_where"}

func (m *Model) CallMethod(t *vm.Thread, name string, args []vm.Value) (vm.Value, bool, error) {
	if _, ok := m.methods[name]; !ok {
		return vm.Nil, true, m.MissingAttr(name)
	}
	v, err := m.call(t, name, args)
	return v, true, err
}

func (m *Model) call(t *vm.Thread, name string, args []vm.Value) (vm.Value, error) {
	db, err := m.st.open(t)
	if err != nil {
		return vm.Nil, err
	}
	tb, err := m.tableIn(t, db)
	if err != nil {
		return vm.Nil, err
	}
	if len(args) > 0 && args[0].IsNil() && (name == "where" || name == "first" || name == "count") {
		// (M.where(req.body.filter) of a request without one matched
		// every row)
		return vm.Nil, m.argErr(name, "takes a filter object, got nil (a value left unset?): {} matches every row")
	}
	switch name {
	case "all":
		if len(args) > 1 {
			return vm.Nil, m.argErr(name, "takes at most an options object")
		}
		return m.list(t, tb, name, vm.Nil, arg(args, 0), false)
	case "where":
		if len(args) > 0 && args[0].Kind() == vm.KString {
			// (the reference's docs' where("name LIKE ?", pattern): it
			// said the options were wrong)
			return vm.Nil, vm.TypeErrorf("%s.where takes a filter object of fields and the values they equal ({ name: \"Ann\" }), not SQL text: for SQL such as LIKE or >, write db.query(\"SELECT * FROM ... WHERE name LIKE $1\", pattern)", m.name)
		}
		if len(args) == 0 || len(args) > 2 {
			return vm.Nil, m.argErr(name, "takes a filter object and an optional options object")
		}
		if len(args) == 1 { // M.where(order: "-id", limit: 5), M.where(done: false, order: "title")
			if filter, opts, ok := m.splitOptions(args[0]); ok {
				if filter.IsNil() {
					filter = vm.ObjectValue(vm.NewObject())
				}
				return m.list(t, tb, name, filter, opts, false)
			}
		}
		return m.list(t, tb, name, args[0], arg(args, 1), false)
	case "first":
		if len(args) > 2 {
			return vm.Nil, m.argErr(name, "takes an optional filter and an optional options object")
		}
		if len(args) == 1 { // M.first(order: "-id"), M.first(done: false, order: "title")
			if filter, opts, ok := m.splitOptions(args[0]); ok {
				return m.list(t, tb, name, filter, opts, true)
			}
		}
		return m.list(t, tb, name, arg(args, 0), arg(args, 1), true)
	case "find":
		if len(args) != 1 {
			return vm.Nil, m.argErr(name, "takes one id")
		}
		id, ok, err := m.id(name, args[0])
		if err != nil || !ok {
			return vm.Nil, err
		}
		return m.one(t, tb, false, tb.selectFrom+` WHERE "id" = $1`, id)
	case "count":
		if len(args) > 1 {
			return vm.Nil, m.argErr(name, "takes an optional filter object")
		}
		return m.count(t, tb, name, arg(args, 0))
	case "paginate":
		return m.paginate(t, tb, args)
	case "create":
		if len(args) != 1 {
			return vm.Nil, m.argErr(name, "takes one object of field values")
		}
		return m.create(t, tb, args[0])
	case "update":
		if len(args) != 2 {
			return vm.Nil, m.argErr(name, "takes an id and an object of field values")
		}
		return m.update(t, tb, args[0], args[1])
	case "delete":
		if len(args) != 1 {
			return vm.Nil, m.argErr(name, "takes one id")
		}
		id, ok, err := m.id(name, args[0])
		if err != nil || !ok {
			return vm.False, err
		}
		n, err := m.exec(t, tb, "DELETE FROM "+m.tableSQL+` WHERE "id" = $1`, id)
		return vm.Bool(n > 0), err
	case "delete_where":
		if len(args) != 1 || args[0].Kind() != vm.KObject {
			return vm.Nil, m.argErr(name, "takes a filter object (use {} to delete every row)")
		}
		var params []any
		where, err := m.filter(t, tb, name, args[0], &params)
		if err != nil {
			return vm.Nil, err
		}
		n, err := m.exec(t, tb, "DELETE FROM "+m.tableSQL+where, params...)
		return vm.Int(n), err
	}
	return vm.Nil, vm.TypeErrorf("model %s has no method %s", m.name, name)
}

func arg(args []vm.Value, i int) vm.Value {
	if i < len(args) {
		return args[i]
	}
	return vm.Nil
}

func (m *Model) argErr(method, msg string) error {
	return vm.TypeErrorf("%s.%s %s", m.name, method, msg)
}

// id reads a row id: an Int, a whole Float or a String of digits (a
// path parameter). ok is false for nil and for a String, a Float or a
// Bool that is no Int (/items/abc, {"id": 1.5}: a client's text or
// JSON), which match no row: that was a TypeError, a 500 a client
// could ask for. A list or an object (find(user) for find(user.id))
// is one still.
func (m *Model) id(method string, v vm.Value) (int64, bool, error) {
	switch v.Kind() {
	case vm.KNil:
		return 0, false, nil
	case vm.KInt:
		return v.AsInt(), true, nil
	case vm.KFloat:
		if f := v.AsFloat(); f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			return int64(f), true, nil
		}
		return 0, false, nil // (1.5 from a client's JSON: no row, not a 500)
	case vm.KBool:
		return 0, false, nil
	case vm.KString:
		if n, err := strconv.ParseInt(v.AsString(), 10, 64); err == nil {
			return n, true, nil
		}
		return 0, false, nil
	}
	return 0, false, vm.TypeErrorf("%s.%s: an id is an Int, got %s", m.name, method, vm.Repr(v))
}

// tableIn makes sure the model's table in db matches it (see ensure),
// with the scheduler released, and returns it.
func (m *Model) tableIn(t *vm.Thread, db *DB) (*table, error) {
	var tb *table
	var err error
	t.Blocking(func() { tb, err = m.ensure(t.Context(), db, db.on(t, true), db.inTx(t)) })
	return tb, dbError(err, &db.cfg)
}

// run executes fn on the table's database with the scheduler released.
// Statements join the thread's transaction when it is inside
// db.transaction.
func (m *Model) run(t *vm.Thread, tb *table, write bool, fn func(ctx context.Context, q querier) error) error {
	q, err := tb.db.use(t, write)
	if err != nil {
		return err
	}
	t.Blocking(func() { err = fn(t.Context(), q) })
	return dbError(err, &tb.db.cfg)
}

// rows runs a query returning the model's columns.
// A read is run again when its connection prepared it with a table's
// old columns (see againOnSchemaChange).
func (m *Model) rows(t *vm.Thread, tb *table, write bool, query string, params ...any) ([]vm.Value, error) {
	var out []vm.Value
	err := m.run(t, tb, write, func(ctx context.Context, q querier) error {
		read := func() ([]vm.Value, error) {
			rows, err := q.QueryContext(ctx, query, params...)
			if err != nil {
				return nil, err
			}
			return m.scan(tb, rows)
		}
		var err error
		if write {
			out, err = read()
		} else {
			ctx = withColumnCheck(ctx)
			out, err = againOnSchemaChange(q, read)
		}
		return err
	})
	return out, err
}

// one runs a query returning at most one row of the model (nil if none).
func (m *Model) one(t *vm.Thread, tb *table, write bool, query string, params ...any) (vm.Value, error) {
	rows, err := m.rows(t, tb, write, query, params...)
	if err != nil || len(rows) == 0 {
		return vm.Nil, err
	}
	return rows[0], nil
}

func (m *Model) exec(t *vm.Thread, tb *table, query string, params ...any) (int64, error) {
	var n int64
	err := m.run(t, tb, true, func(ctx context.Context, q querier) error {
		res, err := q.ExecContext(ctx, query, params...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// scan reads rows of the model's columns into typed row objects.
func (m *Model) scan(tb *table, rows *sql.Rows) ([]vm.Value, error) {
	defer rows.Close()
	n := len(m.cols)
	raw, ptrs := scanTargets(n)
	var out []vm.Value
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		vals := make([]vm.Value, n)
		for i, c := range m.cols {
			switch {
			case tb.legacy[i]:
				vals[i] = legacyValue(c, raw[i])
			case c.kind == kindJSON:
				vals[i] = c.ftype.read(fieldValue(kindJSON, raw[i]))
			default:
				vals[i] = fieldValue(c.kind, raw[i])
			}
		}
		out = append(out, vm.ObjectValue(vm.NewObjectShaped(m.rowShape, vals)))
	}
	return out, rows.Err()
}

// filter renders a filter object as a WHERE clause: every key must be a
// field; nil matches NULL, a list matches any of its values (a nil
// among them NULL; for JSON fields a list is the value), anything else
// is equality.
func (m *Model) filter(t *vm.Thread, tb *table, method string, f vm.Value, params *[]any) (string, error) {
	if f.IsNil() {
		return "", nil
	}
	if f.Kind() != vm.KObject {
		return "", vm.TypeErrorf("%s.%s: the filter is an object such as { status: \"pending\" }, got %s", m.name, method, vm.Repr(f))
	}
	o := f.AsObject()
	if o.Len() == 0 {
		return "", nil
	}
	var b strings.Builder
	given := 0 // the filter's values, as the program gave them
	for i, key := range o.Keys() {
		ci, err := m.column(key)
		if err != nil {
			return "", err
		}
		c := m.cols[ci]
		v := o.Values()[i]
		if i == 0 {
			b.WriteString(" WHERE ")
		} else {
			b.WriteString(" AND ")
		}
		if v.Kind() == vm.KRange && c.kind != kindJSON && v.AsRange().Len() <= maxFilterParams {
			// range(1, 4), which equals [1, 2, 3], filters as that list
			// (it was a TypeError: "field id is Int, got 1..4")
			r := v.AsRange()
			elems := make([]vm.Value, 0, r.Len())
			for i := int64(0); i < r.Len(); i++ {
				n, _ := r.Index(i)
				elems = append(elems, vm.Int(n))
			}
			v = vm.NewArray(elems)
		}
		if v.Kind() == vm.KArray && c.kind != kindJSON {
			var in []string
			first := len(*params)
			null := false // a nil in the list matches NULL, which IN never does
			given += len(v.AsArray().Elems)
			for _, e := range v.AsArray().Elems {
				p, nul, err := m.arg(t, tb, method, ci, m.filterValue(ci, e))
				if err != nil {
					return "", err
				}
				switch {
				case nul:
					// matches no row
				case p == nil:
					null = true
				default:
					for _, p := range m.forms(tb, ci, p) {
						*params = append(*params, p)
						in = append(in, "$"+strconv.Itoa(len(*params)))
					}
				}
			}
			col := tb.db.d.col(c.name)
			if list, ok := tb.db.d.jsonList((*params)[first:]); ok {
				// One parameter: SQLite binds many in time that grows
				// with their square (10 000 took 2 s).
				*params = append((*params)[:first], list)
				in = []string{"SELECT value FROM json_each($" + strconv.Itoa(len(*params)) + ")"}
			}
			switch {
			case len(in) > 0 && null:
				b.WriteString("(" + col + " IN (" + strings.Join(in, ", ") + ") OR " + col + " IS NULL)")
			case len(in) > 0:
				b.WriteString(col + " IN (" + strings.Join(in, ", ") + ")")
			case null:
				b.WriteString(col + " IS NULL")
			default:
				b.WriteString("1 = 0") // in an empty list: no row
			}
			continue
		}
		// (after the value is fitted to the field: None is nil there)
		given++
		p, nul, err := m.arg(t, tb, method, ci, m.filterValue(ci, v))
		switch {
		case err != nil:
			return "", err
		case nul:
			b.WriteString("1 = 0")
		case p == nil:
			b.WriteString(tb.db.d.col(c.name) + " IS NULL")
		case tb.legacy[ci] || c.kind == kindTime && !tb.db.d.pg():
			var in []string
			for _, p := range m.forms(tb, ci, p) {
				*params = append(*params, p)
				in = append(in, "$"+strconv.Itoa(len(*params)))
			}
			cond := tb.db.d.col(c.name) + " IN (" + strings.Join(in, ", ") + ")"
			if s, ok := p.(string); ok && c.kind == kindTime && !tb.legacy[ci] && len(s) == len(isoLayout) {
				// A time another tool wrote finer than the millisecond
				// (…:00.123456Z) reads as its millisecond: a filter on
				// what it read finds it.
				*params = append(*params, s[:len(s)-1]+"[0-9]*Z")
				cond = "(" + cond + " OR " + tb.db.d.col(c.name) + " GLOB $" + strconv.Itoa(len(*params)) + ")"
			}
			b.WriteString(cond)
		case c.kind == kindTime:
			// PostgreSQL: the instants of the millisecond, as a time
			// finer than one (now(), another tool's) reads as its
			// millisecond
			if tm, ok := p.(time.Time); ok {
				*params = append(*params, tm, tm.Add(time.Millisecond))
				n := len(*params)
				b.WriteString("(" + tb.db.d.col(c.name) + " >= $" + strconv.Itoa(n-1) + " AND " + tb.db.d.col(c.name) + " < $" + strconv.Itoa(n) + ")")
				break
			}
			*params = append(*params, p)
			b.WriteString(tb.db.d.col(c.name) + " = $" + strconv.Itoa(len(*params)))
		case c.kind == kindJSON:
			*params = append(*params, p)
			b.WriteString(tb.db.d.jsonEqual(tb.db.d.col(c.name), "$"+strconv.Itoa(len(*params))))
		default:
			*params = append(*params, p)
			b.WriteString(tb.db.d.col(c.name) + " = $" + strconv.Itoa(len(*params)))
		}
	}
	// The values given, or the parameters sent if more (the forms of a
	// legacy table's on PostgreSQL, which takes 65535): a Date's
	// SQLite forms (one JSON list) are not the program's values.
	n := max(given, len(*params))
	if !tb.db.d.pg() {
		n = given
	}
	if n > maxFilterParams {
		return "", vm.Errorf("ValueError", "%s.%s: the filter has %d values, over the %d one query may send (PostgreSQL takes 65535 parameters): filter in parts, or by a range", m.name, method, n, maxFilterParams)
	}
	return b.String(), nil
}

// maxFilterParams bounds the values of a filter's lists, under
// PostgreSQL's limit on a statement's parameters, so that a list of ids
// from a client fails the same way on both engines, saying why.
const maxFilterParams = 60000

// param converts a value of column ci for create or update: checked
// against the field's type, converted for the engine. A String holding
// a NUL character is refused on both engines, as PostgreSQL text
// cannot store one.
func (m *Model) param(t *vm.Thread, tb *table, method string, ci int, v vm.Value) (any, error) {
	p, nul, err := m.arg(t, tb, method, ci, v)
	if nul {
		return nil, vm.Errorf("ValueError", "%s.%s: field %s holds a NUL character, which PostgreSQL text cannot store", m.name, method, m.cols[ci].name)
	}
	return p, err
}

// arg converts a value of column ci as param does; nul reports a String
// holding a NUL character (p is then nil), which a filter takes as
// matching no row: it may come from a client, and a lookup then
// answers "not found" on both engines.
func (m *Model) arg(t *vm.Thread, tb *table, method string, ci int, v vm.Value) (p any, nul bool, err error) {
	c, k := m.cols[ci], tb.kinds[ci]
	x, bad := c.ftype.fit(v, k == kindJSON)
	if bad != nil {
		return nil, false, bad.error(m.name, method, c.name)
	}
	if k == kindString && x.Kind() == vm.KString && strings.IndexByte(x.AsString(), 0) >= 0 {
		return nil, true, nil
	}
	p, ok, err := tb.db.d.fieldParam(t, k, x)
	if err != nil {
		// The value fits the field's type but has no JSON text: say why
		// (nested too deeply), not that it is not of its type.
		msg := err.Error()
		if ve, ok := err.(*vm.Error); ok {
			msg = strings.TrimPrefix(ve.Msg, "JSON.stringify: ")
		}
		return nil, false, vm.Errorf("ValueError", "%s.%s: field %s cannot be written as JSON: %s", m.name, method, c.name, msg)
	}
	if !ok {
		return nil, false, vm.TypeErrorf("%s.%s: field %s is %s, got %s", m.name, method, c.name, c.typ, vm.Repr(v))
	}
	return p, false, nil
}

// filterValue is a filter's value v for column ci as arg takes it: for an
// Int field, a String of digits (a path parameter, Member.first({
// room_id: req.params.id })) is its number, as find takes an id (a
// client's text was a 500); for a Float field, a decimal's text.
func (m *Model) filterValue(ci int, v vm.Value) vm.Value {
	if m.cols[ci].typ == "Int" && v.Kind() == vm.KString {
		if n, err := strconv.ParseInt(v.AsString(), 10, 64); err == nil {
			return vm.Int(n)
		}
	}
	if m.cols[ci].typ == "Float" && v.Kind() == vm.KString && stdlib.DecimalNumber(v.AsString()) {
		// (a price from the query, "1.5"; not "NaN", "1e400" or "0x1p3")
		if f, err := strconv.ParseFloat(v.AsString(), 64); err == nil && !math.IsInf(f, 0) {
			return vm.Float(f)
		}
	}
	return v
}

// forms are the texts a filter's parameter p for column ci matches: p,
// and in a column an older tova made for a String or a Date (see
// holdsJSON), the plain text as well as the JSON string it wrote.
//
// A Date column on SQLite may also hold the text SQLite's own functions
// write (datetime('now'), CURRENT_TIMESTAMP, the reference's timestamps:
// `2026-12-04 23:00:00`), which reads as the same ISO text: a filter
// matches it too.
func (m *Model) forms(tb *table, ci int, p any) []any {
	k := m.cols[ci].kind
	forms := []any{p}
	if tb.legacy[ci] && (k == kindString || k == kindTime) {
		if s, ok := p.(string); ok {
			if v, err := stdlib.ParseJSONString(s); err == nil && v.Kind() == vm.KString {
				forms = append(forms, tb.db.d.textParam(v.AsString()))
			}
		}
	}
	if s, ok := p.(string); ok && k == kindTime && !tb.db.d.pg() && len(s) == len(isoLayout) && s[10] == 'T' {
		// 2006-01-02T15:04:05.000Z: 2006-01-02 15:04:05.000, and
		// without the milliseconds when they are none
		spaced := s[:10] + " " + s[11:len(s)-1]
		forms = append(forms, spaced)
		if strings.HasSuffix(spaced, ".000") {
			forms = append(forms, strings.TrimSuffix(spaced, ".000"))
		}
	}
	return forms
}

// splitOptions parts a lone argument of where or first into the filter
// and the options it holds, as named arguments give them: order, limit
// and offset, none of them a field of the model, are options
// (M.where(order: "-id", limit: 5), M.where(done: false, order:
// "title")); the other keys are the filter, nil when there are none. ok
// is false when the argument holds no options.
func (m *Model) splitOptions(v vm.Value) (filter, opts vm.Value, ok bool) {
	if v.Kind() != vm.KObject || v.AsObject().Type != nil {
		return v, vm.Nil, false
	}
	isOpt := func(k string) bool {
		return (k == "order" || k == "limit" || k == "offset") && !slices.ContainsFunc(m.cols, func(c column) bool { return c.name == k })
	}
	o := v.AsObject()
	if !slices.ContainsFunc(o.Keys(), isOpt) {
		return v, vm.Nil, false
	}
	f, op := vm.NewObject(), vm.NewObject()
	for _, k := range o.Keys() {
		x, _ := o.Get(k)
		if isOpt(k) {
			op.Set(k, x)
		} else {
			f.Set(k, x)
		}
	}
	if f.Len() == 0 {
		return vm.Nil, vm.ObjectValue(op), true
	}
	return vm.ObjectValue(f), vm.ObjectValue(op), true
}

// listOptions are the options of all/where/first/paginate.
type listOptions struct {
	order  string // rendered ORDER BY clause
	limit  int64  // -1: none
	offset int64
	where  vm.Value // paginate's filter
}

// options reads an options object: order ("-created_at", "title,-id" or
// a list of such names), limit and offset.
func (m *Model) options(tb *table, method string, v vm.Value, allowed ...string) (listOptions, error) {
	o := listOptions{limit: -1}
	var order vm.Value
	if !v.IsNil() {
		if v.Kind() != vm.KObject {
			return o, vm.TypeErrorf("%s.%s: options are an object such as { order: \"-id\", limit: 10 }, got %s", m.name, method, vm.Repr(v))
		}
		obj := v.AsObject()
		for i, k := range obj.Keys() {
			x := obj.Values()[i]
			if !contains(allowed, k) {
				return o, vm.TypeErrorf("%s.%s: unknown option %s (options: %s)", m.name, method, k, strings.Join(allowed, ", "))
			}
			switch k {
			case "order":
				order = x
			case "limit", "offset":
				if x.IsNil() {
					continue
				}
				if x.Kind() != vm.KInt || x.AsInt() < 0 {
					got := vm.Repr(x)
					if x.Kind() != vm.KInt {
						got = vm.TypeName(x) + " " + got // (2.0 read "got 2")
					}
					return o, vm.TypeErrorf("%s.%s: %s must be an Int >= 0, got %s", m.name, method, k, got)
				}
				if k == "limit" {
					o.limit = x.AsInt()
				} else {
					o.offset = x.AsInt()
				}
			case "where":
				o.where = x
			}
		}
	}
	clause, err := m.orderBy(tb, method, order)
	o.order = clause
	return o, err
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// orderBy renders the ORDER BY clause. Rows always end ordered by id, so
// that results are the same on both engines whatever the ties.
func (m *Model) orderBy(tb *table, method string, v vm.Value) (string, error) {
	var terms []string
	switch v.Kind() {
	case vm.KNil:
	case vm.KString:
		terms = strings.Split(v.AsString(), ",")
	case vm.KArray:
		for _, e := range v.AsArray().Elems {
			if e.Kind() != vm.KString {
				return "", vm.TypeErrorf("%s.%s: order lists field names, got %s", m.name, method, vm.Repr(e))
			}
			terms = append(terms, e.AsString())
		}
	default:
		return "", vm.TypeErrorf("%s.%s: order is a field name such as \"-created_at\", got %s", m.name, method, vm.Repr(v))
	}
	var b strings.Builder
	b.WriteString(" ORDER BY ")
	desc, hasID := false, false
	for _, term := range terms {
		term = strings.TrimSpace(term)
		raw := term
		desc = false
		switch {
		case strings.HasPrefix(term, "-"):
			desc, term = true, strings.TrimSpace(term[1:])
		case strings.HasPrefix(term, "+"):
			term = strings.TrimSpace(term[1:])
		}
		if f := strings.Fields(term); len(f) == 2 && (strings.EqualFold(f[1], "desc") || strings.EqualFold(f[1], "asc")) {
			term, desc = f[0], strings.EqualFold(f[1], "desc")
		}
		if term == "" && raw != "" {
			// "-" alone sorted by id, newest first, without a word
			return "", vm.Errorf(KindColumn, "%s.%s: order %q names no field (write \"-created_at\", a field name after the sign)", m.name, method, raw)
		}
		if term == "" {
			continue
		}
		ci, err := m.column(term)
		if err != nil {
			return "", err
		}
		if b.Len() > len(" ORDER BY ") {
			b.WriteString(", ")
		}
		ft := m.cols[ci].ftype
		if ft.kind == tOption && ft.elem != nil {
			ft = ft.elem
		}
		b.WriteString(tb.db.d.orderTerm(term, tb.kinds[ci], desc, ft.kind == tDuration || ft.kind == tSize))
		hasID = hasID || term == "id"
	}
	if b.Len() == len(" ORDER BY ") && v.Kind() == vm.KString && strings.TrimSpace(v.AsString()) != "" {
		// (order: " , " sorted by id without a word, as "-" did; "" is
		// no order, as order: req.query.sort ?? "" means)
		return "", vm.Errorf(KindColumn, "%s.%s: order %s names no field (write \"-created_at\", or leave order out for the rows by id)", m.name, method, vm.Repr(v))
	}
	if !hasID {
		if b.Len() > len(" ORDER BY ") {
			b.WriteString(", ")
		}
		if desc {
			b.WriteString(`"id" DESC`)
		} else {
			b.WriteString(`"id"`)
		}
	}
	return b.String(), nil
}

func (m *Model) list(t *vm.Thread, tb *table, method string, filter, opts vm.Value, first bool) (vm.Value, error) {
	o, err := m.options(tb, method, opts, "order", "limit", "offset")
	if err != nil {
		return vm.Nil, err
	}
	var params []any
	where, err := m.filter(t, tb, method, filter, &params)
	if err != nil {
		return vm.Nil, err
	}
	if first {
		o.limit = 1
	}
	rows, err := m.rows(t, tb, false, tb.selectFrom+where+o.order+tb.db.d.limitClause(o.limit, o.offset), params...)
	if err != nil {
		return vm.Nil, err
	}
	if first {
		if len(rows) == 0 {
			return vm.Nil, nil
		}
		return rows[0], nil
	}
	if rows == nil {
		rows = []vm.Value{}
	}
	return vm.NewArray(rows), nil
}

func (m *Model) count(t *vm.Thread, tb *table, method string, filter vm.Value) (vm.Value, error) {
	var params []any
	where, err := m.filter(t, tb, method, filter, &params)
	if err != nil {
		return vm.Nil, err
	}
	var n int64
	err = m.run(t, tb, false, func(ctx context.Context, q querier) error {
		rows, err := q.QueryContext(ctx, "SELECT COUNT(*) FROM "+m.tableSQL+where, params...)
		if err != nil {
			return err
		}
		defer rows.Close()
		if rows.Next() {
			if err := rows.Scan(&n); err != nil {
				return err
			}
		}
		return rows.Err()
	})
	return vm.Int(n), err
}

var pageShape = vm.ShapeOf([]string{"data", "page", "per_page", "total", "total_pages"})

const (
	defaultPerPage = 20
	maxPerPage     = 100
)

// paginate(page = 1, per_page = 20, { order, where }): one page of rows
// and the totals. per_page is clamped to 1..100, page to >= 1.
func (m *Model) paginate(t *vm.Thread, tb *table, args []vm.Value) (vm.Value, error) {
	page, perPage := int64(1), int64(defaultPerPage)
	var opts vm.Value
	pos := args
	if n := len(args); n > 0 && args[n-1].Kind() == vm.KObject {
		opts, pos = args[n-1], args[:n-1]
	}
	if len(pos) > 2 {
		return vm.Nil, m.argErr("paginate", "takes page, per_page and an optional options object")
	}
	readInt := func(name string, v vm.Value, dst *int64) error {
		if v.IsNil() {
			return nil
		}
		if v.Kind() == vm.KString {
			// a query parameter's text, as req.query gives it (the
			// reference's docs pass req.query.page as it is)
			if n, err := strconv.ParseInt(v.AsString(), 10, 64); err == nil {
				*dst = n
				return nil
			}
		}
		if v.Kind() != vm.KInt {
			got := vm.Repr(v)
			if v.Kind() != vm.KInt && v.Kind() != vm.KString {
				got = vm.TypeName(v) + " " + got // (1.0 read "got 1")
			}
			return vm.TypeErrorf("%s.paginate: %s must be an Int (or its decimal text), got %s", m.name, name, got)
		}
		*dst = v.AsInt()
		return nil
	}
	if err := readInt("page", arg(pos, 0), &page); err != nil {
		return vm.Nil, err
	}
	if err := readInt("per_page", arg(pos, 1), &perPage); err != nil {
		return vm.Nil, err
	}
	if opts.Kind() == vm.KObject {
		// page and per_page may come by name too: paginate(page: 2, per_page: 10)
		o := opts.AsObject().Copy()
		for _, k := range []string{"page", "per_page"} {
			if v, ok := o.Get(k); ok {
				dst := &page
				if k == "per_page" {
					dst = &perPage
				}
				if err := readInt(k, v, dst); err != nil {
					return vm.Nil, err
				}
				o.Delete(k)
			}
		}
		opts = vm.ObjectValue(o)
	}
	page = max(page, 1)
	perPage = min(max(perPage, 1), maxPerPage)
	o, err := m.options(tb, "paginate", opts, "order", "where")
	if err != nil {
		return vm.Nil, err
	}
	total, err := m.count(t, tb, "paginate", o.where)
	if err != nil {
		return vm.Nil, err
	}
	var params []any
	where, err := m.filter(t, tb, "paginate", o.where, &params)
	if err != nil {
		return vm.Nil, err
	}
	offset := (page - 1) * perPage
	if page > math.MaxInt64/perPage {
		offset = math.MaxInt64
	}
	rows, err := m.rows(t, tb, false, tb.selectFrom+where+o.order+tb.db.d.limitClause(perPage, offset), params...)
	if err != nil {
		return vm.Nil, err
	}
	if rows == nil {
		rows = []vm.Value{}
	}
	n := total.AsInt()
	pages := (n + perPage - 1) / perPage
	return vm.ObjectValue(vm.NewObjectShaped(pageShape, []vm.Value{vm.NewArray(rows), vm.Int(page), vm.Int(perPage), total, vm.Int(pages)})), nil
}

// values reads the field values of create/update: every key must be a
// field (id is ignored: ids are the database's; so are created_at and
// updated_at of a model with timestamps: create and update set them, so
// that a client's JSON body, or a copied row, cannot), values must fit
// their field's type.
func (m *Model) values(t *vm.Thread, tb *table, method string, data vm.Value) ([]int, []any, error) {
	if data.Kind() != vm.KObject {
		return nil, nil, vm.TypeErrorf("%s.%s: field values are an object, got %s", m.name, method, vm.Repr(data))
	}
	o := data.AsObject()
	cols := make([]int, 0, o.Len()+2)
	params := make([]any, 0, o.Len()+2)
	for i, key := range o.Keys() {
		if key == "id" || m.timestamps && (key == "created_at" || key == "updated_at") {
			continue
		}
		ci, err := m.column(key)
		if err != nil {
			return nil, nil, err
		}
		p, err := m.param(t, tb, method, ci, o.Values()[i])
		if err != nil {
			return nil, nil, err
		}
		cols = append(cols, ci)
		params = append(params, p)
	}
	return cols, params, nil
}

func has(cols []int, ci int) bool {
	for _, c := range cols {
		if c == ci {
			return true
		}
	}
	return false
}

func (m *Model) create(t *vm.Thread, tb *table, data vm.Value) (vm.Value, error) {
	cols, params, err := m.values(t, tb, "create", data)
	if err != nil {
		return vm.Nil, err
	}
	for ci, c := range m.cols {
		if c.hasDef && !has(cols, ci) {
			def := c.def
			if c.defFn {
				if def, err = t.Call(c.def); err != nil {
					return vm.Nil, err
				}
			}
			p, err := m.param(t, tb, "create", ci, def)
			if err != nil {
				return vm.Nil, err
			}
			cols, params = append(cols, ci), append(params, p)
		}
	}
	if m.timestamps {
		now := tb.db.d.timeParam(t.In.Cfg.Now())
		for _, n := range []string{"created_at", "updated_at"} {
			if ci := m.index[n]; !has(cols, ci) {
				cols, params = append(cols, ci), append(params, now)
			}
		}
	}
	var b strings.Builder
	b.WriteString("INSERT INTO ")
	b.WriteString(m.tableSQL)
	if len(cols) == 0 {
		b.WriteString(" DEFAULT VALUES")
	} else {
		b.WriteString(" (")
		for i, ci := range cols {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(quoteIdent(m.cols[ci].name))
		}
		b.WriteString(") VALUES (")
		for i := range cols {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("$" + strconv.Itoa(i+1))
		}
		b.WriteString(")")
	}
	b.WriteString(" RETURNING ")
	b.WriteString(tb.selectList)
	return m.one(t, tb, true, b.String(), params...)
}

func (m *Model) update(t *vm.Thread, tb *table, idV, data vm.Value) (vm.Value, error) {
	id, ok, err := m.id("update", idV)
	if err != nil || !ok {
		return vm.Nil, err
	}
	cols, params, err := m.values(t, tb, "update", data)
	if err != nil {
		return vm.Nil, err
	}
	if m.timestamps {
		now := tb.db.d.timeParam(t.In.Cfg.Now())
		ci := m.index["updated_at"]
		found := false
		for i, c := range cols {
			if c == ci {
				params[i], found = now, true
			}
		}
		if !found {
			cols, params = append(cols, ci), append(params, now)
		}
	}
	if len(cols) == 0 {
		return m.one(t, tb, false, tb.selectFrom+` WHERE "id" = $1`, id)
	}
	var b strings.Builder
	b.WriteString("UPDATE ")
	b.WriteString(m.tableSQL)
	b.WriteString(" SET ")
	for i, ci := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quoteIdent(m.cols[ci].name))
		b.WriteString(" = $" + strconv.Itoa(i+1))
	}
	params = append(params, id)
	b.WriteString(` WHERE "id" = $` + strconv.Itoa(len(params)))
	b.WriteString(" RETURNING ")
	b.WriteString(tb.selectList)
	return m.one(t, tb, true, b.String(), params...)
}

// MissingAttr is the error of a method the model has not, called with
// named arguments too (User.new(name: "a") was told to pass them in
// order).
func (m *Model) MissingAttr(name string) error {
	return vm.TypeErrorf("model %s has no method %s (methods: %s)", m.name, name, strings.Join(methodNames, ", "))
}

// MissingField is the error of a field the model has not: SQLAlchemy's
// User.query, Django's User.objects (they read nil, and failed a step
// later with "cannot call method all on nil").
func (m *Model) MissingField(name string) error {
	return vm.TypeErrorf("model %s has no field %s (its fields: name, table, fields; methods: %s)", m.name, name, strings.Join(methodNames, ", "))
}

// NotCallable is the error of calling the model itself (User(name: "a")).
func (m *Model) NotCallable() string {
	return "model " + m.name + " is no function: a row is made with " + m.name + ".create({ ... }), found with " + m.name + ".find(id) or " + m.name + ".where({ ... })"
}
