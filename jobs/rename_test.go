package jobs_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tova/jobs"
)

// The pending jobs of a server the program no longer declares, which no
// process runs (renamed in a new version: the guide's `server { }`
// becoming `server "api" { }`), are taken over by the server that has
// their background fn, and run: they stayed queued for a server that
// would never run again. A job of a fn no server has is left, warned of.
func TestJobsOfARenamedServerTakenOver(t *testing.T) {
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			const v1 = `server {
  jobs { workers: 1 }
  background fn block() { sleep(30000) }
  background fn mail(n) { print("v1 mail {n}") }
  background fn retired() { print("retired") }
  fn kick() { spawn_job(block); spawn_job(mail, 2); spawn_job(retired) }
}`
			const v2 = `server "api" {
  background fn block() { print("v2 block") }
  background fn mail(n) { print("v2 mail {n}") }
}
server "other" {
  background fn elsewhere() { print("elsewhere") }
}`
			old := startApp(t, v1, be)
			stopWithJobsLeft(t, old, be, "")
			if out := old.out.String(); strings.Contains(out, "mail") {
				t.Fatalf("v1 ran mail before it stopped:\n%s", out)
			}
			next := startApp(t, v2, be)
			waitFor(t, 10*time.Second, "the renamed server's jobs", func() bool {
				return len(next.out.Lines("v2 mail 2")) == 1 && len(next.out.Lines("v2 block")) == 1
			})
			logs := next.logs.String()
			if !strings.Contains(logs, `"server":"api","from_server":"server","jobs":2`) {
				t.Errorf("the taking over is not logged:\n%s", logs)
			}
			if strings.Count(logs, `"from_server":"server","jobs":1,`) != 1 || !strings.Contains(logs, "stay queued: no server of the program takes them") {
				t.Errorf("the job left is not warned of once:\n%s", logs)
			}
			if q := listJobs(t, be, jobs.StateQueued); len(q) != 1 || q[0].Name != "retired" {
				t.Errorf("queued: %+v, want retired's alone", q)
			}
		})
	}
}

// In a rolling deploy the renamed server's old process still runs when
// the new one starts: it keeps its jobs then, and what it leaves when
// it stops (queued, or handed back from running) is taken over at the
// next look, a minute on at the default heartbeat (30 of them); its
// subscriptions are forgotten then too, so that publish stores nothing
// more for it. (Nothing was pending at the new start: nothing was ever
// looked at again.)
func TestJobsOfARenamedServerTakenOverAfterItsLastProcessStops(t *testing.T) {
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			const v1 = `server {
  jobs { workers: 1 }
  background fn block() { sleep(30000) }
  background fn mail(n) { print("v1 mail {n}") }
  subscribe "evt" fn got(p) { print("v1 evt {p}") }
  fn kick() { spawn_job(block); spawn_job(mail, 2) }
}`
			const v2 = `server "api" {
  background fn block() { print("v2 block") }
  background fn mail(n) { print("v2 mail {n}") }
  subscribe "evt" fn got(p) { print("v2 evt {p}") }
  fn send() { publish("evt", 1) }
}`
			old := startApp(t, v1, be)
			next := startApp(t, v2, be)
			if !strings.Contains(next.logs.String(), "its jobs are taken over once it stops") {
				t.Errorf("the wait is not logged:\n%s", next.logs)
			}
			stopWithJobsLeft(t, old, be, "")
			waitFor(t, 20*time.Second, "the jobs left to be taken over", func() bool {
				return len(next.out.Lines("v2 mail 2")) == 1 && len(next.out.Lines("v2 block")) == 1
			})
			v, err := next.Server("api").Call(context.Background(), "send")
			if err != nil {
				t.Fatal(err)
			}
			if v.AsInt() != 1 {
				t.Errorf("publish stored %d deliveries, want 1 (the old server's subscriptions forgotten)", v.AsInt())
			}
			if strings.Contains(old.out.String(), "v1 mail") {
				t.Errorf("v1 ran mail:\n%s", old.out)
			}
		})
	}
}

// A background fn moved from one server of the program to another (a
// new version): a job stored for the first is handed to the second,
// which runs it (it waited for a process of the first that had the fn,
// 15 minutes, then was discarded).
func TestJobOfAFnMovedToAnotherServerHandedOver(t *testing.T) {
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			const v1 = `server "api" {
  jobs { workers: 1 }
  background fn block() { sleep(30000) }
  background fn mail(n) { print("v1 api mail {n}") }
  fn kick() { spawn_job(block); spawn_job(mail, 2) }
}
server "worker" {
  background fn crunch(n) { print("crunch") }
}`
			const v2 = `server "api" {
  background fn block() { print("v2 block") }
}
server "worker" {
  background fn crunch(n) { print("crunch") }
  background fn mail(n) { print("v2 worker mail {n}") }
}`
			old := startApp(t, v1, be)
			stopWithJobsLeft(t, old, be, "api")
			next := startApp(t, v2, be)
			waitFor(t, 10*time.Second, "the moved fn's job", func() bool { return len(next.out.Lines("v2 worker mail 2")) == 1 })
			if !strings.Contains(next.logs.String(), `"to_server":"worker"`) {
				t.Errorf("the hand-over is not logged:\n%s", next.logs)
			}
		})
	}
}

// A jobs file the queue makes is its owner's alone, and so is a
// directory made for it: jobs' arguments may be secrets (they were
// everyone's to read).
func TestJobsFileIsTheOwnersAlone(t *testing.T) {
	be := backend{name: "sqlite", url: filepath.Join(t.TempDir(), "new", "jobs.db")}
	startApp(t, "server {\n  background fn f() { 1 }\n}\n", be)
	for path, want := range map[string]os.FileMode{be.url: 0o600, filepath.Dir(be.url): 0o700} {
		if st, err := os.Stat(path); err != nil || st.Mode().Perm() != want {
			t.Errorf("%s: %v %v, want %v", path, st.Mode(), err, want)
		}
	}
}

// stopWithJobsLeft calls the app's kick (of server), which spawns a job
// that blocks its one worker and others behind it, and stops the app
// once the blocking one runs: the others stay queued, and the blocking
// one is handed back.
func stopWithJobsLeft(t *testing.T, app *testApp, be backend, server string) {
	t.Helper()
	app.call(t, server, "kick")
	waitFor(t, 10*time.Second, "the blocking job to start", func() bool {
		return len(listJobs(t, be, jobs.StateRunning)) == 1
	})
	app.stopWithin(100 * time.Millisecond)
}
