package store

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	sqlite "github.com/glebarez/go-sqlite"
	"github.com/jackc/pgx/v5/pgconn"
	// Only the result-code constants: the driver package modernc.org/sqlite
	// itself must never be linked beside glebarez's (both register "sqlite").
	sqlite3 "modernc.org/sqlite/lib"

	"tova/internal/dberr"
	"tova/internal/sqlitefile"
	"tova/vm"
)

// Error kinds raised to Tova code (err.kind).
const (
	// KindDatabase is a failure the engine reported: a constraint
	// violation, bad SQL, a missing table. err.value.code names
	// constraint violations the same way on both engines.
	KindDatabase = "DatabaseError"
	// KindUnavailable means the database cannot be reached (refused,
	// connection lost, locked past the busy timeout). The HTTP layer
	// answers such failures with 503; the next call reconnects.
	KindUnavailable = dberr.Kind
	// KindSchema is a model that does not match its existing table.
	KindSchema = "SchemaError"
	// KindColumn is a query naming a field the model does not have.
	KindColumn = "ColumnError"
)

// Constraint codes in err.value.code, identical on both engines.
const (
	codeUnique     = "unique_violation"
	codeNotNull    = "not_null_violation"
	codeForeignKey = "foreign_key_violation"
	codeCheck      = "check_violation"
)

var pgCodes = map[string]string{
	"23505": codeUnique, "23502": codeNotNull, "23503": codeForeignKey, "23514": codeCheck,
}

var sqliteCodes = map[int]string{
	sqlite3.SQLITE_CONSTRAINT_UNIQUE:     codeUnique,
	sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY: codeUnique,
	sqlite3.SQLITE_CONSTRAINT_NOTNULL:    codeNotNull,
	sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY: codeForeignKey,
	sqlite3.SQLITE_CONSTRAINT_CHECK:      codeCheck,
}

// sqliteMsgRE splits the driver's "<generic>: <message> (<code>)" text.
var sqliteMsgRE = regexp.MustCompile(`^(?:[^:]*: )?(.*?) \(\d+\)(?: \(SQLITE_BUSY\))?$`)

// dbError turns a driver error into the Tova error the caller sees;
// cfg names the database in "unavailable" messages.
func dbError(err error, cfg *Config) error {
	if err == nil {
		return nil
	}
	var ve *vm.Error
	if errors.As(err, &ve) {
		return ve
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &vm.Error{Kind: vm.ErrCancelled, Msg: "database call cancelled: " + err.Error(), Cause: err}
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		if dberr.UnavailableState(pe.Code) {
			return unavailable(err, cfg)
		}
		code := pgCodes[pe.Code]
		if code == "" {
			code = pe.Code
		}
		msg := pe.Message
		if pe.Detail != "" {
			msg += " (" + pe.Detail + ")"
		}
		return dbErr(msg, code, err)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		if c := se.Code() & 0xff; (c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED) && cfg != nil {
			// A file another connection holds: reached, but locked
			// past the busy timeout ("cannot reach ...: database is
			// locked (5) (SQLITE_BUSY)")
			return &vm.Error{Kind: KindUnavailable, Msg: fmt.Sprintf("%s stayed locked by another connection past the %v busy timeout (a long transaction, or another process writing it)%s",
				cfg.describe(), busyTimeout, sourceNote(cfg)), Cause: err}
		}
		if dberr.UnavailableSQLite(se.Code()) {
			return unavailable(err, cfg)
		}
		msg := se.Error()
		if m := sqliteMsgRE.FindStringSubmatch(msg); m != nil {
			msg = m[1]
		}
		code := sqliteCodes[se.Code()]
		if c, ok := sqlite.ErrorCodeString[se.Code()&0xff]; ok && code == "" {
			code = sqliteCodeName(c)
		}
		return dbErr(msg, code, err)
	}
	if dberr.ConnectionLost(err) {
		return unavailable(err, cfg)
	}
	if m := encodeErrRE.FindStringSubmatch(err.Error()); m != nil {
		// The driver's words, with a 0-based index and an OID:
		// "failed to encode args[0]: unable to encode 9999999999 into
		// binary format for int4 (OID 23): ...".
		n, _ := strconv.Atoi(m[1])
		return vm.Errorf("ValueError", "parameter $%d (%s) does not fit the type PostgreSQL gives it there, %s", n+1, m[2], m[3])
	}
	return dbErr(err.Error(), "", err)
}

// encodeErrRE reads pgx's error of a parameter it cannot encode as its
// placeholder's type: the index, the value's words, the type.
var encodeErrRE = regexp.MustCompile(`^failed to encode args\[(\d+)\]: unable to encode (.+?) into (?:binary|text) format for (\w+) \(OID \d+\)`)

// sqliteCodeName extracts "SQLITE_ERROR" from the driver's description.
func sqliteCodeName(desc string) string {
	if i := strings.LastIndex(desc, "("); i >= 0 && strings.HasSuffix(desc, ")") {
		return desc[i+1 : len(desc)-1]
	}
	return desc
}

func unavailable(err error, cfg *Config) *vm.Error {
	where := "the database"
	if cfg != nil {
		where = cfg.describe()
	}
	msg := err.Error()
	if sqlitefile.IsCannotOpen(err) {
		msg = sqlitefile.CannotOpen
	}
	if cfg != nil && cfg.Adapter == SQLite && strings.Contains(msg, "attempt to write a readonly database") {
		// (opened, even to read, SQLite's WAL writes files beside the
		// database: its -shm and -wal)
		msg += ": the file, or the directory it is in, is not writable by this process (SQLite writes its -wal and -shm files beside the database, also to read it)"
	}
	msg += sourceNote(cfg)
	return &vm.Error{Kind: KindUnavailable, Msg: "cannot reach " + where + ": " + msg, Cause: err}
}

// sourceNote names where the database is configured: a start-up that
// fails here has no other position to show (a model's declaration has
// its own).
func sourceNote(cfg *Config) string {
	if cfg != nil && cfg.Source != noBlock && cfg.Source != "" {
		return " (the " + cfg.Source + ")"
	}
	return ""
}

func dbErr(msg, code string, cause error) *vm.Error {
	e := &vm.Error{Kind: KindDatabase, Msg: msg, Cause: cause}
	if code != "" {
		o := vm.NewObject()
		o.Set("code", vm.Str(code))
		e.Value = vm.ObjectValue(o)
	}
	return e
}
