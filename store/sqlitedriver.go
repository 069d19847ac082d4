package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"reflect"
	"sync"
	"unsafe"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// sqliteDriver is the name the store opens SQLite files with: the
// "sqlite" driver, whose rows also stop at their context's end. The
// driver interrupts a statement whose context ends while it prepares
// it, but not while rows are read (where SQLite does the work of a
// SELECT): a report query cut by its request's deadline ran on to its
// end, holding a reader connection, and four of them made every read
// of the server wait.
const sqliteDriver = "tova-sqlite"

func init() {
	db, err := sql.Open("sqlite", "")
	if err != nil {
		panic(err)
	}
	sql.Register(sqliteDriver, interruptingDriver{db.Driver()})
	db.Close()
}

type interruptingDriver struct{ driver.Driver }

func (d interruptingDriver) Open(name string) (driver.Conn, error) {
	c, err := d.Driver.Open(name)
	if err != nil {
		return nil, err
	}
	return &interruptingConn{Conn: c, interrupt: interrupterOf(c)}, nil
}

// interruptingConn is a connection of the driver whose rows watch
// their context.
type interruptingConn struct {
	driver.Conn
	interrupt func() // nil: the driver is not the one known (rows are not interrupted)
}

func (c *interruptingConn) Ping(ctx context.Context) error {
	if p, ok := c.Conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c *interruptingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if b, ok := c.Conn.(driver.ConnBeginTx); ok {
		return b.BeginTx(ctx, opts)
	}
	return c.Conn.Begin() //nolint:staticcheck // (the driver's own, without options)
}

func (c *interruptingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	if p, ok := c.Conn.(driver.ConnPrepareContext); ok {
		return p.PrepareContext(ctx, query)
	}
	return c.Conn.Prepare(query)
}

func (c *interruptingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if e, ok := c.Conn.(driver.ExecerContext); ok {
		return e.ExecContext(ctx, query, args)
	}
	return nil, driver.ErrSkip
}

func (c *interruptingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	q, ok := c.Conn.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	r, err := q.QueryContext(ctx, query, args)
	if err != nil {
		return r, err
	}
	var st stmtOf
	if ctx.Value(checkColumnsKey{}) != nil {
		st = statementOf(r)
	}
	if (c.interrupt == nil || ctx.Done() == nil) && st.tls == nil {
		return r, err
	}
	ir := &interruptingRows{Rows: r, ctx: ctx, stmt: st, stop: func() bool { return false }}
	if c.interrupt != nil && ctx.Done() != nil {
		ir.stop = context.AfterFunc(ctx, func() {
			ir.mu.Lock()
			defer ir.mu.Unlock()
			if !ir.closed {
				c.interrupt()
			}
		})
	}
	return ir, nil
}

// checkColumnsKey marks the context of a read whose rows are checked for
// columns that changed (ErrColumnsChanged; see withColumnCheck).
type checkColumnsKey struct{}

// withColumnCheck is ctx for a read that may be run again: its rows are
// checked for columns that changed as it began. A write is not (its
// error would come after the write was made, which running it again
// would make twice), and keeps the columns it was prepared with.
func withColumnCheck(ctx context.Context) context.Context {
	return context.WithValue(ctx, checkColumnsKey{}, true)
}

// ErrColumnsChanged is the error of rows whose statement was prepared
// with the columns a table had before a schema change (ALTER TABLE on
// another connection): SQLite prepared it again at its first step, with
// the new columns, but the driver had taken the old ones, and would
// read the row into them (`SELECT *` after ADD COLUMN left the new
// column out, silently). The query may be run again: the connection
// knows the new schema now.
var ErrColumnsChanged = errors.New("the table's columns changed as the query began (ALTER TABLE on another connection): run it again")

// interruptingRows interrupts the connection's statement when the
// context ends before the rows are closed; the step under way then
// fails, and Next says why: the context's error. (Closed, the rows'
// connection may be another statement's: it is not interrupted then.)
//
// It also checks, at the first row, that the statement still has the
// columns the driver took when it was prepared (ErrColumnsChanged).
type interruptingRows struct {
	driver.Rows
	ctx    context.Context
	stop   func() bool
	stmt   stmtOf // the statement, whose columns are checked; none: not checked
	rowed  bool   // a row was read
	mu     sync.Mutex
	closed bool
}

func (r *interruptingRows) Next(dest []driver.Value) error {
	if err := r.ctx.Err(); err != nil {
		return err
	}
	err := r.Rows.Next(dest)
	if err != nil && err != io.EOF && r.ctx.Err() != nil {
		return r.ctx.Err() // interrupted, or ended as the context did
	}
	if err == nil && !r.rowed {
		r.rowed = true
		if r.stmt.tls != nil && !r.stmt.hasColumns(r.Rows.Columns()) {
			return ErrColumnsChanged
		}
	}
	return err
}

func (r *interruptingRows) Close() error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.stop()
	return r.Rows.Close()
}

func (r *interruptingRows) ColumnTypeDatabaseTypeName(i int) string {
	if c, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return c.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

func (r *interruptingRows) ColumnTypeScanType(i int) reflect.Type {
	if c, ok := r.Rows.(driver.RowsColumnTypeScanType); ok {
		return c.ColumnTypeScanType(i)
	}
	return reflect.TypeFor[any]()
}

func (r *interruptingRows) ColumnTypeNullable(i int) (nullable, ok bool) {
	if c, ok := r.Rows.(driver.RowsColumnTypeNullable); ok {
		return c.ColumnTypeNullable(i)
	}
	return false, false
}

// sqliteConnFields is where the driver's connection keeps its sqlite3
// handle and its thread state: what sqlite3_interrupt takes, which the
// driver calls only from its own context handling. Found once, by
// reflection; ok is false when the driver's connection is not the one
// known (another version), and then rows are not interrupted.
var sqliteConnFields = sync.OnceValues(func() (offsets [2]uintptr, ok bool) {
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		return offsets, false
	}
	defer db.Close()
	c, err := db.Driver().Open(":memory:")
	if err != nil {
		return offsets, false
	}
	defer c.Close()
	t := reflect.TypeOf(c)
	if t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return offsets, false
	}
	h, ok1 := t.Elem().FieldByName("db")
	tls, ok2 := t.Elem().FieldByName("tls")
	if !ok1 || !ok2 || h.Type.Kind() != reflect.Uintptr || tls.Type != reflect.TypeFor[*libc.TLS]() {
		return offsets, false
	}
	if _, ok := c.(sync.Locker); !ok {
		return offsets, false
	}
	return [2]uintptr{h.Offset, tls.Offset}, true
})

// interrupterOf is the function interrupting c's running statement, as
// the driver's own context handling does (under the connection's lock,
// and not once it is closed), or nil.
func interrupterOf(c driver.Conn) func() {
	off, ok := sqliteConnFields()
	lock, isLocker := c.(sync.Locker)
	if !ok || !isLocker || reflect.TypeOf(c).Kind() != reflect.Pointer {
		return nil
	}
	base := reflect.ValueOf(c).UnsafePointer()
	handle := (*uintptr)(unsafe.Add(base, off[0]))
	tls := (**libc.TLS)(unsafe.Add(base, off[1]))
	return func() {
		lock.Lock()
		defer lock.Unlock()
		if *handle != 0 && *tls != nil {
			sqlite3.Xsqlite3_interrupt(*tls, *handle)
		}
	}
}

// sqliteRowsFields is where the driver's rows keep their connection and
// their statement, found once by reflection (as sqliteConnFields); ok is
// false when the driver's rows are not the ones known.
var sqliteRowsFields = sync.OnceValue(func() rowsFields {
	var none rowsFields
	if _, ok := sqliteConnFields(); !ok {
		return none
	}
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		return none
	}
	defer db.Close()
	c, err := db.Driver().Open(":memory:")
	if err != nil {
		return none
	}
	defer c.Close()
	q, ok := c.(driver.QueryerContext)
	if !ok {
		return none
	}
	rows, err := q.QueryContext(context.Background(), "SELECT 1", nil)
	if err != nil {
		return none
	}
	defer rows.Close()
	t := reflect.TypeOf(rows)
	if t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return none
	}
	cf, ok1 := t.Elem().FieldByName("c")
	pf, ok2 := t.Elem().FieldByName("pstmt")
	if !ok1 || !ok2 || cf.Type != reflect.TypeOf(c) || pf.Type.Kind() != reflect.Uintptr {
		return none
	}
	return rowsFields{t, cf.Offset, pf.Offset}
})

type rowsFields struct {
	typ         reflect.Type // nil: not known
	conn, pstmt uintptr
}

// stmtOf is the statement of the driver's rows: its thread state and
// handle (tls nil: not known).
type stmtOf struct {
	tls   *libc.TLS
	pstmt uintptr
}

// statementOf finds the statement of the driver's rows r.
func statementOf(r driver.Rows) stmtOf {
	f := sqliteRowsFields()
	if f.typ == nil || reflect.TypeOf(r) != f.typ {
		return stmtOf{}
	}
	connOff, _ := sqliteConnFields()
	base := reflect.ValueOf(r).UnsafePointer()
	conn := *(*unsafe.Pointer)(unsafe.Add(base, f.conn))
	pstmt := *(*uintptr)(unsafe.Add(base, f.pstmt))
	if conn == nil || pstmt == 0 {
		return stmtOf{}
	}
	return stmtOf{*(**libc.TLS)(unsafe.Add(conn, connOff[1])), pstmt}
}

// hasColumns says whether the statement has the columns names now
// (after its first step, which prepares it again if the schema changed).
func (s stmtOf) hasColumns(names []string) bool {
	if int(sqlite3.Xsqlite3_column_count(s.tls, s.pstmt)) != len(names) {
		return false
	}
	for i, n := range names {
		if libc.GoString(sqlite3.Xsqlite3_column_name(s.tls, s.pstmt, int32(i))) != n {
			return false
		}
	}
	return true
}
