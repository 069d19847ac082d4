package jobs

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/rs/zerolog"

	"tova/vm"
)

// Storing a job or an event when the queue's database cannot be reached
// is DatabaseUnavailable, as a model call's is (503 over HTTP, worth
// retrying); it was a JobError, answered 500. Another failure stays a
// JobError.
func TestStoreErrorKinds(t *testing.T) {
	for _, c := range []struct {
		err  error
		kind string
	}{
		{&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, "DatabaseUnavailable"},
		{&pgconn.PgError{Code: "57P01", Message: "terminating connection due to administrator command"}, "DatabaseUnavailable"},
		{&pgconn.PgError{Code: "08006", Message: "connection failure"}, "DatabaseUnavailable"},
		{&pgconn.PgError{Code: "42P01", Message: "relation does not exist"}, "JobError"},
		{errors.New("boom"), "JobError"},
	} {
		err := storeError("spawn_job: storing the job", c.err)
		var ve *vm.Error
		if !errors.As(err, &ve) || ve.Kind != c.kind || !strings.HasPrefix(ve.Msg, "spawn_job: storing the job: ") {
			t.Errorf("%v: %v, want a %s", c.err, err, c.kind)
		}
	}
}

// The queue library's lines of one message come at most once per
// logRepeatEvery; the next says how many were left out (with its
// database down it said "Error fetching jobs" twenty times a second).
func TestQueueLogRepeatsCounted(t *testing.T) {
	var out strings.Builder
	h := (&slogToZerolog{log: zerolog.New(&out), seen: &logRepeats{}}).WithAttrs([]slog.Attr{slog.String("queue", "q")})
	start := time.Unix(1_800_000_000, 0)
	for i := range 200 {
		r := slog.NewRecord(start.Add(time.Duration(i)*50*time.Millisecond), slog.LevelError, "producer: Error fetching jobs", 0)
		if err := h.Handle(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	other := slog.NewRecord(start.Add(time.Second), slog.LevelWarn, "another message", 0)
	h.Handle(context.Background(), other)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	// 200 lines 50 ms apart span 9.95 s: the first is written, the
	// other 199 counted.
	if len(lines) != 2 || !strings.Contains(lines[0], `"message":"producer: Error fetching jobs"`) || !strings.Contains(lines[1], "another message") {
		t.Fatalf("lines: %q", lines)
	}
	r := slog.NewRecord(start.Add(20*time.Second), slog.LevelError, "producer: Error fetching jobs", 0)
	h.Handle(context.Background(), r)
	lines = strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[2], `"repeated":199`) || !strings.Contains(lines[2], `"queue":"q"`) {
		t.Fatalf("the line after the repeats: %q", lines)
	}
}

// The runner's own repeated warnings (a heartbeat failing every period
// while the database is down) come once per logRepeatEvery too.
func TestRunnerWarningsNotRepeated(t *testing.T) {
	var out strings.Builder
	r := &Runner{log: zerolog.New(&out)}
	for range 5 {
		r.warnRepeated("jobs: heartbeat failed", errors.New("database is locked"))
	}
	r.warnRepeated("jobs: listing running jobs", errors.New("database is locked"))
	if lines := strings.Split(strings.TrimSpace(out.String()), "\n"); len(lines) != 2 {
		t.Errorf("lines: %q", lines)
	}
}
