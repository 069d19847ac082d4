package stdlib

import (
	"testing"
	"time"
	_ "time/tzdata"
)

// A date's zone name is read from its text, whatever the machine's zone:
// Go's own reading placed "GMT" in summer London as BST (and refused
// it), and took "EST" for UTC where the machine's zone has no EST.
func TestDateZoneNamesWhateverTheMachinesZone(t *testing.T) {
	saved := time.Local
	defer func() { time.Local = saved }()
	cases := []struct{ text, want string }{
		{"Sat, 15 Jun 2024 10:30:00 GMT", "2024-06-15T10:30:00Z"},
		{"Mon, 15 Jan 2024 10:30:00 GMT", "2024-01-15T10:30:00Z"},
		{"Saturday, 15-Jun-24 10:30:00 GMT", "2024-06-15T10:30:00Z"},
		{"Sat, 15 Jun 2024 10:30:00 EST", "2024-06-15T15:30:00Z"},
		{"Sat, 15 Jun 2024 10:30:00 PDT", "2024-06-15T17:30:00Z"},
		{"Sat, 15 Jun 2024 10:30:00 GMT+2", "2024-06-15T08:30:00Z"},
		{"Sat, 15 Jun 2024 10:30:00 CEST", ""}, // no date, not a guess
		{"Sat, 15 Jun 2024 10:30:00 BST", ""},
	}
	for _, zone := range []string{"UTC", "Europe/London", "Europe/Dublin", "America/New_York", "Asia/Shanghai"} {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Fatal(err)
		}
		time.Local = loc
		for _, c := range cases {
			tm, ok := ParseDateText(c.text)
			got := ""
			if ok {
				got = tm.UTC().Format(time.RFC3339)
			}
			if got != c.want {
				t.Errorf("TZ=%s: ParseDateText(%q) = %q, want %q", zone, c.text, got, c.want)
			}
			if _, ok := ParseDate(c.text); c.text[3] == ',' && ok != (c.want != "") { // (RFC 1123, which ParseDate reads too)
				t.Errorf("TZ=%s: ParseDate(%q) ok = %v", zone, c.text, ok)
			}
		}
	}
}
