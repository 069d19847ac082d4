package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"tova/vm"
)

// Database is the `db` builtin: raw SQL on the database of the calling
// instance (each server has its own). It holds no state itself.
type Database struct{}

var rawMethods = map[string]vm.Value{}

func init() {
	for _, name := range []string{"query", "get", "run", "exec", "transaction"} {
		name := name
		rawMethods[name] = vm.BuiltinValue(&vm.Builtin{Name: "db." + name, Fn: func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
			v, _, err := (Database{}).CallMethod(t, name, args)
			return v, err
		}})
	}
}

func (Database) TypeName() string { return "Database" }

func (Database) String() string { return "<db>" }

func (Database) SetAttr(t *vm.Thread, name string, v vm.Value) error {
	return vm.TypeErrorf("cannot assign db.%s", name)
}

func (Database) GetAttr(t *vm.Thread, name string) (vm.Value, bool, error) {
	if name == "adapter" {
		db, err := stateOf(t.In).open(t)
		if err != nil {
			return vm.Nil, true, err
		}
		return vm.Str(db.cfg.Adapter), true, nil
	}
	if b, ok := rawMethods[name]; ok {
		return b, true, nil
	}
	return vm.Nil, false, nil
}

func (Database) CallMethod(t *vm.Thread, name string, args []vm.Value) (vm.Value, bool, error) {
	if _, ok := rawMethods[name]; !ok {
		switch name {
		case "close":
			// (the reference's docs' on_stop fn() { db.close() }: the
			// runtime closes the database itself, after on_stop)
			return vm.Nil, true, nil
		case "migrate":
			return vm.Nil, true, vm.TypeErrorf("db has no method migrate: a model's table is made, and given its new fields, by the program itself; run other changes with db.exec(\"ALTER TABLE ...\") at the top level, above the model's declaration (where its table is compared with it)")
		}
		return vm.Nil, true, vm.TypeErrorf("db has no method %s (methods: query, get, run, exec, transaction)", name)
	}
	db, err := stateOf(t.In).open(t)
	if err != nil {
		return vm.Nil, true, err
	}
	if name == "transaction" {
		if len(args) != 1 || !callable(args[0]) {
			return vm.Nil, true, vm.TypeErrorf("db.transaction takes a function: db.transaction(fn() { ... })")
		}
		var handle []vm.Value
		if f := args[0]; f.Kind() == vm.KFunc && len(f.AsClosure().ParamNames()) > 0 {
			// db.transaction(fn(tx) { tx.run(...) }): the handle is db,
			// whose calls run in the transaction (it was nil)
			handle = []vm.Value{vm.HostValue(Database{})}
		}
		v, err := db.transaction(t, func() (vm.Value, error) { return t.Call(args[0], handle...) })
		return v, true, err
	}
	if len(args) == 0 || args[0].Kind() != vm.KString {
		return vm.Nil, true, vm.TypeErrorf("db.%s takes an SQL string first", name)
	}
	query := args[0].AsString()
	if err := checkRaw(name, query); err != nil {
		return vm.Nil, true, err
	}
	if name != "exec" && firstKeyword(query) == "" {
		// (SQLite's answer to an empty statement is "not an error",
		// PostgreSQL's no rows: an SQL text built empty by mistake)
		return vm.Nil, true, vm.Errorf("ValueError", "db.%s: the SQL text holds no statement", name)
	}
	if name != "exec" {
		if sts := statements(query); len(sts) == 1 {
			// One statement, maybe with a ';', a line break or a
			// comment after it, which SQLite took for an empty second
			// statement ("not an error")
			query = sts[0]
		}
	}
	if name == "exec" {
		if len(args) > 1 {
			return vm.Nil, true, vm.TypeErrorf("db.exec takes no parameters; use db.run(sql, ...params)")
		}
		run := func() (vm.Value, error) {
			q, err := db.use(t, true)
			if err != nil {
				return vm.Nil, err
			}
			t.Blocking(func() { _, err = q.ExecContext(t.Context(), query) })
			if err == nil {
				db.noteTemps(query)
			}
			if err != nil && (strings.Contains(err.Error(), "missing named argument \"") || strings.Contains(err.Error(), "there is no parameter $")) {
				// (the drivers' words for a $1 exec has no value for)
				return vm.Nil, vm.TypeErrorf("db.exec runs SQL without parameters, and this SQL has a placeholder ($1, ...): use db.run(sql, ...params) or db.query(sql, ...params)")
			}
			return vm.Nil, dbError(err, &db.cfg)
		}
		if len(statements(query)) > 1 && !db.inTx(t) {
			// Several statements: all or none (SQLite kept those before
			// a failing one).
			_, err := db.transaction(t, run)
			return vm.Nil, true, err
		}
		_, err := run()
		return vm.Nil, true, err
	}
	if err := checkPlaceholders(name, query, len(args)-1, db.cfg.Adapter == SQLite); err != nil {
		return vm.Nil, true, err
	}
	params := make([]any, len(args)-1)
	ints := false
	for i, a := range args[1:] {
		if params[i], err = db.d.rawParam(t, name, i+1, a); err != nil {
			return vm.Nil, true, err
		}
		ints = ints || a.Kind() == vm.KInt
	}
	if ints && !db.d.pg() {
		if err := intComparedWithDate(stateOf(t.In), name, query, args[1:]); err != nil {
			return vm.Nil, true, err
		}
	}
	var v vm.Value
	switch name {
	case "query", "get":
		writes := !isReadOnly(query)
		writer := writes || db.readsWriterState(query)
		if herr := db.heldByCaller(t, writer, writes); herr != nil {
			return vm.Nil, true, herr
		}
		q := db.on(t, writer)
		t.Blocking(func() {
			var rows []vm.Value
			if isReadOnly(query) {
				rows, err = readRows(t.Context(), q, query, params, name == "get")
			} else {
				rows, err = rawRows(t.Context(), q, query, params, name == "get")
			}
			switch {
			case name == "query" && rows == nil:
				v = vm.NewArray([]vm.Value{})
			case name == "query":
				v = vm.NewArray(rows)
			case len(rows) > 0:
				v = rows[0]
			}
		})
	case "run":
		if herr := db.heldByCaller(t, true, true); herr != nil {
			return vm.Nil, true, herr
		}
		t.Blocking(func() { v, err = db.run(t, query, params) })
		if err == nil {
			db.noteTemps(query)
		}
	}
	return v, true, dbError(err, &db.cfg)
}

func callable(v vm.Value) bool {
	k := v.Kind()
	return k == vm.KFunc || k == vm.KBuiltin
}

var runShape = vm.ShapeOf([]string{"changes", "last_id"})

// run executes a statement and reports { changes, last_id }. last_id is
// the id of the row an INSERT added (SQLite's last rowid, PostgreSQL's
// lastval() on the same connection), or of the last row a RETURNING
// clause returned (its first column); nil otherwise.
func (db *DB) run(t *vm.Thread, query string, params []any) (vm.Value, error) {
	ctx := t.Context()
	upper := strings.ToUpper(query)
	if strings.Contains(upper, "RETURNING") {
		rows, err := rawRows(ctx, db.on(t, true), query, params, false)
		if err != nil {
			return vm.Nil, err
		}
		last := vm.Nil
		if n := len(rows); n > 0 {
			if o := rows[n-1].AsObject(); o.Len() > 0 {
				last = o.Values()[0]
			}
		}
		return vm.ObjectValue(vm.NewObjectShaped(runShape, []vm.Value{vm.Int(int64(len(rows))), last})), nil
	}
	insert := insertsRows(query)
	q := db.on(t, true)
	if insert && db.d.pg() && !db.inTx(t) {
		// lastval() must run on the connection that inserted.
		c, err := db.write.Conn(ctx)
		if err != nil {
			return vm.Nil, err
		}
		defer c.Close()
		q = c
	}
	res, err := q.ExecContext(ctx, query, params...)
	if err != nil {
		return vm.Nil, err
	}
	changes, err := res.RowsAffected()
	if err != nil {
		return vm.Nil, err
	}
	if isReadOnly(query) || !changesRows(query) {
		// A statement that only reads, or changes no rows (CREATE,
		// DROP, PRAGMA...), changes nothing: SQLite would report the
		// count of the connection's previous write.
		changes = 0
	}
	last := vm.Nil
	if insert && changes > 0 && !upsert(query) {
		if db.d.pg() {
			if id, ok := pgLastval(ctx, q, db.inTx(t)); ok {
				last = vm.Int(id)
			}
		} else if id, err := res.LastInsertId(); err == nil {
			last = vm.Int(id)
		}
	}
	return vm.ObjectValue(vm.NewObjectShaped(runShape, []vm.Value{vm.Int(changes), last})), nil
}

// changesRows reports whether query is a statement whose count of
// changed rows the engine reports (SQLite's stays the previous write's
// for the others).
func changesRows(query string) bool {
	switch firstKeyword(query) {
	case "INSERT", "UPDATE", "DELETE", "REPLACE", "WITH", "MERGE", "COPY":
		return true
	}
	return false
}

// pgLastval is PostgreSQL's lastval() on q's session: false when no
// sequence has given a value there yet. Inside a transaction it is read
// under a savepoint: its error would abort the transaction.
func pgLastval(ctx context.Context, q querier, inTx bool) (int64, bool) {
	rq, ok := q.(interface {
		QueryRowContext(context.Context, string, ...any) *sql.Row
	})
	if !ok {
		return 0, false
	}
	if inTx {
		if _, err := q.ExecContext(ctx, "SAVEPOINT tova_lastval"); err != nil {
			return 0, false
		}
	}
	var id int64
	err := rq.QueryRowContext(ctx, "SELECT lastval()").Scan(&id)
	if inTx {
		if err != nil {
			q.ExecContext(ctx, "ROLLBACK TO SAVEPOINT tova_lastval")
		}
		q.ExecContext(ctx, "RELEASE SAVEPOINT tova_lastval")
	}
	return id, err == nil
}

// upsert reports whether an INSERT may update a row instead (ON
// CONFLICT ... DO UPDATE): whether it added one, neither engine says
// (SQLite's last rowid is then an earlier insert's, PostgreSQL's
// lastval() the id the conflicting row would have taken), so its
// last_id is nil; RETURNING id gives the row's.
func upsert(query string) bool {
	words, _ := sqlWords(query)
	for i := 0; i+3 < len(words); i++ {
		if words[i] == "ON" && words[i+1] == "CONFLICT" {
			return slices.Contains(words[i+2:], "UPDATE")
		}
	}
	return false
}

// insertsRows reports whether a statement adds rows whose id last_id
// gives: an INSERT or REPLACE, after comments, or one a WITH leads to.
func insertsRows(query string) bool {
	switch firstKeyword(query) {
	case "INSERT", "REPLACE":
		return true
	case "WITH":
		words, _ := sqlWords(query)
		for i, w := range words {
			// (replace(...) is also a function: REPLACE INTO inserts)
			if w == "INSERT" || w == "REPLACE" && i+1 < len(words) && words[i+1] == "INTO" {
				return true
			}
		}
	}
	return false
}

// rawRows runs a query and returns its rows as objects keyed by column
// name, typed by what the engine says of each column.
func rawRows(ctx context.Context, q querier, query string, params []any, firstOnly bool) ([]vm.Value, error) {
	rows, err := q.QueryContext(ctx, query, params...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	names, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	types, err := rows.ColumnTypes()
	if err != nil {
		return nil, err
	}
	dbTypes := make([]string, len(types))
	for i, ct := range types {
		dbTypes[i] = strings.ToUpper(ct.DatabaseTypeName())
	}
	shape := vm.ShapeOf(names)
	unique := len(shape.Keys()) == len(names)
	raw, ptrs := scanTargets(len(names))
	var out []vm.Value
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		vals := make([]vm.Value, len(names))
		for i := range raw {
			vals[i] = anyValue(raw[i], dbTypes[i])
		}
		if unique {
			out = append(out, vm.ObjectValue(vm.NewObjectShaped(shape, vals)))
		} else {
			// Same-named columns (a join): the last one wins.
			o := vm.NewObject()
			for i, n := range names {
				o.Set(n, vals[i])
			}
			out = append(out, vm.ObjectValue(o))
		}
		if firstOnly {
			break
		}
	}
	return out, rows.Err()
}

// readRows is rawRows for a statement that only reads, run again while
// it fails because a table's columns changed since its connection
// prepared it (schemaChanged): after an ALTER TABLE, each connection of
// the pool fails so once (PostgreSQL: "cached plan must not change
// result type"; SQLite left the new columns out without an error), and
// then knows the new columns.
func readRows(ctx context.Context, q querier, query string, params []any, firstOnly bool) ([]vm.Value, error) {
	ctx = withColumnCheck(ctx)
	return againOnSchemaChange(q, func() ([]vm.Value, error) { return rawRows(ctx, q, query, params, firstOnly) })
}

// maxSchemaRetries bounds the runs again of a read whose connection
// prepared it with a table's old columns: one per connection of a pool
// (a connection that failed so knows the new columns), and more.
const maxSchemaRetries = 64

// againOnSchemaChange runs the read fn on q, again while it fails with
// schemaChanged, but not inside a PostgreSQL transaction, which the
// error aborted.
func againOnSchemaChange(q querier, fn func() ([]vm.Value, error)) ([]vm.Value, error) {
	for attempt := 0; ; attempt++ {
		rows, err := fn()
		if err == nil || attempt >= maxSchemaRetries || !schemaChanged(err) {
			return rows, err
		}
		if _, inTx := q.(*sql.Tx); inTx && !errors.Is(err, ErrColumnsChanged) {
			return rows, err
		}
	}
}

// schemaChanged reports whether err is a query's failure because a
// table's columns changed since its connection prepared it.
func schemaChanged(err error) bool {
	if errors.Is(err, ErrColumnsChanged) {
		return true
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "0A000" && strings.Contains(pe.Message, "cached plan must not change result type")
}

// scanTargets returns n values and pointers to them, for rows.Scan to
// fill any column type into.
func scanTargets(n int) (raw, ptrs []any) {
	raw = make([]any, n)
	ptrs = make([]any, n)
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	return raw, ptrs
}

// checkPlaceholders refuses parameters the SQL does not take, and (on
// SQLite, which would read them) placeholders other than $1, $2, ...:
// PostgreSQL refuses both, so a program that ran on SQLite would fail
// there. Quoted text and comments are not looked into; on PostgreSQL a
// ? is an operator (jsonb ? 'key'), unless the SQL has no $1 and is
// given parameters.
func checkPlaceholders(fname, sql string, n int, sqlite bool) error {
	most, question := 0, false
	used := map[int]bool{}
	for i := 0; i < len(sql); i++ {
		if end := skipText(sql, i); end > i {
			i = end
			continue
		}
		switch c := sql[i]; {
		case c == '$':
			j := i + 1
			for j < len(sql) && sql[j] >= '0' && sql[j] <= '9' {
				j++
			}
			if k, err := strconv.Atoi(sql[i+1 : j]); err == nil {
				if k == 0 {
					return vm.TypeErrorf("db.%s: $0 is no placeholder: they are numbered from $1", fname)
				}
				used[k] = true
				most = max(most, k)
				if rest := strings.TrimLeft(sql[j:], " \t\r\n"); sqlite && strings.HasPrefix(rest, "::") {
					// (SQLite reads $1::bigint as one name, and says
					// a named argument is missing)
					typ := strings.TrimLeft(rest[2:], " \t\r\n")
					return vm.TypeErrorf("db.%s: %s::%s is PostgreSQL's cast, which SQLite does not read: write CAST(%s AS …), which both read", fname, sql[i:j], typ[:castLen(typ)], sql[i:j])
				}
			}
			i = j - 1
		case c == '?' && sqlite:
			return vm.TypeErrorf("db.%s: the placeholders are $1, $2, ... on both engines, not ? (PostgreSQL would refuse it)", fname)
		case c == '?':
			question = true
		}
	}
	if question && most == 0 && n > 0 {
		// (on PostgreSQL ? is jsonb's operator, which takes no
		// parameter: given some, the ? were meant as placeholders)
		return vm.TypeErrorf("db.%s: the placeholders are $1, $2, ... on both engines, not ?", fname)
	}
	if n != most {
		return vm.TypeErrorf("db.%s: the SQL takes %s, given %d", fname, placeholderCount(most), n)
	}
	for k := 1; k < most; k++ {
		if !used[k] {
			// (SQLite takes it; PostgreSQL cannot tell the type of a
			// parameter the SQL does not use)
			return vm.TypeErrorf("db.%s: the SQL uses $%d but not $%d: number the placeholders from $1 with none left out (PostgreSQL refuses a gap)", fname, most, k)
		}
	}
	return nil
}

// castLen is the length of the type name at the start of s.
func castLen(s string) int {
	i := 0
	for i < len(s) && (s[i] == '_' || s[i] >= 'a' && s[i] <= 'z' || s[i] >= 'A' && s[i] <= 'Z' || s[i] >= '0' && s[i] <= '9') {
		i++
	}
	return i
}

func placeholderCount(n int) string {
	switch n {
	case 0:
		return "no parameters"
	case 1:
		return "1 parameter ($1)"
	}
	return fmt.Sprintf("%d parameters ($1 to $%d)", n, n)
}
