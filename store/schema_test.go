package store_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"tova/driver"
	"tova/store"
	"tova/vm"
)

// A model that gains fields gets the columns added (old rows take a
// literal default, else read nil there); a field whose type changed is
// reported, and the table is left as it was.
func TestSchemaEvolution(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e, func(t *testing.T) {
			t.Parallel()
			d := freshDB(t, e)
			v1 := `model Task { title: String }
print(Task.create({ title: "old" }))`
			if got := d.run(t, "v1.tova", []byte(v1)); got != "{ id: 1, title: \"old\" }\n" {
				t.Fatalf("v1: %q", got)
			}
			v2 := `model Task {
  title: String
  done: Bool = false
  points: Float
  timestamps: true
}
print(Task.create({ title: "new" }))
print(Task.all())`
			want := `{ id: 2, title: "new", done: false, points: nil, created_at: "2026-01-02T03:04:06.000Z", updated_at: "2026-01-02T03:04:06.000Z" }
[{ id: 1, title: "old", done: false, points: nil, created_at: nil, updated_at: nil }, { id: 2, title: "new", done: false, points: nil, created_at: "2026-01-02T03:04:06.000Z", updated_at: "2026-01-02T03:04:06.000Z" }]
`
			if got := d.run(t, "v2.tova", []byte(v2)); got != want {
				t.Fatalf("v2:\n%s\nwant:\n%s", got, want)
			}
			v3 := `model Task {
  title: Int
  done: String
  extra: Int
}
print("not reached")`
			got := d.run(t, "v3.tova", []byte(v3))
			for _, s := range []string{"SchemaError", "model Task does not match table tasks", "field done is declared String but the column has type BOOLEAN", "field title is declared Int but the column has type " + map[string]string{"sqlite": "VARCHAR", "postgres": "CHARACTER VARYING"}[e]} {
				if !strings.Contains(got, s) {
					t.Errorf("v3 output lacks %q:\n%s", s, got)
				}
			}
			if strings.Contains(got, "not reached") {
				t.Error("a model that does not match its table must stop the program where it is declared")
			}
			// The table is unchanged (the refused declaration added no
			// column): v2 still runs.
			if got := d.run(t, "v4.tova", []byte(`model Task { title: String }
print(Task.count(), Task.find(1).title)
print(try { db.query("SELECT extra FROM tasks") } catch e { "no column extra" })`)); got != "2 old\nno column extra\n" {
				t.Fatalf("after the mismatch: %q", got)
			}
			// A String retyped Date is refused on SQLite too, where
			// both are text: "old" would read as a Date, and rows
			// reading as one instant missed a filter on it.
			got = d.run(t, "v5.tova", []byte("model Task { title: Date }\nprint(\"not reached\")"))
			if want := "field title is declared Date but the column has type " + map[string]string{"sqlite": "VARCHAR", "postgres": "CHARACTER VARYING"}[e]; !strings.Contains(got, want) || strings.Contains(got, "not reached") {
				t.Errorf("a String retyped Date: %s", got)
			}
			// So is one retyped a list, an object or a record: its
			// values read as Strings, which could not be written back.
			for _, typ := range []string{"[String]", "Object", "Point"} {
				got = d.run(t, "v6.tova", []byte("type Point { x: Int }\nmodel Task { title: "+typ+" }\nprint(\"not reached\")"))
				if want := "field title is declared " + typ + " but the column has type " + map[string]string{"sqlite": "VARCHAR", "postgres": "CHARACTER VARYING"}[e]; !strings.Contains(got, want) || strings.Contains(got, "not reached") {
					t.Errorf("a String retyped %s: %s", typ, got)
				}
			}
		})
	}
}

// Ready reports an unreachable database, also when the model was
// declared before the db block had run (where the declaration cannot
// check it); a runtime calls it once a server's body has run.
// A String? or alias-typed String field's column that this tova made
// holds plain text, whatever the text: a value that begins with a
// quote reads back as written after a restart, and the next writes stay
// plain (the column was taken for the JSON text older tovas stored).
func TestNewStringColumnKeepsQuotedText(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e, func(t *testing.T) {
			t.Parallel()
			d := freshDB(t, e)
			src := `type Title = String
model Note { text: String?, b: Title }
if Note.count() == 0 {
  Note.create({ text: "\"42\"", b: "\"Hi\", she said" })
} else {
  Note.create({ text: "plain", b: "plain" })
}
print(Note.all())
print(Note.count({ text: "\"42\"" }), Note.count({ text: "plain" }))
print(db.query("SELECT text, b FROM notes ORDER BY id"))
`
			first := d.run(t, "v1.tova", []byte(src))
			if want := `[{ id: 1, text: "\"42\"", b: "\"Hi\", she said" }]
1 0
[{ text: "\"42\"", b: "\"Hi\", she said" }]
`; first != want {
				t.Fatalf("first run:\n%s\nwant:\n%s", first, want)
			}
			want := `[{ id: 1, text: "\"42\"", b: "\"Hi\", she said" }, { id: 2, text: "plain", b: "plain" }]
1 1
[{ text: "\"42\"", b: "\"Hi\", she said" }, { text: "plain", b: "plain" }]
`
			if got := d.run(t, "v1.tova", []byte(src)); got != want {
				t.Fatalf("after a restart:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// A TEXT column of a String? field that a tova since the JSON-storing
// ones made holds plain text: its first value tells, and a later value
// that happens to be a JSON string ("42" with its quotes) reads as it
// is. One whose first value is a JSON string is an older tova's.
func TestTextColumnOfPlainStringsStaysPlain(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e, func(t *testing.T) {
			t.Parallel()
			d := freshDB(t, e)
			src := `db.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
db.exec("CREATE TABLE olds (id INTEGER PRIMARY KEY, text TEXT)")
db.run("INSERT INTO notes (id, text) VALUES (1, $1), (2, $2)", "hello", "\"42\"")
db.run("INSERT INTO olds (id, text) VALUES (1, $1), (2, $2)", "\"hi\"", "plain")
model Note { text: String? }
model Old { text: String? }
print(Note.all() |> map(.text), Old.all() |> map(.text))
`
			if e == "postgres" {
				src = strings.ReplaceAll(src, "INTEGER PRIMARY KEY", "BIGSERIAL PRIMARY KEY")
			}
			want := "[\"hello\", \"\\\"42\\\"\"] [\"hi\", \"plain\"]\n"
			if got := d.run(t, "app.tova", []byte(src)); got != want {
				t.Fatalf("got:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestReadyReportsUnreachableDatabase(t *testing.T) {
	src := []byte(`model Order { total: Float }
db { adapter: "postgres", url: "postgres://tova@127.0.0.1:1/nothing?sslmode=disable&connect_timeout=2" }
print("declared")`)
	in, err := runMain(t, src)
	if err != nil {
		t.Fatalf("main: %v", err)
	}
	err = store.Ready(context.Background(), in)
	var ve *vm.Error
	// It names the db block too: a start-up that fails here (a server
	// whose program has no model) has no other position to show.
	if !errors.As(err, &ve) || ve.Kind != store.KindUnavailable || !strings.Contains(ve.Msg, "cannot reach PostgreSQL at tova@127.0.0.1:1/nothing") ||
		!strings.Contains(ve.Msg, "(the db block at app.tova:2:1)") {
		t.Fatalf("Ready: %v", err)
	}
	// A health check's Ping says the same.
	configured, err := store.Ping(context.Background(), in)
	if !configured || !errors.As(err, &ve) || !strings.Contains(ve.Msg, "cannot reach PostgreSQL at tova@127.0.0.1:1/nothing") {
		t.Fatalf("Ping: %v %v", configured, err)
	}
}

// Declaring a model whose db block names an unreachable server fails
// right there, with an error that names the server (not the password).
func TestUnreachableAtDeclaration(t *testing.T) {
	src := []byte(`db { adapter: "postgres", url: "postgres://app:s3cret@127.0.0.1:1/shop?sslmode=disable" }
model Order { total: Float }
print("not reached")`)
	got := testDB{dir: t.TempDir()}.runPlain(t, src)
	for _, s := range []string{"app.tova:2:1", "DatabaseUnavailable", "cannot reach PostgreSQL at app@127.0.0.1:1/shop"} {
		if !strings.Contains(got, s) {
			t.Errorf("output lacks %q:\n%s", s, got)
		}
	}
	if strings.Contains(got, "s3cret") || strings.Contains(got, "not reached") {
		t.Errorf("output:\n%s", got)
	}
}

// Without a db block, models use app.db next to the program, and say so.
func TestDefaultSQLiteFile(t *testing.T) {
	d := testDB{dir: t.TempDir()}
	got := d.runPlain(t, []byte(`model Note { body: String }
Note.create({ body: "hi" })
print(Note.count(), db.adapter)`))
	want := "tova: no db block: using the SQLite database " + d.dir + "/app.db\n1 sqlite\n"
	if got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// A script (tova run) is warned of an unknown key in its db block when
// the database opens, as serve warns in its log (it was silent).
func TestScriptWarnsOfUnknownDBKeys(t *testing.T) {
	wantOutput(t, []byte(`db { adapter: "sqlite", database: "app.db", poool: 3 }
model Note { body: String }
print(Note.count())`), "tova: warning: unknown key poool in the db block at app.tova:1:1 (did you mean pool?): it has no effect (keys: adapter, driver, database, path, url, pool)\n0\n")
}

// runPlain runs a program as `tova run` does, with its own db blocks.
// A SQLite file that cannot be opened or created is said so, not with
// the driver's "out of memory". Directories on its path that are not
// there yet are made (database: "data/app.db" in a deployment's dist/).
func TestSQLiteCannotOpen(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "afile"), []byte("x"), 0o644)
	made := filepath.Join(dir, "no", "such", "dir", "x.db")
	if got := (testDB{dir: dir}).runPlain(t, []byte(fmt.Sprintf("db { adapter: \"sqlite\", database: %q }\nmodel Item { name: String }\nprint(Item.count())", made))); got != "0\n" {
		t.Errorf("%s: %s", made, got)
	}
	if _, err := os.Stat(made); err != nil {
		t.Error(err)
	}
	for _, path := range []string{filepath.Join(dir, "afile", "x.db"), dir} {
		src := []byte(fmt.Sprintf("db { adapter: \"sqlite\", database: %q }\nmodel Item { name: String }\nprint(\"not reached\")", path))
		got := testDB{dir: dir}.runPlain(t, src)
		want := "cannot reach SQLite database " + path + ": cannot open or create the file"
		if path == dir {
			// (a directory there already: said at the path)
			want = "app.tova:1:35: ConfigError: db.database names a directory, not a file: name the file in it, such as \"" + filepath.Join(dir, "app.db") + "\""
		}
		if !strings.Contains(got, want) || strings.Contains(got, "out of memory") {
			t.Errorf("%s:\n%s", path, got)
		}
	}
}

// wantOutput runs src on a fresh SQLite directory and checks its whole
// output.
func wantOutput(t *testing.T, src []byte, want string) {
	t.Helper()
	if got := (testDB{dir: t.TempDir()}).runPlain(t, src); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func (d testDB) runPlain(t *testing.T, src []byte) string {
	t.Helper()
	p, err := driver.CompileFile("app.tova", src)
	if err != nil {
		t.Fatal(driver.FormatError(err, src))
	}
	var out strings.Builder
	err = driver.Run(context.Background(), p, vm.Config{Stdout: &out, Stderr: &out, Dir: d.dir, Getenv: d.getenv})
	if err != nil {
		out.WriteString(driver.FormatError(err, src))
	}
	return out.String()
}

// ":memory:" is one private database, kept on a single connection that
// reads, writes and transactions share.
func TestInMemorySQLite(t *testing.T) {
	got := testDB{dir: t.TempDir()}.runPlain(t, []byte(`db { adapter: "sqlite", database: ":memory:" }
model Note { body: String }
Note.create({ body: "a" })
db.transaction(fn() {
  Note.create({ body: "b" })
  print(Note.count(), len(db.query("SELECT * FROM notes")))
})
print(Note.all() |> map(fn(n) n.body))`))
	if got != "2 2\n[\"a\", \"b\"]\n" {
		t.Fatalf("got %q", got)
	}
}

// A raw BEGIN or COMMIT would take over the writer connection every
// request writes through (later writes reported success and were lost):
// it is refused, pointing to db.transaction. query, get and run take one
// statement (SQLite ran a stacked DELETE and answered its empty result).
func TestRawSQLGuards(t *testing.T) {
	src := []byte(`db { adapter: "sqlite", database: "g.db" }
db.exec("CREATE TABLE t (v INTEGER); INSERT INTO t (v) VALUES (1); INSERT INTO t (v) VALUES (2)")
for sql in ["BEGIN", "commit", "  -- c\n ROLLBACK", "INSERT INTO t (v) VALUES (3); BEGIN TRANSACTION"] {
  print(try { db.exec(sql) } catch e { e.kind + ": " + e.message })
}
print(try { db.query("SELECT * FROM t; DELETE FROM t") } catch e { e.kind + ": " + e.message })
print(try { db.get("SELECT 1 AS a; DROP TABLE t") } catch e { e.kind + ": " + e.message })
print(db.query("SELECT v FROM t WHERE v > $1 ORDER BY v -- trailing; comment", 0))
print(db.query("SELECT ';' AS s, 'it''s; fine' AS q"))
print(db.query("SELECT count(*) AS n FROM t;"))
db.run("INSERT INTO t (v) VALUES (5), (6)")
print(db.run("SELECT 1").changes)
print(try { db.exec("INSERT INTO t (v) VALUES (7); INSERT INTO t (v) VALUES (8); SELEC") } catch e { e.kind })
print(db.query("SELECT count(*) AS n FROM t WHERE v > 6"))
db.exec("CREATE TABLE audit (m TEXT); CREATE TRIGGER t_ins AFTER INSERT ON t BEGIN INSERT INTO audit (m) VALUES ('ins ' || NEW.v); END")
db.run("INSERT INTO t (v) VALUES ($1)", 9)
print(db.query("SELECT m FROM audit"))`)
	wantOutput(t, src, `DatabaseError: db.exec: BEGIN is not run by hand: a transaction is db.transaction(fn() { ... }), committed when fn returns and rolled back when it raises
DatabaseError: db.exec: COMMIT is not run by hand: a transaction is db.transaction(fn() { ... }), committed when fn returns and rolled back when it raises
DatabaseError: db.exec: ROLLBACK is not run by hand: a transaction is db.transaction(fn() { ... }), committed when fn returns and rolled back when it raises
DatabaseError: db.exec: BEGIN is not run by hand: a transaction is db.transaction(fn() { ... }), committed when fn returns and rolled back when it raises
DatabaseError: db.query runs one statement, got 2: use db.exec for several (it takes no parameters)
DatabaseError: db.get runs one statement, got 2: use db.exec for several (it takes no parameters)
[{ v: 1 }, { v: 2 }]
[{ s: ";", q: "it's; fine" }]
[{ n: 2 }]
0
DatabaseError
[{ n: 0 }]
[{ m: "ins 9" }]
`)
}

// An Option field takes the language's own Options: None as NULL, Some(x)
// as x, in create and in filters.
func TestOptionFieldsTakeOptions(t *testing.T) {
	src := []byte(`db { adapter: "sqlite", database: ":memory:" }
model T { name: String, opt: Option<Int> }
T.create({ name: "a", opt: Some(3) })
T.create({ name: "b", opt: None })
print(T.all())
print(T.where({ opt: Some(3) }))
print(try { T.create({ name: "d", opt: Some("x") }) } catch e { e.message })`)
	wantOutput(t, src, `[{ id: 1, name: "a", opt: 3 }, { id: 2, name: "b", opt: nil }]
[{ id: 1, name: "a", opt: 3 }]
T.create: field opt is Option<Int>, got "x"
`)
}

// where and first take options given alone as named arguments, and
// beside a filter given as named arguments (M.where(odd: true, order:
// "-v") was a ColumnError: no field order). A field of that name is the
// filter's.
func TestOptionsAloneAsNamedArguments(t *testing.T) {
	src := []byte(`db { adapter: "sqlite", database: ":memory:" }
model M { v: Int, odd: Bool }
for v in [3, 1, 2] { M.create({ v, odd: v % 2 == 1 }) }
print(M.first(order: "-v").v)
print(M.where(order: "v", limit: 2) |> map(fn(r) r.v))
print(M.first({ v: 1 }, order: "-id").v)
print(M.where(odd: true, order: "-v") |> map(fn(r) r.v))
print(M.first(odd: true, order: "v").v)
model Step { order: Int }
Step.create({ order: 2 })
print(Step.where(order: 2, limit: 1) |> map(fn(r) r.order))
print(Step.where(order: 3, limit: 1))`)
	wantOutput(t, src, "3\n[1, 2]\n1\n[3, 1]\n1\n[2]\n[]\n")
}

// On SQLite, a Bool field takes an INTEGER column holding 0/1, as the
// reference and other SQLite tools write booleans.
func TestBoolFieldOnIntegerColumn(t *testing.T) {
	src := []byte(`db { adapter: "sqlite", database: "b.db" }
db.exec("CREATE TABLE flags (id INTEGER PRIMARY KEY, on_ INTEGER); INSERT INTO flags (on_) VALUES (1), (0)")
model Flag { on_: Bool, table: "flags" }
print(Flag.all())
Flag.create({ on_: true })
print(Flag.where({ on_: true }) |> map(fn(f) f.id))`)
	wantOutput(t, src, "[{ id: 1, on_: true }, { id: 2, on_: false }]\n[1, 3]\n")
	// A column of other numbers (an Int field's, before it became a
	// Bool) is not taken: its 5 would read true, and a filter on true
	// would miss it.
	src = []byte(`db { adapter: "sqlite", database: "b.db" }
db.exec("CREATE TABLE counts (id INTEGER PRIMARY KEY, n INTEGER); INSERT INTO counts (n) VALUES (1), (5), (NULL)")
model Count { n: Bool, table: "counts" }
print("not reached")`)
	want := "app.tova:3:1: SchemaError: model Count does not match table counts: field n is declared Bool but its INTEGER column holds 5, not only 0 and 1; change the declaration or migrate the table (columns are never converted or dropped)"
	if got := (testDB{dir: t.TempDir()}).runPlain(t, src); !strings.Contains(got, want) || strings.Contains(got, "not reached") {
		t.Errorf("got:\n%s\nwant the error:\n%s", got, want)
	}
}

// A model's value is also named as the reference names it, UserModel
// for model User, unless the program declares that name itself.
func TestModelNamedWithModelSuffix(t *testing.T) {
	wantOutput(t, []byte(`db { adapter: "sqlite", database: "m.db" }
model User { name: String }
model Task { title: String }
TaskModel = "mine"
UserModel.create({ name: "ann" })
fn names() { UserModel.all() |> map(.name) }
print(names(), User.count(), TaskModel)`), "[\"ann\"] 1 mine\n")
}

// Two fields whose names differ only in case are refused where the
// model is declared, on PostgreSQL too: SQLite's column names ignore
// case, and the program is to run on both.
func TestFieldsDifferingInCase(t *testing.T) {
	for src, want := range map[string]string{
		"model U {\n  userName: String\n  username: String\n}\nprint(\"not reached\")": "app.tova:1:1: SchemaError: model U: fields userName and username differ only in case",
		"model U { ID: Int }\nprint(\"not reached\")":                                  "app.tova:1:1: SchemaError: model U: fields id and ID differ only in case",
		"model U { Created_At: String, timestamps: true }\nprint(\"not reached\")":     "app.tova:1:1: SchemaError: model U: field Created_At and the timestamp created_at differ only in case",
	} {
		if got := (testDB{dir: t.TempDir()}).runPlain(t, []byte(src)); !strings.Contains(got, want) || strings.Contains(got, "not reached") {
			t.Errorf("got:\n%s\nwant the error:\n%s", got, want)
		}
	}
}

// A table whose id is not an integer key (ids come back as text, or nil
// for new rows) does not fit a model.
func TestTextIDIsASchemaError(t *testing.T) {
	src := []byte(`db { adapter: "sqlite", database: "i.db" }
db.exec("CREATE TABLE items (id TEXT PRIMARY KEY, name TEXT)")
model Item { name: String }
print("not reached")`)
	got := testDB{dir: t.TempDir()}.runPlain(t, src)
	if !strings.Contains(got, "SchemaError") || !strings.Contains(got, "its id column has type TEXT, not an integer key") || strings.Contains(got, "not reached") {
		t.Errorf("got:\n%s", got)
	}
}

// db.run's last_id is the id of the row a statement added, however the
// statement begins: after a comment, from a WITH, or REPLACE INTO (it
// was nil unless the text began with INSERT); an UPDATE through a WITH
// that calls replace() adds none.
func TestRawRunLastID(t *testing.T) {
	src := []byte(`db { adapter: "sqlite", database: "l.db" }
db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
print(db.run("insert into t (v) values ('a')").last_id)
print(db.run("-- one more\nINSERT INTO t (v) VALUES ('b')").last_id)
print(db.run("/* note */ INSERT INTO t (v) VALUES ('c')").last_id)
print(db.run("WITH x AS (SELECT 'd' AS v) INSERT INTO t (v) SELECT v FROM x").last_id)
print(db.run("REPLACE INTO t (v) VALUES ('e')").last_id)
print(db.run("WITH x AS (SELECT 1) UPDATE t SET v = replace(v, 'a', 'z') WHERE id IN (SELECT * FROM x)"))`)
	wantOutput(t, src, "1\n2\n3\n4\n5\n{ changes: 1, last_id: nil }\n")
}

// Two processes adding the same fields to one SQLite table at once (the
// servers of a program deployed apart, started together) both start:
// the one that finds a column the other just added looks again (it
// looked once, and failed with "duplicate column name" when the other
// had added one more meanwhile).
func TestConcurrentAddColumns(t *testing.T) {
	v1 := []byte("db { adapter: \"sqlite\", database: \"shared.db\" }\nmodel Item { name: String }\nprint(Item.count())\n")
	v2 := []byte("db { adapter: \"sqlite\", database: \"shared.db\" }\nmodel Item { name: String, qty: Int, price: Float, note: String, ok: Bool, tag: String }\nprint(Item.count())\n")
	for round := range 15 {
		d := testDB{dir: t.TempDir()}
		if got := d.runPlain(t, v1); got != "0\n" {
			t.Fatalf("v1: %s", got)
		}
		var wg sync.WaitGroup
		outs := make([]string, 2)
		for i := range outs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				outs[i] = d.runPlain(t, v2)
			}()
		}
		wg.Wait()
		for _, got := range outs {
			if got != "0\n" {
				t.Fatalf("round %d: %s", round, got)
			}
		}
	}
}

// A Float or Int field over a NUMERIC column of an existing table reads
// as a number on both engines (PostgreSQL hands NUMERIC over as text: it
// read as a String, and amount + 1 joined texts).
func TestNumericColumns(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e, func(t *testing.T) {
			d := freshDB(t, e)
			src := d.block() + `db.exec("CREATE TABLE prices (id BIGINT PRIMARY KEY, label TEXT, amount NUMERIC(10,2), qty NUMERIC, big NUMERIC)")
db.exec("INSERT INTO prices (id, label, amount, qty, big) VALUES (1, 'tea', 3.25, 4, 4.5)")
model Price {
  label: String
  amount: Float
  qty: Int
  big: Int
}
p = Price.find(1)
print(type_of(p.amount), p.amount + 1, type_of(p.qty), p.qty * 2, p.big)
`
			if got := d.runPlain(t, []byte(src)); got != "Float 4.25 Int 8 4.5\n" {
				t.Errorf("got %q", got)
			}
		})
	}
}

// An Object or list field over a json or jsonb column of an existing
// PostgreSQL table can be filtered on, as on SQLite (every filter failed:
// strpos(jsonb, unknown) does not exist).
func TestJSONColumnsFiltered(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e, func(t *testing.T) {
			d := freshDB(t, e)
			types := [3]string{"INTEGER", "JSON", "JSON"}
			if e == store.Postgres {
				types = [3]string{"BIGSERIAL", "JSONB", "JSON"}
			}
			src := d.block() + `db.exec("CREATE TABLE events (id ` + types[0] + ` PRIMARY KEY, name TEXT, payload ` + types[1] + `, tags ` + types[2] + `)")
db.exec("INSERT INTO events (name, payload, tags) VALUES ('a', '\{\"k\": 1, \"j\": 2}', '[\"x\"]')")
model Event {
  name: String
  payload: Object
  tags: [String]
}
Event.create({ name: "b", payload: { k: 2 }, tags: ["y"] })
print(Event.where({ payload: { j: 2, k: 1 } }) |> map(fn(e) e.name), Event.count({ tags: ["y"] }), Event.count({ payload: { k: 3 } }))
print(Event.all(order: "-tags") |> map(fn(e) e.name))
`
			if got := d.runPlain(t, []byte(src)); got != "[\"a\"] 1 0\n[\"b\", \"a\"]\n" {
				t.Errorf("got %q", got)
			}
		})
	}
}

// PostgreSQL: an INSERT that takes no id from a sequence, first in a
// transaction, does not abort it (lastval() before any sequence is an
// error, which aborted the transaction); its last_id is nil then. Ids
// of two tables' sequences are each their INSERT's, also when equal.
func TestPostgresLastIDOfKeyedInsert(t *testing.T) {
	if !slices.Contains(engines(t), store.Postgres) {
		t.Skip("PostgreSQL only")
	}
	d := freshDB(t, store.Postgres)
	src := d.block() + `db.exec("CREATE TABLE tags (code TEXT PRIMARY KEY, label TEXT)")
db.transaction(fn() {
  print(db.run("INSERT INTO tags (code, label) VALUES ($1, $2)", "a", "A").last_id)
  print(db.run("INSERT INTO tags (code, label) VALUES ($1, $2)", "b", "B").last_id)
})
model Note { text: String }
model Author { name: String }
n = Note.create({ text: "x" })
print(n.id, db.run("INSERT INTO notes (text) VALUES ('y')").last_id, db.run("INSERT INTO authors (name) VALUES ('z')").last_id)
print(db.query("SELECT code FROM tags ORDER BY code") |> map(fn(r) r.code))
`
	if got := d.runPlain(t, []byte(src)); got != "nil\nnil\n1 2 1\n[\"a\", \"b\"]\n" {
		t.Errorf("got %q", got)
	}
}

// A db block that does not configure is reported at the block (at the
// value of the key its error names), not at the model whose first use
// opened the database (the error, its source
// line and caret were the model's).
func TestDBBlockErrorIsAtTheBlock(t *testing.T) {
	src := []byte(`db {
  adapter: "postgres"
  url: env("TOVA_TEST_SURELY_UNSET_URL")
}
print("declared")
model Order { total: Float }
`)
	_, err := runMain(t, src)
	var ve *vm.Error
	if !errors.As(err, &ve) || ve.Kind != "ConfigError" || !strings.HasPrefix(ve.Msg, "db.url is nil") {
		t.Fatalf("main: %v", err)
	}
	if f, ok := ve.Pos(); !ok || f.File != "app.tova" || f.Line != 3 || f.Col != 8 {
		t.Errorf("the error is at %+v, want the block's url (app.tova:3:8)", f)
	}
	// One about the file's path is at the path.
	_, err = runMain(t, []byte("db {\n  database: \"data/.\"\n}\nmodel Order { total: Float }\nprint(Order.count())\n"))
	if !errors.As(err, &ve) || ve.Kind != "ConfigError" || !strings.Contains(ve.Msg, `such as "data/app.db"`) {
		t.Fatalf("main: %v", err)
	}
	if f, ok := ve.Pos(); !ok || f.File != "app.tova" || f.Line != 2 || f.Col != 13 {
		t.Errorf("the error is at %+v, want the path (app.tova:2:13)", f)
	}
	// Any key's, at its value.
	_, err = runMain(t, []byte("db {\n  database: \"app.db\", pool: \"20\"\n}\nmodel Order { total: Float }\nprint(Order.count())\n"))
	if !errors.As(err, &ve) || ve.Kind != "ConfigError" || !strings.HasPrefix(ve.Msg, "db.pool must be") {
		t.Fatalf("main: %v", err)
	}
	if f, ok := ve.Pos(); !ok || f.Line != 2 || f.Col != 29 {
		t.Errorf("the error is at %+v, want the pool (app.tova:2:29)", f)
	}
}

// What belongs to SQLite's writer connection is read there: a TEMP
// table a raw statement made (a read on a reader connection said "no
// such table"), and the last write's last_insert_rowid() and changes()
// (a reader answered 0, silently).
func TestSQLiteConnectionStateIsReadOnTheWriter(t *testing.T) {
	src := []byte(`db { adapter: "sqlite", database: "c.db" }
db.exec("CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT)")
db.exec("CREATE TEMP TABLE scratch (v TEXT)")
db.run("CREATE TEMPORARY TABLE IF NOT EXISTS other (n INTEGER)")
db.run("INSERT INTO scratch (v) VALUES ($1)", "a")
db.run("INSERT INTO other (n) VALUES (7)")
print(db.query("SELECT * FROM scratch"), db.get("SELECT n FROM other"))
db.run("INSERT INTO a (v) VALUES ('x')")
print(db.get("SELECT last_insert_rowid() AS id, changes() AS ch"))`)
	wantOutput(t, src, `[{ v: "a" }] { n: 7 }
{ id: 1, ch: 1 }
`)
}

// A URL whose search_path names a schema not made yet (a fresh database
// and ?search_path=shop) gets it made when the database opens: a model
// created its table before anything made it ("no schema has been
// selected to create in"), and the program could not start.
func TestSearchPathSchemaIsMadeForModels(t *testing.T) {
	if os.Getenv(pgEnv) == "" {
		t.Skip(pgEnv + " not set")
	}
	d := freshDB(t, store.Postgres)
	u, err := url.Parse(d.url)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	schema := q.Get("search_path") + "_made"
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	d.url = u.String() // (dropped with the schema freshDB made: CASCADE does not reach it)
	t.Cleanup(func() {
		db, err := store.Open(context.Background(), store.Config{Adapter: store.Postgres, URL: os.Getenv(pgEnv)})
		if err == nil {
			defer db.Close()
			w, _ := db.Pools()
			w.Exec("DROP SCHEMA IF EXISTS " + schema + " CASCADE")
		}
	})
	out := d.run(t, "app.tova", []byte(d.block()+"model Widget { name: String }\nWidget.create({ name: \"a\" })\nprint(db.query(\"SELECT current_schema() AS s\")[0].s, len(Widget.all()))\n"))
	if want := schema + " 1\n"; out != want {
		t.Fatalf("printed %q, want %q", out, want)
	}
}

// A PostgreSQL URL the driver cannot parse names the db block too, as an
// unreachable one does: it said only "db.url: cannot parse ...".
func TestReadyReportsUnparsableURL(t *testing.T) {
	for _, url := range []string{"postgres://localhost:5432/app?sslmode=bogus", "postgres://localhost:99999/app"} {
		src := []byte("print(1)\ndb { adapter: \"postgres\", url: \"" + url + "\" }\n")
		in, err := runMain(t, src)
		if err != nil {
			t.Fatalf("main: %v", err)
		}
		err = store.Ready(context.Background(), in)
		var ve *vm.Error
		if !errors.As(err, &ve) || ve.Kind != "ConfigError" || !strings.Contains(ve.Msg, "db.url: ") || !strings.HasSuffix(ve.Msg, "(the db block at app.tova:2:1)") {
			t.Errorf("%s: %v", url, err)
		}
	}
}

// A SQLite file removed while the program runs is DatabaseUnavailable
// from then on, for writes and reads: the writer went on writing into
// the removed file (rows no restart would find), and a reader made an
// empty file at the path ("no such table", 500).
func TestRemovedFileIsUnavailable(t *testing.T) {
	d := freshDB(t, store.SQLite)
	got := d.runPlain(t, []byte(strings.ReplaceAll(`db { database: "lk.db" }
model Row { name: String }
Row.create({ name: "first" })
print(fs.rm("DIR/lk.db"))
fs.rm("DIR/lk.db-wal", force: true)
fs.rm("DIR/lk.db-shm", force: true)
sleep(1100)
for f in [fn() Row.create({ name: "lost" }), fn() Row.all()] {
  try { f() } catch e { print(e.kind, e.message) }
}
print(fs.exists("DIR/lk.db"))
`, "DIR", d.dir)))
	want := "DatabaseUnavailable the SQLite database file " + filepath.Join(d.dir, "lk.db") + " was removed while the program ran: nothing more is written to it (restart the server to open the file at that path)\n"
	if got != "Ok(\""+filepath.Join(d.dir, "lk.db")+"\")\n"+want+want+"false\n" {
		t.Errorf("got:\n%s", got)
	}
}

// A table or field name over 63 bytes is refused where the model is
// declared, on both engines: PostgreSQL cut such a name to 63 bytes when
// it made the table, so that the next start did not find the column
// and could not add it ("already exists"); one of 63 bytes serves every
// start.
func TestLongNamesRefused(t *testing.T) {
	long, fits := strings.Repeat("f", 64), strings.Repeat("g", 63)
	for _, engine := range engines(t) {
		d := freshDB(t, engine)
		src := d.block() + "model Thing { " + fits + ": String }\nThing.create({ " + fits + ": \"x\" })\nprint(Thing.count())\n"
		for _, want := range []string{"1\n", "2\n"} {
			if got := d.runPlain(t, []byte(src)); got != want {
				t.Errorf("%s: a 63-byte field: got %q, want %q", engine, got, want)
			}
		}
		at := fmt.Sprintf("app.tova:%d:1: ", strings.Count(d.block(), "\n")+1)
		for src, want := range map[string]string{
			"model Thing { " + long + ": String }\nprint(\"not reached\")":                  at + "SchemaError: model Thing: field " + long + " is 64 bytes long, and PostgreSQL keeps only the first 63",
			"model Thing { name: String, table: \"" + long + "\" }\nprint(\"not reached\")": at + "SchemaError: model Thing: its table " + long + " is 64 bytes long",
		} {
			if got := d.runPlain(t, []byte(d.block()+src)); !strings.Contains(got, want) || strings.Contains(got, "not reached") {
				t.Errorf("%s: got:\n%s\nwant the error:\n%s", engine, got, want)
			}
		}
	}
}

// A field renamed only in case keeps its column's data on SQLite, whose
// names ignore case, and is a SchemaError on PostgreSQL, where it got a
// new column and its rows read nil.
func TestFieldRenamedInCase(t *testing.T) {
	for _, e := range engines(t) {
		d := freshDB(t, e)
		if got := d.run(t, "v1.tova", []byte(`model U { name: String }
U.create({ name: "ann" })
print(U.count())`)); got != "1\n" {
			t.Fatalf("%s: v1: %q", e, got)
		}
		got := d.run(t, "v2.tova", []byte("model U { Name: String }\nprint(U.all() |> map(.Name))"))
		switch e {
		case "sqlite":
			if got != "[\"ann\"]\n" {
				t.Errorf("sqlite: %q", got)
			}
		default:
			if !strings.Contains(got, "SchemaError") || !strings.Contains(got, "field Name has no column, but the table has name (the names differ only in case)") {
				t.Errorf("%s: %s", e, got)
			}
		}
	}
}

// A field added with a literal default is the column's DEFAULT too: a
// row the older version of the program creates meanwhile (a rolling
// deploy, both versions on one database), without the field, reads the
// default, as the rows there before do (it read nil, and a filter on
// the default missed it).
func TestAddedFieldDefaultForAnOlderVersion(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e, func(t *testing.T) {
			t.Parallel()
			d := freshDB(t, e)
			v1 := `model Note { text: String }
Note.create({ text: "before" })
print(Note.count())`
			if got := d.run(t, "v1.tova", []byte(v1)); got != "1\n" {
				t.Fatalf("v1: %q", got)
			}
			v2 := `model Note {
  text: String
  pinned: Bool = false
  views: Int = 0
  ratio: Float = -1.5
  tag: String = "it's"
  due: Date = "2024-01-02T03:04:05Z"
  wait: Duration = 5.seconds
}
print(Note.count())`
			if got := d.run(t, "v2.tova", []byte(v2)); got != "1\n" {
				t.Fatalf("v2: %q", got)
			}
			if got := d.run(t, "v1b.tova", []byte(v1)); got != "2\n" {
				t.Fatalf("v1 again: %q", got)
			}
			got := d.run(t, "v2b.tova", []byte(v2[:strings.LastIndex(v2, "print")]+`for n in Note.all() { print(n) }
print(Note.where({ pinned: false }).length)`))
			want := `{ id: 1, text: "before", pinned: false, views: 0, ratio: -1.5, tag: "it's", due: "2024-01-02T03:04:05.000Z", wait: 5s }
{ id: 2, text: "before", pinned: false, views: 0, ratio: -1.5, tag: "it's", due: "2024-01-02T03:04:05.000Z", wait: 5s }
2
`
			if got != want {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
}

// A table made with a model's fields has no DEFAULTs: a field's default
// taken away in a later declaration leaves create storing nil. A
// DEFAULT of a table made by hand applies to the fields create is given
// no value for (naming every column, create stored nil there, and a NOT
// NULL one failed).
func TestCreateAndTheColumnsDefaults(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e, func(t *testing.T) {
			t.Parallel()
			d := freshDB(t, e)
			v1 := "model Task { title: String, priority: Int = 1, status: String = \"open\" }\nprint(Task.count())"
			if got := d.run(t, "v1.tova", []byte(v1)); got != "0\n" {
				t.Fatalf("v1: %q", got)
			}
			v3 := "model Task { title: String, priority: Int = 5, status: String }\nprint(Task.create({ title: \"made\" }))"
			if got := d.run(t, "v3.tova", []byte(v3)); got != "{ id: 1, title: \"made\", priority: 5, status: nil }\n" {
				t.Errorf("v3: %q", got)
			}
			hand := `db.exec("CREATE TABLE jobs (id ` + map[string]string{"sqlite": "INTEGER PRIMARY KEY AUTOINCREMENT", "postgres": "BIGSERIAL PRIMARY KEY"}[e] + `, title VARCHAR NOT NULL, state VARCHAR NOT NULL DEFAULT 'open', tries BIGINT DEFAULT 3)")
model Job { title: String, state: String, tries: Int? }
print(Job.create({ title: "x" }))`
			if got := d.run(t, "hand.tova", []byte(hand)); got != "{ id: 1, title: \"x\", state: \"open\", tries: 3 }\n" {
				t.Errorf("a table made by hand: %q", got)
			}
		})
	}
}
