// Package storebench measures the database layer: a model's create and
// find called from Tova code against the same SQL statements run from Go
// through database/sql, in the same process, on the same connections,
// for SQLite and PostgreSQL.
//
//	go test -run '^$' -bench . ./bench/storebench
//	go test -run TestReport -report ./bench/storebench   # the table with ratios
//
// PostgreSQL runs when TOVA_TEST_DATABASE_URL is set (.ci/pg.sh starts
// a throwaway server); each run uses a fresh schema, dropped afterwards.
package storebench

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"

	"tova/driver"
	"tova/internal/testutil"
	"tova/store"
	"tova/vm"
)

// Program is the Tova side: a model like the Go side's table, and loops
// that call create and find n times.
const Program = `
model Item {
  name: String
  qty: Int
  price: Float
  active: Bool
}

fn create_n(n) {
  for i in range(n) {
    Item.create({ name: "widget", qty: i, price: 2.5, active: true })
  }
}

fn find_n(n, rows) {
  for i in range(n) {
    Item.find(i % rows + 1)
  }
}

model Note {
  text: String
  timestamps: true
}

fn note_n(n) {
  for i in range(n) {
    Note.create({ text: "note {i}" })
  }
}

fn find_notes(n, rows) {
  for i in range(n) {
    Note.find(i % rows + 1)
  }
}

fn count_n(n) {
  for i in range(n) {
    Item.count()
  }
}
`

// The statements the model issues, written out for the Go side.
const (
	InsertSQL = `INSERT INTO "items" ("name", "qty", "price", "active") VALUES ($1, $2, $3, $4) RETURNING "id", "name", "qty", "price", "active"`
	FindSQL   = `SELECT "id", "name", "qty", "price", "active" FROM "items" WHERE "id" = $1`
)

// Env is one engine, opened: the database, a VM instance of Program
// using it (with a server's scheduler), and a cleanup.
type Env struct {
	Engine string
	DB     *store.DB
	In     *vm.Instance
	Close  func()
}

// Open prepares an engine: SQLite in dir, or PostgreSQL in a fresh
// schema of the server at pgURL.
func Open(engine, dir, pgURL string) (*Env, error) {
	cfg := store.Config{Adapter: store.SQLite, Path: filepath.Join(dir, "bench.db")}
	cleanup := func() {}
	if engine == store.Postgres {
		u, drop, err := freshSchema(pgURL)
		if err != nil {
			return nil, err
		}
		cfg = store.Config{Adapter: store.Postgres, URL: u}
		cleanup = drop
	}
	db, err := store.Open(context.Background(), cfg)
	if err != nil {
		cleanup()
		return nil, err
	}
	p, err := driver.CompileFile("storebench.tova", []byte(Program))
	if err != nil {
		return nil, err
	}
	prog, err := vm.Load(p)
	if err != nil {
		return nil, err
	}
	in := prog.NewInstance(vm.Config{Stdout: os.Stdout, Stderr: os.Stderr, Dir: dir})
	in.Sched = vm.NewGIL(0)
	store.Use(in, db)
	th := in.NewThread(context.Background())
	th.Enter()
	_, err = th.RunMain()
	th.Leave()
	th.Release()
	if err != nil {
		return nil, err
	}
	return &Env{Engine: engine, DB: db, In: in, Close: func() { db.Close(); cleanup() }}, nil
}

// Func returns a top-level function of Program.
func (e *Env) Func(name string) vm.Value {
	for i, g := range e.In.Prog.Code.Globals {
		if g == name {
			return e.In.Globals[i]
		}
	}
	panic("no function " + name)
}

// CallTova runs fn(args) on a thread of the instance, holding its
// scheduler as a request handler does.
func (e *Env) CallTova(fn string, args ...vm.Value) error {
	th := e.In.NewThread(context.Background())
	defer th.Release()
	th.Enter()
	defer th.Leave()
	_, err := th.Call(e.Func(fn), args...)
	return err
}

// GoCreate runs InsertSQL n times from Go and scans each returned row.
func (e *Env) GoCreate(n int) error {
	w, _ := e.DB.Pools()
	ctx := context.Background()
	for i := 0; i < n; i++ {
		if err := scanWidget(w.QueryRowContext(ctx, InsertSQL, "widget", int64(i), 2.5, true)); err != nil {
			return err
		}
	}
	return nil
}

// GoFind runs FindSQL n times from Go over ids 1..rows.
func (e *Env) GoFind(n, rows int) error {
	_, r := e.DB.Pools()
	ctx := context.Background()
	for i := 0; i < n; i++ {
		if err := scanWidget(r.QueryRowContext(ctx, FindSQL, int64(i%rows+1))); err != nil {
			return err
		}
	}
	return nil
}

// FillSQLite inserts n widget rows at once (SQLite only): a table to
// scan, made in one statement.
func (e *Env) FillSQLite(n int) error {
	w, _ := e.DB.Pools()
	_, err := w.ExecContext(context.Background(), `INSERT INTO "items" ("name", "qty", "price", "active")
		WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?)
		SELECT 'widget ' || x, x, 2.5, 1 FROM c`, n)
	return err
}

// scanWidget scans one widget row into typed Go variables, as a Go
// program would.
func scanWidget(row *sql.Row) error {
	var (
		id, qty int64
		name    string
		price   float64
		active  bool
	)
	return row.Scan(&id, &name, &qty, &price, &active)
}

func freshSchema(base string) (string, func(), error) {
	u, drop, err := testutil.FreshSchema(context.Background(), base, "tova_bench_")
	if err != nil {
		return "", nil, err
	}
	return u, func() { drop() }, nil
}
