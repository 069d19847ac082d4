package jobs_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"tova/internal/sqlitefile"
	"tova/jobs"
	"tova/vm"
)

// spawn_job and publish on a SQLite queue locked by another process
// raise DatabaseUnavailable once they have waited the queue's busy
// timeout (here made short), as a model call does: the queue's one
// writer connection, held by River's own loops waiting out the lock,
// kept them waiting until the request's deadline (a 503 TIMEOUT after
// 30 s).
func TestStoreOnALockedQueueIsUnavailable(t *testing.T) {
	defer jobs.SetStoreWait(500 * time.Millisecond)()
	be := sqliteBackend(t)
	a := startApp(t, `server {
  background fn w() { print("w ran") }
  subscribe "t" fn(p) { print("got", p) }
  fn make() { spawn_job(w) }
  fn tell() { publish("t", 1) }
}
`, be)
	defer a.stopWithin(time.Second)
	a.call(t, "", "make") // (the queue works)
	waitFor(t, 5*time.Second, "the job", func() bool { return strings.Contains(a.out.String(), "w ran") })

	db, err := sql.Open("sqlite", sqlitefile.URI(be.url))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	// (River's loops take the queue's connection and wait out the lock)
	time.Sleep(1500 * time.Millisecond)
	for _, fn := range []string{"make", "tell"} {
		cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		start := time.Now()
		_, err := a.Server("").Call(cctx, fn)
		cancel()
		var ve *vm.Error
		if !errors.As(err, &ve) || ve.Kind != "DatabaseUnavailable" || time.Since(start) > 5*time.Second {
			t.Errorf("%s on a locked queue: %v after %v, want DatabaseUnavailable within the wait", fn, err, time.Since(start))
		}
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		t.Fatal(err)
	}
	a.call(t, "", "make") // (and works again)
}
