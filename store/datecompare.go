package store

import (
	"regexp"
	"strconv"
	"strings"

	"tova/vm"
)

// intComparedWithDate is, on SQLite, the error of an Int parameter
// compared in the SQL with a model's Date column (`ts < $1`, `$1 >=
// created_at`, `ts BETWEEN $1 AND $2`), where every table the SQL names
// is a model's: the column holds ISO text, and SQLite compares a number
// with text by their kinds, not their values, so that `DELETE FROM
// readings WHERE ts < $1` with `Date.now() - 30.days` deleted no row,
// without a word. So is an Int assigned to one (`SET ts = $1`, an
// INSERT's `VALUES ($1, ...)`): stored as a number, which sorts before
// every text, a later purge by a Date deleted that row however new.
// PostgreSQL refuses the same parameter (see pgInt), and so does this,
// with what to give instead. (The parameter is not converted: a column a
// raw INSERT gave numbers holds both kinds, and the text would then be
// as wrong for those rows.) A table no model declares and a name that is
// another kind of column in a table the SQL names are left alone.
func intComparedWithDate(s *instanceDB, method, query string, args []vm.Value) error {
	var refs *tableRefs
	for i := 0; i < len(query); i++ {
		if end := skipText(query, i); end > i {
			i = end
			continue
		}
		if query[i] != '$' {
			continue
		}
		j := i + 1
		for j < len(query) && query[j] >= '0' && query[j] <= '9' {
			j++
		}
		k, err := strconv.Atoi(query[i+1 : j])
		if err != nil || k < 1 || k > len(args) || args[k-1].Kind() != vm.KInt {
			i = j - 1
			continue
		}
		qual, col := comparedColumn(query[:i], query[j:])
		assigned := col != "" && inSetClause(query[:i])
		if col == "" {
			col, assigned = insertedColumn(query[:i]), true
		}
		if col != "" {
			if refs == nil {
				refs = namedTables(query)
			}
			if refs.ok && dateColumnOf(s, refs.tablesFor(qual), col) {
				n := args[k-1].AsInt()
				if assigned {
					return vm.TypeErrorf("db.%s: parameter $%d is the Int %d, stored in the Date column %s, which holds ISO text: give a Date, Date.new(%d) (a number there sorts before every date: a purge by a Date would delete the row however new)", method, k, n, col, n)
				}
				return vm.TypeErrorf("db.%s: parameter $%d is the Int %d, compared with the Date column %s, which holds ISO text: give a Date, Date.new(%d) (SQLite compares a number with text by their kinds, and would match every row or none)", method, k, n, col, n)
			}
		}
		i = j - 1
	}
	return nil
}

// dateColumnOf reports whether col is a Date column of the models whose
// tables are tables, every one of which is a model's, and no other kind
// of column in any of them.
func dateColumnOf(s *instanceDB, tables []string, col string) bool {
	if len(tables) == 0 {
		return false
	}
	s.modelsMu.Lock()
	defer s.modelsMu.Unlock()
	date := false
	for _, t := range tables {
		found := false
		for _, m := range s.models {
			if !strings.EqualFold(m.table, t) {
				continue
			}
			found = true
			for _, c := range m.cols {
				if strings.EqualFold(c.name, col) {
					if c.kind != kindTime {
						return false
					}
					date = true
				}
			}
		}
		if !found {
			return false // a table of the program's own making
		}
	}
	return date
}

// tableRefs are the tables a statement names, by the names it gives
// them (their own, and their aliases), upper-cased; ok is false for a
// statement whose tables it cannot tell (a derived table, FROM (SELECT
// ...)). (A result column's alias, count(*) AS ts, is no name a WHERE or
// HAVING reads first: SQLite takes the table's column ts there.)
type tableRefs struct {
	ok     bool
	tables []string
	byName map[string]string
}

// tablesFor is the tables a column qualified by qual may be of: the one
// qual names (none when it names no table of the statement), or, for
// qual "", every table of the statement.
func (r *tableRefs) tablesFor(qual string) []string {
	if qual == "" {
		return r.tables
	}
	if t, ok := r.byName[strings.ToUpper(qual)]; ok {
		return []string{t}
	}
	return nil
}

// sqlClauseWords end a list of tables after FROM.
var sqlClauseWords = map[string]bool{"WHERE": true, "JOIN": true, "INNER": true, "LEFT": true, "RIGHT": true, "FULL": true,
	"CROSS": true, "NATURAL": true, "OUTER": true, "ON": true, "USING": true, "GROUP": true, "ORDER": true, "LIMIT": true,
	"HAVING": true, "UNION": true, "EXCEPT": true, "INTERSECT": true, "WINDOW": true, "SET": true, "VALUES": true,
	"RETURNING": true, "DEFAULT": true, "SELECT": true, "OFFSET": true, "INDEXED": true, "NOT": true, "DO": true}

// namedTables reads the tables the SQL names after FROM (a list of them,
// with commas), JOIN, UPDATE and INTO, each with its alias (a schema's
// name left out).
func namedTables(query string) *tableRefs {
	toks := sqlTokens(query)
	refs := &tableRefs{ok: true, byName: map[string]string{}}
	// ref reads a table named at toks[i] (schema.table [AS] alias) and
	// returns the index after it.
	ref := func(i int) int {
		if i >= len(toks) || toks[i] == "(" {
			refs.ok = false // (a derived table's columns are its own)
			return i
		}
		t := toks[i]
		i++
		if i+1 < len(toks) && toks[i] == "." {
			t, i = toks[i+1], i+2 // schema.table
		}
		refs.tables = append(refs.tables, t)
		refs.byName[t] = t
		if i < len(toks) && toks[i] == "AS" {
			i++
		}
		if i < len(toks) && toks[i] != "," && toks[i] != "(" && toks[i] != ")" && toks[i] != "." && !sqlClauseWords[toks[i]] {
			refs.byName[toks[i]] = t
			i++
		}
		return i
	}
	for i := 0; i < len(toks); i++ {
		switch toks[i] {
		case "FROM":
			j := ref(i + 1)
			for j < len(toks) && toks[j] == "," {
				j = ref(j + 1)
			}
			i = j - 1
		case "JOIN", "INTO":
			i = ref(i+1) - 1
		case "UPDATE":
			if i == 0 || toks[i-1] != "DO" { // (an upsert's DO UPDATE SET)
				i = ref(i+1) - 1
			}
		}
	}
	return refs
}

// inSetClause reports whether the SQL before a placeholder ends in an
// UPDATE's SET clause (`SET ts = $1`, an assignment), rather than in a
// WHERE, ON, HAVING or WHEN after it.
func inSetClause(before string) bool {
	words, _ := sqlWords(before)
	for i := len(words) - 1; i >= 0; i-- {
		switch words[i] {
		case "SET":
			return true
		case "WHERE", "ON", "HAVING", "WHEN", "SELECT", "VALUES", "FROM":
			return false
		}
	}
	return false
}

// comparedColumn is the column a placeholder between before and after
// is compared with (`ts < $1`, `$1 > t.ts`, `ts BETWEEN $1 AND $2`),
// lower-cased, and what qualifies it (t), or "".
func comparedColumn(before, after string) (qual, col string) {
	b := strings.TrimRight(before, " \t\r\n")
	if op := comparison(b, true); op > 0 {
		return columnBefore(strings.TrimRight(b[:len(b)-op], " \t\r\n"))
	}
	if m := rightOf.FindStringIndex(b); m != nil {
		// ts IN ($1, $2), ts IS NOT $1, ts NOT BETWEEN $1 AND $2
		return columnBefore(strings.TrimRight(b[:m[0]], " \t\r\n"))
	}
	a := strings.TrimLeft(after, " \t\r\n")
	if op := comparison(a, false); op > 0 {
		return columnAfter(strings.TrimLeft(a[op:], " \t\r\n"))
	}
	return "", ""
}

// rightOf matches the end of the SQL before a placeholder that is an
// element of an IN list, the right of IS, or a bound of BETWEEN: ` IN (`,
// ` NOT IN ($1, `, ` IS NOT `, ` BETWEEN `, ` NOT BETWEEN $1 AND `.
var rightOf = regexp.MustCompile(`(?i)\s(?:(?:NOT\s+)?IN\s*\((?:\s*\$\d+\s*,)*|IS(?:\s+NOT)?|(?:NOT\s+)?BETWEEN(?:\s+\S+\s+AND)?)\s*$`)

// insertValues matches an INSERT's table, column list and the VALUES
// after it, up to a placeholder.
var insertValues = regexp.MustCompile(`(?is)\bINSERT\s+(?:OR\s+\w+\s+)?INTO\s+[^(]*?\(([^()]*)\)\s*VALUES\s*(.*)$`)

// insertedColumn is the column an INSERT's VALUES give the placeholder
// that before ends at, when it is an element of a tuple by itself
// (`VALUES ($1, $2)`, of several tuples too), lower-cased; "" otherwise.
func insertedColumn(before string) string {
	m := insertValues.FindStringSubmatch(before)
	if m == nil {
		return ""
	}
	depth, idx, elem := 0, 0, 0 // elem: where the current element begins
	tail := m[2]
	for i := 0; i < len(tail); i++ {
		if end := skipText(tail, i); end > i {
			i = end
			continue
		}
		switch tail[i] {
		case '(':
			depth++
			if depth == 1 {
				idx, elem = 0, i+1
			}
		case ')':
			depth--
		case ',':
			if depth == 1 {
				idx, elem = idx+1, i+1
			}
		}
	}
	if depth != 1 || strings.TrimSpace(tail[elem:]) != "" {
		return "" // (inside an expression, or after one)
	}
	cols := strings.Split(m[1], ",")
	if idx >= len(cols) {
		return ""
	}
	c := strings.Trim(strings.TrimSpace(cols[idx]), `"`+"`")
	return strings.ToLower(c)
}

// comparison is the length of the comparison operator s ends with
// (atEnd) or begins with, 0 if none.
func comparison(s string, atEnd bool) int {
	for _, op := range []string{"<=", ">=", "<>", "!=", "==", "<", ">", "="} {
		if atEnd && strings.HasSuffix(s, op) || !atEnd && strings.HasPrefix(s, op) {
			return len(op)
		}
	}
	return 0
}

// lastName is the name s ends with (`ts`, `"ts"`), and what is before
// it; name is "" when s ends with none.
func lastName(s string) (name, rest string) {
	if strings.HasSuffix(s, `"`) {
		if i := strings.LastIndexByte(s[:len(s)-1], '"'); i >= 0 {
			return s[i+1 : len(s)-1], s[:i]
		}
		return "", s
	}
	i := len(s)
	for i > 0 && isNameByte(s[i-1]) {
		i--
	}
	if i == len(s) || s[i] >= '0' && s[i] <= '9' {
		return "", s
	}
	return s[i:], s[:i]
}

// columnBefore is the column name s ends with (`ts`, `"ts"`, `r.ts`),
// lower-cased, and its qualifier (r); col is "" when s ends with none.
func columnBefore(s string) (qual, col string) {
	col, rest := lastName(s)
	if col == "" {
		return "", ""
	}
	if strings.HasSuffix(rest, ".") {
		qual, _ = lastName(rest[:len(rest)-1])
	}
	return qual, strings.ToLower(col)
}

// columnAfter is the column name s begins with (`ts`, `"ts"`, `r.ts`,
// the last part), lower-cased, and its qualifier; col is "" when s
// begins with none.
func columnAfter(s string) (qual, col string) {
	for {
		var name string
		n := 0
		if strings.HasPrefix(s, `"`) {
			j := strings.IndexByte(s[1:], '"')
			if j < 0 {
				return "", ""
			}
			name, n = s[1:j+1], j+2
		} else {
			for n < len(s) && isNameByte(s[n]) {
				n++
			}
			if n == 0 || s[0] >= '0' && s[0] <= '9' {
				return "", ""
			}
			name = s[:n]
		}
		if n < len(s) && s[n] == '.' {
			qual, s = name, s[n+1:] // r.ts: the column is the last part
			continue
		}
		return qual, strings.ToLower(name)
	}
}

func isNameByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
