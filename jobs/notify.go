package jobs

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sync"
	"time"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riversqlite"
)

// SQLite has no LISTEN/NOTIFY: River's SQLite driver writes each
// notification (a job was inserted into a queue, a queue was paused, a
// leader resigned) to a table, and each client's listener polls that
// table every 50 ms. With the producers' own fetch polls, an idle
// program with a jobs runner kept a core about 11% busy per runner.
//
// The listeners here look at the table when a transaction of this
// process that may have written a notification commits (woken through
// the jobs file's notifyHub), and otherwise every SQLiteListenPoll, for
// notifications of other processes sharing the file. A notification is a
// hint: the jobs themselves are in their table, and a producer that
// misses every hint still finds its jobs at its next fetch poll.

// SQLiteListenPoll is how often a SQLite listener looks for notifications
// of other processes (those of this process wake it at once).
const SQLiteListenPoll = 250 * time.Millisecond

// notifyHub wakes the listeners of one jobs file in this process.
type notifyHub struct {
	mu   sync.Mutex
	subs map[chan struct{}]struct{}
}

var (
	hubsMu sync.Mutex
	hubs   = map[string]*notifyHub{} // by jobs file path
)

// hubFor returns the hub of the jobs file at path.
func hubFor(path string) *notifyHub {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs // one hub however the file is named
	}
	hubsMu.Lock()
	defer hubsMu.Unlock()
	h := hubs[path]
	if h == nil {
		h = &notifyHub{subs: map[chan struct{}]struct{}{}}
		hubs[path] = h
	}
	return h
}

// signal wakes every listener; a listener already woken stays so once.
func (h *notifyHub) signal() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.subs {
		poke(c)
	}
}

// poke leaves a wake-up in c unless one waits there already.
func poke(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

func (h *notifyHub) subscribe(c chan struct{}) {
	h.mu.Lock()
	h.subs[c] = struct{}{}
	h.mu.Unlock()
}

func (h *notifyHub) unsubscribe(c chan struct{}) {
	h.mu.Lock()
	delete(h.subs, c)
	h.mu.Unlock()
}

// sqliteDriver is River's SQLite driver with listeners woken by the hub,
// and executors that signal it when a transaction they began that wrote
// notifications commits. A transaction of ours that River writes in
// (UnwrapExecutor) signals when sqliteDatabase commits it.
type sqliteDriver struct {
	*riversqlite.Driver
	hub        *notifyHub
	listenPoll time.Duration
}

func newSQLiteDriver(db *sql.DB, hub *notifyHub, listenPoll time.Duration) *sqliteDriver {
	return &sqliteDriver{Driver: riversqlite.New(db), hub: hub, listenPoll: listenPoll}
}

func (d *sqliteDriver) GetExecutor() riverdriver.Executor {
	return &notifyingExecutor{Executor: d.Driver.GetExecutor(), hub: d.hub}
}

func (d *sqliteDriver) UnwrapTx(execTx riverdriver.ExecutorTx) *sql.Tx {
	if t, ok := execTx.(*notifyingTx); ok {
		execTx = t.ExecutorTx
	}
	return d.Driver.UnwrapTx(execTx)
}

func (d *sqliteDriver) GetListener(params *riverdriver.GetListenenerParams) riverdriver.Listener {
	return &hubListener{Listener: d.Driver.GetListener(params), hub: d.hub, poll: d.listenPoll, wake: make(chan struct{}, 1)}
}

// notifyingExecutor signals the hub after notifications it writes
// outside a transaction, and wraps the transactions it begins.
type notifyingExecutor struct {
	riverdriver.Executor
	hub *notifyHub
}

func (e *notifyingExecutor) Begin(ctx context.Context) (riverdriver.ExecutorTx, error) {
	tx, err := e.Executor.Begin(ctx)
	if err != nil {
		return nil, err
	}
	return &notifyingTx{ExecutorTx: tx, hub: e.hub, wrote: new(bool), outer: true}, nil
}

func (e *notifyingExecutor) NotifyMany(ctx context.Context, params *riverdriver.NotifyManyParams) error {
	err := e.Executor.NotifyMany(ctx, params)
	if err == nil && len(params.Payload) > 0 {
		e.hub.signal()
	}
	return err
}

// notifyingTx remembers that it (or a savepoint in it) wrote
// notifications, and signals the hub once the outermost transaction
// commits: a listener woken earlier would not see them yet.
type notifyingTx struct {
	riverdriver.ExecutorTx
	hub   *notifyHub
	wrote *bool // shared with the savepoints begun in it
	outer bool  // not a savepoint
}

func (t *notifyingTx) Begin(ctx context.Context) (riverdriver.ExecutorTx, error) {
	sub, err := t.ExecutorTx.Begin(ctx)
	if err != nil {
		return nil, err
	}
	return &notifyingTx{ExecutorTx: sub, hub: t.hub, wrote: t.wrote}, nil
}

func (t *notifyingTx) NotifyMany(ctx context.Context, params *riverdriver.NotifyManyParams) error {
	err := t.ExecutorTx.NotifyMany(ctx, params)
	if err == nil && len(params.Payload) > 0 {
		*t.wrote = true
	}
	return err
}

func (t *notifyingTx) Commit(ctx context.Context) error {
	err := t.ExecutorTx.Commit(ctx)
	if err == nil && t.outer && *t.wrote {
		t.hub.signal()
	}
	return err
}

// hubListener is River's SQLite listener, looking at the notification
// table when the hub wakes it and every poll (SQLiteListenPoll) instead
// of every 50 ms.
type hubListener struct {
	riverdriver.Listener
	hub  *notifyHub
	poll time.Duration
	wake chan struct{} // in hub's set while connected
}

// listenLook bounds one look at the notification table. River's
// listener, when it finds nothing, waits 50 ms before it looks again: a
// shorter bound ends the call before that second look.
const listenLook = 40 * time.Millisecond

func (l *hubListener) Connect(ctx context.Context) error {
	if err := l.Listener.Connect(ctx); err != nil {
		return err
	}
	l.hub.subscribe(l.wake)
	return nil
}

func (l *hubListener) Close(ctx context.Context) error {
	l.hub.unsubscribe(l.wake)
	return l.Listener.Close(ctx)
}

func (l *hubListener) WaitForNotification(ctx context.Context) (*riverdriver.Notification, error) {
	poll := time.NewTimer(l.poll)
	defer poll.Stop()
	for {
		n, woken, err := l.look(ctx)
		switch {
		case err == nil:
			if woken {
				poke(l.wake) // the wake may be for a later notification
			}
			return n, nil
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled):
			return nil, err
		case woken:
			continue // a commit during the look: look again
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-l.wake:
		case <-poll.C:
			poll.Reset(l.poll)
		}
	}
}

// look runs River's listener for one look at the table (at most
// listenLook), cut short when the hub wakes this listener meanwhile:
// River's listener would otherwise sleep through the wake. woken reports
// that it was.
func (l *hubListener) look(ctx context.Context) (n *riverdriver.Notification, woken bool, err error) {
	look, cancel := context.WithTimeout(ctx, listenLook)
	defer cancel()
	stop := make(chan struct{})
	wokeCh := make(chan bool, 1)
	go func() {
		select {
		case <-l.wake:
			cancel()
			wokeCh <- true
		case <-stop:
			wokeCh <- false
		}
	}()
	n, err = l.Listener.WaitForNotification(look)
	close(stop)
	return n, <-wokeCh, err
}
