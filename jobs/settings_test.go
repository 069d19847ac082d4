package jobs_test

import (
	"bytes"
	"context"
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
	if s.SQLitePath != filepath.Join("/srv/app", jobs.JobsFile) || s.PGURL != "" || s.MaxAttempts != jobs.DefaultMaxAttempts || s.Workers != jobs.DefaultWorkers || s.Timeout != jobs.DefaultTimeout {
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
	if s.PGURL != "" || s.SQLitePath != filepath.Join("/srv/app", jobs.JobsFile) {
		t.Errorf("last db block: %+v", s)
	}
	s, _ = settingsOf(t, `server "w" { jobs { database: "q/jobs.sqlite", max_retries: 2 } }`, jobs.Options{})
	if s.SQLitePath != "/srv/app/q/jobs.sqlite" || s.MaxAttempts != 3 {
		t.Errorf("jobs.database: %+v", s)
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
