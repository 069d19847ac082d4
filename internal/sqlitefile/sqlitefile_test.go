package sqlitefile

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/glebarez/go-sqlite"
)

// Paths with characters a URI gives a meaning, and with a leading double
// slash, open the file they name (//dir/x.db failed: "out of memory").
func TestURIOpensThePathNamed(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"plain.db", "a?b.db", "c#d.db", "e%41.db", "f g.db"} {
		for _, path := range []string{filepath.Join(dir, name), "/" + filepath.Join(dir, name), "///" + filepath.Join(dir, name)} {
			db, err := sql.Open("sqlite", URI(path))
			if err != nil {
				t.Fatal(err)
			}
			_, err = db.Exec("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
			db.Close()
			if err != nil {
				t.Errorf("%s: %v", path, err)
			}
		}
	}
	got, _ := filepath.Glob(filepath.Join(dir, "*.db"))
	if len(got) != 5 {
		t.Errorf("files made: %s", strings.Join(got, ", "))
	}
}
