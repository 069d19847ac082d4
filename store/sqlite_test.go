package store_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

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
