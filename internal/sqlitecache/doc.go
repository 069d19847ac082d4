// Package sqlitecache opens SQLite files through the "sqlite" driver
// (github.com/glebarez/go-sqlite, pure Go over modernc.org/sqlite) with
// connections that keep their statements prepared.
//
// The driver compiles the text of a statement again at every Exec and
// Query, and frees it after: for the long statements of the job queue
// (River's inserts and state changes run to dozens of lines), compiling
// took most of a job's CPU, and the memory the compiler took and gave
// back, page by page, most of the rest. A connection opened here keeps
// the statements of the last texts it ran (Capacity of them), prepared
// once with SQLITE_PREPARE_PERSISTENT, and runs a text it knows by
// binding its arguments to the statement kept, stepping it and resetting
// it.
//
// Arguments are bound and columns read as the driver does (the same Go
// values, times written and parsed in its formats, its errors, of its
// type *sqlite.Error), so that a caller cannot tell the connections
// apart but by their speed (and by the types of the columns of rows not
// read yet, which the driver gives as those of no value, and a kept
// statement as those of the first row: its first step is taken when
// its columns are asked for, so that a statement kept from before a
// schema change, compiled again at that step, gives the table's columns
// as they are now). A text holding more than one statement, or
// one whose statement is still being read (rows not closed), runs
// through the driver itself. A schema change made meanwhile (on this
// connection or another) is SQLite's to handle: it compiles a kept
// statement again at its next step.
//
// The driver's connection is reached, for its sqlite3 handle and thread
// state, by reflection; where its layout is not the one known (another
// version of the driver), connections are the driver's own, uncached.
package sqlitecache
