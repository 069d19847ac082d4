package serve

import (
	"testing"
)

// Two servers of one program under a top-level db { database: ":memory:" }
// each had an empty database of their own: rows one wrote were not there
// for the other, as they are when the block names a file.
func TestServersShareTheInMemoryDatabase(t *testing.T) {
	app := startApp(t, `
db { database: ":memory:" }
model Item { name: String }
server "a" {
  fn add() { Item.create({ name: "x" }) }
  fn counts() { { a: Item.count(), b: b.count_items() } }
  route POST "/add" => add
  route GET "/counts" => counts
}
server "b" {
  fn count_items() { Item.count() }
}
`)
	if r := do(t, "POST", app.urls["a"]+"/add", ""); r.status != 201 && r.status != 200 {
		t.Fatalf("POST /add = %d %s", r.status, r.body)
	}
	if r := do(t, "GET", app.urls["a"]+"/counts", ""); r.status != 200 || r.body != `{"a":1,"b":1}` {
		t.Errorf("GET /counts = %d %s, want {\"a\":1,\"b\":1}", r.status, r.body)
	}
}
