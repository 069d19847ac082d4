package store

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tova/vm"
)

func obj(kv ...any) vm.Value {
	o := vm.NewObject()
	for i := 0; i+1 < len(kv); i += 2 {
		var v vm.Value
		switch x := kv[i+1].(type) {
		case string:
			v = vm.Str(x)
		case int:
			v = vm.Int(int64(x))
		case nil:
			v = vm.Nil
		case vm.Value:
			v = x
		}
		o.Set(kv[i].(string), v)
	}
	return vm.ObjectValue(o)
}

// The guide's keys, the reference's keys, and the mistakes a db block
// can contain.
func TestParseBlock(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		block   vm.Value
		want    Config
		wantErr string
	}{
		{obj("adapter", "sqlite", "database", "app.db"), Config{Adapter: SQLite, Path: filepath.Join(dir, "app.db")}, ""},
		{obj("driver", "sqlite", "path", "/tmp/x.db", "pool", 3), Config{Adapter: SQLite, Path: "/tmp/x.db", Pool: 3}, ""},
		{obj("adapter", "sqlite", "database", ":memory:"), Config{Adapter: SQLite, Path: ":memory:"}, ""},
		{obj(), Config{Adapter: SQLite, Path: filepath.Join(dir, "app.db")}, ""},
		{obj("adapter", "postgres", "url", "postgres://u:secret@h:5432/d", "pool", 20), Config{Adapter: Postgres, URL: "postgres://u:secret@h:5432/d", Pool: 20}, ""},
		{obj("driver", "postgresql", "url", "postgresql://h/d"), Config{Adapter: Postgres, URL: "postgresql://h/d"}, ""},
		{obj("url", "postgres://h/d"), Config{Adapter: Postgres, URL: "postgres://h/d"}, ""},
		{obj("adapter", "postgres", "url", nil), Config{}, "db.url is nil"},
		{obj("url", nil, "pool", 20), Config{}, "db.url is nil: is the environment variable it reads set?"},
		{obj("adapter", "sqlite", "path", nil), Config{}, "db.path is nil: is the environment variable it reads set?"},
		{obj("database", nil), Config{}, "db.database is nil"},
		// An adapter or a pool read from an unset variable was the
		// default: a SQLite file beside the program.
		{obj("adapter", nil), Config{}, "db.adapter is nil: is the environment variable it reads set?"},
		{obj("driver", nil, "path", "b.db"), Config{}, "db.driver is nil"},
		{obj("adapter", nil, "driver", "sqlite", "path", "/tmp/x.db"), Config{Adapter: SQLite, Path: "/tmp/x.db"}, ""},
		{obj("adapter", "sqlite", "database", "app.db", "pool", nil), Config{}, "db.pool is nil"},
		{obj("database", nil, "path", "b.db"), Config{Adapter: SQLite, Path: filepath.Join(dir, "b.db")}, ""},
		{obj("adapter", "postgres"), Config{}, `db { adapter: "postgres" } needs a url (url: env("DATABASE_URL")), or DATABASE_URL set in the environment`},
		{obj("adapter", "postgres", "url", "mysql://h/d"), Config{}, "must start with postgres://"},
		{obj("url", "not a url"), Config{}, `db.url must start with postgres://, got "not a url"`},
		{obj("url", "sqlite:./data.db"), Config{}, `db.url must start with postgres://, got "sqlite:…": a SQLite database is named by its file, database: "./data.db"`},
		{obj("url", "pw:secret@host"), Config{}, `db.url must start with postgres://, got "pw:…"`},
		{obj("url", "host=db password=secret"), Config{}, `db.url must start with postgres://, got "(unparsable URL)"`},
		// Another scheme's URL was shown as unparsable.
		{obj("url", "sqlite:foo.db"), Config{}, `db.url must start with postgres://, got "sqlite:…"`},
		{obj("url", "user:secret"), Config{}, `db.url must start with postgres://, got "user:…"`},
		{obj("adapter", "mysql"), Config{}, `db.adapter must be "sqlite" or "postgres", got "mysql"`},
		{obj("driver", "mysql"), Config{}, `db.driver must be "sqlite" or "postgres", got "mysql"`},
		{obj("adapter", "sqlite", "pool", 0), Config{}, "db.pool must be an Int between 1 and 10000"},
		{obj("adapter", "sqlite", "pool", "big"), Config{}, "db.pool must be an Int"},
		{obj("adapter", 1), Config{}, "db.adapter must be a String"},
		{obj("adapter", "sqlite", "database", ""), Config{}, `db.database must name a file, got ""`},
		{obj("path", "a\x00b"), Config{}, `db.database must name a file, got "a\x00b"`},
		{obj("database", "sub/"), Config{}, `db.database names a directory, not a file: name the file in it, such as "sub/app.db"`},
		{obj("database", "data/."), Config{}, `db.database names a directory, not a file: name the file in it, such as "data/app.db"`},
		{obj("database", "data/.."), Config{}, `db.database names a directory, not a file: name the file in it, such as "app.db"`},
		// (a directory already there, named without its slash)
		{obj("database", "data"), Config{}, `db.database names a directory, not a file: name the file in it, such as "data/app.db"`},
		{obj("database", "data/x.db"), Config{Adapter: SQLite, Path: filepath.Join(dir, "data", "x.db")}, ""},
		{obj("database", "~bob/x.db"), Config{}, `db.database begins with ~, which only a shell reads as a home directory: write the whole path`},
		{obj("database", "~"), Config{}, `db.database begins with ~, which only a shell reads as a home directory: write the whole path`},
		{obj("path", "~/tilde.db"), Config{}, `db.path begins with ~, which only a shell reads as the home directory: write the whole path (or env("HOME") + "/tilde.db")`},
		// The scheme written is shown, the password still not; a whole
		// Float pool shows as a Float; a url in a sqlite block, or a file
		// in a postgres one, is refused (it was ignored).
		{obj("url", "mysql://u:pw@host:3306/db"), Config{}, `db.url must start with postgres://, got "mysql://u@host:3306/db"`},
		{obj("adapter", "sqlite", "pool", vm.Float(20)), Config{}, "db.pool must be an Int between 1 and 10000, got 20.0"},
		{obj("adapter", "sqlite", "url", "postgres://h/d"), Config{}, `db.url is for PostgreSQL, but db.adapter is "sqlite"`},
		{obj("driver", "sqlite", "path", "a.db", "url", "postgres://h/d"), Config{}, `db.url is for PostgreSQL, but db.driver is "sqlite"`},
		{obj("url", "postgres://h/d", "database", "a.db"), Config{}, "db has both a url (PostgreSQL) and a database (SQLite)"},
		{obj("adapter", "postgres", "url", "postgres://h/d", "path", "a.db"), Config{}, `db.path names a SQLite file, but db.adapter is "postgres"`},
		{obj("adapter", "sqlite", "url", nil), Config{Adapter: SQLite, Path: filepath.Join(dir, "app.db")}, ""},
	}
	for _, c := range cases {
		got, err := parseBlock(c.block, dir, nil)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%s: error %v, want %q", vm.Repr(c.block), err, c.wantErr)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s: got %+v, %v; want %+v", vm.Repr(c.block), got, err, c.want)
		}
	}
}

// A postgres block without a url takes DATABASE_URL, as the reference's
// does (`db { driver: "postgres" }` failed to start); one written but
// nil is still refused, and without DATABASE_URL the message quotes the
// block's own key.
func TestPostgresBlockReadsDatabaseURL(t *testing.T) {
	env := func(v string) func(string) (string, bool) {
		return func(k string) (string, bool) { return v, k == "DATABASE_URL" && v != "" }
	}
	for _, b := range []vm.Value{obj("driver", "postgres"), obj("adapter", "pg")} {
		if got, err := parseBlock(b, "/d", env("postgres://env/db")); err != nil || got.Adapter != Postgres || got.URL != "postgres://env/db" {
			t.Errorf("%s with DATABASE_URL: %+v %v", vm.Repr(b), got, err)
		}
	}
	if _, err := parseBlock(obj("driver", "postgres"), "/d", env("")); err == nil || !strings.Contains(err.Error(), `db { driver: "postgres" } needs a url (url: env("DATABASE_URL")), or DATABASE_URL set in the environment`) {
		t.Errorf("without DATABASE_URL: %v", err)
	}
	if _, err := parseBlock(obj("adapter", "postgres", "url", nil), "/d", env("postgres://env/db")); err == nil || !strings.Contains(err.Error(), "db.url is nil") {
		t.Errorf("url: nil with DATABASE_URL: %v", err)
	}
}

func TestRedactURL(t *testing.T) {
	if got := redactURL("postgres://app:hunter2@db.internal:5432/shop?sslmode=require"); got != "app@db.internal:5432/shop" {
		t.Fatalf("redactURL = %q", got)
	}
	if strings.Contains((Config{Adapter: Postgres, URL: "postgres://a:pw@h/d"}).describe(), "pw") {
		t.Fatal("describe shows the password")
	}
}

func TestIsReadOnly(t *testing.T) {
	for q, want := range map[string]bool{
		"SELECT 1":                           true,
		"  select * from t":                  true,
		"-- note\nSELECT 1":                  true,
		"/* x */ (SELECT 1)":                 true,
		"VALUES (1)":                         true,
		"INSERT INTO t VALUES (1)":           false,
		"WITH x AS (DELETE FROM t) SELECT 1": false,
		// A report written with a CTE reads (it went to the writer,
		// holding off every write while it ran).
		"WITH totals AS (SELECT a, count(*) AS n FROM t GROUP BY a) SELECT * FROM totals":                  true,
		"with recursive c(x) as (select 1 union all select x+1 from c where x < 9) select count(*) from c": true,
		"WITH x AS (SELECT 'insert' AS \"update\", [delete] FROM t) SELECT * FROM x -- drop":               true,
		"WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x":                                               false,
		"WITH x AS (SELECT 1) /* note */ UPDATE t SET a = 1":                                               false,
		"WITH x AS (SELECT 1) REPLACE INTO t VALUES (1)":                                                   false,
		"WITH x AS (SELECT 'unterminated":                                                                  false,
		"UPDATE t SET a = 1":                                                                               false,
		"PRAGMA journal_mode":                                                                              false,
		"-- only a comment":                                                                                false,
		"DELETE FROM t WHERE id IN (SELECT 1)":                                                             false,
	} {
		if got := isReadOnly(q); got != want {
			t.Errorf("isReadOnly(%q) = %v", q, got)
		}
	}
}

func TestKindOf(t *testing.T) {
	for typ, want := range map[string]fieldKind{
		"Int": kindInt, "Float": kindFloat, "Bool": kindBool, "String": kindString, "Date": kindTime,
		"Option<Int>": kindInt, "String?": kindString, "[String]": kindJSON, "Object": kindJSON, "Address": kindJSON, "": kindJSON,
	} {
		if got := kindOf(typ); got != want {
			t.Errorf("kindOf(%q) = %v, want %v", typ, got, want)
		}
	}
}

// Existing column types that fit a field, and those that are a change.
func TestCompatible(t *testing.T) {
	for _, c := range []struct {
		d    *dialect
		kind fieldKind
		typ  string
		ok   bool
	}{
		{sqliteDialect, kindInt, "INTEGER", true},
		{sqliteDialect, kindInt, "BIGINT", true},
		{sqliteDialect, kindBool, "BOOLEAN", true},
		{sqliteDialect, kindBool, "INTEGER", true}, // SQLite has no Bool type: 0/1
		{postgresDialect, kindBool, "integer", false},
		{sqliteDialect, kindInt, "TEXT", false},
		{sqliteDialect, kindString, "VARCHAR(20)", true},
		{sqliteDialect, kindTime, "TEXT", true},
		{sqliteDialect, kindFloat, "REAL", true},
		{sqliteDialect, kindFloat, "INTEGER", false},
		{postgresDialect, kindInt, "bigint", true},
		{postgresDialect, kindInt, "integer", true},
		{postgresDialect, kindFloat, "double precision", true},
		{postgresDialect, kindBool, "boolean", true},
		{postgresDialect, kindString, "character varying", true},
		{postgresDialect, kindTime, "timestamp with time zone", true},
		{postgresDialect, kindTime, "text", false},
		{postgresDialect, kindJSON, "jsonb", true},
		{postgresDialect, kindString, "integer", false},
	} {
		if got := c.d.compatible(c.kind, c.d.classOf(c.typ)); got != c.ok {
			t.Errorf("%s: %v in a %s column: %v, want %v", c.d.name, c.kind, c.typ, got, c.ok)
		}
	}
}

// A JSON field orders by the bytes of its text on PostgreSQL too, as on
// SQLite (it followed the database's collation), whatever the column's
// type (json, jsonb or text).
func TestOrderTermJSON(t *testing.T) {
	for _, c := range []struct {
		d    *dialect
		k    fieldKind
		want string
	}{
		{postgresDialect, kindJSON, `("tags"::text) COLLATE "C" DESC NULLS LAST`},
		{postgresDialect, kindString, `"tags" COLLATE "C" DESC NULLS LAST`},
		{sqliteDialect, kindJSON, "`tags` DESC NULLS LAST"}, // (an identifier alone: see dialect.col)
	} {
		if got := c.d.orderTerm("tags", c.k, true, false); got != c.want {
			t.Errorf("%s %v: %s, want %s", c.d.name, c.k, got, c.want)
		}
	}
}
