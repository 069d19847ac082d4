package serve

import "testing"

// A method call with spread arguments on req or res calls their own
// method, as the plain call does: res.status(...[201]) read the status
// field and called it, res.text(...["hi"]) called the builtin text with
// res first.
func TestHostMethodsWithSpreadArguments(t *testing.T) {
	app := startApp(t, `
server {
  route GET "/status" => fn(res) { res.status(...[201]); "x" }
  route GET "/text" => fn(res) res.text(...["hi"])
}
`)
	if r := do(t, "GET", app.urls[""]+"/status", ""); r.status != 201 || r.body != `"x"` {
		t.Errorf("res.status(...[201]): %d %s", r.status, r.body)
	}
	if r := do(t, "GET", app.urls[""]+"/text", ""); r.status != 200 || r.body != "hi" {
		t.Errorf(`res.text(...["hi"]): %d %s`, r.status, r.body)
	}
}
