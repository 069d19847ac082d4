package store_test

import (
	"testing"

	"tova/store"
)

// A Date column's text reads back as tova writes dates, whatever form a
// raw statement stored it in, as long as it is a time: the forms the
// SQLite driver took for a time when it read the column itself (Go's
// time.String, the driver's layouts, a trailing Z), and tova's own ISO
// text as it is. Text that is no time reads as it is.
func TestStoredTimeTextReadsAsDate(t *testing.T) {
	d := freshDB(t, store.SQLite)
	out := d.run(t, "times.tova", []byte(`
model Stamp { when: Date }
Stamp.create({ when: "2026-01-02T03:04:05Z" })
db.run("INSERT INTO stamps (\"when\") VALUES ('2026-01-02 03:04:05'), ('2026-01-02 03:04'), ('2026-01-02T03:04:05.5+02:00'), ('2026-01-02Z'), ('2026-01-02 03:04:05.123 +0000 UTC m=+0.000000001'), ('2026-01-02T03:04:05.250'), ('not a time')")
for s in Stamp.all() { print(s.when) }
print(Stamp.find(1).when, Stamp.create({ when: "2026-05-06" }).when, Stamp.update(1, { when: "2026-07-08T09:10:11.5Z" }).when)
`))
	want := `2026-01-02T03:04:05.000Z
2026-01-02T03:04:05.000Z
2026-01-02T03:04:00.000Z
2026-01-02T01:04:05.500Z
2026-01-02T00:00:00.000Z
2026-01-02T03:04:05.123Z
2026-01-02T03:04:05.250Z
not a time
2026-01-02T03:04:05.000Z 2026-05-06T00:00:00.000Z 2026-07-08T09:10:11.500Z
`
	if out != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
}

// A Date column holding the text SQLite's own functions write
// (datetime('now'), CURRENT_TIMESTAMP: the reference's timestamps) is
// found by the ISO text it reads as, and sorts by time among rows tova
// wrote (' ' sorted before 'T': 23:00 came before 01:00 of that day).
func TestSQLiteDatetimeTextFiltersAndSortsAsTime(t *testing.T) {
	d := freshDB(t, store.SQLite)
	out := d.run(t, "datetime.tova", []byte(`
model Post { title: String, at: Date }
db.run("INSERT INTO posts (title, at) VALUES ('late', '2026-12-04 23:00:00'), ('later', '2026-12-04 23:30:00.250')")
Post.create({ title: "early", at: "2026-12-04T01:00:00Z" })
Post.create({ title: "noon", at: "2026-12-04T12:00:00Z" })
late = Post.first({ title: "late" })
print(late.at, Post.where({ at: late.at }) |> map(fn(p) p.title))
print(Post.first({ at: "2026-12-04T23:30:00.250Z" }).title, Post.count({ at: ["2026-12-04T23:00:00Z", "2026-12-04T01:00:00Z"] }))
print(Post.all(order: "at") |> map(fn(p) p.title))
print(Post.all(order: "-at") |> map(fn(p) p.title))
`))
	want := `2026-12-04T23:00:00.000Z ["late"]
later 2
["early", "noon", "late", "later"]
["later", "late", "noon", "early"]
`
	if out != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
}
