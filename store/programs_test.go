package store_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tova/internal/testutil"
	"tova/store"
)

var update = flag.Bool("update", false, "rewrite testdata/*.out from the SQLite run")

// TestPrograms runs every testdata/*.tova program on a fresh database of
// each engine; each must print exactly testdata/NAME.out, so SQLite and
// PostgreSQL print the same, types included.
func TestPrograms(t *testing.T) {
	files, err := filepath.Glob("testdata/*.tova")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata programs (%v)", err)
	}
	engs := engines(t)
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".tova")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			golden := strings.TrimSuffix(file, ".tova") + ".out"
			for _, e := range engs {
				got := freshDB(t, e).run(t, filepath.Base(file), src)
				if *update && e == store.SQLite {
					if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run with -update to create it)", err)
				}
				if got != string(want) {
					t.Errorf("%s on %s: output differs from %s\n%s", name, e, golden, testutil.LineDiff(string(want), got))
				}
			}
		})
	}
}
