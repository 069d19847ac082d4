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
