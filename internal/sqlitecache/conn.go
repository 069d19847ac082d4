package sqlitecache

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"reflect"
	"sync"
	"unsafe"

	"github.com/glebarez/go-sqlite"
	"modernc.org/libc"
	"modernc.org/libc/sys/types"
	sqlite3 "modernc.org/sqlite/lib"
)

// Capacity is how many statements a connection keeps prepared; past it,
// the one used least recently (and not being read) is finalized.
const Capacity = 64

// Open is a database of the file (or other data source) dsn, as
// sql.Open("sqlite", dsn) opens it, whose connections keep their
// statements prepared.
func Open(dsn string) *sql.DB {
	return sql.OpenDB(connector{dsn})
}

type connector struct{ dsn string }

func (cr connector) Driver() driver.Driver { return known().driver }

func (cr connector) Connect(context.Context) (driver.Conn, error) {
	k := known()
	dc, err := k.driver.Open(cr.dsn)
	if err != nil || !k.ok {
		return dc, err
	}
	base := reflect.ValueOf(dc).UnsafePointer()
	c := &conn{
		Conn:    dc,
		lock:    dc.(sync.Locker),
		db:      *(*uintptr)(unsafe.Add(base, k.connDB)),
		tls:     *(**libc.TLS)(unsafe.Add(base, k.connTLS)),
		errMsg:  k.errMsg,
		errCode: k.errCode,
		stmts:   map[string]*stmt{},
	}
	c.plansStable()
	c.holdPages()
	return c, nil
}

// The allocator of modernc.org/libc serves blocks of up to 16 KiB from
// 64 KiB pages of one block size each (16 bytes to 16 KiB, by powers of
// two), and unmaps a page as soon as its last block is freed: the next
// allocation of that size maps a new one, whose first writes fault.
// SQLite's statement journals (a few dozen 2 KiB blocks for a statement
// of River's writing several rows) and the pages of its temporary
// tables (8 KiB blocks) went through maps, faults and unmaps at every
// statement, which took more CPU than the statements did.
const (
	allocPage = 64 << 10
	// pages of each block size a connection keeps mapped: more of the
	// sizes of journal chunks and table pages, which a statement takes
	// dozens of, than of the smaller ones, whose pages SQLite's lasting
	// allocations (schema, statements) keep mapped anyway
	heldLarge = 8 // blocks of 1 KiB and more
	heldSmall = 2
)

// holdPages keeps pages of each block size mapped while the connection
// is open, by holding one block of each; their other blocks, freed at
// once, are used again by the connection's statements. (It costs a few
// MiB of memory a connection: the queue has one.)
func (c *conn) holdPages() {
	for size := 16; size <= allocPage/4; size *= 2 {
		held := heldSmall
		if size >= 1<<10 {
			held = heldLarge
		}
		var spare []uintptr
		pages := map[uintptr]bool{}
		for range held * allocPage / size {
			p := libc.Xmalloc(c.tls, types.Size_t(size))
			if p == 0 {
				break
			}
			if pg := p &^ (allocPage - 1); !pages[pg] && len(pages) < held {
				pages[pg] = true
				c.held = append(c.held, p)
			} else {
				spare = append(spare, p)
			}
		}
		c.free(spare)
	}
}

// plansStable makes the query planner choose a statement's plan without
// looking at the values bound to it (SQLITE_DBCONFIG_ENABLE_QPSG). With
// SQLite's default, a statement whose plan could depend on a value
// (River's polls of the notification and job tables: id > ?1, ...) is
// compiled again at every step after new values are bound, which undid
// the keeping of the statement.
func (c *conn) plansStable() {
	va := libc.NewVaList(int32(1), uintptr(0))
	if va == 0 {
		return
	}
	sqlite3.Xsqlite3_db_config(c.tls, c.db, sqlite3.SQLITE_DBCONFIG_ENABLE_QPSG, va)
	libc.Xfree(c.tls, va)
}

// layout is what is known of the driver: itself, and where its
// connection keeps its handle and thread state and its Error its
// message and code.
type layout struct {
	driver          driver.Driver
	ok              bool // the fields below were found
	connDB, connTLS uintptr
	errMsg, errCode uintptr
}

var known = sync.OnceValue(func() layout {
	db, err := sql.Open("sqlite", "")
	if err != nil {
		panic(err) // the driver is linked in: sql.Open does not fail
	}
	l := layout{driver: db.Driver()}
	db.Close()
	c, err := l.driver.Open(":memory:")
	if err != nil {
		return l
	}
	defer c.Close()
	t := reflect.TypeOf(c)
	if _, ok := c.(sync.Locker); !ok || t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return l
	}
	h, ok1 := t.Elem().FieldByName("db")
	tls, ok2 := t.Elem().FieldByName("tls")
	if !ok1 || !ok2 || h.Type.Kind() != reflect.Uintptr || tls.Type != reflect.TypeFor[*libc.TLS]() {
		return l
	}
	e := reflect.TypeFor[sqlite.Error]()
	msg, ok1 := e.FieldByName("msg")
	code, ok2 := e.FieldByName("code")
	if !ok1 || !ok2 || msg.Type.Kind() != reflect.String || code.Type.Kind() != reflect.Int {
		return l
	}
	l.ok = true
	l.connDB, l.connTLS = h.Offset, tls.Offset
	l.errMsg, l.errCode = msg.Offset, code.Offset
	return l
})

// conn is a connection of the driver with the statements it keeps. Like
// every driver connection, it is used by one goroutine at a time; only
// the interruption of a running statement comes from another, under
// lock (the driver's, which its Close also takes).
type conn struct {
	driver.Conn
	lock    sync.Locker
	db      uintptr
	tls     *libc.TLS
	errMsg  uintptr
	errCode uintptr

	stmts   map[string]*stmt // by SQL text
	clock   uint64           // counts uses, for stmt.used
	scratch uintptr          // C memory for prepare's two results
	single  map[string]bool  // texts known not to be one statement
	held    []uintptr        // blocks that keep the allocator's pages (holdPages)
}

// stmt is a statement kept prepared.
type stmt struct {
	pstmt  uintptr
	params []string // each parameter's name ("" for ?)
	used   uint64   // the connection's clock at its last use
	busy   bool     // its rows are open
	kept   bool     // in the connection's stmts (else finalized once done)
}

func (c *conn) Close() error {
	for q, s := range c.stmts {
		sqlite3.Xsqlite3_finalize(c.tls, s.pstmt)
		delete(c.stmts, q)
	}
	if c.scratch != 0 {
		libc.Xfree(c.tls, c.scratch)
		c.scratch = 0
	}
	c.free(c.held)
	c.held = nil
	return c.Conn.Close()
}

func (c *conn) Ping(ctx context.Context) error {
	_, err := c.ExecContext(ctx, "select 1", nil)
	return err
}

func (c *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

func (c *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
}

func (c *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	s, err := c.statement(query)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return c.Conn.(driver.ExecerContext).ExecContext(ctx, query, args)
	}
	var allocs []uintptr
	defer func() { c.release(s, allocs) }() // the step's error is returned below
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if ctx.Done() != nil {
		defer c.interruptOnDone(ctx)()
	}
	if allocs, err = c.bind(s, args); err != nil {
		return nil, err
	}
	if rc := sqlite3.Xsqlite3_step(c.tls, s.pstmt); rc != sqlite3.SQLITE_DONE && rc != sqlite3.SQLITE_ROW {
		return nil, c.errstr(rc)
	}
	return result{
		lastInsertID: sqlite3.Xsqlite3_last_insert_rowid(c.tls, c.db),
		rowsAffected: int64(sqlite3.Xsqlite3_changes(c.tls, c.db)),
	}, nil
}

func (c *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	s, err := c.statement(query)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return c.Conn.(driver.QueryerContext).QueryContext(ctx, query, args)
	}
	if err := ctx.Err(); err != nil {
		c.release(s, nil)
		return nil, err
	}
	allocs, err := c.bind(s, args)
	if err != nil {
		c.release(s, allocs)
		return nil, err
	}
	s.busy = true
	r := &rows{c: c, s: s, allocs: allocs, stop: func() {}}
	if ctx.Done() != nil {
		// Reading the rows is where SQLite does a query's work: a step
		// under way when ctx ends is interrupted, until they are closed.
		r.stop = c.interruptOnDone(ctx)
	}
	return r, nil
}

// interruptOnDone interrupts the running statement when ctx ends, until
// the function it returns is called.
func (c *conn) interruptOnDone(ctx context.Context) func() {
	var mu sync.Mutex
	done := false
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if !done {
			c.lock.Lock()
			sqlite3.Xsqlite3_interrupt(c.tls, c.db)
			c.lock.Unlock()
		}
	})
	return func() {
		stop()
		mu.Lock()
		done = true
		mu.Unlock()
	}
}

// statement is the statement kept for query, prepared now if it is not
// kept yet, or nil when the driver itself must run query: it is not one
// statement, or its statement is being read.
func (c *conn) statement(query string) (*stmt, error) {
	c.clock++
	if s := c.stmts[query]; s != nil {
		if s.busy {
			return c.prepare(query, false)
		}
		s.used = c.clock
		return s, nil
	}
	if c.single[query] {
		return nil, nil
	}
	return c.prepare(query, true)
}

// prepare prepares query, kept (for good) or not (finalized once used).
func (c *conn) prepare(query string, keep bool) (*stmt, error) {
	if c.scratch == 0 {
		if c.scratch = libc.Xmalloc(c.tls, types.Size_t(2*unsafe.Sizeof(uintptr(0)))); c.scratch == 0 {
			return nil, nil // the driver, which allocates its own, says why
		}
	}
	zSQL, err := libc.CString(query)
	if err != nil {
		return nil, nil
	}
	defer libc.Xfree(c.tls, zSQL)
	ppStmt, pzTail := c.scratch, c.scratch+unsafe.Sizeof(uintptr(0))
	if keep && len(c.stmts) >= Capacity {
		keep = c.evict()
	}
	var flags uint32
	if keep {
		flags = sqlite3.SQLITE_PREPARE_PERSISTENT
	}
	if rc := sqlite3.Xsqlite3_prepare_v3(c.tls, c.db, zSQL, -1, flags, ppStmt, pzTail); rc != sqlite3.SQLITE_OK {
		if rc&0xff == sqlite3.SQLITE_LOCKED {
			return nil, nil // the driver waits for a shared cache's lock
		}
		return nil, c.errstr(rc)
	}
	pstmt := *(*uintptr)(cmem(ppStmt))
	tail := *(*uintptr)(cmem(pzTail))
	if pstmt == 0 || *(*byte)(cmem(tail)) != 0 {
		// No statement, or more than one: the driver runs each.
		if pstmt != 0 {
			sqlite3.Xsqlite3_finalize(c.tls, pstmt)
		}
		if c.single == nil || len(c.single) >= Capacity {
			c.single = map[string]bool{}
		}
		c.single[query] = true
		return nil, nil
	}
	s := &stmt{pstmt: pstmt, used: c.clock, kept: keep}
	s.params = make([]string, sqlite3.Xsqlite3_bind_parameter_count(c.tls, pstmt))
	for i := range s.params {
		s.params[i] = libc.GoString(sqlite3.Xsqlite3_bind_parameter_name(c.tls, pstmt, int32(i+1)))
	}
	if keep {
		c.stmts[query] = s
	}
	return s, nil
}

// evict finalizes the statement used least recently of those not being
// read, if there is one.
func (c *conn) evict() bool {
	var oldest string
	var o *stmt
	for q, s := range c.stmts {
		if !s.busy && (o == nil || s.used < o.used) {
			oldest, o = q, s
		}
	}
	if o == nil {
		return false
	}
	sqlite3.Xsqlite3_finalize(c.tls, o.pstmt)
	delete(c.stmts, oldest)
	return true
}

// release makes s ready for its next use (or finalizes it), then frees
// the memory of its arguments, which it no longer points to. Its error
// is that of the statement's last step, if it failed.
func (c *conn) release(s *stmt, allocs []uintptr) error {
	s.busy = false
	var rc int32
	if s.kept {
		rc = sqlite3.Xsqlite3_reset(c.tls, s.pstmt)
		sqlite3.Xsqlite3_clear_bindings(c.tls, s.pstmt)
	} else {
		rc = sqlite3.Xsqlite3_finalize(c.tls, s.pstmt)
	}
	c.free(allocs)
	if rc != sqlite3.SQLITE_OK {
		return c.errstr(rc)
	}
	return nil
}

func (c *conn) free(allocs []uintptr) {
	for _, p := range allocs {
		libc.Xfree(c.tls, p)
	}
}

type result struct{ lastInsertID, rowsAffected int64 }

func (r result) LastInsertId() (int64, error) { return r.lastInsertID, nil }
func (r result) RowsAffected() (int64, error) { return r.rowsAffected, nil }

// errstr is the driver's error for rc: its *sqlite.Error, with the
// message it would give.
func (c *conn) errstr(rc int32) error {
	str := libc.GoString(sqlite3.Xsqlite3_errstr(c.tls, rc))
	msg := libc.GoString(sqlite3.Xsqlite3_errmsg(c.tls, c.db))
	var busy string
	if rc == sqlite3.SQLITE_BUSY {
		busy = " (SQLITE_BUSY)"
	}
	text := fmt.Sprintf("%s: %s (%v)%s", str, msg, rc, busy)
	if msg == str {
		text = fmt.Sprintf("%s (%v)%s", str, rc, busy)
	}
	e := new(sqlite.Error)
	*(*string)(unsafe.Add(unsafe.Pointer(e), c.errMsg)) = text
	*(*int)(unsafe.Add(unsafe.Pointer(e), c.errCode)) = int(rc)
	return e
}

// cmem is the C memory at p: SQLite's and libc's allocations, outside
// the Go heap, which the garbage collector neither moves nor frees.
func cmem(p uintptr) unsafe.Pointer {
	return *(*unsafe.Pointer)(unsafe.Pointer(&p))
}
