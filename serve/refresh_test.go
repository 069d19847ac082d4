package serve

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"tova/driver"
)

// replaceFile writes data to path whole (a new file renamed over it), so
// that a refresh never reads it half written.
func replaceFile(t *testing.T, path, data string) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// refreshApp reads DIR/rows.csv into a source with two pipelines, one of
// which sleeps: a refresh holding the server's state only until its
// first wait would let a request see the rows refreshed and the total
// not. DIR/v.json is read by two sources, one refreshed.
const refreshApp = `fn slow_total(rs) {
  sleep(30)
  rs |> map(fn(r) r.n) |> sum()
}
data {
  source rows = read("DIR/rows.csv")
  pipeline total = slow_total(rows)
  pipeline big = rows |> filter(fn(r) r.n > 5)
  pipeline fixed_len = len([1, 2])
  source version = read("DIR/v.json")
  source fixed = read("DIR/v.json")
  refresh rows every 1.second
  refresh version every 1000
}
server {
  route GET "/" => fn() { { rows: rows, total: total, big: len(big) } }
  route GET "/v" => fn() version
  route GET "/fixed" => fn() fixed
}
`

type refreshed struct {
	Rows  []struct{ N any }
	Total int
	Big   int
}

// consistent reports whether the pipelines in r are those of its rows.
func (r refreshed) consistent() bool {
	total, big := 0, 0
	for _, row := range r.Rows {
		n, ok := row.N.(float64)
		if !ok {
			return false
		}
		total += int(n)
		if n > 5 {
			big++
		}
	}
	return total == r.Total && big == r.Big
}

// A data block's `refresh rows every 1.second` reloads the file in each
// interval and recomputes the pipelines over it; requests meanwhile see
// the old set of values or the new one, never the rows refreshed and a
// pipeline not. A refresh that fails, reading the file or in a
// pipeline, changes nothing and is logged with the source's name, the
// Tova stack and the position; the next one after the file is restored
// applies. A route reading a refreshed source is not isolated (it takes
// the server's GIL), one reading a source never refreshed still is.
func TestDataRefreshReloadsSourceAndPipelines(t *testing.T) {
	dir := t.TempDir()
	rowsPath := filepath.Join(dir, "rows.csv")
	replaceFile(t, rowsPath, "n\n1\n2\n")
	replaceFile(t, filepath.Join(dir, "v.json"), "1")
	app := startApp(t, strings.ReplaceAll(refreshApp, "DIR", dir))
	u := app.urls[""]
	srv := app.rt.Servers()[0]
	want := map[string]bool{"/": false, "/v": false, "/fixed": true}
	for _, rt := range srv.desc.Routes {
		if got := srv.inst.Isolated(srv.inst.Globals[rt.Slot]); got != want[rt.Path] {
			t.Errorf("GET %s: isolated %v, want %v", rt.Path, got, want[rt.Path])
		}
	}
	get := func() refreshed {
		t.Helper()
		r := do(t, "GET", u+"/", "")
		var v refreshed
		if r.status != 200 || json.Unmarshal([]byte(r.body), &v) != nil {
			t.Fatalf("GET / = %d %s", r.status, r.body)
		}
		return v
	}
	if v := get(); len(v.Rows) != 2 || v.Total != 3 || v.Big != 0 {
		t.Fatalf("at start: %+v", v)
	}

	// Clients read all along; each answer must be one consistent set.
	defer meanwhile(4, func() bool {
		r := do(t, "GET", u+"/", "")
		var v refreshed
		if r.status != 200 || json.Unmarshal([]byte(r.body), &v) != nil || !v.consistent() {
			t.Errorf("half-refreshed answer: %d %s", r.status, r.body)
			return false
		}
		return true
	})()

	replaceFile(t, rowsPath, "n\n5\n6\n7\n")
	replaceFile(t, filepath.Join(dir, "v.json"), "2")
	waitFor(t, func() bool { v := get(); return v.Total == 18 })
	if v := get(); len(v.Rows) != 3 || v.Big != 2 {
		t.Fatalf("after the rewrite: %+v", v)
	}
	waitFor(t, func() bool { return do(t, "GET", u+"/v", "").body == "2" })
	if r := do(t, "GET", u+"/fixed", ""); r.body != "1" {
		t.Errorf("a source without refresh changed: %s", r.body)
	}

	failures := func() []map[string]any {
		var out []map[string]any
		for _, line := range strings.Split(app.logs.String(), "\n") {
			var rec map[string]any
			if json.Unmarshal([]byte(line), &rec) == nil && rec["in"] == "data refresh" {
				out = append(out, rec)
			}
		}
		return out
	}
	// A row the pipeline cannot sum: the rows stay as they were too.
	replaceFile(t, rowsPath, "n\n8\nx\n")
	waitFor(t, func() bool { return len(failures()) >= 1 })
	if v := get(); len(v.Rows) != 3 || v.Total != 18 {
		t.Fatalf("after a failing pipeline: %+v", v)
	}
	rec := failures()[0]
	if rec["source"] != "rows" || rec["kind"] != "TypeError" || rec["at"] != "app.tova:3:30" || rec["refresh"] != "app.tova:12:3" ||
		!strings.Contains(rec["stack"].(string), "at slow_total (app.tova:3:") || !strings.Contains(rec["stack"].(string), "at refresh rows (app.tova:7:") {
		t.Errorf("pipeline failure logged as %v", rec)
	}

	// The file gone: the values stay, each interval logs.
	if err := os.Remove(rowsPath); err != nil {
		t.Fatal(err)
	}
	n := len(failures())
	// (a refresh that read the file before it went may log the
	// pipeline's failure once more first)
	waitFor(t, func() bool { all := failures(); return len(all) > n && all[len(all)-1]["kind"] == "IOError" })
	all := failures()
	rec = all[len(all)-1]
	if rec["source"] != "rows" || rec["kind"] != "IOError" || rec["at"] != "app.tova:6:21" || !strings.Contains(rec["message"].(string), "no such file") ||
		!strings.Contains(rec["stack"].(string), "at refresh rows (app.tova:6:21)") {
		t.Errorf("missing file logged as %v", rec)
	}
	if v := get(); len(v.Rows) != 3 || v.Total != 18 {
		t.Fatalf("with the file gone: %+v", v)
	}

	// Restored: the next refresh applies.
	replaceFile(t, rowsPath, "n\n10\n")
	waitFor(t, func() bool { v := get(); return v.Total == 10 })
	if v := get(); len(v.Rows) != 1 || v.Big != 1 {
		t.Fatalf("after the restore: %+v", v)
	}
}

// Each server of the process is an instance with its own copy of the
// data block: each refreshes it.
func TestDataRefreshOnEachServer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v.json")
	replaceFile(t, path, `"one"`)
	app := startApp(t, `data {
  source v = read("`+path+`")
  pipeline shout = upper(v)
  refresh v every 1.second
}
server "a" {
  route GET "/" => fn() { [v, shout] }
}
server "b" {
  route GET "/" => fn() { [v, shout] }
}
`)
	replaceFile(t, path, `"two"`)
	for _, name := range []string{"a", "b"} {
		waitFor(t, func() bool { return do(t, "GET", app.urls[name]+"/", "").body == `["two","TWO"]` })
	}
}

// An interval computed at run time is checked when the servers start: a
// sub-second one stops the start, naming the refresh line.
func TestDataRefreshComputedIntervalChecked(t *testing.T) {
	p, err := driver.CompileFile("app.tova", []byte(`every_ms = 500
data {
  source v = 1
  refresh v every every_ms
}
server {
  route GET "/" => fn() v
}
`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Start(p, Options{Host: "127.0.0.1", Ports: map[string]int{"": 0}, Logger: zerolog.Nop()})
	if err == nil || !strings.Contains(err.Error(), "app.tova:4:3: refresh v: a refresh interval is at least 1 second, got 500") {
		t.Fatalf("start: %v", err)
	}
}

// A refresh recomputes every pipeline that reads the source: one in
// another data block, and one calling a lambda a name holds, were left
// stale; and a pipeline reading a top-level value (limit) failed to
// compile ("used before its declaration") once the block had a refresh.
func TestDataRefreshFindsEveryPipeline(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v.json")
	replaceFile(t, path, `[1, 2]`)
	app := startApp(t, `size = fn() len(v)
limit = 1
type Stats { k: Int }
impl Stats {
  fn count() { len(v) }
  fn total(self) { len(v) * self.k }
}
fn via() { Stats.count() }
data {
  source v = read("`+path+`")
  pipeline a = size()
  pipeline first = v |> take(limit)
  refresh v every 1.second
}
data {
  pipeline b = len(v) * 10
  // through the functions of an impl block (they were not followed)
  pipeline assoc = Stats.count()
  pipeline method = Stats(100).total()
  pipeline through = via()
}
server {
  route GET "/" => fn() { [len(v), a, b, first, assoc, method, through] }
}
`)
	if r := do(t, "GET", app.urls[""]+"/", ""); r.body != `[2,2,20,[1],2,200,2]` {
		t.Fatalf("at start: %s", r.body)
	}
	replaceFile(t, path, `[7, 8, 9]`)
	waitFor(t, func() bool { return do(t, "GET", app.urls[""]+"/", "").body == `[3,3,30,[7],3,300,3]` })
}

// A refresh cut at its deadline (its interval) says it timed out, and
// after how long; it said "sleep: context deadline exceeded".
func TestDataRefreshTimeoutSaid(t *testing.T) {
	app := startApp(t, `
var loads = 0
fn load() {
  loads += 1
  if loads > 1 { sleep(5000) }
  loads
}
data {
  source v = load()
  refresh v every 1.second
}
server {
  route GET "/" => fn() v
}
`)
	msg := "the refresh of v timed out after 1s (its interval, or the request timeout if shorter): the old values are kept"
	deadline := time.Now().Add(5 * time.Second)
	for len(logged(app.logs, msg)) == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	l := logged(app.logs, msg)
	if len(l) == 0 || l[0]["kind"] != "Timeout" || l[0]["at"] != "app.tova:5:23" {
		t.Fatalf("the refresh's timeout: %v\n%s", l, app.logs)
	}
	if r := do(t, "GET", app.urls[""]+"/", ""); r.body != "1" {
		t.Errorf("the value after a refresh cut short: %s", r.body)
	}
}

// A request's code cut at its deadline is logged in the runtime's words:
// it said "sleep: context deadline exceeded" (fetch, the same).
func TestDeadlineSaidInOwnWords(t *testing.T) {
	app := startApp(t, `server {
  http { timeout: 200.milliseconds }
  route GET "/s" => fn() { sleep(3000) }
}
`)
	if r := do(t, "GET", app.urls[""]+"/s", ""); r.status != 503 {
		t.Fatalf("GET /s: %d %s", r.status, r.body)
	}
	waitFor(t, func() bool { return len(logged(app.logs, "sleep: cancelled: the deadline passed")) == 1 })
	if strings.Contains(app.logs.String(), "context deadline exceeded") {
		t.Errorf("Go's words logged: %s", app.logs.String())
	}
}
