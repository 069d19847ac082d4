package jobsbench

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"tova/internal/sqlitecache"
	"tova/internal/testutil"
	"tova/jobs"
)

// database makes a fresh place for one measurement.
type database struct {
	name  string
	place func() string
}

// databases returns SQLite (a new file per measurement) and the
// PostgreSQL at TOVA_BENCH_DATABASE_URL or TOVA_TEST_DATABASE_URL (a new
// schema per measurement). Without PostgreSQL the postgres rows are left
// out, except in CI.
func databases(tb testing.TB) []database {
	out := []database{{"sqlite", func() string { return filepath.Join(tb.TempDir(), "jobs.db") }}}
	base := os.Getenv("TOVA_BENCH_DATABASE_URL")
	if base == "" {
		base = os.Getenv("TOVA_TEST_DATABASE_URL")
	}
	if base == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatal("TOVA_TEST_DATABASE_URL is not set: the PostgreSQL benchmarks cannot run in CI without it")
		}
		return out
	}
	return append(out, database{"postgres", func() string { return schemaURL(tb, base) }})
}

func schemaURL(tb testing.TB, base string) string {
	u, drop, err := testutil.FreshSchema(context.Background(), base, "tova_jobsbench_")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { drop() })
	return u
}

// TestTable prints the comparison table. It is the benchmark run
// proper; by default it runs a few jobs only, to keep the harness
// working. TOVA_JOBSBENCH_JOBS sets the jobs per throughput run (e.g.
// 3000), TOVA_JOBSBENCH_SAMPLES the latency samples (e.g. 300) and
// TOVA_JOBSBENCH_DB selects one database (sqlite or postgres);
// TOVA_JOBSBENCH_RUNS > 1 reports the medians of that many runs.
func TestTable(t *testing.T) {
	n, samples, runs := envInt("TOVA_JOBSBENCH_JOBS", 50), envInt("TOVA_JOBSBENCH_SAMPLES", 10), envInt("TOVA_JOBSBENCH_RUNS", 1)
	ctx := context.Background()
	rows := map[string][]Result{}
	only := os.Getenv("TOVA_JOBSBENCH_DB")
	for _, d := range databases(t) {
		db, place := d.name, d.place
		if only != "" && only != db {
			continue
		}
		var river, tova []Result
		for range runs { // alternate the sides: the database's state drifts
			for _, side := range []func(context.Context, string, int, int) Result{River, Tova} {
				r := side(ctx, place(), n, samples)
				if r.Err != nil {
					t.Errorf("%s on %s: %v", r.Name, db, r.Err)
				}
				if r.Name == "river" {
					river = append(river, r)
				} else {
					tova = append(tova, r)
				}
			}
		}
		rows[db] = append(rows[db], Median(river), Median(tova))
	}
	var b strings.Builder
	Table(&b, rows)
	t.Logf("%d jobs per throughput run (%d inserters), %d latency samples, %d workers, median of %d runs\n%s", n, Inserters, samples, Workers, runs, b.String())
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// runner is River or Tova.
type runner func(ctx context.Context, url string, n, samples int) Result

// eachSide runs bench for River and for Tova on every database.
func eachSide(b *testing.B, bench func(b *testing.B, run runner, place string)) {
	for _, d := range databases(b) {
		for _, side := range []struct {
			name string
			run  runner
		}{{"river", River}, {"tova", Tova}} {
			b.Run(side.name+"-"+d.name, func(b *testing.B) { bench(b, side.run, d.place()) })
		}
	}
}

// Benchmarks for go test -bench: one op is one job, enqueued and started.
func BenchmarkThroughput(b *testing.B) {
	eachSide(b, func(b *testing.B, run runner, place string) {
		r := run(context.Background(), place, b.N, 0)
		if r.Err != nil {
			b.Fatal(r.Err)
		}
		b.ReportMetric(r.PerSec, "jobs/s")
	})
}

func BenchmarkLatency(b *testing.B) {
	eachSide(b, func(b *testing.B, run runner, place string) {
		r := run(context.Background(), place, 1, b.N)
		if r.Err != nil {
			b.Fatal(r.Err)
		}
		b.ReportMetric(float64(r.P50)/float64(time.Millisecond), "p50-ms")
		b.ReportMetric(float64(r.P99)/float64(time.Millisecond), "p99-ms")
	})
}

// BenchmarkSQLiteInsert: one op is one job inserted by River (a client
// that only inserts) into a jobs file, through the driver's own
// connection ("driver": each statement compiled at every use) and
// through the runtime's, which keeps its statements ("kept").
func BenchmarkSQLiteInsert(b *testing.B) {
	for _, side := range []struct {
		name string
		open func(dsn string) (*sql.DB, error)
	}{
		{"driver", func(dsn string) (*sql.DB, error) { return sql.Open("sqlite", dsn) }},
		{"kept", func(dsn string) (*sql.DB, error) { return sqlitecache.Open(dsn), nil }},
	} {
		b.Run(side.name, func(b *testing.B) {
			ctx := context.Background()
			db, err := side.open(jobs.SQLiteDSN(filepath.Join(b.TempDir(), "jobs.db")))
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			db.SetMaxOpenConns(1)
			drv := riversqlite.New(db)
			m, err := rivermigrate.New(drv, nil)
			if err == nil {
				_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
			}
			if err != nil {
				b.Fatal(err)
			}
			c, err := river.NewClient(drv, &river.Config{})
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := c.Insert(ctx, benchArgs{}, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
