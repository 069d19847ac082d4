package store

import (
	"database/sql"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tova/vm"
)

func TestStatementsSplit(t *testing.T) {
	for sql, want := range map[string]int{
		"SELECT 1":                       1,
		"SELECT 1;":                      1,
		"SELECT ';'; SELECT 2":           2,
		"SELECT 1 -- ; not a split\n":    1,
		"SELECT 1 /* ; */ ; SELECT 2":    2,
		"SELECT $$a;b$$; SELECT $t$;$t$": 2,
		"SELECT $1, $2; SELECT 3":        2,
		`SELECT "a;b" FROM x`:            1,
		";;  ; -- only comments\n":       0,
		// A CREATE's BEGIN ... END body is one statement with it (its
		// END was one of its own, refused as a transaction's).
		"CREATE TRIGGER t AFTER INSERT ON a BEGIN INSERT INTO b VALUES (1); UPDATE c SET n = CASE WHEN n > 0 THEN 1 END; END; SELECT 2": 2,
		"CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END":                                                       1,
		"begin; select 1; end": 3,
		// Only such a body: a column named begin glued the next
		// statement (a BEGIN run by hand) to the CREATE TABLE.
		"CREATE TABLE shifts (begin TEXT, finish TEXT); BEGIN":                   2,
		"CREATE TRIGGER t AFTER UPDATE ON a BEGIN UPDATE b SET x = new.end; END": 1,
		"CREATE TEMP TRIGGER t AFTER UPDATE ON a BEGIN SELECT 1; END; END":       2,
	} {
		if got := len(statements(sql)); got != want {
			t.Errorf("statements(%q): %d, want %d", sql, got, want)
		}
	}
}

// readTime hands back tova's own ISO text as it is, for every time of
// the years 1 to 9999, and refuses text of that length that is no time.
func TestReadTimeKeepsISOText(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	lo, hi := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli(), time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC).UnixMilli()
	for range 20000 {
		s := formatTime(time.UnixMilli(lo + r.Int64N(hi-lo+1)))
		if got, ok := readTime(s); !ok || got != s {
			t.Fatalf("readTime(%q) = %q, %v", s, got, ok)
		}
	}
	for _, s := range []string{"2026-02-30T00:00:00.000Z", "2026-01-02T24:00:00.000Z", "2026-01-02T03:04:05.000X", "2026-01-02 03:04:05.000Z"[:23] + "x"} {
		if got, ok := readTime(s); ok {
			t.Errorf("readTime(%q) = %q, want no time", s, got)
		}
	}
}

// Raw SQL takes exactly the parameters its $1, $2, ... name, on both
// engines, and SQLite refuses the ? placeholders PostgreSQL would not
// read; quoted text, comments and dollar quotes are not looked into.
func TestCheckPlaceholders(t *testing.T) {
	for _, c := range []struct {
		sql    string
		n      int
		sqlite bool
		want   string // "" for no error
	}{
		{"select * from t where a = $1 and b = $2", 2, true, ""},
		{"select * from t where a = $1 or b = $1", 1, true, ""},
		{"select $1::int + $2", 2, false, ""},
		// a gap: SQLite takes it, PostgreSQL cannot type $2
		{"select $1 + $10", 10, false, "db.query: the SQL uses $10 but not $2: number the placeholders from $1 with none left out"},
		{"select $1, $3", 3, true, "the SQL uses $3 but not $2"},
		// PostgreSQL's cast, which SQLite read as a name
		{"select $1::bigint", 1, true, "db.query: $1::bigint is PostgreSQL's cast, which SQLite does not read: write CAST($1 AS …), which both read"},
		{"select $1 :: bigint", 1, true, "db.query: $1::bigint is PostgreSQL's cast"},
		{"select $0", 1, false, "db.query: $0 is no placeholder: they are numbered from $1"},
		{"select * from t where a = $1", 2, true, "db.query: the SQL takes 1 parameter ($1), given 2"},
		{"select * from t", 1, false, "db.query: the SQL takes no parameters, given 1"},
		{"select * from t where a = $1 and b = $3", 2, true, "takes 3 parameters ($1 to $3), given 2"},
		{"select * from t where a = ?", 1, true, "not ?"},
		{"select data ? 'key' from t", 0, false, ""},
		{"select * from t where a = ?", 1, false, "db.query: the placeholders are $1, $2, ... on both engines, not ?"},
		{"select * from t where data ? $1", 1, false, ""},
		{"select '$1 ?', \"$2\" -- $3 ?\n from t /* $4 ? */", 0, true, ""},
		{"select $tag$ $1 ? $tag$ from t", 0, true, ""},
		{"select 'unclosed $1", 0, true, ""},
		// Placeholders with no space between them are not a $tag$
		// quote (they were taken for one, tagged "1,").
		{"insert into t (a, b) values ($1,$2)", 2, true, ""},
		{"select coalesce($1,$2) where $3+$4 > 0", 4, false, ""},
		{"select $$ $1 $$, $a_1$ $2 $a_1$", 0, false, ""},
	} {
		err := checkPlaceholders("query", c.sql, c.n, c.sqlite)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%q with %d: %v", c.sql, c.n, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%q with %d: got %v, want %q", c.sql, c.n, err, c.want)
		}
	}
}

// What runs on SQLite's writer for the state only it has: a call of
// last_insert_rowid() or changes(), the temp schema, a TEMP table a raw
// statement made (quoted or not), until it is dropped; not a column
// named temp or changes, nor a column of the TEMP table's definition.
func TestReadsWriterState(t *testing.T) {
	db := &DB{d: sqliteDialect}
	db.noteTemps(`CREATE TEMP TABLE "staging" (id INTEGER, name TEXT)`)
	db.noteTemps(`CREATE TEMPORARY TABLE IF NOT EXISTS scratch (v TEXT)`)
	for q, want := range map[string]bool{
		"SELECT last_insert_rowid() AS id":  true,
		"SELECT changes()":                  true,
		"SELECT * FROM temp.sqlite_master":  true,
		`SELECT * FROM "staging"`:           true,
		"SELECT v FROM scratch WHERE v > 1": true,
		"SELECT temp, city FROM readings":   false,
		"SELECT changes FROM audit_log":     false,
		"SELECT id, name FROM users":        false,
		"SELECT 'scratch' AS s":             false,
		"SELECT u.scratch FROM users u":     false,
	} {
		if got := db.readsWriterState(q); got != want {
			t.Errorf("readsWriterState(%q) = %v, want %v", q, got, want)
		}
	}
	db.noteTemps("DROP TABLE IF EXISTS scratch")
	if db.readsWriterState("SELECT v FROM scratch") {
		t.Error("a dropped TEMP table is still read on the writer")
	}
	if (&DB{d: postgresDialect}).readsWriterState("SELECT changes()") {
		t.Error("PostgreSQL has no writer connection of its own")
	}
}

// A SQLite database that cannot be written (its file, or its directory,
// where the WAL's files go, also to read) says so, not only SQLite's
// "attempt to write a readonly database".
func TestReadonlyDatabaseSaid(t *testing.T) {
	e := unavailable(errors.New("attempt to write a readonly database (1544)"), &Config{Adapter: SQLite, Path: "/srv/ro.db"})
	if !strings.Contains(e.Msg, "the file, or the directory it is in, is not writable by this process") {
		t.Errorf("%s", e.Msg)
	}
}

// A SQLite file another connection holds locked past the busy timeout
// is DatabaseUnavailable saying so (it said "cannot reach" the file, with
// the driver's "(5) (SQLITE_BUSY)").
func TestLockedFileSaysLocked(t *testing.T) {
	saved := busyTimeout
	busyTimeout = 200 * time.Millisecond
	defer func() { busyTimeout = saved }()
	cfg := Config{Adapter: SQLite, Path: filepath.Join(t.TempDir(), "l.db"), Source: "db block at app.tova:1:1"}
	holder, err := sql.Open("sqlite", sqliteDSN(cfg.Path, true))
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	holder.SetMaxOpenConns(1)
	if _, err := holder.Exec("CREATE TABLE t (a INTEGER)"); err != nil {
		t.Fatal(err)
	}
	if _, err := holder.Exec("BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	defer holder.Exec("ROLLBACK")
	other, err := sql.Open("sqlite", sqliteDSN(cfg.Path, true))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	_, err = other.Exec("INSERT INTO t VALUES (1)")
	if err == nil {
		t.Fatal("a write past an exclusive lock succeeded")
	}
	var ve *vm.Error
	if e := dbError(err, &cfg); !errors.As(e, &ve) || ve.Kind != KindUnavailable ||
		ve.Msg != "SQLite database "+cfg.Path+" stayed locked by another connection past the 200ms busy timeout (a long transaction, or another process writing it) (the db block at app.tova:1:1)" {
		t.Errorf("locked: %v", e)
	}
}
