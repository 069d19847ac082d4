package jobs_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"tova/jobs"
)

const pubsubSrc = `
server "api" {
  fn kick() {
    n = publish("user_created", { id: 7, name: "ann", score: 4 / 2 })
    print("published to {n}")
    print("nobody {publish("nobody_listens", 1)}")
  }
}
server "mail" {
  subscribe "user_created" fn(user) { print("mail welcome {user.name} job={job_id()}") }
  subscribe "user_created" fn(user) {
    print("mail audit {user.id} attempt={job_attempt()}")
    if job_attempt() == 1 { throw "audit store down" }
  }
}
server "stats" {
  subscribe "user_created" fn(user) { print("stats count {user.id} {type_of(user.id)} {type_of(user.score)}") }
}
`

// A publish reaches every subscriber in every named server; a failing
// subscriber is retried alone; a publisher without subscribers works.
func TestPublishFanOut(t *testing.T) {
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			app := startApp(t, pubsubSrc, be)
			app.call(t, "api", "kick")
			waitFor(t, 10*time.Second, "deliveries", func() bool {
				return len(app.out.Lines("mail audit")) == 2 && len(app.out.Lines("stats count 7")) == 1
			})
			time.Sleep(200 * time.Millisecond)
			out := app.out.String()
			for _, want := range []string{"published to 2", "nobody 0", "mail welcome ann job=", "stats count 7 Int Float", "mail audit 7 attempt=2"} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			if n := len(app.out.Lines("mail welcome")); n != 1 {
				t.Errorf("the succeeding subscriber ran %d times, want once:\n%s", n, out)
			}
		})
	}
}

const twoProcessSrc = `
server "api" {
  fn kick() {
    for i in range(20) { publish("order_placed", { order: i }) }
  }
}
server "billing" {
  subscribe "order_placed" fn(o) { print("billing {o.order}") }
}
server "shipping" {
  subscribe "order_placed" fn(o) { print("shipping {o.order}") }
}
`

// Subscribers in two other processes, sharing the database, each get
// every event.
func TestPublishAcrossProcesses(t *testing.T) {
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			prog := writeProgram(t, twoProcessSrc)
			billing := startChild(t, prog, be, "billing")
			shipping := startChild(t, prog, be, "shipping")
			app := startApp(t, twoProcessSrc, be, onlyServers("api"))
			app.call(t, "api", "kick")
			waitFor(t, 20*time.Second, "40 deliveries", func() bool {
				return len(billing.out.Lines("billing ")) >= 20 && len(shipping.out.Lines("shipping ")) >= 20
			})
			for _, c := range []struct {
				name string
				ch   *child
			}{{"billing", billing}, {"shipping", shipping}} {
				got := uniqueSorted(c.ch.out.Lines(c.name + " "))
				if len(got) != 20 {
					t.Errorf("%s got %d distinct orders: %v", c.name, len(got), got)
				}
			}
			billing.stop()
			shipping.stop()
		})
	}
}

func uniqueSorted(xs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	sort.Strings(out)
	return out
}

func expectAll(prefix string, n int) []string {
	out := make([]string, n)
	for i := range n {
		out[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	sort.Strings(out)
	return out
}

const deployV1 = `
server "api" {
  fn kick() { publish("orders", { id: 7 }) }
}
server "shop" {
  jobs { backoff: 1.second, max_backoff: 1.second }
  subscribe "orders" fn audit(o) { print("audit {o.id}") }
  subscribe "orders" fn ship(o) {
    print("ship v1 {o.id}")
    throw "carrier down"
  }
}
`

// deployV1Pending runs deployV1's shop until both deliveries of one
// order were tried (audit's done, ship's failed and pending its retry),
// then stops it, as a deploy does.
func deployV1Pending(t *testing.T, be backend) {
	t.Helper()
	app := startApp(t, deployV1, be, onlyServers("api"))
	v1 := startChild(t, writeProgram(t, deployV1), be, "shop")
	app.call(t, "api", "kick")
	deadline := time.Now().Add(20 * time.Second)
	for len(v1.out.Lines("audit 7")) != 1 || len(v1.out.Lines("ship v1 7")) < 1 {
		if time.Now().After(deadline) {
			t.Fatalf("both deliveries not tried:\n%s\n%s\n%s", v1.out.String(), v1.errs.String(), app.logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	v1.stop()
}

// The next version: audit removed, ship fixed and now first, a new
// subscriber in ship's old place.
const deployV2 = `
server "api" {
  fn kick() { publish("orders", { id: 7 }) }
}
server "shop" {
  jobs { backoff: 1.second, max_backoff: 1.second }
  subscribe "orders" fn ship(o) { print("ship v2 {o.id}") }
  subscribe "orders" fn notify(o) { print("notify {o.id}") }
}
`

// A delivery still pending across a deploy (a failed attempt waiting
// for its retry) goes to its own subscriber in the new version, found
// by name, though the topic's subscribers changed around it: not to
// the one now in its place, nor dropped.
func TestPendingDeliveryFollowsItsSubscriber(t *testing.T) {
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			deployV1Pending(t, be)
			v2 := startChild(t, writeProgram(t, deployV2), be, "shop")
			waitFor(t, 20*time.Second, "ship's delivery in the new version", func() bool { return len(v2.out.Lines("ship v2 7")) == 1 })
			time.Sleep(300 * time.Millisecond)
			if out := v2.out.String(); strings.Contains(out, "notify") || strings.Contains(out, "audit") {
				t.Errorf("another subscriber got ship's delivery:\n%s", out)
			}
			v2.stop()
		})
	}
}

const namedFailSrc = `
server "shop" {
  jobs { max_attempts: 1 }
  fn kick() { publish("orders", { id: 1 }) }
  subscribe "orders" fn audit(o) { throw "audit down" }
  subscribe "orders" fn ship(o) { throw "ship down" }
  subscribe "orders" fn(o) { throw "anon down" }
}
`

// A named subscriber's failure names it, in the log's "in", in its stack
// frame and in the job list: two failing subscribers of a topic were
// told apart only by a line number.
func TestNamedSubscriberFailureNamesIt(t *testing.T) {
	be := sqliteBackend(t)
	app := startApp(t, namedFailSrc, be)
	app.call(t, "shop", "kick")
	var names []string
	waitFor(t, 10*time.Second, "three discarded deliveries", func() bool {
		js := listJobs(t, be, jobs.StateDiscarded)
		names = names[:0]
		for _, j := range js {
			names = append(names, j.Name)
		}
		return len(js) == 3
	})
	sort.Strings(names)
	if fmt.Sprint(names) != "[orders orders fn audit orders fn ship]" {
		t.Errorf("job names %q", names)
	}
	logs := app.logs.String()
	for _, want := range []string{`"in":"subscribe orders fn audit"`, `at subscribe orders fn audit (`, `"in":"subscribe orders fn ship"`, `"in":"subscribe orders"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log lacks %s:\n%s", want, logs)
		}
	}
}

// A server the program no longer declares (renamed, removed) subscribes
// to nothing once the program starts again: publish counted it, and
// stored deliveries for it that nothing would ever run.
func TestSubscriptionsOfAServerNoLongerDeclared(t *testing.T) {
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			const v1 = `server "api" {
  fn send() { publish("evt", 1) }
}
server "worker" {
  subscribe "evt" fn handle(p) { print("worker got {p}") }
}`
			const v2 = `server "api" {
  fn send() { publish("evt", 1) }
}
server "consumer" {
  subscribe "evt" fn handle(p) { print("consumer got {p}") }
}`
			old := startApp(t, v1, be)
			old.stopWithin(5 * time.Second)
			next := startApp(t, v2, be)
			v, err := next.Server("api").Call(context.Background(), "send")
			if err != nil {
				t.Fatal(err)
			}
			if v.AsInt() != 1 {
				t.Errorf("publish stored %d deliveries, want 1 (the consumer's)", v.AsInt())
			}
			waitFor(t, 10*time.Second, "the delivery", func() bool { return len(next.out.Lines("consumer got 1")) == 1 })
			if !strings.Contains(next.logs.String(), `"subscriber_server":"worker"`) {
				t.Errorf("the forgotten subscriptions are not logged:\n%s", next.logs)
			}
			if q := listJobs(t, be, jobs.StateQueued); len(q) != 0 {
				t.Errorf("deliveries left queued: %+v", q)
			}
		})
	}
}

// A server the starting program does not declare but another process
// still runs (a newer version's, in a rolling deploy or a rollback)
// keeps its subscriptions: the older version's start forgot them, and
// publish stored nothing more for it.
func TestSubscriptionsOfAServerAnotherVersionRuns(t *testing.T) {
	be := sqliteBackend(t)
	const next = `server "api" {
  fn send() { publish("evt", 1) }
}
server "audit" {
  subscribe "evt" fn note(p) { print("audit got {p}") }
}`
	const prev = `server "api" {
  fn send() { publish("evt", 1) }
}`
	v2 := startApp(t, next, be)
	startApp(t, prev, be)
	v, err := v2.Server("api").Call(context.Background(), "send")
	if err != nil {
		t.Fatal(err)
	}
	if v.AsInt() != 1 {
		t.Fatalf("publish stored %d deliveries, want 1 (audit's)", v.AsInt())
	}
	waitFor(t, 10*time.Second, "the delivery", func() bool { return len(v2.out.Lines("audit got 1")) == 1 })
}

// A delivery pending across a deploy for a subscriber the new version no
// longer has is dropped as discarded, saying why, which tova jobs lists
// by default: it was completed, listed with the jobs that succeeded
// (and cleaned away as one), having run no code.
func TestDroppedDeliveryIsDiscarded(t *testing.T) {
	const v2 = `
server "api" {
  fn kick() { publish("orders", { id: 7 }) }
}
server "shop" {
  jobs { backoff: 1.second, max_backoff: 1.second }
  subscribe "orders" fn audit(o) { print("audit {o.id}") }
  subscribe "orders" fn notify(o) { print("notify {o.id}") }
}
`
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			deployV1Pending(t, be)
			v2c := startChild(t, writeProgram(t, v2), be, "shop")
			var js []jobs.Job
			waitFor(t, 20*time.Second, "ship's delivery discarded", func() bool {
				js = listJobs(t, be, jobs.StateDiscarded)
				return len(js) == 1
			})
			v2c.stop()
			if e := js[0].Errors; js[0].Name != "orders fn ship" || len(e) == 0 || !strings.Contains(e[len(e)-1], "dropped: the subscriber ship of orders is no longer in this server") {
				t.Errorf("discarded: %+v", js[0])
			}
			if out := v2c.out.String(); strings.Contains(out, "notify") || strings.Contains(out, "audit 7\naudit 7") {
				t.Errorf("another subscriber got ship's delivery:\n%s", out)
			}
		})
	}
}

// An event published before a server that subscribes to it has first
// started (servers deployed apart, the subscriber's first rollout) is
// delivered when it starts: the program declares the subscriber. It was
// stored for no one, and lost without a word.
func TestPublishBeforeSubscriberFirstStarts(t *testing.T) {
	const src = `
server "api" {
  fn kick() { print("published to {publish("ev", { code: "pre" })}") }
}
server "stats" {
  subscribe "ev" fn(e) { print("stats got {e.code}") }
}
`
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			api := startApp(t, src, be, onlyServers("api"))
			api.call(t, "api", "kick")
			if !strings.Contains(api.out.String(), "published to 1") {
				t.Fatalf("publish: %q", api.out.String())
			}
			prog := writeProgram(t, src)
			stats := startChild(t, prog, be, "stats")
			waitFor(t, 20*time.Second, "the event published before stats started", func() bool {
				return len(stats.out.Lines("stats got pre")) > 0
			})
			stats.stop()
		})
	}
}
