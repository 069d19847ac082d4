package jobs_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"tova/internal/testutil"
	"tova/jobs"
	"tova/jobs/jobstest"
	"tova/vm"
)

// requestKey carries, in a test, the id of the request a call serves.
type requestKey struct{}

const requestSrc = `
jobs { max_attempts: 2, backoff: 0.01 }
server "api" {
  fn kick() {
    spawn_job(work, 1)
    publish("evt", 2)
  }
  fn kick_alone() { spawn_job(alone, 3) }
  background fn work(x) {
    if job_attempt() == 1 { spawn_job(again, x) }
    throw "work failed for {x}"
  }
  background fn again(x) { throw "again failed for {x}" }
  background fn alone(x) { throw "alone failed for {x}" }
}
server "mail" {
  subscribe "evt" fn(x) { throw "welcome failed for {x}" }
  subscribe "evt" fn audit(x) { throw "audit failed for {x}" }
}
`

// The jobs and deliveries stored while serving a request keep its id,
// in the queue: each of their failed attempts is logged with it, a job
// they spawn keeps it, each delivery of a split event keeps it, and
// tova jobs -v lists it. (Their failures were logged without any
// request id.) A job stored outside a request is stored as before,
// without one, and runs as jobs stored by an earlier version do.
func TestJobsKeepTheRequestID(t *testing.T) {
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			app := startApp(t, requestSrc, be, func(o *jobstest.Options) {
				o.Jobs.RequestID = func(t *vm.Thread) string {
					id, _ := t.Context().Value(requestKey{}).(string)
					return id
				}
			})
			ctx := context.WithValue(context.Background(), requestKey{}, "trace-abc-123")
			if _, err := app.Server("api").Call(ctx, "kick"); err != nil {
				t.Fatal(err)
			}
			app.call(t, "api", "kick_alone")
			failures := func() map[string][]map[string]any { return testutil.ErrorLines(app.logs.String()) }
			ins := []string{"job work", "job again", "job alone", "subscribe evt", "subscribe evt fn audit"}
			waitFor(t, 20*time.Second, "two failed attempts of each job", func() bool {
				f := failures()
				for _, in := range ins {
					if len(f[in]) < 2 {
						return false
					}
				}
				return true
			})
			f := failures()
			for _, in := range ins {
				want := "trace-abc-123"
				if in == "job alone" {
					want = ""
				}
				for _, rec := range f[in] {
					if got, _ := rec["request_id"].(string); got != want {
						t.Errorf("%s (attempt %v) logged request_id %q, want %q", in, rec["attempt"], got, want)
					}
				}
			}
			var listed []jobs.Job
			waitFor(t, 10*time.Second, "the five jobs discarded", func() bool {
				listed = listJobs(t, be, jobs.StateDiscarded)
				return len(listed) == 5
			})
			for _, j := range listed {
				want := "trace-abc-123"
				if j.Name == "alone" {
					want = ""
				}
				if j.RequestID != want {
					t.Errorf("%s %s listed with request id %q, want %q", j.Kind, j.Name, j.RequestID, want)
				}
			}
			var out bytes.Buffer
			if err := jobs.Format(&out, listed, true); err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(out.String(), "    request_id trace-abc-123\n"); n != 4 {
				t.Errorf("tova jobs -v shows the request id of %d jobs, want 4:\n%s", n, out.String())
			}
		})
	}
}
