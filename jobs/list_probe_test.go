package jobs_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"tova/internal/sqlitefile"
	"tova/jobs"
	"tova/vm"
)

// Listing a SQLite database that holds no queue (an app's own, with
// the rollback journal its owner chose) is ErrNoJobs and leaves the
// file as it was: it was turned to WAL before the queue was looked for.
func TestListLeavesAnotherSQLiteDatabaseAsItIs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "own.db")
	db, err := sql.Open("sqlite", sqlitefile.URI(path)+"?_pragma=journal_mode(DELETE)")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	before, _ := os.ReadFile(path)
	if _, err := jobs.List(context.Background(), path, jobs.ListOptions{}); !errors.Is(err, jobs.ErrNoJobs) {
		t.Fatalf("List: %v, want ErrNoJobs", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Errorf("the file changed (its header's journal bytes: %v → %v)", before[18:20], after[18:20])
	}
	if _, err := os.Stat(path + "-wal"); err == nil {
		t.Errorf("a -wal file was made beside it")
	}
}

// Listing a PostgreSQL database where the program's queue is not (a
// search_path schema that does not exist, or a schema without the
// queue's tables) is ErrNoJobs and makes nothing: the schema was
// created, and the list said "no jobs".
func TestListMakesNothingInPostgreSQL(t *testing.T) {
	base := testDatabaseURL(t)
	if base == "" {
		t.Skip("needs PostgreSQL (TOVA_TEST_DATABASE_URL)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	u, _ := url.Parse(base)
	q := u.Query()
	missing := "tova_no_such_schema_" + time.Now().Format("150405")
	q.Set("search_path", missing)
	u.RawQuery = q.Encode()
	if _, err := jobs.List(ctx, u.String(), jobs.ListOptions{Schema: "prog"}); !errors.Is(err, jobs.ErrNoJobs) {
		t.Fatalf("List (search_path %s): %v, want ErrNoJobs", missing, err)
	}
	empty := pgSchemaURL(t) // a schema of its own, without the queue's tables
	if _, err := jobs.List(ctx, empty, jobs.ListOptions{Schema: "prog"}); !errors.Is(err, jobs.ErrNoJobs) {
		t.Fatalf("List (empty schema): %v, want ErrNoJobs", err)
	}
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var made bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", missing).Scan(&made); err != nil || made {
		t.Errorf("schema %s made by listing: %v %v", missing, made, err)
	}
	var tables int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1", u.Query().Get("search_path")).Scan(&tables); err != nil {
		t.Fatal(err)
	}
	ue, _ := url.Parse(empty)
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1", ue.Query().Get("search_path")).Scan(&tables); err != nil || tables != 0 {
		t.Errorf("tables made in the empty schema by listing: %d %v", tables, err)
	}
}

// A list of the most jobs a list shows tells whether it is cut: one
// more is read past the queue's page (tova jobs --limit 10000 of more
// said nothing of the rest).
func TestListOneMoreThanAPage(t *testing.T) {
	defer jobs.SetListPage(2)()
	be := sqliteBackend(t)
	app := startApp(t, `server "api" {
  fn kick(n) { spawn_job(fail, n) }
  background fn fail(n) { throw "no {n}" }
  jobs { max_attempts: 1 }
}`, be)
	for n := range 3 {
		if _, err := app.Server("api").Call(context.Background(), "kick", vm.Int(int64(n))); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 10*time.Second, "three discarded jobs", func() bool { return len(listJobs(t, be, jobs.StateDiscarded)) == 2+1 })
	for _, c := range []struct{ limit, want int }{{2, 2}, {3, 3}, {50, 3}} {
		js, err := jobs.List(context.Background(), be.url, jobs.ListOptions{States: []string{jobs.StateDiscarded}, Limit: c.limit})
		if err != nil || len(js) != c.want {
			t.Errorf("limit %d: %d jobs (%v), want %d", c.limit, len(js), err, c.want)
		}
	}
}
