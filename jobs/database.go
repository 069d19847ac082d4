package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	_ "github.com/glebarez/go-sqlite" // the "sqlite" database/sql driver
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"tova/internal/pgpath"
	"tova/internal/sqlitecache"
	"tova/internal/sqlitefile"
)

// The queue's tables are River's (river_job, river_leader, ...), created
// by River's own migrations, plus two of ours:
//
//	tova_subscriptions  which servers subscribe to which topic: publish
//	                    inserts one job per row of its topic
//	tova_job_clients    one row per running queue client, with its host,
//	                    process id, last heartbeat and how long after it
//	                    to presume it dead, so that jobs left "running"
//	                    by a dead process can be handed back
func (d *database[TTx]) schemaSQL() string {
	return `
CREATE TABLE IF NOT EXISTS ` + d.table("tova_subscriptions") + ` (
	topic  TEXT NOT NULL,
	server TEXT NOT NULL,
	queue  TEXT NOT NULL,
	PRIMARY KEY (topic, server)
);
CREATE TABLE IF NOT EXISTS ` + d.table("tova_job_clients") + ` (
	id      TEXT PRIMARY KEY,
	server  TEXT NOT NULL,
	host    TEXT NOT NULL,
	pid     BIGINT NOT NULL,
	seen_at BIGINT NOT NULL, -- last heartbeat, Unix ms
	dead_ms BIGINT NOT NULL  -- presumed dead this long after seen_at
)`
}

// database is what the queue needs of one SQL database beyond River's
// driver: transactions and a few statements of its own. TTx is the
// driver's transaction type (*sql.Tx on SQLite, pgx.Tx on PostgreSQL).
// Statements use $N placeholders, which both drivers accept.
type database[TTx any] struct {
	dialect string // "sqlite" or "postgres"
	// schema is the PostgreSQL schema the queue's tables are in
	// (ProgramSchema), or "" for those the connection's search_path
	// finds (SQLite; a URL that sets a search_path; the tables of an
	// earlier release, shared by the programs of a database: legacy).
	schema   string
	legacy   bool
	driver   riverdriver.Driver[TTx]
	begin    func(ctx context.Context) (TTx, error)
	commit   func(ctx context.Context, tx TTx) error
	rollback func(ctx context.Context, tx TTx) error
	exec     func(ctx context.Context, tx TTx, query string, args ...any) error
	query    func(ctx context.Context, tx TTx, query string, args ...any) ([][]any, error)
	// exclusive runs fn while no other process migrates: on SQLite in
	// one transaction (which holds the write lock from BEGIN), on
	// PostgreSQL under a session advisory lock, outside any transaction
	// (River's migrations add enum values, which PostgreSQL refuses to
	// use in the transaction that added them).
	exclusive func(ctx context.Context, fn func(tx TTx, inTx bool) error) error
	close     func()
}

// table is name qualified with the queue's schema, if it has one.
func (d *database[TTx]) table(name string) string {
	if d.schema == "" {
		return name
	}
	return pgx.Identifier{d.schema, name}.Sanitize()
}

// inTx runs fn in a transaction, committing when it returns nil.
func (d *database[TTx]) inTx(ctx context.Context, fn func(tx TTx) error) error {
	tx, err := d.begin(ctx)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		d.rollback(context.WithoutCancel(ctx), tx)
		return err
	}
	return d.commit(ctx, tx)
}

// migrate brings River's tables and ours up to date, one process at a
// time.
func (d *database[TTx]) migrate(ctx context.Context) error {
	m, err := rivermigrate.New(d.driver, &rivermigrate.Config{Schema: d.schema})
	if err != nil {
		return err
	}
	return d.exclusive(ctx, func(tx TTx, inTx bool) error {
		if d.schema != "" {
			if err := d.inTx(ctx, func(tx TTx) error {
				return d.exec(ctx, tx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{d.schema}.Sanitize())
			}); err != nil {
				return fmt.Errorf("creating the jobs schema %s: %w", d.schema, err)
			}
		}
		if inTx {
			_, err = m.MigrateTx(ctx, tx, rivermigrate.DirectionUp, nil)
		} else {
			_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
		}
		if err != nil {
			return fmt.Errorf("migrating the jobs tables: %w", err)
		}
		sql := d.schemaSQL()
		if d.dialect == "postgres" && d.schema == "" && !d.legacy {
			// A queue put in a schema by a URL's search_path (public,
			// maybe) is marked as this release's, so that a program
			// finding its tables there does not take them for the
			// shared tables of an earlier release (see openPostgres).
			sql += ";\nCREATE TABLE IF NOT EXISTS " + searchPathMark + " (note TEXT)"
		}
		if inTx {
			return d.exec(ctx, tx, sql)
		}
		return d.inTx(ctx, func(tx TTx) error { return d.exec(ctx, tx, sql) })
	})
}

// searchPathMark is the table that marks the tables of a queue that a
// URL's search_path put in its schema (see migrate).
const searchPathMark = "tova_queue_by_search_path"

// SQLiteDSN is the database/sql data source name (driver "sqlite") the
// runtime opens a jobs file with: WAL mode; transactions take the write
// lock at BEGIN (immediate), so that processes sharing the file queue
// up on busy_timeout instead of failing to upgrade a read lock; with
// synchronous=NORMAL a committed job survives the process being killed,
// and only an operating-system crash or power loss can lose the last
// commits. Temporary data, statement journals included, stays in memory
// (temp_store=MEMORY): River's statements that write several rows each
// open a statement journal, which otherwise took a new 64 KiB buffer,
// mapped and unmapped again by the allocator, every time.
func SQLiteDSN(path string) string {
	return sqlitefile.URI(path) + "?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(10000)&_pragma=temp_store(MEMORY)&_txlock=immediate"
}

// openSQLite opens (creating it and its directory if needed) a jobs file.
// River's SQLite driver wants a single connection per process. Its
// listener looks for other processes' notifications every listenPoll.
func openSQLite(path string, listenPoll time.Duration) (*database[*sql.Tx], error) {
	// The queue holds jobs' arguments, which may be secrets (a token a
	// job sends on): a directory and a file made for it are its owner's
	// alone (they were everyone's to read); SQLite gives its WAL and
	// shared-memory files the file's mode.
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("cannot create its directory: %w", err)
	}
	if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		f.Close()
	}
	// Its connection keeps River's statements prepared: compiling them
	// again at every use was most of the CPU a job took.
	db := sqlitecache.Open(SQLiteDSN(path))
	db.SetMaxOpenConns(1)
	return sqliteDatabase(db, newSQLiteDriver(db, hubFor(path), listenPoll), func() { db.Close() }), nil
}

// openSQLiteExisting opens a jobs file only if it exists (the CLI must
// not create one).
func openSQLiteExisting(path string) (*database[*sql.Tx], error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	return openSQLite(path, SQLiteListenPoll)
}

// sqliteDatabase is the queue on db, a jobs file, through drv.
func sqliteDatabase(db *sql.DB, drv *sqliteDriver, closeFn func()) *database[*sql.Tx] {
	hub := drv.hub
	d := &database[*sql.Tx]{
		dialect: "sqlite",
		driver:  drv,
		begin:   func(ctx context.Context) (*sql.Tx, error) { return db.BeginTx(ctx, nil) },
		commit: func(_ context.Context, tx *sql.Tx) error {
			// River may have written notifications in tx (publish,
			// spawn_job): wake the listeners once they are visible.
			err := tx.Commit()
			if err == nil {
				hub.signal()
			}
			return err
		},
		rollback: func(_ context.Context, tx *sql.Tx) error { return tx.Rollback() },
		exec: func(ctx context.Context, tx *sql.Tx, q string, args ...any) error {
			_, err := tx.ExecContext(ctx, q, args...)
			return err
		},
		query: func(ctx context.Context, tx *sql.Tx, q string, args ...any) ([][]any, error) {
			rows, err := tx.QueryContext(ctx, q, args...)
			if err != nil {
				return nil, err
			}
			return scanAll(rows)
		},
		close: closeFn,
	}
	d.exclusive = func(ctx context.Context, fn func(tx *sql.Tx, inTx bool) error) error {
		return d.inTx(ctx, func(tx *sql.Tx) error { return fn(tx, true) })
	}
	return d
}

func scanAll(rows *sql.Rows) ([][]any, error) {
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out [][]any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		out = append(out, vals)
	}
	return out, rows.Err()
}

// PostgresPoolSize is the connection pool of a queue with this many
// workers (unless the URL's pool_max_conns asks for more): enough for
// the workers' completions and enqueues plus River's own connections
// (its LISTEN connection, the leader's maintenance).
func PostgresPoolSize(workers int) int { return workers/2 + 6 }

// createSearchPathSchema creates the first schema of the connection's
// search_path when none of it exists (a URL's ?search_path=jobs, before
// anyone made the schema), as the program's own schema is made: the
// queue's tables failed with "no schema has been selected to create in".
func createSearchPathSchema(ctx context.Context, pool *pgxpool.Pool) error {
	var current *string
	var path string
	if err := pool.QueryRow(ctx, pgpath.Query).Scan(&current, &path); err != nil {
		return fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	if name := pgpath.Missing(current, path); name != "" {
		if _, err := pool.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{name}.Sanitize()); err != nil {
			return fmt.Errorf("the URL's search_path names the schema %q, which does not exist, and it could not be made: %w", name, err)
		}
	}
	return nil
}

// setsSearchPath says whether a URL chooses the schema itself (its
// search_path parameter, or options -csearch_path=…): the queue lives
// there, not in the program's own schema.
func setsSearchPath(cc *pgx.ConnConfig) bool {
	return cc.RuntimeParams["search_path"] != "" || strings.Contains(cc.RuntimeParams["options"], "search_path")
}

// queueTables says whether the queue of program has its own tables in
// the database (own), and whether an earlier release's shared ones are
// in the search_path's schema (old; not those a URL's search_path put
// there, which are marked).
func queueTables(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, program string) (own, old bool, err error) {
	err = q.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL, to_regclass('river_job') IS NOT NULL AND to_regclass('"+searchPathMark+"') IS NULL",
		pgx.Identifier{program, "river_job"}.Sanitize()).Scan(&own, &old)
	return own, old, err
}

// openPostgres connects to the app's PostgreSQL database.
func openPostgres(ctx context.Context, url string, workers int, program string) (*database[pgx.Tx], error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("db url: %w", err)
	}
	setsPath := setsSearchPath(cfg.ConnConfig)
	cfg.MaxConns = max(cfg.MaxConns, int32(PostgresPoolSize(workers)))
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	schema, legacy := program, false
	if setsPath {
		schema = ""
		if err := createSearchPathSchema(ctx, pool); err != nil {
			pool.Close()
			return nil, err
		}
	} else {
		// The tables of an earlier release, in the search_path's schema
		// (public) and shared by every program of the database, go on
		// being used until the program has tables of its own, so that
		// the jobs stored there are not left behind.
		// (Not those of a program whose URL's search_path put its queue
		// there, which are marked: taking them for an earlier release's
		// made every program of the database share that queue.)
		own, old, err := queueTables(ctx, pool, program)
		if err != nil {
			pool.Close()
			return nil, fmt.Errorf("connecting to PostgreSQL: %w", err)
		}
		if !own && old {
			schema, legacy = "", true
		}
	}
	d := &database[pgx.Tx]{
		schema:   schema,
		legacy:   legacy,
		dialect:  "postgres",
		driver:   riverpgxv5.New(pool),
		begin:    func(ctx context.Context) (pgx.Tx, error) { return pool.Begin(ctx) },
		commit:   func(ctx context.Context, tx pgx.Tx) error { return tx.Commit(ctx) },
		rollback: func(ctx context.Context, tx pgx.Tx) error { return tx.Rollback(ctx) },
		exec: func(ctx context.Context, tx pgx.Tx, q string, args ...any) error {
			_, err := tx.Exec(ctx, q, args...)
			return err
		},
		query: func(ctx context.Context, tx pgx.Tx, q string, args ...any) ([][]any, error) {
			rows, err := tx.Query(ctx, q, args...)
			if err != nil {
				return nil, err
			}
			defer rows.Close()
			var out [][]any
			for rows.Next() {
				vals, err := rows.Values()
				if err != nil {
					return nil, err
				}
				out = append(out, vals)
			}
			return out, rows.Err()
		},
		close: pool.Close,
	}
	d.exclusive = func(ctx context.Context, fn func(tx pgx.Tx, inTx bool) error) error {
		conn, err := pool.Acquire(ctx)
		if err != nil {
			return err
		}
		defer conn.Release()
		// an arbitrary fixed key: "tova" in ASCII
		if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock(1953460833)"); err != nil {
			return err
		}
		defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(1953460833)")
		return fn(nil, false)
	}
	return d, nil
}

// isMissingTable reports whether err says the jobs tables do not exist.
func isMissingTable(err error) bool {
	if err == nil {
		return false
	}
	var pe interface{ SQLState() string }
	if errors.As(err, &pe) && pe.SQLState() == "42P01" {
		return true
	}
	s := err.Error()
	return strings.Contains(s, "no such table") || strings.Contains(s, "does not exist")
}

// asString and asInt read a column value as either driver returns it.
func asString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []byte:
		return string(v)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

func asInt(v any) int64 {
	switch v := v.(type) {
	case int64:
		return v
	case int32:
		return int64(v)
	case int:
		return int64(v)
	case float64:
		return int64(v)
	case string:
		n, _ := strconv.ParseInt(v, 10, 64)
		return n
	case []byte:
		n, _ := strconv.ParseInt(string(v), 10, 64)
		return n
	}
	return 0
}
