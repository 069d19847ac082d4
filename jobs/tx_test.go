package jobs_test

import (
	"context"
	"database/sql"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, as the store uses

	"tova/jobs/jobstest"
	"tova/vm"
)

const txSrc = `
server "api" {
  fn kick(n) {
    spawn_job(work, n)
    publish("made", n)
  }
  background fn work(n) { print("work {n}") }
  subscribe "made" fn(n) { print("made {n}") }
}
`

// On PostgreSQL, spawn_job and publish called inside the caller's
// database transaction store their jobs in it: a rollback leaves no
// job, a commit makes them run.
// The caller's database is the queue's also when its URL is written
// otherwise (postgresql://, localhost): the jobs of a rolled-back
// transaction ran then.
func TestEnqueueInCallersTransaction(t *testing.T) {
	url := pgSchemaURL(t)
	if url == "" {
		t.Skip("needs PostgreSQL (TOVA_TEST_DATABASE_URL)")
	}
	respelt := strings.Replace(strings.Replace(url, "postgres://", "postgresql://", 1), "@127.0.0.1:", "@localhost:", 1)
	if respelt == url {
		t.Fatalf("the test database's URL %s has no other spelling here", url)
	}
	for name, callerURL := range map[string]string{"same URL": url, "written otherwise": respelt} {
		t.Run(name, func(t *testing.T) { enqueueInCallersTransaction(t, url, callerURL) })
	}
}

func enqueueInCallersTransaction(t *testing.T, url, callerURL string) {
	db, err := sql.Open("pgx", callerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var mu sync.Mutex
	var current *sql.Tx
	app := startApp(t, txSrc, backend{name: "postgres", url: url}, func(o *jobstest.Options) {
		o.Jobs.CallerTx = func(*vm.Thread) (*sql.Tx, string, bool) {
			mu.Lock()
			defer mu.Unlock()
			return current, callerURL, current != nil
		}
	})
	kickIn := func(n int64, commit bool) {
		tx, err := db.Begin()
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		current = tx
		mu.Unlock()
		_, err = app.Server("api").Call(context.Background(), "kick", vm.Int(n))
		mu.Lock()
		current = nil
		mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
		if commit {
			err = tx.Commit()
		} else {
			err = tx.Rollback()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	kickIn(1, false)
	kickIn(2, true)
	waitFor(t, 10*time.Second, "the committed jobs", func() bool {
		return len(app.out.Lines("work 2")) == 1 && len(app.out.Lines("made 2")) == 1
	})
	time.Sleep(300 * time.Millisecond)
	if out := app.out.String(); strings.Contains(out, " 1") {
		t.Errorf("a job of the rolled-back transaction ran:\n%s", out)
	}
}
