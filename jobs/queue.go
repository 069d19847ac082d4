package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/rivertype"
)

// Job kinds. Every Tova job is one of three River kinds; what Tova
// function it runs is in its arguments.
const (
	kindJob      = "tova_job"      // a background fn: spawn_job
	kindEvent    = "tova_event"    // one delivery of a published event
	kindSchedule = "tova_schedule" // one tick of a schedule
)

// jobArgs are the arguments of a spawn_job job: the background function's
// name and its arguments as a JSON array. RequestID is the id of the
// request whose handling spawned it, if one did (see requestOf): its log
// lines and the calls it makes to other servers carry it. Jobs stored
// before, or outside a request, have none.
type jobArgs struct {
	Server    string   `json:"server"`
	Fn        string   `json:"fn"`
	Args      wireJSON `json:"args"`
	RequestID string   `json:"request_id,omitempty"`
	// Handed: the job was handed by a server that no longer has its fn
	// to the one that does (once: two versions of the program running
	// at once, each with the fn in another server, would hand it back
	// and forth).
	Handed bool `json:"handed,omitempty"`
}

// wireJSON is a job's arguments or an event's payload, as JSON: stored
// as a JSON string holding that JSON, so that an object keeps the order
// of its keys on PostgreSQL, whose jsonb column (River's) sorts them.
// Jobs stored before hold the JSON itself, which is read as it is.
type wireJSON []byte

func (w wireJSON) MarshalJSON() ([]byte, error) { return json.Marshal(string(w)) }

func (w *wireJSON) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*w = wireJSON(s)
		return nil
	}
	*w = append((*w)[:0], b...)
	return nil
}

func (jobArgs) Kind() string { return kindJob }

// eventArgs are the arguments of one delivery of a published event to
// one server. Sub, when set, names one subscriber (by its position among
// the server's subscribers of the topic): a delivery to a server with
// several subscribers of the topic is split into one job each, so that
// one failing subscriber does not re-run the others. RequestID is the
// publishing request's, as a job's (jobArgs).
type eventArgs struct {
	Server  string   `json:"server"`
	Topic   string   `json:"topic"`
	Payload wireJSON `json:"payload"`
	From    string   `json:"from,omitempty"`
	Sub     *int     `json:"sub,omitempty"`
	// Key names the subscriber of a split delivery (see subscriber).
	Key       string `json:"key,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

func (eventArgs) Kind() string { return kindEvent }

// scheduleArgs are the arguments of one tick of a schedule. They are the
// same for every tick the leader stores, which is what makes the tick
// unique while one is queued or running. A tick stored late (its
// leader stopped or died) also names when it was due: replicas that
// each find it missing store it once (lateTickOpts).
type scheduleArgs struct {
	Server   string `json:"server"`
	Schedule string `json:"schedule"`
	Due      int64  `json:"due,omitempty"` // Unix ms, for a tick stored late
}

func (scheduleArgs) Kind() string { return kindSchedule }

// queue is a River client and its database, without the type parameter.
type queue interface {
	start(ctx context.Context) error
	// stop waits for running jobs until ctx ends, then cancels them.
	stop(ctx context.Context) error
	insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	// insertTx and publishTx store jobs in a transaction the caller
	// holds on the queue's PostgreSQL database.
	insertTx(ctx context.Context, tx *sql.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	publishTx(ctx context.Context, tx *sql.Tx, ev eventArgs, opts func(queue string) *river.InsertOpts) (int, error)
	// publish inserts one event job ev per server subscribing to its
	// topic (its Server set to each), in one transaction with the
	// subscriber lookup.
	publish(ctx context.Context, ev eventArgs, opts func(queue string) *river.InsertOpts) (int, error)
	// register records the client c and its server's subscriptions,
	// and forgets those of servers the program no longer declares
	// (declared: its servers' names), returning their names.
	register(ctx context.Context, c clientRow, topics, declared []string) (gone []string, err error)
	// adopt moves the pending jobs of background fns of servers the
	// program no longer declares (declared: its servers' names), and
	// that no live process runs, to server's queue, those whose fn owner
	// names server; it returns how many it moved, and how many such jobs
	// no server takes (another kind, a fn owner does not name), by their
	// server's name; waiting tells of an undeclared server a live
	// process runs (another version's), or one that stopped so lately
	// that it is not yet known to be dead (gone says of a client that
	// it is: its process gone from this host). The subscriptions of an
	// undeclared server no live process runs are forgotten, their
	// servers' names returned.
	adopt(ctx context.Context, server string, owner map[string]string, declared []string, now time.Time, gone func(clientRow) bool) (moved, left map[string]int, forgot []string, waiting bool, err error)
	heartbeat(ctx context.Context, id string, now time.Time) error
	unregister(ctx context.Context, id string) error
	clients(ctx context.Context) (map[string]clientRow, error)
	list(ctx context.Context, params *river.JobListParams) ([]*rivertype.JobRow, error)
	// rescue hands jobs left running by dead processes back to the queue.
	rescue(ctx context.Context, jobs []*rivertype.JobRow, reason string) error
	// releaseLeader ends the leadership a dead client holds, so that a
	// live one is elected without waiting for the lease to expire.
	releaseLeader(ctx context.Context, id string) error
	// leader is the client id of the elected leader, "" when none is.
	leader(ctx context.Context) (string, error)
	// lease is the elected leader's id and when its leadership expires
	// ("" when there is none).
	lease(ctx context.Context) (string, time.Time, error)
	// sharedTables reports a PostgreSQL queue in the tables an earlier
	// release made, shared by every program of the database.
	sharedTables() bool
	close()
}

// clientRow is a row of tova_job_clients.
type clientRow struct {
	ID        string
	Server    string
	Host      string
	PID       int64
	SeenAt    time.Time
	DeadAfter time.Duration // without a heartbeat for this long: dead
}

// engine is the queue on one database.
type engine[TTx any] struct {
	db     *database[TTx]
	client *river.Client[TTx]
	// sqlClient inserts through database/sql transactions (the store's),
	// on PostgreSQL only; nil on SQLite.
	sqlClient *river.Client[*sql.Tx]
	// declared is the program's servers that subscribe to a topic: they
	// get a delivery whether or not they have registered yet (an event
	// published before a server deployed apart first started was lost).
	declared func(topic string) []string
}

// newEngine makes the River client. r is nil for a client that only
// inserts and lists (the CLI).
func newEngine[TTx any](db *database[TTx], r *Runner) (*engine[TTx], error) {
	e := &engine[TTx]{db: db}
	cfg := &river.Config{}
	if r != nil {
		e.declared = r.declaredSubscribers
		s := r.set
		workers := river.NewWorkers()
		river.AddWorker(workers, river.WorkFunc(func(ctx context.Context, j *river.Job[jobArgs]) error {
			e.ownMaxAttempts(ctx, r, j.JobRow, j.Args.RequestID)
			if _, ours := r.background[j.Args.Fn]; ours {
				// (a job of a fn this server lacks goes back to the
				// queue for one that has it, its attempts as they are)
				if err := e.pastAttempts(ctx, r, j.JobRow, "job "+j.Args.Fn, j.Args.RequestID); err != nil {
					return err
				}
			}
			err := r.runJob(ctx, j.JobRow, &j.Args)
			var d *dropped
			if errors.As(err, &d) {
				return e.discard(ctx, j.JobRow, d)
			}
			return err
		}))
		river.AddWorker(workers, river.WorkFunc(func(ctx context.Context, j *river.Job[eventArgs]) error {
			e.ownMaxAttempts(ctx, r, j.JobRow, j.Args.RequestID)
			if j.Args.Sub == nil {
				if subs := r.subscribers[j.Args.Topic]; len(subs) > 1 {
					return e.split(ctx, j, subs)
				}
			}
			if len(r.subscribers[j.Args.Topic]) > 0 {
				if err := e.pastAttempts(ctx, r, j.JobRow, "subscribe "+j.Args.Topic, j.Args.RequestID); err != nil {
					return err
				}
			}
			err := r.runEvent(ctx, j.JobRow, &j.Args)
			var d *dropped
			if errors.As(err, &d) {
				return e.discard(ctx, j.JobRow, d)
			}
			return err
		}))
		river.AddWorker(workers, river.WorkFunc(func(ctx context.Context, j *river.Job[scheduleArgs]) error {
			return r.runSchedule(ctx, j.JobRow, &j.Args)
		}))
		queues := map[string]river.QueueConfig{r.queue: {MaxWorkers: s.workers}}
		if n := len(r.schedules); n > 0 {
			// One worker per schedule: a schedule has one tick queued or
			// running at a time (see tickQueueName).
			queues[r.tickQueue] = river.QueueConfig{MaxWorkers: n}
		}
		cfg = &river.Config{
			ID:                r.clientID,
			Queues:            queues,
			Workers:           workers,
			FetchCooldown:     s.fetchCooldown,
			FetchPollInterval: s.fetchPollInterval,
			// The worker pool enforces the timeout and reports it; River's
			// own deadline is a backstop a little later.
			JobTimeout:  s.timeout + time.Second,
			MaxAttempts: s.maxAttempts,
			RetryPolicy: backoff{base: s.backoff, limit: s.maxBackoff},
			Logger:      slog.New(&slogToZerolog{log: r.log, seen: &logRepeats{}}),
		}
	} else {
		cfg.Logger = slog.New(&slogToZerolog{})
	}
	cfg.Schema = db.schema
	c, err := river.NewClient(db.driver, cfg)
	if err != nil {
		return nil, err
	}
	e.client = c
	if db.dialect == "postgres" {
		// insert-only: no pool, no queues; only InsertTx and InsertManyTx
		if e.sqlClient, err = river.NewClient(riverdatabasesql.New(nil), &river.Config{Logger: cfg.Logger, Schema: db.schema}); err != nil {
			return nil, err
		}
	}
	return e, nil
}

func (e *engine[TTx]) start(ctx context.Context) error { return e.client.Start(ctx) }

func (e *engine[TTx]) sharedTables() bool { return e.db.legacy }

func (e *engine[TTx]) stop(ctx context.Context) error {
	err := e.client.Stop(ctx)
	if err != nil && ctx.Err() != nil {
		// Past the drain deadline: cancel the running jobs; they are
		// retried by the next process (their attempt records the error).
		c2, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err = e.client.StopAndCancel(c2)
	}
	return err
}

func (e *engine[TTx]) insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	return e.client.Insert(ctx, args, opts)
}

// subscriptionsSQL lists a topic's subscribing servers and their queues.
func (e *engine[TTx]) subscriptionsSQL() string {
	return `SELECT server, queue FROM ` + e.db.table("tova_subscriptions") + ` WHERE topic = $1 ORDER BY server`
}

// withDeclared is rows (server, queue) with a row for each server the
// program declares a subscriber of topic in, that has none.
func (e *engine[TTx]) withDeclared(rows [][]any, topic string) [][]any {
	if e.declared == nil {
		return rows
	}
	for _, server := range e.declared(topic) {
		if !slices.ContainsFunc(rows, func(row []any) bool { return asString(row[0]) == server }) {
			rows = append(rows, []any{server, queueName(server)})
		}
	}
	return rows
}

// deliveries makes one event job ev per subscription row.
func deliveries(rows [][]any, ev eventArgs, opts func(string) *river.InsertOpts) []river.InsertManyParams {
	params := make([]river.InsertManyParams, 0, len(rows))
	for _, row := range rows {
		ev.Server = asString(row[0])
		params = append(params, river.InsertManyParams{Args: ev, InsertOpts: opts(asString(row[1]))})
	}
	return params
}

func (e *engine[TTx]) publish(ctx context.Context, ev eventArgs, opts func(string) *river.InsertOpts) (int, error) {
	n := 0
	err := e.db.inTx(ctx, func(tx TTx) error {
		rows, err := e.db.query(ctx, tx, e.subscriptionsSQL(), ev.Topic)
		if err != nil {
			return err
		}
		if rows = e.withDeclared(rows, ev.Topic); len(rows) == 0 {
			return nil
		}
		params := deliveries(rows, ev, opts)
		if _, err := e.client.InsertManyTx(ctx, tx, params); err != nil {
			return err
		}
		n = len(params)
		return nil
	})
	return n, err
}

var errNoCallerTx = errors.New("jobs: enqueueing in the caller's transaction needs the queue on PostgreSQL")

func (e *engine[TTx]) insertTx(ctx context.Context, tx *sql.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	if e.sqlClient == nil {
		return nil, errNoCallerTx
	}
	return e.sqlClient.InsertTx(ctx, tx, args, opts)
}

func (e *engine[TTx]) publishTx(ctx context.Context, tx *sql.Tx, ev eventArgs, opts func(string) *river.InsertOpts) (int, error) {
	if e.sqlClient == nil {
		return 0, errNoCallerTx
	}
	rs, err := tx.QueryContext(ctx, e.subscriptionsSQL(), ev.Topic)
	if err != nil {
		return 0, err
	}
	rows, err := scanAll(rs)
	if err != nil {
		return 0, err
	}
	if rows = e.withDeclared(rows, ev.Topic); len(rows) == 0 {
		return 0, nil
	}
	params := deliveries(rows, ev, opts)
	if _, err := e.sqlClient.InsertManyTx(ctx, tx, params); err != nil {
		return 0, err
	}
	return len(params), nil
}

// ownMaxAttempts gives a job the max_attempts of the server running it
// (r), as its backoff and timeout are: the job was stored with those of
// the server that spawned or published it, which may be another one, in
// another process, whose settings the running server alone knows. The
// row is River's own, from which it decides between a retry and a
// discard when this attempt fails; the stored copy is what `tova jobs`
// lists and what a rescue after a crash reads.
func (e *engine[TTx]) ownMaxAttempts(ctx context.Context, r *Runner, row *rivertype.JobRow, requestID string) {
	want := r.set.maxAttempts
	if row.MaxAttempts == want {
		return
	}
	row.MaxAttempts = want
	err := e.db.inTx(ctx, func(tx TTx) error {
		return e.db.exec(ctx, tx, `UPDATE `+e.db.table("river_job")+` SET max_attempts = $1 WHERE id = $2`, want, row.ID)
	})
	if err != nil {
		withRequest(r.log.Warn().Err(err).Int64("job_id", row.ID), requestID).Msg("jobs: storing the running server's max_attempts")
	}
}

// pastAttempts is the failure of a job (what) whose attempt about to
// start is past the running server's max_attempts: one lowered since its
// earlier attempts (a deploy). It is discarded without running again,
// and the attempt the queue counted when it handed the job over is
// taken back (tova jobs listed 2/1 for a job tried once). requestID is
// the job's, for its log lines.
func (e *engine[TTx]) pastAttempts(ctx context.Context, r *Runner, row *rivertype.JobRow, what, requestID string) error {
	if row.Attempt <= row.MaxAttempts {
		return nil
	}
	msg := fmt.Sprintf("not run again: the attempts made so far (%d) reach this server's max_attempts (%d)", row.Attempt-1, row.MaxAttempts)
	withRequest(r.log.Warn().Str("in", what).Int64("job_id", row.ID), requestID).Msg("jobs: " + msg + "; discarded")
	err := e.db.inTx(ctx, func(tx TTx) error {
		return e.db.exec(ctx, tx, `UPDATE `+e.db.table("river_job")+` SET attempt = $1 WHERE id = $2`, row.Attempt-1, row.ID)
	})
	if err != nil {
		withRequest(r.log.Warn().Err(err).Int64("job_id", row.ID), requestID).Msg("jobs: taking back an attempt not made")
	}
	return errors.New(msg)
}

// dropped is a delivery no subscriber of the running server can take
// (runEvent), or a job or delivery whose arguments do not fit its
// parameters (failFinal): it is discarded at once, with why, rather than completed,
// so that tova jobs lists it (it was listed as completed, and cleaned
// away as one, after running no code).
type dropped struct{ msg string }

func (d *dropped) Error() string { return d.msg }

// discard makes the job of row fail for good with d: its max_attempts,
// River's row's (from which River decides) and the stored one, become
// the attempt it is on.
func (e *engine[TTx]) discard(ctx context.Context, row *rivertype.JobRow, d *dropped) error {
	row.MaxAttempts = max(row.Attempt, 1)
	_ = e.db.inTx(ctx, func(tx TTx) error {
		return e.db.exec(ctx, tx, `UPDATE `+e.db.table("river_job")+` SET max_attempts = $1 WHERE id = $2`, row.MaxAttempts, row.ID)
	})
	return errors.New(d.msg)
}

// split replaces a delivery to a server with several subscribers of the
// topic by one job per subscriber, atomically.
func (e *engine[TTx]) split(ctx context.Context, j *river.Job[eventArgs], subs []subscriber) error {
	return e.db.inTx(ctx, func(tx TTx) error {
		params := make([]river.InsertManyParams, len(subs))
		for i := range subs {
			a := j.Args
			a.Sub, a.Key = &i, subs[i].key
			params[i] = river.InsertManyParams{Args: a, InsertOpts: &river.InsertOpts{Queue: j.Queue, MaxAttempts: j.MaxAttempts}}
		}
		if _, err := e.client.InsertManyTx(ctx, tx, params); err != nil {
			return err
		}
		_, err := river.JobCompleteTx[riverdriver.Driver[TTx]](ctx, tx, j)
		return err
	})
}

func (e *engine[TTx]) register(ctx context.Context, c clientRow, topics, declared []string) (gone []string, err error) {
	return gone, e.db.inTx(ctx, func(tx TTx) error {
		gone = nil // (a retried transaction)
		if !e.db.legacy {
			// The queue is the program's own: a server it no longer
			// declares (renamed, removed) and no process runs subscribes
			// to nothing, and publish stored deliveries for it that
			// nothing would run.
			// (Tables an earlier release shared between programs hold
			// other programs' servers too: left as they are.)
			// A server a process still runs (another version's, in a
			// rolling deploy or a rollback) keeps them.
			live := map[string]bool{}
			clients, err := e.db.query(ctx, tx, `SELECT server, seen_at, dead_ms FROM `+e.db.table("tova_job_clients"))
			if err != nil {
				return err
			}
			for _, row := range clients {
				if c.SeenAt.Sub(time.UnixMilli(asInt(row[1]))) < time.Duration(asInt(row[2]))*time.Millisecond {
					live[asString(row[0])] = true
				}
			}
			if gone, err = e.forgetGone(ctx, tx, declared, live); err != nil {
				return err
			}
		}
		if err := e.db.exec(ctx, tx, `INSERT INTO `+e.db.table("tova_job_clients")+` (id, server, host, pid, seen_at, dead_ms) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at`, c.ID, c.Server, c.Host, c.PID, c.SeenAt.UnixMilli(), c.DeadAfter.Milliseconds()); err != nil {
			return err
		}
		// Forget clients gone for a day: absent means dead anyway.
		if err := e.db.exec(ctx, tx, `DELETE FROM `+e.db.table("tova_job_clients")+` WHERE seen_at < $1`, c.SeenAt.Add(-24*time.Hour).UnixMilli()); err != nil {
			return err
		}
		// The server's subscriptions are those of the program it runs now.
		if err := e.db.exec(ctx, tx, `DELETE FROM `+e.db.table("tova_subscriptions")+` WHERE server = $1`, c.Server); err != nil {
			return err
		}
		for _, t := range topics {
			if err := e.db.exec(ctx, tx, `INSERT INTO `+e.db.table("tova_subscriptions")+` (topic, server, queue) VALUES ($1, $2, $3)
				ON CONFLICT (topic, server) DO UPDATE SET queue = excluded.queue`, t, c.Server, queueName(c.Server)); err != nil {
				return err
			}
		}
		return nil
	})
}

func (e *engine[TTx]) adopt(ctx context.Context, server string, owner map[string]string, declared []string, now time.Time, gone func(clientRow) bool) (moved, left map[string]int, forgot []string, waiting bool, err error) {
	if e.db.legacy {
		return nil, nil, nil, false, nil // (tables shared with other programs' servers)
	}
	err = e.db.inTx(ctx, func(tx TTx) error {
		moved, left, forgot, waiting = map[string]int{}, map[string]int{}, nil, false // (a retried transaction)
		live := map[string]bool{}
		clients, err := e.db.query(ctx, tx, `SELECT id, server, host, pid, seen_at, dead_ms FROM `+e.db.table("tova_job_clients"))
		if err != nil {
			return err
		}
		for _, row := range clients {
			c := clientRow{ID: asString(row[0]), Server: asString(row[1]), Host: asString(row[2]), PID: asInt(row[3])}
			if now.Sub(time.UnixMilli(asInt(row[4]))) < time.Duration(asInt(row[5]))*time.Millisecond && !gone(c) {
				live[c.Server] = true
				if !slices.Contains(declared, c.Server) {
					waiting = true // (another version's process, still running)
				}
			}
		}
		// A server no longer declared and no longer run subscribes to
		// nothing: publish stored deliveries for it, after its last
		// process stopped, that nothing would run.
		if forgot, err = e.forgetGone(ctx, tx, declared, live); err != nil {
			return err
		}
		// (only the queues of servers not declared: a declared one's
		// jobs are its own)
		args := []any{kindJob, kindEvent, kindSchedule}
		var ours []string
		for _, d := range declared {
			for _, q := range []string{queueName(d), tickQueueName(d)} {
				args = append(args, q)
				ours = append(ours, "$"+strconv.Itoa(len(args)))
			}
		}
		// (SQLite's River stores args as SQLite's binary JSON)
		argsText, argsValue := "json(args)", "jsonb($2)"
		if e.db.dialect == "postgres" {
			argsText, argsValue = "args::text", "$2::jsonb"
		}
		rows, err := e.db.query(ctx, tx, `SELECT id, kind, `+argsText+` FROM `+e.db.table("river_job")+
			` WHERE state IN ('available', 'scheduled', 'retryable', 'running') AND kind IN ($1, $2, $3) AND queue NOT IN (`+strings.Join(ours, ", ")+`)`, args...)
		if err != nil {
			return err
		}
		for _, row := range rows {
			var a jobArgs // (an event's and a tick's server is read alike)
			if json.Unmarshal([]byte(asString(row[2])), &a) != nil || slices.Contains(declared, a.Server) {
				continue
			}
			if live[a.Server] {
				continue
			}
			to, ok := owner[a.Fn]
			if asString(row[1]) != kindJob || !ok {
				left[a.Server]++
				continue
			}
			if to != server {
				continue // (its own server's Runner takes it)
			}
			from := a.Server
			a.Server = server
			b, err := json.Marshal(a)
			if err != nil {
				return err
			}
			// (a running one of a dead process is handed back by this
			// server's Runner, as its own are)
			if err := e.db.exec(ctx, tx, `UPDATE `+e.db.table("river_job")+` SET queue = $1, args = `+argsValue+` WHERE id = $3`, queueName(server), string(b), asInt(row[0])); err != nil {
				return err
			}
			moved[from]++
		}
		return nil
	})
	return moved, left, forgot, waiting, err
}

// forgetGone deletes the subscriptions of the servers neither declared
// nor live, returning their names.
func (e *engine[TTx]) forgetGone(ctx context.Context, tx TTx, declared []string, live map[string]bool) (gone []string, err error) {
	rows, err := e.db.query(ctx, tx, `SELECT DISTINCT server FROM `+e.db.table("tova_subscriptions"))
	if err != nil {
		return nil, err
	}
	for _, row := range rows {
		name := asString(row[0])
		if slices.Contains(declared, name) || live[name] {
			continue
		}
		if err := e.db.exec(ctx, tx, `DELETE FROM `+e.db.table("tova_subscriptions")+` WHERE server = $1`, name); err != nil {
			return nil, err
		}
		gone = append(gone, name)
	}
	return gone, nil
}

func (e *engine[TTx]) heartbeat(ctx context.Context, id string, now time.Time) error {
	return e.db.inTx(ctx, func(tx TTx) error {
		return e.db.exec(ctx, tx, `UPDATE `+e.db.table("tova_job_clients")+` SET seen_at = $1 WHERE id = $2`, now.UnixMilli(), id)
	})
}

func (e *engine[TTx]) releaseLeader(ctx context.Context, id string) error {
	return e.db.inTx(ctx, func(tx TTx) error {
		return e.db.exec(ctx, tx, `DELETE FROM `+e.db.table("river_leader")+` WHERE leader_id = $1`, id)
	})
}

func (e *engine[TTx]) leader(ctx context.Context) (string, error) {
	id, _, err := e.lease(ctx)
	return id, err
}

func (e *engine[TTx]) lease(ctx context.Context) (string, time.Time, error) {
	l, err := e.db.driver.GetExecutor().LeaderGetElectedLeader(ctx, &riverdriver.LeaderGetElectedLeaderParams{Schema: e.db.schema})
	switch {
	case errors.Is(err, rivertype.ErrNotFound):
		return "", time.Time{}, nil
	case err != nil:
		return "", time.Time{}, err
	}
	return l.LeaderID, l.ExpiresAt, nil
}

func (e *engine[TTx]) unregister(ctx context.Context, id string) error {
	return e.db.inTx(ctx, func(tx TTx) error {
		return e.db.exec(ctx, tx, `DELETE FROM `+e.db.table("tova_job_clients")+` WHERE id = $1`, id)
	})
}

func (e *engine[TTx]) clients(ctx context.Context) (map[string]clientRow, error) {
	out := map[string]clientRow{}
	err := e.db.inTx(ctx, func(tx TTx) error {
		rows, err := e.db.query(ctx, tx, `SELECT id, server, host, pid, seen_at, dead_ms FROM `+e.db.table("tova_job_clients"))
		if err != nil {
			return err
		}
		for _, r := range rows {
			c := clientRow{ID: asString(r[0]), Server: asString(r[1]), Host: asString(r[2]), PID: asInt(r[3]),
				SeenAt: time.UnixMilli(asInt(r[4])), DeadAfter: time.Duration(asInt(r[5])) * time.Millisecond}
			out[c.ID] = c
		}
		return nil
	})
	return out, err
}

func (e *engine[TTx]) list(ctx context.Context, params *river.JobListParams) ([]*rivertype.JobRow, error) {
	res, err := e.client.JobList(ctx, params)
	if err != nil {
		return nil, err
	}
	return res.Jobs, nil
}

func (e *engine[TTx]) rescue(ctx context.Context, jobs []*rivertype.JobRow, reason string) error {
	if len(jobs) == 0 {
		return nil
	}
	now := time.Now().UTC()
	p := &riverdriver.JobRescueManyParams{Schema: e.db.schema, StuckHorizon: now.Add(time.Hour)}
	for _, j := range jobs {
		why, state, finalized := reason+"; the job was handed back to the queue", rivertype.JobStateAvailable, (*time.Time)(nil)
		if j.Attempt >= j.MaxAttempts {
			// The attempt the process died in counts: a job that brings
			// its process down (out of memory) must not make every
			// restart run it again.
			// (or just after it ended: completions are stored in
			// batches, see doc.go)
			why = fmt.Sprintf("%s during the job's last attempt (%d of %d), or just after it, before its end was stored; the job was discarded", reason, j.Attempt, j.MaxAttempts)
			state, finalized = rivertype.JobStateDiscarded, &now
		}
		msg, _ := json.Marshal(rivertype.AttemptError{At: now, Attempt: j.Attempt, Error: why})
		p.ID = append(p.ID, j.ID)
		p.Error = append(p.Error, msg)
		p.FinalizedAt = append(p.FinalizedAt, finalized)
		// (the list shows when it was due, not when it was handed back;
		// a job running was due already)
		due := now
		if !j.ScheduledAt.IsZero() && j.ScheduledAt.Before(now) {
			due = j.ScheduledAt.UTC()
		}
		p.ScheduledAt = append(p.ScheduledAt, due)
		p.State = append(p.State, string(state))
	}
	_, err := e.db.driver.GetExecutor().JobRescueMany(ctx, p)
	return err
}

func (e *engine[TTx]) close() { e.db.close() }
