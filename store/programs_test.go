package store_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
					t.Errorf("%s on %s: output differs from %s\n%s", name, e, golden, lineDiff(string(want), got))
				}
			}
		})
	}
}

// lineDiff shows the first differing line and both outputs.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return "line " + itoa(i+1) + ":\n  want: " + wl + "\n  got:  " + gl + "\n--- full output:\n" + got
		}
	}
	return ""
}

func itoa(n int) string {
	var b []byte
	if n == 0 {
		return "0"
	}
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}
