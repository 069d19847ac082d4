package store_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"tova/store"
)

// A SQLite read whose context ends while its rows are stepped to is
// interrupted: it ran on to its end (seconds of CPU), holding a reader
// connection, after its request had been answered 503. The connection
// then serves the next read.
func TestSQLiteReadStopsAtItsDeadline(t *testing.T) {
	db, err := store.Open(context.Background(), store.Config{Adapter: store.SQLite, Path: filepath.Join(t.TempDir(), "r.db"), Pool: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, read := db.Pools()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	var n int64
	err = read.QueryRowContext(ctx, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 500000000) SELECT count(*) FROM c").Scan(&n)
	if took := time.Since(start); !errors.Is(err, context.DeadlineExceeded) || took > 5*time.Second {
		t.Fatalf("after %v: n %d, err %v", took, n, err)
	}
	if err := read.QueryRowContext(context.Background(), "SELECT 41 + 1").Scan(&n); err != nil || n != 42 {
		t.Fatalf("the next read: %d %v", n, err)
	}
}
