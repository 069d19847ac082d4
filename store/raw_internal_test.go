package store

import "testing"

func TestStatementsSplit(t *testing.T) {
	for sql, want := range map[string]int{
		"SELECT 1":                       1,
		"SELECT 1;":                      1,
		"SELECT ';'; SELECT 2":           2,
		"SELECT 1 -- ; not a split\n":    1,
		"SELECT 1 /* ; */ ; SELECT 2":    2,
		"SELECT $$a;b$$; SELECT $t$;$t$": 2,
		"SELECT $1, $2; SELECT 3":        2,
		`SELECT "a;b" FROM x`:            1,
		";;  ; -- only comments\n":       0,
	} {
		if got := len(statements(sql)); got != want {
			t.Errorf("statements(%q): %d, want %d", sql, got, want)
		}
	}
}
