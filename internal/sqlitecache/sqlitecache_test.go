package sqlitecache

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/glebarez/go-sqlite"
	"modernc.org/libc"
	"modernc.org/libc/sys/types"
)

// openBoth opens the file at path through the driver and through Open,
// one connection each.
func openBoth(t *testing.T, path string) (plain, cached *sql.DB) {
	t.Helper()
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_txlock=immediate"
	plain, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	cached = Open(dsn)
	for _, db := range []*sql.DB{plain, cached} {
		db.SetMaxOpenConns(1)
		t.Cleanup(func() { db.Close() })
	}
	return plain, cached
}

// kept is the statements the connection of db keeps, by text.
func kept(t *testing.T, db *sql.DB) map[string]uintptr {
	t.Helper()
	out := map[string]uintptr{}
	c, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.Raw(func(dc any) error {
		cc, ok := dc.(*conn)
		if !ok {
			return fmt.Errorf("the connection is a %T, not one keeping statements", dc)
		}
		for q, s := range cc.stmts {
			out[q] = s.pstmt
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// readAll is every row of a query, with its columns' types as
// database/sql reports them at the first row.
func readAll(db *sql.DB, query string, args ...any) (cols []string, types []string, rows [][]any, err error) {
	rs, err := db.Query(query, args...)
	if err != nil {
		return nil, nil, nil, err
	}
	defer rs.Close()
	if cols, err = rs.Columns(); err != nil {
		return nil, nil, nil, err
	}
	var cts []*sql.ColumnType
	for rs.Next() {
		if cts == nil {
			if cts, err = rs.ColumnTypes(); err != nil {
				return nil, nil, nil, err
			}
		}
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			return nil, nil, nil, err
		}
		rows = append(rows, vals)
	}
	for _, ct := range cts {
		n, _ := ct.Nullable()
		l, lok := ct.Length()
		types = append(types, fmt.Sprint(ct.DatabaseTypeName(), " ", ct.ScanType(), " ", n, " ", l, lok))
	}
	return cols, types, rows, rs.Err()
}

// Values of every type go in and come out of a connection keeping its
// statements as they do through the driver itself: the same Go values,
// the same column types, the same errors.
func TestValuesAsTheDriverGivesThem(t *testing.T) {
	plain, cached := openBoth(t, filepath.Join(t.TempDir(), "v.db"))
	const schema = `CREATE TABLE v (
		i INTEGER, r REAL, t TEXT, b BLOB, flag BOOLEAN,
		dt DATETIME, ts TIMESTAMP, d DATE, any_, n INTEGER NOT NULL DEFAULT 0
	)`
	if _, err := plain.Exec(schema); err != nil {
		t.Fatal(err)
	}
	zone := time.FixedZone("", 5*3600+30*60)
	values := [][]any{
		{int64(-7), 2.5, "text", []byte{0, 1, 2}, true, time.Date(2024, 2, 29, 13, 4, 5, 123456789, zone), time.Date(1999, 12, 31, 23, 59, 59, 0, time.UTC), "2024-01-02", "2024-01-02 03:04:05"},
		{int64(0), 0.0, "", []byte{}, false, "not a time", "2024-01-02T03:04:05Z", "", int64(1) << 62},
		{nil, nil, nil, []byte(nil), nil, nil, nil, nil, 1.0},
		{int64(1), -0.5, "héllo\x00wörld", []byte("blob"), int64(2), "2024-01-02 03:04:05.5 +0000 UTC m=+0.1", time.Time{}, "2024-01-02 03:04", []byte("x")},
	}
	const insert = "INSERT INTO v (i, r, t, b, flag, dt, ts, d, any_) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
	for _, db := range []*sql.DB{plain, cached} {
		for _, row := range values {
			res, err := db.Exec(insert, row...)
			if err != nil {
				t.Fatal(err)
			}
			if n, err := res.RowsAffected(); n != 1 || err != nil {
				t.Fatalf("rows affected %d %v", n, err)
			}
		}
	}
	reads := []struct {
		query string
		args  []any
	}{
		{"SELECT * FROM v ORDER BY rowid", nil},
		{"SELECT i, t, dt FROM v WHERE i = ?1 OR t = ?2 ORDER BY rowid", []any{int64(-7), ""}},
		{"SELECT count(*), sum(r), max(dt) FROM v WHERE b = :b OR flag = @f", []any{sql.Named("b", []byte("blob")), sql.Named("f", true)}},
		{"SELECT ? + 1, ?, ?", []any{int64(41), 1.5, "x"}},
		{"SELECT i FROM v WHERE 0", nil},
		{"INSERT INTO v (i) VALUES (99) RETURNING rowid > 0, i, dt", nil},
	}
	for _, r := range reads {
		for run := range 2 { // prepared, then kept
			pc, pt, pr, perr := readAll(plain, r.query, r.args...)
			cc, ct, cr, cerr := readAll(cached, r.query, r.args...)
			if fmt.Sprint(perr) != fmt.Sprint(cerr) || !reflect.DeepEqual(pc, cc) || !reflect.DeepEqual(pt, ct) {
				t.Fatalf("%s (run %d):\ndriver %v %v %v\nkept   %v %v %v", r.query, run, pc, pt, perr, cc, ct, cerr)
			}
			if !reflect.DeepEqual(pr, cr) {
				t.Fatalf("%s (run %d):\ndriver %#v\nkept   %#v", r.query, run, pr, cr)
			}
		}
	}
	for _, bad := range []struct {
		query string
		args  []any
	}{
		{"INSERT INTO v (n) VALUES (NULL)", nil},              // constraint
		{"SELECT nope FROM v", nil},                           // no such column
		{"SELECT $1, $2", []any{int64(1)}},                    // missing argument
		{"SELECT :name", []any{sql.Named("other", int64(1))}}, // missing named argument
		{"SELECT ?", []any{struct{}{}}},                       // not a driver value
	} {
		_, perr := plain.Exec(bad.query, bad.args...)
		_, cerr := cached.Exec(bad.query, bad.args...)
		if perr == nil || fmt.Sprint(perr) != fmt.Sprint(cerr) {
			t.Fatalf("%s: driver %v, kept %v", bad.query, perr, cerr)
		}
		var pe, ce *sqlite.Error
		if errors.As(perr, &pe) != errors.As(cerr, &ce) || (pe != nil && pe.Code() != ce.Code()) {
			t.Fatalf("%s: driver %#v, kept %#v", bad.query, perr, cerr)
		}
	}
	if _, ok := kept(t, cached)["SELECT * FROM v ORDER BY rowid"]; !ok {
		t.Fatal("the statement read is not kept")
	}
}

// A statement is prepared once and kept: its second run uses the same
// sqlite3 statement. The number kept stays within Capacity.
func TestStatementsAreKept(t *testing.T) {
	_, db := openBoth(t, filepath.Join(t.TempDir(), "k.db"))
	if _, err := db.Exec("CREATE TABLE k (x INTEGER)"); err != nil {
		t.Fatal(err)
	}
	const ins = "INSERT INTO k (x) VALUES ($1)"
	if _, err := db.Exec(ins, int64(1)); err != nil {
		t.Fatal(err)
	}
	first := kept(t, db)[ins]
	if first == 0 {
		t.Fatal("the insert is not kept")
	}
	if _, err := db.Exec(ins, int64(2)); err != nil {
		t.Fatal(err)
	}
	if again := kept(t, db)[ins]; again != first {
		t.Fatalf("the insert was prepared again: %#x, then %#x", first, again)
	}
	for i := range Capacity + 10 {
		if _, err := db.Exec(fmt.Sprintf("INSERT INTO k (x) VALUES (%d)", i)); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(kept(t, db)); n > Capacity {
		t.Fatalf("%d statements kept, past %d", n, Capacity)
	}
	var n int64
	if err := db.QueryRow("SELECT count(*) FROM k").Scan(&n); err != nil || n != Capacity+12 {
		t.Fatalf("count %d %v", n, err)
	}
}

// A text whose statement is being read runs as a statement of its own;
// a text of several statements runs each, through the driver.
func TestStatementBeingReadIsNotReused(t *testing.T) {
	_, db := openBoth(t, filepath.Join(t.TempDir(), "r.db"))
	if _, err := db.Exec("CREATE TABLE r (x INTEGER); INSERT INTO r VALUES (1), (2), (3)"); err != nil {
		t.Fatal(err)
	}
	c, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const q = "SELECT x FROM r WHERE x >= $1 ORDER BY x"
	outer, err := c.QueryContext(context.Background(), q, int64(1))
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for outer.Next() {
		var x int64
		if err := outer.Scan(&x); err != nil {
			t.Fatal(err)
		}
		var inner []int64
		rs, err := c.QueryContext(context.Background(), q, x)
		if err != nil {
			t.Fatal(err)
		}
		for rs.Next() {
			var y int64
			rs.Scan(&y)
			inner = append(inner, y)
		}
		if err := rs.Close(); err != nil {
			t.Fatal(err)
		}
		got = append(got, x, int64(len(inner)))
	}
	if err := outer.Close(); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[1 3 2 2 3 1]" {
		t.Fatalf("got %v", got)
	}
}

// A table changed by another connection (a column added) is read with
// its new columns by a statement kept from before.
func TestSchemaChangeIsSeen(t *testing.T) {
	other, db := openBoth(t, filepath.Join(t.TempDir(), "s.db"))
	if _, err := db.Exec("CREATE TABLE s (a INTEGER); INSERT INTO s VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	const q = "SELECT * FROM s"
	if cols, _, _, err := readAll(db, q); err != nil || fmt.Sprint(cols) != "[a]" {
		t.Fatalf("%v %v", cols, err)
	}
	if _, err := other.Exec("ALTER TABLE s ADD COLUMN b TEXT DEFAULT 'new'"); err != nil {
		t.Fatal(err)
	}
	cols, _, rows, err := readAll(db, q)
	if err != nil || fmt.Sprint(cols, rows) != "[a b] [[1 new]]" {
		t.Fatalf("%v %v %v", cols, rows, err)
	}
}

// A statement whose context ends while it runs is interrupted, and the
// connection then runs the next one.
func TestExecStopsAtItsDeadline(t *testing.T) {
	_, db := openBoth(t, filepath.Join(t.TempDir(), "d.db"))
	if _, err := db.Exec("CREATE TABLE d (x INTEGER)"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := db.ExecContext(ctx, "INSERT INTO d WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 500000000) SELECT count(*) FROM c")
	var se *sqlite.Error
	if took := time.Since(start); !errors.As(err, &se) || se.Code() != 9 || took > 5*time.Second { // SQLITE_INTERRUPT
		t.Fatalf("after %v: %v", took, err)
	}
	var n int64
	if err := db.QueryRow("SELECT 41 + 1").Scan(&n); err != nil || n != 42 {
		t.Fatalf("the next statement: %d %v", n, err)
	}
}

// So is a query's, as its rows are read (where SQLite does its work);
// and a query whose context has ended does not begin.
func TestQueryStopsAtItsDeadline(t *testing.T) {
	_, db := openBoth(t, filepath.Join(t.TempDir(), "q.db"))
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	var n int64
	err := db.QueryRowContext(ctx, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 500000000) SELECT count(*) FROM c").Scan(&n)
	var se *sqlite.Error
	if took := time.Since(start); !errors.As(err, &se) || se.Code() != 9 || took > 5*time.Second { // SQLITE_INTERRUPT
		t.Fatalf("after %v: %d %v", took, n, err)
	}
	if err := db.QueryRowContext(ctx, "SELECT 1").Scan(&n); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a query after its deadline: %d %v", n, err)
	}
	if err := db.QueryRow("SELECT 41 + 1").Scan(&n); err != nil || n != 42 {
		t.Fatalf("the next statement: %d %v", n, err)
	}
}

// A connection keeps pages of the allocator mapped: a block of the size
// of a statement journal's chunk, taken after it opened, comes from one
// of its pages, where one was mapped (and faulted in) for it, and
// unmapped after, at every statement of River's that wrote several rows.
func TestConnectionKeepsAllocatorPages(t *testing.T) {
	_, db := openBoth(t, filepath.Join(t.TempDir(), "p.db"))
	c, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.Raw(func(dc any) error {
		cc := dc.(*conn)
		pages := map[uintptr]bool{}
		for _, p := range cc.held {
			pages[p&^(allocPage-1)] = true
		}
		for _, size := range []int{1032, 4104, 8200} { // a journal chunk, a page's buffer, a cached page
			var blocks []uintptr
			for range heldLarge {
				p := libc.Xmalloc(cc.tls, types.Size_t(size))
				blocks = append(blocks, p)
				if !pages[p&^(allocPage-1)] {
					cc.free(blocks)
					return fmt.Errorf("a block of %d bytes came from a page the connection does not keep", size)
				}
			}
			cc.free(blocks)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
