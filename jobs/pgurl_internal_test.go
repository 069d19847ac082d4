package jobs

import "testing"

// Two URLs of one PostgreSQL database, written otherwise, are the same
// database (a jobs block's URL written as postgresql:// or with
// localhost took the program's transaction for another database's, and
// a job spawned in a transaction that rolled back ran); another
// database, user, port or search_path is not.
func TestSamePGDatabase(t *testing.T) {
	base := "postgres://app:pw@127.0.0.1:5432/shop?sslmode=disable"
	for _, c := range []struct {
		other string
		same  bool
	}{
		{base, true},
		{"postgresql://app:pw@127.0.0.1:5432/shop?sslmode=disable", true},
		{"postgres://app:pw@localhost:5432/shop?sslmode=disable", true},
		{"postgres://app:pw@127.0.0.1/shop?sslmode=disable", true}, // (the default port)
		{"postgres://app:other@127.0.0.1:5432/shop?sslmode=disable&application_name=x", true},
		{"postgres://app:pw@127.0.0.1:5432/other?sslmode=disable", false},
		{"postgres://bob:pw@127.0.0.1:5432/shop?sslmode=disable", false},
		{"postgres://app:pw@127.0.0.1:5433/shop?sslmode=disable", false},
		{"postgres://app:pw@127.0.0.1:5432/shop?sslmode=disable&search_path=jobs", false},
		{"not a url", false},
	} {
		if got := samePGDatabase(base, c.other); got != c.same {
			t.Errorf("%s: same %v, want %v", c.other, got, c.same)
		}
	}
}
