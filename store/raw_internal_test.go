package store

import (
	"math/rand/v2"
	"testing"
	"time"
)

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

// readTime hands back tova's own ISO text as it is, for every time of
// the years 1 to 9999, and refuses text of that length that is no time.
func TestReadTimeKeepsISOText(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	lo, hi := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli(), time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC).UnixMilli()
	for range 20000 {
		s := formatTime(time.UnixMilli(lo + r.Int64N(hi-lo+1)))
		if got, ok := readTime(s); !ok || got != s {
			t.Fatalf("readTime(%q) = %q, %v", s, got, ok)
		}
	}
	for _, s := range []string{"2026-02-30T00:00:00.000Z", "2026-01-02T24:00:00.000Z", "2026-01-02T03:04:05.000X", "2026-01-02 03:04:05.000Z"[:23] + "x"} {
		if got, ok := readTime(s); ok {
			t.Errorf("readTime(%q) = %q, want no time", s, got)
		}
	}
}
