package store_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"tova/driver"
	"tova/internal/testutil"
	"tova/serve"
)

// serveAll starts every server of src on free ports, with d's directory
// and DATABASE_URL, and returns their URLs by name.
func serveAll(t *testing.T, d testDB, src string) map[string]string {
	t.Helper()
	p, err := driver.CompileFile("app.tova", []byte(src))
	if err != nil {
		t.Fatalf("compile:\n%s", driver.FormatError(err, []byte(src)))
	}
	ports := map[string]int{}
	for _, s := range p.Servers {
		ports[s.Name] = 0
	}
	logs := &testutil.Buffer{}
	rt, err := serve.Start(p, serve.Options{
		Host: "127.0.0.1", Ports: ports, Dir: d.dir,
		Stdout: logs, Stderr: logs, Logger: zerolog.New(logs), Getenv: d.getenv,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		rt.Shutdown(ctx)
	})
	t.Cleanup(httpClient.CloseIdleConnections)
	urls := map[string]string{}
	for _, s := range rt.Servers() {
		urls[s.Name] = s.URL()
	}
	return urls
}

const serverTypesApp = `
type Addr { city: String }
type Status { Draft, Published(at: String) }
type Code = Int

server "a" {
  model Place { addr: Addr, st: Status, code: Code, table: "a_places" }
  route GET "/" => fn(req) {
    p = Place.create({ addr: { city: "Oslo" }, st: Published("now"), code: 7 })
    [p, Place.find(p.id), type_of(Place.find(p.id).st)]
  }
  route GET "/bad" => fn(req) {
    try { Place.create({ code: "x" }); "stored" } catch e { e.message }
  }
}

server "b" {
  type Addr { street: String }
  type Status { Open, Closed(at: String) }
  type Order { to: Addr, lines: [Line] }
  type Line { n: Int }
  type Code = String
  model Place { addr: Addr, st: Status, order: Order, code: Code, table: "b_places" }
  route GET "/" => fn(req) {
    p = Place.create({ addr: Addr("Main"), st: Closed("now"), order: { to: { street: "High" }, lines: [Line(1)] }, code: "x" })
    r = Place.find(p.id)
    [p, r, type_of(r.st), type_of(r.order.to), type_of(r.order.lines[0])]
  }
  route GET "/bad" => fn(req) {
    try { Place.create({ order: { lines: [{ n: "x" }] } }); "stored" } catch e { e.message }
  }
}
`

// A type a server declares is the one its models' fields are checked
// and read back by, at every depth, not the first type of that name in
// the program (server b's Addr { street } was stored as the top level's
// Addr { city }, losing the street; an object of its fields was
// refused, and a variant of its own Status read back as an object);
// aliases too (server a's Code field was the String of server b's).
func TestServerDeclaredTypes(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e, func(t *testing.T) {
			d := freshDB(t, e)
			urls := serveAll(t, d, d.block()+serverTypesApp)
			for _, c := range []struct{ url, want string }{
				{urls["a"] + "/", `[{"id":1,"addr":{"city":"Oslo"},"st":{"__tag":"Published","at":"now"},"code":7},` +
					`{"id":1,"addr":{"city":"Oslo"},"st":{"__tag":"Published","at":"now"},"code":7},"Published"]`},
				{urls["a"] + "/bad", `"Place.create: field code is Int, got \"x\""`},
				{urls["b"] + "/", `[{"id":1,"addr":{"street":"Main"},"st":{"__tag":"Closed","at":"now"},"order":{"to":{"street":"High"},"lines":[{"n":1}]},"code":"x"},` +
					`{"id":1,"addr":{"street":"Main"},"st":{"__tag":"Closed","at":"now"},"order":{"to":{"street":"High"},"lines":[{"n":1}]},"code":"x"},"Closed","Addr","Line"]`},
				{urls["b"] + "/bad", `"Place.create: field order.lines[0].n is Int, got \"x\""`},
			} {
				status, body, err := call("GET", c.url, "")
				if err != nil || status != http.StatusOK || body != c.want {
					t.Errorf("GET %s: %d %s (%v)\nwant %s", c.url, status, body, err, c.want)
				}
			}
		})
	}
}

// A Duration or Size field orders by its value: they are stored as JSON
// numbers in a text column, which ordered by text ("10000" before "9").
func TestOrderByDurationAndSize(t *testing.T) {
	for _, e := range engines(t) {
		d := freshDB(t, e)
		got := d.run(t, "app.tova", []byte(`model K { d: Duration, z: Option<Size> }
K.create({ d: 200.milliseconds, z: 200.bytes })
K.create({ d: 1500.milliseconds, z: 1500.bytes })
K.create({ d: 10.seconds, z: 10.kilobytes })
K.create({ d: 9.milliseconds, z: 9.bytes })
K.create({ d: 1.5.milliseconds, z: nil })
print(K.all(order: "d") |> map(fn(r) r.d))
print(K.all(order: "-z") |> map(fn(r) r.z))
`))
		if want := "[1ms500us, 9ms, 200ms, 1s500ms, 10s]\n[10KB, 1500B, 200B, 9B, nil]\n"; got != want {
			t.Errorf("%s: got\n%s\nwant\n%s", e, got, want)
		}
	}
}

// A time another tool wrote finer than the millisecond (PostgreSQL's
// now(), a raw insert) reads as its millisecond, and a filter on what
// was read finds it (it found nothing); a Date field takes the ISO text
// a Date parameter takes (minutes without seconds, an offset without a
// colon, a lower-case t and z) and epoch milliseconds as a Float.
func TestDateFiltersAndForms(t *testing.T) {
	for _, e := range engines(t) {
		d := freshDB(t, e)
		got := d.run(t, "app.tova", []byte(`model Ev { name: String, at: Date }
Ev.create({ name: "own", at: "2024-06-15T10:30:00.123Z" })
db.run("INSERT INTO evs (name, at) VALUES ($1, $2)", "other", "2024-06-15T10:30:00.123456Z")
r = Ev.first({ name: "other" })
print(r.at, Ev.where({ at: r.at }) |> map(.name))
print(Ev.where({ at: "2024-06-15T10:30:00.124Z" }) |> len)
for v in ["2024-06-15T10:30", "2024-06-15T10:30Z", "2024-06-15T10:30:00+0530", "2024-06-15t10:30:00z", 1718447400000.5] {
  print(Ev.create({ name: "form", at: v }).at)
}
`))
		want := `2024-06-15T10:30:00.123Z ["own", "other"]
0
2024-06-15T10:30:00.000Z
2024-06-15T10:30:00.000Z
2024-06-15T05:00:00.000Z
2024-06-15T10:30:00.000Z
2024-06-15T10:30:00.000Z
`
		if got != want {
			t.Errorf("%s: got\n%s\nwant\n%s", e, got, want)
		}
	}
}

// A raw query, get or run of an SQL text holding no statement (empty,
// a comment, a lone ';') is a ValueError saying so on both engines:
// SQLite said "not an error", PostgreSQL gave no rows.
func TestRawEmptyStatement(t *testing.T) {
	for _, e := range engines(t) {
		d := freshDB(t, e)
		got := d.run(t, "app.tova", []byte(`for sql in ["", "  -- nothing", ";"] {
  for m in ["query", "get", "run"] {
    r = try { match m { "query" => db.query(sql), "get" => db.get(sql), _ => db.run(sql) } } catch err { "{err.kind}: {err.message}" }
    print(r)
  }
}
db.exec("")
print("exec ok")
print(db.query("SELECT 1 AS a;\n"), db.get("SELECT 2 AS b; -- done"))
`))
		want := strings.Repeat("ValueError: db.query: the SQL text holds no statement\nValueError: db.get: the SQL text holds no statement\nValueError: db.run: the SQL text holds no statement\n", 3) + "exec ok\n[{ a: 1 }] { b: 2 }\n"
		if got != want {
			t.Errorf("%s: got\n%s\nwant\n%s", e, got, want)
		}
	}
}

// An upsert's last_id is nil on both engines: whether it added a row
// neither engine says (SQLite gave an earlier insert's id, PostgreSQL
// one no row has); RETURNING id gives the row's.
func TestUpsertLastID(t *testing.T) {
	for _, e := range engines(t) {
		d := freshDB(t, e)
		got := d.run(t, "app.tova", []byte(`model Kv { k: String, v: String }
db.exec("CREATE UNIQUE INDEX kvs_k ON kvs (k)")
Kv.create({ k: "a", v: "1" })
Kv.create({ k: "b", v: "2" })
print(db.run("INSERT INTO kvs (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = excluded.v", "a", "3"))
print(db.run("INSERT INTO kvs (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = excluded.v RETURNING id", "a", "4"))
id = db.run("INSERT INTO kvs (k, v) VALUES ($1, $2)", "c", "5").last_id
print(Kv.find(id).k)
`))
		if want := "{ changes: 1, last_id: nil }\n{ changes: 1, last_id: 1 }\nc\n"; got != want {
			t.Errorf("%s: got\n%s\nwant\n%s", e, got, want)
		}
	}
}

// A Map<String, V> field checks its values as V, at every depth, and
// reads them back as V: its values were not checked ({ a: "x" } was
// stored in a Map<String, Int>).
func TestMapFieldValues(t *testing.T) {
	for _, e := range engines(t) {
		d := freshDB(t, e)
		got := d.run(t, "app.tova", []byte(`model K { m: Map<String, Float> }
K.create({ m: { a: 1, b: 2.5 } })
print(try { K.create({ m: { a: "x" } }) } catch err { err.message })
print(K.find(1).m.a, type_of(K.find(1).m.a), K.count())
`))
		if want := "K.create: field m.a is Float, got \"x\"\n1 Float 1\n"; got != want {
			t.Errorf("%s: got\n%s\nwant\n%s", e, got, want)
		}
	}
}
