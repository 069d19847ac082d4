package jobs_test

import (
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
			old.call(t, "", "kick")
			waitFor(t, 10*time.Second, "the blocking job to start", func() bool {
				return len(listJobs(t, be, jobs.StateRunning)) == 1
			})
			old.stopWithin(100 * time.Millisecond)
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
