// Package dberr tells a database that cannot be reached from a statement
// that failed, for the store and the job queue alike: both answer the
// first with DatabaseUnavailable (503 over HTTP, worth retrying).
package dberr

import (
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	sqlite "github.com/glebarez/go-sqlite"
	"github.com/jackc/pgx/v5/pgconn"
	// Only the result-code constants: the driver package modernc.org/sqlite
	// itself must never be linked beside glebarez's (both register "sqlite").
	sqlite3 "modernc.org/sqlite/lib"
)

// Kind is the error kind of a database that cannot be reached.
const Kind = "DatabaseUnavailable"

// Unavailable reports whether err says the database cannot be reached
// (refused, connection lost, shut down, too many clients, a SQLite file
// locked past the busy timeout, unopenable, full or not a database)
// rather than that a statement failed.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return UnavailableState(pe.Code)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return UnavailableSQLite(se.Code())
	}
	return ConnectionLost(err)
}

// UnavailableState: PostgreSQL's connection exceptions, shutdowns, too
// many clients.
func UnavailableState(code string) bool {
	return strings.HasPrefix(code, "08") || code == "57P01" || code == "57P02" || code == "57P03" || code == "53300"
}

// UnavailableSQLite: SQLite's result codes of a file that cannot be
// used now.
func UnavailableSQLite(code int) bool {
	switch code & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_NOTADB:
		return true
	}
	return false
}

// ConnectionLost recognises failures of the connection itself rather
// than of the statement.
func ConnectionLost(err error) bool {
	var ce *pgconn.ConnectError
	var ne net.Error
	var oe *net.OpError
	switch {
	case errors.As(err, &ce), errors.As(err, &oe), errors.As(err, &ne):
		return true
	case errors.Is(err, driver.ErrBadConn), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, net.ErrClosed):
		return true
	case pgconn.SafeToRetry(err), pgconn.Timeout(err):
		return true
	}
	return strings.Contains(err.Error(), "conn closed")
}
