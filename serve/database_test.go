package serve

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tova/vm"
)

// The SQLite database a db block names is logged as each server starts,
// where it is: a relative path is the program's directory's, and an
// artifact served from dist/ opened a new, empty one there without a
// word. A database in memory is not logged.
func TestSQLiteDatabaseLogged(t *testing.T) {
	dir := t.TempDir()
	app := startApp(t, `
db { database: "short.db" }
model Item { name: String }
server {
  route GET "/n" => fn() Item.count()
}
`, func(o *Options) { o.Dir = dir })
	recs := logged(app.logs, "database")
	if len(recs) != 1 || recs[0]["sqlite"] != filepath.Join(dir, "short.db") || recs[0]["server"] != "server" {
		t.Errorf("logged %v", recs)
	}
	mem := startApp(t, `
db { database: ":memory:" }
server {
  route GET "/n" => fn() 1
}
`)
	if recs := logged(mem.logs, "database"); len(recs) != 0 {
		t.Errorf("in memory: logged %v", recs)
	}
}

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

// A server calling another of the same process from inside
// db.transaction, both on one SQLite file, hung 10 s: the callee's write
// waited for the writer the caller's transaction kept, and, as two
// timers raced, either failed or committed after the caller had rolled
// back. The callee's write is refused at once; its reads still run.
func TestCallInsideTransactionToWritingPeerFailsAtOnce(t *testing.T) {
	dir := t.TempDir()
	app := startApp(t, `
db { adapter: "sqlite", database: "tx.db" }
model Item { stock: Int = 0 }
model Ord { name: String }

server "orders" {
  fn place() {
    db.transaction(fn() {
      o = Ord.create({ name: "x" })
      ok = inventory.reserve(1)
      { order: o.id, ok: ok }
    })
  }
  fn look() {
    db.transaction(fn() {
      Ord.create({ name: "y" })
      inventory.stock()
    })
  }
  fn failure() {
    try { place() } catch e { { kind: e.kind, message: e.message } }
  }
  fn counts() { { orders: Ord.count(), items: Item.count() } }
  route POST "/place" => place
  route POST "/failure" => failure
  route POST "/look" => look
  route GET "/counts" => counts
}

server "inventory" {
  fn reserve(id: Int) {
    db.transaction(fn() {
      it = Item.find(id) ?? Item.create({ stock: 10 })
      Item.update(it.id, { stock: it.stock - 1 })
      true
    })
  }
  fn stock() { Item.count() }
}
`, func(o *Options) { o.Dir = dir })
	orders := app.urls["orders"]
	start := time.Now()
	r := do(t, "POST", orders+"/failure", "")
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("the call took %v: it waited for the database", took)
	}
	got := r.json(t)
	msg, _ := got["message"].(string)
	if r.status != 200 || got["kind"] != "RPCError" || !strings.Contains(msg, "409") ||
		!strings.Contains(msg, "the transaction of the request calling this server (db.transaction at app.tova:8:19) holds it") ||
		!strings.Contains(msg, "make the call before or after that transaction") {
		t.Errorf("POST /failure = %d %s", r.status, r.body)
	}
	if r := do(t, "POST", orders+"/place", ""); r.status != 500 {
		t.Errorf("POST /place = %d %s, want 500", r.status, r.body)
	}
	// A callee that only reads reads beside the transaction.
	if r := do(t, "POST", orders+"/look", ""); r.status != 200 || r.body != "0" {
		t.Errorf("POST /look = %d %s, want 200 0", r.status, r.body)
	}
	// Neither side's write of the refused calls remains, whatever time
	// passes.
	time.Sleep(200 * time.Millisecond)
	if r := do(t, "GET", orders+"/counts", ""); r.status != 200 || r.body != `{"orders":1,"items":0}` {
		t.Errorf("GET /counts = %d %s, want only /look's order", r.status, r.body)
	}
}

// With the in-memory database, which has one connection, the callee's
// read waits for it too: refused as well.
func TestCallInsideTransactionToPeerOnMemoryDatabase(t *testing.T) {
	app := startApp(t, `
db { database: ":memory:" }
model Item { stock: Int = 0 }
server "a" {
  fn look() {
    try { db.transaction(fn() { Item.create({}); b.count_items() }) }
    catch e { e.message }
  }
  route POST "/look" => look
  route GET "/count" => fn() Item.count()
}
server "b" {
  fn count_items() { Item.count() }
}
`)
	start := time.Now()
	r := do(t, "POST", app.urls["a"]+"/look", "")
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("the call took %v: it waited for the database", took)
	}
	if r.status != 200 || !strings.Contains(r.body, "409 cannot read the SQLite database :memory:") {
		t.Errorf("POST /look = %d %s", r.status, r.body)
	}
	if r := do(t, "GET", app.urls["a"]+"/count", ""); r.body != "0" {
		t.Errorf("GET /count = %s, want 0 (rolled back)", r.body)
	}
}

// Only a direct call from inside db.transaction was refused: a server
// that served such a call did not pass the token on, so the write of a
// third server (or of the first, called back) waited 10 s for the
// writer and committed after the caller had rolled back.
func TestCallInsideTransactionRefusedAlongTheChain(t *testing.T) {
	dir := t.TempDir()
	app := startApp(t, `
db { adapter: "sqlite", database: "tx.db" }
model Item { stock: Int = 0 }
model Ord { name: String }

server "orders" {
  fn place() {
    try {
      db.transaction(fn() {
        Ord.create({ name: "relayed" })
        relay.pass()
      })
    } catch e { e.message }
  }
  fn back() {
    try {
      db.transaction(fn() {
        Ord.create({ name: "outer" })
        relay.back()
      })
    } catch e { e.message }
  }
  fn note() { Ord.create({ name: "inner" }); true }
  fn counts() { { orders: Ord.count(), items: Item.count() } }
  route POST "/place" => place
  route POST "/back" => back
  route GET "/counts" => counts
}

server "relay" {
  fn pass() { inventory.reserve() }
  fn back() { orders.note() }
}

server "inventory" {
  fn reserve() { Item.create({ stock: 10 }); true }
}
`, func(o *Options) { o.Dir = dir })
	orders := app.urls["orders"]
	for _, path := range []string{"/place", "/back"} {
		start := time.Now()
		r := do(t, "POST", orders+path, "")
		if took := time.Since(start); took > 3*time.Second {
			t.Errorf("POST %s took %v: it waited for the database", path, took)
		}
		if r.status != 200 || !strings.Contains(r.body, "409") ||
			!strings.Contains(r.body, "cannot write to the SQLite database") ||
			!strings.Contains(r.body, "(db.transaction at app.tova:") {
			t.Errorf("POST %s = %d %s", path, r.status, r.body)
		}
	}
	// Neither side's write remains, whatever time passes.
	time.Sleep(200 * time.Millisecond)
	if r := do(t, "GET", orders+"/counts", ""); r.status != 200 || r.body != `{"orders":0,"items":0}` {
		t.Errorf("GET /counts = %d %s, want nothing kept", r.status, r.body)
	}
}

// A raw read that runs on SQLite's writer (last_insert_rowid()), in a
// server called from inside db.transaction, was refused saying it
// could not write to the database.
func TestCallInsideTransactionRefusesWriterReadAsRead(t *testing.T) {
	dir := t.TempDir()
	app := startApp(t, `
db { adapter: "sqlite", database: "tx.db" }
model Ord { name: String }
server "a" {
  fn look() {
    try { db.transaction(fn() { Ord.create({ name: "x" }); b.last_id() }) }
    catch e { e.message }
  }
  route POST "/look" => look
}
server "b" {
  fn last_id() { db.get("SELECT last_insert_rowid() AS id") }
}
`, func(o *Options) { o.Dir = dir })
	r := do(t, "POST", app.urls["a"]+"/look", "")
	if r.status != 200 || !strings.Contains(r.body, "409 cannot read the SQLite database") {
		t.Errorf("POST /look = %d %s, want the refusal of a read", r.status, r.body)
	}
}

// A route that uses a model, and no server state, runs without the GIL,
// as one using db.get does: it waited behind every request holding it
// (here a state-writing statement that loops for a second).
func TestModelRoutesRunWithoutTheGIL(t *testing.T) {
	app := startApp(t, `
model Hit { name: String }
server {
  var count = 0
  fn forever() { loop { } }
  route POST "/hold" => fn() { count = count + forever() }
  route POST "/hits" => fn(name: String) { Hit.create({ name }) }
  route GET "/hits" => fn() { { n: Hit.count(), first: Hit.all()[0]?.name } }
}
`, func(o *Options) { o.Dir = t.TempDir(); o.RequestTimeout = 3 * time.Second })
	srv := app.rt.Servers()[0]
	for _, rt := range srv.desc.Routes {
		if want := rt.Path == "/hits"; srv.inst.Isolated(srv.inst.Globals[rt.Slot]) != want {
			t.Errorf("%s %s: isolated %v, want %v", rt.Method, rt.Path, !want, want)
		}
	}
	u := app.urls[""]
	done := make(chan reply, 1)
	go func() { done <- do(t, "POST", u+"/hold", "") }()
	time.Sleep(200 * time.Millisecond) // /hold holds the GIL now
	t0 := time.Now()
	if r := do(t, "POST", u+"/hits", `{"name":"a"}`, "Content-Type", "application/json"); r.status != 201 && r.status != 200 {
		t.Errorf("POST /hits = %d %s", r.status, r.body)
	}
	if r := do(t, "GET", u+"/hits", ""); r.body != `{"n":1,"first":"a"}` {
		t.Errorf("GET /hits = %d %s", r.status, r.body)
	}
	if d := time.Since(t0); d > 400*time.Millisecond {
		t.Errorf("two model routes beside a GIL holder took %v", d)
	}
	if r := <-done; r.status != 503 {
		t.Errorf("POST /hold = %d %s", r.status, r.body)
	}
}

// A model whose computed field default writes server state runs that
// code in create: a route using the model runs under the GIL then, as
// one calling the default's function itself would. Without it, 64
// clients lost about one update in a hundred, and tickets shared
// numbers. A default that touches no state leaves its routes without
// the GIL.
func TestModelDefaultWritingStateTakesTheGIL(t *testing.T) {
	app := startApp(t, `
fn stamp() { "s" }
server {
  var seq = 0
  fn next_seq() {
    var s = 0
    for i in range(0, 2000) { s = s + i }
    seq = seq + 1
    seq
  }
  model Ticket { num: Int = next_seq(), label: String = "x" }
  model Note { body: String, tag: String = stamp() }
  route POST "/t" => fn() Ticket.create({ label: "a" })
  route POST "/n" => fn() Note.create({ body: "b" })
  route GET "/seq" => fn() { { seq: seq, count: Ticket.count(), distinct: len(unique(Ticket.all() |> map(fn(t) t.num))) } }
}
`, func(o *Options) { o.Dir = t.TempDir() })
	srv := app.rt.Servers()[0]
	for _, rt := range srv.desc.Routes {
		if want := rt.Path == "/n"; srv.inst.Isolated(srv.inst.Globals[rt.Slot]) != want {
			t.Errorf("%s %s: isolated %v, want %v", rt.Method, rt.Path, !want, want)
		}
	}
	u := app.urls[""]
	hammer(t, 32, 10, func(c, i int) {
		if r := do(t, "POST", u+"/t", ""); r.status != 201 && r.status != 200 {
			t.Errorf("POST /t = %d %s", r.status, r.body)
		}
	})
	if r := do(t, "GET", u+"/seq", ""); r.body != `{"seq":320,"count":320,"distinct":320}` {
		t.Errorf("GET /seq = %d %s", r.status, r.body)
	}
}

// A model that no longer matches its table, checked when a server's own
// db block opens the database, is reported where the model is declared,
// as it is when the db block is above the model (it said no file, line
// or column).
func TestSchemaErrorAtTheModelWithAServersDBBlock(t *testing.T) {
	dir := t.TempDir()
	v1 := `model Item { name: String, price: Int }
server {
  db { database: "s.db" }
  route GET "/n" => fn() Item.count()
}
`
	app := startApp(t, v1, func(o *Options) { o.Dir = dir })
	if r := do(t, "GET", app.urls[""]+"/n", ""); r.status != 200 {
		t.Fatalf("v1: %d %s", r.status, r.body)
	}
	if err := app.rt.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	err := startErrorIn(t, dir, strings.Replace(v1, "price: Int", "price: Float", 1))
	var ve *vm.Error
	if !errors.As(err, &ve) || ve.Kind != "SchemaError" || !strings.Contains(ve.Msg, "field price is declared Float but the column has type INTEGER") {
		t.Fatalf("got %v", err)
	}
	if f, ok := ve.Pos(); !ok || f.File != "app.tova" || f.Line != 1 || f.Col != 1 {
		t.Errorf("at %+v (%v), want app.tova:1:1, the model", f, ok)
	}
}

// An unknown health check is warned of with the known ones as a list,
// as the unknown keys of a config block are (it was one String: a log
// index takes a field for one type).
func TestUnknownHealthCheckKnownAsList(t *testing.T) {
	app := startApp(t, "server {\n  health \"/ready\" { check_memory, check_disk }\n}\n")
	recs := logged(app.logs, "unknown health check: it is left out of the report")
	if len(recs) != 1 || fmt.Sprint(recs[0]["known"]) != "[check_memory check_db]" || recs[0]["check"] != "check_disk" {
		t.Errorf("logged %v", recs)
	}
}

// Express's res.locals and req.signedCookies say what Tova has instead
// (they failed a step later: "cannot set field user of nil").
func TestExpressFieldsSayTheTovaWay(t *testing.T) {
	app := startApp(t, `
server {
  route GET "/l" => fn(req, res) { res.locals.user = "u"; "x" }
  route GET "/s" => fn(req) req.signedCookies.sid
}
`)
	for path, want := range map[string]string{
		"/l": "Response has no field locals: what a middleware keeps for later code is req.locals (req.locals.user = u)",
		"/s": "Request has no field signedCookies: a value kept signed in a cookie is a session's, sessions { secret: ... } and req.session",
	} {
		if r := do(t, "GET", app.urls[""]+path, ""); r.status != 500 {
			t.Errorf("GET %s: %d %s", path, r.status, r.body)
		}
		waitFor(t, func() bool { return len(logged(app.logs, want)) == 1 })
	}
}
