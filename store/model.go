package store

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"tova/frontend/diag"
	"tova/vm"
	"tova/vm/stdlib"
)

// Model is the host object a `model` declaration binds: the table
// schema it implies and the query API on it. One Model exists per
// declaration per VM instance.
type Model struct {
	name  string
	table string
	// cols are the columns in row order: "id", the declared fields,
	// then created_at and updated_at when timestamps are on.
	cols       []column
	index      map[string]int
	timestamps bool
	rowShape   *vm.Shape
	tableSQL   string // the quoted table name
	st         *instanceDB
	methods    map[string]vm.Value // bound methods, for named-argument calls
	// declared is where the model is declared, for an error its table
	// gives when a server's db block opens the database (Ready), which
	// runs no code of the model's.
	declared []vm.StackFrame

	mu    sync.Mutex
	ready atomic.Pointer[table] // the table known to match, in its database
}

type column struct {
	name   string
	kind   fieldKind
	typ    string     // the declared type, for messages
	ftype  *fieldType // the declared type, parsed
	def    vm.Value   // default for create
	hasDef bool
	defFn  bool // def is fn() expr: called by each create
	// legacy: older tovas stored the field as JSON text, its type being
	// written as an alias or T? (see kindBefore)
	legacy bool
}

// table is a model's table in one database, and how each column holds
// its field there: as the field's kind, or, in a column an older tova
// made for it, as the JSON text that tova wrote (see sync).
type table struct {
	db     *DB
	kinds  []fieldKind // by column: what its values are stored as
	legacy []bool      // by column: JSON text where the field's kind is not JSON
	// selectList is the column list of every SELECT and RETURNING;
	// selectFrom is SELECT <selectList> FROM <table>.
	selectList, selectFrom string
}

// selects sets tb's column lists. On SQLite a Date column is read as
// +"name": an expression, which has no declared type, so that the driver
// hands over the stored text as it is, for textValue to check (the
// driver tries up to ten layouts on a TIMESTAMP column's text, failing
// four times on the ISO text tova stores, before textValue formats the
// time it found back into that same text).
func (m *Model) selects(tb *table) {
	cols := make([]string, len(m.cols))
	for i, c := range m.cols {
		cols[i] = tb.db.d.col(c.name)
		if !tb.db.d.pg() && tb.kinds[i] == kindTime {
			cols[i] = "+" + cols[i]
		}
	}
	tb.selectList = strings.Join(cols, ", ")
	tb.selectFrom = "SELECT " + tb.selectList + " FROM " + m.tableSQL
}

func (m *Model) TypeName() string { return "Model" }

// Immutable says a model holds no state Tova code changes (its rows are
// in its database), so that a route reading one from a module slot may
// run without the GIL (vm.HostImmutable).
func (m *Model) Immutable() bool { return true }

// Runs returns the model's computed field defaults, which create calls
// (`num: Int = next_seq()`): a route that uses the model runs them, and
// runs without the GIL only if they touch no server state
// (vm.HostRuns).
func (m *Model) Runs() []vm.Value {
	var fns []vm.Value
	for _, c := range m.cols {
		if c.defFn {
			fns = append(fns, c.def)
		}
	}
	return fns
}

func (m *Model) String() string { return "<model " + m.name + ">" }

func (m *Model) SetAttr(t *vm.Thread, name string, v vm.Value) error {
	return vm.TypeErrorf("cannot assign %s.%s: models are read-only", m.name, name)
}

func (m *Model) GetAttr(t *vm.Thread, name string) (vm.Value, bool, error) {
	switch name {
	case "name":
		return vm.Str(m.name), true, nil
	case "table":
		return vm.Str(m.table), true, nil
	case "fields":
		out := make([]vm.Value, len(m.cols))
		for i, c := range m.cols {
			out[i] = vm.Str(c.name)
		}
		return vm.NewArray(out), true, nil
	}
	if b, ok := m.methods[name]; ok {
		return b, true, nil
	}
	return vm.Nil, false, nil
}

// maxIdentifier is the longest table or column name a model may have:
// PostgreSQL cuts longer names to 63 bytes (NAMEDATALEN-1), so that
// such a table would be made under a name its next start does not find,
// and two long names alike in their first 63 bytes would be one. The
// program is to run on both engines: SQLite refuses them too.
const maxIdentifier = 63

// newModel builds a model from the spec the compiler emits for a model
// declaration: { name, fields: [{ name, type, default, has_default }],
// options: { table, timestamps, ... }, types, records }. The fields'
// types name the program's record and variant types, which types and
// records give (see typeResolver).
func newModel(prog *vm.Program, spec vm.Value) (*Model, error) {
	bad := func(format string, args ...any) (*Model, error) {
		return nil, vm.Errorf(KindSchema, format, args...)
	}
	if spec.Kind() != vm.KObject {
		return bad("__model: bad model spec")
	}
	so := spec.AsObject()
	nameV, _ := so.Get("name")
	if nameV.Kind() != vm.KString {
		return bad("__model: model without a name")
	}
	m := &Model{name: nameV.AsString(), index: map[string]int{}}
	m.table = strings.ToLower(m.name) + "s"
	if ov, ok := so.Get("options"); ok && ov.Kind() == vm.KObject {
		opts := ov.AsObject()
		for i, k := range opts.Keys() {
			v := opts.Values()[i]
			switch k {
			case "table":
				if v.Kind() != vm.KString || v.AsString() == "" {
					return bad("model %s: table must be a non-empty String, got %s", m.name, vm.Repr(v))
				}
				m.table = v.AsString()
			case "timestamps":
				if v.Kind() != vm.KBool {
					return bad("model %s: timestamps must be true or false, got %s", m.name, vm.Repr(v))
				}
				m.timestamps = v.AsBool()
			}
		}
	}
	types := newTypeResolver(prog)
	tv, _ := so.Get("types")
	rv, _ := so.Get("records")
	types.setScope(tv, rv)
	m.add(column{name: "id", kind: kindInt, typ: "Int", ftype: types.parse("Int")})
	if fv, ok := so.Get("fields"); ok && fv.Kind() == vm.KArray {
		folded := map[string]string{"id": "id"}
		for _, f := range fv.AsArray().Elems {
			if f.Kind() != vm.KObject {
				continue
			}
			fo := f.AsObject()
			n, _ := fo.Get("name")
			ty, _ := fo.Get("type")
			def, _ := fo.Get("default")
			hasDef, _ := fo.Get("has_default")
			if n.Kind() != vm.KString {
				continue
			}
			name := n.AsString()
			if name == "id" {
				continue // always the primary key
			}
			if _, dup := m.index[name]; dup {
				return bad("model %s: field %s is declared twice", m.name, name)
			}
			if len(name) > maxIdentifier {
				return bad("model %s: field %s is %d bytes long, and PostgreSQL keeps only the first %d of a column's name; shorten it", m.name, name, len(name), maxIdentifier)
			}
			if other, ok := folded[strings.ToLower(name)]; ok {
				// SQLite's column names ignore case: the table could not
				// be made there, and the program is to run on both.
				return bad("model %s: fields %s and %s differ only in case, and SQLite's column names ignore case; rename one", m.name, other, name)
			}
			folded[strings.ToLower(name)] = name
			typ := ""
			if ty.Kind() == vm.KString {
				typ = ty.AsString()
			}
			defFn, _ := fo.Get("default_fn")
			c := column{name: name, kind: kindOf(typ), typ: typ, ftype: types.parse(typ), def: def, hasDef: hasDef.Truthy(), defFn: defFn.Truthy() && def.IsCallable()}
			written := typ // (a spec from an older compiler: the type as it gives it)
			if w, _ := fo.Get("written"); w.Kind() == vm.KString {
				written = w.AsString()
			}
			c.legacy = c.kind != kindJSON && kindBefore(written) == kindJSON
			m.add(c)
		}
	}
	if m.timestamps {
		date := types.parse("Date")
		for _, n := range []string{"created_at", "updated_at"} {
			for _, c := range m.cols {
				if c.name != n && strings.EqualFold(c.name, n) {
					return bad("model %s: field %s and the timestamp %s differ only in case, and SQLite's column names ignore case; rename it", m.name, c.name, n)
				}
			}
			if i, ok := m.index[n]; ok {
				m.cols[i].kind, m.cols[i].typ, m.cols[i].ftype = kindTime, "Date", date
				continue
			}
			m.add(column{name: n, kind: kindTime, typ: "Date", ftype: date})
		}
	}
	names := make([]string, len(m.cols))
	for i, c := range m.cols {
		names[i] = c.name
	}
	m.rowShape = vm.ShapeOf(names)
	if len(m.table) > maxIdentifier {
		return bad("model %s: its table %s is %d bytes long, and PostgreSQL keeps only the first %d of a table's name; name a shorter one with table:", m.name, m.table, len(m.table), maxIdentifier)
	}
	m.tableSQL = quoteIdent(m.table)
	m.methods = map[string]vm.Value{}
	for _, name := range methodNames {
		name := name
		m.methods[name] = vm.BuiltinValue(&vm.Builtin{Name: m.name + "." + name, Fn: func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
			return m.call(t, name, args)
		}})
	}
	return m, nil
}

func (m *Model) add(c column) {
	m.index[c.name] = len(m.cols)
	m.cols = append(m.cols, c)
}

// column returns the column named name, or a ColumnError naming the
// model and its fields.
func (m *Model) column(name string) (int, error) {
	if i, ok := m.index[name]; ok {
		return i, nil
	}
	names := make([]string, len(m.cols))
	for i, c := range m.cols {
		names[i] = c.name
	}
	if near := diag.Closest(name, names); near != "" {
		return -1, vm.Errorf(KindColumn, "model %s has no field %q (did you mean %s? fields: %s)", m.name, name, near, strings.Join(names, ", "))
	}
	return -1, vm.Errorf(KindColumn, "model %s has no field %q (fields: %s)", m.name, name, strings.Join(names, ", "))
}

// ensure makes the table match the model: created when missing, missing
// fields added as columns, and a column whose type no longer fits its
// field reported (never converted or dropped). Inside a transaction the
// check runs on it and is not remembered, as the transaction may roll
// back.
func (m *Model) ensure(ctx context.Context, db *DB, q querier, inTx bool) (*table, error) {
	if tb := m.ready.Load(); tb != nil && tb.db == db {
		return tb, nil
	}
	if inTx {
		// The transaction is this thread's alone; taking m.mu here could
		// wait for a thread that waits for this transaction's connection.
		return m.sync(ctx, db, q)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if tb := m.ready.Load(); tb != nil && tb.db == db {
		return tb, nil
	}
	tb, err := m.sync(ctx, db, q)
	var ve *vm.Error
	for range len(m.cols) {
		if err == nil || errors.As(err, &ve) && ve.Kind == KindSchema || ctx.Err() != nil {
			break
		}
		// Another process may have created the table or added a column
		// at the same moment (servers of one program deployed apart
		// start together): look again; each turn, the other has added
		// one more.
		tb, err = m.sync(ctx, db, q)
	}
	if err == nil {
		m.ready.Store(tb)
	}
	return tb, err
}

func (m *Model) sync(ctx context.Context, db *DB, q querier) (*table, error) {
	existing, err := tableColumns(ctx, db, q, m.table)
	if err != nil {
		return nil, err
	}
	d := db.d
	tb := &table{db: db, kinds: make([]fieldKind, len(m.cols)), legacy: make([]bool, len(m.cols))}
	for i, c := range m.cols {
		tb.kinds[i] = c.kind
	}
	if len(existing) == 0 {
		defs := []string{d.idColumn()}
		for _, c := range m.cols[1:] {
			defs = append(defs, quoteIdent(c.name)+" "+d.columnType(c.kind))
		}
		_, err := q.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS "+m.tableSQL+" ("+strings.Join(defs, ", ")+")")
		m.selects(tb)
		return tb, err
	}
	// Every column is checked first: a declaration refused leaves the
	// table as it was (no column added).
	var problems []string
	var missing []column
	if typ, ok := existing["id"]; !ok {
		problems = append(problems, "it has no id column")
	} else if c := d.classOf(typ); c != classInt && c != classAny {
		// ids are Ints the database assigns (find, update and delete
		// take one)
		problems = append(problems, "its id column has type "+strings.ToUpper(typ)+", not an integer key")
	}
	for i, c := range m.cols {
		if i == 0 {
			continue
		}
		typ, ok := existing[columnKey(d, c.name)]
		if !ok {
			if other := foldedColumn(existing, c.name); other != "" {
				// PostgreSQL: a field renamed only in case (name to
				// Name) would get a new column, its rows reading nil,
				// where SQLite, whose names ignore case, keeps the one.
				problems = append(problems, "field "+c.name+" has no column, but the table has "+other+" (the names differ only in case): name the field "+other+" again, or rename the column (ALTER TABLE … RENAME COLUMN)")
				continue
			}
			missing = append(missing, c)
			continue
		}
		class := d.classOf(typ)
		legacy, err := m.holdsJSON(ctx, d, q, c, typ)
		switch {
		case err != nil:
			return nil, err
		case legacy:
			tb.kinds[i], tb.legacy[i] = kindJSON, true
		case !d.compatible(c.kind, class),
			c.kind == kindTime && strings.EqualFold(strings.TrimSpace(typ), d.columnType(kindString)),
			c.kind == kindJSON && stringColumn(typ):
			// (SQLite keeps a Date as text, and takes a TEXT column
			// another tool made for one; but a VARCHAR column is the
			// one a String field's, whose text was never a Date's, as
			// PostgreSQL's types tell.)
			problems = append(problems, "field "+c.name+" is declared "+c.typ+" but the column has type "+strings.ToUpper(typ))
		case c.kind == kindBool && class == classInt:
			// SQLite's 0/1: a column of other numbers is no Bool's (a
			// filter on true would miss the rows that read as true).
			held, err := m.otherThanBits(ctx, q, c)
			if err != nil {
				return nil, err
			}
			if held != "" {
				problems = append(problems, "field "+c.name+" is declared Bool but its INTEGER column holds "+held+", not only 0 and 1")
			}
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return nil, vm.Errorf(KindSchema, "model %s does not match table %s: %s; change the declaration or migrate the table (columns are never converted or dropped)",
			m.name, m.table, strings.Join(problems, "; "))
	}
	for _, c := range missing {
		// The rows already there take the field's default, as those
		// created from now on do (they read nil, and a filter on the
		// default missed them), and so do the rows an older version of
		// the program, running meanwhile (a rolling deploy), creates
		// without the field: the column's DEFAULT (they were NULL). A
		// computed default (defFn) is each create's own: they stay nil.
		p, literal := m.columnDefault(tb, d, c)
		add := "ALTER TABLE " + m.tableSQL + " ADD COLUMN " + quoteIdent(c.name) + " " + d.columnType(c.kind)
		if literal != "" {
			add += " DEFAULT " + literal
		}
		if _, err := q.ExecContext(ctx, add); err != nil {
			return nil, err
		}
		if p != nil && literal == "" {
			if _, err := q.ExecContext(ctx, "UPDATE "+m.tableSQL+" SET "+quoteIdent(c.name)+" = $1", p); err != nil {
				return nil, err
			}
		}
	}
	m.selects(tb)
	return tb, nil
}

// columnDefault is the literal default of column c as a parameter, and
// as SQL text for its DEFAULT ("" when it cannot be written so); p is nil
// for a column without one (none, a computed one, nil, or one that does
// not fit its field: each create says so).
func (m *Model) columnDefault(tb *table, d *dialect, c column) (p any, literal string) {
	if !c.hasDef || c.defFn || c.def.IsNil() {
		return nil, ""
	}
	p, nul, err := m.arg(nil, tb, "default", m.index[c.name], c.def)
	if err != nil || nul {
		return nil, ""
	}
	literal, _ = sqlLiteral(p, d.pg())
	return p, literal
}

// sqlLiteral is a converted parameter p written as an SQL literal, for
// a column's DEFAULT (DDL takes no parameters) on PostgreSQL (pg) or
// SQLite; ok is false for a value it does not write.
func sqlLiteral(p any, pg bool) (lit string, ok bool) {
	quote := func(s string) (string, bool) {
		if strings.IndexByte(s, 0) >= 0 {
			return "", false
		}
		return "'" + strings.ReplaceAll(s, "'", "''") + "'", true
	}
	switch v := p.(type) {
	case int64:
		return strconv.FormatInt(v, 10), true
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return "", false
		}
		return strconv.FormatFloat(v, 'g', -1, 64), true
	case bool:
		if pg {
			v := pgBool(v)
			return sqlLiteral(v, pg)
		}
		if v {
			return "1", true
		}
		return "0", true
	case string:
		return quote(v)
	case pgBool:
		if v {
			return "TRUE", true
		}
		return "FALSE", true
	case pgFloat:
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return "", false
		}
		return strconv.FormatFloat(float64(v), 'g', -1, 64), true
	case pgInt:
		return v.text(), true
	case pgTime:
		return quote(v.text())
	case time.Time:
		return quote(formatTime(v))
	}
	return "", false
}

// stringColumn reports whether a column of type typ is the one a String
// field gets (VARCHAR; PostgreSQL names it character varying): its text
// was never JSON, so a list, object or record field does not take it
// (it read every value as a String, which could not be written back).
func stringColumn(typ string) bool {
	t := strings.TrimSpace(typ)
	return strings.EqualFold(t, "VARCHAR") || strings.EqualFold(t, "character varying")
}

// holdsJSON reports whether the existing column of a field that older
// tovas stored as JSON text (c.legacy) holds that text: a TEXT column
// (what they made for it; this tova makes a String's VARCHAR) for a
// field TEXT cannot hold (an Int), or for a String or a Date whose first
// value (by id) is a JSON string (its rows written since by a tova that
// stored plain text are read as such too, see legacyValue).
func (m *Model) holdsJSON(ctx context.Context, d *dialect, q querier, c column, typ string) (bool, error) {
	if !c.legacy || !strings.EqualFold(strings.TrimSpace(typ), "TEXT") {
		return false, nil
	}
	if class := d.classOf(typ); !d.compatible(c.kind, class) {
		return true, nil
	}
	if c.kind != kindString && c.kind != kindTime {
		return false, nil
	}
	// The table's first value of the column tells: older tovas wrote
	// JSON strings from its first row on, while one since wrote plain
	// text (of which a value that happens to be a JSON string, "42" with
	// its quotes, is no sign that all of them are).
	rows, err := q.QueryContext(ctx, "SELECT "+quoteIdent(c.name)+" FROM "+m.tableSQL+" WHERE "+quoteIdent(c.name)+" IS NOT NULL ORDER BY id LIMIT 1")
	if err != nil {
		return false, err
	}
	defer rows.Close()
	var first sql.NullString
	if rows.Next() {
		if err := rows.Scan(&first); err != nil {
			return false, err
		}
	}
	quoted := false
	if strings.HasPrefix(first.String, `"`) {
		v, err := stdlib.ParseJSONString(first.String)
		quoted = err == nil && v.Kind() == vm.KString
	}
	return quoted, rows.Err()
}

// otherThanBits returns a value of field c's column other than 0, 1
// and NULL, or "" when it holds none. (SQLite's alone: a Bool field
// takes an INTEGER column only there, and quote is SQLite's.)
func (m *Model) otherThanBits(ctx context.Context, q querier, c column) (string, error) {
	col := quoteIdent(c.name)
	rows, err := q.QueryContext(ctx, "SELECT quote("+col+") FROM "+m.tableSQL+" WHERE "+col+" IS NOT NULL AND "+col+" NOT IN (0, 1) LIMIT 1")
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var held string
	if rows.Next() {
		if err := rows.Scan(&held); err != nil {
			return "", err
		}
	}
	return held, rows.Err()
}

// tableColumns returns the columns of a table (name → declared type),
// empty when the table does not exist.
func tableColumns(ctx context.Context, db *DB, q querier, table string) (map[string]string, error) {
	rows, err := q.QueryContext(ctx, db.d.columnsQuery(), table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			return nil, err
		}
		out[columnKey(db.d, name)] = typ
	}
	return out, rows.Err()
}

// foldedColumn is the column of existing whose name is name but for
// case, "" if none.
func foldedColumn(existing map[string]string, name string) string {
	for k := range existing {
		if strings.EqualFold(k, name) {
			return k
		}
	}
	return ""
}

// columnKey: SQLite column names are case-insensitive, PostgreSQL's
// quoted ones are not.
func columnKey(d *dialect, name string) string {
	if d.pg() {
		return name
	}
	return strings.ToLower(name)
}
