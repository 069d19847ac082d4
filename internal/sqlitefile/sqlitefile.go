// Package sqlitefile makes the file: URI the SQLite driver opens a
// database path with.
package sqlitefile

import "strings"

var esc = strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")

// URI is "file:" and path, with what a URI gives a meaning escaped
// (?, #, %) and a path beginning with two slashes or more, the same file
// on POSIX as with one (what "{DATA_DIR}/app.db" makes of DATA_DIR=/),
// given one: file://x is a URI's authority, which SQLite refuses with
// "out of memory".
func URI(path string) string {
	if strings.HasPrefix(path, "//") {
		path = "/" + strings.TrimLeft(path, "/")
	}
	return "file:" + esc.Replace(path)
}

// CannotOpen is what a database file SQLite cannot open or create is
// said to be (SQLITE_CANTOPEN, 14, which the driver's text calls "out of
// memory"): a directory the process cannot write, a directory in the
// file's place. IsCannotOpen recognises the driver's error.
const CannotOpen = "cannot open or create the file (is its directory there and writable, and the path not a directory?)"

// IsCannotOpen reports whether err is the driver's SQLITE_CANTOPEN.
func IsCannotOpen(err error) bool {
	return err != nil && strings.Contains(err.Error(), "unable to open database file")
}
