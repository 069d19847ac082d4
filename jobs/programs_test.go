package jobs_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"tova/internal/testutil"
	"tova/jobs"
	"tova/jobs/jobstest"
	"tova/vm"
)

// freshDatabase makes a database of its own for the test in the CI's
// PostgreSQL (dropped after it), and returns its URL; without one the
// test is skipped (failed under CI=true).
func freshDatabase(t *testing.T, prefix string) string {
	t.Helper()
	base := testDatabaseURL(t)
	if base == "" {
		t.Skip("TOVA_TEST_DATABASE_URL not set")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	url, drop, err := testutil.FreshDatabase(ctx, base, prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { drop() })
	return url
}

// Two programs using one PostgreSQL database (the same db url, without a
// search_path) keep their queues apart, as two programs in one directory
// do on SQLite: each program's events reach its own subscribers and its
// schedules tick. In shared tables, the program started last replaced
// the other's subscriptions, each took (and dropped) the other's events
// and ticks, and only one program's leader stored schedule ticks.
func TestProgramsSharingADatabase(t *testing.T) {
	url := freshDatabase(t, "tova_programs_")
	be := backend{name: "postgres", url: url}
	program := func(name, topic string) string {
		return `server {
  subscribe "` + topic + `" fn(p) { print("` + name + ` got {p.n}") }
  schedule "1s" fn ` + name + `_tick() { print("` + name + ` tick") }
  fn send(n) { publish("` + topic + `", { n: n }) }
}
`
	}
	fast := func(o *jobstest.Options) { o.Jobs.TickEvery = 100 * time.Millisecond }
	a := startAppNamed(t, "orders.tova", program("orders", "created"), be, fast)
	b := startAppNamed(t, "billing.tova", program("billing", "created"), be, fast)
	for i := 1; i <= 3; i++ {
		for _, app := range []*testApp{a, b} {
			if _, err := app.Server("").Call(context.Background(), "send", vm.Int(int64(i))); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, c := range []struct {
		app  *testApp
		name string
	}{{a, "orders"}, {b, "billing"}} {
		waitFor(t, 15*time.Second, c.name+"'s three events and two ticks", func() bool {
			return len(c.app.out.Lines(c.name+" got ")) == 3 && len(c.app.out.Lines(c.name+" tick")) >= 2
		})
		if strings.Contains(c.app.logs.String(), "dropped") {
			t.Errorf("%s dropped something: %s", c.name, c.app.logs.String())
		}
	}
	// Each program's jobs are listed from its own schema.
	for _, name := range []string{"orders", "billing"} {
		list, err := jobs.List(context.Background(), url, jobs.ListOptions{States: jobs.ListStates, Schema: jobs.ProgramSchema(name + ".tova")})
		if err != nil {
			t.Fatal(err)
		}
		events := 0
		for _, j := range list {
			if j.Kind == "event" {
				events++
			}
		}
		if events != 3 {
			t.Errorf("%s: %d event deliveries listed, want its 3", name, events)
		}
	}
}

// A database holding the shared tables of an earlier release (River's
// in the search_path's schema) goes on being used, with a warning, so
// that the jobs stored there are not left behind.
func TestProgramKeepsTheSharedTablesOfAnEarlierRelease(t *testing.T) {
	url := freshDatabase(t, "tova_legacy_")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	m, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		t.Fatal(err)
	}
	app := startAppNamed(t, "orders.tova", `server {
  subscribe "created" fn(p) { print("got {p.n}") }
  fn send(n) { publish("created", { n: n }) }
}
`, backend{name: "postgres", url: url})
	if _, err := app.Server("").Call(ctx, "send", vm.Int(1)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the event", func() bool { return len(app.out.Lines("got 1")) == 1 })
	if !strings.Contains(app.logs.String(), "the tables an earlier release made") {
		t.Errorf("no warning: %s", app.logs.String())
	}
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM public.river_job WHERE kind = 'tova_event'").Scan(&n); err != nil || n != 1 {
		t.Errorf("events in the shared tables: %d, %v", n, err)
	}
	var own bool
	pool.QueryRow(ctx, "SELECT to_regclass('tova_orders.river_job') IS NOT NULL").Scan(&own)
	if own {
		t.Error("the program's own schema was made beside the shared tables")
	}
}

// What a job or a subscriber receives keeps the order of its objects'
// keys on both queues: PostgreSQL's jsonb sorted them (shorter keys
// first), so that a row printed, logged or sent on came out in another
// order than on SQLite.
func TestArgumentsKeepTheirKeyOrder(t *testing.T) {
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			app := startApp(t, `server {
  subscribe "created" fn(p) { print("event {JSON.stringify(p)}") }
  background fn work(p) { print("job {JSON.stringify(p)}") }
  fn send() {
    row = { zebra: 1, id: 2, name: "x", a: { z: 1, b: 2 } }
    publish("created", row)
    spawn_job(work, row)
  }
}
`, be)
			app.call(t, "", "send")
			const want = `{"zebra":1,"id":2,"name":"x","a":{"z":1,"b":2}}`
			waitFor(t, 10*time.Second, "the event and the job", func() bool {
				return len(app.out.Lines("event ")) == 1 && len(app.out.Lines("job ")) == 1
			})
			for _, l := range append(app.out.Lines("event "), app.out.Lines("job ")...) {
				if !strings.HasSuffix(l, want) {
					t.Errorf("%s, want %s", l, want)
				}
			}
		})
	}
}

// The tables a program's URL put in public with a search_path are not
// taken for the shared tables of an earlier release: a program started
// after it on the same database has a queue of its own (it joined the
// other's, and so did every later program).
func TestSearchPathQueueIsNoEarlierRelease(t *testing.T) {
	url := freshDatabase(t, "tova_searchpath_")
	program := func(name string) string {
		return `server {
  subscribe "created" fn(p) { print("` + name + ` got {p.n}") }
  fn send(n) { publish("created", { n: n }) }
}
`
	}
	billing := startAppNamed(t, "billing.tova", program("billing"), backend{name: "postgres", url: withSearchPath(url, "public")})
	mailer := startAppNamed(t, "mailer.tova", program("mailer"), backend{name: "postgres", url: url})
	for _, app := range []*testApp{billing, mailer} {
		if _, err := app.Server("").Call(context.Background(), "send", vm.Int(1)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 10*time.Second, "each program's event", func() bool {
		return len(billing.out.Lines("billing got 1")) == 1 && len(mailer.out.Lines("mailer got 1")) == 1
	})
	if strings.Contains(mailer.logs.String(), "earlier release") {
		t.Errorf("the mailer took billing's tables for an earlier release's: %s", mailer.logs.String())
	}
	if !tableExists(t, url, "tova_mailer.river_job") {
		t.Errorf("the mailer has no schema of its own")
	}
}

// A URL's search_path naming a schema not made yet gets it made, as the
// program's own schema is (the queue failed to start on "no schema has
// been selected to create in").
func TestSearchPathSchemaIsMade(t *testing.T) {
	url := freshDatabase(t, "tova_newschema_")
	app := startApp(t, `server {
  subscribe "made" fn(p) { print("got {p.n}") }
  fn send(n) { publish("made", { n: n }) }
}
`, backend{name: "postgres", url: withSearchPath(url, "queue_here")})
	if _, err := app.Server("").Call(context.Background(), "send", vm.Int(7)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the event", func() bool { return len(app.out.Lines("got 7")) == 1 })
	if !tableExists(t, url, "queue_here.river_job") {
		t.Errorf("the queue is not in the schema the search_path names")
	}
}

// withSearchPath is the database URL url with a search_path of schema.
func withSearchPath(url, schema string) string {
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	return url + sep + "search_path=" + schema
}

// tableExists reports whether the database at url has the table
// (schema.table).
func tableExists(t *testing.T, url, table string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var there bool
	if err := pool.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", table).Scan(&there); err != nil {
		t.Fatal(err)
	}
	return there
}
