// Package pgpath reads a PostgreSQL search_path: the schema a
// connection's tables are created in when the URL names one that does
// not exist yet (?search_path=shop), which the program's database and
// its job queue make before creating anything.
package pgpath

import "strings"

// FirstSchema is the first schema search_path names that a connection
// could create tables in: not $user, quotes taken off ("My Schema"
// unquoted, "" inside it one "); "" if none.
func FirstSchema(path string) string {
	for _, name := range strings.Split(path, ",") {
		name = strings.TrimSpace(name)
		if strings.HasPrefix(name, `"`) && strings.HasSuffix(name, `"`) && len(name) >= 2 {
			name = strings.ReplaceAll(name[1:len(name)-1], `""`, `"`)
		}
		if name != "" && name != "$user" {
			return name
		}
	}
	return ""
}

// Query is what finds whether a connection has a schema to create
// tables in.
const Query = "SELECT current_schema(), current_setting('search_path')"

// Missing says which schema to make, given the answer to Query: the
// first that search_path names, when none of them exists (current is
// NULL); "" when there is one or nothing to make.
func Missing(current *string, path string) string {
	if current != nil {
		return ""
	}
	return FirstSchema(path)
}
