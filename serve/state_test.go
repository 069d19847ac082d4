package serve

import (
	"sync"
	"testing"
)

// A route is isolated (runs without the server's GIL) only if nothing
// it can reach writes server state, whatever order the routes are asked
// about in: with a and b calling each other and only a writing, a route
// reaching a only through b is not isolated either. (Asking about /x
// first once left b marked isolated, and /y then ran unlocked: lost
// updates, and a fatal concurrent map write for an object.) Pure mutual
// recursion stays isolated.
func TestIsolationFollowsMutualRecursion(t *testing.T) {
	app := startApp(t, `server {
  var count = 0
  fn a(n) {
    if n > 0 { b(n - 1) } else { count = count + 1 }
    0
  }
  fn b(n) { a(n) }
  fn even(n) { if n == 0 { true } else { odd(n - 1) } }
  fn odd(n) { if n == 0 { false } else { even(n - 1) } }
  route POST "/x" => fn() { a(1) }
  route POST "/y" => fn() { b(1) }
  route GET "/even/:n" => fn(n: Int) { even(n) }
  route GET "/r" => fn() { count }
}`)
	srv := app.rt.Servers()[0]
	want := map[string]bool{"/x": false, "/y": false, "/even/:n": true, "/r": false}
	for _, rt := range srv.desc.Routes {
		if got := srv.inst.Isolated(srv.inst.Globals[rt.Slot]); got != want[rt.Path] {
			t.Errorf("%s %s: isolated %v, want %v", rt.Method, rt.Path, got, want[rt.Path])
		}
	}
	u := app.urls[""]
	hammer(t, 64, 50, func(int, int) {
		if r := do(t, "POST", u+"/y", ""); r.status != 200 {
			t.Errorf("POST /y: %d %s", r.status, r.body)
		}
	})
	if r := do(t, "GET", u+"/r", ""); r.body != "3200" {
		t.Errorf("count after 3200 updates through b: %s", r.body)
	}
}

// hammer runs f(client, i) for each of each requests of clients
// concurrent clients.
func hammer(t *testing.T, clients, each int, f func(c, i int)) {
	t.Helper()
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				f(c, i)
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
}
