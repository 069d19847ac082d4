package store_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"tova/store"
)

// Every SQLite connection, the writer and each reader, has a page cache
// of 32 MiB (SQLite's default is 2000 KiB), WAL and foreign keys: a scan
// of a table of a few megabytes is served from memory, not read again
// from the file.
func TestSQLiteConnectionSettings(t *testing.T) {
	db, err := store.Open(context.Background(), store.Config{Adapter: store.SQLite, Path: filepath.Join(t.TempDir(), "app.db"), Pool: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	w, r := db.Pools()
	check := func(name string, conn *sql.Conn) {
		t.Helper()
		for pragma, want := range map[string]string{"cache_size": "-32768", "journal_mode": "wal", "foreign_keys": "1"} {
			var got string
			if err := conn.QueryRowContext(context.Background(), "PRAGMA "+pragma).Scan(&got); err != nil {
				t.Fatalf("%s: PRAGMA %s: %v", name, pragma, err)
			}
			if got != want {
				t.Errorf("%s: PRAGMA %s = %s, want %s", name, pragma, got, want)
			}
		}
	}
	wc, err := w.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer wc.Close()
	check("writer", wc)
	// Three readers held at once: three connections, each set up.
	for i := range 3 {
		rc, err := r.Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		check("reader "+string(rune('1'+i)), rc)
	}
}

// A file in rollback mode whose write lock another connection holds (a
// second process starting on the same new file) is waited for, as the
// busy timeout says: switching it to WAL answered SQLITE_BUSY at once,
// and the start failed with "database is locked".
func TestSQLiteOpenWaitsForAWriteLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.db")
	other, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ctx := context.Background()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "CREATE TABLE x (a)"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "INSERT INTO x VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	released := make(chan struct{})
	go func() {
		time.Sleep(400 * time.Millisecond)
		conn.ExecContext(ctx, "COMMIT")
		conn.Close()
		close(released)
	}()
	db, err := store.Open(ctx, store.Config{Adapter: store.SQLite, Path: path})
	<-released
	if err != nil {
		t.Fatalf("open while another connection held the write lock: %v", err)
	}
	defer db.Close()
	w, _ := db.Pools()
	var mode string
	if err := w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode %q %v", mode, err)
	}
}

// On SQLite an Int compared in raw SQL with a model's Date column (`ts
// < $1` with Date.now() - 30.days, the guide's kind of time) is a
// TypeError, as on PostgreSQL: compared with the stored ISO text, as
// SQLite compares a number with text, it matched every row or none, and
// a purge deleted nothing without a word. An Int compared with another
// column, assigned (SET ts = $1), or compared in a table no model
// declares is left alone.
func TestSQLiteIntComparedWithDateColumn(t *testing.T) {
	src := `model Reading { device: String, ts: Date, n: Int }
model Post { title: String, timestamps: true }
db.run("CREATE TABLE sessions (token TEXT, created_at INTEGER)")
db.run("INSERT INTO sessions VALUES ($1, $2)", "old", 1000)
db.run("INSERT INTO sessions VALUES ($1, $2)", "fresh", 5000)
Reading.create({ device: "old", ts: "2020-01-01T00:00:00Z", n: 5 })
Reading.create({ device: "new", ts: "2026-11-30T00:00:00Z", n: 7 })
cutoff = 1735689600000 // 2025-01-01
fn attempt(f) { try { print(f()) } catch e { print(e.kind, e.message) } }
attempt(fn() db.run("DELETE FROM readings WHERE ts < $1", cutoff).changes)
attempt(fn() db.query("SELECT device FROM readings r WHERE $1 > r.\"ts\"", cutoff))
attempt(fn() db.query("SELECT device FROM main.readings WHERE ts BETWEEN $1 AND $2", 0, cutoff))
attempt(fn() db.query("SELECT p.title FROM posts p JOIN readings r ON r.n = p.id WHERE p.created_at > $1", 0))
attempt(fn() db.query("SELECT device FROM readings WHERE n < $1", 6) |> map(.device))
attempt(fn() db.run("UPDATE readings SET n = $1 WHERE n = $2", 6, 5).changes)
attempt(fn() db.run("DELETE FROM sessions WHERE created_at < $1", 2000).changes)
attempt(fn() db.query("SELECT device FROM readings WHERE ts < $1", Date.new(cutoff)) |> map(.device))
// (a comma join's other table; an alias of a count, which a HAVING
// does not read: SQLite's ts there is the column; a derived table; and
// an upsert's DO UPDATE, which named SET as its table)
attempt(fn() db.query("SELECT r.device FROM readings r, sessions s WHERE s.created_at > $1", 0) |> map(.device))
attempt(fn() db.query("SELECT r.device FROM readings r, posts p WHERE r.ts > $1", 0))
attempt(fn() db.query("SELECT device, count(*) AS ts FROM readings GROUP BY device HAVING ts >= $1", 1) |> map(.ts))
attempt(fn() db.query("SELECT * FROM (SELECT device, n AS ts FROM readings) WHERE ts > $1", 5) |> map(.ts))
attempt(fn() db.run("INSERT INTO readings (id, device, ts, n) VALUES (1, 'x', '2020-01-01T00:00:00.000Z', 1) ON CONFLICT(id) DO UPDATE SET n = 2 WHERE ts < $1", 5).changes)
// (NOT BETWEEN deleted every row; an IN list, IS; an Int stored in the
// column, which a purge by a Date then deleted however new)
attempt(fn() db.run("DELETE FROM readings WHERE ts NOT BETWEEN $1 AND $2", 0, cutoff).changes)
attempt(fn() db.query("SELECT * FROM readings WHERE n IN ($1, $2) OR ts IN ($3)", 1, 2, 3))
attempt(fn() db.run("UPDATE readings SET ts = $1 WHERE ts IS NULL", cutoff).changes)
attempt(fn() db.run("INSERT INTO readings (device, n, ts) VALUES ($1, $2, $3), ('y', 1, $4)", "x", 8, Date.new(cutoff), cutoff).changes)
attempt(fn() db.run("INSERT INTO readings (device, n, ts) VALUES ($1, $2, $3)", "x", 8, Date.new(cutoff)).changes)
`
	got := freshDB(t, store.SQLite).run(t, "app.tova", []byte(src))
	want := `TypeError db.run: parameter $1 is the Int 1735689600000, compared with the Date column ts, which holds ISO text: give a Date, Date.new(1735689600000) (SQLite compares a number with text by their kinds, and would match every row or none)
TypeError db.query: parameter $1 is the Int 1735689600000, compared with the Date column ts, which holds ISO text: give a Date, Date.new(1735689600000) (SQLite compares a number with text by their kinds, and would match every row or none)
TypeError db.query: parameter $1 is the Int 0, compared with the Date column ts, which holds ISO text: give a Date, Date.new(0) (SQLite compares a number with text by their kinds, and would match every row or none)
TypeError db.query: parameter $1 is the Int 0, compared with the Date column created_at, which holds ISO text: give a Date, Date.new(0) (SQLite compares a number with text by their kinds, and would match every row or none)
["old"]
1
1
["old"]
["old", "new"]
TypeError db.query: parameter $1 is the Int 0, compared with the Date column ts, which holds ISO text: give a Date, Date.new(0) (SQLite compares a number with text by their kinds, and would match every row or none)
TypeError db.query: parameter $1 is the Int 1, compared with the Date column ts, which holds ISO text: give a Date, Date.new(1) (SQLite compares a number with text by their kinds, and would match every row or none)
[6, 7]
TypeError db.run: parameter $1 is the Int 5, compared with the Date column ts, which holds ISO text: give a Date, Date.new(5) (SQLite compares a number with text by their kinds, and would match every row or none)
TypeError db.run: parameter $1 is the Int 0, compared with the Date column ts, which holds ISO text: give a Date, Date.new(0) (SQLite compares a number with text by their kinds, and would match every row or none)
TypeError db.query: parameter $3 is the Int 3, compared with the Date column ts, which holds ISO text: give a Date, Date.new(3) (SQLite compares a number with text by their kinds, and would match every row or none)
TypeError db.run: parameter $1 is the Int 1735689600000, stored in the Date column ts, which holds ISO text: give a Date, Date.new(1735689600000) (a number there sorts before every date: a purge by a Date would delete the row however new)
TypeError db.run: parameter $4 is the Int 1735689600000, stored in the Date column ts, which holds ISO text: give a Date, Date.new(1735689600000) (a number there sorts before every date: a purge by a Date would delete the row however new)
1
`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
