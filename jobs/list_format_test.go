package jobs_test

import (
	"strings"
	"testing"
	"time"

	"tova/jobs"
)

// A name or an error holding control characters (an escape sequence, a
// carriage return, a line break, bytes that are not UTF-8) is listed
// escaped, so it neither breaks the table nor acts on the terminal; a
// name in another script keeps its column aligned.
func TestFormatEscapesWhatATerminalWouldNotShow(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.Local)
	list := []jobs.Job{
		{ID: 1, State: "discarded", Kind: "job", Name: "evil\x1b[2J\rname", Attempt: 3, MaxAttempts: 3, ScheduledAt: at,
			Errors: []string{"Error: bad \x1b[31mred\x1b[0m \"q\"\n  at f (app.tova:2:3)"}},
		{ID: 2, State: "queued", Kind: "event", Name: "split\nline", Attempt: 0, MaxAttempts: 25, ScheduledAt: at},
		{ID: 3, State: "queued", Kind: "job", Name: "café_résumé", Attempt: 0, MaxAttempts: 25, ScheduledAt: at},
		{ID: 4, State: "queued", Kind: "job", Name: "bad\xffutf8", Attempt: 0, MaxAttempts: 25, ScheduledAt: at},
	}
	var b strings.Builder
	if err := jobs.Format(&b, list, true); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.ContainsAny(out, "\x1b\r") || strings.Contains(out, "\xff") {
		t.Fatalf("control characters or bad UTF-8 reach the terminal:\n%q", out)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	want := []string{
		`ID  STATE      SERVER  KIND   NAME                 ATTEMPT  SCHEDULED`,
		`1   discarded  server  job    "evil\x1b[2J\rname"  3/3      2026-03-01 12:00:00`,
		`    Error: bad \x1b[31mred\x1b[0m "q"`,
		`      at f (app.tova:2:3)`,
		`2   queued     server  event  "split\nline"        0/25     2026-03-01 12:00:00`,
		`3   queued     server  job    café_résumé          0/25     2026-03-01 12:00:00`,
		`4   queued     server  job    "bad\xffutf8"        0/25     2026-03-01 12:00:00`,
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", out, strings.Join(want, "\n"))
	}
}

// With -v, each attempt's error says which attempt it was and when.
func TestFormatVerboseLabelsAttempts(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.Local)
	var b strings.Builder
	jobs.Format(&b, []jobs.Job{{ID: 5, State: "discarded", Kind: "job", Name: "j", Attempt: 2, MaxAttempts: 2, ScheduledAt: at,
		Errors: []string{"Error: one", "Error: two\n  at f (app.tova:2:3)"}, FailedAttempt: []int{1, 2}, FailedAt: []time.Time{at, at.Add(time.Minute)}}}, true)
	for _, want := range []string{"    attempt 1, 2026-03-01 12:00:00: Error: one\n", "    attempt 2, 2026-03-01 12:01:00: Error: two\n      at f (app.tova:2:3)\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("missing %q in:\n%s", want, b.String())
		}
	}
}
