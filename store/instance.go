package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"

	"tova/vm"
)

// serviceKey keys the database state among an instance's services.
type serviceKey struct{}

// instanceDB is the database state of one VM instance: the database it
// opened (on first use) and the models it declared.
type instanceDB struct {
	db       atomic.Pointer[DB]
	borrowed atomic.Bool // db came from Use: its owner closes it
	mu       sync.Mutex  // serialises opening
	// shared, when set, gives the in-memory database, one for the
	// program's instances (see Shared); fromShared: db came from it.
	shared     *Shared
	fromShared atomic.Bool

	modelsMu sync.Mutex
	models   []*Model
}

func stateOf(in *vm.Instance) *instanceDB {
	return in.ServiceOrInit(serviceKey{}, func() any {
		s := &instanceDB{}
		// An instance nobody references any more closes its pools; a
		// runtime that knows when an instance ends calls Close instead.
		runtime.AddCleanup(in, func(s *instanceDB) { s.close() }, s)
		return s
	}).(*instanceDB)
}

func (s *instanceDB) close() error {
	db := s.db.Swap(nil)
	switch {
	case db == nil, s.borrowed.Swap(false):
	case s.fromShared.Swap(false):
		return s.shared.release(db)
	default:
		return db.Close()
	}
	return nil
}

// open returns the instance's database, opening it on first use from
// the instance's db block (read under the scheduler, connected outside
// it).
func (s *instanceDB) open(t *vm.Thread) (*DB, error) {
	if db := s.db.Load(); db != nil {
		if err := db.fileLost(); err != nil {
			return nil, err
		}
		return db, nil
	}
	cfg, ready, err := configFor(t.In)
	if err != nil {
		return nil, err
	}
	if !ready {
		return nil, configErr("the database is used before its db block has run (move the db block above the code that uses it)")
	}
	warnings := unknownKeys(t.In)
	var db *DB
	t.Blocking(func() { db, err = s.connect(t.Context(), cfg, t.In.Cfg.Stderr, warnings) })
	return db, err
}

// connect opens the database once; log hears where the default one is,
// and the warnings about the db block.
func (s *instanceDB) connect(ctx context.Context, cfg Config, log io.Writer, warnings []string) (*DB, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if db := s.db.Load(); db != nil {
		return db, nil
	}
	var db *DB
	var err error
	if s.shared != nil && cfg.Adapter == SQLite && cfg.Path == ":memory:" {
		db, err = s.shared.open(ctx, cfg)
		s.fromShared.Store(err == nil)
	} else {
		db, err = Open(ctx, cfg)
	}
	if err != nil {
		return nil, err
	}
	if cfg.Source == noBlock {
		fmt.Fprintf(log, "tova: no db block: using the SQLite database %s\n", cfg.Path)
	}
	for _, w := range warnings {
		fmt.Fprintf(log, "tova: warning: %s\n", w)
	}
	s.db.Store(db)
	return db, nil
}

func (s *instanceDB) addModel(m *Model) {
	s.modelsMu.Lock()
	s.models = append(s.models, m)
	s.modelsMu.Unlock()
}

// Ready opens the instance's database and creates or checks the tables
// of the models it has declared, when it has a db block or models. A
// server runtime calls it after a server's body has run, so that an
// unreachable database or a model that no longer matches its table is
// a startup error rather than the first request's.
func Ready(ctx context.Context, in *vm.Instance) error {
	s := stateOf(in)
	s.modelsMu.Lock()
	models := append([]*Model(nil), s.models...)
	s.modelsMu.Unlock()
	if len(models) == 0 && len(in.ConfigBlocks("db")) == 0 {
		return nil
	}
	db := s.db.Load()
	if db == nil {
		cfg, ready, err := configFor(in)
		if err != nil || !ready {
			return err
		}
		if db, err = s.connect(ctx, cfg, in.Cfg.Stderr, unknownKeys(in)); err != nil {
			return err
		}
	}
	for _, m := range models {
		if _, err := m.ensure(ctx, db, db.write, false); err != nil {
			err = dbError(err, &db.cfg)
			var ve *vm.Error
			if errors.As(err, &ve) && len(ve.Stack) == 0 {
				ve.Stack = m.declared // (at the model, as where the db block is above it)
			}
			return err
		}
	}
	return nil
}

// CheckConfig reads the instance's db block as Ready would, without
// opening the database: a block that cannot work is its ConfigError, at
// the block's position. Code that reads the block for another purpose
// (where a server keeps its jobs) calls it first, so that the error is
// the one a server's start gives.
func CheckConfig(in *vm.Instance) error {
	_, _, err := configFor(in)
	return err
}

// Ping checks the instance's database: configured is false when the
// program has no db block and no models; err says why the database does
// not answer (it is opened first if it is not yet).
func Ping(ctx context.Context, in *vm.Instance) (configured bool, err error) {
	s := stateOf(in)
	s.modelsMu.Lock()
	n := len(s.models)
	s.modelsMu.Unlock()
	if n == 0 && len(in.ConfigBlocks("db")) == 0 {
		return false, nil
	}
	db := s.db.Load()
	if db == nil {
		cfg, ready, err := configFor(in)
		if err != nil {
			return true, err
		}
		if !ready {
			return true, errors.New("the db block has not run yet")
		}
		if db, err = s.connect(ctx, cfg, in.Cfg.Stderr, unknownKeys(in)); err != nil {
			return true, err
		}
	}
	if err := db.fileLost(); err != nil {
		return true, err
	}
	if err := db.write.PingContext(ctx); err != nil {
		return true, dbError(err, &db.cfg)
	}
	return true, nil
}

// Close closes the database the instance opened, if any (one given with
// Use is only let go of). The next database call of the instance opens
// its database again.
func Close(in *vm.Instance) error {
	if s, ok := in.Service(serviceKey{}).(*instanceDB); ok {
		return s.close()
	}
	return nil
}

// Use gives the instance an already open database instead of the one
// its db blocks name (tests and embedders). The caller keeps it: it
// closes it when done; the instance never does.
func Use(in *vm.Instance, db *DB) {
	s := stateOf(in)
	s.borrowed.Store(true)
	s.db.Store(db)
}

// TxOf returns the transaction of thread t's db.transaction, if it is
// inside one, with the database's PostgreSQL URL ("" for SQLite). The
// job queue uses it to enqueue in the caller's transaction, so a job
// commits or rolls back with the app's writes.
func TxOf(t *vm.Thread) (*sql.Tx, string, bool) {
	s, ok := t.In.Service(serviceKey{}).(*instanceDB)
	if !ok {
		return nil, "", false
	}
	db := s.db.Load()
	if db == nil || !db.inTx(t) {
		return nil, "", false
	}
	x, ok := db.txs.Load(t)
	if !ok {
		return nil, "", false
	}
	url := ""
	if db.cfg.Adapter == Postgres {
		url = db.cfg.URL
	}
	return x.(*txn).tx, url, true
}
