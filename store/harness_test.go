package store_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"tova/driver"
	"tova/internal/testutil"
	"tova/store"
	"tova/vm"
)

// The store is tested against real engines only: SQLite in a temporary
// directory, and the PostgreSQL server named by TOVA_TEST_DATABASE_URL
// (.ci/pg.sh starts a throwaway one). Each test gets a fresh schema
// there, dropped when it ends. Without the URL the PostgreSQL halves
// are skipped locally and fail under CI=true.

const pgEnv = "TOVA_TEST_DATABASE_URL"

// engines lists the engines a test runs on.
func engines(t testing.TB) []string {
	t.Helper()
	if os.Getenv(pgEnv) != "" {
		return []string{store.SQLite, store.Postgres}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true but %s is not set: the PostgreSQL tests cannot run (.ci/run starts a server with .ci/pg.sh)", pgEnv)
	}
	t.Logf("%s not set: PostgreSQL half skipped (eval \"$(.ci/pg.sh start)\" to run it)", pgEnv)
	return []string{store.SQLite}
}

// testDB is a fresh, empty database for one test.
type testDB struct {
	adapter string
	dir     string // the program's directory (SQLite files go there)
	url     string // PostgreSQL: a URL whose search_path is a fresh schema
}

func freshDB(t testing.TB, adapter string) testDB {
	t.Helper()
	d := testDB{adapter: adapter, dir: t.TempDir()}
	if adapter == store.Postgres {
		d.url = freshSchema(t)
	}
	return d
}

// freshSchema creates a schema for this test and returns a URL that
// uses it; the schema is dropped when the test ends.
func freshSchema(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	u, drop, err := testutil.FreshSchema(ctx, os.Getenv(pgEnv), "tova_test_")
	if err != nil {
		t.Fatalf("%s: %v", pgEnv, err)
	}
	t.Cleanup(func() {
		if err := drop(); err != nil {
			t.Errorf("drop schema: %v", err)
		}
	})
	return u
}

// block is the db block that selects this database, in the guide's
// words; the PostgreSQL URL comes from DATABASE_URL.
func (d testDB) block() string {
	if d.adapter == store.Postgres {
		return "db {\n  adapter: \"postgres\"\n  url: env(\"DATABASE_URL\")\n  pool: 20\n}\n"
	}
	return "db {\n  adapter: \"sqlite\"\n  database: \"app.db\"\n}\n"
}

func (d testDB) getenv(name string) (string, bool) {
	if name == "DATABASE_URL" && d.url != "" {
		return d.url, true
	}
	return "", false
}

func (d testDB) config() store.Config {
	if d.adapter == store.Postgres {
		return store.Config{Adapter: store.Postgres, URL: d.url, Pool: 8}
	}
	return store.Config{Adapter: store.SQLite, Path: filepath.Join(d.dir, "app.db")}
}

// open opens the database from Go.
func (d testDB) open(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), d.config())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// fixedClock starts at 2026-01-02T03:04:05Z and moves one second per
// reading, so timestamps print the same on every run and engine.
func fixedClock() func() time.Time {
	var n atomic.Int64
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return func() time.Time { return start.Add(time.Duration(n.Add(1)-1) * time.Second) }
}

// load compiles and loads a Tova program.
func load(t testing.TB, name string, src []byte) *vm.Program {
	t.Helper()
	p, err := driver.CompileFile(name, src)
	if err != nil {
		t.Fatalf("compile %s:\n%s", name, driver.FormatError(err, src))
	}
	prog, err := vm.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	return prog
}

// runMain runs the top-level code of the program app.tova (src) on an
// instance of its own in a new directory, closed at the test's end, and
// returns the instance and the uncaught error, if any.
func runMain(t testing.TB, src []byte) (*vm.Instance, error) {
	t.Helper()
	in := load(t, "app.tova", src).NewInstance(vm.Config{Stdout: io.Discard, Stderr: io.Discard, Dir: t.TempDir()})
	t.Cleanup(func() { store.Close(in) })
	th := in.NewThread(context.Background())
	defer th.Release()
	_, err := th.RunMain()
	return in, err
}

// run runs a Tova program on database d (given to the instance with
// store.Use, so the program needs no db block) and returns what it
// printed, followed by the uncaught error if there is one.
func (d testDB) run(t testing.TB, name string, src []byte) string {
	t.Helper()
	prog := load(t, name, src)
	var out bytes.Buffer
	in := prog.NewInstance(vm.Config{Stdout: &out, Stderr: &out, Dir: d.dir, Now: fixedClock(), Getenv: d.getenv})
	db, err := store.Open(context.Background(), d.config())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	store.Use(in, db)
	th := in.NewThread(context.Background())
	defer th.Release()
	if _, err := th.RunMain(); err != nil {
		fmt.Fprintf(&out, "uncaught: %s", driver.FormatError(err, src))
	}
	return out.String()
}
