package jobs_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tova/driver"
	"tova/jobs"
	"tova/vm"
)

// settingsOf runs the program's first server's setup and reads its
// jobs settings.
func settingsOf(t *testing.T, src string, opts jobs.Options) (jobs.SettingsView, error) {
	t.Helper()
	p, err := driver.CompileFile("app.tova", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	prog, err := vm.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	inst := prog.NewInstance(vm.Config{Dir: "/srv/app", Getenv: func(string) (string, bool) { return "", false }})
	inst.Server = p.Servers[0]
	th := inst.NewThread(context.Background())
	if _, err := th.RunMain(); err != nil {
		t.Fatal(err)
	}
	if _, err := th.RunFunc(p.Servers[0].Init); err != nil {
		t.Fatal(err)
	}
	return jobs.ReadSettings(inst, opts)
}

func TestSettings(t *testing.T) {
	s, err := settingsOf(t, `server "w" { }`, jobs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.SQLitePath != filepath.Join("/srv/app", jobs.JobsFileOf("app.tova")) || s.PGURL != "" || s.MaxAttempts != jobs.DefaultMaxAttempts || s.Workers != jobs.DefaultWorkers || s.Timeout != jobs.DefaultTimeout {
		t.Errorf("defaults: %+v", s)
	}
	if s.FetchCooldown != jobs.SQLiteFetchCooldown || s.FetchPollInterval != jobs.SQLiteFetchPollInterval {
		t.Errorf("SQLite polling: %+v", s)
	}

	s, err = settingsOf(t, `
db { adapter: "postgres", url: "postgres://u@db/app" }
jobs { max_attempts: 5, workers: 4, timeout: 30.seconds }
server "w" { jobs { backoff: 2, max_backoff: 1.minute } }`, jobs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.PGURL != "postgres://u@db/app" || s.SQLitePath != "" || s.MaxAttempts != 5 || s.Workers != 4 ||
		s.Timeout != 30*time.Second || s.Backoff != 2*time.Second || s.MaxBackoff != time.Minute {
		t.Errorf("blocks: %+v", s)
	}
	if s.FetchCooldown != jobs.PostgresFetchCooldown || s.FetchPollInterval != jobs.PostgresFetchPollInterval {
		t.Errorf("PostgreSQL polling: %+v", s)
	}

	// the last db block wins, as in the store; the jobs block may move
	// the jobs elsewhere
	s, _ = settingsOf(t, `
db { adapter: "postgres", url: "postgres://u@db/app" }
server "w" { db { adapter: "sqlite", database: "data.db" } }`, jobs.Options{})
	if s.PGURL != "" || s.SQLitePath != filepath.Join("/srv/app", jobs.JobsFileOf("app.tova")) {
		t.Errorf("last db block: %+v", s)
	}
	s, _ = settingsOf(t, `server "w" { jobs { database: "q/jobs.sqlite", max_retries: 2 } }`, jobs.Options{})
	if s.SQLitePath != "/srv/app/q/jobs.sqlite" || s.MaxAttempts != 3 {
		t.Errorf("jobs.database: %+v", s)
	}

	// a max_backoff under the default backoff, without one: every wait
	// is the cap (the default raised it without a word)
	s, _ = settingsOf(t, `server "w" { jobs { max_backoff: 0.5 } }`, jobs.Options{})
	if s.Backoff != 500*time.Millisecond || s.MaxBackoff != 500*time.Millisecond {
		t.Errorf("max_backoff alone: %+v", s)
	}

	// options win over the program
	s, _ = settingsOf(t, `server "w" { jobs { workers: 4 } }`, jobs.Options{Workers: 9, DatabaseURL: "sqlite:/tmp/x.db"})
	if s.Workers != 9 || s.SQLitePath != "/tmp/x.db" {
		t.Errorf("options: %+v", s)
	}
}

func TestNeeded(t *testing.T) {
	for src, want := range map[string][]bool{
		`server "a" { } server "b" { background fn f() { 1 } }`:             {false, true},
		`server "a" { fn h() { publish("t", 1) } } server "b" { }`:          {true, true},
		`server "a" { } server "b" { subscribe "t" fn(x) { x } }`:           {false, true},
		`server "a" { schedule "s" cron("* * * * *") { 1 } } server "b" {}`: {true, false},
	} {
		p, err := driver.CompileFile("app.tova", []byte(strings.ReplaceAll(src, "} server", "}\nserver")))
		if err != nil {
			t.Fatal(err)
		}
		for i, srv := range p.Servers {
			if got := jobs.Needed(p, srv); got != want[i] {
				t.Errorf("%s: server %s needs jobs = %v, want %v", src, srv.Name, got, want[i])
			}
		}
	}
}

func TestFormat(t *testing.T) {
	at := time.Date(2026, 3, 2, 10, 5, 0, 0, time.Local)
	var b bytes.Buffer
	jobs.Format(&b, []jobs.Job{
		{ID: 12, State: jobs.StateDiscarded, Server: "worker", Kind: "job", Name: "process_payment", Attempt: 4, MaxAttempts: 4, ScheduledAt: at,
			Errors: []string{"Error: first", "Error: card declined\n  at process_payment (app.tova:30:7)"}},
		{ID: 9, State: jobs.StateQueued, Server: "", Kind: "event", Name: "user_created", Attempt: 0, MaxAttempts: 4, ScheduledAt: at},
	}, false)
	want := `ID  STATE      SERVER  KIND   NAME             ATTEMPT  SCHEDULED
12  discarded  worker  job    process_payment  4/4      2026-03-02 10:05:00
    Error: card declined
9   queued     server  event  user_created     0/4      2026-03-02 10:05:00
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

// Each program keeps its jobs in a file of its own, named after its
// source (two programs in one directory would otherwise share one
// queue: one's schedule leader would not know the other's schedules,
// and its workers would take and fail jobs of fns it does not have);
// a directory with the shared file of earlier releases keeps using it.
func TestJobsFilePerProgram(t *testing.T) {
	for src, want := range map[string]string{
		"app.tova": ".tova/app.jobs.db", "/srv/x/reports.tova": ".tova/reports.jobs.db",
		"dist/app.tbc": ".tova/app.jobs.db", "": jobs.JobsFile, ".hidden": jobs.JobsFile,
	} {
		if got := jobs.JobsFileOf(src); got != want {
			t.Errorf("JobsFileOf(%q) = %q, want %q", src, got, want)
		}
	}
	dir := t.TempDir()
	compile := func(name string) *vm.Instance {
		p, err := driver.CompileFile(name, []byte(`server "w" { background fn f() { 1 } }`))
		if err != nil {
			t.Fatal(err)
		}
		prog, err := vm.Load(p)
		if err != nil {
			t.Fatal(err)
		}
		inst := prog.NewInstance(vm.Config{Dir: dir})
		inst.Server = p.Servers[0]
		return inst
	}
	a, _ := jobs.ReadSettings(compile("reports.tova"), jobs.Options{})
	b, _ := jobs.ReadSettings(compile("cleanup.tova"), jobs.Options{})
	if a.SQLitePath == b.SQLitePath || a.SQLitePath != filepath.Join(dir, ".tova/reports.jobs.db") {
		t.Errorf("two programs in one directory: %s and %s", a.SQLitePath, b.SQLitePath)
	}
	if err := os.MkdirAll(filepath.Join(dir, ".tova"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, jobs.JobsFile), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if old, _ := jobs.ReadSettings(compile("reports.tova"), jobs.Options{}); old.SQLitePath != filepath.Join(dir, jobs.JobsFile) {
		t.Errorf("with the shared file of earlier releases there: %s", old.SQLitePath)
	}
}
