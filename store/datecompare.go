package store

import (
	"strconv"
	"strings"
	"time"

	"tova/vm"
)

// datesCompared turns, on SQLite, an Int parameter compared in the SQL
// with a model's Date column (`ts < $1`, `$1 >= created_at`, `ts
// BETWEEN $1 AND $2`) into the ISO text that column holds, as a model's
// own calls take milliseconds for a Date field. Given as the number,
// `Date.now() - 30.days` was compared with the text, which SQLite does
// as text, and matched nothing: a purge of old rows deleted none.
// (PostgreSQL refuses the comparison of a timestamptz with a bigint.)
func datesCompared(s *instanceDB, d *dialect, query string, args []vm.Value, params []any) {
	var dates map[string]bool
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
		col := comparedColumn(query[:i], query[j:])
		if col != "" {
			if dates == nil {
				dates = dateColumns(s)
			}
			if dates[col] {
				params[k-1] = d.timeParam(time.UnixMilli(args[k-1].AsInt()))
			}
		}
		i = j - 1
	}
}

// dateColumns are the names of the columns that hold a Date in every
// model of the instance that has a column of that name.
func dateColumns(s *instanceDB) map[string]bool {
	s.modelsMu.Lock()
	defer s.modelsMu.Unlock()
	dates := map[string]bool{}
	other := map[string]bool{}
	for _, m := range s.models {
		for _, c := range m.cols {
			name := strings.ToLower(c.name)
			if c.kind == kindTime {
				dates[name] = true
			} else {
				other[name] = true
			}
		}
	}
	for name := range other {
		delete(dates, name)
	}
	return dates
}

// comparedColumn is the column a placeholder between before and after
// is compared with (`ts < $1`, `$1 > t.ts`, `ts BETWEEN $1 AND $2`),
// lower-cased, or "".
func comparedColumn(before, after string) string {
	b := strings.TrimRight(before, " \t\r\n")
	if op := comparison(b, true); op > 0 {
		return columnBefore(strings.TrimRight(b[:len(b)-op], " \t\r\n"))
	}
	upper := strings.ToUpper(b)
	switch {
	case strings.HasSuffix(upper, " BETWEEN"):
		return columnBefore(strings.TrimRight(b[:len(b)-len("BETWEEN")], " \t\r\n"))
	case strings.HasSuffix(upper, " AND"):
		// the second bound of BETWEEN $1 AND $2: its first is a
		// placeholder or a value, after BETWEEN
		rest := strings.TrimRight(b[:len(b)-len("AND")], " \t\r\n")
		if w := strings.LastIndexAny(rest, " \t\r\n"); w >= 0 && strings.HasSuffix(strings.ToUpper(strings.TrimRight(rest[:w], " \t\r\n")), " BETWEEN") {
			rest = strings.TrimRight(rest[:w], " \t\r\n")
			return columnBefore(strings.TrimRight(rest[:len(rest)-len("BETWEEN")], " \t\r\n"))
		}
	}
	a := strings.TrimLeft(after, " \t\r\n")
	if op := comparison(a, false); op > 0 {
		return columnAfter(strings.TrimLeft(a[op:], " \t\r\n"))
	}
	return ""
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

// columnBefore is the column name s ends with (`ts`, `"ts"`, `r.ts`),
// lower-cased, or "".
func columnBefore(s string) string {
	if strings.HasSuffix(s, `"`) {
		if i := strings.LastIndexByte(s[:len(s)-1], '"'); i >= 0 {
			return strings.ToLower(s[i+1 : len(s)-1])
		}
		return ""
	}
	i := len(s)
	for i > 0 && isNameByte(s[i-1]) {
		i--
	}
	if i == len(s) || s[i] >= '0' && s[i] <= '9' {
		return ""
	}
	return strings.ToLower(s[i:])
}

// columnAfter is the column name s begins with (`ts`, `"ts"`, `r.ts`,
// the last part), lower-cased, or "".
func columnAfter(s string) string {
	for {
		var name string
		n := 0
		if strings.HasPrefix(s, `"`) {
			j := strings.IndexByte(s[1:], '"')
			if j < 0 {
				return ""
			}
			name, n = s[1:j+1], j+2
		} else {
			for n < len(s) && isNameByte(s[n]) {
				n++
			}
			if n == 0 || s[0] >= '0' && s[0] <= '9' {
				return ""
			}
			name = s[:n]
		}
		if n < len(s) && s[n] == '.' {
			s = s[n+1:] // r.ts: the column is the last part
			continue
		}
		return strings.ToLower(name)
	}
}

func isNameByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
