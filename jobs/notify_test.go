package jobs_test

import (
	"fmt"
	"testing"
	"time"

	"tova/jobs/jobstest"
)

const wakeSrc = `
server "api" {
  fn kick() { spawn_job(work, 1) }
  fn announce() { publish("ping", { n: 1 }) }
  background fn work(n) { print("work ran") }
}
server "audit" {
  subscribe "ping" fn(p) { print("audit got ping") }
}
`

// On SQLite, a job inserted by this process runs without waiting for a
// poll: with the queue and listener polls an hour apart, a spawn_job, and
// an event published by one server to another (whose queue has another
// River client), still run at once, every time. (River's listener also
// looks every 5 s, when it pings: the bound of 2 s per job keeps that
// from passing for a wake.)
func TestSQLiteJobsRunWithoutPolling(t *testing.T) {
	app := startApp(t, wakeSrc, sqliteBackend(t), func(o *jobstest.Options) {
		o.Jobs.FetchPollInterval = time.Hour
		o.Jobs.ListenPollInterval = time.Hour
	})
	for i := 1; i <= 5; i++ {
		app.call(t, "api", "kick")
		waitFor(t, 2*time.Second, fmt.Sprintf("job %d", i), func() bool { return len(app.out.Lines("work ran")) == i })
		app.call(t, "api", "announce")
		waitFor(t, 2*time.Second, fmt.Sprintf("event %d", i), func() bool { return len(app.out.Lines("audit got ping")) == i })
	}
}
