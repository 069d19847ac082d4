package storebench

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"text/tabwriter"

	"tova/store"
	"tova/vm"
)

var report = flag.Bool("report", false, "TestReport: measure every pair and print the table")

// findRows is how many rows the find benchmarks read among.
const findRows = 1000

func engines() []string {
	if os.Getenv("TOVA_TEST_DATABASE_URL") != "" {
		return []string{store.SQLite, store.Postgres}
	}
	return []string{store.SQLite}
}

func open(tb testing.TB, engine string) *Env {
	tb.Helper()
	e, err := Open(engine, tb.TempDir(), os.Getenv("TOVA_TEST_DATABASE_URL"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(e.Close)
	return e
}

// cases are the measured operations, each from Tova and from Go.
var cases = []struct {
	op, side string
	run      func(b *testing.B, e *Env)
}{
	{"create", "tova", func(b *testing.B, e *Env) {
		b.ResetTimer()
		if err := e.CallTova("create_n", vm.Int(int64(b.N))); err != nil {
			b.Fatal(err)
		}
	}},
	{"create", "go", func(b *testing.B, e *Env) {
		b.ResetTimer()
		if err := e.GoCreate(b.N); err != nil {
			b.Fatal(err)
		}
	}},
	{"find", "tova", func(b *testing.B, e *Env) {
		if err := e.GoCreate(findRows); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		if err := e.CallTova("find_n", vm.Int(int64(b.N)), vm.Int(findRows)); err != nil {
			b.Fatal(err)
		}
	}},
	{"find", "go", func(b *testing.B, e *Env) {
		if err := e.GoCreate(findRows); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		if err := e.GoFind(b.N, findRows); err != nil {
			b.Fatal(err)
		}
	}},
}

// BenchmarkStore: create/ENGINE/{tova,go} and find/ENGINE/{tova,go};
// each sub-benchmark gets a fresh database.
func BenchmarkStore(b *testing.B) {
	for _, engine := range engines() {
		for _, c := range cases {
			b.Run(c.op+"/"+engine+"/"+c.side, func(b *testing.B) {
				e := open(b, engine)
				b.ReportAllocs()
				c.run(b, e)
			})
		}
	}
}

// scanRows is the table BenchmarkSQLiteCount counts: about 7 MB,
// more than SQLite's default page cache (2000 KiB) holds.
const scanRows = 200_000

// BenchmarkSQLiteCount: Item.count() from Tova over a table of scanRows
// rows, each call a full scan of the table on a reader connection.
//
//	go test -run '^$' -bench SQLiteCount ./bench/storebench
func BenchmarkSQLiteCount(b *testing.B) {
	e := open(b, store.SQLite)
	if err := e.FillSQLite(scanRows); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	if err := e.CallTova("count_n", vm.Int(int64(b.N))); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkFindTimestamps: Note.find(id) from Tova, a row whose two
// timestamps (created_at, updated_at) are read back as Dates.
func BenchmarkFindTimestamps(b *testing.B) {
	for _, engine := range engines() {
		b.Run(engine, func(b *testing.B) {
			e := open(b, engine)
			if err := e.CallTova("note_n", vm.Int(findRows)); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			if err := e.CallTova("find_notes", vm.Int(int64(b.N)), vm.Int(findRows)); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// TestProgramWorks checks that the Tova side does what the Go side
// does (the comparison is only meaningful if it does).
func TestProgramWorks(t *testing.T) {
	for _, engine := range engines() {
		e := open(t, engine)
		if err := e.CallTova("create_n", vm.Int(3)); err != nil {
			t.Fatal(err)
		}
		if err := e.GoCreate(2); err != nil {
			t.Fatal(err)
		}
		if err := e.CallTova("find_n", vm.Int(5), vm.Int(5)); err != nil {
			t.Fatal(err)
		}
		if err := e.GoFind(5, 5); err != nil {
			t.Fatal(err)
		}
		if err := e.CallTova("count_n", vm.Int(2)); err != nil {
			t.Fatal(err)
		}
		if err := e.CallTova("note_n", vm.Int(3)); err != nil {
			t.Fatal(err)
		}
		if err := e.CallTova("find_notes", vm.Int(3), vm.Int(3)); err != nil {
			t.Fatal(err)
		}
		_, r := e.DB.Pools()
		var n int
		if err := r.QueryRow(`SELECT COUNT(*) FROM "items" WHERE "active" = $1 AND "name" = $2`, true, "widget").Scan(&n); err != nil || n != 5 {
			t.Fatalf("%s: %d rows (%v)", engine, n, err)
		}
	}
}

// TestReport prints, per engine and operation, Tova's and Go's time per
// call and Tova's throughput as a fraction of Go's (goal >= 0.7).
func TestReport(t *testing.T) {
	if !*report {
		t.Skip("run with -report to measure")
	}
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "engine\top\tTova µs/op\tGo µs/op\tTova allocs/op\tGo allocs/op\tTova/Go throughput\t")
	for _, engine := range engines() {
		for i := 0; i < len(cases); i += 2 {
			var res [2]testing.BenchmarkResult
			for j := 0; j < 2; j++ {
				c := cases[i+j]
				// Median of three runs, each on a fresh database.
				var runs []testing.BenchmarkResult
				for k := 0; k < 3; k++ {
					runs = append(runs, testing.Benchmark(func(b *testing.B) {
						e, err := Open(engine, t.TempDir(), os.Getenv("TOVA_TEST_DATABASE_URL"))
						if err != nil {
							b.Fatal(err)
						}
						defer e.Close()
						b.ReportAllocs()
						c.run(b, e)
					}))
				}
				res[j] = median(runs)
			}
			tova, gov := res[0], res[1]
			ratio := float64(gov.NsPerOp()) / float64(tova.NsPerOp())
			fmt.Fprintf(w, "%s\t%s\t%.1f\t%.1f\t%d\t%d\t%.2f\t\n", engine, cases[i].op,
				float64(tova.NsPerOp())/1e3, float64(gov.NsPerOp())/1e3, tova.AllocsPerOp(), gov.AllocsPerOp(), ratio)
		}
	}
	w.Flush()
	t.Log("\n" + b.String())
}

func median(rs []testing.BenchmarkResult) testing.BenchmarkResult {
	for i := range rs {
		for j := i + 1; j < len(rs); j++ {
			if rs[j].NsPerOp() < rs[i].NsPerOp() {
				rs[i], rs[j] = rs[j], rs[i]
			}
		}
	}
	return rs[len(rs)/2]
}
