package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"tova/internal/sqlitefile"
)

// States a job is listed in. River's states map onto them: available,
// scheduled and pending jobs are "queued", or "retrying" once an
// attempt failed; retryable is "retrying".
const (
	StateQueued    = "queued"
	StateRunning   = "running"
	StateRetrying  = "retrying"
	StateDiscarded = "discarded"
	StateCompleted = "completed"
	StateCancelled = "cancelled"
)

// ListStates are the states `tova jobs` accepts.
var ListStates = []string{StateQueued, StateRunning, StateRetrying, StateDiscarded, StateCompleted, StateCancelled}

// Job is a stored job as `tova jobs` shows it.
type Job struct {
	ID          int64
	State       string
	Server      string
	Kind        string // "job", "event" or "schedule"
	Name        string // background fn, topic or schedule name
	RequestID   string // of the request that stored the job, "" if none did
	Attempt     int
	MaxAttempts int
	CreatedAt   time.Time
	ScheduledAt time.Time
	// Errors are the failed attempts' errors, oldest first: the Tova
	// error kind and message, then its stack trace.
	Errors []string
	// FailedAt are the times the attempts failed, and FailedAttempt
	// their numbers, as Errors.
	FailedAt      []time.Time
	FailedAttempt []int
	// Orphaned marks a running job whose process is gone (killed or
	// crashed): the next Runner of its server hands it back.
	Orphaned bool
}

// MaxListLimit is the most jobs a list shows; List reads one more at
// most, which tells whether a list of the most is cut.
const MaxListLimit = 10000

// listPage is the most jobs the queue lists at once (River refuses
// more): MaxListLimit, less in tests.
var listPage = MaxListLimit

// ListOptions select jobs.
type ListOptions struct {
	// States filters by state (ListStates); empty means every state but
	// completed and cancelled.
	States []string
	// Limit bounds the jobs read (default 1000, at most MaxListLimit+1),
	// newest first.
	Limit int
	// DatabaseURL overrides the program's jobs database.
	DatabaseURL string
	// Schema is the program's schema in a PostgreSQL database
	// (ProgramSchema of its main source file).
	Schema string
}

// ErrNoJobs reports that the jobs database does not exist yet.
var ErrNoJobs = errors.New("no jobs database yet (no server of this program has run with jobs)")

// List reads the jobs stored at where (see QueueOf).
func List(ctx context.Context, where string, opts ListOptions) ([]Job, error) {
	var q queue
	// Listing makes nothing: a database that holds no queue (no server
	// of the program has run on it, or it is another) is told before
	// the queue's own opening would make its schema and tables, or
	// turn a SQLite file to WAL.
	if has, err := hasQueue(ctx, where, opts.Schema); err == nil && !has {
		return nil, ErrNoJobs
	}
	if isPostgresURL(where) {
		db, err := openPostgres(ctx, where, 1, opts.Schema)
		if err != nil {
			return nil, err
		}
		if q, err = finishQueue(ctx, db, nil); err != nil {
			return nil, err
		}
	} else {
		db, err := openSQLiteExisting(SQLitePath(where))
		if errors.Is(err, fs.ErrNotExist) {
			return nil, ErrNoJobs
		}
		if err != nil {
			return nil, err
		}
		if q, err = finishQueue(ctx, db, nil); err != nil {
			return nil, err
		}
	}
	defer q.close()
	want := map[string]bool{}
	for _, s := range opts.States {
		want[s] = true
	}
	if len(want) == 0 {
		for _, s := range []string{StateQueued, StateRunning, StateRetrying, StateDiscarded} {
			want[s] = true
		}
	}
	var states []rivertype.JobState
	for _, st := range rivertype.JobStates() {
		for _, t := range []string{tovaState(st, false), tovaState(st, true)} {
			if want[t] {
				states = append(states, st)
				break
			}
		}
	}
	limit := opts.Limit
	if limit <= 0 {
		limit = 1000
	}
	limit = min(limit, listPage+1)
	params := river.NewJobListParams().States(states...).OrderBy(river.JobListOrderByID, river.SortOrderDesc)
	rows, err := q.list(ctx, params.First(min(limit, listPage)))
	if isMissingTable(err) {
		return nil, ErrNoJobs
	}
	if err != nil {
		return nil, err
	}
	if limit > listPage && len(rows) == listPage {
		// One more than the most (the queue lists MaxListLimit at
		// once): whether a list of the most is cut.
		more, err := q.list(ctx, params.After(river.JobListCursorFromJob(rows[len(rows)-1])).First(1))
		if err != nil {
			return nil, err
		}
		rows = append(rows, more...)
	}
	var clients map[string]clientRow // read once a running job needs them
	out := make([]Job, 0, len(rows))
	for _, r := range rows {
		j := describeJob(r)
		if !want[j.State] {
			continue
		}
		if n := len(r.AttemptedBy); j.State == StateRunning && n > 0 {
			if clients == nil {
				if clients, err = q.clients(ctx); err != nil {
					clients = map[string]clientRow{} // (listing goes on)
				}
			}
			c, ok := clients[r.AttemptedBy[n-1]]
			j.Orphaned = !ok || time.Since(c.SeenAt) > c.DeadAfter || c.Host == hostname() && !processAlive(int(c.PID))
		}
		out = append(out, j)
	}
	return out, nil
}

func tovaState(s rivertype.JobState, failedBefore bool) string {
	switch s {
	case rivertype.JobStateRunning:
		return StateRunning
	case rivertype.JobStateRetryable:
		return StateRetrying
	case rivertype.JobStateDiscarded:
		return StateDiscarded
	case rivertype.JobStateCompleted:
		return StateCompleted
	case rivertype.JobStateCancelled:
		return StateCancelled
	}
	if failedBefore {
		return StateRetrying
	}
	return StateQueued
}

func describeJob(r *rivertype.JobRow) Job {
	j := Job{
		ID: r.ID, State: tovaState(r.State, len(r.Errors) > 0),
		Attempt: r.Attempt, MaxAttempts: r.MaxAttempts,
		CreatedAt: r.CreatedAt, ScheduledAt: r.ScheduledAt,
	}
	switch r.Kind {
	case kindJob:
		var a jobArgs
		json.Unmarshal(r.EncodedArgs, &a)
		j.Kind, j.Server, j.Name, j.RequestID = "job", a.Server, a.Fn, a.RequestID
	case kindEvent:
		var a eventArgs
		json.Unmarshal(r.EncodedArgs, &a)
		j.Kind, j.Server, j.Name, j.RequestID = "event", a.Server, a.Topic, a.RequestID
		if name, ok := strings.CutPrefix(a.Key, "fn:"); ok {
			j.Name += " fn " + name // a delivery to one named subscriber
		}
	case kindSchedule:
		var a scheduleArgs
		json.Unmarshal(r.EncodedArgs, &a)
		j.Kind, j.Server, j.Name = "schedule", a.Server, a.Schedule
	default:
		j.Kind, j.Server, j.Name = r.Kind, r.Queue, ""
	}
	for _, e := range r.Errors {
		j.Errors = append(j.Errors, e.Error)
		j.FailedAt = append(j.FailedAt, e.At)
		j.FailedAttempt = append(j.FailedAttempt, e.Attempt)
	}
	return j
}

// Format writes jobs as a table, each failed job followed by its last
// error (all of them, with stack traces, when verbose; then also the id
// of the request that stored the job, if one did).
func Format(w io.Writer, jobs []Job, verbose bool) error {
	rows := [][]string{{"ID", "STATE", "SERVER", "KIND", "NAME", "ATTEMPT", "SCHEDULED"}}
	for _, j := range jobs {
		server := j.Server
		if server == "" {
			server = "server"
		}
		rows = append(rows, []string{fmt.Sprint(j.ID), j.State, shown(server), j.Kind, shown(j.Name),
			fmt.Sprintf("%d/%d", j.Attempt, j.MaxAttempts), j.ScheduledAt.Local().Format("2006-01-02 15:04:05")})
	}
	width := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, c := range r {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	var b strings.Builder
	line := func(r []string) {
		for i, c := range r {
			b.WriteString(c)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", width[i]-utf8.RuneCountInString(c)+2))
			}
		}
		b.WriteByte('\n')
	}
	line(rows[0])
	for k, j := range jobs {
		line(rows[k+1])
		if j.Orphaned {
			if j.Attempt >= j.MaxAttempts {
				b.WriteString("    its process is gone (killed or crashed) during its last attempt: the job is discarded when its server runs again\n")
			} else {
				b.WriteString("    its process is gone (killed or crashed): the job is handed back when its server runs again\n")
			}
		}
		if verbose && j.RequestID != "" {
			b.WriteString("    request_id " + j.RequestID + "\n")
		}
		errs := j.Errors
		if len(errs) == 0 {
			continue
		}
		if !verbose {
			last := errs[len(errs)-1]
			if i := strings.IndexByte(last, '\n'); i >= 0 {
				last = last[:i]
			}
			if n := len(j.Errors) - 1; j.State != StateDiscarded && j.State != StateCancelled && n < len(j.FailedAttempt) && n < len(j.FailedAt) {
				// not what ended the job: an earlier attempt's (a running
				// job's was a crash before it, a completed one's failed
				// before it succeeded)
				last = fmt.Sprintf("attempt %d, %s: %s", j.FailedAttempt[n], j.FailedAt[n].Local().Format("2006-01-02 15:04:05"), last)
			}
			errs = []string{last}
		}
		for i, e := range errs {
			if verbose && i < len(j.FailedAttempt) && i < len(j.FailedAt) {
				// each attempt's error, said whose (the last one's alone
				// is labelled above when it did not end the job)
				e = fmt.Sprintf("attempt %d, %s: %s", j.FailedAttempt[i], j.FailedAt[i].Local().Format("2006-01-02 15:04:05"), e)
			}
			for _, l := range strings.Split(e, "\n") {
				b.WriteString("    " + escaped(l) + "\n")
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// shown is a name as the list shows it: quoted, with escapes, when it
// holds what a terminal would not show as text (a control character,
// an escape sequence, bytes that are not UTF-8), which would otherwise
// break the table or act on the terminal.
func shown(s string) string {
	if printable(s) && !strings.Contains(s, "\t") {
		return s
	}
	return strconv.Quote(s)
}

// escaped is a line of an error as the list shows it: what a terminal
// would not show as text written as its Go escape (\x1b, \r).
func escaped(s string) string {
	if printable(s) {
		return s
	}
	q := strconv.Quote(s)
	return strings.ReplaceAll(q[1:len(q)-1], `\"`, `"`)
}

// printable says whether s is UTF-8 with no control character but
// tabs.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r != '\t' && unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// hasQueue looks, reading only, for the queue's table at where: in a
// SQLite file opened read-only, or, in a PostgreSQL database, where the
// queue of program would be (its schema, the URL's search_path, or an
// earlier release's shared tables). An error says it could not look:
// the queue's own opening tells what is wrong.
func hasQueue(ctx context.Context, where, program string) (bool, error) {
	if !isPostgresURL(where) {
		path := SQLitePath(where)
		if _, err := os.Stat(path); err != nil {
			return false, err
		}
		db, err := sql.Open("sqlite", sqlitefile.URI(path)+"?mode=ro&_pragma=busy_timeout(10000)")
		if err != nil {
			return false, err
		}
		defer db.Close()
		var n int
		err = db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'river_job'").Scan(&n)
		return n > 0, err
	}
	pc, err := pgxpool.ParseConfig(where) // (as the queue's opening reads it: pool_* parameters too)
	if err != nil {
		return false, err
	}
	cfg := pc.ConnConfig
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return false, err
	}
	defer conn.Close(ctx)
	if setsSearchPath(cfg) {
		var has bool
		err = conn.QueryRow(ctx, "SELECT to_regclass('river_job') IS NOT NULL").Scan(&has)
		return has, err
	}
	own, old, err := queueTables(ctx, conn, program)
	return own || old, err
}
