package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	sqlite "github.com/glebarez/go-sqlite" // (also registers the "sqlite" driver)

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	sqlite3 "modernc.org/sqlite/lib"

	"tova/internal/pgpath"
	"tova/internal/sqlitefile"
	"tova/vm"
)

// DB is an open database: its engine's dialect and connection pools.
//
// SQLite gets one writer connection (every statement that may write,
// and every transaction, goes through it, so writers queue in Go rather
// than failing with "database is locked") plus a pool of reader
// connections, which WAL lets run beside the writer. PostgreSQL gets
// one pool of Config.Pool connections for everything.
type DB struct {
	cfg   Config
	d     *dialect
	write *sql.DB
	read  *sql.DB

	// txs maps a thread running db.transaction to its transaction, so
	// that every database call of that thread joins it. ntx counts them
	// so that calls outside transactions skip the lookup.
	txs sync.Map
	ntx atomic.Int32
	// txTurn, on PostgreSQL, makes the process's transactions run one
	// at a time, as SQLite's one writer makes them (nil there).
	txTurn chan struct{}
	// temps holds, upper-cased, the names of the TEMP tables and views
	// raw statements made on SQLite's writer, which only it sees.
	temps sync.Map
	// file is the SQLite file as it was opened (nil for :memory: and
	// PostgreSQL); looked is when fileLost last compared the path's file
	// with it, and lost what it found.
	file   os.FileInfo
	looked atomic.Int64
	lost   atomic.Pointer[string]
}

// fileLost tells, looking at most once a second, whether the SQLite
// file at the path is still the one opened: one removed or replaced
// while the server runs (a clean-up script, a redeploy) left the writer
// writing into the removed file, whose rows no restart would find, and
// readers reading another. It is DatabaseUnavailable from then on.
func (db *DB) fileLost() error {
	if db.file == nil {
		return nil
	}
	if msg := db.lost.Load(); msg != nil {
		return &vm.Error{Kind: KindUnavailable, Msg: *msg} // (each raise its own: it gets its stack)
	}
	now := time.Now().UnixNano()
	last := db.looked.Load()
	if now-last < int64(time.Second) || !db.looked.CompareAndSwap(last, now) {
		return nil
	}
	fi, err := os.Stat(db.cfg.Path)
	if err == nil && os.SameFile(fi, db.file) {
		return nil
	}
	what := "removed"
	if err == nil {
		what = "replaced"
	}
	msg := "the SQLite database file " + db.cfg.Path + " was " + what + " while the program ran: nothing more is written to it (restart the server to open the file at that path)"
	db.lost.Store(&msg)
	return &vm.Error{Kind: KindUnavailable, Msg: msg}
}

// connFuncs are the SQLite functions whose value belongs to one
// connection: a read calling one runs on the writer, where the writes
// were made (a reader connection answered 0).
var connFuncs = map[string]bool{"LAST_INSERT_ROWID": true, "CHANGES": true, "TOTAL_CHANGES": true}

// readsWriterState reports whether a raw read must run on SQLite's
// writer: it calls one of connFuncs, names the temp schema (temp.x), or
// names a TEMP table or view a raw statement made there, which a reader
// connection does not have ("no such table").
func (db *DB) readsWriterState(query string) bool {
	if db.d.pg() {
		return false
	}
	toks := sqlTokens(query)
	for i, w := range toks {
		next := ""
		if i+1 < len(toks) {
			next = toks[i+1]
		}
		switch {
		case connFuncs[w] && next == "(":
			return true
		case (w == "TEMP" || w == "TEMPORARY") && next == ".":
			return true
		}
		if _, ok := db.temps.Load(w); ok && next != "(" && (i == 0 || toks[i-1] != ".") {
			return true
		}
	}
	return false
}

// noteTemps records the TEMP tables and views a raw statement makes on
// SQLite (CREATE TEMP TABLE [IF NOT EXISTS] name, quoted or not), and
// forgets those it drops.
func (db *DB) noteTemps(query string) {
	if db.d.pg() {
		return
	}
	toks := sqlTokens(query)
	name := func(j int) string { // the name at j, past IF [NOT] EXISTS and a temp. schema
		for _, w := range []string{"IF", "NOT", "EXISTS"} {
			if j < len(toks) && toks[j] == w {
				j++
			}
		}
		if j+1 < len(toks) && (toks[j] == "TEMP" || toks[j] == "MAIN") && toks[j+1] == "." {
			j += 2
		}
		if j < len(toks) && toks[j] != "(" && toks[j] != "." {
			return toks[j]
		}
		return ""
	}
	for i := 0; i+2 < len(toks); i++ {
		switch {
		case toks[i] == "CREATE" && (toks[i+1] == "TEMP" || toks[i+1] == "TEMPORARY") && i+3 < len(toks) && (toks[i+2] == "TABLE" || toks[i+2] == "VIEW"):
			if n := name(i + 3); n != "" {
				db.temps.Store(n, true)
			}
		case toks[i] == "DROP" && (toks[i+1] == "TABLE" || toks[i+1] == "VIEW"):
			if n := name(i + 2); n != "" {
				db.temps.Delete(n)
			}
		}
	}
}

// sqlTokens are a statement's words, upper-cased, its quoted names
// ("x", `x`, [x]) as words, and its ( . , as tokens of their own; string
// literals and comments are left out.
func sqlTokens(stmt string) []string {
	var toks []string
	for i := 0; i < len(stmt); i++ {
		c := stmt[i]
		switch {
		case c == '"' || c == '`' || c == '[':
			closeBy := c
			if c == '[' {
				closeBy = ']'
			}
			j := strings.IndexByte(stmt[i+1:], closeBy)
			if j < 0 {
				return toks
			}
			toks = append(toks, strings.ToUpper(stmt[i+1:i+1+j]))
			i += j + 1
		case c == '(' || c == '.' || c == ',':
			toks = append(toks, string(c))
		case isWordByte(c):
			j := i
			for j < len(stmt) && isWordByte(stmt[j]) {
				j++
			}
			toks = append(toks, strings.ToUpper(stmt[i:j]))
			i = j - 1
		default:
			if end := skipText(stmt, i); end > i {
				i = end
			}
		}
	}
	return toks
}

// querier is what statements run on: a pool or a transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

const (
	// sqliteCacheKiB is each SQLite connection's page cache (SQLite's
	// own default is 2000 KiB). A scan of a table larger than its cache
	// (COUNT(*), a filter without an index) reads every page from the
	// file again, one system call each: a count over a 7 MB table took
	// 3.4-4.1 ms, against 0.17-0.19 ms from the cache
	// (bench/storebench's BenchmarkSQLiteCount). The cache fills only as
	// pages are read: a small database costs what it holds.
	sqliteCacheKiB = 32 << 10
	connectTimeout = 5 * time.Second
	// Idle connections are closed after a while, so a pool nobody uses
	// any more (an instance that has stopped) does not hold them.
	idleTimeout = time.Minute
)

// busyTimeout is how long a connection waits for a SQLite file another
// holds locked before its call fails with DatabaseUnavailable (a
// variable for the tests).
var busyTimeout = 10 * time.Second

// Open opens and pings the database of cfg. A PostgreSQL server that
// cannot be reached gives a DatabaseUnavailable error naming it.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	switch cfg.Adapter {
	case SQLite:
		return openSQLite(ctx, cfg)
	case Postgres:
		return openPostgres(ctx, cfg)
	}
	return nil, configErr("unknown database adapter %q", cfg.Adapter)
}

// sqliteDSN builds the driver's DSN: WAL, a busy timeout, foreign keys
// and the page cache's size on every connection (pragmas are per
// connection, so they belong in the DSN); BEGIN IMMEDIATE for
// transactions on the writer.
func sqliteDSN(path string, writer bool) string {
	var b strings.Builder
	b.WriteString(sqlitefile.URI(path))
	b.WriteString("?_pragma=busy_timeout(")
	b.WriteString(itoa(busyTimeout.Milliseconds()))
	b.WriteString(")&_pragma=foreign_keys(1)&_pragma=cache_size(-")
	b.WriteString(itoa(sqliteCacheKiB))
	b.WriteString(")")
	if path != ":memory:" {
		b.WriteString("&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)")
	}
	if writer {
		b.WriteString("&_txlock=immediate")
	}
	if !writer && path != ":memory:" {
		// Made by the writer: a reader connection opened once the file
		// is gone fails (DatabaseUnavailable) rather than make an empty
		// one, which has no tables.
		b.WriteString("&mode=rw")
	}
	return b.String()
}

func openSQLite(ctx context.Context, cfg Config) (*DB, error) {
	db := &DB{cfg: cfg, d: sqliteDialect}
	if cfg.Path != ":memory:" && !strings.HasPrefix(cfg.Path, "file:") {
		// database: "data/app.db" in a directory not made yet (a
		// deployment's dist/): made, as the file itself would be.
		if dir := filepath.Dir(cfg.Path); dir != "." {
			if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
				_ = os.MkdirAll(dir, 0o755) // (one that cannot be made: the open says so)
			}
		}
	}
	w, err := sql.Open(sqliteDriver, sqliteDSN(cfg.Path, true))
	if err != nil {
		return nil, unavailable(err, &cfg)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	db.write = w
	if cfg.Path == ":memory:" {
		// Each connection to :memory: is a database of its own: keep
		// exactly one, forever.
		db.read = w
		if err := w.PingContext(ctx); err != nil {
			w.Close()
			return nil, unavailable(err, &cfg)
		}
		return db, nil
	}
	w.SetConnMaxIdleTime(idleTimeout)
	// The writer opens first: it switches the file to WAL before any
	// reader looks at it.
	if err := pingBusy(ctx, w); err != nil {
		w.Close()
		return nil, unavailable(err, &cfg)
	}
	if fi, err := os.Stat(cfg.Path); err == nil {
		db.file = fi
	}
	r, err := sql.Open(sqliteDriver, sqliteDSN(cfg.Path, false))
	if err != nil {
		w.Close()
		return nil, unavailable(err, &cfg)
	}
	n := cfg.Pool
	if n <= 0 {
		n = defaultSQLiteReads
	}
	sizePool(r, n)
	db.read = r
	return db, nil
}

// pingBusy opens w's connection, trying again while the file is busy
// for up to the busy timeout: switching a file in rollback mode to WAL
// takes an exclusive lock, and SQLite answers SQLITE_BUSY at once,
// without its busy handler, while another connection (another process
// starting on the same new file) holds a write lock.
func pingBusy(ctx context.Context, w *sql.DB) error {
	deadline := time.Now().Add(busyTimeout)
	for wait := 5 * time.Millisecond; ; wait = min(2*wait, 200*time.Millisecond) {
		err := w.PingContext(ctx)
		var se *sqlite.Error
		if err == nil || !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY || time.Now().Add(wait).After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

// sizePool keeps up to n connections open and idle, closing those idle
// for idleTimeout.
func sizePool(p *sql.DB, n int) {
	p.SetMaxOpenConns(n)
	p.SetMaxIdleConns(n)
	p.SetConnMaxIdleTime(idleTimeout)
}

func openPostgres(ctx context.Context, cfg Config) (*DB, error) {
	pc, err := pgx.ParseConfig(cfg.URL)
	if err != nil {
		e := configErr("db.url: %v", err)
		if cfg.Source != noBlock && cfg.Source != "" {
			e.Msg += " (the " + cfg.Source + ")" // as unavailable says it: where to fix it
		}
		return nil, e
	}
	if pc.ConnectTimeout == 0 {
		pc.ConnectTimeout = connectTimeout
	}
	p := stdlib.OpenDB(*pc, stdlib.OptionAfterConnect(registerTextCodec))
	n := cfg.Pool
	if n <= 0 {
		n = defaultPGPool
	}
	sizePool(p, n)
	pctx, cancel := context.WithTimeout(ctx, connectTimeout+time.Second)
	defer cancel()
	if err := p.PingContext(pctx); err != nil {
		p.Close()
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			return nil, dbError(err, &cfg)
		}
		return nil, unavailable(err, &cfg)
	}
	// A URL's search_path naming a schema not made yet (?search_path=
	// shop on a fresh database): it is made, as the job queue makes it,
	// before a model creates its table ("no schema has been selected to
	// create in").
	var current *string
	var path string
	if err := p.QueryRowContext(pctx, pgpath.Query).Scan(&current, &path); err != nil {
		p.Close()
		return nil, dbError(err, &cfg)
	}
	if name := pgpath.Missing(current, path); name != "" {
		// (a role that may not create one goes on: its queries name
		// their schemas, or a model's table fails, saying so)
		_, _ = p.ExecContext(pctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{name}.Sanitize())
	}
	return &DB{cfg: cfg, d: postgresDialect, write: p, read: p, txTurn: make(chan struct{}, 1)}, nil
}

// Close closes the connection pools.
func (db *DB) Close() error {
	err := db.write.Close()
	if db.read != db.write {
		if e := db.read.Close(); err == nil {
			err = e
		}
	}
	return err
}

// Config returns the configuration the database was opened with.
func (db *DB) Config() Config { return db.cfg }

// Pools returns the connection pools: SQLite's single-connection writer
// and its readers, or PostgreSQL's one pool twice. Benchmarks and tests
// use them to run the same statements from Go.
func (db *DB) Pools() (write, read *sql.DB) { return db.write, db.read }

type txn struct {
	tx    *sql.Tx
	depth int    // nested db.transaction calls (savepoints)
	where string // the db.transaction call, file:line:col ("" unknown)
}

// on returns what a statement of thread t runs on: the thread's
// transaction if it is inside db.transaction, else the writer or the
// readers.
func (db *DB) on(t *vm.Thread, write bool) querier {
	if t != nil && db.ntx.Load() > 0 {
		if x, ok := db.txs.Load(t); ok {
			return x.(*txn).tx
		}
	}
	if write {
		return db.write
	}
	return db.read
}

// inTx reports whether thread t is inside db.transaction.
func (db *DB) inTx(t *vm.Thread) bool {
	if t == nil || db.ntx.Load() == 0 {
		return false
	}
	_, ok := db.txs.Load(t)
	return ok
}

// transaction runs fn inside a transaction of thread t: committed when
// fn returns, rolled back when it fails (its error is returned as is).
// A nested call runs inside a savepoint of the outer transaction.
func (db *DB) transaction(t *vm.Thread, fn func() (vm.Value, error)) (vm.Value, error) {
	ctx := t.Context()
	if x, ok := db.txs.Load(t); ok {
		tx := x.(*txn)
		tx.depth++
		sp := "tova_sp_" + itoa(int64(tx.depth))
		defer func() { tx.depth-- }()
		var err error
		t.Blocking(func() { _, err = tx.tx.ExecContext(ctx, "SAVEPOINT "+sp) })
		if err != nil {
			return vm.Nil, dbError(err, &db.cfg)
		}
		v, ferr := fn()
		if ferr != nil {
			t.Blocking(func() {
				if _, err = tx.tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT "+sp); err == nil {
					_, err = tx.tx.ExecContext(ctx, "RELEASE SAVEPOINT "+sp)
				}
			})
			return vm.Nil, ferr
		}
		t.Blocking(func() { _, err = tx.tx.ExecContext(ctx, "RELEASE SAVEPOINT "+sp) })
		return v, dbError(err, &db.cfg)
	}
	if err := db.heldByCaller(t, true, true); err != nil {
		return vm.Nil, err
	}
	// SQLite's one writer runs transactions one after another. On
	// PostgreSQL, so that the same program gets the same results (READ
	// COMMITTED, its default, lets two read-then-write transactions lose
	// one's update, and two that lock rows in opposite orders deadlock):
	// the process's transactions take turns too, and run serializable,
	// so that one conflicting with another process's is rolled back and
	// run again.
	var opts *sql.TxOptions
	if db.txTurn != nil {
		opts = &sql.TxOptions{Isolation: sql.LevelSerializable}
		if err := t.Take(db.txTurn); err != nil {
			return vm.Nil, err
		}
		defer func() { <-db.txTurn }()
	}
	for attempt := 1; ; attempt++ {
		var tx *sql.Tx
		var err error
		t.Blocking(func() { tx, err = db.write.BeginTx(ctx, opts) })
		if err != nil {
			return vm.Nil, dbError(err, &db.cfg)
		}
		v, ferr := db.within(t, tx, fn)
		if ferr == nil {
			t.Blocking(func() { err = tx.Commit() })
		} else {
			t.Blocking(func() { tx.Rollback() })
			err = ferr
		}
		switch {
		case err == nil:
			return v, nil
		case attempt < maxTxAttempts && conflicted(err) && db.backOff(t, attempt):
			continue
		case ferr != nil:
			return vm.Nil, ferr
		}
		return vm.Nil, dbError(err, &db.cfg)
	}
}

// maxTxAttempts bounds how many times a transaction that conflicts with
// others runs: enough for dozens of requests writing one row at once
// (each round, one of them commits).
const maxTxAttempts = 50

// conflicted reports whether err is PostgreSQL's refusal of a
// transaction that conflicted with another (serialization failure) or
// deadlocked: running it again succeeds once the other is done.
func conflicted(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// backOff waits before a transaction's next attempt: a few milliseconds
// growing with the attempts, at random so that two conflicting ones do
// not meet again. It reports false if the thread was stopped meanwhile.
func (db *DB) backOff(t *vm.Thread, attempt int) bool {
	d := time.Duration(1+rand.IntN(min(1<<min(attempt, 7), 100))) * time.Millisecond
	ok := true
	t.Blocking(func() {
		select {
		case <-time.After(d):
		case <-t.Context().Done():
			ok = false
		}
	})
	return ok
}

// within runs fn with tx registered as thread t's transaction.
func (db *DB) within(t *vm.Thread, tx *sql.Tx, fn func() (vm.Value, error)) (vm.Value, error) {
	x := &txn{tx: tx}
	if st := t.StackTrace(); len(st) > 0 {
		x.where = fmt.Sprintf("%s:%d:%d", st[0].File, st[0].Line, st[0].Col)
	}
	db.txs.Store(t, x)
	db.ntx.Add(1)
	defer func() {
		db.txs.Delete(t)
		db.ntx.Add(-1)
		if r := recover(); r != nil {
			tx.Rollback()
			panic(r)
		}
	}()
	return fn()
}

// isReadOnly reports whether a raw statement only reads, so that SQLite
// may run it on a reader connection. Anything unsure goes to the writer.
func isReadOnly(query string) bool {
	switch firstKeyword(query) {
	case "SELECT", "VALUES", "EXPLAIN":
		return true
	case "WITH":
		// WITH ... SELECT reads (a report's usual form); WITH ...
		// INSERT/UPDATE/DELETE writes. A word of a write anywhere
		// outside quotes and comments sends it to the writer.
		words, whole := sqlWords(query)
		if !whole {
			return false
		}
		for _, w := range words {
			switch w {
			case "INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER", "PRAGMA", "ATTACH", "VACUUM", "REINDEX", "ANALYZE":
				return false
			}
		}
		return true
	}
	return false
}

// sqlWords are the bare words of a statement, upper-cased: what is in
// quotes or comments (see skipText), or in a SQLite name's brackets, is
// left out. whole is false when a quote or a comment does not end.
func sqlWords(stmt string) (words []string, whole bool) {
	for i := 0; i < len(stmt); i++ {
		if end := skipText(stmt, i); end > i {
			if end >= len(stmt) && !strings.HasPrefix(stmt[i:], "--") {
				return words, false // (a line comment may end the text)
			}
			i = end
			continue
		}
		switch c := stmt[i]; {
		case c == '[':
			j := strings.IndexByte(stmt[i:], ']')
			if j < 0 {
				return words, false
			}
			i += j
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			j := i
			for j < len(stmt) && (stmt[j] == '_' || stmt[j] == '$' || stmt[j] >= 'a' && stmt[j] <= 'z' || stmt[j] >= 'A' && stmt[j] <= 'Z' || stmt[j] >= '0' && stmt[j] <= '9') {
				j++
			}
			words = append(words, strings.ToUpper(stmt[i:j]))
			i = j - 1
		}
	}
	return words, true
}

// firstKeyword is a statement's first word, upper-cased, after comments
// and opening parentheses; "" when there is none.
func firstKeyword(stmt string) string {
	s := strings.TrimLeft(stmt, " \t\r\n(")
	for strings.HasPrefix(s, "--") || strings.HasPrefix(s, "/*") {
		if strings.HasPrefix(s, "--") {
			i := strings.IndexByte(s, '\n')
			if i < 0 {
				return ""
			}
			s = s[i+1:]
		} else {
			i := strings.Index(s, "*/")
			if i < 0 {
				return ""
			}
			s = s[i+2:]
		}
		s = strings.TrimLeft(s, " \t\r\n(")
	}
	end := strings.IndexFunc(s, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') })
	if end < 0 {
		end = len(s)
	}
	return strings.ToUpper(s[:end])
}

// statements splits raw SQL at the semicolons that end statements (not
// those inside quotes, comments or PostgreSQL dollar quotes), dropping
// empty ones.
func statements(sql string) []string {
	var out []string
	start := 0
	add := func(end int) {
		if st := strings.TrimSpace(sql[start:end]); st != "" && firstKeyword(st) != "" {
			out = append(out, st)
		}
		start = end + 1
	}
	// The BEGIN ... END body of a CREATE TRIGGER (SQLite) or of a
	// CREATE FUNCTION/PROCEDURE ... BEGIN ATOMIC (PostgreSQL) holds
	// semicolons of its own: its END was taken for a statement, refused
	// as a transaction's. Only those bodies count (a column named begin
	// glued the next statement, BEGIN, to a CREATE TABLE), and no word
	// after a '.' (new.end).
	var head []string // the statement's first words, up to 4
	depth, body := 0, false
	for i := 0; i < len(sql); i++ {
		if end := skipText(sql, i); end > i {
			i = end
			continue
		}
		if isWordByte(sql[i]) && (i == 0 || !isWordByte(sql[i-1])) {
			j := i
			for j < len(sql) && isWordByte(sql[j]) {
				j++
			}
			w := strings.ToUpper(sql[i:j])
			dotted := i > 0 && sql[i-1] == '.'
			if len(head) < 4 {
				head = append(head, w)
			}
			switch {
			case dotted:
			case depth > 0 && (w == "BEGIN" || w == "CASE"):
				depth++
			case depth > 0 && w == "END":
				depth--
			case w == "BEGIN" && !body && createsBody(head, sql[j:]):
				depth, body = 1, true
			}
			i = j - 1
			continue
		}
		if sql[i] == ';' && depth == 0 {
			add(i)
			head, body = head[:0], false
		}
	}
	if start < len(sql) {
		add(len(sql))
	}
	return out
}

// createsBody reports whether a BEGIN, in a statement whose first
// words are head and whose text after it is rest, opens a body: that of
// a CREATE [TEMP] TRIGGER, or a CREATE [OR REPLACE] FUNCTION/PROCEDURE's
// BEGIN ATOMIC.
func createsBody(head []string, rest string) bool {
	if len(head) < 2 || head[0] != "CREATE" {
		return false
	}
	for _, w := range head[1:] {
		switch w {
		case "TRIGGER":
			return true
		case "FUNCTION", "PROCEDURE":
			f := strings.Fields(rest)
			return len(f) > 0 && strings.EqualFold(strings.TrimRight(f[0], ";"), "ATOMIC")
		}
	}
	return false
}

func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

// skipText returns, when sql[i] begins quoted text, an identifier in
// quotes, a comment or a PostgreSQL dollar quote, the index of its last
// byte (len(sql) when it is not closed); else i. No placeholder,
// semicolon or keyword inside those counts.
func skipText(sql string, i int) int {
	switch c := sql[i]; {
	case c == '\'' || c == '"' || c == '`':
		if j := strings.IndexByte(sql[i+1:], c); j >= 0 {
			return i + j + 1
		}
		return len(sql)
	case c == '-' && strings.HasPrefix(sql[i:], "--"):
		if j := strings.IndexByte(sql[i:], '\n'); j >= 0 {
			return i + j
		}
		return len(sql)
	case c == '/' && strings.HasPrefix(sql[i:], "/*"):
		if j := strings.Index(sql[i+2:], "*/"); j >= 0 {
			return i + j + 3
		}
		return len(sql)
	case c == '$':
		// $tag$ ... $tag$ (a $1 placeholder has no closing $)
		j := strings.IndexByte(sql[i+1:], '$')
		if j >= 0 && isDollarTag(sql[i+1:i+1+j]) {
			tag := sql[i : i+j+2]
			if k := strings.Index(sql[i+j+2:], tag); k >= 0 {
				return i + j + 2 + k + len(tag) - 1
			}
			return len(sql)
		}
	}
	return i
}

// isDollarTag reports whether s can be the tag of a PostgreSQL dollar
// quote ($tag$): empty, or a name (a letter or _, then letters, digits
// and _). "$1,$2" holds two placeholders, not a quote tagged "1,".
func isDollarTag(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80 || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// checkRaw refuses what a raw SQL call must not do: a transaction
// statement (BEGIN, COMMIT...), which would take over the one writer
// connection every request's writes go through, or, outside db.exec,
// more than one statement (SQLite would run them all and answer the
// last; PostgreSQL refuses them).
func checkRaw(method, sql string) error {
	sts := statements(sql)
	for _, st := range sts {
		switch kw := firstKeyword(st); kw {
		case "BEGIN", "COMMIT", "ROLLBACK", "END", "SAVEPOINT", "RELEASE", "START", "ABORT":
			return vm.Errorf("DatabaseError", "db.%s: %s is not run by hand: a transaction is db.transaction(fn() { ... }), committed when fn returns and rolled back when it raises", method, kw)
		}
	}
	if method != "exec" && len(sts) > 1 {
		return vm.Errorf("DatabaseError", "db.%s runs one statement, got %d: use db.exec for several (it takes no parameters)", method, len(sts))
	}
	return nil
}
