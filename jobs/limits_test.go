package jobs_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"tova/driver"
	"tova/jobs"
	"tova/vm"
)

const limitsSrc = `
server "w" {
  fn spawn_string(n) { spawn_job(work, "x" * n) }
  fn publish_string(n) { publish("t", "x" * n) }
  background fn work(s) { print("work {len(s)}") }
  subscribe "t" fn(s) { print("event {len(s)}") }
}
`

// Arguments of any size were stored: a 200 MB one took gigabytes of
// memory on its way through the queue and stalled the job system.
func TestArgumentSizeLimit(t *testing.T) {
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			app := startApp(t, limitsSrc, be)
			call := func(fn string, n int) error {
				_, err := app.Server("w").Call(context.Background(), fn, vm.Int(int64(n)))
				return err
			}
			// ["x…x"] and "x…x": the JSON is 4 and 2 bytes longer
			for fn, over := range map[string]int{"spawn_string": jobs.MaxArgsBytes - 3, "publish_string": jobs.MaxArgsBytes - 1} {
				err := call(fn, over)
				what := map[string]string{"spawn_string": "spawn_job: the arguments are", "publish_string": "publish: the payload is"}[fn]
				want := fmt.Sprintf("JobError: %s %d bytes as JSON, over the limit of %d (1 MiB): store large data in the database and pass its id", what, jobs.MaxArgsBytes+1, jobs.MaxArgsBytes)
				if ve, ok := err.(*vm.Error); !ok || ve.Kind+": "+ve.Msg != want {
					t.Errorf("%s past the limit: got %v, want %s", fn, err, want)
				}
			}
			if js := listJobs(t, be); len(js) != 0 {
				t.Fatalf("refused calls stored %d jobs", len(js))
			}
			if err := call("spawn_string", jobs.MaxArgsBytes-4); err != nil {
				t.Fatalf("spawn_job at the limit: %v", err)
			}
			if err := call("publish_string", jobs.MaxArgsBytes-2); err != nil {
				t.Fatalf("publish at the limit: %v", err)
			}
			waitFor(t, 20*time.Second, "the job and the event at the limit", func() bool {
				return len(app.out.Lines(fmt.Sprintf("work %d", jobs.MaxArgsBytes-4))) == 1 &&
					len(app.out.Lines(fmt.Sprintf("event %d", jobs.MaxArgsBytes-2))) == 1
			})
			if strings.Contains(app.logs.String(), `"level":"error"`) {
				t.Errorf("errors logged:\n%s", app.logs)
			}
		})
	}
}

// A script (tova run) keeps to the same limit, so that code does not
// begin to fail when it moves into a server, and the error is caught as
// any other.
func TestArgumentSizeLimitInScript(t *testing.T) {
	p, err := driver.CompileFile("script.tova", []byte(`
fn work(s) { print("work {len(s)}") }
spawn_job(work, "x" * 1048572)
try { spawn_job(work, "x" * 1048573) } catch e { print("{e.kind}: {e.message}") }
try { publish("t", "x" * 1048575) } catch e { print("{e.kind}: {e.message}") }
`))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := driver.Run(context.Background(), p, vm.Config{Stdout: &out, Stderr: &out}); err != nil {
		t.Fatal(err)
	}
	want := "work 1048572\n" +
		"JobError: spawn_job: the arguments are 1048577 bytes as JSON, over the limit of 1048576 (1 MiB): store large data in the database and pass its id\n" +
		"JobError: publish: the payload is 1048577 bytes as JSON, over the limit of 1048576 (1 MiB): store large data in the database and pass its id\n"
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
}

const depthSrc = `
fn nested(n) {
  var x = 1
  for i in range(n) { x = [x] }
  x
}
fn depth(x) {
  var n = 0
  var y = x
  while type_of(y) == "List" {
    y = y[0]
    n += 1
  }
  n
}
server "w" {
  fn spawn_nested(n) { spawn_job(deep, nested(n)) }
  fn publish_nested(n) { publish("d", nested(n)) }
  background fn deep(x) { print("job {depth(x)}") }
  subscribe "d" fn(x) { print("event {depth(x)}") }
}
`

// An argument nested about a thousand levels deep failed in the
// database, with its words ("SQL logic error: malformed JSON (1)").
func TestArgumentDepthLimit(t *testing.T) {
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			app := startApp(t, depthSrc, be)
			call := func(fn string, n int) error {
				_, err := app.Server("w").Call(context.Background(), fn, vm.Int(int64(n)))
				return err
			}
			for fn, what := range map[string]string{"spawn_nested": "spawn_job: an argument is", "publish_nested": "publish: the payload is"} {
				for _, n := range []int{jobs.MaxArgsDepth + 1, 997} {
					want := fmt.Sprintf("JobError: %s nested %d levels deep, over the limit of %d levels of lists and objects", what, n, jobs.MaxArgsDepth)
					if ve, ok := call(fn, n).(*vm.Error); !ok || ve.Kind+": "+ve.Msg != want {
						t.Errorf("%s(%d): got %v, want %s", fn, n, ve, want)
					}
				}
				if err := call(fn, jobs.MaxArgsDepth); err != nil {
					t.Errorf("%s at the limit: %v", fn, err)
				}
			}
			waitFor(t, 20*time.Second, "the job and the event at the limit", func() bool {
				return len(app.out.Lines(fmt.Sprintf("job %d", jobs.MaxArgsDepth))) == 1 &&
					len(app.out.Lines(fmt.Sprintf("event %d", jobs.MaxArgsDepth))) == 1
			})
			// stored (and listed) at the limit, nothing past it
			waitFor(t, 10*time.Second, "two completed jobs", func() bool { return len(listJobs(t, be, jobs.StateCompleted)) == 2 })
			if js := listJobs(t, be); len(js) != 0 {
				t.Errorf("jobs left: %+v", js)
			}
		})
	}
}
