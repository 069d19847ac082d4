// Package jobsbench measures the jobs runtime against River driven
// directly from Go, on the same database in the same run: throughput
// (jobs started per second while Inserters callers enqueue them one by
// one) and enqueue→start latency (one job at a time, p50 and p99).
//
// The Tova side enqueues with spawn_job from Tova code and measures the
// start inside the background fn; the River side inserts with
// Client.Insert and measures in a Go worker. Both use the runtime's
// queue settings (jobs.SQLiteDSN and its connections keeping their
// statements, the fetch cooldown and poll interval) and the same number
// of workers.
package jobsbench

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"tova/driver"
	"tova/internal/sqlitecache"
	"tova/jobs"
	"tova/jobs/jobstest"
	"tova/vm"
)

// Workers is the worker count of both sides; Inserters is how many
// callers enqueue at once in the throughput run (as concurrent requests
// would).
const (
	Workers   = 50
	Inserters = 8
)

// parallel runs fn(share) on Inserters goroutines that split n between
// them, and returns the first error.
func parallel(n int, fn func(share int) error) error {
	errs := make(chan error, Inserters)
	for i := range Inserters {
		share := n / Inserters
		if i < n%Inserters {
			share++
		}
		go func() { errs <- fn(share) }()
	}
	var first error
	for range Inserters {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Result is one measured configuration.
type Result struct {
	Name     string
	Jobs     int           // jobs in the throughput run
	Elapsed  time.Duration // first enqueue to last start
	PerSec   float64
	Samples  int // latency samples
	P50, P99 time.Duration
	Err      error
}

// recorder counts job starts and collects enqueue→start latencies.
type recorder struct {
	started atomic.Int64
	want    atomic.Int64
	done    chan struct{}
	mu      sync.Mutex
	lat     []time.Duration
}

func newRecorder() *recorder { return &recorder{done: make(chan struct{}, 1)} }

// expect arms the recorder for n more starts.
func (r *recorder) expect(n int64) {
	r.started.Store(0)
	r.want.Store(n)
	select {
	case <-r.done:
	default:
	}
}

// mark records a job start; t0 is the enqueue time (UnixNano) or 0.
func (r *recorder) mark(t0 int64) {
	if t0 > 0 {
		d := time.Duration(time.Now().UnixNano() - t0)
		r.mu.Lock()
		r.lat = append(r.lat, d)
		r.mu.Unlock()
	}
	if r.started.Add(1) == r.want.Load() {
		select {
		case r.done <- struct{}{}:
		default:
		}
	}
}

func (r *recorder) wait(timeout time.Duration) error {
	select {
	case <-r.done:
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("only %d of %d jobs started within %v", r.started.Load(), r.want.Load(), timeout)
	}
}

func (r *recorder) quantiles() (p50, p99 time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.lat) == 0 {
		return 0, 0
	}
	s := slices.Clone(r.lat)
	slices.Sort(s)
	at := func(q float64) time.Duration { return s[min(len(s)-1, int(q*float64(len(s))))] }
	return at(0.5), at(0.99)
}

type recorderKey struct{}

func init() {
	vm.Register(&vm.Builtin{Name: "__jobsbench_mark", Fn: func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		if r, ok := t.In.Service(recorderKey{}).(*recorder); ok && len(args) == 1 {
			r.mark(args[0].AsInt())
		}
		return vm.Nil, nil
	}})
}

const program = `
server "bench" {
  fn burst(n) { for i in range(n) { spawn_job(work, 0) } }
  fn one(t0) { spawn_job(work, t0) }
  background fn work(t0) { __jobsbench_mark(t0) }
}
`

// Tova measures spawn_job → background fn on the database at url (a
// SQLite file path or a postgres:// URL).
func Tova(ctx context.Context, url string, n, samples int) Result {
	res := Result{Name: "tova", Jobs: n, Samples: samples}
	p, err := driver.CompileFile("bench.tova", []byte(program))
	if err != nil {
		res.Err = err
		return res
	}
	app, err := jobstest.Start(ctx, p, jobstest.Options{Jobs: jobs.Options{DatabaseURL: url, Workers: Workers}})
	if err != nil {
		res.Err = err
		return res
	}
	defer app.Stop(context.Background())
	srv := app.Server("bench")
	rec := newRecorder()
	srv.Inst.SetService(recorderKey{}, rec)
	one := func(t0 int64) error { _, err := srv.Call(ctx, "one", vm.Int(t0)); return err }
	burst := func(share int) error { _, err := srv.Call(ctx, "burst", vm.Int(int64(share))); return err }
	measure(&res, rec, one, burst)
	return res
}

// measure runs one warm-up job, then res.Jobs jobs enqueued in parallel
// bursts (throughput), then res.Samples jobs one at a time (latency from
// enqueue to start). one enqueues a job stamped t0; burst enqueues share
// jobs.
func measure(res *Result, rec *recorder, one func(t0 int64) error, burst func(share int) error) {
	warm(rec, func() error { return one(0) })
	rec.expect(int64(res.Jobs))
	start := time.Now()
	if res.Err = parallel(res.Jobs, burst); res.Err != nil {
		return
	}
	if res.Err = rec.wait(time.Minute); res.Err != nil {
		return
	}
	res.Elapsed = time.Since(start)
	res.PerSec = float64(res.Jobs) / res.Elapsed.Seconds()
	for range res.Samples {
		rec.expect(1)
		if res.Err = one(time.Now().UnixNano()); res.Err != nil {
			return
		}
		if res.Err = rec.wait(10 * time.Second); res.Err != nil {
			return
		}
	}
	res.P50, res.P99 = rec.quantiles()
}

// warm runs one job so that connections and the queue are warm.
func warm(rec *recorder, spawn func() error) {
	rec.expect(1)
	if spawn() == nil {
		rec.wait(10 * time.Second)
	}
}

type benchArgs struct {
	T0 int64 `json:"t0"`
}

func (benchArgs) Kind() string { return "bench" }

// startRiver migrates River's tables through driver and starts a client
// on it; insert enqueues a bench job, stop stops the client.
func startRiver[TTx any](ctx context.Context, driver riverdriver.Driver[TTx], cfg *river.Config) (insert func(context.Context, int64) error, stop func(), err error) {
	m, err := rivermigrate.New(driver, nil)
	if err == nil {
		_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	}
	if err != nil {
		return nil, nil, err
	}
	c, err := river.NewClient(driver, cfg)
	if err != nil {
		return nil, nil, err
	}
	if err := c.Start(ctx); err != nil {
		return nil, nil, err
	}
	insert = func(ctx context.Context, t0 int64) error { _, err := c.Insert(ctx, benchArgs{t0}, nil); return err }
	return insert, func() { c.Stop(context.Background()) }, nil
}

// River measures River driven from Go, configured as the runtime
// configures it, on the database at url.
func River(ctx context.Context, url string, n, samples int) Result {
	res := Result{Name: "river", Jobs: n, Samples: samples}
	rec := newRecorder()
	workers := river.NewWorkers()
	river.AddWorker(workers, river.WorkFunc(func(ctx context.Context, j *river.Job[benchArgs]) error {
		rec.mark(j.Args.T0)
		return nil
	}))
	cfg := &river.Config{
		Queues:  map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: Workers}},
		Workers: workers,
	}
	var insert func(ctx context.Context, t0 int64) error
	var stop func()
	if strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://") {
		pcfg, err := pgxpool.ParseConfig(url)
		if err != nil {
			res.Err = err
			return res
		}
		pcfg.MaxConns = int32(jobs.PostgresPoolSize(Workers))
		pool, err := pgxpool.NewWithConfig(ctx, pcfg)
		if err != nil {
			res.Err = err
			return res
		}
		defer pool.Close()
		cfg.FetchCooldown, cfg.FetchPollInterval = jobs.PostgresFetchCooldown, jobs.PostgresFetchPollInterval
		insert, stop, res.Err = startRiver(ctx, riverpgxv5.New(pool), cfg)
	} else {
		db := sqlitecache.Open(jobs.SQLiteDSN(url))
		defer db.Close()
		db.SetMaxOpenConns(1)
		cfg.FetchCooldown, cfg.FetchPollInterval = jobs.SQLiteFetchCooldown, jobs.SQLiteFetchPollInterval
		insert, stop, res.Err = startRiver(ctx, riversqlite.New(db), cfg)
	}
	if res.Err != nil {
		return res
	}
	defer stop()
	one := func(t0 int64) error { return insert(ctx, t0) }
	measure(&res, rec, one, func(share int) error {
		for range share {
			if err := one(0); err != nil {
				return err
			}
		}
		return nil
	})
	return res
}

// Median is the run of median throughput, with the median p50 and p99
// of all runs.
func Median(rs []Result) Result {
	for _, r := range rs {
		if r.Err != nil {
			return r
		}
	}
	if len(rs) == 0 {
		return Result{Err: fmt.Errorf("no runs")}
	}
	mid := func(key func(Result) float64) Result {
		s := slices.Clone(rs)
		slices.SortFunc(s, func(a, b Result) int { return cmp.Compare(key(a), key(b)) })
		return s[len(s)/2]
	}
	out := mid(func(r Result) float64 { return r.PerSec })
	out.P50 = mid(func(r Result) float64 { return float64(r.P50) }).P50
	out.P99 = mid(func(r Result) float64 { return float64(r.P99) }).P99
	return out
}

// Table prints results grouped by database, each Tova row with its
// ratio to the River row before it (throughput: higher is better;
// latency: River's over Tova's, so 1.00x or more means as fast).
func Table(w io.Writer, rows map[string][]Result) {
	fmt.Fprintf(w, "%-9s %-6s %7s %10s %9s %9s %9s %8s\n", "database", "side", "jobs", "jobs/s", "p50", "p99", "thr.", "p50")
	for _, db := range []string{"sqlite", "postgres"} {
		var base *Result
		for i := range rows[db] {
			r := &rows[db][i]
			if r.Err != nil {
				fmt.Fprintf(w, "%-9s %-6s error: %v\n", db, r.Name, r.Err)
				continue
			}
			ratio, lat := "", ""
			if r.Name == "river" {
				base = r
			} else if base != nil {
				ratio = fmt.Sprintf("%.2fx", r.PerSec/base.PerSec)
				lat = fmt.Sprintf("%.2fx", float64(base.P50)/float64(max(r.P50, 1)))
			}
			fmt.Fprintf(w, "%-9s %-6s %7d %10.0f %9s %9s %9s %8s\n", db, r.Name, r.Jobs, r.PerSec,
				r.P50.Round(10*time.Microsecond), r.P99.Round(10*time.Microsecond), ratio, lat)
		}
	}
}
